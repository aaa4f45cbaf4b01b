#!/usr/bin/env bash
# Writes cases/<case>/expected.yaml for every parity case with the reference build,
# `kubectl kustomize` (Kustomize v5.5.0). Each case is a directory holding a
# kustomization; its bases and components live inside it. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/cases"
version=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p')
if [ "$version" != "v5.5.0" ]; then
  echo "expected Kustomize v5.5.0 from kubectl, found '${version:-none}'" >&2
  exit 1
fi
for dir in */; do
  dir=${dir%/}
  [ -f "$dir/kustomization.yaml" ] || continue
  kubectl kustomize "$dir" > "$dir/expected.yaml"
  echo "wrote $dir/expected.yaml"
done
