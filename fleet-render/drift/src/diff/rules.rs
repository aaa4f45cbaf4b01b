//! Rules that take fields or objects out of the comparison: Fleet's `diff.comparePatches`
//! (`jsonPointers`, `operations`, `op: ignore`) and Flux's `spec.ignore`.

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use fleet_core::selector::{Labels, Selector};

use super::schema::group_of;

pub use fleet_core::crd::options::{ComparePatch, Operation};

/// A Flux-style ignore rule (`spec.ignore[]` of a Flux Kustomization): JSON pointers removed
/// from both objects of the selected kind before comparing. An empty pointer ignores the whole
/// object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IgnoreRule {
    /// RFC 6901 pointers (`~1` escapes `/`).
    pub paths: Vec<String>,
    /// Which objects the rule applies to; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<IgnoreTarget>,
}

/// The object selector of an [`IgnoreRule`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IgnoreTarget {
    /// API group, exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version, exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind, exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name, a regular expression matched against the whole name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace, a regular expression matched against the whole namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A label selector in the Kubernetes string form (`app=web,tier!=db,env in (a,b)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// The same for annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
}

/// An invalid rule.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// A name or namespace pattern is not a valid regular expression.
    #[error("ignore rule {index}: invalid {field} pattern {pattern:?}: {reason}")]
    Pattern {
        /// Position of the rule.
        index: usize,
        /// `name` or `namespace`.
        field: &'static str,
        /// The pattern.
        pattern: String,
        /// What the regex compiler said.
        reason: String,
    },
    /// A label or annotation selector cannot be parsed.
    #[error("ignore rule {index}: invalid {field} {selector:?}: {reason}")]
    Selector {
        /// Position of the rule.
        index: usize,
        /// `labelSelector` or `annotationSelector`.
        field: &'static str,
        /// The selector text.
        selector: String,
        /// What is wrong.
        reason: String,
    },
    /// A comparePatch `ignore` name is neither a name nor a valid regular expression.
    #[error("comparePatch {index}: invalid name pattern {pattern:?}: {reason}")]
    IgnoreName {
        /// Position of the entry.
        index: usize,
        /// The pattern.
        pattern: String,
        /// What the regex compiler said.
        reason: String,
    },
}

/// The identity of an object a rule is matched against.
#[derive(Clone, Copy, Debug)]
pub struct ObjectRef<'a> {
    /// `apiVersion`.
    pub api_version: &'a str,
    /// `kind`.
    pub kind: &'a str,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: &'a str,
    /// Name.
    pub name: &'a str,
    /// Labels, from the object.
    pub labels: Option<&'a serde_json::Map<String, Value>>,
    /// Annotations, from the object.
    pub annotations: Option<&'a serde_json::Map<String, Value>>,
}

/// Compiled rules, ready to match objects.
#[derive(Debug, Default)]
pub struct Rules {
    compare_patches: Vec<ComparePatch>,
    ignore_names: Vec<Option<Regex>>,
    ignore_rules: Vec<CompiledIgnore>,
}

#[derive(Debug)]
struct CompiledIgnore {
    paths: Vec<String>,
    group: Option<String>,
    version: Option<String>,
    kind: Option<String>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Option<Selector>,
    annotations: Option<Selector>,
}

/// What the rules say about one object.
#[derive(Debug, Default)]
pub struct Applicable {
    /// Pointers to remove from both objects.
    pub pointers: Vec<String>,
    /// Operations to apply to both objects (in order).
    pub operations: Vec<Operation>,
    /// The whole object is ignored.
    pub ignore_object: bool,
}

impl Applicable {
    /// Whether nothing applies.
    pub fn is_empty(&self) -> bool {
        self.pointers.is_empty() && self.operations.is_empty() && !self.ignore_object
    }
}

fn anchored(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("^(?:{pattern})$"))
}

impl Rules {
    /// Compiles comparePatches and Flux ignore rules.
    pub fn new(
        compare_patches: Vec<ComparePatch>,
        ignore_rules: Vec<IgnoreRule>,
    ) -> Result<Rules, RuleError> {
        let mut ignore_names = Vec::with_capacity(compare_patches.len());
        for (index, patch) in compare_patches.iter().enumerate() {
            let has_ignore = patch.operations.iter().any(|op| op.op == "ignore");
            if has_ignore && !patch.name.is_empty() {
                let re = Regex::new(&patch.name).map_err(|e| RuleError::IgnoreName {
                    index,
                    pattern: patch.name.clone(),
                    reason: e.to_string(),
                });
                // A name that is not a regex can still match exactly.
                ignore_names.push(re.ok());
            } else {
                ignore_names.push(None);
            }
        }
        let mut compiled = Vec::with_capacity(ignore_rules.len());
        for (index, rule) in ignore_rules.into_iter().enumerate() {
            let target = rule.target.unwrap_or_default();
            let pattern =
                |field: &'static str, p: Option<String>| -> Result<Option<Regex>, RuleError> {
                    match p {
                        None => Ok(None),
                        Some(p) => anchored(&p).map(Some).map_err(|e| RuleError::Pattern {
                            index,
                            field,
                            pattern: p,
                            reason: e.to_string(),
                        }),
                    }
                };
            let selector =
                |field: &'static str, s: Option<String>| -> Result<Option<Selector>, RuleError> {
                    match s {
                        None => Ok(None),
                        Some(s) => Selector::parse(&s)
                            .map(Some)
                            .map_err(|e| RuleError::Selector {
                                index,
                                field,
                                selector: s,
                                reason: e.to_string(),
                            }),
                    }
                };
            compiled.push(CompiledIgnore {
                paths: rule.paths,
                group: target.group,
                version: target.version,
                kind: target.kind,
                name: pattern("name", target.name)?,
                namespace: pattern("namespace", target.namespace)?,
                labels: selector("labelSelector", target.label_selector)?,
                annotations: selector("annotationSelector", target.annotation_selector)?,
            });
        }
        Ok(Rules {
            compare_patches,
            ignore_names,
            ignore_rules: compiled,
        })
    }

    /// Whether there are no rules at all.
    pub fn is_empty(&self) -> bool {
        self.compare_patches.is_empty() && self.ignore_rules.is_empty()
    }

    /// The pointers, operations and whole-object ignores that apply to `obj`.
    ///
    /// `jsonPointers` match on group (glob `*` allowed), kind (glob `*` allowed), and name and
    /// namespace when set; `operations` need the exact apiVersion, kind, namespace and name.
    pub fn applicable(&self, obj: &ObjectRef<'_>) -> Applicable {
        let mut out = Applicable::default();
        let group = group_of(obj.api_version);
        for patch in &self.compare_patches {
            if !patch.json_pointers.is_empty()
                && glob(group_of(&patch.api_version), group)
                && glob(&patch.kind, obj.kind)
                && (patch.name.is_empty() || patch.name == obj.name)
                && (patch.namespace.is_empty() || patch.namespace == obj.namespace)
            {
                out.pointers.extend(patch.json_pointers.iter().cloned());
            }
            if patch.api_version == obj.api_version
                && patch.kind == obj.kind
                && patch.namespace == obj.namespace
                && patch.name == obj.name
            {
                out.operations.extend(
                    patch
                        .operations
                        .iter()
                        .filter(|op| op.op != "ignore")
                        .cloned(),
                );
            }
        }
        for rule in &self.ignore_rules {
            if rule.matches(obj) {
                for path in &rule.paths {
                    if path.is_empty() {
                        out.ignore_object = true;
                    } else {
                        out.pointers.push(path.clone());
                    }
                }
            }
        }
        out
    }

    /// Whether an `{op: ignore}` comparePatch suppresses "missing" for `obj`: same apiVersion,
    /// kind and namespace; name empty, equal, or a regular expression that matches it.
    pub fn ignores_missing(&self, obj: &ObjectRef<'_>) -> bool {
        self.compare_patches
            .iter()
            .zip(&self.ignore_names)
            .any(|(patch, re)| {
                patch.operations.iter().any(|op| op.op == "ignore")
                    && patch.api_version == obj.api_version
                    && patch.kind == obj.kind
                    && patch.namespace == obj.namespace
                    && (patch.name.is_empty()
                        || patch.name == obj.name
                        || re.as_ref().is_some_and(|re| re.is_match(obj.name)))
            })
    }
}

impl CompiledIgnore {
    fn matches(&self, obj: &ObjectRef<'_>) -> bool {
        let (group, version) = fleet_core::meta::split_api_version(obj.api_version);
        self.group.as_deref().is_none_or(|g| g == group)
            && self.version.as_deref().is_none_or(|v| v == version)
            && self.kind.as_deref().is_none_or(|k| k == obj.kind)
            && self.name.as_ref().is_none_or(|re| re.is_match(obj.name))
            && self
                .namespace
                .as_ref()
                .is_none_or(|re| re.is_match(obj.namespace))
            && self
                .labels
                .as_ref()
                .is_none_or(|s| s.matches(&JsonLabels(obj.labels)))
            && self
                .annotations
                .as_ref()
                .is_none_or(|s| s.matches(&JsonLabels(obj.annotations)))
    }
}

/// Argo CD's glob for group and kind: `*` matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == text;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    rest.is_empty()
}

/// Labels or annotations of a JSON object, for [`Selector::matches`].
struct JsonLabels<'a>(Option<&'a serde_json::Map<String, Value>>);

impl Labels for JsonLabels<'_> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.0.and_then(|m| m.get(key)).and_then(Value::as_str)
    }
}

/// Removes the value at an RFC 6901 pointer; a pointer that names nothing is not an error
/// (Argo CD's ignore normaliser skips such paths too).
pub fn remove_pointer(doc: &mut Value, pointer: &str) {
    if pointer.is_empty() {
        return;
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return;
    };
    let tokens: Vec<String> = rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    let mut cur = doc;
    for token in parents {
        cur = match cur {
            Value::Object(map) => match map.get_mut(token) {
                Some(v) => v,
                None => return,
            },
            Value::Array(items) => match token.parse::<usize>().ok().and_then(|i| items.get_mut(i))
            {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    match cur {
        Value::Object(map) => {
            map.remove(last);
        }
        Value::Array(items) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}

/// Applies comparePatch operations to `doc` in order. As in Fleet
/// (`normalizers/jsonpatch.go`), when one operation fails the object is left as it was.
pub fn apply_operations(doc: &mut Value, operations: &[Operation]) {
    if operations.is_empty() {
        return;
    }
    let ops: Vec<Value> = operations
        .iter()
        .map(|op| {
            let mut m = serde_json::Map::new();
            m.insert("op".into(), Value::String(op.op.clone()));
            m.insert("path".into(), Value::String(op.path.clone()));
            // Fleet's Operation carries its value as a string (`omitempty`).
            if !op.value.is_empty() {
                m.insert("value".into(), Value::String(op.value.clone()));
            }
            Value::Object(m)
        })
        .collect();
    let Ok(patch) = serde_json::from_value::<json_patch::Patch>(Value::Array(ops)) else {
        return;
    };
    let mut copy = doc.clone();
    if json_patch::patch(&mut copy, &patch).is_ok() {
        *doc = copy;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors() {
        let s = Selector::parse("app=web,tier!=db,env in (a,b),!skip,team").unwrap();
        let labels = json!({"app": "web", "tier": "fe", "env": "b", "team": "x"});
        assert!(s.matches(&JsonLabels(labels.as_object())));
        let labels = json!({"app": "web", "tier": "db", "env": "b", "team": "x"});
        assert!(!s.matches(&JsonLabels(labels.as_object())));
        assert!(Selector::parse("a in (b").is_err());
    }

    #[test]
    fn pointers_and_operations() {
        let mut doc = json!({"metadata": {"annotations": {"a/b": "1"}}, "data": {"x": 1}});
        remove_pointer(&mut doc, "/metadata/annotations/a~1b");
        remove_pointer(&mut doc, "/nothing/here");
        assert_eq!(
            doc,
            json!({"metadata": {"annotations": {}}, "data": {"x": 1}})
        );
        let ops = vec![Operation {
            op: "remove".into(),
            path: "/data".into(),
            value: String::new(),
        }];
        apply_operations(&mut doc, &ops);
        assert_eq!(doc, json!({"metadata": {"annotations": {}}}));
        // a failing operation leaves the object alone
        let mut doc2 = json!({"a": 1});
        let ops = vec![
            Operation {
                op: "remove".into(),
                path: "/a".into(),
                value: String::new(),
            },
            Operation {
                op: "remove".into(),
                path: "/b".into(),
                value: String::new(),
            },
        ];
        apply_operations(&mut doc2, &ops);
        assert_eq!(doc2, json!({"a": 1}));
    }

    #[test]
    fn globs() {
        assert!(glob("*", "apps"));
        assert!(glob("", ""));
        assert!(glob("*.k8s.io", "rbac.authorization.k8s.io"));
        assert!(!glob("apps", "batch"));
    }
}
