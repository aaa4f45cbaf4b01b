//! `fleet-manager rollout --plan PLAN.yaml`: one bundle reconcile's rollout step (spec §4.4,
//! with the status preparation of `resetStatus`) over a given state.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use fleet_core::selector::LabelSelector;
use fleet_targeting::rollout::{self, BdState, ClusterView, RolloutStrategy, RolloutTarget};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Arguments of `fleet-manager rollout`.
#[derive(Args, Debug)]
pub struct RolloutArgs {
    /// The state: `{bundle: {paused, rolloutStrategy}, clusterGroups: [...], targets: [...]}`.
    #[arg(long, value_name = "PLAN.yaml")]
    pub plan: PathBuf,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Plan {
    bundle: PlanBundle,
    #[serde(default)]
    cluster_groups: Vec<PlanGroup>,
    #[serde(default)]
    targets: Vec<PlanTarget>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlanBundle {
    #[serde(default)]
    paused: bool,
    #[serde(default)]
    rollout_strategy: Option<RolloutStrategy>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlanGroup {
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    selector: Option<LabelSelector>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlanCluster {
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    paused: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanBd {
    #[serde(default, rename = "deploymentID")]
    deployment_id: String,
    #[serde(default, rename = "stagedDeploymentID")]
    staged_deployment_id: String,
    #[serde(default, rename = "appliedDeploymentID")]
    applied_deployment_id: String,
    #[serde(default)]
    ready: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanTarget {
    cluster: PlanCluster,
    #[serde(default, rename = "deploymentID")]
    deployment_id: String,
    #[serde(default, rename = "bundleDeployment")]
    bundle_deployment: Option<PlanBd>,
}

/// Runs the command and returns its complete output.
pub fn run(args: &RolloutArgs) -> Result<String> {
    let text = std::fs::read_to_string(&args.plan)
        .with_context(|| format!("cannot read {}", args.plan.display()))?;
    let mut plan: Plan = fleet_core::yaml::from_str(&text)
        .with_context(|| format!("{}: invalid plan", args.plan.display()))?;
    let mut groups = Vec::new();
    for g in &plan.cluster_groups {
        let sel = match &g.selector {
            None => None,
            Some(s) => match s.to_selector() {
                Ok(s) => Some(s),
                Err(e) => {
                    eprintln!(
                        "fleet-manager: warning: {}: clusterGroup {}/{} has an invalid selector and contains no cluster: {e}",
                        args.plan.display(),
                        g.namespace,
                        g.name
                    );
                    None
                }
            },
        };
        groups.push((g, sel));
    }
    let mut seen = BTreeMap::new();
    for t in &plan.targets {
        if seen
            .insert((t.cluster.namespace.clone(), t.cluster.name.clone()), ())
            .is_some()
        {
            bail!(
                "{}: cluster {}/{} appears twice in targets",
                args.plan.display(),
                t.cluster.namespace,
                t.cluster.name
            );
        }
    }
    plan.targets
        .sort_by(|a, b| a.cluster.name.cmp(&b.cluster.name));
    let targets: Vec<RolloutTarget> = plan
        .targets
        .iter()
        .map(|t| RolloutTarget {
            cluster: ClusterView {
                name: t.cluster.name.clone(),
                labels: t.cluster.labels.clone(),
                groups: groups
                    .iter()
                    .filter(|(g, s)| {
                        g.namespace == t.cluster.namespace
                            && s.as_ref().is_some_and(|s| s.matches(&t.cluster.labels))
                    })
                    .map(|(g, _)| (g.name.clone(), g.labels.clone()))
                    .collect(),
                paused: t.cluster.paused,
            },
            deployment_id: t.deployment_id.clone(),
            bd: t.bundle_deployment.as_ref().map(|b| BdState {
                deployment_id: b.deployment_id.clone(),
                staged_deployment_id: b.staged_deployment_id.clone(),
                applied_deployment_id: b.applied_deployment_id.clone(),
                ready: b.ready,
            }),
        })
        .collect();
    let strategy = plan.bundle.rollout_strategy.clone().unwrap_or_default();
    let result = rollout::update_partitions(plan.bundle.paused, &strategy, &targets)
        .with_context(|| format!("{}: rollout", args.plan.display()))?;
    let mut bds = Map::new();
    for (t, bd) in targets.iter().zip(&result.bundle_deployments) {
        let v = match bd {
            None => Value::String("none".into()),
            Some(b) => json!({
                "created": b.created,
                "deploymentID": b.deployment_id,
                "stagedDeploymentID": b.staged_deployment_id,
            }),
        };
        bds.insert(t.cluster.name.clone(), v);
    }
    let s = &result.status;
    let out = json!({
        "status": {
            "newlyCreated": s.newly_created,
            "unavailable": s.unavailable,
            "maxUnavailable": s.max_unavailable,
            "maxUnavailablePartitions": s.max_unavailable_partitions,
            "unavailablePartitions": s.unavailable_partitions,
        },
        "partitions": result.partitions.iter().map(|p| json!({
            "name": p.name,
            "count": p.count,
            "maxUnavailable": p.max_unavailable,
            "clusters": p.targets.iter().map(|&i| targets[i].cluster.name.clone()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "bundleDeployments": bds,
    });
    fleet_core::yaml::to_string(&out).context("cannot write YAML")
}
