//! Legacy `vars:` — `$(NAME)` in kustomize's variable-reference fields replaced by a field of
//! a resource of the build, resolved at the end of the build.

use serde_json::Value;

use super::res::{Res, ns_eq, visit_path};
use super::{Error, Kustomization};

/// A declared variable.
#[derive(Debug, Clone)]
pub(crate) struct Var {
    name: String,
    api_version: Option<String>,
    kind: String,
    object: String,
    namespace: Option<String>,
    field_path: String,
    file: String,
    /// The resource the var names, when the declaring kustomization could tell it apart.
    bound: Option<usize>,
}

/// Reads the kustomization's `vars`.
pub(super) fn declared(
    k: &Kustomization,
    resources: &[Res],
    out: &mut Vec<Var>,
) -> Result<(), Error> {
    for v in k.list("vars")? {
        let s = |path: &[&str]| {
            let mut cur = &v;
            for p in path {
                cur = cur.get(*p)?;
            }
            cur.as_str().map(str::to_string)
        };
        let Some(name) = s(&["name"]) else {
            return Err(k.invalid("vars: a var needs a name".into()));
        };
        if out.iter().any(|x| x.name == name) {
            return Err(Error::Transform {
                file: k.file.clone(),
                field: "vars".into(),
                message: format!("var '{name}' already encountered"),
            });
        }
        let mut var = Var {
            name,
            api_version: s(&["objref", "apiVersion"]),
            kind: s(&["objref", "kind"]).unwrap_or_default(),
            object: s(&["objref", "name"]).unwrap_or_default(),
            namespace: s(&["objref", "namespace"]),
            field_path: s(&["fieldref", "fieldpath"]).unwrap_or_else(|| "metadata.name".into()),
            file: k.file.clone(),
            bound: None,
        };
        if let [one] = candidates(&var, resources).as_slice() {
            var.bound = Some(one.uid);
        }
        out.push(var);
    }
    Ok(())
}

fn candidates<'a>(var: &Var, resources: &'a [Res]) -> Vec<&'a Res> {
    let (group, version) = match &var.api_version {
        Some(av) => {
            let (g, v) = fleet_core::meta::split_api_version(av);
            (Some(g.to_string()), Some(v.to_string()))
        }
        None => (None, None),
    };
    resources
        .iter()
        .filter(|r| {
            r.kind() == var.kind
                && r.had_name(&var.object)
                && group.as_deref().is_none_or(|g| g == r.group())
                && version.as_deref().is_none_or(|v| v == r.version())
                && var
                    .namespace
                    .as_deref()
                    .is_none_or(|ns| r.had_namespace(ns) || ns_eq(r.namespace(), ns))
        })
        .collect()
}

/// Splits `spec.ports[0].port` into keys and indexes.
fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for part in path.split('.') {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            cur = cur.get(key)?;
        }
        for idx in indexes.split('[').filter(|s| !s.is_empty()) {
            let idx = idx.strip_suffix(']')?;
            cur = cur.get(idx.parse::<usize>().ok()?)?;
        }
    }
    Some(cur)
}

/// Container fields of a pod spec in kustomize's default `varReference` field specs.
const CONTAINER_FIELDS: [&str; 8] = [
    "containers/args",
    "containers/command",
    "containers/env/value",
    "containers/volumeMounts/mountPath",
    "initContainers/args",
    "initContainers/command",
    "initContainers/env/value",
    "initContainers/volumeMounts/mountPath",
];

/// kustomize's default `varReference` field specs (`builtinpluginconsts/varreference.go`):
/// `(kind or "" for all, path)`. Their quirks are kept: a CronJob's NFS server is looked
/// for at `spec/jobTemplate/spec/template/volumes` (not under the pod spec), a StatefulSet's
/// pod volumes are not listed, and only a Deployment's pod template annotations are.
fn reference_fields() -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (kind, base, nfs) in [
        (
            "CronJob",
            "spec/jobTemplate/spec/template/spec",
            Some("spec/jobTemplate/spec/template/volumes/nfs/server"),
        ),
        (
            "DaemonSet",
            "spec/template/spec",
            Some("spec/template/spec/volumes/nfs/server"),
        ),
        (
            "Deployment",
            "spec/template/spec",
            Some("spec/template/spec/volumes/nfs/server"),
        ),
        (
            "Job",
            "spec/template/spec",
            Some("spec/template/spec/volumes/nfs/server"),
        ),
        ("Pod", "spec", Some("spec/volumes/nfs/server")),
        (
            "ReplicaSet",
            "spec/template/spec",
            Some("spec/template/spec/volumes/nfs/server"),
        ),
        ("StatefulSet", "spec/template/spec", None),
    ] {
        for f in CONTAINER_FIELDS {
            out.push((kind, format!("{base}/{f}")));
        }
        if let Some(nfs) = nfs {
            out.push((kind, nfs.to_string()));
        }
    }
    for (kind, path) in [
        ("Deployment", "spec/template/metadata/annotations"),
        ("Ingress", "spec/rules/host"),
        ("Ingress", "spec/tls/hosts"),
        ("Ingress", "spec/tls/secretName"),
        ("Service", "spec/ports/port"),
        ("Service", "spec/ports/targetPort"),
        ("StatefulSet", "spec/volumeClaimTemplates/spec/nfs/server"),
        ("PersistentVolume", "spec/nfs/server"),
        ("", "metadata/labels"),
        ("", "metadata/annotations"),
    ] {
        out.push((kind, path.to_string()));
    }
    out
}

/// Expands `$(NAME)` in `s`; `$$` is a literal `$`. A string that is exactly one reference
/// takes the variable's value with its type.
fn expand(s: &str, values: &[(String, Value)]) -> Option<Value> {
    if let Some(name) = s.strip_prefix("$(").and_then(|r| r.strip_suffix(')'))
        && let Some((_, v)) = values.iter().find(|(n, _)| n == name)
    {
        return Some(v.clone());
    }
    if !s.contains("$(") {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut changed = false;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
            changed = true;
            continue;
        }
        if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
            && let Some((_, v)) = values.iter().find(|(n, _)| *n == inner[..end])
        {
            out.push_str(&super::scalar_string(v));
            rest = &inner[end + 1..];
            changed = true;
            continue;
        }
        out.push('$');
        rest = after;
    }
    out.push_str(rest);
    changed.then_some(Value::String(out))
}

fn substitute(v: &mut Value, values: &[(String, Value)]) {
    match v {
        Value::String(s) => {
            if let Some(new) = expand(s, values) {
                *v = new;
            }
        }
        Value::Object(m) => m.values_mut().for_each(|x| substitute(x, values)),
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, values)),
        _ => {}
    }
}

/// Resolves the variables and substitutes them.
pub(super) fn resolve(
    vars: &[Var],
    resources: &mut [Res],
    extra: &[super::transform::FieldSpec],
) -> Result<(), Error> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut values = Vec::new();
    for var in vars {
        let matched: Vec<&Res> = match var.bound {
            Some(uid) => resources.iter().filter(|r| r.uid == uid).collect(),
            None => candidates(var, resources),
        };
        let target = match matched.as_slice() {
            [one] => *one,
            [] => {
                return Err(Error::Transform {
                    file: var.file.clone(),
                    field: "vars".into(),
                    message: format!(
                        "var '{}' cannot be mapped to a field in the set of known resources",
                        var.name
                    ),
                });
            }
            _ => {
                return Err(Error::Transform {
                    file: var.file.clone(),
                    field: "vars".into(),
                    message: format!("var '{}' matches more than one resource", var.name),
                });
            }
        };
        let value = lookup(&target.obj, &var.field_path)
            .cloned()
            .ok_or_else(|| Error::Transform {
                file: var.file.clone(),
                field: "vars".into(),
                message: format!(
                    "field '{}' of {} for var '{}' not found",
                    var.field_path,
                    target.id_string(),
                    var.name
                ),
            })?;
        values.push((var.name.clone(), value));
    }
    let fields = reference_fields();
    for r in resources.iter_mut() {
        let kind = r.kind().to_string();
        for (k, path) in &fields {
            if !k.is_empty() && *k != kind {
                continue;
            }
            let segments: Vec<&str> = path.split('/').collect();
            visit_path(&mut r.obj, &segments, false, &mut |v| {
                substitute(v, &values)
            });
        }
        for spec in extra {
            let mut spec = spec.clone();
            spec.create = false;
            spec.visit(r, &mut |v| substitute(v, &values));
        }
    }
    Ok(())
}
