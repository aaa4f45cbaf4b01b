//! `fleet-agent template` as a process: the engine map of corpus charts byte for byte with
//! Helm's, the `helm template` stream, and the error path.

use std::path::PathBuf;
use std::process::{Command, Output};

fn corpus(chart: &str) -> Option<PathBuf> {
    fleet_test_tools::shared::path(&format!("corpus/helm/{chart}"))
}

fn template(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleet-agent"))
        .arg("template")
        .args(args)
        .output()
        .expect("run fleet-agent")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf8")
}

#[test]
fn engine_json_matches_helm_byte_for_byte() {
    let Some(dir) = corpus("fleet-examples-guestbook") else {
        return;
    };
    let chart = dir.join("chart");
    let chart = chart.to_str().unwrap();
    let mut compared = 0;
    for case in [
        "defaults",
        "fleet-yaml-values",
        "no-replication-loadbalancer",
    ] {
        let values = dir.join(format!("cases/{case}.yaml"));
        let out = template(&[
            "demo",
            chart,
            "-f",
            values.to_str().unwrap(),
            "-n",
            "fleet-demo",
            "--output",
            "engine-json",
        ]);
        assert!(out.status.success(), "{case}: {}", text(&out.stderr));
        let want = std::fs::read_to_string(dir.join(format!("cases/{case}.expected.json")))
            .expect("golden");
        assert_eq!(text(&out.stdout), want, "{case}");
        compared += 1;
    }
    assert_eq!(compared, 3);
}

#[test]
fn set_flags_stack_over_values_files_as_helm_stacks_them() {
    let Some(dir) = corpus("fleet-examples-guestbook") else {
        return;
    };
    let chart = dir.join("chart");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("v.yaml");
    std::fs::write(&file, "replicas: 5\n").unwrap();
    // --set beats --set-json beats -f, whatever their order on the command line.
    let out = template(&[
        chart.to_str().unwrap(),
        "--set",
        "replicas=7",
        "--set-json",
        "replicas=6",
        "-f",
        file.to_str().unwrap(),
        "--output",
        "engine-json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let map: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let frontend = map["guestbook/templates/frontend-deployment.yaml"]
        .as_str()
        .unwrap();
    assert!(frontend.contains("replicas: 7"), "{frontend}");
}

#[test]
fn stream_is_helm_template_output() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("demo");
    std::fs::create_dir_all(root.join("templates")).unwrap();
    std::fs::create_dir_all(root.join("crds")).unwrap();
    std::fs::write(
        root.join("Chart.yaml"),
        "apiVersion: v2\nname: demo\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(root.join("values.yaml"), "port: 80\n").unwrap();
    std::fs::write(
        root.join("crds/widgets.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n",
    )
    .unwrap();
    std::fs::write(
        root.join("templates/a-deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("templates/b-svc.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports:\n  - port: {{ .Values.port }}\n---\n# rev {{ .Release.Revision }} upgrade={{ .Release.IsUpgrade }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
    )
    .unwrap();
    std::fs::write(
        root.join("templates/c-hook.yaml"),
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: hook\n  annotations:\n    helm.sh/hook: pre-install\n",
    )
    .unwrap();
    std::fs::write(root.join("templates/NOTES.txt"), "Thanks!\n").unwrap();
    let chart = root.to_str().unwrap();

    let out = template(&[chart]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        concat!(
            "---\n# Source: demo/templates/b-svc.yaml\n",
            "# rev 1 upgrade=false\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
            "---\n# Source: demo/templates/b-svc.yaml\n",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports:\n  - port: 80\n",
            "---\n# Source: demo/templates/a-deploy.yaml\n",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: release-name\n  namespace: default\n",
            "---\n# Source: demo/templates/c-hook.yaml\n",
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: hook\n  annotations:\n    helm.sh/hook: pre-install\n",
        )
    );

    let out = template(&[
        "rel",
        chart,
        "-n",
        "apps",
        "--include-crds",
        "--is-upgrade",
        "--revision",
        "4",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stream = text(&out.stdout);
    assert!(
        stream.starts_with(
            "---\n# Source: demo/crds/widgets.yaml\napiVersion: apiextensions.k8s.io/v1\n"
        ),
        "{stream}"
    );
    assert!(stream.contains("# rev 4 upgrade=true\n"), "{stream}");
    assert!(
        stream.contains("  name: rel\n  namespace: apps\n"),
        "{stream}"
    );
}

#[test]
fn errors_print_nothing_on_stdout_and_exit_1() {
    let Some(dir) = corpus("fleet-examples-guestbook") else {
        return;
    };
    let chart = dir.join("chart");
    let chart = chart.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let bad_values = tmp.path().join("bad.yaml");
    std::fs::write(&bad_values, "a: [unclosed\n").unwrap();
    let broken = tmp.path().join("broken");
    std::fs::create_dir_all(broken.join("templates")).unwrap();
    std::fs::write(
        broken.join("Chart.yaml"),
        "apiVersion: v2\nname: broken\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(
        broken.join("templates/x.yaml"),
        "{{ .Values.a | nosuchfunc }}\n",
    )
    .unwrap();
    std::fs::write(
        broken.join("templates/y.yaml"),
        "{{ fail \"stop here\" }}\n",
    )
    .unwrap();
    let broken = broken.to_str().unwrap();
    let long_name = "x".repeat(54);
    for (args, needle) in [
        (vec![chart, "-f", bad_values.to_str().unwrap()], "bad.yaml"),
        (vec![chart, "--set", "a[x]=1"], "--set"),
        (vec![chart, "--set-json", "a={"], "--set-json"),
        (vec![broken], "nosuchfunc"),
        (vec![broken, "--output", "engine-json"], "nosuchfunc"),
        (vec!["/nonexistent/chart"], "/nonexistent/chart"),
        (vec!["Bad_Name", chart], "invalid release name"),
        (
            vec![long_name.as_str(), chart],
            "the length must not be longer than 53",
        ),
    ] {
        let out = template(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
        let stderr = text(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn schema_violations_are_refused_with_helm_message() {
    let Some(dir) = corpus("alertmanager") else {
        return;
    };
    let chart = dir.join("chart");
    let case = dir.join("cases/schema-violation.yaml");
    let args = [
        "demo",
        chart.to_str().unwrap(),
        "-f",
        case.to_str().unwrap(),
        "-n",
        "fleet-demo",
    ];
    let out = template(&args);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let want = concat!(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n",
        "alertmanager:\n",
        "- at '/replicaCount': got string, want integer\n",
    );
    assert!(text(&out.stderr).contains(want), "{}", text(&out.stderr));
}

#[test]
fn skip_schema_validation_renders_refused_values() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("typed");
    std::fs::create_dir_all(root.join("templates")).unwrap();
    std::fs::write(
        root.join("Chart.yaml"),
        "apiVersion: v2\nname: typed\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(root.join("values.yaml"), "port: 80\n").unwrap();
    std::fs::write(
        root.join("values.schema.json"),
        r#"{"type":"object","properties":{"port":{"type":"integer"}}}"#,
    )
    .unwrap();
    std::fs::write(
        root.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  port: {{ .Values.port | quote }}\n",
    )
    .unwrap();
    let chart = root.to_str().unwrap();
    let out = template(&[chart, "--set-string", "port=http"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("typed:\n- at '/port': got string, want integer\n"),
        "{}",
        text(&out.stderr)
    );
    let out = template(&[
        chart,
        "--set-string",
        "port=http",
        "--skip-schema-validation",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("  port: \"http\"\n"),
        "{}",
        text(&out.stdout)
    );
}

/// The documents of a `# Source:`-headed stream: (template path, parsed object), sorted.
fn sourced_documents(stream: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut source = String::new();
    let mut current = String::new();
    let mut flush = |source: &str, current: &mut String| {
        let text = std::mem::take(current);
        if text.trim().is_empty() {
            return;
        }
        let value = fleet_core::yaml::from_str_value(&text).expect("a YAML document");
        if !value.is_null() {
            out.push((source.to_string(), value.to_string()));
        }
    };
    for line in stream.lines() {
        if line.starts_with("---") {
            flush(&source, &mut current);
        } else if let Some(path) = line.strip_prefix("# Source: ") {
            source = path.to_string();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    flush(&source, &mut current);
    out.sort();
    out
}

#[test]
fn stream_holds_helms_documents_for_corpus_cases() {
    let mut compared = 0;
    for (chart, case) in [
        ("fleet-examples-guestbook", "defaults"),
        ("fleet-examples-guestbook", "fleet-yaml-values"),
        ("fleet-examples-guestbook", "no-replication-loadbalancer"),
        ("fleet-crd", "defaults"),
        ("grafana-agent-operator", "defaults"),
        ("grafana-agent-operator", "no-rbac-custom-image"),
    ] {
        let Some(dir) = corpus(chart) else { return };
        let golden = std::fs::read_to_string(dir.join(format!("cases/{case}.expected.yaml")))
            .expect("golden");
        // "# release=NAME namespace=NS revision=1 kubeVersion=V" in the golden's header.
        let settings: std::collections::BTreeMap<&str, &str> = golden
            .lines()
            .find(|l| l.starts_with("# release="))
            .expect("settings line")
            .trim_start_matches("# ")
            .split(' ')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let chart_dir = dir.join("chart");
        let values = dir.join(format!("cases/{case}.yaml"));
        let out = template(&[
            settings["release"],
            chart_dir.to_str().unwrap(),
            "-f",
            values.to_str().unwrap(),
            "-n",
            settings["namespace"],
            "--kube-version",
            settings["kubeVersion"],
        ]);
        assert!(
            out.status.success(),
            "{chart}/{case}: {}",
            text(&out.stderr)
        );
        let ours = sourced_documents(&text(&out.stdout));
        let helms = sourced_documents(&golden);
        assert!(!helms.is_empty());
        assert_eq!(ours, helms, "{chart}/{case}");
        compared += 1;
    }
    assert_eq!(compared, 6);
}

#[test]
fn api_versions_reach_capabilities() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Chart.yaml"),
        "apiVersion: v2\nname: caps\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::write(
        dir.path().join("templates/cm.yaml"),
        "{{ if .Capabilities.APIVersions.Has \"example.com/v1\" }}with{{ else }}without{{ end }}\n",
    )
    .unwrap();
    let chart = dir.path().to_str().unwrap();
    let plain = template(&[chart, "--output", "engine-json"]);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain.stderr));
    assert!(
        text(&plain.stdout).contains("without"),
        "{}",
        text(&plain.stdout)
    );
    let with = template(&[chart, "-a", "example.com/v1", "--output", "engine-json"]);
    assert_eq!(with.status.code(), Some(0), "{}", text(&with.stderr));
    let out = text(&with.stdout);
    assert!(out.contains("with") && !out.contains("without"), "{out}");
}
