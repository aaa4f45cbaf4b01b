//! Name references: after prefixes, suffixes and hashes rename objects, fields that refer to
//! them by name are rewritten (kustomize's `nameReference` field specs, the common ones).

use serde_json::Value;

use super::res::{Res, ns_eq, visit_path};
use super::transform::FieldSpec;
use fleet_smp::schema::Schema;

/// A renamed object others may refer to.
struct Target {
    group: String,
    kind: String,
    name: String,
    names: Vec<String>,
    namespace: String,
    namespaced: bool,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    /// Names of the ids in the object's history (kustomize's `PrevIds`).
    id_names: Vec<String>,
    /// The namespace before any transformer (kustomize's `OrgId`).
    original_namespace: String,
}

impl Target {
    /// kustomize's `EffectiveNamespace`: `default` for an empty namespace, nothing for
    /// cluster-scoped kinds.
    fn effective(&self, ns: &str) -> Option<String> {
        if !self.namespaced {
            None
        } else if ns.is_empty() {
            Some("default".into())
        } else {
            Some(ns.to_string())
        }
    }
}

const POD_SPECS: &[(&str, &str)] = &[
    ("Pod", "spec"),
    ("Deployment", "spec/template/spec"),
    ("ReplicaSet", "spec/template/spec"),
    ("DaemonSet", "spec/template/spec"),
    ("StatefulSet", "spec/template/spec"),
    ("Job", "spec/template/spec"),
    ("ReplicationController", "spec/template/spec"),
    ("CronJob", "spec/jobTemplate/spec/template/spec"),
];

const CONTAINERS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// `(referral group, referral kind)` → list of `(referrer kind or "", path)`; a path of a
/// pod-spec entry starts with `@pod/`.
/// Referrer specs of one referral kind.
type Specs = Vec<(&'static str, String)>;

fn table() -> Vec<((&'static str, &'static str), Specs)> {
    let mut cm = vec![
        ("Role", "rules/resourceNames".to_string()),
        ("ClusterRole", "rules/resourceNames".to_string()),
        ("@pod", "volumes/configMap/name".to_string()),
        (
            "@pod",
            "volumes/projected/sources/configMap/name".to_string(),
        ),
    ];
    let mut secret = vec![
        ("@pod", "volumes/secret/secretName".to_string()),
        ("@pod", "volumes/projected/sources/secret/name".to_string()),
        ("@pod", "imagePullSecrets/name".to_string()),
        ("@pod", "volumes/csi/nodePublishSecretRef/name".to_string()),
        ("ServiceAccount", "imagePullSecrets/name".to_string()),
        ("ServiceAccount", "secrets/name".to_string()),
        ("Ingress", "spec/tls/secretName".to_string()),
        ("Role", "rules/resourceNames".to_string()),
        ("ClusterRole", "rules/resourceNames".to_string()),
    ];
    for c in CONTAINERS {
        cm.push(("@pod", format!("{c}/env/valueFrom/configMapKeyRef/name")));
        cm.push(("@pod", format!("{c}/envFrom/configMapRef/name")));
        secret.push(("@pod", format!("{c}/env/valueFrom/secretKeyRef/name")));
        secret.push(("@pod", format!("{c}/envFrom/secretRef/name")));
    }
    vec![
        (("", "ConfigMap"), cm),
        (("", "Secret"), secret),
        (
            ("", "ServiceAccount"),
            vec![
                ("@pod", "serviceAccountName".to_string()),
                ("@pod", "serviceAccount".to_string()),
            ],
        ),
        (
            ("", "PersistentVolumeClaim"),
            vec![(
                "@pod",
                "volumes/persistentVolumeClaim/claimName".to_string(),
            )],
        ),
        (
            ("", "Service"),
            vec![
                ("StatefulSet", "spec/serviceName".to_string()),
                (
                    "Ingress",
                    "spec/rules/http/paths/backend/service/name".to_string(),
                ),
                (
                    "Ingress",
                    "spec/rules/http/paths/backend/serviceName".to_string(),
                ),
                ("Ingress", "spec/defaultBackend/service/name".to_string()),
                ("Ingress", "spec/backend/serviceName".to_string()),
                ("APIService", "spec/service/name".to_string()),
            ],
        ),
        (
            ("scheduling.k8s.io", "PriorityClass"),
            vec![("@pod", "priorityClassName".to_string())],
        ),
        (
            ("storage.k8s.io", "StorageClass"),
            vec![
                ("PersistentVolumeClaim", "spec/storageClassName".to_string()),
                ("PersistentVolume", "spec/storageClassName".to_string()),
                (
                    "StatefulSet",
                    "spec/volumeClaimTemplates/spec/storageClassName".to_string(),
                ),
            ],
        ),
        (
            ("", "PersistentVolume"),
            vec![("PersistentVolumeClaim", "spec/volumeName".to_string())],
        ),
        (
            ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
            vec![(
                "ValidatingAdmissionPolicyBinding",
                "spec/policyName".to_string(),
            )],
        ),
    ]
}

/// Whether the shorter list is the tail of the longer one.
fn same_ending(a: &[String], b: &[String]) -> bool {
    let n = a.len().min(b.len());
    a[a.len() - n..] == b[b.len() - n..]
}

/// The referrer's view needed to choose among candidates.
#[derive(Clone, Copy)]
struct Referrer<'a> {
    namespace: Option<&'a str>,
    prefixes: &'a [String],
    suffixes: &'a [String],
    id: &'a str,
}

/// Chooses the object a reference by `name` points to, the way kustomize's name reference
/// filter sieves candidates: by name history, then by shared name prefixes and suffixes,
/// then by namespace. Several different candidates left is an error.
fn pick<'a>(
    targets: &[&'a Target],
    name: &str,
    who: Referrer<'_>,
) -> Result<Option<&'a Target>, String> {
    let by_name: Vec<&'a Target> = targets
        .iter()
        .copied()
        .filter(|t| t.name == name || t.names.iter().any(|n| n == name))
        .collect();
    // Same prefixes and suffixes as the referrer first; failing that, allow either side to
    // have none.
    let strict: Vec<&'a Target> = by_name
        .iter()
        .copied()
        .filter(|t| t.prefixes == who.prefixes && t.suffixes == who.suffixes)
        .collect();
    let by_affix: Vec<&'a Target> = if strict.is_empty() {
        by_name
            .into_iter()
            .filter(|t| {
                (t.prefixes.is_empty()
                    || who.prefixes.is_empty()
                    || same_ending(&t.prefixes, who.prefixes))
                    && (t.suffixes.is_empty()
                        || who.suffixes.is_empty()
                        || same_ending(&t.suffixes, who.suffixes))
            })
            .collect()
    } else {
        strict
    };
    if by_affix.len() <= 1 {
        return Ok(by_affix.first().copied());
    }
    let by_ns: Vec<&'a Target> = match who.namespace {
        Some(ns) => by_affix
            .into_iter()
            .filter(|t| !t.namespaced || ns_eq(&t.namespace, ns))
            .collect(),
        None => by_affix,
    };
    let Some(first) = by_ns.first().copied() else {
        return Ok(None);
    };
    if by_ns.iter().all(|t| t.name == first.name) {
        return Ok(Some(first));
    }
    Err(format!(
        "found multiple possible referrals for '{name}' in {}: {}",
        who.id,
        by_ns
            .iter()
            .map(|t| format!("{}/{} in namespace '{}'", t.kind, t.name, t.namespace))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

fn rewrite(v: &mut Value, candidates: &[&Target], who: Referrer<'_>, errors: &mut Vec<String>) {
    if let Value::String(s) = v {
        match pick(candidates, s, who) {
            Ok(Some(t)) => *s = t.name.clone(),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
}

/// Rewrites `<field>: {name: ...}` anywhere in a custom object.
fn rewrite_crd_refs(
    v: &mut Value,
    field: &str,
    candidates: &[&Target],
    who: Referrer<'_>,
    errors: &mut Vec<String>,
) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                if k == field
                    && let Some(name) = child.get_mut("name")
                {
                    rewrite(name, candidates, who, errors);
                } else {
                    rewrite_crd_refs(child, field, candidates, who, errors);
                }
            }
        }
        Value::Array(a) => a
            .iter_mut()
            .for_each(|x| rewrite_crd_refs(x, field, candidates, who, errors)),
        _ => {}
    }
}

/// The objects a binding may refer to (kustomize's `SubsetThatCouldBeReferencedByResource`):
/// everything for a cluster-scoped binding; else cluster-scoped objects, objects in the
/// binding's namespace, and — for a RoleBinding — objects in a namespace one of its
/// `ServiceAccount` subjects names.
fn binding_candidates<'a>(
    obj: &Value,
    kind: &str,
    targets: &'a [Target],
    referrer_namespace: Option<&str>,
) -> Vec<&'a Target> {
    let Some(own) = referrer_namespace else {
        return targets.iter().collect();
    };
    let subject_namespaces: Vec<&str> = if kind == "RoleBinding" {
        obj.get("subjects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|s| s.get("kind").and_then(Value::as_str) == Some("ServiceAccount"))
            .filter_map(|s| s.get("namespace").and_then(Value::as_str))
            .collect()
    } else {
        Vec::new()
    };
    targets
        .iter()
        .filter(|t| {
            !t.namespaced
                || ns_eq(&t.namespace, own)
                || subject_namespaces.contains(&t.namespace.as_str())
        })
        .collect()
}

/// Rewrites the `subjects` of a RoleBinding or ClusterRoleBinding that refer to
/// ServiceAccounts, as kustomize's name reference filter does for a map field
/// (`setMapping`): every subject with a `name` is looked up among the ServiceAccounts whose
/// id history holds that name — whatever the subject's `kind` —, narrowed to the subject's
/// `namespace` when it has one (objects whose *original* namespace is that, else objects
/// currently there). The subject then takes the ServiceAccount's current name and, when it
/// has one, its namespace.
fn fix_subjects(
    obj: &mut Value,
    kind: &str,
    targets: &[Target],
    who: Referrer<'_>,
) -> Result<(), String> {
    let candidates = binding_candidates(obj, kind, targets, who.namespace);
    let Some(Value::Array(subjects)) = obj.get_mut("subjects") else {
        return Ok(());
    };
    for subject in subjects {
        let Value::Object(m) = subject else { continue };
        set_map_reference(m, &candidates, ("", "ServiceAccount"), who)?;
    }
    Ok(())
}

/// A reference held in a map with `name` and maybe `namespace` (kustomize's name reference
/// `setMapping`): the referral is looked up among `candidates` of kind `referral`, narrowed to
/// the map's `namespace` when it has one (objects whose *original* namespace is that, else
/// objects currently there), matched on the names in their id history, then sieved by name
/// prefixes and suffixes. The map then takes the referral's current name and, when it has
/// one, its namespace.
fn set_map_reference(
    m: &mut serde_json::Map<String, Value>,
    candidates: &[&Target],
    referral: (&str, &str),
    who: Referrer<'_>,
) -> Result<(), String> {
    let Some(name) = m.get("name").map(super::scalar_string) else {
        return Ok(());
    };
    let in_namespace: Vec<&Target> = match m.get("namespace") {
        None => candidates.to_vec(),
        Some(ns) => {
            let ns = super::scalar_string(ns);
            let by_original: Vec<&Target> = candidates
                .iter()
                .copied()
                .filter(|t| t.effective(&t.original_namespace).as_deref() == Some(&ns))
                .collect();
            if by_original.is_empty() {
                candidates
                    .iter()
                    .copied()
                    .filter(|t| t.effective(&t.namespace).as_deref() == Some(&ns))
                    .collect()
            } else {
                by_original
            }
        }
    };
    let sieved: Vec<&Target> = in_namespace
        .into_iter()
        .filter(|t| t.id_names.contains(&name))
        .filter(|t| t.group == referral.0 && t.kind == referral.1)
        .collect();
    let Some(picked) = select_by_affixes(sieved, who, &name)? else {
        return Ok(());
    };
    if picked.name == name && picked.namespace.is_empty() {
        return Ok(());
    }
    m.insert("name".into(), Value::String(picked.name.clone()));
    if !picked.namespace.is_empty() {
        m.insert("namespace".into(), Value::String(picked.namespace.clone()));
    }
    Ok(())
}

/// The last steps of kustomize's `selectReferral`: one candidate is the answer; else those
/// whose name prefixes and suffixes agree with the referrer's (either side may have none),
/// then, if several remain, those that agree exactly. Several left that differ in name or
/// namespace is an error.
fn select_by_affixes<'a>(
    candidates: Vec<&'a Target>,
    who: Referrer<'_>,
    name: &str,
) -> Result<Option<&'a Target>, String> {
    if candidates.len() == 1 {
        return Ok(candidates.first().copied());
    }
    let loose = |t: &&Target| {
        (t.prefixes.is_empty() || who.prefixes.is_empty() || same_ending(&t.prefixes, who.prefixes))
            && (t.suffixes.is_empty()
                || who.suffixes.is_empty()
                || same_ending(&t.suffixes, who.suffixes))
    };
    // kustomize's `SameEndingSubSlice`: an empty list ends like an empty list only.
    let ends_alike = |a: &[String], b: &[String]| a.is_empty() == b.is_empty() && same_ending(a, b);
    let strict = |t: &&Target| {
        ends_alike(&t.prefixes, who.prefixes) && ends_alike(&t.suffixes, who.suffixes)
    };
    let mut left: Vec<&Target> = candidates.into_iter().filter(loose).collect();
    if left.len() > 1 {
        left.retain(strict);
    }
    let Some(first) = left.first().copied() else {
        return Ok(None);
    };
    if left
        .iter()
        .all(|t| t.name == first.name && t.namespace == first.namespace)
    {
        return Ok(Some(first));
    }
    Err(format!(
        "found multiple possible referrals for '{name}' in {}: {}",
        who.id,
        left.iter()
            .map(|t| format!("{}/{} in namespace '{}'", t.kind, t.name, t.namespace))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Rewrites references to renamed objects.
pub(super) fn fix(
    resources: &mut [Res],
    schema: &Schema,
    extra: &[((String, String), Vec<FieldSpec>)],
    crd_refs: &[(String, String)],
) -> Result<(), String> {
    let targets: Vec<Target> = resources
        .iter()
        .map(|r| Target {
            group: r.group().to_string(),
            kind: r.kind().to_string(),
            name: r.name().to_string(),
            names: r.prev_names.clone(),
            namespace: r.namespace().to_string(),
            namespaced: r.is_namespaced(schema),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
            id_names: r.previous_id_names().map(str::to_string).collect(),
            original_namespace: r.original_namespace().to_string(),
        })
        .collect();
    if targets.iter().all(|t| t.id_names.is_empty()) {
        return Ok(());
    }
    let table = table();
    let mut errors = Vec::new();
    for r in resources.iter_mut() {
        let ns = r.namespace().to_string();
        let ns_opt = if r.is_namespaced(schema) {
            Some(ns.as_str())
        } else {
            None
        };
        let kind = r.kind().to_string();
        let prefixes = r.prefixes.clone();
        let suffixes = r.suffixes.clone();
        let id = r.id_string();
        let who = Referrer {
            namespace: ns_opt,
            prefixes: &prefixes,
            suffixes: &suffixes,
            id: &id,
        };
        for ((group, referral), specs) in &table {
            let candidates: Vec<&Target> = targets
                .iter()
                .filter(|t| t.kind == *referral && t.group == *group)
                .collect();
            if candidates.is_empty() {
                continue;
            }
            for (referrer, path) in specs {
                let full = if *referrer == "@pod" {
                    match POD_SPECS.iter().find(|(k, _)| *k == kind) {
                        Some((_, base)) => format!("{base}/{path}"),
                        None => continue,
                    }
                } else if *referrer == kind {
                    path.clone()
                } else {
                    continue;
                };
                let segments: Vec<&str> = full.split('/').collect();
                visit_path(&mut r.obj, &segments, false, &mut |v| {
                    rewrite(v, &candidates, who, &mut errors)
                });
            }
        }
        // Field specs from configuration files.
        for ((group, referral), specs) in extra {
            let candidates: Vec<&Target> = targets
                .iter()
                .filter(|t| t.kind == *referral && (group.is_empty() || t.group == *group))
                .collect();
            if candidates.is_empty() {
                continue;
            }
            for spec in specs {
                let mut spec = spec.clone();
                spec.create = false;
                spec.visit(r, &mut |v| rewrite(v, &candidates, who, &mut errors));
            }
        }
        // Fields of custom kinds that `crds:` files mark as references.
        if !crd_refs.is_empty()
            && schema
                .kind_type(&fleet_smp::schema::Gvk::from_api_version(
                    r.obj
                        .get("apiVersion")
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                    &kind,
                ))
                .is_none()
        {
            for (field, ref_kind) in crd_refs {
                let candidates: Vec<&Target> =
                    targets.iter().filter(|t| t.kind == *ref_kind).collect();
                if !candidates.is_empty() {
                    rewrite_crd_refs(&mut r.obj, field, &candidates, who, &mut errors);
                }
            }
        }
        // RBAC: roleRef and subjects.
        if matches!(kind.as_str(), "RoleBinding" | "ClusterRoleBinding") {
            let ref_kind = r
                .obj
                .pointer("/roleRef/kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let candidates: Vec<&Target> = targets
                .iter()
                .filter(|t| t.kind == ref_kind && t.group == "rbac.authorization.k8s.io")
                .collect();
            if let Some(v) = r.obj.pointer_mut("/roleRef/name") {
                let scope = if ref_kind == "Role" { ns_opt } else { None };
                rewrite(
                    v,
                    &candidates,
                    Referrer {
                        namespace: scope,
                        ..who
                    },
                    &mut errors,
                );
            }
            if r.group() == "rbac.authorization.k8s.io" {
                let referrer = Referrer {
                    namespace: ns_opt,
                    ..who
                };
                if let Err(e) = fix_subjects(&mut r.obj, &kind, &targets, referrer) {
                    errors.push(e);
                }
            }
        }
        if matches!(
            kind.as_str(),
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration"
        ) {
            // A webhook configuration is cluster-scoped: every Service is a candidate.
            let candidates: Vec<&Target> = targets.iter().collect();
            if let Some(Value::Array(hooks)) = r.obj.get_mut("webhooks") {
                for hook in hooks {
                    let Some(Value::Object(svc)) = hook.pointer_mut("/clientConfig/service") else {
                        continue;
                    };
                    if let Err(e) = set_map_reference(svc, &candidates, ("", "Service"), who) {
                        errors.push(e);
                    }
                }
            }
        }
        if kind == "HorizontalPodAutoscaler" {
            let ref_kind = r
                .obj
                .pointer("/spec/scaleTargetRef/kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let candidates: Vec<&Target> = targets.iter().filter(|t| t.kind == ref_kind).collect();
            if let Some(v) = r.obj.pointer_mut("/spec/scaleTargetRef/name") {
                rewrite(v, &candidates, who, &mut errors);
            }
        }
    }
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::files::Files;

    fn subjects(resources: &str) -> Vec<Value> {
        let mut files = Files::new();
        files
            .insert(
                "base/kustomization.yaml",
                "resources: [sa.yaml]\nnamePrefix: p-\n",
            )
            .unwrap();
        files
            .insert(
                "base/sa.yaml",
                "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa, namespace: orig}\n",
            )
            .unwrap();
        files
            .insert(
                "kustomization.yaml",
                "namespace: new\nresources: [base, rb.yaml]\n",
            )
            .unwrap();
        files.insert("rb.yaml", resources).unwrap();
        let objects = crate::build(&files, ".").unwrap();
        let rb = objects.iter().find(|o| o["kind"] == "RoleBinding").unwrap();
        rb["subjects"].as_array().unwrap().clone()
    }

    #[test]
    fn service_account_subjects_follow_by_original_namespace() {
        let got = subjects(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n\
             metadata: {name: rb}\nroleRef: {kind: Role, name: r}\nsubjects:\n\
             - {kind: ServiceAccount, name: sa, namespace: orig}\n\
             - {kind: ServiceAccount, name: sa}\n\
             - {kind: ServiceAccount, name: sa, namespace: unrelated}\n\
             - {kind: ServiceAccount, name: missing, namespace: orig}\n\
             - {kind: ServiceAccount, name: p-sa, namespace: orig}\n\
             - {kind: User, name: sa}\n",
        );
        assert_eq!(
            got,
            [
                // The subject's namespace is the account's original one: it follows.
                json!({"kind": "ServiceAccount", "name": "p-sa", "namespace": "new"}),
                // No namespace: any account with the name in its history.
                json!({"kind": "ServiceAccount", "name": "p-sa", "namespace": "new"}),
                // Another namespace: no account there, left alone.
                json!({"kind": "ServiceAccount", "name": "sa", "namespace": "unrelated"}),
                json!({"kind": "ServiceAccount", "name": "missing", "namespace": "orig"}),
                // The namespace transformer recorded the prefixed name in the history too.
                json!({"kind": "ServiceAccount", "name": "p-sa", "namespace": "new"}),
                // kustomize's subjects field spec does not look at the subject's kind.
                json!({"kind": "User", "name": "p-sa", "namespace": "new"}),
            ]
        );
    }
}
