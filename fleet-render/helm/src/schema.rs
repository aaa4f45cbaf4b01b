//! `values.schema.json` validation, as Helm v4 runs it before rendering
//! (`pkg/chart/common/util/jsonschema.go`, through `ToRenderValues`).
//!
//! Every chart of the tree that has a schema validates its own coalesced values (a subchart its
//! `values[<name>]`). Violations are reported in Helm's shape:
//!
//! ```text
//! values don't meet the specifications of the schema(s) in the following chart(s):
//! <chart>:
//! - at '<JSON pointer>': <message>
//!   - at '<JSON pointer>': <message of a failed anyOf/oneOf branch>
//! ```
//!
//! The messages follow the wording of the validator Helm v4 uses (santhosh-tekuri/jsonschema
//! v6): `got string, want integer`, `missing property 'x'`, `maximum: got 3, want 1`,
//! `'x' does not match pattern '…'`, `'anyOf' failed` with the branches' errors nested. The
//! validation itself is the `jsonschema` crate's (drafts 4 to 2020-12, chosen by `$schema`),
//! built without remote or file reference resolving: a chart's schema can only refer to itself.

use std::fmt::Write as _;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::chart::Chart;

/// Why values were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A chart's `values.schema.json` is not JSON or not a valid schema.
    #[error("chart {chart}: values.schema.json: {reason}")]
    BadSchema {
        /// The chart.
        chart: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Values violate the schemas; the message is Helm's whole text.
    #[error("{0}")]
    Violations(String),
}

/// The first line of Helm's message.
pub const HEADER: &str =
    "values don't meet the specifications of the schema(s) in the following chart(s):";

/// Validates `values` (coalesced, dependencies processed) against the schemas of `chart` and
/// its enabled subcharts.
pub fn validate(chart: &Chart, values: &Value) -> Result<(), Error> {
    let mut report = String::new();
    validate_tree(chart, values, &mut report)?;
    if report.is_empty() {
        Ok(())
    } else {
        Err(Error::Violations(format!("{HEADER}\n{report}")))
    }
}

fn validate_tree(chart: &Chart, values: &Value, report: &mut String) -> Result<(), Error> {
    if let Some(bytes) = &chart.schema {
        let lines = violations(chart.name(), bytes, values)?;
        if !lines.is_empty() {
            let _ = writeln!(report, "{}:", chart.name());
            report.push_str(&lines);
        }
    }
    for sub in &chart.dependencies {
        let empty = Value::Object(Default::default());
        let sub_values = values.get(sub.name()).unwrap_or(&empty);
        validate_tree(sub, sub_values, report)?;
    }
    Ok(())
}

/// The violation lines of one schema (empty when the values conform).
fn violations(chart: &str, schema: &[u8], values: &Value) -> Result<String, Error> {
    let bad = |reason: String| Error::BadSchema {
        chart: chart.to_string(),
        reason,
    };
    let schema: Value = serde_json::from_slice(schema).map_err(|e| bad(e.to_string()))?;
    let validator = jsonschema::validator_for(&schema).map_err(|e| bad(e.to_string()))?;
    let errors: Vec<_> = validator.iter_errors(values).collect();
    let mut out = String::new();
    write_errors(&errors, 0, &mut out);
    Ok(out)
}

/// The schema object a keyword error comes from (its schema path without the keyword).
fn schema_object(error: &jsonschema::ValidationError<'_>) -> String {
    let path = error.evaluation_path().as_str();
    path.rsplit_once('/')
        .map_or(String::new(), |(parent, _)| parent.to_string())
}

/// Helm's validator stops checking a schema object at a value of the wrong type, so the other
/// keywords of that object report nothing there: drop them.
fn after_type_checks<'a, 'e>(
    errors: &'a [jsonschema::ValidationError<'e>],
) -> Vec<&'a jsonschema::ValidationError<'e>> {
    let mistyped: Vec<(String, String)> = errors
        .iter()
        .filter(|e| matches!(e.kind(), ValidationErrorKind::Type { .. }))
        .map(|e| (e.instance_path().as_str().to_string(), schema_object(e)))
        .collect();
    errors
        .iter()
        .filter(|e| {
            matches!(e.kind(), ValidationErrorKind::Type { .. })
                || !mistyped.iter().any(|(path, object)| {
                    e.instance_path().as_str() == path && &schema_object(e) == object
                })
        })
        .collect()
}

fn write_errors(errors: &[jsonschema::ValidationError<'_>], depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    let errors = after_type_checks(errors);
    let mut i = 0;
    while i < errors.len() {
        let error = errors[i];
        let path = error.instance_path().as_str().to_string();
        // Missing required properties at one place are one message, as Helm's validator says.
        if let ValidationErrorKind::Required { .. } = error.kind() {
            let mut names = Vec::new();
            while let Some(ValidationErrorKind::Required { property }) =
                errors.get(i).map(|e| e.kind())
            {
                if errors[i].instance_path().as_str() != path {
                    break;
                }
                names.push(quoted(property));
                i += 1;
            }
            let message = if names.len() == 1 {
                format!("missing property {}", names[0])
            } else {
                format!("missing properties {}", names.join(", "))
            };
            let _ = writeln!(out, "{indent}- at '{path}': {message}");
            continue;
        }
        let _ = writeln!(out, "{indent}- at '{path}': {}", message(error));
        match error.kind() {
            ValidationErrorKind::AnyOf { context }
            | ValidationErrorKind::OneOfNotValid { context } => {
                for branch in context {
                    write_errors(branch, depth + 1, out);
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// A value as the messages show it: strings in single quotes, the rest as JSON.
fn quoted(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

/// The JSON type of an instance, as the messages name it.
fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() && n.as_f64().is_some_and(|f| f.fract() != 0.0) => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Type names in the order Helm's validator lists them.
const TYPE_ORDER: [&str; 7] = [
    "null", "boolean", "number", "integer", "string", "array", "object",
];

fn wanted_types(kind: &TypeKind) -> String {
    let mut names: Vec<String> = match kind {
        TypeKind::Single(t) => vec![t.to_string()],
        TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect(),
    };
    names.sort_by_key(|n| {
        TYPE_ORDER
            .iter()
            .position(|t| t == n)
            .unwrap_or(TYPE_ORDER.len())
    });
    names.join(" or ")
}

fn length(value: &Value) -> usize {
    match value {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.len(),
        Value::Object(m) => m.len(),
        _ => 0,
    }
}

fn message(error: &jsonschema::ValidationError<'_>) -> String {
    let instance: &Value = error.instance();
    let got = || instance.to_string();
    match error.kind() {
        ValidationErrorKind::Type { kind } => {
            format!("got {}, want {}", type_of(instance), wanted_types(kind))
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let names: Vec<String> = unexpected.iter().map(|n| format!("'{n}'")).collect();
            format!("additional properties {} not allowed", names.join(", "))
        }
        ValidationErrorKind::Enum { options } => match options.as_ref() {
            Value::Array(list) if list.len() == 1 => format!("value must be {}", quoted(&list[0])),
            Value::Array(list) => format!(
                "value must be one of {}",
                list.iter().map(quoted).collect::<Vec<_>>().join(", ")
            ),
            other => format!("value must be {}", quoted(other)),
        },
        ValidationErrorKind::Constant { expected_value } => {
            format!("value must be {}", quoted(expected_value))
        }
        ValidationErrorKind::Pattern { pattern } => {
            format!("{} does not match pattern '{pattern}'", quoted(instance))
        }
        ValidationErrorKind::Format { format } => {
            format!("{} is not valid {format}", quoted(instance))
        }
        ValidationErrorKind::Maximum { limit } => format!("maximum: got {}, want {limit}", got()),
        ValidationErrorKind::Minimum { limit } => format!("minimum: got {}, want {limit}", got()),
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!("exclusiveMaximum: got {}, want {limit}", got())
        }
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("exclusiveMinimum: got {}, want {limit}", got())
        }
        ValidationErrorKind::MultipleOf { multiple_of, .. } => {
            format!("multipleOf: got {}, want {multiple_of}", got())
        }
        ValidationErrorKind::MinLength { limit } => {
            format!("minLength: got {}, want {limit}", length(instance))
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!("maxLength: got {}, want {limit}", length(instance))
        }
        ValidationErrorKind::MinItems { limit } => {
            format!("minItems: got {}, want {limit}", length(instance))
        }
        ValidationErrorKind::MaxItems { limit } => {
            format!("maxItems: got {}, want {limit}", length(instance))
        }
        ValidationErrorKind::MinProperties { limit } => {
            format!("minProperties: got {}, want {limit}", length(instance))
        }
        ValidationErrorKind::MaxProperties { limit } => {
            format!("maxProperties: got {}, want {limit}", length(instance))
        }
        ValidationErrorKind::AnyOf { .. } => "'anyOf' failed".to_string(),
        ValidationErrorKind::OneOfNotValid { .. } => "'oneOf' failed, none matched".to_string(),
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            "'oneOf' failed, more than one subschema matched".to_string()
        }
        ValidationErrorKind::Not { .. } => "'not' failed".to_string(),
        ValidationErrorKind::FalseSchema => "false schema".to_string(),
        ValidationErrorKind::UniqueItems => "items are not unique".to_string(),
        _ => error.to_string(),
    }
}
