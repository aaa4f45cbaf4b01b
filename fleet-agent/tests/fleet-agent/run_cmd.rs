//! `fleet-agent run` end to end: two agent processes, each with its own in-process Kubernetes
//! test server, against the manager's HTTP server (started in-process on 127.0.0.1 over a
//! redb store in a temporary directory, and restarted on the same port and store).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use fleet_manager::manager::server::{App, router};
use fleet_manager::manager::store::RedbStore;
use fleet_test_tools::kube_server::KubeServer;
use serde_json::{Value, json};

const ADMIN: &str = "admin-token-of-the-test";

/// The manager's API server on its own runtime; dropping the runtime ends every connection
/// and closes the store, as a killed process would.
struct Manager {
    runtime: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
}

impl Manager {
    fn start(data: &Path, addr: SocketAddr) -> Result<Manager> {
        std::fs::create_dir_all(data)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let store = RedbStore::open(&data.join("fleet.redb"))?;
        let app = App::new(Box::new(store), ADMIN, Default::default());
        let listener = runtime.block_on(async {
            app.reconcile()
                .await
                .map_err(|e| anyhow!("initial reconcile: {e:?}"))?;
            anyhow::Ok(tokio::net::TcpListener::bind(addr).await?)
        })?;
        let addr = listener.local_addr()?;
        runtime.spawn(async move { axum::serve(listener, router(app)).await });
        Ok(Manager {
            runtime: Some(runtime),
            addr,
        })
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `fleet-agent run` process; killed on drop. Its stderr goes to a file shown on failure.
struct AgentProcess {
    child: Child,
}

impl AgentProcess {
    fn start(args: &[String], log: &Path) -> Result<AgentProcess> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let child = Command::new(env!("CARGO_BIN_EXE_fleet-agent"))
            .arg("run")
            .args(args)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .context("start fleet-agent run")?;
        Ok(AgentProcess { child })
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent()
}

/// One request: status and JSON body (Null when there is none).
fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    content_type: &str,
    body: Option<String>,
) -> Result<(u16, Value)> {
    let agent = http();
    let auth = token.map(|t| format!("Bearer {t}"));
    let response = match method {
        "GET" | "DELETE" => {
            let mut r = if method == "GET" {
                agent.get(url)
            } else {
                agent.delete(url)
            };
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call()
        }
        _ => {
            let mut r = if method == "POST" {
                agent.post(url)
            } else {
                agent.patch(url)
            };
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.header("Content-Type", content_type)
                .send(body.unwrap_or_default())
        }
    };
    let mut response = response.with_context(|| format!("{method} {url}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

fn admin(manager: &str, method: &str, path: &str, body: Option<String>) -> Result<Value> {
    let content_type = if path == "/v1/admin/apply" {
        "application/yaml"
    } else {
        "application/json"
    };
    let (status, value) = call(
        method,
        &format!("{manager}{path}"),
        Some(ADMIN),
        content_type,
        body,
    )?;
    if !(200..300).contains(&status) {
        bail!("{method} {path}: {status} {value}");
    }
    Ok(value)
}

/// A ConfigMap of a test server, if it exists.
fn config_map(kube: &KubeServer, namespace: &str, name: &str) -> Result<Option<Value>> {
    let url = format!(
        "{}/api/v1/namespaces/{namespace}/configmaps/{name}",
        kube.url()
    );
    match call("GET", &url, None, "", None)? {
        (200, v) => Ok(Some(v)),
        (404, _) => Ok(None),
        (s, v) => bail!("GET {url}: {s} {v}"),
    }
}

fn value_of(kube: &KubeServer, name: &str) -> Result<Option<String>> {
    Ok(config_map(kube, "app", name)?.and_then(|cm| cm["data"]["v"].as_str().map(str::to_string)))
}

/// A Bundle of one ConfigMap `name` with `data.v = value`, in namespace `app`, for clusters
/// with label `env` (any value when `env` is `None`).
fn bundle(name: &str, value: &str, env: Option<&str>) -> String {
    bundle_after(name, value, env, None)
}

/// [`bundle`], deployed only once the Bundle `after` is Ready in the same cluster.
fn bundle_after(name: &str, value: &str, env: Option<&str>, after: Option<&str>) -> String {
    let depends_on = after
        .map(|a| format!("  dependsOn:\n  - name: {a}\n"))
        .unwrap_or_default();
    let selector = match env {
        Some(env) => format!("matchLabels: {{env: {env}}}"),
        None => "matchExpressions: [{key: env, operator: Exists}]".to_string(),
    };
    format!(
        "apiVersion: fleet.cattle.io/v1alpha1
kind: Bundle
metadata:
  name: {name}
  namespace: fleet-default
spec:
  defaultNamespace: app
{depends_on}  resources:
  - name: cm.yaml
    content: |
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: {name}
      data:
        v: {value}
  targets:
  - clusterSelector:
      {selector}
"
    )
}

/// The manager's BundleDeployments of one bundle.
fn deployments_of(manager: &str, bundle: &str) -> Result<Vec<Value>> {
    let list = admin(manager, "GET", "/v1/admin/objects/bundledeployments", None)?;
    Ok(list["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|bd| bd["metadata"]["labels"]["fleet.cattle.io/bundle-name"] == bundle)
        .collect())
}

/// Whether a BundleDeployment's posted status says its current deployment ID is applied.
fn applied(bd: &Value) -> bool {
    let deployed = bd["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Deployed" && c["status"] == "True");
    deployed && bd["status"]["appliedDeploymentID"] == bd["spec"]["deploymentID"]
}

/// Waits until `check` gives a value; fails with `what` and the agents' logs after `limit`.
fn wait_for<T>(
    what: &str,
    limit: Duration,
    logs: &[&Path],
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = Instant::now();
    let mut last_error = None;
    loop {
        match check() {
            Ok(Some(v)) => {
                // Shown with --nocapture: how long each step took.
                eprintln!("{what}: {:?}", start.elapsed());
                return Ok(v);
            }
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if start.elapsed() > limit {
            let mut text = format!("timed out after {limit:?} waiting for {what}");
            if let Some(e) = last_error {
                text.push_str(&format!(" (last error: {e:#})"));
            }
            for log in logs {
                text.push_str(&format!(
                    "\n--- {}:\n{}",
                    log.display(),
                    std::fs::read_to_string(log).unwrap_or_default()
                ));
            }
            bail!(text);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn text(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn two_agents_pull_deploy_report_update_uninstall_and_survive_restarts() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("manager");
    let mut manager = Manager::start(&data, "127.0.0.1:0".parse()?)?;
    let base = manager.url();
    let addr = manager.addr;

    let (dev_kube, prod_kube) = (KubeServer::start()?, KubeServer::start()?);
    let (dev_config, prod_config) = (
        tmp.path().join("dev.kubeconfig"),
        tmp.path().join("prod.kubeconfig"),
    );
    dev_kube.write_kubeconfig(&dev_config)?;
    prod_kube.write_kubeconfig(&prod_config)?;

    let token = admin(
        &base,
        "POST",
        "/v1/admin/tokens",
        Some(json!({"ttlSeconds": 3600, "namespace": "fleet-default"}).to_string()),
    )?["token"]
        .as_str()
        .context("no token")?
        .to_string();
    let bundles = [
        bundle("common", "one", None),
        bundle("dev-only", "d1", Some("dev")),
        bundle("prod-only", "p1", Some("prod")),
        bundle_after("after-common", "a1", Some("dev"), Some("common")),
    ]
    .join("---\n");
    admin(&base, "POST", "/v1/admin/apply", Some(bundles))?;

    let (dev_state, prod_state) = (tmp.path().join("dev-state"), tmp.path().join("prod-state"));
    let (dev_log, prod_log) = (tmp.path().join("dev.log"), tmp.path().join("prod.log"));
    let logs = [dev_log.as_path(), prod_log.as_path()];
    let agent_args = |config: &Path, state: &Path, env: &str| -> Vec<String> {
        [
            "--manager",
            &base,
            "--kubeconfig",
            &text(config),
            "--state-dir",
            &text(state),
            "--client-id",
            &format!("{env}-cluster"),
            "--label",
            &format!("env={env}"),
            "--heartbeat-seconds",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let with_token = |mut args: Vec<String>| {
        args.extend(["--registration-token".to_string(), token.clone()]);
        args
    };
    let dev_args = agent_args(&dev_config, &dev_state, "dev");
    let prod_args = with_token(agent_args(&prod_config, &prod_state, "prod"));
    let mut dev_agent = AgentProcess::start(&with_token(dev_args.clone()), &dev_log)?;
    let _prod_agent = AgentProcess::start(&prod_args, &prod_log)?;
    let limit = Duration::from_secs(20);

    // Each cluster gets what targets it.
    wait_for("the first deploys", limit, &logs, || {
        Ok((value_of(&dev_kube, "common")?.as_deref() == Some("one")
            && value_of(&dev_kube, "dev-only")?.as_deref() == Some("d1")
            && value_of(&prod_kube, "common")?.as_deref() == Some("one")
            && value_of(&prod_kube, "prod-only")?.as_deref() == Some("p1"))
        .then_some(()))
    })?;

    // Statuses reach the manager: every BundleDeployment applied, the Bundle summary rolled up.
    wait_for("statuses at the manager", limit, &logs, || {
        let all: Vec<Value> = ["common", "dev-only", "prod-only"]
            .iter()
            .map(|b| deployments_of(&base, b))
            .collect::<Result<Vec<_>>>()?
            .concat();
        let waiting = deployments_of(&base, "after-common")?;
        Ok((all.len() == 4
            && all.iter().all(applied)
            && waiting.len() == 1
            && waiting[0]["status"]["conditions"].is_array())
        .then_some(()))
    })?;
    assert_eq!(
        value_of(&dev_kube, "prod-only")?,
        None,
        "prod-only leaked into dev"
    );
    assert_eq!(
        value_of(&prod_kube, "dev-only")?,
        None,
        "dev-only leaked into prod"
    );
    let common = wait_for("the common Bundle's summary", limit, &logs, || {
        let b = admin(
            &base,
            "GET",
            "/v1/admin/objects/bundles/fleet-default/common",
            None,
        )?;
        Ok((b["status"]["summary"]["ready"] == 2).then_some(b))
    })?;
    assert_eq!(common["status"]["summary"]["desiredReady"], 2, "{common}");
    assert_eq!(
        common["status"]["display"]["readyClusters"], "2/2",
        "{common}"
    );
    for bd in deployments_of(&base, "common")? {
        assert_eq!(bd["status"]["ready"], true, "{bd}");
        assert_eq!(bd["status"]["nonModified"], true, "{bd}");
        assert_eq!(bd["status"]["resourceCounts"]["ready"], 1, "{bd}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dev_state.join("credential.json"))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // An update of a Bundle is redeployed where it is targeted.
    admin(
        &base,
        "POST",
        "/v1/admin/apply",
        Some(bundle("dev-only", "d2", Some("dev"))),
    )?;
    wait_for("the updated dev-only", limit, &logs, || {
        Ok((value_of(&dev_kube, "dev-only")?.as_deref() == Some("d2")).then_some(()))
    })?;
    wait_for("the update's status", limit, &logs, || {
        let bds = deployments_of(&base, "dev-only")?;
        Ok((bds.len() == 1 && applied(&bds[0])).then_some(()))
    })?;

    // The manager goes away. The dev agent restarts without it (and without a token: it
    // must use its stored credential) and redeploys from its cache what was deleted; the
    // prod cluster drifts and its agent notices while the manager is down.
    manager.stop();
    dev_agent.kill();
    let (status, _) = call(
        "DELETE",
        &format!("{}/api/v1/namespaces/app/configmaps/common", dev_kube.url()),
        None,
        "",
        None,
    )?;
    assert_eq!(status, 200);
    let drifted_at = Instant::now();
    let (status, patched) = call(
        "PATCH",
        &format!(
            "{}/api/v1/namespaces/app/configmaps/prod-only?fieldManager=someone-else",
            prod_kube.url()
        ),
        None,
        "application/merge-patch+json",
        Some(json!({"data": {"v": "drifted"}}).to_string()),
    )?;
    assert_eq!(status, 200, "{patched}");
    let mut dev_agent = AgentProcess::start(&dev_args, &dev_log)?;
    wait_for("the offline redeploy from the cache", limit, &logs, || {
        Ok((value_of(&dev_kube, "common")?.as_deref() == Some("one")).then_some(()))
    })?;
    assert!(
        call("GET", &format!("{base}/healthz"), None, "", None).is_err(),
        "the manager is still down"
    );
    // The prod agent's monitoring pass (5 s after the change) runs while the manager is down.
    let offline_for = Duration::from_secs(6);
    if let Some(rest) = offline_for.checked_sub(drifted_at.elapsed()) {
        std::thread::sleep(rest);
    }

    // The manager is back on the same port and store.
    let _restarted = Manager::start(&data, addr)?;
    wait_for(
        "the drift reported after the manager's return",
        limit,
        &logs,
        || {
            let bds = deployments_of(&base, "prod-only")?;
            Ok(bds
                .first()
                .filter(|bd| bd["status"]["nonModified"] != true)
                .cloned())
        },
    )
    .map(|bd| {
        let modified = &bd["status"]["modifiedStatus"];
        assert_eq!(modified[0]["name"], "prod-only", "{bd}");
    })?;

    // Both agents poll the restarted manager: an update reaches both, a removed Bundle is
    // uninstalled.
    admin(
        &base,
        "POST",
        "/v1/admin/apply",
        Some(bundle("common", "two", None)),
    )?;
    admin(
        &base,
        "DELETE",
        "/v1/admin/objects/bundles/fleet-default/prod-only",
        None,
    )?;
    wait_for(
        "the update and the uninstall after the restart",
        limit,
        &logs,
        || {
            Ok((value_of(&dev_kube, "common")?.as_deref() == Some("two")
                && value_of(&prod_kube, "common")?.as_deref() == Some("two")
                && config_map(&prod_kube, "app", "prod-only")?.is_none())
            .then_some(()))
        },
    )?;
    wait_for(
        "the update's statuses after the restart",
        limit,
        &logs,
        || {
            let bds = deployments_of(&base, "common")?;
            Ok((bds.len() == 2 && bds.iter().all(applied)).then_some(()))
        },
    )?;
    wait_for(
        "the uninstalled deployment leaving the cache",
        limit,
        &logs,
        || Ok((!prod_state.join("deployments/prod-only").exists()).then_some(())),
    )?;
    // The dependent was deployed once common was Ready (after its requeue, or at the
    // restarted agent's first look).
    // Its requeue is 15 s after the restarted agent's first look, so more than `limit` may
    // pass here on a loaded machine.
    wait_for("the dependent deployed", 2 * limit, &logs, || {
        let bds = deployments_of(&base, "after-common")?;
        Ok(
            (value_of(&dev_kube, "after-common")?.as_deref() == Some("a1")
                && bds.len() == 1
                && applied(&bds[0]))
            .then_some(()),
        )
    })?;

    // A revoked credential: the prod agent (which holds its token) registers again, gets the
    // same cluster back, and follows the next update.
    let stored: Value =
        serde_json::from_slice(&std::fs::read(prod_state.join("credential.json"))?)?;
    let old_credential = stored["credential"]
        .as_str()
        .context("credential")?
        .to_string();
    let cluster = stored["clusterName"].as_str().context("clusterName")?;
    admin(
        &base,
        "POST",
        &format!("/v1/admin/clusters/fleet-default/{cluster}/revoke"),
        None,
    )?;
    admin(
        &base,
        "POST",
        "/v1/admin/apply",
        Some(bundle("common", "three", None)),
    )?;
    // That change ends the poll the manager held from before; the next one is refused.
    let renewed = wait_for("a new credential", limit, &logs, || {
        let stored: Value =
            serde_json::from_slice(&std::fs::read(prod_state.join("credential.json"))?)?;
        Ok((stored["credential"] != old_credential.as_str()).then_some(stored))
    })?;
    assert_eq!(renewed["clusterName"], cluster);
    admin(
        &base,
        "POST",
        "/v1/admin/apply",
        Some(bundle("common", "four", None)),
    )?;
    wait_for(
        "the update and its status after the revocation",
        limit,
        &logs,
        || {
            let bds = deployments_of(&base, "common")?;
            Ok((value_of(&prod_kube, "common")?.as_deref() == Some("four")
                && bds.len() == 2
                && bds.iter().all(applied))
            .then_some(()))
        },
    )?;
    let prod_text = std::fs::read_to_string(&prod_log)?;
    assert_eq!(
        prod_text.matches("registered as cluster").count(),
        2,
        "{prod_text}"
    );

    dev_agent.kill();
    let dev_text = std::fs::read_to_string(&dev_log)?;
    assert_eq!(
        dev_text.matches("registered as cluster").count(),
        1,
        "the restarted agent registered again:\n{dev_text}"
    );
    Ok(())
}

/// The agent against the manager's own TLS serving (`fleet_manager::manager::tls`: the CA and
/// certificate it generates in its data directory), trusting that CA with `--ca-file`. The
/// test itself administers the same server over a second, plain listener.
#[test]
fn an_agent_reaches_the_manager_over_https_with_its_ca() -> Result<()> {
    use fleet_manager::manager::tls;
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("manager");
    std::fs::create_dir_all(&data)?;
    let files = tls::ensure(&data, &[])?;
    let config = tls::server_config(&files)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let app = App::new(
        Box::new(RedbStore::open(&data.join("fleet.redb"))?),
        ADMIN,
        Default::default(),
    );
    let (plain, secure) = runtime.block_on(async {
        app.reconcile()
            .await
            .map_err(|e| anyhow!("initial reconcile: {e:?}"))?;
        let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let secure = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        anyhow::Ok((plain, secure))
    })?;
    let base = format!("http://{}", plain.local_addr()?);
    let secure_url = format!("https://{}", secure.local_addr()?);
    runtime.spawn(std::future::IntoFuture::into_future(axum::serve(
        plain,
        router(app.clone()),
    )));
    runtime.spawn(tls::serve(
        secure,
        config,
        router(app),
        std::future::pending(),
    ));

    let kube = KubeServer::start()?;
    let kubeconfig = tmp.path().join("kubeconfig");
    kube.write_kubeconfig(&kubeconfig)?;
    let token = admin(
        &base,
        "POST",
        "/v1/admin/tokens",
        Some(json!({"ttlSeconds": 600, "namespace": "fleet-default"}).to_string()),
    )?["token"]
        .as_str()
        .context("no token")?
        .to_string();
    admin(
        &base,
        "POST",
        "/v1/admin/apply",
        Some(bundle("secure", "s1", None)),
    )?;
    let log = tmp.path().join("agent.log");
    let args: Vec<String> = [
        "--manager",
        &secure_url,
        "--ca-file",
        &text(&files.ca),
        "--registration-token",
        &token,
        "--kubeconfig",
        &text(&kubeconfig),
        "--state-dir",
        &text(&tmp.path().join("state")),
        "--client-id",
        "secure-cluster",
        "--label",
        "env=any",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let _agent = AgentProcess::start(&args, &log)?;
    wait_for(
        "the deploy and its status over https",
        Duration::from_secs(20),
        &[log.as_path()],
        || {
            let bds = deployments_of(&base, "secure")?;
            Ok((value_of(&kube, "secure")?.as_deref() == Some("s1")
                && bds.len() == 1
                && applied(&bds[0]))
            .then_some(()))
        },
    )?;
    runtime.shutdown_timeout(Duration::from_secs(2));
    Ok(())
}

/// Creates an object on a test server through its HTTP API.
fn create(kube: &KubeServer, path: &str, object: &Value) -> Result<()> {
    let url = format!("{}{path}", kube.url());
    match call(
        "POST",
        &url,
        None,
        "application/json",
        Some(object.to_string()),
    )? {
        (201 | 200, _) => Ok(()),
        (s, v) => bail!("POST {url}: {s} {v}"),
    }
}

/// Garbage collection at start: the cluster holds the inventories of two BundleDeployments
/// the manager does not list (left behind, say, by a cluster whose agent state was lost);
/// a starting agent uninstalls them once the manager has listed, keeping the objects of the
/// one whose inventory recorded `keepResources`, and leaves what the manager lists alone.
#[test]
fn a_starting_agent_uninstalls_inventoried_deployments_the_manager_does_not_list() -> Result<()> {
    use fleet_agent::deploy::{Inventory, ObjectRef};
    let tmp = tempfile::tempdir()?;
    let manager = Manager::start(&tmp.path().join("manager"), "127.0.0.1:0".parse()?)?;
    let base = manager.url();
    let kube = KubeServer::start()?;
    let kubeconfig = tmp.path().join("kubeconfig");
    kube.write_kubeconfig(&kubeconfig)?;
    let token = admin(
        &base,
        "POST",
        "/v1/admin/tokens",
        Some(json!({"ttlSeconds": 600, "namespace": "fleet-default"}).to_string()),
    )?["token"]
        .as_str()
        .context("no token")?
        .to_string();
    admin(
        &base,
        "POST",
        "/v1/admin/apply",
        Some(bundle("listed", "l1", None)),
    )?;

    for ns in ["app", "cattle-fleet-system"] {
        create(
            &kube,
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        )?;
    }
    for (name, keep) in [("stray", false), ("kept-stray", true)] {
        create(
            &kube,
            "/api/v1/namespaces/app/configmaps",
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                    "data": {"v": "old"}}),
        )?;
        let inventory = Inventory {
            deployment_id: "old-manifest:opts".into(),
            namespace: "app".into(),
            objects: vec![ObjectRef {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: "app".into(),
                name: name.into(),
            }],
            bundle_deployment: name.into(),
            keep_resources: keep,
            hooks: Vec::new(),
        };
        create(
            &kube,
            "/api/v1/namespaces/cattle-fleet-system/configmaps",
            &inventory.to_config_map(name, "cattle-fleet-system"),
        )?;
    }

    let log = tmp.path().join("agent.log");
    let args: Vec<String> = [
        "--manager",
        &base,
        "--registration-token",
        &token,
        "--kubeconfig",
        &text(&kubeconfig),
        "--state-dir",
        &text(&tmp.path().join("state")),
        "--client-id",
        "gc-cluster",
        "--label",
        "env=any",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let _agent = AgentProcess::start(&args, &log)?;
    let inventory_of = |name: &str| {
        config_map(
            &kube,
            "cattle-fleet-system",
            &format!("fleet-agent-inventory-{name}"),
        )
    };
    wait_for(
        "the listed deploy and the strays collected",
        Duration::from_secs(20),
        &[log.as_path()],
        || {
            Ok((value_of(&kube, "listed")?.as_deref() == Some("l1")
                && value_of(&kube, "stray")?.is_none()
                && inventory_of("stray")?.is_none()
                && inventory_of("kept-stray")?.is_none())
            .then_some(()))
        },
    )?;
    assert_eq!(
        value_of(&kube, "kept-stray")?.as_deref(),
        Some("old"),
        "keepResources keeps the objects"
    );
    assert!(
        inventory_of("listed")?.is_some(),
        "what the manager lists stays"
    );
    let text = std::fs::read_to_string(&log)?;
    assert!(text.contains("uninstalled stray"), "{text}");
    Ok(())
}

/// One watch per kind, closed when no deployment has that kind any more: the agent talks to
/// its cluster through a proxy that records requests and closed connections; once the only
/// Bundle with a Secret is deleted and uninstalled, the Secret watch's connection is closed
/// and not reopened, while the ConfigMap watch of the remaining Bundle stays open.
#[test]
fn run_closes_the_watch_of_a_kind_no_deployment_has_any_more() -> Result<()> {
    use crate::proxy::{Recorded, tracking_proxy};
    use std::sync::{Arc, Mutex};
    let tmp = tempfile::tempdir()?;
    let manager = Manager::start(&tmp.path().join("manager"), "127.0.0.1:0".parse()?)?;
    let base = manager.url();
    let kube = KubeServer::start()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
    let closed: Arc<Mutex<Vec<usize>>> = Arc::default();
    let upstream = kube.url().trim_start_matches("http://").to_string();
    let proxy = runtime.block_on(tracking_proxy(upstream, requests.clone(), closed.clone()))?;
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        fleet_test_tools::kube_server::kubeconfig_for(&proxy),
    )?;
    let token = admin(
        &base,
        "POST",
        "/v1/admin/tokens",
        Some(json!({"ttlSeconds": 600, "namespace": "fleet-default"}).to_string()),
    )?["token"]
        .as_str()
        .context("no token")?
        .to_string();
    let secret_bundle = "apiVersion: fleet.cattle.io/v1alpha1
kind: Bundle
metadata:
  name: secret
  namespace: fleet-default
spec:
  defaultNamespace: app
  resources:
  - name: secret.yaml
    content: |
      apiVersion: v1
      kind: Secret
      metadata:
        name: secret
      stringData:
        v: s1
  targets:
  - clusterSelector:
      matchExpressions: [{key: env, operator: Exists}]
";
    let bundles = [bundle("config", "c1", None), secret_bundle.to_string()].join("---\n");
    admin(&base, "POST", "/v1/admin/apply", Some(bundles))?;
    let log = tmp.path().join("agent.log");
    let args: Vec<String> = [
        "--manager",
        &base,
        "--registration-token",
        &token,
        "--kubeconfig",
        &text(&kubeconfig),
        "--state-dir",
        &text(&tmp.path().join("state")),
        "--client-id",
        "watch-cluster",
        "--label",
        "env=any",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let _agent = AgentProcess::start(&args, &log)?;
    let logs = [log.as_path()];
    let watches_of = |plural: &str| -> Vec<usize> {
        requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| {
                r.method == "GET"
                    && r.target.starts_with(&format!("/api/v1/{plural}?"))
                    && r.target.contains("watch=true")
            })
            .map(|r| r.connection)
            .collect()
    };
    let secret_exists = || -> Result<bool> {
        let url = format!("{}/api/v1/namespaces/app/secrets/secret", kube.url());
        Ok(call("GET", &url, None, "", None)?.0 == 200)
    };
    let secret_watches = wait_for(
        "both deploys and their watches",
        Duration::from_secs(20),
        &logs,
        || {
            let secrets = watches_of("secrets");
            Ok((value_of(&kube, "config")?.as_deref() == Some("c1")
                && secret_exists()?
                && !secrets.is_empty()
                && !watches_of("configmaps").is_empty())
            .then_some(secrets))
        },
    )?;

    admin(
        &base,
        "DELETE",
        "/v1/admin/objects/bundles/fleet-default/secret",
        None,
    )?;
    wait_for(
        "the uninstall and the Secret watch closed",
        Duration::from_secs(20),
        &logs,
        || {
            let closed = closed.lock().unwrap().clone();
            Ok(
                (!secret_exists()? && secret_watches.iter().all(|c| closed.contains(c)))
                    .then_some(()),
            )
        },
    )?;
    // Nothing watches Secrets any more; the ConfigMap watch is still open.
    std::thread::sleep(Duration::from_millis(500));
    let closed = closed.lock().unwrap().clone();
    let secrets = watches_of("secrets");
    assert!(
        secrets.iter().all(|c| closed.contains(c)),
        "a Secret watch was reopened: {secrets:?}, closed {closed:?}"
    );
    let config_maps = watches_of("configmaps");
    assert!(
        config_maps.iter().any(|c| !closed.contains(c)),
        "the ConfigMap watch was closed too: {config_maps:?}, closed {closed:?}"
    );
    Ok(())
}
