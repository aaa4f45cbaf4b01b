//! The function library: Go's template built-ins and the deterministic sprig functions,
//! over JSON-shaped values. Each is reachable through [`crate::Funcs::builtin`].

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};
use sha2::Digest as _;

use crate::value::{print, truthy};

type R = Result<Value, String>;

/// Formats a number as Go does for a float64 or int64 holding it.
pub fn format_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else if f.abs() >= 1e21 || (f != 0.0 && f.abs() < 1e-4) {
        let s = format!("{f:e}");
        // Go prints e+21 / e-05 with a sign and two digits at least.
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = match e.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', e),
                };
                format!("{m}e{sign}{digits:0>2}")
            }
            None => s,
        }
    } else {
        f.to_string()
    }
}

/// A Go-ish type name for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

fn arity(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!(
            "error calling {name}: wrong number of args for {name}: want {n} got {}",
            args.len()
        ))
    }
}

fn min_arity(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() >= n {
        Ok(())
    } else {
        Err(format!(
            "error calling {name}: wrong number of args for {name}: want at least {n} got {}",
            args.len()
        ))
    }
}

/// sprig's `toString`-like conversion used by the string functions.
fn s(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        other => print(other),
    }
}

fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.trim().parse().unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Number(n) => n
            .as_i64()
            .unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64),
        Value::String(s) => {
            let t = s.trim();
            t.parse::<i64>()
                .unwrap_or_else(|_| t.parse::<f64>().map(|f| f as i64).unwrap_or(0))
        }
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

fn list_of(v: &Value) -> Result<Vec<Value>, String> {
    match v {
        Value::Array(a) => Ok(a.clone()),
        Value::Null => Ok(Vec::new()),
        other => Err(format!("cannot use {} as a list", type_name(other))),
    }
}

fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering, String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&y.as_f64().unwrap_or(0.0))
            .ok_or_else(|| "incomparable numbers".to_string()),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => Err(format!(
            "incompatible types for comparison: {} and {}",
            type_name(a),
            type_name(b)
        )),
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn json_text(v: &Value, pretty: bool) -> Result<String, String> {
    if pretty {
        serde_json::to_string_pretty(v).map_err(|e| e.to_string())
    } else {
        serde_json::to_string(v).map_err(|e| e.to_string())
    }
}

fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A small `fmt.Sprintf`: `%s %v %d %q %t %f %x %X %o %b %e %%`, with widths and `-`/`0`
/// flags and precision for `%f`/`%s`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut left = false;
        let mut zero = false;
        let mut plus = false;
        while let Some(&f) = chars.peek() {
            match f {
                '-' => left = true,
                '0' => zero = true,
                '+' => plus = true,
                ' ' | '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut precision: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            precision = Some(p.parse().unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next += 1;
        let mut text = match verb {
            's' | 'v' => {
                let t = match arg {
                    Value::Null => "<nil>".to_string(),
                    other => print(other),
                };
                match precision {
                    Some(p) if verb == 's' => t.chars().take(p).collect(),
                    _ => t,
                }
            }
            'q' => go_quote(&s(arg)),
            't' => match arg {
                Value::Bool(b) => b.to_string(),
                other => format!("%!t({})", print(other)),
            },
            'd' => match arg {
                Value::Number(n) if n.as_i64().is_some() || n.as_u64().is_some() => {
                    let t = format_number(n);
                    if plus && !t.starts_with('-') {
                        format!("+{t}")
                    } else {
                        t
                    }
                }
                other => format!("%!d({}={})", type_name(other), print(other)),
            },
            'f' | 'F' => format!("{:.*}", precision.unwrap_or(6), to_f64(arg)),
            'e' => format!("{:.*e}", precision.unwrap_or(6), to_f64(arg)),
            'x' => match arg {
                Value::String(st) => hex::encode(st.as_bytes()),
                other => format!("{:x}", to_i64(other)),
            },
            'X' => match arg {
                Value::String(st) => hex::encode_upper(st.as_bytes()),
                other => format!("{:X}", to_i64(other)),
            },
            'o' => format!("{:o}", to_i64(arg)),
            'b' => format!("{:b}", to_i64(arg)),
            other => format!("%!{other}({})", print(arg)),
        };
        if let Ok(w) = width.parse::<usize>().map(|w| w.min(1 << 16)) {
            let len = text.chars().count();
            if len < w {
                let pad = w - len;
                if left {
                    text.push_str(&" ".repeat(pad));
                } else if zero && !matches!(verb, 's' | 'q' | 'v') {
                    text = format!("{}{text}", "0".repeat(pad));
                } else {
                    text = format!("{}{text}", " ".repeat(pad));
                }
            }
        }
        out.push_str(&text);
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        out.push_str(
            &args[next..]
                .iter()
                .map(|a| format!("{}={}", type_name(a), print(a)))
                .collect::<Vec<_>>()
                .join(", "),
        );
        out.push(')');
    }
    out
}

fn index(args: &[Value]) -> R {
    let Some((first, keys)) = args.split_first() else {
        return Err(
            "error calling index: wrong number of args for index: want at least 1 got 0".into(),
        );
    };
    let mut v = first.clone();
    for key in keys {
        v = match (&v, key) {
            (Value::Object(m), Value::String(k)) => m.get(k).cloned().unwrap_or(Value::Null),
            (Value::Array(a), Value::Number(n)) => {
                let i = n.as_i64().unwrap_or(-1);
                usize::try_from(i)
                    .ok()
                    .and_then(|i| a.get(i))
                    .cloned()
                    .ok_or_else(|| format!("error calling index: index out of range: {i}"))?
            }
            (Value::Null, _) => {
                return Err("error calling index: index of untyped nil".to_string());
            }
            (coll, k) => {
                return Err(format!(
                    "error calling index: cannot index {} with {}",
                    type_name(coll),
                    type_name(k)
                ));
            }
        };
    }
    Ok(v)
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric() && c != '\'' && c != '_';
    }
    out
}

fn words(s: &str) -> Vec<String> {
    // Split on non-alphanumerics and on lower→upper transitions.
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The longest string a function may build.
const MAX_STRING: usize = 16 << 20;

fn indent(n: i64, text: &str) -> Result<String, String> {
    let width = usize::try_from(n).unwrap_or(0);
    let lines = text.matches('\n').count() + 1;
    if width.saturating_mul(lines).saturating_add(text.len()) > MAX_STRING {
        return Err(format!(
            "error calling indent: result longer than {MAX_STRING} bytes"
        ));
    }
    let pad = " ".repeat(width);
    Ok(format!("{pad}{}", text.replace('\n', &format!("\n{pad}"))))
}

fn base64_encode(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((buf >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// Calls a function by name. Unknown names are errors, as Go's template parser reports them.
/// sprig's regular-expression family: the `must` forms fail on a bad pattern, the others give
/// the empty result sprig's error-swallowing versions give.
fn regex_call(name: &str, a: &[Value]) -> R {
    let must = name.starts_with("must");
    let want = match name.trim_start_matches("must").to_lowercase().as_str() {
        "regexfindall" | "regexsplit" => 3,
        "regexreplaceall" | "regexreplaceallliteral" => 3,
        _ => 2,
    };
    arity(name, a, want)?;
    let re = match regex::Regex::new(&s(&a[0])) {
        Ok(re) => re,
        Err(e) if must => return Err(format!("error calling {name}: {e}")),
        Err(_) => {
            return Ok(match name {
                "regexMatch" => Value::Bool(false),
                "regexFindAll" | "regexSplit" => Value::Array(Vec::new()),
                _ => Value::String(String::new()),
            });
        }
    };
    let text = s(&a[1]);
    // Go: n < 0 means all, n == 0 none, n > 0 at most n.
    let limit = |v: &Value| -> Option<usize> { usize::try_from(to_i64(v)).ok() };
    Ok(match name.trim_start_matches("must") {
        "RegexMatch" | "regexMatch" => Value::Bool(re.is_match(&text)),
        "RegexFind" | "regexFind" => Value::String(
            re.find(&text)
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
        ),
        "RegexFindAll" | "regexFindAll" => {
            let all = re
                .find_iter(&text)
                .map(|m| Value::String(m.as_str().to_string()));
            Value::Array(match limit(&a[2]) {
                Some(n) => all.take(n).collect(),
                None => all.collect(),
            })
        }
        "RegexReplaceAll" | "regexReplaceAll" => {
            Value::String(re.replace_all(&text, s(&a[2]).as_str()).into_owned())
        }
        "RegexReplaceAllLiteral" | "regexReplaceAllLiteral" => Value::String(
            re.replace_all(&text, regex::NoExpand(&s(&a[2])))
                .into_owned(),
        ),
        _ => {
            let parts: Vec<Value> = match limit(&a[2]) {
                Some(0) => Vec::new(),
                Some(n) => re
                    .splitn(&text, n)
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
                None => re
                    .split(&text)
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
            };
            Value::Array(parts)
        }
    })
}

/// Calls the built-in function `name` with evaluated arguments.
pub fn call(name: &str, args: Vec<Value>) -> R {
    let a = &args;
    let str_arg = |i: usize| a.get(i).map(s).unwrap_or_default();
    Ok(match name {
        // Go template built-ins.
        "not" => {
            arity(name, a, 1)?;
            Value::Bool(!truthy(&a[0]))
        }
        "len" => {
            arity(name, a, 1)?;
            Value::from(match &a[0] {
                Value::String(x) => x.len(),
                Value::Array(x) => x.len(),
                Value::Object(x) => x.len(),
                other => {
                    return Err(format!(
                        "error calling len: len of type {}",
                        type_name(other)
                    ));
                }
            })
        }
        "index" => index(a)?,
        "print" => {
            let mut out = String::new();
            for (i, v) in a.iter().enumerate() {
                let is_str = matches!(v, Value::String(_));
                if i > 0 && !is_str && !matches!(a[i - 1], Value::String(_)) {
                    out.push(' ');
                }
                out.push_str(&match v {
                    Value::Null => "<nil>".to_string(),
                    other => print(other),
                });
            }
            Value::String(out)
        }
        "println" => Value::String(format!(
            "{}\n",
            a.iter()
                .map(|v| match v {
                    Value::Null => "<nil>".to_string(),
                    other => print(other),
                })
                .collect::<Vec<_>>()
                .join(" ")
        )),
        "printf" => {
            min_arity(name, a, 1)?;
            Value::String(sprintf(&s(&a[0]), &a[1..]))
        }
        "eq" => {
            min_arity(name, a, 2)?;
            Value::Bool(a[1..].iter().any(|b| equal(&a[0], b)))
        }
        "ne" => {
            arity(name, a, 2)?;
            Value::Bool(!equal(&a[0], &a[1]))
        }
        "lt" | "le" | "gt" | "ge" => {
            arity(name, a, 2)?;
            let o = compare(&a[0], &a[1]).map_err(|e| format!("error calling {name}: {e}"))?;
            Value::Bool(match name {
                "lt" => o.is_lt(),
                "le" => o.is_le(),
                "gt" => o.is_gt(),
                _ => o.is_ge(),
            })
        }
        "urlquery" => Value::String(
            a.iter()
                .map(s)
                .collect::<String>()
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    b' ' => "+".to_string(),
                    other => format!("%{other:02X}"),
                })
                .collect(),
        ),
        // sprig: strings.
        "upper" => Value::String(str_arg(0).to_uppercase()),
        "lower" => Value::String(str_arg(0).to_lowercase()),
        "title" => Value::String(title(&str_arg(0))),
        "untitle" => {
            let t = str_arg(0);
            let mut c = t.chars();
            Value::String(match c.next() {
                Some(f) => f.to_lowercase().chain(c).collect(),
                None => String::new(),
            })
        }
        "trim" => Value::String(str_arg(0).trim().to_string()),
        "trimAll" => {
            arity(name, a, 2)?;
            let cut: Vec<char> = s(&a[0]).chars().collect();
            Value::String(s(&a[1]).trim_matches(|c| cut.contains(&c)).to_string())
        }
        "trimPrefix" => {
            arity(name, a, 2)?;
            let t = s(&a[1]);
            Value::String(t.strip_prefix(s(&a[0]).as_str()).unwrap_or(&t).to_string())
        }
        "trimSuffix" => {
            arity(name, a, 2)?;
            let t = s(&a[1]);
            Value::String(t.strip_suffix(s(&a[0]).as_str()).unwrap_or(&t).to_string())
        }
        "replace" => {
            arity(name, a, 3)?;
            Value::String(s(&a[2]).replace(&s(&a[0]), &s(&a[1])))
        }
        "contains" => {
            arity(name, a, 2)?;
            Value::Bool(s(&a[1]).contains(&s(&a[0])))
        }
        "hasPrefix" => {
            arity(name, a, 2)?;
            Value::Bool(s(&a[1]).starts_with(&s(&a[0])))
        }
        "hasSuffix" => {
            arity(name, a, 2)?;
            Value::Bool(s(&a[1]).ends_with(&s(&a[0])))
        }
        "repeat" => {
            arity(name, a, 2)?;
            let n = usize::try_from(to_i64(&a[0])).unwrap_or(0);
            let text = s(&a[1]);
            if text.len().saturating_mul(n) > MAX_STRING {
                return Err(format!(
                    "error calling repeat: result longer than {MAX_STRING} bytes"
                ));
            }
            Value::String(text.repeat(n))
        }
        "substr" => {
            arity(name, a, 3)?;
            let t: Vec<char> = s(&a[2]).chars().collect();
            let (start, end) = (to_i64(&a[0]), to_i64(&a[1]));
            let len = t.len() as i64;
            let (from, to) = if start < 0 {
                (0, end.clamp(0, len))
            } else if end < 0 || end > len {
                (start.min(len), len)
            } else {
                (start.min(end), end)
            };
            Value::String(t[from as usize..to as usize].iter().collect())
        }
        "trunc" => {
            arity(name, a, 2)?;
            let t: Vec<char> = s(&a[1]).chars().collect();
            let n = to_i64(&a[0]);
            let len = t.len() as i64;
            Value::String(if n >= 0 {
                t[..n.min(len) as usize].iter().collect()
            } else {
                t[(len + n).max(0) as usize..].iter().collect()
            })
        }
        "quote" => Value::String(
            a.iter()
                .filter(|v| !v.is_null())
                .map(|v| go_quote(&s(v)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "squote" => Value::String(
            a.iter()
                .filter(|v| !v.is_null())
                .map(|v| format!("'{}'", s(v)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "cat" => Value::String(
            a.iter()
                .filter(|v| !v.is_null())
                .map(s)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "indent" => {
            arity(name, a, 2)?;
            Value::String(indent(to_i64(&a[0]), &s(&a[1]))?)
        }
        "nindent" => {
            arity(name, a, 2)?;
            Value::String(format!("\n{}", indent(to_i64(&a[0]), &s(&a[1]))?))
        }
        "snakecase" => Value::String(
            words(&str_arg(0))
                .iter()
                .map(|w| w.to_lowercase())
                .collect::<Vec<_>>()
                .join("_"),
        ),
        "kebabcase" => Value::String(
            words(&str_arg(0))
                .iter()
                .map(|w| w.to_lowercase())
                .collect::<Vec<_>>()
                .join("-"),
        ),
        "camelcase" => Value::String(
            str_arg(0)
                .split('_')
                .map(|w| title(&w.to_lowercase()))
                .collect::<String>(),
        ),
        "split" => {
            arity(name, a, 2)?;
            let mut m = Map::new();
            for (i, part) in s(&a[1]).split(s(&a[0]).as_str()).enumerate() {
                m.insert(format!("_{i}"), Value::from(part));
            }
            Value::Object(m)
        }
        "splitList" => {
            arity(name, a, 2)?;
            Value::Array(s(&a[1]).split(s(&a[0]).as_str()).map(Value::from).collect())
        }
        "join" => {
            arity(name, a, 2)?;
            let sep = s(&a[0]);
            let items = match &a[1] {
                Value::Array(items) => items.iter().map(s).collect::<Vec<_>>(),
                Value::Null => Vec::new(),
                other => vec![s(other)],
            };
            Value::String(items.join(&sep))
        }
        "toString" => Value::String(str_arg(0)),
        "toStrings" => Value::Array(
            list_of(a.first().unwrap_or(&Value::Null))?
                .iter()
                .map(|v| Value::String(s(v)))
                .collect(),
        ),
        "b64enc" => Value::String(base64_encode(str_arg(0).as_bytes())),
        "b64dec" => Value::String(
            base64_decode(&str_arg(0))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_else(|| "illegal base64 data".to_string()),
        ),
        "sha256sum" => Value::String(hex::encode(sha2::Sha256::digest(str_arg(0).as_bytes()))),
        "sha1sum" => Value::String(hex::encode(sha1::Sha1::digest(str_arg(0).as_bytes()))),
        "regexMatch"
        | "mustRegexMatch"
        | "regexFind"
        | "mustRegexFind"
        | "regexFindAll"
        | "mustRegexFindAll"
        | "regexReplaceAll"
        | "mustRegexReplaceAll"
        | "regexReplaceAllLiteral"
        | "mustRegexReplaceAllLiteral"
        | "regexSplit"
        | "mustRegexSplit" => return regex_call(name, a),
        "regexQuoteMeta" => Value::String(regex::escape(&str_arg(0))),
        // sprig: defaults and logic.
        "default" => {
            min_arity(name, a, 1)?;
            match a.get(1) {
                Some(v) if truthy(v) => v.clone(),
                _ => a[0].clone(),
            }
        }
        "empty" => Value::Bool(!a.first().is_some_and(truthy)),
        "coalesce" => a.iter().find(|v| truthy(v)).cloned().unwrap_or(Value::Null),
        "ternary" => {
            arity(name, a, 3)?;
            if truthy(&a[2]) {
                a[0].clone()
            } else {
                a[1].clone()
            }
        }
        "fail" => return Err(format!("error calling fail: {}", str_arg(0))),
        "toJson" | "toRawJson" | "mustToJson" | "mustToRawJson" => {
            Value::String(json_text(a.first().unwrap_or(&Value::Null), false)?)
        }
        "toPrettyJson" | "mustToPrettyJson" => {
            Value::String(json_text(a.first().unwrap_or(&Value::Null), true)?)
        }
        "fromJson" => serde_json::from_str(&str_arg(0)).unwrap_or(Value::Object(Map::new())),
        "typeOf" => Value::String(type_name(a.first().unwrap_or(&Value::Null)).to_string()),
        "kindIs" => {
            arity(name, a, 2)?;
            let kind = match &a[1] {
                Value::Null => "invalid",
                Value::Bool(_) => "bool",
                Value::Number(n) if n.is_f64() => "float64",
                Value::Number(_) => "int",
                Value::String(_) => "string",
                Value::Array(_) => "slice",
                Value::Object(_) => "map",
            };
            Value::Bool(s(&a[0]) == kind)
        }
        // sprig: numbers.
        "int" | "int64" => Value::from(to_i64(a.first().unwrap_or(&Value::Null))),
        "float64" => float(to_f64(a.first().unwrap_or(&Value::Null))),
        "atoi" => Value::from(str_arg(0).trim().parse::<i64>().unwrap_or(0)),
        "add" => Value::from(a.iter().map(to_i64).fold(0i64, i64::wrapping_add)),
        "add1" => Value::from(to_i64(a.first().unwrap_or(&Value::Null)).wrapping_add(1)),
        "sub" => {
            arity(name, a, 2)?;
            Value::from(to_i64(&a[0]).wrapping_sub(to_i64(&a[1])))
        }
        "mul" => Value::from(a.iter().map(to_i64).fold(1i64, i64::wrapping_mul)),
        "div" | "mod" => {
            arity(name, a, 2)?;
            let d = to_i64(&a[1]);
            if d == 0 {
                return Err(format!("error calling {name}: integer divide by zero"));
            }
            Value::from(if name == "div" {
                to_i64(&a[0]).wrapping_div(d)
            } else {
                to_i64(&a[0]).wrapping_rem(d)
            })
        }
        "max" => Value::from(a.iter().map(to_i64).max().unwrap_or(0)),
        "min" => Value::from(a.iter().map(to_i64).min().unwrap_or(0)),
        "until" => {
            let n = to_i64(a.first().unwrap_or(&Value::Null)).clamp(0, 1 << 16);
            Value::Array((0..n).map(Value::from).collect())
        }
        "seq" => {
            let nums: Vec<i64> = a.iter().map(to_i64).collect();
            let (start, step, end) = match nums.as_slice() {
                [end] => (1, 1, *end),
                [start, end] => (*start, if start <= end { 1 } else { -1 }, *end),
                [start, step, end] => (*start, *step, *end),
                _ => return Ok(Value::String(String::new())),
            };
            let mut out = Vec::new();
            let mut i = start;
            while step != 0
                && ((step > 0 && i <= end) || (step < 0 && i >= end))
                && out.len() < 1 << 16
            {
                out.push(i.to_string());
                i += step;
            }
            Value::String(out.join(" "))
        }
        // sprig: lists.
        "list" => Value::Array(a.clone()),
        "first" => list_of(a.first().unwrap_or(&Value::Null))?
            .first()
            .cloned()
            .unwrap_or(Value::Null),
        "last" => list_of(a.first().unwrap_or(&Value::Null))?
            .last()
            .cloned()
            .unwrap_or(Value::Null),
        "rest" => Value::Array(
            list_of(a.first().unwrap_or(&Value::Null))?
                .into_iter()
                .skip(1)
                .collect(),
        ),
        "initial" => {
            let mut l = list_of(a.first().unwrap_or(&Value::Null))?;
            l.pop();
            Value::Array(l)
        }
        "append" | "push" => {
            arity(name, a, 2)?;
            let mut l = list_of(&a[0])?;
            l.push(a[1].clone());
            Value::Array(l)
        }
        "prepend" => {
            arity(name, a, 2)?;
            let mut l = list_of(&a[0])?;
            l.insert(0, a[1].clone());
            Value::Array(l)
        }
        "concat" => {
            let mut out = Vec::new();
            for v in a {
                out.extend(list_of(v)?);
            }
            Value::Array(out)
        }
        "reverse" => {
            let mut l = list_of(a.first().unwrap_or(&Value::Null))?;
            l.reverse();
            Value::Array(l)
        }
        "uniq" => {
            let mut out: Vec<Value> = Vec::new();
            for v in list_of(a.first().unwrap_or(&Value::Null))? {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Value::Array(out)
        }
        "compact" => Value::Array(
            list_of(a.first().unwrap_or(&Value::Null))?
                .into_iter()
                .filter(truthy)
                .collect(),
        ),
        "has" => {
            arity(name, a, 2)?;
            Value::Bool(list_of(&a[1])?.iter().any(|v| equal(v, &a[0])))
        }
        "without" => {
            min_arity(name, a, 1)?;
            Value::Array(
                list_of(&a[0])?
                    .into_iter()
                    .filter(|v| !a[1..].contains(v))
                    .collect(),
            )
        }
        "sortAlpha" => {
            let mut l: Vec<String> = list_of(a.first().unwrap_or(&Value::Null))?
                .iter()
                .map(s)
                .collect();
            l.sort();
            Value::Array(l.into_iter().map(Value::String).collect())
        }
        // sprig: dicts.
        "dict" => {
            let mut m = Map::new();
            for pair in a.chunks(2) {
                m.insert(
                    s(&pair[0]),
                    pair.get(1).cloned().unwrap_or(Value::String(String::new())),
                );
            }
            Value::Object(m)
        }
        "hasKey" => {
            arity(name, a, 2)?;
            match &a[0] {
                Value::Object(m) => Value::Bool(m.contains_key(&s(&a[1]))),
                other => {
                    return Err(format!(
                        "error calling hasKey: wrong type for value; expected map[string]interface {{}}; got {}",
                        type_name(other)
                    ));
                }
            }
        }
        "get" => {
            arity(name, a, 2)?;
            match &a[0] {
                Value::Object(m) => m
                    .get(&s(&a[1]))
                    .cloned()
                    .unwrap_or(Value::String(String::new())),
                other => {
                    return Err(format!(
                        "error calling get: wrong type for value; expected map[string]interface {{}}; got {}",
                        type_name(other)
                    ));
                }
            }
        }
        "keys" => {
            let mut keys: Vec<String> = Vec::new();
            for d in a {
                if let Value::Object(m) = d {
                    keys.extend(m.keys().cloned());
                }
            }
            Value::Array(keys.into_iter().map(Value::String).collect())
        }
        "values" => match a.first() {
            Some(Value::Object(m)) => Value::Array(m.values().cloned().collect()),
            _ => Value::Array(Vec::new()),
        },
        "pick" | "omit" => {
            min_arity(name, a, 1)?;
            let Value::Object(m) = &a[0] else {
                return Err(format!("error calling {name}: not a map"));
            };
            let wanted: Vec<String> = a[1..].iter().map(s).collect();
            let keep = name == "pick";
            Value::Object(
                m.iter()
                    .filter(|(k, _)| wanted.contains(k) == keep)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        }
        "merge" | "mergeOverwrite" => {
            min_arity(name, a, 1)?;
            let mut out = a[0].clone();
            for src in &a[1..] {
                merge_into(&mut out, src, name == "mergeOverwrite");
            }
            out
        }
        "deepCopy" => a.first().cloned().unwrap_or(Value::Null),
        _ => return Err(format!("function {name:?} not defined")),
    })
}

fn merge_into(dst: &mut Value, src: &Value, overwrite: bool) {
    let (Value::Object(d), Value::Object(s)) = (dst, src) else {
        return;
    };
    for (k, v) in s {
        match d.get_mut(k) {
            Some(existing @ Value::Object(_)) if v.is_object() => {
                merge_into(existing, v, overwrite)
            }
            Some(existing) => {
                if overwrite || !truthy(existing) {
                    *existing = v.clone();
                }
            }
            None => {
                d.insert(k.clone(), v.clone());
            }
        }
    }
}

/// The names of the functions available (for documentation and tests).
pub fn names() -> BTreeMap<&'static str, ()> {
    [
        "and",
        "or",
        "not",
        "len",
        "index",
        "print",
        "println",
        "printf",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "urlquery",
        "upper",
        "lower",
        "title",
        "untitle",
        "trim",
        "trimAll",
        "trimPrefix",
        "trimSuffix",
        "replace",
        "contains",
        "hasPrefix",
        "hasSuffix",
        "repeat",
        "substr",
        "trunc",
        "quote",
        "squote",
        "cat",
        "indent",
        "nindent",
        "snakecase",
        "kebabcase",
        "camelcase",
        "split",
        "splitList",
        "join",
        "toString",
        "toStrings",
        "b64enc",
        "b64dec",
        "sha256sum",
        "sha1sum",
        "regexMatch",
        "mustRegexMatch",
        "regexFind",
        "mustRegexFind",
        "regexFindAll",
        "mustRegexFindAll",
        "regexReplaceAll",
        "mustRegexReplaceAll",
        "regexReplaceAllLiteral",
        "mustRegexReplaceAllLiteral",
        "regexSplit",
        "mustRegexSplit",
        "regexQuoteMeta",
        "default",
        "empty",
        "coalesce",
        "ternary",
        "fail",
        "toJson",
        "toRawJson",
        "mustToJson",
        "mustToRawJson",
        "toPrettyJson",
        "mustToPrettyJson",
        "fromJson",
        "typeOf",
        "kindIs",
        "int",
        "int64",
        "float64",
        "atoi",
        "add",
        "add1",
        "sub",
        "mul",
        "div",
        "mod",
        "max",
        "min",
        "until",
        "seq",
        "list",
        "first",
        "last",
        "rest",
        "initial",
        "append",
        "push",
        "prepend",
        "concat",
        "reverse",
        "uniq",
        "compact",
        "has",
        "without",
        "sortAlpha",
        "dict",
        "hasKey",
        "get",
        "keys",
        "values",
        "pick",
        "omit",
        "merge",
        "mergeOverwrite",
        "deepCopy",
    ]
    .into_iter()
    .map(|n| (n, ()))
    .collect()
}
