//! Comparing a desired object with a live one under strategic merge semantics: the one
//! containment check of the crate ([`contains`]), used by the drift diff, by patch creation
//! ([`super::create_patch`]) and by [`super::is_contained`].
//!
//! A [`Compare`] says how values compare. Lists follow the API server's strategic merge (the
//! Go struct tags, as `k8s.io/apimachinery/pkg/util/strategicpatch` reads them): a list with
//! patch strategy `merge` and a `patchMergeKey` is keyed by that one key, one with strategy
//! `merge` and no key is a set of scalars, every other list is atomic. Without a schema
//! ([`Compare::schema`] `None`) every list is atomic: JSON merge semantics.

use serde_json::{Map, Value};

use super::{Node, child, quantity};
use crate::schema::{Gvk, Schema};

/// How a desired object is compared with a live one.
#[derive(Clone, Copy)]
pub struct Compare<'a> {
    /// The merge-key table; `None` compares with JSON merge semantics (every list atomic).
    pub schema: Option<&'a Schema>,
    /// Compare values the way the API server stores them: a zero value it omits (`false`,
    /// `0`, `""`, `[]`, `{}`) equals an absent field; resource quantities compare by value
    /// (`100m` = `0.1`); a port number written as a string equals the integer.
    pub api_normalised: bool,
    /// Read a `null` in the desired object as "not set" (skipped) rather than "must be
    /// absent".
    pub null_is_unset: bool,
    /// Fields left out of the comparison: `skip(path, key)` with the path of the map holding
    /// `key` (map keys from the root; list positions left out).
    pub skip: fn(&[&str], &str) -> bool,
}

fn never(_: &[&str], _: &str) -> bool {
    false
}

impl<'a> Compare<'a> {
    /// Plain comparison with a schema: values compare as JSON (numbers by value), `null`
    /// means absent, nothing skipped.
    pub fn exact(schema: &'a Schema) -> Self {
        Compare {
            schema: Some(schema),
            api_normalised: false,
            null_is_unset: false,
            skip: never,
        }
    }

    /// The schema node of the root of `obj` (by its `apiVersion` and `kind`).
    pub(crate) fn root(&self, obj: &Value) -> Node<'a> {
        let Some(schema) = self.schema else {
            return Node::default();
        };
        let ty = schema.kind_type(&Gvk::of(obj));
        Node {
            field: None,
            ty,
            known: ty.is_some(),
        }
    }

    /// The schema node of `key` below `parent`.
    pub(crate) fn child(&self, parent: Node<'a>, key: &str) -> Node<'a> {
        match self.schema {
            Some(schema) if parent.ty.is_some() => child(schema, parent, key),
            _ => Node::default(),
        }
    }

    /// How the list at `node` merges.
    pub(crate) fn list_kind(&self, node: Node<'a>) -> ListKind<'a> {
        match node.field {
            Some(field) if node.known && field.strategy.merge => {
                match field.patch_merge_key.as_deref() {
                    Some(key) => ListKind::Keyed(key),
                    None => ListKind::Set,
                }
            }
            _ => ListKind::Atomic,
        }
    }

    /// Whether two scalars are equal; `parent` and `key` name where they stand (for the
    /// quantity and port rules).
    pub(crate) fn scalar_eq(&self, parent: &str, key: &str, desired: &Value, live: &Value) -> bool {
        match (desired, live) {
            (Value::Number(a), Value::Number(b)) if numbers_equal(a, b) => return true,
            _ if desired == live => return true,
            _ => {}
        }
        if !self.api_normalised {
            return false;
        }
        if QUANTITY_PARENTS.contains(&parent) || key == "sizeLimit" || key == "storage" {
            return quantity::same(desired, live);
        }
        if PORT_KEYS.contains(&key) {
            return matches!((port_number(desired), port_number(live)), (Some(a), Some(b)) if a == b);
        }
        false
    }

    /// Whether a field the live object lacks may be left out: a `null` read as unset, or a
    /// zero value the API server omits.
    pub(crate) fn absent_ok(&self, desired: &Value) -> bool {
        (desired.is_null() && self.null_is_unset) || (self.api_normalised && is_zero(desired))
    }

    /// The index of the first item of `items` whose `key` equals `wanted`.
    pub(crate) fn find_keyed(
        &self,
        parent: &str,
        items: &[Value],
        key: &str,
        wanted: &Value,
    ) -> Option<usize> {
        items.iter().position(|item| {
            item.get(key)
                .is_some_and(|k| self.scalar_eq(parent, key, wanted, k))
        })
    }
}

/// How a list merges under the API server's strategic merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListKind<'a> {
    /// Replaced as a whole.
    Atomic,
    /// Objects merged item by item on one key.
    Keyed(&'a str),
    /// Scalars merged as a set.
    Set,
}

/// Map keys under which values are resource quantities.
const QUANTITY_PARENTS: &[&str] = &[
    "limits",
    "requests",
    "hard",
    "capacity",
    "allocatable",
    "max",
    "min",
    "default",
    "defaultRequest",
    "maxLimitRequestRatio",
];

/// Keys whose values are port numbers (an `IntOrString` or an `int32`).
const PORT_KEYS: &[&str] = &[
    "port",
    "containerPort",
    "hostPort",
    "nodePort",
    "targetPort",
];

fn port_number(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}

fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// A value the Kubernetes API server leaves out when it is the zero value (`omitempty`).
pub fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Whether every item of the list is an object with a scalar `key`.
pub(crate) fn keyed(items: &[Value], key: &str) -> bool {
    items.iter().all(|item| {
        item.get(key)
            .is_some_and(|k| !k.is_null() && !k.is_object() && !k.is_array())
    })
}

/// Whether `live` already holds everything `desired` says, under `cmp`: every field
/// `desired` sets is in `live` with an equal value; keyed lists match items by key (live-only
/// items allowed), sets need every desired scalar, atomic lists the same length with
/// contained items.
pub fn contains(cmp: &Compare<'_>, desired: &Value, live: &Value) -> bool {
    let mut path = Vec::with_capacity(16);
    contains_at(cmp, &mut path, cmp.root(desired), desired, live)
}

pub(crate) fn contains_at<'v>(
    cmp: &Compare<'_>,
    path: &mut Vec<&'v str>,
    node: Node<'_>,
    desired: &'v Value,
    live: &'v Value,
) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => contains_map(cmp, path, node, d, l),
        (Value::Array(d), Value::Array(l)) => contains_list(cmp, path, node, d, l),
        _ => scalar_at(cmp, path, desired, live),
    }
}

/// [`contains_at`] for the items of the list at the end of `path`.
pub(crate) fn contains_list<'v>(
    cmp: &Compare<'_>,
    path: &mut Vec<&'v str>,
    node: Node<'_>,
    desired: &'v [Value],
    live: &'v [Value],
) -> bool {
    let elem = node.items();
    let parent = path.last().copied().unwrap_or("");
    match cmp.list_kind(node) {
        ListKind::Keyed(key) if keyed(desired, key) => desired.iter().all(|item| {
            cmp.find_keyed(parent, live, key, &item[key])
                .is_some_and(|i| contains_at(cmp, path, elem, item, &live[i]))
        }),
        ListKind::Set => desired
            .iter()
            .all(|item| live.iter().any(|li| scalar_at(cmp, path, item, li))),
        _ => {
            desired.len() == live.len()
                && desired
                    .iter()
                    .zip(live)
                    .all(|(di, li)| contains_at(cmp, path, elem, di, li))
        }
    }
}

fn contains_map<'v>(
    cmp: &Compare<'_>,
    path: &mut Vec<&'v str>,
    node: Node<'_>,
    desired: &'v Map<String, Value>,
    live: &'v Map<String, Value>,
) -> bool {
    for (key, dv) in desired {
        if (dv.is_null() && cmp.null_is_unset) || (cmp.skip)(path, key) {
            continue;
        }
        match live.get(key) {
            None | Some(Value::Null) if dv.is_null() => {}
            None => {
                if !cmp.absent_ok(dv) {
                    return false;
                }
            }
            Some(lv) => {
                let sub = if dv.is_object() || dv.is_array() {
                    cmp.child(node, key)
                } else {
                    Node::default()
                };
                path.push(key);
                let ok = contains_at(cmp, path, sub, dv, lv);
                path.pop();
                if !ok {
                    return false;
                }
            }
        }
    }
    true
}

/// Whether `a` and `b` are the same object under `cmp`: [`contains_at`] both ways, and lists
/// pair their items by position. Containment both ways is weaker for lists: matched by key,
/// `[{}, {port: 1}]` and `[{port: 1}, {port: 1}]` contain each other, and so do two orders of
/// the same keyed items; a patch that must give `b` exactly, order included, needs this.
pub(crate) fn equivalent_at<'v>(
    cmp: &Compare<'_>,
    path: &mut Vec<&'v str>,
    node: Node<'_>,
    a: &'v Value,
    b: &'v Value,
) -> bool {
    match (a, b) {
        (Value::Object(am), Value::Object(bm)) => {
            let present =
                |m: &'v Map<String, Value>, key: &str| m.get(key).filter(|v| !v.is_null());
            let keys = am.keys().chain(bm.keys().filter(|k| !am.contains_key(*k)));
            for key in keys {
                if (cmp.skip)(path, key) {
                    continue;
                }
                let same = match (present(am, key), present(bm, key)) {
                    (None, None) => true,
                    (Some(v), None) | (None, Some(v)) => cmp.absent_ok(v),
                    (Some(av), Some(bv)) => {
                        let sub = cmp.child(node, key);
                        path.push(key);
                        let same = equivalent_at(cmp, path, sub, av, bv);
                        path.pop();
                        same
                    }
                };
                if !same {
                    return false;
                }
            }
            true
        }
        (Value::Array(al), Value::Array(bl)) => equivalent_list(cmp, path, node, al, bl),
        _ => scalar_at(cmp, path, a, b) && scalar_at(cmp, path, b, a),
    }
}

/// [`equivalent_at`] for the items of the list at the end of `path`.
pub(crate) fn equivalent_list<'v>(
    cmp: &Compare<'_>,
    path: &mut Vec<&'v str>,
    node: Node<'_>,
    a: &'v [Value],
    b: &'v [Value],
) -> bool {
    let elem = node.items();
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(ai, bi)| equivalent_at(cmp, path, elem, ai, bi))
}

/// [`Compare::scalar_eq`] at the end of `path`.
pub(crate) fn scalar_at(cmp: &Compare<'_>, path: &[&str], desired: &Value, live: &Value) -> bool {
    let (parent, key) = match path {
        [.., parent, key] => (*parent, *key),
        [key] => ("", *key),
        [] => ("", ""),
    };
    cmp.scalar_eq(parent, key, desired, live)
}
