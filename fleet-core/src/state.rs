//! Bundle states, their ranking, the per-deployment state and status summaries
//! (`pkg/apis/fleet.cattle.io/v1alpha1/bundle_types.go` `StateRank`,
//! `internal/cmd/controller/summary/summary.go`; spec §7.2).
//!
//! ```
//! use fleet_core::crd::BundleSummary;
//! use fleet_core::state::{BundleState, SummaryExt};
//! let mut summary = BundleSummary::default();
//! summary.increment_state("fleet-default/c1", BundleState::Modified, "", vec![], vec![]);
//! summary.desired_ready += 1;
//! assert_eq!(summary.summary_state(), Some(BundleState::Modified));
//! assert_eq!(summary.ready_message("Cluster"), "Modified(1) [Cluster fleet-default/c1]");
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::crd::{
    BundleDeployment, BundleSummary, ModifiedStatus, NonReadyResource, NonReadyStatus,
    ResourceSummary,
};
use crate::rollout::DeploymentView;

/// The state of a BundleDeployment as the controller reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BundleState {
    /// Deployed, ready and not modified.
    Ready,
    /// Applied, but some resources are not ready.
    NotReady,
    /// The agent has not applied the current deployment yet.
    WaitApplied,
    /// Applying the current deployment failed.
    ErrApplied,
    /// A newer deployment is staged but not rolled out (paused or rollout-blocked).
    OutOfSync,
    /// A target without a BundleDeployment yet.
    Pending,
    /// Live resources differ from the desired ones.
    Modified,
}

/// Every state, by ascending [`BundleState::rank`].
pub const BUNDLE_STATES_BY_RANK: [BundleState; 7] = [
    BundleState::Ready,
    BundleState::NotReady,
    BundleState::Pending,
    BundleState::OutOfSync,
    BundleState::Modified,
    BundleState::WaitApplied,
    BundleState::ErrApplied,
];

impl BundleState {
    /// Fleet's `StateRank`: the state with the higher rank is reported first.
    pub fn rank(self) -> u8 {
        match self {
            BundleState::Ready => 1,
            BundleState::NotReady => 2,
            BundleState::Pending => 3,
            BundleState::OutOfSync => 4,
            BundleState::Modified => 5,
            BundleState::WaitApplied => 6,
            BundleState::ErrApplied => 7,
        }
    }

    /// The state's name as written in Fleet objects.
    pub fn as_str(self) -> &'static str {
        match self {
            BundleState::Ready => "Ready",
            BundleState::NotReady => "NotReady",
            BundleState::WaitApplied => "WaitApplied",
            BundleState::ErrApplied => "ErrApplied",
            BundleState::OutOfSync => "OutOfSync",
            BundleState::Pending => "Pending",
            BundleState::Modified => "Modified",
        }
    }
}

impl fmt::Display for BundleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown state name (names are case-sensitive).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid state {0:?}, valid values are: [Ready NotReady Pending OutOfSync Modified WaitApplied ErrApplied]"
)]
pub struct UnknownState(pub String);

impl FromStr for BundleState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, UnknownState> {
        BUNDLE_STATES_BY_RANK
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

/// The status fields [`deployment_state`] reads, beyond those of [`DeploymentView`].
pub trait DeploymentStateView: DeploymentView {
    /// `status.nonModified`.
    fn non_modified(&self) -> bool;
    /// Whether condition `Deployed` exists with status `False`.
    fn deployed_condition_false(&self) -> bool;
}

impl<M> DeploymentStateView for BundleDeployment<M> {
    fn non_modified(&self) -> bool {
        self.status.as_ref().is_some_and(|s| s.non_modified)
    }
    fn deployed_condition_false(&self) -> bool {
        self.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .find(|c| c.type_ == "Deployed")
                .is_some_and(|c| c.status == "False")
        })
    }
}

/// `MessageFromDeployment` for a BundleDeployment (see [`message_from_deployment`]).
pub fn deployment_message<M>(bd: &BundleDeployment<M>) -> String {
    let Some(status) = &bd.status else {
        return String::new();
    };
    message_from_deployment(
        status.applied_deployment_id == bd.spec.deployment_id,
        status
            .conditions
            .iter()
            .map(|c| (c.type_.as_str(), c.message.as_str())),
    )
}

/// `GetDeploymentState` (spec §7.2), in this order: applied ≠ deployment ID ⇒ `ErrApplied` if
/// `Deployed` is False else `WaitApplied`; not ready ⇒ `NotReady`; deployment ≠ staged ID ⇒
/// `OutOfSync`; not `nonModified` ⇒ `Modified`; else `Ready`.
pub fn deployment_state<D: DeploymentStateView + ?Sized>(bd: &D) -> BundleState {
    if bd.applied_deployment_id() != bd.deployment_id() {
        if bd.deployed_condition_false() {
            BundleState::ErrApplied
        } else {
            BundleState::WaitApplied
        }
    } else if !bd.ready() {
        BundleState::NotReady
    } else if bd.deployment_id() != bd.staged_deployment_id() {
        BundleState::OutOfSync
    } else if !bd.non_modified() {
        BundleState::Modified
    } else {
        BundleState::Ready
    }
}

/// `MessageFromDeployment`: the message of condition `Deployed`; if empty, of `Installed` (only
/// when the applied ID equals the deployment ID); if still empty, of `Monitored`. `conditions`
/// are `(type, message)` pairs; the first condition of a type counts.
pub fn message_from_deployment<'a, I>(ids_match: bool, conditions: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)> + Clone,
{
    let find = |ty: &str| {
        conditions
            .clone()
            .into_iter()
            .find(|(t, _)| *t == ty)
            .map(|(_, m)| m.to_string())
            .unwrap_or_default()
    };
    let mut message = find("Deployed");
    if message.is_empty() && ids_match {
        message = find("Installed");
    }
    if message.is_empty() {
        message = find("Monitored");
    }
    message
}

/// The `kind.group namespace/name` form Fleet uses in status messages: the kind lower-cased
/// rune by rune (Go's `strings.ToLower`), the part of `apiVersion` before `/` (so the core
/// group shows its version: `configmap.v1`).
pub fn object_name(api_version: &str, kind: &str, namespace: &str, name: &str) -> String {
    let kind = go_lower(kind);
    let ns_name = if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    };
    if api_version.is_empty() {
        format!("{kind} {ns_name}")
    } else {
        let group = api_version.split('/').next().unwrap_or_default();
        format!("{kind}.{group} {ns_name}")
    }
}

fn go_lower(s: &str) -> String {
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

/// `ModifiedStatus.String()`: `kind.group ns/name missing|is not owned by us|extra|modified
/// <patch>`.
pub fn modified_status_string(m: &ModifiedStatus) -> String {
    let name = object_name(&m.api_version, &m.kind, &m.namespace, &m.name);
    if m.missing && m.exist {
        format!("{name} is not owned by us")
    } else if m.missing {
        format!("{name} missing")
    } else if m.delete {
        format!("{name} extra")
    } else {
        format!("{name} modified {}", m.patch)
    }
}

/// wrangler's `Summary.String()`: the state, or `[progressing]`/`error]`/`[progressing,error]`
/// followed by the messages joined with `, ` (the unbalanced `error]` is wrangler's).
pub fn resource_summary_string(s: &ResourceSummary) -> String {
    if !s.transitioning && !s.error {
        return s.state.clone();
    }
    let mut out = match (s.transitioning, s.error) {
        (true, true) => "[progressing,error]",
        (true, false) => "[progressing]",
        _ => "error]",
    }
    .to_string();
    if !s.message.is_empty() {
        out.push(' ');
        out.push_str(&s.message.join(", "));
    }
    out
}

/// The wrangler summary of a non-ready resource as Fleet's agent records it: state `error`
/// with `error: true`, or `in-progress` with `transitioning: true`; the message, if any.
pub fn non_ready_summary(error: bool, message: &str) -> ResourceSummary {
    ResourceSummary {
        state: if error { "error" } else { "in-progress" }.to_string(),
        error,
        transitioning: !error,
        message: if message.is_empty() {
            Vec::new()
        } else {
            vec![message.to_string()]
        },
        ..ResourceSummary::default()
    }
}

/// `NonReadyStatus.String()`: `kind.group ns/name <summary>`.
pub fn non_ready_status_string(n: &NonReadyStatus) -> String {
    let name = object_name(&n.api_version, &n.kind, &n.namespace, &n.name);
    format!("{name} {}", resource_summary_string(&n.summary))
}

/// How many non-ready resources a summary keeps.
pub const MAX_NON_READY_RESOURCES: usize = 10;

/// The rank of a state name as Fleet's `StateRank` map gives it (0 for unknown names).
fn rank_of(name: &str) -> u8 {
    name.parse::<BundleState>().map_or(0, BundleState::rank)
}

/// Summary arithmetic of `internal/cmd/controller/summary` on [`BundleSummary`].
pub trait SummaryExt {
    /// The counter of one state.
    fn count(&self, state: BundleState) -> i64;
    /// `IncrementState`: counts `state`; a non-ready state with a non-empty name is recorded
    /// while fewer than ten entries are kept. (`desiredReady` is not touched.)
    fn increment_state(
        &mut self,
        name: &str,
        state: BundleState,
        message: &str,
        modified: Vec<ModifiedStatus>,
        non_ready: Vec<NonReadyStatus>,
    );
    /// `Increment(left, right)`: adds the counters; appends all of `right`'s entries when fewer
    /// than ten are kept (so the list may end up longer than ten, as in Fleet).
    fn add(&mut self, right: &BundleSummary);
    /// `IsReady`: every desired target is ready.
    fn is_ready(&self) -> bool;
    /// `GetSummaryState`: the highest-ranked state among the non-ready entries (`None` when
    /// there are none or none has a known state; Fleet writes the empty string).
    fn summary_state(&self) -> Option<BundleState>;
    /// `ReadyMessage`: for each non-ready state with a positive count, the first entry in that
    /// state as `State(count) [Kind name]` or `State(count) [Kind name: message]`, followed by
    /// up to four of its modified and four of its non-ready resources (Fleet breaks at index
    /// 4); all sorted and joined with `; `. Empty when everything is ready.
    fn ready_message(&self, referenced_kind: &str) -> String;
    /// `SetReadyConditions`: the `Ready` condition's status (`true` when the message is empty)
    /// and message. Fleet also clears the reason.
    fn ready_condition(&self, referenced_kind: &str) -> (bool, String) {
        let message = self.ready_message(referenced_kind);
        (message.is_empty(), message)
    }
}

fn count_mut(s: &mut BundleSummary, state: BundleState) -> &mut i64 {
    match state {
        BundleState::Ready => &mut s.ready,
        BundleState::NotReady => &mut s.not_ready,
        BundleState::WaitApplied => &mut s.wait_applied,
        BundleState::ErrApplied => &mut s.err_applied,
        BundleState::OutOfSync => &mut s.out_of_sync,
        BundleState::Pending => &mut s.pending,
        BundleState::Modified => &mut s.modified,
    }
}

impl SummaryExt for BundleSummary {
    fn count(&self, state: BundleState) -> i64 {
        match state {
            BundleState::Ready => self.ready,
            BundleState::NotReady => self.not_ready,
            BundleState::WaitApplied => self.wait_applied,
            BundleState::ErrApplied => self.err_applied,
            BundleState::OutOfSync => self.out_of_sync,
            BundleState::Pending => self.pending,
            BundleState::Modified => self.modified,
        }
    }

    fn increment_state(
        &mut self,
        name: &str,
        state: BundleState,
        message: &str,
        modified: Vec<ModifiedStatus>,
        non_ready: Vec<NonReadyStatus>,
    ) {
        *count_mut(self, state) += 1;
        if !name.is_empty()
            && state != BundleState::Ready
            && self.non_ready_resources.len() < MAX_NON_READY_RESOURCES
        {
            self.non_ready_resources.push(NonReadyResource {
                name: name.to_string(),
                bundle_state: state.as_str().to_string(),
                message: message.to_string(),
                modified_status: modified,
                non_ready_status: non_ready,
                ..Default::default()
            });
        }
    }

    fn add(&mut self, right: &BundleSummary) {
        self.not_ready += right.not_ready;
        self.wait_applied += right.wait_applied;
        self.err_applied += right.err_applied;
        self.out_of_sync += right.out_of_sync;
        self.modified += right.modified;
        self.ready += right.ready;
        self.pending += right.pending;
        self.desired_ready += right.desired_ready;
        if self.non_ready_resources.len() < MAX_NON_READY_RESOURCES {
            self.non_ready_resources
                .extend(right.non_ready_resources.iter().cloned());
        }
    }

    fn is_ready(&self) -> bool {
        self.desired_ready == self.ready
    }

    fn summary_state(&self) -> Option<BundleState> {
        let mut best: Option<BundleState> = None;
        for r in &self.non_ready_resources {
            if rank_of(&r.bundle_state) > best.map_or(0, BundleState::rank) {
                best = r.bundle_state.parse().ok();
            }
        }
        best
    }

    fn ready_message(&self, referenced_kind: &str) -> String {
        let mut messages = Vec::new();
        for state in [
            BundleState::OutOfSync,
            BundleState::NotReady,
            BundleState::WaitApplied,
            BundleState::ErrApplied,
            BundleState::Pending,
            BundleState::Modified,
        ] {
            let count = self.count(state);
            if count <= 0 {
                continue;
            }
            let Some(r) = self
                .non_ready_resources
                .iter()
                .find(|r| r.bundle_state == state.as_str())
            else {
                continue;
            };
            if r.message.is_empty() {
                messages.push(format!("{state}({count}) [{referenced_kind} {}]", r.name));
            } else {
                messages.push(format!(
                    "{state}({count}) [{referenced_kind} {}: {}]",
                    r.name, r.message
                ));
            }
            messages.extend(r.modified_status.iter().take(4).map(modified_status_string));
            messages.extend(
                r.non_ready_status
                    .iter()
                    .take(4)
                    .map(non_ready_status_string),
            );
        }
        messages.sort();
        messages.join("; ")
    }
}

/// Why a fleet.yaml `dependsOn` entry is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DependsOnError {
    /// Neither `name` nor `selector` is set.
    #[error("dependsOn[{index}]: must specify either 'name' or 'selector'")]
    MissingTarget {
        /// Index of the entry.
        index: usize,
    },
    /// An `acceptedStates` entry is not a state name.
    #[error("dependsOn[{index}].acceptedStates[{state_index}]: {source}")]
    InvalidState {
        /// Index of the entry.
        index: usize,
        /// Index of the state inside `acceptedStates`.
        state_index: usize,
        /// The unknown name.
        source: UnknownState,
    },
}

/// fleet.yaml validation of one `dependsOn` entry (`validateFleetYAML`): a name or a selector
/// is required, and every `acceptedStates` entry must be a state name (case-sensitive).
pub fn validate_depends_on(
    index: usize,
    has_name: bool,
    has_selector: bool,
    accepted_states: &[String],
) -> Result<Vec<BundleState>, DependsOnError> {
    if !has_name && !has_selector {
        return Err(DependsOnError::MissingTarget { index });
    }
    accepted_states
        .iter()
        .enumerate()
        .map(|(state_index, s)| {
            s.parse().map_err(|source| DependsOnError::InvalidState {
                index,
                state_index,
                source,
            })
        })
        .collect()
}
