//! `fleet-manager rollout --plan`.

use serde_json::json;

use crate::{docs, fixture, fleet_manager};

fn plan(name: &str) -> serde_json::Value {
    let r = fleet_manager(&[
        "rollout",
        "--plan",
        &fixture(&format!("rollout/{name}.yaml")),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    docs(&r.stdout).into_iter().next().expect("one document")
}

#[test]
fn max_new_limits_creation_in_cluster_name_order() {
    let p = plan("new-bundle");
    assert_eq!(p["status"]["newlyCreated"], 2);
    assert_eq!(
        p["bundleDeployments"]["a"],
        json!({"created": true, "deploymentID": "s-1:a", "stagedDeploymentID": "s-1:a"})
    );
    assert_eq!(p["bundleDeployments"]["b"]["created"], true);
    assert_eq!(p["bundleDeployments"]["c"], "none");
    assert_eq!(p["partitions"][0]["name"], "All");
    assert_eq!(p["partitions"][0]["clusters"], json!(["a", "b", "c"]));
}

#[test]
fn max_unavailable_budget_and_paused_cluster() {
    let p = plan("update-budget");
    let bds = &p["bundleDeployments"];
    assert_eq!(
        bds["a"]["deploymentID"], "s-2:x",
        "promoted within the budget"
    );
    assert_eq!(bds["b"]["deploymentID"], "s-1:x", "budget of 1 spent");
    assert_eq!(bds["b"]["stagedDeploymentID"], "s-2:x", "but staged");
    assert_eq!(
        bds["p"]["deploymentID"], "s-1:x",
        "paused cluster is not promoted"
    );
    assert_eq!(p["status"]["unavailable"], 1);
    assert_eq!(p["status"]["maxUnavailable"], 1);
    assert_eq!(p["status"]["unavailablePartitions"], 1);
}

#[test]
fn manual_partitions_and_unpartitioned_cluster() {
    let p = plan("manual-partitions");
    assert_eq!(p["partitions"][0]["name"], "canary");
    assert_eq!(p["partitions"][0]["clusters"], json!(["x"]));
    assert_eq!(p["partitions"][1]["clusters"], json!(["x", "y"]));
    assert_eq!(p["partitions"][1]["maxUnavailable"], 0);
    let bds = &p["bundleDeployments"];
    assert_eq!(bds["x"]["deploymentID"], "s-2:x");
    assert_eq!(bds["y"]["deploymentID"], "s-1:y", "partition budget 0");
    assert_eq!(bds["z"], "none", "in no partition: never created");
}

#[test]
fn bad_plan_exits_2() {
    let r = fleet_manager(&["rollout", "--plan", &fixture("rollout/bad-plan.yaml")]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unknown field `deploymentId`"),
        "{}",
        r.stderr
    );
    let r = fleet_manager(&["rollout", "--plan", &fixture("rollout/missing.yaml")]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot read"), "{}", r.stderr);
}
