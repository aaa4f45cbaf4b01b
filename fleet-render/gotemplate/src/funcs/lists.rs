//! sprig's list functions. They build new lists (Go slices are copied by `append`), compare
//! elements with `reflect.DeepEqual` (`int 3` is not `float64 3`), and the `must` forms return
//! an error where the plain ones would panic (which also fails the template).

use super::{Pure, R, empty, int_param, list_like, list_param, want, want_at_least};
use crate::value::GoValue;

pub(super) fn register(t: &mut Vec<(&'static str, Pure)>) {
    t.extend([
        (
            "list",
            (|a: &[GoValue]| Ok(GoValue::list(a.to_vec()))) as Pure,
        ),
        ("tuple", |a| Ok(GoValue::list(a.to_vec()))),
        ("first", first),
        ("mustFirst", first),
        ("rest", rest),
        ("mustRest", rest),
        ("last", last),
        ("mustLast", last),
        ("initial", initial),
        ("mustInitial", initial),
        ("append", push),
        ("push", push),
        ("mustAppend", push),
        ("mustPush", push),
        ("prepend", prepend),
        ("mustPrepend", prepend),
        ("concat", concat),
        ("reverse", reverse),
        ("mustReverse", reverse),
        ("uniq", uniq),
        ("mustUniq", uniq),
        ("without", without),
        ("mustWithout", without),
        ("has", has),
        ("mustHas", has),
        ("compact", compact),
        ("mustCompact", compact),
        ("slice", slice),
        ("mustSlice", slice),
        ("chunk", chunk),
        ("mustChunk", chunk),
    ]);
}

fn one_list(name: &str, a: &[GoValue]) -> Result<Vec<GoValue>, String> {
    want(name, a, 1)?;
    list_param(name, &a[0])
}

fn first(a: &[GoValue]) -> R {
    Ok(one_list("first", a)?.first().cloned().unwrap_or_default())
}

fn last(a: &[GoValue]) -> R {
    Ok(one_list("last", a)?.last().cloned().unwrap_or_default())
}

fn rest(a: &[GoValue]) -> R {
    let items = one_list("rest", a)?;
    if items.is_empty() {
        return Ok(GoValue::Nil);
    }
    Ok(list_like(&a[0], items[1..].to_vec()))
}

fn initial(a: &[GoValue]) -> R {
    let items = one_list("initial", a)?;
    if items.is_empty() {
        return Ok(GoValue::Nil);
    }
    Ok(list_like(&a[0], items[..items.len() - 1].to_vec()))
}

fn push(a: &[GoValue]) -> R {
    want("append", a, 2)?;
    let mut items = list_param("push", &a[0])?;
    items.push(a[1].clone());
    Ok(GoValue::list(items))
}

fn prepend(a: &[GoValue]) -> R {
    want("prepend", a, 2)?;
    let mut items = list_param("prepend", &a[0])?;
    items.insert(0, a[1].clone());
    Ok(GoValue::list(items))
}

fn concat(a: &[GoValue]) -> R {
    let mut out = Vec::new();
    for l in a {
        out.extend(
            list_param("concat", l)
                .map_err(|_| format!("Cannot concat type {} as list", l.type_name()))?,
        );
    }
    Ok(GoValue::list(out))
}

fn reverse(a: &[GoValue]) -> R {
    let mut items = one_list("reverse", a)?;
    items.reverse();
    Ok(list_like(&a[0], items))
}

fn contains(items: &[GoValue], v: &GoValue) -> bool {
    items.iter().any(|x| x.deep_equal(v))
}

fn uniq(a: &[GoValue]) -> R {
    let mut out: Vec<GoValue> = Vec::new();
    for x in one_list("uniq", a)? {
        if !contains(&out, &x) {
            out.push(x);
        }
    }
    Ok(GoValue::list(out))
}

fn without(a: &[GoValue]) -> R {
    want_at_least("without", a, 1)?;
    let items = list_param("without", &a[0])?;
    Ok(GoValue::list(
        items
            .into_iter()
            .filter(|x| !contains(&a[1..], x))
            .collect(),
    ))
}

fn has(a: &[GoValue]) -> R {
    want("has", a, 2)?;
    if a[1].is_nil() {
        return Ok(GoValue::Bool(false));
    }
    let items = list_param("has", &a[1])?;
    Ok(GoValue::Bool(contains(&items, &a[0])))
}

fn compact(a: &[GoValue]) -> R {
    let items = one_list("compact", a)?;
    Ok(GoValue::list(
        items.into_iter().filter(|x| !empty(x)).collect(),
    ))
}

fn slice(a: &[GoValue]) -> R {
    want_at_least("slice", a, 1)?;
    let items = list_param("slice", &a[0])?;
    let len = items.len() as i64;
    let (from, to) = match &a[1..] {
        [] => (0, len),
        [f] => (int_param(a, 1).map_err(|_| f.type_name())?, len),
        _ => (int_param(a, 1)?, int_param(a, 2)?),
    };
    if from < 0 || to > len || from > to {
        return Err(format!("slice bounds out of range [{from}:{to}]"));
    }
    Ok(list_like(&a[0], items[from as usize..to as usize].to_vec()))
}

fn chunk(a: &[GoValue]) -> R {
    want("chunk", a, 2)?;
    let size = int_param(a, 0)?;
    let items = list_param("chunk", &a[1])?;
    let size = usize::try_from(size)
        .ok()
        .filter(|s| *s > 0)
        .ok_or("chunk size must be positive")?;
    Ok(GoValue::list(
        items
            .chunks(size)
            .map(|c| GoValue::list(c.to_vec()))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_is_deep_equal() {
        let l = GoValue::list(vec![GoValue::Float(3.0), GoValue::str("a")]);
        assert!(!has(&[GoValue::Int(3), l.clone()]).is_ok_and(|v| v.truthy()));
        assert!(has(&[GoValue::Float(3.0), l.clone()]).is_ok_and(|v| v.truthy()));
        let w = without(&[l.clone(), GoValue::str("a")]).map(|v| v.sprint());
        assert_eq!(w.as_deref(), Ok("[3]"));
        let u = uniq(&[GoValue::list(vec![
            GoValue::Int(1),
            GoValue::Int(1),
            GoValue::Int64(1),
        ])]);
        assert_eq!(u.map(|v| v.sprint()).as_deref(), Ok("[1 1]"));
    }

    #[test]
    fn append_builds_a_new_list() {
        let l = GoValue::list(vec![GoValue::Int(1)]);
        let m = push(&[l.clone(), GoValue::Int(2)]).map(|v| v.sprint());
        assert_eq!(m.as_deref(), Ok("[1 2]"));
        assert_eq!(l.sprint(), "[1]");
        assert!(push(&[GoValue::Nil, GoValue::Int(2)]).is_err());
    }
}
