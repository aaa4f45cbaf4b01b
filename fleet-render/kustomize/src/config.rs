//! `configurations:` — transformer configuration files adding field specs to the builtin
//! transformers (labels, annotations, images, namespace, name and variable references).

use serde_json::Value;

use super::transform::FieldSpec;
use super::{Builder, Error, Kustomization};

/// Field specs added by configuration files (all files of the build, as kustomize merges
/// them).
#[derive(Debug, Clone, Default)]
pub(crate) struct Config {
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    /// Extra fields the namespace transformer writes (`namespace:` of a configuration).
    pub namespace: Vec<FieldSpec>,
    /// `namePrefix:` and `nameSuffix:` field specs of configurations. When they include
    /// `metadata/name` specs naming a kind, only the kinds those select are renamed:
    /// `kubectl kustomize` v5.5.0 then no longer renames every object, even with a kind-less
    /// `metadata/name` spec listed beside them (observed; kind-less specs alone keep the
    /// default).
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub var_reference: Vec<FieldSpec>,
    /// `(group, kind)` of the referred object → fields that refer to it.
    pub name_reference: Vec<((String, String), Vec<FieldSpec>)>,
    /// From `crds:` files: `(field, referred kind)` for fields of custom kinds marked with
    /// `x-kubernetes-object-ref-kind`; the field holds a `name`.
    pub crd_refs: Vec<(String, String)>,
}

fn collect_refs(v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(props)) = m.get("properties") {
                for (name, prop) in props {
                    if let Some(kind) = prop
                        .get("x-kubernetes-object-ref-kind")
                        .and_then(Value::as_str)
                    {
                        let entry = (name.clone(), kind.to_string());
                        if !out.contains(&entry) {
                            out.push(entry);
                        }
                    }
                }
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

fn specs(v: Option<&Value>) -> Vec<FieldSpec> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let s = |key: &str| {
                item.get(key)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            Some(FieldSpec {
                group: s("group"),
                version: s("version"),
                kind: s("kind"),
                path: s("path")?,
                create: item.get("create").and_then(Value::as_bool).unwrap_or(false),
            })
        })
        .collect()
}

/// Reads the kustomization's configuration files into `config`.
pub(super) fn load(b: &Builder<'_>, k: &Kustomization, config: &mut Config) -> Result<(), Error> {
    for entry in k.str_list("crds")? {
        let (file, bytes) = b.read_file(k, "crds", &entry)?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let doc = fleet_core::yaml::from_str_value(&text).map_err(|e| Error::Yaml {
            file: file.clone(),
            message: e.to_string(),
        })?;
        collect_refs(&doc, &mut config.crd_refs);
    }
    for entry in k.str_list("configurations")? {
        let (file, bytes) = b.read_file(k, "configurations", &entry)?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let doc = fleet_core::yaml::from_str_value(&text).map_err(|e| Error::Yaml {
            file: file.clone(),
            message: e.to_string(),
        })?;
        config.common_labels.extend(specs(doc.get("commonLabels")));
        config
            .template_labels
            .extend(specs(doc.get("templateLabels")));
        config.labels.extend(specs(doc.get("labels")));
        config
            .common_annotations
            .extend(specs(doc.get("commonAnnotations")));
        config.images.extend(specs(doc.get("images")));
        config.namespace.extend(specs(doc.get("namespace")));
        config.name_prefix.extend(specs(doc.get("namePrefix")));
        config.name_suffix.extend(specs(doc.get("nameSuffix")));
        config.var_reference.extend(specs(doc.get("varReference")));
        for nr in doc
            .get("nameReference")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let kind = nr
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let group = nr
                .get("group")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let fs = specs(nr.get("fieldSpecs"));
            config.name_reference.push(((group, kind), fs));
        }
    }
    Ok(())
}
