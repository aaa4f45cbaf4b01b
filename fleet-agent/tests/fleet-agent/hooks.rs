//! Helm hooks against the in-process API test server: install hooks around the release's
//! objects in weight order, delete policies, upgrade hooks on a new deployment ID and not
//! the install ones, a failed hook Job failing the deploy with Helm's message in the status,
//! and delete hooks on uninstall.
//!
//! The server runs no controllers, so this test plays the Job controller: every Job created
//! is marked `Complete` through the status subresource, or `Failed` when labelled
//! `outcome: fail`. The order of events is read from the resource versions the server
//! stamps (one counter across kinds).

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use fleet_agent::cluster::{self, Executor};
use fleet_core::crd::BundleDeployment;
use fleet_render::files::Files;
use fleet_render::render::ClusterFacts;
use fleet_test_tools::kube_server::KubeServer;
use futures_util::TryStreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, WatchEvent, WatchParams};
use serde_json::json;

use crate::cluster::{AGENT_NS, bundle_deployment, client_for, inline_files};

const CHART: &[(&str, &str)] = &[
    (
        "Chart.yaml",
        "apiVersion: v2\nname: hooked\nversion: 1.0.0\n",
    ),
    ("values.yaml", "message: one\nfailMigrate: false\n"),
    (
        "templates/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\ndata:\n  message: {{ .Values.message }}\n",
    ),
    (
        "templates/pre-install.yaml",
        r#"apiVersion: batch/v1
kind: Job
metadata:
  name: pre-b
  annotations:
    helm.sh/hook: pre-install
    helm.sh/hook-weight: "5"
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: pre-a
  annotations:
    helm.sh/hook: pre-install
    helm.sh/hook-weight: "-1"
    helm.sh/hook-delete-policy: hook-succeeded
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
"#,
    ),
    (
        "templates/post-install.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: installed-marker\n  annotations:\n    helm.sh/hook: post-install\ndata:\n  at: install\n",
    ),
    (
        "templates/migrate.yaml",
        r#"apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  labels:
    outcome: {{ if .Values.failMigrate }}fail{{ else }}complete{{ end }}
  annotations:
    helm.sh/hook: pre-upgrade
    helm.sh/hook-delete-policy: before-hook-creation,hook-failed
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
"#,
    ),
    (
        "templates/delete.yaml",
        r#"apiVersion: batch/v1
kind: Job
metadata:
  name: cleanup
  annotations:
    helm.sh/hook: pre-delete
    helm.sh/hook-delete-policy: hook-succeeded
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: farewell
  annotations:
    helm.sh/hook: post-delete
data:
  at: delete
"#,
    ),
    (
        "templates/tests/smoke.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: smoke\n  annotations:\n    helm.sh/hook: test\nspec:\n  containers: [{name: c, image: busybox}]\n",
    ),
];

/// What happened, in the server's order: `(resourceVersion, "created|deleted Kind/name")`.
type Log = Arc<Mutex<Vec<(u64, String)>>>;

/// Marks Jobs finished (the controller the server lacks) and logs creations and deletions of
/// Jobs and ConfigMaps in `namespace`.
fn play_controllers(client: &Client, namespace: &str, log: &Log) {
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let log_jobs = log.clone();
    tokio::spawn(async move {
        let stream = jobs.watch(&WatchParams::default(), "0").await?;
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.try_next().await? {
            match event {
                WatchEvent::Added(job) => {
                    let name = job.metadata.name.clone().unwrap_or_default();
                    record(&log_jobs, &job.metadata, "created Job");
                    let fail = job
                        .metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get("outcome"))
                        .is_some_and(|o| o == "fail");
                    let status = if fail {
                        json!({"status": {"failed": 1, "conditions": [{"type": "Failed", "status": "True"}]}})
                    } else {
                        json!({"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}})
                    };
                    jobs.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                        .await?;
                }
                WatchEvent::Deleted(job) => record(&log_jobs, &job.metadata, "deleted Job"),
                _ => {}
            }
        }
        anyhow::Ok(())
    });
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let log = log.clone();
    tokio::spawn(async move {
        let stream = config_maps.watch(&WatchParams::default(), "0").await?;
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.try_next().await? {
            match event {
                WatchEvent::Added(cm) => record(&log, &cm.metadata, "created ConfigMap"),
                WatchEvent::Deleted(cm) => record(&log, &cm.metadata, "deleted ConfigMap"),
                _ => {}
            }
        }
        anyhow::Ok(())
    });
}

fn record(log: &Log, meta: &kube::api::ObjectMeta, what: &str) {
    let version = meta
        .resource_version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let name = meta.name.clone().unwrap_or_default();
    log.lock()
        .unwrap()
        .push((version, format!("{what}/{name}")));
}

/// The log so far in the server's order, emptied.
async fn take(log: &Log) -> Vec<String> {
    // The watches deliver shortly after the requests they report.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut entries = std::mem::take(&mut *log.lock().unwrap());
    entries.sort();
    entries.into_iter().map(|(_, e)| e).collect()
}

fn files(values: &[(&str, &str)]) -> Result<Files> {
    let mut docs: Vec<(&str, &str)> = CHART.to_vec();
    docs.extend_from_slice(values);
    inline_files(&docs)
}

fn hooked(deployment_id: &str, values: serde_json::Value) -> BundleDeployment {
    bundle_deployment(
        "hooked",
        deployment_id,
        json!({"defaultNamespace": "app", "helm": {"values": values, "timeoutSeconds": 10}}),
    )
}

async fn deploy(executor: &mut Executor, bd: &BundleDeployment, files: &Files) -> cluster::Outcome {
    cluster::deploy_bundle(
        executor,
        &fleet_agent::helm::deploy_renderer(),
        bd,
        files,
        &ClusterFacts::named("local", "fleet-local"),
        "2026-01-01T00:00:00Z",
    )
    .await
}

fn condition(status: &fleet_core::crd::BundleDeploymentStatus, type_: &str) -> (String, String) {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.message.clone()))
        .unwrap_or_default()
}

#[tokio::test]
async fn helm_hooks_run_by_event_weight_and_delete_policy() -> Result<()> {
    let server = KubeServer::start()?;
    let client = client_for(&server.url())?;
    let log: Log = Arc::default();
    play_controllers(&client, "app", &log);
    let mut executor = Executor::connect(client.clone(), AGENT_NS).await?;
    let files = files(&[])?;
    let jobs: Api<Job> = Api::namespaced(client.clone(), "app");
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "app");

    // Install: pre-install hooks by weight, the hook-succeeded one deleted once all of them
    // succeeded, then the release's objects, then the post-install hook.
    let outcome = deploy(&mut executor, &hooked("d1", json!({})), &files).await;
    if let Some(error) = outcome.error {
        bail!("install failed: {error}");
    }
    assert_eq!(
        take(&log).await,
        [
            "created Job/pre-a",
            "created Job/pre-b",
            "deleted Job/pre-a",
            "created ConfigMap/app-config",
            "created ConfigMap/installed-marker",
        ]
    );
    assert!(
        jobs.get_opt("pre-b").await?.is_some(),
        "before-hook-creation keeps the last run"
    );
    assert!(
        Api::<Pod>::namespaced(client.clone(), "app")
            .get_opt("smoke")
            .await?
            .is_none(),
        "test hooks never run"
    );
    // Hooks are neither inventoried nor monitored: the marker carries the objectset label
    // like the release's ConfigMap, yet it is not reported as an extra object.
    let inventory = executor
        .read_inventory("hooked")
        .await?
        .context("inventory")?;
    let names: Vec<&str> = inventory.objects.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["app-config"]);
    assert_eq!(
        inventory.hooks.len(),
        2,
        "the delete hooks are kept for the uninstall"
    );
    let status = outcome.status;
    assert!(status.ready && status.non_modified, "{status:?}");
    assert_eq!(status.resources.len(), 1, "{:?}", status.resources);

    // The same deployment ID again runs no hook.
    let outcome = deploy(&mut executor, &hooked("d1", json!({})), &files).await;
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(take(&log).await, Vec::<String>::new());

    // Upgrade: the pre-upgrade hook, not the install hooks.
    let outcome = deploy(
        &mut executor,
        &hooked("d2", json!({"message": "two"})),
        &files,
    )
    .await;
    if let Some(error) = outcome.error {
        bail!("upgrade failed: {error}");
    }
    assert_eq!(take(&log).await, ["created Job/migrate"]);
    let cm = config_maps.get("app-config").await?;
    assert_eq!(
        cm.data
            .unwrap_or_default()
            .get("message")
            .map(String::as_str),
        Some("two")
    );

    // A failing pre-upgrade Job fails the deploy with Helm's message, in the status; the
    // release's objects are not touched and the hook-failed policy removes the Job.
    let outcome = deploy(
        &mut executor,
        &hooked("d3", json!({"message": "three", "failMigrate": true})),
        &files,
    )
    .await;
    let error = outcome
        .error
        .context("a failed hook must fail the deploy")?;
    let expected = "pre-upgrade hooks failed: resource Job/app/migrate not ready. status: Failed, message: Job Failed. failed: 1/1";
    assert_eq!(error.to_string(), expected);
    assert_eq!(
        condition(&outcome.status, "Deployed"),
        ("False".to_string(), expected.to_string())
    );
    let inventory = executor
        .read_inventory("hooked")
        .await?
        .context("inventory")?;
    assert_eq!(
        inventory.deployment_id, "d2",
        "the failed upgrade is not recorded"
    );
    assert_eq!(
        take(&log).await,
        [
            "deleted Job/migrate",
            "created Job/migrate",
            "deleted Job/migrate"
        ]
    );
    let cm = config_maps.get("app-config").await?;
    assert_eq!(
        cm.data
            .unwrap_or_default()
            .get("message")
            .map(String::as_str),
        Some("two")
    );

    // Uninstall with `deleteNamespace`: the pre-delete hook (deleted after it succeeded), the
    // objects, the post-delete hook, and only then the namespace it was created in.
    let bd = bundle_deployment(
        "hooked",
        "d2",
        json!({"defaultNamespace": "app", "deleteNamespace": true,
               "helm": {"values": {"message": "two"}, "timeoutSeconds": 10}}),
    );
    let deleted = executor.uninstall("hooked", &bd.spec).await?;
    let deleted: Vec<String> = deleted
        .iter()
        .map(|r| format!("{}/{}", r.kind, r.name))
        .collect();
    assert_eq!(deleted, ["ConfigMap/app-config", "Namespace/app"]);
    let events = take(&log).await;
    assert_eq!(
        events[..4],
        [
            "created Job/cleanup",
            "deleted Job/cleanup",
            "deleted ConfigMap/app-config",
            "created ConfigMap/farewell",
        ]
    );
    // Then the namespace goes, and with it what hooks left there.
    let mut rest = events[4..].to_vec();
    rest.sort();
    assert_eq!(
        rest,
        [
            "deleted ConfigMap/farewell",
            "deleted ConfigMap/installed-marker",
            "deleted Job/pre-b"
        ]
    );
    assert!(executor.read_inventory("hooked").await?.is_none());
    let namespace = Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .get_opt("app")
        .await?;
    assert!(
        namespace.is_none_or(|n| n.metadata.deletion_timestamp.is_some()),
        "the namespace was not deleted"
    );
    Ok(())
}

#[tokio::test]
async fn a_hook_job_that_never_finishes_times_out_with_helms_message() -> Result<()> {
    let server = KubeServer::start()?;
    let client = client_for(&server.url())?;
    // No controller: the Job stays in progress.
    let mut executor = Executor::connect(client.clone(), AGENT_NS).await?;
    let files = files(&[])?;
    let bd = bundle_deployment(
        "hooked",
        "d1",
        json!({"defaultNamespace": "app", "helm": {"timeoutSeconds": 1}}),
    );
    let started = std::time::Instant::now();
    let outcome = deploy(&mut executor, &bd, &files).await;
    let error = outcome
        .error
        .context("a hook that never finishes must fail")?;
    assert_eq!(
        error.to_string(),
        "failed pre-install: resource Job/app/pre-a not ready. status: InProgress, message: Job in progress\ncontext deadline exceeded"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Nothing of the release was applied, and the retry is an install again.
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "app");
    assert!(config_maps.get_opt("app-config").await?.is_none());
    Ok(())
}
