//! sprig's dictionary functions. Maps are references: `set`, `unset`, `merge` and
//! `mergeOverwrite` change their first argument in place and return it, so the change is seen
//! through every other path to that map (`.Values` included).

use std::collections::BTreeMap;

use super::{Pure, R, empty, map_param, str_param, strval, want, want_at_least};
use crate::value::{GoValue, Map};

pub(super) fn register(t: &mut Vec<(&'static str, Pure)>) {
    t.extend([
        ("dict", dict as Pure),
        ("get", get),
        ("set", set),
        ("unset", unset),
        ("hasKey", has_key),
        ("pluck", pluck),
        ("keys", keys),
        ("pick", |a| pick_or_omit(a, true)),
        ("omit", |a| pick_or_omit(a, false)),
        ("merge", |a| merge(a, false)),
        ("mustMerge", |a| merge(a, false)),
        ("mergeOverwrite", |a| merge(a, true)),
        ("mustMergeOverwrite", |a| merge(a, true)),
        ("values", values),
        ("deepCopy", |a| {
            want("deepCopy", a, 1)?;
            Ok(a[0].deep_copy())
        }),
        ("mustDeepCopy", |a| {
            want("mustDeepCopy", a, 1)?;
            if a[0].is_nil() {
                return Err("deepCopy: cannot copy nil".into());
            }
            Ok(a[0].deep_copy())
        }),
        ("dig", dig),
    ]);
}

fn dict(a: &[GoValue]) -> R {
    let mut map = BTreeMap::new();
    for pair in a.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_else(|| GoValue::from(""));
        map.insert(strval(&pair[0]), value);
    }
    Ok(GoValue::map(map))
}

fn get(a: &[GoValue]) -> R {
    want("get", a, 2)?;
    let m = map_param(a, 0)?;
    let key = str_param(a, 1)?;
    Ok(m.borrow()
        .get(&key)
        .cloned()
        .unwrap_or_else(|| GoValue::from("")))
}

fn writable(a: &[GoValue]) -> Result<Map, String> {
    match a.first() {
        Some(GoValue::Map(m)) => Ok(m.clone()),
        Some(GoValue::Nil) => Err("assignment to entry in nil map".into()),
        _ => map_param(a, 0),
    }
}

fn set(a: &[GoValue]) -> R {
    want("set", a, 3)?;
    let m = writable(a)?;
    let key = str_param(a, 1)?;
    m.borrow_mut().insert(key, a[2].clone());
    Ok(GoValue::Map(m))
}

fn unset(a: &[GoValue]) -> R {
    want("unset", a, 2)?;
    let m = map_param(a, 0)?;
    let key = str_param(a, 1)?;
    m.borrow_mut().remove(&key);
    Ok(GoValue::Map(m))
}

fn has_key(a: &[GoValue]) -> R {
    want("hasKey", a, 2)?;
    let m = map_param(a, 0)?;
    let key = str_param(a, 1)?;
    Ok(GoValue::Bool(m.borrow().contains_key(&key)))
}

fn pluck(a: &[GoValue]) -> R {
    want_at_least("pluck", a, 1)?;
    let key = str_param(a, 0)?;
    let mut out = Vec::new();
    for i in 1..a.len() {
        let m = map_param(a, i)?;
        if let Some(v) = m.borrow().get(&key) {
            out.push(v.clone());
        }
    }
    Ok(GoValue::list(out))
}

fn keys(a: &[GoValue]) -> R {
    // Go's map order is random; charts sort the result, so sorted order is as good as any.
    let mut out = Vec::new();
    for i in 0..a.len() {
        out.extend(map_param(a, i)?.borrow().keys().cloned());
    }
    Ok(GoValue::string_list(out))
}

fn values(a: &[GoValue]) -> R {
    want("values", a, 1)?;
    let m = map_param(a, 0)?;
    Ok(GoValue::list(m.borrow().values().cloned().collect()))
}

fn pick_or_omit(a: &[GoValue], pick: bool) -> R {
    want_at_least(if pick { "pick" } else { "omit" }, a, 1)?;
    let m = map_param(a, 0)?;
    let mut names = Vec::new();
    for i in 1..a.len() {
        names.push(str_param(a, i)?);
    }
    let out = m
        .borrow()
        .iter()
        .filter(|(k, _)| names.contains(k) == pick)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(GoValue::map(out))
}

/// mergo's map merge: nested maps merge in place, a missing or empty destination entry takes
/// the source's, `overwrite` lets every non-nil source entry replace a non-map destination;
/// lists are replaced, never merged; nil source entries are skipped.
pub(crate) fn merge_into(dst: &Map, src: &Map, overwrite: bool, depth: usize) {
    if std::rc::Rc::ptr_eq(dst, src) || depth > crate::value::MAX_DEPTH {
        return;
    }
    let entries: Vec<(String, GoValue)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, sv) in entries {
        if sv.is_nil() {
            continue;
        }
        let dv = dst.borrow().get(&key).cloned();
        match (&dv, &sv) {
            (Some(GoValue::Map(d)), GoValue::Map(s)) => {
                merge_into(d, s, overwrite, depth + 1);
                continue;
            }
            (Some(d), GoValue::Map(_) | GoValue::List(_)) if !empty(d) && !overwrite => continue,
            (Some(d), GoValue::Map(_)) if !empty(d) => continue,
            _ => {}
        }
        let take = match &dv {
            None => true,
            Some(d) => overwrite || empty(d),
        };
        if take {
            dst.borrow_mut().insert(key, sv);
        }
    }
}

fn merge(a: &[GoValue], overwrite: bool) -> R {
    want_at_least("merge", a, 1)?;
    let dst = writable(a)?;
    for i in 1..a.len() {
        let src = map_param(a, i)?;
        merge_into(&dst, &src, overwrite, 0);
    }
    Ok(GoValue::Map(dst))
}

fn dig(a: &[GoValue]) -> R {
    want_at_least("dig", a, 3)?;
    let (map_arg, rest) = a.split_last().ok_or("dig needs arguments")?;
    let (default, names) = rest.split_last().ok_or("dig needs a default")?;
    let mut cur = match map_arg {
        GoValue::Map(m) => m.clone(),
        other => {
            return Err(format!(
                "wrong type for value; expected map[string]interface {{}}; got {}",
                other.type_name()
            ));
        }
    };
    for (i, name) in names.iter().enumerate() {
        let key = match name {
            GoValue::Str(s) => s.to_string(),
            other => {
                return Err(format!(
                    "interface conversion: interface {{}} is {}, not string",
                    other.type_name()
                ));
            }
        };
        let next = cur.borrow().get(&key).cloned();
        match next {
            None => return Ok(default.clone()),
            Some(v) if i + 1 == names.len() => return Ok(v),
            Some(GoValue::Map(m)) => cur = m,
            Some(other) => {
                return Err(format!(
                    "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                    other.type_name()
                ));
            }
        }
    }
    Ok(default.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, GoValue)]) -> GoValue {
        GoValue::map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn set_mutates_the_shared_map() {
        let inner = m(&[("a", GoValue::Int(1))]);
        let outer = m(&[("inner", inner.clone())]);
        let _ = set(&[inner, GoValue::str("b"), GoValue::Int(2)]);
        assert_eq!(outer.sprint(), "map[inner:map[a:1 b:2]]");
    }

    #[test]
    fn merge_fills_missing_and_empty_overwrite_replaces() {
        let dst = m(&[
            ("keep", GoValue::str("d")),
            ("zero", GoValue::Bool(false)),
            ("list", GoValue::list(vec![GoValue::Int(1)])),
            ("nested", m(&[("x", GoValue::Int(1))])),
        ]);
        let src = m(&[
            ("keep", GoValue::str("s")),
            ("zero", GoValue::Bool(true)),
            ("new", GoValue::Int(5)),
            ("list", GoValue::list(vec![GoValue::Int(2)])),
            (
                "nested",
                m(&[("x", GoValue::Int(2)), ("y", GoValue::Int(3))]),
            ),
        ]);
        let merged = merge(&[dst.clone(), src.clone()], false).map(|v| v.sprint());
        assert_eq!(
            merged.as_deref(),
            Ok("map[keep:d list:[1] nested:map[x:1 y:3] new:5 zero:true]")
        );
        let over = merge(
            &[
                dst.clone(),
                m(&[("keep", GoValue::str("")), ("list", GoValue::list(vec![]))]),
            ],
            true,
        );
        assert_eq!(
            over.map(|v| v.sprint()).as_deref(),
            Ok("map[keep: list:[] nested:map[x:1 y:3] new:5 zero:true]")
        );
    }

    #[test]
    fn dig_walks_and_defaults() {
        let d = m(&[("a", m(&[("b", GoValue::str("c"))]))]);
        let got = dig(&[
            GoValue::str("a"),
            GoValue::str("b"),
            GoValue::str("z"),
            d.clone(),
        ]);
        assert_eq!(got.map(|v| v.sprint()).as_deref(), Ok("c"));
        let miss = dig(&[GoValue::str("a"), GoValue::str("x"), GoValue::str("z"), d]);
        assert_eq!(miss.map(|v| v.sprint()).as_deref(), Ok("z"));
    }
}
