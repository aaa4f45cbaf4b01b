//! The kube-rs executor against the in-process Kubernetes API test server: deploy, prune on
//! upgrade, uninstall, namespace creation, CRDs before their custom resources, and the
//! requests it sends on the wire.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use fleet_agent::cluster::{self, Executor};
use fleet_agent::deploy::ObjectRef;
use fleet_core::crd::BundleDeployment;
use fleet_render::files::Files;
use fleet_render::render::{ClusterFacts, Renderer};
use fleet_test_tools::kube_server::KubeServer;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::discovery::ApiResource;
use serde_json::{Value, json};

use crate::proxy::{Recorded, recording_proxy};

pub(crate) const AGENT_NS: &str = "cattle-fleet-system";
const HASH_LABEL: &str = "objectset.rio.cattle.io/hash";

pub(crate) fn client_for(url: &str) -> Result<Client> {
    let mut config = kube::Config::new(url.parse()?);
    config.default_namespace = "default".into();
    // The executor's own error handling is under test, not kube-rs's retries.
    config.default_retry = false;
    Ok(Client::try_from(config)?)
}

pub(crate) fn bundle_deployment(
    name: &str,
    deployment_id: &str,
    options: Value,
) -> BundleDeployment {
    serde_json::from_value(json!({
        "apiVersion": "fleet.cattle.io/v1alpha1",
        "kind": "BundleDeployment",
        "metadata": {"name": name, "namespace": "cluster-fleet-local-local-1a3d67d0a899"},
        "spec": {"deploymentID": deployment_id, "stagedDeploymentID": deployment_id,
                 "options": options},
    }))
    .expect("a valid BundleDeployment")
}

fn dir_files(dir: &Path) -> Result<Files> {
    let mut files = Files::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for path in names {
        let name = path.file_name().context("file name")?.to_string_lossy();
        if name.ends_with(".yaml") {
            files.insert(&name, std::fs::read(&path)?)?;
        }
    }
    Ok(files)
}

pub(crate) fn inline_files(docs: &[(&str, &str)]) -> Result<Files> {
    let mut files = Files::new();
    for (name, text) in docs {
        files.insert(name, text.as_bytes().to_vec())?;
    }
    Ok(files)
}

fn config_map_yaml(name: &str, extra_labels: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  labels:\n    app: test\n{extra_labels}data:\n  key: {name}\n"
    )
}

async fn deploy(
    executor: &mut Executor,
    bd: &BundleDeployment,
    files: &Files,
) -> Result<fleet_core::crd::BundleDeploymentStatus> {
    let outcome = cluster::deploy_bundle(
        executor,
        &Renderer::default(),
        bd,
        files,
        &ClusterFacts::named("local", "fleet-local"),
        "2026-01-01T00:00:00Z",
    )
    .await;
    if let Some(error) = outcome.error {
        bail!("deploy failed: {error}");
    }
    Ok(outcome.status)
}

fn resource(api_version: &str, kind: &str) -> ApiResource {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let plural = format!("{}s", kind.to_lowercase());
    ApiResource {
        group: group.to_string(),
        version: version.to_string(),
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        plural,
    }
}

async fn get(client: &Client, r: &ObjectRef) -> Result<Option<DynamicObject>> {
    let ar = resource(&r.api_version, &r.kind);
    let api: Api<DynamicObject> = if r.namespace.is_empty() {
        Api::all_with(client.clone(), &ar)
    } else {
        Api::namespaced_with(client.clone(), &r.namespace, &ar)
    };
    Ok(api.get_opt(&r.name).await?)
}

fn object_ref(api_version: &str, kind: &str, namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

fn condition<'a>(status: &'a fleet_core::crd::BundleDeploymentStatus, type_: &str) -> &'a str {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map_or("", |c| c.status.as_str())
}

#[tokio::test]
async fn a_raw_example_deploys_with_labels_ownership_inventory_and_status() -> Result<()> {
    let Some(dir) = fleet_test_tools::shared::path("corpus/fleet-examples/simple") else {
        return Ok(());
    };
    let server = KubeServer::start()?;
    let client = client_for(&server.url())?;
    let mut executor = Executor::connect(client.clone(), AGENT_NS).await?;
    let bd = bundle_deployment(
        "simple",
        "s-1:opts",
        json!({"defaultNamespace": "guestbook", "namespaceLabels": {"team": "web"}}),
    );
    let files = dir_files(&dir)?;
    let status = deploy(&mut executor, &bd, &files).await?;

    let inventory = executor
        .read_inventory("simple")
        .await?
        .context("no inventory recorded")?;
    assert_eq!(inventory.deployment_id, "s-1:opts");
    assert_eq!(inventory.namespace, "guestbook");
    // The example has three Deployments and three Services.
    assert_eq!(inventory.objects.len(), 6, "{:?}", inventory.objects);
    let hash = fleet_render::diff::set_hash(&fleet_render::diff::set_id(
        "simple",
        fleet_render::postrender::AGENT_LABEL_PREFIX,
        "",
    ));
    for r in &inventory.objects {
        assert_eq!(r.namespace, "guestbook", "{r}");
        let live = get(&client, r)
            .await?
            .with_context(|| format!("{r} missing"))?;
        let labels = live.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels.get(HASH_LABEL), Some(&hash), "{r}");
        let annotations = live.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(
            annotations
                .get(fleet_render::postrender::ID_ANNOTATION)
                .map(String::as_str),
            Some("default-simple"),
            "{r}"
        );
        let managers: Vec<(String, String)> = live
            .metadata
            .managed_fields
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                (
                    m.manager.unwrap_or_default(),
                    m.operation.unwrap_or_default(),
                )
            })
            .collect();
        assert!(
            managers.contains(&("fleet-agent".to_string(), "Apply".to_string())),
            "{r}: {managers:?}"
        );
    }

    let namespace = Api::<Namespace>::all(client.clone())
        .get("guestbook")
        .await?;
    assert_eq!(
        namespace.metadata.labels.unwrap_or_default().get("team"),
        Some(&"web".to_string())
    );

    assert_eq!(status.applied_deployment_id, "s-1:opts");
    assert_eq!(condition(&status, "Deployed"), "True");
    assert_eq!(condition(&status, "Installed"), "True");
    assert_eq!(condition(&status, "Monitored"), "True");
    assert!(status.non_modified, "{:?}", status.modified_status);
    assert_eq!(status.resources.len(), 6);
    let counts = status
        .resource_counts
        .clone()
        .context("no resourceCounts")?;
    assert_eq!(counts.desired_ready, 6);
    assert_eq!(counts.missing, 0);
    assert_eq!(status.release, "guestbook/simple");
    Ok(())
}

#[tokio::test]
async fn an_upgrade_prunes_removed_objects_and_uninstall_leaves_nothing() -> Result<()> {
    let server = KubeServer::start()?;
    let client = client_for(&server.url())?;
    let mut executor = Executor::connect(client.clone(), AGENT_NS).await?;
    let keep_label = "    objectset.rio.cattle.io/prune: \"false\"\n";
    let first = inline_files(&[
        ("a.yaml", &config_map_yaml("a", "")),
        ("b.yaml", &config_map_yaml("b", "")),
        ("kept.yaml", &config_map_yaml("kept", keep_label)),
    ])?;
    let bd1 = bundle_deployment("app", "s-1:x", json!({"defaultNamespace": "apps"}));
    deploy(&mut executor, &bd1, &first).await?;
    let cm = |name: &str| object_ref("v1", "ConfigMap", "apps", name);
    for name in ["a", "b", "kept"] {
        assert!(get(&client, &cm(name)).await?.is_some(), "{name}");
    }

    let second = inline_files(&[("a.yaml", &config_map_yaml("a", ""))])?;
    let bd2 = bundle_deployment("app", "s-2:x", json!({"defaultNamespace": "apps"}));
    let status = deploy(&mut executor, &bd2, &second).await?;
    assert_eq!(status.applied_deployment_id, "s-2:x");
    assert!(get(&client, &cm("a")).await?.is_some());
    assert!(get(&client, &cm("b")).await?.is_none(), "b was not pruned");
    assert!(
        get(&client, &cm("kept")).await?.is_some(),
        "prune=false was pruned"
    );
    let inventory = executor.read_inventory("app").await?.context("inventory")?;
    assert_eq!(inventory.objects, [cm("a")]);

    // A restarted agent (a new executor) finds what it owns through the inventory.
    let mut restarted = Executor::connect(client.clone(), AGENT_NS).await?;
    let deleted = restarted.uninstall("app", &bd2.spec).await?;
    assert_eq!(deleted, [cm("a")]);
    assert!(get(&client, &cm("a")).await?.is_none());
    assert!(restarted.read_inventory("app").await?.is_none());
    let left = Api::<ConfigMap>::namespaced(client.clone(), "apps")
        .list(&Default::default())
        .await?;
    let names: Vec<_> = left
        .items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    // Only the object labelled prune=false stays: it was never the agent's to delete.
    assert_eq!(names, ["kept"]);
    // Uninstalling again is a no-op.
    assert!(restarted.uninstall("app", &bd2.spec).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn delete_namespace_removes_the_release_namespace_on_uninstall() -> Result<()> {
    let server = KubeServer::start()?;
    let client = client_for(&server.url())?;
    let mut executor = Executor::connect(client.clone(), AGENT_NS).await?;
    let files = inline_files(&[("a.yaml", &config_map_yaml("a", ""))])?;
    let bd = bundle_deployment(
        "gone",
        "s-1:x",
        json!({"defaultNamespace": "temp", "deleteNamespace": true}),
    );
    deploy(&mut executor, &bd, &files).await?;
    let deleted = executor.uninstall("gone", &bd.spec).await?;
    assert_eq!(
        deleted,
        [
            object_ref("v1", "ConfigMap", "temp", "a"),
            object_ref("v1", "Namespace", "", "temp")
        ]
    );
    let namespace = Api::<Namespace>::all(client.clone())
        .get_opt("temp")
        .await?;
    // The server removes an emptied namespace, or shows it terminating.
    assert!(
        namespace.is_none_or(|n| n.metadata.deletion_timestamp.is_some()),
        "namespace temp still active"
    );
    Ok(())
}

#[tokio::test]
async fn namespace_creation_disabled_fails_before_anything_is_applied() -> Result<()> {
    let server = KubeServer::start()?;
    let client = client_for(&server.url())?;
    let mut executor = Executor::connect(client.clone(), AGENT_NS).await?;
    let files = inline_files(&[("a.yaml", &config_map_yaml("a", ""))])?;
    let bd = bundle_deployment(
        "strict",
        "s-1:x",
        json!({"defaultNamespace": "absent", "createNamespace": false}),
    );
    let outcome = cluster::deploy_bundle(
        &mut executor,
        &Renderer::default(),
        &bd,
        &files,
        &ClusterFacts::default(),
        "2026-01-01T00:00:00Z",
    )
    .await;
    let error = outcome.error.context("the deploy should fail")?;
    assert_eq!(
        error.to_string(),
        "namespace absent not found (namespace creation is disabled)"
    );
    let deployed = outcome
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Deployed")
        .context("no Deployed condition")?;
    assert_eq!(
        (deployed.status.as_str(), deployed.message.as_str()),
        ("False", error.to_string().as_str())
    );
    assert_eq!(outcome.status.display.deployed, format!("Error: {error}"));
    assert!(
        Api::<Namespace>::all(client.clone())
            .get_opt("absent")
            .await?
            .is_none()
    );
    assert!(executor.read_inventory("strict").await?.is_none());
    Ok(())
}

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

const WIDGET: &str =
    "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 3\n";

#[tokio::test]
async fn a_crd_is_established_before_its_custom_resources_are_applied() -> Result<()> {
    let server = KubeServer::start()?;
    let client = client_for(&server.url())?;
    let mut executor = Executor::connect(client.clone(), AGENT_NS).await?;
    assert!(
        executor
            .discovery()
            .get("example.com/v1", "Widget")
            .is_none()
    );
    // The custom resource comes first in the files; the plan puts the CRD first.
    let files = inline_files(&[("a-widget.yaml", WIDGET), ("b-crd.yaml", CRD)])?;
    let bd = bundle_deployment("widgets", "s-1:x", json!({"defaultNamespace": "default"}));
    let status = deploy(&mut executor, &bd, &files).await?;
    assert_eq!(condition(&status, "Deployed"), "True");
    let served = executor
        .discovery()
        .get("example.com/v1", "Widget")
        .context("Widget not discovered after the CRD")?;
    assert!(served.namespaced);
    let widget = get(
        &client,
        &object_ref("example.com/v1", "Widget", "default", "w"),
    )
    .await?
    .context("widget missing")?;
    assert_eq!(widget.data["spec"]["size"], 3);
    Ok(())
}

#[tokio::test]
async fn the_wire_contract_of_a_deploy() -> Result<()> {
    let server = KubeServer::start()?;
    let log = Arc::new(Mutex::new(Vec::new()));
    let upstream = server.url().trim_start_matches("http://").to_string();
    let proxy = recording_proxy(upstream, log.clone()).await?;
    let mut executor = Executor::connect(client_for(&proxy)?, AGENT_NS).await?;
    log.lock().expect("log lock").clear();

    let files = inline_files(&[
        ("a.yaml", &config_map_yaml("a", "")),
        (
            "ns.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: extra\n",
        ),
    ])?;
    let bd = bundle_deployment("wire", "s-1:x", json!({"defaultNamespace": "wired"}));
    deploy(&mut executor, &bd, &files).await?;
    let requests = log.lock().expect("log lock").clone();

    let patches: Vec<&Recorded> = requests.iter().filter(|r| r.method == "PATCH").collect();
    let paths: Vec<&str> = patches
        .iter()
        .map(|r| r.target.split('?').next().unwrap_or(""))
        .collect();
    assert_eq!(
        paths,
        [
            "/api/v1/namespaces/extra",
            "/api/v1/namespaces/wired/configmaps/a",
            "/api/v1/namespaces/cattle-fleet-system/configmaps/fleet-agent-inventory-wire",
        ],
        "{requests:#?}"
    );
    for patch in &patches {
        assert_eq!(
            patch.content_type, "application/apply-patch+yaml",
            "{patch:?}"
        );
        let query = patch.target.split_once('?').map_or("", |(_, q)| q);
        let params: BTreeSet<&str> = query.split('&').collect();
        assert!(params.contains("fieldManager=fleet-agent"), "{patch:?}");
    }
    // Objects are applied without force unless the options ask for it; the inventory, which
    // only the agent writes, is always forced.
    assert!(
        !patches[0].target.contains("force=true"),
        "{:?}",
        patches[0]
    );
    assert!(
        !patches[1].target.contains("force=true"),
        "{:?}",
        patches[1]
    );
    assert!(patches[2].target.contains("force=true"), "{:?}", patches[2]);

    // The missing release namespace is created with a POST, before any apply.
    let first_post = requests
        .iter()
        .position(|r| r.method == "POST" && r.target.starts_with("/api/v1/namespaces?"))
        .context("no namespace create")?;
    let first_patch = requests
        .iter()
        .position(|r| r.method == "PATCH")
        .context("no apply")?;
    assert!(first_post < first_patch, "{requests:#?}");
    assert!(
        requests[first_post]
            .target
            .contains("fieldManager=fleet-agent"),
        "{:?}",
        requests[first_post]
    );

    // The read-back lists each kind once, selected by the objectset hash.
    let lists: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.method == "GET" && r.target.contains("labelSelector="))
        .collect();
    assert_eq!(lists.len(), 2, "{lists:#?}");
    for list in &lists {
        assert!(
            list.target
                .contains("labelSelector=objectset.rio.cattle.io%2Fhash%3D"),
            "{list:?}"
        );
    }
    // No writes other than the two namespace creates (release and agent namespace) and the
    // three applies.
    let writes = requests.iter().filter(|r| r.method != "GET").count();
    assert_eq!(writes, 5, "{requests:#?}");

    let forced = bundle_deployment(
        "wire",
        "s-2:x",
        json!({"defaultNamespace": "wired", "helm": {"force": true}}),
    );
    log.lock().expect("log lock").clear();
    deploy(&mut executor, &forced, &files).await?;
    let requests = log.lock().expect("log lock").clone();
    let forced_patches = requests
        .iter()
        .filter(|r| r.method == "PATCH" && r.target.contains("force=true"))
        .count();
    assert_eq!(forced_patches, 3, "{requests:#?}");
    Ok(())
}

#[tokio::test]
async fn a_failed_apply_is_reported_and_what_it_applied_stays_owned() -> Result<()> {
    use fleet_test_tools::kube_server::{Fault, FaultKind};
    let server = KubeServer::start()?;
    let client = client_for(&server.url())?;
    let mut executor = Executor::connect(client.clone(), AGENT_NS).await?;
    let files = inline_files(&[
        ("a.yaml", &config_map_yaml("a", "")),
        ("b.yaml", &config_map_yaml("b", "")),
    ])?;
    server.inject(Fault {
        method: Some("PATCH".into()),
        path_contains: "/configmaps/b".into(),
        count: 1,
        kind: FaultKind::InternalError,
    });
    let bd = bundle_deployment("half", "s-1:x", json!({"defaultNamespace": "default"}));
    let outcome = cluster::deploy_bundle(
        &mut executor,
        &Renderer::default(),
        &bd,
        &files,
        &ClusterFacts::default(),
        "2026-01-01T00:00:00Z",
    )
    .await;
    let error = outcome.error.context("the deploy should fail")?.to_string();
    assert!(
        error.starts_with("apply configmap.v1 default/b: "),
        "{error}"
    );
    assert_eq!(condition(&outcome.status, "Deployed"), "False");
    assert_eq!(outcome.status.display.state, "ErrApplied");
    // `a` was applied before the failure: it is in the inventory, under no deployment ID.
    let inventory = executor
        .read_inventory("half")
        .await?
        .context("inventory")?;
    assert_eq!(inventory.deployment_id, "");
    assert_eq!(
        inventory.objects,
        [object_ref("v1", "ConfigMap", "default", "a")]
    );
    // So a deploy that no longer renders it prunes it.
    let none = inline_files(&[])?;
    let bd2 = bundle_deployment("half", "s-2:x", json!({"defaultNamespace": "default"}));
    deploy(&mut executor, &bd2, &none).await?;
    assert!(
        get(&client, &object_ref("v1", "ConfigMap", "default", "a"))
            .await?
            .is_none()
    );
    Ok(())
}

#[tokio::test]
async fn a_field_owned_by_another_manager_conflicts_unless_forced() -> Result<()> {
    use kube::api::{Patch, PatchParams};
    let server = KubeServer::start()?;
    let client = client_for(&server.url())?;
    let mut executor = Executor::connect(client.clone(), AGENT_NS).await?;
    let other = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "a", "namespace": "default"}, "data": {"key": "theirs"}});
    Api::<ConfigMap>::namespaced(client.clone(), "default")
        .patch(
            "a",
            &PatchParams::apply("someone-else"),
            &Patch::Apply(&other),
        )
        .await?;
    let files = inline_files(&[("a.yaml", &config_map_yaml("a", ""))])?;
    let bd = bundle_deployment("owned", "s-1:x", json!({"defaultNamespace": "default"}));
    let outcome = cluster::deploy_bundle(
        &mut executor,
        &Renderer::default(),
        &bd,
        &files,
        &ClusterFacts::default(),
        "2026-01-01T00:00:00Z",
    )
    .await;
    let error = outcome
        .error
        .context("the apply should conflict")?
        .to_string();
    assert!(
        error.contains(r#"Apply failed with 1 conflict: conflict with "someone-else""#),
        "{error}"
    );
    let forced = bundle_deployment(
        "owned",
        "s-1:x",
        json!({"defaultNamespace": "default", "helm": {"force": true}}),
    );
    deploy(&mut executor, &forced, &files).await?;
    let live = Api::<ConfigMap>::namespaced(client.clone(), "default")
        .get("a")
        .await?;
    assert_eq!(
        live.data.unwrap_or_default().get("key").map(String::as_str),
        Some("a")
    );
    Ok(())
}

#[tokio::test]
async fn a_transient_503_is_retried_by_the_client_the_command_line_builds() -> Result<()> {
    use fleet_test_tools::kube_server::{Fault, FaultKind};
    let server = KubeServer::start()?;
    // As `fleet-agent deploy` builds it from a kubeconfig: kube-rs's default retries on.
    let config = kube::Config::new(server.url().parse()?);
    assert!(config.default_retry);
    let mut executor = Executor::connect(Client::try_from(config)?, AGENT_NS).await?;
    server.inject(Fault {
        method: Some("PATCH".into()),
        path_contains: "/configmaps/a".into(),
        count: 1,
        kind: FaultKind::ServiceUnavailable,
    });
    let files = inline_files(&[("a.yaml", &config_map_yaml("a", ""))])?;
    let bd = bundle_deployment("retried", "s-1:x", json!({"defaultNamespace": "default"}));
    deploy(&mut executor, &bd, &files).await?;
    assert_eq!(server.faults_left(), 0, "the fault was never hit");
    let client = client_for(&server.url())?;
    assert!(
        get(&client, &object_ref("v1", "ConfigMap", "default", "a"))
            .await?
            .is_some()
    );
    Ok(())
}

#[tokio::test]
async fn a_failing_group_version_is_skipped_and_refreshed_when_its_kind_is_needed() -> Result<()> {
    use fleet_test_tools::kube_server::{Fault, FaultKind};
    let server = KubeServer::start()?;
    server.inject(Fault {
        method: Some("GET".into()),
        path_contains: "/apis/batch/v1".into(),
        count: 1,
        kind: FaultKind::ServiceUnavailable,
    });
    let client = client_for(&server.url())?;
    let mut executor = Executor::connect(client.clone(), AGENT_NS).await?;
    assert_eq!(executor.discovery().failed(), ["batch/v1"]);
    assert!(executor.discovery().get("batch/v1", "Job").is_none());
    assert!(executor.discovery().get("apps/v1", "Deployment").is_some());
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: once\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: busybox\n";
    let files = inline_files(&[("job.yaml", job)])?;
    let bd = bundle_deployment("jobs", "s-1:x", json!({"defaultNamespace": "default"}));
    deploy(&mut executor, &bd, &files).await?;
    assert!(executor.discovery().failed().is_empty());
    let served = executor
        .discovery()
        .get("batch/v1", "Job")
        .context("Job not discovered on refresh")?;
    assert_eq!(served.resource.plural, "jobs");
    assert!(
        get(&client, &object_ref("batch/v1", "Job", "default", "once"))
            .await?
            .is_some()
    );
    Ok(())
}

#[tokio::test]
async fn an_unknown_kind_is_reported_and_nothing_is_applied() -> Result<()> {
    let server = KubeServer::start()?;
    let client = client_for(&server.url())?;
    let mut executor = Executor::connect(client.clone(), AGENT_NS).await?;
    let files = inline_files(&[
        ("a.yaml", &config_map_yaml("a", "")),
        (
            "thing.yaml",
            "apiVersion: nope.example.com/v1\nkind: Thing\nmetadata:\n  name: t\n",
        ),
    ])?;
    let bd = bundle_deployment("unknown", "s-1:x", json!({"defaultNamespace": "default"}));
    let outcome = cluster::deploy_bundle(
        &mut executor,
        &Renderer::default(),
        &bd,
        &files,
        &ClusterFacts::default(),
        "2026-01-01T00:00:00Z",
    )
    .await;
    let error = outcome.error.context("the deploy should fail")?.to_string();
    assert_eq!(
        error,
        "Thing nope.example.com/v1 (t): the server does not serve this kind"
    );
    assert_eq!(outcome.status.display.deployed, format!("Error: {error}"));
    assert!(
        get(&client, &object_ref("v1", "ConfigMap", "default", "a"))
            .await?
            .is_none(),
        "an object was applied although the plan failed"
    );
    assert!(executor.read_inventory("unknown").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn a_paused_deployment_is_monitored_but_not_applied() -> Result<()> {
    let server = KubeServer::start()?;
    let client = client_for(&server.url())?;
    let mut executor = Executor::connect(client.clone(), AGENT_NS).await?;
    let files = inline_files(&[("a.yaml", &config_map_yaml("a", ""))])?;
    let mut bd = bundle_deployment("paused", "s-1:x", json!({"defaultNamespace": "default"}));
    bd.spec.paused = true;
    let status = deploy(&mut executor, &bd, &files).await?;
    assert!(
        get(&client, &object_ref("v1", "ConfigMap", "default", "a"))
            .await?
            .is_none()
    );
    assert_eq!(status.applied_deployment_id, "");
    assert_eq!(condition(&status, "Monitored"), "True");
    let counts = status.resource_counts.context("no resourceCounts")?;
    assert_eq!(counts.missing, 1);
    assert!(!status.non_modified);
    assert!(executor.read_inventory("paused").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn a_failed_drift_correction_is_reported_on_monitored_and_retried() -> Result<()> {
    use fleet_test_tools::kube_server::{Fault, FaultKind};
    let server = KubeServer::start()?;
    let client = client_for(&server.url())?;
    let mut executor = Executor::connect(client.clone(), AGENT_NS).await?;
    let files = inline_files(&[("x.yaml", &config_map_yaml("x", ""))])?;
    let mut bd = bundle_deployment("drifty", "s-1:x", json!({"defaultNamespace": "default"}));
    bd.spec.correct_drift = serde_json::from_value(json!({"enabled": true}))?;
    let outcome = cluster::deploy_bundle(
        &mut executor,
        &Renderer::default(),
        &bd,
        &files,
        &ClusterFacts::default(),
        "2026-01-01T00:00:00Z",
    )
    .await;
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let (statuses, mut received) = tokio::sync::mpsc::unbounded_channel();
    let objects = outcome.objects.clone();
    let watched = bd.clone();
    let monitor = tokio::spawn(async move {
        cluster::watch::monitor(
            &mut executor,
            &watched,
            &objects,
            outcome.status,
            cluster::now_rfc3339,
            |status| statuses.send(status.clone()).is_ok(),
        )
        .await
    });

    // Drift by a replace (PUT), then make the next apply of that object fail once.
    let api = Api::<ConfigMap>::namespaced(client.clone(), "default");
    let mut live = api.get("x").await?;
    live.data = Some([("key".to_string(), "drifted".to_string())].into());
    api.replace("x", &Default::default(), &live).await?;
    server.inject(Fault {
        method: Some("PATCH".into()),
        path_contains: "/configmaps/x".into(),
        count: 1,
        kind: FaultKind::InternalError,
    });

    let monitored = |s: &fleet_core::crd::BundleDeploymentStatus| {
        s.conditions
            .iter()
            .find(|c| c.type_ == "Monitored")
            .map(|c| (c.status.clone(), c.message.clone()))
            .unwrap_or_default()
    };
    let wait = std::time::Duration::from_secs(30);
    let failed = tokio::time::timeout(wait, received.recv())
        .await?
        .context("monitor ended")?;
    let (state, message) = monitored(&failed);
    assert_eq!(state, "False", "{message}");
    assert!(
        message.starts_with("apply configmap.v1 default/x: "),
        "{message}"
    );
    let recovered = tokio::time::timeout(wait, received.recv())
        .await?
        .context("monitor ended")?;
    assert_eq!(monitored(&recovered).0, "True");
    assert!(recovered.non_modified, "{:?}", recovered.modified_status);
    let live = api.get("x").await?;
    assert_eq!(live.data.unwrap_or_default()["key"], "x");
    monitor.abort();
    Ok(())
}
