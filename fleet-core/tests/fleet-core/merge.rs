//! Option merging against `../shared/vectors/fleet/options-merge.json` (spec §6.3).

use fleet_core::crd::BundleDeploymentOptions;
use fleet_core::merge::{merge, merge_by_key, merge_maps, merge_options_json};
use serde_json::{Value, json};

fn load_vectors(file: &str) -> Option<Value> {
    let path = fleet_test_tools::shared::path("vectors/fleet")?.join(file);
    let text = std::fs::read_to_string(&path).expect("read vector file");
    Some(serde_json::from_str(&text).expect("vector file is JSON"))
}

/// Follows a vector `path` such as `helm.valuesFrom[0].configMapKeyRef.name`.
fn at<'a>(mut v: &'a Value, path: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    for part in path.split('.') {
        let (name, indices) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        v = v.get(name).unwrap_or(&NULL);
        for idx in indices.split('[').filter(|s| !s.is_empty()) {
            let i: usize = idx.trim_end_matches(']').parse().unwrap();
            v = v.get(i).unwrap_or(&NULL);
        }
    }
    v
}

#[test]
fn fleet_options_merge_vectors() {
    let Some(doc) = load_vectors("options-merge.json") else {
        return;
    };
    let cases = doc["cases"].as_array().unwrap();
    let mut passed = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap_or_default();
        let input = &case["input"];
        let base = input["base"].clone();
        let customs: Vec<Value> = match input.get("customs") {
            Some(list) => list.as_array().unwrap().clone(),
            None => vec![input["custom"].clone()],
        };
        let before = (base.clone(), customs.clone());
        let result = customs
            .iter()
            .fold(base.clone(), |acc, c| merge_options_json(&acc, c));
        assert_eq!(
            (base.clone(), customs.clone()),
            before,
            "{name}: inputs unchanged"
        );
        // The typed merge gives the same options.
        let typed_base: BundleDeploymentOptions = serde_json::from_value(base).unwrap();
        let typed = customs.iter().fold(typed_base, |acc, c| {
            merge(&acc, &serde_json::from_value(c.clone()).unwrap())
        });
        let reparsed: BundleDeploymentOptions = serde_json::from_value(result.clone()).unwrap();
        assert_eq!(typed, reparsed, "{name}: typed and JSON merges agree");
        let typed_json = serde_json::to_value(&typed).unwrap();
        for check in case["checks"].as_array().unwrap() {
            let Some(path) = check.get("path").and_then(Value::as_str) else {
                continue;
            };
            for (form, tree) in [("json", &result), ("typed", &typed_json)] {
                let got = at(tree, path);
                if let Some(want) = check.get("equals") {
                    assert_eq!(got, want, "{name} ({form}): {path} in {tree}");
                }
                if let Some(len) = check.get("length") {
                    let n = got.as_array().map_or(0, Vec::len) as u64;
                    assert_eq!(n, len.as_u64().unwrap(), "{name} ({form}): {path}");
                }
            }
        }
        passed += 1;
    }
    assert_eq!(passed, cases.len());
    eprintln!(
        "options-merge.json: {passed}/{} cases pass (JSON and typed)",
        cases.len()
    );
}

/// Spec §6.3 rules the vectors do not cover, and §12 item 12.
#[test]
fn spec_rules() {
    let base = json!({
        "defaultNamespace": "base", "namespace": "t", "serviceAccount": "sa",
        "deleteNamespace": true, "ignore": {"conditions": [{"type": "x"}]},
        "helm": {"timeoutSeconds": 30, "maxHistory": 5, "chart": "c", "atomic": true,
                 "templateValues": {"a": "1", "b": "2"}},
        "yaml": {"overlays": ["o1"]},
        "keepResources": true,
        "correctDrift": {"enabled": false},
        "namespaceLabels": {"l": "base"}
    });
    let custom = json!({
        "defaultNamespace": "-", "namespace": "", "deleteNamespace": false,
        "helm": {"timeoutSeconds": -1, "maxHistory": 9, "version": "1.2.3", "atomic": false,
                 "templateValues": {"b": "3"}, "disableDNS": true},
        "kustomize": {},
        "yaml": {"overlays": ["o2"]},
        "forceSyncGeneration": 4,
        "correctDrift": {"enabled": true, "force": true},
        "namespaceLabels": {"l": "custom", "m": "x"},
        "createNamespace": true
    });
    let got = merge_options_json(&base, &custom);
    assert_eq!(
        got,
        json!({
            "defaultNamespace": "-", "namespace": "t", "serviceAccount": "sa",
            "deleteNamespace": true, "ignore": {"conditions": [{"type": "x"}]},
            "helm": {"maxHistory": 5, "chart": "c", "version": "1.2.3", "atomic": true,
                     "disableDNS": true, "templateValues": {"a": "1", "b": "3"}},
            "kustomize": {},
            "yaml": {"overlays": ["o1", "o2"]},
            "keepResources": true,
            "forceSyncGeneration": 4,
            "correctDrift": {"enabled": true, "force": true},
            "namespaceLabels": {"l": "custom", "m": "x"}
        })
    );
    // A missing helm block in base is created when the customization has one.
    assert_eq!(
        merge_options_json(&json!({}), &json!({"helm": {}})),
        json!({"helm": {}})
    );
    assert_eq!(merge_options_json(&json!({}), &json!({})), json!({}));
    // Values: maps merge recursively, other types replace, null replaces.
    let merged = merge_maps(
        json!({"a": {"b": 1, "c": [1]}, "d": 1, "e": {"f": 1}})
            .as_object()
            .unwrap(),
        json!({"a": {"c": [2], "g": null}, "d": {"x": 1}, "e": 2})
            .as_object()
            .unwrap(),
    );
    assert_eq!(
        Value::Object(merged),
        json!({"a": {"b": 1, "c": [2], "g": null}, "d": {"x": 1}, "e": 2})
    );
}

#[test]
fn by_key_rules() {
    let key = |s: &(&str, i32)| s.0.to_string();
    // Custom replaces in place, new ones appended, duplicates in custom count once (first),
    // empty keys always appended.
    let base = [("a", 1), ("", 2), ("b", 3)];
    let custom = [("b", 4), ("c", 5), ("b", 6), ("", 7)];
    assert_eq!(
        merge_by_key(&base, &custom, key),
        vec![("a", 1), ("", 2), ("b", 4), ("c", 5), ("", 7)]
    );
    assert_eq!(merge_by_key(&base, &[], key), base.to_vec());
}

/// The typed merge agrees with the JSON merge on a wide input.
#[test]
fn typed_merge_matches_json_merge() {
    let base = json!({
        "defaultNamespace": "base", "namespace": "t", "serviceAccount": "sa",
        "deleteNamespace": true, "ignore": {"conditions": [{"type": "x"}]},
        "helm": {"timeoutSeconds": 30, "maxHistory": 5, "chart": "c", "atomic": true,
                 "templateValues": {"a": "1", "b": "2"}, "values": {"a": {"b": 1}},
                 "valuesFrom": [{"secretKeyRef": {"name": "s", "key": "k"}}]},
        "yaml": {"overlays": ["o1"]},
        "diff": {"comparePatches": [{"kind": "A", "name": "x", "jsonPointers": ["/a"]}]},
        "keepResources": true,
        "correctDrift": {"enabled": false},
        "namespaceLabels": {"l": "base"},
        "downstreamResources": [{"kind": "Secret", "name": "s"}]
    });
    let custom = json!({
        "defaultNamespace": "-", "namespace": "", "deleteNamespace": false,
        "helm": {"timeoutSeconds": -1, "maxHistory": 9, "version": "1.2.3",
                 "templateValues": {"b": "3"}, "disableDNS": true, "values": {"a": {"c": 2}},
                 "valuesFrom": [{"secretKeyRef": {"name": "s", "key": "k"}}, {"configMapKeyRef": {"name": "c"}}]},
        "kustomize": {"dir": "k"},
        "yaml": {"overlays": ["o2"]},
        "diff": {"comparePatches": [{"kind": "A", "name": "x", "jsonPointers": ["/b"]}]},
        "forceSyncGeneration": 4,
        "correctDrift": {"enabled": true, "force": true},
        "namespaceLabels": {"m": "x"},
        "namespaceAnnotations": {"n": "y"},
        "downstreamResources": [{"kind": "secret", "name": "s"}, {"kind": "ConfigMap", "name": "c"}],
        "createNamespace": false
    });
    let json_result = merge_options_json(&base, &custom);
    let typed = merge(
        &serde_json::from_value(base).unwrap(),
        &serde_json::from_value(custom).unwrap(),
    );
    let from_json: BundleDeploymentOptions = serde_json::from_value(json_result).unwrap();
    assert_eq!(typed, from_json);
    let helm = typed.helm.as_ref().unwrap();
    assert_eq!(helm.timeout_seconds, 0);
    assert_eq!(helm.max_history, 5);
    assert_eq!(helm.values_from.len(), 2);
    assert_eq!(
        typed.create_namespace, None,
        "createNamespace is not merged"
    );
    assert_eq!(
        typed.downstream_resources[0].kind, "secret",
        "custom replaces in place"
    );
    assert_eq!(
        typed.diff.as_ref().unwrap().compare_patches[0].json_pointers,
        vec!["/b".to_string()]
    );
}
