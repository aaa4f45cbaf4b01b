//! Fleet objects instantiated with k8s-openapi's `ObjectMeta`, for kube-rs (feature `kube`).
//!
//! Each alias implements `kube_core::Resource` (group `fleet.cattle.io`, version
//! `v1alpha1`), so `kube::Api<fleet_core::crd::kube_types::Bundle>` can list, watch and
//! patch Fleet objects. Convert between the two metadata types with [`to_kube_meta`] and
//! [`from_kube_meta`].

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta as KubeObjectMeta;

use crate::meta::ObjectMeta;

/// A Bundle with k8s-openapi metadata.
pub type Bundle = super::Bundle<KubeObjectMeta>;
/// A BundleDeployment with k8s-openapi metadata.
pub type BundleDeployment = super::BundleDeployment<KubeObjectMeta>;
/// A GitRepo with k8s-openapi metadata.
pub type GitRepo = super::GitRepo<KubeObjectMeta>;
/// A Cluster with k8s-openapi metadata.
pub type Cluster = super::Cluster<KubeObjectMeta>;
/// A ClusterGroup with k8s-openapi metadata.
pub type ClusterGroup = super::ClusterGroup<KubeObjectMeta>;
/// A Content with k8s-openapi metadata.
pub type Content = super::Content<KubeObjectMeta>;
/// A BundleNamespaceMapping with k8s-openapi metadata.
pub type BundleNamespaceMapping = super::BundleNamespaceMapping<KubeObjectMeta>;
/// A GitRepoRestriction with k8s-openapi metadata.
pub type GitRepoRestriction = super::GitRepoRestriction<KubeObjectMeta>;
/// A ClusterRegistrationToken with k8s-openapi metadata.
pub type ClusterRegistrationToken = super::ClusterRegistrationToken<KubeObjectMeta>;
/// A ClusterRegistration with k8s-openapi metadata.
pub type ClusterRegistration = super::ClusterRegistration<KubeObjectMeta>;

/// A HelmOp with k8s-openapi metadata.
pub type HelmOp = super::HelmOp<KubeObjectMeta>;
/// An ImageScan with k8s-openapi metadata.
pub type ImageScan = super::ImageScan<KubeObjectMeta>;
/// A Schedule with k8s-openapi metadata.
pub type Schedule = super::Schedule<KubeObjectMeta>;
/// A Policy with k8s-openapi metadata.
pub type Policy = super::Policy<KubeObjectMeta>;

/// Converts this crate's metadata to k8s-openapi's (fields k8s-openapi does not know are
/// dropped).
pub fn to_kube_meta(meta: &ObjectMeta) -> Result<KubeObjectMeta, serde_json::Error> {
    serde_json::from_value(serde_json::to_value(meta)?)
}

/// Converts k8s-openapi's metadata to this crate's.
pub fn from_kube_meta(meta: &KubeObjectMeta) -> Result<ObjectMeta, serde_json::Error> {
    serde_json::from_value(serde_json::to_value(meta)?)
}
