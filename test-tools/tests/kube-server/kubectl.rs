//! `kubectl` against the test API server. Skips with a printed reason when `kubectl` is not
//! installed, unless `FLEET_REQUIRE_SHARED=1` makes that a failure.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use fleet_test_tools::kube_server::KubeServer;
use fleet_test_tools::shared;
use serde_json::Value;

struct Kubectl {
    server: KubeServer,
    dir: tempfile::TempDir,
}

fn kubectl_installed() -> bool {
    let found = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !shared::required(),
            "{} is set but kubectl is not installed",
            shared::REQUIRE_VAR
        );
        eprintln!("skipped: kubectl is not installed");
    }
    found
}

impl Kubectl {
    fn start() -> Result<Option<Self>> {
        if !kubectl_installed() {
            return Ok(None);
        }
        let server = KubeServer::start()?;
        let dir = tempfile::tempdir()?;
        server.write_kubeconfig(&dir.path().join("kubeconfig"))?;
        Ok(Some(Kubectl { server, dir }))
    }

    fn file(&self, name: &str, text: &str) -> Result<PathBuf> {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text)?;
        Ok(path)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .env("HOME", self.dir.path())
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args);
        cmd
    }

    fn output(&self, args: &[&str]) -> Result<Output> {
        self.command(args)
            .output()
            .with_context(|| format!("running kubectl {args:?}"))
    }

    /// Runs kubectl and returns stdout; fails on a non-zero exit.
    fn ok(&self, args: &[&str]) -> Result<String> {
        let out = self.output(args)?;
        ensure!(
            out.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8(out.stdout)?)
    }

    /// Runs kubectl expecting failure; returns stderr.
    fn fails(&self, args: &[&str]) -> Result<String> {
        let out = self.output(args)?;
        ensure!(
            !out.status.success(),
            "kubectl {args:?} succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        Ok(String::from_utf8(out.stderr)?)
    }

    fn json(&self, args: &[&str]) -> Result<Value> {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        Ok(serde_json::from_str(&self.ok(&all)?)?)
    }
}

const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  labels: {app: web}\ndata:\n  a: \"1\"\n";

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: app, image: "nginx:1"}
      - {name: side, image: busybox}
"#;

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

#[test]
fn apply_get_and_delete_a_configmap() -> Result<()> {
    let Some(k) = Kubectl::start()? else {
        return Ok(());
    };
    let file = k.file("cm.yaml", CONFIGMAP)?;
    let file = file.to_str().context("path")?;
    assert!(
        k.ok(&["apply", "-f", file])?
            .contains("configmap/web created")
    );
    assert!(
        k.ok(&["apply", "-f", file])?
            .contains("configmap/web unchanged")
    );
    k.file("cm.yaml", &CONFIGMAP.replace("\"1\"", "\"2\""))?;
    assert!(
        k.ok(&["apply", "-f", file])?
            .contains("configmap/web configured")
    );
    let cm = k.json(&["get", "configmap", "web"])?;
    assert_eq!(cm["data"]["a"], "2");
    // The store itself: client-side apply patches under kubectl's field manager.
    let stored = k.server.with_store(|s| {
        let rt = s.resolve("", "v1", "configmaps").cloned()?;
        s.get(&rt, "default", "web")
    })?;
    let managers: Vec<&str> = stored["metadata"]["managedFields"]
        .as_array()
        .context("managedFields")?
        .iter()
        .filter_map(|e| e["manager"].as_str())
        .collect();
    assert_eq!(managers, ["kubectl-client-side-apply"]);
    assert!(
        cm["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string()
    );
    // The table form kubectl prints by default.
    let table = k.ok(&["get", "cm", "-l", "app=web"])?;
    assert!(
        table.starts_with("NAME") && table.contains("web"),
        "{table}"
    );
    assert!(k.ok(&["get", "cm", "-l", "app=other"])?.is_empty());
    assert!(
        k.ok(&["delete", "configmap", "web"])?
            .contains("configmap \"web\" deleted")
    );
    let err = k.fails(&["get", "configmap", "web"])?;
    assert!(
        err.contains("(NotFound): configmaps \"web\" not found"),
        "{err}"
    );
    Ok(())
}

#[test]
fn patch_types_on_a_deployment() -> Result<()> {
    let Some(k) = Kubectl::start()? else {
        return Ok(());
    };
    let file = k.file("dep.yaml", DEPLOYMENT)?;
    k.ok(&["apply", "-f", file.to_str().context("path")?])?;
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "--type=strategic",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox:2"}]}}}}"#,
    ])?;
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":3}}"#,
    ])?;
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"add","path":"/metadata/labels","value":{"tier":"front"}}]"#,
    ])?;
    let dep = k.json(&["get", "deploy", "web"])?;
    let containers = dep["spec"]["template"]["spec"]["containers"]
        .as_array()
        .context("containers")?;
    // Strategic merge kept the other container; merge patch set replicas; JSON patch a label.
    assert_eq!(containers.len(), 2);
    assert_eq!(containers[0]["image"], "nginx:1");
    assert_eq!(containers[1]["image"], "busybox:2");
    assert_eq!(dep["spec"]["replicas"], 3);
    assert_eq!(dep["metadata"]["labels"]["tier"], "front");
    // Two spec changes, one metadata change.
    assert_eq!(dep["metadata"]["generation"], 3);
    // kubectl scale patches the scale subresource.
    assert!(
        k.ok(&["scale", "deployment", "web", "--replicas=5"])?
            .contains("deployment.apps/web scaled")
    );
    let dep = k.json(&["get", "deploy", "web"])?;
    assert_eq!(
        (
            dep["spec"]["replicas"].as_i64(),
            dep["metadata"]["generation"].as_i64()
        ),
        (Some(5), Some(4))
    );
    let err = k.fails(&[
        "patch",
        "deployment",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/spec/nothere"}]"#,
    ])?;
    assert!(err.contains("Invalid") || err.contains("invalid"), "{err}");
    Ok(())
}

#[test]
fn server_side_apply_conflicts_and_force() -> Result<()> {
    let Some(k) = Kubectl::start()? else {
        return Ok(());
    };
    let file = k.file("dep.yaml", DEPLOYMENT)?;
    let file = file.to_str().context("path")?;
    let managers = |dep: &Value| -> Vec<String> {
        let mut list: Vec<String> = dep["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["manager"].as_str().map(str::to_string))
            .collect();
        list.sort();
        list
    };
    // Client-side first: kubectl then moves that ownership to its server-side manager by
    // patching managedFields, which the server must take as given.
    k.ok(&["apply", "-f", file])?;
    assert!(
        k.ok(&["apply", "--server-side", "-f", file])?
            .contains("serverside-applied")
    );
    let dep = k.json(&["get", "deploy", "web", "--show-managed-fields"])?;
    assert_eq!(managers(&dep), ["kubectl", "kubectl-last-applied"]);
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":5}}"#,
    ])?;
    let err = k.fails(&["apply", "--server-side", "-f", file])?;
    assert!(
        err.contains("Apply failed with 1 conflict: conflict with \"kubectl-patch\""),
        "{err}"
    );
    assert!(err.contains(".spec.replicas"), "{err}");
    k.ok(&["apply", "--server-side", "--force-conflicts", "-f", file])?;
    let dep = k.json(&["get", "deploy", "web", "--show-managed-fields"])?;
    assert_eq!(dep["spec"]["replicas"], 1);
    assert_eq!(
        managers(&dep),
        ["kubectl", "kubectl-last-applied"],
        "the forced apply took replicas back"
    );
    Ok(())
}

#[test]
fn watch_sees_an_update() -> Result<()> {
    let Some(k) = Kubectl::start()? else {
        return Ok(());
    };
    let file = k.file("cm.yaml", CONFIGMAP)?;
    k.ok(&["create", "-f", file.to_str().context("path")?])?;
    let mut child = k
        .command(&[
            "get",
            "configmap",
            "web",
            "-w",
            "--output-watch-events",
            "-o",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().context("stdout")?;
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // kubectl prints one JSON event per line. The initial ADDED event shows the watch is
    // established before the update is made.
    let next = |what: &str| -> Result<Value> {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .with_context(|| format!("no {what} event"))?;
        serde_json::from_str(&line).with_context(|| format!("not an event: {line}"))
    };
    let result = (|| -> Result<()> {
        let first = next("initial")?;
        ensure!(
            first["type"] == "ADDED" && first["object"]["data"]["a"] == "1",
            "first event {first}"
        );
        k.ok(&[
            "patch",
            "configmap",
            "web",
            "--type=merge",
            "-p",
            r#"{"data":{"a":"9"}}"#,
        ])?;
        let update = next("update")?;
        ensure!(
            update["type"] == "MODIFIED" && update["object"]["data"]["a"] == "9",
            "second event {update}"
        );
        Ok(())
    })();
    let _ = child.kill();
    let _ = child.wait();
    result
}

#[test]
fn api_resources_and_a_custom_resource() -> Result<()> {
    let Some(k) = Kubectl::start()? else {
        return Ok(());
    };
    let before = k.ok(&["api-resources"])?;
    let deploy = before
        .lines()
        .find(|l| l.starts_with("deployments "))
        .context("no deployments")?;
    assert!(
        deploy.contains("deploy") && deploy.contains("apps/v1") && deploy.contains("true"),
        "{deploy}"
    );
    assert!(!before.contains("widgets"));
    let crd = k.file("crd.yaml", CRD)?;
    k.ok(&["create", "-f", crd.to_str().context("path")?])?;
    k.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
        "--timeout=10s",
    ])?;
    let after = k.ok(&["api-resources", "--api-group=example.com"])?;
    let widgets = after
        .lines()
        .find(|l| l.starts_with("widgets "))
        .with_context(|| format!("no widgets in {after}"))?;
    assert!(
        widgets.contains("wd") && widgets.contains("example.com/v1") && widgets.contains("Widget"),
        "{widgets}"
    );
    let cr = k.file(
        "w.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 1}\n",
    )?;
    k.ok(&["create", "-f", cr.to_str().context("path")?])?;
    let w = k.json(&["get", "wd", "w1"])?;
    assert_eq!(w["spec"]["size"], 1);
    assert_eq!(w["metadata"]["generation"], 1);
    // A custom resource in a namespace that does not exist is refused like the real server.
    let err = k.fails(&[
        "create",
        "-n",
        "missing",
        "-f",
        cr.to_str().context("path")?,
    ])?;
    assert!(err.contains("namespaces \"missing\" not found"), "{err}");
    k.ok(&["delete", "crd", "widgets.example.com"])?;
    let err = k.fails(&["get", "widgets.example.com"])?;
    if !err.contains("the server doesn't have a resource type") {
        bail!("widgets still served after the CRD went: {err}");
    }
    Ok(())
}

#[test]
fn diff_runs_a_server_side_dry_run() -> Result<()> {
    let Some(k) = Kubectl::start()? else {
        return Ok(());
    };
    let file = k.file("dep.yaml", DEPLOYMENT)?;
    k.ok(&["apply", "-f", file.to_str().context("path")?])?;
    let changed = k.file("dep2.yaml", &DEPLOYMENT.replace("nginx:1", "nginx:2"))?;
    let out = k.output(&["diff", "-f", changed.to_str().context("path")?])?;
    let text = String::from_utf8(out.stdout)?;
    // kubectl diff exits 1 when there are differences.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("-  - image: nginx:1") || text.contains("-      - image: nginx:1"),
        "{text}"
    );
    assert!(text.contains("+      - image: nginx:2"), "{text}");
    let dep = k.json(&["get", "deploy", "web"])?;
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1",
        "a dry run stores nothing"
    );
    Ok(())
}
