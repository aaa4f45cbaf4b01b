//! Flux post-build variable substitution (`${var}` in rendered objects).
//!
//! This is the syntax and behaviour of Flux's `postBuild.substitute` (the `fluxcd/pkg/envsubst`
//! fork of drone/envsubst), re-implemented:
//!
//! * only the braced form expands: `${var}`; a bare `$var` stays as written;
//! * `$$` is an escape: `$${var}` gives the literal text `${var}`;
//! * operators: `${#v}` length, `${v^}` `${v^^}` `${v,}` `${v,,}` case, `${v:n}` `${v:n:len}`
//!   substring, `${v#p}` `${v##p}` `${v%p}` `${v%%p}` glob trims, `${v/p/r}` `${v//p/r}`
//!   `${v/#p/r}` `${v/%p/r}` replace, and the default forms `${v=d}` `${v:=d}` `${v:-d}`
//!   `${v:?d}` `${v:+d}`, which all use `d` when the value is empty (Flux's quirk: no bash
//!   distinction between unset and empty). Defaults may nest `${...}`;
//! * strict mode: a variable that is not set, referenced bare or through an operator that reads
//!   its value, is an error (`variable not set (strict mode)`); the default forms never fail;
//! * per object: [`substitute_object`] renders the object as YAML text, substitutes, and parses
//!   the text back, so substituted scalars are re-typed (`replicas: ${N}` becomes a number).
//!   Objects labelled or annotated `kustomize.toolkit.fluxcd.io/substitute: disabled` are left
//!   alone.
//!
//! Parse errors carry the same texts as Flux's (`bad substitution`, `missing closing brace`,
//! `unable to parse variable name`, ...).
//!
//! ```
//! use std::collections::BTreeMap;
//! let vars = BTreeMap::from([("app".to_string(), "web".to_string())]);
//! assert_eq!(fleet_envsubst::expand("name: ${app^^}-$${app}", &vars, true).unwrap(),
//!     "name: WEB-${app}");
//! assert!(fleet_envsubst::expand("${missing}", &vars, true).is_err());
//! ```

use std::collections::BTreeMap;

use serde_json::Value;

/// The label or annotation that turns substitution off for one object.
pub const DISABLE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";
/// The value of [`DISABLE_KEY`] that turns substitution off.
pub const DISABLE_VALUE: &str = "disabled";

/// A substitution error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text after `${` is not a valid expression.
    #[error("bad substitution")]
    BadSubstitution,
    /// A `${name` without its closing `}`.
    #[error("missing closing brace")]
    MissingClosingBrace,
    /// `${` not followed by a variable name.
    #[error("unable to parse variable name")]
    ParseVariableName,
    /// An operator argument that could not be read.
    #[error("unable to parse substitution within function")]
    ParseFuncSubstitution,
    /// A default operator that could not be read.
    #[error("unable to parse default function")]
    ParseDefaultFunction,
    /// Strict mode: a variable that is not set.
    #[error("variable not set (strict mode): {0:?}")]
    VariableNotSet(String),
    /// A variable name that Flux would reject.
    #[error("invalid variable name {0:?}: must match ^[_[:alpha:]][_[:alpha:][:digit:]]*$")]
    InvalidVariableName(String),
    /// Substitution failed in one object.
    #[error("{object}: {source}")]
    Object {
        /// `kind/namespace/name` of the object.
        object: String,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },
    /// The object could not be written as YAML, or the substituted text is not valid YAML.
    #[error("{object}: {message}")]
    Yaml {
        /// `kind/namespace/name` of the object.
        object: String,
        /// What the YAML reader or writer said.
        message: String,
    },
}

/// A parsed substitution template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Literal text.
    Text(String),
    /// `${param<name>args...}`; `name` is the operator (`""` for a bare `${param}`).
    Func {
        /// The variable name.
        param: String,
        /// The operator, e.g. `:=`, `##`, `//`, or `""`.
        name: String,
        /// The operator's arguments, each itself a template.
        args: Vec<Node>,
    },
    /// A sequence of nodes (Flux's parser nests it to the right: `[a, [b, c]]`; the flat
    /// form is the same template).
    List(Vec<Node>),
    /// Nothing (the empty template).
    Empty,
}

// Scanner modes.
const SCAN_IDENT: u8 = 1;
const SCAN_LBRACK: u8 = 2;
const SCAN_RBRACK: u8 = 4;
const SCAN_ESCAPE: u8 = 8;
// Escape character sets.
const ESC_DOLLAR: u8 = 1;
const ESC_BACKSLASH: u8 = 2;
const ESC_ALL: u8 = ESC_DOLLAR | ESC_BACKSLASH;

/// The character that stands for the end of input (as in the Go scanner, a NUL ends it too).
const EOF: char = '\0';

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Illegal,
    Eof,
    Ident,
    Lbrack,
    Rbrack,
}

type Accept = fn(char, usize) -> bool;

struct Scanner {
    buf: Vec<char>,
    pos: usize,
    start: usize,
    mode: u8,
    escape: u8,
    accept: Accept,
}

impl Scanner {
    fn new(text: &str) -> Self {
        Scanner {
            buf: text.chars().collect(),
            pos: 0,
            start: 0,
            mode: 0,
            escape: 0,
            accept: |_, _| true,
        }
    }

    fn read(&mut self) -> char {
        match self.buf.get(self.pos) {
            Some(&c) => {
                self.pos += 1;
                c
            }
            None => {
                // Past the end: a later `unread` must not move back.
                self.pos = self.buf.len() + 1;
                EOF
            }
        }
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    fn peek(&mut self) -> char {
        let at = self.pos;
        let c = self.read();
        self.pos = at;
        c
    }

    /// Drops the character just read from the buffer; the one after it becomes part of the
    /// current token unconditionally.
    fn skip(&mut self) {
        if self.pos >= 1 && self.pos - 1 < self.buf.len() {
            self.buf.remove(self.pos - 1);
        }
    }

    fn text(&self) -> String {
        let end = self.pos.min(self.buf.len());
        let start = self.start.min(end);
        self.buf[start..end].iter().collect()
    }

    fn scan(&mut self) -> Token {
        self.start = self.pos;
        let c = self.read();
        if c == EOF {
            return Token::Eof;
        }
        if self.scan_lbrack(c) {
            return Token::Lbrack;
        }
        if self.mode & SCAN_RBRACK != 0 && c == '}' {
            return Token::Rbrack;
        }
        if self.scan_ident(c) {
            return Token::Ident;
        }
        Token::Illegal
    }

    fn scan_lbrack(&mut self, c: char) -> bool {
        if self.mode & SCAN_LBRACK == 0 || c != '$' {
            return false;
        }
        if self.read() == '{' {
            return true;
        }
        self.unread();
        false
    }

    fn escaped(&mut self, c: char) -> bool {
        if self.mode & SCAN_ESCAPE == 0 {
            return false;
        }
        if c == '$' && self.escape & ESC_DOLLAR != 0 && self.peek() == '$' {
            return true;
        }
        c == '\\' && self.escape & ESC_BACKSLASH != 0 && matches!(self.peek(), '/' | '\\')
    }

    fn scan_ident(&mut self, c: char) -> bool {
        if self.mode & SCAN_IDENT == 0 {
            return false;
        }
        if self.escaped(c) {
            self.skip();
        } else if !(self.accept)(c, self.pos - self.start) {
            return false;
        }
        loop {
            let c = self.read();
            if c == EOF {
                self.unread();
                break;
            }
            if self.scan_lbrack(c) {
                self.unread();
                self.unread();
                break;
            }
            if self.escaped(c) {
                self.skip();
                continue;
            }
            if !(self.accept)(c, self.pos - self.start) {
                self.unread();
                break;
            }
        }
        true
    }
}

fn accept_ident(c: char, _: usize) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Deepest nesting of `${...}` inside operator arguments that is accepted.
pub const MAX_NESTING: usize = 64;

struct Parser {
    s: Scanner,
    depth: usize,
}

impl Parser {
    /// The top level: text and `${...}` items until the end, as a flat sequence.
    fn any(&mut self) -> Result<Node, Error> {
        let mut nodes = Vec::new();
        loop {
            self.s.accept = |_, _| true;
            self.s.mode = SCAN_IDENT | SCAN_LBRACK | SCAN_ESCAPE;
            self.s.escape = ESC_DOLLAR;
            match self.s.scan() {
                Token::Ident => nodes.push(Node::Text(self.s.text())),
                Token::Eof => break,
                Token::Lbrack => nodes.push(self.func()?),
                _ => return Err(Error::BadSubstitution),
            }
        }
        Ok(match nodes.len() {
            0 => Node::Empty,
            1 => nodes.pop().unwrap_or(Node::Empty),
            _ => Node::List(nodes),
        })
    }

    fn func(&mut self) -> Result<Node, Error> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(Error::BadSubstitution);
        }
        let node = self.func_inner();
        self.depth -= 1;
        node
    }

    fn func_inner(&mut self) -> Result<Node, Error> {
        self.s.escape = ESC_ALL;
        if self.s.peek() == '#' {
            return self.len_func();
        }
        self.s.accept = accept_ident;
        self.s.mode = SCAN_IDENT;
        let param = match self.s.scan() {
            Token::Ident => self.s.text(),
            _ => return Err(Error::ParseVariableName),
        };
        match self.s.peek() {
            ':' => return self.default_or_substr(param),
            '=' => return self.default_func(param),
            ',' | '^' => return self.casing_func(param),
            '/' => return self.replace_func(param),
            '#' => return self.remove_func(param, |c, i| c == '#' && i < 3),
            '%' => return self.remove_func(param, |c, i| c == '%' && i < 3),
            _ => {}
        }
        self.s.accept = accept_ident;
        self.s.mode = SCAN_RBRACK;
        match self.s.scan() {
            Token::Rbrack => Ok(Node::Func {
                param,
                name: String::new(),
                args: Vec::new(),
            }),
            _ => Err(Error::MissingClosingBrace),
        }
    }

    fn param(&mut self, accept: Accept, mode: u8) -> Result<Node, Error> {
        self.s.accept = accept;
        self.s.mode = mode | SCAN_LBRACK;
        match self.s.scan() {
            Token::Lbrack => self.func(),
            Token::Ident | Token::Rbrack => Ok(Node::Text(self.s.text())),
            _ => Err(Error::ParseFuncSubstitution),
        }
    }

    fn operator(&mut self, accept: Accept, err: Error) -> Result<String, Error> {
        self.s.accept = accept;
        self.s.mode = SCAN_IDENT;
        match self.s.scan() {
            Token::Ident => Ok(self.s.text()),
            _ => Err(err),
        }
    }

    fn default_or_substr(&mut self, param: String) -> Result<Node, Error> {
        self.s.read();
        let next = self.s.peek();
        self.s.unread();
        match next {
            '=' | '-' | '?' | '+' => self.default_func(param),
            _ => self.substr_func(param),
        }
    }

    fn substr_func(&mut self, param: String) -> Result<Node, Error> {
        let name = self.operator(|c, i| i == 1 && c == ':', Error::BadSubstitution)?;
        let mut args = vec![self.param(|c, _| c != ':' && c != '}', SCAN_IDENT)?];
        self.s.accept = |c, _| c == ':';
        self.s.mode = SCAN_IDENT | SCAN_RBRACK;
        match self.s.scan() {
            Token::Rbrack => return Ok(Node::Func { param, name, args }),
            Token::Ident => {}
            _ => return Err(Error::BadSubstitution),
        }
        args.push(self.param(|c, _| c != '}', SCAN_IDENT)?);
        self.rbrack()?;
        Ok(Node::Func { param, name, args })
    }

    fn remove_func(&mut self, param: String, accept: Accept) -> Result<Node, Error> {
        let name = self.operator(accept, Error::BadSubstitution)?;
        let args = vec![self.param(|c, _| c != '}', SCAN_IDENT)?];
        self.rbrack()?;
        Ok(Node::Func { param, name, args })
    }

    fn replace_func(&mut self, param: String) -> Result<Node, Error> {
        let name = self.operator(
            |c, i| (i == 1 && c == '/') || (i == 2 && matches!(c, '/' | '#' | '%')),
            Error::BadSubstitution,
        )?;
        let mut args = Vec::new();
        if self.s.peek() == '/' {
            args.push(Node::Text(String::new()));
        } else {
            args.push(self.param(|c, _| c != '/', SCAN_IDENT | SCAN_ESCAPE)?);
        }
        self.operator(|c, _| c == '/', Error::BadSubstitution)?;
        if self.s.peek() == '}' {
            self.rbrack()?;
            return Ok(Node::Func { param, name, args });
        }
        args.push(self.param(|c, _| c != '}', SCAN_IDENT | SCAN_ESCAPE)?);
        self.rbrack()?;
        Ok(Node::Func { param, name, args })
    }

    fn default_func(&mut self, param: String) -> Result<Node, Error> {
        let accept: Accept = if self.s.peek() == '=' {
            |c, i| i == 1 && c == '='
        } else {
            |c, i| (i == 1 && c == ':') || (i == 2 && matches!(c, '=' | '-' | '?' | '+'))
        };
        let name = self.operator(accept, Error::ParseDefaultFunction)?;
        let mut args = Vec::new();
        loop {
            if self.s.peek() == '}' {
                self.rbrack()?;
                return Ok(Node::Func { param, name, args });
            }
            args.push(self.param(|c, _| c != '}', SCAN_IDENT)?);
        }
    }

    fn casing_func(&mut self, param: String) -> Result<Node, Error> {
        let name = self.operator(
            |c, i| (c == ',' || c == '^') && i < 3,
            Error::BadSubstitution,
        )?;
        self.rbrack()?;
        Ok(Node::Func {
            param,
            name,
            args: Vec::new(),
        })
    }

    fn len_func(&mut self) -> Result<Node, Error> {
        let name = self.operator(|c, i| c == '#' && i == 1, Error::BadSubstitution)?;
        let param = self.operator(accept_ident, Error::BadSubstitution)?;
        self.rbrack()?;
        Ok(Node::Func {
            param,
            name,
            args: Vec::new(),
        })
    }

    fn rbrack(&mut self) -> Result<(), Error> {
        self.s.mode = SCAN_RBRACK;
        if self.s.scan() == Token::Rbrack {
            Ok(())
        } else {
            Err(Error::BadSubstitution)
        }
    }
}

/// Parses a template. Operator arguments may nest `${...}` up to [`MAX_NESTING`] deep
/// (deeper is a `bad substitution`).
pub fn parse(text: &str) -> Result<Node, Error> {
    let mut parser = Parser {
        s: Scanner::new(text),
        depth: 0,
    };
    parser.any()
}

/// Expands `text` with `lookup`: `Some(value)` for a set variable, `None` for an unset one.
/// An unset variable is an error where strict mode makes it one (bare or value-reading
/// operators); to get Flux's non-strict behaviour, return `Some("")` for unknown names.
pub fn eval(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, Error> {
    let tree = parse(text)?;
    let mut out = String::with_capacity(text.len());
    eval_node(&tree, lookup, &mut out)?;
    Ok(out)
}

/// Expands `text` with a variable map; `strict` makes references to missing variables errors.
pub fn expand(text: &str, vars: &BTreeMap<String, String>, strict: bool) -> Result<String, Error> {
    eval(text, &|name: &str| match vars.get(name) {
        Some(v) => Some(v.clone()),
        None if strict => None,
        None => Some(String::new()),
    })
}

fn eval_node(
    node: &Node,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut String,
) -> Result<(), Error> {
    match node {
        Node::Empty => {}
        Node::Text(text) => out.push_str(text),
        Node::List(nodes) => {
            for node in nodes {
                eval_node(node, lookup, out)?;
            }
        }
        Node::Func { param, name, args } => {
            let mut values = Vec::with_capacity(args.len());
            for arg in args {
                let mut buf = String::new();
                eval_node(arg, lookup, &mut buf)?;
                values.push(buf);
            }
            let value = match lookup(param) {
                Some(value) => value,
                None if is_default_op(name) => String::new(),
                None => return Err(Error::VariableNotSet(param.clone())),
            };
            out.push_str(&apply(name, &value, &values));
        }
    }
    Ok(())
}

fn is_default_op(name: &str) -> bool {
    matches!(name, "-" | "+" | "=" | "?" | ":-" | ":+" | ":=" | ":?")
}

/// Applies the operator `name` to `value` with evaluated arguments `args`.
pub fn apply(name: &str, value: &str, args: &[String]) -> String {
    match name {
        "," => to_lower_first(value),
        ",," => value.to_lowercase(),
        "^" => to_upper_first(value),
        "^^" => value.to_uppercase(),
        "#" if args.is_empty() => value.len().to_string(),
        "#" => trim_prefix(value, &args[0], false),
        "##" => args
            .first()
            .map_or_else(|| value.to_string(), |a| trim_prefix(value, a, true)),
        "%" => args
            .first()
            .map_or_else(|| value.to_string(), |a| trim_suffix(value, a, false)),
        "%%" => args
            .first()
            .map_or_else(|| value.to_string(), |a| trim_suffix(value, a, true)),
        ":" => substr(value, args),
        "/#" => match args {
            [pattern, replacement] if value.starts_with(pattern.as_str()) => {
                value.replacen(pattern.as_str(), replacement, 1)
            }
            _ => value.to_string(),
        },
        "/%" => match args {
            [pattern, replacement] => match value.strip_suffix(pattern.as_str()) {
                Some(rest) => format!("{rest}{replacement}"),
                None => value.to_string(),
            },
            _ => value.to_string(),
        },
        "/" => match args {
            [] => value.to_string(),
            [pattern] => go_replace(value, pattern, "", Some(1)),
            [pattern, replacement, ..] => go_replace(value, pattern, replacement, Some(1)),
        },
        "//" => match args {
            [] => value.to_string(),
            [pattern] => go_replace(value, pattern, "", None),
            [pattern, replacement, ..] => go_replace(value, pattern, replacement, None),
        },
        _ => {
            if value.is_empty() && !args.is_empty() {
                args.concat()
            } else {
                value.to_string()
            }
        }
    }
}

/// `strings.Replace` as Go does it: an empty pattern inserts the replacement before every
/// character (and at the end), up to `n` times.
fn go_replace(value: &str, pattern: &str, replacement: &str, n: Option<usize>) -> String {
    if pattern.is_empty() {
        let limit = n.unwrap_or(usize::MAX);
        let mut out = String::new();
        let mut count = 0;
        for c in value.chars() {
            if count < limit {
                out.push_str(replacement);
                count += 1;
            }
            out.push(c);
        }
        if count < limit {
            out.push_str(replacement);
        }
        return out;
    }
    match n {
        Some(n) => value.replacen(pattern, replacement, n),
        None => value.replace(pattern, replacement),
    }
}

fn to_lower_first(value: &str) -> String {
    let mut chars = value.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn to_upper_first(value: &str) -> String {
    let mut chars = value.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `${v:offset[:length]}`, on bytes as Flux does; a cut inside a UTF-8 sequence is moved to
/// the next character boundary.
fn substr(value: &str, args: &[String]) -> String {
    let Some(first) = args.first() else {
        return value.to_string();
    };
    let Ok(pos) = first.trim().parse::<i64>() else {
        return value.to_string();
    };
    let len = value.len() as i64;
    let pos = if pos < 0 { (len + pos).max(0) } else { pos };
    let slice = |from: i64, to: i64| -> String {
        let mut from = from.clamp(0, len) as usize;
        let mut to = to.clamp(0, len) as usize;
        while from < value.len() && !value.is_char_boundary(from) {
            from += 1;
        }
        while to < value.len() && !value.is_char_boundary(to) {
            to += 1;
        }
        value
            .get(from..to.max(from))
            .unwrap_or_default()
            .to_string()
    };
    let Some(second) = args.get(1) else {
        return if pos < len {
            slice(pos, len)
        } else {
            String::new()
        };
    };
    let Ok(length) = second.trim().parse::<i64>() else {
        return value.to_string();
    };
    if length < 0 {
        let end = len + length;
        if end < pos {
            return String::new();
        }
        return slice(pos, end);
    }
    if pos.saturating_add(length) >= len {
        return if pos < len {
            slice(pos, len)
        } else {
            String::new()
        };
    }
    slice(pos, pos + length)
}

fn trim_prefix(value: &str, pattern: &str, longest: bool) -> String {
    let pattern: Vec<char> = pattern.chars().collect();
    let chars: Vec<char> = value.chars().collect();
    let mut found: Option<usize> = None;
    // Prefixes from the longest down to one character, as Flux tries them.
    for end in (1..=chars.len()).rev() {
        match glob_match(&pattern, &chars[..end]) {
            Err(()) => return value.to_string(),
            Ok(true) => {
                found = Some(end);
                if longest {
                    break;
                }
            }
            Ok(false) => {}
        }
    }
    match found {
        Some(end) => chars[end..].iter().collect(),
        None => value.to_string(),
    }
}

fn trim_suffix(value: &str, pattern: &str, longest: bool) -> String {
    let reversed: String = value.chars().rev().collect();
    let pattern: String = pattern.chars().rev().collect();
    trim_prefix(&reversed, &pattern, longest)
        .chars()
        .rev()
        .collect()
}

/// Shell-style glob: `*` any run (including `/`), `?` one character, `[...]` a class (`^`
/// negates, `a-z` ranges), `\` escapes. `Err` for a malformed pattern. Linear backtracking
/// over the last `*`, so no pattern takes exponential time.
fn glob_match(pattern: &[char], text: &[char]) -> Result<bool, ()> {
    // Validate the whole pattern first, as Go's path.Match reports a bad pattern.
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            '\\' => {
                if i + 1 >= pattern.len() {
                    return Err(());
                }
                i += 2;
            }
            '[' => {
                let (_, rest) = class_match(&pattern[i + 1..], None)?;
                i = pattern.len() - rest.len();
            }
            _ => i += 1,
        }
    }
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < text.len() {
        if let Some(&p) = pattern.get(pi) {
            match p {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    let (matched, rest) = class_match(&pattern[pi + 1..], Some(text[ti]))?;
                    if matched {
                        pi = pattern.len() - rest.len();
                        ti += 1;
                        continue;
                    }
                }
                '\\' => {
                    if pattern.get(pi + 1) == Some(&text[ti]) {
                        pi += 2;
                        ti += 1;
                        continue;
                    }
                }
                c => {
                    if c == text[ti] {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return Ok(false),
        }
    }
    while pattern.get(pi) == Some(&'*') {
        pi += 1;
    }
    Ok(pi == pattern.len())
}

/// Reads a character class after `[`; returns whether `c` is in it and the rest of the pattern.
fn class_match(pattern: &[char], c: Option<char>) -> Result<(bool, &[char]), ()> {
    let mut i = 0;
    let negate = pattern.first() == Some(&'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let Some(&p) = pattern.get(i) else {
            return Err(());
        };
        if p == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let mut lo = p;
        i += 1;
        if lo == '\\' {
            lo = *pattern.get(i).ok_or(())?;
            i += 1;
        }
        let mut hi = lo;
        if pattern.get(i) == Some(&'-') && pattern.get(i + 1).is_some_and(|&n| n != ']') {
            hi = pattern[i + 1];
            i += 2;
            if hi == '\\' {
                hi = *pattern.get(i).ok_or(())?;
                i += 1;
            }
        }
        if let Some(c) = c
            && lo <= c
            && c <= hi
        {
            matched = true;
        }
    }
    Ok((matched != negate, &pattern[i..]))
}

/// Whether `name` is a valid Flux variable name (`^[_[:alpha:]][_[:alpha:][:digit:]]*$`).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_ascii_alphabetic() => {
            chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        }
        _ => false,
    }
}

/// How to substitute variables into rendered objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Substitution {
    /// The variables; values have every `\n` stripped, as Flux does.
    pub variables: BTreeMap<String, String>,
    /// Strict mode: referencing a variable that is not set is an error.
    pub strict: bool,
    /// Substitute even when no variable is defined (Flux's `substituteStrategy: Always`), so
    /// that `${x:=default}` still expands.
    pub always: bool,
}

impl Substitution {
    /// Builds a substitution, checking the names and stripping `\n` from the values.
    pub fn new(
        variables: impl IntoIterator<Item = (String, String)>,
        strict: bool,
        always: bool,
    ) -> Result<Self, Error> {
        let mut map = BTreeMap::new();
        for (name, value) in variables {
            if !valid_name(&name) {
                return Err(Error::InvalidVariableName(name));
            }
            map.insert(name, value.replace('\n', ""));
        }
        Ok(Substitution {
            variables: map,
            strict,
            always,
        })
    }

    /// Whether substitution runs at all (some variable defined, or `always`).
    pub fn active(&self) -> bool {
        self.always || !self.variables.is_empty()
    }
}

/// `kind/namespace/name` of an object, for messages.
pub fn object_ref(obj: &Value) -> String {
    let field = |path: &[&str]| {
        let mut v = obj;
        for key in path {
            v = match v.get(key) {
                Some(v) => v,
                None => return "",
            };
        }
        v.as_str().unwrap_or("")
    };
    let kind = field(&["kind"]);
    let name = field(&["metadata", "name"]);
    match field(&["metadata", "namespace"]) {
        "" => format!("{kind}/{name}"),
        ns => format!("{kind}/{ns}/{name}"),
    }
}

fn disabled(obj: &Value) -> bool {
    ["labels", "annotations"].iter().any(|key| {
        obj.get("metadata")
            .and_then(|m| m.get(key))
            .and_then(|m| m.get(DISABLE_KEY))
            .and_then(Value::as_str)
            == Some(DISABLE_VALUE)
    })
}

/// Substitutes variables in one object: the object is written as YAML, substituted as text,
/// and parsed back (scalars are re-typed). Objects carrying the opt-out label or annotation,
/// and every object when [`Substitution::active`] is false, come back unchanged.
pub fn substitute_object(obj: &Value, subst: &Substitution) -> Result<Value, Error> {
    if !subst.active() || disabled(obj) {
        return Ok(obj.clone());
    }
    let object = || object_ref(obj);
    let text = fleet_core::yaml::to_string(obj).map_err(|e| Error::Yaml {
        object: object(),
        message: e.to_string(),
    })?;
    let out = expand(&text, &subst.variables, subst.strict).map_err(|e| Error::Object {
        object: object(),
        source: Box::new(e),
    })?;
    if out == text {
        return Ok(obj.clone());
    }
    fleet_core::yaml::from_str_value(&out).map_err(|e| Error::Yaml {
        object: object(),
        message: format!("substituted text is not valid YAML: {e}"),
    })
}

/// Substitutes variables in every object (see [`substitute_object`]).
pub fn substitute_objects(objs: &[Value], subst: &Substitution) -> Result<Vec<Value>, Error> {
    objs.iter().map(|o| substitute_object(o, subst)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_classes() {
        let m = |p: &str, t: &str| {
            glob_match(
                &p.chars().collect::<Vec<_>>(),
                &t.chars().collect::<Vec<_>>(),
            )
        };
        assert_eq!(m("[a-c]x", "bx"), Ok(true));
        assert_eq!(m("[^a-c]x", "bx"), Ok(false));
        assert_eq!(m("*/", "a/b/"), Ok(true));
        assert_eq!(m("[a", "a"), Err(()));
        assert_eq!(m("\\*", "*"), Ok(true));
        assert_eq!(m("a*b?c", "axxbyc"), Ok(true));
        assert_eq!(m("*a*a*a*a*a*a*b", &"a".repeat(60)), Ok(false));
        assert_eq!(m("x\\", "x"), Err(()));
    }

    #[test]
    fn go_replace_empty_pattern() {
        assert_eq!(go_replace("ab", "", "-", None), "-a-b-");
        assert_eq!(go_replace("ab", "", "-", Some(1)), "-ab");
    }
}
