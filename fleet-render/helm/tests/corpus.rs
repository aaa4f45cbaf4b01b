//! Every case of the Helm corpus rendered and compared byte for byte with Helm's engine map.
//! Cases listed in `tests/passing.txt` must pass; the others are reported.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use fleet_helm::render::{self, Release};
use fleet_helm::{chart, coalesce, dependencies, values};

/// The render settings of one case: the corpus defaults, overridden by the case's entry in
/// `meta.yaml` (`kubeVersion`, `apiVersions`).
fn release_for(meta: &serde_json::Value, case_name: &str) -> Release {
    let case = meta["cases"]
        .as_array()
        .and_then(|cases| cases.iter().find(|c| c["name"] == case_name));
    let kube_version = case
        .and_then(|c| c["kubeVersion"].as_str())
        .unwrap_or("v1.31.0")
        .to_string();
    let api_versions = case
        .and_then(|c| c["apiVersions"].as_array())
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let release = case.map(|c| &c["release"]);
    let text = |key: &str, default: &str| {
        release
            .and_then(|r| r[key].as_str())
            .unwrap_or(default)
            .to_string()
    };
    Release {
        name: text("name", "demo"),
        namespace: text("namespace", "fleet-demo"),
        revision: release
            .and_then(|r| r["revision"].as_f64())
            .map_or(1, |r| r as i64),
        is_install: release
            .and_then(|r| r["isInstall"].as_bool())
            .unwrap_or(true),
        kube_version,
        api_versions,
    }
}

fn render_case(
    chart_dir: &Path,
    case: &Path,
    release: &Release,
) -> Result<BTreeMap<String, String>, String> {
    let mut chart = chart::load(chart_dir).map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(case).map_err(|e| e.to_string())?;
    let user = values::parse(&text, "case").map_err(|e| e.to_string())?;
    dependencies::process(&mut chart, &user);
    let coalesced = coalesce::coalesce_values(&chart, &user);
    render::render(&chart, &coalesced, release).map_err(|e| e.to_string())
}

/// The templates of a case whose output holds random characters (`nondeterministic_templates`).
fn nondeterministic(meta: &serde_json::Value, case_name: &str) -> BTreeSet<String> {
    meta["cases"]
        .as_array()
        .and_then(|cases| cases.iter().find(|c| c["name"] == case_name))
        .and_then(|c| c["nondeterministic_templates"].as_array())
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Byte equality, except that in templates known to hold random text an ASCII letter or
/// digit may stand for another one (the random part is masked, its length and place kept).
fn same_output(
    got: &BTreeMap<String, String>,
    golden: &BTreeMap<String, String>,
    random: &BTreeSet<String>,
) -> bool {
    got.len() == golden.len()
        && golden.iter().all(|(k, want)| {
            let Some(have) = got.get(k) else {
                return false;
            };
            if !random.contains(k) {
                return have == want;
            }
            have.len() == want.len()
                && have.bytes().zip(want.bytes()).all(|(a, b)| {
                    a == b || (a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric())
                })
        })
}

#[test]
fn corpus_cases_match_helm() {
    let Some(corpus) = fleet_test_tools::shared::path("corpus/helm") else {
        return;
    };
    let locked: BTreeSet<String> = include_str!("passing.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    let mut passing = Vec::new();
    let mut failing = Vec::new();
    let mut ids: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("chart").is_dir())
        .collect();
    ids.sort();
    for id in ids {
        let chart_id = id.file_name().unwrap().to_string_lossy().into_owned();
        let meta_text = std::fs::read_to_string(id.join("meta.yaml")).unwrap();
        let meta = values::parse(&meta_text, "meta.yaml").unwrap();
        let mut cases: Vec<_> = std::fs::read_dir(id.join("cases"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".expected.json"))
            .collect();
        cases.sort();
        for expected in cases {
            let name = expected
                .file_name()
                .unwrap()
                .to_string_lossy()
                .replace(".expected.json", "");
            let case_id = format!("{chart_id}/{name}");
            let golden: BTreeMap<String, String> =
                serde_json::from_str(&std::fs::read_to_string(&expected).unwrap()).unwrap();
            let case = id.join("cases").join(format!("{name}.yaml"));
            let release = release_for(&meta, &name);
            let random = nondeterministic(&meta, &name);
            match render_case(&id.join("chart"), &case, &release) {
                Ok(map) if same_output(&map, &golden, &random) => passing.push(case_id),
                Ok(map) => {
                    let first = golden
                        .iter()
                        .find(|(k, v)| map.get(*k) != Some(*v))
                        .map(|(k, _)| k.clone())
                        .unwrap_or_else(|| "extra templates".into());
                    failing.push(format!("{case_id}: output differs first in {first}"));
                }
                Err(err) => {
                    failing.push(format!("{case_id}: {}", err.lines().next().unwrap_or("")))
                }
            }
        }
        // Render errors (`fail`, `required`, parse errors) must carry Helm's message.
        for case in meta["cases"].as_array().into_iter().flatten() {
            let name = case["name"].as_str().unwrap_or_default();
            if case["result"] != "error" || case["error"] != "HelmRenderError" {
                continue;
            }
            let case_id = format!("{chart_id}/{name}");
            let expected_text =
                std::fs::read_to_string(id.join("cases").join(format!("{name}.expected.yaml")))
                    .unwrap();
            let expected = values::parse(&expected_text, "expected").unwrap();
            let want = expected["error"]["message"].as_str().unwrap_or_default();
            let release = release_for(&meta, name);
            let values_file = id.join("cases").join(format!("{name}.yaml"));
            match render_case(&id.join("chart"), &values_file, &release) {
                Err(err) if err.trim_end() == want.trim_end() => passing.push(case_id),
                Err(err) => failing.push(format!(
                    "{case_id}: error differs: {}",
                    err.lines().next().unwrap_or("")
                )),
                Ok(_) => failing.push(format!("{case_id}: rendered, Helm fails")),
            }
        }
    }
    println!("{} corpus render cases pass", passing.len());
    for line in &failing {
        println!("FAIL {line}");
    }
    for case in &passing {
        println!("PASS {case}");
    }
    let regressed: Vec<&String> = locked.iter().filter(|c| !passing.contains(c)).collect();
    assert!(
        regressed.is_empty(),
        "cases listed in passing.txt fail: {regressed:?}"
    );
}
