//! `toYaml` as Helm prints it: sigs.k8s.io/yaml, which goes through JSON and then go-yaml v2's
//! encoder. That gives: integral numbers as integers; keys in go-yaml's natural order (digit
//! runs compared as numbers, non-letters before letters); two-space indentation; sequences
//! under a key not indented; strings double-quoted when their plain form would read back as
//! another type (`"yes"`, `"1.10"`, `"2001-12-14"`), single-quoted when plain text is not
//! allowed (`'*x'`, leading spaces), literal blocks for multi-line text, and plain and
//! quoted scalars folded at spaces once past column 80.

use std::cmp::Ordering;

use fleet_gotemplate::GoValue;

/// Where block sequences go relative to their key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqIndent {
    /// go-yaml v2 (`toYaml`): `key:\n- a`.
    AtKey,
    /// go-yaml v3 (`toYamlPretty`): `key:\n  - a`.
    Indented,
}

/// Writes `value` as a YAML document ending in a newline.
pub fn to_yaml(value: &GoValue) -> String {
    to_yaml_with(value, SeqIndent::AtKey)
}

/// Writes `value` as a YAML document with the given sequence style.
pub fn to_yaml_with(value: &GoValue, seq: SeqIndent) -> String {
    let mut e = Emitter {
        out: String::new(),
        seq,
    };
    let value = normalize(value, 0);
    match &value {
        Node::Map(m) if !m.is_empty() => e.map(m, 0),
        Node::List(l) if !l.is_empty() => e.list(l, 0),
        scalar => {
            e.scalar(scalar, 2, false);
            e.out.push('\n');
        }
    }
    e.out
}

/// The value as go-yaml sees it after the JSON round trip.
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Node>),
    Map(Vec<(String, Node)>),
}

fn normalize(v: &GoValue, depth: usize) -> Node {
    if depth > fleet_gotemplate::value::MAX_DEPTH {
        return Node::Null;
    }
    match v {
        GoValue::Nil => Node::Null,
        GoValue::Bool(b) => Node::Bool(*b),
        GoValue::Int(i) | GoValue::Int64(i) => Node::Int(*i),
        GoValue::Float(f) => {
            // JSON prints integral floats below 1e21 without a fraction, and go-yaml reads
            // such text back as an integer.
            if f.fract() == 0.0 && f.abs() < 1e21 && f.abs() < 9.2e18 {
                Node::Int(*f as i64)
            } else {
                Node::Float(*f)
            }
        }
        GoValue::Str(s) => Node::Str(s.to_string()),
        GoValue::List(l) => Node::List(
            l.items
                .borrow()
                .iter()
                .map(|x| normalize(x, depth + 1))
                .collect(),
        ),
        GoValue::Map(m) => {
            let mut entries: Vec<(String, Node)> = m
                .borrow()
                .iter()
                .map(|(k, x)| (k.clone(), normalize(x, depth + 1)))
                .collect();
            entries.sort_by(|a, b| natural_cmp(&a.0, &b.0));
            Node::Map(entries)
        }
        GoValue::Object(o) => normalize(&o.to_data(), depth + 1),
    }
}

/// go-yaml v2's `keyList.Less` for string keys.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let digit = |c: char| c.is_ascii_digit();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
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
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && digit(ar[j - 1]) {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && digit(ar[ai]) {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && digit(br[bi]) {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
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

// ------------------------------------------------------------------ plain-form resolution

fn is_base60_float(s: &str) -> bool {
    // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?
    let b = s.strip_prefix(['-', '+']).unwrap_or(s).as_bytes();
    let mut i = 0;
    if !b.first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let group = &b[start..i];
        let ok = match group {
            [d] => d.is_ascii_digit(),
            [a, d] => (b'0'..=b'5').contains(a) && d.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

fn is_yaml_float(s: &str) -> bool {
    // ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
    let b = s.strip_prefix(['-', '+']).unwrap_or(s).as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if b.first() == Some(&b'.') {
        i = 1;
        if !digits(&mut i) {
            return false;
        }
    } else {
        if !digits(&mut i) {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

fn is_go_int(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    let (digits, radix) = if let Some(d) = lower.strip_prefix("0x") {
        (d.to_string(), 16)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (d.to_string(), 8)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (d.to_string(), 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (lower[1..].to_string(), 8)
    } else {
        (lower.clone(), 10)
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix))
}

fn is_timestamp(s: &str) -> bool {
    // go-yaml v2 accepts 2006-1-2 with optional time parts; the date is what matters.
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let rest = &s[5..];
    let mut parts = rest.splitn(2, ['T', 't', ' ']);
    let date = parts.next().unwrap_or("");
    let time = parts.next();
    let mut dp = date.split('-');
    let (Some(m), Some(d), None) = (dp.next(), dp.next(), dp.next()) else {
        return false;
    };
    let num = |x: &str, max: u32| {
        (1..=2).contains(&x.len())
            && x.bytes().all(|c| c.is_ascii_digit())
            && x.parse::<u32>().is_ok_and(|v| v >= 1 && v <= max)
    };
    if !num(m, 12) || !num(d, 31) {
        return false;
    }
    match time {
        None => true,
        Some(t) => {
            let t = t.trim_end_matches('Z');
            let clock = t.split(['+', '-']).next().unwrap_or("");
            let clock = clock.split('.').next().unwrap_or("");
            let hms: Vec<&str> = clock.split(':').collect();
            hms.len() == 3
                && hms
                    .iter()
                    .all(|p| (1..=2).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit()))
        }
    }
}

/// Whether go-yaml v2 would read `s`, written plain, as something other than a string.
fn resolves_to_non_string(s: &str) -> bool {
    if matches!(
        s,
        "" | "~"
            | "null"
            | "Null"
            | "NULL"
            | "y"
            | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
            | ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
            | ".nan"
            | ".NaN"
            | ".NAN"
            | "<<"
    ) {
        return true;
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return false;
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    is_go_int(&plain) || is_yaml_float(&plain) || is_timestamp(s) || is_base60_float(s)
}

// ------------------------------------------------------------------ scalar analysis

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

fn is_printable(c: char) -> bool {
    let n = c as u32;
    n == 0x0A
        || (0x20..=0x7E).contains(&n)
        || n == 0x85
        || ((0xA0..=0xD7FF).contains(&n))
        || ((0xE000..=0xFFFD).contains(&n) && n != 0xFEFF)
        || (0x10000..=0x10FFFF).contains(&n)
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

struct Analysis {
    multiline: bool,
    block_plain: bool,
    single: bool,
    block: bool,
}

fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain: true,
            single: true,
            block: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let (mut block_ind, mut special, mut line_breaks) = (false, false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    if s.starts_with("---") || s.starts_with("...") {
        block_ind = true;
    }
    let mut preceded_by_ws = true;
    let (mut prev_space, mut prev_break) = (false, false);
    let n = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_ws = chars
            .get(i + 1)
            .is_none_or(|&x| x == ' ' || x == '\t' || is_break(x));
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_ind = true,
                '?' | ':' if followed_by_ws => block_ind = true,
                '-' if followed_by_ws => block_ind = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => block_ind = true,
                '#' if preceded_by_ws => block_ind = true,
                _ => {}
            }
        }
        if !is_printable(c) || c == '\u{feff}' {
            special = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == n - 1 {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            if i == 0 {
                leading_break = true;
            }
            if i == n - 1 {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = c == ' ' || c == '\t' || is_break(c);
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain: true,
        single: true,
        block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || special {
        a.block_plain = false;
        a.single = false;
        a.block = false;
    }
    if line_breaks {
        a.block_plain = false;
    }
    if block_ind {
        a.block_plain = false;
    }
    a
}

fn select_style(s: &str, key: bool) -> Style {
    let requested = if s.contains('\n') {
        Style::Literal
    } else if !resolves_to_non_string(s) {
        Style::Plain
    } else {
        Style::Double
    };
    let a = analyze(s);
    let mut style = requested;
    if style == Style::Plain && (!a.block_plain || a.multiline || (s.is_empty() && key)) {
        style = Style::Single;
    }
    if style == Style::Single && !a.single {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block || key) {
        style = Style::Double;
    }
    style
}

/// The longest line go-yaml aims for before folding at a space.
const BEST_WIDTH: usize = 80;

struct Emitter {
    out: String,
    seq: SeqIndent,
}

impl Emitter {
    fn column(&self) -> usize {
        match self.out.rfind('\n') {
            Some(i) => self.out[i + 1..].chars().count(),
            None => self.out.chars().count(),
        }
    }

    fn newline_indent(&mut self, indent: usize) {
        self.out.push('\n');
        for _ in 0..indent {
            self.out.push(' ');
        }
    }

    fn scalar(&mut self, node: &Node, indent: usize, key: bool) {
        match node {
            Node::Null => self.out.push_str("null"),
            Node::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Node::Int(i) => self.out.push_str(&i.to_string()),
            Node::Float(f) => self.out.push_str(&float_text(*f)),
            Node::Str(s) => self.string(s, indent, key),
            Node::List(_) => self.out.push_str("[]"),
            Node::Map(_) => self.out.push_str("{}"),
        }
    }

    /// `indent` is the indentation of continuation lines and block content.
    fn string(&mut self, s: &str, indent: usize, key: bool) {
        match select_style(s, key) {
            Style::Plain => self.folded(s, indent, !key, None),
            Style::Single => {
                self.out.push('\'');
                self.folded(s, indent, !key, Some('\''));
                self.out.push('\'');
            }
            Style::Double => self.double(s, indent, !key),
            Style::Literal => self.literal(s, indent),
        }
    }

    /// Plain or single-quoted text, folded at single spaces past the best width.
    fn folded(&mut self, s: &str, indent: usize, allow_breaks: bool, quote: Option<char>) {
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                let edge = quote.is_some() && (i == 0 || i == chars.len() - 1);
                if allow_breaks && !spaces && self.column() > BEST_WIDTH && !next_space && !edge {
                    self.newline_indent(indent);
                } else {
                    self.out.push(' ');
                }
                spaces = true;
            } else {
                if quote == Some('\'') && c == '\'' {
                    self.out.push('\'');
                }
                self.out.push(c);
                spaces = false;
            }
        }
    }

    fn double(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        self.out.push('"');
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            let escape = match c {
                '\0' => Some("\\0".to_string()),
                '\u{7}' => Some("\\a".into()),
                '\u{8}' => Some("\\b".into()),
                '\t' => Some("\\t".into()),
                '\n' => Some("\\n".into()),
                '\u{b}' => Some("\\v".into()),
                '\u{c}' => Some("\\f".into()),
                '\r' => Some("\\r".into()),
                '\u{1b}' => Some("\\e".into()),
                '"' => Some("\\\"".into()),
                '\\' => Some("\\\\".into()),
                '\u{85}' => Some("\\N".into()),
                '\u{a0}' => Some("\\_".into()),
                '\u{2028}' => Some("\\L".into()),
                '\u{2029}' => Some("\\P".into()),
                c if !is_printable(c) || c == '\u{feff}' => {
                    let n = c as u32;
                    Some(if n <= 0xff {
                        format!("\\x{n:02X}")
                    } else if n <= 0xffff {
                        format!("\\u{n:04X}")
                    } else {
                        format!("\\U{n:08X}")
                    })
                }
                _ => None,
            };
            if let Some(e) = escape {
                self.out.push_str(&e);
                spaces = false;
                continue;
            }
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column() > BEST_WIDTH
                    && i != 0
                    && i != chars.len() - 1
                {
                    self.newline_indent(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.out.push('\\');
                    }
                } else {
                    self.out.push(' ');
                }
                spaces = true;
            } else {
                self.out.push(c);
                spaces = false;
            }
        }
        self.out.push('"');
    }

    fn literal(&mut self, s: &str, indent: usize) {
        self.out.push('|');
        if s.starts_with(' ') || s.starts_with('\n') {
            self.out.push('2');
        }
        let trailing = s.len() - s.trim_end_matches('\n').len();
        if trailing == 0 {
            self.out.push('-');
        } else if trailing >= 2 || s == "\n" {
            self.out.push('+');
        }
        self.out.push('\n');
        let mut at_line_start = true;
        for c in s.chars() {
            if c == '\n' {
                self.out.push('\n');
                at_line_start = true;
            } else {
                if at_line_start {
                    for _ in 0..indent {
                        self.out.push(' ');
                    }
                    at_line_start = false;
                }
                self.out.push(c);
            }
        }
        if !s.ends_with('\n') {
            // The caller ends the line.
        } else {
            // The block already ended with its line break; drop it so the caller's newline
            // is the one that ends the line.
            self.out.pop();
        }
    }

    fn map(&mut self, entries: &[(String, Node)], indent: usize) {
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                for _ in 0..indent {
                    self.out.push(' ');
                }
            }
            self.string(k, indent + 2, true);
            self.out.push(':');
            match v {
                Node::Map(m) if !m.is_empty() => {
                    self.newline_indent(indent + 2);
                    self.map(m, indent + 2);
                }
                Node::List(l) if !l.is_empty() => {
                    let seq_indent = match self.seq {
                        SeqIndent::AtKey => indent,
                        SeqIndent::Indented => indent + 2,
                    };
                    self.newline_indent(seq_indent);
                    self.list(l, seq_indent);
                }
                scalar => {
                    self.out.push(' ');
                    self.scalar(scalar, indent + 2, false);
                    self.out.push('\n');
                }
            }
        }
    }

    /// Writes a sequence whose first `- ` starts at the current position (already indented).
    fn list(&mut self, items: &[Node], indent: usize) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                for _ in 0..indent {
                    self.out.push(' ');
                }
            }
            self.out.push_str("- ");
            match item {
                Node::Map(m) if !m.is_empty() => self.map(m, indent + 2),
                Node::List(l) if !l.is_empty() => self.list(l, indent + 2),
                scalar => {
                    self.scalar(scalar, indent + 2, false);
                    self.out.push('\n');
                }
            }
        }
    }
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        ".nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "+.inf" } else { "-.inf" }.into()
    } else {
        fleet_gotemplate::fmt::format_float_g(f, 21)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_gotemplate::Numbers;
    use serde_json::json;

    fn y(v: serde_json::Value) -> String {
        to_yaml(&GoValue::from_json(&v, Numbers::Float64))
    }

    #[test]
    fn maps_lists_and_quoting() {
        let value = json!({"b": [1, {"x": "yes", "z": ""}], "a": {"s": "plain", "m": "l1\nl2\n"}});
        assert_eq!(
            y(value),
            "a:\n  m: |\n    l1\n    l2\n  s: plain\nb:\n- 1\n- x: \"yes\"\n  z: \"\"\n"
        );
    }

    #[test]
    fn strings_quote_as_go_yaml_v2() {
        assert_eq!(y(json!({"k": "1.10"})), "k: \"1.10\"\n");
        assert_eq!(y(json!({"k": "0x1F"})), "k: \"0x1F\"\n");
        assert_eq!(y(json!({"k": "2001-12-14"})), "k: \"2001-12-14\"\n");
        assert_eq!(y(json!({"k": "1:20"})), "k: \"1:20\"\n");
        assert_eq!(y(json!({"k": "*x"})), "k: '*x'\n");
        assert_eq!(y(json!({"k": " x"})), "k: ' x'\n");
        assert_eq!(y(json!({"k": "a: b"})), "k: 'a: b'\n");
        assert_eq!(y(json!({"k": "it's"})), "k: it's\n");
        assert_eq!(y(json!({"k": "{\"a\":1}"})), "k: '{\"a\":1}'\n");
        assert_eq!(y(json!({"k": "a\tb"})), "k: \"a\\tb\"\n");
        assert_eq!(y(json!({"k": "x\ny"})), "k: |-\n  x\n  y\n");
        assert_eq!(y(json!({"k": "x \ny"})), "k: \"x \\ny\"\n");
        assert_eq!(y(json!({"k": " x\ny\n"})), "k: |2\n   x\n  y\n");
        assert_eq!(
            y(json!({"k": 1000000.0, "f": 1.5, "n": null})),
            "f: 1.5\nk: 1000000\n\"n\": null\n"
        );
        assert_eq!(y(json!({"k": []})), "k: []\n");
        assert_eq!(y(json!("x")), "x\n");
        assert_eq!(y(json!([[1, 2], {"a": 1}])), "- - 1\n  - 2\n- a: 1\n");
    }

    #[test]
    fn keys_in_natural_order() {
        assert_eq!(
            y(json!({"10": 1, "9": 1, "_x": 1, "Ab": 1})),
            "_x: 1\n\"9\": 1\n\"10\": 1\nAb: 1\n"
        );
        assert_eq!(natural_cmp("a2", "a10"), Ordering::Less);
    }

    #[test]
    fn long_plain_text_folds_at_80_columns() {
        let words = vec!["word"; 30].join(" ");
        let out = y(json!({ "k": words }));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines[0].len() > 80 && lines[0].len() < 90, "{out}");
        assert!(lines[1].starts_with("  word"), "{out}");
    }
}
