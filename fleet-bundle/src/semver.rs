//! Helm's version constraints: the Masterminds `semver/v3` dialect.
//!
//! Versions: `v` prefix allowed, missing minor/patch read as 0, prerelease and build metadata.
//! Constraints: OR groups separated by `||`; inside a group, constraints separated by commas
//! or spaces are ANDed; operators `=`, `!=`, `>`, `<`, `>=`, `=>`, `<=`, `=<`, `~`, `~>`, `^`;
//! wildcards `x`, `X`, `*` in any position; hyphen ranges `1.2 - 1.4.5`. A version with a
//! prerelease only satisfies a constraint that itself carries a prerelease (Masterminds rule:
//! the numbers need not match, so `>=1.20.0-0` accepts `1.30.0-rc.1`).

use std::cmp::Ordering;
use std::fmt;

/// A parse error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The version does not parse.
    #[error("invalid semantic version {0:?}")]
    Version(String),
    /// The constraint does not parse.
    #[error("improper constraint: {0}")]
    Constraint(String),
}

/// A semantic version as Masterminds reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// Patch number.
    pub patch: u64,
    /// Prerelease (without the `-`), empty if none.
    pub pre: String,
    /// Build metadata (without the `+`), empty if none; ignored in comparisons.
    pub build: String,
}

fn ident_ok(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

fn num(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Version {
    /// Parses a version leniently (Masterminds `NewVersion`).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = || Error::Version(text.to_string());
        let s = text.strip_prefix('v').unwrap_or(text);
        let (s, build) = match s.split_once('+') {
            Some((a, b)) => {
                if !ident_ok(b) {
                    return Err(bad());
                }
                (a, b.to_string())
            }
            None => (s, String::new()),
        };
        let (core, pre) = match s.split_once('-') {
            Some((a, b)) => {
                if !ident_ok(b) {
                    return Err(bad());
                }
                (a, b.to_string())
            }
            None => (s, String::new()),
        };
        let mut parts = core.split('.');
        let major = parts.next().and_then(num).ok_or_else(bad)?;
        let minor = match parts.next() {
            Some(p) => num(p).ok_or_else(bad)?,
            None => 0,
        };
        let patch = match parts.next() {
            Some(p) => num(p).ok_or_else(bad)?,
            None => 0,
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Self {
            major,
            minor,
            patch,
            pre,
            build,
        })
    }

    /// Masterminds `Compare`: numbers, then prerelease (a release sorts above its prereleases).
    pub fn compare(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| compare_pre(&self.pre, &other.pre))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let mut ai = a.split('.');
    let mut bi = b.split('.');
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = match (num(x), num(y)) {
                    (Some(m), Some(n)) => m.cmp(&n),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => x.cmp(y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Single {
    op: Op,
    con: Version,
    major_dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// A parsed constraint expression.
#[derive(Debug, Clone)]
pub struct Constraint {
    groups: Vec<Vec<Single>>,
    text: String,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraint {
    /// Parses a Masterminds constraint expression.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut groups = Vec::new();
        for group in text.split("||") {
            let tokens = tokenize(group, text)?;
            let mut singles = Vec::new();
            for token in tokens {
                singles.push(parse_single(&token, text)?);
            }
            if singles.is_empty() {
                // An empty group is "*" (>= 0.0.0).
                singles.push(Single {
                    op: Op::TildeOrEqual,
                    con: Version::parse("0.0.0")?,
                    major_dirty: true,
                    minor_dirty: false,
                    patch_dirty: false,
                });
            }
            groups.push(singles);
        }
        Ok(Self {
            groups,
            text: text.to_string(),
        })
    }

    /// Whether `v` satisfies the constraint.
    pub fn matches(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .any(|group| group.iter().all(|c| check(c, v)))
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Splits one AND group into `op+version` tokens, rewriting hyphen ranges.
fn tokenize(group: &str, whole: &str) -> Result<Vec<String>, Error> {
    // Words separated by commas and whitespace; an operator may be separated from its version
    // by whitespace, and "a - b" is a range.
    let words: Vec<&str> = group
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if i + 2 < words.len() && words[i + 1] == "-" {
            out.push(format!(">={w}"));
            out.push(format!("<={}", words[i + 2]));
            i += 3;
            continue;
        }
        let is_op_only = matches!(
            w,
            "=" | "!=" | ">" | "<" | ">=" | "=>" | "<=" | "=<" | "~" | "~>" | "^"
        );
        if is_op_only {
            let Some(next) = words.get(i + 1) else {
                return Err(Error::Constraint(whole.to_string()));
            };
            out.push(format!("{w}{next}"));
            i += 2;
            continue;
        }
        out.push(w.to_string());
        i += 1;
    }
    Ok(out)
}

fn parse_single(token: &str, whole: &str) -> Result<Single, Error> {
    let bad = || Error::Constraint(whole.to_string());
    let ops: [(&str, Op); 11] = [
        ("!=", Op::NotEqual),
        (">=", Op::GreaterEqual),
        ("=>", Op::GreaterEqual),
        ("<=", Op::LessEqual),
        ("=<", Op::LessEqual),
        ("~>", Op::Tilde),
        (">", Op::Greater),
        ("<", Op::Less),
        ("=", Op::TildeOrEqual),
        ("~", Op::Tilde),
        ("^", Op::Caret),
    ];
    let (op, rest) = ops
        .iter()
        .find_map(|(p, op)| token.strip_prefix(p).map(|r| (*op, r)))
        .unwrap_or((Op::TildeOrEqual, token));
    let rest = rest.strip_prefix('v').unwrap_or(rest);
    if rest.is_empty() {
        return Err(bad());
    }
    // Split off prerelease/build from the numeric part.
    let cut = rest.find(['-', '+']).unwrap_or(rest.len());
    let (core, suffix) = rest.split_at(cut);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    let (mut major_dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let text = if is_x(parts[0]) {
        major_dirty = true;
        format!("0.0.0{suffix}")
    } else if parts.len() < 2 || is_x(parts[1]) {
        minor_dirty = true;
        format!("{}.0.0{suffix}", parts[0])
    } else if parts.len() < 3 || is_x(parts[2]) {
        patch_dirty = true;
        format!("{}.{}.0{suffix}", parts[0], parts[1])
    } else {
        rest.to_string()
    };
    let con = Version::parse(&text).map_err(|_| bad())?;
    Ok(Single {
        op,
        con,
        major_dirty,
        minor_dirty,
        patch_dirty,
    })
}

fn check(c: &Single, v: &Version) -> bool {
    if !v.pre.is_empty() && c.con.pre.is_empty() {
        return false;
    }
    let dirty = c.major_dirty || c.minor_dirty || c.patch_dirty;
    let cmp = v.compare(&c.con);
    match c.op {
        Op::TildeOrEqual => {
            if dirty {
                tilde(c, v)
            } else {
                cmp == Ordering::Equal
            }
        }
        Op::Tilde => tilde(c, v),
        Op::NotEqual => {
            if c.major_dirty {
                return false;
            }
            if dirty {
                if c.con.major != v.major {
                    return true;
                }
                if c.minor_dirty {
                    return false;
                }
                if c.con.minor != v.minor {
                    return true;
                }
                // patch dirty
                return compare_pre(&v.pre, &c.con.pre) != Ordering::Equal
                    && !(v.pre.is_empty() && c.con.pre.is_empty());
            }
            cmp != Ordering::Equal
        }
        Op::Greater => {
            if !dirty {
                return cmp == Ordering::Greater;
            }
            if c.major_dirty {
                return false;
            }
            if v.major != c.con.major {
                return v.major > c.con.major;
            }
            if c.minor_dirty {
                return false;
            }
            v.minor > c.con.minor
        }
        Op::Less => cmp == Ordering::Less,
        Op::GreaterEqual => cmp != Ordering::Less,
        Op::LessEqual => {
            if !dirty {
                return cmp != Ordering::Greater;
            }
            if c.major_dirty {
                return true;
            }
            if v.major > c.con.major {
                return false;
            }
            !(v.major == c.con.major && v.minor > c.con.minor && !c.minor_dirty)
        }
        Op::Caret => {
            if c.major_dirty {
                return true;
            }
            if cmp == Ordering::Less {
                return false;
            }
            if c.con.major > 0 || c.minor_dirty {
                return v.major == c.con.major;
            }
            if v.major > 0 {
                return false;
            }
            if c.con.minor > 0 || c.patch_dirty {
                return v.minor == c.con.minor;
            }
            if v.minor > 0 {
                return false;
            }
            v.patch == c.con.patch
        }
    }
}

fn tilde(c: &Single, v: &Version) -> bool {
    if c.major_dirty {
        return true;
    }
    if v.compare(&c.con) == Ordering::Less {
        return false;
    }
    if c.con.major == 0 && c.con.minor == 0 && c.con.patch == 0 && !c.minor_dirty && !c.patch_dirty
    {
        return true;
    }
    if v.major != c.con.major {
        return false;
    }
    if v.minor != c.con.minor && !c.minor_dirty {
        return false;
    }
    true
}

/// Picks the highest version of `candidates` satisfying `constraint` (empty = any release),
/// the way Helm's `IndexFile.Get` does: an exact string match wins first; versions that do not
/// parse are skipped.
pub fn select<'a>(candidates: &[&'a str], constraint: &str) -> Result<Option<&'a str>, Error> {
    if !constraint.is_empty()
        && let Some(exact) = candidates.iter().find(|c| **c == constraint)
    {
        return Ok(Some(exact));
    }
    let con = Constraint::parse(if constraint.is_empty() {
        "*"
    } else {
        constraint
    })?;
    let mut best: Option<(Version, &'a str)> = None;
    for cand in candidates {
        let Ok(v) = Version::parse(cand) else {
            continue;
        };
        if !con.matches(&v) {
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|(b, _)| v.compare(b) == Ordering::Greater)
        {
            best = Some((v, cand));
        }
    }
    Ok(best.map(|(_, s)| s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(c: &str, v: &str) -> bool {
        Constraint::parse(c)
            .unwrap()
            .matches(&Version::parse(v).unwrap())
    }

    #[test]
    fn masterminds_table() {
        assert!(m("^1.2.3", "1.9.0"));
        assert!(!m("^1.2.3", "2.0.0"));
        assert!(m("^0.2.3", "0.2.9"));
        assert!(!m("^0.2.3", "0.3.0"));
        assert!(m("^0.0.3", "0.0.3"));
        assert!(!m("^0.0.3", "0.0.4"));
        assert!(m("~1.2.3", "1.2.9"));
        assert!(!m("~1.2.3", "1.3.0"));
        assert!(m("~1", "1.9.9"));
        assert!(m("1.2.x", "1.2.7"));
        assert!(!m("1.2.x", "1.3.0"));
        assert!(m("*", "5.0.0"));
        assert!(!m("*", "5.0.0-rc.1"));
        assert!(m(">=1.20.0-0", "1.30.0-rc.1"));
        assert!(m(">=1.2 <1.4", "1.3.5"));
        assert!(m(">=1.2, <1.4", "1.3.5"));
        assert!(m("1.2 - 1.4.5", "1.4.5"));
        assert!(!m("1.2 - 1.4.5", "1.4.6"));
        assert!(m("^1 || ^3", "3.1.0"));
        assert!(!m("^1 || ^3", "2.1.0"));
        assert!(m("!=1.2.3", "1.2.4"));
        assert!(!m("!=1.2.3", "1.2.3"));
        assert!(m(">1.x", "2.0.0"));
        assert!(!m(">1.x", "1.9.0"));
        assert!(m("<=1.x", "1.9.0"));
        assert!(m("v1.2.3", "1.2.3"));
        assert!(m("= 1.2.3", "1.2.3"));
        assert!(Constraint::parse("a(b").is_err());
    }

    #[test]
    fn select_highest() {
        let c = ["1.0.0", "1.2.0", "2.0.0-rc.1", "1.10.0", "bogus"];
        assert_eq!(select(&c, "").unwrap(), Some("1.10.0"));
        assert_eq!(select(&c, "~1.2").unwrap(), Some("1.2.0"));
        assert_eq!(select(&c, ">=2.0.0-0").unwrap(), Some("2.0.0-rc.1"));
        assert_eq!(select(&c, "3").unwrap(), None);
        assert_eq!(select(&c, "bogus").unwrap(), Some("bogus"));
    }
}
