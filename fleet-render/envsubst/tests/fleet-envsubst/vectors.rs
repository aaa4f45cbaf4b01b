//! Flux variable substitution against `../shared/vectors/envsubst.json`.

use std::collections::BTreeMap;

use fleet_envsubst::{self as envsubst, Node, Substitution};
use serde_json::{Value, json};

fn vectors() -> Option<Value> {
    let path = fleet_test_tools::shared::path("vectors/envsubst.json")?;
    let text = std::fs::read_to_string(&path).expect("envsubst.json is readable");
    Some(serde_json::from_str(&text).expect("envsubst.json is JSON"))
}

fn params(case: &Value) -> BTreeMap<String, String> {
    case["params"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn eval_cases() {
    let Some(v) = vectors() else { return };
    let cases = v["cases"].as_array().expect("cases");
    let mut passed = 0;
    for case in cases {
        let input = case["input"].as_str().expect("input");
        let strict = case["strict"].as_bool().unwrap_or(false);
        let got = envsubst::expand(input, &params(case), strict);
        match (&case["output"], &case["error"]) {
            (Value::String(want), _) => {
                assert_eq!(got.as_deref(), Ok(want.as_str()), "{input:?}");
            }
            (_, Value::String(want)) => {
                let err = got.expect_err(input).to_string();
                assert!(err.starts_with(want.as_str()), "{input:?}: {err}");
            }
            _ => panic!("case without output or error: {case}"),
        }
        passed += 1;
    }
    assert_eq!(passed, 57);
}

fn to_json(node: &Node) -> Value {
    match node {
        Node::Text(v) => json!({"node": "text", "value": v}),
        Node::Func { param, name, args } => json!({
            "node": "func", "param": param, "name": name,
            "args": if args.is_empty() { Value::Null } else { args.iter().map(to_json).collect() },
        }),
        // Flux nests sequences to the right: [a, b, c] is list[a, list[b, c]].
        Node::List(nodes) => match nodes.split_first() {
            Some((first, rest)) if rest.len() > 1 => {
                json!({"node": "list", "nodes": [to_json(first), to_json(&Node::List(rest.to_vec()))]})
            }
            _ => json!({"node": "list", "nodes": nodes.iter().map(to_json).collect::<Vec<_>>()}),
        },
        Node::Empty => Value::Null,
    }
}

#[test]
fn parse_cases() {
    let Some(v) = vectors() else { return };
    let cases = v["parse_cases"].as_array().expect("parse_cases");
    for case in cases {
        let input = case["input"].as_str().expect("input");
        let tree = envsubst::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(to_json(&tree), case["ast"], "{input:?}");
    }
    assert_eq!(cases.len(), 44);
}

#[test]
fn func_cases() {
    let Some(v) = vectors() else { return };
    let cases = v["func_cases"].as_array().expect("func_cases");
    for case in cases {
        let args: Vec<String> = case["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| a.as_str().expect("arg").to_string())
            .collect();
        let op = match case["function"].as_str().expect("function") {
            "toLen" => "#",
            "toLower" => ",,",
            "toLowerFirst" => ",",
            "toUpper" => "^^",
            "toUpperFirst" => "^",
            "toDefault" => ":-",
            "toSubstr" => ":",
            other => panic!("unknown function {other}"),
        };
        let got = envsubst::apply(op, &args[0], &args[1..]);
        assert_eq!(got, case["output"].as_str().expect("output"), "{case}");
    }
    assert_eq!(envsubst::apply(",", "", &[]), "");
    assert_eq!(envsubst::apply("^", "", &[]), "");
}

/// The resource-level cases: the build is a plain list of resources in the kustomization's
/// order (these cases use nothing else), variables from the Kustomization's `postBuild`.
#[test]
fn resource_cases() {
    let Some(v) = vectors() else { return };
    let cases = v["resource_cases"].as_array().expect("resource_cases");
    let mut outputs: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let ks = fleet_core::yaml::documents(case["flux_kustomization"].as_str().expect("ks"))
            .expect("ks yaml")
            .into_iter()
            .find(|d| !d.is_null())
            .expect("ks doc");
        let mut vars: Vec<(String, String)> = Vec::new();
        let cluster: Vec<Value> = case["cluster_objects"]
            .as_array()
            .expect("cluster_objects")
            .iter()
            .flat_map(|t| fleet_core::yaml::documents(t.as_str().expect("text")).expect("yaml"))
            .filter(|d| !d.is_null())
            .collect();
        let post = &ks["spec"]["postBuild"];
        for from in post["substituteFrom"].as_array().into_iter().flatten() {
            let obj = cluster
                .iter()
                .find(|o| o["kind"] == from["kind"] && o["metadata"]["name"] == from["name"])
                .expect("referenced object");
            for key in ["data", "stringData"] {
                for (k, v) in obj[key].as_object().into_iter().flatten() {
                    vars.push((k.clone(), v.as_str().unwrap_or_default().to_string()));
                }
            }
        }
        for (k, v) in post["substitute"].as_object().into_iter().flatten() {
            vars.push((k.clone(), v.as_str().unwrap_or_default().to_string()));
        }
        let subst = Substitution::new(
            vars,
            case["options"]["strict"].as_bool().unwrap_or(false),
            case["options"]["always"].as_bool().unwrap_or(false),
        )
        .expect("valid names");
        let files = case["build_files"].as_object().expect("build_files");
        let kustomization =
            fleet_core::yaml::from_str_value(files["kustomization.yml"].as_str().expect("k"))
                .expect("kustomization");
        let mut objects = Vec::new();
        for res in kustomization["resources"].as_array().expect("resources") {
            let file = res.as_str().expect("path").trim_start_matches("./");
            for doc in
                fleet_core::yaml::documents(files[file].as_str().expect("file")).expect("doc")
            {
                if !doc.is_null() {
                    objects.push(doc);
                }
            }
        }
        let result = envsubst::substitute_objects(&objects, &subst);
        let expect = &case["expect"];
        if let Some(want) = expect["error_contains"].as_str() {
            let err = result.expect_err(name).to_string();
            assert!(err.contains(want), "{name}: {err}");
            continue;
        }
        let got = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        let text = fleet_core::yaml::to_string_multi(&got).expect("print");
        if let Some(want) = expect["output"].as_str() {
            let want: Vec<Value> = fleet_core::yaml::documents(want)
                .expect("expected yaml")
                .into_iter()
                .filter(|d| !d.is_null())
                .collect();
            assert_eq!(got, want, "{name}");
        }
        for needle in expect["output_contains"].as_array().into_iter().flatten() {
            let needle = needle.as_str().expect("needle");
            assert!(text.contains(needle), "{name}: {needle:?} not in\n{text}");
        }
        for needle in expect["output_not_contains"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let needle = needle.as_str().expect("needle");
            assert!(!text.contains(needle), "{name}: {needle:?} in\n{text}");
        }
        if let Some(other) = expect["output_equals_case"].as_str() {
            assert_eq!(Some(&got), outputs.get(other), "{name} vs {other}");
        }
        outputs.insert(name.to_string(), got);
    }
    assert_eq!(cases.len(), 7);
}

#[test]
fn opt_out_annotation_leaves_object_alone() {
    let obj = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "x", "annotations": {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}},
        "data": {"a": "${v}"}
    });
    let subst = Substitution::new([("v".to_string(), "1".to_string())], true, false).expect("ok");
    assert_eq!(envsubst::substitute_object(&obj, &subst).expect("ok"), obj);
}

#[test]
fn substituted_scalars_are_retyped() {
    let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": "${N:=1}"}});
    let subst = Substitution::new([("N".to_string(), "3".to_string())], true, false).expect("ok");
    let out = envsubst::substitute_object(&obj, &subst).expect("ok");
    assert_eq!(out["spec"]["replicas"], json!(3));
}

#[test]
fn errors_name_the_object() {
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ns"}, "data": {"a": "${missing}"}});
    let subst = Substitution::new([("v".to_string(), "1".to_string())], true, false).expect("ok");
    let err = envsubst::substitute_object(&obj, &subst)
        .expect_err("strict")
        .to_string();
    assert!(
        err.contains("ConfigMap/ns/cm") && err.contains("variable not set"),
        "{err}"
    );
    assert!(Substitution::new([("1bad".to_string(), String::new())], false, false).is_err());
}

#[test]
fn long_and_deep_inputs() {
    // Many items are parsed without recursion.
    let text = "${a}-".repeat(200_000);
    let vars = BTreeMap::from([("a".to_string(), "x".to_string())]);
    assert_eq!(
        envsubst::expand(&text, &vars, true).expect("ok"),
        "x-".repeat(200_000)
    );
    // Nesting is bounded.
    let deep = format!("{}x{}", "${a:=".repeat(100), "}".repeat(100));
    assert!(envsubst::parse(&deep).is_err());
    let ok = format!("{}x{}", "${a:=".repeat(10), "}".repeat(10));
    assert_eq!(envsubst::expand(&ok, &vars, true).expect("ok"), "x");
}

#[test]
fn parse_errors() {
    for (input, want) in [
        ("${", "unable to parse variable name"),
        ("${a", "missing closing brace"),
        ("${a-b}", "missing closing brace"),
        ("${a:=b", "unable to parse substitution within function"),
        ("${#}", "bad substitution"),
    ] {
        let err = envsubst::parse(input).expect_err(input).to_string();
        assert_eq!(err, want, "{input:?}");
    }
}

mod props {
    use std::collections::BTreeMap;

    use fleet_envsubst as envsubst;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn text_without_dollar_is_unchanged(text in "[^$\\x00]{0,64}") {
            let vars = BTreeMap::new();
            prop_assert_eq!(envsubst::expand(&text, &vars, true).expect("no variables"), text);
        }

        #[test]
        fn escaped_references_stay_literal(name in "[a-z_][a-z0-9_]{0,8}", value in "[a-z]{0,8}") {
            let vars = BTreeMap::from([(name.clone(), value.clone())]);
            let out = envsubst::expand(&format!("$${{{name}}}=${{{name}}}"), &vars, true)
                .expect("expands");
            prop_assert_eq!(out, format!("${{{name}}}={value}"));
        }

        #[test]
        fn expansion_never_panics(text in "[ -~]{0,48}") {
            let vars = BTreeMap::from([("a".to_string(), "x/y".to_string())]);
            let _ = envsubst::expand(&text, &vars, true);
            let _ = envsubst::expand(&text, &vars, false);
        }
    }
}
