//! Rollout: `limit()`, automatic and manual partitions, and one reconcile's walk over the
//! partitions (`UpdatePartitions`, spec §4), as pure functions over BundleDeployment states.

use std::collections::BTreeMap;

use fleet_core::selector::LabelSelector;
use serde::{Deserialize, Serialize};

use crate::engine::DISPLAY_NAME_LABEL;
use crate::selector::{self, RawOp, RawReq, SelectorError};

/// Default `maxNew`.
pub const DEFAULT_MAX_NEW: i64 = 50;
/// Default `autoPartitionThreshold`.
pub const DEFAULT_AUTO_PARTITION_THRESHOLD: i64 = 200;

/// Kubernetes IntOrString.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    /// An integer.
    Int(i64),
    /// A string (`"25%"`, or digits).
    String(String),
}

/// Why a rollout computation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolloutError {
    /// A value that is neither an integer nor a percentage.
    #[error("invalid maxUnavailable, must be int or percentage (ending with %): {0}")]
    Limit(String),
    /// An invalid partition selector.
    #[error("partition {index} ({field}): {source}")]
    Partition {
        /// Index in `rolloutStrategy.partitions`.
        index: usize,
        /// The selector field.
        field: &'static str,
        /// The error.
        source: SelectorError,
    },
}

/// Fleet's `limit(count, values…)`: the first present value, else `100%`.
pub fn limit(count: i64, values: &[Option<&IntOrString>]) -> Result<i64, RolloutError> {
    if count <= 0 {
        return Ok(1);
    }
    let v = values
        .iter()
        .flatten()
        .next()
        .copied()
        .cloned()
        .unwrap_or_else(|| IntOrString::String("100%".into()));
    match v {
        IntOrString::Int(i) => Ok(if i > count {
            count
        } else if i < 0 {
            0
        } else {
            i
        }),
        IntOrString::String(s) => {
            if let Ok(i) = s.parse::<i64>()
                && i > 0
                && !s.starts_with('+')
            {
                return Ok(i);
            }
            let Some(p) = s.strip_suffix('%') else {
                return Err(RolloutError::Limit(s));
            };
            let p: f64 = p
                .trim()
                .parse()
                .map_err(|_| RolloutError::Limit(s.clone()))?;
            if p <= 0.0 {
                return Ok(1);
            }
            let i = ((count as f64) * p) as i64 / 100;
            Ok(if i <= 0 {
                1
            } else if i > count {
                count
            } else {
                i
            })
        }
    }
}

/// A manual partition definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionDef {
    /// Name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Per-partition maxUnavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// `clusterName`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster_name: String,
    /// `clusterSelector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_selector: Option<LabelSelector>,
    /// `clusterGroup`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster_group: String,
    /// `clusterGroupSelector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_group_selector: Option<LabelSelector>,
}

/// `spec.rolloutStrategy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStrategy {
    /// Global maxUnavailable (default 100%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// maxUnavailablePartitions (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable_partitions: Option<IntOrString>,
    /// autoPartitionSize (default 25%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_partition_size: Option<IntOrString>,
    /// autoPartitionThreshold (default 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_partition_threshold: Option<i64>,
    /// maxNew (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_new: Option<i64>,
    /// Manual partitions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<PartitionDef>,
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

/// Fleet's `isUnavailable`.
pub fn is_unavailable(bd: Option<&BdState>) -> bool {
    bd.is_some_and(|bd| bd.applied_deployment_id != bd.deployment_id || !bd.ready)
}

/// Fleet's `upToDate`.
pub fn up_to_date(t: &RolloutTarget) -> bool {
    t.bd.as_ref().is_some_and(|bd| {
        bd.staged_deployment_id == t.deployment_id
            && bd.deployment_id == t.deployment_id
            && bd.applied_deployment_id == t.deployment_id
    })
}

/// Number of targets with an existing, unavailable BundleDeployment.
pub fn unavailable(targets: &[&RolloutTarget]) -> i64 {
    targets
        .iter()
        .filter(|t| is_unavailable(t.bd.as_ref()))
        .count() as i64
}

/// Fleet's partition counter: targets not up to date or unavailable.
pub fn partition_unavailable(targets: &[&RolloutTarget]) -> i64 {
    targets
        .iter()
        .filter(|t| !up_to_date(t) || is_unavailable(t.bd.as_ref()))
        .count() as i64
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
    group_sel: Option<Vec<RawReq>>,
    cluster_sel: Option<Vec<RawReq>>,
}

fn raw_matches(reqs: &[RawReq], labels: &BTreeMap<String, String>) -> bool {
    reqs.iter().all(|r| {
        let v = labels.get(&r.key);
        match r.op {
            RawOp::In => v.is_some_and(|v| r.values.contains(v)),
            RawOp::NotIn => v.is_none_or(|v| !r.values.contains(v)),
            RawOp::Exists => v.is_some(),
            RawOp::DoesNotExist => v.is_none(),
        }
    })
}

impl StrMatcher {
    fn new(p: &PartitionDef, index: usize) -> Result<Self, RolloutError> {
        let conv = |s: &Option<LabelSelector>, field| {
            s.as_ref()
                .map(|s| {
                    selector::validate(s).map_err(|source| RolloutError::Partition {
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
            && c.labels.get(DISPLAY_NAME_LABEL) != Some(&self.name)
        {
            return false;
        }
        if !self.group.is_empty() && gname != self.group {
            return false;
        }
        if let Some(s) = &self.group_sel
            && !raw_matches(s, glabels)
        {
            return false;
        }
        if let Some(s) = &self.cluster_sel
            && !raw_matches(s, &c.labels)
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
    values: &[Option<&IntOrString>],
) -> Result<Partition, RolloutError> {
    let refs: Vec<&RolloutTarget> = idx.iter().map(|&i| &targets[i]).collect();
    Ok(Partition {
        name,
        count: idx.len() as i64,
        max_unavailable: limit(idx.len() as i64, values)?,
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
    if let Some(IntOrString::Int(i)) = &strategy.auto_partition_size
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
    let def = IntOrString::String("25%".into());
    let size = limit(
        targets.len() as i64,
        &[strategy.auto_partition_size.as_ref(), Some(&def)],
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
        max_unavailable: limit(targets.len() as i64, &[strategy.max_unavailable.as_ref()])?,
        ..Default::default()
    };
    let max_new = strategy.max_new.unwrap_or(DEFAULT_MAX_NEW);
    let parts = partitions(strategy, targets)?;
    let zero = IntOrString::Int(0);
    status.max_unavailable_partitions = limit(
        parts.len() as i64,
        &[strategy.max_unavailable_partitions.as_ref(), Some(&zero)],
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
