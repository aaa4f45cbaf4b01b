//! Strategic merge patch: kyaml merge2 vectors and properties.

use std::path::PathBuf;

use fleet_smp::schema::Schema;
use fleet_smp::{self as smp, ListIncrease, MergeOptions};
use proptest::prelude::*;
use serde_json::{Value, json};

fn shared() -> Option<PathBuf> {
    fleet_test_tools::shared::dir()
}

/// Vectors that do not pass, by description, with the reason (also in docs/kustomize.md).
const KNOWN_MISSES: &[(&str, &str)] = &[
    (
        "no infer merge keys merge using explicit schema as line comment'",
        "the schema is given in a YAML line comment, which the parser drops",
    ),
    (
        "merge_primitive_items",
        "the schema is given in a YAML line comment, which the parser drops",
    ),
];

#[test]
fn merge2_vectors() -> anyhow::Result<()> {
    let Some(shared) = shared() else {
        return Ok(());
    };
    let text = std::fs::read_to_string(shared.join("vectors/smp-merge2.json"))?;
    let doc: Value = serde_json::from_str(&text)?;
    let cases = doc["cases"].as_array().cloned().unwrap_or_default();
    assert!(!cases.is_empty());
    let (mut pass, mut fail) = (0, 0);
    let mut unexpected = Vec::new();
    for case in &cases {
        let desc = case["description"].as_str().unwrap_or("?");
        let parse = |k: &str| fleet_core::yaml::from_str_value(case[k].as_str().unwrap_or(""));
        let (dest, patch, expected) = (parse("dest")?, parse("patch")?, parse("expected")?);
        let opts = MergeOptions {
            list_increase: if case["options"]["listIncreaseDirection"] == "prepend" {
                ListIncrease::Prepend
            } else {
                ListIncrease::Append
            },
            infer_keys: case["options"]["infer"] == true,
            server_directives: false,
        };
        let got = smp::merge(&dest, &patch, Schema::builtin(), &opts);
        let ok = match &got {
            Ok(Some(v)) => *v == expected,
            Ok(None) => expected.is_null(),
            Err(_) => false,
        };
        let known = KNOWN_MISSES.iter().any(|(d, _)| *d == desc);
        if ok {
            pass += 1;
        } else {
            fail += 1;
            if !known {
                unexpected.push(format!(
                    "{} / {desc}: got {got:?}, expected {expected}",
                    case["file"]
                ));
            }
        }
    }
    eprintln!("smp-merge2 vectors: {pass} passed, {fail} failed");
    assert!(
        unexpected.is_empty(),
        "unexpected misses:\n{}",
        unexpected.join("\n")
    );
    Ok(())
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[a-z]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_object() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            ("apps/v1", "Deployment"),
            ("v1", "ConfigMap"),
            ("example.com/v1", "Widget"),
        ]),
        arb_json(),
        prop::collection::btree_map("[a-c]", "[a-z]{1,3}", 0..3),
    )
        .prop_map(|((api, kind), spec, containers)| {
            let containers: Vec<Value> = containers
                .into_iter()
                .map(|(name, image)| json!({"name": name, "image": image}))
                .collect();
            json!({"apiVersion": api, "kind": kind, "metadata": {"name": "x"},
                "spec": {"data": spec, "template": {"spec": {"containers": containers}}}})
        })
}

/// Replaces nulls (which a patch reads as deletions) by a string.
fn denull(v: Value) -> Value {
    match v {
        Value::Null => Value::from("n"),
        Value::Array(a) => Value::Array(a.into_iter().map(denull).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, denull(v))).collect()),
        other => other,
    }
}

proptest! {
    #[test]
    fn empty_patch_is_identity(obj in arb_object()) {
        let patch = json!({"apiVersion": obj["apiVersion"], "kind": obj["kind"]});
        let out = smp::merge(&obj, &patch, Schema::builtin(), &MergeOptions::kustomize()).unwrap();
        prop_assert_eq!(out, Some(obj.clone()));
        let out = smp::merge(&obj, &json!({}), Schema::builtin(), &MergeOptions::default()).unwrap();
        prop_assert_eq!(out, Some(obj));
    }

    #[test]
    fn json6902_add_then_remove_restores(obj in arb_object(), value in arb_json(), key in "[a-z]{1,5}") {
        let mut target = obj.clone();
        let path = format!("/metadata/{key}x");
        smp::apply_json6902(&mut target, &json!([{"op": "add", "path": path, "value": value}])).unwrap();
        smp::apply_json6902(&mut target, &json!([{"op": "remove", "path": path}])).unwrap();
        prop_assert_eq!(target, obj);
    }

    #[test]
    fn self_merge_is_contained(obj in arb_object().prop_map(denull)) {
        let out = smp::merge(&obj, &obj, Schema::builtin(), &MergeOptions::kustomize()).unwrap().unwrap();
        prop_assert!(smp::is_contained(&obj, &out, Schema::builtin()));
    }
}

proptest! {
    /// A two-way patch applied with the server directives turns the original into the
    /// modified object.
    #[test]
    fn two_way_patch_round_trips(a in arb_object().prop_map(denull), b in arb_object().prop_map(denull)) {
        let mut b = b;
        b["apiVersion"] = a["apiVersion"].clone();
        b["kind"] = a["kind"].clone();
        let patch = smp::two_way(&a, &b, Schema::builtin());
        let opts = MergeOptions { server_directives: true, ..MergeOptions::default() };
        let merged = smp::merge(&a, &patch, Schema::builtin(), &opts).unwrap();
        prop_assert_eq!(merged, Some(b));
    }
}

/// Found by the `smp_patch` fuzz target: a keyed list new to the original whose items lack
/// their key (or share one) was sent item by item, and merging folded the items into one.
#[test]
fn two_way_patch_replaces_new_keyed_lists_that_cannot_merge_by_key() {
    let opts = MergeOptions {
        server_directives: true,
        ..MergeOptions::default()
    };
    let original =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}});
    let modifieds = [
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"template": {"spec": {"containers": [{"image": "a"}, {"image": "b", "tty": true}]}}}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "a"}, {"name": "c", "image": "b"}]}}}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "ports": [{"name": "p"}, {"name": "q"}]}]}}}}),
    ];
    for modified in modifieds {
        let patch = smp::two_way(&original, &modified, Schema::builtin());
        let merged = smp::merge(&original, &patch, Schema::builtin(), &opts).unwrap();
        assert_eq!(merged, Some(modified), "patch {patch}");
    }
}

/// Found by the `smp_patch` fuzz target: a field removed from an item of a keyed list was
/// left out of the two-way patch, since the modified list was contained in the original.
#[test]
fn two_way_patch_removes_fields_of_list_items() {
    let opts = MergeOptions {
        server_directives: true,
        ..MergeOptions::default()
    };
    let original = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}});
    let modified = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "spec": {"template": {"spec": {"containers": [{"name": "web"}]}}}});
    let patch = smp::two_way(&original, &modified, Schema::builtin());
    let merged = smp::merge(&original, &patch, Schema::builtin(), &opts).unwrap();
    assert_eq!(merged, Some(modified), "patch {patch}");
}
