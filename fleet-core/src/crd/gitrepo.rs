//! GitRepo (`gitrepo_types.go`): a git repository scanned for bundles.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::options::CorrectDrift;
use super::status::{BundleSummary, Condition, ResourceCounts};
use crate::meta::{Unknown, is_false, is_zero_i64, null_default};
use crate::selector::LabelSelector;

fleet_object! {
    /// A GitRepo (`fleet.cattle.io/v1alpha1`, namespaced).
    GitRepo, GitRepoSpec, GitRepoStatus, kind = "GitRepo", plural = "gitrepos", namespaced = true
}

/// GitRepo spec (Go `GitRepoSpec`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRepoSpec {
    /// Git repository URL (always written).
    #[serde(default, deserialize_with = "null_default")]
    pub repo: String,
    /// Branch to follow (`master` when neither branch nor revision is set).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub branch: String,
    /// Fixed revision (commit, tag).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub revision: String,
    /// Forces every object of every bundle into this namespace.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub target_namespace: String,
    /// Git credentials Secret (basic-auth or ssh-auth).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub client_secret_name: String,
    /// Helm repository credentials Secret.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub helm_secret_name: String,
    /// Secret with per-path Helm credentials.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub helm_secret_name_for_paths: String,
    /// Helm credentials are sent only to chart URLs matching this regex.
    #[serde(
        rename = "helmRepoURLRegex",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub helm_repo_url_regex: String,
    /// CA bundle for the git server (base64 on the wire).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub ca_bundle: String,
    /// Skip TLS verification of the git server.
    #[serde(
        rename = "insecureSkipTLSVerify",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub insecure_skip_tls_verify: bool,
    /// Paths (globs) to scan for bundles; default `["."]`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub paths: Vec<String>,
    /// Driven scan: one bundle per entry; `paths` is ignored when set.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub bundles: Vec<BundlePath>,
    /// Do not promote new versions.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub paused: bool,
    /// Downstream service account for deployments.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub service_account: String,
    /// Clusters to deploy to; empty means the `default` cluster group.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub targets: Vec<GitTarget>,
    /// Polling interval (Go duration string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polling_interval: Option<String>,
    /// Disable polling (webhooks only).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub disable_polling: bool,
    /// Bump to force a redeployment.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub force_sync_generation: i64,
    /// Image scan interval (Go duration string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_scan_interval: Option<String>,
    /// Commit settings of image-scan updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_scan_commit: Option<CommitSpec>,
    /// Keep deployed objects when the GitRepo is deleted.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub keep_resources: bool,
    /// Delete the target namespace when the GitRepo is deleted.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub delete_namespace: bool,
    /// Drift correction for all bundles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correct_drift: Option<CorrectDrift>,
    /// Secret validating webhook payloads.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub webhook_secret: String,
    /// Secret of the OCI registry used as bundle storage.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub oci_registry_secret: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A GitRepo target (Go `GitTarget`): cluster criteria only, no options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitTarget {
    /// Target name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Cluster name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub cluster_name: String,
    /// Cluster label selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_selector: Option<LabelSelector>,
    /// Cluster group name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub cluster_group: String,
    /// Cluster group label selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_group_selector: Option<LabelSelector>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// One entry of a driven scan (`spec.bundles[]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundlePath {
    /// Bundle directory, relative to the repository root.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub base: String,
    /// Options file (a fleet.yaml under another name), relative to the repository root.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub options: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Commit settings for image-scan updates (Go `CommitSpec`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitSpec {
    /// Commit author name (always written).
    #[serde(default, deserialize_with = "null_default")]
    pub author_name: String,
    /// Commit author email (always written).
    #[serde(default, deserialize_with = "null_default")]
    pub author_email: String,
    /// Commit message template.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub message_template: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Status shared by GitRepo and HelmOp (Go `StatusBase`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusBase {
    /// Clusters where all bundles are ready.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub ready_clusters: i64,
    /// Clusters that should be ready.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub desired_ready_clusters: i64,
    /// Deployment counts per state.
    #[serde(default, deserialize_with = "null_default")]
    pub summary: BundleSummary,
    /// Display columns.
    #[serde(default, deserialize_with = "null_default")]
    pub display: StatusDisplay,
    /// Conditions.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub conditions: Vec<Condition>,
    /// Resources deployed by the bundles, per cluster state.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<Resource>,
    /// Resource counts.
    #[serde(default, deserialize_with = "null_default")]
    pub resource_counts: ResourceCounts,
    /// Resource counts per cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_cluster_resource_counts: Option<BTreeMap<String, ResourceCounts>>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// GitRepo status (Go `GitRepoStatus`): [`StatusBase`] inline plus git fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRepoStatus {
    /// The shared status fields (Go inline `StatusBase`).
    #[serde(flatten)]
    pub base: StatusBase,
    /// Last generation reconciled.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub observed_generation: i64,
    /// Generation of the last forced update.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub update_generation: i64,
    /// Commit currently deployed.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub commit: String,
    /// Commit received through a webhook.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub webhook_commit: String,
    /// Commit found by polling.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub polling_commit: String,
    /// Time of the last webhook (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_webhook_time: Option<String>,
    /// Status of the git job.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub git_job_status: String,
    /// Last image-scan sync (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_image_scan_time: Option<String>,
    /// Last poll (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_polling_triggered: Option<String>,
}

/// Display columns of a GitRepo or HelmOp.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDisplay {
    /// `ready/desired` BundleDeployments.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub ready_bundle_deployments: String,
    /// State.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub state: String,
    /// Message.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub message: String,
    /// In error.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub error: bool,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A resource deployed by a GitRepo's bundles (Go `Resource`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// apiVersion.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_version: String,
    /// Kind.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub kind: String,
    /// Type (lower-cased kind, as the UI shows it).
    #[serde(
        rename = "type",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub type_: String,
    /// ID (`namespace/name`).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub id: String,
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
    /// The per-cluster lists were truncated.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub incomplete_state: bool,
    /// Aggregated state.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub state: String,
    /// In error.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub error: bool,
    /// Transitioning.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub transitioning: bool,
    /// Message.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub message: String,
    /// Cluster IDs per state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_cluster_state: Option<PerClusterState>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Cluster IDs per resource state (Go `PerClusterState`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerClusterState {
    /// Clusters where the resource is ready.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ready: Vec<String>,
    /// Clusters waiting to apply it.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub wait_applied: Vec<String>,
    /// Clusters where it is pending.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub pending: Vec<String>,
    /// Clusters where it is modified.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub modified: Vec<String>,
    /// Clusters where it is not ready.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub not_ready: Vec<String>,
    /// Clusters where it is orphaned.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub orphaned: Vec<String>,
    /// Clusters where it is missing.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub missing: Vec<String>,
    /// Clusters where its state is unknown.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub unknown: Vec<String>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}
