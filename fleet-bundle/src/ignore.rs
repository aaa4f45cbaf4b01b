//! `.fleetignore` files and Go's `filepath.Match` glob syntax.
//!
//! Semantics (Fleet `internal/bundlereader/loaddirectory.go`): one pattern per line; trailing
//! whitespace is trimmed unless the character before it is a backslash; empty lines and lines
//! starting with `#` are skipped (`\#` escapes a leading hash); each pattern is matched against
//! the **base name** of a path; a pattern of the form `name/*` (anything, `/*`) ignores only a
//! directory whose base name is `name`. A `.fleetignore` applies to its own directory and every
//! directory below it, not to siblings.

use std::collections::HashSet;

/// A bad glob pattern (Go's `filepath.ErrBadPattern`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("syntax error in pattern {0:?}")]
pub struct BadPattern(pub String);

/// Parses the text of a `.fleetignore` file into its patterns.
pub fn parse_fleetignore(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = trim_unescaped_trailing_space(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(line.to_string());
    }
    out
}

/// Fleet trims `([^\\])\s+$` → `$1`: trailing whitespace goes unless the character just before
/// it is a backslash (a line made only of whitespace is kept as is, and then is not empty).
fn trim_unescaped_trailing_space(line: &str) -> &str {
    let trimmed = line.trim_end_matches(is_go_space);
    if trimmed.len() == line.len() || trimmed.is_empty() {
        return line;
    }
    if trimmed.ends_with('\\') {
        return line;
    }
    trimmed
}

fn is_go_space(c: char) -> bool {
    // RE2 `\s` is `[\t\n\f\r ]`.
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// Whether `pattern` is Fleet's "all files in a directory" form (`^.+/\*`).
fn is_dir_pattern(pattern: &str) -> bool {
    pattern
        .char_indices()
        .any(|(i, c)| c == '/' && i > 0 && pattern[i + 1..].starts_with('*'))
}

/// Whether the entry with base name `name` is ignored by `patterns`.
pub fn is_ignored(patterns: &[String], name: &str, is_dir: bool) -> Result<bool, BadPattern> {
    for pattern in patterns {
        if is_dir_pattern(pattern) {
            if is_dir && pattern.strip_suffix("/*").unwrap_or(pattern) == name {
                return Ok(true);
            }
        } else if go_match(pattern, name)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `filepath.Match` on Unix: `*` (any run of non-`/`), `?` (one non-`/`), `[...]` classes
/// with ranges and `^` negation, `\` escapes. A malformed pattern is an error.
pub fn go_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let bad = || BadPattern(pattern.to_string());
    // Validate the whole pattern first, as Go reports bad patterns even after a mismatch.
    validate(&p).map_err(|_| bad())?;
    Ok(match_from(&p, 0, &n, 0, &mut HashSet::new()))
}

fn validate(p: &[char]) -> Result<(), ()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(());
                }
                i += 2;
            }
            '[' => {
                i = class_end(p, i + 1)?;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Returns the index after the closing `]` of a class starting after `[` at `i`.
fn class_end(p: &[char], mut i: usize) -> Result<usize, ()> {
    if i < p.len() && p[i] == '^' {
        i += 1;
    }
    let mut first = true;
    loop {
        if i >= p.len() {
            return Err(());
        }
        if p[i] == ']' && !first {
            return Ok(i + 1);
        }
        first = false;
        let (_, next) = class_char(p, i)?;
        i = next;
        if i < p.len() && p[i] == '-' {
            let (_, next) = class_char(p, i + 1)?;
            i = next;
        }
    }
}

fn class_char(p: &[char], i: usize) -> Result<(char, usize), ()> {
    match p.get(i) {
        None | Some('-') | Some(']') => Err(()),
        Some('\\') => p.get(i + 1).map(|c| (*c, i + 2)).ok_or(()),
        Some(c) => Ok((*c, i + 1)),
    }
}

fn match_class(p: &[char], start: usize, c: char) -> (bool, usize) {
    let mut i = start;
    let negated = p.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        if p.get(i) == Some(&']') && !first {
            i += 1;
            break;
        }
        first = false;
        let Ok((lo, next)) = class_char(p, i) else {
            return (false, p.len());
        };
        i = next;
        let mut hi = lo;
        if p.get(i) == Some(&'-')
            && let Ok((h, next)) = class_char(p, i + 1)
        {
            hi = h;
            i = next;
        }
        if lo <= c && c <= hi {
            matched = true;
        }
    }
    (matched != negated, i)
}

/// Matches `p[pi..]` against `n[ni..]`. `failed` holds the (pattern, name) positions after a
/// star already known not to match: without it, a pattern of many stars against a long name
/// backtracks exponentially (a `.fleetignore` line could stall the bundle read); with it every
/// pair is tried at most once.
fn match_from(
    p: &[char],
    mut pi: usize,
    n: &[char],
    mut ni: usize,
    failed: &mut HashSet<(usize, usize)>,
) -> bool {
    while pi < p.len() {
        match p[pi] {
            '*' => {
                while pi < p.len() && p[pi] == '*' {
                    pi += 1;
                }
                if pi == p.len() {
                    return !n[ni..].contains(&'/');
                }
                let mut k = ni;
                loop {
                    if !failed.contains(&(pi, k)) {
                        if match_from(p, pi, n, k, failed) {
                            return true;
                        }
                        failed.insert((pi, k));
                    }
                    if k >= n.len() || n[k] == '/' {
                        return false;
                    }
                    k += 1;
                }
            }
            '?' => {
                if ni >= n.len() || n[ni] == '/' {
                    return false;
                }
                pi += 1;
                ni += 1;
            }
            '[' => {
                if ni >= n.len() || n[ni] == '/' {
                    return false;
                }
                let (ok, next) = match_class(p, pi + 1, n[ni]);
                if !ok {
                    return false;
                }
                pi = next;
                ni += 1;
            }
            '\\' => {
                let Some(&c) = p.get(pi + 1) else {
                    return false;
                };
                if ni >= n.len() || n[ni] != c {
                    return false;
                }
                pi += 2;
                ni += 1;
            }
            c => {
                if ni >= n.len() || n[ni] != c {
                    return false;
                }
                pi += 1;
                ni += 1;
            }
        }
    }
    ni == n.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `fleetignore` fuzz target: many stars against a long name took seconds per
    /// line (exponential backtracking) before failed positions were remembered.
    #[test]
    fn many_stars_match_in_polynomial_time() {
        let name = "a".repeat(60);
        let stars = "*a".repeat(30);
        assert!(!go_match(&format!("{stars}b"), &name).unwrap());
        assert!(go_match(&stars, &name).unwrap());
        assert!(!go_match(&format!("{stars}*[^a]*"), &name).unwrap());
        let classes = "*[^X]*[^[]".repeat(12);
        assert!(!go_match(&format!("{classes}*i"), &"x".repeat(80)).unwrap());
        assert!(go_match(&format!("{classes}*"), &"x".repeat(80)).unwrap());
    }

    #[test]
    fn go_match_basics() {
        assert!(go_match("*.yaml", "a.yaml").unwrap());
        assert!(!go_match("*.yaml", "a.yml").unwrap());
        assert!(go_match("a?c", "abc").unwrap());
        assert!(go_match("[a-c]x", "bx").unwrap());
        assert!(!go_match("[^a-c]x", "bx").unwrap());
        assert!(go_match("\\#x", "#x").unwrap());
        assert!(go_match("x\\ \\ ", "x  ").unwrap());
        assert!(go_match("[", "a").is_err());
        assert!(go_match("a\\", "a").is_err());
        assert!(go_match("*", "").unwrap());
    }

    #[test]
    fn parse_rules() {
        let p = parse_fleetignore("#c\n\\#x\n\nfoo  \nbar\\ \\ \n");
        assert_eq!(p, ["\\#x", "foo", "bar\\ \\ "]);
        assert!(is_dir_pattern("foo/*"));
        assert!(!is_dir_pattern("/*"));
        assert!(is_ignored(&["foo/*".into()], "foo", true).unwrap());
        assert!(!is_ignored(&["foo/*".into()], "foo", false).unwrap());
    }
}
