//! Fleet's per-cluster Helm value processing (`internal/cmd/controller/target/builder.go`,
//! `preprocessHelmValues`).
//!
//! It is a targeting step: Fleet's controller runs it while building a BundleDeployment, so the
//! options a BundleDeployment carries hold processed values and the agent renders them as they
//! are. [`crate::deployment`] is its one caller in this workspace; nothing at render time runs
//! it again, so text that processing leaves holding `${` stays literal.
//!
//! For one cluster and the options merged for it:
//!
//! 1. The cluster's labels are filtered for export (keys starting `kubectl.kubernetes.io/` or
//!    containing `cattle.io/` are dropped, then `fleet.cattle.io/*` and
//!    `management.cattle.io/*` labels are put back); annotations are filtered the same way.
//!    **If no label is left, nothing is processed** (Fleet's quirk).
//! 2. Without `helm` options, an empty `helm` block is created and nothing else happens; with
//!    neither values nor templateValues, nothing happens.
//! 3. Label substitution (also with `disablePreProcess`): a string value starting with
//!    `global.fleet.clusterLabels.` becomes the named label's value, or `""`; maps and maps
//!    inside lists are visited, down to a depth of 50.
//! 4. Unless `disablePreProcess`: `${ }` templating of the values (Go `text/template`,
//!    `missingkey=error`, sprig functions; see [`template`]) with `.ClusterName`,
//!    `.ClusterNamespace`, `.ClusterLabels`, `.ClusterAnnotations`, `.ClusterValues`; then each
//!    `templateValues[k]` is rendered, read as YAML, and assigned to `values[k]`.
//!
//! Fleet templates the values by printing them as YAML, executing the whole text, and reading
//! it back. This module templates every string (map keys included) and re-reads each result
//! the way that round trip would: a string Fleet's YAML printer writes as a plain scalar is
//! read back as YAML (so `${ list 1 2 | toJson }` becomes a list and `"3"` a number), while
//! multi-line strings (printed as literal blocks) and strings that must be quoted stay
//! strings. Template actions can therefore not span several values (see `docs/render.md`).

/// The function library of value templates.
pub use fleet_gotemplate::funcs;
pub mod template;

use std::collections::BTreeMap;

use fleet_core::crd::{Cluster, HelmOptions};
use serde_json::{Map, Value};

/// The prefix of a label reference in a value.
pub const CLUSTER_LABEL_PREFIX: &str = "global.fleet.clusterLabels.";
/// Maximum nesting of values visited by label substitution.
pub const MAX_DEPTH: usize = 50;

/// A value-processing error; Fleet reports it as `cluster X in namespace Y: ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Values nested deeper than [`MAX_DEPTH`].
    #[error(
        "cluster {cluster} in namespace {namespace}: maximum recursion depth of {MAX_DEPTH} exceeded for cluster label prefix processing, too many nested values"
    )]
    TooDeep {
        /// Cluster name.
        cluster: String,
        /// Cluster namespace.
        namespace: String,
    },
    /// A template that does not parse or fails (a missing key, an unknown function, ...).
    #[error("cluster {cluster} in namespace {namespace}: {what}: {source}")]
    Template {
        /// Cluster name.
        cluster: String,
        /// Cluster namespace.
        namespace: String,
        /// Which value (`helm.values.a.b` or `helm.templateValues.k`).
        what: String,
        /// The template error.
        #[source]
        source: template::TemplateError,
    },
    /// The rendered text is not valid YAML.
    #[error(
        "cluster {cluster} in namespace {namespace}: {what}: failed to interpret rendered template as helm values: {text:?}: {message}"
    )]
    Yaml {
        /// Cluster name.
        cluster: String,
        /// Cluster namespace.
        namespace: String,
        /// Which value.
        what: String,
        /// The rendered text.
        text: String,
        /// What the YAML reader said.
        message: String,
    },
}

/// The template context and label set of one cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterContext {
    /// Cluster name.
    pub name: String,
    /// Cluster namespace.
    pub namespace: String,
    /// Labels filtered for export.
    pub labels: BTreeMap<String, String>,
    /// The template data (`.ClusterName`, ...).
    pub data: Value,
}

/// Whether a label or annotation key is not one of Kubernetes' or Rancher's own (keys starting
/// `kubectl.kubernetes.io/` or containing `cattle.io/`), the filter Fleet applies both to the
/// cluster labels values see and to the bundle labels a BundleDeployment inherits.
pub(crate) fn exportable(key: &str) -> bool {
    !(key.starts_with("kubectl.kubernetes.io/") || key.contains("cattle.io/"))
}

impl ClusterContext {
    /// The context of a Cluster object: its name, namespace, labels, annotations and
    /// `spec.templateValues`.
    pub fn of(cluster: &Cluster) -> ClusterContext {
        let no_values = Map::new();
        ClusterContext::new(
            &cluster.metadata.name,
            &cluster.metadata.namespace,
            &cluster.metadata.labels,
            &cluster.metadata.annotations,
            cluster.spec.template_values.as_ref().unwrap_or(&no_values),
        )
    }

    /// Builds the context from a cluster's facts, filtering labels and annotations as Fleet
    /// does.
    pub fn new(
        name: &str,
        namespace: &str,
        labels: &BTreeMap<String, String>,
        annotations: &BTreeMap<String, String>,
        template_values: &Map<String, Value>,
    ) -> ClusterContext {
        let labels = exportable_labels(labels);
        let annotations: BTreeMap<String, String> = annotations
            .iter()
            .filter(|(k, _)| exportable(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let data = template::context(name, namespace, &labels, &annotations, template_values);
        ClusterContext {
            name: name.to_string(),
            namespace: namespace.to_string(),
            labels,
            data,
        }
    }
}

/// The cluster labels value processing sees: keys starting `kubectl.kubernetes.io/` or
/// containing `cattle.io/` are dropped, then `fleet.cattle.io/*` and `management.cattle.io/*`
/// labels are put back.
pub fn exportable_labels(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| {
            exportable(k)
                || k.starts_with("fleet.cattle.io/")
                || k.starts_with("management.cattle.io/")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Values nested deeper than [`MAX_DEPTH`] maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("maximum recursion depth of {MAX_DEPTH} exceeded")]
pub struct TooDeep;

/// Replaces `global.fleet.clusterLabels.<key>` strings (see the module docs).
pub fn substitute_labels(
    values: &mut Map<String, Value>,
    labels: &BTreeMap<String, String>,
    depth: usize,
) -> Result<(), TooDeep> {
    if depth > MAX_DEPTH {
        return Err(TooDeep);
    }
    for value in values.values_mut() {
        if let Some(label) = value
            .as_str()
            .and_then(|s| s.strip_prefix(CLUSTER_LABEL_PREFIX))
        {
            *value = Value::from(labels.get(label).map(String::as_str).unwrap_or_default());
        }
        match value {
            Value::Object(map) => substitute_labels(map, labels, depth + 1)?,
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(map) = item {
                        substitute_labels(map, labels, depth + 1)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Processes the Helm options for a cluster (see the module docs); returns the new options.
pub fn preprocess_helm_values(
    helm: &HelmOptions,
    ctx: &ClusterContext,
) -> Result<HelmOptions, Error> {
    let mut helm = helm.clone();
    if ctx.labels.is_empty() {
        return Ok(helm);
    }
    let mut values = helm.values.take().unwrap_or_default();
    if helm.template_values.is_none() && values.is_empty() {
        helm.values = Some(values);
        return Ok(helm);
    }
    substitute_labels(&mut values, &ctx.labels, 0).map_err(|TooDeep| Error::TooDeep {
        cluster: ctx.name.clone(),
        namespace: ctx.namespace.clone(),
    })?;
    if !helm.disable_pre_process {
        let mut out = Map::new();
        for (key, value) in &values {
            let path = format!("helm.values.{key}");
            let new_key = template_key(key, ctx, &path)?;
            out.insert(new_key, template_value(value, ctx, &path)?);
        }
        values = out;
        for (key, text) in helm.template_values.iter().flatten() {
            let what = format!("helm.templateValues.{key}");
            let rendered = render(text, ctx, &what)?;
            let value = read_yaml(&rendered, ctx, &what)?;
            values.insert(key.clone(), value);
        }
    }
    helm.values = Some(values);
    Ok(helm)
}

fn render(text: &str, ctx: &ClusterContext, what: &str) -> Result<String, Error> {
    template::render(text, &ctx.data).map_err(|source| Error::Template {
        cluster: ctx.name.clone(),
        namespace: ctx.namespace.clone(),
        what: what.to_string(),
        source,
    })
}

fn read_yaml(text: &str, ctx: &ClusterContext, what: &str) -> Result<Value, Error> {
    fleet_core::yaml::from_str_value(text).map_err(|e| Error::Yaml {
        cluster: ctx.name.clone(),
        namespace: ctx.namespace.clone(),
        what: what.to_string(),
        text: text.to_string(),
        message: e.to_string(),
    })
}

/// Whether Fleet's YAML printer (go-yaml v2 through `sigs.k8s.io/yaml`) writes this string as
/// a plain scalar, so that reading the rendered text back may re-type it.
pub fn printed_plain(s: &str) -> bool {
    if s.is_empty() || s.contains('\n') || s.trim() != s {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // `-`, `?`, `:` followed by a non-space may still be plain in YAML, but the printer
        // quotes them.
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    // A string that would read back as something else is quoted.
    !matches!(
        fleet_core::yaml::from_str_value(s),
        Ok(Value::Bool(_) | Value::Number(_) | Value::Null)
    ) && !matches!(
        s.to_ascii_lowercase().as_str(),
        "y" | "yes" | "n" | "no" | "on" | "off"
    )
}

fn template_key(key: &str, ctx: &ClusterContext, path: &str) -> Result<String, Error> {
    if !key.contains("${") {
        return Ok(key.to_string());
    }
    let rendered = render(key, ctx, path)?;
    if printed_plain(key) {
        match read_yaml(&rendered, ctx, path)? {
            Value::String(s) => Ok(s),
            Value::Null => Ok(String::new()),
            other => Ok(template::print(&other)),
        }
    } else {
        Ok(rendered)
    }
}

fn template_value(value: &Value, ctx: &ClusterContext, path: &str) -> Result<Value, Error> {
    match value {
        Value::String(s) if s.contains("${") => {
            let rendered = render(s, ctx, path)?;
            if printed_plain(s) {
                read_yaml(&rendered, ctx, path)
            } else {
                Ok(Value::String(rendered))
            }
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let p = format!("{path}.{k}");
                out.insert(template_key(k, ctx, &p)?, template_value(v, ctx, &p)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| template_value(v, ctx, &format!("{path}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}
