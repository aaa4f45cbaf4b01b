//! The value model of the engine: Go's kinds as templates observe them.
//!
//! Numbers keep their Go type (`int` for template literals, lengths and indices, `int64` for
//! sprig arithmetic, `float64` for everything read from YAML or JSON), lists remember whether
//! they are `[]string` or `[]interface {}`, and maps and lists are shared references: Go maps
//! alias, so `set` on a map reached through `.Values` is visible through every other path to
//! it. Host objects ([`Object`]) carry methods (`.Capabilities.APIVersions.Has`,
//! `.Files.Get`, semver versions). [`GoValue::from_json`] and [`GoValue::to_json`] convert at
//! the boundaries.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

pub use serde_json::Value;

/// Whether a list is Go's `[]interface {}` or `[]string` (what `splitList`, `keys`,
/// `sortAlpha` and `toStrings` return).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// `[]interface {}`.
    Any,
    /// `[]string`.
    Strings,
}

/// A shared, mutable list.
#[derive(Debug, Clone)]
pub struct List {
    /// The elements, shared between every copy of the value.
    pub items: Rc<RefCell<Vec<GoValue>>>,
    /// The Go element type.
    pub kind: ListKind,
}

/// A shared, mutable map with string keys, iterated in sorted key order as Go's `range` does.
pub type Map = Rc<RefCell<BTreeMap<String, GoValue>>>;

/// A host object: a Go struct or named type with fields and methods.
pub trait Object: fmt::Debug {
    /// The Go type name (`typeOf`), e.g. `*semver.Version`.
    fn type_name(&self) -> String;
    /// A field (`args` empty) or the result of a method called with `args`; `None` when the
    /// object has no member of that name.
    fn member(&self, name: &str, args: &[GoValue]) -> Option<Result<GoValue, String>>;
    /// How `fmt` prints it (`%v`): its `String()` method where Go has one.
    fn print(&self) -> String;
    /// Go truth: structs are always true; slice types are true when non-empty.
    fn truthy(&self) -> bool {
        true
    }
    /// The data `json.Marshal` would see (for `toJson`/`toYaml`).
    fn to_data(&self) -> GoValue {
        GoValue::Map(Rc::new(RefCell::new(BTreeMap::new())))
    }
    /// Lets functions recognise their own objects (`semver` versions).
    fn as_any(&self) -> &dyn std::any::Any;
}

/// A template value.
#[derive(Debug, Clone, Default)]
pub enum GoValue {
    /// `nil` (also what a missing map key gives).
    #[default]
    Nil,
    /// `bool`.
    Bool(bool),
    /// Go `int`.
    Int(i64),
    /// Go `int64`.
    Int64(i64),
    /// Go `float64`.
    Float(f64),
    /// `string`.
    Str(Rc<str>),
    /// A slice.
    List(List),
    /// `map[string]interface {}`.
    Map(Map),
    /// A host object with methods.
    Object(Rc<dyn Object>),
}

impl From<&str> for GoValue {
    fn from(s: &str) -> Self {
        GoValue::Str(Rc::from(s))
    }
}

impl From<String> for GoValue {
    fn from(s: String) -> Self {
        GoValue::Str(Rc::from(s))
    }
}

impl From<bool> for GoValue {
    fn from(b: bool) -> Self {
        GoValue::Bool(b)
    }
}

/// How JSON numbers become Go numbers at the boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbers {
    /// Integers stay `int`, others `float64` (data built in Rust).
    Typed,
    /// Every number is `float64`, as `encoding/json` into `interface{}` gives (Helm values).
    Float64,
}

impl GoValue {
    /// A string value.
    pub fn str(s: impl AsRef<str>) -> GoValue {
        GoValue::Str(Rc::from(s.as_ref()))
    }

    /// A new `[]interface {}`.
    pub fn list(items: Vec<GoValue>) -> GoValue {
        GoValue::List(List {
            items: Rc::new(RefCell::new(items)),
            kind: ListKind::Any,
        })
    }

    /// A new `[]string`.
    pub fn string_list(items: Vec<String>) -> GoValue {
        GoValue::List(List {
            items: Rc::new(RefCell::new(items.into_iter().map(GoValue::from).collect())),
            kind: ListKind::Strings,
        })
    }

    /// A new map.
    pub fn map(entries: BTreeMap<String, GoValue>) -> GoValue {
        GoValue::Map(Rc::new(RefCell::new(entries)))
    }

    /// A new empty map.
    pub fn empty_map() -> GoValue {
        GoValue::map(BTreeMap::new())
    }

    /// Converts JSON data.
    pub fn from_json(v: &Value, numbers: Numbers) -> GoValue {
        match v {
            Value::Null => GoValue::Nil,
            Value::Bool(b) => GoValue::Bool(*b),
            Value::Number(n) => match (numbers, n.as_i64()) {
                (Numbers::Typed, Some(i)) => GoValue::Int(i),
                _ => GoValue::Float(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => GoValue::str(s),
            Value::Array(a) => {
                GoValue::list(a.iter().map(|x| GoValue::from_json(x, numbers)).collect())
            }
            Value::Object(o) => GoValue::map(
                o.iter()
                    .map(|(k, x)| (k.clone(), GoValue::from_json(x, numbers)))
                    .collect(),
            ),
        }
    }

    /// Converts to JSON data (objects give what `json.Marshal` sees of them).
    pub fn to_json(&self) -> Value {
        self.to_json_depth(0)
    }

    fn to_json_depth(&self, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        match self {
            GoValue::Nil => Value::Null,
            GoValue::Bool(b) => Value::Bool(*b),
            GoValue::Int(i) | GoValue::Int64(i) => Value::from(*i),
            GoValue::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, |n| {
                // Integral floats come back as integers, as JSON text would read.
                if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
                    Value::from(*f as i64)
                } else {
                    Value::Number(n)
                }
            }),
            GoValue::Str(s) => Value::String(s.to_string()),
            GoValue::List(l) => Value::Array(
                l.items
                    .borrow()
                    .iter()
                    .map(|x| x.to_json_depth(depth + 1))
                    .collect(),
            ),
            GoValue::Map(m) => Value::Object(
                m.borrow()
                    .iter()
                    .map(|(k, x)| (k.clone(), x.to_json_depth(depth + 1)))
                    .collect(),
            ),
            GoValue::Object(o) => o.to_data().to_json_depth(depth + 1),
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            GoValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is nil.
    pub fn is_nil(&self) -> bool {
        matches!(self, GoValue::Nil)
    }

    /// Go's truth: false, 0, nil, empty string/list/map are false; structs are true.
    pub fn truthy(&self) -> bool {
        match self {
            GoValue::Nil => false,
            GoValue::Bool(b) => *b,
            GoValue::Int(i) | GoValue::Int64(i) => *i != 0,
            GoValue::Float(f) => *f != 0.0,
            GoValue::Str(s) => !s.is_empty(),
            GoValue::List(l) => !l.items.borrow().is_empty(),
            GoValue::Map(m) => !m.borrow().is_empty(),
            GoValue::Object(o) => o.truthy(),
        }
    }

    /// Go's type name as `%T` and sprig's `typeOf` print it.
    pub fn type_name(&self) -> String {
        match self {
            GoValue::Nil => "<nil>".into(),
            GoValue::Bool(_) => "bool".into(),
            GoValue::Int(_) => "int".into(),
            GoValue::Int64(_) => "int64".into(),
            GoValue::Float(_) => "float64".into(),
            GoValue::Str(_) => "string".into(),
            GoValue::List(l) => match l.kind {
                ListKind::Any => "[]interface {}".into(),
                ListKind::Strings => "[]string".into(),
            },
            GoValue::Map(_) => "map[string]interface {}".into(),
            GoValue::Object(o) => o.type_name(),
        }
    }

    /// Go's `reflect.Kind` name as sprig's `kindOf` prints it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            GoValue::Nil => "invalid",
            GoValue::Bool(_) => "bool",
            GoValue::Int(_) => "int",
            GoValue::Int64(_) => "int64",
            GoValue::Float(_) => "float64",
            GoValue::Str(_) => "string",
            GoValue::List(_) => "slice",
            GoValue::Map(_) => "map",
            GoValue::Object(o) => {
                if o.type_name().starts_with('*') {
                    "ptr"
                } else if o.type_name().starts_with('[') {
                    "slice"
                } else {
                    "struct"
                }
            }
        }
    }

    /// Prints as a template action does: `fmt.Sprint`, nil as `<no value>`.
    pub fn print_action(&self) -> String {
        match self {
            GoValue::Nil => "<no value>".into(),
            other => other.sprint(),
        }
    }

    /// `fmt.Sprint` of the value (`%v`): nil is `<nil>`, floats in Go's shortest form,
    /// lists `[a b]`, maps `map[k:v]` in key order.
    pub fn sprint(&self) -> String {
        let mut out = String::new();
        self.write_v(&mut out, 0);
        out
    }

    fn write_v(&self, out: &mut String, depth: usize) {
        if depth > MAX_DEPTH {
            out.push_str("...");
            return;
        }
        match self {
            GoValue::Nil => out.push_str("<nil>"),
            GoValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            GoValue::Int(i) | GoValue::Int64(i) => out.push_str(&i.to_string()),
            GoValue::Float(f) => out.push_str(&crate::fmt::format_float_v(*f)),
            GoValue::Str(s) => out.push_str(s),
            GoValue::List(l) => {
                out.push('[');
                for (i, x) in l.items.borrow().iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    x.write_v(out, depth + 1);
                }
                out.push(']');
            }
            GoValue::Map(m) => {
                out.push_str("map[");
                for (i, (k, x)) in m.borrow().iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    x.write_v(out, depth + 1);
                }
                out.push(']');
            }
            GoValue::Object(o) => out.push_str(&o.print()),
        }
    }

    /// A deep copy: new maps and lists all the way down (sprig's `deepCopy`).
    pub fn deep_copy(&self) -> GoValue {
        self.deep_copy_depth(0)
    }

    fn deep_copy_depth(&self, depth: usize) -> GoValue {
        if depth > MAX_DEPTH {
            return GoValue::Nil;
        }
        match self {
            GoValue::List(l) => GoValue::List(List {
                items: Rc::new(RefCell::new(
                    l.items
                        .borrow()
                        .iter()
                        .map(|x| x.deep_copy_depth(depth + 1))
                        .collect(),
                )),
                kind: l.kind,
            }),
            GoValue::Map(m) => GoValue::map(
                m.borrow()
                    .iter()
                    .map(|(k, x)| (k.clone(), x.deep_copy_depth(depth + 1)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// `reflect.DeepEqual`: same Go type and equal contents (`int 3` differs from `float64 3`).
    pub fn deep_equal(&self, other: &GoValue) -> bool {
        match (self, other) {
            (GoValue::Nil, GoValue::Nil) => true,
            (GoValue::Bool(a), GoValue::Bool(b)) => a == b,
            (GoValue::Int(a), GoValue::Int(b)) | (GoValue::Int64(a), GoValue::Int64(b)) => a == b,
            (GoValue::Float(a), GoValue::Float(b)) => a == b,
            (GoValue::Str(a), GoValue::Str(b)) => a == b,
            (GoValue::List(a), GoValue::List(b)) => {
                if Rc::ptr_eq(&a.items, &b.items) {
                    return true;
                }
                let (a, b) = (a.items.borrow(), b.items.borrow());
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.deep_equal(y))
            }
            (GoValue::Map(a), GoValue::Map(b)) => {
                if Rc::ptr_eq(a, b) {
                    return true;
                }
                let (a, b) = (a.borrow(), b.borrow());
                a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|((ka, x), (kb, y))| ka == kb && x.deep_equal(y))
            }
            (GoValue::Object(a), GoValue::Object(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// The elements of a list (a snapshot), or `None` for other kinds.
    pub fn list_items(&self) -> Option<Vec<GoValue>> {
        match self {
            GoValue::List(l) => Some(l.items.borrow().clone()),
            _ => None,
        }
    }
}

/// Deepest nesting walked by conversions and printing (self-containing maps end there).
pub const MAX_DEPTH: usize = 256;

/// Go's truth of JSON data.
pub fn truthy(v: &Value) -> bool {
    GoValue::from_json(v, Numbers::Typed).truthy()
}

/// Prints JSON data as a template action does (`fmt.Sprint`, nil as `<no value>`).
pub fn print(v: &Value) -> String {
    GoValue::from_json(v, Numbers::Typed).print_action()
}

/// Prints JSON data nested in a list or map (`nil` is `<nil>` there, as in Go).
pub fn print_nested(v: &Value) -> String {
    GoValue::from_json(v, Numbers::Typed).sprint()
}
