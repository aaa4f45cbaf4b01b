//! The rollout step of a reconcile (Fleet spec §4.4): between "what every targeted cluster
//! should run" and "what is written", it stages the new deployment on every BundleDeployment
//! (`spec.stagedDeploymentID`, `spec.stagedOptions`) and moves `spec.deploymentID` and
//! `spec.options` only as far as the Bundle's `rolloutStrategy` allows, creating at most
//! `maxNew` BundleDeployments per pass. Agents deploy `spec.deploymentID` only, so a
//! BundleDeployment kept back here keeps running its previous deployment.
//!
//! Pure, like the reconcile that calls it. The walk itself is
//! [`fleet_targeting::rollout::update_partitions`]; this module maps stored JSON objects to its
//! input and its outcome back to BundleDeployments and Bundle status fields. It is fed the
//! desired BundleDeployments whatever computed them, and re-runs on every reconcile, so a
//! rollout proceeds whenever an agent's status post (which reconciles) frees the budget.

use std::collections::BTreeMap;

use fleet_core::crd::{Bundle, BundleDeploymentOptions, Cluster, ClusterGroup};
use fleet_core::rollout::DeploymentView;
use fleet_core::selector::Selector;
use fleet_core::state::DeploymentStateView;
use fleet_targeting::rollout::{
    self, BdState, ClusterView, DEFAULT_MAX_NEW, RolloutError, RolloutTarget,
};
use serde_json::{Value, json};

/// A stored BundleDeployment (JSON) seen through the fields the rollout and state rules read.
pub struct JsonBd<'a>(pub &'a Value);

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

impl DeploymentView for JsonBd<'_> {
    fn deployment_id(&self) -> &str {
        text(&self.0["spec"]["deploymentID"])
    }
    fn staged_deployment_id(&self) -> &str {
        text(&self.0["spec"]["stagedDeploymentID"])
    }
    fn applied_deployment_id(&self) -> &str {
        text(&self.0["status"]["appliedDeploymentID"])
    }
    fn ready(&self) -> bool {
        self.0["status"]["ready"] == true
    }
}

impl DeploymentStateView for JsonBd<'_> {
    fn non_modified(&self) -> bool {
        self.0["status"]["nonModified"] == true
    }
    fn deployed_condition_false(&self) -> bool {
        self.0["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .find(|c| c["type"] == "Deployed")
                .is_some_and(|c| c["status"] == "False")
        })
    }
}

/// Fleet's `isUnavailable` on a stored BundleDeployment: not ready, or the agent has not
/// applied the current `spec.deploymentID`.
pub fn is_unavailable(bd: &Value) -> bool {
    fleet_core::rollout::is_unavailable(Some(&JsonBd(bd)))
}

/// A rollout that cannot be computed: the Bundle's `rolloutStrategy` is invalid.
#[derive(Debug, thiserror::Error)]
#[error("Bundle {namespace}/{name}: rolloutStrategy: {source}")]
pub struct Error {
    /// Bundle namespace.
    pub namespace: String,
    /// Bundle name.
    pub name: String,
    /// What is wrong.
    #[source]
    pub source: Box<RolloutError>,
}

/// `(namespace, name)` of a stored object.
pub type Key = (String, String);

fn key_of(v: &Value) -> Key {
    (
        text(&v["metadata"]["namespace"]).to_owned(),
        text(&v["metadata"]["name"]).to_owned(),
    )
}

fn label<'v>(bd: &'v Value, name: &str) -> &'v str {
    text(&bd["metadata"]["labels"][name])
}

/// One partition as the Bundle's status shows it, with the BundleDeployments in it (for the
/// caller's summary) and its targets that have none yet.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionOut {
    /// `name`, `count`, `maxUnavailable`, `unavailable`.
    pub status: Value,
    /// Keys of the partition's BundleDeployments after this pass.
    pub members: Vec<Key>,
    /// Targets of the partition without a BundleDeployment (Fleet's `Pending`).
    pub pending: u64,
}

/// The rollout part of one Bundle's status after this pass.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleRollout {
    /// `newlyCreated`, `unavailable`, `unavailablePartitions`, `maxUnavailable`,
    /// `maxUnavailablePartitions`, `maxNew`.
    pub counters: Value,
    /// The partitions, in order.
    pub partitions: Vec<PartitionOut>,
    /// Targets without a BundleDeployment (not created yet: `maxNew`, a partition walk that
    /// stopped, or no manual partition matches the cluster).
    pub pending: u64,
}

/// What the rollout step decided.
#[derive(Debug, Default)]
pub struct Staged {
    /// The BundleDeployments to store, each the desired one with its deployment fields as the
    /// rollout leaves them and the stored status.
    pub deployments: Vec<Value>,
    /// Per Bundle: its rollout status.
    pub bundles: BTreeMap<Key, BundleRollout>,
    /// Some Bundle reached `maxNew` with targets still lacking a BundleDeployment: another
    /// pass, once this one is committed, creates the next ones (Fleet's controller is woken by
    /// the creations themselves).
    pub more: bool,
}

/// Groups a cluster is in (name and the group's labels): ClusterGroups of its namespace whose
/// selector matches its labels; an invalid selector holds no cluster, as in targeting.
fn groups_of(
    cluster: &Cluster,
    groups: &[(&ClusterGroup, Option<Selector>)],
) -> Vec<(String, BTreeMap<String, String>)> {
    groups
        .iter()
        .filter(|(g, s)| {
            g.metadata.namespace == cluster.metadata.namespace
                && s.as_ref()
                    .is_some_and(|s| s.matches(&cluster.metadata.labels))
        })
        .map(|(g, _)| (g.metadata.name.clone(), g.metadata.labels.clone()))
        .collect()
}

fn bd_state(bd: &Value) -> BdState {
    let v = JsonBd(bd);
    BdState {
        deployment_id: v.deployment_id().to_owned(),
        staged_deployment_id: v.staged_deployment_id().to_owned(),
        applied_deployment_id: v.applied_deployment_id().to_owned(),
        ready: v.ready(),
    }
}

/// Options Fleet's deployment ID leaves out of its hash (or that are unioned in after it) and
/// that it syncs from the staged options while the IDs are equal, so a change of only these
/// reaches agents without a rollout.
const UNHASHED_SYNCED: [&str; 3] = ["diff", "namespaceLabels", "namespaceAnnotations"];

/// Runs the rollout over `desired` (one BundleDeployment per targeted cluster, as targeting
/// builds them: staged and promoted at once) against the `existing` stored ones.
pub fn stage(
    bundles: &[Bundle],
    clusters: &[Cluster],
    groups: &[ClusterGroup],
    desired: Vec<Value>,
    existing: &BTreeMap<Key, &Value>,
) -> Result<Staged, Error> {
    let compiled: Vec<(&ClusterGroup, Option<Selector>)> = groups
        .iter()
        .map(|g| {
            let s = g.spec.selector.as_ref().and_then(|s| s.to_selector().ok());
            (g, s)
        })
        .collect();
    let cluster_by_key: BTreeMap<(&str, &str), &Cluster> = clusters
        .iter()
        .map(|c| ((c.metadata.namespace.as_str(), c.metadata.name.as_str()), c))
        .collect();
    let mut by_bundle: BTreeMap<Key, Vec<Value>> = BTreeMap::new();
    for bd in desired {
        let k = (
            label(&bd, "fleet.cattle.io/bundle-namespace").to_owned(),
            label(&bd, "fleet.cattle.io/bundle-name").to_owned(),
        );
        by_bundle.entry(k).or_default().push(bd);
    }
    let mut out = Staged::default();
    for bundle in bundles {
        let bkey = (
            bundle.metadata.namespace.clone(),
            bundle.metadata.name.clone(),
        );
        let mut mine = by_bundle.remove(&bkey).unwrap_or_default();
        // Fleet walks targets in cluster-name order (the partitions are cut from it).
        mine.sort_by(|a, b| {
            let ka = (
                label(a, "fleet.cattle.io/cluster"),
                label(a, "fleet.cattle.io/cluster-namespace"),
            );
            let kb = (
                label(b, "fleet.cattle.io/cluster"),
                label(b, "fleet.cattle.io/cluster-namespace"),
            );
            ka.cmp(&kb)
        });
        let strategy = bundle.spec.rollout_strategy.clone().unwrap_or_default();
        // Only manual partitions look at labels and groups; skip copying them otherwise.
        let manual = !strategy.partitions.is_empty();
        let targets: Vec<RolloutTarget> = mine
            .iter()
            .map(|bd| {
                let cluster = cluster_by_key
                    .get(&(
                        label(bd, "fleet.cattle.io/cluster-namespace"),
                        label(bd, "fleet.cattle.io/cluster"),
                    ))
                    .copied();
                RolloutTarget {
                    cluster: ClusterView {
                        name: label(bd, "fleet.cattle.io/cluster").to_owned(),
                        labels: cluster
                            .filter(|_| manual)
                            .map(|c| c.metadata.labels.clone())
                            .unwrap_or_default(),
                        groups: cluster
                            .filter(|_| manual)
                            .map(|c| groups_of(c, &compiled))
                            .unwrap_or_default(),
                        paused: cluster.is_some_and(|c| c.spec.paused),
                    },
                    deployment_id: text(&bd["spec"]["stagedDeploymentID"]).to_owned(),
                    bd: existing.get(&key_of(bd)).map(|old| bd_state(old)),
                }
            })
            .collect();
        let plan = rollout::update_partitions(bundle.spec.paused, &strategy, &targets).map_err(
            |source| Error {
                namespace: bkey.0.clone(),
                name: bkey.1.clone(),
                source: Box::new(source),
            },
        )?;
        let mut finals: Vec<Option<Value>> = Vec::with_capacity(mine.len());
        for ((desired, target), outcome) in
            mine.into_iter().zip(&targets).zip(&plan.bundle_deployments)
        {
            let Some(outcome) = outcome else {
                finals.push(None);
                continue;
            };
            let old = existing.get(&key_of(&desired)).copied();
            let paused = bundle.spec.paused || target.cluster.paused;
            finals.push(Some(apply_outcome(
                desired,
                old,
                &outcome.deployment_id,
                &outcome.staged_deployment_id,
                paused,
            )));
        }
        let max_new = strategy.max_new.unwrap_or(DEFAULT_MAX_NEW);
        let pending = finals.iter().filter(|f| f.is_none()).count() as u64;
        if pending > 0 && plan.status.newly_created >= max_new && max_new > 0 {
            out.more = true;
        }
        let partitions = plan
            .partitions
            .iter()
            .map(|p| {
                let present: Vec<&Value> = p
                    .targets
                    .iter()
                    .filter_map(|&i| finals[i].as_ref())
                    .collect();
                PartitionOut {
                    status: json!({
                        "name": p.name,
                        "count": p.count,
                        "maxUnavailable": p.max_unavailable,
                        // Fleet's `Unavailable(targets)` of the partition, over what this pass
                        // leaves (what the next reconcile would start from).
                        "unavailable": present.iter().filter(|bd| is_unavailable(bd)).count(),
                    }),
                    members: present.iter().map(|bd| key_of(bd)).collect(),
                    pending: (p.targets.len() - present.len()) as u64,
                }
            })
            .collect();
        let s = &plan.status;
        out.bundles.insert(
            bkey,
            BundleRollout {
                counters: json!({
                    "newlyCreated": s.newly_created,
                    "unavailable": s.unavailable,
                    "unavailablePartitions": s.unavailable_partitions,
                    "maxUnavailable": s.max_unavailable,
                    "maxUnavailablePartitions": s.max_unavailable_partitions,
                    "maxNew": max_new,
                }),
                partitions,
                pending,
            },
        );
        out.deployments.extend(finals.into_iter().flatten());
    }
    Ok(out)
}

/// The desired BundleDeployment with the deployment fields the walk decided: staged fields
/// from targeting when this pass staged it (else the stored ones), `deploymentID`/`options`
/// the staged ones when promoted, the stored ones otherwise.
fn apply_outcome(
    mut bd: Value,
    old: Option<&Value>,
    deployment_id: &str,
    staged_id: &str,
    paused: bool,
) -> Value {
    let target_id = text(&bd["spec"]["stagedDeploymentID"]).to_owned();
    // The posted status stays with the object (the rollout counters read it).
    if let Some(status) = old.and_then(|o| o.get("status")) {
        bd["status"] = status.clone();
    }
    let spec = &mut bd["spec"];
    if staged_id != target_id {
        // Not staged this pass (a later partition the walk did not reach, or no partition):
        // the stored staging stays.
        let o = old.map(|o| &o["spec"]);
        set(spec, "stagedDeploymentID", json!(staged_id));
        spec["stagedOptions"] = o
            .map(|o| o["stagedOptions"].clone())
            .filter(|v| !v.is_null())
            .unwrap_or_else(empty_options);
    }
    let old_id = old.map(|o| text(&o["spec"]["deploymentID"]));
    let promoted_now = deployment_id == target_id && old_id != Some(target_id.as_str());
    if promoted_now {
        // `options` already equal the staged options in a targeting-built BundleDeployment.
        set(spec, "deploymentID", json!(deployment_id));
        spec["options"] = spec["stagedOptions"].clone();
        return bd;
    }
    set(spec, "deploymentID", json!(deployment_id));
    let mut options = old
        .map(|o| o["spec"]["options"].clone())
        .filter(|v| !v.is_null())
        .unwrap_or_else(empty_options);
    if !paused && !deployment_id.is_empty() && deployment_id == staged_id {
        let staged = spec["stagedOptions"].clone();
        if let Some(o) = options.as_object_mut() {
            for field in UNHASHED_SYNCED {
                match staged.get(field) {
                    Some(v) => {
                        o.insert(field.to_owned(), v.clone());
                    }
                    None => {
                        o.remove(field);
                    }
                }
            }
        }
    }
    spec["options"] = options;
    bd
}

/// Sets a string field, leaving it out when empty (as the typed objects serialize).
fn set(spec: &mut Value, field: &str, v: Value) {
    let Some(o) = spec.as_object_mut() else {
        return;
    };
    if v.as_str().is_some_and(str::is_empty) {
        o.remove(field);
    } else {
        o.insert(field.to_owned(), v);
    }
}

fn empty_options() -> Value {
    serde_json::to_value(BundleDeploymentOptions::default()).unwrap_or_else(|_| json!({}))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Value, json};

    use crate::manager::reconcile::tests::apply_writes;
    use crate::manager::reconcile::{
        BUNDLE, BUNDLE_DEPLOYMENT, CLUSTER, CLUSTER_GROUP, GIT_REPO, Plan, State, deployment_state,
        reconcile,
    };

    /// The stored objects of a manager, reconciled as the server does and with agents played
    /// by the test.
    struct Sim {
        bundles: Vec<Value>,
        clusters: Vec<Value>,
        groups: Vec<Value>,
        bds: Vec<Value>,
        gitrepos: Vec<Value>,
    }

    impl Sim {
        /// Every cluster deployed and Ready.
        fn new(strategy: Value, clusters: &[(&str, &str)]) -> Sim {
            let mut sim = Sim::empty(strategy, clusters);
            sim.settle();
            sim
        }

        /// Nothing reconciled yet.
        fn empty(strategy: Value, clusters: &[(&str, &str)]) -> Sim {
            Sim {
                bundles: vec![bundle("v1", strategy)],
                clusters: clusters
                    .iter()
                    .map(|(name, stage)| {
                        json!({"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Cluster",
                            "metadata": {"namespace": "fleet-default", "name": name,
                                         "labels": {"stage": stage}},
                            "spec": {}})
                    })
                    .collect(),
                groups: Vec::new(),
                bds: Vec::new(),
                gitrepos: Vec::new(),
            }
        }

        fn cluster_mut(&mut self, name: &str) -> &mut Value {
            self.clusters
                .iter_mut()
                .find(|c| c["metadata"]["name"] == name)
                .unwrap()
        }

        /// One reconcile pass, its writes committed.
        fn pass(&mut self) -> Plan {
            let plan = reconcile(&State {
                bundles: &self.bundles,
                clusters: &self.clusters,
                groups: &self.groups,
                deployments: &self.bds,
                gitrepos: &self.gitrepos,
                offline: &BTreeSet::new(),
            })
            .unwrap();
            apply_writes(&mut self.bds, &plan.writes, BUNDLE_DEPLOYMENT);
            apply_writes(&mut self.bundles, &plan.writes, BUNDLE);
            apply_writes(&mut self.clusters, &plan.writes, CLUSTER);
            apply_writes(&mut self.groups, &plan.writes, CLUSTER_GROUP);
            apply_writes(&mut self.gitrepos, &plan.writes, GIT_REPO);
            plan
        }

        /// Passes as the server runs them: again while the rollout asks for more.
        fn reconcile(&mut self) {
            while self.pass().more {}
        }

        fn bd(&self, cluster: &str) -> &Value {
            self.bds
                .iter()
                .find(|bd| bd["metadata"]["labels"]["fleet.cattle.io/cluster"] == cluster)
                .unwrap_or_else(|| panic!("no BundleDeployment for {cluster}"))
        }

        /// The agent of `cluster` reports its current deployment applied and ready.
        fn agent_ready(&mut self, cluster: &str) {
            let bd = self
                .bds
                .iter_mut()
                .find(|bd| bd["metadata"]["labels"]["fleet.cattle.io/cluster"] == cluster)
                .unwrap();
            bd["status"] = json!({"appliedDeploymentID": bd["spec"]["deploymentID"],
                "ready": true, "nonModified": true});
            self.reconcile();
        }

        /// Every agent reports ready until nothing moves.
        fn settle(&mut self) {
            self.reconcile();
            let names: Vec<String> = self
                .clusters
                .iter()
                .map(|c| c["metadata"]["name"].as_str().unwrap().to_owned())
                .collect();
            for n in names {
                if self
                    .bds
                    .iter()
                    .any(|bd| bd["metadata"]["labels"]["fleet.cattle.io/cluster"] == n.as_str())
                {
                    self.agent_ready(&n);
                }
            }
        }

        fn change_bundle(&mut self, content: &str) {
            let strategy = self.bundles[0]["spec"]["rolloutStrategy"].clone();
            let paused = self.bundles[0]["spec"]["paused"].clone();
            let status = self.bundles[0]["status"].clone();
            self.bundles[0] = bundle(content, strategy);
            self.bundles[0]["spec"]["paused"] = paused;
            self.bundles[0]["status"] = status;
            self.reconcile();
        }

        fn target_id(&self) -> String {
            self.bds[0]["spec"]["stagedDeploymentID"]
                .as_str()
                .unwrap()
                .to_owned()
        }

        /// Clusters (by name) whose `spec.deploymentID` is `id`.
        fn on(&self, id: &str) -> Vec<String> {
            let mut v: Vec<String> = self
                .bds
                .iter()
                .filter(|bd| bd["spec"]["deploymentID"] == id)
                .map(|bd| {
                    bd["metadata"]["labels"]["fleet.cattle.io/cluster"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect();
            v.sort();
            v
        }

        fn unavailable(&self) -> usize {
            self.bds
                .iter()
                .filter(|bd| super::is_unavailable(bd))
                .count()
        }

        fn status(&self) -> &Value {
            &self.bundles[0]["status"]
        }
    }

    fn bundle(content: &str, strategy: Value) -> Value {
        let mut b = json!({"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Bundle",
            "metadata": {"namespace": "fleet-default", "name": "app"},
            "spec": {"resources": [{"name": "cm.yaml",
                        "content": format!("kind: ConfigMap\nmetadata:\n  name: {content}\n")}],
                     "targets": [{"clusterSelector": {}}]}});
        if !strategy.is_null() {
            b["spec"]["rolloutStrategy"] = strategy;
        }
        b
    }

    const FOUR: [(&str, &str); 4] = [
        ("c1", "canary"),
        ("c2", "canary"),
        ("c3", "prod"),
        ("c4", "prod"),
    ];

    #[test]
    fn max_unavailable_one_moves_one_cluster_at_a_time_until_it_reports_ready() {
        let mut sim = Sim::new(json!({"maxUnavailable": 1}), &FOUR);
        let old = sim.bd("c1")["spec"]["deploymentID"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(sim.on(&old).len(), 4);
        assert_eq!(sim.status()["display"]["readyClusters"], "4/4");
        sim.change_bundle("v2");
        let new = sim.target_id();
        assert_ne!(new, old);
        for (step, cluster) in ["c1", "c2", "c3", "c4"].into_iter().enumerate() {
            // Exactly this cluster moved; the others wait on the old deployment with the new
            // one staged, and more passes without a status change move nothing.
            assert_eq!(
                sim.on(&new),
                FOUR[..=step].iter().map(|c| c.0).collect::<Vec<_>>()
            );
            for c in &FOUR[step + 1..] {
                let bd = sim.bd(c.0);
                assert_eq!(bd["spec"]["deploymentID"], old.as_str(), "{c:?}");
                assert_eq!(bd["spec"]["stagedDeploymentID"], new.as_str());
                assert_eq!(deployment_state(bd), "OutOfSync");
            }
            assert_eq!(sim.unavailable(), 1);
            assert_eq!(sim.status()["unavailable"], 1);
            assert_eq!(sim.status()["maxUnavailable"], 1);
            assert_eq!(sim.status()["display"]["state"], "WaitApplied");
            assert!(
                sim.pass().writes.is_empty(),
                "a pass with nothing new wrote"
            );
            assert_eq!(sim.on(&new).len(), step + 1);
            sim.agent_ready(cluster);
        }
        assert_eq!(sim.on(&new).len(), 4);
        assert_eq!(sim.unavailable(), 0);
        assert_eq!(sim.status()["display"]["readyClusters"], "4/4");
        assert_eq!(sim.status()["display"]["state"], "");
        assert_eq!(sim.status()["unavailable"], 0);
        // The promoted options are the staged ones.
        let bd = sim.bd("c3");
        assert_eq!(bd["spec"]["options"], bd["spec"]["stagedOptions"]);
    }

    #[test]
    fn default_strategy_moves_every_cluster_at_once() {
        let mut sim = Sim::new(Value::Null, &FOUR);
        sim.change_bundle("v2");
        let new = sim.target_id();
        assert_eq!(sim.on(&new).len(), 4);
        assert_eq!(sim.status()["maxUnavailable"], 4);
        assert_eq!(sim.status()["partitions"][0]["name"], "All");
        assert_eq!(sim.status()["partitions"][0]["count"], 4);
    }

    #[test]
    fn label_partitions_go_in_order_and_later_ones_are_not_even_staged() {
        let strategy = json!({"partitions": [
            {"name": "canary", "maxUnavailable": 1, "clusterSelector": {"matchLabels": {"stage": "canary"}}},
            {"name": "prod", "maxUnavailable": 1, "clusterSelector": {"matchLabels": {"stage": "prod"}}},
        ]});
        let mut sim = Sim::new(strategy, &FOUR);
        let old = sim.bd("c1")["spec"]["deploymentID"]
            .as_str()
            .unwrap()
            .to_owned();
        sim.change_bundle("v2");
        let new = sim.bd("c1")["spec"]["stagedDeploymentID"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(sim.on(&new), ["c1"]);
        assert_eq!(sim.bd("c2")["spec"]["stagedDeploymentID"], new.as_str());
        // The canary partition is over its budget: the walk stops before prod.
        for c in ["c3", "c4"] {
            assert_eq!(sim.bd(c)["spec"]["stagedDeploymentID"], old.as_str(), "{c}");
        }
        let st = sim.status();
        assert_eq!(st["unavailablePartitions"], 1);
        assert_eq!(st["maxUnavailablePartitions"], 0);
        let parts = st["partitions"].as_array().unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0]["name"], "canary");
        assert_eq!(parts[0]["count"], 2);
        assert_eq!(parts[0]["maxUnavailable"], 1);
        assert_eq!(parts[0]["unavailable"], 1);
        assert_eq!(parts[0]["summary"]["desiredReady"], 2);
        assert_eq!(parts[1]["summary"]["ready"], 2);

        sim.agent_ready("c1");
        // Canary: c2 moves; its partition is within budget, so prod is staged and c3 moves.
        assert_eq!(sim.on(&new), ["c1", "c2", "c3"]);
        assert_eq!(sim.bd("c4")["spec"]["stagedDeploymentID"], new.as_str());
        assert_eq!(sim.bd("c4")["spec"]["deploymentID"], old.as_str());
        sim.agent_ready("c2");
        assert_eq!(sim.on(&new).len(), 3);
        sim.agent_ready("c3");
        assert_eq!(sim.on(&new).len(), 4);
    }

    #[test]
    fn automatic_partitions_from_the_threshold_gate_each_other() {
        let strategy = json!({"autoPartitionThreshold": 4, "autoPartitionSize": 2,
            "maxUnavailable": "50%"});
        let mut sim = Sim::new(strategy, &FOUR);
        let old = sim.bd("c1")["spec"]["deploymentID"]
            .as_str()
            .unwrap()
            .to_owned();
        sim.change_bundle("v2");
        let new = sim.target_id();
        let parts = sim.status()["partitions"].as_array().unwrap().clone();
        let names: Vec<&str> = parts.iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Partition 0 - 2", "Partition 2 - 4"]);
        // 50% of a partition of two is one: c1 moves, c2 waits, and the first partition is
        // over its budget, so the second one is not staged.
        assert_eq!(parts[0]["maxUnavailable"], 1);
        assert_eq!(sim.status()["maxUnavailable"], 2);
        assert_eq!(sim.on(&new), ["c1"]);
        assert_eq!(sim.bd("c3")["spec"]["stagedDeploymentID"], old.as_str());
        // c1 ready: c2 moves and leaves its partition within budget, so the second one is
        // staged and c3 moves too (the global budget of two allows it).
        sim.agent_ready("c1");
        assert_eq!(sim.on(&new), ["c1", "c2", "c3"]);
        assert_eq!(sim.bd("c4")["spec"]["stagedDeploymentID"], new.as_str());
        // c4 waits for c3, its partition's budget.
        sim.agent_ready("c2");
        assert_eq!(sim.on(&new).len(), 3);
        sim.agent_ready("c3");
        assert_eq!(sim.on(&new).len(), 4);
    }

    #[test]
    fn clusters_no_manual_partition_matches_get_nothing() {
        let strategy = json!({"partitions": [
            {"name": "canary", "clusterSelector": {"matchLabels": {"stage": "canary"}}},
        ]});
        let sim = Sim::new(strategy, &FOUR);
        assert_eq!(sim.bds.len(), 2);
        let st = sim.status();
        assert_eq!(st["summary"]["pending"], 2);
        assert_eq!(st["summary"]["desiredReady"], 4);
        assert_eq!(st["display"]["readyClusters"], "2/4");
        assert_eq!(st["display"]["state"], "Pending");
    }

    #[test]
    fn paused_bundles_and_clusters_stay_on_their_deployment() {
        let mut sim = Sim::new(Value::Null, &FOUR);
        let old = sim.bd("c1")["spec"]["deploymentID"]
            .as_str()
            .unwrap()
            .to_owned();
        sim.bundles[0]["spec"]["paused"] = json!(true);
        sim.change_bundle("v2");
        let new = sim.target_id();
        assert!(sim.on(&new).is_empty());
        assert_eq!(sim.on(&old).len(), 4);
        for c in FOUR {
            let bd = sim.bd(c.0);
            assert_eq!(bd["spec"]["stagedDeploymentID"], new.as_str());
            assert_eq!(bd["spec"]["paused"], true);
            assert_eq!(deployment_state(bd), "OutOfSync");
        }
        assert_eq!(sim.status()["summary"]["outOfSync"], 4);
        assert_eq!(sim.status()["display"]["state"], "OutOfSync");

        // Unpausing the bundle with one cluster paused: that one stays.
        sim.cluster_mut("c2")["spec"]["paused"] = json!(true);
        sim.bundles[0]["spec"]["paused"] = json!(false);
        sim.reconcile();
        assert_eq!(sim.on(&new), ["c1", "c3", "c4"]);
        assert_eq!(sim.bd("c2")["spec"]["deploymentID"], old.as_str());
        sim.cluster_mut("c2")["spec"]["paused"] = json!(false);
        sim.reconcile();
        assert_eq!(sim.on(&new).len(), 4);
    }

    #[test]
    fn a_new_cluster_of_a_paused_bundle_gets_its_deployment_staged_only() {
        let mut sim = Sim::new(Value::Null, &FOUR[..1]);
        sim.bundles[0]["spec"]["paused"] = json!(true);
        sim.clusters.push(
            json!({"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Cluster",
            "metadata": {"namespace": "fleet-default", "name": "c9"}, "spec": {}}),
        );
        sim.reconcile();
        let bd = sim.bd("c9");
        assert!(bd["spec"].get("deploymentID").is_none(), "{bd}");
        assert!(bd["spec"]["stagedDeploymentID"].as_str().is_some());
    }

    #[test]
    fn max_new_bounds_the_creations_of_one_pass() {
        let clusters: Vec<(String, &str)> = (1..=5).map(|i| (format!("c{i}"), "prod")).collect();
        let refs: Vec<(&str, &str)> = clusters.iter().map(|(n, s)| (n.as_str(), *s)).collect();
        let mut sim = Sim::empty(json!({"maxNew": 2}), &refs);
        let plan = sim.pass();
        assert!(plan.more);
        assert_eq!(sim.bds.len(), 2);
        assert_eq!(sim.status()["newlyCreated"], 2);
        assert_eq!(sim.status()["maxNew"], 2);
        assert_eq!(sim.status()["summary"]["pending"], 3);
        assert!(sim.pass().more);
        assert_eq!(sim.bds.len(), 4);
        let last = sim.pass();
        assert!(!last.more);
        assert_eq!(sim.bds.len(), 5);
        assert_eq!(sim.status()["newlyCreated"], 1);
        assert!(sim.status()["summary"].get("pending").is_none());
    }

    #[test]
    fn an_unavailable_cluster_is_moved_even_when_the_budget_is_spent() {
        let mut sim = Sim::new(json!({"maxUnavailable": 1}), &FOUR);
        // c4 is failing on the old deployment: it takes the budget, and is moved too.
        let bd = sim
            .bds
            .iter_mut()
            .find(|bd| bd["metadata"]["labels"]["fleet.cattle.io/cluster"] == "c4")
            .unwrap();
        bd["status"]["ready"] = json!(false);
        sim.reconcile();
        sim.change_bundle("v2");
        let new = sim.target_id();
        assert_eq!(sim.on(&new), ["c4"]);
    }

    #[test]
    fn an_invalid_strategy_is_an_error_naming_the_bundle() {
        let b = [bundle("v1", json!({"maxUnavailable": "lots"}))];
        let c = [
            json!({"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Cluster",
            "metadata": {"namespace": "fleet-default", "name": "c1"}, "spec": {}}),
        ];
        let err = reconcile(&State {
            bundles: &b,
            clusters: &c,
            groups: &[],
            deployments: &[],
            gitrepos: &[],
            offline: &BTreeSet::new(),
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("fleet-default/app") && err.contains("lots"),
            "{err}"
        );
    }
}
