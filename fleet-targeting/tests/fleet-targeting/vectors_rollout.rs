//! `../shared/vectors/fleet/rollout-limit.json` and `rollout-partitions.json`.

use std::collections::BTreeMap;

use fleet_core::rollout::IntOrString;
use fleet_targeting::rollout::{self, BdState, ClusterView, RolloutStrategy, RolloutTarget};
use serde_json::Value;

use crate::common::{labels, vector};

fn ios(v: &Value) -> Option<IntOrString> {
    match v {
        Value::Null => None,
        v => Some(serde_json::from_value(v.clone()).expect("IntOrString")),
    }
}

fn bd(v: &Value) -> Option<BdState> {
    if v.is_null() {
        return None;
    }
    Some(BdState {
        deployment_id: v["spec"]["deploymentID"]
            .as_str()
            .unwrap_or_default()
            .into(),
        staged_deployment_id: v["spec"]["stagedDeploymentID"]
            .as_str()
            .unwrap_or_default()
            .into(),
        applied_deployment_id: v["status"]["appliedDeploymentID"]
            .as_str()
            .unwrap_or_default()
            .into(),
        ready: v["status"]["ready"].as_bool().unwrap_or(false),
    })
}

fn target(v: &Value) -> RolloutTarget {
    RolloutTarget {
        cluster: ClusterView::default(),
        deployment_id: v["deploymentID"].as_str().unwrap_or_default().into(),
        bd: bd(&v["bundleDeployment"]),
    }
}

#[test]
fn rollout_limit_vectors() {
    let Some(text) = vector("rollout-limit.json") else {
        return;
    };
    let doc: Value = serde_json::from_str(&text).expect("json");
    let mut n = 0;
    for case in doc["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().unwrap_or_default();
        let input = &case["input"];
        let exp = &case["expected"];
        match case["function"].as_str().unwrap_or_default() {
            "limit" => {
                let vals: Vec<Option<IntOrString>> = input["values"]
                    .as_array()
                    .expect("values")
                    .iter()
                    .map(ios)
                    .collect();
                let refs: Vec<Option<&IntOrString>> = vals.iter().map(Option::as_ref).collect();
                let got = fleet_core::rollout::limit(input["count"].as_i64().expect("count"), refs)
                    .expect("limit");
                assert_eq!(got, exp.as_i64().expect("int"), "{name}");
            }
            "MaxUnavailable" => {
                let s: RolloutStrategy =
                    serde_json::from_value(input["rolloutStrategy"].clone()).expect("strategy");
                let mu = s.max_unavailable.as_ref().map(rollout::int_or_string);
                let got = fleet_core::rollout::limit(
                    input["targetCount"].as_i64().expect("count"),
                    [mu.as_ref()],
                )
                .expect("limit");
                assert_eq!(got, exp.as_i64().expect("int"), "{name}");
            }
            "isUnavailable" => {
                let b = bd(&input["bundleDeployment"]);
                assert_eq!(
                    rollout::is_unavailable(b.as_ref()),
                    exp.as_bool().expect("bool"),
                    "{name}"
                );
            }
            "upToDate" => {
                let t = target(&input["target"]);
                assert_eq!(
                    rollout::up_to_date(&t),
                    exp.as_bool().expect("bool"),
                    "{name}"
                );
            }
            "updatePartitionStatus" => {
                let ts: Vec<RolloutTarget> = input["targets"]
                    .as_array()
                    .expect("targets")
                    .iter()
                    .map(target)
                    .collect();
                let refs: Vec<&RolloutTarget> = ts.iter().collect();
                let u = rollout::partition_unavailable(&refs);
                let max = input["partitionMaxUnavailable"].as_i64().expect("max");
                assert_eq!(u > max, exp.as_bool().expect("bool"), "{name}");
                if let Some(d) = case["derived"]["partitionUnavailable"].as_i64() {
                    assert_eq!(u, d, "{name}");
                }
            }
            "Unavailable" => {
                let ts: Vec<RolloutTarget> = input["targets"]
                    .as_array()
                    .expect("targets")
                    .iter()
                    .map(target)
                    .collect();
                let refs: Vec<&RolloutTarget> = ts.iter().collect();
                assert_eq!(
                    rollout::unavailable(&refs),
                    exp.as_i64().expect("int"),
                    "{name}"
                );
            }
            other => panic!("unknown function {other}"),
        }
        n += 1;
    }
    assert_eq!(n, 33);
}

/// Targets 1..=N as the vector file describes them.
fn numbered_targets(input: &Value) -> Vec<RolloutTarget> {
    let count = input["targetCount"].as_u64().expect("count") as usize;
    let mut out: Vec<RolloutTarget> = (1..=count)
        .map(|i| RolloutTarget {
            cluster: ClusterView {
                name: format!("cluster-{i}"),
                ..Default::default()
            },
            deployment_id: format!("deployment-{i}"),
            bd: None,
        })
        .collect();
    for spec in input["clusters"].as_array().into_iter().flatten() {
        let range = spec["targets"].as_array().expect("range");
        let (from, to) = (
            range[0].as_u64().expect("from") as usize,
            range[1].as_u64().expect("to") as usize,
        );
        let groups: Vec<(String, BTreeMap<String, String>)> = spec["clusterGroups"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| {
                (
                    g["name"].as_str().unwrap_or_default().to_owned(),
                    labels(&g["labels"]),
                )
            })
            .collect();
        for t in &mut out[from - 1..to] {
            t.cluster = ClusterView {
                name: spec["cluster"]["name"].as_str().unwrap_or_default().into(),
                labels: labels(&spec["cluster"]["labels"]),
                groups: groups.clone(),
                paused: false,
            };
        }
    }
    out
}

#[test]
fn rollout_partition_vectors() {
    let Some(text) = vector("rollout-partitions.json") else {
        return;
    };
    let doc: Value = serde_json::from_str(&text).expect("json");
    let mut n = 0;
    for case in doc["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().unwrap_or_default();
        let input = &case["input"];
        let s: RolloutStrategy =
            serde_json::from_value(input["rolloutStrategy"].clone()).expect("strategy");
        let targets = numbered_targets(input);
        match case["function"].as_str().unwrap_or_default() {
            "autoPartition" | "manualPartition" => {
                let parts = rollout::partitions(&s, &targets).expect("partitions");
                let want = case["expected"]["partitions"]
                    .as_array()
                    .expect("partitions");
                assert_eq!(parts.len(), want.len(), "{name}");
                for (p, w) in parts.iter().zip(want) {
                    let r = w["targets"].as_array().expect("range");
                    let (from, to) = (
                        r[0].as_u64().expect("from") as usize,
                        r[1].as_u64().expect("to") as usize,
                    );
                    let ids: Vec<String> = p
                        .targets
                        .iter()
                        .map(|&i| targets[i].deployment_id.clone())
                        .collect();
                    let want_ids: Vec<String> =
                        (from..=to).map(|i| format!("deployment-{i}")).collect();
                    assert_eq!(ids, want_ids, "{name}: targets of {}", p.name);
                    assert_eq!(
                        p.max_unavailable,
                        w["maxUnavailable"].as_i64().expect("mu"),
                        "{name}"
                    );
                    assert_eq!(p.count, w["count"].as_i64().expect("count"), "{name}");
                    assert_eq!(p.name, w["name"].as_str().expect("name"), "{name}");
                }
            }
            "UpdatePartitions" => {
                let plan = rollout::update_partitions(false, &s, &targets).expect("plan");
                let with_bd = plan
                    .bundle_deployments
                    .iter()
                    .filter(|b| b.is_some())
                    .count();
                assert_eq!(
                    with_bd as u64,
                    case["expected"]["targetsWithBundleDeployment"]
                        .as_u64()
                        .expect("n"),
                    "{name}"
                );
                if let Some(nc) = case["derived"]["status.newlyCreated"].as_i64() {
                    assert_eq!(plan.status.newly_created, nc, "{name}");
                }
                // The first min(maxNew, N) targets in order get one.
                let first_missing = plan.bundle_deployments.iter().position(Option::is_none);
                if let Some(k) = first_missing {
                    assert!(
                        plan.bundle_deployments[k..].iter().all(Option::is_none),
                        "{name}"
                    );
                }
            }
            other => panic!("unknown function {other}"),
        }
        n += 1;
    }
    assert_eq!(n, 17);
}
