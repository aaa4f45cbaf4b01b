//! Content, BundleNamespaceMapping, GitRepoRestriction, ClusterRegistrationToken and
//! ClusterRegistration.
//!
//! Content, BundleNamespaceMapping and GitRepoRestriction have no `spec`: their fields sit at
//! the top level of the object, as in Fleet's CRDs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::meta::{ObjectMeta, Unknown, is_false, is_zero_i64, null_default};
use crate::selector::LabelSelector;

fleet_object! {
    /// A ClusterRegistrationToken (`fleet.cattle.io/v1alpha1`, namespaced).
    ClusterRegistrationToken, ClusterRegistrationTokenSpec, ClusterRegistrationTokenStatus,
    kind = "ClusterRegistrationToken", plural = "clusterregistrationtokens", namespaced = true
}

fleet_object! {
    /// A ClusterRegistration (`fleet.cattle.io/v1alpha1`, namespaced, internal).
    ClusterRegistration, ClusterRegistrationSpec, ClusterRegistrationStatus,
    kind = "ClusterRegistration", plural = "clusterregistrations", namespaced = true
}

/// A Content (`fleet.cattle.io/v1alpha1`, **cluster-scoped**): a bundle manifest, gzip-compressed. Named by the manifest ID.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content<M = ObjectMeta> {
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
    /// gzip of the manifest JSON, base64 on the wire (Go `[]byte`).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub content: String,
    /// sha256 (hex) of the uncompressed manifest JSON.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub sha256sum: String,
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ContentStatus>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

impl_resource!(
    Content,
    kind = "Content",
    plural = "contents",
    namespaced = false
);

/// Content status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentStatus {
    /// Live BundleDeployments referencing this content.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub reference_count: i64,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A BundleNamespaceMapping (`fleet.cattle.io/v1alpha1`, namespaced): lets selected bundles target clusters in other namespaces.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleNamespaceMapping<M = ObjectMeta> {
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
    /// Bundles (in this namespace) the mapping applies to; `None` makes it inert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_selector: Option<LabelSelector>,
    /// Namespaces whose clusters those bundles may target; `None` makes it inert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

impl_resource!(
    BundleNamespaceMapping,
    kind = "BundleNamespaceMapping",
    plural = "bundlenamespacemappings",
    namespaced = true
);

/// A GitRepoRestriction (`fleet.cattle.io/v1alpha1`, namespaced): limits what GitRepos of its namespace may use.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRepoRestriction<M = ObjectMeta> {
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
    /// Service account used when a GitRepo names none.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub default_service_account: String,
    /// Allowed service accounts.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_service_accounts: Vec<String>,
    /// Allowed repository URLs (exact strings or unanchored regexes).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_repo_patterns: Vec<String>,
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
    /// Allowed target namespaces.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_target_namespaces: Vec<String>,
    /// Allowed downstream namespaces by labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_target_namespace_selector: Option<LabelSelector>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

impl_resource!(
    GitRepoRestriction,
    kind = "GitRepoRestriction",
    plural = "gitreporestrictions",
    namespaced = true
);

/// ClusterRegistrationToken spec.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRegistrationTokenSpec {
    /// Token lifetime (Go duration string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// ClusterRegistrationToken status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRegistrationTokenStatus {
    /// Expiry time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Secret holding the token.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub secret_name: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// ClusterRegistration spec.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRegistrationSpec {
    /// Agent client ID.
    #[serde(
        rename = "clientID",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub client_id: String,
    /// Agent random value.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub client_random: String,
    /// Labels for the Cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_labels: Option<BTreeMap<String, String>>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// ClusterRegistration status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRegistrationStatus {
    /// Name of the registered Cluster.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub cluster_name: String,
    /// The registration was granted.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub granted: bool,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}
