//! `toToml` and `fromToml` as Helm has them (BurntSushi/toml): the encoder writes a table's
//! plain keys first and its sub-tables after, keys sorted, nested tables indented two spaces
//! per level, floats always with a decimal point; the decoder gives `int64` integers,
//! `float64` floats and maps for tables. Date-times are kept as their text.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use fleet_gotemplate::GoValue;
use fleet_gotemplate::value::Map;

fn bare(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn key_text(key: &str) -> String {
    if bare(key) {
        key.to_string()
    } else {
        quote(key)
    }
}

fn is_table(v: &GoValue) -> bool {
    matches!(v, GoValue::Map(_))
}

fn is_table_array(v: &GoValue) -> bool {
    match v {
        GoValue::List(l) => {
            let items = l.items.borrow();
            !items.is_empty() && items.iter().all(is_table)
        }
        _ => false,
    }
}

fn value_text(v: &GoValue) -> Result<String, String> {
    Ok(match v {
        GoValue::Bool(b) => b.to_string(),
        GoValue::Int(i) | GoValue::Int64(i) => i.to_string(),
        GoValue::Float(f) => {
            if f.is_nan() {
                "nan".into()
            } else if f.is_infinite() {
                if *f > 0.0 { "inf" } else { "-inf" }.into()
            } else {
                let s = format!("{f}");
                if s.contains('.') { s } else { format!("{s}.0") }
            }
        }
        GoValue::Str(s) => quote(s),
        GoValue::List(l) => {
            let items: Result<Vec<String>, String> =
                l.items.borrow().iter().map(value_text).collect();
            format!("[{}]", items?.join(", "))
        }
        GoValue::Map(m) => {
            let entries: Result<Vec<String>, String> = m
                .borrow()
                .iter()
                .filter(|(_, v)| !v.is_nil())
                .map(|(k, v)| Ok(format!("{} = {}", key_text(k), value_text(v)?)))
                .collect();
            format!("{{{}}}", entries?.join(", "))
        }
        GoValue::Object(o) => value_text(&o.to_data())?,
        GoValue::Nil => return Err("toml: cannot encode a nil value".into()),
    })
}

struct Encoder {
    out: String,
}

impl Encoder {
    fn newline(&mut self) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    fn table(&mut self, path: &[String], map: &BTreeMap<String, GoValue>) -> Result<(), String> {
        // Plain keys first, then sub-tables; contents indented two spaces per level.
        let pad = "  ".repeat(path.len());
        for (k, v) in map {
            if v.is_nil() || is_table(v) || is_table_array(v) {
                continue;
            }
            self.out
                .push_str(&format!("{pad}{} = {}\n", key_text(k), value_text(v)?));
        }
        for (k, v) in map {
            let mut sub = path.to_vec();
            sub.push(k.clone());
            let header = sub
                .iter()
                .map(|k| key_text(k))
                .collect::<Vec<_>>()
                .join(".");
            let pad = "  ".repeat(sub.len() - 1);
            match v {
                GoValue::Map(m) => {
                    if sub.len() == 1 {
                        self.newline();
                    }
                    self.out.push_str(&format!("{pad}[{header}]\n"));
                    let m = m.borrow().clone();
                    self.table(&sub, &m)?;
                }
                GoValue::List(l) if is_table_array(v) => {
                    for item in l.items.borrow().iter() {
                        if let GoValue::Map(m) = item {
                            if sub.len() == 1 {
                                self.newline();
                            }
                            self.out.push_str(&format!("{pad}[[{header}]]\n"));
                            let m = m.borrow().clone();
                            self.table(&sub, &m)?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// `toToml`: the TOML text, or the encoder's error text.
pub fn to_toml(v: &GoValue) -> String {
    let GoValue::Map(m) = v else {
        return "toml: top-level values must be Go maps or structs".into();
    };
    let mut e = Encoder { out: String::new() };
    let map = m.borrow().clone();
    match e.table(&[], &map) {
        Ok(()) => e.out,
        Err(err) => err,
    }
}

// ---------------------------------------------------------------- decoding

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    line: usize,
}

impl Parser<'_> {
    fn err(&self, msg: &str) -> String {
        format!("toml: line {}: {msg}", self.line)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t') = self.peek() {
            self.i += 1;
        }
    }

    /// Whitespace, newlines and comments (inside arrays).
    fn skip_all(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r') => self.i += 1,
                Some(b'\n') => {
                    self.i += 1;
                    self.line += 1;
                }
                Some(b'#') => self.skip_comment(),
                _ => return,
            }
        }
    }

    fn skip_comment(&mut self) {
        while let Some(c) = self.peek() {
            if c == b'\n' {
                return;
            }
            self.i += 1;
        }
    }

    fn end_of_line(&mut self) -> Result<(), String> {
        self.skip_ws();
        if self.peek() == Some(b'#') {
            self.skip_comment();
        }
        match self.peek() {
            None => Ok(()),
            Some(b'\r') if self.s.get(self.i + 1) == Some(&b'\n') => {
                self.i += 2;
                self.line += 1;
                Ok(())
            }
            Some(b'\n') => {
                self.i += 1;
                self.line += 1;
                Ok(())
            }
            Some(_) => Err(self.err("expected a newline after the value")),
        }
    }

    fn key(&mut self) -> Result<Vec<String>, String> {
        let mut parts = Vec::new();
        loop {
            self.skip_ws();
            let part = match self.peek() {
                Some(b'"') => self.basic_string()?,
                Some(b'\'') => self.literal_string()?,
                _ => {
                    let start = self.i;
                    while self
                        .peek()
                        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    {
                        self.i += 1;
                    }
                    if start == self.i {
                        return Err(self.err("expected a key"));
                    }
                    String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
                }
            };
            parts.push(part);
            self.skip_ws();
            if self.peek() == Some(b'.') {
                self.i += 1;
                continue;
            }
            return Ok(parts);
        }
    }

    fn basic_string(&mut self) -> Result<String, String> {
        let multi = self.s[self.i..].starts_with(b"\"\"\"");
        self.i += if multi { 3 } else { 1 };
        if multi && self.peek() == Some(b'\n') {
            self.i += 1;
            self.line += 1;
        }
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            if multi && self.s[self.i..].starts_with(b"\"\"\"") {
                self.i += 3;
                break;
            }
            if !multi && c == b'"' {
                self.i += 1;
                break;
            }
            if c == b'\n' {
                if !multi {
                    return Err(self.err("newline in string"));
                }
                self.line += 1;
            }
            self.i += 1;
            if c != b'\\' {
                out.push(c);
                continue;
            }
            let Some(e) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            self.i += 1;
            let ch = match e {
                b'b' => '\u{8}',
                b't' => '\t',
                b'n' => '\n',
                b'f' => '\u{c}',
                b'r' => '\r',
                b'"' => '"',
                b'\\' => '\\',
                b'u' | b'U' => {
                    let n = if e == b'u' { 4 } else { 8 };
                    let hex = self
                        .s
                        .get(self.i..self.i + n)
                        .ok_or_else(|| self.err("bad escape"))?;
                    self.i += n;
                    u32::from_str_radix(&String::from_utf8_lossy(hex), 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| self.err("bad escape"))?
                }
                b' ' | b'\t' | b'\n' | b'\r' if multi => {
                    // A line-ending backslash trims the following whitespace.
                    self.i -= 1;
                    while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
                        if self.peek() == Some(b'\n') {
                            self.line += 1;
                        }
                        self.i += 1;
                    }
                    continue;
                }
                _ => return Err(self.err("invalid escape")),
            };
            let mut buf = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    fn literal_string(&mut self) -> Result<String, String> {
        let multi = self.s[self.i..].starts_with(b"'''");
        let delim: &[u8] = if multi { b"'''" } else { b"'" };
        self.i += delim.len();
        if multi && self.peek() == Some(b'\n') {
            self.i += 1;
            self.line += 1;
        }
        let start = self.i;
        loop {
            if self.i >= self.s.len() {
                return Err(self.err("unterminated string"));
            }
            if self.s[self.i..].starts_with(delim) {
                let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                self.i += delim.len();
                return Ok(text);
            }
            if self.s[self.i] == b'\n' {
                if !multi {
                    return Err(self.err("newline in string"));
                }
                self.line += 1;
            }
            self.i += 1;
        }
    }

    fn value(&mut self) -> Result<GoValue, String> {
        self.skip_ws();
        match self.peek() {
            Some(b'"') => Ok(GoValue::from(self.basic_string()?)),
            Some(b'\'') => Ok(GoValue::from(self.literal_string()?)),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_all();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        break;
                    }
                    items.push(self.value()?);
                    self.skip_all();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            break;
                        }
                        _ => return Err(self.err("expected , or ] in array")),
                    }
                }
                Ok(GoValue::list(items))
            }
            Some(b'{') => {
                self.i += 1;
                let table: Map = Rc::new(RefCell::new(BTreeMap::new()));
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(GoValue::Map(table));
                }
                loop {
                    let key = self.key()?;
                    self.skip_ws();
                    if self.peek() != Some(b'=') {
                        return Err(self.err("expected = in inline table"));
                    }
                    self.i += 1;
                    let v = self.value()?;
                    insert(&table, &key, v).map_err(|e| self.err(&e))?;
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(GoValue::Map(table));
                        }
                        _ => return Err(self.err("expected , or } in inline table")),
                    }
                }
            }
            _ => {
                let start = self.i;
                while self.peek().is_some_and(|b| {
                    // A space ends a scalar, except inside a date-time (`1979-05-27 07:32:00`).
                    !matches!(b, b',' | b']' | b'}' | b'\n' | b'\r' | b'#')
                        && (b != b' ' || self.s[start..self.i].contains(&b'-'))
                }) {
                    self.i += 1;
                }
                let text = String::from_utf8_lossy(&self.s[start..self.i])
                    .trim()
                    .to_string();
                scalar(&text).ok_or_else(|| self.err(&format!("invalid value {text:?}")))
            }
        }
    }
}

fn scalar(text: &str) -> Option<GoValue> {
    match text {
        "true" => return Some(GoValue::Bool(true)),
        "false" => return Some(GoValue::Bool(false)),
        "inf" | "+inf" => return Some(GoValue::Float(f64::INFINITY)),
        "-inf" => return Some(GoValue::Float(f64::NEG_INFINITY)),
        "nan" | "+nan" | "-nan" => return Some(GoValue::Float(f64::NAN)),
        _ => {}
    }
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b.to_string()),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean).to_string()),
    };
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(d) = body.strip_prefix(prefix) {
            return i64::from_str_radix(d, radix).ok().map(GoValue::Int64);
        }
    }
    if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = body.parse().ok()?;
        return Some(GoValue::Int64(if neg { -n } else { n }));
    }
    if body.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        // A date-time keeps its text; anything else must be a float.
        if body.len() >= 8 && body.as_bytes().get(4) == Some(&b'-') || body.contains(':') {
            return Some(GoValue::from(text));
        }
        let f: f64 = body.parse().ok()?;
        return Some(GoValue::Float(if neg { -f } else { f }));
    }
    None
}

fn insert(table: &Map, key: &[String], v: GoValue) -> Result<(), String> {
    let Some((last, path)) = key.split_last() else {
        return Err("empty key".into());
    };
    let target = descend(table, path)?;
    let mut t = target.borrow_mut();
    if t.contains_key(last) {
        return Err(format!("key {last:?} is already defined"));
    }
    t.insert(last.clone(), v);
    Ok(())
}

/// The map at `path` below `root`, created where missing; an array of tables yields its
/// last element.
fn descend(root: &Map, path: &[String]) -> Result<Map, String> {
    let mut cur = root.clone();
    for k in path {
        let next = cur.borrow().get(k).cloned();
        let next = match next {
            Some(GoValue::Map(m)) => m,
            Some(GoValue::List(l)) => match l.items.borrow().last() {
                Some(GoValue::Map(m)) => m.clone(),
                _ => return Err(format!("key {k:?} is not a table")),
            },
            Some(_) => return Err(format!("key {k:?} is not a table")),
            None => {
                let m: Map = Rc::new(RefCell::new(BTreeMap::new()));
                cur.borrow_mut().insert(k.clone(), GoValue::Map(m.clone()));
                m
            }
        };
        cur = next;
    }
    Ok(cur)
}

/// `fromToml`: the document as maps, or the decoder's error text.
pub fn from_toml(text: &str) -> Result<GoValue, String> {
    let root_map: Map = Rc::new(RefCell::new(BTreeMap::new()));
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        line: 1,
    };
    let mut current = root_map.clone();
    loop {
        p.skip_all();
        let Some(c) = p.peek() else { break };
        if c == b'[' {
            let array = p.s[p.i..].starts_with(b"[[");
            p.i += if array { 2 } else { 1 };
            let key = p.key()?;
            p.skip_ws();
            let close: &[u8] = if array { b"]]" } else { b"]" };
            if !p.s[p.i..].starts_with(close) {
                return Err(p.err("expected ] after table name"));
            }
            p.i += close.len();
            p.end_of_line()?;
            let Some((last, path)) = key.split_last() else {
                return Err(p.err("empty table name"));
            };
            let parent = descend(&root_map, path).map_err(|e| p.err(&e))?;
            let table = GoValue::empty_map();
            let existing = parent.borrow().get(last).cloned();
            match (array, existing) {
                (true, Some(GoValue::List(l))) => l.items.borrow_mut().push(table.clone()),
                (true, None) => {
                    parent
                        .borrow_mut()
                        .insert(last.clone(), GoValue::list(vec![table.clone()]));
                }
                (false, Some(GoValue::Map(m))) => {
                    current = m;
                    continue;
                }
                (false, None) => {
                    parent.borrow_mut().insert(last.clone(), table.clone());
                }
                _ => return Err(p.err(&format!("key {last:?} is already defined"))),
            }
            if let GoValue::Map(m) = table {
                current = m;
            }
            continue;
        }
        let key = p.key()?;
        p.skip_ws();
        if p.peek() != Some(b'=') {
            return Err(p.err("expected = after a key"));
        }
        p.i += 1;
        let v = p.value()?;
        insert(&current, &key, v).map_err(|e| p.err(&e))?;
        p.end_of_line()?;
    }
    Ok(GoValue::Map(root_map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_gotemplate::Numbers;
    use serde_json::json;

    #[test]
    fn encodes_like_burntsushi() {
        let v = GoValue::from_json(
            &json!({"b": {"x": 1, "c": {"d": "s"}}, "a": 1.5, "n": 3, "l": [1, 2], "t": [{"k": true}]}),
            Numbers::Float64,
        );
        assert_eq!(
            to_toml(&v),
            "a = 1.5\nl = [1.0, 2.0]\nn = 3.0\n\n[b]\n  x = 1.0\n  [b.c]\n    d = \"s\"\n\n[[t]]\n  k = true\n"
        );
    }

    #[test]
    fn decodes_tables_arrays_and_types() {
        let text = "a = 1\nb = \"x\\ty\" # c\n[t]\nf = 1.5\n[t.u]\nk = 'lit'\n[[arr]]\nn = 1\n[[arr]]\nn = 2\ninline = {p = [1, 2], q.r = true}\n";
        let v = from_toml(text).unwrap_or_default();
        assert_eq!(
            v.sprint(),
            "map[a:1 arr:[map[n:1] map[inline:map[p:[1 2] q:map[r:true]] n:2]] b:x\ty t:map[f:1.5 u:map[k:lit]]]"
        );
        assert_eq!(
            fleet_gotemplate::GoValue::type_name(&v),
            "map[string]interface {}"
        );
        assert!(from_toml("a = \n").is_err());
        assert!(from_toml("a = 1\na = 2\n").is_err());
    }
}
