//! Lexing of an action's text into tokens (Go's `text/template/parse` lexer, per action).

use crate::parse::{Lit, PErr, Tok};

/// Lexes an action's text into tokens and the byte offset of each within `src`.
pub(crate) fn lex_action(src: &str, line: usize) -> Result<(Vec<Tok>, Vec<usize>), PErr> {
    let err = |m: String| PErr { line, message: m };
    let chars: Vec<char> = src.chars().collect();
    let bytes_at: Vec<usize> = src.char_indices().map(|(b, _)| b).collect();
    let mut i = 0;
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    // Tokens pushed by one step of the loop start where that step started.
    let mut step_start = 0;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        while offsets.len() < out.len() {
            offsets.push(step_start);
        }
        step_start = bytes_at.get(i).copied().unwrap_or(src.len());
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
                // `.x` after a space starts a new operand (dot's field); right after a term
                // it continues that term's field chain (`$v.x`, `(f).x`, `.a.x`).
                let chained =
                    i > 0 && !chars[i - 1].is_whitespace() && !"(|,=".contains(chars[i - 1]);
                if !chained {
                    out.push(Tok::Dot);
                }
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
                let start = i;
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
                out.push(Tok::Num(Lit::Int(i64::from(ch as u32))));
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
    while offsets.len() < out.len() {
        offsets.push(step_start);
    }
    Ok((out, offsets))
}

fn parse_number(text: &str) -> Option<Lit> {
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
        return Some(Lit::Int(if neg { -n } else { n }));
    }
    if let Some(f) = hex_float(body) {
        return Some(Lit::Float(if neg { -f } else { f }));
    }
    let f: f64 = body.parse().ok()?;
    Some(Lit::Float(if neg { -f } else { f }))
}

/// A hexadecimal floating-point literal (`0x1p60`, `0x1.8p-3`).
fn hex_float(body: &str) -> Option<f64> {
    let digits = body
        .strip_prefix("0x")
        .or_else(|| body.strip_prefix("0X"))?;
    let (mantissa, exp) = digits.split_once(['p', 'P'])?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(value * 2f64.powi(exp))
}
