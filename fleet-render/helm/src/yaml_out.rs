//! `toYaml` as Helm prints it (sigs.k8s.io/yaml over go-yaml v2): sorted keys, two-space
//! indentation, list items at their key's indentation, strings quoted only when they would
//! read back as something else.

use serde_json::Value;

/// Writes `value` as a YAML document ending in a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(map, 0, &mut out),
        Value::Array(list) if !list.is_empty() => write_list(list, 0, &mut out),
        scalar => {
            out.push_str(&scalar_text(scalar, 0));
            out.push('\n');
        }
    }
    out
}

fn needs_quotes(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
    ) {
        return true;
    }
    if s.parse::<f64>().is_ok()
        || s.starts_with("0x")
        || s.starts_with("0o")
        || lower == ".inf"
        || lower == ".nan"
    {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@` \t".contains(first)
        && !(first == '-' && s.len() > 1 && !s[1..].starts_with(' '))
    {
        return true;
    }
    if s.ends_with(' ')
        || s.ends_with(':')
        || s.contains(": ")
        || s.contains(" #")
        || s.contains('\t')
    {
        return true;
    }
    s.chars().any(|c| c.is_control())
}

fn scalar_text(value: &Value, indent: usize) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s)
            if s.contains('\n')
                && !s.chars().any(|c| c.is_control() && c != '\n')
                && !s.starts_with(' ') =>
        {
            let chomp = if s.ends_with("\n\n") {
                "+"
            } else if s.ends_with('\n') {
                ""
            } else {
                "-"
            };
            let mut text = format!("|{chomp}");
            let body = s.strip_suffix('\n').unwrap_or(s);
            for line in body.split('\n') {
                text.push('\n');
                if !line.is_empty() {
                    text.push_str(&" ".repeat(indent + 2));
                    text.push_str(line);
                }
            }
            text
        }
        Value::String(s) if needs_quotes(s) => {
            if s.chars().any(|c| c.is_control()) {
                serde_json::to_string(s).unwrap_or_default()
            } else {
                format!("'{}'", s.replace('\'', "''"))
            }
        }
        Value::String(s) => s.clone(),
        Value::Array(_) => "[]".to_string(),
        Value::Object(_) => "{}".to_string(),
    }
}

fn write_map(map: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for key in keys {
        let value = &map[key];
        out.push_str(&" ".repeat(indent));
        out.push_str(&scalar_text(&Value::String(key.clone()), indent));
        out.push(':');
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                write_map(inner, indent + 2, out);
            }
            Value::Array(list) if !list.is_empty() => {
                out.push('\n');
                write_list(list, indent, out);
            }
            scalar => {
                out.push(' ');
                out.push_str(&scalar_text(scalar, indent));
                out.push('\n');
            }
        }
    }
}

fn write_list(list: &[Value], indent: usize, out: &mut String) {
    for item in list {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match item {
            Value::Object(inner) if !inner.is_empty() => {
                let mut nested = String::new();
                write_map(inner, indent + 2, &mut nested);
                out.push(' ');
                out.push_str(&nested[indent + 2..]);
            }
            Value::Array(inner) if !inner.is_empty() => {
                let mut nested = String::new();
                write_list(inner, indent + 2, &mut nested);
                out.push(' ');
                out.push_str(&nested[indent + 2..]);
            }
            scalar => {
                out.push(' ');
                out.push_str(&scalar_text(scalar, indent));
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_lists_and_quoting() {
        let value = json!({"b": [1, {"x": "yes", "z": ""}], "a": {"s": "plain", "m": "l1\nl2\n"}});
        assert_eq!(
            to_yaml(&value),
            "a:\n  m: |\n    l1\n    l2\n  s: plain\nb:\n- 1\n- x: 'yes'\n  z: ''\n"
        );
    }
}
