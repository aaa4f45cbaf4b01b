//! What the drift diff needs to know about a kind: is it a built-in Kubernetes kind (strategic
//! merge semantics) or not (JSON merge semantics), is it namespaced, and how is each list
//! merged.
//!
//! The list answers come from the merge-key table of [`fleet_smp::schema`] (generated from the
//! Kubernetes OpenAPI definitions, shared with the kustomize build) through
//! [`MergeSchema::schema`], read by [`fleet_smp`]: a list merges by key when its field has
//! patch strategy `merge` and a `patchMergeKey`, as `strategicpatch` reads the struct tags in
//! Fleet.

use fleet_smp::schema::Schema;

/// Per-kind facts the drift diff needs.
pub trait MergeSchema: Send + Sync {
    /// Whether objects of this kind are compared with strategic merge semantics (a kind of the
    /// Kubernetes API), as opposed to JSON merge semantics (custom resources).
    fn is_builtin(&self, api_version: &str, kind: &str) -> bool;

    /// Whether the kind is namespaced; `None` when unknown.
    fn is_namespaced(&self, api_version: &str, kind: &str) -> Option<bool>;

    /// The merge-key table of the built-in kinds (strategic merge patch), shared with the
    /// kustomize build.
    fn schema(&self) -> &Schema;
}

/// The group of an `apiVersion` (`""` for the core group).
pub fn group_of(api_version: &str) -> &str {
    fleet_core::meta::split_api_version(api_version).0
}

/// API groups whose kinds are compiled into client-go's scheme, so Fleet diffs them with
/// strategic merge semantics (`scheme.Scheme.New(gvk)` succeeds). Everything else, including
/// `apiextensions.k8s.io` and custom resources, is diffed with JSON merge semantics.
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "extensions",
    "rbac.authorization.k8s.io",
    "networking.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "resource.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "apiserverinternal.k8s.io",
    "storagemigration.k8s.io",
];

/// [`MergeSchema`] over a [`fleet_smp::schema::Schema`] (the built-in table, possibly extended
/// with CustomResourceDefinitions for their scope).
#[derive(Clone, Copy, Debug)]
pub struct KubeSchema<'a>(pub &'a Schema);

impl MergeSchema for KubeSchema<'_> {
    fn is_builtin(&self, api_version: &str, _kind: &str) -> bool {
        BUILTIN_GROUPS.contains(&group_of(api_version))
    }

    fn is_namespaced(&self, api_version: &str, kind: &str) -> Option<bool> {
        self.0.is_namespaced(group_of(api_version), kind)
    }

    fn schema(&self) -> &Schema {
        self.0
    }
}

/// The built-in Kubernetes schema ([`fleet_smp::schema::Schema::builtin`]) as a [`MergeSchema`].
#[derive(Clone, Copy, Debug, Default)]
pub struct BuiltinSchema;

impl MergeSchema for BuiltinSchema {
    fn is_builtin(&self, api_version: &str, kind: &str) -> bool {
        KubeSchema(Schema::builtin()).is_builtin(api_version, kind)
    }

    fn is_namespaced(&self, api_version: &str, kind: &str) -> Option<bool> {
        KubeSchema(Schema::builtin()).is_namespaced(api_version, kind)
    }

    fn schema(&self) -> &Schema {
        Schema::builtin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_and_builtin() {
        let s = BuiltinSchema;
        assert_eq!(s.is_namespaced("v1", "Namespace"), Some(false));
        assert_eq!(s.is_namespaced("apps/v1", "Deployment"), Some(true));
        assert_eq!(s.is_namespaced("example.com/v1", "Widget"), None);
        assert!(s.is_builtin("v1", "ConfigMap"));
        assert!(!s.is_builtin("apiextensions.k8s.io/v1", "CustomResourceDefinition"));
    }
}
