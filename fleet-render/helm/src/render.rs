//! The engine map: every non-partial template of the enabled chart tree rendered with its
//! chart's values, `.Release`, `.Chart`, `.Capabilities`, `.Files`, `.Subcharts` and
//! `.Template`, and Helm's own functions (`include`, `tpl`, `required`, `toYaml`, ...).
//!
//! As in Helm, `.Values` is one shared map: a subchart's `.Values` is the parent's entry
//! for it, so `set` on any of them is seen by every template rendered afterwards.

use std::collections::BTreeMap;
use std::rc::Rc;

use fleet_gotemplate::{
    Funcs, GoValue, MissingKey, Numbers, ParseOptions, Template, TemplateSet, execute_value,
};
use serde_json::Value;

use crate::chart::Chart;
use crate::helm_funcs;
use crate::objects::{self, Files};

/// Why a chart did not render.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A template did not parse or failed while executing.
    #[error("{}", helm_message(.0))]
    Template(#[from] fleet_gotemplate::Error),
    /// The rendering thread could not be started or did not finish.
    #[error("rendering thread: {0}")]
    Thread(String),
}

/// Helm's wording of template errors: `parse error at (<file>:<line>): <msg>` and
/// `execution error at (<file>:<line>:<col>): <msg>` for `fail` and `required`.
fn helm_message(e: &fleet_gotemplate::Error) -> String {
    match e {
        fleet_gotemplate::Error::Parse {
            name,
            line,
            message,
        } => format!("parse error at ({name}:{line}): {message}"),
        fleet_gotemplate::Error::Exec {
            name,
            line,
            col,
            message,
            ..
        } => {
            // Helm reports `fail`/`required` at the outermost template, with the message
            // of the innermost call (errors of included templates nest in their caller's).
            let innermost = ["error calling fail: ", "error calling required: "]
                .iter()
                .filter_map(|p| message.rfind(p).map(|i| i + p.len()))
                .max();
            match innermost {
                Some(start) => format!(
                    "execution error at ({name}:{line}:{col}): {}",
                    &message[start..]
                ),
                // A function's own error keeps Go's one-line text; errors of the template
                // machinery itself come in Helm 4's indented block.
                None if message.starts_with("error calling ") => e.to_string(),
                None => {
                    let node = match e {
                        fleet_gotemplate::Error::Exec { node, .. } => node.as_str(),
                        _ => "",
                    };
                    format!("{name}:{line}:{col}\n  executing {name:?} at <{node}>:\n    {message}")
                }
            }
        }
        other => other.to_string(),
    }
}

/// Release settings, as `helm template` takes them.
#[derive(Debug, Clone)]
pub struct Release {
    /// Release name.
    pub name: String,
    /// Release namespace.
    pub namespace: String,
    /// Revision number.
    pub revision: i64,
    /// Install (true) or upgrade (false).
    pub is_install: bool,
    /// Kubernetes version reported by `.Capabilities.KubeVersion` (`v1.31.0`).
    pub kube_version: String,
    /// API versions added to Helm's default set in `.Capabilities.APIVersions`.
    pub api_versions: Vec<String>,
}

fn go_field_name(key: &str) -> String {
    match key {
        "apiVersion" => "APIVersion".to_string(),
        "kubeVersion" => "KubeVersion".to_string(),
        "appVersion" => "AppVersion".to_string(),
        _ => {
            let mut chars = key.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        }
    }
}

/// `.Chart`: the metadata under Go field names, every field present as Go's struct has it.
fn chart_object(chart: &Chart, is_root: bool) -> GoValue {
    let mut map = BTreeMap::new();
    for (field, empty) in [
        ("Name", GoValue::str("")),
        ("Home", GoValue::str("")),
        ("Sources", GoValue::Nil),
        ("Version", GoValue::str("")),
        ("Description", GoValue::str("")),
        ("Keywords", GoValue::Nil),
        ("Maintainers", GoValue::Nil),
        ("Icon", GoValue::str("")),
        ("APIVersion", GoValue::str("")),
        ("Condition", GoValue::str("")),
        ("Tags", GoValue::str("")),
        ("AppVersion", GoValue::str("")),
        ("Deprecated", GoValue::Bool(false)),
        ("Annotations", GoValue::Nil),
        ("KubeVersion", GoValue::str("")),
        ("Dependencies", GoValue::Nil),
        ("Type", GoValue::str("")),
    ] {
        map.insert(field.to_string(), empty);
    }
    if let Value::Object(raw) = &chart.raw_metadata {
        for (key, value) in raw {
            let v = match value {
                // Chart.yaml numbers are typed fields in Go (strings mostly); keep the text.
                Value::Number(n) => GoValue::from(n.to_string()),
                other => GoValue::from_json(other, Numbers::Float64),
            };
            map.insert(go_field_name(key), v);
        }
    }
    map.insert("Name".into(), GoValue::str(&chart.metadata.name));
    map.insert("IsRoot".into(), GoValue::Bool(is_root));
    GoValue::map(map)
}

struct Job {
    path: String,
    context: GoValue,
    base_path: String,
}

/// Builds each chart's template context (shared by its templates, as Helm's is) and
/// collects sources and render jobs.
#[allow(clippy::too_many_arguments)]
fn collect(
    chart: &Chart,
    prefix: &str,
    values: &GoValue,
    release: &GoValue,
    capabilities: &GoValue,
    is_root: bool,
    sources: &mut Vec<(String, String)>,
    jobs: &mut Vec<Job>,
) -> GoValue {
    let subcharts = GoValue::empty_map();
    let files = Files(
        chart
            .files
            .iter()
            .map(|f| (f.name.clone(), f.data.clone()))
            .collect(),
    );
    let mut ctx = BTreeMap::new();
    ctx.insert("Chart".to_string(), chart_object(chart, is_root));
    ctx.insert("Files".to_string(), GoValue::Object(Rc::new(files)));
    ctx.insert("Release".to_string(), release.clone());
    ctx.insert("Capabilities".to_string(), capabilities.clone());
    ctx.insert("Values".to_string(), values.clone());
    ctx.insert("Subcharts".to_string(), subcharts.clone());
    let context = GoValue::map(ctx);
    for sub in &chart.dependencies {
        let sub_values = match values {
            GoValue::Map(m) => match m.borrow().get(sub.name()) {
                Some(v @ GoValue::Map(_)) => v.clone(),
                _ => GoValue::empty_map(),
            },
            _ => GoValue::empty_map(),
        };
        let sub_ctx = collect(
            sub,
            &format!("{prefix}/charts/{}", sub.name()),
            &sub_values,
            release,
            capabilities,
            false,
            sources,
            jobs,
        );
        if let GoValue::Map(m) = &subcharts {
            m.borrow_mut().insert(sub.name().to_string(), sub_ctx);
        }
    }
    for template in &chart.templates {
        let path = format!("{prefix}/{}", template.name);
        let file = template.name.rsplit('/').next().unwrap_or("");
        // Library charts contribute their partials only.
        if chart.is_library() && !file.starts_with('_') {
            continue;
        }
        sources.push((
            path.clone(),
            String::from_utf8_lossy(&template.data).into_owned(),
        ));
        if file.starts_with('_') {
            continue;
        }
        jobs.push(Job {
            path,
            context: context.clone(),
            base_path: format!("{prefix}/templates"),
        });
    }
    context
}

/// Helm's parse and render order: paths with more `/` first, then reverse lexical order.
fn helm_order(a: &str, b: &str) -> std::cmp::Ordering {
    let depth = |s: &str| s.matches('/').count();
    depth(b).cmp(&depth(a)).then_with(|| b.cmp(a))
}

/// The functions templates run with: sprig and Helm's own.
pub fn helm_funcs() -> Funcs {
    let mut funcs = Funcs::builtin();
    helm_funcs::register(&mut funcs);
    crate::crypto::register(&mut funcs);
    funcs
}

/// Renders the enabled tree of `chart` with coalesced `values`: template path → text.
pub fn render(
    chart: &Chart,
    values: &Value,
    release: &Release,
) -> Result<BTreeMap<String, String>, Error> {
    render_with(chart, values, release, helm_funcs())
}

/// [`render`] with a caller-chosen function set. Templates nest deeply (includes within
/// includes), so the work runs on a thread of its own with a large stack.
pub fn render_with(
    chart: &Chart,
    values: &Value,
    release: &Release,
    funcs: Funcs,
) -> Result<BTreeMap<String, String>, Error> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("helm-render".into())
            .stack_size(helm_funcs::RENDER_STACK_BYTES)
            .spawn_scoped(scope, || render_here(chart, values, release, funcs))
            .map_err(|e| Error::Thread(e.to_string()))?;
        worker
            .join()
            .unwrap_or_else(|_| Err(Error::Thread("the rendering thread panicked".into())))
    })
}

fn render_here(
    chart: &Chart,
    values: &Value,
    release: &Release,
    funcs: Funcs,
) -> Result<BTreeMap<String, String>, Error> {
    let mut rel = BTreeMap::new();
    rel.insert("Name".to_string(), GoValue::str(&release.name));
    rel.insert("Namespace".to_string(), GoValue::str(&release.namespace));
    rel.insert("Revision".to_string(), GoValue::Int(release.revision));
    rel.insert("IsInstall".to_string(), GoValue::Bool(release.is_install));
    rel.insert("IsUpgrade".to_string(), GoValue::Bool(!release.is_install));
    rel.insert("Service".to_string(), GoValue::str("Helm"));
    let release_value = GoValue::map(rel);
    let capabilities = objects::capabilities(&release.kube_version, &release.api_versions);
    let values = GoValue::from_json(values, Numbers::Float64);
    let mut sources = Vec::new();
    let mut jobs = Vec::new();
    collect(
        chart,
        chart.name(),
        &values,
        &release_value,
        &capabilities,
        true,
        &mut sources,
        &mut jobs,
    );
    let options = ParseOptions {
        funcs: funcs.clone(),
        ..ParseOptions::default()
    };
    let mut set = TemplateSet::new(funcs);
    set.options.missing_key = MissingKey::Zero;
    set.options.max_depth = helm_funcs::MAX_INCLUDE_DEPTH;
    sources.sort_by(|a, b| helm_order(&a.0, &b.0));
    for (path, text) in &sources {
        set.add(Template::parse(path, text, &options)?);
    }
    jobs.sort_by(|a, b| helm_order(&a.path, &b.path));
    let mut out = BTreeMap::new();
    for job in jobs {
        if let GoValue::Map(m) = &job.context {
            let mut t = BTreeMap::new();
            t.insert("Name".to_string(), GoValue::str(&job.path));
            t.insert("BasePath".to_string(), GoValue::str(&job.base_path));
            m.borrow_mut()
                .insert("Template".to_string(), GoValue::map(t));
        }
        let text = execute_value(&set, &job.path, &job.context)?;
        out.insert(job.path, text.replace("<no value>", ""));
    }
    Ok(out)
}
