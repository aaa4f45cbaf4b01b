//! The builtin transformers: namespace, name prefix/suffix, labels, annotations, replicas,
//! images.

use serde_json::{Map, Value};

use super::config::Config;
use super::res::{Res, ensure_map, visit_path};
use super::{Error, Kustomization, scalar_string};
use fleet_smp::schema::Schema;

/// A field the transformers write: optional group/kind filter and a `/`-separated path.
#[derive(Debug, Clone)]
pub(crate) struct FieldSpec {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub path: String,
    pub create: bool,
}

impl FieldSpec {
    fn new(group: Option<&str>, kind: Option<&str>, path: &str, create: bool) -> Self {
        FieldSpec {
            group: group.map(str::to_string),
            version: None,
            kind: kind.map(str::to_string),
            path: path.to_string(),
            create,
        }
    }

    pub fn applies(&self, r: &Res) -> bool {
        self.group.as_deref().is_none_or(|g| g == r.group())
            && self.version.as_deref().is_none_or(|v| v == r.version())
            && self.kind.as_deref().is_none_or(|k| k == r.kind())
    }

    pub fn visit(&self, r: &mut Res, f: &mut dyn FnMut(&mut Value)) {
        if !self.applies(r) {
            return;
        }
        let path: Vec<&str> = self.path.split('/').filter(|s| !s.is_empty()).collect();
        visit_path(&mut r.obj, &path, self.create, f);
    }
}

pub(super) fn parse_fieldspecs(
    k: &Kustomization,
    v: Option<&Value>,
    field: &str,
) -> Result<Vec<FieldSpec>, Error> {
    let Some(Value::Array(items)) = v else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|item| {
            let s = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_string);
            let path =
                s("path").ok_or_else(|| k.invalid(format!("{field}: fieldSpec without path")))?;
            Ok(FieldSpec {
                group: s("group"),
                version: s("version"),
                kind: s("kind"),
                path,
                create: item.get("create").and_then(Value::as_bool).unwrap_or(false),
            })
        })
        .collect()
}

/// Kinds the namespace, prefix and suffix transformers leave alone, per kustomize.
fn cluster_scoped(r: &Res, schema: &Schema) -> bool {
    !r.is_namespaced(schema)
}

/// Which subjects of a RoleBinding or ClusterRoleBinding the namespace transformer writes
/// its namespace into (`setRoleBindingSubjects`, kustomize's `api/filters/namespace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubjectMode {
    /// `defaultOnly`, the default: subjects named exactly `default`, whatever their kind.
    DefaultOnly,
    /// `allServiceAccounts`: subjects of kind `ServiceAccount`.
    AllServiceAccounts,
    /// `none`: subjects are left alone.
    None,
}

impl SubjectMode {
    /// Parses `setRoleBindingSubjects`; an absent or empty value is `defaultOnly`.
    pub(crate) fn parse(k: &Kustomization, value: Option<&Value>) -> Result<Self, Error> {
        match value {
            None | Some(Value::Null) => Ok(SubjectMode::DefaultOnly),
            Some(Value::String(s)) => match s.as_str() {
                "" | "defaultOnly" => Ok(SubjectMode::DefaultOnly),
                "allServiceAccounts" => Ok(SubjectMode::AllServiceAccounts),
                "none" => Ok(SubjectMode::None),
                other => Err(k.invalid(format!(
                    "invalid value '{other}' for setRoleBindingSubjects: must be one of \
                     'defaultOnly', 'none' or 'allServiceAccounts'"
                ))),
            },
            Some(other) => Err(k.invalid(format!(
                "setRoleBindingSubjects must be a string, not {other}"
            ))),
        }
    }
}

/// What one namespace transformer does: the namespace, whether existing namespaces are kept
/// (`unsetOnly`), which binding subjects it sets, and the field specs beyond
/// `metadata/namespace`.
pub(crate) struct NamespaceOptions {
    pub namespace: String,
    pub unset_only: bool,
    pub subjects: SubjectMode,
    pub specs: Vec<FieldSpec>,
}

/// kustomize's default namespace field specs (`builtinpluginconsts/namespace.go`), used by
/// the kustomization's `namespace:` field; a `NamespaceTransformer` plugin gets only those
/// its configuration lists.
pub(crate) fn default_namespace_specs() -> Vec<FieldSpec> {
    vec![
        FieldSpec::new(None, Some("Namespace"), "metadata/name", true),
        FieldSpec::new(
            Some("apiregistration.k8s.io"),
            Some("APIService"),
            "spec/service/namespace",
            true,
        ),
        FieldSpec::new(
            Some("apiextensions.k8s.io"),
            Some("CustomResourceDefinition"),
            "spec/conversion/webhook/clientConfig/service/namespace",
            false,
        ),
    ]
}

fn is_role_binding(r: &Res) -> bool {
    // kustomize matches the kind alone, whatever the group.
    matches!(r.kind(), "RoleBinding" | "ClusterRoleBinding")
}

/// Writes the namespace into one scalar field, as kustomize's `SetEntry` does, or, with
/// `unset_only`, only when the field is empty (`SetEntryIfEmpty`). A field holding a map or
/// a list is an error.
fn set_namespace_field(v: &mut Value, ns: &str, unset_only: bool) -> Result<(), String> {
    let empty = match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
        Value::Object(m) if m.is_empty() => true,
        Value::Array(_) | Value::Object(_) => {
            return Err("namespace field specs must target scalar nodes".into());
        }
    };
    if !unset_only || empty {
        *v = Value::String(ns.to_string());
    }
    Ok(())
}

/// `namespace:` of a kustomization.
pub(super) fn namespace(
    k: &Kustomization,
    resources: &mut [Res],
    schema: &Schema,
    config: &Config,
) -> Result<(), Error> {
    let Some(ns) = k.string("namespace")?.filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    let mut specs = default_namespace_specs();
    specs.extend(config.namespace.iter().cloned());
    let opts = NamespaceOptions {
        namespace: ns,
        unset_only: false,
        subjects: SubjectMode::DefaultOnly,
        specs,
    };
    apply_namespace(k, resources, schema, &opts)
}

/// The namespace transformer (kustomize's `NamespaceTransformer` and its filter): every
/// namespaced object's `metadata.namespace`; binding subjects per [`SubjectMode`]; then the
/// field specs (a core `v1` Namespace's `metadata/name` among the defaults). Two objects
/// ending with the same id is an error, as in kustomize.
pub(crate) fn apply_namespace(
    k: &Kustomization,
    resources: &mut [Res],
    schema: &Schema,
    opts: &NamespaceOptions,
) -> Result<(), Error> {
    let ns = opts.namespace.as_str();
    if ns.is_empty() {
        return Ok(());
    }
    let transform_error = |message: String| Error::Transform {
        file: k.file.clone(),
        field: "namespace".into(),
        message,
    };
    for i in 0..resources.len() {
        let r = &mut resources[i];
        if r.obj.as_object().is_none_or(Map::is_empty) {
            continue;
        }
        r.store_previous_id();
        if !cluster_scoped(r, schema) && (!opts.unset_only || r.namespace().is_empty()) {
            r.set_namespace(ns);
        }
        let binding = is_role_binding(r);
        if binding && let Some(Value::Array(subjects)) = r.obj.get_mut("subjects") {
            for s in subjects.iter_mut() {
                let Value::Object(m) = s else { continue };
                let field = match opts.subjects {
                    SubjectMode::None => continue,
                    SubjectMode::DefaultOnly => "name",
                    SubjectMode::AllServiceAccounts => "kind",
                };
                let wanted = match opts.subjects {
                    SubjectMode::AllServiceAccounts => "ServiceAccount",
                    _ => "default",
                };
                if m.get(field).and_then(Value::as_str) != Some(wanted) {
                    continue;
                }
                let slot = m.entry("namespace").or_insert(Value::Null);
                set_namespace_field(slot, ns, opts.unset_only).map_err(&transform_error)?;
            }
        }
        let core_v1 = r.api_version() == "v1";
        let mut failure = None;
        for spec in &opts.specs {
            if spec.path == "metadata/namespace"
                || (spec.path == "metadata/name" && !core_v1)
                || (binding && spec.path == "subjects/namespace")
            {
                continue;
            }
            if spec.path == "metadata/name" {
                // The name is part of the id: keep the history name references use.
                if spec.applies(r) {
                    let keep = opts.unset_only && !r.name().is_empty();
                    if !keep {
                        r.set_name(ns);
                    }
                }
                continue;
            }
            spec.visit(r, &mut |v| {
                if failure.is_none()
                    && let Err(e) = set_namespace_field(v, ns, opts.unset_only)
                {
                    failure = Some(e);
                }
            });
        }
        if let Some(e) = failure {
            return Err(transform_error(format!(
                "{}: {e}",
                resources[i].id_string()
            )));
        }
        let r = &resources[i];
        if resources
            .iter()
            .enumerate()
            .any(|(j, other)| j != i && other.same_id(r))
        {
            return Err(transform_error(format!(
                "namespace transformation produces ID conflict: {}",
                r.id_string()
            )));
        }
    }
    Ok(())
}

fn skip_rename(r: &Res) -> bool {
    matches!(
        (r.group(), r.kind()),
        ("apiextensions.k8s.io", "CustomResourceDefinition")
            | ("apiregistration.k8s.io", "APIService")
            | ("", "Namespace")
    )
}

/// `namePrefix:` and `nameSuffix:`.
pub(super) fn prefix_suffix(
    k: &Kustomization,
    resources: &mut [Res],
    config: &Config,
) -> Result<(), Error> {
    let prefix = k.string("namePrefix")?.unwrap_or_default();
    let suffix = k.string("nameSuffix")?.unwrap_or_default();
    if prefix.is_empty() && suffix.is_empty() {
        return Ok(());
    }
    // Configured `metadata/name` specs that name a kind restrict renaming to the kinds they
    // select; kind-less ones (kustomize's default) then no longer count.
    let selected = |specs: &[FieldSpec], r: &Res| {
        let mut kinded = specs
            .iter()
            .filter(|s| s.path == "metadata/name" && s.kind.is_some())
            .peekable();
        kinded.peek().is_none() || kinded.any(|s| s.applies(r))
    };
    for r in resources.iter_mut() {
        if skip_rename(r) {
            continue;
        }
        let prefix = if selected(&config.name_prefix, r) {
            prefix.as_str()
        } else {
            ""
        };
        let suffix = if selected(&config.name_suffix, r) {
            suffix.as_str()
        } else {
            ""
        };
        if prefix.is_empty() && suffix.is_empty() {
            continue;
        }
        let name = format!("{prefix}{}{suffix}", r.name());
        r.set_name(&name);
        if !prefix.is_empty() {
            r.prefixes.push(prefix.to_string());
        }
        if !suffix.is_empty() {
            r.suffixes.push(suffix.to_string());
        }
    }
    Ok(())
}

const WORKLOADS_TEMPLATE: &[(Option<&str>, &str)] = &[
    (Some(""), "ReplicationController"),
    (None, "Deployment"),
    (None, "ReplicaSet"),
    (None, "DaemonSet"),
    (Some("apps"), "StatefulSet"),
    (Some("batch"), "Job"),
];

const AFFINITY: &[&str] = &[
    "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
];

/// Selector field specs of `commonLabels` (and `labels` with `includeSelectors`).
fn selector_specs() -> Vec<FieldSpec> {
    let mut v = vec![
        FieldSpec::new(Some(""), Some("Service"), "spec/selector", true),
        FieldSpec::new(
            Some(""),
            Some("ReplicationController"),
            "spec/selector",
            true,
        ),
        FieldSpec::new(None, Some("Deployment"), "spec/selector/matchLabels", true),
        FieldSpec::new(None, Some("ReplicaSet"), "spec/selector/matchLabels", true),
        FieldSpec::new(None, Some("DaemonSet"), "spec/selector/matchLabels", true),
        FieldSpec::new(
            Some("apps"),
            Some("StatefulSet"),
            "spec/selector/matchLabels",
            true,
        ),
        FieldSpec::new(
            Some("batch"),
            Some("Job"),
            "spec/selector/matchLabels",
            false,
        ),
        FieldSpec::new(
            Some("batch"),
            Some("CronJob"),
            "spec/jobTemplate/spec/selector/matchLabels",
            false,
        ),
        FieldSpec::new(
            Some("policy"),
            Some("PodDisruptionBudget"),
            "spec/selector/matchLabels",
            false,
        ),
        FieldSpec::new(
            Some("networking.k8s.io"),
            Some("NetworkPolicy"),
            "spec/podSelector/matchLabels",
            false,
        ),
        FieldSpec::new(
            Some("networking.k8s.io"),
            Some("NetworkPolicy"),
            "spec/ingress/from/podSelector/matchLabels",
            false,
        ),
        FieldSpec::new(
            Some("networking.k8s.io"),
            Some("NetworkPolicy"),
            "spec/egress/to/podSelector/matchLabels",
            false,
        ),
    ];
    for kind in ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"] {
        for path in AFFINITY {
            v.push(FieldSpec::new(Some("apps"), Some(kind), path, false));
        }
    }
    v
}

/// Template field specs (`labels` with `includeTemplates`, and `commonLabels`).
fn template_specs(leaf: &str) -> Vec<FieldSpec> {
    let mut v: Vec<FieldSpec> = WORKLOADS_TEMPLATE
        .iter()
        .map(|(g, kind)| {
            FieldSpec::new(
                *g,
                Some(kind),
                &format!("spec/template/metadata/{leaf}"),
                true,
            )
        })
        .collect();
    v.push(FieldSpec::new(
        Some("batch"),
        Some("CronJob"),
        &format!("spec/jobTemplate/metadata/{leaf}"),
        true,
    ));
    v.push(FieldSpec::new(
        Some("batch"),
        Some("CronJob"),
        &format!("spec/jobTemplate/spec/template/metadata/{leaf}"),
        true,
    ));
    v
}

fn volume_claim_specs() -> Vec<FieldSpec> {
    vec![FieldSpec::new(
        Some("apps"),
        Some("StatefulSet"),
        "spec/volumeClaimTemplates[]/metadata/labels",
        true,
    )]
}

pub(super) fn add_pairs(resources: &mut [Res], pairs: &[(String, String)], specs: &[FieldSpec]) {
    for r in resources.iter_mut() {
        for spec in specs {
            spec.visit(r, &mut |v: &mut Value| {
                let m = ensure_map(v);
                for (k, val) in pairs {
                    m.insert(k.clone(), Value::String(val.clone()));
                }
            });
        }
    }
}

fn meta_spec(leaf: &str) -> FieldSpec {
    FieldSpec::new(None, None, &format!("metadata/{leaf}"), true)
}

/// `commonLabels:` and `labels:`.
pub(super) fn labels(
    k: &Kustomization,
    resources: &mut [Res],
    config: &Config,
) -> Result<(), Error> {
    let common = k.string_map("commonLabels")?;
    if !common.is_empty() {
        let mut specs = vec![meta_spec("labels")];
        specs.extend(selector_specs());
        specs.extend(template_specs("labels"));
        specs.extend(volume_claim_specs());
        specs.extend(config.common_labels.iter().cloned());
        specs.extend(config.template_labels.iter().cloned());
        add_pairs(resources, &common, &specs);
    }
    for entry in k.list("labels")? {
        let Value::Object(m) = &entry else {
            return Err(k.invalid("labels: each entry must be a map".into()));
        };
        for key in m.keys() {
            if !["pairs", "includeSelectors", "includeTemplates", "fields"].contains(&key.as_str())
            {
                return Err(k.invalid(format!("json: unknown field \"{key}\"")));
            }
        }
        let pairs: Vec<(String, String)> = m
            .get("pairs")
            .and_then(Value::as_object)
            .map(|p| {
                p.iter()
                    .map(|(a, b)| (a.clone(), scalar_string(b)))
                    .collect()
            })
            .unwrap_or_default();
        let selectors = m
            .get("includeSelectors")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let templates = m
            .get("includeTemplates")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut specs = vec![meta_spec("labels")];
        if selectors {
            specs.extend(selector_specs());
            specs.extend(template_specs("labels"));
            specs.extend(volume_claim_specs());
            specs.extend(config.common_labels.iter().cloned());
            specs.extend(config.template_labels.iter().cloned());
        } else if templates {
            specs.extend(template_specs("labels"));
            specs.extend(volume_claim_specs());
            specs.extend(config.template_labels.iter().cloned());
        }
        specs.extend(config.labels.iter().cloned());
        specs.extend(parse_fieldspecs(k, m.get("fields"), "labels")?);
        add_pairs(resources, &pairs, &specs);
    }
    Ok(())
}

/// `commonAnnotations:`.
pub(super) fn annotations(
    k: &Kustomization,
    resources: &mut [Res],
    config: &Config,
) -> Result<(), Error> {
    let common = k.string_map("commonAnnotations")?;
    if common.is_empty() {
        return Ok(());
    }
    let mut specs = vec![meta_spec("annotations")];
    specs.extend(template_specs("annotations"));
    specs.extend(config.common_annotations.iter().cloned());
    add_pairs(resources, &common, &specs);
    Ok(())
}

/// `replicas:`.
pub(super) fn replicas(k: &Kustomization, resources: &mut [Res]) -> Result<(), Error> {
    for entry in k.list("replicas")? {
        let name = entry.get("name").and_then(Value::as_str).unwrap_or("");
        let count = entry.get("count").cloned().unwrap_or(Value::from(0));
        if !count.is_i64() && !count.is_u64() {
            return Err(Error::Transform {
                file: k.file.clone(),
                field: "replicas".into(),
                message: format!("count for '{name}' must be an integer"),
            });
        }
        let specs = [
            FieldSpec::new(None, Some("Deployment"), "spec/replicas", true),
            FieldSpec::new(None, Some("ReplicationController"), "spec/replicas", true),
            FieldSpec::new(None, Some("ReplicaSet"), "spec/replicas", true),
            FieldSpec::new(None, Some("StatefulSet"), "spec/replicas", true),
        ];
        let mut matched = false;
        for r in resources.iter_mut().filter(|r| r.had_name(name)) {
            for spec in &specs {
                if !spec.applies(r) {
                    continue;
                }
                matched = true;
                if let Value::Object(spec_map) = r
                    .obj
                    .as_object_mut()
                    .map(|o| o.entry("spec").or_insert_with(|| Value::Object(Map::new())))
                    .unwrap_or(&mut Value::Null)
                {
                    spec_map.insert("replicas".into(), count.clone());
                }
            }
        }
        if !matched {
            return Err(Error::Transform {
                file: k.file.clone(),
                field: "replicas".into(),
                message: format!(
                    "resource with name {name} does not match a config with the following GVK [Deployment ReplicationController ReplicaSet StatefulSet]"
                ),
            });
        }
    }
    Ok(())
}

/// An image reference split into name, tag and digest.
fn split_image(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..]), digest),
        None => (rest, None, digest),
    }
}

struct ImageRule {
    name: String,
    new_name: Option<String>,
    new_tag: Option<String>,
    digest: Option<String>,
}

fn rewrite_image(image: &str, rules: &[ImageRule]) -> Option<String> {
    let (name, tag, digest) = split_image(image);
    let rule = rules.iter().find(|r| r.name == name)?;
    let new_name = rule.new_name.as_deref().unwrap_or(name);
    let (tag, digest) = match (&rule.new_tag, &rule.digest) {
        (Some(t), Some(d)) => (Some(t.as_str()), Some(d.as_str())),
        (Some(t), None) => (Some(t.as_str()), None),
        (None, Some(d)) => (None, Some(d.as_str())),
        (None, None) => (tag, digest),
    };
    let mut out = new_name.to_string();
    if let Some(t) = tag {
        out.push(':');
        out.push_str(t);
    }
    if let Some(d) = digest {
        out.push('@');
        out.push_str(d);
    }
    Some(out)
}

fn walk_images(v: &mut Value, rules: &[ImageRule]) {
    match v {
        Value::Object(m) => {
            for (key, child) in m.iter_mut() {
                if (key == "containers" || key == "initContainers")
                    && let Value::Array(items) = child
                {
                    for c in items.iter_mut() {
                        if let Some(Value::String(image)) = c.get_mut("image")
                            && let Some(new) = rewrite_image(image, rules)
                        {
                            *image = new;
                        }
                    }
                }
                walk_images(child, rules);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| walk_images(i, rules)),
        _ => {}
    }
}

/// `images:`.
pub(super) fn images(
    k: &Kustomization,
    resources: &mut [Res],
    config: &Config,
) -> Result<(), Error> {
    let entries = k.list("images")?;
    if entries.is_empty() {
        return Ok(());
    }
    let mut rules = Vec::new();
    for e in entries {
        let s = |key: &str| {
            e.get(key)
                .filter(|v| !v.is_null())
                .map(scalar_string)
                .filter(|s| !s.is_empty())
        };
        let Some(name) = s("name") else {
            return Err(Error::Transform {
                file: k.file.clone(),
                field: "images".into(),
                message: "an image entry needs a name".into(),
            });
        };
        let plain = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | ':' | '.'));
        if !plain && regex::Regex::new(&name).is_err() {
            return Err(Error::Transform {
                file: k.file.clone(),
                field: "images".into(),
                message: format!("image name {name:?} is not a valid regular expression"),
            });
        }
        rules.push(ImageRule {
            name,
            new_name: s("newName"),
            new_tag: s("newTag"),
            digest: s("digest"),
        });
    }
    for r in resources.iter_mut() {
        if r.kind() == "CustomResourceDefinition" {
            continue;
        }
        walk_images(&mut r.obj, &rules);
        for spec in &config.images {
            spec.visit(r, &mut |v: &mut Value| {
                if let Value::String(image) = v
                    && let Some(new) = rewrite_image(image, &rules)
                {
                    *image = new;
                }
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kustomization() -> Kustomization {
        Kustomization {
            file: "kustomization.yaml".into(),
            dir: String::new(),
            body: Map::new(),
            sort_options: None,
            plugin_meta: None,
        }
    }

    fn binding(group: &str, subjects: Value) -> Res {
        Res::new(
            json!({"apiVersion": format!("{group}/v1"), "kind": "RoleBinding",
                "metadata": {"name": "rb"}, "subjects": subjects}),
            "r.yaml",
        )
    }

    fn run(resources: &mut [Res], unset_only: bool, subjects: SubjectMode) -> Result<(), Error> {
        let opts = NamespaceOptions {
            namespace: "target".into(),
            unset_only,
            subjects,
            specs: default_namespace_specs(),
        };
        apply_namespace(&kustomization(), resources, Schema::builtin(), &opts)
    }

    #[test]
    fn default_mode_sets_subjects_named_default_of_any_kind() {
        let subjects = json!([
            {"kind": "ServiceAccount", "name": "default"},
            {"kind": "ServiceAccount", "name": "default", "namespace": "other"},
            {"kind": "User", "name": "default"},
            {"name": "default"},
            {"kind": "ServiceAccount", "name": "Default"},
            {"kind": "ServiceAccount", "name": "default-sa"},
            {"kind": "ServiceAccount", "name": "app", "namespace": "other"}
        ]);
        // kustomize matches the binding by kind only, so a custom group's RoleBinding too.
        for group in ["rbac.authorization.k8s.io", "example.com"] {
            let mut rs = vec![binding(group, subjects.clone())];
            run(&mut rs, false, SubjectMode::DefaultOnly).unwrap();
            let got: Vec<Option<&str>> = rs[0].obj["subjects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.get("namespace").and_then(Value::as_str))
                .collect();
            assert_eq!(
                got,
                [
                    Some("target"),
                    Some("target"),
                    Some("target"),
                    Some("target"),
                    None,
                    None,
                    Some("other")
                ],
                "{group}"
            );
            assert_eq!(rs[0].namespace(), "target");
        }
    }

    #[test]
    fn all_service_accounts_with_unset_only_fills_blanks_only() {
        let mut rs = vec![
            binding(
                "rbac.authorization.k8s.io",
                json!([
                    {"kind": "ServiceAccount", "name": "a"},
                    {"kind": "ServiceAccount", "name": "b", "namespace": "kept"},
                    {"kind": "ServiceAccount", "name": "c", "namespace": ""},
                    {"kind": "User", "name": "default"},
                    {"kind": "ServiceAccountish", "name": "d"}
                ]),
            ),
            Res::new(
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "cm", "namespace": "mine"}}),
                "r.yaml",
            ),
            Res::new(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}),
                "r.yaml",
            ),
        ];
        run(&mut rs, true, SubjectMode::AllServiceAccounts).unwrap();
        let subjects = &rs[0].obj["subjects"];
        assert_eq!(subjects[0]["namespace"], "target");
        assert_eq!(subjects[1]["namespace"], "kept");
        assert_eq!(subjects[2]["namespace"], "target");
        assert!(subjects[3].get("namespace").is_none());
        assert!(subjects[4].get("namespace").is_none());
        assert_eq!(rs[1].namespace(), "mine");
        // unsetOnly keeps a Namespace object's name too.
        assert_eq!(rs[2].name(), "n");
    }

    #[test]
    fn none_mode_leaves_subjects_alone() {
        let mut rs = vec![binding(
            "rbac.authorization.k8s.io",
            json!([{"kind": "ServiceAccount", "name": "default"}]),
        )];
        run(&mut rs, false, SubjectMode::None).unwrap();
        assert!(rs[0].obj["subjects"][0].get("namespace").is_none());
        assert_eq!(rs[0].namespace(), "target");
    }

    #[test]
    fn namespace_objects_and_service_references() {
        let mut rs = vec![
            Res::new(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}),
                "r.yaml",
            ),
            Res::new(
                json!({"apiVersion": "example.com/v1", "kind": "Namespace",
                    "metadata": {"name": "custom"}}),
                "r.yaml",
            ),
            Res::new(
                json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                    "metadata": {"name": "v1.local"}, "spec": {"group": "local"}}),
                "r.yaml",
            ),
        ];
        run(&mut rs, false, SubjectMode::DefaultOnly).unwrap();
        assert_eq!(rs[0].name(), "target");
        assert_eq!(rs[0].obj["metadata"].get("namespace"), None);
        // Only a core v1 Namespace is renamed; another group's kind is namespaced.
        assert_eq!(rs[1].name(), "custom");
        assert_eq!(rs[1].namespace(), "target");
        // The APIService field spec creates the service reference.
        assert_eq!(rs[2].obj["spec"]["service"], json!({"namespace": "target"}));
    }

    #[test]
    fn two_namespace_objects_conflict() {
        let mut rs: Vec<Res> = ["a", "b"]
            .iter()
            .map(|n| {
                Res::new(
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}),
                    "r.yaml",
                )
            })
            .collect();
        let err = run(&mut rs, false, SubjectMode::DefaultOnly).unwrap_err();
        assert!(err.to_string().contains("ID conflict"), "{err}");
    }

    #[test]
    fn subject_mode_values() {
        let k = kustomization();
        assert_eq!(
            SubjectMode::parse(&k, None).unwrap(),
            SubjectMode::DefaultOnly
        );
        assert_eq!(
            SubjectMode::parse(&k, Some(&json!(""))).unwrap(),
            SubjectMode::DefaultOnly
        );
        assert_eq!(
            SubjectMode::parse(&k, Some(&json!("allServiceAccounts"))).unwrap(),
            SubjectMode::AllServiceAccounts
        );
        assert_eq!(
            SubjectMode::parse(&k, Some(&json!("none"))).unwrap(),
            SubjectMode::None
        );
        assert!(SubjectMode::parse(&k, Some(&json!("all"))).is_err());
    }

    #[test]
    fn splits_images() {
        assert_eq!(split_image("nginx"), ("nginx", None, None));
        assert_eq!(split_image("nginx:1.2"), ("nginx", Some("1.2"), None));
        assert_eq!(
            split_image("my.reg:5000/a/b:t@sha256:x"),
            ("my.reg:5000/a/b", Some("t"), Some("sha256:x"))
        );
        assert_eq!(split_image("my.reg:5000/a"), ("my.reg:5000/a", None, None));
    }
}
