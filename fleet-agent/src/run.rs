//! The decisions of `fleet-agent run`, sans I/O: the pull loop against the manager, which
//! BundleDeployments to deploy, uninstall or recompute, and which statuses to report.
//!
//! [`Agent::step`] takes one [`Event`] (an answer of the manager, the result of a deploy, a
//! watch notice, a timer) and returns the [`Action`]s the shell carries out; the shell sleeps
//! until [`Agent::next_wakeup`] and then sends [`Event::Tick`]. The clock is passed in, so
//! every rule below is tested without a manager, a cluster or a timer.
//!
//! * Polling: the first request has no ETag and does not wait; every later one sends the
//!   last ETag with `?wait=`[`POLL_WAIT_SECONDS`], so an unchanged list costs one held request.
//!   A failed poll is retried after [`manager_backoff`].
//! * Change detection: a BundleDeployment is deployed when its `spec` differs from the spec
//!   of its last completed deploy (labels and the manager's copy of the status do not count),
//!   so an unchanged list after a manager restart (new ETag) redeploys nothing.
//! * Contents are fetched once per manifest ID and kept in the state directory.
//! * `dependsOn` is evaluated with [`deploy::check_dependencies`] over this agent's own
//!   BundleDeployments with the statuses it computed itself; unmet, the status says so
//!   (`Deployed=False`) and the deployment is looked at again after [`DEPENDENCY_REQUEUE`].
//! * A failed deploy outside Fleet's recorded-error list is retried after
//!   [`deploy::backoff`] of its consecutive failures; a recorded error waits for a new spec.
//! * Statuses are reported in one batch when they differ from what the manager holds
//!   (condition times aside); only for BundleDeployments the manager listed last; a failed
//!   report is retried with [`manager_backoff`], and at once when the manager answers again.
//! * Offline: [`Event::Started`] hands over the state directory's BundleDeployments, which
//!   are deployed and monitored before the manager has answered.
//! * Garbage collection at start (Fleet's agent cleanup): [`Event::Inventoried`] names the
//!   BundleDeployments whose inventory the cluster holds; once the manager has listed its
//!   BundleDeployments, every inventoried one it does not list (and this agent does not
//!   track) is uninstalled, with the `keepResources` its inventory recorded. Ones the state
//!   directory knows are uninstalled by the list itself, as any deployment gone from it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;

use fleet_core::crd::{BundleDeployment, BundleDeploymentSpec, BundleDeploymentStatus};

use crate::deploy::{self, DEPENDENCY_REQUEUE, backoff};
use crate::monitor::Aggregator;
use crate::status;

/// How long the manager is asked to hold a poll whose answer has not changed.
pub const POLL_WAIT_SECONDS: u64 = 30;
/// The pause after the first failed call to the manager.
pub const MANAGER_RETRY_MIN: Duration = Duration::from_millis(500);
/// The longest pause between calls to an unreachable manager.
pub const MANAGER_RETRY_MAX: Duration = Duration::from_secs(8);

/// Pause after the `failures`-th consecutive failed call to the manager: from
/// [`MANAGER_RETRY_MIN`], doubling, at most [`MANAGER_RETRY_MAX`]. Shorter than
/// [`deploy::backoff`]'s cap so that a manager back from a restart is seen within seconds.
pub fn manager_backoff(failures: u32) -> Duration {
    let factor = 1u32
        .checked_shl(failures.saturating_sub(1))
        .unwrap_or(u32::MAX);
    MANAGER_RETRY_MIN
        .checked_mul(factor)
        .map_or(MANAGER_RETRY_MAX, |d| d.min(MANAGER_RETRY_MAX))
}

/// The answer to a poll of the BundleDeployments.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll {
    /// `304 Not Modified`: the list is what the last ETag named.
    Unchanged,
    /// `200`: the cluster's BundleDeployments now.
    Changed {
        /// The list's ETag, sent back with the next poll.
        etag: Option<String>,
        /// The BundleDeployments.
        items: Vec<BundleDeployment>,
    },
}

/// Something that happened, as the shell reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The agent started with these BundleDeployments (their manifests cached) and these
    /// cached manifest IDs in its state directory.
    Started {
        /// BundleDeployments as last received, with the status last computed.
        cached: Vec<BundleDeployment>,
        /// Manifest IDs whose Content is cached.
        contents: Vec<String>,
    },
    /// The manager answered a poll.
    Polled(Poll),
    /// The cluster holds inventories of these BundleDeployments (read once at start).
    Inventoried {
        /// Their names.
        names: Vec<String>,
    },
    /// A poll failed (unreachable, a server error, a malformed answer).
    PollFailed,
    /// A poll was refused for its credential (401/403: unknown or revoked).
    CredentialRefused,
    /// A registration ([`Action::Register`]) finished; with `ok` the shell uses the new
    /// credential from then on.
    Registered {
        /// Whether the manager gave a credential.
        ok: bool,
    },
    /// A Content was fetched, checked and cached.
    ContentFetched {
        /// Its manifest ID.
        manifest_id: String,
    },
    /// A Content could not be fetched.
    ContentFailed {
        /// Its manifest ID.
        manifest_id: String,
    },
    /// A deploy ([`Action::Deploy`]) finished.
    Deployed {
        /// BundleDeployment name.
        name: String,
        /// The generation the action carried.
        generation: u64,
        /// The status the deploy computed.
        status: BundleDeploymentStatus,
        /// The deploy failed with an error Fleet retries (not on its recorded-error list).
        retry: bool,
        /// Objects were rendered, so there is something to monitor.
        monitored: bool,
    },
    /// An uninstall finished.
    Uninstalled {
        /// BundleDeployment name.
        name: String,
        /// Whether it succeeded.
        ok: bool,
    },
    /// A watch saw a change of one of the BundleDeployment's objects.
    ObjectsChanged {
        /// BundleDeployment name.
        name: String,
    },
    /// A monitoring pass ([`Action::Recompute`]) finished.
    Recomputed {
        /// BundleDeployment name.
        name: String,
        /// The generation the action carried.
        generation: u64,
        /// The status after the pass.
        status: BundleDeploymentStatus,
        /// The pass failed (the status records it on `Monitored`).
        failed: bool,
    },
    /// A status report ([`Action::Report`]) finished.
    Reported {
        /// Whether the manager stored it.
        ok: bool,
    },
    /// A timer the shell set from [`Agent::next_wakeup`] went off.
    Tick,
}

/// What the shell is to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Poll the BundleDeployments (`If-None-Match: etag`, `?wait=wait_seconds`).
    Poll {
        /// The ETag of the list last received.
        etag: Option<String>,
        /// How long the manager may hold an unchanged answer.
        wait_seconds: u64,
    },
    /// Fetch a Content, check it against its ID and cache it.
    FetchContent {
        /// The manifest ID.
        manifest_id: String,
    },
    /// Deploy a BundleDeployment (its status is the one to start from) and cache it.
    Deploy {
        /// The BundleDeployment.
        bd: BundleDeployment,
        /// Returned in [`Event::Deployed`].
        generation: u64,
    },
    /// Remove what a BundleDeployment deployed, stop monitoring it and forget it.
    Uninstall {
        /// BundleDeployment name.
        name: String,
        /// Its last spec (`keepResources`, `deleteNamespace`).
        spec: BundleDeploymentSpec,
    },
    /// Run one monitoring pass (and drift correction) over a deployed BundleDeployment.
    Recompute {
        /// The BundleDeployment with its current status.
        bd: BundleDeployment,
        /// Returned in [`Event::Recomputed`].
        generation: u64,
    },
    /// Register again (with the registration token) for a new credential.
    Register,
    /// Post these statuses in one batch.
    Report {
        /// Name and status of each changed BundleDeployment.
        statuses: Vec<(String, BundleDeploymentStatus)>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing in flight; deployed when its spec differs from the last deployed one.
    Idle,
    /// A deploy is in flight.
    Deploying,
    /// Waiting (backoff or dependsOn) until then.
    RetryAt(Instant),
}

#[derive(Debug, Clone)]
struct Tracked {
    /// The BundleDeployment as last received; its `status` field is not used.
    bd: BundleDeployment,
    /// The status this agent computed last.
    status: BundleDeploymentStatus,
    /// The spec of the last completed deploy.
    deployed: Option<Value>,
    /// The spec of the deploy in flight.
    deploying: Option<Value>,
    phase: Phase,
    generation: u64,
    failures: u32,
    monitor_failures: u32,
    monitored: bool,
}

impl Tracked {
    fn new(bd: BundleDeployment) -> Tracked {
        Tracked {
            status: bd.status.clone().unwrap_or_default(),
            bd,
            deployed: None,
            deploying: None,
            phase: Phase::Idle,
            generation: 0,
            failures: 0,
            monitor_failures: 0,
            monitored: false,
        }
    }

    fn with_status(&self) -> BundleDeployment {
        let mut bd = self.bd.clone();
        bd.status = Some(self.status.clone());
        bd
    }
}

#[derive(Debug, Default)]
struct Retry {
    in_flight: bool,
    failures: u32,
    at: Option<Instant>,
}

impl Retry {
    fn due(&self, now: Instant) -> bool {
        !self.in_flight && self.at.is_none_or(|at| at <= now)
    }

    fn failed(&mut self, now: Instant, delay: fn(u32) -> Duration) {
        self.in_flight = false;
        self.failures += 1;
        self.at = Some(now + delay(self.failures));
    }

    fn succeeded(&mut self) {
        *self = Retry::default();
    }
}

#[derive(Debug)]
struct Removal {
    spec: BundleDeploymentSpec,
    retry: Retry,
}

/// The agent's state; see the module documentation for the rules.
#[derive(Debug, Default)]
pub struct Agent {
    tracked: BTreeMap<String, Tracked>,
    etag: Option<String>,
    /// Names the manager listed last; `None` until it has answered once.
    upstream: Option<BTreeSet<String>>,
    poll: Retry,
    /// No poll yet: the first one does not wait.
    polled_once: bool,
    contents: BTreeSet<String>,
    content_fetches: BTreeMap<String, Retry>,
    removals: BTreeMap<String, Removal>,
    aggregator: Aggregator,
    /// Per BundleDeployment, the status the manager holds (condition times aside).
    reported: BTreeMap<String, Value>,
    report: Retry,
    report_in_flight: Vec<(String, Value)>,
    next_generation: u64,
    /// The shell holds a registration token, so a refused credential is replaced.
    can_register: bool,
    register: Retry,
    /// Inventoried BundleDeployments to check against the manager's first list.
    inventoried: BTreeSet<String>,
}

/// How long after a failed registration a refused credential starts another (Fleet's agent
/// retries every minute, `internal/cmd/agent/register/register.go`).
pub const REGISTER_RETRY: Duration = Duration::from_secs(60);

/// A status without condition times, which move on every recompute that touches them.
pub fn comparable(status: &BundleDeploymentStatus) -> Value {
    let mut value = serde_json::to_value(status).unwrap_or(Value::Null);
    if let Some(conditions) = value.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in conditions.iter_mut().filter_map(Value::as_object_mut) {
            c.remove("lastUpdateTime");
            c.remove("lastTransitionTime");
        }
    }
    value
}

/// What of a spec the agent deploys: everything but the staged deployment, which the manager
/// moves ahead of `deploymentID` while a rollout holds a cluster back (Fleet's agent deploys
/// `deploymentID` and `options` only).
fn spec_key(spec: &BundleDeploymentSpec) -> Value {
    let mut value = serde_json::to_value(spec).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.remove("stagedDeploymentID");
        map.remove("stagedOptions");
    }
    value
}

impl Agent {
    /// An agent that knows nothing yet; start it with [`Event::Started`].
    pub fn new() -> Agent {
        Agent::default()
    }

    /// The same agent, allowed to register again when its credential is refused (the shell
    /// holds a registration token).
    pub fn with_registration(mut self) -> Agent {
        self.can_register = true;
        self
    }

    /// Names of the BundleDeployments it tracks.
    pub fn names(&self) -> Vec<String> {
        self.tracked.keys().cloned().collect()
    }

    /// The status last computed for a BundleDeployment.
    pub fn status(&self, name: &str) -> Option<&BundleDeploymentStatus> {
        self.tracked.get(name).map(|t| &t.status)
    }

    /// The earliest time a [`Event::Tick`] has something to do.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let waiting = |r: &Retry| r.at.filter(|_| !r.in_flight);
        let phases = self.tracked.values().filter_map(|t| match t.phase {
            Phase::RetryAt(at) => Some(at),
            _ => None,
        });
        [
            // While registering, the poll waits for the new credential, not for the clock.
            waiting(&self.poll).filter(|_| !self.register.in_flight),
            waiting(&self.report),
            self.aggregator.next_due(),
        ]
        .into_iter()
        .flatten()
        .chain(phases)
        .chain(self.content_fetches.values().filter_map(waiting))
        .chain(self.removals.values().filter_map(|r| waiting(&r.retry)))
        .min()
    }

    /// Handles one event at `now` (`stamp`: the same time in RFC 3339, for conditions).
    pub fn step(&mut self, event: Event, now: Instant, stamp: &str) -> Vec<Action> {
        let mut actions = Vec::new();
        match event {
            Event::Started { cached, contents } => {
                self.contents.extend(contents);
                for bd in cached {
                    self.tracked
                        .insert(bd.metadata.name.clone(), Tracked::new(bd));
                }
            }
            Event::Polled(poll) => {
                self.poll.succeeded();
                self.polled_once = true;
                // The manager is back: what waited for it goes now.
                self.report.at = None;
                if let Poll::Changed { etag, items } = poll {
                    self.etag = etag;
                    self.take_list(items, &mut actions);
                    self.collect_garbage(&mut actions);
                }
            }
            Event::Inventoried { names } => {
                self.inventoried.extend(names);
                self.collect_garbage(&mut actions);
            }
            Event::PollFailed => self.poll.failed(now, manager_backoff),
            Event::CredentialRefused => {
                self.poll.failed(now, manager_backoff);
                if self.can_register && self.register.due(now) {
                    self.register.in_flight = true;
                    actions.push(Action::Register);
                }
            }
            Event::Registered { ok } => {
                if ok {
                    self.register.succeeded();
                    // The new credential is tried at once.
                    self.poll.at = None;
                } else {
                    self.register.failed(now, |_| REGISTER_RETRY);
                }
            }
            Event::ContentFetched { manifest_id } => {
                self.content_fetches.remove(&manifest_id);
                self.contents.insert(manifest_id);
            }
            Event::ContentFailed { manifest_id } => {
                if let Some(r) = self.content_fetches.get_mut(&manifest_id) {
                    r.failed(now, manager_backoff);
                }
            }
            Event::Deployed {
                name,
                generation,
                status,
                retry,
                monitored,
            } => self.deployed(&name, generation, status, retry, monitored, now),
            Event::Uninstalled { name, ok } => {
                if let Some(removal) = self.removals.get_mut(&name) {
                    if ok {
                        self.removals.remove(&name);
                    } else {
                        removal.retry.failed(now, backoff);
                    }
                }
            }
            Event::ObjectsChanged { name } => {
                if self
                    .tracked
                    .get(&name)
                    .is_some_and(|t| t.monitored && t.phase != Phase::Deploying)
                {
                    self.aggregator.event(&name, now);
                }
            }
            Event::Recomputed {
                name,
                generation,
                status,
                failed,
            } => {
                if let Some(t) = self.tracked.get_mut(&name)
                    && t.generation == generation
                    && t.phase != Phase::Deploying
                {
                    t.status = status;
                    if failed {
                        t.monitor_failures += 1;
                        self.aggregator
                            .event(&name, now + backoff(t.monitor_failures));
                    } else {
                        t.monitor_failures = 0;
                    }
                }
            }
            Event::Reported { ok } => {
                let sent = std::mem::take(&mut self.report_in_flight);
                if ok {
                    self.report.succeeded();
                    self.reported.extend(sent);
                } else {
                    self.report.failed(now, manager_backoff);
                }
            }
            Event::Tick => self.tick(now, &mut actions),
        }
        self.reconcile_all(now, stamp, &mut actions);
        self.flush_reports(now, &mut actions);
        // No poll with a credential that is being replaced.
        if self.poll.due(now) && !self.register.in_flight {
            self.poll.in_flight = true;
            actions.push(Action::Poll {
                etag: self.etag.clone(),
                wait_seconds: if self.polled_once {
                    POLL_WAIT_SECONDS
                } else {
                    0
                },
            });
        }
        actions
    }

    /// Takes the manager's list: new and changed BundleDeployments are tracked, missing ones
    /// uninstalled.
    fn take_list(&mut self, items: Vec<BundleDeployment>, actions: &mut Vec<Action>) {
        let names: BTreeSet<String> = items.iter().map(|b| b.metadata.name.clone()).collect();
        let gone: Vec<String> = self
            .tracked
            .keys()
            .filter(|n| !names.contains(*n))
            .cloned()
            .collect();
        for name in gone {
            if let Some(t) = self.tracked.remove(&name) {
                self.aggregator.clear(&name);
                self.reported.remove(&name);
                self.removals.insert(
                    name.clone(),
                    Removal {
                        spec: t.bd.spec.clone(),
                        retry: Retry {
                            in_flight: true,
                            ..Retry::default()
                        },
                    },
                );
                actions.push(Action::Uninstall {
                    name,
                    spec: t.bd.spec,
                });
            }
        }
        for bd in items {
            let name = bd.metadata.name.clone();
            // A BundleDeployment back before its uninstall ran: the next deploy's plan takes
            // over (and prunes) the inventory, so the retried uninstall is dropped.
            if self.removals.get(&name).is_some_and(|r| !r.retry.in_flight) {
                self.removals.remove(&name);
            }
            self.reported.insert(
                name.clone(),
                comparable(&bd.status.clone().unwrap_or_default()),
            );
            match self.tracked.get_mut(&name) {
                Some(t) => {
                    let changed = spec_key(&t.bd.spec) != spec_key(&bd.spec);
                    t.bd = bd;
                    if changed && matches!(t.phase, Phase::RetryAt(_)) {
                        t.phase = Phase::Idle;
                    }
                }
                None => {
                    self.tracked.insert(name, Tracked::new(bd));
                }
            }
        }
        self.upstream = Some(names);
    }

    /// Uninstalls the inventoried BundleDeployments the manager does not list, once it has
    /// listed; each inventory is looked at once.
    fn collect_garbage(&mut self, actions: &mut Vec<Action>) {
        let Some(upstream) = &self.upstream else {
            return;
        };
        for name in std::mem::take(&mut self.inventoried) {
            if upstream.contains(&name)
                || self.tracked.contains_key(&name)
                || self.removals.contains_key(&name)
            {
                continue;
            }
            // No spec is known: the inventory's own `keepResources` decides.
            let spec = BundleDeploymentSpec::default();
            self.removals.insert(
                name.clone(),
                Removal {
                    spec: spec.clone(),
                    retry: Retry {
                        in_flight: true,
                        ..Retry::default()
                    },
                },
            );
            actions.push(Action::Uninstall { name, spec });
        }
    }

    fn deployed(
        &mut self,
        name: &str,
        generation: u64,
        status: BundleDeploymentStatus,
        retry: bool,
        monitored: bool,
        now: Instant,
    ) {
        let Some(t) = self.tracked.get_mut(name) else {
            return;
        };
        if t.generation != generation || t.phase != Phase::Deploying {
            return;
        }
        t.status = status;
        t.monitored = monitored;
        let spec = t.deploying.take();
        if retry {
            t.failures += 1;
            t.deployed = None;
            t.phase = Phase::RetryAt(now + backoff(t.failures));
        } else {
            t.failures = 0;
            t.deployed = spec;
            t.phase = Phase::Idle;
        }
    }

    fn tick(&mut self, now: Instant, actions: &mut Vec<Action>) {
        // A pause that is over is forgotten, whether or not anything still waits for it:
        // otherwise its time, now past, would stay the next wakeup and the shell would spin.
        if self.report.at.is_some_and(|at| at <= now) {
            self.report.at = None;
        }
        self.content_fetches
            .retain(|_, r| r.in_flight || r.at.is_some_and(|at| at > now));
        for t in self.tracked.values_mut() {
            if matches!(t.phase, Phase::RetryAt(at) if at <= now) {
                t.phase = Phase::Idle;
                // Requeued: deploy again even when the spec is the one last deployed.
                t.deployed = None;
            }
        }
        for (name, removal) in &mut self.removals {
            if removal.retry.at.is_some() && removal.retry.due(now) {
                removal.retry.in_flight = true;
                actions.push(Action::Uninstall {
                    name: name.clone(),
                    spec: removal.spec.clone(),
                });
            }
        }
        for name in self.aggregator.take_due(now) {
            if let Some(t) = self.tracked.get(&name)
                && t.monitored
                && t.phase != Phase::Deploying
            {
                actions.push(Action::Recompute {
                    bd: t.with_status(),
                    generation: t.generation,
                });
            }
        }
    }

    fn reconcile_all(&mut self, now: Instant, stamp: &str, actions: &mut Vec<Action>) {
        let names: Vec<String> = self.tracked.keys().cloned().collect();
        for name in names {
            self.reconcile(&name, now, stamp, actions);
        }
    }

    fn reconcile(&mut self, name: &str, now: Instant, stamp: &str, actions: &mut Vec<Action>) {
        let Some(t) = self.tracked.get(name) else {
            return;
        };
        if t.phase != Phase::Idle {
            return;
        }
        let key = spec_key(&t.bd.spec);
        if t.deployed.as_ref() == Some(&key) {
            return;
        }
        let (manifest_id, _) = fleet_core::manifest::split_deployment_id(&t.bd.spec.deployment_id);
        if manifest_id.is_empty() {
            return;
        }
        if !self.contents.contains(manifest_id) {
            let fetch = self
                .content_fetches
                .entry(manifest_id.to_string())
                .or_default();
            if fetch.due(now) {
                fetch.in_flight = true;
                actions.push(Action::FetchContent {
                    manifest_id: manifest_id.to_string(),
                });
            }
            return;
        }
        if !t.bd.spec.depends_on.is_empty() {
            let others: Vec<BundleDeployment> =
                self.tracked.values().map(Tracked::with_status).collect();
            if let Err(error) = deploy::check_dependencies(&t.with_status(), &others) {
                let Some(t) = self.tracked.get_mut(name) else {
                    return;
                };
                status::set_condition(&mut t.status, "Deployed", false, &error.to_string(), stamp);
                t.status.display = status::display(&t.with_status());
                t.phase = Phase::RetryAt(now + DEPENDENCY_REQUEUE);
                return;
            }
        }
        self.next_generation += 1;
        let generation = self.next_generation;
        let Some(t) = self.tracked.get_mut(name) else {
            return;
        };
        t.generation = generation;
        t.phase = Phase::Deploying;
        t.deploying = Some(key);
        self.aggregator.clear(name);
        actions.push(Action::Deploy {
            bd: t.with_status(),
            generation,
        });
    }

    fn flush_reports(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if !self.report.due(now) {
            return;
        }
        let Some(upstream) = &self.upstream else {
            return;
        };
        let mut statuses = Vec::new();
        let mut sent = Vec::new();
        for (name, t) in &self.tracked {
            if !upstream.contains(name) {
                continue;
            }
            let value = comparable(&t.status);
            if self.reported.get(name) != Some(&value) {
                statuses.push((name.clone(), t.status.clone()));
                sent.push((name.clone(), value));
            }
        }
        if statuses.is_empty() {
            return;
        }
        self.report.in_flight = true;
        self.report_in_flight = sent;
        actions.push(Action::Report { statuses });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const STAMP: &str = "2026-01-01T00:00:00Z";

    fn bd(name: &str, manifest: &str, extra: Value) -> BundleDeployment {
        let mut v = json!({
            "metadata": {"name": name, "namespace": "cluster-ns",
                "labels": {"fleet.cattle.io/bundle-name": name,
                           "fleet.cattle.io/bundle-namespace": "fleet-default"}},
            "spec": {"deploymentID": format!("{manifest}:opts"),
                     "stagedDeploymentID": format!("{manifest}:opts")},
        });
        if let (Some(spec), Some(more)) = (v["spec"].as_object_mut(), extra.as_object()) {
            spec.extend(more.clone());
        }
        serde_json::from_value(v).unwrap()
    }

    fn ready(b: &BundleDeployment) -> BundleDeploymentStatus {
        serde_json::from_value(json!({
            "appliedDeploymentID": b.spec.deployment_id, "ready": true, "nonModified": true,
            "conditions": [{"type": "Deployed", "status": "True", "lastUpdateTime": STAMP}],
        }))
        .unwrap()
    }

    fn list(etag: &str, items: Vec<BundleDeployment>) -> Event {
        Event::Polled(Poll::Changed {
            etag: Some(etag.into()),
            items,
        })
    }

    fn deploys(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Deploy { bd, .. } => Some(bd.metadata.name.clone()),
                _ => None,
            })
            .collect()
    }

    fn generation_of(actions: &[Action], name: &str) -> u64 {
        actions
            .iter()
            .find_map(|a| match a {
                Action::Deploy { bd, generation } if bd.metadata.name == name => Some(*generation),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no deploy of {name} in {actions:?}"))
    }

    fn deployed(name: &str, generation: u64, status: BundleDeploymentStatus) -> Event {
        Event::Deployed {
            name: name.into(),
            generation,
            status,
            retry: false,
            monitored: true,
        }
    }

    /// An agent that has polled once and holds `items`, each deployed Ready; returns it and
    /// the time.
    fn running(items: Vec<BundleDeployment>) -> (Agent, Instant) {
        let now = Instant::now();
        let mut agent = Agent::new();
        let contents = items
            .iter()
            .map(|b| b.spec.deployment_id.split(':').next().unwrap().to_string())
            .collect();
        agent.step(
            Event::Started {
                cached: vec![],
                contents,
            },
            now,
            STAMP,
        );
        let actions = agent.step(list("\"1\"", items.clone()), now, STAMP);
        for b in &items {
            let g = generation_of(&actions, &b.metadata.name);
            agent.step(deployed(&b.metadata.name, g, ready(b)), now, STAMP);
        }
        agent.step(Event::Reported { ok: true }, now, STAMP);
        (agent, now)
    }

    #[test]
    fn the_first_poll_does_not_wait_and_later_ones_send_the_etag() {
        let now = Instant::now();
        let mut agent = Agent::new();
        let actions = agent.step(
            Event::Started {
                cached: vec![],
                contents: vec![],
            },
            now,
            STAMP,
        );
        assert_eq!(
            actions,
            [Action::Poll {
                etag: None,
                wait_seconds: 0
            }]
        );
        // A poll in flight is not sent twice.
        assert!(agent.step(Event::Tick, now, STAMP).is_empty());
        let actions = agent.step(list("\"7-1\"", vec![]), now, STAMP);
        assert_eq!(
            actions,
            [Action::Poll {
                etag: Some("\"7-1\"".into()),
                wait_seconds: POLL_WAIT_SECONDS
            }]
        );
        let actions = agent.step(Event::Polled(Poll::Unchanged), now, STAMP);
        assert_eq!(
            actions,
            [Action::Poll {
                etag: Some("\"7-1\"".into()),
                wait_seconds: POLL_WAIT_SECONDS
            }]
        );
    }

    /// A rollout that holds this cluster back moves only the staged deployment: nothing to
    /// deploy until `deploymentID` moves too.
    #[test]
    fn a_staged_deployment_alone_is_not_deployed() {
        let first = bd("app", "m1", json!({}));
        let (mut agent, now) = running(vec![first]);
        let held_back = bd(
            "app",
            "m1",
            json!({"stagedDeploymentID": "m2:opts", "stagedOptions": {"namespace": "next"}}),
        );
        let actions = agent.step(list("\"2\"", vec![held_back]), now, STAMP);
        assert!(deploys(&actions).is_empty(), "{actions:?}");
        let moved = bd("app", "m1", json!({"deploymentID": "m1:other"}));
        let actions = agent.step(list("\"3\"", vec![moved]), now, STAMP);
        assert_eq!(deploys(&actions), ["app"]);
    }

    #[test]
    fn a_failed_poll_is_retried_with_growing_pauses() {
        let now = Instant::now();
        let mut agent = Agent::new();
        agent.step(
            Event::Started {
                cached: vec![],
                contents: vec![],
            },
            now,
            STAMP,
        );
        assert!(agent.step(Event::PollFailed, now, STAMP).is_empty());
        assert_eq!(agent.next_wakeup(), Some(now + MANAGER_RETRY_MIN));
        assert!(
            agent
                .step(Event::Tick, now + Duration::from_millis(499), STAMP)
                .is_empty()
        );
        let later = now + MANAGER_RETRY_MIN;
        assert!(matches!(
            agent.step(Event::Tick, later, STAMP).as_slice(),
            [Action::Poll { etag: None, .. }]
        ));
        agent.step(Event::PollFailed, later, STAMP);
        assert_eq!(agent.next_wakeup(), Some(later + 2 * MANAGER_RETRY_MIN));
        assert_eq!(manager_backoff(1), MANAGER_RETRY_MIN);
        assert_eq!(manager_backoff(3), 4 * MANAGER_RETRY_MIN);
        assert_eq!(manager_backoff(10), MANAGER_RETRY_MAX);
        assert_eq!(manager_backoff(200), MANAGER_RETRY_MAX);
    }

    #[test]
    fn contents_are_fetched_once_then_the_deployment_is_deployed() {
        let now = Instant::now();
        let mut agent = Agent::new();
        agent.step(
            Event::Started {
                cached: vec![],
                contents: vec![],
            },
            now,
            STAMP,
        );
        let a = bd("a", "s-m1", json!({}));
        let b = bd("b", "s-m1", json!({}));
        let actions = agent.step(list("\"1\"", vec![a, b]), now, STAMP);
        let fetches: Vec<_> = actions
            .iter()
            .filter(|a| matches!(a, Action::FetchContent { .. }))
            .collect();
        assert_eq!(
            fetches,
            [&Action::FetchContent {
                manifest_id: "s-m1".into()
            }]
        );
        assert!(deploys(&actions).is_empty());
        // A failed fetch is retried after a pause, not at once.
        let actions = agent.step(
            Event::ContentFailed {
                manifest_id: "s-m1".into(),
            },
            now,
            STAMP,
        );
        assert!(
            !actions
                .iter()
                .any(|a| matches!(a, Action::FetchContent { .. }))
        );
        let actions = agent.step(Event::Tick, now + MANAGER_RETRY_MIN, STAMP);
        assert!(
            actions
                .iter()
                .any(|a| matches!(a, Action::FetchContent { .. }))
        );
        let actions = agent.step(
            Event::ContentFetched {
                manifest_id: "s-m1".into(),
            },
            now,
            STAMP,
        );
        assert_eq!(deploys(&actions), ["a", "b"]);
    }

    #[test]
    fn only_a_changed_spec_is_redeployed() {
        let a = bd("a", "s-m1", json!({}));
        let (mut agent, now) = running(vec![a.clone()]);
        // The manager restarted: new ETag, same spec, other labels, its copy of the status.
        let mut same = a.clone();
        same.metadata.labels.insert("x".into(), "y".into());
        same.status = Some(ready(&a));
        let actions = agent.step(list("\"2\"", vec![same]), now, STAMP);
        assert!(deploys(&actions).is_empty(), "{actions:?}");
        // A new deployment ID (a Bundle update) is deployed.
        let updated = bd("a", "s-m2", json!({}));
        let actions = agent.step(list("\"3\"", vec![updated.clone()]), now, STAMP);
        assert_eq!(
            actions
                .iter()
                .filter(|a| matches!(a, Action::FetchContent { .. }))
                .count(),
            1
        );
        let actions = agent.step(
            Event::ContentFetched {
                manifest_id: "s-m2".into(),
            },
            now,
            STAMP,
        );
        assert_eq!(deploys(&actions), ["a"]);
        // Resuming a paused deployment changes its spec, so it is deployed again.
        let g = generation_of(&actions, "a");
        agent.step(deployed("a", g, ready(&updated)), now, STAMP);
        let paused = bd("a", "s-m2", json!({"paused": true}));
        let actions = agent.step(list("\"4\"", vec![paused.clone()]), now, STAMP);
        let Some(Action::Deploy { bd: sent, .. }) =
            actions.iter().find(|a| matches!(a, Action::Deploy { .. }))
        else {
            panic!("{actions:?}")
        };
        assert!(sent.spec.paused);
    }

    #[test]
    fn a_change_during_a_deploy_is_deployed_after_it() {
        let now = Instant::now();
        let mut agent = Agent::new();
        agent.step(
            Event::Started {
                cached: vec![],
                contents: vec!["s-m1".into(), "s-m2".into()],
            },
            now,
            STAMP,
        );
        let actions = agent.step(list("\"1\"", vec![bd("a", "s-m1", json!({}))]), now, STAMP);
        let g = generation_of(&actions, "a");
        let newer = bd("a", "s-m2", json!({}));
        let actions = agent.step(list("\"2\"", vec![newer.clone()]), now, STAMP);
        assert!(deploys(&actions).is_empty(), "one deploy at a time");
        let actions = agent.step(deployed("a", g, ready(&newer)), now, STAMP);
        let Some(Action::Deploy { bd: sent, .. }) =
            actions.iter().find(|a| matches!(a, Action::Deploy { .. }))
        else {
            panic!("{actions:?}")
        };
        assert_eq!(sent.spec.deployment_id, "s-m2:opts");
    }

    #[test]
    fn a_failed_deploy_is_retried_with_backoff_and_a_recorded_error_is_not() {
        let now = Instant::now();
        let mut agent = Agent::new();
        agent.step(
            Event::Started {
                cached: vec![],
                contents: vec!["s-m1".into()],
            },
            now,
            STAMP,
        );
        let actions = agent.step(list("\"1\"", vec![bd("a", "s-m1", json!({}))]), now, STAMP);
        let mut g = generation_of(&actions, "a");
        let mut at = now;
        for failures in 1..=3 {
            agent.step(
                Event::Deployed {
                    name: "a".into(),
                    generation: g,
                    status: BundleDeploymentStatus::default(),
                    retry: true,
                    monitored: false,
                },
                at,
                STAMP,
            );
            let due = at + backoff(failures);
            assert_eq!(agent.next_wakeup(), Some(due));
            assert!(
                deploys(&agent.step(Event::Tick, due - Duration::from_millis(1), STAMP)).is_empty()
            );
            let actions = agent.step(Event::Tick, due, STAMP);
            g = generation_of(&actions, "a");
            at = due;
        }
        // A recorded error (retry false) waits for a new spec.
        agent.step(
            Event::Deployed {
                name: "a".into(),
                generation: g,
                status: BundleDeploymentStatus::default(),
                retry: false,
                monitored: false,
            },
            at,
            STAMP,
        );
        assert!(
            deploys(&agent.step(Event::Tick, at + Duration::from_secs(3600), STAMP)).is_empty()
        );
    }

    #[test]
    fn depends_on_waits_for_a_ready_dependency_and_requeues_after_15_s() {
        let a = bd("a", "s-m1", json!({}));
        let b = bd("b", "s-m2", json!({"dependsOn": [{"name": "a"}]}));
        let now = Instant::now();
        let mut agent = Agent::new();
        agent.step(
            Event::Started {
                cached: vec![],
                contents: vec!["s-m1".into(), "s-m2".into()],
            },
            now,
            STAMP,
        );
        let actions = agent.step(list("\"1\"", vec![a.clone(), b.clone()]), now, STAMP);
        assert_eq!(deploys(&actions), ["a"]);
        let status = agent.status("b").unwrap();
        let deployed_condition = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Deployed")
            .unwrap();
        assert_eq!(deployed_condition.status, "False");
        assert_eq!(
            deployed_condition.message,
            "dependent bundle(s) are not ready: [a]"
        );
        assert_eq!(agent.next_wakeup(), Some(now + DEPENDENCY_REQUEUE));
        // a becomes Ready; b still waits for its requeue.
        let g = generation_of(&actions, "a");
        let actions = agent.step(deployed("a", g, ready(&a)), now, STAMP);
        assert!(deploys(&actions).is_empty());
        let actions = agent.step(Event::Tick, now + DEPENDENCY_REQUEUE, STAMP);
        assert_eq!(deploys(&actions), ["b"]);
    }

    #[test]
    fn a_deployment_gone_from_the_list_is_uninstalled_and_retried() {
        let a = bd("a", "s-m1", json!({"keepResources": true}));
        let (mut agent, now) = running(vec![a.clone(), bd("b", "s-m1", json!({}))]);
        let actions = agent.step(list("\"2\"", vec![bd("b", "s-m1", json!({}))]), now, STAMP);
        assert!(actions.contains(&Action::Uninstall {
            name: "a".into(),
            spec: a.spec.clone()
        }));
        assert_eq!(agent.names(), ["b"]);
        agent.step(
            Event::Uninstalled {
                name: "a".into(),
                ok: false,
            },
            now,
            STAMP,
        );
        let due = now + backoff(1);
        assert_eq!(agent.next_wakeup(), Some(due));
        let actions = agent.step(Event::Tick, due, STAMP);
        assert!(
            actions
                .iter()
                .any(|x| matches!(x, Action::Uninstall { name, .. } if name == "a"))
        );
        agent.step(
            Event::Uninstalled {
                name: "a".into(),
                ok: true,
            },
            now,
            STAMP,
        );
        assert_eq!(agent.next_wakeup(), None);
    }

    #[test]
    fn inventories_the_manager_does_not_list_are_uninstalled_once_it_has_listed() {
        let now = Instant::now();
        let mut agent = Agent::new();
        agent.step(
            Event::Started {
                cached: vec![bd("cached", "m1", json!({}))],
                contents: vec!["m1".into()],
            },
            now,
            STAMP,
        );
        // Before the manager answers nothing is collected: it may still list them.
        let actions = agent.step(
            Event::Inventoried {
                names: vec!["cached".into(), "listed".into(), "stray".into()],
            },
            now,
            STAMP,
        );
        assert!(
            !actions
                .iter()
                .any(|a| matches!(a, Action::Uninstall { .. })),
            "{actions:?}"
        );
        let actions = agent.step(list("e1", vec![bd("listed", "m1", json!({}))]), now, STAMP);
        let mut uninstalled: Vec<&str> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Uninstall { name, spec } => {
                    assert!(!spec.options.keep_resources);
                    Some(name.as_str())
                }
                _ => None,
            })
            .collect();
        uninstalled.sort();
        // `cached` goes as any deployment gone from the list, `stray` by its inventory.
        assert_eq!(uninstalled, ["cached", "stray"]);
        // A later list does not collect again.
        let actions = agent.step(list("e2", vec![bd("listed", "m1", json!({}))]), now, STAMP);
        assert!(
            !actions
                .iter()
                .any(|a| matches!(a, Action::Uninstall { .. }))
        );
        // Inventories reported after the list are collected at once.
        let actions = agent.step(
            Event::Inventoried {
                names: vec!["late".into(), "listed".into()],
            },
            now,
            STAMP,
        );
        assert!(actions.contains(&Action::Uninstall {
            name: "late".into(),
            spec: BundleDeploymentSpec::default(),
        }));
    }

    #[test]
    fn statuses_are_reported_in_one_batch_only_when_they_change() {
        let a = bd("a", "s-m1", json!({}));
        let b = bd("b", "s-m1", json!({}));
        let now = Instant::now();
        let mut agent = Agent::new();
        agent.step(
            Event::Started {
                cached: vec![],
                contents: vec!["s-m1".into()],
            },
            now,
            STAMP,
        );
        let actions = agent.step(list("\"1\"", vec![a.clone(), b.clone()]), now, STAMP);
        let (ga, gb) = (generation_of(&actions, "a"), generation_of(&actions, "b"));
        let actions = agent.step(deployed("a", ga, ready(&a)), now, STAMP);
        let reports: Vec<_> = actions
            .iter()
            .filter_map(|x| match x {
                Action::Report { statuses } => Some(statuses.len()),
                _ => None,
            })
            .collect();
        assert_eq!(reports, [1]);
        // b finishes while a's report is in flight: it goes in the next batch.
        assert!(
            !agent
                .step(deployed("b", gb, ready(&b)), now, STAMP)
                .iter()
                .any(|x| matches!(x, Action::Report { .. }))
        );
        let actions = agent.step(Event::Reported { ok: true }, now, STAMP);
        assert!(
            matches!(actions.as_slice(), [Action::Report { statuses }] if statuses[0].0 == "b"),
            "{actions:?}"
        );
        agent.step(Event::Reported { ok: true }, now, STAMP);
        // A recompute that changes only condition times reports nothing.
        agent.step(Event::ObjectsChanged { name: "a".into() }, now, STAMP);
        let due = now + crate::monitor::AGGREGATION_DELAY;
        let actions = agent.step(Event::Tick, due, STAMP);
        let Some(Action::Recompute { generation, .. }) = actions.first() else {
            panic!("{actions:?}")
        };
        let mut later = ready(&a);
        later.conditions[0].last_update_time = "2026-01-01T00:05:00Z".into();
        let actions = agent.step(
            Event::Recomputed {
                name: "a".into(),
                generation: *generation,
                status: later,
                failed: false,
            },
            due,
            STAMP,
        );
        assert!(actions.is_empty(), "{actions:?}");
    }

    #[test]
    fn a_failed_report_is_retried_and_sent_at_once_when_the_manager_answers() {
        let a = bd("a", "s-m1", json!({}));
        let (mut agent, now) = running(vec![a.clone()]);
        agent.step(Event::ObjectsChanged { name: "a".into() }, now, STAMP);
        let due = now + crate::monitor::AGGREGATION_DELAY;
        let actions = agent.step(Event::Tick, due, STAMP);
        let Some(Action::Recompute { generation, .. }) = actions.first() else {
            panic!("{actions:?}")
        };
        let mut modified = ready(&a);
        modified.non_modified = false;
        let actions = agent.step(
            Event::Recomputed {
                name: "a".into(),
                generation: *generation,
                status: modified.clone(),
                failed: false,
            },
            due,
            STAMP,
        );
        assert_eq!(
            actions,
            [Action::Report {
                statuses: vec![("a".into(), modified.clone())]
            }]
        );
        assert!(
            agent
                .step(Event::Reported { ok: false }, due, STAMP)
                .is_empty()
        );
        // The manager answers a poll before the report's pause is over: report now.
        let actions = agent.step(Event::Polled(Poll::Unchanged), due, STAMP);
        assert!(actions.contains(&Action::Report {
            statuses: vec![("a".into(), modified)]
        }));
    }

    #[test]
    fn a_restart_deploys_from_the_cache_before_the_manager_answers() {
        let mut a = bd("a", "s-m1", json!({}));
        a.status = Some(ready(&a));
        let now = Instant::now();
        let mut agent = Agent::new();
        let actions = agent.step(
            Event::Started {
                cached: vec![a.clone()],
                contents: vec!["s-m1".into()],
            },
            now,
            STAMP,
        );
        assert_eq!(deploys(&actions), ["a"]);
        let g = generation_of(&actions, "a");
        // Offline: statuses change, but nothing is reported before the manager has listed.
        let mut modified = ready(&a);
        modified.non_modified = false;
        agent.step(Event::PollFailed, now, STAMP);
        let actions = agent.step(deployed("a", g, modified.clone()), now, STAMP);
        assert!(actions.is_empty(), "{actions:?}");
        // The manager answers with the same spec and its old status: no redeploy, one report.
        let actions = agent.step(Event::Tick, now + MANAGER_RETRY_MIN, STAMP);
        assert!(matches!(actions.as_slice(), [Action::Poll { .. }]));
        let actions = agent.step(list("\"9\"", vec![a.clone()]), now, STAMP);
        assert!(deploys(&actions).is_empty());
        assert!(actions.contains(&Action::Report {
            statuses: vec![("a".into(), modified)]
        }));
    }

    #[test]
    fn a_pause_that_is_over_is_not_a_wakeup_any_more() {
        let now = Instant::now();
        let mut agent = Agent::new();
        agent.step(
            Event::Started {
                cached: vec![],
                contents: vec![],
            },
            now,
            STAMP,
        );
        agent.step(list("\"1\"", vec![bd("a", "s-m1", json!({}))]), now, STAMP);
        agent.step(
            Event::ContentFailed {
                manifest_id: "s-m1".into(),
            },
            now,
            STAMP,
        );
        // The deployment goes away before the fetch is retried.
        agent.step(list("\"2\"", vec![]), now, STAMP);
        let later = now + MANAGER_RETRY_MIN;
        assert_eq!(agent.next_wakeup(), Some(later));
        assert!(
            !agent
                .step(Event::Tick, later, STAMP)
                .iter()
                .any(|a| matches!(a, Action::FetchContent { .. }))
        );
        assert_eq!(agent.next_wakeup(), None);
    }

    #[test]
    fn a_refused_credential_is_replaced_by_registering_again() {
        let now = Instant::now();
        let started = Event::Started {
            cached: vec![],
            contents: vec![],
        };
        // Without a registration token: keep polling with backoff, nothing else.
        let mut agent = Agent::new();
        agent.step(started.clone(), now, STAMP);
        assert!(agent.step(Event::CredentialRefused, now, STAMP).is_empty());
        assert_eq!(agent.next_wakeup(), Some(now + MANAGER_RETRY_MIN));

        let mut agent = Agent::new().with_registration();
        agent.step(started, now, STAMP);
        assert_eq!(
            agent.step(Event::CredentialRefused, now, STAMP),
            [Action::Register]
        );
        // No poll with the old credential while the new one is asked for.
        assert!(
            agent
                .step(Event::Tick, now + MANAGER_RETRY_MAX, STAMP)
                .is_empty()
        );
        assert_eq!(agent.next_wakeup(), None);
        let failed_at = now + MANAGER_RETRY_MAX;
        let actions = agent.step(Event::Registered { ok: false }, failed_at, STAMP);
        assert!(
            matches!(actions.as_slice(), [Action::Poll { .. }]),
            "{actions:?}"
        );
        // Refused again within the minute: no new registration yet.
        assert!(
            agent
                .step(Event::CredentialRefused, failed_at, STAMP)
                .is_empty()
        );
        let later = failed_at + REGISTER_RETRY;
        assert_eq!(
            agent.step(Event::CredentialRefused, later, STAMP),
            [Action::Register]
        );
        let actions = agent.step(Event::Registered { ok: true }, later, STAMP);
        assert!(
            matches!(actions.as_slice(), [Action::Poll { .. }]),
            "{actions:?}"
        );
    }

    #[test]
    fn a_stale_monitoring_pass_is_dropped() {
        let a = bd("a", "s-m1", json!({}));
        let (mut agent, now) = running(vec![a.clone()]);
        agent.step(Event::ObjectsChanged { name: "a".into() }, now, STAMP);
        assert!(agent.step(Event::Tick, now, STAMP).is_empty());
        let due = now + crate::monitor::AGGREGATION_DELAY;
        let actions = agent.step(Event::Tick, due, STAMP);
        let Some(Action::Recompute { generation, .. }) = actions.first() else {
            panic!("{actions:?}")
        };
        let stale = *generation;
        // A new spec is deployed meanwhile; the old pass must not overwrite its status.
        let actions = agent.step(
            list("\"2\"", vec![bd("a", "s-m1", json!({"paused": true}))]),
            due,
            STAMP,
        );
        assert_eq!(deploys(&actions), ["a"]);
        let mut old = ready(&a);
        old.ready = false;
        agent.step(
            Event::Recomputed {
                name: "a".into(),
                generation: stale,
                status: old,
                failed: false,
            },
            due,
            STAMP,
        );
        assert!(agent.status("a").unwrap().ready);
    }
}
