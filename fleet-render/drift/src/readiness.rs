//! Readiness of live objects and the bundle summary.
//!
//! The rules are kstatus's (`sigs.k8s.io/cli-utils/pkg/kstatus/status`), which Fleet's
//! summarizers and Flux's health checks both use, mapped to Fleet's three outcomes: `Current` ⇒
//! ready, `InProgress`/`Terminating` ⇒ transitioning, `Failed` ⇒ error.
//!
//! * every object: `metadata.deletionTimestamp` ⇒ transitioning; `status.observedGeneration`
//!   behind `metadata.generation` ⇒ transitioning; `Reconciling=True` ⇒ transitioning;
//!   `Stalled=True` ⇒ error;
//! * Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, Pod, PersistentVolumeClaim, Service,
//!   CustomResourceDefinition: their own rules (replica counts, conditions, phases);
//! * other kinds: `Ready=False` ⇒ error, `Ready=Unknown` ⇒ transitioning, otherwise ready (no
//!   status at all is ready).
//!
//! fleet.yaml `ignore.conditions` removes matching conditions first ([`exclude_conditions`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use fleet_core::crd::{NonReadyStatus, ResourceCounts};
use fleet_core::state;

use crate::diff::Report;

/// Fleet's readiness outcome for one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Readiness {
    /// Current.
    Ready,
    /// In progress or terminating.
    Transitioning,
    /// Failed.
    Error,
}

/// Readiness with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The outcome.
    pub state: Readiness,
    /// Why (kstatus's message).
    pub message: String,
}

impl Status {
    fn ready(message: impl Into<String>) -> Status {
        Status {
            state: Readiness::Ready,
            message: message.into(),
        }
    }
    fn progressing(message: impl Into<String>) -> Status {
        Status {
            state: Readiness::Transitioning,
            message: message.into(),
        }
    }
    fn error(message: impl Into<String>) -> Status {
        Status {
            state: Readiness::Error,
            message: message.into(),
        }
    }
}

/// One `ignore.conditions` entry: a condition is dropped when it has all these key/values.
pub type ConditionMatcher = BTreeMap<String, String>;

/// Removes `status.conditions` entries that match one of the matchers (every key/value of the
/// matcher present in the condition), as Fleet does before summarising
/// (`monitor/updatestatus.go:excludeIgnoredConditions`).
pub fn exclude_conditions(obj: &mut Value, matchers: &[ConditionMatcher]) {
    if matchers.is_empty() {
        return;
    }
    let Some(conditions) = obj
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    conditions.retain(|cond| {
        !matchers.iter().any(|m| {
            m.len() <= cond.as_object().map_or(0, |c| c.len())
                && m.iter()
                    .all(|(k, v)| cond.get(k).and_then(Value::as_str) == Some(v.as_str()))
        })
    });
}

fn int_at(obj: &Value, ptr: &str) -> Option<i64> {
    obj.pointer(ptr).and_then(Value::as_i64)
}

fn str_at<'v>(obj: &'v Value, ptr: &str) -> Option<&'v str> {
    obj.pointer(ptr).and_then(Value::as_str)
}

/// A condition of `status.conditions` by type: (status, reason, message).
fn condition<'v>(obj: &'v Value, kind: &str) -> Option<(&'v str, &'v str, &'v str)> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
        .map(|c| {
            (
                c.get("status").and_then(Value::as_str).unwrap_or(""),
                c.get("reason").and_then(Value::as_str).unwrap_or(""),
                c.get("message").and_then(Value::as_str).unwrap_or(""),
            )
        })
}

fn reason_message(reason: &str, message: &str) -> String {
    match (reason.is_empty(), message.is_empty()) {
        (false, false) => format!("{reason}: {message}"),
        (false, true) => reason.to_string(),
        _ => message.to_string(),
    }
}

/// The readiness of a live object.
pub fn status(obj: &Value) -> Status {
    if obj
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        return Status::progressing("Resource scheduled for deletion");
    }
    let kind = str_at(obj, "/kind").unwrap_or("");
    let group = fleet_core::meta::split_api_version(str_at(obj, "/apiVersion").unwrap_or("")).0;
    if let (Some(generation), Some(observed)) = (
        int_at(obj, "/metadata/generation"),
        int_at(obj, "/status/observedGeneration"),
    ) && observed < generation
    {
        return Status::progressing(format!(
            "{kind} generation is {generation}, but latest observed generation is {observed}"
        ));
    }
    if let Some(("True", reason, message)) = condition(obj, "Reconciling") {
        return Status::progressing(reason_message(reason, message));
    }
    if let Some(("True", reason, message)) = condition(obj, "Stalled") {
        return Status::error(reason_message(reason, message));
    }
    match (group, kind) {
        ("apps" | "extensions", "Deployment") => deployment(obj),
        ("apps", "StatefulSet") => stateful_set(obj),
        ("apps" | "extensions", "DaemonSet") => daemon_set(obj),
        ("apps" | "extensions", "ReplicaSet") => replica_set(obj),
        ("batch", "Job") => job(obj),
        ("", "Pod") => pod(obj),
        ("", "PersistentVolumeClaim") => pvc(obj),
        ("", "Service") => service(obj),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(obj),
        _ => generic(obj),
    }
}

fn generic(obj: &Value) -> Status {
    match condition(obj, "Ready") {
        Some(("False", reason, message)) => Status::error(reason_message(reason, message)),
        Some(("Unknown", reason, message)) => Status::progressing(reason_message(reason, message)),
        Some(("True", _, message)) => Status::ready(if message.is_empty() {
            "Resource is Ready"
        } else {
            message
        }),
        _ => Status::ready("Resource is current"),
    }
}

fn deployment(obj: &Value) -> Status {
    let spec = int_at(obj, "/spec/replicas").unwrap_or(1);
    let status_replicas = int_at(obj, "/status/replicas").unwrap_or(0);
    let updated = int_at(obj, "/status/updatedReplicas").unwrap_or(0);
    let ready = int_at(obj, "/status/readyReplicas").unwrap_or(0);
    let available = int_at(obj, "/status/availableReplicas").unwrap_or(0);
    if let Some(("False", "ProgressDeadlineExceeded", _)) = condition(obj, "Progressing") {
        return Status::error("Progress deadline exceeded");
    }
    if let Some(("True", _, message)) = condition(obj, "ReplicaFailure") {
        return Status::error(format!("ReplicaFailure: {message}"));
    }
    if spec > status_replicas {
        return Status::progressing(format!("Replicas: {status_replicas}/{spec}"));
    }
    if updated < spec {
        return Status::progressing(format!("Updated: {updated}/{spec}"));
    }
    if status_replicas > updated {
        return Status::progressing(format!(
            "Pending termination: {}",
            status_replicas - updated
        ));
    }
    if available < updated {
        return Status::progressing(format!("Available: {available}/{updated}"));
    }
    if ready < spec {
        return Status::progressing(format!("Ready: {ready}/{spec}"));
    }
    let progressing = matches!(
        condition(obj, "Progressing"),
        Some(("True", "NewReplicaSetAvailable", _))
    );
    let has_progressing = condition(obj, "Progressing").is_some();
    if has_progressing && !progressing {
        return Status::progressing("ReplicaSet not Available");
    }
    if let Some((s, _, _)) = condition(obj, "Available")
        && s != "True"
    {
        return Status::progressing("Deployment not Available");
    }
    Status::ready(format!(
        "Deployment is available. Replicas: {status_replicas}"
    ))
}

fn stateful_set(obj: &Value) -> Status {
    let spec = int_at(obj, "/spec/replicas").unwrap_or(1);
    let strategy = str_at(obj, "/spec/updateStrategy/type").unwrap_or("RollingUpdate");
    let ready = int_at(obj, "/status/readyReplicas").unwrap_or(0);
    let current = int_at(obj, "/status/currentReplicas").unwrap_or(0);
    let updated = int_at(obj, "/status/updatedReplicas").unwrap_or(0);
    let status_replicas = int_at(obj, "/status/replicas").unwrap_or(0);
    if strategy == "OnDelete" {
        if ready < spec {
            return Status::progressing(format!("Ready: {ready}/{spec}"));
        }
        return Status::ready(format!("Partition rollout complete. updated: {updated}"));
    }
    if spec > status_replicas {
        return Status::progressing(format!("Replicas: {status_replicas}/{spec}"));
    }
    if ready < spec {
        return Status::progressing(format!("Ready: {ready}/{spec}"));
    }
    if let Some(partition) = int_at(obj, "/spec/updateStrategy/rollingUpdate/partition")
        && partition > 0
    {
        let expected = (spec - partition).max(0);
        if updated < expected {
            return Status::progressing(format!("updated: {updated}/{expected}"));
        }
        return Status::ready(format!("Partition rollout complete. updated: {updated}"));
    }
    if current < spec {
        return Status::progressing(format!("current: {current}/{spec}"));
    }
    let current_rev = str_at(obj, "/status/currentRevision").unwrap_or("");
    let update_rev = str_at(obj, "/status/updateRevision").unwrap_or("");
    if current_rev != update_rev {
        return Status::progressing(format!(
            "waiting for statefulset rolling update to complete {updated} pods at revision {update_rev}"
        ));
    }
    Status::ready(format!(
        "All replicas scheduled as expected. Replicas: {status_replicas}"
    ))
}

fn daemon_set(obj: &Value) -> Status {
    if obj.pointer("/status/observedGeneration").is_none() {
        return Status::progressing("DaemonSet status not observed yet");
    }
    let desired = int_at(obj, "/status/desiredNumberScheduled").unwrap_or(0);
    let current = int_at(obj, "/status/currentNumberScheduled").unwrap_or(0);
    let updated = int_at(obj, "/status/updatedNumberScheduled").unwrap_or(0);
    let available = int_at(obj, "/status/numberAvailable").unwrap_or(0);
    let ready = int_at(obj, "/status/numberReady").unwrap_or(0);
    if desired > current {
        return Status::progressing(format!("Current: {current}/{desired}"));
    }
    if desired > updated {
        return Status::progressing(format!("Updated: {updated}/{desired}"));
    }
    if desired > available {
        return Status::progressing(format!("Available: {available}/{desired}"));
    }
    if desired > ready {
        return Status::progressing(format!("Ready: {ready}/{desired}"));
    }
    Status::ready(format!(
        "All replicas scheduled as expected. Replicas: {desired}"
    ))
}

fn replica_set(obj: &Value) -> Status {
    if let Some(("True", reason, message)) = condition(obj, "ReplicaFailure") {
        return Status::error(reason_message(reason, message));
    }
    let spec = int_at(obj, "/spec/replicas").unwrap_or(1);
    let labelled = int_at(obj, "/status/fullyLabeledReplicas").unwrap_or(0);
    let available = int_at(obj, "/status/availableReplicas").unwrap_or(0);
    let ready = int_at(obj, "/status/readyReplicas").unwrap_or(0);
    let status_replicas = int_at(obj, "/status/replicas").unwrap_or(0);
    if spec > labelled {
        return Status::progressing(format!("Labelled: {labelled}/{spec}"));
    }
    if spec > available {
        return Status::progressing(format!("Available: {available}/{spec}"));
    }
    if spec > ready {
        return Status::progressing(format!("Ready: {ready}/{spec}"));
    }
    if status_replicas > spec {
        return Status::progressing(format!("Pending termination: {}", status_replicas - spec));
    }
    Status::ready(format!(
        "ReplicaSet is available. Replicas: {status_replicas}"
    ))
}

fn job(obj: &Value) -> Status {
    let succeeded = int_at(obj, "/status/succeeded").unwrap_or(0);
    let completions = int_at(obj, "/spec/completions").unwrap_or(1);
    if let Some(("True", reason, message)) = condition(obj, "Failed") {
        return Status::error(format!("Job Failed. {}", reason_message(reason, message)));
    }
    if let Some(("True", _, _)) = condition(obj, "Complete") {
        return Status::ready(format!(
            "Job Completed. succeeded: {succeeded}/{completions}"
        ));
    }
    if let Some(("True", _, _)) = condition(obj, "Suspended") {
        return Status::ready("Job is suspended");
    }
    if obj
        .pointer("/status/startTime")
        .is_some_and(|v| !v.is_null())
    {
        let active = int_at(obj, "/status/active").unwrap_or(0);
        let failed = int_at(obj, "/status/failed").unwrap_or(0);
        return Status::ready(format!(
            "Job in progress. success:{succeeded}, active: {active}, failed: {failed}"
        ));
    }
    Status::progressing("Job not started")
}

fn pod(obj: &Value) -> Status {
    let phase = str_at(obj, "/status/phase").unwrap_or("");
    match phase {
        "Succeeded" => return Status::ready("Pod has completed successfully"),
        "Failed" => return Status::error("Pod has completed, but not successfully"),
        _ => {}
    }
    for list in ["/status/containerStatuses", "/status/initContainerStatuses"] {
        if let Some(statuses) = obj.pointer(list).and_then(Value::as_array) {
            for cs in statuses {
                if cs.pointer("/state/waiting/reason").and_then(Value::as_str)
                    == Some("CrashLoopBackOff")
                {
                    let name = cs.get("name").and_then(Value::as_str).unwrap_or("");
                    return Status::error(format!("Container {name} is in CrashLoopBackOff"));
                }
            }
        }
    }
    if let Some(("False", "Unschedulable", message)) = condition(obj, "PodScheduled") {
        return Status::error(format!("Pod could not be scheduled: {message}"));
    }
    if phase == "Running" {
        if let Some(("True", _, _)) = condition(obj, "Ready") {
            return Status::ready("Pod is Ready");
        }
        return Status::progressing("Pod is running but is not Ready");
    }
    if phase.is_empty() {
        return Status::progressing("Pod phase not available");
    }
    Status::progressing(format!("Pod is in the {phase} phase"))
}

fn pvc(obj: &Value) -> Status {
    match str_at(obj, "/status/phase") {
        Some("Bound") => Status::ready("PVC is Bound"),
        Some(phase) => Status::progressing(format!("PVC is not Bound. phase: {phase}")),
        None => Status::progressing("PVC is not Bound"),
    }
}

fn service(obj: &Value) -> Status {
    if str_at(obj, "/spec/type") == Some("LoadBalancer")
        && str_at(obj, "/spec/clusterIP").unwrap_or("").is_empty()
    {
        return Status::progressing("ClusterIP not set");
    }
    Status::ready("Service is ready")
}

fn crd(obj: &Value) -> Status {
    if let Some(("False", reason, message)) = condition(obj, "NamesAccepted") {
        return Status::error(reason_message(reason, message));
    }
    match condition(obj, "Established") {
        Some(("True", _, _)) => Status::ready("CRD is established"),
        _ => Status::progressing("Install in progress"),
    }
}

/// A non-ready object of the summary (Fleet's `NonReadyStatus`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NonReady {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `metadata.uid` of the live object (the sort key).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Transitioning or error.
    pub state: Readiness,
    /// Why.
    pub message: String,
}

impl From<&NonReady> for NonReadyStatus {
    /// The object as a BundleDeployment's `status.nonReadyStatus` item.
    fn from(n: &NonReady) -> NonReadyStatus {
        NonReadyStatus {
            uid: n.uid.clone(),
            kind: n.kind.clone(),
            api_version: n.api_version.clone(),
            namespace: n.namespace.clone(),
            name: n.name.clone(),
            summary: state::non_ready_summary(n.state == Readiness::Error, &n.message),
            ..NonReadyStatus::default()
        }
    }
}

impl fmt::Display for NonReady {
    /// Fleet's `NonReadyStatus.String()` ([`fleet_core::state::non_ready_status_string`]):
    /// `<kind>.<group> <ns>/<name> [progressing] <message>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&state::non_ready_status_string(&NonReadyStatus::from(self)))
    }
}

/// The readiness summary of a BundleDeployment (Fleet's `resourceCounts` plus the first
/// non-ready resources).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Objects expected: live desired objects plus missing ones.
    pub desired_ready: usize,
    /// Live desired objects that are ready and not modified.
    pub ready: usize,
    /// Live desired objects not modified but not ready.
    pub not_ready: usize,
    /// Modified objects.
    pub modified: usize,
    /// Missing objects.
    pub missing: usize,
    /// Extra objects.
    pub orphaned: usize,
    /// Up to 10 non-ready objects, sorted by UID.
    pub non_ready_resources: Vec<NonReady>,
    /// More non-ready objects exist than are listed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
}

impl From<&Summary> for ResourceCounts {
    /// The counts as a BundleDeployment's `status.resourceCounts`.
    fn from(s: &Summary) -> ResourceCounts {
        ResourceCounts {
            ready: s.ready as i64,
            desired_ready: s.desired_ready as i64,
            modified: s.modified as i64,
            orphaned: s.orphaned as i64,
            missing: s.missing as i64,
            not_ready: s.not_ready as i64,
            ..ResourceCounts::default()
        }
    }
}

/// At most this many non-ready objects are listed (as Fleet).
pub use fleet_core::state::MAX_NON_READY_RESOURCES as MAX_NON_READY;

/// Summarises the live objects the diff compared.
pub fn summarize(
    report: &Report,
    desired: &[Value],
    live: &[Value],
    ignore_conditions: &[ConditionMatcher],
) -> Summary {
    let (missing, orphaned, modified) = report.counts();
    let mut summary = Summary {
        desired_ready: report.compared.len() + missing,
        missing,
        orphaned,
        modified,
        ..Summary::default()
    };
    let mut non_ready = Vec::new();
    for compared in &report.compared {
        let Some(obj) = live.get(compared.live) else {
            continue;
        };
        let st = if ignore_conditions.is_empty() {
            status(obj)
        } else {
            let mut copy = obj.clone();
            exclude_conditions(&mut copy, ignore_conditions);
            status(&copy)
        };
        let is_ready = st.state == Readiness::Ready;
        if !compared.modified {
            if is_ready {
                summary.ready += 1;
            } else {
                summary.not_ready += 1;
            }
        }
        if !is_ready {
            let desired_obj = desired.get(compared.desired).unwrap_or(obj);
            let namespace = str_at(obj, "/metadata/namespace")
                .or_else(|| str_at(desired_obj, "/metadata/namespace"))
                .unwrap_or("");
            non_ready.push(NonReady {
                api_version: str_at(obj, "/apiVersion").unwrap_or("").to_string(),
                kind: str_at(obj, "/kind").unwrap_or("").to_string(),
                namespace: namespace.to_string(),
                name: str_at(obj, "/metadata/name").unwrap_or("").to_string(),
                uid: str_at(obj, "/metadata/uid").unwrap_or("").to_string(),
                state: st.state,
                message: st.message,
            });
        }
    }
    // Fleet's monitor sorts every non-ready object by UID and then keeps the first ten, so
    // the list is the same whatever order the live objects were read in.
    non_ready.sort_by(|a, b| a.uid.cmp(&b.uid));
    if non_ready.len() > MAX_NON_READY {
        summary.incomplete = true;
        non_ready.truncate(MAX_NON_READY);
    }
    summary.non_ready_resources = non_ready;
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployment_rollout() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"generation": 2}, "spec": {"replicas": 3},
            "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3,
                "readyReplicas": 2, "availableReplicas": 3}});
        assert_eq!(status(&d), Status::progressing("Ready: 2/3"));
    }

    #[test]
    fn keeps_the_ten_lowest_uids_of_all_non_ready_objects() {
        let objects: Vec<(Value, Value)> = (0..12)
            .rev()
            .map(|i| {
                let name = format!("cm-{i:02}");
                let desired = json!({"apiVersion": "x.io/v1", "kind": "W",
                    "metadata": {"name": name, "namespace": "ns"}});
                let mut live = desired.clone();
                live["metadata"]["uid"] = json!(format!("uid-{i:02}"));
                live["status"] = json!({"conditions": [{"type": "Ready", "status": "False"}]});
                (desired, live)
            })
            .collect();
        let (desired, live): (Vec<Value>, Vec<Value>) = objects.into_iter().unzip();
        let report = Report {
            compared: (0..live.len())
                .map(|i| crate::diff::Compared {
                    desired: i,
                    live: i,
                    modified: false,
                })
                .collect(),
            ..Report::default()
        };
        let summary = summarize(&report, &desired, &live, &[]);
        assert!(summary.incomplete);
        let uids: Vec<&str> = summary
            .non_ready_resources
            .iter()
            .map(|n| n.uid.as_str())
            .collect();
        let expected: Vec<String> = (0..10).map(|i| format!("uid-{i:02}")).collect();
        assert_eq!(uids, expected);
        assert_eq!(summary.not_ready, 12);
    }

    #[test]
    fn ignored_conditions() {
        let mut o = json!({"apiVersion": "x.io/v1", "kind": "W", "status": {"conditions": [
            {"type": "Ready", "status": "False", "reason": "Boom"}]}});
        assert_eq!(status(&o).state, Readiness::Error);
        let m: ConditionMatcher = [("type".to_string(), "Ready".to_string())].into();
        exclude_conditions(&mut o, &[m]);
        assert_eq!(status(&o).state, Readiness::Ready);
    }
}
