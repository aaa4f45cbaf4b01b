#!/usr/bin/env bash
# The manager's API against its committed OpenAPI document with schemathesis: no 5xx, every
# status code and body as documented, for the admin routes with the admin token and the agent
# routes with a registered cluster's credential. Uses the fleet-manager binary the test step
# built.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$HOME/.local/bin:$PATH"
if ! command -v schemathesis >/dev/null 2>&1; then
  # pip itself may be missing on a fresh machine: ensurepip, else the Debian package.
  if ! python3 -m pip --version >/dev/null 2>&1; then
    python3 -m ensurepip --user >/dev/null 2>&1 || {
      sudo_cmd=""
      [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
      $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq python3-pip
    }
  fi
  python3 -m pip install --quiet --user schemathesis 2>/dev/null \
    || python3 -m pip install --quiet --user --break-system-packages schemathesis
fi
schemathesis --version

work="$(mktemp -d)"
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
target/debug/fleet-manager serve --plain-http --listen 127.0.0.1:0 --data "$work/data" \
  >"$work/out" 2>"$work/err" &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$work/out" 2>/dev/null && break
  sleep 0.1
done
base=$(sed -n 's/^listening on //p' "$work/out" | head -n 1)
[ -n "$base" ] || { cat "$work/err"; echo "error: the manager did not start" >&2; exit 1; }
admin=$(cat "$work/data/admin-token")

# A cluster to authenticate the agent routes with (python3, since CI has no curl).
credential=$(python3 - "$base" "$admin" <<'PY'
import json, sys, urllib.request
base, admin = sys.argv[1], sys.argv[2]
def post(path, body, token=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.load(r)
token = post("/v1/admin/tokens", {"ttlSeconds": 3600, "namespace": "fleet-default"}, admin)["token"]
print(post("/v1/register", {"token": token, "clientID": "schemathesis", "labels": {"env": "ci"}})["credential"])
PY
)

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
run() {
  schemathesis run "$base/openapi.json" --checks "$checks" --max-examples 25 \
    --seed 20261203 --no-color "$@"
}
run -H "Authorization: Bearer $admin" --exclude-path-regex '^/v1/agent/'
run -H "Authorization: Bearer $credential" --include-path-regex '^/v1/agent/'
# Without credentials every protected route answers 401 as documented, never 5xx.
run --exclude-path-regex '^/v1/register$'

if grep -q 'panicked' "$work/err"; then
  cat "$work/err"
  echo "error: the manager panicked during the schemathesis run" >&2
  exit 1
fi
