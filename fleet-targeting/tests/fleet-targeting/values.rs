//! Fleet value templating against `../shared/vectors/fleet/templating.json`.

use std::collections::BTreeMap;

use fleet_core::crd::HelmOptions;
use fleet_targeting::values::{self, ClusterContext, template};
use serde_json::{Map, Value, json};

/// A cluster's facts, as the tests spell them.
#[derive(Default)]
struct ClusterFacts {
    name: String,
    namespace: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    template_values: Map<String, Value>,
}

fn context(f: &ClusterFacts) -> ClusterContext {
    ClusterContext::new(
        &f.name,
        &f.namespace,
        &f.labels,
        &f.annotations,
        &f.template_values,
    )
}

fn vectors() -> Option<Value> {
    let path = fleet_test_tools::shared::path("vectors/fleet/templating.json")?;
    let text = std::fs::read_to_string(&path).expect("read templating.json");
    Some(serde_json::from_str(&text).expect("templating.json is JSON"))
}

/// Follows a dotted path with `[i]` indices.
fn at<'a>(mut v: &'a Value, path: &str) -> Option<&'a Value> {
    for part in path.split('.') {
        let (key, indices) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            v = v.get(key)?;
        }
        for idx in indices.split('[').filter(|s| !s.is_empty()) {
            let i: usize = idx.trim_end_matches(']').parse().ok()?;
            v = v.get(i)?;
        }
    }
    Some(v)
}

fn check(result: &Value, checks: &Value, name: &str) -> usize {
    let mut n = 0;
    for c in checks.as_array().into_iter().flatten() {
        if let Some(f) = c.get("functionAbsent") {
            let f = f.as_str().expect("name");
            assert!(
                !values::funcs::names().contains_key(f),
                "{name}: {f} present"
            );
            let err = template::render(&format!("${{ {f} \"x\" }}"), &json!({})).expect_err(f);
            assert!(err.to_string().contains("not defined"), "{name}: {err}");
            n += 1;
            continue;
        }
        let path = c["path"].as_str().expect("path");
        let got = at(result, path).unwrap_or_else(|| panic!("{name}: no {path} in {result}"));
        if let Some(want) = c.get("equals") {
            assert_eq!(got, want, "{name}: {path}");
        }
        if let Some(len) = c.get("length") {
            assert_eq!(
                got.as_array().map(Vec::len),
                len.as_u64().map(|l| l as usize),
                "{name}: {path}"
            );
        }
        n += 1;
    }
    n
}

fn facts_from_context(ctx: &Value) -> ClusterFacts {
    let strings = |v: &Value| -> BTreeMap<String, String> {
        v.as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect()
    };
    ClusterFacts {
        name: ctx["ClusterName"].as_str().unwrap_or_default().to_string(),
        namespace: ctx["ClusterNamespace"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        labels: strings(&ctx["ClusterLabels"]),
        annotations: strings(&ctx["ClusterAnnotations"]),
        template_values: ctx["ClusterValues"]
            .as_object()
            .cloned()
            .unwrap_or_default(),
    }
}

fn facts_from_cluster(cluster: &Value) -> ClusterFacts {
    let strings = |v: &Value| -> BTreeMap<String, String> {
        v.as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect()
    };
    ClusterFacts {
        name: cluster["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        namespace: cluster["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        labels: strings(&cluster["metadata"]["labels"]),
        annotations: strings(&cluster["metadata"]["annotations"]),
        template_values: cluster["spec"]["templateValues"]
            .as_object()
            .cloned()
            .unwrap_or_default(),
    }
}

#[test]
fn templating_vectors() {
    let Some(v) = vectors() else { return };
    let mut checks = 0;
    let cases = v["cases"].as_array().expect("cases");
    for case in cases {
        let function = case["function"].as_str().expect("function");
        let name = case["name"].as_str().unwrap_or(function);
        let input = &case["input"];
        let result: Value = match function {
            "processLabelValues" => {
                let mut values: Map<String, Value> =
                    input["values"].as_object().cloned().expect("values");
                let labels: BTreeMap<String, String> =
                    serde_json::from_value(input["clusterLabels"].clone()).expect("labels");
                values::substitute_labels(&mut values, &labels, 0).expect("depth");
                if let Some(derived) = case["derived"].get("values") {
                    assert_eq!(&Value::Object(values.clone()), derived, "{name}");
                }
                Value::Object(values)
            }
            "processTemplateValues" | "processTemplateValuesData" => {
                let facts = facts_from_context(&input["templateContext"]);
                let ctx = context(&facts);
                // The options YAML is the upstream test's text: read it as Fleet does.
                let options = fleet_core::yaml::from_str_value(
                    input["optionsYaml"].as_str().expect("optionsYaml"),
                )
                .expect("options yaml");
                let mut helm: HelmOptions =
                    serde_json::from_value(options["helm"].clone()).expect("helm");
                if function == "processTemplateValues" {
                    helm.template_values = None;
                } else {
                    helm.values = None;
                }
                let out = values::preprocess_helm_values(&helm, &ctx)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                Value::Object(out.values.unwrap_or_default())
            }
            "tplFuncMap" => Value::Null,
            "preprocessHelmValues" => {
                let facts = facts_from_cluster(&input["cluster"]);
                let ctx = context(&facts);
                let options = fleet_core::yaml::from_str_value(
                    input["optionsYaml"].as_str().expect("optionsYaml"),
                )
                .expect("options yaml");
                let helm: HelmOptions =
                    serde_json::from_value(options["helm"].clone()).expect("helm");
                let out = values::preprocess_helm_values(&helm, &ctx);
                assert_eq!(
                    out.is_err(),
                    case["expectError"].as_bool().unwrap_or(false),
                    "{name}"
                );
                let mut options = options.clone();
                options["helm"] = serde_json::to_value(out.expect("ok")).expect("json");
                options
            }
            other => panic!("unknown function {other}"),
        };
        checks += check(&result, &case["checks"], name);
    }
    assert_eq!(cases.len(), 7);
    assert!(checks >= 20, "{checks} checks");
}

#[test]
fn list_data_and_unasserted_keys() {
    // The upstream test renders `list` and `listb` without asserting them; these are the values
    // Fleet's YAML round trip gives.
    let facts = ClusterFacts {
        name: "c".into(),
        namespace: "ns".into(),
        labels: [
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "x".to_string()),
        ]
        .into(),
        ..Default::default()
    };
    let ctx = context(&facts);
    let helm: HelmOptions = serde_json::from_value(json!({
        "values": {
            "list": "${ list 1 2 3 | toJson }",
            "listb": "${- range $key, $val := .ClusterLabels }\n- name: ${ $key }\n  value: ${ $val | quote }\n${- end}",
            "n": "${ .ClusterLabels.a }",
        }
    }))
    .expect("helm");
    let out = values::preprocess_helm_values(&helm, &ctx).expect("ok");
    let values = out.values.expect("values");
    assert_eq!(values["list"], json!([1, 2, 3]));
    assert_eq!(
        values["listb"],
        json!("\n- name: a\n  value: \"1\"\n- name: b\n  value: \"x\"")
    );
    assert_eq!(values["n"], json!(1));
}

#[test]
fn missing_keys_are_errors() {
    let facts = ClusterFacts {
        name: "c".into(),
        namespace: "ns".into(),
        labels: [("env".to_string(), "dev".to_string())].into(),
        ..Default::default()
    };
    let ctx = context(&facts);
    let helm: HelmOptions =
        serde_json::from_value(json!({"values": {"x": {"y": "${ .ClusterLabels.missing }"}}}))
            .expect("helm");
    let err = values::preprocess_helm_values(&helm, &ctx)
        .expect_err("missing key")
        .to_string();
    assert!(err.contains("cluster c in namespace ns"), "{err}");
    assert!(err.contains("helm.values.x.y"), "{err}");
    assert!(
        err.contains("map has no entry for key \"missing\""),
        "{err}"
    );
}

#[test]
fn no_exportable_labels_means_no_processing() {
    let facts = ClusterFacts {
        name: "c".into(),
        namespace: "ns".into(),
        labels: [("foo.cattle.io/x", "1"), ("kubectl.kubernetes.io/y", "2")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    let ctx = context(&facts);
    assert!(ctx.labels.is_empty());
    let helm: HelmOptions =
        serde_json::from_value(json!({"values": {"x": "${ .ClusterName }"}})).expect("helm");
    let out = values::preprocess_helm_values(&helm, &ctx).expect("ok");
    assert_eq!(out.values.expect("values")["x"], json!("${ .ClusterName }"));
}

#[test]
fn label_filtering() {
    let facts = ClusterFacts {
        labels: [
            ("kubectl.kubernetes.io/x", "1"),
            ("foo.cattle.io/y", "2"),
            ("fleet.cattle.io/z", "3"),
            ("management.cattle.io/w", "4"),
            ("env", "5"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..Default::default()
    };
    let ctx = context(&facts);
    let keys: Vec<&str> = ctx.labels.keys().map(String::as_str).collect();
    assert_eq!(keys, ["env", "fleet.cattle.io/z", "management.cattle.io/w"]);
}

#[test]
fn template_language() {
    let data = json!({"m": {"b": 2, "a": 1}, "s": "Hi", "l": ["x", "y"]});
    for (src, want) in [
        (
            "${ range $k, $v := .m }${ $k }=${ $v } ${ end }",
            "a=1 b=2 ",
        ),
        ("${ if and .s (eq (len .l) 2) }ok${ end }", "ok"),
        ("${ printf \"%s-%03d\" .s 7 }", "Hi-007"),
        ("${ .s | lower | quote }", "\"hi\""),
        ("${ default \"d\" .nope }", "ERR"),
        ("${ default \"d\" (index .m \"zz\") }", "d"),
        ("${ dict \"a\" 1 | toJson }", "{\"a\":1}"),
        ("${ .l | last }", "y"),
        ("${ if not .s }a${ else if .l }b${ else }c${ end }", "b"),
        (
            "${ range .l }${ if eq . \"x\" }${ continue }${ end }${ . }${ end }",
            "y",
        ),
        ("${ 3 | add 4 }", "7"),
        ("${ \"abc\" | b64enc }", "YWJj"),
        ("${ \"YWJj\" | b64dec }", "abc"),
        ("${ trunc 2 \"hello\" }|${ substr 1 3 \"hello\" }", "he|el"),
        ("${ splitList \",\" \"a,b\" | join \"+\" }", "a+b"),
        ("${ ternary \"y\" \"n\" true }", "y"),
        ("${ .m }", "map[a:1 b:2]"),
        // Named templates work as in Go's text/template, which Fleet runs.
        (
            "${ define \"x\" }<${ . }>${ end }${ template \"x\" .s }",
            "<Hi>",
        ),
    ] {
        let got = template::render(src, &data).unwrap_or_else(|_| "ERR".to_string());
        assert_eq!(got, want, "{src}");
    }
    for bad in [
        "${ if }",
        "${ end }",
        "${ .s",
        "${ nosuch 1 }",
        "${ template \"nosuch\" }",
    ] {
        assert!(template::render(bad, &data).is_err(), "{bad}");
    }
}
