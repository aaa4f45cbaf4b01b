//! The value model: JSON-shaped values (`serde_json::Value`, whose numbers keep Go's
//! int64/float64 distinction), Go's truth rules and Go's `fmt.Sprint` printing of them.

use std::collections::BTreeMap;

pub use serde_json::Value;

/// Go's truth: false, 0, nil, empty string/list/map are false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Prints a value as a template action does: Go's `fmt.Sprint`, with a missing value as
/// `<no value>`.
pub fn print(v: &Value) -> String {
    match v {
        Value::Null => "<no value>".to_string(),
        Value::String(s) => s.clone(),
        other => print_nested(other),
    }
}

/// Prints a value nested in a list or map (`nil` is `<nil>` there, as in Go).
pub fn print_nested(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => crate::funcs::format_number(n),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(print_nested).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(o) => {
            // Go's fmt prints maps in key order.
            let sorted: BTreeMap<&String, &Value> = o.iter().collect();
            format!(
                "map[{}]",
                sorted
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", print_nested(v)))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    }
}
