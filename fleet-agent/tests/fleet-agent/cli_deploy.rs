//! `fleet-agent deploy` and `fleet-agent uninstall` end to end: the binary against the
//! in-process Kubernetes API test server through the kubeconfig it writes.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context, Result};
use fleet_core::crd::BundleResource;
use fleet_core::manifest::Manifest;
use fleet_test_tools::kube_server::KubeServer;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::Api;
use serde_json::{Value, json};

fn bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleet-agent"))
        .args(args)
        .output()
        .expect("run fleet-agent")
}

fn client_for(url: &str) -> Result<Client> {
    let mut config = kube::Config::new(url.parse()?);
    config.default_retry = false;
    Ok(Client::try_from(config)?)
}

fn text(path: &Path) -> String {
    path.display().to_string()
}

#[tokio::test]
async fn deploy_then_uninstall_a_bundle_through_the_binary() -> Result<()> {
    let Some(example) = fleet_test_tools::shared::path("corpus/fleet-examples/simple") else {
        return Ok(());
    };
    let server = KubeServer::start()?;
    let tmp = tempfile::tempdir()?;
    let kubeconfig = tmp.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig)?;

    let mut resources = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&example)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    names.sort();
    for path in &names {
        resources.push(BundleResource {
            name: path.file_name().context("name")?.to_string_lossy().into(),
            content: std::fs::read_to_string(path)?,
            ..BundleResource::default()
        });
    }
    let manifest = Manifest::from_bundle_resources(&resources)?;
    let bundle = json!({
        "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Bundle",
        "metadata": {"name": "simple", "namespace": "fleet-local"},
        "spec": {"resources": resources, "defaultNamespace": "guestbook"},
    });
    let deployment_id = format!("{}:opts", manifest.id());
    let bd = json!({
        "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "BundleDeployment",
        "metadata": {"name": "simple", "namespace": "cluster-fleet-local-local-1a3d67d0a899",
                     "labels": {"fleet.cattle.io/cluster": "local"}},
        "spec": {"deploymentID": deployment_id, "stagedDeploymentID": deployment_id,
                 "options": {"defaultNamespace": "guestbook"}},
    });
    let bundle_path = tmp.path().join("bundle.yaml");
    let bd_path = tmp.path().join("bd.yaml");
    std::fs::write(&bundle_path, fleet_core::yaml::to_string(&bundle)?)?;
    std::fs::write(&bd_path, fleet_core::yaml::to_string(&bd)?)?;
    let state = tmp.path().join("state");

    let out = bin(&[
        "deploy",
        "--kubeconfig",
        &text(&kubeconfig),
        "--bundle-deployment",
        &text(&bd_path),
        "--bundle",
        &text(&bundle_path),
        "--state-dir",
        &text(&state),
        "-o",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let status: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(status["appliedDeploymentID"], deployment_id.as_str());
    let conditions = status["conditions"].as_array().context("no conditions")?;
    let deployed = conditions
        .iter()
        .find(|c| c["type"] == "Deployed")
        .context("no Deployed")?;
    assert_eq!(deployed["status"], "True");
    assert_eq!(status["resourceCounts"]["desiredReady"], 6);
    assert_eq!(status["display"]["deployed"], "True");
    assert!(
        state
            .join("deployments/simple/bundledeployment.json")
            .is_file()
    );

    let client = client_for(&server.url())?;
    let inventory = Api::<ConfigMap>::namespaced(client.clone(), "cattle-fleet-system")
        .get_opt("fleet-agent-inventory-simple")
        .await?;
    assert!(inventory.is_some(), "no inventory ConfigMap");

    let out = bin(&[
        "uninstall",
        "--kubeconfig",
        &text(&kubeconfig),
        "--bundle-deployment",
        &text(&bd_path),
        "--state-dir",
        &text(&state),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deleted = String::from_utf8(out.stdout)?;
    assert_eq!(deleted.lines().count(), 6, "{deleted}");
    assert!(
        deleted.lines().any(|l| l.contains("guestbook/frontend")),
        "{deleted}"
    );
    let left =
        Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(client.clone(), "guestbook")
            .list(&Default::default())
            .await?;
    assert!(left.items.is_empty(), "{:?}", left.items);
    assert!(!state.join("deployments/simple").exists());
    Ok(())
}

#[tokio::test]
async fn a_bundle_that_cannot_render_reports_its_error_in_the_status() -> Result<()> {
    // Fleet's own Content + BundleDeployment file: a Helm chart, which does not render here.
    let Some(fleet_bd) =
        fleet_test_tools::shared::path("corpus/fleet-cli-assets/bundledeployment/bd.yaml")
    else {
        return Ok(());
    };
    let server = KubeServer::start()?;
    let tmp = tempfile::tempdir()?;
    let kubeconfig = tmp.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig)?;
    let out = bin(&[
        "deploy",
        "--kubeconfig",
        &text(&kubeconfig),
        "--bundle-deployment",
        &text(&fleet_bd),
        "--content",
        &text(&fleet_bd),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let status: Value = fleet_core::yaml::from_str(&String::from_utf8(out.stdout)?)?;
    let deployed = status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Deployed"))
        .context("no Deployed condition")?;
    assert_eq!(deployed["status"], "False");
    let message = deployed["message"].as_str().unwrap_or_default();
    assert!(message.contains("Helm chart renderer"), "{message}");
    assert_eq!(status["display"]["state"], "ErrApplied");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("testbundle-simple-chart"), "{stderr}");
    // Nothing was applied: no inventory, no agent namespace.
    let client = client_for(&server.url())?;
    let inventories = Api::<ConfigMap>::namespaced(client, "cattle-fleet-system")
        .list(&Default::default())
        .await?;
    assert!(inventories.items.is_empty());
    Ok(())
}

#[test]
fn bad_input_fails_with_nothing_on_stdout() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let bd = tmp.path().join("bd.yaml");
    std::fs::write(
        &bd,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    )?;
    let out = bin(&[
        "deploy",
        "--kubeconfig",
        &text(&tmp.path().join("missing")),
        "--bundle-deployment",
        &text(&bd),
        "--content",
        &text(&bd),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no BundleDeployment object"), "{stderr}");
    Ok(())
}
