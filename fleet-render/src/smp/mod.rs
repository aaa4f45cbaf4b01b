//! Strategic merge patch with kustomize's (kyaml `merge2`) semantics, JSON patches, and the
//! containment check a drift diff needs.
//!
//! Rules of [`merge`] (the patch is merged into `dest`):
//!
//! * maps merge field by field; a patch scalar wins; a patch `null` removes the field;
//! * a map holding `$patch: delete` is removed, `$patch: replace` replaces the destination
//!   map with the patch map (minus the directive), `$patch: merge` is the default;
//! * a list whose schema has patch strategy `merge` is associative: items are matched on the
//!   merge keys (`x-kubernetes-list-map-keys`, else `x-kubernetes-patch-merge-key`; a
//!   secondary key the patch item lacks is ignored), matched items merge recursively, an item
//!   `{<key>: v, $patch: delete}` removes the matching items (a no-op when none matches), and a
//!   list item `{$patch: replace}` / `{$patch: delete}` replaces / removes the whole list;
//!   without keys (`finalizers`) the list is a set of scalars;
//! * items only the patch has go after the destination's ([`ListIncrease::Append`]) or before
//!   them ([`ListIncrease::Prepend`], what kustomize's patch transformers use);
//! * every other list, and every list of a kind the schema does not know, is replaced by the
//!   patch's list — unless [`MergeOptions::infer_keys`] is set, which then merges lists of maps
//!   sharing one of `mountPath`, `devicePath`, `ip`, `type`, `topologyKey`, `name`,
//!   `containerPort`.
//!
//! The directives of the API server's strategic merge (`$setElementOrder/<list>`,
//! `$deleteFromPrimitiveList/<list>`, `$retainKeys`) are honoured when
//! [`MergeOptions::server_directives`] is set; kustomize ignores them (they stay as ordinary
//! fields), so the kustomize build leaves it off.
//!
//! ```
//! use fleet_render::schema::Schema;
//! use fleet_render::smp::{merge, MergeOptions};
//! use serde_json::json;
//! let dest = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template":
//!     {"spec": {"containers": [{"name": "app", "image": "a:1"}, {"name": "side", "image": "s"}]}}}});
//! let patch = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template":
//!     {"spec": {"containers": [{"name": "app", "image": "a:2"}]}}}});
//! let out = merge(&dest, &patch, Schema::builtin(), &MergeOptions::kustomize()).unwrap().unwrap();
//! assert_eq!(out["spec"]["template"]["spec"]["containers"][0]["image"], "a:2");
//! assert_eq!(out["spec"]["template"]["spec"]["containers"][1]["name"], "side");
//! ```

use serde_json::{Map, Value};

use crate::schema::{FieldInfo, Gvk, Schema, TypeDef};

/// An error merging a strategic merge patch or applying a JSON patch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The patch and the destination disagree on the shape of a field.
    #[error("field {path}: cannot merge a {patch} into a {dest}")]
    KindMismatch {
        /// Dotted path of the field.
        path: String,
        /// What the destination holds (`map`, `list`, `scalar`).
        dest: &'static str,
        /// What the patch holds.
        patch: &'static str,
    },
    /// A `$patch` directive with an unknown value.
    #[error("field {path}: unknown $patch directive {value:?}")]
    BadDirective {
        /// Dotted path of the map or list holding it.
        path: String,
        /// The directive's value.
        value: String,
    },
    /// Merge keys could not be inferred for a list of maps.
    #[error("field {path}: {message}")]
    MergeKey {
        /// Dotted path of the list.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A JSON patch (RFC 6902) is malformed or fails.
    #[error("JSON patch: {0}")]
    JsonPatch(String),
}

/// Where items that only the patch has go in an associative list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListIncrease {
    /// After the destination's items (kyaml's zero value).
    #[default]
    Append,
    /// Before them: patch items in patch order, then the destination's other items.
    Prepend,
}

/// Options of [`merge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MergeOptions {
    /// Where patch-only list items go.
    pub list_increase: ListIncrease,
    /// Infer merge keys for lists the schema does not describe.
    pub infer_keys: bool,
    /// Honour `$setElementOrder`, `$deleteFromPrimitiveList` and `$retainKeys`.
    pub server_directives: bool,
}

impl MergeOptions {
    /// The options kustomize's patch transformers use: prepend, no inference.
    pub fn kustomize() -> Self {
        MergeOptions {
            list_increase: ListIncrease::Prepend,
            infer_keys: false,
            server_directives: false,
        }
    }
}

/// Keys kyaml tries, in order, when inferring the merge key of a list of maps.
pub const INFERRED_KEYS: [&str; 7] = [
    "mountPath",
    "devicePath",
    "ip",
    "type",
    "topologyKey",
    "name",
    "containerPort",
];

const DIRECTIVE: &str = "$patch";

#[derive(Clone, Copy)]
struct Ctx<'a> {
    schema: &'a Schema,
    opts: &'a MergeOptions,
}

/// What the schema says about the value being merged.
#[derive(Clone, Copy, Default)]
struct Node<'a> {
    /// The field holding the value (for lists: strategy and keys).
    field: Option<&'a FieldInfo>,
    /// The object type of the value (or of the list's items).
    ty: Option<&'a TypeDef>,
    /// Whether any schema applies (a known kind); `false` below unknown fields.
    known: bool,
}

/// Merges `patch` into `dest` with the schema of `dest`'s kind (looked up from its
/// `apiVersion` and `kind`, else the patch's). Returns `None` when the patch deletes the
/// whole object (`$patch: delete` at the top).
pub fn merge(
    dest: &Value,
    patch: &Value,
    schema: &Schema,
    opts: &MergeOptions,
) -> Result<Option<Value>, Error> {
    let mut gvk = Gvk::of(dest);
    if gvk.kind.is_empty() || gvk.version.is_empty() {
        gvk = Gvk::of(patch);
    }
    let ty = if gvk.kind.is_empty() || gvk.version.is_empty() {
        None
    } else {
        schema.kind_type(&gvk)
    };
    let node = Node {
        field: None,
        ty,
        known: ty.is_some(),
    };
    let ctx = Ctx { schema, opts };
    let mut path = Vec::new();
    merge_value(ctx, Some(dest), Some(patch), node, &mut path)
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "map",
        Value::Array(_) => "list",
        Value::Null => "null",
        _ => "scalar",
    }
}

fn path_str(path: &[String]) -> String {
    if path.is_empty() {
        ".".to_string()
    } else {
        path.join(".")
    }
}

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

fn child<'a>(ctx: Ctx<'a>, parent: Node<'a>, key: &str) -> Node<'a> {
    let field = parent.ty.and_then(|t| t.field(key));
    let ty = field.and_then(|f| ctx.schema.field_type(f));
    Node {
        field,
        ty,
        known: field.is_some(),
    }
}

fn merge_value(
    ctx: Ctx<'_>,
    dest: Option<&Value>,
    patch: Option<&Value>,
    node: Node<'_>,
    path: &mut Vec<String>,
) -> Result<Option<Value>, Error> {
    if ctx.opts.server_directives
        && let (Some(d), Some(p)) = (present(dest), present(patch))
        && kind_name(d) != kind_name(p)
    {
        // The API server's strategic merge replaces a value whose type changes.
        return merge_value(ctx, None, patch, node, path);
    }
    let leader = present(dest).or(patch);
    match leader {
        None | Some(Value::Object(_)) | Some(Value::Null) => {
            merge_map(ctx, dest, patch, node, path)
        }
        Some(Value::Array(_)) => merge_list(ctx, dest, patch, node, path),
        Some(_) => {
            // A scalar: the patch wins when present (null clears).
            if let (Some(d), Some(p)) = (present(dest), present(patch))
                && kind_name(d) != kind_name(p)
            {
                return Err(Error::KindMismatch {
                    path: path_str(path),
                    dest: kind_name(d),
                    patch: kind_name(p),
                });
            }
            match patch {
                Some(Value::Null) => Ok(None),
                Some(p) => Ok(Some(p.clone())),
                None => Ok(dest.cloned()),
            }
        }
    }
}

fn map_directive(map: &Map<String, Value>, path: &[String]) -> Result<Option<&'static str>, Error> {
    match map.get(DIRECTIVE) {
        None => Ok(None),
        Some(Value::String(s)) if s == "delete" => Ok(Some("delete")),
        Some(Value::String(s)) if s == "replace" => Ok(Some("replace")),
        Some(Value::String(s)) if s == "merge" => Ok(Some("merge")),
        Some(other) => Err(Error::BadDirective {
            path: path_str(path),
            value: match other {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            },
        }),
    }
}

fn merge_map(
    ctx: Ctx<'_>,
    dest: Option<&Value>,
    patch: Option<&Value>,
    node: Node<'_>,
    path: &mut Vec<String>,
) -> Result<Option<Value>, Error> {
    let dest_map = match present(dest) {
        None => None,
        Some(Value::Object(m)) => Some(m),
        Some(d) => {
            return Err(Error::KindMismatch {
                path: path_str(path),
                dest: kind_name(d),
                patch: patch.map_or("nothing", kind_name),
            });
        }
    };
    let patch_map = match patch {
        None => None,
        Some(Value::Null) => {
            // A tagged null clears the field.
            return Ok(None);
        }
        Some(Value::Object(m)) => Some(m),
        Some(p) => {
            return Err(Error::KindMismatch {
                path: path_str(path),
                dest: "map",
                patch: kind_name(p),
            });
        }
    };
    let Some(patch_map) = patch_map else {
        return Ok(dest.cloned());
    };
    let directive = map_directive(patch_map, path)?;
    match directive {
        Some("delete") => return Ok(None),
        Some("replace") => {
            let mut stripped = patch_map.clone();
            stripped.remove(DIRECTIVE);
            // The replacement is merged with itself, which drops nulls and applies nested
            // directives, as kyaml does when it walks the new value.
            let replaced = Value::Object(stripped);
            return merge_map(ctx, None, Some(&replaced), node, path);
        }
        _ => {}
    }
    let empty = Map::new();
    let base = dest_map.unwrap_or(&empty);
    let mut out = base.clone();
    let mut retain: Option<Vec<String>> = None;
    let mut deletes: Vec<(String, Vec<Value>)> = Vec::new();
    let mut orders: Vec<(String, Vec<Value>)> = Vec::new();
    for (key, pv) in patch_map {
        if key == DIRECTIVE {
            continue;
        }
        if ctx.opts.server_directives {
            if key == "$retainKeys" {
                retain = Some(
                    pv.as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                );
                continue;
            }
            if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
                deletes.push((
                    field.to_string(),
                    pv.as_array().cloned().unwrap_or_default(),
                ));
                continue;
            }
            if let Some(field) = key.strip_prefix("$setElementOrder/") {
                orders.push((
                    field.to_string(),
                    pv.as_array().cloned().unwrap_or_default(),
                ));
                continue;
            }
        }
        let sub = child(ctx, node, key);
        path.push(key.clone());
        let merged = merge_value(ctx, base.get(key), Some(pv), sub, path)?;
        path.pop();
        match merged {
            Some(v) => {
                out.insert(key.clone(), v);
            }
            None => {
                out.remove(key);
            }
        }
    }
    if let Some(retain) = retain {
        out.retain(|k, _| retain.iter().any(|r| r == k));
    }
    for (field, values) in deletes {
        if let Some(Value::Array(items)) = out.get_mut(&field) {
            items.retain(|item| !values.contains(item));
        }
    }
    for (field, order) in orders {
        let keys = child(ctx, node, &field)
            .field
            .map(|f| f.merge_keys.clone())
            .unwrap_or_default();
        if let Some(Value::Array(items)) = out.get_mut(&field) {
            apply_element_order(items, &order, &keys);
        }
    }
    Ok(Some(Value::Object(out)))
}

/// Reorders `items` so that those named by `order` (merge-key stubs, or scalars) come in
/// that order; items not named keep their relative order after them.
fn apply_element_order(items: &mut Vec<Value>, order: &[Value], keys: &[String]) {
    let position = |item: &Value| -> Option<usize> {
        order.iter().position(|o| {
            if keys.is_empty() {
                o == item
            } else {
                keys.iter()
                    .all(|k| o.get(k).is_none() || o.get(k) == item.get(k))
                    && keys.iter().any(|k| o.get(k).is_some())
            }
        })
    };
    let mut indexed: Vec<(usize, usize, Value)> = items
        .drain(..)
        .enumerate()
        .map(|(i, v)| (position(&v).unwrap_or(usize::MAX), i, v))
        .collect();
    indexed.sort_by_key(|(p, i, _)| (*p, *i));
    items.extend(indexed.into_iter().map(|(_, _, v)| v));
}

/// The text kyaml compares merge-key values by.
fn key_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn infer_key(list: &[Value]) -> Option<&'static str> {
    if list.is_empty() {
        return None;
    }
    INFERRED_KEYS.into_iter().find(|key| {
        list.iter()
            .all(|item| item.as_object().is_some_and(|m| m.contains_key(*key)))
    })
}

fn list_directive(
    list: &[Value],
    path: &[String],
) -> Result<(Option<&'static str>, Vec<Value>), Error> {
    let mut directive = None;
    let mut rest = Vec::with_capacity(list.len());
    for item in list {
        if let Value::Object(m) = item
            && m.len() == 1
            && m.contains_key(DIRECTIVE)
        {
            directive = map_directive(m, path)?;
            continue;
        }
        rest.push(item.clone());
    }
    Ok((directive, rest))
}

fn matches(item: &Value, keys: &[String], values: &[String]) -> bool {
    // A missing key reads as the empty string, as kyaml compares field values as text.
    item.as_object().is_some_and(|m| {
        keys.iter()
            .zip(values)
            .all(|(k, v)| key_text(m.get(k)) == *v)
    })
}

fn merge_list(
    ctx: Ctx<'_>,
    dest: Option<&Value>,
    patch: Option<&Value>,
    node: Node<'_>,
    path: &mut Vec<String>,
) -> Result<Option<Value>, Error> {
    let dest_list = match present(dest) {
        None => None,
        Some(Value::Array(a)) => Some(a),
        Some(d) => {
            return Err(Error::KindMismatch {
                path: path_str(path),
                dest: kind_name(d),
                patch: patch.map_or("nothing", kind_name),
            });
        }
    };
    let patch_list = match patch {
        None => return Ok(dest.cloned()),
        Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => a,
        Some(p) => {
            return Err(Error::KindMismatch {
                path: path_str(path),
                dest: "list",
                patch: kind_name(p),
            });
        }
    };
    // Associative?
    let mut keys: Vec<String> = Vec::new();
    let associative = match node.field {
        Some(field) if node.known => {
            if field.strategy.merge {
                keys = field.merge_keys.clone();
                true
            } else {
                false
            }
        }
        _ => {
            if ctx.opts.infer_keys {
                let mut found: Option<&'static str> = None;
                let mut any = false;
                for list in [dest_list.map(Vec::as_slice), Some(patch_list.as_slice())]
                    .into_iter()
                    .flatten()
                {
                    if list.is_empty() {
                        continue;
                    }
                    let key = infer_key(list);
                    if let (Some(a), Some(b)) = (found, key)
                        && a != b
                    {
                        return Err(Error::MergeKey {
                            path: path_str(path),
                            message: format!("conflicting merge keys [{a},{b}]"),
                        });
                    }
                    if key.is_some() {
                        found = key;
                        any = true;
                    }
                }
                if let Some(k) = found {
                    keys.push(k.to_string());
                }
                any
            } else {
                false
            }
        }
    };
    if !associative {
        return Ok(Some(Value::Array(patch_list.clone())));
    }
    let (directive, patch_items) = list_directive(patch_list, path)?;
    match directive {
        Some("delete") => return Ok(None),
        Some("replace") => {
            return merge_assoc(ctx, &[], &patch_items, &keys, node, path);
        }
        _ => {}
    }
    let dest_items: &[Value] = dest_list.map_or(&[], Vec::as_slice);
    if directive == Some("merge") {
        // An explicit `$patch: merge` item puts the patch's items first, whatever the
        // list increase direction (kyaml's behaviour in its list vectors).
        let prepend = MergeOptions {
            list_increase: ListIncrease::Prepend,
            ..*ctx.opts
        };
        let ctx = Ctx {
            schema: ctx.schema,
            opts: &prepend,
        };
        return merge_assoc(ctx, dest_items, &patch_items, &keys, node, path);
    }
    merge_assoc(ctx, dest_items, &patch_items, &keys, node, path)
}

fn merge_assoc(
    ctx: Ctx<'_>,
    dest: &[Value],
    patch: &[Value],
    keys: &[String],
    node: Node<'_>,
    path: &mut Vec<String>,
) -> Result<Option<Value>, Error> {
    let elem_node = Node {
        field: None,
        ty: node.ty,
        known: node.known,
    };
    let sources: [&[Value]; 2] = match ctx.opts.list_increase {
        ListIncrease::Append => [dest, patch],
        ListIncrease::Prepend => [patch, dest],
    };
    if keys.is_empty() || patch.iter().chain(dest).all(|v| !v.is_object()) {
        // A set of scalars (or of values without keys).
        let mut out: Vec<Value> = Vec::new();
        let mut deleted: Vec<Value> = Vec::new();
        for source in sources {
            for item in source {
                if out.contains(item) || deleted.contains(item) {
                    continue;
                }
                let d = dest.iter().find(|x| *x == item);
                let p = patch.iter().find(|x| *x == item);
                match merge_value(ctx, d, p, elem_node, path)? {
                    Some(v) if !is_empty_map(&v) => out.push(v),
                    _ => deleted.push(item.clone()),
                }
            }
        }
        return Ok(Some(Value::Array(out)));
    }
    // Tuples of key values, in source order, without repeats.
    let mut tuples: Vec<Vec<String>> = Vec::new();
    for source in sources {
        for item in source {
            if !item.is_object() {
                continue;
            }
            let t: Vec<String> = keys.iter().map(|k| key_text(item.get(k))).collect();
            if !tuples.contains(&t) {
                tuples.push(t);
            }
        }
    }
    let mut result: Vec<(Vec<String>, Vec<String>, Value)> = Vec::new();
    let mut removed: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for tuple in &tuples {
        let (valid_keys, valid_values): (Vec<String>, Vec<String>) = {
            let pairs: Vec<(String, String)> = keys
                .iter()
                .zip(tuple)
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if pairs.is_empty() {
                (keys.to_vec(), tuple.clone())
            } else {
                pairs.into_iter().unzip()
            }
        };
        let d = dest.iter().find(|x| matches(x, &valid_keys, &valid_values));
        let p = patch
            .iter()
            .find(|x| matches(x, &valid_keys, &valid_values));
        let merged = merge_value(ctx, d, p, elem_node, path)?;
        match merged {
            Some(mut v) if !is_empty_map(&v) => {
                if let Value::Object(m) = &mut v {
                    for (k, val) in valid_keys.iter().zip(&valid_values) {
                        if !m.contains_key(k) && !val.is_empty() {
                            m.insert(k.clone(), Value::String(val.clone()));
                        }
                    }
                }
                if let Some(slot) = result
                    .iter_mut()
                    .find(|(_, _, existing)| matches(existing, &valid_keys, &valid_values))
                {
                    slot.2 = v;
                } else {
                    result.push((valid_keys, valid_values, v));
                }
            }
            _ => {
                removed.push((valid_keys, valid_values));
            }
        }
    }
    let out: Vec<Value> = result
        .into_iter()
        .filter(|(_, _, v)| !removed.iter().any(|(k, vals)| matches(v, k, vals)))
        .map(|(_, _, v)| v)
        .collect();
    Ok(Some(Value::Array(out)))
}

fn is_empty_map(v: &Value) -> bool {
    v.as_object().is_some_and(Map::is_empty)
}

/// Applies an RFC 6902 JSON patch (a list of operations) to `target` in place. On error the
/// target is left unchanged.
pub fn apply_json6902(target: &mut Value, ops: &Value) -> Result<(), Error> {
    let patch: json_patch::Patch =
        serde_json::from_value(ops.clone()).map_err(|e| Error::JsonPatch(e.to_string()))?;
    json_patch::patch(target, &patch).map_err(|e| Error::JsonPatch(e.to_string()))
}

/// Computes a two-way strategic merge patch that turns `original` into `modified` for the
/// kind of `modified`: changed and new fields, `null` for removed ones, and for associative
/// lists the changed or new items (with their keys), `{<key>: v, $patch: delete}` for removed
/// items and `$setElementOrder/<list>` when the order changed. Lists without a merge strategy
/// are replaced whole. Apply it with [`merge`] and [`MergeOptions::server_directives`] set.
/// Returns an empty map when nothing changed.
pub fn two_way(original: &Value, modified: &Value, schema: &Schema) -> Value {
    let gvk = Gvk::of(modified);
    let ty = schema.kind_type(&gvk);
    let node = Node {
        field: None,
        ty,
        known: ty.is_some(),
    };
    let opts = MergeOptions::default();
    let ctx = Ctx {
        schema,
        opts: &opts,
    };
    diff_map(ctx, original, modified, node).unwrap_or_else(|| Value::Object(Map::new()))
}

fn diff_map(ctx: Ctx<'_>, original: &Value, modified: &Value, node: Node<'_>) -> Option<Value> {
    let (Value::Object(o), Value::Object(m)) = (original, modified) else {
        return (original != modified).then(|| modified.clone());
    };
    let mut out = Map::new();
    for (k, mv) in m {
        let sub = child(ctx, node, k);
        match o.get(k) {
            None => {
                out.insert(k.clone(), mv.clone());
            }
            Some(ov) if ov == mv => {}
            Some(ov) => match (ov, mv) {
                (Value::Object(_), Value::Object(_)) => {
                    if let Some(d) = diff_map(ctx, ov, mv, sub) {
                        out.insert(k.clone(), d);
                    }
                }
                (Value::Array(oa), Value::Array(ma)) => {
                    let assoc = sub
                        .field
                        .filter(|f| f.strategy.merge && !f.merge_keys.is_empty());
                    match assoc {
                        Some(f) if ma.iter().chain(oa).all(Value::is_object) => {
                            let elem = Node {
                                field: None,
                                ty: sub.ty,
                                known: sub.known,
                            };
                            let keys = &f.merge_keys;
                            let key_of = |v: &Value| -> Vec<String> {
                                keys.iter().map(|k| key_text(v.get(k))).collect()
                            };
                            let mut items = Vec::new();
                            for mi in ma {
                                let kv = key_of(mi);
                                match oa.iter().find(|oi| key_of(oi) == kv) {
                                    Some(oi) if oi == mi => {}
                                    Some(oi) => {
                                        let mut d = diff_map(ctx, oi, mi, elem)
                                            .and_then(|d| d.as_object().cloned())
                                            .unwrap_or_default();
                                        for key in keys {
                                            if let Some(v) = mi.get(key) {
                                                d.insert(key.clone(), v.clone());
                                            }
                                        }
                                        items.push(Value::Object(d));
                                    }
                                    None => items.push(mi.clone()),
                                }
                            }
                            for oi in oa {
                                let kv = key_of(oi);
                                if !ma.iter().any(|mi| key_of(mi) == kv) {
                                    let mut d = Map::new();
                                    for key in keys {
                                        if let Some(v) = oi.get(key) {
                                            d.insert(key.clone(), v.clone());
                                        }
                                    }
                                    d.insert(DIRECTIVE.into(), Value::String("delete".into()));
                                    items.push(Value::Object(d));
                                }
                            }
                            let kept: Vec<Vec<String>> = oa
                                .iter()
                                .map(&key_of)
                                .filter(|kv| ma.iter().any(|mi| key_of(mi) == *kv))
                                .collect();
                            let wanted: Vec<Vec<String>> = ma.iter().map(&key_of).collect();
                            let appended_in_order = wanted.starts_with(&kept);
                            if !appended_in_order {
                                let order: Vec<Value> = ma
                                    .iter()
                                    .map(|mi| {
                                        Value::Object(
                                            keys.iter()
                                                .filter_map(|k| {
                                                    mi.get(k).map(|v| (k.clone(), v.clone()))
                                                })
                                                .collect(),
                                        )
                                    })
                                    .collect();
                                out.insert(format!("$setElementOrder/{k}"), Value::Array(order));
                            }
                            if !items.is_empty() {
                                out.insert(k.clone(), Value::Array(items));
                            }
                        }
                        _ => {
                            out.insert(k.clone(), mv.clone());
                        }
                    }
                }
                _ => {
                    out.insert(k.clone(), mv.clone());
                }
            },
        }
    }
    for k in o.keys() {
        if !m.contains_key(k) {
            out.insert(k.clone(), Value::Null);
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// Whether every field `desired` sets is present in `live` with the same value, using the
/// schema of the kind for lists: associative lists match items by merge key (extra live
/// items are allowed), other lists must have the same length with contained items. A `null`
/// in `desired` means the field must be absent (or null) in `live`.
pub fn is_contained(desired: &Value, live: &Value, schema: &Schema) -> bool {
    let gvk = Gvk::of(desired);
    let ty = schema.kind_type(&gvk);
    let node = Node {
        field: None,
        ty,
        known: ty.is_some(),
    };
    let opts = MergeOptions::default();
    let ctx = Ctx {
        schema,
        opts: &opts,
    };
    contained(ctx, desired, Some(live), node)
}

fn numbers_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || x.as_f64().zip(y.as_f64()).is_some_and(|(x, y)| x == y)
        }
        _ => a == b,
    }
}

fn contained(ctx: Ctx<'_>, desired: &Value, live: Option<&Value>, node: Node<'_>) -> bool {
    match desired {
        Value::Null => present(live).is_none(),
        Value::Object(dm) => {
            let Some(Value::Object(lm)) = live else {
                return false;
            };
            dm.iter().all(|(k, dv)| {
                let sub = child(ctx, node, k);
                contained(ctx, dv, lm.get(k), sub)
            })
        }
        Value::Array(da) => {
            let Some(Value::Array(la)) = live else {
                return false;
            };
            let elem = Node {
                field: None,
                ty: node.ty,
                known: node.known,
            };
            match node.field {
                Some(f) if f.strategy.merge && !f.merge_keys.is_empty() => da.iter().all(|d| {
                    let values: Vec<String> =
                        f.merge_keys.iter().map(|k| key_text(d.get(k))).collect();
                    let (keys, values): (Vec<String>, Vec<String>) = f
                        .merge_keys
                        .iter()
                        .cloned()
                        .zip(values)
                        .filter(|(_, v)| !v.is_empty())
                        .unzip();
                    la.iter()
                        .filter(|l| matches(l, &keys, &values))
                        .any(|l| contained(ctx, d, Some(l), elem))
                }),
                Some(f) if f.is_set() => da.iter().all(|d| la.iter().any(|l| numbers_equal(d, l))),
                _ => {
                    da.len() == la.len()
                        && da
                            .iter()
                            .zip(la)
                            .all(|(d, l)| contained(ctx, d, Some(l), elem))
                }
            }
        }
        scalar => live.is_some_and(|l| numbers_equal(scalar, l)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn delete_directive_on_missing_item_is_noop() {
        let dest = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}});
        let patch = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [{"name": "b", "$patch": "delete"}]}}}});
        let out = merge(&dest, &patch, Schema::builtin(), &MergeOptions::kustomize())
            .unwrap()
            .unwrap();
        assert_eq!(out, dest);
    }

    #[test]
    fn server_directives() {
        let dest = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"finalizers": ["a", "b", "c"]},
            "spec": {"containers": [{"name": "x"}, {"name": "y"}]}});
        let patch = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]},
            "spec": {"$setElementOrder/containers": [{"name": "y"}, {"name": "x"}]}});
        let opts = MergeOptions {
            server_directives: true,
            ..MergeOptions::default()
        };
        let out = merge(&dest, &patch, Schema::builtin(), &opts)
            .unwrap()
            .unwrap();
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "c"]));
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "y"}, {"name": "x"}])
        );
    }

    #[test]
    fn containment() {
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d",
            "uid": "1"}, "spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "side", "image": "s"}, {"name": "app", "image": "a", "imagePullPolicy": "Always"}]}}}});
        let desired = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 2.0, "template": {"spec": {"containers": [{"name": "app", "image": "a"}]}}}});
        assert!(is_contained(&desired, &live, Schema::builtin()));
        let changed = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "b"}]}}}});
        assert!(!is_contained(&changed, &live, Schema::builtin()));
    }
}
