//! Field ownership (`metadata.managedFields`) and server-side apply.
//!
//! A field set holds leaf paths. A path step is a map field (`f:name`), an item of a keyed
//! list (`k:{"name":"app"}`) or an item of a list of scalars (`v:"x"`); every other list is
//! atomic and owned as a whole. Lists are keyed when the schema gives them merge keys
//! (`x-kubernetes-list-map-keys` or `patchMergeKey`); kinds the schema does not know have
//! granular maps and atomic lists, as structural CustomResourceDefinitions do by default.

use std::collections::BTreeSet;

use fleet_smp::schema::{Gvk, Schema, TypeDef};
use serde_json::{Map, Value, json};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// A map field.
    Field(String),
    /// A keyed list item, by its key fields (JSON text of an object).
    Key(String),
    /// An item of a list of scalars (JSON text of the value).
    Value(String),
}

/// A path from the object root.
pub type Path = Vec<Step>;

/// A set of owned leaf paths.
pub type FieldSet = BTreeSet<Path>;

/// Metadata fields no manager owns (the server sets them, or they identify the object).
const UNOWNED_METADATA: [&str; 10] = [
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// The leaf paths of `object` (an applied configuration or a whole object), skipping
/// `apiVersion`, `kind`, and the metadata the server owns. `status` is skipped unless
/// `with_status`.
pub fn field_set(object: &Value, schema: &Schema, with_status: bool) -> FieldSet {
    let mut out = FieldSet::new();
    let Some(map) = object.as_object() else {
        return out;
    };
    let ty = schema.kind_type(&Gvk::of(object));
    for (key, value) in map {
        if key == "apiVersion" || key == "kind" || (key == "status" && !with_status) {
            continue;
        }
        let field_ty = ty
            .and_then(|t| t.field(key))
            .and_then(|f| schema.field_type(f));
        let path = vec![Step::Field(key.clone())];
        if key == "metadata" {
            if let Some(meta) = value.as_object() {
                for (mk, mv) in meta {
                    if UNOWNED_METADATA.contains(&mk.as_str()) {
                        continue;
                    }
                    let mty = field_ty
                        .and_then(|t| t.field(mk))
                        .and_then(|f| schema.field_type(f));
                    let mut p = path.clone();
                    p.push(Step::Field(mk.clone()));
                    collect(mv, field_ty, mk, mty, schema, p, &mut out);
                }
            }
            continue;
        }
        collect(value, ty, key, field_ty, schema, path, &mut out);
    }
    out
}

/// Adds the leaves of `value`, the field `name` of an object of type `parent`.
fn collect(
    value: &Value,
    parent: Option<&TypeDef>,
    name: &str,
    ty: Option<&TypeDef>,
    schema: &Schema,
    path: Path,
    out: &mut FieldSet,
) {
    let info = parent.and_then(|p| p.field(name));
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let child_ty = ty
                    .and_then(|t| t.field(k))
                    .and_then(|f| schema.field_type(f));
                let mut p = path.clone();
                p.push(Step::Field(k.clone()));
                collect(v, ty, k, child_ty, schema, p, out);
            }
        }
        Value::Array(items) if !items.is_empty() => match info {
            Some(info) if info.is_associative() => {
                for item in items {
                    let mut p = path.clone();
                    p.push(Step::Key(key_of(item, &info.merge_keys)));
                    match item.as_object() {
                        Some(fields) if !fields.is_empty() => {
                            for (k, v) in fields {
                                let child_ty = ty
                                    .and_then(|t| t.field(k))
                                    .and_then(|f| schema.field_type(f));
                                let mut q = p.clone();
                                q.push(Step::Field(k.clone()));
                                collect(v, ty, k, child_ty, schema, q, out);
                            }
                        }
                        _ => {
                            out.insert(p);
                        }
                    }
                }
            }
            Some(info) if info.is_set() => {
                for item in items {
                    let mut p = path.clone();
                    p.push(Step::Value(item.to_string()));
                    out.insert(p);
                }
            }
            _ => {
                out.insert(path);
            }
        },
        _ => {
            out.insert(path);
        }
    }
}

fn key_of(item: &Value, keys: &[String]) -> String {
    let mut map = Map::new();
    for k in keys {
        if let Some(v) = item.get(k) {
            map.insert(k.clone(), v.clone());
        }
    }
    Value::Object(map).to_string()
}

/// The value at `path`, if present.
pub fn get<'a>(object: &'a Value, path: &[Step]) -> Option<&'a Value> {
    let mut cur = object;
    for step in path {
        cur = match step {
            Step::Field(k) => cur.get(k)?,
            Step::Key(key) => {
                let key: Value = serde_json::from_str(key).ok()?;
                let key = key.as_object()?;
                cur.as_array()?
                    .iter()
                    .find(|item| key.iter().all(|(k, v)| item.get(k) == Some(v)))?
            }
            Step::Value(v) => {
                let v: Value = serde_json::from_str(v).ok()?;
                cur.as_array()?.iter().find(|item| **item == v)?
            }
        };
    }
    Some(cur)
}

/// Removes the value at `path`, then maps left empty by the removal. Returns whether
/// anything was removed.
pub fn remove(object: &mut Value, path: &[Step]) -> bool {
    let Some((last, init)) = path.split_last() else {
        return false;
    };
    let removed = {
        let Some(parent) = get_mut(object, init) else {
            return false;
        };
        match last {
            Step::Field(k) => parent.as_object_mut().and_then(|m| m.remove(k)).is_some(),
            Step::Key(_) | Step::Value(_) => {
                let Some(target) = get(parent, std::slice::from_ref(last)).cloned() else {
                    return false;
                };
                match parent.as_array_mut() {
                    Some(items) => {
                        let before = items.len();
                        items.retain(|i| *i != target);
                        items.len() != before
                    }
                    None => false,
                }
            }
        }
    };
    if removed && init.len() > 1 {
        let empty = get(object, init).is_some_and(|v| v.as_object().is_some_and(Map::is_empty));
        if empty {
            remove(object, init);
        }
    }
    removed
}

fn get_mut<'a>(object: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut cur = object;
    for step in path {
        let found = get(cur, std::slice::from_ref(step))?.clone();
        cur = match step {
            Step::Field(k) => cur.get_mut(k)?,
            _ => cur.as_array_mut()?.iter_mut().find(|i| **i == found)?,
        };
    }
    Some(cur)
}

/// Text of a path as the API server prints it in conflicts (`.spec.replicas`,
/// `.spec.containers[name="app"].image`).
pub fn display(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Field(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Key(key) => {
                let key: Value = serde_json::from_str(key).unwrap_or(Value::Null);
                let parts: Vec<String> = key
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                out.push_str(&format!("[{}]", parts.join(",")));
            }
            Step::Value(v) => out.push_str(&format!("[={v}]")),
        }
    }
    out
}

/// A field set as `fieldsV1` (`{"f:data": {"f:key": {}}}`).
pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut cur = &mut root;
        for (i, step) in path.iter().enumerate() {
            let name = match step {
                Step::Field(k) => format!("f:{k}"),
                Step::Key(k) => format!("k:{k}"),
                Step::Value(v) => format!("v:{v}"),
            };
            let entry = cur.entry(name).or_insert_with(|| json!({}));
            let Some(next) = entry.as_object_mut() else {
                break;
            };
            // List items are owned as nodes too, as the real server records them.
            if i + 1 < path.len() && !matches!(step, Step::Field(_)) {
                next.entry(".").or_insert_with(|| json!({}));
            }
            cur = next;
        }
    }
    Value::Object(root)
}

/// Reads `fieldsV1` back into a field set (leaves only; `.` markers are dropped).
pub fn from_fields_v1(value: &Value) -> FieldSet {
    fn walk(map: &Map<String, Value>, prefix: &mut Path, out: &mut FieldSet) {
        for (name, child) in map {
            let step = if let Some(k) = name.strip_prefix("f:") {
                Step::Field(k.to_string())
            } else if let Some(k) = name.strip_prefix("k:") {
                Step::Key(k.to_string())
            } else if let Some(v) = name.strip_prefix("v:") {
                Step::Value(v.to_string())
            } else {
                continue;
            };
            prefix.push(step);
            let children: Map<String, Value> = child
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, _)| *k != ".")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            if children.is_empty() {
                out.insert(prefix.clone());
            } else {
                walk(&children, prefix, out);
            }
            prefix.pop();
        }
    }
    let mut out = FieldSet::new();
    if let Some(map) = value.as_object() {
        walk(map, &mut Vec::new(), &mut out);
    }
    out
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The field manager.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// The API version the manager wrote in.
    pub api_version: String,
    /// `status` for writes through the status subresource, else empty.
    pub subresource: String,
    /// When the entry last changed.
    pub time: String,
    /// Owned fields.
    pub fields: FieldSet,
}

impl Entry {
    fn same_owner(&self, manager: &str, operation: &str, subresource: &str) -> bool {
        self.manager == manager && self.operation == operation && self.subresource == subresource
    }
}

/// The entries of an object's `metadata.managedFields`.
pub fn entries(object: &Value) -> Vec<Entry> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| Entry {
            manager: text(e, "manager"),
            operation: text(e, "operation"),
            api_version: text(e, "apiVersion"),
            subresource: text(e, "subresource"),
            time: text(e, "time"),
            fields: from_fields_v1(&e["fieldsV1"]),
        })
        .collect()
}

/// Writes entries into `metadata.managedFields` (dropping empty ones).
pub fn store_entries(object: &mut Value, list: &[Entry]) {
    let values: Vec<Value> = list
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": to_fields_v1(&e.fields),
            });
            if !e.subresource.is_empty() {
                v["subresource"] = json!(e.subresource);
            }
            v
        })
        .collect();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if values.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(values));
        }
    }
}

/// Who writes, and how.
#[derive(Debug, Clone)]
pub struct Writer<'a> {
    /// Field manager name.
    pub manager: &'a str,
    /// API version of the request.
    pub api_version: &'a str,
    /// `status` for the status subresource, else empty.
    pub subresource: &'a str,
    /// Whether the kind has a status subresource: then `status` belongs to writes through
    /// it, and everything else to writes through the main resource.
    pub status_is_subresource: bool,
    /// Current time (RFC 3339).
    pub time: &'a str,
}

impl Writer<'_> {
    /// Whether this writer's write may own `path`.
    fn covers(&self, path: &[Step]) -> bool {
        if !self.status_is_subresource {
            return true;
        }
        let is_status = path.first() == Some(&Step::Field("status".into()));
        is_status == (self.subresource == "status")
    }
}

/// Records a non-apply write from `old` (absent on create) to `new`: the manager's `Update`
/// entry gains every field it changed or set, which every other manager loses.
///
/// Like the real server, `managedFields` in the written object are taken as given when they
/// are set and not empty (that is how kubectl moves client-side-apply ownership to its
/// server-side-apply manager), `[{}]` clears them, and otherwise the live ones stay.
pub fn record_update(old: Option<&Value>, new: &mut Value, writer: &Writer<'_>, schema: &Schema) {
    let requested = new["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let is_reset = requested.len() == 1 && requested[0].as_object().is_some_and(Map::is_empty);
    let mut list = if is_reset {
        Vec::new()
    } else if !requested.is_empty() && old.is_some() && writer.subresource.is_empty() {
        entries(new)
    } else {
        old.map(entries).unwrap_or_default()
    };
    let new_fields = field_set(new, schema, true);
    let changed: FieldSet = match old {
        None => new_fields
            .iter()
            .filter(|p| writer.covers(p))
            .cloned()
            .collect(),
        Some(old) => {
            let old_fields = field_set(old, schema, true);
            new_fields
                .iter()
                .filter(|p| get(old, p) != get(new, p))
                .chain(old_fields.iter().filter(|p| get(new, p).is_none()))
                .filter(|p| writer.covers(p))
                .cloned()
                .collect()
        }
    };
    for e in &mut list {
        e.fields
            .retain(|p| !changed.contains(p) && get(new, p).is_some());
    }
    let ours: FieldSet = changed
        .into_iter()
        .filter(|p| get(new, p).is_some())
        .collect();
    match list
        .iter_mut()
        .find(|e| e.same_owner(writer.manager, "Update", writer.subresource))
    {
        Some(e) => {
            if !ours.is_empty() {
                e.time = writer.time.to_string();
                e.api_version = writer.api_version.to_string();
            }
            e.fields.extend(ours);
        }
        None if !ours.is_empty() => list.push(Entry {
            manager: writer.manager.to_string(),
            operation: "Update".into(),
            api_version: writer.api_version.to_string(),
            subresource: writer.subresource.to_string(),
            time: writer.time.to_string(),
            fields: ours,
        }),
        None => {}
    }
    store_entries(new, &list);
}

/// The outcome of planning a server-side apply.
#[derive(Debug, Clone, PartialEq)]
pub enum ApplyOutcome {
    /// The merged object, with managed fields recorded.
    Applied(Value),
    /// Fields other managers own with other values.
    Conflicts(Vec<Conflict>),
}

/// A field another manager owns with a different value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The owning manager.
    pub manager: String,
    /// The API version it wrote in.
    pub api_version: String,
    /// The field.
    pub path: Path,
}

/// Server-side apply of `config` by `writer` onto `live` (absent when the object does not
/// exist). Without `force`, fields another manager owns with a different value conflict;
/// with it, ownership moves to the applier. Fields the applier owned by its previous apply
/// and no longer sets are removed unless another manager also owns them.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    writer: &Writer<'_>,
    force: bool,
    schema: &Schema,
) -> Result<ApplyOutcome, fleet_smp::Error> {
    let applied: FieldSet = field_set(config, schema, true)
        .into_iter()
        .filter(|p| writer.covers(p))
        .collect();
    let mut list = live.map(entries).unwrap_or_default();
    let empty = Value::Object(Map::new());
    let base = live.unwrap_or(&empty);
    let mut conflicts = Vec::new();
    for e in &list {
        if e.same_owner(writer.manager, "Apply", writer.subresource) {
            continue;
        }
        for p in e.fields.intersection(&applied) {
            if get(base, p) != get(config, p) {
                conflicts.push(Conflict {
                    manager: e.manager.clone(),
                    api_version: e.api_version.clone(),
                    path: p.clone(),
                });
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Ok(ApplyOutcome::Conflicts(conflicts));
    }
    for c in &conflicts {
        for e in list.iter_mut().filter(|e| e.manager == c.manager) {
            e.fields.remove(&c.path);
        }
    }
    let previous: FieldSet = list
        .iter()
        .find(|e| e.same_owner(writer.manager, "Apply", writer.subresource))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let mut merged = base.clone();
    for path in previous.difference(&applied) {
        let shared = list
            .iter()
            .filter(|e| !e.same_owner(writer.manager, "Apply", writer.subresource))
            .any(|e| e.fields.contains(path));
        if !shared {
            remove(&mut merged, path);
        }
    }
    let mut merged = if live.is_some() {
        fleet_smp::merge(
            &merged,
            config,
            schema,
            &fleet_smp::MergeOptions::api_server(),
        )?
        .unwrap_or(empty.clone())
    } else {
        config.clone()
    };
    list.retain(|e| !e.same_owner(writer.manager, "Apply", writer.subresource));
    for e in &mut list {
        e.fields.retain(|p| get(&merged, p).is_some());
    }
    list.push(Entry {
        manager: writer.manager.to_string(),
        operation: "Apply".into(),
        api_version: writer.api_version.to_string(),
        subresource: writer.subresource.to_string(),
        time: writer.time.to_string(),
        fields: applied,
    });
    if merged.get("metadata").is_none() {
        merged["metadata"] = json!({});
    }
    store_entries(&mut merged, &list);
    Ok(ApplyOutcome::Applied(merged))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(manager: &str) -> Writer<'_> {
        Writer {
            manager,
            api_version: "v1",
            subresource: "",
            status_is_subresource: false,
            time: "2024-01-01T00:00:00Z",
        }
    }

    fn applied(out: ApplyOutcome) -> Value {
        match out {
            ApplyOutcome::Applied(v) => v,
            ApplyOutcome::Conflicts(c) => panic!("unexpected conflicts {c:?}"),
        }
    }

    #[test]
    fn fields_v1_round_trip_with_keyed_lists() {
        let schema = Schema::builtin();
        let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"a": "b"}},
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "x"}]}}}});
        let set = field_set(&dep, schema, false);
        assert!(set.contains(&vec![
            Step::Field("spec".into()),
            Step::Field("template".into()),
            Step::Field("spec".into()),
            Step::Field("containers".into()),
            Step::Key(r#"{"name":"app"}"#.into()),
            Step::Field("image".into()),
        ]));
        assert!(
            !set.iter()
                .any(|p| p.contains(&Step::Field("name".into())) && p.len() == 2)
        );
        let v1 = to_fields_v1(&set);
        assert!(
            v1["f:spec"]["f:template"]["f:spec"]["f:containers"][r#"k:{"name":"app"}"#]["."]
                .is_object()
        );
        assert_eq!(from_fields_v1(&v1), set);
    }

    #[test]
    fn apply_conflicts_then_force_moves_ownership() {
        let schema = Schema::builtin();
        let cfg_a = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "a", "only-a": "1"}});
        let obj = applied(apply(None, &cfg_a, &writer("a"), false, schema).unwrap());
        let cfg_b = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "b"}});
        match apply(Some(&obj), &cfg_b, &writer("b"), false, schema).unwrap() {
            ApplyOutcome::Conflicts(c) => {
                assert_eq!(c.len(), 1);
                assert_eq!(
                    (c[0].manager.as_str(), c[0].api_version.as_str()),
                    ("a", "v1")
                );
                assert_eq!(display(&c[0].path), ".data.k");
            }
            ApplyOutcome::Applied(_) => panic!("expected a conflict"),
        }
        // Same value: shared ownership, no conflict.
        let same = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "a"}});
        assert!(matches!(
            apply(Some(&obj), &same, &writer("b"), false, schema).unwrap(),
            ApplyOutcome::Applied(_)
        ));
        let forced = applied(apply(Some(&obj), &cfg_b, &writer("b"), true, schema).unwrap());
        assert_eq!(forced["data"]["k"], "b");
        assert_eq!(forced["data"]["only-a"], "1");
        let owners = entries(&forced);
        let a = owners.iter().find(|e| e.manager == "a").unwrap();
        assert!(
            !a.fields
                .contains(&vec![Step::Field("data".into()), Step::Field("k".into())])
        );
        // a drops only-a from its config: the field goes, as nobody else owns it.
        let cfg_a2 =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}});
        let after = applied(apply(Some(&forced), &cfg_a2, &writer("a"), false, schema).unwrap());
        assert!(after["data"].get("only-a").is_none());
        assert_eq!(after["data"]["k"], "b");
    }

    #[test]
    fn update_takes_changed_fields() {
        let schema = Schema::builtin();
        let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "a"}});
        let obj = applied(apply(None, &cfg, &writer("a"), false, schema).unwrap());
        let mut new = obj.clone();
        new["data"]["k"] = json!("z");
        record_update(Some(&obj), &mut new, &writer("editor"), schema);
        let list = entries(&new);
        assert!(
            list.iter().all(|e| e.manager != "a"),
            "a lost its only field: {list:?}"
        );
        assert!(
            list.iter()
                .any(|e| e.manager == "editor" && e.operation == "Update")
        );
    }

    #[test]
    fn managed_fields_in_a_write_are_taken_or_reset() {
        let schema = Schema::builtin();
        let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "a"}});
        let obj = applied(apply(None, &cfg, &writer("a"), false, schema).unwrap());
        let mut moved = obj.clone();
        moved["metadata"]["managedFields"][0]["manager"] = json!("b");
        record_update(Some(&obj), &mut moved, &writer("patcher"), schema);
        let list = entries(&moved);
        assert_eq!(
            list.iter().map(|e| e.manager.as_str()).collect::<Vec<_>>(),
            ["b"]
        );
        let mut reset = obj.clone();
        reset["metadata"]["managedFields"] = json!([{}]);
        record_update(Some(&obj), &mut reset, &writer("patcher"), schema);
        assert!(reset["metadata"].get("managedFields").is_none());
        let mut dropped = obj.clone();
        dropped["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("managedFields");
        record_update(Some(&obj), &mut dropped, &writer("patcher"), schema);
        assert_eq!(
            entries(&dropped)[0].manager,
            "a",
            "a write without managedFields keeps the live ones"
        );
    }
}
