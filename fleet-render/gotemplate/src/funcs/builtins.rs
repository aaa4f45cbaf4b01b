//! Go's `text/template` built-in functions.

use std::cmp::Ordering;

use super::{Pure, R, str_param, want, want_at_least};
use crate::value::GoValue;

pub(super) fn register(t: &mut Vec<(&'static str, Pure)>) {
    t.extend([
        ("not", not as Pure),
        ("len", len),
        ("index", index),
        ("print", |a| Ok(GoValue::from(crate::fmt::sprint(a)))),
        ("println", |a| Ok(GoValue::from(crate::fmt::sprintln(a)))),
        ("printf", printf),
        ("eq", eq),
        ("ne", ne),
        ("lt", |a| compare_with("lt", a, Ordering::is_lt)),
        ("le", |a| compare_with("le", a, Ordering::is_le)),
        ("gt", |a| compare_with("gt", a, Ordering::is_gt)),
        ("ge", |a| compare_with("ge", a, Ordering::is_ge)),
        ("urlquery", urlquery),
        ("html", html),
        ("js", js),
    ]);
}

fn not(a: &[GoValue]) -> R {
    want("not", a, 1)?;
    Ok(GoValue::Bool(!a[0].truthy()))
}

fn len(a: &[GoValue]) -> R {
    want("len", a, 1)?;
    let n = match &a[0] {
        GoValue::Str(s) => s.len(),
        GoValue::List(l) => l.items.borrow().len(),
        GoValue::Map(m) => m.borrow().len(),
        GoValue::Object(o) => match o.to_data() {
            GoValue::List(l) => l.items.borrow().len(),
            GoValue::Map(m) => m.borrow().len(),
            _ => return Err(format!("len of type {}", o.type_name())),
        },
        GoValue::Nil => return Err("len of nil pointer".into()),
        other => return Err(format!("len of type {}", other.type_name())),
    };
    Ok(GoValue::Int(n as i64))
}

fn index(a: &[GoValue]) -> R {
    want_at_least("index", a, 1)?;
    let mut v = a[0].clone();
    for key in &a[1..] {
        v = match (&v, key) {
            (GoValue::Map(m), GoValue::Str(k)) => m.borrow().get(&**k).cloned().unwrap_or_default(),
            (GoValue::Map(_), GoValue::Nil) => GoValue::Nil,
            (GoValue::Map(_), other) => {
                return Err(format!(
                    "value has type {}; should be string",
                    other.type_name()
                ));
            }
            (GoValue::List(l), GoValue::Int(i) | GoValue::Int64(i)) => {
                let items = l.items.borrow();
                usize::try_from(*i)
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
                    .ok_or_else(|| format!("index out of range: {i}"))?
            }
            (GoValue::Str(s), GoValue::Int(i) | GoValue::Int64(i)) => usize::try_from(*i)
                .ok()
                .and_then(|i| s.as_bytes().get(i))
                .map(|b| GoValue::Int(i64::from(*b)))
                .ok_or_else(|| format!("index out of range: {i}"))?,
            (GoValue::List(_) | GoValue::Str(_), other) => {
                return Err(format!(
                    "cannot index slice/array with type {}",
                    other.type_name()
                ));
            }
            (GoValue::Nil, _) => return Err("index of untyped nil".into()),
            (coll, _) => return Err(format!("can't index item of type {}", coll.type_name())),
        };
    }
    Ok(v)
}

fn printf(a: &[GoValue]) -> R {
    want_at_least("printf", a, 1)?;
    let format = str_param(a, 0)?;
    Ok(GoValue::from(crate::fmt::sprintf(&format, &a[1..])))
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
    Complex,
}

fn basic_kind(v: &GoValue) -> Kind {
    match v {
        GoValue::Nil => Kind::Invalid,
        GoValue::Bool(_) => Kind::Bool,
        GoValue::Int(_) | GoValue::Int64(_) => Kind::Int,
        GoValue::Float(_) => Kind::Float,
        GoValue::Str(_) => Kind::Str,
        _ => Kind::Complex,
    }
}

const INCOMPATIBLE: &str = "incompatible types for comparison";
const BAD_TYPE: &str = "invalid type for comparison";

fn equal(x: &GoValue, y: &GoValue) -> Result<bool, String> {
    let (k1, k2) = (basic_kind(x), basic_kind(y));
    if k1 != k2 {
        if k1 != Kind::Invalid && k2 != Kind::Invalid {
            return Err(INCOMPATIBLE.into());
        }
        return Ok(false);
    }
    Ok(match (x, y) {
        (GoValue::Nil, GoValue::Nil) => true,
        (GoValue::Bool(a), GoValue::Bool(b)) => a == b,
        (GoValue::Int(a) | GoValue::Int64(a), GoValue::Int(b) | GoValue::Int64(b)) => a == b,
        (GoValue::Float(a), GoValue::Float(b)) => a == b,
        (GoValue::Str(a), GoValue::Str(b)) => a == b,
        (a, b) => {
            if a.type_name() != b.type_name() {
                return Err(format!(
                    "non-comparable types {}: {}, {}: {}",
                    a.sprint(),
                    a.type_name(),
                    b.type_name(),
                    b.sprint()
                ));
            }
            match a {
                GoValue::Object(_) => a.deep_equal(b),
                _ => {
                    return Err(format!(
                        "non-comparable type {}: {}",
                        b.sprint(),
                        b.type_name()
                    ));
                }
            }
        }
    })
}

fn eq(a: &[GoValue]) -> R {
    if a.len() < 2 {
        return Err("missing argument for comparison".into());
    }
    for y in &a[1..] {
        if equal(&a[0], y)? {
            return Ok(GoValue::Bool(true));
        }
    }
    Ok(GoValue::Bool(false))
}

fn ne(a: &[GoValue]) -> R {
    want("ne", a, 2)?;
    Ok(GoValue::Bool(!equal(&a[0], &a[1])?))
}

fn order(x: &GoValue, y: &GoValue) -> Result<Ordering, String> {
    let (k1, k2) = (basic_kind(x), basic_kind(y));
    for k in [k1, k2] {
        if matches!(k, Kind::Invalid | Kind::Complex | Kind::Bool) {
            return Err(BAD_TYPE.into());
        }
    }
    if k1 != k2 {
        return Err(INCOMPATIBLE.into());
    }
    Ok(match (x, y) {
        (GoValue::Int(a) | GoValue::Int64(a), GoValue::Int(b) | GoValue::Int64(b)) => a.cmp(b),
        (GoValue::Float(a), GoValue::Float(b)) => a.partial_cmp(b).unwrap_or(Ordering::Greater),
        (GoValue::Str(a), GoValue::Str(b)) => a.as_bytes().cmp(b.as_bytes()),
        _ => return Err(BAD_TYPE.into()),
    })
}

fn compare_with(name: &str, a: &[GoValue], test: fn(Ordering) -> bool) -> R {
    want(name, a, 2)?;
    Ok(GoValue::Bool(test(order(&a[0], &a[1])?)))
}

/// Go's `evalArgs`: one string argument as it is, otherwise `fmt.Sprint` of them all.
fn eval_args(a: &[GoValue]) -> String {
    match a {
        [GoValue::Str(s)] => s.to_string(),
        _ => crate::fmt::sprint(a),
    }
}

fn urlquery(a: &[GoValue]) -> R {
    let text = eval_args(a);
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    Ok(GoValue::from(out))
}

fn html(a: &[GoValue]) -> R {
    let text = eval_args(a);
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            '\0' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    Ok(GoValue::from(out))
}

fn js(a: &[GoValue]) -> R {
    let text = eval_args(a);
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    Ok(GoValue::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_follow_go_kinds() {
        let f = GoValue::Float(1.0);
        let i = GoValue::Int(1);
        assert_eq!(equal(&f, &i), Err(INCOMPATIBLE.to_string()));
        assert_eq!(equal(&GoValue::Int64(1), &i), Ok(true));
        assert_eq!(equal(&GoValue::Nil, &i), Ok(false));
        assert_eq!(equal(&GoValue::Nil, &GoValue::Nil), Ok(true));
        assert_eq!(order(&GoValue::Nil, &i), Err(BAD_TYPE.to_string()));
        assert_eq!(
            order(&GoValue::str("Zeta"), &GoValue::str("alpha")),
            Ok(Ordering::Less)
        );
        assert!(
            eq(&[GoValue::str("b"), GoValue::str("a"), GoValue::str("b")])
                .is_ok_and(|v| v.truthy())
        );
    }

    #[test]
    fn index_errors_as_go() {
        assert_eq!(
            index(&[GoValue::Nil, GoValue::str("k")]).err().as_deref(),
            Some("index of untyped nil")
        );
        let l = GoValue::list(vec![GoValue::Int(1)]);
        assert_eq!(
            index(&[l.clone(), GoValue::Float(0.0)]).err().as_deref(),
            Some("cannot index slice/array with type float64")
        );
        assert_eq!(
            index(&[l, GoValue::Int(3)]).err().as_deref(),
            Some("index out of range: 3")
        );
    }
}
