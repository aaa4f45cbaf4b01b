//! The experimental and newer kinds: HelmOp, ImageScan, Schedule and Policy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::bundle::BundleSpec;
use super::cluster::LocalObjectReference;
use super::gitrepo::{GitTarget, StatusBase};
use super::status::Condition;
use crate::meta::{ObjectMeta, Unknown, is_false, is_zero_i64, null_default};

fleet_object! {
    /// A HelmOp (`fleet.cattle.io/v1alpha1`, namespaced): deploys a Helm chart from a
    /// repository without git.
    HelmOp, HelmOpSpec, HelmOpStatus, kind = "HelmOp", plural = "helmops", namespaced = true
}

fleet_object! {
    /// An ImageScan (`fleet.cattle.io/v1alpha1`, namespaced, experimental).
    ImageScan, ImageScanSpec, ImageScanStatus,
    kind = "ImageScan", plural = "imagescans", namespaced = true
}

fleet_object! {
    /// A Schedule (`fleet.cattle.io/v1alpha1`, namespaced, experimental): deployment windows.
    Schedule, ScheduleSpec, ScheduleStatus, kind = "Schedule", plural = "schedules", namespaced = true
}

/// HelmOp spec (Go `HelmOpSpec`): a [`BundleSpec`] inline plus the HelmOp's own fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmOpSpec {
    /// The bundle spec of the Bundle the HelmOp creates (Go inline `BundleSpec`).
    #[serde(flatten)]
    pub bundle: BundleSpec,
    /// Labels added to the created Bundle.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    /// How often the Helm repository is polled (Go duration string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polling_interval: Option<String>,
    /// Secret with Helm repository credentials.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub helm_secret_name: String,
    /// Skip TLS verification of the Helm repository.
    #[serde(
        rename = "insecureSkipTLSVerify",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub insecure_skip_tls_verify: bool,
}

/// HelmOp status: [`StatusBase`] inline plus polling fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmOpStatus {
    /// The shared status fields (Go inline `StatusBase`).
    #[serde(flatten)]
    pub base: StatusBase,
    /// Last poll (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_polling_triggered: Option<String>,
    /// Chart version currently deployed.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub version: String,
}

/// ImageScan spec (Go `ImageScanSpec`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageScanSpec {
    /// Tag reference put in manifests to mark fields to update.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub tag_name: String,
    /// GitRepo to commit updates to.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub gitrepo_name: String,
    /// Image repository to scan.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub image: String,
    /// Scan interval (Go duration string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Registry credentials Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Suspend scanning.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub suspend: bool,
    /// Tag selection policy.
    #[serde(default, deserialize_with = "null_default")]
    pub policy: ImagePolicyChoice,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// ImageScan status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageScanStatus {
    /// Last generation reconciled.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub observed_generation: i64,
    /// Conditions (`ImageScanned`, `ImageSynced`).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub conditions: Vec<Condition>,
    /// Last scan (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scan_time: Option<String>,
    /// Latest image found.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub latest_image: String,
    /// Latest tag found.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub latest_tag: String,
    /// Digest of the latest image.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub latest_digest: String,
    /// Canonical image name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub canonical_image_name: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Tag selection policy of an image scan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImagePolicyChoice {
    /// Highest tag within a semver range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<SemVerPolicy>,
    /// First or last tag in alphabetical order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alphabetical: Option<AlphabeticalPolicy>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Semver tag policy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SemVerPolicy {
    /// Semver range, e.g. `>=1.0.0`.
    #[serde(default, deserialize_with = "null_default")]
    pub range: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Alphabetical tag policy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlphabeticalPolicy {
    /// `asc` or `desc`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub order: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Schedule spec.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleSpec {
    /// Cron expression of the window starts.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub schedule: String,
    /// Window length (Go duration string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Time zone of the cron expression.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub location: String,
    /// Clusters the schedule applies to.
    #[serde(default, deserialize_with = "null_default")]
    pub targets: ScheduleTargets,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Clusters a Schedule applies to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleTargets {
    /// Cluster criteria, as in GitRepo targets.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub clusters: Vec<GitTarget>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Schedule status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleStatus {
    /// Conditions.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub conditions: Vec<Condition>,
    /// A window is open.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub active: bool,
    /// Start of the next window (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_start_time: Option<String>,
    /// Clusters the schedule matches.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub matching_clusters: Vec<String>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A Policy (`fleet.cattle.io/v1alpha1`, namespaced, v0.16): rules for GitRepos, HelmOps and
/// Bundles of its namespace. Fields sit at the top level.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy<M = ObjectMeta> {
    /// `fleet.cattle.io/v1alpha1`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_version: String,
    /// The kind.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: M,
    /// GitRepos and HelmOps must name a service account.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub require_service_account: bool,
    /// Allowed service accounts.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_service_accounts: Vec<String>,
    /// Namespaces may be created even when a service account is required.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub allow_namespace_creation: bool,
    /// GitRepo rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_repo: Option<GitRepoPolicy>,
    /// HelmOp rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_op: Option<HelmOpPolicy>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

impl_resource!(
    Policy,
    kind = "Policy",
    plural = "policies",
    namespaced = true
);

/// GitRepo rules of a Policy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRepoPolicy {
    /// Service account used when a GitRepo names none.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub default_service_account: String,
    /// Client secret used when a GitRepo names none.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub default_client_secret_name: String,
    /// Allowed client secrets.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_client_secret_names: Vec<String>,
    /// Allowed repository URLs (anchored regexes).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_repo_patterns: Vec<String>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// HelmOp rules of a Policy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmOpPolicy {
    /// Service account used when a HelmOp names none.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub default_service_account: String,
    /// Helm secret used when a HelmOp names none.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub default_helm_secret_name: String,
    /// Allowed Helm secrets.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_helm_secret_names: Vec<String>,
    /// Allowed Helm repository URLs (anchored regexes).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_helm_repo_patterns: Vec<String>,
    /// Allowed charts (anchored regexes).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_chart_patterns: Vec<String>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}
