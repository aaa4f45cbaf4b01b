//! `patches`, `patchesStrategicMerge` and `patchesJson6902`.

use serde_json::Value;

use super::res::{Res, str_at};
use super::select::Selector;
use super::{Builder, Error, Kustomization};
use fleet_smp::schema::Schema;
use fleet_smp::{self as smp, MergeOptions};

/// The content of one patch entry, and where it came from.
struct PatchText {
    origin: String,
    text: String,
}

enum Parsed {
    Json6902(Value),
    Strategic(Vec<Value>),
}

fn parse_patch(p: &PatchText) -> Result<Parsed, Error> {
    let docs = fleet_core::yaml::documents(&p.text).map_err(|e| Error::Patch {
        file: p.origin.clone(),
        message: format!("invalid patch: {e}"),
    })?;
    let docs: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
    match docs.as_slice() {
        [] => Err(Error::Patch {
            file: p.origin.clone(),
            message: "the patch is empty: it illegally qualifies as both an SM and JSON patch"
                .into(),
        }),
        [Value::Array(_)] => Ok(Parsed::Json6902(docs[0].clone())),
        _ => {
            if let Some(bad) = docs.iter().find(|d| !d.is_object()) {
                return Err(Error::Patch {
                    file: p.origin.clone(),
                    message: format!(
                        "invalid patch: expected a map or a list of operations, found {bad}"
                    ),
                });
            }
            // A strategic merge patch is read like a resource (kyaml nodes), so its plain
            // timestamps print as kustomize prints them; a JSON patch's values are decoded
            // as JSON and stay as written.
            let retimed =
                super::timestamp::retime(&p.text, false).map_err(|message| Error::Patch {
                    file: p.origin.clone(),
                    message: format!("invalid patch: {message}"),
                })?;
            if let std::borrow::Cow::Owned(text) = retimed {
                let docs = fleet_core::yaml::documents(&text).map_err(|e| Error::Patch {
                    file: p.origin.clone(),
                    message: format!("invalid patch: {e}"),
                })?;
                return Ok(Parsed::Strategic(
                    docs.into_iter().filter(|d| !d.is_null()).collect(),
                ));
            }
            Ok(Parsed::Strategic(docs))
        }
    }
}

fn load_text(
    b: &Builder<'_>,
    k: &Kustomization,
    field: &str,
    entry: &Value,
) -> Result<PatchText, Error> {
    let path = entry
        .get("path")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let inline = entry.get("patch").and_then(Value::as_str);
    match (path, inline) {
        (Some(_), Some(_)) => Err(Error::Patch {
            file: k.file.clone(),
            message: format!("{field}: patch and path cannot be set at the same time"),
        }),
        (Some(path), None) => {
            let (file, bytes) = b.read_file(k, field, path)?;
            Ok(PatchText {
                origin: file,
                text: String::from_utf8_lossy(&bytes).into_owned(),
            })
        }
        (None, Some(text)) => Ok(PatchText {
            origin: k.file.clone(),
            text: text.to_string(),
        }),
        (None, None) => Err(Error::Patch {
            file: k.file.clone(),
            message: format!("{field}: must specify one of patch and path"),
        }),
    }
}

fn apply_strategic(
    schema: &Schema,
    r: &mut Res,
    patch: &Value,
    allow_name: bool,
    allow_kind: bool,
    origin: &str,
) -> Result<bool, Error> {
    let name = r.name().to_string();
    let namespace = r.obj.pointer("/metadata/namespace").cloned();
    let kind = r.obj.get("kind").cloned();
    let api_version = r.obj.get("apiVersion").cloned();
    let merged = smp::merge(&r.obj, patch, schema, &MergeOptions::kustomize()).map_err(|e| {
        Error::Patch {
            file: origin.to_string(),
            message: format!("applying patch to {}: {e}", r.id_string()),
        }
    })?;
    let Some(mut merged) = merged else {
        return Ok(false);
    };
    let new_name = str_at(&merged, &["metadata", "name"])
        .unwrap_or("")
        .to_string();
    if let Some(m) = merged.as_object_mut() {
        if !allow_kind {
            if let Some(k) = kind {
                m.insert("kind".into(), k);
            }
            if let Some(a) = api_version {
                m.insert("apiVersion".into(), a);
            }
        }
        if let Some(Value::Object(meta)) = m.get_mut("metadata") {
            meta.insert("name".into(), Value::String(name.clone()));
            match namespace {
                Some(ns) => {
                    meta.insert("namespace".into(), ns);
                }
                None => {
                    meta.remove("namespace");
                }
            }
        }
    }
    let old_kind = r.kind().to_string();
    r.obj = merged;
    if r.kind() != old_kind {
        r.prev_kinds.push(old_kind);
    }
    if allow_name && !new_name.is_empty() && new_name != name {
        r.set_name(&new_name);
    }
    Ok(true)
}

/// Finds the one resource a target-less strategic patch addresses by its own id.
fn find_by_id(resources: &[Res], patch: &Value, origin: &str) -> Result<usize, Error> {
    let kind = str_at(patch, &["kind"]).unwrap_or("");
    let api = str_at(patch, &["apiVersion"]).unwrap_or("");
    let name = str_at(patch, &["metadata", "name"]).unwrap_or("");
    let ns = str_at(patch, &["metadata", "namespace"]);
    let (group, version) = fleet_core::meta::split_api_version(api);
    let candidates: Vec<usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            let current = r.kind() == kind
                && (api.is_empty()
                    || (r.group() == group && (version.is_empty() || r.version() == version)))
                && r.had_name(name);
            // An object whose kind a patch changed is still found by its original id.
            let original = r.prev_kinds.first().is_some_and(|k| k == kind)
                && r.prev_names.first().map_or(r.name(), String::as_str) == name;
            current || original
        })
        .map(|(i, _)| i)
        .collect();
    let candidates: Vec<usize> = match ns {
        Some(ns) => candidates
            .into_iter()
            .filter(|i| resources[*i].had_namespace(ns))
            .collect(),
        None => {
            let plain: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|i| resources[*i].had_namespace(""))
                .collect();
            if plain.is_empty() { candidates } else { plain }
        }
    };
    match candidates.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::Patch {
            file: origin.to_string(),
            message: format!(
                "no resource matches strategic merge patch \"{kind}.{version}.{}/{name}.{}\"",
                if group.is_empty() { "[noGrp]" } else { group },
                ns.unwrap_or("[noNs]")
            ),
        }),
        _ => Err(Error::Patch {
            file: origin.to_string(),
            message: format!("multiple resources match strategic merge patch {kind} '{name}'"),
        }),
    }
}

fn apply_strategic_by_id(
    schema: &Schema,
    resources: &mut Vec<Res>,
    patch: &Value,
    origin: &str,
) -> Result<(), Error> {
    let i = find_by_id(resources, patch, origin)?;
    if !apply_strategic(schema, &mut resources[i], patch, false, false, origin)? {
        resources.remove(i);
    }
    Ok(())
}

/// `patchesStrategicMerge:` — file paths or inline patches, addressed by their own ids.
pub(super) fn strategic_legacy(
    b: &Builder<'_>,
    k: &Kustomization,
    resources: &mut Vec<Res>,
) -> Result<(), Error> {
    for entry in k.list("patchesStrategicMerge")? {
        let Value::String(s) = &entry else {
            return Err(k.invalid("patchesStrategicMerge: entries must be strings".into()));
        };
        let looks_inline = s.contains('\n') || s.contains(": ");
        let p = if looks_inline {
            PatchText {
                origin: k.file.clone(),
                text: s.clone(),
            }
        } else {
            let (file, bytes) = b.read_file(k, "patchesStrategicMerge", s)?;
            PatchText {
                origin: file,
                text: String::from_utf8_lossy(&bytes).into_owned(),
            }
        };
        match parse_patch(&p)? {
            Parsed::Strategic(docs) => {
                for doc in docs {
                    apply_strategic_by_id(b.schema(), resources, &doc, &p.origin)?;
                }
            }
            Parsed::Json6902(_) => {
                return Err(Error::Patch {
                    file: p.origin,
                    message:
                        "patchesStrategicMerge entry is a JSON patch; use patches with a target"
                            .into(),
                });
            }
        }
    }
    Ok(())
}

fn apply_json(
    resources: &mut [Res],
    ops: &Value,
    selector: &Selector,
    origin: &str,
) -> Result<(), Error> {
    for r in resources.iter_mut().filter(|r| selector.matches(r)) {
        let mut obj = r.obj.clone();
        smp::apply_json6902(&mut obj, ops).map_err(|e| Error::Patch {
            file: origin.to_string(),
            message: format!("invalid JSON patch for {}: {e}", r.id_string()),
        })?;
        let new_name = str_at(&obj, &["metadata", "name"])
            .unwrap_or("")
            .to_string();
        let old_name = r.name().to_string();
        if new_name != old_name {
            // Keep the history straight for name references.
            if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
                meta.insert("name".into(), Value::String(old_name));
            }
            r.obj = obj;
            r.set_name(&new_name);
        } else {
            r.obj = obj;
        }
    }
    Ok(())
}

/// `patches:`.
pub(super) fn patches(
    b: &Builder<'_>,
    k: &Kustomization,
    resources: &mut Vec<Res>,
) -> Result<(), Error> {
    for entry in k.list("patches")? {
        if !entry.is_object() {
            return Err(k.invalid("patches: each entry must be a map".into()));
        }
        let p = load_text(b, k, "patches", &entry)?;
        let target = entry.get("target").filter(|t| !t.is_null());
        let selector = target
            .map(Selector::parse)
            .transpose()
            .map_err(|m| Error::Patch {
                file: k.file.clone(),
                message: format!("patches: {m}"),
            })?;
        let opt = |key: &str| {
            entry
                .get("options")
                .and_then(|o| o.get(key))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        let (allow_name, allow_kind) = (opt("allowNameChange"), opt("allowKindChange"));
        match (parse_patch(&p)?, selector) {
            (Parsed::Json6902(ops), Some(sel)) => apply_json(resources, &ops, &sel, &p.origin)?,
            (Parsed::Json6902(_), None) => {
                return Err(Error::Patch {
                    file: p.origin,
                    message: "unable to apply a JSON patch without a target".into(),
                });
            }
            (Parsed::Strategic(docs), Some(sel)) => {
                for doc in &docs {
                    let mut i = 0;
                    while i < resources.len() {
                        if sel.matches(&resources[i])
                            && !apply_strategic(
                                b.schema(),
                                &mut resources[i],
                                doc,
                                allow_name,
                                allow_kind,
                                &p.origin,
                            )?
                        {
                            resources.remove(i);
                            continue;
                        }
                        i += 1;
                    }
                }
            }
            (Parsed::Strategic(docs), None) => {
                for doc in &docs {
                    if allow_name || allow_kind {
                        let i = find_by_id(resources, doc, &p.origin)?;
                        if !apply_strategic(
                            b.schema(),
                            &mut resources[i],
                            doc,
                            allow_name,
                            allow_kind,
                            &p.origin,
                        )? {
                            resources.remove(i);
                        }
                    } else {
                        apply_strategic_by_id(b.schema(), resources, doc, &p.origin)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// `patchesJson6902:`.
pub(super) fn json6902_legacy(
    b: &Builder<'_>,
    k: &Kustomization,
    resources: &mut [Res],
) -> Result<(), Error> {
    for entry in k.list("patchesJson6902")? {
        let p = load_text(b, k, "patchesJson6902", &entry)?;
        let Some(target) = entry.get("target") else {
            return Err(Error::Patch {
                file: k.file.clone(),
                message: "patchesJson6902: a target is required".into(),
            });
        };
        let sel = Selector::parse(target).map_err(|m| Error::Patch {
            file: k.file.clone(),
            message: format!("patchesJson6902: {m}"),
        })?;
        match parse_patch(&p)? {
            Parsed::Json6902(ops) => apply_json(resources, &ops, &sel, &p.origin)?,
            Parsed::Strategic(_) => {
                return Err(Error::Patch {
                    file: p.origin,
                    message: "patchesJson6902: the patch is not a list of operations".into(),
                });
            }
        }
    }
    Ok(())
}
