//! State in, writes out: given the stored Bundles, Clusters, ClusterGroups and BundleDeployments,
//! the writes that make the BundleDeployments match what the Bundles target, and the Bundles'
//! status roll-ups. Pure: no I/O, so the server decides when to run it and commits its writes in
//! one transaction. Only changed objects are written (no status churn).

use fleet_targeting::deployment::{Objects, Snapshot};
use std::collections::{BTreeMap, BTreeSet};

use fleet_core::crd::{Bundle, Cluster, ClusterGroup};
use serde_json::{Value, json};

use super::store::Write;

/// Kinds as stored.
pub const BUNDLE: &str = "bundle";
/// Stored kind of Clusters.
pub const CLUSTER: &str = "cluster";
/// Stored kind of ClusterGroups.
pub const CLUSTER_GROUP: &str = "clustergroup";
/// Stored kind of BundleDeployments.
pub const BUNDLE_DEPLOYMENT: &str = "bundledeployment";
/// Stored kind of GitRepos.
pub const GIT_REPO: &str = "gitrepo";

/// Errors of a reconcile: a stored object that is not a valid Fleet object, or a Bundle whose
/// targets cannot be computed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A stored object does not decode as its kind.
    #[error("{kind} {namespace}/{name}: invalid object: {source}")]
    Invalid {
        /// Kind.
        kind: &'static str,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Why.
        source: serde_json::Error,
    },
    /// Targeting or BundleDeployment construction failed.
    #[error(transparent)]
    Targeting(Box<fleet_targeting::deployment::Error>),
    /// A BundleDeployment could not be encoded.
    #[error("cannot encode a BundleDeployment: {0}")]
    Encode(String),
    /// A Bundle's rollout strategy is invalid.
    #[error(transparent)]
    Rollout(#[from] super::rollout::Error),
}

fn meta(v: &Value) -> (String, String) {
    let m = &v["metadata"];
    (
        m["namespace"].as_str().unwrap_or_default().to_owned(),
        m["name"].as_str().unwrap_or_default().to_owned(),
    )
}

fn typed<T: serde::de::DeserializeOwned>(kind: &'static str, v: &Value) -> Result<T, Error> {
    serde_json::from_value(v.clone()).map_err(|source| {
        let (namespace, name) = meta(v);
        Error::Invalid {
            kind,
            namespace,
            name,
            source,
        }
    })
}

/// The stored state a reconcile reads.
pub struct State<'a> {
    /// Bundles.
    pub bundles: &'a [Value],
    /// Clusters.
    pub clusters: &'a [Value],
    /// ClusterGroups.
    pub groups: &'a [Value],
    /// BundleDeployments, with the statuses agents posted.
    pub deployments: &'a [Value],
    /// GitRepos (their statuses roll up their Bundles').
    pub gitrepos: &'a [Value],
    /// Clusters (`namespace/name`) whose agent has not been seen within the offline threshold.
    pub offline: &'a BTreeSet<String>,
}

/// The reason on the `Ready` condition the manager puts on the BundleDeployments of a cluster
/// whose agent went silent.
pub const OFFLINE_REASON: &str = "ClusterOffline";

fn cluster_key(bd: &Value) -> String {
    let l = &bd["metadata"]["labels"];
    format!(
        "{}/{}",
        l["fleet.cattle.io/cluster-namespace"]
            .as_str()
            .unwrap_or_default(),
        l["fleet.cattle.io/cluster"].as_str().unwrap_or_default()
    )
}

fn is_marked_offline(status: &Value) -> bool {
    status["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["reason"] == OFFLINE_REASON)
    })
}

/// Marks a BundleDeployment's status `Ready=Unknown` while its cluster is offline, and gives
/// the `Ready` condition back (from `status.ready`) once it is online again. The agent's own
/// next post replaces the status as a whole.
fn mark_offline(bd: &mut Value, offline: bool) {
    let status = &mut bd["status"];
    if offline == is_marked_offline(status) {
        return;
    }
    if !status.is_object() {
        *status = json!({});
    }
    let ready = status["ready"] == true;
    let conditions = status
        .as_object_mut()
        .map(|o| o.entry("conditions").or_insert_with(|| json!([])));
    let Some(Value::Array(list)) = conditions else {
        return;
    };
    list.retain(|c| c["type"] != "Ready");
    if offline {
        list.push(
            json!({"type": "Ready", "status": "Unknown", "reason": OFFLINE_REASON,
            "message": "the cluster's agent has not been seen within the offline threshold"}),
        );
    } else {
        list.push(json!({"type": "Ready", "status": if ready { "True" } else { "False" }}));
    }
}

/// What a reconcile decided.
#[derive(Debug, Default)]
pub struct Plan {
    /// The writes, to commit in one transaction.
    pub writes: Vec<Write>,
    /// BundleDeployment namespaces whose content changed (their agents' ETags move).
    pub changed_namespaces: BTreeSet<String>,
    /// The rollout stopped at `maxNew` creations: run another pass once these writes are
    /// committed.
    pub more: bool,
}

/// Computes the writes that bring the BundleDeployments and Bundle statuses up to date.
pub fn reconcile(state: &State<'_>) -> Result<Plan, Error> {
    let bundles = state
        .bundles
        .iter()
        .map(|v| typed::<Bundle>("Bundle", v))
        .collect::<Result<Vec<_>, _>>()?;
    let clusters = state
        .clusters
        .iter()
        .map(|v| typed::<Cluster>("Cluster", v))
        .collect::<Result<Vec<_>, _>>()?;
    let groups = state
        .groups
        .iter()
        .map(|v| typed::<ClusterGroup>("ClusterGroup", v))
        .collect::<Result<Vec<_>, _>>()?;
    let desired = if bundles.is_empty() {
        Vec::new()
    } else {
        let objects = Objects {
            bundles: &bundles,
            clusters: &clusters,
            groups: &groups,
            ..Objects::default()
        };
        let bds = Snapshot::build(objects)
            .and_then(|snapshot| snapshot.bundle_deployments())
            .map_err(|e| Error::Targeting(Box::new(e)))?;
        bds.iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Encode(e.to_string()))?
    };
    let existing: BTreeMap<(String, String), &Value> =
        state.deployments.iter().map(|v| (meta(v), v)).collect();
    // Staging and promotion per the Bundles' rollout strategies (spec §4.4).
    let staged = super::rollout::stage(&bundles, &clusters, &groups, desired, &existing)?;
    let mut plan = Plan {
        more: staged.more,
        ..Plan::default()
    };
    let mut kept: BTreeMap<(String, String), Value> = BTreeMap::new();
    for mut bd in staged.deployments {
        let key = meta(&bd);
        if let Some(old) = existing.get(&key) {
            if let Some(status) = old.get("status") {
                bd["status"] = status.clone();
            }
            let offline = state.offline.contains(&cluster_key(&bd));
            if offline || is_marked_offline(&bd["status"]) {
                mark_offline(&mut bd, offline);
            }
            if old.get("spec") == bd.get("spec")
                && old["metadata"].get("labels") == bd["metadata"].get("labels")
                && old.get("status") == bd.get("status")
            {
                kept.insert(key, bd);
                continue;
            }
        }
        plan.changed_namespaces.insert(key.0.clone());
        plan.writes.push(Write::Put {
            kind: BUNDLE_DEPLOYMENT.into(),
            namespace: key.0.clone(),
            name: key.1.clone(),
            object: bd.clone(),
        });
        kept.insert(key, bd);
    }
    for key in existing.keys() {
        if !kept.contains_key(key) {
            plan.changed_namespaces.insert(key.0.clone());
            plan.writes.push(Write::Delete {
                kind: BUNDLE_DEPLOYMENT.into(),
                namespace: key.0.clone(),
                name: key.1.clone(),
            });
        }
    }
    for b in state.bundles {
        let (ns, name) = meta(b);
        let mine: Vec<&Value> = kept
            .values()
            .filter(|bd| {
                let l = &bd["metadata"]["labels"];
                l["fleet.cattle.io/bundle-namespace"] == ns.as_str()
                    && l["fleet.cattle.io/bundle-name"] == name.as_str()
            })
            .collect();
        let status = roll_up(
            &mine,
            staged.bundles.get(&(ns.clone(), name.clone())),
            &kept,
        );
        if b.get("status") != Some(&status) {
            let mut nb = b.clone();
            nb["status"] = status;
            plan.writes.push(Write::Put {
                kind: BUNDLE.into(),
                namespace: ns,
                name,
                object: nb,
            });
        }
    }
    roll_up_gitrepos(state, &kept, &mut plan);
    roll_up_clusters(state, &clusters, &kept, &mut plan);
    Ok(plan)
}

/// Merges `fields` into an object's status and records a write only when that changed it.
fn put_status(kind: &str, object: &Value, fields: Value, plan: &mut Plan) {
    let mut status = match object.get("status") {
        Some(s @ Value::Object(_)) => s.clone(),
        _ => json!({}),
    };
    if let (Some(s), Value::Object(f)) = (status.as_object_mut(), fields) {
        for (k, v) in f {
            s.insert(k, v);
        }
    }
    if object.get("status") == Some(&status) {
        return;
    }
    let (namespace, name) = meta(object);
    let mut o = object.clone();
    o["status"] = status;
    plan.writes.push(Write::Put {
        kind: kind.into(),
        namespace,
        name,
        object: o,
    });
}

/// Counts by Fleet state, as a `BundleSummary` JSON object (with `offline` beside Fleet's
/// fields) and the number ready.
fn summary_of<'v>(bds: impl Iterator<Item = &'v Value>) -> (Value, u64, u64) {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut desired = 0;
    for bd in bds {
        desired += 1;
        *counts.entry(deployment_state(bd)).or_default() += 1;
    }
    let ready = counts.get("Ready").copied().unwrap_or(0);
    let mut summary = json!({"desiredReady": desired, "ready": ready});
    for (k, field) in [
        ("WaitApplied", "waitApplied"),
        ("ErrApplied", "errApplied"),
        ("NotReady", "notReady"),
        ("OutOfSync", "outOfSync"),
        ("Modified", "modified"),
        ("Offline", "offline"),
    ] {
        if let Some(n) = counts.get(k) {
            summary[field] = json!(n);
        }
    }
    (summary, ready, desired)
}

/// Adds targets that have no BundleDeployment yet to a summary as Fleet's `Pending`.
fn add_pending(summary: &mut Value, pending: u64) {
    if pending == 0 {
        return;
    }
    summary["pending"] = json!(pending);
    let desired = summary["desiredReady"].as_u64().unwrap_or(0);
    summary["desiredReady"] = json!(desired + pending);
}

/// Fleet's display state of a summary: the highest-ranked state it counts (`""` when all are
/// Ready).
fn summary_state(summary: &Value) -> &'static str {
    use fleet_core::state::{BUNDLE_STATES_BY_RANK, BundleState};
    BUNDLE_STATES_BY_RANK
        .iter()
        .rev()
        .find(|s| {
            let field = match s {
                BundleState::Ready => return false,
                BundleState::NotReady => "notReady",
                BundleState::WaitApplied => "waitApplied",
                BundleState::ErrApplied => "errApplied",
                BundleState::OutOfSync => "outOfSync",
                BundleState::Pending => "pending",
                BundleState::Modified => "modified",
            };
            summary[field].as_u64().unwrap_or(0) > 0
        })
        .map_or("", |s| s.as_str())
}

fn ready_condition(ready: bool) -> Value {
    json!([{"type": "Ready", "status": if ready { "True" } else { "False" }}])
}

/// GitRepo status from the BundleDeployments of its Bundles (label `fleet.cattle.io/repo-name`):
/// summary, `display.readyBundleDeployments`, clusters where all of them are Ready.
fn roll_up_gitrepos(state: &State<'_>, kept: &BTreeMap<(String, String), Value>, plan: &mut Plan) {
    for repo in state.gitrepos {
        let (ns, name) = meta(repo);
        let bundles: BTreeSet<String> = state
            .bundles
            .iter()
            .filter(|b| {
                b["metadata"]["namespace"] == ns.as_str()
                    && b["metadata"]["labels"]["fleet.cattle.io/repo-name"] == name.as_str()
            })
            .map(|b| meta(b).1)
            .collect();
        let mine: Vec<&Value> = kept
            .values()
            .filter(|bd| {
                let l = &bd["metadata"]["labels"];
                l["fleet.cattle.io/bundle-namespace"] == ns.as_str()
                    && l["fleet.cattle.io/bundle-name"]
                        .as_str()
                        .is_some_and(|b| bundles.contains(b))
            })
            .collect();
        let (summary, ready, desired) = summary_of(mine.iter().copied());
        let mut per_cluster: BTreeMap<String, bool> = BTreeMap::new();
        for bd in &mine {
            let ok = deployment_state(bd) == "Ready";
            per_cluster
                .entry(cluster_key(bd))
                .and_modify(|all| *all &= ok)
                .or_insert(ok);
        }
        let ready_clusters = per_cluster.values().filter(|r| **r).count();
        let state_text = if desired == 0 {
            ""
        } else if ready == desired {
            "Ready"
        } else {
            "NotReady"
        };
        put_status(
            GIT_REPO,
            repo,
            json!({
                "summary": summary,
                "readyClusters": ready_clusters,
                "desiredReadyClusters": per_cluster.len(),
                "display": {
                    "readyBundleDeployments": format!("{ready}/{desired}"),
                    "state": state_text,
                },
            }),
            plan,
        );
    }
}

/// Cluster status (summary of its BundleDeployments, `display.readyBundles`, ready GitRepos,
/// `Ready` condition; `Unknown` while offline) and ClusterGroup status (cluster counts,
/// non-ready clusters ≤ 10, summary).
fn roll_up_clusters(
    state: &State<'_>,
    clusters: &[Cluster],
    kept: &BTreeMap<(String, String), Value>,
    plan: &mut Plan,
) {
    let mut by_cluster: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for bd in kept.values() {
        by_cluster.entry(cluster_key(bd)).or_default().push(bd);
    }
    let mut cluster_ready: BTreeMap<String, bool> = BTreeMap::new();
    for (raw, typed) in state.clusters.iter().zip(clusters) {
        let key = format!("{}/{}", typed.metadata.namespace, typed.metadata.name);
        let bds = by_cluster.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        let (summary, ready, desired) = summary_of(bds.iter().copied());
        let offline = state.offline.contains(&key);
        let mut repos: BTreeMap<&str, bool> = BTreeMap::new();
        for bd in bds {
            let repo = state
                .bundles
                .iter()
                .find(|b| {
                    let l = &bd["metadata"]["labels"];
                    b["metadata"]["namespace"] == l["fleet.cattle.io/bundle-namespace"]
                        && b["metadata"]["name"] == l["fleet.cattle.io/bundle-name"]
                })
                .and_then(|b| b["metadata"]["labels"]["fleet.cattle.io/repo-name"].as_str());
            if let Some(r) = repo {
                let ok = deployment_state(bd) == "Ready";
                repos.entry(r).and_modify(|a| *a &= ok).or_insert(ok);
            }
        }
        let all_ready = ready == desired && !offline;
        cluster_ready.insert(key, all_ready);
        let conditions = if offline {
            json!([{"type": "Ready", "status": "Unknown", "reason": OFFLINE_REASON}])
        } else {
            ready_condition(all_ready)
        };
        // The cluster controller's part in Fleet: the namespace of the cluster's
        // BundleDeployments, kept once set.
        let bd_namespace = typed
            .status
            .as_ref()
            .map(|s| s.namespace.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| {
                fleet_core::names::cluster_namespace(
                    &typed.metadata.namespace,
                    &typed.metadata.name,
                )
            });
        put_status(
            CLUSTER,
            raw,
            json!({
                "namespace": bd_namespace,
                "summary": summary,
                "readyGitRepos": repos.values().filter(|r| **r).count(),
                "desiredReadyGitRepos": repos.len(),
                "display": {
                    "readyBundles": format!("{ready}/{desired}"),
                    "state": if offline { "Offline" } else if all_ready { "Ready" } else { "NotReady" },
                },
                "conditions": conditions,
            }),
            plan,
        );
    }
    for raw in state.groups {
        let Ok(group) = typed::<ClusterGroup>("ClusterGroup", raw) else {
            continue;
        };
        let ns = group.metadata.namespace.as_str();
        // An invalid selector holds no cluster, as in targeting.
        let selector = group
            .spec
            .selector
            .as_ref()
            .and_then(|s| s.to_selector().ok());
        let members: Vec<&Cluster> = clusters
            .iter()
            .filter(|c| c.metadata.namespace == ns)
            .filter(|c| {
                selector
                    .as_ref()
                    .is_some_and(|s| s.matches(&c.metadata.labels))
            })
            .collect();
        let non_ready: Vec<String> = members
            .iter()
            .filter(|c| {
                !cluster_ready
                    .get(&format!("{}/{}", c.metadata.namespace, c.metadata.name))
                    .copied()
                    .unwrap_or(false)
            })
            .map(|c| c.metadata.name.clone())
            .collect();
        let bds = members.iter().flat_map(|c| {
            by_cluster
                .get(&format!("{}/{}", c.metadata.namespace, c.metadata.name))
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .copied()
        });
        let (summary, ready, desired) = summary_of(bds);
        let total = members.len();
        put_status(
            CLUSTER_GROUP,
            raw,
            json!({
                "clusterCount": total,
                "nonReadyClusterCount": non_ready.len(),
                "nonReadyClusters": non_ready.iter().take(10).collect::<Vec<_>>(),
                "summary": summary,
                "display": {
                    "readyClusters": format!("{}/{total}", total - non_ready.len()),
                    "readyBundles": format!("{ready}/{desired}"),
                    "state": if non_ready.is_empty() { "Ready" } else { "NotReady" },
                },
                "conditions": ready_condition(non_ready.is_empty()),
            }),
            plan,
        );
    }
}

/// Fleet's state of one BundleDeployment from the status its agent posted (spec §7.2, in
/// Fleet's order: `WaitApplied`/`ErrApplied`, `NotReady`, `OutOfSync`, `Modified`, `Ready`),
/// or `Offline` while its cluster's agent is silent.
pub fn deployment_state(bd: &Value) -> &'static str {
    if is_marked_offline(&bd["status"]) {
        return "Offline";
    }
    fleet_core::state::deployment_state(&super::rollout::JsonBd(bd)).as_str()
}

/// A Bundle's status from its BundleDeployments: summary counts by state (targets the rollout
/// has not created a BundleDeployment for yet count as `Pending`), `display` and the `Ready`
/// condition, the non-ready list bounded to 10 entries as in Fleet; with the rollout's
/// counters and partitions (each with its own summary).
fn roll_up(
    bds: &[&Value],
    rollout: Option<&super::rollout::BundleRollout>,
    kept: &BTreeMap<(String, String), Value>,
) -> Value {
    let (mut summary, ready, _) = summary_of(bds.iter().copied());
    add_pending(&mut summary, rollout.map_or(0, |r| r.pending));
    let desired = summary["desiredReady"].as_u64().unwrap_or(0);
    let non_ready: Vec<Value> = bds
        .iter()
        .filter(|bd| deployment_state(bd) != "Ready")
        .take(10)
        .map(|bd| {
            let (ns, name) = meta(bd);
            json!({"name": format!("{ns}/{name}"), "bundleState": deployment_state(bd)})
        })
        .collect();
    let state = summary_state(&summary);
    if !non_ready.is_empty() {
        summary["nonReadyResources"] = Value::Array(non_ready);
    }
    let all_ready = ready == desired;
    let mut status = json!({
        "summary": summary,
        "display": {"readyClusters": format!("{ready}/{desired}"), "state": state},
        "readyClusters": ready,
        "desiredReadyClusters": desired,
        "conditions": [{
            "type": "Ready",
            "status": if all_ready { "True" } else { "False" },
        }],
    });
    if let Some(r) = rollout {
        if let (Some(s), Value::Object(c)) = (status.as_object_mut(), &r.counters) {
            s.extend(c.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let partitions: Vec<Value> = r
            .partitions
            .iter()
            .map(|p| {
                let (mut summary, _, _) = summary_of(p.members.iter().filter_map(|k| kept.get(k)));
                add_pending(&mut summary, p.pending);
                let mut out = p.status.clone();
                out["summary"] = summary;
                out
            })
            .collect();
        if !partitions.is_empty() {
            status["partitions"] = Value::Array(partitions);
        }
    }
    status
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn bundle(selector: Value) -> Value {
        json!({"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Bundle",
            "metadata": {"namespace": "fleet-default", "name": "app"},
            "spec": {"resources": [{"name": "cm.yaml", "content": "kind: ConfigMap\n"}],
                     "targets": [{"clusterSelector": selector}]}})
    }

    fn cluster(env: &str) -> Value {
        json!({"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Cluster",
            "metadata": {"namespace": "fleet-default", "name": "c1", "labels": {"env": env}},
            "spec": {}})
    }

    #[test]
    fn targets_then_removes_on_relabel_and_writes_nothing_when_unchanged() {
        let b = [bundle(json!({"matchLabels": {"env": "prod"}}))];
        let c = [cluster("prod")];
        let plan = reconcile(&State {
            bundles: &b,
            clusters: &c,
            groups: &[],
            deployments: &[],
            gitrepos: &[],
            offline: &BTreeSet::new(),
        })
        .unwrap();
        let bds: Vec<Value> = plan
            .writes
            .iter()
            .filter_map(|w| match w {
                Write::Put { kind, object, .. } if kind == BUNDLE_DEPLOYMENT => {
                    Some(object.clone())
                }
                _ => None,
            })
            .collect();
        assert_eq!(bds.len(), 1);
        let mut c = c.to_vec();
        apply_writes(&mut c, &plan.writes, CLUSTER);
        let mut b2 = b.to_vec();
        for w in &plan.writes {
            if let Write::Put { kind, object, .. } = w
                && kind == BUNDLE
            {
                b2[0] = object.clone();
            }
        }
        assert_eq!(b2[0]["status"]["display"]["readyClusters"], "0/1");
        assert_eq!(b2[0]["status"]["newlyCreated"], 1);
        // The next pass creates nothing: the Bundle's per-pass rollout counters settle once.
        let settle = reconcile(&State {
            bundles: &b2,
            clusters: &c,
            groups: &[],
            deployments: &bds,
            gitrepos: &[],
            offline: &BTreeSet::new(),
        })
        .unwrap();
        apply_writes(&mut b2, &settle.writes, BUNDLE);
        assert_eq!(b2[0]["status"]["newlyCreated"], 0);
        assert!(
            settle
                .writes
                .iter()
                .all(|w| matches!(w, Write::Put { kind, .. } if kind == BUNDLE)),
            "{:?}",
            settle.writes
        );
        let again = reconcile(&State {
            bundles: &b2,
            clusters: &c,
            groups: &[],
            deployments: &bds,
            gitrepos: &[],
            offline: &BTreeSet::new(),
        })
        .unwrap();
        assert!(again.writes.is_empty(), "{:?}", again.writes);
        let moved = reconcile(&State {
            bundles: &b2,
            clusters: &[cluster("dev")],
            groups: &[],
            deployments: &bds,
            gitrepos: &[],
            offline: &BTreeSet::new(),
        })
        .unwrap();
        assert!(
            moved
                .writes
                .iter()
                .any(|w| matches!(w, Write::Delete { kind, .. } if kind == BUNDLE_DEPLOYMENT))
        );
    }

    /// Applies a plan's writes of one kind to a list of stored objects.
    pub(in crate::manager) fn apply_writes(objects: &mut Vec<Value>, writes: &[Write], kind: &str) {
        for w in writes {
            match w {
                Write::Put {
                    kind: k, object, ..
                } if k == kind => {
                    let key = meta(object);
                    objects.retain(|o| meta(o) != key);
                    objects.push(object.clone());
                }
                Write::Delete {
                    kind: k,
                    namespace,
                    name,
                } if k == kind => {
                    objects.retain(|o| meta(o) != (namespace.clone(), name.clone()));
                }
                _ => {}
            }
        }
    }

    #[test]
    fn offline_clusters_show_unknown_and_recover_and_roll_up_everywhere() {
        let mut bundles = vec![bundle(json!({"matchLabels": {"env": "prod"}}))];
        bundles[0]["metadata"]["labels"] = json!({"fleet.cattle.io/repo-name": "repo"});
        let mut clusters = vec![cluster("prod")];
        clusters[0]["spec"]["clientID"] = json!("agent-1");
        let gitrepos = vec![
            json!({"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "GitRepo",
            "metadata": {"namespace": "fleet-default", "name": "repo"}, "spec": {"repo": "x"}}),
        ];
        let groups = vec![
            json!({"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "ClusterGroup",
            "metadata": {"namespace": "fleet-default", "name": "prod"},
            "spec": {"selector": {"matchLabels": {"env": "prod"}}}}),
        ];
        let none = BTreeSet::new();
        let mut bds = Vec::new();
        let mut gitrepos = gitrepos;
        let mut groups = groups;
        let run = |bds: &mut Vec<Value>,
                   bundles: &mut Vec<Value>,
                   clusters: &mut Vec<Value>,
                   gitrepos: &mut Vec<Value>,
                   groups: &mut Vec<Value>,
                   offline: &BTreeSet<String>| {
            let plan = reconcile(&State {
                bundles,
                clusters,
                groups,
                deployments: bds,
                gitrepos,
                offline,
            })
            .unwrap();
            apply_writes(bds, &plan.writes, BUNDLE_DEPLOYMENT);
            apply_writes(bundles, &plan.writes, BUNDLE);
            apply_writes(clusters, &plan.writes, CLUSTER);
            apply_writes(gitrepos, &plan.writes, GIT_REPO);
            apply_writes(groups, &plan.writes, CLUSTER_GROUP);
            plan.writes.len()
        };
        run(
            &mut bds,
            &mut bundles,
            &mut clusters,
            &mut gitrepos,
            &mut groups,
            &none,
        );
        assert_eq!(bds.len(), 1);
        // The agent reports Ready.
        let did = bds[0]["spec"]["deploymentID"].clone();
        bds[0]["status"] = json!({"ready": true, "nonModified": true, "appliedDeploymentID": did,
            "conditions": [{"type": "Ready", "status": "True"}]});
        run(
            &mut bds,
            &mut bundles,
            &mut clusters,
            &mut gitrepos,
            &mut groups,
            &none,
        );
        assert_eq!(deployment_state(&bds[0]), "Ready");
        assert_eq!(
            gitrepos[0]["status"]["display"]["readyBundleDeployments"],
            "1/1"
        );
        assert_eq!(gitrepos[0]["status"]["readyClusters"], 1);
        assert_eq!(clusters[0]["status"]["display"]["readyBundles"], "1/1");
        assert_eq!(clusters[0]["status"]["readyGitRepos"], 1);
        assert_eq!(groups[0]["status"]["display"]["readyClusters"], "1/1");
        assert_eq!(groups[0]["status"]["clusterCount"], 1);
        // Nothing changed: nothing is written.
        assert_eq!(
            run(
                &mut bds,
                &mut bundles,
                &mut clusters,
                &mut gitrepos,
                &mut groups,
                &none
            ),
            0
        );

        let offline: BTreeSet<String> = ["fleet-default/c1".to_owned()].into();
        run(
            &mut bds,
            &mut bundles,
            &mut clusters,
            &mut gitrepos,
            &mut groups,
            &offline,
        );
        assert_eq!(deployment_state(&bds[0]), "Offline");
        let ready = bds[0]["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap()
            .clone();
        assert_eq!(ready["status"], "Unknown");
        assert_eq!(bundles[0]["status"]["summary"]["offline"], 1);
        assert_eq!(bundles[0]["status"]["summary"]["ready"], 0);
        assert_eq!(clusters[0]["status"]["display"]["state"], "Offline");
        assert_eq!(groups[0]["status"]["nonReadyClusterCount"], 1);
        assert_eq!(
            gitrepos[0]["status"]["display"]["readyBundleDeployments"],
            "0/1"
        );

        run(
            &mut bds,
            &mut bundles,
            &mut clusters,
            &mut gitrepos,
            &mut groups,
            &none,
        );
        assert_eq!(deployment_state(&bds[0]), "Ready");
        assert_eq!(bundles[0]["status"]["display"]["readyClusters"], "1/1");
        assert_eq!(clusters[0]["status"]["display"]["state"], "Ready");
    }
}
