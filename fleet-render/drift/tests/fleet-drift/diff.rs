//! Drift diff tests: Fleet's drift / bundle-diffs / drift-ignore-status data with the changes
//! Fleet's e2e tests make, and properties of the diff.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use fleet_drift::diff::schema::BuiltinSchema;
use fleet_drift::diff::{self, DiffOptions, rules::ComparePatch, rules::IgnoreRule, rules::Rules};
use proptest::prelude::*;
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fleet-drift/fixtures")
}

/// `../shared`; the fixture loop only reaches corpus-backed cases after the caller checked it.
fn shared() -> PathBuf {
    fleet_test_tools::shared::dir().expect("../shared is present (checked by the caller)")
}

fn read_yaml_docs(path: &Path) -> Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(diff::objects_from_documents(fleet_core::yaml::documents(
        &text,
    )?))
}

/// The bundle resources of a corpus directory: every `*.yaml` except `fleet.yaml`.
fn corpus_objects(dir: &Path) -> Result<Vec<Value>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml")
                && p.file_name().is_some_and(|n| n != "fleet.yaml")
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        out.extend(read_yaml_docs(&file)?);
    }
    Ok(out)
}

fn find_mut<'a>(objects: &'a mut [Value], kind: &str, name: &str) -> Result<&'a mut Value> {
    objects
        .iter_mut()
        .find(|o| o["kind"] == json!(kind) && o.pointer("/metadata/name") == Some(&json!(name)))
        .ok_or_else(|| anyhow!("no live {kind} {name}"))
}

struct Outcome {
    messages: Vec<String>,
}

fn run_case(case: &Value) -> Result<Outcome> {
    let name = case["name"].as_str().unwrap_or("?");
    let desired_ref = case["desired"].as_str().context("desired")?;
    let desired = if let Some(rest) = desired_ref.strip_prefix("corpus/") {
        corpus_objects(&shared().join("corpus").join(rest))?
    } else {
        read_yaml_docs(&fixtures().join(desired_ref))?
    };
    let mut live = read_yaml_docs(&fixtures().join(case["live"].as_str().context("live")?))?;
    if let Some(ops) = case["liveOps"].as_array() {
        for change in ops {
            let obj = find_mut(
                &mut live,
                change["kind"].as_str().unwrap_or(""),
                change["name"].as_str().unwrap_or(""),
            )?;
            let patch: json_patch::Patch = serde_json::from_value(change["ops"].clone())?;
            json_patch::patch(obj, &patch).with_context(|| format!("{name}: live op"))?;
        }
    }
    if let Some(removals) = case["liveRemove"].as_array() {
        for r in removals {
            live.retain(|o| !(o["kind"] == r["kind"] && o["metadata"]["name"] == r["name"]));
        }
    }
    if let Some(adds) = case["liveAdd"].as_array() {
        live.extend(adds.iter().cloned());
    }
    let mut compare_patches: Vec<ComparePatch> = match case.get("comparePatches") {
        Some(v) => serde_json::from_value(v.clone())?,
        None => Vec::new(),
    };
    if let Some(from) = case["comparePatchesFrom"].as_str() {
        let path = shared()
            .join("corpus")
            .join(from.strip_prefix("corpus/").unwrap_or(from));
        let fleet_yaml = fleet_core::yaml::from_str_value(&std::fs::read_to_string(&path)?)?;
        compare_patches.extend(serde_json::from_value::<Vec<ComparePatch>>(
            fleet_yaml["diff"]["comparePatches"].clone(),
        )?);
    }
    let rules = Rules::new(compare_patches, Vec::new())?;
    let bd = case["bundleDeployment"]
        .as_str()
        .context("bundleDeployment")?;
    let hash = diff::set_hash(&diff::set_id(bd, "default", ""));
    let mut options = DiffOptions::new(&BuiltinSchema, &hash, &rules);
    if let Some(ns) = case["defaultNamespace"].as_str() {
        options.default_namespace = ns.to_string();
    }
    if let Some(prev) = case["previous"].as_array() {
        options.previous = Some(
            prev.iter()
                .map(|p| {
                    (
                        p["kind"].as_str().unwrap_or("").to_string(),
                        p["name"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect::<BTreeSet<_>>(),
        );
    }
    let report = diff::diff(&desired, &live, &options)?;
    Ok(Outcome {
        messages: report.entries.iter().map(ToString::to_string).collect(),
    })
}

#[test]
fn fleet_drift_cases() -> Result<()> {
    if fleet_test_tools::shared::dir().is_none() {
        return Ok(());
    }
    let cases = read_yaml_docs(&fixtures().join("cases.yaml"))?;
    let cases = match cases.as_slice() {
        [Value::Array(items)] => items.clone(),
        _ => bail!("cases.yaml must hold one list"),
    };
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or("?");
        let expected: Vec<String> = serde_json::from_value(case["expected"].clone())?;
        let outcome = run_case(case).with_context(|| name.to_string())?;
        if outcome.messages != expected {
            failures.push(format!(
                "{name}:\n  expected {expected:#?}\n  got      {:#?}",
                outcome.messages
            ));
        }
    }
    assert!(cases.len() >= 19, "only {} cases", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

const HASH_BD: &str = "sample";

fn hash() -> String {
    diff::set_hash(&diff::set_id(HASH_BD, "default", ""))
}

fn as_live(desired: &Value) -> Value {
    let mut live = desired.clone();
    let meta = live["metadata"].as_object_mut().expect("metadata");
    meta.insert("namespace".into(), json!("default"));
    meta.insert("uid".into(), json!("u-1"));
    meta.insert("resourceVersion".into(), json!("7"));
    meta.entry("labels")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("labels")
        .insert(diff::LABEL_HASH.into(), json!(hash()));
    live
}

fn run(desired: &[Value], live: &[Value]) -> diff::Report {
    let rules = Rules::default();
    let h = hash();
    let options = DiffOptions::new(&BuiltinSchema, &h, &rules);
    diff::diff(desired, live, &options).expect("diff")
}

fn run_rules(desired: &[Value], live: &[Value], rules: &Rules) -> diff::Report {
    let h = hash();
    let options = DiffOptions::new(&BuiltinSchema, &h, rules);
    diff::diff(desired, live, &options).expect("diff")
}

#[test]
fn flux_ignore_rules_select_objects() {
    let desired = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web-1", "labels": {"tier": "web"}},
        "spec": {"replicas": 2, "template": {"metadata": {"annotations": {"a/b": "x"}}}}});
    let mut live = as_live(&desired);
    live["spec"]["replicas"] = json!(5);
    live["spec"]["template"]["metadata"]["annotations"]["a/b"] = json!("y");
    let rule: IgnoreRule = serde_json::from_value(json!({
        "paths": ["/spec/replicas", "/spec/template/metadata/annotations/a~1b"],
        "target": {"kind": "Deployment", "name": "web-.*", "labelSelector": "tier=web"}}))
    .expect("rule");
    let rules = Rules::new(Vec::new(), vec![rule]).expect("rules");
    assert!(
        run_rules(
            std::slice::from_ref(&desired),
            std::slice::from_ref(&live),
            &rules
        )
        .in_sync()
    );
    // A selector that does not match leaves the drift visible.
    let rule: IgnoreRule = serde_json::from_value(json!({
        "paths": ["/spec/replicas"], "target": {"kind": "Deployment", "labelSelector": "tier=db"}}))
    .expect("rule");
    let rules = Rules::new(Vec::new(), vec![rule]).expect("rules");
    assert_eq!(
        run_rules(
            std::slice::from_ref(&desired),
            std::slice::from_ref(&live),
            &rules
        )
        .entries
        .len(),
        1
    );
    // An empty path ignores the whole object.
    let rule: IgnoreRule =
        serde_json::from_value(json!({"paths": [""], "target": {"name": "web-1"}})).expect("rule");
    let rules = Rules::new(Vec::new(), vec![rule]).expect("rules");
    assert!(run_rules(&[desired], &[live], &rules).in_sync());
}

#[test]
fn normalisers_secret_quantities_hpa_webhook() {
    // Secret stringData against the stored data.
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "stringData": {"password": "hunter2"}});
    let mut live = as_live(&secret);
    live.as_object_mut().expect("obj").remove("stringData");
    live["data"] = json!({"password": "aHVudGVyMg=="});
    assert!(run(std::slice::from_ref(&secret), std::slice::from_ref(&live)).in_sync());
    live["data"] = json!({"password": "b3RoZXI="});
    let report = run(&[secret], &[live]);
    assert_eq!(
        report.entries[0].patch.as_deref(),
        Some(r#"{"data":{"password":"aHVudGVyMg=="}}"#)
    );

    // Replicas changed by an HPA of the bundle, within its range.
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2}});
    let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"}, "spec": {"minReplicas": 2, "maxReplicas": 5,
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}});
    let mut live_deploy = as_live(&deploy);
    live_deploy["spec"]["replicas"] = json!(4);
    let live_hpa = as_live(&hpa);
    assert!(
        run(
            &[deploy.clone(), hpa.clone()],
            &[live_deploy.clone(), live_hpa.clone()]
        )
        .in_sync()
    );
    live_deploy["spec"]["replicas"] = json!(9);
    assert_eq!(
        run(
            &[deploy.clone(), hpa.clone()],
            &[live_deploy.clone(), live_hpa]
        )
        .entries
        .len(),
        1
    );
    // Without the HPA live in the set, replicas count.
    live_deploy["spec"]["replicas"] = json!(4);
    assert_eq!(run(&[deploy, hpa], &[live_deploy]).counts(), (1, 0, 1));

    // Webhook caBundle injected by a controller.
    let hook = json!({"apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration", "metadata": {"name": "h"},
        "webhooks": [{"name": "a.example.com", "clientConfig": {"caBundle": "Cg==",
            "service": {"name": "svc", "namespace": "ns"}}}]});
    let mut live_hook = as_live(&hook);
    live_hook["metadata"]
        .as_object_mut()
        .expect("m")
        .remove("namespace");
    live_hook["webhooks"][0]["clientConfig"]["caBundle"] = json!("LS0tLS1CRUdJTi...");
    assert!(run(&[hook], &[live_hook]).in_sync());

    // Quantities and defaulted protocol.
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "nginx:1",
            "resources": {"requests": {"cpu": 0.5, "memory": "1Gi"}},
            "ports": [{"containerPort": 80}]}]}});
    let mut live_pod = as_live(&pod);
    live_pod["spec"]["containers"][0]["resources"]["requests"] =
        json!({"cpu": "500m", "memory": "1024Mi"});
    live_pod["spec"]["containers"][0]["ports"][0]["protocol"] = json!("TCP");
    assert!(run(&[pod], &[live_pod]).in_sync());
}

#[test]
fn cluster_scoped_and_crd_objects() {
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Cluster",
            "names": {"kind": "Widget", "plural": "widgets"}}});
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w"}, "spec": {"size": 3, "items": [{"a": 1}]}});
    let mut live_crd = as_live(&crd);
    live_crd["metadata"]
        .as_object_mut()
        .expect("m")
        .remove("namespace");
    let mut live_widget = as_live(&widget);
    live_widget["metadata"]
        .as_object_mut()
        .expect("m")
        .remove("namespace");
    live_widget["spec"]["items"][0]["b"] = json!(2);
    assert!(
        run(
            &[crd.clone(), widget.clone()],
            &[live_crd.clone(), live_widget.clone()]
        )
        .in_sync()
    );
    live_widget["spec"]["size"] = json!(4);
    let report = run(&[crd, widget], &[live_crd, live_widget]);
    assert_eq!(
        report.entries[0].to_string(),
        r#"widget.example.com w modified {"spec":{"size":3}}"#
    );
}

#[test]
fn bad_input_is_a_typed_error() {
    let rules = Rules::default();
    let options = DiffOptions::new(&BuiltinSchema, "h", &rules);
    let err = diff::diff(&[json!({"kind": "ConfigMap"})], &[], &options).unwrap_err();
    assert!(err.to_string().contains("desired object #0"), "{err}");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
    let err = diff::diff(&[cm.clone(), cm], &[], &options).unwrap_err();
    assert!(
        err.to_string().contains("both ConfigMap default/a"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Properties.

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z0-9]{0,6}".prop_map(Value::from),
        (-5i64..1000).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
    ]
}

fn tree() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(scalar(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-e]{1,3}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn kind_and_version() -> impl Strategy<Value = (&'static str, &'static str)> {
    prop_oneof![
        Just(("v1", "ConfigMap")),
        Just(("apps/v1", "Deployment")),
        Just(("example.com/v1", "Widget")),
    ]
}

fn object() -> impl Strategy<Value = Value> {
    (kind_and_version(), tree(), containers()).prop_map(|((api, kind), spec, containers)| {
        json!({"apiVersion": api, "kind": kind, "metadata": {"name": "obj"},
            "spec": {"extra": spec, "template": {"spec": {"containers": containers}}}})
    })
}

fn containers() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        "[a-d]{1,2}",
        (
            "[a-z]{1,5}:[0-9]{1,2}",
            1i64..65535,
            "[A-Z]{1,3}",
            "[a-z0-9]{0,4}",
        ),
        1..3,
    )
    .prop_map(|m| {
        Value::Array(
            m.into_iter()
                .map(|(name, (image, port, env, value))| {
                    json!({"name": name, "image": image,
                        "ports": [{"containerPort": port}],
                        "env": [{"name": env, "value": value}]})
                })
                .collect(),
        )
    })
}

/// Adds `key: value` to a random mapping of `target` (not inside atomic lists).
fn add_field(target: &mut Value, choice: usize, key: &str, value: Value) {
    fn paths(v: &Value, cur: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if let Value::Object(m) = v {
            out.push(cur.clone());
            for (k, child) in m {
                cur.push(k.clone());
                paths(child, cur, out);
                cur.pop();
            }
        }
    }
    let mut all = Vec::new();
    paths(target, &mut Vec::new(), &mut all);
    let path = &all[choice % all.len()];
    let mut cur = target;
    for k in path {
        cur = &mut cur[k.as_str()];
    }
    if let Value::Object(m) = cur
        && !m.contains_key(key)
    {
        m.insert(key.to_string(), value);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn diff_of_an_object_with_itself_is_empty(obj in object()) {
        let report = run(std::slice::from_ref(&obj), &[as_live(&obj)]);
        prop_assert!(report.in_sync(), "{:?}", report.entries);
    }

    #[test]
    fn a_field_only_in_live_is_never_drift(obj in object(), choice in 0usize..64, value in tree()) {
        let mut live = as_live(&obj);
        add_field(&mut live, choice, "zz", value);
        let report = run(std::slice::from_ref(&obj), &[live]);
        prop_assert!(report.in_sync(), "{:?}", report.entries);
    }

    #[test]
    fn applying_the_patch_removes_the_drift(desired in object(), other in object()) {
        // Live: another object of the same identity.
        let mut live = as_live(&other);
        live["apiVersion"] = desired["apiVersion"].clone();
        live["kind"] = desired["kind"].clone();
        let report = run(std::slice::from_ref(&desired), std::slice::from_ref(&live));
        for entry in &report.entries {
            let patch: Value = serde_json::from_str(entry.patch.as_deref().unwrap_or("{}")).expect("json");
            json_patch::merge(&mut live, &patch);
        }
        let again = run(std::slice::from_ref(&desired), &[live]);
        prop_assert!(again.in_sync(), "{:?}", again.entries);
    }

    #[test]
    fn normalisers_never_hide_image_env_or_port_changes(obj in object(), which in 0usize..3) {
        let mut live = as_live(&obj);
        let container = &mut live["spec"]["template"]["spec"]["containers"][0];
        match which {
            0 => container["image"] = json!("changed:1"),
            1 => container["env"][0]["value"] = json!("changed"),
            _ => container["ports"][0]["containerPort"] = json!(70000),
        }
        let report = run(std::slice::from_ref(&obj), &[live]);
        prop_assert_eq!(report.counts(), (0, 0, 1));
    }
}
