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
}

/// What a reconcile decided.
#[derive(Debug, Default)]
pub struct Plan {
    /// The writes, to commit in one transaction.
    pub writes: Vec<Write>,
    /// BundleDeployment namespaces whose content changed (their agents' ETags move).
    pub changed_namespaces: BTreeSet<String>,
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
    let mut plan = Plan::default();
    let mut kept: BTreeMap<(String, String), Value> = BTreeMap::new();
    for mut bd in desired {
        let key = meta(&bd);
        if let Some(old) = existing.get(&key) {
            if let Some(status) = old.get("status") {
                bd["status"] = status.clone();
            }
            if old.get("spec") == bd.get("spec")
                && old["metadata"].get("labels") == bd["metadata"].get("labels")
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
        let status = roll_up(&mine);
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
    Ok(plan)
}

/// Fleet's state of one BundleDeployment from the status its agent posted (spec §7.2).
pub fn deployment_state(bd: &Value) -> &'static str {
    let s = &bd["status"];
    if s.is_null() {
        return "WaitApplied";
    }
    if s["ready"] == true && s["nonModified"] != false {
        "Ready"
    } else if s["nonModified"] == false {
        "Modified"
    } else if s["appliedDeploymentID"] != bd["spec"]["deploymentID"] {
        "WaitApplied"
    } else {
        "NotReady"
    }
}

/// A Bundle's status from its BundleDeployments: summary counts by state, `display` and the
/// `Ready` condition; the non-ready list is bounded to 10 entries as in Fleet.
fn roll_up(bds: &[&Value]) -> Value {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut non_ready = Vec::new();
    for bd in bds {
        let st = deployment_state(bd);
        *counts.entry(st).or_default() += 1;
        if st != "Ready" && non_ready.len() < 10 {
            let (ns, name) = meta(bd);
            non_ready.push(json!({"name": format!("{ns}/{name}"), "bundleState": st}));
        }
    }
    let desired = bds.len() as u64;
    let ready = counts.get("Ready").copied().unwrap_or(0);
    let mut summary = json!({"desiredReady": desired, "ready": ready});
    for (k, field) in [
        ("WaitApplied", "waitApplied"),
        ("NotReady", "notReady"),
        ("Modified", "modified"),
    ] {
        if let Some(n) = counts.get(k) {
            summary[field] = json!(n);
        }
    }
    if !non_ready.is_empty() {
        summary["nonReadyResources"] = Value::Array(non_ready);
    }
    let all_ready = ready == desired;
    json!({
        "summary": summary,
        "display": {"readyClusters": format!("{ready}/{desired}")},
        "readyClusters": ready,
        "desiredReadyClusters": desired,
        "conditions": [{
            "type": "Ready",
            "status": if all_ready { "True" } else { "False" },
        }],
    })
}

#[cfg(test)]
mod tests {
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
        let mut b2 = b.clone();
        for w in &plan.writes {
            if let Write::Put { kind, object, .. } = w
                && kind == BUNDLE
            {
                b2[0] = object.clone();
            }
        }
        assert_eq!(b2[0]["status"]["display"]["readyClusters"], "0/1");
        let again = reconcile(&State {
            bundles: &b2,
            clusters: &c,
            groups: &[],
            deployments: &bds,
        })
        .unwrap();
        assert!(again.writes.is_empty(), "{:?}", again.writes);
        let moved = reconcile(&State {
            bundles: &b2,
            clusters: &[cluster("dev")],
            groups: &[],
            deployments: &bds,
        })
        .unwrap();
        assert!(
            moved
                .writes
                .iter()
                .any(|w| matches!(w, Write::Delete { kind, .. } if kind == BUNDLE_DEPLOYMENT))
        );
    }
}
