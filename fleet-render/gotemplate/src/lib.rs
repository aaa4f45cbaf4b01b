//! A Go `text/template` engine in pure Rust, with the sprig function library.
//!
//! Templates are parsed with [`Template::parse`] under [`ParseOptions`] (delimiters and the
//! function set, since Go rejects unknown functions at parse time), collected in a
//! [`TemplateSet`] together with the templates they `define`, and run with [`execute`].
//! Callers extend the function set with closures ([`Funcs::insert`]); a function receives a
//! [`Context`] through which it can execute other templates of the set, which is how Helm's
//! `include` and `tpl` are built.
//!
//! Templates see [`GoValue`]s: Go's number kinds, shared (reference) maps and lists, and host
//! objects with methods ([`Object`]). [`execute`] takes JSON data; [`execute_value`] takes a
//! value built by the caller (Helm's renderer builds `.Values` as float64 numbers and one
//! shared map, so `set` on it is seen by every template that runs after).
//!
//! ```
//! use fleet_gotemplate::{Funcs, GoValue, ParseOptions, Template, TemplateSet, execute};
//!
//! let mut funcs = Funcs::builtin();
//! // `include`: run a named template and return its output as a string.
//! funcs.insert("include", |ctx, args| {
//!     let name = args.first().and_then(GoValue::as_str).unwrap_or_default().to_string();
//!     let data = args.get(1).cloned().unwrap_or_default();
//!     Ok(GoValue::from(ctx.execute_template(&name, &data)?))
//! });
//! let options = ParseOptions { funcs: funcs.clone(), ..ParseOptions::default() };
//! let text = r#"{{ define "greet" }}hello {{ . }}{{ end }}{{ include "greet" .name | upper }}"#;
//! let mut set = TemplateSet::new(funcs);
//! set.add(Template::parse("main", text, &options).unwrap());
//! let data = serde_json::json!({"name": "fleet"});
//! assert_eq!(execute(&set, "main", &data).unwrap(), "HELLO FLEET");
//! ```

mod exec;
pub mod fmt;
pub mod funcs;
mod lex;
mod parse;
pub mod value;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub use value::{GoValue, Numbers, Object, Value};

/// A template error: parse errors and execution errors in Go's message shapes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The template text does not parse: `template: <name>:<line>: <msg>`.
    #[error("template: {name}:{line}: {message}")]
    Parse {
        /// The template's name.
        name: String,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Execution failed:
    /// `template: <name>:<line>:<col>: executing "<name>" at <<node>>: <msg>`.
    #[error("template: {name}:{line}:{col}: executing \"{name}\" at <{node}>: {message}")]
    Exec {
        /// The template being executed.
        name: String,
        /// 1-based line of the action.
        line: usize,
        /// Byte column of the action's text within its line.
        col: usize,
        /// The action's text.
        node: String,
        /// What went wrong.
        message: String,
    },
    /// `execute` was asked for a template the set does not hold.
    #[error("template: no template {name:?} associated with template {set:?}")]
    NoTemplate {
        /// The requested name.
        name: String,
        /// The name of the set's first template (Go names the set after it).
        set: String,
    },
}

impl Error {
    /// An execution error whose position is attached by the action that raised it.
    pub(crate) fn unlocated(message: impl Into<String>) -> Error {
        Error::Exec {
            name: String::new(),
            line: 0,
            col: 0,
            node: String::new(),
            message: message.into(),
        }
    }
}

/// What a missing map key evaluates to (Go's `missingkey` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// Go's default: the missing value, printed `<no value>`.
    #[default]
    Default,
    /// The zero value (`nil` for `map[string]interface{}`, so Helm prints `<no value>` too).
    Zero,
    /// An execution error `map has no entry for key "k"`.
    Error,
}

/// Why a function call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The function's own error; Go prints it as `error calling <name>: <reason>`.
    Message(String),
    /// A template the function ran failed (`include`, `tpl`); reported as it is.
    Template(Error),
}

impl From<String> for CallError {
    fn from(m: String) -> Self {
        CallError::Message(m)
    }
}

impl From<&str> for CallError {
    fn from(m: &str) -> Self {
        CallError::Message(m.to_string())
    }
}

impl From<Error> for CallError {
    fn from(e: Error) -> Self {
        CallError::Template(e)
    }
}

/// What a template function returns.
pub type FuncResult = Result<GoValue, CallError>;

/// A function callable from templates. It receives the execution context and the evaluated
/// arguments and returns a value or the reason it failed.
pub type Func = dyn Fn(&mut Context<'_>, &[GoValue]) -> FuncResult + Send + Sync;

/// A function set: names to functions, cheap to clone.
#[derive(Clone)]
pub struct Funcs {
    map: Arc<BTreeMap<String, Arc<Func>>>,
}

impl std::fmt::Debug for Funcs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.map.keys()).finish()
    }
}

impl Default for Funcs {
    fn default() -> Self {
        Funcs::builtin()
    }
}

impl Funcs {
    /// No functions at all (`and`/`or` still work: they are evaluated lazily by the engine).
    pub fn empty() -> Funcs {
        let mut f = Funcs {
            map: Arc::new(BTreeMap::new()),
        };
        for name in ["and", "or"] {
            f.insert(name, |_, _| Err("evaluated by the engine".into()));
        }
        f
    }

    /// Go's template built-ins and the sprig functions of [`funcs`]. Built once; each call
    /// hands out a cheap copy (callers parse many small templates).
    pub fn builtin() -> Funcs {
        static BUILTIN: std::sync::OnceLock<Funcs> = std::sync::OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let mut f = Funcs::empty();
                for (name, func) in funcs::table() {
                    f.insert(name, move |_, args| func(args).map_err(CallError::Message));
                }
                f
            })
            .clone()
    }

    /// Adds or replaces a function.
    pub fn insert(
        &mut self,
        name: &str,
        func: impl Fn(&mut Context<'_>, &[GoValue]) -> FuncResult + Send + Sync + 'static,
    ) {
        Arc::make_mut(&mut self.map).insert(name.to_string(), Arc::new(func));
    }

    /// Removes a function (Fleet removes `env`, `include`, ... from its set).
    pub fn remove(&mut self, name: &str) {
        Arc::make_mut(&mut self.map).remove(name);
    }

    /// Whether a function of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// The function of that name.
    pub fn get(&self, name: &str) -> Option<Arc<Func>> {
        self.map.get(name).cloned()
    }

    /// The names, sorted.
    pub fn names(&self) -> BTreeSet<String> {
        self.map.keys().cloned().collect()
    }
}

/// How template text is parsed.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Left delimiter (`{{`; Fleet's values use `${`).
    pub left_delim: String,
    /// Right delimiter (`}}`; Fleet's values use `}`).
    pub right_delim: String,
    /// Functions the text may call; any other name is a parse error.
    pub funcs: Funcs,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            left_delim: "{{".to_string(),
            right_delim: "}}".to_string(),
            funcs: Funcs::builtin(),
        }
    }
}

/// A parsed template and the templates it defines.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    root: Arc<Vec<parse::Node>>,
    defines: Vec<(String, Arc<Vec<parse::Node>>)>,
}

impl Template {
    /// Parses `text` as the template `name`.
    pub fn parse(name: &str, text: &str, options: &ParseOptions) -> Result<Template, Error> {
        let to_err = |e: parse::PErr| Error::Parse {
            name: name.to_string(),
            line: e.line,
            message: e.message,
        };
        if options.left_delim.is_empty() || options.right_delim.is_empty() {
            return Err(Error::Parse {
                name: name.to_string(),
                line: 0,
                message: "empty delimiter".to_string(),
            });
        }
        let items =
            parse::split(text, &options.left_delim, &options.right_delim).map_err(to_err)?;
        let mut parser = parse::Parser {
            items: items.into_iter().peekable(),
            funcs: &options.funcs,
            defines: Vec::new(),
            vars: std::cell::RefCell::new(vec!["$".to_string()]),
        };
        let (nodes, end) = parse::parse_list(&mut parser, false, 0).map_err(to_err)?;
        let unexpected = match end {
            parse::Terminator::Eof => None,
            parse::Terminator::End => Some("unexpected {{end}}"),
            parse::Terminator::Else(_) => Some("unexpected {{else}}"),
        };
        if let Some(message) = unexpected {
            return Err(Error::Parse {
                name: name.to_string(),
                line: 0,
                message: message.to_string(),
            });
        }
        Ok(Template {
            name: name.to_string(),
            root: Arc::new(nodes),
            defines: parser
                .defines
                .into_iter()
                .map(|(n, body)| (n, Arc::new(body)))
                .collect(),
        })
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// How templates are executed.
#[derive(Debug, Clone, Copy)]
pub struct ExecOptions {
    /// What a missing map key gives.
    pub missing_key: MissingKey,
    /// Deepest nesting of `template` calls and context re-entries (Helm: 1000 for `include`).
    pub max_depth: usize,
    /// Most steps (nodes walked) one [`execute`] may take, template calls included, so a
    /// template that recurses or loops without end fails instead of running on.
    pub max_steps: usize,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            missing_key: MissingKey::Default,
            max_depth: 1000,
            max_steps: 20_000_000,
        }
    }
}

/// Named templates, the functions they run with, and the execution options.
#[derive(Debug, Clone)]
pub struct TemplateSet {
    templates: BTreeMap<String, Arc<Vec<parse::Node>>>,
    first: Option<String>,
    funcs: Funcs,
    /// Execution options of the set.
    pub options: ExecOptions,
}

impl TemplateSet {
    /// An empty set running with `funcs`.
    pub fn new(funcs: Funcs) -> TemplateSet {
        TemplateSet {
            templates: BTreeMap::new(),
            first: None,
            funcs,
            options: ExecOptions::default(),
        }
    }

    /// Adds a template and the templates it defines; a later definition of a name replaces
    /// an earlier one, as Go's `AddParseTree` does. An empty body does not replace a
    /// non-empty one (Go's rule that lets `block` defaults be overridden).
    pub fn add(&mut self, template: Template) {
        if self.first.is_none() {
            self.first = Some(template.name.clone());
        }
        for (name, body) in template.defines {
            self.insert_body(name, body);
        }
        self.insert_body(template.name, template.root);
    }

    /// Adds a template whose own body always takes its name, even when empty (what Go's
    /// `t.New(name).Parse(text)` executes: Helm's `tpl` runs the text it was given); the
    /// templates it defines follow [`TemplateSet::add`]'s rule.
    pub fn add_replacing(&mut self, template: Template) {
        if self.first.is_none() {
            self.first = Some(template.name.clone());
        }
        for (name, body) in template.defines {
            self.insert_body(name, body);
        }
        self.templates.insert(template.name, template.root);
    }

    fn insert_body(&mut self, name: String, body: Arc<Vec<parse::Node>>) {
        let is_empty = body
            .iter()
            .all(|n| matches!(n, parse::Node::Text(t) if t.trim().is_empty()));
        if is_empty && self.templates.get(&name).is_some_and(|b| !b.is_empty()) {
            return;
        }
        self.templates.insert(name, body);
    }

    /// Parses `text` as `name` with `options` and adds it.
    pub fn parse(&mut self, name: &str, text: &str, options: &ParseOptions) -> Result<(), Error> {
        self.add(Template::parse(name, text, options)?);
        Ok(())
    }

    /// Whether the set holds a template of that name.
    pub fn has(&self, name: &str) -> bool {
        self.templates.contains_key(name)
    }

    /// The names of the templates, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.templates.keys().map(String::as_str)
    }

    /// The functions templates of this set run with.
    pub fn funcs(&self) -> &Funcs {
        &self.funcs
    }
}

/// What a function sees of the running execution.
pub struct Context<'a> {
    set: &'a TemplateSet,
    depth: usize,
    steps: &'a std::cell::Cell<usize>,
}

impl Context<'_> {
    /// The template set being executed.
    pub fn set(&self) -> &TemplateSet {
        self.set
    }

    /// How deep template calls are nested right now.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Executes the named template of the set with `data` as dot, one level deeper.
    pub fn execute_template(&mut self, name: &str, data: &GoValue) -> Result<String, Error> {
        exec::run(self.set, name, data, self.depth + 1, self.steps)
    }

    /// Executes the named template of another set (a clone of this one extended by `tpl`),
    /// one level deeper.
    pub fn execute_in(
        &mut self,
        set: &TemplateSet,
        name: &str,
        data: &GoValue,
    ) -> Result<String, Error> {
        exec::run(set, name, data, self.depth + 1, self.steps)
    }
}

/// Executes the template `name` of `set` with JSON `data` as `.` and `$` (integers stay `int`).
pub fn execute(set: &TemplateSet, name: &str, data: &Value) -> Result<String, Error> {
    let steps = std::cell::Cell::new(0);
    exec::run(
        set,
        name,
        &GoValue::from_json(data, Numbers::Typed),
        0,
        &steps,
    )
}

/// Executes the template `name` of `set` with `data` as `.` and `$`.
pub fn execute_value(set: &TemplateSet, name: &str, data: &GoValue) -> Result<String, Error> {
    let steps = std::cell::Cell::new(0);
    exec::run(set, name, data, 0, &steps)
}
