//! The kustomize build against the conformance corpus (`../shared/corpus/kustomize`) and
//! properties.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use fleet_kustomize::files::Files;
use fleet_kustomize::{self as kustomize, BuildOptions};
use proptest::prelude::*;
use serde_json::Value;

fn corpus() -> Option<PathBuf> {
    fleet_test_tools::shared::path("corpus/kustomize")
}

fn passing_list() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fleet-kustomize/fixtures/passing.txt")
}

/// The outcome of one corpus case.
enum Outcome {
    /// Equal as parsed documents; `true` when the printed text is byte-identical too.
    Pass(bool),
    Fail(String),
}

fn docs(text: &str) -> anyhow::Result<Vec<Value>> {
    Ok(fleet_core::yaml::documents(text)?
        .into_iter()
        .filter(|d| !d.is_null())
        .collect())
}

fn run_case(dir: &Path) -> anyhow::Result<Outcome> {
    let case: Value =
        fleet_core::yaml::from_str_value(&std::fs::read_to_string(dir.join("case.yaml"))?)?;
    let run = case["run"].as_str().unwrap_or(".");
    let flags = case["kubectl_flags"].to_string();
    let opts = BuildOptions {
        load_restrictions_none: flags.contains("LoadRestrictionsNone"),
    };
    let files = Files::load_dir(dir)?;
    let result = kustomize::build_with(&files, run, &opts);
    let expected = dir.join("expected.yaml");
    if expected.is_file() {
        let want = docs(&std::fs::read_to_string(&expected)?)?;
        return Ok(match result {
            Ok(got) => {
                // The printer must produce YAML that reads back to the same objects.
                let printed = kustomize::to_yaml(&got);
                let reread = docs(&printed)?;
                if reread != got {
                    Outcome::Fail("printed YAML does not read back the same".into())
                } else if got == want {
                    Outcome::Pass(printed == std::fs::read_to_string(&expected)?)
                } else {
                    Outcome::Fail(format!(
                        "output differs\n--- got\n{printed}--- want\n{}",
                        kustomize::to_yaml(&want)
                    ))
                }
            }
            Err(e) => Outcome::Fail(format!("unexpected error: {e}")),
        });
    }
    Ok(match result {
        Err(_) => Outcome::Pass(false),
        Ok(got) => Outcome::Fail(format!(
            "expected an error ({}), got output\n{}",
            std::fs::read_to_string(dir.join("expected-error.txt"))
                .unwrap_or_default()
                .trim(),
            kustomize::to_yaml(&got)
        )),
    })
}

#[test]
fn corpus_cases() -> anyhow::Result<()> {
    let Some(root) = corpus() else {
        return Ok(());
    };
    let index: Value = serde_json::from_str(&std::fs::read_to_string(root.join("index.json"))?)?;
    let cases = index["cases"].as_array().cloned().unwrap_or_default();
    assert!(!cases.is_empty(), "corpus index has no cases");
    let mut passing = BTreeSet::new();
    let mut failing = Vec::new();
    let mut identical = 0;
    let verbose = std::env::var("KUSTOMIZE_CORPUS_VERBOSE").is_ok();
    for case in &cases {
        let name = case["case"].as_str().unwrap_or("").to_string();
        match run_case(&root.join(&name))? {
            Outcome::Pass(same_text) => {
                identical += usize::from(same_text);
                passing.insert(name);
            }
            Outcome::Fail(why) => {
                if verbose {
                    eprintln!("FAIL {name}: {why}\n");
                }
                failing.push(name);
            }
        }
    }
    eprintln!(
        "kustomize corpus: {} passed, {} failed ({identical} outputs byte-identical)",
        passing.len(),
        failing.len()
    );
    for f in &failing {
        eprintln!("  differs: {f}");
    }
    if std::env::var("KUSTOMIZE_CORPUS_UPDATE").is_ok() {
        let text: String = passing.iter().map(|n| format!("{n}\n")).collect();
        std::fs::write(passing_list(), text)?;
    }
    let required: BTreeSet<String> = std::fs::read_to_string(passing_list())?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let regressions: Vec<&String> = required.difference(&passing).collect();
    assert!(
        regressions.is_empty(),
        "cases that used to pass now fail: {regressions:?}"
    );
    Ok(())
}

fn overlay_files(prefix: &str, replicas: u8, label: &str) -> Files {
    let mut files = Files::new();
    let _ = files.insert(
        "base/kustomization.yaml",
        "resources: [deploy.yaml]\nconfigMapGenerator:\n- name: cfg\n  literals: [a=b]\n",
    );
    let _ = files.insert(
        "base/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: nginx\n        envFrom:\n        - configMapRef:\n            name: cfg\n",
    );
    let _ = files.insert(
        "overlay/kustomization.yaml",
        format!(
            "resources: [../base]\nnamePrefix: {prefix}\ncommonLabels:\n  team: {label:?}\nreplicas:\n- name: web\n  count: {replicas}\n"
        ),
    );
    files
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn rendering_is_deterministic(prefix in "[a-z]{0,5}", replicas in 0u8..10, label in "[a-zA-Z0-9 :#'-]{0,12}") {
        let files = overlay_files(&prefix, replicas, &label);
        let first = kustomize::build(&files, "overlay");
        let second = kustomize::build(&files, "overlay");
        prop_assert_eq!(&first, &second);
        if let Ok(objects) = first {
            prop_assert_eq!(kustomize::to_yaml(&objects), kustomize::to_yaml(&second.unwrap_or_default()));
            let cm = objects.iter().find(|o| o["kind"] == "ConfigMap").cloned().unwrap_or_default();
            let deploy = objects.iter().find(|o| o["kind"] == "Deployment").cloned().unwrap_or_default();
            // The generated name (with hash) is referenced by the Deployment.
            prop_assert_eq!(
                &deploy["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"],
                &cm["metadata"]["name"]
            );
        }
    }
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (0i64..5).prop_map(Value::from),
        prop::sample::select(vec![
            "web",
            "a=b",
            "cm.yaml",
            "../x",
            "Deployment",
            "$patch",
            "delete",
            ".*",
            "[",
            "",
            "spec.replicas",
            "name",
            "nginx",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "name",
                    "kind",
                    "path",
                    "patch",
                    "target",
                    "literals",
                    "behavior",
                    "count",
                    "newTag",
                    "pairs",
                    "includeSelectors",
                    "source",
                    "targets",
                    "fieldPaths",
                    "select",
                    "op",
                    "value",
                    "spec",
                    "metadata",
                    "$patch",
                ])
                .prop_map(str::to_string),
                inner,
                0..4,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Arbitrary kustomization fields never make the build panic: it returns objects or a
    /// typed error.
    #[test]
    fn arbitrary_kustomizations_do_not_panic(
        fields in prop::collection::btree_map(
            prop::sample::select(kustomize::known_fields().into_iter().collect::<Vec<_>>()),
            arb_value(),
            0..5,
        ),
    ) {
        let mut files = overlay_files("p-", 1, "x");
        let body = Value::Object(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        let text = kustomize::to_yaml(&[body]);
        let _ = files.insert("overlay/kustomization.yaml", format!("resources: [../base]\n{text}"));
        let _ = files.insert("overlay/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n");
        if let Ok(objects) = kustomize::build(&files, "overlay") {
            let printed = kustomize::to_yaml(&objects);
            prop_assert_eq!(docs(&printed).unwrap_or_default(), objects);
        }
    }
}
