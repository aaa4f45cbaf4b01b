//! Wire-compatible serde types for Fleet's custom resources (`fleet.cattle.io/v1alpha1`).
//!
//! All fourteen kinds of Fleet's CRDs are modelled, with JSON field names exactly those of
//! the CRDs. Every top-level object has `apiVersion`, `kind`, `metadata` and either `spec` +
//! `status` (an `Option`) or, for [`Content`], [`BundleNamespaceMapping`],
//! [`GitRepoRestriction`] and [`Policy`], its fields at the top level as in Fleet.
//!
//! # Unknown fields and empty values
//!
//! Unknown fields are **preserved**: objects and their sub-structures carry an `extra`
//! [`Unknown`](crate::meta::Unknown) map that is written back, so reading and writing an
//! object made by a newer Fleet loses nothing. The exception is the hashed option types of
//! [`options`] ([`BundleDeploymentOptions`], [`HelmOptions`] and what they contain), which
//! drop unknown fields exactly like Go does; inside a [`BundleSpec`] or [`BundleTarget`]
//! unknown keys still land in the enclosing struct's `extra`.
//! [`collect_unknown_fields`](crate::meta::collect_unknown_fields) lists them.
//!
//! Serialisation follows Go's `omitempty` rules field by field, so empty strings, `false`,
//! zero and empty lists are left out where Go leaves them out, and written where Go writes
//! them (e.g. `"ignore":{}` in options). `null` is accepted wherever Go accepts it.
//!
//! # Metadata type and kube-rs
//!
//! Top-level types are generic over their metadata type, defaulting to this crate's
//! [`ObjectMeta`](crate::meta::ObjectMeta): `Bundle` is `Bundle<ObjectMeta>`. With the
//! optional `kube` cargo feature, [`kube_types`] provides aliases instantiated with
//! k8s-openapi's `ObjectMeta` (e.g. `kube_types::Bundle`) that implement
//! `kube_core::Resource`, so `kube::Api<fleet_core::crd::kube_types::Bundle>` works.
//!
//! ```
//! use fleet_core::crd::{Bundle, FleetResource};
//!
//! let yaml = "apiVersion: fleet.cattle.io/v1alpha1\nkind: Bundle\nmetadata:\n  name: app\n  namespace: fleet-local\nspec:\n  helm:\n    releaseName: app\n  targets:\n  - clusterGroup: default\n";
//! let bundle: Bundle = fleet_core::yaml::from_str(yaml).unwrap();
//! assert_eq!(bundle.metadata.name, "app");
//! assert_eq!(bundle.spec.options.helm.as_ref().unwrap().release_name, "app");
//! assert_eq!(Bundle::<fleet_core::meta::ObjectMeta>::PLURAL, "bundles");
//! ```

/// Declares a top-level object with `spec` and `status`.
macro_rules! fleet_object {
    ($(#[$doc:meta])* $name:ident, $spec:ty, $status:ty,
     kind = $kind:literal, plural = $plural:literal, namespaced = $namespaced:tt) => {
        $(#[$doc])*
        ///
        /// Generic over the metadata type (see the [module docs](crate::crd)).
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name<M = crate::meta::ObjectMeta> {
            /// `fleet.cattle.io/v1alpha1`.
            #[serde(default, deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
            pub api_version: String,
            /// The kind.
            #[serde(default, deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
            pub kind: String,
            /// Object metadata.
            #[serde(default)]
            pub metadata: M,
            /// Desired state.
            #[serde(default, deserialize_with = "null_default")]
            pub spec: $spec,
            /// Observed state.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub status: Option<$status>,
            /// Fields without a typed field here.
            #[serde(flatten)]
            pub extra: Unknown,
        }

        impl_resource!($name, kind = $kind, plural = $plural, namespaced = $namespaced);
    };
}

/// Implements [`FleetResource`], a constructor and (with the `kube` feature) kube's
/// `Resource` for a top-level type.
macro_rules! impl_resource {
    ($name:ident, kind = $kind:literal, plural = $plural:literal, namespaced = $namespaced:tt) => {
        impl<M> crate::crd::FleetResource for $name<M> {
            const KIND: &'static str = $kind;
            const PLURAL: &'static str = $plural;
            const NAMESPACED: bool = $namespaced;
        }

        impl $name<crate::meta::ObjectMeta> {
            /// An empty object with `apiVersion`, `kind`, name and namespace set (pass `""`
            /// as namespace for cluster-scoped kinds).
            pub fn new(name: &str, namespace: &str) -> Self {
                let mut object = Self::default();
                object.api_version = crate::crd::API_VERSION.to_string();
                object.kind = $kind.to_string();
                object.metadata.name = name.to_string();
                object.metadata.namespace = namespace.to_string();
                object
            }
        }

        #[cfg(feature = "kube")]
        impl kube_core::Resource
            for $name<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>
        {
            type DynamicType = ();
            type Scope = impl_resource!(@scope $namespaced);

            fn kind(_: &()) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed($kind)
            }
            fn group(_: &()) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(crate::crd::GROUP)
            }
            fn version(_: &()) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(crate::crd::VERSION)
            }
            fn api_version(_: &()) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(crate::crd::API_VERSION)
            }
            fn plural(_: &()) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed($plural)
            }
            fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }
            fn meta_mut(
                &mut self,
            ) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &mut self.metadata
            }
        }
    };
    (@scope true) => {
        kube_core::NamespaceResourceScope
    };
    (@scope false) => {
        kube_core::ClusterResourceScope
    };
}

pub mod bundle;
pub mod bundledeployment;
pub mod cluster;
pub mod content_access_registration;
pub mod experimental;
pub mod gitrepo;
pub mod options;
pub mod status;

#[cfg(feature = "kube")]
pub mod kube_types;

pub use bundle::{
    Bundle, BundleDisplay, BundleHelmOptions, BundleRef, BundleResource, BundleSpec, BundleStatus,
    BundleTarget, BundleTargetRestriction, Partition, PartitionStatus, RolloutStrategy,
    TargetCustomizationMode,
};
pub use bundledeployment::{
    BundleDeployment, BundleDeploymentDisplay, BundleDeploymentResource, BundleDeploymentSpec,
    BundleDeploymentStatus,
};
pub use cluster::{
    AgentSchedulingCustomization, AgentStatus, Cluster, ClusterDisplay, ClusterGroup,
    ClusterGroupDisplay, ClusterGroupSpec, ClusterGroupStatus, ClusterSpec, ClusterStatus,
    LocalObjectReference, PodDisruptionBudgetSpec, PriorityClassSpec,
};
pub use content_access_registration::{
    BundleNamespaceMapping, ClusterRegistration, ClusterRegistrationSpec,
    ClusterRegistrationStatus, ClusterRegistrationToken, ClusterRegistrationTokenSpec,
    ClusterRegistrationTokenStatus, Content, ContentStatus, GitRepoRestriction,
};
pub use experimental::{
    AlphabeticalPolicy, GitRepoPolicy, HelmOp, HelmOpPolicy, HelmOpSpec, HelmOpStatus,
    ImagePolicyChoice, ImageScan, ImageScanSpec, ImageScanStatus, Policy, Schedule, ScheduleSpec,
    ScheduleStatus, ScheduleTargets, SemVerPolicy,
};
pub use gitrepo::{
    BundlePath, CommitSpec, GitRepo, GitRepoSpec, GitRepoStatus, GitTarget, PerClusterState,
    Resource, StatusBase, StatusDisplay,
};
pub use options::{
    BundleDeploymentOptions, ComparePatch, CorrectDrift, DiffOptions, DownstreamResource,
    HelmOptions, IgnoreOptions, KeySelector, KustomizeOptions, Operation, OverwrittenResource,
    ValuesFrom, YamlOptions,
};
pub use status::{
    BundleSummary, Condition, IntOrString, ModifiedStatus, NonReadyResource, NonReadyStatus,
    ResourceCounts, ResourceKey, ResourceSummary,
};

/// API group of Fleet's resources.
pub const GROUP: &str = "fleet.cattle.io";
/// API version (without group) of Fleet's resources.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of Fleet's resources.
pub const API_VERSION: &str = "fleet.cattle.io/v1alpha1";

/// Static facts about a Fleet resource type, available without the `kube` feature.
pub trait FleetResource {
    /// The kind, e.g. `Bundle`.
    const KIND: &'static str;
    /// The plural resource name, e.g. `bundles`.
    const PLURAL: &'static str;
    /// Namespaced (`true`) or cluster-scoped (`false`).
    const NAMESPACED: bool;
}

/// Any Fleet object, told apart by `kind`. Objects of other groups or unknown Fleet kinds
/// are rejected by [`FleetObject::from_value`].
#[derive(Clone, Debug, PartialEq)]
pub enum FleetObject {
    /// A Bundle.
    Bundle(Box<Bundle>),
    /// A BundleDeployment.
    BundleDeployment(Box<BundleDeployment>),
    /// A GitRepo.
    GitRepo(Box<GitRepo>),
    /// A Cluster.
    Cluster(Box<Cluster>),
    /// A ClusterGroup.
    ClusterGroup(Box<ClusterGroup>),
    /// A Content.
    Content(Box<Content>),
    /// A BundleNamespaceMapping.
    BundleNamespaceMapping(Box<BundleNamespaceMapping>),
    /// A GitRepoRestriction.
    GitRepoRestriction(Box<GitRepoRestriction>),
    /// A ClusterRegistrationToken.
    ClusterRegistrationToken(Box<ClusterRegistrationToken>),
    /// A ClusterRegistration.
    ClusterRegistration(Box<ClusterRegistration>),
    /// A HelmOp.
    HelmOp(Box<HelmOp>),
    /// An ImageScan.
    ImageScan(Box<ImageScan>),
    /// A Schedule.
    Schedule(Box<Schedule>),
    /// A Policy.
    Policy(Box<Policy>),
}

/// Why a value is not a Fleet object this crate models.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// `apiVersion` is not `fleet.cattle.io/v1alpha1`.
    #[error("apiVersion {0:?} is not {API_VERSION}")]
    NotFleet(String),
    /// The kind is not one of the modelled Fleet kinds.
    #[error("kind {0:?} of {API_VERSION} is not supported")]
    UnsupportedKind(String),
    /// The object does not fit the type of its kind.
    #[error("invalid {kind}: {source}")]
    Invalid {
        /// The kind.
        kind: String,
        /// The decoding error, with the JSON field where serde knows it.
        source: serde_json::Error,
    },
}

impl FleetObject {
    /// Decodes a Fleet object from a JSON value, dispatching on `apiVersion` and `kind`.
    pub fn from_value(value: serde_json::Value) -> Result<Self, ObjectError> {
        let api_version = value
            .get("apiVersion")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string();
        if api_version != API_VERSION {
            return Err(ObjectError::NotFleet(api_version));
        }
        let kind = value
            .get("kind")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string();
        fn decode<T: serde::de::DeserializeOwned>(
            kind: &str,
            value: serde_json::Value,
        ) -> Result<Box<T>, ObjectError> {
            serde_json::from_value(value)
                .map(Box::new)
                .map_err(|source| ObjectError::Invalid {
                    kind: kind.to_string(),
                    source,
                })
        }
        Ok(match kind.as_str() {
            "Bundle" => FleetObject::Bundle(decode(&kind, value)?),
            "BundleDeployment" => FleetObject::BundleDeployment(decode(&kind, value)?),
            "GitRepo" => FleetObject::GitRepo(decode(&kind, value)?),
            "Cluster" => FleetObject::Cluster(decode(&kind, value)?),
            "ClusterGroup" => FleetObject::ClusterGroup(decode(&kind, value)?),
            "Content" => FleetObject::Content(decode(&kind, value)?),
            "BundleNamespaceMapping" => FleetObject::BundleNamespaceMapping(decode(&kind, value)?),
            "GitRepoRestriction" => FleetObject::GitRepoRestriction(decode(&kind, value)?),
            "ClusterRegistrationToken" => {
                FleetObject::ClusterRegistrationToken(decode(&kind, value)?)
            }
            "ClusterRegistration" => FleetObject::ClusterRegistration(decode(&kind, value)?),
            "HelmOp" => FleetObject::HelmOp(decode(&kind, value)?),
            "ImageScan" => FleetObject::ImageScan(decode(&kind, value)?),
            "Schedule" => FleetObject::Schedule(decode(&kind, value)?),
            "Policy" => FleetObject::Policy(decode(&kind, value)?),
            _ => return Err(ObjectError::UnsupportedKind(kind)),
        })
    }

    /// Encodes the object back to a JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        let result = match self {
            FleetObject::Bundle(object) => serde_json::to_value(object),
            FleetObject::BundleDeployment(object) => serde_json::to_value(object),
            FleetObject::GitRepo(object) => serde_json::to_value(object),
            FleetObject::Cluster(object) => serde_json::to_value(object),
            FleetObject::ClusterGroup(object) => serde_json::to_value(object),
            FleetObject::Content(object) => serde_json::to_value(object),
            FleetObject::BundleNamespaceMapping(object) => serde_json::to_value(object),
            FleetObject::GitRepoRestriction(object) => serde_json::to_value(object),
            FleetObject::ClusterRegistrationToken(object) => serde_json::to_value(object),
            FleetObject::ClusterRegistration(object) => serde_json::to_value(object),
            FleetObject::HelmOp(object) => serde_json::to_value(object),
            FleetObject::ImageScan(object) => serde_json::to_value(object),
            FleetObject::Schedule(object) => serde_json::to_value(object),
            FleetObject::Policy(object) => serde_json::to_value(object),
        };
        // These types only hold strings, numbers, booleans and JSON values with string keys,
        // for which serde_json's encoder cannot fail.
        result.unwrap_or(serde_json::Value::Null)
    }
}
