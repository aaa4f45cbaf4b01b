//! The printer: multi-document YAML in the style `kubectl kustomize` writes.
//!
//! Map keys in byte order, two-space indentation, sequence items at the indentation of their
//! parent key, `---` between documents. Strings stay plain unless they would read back as
//! another type (`"true"`, `"8080"`, `"yes"`, `""`: double quotes) or start with an indicator
//! character (single quotes); multi-line strings are `|` literal blocks.

use serde_json::{Map, Number, Value};

/// Prints objects as a multi-document YAML stream (no leading `---`, trailing newline).
pub fn to_yaml(objects: &[Value]) -> String {
    let mut out = String::new();
    for (i, obj) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        emit_document(obj, &mut out);
    }
    out
}

fn emit_document(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => emit_map(m, 0, out),
        Value::Array(a) if !a.is_empty() => emit_list(a, 0, out),
        other => {
            out.push_str(&inline(other, 0));
            out.push('\n');
        }
    }
}

fn sorted(m: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = m.iter().collect();
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    entries
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn emit_map(m: &Map<String, Value>, indent: usize, out: &mut String) {
    for (i, (k, v)) in sorted(m).into_iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push_str(&scalar_string(k, true));
        out.push(':');
        emit_value_after_key(v, indent, out);
    }
}

fn emit_value_after_key(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            pad(out, indent + 2);
            emit_map(m, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            pad(out, indent);
            emit_list(a, indent, out);
        }
        Value::String(s) if is_block(s) => {
            out.push(' ');
            emit_block(s, indent + 2, out);
        }
        other => {
            out.push(' ');
            let column = out.len() - out.rfind('\n').map_or(0, |i| i + 1);
            out.push_str(&fold(&inline(other, indent), column, indent + 2));
            out.push('\n');
        }
    }
}

/// Folds a plain or single-quoted scalar at spaces once past column 80, as the Go YAML
/// emitter does (continuation lines indented by `indent`).
fn fold(text: &str, start_column: usize, indent: usize) -> String {
    if text.starts_with('"') || text.chars().count() + start_column <= 80 {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut column = start_column;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next_is_space = chars.get(i + 1).is_none_or(|n| *n == ' ');
        let prev_is_space = i > 0 && chars[i - 1] == ' ';
        if c == ' ' && column > 80 && !next_is_space && !prev_is_space && i + 1 < chars.len() {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', indent));
            column = indent;
        } else {
            out.push(c);
            column += 1;
        }
        i += 1;
    }
    out
}

fn emit_list(a: &[Value], indent: usize, out: &mut String) {
    for (i, item) in a.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => emit_map(m, indent + 2, out),
            Value::Array(inner) if !inner.is_empty() => emit_list(inner, indent + 2, out),
            Value::String(s) if is_block(s) => emit_block(s, indent + 2, out),
            other => {
                out.push_str(&fold(&inline(other, indent), indent + 2, indent + 2));
                out.push('\n');
            }
        }
    }
}

fn is_block(s: &str) -> bool {
    s.contains('\n')
        && !s.lines().any(|l| l.ends_with(' ') || l.ends_with('\t'))
        && s.chars().all(|c| c == '\n' || c == '\t' || !c.is_control())
}

fn emit_block(s: &str, indent: usize, out: &mut String) {
    out.push('|');
    if s.starts_with(' ') || s.starts_with('\n') {
        out.push('2');
    }
    let trailing = s.len() - s.trim_end_matches('\n').len();
    match trailing {
        0 => out.push('-'),
        1 => {}
        _ => out.push('+'),
    }
    out.push('\n');
    let body = if trailing > 0 { &s[..s.len() - 1] } else { s };
    for line in body.split('\n') {
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
}

fn inline(v: &Value, _indent: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n),
        Value::String(s) => scalar_string(s, false),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

fn number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e21).contains(&abs) {
        // Go's 'g' format: mantissa, 'e', sign, at least two exponent digits.
        let s = format!("{f:e}");
        if let Some((mant, exp)) = s.split_once('e') {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            return format!("{mant}e{sign}{digits:0>2}");
        }
        return s;
    }
    f.to_string()
}

/// Whether a plain scalar with this text would read back as something other than a string
/// (YAML 1.1 and 1.2 booleans, nulls, numbers, timestamps).
fn resolves_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes", "YES", "no", "No", "NO",
        "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N", "null", "Null", "NULL", "~",
        ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf", "+.Inf", "+.INF", ".nan",
        ".NaN", ".NAN",
    ];
    if WORDS.contains(&s) {
        return true;
    }
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    if t.is_empty() {
        return false;
    }
    let digits_us = |x: &str| !x.is_empty() && x.chars().all(|c| c.is_ascii_digit() || c == '_');
    if digits_us(t) {
        return true;
    }
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit() || c == '_');
    }
    if let Some(o) = t.strip_prefix("0o").or_else(|| t.strip_prefix("0b")) {
        return !o.is_empty() && o.chars().all(|c| c.is_ascii_hexdigit() || c == '_');
    }
    // Floats: digits with one dot and/or an exponent.
    let (mant, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mant_ok = {
        let (a, b) = mant.split_once('.').unwrap_or((mant, ""));
        (a.is_empty() || digits_us(a))
            && (b.is_empty() || digits_us(b))
            && (!a.is_empty() || !b.is_empty())
            && (mant.contains('.') || exp.is_some())
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    if mant_ok && exp_ok {
        return true;
    }
    // Sexagesimal (YAML 1.1) like 1:20 and timestamps like 2023-12-24.
    let b = s.as_bytes();
    if b.len() >= 8
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && s[5..].starts_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || "-:.TtZz +".contains(c))
    {
        return true;
    }
    if s.contains(':')
        && s.split(':')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        return true;
    }
    false
}

fn needs_single_quotes(s: &str) -> bool {
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // `-`, `?` and `:` are fine when followed by a non-space.
        if matches!(first, '-' | '?' | ':') {
            let second = s.chars().nth(1);
            if second.is_some_and(|c| c != ' ') && !s.starts_with("---") {
                return plain_inner_unsafe(s);
            }
        }
        return true;
    }
    if s.starts_with(' ') || s.ends_with(' ') || s.ends_with(':') {
        return true;
    }
    plain_inner_unsafe(s)
}

fn plain_inner_unsafe(s: &str) -> bool {
    s.contains(": ") || s.contains(" #") || s.contains('\t')
}

fn needs_double_quotes(s: &str) -> bool {
    s.chars().any(|c| {
        (c.is_control() && c != '\t') || c == '\u{feff}' || c == '\u{2028}' || c == '\u{2029}'
    }) || s.contains('\n')
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' || c == '\u{2028}' || c == '\u{2029}' => {
                let code = c as u32;
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02X}"));
                } else {
                    out.push_str(&format!("\\u{code:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A string as a YAML scalar.
fn scalar_string(s: &str, _key: bool) -> String {
    if s.is_empty() {
        return "\"\"".into();
    }
    if needs_double_quotes(s) {
        return double_quoted(s);
    }
    if resolves_non_string(s) {
        return format!("\"{s}\"");
    }
    if needs_single_quotes(s) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_tricky_scalars() {
        let v = json!({"a": ["yes", "on", "0755", "1_000", "8080", "1.5", "", "true", "- x",
            "* * * * *", "it's", "a: b", "line1\nline2\n", "  lead\n", "trail \nx", "null", "~",
            "2023-12-24", "plain text", "#x", "x #y", "1e3", "0x1F", ".inf"],
            "n": [1, -2, 1.5, 1e30], "e": {}, "l": [], "z": null, "yes": 1});
        let text = to_yaml(std::slice::from_ref(&v));
        let back = fleet_core::yaml::from_str_value(&text).unwrap();
        assert_eq!(back, v, "{text}");
    }
}
