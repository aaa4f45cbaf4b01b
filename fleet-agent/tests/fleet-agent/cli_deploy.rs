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
async fn fleet_helm_bundle_deployment_deploys_its_chart() -> Result<()> {
    // Fleet's own Content + BundleDeployment file: a local Helm chart with values in the
    // options and a pre-install hook.
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
        "--state-dir",
        &text(&tmp.path().join("state")),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let status: Value = fleet_core::yaml::from_str(&String::from_utf8(out.stdout)?)?;
    let deployed = status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Deployed"))
        .context("no Deployed condition")?;
    assert_eq!(deployed["status"], "True", "{status}");
    let client = client_for(&server.url())?;
    // The BundleDeployment's values win over the chart's default `name: default-name`.
    let cm = Api::<ConfigMap>::namespaced(client.clone(), "default")
        .get("test-simple-chart-config")
        .await?;
    let data = cm.data.unwrap_or_default();
    assert_eq!(data.get("name").map(String::as_str), Some("example-value"));
    assert_eq!(data.get("test").map(String::as_str), Some("value123"));
    // The pre-install hook (a ServiceAccount) ran, as Helm runs it: created and left in
    // place (`before-hook-creation`), but not one of the release's inventoried objects.
    let account =
        Api::<k8s_openapi::api::core::v1::ServiceAccount>::namespaced(client.clone(), "default")
            .get_opt("some-operator")
            .await?
            .context("the pre-install hook did not run")?;
    let annotations = account.metadata.annotations.unwrap_or_default();
    assert!(annotations.contains_key("helm.sh/hook"), "{annotations:?}");
    let inventory = Api::<ConfigMap>::namespaced(client, "cattle-fleet-system")
        .list(&Default::default())
        .await?;
    let recorded: String = inventory
        .items
        .iter()
        .filter_map(|cm| cm.data.as_ref()?.get("inventory").cloned())
        .collect();
    assert!(recorded.contains("test-simple-chart-config"), "{recorded}");
    assert!(
        !recorded.contains("\"name\":\"some-operator\""),
        "{recorded}"
    );
    Ok(())
}

#[tokio::test]
async fn a_bundle_that_cannot_render_reports_its_error_in_the_status() -> Result<()> {
    let server = KubeServer::start()?;
    let tmp = tempfile::tempdir()?;
    let kubeconfig = tmp.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig)?;
    // A chart whose template fails unless a value is given, and a deployment without it.
    let resources = vec![
        BundleResource {
            name: "Chart.yaml".into(),
            content: "apiVersion: v2\nname: needs-values\nversion: 0.1.0\n".into(),
            ..BundleResource::default()
        },
        BundleResource {
            name: "templates/cm.yaml".into(),
            content: "{{ required \"host is required\" .Values.host }}\n".into(),
            ..BundleResource::default()
        },
    ];
    let manifest = Manifest::from_bundle_resources(&resources)?;
    let bundle = json!({
        "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Bundle",
        "metadata": {"name": "needs-values", "namespace": "fleet-local"},
        "spec": {"resources": resources},
    });
    let deployment_id = format!("{}:opts", manifest.id());
    let bd = json!({
        "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "BundleDeployment",
        "metadata": {"name": "needs-values", "namespace": "cluster-fleet-local-local-1a3d67d0a899",
                     "labels": {"fleet.cattle.io/cluster": "local"}},
        "spec": {"deploymentID": deployment_id, "stagedDeploymentID": deployment_id,
                 "options": {}},
    });
    let bundle_path = tmp.path().join("bundle.yaml");
    let bd_path = tmp.path().join("bd.yaml");
    std::fs::write(&bundle_path, fleet_core::yaml::to_string(&bundle)?)?;
    std::fs::write(&bd_path, fleet_core::yaml::to_string(&bd)?)?;
    let out = bin(&[
        "deploy",
        "--kubeconfig",
        &text(&kubeconfig),
        "--bundle-deployment",
        &text(&bd_path),
        "--bundle",
        &text(&bundle_path),
        "--state-dir",
        &text(&tmp.path().join("state")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let status: Value = fleet_core::yaml::from_str(&String::from_utf8(out.stdout)?)?;
    let deployed = status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Deployed"))
        .context("no Deployed condition")?;
    assert_eq!(deployed["status"], "False");
    let message = deployed["message"].as_str().unwrap_or_default();
    assert!(message.contains("host is required"), "{message}");
    assert_eq!(status["display"]["state"], "ErrApplied");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("needs-values"), "{stderr}");
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

/// Whether `kubectl` is on `PATH`; without it the comparison skips, unless the shared corpus
/// is required (then it fails).
fn kubectl_available() -> bool {
    let found = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !fleet_test_tools::shared::required(),
            "kubectl is not on PATH and FLEET_REQUIRE_SHARED is set"
        );
        eprintln!("skipped: kubectl is not on PATH");
    }
    found
}

/// Drops what the API server adds (identity, versions, ownership, status) and the objectset
/// label and annotation, whose values depend on the set ID (`fleet-agent test` renders with
/// Fleet's `fleet test` set ID, the agent with its own).
fn comparable(mut object: Value) -> Value {
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
            "generation",
        ] {
            meta.remove(field);
        }
        for (field, key) in [
            ("labels", "objectset.rio.cattle.io/hash"),
            ("annotations", "objectset.rio.cattle.io/id"),
        ] {
            if let Some(map) = meta.get_mut(field).and_then(Value::as_object_mut) {
                map.remove(key);
                if map.is_empty() {
                    meta.remove(field);
                }
            }
        }
    }
    object
}

#[tokio::test]
async fn kubectl_sees_what_fleet_agent_test_renders_field_for_field() -> Result<()> {
    let Some(example) = fleet_test_tools::shared::path("corpus/fleet-examples/simple") else {
        return Ok(());
    };
    if !kubectl_available() {
        return Ok(());
    }
    let server = KubeServer::start()?;
    let tmp = tempfile::tempdir()?;
    let kubeconfig = tmp.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig)?;

    let rendered = bin(&["test", &text(&example)]);
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let desired_path = tmp.path().join("desired.yaml");
    std::fs::write(&desired_path, &rendered.stdout)?;
    let desired = fleet_core::yaml::documents(&String::from_utf8(rendered.stdout)?)?;

    // The same files as a Bundle, deployed by the binary.
    let mut names: Vec<_> = std::fs::read_dir(&example)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    names.sort();
    let resources: Vec<BundleResource> = names
        .iter()
        .map(|path| -> Result<BundleResource> {
            Ok(BundleResource {
                name: path.file_name().context("name")?.to_string_lossy().into(),
                content: std::fs::read_to_string(path)?,
                ..BundleResource::default()
            })
        })
        .collect::<Result<_>>()?;
    let bundle_path = tmp.path().join("bundle.yaml");
    std::fs::write(
        &bundle_path,
        fleet_core::yaml::to_string(&json!({
            "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Bundle",
            "metadata": {"name": "test", "namespace": "fleet-local"},
            "spec": {"resources": resources},
        }))?,
    )?;
    let bd_path = tmp.path().join("bd.yaml");
    let id = format!("{}:opts", Manifest::from_bundle_resources(&resources)?.id());
    std::fs::write(
        &bd_path,
        fleet_core::yaml::to_string(&json!({
            "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "BundleDeployment",
            "metadata": {"name": "test", "namespace": "cluster-ns"},
            "spec": {"deploymentID": id, "stagedDeploymentID": id, "options": {}},
        }))?,
    )?;
    let out = bin(&[
        "deploy",
        "--kubeconfig",
        &text(&kubeconfig),
        "--bundle-deployment",
        &text(&bd_path),
        "--bundle",
        &text(&bundle_path),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let got = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--cache-dir")
        .arg(tmp.path().join("kube-cache"))
        .args(["get", "-o", "yaml", "-f"])
        .arg(&desired_path)
        .output()?;
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    let list: Value = fleet_core::yaml::from_str(&String::from_utf8(got.stdout)?)?;
    let live = list["items"]
        .as_array()
        .context("kubectl printed no List")?;
    assert_eq!(live.len(), desired.len());
    assert_eq!(desired.len(), 6);
    for (want, have) in desired.iter().zip(live) {
        assert_eq!(
            comparable(have.clone()),
            comparable(want.clone()),
            "{}",
            want["metadata"]["name"]
        );
    }
    Ok(())
}

/// The BundleDeployment the controller would create for `dir` on a cluster labelled
/// `labels`, as `fleet-agent test` computes it, with its files.
fn example_deployment(
    dir: &Path,
    labels: &[(String, String)],
) -> Result<(
    fleet_core::crd::BundleDeployment,
    fleet_render::files::Files,
)> {
    use fleet_agent::cmd::test::{Match, TestArgs, load_bundle, match_bundle};
    let bundle = load_bundle(dir, None)?.context("no bundle")?;
    let args = TestArgs {
        labels: labels.to_vec(),
        name: None,
        group: None,
        group_labels: Vec::new(),
        target: None,
        targets_file: None,
        quiet: false,
        dir: dir.to_path_buf(),
    };
    let Match::Deployed {
        target,
        customizations,
    } = match_bundle(&bundle, &args)?
    else {
        anyhow::bail!("{}: nothing matched", dir.display());
    };
    let decision = fleet_targeting::Decision {
        target: target as u32,
        customizations: customizations.iter().map(|&c| c as u32).collect(),
    };
    let mut options = fleet_targeting::deployment::target_options(&bundle.spec, &decision);
    let label_map = labels.iter().cloned().collect();
    let context = fleet_targeting::values::ClusterContext::new(
        "",
        "fleet-local",
        &label_map,
        &Default::default(),
        &Default::default(),
    );
    fleet_targeting::deployment::process_values(&mut options, &context)?;
    let bd = serde_json::from_value(json!({
        "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "BundleDeployment",
        "metadata": {"name": bundle.name, "namespace": "cluster-ns",
                     "annotations": bundle.annotations},
        "spec": {"deploymentID": "s-1:x", "stagedDeploymentID": "s-1:x",
                 "options": serde_json::to_value(&options)?},
    }))?;
    Ok((bd, bundle.files))
}

#[tokio::test]
async fn every_rendering_fleet_example_deploys_in_sync_and_kubectl_agrees() -> Result<()> {
    let Some(root) = fleet_test_tools::shared::path("corpus/fleet-examples") else {
        return Ok(());
    };
    if !kubectl_available() {
        return Ok(());
    }
    let mut cases = Vec::new();
    for case in [
        "single-cluster/manifests",
        "single-cluster/kustomize",
        "simple",
    ] {
        cases.push((case, None));
    }
    for case in ["multi-cluster/manifests", "multi-cluster/kustomize"] {
        for env in ["dev", "test", "prod"] {
            cases.push((case, Some(env)));
        }
    }
    let mut deployed_objects = 0;
    for (case, env) in &cases {
        let dir = root.join(case);
        let labels: Vec<(String, String)> = env
            .map(|e| vec![("env".to_string(), e.to_string())])
            .unwrap_or_default();
        let what = format!("{case} {env:?}");
        let mut test_args = vec!["test".to_string()];
        for (k, v) in &labels {
            test_args.extend(["-l".to_string(), format!("{k}={v}")]);
        }
        test_args.push(text(&dir));
        let refs: Vec<&str> = test_args.iter().map(String::as_str).collect();
        let rendered = bin(&refs);
        assert!(rendered.status.success(), "{what}");
        let desired: Vec<Value> =
            fleet_core::yaml::documents(&String::from_utf8(rendered.stdout.clone())?)?
                .into_iter()
                .filter(|d| !d.is_null())
                .collect();

        let server = KubeServer::start()?;
        let tmp = tempfile::tempdir()?;
        let kubeconfig = tmp.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig)?;
        let (bd, files) = example_deployment(&dir, &labels)?;
        let mut executor = fleet_agent::cluster::Executor::connect(
            client_for(&server.url())?,
            "cattle-fleet-system",
        )
        .await?;
        let cluster_facts = fleet_render::render::ClusterFacts {
            labels: labels.iter().cloned().collect(),
            ..fleet_render::render::ClusterFacts::named("", "fleet-local")
        };
        let outcome = fleet_agent::cluster::deploy_bundle(
            &mut executor,
            &fleet_render::render::Renderer::default(),
            &bd,
            &files,
            &cluster_facts,
            "2026-01-01T00:00:00Z",
        )
        .await;
        assert!(outcome.error.is_none(), "{what}: {:?}", outcome.error);
        assert!(
            outcome.status.non_modified,
            "{what}: {:?}",
            outcome.status.modified_status
        );
        let counts = outcome.status.resource_counts.clone().context("counts")?;
        assert_eq!(counts.desired_ready as usize, desired.len(), "{what}");
        assert_eq!(counts.missing, 0, "{what}");

        let desired_path = tmp.path().join("desired.yaml");
        std::fs::write(&desired_path, &rendered.stdout)?;
        let got = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(tmp.path().join("kube-cache"))
            .args(["get", "-o", "yaml", "-f"])
            .arg(&desired_path)
            .output()?;
        assert!(
            got.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&got.stderr)
        );
        let list: Value = fleet_core::yaml::from_str(&String::from_utf8(got.stdout)?)?;
        let live = list["items"]
            .as_array()
            .context("kubectl printed no List")?;
        assert_eq!(live.len(), desired.len(), "{what}");
        for (want, have) in desired.iter().zip(live) {
            assert_eq!(
                comparable(have.clone()),
                comparable(want.clone()),
                "{what}: {}",
                want["metadata"]["name"]
            );
        }
        deployed_objects += desired.len();
    }
    eprintln!(
        "{} deployments, {deployed_objects} objects compared",
        cases.len()
    );
    assert_eq!(cases.len(), 9);
    assert!(deployed_objects > 9, "{deployed_objects}");
    Ok(())
}

#[tokio::test]
async fn files_with_several_deployments_and_bundles_pick_by_name_and_labels() -> Result<()> {
    let server = KubeServer::start()?;
    let tmp = tempfile::tempdir()?;
    let kubeconfig = tmp.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig)?;
    let mut bundles = Vec::new();
    let mut bds = Vec::new();
    for name in ["one", "two"] {
        let resources = vec![BundleResource {
            name: format!("{name}.yaml"),
            content: format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{name}\ndata:\n  k: v\n"
            ),
            ..BundleResource::default()
        }];
        let id = format!("{}:x", Manifest::from_bundle_resources(&resources)?.id());
        bundles.push(json!({
            "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Bundle",
            "metadata": {"name": name, "namespace": "fleet-local"},
            "spec": {"resources": resources},
        }));
        bds.push(json!({
            "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "BundleDeployment",
            "metadata": {"name": name, "namespace": "cluster-ns", "labels": {
                "fleet.cattle.io/bundle-name": name,
                "fleet.cattle.io/bundle-namespace": "fleet-local"}},
            "spec": {"deploymentID": id, "stagedDeploymentID": id, "options": {}},
        }));
    }
    let bundle_path = tmp.path().join("bundles.yaml");
    let bd_path = tmp.path().join("bds.yaml");
    std::fs::write(&bundle_path, fleet_core::yaml::to_string_multi(&bundles)?)?;
    std::fs::write(&bd_path, fleet_core::yaml::to_string_multi(&bds)?)?;
    let args = |extra: &[&str]| {
        let mut v = vec![
            "deploy".to_string(),
            "--kubeconfig".to_string(),
            text(&kubeconfig),
            "--bundle-deployment".to_string(),
            text(&bd_path),
            "--bundle".to_string(),
            text(&bundle_path),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };

    let ambiguous = args(&[]);
    let out = bin(&ambiguous.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2 BundleDeployment objects (one, two); say which with --name"),
        "{stderr}"
    );

    let named = args(&["--name", "two"]);
    let out = bin(&named.iter().map(String::as_str).collect::<Vec<_>>());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The deploymentID matches the manifest of the Bundle the labels name.
    assert!(!stderr.contains("warning"), "{stderr}");
    let api = Api::<ConfigMap>::namespaced(client_for(&server.url())?, "default");
    assert!(api.get_opt("cm-two").await?.is_some());
    assert!(api.get_opt("cm-one").await?.is_none());
    Ok(())
}

/// `fleet-agent deploy --watch` running in the background, its stdout collected.
struct Watching {
    child: std::process::Child,
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Watching {
    fn start(args: &[String]) -> Result<Watching> {
        use std::io::Read as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_fleet-agent"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let mut pipe = child.stdout.take().context("no stdout")?;
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stdout.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .expect("stdout lock")
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        Ok(Watching { child, stdout })
    }

    fn text(&self) -> String {
        self.stdout.lock().expect("stdout lock").clone()
    }

    /// Waits up to `seconds` for `done` to hold of the output.
    async fn wait_for(&self, seconds: u64, done: impl Fn(&str) -> bool) -> bool {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        while std::time::Instant::now() < until {
            if done(&self.text()) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn watch_inputs(dir: &Path, name: &str, options: Value) -> Result<(String, String)> {
    let resources = vec![BundleResource {
        name: "cm.yaml".into(),
        content: format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n"
        ),
        ..BundleResource::default()
    }];
    let id = format!("{}:x", Manifest::from_bundle_resources(&resources)?.id());
    let bundle = dir.join(format!("{name}-bundle.yaml"));
    let bd = dir.join(format!("{name}-bd.yaml"));
    std::fs::write(
        &bundle,
        fleet_core::yaml::to_string(&json!({
            "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Bundle",
            "metadata": {"name": name, "namespace": "fleet-local"},
            "spec": {"resources": resources},
        }))?,
    )?;
    std::fs::write(
        &bd,
        fleet_core::yaml::to_string(&json!({
            "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "BundleDeployment",
            "metadata": {"name": name, "namespace": "cluster-ns"},
            "spec": {"deploymentID": id, "stagedDeploymentID": id, "options": options,
                     "correctDrift": options.get("correctDrift").cloned().unwrap_or(Value::Null)},
        }))?,
    )?;
    Ok((text(&bd), text(&bundle)))
}

#[tokio::test]
async fn watch_reports_a_patched_object_and_corrects_drift_when_asked() -> Result<()> {
    use kube::api::{Patch, PatchParams};
    let server = KubeServer::start()?;
    let tmp = tempfile::tempdir()?;
    let kubeconfig = tmp.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig)?;
    let api = Api::<ConfigMap>::namespaced(client_for(&server.url())?, "default");
    let drift = json!({"data": {"k": "changed"}});
    let patch = PatchParams {
        field_manager: Some("kubectl-patch".into()),
        ..PatchParams::default()
    };
    let args = |bd: &str, bundle: &str| -> Vec<String> {
        [
            "deploy",
            "--kubeconfig",
            &text(&kubeconfig),
            "--bundle-deployment",
            bd,
            "--bundle",
            bundle,
            "--watch",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };

    // Without correctDrift: the change is reported as Fleet reports it, and stays.
    let (bd, bundle) = watch_inputs(tmp.path(), "reported", json!({}))?;
    let watching = Watching::start(&args(&bd, &bundle))?;
    assert!(
        watching
            .wait_for(20, |t| t.contains("appliedDeploymentID"))
            .await,
        "no first status: {}",
        watching.text()
    );
    api.patch("reported", &patch, &Patch::Merge(&drift)).await?;
    assert!(
        watching
            .wait_for(20, |t| t.contains("---") && t.contains("modifiedStatus"))
            .await,
        "the change was not reported: {}",
        watching.text()
    );
    let text = watching.text();
    let last = text.rsplit("---\n").next().unwrap_or_default();
    let status: Value = fleet_core::yaml::from_str(last)?;
    assert_eq!(status["nonModified"], Value::Null, "{last}");
    assert_eq!(status["modifiedStatus"][0]["name"], "reported", "{last}");
    assert_eq!(status["display"]["state"], "Modified", "{last}");
    drop(watching);
    let live = api.get("reported").await?;
    assert_eq!(live.data.unwrap_or_default()["k"], "changed");

    // With correctDrift.enabled: the change is reverted.
    let (bd, bundle) = watch_inputs(
        tmp.path(),
        "corrected",
        json!({"correctDrift": {"enabled": true}}),
    )?;
    let watching = Watching::start(&args(&bd, &bundle))?;
    assert!(
        watching
            .wait_for(20, |t| t.contains("appliedDeploymentID"))
            .await,
        "no first status: {}",
        watching.text()
    );
    api.patch("corrected", &patch, &Patch::Merge(&drift))
        .await?;
    let started = std::time::Instant::now();
    let mut reverted = false;
    while started.elapsed() < std::time::Duration::from_secs(20) {
        let live = api.get("corrected").await?;
        if live.data.unwrap_or_default().get("k").map(String::as_str) == Some("v") {
            reverted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(reverted, "drift not corrected: {}", watching.text());
    eprintln!(
        "drift corrected {:.1} s after the patch",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
