//! sprig's defaults, type inspection and JSON functions.

use super::{Pure, R, bool_param, empty, str_param, want, want_at_least};
use crate::value::{GoValue, Numbers};

pub(super) fn register(t: &mut Vec<(&'static str, Pure)>) {
    t.extend([
        (
            "default",
            (|a: &[GoValue]| {
                want_at_least("default", a, 1)?;
                Ok(match a.get(1) {
                    Some(v) if !empty(v) => v.clone(),
                    _ => a[0].clone(),
                })
            }) as Pure,
        ),
        ("empty", |a| {
            want("empty", a, 1)?;
            Ok(GoValue::Bool(empty(&a[0])))
        }),
        ("coalesce", |a| {
            Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or_default())
        }),
        ("all", |a| Ok(GoValue::Bool(a.iter().all(|v| !empty(v))))),
        ("any", |a| Ok(GoValue::Bool(a.iter().any(|v| !empty(v))))),
        ("ternary", |a| {
            want("ternary", a, 3)?;
            Ok(if bool_param(a, 2)? {
                a[0].clone()
            } else {
                a[1].clone()
            })
        }),
        ("fail", |a| {
            want("fail", a, 1)?;
            Err(str_param(a, 0)?)
        }),
        ("typeOf", |a| {
            want("typeOf", a, 1)?;
            Ok(GoValue::from(a[0].type_name()))
        }),
        ("typeIs", |a| {
            want("typeIs", a, 2)?;
            Ok(GoValue::Bool(str_param(a, 0)? == a[1].type_name()))
        }),
        ("typeIsLike", |a| {
            want("typeIsLike", a, 2)?;
            let (target, t) = (str_param(a, 0)?, a[1].type_name());
            Ok(GoValue::Bool(target == t || format!("*{target}") == t))
        }),
        ("kindOf", |a| {
            want("kindOf", a, 1)?;
            Ok(GoValue::from(a[0].kind_name()))
        }),
        ("kindIs", |a| {
            want("kindIs", a, 2)?;
            Ok(GoValue::Bool(str_param(a, 0)? == a[1].kind_name()))
        }),
        ("deepEqual", |a| {
            want("deepEqual", a, 2)?;
            Ok(GoValue::Bool(a[0].deep_equal(&a[1])))
        }),
        ("toJson", |a| one_json(a, "toJson", Style::Compact)),
        ("mustToJson", |a| one_json(a, "mustToJson", Style::Compact)),
        ("toRawJson", |a| one_json(a, "toRawJson", Style::Raw)),
        ("mustToRawJson", |a| {
            one_json(a, "mustToRawJson", Style::Raw)
        }),
        ("toPrettyJson", |a| {
            one_json(a, "toPrettyJson", Style::Pretty)
        }),
        ("mustToPrettyJson", |a| {
            one_json(a, "mustToPrettyJson", Style::Pretty)
        }),
        ("fromJson", |a| {
            want("fromJson", a, 1)?;
            Ok(parse_json(&str_param(a, 0)?).unwrap_or_default())
        }),
        ("mustFromJson", |a| {
            want("mustFromJson", a, 1)?;
            parse_json(&str_param(a, 0)?)
        }),
    ]);
}

/// Parses JSON text the way `encoding/json` into `interface{}` does: numbers are float64.
pub fn parse_json(text: &str) -> R {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(GoValue::from_json(&v, Numbers::Float64))
}

/// How JSON is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `json.Marshal`: compact, `<`, `>` and `&` escaped.
    Compact,
    /// An encoder without HTML escaping (sprig's `toRawJson`).
    Raw,
    /// `json.MarshalIndent(v, "", "  ")`.
    Pretty,
}

fn one_json(a: &[GoValue], name: &str, style: Style) -> R {
    want(name, a, 1)?;
    Ok(GoValue::from(to_json(&a[0], style)))
}

/// Writes `v` as Go's `encoding/json` does: map keys sorted, floats in Go's JSON form.
pub fn to_json(v: &GoValue, style: Style) -> String {
    let mut out = String::new();
    write_json(v, style, 0, &mut out);
    out
}

fn write_str(s: &str, html: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn newline(style: Style, depth: usize, out: &mut String) {
    if style == Style::Pretty {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
}

fn write_json(v: &GoValue, style: Style, depth: usize, out: &mut String) {
    if depth > crate::value::MAX_DEPTH {
        out.push_str("null");
        return;
    }
    let html = style != Style::Raw;
    match v {
        GoValue::Nil => out.push_str("null"),
        GoValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        GoValue::Int(i) | GoValue::Int64(i) => out.push_str(&i.to_string()),
        GoValue::Float(f) => out.push_str(&crate::fmt::format_float_json(*f)),
        GoValue::Str(s) => write_str(s, html, out),
        GoValue::List(l) => {
            let items = l.items.borrow();
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(style, depth + 1, out);
                write_json(x, style, depth + 1, out);
            }
            newline(style, depth, out);
            out.push(']');
        }
        GoValue::Map(m) => {
            let map = m.borrow();
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, x)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(style, depth + 1, out);
                write_str(k, html, out);
                out.push(':');
                if style == Style::Pretty {
                    out.push(' ');
                }
                write_json(x, style, depth + 1, out);
            }
            newline(style, depth, out);
            out.push('}');
        }
        GoValue::Object(o) => write_json(&o.to_data(), style, depth, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_like_go() {
        let v = parse_json(r#"{"b":[1,1.5,1000000,"<&>"],"a":null,"c":{}}"#).unwrap_or_default();
        assert_eq!(
            to_json(&v, Style::Compact),
            r#"{"a":null,"b":[1,1.5,1000000,"\u003c\u0026\u003e"],"c":{}}"#
        );
        assert_eq!(
            to_json(&v, Style::Raw),
            r#"{"a":null,"b":[1,1.5,1000000,"<&>"],"c":{}}"#
        );
        assert_eq!(
            to_json(
                &parse_json(r#"{"a":[1],"b":{}}"#).unwrap_or_default(),
                Style::Pretty
            ),
            "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}"
        );
    }
}
