//! sprig's regular-expression functions over Go's RE2 syntax. Rust's `regex` shares RE2's
//! syntax; Go's `\d`, `\w`, `\s` and `\b` are ASCII-only, so patterns run with Unicode
//! classes off where that changes nothing else.

use super::{Pure, R, int_param, str_param, want};
use crate::value::GoValue;

pub(super) fn register(t: &mut Vec<(&'static str, Pure)>) {
    t.extend([
        ("regexMatch", (|a: &[GoValue]| matches(a, false)) as Pure),
        ("mustRegexMatch", |a| matches(a, true)),
        ("regexFind", |a| find(a, false)),
        ("mustRegexFind", |a| find(a, true)),
        ("regexFindAll", |a| find_all(a, false)),
        ("mustRegexFindAll", |a| find_all(a, true)),
        ("regexReplaceAll", |a| replace(a, true, "regexReplaceAll")),
        ("mustRegexReplaceAll", |a| {
            replace(a, true, "mustRegexReplaceAll")
        }),
        ("regexReplaceAllLiteral", |a| {
            replace(a, false, "regexReplaceAllLiteral")
        }),
        ("mustRegexReplaceAllLiteral", |a| {
            replace(a, false, "mustRegexReplaceAllLiteral")
        }),
        ("regexSplit", |a| split(a, false)),
        ("mustRegexSplit", |a| split(a, true)),
        ("regexQuoteMeta", |a| {
            want("regexQuoteMeta", a, 1)?;
            Ok(GoValue::from(quote_meta(&str_param(a, 0)?)))
        }),
    ]);
}

/// Go's `regexp.QuoteMeta`.
fn quote_meta(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Rewrites Go's ASCII-only Perl classes and word boundaries into explicit ASCII forms,
/// leaving escaped backslashes and every other escape as written.
fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str("[0-9]"),
            Some('D') => out.push_str("[^0-9]"),
            Some('s') => out.push_str("[\\t\\n\\f\\r ]"),
            Some('S') => out.push_str("[^\\t\\n\\f\\r ]"),
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('W') => out.push_str("[^0-9A-Za-z_]"),
            Some('b') => out.push_str("(?-u:\\b)"),
            Some('B') => out.push_str("(?-u:\\B)"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn compile(pattern: &str) -> Result<regex::Regex, String> {
    // A rewritten class inside brackets nests a class (`[\d.]` → `[[0-9].]`), which Rust's
    // syntax reads as the same union; should a rewrite not compile, the pattern as written
    // decides.
    regex::Regex::new(&ascii_classes(pattern))
        .or_else(|_| regex::Regex::new(pattern))
        .map_err(|e| {
            format!(
                "error parsing regexp: {}",
                e.to_string().lines().last().unwrap_or("")
            )
        })
}

fn matches(a: &[GoValue], must: bool) -> R {
    want("regexMatch", a, 2)?;
    let (re, s) = (str_param(a, 0)?, str_param(a, 1)?);
    match compile(&re) {
        Ok(re) => Ok(GoValue::Bool(re.is_match(&s))),
        Err(e) if must => Err(e),
        Err(_) => Ok(GoValue::Bool(false)),
    }
}

fn find(a: &[GoValue], must: bool) -> R {
    want("regexFind", a, 2)?;
    let (re, s) = (str_param(a, 0)?, str_param(a, 1)?);
    match compile(&re) {
        Ok(re) => Ok(GoValue::from(
            re.find(&s)
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
        )),
        Err(e) if must => Err(e),
        Err(e) => Err(format!("regexp: Compile({}): {e}", crate::fmt::quote(&re))),
    }
}

fn find_all(a: &[GoValue], must: bool) -> R {
    want("regexFindAll", a, 3)?;
    let (re, s, n) = (str_param(a, 0)?, str_param(a, 1)?, int_param(a, 2)?);
    match compile(&re) {
        Ok(re) => {
            let all = re.find_iter(&s).map(|m| m.as_str().to_string());
            let items: Vec<String> = match usize::try_from(n) {
                Ok(n) => all.take(n).collect(),
                Err(_) => all.collect(),
            };
            Ok(GoValue::string_list(items))
        }
        Err(e) if must => Err(e),
        Err(e) => Err(format!("regexp: Compile({}): {e}", crate::fmt::quote(&re))),
    }
}

fn replace(a: &[GoValue], expand: bool, name: &str) -> R {
    want(name, a, 3)?;
    let (re, s, repl) = (str_param(a, 0)?, str_param(a, 1)?, str_param(a, 2)?);
    let re = compile(&re)?;
    Ok(GoValue::from(if expand {
        re.replace_all(&s, repl.as_str()).into_owned()
    } else {
        re.replace_all(&s, regex::NoExpand(&repl)).into_owned()
    }))
}

fn split(a: &[GoValue], must: bool) -> R {
    want("regexSplit", a, 3)?;
    let (re, s, n) = (str_param(a, 0)?, str_param(a, 1)?, int_param(a, 2)?);
    let re = match compile(&re) {
        Ok(re) => re,
        Err(e) if must => return Err(e),
        Err(e) => return Err(e),
    };
    let parts: Vec<String> = match usize::try_from(n) {
        Ok(0) => Vec::new(),
        Ok(n) => re.splitn(&s, n).map(String::from).collect(),
        Err(_) => re.split(&s).map(String::from).collect(),
    };
    Ok(GoValue::string_list(parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_ascii() {
        let r = matches(&[GoValue::str(r"^\d+$"), GoValue::str("١٢")], false);
        assert!(r.is_ok_and(|v| !v.truthy()));
        let r = matches(&[GoValue::str(r"^\d+$"), GoValue::str("12")], false);
        assert!(r.is_ok_and(|v| v.truthy()));
        assert_eq!(ascii_classes(r"\\d[\d.]\w\."), r"\\d[[0-9].][0-9A-Za-z_]\.");
        let r = matches(&[GoValue::str(r"\bé"), GoValue::str("aé")], false);
        assert!(
            r.is_ok_and(|v| v.truthy()),
            "é is not an ASCII word character"
        );
        assert_eq!(quote_meta("1.2"), r"1\.2");
    }
}
