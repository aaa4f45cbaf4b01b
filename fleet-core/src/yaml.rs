//! YAML in and out, with one scalar policy for the whole workspace.
//!
//! Fleet decodes YAML with `sigs.k8s.io/yaml` and kustomize with kyaml; both end up
//! resolving plain scalars the way Go's `yaml.v3` does and then handing the value
//! through `encoding/json`. This module reproduces that outcome, so every crate of
//! the workspace sees the same value for the same text:
//!
//! | plain scalar | value |
//! |---|---|
//! | `true`, `True`, `TRUE`, `false`, … | boolean |
//! | `yes`, `no`, `on`, `off`, `y`, `n` | **string** (YAML 1.1 booleans are not booleans) |
//! | `null`, `Null`, `~`, empty | null |
//! | `12`, `-7`, `+12`, `0x1F`, `0o17`, `1_000` | integer |
//! | `0755` (leading zero) | integer, read as octal (`493`), as kustomize prints it |
//! | `1.10`, `2.5e3` | floating point (`1.1`, `2500`: see below) |
//! | quoted scalars | always strings, never re-typed |
//!
//! Strings are never altered. Numbers go through 64-bit integers or IEEE doubles, as they
//! do in Go's `encoding/json`; an integer too large for 64 bits becomes a double, which is
//! what `kubectl kustomize` prints for it too. A double with an integral value below 10²¹ in
//! magnitude becomes an integer (`1e3` → `1000`, `1.0` → `1`): Go's `encoding/json` prints such
//! doubles without a fraction, so that is the value every Go tool downstream reads back. Duplicate keys in one mapping are an error.
//! Anchors, aliases and merge keys (`<<`) are expanded; alias bombs are stopped by a budget.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// An error reading or writing YAML.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not valid YAML, or does not have the expected shape.
    #[error("invalid YAML: {message}")]
    Parse {
        /// What the parser said, with line and column where known.
        message: String,
    },
    /// The YAML is valid but does not fit the expected type.
    #[error("invalid value: {0}")]
    Shape(#[from] serde_json::Error),
    /// A value could not be written as YAML.
    #[error("cannot write YAML: {message}")]
    Write {
        /// What the writer said.
        message: String,
    },
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        legacy_octal_numbers: true,
        with_snippet: false,
    }
}

fn parse_error(err: serde_saphyr::Error) -> Error {
    Error::Parse {
        message: err.to_string(),
    }
}

/// Parses one YAML document into an untyped value. An empty document is `null`.
pub fn from_str_value(text: &str) -> Result<Value, Error> {
    // YAML's white space is space, tab and line breaks (and a byte-order mark), not Unicode's:
    // a document holding only a no-break space is that string, not an empty document.
    if text
        .trim_matches([' ', '\t', '\r', '\n', '\u{feff}'])
        .is_empty()
    {
        return Ok(Value::Null);
    }
    let docs = documents(text)?;
    match docs.len() {
        0 => Ok(Value::Null),
        1 => Ok(docs.into_iter().next().unwrap_or(Value::Null)),
        n => Err(Error::Parse {
            message: format!("expected one YAML document, found {n}"),
        }),
    }
}

/// Parses one YAML document into `T` the way `sigs.k8s.io/yaml` does: YAML to a JSON value
/// (with this module's scalar policy), then JSON to `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    let value = from_str_value(text)?;
    Ok(serde_json::from_value(value)?)
}

/// Parses a multi-document YAML stream. Every document is returned, empty ones as `null`,
/// in the order they appear.
pub fn documents(text: &str) -> Result<Vec<Value>, Error> {
    let docs: Vec<Option<Value>> =
        serde_saphyr::from_multiple_with_options(text, options()).map_err(parse_error)?;
    Ok(docs
        .into_iter()
        .map(|doc| {
            let mut doc = doc.unwrap_or(Value::Null);
            normalize_numbers(&mut doc);
            doc
        })
        .collect())
}

/// Turns integral doubles into integers, as a round trip through Go's `encoding/json` does.
pub fn normalize_numbers(value: &mut Value) {
    match value {
        Value::Number(number) => {
            if let Some(integer) = number
                .as_f64()
                .filter(|_| number.is_f64())
                .and_then(integral)
            {
                *value = integer;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_numbers),
        Value::Object(map) => map.values_mut().for_each(normalize_numbers),
        _ => {}
    }
}

fn integral(float: f64) -> Option<Value> {
    if float.fract() != 0.0 || float.abs() >= 1e21 || !float.is_finite() {
        return None;
    }
    if float.is_sign_negative() && float >= i64::MIN as f64 {
        Some(Value::from(float as i64))
    } else if float >= 0.0 && float < u64::MAX as f64 {
        Some(Value::from(float as u64))
    } else {
        None
    }
}

/// Writes one value as a YAML document (no leading `---`, trailing newline).
pub fn to_string<T: Serialize>(value: &T) -> Result<String, Error> {
    serde_saphyr::to_string(value).map_err(|err| Error::Write {
        message: err.to_string(),
    })
}

/// Writes values as a multi-document YAML stream separated by `---` lines.
pub fn to_string_multi<T: Serialize>(values: &[T]) -> Result<String, Error> {
    let mut out = String::new();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_string(value)?);
    }
    Ok(out)
}

/// The items of a Kubernetes list object: any object whose `kind` ends in `List` with an
/// `items` array (`kind: List`, `ConfigMapList`, …), as kubectl and kustomize expand them.
/// `None` for every other value. (Fleet's agent reads raw YAML with apimachinery's rule
/// instead, any object with an `items` field whatever its kind; `fleet_render::raw_yaml`
/// keeps that rule, since it decides which objects a raw-YAML bundle deploys.)
///
/// ```
/// let list = serde_json::json!({"kind": "List", "items": [{"kind": "ConfigMap"}]});
/// assert_eq!(fleet_core::yaml::list_items(&list).map(|i| i.len()), Some(1));
/// assert!(fleet_core::yaml::list_items(&serde_json::json!({"kind": "List"})).is_none());
/// ```
pub fn list_items(value: &Value) -> Option<&Vec<Value>> {
    let kind = value.get("kind")?.as_str()?;
    if !kind.ends_with("List") {
        return None;
    }
    value.get("items")?.as_array()
}
