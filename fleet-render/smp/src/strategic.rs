//! The strategic merge itself ([`crate::merge`]): maps, directives, associative, keyed and
//! inferred lists, and the API server's directives, walking the schema beside the value.

use serde_json::{Map, Value};

use crate::schema::{Gvk, Schema};
use crate::{Error, INFERRED_KEYS, ListIncrease, MergeOptions, Node, child};

const DIRECTIVE: &str = "$patch";

#[derive(Clone, Copy)]
struct Ctx<'a> {
    schema: &'a Schema,
    opts: &'a MergeOptions,
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
        let sub = child(ctx.schema, node, key);
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
        let key = child(ctx.schema, node, &field)
            .field
            .and_then(|f| f.patch_merge_key.as_deref());
        let server: &[Value] = base
            .get(&field)
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        if let Some(Value::Array(items)) = out.get_mut(&field) {
            apply_element_order(items, &order, server, key);
        }
    }
    Ok(Some(Value::Object(out)))
}

/// Orders a merged list by `$setElementOrder` as the API server does (`normalizeElementOrder`
/// then `mergeSortedSlice`): the items `order` names (merge-key stubs, or scalars) come in
/// that order; the other items keep their server order and their place relative to the named
/// items the server list also has, so an item the server list has first stays first.
fn apply_element_order(
    items: &mut Vec<Value>,
    order: &[Value],
    server: &[Value],
    key: Option<&str>,
) {
    let id = |v: &Value| match key {
        Some(k) => key_text(v.get(k)),
        None => v.to_string(),
    };
    let order_ids: Vec<String> = order.iter().map(&id).collect();
    let server_ids: Vec<String> = server.iter().map(&id).collect();
    let mut named: Vec<(usize, Option<usize>, Value)> = Vec::new();
    let mut others: Vec<(usize, Option<usize>, Value)> = Vec::new();
    for item in items.drain(..) {
        let item_id = id(&item);
        let server_index = server_ids.iter().position(|s| *s == item_id);
        match order_ids.iter().position(|o| *o == item_id) {
            Some(rank) => named.push((rank, server_index, item)),
            None => others.push((server_index.unwrap_or(usize::MAX), server_index, item)),
        }
    }
    named.sort_by_key(|(rank, _, _)| *rank);
    others.sort_by_key(|(index, _, _)| *index);
    items.extend(merge_sorted(others, named));
}

/// `mergeSortedSlice`: `left` (server-only items) and `right` (named items) interleaved; a
/// left item goes first only when both items are in the server list and the left one comes
/// earlier there.
fn merge_sorted<T>(
    left: Vec<(usize, Option<usize>, T)>,
    right: Vec<(usize, Option<usize>, T)>,
) -> Vec<T> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((_, l, _)), Some((_, r, _))) => matches!((l, r), (Some(l), Some(r)) if l < r),
        };
        let next = if take_left { left.next() } else { right.next() };
        if let Some((_, _, item)) = next {
            out.push(item);
        }
    }
    out
}

/// The text kyaml compares merge-key values by.
fn key_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        // Numbers by value, as patch creation compares them: `0`, `-0.0` and `0.0` are one key.
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f)
                if n.as_i64().is_none()
                    && n.as_u64().is_none()
                    && f.fract() == 0.0
                    && f.abs() < 9.0e15 =>
            {
                format!("{}", f as i64)
            }
            _ => n.to_string(),
        },
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
    if ctx.opts.server_directives {
        return merge_list_server(ctx, dest_list.map(Vec::as_slice), patch_list, node, path);
    }
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
            // kyaml's list visitor hands back the patch list as the destination, so the
            // patch items are merged into themselves.
            return merge_assoc(ctx, None, &patch_items, &keys, node, path);
        }
        _ => {}
    }
    let dest_items: Option<&[Value]> = dest_list.map(Vec::as_slice);
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

/// A list merged in the API server's dialect (`mergeSlice` of `strategicpatch`).
fn merge_list_server(
    ctx: Ctx<'_>,
    dest: Option<&[Value]>,
    patch: &[Value],
    node: Node<'_>,
    path: &mut Vec<String>,
) -> Result<Option<Value>, Error> {
    let Some(field) = node.field.filter(|f| node.known && f.strategy.merge) else {
        return Ok(Some(Value::Array(patch.to_vec())));
    };
    let (directive, items) = list_directive(patch, path)?;
    match directive {
        Some("delete") => return Ok(None),
        Some("replace") => return Ok(Some(Value::Array(items))),
        _ => {}
    }
    let mut out: Vec<Value> = dest.unwrap_or_default().to_vec();
    let Some(key) = field.patch_merge_key.as_deref() else {
        // A set of scalars: the union, first occurrences kept.
        let mut set: Vec<Value> = Vec::with_capacity(out.len() + items.len());
        for item in out.into_iter().chain(items) {
            if !set.contains(&item) {
                set.push(item);
            }
        }
        return Ok(Some(Value::Array(set)));
    };
    let elem = node.items();
    for item in items {
        let wanted = key_text(item.get(key));
        let same_key = |v: &Value| v.is_object() && key_text(v.get(key)) == wanted;
        if item.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") {
            out.retain(|v| !same_key(v));
            continue;
        }
        match out.iter().position(same_key) {
            Some(i) => match merge_value(ctx, Some(&out[i]), Some(&item), elem, path)? {
                Some(merged) => out[i] = merged,
                None => {
                    out.remove(i);
                }
            },
            None => {
                if let Some(new) = merge_value(ctx, None, Some(&item), elem, path)? {
                    out.push(new);
                }
            }
        }
    }
    Ok(Some(Value::Array(out)))
}

/// `dest` is `None` when the destination has no list, or the patch replaces it: kyaml's list
/// visitor then hands back the patch list itself as the destination, so the patch is merged
/// into itself, one list under two names.
fn merge_assoc(
    ctx: Ctx<'_>,
    dest: Option<&[Value]>,
    patch: &[Value],
    keys: &[String],
    node: Node<'_>,
    path: &mut Vec<String>,
) -> Result<Option<Value>, Error> {
    let aliased = dest.is_none();
    let dest = dest.unwrap_or(patch);
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
    merge_keyed(ctx, dest, patch, aliased, keys, sources, elem_node, path)
}

/// One merge-key tuple: the text of each key's value, `""` for a missing, null or empty
/// one (kyaml's `ElementValuesList`).
fn key_tuple(item: &Value, keys: &[String]) -> Vec<String> {
    keys.iter().map(|k| key_text(item.get(k))).collect()
}

/// Two tuples name the same item when they share at least one value and differ only where
/// one side is empty; the result fills the blanks (kyaml's `match`).
fn tuples_match(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() != b.len() {
        return None;
    }
    let mut common = false;
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            out.push(x.clone());
        } else if !x.is_empty() && !y.is_empty() {
            return None;
        } else if x.is_empty() {
            out.push(y.clone());
        } else {
            out.push(x.clone());
        }
    }
    common.then_some(out)
}

/// The keys (and their values in `tuple`) that have a value in some tuple of `all`; when
/// none has, every key with its (empty) value (kyaml's `validateKeys`).
fn valid_keys(
    all: &[Vec<String>],
    tuple: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let used: Vec<bool> = (0..keys.len())
        .map(|i| all.iter().any(|t| t.get(i).is_some_and(|v| !v.is_empty())))
        .collect();
    if !used.contains(&true) {
        return (keys.to_vec(), tuple.to_vec());
    }
    keys.iter()
        .zip(tuple)
        .zip(&used)
        .filter(|(_, used)| **used)
        .map(|((k, v), _)| (k.clone(), v.clone()))
        .unzip()
}

/// The first map item whose key fields all hold the given text (kyaml's `ElementMatcher`
/// with `MatchField`: an empty value asks for a field present with empty text).
fn find_item(list: &[Value], keys: &[String], values: &[String]) -> Option<usize> {
    list.iter().position(|item| {
        item.as_object().is_some_and(|m| {
            keys.iter()
                .zip(values)
                .all(|(k, v)| m.get(k).is_some_and(|x| key_text(Some(x)) == *v))
        })
    })
}

/// kyaml's `ElementSetter` on a list of maps: items whose fields `keys[j]` exist and, for a
/// non-empty `values[j]`, hold that text are replaced by `element` (removed when it is
/// `None`); without a match `element` is appended. Null and empty-map items are dropped on
/// the way; with fewer values than keys the extra keys are not checked, and with no values
/// at all nothing matches and every item is dropped — all as kyaml does.
fn set_element(list: &mut Vec<Value>, element: Option<&Value>, keys: &[String], values: &[String]) {
    let mut found_any = false;
    let mut out = Vec::with_capacity(list.len() + 1);
    for item in list.drain(..) {
        if item.is_null() || is_empty_map(&item) {
            continue;
        }
        let Value::Object(m) = &item else {
            out.push(item);
            continue;
        };
        let found = !values.is_empty()
            && keys.iter().zip(values).all(|(k, v)| {
                m.get(k)
                    .is_some_and(|x| v.is_empty() || key_text(Some(x)) == *v)
            });
        if !found {
            if !values.is_empty() {
                out.push(item);
            }
            continue;
        }
        found_any = true;
        if let Some(e) = element {
            out.push(e.clone());
        }
    }
    *list = out;
    if let Some(e) = element
        && !found_any
    {
        list.push(e.clone());
    }
}

/// Adds the items of `src` to `dst` by key (kyaml's `appendListNode`). With several keys an
/// item is first removed from `dst` and then appended, so merged items move to the end; an
/// item lacking a key field is appended once more for each missing key before being set.
fn append_items(dst: &mut Vec<Value>, src: Vec<Value>, keys: &[String]) {
    for item in src {
        let mut values = Vec::with_capacity(keys.len());
        for k in keys {
            match item.get(k) {
                Some(v) => values.push(key_text(Some(v))),
                None => dst.push(item.clone()),
            }
        }
        if keys.len() > 1 {
            set_element(dst, None, keys, &values);
        }
        set_element(dst, Some(&item), keys, &values);
    }
}

/// A list of maps merged by merge keys, as kyaml's `walkAssociativeSequence` does it
/// (`walk/associative_sequence.go`): the key tuples of both lists in source order (the
/// patch's first when prepending), with tuples that differ only by blanks unified when there
/// are several keys (`[80, ""]` and `[80, TCP]` name one port); each tuple merges the first
/// dest and patch items holding its non-empty values; the merged items are then set into
/// the dest list by key.
#[allow(clippy::too_many_arguments)]
fn merge_keyed(
    ctx: Ctx<'_>,
    dest: &[Value],
    patch: &[Value],
    aliased: bool,
    keys: &[String],
    sources: [&[Value]; 2],
    elem_node: Node<'_>,
    path: &mut Vec<String>,
) -> Result<Option<Value>, Error> {
    let mut tuples: Vec<Vec<String>> = Vec::new();
    for source in sources {
        for item in source {
            let t = key_tuple(item, keys);
            if !tuples.contains(&t) {
                tuples.push(t);
            }
        }
    }
    if keys.len() > 1 {
        // In place and pairwise, in kyaml's order: a tuple may be filled from an earlier one.
        for i in 0..tuples.len() {
            for j in 0..tuples.len() {
                if let Some(m) = tuples_match(&tuples[i], &tuples[j]) {
                    tuples[i] = m.clone();
                    tuples[j] = m;
                }
            }
        }
    }
    let mut dest: Vec<Value> = dest.to_vec();
    if tuples.is_empty() {
        return Ok(Some(Value::Array(dest)));
    }
    let mut merged_items: Vec<Value> = Vec::new();
    let mut set_keys = keys.to_vec();
    for tuple in &tuples {
        let (vkeys, vvalues) = valid_keys(&tuples, tuple, keys);
        set_keys = vkeys.clone();
        // The items are looked up by this tuple's non-empty values only.
        let (lkeys, lvalues) = valid_keys(std::slice::from_ref(tuple), tuple, keys);
        let di = find_item(&dest, &lkeys, &lvalues);
        let d = di.map(|i| dest[i].clone());
        // When the destination is the patch list itself, what was deleted or merged in it
        // is what the patch holds too.
        let p = if aliased {
            d.clone()
        } else {
            find_item(patch, &lkeys, &lvalues).map(|i| patch[i].clone())
        };
        let p = p.as_ref();
        let merged = merge_value(ctx, d.as_ref(), p, elem_node, path)?;
        let mut val = match merged {
            Some(v) if !v.is_null() && !is_empty_map(&v) => v,
            _ => {
                set_element(&mut dest, None, &vkeys, &vvalues);
                continue;
            }
        };
        if let Value::Object(m) = &mut val {
            for (k, v) in vkeys.iter().zip(&vvalues) {
                if !m.contains_key(k) && !v.is_empty() {
                    m.insert(k.clone(), key_value(v));
                }
            }
        }
        // kyaml merges into the dest item itself unless the patch item replaces it.
        let replaces = p.and_then(|p| p.get(DIRECTIVE)).and_then(Value::as_str) == Some("replace");
        if let Some(i) = di
            && !replaces
        {
            dest[i] = val.clone();
        }
        set_element(&mut merged_items, Some(&val), &vkeys, &vvalues);
    }
    let out = match ctx.opts.list_increase {
        ListIncrease::Prepend => {
            append_items(&mut merged_items, dest, &set_keys);
            merged_items
        }
        ListIncrease::Append => {
            append_items(&mut dest, merged_items, &set_keys);
            dest
        }
    };
    Ok(Some(Value::Array(out)))
}

/// A key value kyaml writes back as a plain scalar: it reads as a number or boolean when it
/// looks like one.
fn key_value(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(text.to_string()),
    }
}

fn is_empty_map(v: &Value) -> bool {
    v.as_object().is_some_and(Map::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ports_of(v: &Value) -> Vec<Value> {
        v["spec"]["template"]["spec"]["containers"][0]["ports"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn deployment(ports: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [{"name": "c", "ports": ports}]}}}})
    }

    fn merge_ports(dest: Value, patch: Value, list_increase: ListIncrease) -> Vec<Value> {
        let opts = MergeOptions {
            list_increase,
            ..MergeOptions::kustomize()
        };
        let out = merge(
            &deployment(dest),
            &deployment(patch),
            Schema::builtin(),
            &opts,
        )
        .unwrap()
        .unwrap();
        ports_of(&out)
    }

    #[test]
    fn key_tuples_match_across_blanks() {
        let t = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
        assert_eq!(
            tuples_match(&t("80", ""), &t("80", "TCP")),
            Some(t("80", "TCP"))
        );
        assert_eq!(tuples_match(&t("80", "UDP"), &t("80", "TCP")), None);
        // One shared value is needed: two blanks are one.
        assert_eq!(tuples_match(&t("80", ""), &t("", "")), Some(t("80", "")));
        assert_eq!(tuples_match(&t("80", ""), &t("", "TCP")), None);
    }

    #[test]
    fn composite_keys_merge_only_items_with_the_same_values() {
        // Container ports are keyed by containerPort and protocol; kyaml does not default the
        // protocol, so a patch item naming TCP does not find a dest item without one.
        let got = merge_ports(
            json!([
                {"containerPort": 80, "name": "http"},
                {"containerPort": 53, "protocol": "UDP", "name": "dns-udp"},
                {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"},
                {"containerPort": 9090, "protocol": "TCP", "name": "metrics"}
            ]),
            json!([
                {"containerPort": 80, "protocol": "TCP", "hostPort": 8080},
                {"containerPort": 53, "protocol": "UDP", "hostPort": 5353},
                {"containerPort": 9090, "name": "metrics2"},
                {"containerPort": 1234, "protocol": "SCTP", "name": "new"}
            ]),
            ListIncrease::Prepend,
        );
        // The blank protocols unify with TCP into one tuple each; the TCP patch item for 80
        // is then replaced by the dest item that lacks the protocol, and the patch item for
        // 9090, which lacks it, is never found. New items come first; the others keep the
        // dest order because each is moved to the end in turn.
        assert_eq!(
            got,
            [
                json!({"containerPort": 1234, "protocol": "SCTP", "name": "new"}),
                json!({"containerPort": 80, "name": "http"}),
                json!({"containerPort": 53, "protocol": "UDP", "name": "dns-udp", "hostPort": 5353}),
                json!({"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"}),
                json!({"containerPort": 9090, "protocol": "TCP", "name": "metrics"}),
            ]
        );
    }

    #[test]
    fn composite_keys_append_orders_items_by_first_tuple() {
        // Every item is removed and appended again in tuple order: the dest's tuples, then
        // the patch's new ones.
        let got = merge_ports(
            json!([
                {"containerPort": 53, "protocol": "UDP"},
                {"containerPort": 80, "protocol": "TCP"}
            ]),
            json!([
                {"containerPort": 9000, "protocol": "TCP"},
                {"containerPort": 53, "protocol": "UDP", "hostPort": 1}
            ]),
            ListIncrease::Append,
        );
        assert_eq!(
            got,
            [
                json!({"containerPort": 53, "protocol": "UDP", "hostPort": 1}),
                json!({"containerPort": 80, "protocol": "TCP"}),
                json!({"containerPort": 9000, "protocol": "TCP"}),
            ]
        );
    }

    #[test]
    fn missing_dest_list_is_the_patch_list_itself() {
        // With no env in the dest, kyaml merges the patch list into itself: the unnamed
        // item's blank tuple deletes the named items from that one list first.
        let dest = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}});
        let patch = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [{"name": "a", "env": [
                {"valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "B", "value": "b"}]}]}}}});
        let out = merge(&dest, &patch, Schema::builtin(), &MergeOptions::kustomize())
            .unwrap()
            .unwrap();
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0]["env"],
            json!([{"valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}])
        );
    }

    #[test]
    fn item_without_key_fields_drops_keyed_items() {
        // An item lacking every key forms the all-blank tuple, which merges nothing and
        // deletes every item that has the key fields; with one key the list is emptied, as
        // kubectl kustomize does for a container patch without a name.
        let dest = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}}});
        let patch = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [{"image": "c"}]}}}});
        let out = merge(&dest, &patch, Schema::builtin(), &MergeOptions::kustomize())
            .unwrap()
            .unwrap();
        assert_eq!(out["spec"]["template"]["spec"]["containers"], json!([]));
    }

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
    fn element_order_keeps_server_only_items_in_place() {
        // mergeSortedSlice: `x` is only on the server and stands before `b` there, so it stays
        // in front of it; the named items follow the order the patch gives.
        let dest = json!({"apiVersion": "v1", "kind": "Pod",
            "spec": {"containers": [{"name": "a"}, {"name": "x"}, {"name": "b"}]}});
        let patch = json!({"spec": {
            "$setElementOrder/containers": [{"name": "b"}, {"name": "c"}, {"name": "a"}],
            "containers": [{"name": "c", "image": "c:1"}]}});
        let out = merge(
            &dest,
            &patch,
            Schema::builtin(),
            &MergeOptions::api_server(),
        )
        .unwrap()
        .unwrap();
        let names: Vec<&str> = out["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["x", "b", "c", "a"]);
    }

    #[test]
    fn api_server_dialect_keys_on_the_patch_merge_key() {
        // Container ports have list-map-keys [containerPort, protocol] but patchMergeKey
        // containerPort: the API server merges a protocol change into the same item, kyaml
        // keeps two items.
        let dest = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [
            {"name": "a", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}});
        let patch = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [
            {"name": "a", "ports": [{"containerPort": 80, "protocol": "UDP"}]}]}});
        let server = merge(
            &dest,
            &patch,
            Schema::builtin(),
            &MergeOptions::api_server(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            server["spec"]["containers"][0]["ports"],
            json!([{"containerPort": 80, "protocol": "UDP"}])
        );
        let kyaml = merge(&dest, &patch, Schema::builtin(), &MergeOptions::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            kyaml["spec"]["containers"][0]["ports"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
    }
}
