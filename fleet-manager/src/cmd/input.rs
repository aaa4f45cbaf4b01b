//! Reading Kubernetes objects from multi-document YAML files (or `kind: List`).

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// One object read from a file, with where it came from (for messages).
pub struct Doc {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// The object.
    pub value: Value,
    /// `<file>: <kind> <namespace/name>`.
    pub origin: String,
}

/// Reads every object of a YAML file; `List` objects are expanded into their items.
pub fn read_docs(path: &Path) -> Result<Vec<Doc>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let docs = fleet_core::yaml::documents(&text)
        .with_context(|| format!("{}: invalid YAML", path.display()))?;
    let mut out = Vec::new();
    let mut stack: Vec<Value> = docs.into_iter().rev().collect();
    while let Some(v) = stack.pop() {
        if v.is_null() {
            continue;
        }
        let Some(obj) = v.as_object() else {
            bail!("{}: a document is not a mapping", path.display());
        };
        let kind = obj
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if let Some(items) = fleet_core::yaml::list_items(&v) {
            stack.extend(items.iter().rev().cloned());
            continue;
        }
        if kind == "List" {
            // kubectl reads a `kind: List` without items as an empty list.
            continue;
        }
        if kind.is_empty() {
            bail!("{}: an object has no kind", path.display());
        }
        let meta = obj.get("metadata");
        let name = meta
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if name.is_empty() {
            bail!("{}: a {kind} has no metadata.name", path.display());
        }
        let ns = meta
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let origin = if ns.is_empty() {
            format!("{}: {kind} {name}", path.display())
        } else {
            format!("{}: {kind} {ns}/{name}", path.display())
        };
        out.push(Doc {
            api_version: obj
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            kind,
            value: v,
            origin,
        });
    }
    Ok(out)
}
