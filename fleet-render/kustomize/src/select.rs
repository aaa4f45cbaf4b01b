//! Patch targets: anchored regexes on group/version/kind/name/namespace and label or
//! annotation selectors.

use regex::Regex;
use serde_json::Value;

use super::res::Res;

/// An anchored pattern: plain text is compared directly, anything else is a regex.
pub(crate) enum Pattern {
    Literal(String),
    Regex(Regex),
}

impl Pattern {
    fn is_match(&self, text: &str) -> bool {
        match self {
            Pattern::Literal(l) => l == text,
            Pattern::Regex(r) => r.is_match(text),
        }
    }
}

/// A compiled `target:` selector.
pub(crate) struct Selector {
    group: Option<Pattern>,
    version: Option<Pattern>,
    kind: Option<Pattern>,
    name: Option<Pattern>,
    namespace: Option<Pattern>,
    labels: Option<Vec<Requirement>>,
    annotations: Option<Vec<Requirement>>,
}

#[derive(Debug)]
enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

fn anchored(pattern: &str) -> Result<Option<Pattern>, String> {
    if pattern.is_empty() {
        return Ok(None);
    }
    // Without regex metacharacters the anchored regex matches exactly the text itself.
    if pattern
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | ':'))
    {
        return Ok(Some(Pattern::Literal(pattern.to_string())));
    }
    Regex::new(&format!("^(?:{pattern})$"))
        .map(|r| Some(Pattern::Regex(r)))
        .map_err(|e| format!("invalid regular expression {pattern:?}: {e}"))
}

/// Parses a Kubernetes label selector string (`a=b,c!=d,e in (x,y),!f,g`).
fn parse_requirements(text: &str) -> Result<Vec<Requirement>, String> {
    let mut out = Vec::new();
    // Split on commas outside parentheses.
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in text.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c);
            }
            ')' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    for part in parts {
        let p = part.trim();
        if p.is_empty() {
            continue;
        }
        let set = |rest: &str| -> Result<Vec<String>, String> {
            let rest = rest.trim();
            let inner = rest
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| format!("invalid selector requirement {p:?}"))?;
            Ok(inner.split(',').map(|s| s.trim().to_string()).collect())
        };
        if let Some(key) = p.strip_prefix('!') {
            out.push(Requirement::NotExists(key.trim().to_string()));
        } else if let Some((k, v)) = p.split_once("!=") {
            out.push(Requirement::NotEq(k.trim().into(), v.trim().into()));
        } else if let Some((k, v)) = p.split_once("==") {
            out.push(Requirement::Eq(k.trim().into(), v.trim().into()));
        } else if let Some((k, v)) = p.split_once('=') {
            out.push(Requirement::Eq(k.trim().into(), v.trim().into()));
        } else if let Some((k, v)) = p.split_once(" notin ") {
            out.push(Requirement::NotIn(k.trim().into(), set(v)?));
        } else if let Some((k, v)) = p.split_once(" in ") {
            out.push(Requirement::In(k.trim().into(), set(v)?));
        } else if p
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        {
            out.push(Requirement::Exists(p.to_string()));
        } else {
            return Err(format!("invalid selector requirement {p:?}"));
        }
    }
    Ok(out)
}

fn matches_requirements(reqs: &[Requirement], map: Option<&Value>) -> bool {
    let get = |k: &str| map.and_then(|m| m.get(k)).and_then(Value::as_str);
    reqs.iter().all(|r| match r {
        Requirement::Eq(k, v) => get(k) == Some(v.as_str()),
        Requirement::NotEq(k, v) => get(k) != Some(v.as_str()),
        Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
        Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
        Requirement::Exists(k) => get(k).is_some(),
        Requirement::NotExists(k) => get(k).is_none(),
    })
}

impl Selector {
    /// Compiles a `target:` map.
    pub fn parse(target: &Value) -> Result<Selector, String> {
        let Value::Object(m) = target else {
            return Err("target must be a map".into());
        };
        for key in m.keys() {
            if ![
                "group",
                "version",
                "kind",
                "name",
                "namespace",
                "labelSelector",
                "annotationSelector",
            ]
            .contains(&key.as_str())
            {
                return Err(format!("unknown field \"{key}\" in target"));
            }
        }
        let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
        Ok(Selector {
            group: anchored(s("group"))?,
            version: anchored(s("version"))?,
            kind: anchored(s("kind"))?,
            name: anchored(s("name"))?,
            namespace: anchored(s("namespace"))?,
            labels: match s("labelSelector") {
                "" => None,
                t => Some(parse_requirements(t)?),
            },
            annotations: match s("annotationSelector") {
                "" => None,
                t => Some(parse_requirements(t)?),
            },
        })
    }

    /// Whether `r` is selected. Names and namespaces match the current one or an earlier one.
    pub fn matches(&self, r: &Res) -> bool {
        let ok = |re: &Option<Pattern>, v: &str| re.as_ref().is_none_or(|re| re.is_match(v));
        if !ok(&self.group, r.group())
            || !ok(&self.version, r.version())
            || !ok(&self.kind, r.kind())
        {
            return false;
        }
        if let Some(re) = &self.name
            && !(re.is_match(r.name()) || r.prev_names.iter().any(|n| re.is_match(n)))
        {
            return false;
        }
        if let Some(re) = &self.namespace
            && !(re.is_match(r.namespace()) || r.prev_namespaces.iter().any(|n| re.is_match(n)))
        {
            return false;
        }
        if let Some(reqs) = &self.labels
            && !matches_requirements(reqs, r.obj.pointer("/metadata/labels"))
        {
            return false;
        }
        if let Some(reqs) = &self.annotations
            && !matches_requirements(reqs, r.obj.pointer("/metadata/annotations"))
        {
            return false;
        }
        true
    }
}
