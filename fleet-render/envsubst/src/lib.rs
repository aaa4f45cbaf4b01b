//! Flux post-build variable substitution (`${var}` in rendered objects).
//!
//! This is the syntax and behaviour of Flux's `postBuild.substitute` (the `fluxcd/pkg/envsubst`
//! fork of drone/envsubst), re-implemented:
//!
//! * only the braced form expands: `${var}`; a bare `$var` stays as written;
//! * `$$` is an escape: `$${var}` gives the literal text `${var}`;
//! * operators: `${#v}` length, `${v^}` `${v^^}` `${v,}` `${v,,}` case, `${v:n}` `${v:n:len}`
//!   substring, `${v#p}` `${v##p}` `${v%p}` `${v%%p}` glob trims, `${v/p/r}` `${v//p/r}`
//!   `${v/#p/r}` `${v/%p/r}` replace, and the default forms `${v=d}` `${v:=d}` `${v:-d}`
//!   `${v:?d}` `${v:+d}`, which all use `d` when the value is empty (Flux's quirk: no bash
//!   distinction between unset and empty). Defaults may nest `${...}`;
//! * strict mode: a variable that is not set, referenced bare or through an operator that reads
//!   its value, is an error (`variable not set (strict mode)`); the default forms never fail;
//! * per object: [`substitute_object`] renders the object as YAML text, substitutes, and parses
//!   the text back, so substituted scalars are re-typed (`replicas: ${N}` becomes a number).
//!   Objects labelled or annotated `kustomize.toolkit.fluxcd.io/substitute: disabled` are left
//!   alone.
//!
//! Parse errors carry the same texts as Flux's (`bad substitution`, `missing closing brace`,
//! `unable to parse variable name`, ...).
//!
//! ```
//! use std::collections::BTreeMap;
//! let vars = BTreeMap::from([("app".to_string(), "web".to_string())]);
//! assert_eq!(fleet_envsubst::expand("name: ${app^^}-$${app}", &vars, true).unwrap(),
//!     "name: WEB-${app}");
//! assert!(fleet_envsubst::expand("${missing}", &vars, true).is_err());
//! ```

use std::collections::BTreeMap;

use serde_json::Value;

mod funcs;
mod parse;

pub use funcs::apply;
pub use parse::{MAX_NESTING, Node, parse};

/// The label or annotation that turns substitution off for one object.
pub const DISABLE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";
/// The value of [`DISABLE_KEY`] that turns substitution off.
pub const DISABLE_VALUE: &str = "disabled";

/// A substitution error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text after `${` is not a valid expression.
    #[error("bad substitution")]
    BadSubstitution,
    /// A `${name` without its closing `}`.
    #[error("missing closing brace")]
    MissingClosingBrace,
    /// `${` not followed by a variable name.
    #[error("unable to parse variable name")]
    ParseVariableName,
    /// An operator argument that could not be read.
    #[error("unable to parse substitution within function")]
    ParseFuncSubstitution,
    /// A default operator that could not be read.
    #[error("unable to parse default function")]
    ParseDefaultFunction,
    /// Strict mode: a variable that is not set.
    #[error("variable not set (strict mode): {0:?}")]
    VariableNotSet(String),
    /// A variable name that Flux would reject.
    #[error("invalid variable name {0:?}: must match ^[_[:alpha:]][_[:alpha:][:digit:]]*$")]
    InvalidVariableName(String),
    /// Substitution failed in one object.
    #[error("{object}: {source}")]
    Object {
        /// `kind/namespace/name` of the object.
        object: String,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },
    /// The object could not be written as YAML, or the substituted text is not valid YAML.
    #[error("{object}: {message}")]
    Yaml {
        /// `kind/namespace/name` of the object.
        object: String,
        /// What the YAML reader or writer said.
        message: String,
    },
}

/// Expands `text` with `lookup`: `Some(value)` for a set variable, `None` for an unset one.
/// An unset variable is an error where strict mode makes it one (bare or value-reading
/// operators); to get Flux's non-strict behaviour, return `Some("")` for unknown names.
pub fn eval(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, Error> {
    let tree = parse(text)?;
    let mut out = String::with_capacity(text.len());
    eval_node(&tree, lookup, &mut out)?;
    Ok(out)
}

/// Expands `text` with a variable map; `strict` makes references to missing variables errors.
pub fn expand(text: &str, vars: &BTreeMap<String, String>, strict: bool) -> Result<String, Error> {
    eval(text, &|name: &str| match vars.get(name) {
        Some(v) => Some(v.clone()),
        None if strict => None,
        None => Some(String::new()),
    })
}

fn eval_node(
    node: &Node,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut String,
) -> Result<(), Error> {
    match node {
        Node::Empty => {}
        Node::Text(text) => out.push_str(text),
        Node::List(nodes) => {
            for node in nodes {
                eval_node(node, lookup, out)?;
            }
        }
        Node::Func { param, name, args } => {
            let mut values = Vec::with_capacity(args.len());
            for arg in args {
                let mut buf = String::new();
                eval_node(arg, lookup, &mut buf)?;
                values.push(buf);
            }
            let value = match lookup(param) {
                Some(value) => value,
                None if is_default_op(name) => String::new(),
                None => return Err(Error::VariableNotSet(param.clone())),
            };
            out.push_str(&apply(name, &value, &values));
        }
    }
    Ok(())
}

fn is_default_op(name: &str) -> bool {
    matches!(name, "-" | "+" | "=" | "?" | ":-" | ":+" | ":=" | ":?")
}

/// Whether `name` is a valid Flux variable name (`^[_[:alpha:]][_[:alpha:][:digit:]]*$`).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_ascii_alphabetic() => {
            chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        }
        _ => false,
    }
}

/// How to substitute variables into rendered objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Substitution {
    /// The variables; values have every `\n` stripped, as Flux does.
    pub variables: BTreeMap<String, String>,
    /// Strict mode: referencing a variable that is not set is an error.
    pub strict: bool,
    /// Substitute even when no variable is defined (Flux's `substituteStrategy: Always`), so
    /// that `${x:=default}` still expands.
    pub always: bool,
}

impl Substitution {
    /// Builds a substitution, checking the names and stripping `\n` from the values.
    pub fn new(
        variables: impl IntoIterator<Item = (String, String)>,
        strict: bool,
        always: bool,
    ) -> Result<Self, Error> {
        let mut map = BTreeMap::new();
        for (name, value) in variables {
            if !valid_name(&name) {
                return Err(Error::InvalidVariableName(name));
            }
            map.insert(name, value.replace('\n', ""));
        }
        Ok(Substitution {
            variables: map,
            strict,
            always,
        })
    }

    /// Whether substitution runs at all (some variable defined, or `always`).
    pub fn active(&self) -> bool {
        self.always || !self.variables.is_empty()
    }
}

/// `kind/namespace/name` of an object, for messages.
pub fn object_ref(obj: &Value) -> String {
    let field = |path: &[&str]| {
        let mut v = obj;
        for key in path {
            v = match v.get(key) {
                Some(v) => v,
                None => return "",
            };
        }
        v.as_str().unwrap_or("")
    };
    let kind = field(&["kind"]);
    let name = field(&["metadata", "name"]);
    match field(&["metadata", "namespace"]) {
        "" => format!("{kind}/{name}"),
        ns => format!("{kind}/{ns}/{name}"),
    }
}

fn disabled(obj: &Value) -> bool {
    ["labels", "annotations"].iter().any(|key| {
        obj.get("metadata")
            .and_then(|m| m.get(key))
            .and_then(|m| m.get(DISABLE_KEY))
            .and_then(Value::as_str)
            == Some(DISABLE_VALUE)
    })
}

/// Substitutes variables in one object: the object is written as YAML, substituted as text,
/// and parsed back (scalars are re-typed). Objects carrying the opt-out label or annotation,
/// and every object when [`Substitution::active`] is false, come back unchanged.
pub fn substitute_object(obj: &Value, subst: &Substitution) -> Result<Value, Error> {
    if !subst.active() || disabled(obj) {
        return Ok(obj.clone());
    }
    let object = || object_ref(obj);
    let text = fleet_core::yaml::to_string(obj).map_err(|e| Error::Yaml {
        object: object(),
        message: e.to_string(),
    })?;
    let out = expand(&text, &subst.variables, subst.strict).map_err(|e| Error::Object {
        object: object(),
        source: Box::new(e),
    })?;
    if out == text {
        return Ok(obj.clone());
    }
    fleet_core::yaml::from_str_value(&out).map_err(|e| Error::Yaml {
        object: object(),
        message: format!("substituted text is not valid YAML: {e}"),
    })
}

/// Substitutes variables in every object (see [`substitute_object`]).
pub fn substitute_objects(objs: &[Value], subst: &Substitution) -> Result<Vec<Value>, Error> {
    objs.iter().map(|o| substitute_object(o, subst)).collect()
}
