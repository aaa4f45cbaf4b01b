//! BundleDeployment (`bundledeployment_types.go`): one Bundle on one cluster.

use serde::{Deserialize, Serialize};

use super::bundle::BundleRef;
use super::options::{BundleDeploymentOptions, CorrectDrift};
use super::status::{Condition, ModifiedStatus, NonReadyStatus, ResourceCounts};
use crate::meta::{Unknown, is_false, is_zero_i64, null_default};

fleet_object! {
    /// A BundleDeployment (`fleet.cattle.io/v1alpha1`, namespaced, in a cluster namespace).
    BundleDeployment, BundleDeploymentSpec, BundleDeploymentStatus,
    kind = "BundleDeployment", plural = "bundledeployments", namespaced = true
}

/// BundleDeployment spec (Go `BundleDeploymentSpec`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleDeploymentSpec {
    /// Do not promote staged options.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub paused: bool,
    /// Options staged for the next deployment (a Go struct value: always written).
    #[serde(default, deserialize_with = "null_default")]
    pub staged_options: BundleDeploymentOptions,
    /// ID of the staged deployment.
    #[serde(
        rename = "stagedDeploymentID",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub staged_deployment_id: String,
    /// Options of the current deployment (always written).
    #[serde(default, deserialize_with = "null_default")]
    pub options: BundleDeploymentOptions,
    /// ID of the current deployment: `manifestID:sha256(options)`.
    #[serde(
        rename = "deploymentID",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub deployment_id: String,
    /// Bundles that must be ready first.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub depends_on: Vec<BundleRef>,
    /// Drift correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correct_drift: Option<CorrectDrift>,
    /// Contents live in an OCI registry.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub oci_contents: bool,
    /// HelmOp chart access options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_chart_options: Option<super::bundle::BundleHelmOptions>,
    /// Hash of the values in the BundleDeployment's values Secret.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub values_hash: String,
    /// Generation of the downstream resources copied for this deployment.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub downstream_resources_generation: i64,
    /// The cluster is outside its schedule window.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub off_schedule: bool,
    /// The values Secret is not written yet.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub waiting_for_values: bool,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// BundleDeployment status (Go `BundleDeploymentStatus`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleDeploymentStatus {
    /// Conditions (`Ready`, `Installed`, `Deployed`, `Monitored`).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub conditions: Vec<Condition>,
    /// Deployment ID the agent applied last.
    #[serde(
        rename = "appliedDeploymentID",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub applied_deployment_id: String,
    /// Helm release `<ns>/<name>:<revision>`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub release: String,
    /// All resources are ready.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub ready: bool,
    /// No resource is modified.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub non_modified: bool,
    /// Non-ready resources (up to 10).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub non_ready_status: Vec<NonReadyStatus>,
    /// Modified resources (up to 10).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub modified_status: Vec<ModifiedStatus>,
    /// The status lists were truncated.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub incomplete_state: bool,
    /// Display columns (a Go struct value: always written).
    #[serde(default, deserialize_with = "null_default")]
    pub display: BundleDeploymentDisplay,
    /// forceSyncGeneration last applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_generation: Option<i64>,
    /// Deployed resources from the Helm release.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<BundleDeploymentResource>,
    /// Resource counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_counts: Option<ResourceCounts>,
    /// Generation of the downstream resources last copied.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub downstream_resources_generation: i64,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// BundleDeployment display columns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleDeploymentDisplay {
    /// Deployed column.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub deployed: String,
    /// Monitored column.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub monitored: String,
    /// State column.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub state: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A deployed resource (Go `BundleDeploymentResource`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleDeploymentResource {
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
    /// Creation time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}
