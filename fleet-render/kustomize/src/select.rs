//! Patch targets: anchored regexes on group/version/kind/name/namespace and label or
//! annotation selectors.

use fleet_core::selector::{Labels, Selector as LabelSelector};
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
    labels: Option<LabelSelector>,
    annotations: Option<LabelSelector>,
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

/// Parses a label or annotation selector as kustomize does, with apimachinery's
/// `labels.Parse` (`fleet_core::selector`).
fn parse_selector(text: &str) -> Result<LabelSelector, String> {
    LabelSelector::parse(text).map_err(|e| e.to_string())
}

/// A `metadata.labels` or `metadata.annotations` JSON map as a label set.
struct JsonLabels<'v>(Option<&'v Value>);

impl Labels for JsonLabels<'_> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.0?.get(key)?.as_str()
    }
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
                t => Some(parse_selector(t)?),
            },
            annotations: match s("annotationSelector") {
                "" => None,
                t => Some(parse_selector(t)?),
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
        if let Some(selector) = &self.labels
            && !selector.matches(&JsonLabels(r.obj.pointer("/metadata/labels")))
        {
            return false;
        }
        if let Some(selector) = &self.annotations
            && !selector.matches(&JsonLabels(r.obj.pointer("/metadata/annotations")))
        {
            return false;
        }
        true
    }
}
