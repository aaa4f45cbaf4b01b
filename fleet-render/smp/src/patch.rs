//! Creating strategic merge patches, as `strategicpatch` does on the API server's side:
//! [`create_patch`] computes the patch that brings one object to another, with or without
//! deletions (`CreateTwoWayMergePatch`, or `CreateThreeWayMergePatch` with no original).
//! The patch is applied with [`super::merge`] and [`super::MergeOptions::api_server`].

use serde_json::{Map, Value};

use super::Node;
use super::compare::{Compare, ListKind, contains_list, equivalent_list, keyed, scalar_at};

/// Whether the items of a keyed list can be patched one by one: each has its key, and no two
/// share it.
fn item_wise(items: &[Value], merge_key: &str) -> bool {
    keyed(items, merge_key)
        && items.iter().enumerate().all(|(i, item)| {
            items[..i]
                .iter()
                .all(|earlier| earlier[merge_key] != item[merge_key])
        })
}

/// Whether a patch removes what the target object lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deletions {
    /// Fields and keyed items only `from` has are removed (`null`, `$patch: delete`,
    /// `$deleteFromPrimitiveList`): applying the patch to `from` gives `to`.
    Include,
    /// Nothing is removed: fields only `from` has are kept, as in a three-way patch whose
    /// original is empty (how Fleet predicts the live object after an apply).
    Ignore,
}

/// The strategic merge patch that turns `from` into `to` under `cmp`: changed and new fields
/// (new values without `null`s; with [`Compare::api_normalised`], with the defaults the API
/// server gives a new port: protocol `TCP`, a Service port's `targetPort`), changed or new
/// keyed-list items carrying their key, and `$setElementOrder/<list>` (the order `to` gives)
/// for every keyed list or set that changes. Values `cmp` finds equal are left out. Lists
/// that are not keyed are replaced whole (`$patch: replace` when the schema says keyed but an
/// item lacks its key). An empty map when nothing changes.
pub fn create_patch(cmp: &Compare<'_>, from: &Value, to: &Value, deletions: Deletions) -> Value {
    let creator = Creator {
        cmp,
        deletions,
        kind: to.get("kind").and_then(Value::as_str).unwrap_or(""),
    };
    let mut path = Vec::with_capacity(16);
    match (from, to) {
        (Value::Object(f), Value::Object(t)) => {
            Value::Object(creator.map(&mut path, cmp.root(to), f, t))
        }
        _ if from == to => Value::Object(Map::new()),
        _ => creator.new_value(&path, to),
    }
}

struct Creator<'c, 'a> {
    cmp: &'c Compare<'a>,
    deletions: Deletions,
    /// The kind of the target object (a Service's new port gets a default `targetPort`).
    kind: &'c str,
}

impl Creator<'_, '_> {
    fn map<'v>(
        &self,
        path: &mut Vec<&'v str>,
        node: Node<'_>,
        from: &'v Map<String, Value>,
        to: &'v Map<String, Value>,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, tv) in to {
            if (self.cmp.skip)(path, key) {
                continue;
            }
            let fv = from.get(key).filter(|v| !v.is_null());
            if tv.is_null() {
                if fv.is_some() && !self.cmp.null_is_unset {
                    out.insert(key.clone(), Value::Null);
                }
                continue;
            }
            path.push(key);
            match fv {
                None => {
                    if !self.cmp.absent_ok(tv) {
                        let sub = self.cmp.child(node, key);
                        out.insert(key.clone(), self.new_field(path, sub, tv));
                    }
                }
                Some(fv) => {
                    let sub = self.cmp.child(node, key);
                    match (fv, tv) {
                        (Value::Object(fm), Value::Object(tm)) => {
                            let patch = self.map(path, sub, fm, tm);
                            if !patch.is_empty() {
                                out.insert(key.clone(), Value::Object(patch));
                            }
                        }
                        (Value::Array(fl), Value::Array(tl)) => {
                            self.list(path, sub, key, fl, tl, &mut out);
                        }
                        _ => {
                            if !scalar_at(self.cmp, path, tv, fv) {
                                // A map or list where the target had a scalar is new to it, with
                                // the same rules as a field the target lacks.
                                let value = if tv.is_object() || tv.is_array() {
                                    self.new_field(path, sub, tv)
                                } else {
                                    self.new_value(path, tv)
                                };
                                out.insert(key.clone(), value);
                            }
                        }
                    }
                }
            }
            path.pop();
        }
        if self.deletions == Deletions::Include {
            for (key, fv) in from {
                if !fv.is_null() && !to.contains_key(key) && !(self.cmp.skip)(path, key) {
                    out.insert(key.clone(), Value::Null);
                }
            }
        }
        out
    }

    /// The patch of the list `key` (at the end of `path`) into `out`.
    fn list<'v>(
        &self,
        path: &mut Vec<&'v str>,
        node: Node<'_>,
        key: &str,
        from: &'v [Value],
        to: &'v [Value],
        out: &mut Map<String, Value>,
    ) {
        let unchanged = match self.deletions {
            Deletions::Ignore => contains_list(self.cmp, path, node, to, from),
            // Exactly, order included: a field only an item of `from` has must be removed
            // too, and applied, the patch must give `to`'s order.
            Deletions::Include => equivalent_list(self.cmp, path, node, from, to),
        };
        if unchanged {
            return;
        }
        let parent = path.last().copied().unwrap_or("");
        let elem = node.items();
        match self.cmp.list_kind(node) {
            ListKind::Keyed(merge_key)
                if item_wise(to, merge_key) && item_wise(from, merge_key) =>
            {
                let mut items = Vec::new();
                let mut matched = vec![false; from.len()];
                for item in to {
                    let found = self
                        .cmp
                        .find_keyed(parent, from, merge_key, &item[merge_key])
                        .filter(|i| !matched[*i]);
                    match found {
                        Some(i) => {
                            matched[i] = true;
                            let (Value::Object(fm), Value::Object(tm)) = (&from[i], item) else {
                                continue;
                            };
                            let mut patch = self.map(path, elem, fm, tm);
                            if !patch.is_empty() {
                                patch.insert(merge_key.to_string(), item[merge_key].clone());
                                items.push(Value::Object(patch));
                            }
                        }
                        None => items.push(self.new_item(path, item)),
                    }
                }
                if self.deletions == Deletions::Include {
                    for (item, _) in from.iter().zip(&matched).filter(|(_, m)| !**m) {
                        let mut stub = Map::new();
                        stub.insert(merge_key.to_string(), item[merge_key].clone());
                        stub.insert("$patch".into(), Value::String("delete".into()));
                        items.push(Value::Object(stub));
                    }
                }
                let order: Vec<Value> = to
                    .iter()
                    .map(|item| {
                        let mut stub = Map::new();
                        stub.insert(merge_key.to_string(), item[merge_key].clone());
                        Value::Object(stub)
                    })
                    .collect();
                out.insert(format!("$setElementOrder/{key}"), Value::Array(order));
                if !items.is_empty() {
                    out.insert(key.to_string(), Value::Array(items));
                }
            }
            ListKind::Keyed(_) => {
                let mut items = vec![serde_json::json!({"$patch": "replace"})];
                items.extend(to.iter().map(|item| self.new_item(path, item)));
                out.insert(key.to_string(), Value::Array(items));
            }
            ListKind::Set => {
                let added: Vec<Value> = to
                    .iter()
                    .filter(|t| !from.iter().any(|f| scalar_at(self.cmp, path, t, f)))
                    .cloned()
                    .collect();
                if self.deletions == Deletions::Include {
                    let removed: Vec<Value> = from
                        .iter()
                        .filter(|f| !to.iter().any(|t| scalar_at(self.cmp, path, t, f)))
                        .cloned()
                        .collect();
                    if !removed.is_empty() {
                        out.insert(
                            format!("$deleteFromPrimitiveList/{key}"),
                            Value::Array(removed),
                        );
                    }
                }
                out.insert(format!("$setElementOrder/{key}"), Value::Array(to.to_vec()));
                if !added.is_empty() {
                    out.insert(key.to_string(), Value::Array(added));
                }
            }
            ListKind::Atomic => {
                out.insert(
                    key.to_string(),
                    self.new_value(path, &Value::Array(to.to_vec())),
                );
            }
        }
    }

    /// A field new to the target, at `node` of the schema: [`Self::new_value`], except that a
    /// keyed list that cannot merge item by item (an item lacks its key, or two share one) is
    /// sent as `$patch: replace`, below new maps and list items too. Merged plainly, such items
    /// would fold into one another (the API server refuses them), and the patch would not give
    /// the target.
    fn new_field(&self, path: &[&str], node: Node<'_>, value: &Value) -> Value {
        match value {
            Value::Array(items) => match self.cmp.list_kind(node) {
                ListKind::Keyed(merge_key) => {
                    let fresh = items.iter().map(|item| self.new_item(path, item));
                    if item_wise(items, merge_key) {
                        let elem = node.items();
                        Value::Array(
                            fresh
                                .map(|item| self.new_field(path, elem, &item))
                                .collect(),
                        )
                    } else {
                        // Replaced items are taken as they are, so nothing below them is marked.
                        let mut out = vec![serde_json::json!({"$patch": "replace"})];
                        out.extend(fresh);
                        Value::Array(out)
                    }
                }
                _ => self.new_value(path, value),
            },
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, v) in map.iter().filter(|(_, v)| !v.is_null()) {
                    let mut inner = path.to_vec();
                    inner.push(key);
                    out.insert(
                        key.clone(),
                        self.new_field(&inner, self.cmp.child(node, key), v),
                    );
                }
                Value::Object(out)
            }
            _ => self.new_value(path, value),
        }
    }

    /// A value new to the target, without `null`s; a new `ports` list gets the API server's
    /// defaults.
    fn new_value(&self, path: &[&str], value: &Value) -> Value {
        match value {
            Value::Array(items) if self.cmp.api_normalised && path.last() == Some(&"ports") => {
                Value::Array(items.iter().map(|item| self.new_item(path, item)).collect())
            }
            _ => strip_nulls(value),
        }
    }

    /// A list item new to the target, with the defaults the API server gives a new port.
    fn new_item(&self, path: &[&str], item: &Value) -> Value {
        let mut item = strip_nulls(item);
        if self.cmp.api_normalised
            && path.last() == Some(&"ports")
            && let Value::Object(map) = &mut item
        {
            if !map.contains_key("protocol") {
                map.insert("protocol".into(), Value::String("TCP".into()));
            }
            let is_service = self.kind == "Service"
                && path == ["spec", "ports"]
                && !map.contains_key("targetPort");
            if is_service && let Some(port) = map.get("port").cloned() {
                map.insert("targetPort".into(), port);
            }
        }
        item
    }
}

/// A copy without `null` map values (a `null` in a desired object reads as "not set").
pub fn strip_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}
