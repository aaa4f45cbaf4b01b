//! Semantic versions and constraints as Masterminds/semver v3 reads them (the library behind
//! sprig's `semver` and `semverCompare`): a `v` prefix and partial versions are accepted,
//! constraints combine with `,`/spaces (and) and `||` (or), `x`/`*` wildcards, `~`, `^`,
//! hyphen ranges, and a pre-release version satisfies only constraints that name a
//! pre-release (hence the `>=1.19-0` idiom).

use std::cmp::Ordering;
use std::rc::Rc;

use super::{Pure, str_param, want};
use crate::value::{GoValue, Object};

pub(super) fn register(t: &mut Vec<(&'static str, Pure)>) {
    t.extend([
        (
            "semver",
            (|a: &[GoValue]| {
                want("semver", a, 1)?;
                let v = Version::parse(&str_param(a, 0)?)?;
                Ok(GoValue::Object(Rc::new(v)))
            }) as Pure,
        ),
        ("semverCompare", |a| {
            want("semverCompare", a, 2)?;
            let c = Constraints::parse(&str_param(a, 0)?)?;
            let v = Version::parse(&str_param(a, 1)?)?;
            Ok(GoValue::Bool(c.check(&v)))
        }),
    ]);
}

/// A parsed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// Patch number.
    pub patch: u64,
    /// Pre-release identifiers (after `-`), empty when none.
    pub pre: String,
    /// Build metadata (after `+`), empty when none.
    pub metadata: String,
    original: String,
}

const INVALID: &str = "invalid semantic version";

fn ident_ok(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

impl Version {
    /// Parses a version the lenient way (`v1.2`, `1`, `1.2.3-rc.1+build`).
    pub fn parse(text: &str) -> Result<Version, String> {
        let body = text.strip_prefix('v').unwrap_or(text);
        let (rest, metadata) = match body.split_once('+') {
            Some((r, m)) => (r, m),
            None => (body, ""),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, p),
            None => (rest, ""),
        };
        if (body.contains('+') && !ident_ok(metadata)) || (rest.contains('-') && !ident_ok(pre)) {
            return Err(INVALID.into());
        }
        // Numeric pre-release identifiers must not have leading zeros.
        if pre
            .split('.')
            .any(|p| p.len() > 1 && p.starts_with('0') && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err("invalid prerelease string".into());
        }
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return Err(INVALID.into());
        }
        let mut nums = [0u64; 3];
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(INVALID.into());
            }
            nums[i] = p.parse().map_err(|_| INVALID.to_string())?;
        }
        Ok(Version {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            pre: pre.to_string(),
            metadata: metadata.to_string(),
            original: text.to_string(),
        })
    }

    /// Precedence (metadata ignored).
    pub fn compare(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| compare_pre(&self.pre, &other.pre))
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (mut x, mut y) = (a.split('.'), b.split('.'));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let o = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    _ => p.cmp(q),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

fn version_arg(v: &GoValue) -> Result<Version, String> {
    match v {
        GoValue::Object(o) => o
            .as_any()
            .downcast_ref::<Version>()
            .cloned()
            .ok_or_else(|| {
                format!(
                    "wrong type for value; expected *semver.Version; got {}",
                    o.type_name()
                )
            }),
        GoValue::Str(s) => Version::parse(s),
        other => Err(format!(
            "wrong type for value; expected *semver.Version; got {}",
            other.type_name()
        )),
    }
}

impl Object for Version {
    fn type_name(&self) -> String {
        "*semver.Version".into()
    }

    fn member(&self, name: &str, args: &[GoValue]) -> Option<Result<GoValue, String>> {
        let other = || {
            args.first()
                .map(version_arg)
                .unwrap_or_else(|| Err("missing argument".into()))
        };
        Some(Ok(match name {
            "Major" => GoValue::Int(self.major as i64),
            "Minor" => GoValue::Int(self.minor as i64),
            "Patch" => GoValue::Int(self.patch as i64),
            "Prerelease" => GoValue::str(&self.pre),
            "Metadata" => GoValue::str(&self.metadata),
            "Original" => GoValue::str(&self.original),
            "String" => GoValue::from(self.to_string()),
            "Compare" => match other() {
                Ok(o) => GoValue::Int(self.compare(&o) as i64),
                Err(e) => return Some(Err(e)),
            },
            "LessThan" | "GreaterThan" | "Equal" | "LessThanEqual" | "GreaterThanEqual" => {
                match other() {
                    Ok(o) => {
                        let c = self.compare(&o);
                        GoValue::Bool(match name {
                            "LessThan" => c.is_lt(),
                            "GreaterThan" => c.is_gt(),
                            "Equal" => c.is_eq(),
                            "LessThanEqual" => c.is_le(),
                            _ => c.is_ge(),
                        })
                    }
                    Err(e) => return Some(Err(e)),
                }
            }
            _ => return None,
        }))
    }

    fn print(&self) -> String {
        self.to_string()
    }

    fn to_data(&self) -> GoValue {
        GoValue::from(self.to_string())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Constraint {
    op: Op,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// Constraints: OR groups of AND-ed comparisons.
#[derive(Debug, Clone)]
pub struct Constraints {
    groups: Vec<Vec<Constraint>>,
}

fn is_wild(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraint {
    fn parse(text: &str) -> Result<Constraint, String> {
        let improper = || format!("improper constraint: {text}");
        let t = text.trim();
        let ops = [
            ("!=", Op::Ne),
            (">=", Op::Ge),
            ("=>", Op::Ge),
            ("<=", Op::Le),
            ("=<", Op::Le),
            ("~>", Op::Tilde),
            (">", Op::Gt),
            ("<", Op::Lt),
            ("=", Op::Eq),
            ("~", Op::Tilde),
            ("^", Op::Caret),
        ];
        let (op, rest) = ops
            .iter()
            .find_map(|(p, op)| t.strip_prefix(p).map(|r| (*op, r)))
            .unwrap_or((Op::Eq, t));
        let ver = rest.trim();
        let body = ver.strip_prefix('v').unwrap_or(ver);
        // Split off pre-release/metadata, then look at the numeric parts for wildcards.
        let cut = body.find(['-', '+']).unwrap_or(body.len());
        let (core, tail) = body.split_at(cut);
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(improper());
        }
        let part = |i: usize| parts.get(i).copied().unwrap_or("");
        let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
        let normal = if is_wild(part(0)) {
            dirty = true;
            format!("0.0.0{tail}")
        } else if part(1).is_empty() || is_wild(part(1)) {
            dirty = true;
            minor_dirty = true;
            format!("{}.0.0{tail}", part(0))
        } else if part(2).is_empty() || is_wild(part(2)) {
            dirty = true;
            patch_dirty = true;
            format!("{}.{}.0{tail}", part(0), part(1))
        } else {
            body.to_string()
        };
        let con = Version::parse(&normal).map_err(|_| improper())?;
        Ok(Constraint {
            op,
            con,
            dirty,
            minor_dirty,
            patch_dirty,
        })
    }

    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        if !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        let cmp = v.compare(c);
        match self.op {
            Op::Eq if self.dirty => self.tilde(v),
            Op::Eq => cmp == Ordering::Equal,
            Op::Ne => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if self.minor_dirty {
                        return false;
                    }
                    if c.minor != v.minor {
                        return true;
                    }
                    if self.patch_dirty {
                        return false;
                    }
                }
                cmp != Ordering::Equal
            }
            Op::Gt => {
                if !self.dirty {
                    return cmp == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                cmp == Ordering::Greater
            }
            Op::Lt => cmp == Ordering::Less,
            Op::Ge => cmp != Ordering::Less,
            Op::Le => {
                if !self.dirty {
                    return cmp != Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major < c.major;
                }
                if self.minor_dirty {
                    return true;
                }
                if self.patch_dirty {
                    return v.minor <= c.minor;
                }
                cmp != Ordering::Greater
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

impl Constraints {
    /// Parses a constraint string.
    pub fn parse(text: &str) -> Result<Constraints, String> {
        let mut groups = Vec::new();
        for group in text.split("||") {
            let group = rewrite_range(group);
            // Tokens: operators may stand apart from their version (`>= 1.2`).
            let mut items: Vec<String> = Vec::new();
            let mut pending = String::new();
            for tok in group.split([',', ' ', '\t']).filter(|t| !t.is_empty()) {
                if tok.chars().all(|c| "=!<>~^".contains(c)) {
                    pending.push_str(tok);
                    continue;
                }
                items.push(format!("{pending}{tok}"));
                pending.clear();
            }
            if !pending.is_empty() || items.is_empty() {
                return Err(format!("improper constraint: {}", group.trim()));
            }
            groups.push(
                items
                    .iter()
                    .map(|s| Constraint::parse(s))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        Ok(Constraints { groups })
    }

    /// Whether `v` satisfies the constraints.
    pub fn check(&self, v: &Version) -> bool {
        self.groups.iter().any(|g| g.iter().all(|c| c.check(v)))
    }
}

/// `1.2 - 1.4.5` → `>= 1.2 <= 1.4.5`.
fn rewrite_range(group: &str) -> String {
    let toks: Vec<&str> = group.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if i + 2 < toks.len() && toks[i + 1] == "-" {
            out.push(format!(">={}", toks[i]));
            out.push(format!("<={}", toks[i + 2]));
            i += 3;
        } else {
            out.push(toks[i].to_string());
            i += 1;
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(c: &str, v: &str) -> bool {
        let c = Constraints::parse(c).unwrap_or_else(|e| panic!("{c}: {e}"));
        let v = Version::parse(v).unwrap_or_else(|e| panic!("{v}: {e}"));
        c.check(&v)
    }

    #[test]
    fn masterminds_constraints() {
        assert!(check(">=1.19-0", "v1.31.0"));
        assert!(check(">=1.19-0", "1.20.0-gke.100"));
        assert!(!check(">=1.19", "1.20.0-gke.100"));
        assert!(!check(">=3.0.0", "3.2.1-rc.1"));
        assert!(!check("!=2.14.3", "2.14.3-beta.2"));
        assert!(check("<1.19-0", "1.18.5"));
        assert!(!check("<1.19-0", "v1.31.0"));
        assert!(check(">= 1.2, < 3.0.0 || >= 4.2.3", "4.3.0"));
        assert!(!check(">= 1.2, < 3.0.0 || >= 4.2.3", "3.5.0"));
        assert!(check("~1.2.3", "1.2.9"));
        assert!(!check("~1.2.3", "1.3.0"));
        assert!(check("^1.2.3", "1.9.0"));
        assert!(!check("^1.2.3", "2.0.0"));
        assert!(check("^0.2.3", "0.2.9"));
        assert!(!check("^0.2.3", "0.3.0"));
        assert!(check("1.2.x", "1.2.7"));
        assert!(check("*", "4.0.0"));
        assert!(check("1.2 - 1.4.5", "1.4.0"));
        assert!(!check("1.2 - 1.4.5", "1.4.6"));
        assert!(check(">1.2", "1.3.0"));
        assert!(!check(">1.2", "1.2.9"));
        assert!(check("<v3.9.0", "v3.8.1"));
        assert!(Version::parse("1.2.3.4").is_err());
        assert!(Version::parse("x").is_err());
    }

    #[test]
    fn version_object_methods() {
        let v = Version::parse("v1.31.2-rc.1+b").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            v.member("Minor", &[])
                .and_then(Result::ok)
                .map(|m| m.sprint())
                .as_deref(),
            Some("31")
        );
        assert_eq!(v.print(), "1.31.2-rc.1+b");
        let cmp = v.member("Compare", &[GoValue::str("1.31.2")]);
        assert_eq!(
            cmp.and_then(Result::ok).map(|m| m.sprint()).as_deref(),
            Some("-1")
        );
    }
}
