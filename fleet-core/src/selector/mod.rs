//! Kubernetes label selectors: the wire type, validation, the string form and matching.
//!
//! The rules follow `k8s.io/apimachinery`: `metav1.LabelSelectorAsSelector`
//! (`pkg/apis/meta/v1/helpers.go`) for the wire type and `labels.Parse`/`Requirement`
//! (`pkg/labels/selector.go`) for the string form and matching.
//!
//! * A `nil` wire selector converts to [`Selector::nothing`] (matches no label set) with
//!   [`label_selector_as_selector`]; a non-nil selector without requirements (`{}`) converts to
//!   [`Selector::everything`]. Fleet's cluster matcher never converts a nil selector: there a
//!   nil `clusterSelector`/`clusterGroupSelector` means "criterion absent" (spec §3.2), a nil
//!   ClusterGroup selector means "contains no cluster" (the same as `Nothing`), and a nil
//!   BundleNamespaceMapping selector makes the mapping inert.
//! * `NotIn`, `!=` and `DoesNotExist` match a label set that lacks the key.
//! * Requirements are kept sorted by key (stable), as apimachinery's `Add` and `Parse` sort them.
//!
//! ```
//! use std::collections::BTreeMap;
//! use fleet_core::selector::Selector;
//!
//! let sel: Selector = "env=prod,tier notin (edge),!legacy".parse().unwrap();
//! let labels = BTreeMap::from([("env".to_string(), "prod".to_string())]);
//! assert!(sel.matches(&labels));
//! assert_eq!(sel.to_string(), "env=prod,!legacy,tier notin (edge)");
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

mod parse;
mod validate;

use parse::Parser;
use validate::{validate_key, validate_value};

/// A Kubernetes `metav1.LabelSelector` as it appears on the wire.
///
/// The operator is kept as the string that was written so that objects round-trip
/// unchanged; validation turns it into a typed selector.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels that must be present with exactly these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// Requirements that must all hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<LabelSelectorRequirement>>,
}

/// One `matchExpressions` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    /// The label key the requirement applies to.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// The values for `In` and `NotIn`; empty for `Exists` and `DoesNotExist`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// Why a selector is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// A label key is not a qualified name (`[prefix/]name`).
    #[error("invalid label key {key:?}: {reason}")]
    InvalidKey {
        /// The key as written.
        key: String,
        /// Every rule it breaks, joined with `; `.
        reason: String,
    },
    /// A value is not a valid label value.
    #[error("invalid value {value:?} for label key {key:?}: {reason}")]
    InvalidValue {
        /// The key the value belongs to.
        key: String,
        /// The value as written.
        value: String,
        /// Every rule it breaks, joined with `; `.
        reason: String,
    },
    /// The operator needs a different number of values.
    #[error("label key {key:?}, operator {operator}: {reason} (got {count} values)")]
    ValueCount {
        /// The key of the requirement.
        key: String,
        /// The operator, as printed in the string form.
        operator: Operator,
        /// How many values were given.
        count: usize,
        /// The rule, in apimachinery's words.
        reason: &'static str,
    },
    /// `Gt`/`Lt` need an integer value.
    #[error(
        "label key {key:?}: for 'Gt', 'Lt' operators, the value must be an integer, got {value:?}"
    )]
    NotAnInteger {
        /// The key of the requirement.
        key: String,
        /// The value as written.
        value: String,
    },
    /// A `matchExpressions` operator other than `In`, `NotIn`, `Exists`, `DoesNotExist`.
    #[error("{operator:?} is not a valid label selector operator (label key {key:?})")]
    UnknownOperator {
        /// The key of the requirement.
        key: String,
        /// The operator as written.
        operator: String,
    },
    /// The string form does not parse.
    #[error("invalid label selector {selector:?}: {message}")]
    Parse {
        /// The selector text.
        selector: String,
        /// apimachinery's parser message (e.g. `found '=', expected: ',' or 'end of string'`).
        message: String,
    },
}

/// A requirement operator (`k8s.io/apimachinery/pkg/selection`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// `key=value`.
    Equals,
    /// `key==value` (same meaning as `=`, printed as written).
    DoubleEquals,
    /// `key!=value`: the key is absent or has another value.
    NotEquals,
    /// `key in (a,b)`, `matchExpressions` `In`.
    In,
    /// `key notin (a,b)`, `NotIn`: the key is absent or has none of the values.
    NotIn,
    /// `key`, `Exists`.
    Exists,
    /// `!key`, `DoesNotExist`.
    DoesNotExist,
    /// `key>n` (string form only): the value is an integer greater than `n`.
    GreaterThan,
    /// `key<n` (string form only): the value is an integer less than `n`.
    LessThan,
}

impl Operator {
    /// The operator's name in apimachinery's `selection` package (`in`, `notin`, `=`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }

    /// Maps a `matchExpressions` operator (`In`, `NotIn`, `Exists`, `DoesNotExist`, case-sensitive).
    pub fn from_wire(op: &str) -> Option<Operator> {
        match op {
            "In" => Some(Operator::In),
            "NotIn" => Some(Operator::NotIn),
            "Exists" => Some(Operator::Exists),
            "DoesNotExist" => Some(Operator::DoesNotExist),
            _ => None,
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Read access to a set of labels, so selectors can match any label storage.
pub trait Labels {
    /// The value of `key`, or `None` when the key is absent.
    fn get_label(&self, key: &str) -> Option<&str>;
}

impl Labels for BTreeMap<String, String> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl<S: std::hash::BuildHasher> Labels for HashMap<String, String, S> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl Labels for [(&str, &str)] {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

impl<T: Labels + ?Sized> Labels for &T {
    fn get_label(&self, key: &str) -> Option<&str> {
        (**self).get_label(key)
    }
}

impl<T: Labels> Labels for Option<T> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.as_ref().and_then(|l| l.get_label(key))
    }
}

/// One validated requirement: a key, an operator and its values.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    op: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// Builds and validates a requirement, as apimachinery's `NewRequirement`:
    /// the key must be a qualified name; `In`/`NotIn` need at least one value;
    /// `=`/`==`/`!=`/`>`/`<` exactly one (an integer for `>`/`<`); `Exists`/`DoesNotExist` none;
    /// every value must be a valid label value (the empty string is valid).
    pub fn new(
        key: impl Into<String>,
        op: Operator,
        values: Vec<String>,
    ) -> Result<Requirement, SelectorError> {
        let key = key.into();
        validate_key(&key)?;
        let count = values.len();
        let count_error = |reason| SelectorError::ValueCount {
            key: key.clone(),
            operator: op,
            count,
            reason,
        };
        match op {
            Operator::In | Operator::NotIn => {
                if count == 0 {
                    return Err(count_error(
                        "for 'in', 'notin' operators, values set can't be empty",
                    ));
                }
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals => {
                if count != 1 {
                    return Err(count_error(
                        "exact-match compatibility requires one single value",
                    ));
                }
            }
            Operator::Exists | Operator::DoesNotExist => {
                if count != 0 {
                    return Err(count_error(
                        "values set must be empty for exists and does not exist",
                    ));
                }
            }
            Operator::GreaterThan | Operator::LessThan => {
                if count != 1 {
                    return Err(count_error(
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                }
                if values[0].parse::<i64>().is_err() {
                    return Err(SelectorError::NotAnInteger {
                        key,
                        value: values[0].clone(),
                    });
                }
            }
        }
        for value in &values {
            validate_value(&key, value)?;
        }
        Ok(Requirement { key, op, values })
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.op
    }

    /// The values in the order given (sorted and de-duplicated when parsed from a string).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    fn has_value(&self, value: &str) -> bool {
        self.values.iter().any(|v| v == value)
    }

    /// Whether the label set satisfies this requirement (Kubernetes semantics: `NotIn`, `!=`
    /// and `DoesNotExist` hold when the key is absent; `>`/`<` need an integer label value).
    pub fn matches<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        let value = labels.get_label(&self.key);
        match self.op {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                value.is_some_and(|v| self.has_value(v))
            }
            Operator::NotIn | Operator::NotEquals => value.is_none_or(|v| !self.has_value(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(Ok(have)) = value.map(str::parse::<i64>) else {
                    return false;
                };
                let Some(Ok(want)) = self.values.first().map(|v| v.parse::<i64>()) else {
                    return false;
                };
                if self.op == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    /// apimachinery's `Requirement.String`: values of `in`/`notin` are printed sorted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.op == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let (infix, parens) = match self.op {
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
            Operator::Equals => ("=", false),
            Operator::DoubleEquals => ("==", false),
            Operator::NotEquals => ("!=", false),
            Operator::GreaterThan => (">", false),
            Operator::LessThan => ("<", false),
            Operator::In => (" in ", true),
            Operator::NotIn => (" notin ", true),
        };
        f.write_str(infix)?;
        if parens {
            f.write_str("(")?;
        }
        let mut sorted: Vec<&str> = self.values.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        f.write_str(&sorted.join(","))?;
        if parens {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A validated selector: either `Nothing` (from a nil wire selector) or a conjunction of
/// requirements (none = everything).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Selector {
    /// `None` = the `Nothing` selector.
    requirements: Option<Vec<Requirement>>,
}

impl Default for Selector {
    fn default() -> Self {
        Selector::everything()
    }
}

impl Selector {
    /// The selector that matches every label set (`labels.Everything()`).
    pub fn everything() -> Selector {
        Selector {
            requirements: Some(Vec::new()),
        }
    }

    /// The selector that matches no label set (`labels.Nothing()`).
    pub fn nothing() -> Selector {
        Selector { requirements: None }
    }

    /// A conjunction of requirements, sorted by key (stable).
    pub fn from_requirements(mut requirements: Vec<Requirement>) -> Selector {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Selector {
            requirements: Some(requirements),
        }
    }

    /// Parses the string form (`env=prod,tier notin (edge),!legacy`) as `labels.Parse` does.
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let requirements = Parser::new(text)
            .parse()
            .map_err(|message| SelectorError::Parse {
                selector: text.to_string(),
                message,
            })?;
        Ok(Selector::from_requirements(requirements))
    }

    /// Whether this is the `Nothing` selector.
    pub fn is_nothing(&self) -> bool {
        self.requirements.is_none()
    }

    /// Whether the selector does not restrict anything (`Empty()`: everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.as_ref().is_some_and(Vec::is_empty)
    }

    /// The requirements (empty for both `Everything` and `Nothing`).
    pub fn requirements(&self) -> &[Requirement] {
        self.requirements.as_deref().unwrap_or(&[])
    }

    /// Adds a requirement, keeping the list sorted by key.
    pub fn add(&mut self, requirement: Requirement) {
        if let Some(reqs) = &mut self.requirements {
            let at = reqs.partition_point(|r| r.key <= requirement.key);
            reqs.insert(at, requirement);
        }
    }

    /// apimachinery's `RequiresExactMatch`: the value the first requirement on `key` demands
    /// when it is `=`, `==` or `in` with exactly one value (useful for label indexes).
    pub fn requires_exact_match(&self, key: &str) -> Option<&str> {
        let r = self.requirements().iter().find(|r| r.key == key)?;
        match (r.op, r.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [only]) => Some(only),
            _ => None,
        }
    }

    /// Whether the label set satisfies every requirement.
    pub fn matches<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        match &self.requirements {
            None => false,
            Some(reqs) => reqs.iter().all(|r| r.matches(labels)),
        }
    }
}

impl fmt::Display for Selector {
    /// The string form; empty for `Everything` and `Nothing`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl FromStr for Selector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<Selector, SelectorError> {
        Selector::parse(s)
    }
}

impl LabelSelector {
    /// Converts a (non-nil) wire selector as `metav1.LabelSelectorAsSelector` does: no labels
    /// and no expressions ⇒ [`Selector::everything`]; `matchLabels` become `=` requirements;
    /// operators other than `In`, `NotIn`, `Exists`, `DoesNotExist` are an error naming them.
    pub fn to_selector(&self) -> Result<Selector, SelectorError> {
        let labels = self.match_labels.as_ref();
        let exprs = self.match_expressions.as_deref().unwrap_or(&[]);
        if labels.is_none_or(BTreeMap::is_empty) && exprs.is_empty() {
            return Ok(Selector::everything());
        }
        let mut reqs = Vec::with_capacity(labels.map_or(0, BTreeMap::len) + exprs.len());
        for (k, v) in labels.into_iter().flatten() {
            reqs.push(Requirement::new(
                k.clone(),
                Operator::Equals,
                vec![v.clone()],
            )?);
        }
        for expr in exprs {
            let op = Operator::from_wire(&expr.operator).ok_or_else(|| {
                SelectorError::UnknownOperator {
                    key: expr.key.clone(),
                    operator: expr.operator.clone(),
                }
            })?;
            reqs.push(Requirement::new(
                expr.key.clone(),
                op,
                expr.values.clone().unwrap_or_default(),
            )?);
        }
        Ok(Selector::from_requirements(reqs))
    }

    /// Whether the selector has neither labels nor expressions (`{}` — matches everything).
    pub fn is_empty(&self) -> bool {
        self.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
            && self.match_expressions.as_ref().is_none_or(Vec::is_empty)
    }
}

/// `metav1.LabelSelectorAsSelector`: `None` (a nil selector) ⇒ [`Selector::nothing`].
pub fn label_selector_as_selector(
    selector: Option<&LabelSelector>,
) -> Result<Selector, SelectorError> {
    match selector {
        None => Ok(Selector::nothing()),
        Some(s) => s.to_selector(),
    }
}

/// Fleet's `labelselectors.Merge` (`internal/cmd/controller/labelselectors/merge.go`), used to
/// combine GitRepoRestriction `allowedTargetNamespaceSelector`s: nil selectors are skipped; the
/// first non-nil one is copied as is; each later one overwrites `matchLabels` per key (creating
/// the map) and appends those `matchExpressions` whose `key|operator|values` identity was not
/// seen yet. All nil (or no selectors) ⇒ `None`.
pub fn merge_label_selectors<'a, I>(selectors: I) -> Option<LabelSelector>
where
    I: IntoIterator<Item = Option<&'a LabelSelector>>,
{
    let mut result: Option<LabelSelector> = None;
    for sel in selectors.into_iter().flatten() {
        let Some(acc) = &mut result else {
            result = Some(sel.clone());
            continue;
        };
        let labels = acc.match_labels.get_or_insert_with(BTreeMap::new);
        for (k, v) in sel.match_labels.iter().flatten() {
            labels.insert(k.clone(), v.clone());
        }
        let incoming = sel.match_expressions.as_deref().unwrap_or(&[]);
        if incoming.is_empty() {
            continue;
        }
        let identity = |e: &LabelSelectorRequirement| {
            format!(
                "{}|{}|{}",
                e.key,
                e.operator,
                e.values.as_deref().unwrap_or(&[]).join(",")
            )
        };
        let existing = acc.match_expressions.get_or_insert_with(Vec::new);
        let mut seen: BTreeSet<String> = existing.iter().map(identity).collect();
        for expr in incoming {
            if seen.insert(identity(expr)) {
                existing.push(expr.clone());
            }
        }
    }
    result
}
