//! A small interpreter of Go's `text/template` language, with the delimiters Fleet uses for
//! Helm values (`${` and `}`), `missingkey=error`, and the sprig functions such templates use.
//!
//! Supported: text and actions with trim markers (`${-` / `-}`), comments (`${/* */}`),
//! pipelines with `|`, parenthesised pipelines, field chains on maps (`.A.b`, `$x.y`),
//! variables (`$x := ...`, `$x = ...`, `$`), string/raw-string/number/bool/`nil` literals,
//! `if`/`else if`/`else`, `range` (lists, maps in key order, integers; with one or two variables,
//! `else`, `break`, `continue`), `with`/`else with`/`else`. Unsupported: `define`, `template`,
//! `block`, method calls. Values are JSON values; printing follows Go's `fmt` for the shapes
//! JSON can hold (`map[a:1]`, `[1 2]`, `<no value>`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::funcs;

/// A template error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template text does not parse.
    #[error("template: values:{line}: {message}")]
    Parse {
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Execution failed (missing key, bad function call, ...).
    #[error("template: values: executing: {0}")]
    Exec(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(String), // .Name (one segment)
    Dot,           // .
    Var(String),   // $name or $
    Ident(String), // function name or keyword
    Str(String),   // literal string
    Num(Value),    // number literal
    LParen,
    RParen,
    Pipe,
    Declare, // :=
    Assign,  // =
    Comma,
}

/// One argument or command operand.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    /// `.` followed by fields (empty for plain `.`).
    Dot(Vec<String>),
    /// `$name` followed by fields.
    Var(String, Vec<String>),
    /// A literal.
    Lit(Value),
    /// `(pipeline)` followed by fields.
    Sub(Box<Pipeline>, Vec<String>),
    /// A function name (called with no arguments when used as an operand).
    Func(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Command {
    head: Operand,
    args: Vec<Operand>,
}

#[derive(Debug, Clone, PartialEq)]
struct Pipeline {
    decl: Vec<String>,
    assign: bool,
    cmds: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Action(Pipeline),
    If(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    Break,
    Continue,
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

// ---------------------------------------------------------------- lexing of actions

fn lex_action(src: &str, line: usize) -> Result<Vec<Tok>, TemplateError> {
    let err = |m: String| TemplateError::Parse { line, message: m };
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            '|' => {
                out.push(Tok::Pipe);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            ':' if chars.get(i + 1) == Some(&'=') => {
                out.push(Tok::Declare);
                i += 2
            }
            '=' => {
                out.push(Tok::Assign);
                i += 1
            }
            '.' if chars
                .get(i + 1)
                .is_some_and(|&n| ident(n) && !n.is_ascii_digit()) =>
            {
                let start = i + 1;
                i += 1;
                while i < chars.len() && ident(chars[i]) {
                    i += 1;
                }
                out.push(Tok::Field(chars[start..i].iter().collect()));
            }
            '.' if !chars.get(i + 1).is_some_and(|n| n.is_ascii_digit()) => {
                out.push(Tok::Dot);
                i += 1
            }
            '$' => {
                let start = i + 1;
                i += 1;
                while i < chars.len() && ident(chars[i]) {
                    i += 1;
                }
                out.push(Tok::Var(chars[start..i].iter().collect()));
            }
            '"' => {
                i += 1;
                let mut s = String::new();
                loop {
                    let Some(&c) = chars.get(i) else {
                        return Err(err("unterminated quoted string".into()));
                    };
                    i += 1;
                    match c {
                        '"' => break,
                        '\n' => return Err(err("unterminated quoted string".into())),
                        '\\' => {
                            let Some(&e) = chars.get(i) else {
                                return Err(err("unterminated quoted string".into()));
                            };
                            i += 1;
                            match e {
                                'n' => s.push('\n'),
                                't' => s.push('\t'),
                                'r' => s.push('\r'),
                                '\\' => s.push('\\'),
                                '"' => s.push('"'),
                                '\'' => s.push('\''),
                                '0' => s.push('\0'),
                                'x' | 'u' | 'U' => {
                                    let n = match e {
                                        'x' => 2,
                                        'u' => 4,
                                        _ => 8,
                                    };
                                    let hex: String =
                                        chars.get(i..i + n).unwrap_or_default().iter().collect();
                                    i += n;
                                    let ch = u32::from_str_radix(&hex, 16)
                                        .ok()
                                        .and_then(char::from_u32)
                                        .ok_or_else(|| err(format!("invalid escape \\{e}{hex}")))?;
                                    s.push(ch);
                                }
                                other => return Err(err(format!("invalid escape \\{other}"))),
                            }
                        }
                        c => s.push(c),
                    }
                }
                out.push(Tok::Str(s));
            }
            '`' => {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i] != '`' {
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(err("unterminated raw quoted string".into()));
                }
                out.push(Tok::Str(chars[start..i].iter().collect()));
                i += 1;
            }
            '\'' => {
                // A character constant prints as its code point, as in Go.
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '\'')
                    .ok_or_else(|| err("unterminated character constant".into()))?;
                let body: String = chars[i + 1..i + 1 + end].iter().collect();
                let ch = match body.as_str() {
                    "\\n" => '\n',
                    "\\t" => '\t',
                    "\\\\" => '\\',
                    "\\'" => '\'',
                    b if b.chars().count() == 1 => b.chars().next().unwrap_or_default(),
                    _ => return Err(err(format!("invalid character constant '{body}'"))),
                };
                out.push(Tok::Num(Value::from(ch as u32)));
                i += end + 2;
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '+' || c == '.')
                    && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit())) =>
            {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || chars[i] == '.'
                        || chars[i] == '_'
                        || ((chars[i] == '-' || chars[i] == '+')
                            && matches!(chars[i - 1], 'e' | 'E')))
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().filter(|&&c| c != '_').collect();
                out.push(Tok::Num(
                    parse_number(&text)
                        .ok_or_else(|| err(format!("bad number syntax: {text:?}")))?,
                ));
            }
            c if ident(c) => {
                let start = i;
                while i < chars.len() && ident(chars[i]) {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(err(format!("unexpected {other:?} in command"))),
        }
    }
    Ok(out)
}

fn parse_number(text: &str) -> Option<Value> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let radix = |prefix: &str, radix: u32| {
        body.strip_prefix(prefix)
            .or_else(|| body.strip_prefix(&prefix.to_uppercase()))
            .and_then(|digits| i64::from_str_radix(digits, radix).ok())
    };
    let int = radix("0x", 16)
        .or_else(|| radix("0o", 8))
        .or_else(|| radix("0b", 2))
        .or_else(|| {
            if body.len() > 1 && body.starts_with('0') && body.chars().all(|c| c.is_ascii_digit()) {
                i64::from_str_radix(&body[1..], 8).ok()
            } else {
                body.parse::<i64>().ok()
            }
        });
    if let Some(n) = int {
        return Some(Value::from(if neg { -n } else { n }));
    }
    let f: f64 = body.parse().ok()?;
    serde_json::Number::from_f64(if neg { -f } else { f }).map(Value::Number)
}

// ---------------------------------------------------------------- parsing

struct TokStream {
    toks: Vec<Tok>,
    pos: usize,
    line: usize,
}

impl TokStream {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn err(&self, message: impl Into<String>) -> TemplateError {
        TemplateError::Parse {
            line: self.line,
            message: message.into(),
        }
    }

    fn fields(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(Tok::Field(f)) = self.peek() {
            out.push(f.clone());
            self.pos += 1;
        }
        out
    }

    fn operand(&mut self) -> Result<Option<Operand>, TemplateError> {
        let op = match self.peek() {
            Some(Tok::Dot) => {
                self.pos += 1;
                Operand::Dot(Vec::new())
            }
            Some(Tok::Field(_)) => Operand::Dot(self.fields()),
            Some(Tok::Var(v)) => {
                let v = v.clone();
                self.pos += 1;
                Operand::Var(v, self.fields())
            }
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.pos += 1;
                Operand::Lit(Value::String(s))
            }
            Some(Tok::Num(n)) => {
                let n = n.clone();
                self.pos += 1;
                Operand::Lit(n)
            }
            Some(Tok::Ident(id)) => {
                let id = id.clone();
                self.pos += 1;
                match id.as_str() {
                    "true" => Operand::Lit(Value::Bool(true)),
                    "false" => Operand::Lit(Value::Bool(false)),
                    "nil" => Operand::Lit(Value::Null),
                    _ => Operand::Func(id),
                }
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let pipe = self.pipeline(false)?;
                if self.next() != Some(Tok::RParen) {
                    return Err(self.err("unclosed left paren"));
                }
                Operand::Sub(Box::new(pipe), self.fields())
            }
            _ => return Ok(None),
        };
        Ok(Some(op))
    }

    fn command(&mut self) -> Result<Command, TemplateError> {
        let head = self
            .operand()?
            .ok_or_else(|| self.err("missing value for command"))?;
        let mut args = Vec::new();
        while let Some(op) = self.operand()? {
            args.push(op);
        }
        if !args.is_empty() && !matches!(head, Operand::Func(_)) {
            return Err(self.err("can't give argument to non-function"));
        }
        Ok(Command { head, args })
    }

    fn pipeline(&mut self, allow_decl: bool) -> Result<Pipeline, TemplateError> {
        let mut decl = Vec::new();
        let mut assign = false;
        if allow_decl {
            // `$x :=`, `$x =`, `$k, $v :=`
            let save = self.pos;
            let mut names = Vec::new();
            while let Some(Tok::Var(v)) = self.peek() {
                names.push(v.clone());
                self.pos += 1;
                if self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                    continue;
                }
                break;
            }
            match self.peek() {
                Some(Tok::Declare) if !names.is_empty() => {
                    self.pos += 1;
                    decl = names;
                }
                Some(Tok::Assign) if !names.is_empty() => {
                    self.pos += 1;
                    decl = names;
                    assign = true;
                }
                _ => self.pos = save,
            }
        }
        let mut cmds = vec![self.command()?];
        while self.peek() == Some(&Tok::Pipe) {
            self.pos += 1;
            cmds.push(self.command()?);
        }
        Ok(Pipeline { decl, assign, cmds })
    }
}

enum Item {
    Text(String),
    Action { toks: Vec<Tok>, line: usize },
}

/// Splits the source into text and actions, applying trim markers and dropping comments.
fn split(src: &str) -> Result<Vec<Item>, TemplateError> {
    let mut items = Vec::new();
    let mut rest = src;
    let mut line = 1;
    let mut trim_next = false;
    loop {
        let Some(start) = rest.find("${") else {
            let text = if trim_next { rest.trim_start() } else { rest };
            if !text.is_empty() {
                items.push(Item::Text(text.to_string()));
            }
            break;
        };
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[start + 2..];
        let trim_left = after.starts_with("- ")
            || after.starts_with("-\t")
            || after.starts_with("-\n")
            || after.starts_with("-\r");
        if trim_left {
            text = text.trim_end();
        }
        if !text.is_empty() {
            items.push(Item::Text(text.to_string()));
        }
        line += rest[..start].matches('\n').count();
        let body_start = if trim_left { &after[1..] } else { after };
        // Find the closing delimiter outside quotes and comments.
        let (body, close_len, trim_right) =
            find_close(body_start).ok_or_else(|| TemplateError::Parse {
                line,
                message: "unclosed action".to_string(),
            })?;
        let inner = &body_start[..body];
        let trimmed = inner.trim();
        if trimmed.starts_with("/*") {
            if !trimmed.ends_with("*/") {
                return Err(TemplateError::Parse {
                    line,
                    message: "unclosed comment".to_string(),
                });
            }
        } else {
            items.push(Item::Action {
                toks: lex_action(inner, line)?,
                line,
            });
        }
        line += inner.matches('\n').count();
        trim_next = trim_right;
        rest = &body_start[body + close_len..];
    }
    Ok(items)
}

/// Position of the closing `}` of an action (skipping quoted strings and comments), its length
/// with a right trim marker, and whether it trims.
fn find_close(s: &str) -> Option<(usize, usize, bool)> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = s[i + 2..].find("*/")?;
                i += end + 3;
            }
            b'}' => {
                let trim = i >= 2
                    && bytes[i - 1] == b'-'
                    && matches!(bytes[i - 2], b' ' | b'\t' | b'\n' | b'\r');
                return Some(if trim {
                    (i - 2, 3, true)
                } else {
                    (i, 1, false)
                });
            }
            _ => {}
        }
        i += 1;
    }
    None
}

enum Terminator {
    Eof,
    End,
    Else(Option<(String, Pipeline)>),
}

fn parse_list(
    items: &mut std::iter::Peekable<std::vec::IntoIter<Item>>,
    in_range: bool,
) -> Result<(Vec<Node>, Terminator), TemplateError> {
    let mut nodes = Vec::new();
    while let Some(item) = items.next() {
        let (toks, line) = match item {
            Item::Text(t) => {
                nodes.push(Node::Text(t));
                continue;
            }
            Item::Action { toks, line } => (toks, line),
        };
        let mut ts = TokStream { toks, pos: 0, line };
        let keyword = match ts.peek() {
            Some(Tok::Ident(k)) => k.clone(),
            _ => String::new(),
        };
        match keyword.as_str() {
            "end" => return Ok((nodes, Terminator::End)),
            "else" => {
                ts.pos += 1;
                let chained = match ts.peek() {
                    Some(Tok::Ident(k)) if k == "if" || k == "with" => {
                        let k = k.clone();
                        ts.pos += 1;
                        Some((k, ts.pipeline(true)?))
                    }
                    None => None,
                    _ => return Err(ts.err("unexpected token after else")),
                };
                return Ok((nodes, Terminator::Else(chained)));
            }
            "if" | "with" | "range" => {
                ts.pos += 1;
                let pipe = ts.pipeline(true)?;
                if ts.peek().is_some() {
                    return Err(ts.err(format!("unexpected token in {keyword}")));
                }
                nodes.push(parse_control(&keyword, pipe, items, in_range, line)?);
            }
            "break" | "continue" => {
                if !in_range {
                    return Err(ts.err(format!("{{{{{keyword}}}}} outside {{{{range}}}}")));
                }
                nodes.push(if keyword == "break" {
                    Node::Break
                } else {
                    Node::Continue
                });
            }
            "define" | "template" | "block" => {
                return Err(ts.err(format!(
                    "{keyword} is not supported in Fleet value templates"
                )));
            }
            _ => {
                let pipe = ts.pipeline(true)?;
                if ts.peek().is_some() {
                    return Err(ts.err("unexpected token in operand"));
                }
                nodes.push(Node::Action(pipe));
            }
        }
    }
    Ok((nodes, Terminator::Eof))
}

fn parse_control(
    keyword: &str,
    pipe: Pipeline,
    items: &mut std::iter::Peekable<std::vec::IntoIter<Item>>,
    in_range: bool,
    line: usize,
) -> Result<Node, TemplateError> {
    let body_in_range = in_range || keyword == "range";
    let (body, end) = parse_list(items, body_in_range)?;
    let else_nodes = match end {
        Terminator::End => Vec::new(),
        Terminator::Eof => {
            return Err(TemplateError::Parse {
                line,
                message: format!("unexpected EOF: {keyword} without end"),
            });
        }
        Terminator::Else(None) => {
            let (else_body, end) = parse_list(items, in_range)?;
            if !matches!(end, Terminator::End) {
                return Err(TemplateError::Parse {
                    line,
                    message: format!("expected end after else of {keyword}"),
                });
            }
            else_body
        }
        Terminator::Else(Some((k, chained))) => {
            // `else if` / `else with`: a nested control sharing this one's end.
            vec![parse_control(&k, chained, items, in_range, line)?]
        }
    };
    Ok(match keyword {
        "if" => Node::If(pipe, body, else_nodes),
        "with" => Node::With(pipe, body, else_nodes),
        _ => Node::Range(pipe, body, else_nodes),
    })
}

impl Template {
    /// Parses template text with `${ }` delimiters.
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let mut items = split(src)?.into_iter().peekable();
        let (nodes, end) = parse_list(&mut items, false)?;
        match end {
            Terminator::Eof => Ok(Template { nodes }),
            Terminator::End => Err(TemplateError::Parse {
                line: 0,
                message: "unexpected {{end}}".to_string(),
            }),
            Terminator::Else(_) => Err(TemplateError::Parse {
                line: 0,
                message: "unexpected {{else}}".to_string(),
            }),
        }
    }

    /// Executes the template with `data` as `.` and `$`.
    pub fn execute(&self, data: &Value) -> Result<String, TemplateError> {
        let mut state = State {
            vars: vec![("$".to_string(), data.clone())],
            out: String::new(),
            steps: 0,
        };
        state.walk(&self.nodes, data)?;
        Ok(state.out)
    }
}

/// Renders a template text against `data`.
pub fn render(src: &str, data: &Value) -> Result<String, TemplateError> {
    Template::parse(src)?.execute(data)
}

// ---------------------------------------------------------------- execution

enum Flow {
    Normal,
    Break,
    Continue,
}

struct State {
    vars: Vec<(String, Value)>,
    out: String,
    steps: usize,
}

const MAX_STEPS: usize = 1_000_000;
const MAX_OUTPUT: usize = 64 << 20;

/// Go's truth: false, 0, nil, empty string/list/map are false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Prints a value as Go's `fmt.Sprint` would for the same data.
pub fn print(v: &Value) -> String {
    match v {
        Value::Null => "<no value>".to_string(),
        Value::String(s) => s.clone(),
        other => print_nested(other),
    }
}

fn print_nested(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => funcs::format_number(n),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(print_nested).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(o) => {
            let sorted: BTreeMap<&String, &Value> = o.iter().collect();
            format!(
                "map[{}]",
                sorted
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", print_nested(v)))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    }
}

fn field_of(v: &Value, name: &str) -> Result<Value, TemplateError> {
    match v {
        Value::Object(map) => map
            .get(name)
            .cloned()
            .ok_or_else(|| TemplateError::Exec(format!("map has no entry for key {name:?}"))),
        Value::Null => Err(TemplateError::Exec(format!(
            "nil pointer evaluating interface {{}}.{name}"
        ))),
        other => Err(TemplateError::Exec(format!(
            "can't evaluate field {name} in type {}",
            funcs::type_name(other)
        ))),
    }
}

fn fields(mut v: Value, names: &[String]) -> Result<Value, TemplateError> {
    for name in names {
        v = field_of(&v, name)?;
    }
    Ok(v)
}

impl State {
    fn lookup(&self, name: &str) -> Result<Value, TemplateError> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| TemplateError::Exec(format!("undefined variable: ${name}")))
    }

    fn set(&mut self, name: &str, value: Value) -> Result<(), TemplateError> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => Err(TemplateError::Exec(format!("undefined variable: ${name}"))),
        }
    }

    fn tick(&mut self) -> Result<(), TemplateError> {
        self.steps += 1;
        if self.steps > MAX_STEPS || self.out.len() > MAX_OUTPUT {
            return Err(TemplateError::Exec(
                "template too expensive: step or output limit reached".to_string(),
            ));
        }
        Ok(())
    }

    fn walk(&mut self, nodes: &[Node], dot: &Value) -> Result<Flow, TemplateError> {
        for node in nodes {
            self.tick()?;
            match node {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(pipe) => {
                    let v = self.pipeline(pipe, dot)?;
                    if pipe.decl.is_empty() {
                        self.out.push_str(&print(&v));
                    }
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
                Node::If(pipe, body, els) | Node::With(pipe, body, els) => {
                    let mark = self.vars.len();
                    let v = self.pipeline(pipe, dot)?;
                    let flow = if truthy(&v) {
                        let next_dot = if matches!(node, Node::With(..)) {
                            v
                        } else {
                            dot.clone()
                        };
                        self.walk(body, &next_dot)?
                    } else {
                        self.walk(els, dot)?
                    };
                    self.vars.truncate(mark);
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Range(pipe, body, els) => {
                    let mark = self.vars.len();
                    let mut inner = pipe.clone();
                    let decl = std::mem::take(&mut inner.decl);
                    let v = self.pipeline(&inner, dot)?;
                    let items: Vec<(Value, Value)> = match &v {
                        Value::Array(a) => a
                            .iter()
                            .enumerate()
                            .map(|(i, x)| (Value::from(i), x.clone()))
                            .collect(),
                        Value::Object(o) => {
                            let sorted: BTreeMap<&String, &Value> = o.iter().collect();
                            sorted
                                .into_iter()
                                .map(|(k, x)| (Value::from(k.as_str()), x.clone()))
                                .collect()
                        }
                        Value::Number(n) if n.as_i64().is_some() => (0..n.as_i64().unwrap_or(0))
                            .map(|i| (Value::from(i), Value::from(i)))
                            .collect(),
                        Value::Null => Vec::new(),
                        other => {
                            return Err(TemplateError::Exec(format!(
                                "range can't iterate over {}",
                                print(other)
                            )));
                        }
                    };
                    if items.is_empty() {
                        let flow = self.walk(els, dot)?;
                        self.vars.truncate(mark);
                        if !matches!(flow, Flow::Normal) {
                            return Ok(flow);
                        }
                        continue;
                    }
                    for (key, item) in items {
                        let inner_mark = self.vars.len();
                        match decl.as_slice() {
                            [] => {}
                            [v] => self.vars.push((v.clone(), item.clone())),
                            [k, v, ..] => {
                                self.vars.push((k.clone(), key));
                                self.vars.push((v.clone(), item.clone()));
                            }
                        }
                        let flow = self.walk(body, &item)?;
                        self.vars.truncate(inner_mark);
                        if matches!(flow, Flow::Break) {
                            break;
                        }
                    }
                    self.vars.truncate(mark);
                }
            }
        }
        Ok(Flow::Normal)
    }

    fn pipeline(&mut self, pipe: &Pipeline, dot: &Value) -> Result<Value, TemplateError> {
        let mut last: Option<Value> = None;
        for cmd in &pipe.cmds {
            last = Some(self.command(cmd, dot, last)?);
        }
        let v = last.unwrap_or(Value::Null);
        if pipe.assign {
            for name in &pipe.decl {
                self.set(name, v.clone())?;
            }
        } else {
            for name in &pipe.decl {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn operand(&mut self, op: &Operand, dot: &Value) -> Result<Value, TemplateError> {
        match op {
            Operand::Dot(names) => fields(dot.clone(), names),
            Operand::Var(name, names) => fields(self.lookup(name)?, names),
            Operand::Lit(v) => Ok(v.clone()),
            Operand::Sub(pipe, names) => {
                let v = self.pipeline(pipe, dot)?;
                fields(v, names)
            }
            Operand::Func(name) => self.call(name, Vec::new(), dot),
        }
    }

    fn command(
        &mut self,
        cmd: &Command,
        dot: &Value,
        piped: Option<Value>,
    ) -> Result<Value, TemplateError> {
        match &cmd.head {
            Operand::Func(name) => {
                let mut args = Vec::with_capacity(cmd.args.len() + 1);
                for a in &cmd.args {
                    args.push(self.operand(a, dot)?);
                }
                if let Some(p) = piped {
                    args.push(p);
                }
                self.call(name, args, dot)
            }
            head => {
                if piped.is_some() {
                    return Err(TemplateError::Exec(
                        "can't give argument to non-function".to_string(),
                    ));
                }
                self.operand(head, dot)
            }
        }
    }

    fn call(&mut self, name: &str, args: Vec<Value>, _dot: &Value) -> Result<Value, TemplateError> {
        match name {
            "and" => {
                let mut last = Value::Null;
                for a in args {
                    if !truthy(&a) {
                        return Ok(a);
                    }
                    last = a;
                }
                Ok(last)
            }
            "or" => {
                let mut last = Value::Null;
                for a in args {
                    if truthy(&a) {
                        return Ok(a);
                    }
                    last = a;
                }
                Ok(last)
            }
            _ => funcs::call(name, args).map_err(TemplateError::Exec),
        }
    }
}

/// Builds the template context object of Fleet's value templating.
pub fn context(
    cluster_name: &str,
    cluster_namespace: &str,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
    values: &Map<String, Value>,
) -> Value {
    let to_obj = |m: &BTreeMap<String, String>| {
        Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect(),
        )
    };
    let mut ctx = Map::new();
    ctx.insert("ClusterName".into(), Value::from(cluster_name));
    ctx.insert("ClusterNamespace".into(), Value::from(cluster_namespace));
    ctx.insert("ClusterLabels".into(), to_obj(labels));
    ctx.insert("ClusterAnnotations".into(), to_obj(annotations));
    ctx.insert("ClusterValues".into(), Value::Object(values.clone()));
    Value::Object(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(src: &str, data: Value) -> String {
        render(src, &data).unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn basics() {
        let d = json!({"A": {"b": "x"}, "L": ["p", "q"], "N": 3});
        assert_eq!(r("a${ .A.b }c", d.clone()), "axc");
        assert_eq!(
            r("${ range $i, $v := .L }${ $i }=${ $v };${ end }", d.clone()),
            "0=p;1=q;"
        );
        assert_eq!(r("${ if eq .N 3 }yes${ else }no${ end }", d.clone()), "yes");
        assert_eq!(r("${ .L | join \",\" }", d.clone()), "p,q");
        assert_eq!(r("x  ${- .N -}  y", d.clone()), "x3y");
        assert_eq!(r("${ $x := 1 }${ $x = 2 }${ $x }", d.clone()), "2");
        assert_eq!(r("${ with .A }${ .b }${ end }", d.clone()), "x");
        assert_eq!(r("${/* c */}k", d.clone()), "k");
        assert!(r("${ .Missing }", d.clone()).starts_with("ERR"));
        assert_eq!(r("${ .A }", d.clone()), "map[b:x]");
        assert_eq!(r("${ .L }", d), "[p q]");
    }
}
