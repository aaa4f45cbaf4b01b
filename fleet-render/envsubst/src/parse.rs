//! The template grammar: a scanner and a parser into [`Node`]s, as Flux's `envsubst` package
//! (`drone/envsubst` `parse`) reads `${...}` expressions.

use crate::Error;

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
