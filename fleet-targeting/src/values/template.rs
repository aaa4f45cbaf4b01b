//! Fleet's value templating on the Go template engine of `fleet-gotemplate`: delimiters
//! `${` and `}`, `missingkey=error`, and Fleet's function set (Go's built-ins and the sprig
//! functions Fleet keeps; `env`, `expandenv`, `include`, `tpl` and `getHostByName` are absent).

use std::collections::BTreeMap;

use fleet_gotemplate::{Funcs, MissingKey, ParseOptions, TemplateSet};
use serde_json::{Map, Value};

pub use fleet_gotemplate::value::{print, truthy};

/// A template error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template text does not parse.
    #[error("template: values:{line}: {message}")]
    Parse {
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Execution failed (missing key, bad function call, ...).
    #[error("template: values: executing: {0}")]
    Exec(String),
}

impl From<fleet_gotemplate::Error> for TemplateError {
    fn from(e: fleet_gotemplate::Error) -> Self {
        match e {
            fleet_gotemplate::Error::Parse { line, message, .. } => {
                TemplateError::Parse { line, message }
            }
            fleet_gotemplate::Error::Exec { message, .. } => TemplateError::Exec(message),
            other => TemplateError::Exec(other.to_string()),
        }
    }
}

/// The parse options of Fleet's value templates.
fn options() -> ParseOptions {
    ParseOptions {
        left_delim: "${".to_string(),
        right_delim: "}".to_string(),
        funcs: Funcs::builtin(),
    }
}

/// A parsed value template.
#[derive(Debug, Clone)]
pub struct Template {
    set: TemplateSet,
}

const NAME: &str = "values";

impl Template {
    /// Parses template text with `${ }` delimiters.
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let options = options();
        let mut set = TemplateSet::new(options.funcs.clone());
        set.options.missing_key = MissingKey::Error;
        set.parse(NAME, src, &options)?;
        Ok(Template { set })
    }

    /// Executes the template with `data` as `.` and `$`.
    pub fn execute(&self, data: &Value) -> Result<String, TemplateError> {
        Ok(fleet_gotemplate::execute(&self.set, NAME, data)?)
    }
}

/// Renders a template text against `data`.
pub fn render(src: &str, data: &Value) -> Result<String, TemplateError> {
    Template::parse(src)?.execute(data)
}

/// Builds the template context object of Fleet's value templating.
pub fn context(
    cluster_name: &str,
    cluster_namespace: &str,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
    values: &Map<String, Value>,
) -> Value {
    let to_obj = |m: &BTreeMap<String, String>| {
        Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect(),
        )
    };
    let mut ctx = Map::new();
    ctx.insert("ClusterName".into(), Value::from(cluster_name));
    ctx.insert("ClusterNamespace".into(), Value::from(cluster_namespace));
    ctx.insert("ClusterLabels".into(), to_obj(labels));
    ctx.insert("ClusterAnnotations".into(), to_obj(annotations));
    ctx.insert("ClusterValues".into(), Value::Object(values.clone()));
    Value::Object(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(src: &str, data: Value) -> String {
        render(src, &data).unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn basics() {
        let d = json!({"A": {"b": "x"}, "L": ["p", "q"], "N": 3});
        assert_eq!(r("a${ .A.b }c", d.clone()), "axc");
        assert_eq!(
            r("${ range $i, $v := .L }${ $i }=${ $v };${ end }", d.clone()),
            "0=p;1=q;"
        );
        assert_eq!(r("${ if eq .N 3 }yes${ else }no${ end }", d.clone()), "yes");
        assert_eq!(r("${ .L | join \",\" }", d.clone()), "p,q");
        assert_eq!(r("x  ${- .N -}  y", d.clone()), "x3y");
        assert_eq!(r("${ $x := 1 }${ $x = 2 }${ $x }", d.clone()), "2");
        assert_eq!(r("${ with .A }${ .b }${ end }", d.clone()), "x");
        assert_eq!(r("${/* c */}k", d.clone()), "k");
        assert!(r("${ .Missing }", d.clone()).starts_with("ERR"));
        assert_eq!(r("${ .A }", d.clone()), "map[b:x]");
        assert_eq!(r("${ .L }", d.clone()), "[p q]");
        let deep = format!("{}x{}", "${ if true }".repeat(200), "${ end }".repeat(200));
        assert!(r(&deep, d.clone()).starts_with("ERR"));
        let parens = format!("${{ {}1{} }}", "(".repeat(200), ")".repeat(200));
        assert!(r(&parens, d).starts_with("ERR"));
    }
}
