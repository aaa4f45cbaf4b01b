//! Helm's install order of kinds (`releaseutil.InstallOrder`) and the `helm template` stream.
//!
//! Manifests are sorted stably by the position of their kind in the list (unknown kinds go
//! last, ordered by kind name), hooks follow the manifests, and each document is written
//! under a `# Source: <template>` header.

/// Kinds in the order Helm installs them.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// One rendered manifest document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The template it came from (`<chart>/templates/...`).
    pub source: String,
    /// Its `kind` (empty when it has none).
    pub kind: String,
    /// The document text, without a leading `---`.
    pub content: String,
    /// Whether it carries a `helm.sh/hook` annotation.
    pub hook: bool,
}

/// The position of `kind` in [`INSTALL_ORDER`]; every unknown kind gets `INSTALL_ORDER.len()`
/// (callers order those by kind name).
pub fn install_rank(kind: &str) -> usize {
    INSTALL_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(INSTALL_ORDER.len())
}

/// Sorts manifests into Helm's install order (stable within a kind; unknown kinds by name).
pub fn sort_for_install(manifests: &mut [Manifest]) {
    manifests.sort_by(|a, b| {
        let (ra, rb) = (install_rank(&a.kind), install_rank(&b.kind));
        ra.cmp(&rb).then_with(|| {
            if ra == INSTALL_ORDER.len() {
                a.kind.cmp(&b.kind)
            } else {
                std::cmp::Ordering::Equal
            }
        })
    });
}

/// Splits a rendered template into documents the way Helm does: at `---` starting a line
/// (anything after it on that line is dropped), leaving out empty or blank documents.
pub fn split_documents(text: &str) -> Vec<String> {
    let mut docs = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with("---") {
            docs.push(std::mem::take(&mut current));
            continue;
        }
        current.push_str(line);
    }
    docs.push(current);
    docs.into_iter()
        .filter(|d| !d.trim().is_empty())
        .map(|d| d.trim().to_string())
        .collect()
}

/// Writes the `helm template` stream: manifests in install order, then hooks in their order.
pub fn write_stream(mut manifests: Vec<Manifest>) -> String {
    let (mut hooks, mut plain): (Vec<Manifest>, Vec<Manifest>) =
        manifests.drain(..).partition(|m| m.hook);
    sort_for_install(&mut plain);
    sort_for_install(&mut hooks);
    let mut out = String::new();
    for manifest in plain.iter().chain(hooks.iter()) {
        out.push_str("---\n# Source: ");
        out.push_str(&manifest.source);
        out.push('\n');
        out.push_str(&manifest.content);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(kind: &str, hook: bool) -> Manifest {
        Manifest {
            source: format!("c/templates/{kind}.yaml"),
            kind: kind.to_string(),
            content: format!("kind: {kind}"),
            hook,
        }
    }

    #[test]
    fn kinds_sort_in_install_order_and_hooks_go_last() {
        let stream = write_stream(vec![
            manifest("Deployment", false),
            manifest("Job", true),
            manifest("Zeta", false),
            manifest("Alpha", false),
            manifest("Service", false),
            manifest("Namespace", false),
        ]);
        let kinds: Vec<&str> = stream
            .lines()
            .filter_map(|l| l.strip_prefix("kind: "))
            .collect();
        assert_eq!(
            kinds,
            ["Namespace", "Service", "Deployment", "Alpha", "Zeta", "Job"]
        );
        assert!(stream.starts_with("---\n# Source: c/templates/Namespace.yaml\nkind: Namespace\n"));
    }

    #[test]
    fn documents_split_at_line_start_markers() {
        let docs = split_documents("\n---\na: 1\n--- # c\nb: 2\n---\n\n");
        assert_eq!(docs, ["a: 1", "b: 2"]);
    }
}
