#!/usr/bin/env python3
"""Generate fleet-smp's strategic-merge schema table (schema/builtin.json).

Sources (both available offline through the ordinary package clients):

* The Kubernetes OpenAPI definitions as shipped, converted to JSON Schema with the
  `x-kubernetes-*` extensions kept, by the PyPI package `kubernetes-validate`
  (`kubernetes_validate/kubernetes-json-schema/v<K8S>-local/_definitions.json`).
  Fetch with: `pip download kubernetes-validate==1.37.0 --no-deps -d DIR && unzip DIR/*.whl -d DIR`.
* Resource scope (namespaced or cluster-scoped) from the crates.io crate `k8s-openapi`
  0.29.0 (`src/v1_*/**.rs`: `impl Resource` blocks with `GROUP`, `KIND` and
  `type Scope = crate::ClusterResourceScope | NamespaceResourceScope`), after
  `cargo fetch` it lives in the cargo registry's `src` directory.

Usage: generate.py DEFINITIONS_JSON K8S_OPENAPI_SRC_DIR K8S_VERSION > builtin.json

Output (compact JSON):
  {"kubernetes": "...", "source": "...",
   "types": {"<definition>": {"<field>": {"t": "<definition of the field or its items>",
                                         "c": "list" | "map" (collection kind, absent for a plain object),
                                         "s": "<x-kubernetes-patch-strategy>",
                                         "k": "<x-kubernetes-patch-merge-key>",
                                         "mk": [<x-kubernetes-list-map-keys>],
                                         "l": "<x-kubernetes-list-type>",
                                         "mt": "<x-kubernetes-map-type>"}}},
   "kinds": [[group, version, kind, definition]],
   "scope": {"<group>/<kind>": true (namespaced) | false (cluster-scoped)}}
Only fields that lead to another definition or carry merge metadata are kept.
"""
import json
import os
import re
import sys

# Kinds that kustomize v5.5.0 knows (its embedded schema predates their removal) but that
# Kubernetes 1.33+ no longer serves, so k8s-openapi 0.29 has no scope for them.
EXTRA_SCOPE = {
    "policy/PodSecurityPolicy": False,
    "/ComponentStatus": False,
}


def ref_name(node):
    ref = node.get("$ref")
    if ref:
        return ref.rsplit("/", 1)[-1]
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(key, []) or []:
            name = ref_name(sub)
            if name:
                return name
    return None


def main():
    defs_path, openapi_src, version = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(defs_path) as f:
        doc = json.load(f)
    defs = doc.get("$defs") or doc.get("definitions") or doc
    types = {}
    kinds = []
    for name, schema in sorted(defs.items()):
        fields = {}
        for field, prop in sorted((schema.get("properties") or {}).items()):
            entry = {}
            ptype = prop.get("type")
            if isinstance(ptype, list):
                ptype = [t for t in ptype if t != "null"]
                ptype = ptype[0] if ptype else None
            if ptype == "array":
                entry["c"] = "list"
                target = ref_name(prop.get("items") or {})
            elif ptype == "object" and isinstance(prop.get("additionalProperties"), dict):
                entry["c"] = "map"
                target = ref_name(prop["additionalProperties"])
            else:
                target = ref_name(prop)
            if target:
                entry["t"] = target
            for src, dst in (
                ("x-kubernetes-patch-strategy", "s"),
                ("x-kubernetes-patch-merge-key", "k"),
                ("x-kubernetes-list-map-keys", "mk"),
                ("x-kubernetes-list-type", "l"),
                ("x-kubernetes-map-type", "mt"),
            ):
                if src in prop:
                    entry[dst] = prop[src]
            if "t" in entry or any(k in entry for k in ("s", "k", "mk", "l", "mt")):
                fields[field] = entry
        if fields:
            types[name] = fields
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            kinds.append([gvk.get("group", ""), gvk["version"], gvk["kind"], name])

    scope = {}
    impl_re = re.compile(
        r'const GROUP: &\'static str = "([^"]*)";.*?const KIND: &\'static str = "([^"]*)";'
        r".*?type Scope = crate::(\w+)ResourceScope;",
        re.S,
    )
    for dirpath, _, filenames in os.walk(openapi_src):
        for filename in filenames:
            if not filename.endswith(".rs"):
                continue
            with open(os.path.join(dirpath, filename)) as f:
                text = f.read()
            for group, kind, sc in impl_re.findall(text):
                if sc not in ("Cluster", "Namespace"):
                    continue
                if kind.endswith("List") or group == "" and kind in ("APIVersions",):
                    continue
                scope[f"{group}/{kind}"] = sc == "Namespace"
    for key, value in EXTRA_SCOPE.items():
        scope.setdefault(key, value)
    # Meta kinds (APIGroup, Status, ...) are not objects one applies.
    for key in list(scope):
        if key.startswith("/API") or key in ("/Status",):
            del scope[key]

    out = {
        "kubernetes": version,
        "source": "kubernetes-validate (PyPI) JSON schema definitions + k8s-openapi 0.29.0 scopes",
        "types": types,
        "kinds": sorted(kinds),
        "scope": dict(sorted(scope.items())),
    }
    json.dump(out, sys.stdout, separators=(",", ":"), sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
