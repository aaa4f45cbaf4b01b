//! Bundle states, their ranking, the per-deployment state and status summaries
//! (`pkg/apis/fleet.cattle.io/v1alpha1/bundle_types.go` `StateRank`,
//! `internal/cmd/controller/summary/summary.go`; spec §7.2).
//!
//! ```
//! use fleet_core::state::{BundleState, BundleSummary};
//! let mut summary = BundleSummary::default();
//! summary.increment_state("fleet-default/c1", BundleState::Modified, "", vec![], vec![]);
//! summary.desired_ready += 1;
//! assert_eq!(summary.summary_state(), Some(BundleState::Modified));
//! assert_eq!(summary.ready_message("Cluster"), "Modified(1) [Cluster fleet-default/c1]");
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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

/// The `kind.group namespace/name` form Fleet uses in status messages.
fn object_name(api_version: &str, kind: &str, namespace: &str, name: &str) -> String {
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

/// A modified resource (`ModifiedStatus` in BundleDeployment status).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedStatus {
    /// Resource kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Resource apiVersion.
    #[serde(
        default,
        rename = "apiVersion",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_version: String,
    /// Resource namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Resource name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The resource is missing and must be created (`missing`).
    #[serde(
        default,
        rename = "missing",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub create: bool,
    /// The resource is extra and would be deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete: bool,
    /// The patch that would bring the live object back.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub patch: String,
}

impl fmt::Display for ModifiedStatus {
    /// `kind.group ns/name missing|extra|modified <patch>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = object_name(&self.api_version, &self.kind, &self.namespace, &self.name);
        if self.create {
            write!(f, "{name} missing")
        } else if self.delete {
            write!(f, "{name} extra")
        } else {
            write!(f, "{name} modified {}", self.patch)
        }
    }
}

/// wrangler's resource `summary.Summary` (as stored in `nonReadyStatus[].summary`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceSummary {
    /// Lower-case state such as `in-progress`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub state: String,
    /// The resource is in error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub error: bool,
    /// The resource is progressing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub transitioning: bool,
    /// Messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message: Vec<String>,
}

impl fmt::Display for ResourceSummary {
    /// wrangler's `Summary.String`: the state, or `[progressing]`/`[error]`/`[progressing,error]`
    /// followed by the messages joined with `, `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.transitioning && !self.error {
            return f.write_str(&self.state);
        }
        let tag = match (self.transitioning, self.error) {
            (true, true) => "[progressing,error]",
            (true, false) => "[progressing]",
            _ => "error]",
        };
        f.write_str(tag)?;
        if !self.message.is_empty() {
            write!(f, " {}", self.message.join(", "))?;
        }
        Ok(())
    }
}

/// A resource that is not ready (`NonReadyStatus` in BundleDeployment status).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NonReadyStatus {
    /// Resource UID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Resource kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Resource apiVersion.
    #[serde(
        default,
        rename = "apiVersion",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_version: String,
    /// Resource namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Resource name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The resource's summary.
    #[serde(default)]
    pub summary: ResourceSummary,
}

impl fmt::Display for NonReadyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = object_name(&self.api_version, &self.kind, &self.namespace, &self.name);
        write!(f, "{name} {}", self.summary)
    }
}

/// One entry of `summary.nonReadyResources`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NonReadyResource {
    /// `<clusterNamespace>/<clusterName>` for bundles, the BundleDeployment name for clusters.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Its state.
    #[serde(rename = "bundleState")]
    pub state: BundleState,
    /// Its message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Its modified resources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modified_status: Vec<ModifiedStatus>,
    /// Its non-ready resources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_ready_status: Vec<NonReadyStatus>,
}

/// How many non-ready resources a summary keeps.
pub const MAX_NON_READY_RESOURCES: usize = 10;

/// `BundleSummary`: counts per state plus up to ten non-ready entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleSummary {
    /// Targets in `NotReady`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_ready: i64,
    /// Targets in `WaitApplied`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub wait_applied: i64,
    /// Targets in `ErrApplied`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub err_applied: i64,
    /// Targets in `OutOfSync`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub out_of_sync: i64,
    /// Targets in `Modified`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub modified: i64,
    /// Targets in `Ready`.
    pub ready: i64,
    /// Targets in `Pending`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pending: i64,
    /// All targets.
    pub desired_ready: i64,
    /// Up to ten non-ready targets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_ready_resources: Vec<NonReadyResource>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

impl BundleSummary {
    /// The counter of one state.
    pub fn count(&self, state: BundleState) -> i64 {
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

    fn count_mut(&mut self, state: BundleState) -> &mut i64 {
        match state {
            BundleState::Ready => &mut self.ready,
            BundleState::NotReady => &mut self.not_ready,
            BundleState::WaitApplied => &mut self.wait_applied,
            BundleState::ErrApplied => &mut self.err_applied,
            BundleState::OutOfSync => &mut self.out_of_sync,
            BundleState::Pending => &mut self.pending,
            BundleState::Modified => &mut self.modified,
        }
    }

    /// `IncrementState`: counts `state`; a non-ready state with a non-empty name is recorded
    /// while fewer than ten entries are kept. (`desiredReady` is not touched.)
    pub fn increment_state(
        &mut self,
        name: &str,
        state: BundleState,
        message: &str,
        modified: Vec<ModifiedStatus>,
        non_ready: Vec<NonReadyStatus>,
    ) {
        *self.count_mut(state) += 1;
        if !name.is_empty()
            && state != BundleState::Ready
            && self.non_ready_resources.len() < MAX_NON_READY_RESOURCES
        {
            self.non_ready_resources.push(NonReadyResource {
                name: name.to_string(),
                state,
                message: message.to_string(),
                modified_status: modified,
                non_ready_status: non_ready,
            });
        }
    }

    /// `Increment(left, right)`: adds the counters; appends all of `right`'s entries when fewer
    /// than ten are kept (so the list may end up longer than ten, as in Fleet).
    pub fn add(&mut self, right: &BundleSummary) {
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

    /// `IsReady`: every desired target is ready.
    pub fn is_ready(&self) -> bool {
        self.desired_ready == self.ready
    }

    /// `GetSummaryState`: the highest-ranked state among the non-ready entries (`None` when
    /// there are none; Fleet writes the empty string).
    pub fn summary_state(&self) -> Option<BundleState> {
        self.non_ready_resources.iter().map(|r| r.state).fold(
            None,
            |best: Option<BundleState>, s| match best {
                Some(b) if b.rank() >= s.rank() => Some(b),
                _ => Some(s),
            },
        )
    }

    /// `ReadyMessage`: for each non-ready state with a positive count, the first entry in that
    /// state as `State(count) [Kind name]` or `State(count) [Kind name: message]`, followed by
    /// up to four of its modified and four of its non-ready resources (Fleet breaks at index 4); all sorted and joined
    /// with `; `. Empty when everything is ready.
    pub fn ready_message(&self, referenced_kind: &str) -> String {
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
            let Some(r) = self.non_ready_resources.iter().find(|r| r.state == state) else {
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
            messages.extend(r.modified_status.iter().take(4).map(ToString::to_string));
            messages.extend(r.non_ready_status.iter().take(4).map(ToString::to_string));
        }
        messages.sort();
        messages.join("; ")
    }

    /// `SetReadyConditions`: the `Ready` condition's status (`true` when the message is empty)
    /// and message. Fleet also clears the reason.
    pub fn ready_condition(&self, referenced_kind: &str) -> (bool, String) {
        let message = self.ready_message(referenced_kind);
        (message.is_empty(), message)
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
