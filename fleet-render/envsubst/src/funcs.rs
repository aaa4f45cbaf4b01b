//! The `${var<op>args}` operators, applied to a variable's value: case changes, lengths,
//! substrings, prefix/suffix trimming with shell globs, replacement, defaults.

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
