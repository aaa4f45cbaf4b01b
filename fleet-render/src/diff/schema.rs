//! What the drift diff needs to know about a kind: is it a built-in Kubernetes kind (strategic
//! merge semantics) or not (JSON merge semantics), is it namespaced, and how is each list
//! merged.
//!
//! The diff asks these questions through [`MergeSchema`], one call per list it meets. The
//! answers come from the merge-key table of [`crate::schema`] (generated from the Kubernetes
//! OpenAPI definitions, shared with the kustomize build): a list merges by key when its field
//! has patch strategy `merge` and a `patchMergeKey`, as `strategicpatch` reads the struct tags
//! in Fleet.

use crate::schema::{Gvk, Schema};

/// How a list merges under strategic merge patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType<'s> {
    /// Replaced as a whole (no `patchStrategy: merge`).
    Atomic,
    /// A list of objects merged item by item on a key (`patchStrategy: merge`,
    /// `patchMergeKey: <key>`).
    Map(&'s str),
    /// A list of scalars merged as a set (`patchStrategy: merge`, no key), like
    /// `metadata.finalizers`.
    Set,
}

/// Per-kind facts the drift diff needs.
pub trait MergeSchema: Send + Sync {
    /// Whether objects of this kind are compared with strategic merge semantics (a kind of the
    /// Kubernetes API), as opposed to JSON merge semantics (custom resources).
    fn is_builtin(&self, api_version: &str, kind: &str) -> bool;

    /// Whether the kind is namespaced; `None` when unknown.
    fn is_namespaced(&self, api_version: &str, kind: &str) -> Option<bool>;

    /// How the list found at `path` (field names from the object root, list positions left
    /// out) merges.
    fn list_type(&self, api_version: &str, kind: &str, path: &[&str]) -> ListType<'_>;
}

/// The group of an `apiVersion` (`""` for the core group).
pub fn group_of(api_version: &str) -> &str {
    match api_version.split_once('/') {
        Some((group, _)) => group,
        None => "",
    }
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

/// [`MergeSchema`] over a [`crate::schema::Schema`] (the built-in table, possibly extended
/// with CustomResourceDefinitions for their scope).
#[derive(Clone, Copy, Debug)]
pub struct KubeSchema<'a>(pub &'a Schema);

impl<'a> KubeSchema<'a> {
    /// [`MergeSchema::list_type`] with the lifetime of the schema.
    pub fn lookup(&self, api_version: &str, kind: &str, path: &[&str]) -> ListType<'a> {
        let schema: &'a Schema = self.0;
        let gvk = Gvk::from_api_version(api_version, kind);
        let Some(field) = schema.field(&gvk, path) else {
            return ListType::Atomic;
        };
        if !field.strategy.merge {
            return ListType::Atomic;
        }
        match field.patch_merge_key.as_deref() {
            Some(key) => ListType::Map(key),
            None => ListType::Set,
        }
    }
}

impl MergeSchema for KubeSchema<'_> {
    fn is_builtin(&self, api_version: &str, _kind: &str) -> bool {
        BUILTIN_GROUPS.contains(&group_of(api_version))
    }

    fn is_namespaced(&self, api_version: &str, kind: &str) -> Option<bool> {
        self.0.is_namespaced(group_of(api_version), kind)
    }

    fn list_type(&self, api_version: &str, kind: &str, path: &[&str]) -> ListType<'_> {
        self.lookup(api_version, kind, path)
    }
}

/// The built-in Kubernetes schema ([`crate::schema::Schema::builtin`]) as a [`MergeSchema`].
#[derive(Clone, Copy, Debug, Default)]
pub struct BuiltinSchema;

impl MergeSchema for BuiltinSchema {
    fn is_builtin(&self, api_version: &str, kind: &str) -> bool {
        KubeSchema(Schema::builtin()).is_builtin(api_version, kind)
    }

    fn is_namespaced(&self, api_version: &str, kind: &str) -> Option<bool> {
        KubeSchema(Schema::builtin()).is_namespaced(api_version, kind)
    }

    fn list_type(&self, api_version: &str, kind: &str, path: &[&str]) -> ListType<'_> {
        KubeSchema(Schema::builtin()).lookup(api_version, kind, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ports_and_service_ports_have_different_keys() {
        let s = BuiltinSchema;
        assert_eq!(
            s.list_type(
                "apps/v1",
                "Deployment",
                &["spec", "template", "spec", "containers", "ports"]
            ),
            ListType::Map("containerPort")
        );
        assert_eq!(
            s.list_type("v1", "Service", &["spec", "ports"]),
            ListType::Map("port")
        );
        assert_eq!(
            s.list_type("v1", "Pod", &["spec", "tolerations"]),
            ListType::Atomic
        );
        assert_eq!(
            s.list_type("v1", "Pod", &["metadata", "finalizers"]),
            ListType::Set
        );
    }

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
