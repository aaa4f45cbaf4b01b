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
    entries.sort_by(|a, b| key_order(a.0, b.0));
    entries
}

/// The order go-yaml's encoder sorts map keys in (`sorter.go` `keyList.Less`): character by
/// character, a letter after anything else, two letters by code point, and runs of digits
/// by their numeric value (`a9` before `a10`, `A_B` before `AB`), a shorter key first when
/// one is a prefix of the other.
fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let (al, bl) = (ar[i].is_alphabetic(), br[i].is_alphabetic());
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        // Digits (or other characters) here: compare the digit runs starting at `i` by value.
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            // Inside a number with a non-zero digit before, a zero counts as a digit.
            let leading = ar[..i]
                .iter()
                .rev()
                .take_while(|c| c.is_ascii_digit())
                .any(|c| *c != '0');
            if leading {
                (an, bn) = (1, 1);
            }
        }
        let run = |r: &[char], mut n: i64| {
            let mut end = i;
            while end < r.len() && r[end].is_ascii_digit() {
                n = n
                    .wrapping_mul(10)
                    .wrapping_add(i64::from(r[end] as u8 - b'0'));
                end += 1;
            }
            (n, end)
        };
        let ((an, ai), (bn, bi)) = (run(&ar, an), run(&br, bn));
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
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
    if text.chars().count() + start_column <= 80 {
        return text.to_string();
    }
    if text.starts_with('"') {
        return fold_double_quoted(text, start_column, indent);
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

/// Folds a double-quoted scalar as go-yaml's `write_double_quoted_scalar` does: past column
/// 80, a space of the value (not its first or last character, not one after another space)
/// becomes a line break and indentation; when a space follows it, a `\` keeps that space
/// from being folded away. Escapes contain no spaces, so the quoted text maps space for space
/// onto the value.
fn fold_double_quoted(text: &str, start_column: usize, indent: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let (first, last) = (1, chars.len().saturating_sub(2));
    let mut out = String::with_capacity(text.len() + 8);
    let mut column = start_column;
    let mut spaces = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' {
            if !spaces && column > 80 && i != first && i != last {
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', indent));
                column = indent;
                if chars.get(i + 1) == Some(&' ') {
                    out.push('\\');
                    column += 1;
                }
            } else {
                out.push(c);
                column += 1;
            }
            spaces = true;
        } else {
            out.push(c);
            column += 1;
            spaces = false;
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

/// go-yaml's `is_printable`: the characters its emitter writes as they are. Anything else
/// (tab, carriage return and other controls, DEL and the C1 range, a byte-order mark,
/// U+FFFE/U+FFFF, and every character beyond the Basic Multilingual Plane) is a "special
/// character" that forces double quotes.
fn is_printable(c: char) -> bool {
    matches!(c as u32, 0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD) && c != '\u{feff}'
}

/// A multi-line string the emitter writes as a literal block: no special character and no
/// space before a line break or at the end (`block_allowed` of go-yaml's scalar analysis).
fn is_block(s: &str) -> bool {
    s.contains('\n') && !s.contains(" \n") && !s.ends_with(' ') && s.chars().all(is_printable)
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

/// Whether a plain scalar with this text would read back as something other than a string.
/// kustomize prints through `sigs.k8s.io/yaml` (`JSONToYAML`, go-yaml v2), whose encoder
/// double-quotes a string exactly when its resolver (`resolve.go`) gives the plain text
/// another tag, or when it is a YAML 1.1 sexagesimal number (`isBase60Float`).
fn resolves_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes", "YES", "no", "No", "NO",
        "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N", "null", "Null", "NULL", "~",
        ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf", "+.Inf", "+.INF", ".nan",
        ".NaN", ".NAN",
    ];
    if s.is_empty() || WORDS.contains(&s) {
        return true;
    }
    if is_base60_float(s) {
        return true;
    }
    match s.as_bytes()[0] {
        b'.' => go_float(s),
        b'0'..=b'9' | b'+' | b'-' => {
            if crate::timestamp::parse(s).is_some() {
                return true;
            }
            let plain = s.replace('_', "");
            go_int(&plain) || (yaml_style_float(&plain) && go_float(&plain))
        }
        _ => false,
    }
}

/// go-yaml v2's `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        // `[0-5]?[0-9]`: one digit, or two with the first at most 5.
        let d1 = b.get(i + 1).filter(|c| c.is_ascii_digit());
        let d2 = b.get(i + 2).filter(|c| c.is_ascii_digit());
        match (d1, d2) {
            (Some(a), Some(_)) if *a <= b'5' => i += 3,
            (Some(_), Some(_)) => return false,
            (Some(_), None) => i += 2,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseInt(s, 0, 64)` or `ParseUint(s, 0, 64)` succeeds: an optional sign,
/// then `0x`, `0o`, `0b` or a leading `0` (octal) or decimal digits, within 64 bits.
fn go_int(s: &str) -> bool {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &body[2..]),
        Some("0o") => (8, &body[2..]),
        Some("0b") => (2, &body[2..]),
        _ if body.len() > 1 && body.starts_with('0') => (8, &body[1..]),
        _ => (10, body),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return false;
    }
    match u64::from_str_radix(digits, radix) {
        Ok(v) if negative => v <= 1u64 << 63,
        Ok(_) => true,
        Err(_) => false,
    }
}

/// go-yaml v2's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    } else {
        if !digits(&mut i) {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` succeeds on a decimal number (an overflow to infinity
/// is an error there).
fn go_float(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if !body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return false;
    }
    s.parse::<f64>().is_ok_and(f64::is_finite)
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

/// Strings written double-quoted whatever they look like: special characters, line breaks
/// outside a literal block, and the Unicode line and paragraph separators (go-yaml would
/// single-quote those with a folded break that does not read back the same).
fn needs_double_quotes(s: &str) -> bool {
    !s.chars().all(is_printable) || s.contains(['\n', '\u{2028}', '\u{2029}'])
}

/// A double-quoted scalar with go-yaml's escapes: the named ones, else `\xNN`, `\uNNNN` or
/// `\UNNNNNNNN` in upper-case hex for characters it does not print as they are.
fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        let named = match c {
            '\0' => Some('0'),
            '\u{07}' => Some('a'),
            '\u{08}' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\u{0b}' => Some('v'),
            '\u{0c}' => Some('f'),
            '\r' => Some('r'),
            '\u{1b}' => Some('e'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{85}' => Some('N'),
            '\u{2028}' => Some('L'),
            '\u{2029}' => Some('P'),
            _ => None,
        };
        if let Some(n) = named {
            out.push('\\');
            out.push(n);
        } else if is_printable(c) {
            out.push(c);
        } else {
            let code = c as u32;
            if code <= 0xff {
                out.push_str(&format!("\\x{code:02X}"));
            } else if code <= 0xffff {
                out.push_str(&format!("\\u{code:04X}"));
            } else {
                out.push_str(&format!("\\U{code:08X}"));
            }
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
    fn quotes_what_go_yaml_v2_resolves_to_another_type() {
        for s in [
            "2020-05-17",
            "2020-05-17T00:00:00Z",
            "2001-12-14 21:59:43.1",
            "1:20",
            "190:20:30",
            "+1",
            "-0x1F",
            "0o17",
            "0b101",
            "0755",
            "08",
            "1_000",
            "1e3",
            ".5",
            "1.",
            "9223372036854775808",
            "18446744073709551615",
            // Too large for 64 bits, but a float.
            "18446744073709551616",
            "y",
            "Off",
            "~",
        ] {
            assert!(resolves_non_string(s), "{s}");
        }
        for s in [
            "4.5.6",
            "1.2.3.4",
            "10.0.0.1",
            "2020-02-30",
            "2001-12-14 21:59:43.10 -5",
            "1:99",
            "0x",
            "1e400",
            "<<",
            "yes please",
            ".",
            "-",
        ] {
            assert!(!resolves_non_string(s), "{s}");
        }
    }

    #[test]
    fn double_quotes_use_go_yaml_escapes() {
        assert_eq!(
            scalar_string("\0\u{7}\u{8}\u{b}\u{c}\u{1b}\u{1}\u{7f}", false),
            "\"\\0\\a\\b\\v\\f\\e\\x01\\x7F\""
        );
        assert_eq!(scalar_string("a\tb", false), "\"a\\tb\"");
        assert_eq!(
            scalar_string("smile \u{1F600}", false),
            "\"smile \\U0001F600\""
        );
        assert_eq!(scalar_string("a\u{feff}b", false), "\"a\\uFEFFb\"");
        assert_eq!(scalar_string("a\u{85}b", false), "\"a\\Nb\"");
        // Printable beyond ASCII stays as it is.
        assert_eq!(scalar_string("a\u{a0}b", false), "a\u{a0}b");
        // A tab rules out a literal block.
        assert!(!is_block("a\tb\nc\n"));
        assert!(is_block("a b\nc\n"));
    }

    #[test]
    fn keys_sort_as_go_yaml_sorts_them() {
        let mut keys = vec![
            "ANOTHER", "A_FIRST", "a10", "a9", "b", "B", "a", "1", "10", "2", "x-1", "x1", "a01",
            "a1",
        ];
        keys.sort_by(|a, b| key_order(a, b));
        assert_eq!(
            keys,
            [
                "1", "2", "10", "A_FIRST", "ANOTHER", "B", "a", "a1", "a01", "a9", "a10", "b",
                "x-1", "x1"
            ]
        );
    }

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
