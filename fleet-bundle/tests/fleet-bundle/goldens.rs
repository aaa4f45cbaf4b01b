//! Comparison with fleet-examples `tests/expected/**/bundle.yaml` (`fleet apply -o - test`
//! run inside each example directory with `COMMIT=fake`).
//!
//! Documented differences, all due to the goldens predating Fleet v0.12/v0.16:
//! 1. The goldens store `fleet.yaml` and the `valuesFiles` as resources (v0.12 stopped that,
//!    PR #3403): they are removed from the golden resource list before comparing.
//! 2. The goldens serialise an empty `correctDrift: {}` on the spec and every target (a
//!    non-pointer struct then, a pointer since): removed from the golden before comparing.
//!    `ignore: {}` is still a value struct in Fleet, so both sides carry it.
//! 3. Remote charts (`.chart/<sha256>/…`) need the network: the file lists inside are not
//!    compared, only that the same `.chart/<sha256>` prefixes appear (the hash is Fleet's).
//! 4. The Fleet that wrote the goldens appended `/` to `helm.repo` in place while resolving
//!    the chart URL, so the golden spec shows `https://charts.rancher.io/` and its
//!    `.chart/<sha256>` prefix hashes the repo with that slash. Fleet v0.16 passes the options by
//!    value (`charturl.go`), so neither happens: the golden repo is compared without the slash,
//!    and each side's prefixes are checked against the hash of its own `chart:repo:version`.
//! 5. The goldens concatenate Bundles without `---` separators (one `fleet apply` print per
//!    bundle); they are split at each top-level `apiVersion:` line here.

use std::collections::BTreeSet;

use fleet_bundle::chart::ChartRef;
use fleet_bundle::tree::DirTree;
use fleet_bundle::{Scan, read_repo};
use serde_json::Value;

use crate::common::{StubFetcher, as_json, options, shared};

fn split_concatenated(text: &str) -> Vec<String> {
    let mut docs: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("apiVersion: fleet.cattle.io/") || docs.is_empty() {
            docs.push(String::new());
        }
        if let Some(d) = docs.last_mut() {
            d.push_str(line);
            d.push('\n');
        }
    }
    docs
}

fn strip_empty_legacy(v: &mut Value) {
    if let Value::Object(m) = v {
        for k in ["correctDrift"] {
            if m.get(k)
                .is_some_and(|x| x.as_object().is_some_and(|o| o.is_empty()))
            {
                m.remove(k);
            }
        }
        if let Some(Value::Array(ts)) = m.get_mut("targets") {
            ts.iter_mut().for_each(strip_empty_legacy);
        }
    }
}

/// Strips the trailing `/` old Fleet added to `helm.repo` (spec and targets).
fn strip_repo_slash(spec: &mut Value) {
    let fix = |h: &mut Value| {
        if let Some(r) = h.get_mut("repo")
            && let Some(s) = r.as_str()
            && let Some(t) = s.strip_suffix('/')
        {
            *r = Value::String(t.to_string());
        }
    };
    if let Some(h) = spec.get_mut("helm") {
        fix(h);
    }
    if let Some(Value::Array(ts)) = spec.get_mut("targets") {
        for t in ts {
            if let Some(h) = t.get_mut("helm") {
                fix(h);
            }
        }
    }
}

/// `.chart/<sha256>` prefixes of the remote helm blocks of a spec, by Fleet's formula.
fn spec_prefixes(spec: &Value) -> BTreeSet<String> {
    let mut helms = vec![&spec["helm"]];
    for t in spec["targets"].as_array().into_iter().flatten() {
        helms.push(&t["helm"]);
    }
    helms
        .into_iter()
        .filter(|h| {
            let chart = h["chart"].as_str().unwrap_or_default();
            !h["repo"].as_str().unwrap_or_default().is_empty() || chart.contains("://")
        })
        .map(|h| {
            ChartRef {
                chart: h["chart"].as_str().unwrap_or_default().into(),
                repo: h["repo"].as_str().unwrap_or_default().into(),
                version: h["version"].as_str().unwrap_or_default().into(),
            }
            .prefix()
        })
        .collect()
}

fn chart_prefixes(names: &[String]) -> BTreeSet<String> {
    names
        .iter()
        .filter(|n| n.starts_with(".chart/"))
        .map(|n| n.split('/').take(2).collect::<Vec<_>>().join("/"))
        .collect()
}

#[test]
fn fleet_examples_goldens() {
    let Some(shared) = shared() else { return };
    let examples = shared.join("corpus/fleet-examples");
    let mut compared = 0;
    for kind in ["single-cluster", "multi-cluster"] {
        let dir = examples.join("tests/expected").join(kind);
        let Ok(cases) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut cases: Vec<String> = cases
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        cases.sort();
        for case in cases {
            let golden_path = dir.join(&case).join("bundle.yaml");
            let Ok(text) = std::fs::read_to_string(&golden_path) else {
                continue;
            };
            let goldens: Vec<Value> = split_concatenated(&text)
                .iter()
                .map(|d| fleet_core::yaml::from_str_value(d).expect("golden yaml"))
                .collect();
            let src = examples.join(kind).join(&case);
            let tree = DirTree::new(&src).expect("example dir");
            let fetcher = StubFetcher::default();
            let mut opts = options("test", &fetcher);
            opts.namespace = goldens[0]["metadata"]["namespace"]
                .as_str()
                .unwrap_or("fleet-local")
                .to_string();
            opts.labels
                .insert("fleet.cattle.io/commit".into(), "fake".into());
            let ours = read_repo(&tree, &Scan::Classic(vec![".".into()]), &opts)
                .unwrap_or_else(|e| panic!("{kind}/{case}: {e}"));
            assert_eq!(ours.len(), goldens.len(), "{kind}/{case}: bundle count");
            for mut golden in goldens {
                let name = golden["metadata"]["name"].clone();
                let ours = &as_json(
                    &ours
                        .iter()
                        .find(|b| b.bundle.metadata.name == name)
                        .unwrap_or_else(|| panic!("{kind}/{case}: no bundle {name}"))
                        .bundle,
                );
                let what = format!("{kind}/{case} {name}");
                assert_eq!(ours["metadata"], golden["metadata"], "{what}: metadata");
                strip_empty_legacy(&mut golden["spec"]);
                // Values files named in fleet.yaml, removed from the golden resources.
                let mut config: BTreeSet<String> = ["fleet.yaml".to_string()].into();
                let mut collect = |h: &Value| {
                    for f in h["valuesFiles"].as_array().into_iter().flatten() {
                        if let Some(s) = f.as_str() {
                            config.insert(s.to_string());
                        }
                    }
                };
                collect(&golden["spec"]["helm"]);
                for t in golden["spec"]["targets"].as_array().into_iter().flatten() {
                    collect(&t["helm"]);
                }
                let golden_res: Vec<&Value> = golden["spec"]["resources"]
                    .as_array()
                    .expect("golden resources")
                    .iter()
                    .filter(|r| !config.contains(r["name"].as_str().unwrap_or_default()))
                    .collect();
                let our_res = ours["spec"]["resources"].as_array().expect("resources");
                let g_names: Vec<String> = golden_res
                    .iter()
                    .map(|r| r["name"].as_str().unwrap_or_default().to_string())
                    .collect();
                let o_names: Vec<String> = our_res
                    .iter()
                    .map(|r| r["name"].as_str().unwrap_or_default().to_string())
                    .collect();
                assert_eq!(
                    chart_prefixes(&g_names),
                    spec_prefixes(&golden["spec"]),
                    "{what}: golden prefixes follow sha256(chart:repo:version)"
                );
                assert_eq!(
                    chart_prefixes(&o_names),
                    spec_prefixes(&ours["spec"]),
                    "{what}: our prefixes"
                );

                let local = |names: &[String]| -> Vec<String> {
                    names
                        .iter()
                        .filter(|n| !n.starts_with(".chart/"))
                        .cloned()
                        .collect()
                };
                assert_eq!(local(&o_names), local(&g_names), "{what}: resource names");
                for g in &golden_res {
                    let n = g["name"].as_str().unwrap_or_default();
                    if n.starts_with(".chart/") {
                        continue;
                    }
                    let o = our_res.iter().find(|r| r["name"] == n).expect("resource");
                    assert_eq!(o["content"], g["content"], "{what}: content of {n}");
                    assert_eq!(
                        o.get("encoding"),
                        g.get("encoding"),
                        "{what}: encoding of {n}"
                    );
                }
                let mut g_spec = golden["spec"].clone();
                strip_repo_slash(&mut g_spec);
                let mut o_spec = ours["spec"].clone();
                for s in [&mut g_spec, &mut o_spec] {
                    if let Value::Object(m) = s {
                        m.remove("resources");
                    }
                }
                assert_eq!(o_spec, g_spec, "{what}: spec");
                compared += 1;
            }
        }
    }
    eprintln!("fleet-examples goldens compared: {compared} bundles");
    assert!(compared >= 10, "{compared}");
}
