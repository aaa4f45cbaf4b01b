//! Label selectors compiled against the engine's interned keys and values.
//!
//! The wire form is `fleet_core::selector::LabelSelector`, validated by `fleet_core` (what
//! `metav1.LabelSelectorAsSelector` rejects). Compilation turns keys into dense key ids and values into interned symbols, so that a selector is
//! evaluated either against one label set (a few integer comparisons) or as set algebra over
//! the label index.

use fleet_core::selector::LabelSelector;

use crate::intern::Sym;

/// A dense label-key id (index into the label index's key table).
pub type KeyId = u32;

pub use fleet_core::selector::SelectorError;

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

/// Validates a wire selector with `fleet_core` (what `metav1.LabelSelectorAsSelector` accepts)
/// and returns its requirements, sorted by key.
pub(crate) fn validate(sel: &LabelSelector) -> Result<Vec<RawReq>, SelectorError> {
    use fleet_core::selector::Operator;
    let compiled = sel.to_selector()?;
    let mut out = Vec::with_capacity(compiled.requirements().len());
    for r in compiled.requirements() {
        let op = match r.operator() {
            Operator::In | Operator::Equals | Operator::DoubleEquals => RawOp::In,
            Operator::NotIn | Operator::NotEquals => RawOp::NotIn,
            Operator::Exists => RawOp::Exists,
            Operator::DoesNotExist => RawOp::DoesNotExist,
            other => {
                return Err(SelectorError::UnknownOperator {
                    key: r.key().to_owned(),
                    operator: other.as_str().to_owned(),
                });
            }
        };
        out.push(RawReq {
            key: r.key().to_owned(),
            op,
            values: r.values().to_vec(),
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}
