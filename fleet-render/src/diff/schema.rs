//! What the drift diff needs to know about a kind: is it a built-in Kubernetes kind (strategic
//! merge semantics) or not (JSON merge semantics), is it namespaced, and how is each list
//! merged.
//!
//! The diff asks these questions through [`MergeSchema`], one call per list it meets. The
//! [`BuiltinSchema`] table answers them for the Kubernetes kinds a bundle usually carries; the
//! answers for a list are the `patchStrategy` / `patchMergeKey` tags of the Kubernetes API
//! types (`k8s.io/api`), which is what `strategicpatch.NewPatchMetaFromStruct` reads in Fleet.

/// How a list merges under strategic merge patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType {
    /// Replaced as a whole (no `patchStrategy`): equal or different, item by item.
    Atomic,
    /// A list of objects merged item by item on a key (`patchStrategy: merge`,
    /// `patchMergeKey: <key>`).
    Map(&'static str),
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
    fn list_type(&self, api_version: &str, kind: &str, path: &[&str]) -> ListType;
}

/// The group of an `apiVersion` (`""` for the core group).
pub fn group_of(api_version: &str) -> &str {
    match api_version.split_once('/') {
        Some((group, _)) => group,
        None => "",
    }
}

/// API groups whose kinds are compiled into client-go's scheme, so Fleet diffs them with
/// strategic merge semantics.
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
];

/// Cluster-scoped kinds of the Kubernetes API.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("networking.k8s.io", "IngressClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("apiregistration.k8s.io", "APIService"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("policy", "PodSecurityPolicy"),
];

/// A built-in table of the Kubernetes kinds and list merge keys.
///
/// Covers the lists a workload bundle carries (containers, ports, env, volumes, mounts,
/// tolerations, finalizers, owner references, webhooks, …). A list it does not know is atomic.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuiltinSchema;

impl MergeSchema for BuiltinSchema {
    fn is_builtin(&self, api_version: &str, _kind: &str) -> bool {
        BUILTIN_GROUPS.contains(&group_of(api_version))
    }

    fn is_namespaced(&self, api_version: &str, kind: &str) -> Option<bool> {
        let group = group_of(api_version);
        if CLUSTER_SCOPED.contains(&(group, kind)) {
            return Some(false);
        }
        if BUILTIN_GROUPS.contains(&group) {
            return Some(true);
        }
        None
    }

    fn list_type(&self, _api_version: &str, kind: &str, path: &[&str]) -> ListType {
        let Some((&last, parents)) = path.split_last() else {
            return ListType::Atomic;
        };
        let parent = parents.last().copied().unwrap_or("");
        match last {
            "containers" | "initContainers" | "ephemeralContainers" => ListType::Map("name"),
            "env" | "imagePullSecrets" | "resourceClaims" | "schedulingGates" => {
                ListType::Map("name")
            }
            "volumes" => ListType::Map("name"),
            "volumeMounts" => ListType::Map("mountPath"),
            "volumeDevices" => ListType::Map("devicePath"),
            "hostAliases" => ListType::Map("ip"),
            "topologySpreadConstraints" => ListType::Map("topologyKey"),
            "ownerReferences" if parent == "metadata" => ListType::Map("uid"),
            "finalizers" if parent == "metadata" => ListType::Set,
            "conditions" => ListType::Map("type"),
            "ports" => {
                let in_container = parents
                    .iter()
                    .any(|p| matches!(*p, "containers" | "initContainers" | "ephemeralContainers"));
                if in_container {
                    ListType::Map("containerPort")
                } else if kind == "Service" && parent == "spec" {
                    ListType::Map("port")
                } else {
                    ListType::Atomic
                }
            }
            "secrets" if kind == "ServiceAccount" => ListType::Map("name"),
            "webhooks"
                if matches!(
                    kind,
                    "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration"
                ) =>
            {
                ListType::Map("name")
            }
            _ => ListType::Atomic,
        }
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
