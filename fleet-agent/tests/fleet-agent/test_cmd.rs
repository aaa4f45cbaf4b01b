//! `fleet-agent test` against Fleet's own `fleet test` goldens (fleet-examples) and fixtures.
//!
//! Differences from Fleet's `fleet test`, each covered below:
//! * Helm chart bundles render with the native renderer (`fleet_agent::helm`); charts of remote
//!   repositories are not fetched by `fleet-agent test` (see `helm_remote`).
//! * A cluster that gets nothing prints a note on stderr and exits 0; Fleet's `fleet test`
//!   fails with "no match found".
//! * With GitRepo targets (`--targets-file`), Fleet's `fleet test` renders with the deploy
//!   target's options only; fleet-agent also applies the matching targetCustomizations, as
//!   Fleet's controller does for the real BundleDeployment. Both print the deploy target's
//!   name.
//!
//! Every raw-YAML, kustomize and local-chart Helm golden is reproduced byte for byte.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fleet-agent"))
}

fn examples() -> Option<PathBuf> {
    let path = fleet_test_tools::shared::path("corpus/fleet-examples")?;
    Some(path)
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fleet-agent/fixtures/test")
        .join(name)
}

fn run(args: &[&str], dir: &Path) -> Output {
    bin()
        .arg("test")
        .args(args)
        .arg(dir)
        .output()
        .expect("run fleet-agent")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf8 stderr")
}

fn objects(o: &Output) -> Vec<serde_json::Value> {
    fleet_core::yaml::documents(&stdout(o))
        .expect("stdout is YAML")
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

#[test]
fn fleet_examples_goldens_byte_for_byte() {
    let Some(root) = examples() else { return };
    let mut compared = 0;
    for case in ["single-cluster/manifests", "single-cluster/kustomize"] {
        for env in ["dev", "test", "prod"] {
            let out = run(&[], &root.join(case));
            assert!(out.status.success(), "{case} {env}: {}", stderr(&out));
            let want = std::fs::read_to_string(
                root.join(format!("tests/expected/{case}/{env}-output.yaml")),
            )
            .expect("golden");
            assert_eq!(stdout(&out), want, "{case} {env}");
            assert_eq!(stderr(&out), "# Matched: default\n");
            compared += 1;
        }
    }
    for case in ["multi-cluster/manifests", "multi-cluster/kustomize"] {
        for env in ["dev", "test", "prod"] {
            let label = format!("env={env}");
            let out = run(&["-l", &label], &root.join(case));
            assert!(out.status.success(), "{case} {env}: {}", stderr(&out));
            let want = std::fs::read_to_string(
                root.join(format!("tests/expected/{case}/{env}-output.yaml")),
            )
            .expect("golden");
            assert_eq!(stdout(&out), want, "{case} {env}");
            assert_eq!(stderr(&out), format!("# Matched: {env}\n"));
            compared += 1;
        }
    }
    assert_eq!(compared, 12);
}

#[test]
fn helm_multi_chart_root_renders_nothing_like_fleet() {
    let Some(root) = examples() else { return };
    // Every chart sits in a directory with its own fleet.yaml: the root bundle renders
    // nothing, and Fleet's goldens are empty files.
    let case = "single-cluster/helm-multi-chart";
    let out = run(&[], &root.join(case));
    assert!(out.status.success(), "{}", stderr(&out));
    for env in ["dev", "test", "prod"] {
        let want =
            std::fs::read_to_string(root.join(format!("tests/expected/{case}/{env}-output.yaml")))
                .expect("golden");
        assert_eq!(stdout(&out), want);
    }
}

#[test]
fn helm_chart_goldens_byte_for_byte() {
    let Some(root) = examples() else { return };
    let mut compared = 0;
    for (case, label) in [
        ("single-cluster/helm", None),
        ("multi-cluster/helm", Some("env")),
    ] {
        for env in ["dev", "test", "prod"] {
            let label = label.map(|k| format!("{k}={env}"));
            let args: Vec<&str> = match &label {
                Some(l) => vec!["-l", l],
                None => vec![],
            };
            let out = run(&args, &root.join(case));
            assert!(out.status.success(), "{case} {env}: {}", stderr(&out));
            let want = std::fs::read_to_string(
                root.join(format!("tests/expected/{case}/{env}-output.yaml")),
            )
            .expect("golden");
            assert_eq!(stdout(&out), want, "{case} {env}");
            compared += 1;
        }
    }
    assert_eq!(compared, 6);
}

#[test]
fn chart_errors_exit_non_zero_with_nothing_on_stdout() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("Chart.yaml"),
        "apiVersion: v2\nname: broken\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::write(
        dir.path().join("templates/cm.yaml"),
        "{{ required \"image.tag is required\" .Values.image.tag }}\n",
    )
    .unwrap();
    let out = run(&[], dir.path());
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("image.tag is required"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn raw_bundle_templates_render_as_a_chart_named_after_the_bundle() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("fleet.yaml"),
        "defaultNamespace: apps\nhelm:\n  values:\n    greeting: hi\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("plain.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  raw: \"{{ not templated }}\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::write(
        dir.path().join("templates/cm.yaml"),
        concat!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\n",
            "data:\n  chart: {{ .Chart.Name }}\n  greeting: {{ .Values.greeting }}\n",
            "  namespace: {{ .Release.Namespace }}\n",
        ),
    )
    .unwrap();
    let out = run(&[], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let objects = objects(&out);
    let templated = objects
        .iter()
        .find(|o| o["metadata"]["name"] == "test-cm")
        .expect("the templated ConfigMap");
    assert_eq!(templated["data"]["chart"], "test");
    assert_eq!(templated["data"]["greeting"], "hi");
    assert_eq!(templated["data"]["namespace"], "apps");
    let plain = objects
        .iter()
        .find(|o| o["metadata"]["name"] == "plain")
        .expect("the raw ConfigMap");
    assert_eq!(plain["data"]["raw"], "{{ not templated }}");
}

#[test]
fn quiet_prints_only_the_match() {
    let Some(root) = examples() else { return };
    let out = run(
        &["-q", "-l", "env=prod"],
        &root.join("multi-cluster/manifests"),
    );
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert_eq!(stderr(&out), "# Matched: prod\n");
}

#[test]
fn nothing_matched_is_a_note_and_success() {
    let Some(root) = examples() else { return };
    // Only customizations, no default target: group `default` matches nothing.
    let out = run(&[], &root.join("multi-cluster/manifests"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("no match found"), "{}", stderr(&out));
}

#[test]
fn do_not_deploy_is_a_note_and_success() {
    let out = run(&["-l", "env=staging"], &fixture("customized"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("doNotDeploy"), "{}", stderr(&out));
}

#[test]
fn customizations_add_overlays_and_namespaces() {
    let dir = fixture("customized");
    let prod = objects(&run(&["-l", "env=prod"], &dir));
    assert_eq!(prod.len(), 1);
    assert_eq!(prod[0]["data"]["size"], "big");
    assert_eq!(prod[0]["metadata"]["namespace"], "prod-apps");
    // A customization matched through the cluster group's labels.
    let eu = run(&["-g", "eu-clusters", "-L", "region=eu"], &dir);
    assert_eq!(stderr(&eu), "# Matched: by-group\n");
    let eu = objects(&eu);
    assert_eq!(eu[0]["data"]["region"], "eu");
    assert_eq!(eu[0]["data"]["size"], "small");
    assert_eq!(eu[0]["metadata"]["namespace"], "apps");
    // -t picks a target by name.
    let t = run(&["-t", "prod"], &dir);
    assert_eq!(stderr(&t), "# Matched: prod\n");
    assert_eq!(objects(&t)[0]["data"]["size"], "big");
    let missing = run(&["-t", "nope"], &dir);
    assert!(missing.status.success() && missing.stdout.is_empty());
    assert!(stderr(&missing).contains("no target named"));
}

#[test]
fn targets_file_adds_gitrepo_targets_and_restrictions() {
    let dir = fixture("targets");
    let file = dir.join("targets.yaml");
    let file = file.to_str().expect("utf8 path");
    // prod is a GitRepo target: deployed with the bundle's options.
    let prod = run(&["--targets-file", file, "-l", "env=prod"], &dir);
    assert_eq!(stderr(&prod), "# Matched: prod\n");
    assert_eq!(objects(&prod)[0]["metadata"]["namespace"], "default");
    // eu alone is only a customization; the restriction (prod) keeps it out.
    let eu = run(&["--targets-file", file, "-l", "region=eu"], &dir);
    assert!(
        eu.status.success() && eu.stdout.is_empty(),
        "{}",
        stderr(&eu)
    );
    // Both: deployed through prod (the name printed, as Fleet prints the deploy target),
    // customized by eu (as the controller does; Fleet's `fleet test` leaves it out).
    let both = run(
        &["--targets-file", file, "-l", "region=eu", "-l", "env=prod"],
        &dir,
    );
    assert_eq!(stderr(&both), "# Matched: prod\n");
    assert_eq!(objects(&both)[0]["metadata"]["namespace"], "eu-apps");
    // Without the file the customization alone is a target.
    let plain = run(&["-l", "region=eu"], &dir);
    assert_eq!(objects(&plain)[0]["metadata"]["namespace"], "eu-apps");
}

#[test]
fn cluster_name_and_bundle_name() {
    let dir = fixture("named");
    let out = run(&["-N", "c1"], &dir);
    assert_eq!(stderr(&out), "# Matched: only-c1\n");
    let objs = objects(&out);
    assert_eq!(objs[0]["metadata"]["namespace"], "c1-apps");
    assert_eq!(
        objs[0]["metadata"]["annotations"]["objectset.rio.cattle.io/id"],
        "-my-bundle"
    );
    let other = run(&["-N", "c2"], &dir);
    assert!(other.status.success() && other.stdout.is_empty());
}

#[test]
fn substitute_extension() {
    let dir = fixture("substitute");
    // With a label given, the cluster is in no group unless -g says so.
    let none = run(&["-N", "east", "-l", "replicas=3"], &dir);
    assert!(none.status.success() && none.stdout.is_empty());
    let out = run(&["-N", "east", "-l", "replicas=3", "-g", "default"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let objs = objects(&out);
    assert_eq!(objs[0]["metadata"]["name"], "web-east");
    assert_eq!(objs[0]["metadata"]["labels"]["tier"], "free");
    assert_eq!(objs[0]["spec"]["replicas"], 3);
    assert_eq!(
        objs[0]["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    assert_eq!(objs[0]["metadata"]["namespace"], "web");
}

#[test]
fn errors_exit_non_zero_with_nothing_on_stdout() {
    let out = run(&[], &fixture("clusterscoped"));
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("invalid cluster scoped object [name=reader kind=ClusterRole"),
        "{}",
        stderr(&out)
    );
    let out = run(&[], &fixture("does-not-exist"));
    assert!(!out.status.success() && out.stdout.is_empty());
    assert!(stderr(&out).contains("not a directory"));
    let bad = bin()
        .args(["test", "-l", "novalue"])
        .arg(fixture("named"))
        .output()
        .expect("run");
    assert!(!bad.status.success() && bad.stdout.is_empty());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("KEY=VALUE"));
}
