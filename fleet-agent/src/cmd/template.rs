//! `fleet-agent template`: `helm template` with the native renderer.
//!
//! ```text
//! fleet-agent template [NAME] CHART [-f FILE]... [--set K=V]... [--set-string K=V]...
//!                      [--set-json K=JSON]... [-n NS] [--kube-version V] [--is-upgrade]
//!                      [--revision N] [--include-crds] [--skip-schema-validation]
//!                      [--output stream|engine-json]
//! ```
//!
//! * `CHART` is a chart directory or a packaged `.tgz`. `NAME` defaults to `release-name`,
//!   the namespace to `default`, the revision to 1, the action to install, as in
//!   `helm template`.
//! * Values stack as Helm's `MergeValues` stacks them (`pkg/cli/values/options.go`): the
//!   `-f` files in order, then every `--set-json`, then every `--set`, then every
//!   `--set-string`; the result goes over the chart's defaults.
//! * `--output stream` (the default) prints the `helm template` stream: with
//!   `--include-crds` the `crds/` files first, then the manifests in Helm's kind install order
//!   ([`fleet_helm::order`]), then the hooks, each under `---` and `# Source: <path>`;
//!   `NOTES.txt` and empty documents are left out.
//! * `--output engine-json` prints the engine's map (template path → rendered text, every
//!   non-partial template) as one JSON object, keys sorted, one-space indentation.
//! * The values are checked against the charts' `values.schema.json` files
//!   ([`fleet_helm::schema`]) unless `--skip-schema-validation`.
//! * `-a/--api-versions` adds to `.Capabilities.APIVersions` (Helm's default set).
//! * The release name must pass Helm's check (at most 53 characters, DNS-1123 labels).
//! * Any values, parse or execution error prints nothing on stdout, the message on stderr,
//!   and exits 1.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use fleet_helm::render::Release;
use fleet_helm::strvals::{self, Mode};
use fleet_helm::{chart, values};
use serde::Serialize as _;
use serde_json::Value;

/// What `fleet-agent template` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// The `helm template` manifest stream.
    Stream,
    /// The engine map as JSON.
    EngineJson,
}

/// Arguments of `fleet-agent template`.
#[derive(Debug, Clone, Args)]
pub struct TemplateArgs {
    /// `[NAME] CHART`: the release name (default `release-name`) and the chart directory or
    /// archive.
    #[arg(value_name = "[NAME] CHART", num_args = 1..=2, required = true)]
    pub positional: Vec<String>,
    /// Values file (repeatable; later files win).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values_files: Vec<PathBuf>,
    /// `--set` override (repeatable).
    #[arg(long = "set", value_name = "K=V")]
    pub set: Vec<String>,
    /// `--set-string` override (repeatable).
    #[arg(long = "set-string", value_name = "K=V")]
    pub set_string: Vec<String>,
    /// `--set-json` override (repeatable).
    #[arg(long = "set-json", value_name = "K=JSON")]
    pub set_json: Vec<String>,
    /// Release namespace.
    #[arg(short = 'n', long = "namespace", default_value = "default")]
    pub namespace: String,
    /// Kubernetes version for `.Capabilities.KubeVersion`.
    #[arg(long = "kube-version", default_value = crate::helm::DEFAULT_KUBE_VERSION)]
    pub kube_version: String,
    /// Extra API versions for `.Capabilities.APIVersions` (not supported yet: refused).
    #[arg(short = 'a', long = "api-versions", value_name = "API_VERSION")]
    pub api_versions: Vec<String>,
    /// Render as an upgrade (`.Release.IsUpgrade`) instead of an install.
    #[arg(long = "is-upgrade")]
    pub is_upgrade: bool,
    /// `.Release.Revision`.
    #[arg(long = "revision", default_value_t = 1)]
    pub revision: i64,
    /// Do not check the values against `values.schema.json`.
    #[arg(long = "skip-schema-validation")]
    pub skip_schema_validation: bool,
    /// Print the chart's `crds/` files too (stream output).
    #[arg(long = "include-crds")]
    pub include_crds: bool,
    /// Output format.
    #[arg(long = "output", value_enum, default_value_t = Output::Stream)]
    pub output: Output,
}

impl TemplateArgs {
    fn name_and_chart(&self) -> (&str, &str) {
        match self.positional.as_slice() {
            [name, chart] => (name, chart),
            [chart] => ("release-name", chart),
            _ => ("release-name", ""),
        }
    }
}

/// The user values of the arguments, stacked as Helm stacks them.
pub fn user_values(args: &TemplateArgs) -> anyhow::Result<Value> {
    let mut base = Value::Object(Default::default());
    for file in &args.values_files {
        let label = file.display().to_string();
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading values {label}"))?;
        let parsed = values::parse(&text, &label)?;
        values::merge_into(&mut base, parsed);
    }
    for (flags, mode, flag) in [
        (&args.set_json, Mode::Json, "--set-json"),
        (&args.set, Mode::Typed, "--set"),
        (&args.set_string, Mode::String, "--set-string"),
    ] {
        for text in flags {
            strvals::parse_into(text, &mut base, mode)
                .with_context(|| format!("failed parsing {flag} data {text:?}"))?;
        }
    }
    Ok(base)
}

/// The engine map as one JSON object: keys sorted, one-space indentation, no HTML escaping,
/// a final newline.
pub fn engine_json(map: &std::collections::BTreeMap<String, String>) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(b" "),
    );
    map.serialize(&mut ser)?;
    out.push(b'\n');
    Ok(String::from_utf8(out)?)
}

/// Runs `fleet-agent template`.
pub fn run(
    args: &TemplateArgs,
    out: &mut dyn Write,
    _err: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let (name, chart_path) = args.name_and_chart();
    crate::helm::check_release_name(name).map_err(anyhow::Error::msg)?;
    let mut chart = chart::load(std::path::Path::new(chart_path))?;
    let user = user_values(args)?;
    let release = Release {
        name: name.to_string(),
        namespace: args.namespace.clone(),
        revision: args.revision,
        is_install: !args.is_upgrade,
        kube_version: args.kube_version.clone(),
        api_versions: args.api_versions.clone(),
    };
    let text = match args.output {
        Output::EngineJson => {
            let values =
                crate::helm::render_values(&mut chart, &user, !args.skip_schema_validation)
                    .map_err(anyhow::Error::msg)?;
            let map = fleet_helm::render::render(&chart, &values, &release)?;
            engine_json(&map)?
        }
        Output::Stream => {
            let rendered = crate::helm::render_manifests(
                &mut chart,
                &user,
                &release,
                !args.skip_schema_validation,
            )
            .map_err(anyhow::Error::msg)?;
            let mut text = String::new();
            if args.include_crds {
                for (source, content) in &rendered.crds {
                    text.push_str(&format!("---\n# Source: {source}\n{content}\n"));
                }
            }
            text.push_str(&fleet_helm::order::write_stream(rendered.manifests));
            text
        }
    };
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
