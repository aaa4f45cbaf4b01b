//! Output order: kustomize's legacy kind order, or `sortOptions`.

use serde_json::Value;

use super::Error;
use super::res::Res;

const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

fn or_tilde<'a>(s: &'a str, t: &'a str) -> &'a str {
    if s.is_empty() { t } else { s }
}

fn gvk_string(r: &Res) -> String {
    format!(
        "{}_{}_{}",
        or_tilde(r.group(), "~G"),
        or_tilde(r.version(), "~V"),
        or_tilde(r.kind(), "~K")
    )
}

fn legacy_string(r: &Res) -> String {
    format!(
        "{}.{}.{}|{}|{}",
        r.kind(),
        r.version(),
        or_tilde(r.group(), "[noGrp]"),
        or_tilde(r.namespace(), "~X"),
        r.name()
    )
}

fn rank(kind: &str, first: &[String], last: &[String]) -> usize {
    if let Some(i) = first.iter().position(|k| k == kind) {
        return i;
    }
    if let Some(i) = last.iter().position(|k| k == kind) {
        return first.len() + 1 + i;
    }
    first.len()
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    })
}

/// Sorts the final resources as `kubectl kustomize` prints them.
pub(super) fn sort(
    resources: &mut [Res],
    options: &Option<Value>,
    file: &str,
) -> Result<(), Error> {
    let mut first: Vec<String> = ORDER_FIRST.iter().map(|s| s.to_string()).collect();
    let mut last: Vec<String> = ORDER_LAST.iter().map(|s| s.to_string()).collect();
    if let Some(opts) = options {
        match opts.get("order").and_then(Value::as_str).unwrap_or("") {
            "fifo" => {
                if opts.get("legacySortOptions").is_some_and(|v| !v.is_null()) {
                    return Err(Error::Invalid {
                        file: file.to_string(),
                        message: "legacySortOptions cannot be set when sortOptions.order is fifo"
                            .into(),
                    });
                }
                return Ok(());
            }
            "legacy" => {
                if let Some(legacy) = opts.get("legacySortOptions").filter(|v| !v.is_null()) {
                    first = strings(legacy.get("orderFirst")).unwrap_or_default();
                    last = strings(legacy.get("orderLast")).unwrap_or_default();
                }
            }
            other => {
                return Err(Error::Invalid {
                    file: file.to_string(),
                    message: format!(
                        "the field sortOptions.order must be one of [legacy, fifo], found {other:?}"
                    ),
                });
            }
        }
    }
    resources.sort_by(|a, b| {
        let (ra, rb) = (rank(a.kind(), &first, &last), rank(b.kind(), &first, &last));
        let same_gvk = a.group() == b.group() && a.version() == b.version() && a.kind() == b.kind();
        if !same_gvk {
            if ra != rb {
                return ra.cmp(&rb);
            }
            return gvk_string(a).cmp(&gvk_string(b));
        }
        legacy_string(a).cmp(&legacy_string(b))
    });
    Ok(())
}
