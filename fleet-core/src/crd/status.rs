//! Pieces shared by several Fleet resources: conditions, summaries, resource statuses.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::meta::{Unknown, is_false, is_zero_i64, null_default};

/// A status condition (wrangler `genericcondition.GenericCondition`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, e.g. `Ready`.
    #[serde(rename = "type", default, deserialize_with = "null_default")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    /// Last update (RFC 3339).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub last_update_time: String,
    /// Last transition (RFC 3339).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub last_transition_time: String,
    /// Machine-readable reason.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub reason: String,
    /// Human-readable message.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub message: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A Kubernetes `IntOrString` (rollout limits: `10`, `"25%"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    /// An integer.
    Int(i32),
    /// A string, usually a percentage like `"25%"`.
    String(String),
}

/// Per-state bundle deployment counts (Go `BundleSummary`). `ready` and `desiredReady`
/// have no `omitempty` in Go and are always written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleSummary {
    /// Deployments in state NotReady.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub not_ready: i64,
    /// Deployments in state WaitApplied.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub wait_applied: i64,
    /// Deployments in state ErrApplied.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub err_applied: i64,
    /// Deployments in state OutOfSync.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub out_of_sync: i64,
    /// Deployments in state Modified.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub modified: i64,
    /// Ready deployments (always written).
    #[serde(default, deserialize_with = "null_default")]
    pub ready: i64,
    /// Deployments in state Pending.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub pending: i64,
    /// Deployments that should become ready (always written).
    #[serde(default, deserialize_with = "null_default")]
    pub desired_ready: i64,
    /// Up to 10 non-ready deployments.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub non_ready_resources: Vec<NonReadyResource>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A non-ready BundleDeployment in a [`BundleSummary`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NonReadyResource {
    /// Name (`<cluster namespace>/<bd name>` style).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Its bundle state.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub bundle_state: String,
    /// Message.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub message: String,
    /// Modified resources.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub modified_status: Vec<ModifiedStatus>,
    /// Non-ready resources.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub non_ready_status: Vec<NonReadyStatus>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A deployed resource that differs from the desired state (Go `ModifiedStatus`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedStatus {
    /// Kind.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub kind: String,
    /// apiVersion.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_version: String,
    /// Namespace.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace: String,
    /// Name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// The resource is missing (Go field `Create`, JSON `missing`).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub missing: bool,
    /// The resource exists but is not owned by this bundle.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub exist: bool,
    /// The resource is extra and would be deleted.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub delete: bool,
    /// The JSON patch from live to desired.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub patch: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A deployed resource that is not ready (Go `NonReadyStatus`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NonReadyStatus {
    /// UID of the resource.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub uid: String,
    /// Kind.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub kind: String,
    /// apiVersion.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_version: String,
    /// Namespace.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace: String,
    /// Name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Readiness summary of the resource.
    #[serde(default, deserialize_with = "null_default")]
    pub summary: ResourceSummary,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Readiness summary of one resource (Fleet `summary.Summary`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSummary {
    /// State name, e.g. `in-progress`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub state: String,
    /// The resource is in error.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub error: bool,
    /// The resource is transitioning.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub transitioning: bool,
    /// Messages.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub message: Vec<String>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Counts of deployed resources per state (Go `ResourceCounts`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceCounts {
    /// Ready resources.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub ready: i64,
    /// Resources that should be ready.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub desired_ready: i64,
    /// Resources waiting to be applied.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub wait_applied: i64,
    /// Modified resources.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub modified: i64,
    /// Orphaned resources.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub orphaned: i64,
    /// Missing resources.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub missing: i64,
    /// Resources in an unknown state.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub unknown: i64,
    /// Not-ready resources.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub not_ready: i64,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Identity of a resource (apiVersion, kind, namespace, name), e.g. Bundle `status.resourceKey`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceKey {
    /// Kind.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub kind: String,
    /// apiVersion.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_version: String,
    /// Namespace.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace: String,
    /// Name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A plain string map, as used for labels.
pub type StringMap = BTreeMap<String, String>;
