//! A commit rolled out by a real `fleet-manager serve` process to real agents
//! (`fleet-agent run`'s loop, in threads) deploying into in-memory API servers, under
//! `rolloutStrategy.maxUnavailable: 1`. The test plays the clusters' workload controllers: a
//! Deployment reports a finished rollout only when the test says so, so each cluster stays
//! unavailable until then and every step of the rollout can be watched.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fleet_test_tools::git_http::git;
use fleet_test_tools::kube_server::store::WriteOptions;
use fleet_test_tools::kube_server::{KubeServer, Options};
use serde_json::{Value, json};

use crate::serve::{Server, start_on};

fn deployment(version: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        env:\n        - name: VERSION\n          value: \"{version}\"\n"
    )
}

/// Marks every Deployment whose status lags its spec as rolled out (the part a cluster's
/// Deployment controller plays); returns how many it marked.
fn finish_rollouts(server: &KubeServer) -> usize {
    server.with_store(|s| {
        let Ok(rt) = s.resolve("apps", "v1", "deployments").cloned() else {
            return 0;
        };
        let Ok(list) = s.list(&rt, None, &Default::default()) else {
            return 0;
        };
        let mut n = 0;
        for d in list["items"].as_array().cloned().unwrap_or_default() {
            let generation = d["metadata"]["generation"].as_i64().unwrap_or(1);
            if d["status"]["observedGeneration"].as_i64() == Some(generation) {
                continue;
            }
            let mut body = d.clone();
            body["status"] = json!({"observedGeneration": generation, "replicas": 1,
                "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]});
            let ns = d["metadata"]["namespace"].as_str().unwrap_or_default();
            let name = d["metadata"]["name"].as_str().unwrap_or_default();
            let opts = WriteOptions {
                status: true,
                ..Default::default()
            };
            if s.update(&rt, ns, name, body, &opts).is_ok() {
                n += 1;
            }
        }
        n
    })
}

/// The `VERSION` a cluster's Deployment runs.
fn running_version(server: &KubeServer) -> Option<String> {
    server.with_store(|s| {
        let rt = s.resolve("apps", "v1", "deployments").ok()?.clone();
        let d = s.get(&rt, "app", "web").ok()?;
        d["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"]
            .as_str()
            .map(str::to_owned)
    })
}

/// A git repository served over HTTP, a manager on a fixed port, and clusters with agents.
struct Rig {
    _tmp: tempfile::TempDir,
    work: PathBuf,
    served: PathBuf,
    _git: fleet_test_tools::git_http::GitHttpServer,
    data: PathBuf,
    listen: String,
    manager: Option<Server>,
    clusters: Vec<KubeServer>,
    http: ureq::Agent,
    admin: String,
}

impl Rig {
    fn new(clusters: usize) -> Rig {
        let tmp = tempfile::tempdir().expect("tempdir");
        let work = tmp.path().join("work");
        std::fs::create_dir_all(work.join("app")).unwrap();
        git(&work, &["init", "-q", "-b", "master"]);
        std::fs::write(work.join("app/deploy.yaml"), deployment("1")).unwrap();
        std::fs::write(
            work.join("app/fleet.yaml"),
            "defaultNamespace: app\nrolloutStrategy:\n  maxUnavailable: 1\n",
        )
        .unwrap();
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "first"]);
        let git_server = fleet_test_tools::git_http::serve_repo(&work, tmp.path(), false);
        let served = tmp.path().join("served/repo.git");
        let url = format!("{}/repo.git", git_server.base);

        let data = tmp.path().join("data");
        let listen = format!("127.0.0.1:{}", fleet_test_tools::git_http::free_port());
        let manager = start_on(&data, &listen, &["--plain-http"]);
        let admin = std::fs::read_to_string(data.join("admin-token"))
            .unwrap()
            .trim()
            .to_owned();
        let mut rig = Rig {
            _tmp: tmp,
            work,
            served,
            _git: git_server,
            data,
            listen,
            manager: Some(manager),
            clusters: Vec::new(),
            http: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .new_agent(),
            admin,
        };
        rig.post(
            "/v1/admin/apply",
            format!(
                "apiVersion: fleet.cattle.io/v1alpha1\nkind: GitRepo\nmetadata:\n  name: repo\n  namespace: fleet-default\nspec:\n  repo: {url}\n  pollingInterval: 1s\n  paths:\n  - app\n  targets:\n  - clusterSelector:\n      matchLabels:\n        rollout: e2e\n"
            ),
        );
        let token = rig.post(
            "/v1/admin/tokens",
            json!({"ttlSeconds": 3600, "namespace": "fleet-default"}).to_string(),
        )["token"]
            .as_str()
            .expect("a registration token")
            .to_owned();
        for i in 0..clusters {
            let server = KubeServer::bind("127.0.0.1:0".parse().unwrap(), Options::default())
                .expect("an in-memory cluster");
            let dir = rig.data.parent().unwrap().join(format!("cluster-{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            let kubeconfig = dir.join("kubeconfig");
            server.write_kubeconfig(&kubeconfig).unwrap();
            let args = fleet_agent::cmd::run::RunArgs {
                manager: format!("http://{}", rig.listen),
                registration_token: Some(token.clone()),
                credential_file: None,
                ca_file: None,
                kubeconfig: Some(kubeconfig),
                quiet: true,
                labels: vec![("rollout".into(), "e2e".into())],
                state_dir: dir.join("state"),
                client_id: Some(format!("cluster-{i}")),
                agent_namespace: fleet_agent::cluster::DEFAULT_AGENT_NAMESPACE.to_string(),
                heartbeat_seconds: 5,
            };
            std::thread::spawn(move || {
                let _ =
                    fleet_agent::cmd::run::run(&args, &mut std::io::sink(), &mut std::io::sink());
            });
            rig.clusters.push(server);
        }
        rig
    }

    fn base(&self) -> String {
        format!("http://{}", self.listen)
    }

    fn post(&self, path: &str, body: String) -> Value {
        let mut r = self
            .http
            .post(format!("{}{path}", self.base()))
            .header("Authorization", format!("Bearer {}", self.admin))
            .send(body)
            .expect("admin request");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap_or(Value::Null)
    }

    /// A list from the admin API; `None` while the manager is down.
    fn list(&self, kind: &str) -> Option<Vec<Value>> {
        let mut r = self
            .http
            .get(format!("{}/v1/admin/objects/{kind}", self.base()))
            .header("Authorization", format!("Bearer {}", self.admin))
            .call()
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok()?;
        v["items"].as_array().cloned()
    }

    fn commit(&self, version: &str) {
        std::fs::write(self.work.join("app/deploy.yaml"), deployment(version)).unwrap();
        git(&self.work, &["commit", "-q", "-am", version]);
        git(
            &self.work,
            &["push", "-q", self.served.to_str().unwrap(), "master"],
        );
    }

    /// The in-memory API server of a Cluster (by its name in the manager).
    fn server_of(&self, cluster: &str) -> Option<&KubeServer> {
        let clusters = self.list("clusters")?;
        let c = clusters.iter().find(|c| c["metadata"]["name"] == cluster)?;
        let index: usize = c["spec"]["clientID"]
            .as_str()?
            .strip_prefix("cluster-")?
            .parse()
            .ok()?;
        self.clusters.get(index)
    }

    fn finish_all(&self) {
        for c in &self.clusters {
            finish_rollouts(c);
        }
    }

    /// Plays the workload controllers until every cluster's BundleDeployment is Ready on
    /// one deployment ID, which it returns.
    fn wait_all_ready(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            self.finish_all();
            if let Some(bds) = self.list("bundledeployments")
                && bds.len() == self.clusters.len()
                && bds.iter().all(|bd| {
                    bd["status"]["ready"] == true
                        && bd["status"]["appliedDeploymentID"] == bd["spec"]["deploymentID"]
                        && bd["spec"]["deploymentID"] == bd["spec"]["stagedDeploymentID"]
                        && bd["spec"]["deploymentID"] == bds[0]["spec"]["deploymentID"]
                })
            {
                return bds[0]["spec"]["deploymentID"].as_str().unwrap().to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "the clusters never all became Ready: {:?}",
                self.list("bundledeployments")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn unavailable(bd: &Value) -> bool {
    bd["status"]["ready"] != true
        || bd["status"]["appliedDeploymentID"] != bd["spec"]["deploymentID"]
}

fn cluster_of(bd: &Value) -> String {
    bd["metadata"]["labels"]["fleet.cattle.io/cluster"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// What the test saw while a rollout progressed.
#[derive(Default)]
struct Watch {
    /// Clusters in the order they were seen moved to the new deployment.
    order: Vec<String>,
    /// The numbers of clusters on the new deployment seen in samples.
    moved_counts: std::collections::BTreeSet<usize>,
    /// The largest number of unavailable BundleDeployments in one sample.
    max_unavailable: usize,
    /// A sample showed a cluster kept on the old deployment with the new one staged.
    saw_kept_back: bool,
    /// A sample where the Bundle's status showed the budget in use.
    saw_budget_status: bool,
    /// Clusters unavailable on the new deployment in the last sample.
    moving: Vec<String>,
}

impl Watch {
    /// Samples the stored BundleDeployments (one consistent read) and checks the invariant.
    fn sample(&mut self, rig: &Rig, old: &str) -> Option<Vec<Value>> {
        let bds = rig.list("bundledeployments")?;
        let down: Vec<String> = bds
            .iter()
            .filter(|bd| unavailable(bd))
            .map(cluster_of)
            .collect();
        assert!(
            down.len() <= 1,
            "more than one cluster unavailable under maxUnavailable 1: {down:?}"
        );
        self.max_unavailable = self.max_unavailable.max(down.len());
        let moved: Vec<&Value> = bds
            .iter()
            .filter(|bd| bd["spec"]["deploymentID"] != old)
            .collect();
        self.moved_counts.insert(moved.len());
        self.moving = moved
            .iter()
            .filter(|bd| unavailable(bd))
            .map(|bd| cluster_of(bd))
            .collect();
        for bd in moved {
            let c = cluster_of(bd);
            if !self.order.contains(&c) {
                self.order.push(c);
            }
        }
        if bds
            .iter()
            .any(|bd| bd["spec"]["deploymentID"] == old && bd["spec"]["stagedDeploymentID"] != old)
        {
            self.saw_kept_back = true;
        }
        if let Some(b) = rig.list("bundles").and_then(|b| b.into_iter().next()) {
            let st = &b["status"];
            if st["maxUnavailable"] == 1 && st["unavailable"] == 1 {
                self.saw_budget_status = true;
            }
        }
        Some(bds)
    }
}

/// Runs a rollout: sample, let the workload of a cluster seen moving finish, sample again;
/// until every cluster is Ready on a new deployment (returned), or `stop_after` clusters
/// were seen moving.
fn roll(rig: &Rig, old: &str, watch: &mut Watch, stop_after: Option<usize>) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(bds) = watch.sample(rig, old) {
            let done = bds.len() == rig.clusters.len()
                && bds.iter().all(|bd| {
                    bd["spec"]["deploymentID"] != old
                        && bd["spec"]["deploymentID"] == bd["spec"]["stagedDeploymentID"]
                        && !unavailable(bd)
                });
            if done {
                return bds[0]["spec"]["deploymentID"].as_str().map(str::to_owned);
            }
            if stop_after.is_some_and(|n| watch.order.len() >= n) {
                return None;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the rollout did not finish; moved so far: {:?}",
            watch.order
        );
        std::thread::sleep(Duration::from_millis(100));
        // Only a cluster this test has seen moving gets its workload finished, so every
        // step of the rollout is seen.
        for c in watch.moving.clone() {
            if let Some(server) = rig.server_of(&c) {
                finish_rollouts(server);
            }
        }
    }
}

#[test]
fn a_commit_rolls_out_one_cluster_at_a_time_under_max_unavailable_one() {
    let rig = Rig::new(4);
    let old = rig.wait_all_ready();
    let bundle = rig.list("bundles").unwrap().remove(0);
    assert_eq!(bundle["status"]["maxUnavailable"], 1, "{bundle}");
    assert_eq!(bundle["status"]["partitions"][0]["name"], "All");
    assert_eq!(bundle["status"]["partitions"][0]["count"], 4);
    for c in &rig.clusters {
        assert_eq!(running_version(c).as_deref(), Some("1"));
    }

    rig.commit("2");
    let mut watch = Watch::default();
    let new = roll(&rig, &old, &mut watch, None).expect("finished");
    assert_ne!(new, old);
    // Each cluster was seen moving on its own, one after the other, the others kept back.
    assert_eq!(watch.order.len(), 4, "{:?}", watch.order);
    assert_eq!(
        watch.moved_counts,
        (0..=4).collect(),
        "not every step of the rollout was seen"
    );
    assert_eq!(watch.max_unavailable, 1);
    assert!(watch.saw_kept_back);
    assert!(
        watch.saw_budget_status,
        "the Bundle never showed unavailable 1/1"
    );
    for c in &rig.clusters {
        assert_eq!(running_version(c).as_deref(), Some("2"));
    }
    let bundle = rig.list("bundles").unwrap().remove(0);
    assert_eq!(bundle["status"]["display"]["readyClusters"], "4/4");
    assert_eq!(bundle["status"]["unavailable"], 0);
}

#[test]
fn a_manager_killed_mid_rollout_resumes_it_after_a_restart() {
    let mut rig = Rig::new(3);
    let old = rig.wait_all_ready();
    rig.commit("2");
    let mut watch = Watch::default();
    assert!(roll(&rig, &old, &mut watch, Some(1)).is_none());
    // One cluster moved and is still deploying: kill -9 the manager.
    drop(rig.manager.take());
    // The moved cluster finishes while the manager is down; its agent keeps retrying.
    assert_eq!(watch.moving.len(), 1, "{:?}", watch.moving);
    for c in &rig.clusters {
        finish_rollouts(c);
    }
    std::thread::sleep(Duration::from_millis(500));
    rig.manager = Some(start_on(&rig.data, &rig.listen, &["--plain-http"]));
    let new = roll(&rig, &old, &mut watch, None).expect("finished");
    assert_ne!(new, old);
    assert_eq!(watch.order.len(), 3, "{:?}", watch.order);
    assert_eq!(watch.moved_counts, (0..=3).collect());
    assert_eq!(watch.max_unavailable, 1);
    for c in &rig.clusters {
        assert_eq!(running_version(c).as_deref(), Some("2"));
    }
}
