//! Cluster and ClusterGroup (`cluster_types.go`, `clustergroup_types.go`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::status::{BundleSummary, Condition, ResourceCounts};
use crate::meta::{Unknown, is_false, is_zero_i64, null_default};
use crate::selector::LabelSelector;

fleet_object! {
    /// A Cluster (`fleet.cattle.io/v1alpha1`, namespaced): a downstream cluster.
    Cluster, ClusterSpec, ClusterStatus, kind = "Cluster", plural = "clusters", namespaced = true
}

fleet_object! {
    /// A ClusterGroup (`fleet.cattle.io/v1alpha1`, namespaced): clusters selected by labels.
    ClusterGroup, ClusterGroupSpec, ClusterGroupStatus,
    kind = "ClusterGroup", plural = "clustergroups", namespaced = true
}

/// Cluster spec (Go `ClusterSpec`). Core/v1 agent settings are kept untyped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSpec {
    /// Pause all deployments to this cluster.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub paused: bool,
    /// Client ID of the registering agent.
    #[serde(
        rename = "clientID",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub client_id: String,
    /// Secret with the cluster's kubeconfig (manager-initiated registration).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub kube_config_secret: String,
    /// Namespace of `kubeConfigSecret`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub kube_config_secret_namespace: String,
    /// Bump to redeploy the agent.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub redeploy_agent_generation: i64,
    /// Extra agent environment variables (core/v1 `EnvVar`, untyped).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub agent_env_vars: Vec<Value>,
    /// Namespace of the agent.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub agent_namespace: String,
    /// Private registry prefix for the agent image.
    #[serde(
        rename = "privateRepoURL",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub private_repo_url: String,
    /// Values available to templates as `.ClusterValues`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_values: Option<Map<String, Value>>,
    /// Agent tolerations (core/v1 `Toleration`, untyped).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub agent_tolerations: Vec<Value>,
    /// Agent affinity (core/v1 `Affinity`, untyped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_affinity: Option<Value>,
    /// Agent resources (core/v1 `ResourceRequirements`, untyped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_resources: Option<Value>,
    /// Agent PriorityClass and PodDisruptionBudget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_scheduling_customization: Option<AgentSchedulingCustomization>,
    /// Run the agent in the host network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_network: Option<bool>,
    /// Image pull secrets of the agent.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub agent_pull_secrets: Vec<LocalObjectReference>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Cluster status (Go `ClusterStatus`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    /// Conditions (`Ready`, `Processed`).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub conditions: Vec<Condition>,
    /// The cluster namespace holding its BundleDeployments.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace: String,
    /// Deployment counts per state.
    #[serde(default, deserialize_with = "null_default")]
    pub summary: BundleSummary,
    /// Resource counts.
    #[serde(default, deserialize_with = "null_default")]
    pub resource_counts: ResourceCounts,
    /// Ready GitRepos.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub ready_git_repos: i64,
    /// GitRepos that should be ready.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub desired_ready_git_repos: i64,
    /// Ready HelmOps.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub ready_helm_ops: i64,
    /// HelmOps that should be ready.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub desired_ready_helm_ops: i64,
    /// Hash of the deployed agent env vars.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub agent_env_vars_hash: String,
    /// Private repo URL of the deployed agent.
    #[serde(
        rename = "agentPrivateRepoURL",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub agent_private_repo_url: String,
    /// Generation of the deployed agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_deployed_generation: Option<i64>,
    /// Agent migrated.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub agent_migrated: bool,
    /// Agent namespace migrated.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub agent_namespace_migrated: bool,
    /// Cattle namespace migrated.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub cattle_namespace_migrated: bool,
    /// Hash of the deployed agent affinity.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub agent_affinity_hash: String,
    /// Hash of the deployed agent resources.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub agent_resources_hash: String,
    /// Hash of the deployed agent tolerations.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub agent_tolerations_hash: String,
    /// Hash of the deployed scheduling customization.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub agent_scheduling_customization_hash: String,
    /// Host network setting of the deployed agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_host_network: Option<bool>,
    /// The agent configuration changed.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub agent_config_changed: bool,
    /// API server URL given to the agent.
    #[serde(
        rename = "apiServerURL",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_server_url: String,
    /// Hash of the API server CA given to the agent.
    #[serde(
        rename = "apiServerCAHash",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_server_ca_hash: String,
    /// TLS mode given to the agent.
    #[serde(
        rename = "agentTLSMode",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub agent_tls_mode: String,
    /// Display columns.
    #[serde(default, deserialize_with = "null_default")]
    pub display: ClusterDisplay,
    /// What the agent reported last.
    #[serde(default, deserialize_with = "null_default")]
    pub agent: AgentStatus,
    /// Garbage collection interval (Go duration string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garbage_collection_interval: Option<String>,
    /// The cluster is subject to a Schedule.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub scheduled: bool,
    /// A schedule window is open.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub active_schedule: bool,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Cluster display columns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDisplay {
    /// `ready/desired` bundles.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub ready_bundles: String,
    /// Highest-ranked non-ready state, or `WaitCheckIn`.
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

/// What the agent reports (Go `AgentStatus`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentStatus {
    /// Last check-in (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// Namespace of the agent.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Agent scheduling customization.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSchedulingCustomization {
    /// PriorityClass for the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class: Option<PriorityClassSpec>,
    /// PodDisruptionBudget for the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_disruption_budget: Option<PodDisruptionBudgetSpec>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Agent PriorityClass settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriorityClassSpec {
    /// Priority value.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub value: i64,
    /// Preemption policy.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub preemption_policy: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Agent PodDisruptionBudget settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodDisruptionBudgetSpec {
    /// Minimum available pods (number or percentage).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub min_available: String,
    /// Maximum unavailable pods (number or percentage).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub max_unavailable: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A reference to an object by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalObjectReference {
    /// Object name.
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

/// ClusterGroup spec.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterGroupSpec {
    /// Selector over Cluster labels; `None` selects no cluster, `{}` all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// ClusterGroup status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterGroupStatus {
    /// Clusters in the group.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub cluster_count: i64,
    /// Non-ready clusters in the group.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub non_ready_cluster_count: i64,
    /// Names of non-ready clusters.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub non_ready_clusters: Vec<String>,
    /// Conditions.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub conditions: Vec<Condition>,
    /// Deployment counts per state.
    #[serde(default, deserialize_with = "null_default")]
    pub summary: BundleSummary,
    /// Display columns.
    #[serde(default, deserialize_with = "null_default")]
    pub display: ClusterGroupDisplay,
    /// Resource counts.
    #[serde(default, deserialize_with = "null_default")]
    pub resource_counts: ResourceCounts,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// ClusterGroup display columns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterGroupDisplay {
    /// `ready/desired` clusters.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub ready_clusters: String,
    /// `ready/desired` bundles.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub ready_bundles: String,
    /// State.
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
