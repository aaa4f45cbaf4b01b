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

// ---------------------------------------------------------------------------------------------
// Validation (k8s.io/apimachinery/pkg/util/validation: IsQualifiedName, IsValidLabelValue)

const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])";

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`
fn is_dns1123_subdomain_syntax(s: &str) -> bool {
    s.split('.').all(|label| {
        let b = label.as_bytes();
        let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        match (b.first(), b.last()) {
            (Some(f), Some(l)) => ok(f) && ok(l) && b.iter().all(|c| ok(c) || *c == b'-'),
            _ => false,
        }
    })
}

/// The problems `IsQualifiedName` reports for a label key (empty when valid).
pub fn qualified_name_errors(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                if prefix.len() > 253 {
                    errs.push("prefix part must be no more than 253 characters".to_string());
                }
                if !is_dns1123_subdomain_syntax(prefix) {
                    errs.push("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string());
                }
            }
            *name
        }
        _ => {
            errs.push(format!("a qualified name {QUALIFIED_NAME_MSG} (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{QUALIFIED_NAME_FMT}') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_string());
    }
    if !is_qualified_name_part(name) {
        errs.push(format!("name part {QUALIFIED_NAME_MSG} (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{QUALIFIED_NAME_FMT}')"));
    }
    errs
}

/// The problems `IsValidLabelValue` reports (empty when valid; `""` is valid).
pub fn label_value_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errs.push("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".to_string());
    }
    errs
}

fn validate_key(key: &str) -> Result<(), SelectorError> {
    let errs = qualified_name_errors(key);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(SelectorError::InvalidKey {
            key: key.to_string(),
            reason: errs.join("; "),
        })
    }
}

fn validate_value(key: &str, value: &str) -> Result<(), SelectorError> {
    let errs = label_value_errors(value);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(SelectorError::InvalidValue {
            key: key.to_string(),
            value: value.to_string(),
            reason: errs.join("; "),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The string form: a lexer and a recursive-descent parser with apimachinery's token rules.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Error,
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn keyword(s: &[u8]) -> Option<Token> {
    Some(match s {
        b")" => Token::ClosedPar,
        b"," => Token::Comma,
        b"!" => Token::DoesNotExist,
        b"==" => Token::DoubleEquals,
        b"=" => Token::Equals,
        b">" => Token::GreaterThan,
        b"in" => Token::In,
        b"<" => Token::LessThan,
        b"!=" => Token::NotEquals,
        b"notin" => Token::NotIn,
        b"(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(c: u8) -> bool {
    matches!(c, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    /// The next byte, or 0 at the end. A NUL byte also reads as 0 (and ends the token), as in
    /// apimachinery.
    fn read(&mut self) -> u8 {
        match self.s.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                b
            }
            None => 0,
        }
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    fn scan_id_or_keyword(&mut self) -> (Token, String) {
        let start = self.pos;
        let mut end = start;
        loop {
            let c = self.read();
            if c == 0 {
                break;
            }
            if is_special(c) || is_whitespace(c) {
                self.unread();
                break;
            }
            end = self.pos;
        }
        let bytes = &self.s[start..end];
        // Identifiers are cut only at ASCII bytes, so the slice is valid UTF-8.
        let text = String::from_utf8_lossy(bytes).into_owned();
        match keyword(bytes) {
            Some(tok) => (tok, text),
            None => (Token::Identifier, text),
        }
    }

    fn scan_special(&mut self) -> (Token, String) {
        let mut buffer = Vec::new();
        let mut last: Option<(Token, String)> = None;
        loop {
            let c = self.read();
            if c == 0 {
                break;
            }
            if is_special(c) {
                buffer.push(c);
                if let Some(tok) = keyword(&buffer) {
                    last = Some((tok, String::from_utf8_lossy(&buffer).into_owned()));
                } else if last.is_some() {
                    self.unread();
                    break;
                }
            } else {
                self.unread();
                break;
            }
        }
        match last {
            Some(item) => item,
            None => (
                Token::Error,
                format!(
                    "error expected: keyword found '{}'",
                    String::from_utf8_lossy(&buffer)
                ),
            ),
        }
    }

    fn lex(&mut self) -> (Token, String) {
        let mut c = self.read();
        while is_whitespace(c) {
            c = self.read();
        }
        if c == 0 {
            return (Token::EndOfString, String::new());
        }
        self.unread();
        if is_special(c) {
            self.scan_special()
        } else {
            self.scan_id_or_keyword()
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser {
    items: Vec<(Token, String)>,
    position: usize,
}

const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

impl Parser {
    fn new(text: &str) -> Parser {
        let mut lexer = Lexer {
            s: text.as_bytes(),
            pos: 0,
        };
        let mut items = Vec::new();
        loop {
            let item = lexer.lex();
            let end = item.0 == Token::EndOfString;
            items.push(item);
            if end {
                break;
            }
        }
        Parser { items, position: 0 }
    }

    fn adjust(tok: Token, ctx: Context) -> Token {
        match (ctx, tok) {
            (Context::Values, Token::In | Token::NotIn) => Token::Identifier,
            _ => tok,
        }
    }

    fn lookahead(&self, ctx: Context) -> (Token, String) {
        // The item list always ends with EndOfString and the parser never moves past it.
        let (tok, lit) = self
            .items
            .get(self.position)
            .cloned()
            .unwrap_or((Token::EndOfString, String::new()));
        (Self::adjust(tok, ctx), lit)
    }

    fn consume(&mut self, ctx: Context) -> (Token, String) {
        let item = self.lookahead(ctx);
        if self.position < self.items.len() {
            self.position += 1;
        }
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut reqs = Vec::new();
        loop {
            let (tok, lit) = self.lookahead(Context::Values);
            match tok {
                Token::Identifier | Token::DoesNotExist => {
                    let r = self
                        .parse_requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    reqs.push(r);
                    let (t, l) = self.consume(Context::Values);
                    match t {
                        Token::EndOfString => return Ok(reqs),
                        Token::Comma => {
                            let (t2, l2) = self.lookahead(Context::Values);
                            if t2 != Token::Identifier && t2 != Token::DoesNotExist {
                                return Err(format!(
                                    "found '{l2}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => {
                            return Err(format!("found '{l}', expected: ',' or 'end of string'"));
                        }
                    }
                }
                Token::EndOfString => return Ok(reqs),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, String> {
        let (key, inferred) = self.parse_key_and_infer_operator()?;
        if let Some(op) = inferred {
            return Requirement::new(key, op, Vec::new()).map_err(|e| e.to_string());
        }
        let op = self.parse_operator()?;
        let values = match op {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(key, op, values.into_iter().collect()).map_err(|e| e.to_string())
    }

    /// Returns the key and, for `key` / `!key`, the inferred unary operator.
    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>), String> {
        let mut negated = false;
        let (mut tok, mut lit) = self.consume(Context::Values);
        if tok == Token::DoesNotExist {
            negated = true;
            (tok, lit) = self.consume(Context::Values);
        }
        if tok != Token::Identifier {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        validate_key(&lit).map_err(|e| e.to_string())?;
        if negated {
            return Ok((lit, Some(Operator::DoesNotExist)));
        }
        let (next, _) = self.lookahead(Context::Values);
        if next == Token::EndOfString || next == Token::Comma {
            return Ok((lit, Some(Operator::Exists)));
        }
        Ok((lit, None))
    }

    fn parse_operator(&mut self) -> Result<Operator, String> {
        let (tok, lit) = self.consume(Context::KeyAndOperator);
        Ok(match tok {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => return Err(format!("found '{lit}', expected: {BINARY_OPERATORS}")),
        })
    }

    fn parse_values(&mut self) -> Result<BTreeSet<String>, String> {
        let (tok, lit) = self.consume(Context::Values);
        if tok != Token::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.lookahead(Context::Values);
        match tok {
            Token::Identifier | Token::Comma => {
                let set = self.parse_identifiers_list()?;
                let (close, _) = self.consume(Context::Values);
                if close != Token::ClosedPar {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(set)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>, String> {
        let mut set = BTreeSet::new();
        loop {
            let (tok, lit) = self.consume(Context::Values);
            match tok {
                Token::Identifier => {
                    set.insert(lit);
                    let (t2, l2) = self.lookahead(Context::Values);
                    match t2 {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(set),
                        _ => return Err(format!("found '{l2}', expected: ',' or ')'")),
                    }
                }
                Token::Comma => {
                    if set.is_empty() {
                        set.insert(String::new());
                    }
                    let (t2, _) = self.lookahead(Context::Values);
                    if t2 == Token::ClosedPar {
                        set.insert(String::new());
                        return Ok(set);
                    }
                    if t2 == Token::Comma {
                        self.consume(Context::Values);
                        set.insert(String::new());
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    fn parse_exact_value(&mut self) -> Result<BTreeSet<String>, String> {
        let (tok, _) = self.lookahead(Context::Values);
        if tok == Token::EndOfString || tok == Token::Comma {
            return Ok(BTreeSet::from([String::new()]));
        }
        let (tok, lit) = self.consume(Context::Values);
        if tok == Token::Identifier {
            Ok(BTreeSet::from([lit]))
        } else {
            Err(format!("found '{lit}', expected: identifier"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexer_longest_token() {
        for (text, tok) in [
            ("", Token::EndOfString),
            (",", Token::Comma),
            ("notin", Token::NotIn),
            ("in", Token::In),
            ("=", Token::Equals),
            ("==", Token::DoubleEquals),
            (">", Token::GreaterThan),
            ("<", Token::LessThan),
            ("!", Token::DoesNotExist),
            ("!=", Token::NotEquals),
            ("(", Token::OpenPar),
            (")", Token::ClosedPar),
            ("~", Token::Identifier),
            ("||", Token::Identifier),
        ] {
            let mut lexer = Lexer {
                s: text.as_bytes(),
                pos: 0,
            };
            assert_eq!(lexer.lex().0, tok, "{text:?}");
        }
    }

    #[test]
    fn nul_byte_ends_a_token() {
        // "a\0b" lexes as `a`, `b`: the NUL is consumed as an end marker inside an identifier.
        let err = Selector::parse("a\0b").unwrap_err();
        assert!(err.to_string().contains("found 'b'"), "{err}");
    }
}
