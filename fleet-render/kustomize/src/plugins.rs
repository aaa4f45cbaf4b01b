//! `generators:` and `transformers:` naming kustomize's builtin plugins (`apiVersion:
//! builtin`): each configuration is turned into the equivalent kustomization fields and run
//! by the same code. Other plugins (exec, Go, KRM functions) are unsupported.

use serde_json::{Map, Value, json};

use super::res::Res;
use super::{Builder, Error, Kustomization, generate, patch, replace, transform};

/// Reads the plugin configurations an entry names: a file, a directory holding a
/// kustomization (its output), or inline YAML; with the file they are configured in (the
/// kustomization itself for inline ones).
fn configs(
    b: &mut Builder<'_>,
    k: &Kustomization,
    field: &str,
    entry: &str,
) -> Result<(String, Vec<Value>), Error> {
    if entry.contains('\n') || entry.contains(": ") {
        return fleet_core::yaml::documents(entry)
            .map(|d| {
                (
                    k.file.clone(),
                    d.into_iter().filter(|v| !v.is_null()).collect(),
                )
            })
            .map_err(|e| Error::Yaml {
                file: k.file.clone(),
                message: format!("{field}: {e}"),
            });
    }
    let path = b.resolve(k, field, entry)?;
    if b.files.is_dir(&path) {
        let (resources, _) = b.kustomization(&path, Vec::new(), false)?;
        return Ok((path, resources.into_iter().map(|r| r.obj).collect()));
    }
    let text = b.text(&path)?;
    fleet_core::yaml::documents(&text)
        .map(|d| d.into_iter().filter(|v| !v.is_null()).collect())
        .map(|d| (path.clone(), d))
        .map_err(|e| Error::Yaml {
            file: path.clone(),
            message: e.to_string(),
        })
}

fn unsupported(k: &Kustomization, field: &str, config: &Value) -> Error {
    let api = config
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = config.get("kind").and_then(Value::as_str).unwrap_or("");
    Error::Unsupported {
        file: k.file.clone(),
        field: field.into(),
        detail: format!(": plugin {api}/{kind} is not implemented"),
    }
}

/// A kustomization that carries `body` but reads files relative to `k`.
fn synthetic(k: &Kustomization, body: Value) -> Kustomization {
    Kustomization {
        file: k.file.clone(),
        dir: k.dir.clone(),
        body: match body {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        sort_options: None,
        plugin_meta: None,
    }
}

/// Runs the kustomization's `generators:`.
pub(super) fn generators(
    b: &mut Builder<'_>,
    k: &Kustomization,
    resources: &mut Vec<Res>,
) -> Result<(), Error> {
    for entry in k.str_list("generators")? {
        let (source, found) = configs(b, k, "generators", &entry)?;
        for config in found {
            if config.get("apiVersion").and_then(Value::as_str) != Some("builtin") {
                return Err(unsupported(k, "generators", &config));
            }
            let kind = config.get("kind").and_then(Value::as_str).unwrap_or("");
            let field = match kind {
                "ConfigMapGenerator" => "configMapGenerator",
                "SecretGenerator" => "secretGenerator",
                "IAMPolicyGenerator" => {
                    iam_policy(k, &config, resources)?;
                    continue;
                }
                _ => return Err(unsupported(k, "generators", &config)),
            };
            let mut spec = config.as_object().cloned().unwrap_or_default();
            spec.remove("apiVersion");
            spec.remove("kind");
            let mut plugin_meta = None;
            if let Some(Value::Object(meta)) = spec.remove("metadata") {
                plugin_meta = meta.get("name").map(super::scalar_string).map(|name| {
                    let ns = meta
                        .get("namespace")
                        .map(super::scalar_string)
                        .filter(|n| !n.is_empty());
                    (name, ns)
                });
                // The generator's own name and namespace win; the plugin's metadata fills
                // them in when they are missing (the builtin plugins' Config).
                for key in ["name", "namespace"] {
                    let missing = spec
                        .get(key)
                        .is_none_or(|v| v.is_null() || v.as_str() == Some(""));
                    if let (true, Some(v)) = (missing, meta.get(key)) {
                        spec.insert(key.into(), v.clone());
                    }
                }
            }
            let mut sk = synthetic(k, json!({ field: [Value::Object(spec)] }));
            sk.file = source.clone();
            sk.plugin_meta = plugin_meta;
            generate::run(b, &sk, resources)?;
        }
    }
    Ok(())
}

/// The builtin `IAMPolicyGenerator` (`cloud: gke`): a ServiceAccount bound to a Google service
/// account through the `iam.gke.io/gcp-service-account` annotation.
fn iam_policy(k: &Kustomization, config: &Value, resources: &mut Vec<Res>) -> Result<(), Error> {
    let s = |p: &str| {
        config
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if s("/cloud") != "gke" {
        return Err(unsupported(k, "generators", config));
    }
    let (name, gsa, project) = (
        s("/kubernetesService/name"),
        s("/serviceAccount/name"),
        s("/serviceAccount/projectId"),
    );
    if name.is_empty() || gsa.is_empty() || project.is_empty() {
        return Err(Error::Generator {
            file: k.file.clone(),
            name: s("/metadata/name"),
            message: "IAMPolicyGenerator needs kubernetesService.name, serviceAccount.name and serviceAccount.projectId".into(),
        });
    }
    let mut meta = json!({
        "name": name,
        "annotations": {"iam.gke.io/gcp-service-account": format!("{gsa}@{project}.iam.gserviceaccount.com")},
    });
    let ns = s("/kubernetesService/namespace");
    if !ns.is_empty() {
        meta["namespace"] = Value::String(ns);
    }
    let obj = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta});
    super::add_resource(resources, Res::new(obj, &k.file), &k.file)
}

/// Runs the kustomization's `transformers:`.
pub(super) fn transformers(
    b: &mut Builder<'_>,
    k: &Kustomization,
    resources: &mut Vec<Res>,
) -> Result<(), Error> {
    for entry in k.str_list("transformers")? {
        let (source, found) = configs(b, k, "transformers", &entry)?;
        for config in found {
            if config.get("apiVersion").and_then(Value::as_str) != Some("builtin") {
                return Err(unsupported(k, "transformers", &config));
            }
            run_transformer(b, k, &config, resources)?;
            let meta = |key: &str| {
                config
                    .pointer(&format!("/metadata/{key}"))
                    .map(super::scalar_string)
            };
            let kind = config.get("kind").and_then(Value::as_str).unwrap_or("");
            b.record_plugin(
                resources,
                &source,
                "builtin",
                kind,
                meta("name").as_deref(),
                meta("namespace").as_deref(),
            );
        }
    }
    Ok(())
}

/// Runs one builtin transformer configuration.
fn run_transformer(
    b: &mut Builder<'_>,
    k: &Kustomization,
    config: &Value,
    resources: &mut Vec<Res>,
) -> Result<(), Error> {
    let get = |key: &str| config.get(key).cloned().unwrap_or(Value::Null);
    let kind = config.get("kind").and_then(Value::as_str).unwrap_or("");
    match kind {
        "PatchTransformer" => {
            let mut p = Map::new();
            for key in ["path", "patch", "target", "options"] {
                if let Some(v) = config.get(key).filter(|v| !v.is_null()) {
                    p.insert(key.into(), v.clone());
                }
            }
            let sk = synthetic(k, json!({"patches": [Value::Object(p)]}));
            patch::patches(b, &sk, resources)?;
        }
        "PatchJson6902Transformer" => {
            let mut p = Map::new();
            p.insert("target".into(), get("target"));
            if let Some(path) = config.get("path").filter(|v| !v.is_null()) {
                p.insert("path".into(), path.clone());
            }
            if let Some(op) = config.get("jsonOp").filter(|v| !v.is_null()) {
                p.insert("patch".into(), op.clone());
            }
            let sk = synthetic(k, json!({"patchesJson6902": [Value::Object(p)]}));
            patch::json6902_legacy(b, &sk, resources)?;
        }
        "PatchStrategicMergeTransformer" => {
            let mut list: Vec<Value> = config
                .get("paths")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(Value::String(p)) = config.get("patches") {
                list.push(Value::String(p.clone()));
            }
            let sk = synthetic(k, json!({"patchesStrategicMerge": list}));
            patch::strategic_legacy(b, &sk, resources)?;
        }
        "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
            let sk = synthetic(
                k,
                json!({"namePrefix": get("prefix"), "nameSuffix": get("suffix")}),
            );
            let specs = transform::parse_fieldspecs(k, config.get("fieldSpecs"), kind)?;
            if specs.is_empty() {
                transform::prefix_suffix(&sk, resources, &Default::default())?;
            } else {
                // Only the kinds the field specs name are renamed.
                for r in resources.iter_mut() {
                    if specs
                        .iter()
                        .any(|s| s.path == "metadata/name" && s.applies(r))
                    {
                        transform::prefix_suffix(
                            &sk,
                            std::slice::from_mut(r),
                            &Default::default(),
                        )?;
                    }
                }
            }
        }
        "LabelTransformer" | "AnnotationsTransformer" => {
            let key = if kind == "LabelTransformer" {
                "labels"
            } else {
                "annotations"
            };
            let pairs: Vec<(String, String)> = config
                .get(key)
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(a, v)| (a.clone(), super::scalar_string(v)))
                        .collect()
                })
                .unwrap_or_default();
            let specs = transform::parse_fieldspecs(k, config.get("fieldSpecs"), kind)?;
            if specs.is_empty() {
                let sk = if kind == "LabelTransformer" {
                    synthetic(k, json!({"labels": [{"pairs": get(key)}]}))
                } else {
                    synthetic(k, json!({"commonAnnotations": get(key)}))
                };
                transform::labels(&sk, resources, &Default::default())?;
                transform::annotations(&sk, resources, &Default::default())?;
            } else {
                transform::add_pairs(resources, &pairs, &specs);
            }
        }
        "NamespaceTransformer" => {
            let opts = transform::NamespaceOptions {
                namespace: config
                    .pointer("/metadata/namespace")
                    .map(super::scalar_string)
                    .unwrap_or_default(),
                unset_only: config
                    .get("unsetOnly")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                subjects: transform::SubjectMode::parse(k, config.get("setRoleBindingSubjects"))?,
                specs: transform::parse_fieldspecs(k, config.get("fieldSpecs"), kind)?,
            };
            transform::apply_namespace(k, resources, b.schema(), &opts)?;
        }
        "ReplicaCountTransformer" => {
            let sk = synthetic(k, json!({"replicas": [get("replica")]}));
            transform::replicas(&sk, resources)?;
        }
        "ReplacementTransformer" => {
            let sk = synthetic(k, json!({"replacements": get("replacements")}));
            replace::run(b, &sk, resources)?;
        }
        "ImageTagTransformer" => {
            let sk = synthetic(k, json!({"images": [get("imageTag")]}));
            transform::images(&sk, resources, &Default::default())?;
        }
        _ => return Err(unsupported(k, "transformers", config)),
    }
    Ok(())
}
