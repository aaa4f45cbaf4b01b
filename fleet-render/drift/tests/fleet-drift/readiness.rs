//! Readiness (kstatus rules) and the bundle summary.

use fleet_drift::diff::{self, DiffOptions, rules::Rules, schema::BuiltinSchema};
use fleet_drift::readiness::{self, ConditionMatcher, Readiness};
use serde_json::{Value, json};

fn state(obj: Value) -> (Readiness, String) {
    let s = readiness::status(&obj);
    (s.state, s.message)
}

#[test]
fn workloads() {
    let ready_deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"generation": 1}, "spec": {"replicas": 2},
        "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
            "readyReplicas": 2, "availableReplicas": 2,
            "conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                           {"type": "Available", "status": "True"}]}});
    assert_eq!(state(ready_deploy.clone()).0, Readiness::Ready);
    let mut stale = ready_deploy.clone();
    stale["metadata"]["generation"] = json!(2);
    assert_eq!(
        state(stale),
        (
            Readiness::Transitioning,
            "Deployment generation is 2, but latest observed generation is 1".into()
        )
    );
    let mut deadline = ready_deploy;
    deadline["status"]["conditions"][0] =
        json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"});
    assert_eq!(state(deadline).0, Readiness::Error);

    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {"replicas": 2},
        "status": {"replicas": 2, "readyReplicas": 2, "currentReplicas": 2,
            "currentRevision": "a", "updateRevision": "b", "updatedReplicas": 1}});
    assert_eq!(state(sts).0, Readiness::Transitioning);

    let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
        "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "currentNumberScheduled": 3,
            "updatedNumberScheduled": 3, "numberAvailable": 3, "numberReady": 3}});
    assert_eq!(state(ds).0, Readiness::Ready);

    let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "spec": {"replicas": 1},
        "status": {"fullyLabeledReplicas": 1, "availableReplicas": 0, "readyReplicas": 0, "replicas": 1}});
    assert_eq!(
        state(rs),
        (Readiness::Transitioning, "Available: 0/1".into())
    );
}

#[test]
fn jobs_pods_claims_services_crds() {
    assert_eq!(
        state(json!({"apiVersion": "batch/v1", "kind": "Job", "status": {}})).0,
        Readiness::Transitioning
    );
    assert_eq!(
        state(json!({"apiVersion": "batch/v1", "kind": "Job", "status": {"startTime": "t"}})).0,
        Readiness::Ready
    );
    assert_eq!(
        state(json!({"apiVersion": "batch/v1", "kind": "Job",
            "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}})).0,
        Readiness::Error
    );
    assert_eq!(
        state(
            json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}]}})
        )
        .0,
        Readiness::Ready
    );
    assert_eq!(
        state(
            json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Running",
            "containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}})
        ),
        (
            Readiness::Error,
            "Container c is in CrashLoopBackOff".into()
        )
    );
    assert_eq!(
        state(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}})).0,
        Readiness::Transitioning
    );
    assert_eq!(
        state(json!({"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer"}})).0,
        Readiness::Transitioning
    );
    assert_eq!(
        state(
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "status": {"conditions": [{"type": "Established", "status": "True"}]}})
        )
        .0,
        Readiness::Ready
    );
    assert_eq!(
        state(json!({"apiVersion": "v1", "kind": "ConfigMap"})).0,
        Readiness::Ready
    );
}

#[test]
fn generic_conditions_and_ignore() {
    let stalled = json!({"apiVersion": "x.io/v1", "kind": "Thing",
        "status": {"conditions": [{"type": "Stalled", "status": "True", "reason": "Broken", "message": "no"}]}});
    assert_eq!(state(stalled), (Readiness::Error, "Broken: no".into()));
    let reconciling = json!({"apiVersion": "x.io/v1", "kind": "Thing",
        "status": {"conditions": [{"type": "Reconciling", "status": "True", "reason": "Working"}]}});
    assert_eq!(state(reconciling).0, Readiness::Transitioning);
    let mut not_ready = json!({"apiVersion": "x.io/v1", "kind": "Thing",
        "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Waiting"},
                                  {"type": "Other", "status": "True"}]}});
    assert_eq!(state(not_ready.clone()).0, Readiness::Error);
    let matcher: ConditionMatcher = [
        ("type".to_string(), "Ready".to_string()),
        ("status".to_string(), "False".to_string()),
    ]
    .into();
    readiness::exclude_conditions(&mut not_ready, &[matcher]);
    assert_eq!(
        not_ready["status"]["conditions"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(state(not_ready).0, Readiness::Ready);
}

#[test]
fn summary_counts_and_truncation() {
    let hash = diff::set_hash(&diff::set_id("app", "default", ""));
    let mut desired = Vec::new();
    let mut live = Vec::new();
    for i in 0..14 {
        let name = format!("p{i:02}");
        desired.push(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
        );
        let phase = if i < 12 { "Pending" } else { "Running" };
        live.push(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{:02}", 20 - i),
                "labels": {diff::LABEL_HASH: hash}},
            "spec": {"containers": [{"name": "c", "image": if i == 13 { "changed" } else { "nginx" }}]},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True"}]}}));
    }
    desired.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gone"}}));
    let rules = Rules::default();
    let options = DiffOptions::new(&BuiltinSchema, &hash, &rules);
    let report = diff::diff(&desired, &live, &options).expect("diff");
    let summary = readiness::summarize(&report, &desired, &live, &[]);
    assert_eq!(summary.desired_ready, 15);
    assert_eq!(summary.missing, 1);
    assert_eq!(summary.modified, 1);
    assert_eq!(summary.not_ready, 12);
    assert_eq!(summary.ready, 1);
    assert_eq!(summary.non_ready_resources.len(), 10);
    assert!(summary.incomplete);
    let uids: Vec<&str> = summary
        .non_ready_resources
        .iter()
        .map(|n| n.uid.as_str())
        .collect();
    let mut sorted = uids.clone();
    sorted.sort();
    assert_eq!(uids, sorted);
    // All twelve non-ready pods are sorted before the first ten are kept: the lowest UIDs.
    assert_eq!(uids.first(), Some(&"uid-09"));
    assert_eq!(uids.last(), Some(&"uid-18"));
    assert_eq!(
        summary.non_ready_resources[0].to_string(),
        "pod.v1 default/p11 [progressing] Pod is in the Pending phase"
    );
}

/// Drift and readiness output converts into the BundleDeployment status types, and prints
/// with the status strings of `fleet_core::state`.
#[test]
fn output_converts_to_the_status_types() {
    use fleet_core::crd::{ModifiedStatus, NonReadyStatus, ResourceCounts};

    let hash = diff::set_hash(&diff::set_id("app", "default", ""));
    let desired = vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "1"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gone"}}),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {}}),
    ];
    let label = json!({diff::LABEL_HASH: hash});
    let live = vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cm", "namespace": "default", "labels": label}, "data": {"a": "2"}}),
        json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "j", "namespace": "default", "uid": "u1", "labels": label},
            "spec": {}, "status": {"conditions": [{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]}}),
    ];
    let rules = Rules::default();
    let report = diff::diff(
        &desired,
        &live,
        &DiffOptions::new(&BuiltinSchema, &hash, &rules),
    )
    .expect("diff");
    let modified: Vec<ModifiedStatus> = report.entries.iter().map(ModifiedStatus::from).collect();
    assert_eq!(modified.len(), 2, "{modified:?}");
    let missing = modified
        .iter()
        .find(|m| m.name == "gone")
        .expect("missing entry");
    assert!(missing.missing && !missing.delete && missing.patch.is_empty());
    let changed = modified
        .iter()
        .find(|m| m.name == "cm")
        .expect("modified entry");
    assert!(!changed.missing && !changed.delete);
    assert_eq!(changed.patch, r#"{"data":{"a":"1"}}"#);
    for (entry, status) in report.entries.iter().zip(&modified) {
        assert_eq!(
            entry.to_string(),
            fleet_core::state::modified_status_string(status)
        );
    }
    assert_eq!(
        report
            .entries
            .iter()
            .find(|e| e.name == "gone")
            .unwrap()
            .to_string(),
        "configmap.v1 default/gone missing"
    );

    let summary = readiness::summarize(&report, &desired, &live, &[]);
    let non_ready: Vec<NonReadyStatus> = summary
        .non_ready_resources
        .iter()
        .map(NonReadyStatus::from)
        .collect();
    assert_eq!(non_ready.len(), 1);
    assert_eq!(
        (non_ready[0].uid.as_str(), non_ready[0].kind.as_str()),
        ("u1", "Job")
    );
    assert_eq!(non_ready[0].summary.state, "error");
    assert!(non_ready[0].summary.error && !non_ready[0].summary.transitioning);
    assert_eq!(
        summary.non_ready_resources[0].to_string(),
        fleet_core::state::non_ready_status_string(&non_ready[0])
    );
    let counts = ResourceCounts::from(&summary);
    assert_eq!(
        (
            counts.desired_ready,
            counts.ready,
            counts.not_ready,
            counts.modified,
            counts.missing,
            counts.orphaned
        ),
        (3, 0, 1, 1, 1, 0)
    );
}
