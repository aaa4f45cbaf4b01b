//! Bundle (`bundle_types.go`): a set of resources plus the options and targets saying where
//! and how to deploy them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::options::BundleDeploymentOptions;
use super::status::{BundleSummary, Condition, IntOrString, ResourceKey, StringMap};
use crate::meta::{Unknown, is_false, is_zero_i64, null_default};
use crate::selector::LabelSelector;

fleet_object! {
    /// A Bundle (`fleet.cattle.io/v1alpha1`, namespaced).
    Bundle, BundleSpec, BundleStatus, kind = "Bundle", plural = "bundles", namespaced = true
}

/// Bundle spec (Go `BundleSpec`): the deployment options inline, then the bundle's own
/// fields, in Go's order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleSpec {
    /// The default deployment options (Go inline `BundleDeploymentOptions`).
    #[serde(flatten)]
    pub options: BundleDeploymentOptions,
    /// Stage but never promote new deployment IDs.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub paused: bool,
    /// Rollout strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_strategy: Option<RolloutStrategy>,
    /// The bundle's files.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<BundleResource>,
    /// How target customizations are applied (`FirstMatch` when unset).
    #[serde(default, skip_serializing_if = "TargetCustomizationMode::is_unset")]
    pub target_customization_mode: TargetCustomizationMode,
    /// Targets and customizations, in evaluation order.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub targets: Vec<BundleTarget>,
    /// Allow-list of targets (GitRepo targets), internal.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub target_restrictions: Vec<BundleTargetRestriction>,
    /// Bundles that must be ready first.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub depends_on: Vec<BundleRef>,
    /// ID of the contents in OCI storage.
    #[serde(
        rename = "contentsId",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub contents_id: String,
    /// Set for bundles created by a HelmOp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_op_options: Option<BundleHelmOptions>,
    /// Hash of the values stored in the bundle's values Secret.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub values_hash: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// `targetCustomizationMode`: unknown values are kept as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TargetCustomizationMode {
    /// Not set (empty string); Fleet treats it as `FirstMatch`.
    #[default]
    Unset,
    /// The first matching customization replaces the target's options.
    FirstMatch,
    /// All matching customizations are merged in order.
    AllMatches,
    /// A value this crate does not know.
    Other(String),
}

impl TargetCustomizationMode {
    /// True when not set.
    pub fn is_unset(&self) -> bool {
        matches!(self, TargetCustomizationMode::Unset)
    }

    /// The wire string (`""` when unset).
    pub fn as_str(&self) -> &str {
        match self {
            TargetCustomizationMode::Unset => "",
            TargetCustomizationMode::FirstMatch => "FirstMatch",
            TargetCustomizationMode::AllMatches => "AllMatches",
            TargetCustomizationMode::Other(other) => other,
        }
    }
}

impl From<&str> for TargetCustomizationMode {
    fn from(value: &str) -> Self {
        match value {
            "" => TargetCustomizationMode::Unset,
            "FirstMatch" => TargetCustomizationMode::FirstMatch,
            "AllMatches" => TargetCustomizationMode::AllMatches,
            other => TargetCustomizationMode::Other(other.to_string()),
        }
    }
}

impl fmt::Display for TargetCustomizationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TargetCustomizationMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TargetCustomizationMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value: Option<String> = Option::deserialize(deserializer)?;
        Ok(TargetCustomizationMode::from(
            value.as_deref().unwrap_or(""),
        ))
    }
}

/// One bundle file (Go `BundleResource`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleResource {
    /// Path relative to the bundle root.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// File content (text, or base64 of gzip when `encoding` is `base64+gz`).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub content: String,
    /// `""` or `base64+gz`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub encoding: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Why a Bundle resource's content cannot be decoded.
#[derive(Debug, thiserror::Error)]
#[error("resource {name}: {reason}")]
pub struct ResourceError {
    /// The resource's name.
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

impl BundleResource {
    /// The resource for a file: its text as it is, or (when `compress` is set or the bytes are
    /// not UTF-8) base64 of gzip with encoding `base64+gz`, as Fleet's bundle reader writes it.
    pub fn encode(
        name: &str,
        data: &[u8],
        compress: bool,
    ) -> Result<BundleResource, ResourceError> {
        use base64::Engine as _;
        let (content, encoding) = match (compress, std::str::from_utf8(data)) {
            (false, Ok(text)) => (text.to_string(), String::new()),
            _ => {
                let gz = crate::manifest::gzip(data).map_err(|e| ResourceError {
                    name: name.to_string(),
                    reason: e.to_string(),
                })?;
                (
                    base64::engine::general_purpose::STANDARD.encode(gz),
                    "base64+gz".to_string(),
                )
            }
        };
        Ok(BundleResource {
            name: name.to_string(),
            content,
            encoding,
            extra: Unknown::default(),
        })
    }

    /// The file's bytes: the content as it is (encoding `""`), base64-decoded (`base64`), or
    /// base64-decoded and gunzipped (`base64+gz`, at most
    /// [`crate::manifest::MAX_MANIFEST_BYTES`]).
    pub fn decode(&self) -> Result<Vec<u8>, ResourceError> {
        use base64::Engine as _;
        let bad = |reason: String| ResourceError {
            name: self.name.clone(),
            reason,
        };
        let base64 = || {
            base64::engine::general_purpose::STANDARD
                .decode(self.content.trim())
                .map_err(|e| bad(format!("invalid base64: {e}")))
        };
        match self.encoding.as_str() {
            "" => Ok(self.content.clone().into_bytes()),
            "base64" => base64(),
            "base64+gz" => {
                crate::manifest::gunzip(&base64()?).map_err(|e| bad(format!("invalid gzip: {e}")))
            }
            other => Err(bad(format!("unknown encoding {other:?}"))),
        }
    }
}

/// A target or customization (Go `BundleTarget`): deployment options inline plus the
/// cluster criteria.
///
/// Go's `BundleTarget` declares its own `namespaceLabels`/`namespaceAnnotations`, which
/// shadow the inline options' fields of the same JSON name. Here too the target-level
/// fields receive those keys; `options.namespace_labels`/`options.namespace_annotations`
/// stay `None` after deserialisation and should be left `None` (both would be written).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleTarget {
    /// Option overrides for matching clusters (Go inline `BundleDeploymentOptions`).
    #[serde(flatten)]
    pub options: BundleDeploymentOptions,
    /// Name; `target000`… when empty.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Match a Cluster by name (or display-name label).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub cluster_name: String,
    /// Match Clusters by labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_selector: Option<LabelSelector>,
    /// Match a ClusterGroup by name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub cluster_group: String,
    /// Match ClusterGroups by labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_group_selector: Option<LabelSelector>,
    /// Matching clusters get no deployment.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub do_not_deploy: bool,
    /// Namespace labels of this target (shadows the inline option field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_labels: Option<StringMap>,
    /// Namespace annotations of this target (shadows the inline option field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_annotations: Option<StringMap>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// An allowed target (Go `BundleTargetRestriction`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleTargetRestriction {
    /// Name.
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

/// A dependency (`dependsOn[]`, Go `BundleRef`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleRef {
    /// Bundle name (matched via the `fleet.cattle.io/bundle-name` label).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Selector over BundleDeployment labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Accepted dependency states; default `[Ready]`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub accepted_states: Vec<String>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Rollout strategy (Go `RolloutStrategy`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStrategy {
    /// Clusters that may be unavailable (default `100%`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// Partitions that may be unavailable (default `0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable_partitions: Option<IntOrString>,
    /// Automatic partition size (default `25%`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_partition_size: Option<IntOrString>,
    /// Cluster count from which auto-partitioning starts (default 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_partition_threshold: Option<i64>,
    /// New BundleDeployments created per reconcile (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_new: Option<i64>,
    /// Manual partitions.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub partitions: Vec<Partition>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A manual rollout partition (Go `Partition`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Partition {
    /// Display name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Clusters of this partition that may be unavailable (default `10%`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
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

/// Options of a HelmOp-created bundle (`helmOpOptions`, Go `BundleHelmOptions`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleHelmOptions {
    /// Secret with Helm repository credentials.
    #[serde(
        rename = "helmOpSecretName",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub secret_name: String,
    /// Skip TLS verification of the Helm repository.
    #[serde(
        rename = "helmOpInsecureSkipTLSVerify",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub insecure_skip_tls_verify: bool,
    /// CA bundle for the Helm repository (base64 on the wire).
    #[serde(
        rename = "helmOpCABundle",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub ca_bundle: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Bundle status (Go `BundleStatus`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleStatus {
    /// Conditions (`Ready`, …).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub conditions: Vec<Condition>,
    /// Deployment counts per state.
    #[serde(default, deserialize_with = "null_default")]
    pub summary: BundleSummary,
    /// BundleDeployments created in the last reconcile.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub newly_created: i64,
    /// Unavailable clusters.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub unavailable: i64,
    /// Unavailable partitions.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub unavailable_partitions: i64,
    /// Computed maximum of unavailable clusters.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub max_unavailable: i64,
    /// Computed maximum of unavailable partitions.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub max_unavailable_partitions: i64,
    /// Partition statuses.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub partitions: Vec<PartitionStatus>,
    /// Display columns.
    #[serde(default, deserialize_with = "null_default")]
    pub display: BundleDisplay,
    /// Deprecated resource list (now cleared).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resource_key: Vec<ResourceKey>,
    /// OCI reference of the contents.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub oci_reference: String,
    /// Last generation reconciled.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub observed_generation: i64,
    /// sha256 of the resources.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub resources_sha256_sum: String,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Status of one rollout partition (Go `PartitionStatus`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionStatus {
    /// Partition name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Clusters in the partition.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub count: i64,
    /// Allowed unavailable clusters.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub max_unavailable: i64,
    /// Unavailable clusters.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub unavailable: i64,
    /// Deployment counts of the partition.
    #[serde(default, deserialize_with = "null_default")]
    pub summary: BundleSummary,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Bundle display columns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleDisplay {
    /// `ready/desired` clusters.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub ready_clusters: String,
    /// Highest-ranked non-ready state.
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
