//! Lexing of an action's text into tokens (Go's `text/template/parse` lexer, per action).

use crate::parse::{Lit, PErr, Tok};

/// The character starting at byte `i` of `src` (`i` on a character boundary).
fn char_at(src: &str, i: usize) -> Option<char> {
    match src.as_bytes().get(i) {
        Some(&b) if b.is_ascii() => Some(char::from(b)),
        Some(_) => src[i..].chars().next(),
        None => None,
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The end of the identifier characters of `src` from byte `i`.
fn ident_end(src: &str, mut i: usize) -> usize {
    let bytes = src.as_bytes();
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphanumeric() || b == b'_' {
            i += 1;
        } else if b.is_ascii() {
            break;
        } else {
            match src[i..].chars().next() {
                Some(c) if c.is_alphanumeric() => i += c.len_utf8(),
                _ => break,
            }
        }
    }
    i
}

/// Lexes an action's text into tokens and the byte offset of each within `src`.
///
/// It walks bytes and decodes a character only where a non-ASCII one stands: actions are
/// nearly always ASCII, and a chart has tens of thousands of them.
pub(crate) fn lex_action(src: &str, line: usize) -> Result<(Vec<Tok>, Vec<usize>), PErr> {
    let err = |m: String| PErr { line, message: m };
    let bytes = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    // Tokens pushed by one step of the loop start where that step started.
    let mut step_start = 0;
    let digit_at = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_digit);
    while i < bytes.len() {
        while offsets.len() < out.len() {
            offsets.push(step_start);
        }
        step_start = i;
        let Some(c) = char_at(src, i) else {
            break;
        };
        match c {
            c if c.is_whitespace() => i += c.len_utf8(),
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
            ':' if bytes.get(i + 1) == Some(&b'=') => {
                out.push(Tok::Declare);
                i += 2
            }
            '=' => {
                out.push(Tok::Assign);
                i += 1
            }
            '.' if char_at(src, i + 1).is_some_and(|n| is_ident(n) && !n.is_ascii_digit()) => {
                // `.x` after a space starts a new operand (dot's field); right after a term
                // it continues that term's field chain (`$v.x`, `(f).x`, `.a.x`).
                let chained = src[..i]
                    .chars()
                    .next_back()
                    .is_some_and(|p| !p.is_whitespace() && !"(|,=".contains(p));
                if !chained {
                    out.push(Tok::Dot);
                }
                let end = ident_end(src, i + 1);
                out.push(Tok::Field(src[i + 1..end].to_string()));
                i = end;
            }
            '.' if !digit_at(i + 1) => {
                out.push(Tok::Dot);
                i += 1
            }
            '$' => {
                let end = ident_end(src, i + 1);
                out.push(Tok::Var(src[i..end].to_string()));
                i = end;
            }
            '"' => {
                i += 1;
                let mut s = String::new();
                loop {
                    // The plain run up to the next quote, backslash or newline.
                    let run = bytes[i..]
                        .iter()
                        .position(|b| matches!(b, b'"' | b'\\' | b'\n'))
                        .ok_or_else(|| err("unterminated quoted string".into()))?;
                    s.push_str(&src[i..i + run]);
                    i += run;
                    let b = bytes[i];
                    i += 1;
                    match b {
                        b'"' => break,
                        b'\n' => return Err(err("unterminated quoted string".into())),
                        _ => {
                            let Some(e) = char_at(src, i) else {
                                return Err(err("unterminated quoted string".into()));
                            };
                            i += e.len_utf8();
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
                                    // `n` characters; none when fewer are left.
                                    let mut ends =
                                        src[i..].char_indices().map(|(o, c)| i + o + c.len_utf8());
                                    let hex_end = ends.nth(n - 1).unwrap_or(i);
                                    let hex = &src[i..hex_end];
                                    i = hex_end;
                                    let ch = u32::from_str_radix(hex, 16)
                                        .ok()
                                        .and_then(char::from_u32)
                                        .ok_or_else(|| err(format!("invalid escape \\{e}{hex}")))?;
                                    s.push(ch);
                                }
                                other => return Err(err(format!("invalid escape \\{other}"))),
                            }
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            '`' => {
                let end = bytes[i + 1..]
                    .iter()
                    .position(|b| *b == b'`')
                    .ok_or_else(|| err("unterminated raw quoted string".into()))?;
                out.push(Tok::Str(src[i + 1..i + 1 + end].to_string()));
                i += end + 2;
            }
            '\'' => {
                // A character constant prints as its code point, as in Go.
                let end = bytes[i + 1..]
                    .iter()
                    .position(|b| *b == b'\'')
                    .ok_or_else(|| err("unterminated character constant".into()))?;
                let body = &src[i + 1..i + 1 + end];
                let ch = match body {
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
            c if c.is_ascii_digit() || (matches!(c, '-' | '+' | '.') && digit_at(i + 1)) => {
                let start = i;
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'.'
                        || bytes[i] == b'_'
                        || ((bytes[i] == b'-' || bytes[i] == b'+')
                            && matches!(bytes[i - 1], b'e' | b'E')))
                {
                    i += 1;
                }
                let text: String = src[start..i].chars().filter(|&c| c != '_').collect();
                out.push(Tok::Num(
                    parse_number(&text)
                        .ok_or_else(|| err(format!("bad number syntax: {text:?}")))?,
                ));
            }
            c if is_ident(c) => {
                let end = ident_end(src, i);
                out.push(Tok::Ident(src[i..end].to_string()));
                i = end;
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
