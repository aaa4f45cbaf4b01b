//! `fleet-agent run`: the agent's pull loop against a manager, deploying into the cluster a
//! kubeconfig points at.
//!
//! ```text
//! fleet-agent run --manager URL (--registration-token T | --credential-file F) [--ca-file F]
//!                 --kubeconfig FILE [--label K=V]... [--state-dir DIR] [--client-id ID]
//!                 [--agent-namespace NS] [--heartbeat-seconds N]
//! ```
//!
//! Every decision is [`crate::run::Agent`]'s; this shell only carries its actions out:
//!
//! * one task owns the cluster [`Executor`] and runs deploys, uninstalls and monitoring
//!   passes one after the other (so they never interleave their reads and writes);
//! * calls to the manager run as blocking tasks, each reporting back as an event;
//! * one watch per kind deployed (`objectset.rio.cattle.io/hash` exists, all namespaces)
//!   serves every BundleDeployment: changes are told apart by the label's value; a kind no
//!   deployment has any more (after an uninstall or an upgrade that dropped it) has its
//!   watch closed;
//! * at start, the inventories in the cluster are listed once for garbage collection
//!   ([`crate::run`](mod@crate::run));
//! * the loop sleeps until the agent's next wakeup, never polls.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kube::api::{Api, DynamicObject};
use serde_json::Value;
use tokio::sync::mpsc;

use fleet_core::crd::{BundleDeployment, BundleDeploymentSpec};
use fleet_core::manifest::Manifest;

use crate::cache::{Credential, Entry, StateDir};
use crate::cluster::{self, DEFAULT_AGENT_NAMESPACE, Executor};
use crate::monitor::{self, WatchedKind};
use crate::run::{Action, Agent, Event, manager_backoff};
use crate::upstream::{self, Client};
use crate::{deploy, status};

/// Arguments of `fleet-agent run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The manager's URL (`http://HOST:PORT` or `https://HOST:PORT`).
    #[arg(long, value_name = "URL")]
    pub manager: String,
    /// Registration token (from `fleet-manager ctl token create`); used once, when the state
    /// directory holds no credential yet.
    #[arg(long, value_name = "TOKEN", conflicts_with = "credential_file")]
    pub registration_token: Option<String>,
    /// A credential instead of registering: the `credential.json` a registration wrote, or
    /// a file holding only the token.
    #[arg(long, value_name = "FILE")]
    pub credential_file: Option<PathBuf>,
    /// PEM certificates to trust for an `https://` manager (instead of the Mozilla roots).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Kubeconfig of the cluster to deploy into (its current context is used); without it,
    /// the in-cluster service account, else `$KUBECONFIG` or `~/.kube/config`.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Write no progress lines (registrations, deploys, reports) to stderr.
    #[arg(long)]
    pub quiet: bool,
    /// A label of this cluster, sent at registration (repeatable).
    #[arg(long = "label", value_name = "K=V", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// Directory of the credential and the offline cache (created, mode 0700).
    #[arg(long, value_name = "DIR", default_value = "fleet-agent-state")]
    pub state_dir: PathBuf,
    /// This cluster's client ID; by default the UID of its `kube-system` namespace, as
    /// Fleet's agent does.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// Namespace of the inventory ConfigMaps.
    #[arg(long, value_name = "NS", default_value = DEFAULT_AGENT_NAMESPACE)]
    pub agent_namespace: String,
    /// Seconds between heartbeats.
    #[arg(long, value_name = "N", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub heartbeat_seconds: u64,
}

fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{text:?}: expected KEY=VALUE")),
    }
}

/// What the loop receives: an event for the agent, or a watch notice carrying the objectset
/// hash of the changed object.
enum Message {
    Event(Box<Event>),
    Changed(String),
}

/// Work for the cluster task.
enum Job {
    Deploy {
        bd: Box<BundleDeployment>,
        generation: u64,
        files: fleet_render::files::Files,
    },
    Uninstall {
        name: String,
        spec: Box<BundleDeploymentSpec>,
    },
    Recompute {
        bd: Box<BundleDeployment>,
        generation: u64,
    },
}

/// Set by `--quiet`: the agent's progress lines are not written (errors of the command itself
/// still are).
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn log(line: std::fmt::Arguments<'_>) {
    if QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "fleet-agent run: {line}");
}

/// Runs `fleet-agent run` until interrupted.
pub fn run(args: &RunArgs, _out: &mut dyn Write, _err: &mut dyn Write) -> Result<ExitCode> {
    if args.quiet {
        QUIET.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let state = StateDir::new(&args.state_dir);
    state.create()?;
    let client = Client::new(&args.manager, args.ca_file.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_async(args, state, client))
}

async fn kube_client(kubeconfig: Option<&Path>) -> Result<kube::Client> {
    let Some(kubeconfig) = kubeconfig else {
        return kube::Client::try_default().await.context(
            "no --kubeconfig, and neither an in-cluster service account nor a kubeconfig was found",
        );
    };
    let file = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading kubeconfig {}", kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(file, &Default::default())
        .await
        .with_context(|| format!("kubeconfig {}", kubeconfig.display()))?;
    kube::Client::try_from(config).context("building the Kubernetes client")
}

/// The credential: the state directory's, else `--credential-file`'s, else a registration
/// (retried while the manager cannot be reached; a refusal ends the command).
async fn credential(
    args: &RunArgs,
    state: &StateDir,
    registration: Option<&Registration>,
) -> Result<Credential> {
    if let Some(path) = &args.credential_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let credential = serde_json::from_str::<Credential>(&text).unwrap_or(Credential {
            credential: text.trim().to_string(),
            cluster_namespace: String::new(),
            cluster_name: String::new(),
            deployment_namespace: String::new(),
        });
        if credential.credential.is_empty() {
            bail!("{}: no credential in it", path.display());
        }
        return Ok(credential);
    }
    if let Some(stored) = state.load_credential()? {
        return Ok(stored);
    }
    let Some(registration) = registration else {
        bail!(
            "{} holds no credential: pass --registration-token or --credential-file",
            state.root().display()
        );
    };
    let mut failures = 0;
    loop {
        match registration.register().await {
            Ok(credential) => return Ok(credential),
            Err(RegisterError::Refused(e)) => return Err(e).context("registration refused"),
            Err(RegisterError::Other(e)) => return Err(e),
            Err(RegisterError::Unreachable(e)) => {
                failures += 1;
                log(format_args!("registration: {e}; retrying"));
                tokio::time::sleep(manager_backoff(failures)).await;
            }
        }
    }
}

/// What a registration sends, kept to register again when the credential is refused.
#[derive(Clone)]
struct Registration {
    /// The manager client without a credential.
    client: Client,
    token: String,
    client_id: Option<String>,
    labels: Vec<(String, String)>,
    kube: kube::Client,
    state: StateDir,
}

enum RegisterError {
    /// The manager refused (4xx): the token is unknown or expired.
    Refused(upstream::Error),
    /// The manager could not be reached or failed.
    Unreachable(upstream::Error),
    /// No client ID, or the credential could not be stored.
    Other(anyhow::Error),
}

impl Registration {
    /// `--client-id`, else the UID of the `kube-system` namespace.
    async fn client_id(&self) -> Result<String> {
        if let Some(id) = &self.client_id {
            return Ok(id.clone());
        }
        let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.kube.clone());
        namespaces
            .get("kube-system")
            .await
            .ok()
            .and_then(|n| n.metadata.uid)
            .context("no --client-id, and the kube-system namespace has no UID to use")
    }

    /// One registration; the credential is stored in the state directory.
    async fn register(&self) -> Result<Credential, RegisterError> {
        let id = self.client_id().await.map_err(RegisterError::Other)?;
        let (client, token, labels) =
            (self.client.clone(), self.token.clone(), self.labels.clone());
        let answer = tokio::task::spawn_blocking(move || client.register(&token, &id, &labels))
            .await
            .map_err(|e| RegisterError::Other(e.into()))?;
        match answer {
            Ok(credential) => {
                self.state
                    .store_credential(&credential)
                    .map_err(|e| RegisterError::Other(e.into()))?;
                log(format_args!(
                    "registered as cluster {}/{}",
                    credential.cluster_namespace, credential.cluster_name
                ));
                Ok(credential)
            }
            Err(e) if e.is_refusal() => Err(RegisterError::Refused(e)),
            Err(e) => Err(RegisterError::Unreachable(e)),
        }
    }
}

/// The cached BundleDeployments and manifest IDs, for [`Event::Started`]. A deployment's own
/// copy of its manifest fills a gap in the Contents.
fn started(state: &StateDir) -> Result<Event> {
    let mut cached = Vec::new();
    let known: BTreeSet<String> = state.content_ids()?.into_iter().collect();
    for entry in state.load_all()? {
        let (id, _) =
            fleet_core::manifest::split_deployment_id(&entry.bundle_deployment.spec.deployment_id);
        if !id.is_empty() && !known.contains(id) {
            let manifest = Manifest::from_json(entry.manifest_json.clone(), "")?;
            if manifest.id() == id {
                state.store_content(id, manifest.json())?;
            }
        }
        cached.push(entry.bundle_deployment);
    }
    Ok(Event::Started {
        cached,
        contents: state.content_ids()?,
    })
}

async fn run_async(args: &RunArgs, state: StateDir, client: Client) -> Result<ExitCode> {
    let kube = kube_client(args.kubeconfig.as_deref()).await?;
    let first = started(&state)?;
    let registration = args.registration_token.as_ref().map(|token| Registration {
        client: client.clone(),
        token: token.clone(),
        client_id: args.client_id.clone(),
        labels: args.labels.clone(),
        kube: kube.clone(),
        state: state.clone(),
    });
    let credential = credential(args, &state, registration.as_ref()).await?;
    let client = client.with_credential(&credential.credential);

    let (messages, mut inbox) = mpsc::channel::<Message>(1024);
    let (jobs, job_inbox) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(cluster_task(
        kube,
        args.agent_namespace.clone(),
        job_inbox,
        messages.clone(),
    ));
    let mut shell = Shell {
        client,
        registration: registration.clone(),
        state,
        messages,
        jobs,
        hashes: HashMap::new(),
    };
    let mut agent = if registration.is_some() {
        Agent::new().with_registration()
    } else {
        Agent::new()
    };
    shell.step(&mut agent, first);

    let mut heartbeat = tokio::time::interval(Duration::from_secs(args.heartbeat_seconds));
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        let wakeup = agent.next_wakeup();
        let message = tokio::select! {
            message = inbox.recv() => match message {
                Some(m) => m,
                None => bail!("every task of the agent has ended"),
            },
            _ = sleep_until(wakeup), if wakeup.is_some() => Message::Event(Box::new(Event::Tick)),
            _ = heartbeat.tick() => {
                let client = shell.client.clone();
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = client.heartbeat() {
                        log(format_args!("heartbeat: {e}"));
                    }
                });
                continue;
            }
            _ = &mut interrupted => return Ok(ExitCode::SUCCESS),
        };
        let event = match message {
            Message::Event(event) => *event,
            Message::Changed(hash) => match shell.hashes.get(&hash) {
                Some(name) => Event::ObjectsChanged { name: name.clone() },
                None => continue,
            },
        };
        shell.step(&mut agent, event);
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}

struct Shell {
    /// The manager client with the current credential.
    client: Client,
    /// What to register with again, when a token was given.
    registration: Option<Registration>,
    state: StateDir,
    messages: mpsc::Sender<Message>,
    jobs: mpsc::UnboundedSender<Job>,
    /// Objectset hash → BundleDeployment name, for watch notices.
    hashes: HashMap<String, String>,
}

impl Shell {
    fn step(&mut self, agent: &mut Agent, event: Event) {
        if let Event::Registered { ok: true } = &event {
            match self.state.load_credential() {
                Ok(Some(credential)) => {
                    self.client = self.client.clone().with_credential(&credential.credential);
                }
                Ok(None) => log(format_args!("registration: no credential stored")),
                Err(e) => log(format_args!("{e}")),
            }
        }
        // The state directory keeps the status last computed, for an offline restart.
        if let Event::Deployed { name, status, .. } | Event::Recomputed { name, status, .. } =
            &event
            && let Err(e) = self.state.store_status(name, status)
        {
            log(format_args!("{e}"));
        }
        // An uninstalled deployment leaves the cache, unless it came back meanwhile (its
        // deploy, queued after the uninstall, has cached it again).
        let forget = match &event {
            Event::Uninstalled { name, ok: true } => Some(name.clone()),
            _ => None,
        };
        let actions = agent.step(event, Instant::now(), &cluster::now_rfc3339());
        if let Some(name) = forget
            && agent.status(&name).is_none()
            && let Err(e) = self.state.remove(&name)
        {
            log(format_args!("{e}"));
        }
        for action in actions {
            self.execute(action);
        }
    }

    /// Runs `call` as a blocking task and sends the event it makes.
    fn blocking(&self, call: impl FnOnce() -> Event + Send + 'static) {
        let messages = self.messages.clone();
        tokio::spawn(async move {
            let event = match tokio::task::spawn_blocking(call).await {
                Ok(event) => event,
                // The call panicked: nothing to report but that it failed.
                Err(_) => return,
            };
            let _ = messages.send(Message::Event(Box::new(event))).await;
        });
    }

    fn execute(&mut self, action: Action) {
        match action {
            Action::Poll { etag, wait_seconds } => {
                let client = self.client.clone();
                self.blocking(move || {
                    match client.bundle_deployments(etag.as_deref(), wait_seconds) {
                        Ok(poll) => Event::Polled(poll),
                        Err(e) => {
                            log(format_args!("poll: {e}"));
                            if matches!(
                                e,
                                upstream::Error::Status {
                                    status: 401 | 403,
                                    ..
                                }
                            ) {
                                Event::CredentialRefused
                            } else {
                                Event::PollFailed
                            }
                        }
                    }
                });
            }
            Action::FetchContent { manifest_id } => {
                let (client, state) = (self.client.clone(), self.state.clone());
                self.blocking(move || {
                    let fetched = client.content(&manifest_id).map_err(anyhow::Error::from);
                    let stored =
                        fetched.and_then(|m| Ok(state.store_content(&manifest_id, m.json())?));
                    match stored {
                        Ok(()) => Event::ContentFetched { manifest_id },
                        Err(e) => {
                            log(format_args!("content {manifest_id}: {e:#}"));
                            Event::ContentFailed { manifest_id }
                        }
                    }
                });
            }
            Action::Deploy { bd, generation } => self.deploy(bd, generation),
            Action::Register => {
                let Some(registration) = self.registration.clone() else {
                    return;
                };
                let messages = self.messages.clone();
                tokio::spawn(async move {
                    let ok = match registration.register().await {
                        Ok(_) => true,
                        Err(RegisterError::Refused(e) | RegisterError::Unreachable(e)) => {
                            log(format_args!("registration: {e}"));
                            false
                        }
                        Err(RegisterError::Other(e)) => {
                            log(format_args!("registration: {e:#}"));
                            false
                        }
                    };
                    let event = Event::Registered { ok };
                    let _ = messages.send(Message::Event(Box::new(event))).await;
                });
            }
            Action::Uninstall { name, spec } => {
                self.hashes.retain(|_, n| *n != name);
                let _ = self.jobs.send(Job::Uninstall {
                    name,
                    spec: Box::new(spec),
                });
            }
            Action::Recompute { bd, generation } => {
                let _ = self.jobs.send(Job::Recompute {
                    bd: Box::new(bd),
                    generation,
                });
            }
            Action::Report { statuses } => {
                let client = self.client.clone();
                self.blocking(move || {
                    let names: Vec<&str> = statuses.iter().map(|(n, _)| n.as_str()).collect();
                    match client.post_statuses(&statuses) {
                        Ok(()) => {
                            log(format_args!("reported {}", names.join(", ")));
                            Event::Reported { ok: true }
                        }
                        Err(e) => {
                            log(format_args!("report {}: {e}", names.join(", ")));
                            Event::Reported { ok: false }
                        }
                    }
                });
            }
        }
    }

    /// Reads the cached manifest, caches the BundleDeployment with it, and hands the deploy
    /// to the cluster task; a cache that cannot be read fails the deploy (retried).
    fn deploy(&mut self, bd: BundleDeployment, generation: u64) {
        let name = bd.metadata.name.clone();
        self.hashes.insert(cluster::set_hash(&name), name.clone());
        let (manifest_id, _) = fleet_core::manifest::split_deployment_id(&bd.spec.deployment_id);
        let prepared = self
            .state
            .load_content(manifest_id)
            .map_err(anyhow::Error::from)
            .and_then(|json| {
                let manifest = Manifest::from_json(json, "")?;
                let files = deploy::manifest_files(&manifest)?;
                self.state.store(&Entry {
                    bundle_deployment: bd.clone(),
                    manifest_json: manifest.json().to_vec(),
                })?;
                Ok(files)
            });
        match prepared {
            Ok(files) => {
                let _ = self.jobs.send(Job::Deploy {
                    bd: Box::new(bd),
                    generation,
                    files,
                });
            }
            Err(e) => {
                let message = format!("manifest {manifest_id}: {e:#}");
                log(format_args!("deploy {name}: {message}"));
                let mut status = bd.status.clone().unwrap_or_default();
                status::deploy_failed(
                    &mut status,
                    &bd.spec.deployment_id,
                    &message,
                    &cluster::now_rfc3339(),
                );
                let event = Event::Deployed {
                    name,
                    generation,
                    status,
                    retry: true,
                    monitored: false,
                };
                let messages = self.messages.clone();
                tokio::spawn(async move {
                    let _ = messages.send(Message::Event(Box::new(event))).await;
                });
            }
        }
    }
}

/// The cluster task: connects (retrying while the API server cannot be reached), then runs
/// jobs in order and reports each result.
async fn cluster_task(
    kube: kube::Client,
    agent_namespace: String,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    messages: mpsc::Sender<Message>,
) {
    let mut failures = 0;
    let mut executor = loop {
        match Executor::connect(kube.clone(), &agent_namespace).await {
            Ok(executor) => break executor,
            Err(e) => {
                failures += 1;
                log(format_args!("cluster: {e}; retrying"));
                tokio::time::sleep(manager_backoff(failures)).await;
            }
        }
    };
    // Garbage collection at start: the manager's first list decides which of these go.
    match executor.inventories().await {
        Ok(names) => {
            let event = Event::Inventoried { names };
            if messages
                .send(Message::Event(Box::new(event)))
                .await
                .is_err()
            {
                return;
            }
        }
        Err(e) => log(format_args!("garbage collection: {e}")),
    }
    let renderer = crate::helm::deploy_renderer();
    let mut desired: HashMap<String, Vec<Value>> = HashMap::new();
    let mut watches = Watches::default();
    while let Some(job) = jobs.recv().await {
        let event = match job {
            Job::Deploy {
                bd,
                generation,
                files,
            } => {
                let name = bd.metadata.name.clone();
                let outcome = cluster::deploy_bundle(
                    &mut executor,
                    &renderer,
                    &bd,
                    &files,
                    &super::deploy::cluster_facts(&bd),
                    &cluster::now_rfc3339(),
                )
                .await;
                let retry = match &outcome.error {
                    Some(e) => {
                        log(format_args!("deploy {name}: {e}"));
                        !deploy::is_recorded_error(&e.to_string())
                    }
                    None => {
                        log(format_args!(
                            "deployed {name} ({}, {} objects)",
                            bd.spec.deployment_id,
                            outcome.objects.len()
                        ));
                        false
                    }
                };
                let monitored = !outcome.objects.is_empty();
                if monitored {
                    desired.insert(name.clone(), outcome.objects);
                    watches.sync(&executor, &desired, &messages);
                }
                Event::Deployed {
                    name,
                    generation,
                    status: outcome.status,
                    retry,
                    monitored,
                }
            }
            Job::Uninstall { name, spec } => {
                if desired.remove(&name).is_some() {
                    watches.sync(&executor, &desired, &messages);
                }
                let ok = match executor.uninstall(&name, &spec).await {
                    Ok(deleted) => {
                        log(format_args!(
                            "uninstalled {name} ({} objects)",
                            deleted.len()
                        ));
                        true
                    }
                    Err(e) => {
                        log(format_args!("uninstall {name}: {e}"));
                        false
                    }
                };
                Event::Uninstalled { name, ok }
            }
            Job::Recompute { bd, generation } => {
                let name = bd.metadata.name.clone();
                let mut status = bd.status.clone().unwrap_or_default();
                let objects = desired.get(&name).map(Vec::as_slice).unwrap_or_default();
                let result = cluster::watch::pass(
                    &mut executor,
                    &bd,
                    objects,
                    &mut status,
                    &cluster::now_rfc3339(),
                )
                .await;
                if let Err(e) = &result {
                    log(format_args!("monitor {name}: {e}"));
                }
                Event::Recomputed {
                    name,
                    generation,
                    status,
                    failed: result.is_err(),
                }
            }
        };
        if messages
            .send(Message::Event(Box::new(event)))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// The agent's watches: one per kind some deployment has, across namespaces, shared by
/// every deployment.
#[derive(Default)]
struct Watches {
    open: HashMap<WatchedKind, tokio::task::JoinHandle<()>>,
}

impl Watches {
    /// Opens a watch for each kind of `desired` not watched yet and closes those of kinds no
    /// deployment has any more ([`monitor::watch_changes`]).
    fn sync(
        &mut self,
        executor: &Executor,
        desired: &HashMap<String, Vec<Value>>,
        messages: &mpsc::Sender<Message>,
    ) {
        let watched: BTreeSet<WatchedKind> = self.open.keys().cloned().collect();
        let needed = monitor::kinds_of(desired.values().map(Vec::as_slice));
        let (start, stop) = monitor::watch_changes(&watched, &needed);
        for kind in stop {
            if let Some(handle) = self.open.remove(&kind) {
                handle.abort();
            }
        }
        for kind in start {
            let Some(served) = executor.discovery().get(&kind.0, &kind.1) else {
                continue;
            };
            let api: Api<DynamicObject> =
                Api::all_with(executor.client().clone(), &served.resource);
            let handle = tokio::spawn(cluster::watch::watch_owned(
                api,
                messages.clone(),
                Message::Changed,
            ));
            self.open.insert(kind, handle);
        }
    }
}
