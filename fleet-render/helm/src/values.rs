//! Values files as Helm reads them: YAML 1.1 scalars (`yes`/`no`/`on`/`off` are booleans),
//! one document, a map at the top (an empty file is an empty map).

use serde_json::{Map, Value};

/// Why a values file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not YAML.
    #[error("{source_name}: cannot parse values: {reason}")]
    Parse {
        /// The file the text came from.
        source_name: String,
        /// What the parser said.
        reason: String,
    },
    /// The top of the document is not a map.
    #[error("{source_name}: values must be a map, not {found}")]
    NotAMap {
        /// The file the text came from.
        source_name: String,
        /// The kind found instead.
        found: &'static str,
    },
}

fn options() -> serde_saphyr::Options {
    // Not strict: Helm's YAML reader is YAML 1.1, where `yes` and `off` are booleans.
    serde_saphyr::options! {
        strict_booleans: false,
        legacy_octal_numbers: true,
        with_snippet: false,
    }
}

/// Parses a values document into a map. `source_name` names it in errors.
pub fn parse(text: &str, source_name: &str) -> Result<Value, Error> {
    let parse_error = |reason: String| Error::Parse {
        source_name: source_name.to_string(),
        reason,
    };
    if text
        .trim_matches([' ', '\t', '\r', '\n', '\u{feff}'])
        .is_empty()
    {
        return Ok(Value::Object(Map::new()));
    }
    // serde-saphyr's default budget bounds alias expansion, so a "billion laughs" document
    // is refused instead of expanded.
    let docs: Vec<Option<Value>> = serde_saphyr::from_multiple_with_options(text, options())
        .map_err(|err| parse_error(err.to_string()))?;
    let value = docs.into_iter().flatten().next().unwrap_or(Value::Null);
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(Value::Object(Map::new())),
        other => Err(Error::NotAMap {
            source_name: source_name.to_string(),
            found: kind(&other),
        }),
    }
}

/// A short name for the kind of a value, for messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// Deep-merges `overlay` into `base` the way successive `-f` files and `--set` flags stack:
/// maps merge, everything else replaces.
pub fn merge_into(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge_into(existing, value)
                    }
                    _ => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_1_1_booleans_and_empty_file() {
        assert_eq!(
            parse("a: yes\nb: off\nc: 'yes'\n", "v.yaml").unwrap(),
            json!({"a": true, "b": false, "c": "yes"})
        );
        assert_eq!(parse("\n# only a comment\n", "v.yaml").unwrap(), json!({}));
    }

    #[test]
    fn non_map_is_an_error_naming_the_file() {
        let err = parse("- a\n", "my.yaml").unwrap_err();
        assert_eq!(err.to_string(), "my.yaml: values must be a map, not a list");
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let prev = level - 1;
            text.push_str(&format!(
                "a{level}: &a{level} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        assert!(parse(&text, "bomb.yaml").is_err());
    }

    #[test]
    fn merge_stacks_maps() {
        let mut base = json!({"a": {"x": 1, "y": 2}, "l": [1]});
        merge_into(&mut base, json!({"a": {"y": 3}, "l": [2]}));
        assert_eq!(base, json!({"a": {"x": 1, "y": 3}, "l": [2]}));
    }
}
