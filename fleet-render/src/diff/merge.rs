//! The three comparisons of the drift diff, all with "original = nil" semantics (a field only
//! the live object has is never drift):
//!
//! * [`contains`]: does the live object already hold everything the desired object says?
//! * [`predict`]: the live object after the desired one is applied to it (Fleet's "predicted
//!   live"): strategic merge for built-in kinds, JSON merge for the others.
//! * [`merge_patch`]: the RFC 7386 JSON merge patch from one object to another (Fleet's
//!   `modifiedStatus.patch`).
//!
//! Strategic merge details reproduced from `k8s.io/apimachinery/pkg/util/strategicpatch` as
//! Fleet uses it (`CreateThreeWayMergePatch(nil, desired, live)` then `StrategicMergePatch`):
//! keyed lists merge item by item; when a keyed list changes, the items named by the desired
//! list come in the desired order and the live-only items keep their place relative to the
//! items the live list shares with them (`$setElementOrder` + `mergeSortedSlice`), so a new
//! item goes in front of live-only items. Lists without a merge key are replaced as a whole.
//!
//! Values Kubernetes normalises compare by meaning for built-in kinds: a zero value the API
//! server omits (`false`, `0`, `""`, `[]`, `{}`) is not drift when the live object lacks the
//! field; resource quantities compare by value (`100m` = `0.1`); port numbers written as
//! strings equal the integer; numbers compare by value (`1` = `1.0`).

use std::cell::RefCell;
use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};
use serde_json::{Map, Value};

use super::quantity;
use super::schema::{ListType, MergeSchema};

/// What the comparison needs to know about the object being compared.
pub struct Ctx<'a> {
    /// Per-kind facts.
    pub schema: &'a dyn MergeSchema,
    /// The object's `apiVersion`.
    pub api_version: &'a str,
    /// The object's `kind`.
    pub kind: &'a str,
    /// Strategic merge (built-in kind) or JSON merge.
    pub builtin: bool,
    /// Remembers list types across objects of one diff (schema lookups allocate).
    pub cache: Option<&'a ListCache<'a>>,
}

/// A memo of [`MergeSchema::list_type`] answers, keyed by apiVersion, kind and path.
#[derive(Default)]
pub struct ListCache<'a> {
    entries: RefCell<FxHashMap<u64, Vec<CacheEntry<'a>>>>,
}

struct CacheEntry<'a> {
    api_version: String,
    kind: String,
    path: Vec<String>,
    list_type: ListType<'a>,
}

impl<'a> ListCache<'a> {
    fn get(
        &self,
        schema: &'a dyn MergeSchema,
        api_version: &str,
        kind: &str,
        path: &[&str],
    ) -> ListType<'a> {
        let mut hasher = FxHasher::default();
        api_version.hash(&mut hasher);
        kind.hash(&mut hasher);
        path.hash(&mut hasher);
        let key = hasher.finish();
        if let Some(found) = self.entries.borrow().get(&key).and_then(|bucket| {
            bucket.iter().find(|e| {
                e.api_version == api_version
                    && e.kind == kind
                    && e.path.len() == path.len()
                    && e.path.iter().zip(path).all(|(a, b)| a == b)
            })
        }) {
            return found.list_type;
        }
        let list_type = schema.list_type(api_version, kind, path);
        self.entries
            .borrow_mut()
            .entry(key)
            .or_default()
            .push(CacheEntry {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                path: path.iter().map(|s| s.to_string()).collect(),
                list_type,
            });
        list_type
    }
}

impl<'a> Ctx<'a> {
    fn list_type(&self, path: &[&str]) -> ListType<'a> {
        if !self.builtin {
            return ListType::Atomic;
        }
        match self.cache {
            Some(cache) => cache.get(self.schema, self.api_version, self.kind, path),
            None => self.schema.list_type(self.api_version, self.kind, path),
        }
    }
}

/// Keys never compared: server-populated metadata, status, type information and Fleet's own
/// bookkeeping annotations.
pub fn skipped(path: &[&str], key: &str) -> bool {
    match path {
        [] => matches!(key, "status" | "apiVersion" | "kind"),
        ["metadata"] => matches!(
            key,
            "creationTimestamp"
                | "resourceVersion"
                | "uid"
                | "generation"
                | "managedFields"
                | "selfLink"
                | "deletionTimestamp"
                | "deletionGracePeriodSeconds"
                | "namespace"
        ),
        ["metadata", "annotations"] => key.starts_with("objectset.rio.cattle.io/"),
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

const PORT_KEYS: &[&str] = &[
    "port",
    "containerPort",
    "hostPort",
    "nodePort",
    "targetPort",
];

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

fn scalar_eq(ctx: &Ctx<'_>, path: &[&str], desired: &Value, live: &Value) -> bool {
    let (key, parent) = match path {
        [.., parent, key] => (*key, *parent),
        [key] => (*key, ""),
        [] => ("", ""),
    };
    scalar_eq_at(ctx, parent, key, desired, live)
}

fn scalar_eq_at(ctx: &Ctx<'_>, parent: &str, key: &str, desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Number(a), Value::Number(b)) if numbers_equal(a, b) => return true,
        _ if desired == live => return true,
        _ => {}
    }
    if !ctx.builtin {
        return false;
    }
    if QUANTITY_PARENTS.contains(&parent) || key == "sizeLimit" || key == "storage" {
        return quantity::same(desired, live);
    }
    if PORT_KEYS.contains(&key) {
        let as_int = |v: &Value| match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().ok()
            }
            _ => None,
        };
        return matches!((as_int(desired), as_int(live)), (Some(a), Some(b)) if a == b);
    }
    false
}

/// Whether the live value already holds everything the desired value says.
pub fn contains(ctx: &Ctx<'_>, desired: &Value, live: &Value) -> bool {
    let mut path = Vec::with_capacity(16);
    contains_at(ctx, &mut path, desired, live)
}

fn contains_at<'v>(
    ctx: &Ctx<'_>,
    path: &mut Vec<&'v str>,
    desired: &'v Value,
    live: &'v Value,
) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => {
            for (key, dv) in d {
                if dv.is_null() || skipped(path, key) {
                    continue;
                }
                match l.get(key) {
                    None => {
                        if ctx.builtin && is_zero(dv) {
                            continue;
                        }
                        return false;
                    }
                    Some(lv) => {
                        path.push(key);
                        let ok = contains_at(ctx, path, dv, lv);
                        path.pop();
                        if !ok {
                            return false;
                        }
                    }
                }
            }
            true
        }
        (Value::Array(d), Value::Array(l)) => match ctx.list_type(path) {
            ListType::Map(key) if keyed(d, key) => {
                for item in d {
                    match find_keyed(ctx, path, l, key, &item[key]) {
                        Some(li) => {
                            if !contains_at(ctx, path, item, &l[li]) {
                                return false;
                            }
                        }
                        None => return false,
                    }
                }
                true
            }
            ListType::Set => d
                .iter()
                .all(|item| l.iter().any(|li| scalar_eq(ctx, path, item, li))),
            _ => {
                d.len() == l.len()
                    && d.iter()
                        .zip(l)
                        .all(|(di, li)| contains_at(ctx, path, di, li))
            }
        },
        _ => scalar_eq(ctx, path, desired, live),
    }
}

/// Whether every item of the list is an object with a scalar merge key.
fn keyed(items: &[Value], key: &str) -> bool {
    items.iter().all(|item| {
        item.get(key)
            .is_some_and(|k| !k.is_null() && !k.is_object() && !k.is_array())
    })
}

fn find_keyed(
    ctx: &Ctx<'_>,
    path: &[&str],
    items: &[Value],
    key: &str,
    wanted: &Value,
) -> Option<usize> {
    let parent = path.last().copied().unwrap_or("");
    items.iter().position(|item| {
        item.get(key)
            .is_some_and(|k| scalar_eq_at(ctx, parent, key, wanted, k))
    })
}

/// The live object after the desired object is applied to it ("predicted live").
pub fn predict(ctx: &Ctx<'_>, live: &Value, desired: &Value) -> Value {
    let mut path = Vec::with_capacity(16);
    predict_at(ctx, &mut path, live, desired)
}

fn predict_at<'v>(
    ctx: &Ctx<'_>,
    path: &mut Vec<&'v str>,
    live: &'v Value,
    desired: &'v Value,
) -> Value {
    match (live, desired) {
        (Value::Object(l), Value::Object(d)) => {
            let mut out = l.clone();
            for (key, dv) in d {
                if dv.is_null() || skipped(path, key) {
                    continue;
                }
                match l.get(key) {
                    None => {
                        if ctx.builtin && is_zero(dv) {
                            continue;
                        }
                        path.push(key);
                        let value = with_defaults(ctx, path, dv);
                        path.pop();
                        out.insert(key.clone(), value);
                    }
                    Some(lv) => {
                        path.push(key);
                        if !contains_at(ctx, path, dv, lv) {
                            let merged = predict_at(ctx, path, lv, dv);
                            out.insert(key.clone(), merged);
                        }
                        path.pop();
                    }
                }
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(d)) => {
            if contains_at(ctx, path, desired, live) {
                return live.clone();
            }
            match ctx.list_type(path) {
                ListType::Map(key) if keyed(d, key) && keyed(l, key) => {
                    predict_keyed_list(ctx, path, l, d, key)
                }
                ListType::Set => predict_set(ctx, path, l, d),
                _ => with_defaults(ctx, path, desired),
            }
        }
        _ => {
            if scalar_eq(ctx, path, desired, live) {
                live.clone()
            } else {
                with_defaults(ctx, path, desired)
            }
        }
    }
}

fn predict_keyed_list<'v>(
    ctx: &Ctx<'_>,
    path: &mut Vec<&'v str>,
    live: &'v [Value],
    desired: &'v [Value],
    key: &str,
) -> Value {
    // Merge each desired item into its live item, append the new ones.
    let mut merged: Vec<Value> = live.to_vec();
    let mut in_patch: Vec<bool> = vec![false; live.len()];
    let mut patch_rank: Vec<usize> = vec![0; live.len()];
    for (rank, item) in desired.iter().enumerate() {
        match find_keyed(ctx, path, live, key, &item[key]) {
            Some(li) => {
                if !contains_at(ctx, path, item, &live[li]) {
                    merged[li] = predict_at(ctx, path, &live[li], item);
                }
                in_patch[li] = true;
                patch_rank[li] = rank;
            }
            None => {
                merged.push(new_list_item(ctx, path, item));
                in_patch.push(true);
                patch_rank.push(rank);
            }
        }
    }
    // Items the desired list names, in its order; the others, in live order.
    let mut patch_items: Vec<(usize, usize)> = Vec::new(); // (rank, index into merged)
    let mut server_only: Vec<usize> = Vec::new();
    for (i, named) in in_patch.iter().enumerate() {
        if *named {
            patch_items.push((patch_rank[i], i));
        } else {
            server_only.push(i);
        }
    }
    patch_items.sort_by_key(|(rank, _)| *rank);
    // Position in the live list (server order), for items the live list has.
    let server_index = |i: usize| if i < live.len() { Some(i) } else { None };
    let order = merge_sorted(
        &server_only,
        &patch_items.iter().map(|(_, i)| *i).collect::<Vec<_>>(),
        server_index,
    );
    Value::Array(order.into_iter().map(|i| merged[i].clone()).collect())
}

fn predict_set(ctx: &Ctx<'_>, path: &[&str], live: &[Value], desired: &[Value]) -> Value {
    let mut merged: Vec<Value> = live.to_vec();
    let mut rank_of: Vec<Option<usize>> = vec![None; live.len()];
    for (rank, item) in desired.iter().enumerate() {
        match live.iter().position(|l| scalar_eq(ctx, path, item, l)) {
            Some(li) => rank_of[li] = Some(rank),
            None => {
                merged.push(item.clone());
                rank_of.push(Some(rank));
            }
        }
    }
    let mut patch_items: Vec<(usize, usize)> = Vec::new();
    let mut server_only = Vec::new();
    for (i, rank) in rank_of.iter().enumerate() {
        match rank {
            Some(r) => patch_items.push((*r, i)),
            None => server_only.push(i),
        }
    }
    patch_items.sort_by_key(|(rank, _)| *rank);
    let server_index = |i: usize| if i < live.len() { Some(i) } else { None };
    let order = merge_sorted(
        &server_only,
        &patch_items.iter().map(|(_, i)| *i).collect::<Vec<_>>(),
        server_index,
    );
    Value::Array(order.into_iter().map(|i| merged[i].clone()).collect())
}

/// `mergeSortedSlice` of strategicpatch: `left` (live-only items) and `right` (items named by
/// the patch) are merged; a left item goes first only when both items are in the live list and
/// the left one comes earlier there.
fn merge_sorted(
    left: &[usize],
    right: &[usize],
    server_index: impl Fn(usize) -> Option<usize>,
) -> Vec<usize> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() || j < right.len() {
        if i >= left.len() {
            out.push(right[j]);
            j += 1;
        } else if j >= right.len() {
            out.push(left[i]);
            i += 1;
        } else {
            let left_first = match (server_index(left[i]), server_index(right[j])) {
                (Some(li), Some(ri)) => li < ri,
                _ => false,
            };
            if left_first {
                out.push(left[i]);
                i += 1;
            } else {
                out.push(right[j]);
                j += 1;
            }
        }
    }
    out
}

/// A list item that is new to the live object, with the defaults the API server would give it
/// (the protocol of ports, a Service port's target port).
fn new_list_item(ctx: &Ctx<'_>, path: &[&str], item: &Value) -> Value {
    let mut item = strip_nulls(item);
    if ctx.builtin
        && path.last() == Some(&"ports")
        && let Value::Object(map) = &mut item
    {
        default_port(ctx, path, map);
    }
    item
}

fn default_port(ctx: &Ctx<'_>, path: &[&str], map: &mut Map<String, Value>) {
    if !map.contains_key("protocol") {
        map.insert("protocol".into(), Value::String("TCP".into()));
    }
    if ctx.kind == "Service"
        && path == ["spec", "ports"]
        && !map.contains_key("targetPort")
        && let Some(port) = map.get("port").cloned()
    {
        map.insert("targetPort".into(), port);
    }
}

fn with_defaults(ctx: &Ctx<'_>, path: &[&str], value: &Value) -> Value {
    match value {
        Value::Array(items) if ctx.builtin && path.last() == Some(&"ports") => Value::Array(
            items
                .iter()
                .map(|item| new_list_item(ctx, path, item))
                .collect(),
        ),
        _ => strip_nulls(value),
    }
}

/// A copy without `null` map values (the diff reads a `null` in the desired object as "not
/// set").
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

/// The RFC 7386 JSON merge patch that turns `from` into `to` (as evanphx/json-patch's
/// `CreateMergePatch`); `None` when they are equal.
pub fn merge_patch(from: &Value, to: &Value) -> Option<Value> {
    match (from, to) {
        (Value::Object(f), Value::Object(t)) => {
            let mut patch = Map::new();
            for key in f.keys() {
                if !t.contains_key(key) {
                    patch.insert(key.clone(), Value::Null);
                }
            }
            for (key, tv) in t {
                match f.get(key) {
                    None => {
                        patch.insert(key.clone(), tv.clone());
                    }
                    Some(fv) => {
                        if let (Value::Object(_), Value::Object(_)) = (fv, tv) {
                            if let Some(sub) = merge_patch(fv, tv) {
                                patch.insert(key.clone(), sub);
                            }
                        } else if fv != tv {
                            patch.insert(key.clone(), tv.clone());
                        }
                    }
                }
            }
            if patch.is_empty() {
                None
            } else {
                Some(Value::Object(patch))
            }
        }
        _ if from == to => None,
        _ => Some(to.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::schema::BuiltinSchema;
    use serde_json::json;

    fn svc_ctx(schema: &BuiltinSchema) -> Ctx<'_> {
        Ctx {
            schema,
            api_version: "v1",
            kind: "Service",
            builtin: true,
            cache: None,
        }
    }

    #[test]
    fn changed_port_puts_desired_item_first() {
        let schema = BuiltinSchema;
        let ctx = svc_ctx(&schema);
        let desired = json!({"spec": {"ports": [
            {"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http-web-svc"}]}});
        let live = json!({"spec": {"ports": [
            {"name": "http", "protocol": "TCP", "port": 1234, "targetPort": "http-web-svc"}]}});
        assert!(!contains(&ctx, &desired, &live));
        let predicted = predict(&ctx, &live, &desired);
        let patch = merge_patch(&live, &predicted).unwrap();
        assert_eq!(
            fleet_core::gojson::to_string(&patch).unwrap(),
            r#"{"spec":{"ports":[{"name":"http","port":80,"protocol":"TCP","targetPort":"http-web-svc"},{"name":"http","port":1234,"protocol":"TCP","targetPort":"http-web-svc"}]}}"#
        );
    }

    #[test]
    fn live_only_fields_are_not_drift() {
        let schema = BuiltinSchema;
        let ctx = svc_ctx(&schema);
        let desired = json!({"spec": {"ports": [{"port": 80}], "paused": false}});
        let live = json!({"spec": {"ports": [{"port": 1023, "name": "x"}, {"port": 80, "protocol": "TCP"}], "clusterIP": "10.0.0.1"}});
        assert!(contains(&ctx, &desired, &live));
    }

    #[test]
    fn quantities_and_ports_compare_by_value() {
        let schema = BuiltinSchema;
        let ctx = Ctx {
            schema: &schema,
            api_version: "apps/v1",
            kind: "Deployment",
            builtin: true,
            cache: None,
        };
        let desired = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "resources": {"limits": {"cpu": 0.1, "memory": "1Gi"}},
             "ports": [{"containerPort": "8080"}]}]}}}});
        let live = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "resources": {"limits": {"cpu": "100m", "memory": "1024Mi"}},
             "ports": [{"containerPort": 8080, "protocol": "TCP"}]}]}}}});
        assert!(contains(&ctx, &desired, &live));
    }
}
