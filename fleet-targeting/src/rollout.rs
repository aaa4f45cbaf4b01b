//! Rollout: `limit()`, automatic and manual partitions, and one reconcile's walk over the
//! partitions (`UpdatePartitions`, spec §4), as pure functions over BundleDeployment states.

use std::collections::BTreeMap;

pub use fleet_core::crd::{Partition as PartitionDef, RolloutStrategy};
use fleet_core::rollout::{DeploymentView, IntOrString, limit};
use fleet_core::selector::{Labels, Selector};

use crate::engine::DISPLAY_NAME_LABEL;
use crate::selector::SelectorError;

/// Default `maxNew`.
pub const DEFAULT_MAX_NEW: i64 = 50;
/// Default `autoPartitionThreshold`.
pub const DEFAULT_AUTO_PARTITION_THRESHOLD: i64 = 200;

/// Why a rollout computation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolloutError {
    /// A limit that is neither an integer nor a percentage.
    #[error("{field}: {source}")]
    Limit {
        /// Which field (`maxUnavailable`, `autoPartitionSize`, …).
        field: String,
        /// The error.
        source: fleet_core::rollout::RolloutError,
    },
    /// An invalid partition selector.
    #[error("rolloutStrategy.partitions[{index}].{field}: {source}")]
    Partition {
        /// Index in `rolloutStrategy.partitions`.
        index: usize,
        /// The selector field.
        field: &'static str,
        /// The error.
        source: SelectorError,
    },
}

/// The CRD's IntOrString as `fleet_core::rollout`'s.
pub fn int_or_string(v: &fleet_core::crd::IntOrString) -> IntOrString {
    match v {
        fleet_core::crd::IntOrString::Int(i) => IntOrString::Int(*i),
        fleet_core::crd::IntOrString::String(s) => IntOrString::String(s.clone()),
    }
}

fn lim(
    field: &str,
    count: i64,
    values: &[Option<&fleet_core::crd::IntOrString>],
    fallback: Option<IntOrString>,
) -> Result<i64, RolloutError> {
    let conv: Vec<Option<IntOrString>> = values
        .iter()
        .map(|v| v.map(int_or_string))
        .chain(std::iter::once(fallback))
        .collect();
    limit(count, conv.iter().map(Option::as_ref)).map_err(|source| RolloutError::Limit {
        field: field.to_owned(),
        source,
    })
}

/// The cluster side of a target, as the partition matchers see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterView {
    /// Cluster name.
    pub name: String,
    /// Cluster labels.
    pub labels: BTreeMap<String, String>,
    /// Groups the cluster is in: name and the group's labels.
    pub groups: Vec<(String, BTreeMap<String, String>)>,
    /// `spec.paused`.
    pub paused: bool,
}

/// An existing BundleDeployment's rollout-relevant fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BdState {
    /// `spec.deploymentID`.
    pub deployment_id: String,
    /// `spec.stagedDeploymentID`.
    pub staged_deployment_id: String,
    /// `status.appliedDeploymentID`.
    pub applied_deployment_id: String,
    /// `status.ready`.
    pub ready: bool,
}

/// One target of the bundle (a cluster that gets it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolloutTarget {
    /// The cluster.
    pub cluster: ClusterView,
    /// The deployment ID targeting computed.
    pub deployment_id: String,
    /// The existing BundleDeployment, if any.
    pub bd: Option<BdState>,
}

impl DeploymentView for BdState {
    fn deployment_id(&self) -> &str {
        &self.deployment_id
    }
    fn staged_deployment_id(&self) -> &str {
        &self.staged_deployment_id
    }
    fn applied_deployment_id(&self) -> &str {
        &self.applied_deployment_id
    }
    fn ready(&self) -> bool {
        self.ready
    }
}

/// Fleet's `isUnavailable`.
pub fn is_unavailable(bd: Option<&BdState>) -> bool {
    fleet_core::rollout::is_unavailable(bd)
}

/// Fleet's `upToDate`.
pub fn up_to_date(t: &RolloutTarget) -> bool {
    fleet_core::rollout::up_to_date(&t.deployment_id, t.bd.as_ref())
}

/// Number of targets with an existing, unavailable BundleDeployment.
pub fn unavailable(targets: &[&RolloutTarget]) -> i64 {
    fleet_core::rollout::unavailable(targets.iter().map(|t| t.bd.as_ref())) as i64
}

/// Fleet's partition counter: targets not up to date or unavailable.
pub fn partition_unavailable(targets: &[&RolloutTarget]) -> i64 {
    fleet_core::rollout::partition_unavailable(
        targets
            .iter()
            .map(|t| (t.deployment_id.as_str(), t.bd.as_ref())),
    ) as i64
}

/// A partition: its status and its targets (indices into the target list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Partition {
    /// Name.
    pub name: String,
    /// Number of targets.
    pub count: i64,
    /// maxUnavailable of the partition.
    pub max_unavailable: i64,
    /// Unavailable targets when the partition was formed.
    pub unavailable: i64,
    /// Target indices.
    pub targets: Vec<usize>,
}

struct StrMatcher {
    name: String,
    group: String,
    group_sel: Option<Selector>,
    cluster_sel: Option<Selector>,
}

impl StrMatcher {
    fn new(p: &PartitionDef, index: usize) -> Result<Self, RolloutError> {
        let conv = |s: &Option<fleet_core::selector::LabelSelector>, field| {
            s.as_ref()
                .map(|s| {
                    s.to_selector().map_err(|source| RolloutError::Partition {
                        index,
                        field,
                        source,
                    })
                })
                .transpose()
        };
        Ok(StrMatcher {
            name: p.cluster_name.clone(),
            group: p.cluster_group.clone(),
            group_sel: conv(&p.cluster_group_selector, "clusterGroupSelector")?,
            cluster_sel: conv(&p.cluster_selector, "clusterSelector")?,
        })
    }

    fn matches_with(
        &self,
        c: &ClusterView,
        gname: &str,
        glabels: &BTreeMap<String, String>,
    ) -> bool {
        if self.name.is_empty()
            && self.group.is_empty()
            && self.group_sel.is_none()
            && self.cluster_sel.is_none()
        {
            return false;
        }
        if !self.name.is_empty()
            && c.name != self.name
            && c.labels.get_label(DISPLAY_NAME_LABEL) != Some(self.name.as_str())
        {
            return false;
        }
        if !self.group.is_empty() && gname != self.group {
            return false;
        }
        if let Some(s) = &self.group_sel
            && !s.matches(glabels)
        {
            return false;
        }
        if let Some(s) = &self.cluster_sel
            && !s.matches(&c.labels)
        {
            return false;
        }
        true
    }

    fn matches(&self, c: &ClusterView) -> bool {
        if c.groups.is_empty() {
            return self.matches_with(c, "", &BTreeMap::new());
        }
        c.groups.iter().any(|(n, l)| self.matches_with(c, n, l))
    }
}

fn make_partition(
    name: String,
    idx: Vec<usize>,
    targets: &[RolloutTarget],
    values: &[Option<&fleet_core::crd::IntOrString>],
) -> Result<Partition, RolloutError> {
    let refs: Vec<&RolloutTarget> = idx.iter().map(|&i| &targets[i]).collect();
    Ok(Partition {
        max_unavailable: lim("maxUnavailable", idx.len() as i64, values, None)?,
        name,
        count: idx.len() as i64,
        unavailable: unavailable(&refs),
        targets: idx,
    })
}

/// The partitions of the targets (in the given order, which Fleet makes cluster-name order).
pub fn partitions(
    strategy: &RolloutStrategy,
    targets: &[RolloutTarget],
) -> Result<Vec<Partition>, RolloutError> {
    let mu = strategy.max_unavailable.as_ref();
    if !strategy.partitions.is_empty() {
        let mut out = Vec::new();
        for (i, p) in strategy.partitions.iter().enumerate() {
            let m = StrMatcher::new(p, i)?;
            let idx: Vec<usize> = (0..targets.len())
                .filter(|&t| m.matches(&targets[t].cluster))
                .collect();
            out.push(make_partition(
                p.name.clone(),
                idx,
                targets,
                &[p.max_unavailable.as_ref(), mu],
            )?);
        }
        return Ok(out);
    }
    let all = |targets: &[RolloutTarget]| {
        make_partition("All".into(), (0..targets.len()).collect(), targets, &[mu]).map(|p| vec![p])
    };
    if let Some(fleet_core::crd::IntOrString::Int(i)) = &strategy.auto_partition_size
        && *i <= 0
    {
        return all(targets);
    }
    let threshold = strategy
        .auto_partition_threshold
        .unwrap_or(DEFAULT_AUTO_PARTITION_THRESHOLD);
    if threshold <= 0 || (targets.len() as i64) < threshold {
        return all(targets);
    }
    let size = lim(
        "autoPartitionSize",
        targets.len() as i64,
        &[strategy.auto_partition_size.as_ref()],
        Some(IntOrString::String("25%".into())),
    )?
    .max(1) as usize;
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < targets.len() {
        let end = (offset + size).min(targets.len());
        out.push(make_partition(
            format!("Partition {offset} - {end}"),
            (offset..end).collect(),
            targets,
            &[mu],
        )?);
        offset = end;
    }
    Ok(out)
}

/// What one reconcile decided for one target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BdOutcome {
    /// The BundleDeployment is created by this reconcile.
    pub created: bool,
    /// `spec.deploymentID` after the reconcile.
    pub deployment_id: String,
    /// `spec.stagedDeploymentID` after the reconcile.
    pub staged_deployment_id: String,
}

/// The bundle's rollout status after the reconcile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolloutStatus {
    /// BundleDeployments created by this reconcile.
    pub newly_created: i64,
    /// Unavailable count (existing unavailable plus promotions of available ones).
    pub unavailable: i64,
    /// Global maxUnavailable.
    pub max_unavailable: i64,
    /// maxUnavailablePartitions.
    pub max_unavailable_partitions: i64,
    /// Partitions counted unavailable before the walk stopped.
    pub unavailable_partitions: i64,
}

/// The result of one reconcile's rollout step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolloutPlan {
    /// Bundle status fields.
    pub status: RolloutStatus,
    /// Partitions (status as Fleet records it: formed before the walk).
    pub partitions: Vec<Partition>,
    /// Per target (same order as the input): the BundleDeployment after the walk, if any.
    pub bundle_deployments: Vec<Option<BdOutcome>>,
}

/// One bundle reconcile's rollout step (`resetStatus` + `UpdatePartitions`).
pub fn update_partitions(
    bundle_paused: bool,
    strategy: &RolloutStrategy,
    targets: &[RolloutTarget],
) -> Result<RolloutPlan, RolloutError> {
    let refs: Vec<&RolloutTarget> = targets.iter().collect();
    let mut status = RolloutStatus {
        newly_created: 0,
        unavailable: unavailable(&refs),
        max_unavailable: lim(
            "maxUnavailable",
            targets.len() as i64,
            &[strategy.max_unavailable.as_ref()],
            None,
        )?,
        ..Default::default()
    };
    let max_new = strategy.max_new.unwrap_or(DEFAULT_MAX_NEW);
    let parts = partitions(strategy, targets)?;
    status.max_unavailable_partitions = lim(
        "maxUnavailablePartitions",
        parts.len() as i64,
        &[strategy.max_unavailable_partitions.as_ref()],
        Some(IntOrString::Int(0)),
    )?;
    // Working copy of the targets, whose BundleDeployments the walk creates and changes.
    let mut work: Vec<RolloutTarget> = targets.to_vec();
    let mut created = vec![false; targets.len()];
    for p in &parts {
        let mut p_unavailable = p.unavailable;
        for &i in &p.targets {
            if work[i].bd.is_none() && status.newly_created < max_new {
                status.newly_created += 1;
                work[i].bd = Some(BdState::default());
                created[i] = true;
            }
            let id = work[i].deployment_id.clone();
            if let Some(bd) = work[i].bd.as_mut() {
                bd.staged_deployment_id = id;
            }
        }
        for &i in &p.targets {
            let paused = bundle_paused || work[i].cluster.paused;
            let Some(bd) = work[i].bd.as_mut() else {
                continue;
            };
            if paused
                || bd.staged_deployment_id.is_empty()
                || bd.deployment_id == bd.staged_deployment_id
            {
                continue;
            }
            let unav = is_unavailable(Some(bd));
            let budget =
                status.unavailable < status.max_unavailable && p_unavailable < p.max_unavailable;
            if unav || budget {
                if !unav {
                    status.unavailable += 1;
                    p_unavailable += 1;
                }
                bd.deployment_id = bd.staged_deployment_id.clone();
            }
        }
        let members: Vec<&RolloutTarget> = p.targets.iter().map(|&i| &work[i]).collect();
        if partition_unavailable(&members) > p.max_unavailable {
            status.unavailable_partitions += 1;
        }
        if status.unavailable_partitions > status.max_unavailable_partitions {
            break;
        }
    }
    Ok(RolloutPlan {
        status,
        partitions: parts,
        bundle_deployments: work
            .into_iter()
            .zip(created)
            .map(|(t, created)| {
                t.bd.map(|bd| BdOutcome {
                    created,
                    deployment_id: bd.deployment_id,
                    staged_deployment_id: bd.staged_deployment_id,
                })
            })
            .collect(),
    })
}
