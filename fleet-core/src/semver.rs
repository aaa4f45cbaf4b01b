//! Semantic versions and version constraints as Masterminds/semver v3.5 reads them: the
//! dialect of Helm's chart versions (`version:` in fleet.yaml, repository index and OCI tag
//! selection, `kubeVersion`) and of sprig's `semver` and `semverCompare` template functions.
//!
//! Versions are read leniently (Masterminds `NewVersion`): a `v` prefix, missing minor and
//! patch numbers (read as 0) and leading zeros in them are accepted; a prerelease follows `-`
//! and build metadata follows `+` (ignored when comparing).
//!
//! Constraints (Masterminds `NewConstraint`): groups separated by `||` are ORed; inside a
//! group, constraints separated by spaces or commas are ANDed; operators are `=`, `!=`, `>`,
//! `<`, `>=`, `=>`, `<=`, `=<`, `~`, `~>`, `^` (none means `=`), may stand apart from their
//! version (`>= 1.2`), and `x`, `X`, `*` are wildcards in any position; `1.2 - 1.4.5` is the
//! range `>= 1.2, <= 1.4.5`. A version with a prerelease satisfies a group only when some
//! constraint of that group carries a prerelease (the numbers need not match, so
//! `>=1.20.0-0` accepts `1.30.0-rc.1`: the `-0` idiom).
//!
//! Error texts are Masterminds' own (`improper constraint: ">= bar"`, `invalid semantic
//! version`), since Helm templates surface them verbatim; each error also carries the input
//! it was given.
//!
//! ```
//! use fleet_core::semver::{Constraints, Version, select};
//!
//! let constraints = Constraints::parse(">=1.20.0-0, <2").unwrap();
//! assert!(constraints.check(&Version::parse("v1.31.0-eks.1").unwrap()));
//! assert!(!constraints.check(&Version::parse("2.0.0").unwrap()));
//! assert_eq!(select(&["1.0.0", "1.2.0", "2.0.0"], "~1").unwrap(), Some("1.2.0"));
//! assert_eq!(
//!     Constraints::parse(">= bar").unwrap_err().to_string(),
//!     r#"improper constraint: ">= bar""#
//! );
//! ```

use std::cmp::Ordering;
use std::fmt;

use crate::gostr::quote;

/// Why a version or a constraint does not parse. The messages are Masterminds' own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The version does not have the shape of a (lenient) semantic version.
    #[error("invalid semantic version")]
    InvalidVersion {
        /// The text given.
        version: String,
    },
    /// A number of the version does not fit 64 bits.
    #[error(
        "error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
        quote(segment)
    )]
    SegmentOutOfRange {
        /// The text given.
        version: String,
        /// The number.
        segment: String,
    },
    /// A numeric prerelease identifier has a leading zero (`1.2.3-01`).
    #[error("version segment starts with 0")]
    SegmentStartsZero {
        /// The text given.
        version: String,
    },
    /// An OR group of the constraint is not a list of `operator version`.
    #[error("improper constraint: {}", quote(group))]
    ImproperConstraint {
        /// The whole constraint.
        constraint: String,
        /// The group (after hyphen ranges were rewritten), as Masterminds reports it.
        group: String,
    },
    /// A constraint has the right shape but its version does not parse (`1.2.3x`, a number
    /// beyond 64 bits, a stray `|`).
    #[error("constraint parser error")]
    ConstraintParser {
        /// The whole constraint.
        constraint: String,
    },
}

/// A semantic version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

/// Go's regexp `\s`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r')
}

/// A prerelease or metadata identifier character.
fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Length of the run at the start of `s` whose bytes satisfy `f`.
fn run(s: &[u8], f: impl Fn(u8) -> bool) -> usize {
    s.iter().take_while(|&&b| f(b)).count()
}

/// Length of `sep ident(.ident)*` at the start of `s`, 0 when absent.
fn dotted_idents(s: &[u8], sep: u8) -> usize {
    if s.first() != Some(&sep) {
        return 0;
    }
    let first = run(&s[1..], is_ident);
    if first == 0 {
        return 0;
    }
    let mut end = 1 + first;
    while s.get(end) == Some(&b'.') {
        let n = run(&s[end + 1..], is_ident);
        if n == 0 {
            break;
        }
        end += 1 + n;
    }
    end
}

/// Length of `.part` at the start of `s` where part is a non-empty run of `f`, 0 when absent.
fn dotted_part(s: &[u8], f: impl Fn(u8) -> bool) -> usize {
    if s.first() != Some(&b'.') {
        return 0;
    }
    match run(&s[1..], f) {
        0 => 0,
        n => n + 1,
    }
}

/// The pieces of a version-shaped text: `v? major (.minor)? (.patch)? (-pre)? (+meta)?`, where
/// the number pieces are runs of `num` bytes. Byte offsets into the text.
struct Shape {
    /// Where the major number starts (after `v`).
    major: (usize, usize),
    /// `.minor` including the dot, empty when absent.
    minor: (usize, usize),
    /// `.patch` including the dot, empty when absent.
    patch: (usize, usize),
    /// `-pre` including the dash, empty when absent.
    pre: (usize, usize),
    /// `+meta` including the plus, empty when absent.
    meta: (usize, usize),
}

impl Shape {
    /// Reads the longest version shape at the start of `s`; `None` if there is no major number.
    fn read(s: &[u8], num: impl Fn(u8) -> bool + Copy) -> Option<Shape> {
        let start = usize::from(s.first() == Some(&b'v'));
        let major_len = run(&s[start..], num);
        if major_len == 0 {
            return None;
        }
        let major = (start, start + major_len);
        let minor = (major.1, major.1 + dotted_part(&s[major.1..], num));
        let patch = (minor.1, minor.1 + dotted_part(&s[minor.1..], num));
        let pre = (patch.1, patch.1 + dotted_idents(&s[patch.1..], b'-'));
        let meta = (pre.1, pre.1 + dotted_idents(&s[pre.1..], b'+'));
        Some(Shape {
            major,
            minor,
            patch,
            pre,
            meta,
        })
    }

    fn end(&self) -> usize {
        self.meta.1
    }
}

impl Version {
    /// Parses a version leniently (Masterminds `NewVersion`): `v1.2`, `1`, `01.2.3`,
    /// `1.2.3-rc.1+build`.
    pub fn parse(text: &str) -> Result<Version, Error> {
        let b = text.as_bytes();
        let shape = Shape::read(b, |c| c.is_ascii_digit())
            .filter(|s| s.end() == b.len())
            .ok_or_else(|| Error::InvalidVersion {
                version: text.to_string(),
            })?;
        let piece = |(a, z): (usize, usize)| &text[a..z];
        let number = |digits: &str| -> Result<u64, Error> {
            if digits.is_empty() {
                return Ok(0);
            }
            digits.parse().map_err(|_| Error::SegmentOutOfRange {
                version: text.to_string(),
                segment: digits.to_string(),
            })
        };
        let major = number(piece(shape.major))?;
        let minor = number(piece(shape.minor).get(1..).unwrap_or_default())?;
        let patch = number(piece(shape.patch).get(1..).unwrap_or_default())?;
        let pre = piece(shape.pre).get(1..).unwrap_or_default();
        // A numeric prerelease identifier may not have a leading zero, though the numbers may.
        if pre
            .split('.')
            .any(|p| p.len() > 1 && p.starts_with('0') && p.bytes().all(|c| c.is_ascii_digit()))
        {
            return Err(Error::SegmentStartsZero {
                version: text.to_string(),
            });
        }
        Ok(Version {
            major,
            minor,
            patch,
            pre: pre.to_string(),
            metadata: piece(shape.meta).get(1..).unwrap_or_default().to_string(),
            original: text.to_string(),
        })
    }

    /// The major number.
    pub fn major(&self) -> u64 {
        self.major
    }

    /// The minor number.
    pub fn minor(&self) -> u64 {
        self.minor
    }

    /// The patch number.
    pub fn patch(&self) -> u64 {
        self.patch
    }

    /// The prerelease (after `-`), empty when none.
    pub fn prerelease(&self) -> &str {
        &self.pre
    }

    /// The build metadata (after `+`), empty when none.
    pub fn metadata(&self) -> &str {
        &self.metadata
    }

    /// The text the version was parsed from.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// Precedence (Masterminds `Compare`): the numbers, then the prerelease, a release sorting
    /// above its prereleases; metadata is ignored.
    pub fn compare(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &other.pre),
            })
    }
}

/// Prereleases compared identifier by identifier; a missing identifier sorts first.
fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.split('.'), b.split('.'));
    loop {
        let (p, q) = match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (p, q) => (p.unwrap_or(""), q.unwrap_or("")),
        };
        let ord = compare_identifier(p, q);
        if ord != Ordering::Equal {
            return ord;
        }
    }
}

/// One prerelease identifier against another: numbers (that fit 64 bits) numerically and
/// below words, words bytewise, an empty identifier below anything.
fn compare_identifier(p: &str, q: &str) -> Ordering {
    if p == q {
        return Ordering::Equal;
    }
    if p.is_empty() {
        return Ordering::Less;
    }
    if q.is_empty() {
        return Ordering::Greater;
    }
    let numeric = |s: &str| {
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (numeric(p), numeric(q)) {
        (Some(m), Some(n)) => {
            if m > n {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => p.cmp(q),
    }
}

impl fmt::Display for Version {
    /// `major.minor.patch[-pre][+metadata]`, without a `v` prefix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `=` or none: equality, or a tilde range when the version has a wildcard.
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

impl Op {
    fn parse(text: &[u8]) -> Option<Op> {
        Some(match text {
            b"" | b"=" => Op::TildeOrEqual,
            b"!=" => Op::NotEqual,
            b">" => Op::Greater,
            b"<" => Op::Less,
            b">=" | b"=>" => Op::GreaterEqual,
            b"<=" | b"=<" => Op::LessEqual,
            b"~" | b"~>" => Op::Tilde,
            b"^" => Op::Caret,
            _ => return None,
        })
    }
}

/// One comparison of a group.
#[derive(Debug, Clone)]
struct Constraint {
    op: Op,
    con: Version,
    /// A wildcard somewhere (`*`, `1.x`, `1.2`, …).
    dirty: bool,
    /// The minor number (and so the patch) is a wildcard or missing.
    minor_dirty: bool,
    /// The patch number is a wildcard or missing.
    patch_dirty: bool,
}

/// A parsed constraint expression: OR groups of ANDed comparisons.
#[derive(Debug, Clone)]
pub struct Constraints {
    /// Each group with whether one of its comparisons names a prerelease.
    groups: Vec<(Vec<Constraint>, bool)>,
    text: String,
}

/// The characters a constraint's version numbers may be made of. `|` among them is
/// Masterminds' (its pattern lists `|` inside a character class); a stray one reaches the
/// version parser and fails there.
fn is_wild_num(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'x' | b'X' | b'*' | b'|')
}

fn is_op_char(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'<' | b'>' | b'~' | b'^')
}

fn is_wildcard(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

/// Rewrites each hyphen range `A - B` of `text` into `>= A, <= B ` the way Masterminds does:
/// every match (with the spaces around it) is found first, then each replaces the first
/// occurrence of its text.
fn rewrite_ranges(text: &str) -> String {
    let b = text.as_bytes();
    let mut found: Vec<(usize, usize, String)> = Vec::new();
    let mut start = 0;
    while start < b.len() {
        match range_at(b, start) {
            Some((end, low, high)) => {
                found.push((
                    start,
                    end,
                    format!(">= {}, <= {} ", &text[low.0..low.1], &text[high.0..high.1]),
                ));
                start = end;
            }
            None => start += 1,
        }
    }
    let mut out = text.to_string();
    for (a, z, replacement) in found {
        out = out.replacen(&text[a..z], &replacement, 1);
    }
    out
}

/// A hyphen range `\s* A \s+ - \s+ B \s*` starting exactly at `i`: its end and the spans of
/// both versions.
#[allow(clippy::type_complexity)]
fn range_at(b: &[u8], i: usize) -> Option<(usize, (usize, usize), (usize, usize))> {
    let a0 = i + run(&b[i..], is_space);
    let low = Shape::read(&b[a0..], is_wild_num)?;
    let a1 = a0 + low.end();
    let sp = run(&b[a1..], is_space);
    if sp == 0 || b.get(a1 + sp) != Some(&b'-') {
        return None;
    }
    let d = a1 + sp + 1;
    let sp = run(&b[d..], is_space);
    if sp == 0 {
        return None;
    }
    let h0 = d + sp;
    let high = Shape::read(&b[h0..], is_wild_num)?;
    let h1 = h0 + high.end();
    let end = h1 + run(&b[h1..], is_space);
    Some((end, (a0, a1), (h0, h1)))
}

impl Constraint {
    /// Reads `op version` from an OR group, whose grammar has already been checked.
    fn build(op: Op, text: &str, shape: &Shape, whole: &str) -> Result<Constraint, Error> {
        let piece = |(a, z): (usize, usize)| &text[a..z];
        let major = piece(shape.major);
        let minor = piece(shape.minor);
        let patch = piece(shape.patch);
        let pre = piece(shape.pre);
        let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
        let normal = if is_wildcard(major) {
            dirty = true;
            format!("0.0.0{pre}")
        } else if minor.is_empty() || is_wildcard(&minor[1..]) {
            (dirty, minor_dirty) = (true, true);
            format!("{major}.0.0{pre}")
        } else if patch.is_empty() || is_wildcard(&patch[1..]) {
            (dirty, patch_dirty) = (true, true);
            format!("{major}{minor}.0{pre}")
        } else {
            text.to_string()
        };
        let con = Version::parse(&normal).map_err(|_| Error::ConstraintParser {
            constraint: whole.to_string(),
        })?;
        Ok(Constraint {
            op,
            con,
            dirty,
            minor_dirty,
            patch_dirty,
        })
    }

    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.con;
        let cmp = v.compare(c);
        match self.op {
            Op::TildeOrEqual if self.dirty => self.tilde(v),
            Op::TildeOrEqual => cmp == Ordering::Equal,
            Op::NotEqual => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    }
                    if self.minor_dirty {
                        return false;
                    }
                    if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    }
                    if self.patch_dirty {
                        return (!v.pre.is_empty() || !c.pre.is_empty())
                            && compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                    }
                }
                cmp != Ordering::Equal
            }
            Op::Greater => {
                if !self.dirty {
                    return cmp == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    // `>11` is not met by 11.1.0: it takes 12 or higher.
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                cmp == Ordering::Greater
            }
            Op::Less => cmp == Ordering::Less,
            Op::GreaterEqual => cmp != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    return cmp != Ordering::Greater;
                }
                if v.major > c.major {
                    return false;
                }
                !(v.major == c.major && v.minor > c.minor && !self.minor_dirty)
            }
            Op::Tilde => self.tilde(v),
            Op::Caret => {
                if cmp == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                v.patch == c.patch
            }
        }
    }

    /// `~1.2.3` is `>=1.2.3 <1.3.0`, `~1` is `>=1.0.0 <2.0.0`, `~0.0.0` (and `~*`) is anything.
    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

/// Reads one OR group: `\s* op \s* version \s*` items separated by whitespace or a comma.
/// `None` when the group does not have that shape.
fn parse_group(group: &str, whole: &str) -> Option<Result<Vec<Constraint>, Error>> {
    let b = group.as_bytes();
    let mut i = run(b, is_space);
    let mut out = Vec::new();
    loop {
        let op_len = run(&b[i..], is_op_char);
        let op = Op::parse(&b[i..i + op_len])?;
        i += op_len;
        i += run(&b[i..], is_space);
        let shape = Shape::read(&b[i..], is_wild_num)?;
        let text = &group[i..i + shape.end()];
        i += shape.end();
        out.push(Constraint::build(op, text, &shape, whole));
        let spaces = run(&b[i..], is_space);
        i += spaces;
        match b.get(i) {
            None => break,
            Some(b',') => {
                i += 1;
                i += run(&b[i..], is_space);
            }
            Some(_) if spaces > 0 => {}
            Some(_) => return None,
        }
    }
    Some(out.into_iter().collect())
}

impl Constraints {
    /// Parses a constraint expression (Masterminds `NewConstraint`). An empty text is not a
    /// constraint (callers that mean "any" pass `*`).
    pub fn parse(text: &str) -> Result<Constraints, Error> {
        let rewritten = rewrite_ranges(text);
        let mut groups = Vec::new();
        for group in rewritten.split("||") {
            let constraints =
                parse_group(group, text).ok_or_else(|| Error::ImproperConstraint {
                    constraint: text.to_string(),
                    group: group.to_string(),
                })??;
            let has_pre = constraints.iter().any(|c| !c.con.pre.is_empty());
            groups.push((constraints, has_pre));
        }
        Ok(Constraints {
            groups,
            text: text.to_string(),
        })
    }

    /// Whether `v` satisfies the constraints (Masterminds `Check`).
    pub fn check(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .any(|(group, has_pre)| group.iter().all(|c| c.check(v, *has_pre)))
    }
}

impl fmt::Display for Constraints {
    /// The text the constraints were parsed from.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Picks the version of `candidates` for `constraint` the way Helm picks a chart version from
/// a repository index or OCI tags: a candidate equal to the constraint text wins; otherwise
/// the highest candidate satisfying the constraint (an empty constraint meaning `*`, any
/// release). Candidates that are not versions are skipped; among equal versions the first
/// wins.
pub fn select<'a>(candidates: &[&'a str], constraint: &str) -> Result<Option<&'a str>, Error> {
    if !constraint.is_empty()
        && let Some(exact) = candidates.iter().find(|c| **c == constraint)
    {
        return Ok(Some(exact));
    }
    let constraints = Constraints::parse(if constraint.is_empty() {
        "*"
    } else {
        constraint
    })?;
    let mut best: Option<(Version, &'a str)> = None;
    for candidate in candidates {
        let Ok(v) = Version::parse(candidate) else {
            continue;
        };
        if !constraints.check(&v) {
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|(b, _)| v.compare(b) == Ordering::Greater)
        {
            best = Some((v, candidate));
        }
    }
    Ok(best.map(|(_, s)| s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(c: &str, v: &str) -> bool {
        let c = Constraints::parse(c).unwrap_or_else(|e| panic!("{c}: {e}"));
        let v = Version::parse(v).unwrap_or_else(|e| panic!("{v}: {e}"));
        c.check(&v)
    }

    fn version_error(v: &str) -> String {
        Version::parse(v)
            .map(|v| v.to_string())
            .unwrap_or_else(|e| e.to_string())
    }

    fn constraint_error(c: &str) -> String {
        Constraints::parse(c)
            .map(|c| format!("ok {} groups", c.groups.len()))
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn versions_parse_leniently() {
        let v = Version::parse("v1.31.2-rc.1+b.2").unwrap();
        assert_eq!((v.major(), v.minor(), v.patch()), (1, 31, 2));
        assert_eq!((v.prerelease(), v.metadata()), ("rc.1", "b.2"));
        assert_eq!(v.original(), "v1.31.2-rc.1+b.2");
        assert_eq!(v.to_string(), "1.31.2-rc.1+b.2");
        assert_eq!(version_error("1"), "1.0.0");
        assert_eq!(version_error("01.002"), "1.2.0");
        assert_eq!(version_error("1-2.3"), "1.0.0-2.3");
        assert_eq!(version_error("1.2.3-0abc"), "1.2.3-0abc");
        for bad in [
            "",
            "v",
            "x",
            "1.2.3.4",
            "1.2.",
            "1.-1",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-a..b",
            "V1",
            " 1",
        ] {
            assert_eq!(version_error(bad), "invalid semantic version", "{bad:?}");
        }
        assert_eq!(version_error("1.2.3-01"), "version segment starts with 0");
        assert_eq!(
            version_error("1.99999999999999999999"),
            r#"error parsing version segment: strconv.ParseUint: parsing "99999999999999999999": value out of range"#
        );
    }

    #[test]
    fn precedence() {
        let ord = |a: &str, b: &str| {
            Version::parse(a)
                .unwrap()
                .compare(&Version::parse(b).unwrap())
        };
        assert_eq!(ord("1.2.3", "1.2.3+build"), Ordering::Equal);
        assert_eq!(ord("1.2.3", "1.2.3-rc.1"), Ordering::Greater);
        assert_eq!(ord("1.2.3-alpha", "1.2.3-alpha.1"), Ordering::Less);
        assert_eq!(ord("1.2.3-alpha.2", "1.2.3-alpha.10"), Ordering::Less);
        assert_eq!(ord("1.2.3-2", "1.2.3-alpha"), Ordering::Less);
        assert_eq!(ord("1.2.3-beta", "1.2.3-alpha.9"), Ordering::Greater);
        // A number beyond 64 bits is compared as a word.
        assert_eq!(
            ord("1.0.0-99999999999999999999", "1.0.0-5"),
            Ordering::Greater
        );
        assert_eq!(ord("1.10.0", "1.9.0"), Ordering::Greater);
    }

    /// Cases from Masterminds' constraint tables (v3.5), one group at a time.
    #[test]
    fn single_constraints() {
        for (c, v, want) in [
            ("=2.0", "2.0.1", true),
            ("!=4.1", "4.1.1", false),
            ("!=4.1", "5.1.0-alpha.1", false),
            ("!=4.1-alpha", "4.1.0", true),
            ("!=4.1-alpha", "4.1.0-alpha", false),
            ("!=4.1-alpha", "4.1.1-alpha", false),
            ("!=4.x", "4.1.0", false),
            ("!=4.1.x", "4.2.0", true),
            ("!=4.2.x", "4.2.3", false),
            ("<=11", "11.2.3", true),
            ("<=1.1", "1.2.3", false),
            ("<=1.1", "1.1.1", true),
            (">0", "0", false),
            (">0-0", "0.0.1-alpha", false),
            (">0.0.0-0", "0.0.0-alpha", true),
            (">1.2.3-alpha.1", "1.3.3-alpha.2", true),
            (">11", "11.1.0", false),
            (">11.1", "11.1.1", false),
            (">11.1", "11.2.1", true),
            (">=0-0", "0.0.1-alpha", true),
            (">=0", "0.0.0-alpha", false),
            ("<0-z", "0.0.0-alpha", true),
            ("*", "1.2.3-alpha.1", false),
            ("*-0", "1.2.3-alpha.1", true),
            ("2.*", "2.1.1", true),
            ("2.1.*", "2.2.1", false),
            ("2", "3.4.5", false),
            ("~1.2.3-beta.2", "1.2.4-beta.2", true),
            ("~1.2.3-beta.2", "1.3.4-beta.2", false),
            ("~0.0.0", "1.2.3", true),
            ("^1.2.0", "1.2.1-alpha.1", false),
            ("^1.2.0-alpha.0", "1.2.1-alpha.1", true),
            ("^1.2.0-alpha.2", "1.2.0-alpha.1", false),
            ("^0.0", "0.0.3", true),
            ("^0.0", "0.1.4", false),
            ("^0", "0.2.3", true),
            ("^0", "1.1.4", false),
            ("^0.0.3", "0.0.4", false),
            ("^0.0.0", "1.2.3", false),
            ("<1.x", "1.1.1", false),
            ("<1.1.x", "1.0.500", true),
            ("<=1.x", "1.9.0", true),
            (">1.x", "2.0.0", true),
            ("1.x", "1.4", true),
            ("<v3.9.0", "v3.8.1", true),
            ("= 2.0", "2.0.0", true),
            (">= 1.2", "1.2.0", true),
            ("=< 1.2", "1.2.0", true),
            ("=> 1.2", "1.2.0", true),
            ("~> 1.2", "1.2.9", true),
        ] {
            assert_eq!(check(c, v), want, "{c} {v}");
        }
    }

    #[test]
    fn groups_and_ranges() {
        assert!(check(">=1.19-0", "1.20.0-gke.100"));
        assert!(!check(">=1.19", "1.20.0-gke.100"));
        assert!(check(">= 1.2, < 3.0.0 || >= 4.2.3", "4.3.0"));
        assert!(!check(">= 1.2, < 3.0.0 || >= 4.2.3", "3.5.0"));
        assert!(check(">=1.2 <1.4", "1.3.5"));
        assert!(check(">=1.2,<1.4", "1.3.5"));
        assert!(check("1.x , <1.4", "1.3.5"));
        assert!(!check("1.2 , 1.x", "1.3.5"));
        assert!(check("1.2 - 1.4.5", "1.4.5"));
        assert!(!check("1.2 - 1.4.5", "1.4.6"));
        assert!(check("1.0.0 - 2.0.0, <=2.0.0", "2.0.0"));
        assert!(check("3 - 4 || => 3.0, < 4", "4.9.0"));
        assert!(check("^1 || ^3", "3.1.0"));
        assert!(!check("^1 || ^3", "2.1.0"));
        // One prerelease in a group lets prereleases through every comparison of the group.
        assert!(check(">=1.19-0 <2", "1.20.0-rc.1"));
        assert!(!check(">=1.19 <2 || >=3-0", "1.20.0-rc.1"));
        assert_eq!(constraint_error("12.3.34 ~1.2.3"), "ok 1 groups");
        assert_eq!(
            constraint_error(">= 1.2.3 < 2.0 || => 3.0 < 4"),
            "ok 2 groups"
        );
    }

    #[test]
    fn constraint_errors_are_masterminds_texts() {
        for (c, want) in [
            (">= bar", r#"improper constraint: ">= bar""#),
            ("BAR >= 1.2.3", r#"improper constraint: "BAR >= 1.2.3""#),
            ("", r#"improper constraint: """#),
            ("1.2 ||", r#"improper constraint: """#),
            ("1.2 || ", r#"improper constraint: " ""#),
            ("12.3.4.1234", r#"improper constraint: "12.3.4.1234""#),
            ("12.3.34~ 1.2.3", r#"improper constraint: "12.3.34~ 1.2.3""#),
            ("> =1", r#"improper constraint: "> =1""#),
            ("1.2,", r#"improper constraint: "1.2,""#),
            ("1.2>1", r#"improper constraint: "1.2>1""#),
            ("a(b", r#"improper constraint: "a(b""#),
            // The group is reported after hyphen ranges were rewritten.
            ("1 - 2 foo", r#"improper constraint: ">= 1, <= 2 foo""#),
            ("v1.2.3-beta.01", "constraint parser error"),
            ("1.2.3x", "constraint parser error"),
            ("1 | 2", "constraint parser error"),
            ("99999999999999999999", "constraint parser error"),
        ] {
            assert_eq!(constraint_error(c), want, "{c:?}");
        }
        let err = Constraints::parse("x||>= bar").unwrap_err();
        assert_eq!(
            err,
            Error::ImproperConstraint {
                constraint: "x||>= bar".into(),
                group: ">= bar".into()
            }
        );
    }

    #[test]
    fn select_like_helm() {
        let c = ["1.0.0", "1.2.0", "2.0.0-rc.1", "1.10.0", "bogus"];
        assert_eq!(select(&c, "").unwrap(), Some("1.10.0"));
        assert_eq!(select(&c, "~1.2").unwrap(), Some("1.2.0"));
        assert_eq!(select(&c, ">=2.0.0-0").unwrap(), Some("2.0.0-rc.1"));
        assert_eq!(select(&c, "3").unwrap(), None);
        assert_eq!(select(&c, "bogus").unwrap(), Some("bogus"));
        assert!(select(&c, "nope").is_err());
        assert_eq!(Constraints::parse(" ^1 ").unwrap().to_string(), " ^1 ");
    }
}
