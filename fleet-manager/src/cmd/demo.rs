//! `fleet-manager demo`: the whole loop on one machine with nothing but cargo and git.
//!
//! A manager (the same server as `serve`, over a store in a temporary directory) reads
//! `examples/repo`, committed into a fresh local git repository, as a GitRepo; N real agents
//! (`fleet-agent run`'s loop, in this process) each register and deploy into their own
//! in-memory Kubernetes API server (the test kit's, with workloads that report a finished
//! rollout since it runs no pods). The demo waits until every cluster is Ready, prints the
//! status tables, commits a change and shows it roll out.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::cmd::ctl;
use crate::manager::reconcile::deployment_state;
use crate::manager::server::{self, App};
use crate::manager::sources;
use crate::manager::store::RedbStore;

/// Arguments of `fleet-manager demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// How many clusters (agents, each with its own in-memory API server).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub clusters: u32,
    /// The repository to deploy (default: the workspace's `examples/repo`).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Bundle paths of the repository.
    #[arg(long = "path", value_name = "PATH", default_values_t = ["manifests".to_string(), "kustomize".to_string(), "helm".to_string()])]
    pub paths: Vec<String>,
    /// Give up when the clusters are not Ready after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_seconds: u64,
}

fn example_repo(args: &DemoArgs) -> Result<PathBuf> {
    if let Some(r) = &args.repo {
        return Ok(r.clone());
    }
    let candidates = [
        PathBuf::from("examples/repo"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/repo"),
    ];
    candidates
        .into_iter()
        .find(|p| p.join("README.md").exists())
        .context("cannot find examples/repo: run from the workspace or pass --repo DIR")
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            if entry.file_name() != ".git" {
                copy_dir(&entry.path(), &target)?;
            }
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=fleet-rs demo",
            "-c",
            "user.email=demo@fleet-rs.invalid",
        ])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=master",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .context("running git (the demo needs the git command)")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A blocking client of the admin API.
struct Admin {
    agent: ureq::Agent,
    base: String,
    token: String,
}

impl Admin {
    fn call(&self, method: &str, path: &str, body: Option<String>) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.token);
        let resp = match body {
            None => self.agent.get(&url).header("Authorization", &auth).call(),
            Some(b) => self.agent.post(&url).header("Authorization", &auth).send(b),
        };
        let mut resp = resp.with_context(|| format!("{method} {path}"))?;
        let status = resp.status();
        let text = resp.body_mut().read_to_string()?;
        if !status.is_success() {
            bail!("{path}: {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn list(&self, kind: &str) -> Result<Vec<Value>> {
        Ok(
            self.call("GET", &format!("/v1/admin/objects/{kind}"), None)?["items"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        )
    }
}

/// Clusters whose every BundleDeployment is Ready at the deployment ID of the current
/// Bundles (`expected` of them per cluster).
fn ready_clusters(bds: &[Value], expected: usize) -> usize {
    let mut per: std::collections::BTreeMap<String, (usize, bool)> = Default::default();
    for bd in bds {
        let key = bd["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let ok = deployment_state(bd) == "Ready"
            && bd["status"]["appliedDeploymentID"] == bd["spec"]["deploymentID"];
        let e = per.entry(key).or_insert((0, true));
        e.0 += 1;
        e.1 &= ok;
    }
    per.values().filter(|(n, ok)| *n == expected && *ok).count()
}

fn progress(label: &str, done: usize, total: usize, started: Instant) {
    let width = 40;
    let filled = (done * width)
        .checked_div(total)
        .unwrap_or(width)
        .min(width);
    let bar: String = "#".repeat(filled) + &".".repeat(width - filled);
    let mut out = std::io::stdout().lock();
    let _ = write!(
        out,
        "\r  {label} [{bar}] {done}/{total} clusters Ready  {:>6.1} s",
        started.elapsed().as_secs_f64()
    );
    let _ = out.flush();
}

fn wait_ready(
    admin: &Admin,
    label: &str,
    clusters: usize,
    bundles: usize,
    timeout: Duration,
    commit: Option<&str>,
) -> Result<Duration> {
    let started = Instant::now();
    loop {
        let bds = admin.list("bundledeployments")?;
        let current: Vec<Value> = match commit {
            Some(c) => bds
                .into_iter()
                .filter(|bd| bd["metadata"]["labels"]["fleet.cattle.io/commit"] == c)
                .collect(),
            None => bds,
        };
        let ready = ready_clusters(&current, bundles);
        progress(label, ready, clusters, started);
        if ready == clusters {
            println!();
            return Ok(started.elapsed());
        }
        if started.elapsed() > timeout {
            println!();
            let states: std::collections::BTreeMap<&str, usize> =
                current.iter().fold(Default::default(), |mut m, bd| {
                    *m.entry(deployment_state(bd)).or_default() += 1;
                    m
                });
            bail!(
                "not every cluster was Ready after {} s: BundleDeployments by state {states:?}",
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Runs the demo.
pub fn run(args: &DemoArgs) -> Result<String> {
    let source = example_repo(args)?;
    let tmp = std::env::temp_dir().join(format!(
        "fleet-rs-demo-{}",
        server::secret()?.get(..12).unwrap_or("x")
    ));
    let result = run_in(args, &source, &tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn run_in(args: &DemoArgs, source: &Path, tmp: &Path) -> Result<String> {
    let n = args.clusters as usize;
    let repo = tmp.join("repo");
    copy_dir(source, &repo)?;
    git(&repo, &["init", "-q"])?;
    git(&repo, &["add", "-A"])?;
    git(
        &repo,
        &["commit", "-q", "-m", "fleet-rs demo: first commit"],
    )?;
    println!(
        "fleet-rs demo: {n} clusters, repository {} ({})",
        source.display(),
        args.paths.join(", ")
    );

    // The manager: the same server as `fleet-manager serve`, in this process.
    let data = tmp.join("data");
    std::fs::create_dir_all(&data)?;
    let store = RedbStore::open(&data.join("fleet.redb")).context("opening the store")?;
    let token = server::secret()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let app = App::new(Box::new(store), &token, server::Options::default());
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let base = format!("http://{}", listener.local_addr()?);
    {
        let app = app.clone();
        runtime.spawn(async move {
            let _ = axum::serve(listener, server::router(app)).await;
        });
    }
    runtime.spawn(sources::run_poller(app.clone()));
    runtime.spawn(Arc::clone(&app).run_offline_monitor());
    println!("  manager on {base}, data in {}", data.display());

    let admin = Admin {
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent(),
        base: base.clone(),
        token,
    };
    let paths: String = args.paths.iter().map(|p| format!("  - {p}\n")).collect();
    let gitrepo = format!(
        "apiVersion: fleet.cattle.io/v1alpha1\nkind: GitRepo\nmetadata:\n  name: demo\n  namespace: fleet-default\nspec:\n  repo: file://{}\n  branch: master\n  pollingInterval: 2s\n  paths:\n{paths}  targets:\n  - clusterSelector:\n      matchLabels:\n        fleet-rs-demo: \"true\"\n",
        repo.display()
    );
    admin.call("POST", "/v1/admin/apply", Some(gitrepo))?;
    let reg = admin.call(
        "POST",
        "/v1/admin/tokens",
        Some(json!({"ttlSeconds": 3600, "namespace": "fleet-default"}).to_string()),
    )?;
    let reg_token = reg["token"].as_str().context("no token")?.to_owned();

    // The clusters: one in-memory API server and one agent each.
    let started = Instant::now();
    let mut servers = Vec::with_capacity(n);
    for i in 0..n {
        let server = fleet_test_tools::kube_server::KubeServer::bind(
            "127.0.0.1:0".parse()?,
            fleet_test_tools::kube_server::Options {
                ready_workloads: true,
                ..Default::default()
            },
        )
        .context("starting an in-memory cluster")?;
        let dir = tmp.join(format!("cluster-{i:04}"));
        std::fs::create_dir_all(&dir)?;
        let kubeconfig = dir.join("kubeconfig");
        server.write_kubeconfig(&kubeconfig)?;
        let env = if i % 2 == 0 { "dev" } else { "prod" };
        let region = if i % 3 == 0 { "eu" } else { "us" };
        let run_args = fleet_agent::cmd::run::RunArgs {
            manager: base.clone(),
            registration_token: Some(reg_token.clone()),
            credential_file: None,
            ca_file: None,
            kubeconfig,
            labels: vec![
                ("fleet-rs-demo".into(), "true".into()),
                ("env".into(), env.into()),
                ("region".into(), region.into()),
            ],
            state_dir: dir.join("state"),
            client_id: Some(format!("demo-cluster-{i:04}")),
            agent_namespace: fleet_agent::cluster::DEFAULT_AGENT_NAMESPACE.to_string(),
            heartbeat_seconds: 30,
        };
        std::thread::Builder::new()
            .name(format!("agent-{i}"))
            .spawn(move || {
                let mut sink = std::io::sink();
                let mut sink2 = std::io::sink();
                let _ = fleet_agent::cmd::run::run(&run_args, &mut sink, &mut sink2);
            })
            .context("starting an agent")?;
        servers.push(server);
    }
    println!(
        "  started {n} clusters and agents in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let bundles = args.paths.len();
    let timeout = Duration::from_secs(args.timeout_seconds);
    let first = wait_ready(&admin, "deploy ", n, bundles, timeout, None)?;
    println!(
        "  every cluster Ready {:.1} s after the agents started\n",
        first.as_secs_f64()
    );
    let mut out = String::new();
    out.push_str(&ctl::table("gitrepo", &admin.list("gitrepos")?));
    out.push('\n');
    out.push_str(&ctl::table("bundle", &admin.list("bundles")?));
    println!("{out}");

    // A commit: every cluster gets it.
    let cm = repo.join("kustomize/base/configmap.yaml");
    let text = std::fs::read_to_string(&cm).unwrap_or_default();
    std::fs::write(&cm, format!("{text}  changed: \"by the demo\"\n"))?;
    git(
        &repo,
        &[
            "commit",
            "-q",
            "-am",
            "fleet-rs demo: change the kustomize config map",
        ],
    )?;
    let commit = git(&repo, &["rev-parse", "HEAD"])?;
    println!(
        "  committed {} (kustomize/base/configmap.yaml)",
        &commit[..12]
    );
    let committed = Instant::now();
    loop {
        let repos = admin.list("gitrepos")?;
        if repos
            .iter()
            .any(|r| r["status"]["commit"] == commit.as_str())
        {
            break;
        }
        if committed.elapsed() > timeout {
            bail!(
                "the manager did not read commit {commit} within {} s",
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "  the manager read it after {:.1} s",
        committed.elapsed().as_secs_f64()
    );
    // Bundles of the new commit first: the poller sees it within its 2 s interval.
    let rollout = wait_ready(&admin, "rollout", n, bundles, timeout, Some(&commit))?;
    let _ = rollout;
    let total = committed.elapsed();
    println!(
        "  commit -> every cluster Ready: {:.1} s\n",
        total.as_secs_f64()
    );
    let mut out = String::new();
    out.push_str(&ctl::table("gitrepo", &admin.list("gitrepos")?));
    out.push('\n');
    out.push_str(&ctl::table(
        "cluster",
        &admin
            .list("clusters")?
            .into_iter()
            .take(10)
            .collect::<Vec<_>>(),
    ));
    if n > 10 {
        out.push_str(&format!("... and {} more clusters\n", n - 10));
    }
    drop(servers);
    runtime.shutdown_background();
    Ok(out)
}
