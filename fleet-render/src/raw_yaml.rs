//! Raw YAML bundles and Fleet's `yaml.overlays`.
//!
//! The steps of Fleet's agent for a bundle rendered in raw-YAML style
//! (`internal/helmdeployer/render/patch/patch.go`, `render/helm.go`, `rawyaml/resources.go`):
//!
//! 1. [`name_resources`]: resources without a name become `manifests/file%03d.yaml` (by index).
//! 2. [`apply_overlays`]: for each selected overlay in order, each file
//!    `overlays/<name>/<path>` either replaces (or adds) `<path>`, or — when its base name holds
//!    `_patch.` — patches the file named with the first `_patch.` replaced by `.` in the same
//!    directory (which must exist). The patch and its target are read as YAML (first document;
//!    a list is allowed) and the result is JSON: RFC 6902 when the patch is a list, strategic
//!    merge for built-in Kubernetes kinds, JSON merge patch otherwise. Then every file under
//!    `overlays/` is dropped, selected or not.
//! 3. [`raw_objects`]: every `.yaml`, `.yml` and `.json` file except the root `fleet.yaml` /
//!    `fleet.yml` and anything in a directory holding a nested `fleet.yaml`, `fleet.yml` or
//!    `Chart.yaml` is read as a multi-document stream. Empty documents are skipped; a document
//!    without `kind` makes Fleet skip the *whole file*; documents without `apiVersion` are
//!    dropped; an object with an `items` field is a list and gives its items. Files are read in
//!    name order. Files under `templates/` are Helm templates, not raw YAML: they are returned
//!    separately by [`split_templates`] for a chart renderer.
//!
//! An empty replacement file therefore removes a resource, and a `_patch.` file applied to a
//! multi-document file keeps only the patched first document (both as in Fleet).

use serde_json::Value;

use crate::files::Files;
use crate::schema::{Gvk, Schema};
use crate::smp;

/// The directory of overlays in a bundle.
pub const OVERLAY_PREFIX: &str = "overlays/";

/// An error rendering a raw YAML bundle.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `_patch.` file whose target does not exist.
    #[error("overlay {overlay:?}: failed to find base file {target} to patch (patch {patch})")]
    PatchTargetMissing {
        /// The overlay name.
        overlay: String,
        /// The patch file.
        patch: String,
        /// The file it should patch.
        target: String,
    },
    /// A file that is not valid YAML.
    #[error("{file}: {source}")]
    Yaml {
        /// The file name.
        file: String,
        /// What the YAML reader said.
        #[source]
        source: fleet_core::yaml::Error,
    },
    /// A patch that does not apply, or is not a valid patch.
    #[error("failed to patch {target} with {patch}: {reason}")]
    Patch {
        /// The patch file.
        patch: String,
        /// The patched file.
        target: String,
        /// Why.
        reason: String,
    },
    /// A document of a raw YAML file that is not an object.
    #[error("{file}: document {index} is not an object: {reason}")]
    NotAnObject {
        /// The file name.
        file: String,
        /// The document's position (0-based).
        index: usize,
        /// Why.
        reason: String,
    },
    /// A resource name that is not a valid relative path.
    #[error("resource name: {0}")]
    Path(#[from] crate::files::PathError),
    /// A file that is not UTF-8.
    #[error("{file}: not UTF-8 text")]
    NotText {
        /// The file name.
        file: String,
    },
}

/// Builds the bundle's file tree from its resources `(name, content)`, naming resources without
/// a name `manifests/file%03d.yaml` by their index, as Fleet does.
pub fn name_resources<'a>(
    resources: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<Files, Error> {
    let mut files = Files::new();
    for (i, (name, content)) in resources.into_iter().enumerate() {
        if name.is_empty() {
            files.insert(&format!("manifests/file{i:03}.yaml"), content.to_vec())?;
        } else {
            files.insert(name, content.to_vec())?;
        }
    }
    Ok(files)
}

fn text<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str, Error> {
    std::str::from_utf8(bytes).map_err(|_| Error::NotText {
        file: file.to_string(),
    })
}

/// The target of a patch file: the base name's first `_patch.` replaced by `.`, same directory.
pub fn patch_target(name: &str) -> Option<String> {
    let (dir, base) = match name.rfind('/') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => ("", name),
    };
    base.contains("_patch.")
        .then(|| format!("{dir}{}", base.replacen("_patch.", ".", 1)))
}

/// Reads a file the way Fleet's overlay code does: the first YAML document, as a mapping or a
/// list (an empty file is `{}`).
fn read_patch_document(file: &str, bytes: &[u8]) -> Result<Value, Error> {
    let text = text(file, bytes)?;
    let docs = fleet_core::yaml::documents(text).map_err(|source| Error::Yaml {
        file: file.to_string(),
        source,
    })?;
    match docs.into_iter().next() {
        None | Some(Value::Null) => Ok(Value::Object(Default::default())),
        Some(doc @ (Value::Object(_) | Value::Array(_))) => Ok(doc),
        Some(other) => Err(Error::NotAnObject {
            file: file.to_string(),
            index: 0,
            reason: format!("expected a mapping or a list, found {other}"),
        }),
    }
}

/// The strategic merge patch used for overlays of built-in kinds: the server-side rules of
/// Kubernetes' `strategicpatch` (which wrangler's `patch.Apply` calls), i.e. merge keys from
/// the schema, patch-only list items appended, and the `$patch`, `$setElementOrder`,
/// `$deleteFromPrimitiveList` and `$retainKeys` directives. A patch deleting the whole object
/// gives `{}`.
pub fn strategic_merge(target: &Value, patch: &Value) -> Result<Value, String> {
    let opts = smp::MergeOptions {
        list_increase: smp::ListIncrease::Append,
        infer_keys: false,
        server_directives: true,
    };
    smp::merge(target, patch, Schema::builtin(), &opts)
        .map(|merged| merged.unwrap_or_else(|| Value::Object(Default::default())))
        .map_err(|e| e.to_string())
}

/// Applies one overlay patch document to a target document (wrangler's `patch.Apply`).
pub fn apply_patch(target: &Value, patch: &Value) -> Result<Value, String> {
    if patch.is_array() {
        let ops: json_patch::Patch = serde_json::from_value(patch.clone())
            .map_err(|e| format!("invalid JSON patch: {e}"))?;
        let mut out = target.clone();
        json_patch::patch(&mut out, &ops).map_err(|e| e.to_string())?;
        return Ok(out);
    }
    let gvk = Gvk::of(target);
    if !gvk.kind.is_empty() && Schema::builtin().knows_kind(&gvk) {
        strategic_merge(target, patch)
    } else {
        let mut out = target.clone();
        json_patch::merge(&mut out, patch);
        Ok(out)
    }
}

/// Applies the selected overlays (in order) and drops every file under `overlays/`.
pub fn apply_overlays(files: &Files, overlays: &[String]) -> Result<Files, Error> {
    let mut content: std::collections::BTreeMap<String, Vec<u8>> = files
        .iter()
        .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
        .collect();
    for overlay in overlays {
        let prefix = format!("{OVERLAY_PREFIX}{overlay}/");
        let entries: Vec<(String, Vec<u8>)> = content
            .range(prefix.clone()..)
            .take_while(|(name, _)| name.starts_with(&prefix))
            .map(|(name, bytes)| (name[prefix.len()..].to_string(), bytes.clone()))
            .collect();
        for (name, bytes) in entries {
            let Some(target) = patch_target(&name) else {
                content.insert(name, bytes);
                continue;
            };
            let patch_file = format!("{prefix}{name}");
            let Some(target_bytes) = content.get(&target) else {
                return Err(Error::PatchTargetMissing {
                    overlay: overlay.clone(),
                    patch: patch_file,
                    target,
                });
            };
            let base = read_patch_document(&target, target_bytes)?;
            let patch = read_patch_document(&patch_file, &bytes)?;
            let patched = apply_patch(&base, &patch).map_err(|reason| Error::Patch {
                patch: patch_file.clone(),
                target: target.clone(),
                reason,
            })?;
            let json = serde_json::to_vec(&patched).map_err(|e| Error::Patch {
                patch: patch_file.clone(),
                target: target.clone(),
                reason: e.to_string(),
            })?;
            content.insert(target, json);
        }
    }
    let mut out = Files::new();
    for (name, bytes) in content {
        if !name.starts_with(OVERLAY_PREFIX) {
            out.insert(&name, bytes)?;
        }
    }
    Ok(out)
}

fn is_fleet_yaml(name: &str) -> bool {
    name == "fleet.yaml" || name == "fleet.yml"
}

/// A file of a bundle: name and content.
pub type FileRef<'a> = (&'a str, &'a [u8]);

/// The raw YAML files of a bundle (after overlays), in name order, and the Helm templates
/// (`templates/...`) separately.
pub fn split_templates(files: &Files) -> (Vec<FileRef<'_>>, Vec<FileRef<'_>>) {
    let ignored: Vec<String> = files
        .iter()
        .filter_map(|(name, _)| {
            let dir = name.rfind('/').map(|i| &name[..i])?;
            let base = &name[dir.len() + 1..];
            (is_fleet_yaml(base) || base == "Chart.yaml").then(|| format!("{dir}/"))
        })
        .collect();
    let mut raw = Vec::new();
    let mut templates = Vec::new();
    for (name, bytes) in files.iter() {
        if is_fleet_yaml(name)
            || !(name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json"))
            || ignored
                .iter()
                .any(|prefix| name.starts_with(prefix.as_str()))
        {
            continue;
        }
        if name.starts_with("templates/") {
            templates.push((name, bytes));
        } else {
            raw.push((name, bytes));
        }
    }
    (raw, templates)
}

/// Reads the objects of one raw YAML file as Fleet's agent does (see the module docs).
pub fn file_objects(file: &str, bytes: &[u8]) -> Result<Vec<Value>, Error> {
    let text = text(file, bytes)?;
    let docs = fleet_core::yaml::documents(text).map_err(|source| Error::Yaml {
        file: file.to_string(),
        source,
    })?;
    let mut out = Vec::new();
    for (index, doc) in docs.into_iter().enumerate() {
        let map = match doc {
            Value::Null => continue,
            Value::Object(map) if map.is_empty() => continue,
            Value::Object(map) => map,
            other => {
                return Err(Error::NotAnObject {
                    file: file.to_string(),
                    index,
                    reason: format!("expected a mapping, found {other}"),
                });
            }
        };
        let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
        if kind.is_empty() {
            // Fleet's reader fails the whole file with a missing-kind error, and the agent
            // skips such a file.
            return Ok(Vec::new());
        }
        let api_version = map
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        // Fleet's rule for lists is not `fleet_core::yaml::list_items` (kubectl's and
        // kustomize's: a kind ending in `List`): Fleet's agent decodes each document with
        // apimachinery's unstructured JSON scheme (`unstructuredJSONScheme.decode`), which takes
        // any object with an `items` field for a list, whatever its kind, `items: null` being an
        // empty list; an item without both kind and apiVersion gets the list's apiVersion and
        // its kind minus `List` (`decodeToList`).
        if let Some(items) = map.get("items") {
            let items: &[Value] = match items {
                Value::Null => &[],
                Value::Array(items) => items,
                _ => {
                    return Err(Error::NotAnObject {
                        file: file.to_string(),
                        index,
                        reason: "items is not a list".to_string(),
                    });
                }
            };
            let item_kind = kind.strip_suffix("List").unwrap_or(kind).to_string();
            for item in items {
                let Value::Object(mut item) = item.clone() else {
                    return Err(Error::NotAnObject {
                        file: file.to_string(),
                        index,
                        reason: "a list item is not a mapping".to_string(),
                    });
                };
                let unset = |key: &str| {
                    item.get(key)
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                };
                if unset("kind") && unset("apiVersion") {
                    item.insert("kind".to_string(), Value::from(item_kind.as_str()));
                    item.insert("apiVersion".to_string(), Value::from(api_version.as_str()));
                }
                let keep = item
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .is_some_and(|v| !v.is_empty());
                if keep {
                    out.push(Value::Object(item));
                }
            }
            continue;
        }
        if api_version.is_empty() {
            continue;
        }
        out.push(Value::Object(map));
    }
    Ok(out)
}

/// The raw YAML objects of a bundle's files (after overlays), in file-name order.
pub fn raw_objects(files: &Files) -> Result<Vec<Value>, Error> {
    let (raw, _) = split_templates(files);
    let mut out = Vec::new();
    for (name, bytes) in raw {
        out.extend(file_objects(name, bytes)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_targets() {
        assert_eq!(patch_target("a/b_patch.yaml").as_deref(), Some("a/b.yaml"));
        assert_eq!(
            patch_target("x_patch.y_patch.yaml").as_deref(),
            Some("x.y_patch.yaml")
        );
        assert_eq!(patch_target("a_patch/b.yaml"), None);
    }
}
