//! The engine map: every non-partial template of the enabled chart tree rendered with its
//! chart's values, `.Release`, `.Chart`, `.Capabilities` and `.Template`, and Helm's
//! `include`, `tpl`, `required`, `fail` and `lookup`.

use std::collections::BTreeMap;

use fleet_gotemplate::{Funcs, MissingKey, ParseOptions, Template, TemplateSet, execute};
use serde_json::{Map, Value, json};

use crate::chart::Chart;

/// Why a chart did not render.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A template did not parse or failed while executing.
    #[error("{0}")]
    Template(#[from] fleet_gotemplate::Error),
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
}

fn go_field_name(key: &str) -> String {
    match key {
        "apiVersion" => "APIVersion".to_string(),
        _ => {
            let mut chars = key.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        }
    }
}

fn chart_object(chart: &Chart, is_root: bool) -> Value {
    let mut map = Map::new();
    if let Value::Object(raw) = &chart.raw_metadata {
        for (key, value) in raw {
            map.insert(go_field_name(key), value.clone());
        }
    }
    map.insert("Name".into(), Value::String(chart.metadata.name.clone()));
    map.insert("IsRoot".into(), Value::Bool(is_root));
    Value::Object(map)
}

fn capabilities(kube_version: &str) -> Value {
    let version = kube_version.trim_start_matches('v');
    let mut parts = version.split('.');
    let major = parts.next().unwrap_or("1").to_string();
    let minor = parts.next().unwrap_or("0").to_string();
    json!({
        "KubeVersion": {"Version": format!("v{version}"), "GitVersion": format!("v{version}"), "Major": major, "Minor": minor},
        "HelmVersion": {"Version": "v4.2"},
    })
}

struct Job {
    path: String,
    data: Value,
}

fn collect(
    chart: &Chart,
    prefix: &str,
    values: &Value,
    base: &Value,
    is_root: bool,
    sources: &mut Vec<(String, String)>,
    jobs: &mut Vec<Job>,
) {
    for template in &chart.templates {
        let path = format!("{prefix}/{}", template.name);
        sources.push((
            path.clone(),
            String::from_utf8_lossy(&template.data).into_owned(),
        ));
        let file = template.name.rsplit('/').next().unwrap_or("");
        if chart.is_library() || file.starts_with('_') {
            continue;
        }
        let mut data = base.clone();
        data["Values"] = values.clone();
        data["Chart"] = chart_object(chart, is_root);
        data["Template"] = json!({"Name": path, "BasePath": format!("{prefix}/templates")});
        jobs.push(Job { path, data });
    }
    for sub in &chart.dependencies {
        let sub_values = values.get(sub.name()).cloned().unwrap_or(json!({}));
        collect(
            sub,
            &format!("{prefix}/charts/{}", sub.name()),
            &sub_values,
            base,
            false,
            sources,
            jobs,
        );
    }
}

fn helm_funcs() -> Funcs {
    let mut funcs = Funcs::builtin();
    crate::crypto::register(&mut funcs);
    funcs.insert("include", |ctx, args| {
        let name = args
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let data = args.get(1).cloned().unwrap_or(Value::Null);
        ctx.execute_template(&name, &data)
            .map(Value::String)
            .map_err(|e| e.to_string())
    });
    funcs.insert("required", |_, args| {
        let message = args.first().and_then(Value::as_str).unwrap_or_default();
        match args.get(1) {
            None | Some(Value::Null) => Err(message.to_string()),
            Some(Value::String(s)) if s.is_empty() => Err(message.to_string()),
            Some(v) => Ok(v.clone()),
        }
    });
    funcs.insert("fail", |_, args| {
        Err(args
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    });
    funcs.insert("lookup", |_, _| Ok(Value::Object(Map::new())));
    funcs.insert("toYaml", |_, args| {
        let value = args.first().cloned().unwrap_or(Value::Null);
        Ok(Value::String(
            crate::yaml_out::to_yaml(&value)
                .trim_end_matches('\n')
                .to_string(),
        ))
    });
    funcs.insert("tpl", |ctx, args| {
        let text = args
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let data = args.get(1).cloned().unwrap_or(Value::Null);
        let name = data
            .pointer("/Template/Name")
            .and_then(Value::as_str)
            .unwrap_or("tpl")
            .to_string();
        let mut set = ctx.set().clone();
        let options = ParseOptions {
            funcs: set.funcs().clone(),
            ..ParseOptions::default()
        };
        set.parse(&name, &text, &options)
            .map_err(|e| e.to_string())?;
        execute(&set, &name, &data)
            .map(|out| Value::String(out.replace("<no value>", "")))
            .map_err(|e| e.to_string())
    });
    funcs
}

/// Renders the enabled tree of `chart` with coalesced `values`: template path → text.
pub fn render(
    chart: &Chart,
    values: &Value,
    release: &Release,
) -> Result<BTreeMap<String, String>, Error> {
    let base = json!({
        "Release": {
            "Name": release.name, "Namespace": release.namespace, "Revision": release.revision,
            "IsInstall": release.is_install, "IsUpgrade": !release.is_install, "Service": "Helm",
        },
        "Capabilities": capabilities(&release.kube_version),
    });
    let mut sources = Vec::new();
    let mut jobs = Vec::new();
    collect(
        chart,
        chart.name(),
        values,
        &base,
        true,
        &mut sources,
        &mut jobs,
    );
    let funcs = helm_funcs();
    let options = ParseOptions {
        funcs: funcs.clone(),
        ..ParseOptions::default()
    };
    let mut set = TemplateSet::new(funcs);
    set.options.missing_key = MissingKey::Zero;
    // Helm parses in reverse path order so that a parent's definitions win over a subchart's.
    sources.sort_by(|a, b| b.0.cmp(&a.0));
    for (path, text) in &sources {
        set.add(Template::parse(path, text, &options)?);
    }
    let mut out = BTreeMap::new();
    for job in jobs {
        let text = execute(&set, &job.path, &job.data)?;
        out.insert(job.path, text.replace("<no value>", ""));
    }
    Ok(out)
}
