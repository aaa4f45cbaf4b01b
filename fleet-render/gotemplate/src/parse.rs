//! Lexing and parsing of template text into a tree of nodes.

use crate::Funcs;
use crate::value::GoValue;

/// A literal in template text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Lit {
    pub(crate) fn value(&self) -> GoValue {
        match self {
            Lit::Nil => GoValue::Nil,
            Lit::Bool(b) => GoValue::Bool(*b),
            Lit::Int(i) => GoValue::Int(*i),
            Lit::Float(f) => GoValue::Float(*f),
            Lit::Str(s) => GoValue::str(s),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Field(String), // .Name (one segment)
    Dot,           // .
    Var(String),   // $name or $ (with the dollar)
    Ident(String), // function name or keyword
    Str(String),   // literal string
    Num(Lit),      // number literal
    LParen,
    RParen,
    Pipe,
    Declare, // :=
    Assign,  // =
    Comma,
}

impl std::fmt::Display for Lit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lit::Nil => f.write_str("nil"),
            Lit::Bool(b) => write!(f, "{b}"),
            Lit::Int(i) => write!(f, "{i}"),
            Lit::Float(x) => f.write_str(&crate::fmt::format_float_g(*x, 21)),
            Lit::Str(s) => f.write_str(&crate::fmt::quote(s)),
        }
    }
}

fn write_fields(f: &mut std::fmt::Formatter<'_>, fields: &[String]) -> std::fmt::Result {
    for field in fields {
        write!(f, ".{field}")?;
    }
    Ok(())
}

/// Go's re-printing of parse nodes (`Node.String`), used in execution errors.
impl std::fmt::Display for Operand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Operand::Dot(fields) if fields.is_empty() => f.write_str("."),
            Operand::Dot(fields) => write_fields(f, fields),
            Operand::Var(name, fields) => {
                f.write_str(name)?;
                write_fields(f, fields)
            }
            Operand::Lit(l) => write!(f, "{l}"),
            Operand::Sub(pipe, fields) => {
                write!(f, "({pipe})")?;
                write_fields(f, fields)
            }
            Operand::Func(name) => f.write_str(name),
        }
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.head)?;
        for arg in &self.args {
            write!(f, " {arg}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.decl.is_empty() {
            write!(
                f,
                "{} {} ",
                self.decl.join(", "),
                if self.assign { "=" } else { ":=" }
            )?;
        }
        for (i, cmd) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{cmd}")?;
        }
        Ok(())
    }
}

/// One argument or command operand.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    /// `.` followed by fields (empty for plain `.`).
    Dot(Vec<String>),
    /// `$name` followed by fields.
    Var(String, Vec<String>),
    /// A literal.
    Lit(Lit),
    /// `(pipeline)` followed by fields.
    Sub(Box<Pipeline>, Vec<String>),
    /// A function name (called with no arguments when used as an operand).
    Func(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Command {
    pub(crate) head: Operand,
    pub(crate) args: Vec<Operand>,
    /// Column of the command's first token (Go's error position for it).
    pub(crate) col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pipeline {
    pub(crate) decl: Vec<String>,
    pub(crate) assign: bool,
    pub(crate) cmds: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Text(String),
    Action(Pipeline, Pos),
    Template(String, Option<Pipeline>, Pos),
    If(Pipeline, Vec<Node>, Vec<Node>, Pos),
    With(Pipeline, Vec<Node>, Vec<Node>, Pos),
    Range(Pipeline, Vec<Node>, Vec<Node>, Pos),
    Break,
    Continue,
}

/// Where an action starts, and its text, for execution errors.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pos {
    pub(crate) line: usize,
    pub(crate) col: usize,
    pub(crate) text: String,
}

/// A parse error before the template name is attached.
#[derive(Debug)]
pub(crate) struct PErr {
    pub(crate) line: usize,
    pub(crate) message: String,
}

// ---------------------------------------------------------------- parsing

pub(crate) struct TokStream<'a> {
    toks: Vec<Tok>,
    pos: usize,
    line: usize,
    depth: usize,
    funcs: &'a Funcs,
    cols: Vec<usize>,
    /// Variables in scope, checked at parse time as Go does.
    vars: &'a std::cell::RefCell<Vec<String>>,
}

/// Deepest nesting of parentheses, and of control structures, that is accepted.
pub(crate) const MAX_NESTING: usize = 100;

impl TokStream<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn err(&self, message: impl Into<String>) -> PErr {
        PErr {
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

    fn operand(&mut self) -> Result<Option<Operand>, PErr> {
        let op = match self.peek() {
            Some(Tok::Dot) => {
                self.pos += 1;
                Operand::Dot(self.fields())
            }
            Some(Tok::Field(_)) => Operand::Dot(self.fields()),
            Some(Tok::Var(v)) => {
                let v = v.clone();
                self.use_var(&v)?;
                self.pos += 1;
                Operand::Var(v, self.fields())
            }
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.pos += 1;
                Operand::Lit(Lit::Str(s))
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
                    "true" => Operand::Lit(Lit::Bool(true)),
                    "false" => Operand::Lit(Lit::Bool(false)),
                    "nil" => Operand::Lit(Lit::Nil),
                    _ if self.funcs.contains(&id) => Operand::Func(id),
                    _ => return Err(self.err(format!("function {id:?} not defined"))),
                }
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                self.depth += 1;
                if self.depth > MAX_NESTING {
                    return Err(self.err("parentheses nested too deeply"));
                }
                let pipe = self.pipeline(false)?;
                self.depth -= 1;
                if self.next() != Some(Tok::RParen) {
                    return Err(self.err("unclosed left paren"));
                }
                Operand::Sub(Box::new(pipe), self.fields())
            }
            _ => return Ok(None),
        };
        Ok(Some(op))
    }

    fn command(&mut self) -> Result<Command, PErr> {
        let col = self.cols.get(self.pos).copied().unwrap_or(0);
        let head = self
            .operand()?
            .ok_or_else(|| self.err("missing value for command"))?;
        let mut args = Vec::new();
        while let Some(op) = self.operand()? {
            args.push(op);
        }
        // Functions take arguments, and so do methods at the end of a field chain
        // (`.Files.Get "x"`, `$v.Compare "1.0"`); nothing else does.
        let chain = matches!(&head, Operand::Dot(f) | Operand::Var(_, f) | Operand::Sub(_, f) if !f.is_empty());
        if !args.is_empty() && !matches!(head, Operand::Func(_)) && !chain {
            return Err(self.err("can't give argument to non-function"));
        }
        Ok(Command { head, args, col })
    }

    fn use_var(&self, name: &str) -> Result<(), PErr> {
        if self.vars.borrow().iter().any(|v| v == name) {
            Ok(())
        } else {
            Err(self.err(format!("undefined variable {name:?}")))
        }
    }

    fn pipeline(&mut self, allow_decl: bool) -> Result<Pipeline, PErr> {
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
                    self.vars.borrow_mut().extend(names.iter().cloned());
                    decl = names;
                }
                Some(Tok::Assign) if !names.is_empty() => {
                    self.pos += 1;
                    for name in &names {
                        self.use_var(name)?;
                    }
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

pub(crate) enum Item {
    Text(String),
    Action {
        toks: Vec<Tok>,
        /// Column of each token on the action's line.
        cols: Vec<usize>,
        pos: Pos,
    },
}

/// Splits the source into text and actions, applying trim markers and dropping comments.
pub(crate) fn split(src: &str, left: &str, right: &str) -> Result<Vec<Item>, PErr> {
    let mut items = Vec::new();
    let mut rest = src;
    let mut line = 1;
    let mut trim_next = false;
    // Where the current line starts in `src`, kept as `rest` advances: looking back for it at
    // each action would scan long lines (dashboards held as one-line JSON) over and over.
    let mut line_start = 0;
    let advance_line_start = |line_start: &mut usize, from: usize, segment: &str| {
        if let Some(p) = segment.rfind('\n') {
            *line_start = from + p + 1;
        }
    };
    loop {
        let Some(start) = find_delim(rest, left) else {
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
        let after = &rest[start + left.len()..];
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
        let offset = src.len() - rest.len();
        advance_line_start(&mut line_start, offset, &rest[..start]);
        let body_start = if trim_left { &after[1..] } else { after };
        // Find the closing delimiter outside quotes and comments.
        let (body, close_len, trim_right) = find_close(body_start, right).ok_or_else(|| PErr {
            line,
            message: "unclosed action".to_string(),
        })?;
        let inner = &body_start[..body];
        let trimmed = inner.trim();
        if trimmed.starts_with("/*") {
            if !trimmed.ends_with("*/") {
                return Err(PErr {
                    line,
                    message: "unclosed comment".to_string(),
                });
            }
        } else {
            // Go reports the column of the action's first token (0-based bytes).
            let lead = inner.len() - inner.trim_start_matches([' ', '\t']).len();
            let col = src.len() - rest.len() + start - line_start
                + left.len()
                + usize::from(trim_left)
                + lead;
            let (toks, offsets) = crate::lex::lex_action(inner, line)?;
            // Token offsets count from the start of `inner`, which begins `lead` bytes
            // before the first token.
            let cols = offsets.iter().map(|o| col - lead + o).collect();
            items.push(Item::Action {
                toks,
                cols,
                pos: Pos {
                    line,
                    col,
                    text: trimmed.to_string(),
                },
            });
        }
        line += inner.matches('\n').count();
        let action_start = src.len() - rest.len() + start;
        trim_next = trim_right;
        rest = &body_start[body + close_len..];
        let action_end = src.len() - rest.len();
        advance_line_start(
            &mut line_start,
            action_start,
            &src[action_start..action_end],
        );
    }
    Ok(items)
}

/// The first position of `delim` in `hay`: a search for its first character (a word at a
/// time), then a comparison, which beats a general substring search for a two-byte delimiter
/// met once per action.
fn find_delim(hay: &str, delim: &str) -> Option<usize> {
    let first = delim.chars().next()?;
    let mut from = 0;
    while let Some(p) = hay[from..].find(first) {
        let at = from + p;
        if hay[at..].starts_with(delim) {
            return Some(at);
        }
        from = at + first.len_utf8();
    }
    None
}

/// Position of the closing `}` of an action (skipping quoted strings and comments), its length
/// with a right trim marker, and whether it trims.
fn find_close(s: &str, right: &str) -> Option<(usize, usize, bool)> {
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
            // Bytes, not `&s[i..]`: `i` may be inside a multi-byte character here.
            _ if bytes[i..].starts_with(right.as_bytes()) => {
                let trim = i >= 2
                    && bytes[i - 1] == b'-'
                    && matches!(bytes[i - 2], b' ' | b'\t' | b'\n' | b'\r');
                return Some(if trim {
                    (i - 2, right.len() + 2, true)
                } else {
                    (i, right.len(), false)
                });
            }
            _ => {}
        }
        i += 1;
    }
    None
}

pub(crate) enum Terminator {
    Eof,
    End,
    Else(Option<(String, Pipeline, Pos)>),
}

pub(crate) struct Parser<'a> {
    pub(crate) items: std::iter::Peekable<std::vec::IntoIter<Item>>,
    pub(crate) funcs: &'a Funcs,
    pub(crate) defines: Vec<(String, Vec<Node>)>,
    /// Variables in scope: `$`, then each `:=` until the end of its control structure.
    pub(crate) vars: std::cell::RefCell<Vec<String>>,
}

pub(crate) fn parse_list(
    p: &mut Parser<'_>,
    in_range: bool,
    depth: usize,
) -> Result<(Vec<Node>, Terminator), PErr> {
    let mut nodes = Vec::new();
    while let Some(item) = p.items.next() {
        let (toks, cols, pos) = match item {
            Item::Text(t) => {
                nodes.push(Node::Text(t));
                continue;
            }
            Item::Action { toks, cols, pos } => (toks, cols, pos),
        };
        let line = pos.line;
        let mut ts = TokStream {
            toks,
            pos: 0,
            line,
            depth: 0,
            funcs: p.funcs,
            cols,
            vars: &p.vars,
        };
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
                        Some((k, ts.pipeline(true)?, pos))
                    }
                    None => None,
                    _ => return Err(ts.err("unexpected token after else")),
                };
                return Ok((nodes, Terminator::Else(chained)));
            }
            "if" | "with" | "range" => {
                ts.pos += 1;
                // What the control declares goes out of scope at its end (after `else`).
                let mark = p.vars.borrow().len();
                let pipe = ts.pipeline(true)?;
                if ts.peek().is_some() {
                    return Err(ts.err(format!("unexpected token in {keyword}")));
                }
                if depth >= MAX_NESTING {
                    return Err(ts.err("control structures nested too deeply"));
                }
                nodes.push(parse_control(&keyword, pipe, p, in_range, pos, depth + 1)?);
                p.vars.borrow_mut().truncate(mark);
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
                ts.pos += 1;
                let Some(Tok::Str(name)) = ts.next() else {
                    return Err(ts.err(format!("unexpected name in {keyword} clause")));
                };
                let pipe = if ts.peek().is_some() && keyword != "define" {
                    Some(ts.pipeline(false)?)
                } else {
                    None
                };
                if ts.peek().is_some() {
                    return Err(ts.err(format!("unexpected token in {keyword} clause")));
                }
                if keyword == "define" || keyword == "block" {
                    if depth > 0 && keyword == "define" {
                        return Err(ts.err("unexpected <define> in command"));
                    }
                    let eof = ts.err(format!("unexpected EOF in {keyword} clause"));
                    // A definition's body is a template of its own: only `$` is in scope.
                    let outer = p.vars.replace(vec!["$".to_string()]);
                    let parsed = parse_list(p, false, depth + 1);
                    p.vars.replace(outer);
                    let (body, end) = parsed?;
                    if !matches!(end, Terminator::End) {
                        return Err(eof);
                    }
                    p.defines.push((name.clone(), body));
                }
                if keyword != "define" {
                    nodes.push(Node::Template(name, pipe, pos));
                }
            }
            _ => {
                let pipe = ts.pipeline(true)?;
                if ts.peek().is_some() {
                    return Err(ts.err("unexpected token in operand"));
                }
                nodes.push(Node::Action(pipe, pos));
            }
        }
    }
    Ok((nodes, Terminator::Eof))
}

fn parse_control(
    keyword: &str,
    pipe: Pipeline,
    p: &mut Parser<'_>,
    in_range: bool,
    pos: Pos,
    depth: usize,
) -> Result<Node, PErr> {
    let line = pos.line;
    let body_in_range = in_range || keyword == "range";
    let (body, end) = parse_list(p, body_in_range, depth)?;
    let else_nodes = match end {
        Terminator::End => Vec::new(),
        Terminator::Eof => {
            return Err(PErr {
                line,
                message: format!("unexpected EOF: {keyword} without end"),
            });
        }
        Terminator::Else(None) => {
            let (else_body, end) = parse_list(p, in_range, depth)?;
            if !matches!(end, Terminator::End) {
                return Err(PErr {
                    line,
                    message: format!("expected end after else of {keyword}"),
                });
            }
            else_body
        }
        Terminator::Else(Some((k, chained, else_pos))) => {
            // `else if` / `else with`: a nested control sharing this one's end.
            if depth >= MAX_NESTING {
                return Err(PErr {
                    line,
                    message: "else-if chain nested too deeply".to_string(),
                });
            }
            vec![parse_control(
                &k,
                chained,
                p,
                in_range,
                else_pos,
                depth + 1,
            )?]
        }
    };
    Ok(match keyword {
        "if" => Node::If(pipe, body, else_nodes, pos),
        "with" => Node::With(pipe, body, else_nodes, pos),
        _ => Node::Range(pipe, body, else_nodes, pos),
    })
}
