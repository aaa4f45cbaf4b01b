//! Label selectors compiled against the engine's interned keys and values.
//!
//! The wire form is `fleet_core::selector::LabelSelector`. Compilation checks what
//! `metav1.LabelSelectorAsSelector` rejects (operators, value counts, key and value syntax) and
//! turns keys into dense key ids and values into interned symbols, so that a selector is
//! evaluated either against one label set (a few integer comparisons) or as set algebra over
//! the label index.

use fleet_core::selector::LabelSelector;

use crate::intern::Sym;

/// A dense label-key id (index into the label index's key table).
pub type KeyId = u32;

/// Why a selector does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// An operator other than `In`, `NotIn`, `Exists`, `DoesNotExist`.
    #[error("key {key:?}: {operator:?} is not a valid label selector operator")]
    Operator {
        /// The requirement's key.
        key: String,
        /// The operator as written.
        operator: String,
    },
    /// `In`/`NotIn` without values.
    #[error("key {key:?}: for 'in', 'notin' operators, values set can't be empty")]
    EmptyValues {
        /// The requirement's key.
        key: String,
    },
    /// `Exists`/`DoesNotExist` with values.
    #[error("key {key:?}: values set must be empty for exists and does not exist")]
    UnexpectedValues {
        /// The requirement's key.
        key: String,
    },
    /// A key that is not a qualified name.
    #[error("invalid label key {key:?}: {reason}")]
    Key {
        /// The key.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A value that is not a valid label value.
    #[error("invalid label value {value:?} for key {key:?}: {reason}")]
    Value {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// One requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Label present with one of these values (`matchLabels` entries are `In` with one value).
    In(Box<[Sym]>),
    /// Label absent, or present with none of these values.
    NotIn(Box<[Sym]>),
    /// Label present.
    Exists,
    /// Label absent.
    DoesNotExist,
}

/// A requirement on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Req {
    /// The key.
    pub key: KeyId,
    /// What it requires.
    pub op: Op,
}

/// A compiled selector: the conjunction of its requirements; no requirements matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    /// Requirements, sorted by key.
    pub reqs: Box<[Req]>,
}

/// Read access to one object's labels by interned key.
pub trait LabelLookup {
    /// The value of `key`, if the label is present.
    fn get(&self, key: KeyId) -> Option<Sym>;
}

/// Labels as a slice of `(key, value)` sorted by key.
impl LabelLookup for [(KeyId, Sym)] {
    fn get(&self, key: KeyId) -> Option<Sym> {
        if self.len() <= 8 {
            self.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
        } else {
            self.binary_search_by_key(&key, |(k, _)| *k)
                .ok()
                .map(|i| self[i].1)
        }
    }
}

impl Selector {
    /// Whether the labels satisfy every requirement.
    pub fn matches<L: LabelLookup + ?Sized>(&self, labels: &L) -> bool {
        self.reqs.iter().all(|r| {
            let v = labels.get(r.key);
            match &r.op {
                Op::In(vals) => v.is_some_and(|v| vals.contains(&v)),
                Op::NotIn(vals) => v.is_none_or(|v| !vals.contains(&v)),
                Op::Exists => v.is_some(),
                Op::DoesNotExist => v.is_none(),
            }
        })
    }

    /// Whether an empty label set satisfies it.
    pub fn matches_empty(&self) -> bool {
        self.reqs
            .iter()
            .all(|r| matches!(r.op, Op::NotIn(_) | Op::DoesNotExist))
    }

    /// The keys it mentions.
    pub fn keys(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.reqs.iter().map(|r| r.key)
    }
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.'
}

/// Checks a label name part (`[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 bytes).
fn check_name(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err("name part must be non-empty");
    }
    if b.len() > 63 {
        return Err("name part must be no more than 63 characters");
    }
    if !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return Err("name part must start and end with an alphanumeric character");
    }
    if !b.iter().all(|&c| is_name_char(c)) {
        return Err("name part must consist of alphanumeric characters, '-', '_' or '.'");
    }
    Ok(())
}

/// Checks a DNS-1123 subdomain (lower case, at most 253 bytes).
fn check_subdomain(s: &str) -> Result<(), &'static str> {
    if s.is_empty() || s.len() > 253 {
        return Err("prefix part must be a DNS-1123 subdomain of 1 to 253 characters");
    }
    for label in s.split('.') {
        let b = label.as_bytes();
        let ok = !b.is_empty()
            && b.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-';
        if !ok {
            return Err("prefix part must be a lowercase RFC 1123 subdomain");
        }
    }
    Ok(())
}

/// Validates a label key (qualified name).
pub fn validate_key(key: &str) -> Result<(), SelectorError> {
    let err = |reason| SelectorError::Key {
        key: key.to_owned(),
        reason,
    };
    match key.split_once('/') {
        Some((prefix, name)) => {
            check_subdomain(prefix).map_err(err)?;
            check_name(name).map_err(err)
        }
        None => check_name(key).map_err(err),
    }
}

/// Validates a label value (empty, or a name part).
pub fn validate_value(key: &str, value: &str) -> Result<(), SelectorError> {
    if value.is_empty() {
        return Ok(());
    }
    check_name(value).map_err(|reason| SelectorError::Value {
        key: key.to_owned(),
        value: value.to_owned(),
        reason,
    })
}

/// A requirement before interning: key, operator, values (validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawReq {
    pub key: String,
    pub op: RawOp,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawOp {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// Validates a wire selector and returns its requirements, sorted by key (as apimachinery does).
pub(crate) fn validate(sel: &LabelSelector) -> Result<Vec<RawReq>, SelectorError> {
    let mut out = Vec::new();
    if let Some(ml) = &sel.match_labels {
        for (k, v) in ml {
            validate_key(k)?;
            validate_value(k, v)?;
            out.push(RawReq {
                key: k.clone(),
                op: RawOp::In,
                values: vec![v.clone()],
            });
        }
    }
    if let Some(exprs) = &sel.match_expressions {
        for e in exprs {
            let values = e.values.clone().unwrap_or_default();
            let op = match e.operator.as_str() {
                "In" => RawOp::In,
                "NotIn" => RawOp::NotIn,
                "Exists" => RawOp::Exists,
                "DoesNotExist" => RawOp::DoesNotExist,
                other => {
                    return Err(SelectorError::Operator {
                        key: e.key.clone(),
                        operator: other.to_owned(),
                    });
                }
            };
            validate_key(&e.key)?;
            match op {
                RawOp::In | RawOp::NotIn if values.is_empty() => {
                    return Err(SelectorError::EmptyValues { key: e.key.clone() });
                }
                RawOp::Exists | RawOp::DoesNotExist if !values.is_empty() => {
                    return Err(SelectorError::UnexpectedValues { key: e.key.clone() });
                }
                _ => {}
            }
            for v in &values {
                validate_value(&e.key, v)?;
            }
            out.push(RawReq {
                key: e.key.clone(),
                op,
                values,
            });
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}
