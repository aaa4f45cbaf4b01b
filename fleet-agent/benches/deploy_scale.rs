//! Deploy of a large raw bundle against the in-process Kubernetes API test server: wall time
//! and the API requests sent, for a first deploy, an unchanged redeploy and an uninstall.
//!
//! ```text
//! cargo bench -p fleet-agent --bench deploy_scale -- [OBJECTS]   # default 500
//! ```
//!
//! The server is the test server (`fleet_test_tools::kube_server`), in the same process and
//! sharing the machine's cores, not a real API server: the figures show the agent's request
//! budget and its overhead, not what a cluster would take.

// Shared with the tests, which use more of it (connection tracking) than the benchmark.
#[allow(dead_code)]
#[path = "../tests/fleet-agent/proxy.rs"]
mod proxy;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use fleet_agent::cluster::{self, Executor};
use fleet_core::crd::BundleDeployment;
use fleet_render::files::Files;
use fleet_render::render::{ClusterFacts, Renderer};
use fleet_test_tools::kube_server::KubeServer;
use serde_json::json;

fn summary(log: &Mutex<Vec<proxy::Recorded>>) -> String {
    let mut by_method: BTreeMap<String, usize> = BTreeMap::new();
    let requests = std::mem::take(&mut *log.lock().expect("log lock"));
    for r in &requests {
        *by_method.entry(r.method.clone()).or_default() += 1;
    }
    let parts: Vec<String> = by_method.iter().map(|(m, n)| format!("{m} {n}")).collect();
    let applies = requests
        .iter()
        .filter(|r| r.content_type == "application/apply-patch+yaml")
        .count();
    let lists = requests
        .iter()
        .filter(|r| r.method == "GET" && r.target.contains("labelSelector="))
        .count();
    format!(
        "{} requests ({}; {applies} server-side applies, {lists} labelled lists)",
        requests.len(),
        parts.join(", ")
    )
}

fn bundle_deployment(deployment_id: &str) -> Result<BundleDeployment> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "BundleDeployment",
        "metadata": {"name": "scale", "namespace": "cluster-ns"},
        "spec": {"deploymentID": deployment_id, "stagedDeploymentID": deployment_id,
                 "options": {"defaultNamespace": "scale"}},
    }))?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; the first numeric argument is the object count.
    let objects: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(500);
    let mut files = Files::new();
    // Half ConfigMaps, half Services: two kinds, as a typical bundle has a few.
    for i in 0..objects {
        let text = if i % 2 == 0 {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  key: value-{i}\n"
            )
        } else {
            format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\nspec:\n  ports:\n  - port: 80\n    targetPort: 8080\n  selector:\n    app: a{i}\n"
            )
        };
        files.insert(&format!("o{i:04}.yaml"), text.into_bytes())?;
    }

    let server = KubeServer::start()?;
    let log = Arc::new(Mutex::new(Vec::new()));
    let upstream = server.url().trim_start_matches("http://").to_string();
    let url = proxy::recording_proxy(upstream, log.clone()).await?;
    let mut config = kube::Config::new(url.parse()?);
    config.default_retry = false;

    let started = Instant::now();
    let mut executor =
        Executor::connect(kube::Client::try_from(config)?, "cattle-fleet-system").await?;
    println!(
        "discovery: {:.1} ms, {}",
        started.elapsed().as_secs_f64() * 1e3,
        summary(&log)
    );

    let renderer = Renderer::default();
    let cluster = ClusterFacts::default();
    for (label, id) in [("first deploy", "s-1:x"), ("unchanged redeploy", "s-2:x")] {
        let bd = bundle_deployment(id)?;
        let started = Instant::now();
        let outcome = cluster::deploy_bundle(
            &mut executor,
            &renderer,
            &bd,
            &files,
            &cluster,
            &cluster::now_rfc3339(),
        )
        .await;
        let elapsed = started.elapsed();
        if let Some(error) = outcome.error {
            bail!("{label}: {error}");
        }
        let counts = outcome
            .status
            .resource_counts
            .context("no resourceCounts")?;
        if counts.desired_ready as usize != objects || !outcome.status.non_modified {
            bail!("{label}: not in sync: {counts:?}");
        }
        println!(
            "{label} of {objects} objects: {:.1} ms, {}",
            elapsed.as_secs_f64() * 1e3,
            summary(&log)
        );
    }
    let bd = bundle_deployment("s-2:x")?;
    let started = Instant::now();
    let deleted = executor.uninstall("scale", &bd.spec).await?;
    println!(
        "uninstall of {} objects: {:.1} ms, {}",
        deleted.len(),
        started.elapsed().as_secs_f64() * 1e3,
        summary(&log)
    );
    Ok(())
}
