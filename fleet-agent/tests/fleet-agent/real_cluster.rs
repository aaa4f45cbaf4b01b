//! The executor against a real cluster (kind, k3d, …): the deploy, prune, CRD and uninstall
//! scenarios of `cluster.rs`. Ignored by default; run with the cluster's kubeconfig in
//! `FLEET_TEST_KUBECONFIG` (see the README). Each run works in its own namespace and removes
//! it at the end.

use anyhow::{Context, Result};
use fleet_agent::cluster::{self, Executor};
use fleet_core::crd::BundleDeployment;
use fleet_render::files::Files;
use fleet_render::render::{ClusterFacts, Renderer};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams};
use serde_json::json;

const AGENT_NS: &str = "fleet-rs-test-agent";

async fn executor() -> Result<(kube::Client, Executor)> {
    let path = std::env::var("FLEET_TEST_KUBECONFIG")
        .context("set FLEET_TEST_KUBECONFIG to the kubeconfig of a disposable cluster")?;
    let file = kube::config::Kubeconfig::read_from(&path)?;
    let config = kube::Config::from_custom_kubeconfig(file, &Default::default()).await?;
    let client = kube::Client::try_from(config)?;
    let executor = Executor::connect(client.clone(), AGENT_NS).await?;
    Ok((client, executor))
}

fn unique_namespace(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{nanos}")
}

fn bundle_deployment(name: &str, id: &str, namespace: &str) -> Result<BundleDeployment> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "BundleDeployment",
        "metadata": {"name": name, "namespace": "cluster-ns"},
        "spec": {"deploymentID": id, "stagedDeploymentID": id,
                 "options": {"defaultNamespace": namespace, "deleteNamespace": true}},
    }))?)
}

fn files(names: &[&str]) -> Result<Files> {
    let mut files = Files::new();
    for name in names {
        files.insert(
            &format!("{name}.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n")
                .into_bytes(),
        )?;
    }
    Ok(files)
}

#[tokio::test]
#[ignore = "needs cluster"]
async fn deploy_prune_and_uninstall_on_a_real_cluster() -> Result<()> {
    let (client, mut executor) = executor().await?;
    let namespace = unique_namespace("fleet-rs-test");
    let renderer = Renderer::default();
    let facts = ClusterFacts::default();
    let now = cluster::now_rfc3339();

    let first = bundle_deployment("real", "s-1:x", &namespace)?;
    let outcome = cluster::deploy_bundle(
        &mut executor,
        &renderer,
        &first,
        &files(&["a", "b"])?,
        &facts,
        &now,
    )
    .await;
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert!(
        outcome.status.non_modified,
        "{:?}",
        outcome.status.modified_status
    );
    let api = Api::<ConfigMap>::namespaced(client.clone(), &namespace);
    assert!(api.get_opt("a").await?.is_some());
    assert!(api.get_opt("b").await?.is_some());

    let second = bundle_deployment("real", "s-2:x", &namespace)?;
    let outcome = cluster::deploy_bundle(
        &mut executor,
        &renderer,
        &second,
        &files(&["a"])?,
        &facts,
        &now,
    )
    .await;
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert!(api.get_opt("b").await?.is_none(), "b was not pruned");

    let deleted = executor.uninstall("real", &second.spec).await?;
    assert_eq!(deleted.len(), 2, "{deleted:?}");
    let ns = Api::<Namespace>::all(client.clone())
        .get_opt(&namespace)
        .await?;
    assert!(ns.is_none_or(|n| n.metadata.deletion_timestamp.is_some()));
    // The inventory namespace is the test's own.
    let _ = Api::<Namespace>::all(client)
        .delete(AGENT_NS, &DeleteParams::default())
        .await;
    Ok(())
}

#[tokio::test]
#[ignore = "needs cluster"]
async fn a_crd_and_its_custom_resource_on_a_real_cluster() -> Result<()> {
    let (client, mut executor) = executor().await?;
    let namespace = unique_namespace("fleet-rs-crd");
    let mut files = Files::new();
    files.insert(
        "crd.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: fleetrstests.example.com\nspec:\n  group: example.com\n  scope: Namespaced\n  names: {kind: FleetRsTest, plural: fleetrstests, singular: fleetrstest, listKind: FleetRsTestList}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n"
            .as_bytes()
            .to_vec(),
    )?;
    files.insert(
        "cr.yaml",
        "apiVersion: example.com/v1\nkind: FleetRsTest\nmetadata:\n  name: t\nspec:\n  size: 1\n"
            .as_bytes()
            .to_vec(),
    )?;
    let mut bd = bundle_deployment("real-crd", "s-1:x", &namespace)?;
    // The CRD is cluster-wide: remove it with its resources at the end.
    bd.spec.options.delete_crd_resources = true;
    let outcome = cluster::deploy_bundle(
        &mut executor,
        &Renderer::default(),
        &bd,
        &files,
        &ClusterFacts::default(),
        &cluster::now_rfc3339(),
    )
    .await;
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert!(
        executor
            .discovery()
            .get("example.com/v1", "FleetRsTest")
            .is_some()
    );
    executor.uninstall("real-crd", &bd.spec).await?;
    let _ = Api::<Namespace>::all(client)
        .delete(AGENT_NS, &DeleteParams::default())
        .await;
    Ok(())
}
