//! The fleet.yaml model: every fleet.yaml of the corpus, Fleet's validation vectors, and the
//! decoding quirks of `sigs.k8s.io/yaml` + `encoding/json`.

use std::path::{Path, PathBuf};

use fleet_core::fleetyaml::{self, Error};
use serde_json::{Value, json};

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

#[test]
fn every_corpus_fleet_yaml_parses_except_those_fleet_rejects() {
    let Some(shared) = shared_dir() else { return };
    let mut files = Vec::new();
    walk(&shared.join("corpus"), &mut files);
    files.retain(|path| {
        matches!(
            path.file_name().and_then(|n| n.to_str()),
            Some("fleet.yaml" | "fleet.yml")
        )
    });
    let mut parsed = 0;
    let mut empty = 0;
    let mut with_ignored_keys = Vec::new();
    let mut rejected = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable");
        let name = path
            .strip_prefix(shared.join("corpus"))
            .unwrap_or(path)
            .display()
            .to_string();
        match fleetyaml::parse(&name, &text) {
            Ok(fleet) => {
                parsed += 1;
                if text.trim().is_empty() {
                    empty += 1;
                }
                if !fleet.ignored_keys.is_empty() {
                    with_ignored_keys.push(format!("{name}: {:?}", fleet.ignored_keys));
                }
                // Everything the model holds can be written and read back unchanged.
                let back: fleetyaml::FleetYaml =
                    serde_json::from_value(serde_json::to_value(&fleet).unwrap()).unwrap();
                assert_eq!(back.spec, fleet.spec, "{name}");
            }
            Err(err) => rejected.push(err.to_string()),
        }
    }
    println!(
        "fleet.yaml files: {} parsed ({} empty), {} rejected: {rejected:#?}",
        parsed,
        empty,
        rejected.len()
    );
    println!("files with keys Fleet ignores: {with_ignored_keys:#?}");
    assert_eq!(files.len(), 141, "fleet.yaml count in the corpus");
    assert_eq!(empty, 40);
    // fleet-cli-assets/EXPECTATIONS.yaml: dependson_invalid and
    // dependson_missing_name_selector make `fleet apply` fail; every other file is accepted.
    assert_eq!(
        rejected,
        vec![
            "fleet-cli-assets/dependson_invalid/fleet.yaml: dependsOn[0].acceptedStates[1]: invalid state \"InvalidState\", valid values are: [Ready NotReady Pending OutOfSync Modified WaitApplied ErrApplied]".to_string(),
            "fleet-cli-assets/dependson_missing_name_selector/fleet.yaml: dependsOn[0]: must specify either 'name' or 'selector'".to_string(),
        ]
    );
    assert_eq!(parsed, 139);
}

#[test]
fn validate_fleet_yaml_vectors() {
    // ../shared/vectors/fleet/state.json, function validateFleetYAML
    // (internal/bundlereader/validate_fleetyaml_test.go).
    let Some(shared) = shared_dir() else { return };
    let text = std::fs::read_to_string(shared.join("vectors/fleet/state.json")).unwrap();
    let vectors: Value = serde_json::from_str(&text).unwrap();
    let mut count = 0;
    for case in vectors["cases"].as_array().unwrap() {
        if case["function"] != "validateFleetYAML" {
            continue;
        }
        count += 1;
        let name = case["name"].as_str().unwrap();
        // JSON is YAML.
        let input = serde_json::to_string(&case["input"]["fleetYaml"]).unwrap();
        let result = fleetyaml::parse("fleet.yaml", &input);
        match case["expected"]
            .get("errorContains")
            .and_then(Value::as_str)
        {
            Some(fragment) => {
                let err = result.expect_err(name).to_string();
                assert!(err.contains(fragment), "{name}: {err:?} lacks {fragment:?}");
            }
            None => {
                result.unwrap_or_else(|err| panic!("{name}: {err}"));
            }
        }
    }
    println!("validateFleetYAML vectors: {count} passed");
    assert_eq!(count, 10);
}

fn invalid(text: &str) -> (String, String) {
    match fleetyaml::parse("dir/fleet.yaml", text) {
        Err(Error::Invalid { file, key, reason }) => {
            assert_eq!(file, "dir/fleet.yaml");
            (key, reason)
        }
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

#[test]
fn type_errors_name_the_key_path() {
    assert_eq!(
        invalid("targetCustomizations:\n- name: a\n- name: b\n- clusterSelector: [x]\n"),
        (
            "targetCustomizations[2].clusterSelector".to_string(),
            "expected a mapping, found a list".to_string()
        )
    );
    assert_eq!(
        invalid("helm:\n  values: 3\n"),
        (
            "helm.values".to_string(),
            "expected a mapping, found an integer".to_string()
        )
    );
    assert_eq!(
        invalid("helm:\n  timeoutSeconds: soon\n").0,
        "helm.timeoutSeconds"
    );
    assert_eq!(
        invalid("targets:\n- clusterSelector:\n    matchLabels:\n      env: [prod]\n").0,
        "targets[0].clusterSelector.matchLabels.env"
    );
    assert_eq!(
        invalid("rolloutStrategy:\n  maxUnavailable: [1]\n").0,
        "rolloutStrategy.maxUnavailable"
    );
    assert_eq!(invalid("- a\n- b\n").0, "(top level)");
    assert_eq!(
        invalid("keepResources: maybe\n").1,
        "expected a boolean, found a string"
    );
}

#[test]
fn invalid_yaml_reports_the_line() {
    let err = fleetyaml::parse("x/fleet.yaml", "helm:\n  chart: a\n   bad: [\n").unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Yaml { .. }), "{message}");
    assert!(
        message.starts_with("x/fleet.yaml: invalid YAML: "),
        "{message}"
    );
    assert!(message.contains("line"), "{message}");
}

#[test]
fn keys_match_case_insensitively_like_go() {
    // Errata §12.13 / vectors/README.md: `disablePreprocess` sets `disablePreProcess`.
    let fleet = fleetyaml::parse(
        "fleet.yaml",
        "helm:\n  disablePreprocess: true\n  ReleaseName: r\nDefaultNamespace: d\n",
    )
    .unwrap();
    let helm = fleet.spec.options.helm.unwrap();
    assert!(helm.disable_pre_process);
    assert_eq!(helm.release_name, "r");
    assert_eq!(fleet.spec.options.default_namespace, "d");
    assert!(fleet.ignored_keys.is_empty());
}

#[test]
fn scalars_in_string_positions_become_strings() {
    let fleet = fleetyaml::parse(
        "fleet.yaml",
        "labels:\n  tier: 1\n  beta: true\nhelm:\n  version: 1.10\n  releaseName: 2004\n  values:\n    tag: 2004\nkeepResources: yes\n",
    )
    .unwrap();
    assert_eq!(fleet.labels["tier"], "1");
    assert_eq!(fleet.labels["beta"], "true");
    let helm = fleet.spec.options.helm.unwrap();
    // go-yaml reads 1.10 as the float 1.1; sigs.k8s.io/yaml prints it with FormatFloat(…, 32).
    assert_eq!(helm.version, "1.1");
    assert_eq!(helm.release_name, "2004");
    // Free-form values keep their types.
    assert_eq!(helm.values.unwrap()["tag"], json!(2004));
    assert!(fleet.spec.options.keep_resources);
}

#[test]
fn unknown_keys_are_ignored_and_listed() {
    let fleet = fleetyaml::parse(
        "fleet.yaml",
        "name: n\nfoo: 1\nhelm:\n  chart: c\n  bar: 2\ntargetCustomizations:\n- name: t\n  baz: {}\n",
    )
    .unwrap();
    assert_eq!(
        fleet.ignored_keys,
        ["foo", "helm.bar", "targetCustomizations[0].baz"]
    );
    assert!(fleet.spec.extra.is_empty());
    assert!(fleet.target_customizations[0].extra.is_empty());
    assert_eq!(fleet.name, "n");
}

#[test]
fn top_level_fields() {
    let fleet = fleetyaml::parse(
        "fleet.yaml",
        concat!(
            "name: my-bundle\nlabels: {a: b}\nannotations: {c: d}\n",
            "namespace: target\nnamespaceLabels: {x: y}\n",
            "kustomize: {dir: overlays/dev}\nyaml: {overlays: [o1]}\n",
            "diff:\n  comparePatches:\n  - {kind: Deployment, name: x, operations: [{op: remove, path: /spec/replicas}]}\n",
            "dependsOn: [{name: base, acceptedStates: [Ready, Modified]}]\n",
            "rolloutStrategy: {maxUnavailable: 10%, autoPartitionSize: 5}\n",
            "targetCustomizationMode: AllMatches\n",
            "overrideTargets: []\n",
            "imageScans: [{tagName: t, image: nginx, policy: {semver: {range: '>=1.0'}}}]\n",
            "helm:\n  valuesFiles: [a.yaml]\n  valuesFrom: [{configMapKeyRef: {name: cm}}]\n  templateValues: {k: '{{ .ClusterName }}'}\n"
        ),
    )
    .unwrap();
    assert_eq!(fleet.name, "my-bundle");
    assert_eq!(fleet.labels["a"], "b");
    assert_eq!(fleet.annotations["c"], "d");
    let options = &fleet.spec.options;
    assert_eq!(options.target_namespace, "target");
    assert_eq!(options.namespace_labels.as_ref().unwrap()["x"], "y");
    assert_eq!(options.kustomize.as_ref().unwrap().dir, "overlays/dev");
    assert_eq!(options.yaml.as_ref().unwrap().overlays, ["o1"]);
    assert_eq!(
        options.diff.as_ref().unwrap().compare_patches[0].operations[0].op,
        "remove"
    );
    assert_eq!(
        fleet.spec.depends_on[0].accepted_states,
        ["Ready", "Modified"]
    );
    let rollout = fleet.spec.rollout_strategy.as_ref().unwrap();
    assert_eq!(
        rollout.max_unavailable,
        Some(fleet_core::crd::IntOrString::String("10%".into()))
    );
    assert_eq!(
        rollout.auto_partition_size,
        Some(fleet_core::crd::IntOrString::Int(5))
    );
    assert_eq!(
        fleet.spec.target_customization_mode,
        fleet_core::crd::TargetCustomizationMode::AllMatches
    );
    assert_eq!(fleet.override_targets, Some(vec![]));
    assert!(fleet.has_image_scans());
    assert_eq!(
        fleet.image_scans[0].policy.semver.as_ref().unwrap().range,
        ">=1.0"
    );
    let helm = options.helm.as_ref().unwrap();
    assert_eq!(helm.values_files, ["a.yaml"]);
    assert_eq!(
        helm.values_from[0]
            .config_map_key_ref
            .as_ref()
            .unwrap()
            .name,
        "cm"
    );
    assert_eq!(
        helm.template_values.as_ref().unwrap()["k"],
        "{{ .ClusterName }}"
    );
}

#[test]
fn empty_null_and_multi_document_files() {
    assert_eq!(
        fleetyaml::parse("f", "").unwrap(),
        fleetyaml::FleetYaml::default()
    );
    assert_eq!(
        fleetyaml::parse("f", "# only a comment\n").unwrap(),
        Default::default()
    );
    assert_eq!(fleetyaml::parse("f", "~\n").unwrap(), Default::default());
    let fleet = fleetyaml::parse("f", "name: first\n---\nname: second\n").unwrap();
    assert_eq!(fleet.name, "first");
    assert_eq!(
        fleetyaml::parse("f", "name: x\n").unwrap().override_targets,
        None
    );
}

#[test]
fn image_scans_need_the_feature() {
    let without = fleetyaml::parse("f", "name: x\n").unwrap();
    assert!(without.check_image_scans("f", false).is_ok());
    let with = fleetyaml::parse("f", "imageScans:\n- image: nginx\n  policy: {}\n").unwrap();
    let err = with.check_image_scans("f", false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "f: imageScans: image scans are an experimental feature and are not enabled"
    );
    let err = with.check_image_scans("f", true).unwrap_err();
    assert!(
        err.to_string().starts_with("f: imageScans[0].tagName: "),
        "{err}"
    );
    let Some(shared) = shared_dir() else { return };
    let text = std::fs::read_to_string(shared.join("corpus/fleet-test-data/imagescans/fleet.yaml"))
        .unwrap();
    let fleet = fleetyaml::parse("imagescans/fleet.yaml", &text).unwrap();
    assert!(fleet.has_image_scans());
    assert!(
        fleet
            .check_image_scans("imagescans/fleet.yaml", false)
            .is_err()
    );
}

#[test]
fn selectors_are_validated_on_demand() {
    let fleet = fleetyaml::parse(
        "f",
        "targetCustomizations:\n- clusterSelector: {matchLabels: {env: prod}}\n- clusterSelector:\n    matchExpressions: [{key: env, operator: Bogus}]\n",
    )
    .unwrap();
    let err = fleet.validate_selectors("f").unwrap_err().to_string();
    assert!(
        err.starts_with("f: targetCustomizations[1].clusterSelector: "),
        "{err}"
    );
    assert!(err.contains("Bogus"), "{err}");
    let fleet = fleetyaml::parse(
        "f",
        "targets:\n- clusterSelector: {matchLabels: {'bad key!': x}}\n",
    )
    .unwrap();
    assert!(fleet.validate_selectors("f").is_err());
    let fleet = fleetyaml::parse("f", "targets:\n- clusterGroup: default\n").unwrap();
    assert!(fleet.validate_selectors("f").is_ok());
}

#[test]
fn substitute_extension_is_read_and_checked() {
    let parsed = fleetyaml::parse(
        "dir/fleet.yaml",
        "substitute:\n  enabled: true\n  variables:\n    replicas: 2\n    tier: free\n",
    )
    .expect("valid");
    let substitute = parsed.substitute.expect("present");
    assert!(substitute.enabled && !substitute.strict);
    // Scalars in string positions become strings, as everywhere in fleet.yaml.
    assert_eq!(substitute.variables["replicas"], "2");
    assert!(parsed.ignored_keys.is_empty(), "{:?}", parsed.ignored_keys);
    assert_eq!(
        invalid("substitute:\n  enabled: sometimes\n").0,
        "substitute.enabled"
    );
    assert_eq!(
        invalid("substitute:\n  variables: [a]\n").0,
        "substitute.variables"
    );
    // Unknown keys inside it are ignored and listed, like Fleet's own keys.
    let parsed = fleetyaml::parse("dir/fleet.yaml", "substitute:\n  enable: true\n").unwrap();
    assert_eq!(parsed.ignored_keys, ["substitute.enable"]);
    assert_eq!(parsed.substitute, Some(Default::default()));
}
