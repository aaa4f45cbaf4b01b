//! The CRD types against Fleet's own data: every Fleet object in `../shared/corpus` round-trips
//! without losing a field, every property of the CRD schemas has a typed field, and the
//! hashed option types serialise like Go.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fleet_core::crd::{
    Bundle, BundleDeployment, BundleDeploymentOptions, FleetObject, HelmOptions, KeySelector,
    ValuesFrom,
};
use fleet_core::meta::collect_unknown_fields;
use fleet_core::yaml;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn shared_dir() -> Option<PathBuf> {
    let dir = fleet_test_tools::shared::path("")?;
    Some(dir)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|entry| entry.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Drops what Go's `omitempty` (or a nil pointer) would leave out: `null`, `""`, `false`,
/// `0`, `[]` and `{}` members of objects, recursively. Array elements are kept.
fn normalize(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, member) in map {
                let member = normalize(member);
                let empty = match &member {
                    Value::Null => true,
                    Value::Bool(b) => !b,
                    Value::Number(n) => n.as_f64() == Some(0.0),
                    Value::String(s) => s.is_empty(),
                    Value::Array(items) => items.is_empty(),
                    Value::Object(map) => map.is_empty(),
                };
                if !empty {
                    out.insert(key.clone(), member);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

/// YAML documents of a file: the whole file for `.yaml`/`.yml`, fenced ```yaml blocks for
/// Markdown. `fleet apply -o -` output of several bundles (fleet-examples
/// `single-cluster/helm-multi-chart`) has no `---` between objects, so a file that does not
/// parse as one stream is split before each top-level `apiVersion:` line. Files without a
/// Fleet apiVersion yield nothing; a Fleet file that still does not parse is an error.
fn yaml_documents(path: &Path) -> Result<Vec<Value>, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(Vec::new());
    };
    if !text.contains("fleet.cattle.io/v1alpha1") {
        return Ok(Vec::new());
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let mut sources = Vec::new();
    match ext {
        "yaml" | "yml" => sources.push(text),
        "md" => {
            let mut block: Option<String> = None;
            for line in text.lines() {
                let trimmed = line.trim_start();
                match &mut block {
                    None if trimmed.starts_with("```yaml") || trimmed.starts_with("```yml") => {
                        block = Some(String::new())
                    }
                    Some(body) if trimmed.starts_with("```") => {
                        sources.push(std::mem::take(body));
                        block = None;
                    }
                    Some(body) => {
                        body.push_str(line);
                        body.push('\n');
                    }
                    None => {}
                }
            }
        }
        _ => {}
    }
    let mut docs = Vec::new();
    for source in sources {
        match yaml::documents(&source) {
            Ok(parsed) => docs.extend(parsed),
            Err(first) => {
                let mut chunks: Vec<String> = Vec::new();
                for line in source.lines() {
                    if line.starts_with("apiVersion:") || chunks.is_empty() {
                        chunks.push(String::new());
                    }
                    if let Some(chunk) = chunks.last_mut() {
                        chunk.push_str(line);
                        chunk.push('\n');
                    }
                }
                if chunks.len() < 2 {
                    return Err(format!("{}: {first}", path.display()));
                }
                for chunk in chunks {
                    docs.extend(
                        yaml::documents(&chunk).map_err(|e| format!("{}: {e}", path.display()))?,
                    );
                }
            }
        }
    }
    Ok(docs)
}

#[test]
fn every_fleet_object_in_the_corpus_round_trips() {
    let Some(shared) = shared_dir() else { return };
    let mut files = Vec::new();
    walk(&shared.join("corpus"), &mut files);
    let mut per_kind: BTreeMap<String, usize> = BTreeMap::new();
    let mut unknown_total = 0;
    let mut rejected = Vec::new();
    let relative = |path: &Path| {
        path.strip_prefix(&shared)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    for path in &files {
        if path.ends_with("templates/crds.yaml") {
            continue;
        }
        let docs = yaml_documents(path).unwrap_or_else(|err| panic!("{err}"));
        for doc in docs {
            if doc.get("apiVersion").and_then(Value::as_str) != Some("fleet.cattle.io/v1alpha1") {
                continue;
            }
            let kind = doc["kind"].as_str().unwrap_or_default().to_string();
            let (object, unknown) = collect_unknown_fields(|| FleetObject::from_value(doc.clone()));
            let object = match object {
                Ok(object) => object,
                Err(err) => {
                    rejected.push(format!("{}: {err}", relative(path)));
                    continue;
                }
            };
            unknown_total += unknown.len();
            let back = object.to_value();
            assert_eq!(
                normalize(&back),
                normalize(&doc),
                "{} ({kind}) changed in a round trip",
                path.display()
            );
            *per_kind.entry(kind).or_default() += 1;
        }
    }
    let total: usize = per_kind.values().sum();
    println!("rejected as Fleet would reject them: {rejected:#?}");
    // The only invalid Fleet object in the corpus: a README whose GitRepo has `paths: [[…]]`
    // (a list inside the list), which Go's decoder refuses as well.
    assert_eq!(rejected.len(), 1, "{rejected:#?}");
    assert!(
        rejected[0].starts_with(
            "corpus/fleet-test-data/qa-test-apps/helm-app/values-files-with-no-values/README.md: invalid GitRepo: invalid type: sequence, expected a string"
        ),
        "{rejected:#?}"
    );
    println!(
        "round-tripped {total} Fleet objects from the corpus: {per_kind:?} ({unknown_total} unknown fields kept)"
    );
    assert!(total > 0);
    assert_eq!(per_kind.get("Bundle"), Some(&14), "{per_kind:?}");
    assert!(per_kind.contains_key("BundleDeployment"));
    assert!(per_kind.contains_key("Content"));
    assert!(per_kind.contains_key("GitRepo"));
}

/// A value for every property of an openAPIV3Schema node: strings `"x"` (or the first enum
/// value), integers `1`, booleans `true`, one-element arrays and maps.
fn sample(schema: &Value) -> Value {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values[0].clone();
    }
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        return json!(1);
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => json!("x"),
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(true),
        Some("array") => json!([sample(&schema["items"])]),
        _ => {
            let mut out = serde_json::Map::new();
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    out.insert(name.clone(), sample(property));
                }
            } else if let Some(additional) = schema.get("additionalProperties") {
                out.insert("k".to_string(), sample(additional));
            } else if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
            {
                out.insert("k".to_string(), json!("v"));
            }
            Value::Object(out)
        }
    }
}

fn paths(value: &Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                let path = format!("{prefix}.{key}");
                out.push(path.clone());
                paths(member, &path, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                paths(item, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_crd_property_has_a_typed_field() {
    let Some(shared) = shared_dir() else { return };
    let text = std::fs::read_to_string(shared.join("corpus/fleet-crds/templates/crds.yaml"))
        .expect("crds.yaml");
    let mut checked = Vec::new();
    let mut skipped = Vec::new();
    let mut property_count = 0;
    for crd in yaml::documents(&text).expect("crds.yaml parses") {
        if crd.is_null() {
            continue;
        }
        let kind = crd["spec"]["names"]["kind"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let mut instance = sample(schema);
        instance["apiVersion"] = json!("fleet.cattle.io/v1alpha1");
        instance["kind"] = json!(kind);
        instance["metadata"] = json!({"name": "x", "namespace": "y"});
        let (object, unknown) =
            collect_unknown_fields(|| FleetObject::from_value(instance.clone()));
        let object = match object {
            Ok(object) => object,
            Err(fleet_core::crd::ObjectError::UnsupportedKind(_)) => {
                skipped.push(kind);
                continue;
            }
            Err(err) => panic!("{kind}: {err}"),
        };
        assert!(
            unknown.is_empty(),
            "{kind}: CRD properties without a typed field: {unknown:?}"
        );
        let back = normalize(&object.to_value());
        let mut expected = Vec::new();
        paths(&normalize(&instance), "", &mut expected);
        let mut got = Vec::new();
        paths(&back, "", &mut got);
        let missing: Vec<_> = expected.iter().filter(|p| !got.contains(p)).collect();
        assert!(missing.is_empty(), "{kind}: properties lost: {missing:?}");
        assert_eq!(back, normalize(&instance), "{kind}: values changed");
        property_count += expected.len();
        checked.push(kind);
    }
    println!(
        "CRD schemas checked: {checked:?} ({property_count} property paths); not modelled: {skipped:?}"
    );
    assert_eq!(checked.len(), 14, "{checked:?}");
    assert!(skipped.is_empty(), "{skipped:?}");
}

#[test]
fn deployment_id_of_the_cli_fixture_hashes_our_options_json() {
    // integrationtests/cli/assets/bundledeployment/bd.yaml: the deploymentID suffix is
    // sha256(json(options) + "\n") of the options written in the same file.
    let Some(shared) = shared_dir() else { return };
    let text =
        std::fs::read_to_string(shared.join("corpus/fleet-cli-assets/bundledeployment/bd.yaml"))
            .expect("bd.yaml");
    let bd = yaml::documents(&text)
        .expect("bd.yaml parses")
        .into_iter()
        .find(|doc| doc["kind"] == "BundleDeployment")
        .expect("a BundleDeployment");
    let bd: BundleDeployment = serde_json::from_value(bd).expect("decodes");
    let json = serde_json::to_string(&bd.spec.options).expect("encodes");
    assert_eq!(
        json,
        r#"{"helm":{"chart":"config-chart","values":{"name":"example-value"}},"ignore":{}}"#
    );
    let digest = hex::encode(Sha256::digest(format!("{json}\n")));
    let suffix = bd.spec.deployment_id.rsplit(':').next().unwrap_or_default();
    assert_eq!(digest, suffix);
}

#[test]
fn options_serialise_with_go_field_order_and_omitempty() {
    assert_eq!(
        serde_json::to_string(&BundleDeploymentOptions::default()).unwrap(),
        r#"{"ignore":{}}"#
    );
    let options: BundleDeploymentOptions = serde_json::from_value(json!({
        "deleteCRDResources": true,
        "namespaceLabels": {},
        "namespaceAnnotations": null,
        "correctDrift": {"enabled": true},
        "helm": {
            "values": {},
            "templateValues": {},
            "valuesFrom": [{"secretKeyRef": {"key": "k"}}],
            "maxHistory": 0,
            "releaseName": "r",
            "chart": "c"
        },
        "yaml": {"overlays": null},
        "createNamespace": false,
        "namespace": "ns",
        "defaultNamespace": "d",
        "futureField": 1
    }))
    .unwrap();
    assert_eq!(
        serde_json::to_string(&options).unwrap(),
        concat!(
            r#"{"defaultNamespace":"d","namespace":"ns","#,
            r#""helm":{"chart":"c","releaseName":"r","values":{},"valuesFrom":[{"secretKeyRef":{"name":"","key":"k"}}]},"#,
            r#""createNamespace":false,"yaml":{},"ignore":{},"correctDrift":{"enabled":true},"#,
            r#""namespaceLabels":{},"deleteCRDResources":true}"#
        )
    );
    let helm = HelmOptions {
        values_from: vec![ValuesFrom {
            config_map_key_ref: Some(KeySelector::default()),
            secret_key_ref: None,
        }],
        ..HelmOptions::default()
    };
    assert_eq!(
        serde_json::to_string(&helm).unwrap(),
        r#"{"valuesFrom":[{"configMapKeyRef":{"name":""}}]}"#
    );
}

#[test]
fn unknown_fields_are_preserved_outside_the_hashed_options() {
    let input = json!({
        "apiVersion": "fleet.cattle.io/v1alpha1",
        "kind": "Bundle",
        "metadata": {"name": "b", "namespace": "n", "futureMeta": "m"},
        "spec": {
            "futureSpec": {"a": 1},
            "helm": {"futureHelm": true, "chart": "c"},
            "targets": [{"clusterGroup": "g", "futureTarget": [1]}]
        },
        "status": {"futureStatus": "s"},
        "futureTop": 1
    });
    let (bundle, unknown) =
        collect_unknown_fields(|| serde_json::from_value::<Bundle>(input.clone()));
    let bundle = bundle.unwrap();
    let mut unknown = unknown;
    unknown.sort();
    assert_eq!(
        unknown,
        [
            "futureMeta",
            "futureSpec",
            "futureStatus",
            "futureTarget",
            "futureTop"
        ]
    );
    let back = serde_json::to_value(&bundle).unwrap();
    let mut expected = input.clone();
    // Helm options are hashed into deployment IDs, so they drop unknown fields like Go.
    expected["spec"]["helm"]
        .as_object_mut()
        .unwrap()
        .remove("futureHelm");
    expected["spec"]["ignore"] = json!({});
    expected["spec"]["targets"][0]["ignore"] = json!({});
    // Go struct values in the status are always written.
    expected["status"]["summary"] = json!({"ready": 0, "desiredReady": 0});
    expected["status"]["display"] = json!({});
    assert_eq!(back, expected);
}

#[test]
fn null_is_accepted_where_go_accepts_it() {
    let bundle: Bundle = serde_json::from_value(json!({
        "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Bundle",
        "metadata": {"name": "b", "labels": null, "creationTimestamp": null},
        "spec": {"targets": null, "paused": null, "defaultNamespace": null,
                 "helm": {"valuesFiles": null, "timeoutSeconds": null}},
        "status": null
    }))
    .unwrap();
    assert!(bundle.spec.targets.is_empty());
    assert!(bundle.status.is_none());
    let err = serde_json::from_value::<Bundle>(json!({"spec": {"paused": "yes"}})).unwrap_err();
    assert!(err.to_string().contains("expected a boolean"), "{err}");
}

#[test]
fn fleet_object_rejects_other_groups_and_kinds() {
    use fleet_core::crd::ObjectError;
    let err = FleetObject::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap"}));
    assert!(matches!(err, Err(ObjectError::NotFleet(v)) if v == "v1"));
    let err =
        FleetObject::from_value(json!({"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Nope"}));
    assert!(matches!(err, Err(ObjectError::UnsupportedKind(k)) if k == "Nope"));
    let err = FleetObject::from_value(json!({
        "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Bundle", "spec": {"targets": 3}
    }));
    let message = err.unwrap_err().to_string();
    assert!(message.starts_with("invalid Bundle"), "{message}");
}

#[test]
fn constructors_set_type_meta() {
    use fleet_core::crd::{Content, FleetResource};
    let bundle = Bundle::new("app", "fleet-local");
    assert_eq!(bundle.api_version, "fleet.cattle.io/v1alpha1");
    assert_eq!(bundle.kind, "Bundle");
    assert_eq!(bundle.metadata.namespace, "fleet-local");
    assert_eq!(<Content>::PLURAL, "contents");
    const { assert!(!<Content>::NAMESPACED) };
}

#[cfg(feature = "kube")]
#[test]
fn kube_resource_impls() {
    use fleet_core::crd::kube_types;
    use kube_core::Resource;
    assert_eq!(kube_types::Bundle::kind(&()), "Bundle");
    assert_eq!(kube_types::Bundle::group(&()), "fleet.cattle.io");
    assert_eq!(kube_types::Bundle::version(&()), "v1alpha1");
    assert_eq!(
        kube_types::Bundle::api_version(&()),
        "fleet.cattle.io/v1alpha1"
    );
    assert_eq!(
        kube_types::BundleDeployment::plural(&()),
        "bundledeployments"
    );
    assert_eq!(
        kube_types::Bundle::url_path(&(), Some("fleet-local")),
        "/apis/fleet.cattle.io/v1alpha1/namespaces/fleet-local/bundles"
    );
    assert_eq!(
        kube_types::Content::url_path(&(), None),
        "/apis/fleet.cattle.io/v1alpha1/contents"
    );
    let mut bundle: kube_types::Bundle = serde_json::from_value(json!({
        "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Bundle",
        "metadata": {"name": "b", "namespace": "n", "labels": {"a": "1"}},
        "spec": {"targets": [{"clusterGroup": "default"}]}
    }))
    .unwrap();
    assert_eq!(bundle.meta().name.as_deref(), Some("b"));
    bundle.meta_mut().namespace = Some("m".to_string());
    assert_eq!(bundle.metadata.namespace.as_deref(), Some("m"));
    let ours = kube_types::from_kube_meta(&bundle.metadata).unwrap();
    assert_eq!(ours.labels["a"], "1");
    assert_eq!(kube_types::to_kube_meta(&ours).unwrap(), bundle.metadata);
}
