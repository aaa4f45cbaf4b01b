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

/// `namespace:`.
pub(super) fn namespace(
    k: &Kustomization,
    resources: &mut [Res],
    schema: &Schema,
) -> Result<(), Error> {
    let Some(ns) = k.string("namespace")?.filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    for r in resources.iter_mut() {
        if r.kind() == "Namespace" && r.group().is_empty() {
            // kustomize renames a core Namespace object to the target namespace.
            continue;
        }
        if !cluster_scoped(r, schema) {
            r.set_namespace(&ns);
        }
        match (r.group(), r.kind()) {
            ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
                if let Some(Value::Array(subjects)) = r.obj.pointer_mut("/subjects") {
                    for s in subjects {
                        let is_sa = s.get("kind").and_then(Value::as_str) == Some("ServiceAccount");
                        let is_default = s.get("name").and_then(Value::as_str) == Some("default");
                        if is_sa
                            && is_default
                            && let Value::Object(m) = s
                        {
                            m.insert("namespace".into(), Value::String(ns.clone()));
                        }
                    }
                }
            }
            ("apiregistration.k8s.io", "APIService") => {
                if let Some(Value::Object(svc)) = r.obj.pointer_mut("/spec/service") {
                    svc.insert("namespace".into(), Value::String(ns.clone()));
                }
            }
            ("apiextensions.k8s.io", "CustomResourceDefinition") => {
                if let Some(Value::Object(svc)) = r
                    .obj
                    .pointer_mut("/spec/conversion/webhook/clientConfig/service")
                {
                    svc.insert("namespace".into(), Value::String(ns.clone()));
                }
            }
            _ => {}
        }
    }
    // A lone core Namespace object takes the target name.
    let namespaces: Vec<usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind() == "Namespace" && r.group().is_empty())
        .map(|(i, _)| i)
        .collect();
    if namespaces.len() == 1 {
        resources[namespaces[0]].set_name(&ns);
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
pub(super) fn prefix_suffix(k: &Kustomization, resources: &mut [Res]) -> Result<(), Error> {
    let prefix = k.string("namePrefix")?.unwrap_or_default();
    let suffix = k.string("nameSuffix")?.unwrap_or_default();
    if prefix.is_empty() && suffix.is_empty() {
        return Ok(());
    }
    for r in resources.iter_mut() {
        if skip_rename(r) {
            continue;
        }
        let name = format!("{prefix}{}{suffix}", r.name());
        r.set_name(&name);
        if !prefix.is_empty() {
            r.prefixes.push(prefix.clone());
        }
        if !suffix.is_empty() {
            r.suffixes.push(suffix.clone());
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
