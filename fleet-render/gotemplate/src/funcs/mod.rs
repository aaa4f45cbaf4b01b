//! The function library: Go's template built-ins and sprig v3's functions (without `env`,
//! `expandenv`, `getHostByName` and the random and cryptographic ones, which callers add),
//! over [`GoValue`]s. Each is reachable through [`crate::Funcs::builtin`].

use std::collections::BTreeMap;

use crate::value::{GoValue, ListKind};

mod builtins;
mod case;
pub mod conv;
mod dates;
mod dicts;
mod encoding;
mod lists;
mod math;
mod regex;
pub mod semver;
mod strings;
mod url;

/// The result of a library function: a value, or why the call failed.
pub type R = Result<GoValue, String>;

/// A library function.
pub type Pure = fn(&[GoValue]) -> R;

/// Every library function, by name.
pub fn table() -> Vec<(&'static str, Pure)> {
    let mut t = Vec::new();
    builtins::register(&mut t);
    strings::register(&mut t);
    lists::register(&mut t);
    dicts::register(&mut t);
    math::register(&mut t);
    conv::register(&mut t);
    regex::register(&mut t);
    semver::register(&mut t);
    dates::register(&mut t);
    url::register(&mut t);
    t
}

/// The names of the library's functions (with `and` and `or`, which the engine evaluates).
pub fn names() -> BTreeMap<&'static str, ()> {
    let mut names: BTreeMap<&'static str, ()> = table().into_iter().map(|(n, _)| (n, ())).collect();
    names.insert("and", ());
    names.insert("or", ());
    names
}

/// Calls the library function `name` (tests and callers without a template).
pub fn call(name: &str, args: &[GoValue]) -> R {
    match table().into_iter().find(|(n, _)| *n == name) {
        Some((_, f)) => f(args),
        None => Err(format!("function {name:?} not defined")),
    }
}

pub(crate) fn want(name: &str, a: &[GoValue], n: usize) -> Result<(), String> {
    if a.len() == n {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            a.len()
        ))
    }
}

pub(crate) fn want_at_least(name: &str, a: &[GoValue], n: usize) -> Result<(), String> {
    if a.len() >= n {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want at least {n} got {}",
            a.len()
        ))
    }
}

fn wrong_type(expected: &str, v: &GoValue) -> String {
    let got = match v {
        GoValue::Nil => "interface {}".to_string(),
        other => other.type_name(),
    };
    format!("wrong type for value; expected {expected}; got {got}")
}

/// A `string` parameter: Go converts nothing else into one.
pub(crate) fn str_param(a: &[GoValue], i: usize) -> Result<String, String> {
    match a.get(i) {
        Some(GoValue::Str(s)) => Ok(s.to_string()),
        Some(other) => Err(wrong_type("string", other)),
        None => Ok(String::new()),
    }
}

/// An `int` parameter.
pub(crate) fn int_param(a: &[GoValue], i: usize) -> Result<i64, String> {
    match a.get(i) {
        Some(GoValue::Int(n) | GoValue::Int64(n)) => Ok(*n),
        Some(other) => Err(wrong_type("int", other)),
        None => Ok(0),
    }
}

/// A `bool` parameter.
pub(crate) fn bool_param(a: &[GoValue], i: usize) -> Result<bool, String> {
    match a.get(i) {
        Some(GoValue::Bool(b)) => Ok(*b),
        Some(other) => Err(wrong_type("bool", other)),
        None => Ok(false),
    }
}

/// A `map[string]interface {}` parameter (nil is an empty map that cannot be written).
pub(crate) fn map_param(a: &[GoValue], i: usize) -> Result<crate::value::Map, String> {
    match a.get(i) {
        Some(GoValue::Map(m)) => Ok(m.clone()),
        Some(GoValue::Nil) | None => Ok(std::rc::Rc::new(std::cell::RefCell::new(BTreeMap::new()))),
        Some(other) => Err(wrong_type("map[string]interface {}", other)),
    }
}

/// sprig's `strval`: strings as they are, everything else as `fmt` `%v` prints it.
pub(crate) fn strval(v: &GoValue) -> String {
    v.sprint()
}

/// sprig's `strslice`: a list's elements as strings, nil elements dropped; a non-list is a
/// one-element list; nil is empty.
pub(crate) fn strslice(v: &GoValue) -> Vec<String> {
    match v {
        GoValue::List(l) => l
            .items
            .borrow()
            .iter()
            .filter(|x| !x.is_nil())
            .map(strval)
            .collect(),
        GoValue::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

/// The elements of a slice argument, or a sprig-style error naming the function.
pub(crate) fn list_param(name: &str, v: &GoValue) -> Result<Vec<GoValue>, String> {
    match v {
        GoValue::List(l) => Ok(l.items.borrow().clone()),
        GoValue::Object(o) => match o.to_data() {
            GoValue::List(l) => Ok(l.items.borrow().clone()),
            _ => Err(format!("Cannot {name} on type {}", o.type_name())),
        },
        other => Err(format!("Cannot {name} on type {}", other.type_name())),
    }
}

/// A new list of the same Go type as `like`.
pub(crate) fn list_like(like: &GoValue, items: Vec<GoValue>) -> GoValue {
    match like {
        GoValue::List(l) if l.kind == ListKind::Strings => GoValue::List(crate::value::List {
            items: std::rc::Rc::new(std::cell::RefCell::new(items)),
            kind: ListKind::Strings,
        }),
        _ => GoValue::list(items),
    }
}

/// sprig's `empty`: Go's zero values and empty containers.
pub(crate) fn empty(v: &GoValue) -> bool {
    !v.truthy()
}

/// The longest string a function may build.
pub(crate) const MAX_STRING: usize = 16 << 20;
