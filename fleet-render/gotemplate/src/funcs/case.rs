//! Case mapping as Go and xstrings do it: Go's simple one-to-one rune mapping
//! (`upper "ß"` stays `ß`), `strings.Title`, and xstrings' identifier splitting for
//! `snakecase`, `kebabcase` and `camelcase`.

/// Go's `unicode.ToUpper`: one rune to one rune.
pub(super) fn upper_char(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

pub(super) fn lower_char(c: char) -> char {
    let mut low = c.to_lowercase();
    match (low.next(), low.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// `strings.Title`: a letter after a separator is upper-cased; ASCII punctuation (the
/// apostrophe too) separates words.
pub(super) fn title(s: &str) -> String {
    let is_separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) { upper_char(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// goutils `Uncapitalize`: the first letter of each space-separated word lower-cased.
pub(super) fn untitle(s: &str) -> String {
    let mut start = true;
    s.chars()
        .map(|c| {
            let out = if start { lower_char(c) } else { c };
            start = c.is_whitespace();
            out
        })
        .collect()
}

pub(super) fn initials(s: &str) -> String {
    s.split_whitespace()
        .filter_map(|w| w.chars().next())
        .collect()
}

pub(super) fn swapcase(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_uppercase() {
                lower_char(c)
            } else if c.is_lowercase() {
                upper_char(c)
            } else {
                c
            }
        })
        .collect()
}

pub(super) fn shuffle(s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
        | 1;
    for i in (1..chars.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        chars.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    chars.into_iter().collect()
}

/// xstrings' word classes for case conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    /// Nothing left.
    End,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// Go's `unicode.IsPunct` (category P): among ASCII, not the symbols `$+<=>^`|~`.
fn is_punct(c: char) -> bool {
    if c.is_ascii() {
        return "!\"#%&'()*,-./:;?@[\\]_{}".contains(c);
    }
    matches!(c as u32, 0x2010..=0x2027 | 0x2030..=0x205E | 0x3001..=0x3003 | 0x3008..=0x3011 | 0x3014..=0x301F | 0xFF01..=0xFF03 | 0xFF05..=0xFF0A | 0xFF0C..=0xFF0F | 0xFF1A..=0xFF1B | 0xFF1F..=0xFF20)
}

/// A letter that is not a CJK ideograph (xstrings' `isAlphabet`).
fn is_alphabet(c: char) -> bool {
    c.is_alphabetic() && !matches!(c as u32, 0x4E00..=0x9FCC | 0x3400..=0x4D85 | 0x20000..=0x2B81D)
}

/// The next word of `s` and the rest, as xstrings' `nextWord` splits: an upper-case run
/// followed by a lower-case letter gives its last capital to the next word (`HTTPServer` is
/// `HTTP` + `Server`).
fn next_word(s: &str) -> (Word, &str, &str) {
    let mut it = s.char_indices().peekable();
    let Some((_, first)) = it.next() else {
        return (Word::End, "", "");
    };
    let take_while = |start: usize, pred: &dyn Fn(char) -> bool| -> usize {
        s[start..]
            .char_indices()
            .find(|(_, c)| !pred(*c))
            .map_or(s.len(), |(i, _)| start + i)
    };
    let after_first = first.len_utf8();
    let (kind, end) = if is_connector(first) {
        (Word::Connector, take_while(after_first, &is_connector))
    } else if is_punct(first) {
        (Word::Punct, take_while(after_first, &is_punct))
    } else if first.is_uppercase() {
        match s[after_first..].chars().next() {
            Some(n) if n.is_uppercase() => {
                let end = take_while(after_first, &|c: char| c.is_uppercase());
                let next_is_letter = s[end..].chars().next().is_some_and(is_alphabet);
                if next_is_letter {
                    // Give the last capital back: it starts the next word.
                    let last = s[..end].chars().next_back().map_or(0, char::len_utf8);
                    (Word::Upper, end - last)
                } else {
                    (Word::Upper, end)
                }
            }
            Some(n) if is_alphabet(n) => (
                Word::Upper,
                take_while(after_first, &|c: char| is_alphabet(c) && !c.is_uppercase()),
            ),
            _ => (Word::Upper, after_first),
        }
    } else if is_alphabet(first) {
        (
            Word::Alphabet,
            take_while(after_first, &|c: char| is_alphabet(c) && !c.is_uppercase()),
        )
    } else if first.is_numeric() {
        (
            Word::Number,
            take_while(after_first, &|c: char| c.is_numeric()),
        )
    } else {
        (
            Word::Other,
            take_while(after_first, &|c: char| {
                !(is_connector(c) || is_alphabet(c) || c.is_numeric() || is_punct(c))
            }),
        )
    };
    (kind, &s[..end], &s[end..])
}

fn push_lower(out: &mut String, kind: Word, word: &str, connector: char) {
    if kind != Word::Upper && kind != Word::Connector {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            out.push(connector);
        } else {
            out.push(lower_char(c));
        }
    }
}

/// xstrings v1.5 `ToSnakeCase`/`ToKebabCase`: `HTTPServer` → `http_server`, `http2xx` →
/// `http_2xx`, `Bld4Floor3rd` → `bld4_floor_3rd`.
pub(super) fn delimited(s: &str, connector: char) -> String {
    let sep = |kind: Word| !matches!(kind, Word::End | Word::Punct | Word::Connector);
    let mut out = String::with_capacity(s.len() + 4);
    let (mut kind, mut word, mut rest) = next_word(s);
    while !rest.is_empty() {
        if kind != Word::Connector {
            push_lower(&mut out, kind, word, connector);
        }
        let (prev, last) = (kind, word);
        (kind, word, rest) = next_word(rest);
        match prev {
            Word::Number => {
                while matches!(kind, Word::Alphabet | Word::Number) {
                    push_lower(&mut out, kind, word, connector);
                    (kind, word, rest) = next_word(rest);
                }
                if sep(kind) {
                    out.push(connector);
                }
            }
            Word::Connector => push_lower(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if kind != Word::Number {
                    if kind != Word::Connector && kind != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if rest.is_empty() {
                    continue;
                }
                let number = word;
                (kind, word, rest) = next_word(rest);
                if kind != Word::Alphabet {
                    // A number between words belongs to the previous one (`bld4_floor`).
                    push_lower(&mut out, Word::Number, number, connector);
                    if kind != Word::Connector && kind != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                // Lower-case letters after a number start a word with it (`http_2xx`).
                out.push(connector);
                push_lower(&mut out, Word::Number, number, connector);
                while matches!(kind, Word::Alphabet | Word::Number) {
                    push_lower(&mut out, kind, word, connector);
                    (kind, word, rest) = next_word(rest);
                }
                if sep(kind) {
                    out.push(connector);
                }
            }
        }
    }
    push_lower(&mut out, kind, word, connector);
    out
}

/// xstrings v1.5 `ToCamelCase` (sprig's `camelcase`): a letter after connectors is
/// upper-cased and single connectors dropped; other letters keep their case.
pub(super) fn pascal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    let mut r0 = '\0';
    let mut any = false;
    for c in chars.by_ref() {
        any = true;
        r0 = c;
        if !is_connector(c) {
            r0 = upper_char(c);
            break;
        }
        out.push(c);
    }
    let rest: Vec<char> = chars.collect();
    if rest.is_empty() {
        // A lone rune (or only connectors, the last written once more, as xstrings does).
        if any {
            out.push(r0);
        }
        return out;
    }
    for c in rest {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            r0 = upper_char(r0);
        } else {
            out.push(r1);
        }
    }
    out.push(r0);
    out
}
