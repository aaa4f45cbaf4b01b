//! `replacements:` — copy a field of one resource into fields of others.

use serde_json::{Map, Value};

use super::res::Res;
use super::select::Selector;
use super::{Builder, Error, Kustomization, scalar_string};

/// One segment of a replacement field path.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    /// A map key.
    Key(String),
    /// A list item whose field `.0` equals `.1`.
    Match(String, String),
    /// A list item of a list of scalars equal to the value.
    Value(String),
    /// A list index.
    Index(usize),
    /// Every item of a list, or every value of a map.
    All,
}

/// Splits `spec.containers.[name=app].image` into segments (dots inside brackets stay).
fn parse_path(path: &str) -> Vec<Seg> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            '.' if depth == 0 => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            if let Some(inner) = p.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                match inner.split_once('=') {
                    Some(("", v)) => Seg::Value(v.to_string()),
                    Some((k, v)) => Seg::Match(k.to_string(), v.to_string()),
                    None => Seg::Key(inner.to_string()),
                }
            } else if p == "*" {
                Seg::All
            } else if let Ok(i) = p.parse::<usize>() {
                Seg::Index(i)
            } else {
                Seg::Key(p)
            }
        })
        .collect()
}

fn get<'a>(v: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(v);
    };
    let next = match (first, v) {
        (Seg::Key(k), Value::Object(m)) => m.get(k)?,
        (Seg::Index(i), Value::Array(a)) => a.get(*i)?,
        (Seg::Key(k), Value::Array(a)) => a.get(k.parse::<usize>().ok()?)?,
        (Seg::Match(k, val), Value::Array(a)) => a
            .iter()
            .find(|item| item.get(k).is_some_and(|x| scalar_string(x) == *val))?,
        (Seg::Value(val), Value::Array(a)) => a.iter().find(|item| scalar_string(item) == *val)?,
        _ => return None,
    };
    get(next, rest)
}

/// Calls `f` on every node at `path`, creating missing maps (and matching list items) when
/// `create` is set. Returns how many nodes were visited.
fn set(v: &mut Value, path: &[Seg], create: bool, f: &mut dyn FnMut(&mut Value)) -> usize {
    let Some((first, rest)) = path.split_first() else {
        f(v);
        return 1;
    };
    match first {
        Seg::Key(k) => {
            if let Value::Array(a) = v
                && let Ok(i) = k.parse::<usize>()
            {
                return a.get_mut(i).map_or(0, |x| set(x, rest, create, f));
            }
            if v.is_null() && create {
                *v = Value::Object(Map::new());
            }
            let Value::Object(m) = v else {
                return 0;
            };
            if !m.contains_key(k) {
                if !create {
                    return 0;
                }
                let fresh = match rest.first() {
                    Some(Seg::Match(..) | Seg::Value(_) | Seg::Index(_)) => {
                        Value::Array(Vec::new())
                    }
                    Some(_) => Value::Object(Map::new()),
                    None => Value::Null,
                };
                m.insert(k.clone(), fresh);
            }
            m.get_mut(k).map_or(0, |x| set(x, rest, create, f))
        }
        Seg::Index(i) => match v {
            Value::Array(a) => a.get_mut(*i).map_or(0, |x| set(x, rest, create, f)),
            _ => 0,
        },
        Seg::Match(k, val) => {
            let Value::Array(a) = v else {
                return 0;
            };
            let mut n = 0;
            for item in a.iter_mut() {
                if item.get(k).is_some_and(|x| scalar_string(x) == *val) {
                    n += set(item, rest, create, f);
                }
            }
            if n == 0 && create {
                let mut m = Map::new();
                m.insert(k.clone(), Value::String(val.clone()));
                a.push(Value::Object(m));
                if let Some(last) = a.last_mut() {
                    n += set(last, rest, create, f);
                }
            }
            n
        }
        Seg::Value(val) => {
            let Value::Array(a) = v else {
                return 0;
            };
            a.iter_mut()
                .filter(|item| scalar_string(item) == *val)
                .map(|item| set(item, rest, create, f))
                .sum()
        }
        Seg::All => match v {
            Value::Array(a) => a.iter_mut().map(|x| set(x, rest, create, f)).sum(),
            Value::Object(m) => m.values_mut().map(|x| set(x, rest, create, f)).sum(),
            _ => 0,
        },
    }
}

struct Options {
    delimiter: Option<String>,
    index: i64,
    create: bool,
}

fn options(v: Option<&Value>) -> Options {
    let v = v.unwrap_or(&Value::Null);
    Options {
        delimiter: v
            .get("delimiter")
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        index: v.get("index").and_then(Value::as_i64).unwrap_or(0),
        create: v.get("create").and_then(Value::as_bool).unwrap_or(false),
    }
}

fn selector(k: &Kustomization, v: &Value, what: &str) -> Result<Selector, Error> {
    let mut m = v.as_object().cloned().unwrap_or_default();
    m.remove("fieldPath");
    m.remove("options");
    // Replacement selectors match names and kinds literally.
    for key in ["group", "version", "kind", "name", "namespace"] {
        if let Some(Value::String(s)) = m.get_mut(key) {
            *s = regex::escape(s);
        }
    }
    Selector::parse(&Value::Object(m)).map_err(|e| Error::Transform {
        file: k.file.clone(),
        field: "replacements".into(),
        message: format!("{what}: {e}"),
    })
}

fn terr(k: &Kustomization, message: String) -> Error {
    Error::Transform {
        file: k.file.clone(),
        field: "replacements".into(),
        message,
    }
}

/// Runs the kustomization's `replacements`.
pub(super) fn run(b: &Builder<'_>, k: &Kustomization, resources: &mut [Res]) -> Result<(), Error> {
    let mut list = Vec::new();
    for entry in k.list("replacements")? {
        if let Some(path) = entry.get("path").and_then(Value::as_str) {
            let (file, bytes) = b.read_file(k, "replacements", path)?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let docs = fleet_core::yaml::documents(&text).map_err(|e| Error::Yaml {
                file,
                message: e.to_string(),
            })?;
            for doc in docs {
                match doc {
                    Value::Array(items) => list.extend(items),
                    Value::Null => {}
                    other => list.push(other),
                }
            }
        } else {
            list.push(entry);
        }
    }
    for r in &list {
        let source = r
            .get("source")
            .ok_or_else(|| terr(k, "a replacement needs a source".into()))?;
        let sel = selector(k, source, "source")?;
        let matched: Vec<&Res> = resources.iter().filter(|x| sel.matches(x)).collect();
        let src = match matched.as_slice() {
            [one] => *one,
            [] => return Err(terr(k, format!("nothing selected by source {source}"))),
            _ => {
                return Err(terr(
                    k,
                    format!("multiple matches for source selector {source}"),
                ));
            }
        };
        let field_path = source
            .get("fieldPath")
            .and_then(Value::as_str)
            .unwrap_or("metadata.name");
        let mut value = get(&src.obj, &parse_path(field_path))
            .cloned()
            .ok_or_else(|| {
                terr(
                    k,
                    format!(
                        "fieldPath '{field_path}' is missing in source {}",
                        src.id_string()
                    ),
                )
            })?;
        let sopts = options(source.get("options"));
        if let Some(delim) = &sopts.delimiter {
            let text = scalar_string(&value);
            let parts: Vec<&str> = text.split(delim.as_str()).collect();
            let part = usize::try_from(sopts.index)
                .ok()
                .and_then(|i| parts.get(i))
                .ok_or_else(|| {
                    terr(k, format!("options.index {} is out of bounds", sopts.index))
                })?;
            value = Value::String(part.to_string());
        }
        for target in r
            .get("targets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let select = target
                .get("select")
                .cloned()
                .unwrap_or(Value::Object(Map::new()));
            let sel = selector(k, &select, "select")?;
            let rejects: Vec<Selector> = target
                .get("reject")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|rj| selector(k, rj, "reject"))
                .collect::<Result<_, _>>()?;
            let topts = options(target.get("options"));
            let paths: Vec<String> = target
                .get("fieldPaths")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            for res in resources.iter_mut() {
                if !sel.matches(res) || rejects.iter().any(|rj| rj.matches(res)) {
                    continue;
                }
                for path in &paths {
                    let segs = parse_path(path);
                    let mut error = None;
                    set(
                        &mut res.obj,
                        &segs,
                        topts.create,
                        &mut |node| match &topts.delimiter {
                            Some(delim) => {
                                let current = scalar_string(node);
                                let mut parts: Vec<String> =
                                    current.split(delim.as_str()).map(str::to_string).collect();
                                let new = scalar_string(&value);
                                if topts.index < 0 {
                                    parts.insert(0, new);
                                } else if let Some(slot) = usize::try_from(topts.index)
                                    .ok()
                                    .and_then(|i| parts.get_mut(i))
                                {
                                    *slot = new;
                                } else {
                                    parts.push(new);
                                }
                                *node = Value::String(parts.join(delim));
                            }
                            None => {
                                if node.is_object() && !value.is_object()
                                    || node.is_array() && !value.is_array()
                                {
                                    error = Some(format!(
                                        "cannot replace a {} at '{path}' with a scalar",
                                        if node.is_object() { "map" } else { "list" }
                                    ));
                                    return;
                                }
                                *node = value.clone();
                            }
                        },
                    );
                    if let Some(e) = error {
                        return Err(terr(k, e));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths() {
        assert_eq!(
            parse_path("spec.containers.[name=app].image"),
            vec![
                Seg::Key("spec".into()),
                Seg::Key("containers".into()),
                Seg::Match("name".into(), "app".into()),
                Seg::Key("image".into())
            ]
        );
        assert_eq!(
            parse_path("metadata.annotations.[a.b/c]"),
            vec![
                Seg::Key("metadata".into()),
                Seg::Key("annotations".into()),
                Seg::Key("a.b/c".into())
            ]
        );
        let v = json!({"spec": {"containers": [{"name": "app", "image": "x"}]}});
        assert_eq!(
            get(&v, &parse_path("spec.containers.[name=app].image")),
            Some(&json!("x"))
        );
        assert_eq!(
            get(&v, &parse_path("spec.containers.0.name")),
            Some(&json!("app"))
        );
    }
}
