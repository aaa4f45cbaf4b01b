//! `fleet-agent deploy` and `fleet-agent uninstall`: one deploy (or removal) of a
//! BundleDeployment into the cluster a kubeconfig points at.
//!
//! ```text
//! fleet-agent deploy --kubeconfig FILE --bundle-deployment BD.yaml
//!                    (--content CONTENT.yaml | --bundle BUNDLE.yaml)
//!                    [--state-dir DIR] [--agent-namespace NS] [-o yaml|json]
//! fleet-agent uninstall --kubeconfig FILE --bundle-deployment BD.yaml
//!                       [--state-dir DIR] [--agent-namespace NS]
//! ```
//!
//! * The input files are multi-document YAML (or JSON, or a `List`); the first
//!   `BundleDeployment`, `Content` or `Bundle` in each is used, so Fleet's files holding a
//!   Content and a BundleDeployment together can be given to both options. They are what
//!   `fleet-manager target` and `fleet-manager apply` print, or Fleet's own objects.
//! * `deploy` prints the BundleDeployment's `status` in Fleet's shape on stdout and exits 1
//!   when the deploy failed (the status says why, as Fleet would record it); bad input or an
//!   unreachable cluster print nothing on stdout.
//! * `--state-dir` keeps the BundleDeployment and its manifest for offline restarts
//!   ([`crate::cache`]); `uninstall` removes the entry.
//! * `uninstall` prints the deleted objects, one per line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use fleet_core::crd::{Bundle, BundleDeployment, Content};
use fleet_core::manifest::Manifest;
use fleet_render::render::{ClusterFacts, Renderer};

use crate::cache::{Entry, StateDir};
use crate::cluster::{self, DEFAULT_AGENT_NAMESPACE, Executor};
use crate::deploy;

/// Output format of the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// YAML.
    Yaml,
    /// JSON, indented.
    Json,
}

/// Arguments of `fleet-agent deploy`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// Kubeconfig of the downstream cluster (its current context is used).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: PathBuf,
    /// The BundleDeployment.
    #[arg(long, value_name = "BD.yaml")]
    pub bundle_deployment: PathBuf,
    /// The Fleet `Content` holding the manifest.
    #[arg(
        long,
        value_name = "CONTENT.yaml",
        required_unless_present = "bundle",
        conflicts_with = "bundle"
    )]
    pub content: Option<PathBuf>,
    /// A Bundle whose `spec.resources` are the manifest.
    #[arg(long, value_name = "BUNDLE.yaml")]
    pub bundle: Option<PathBuf>,
    /// Directory keeping the last BundleDeployment and manifest for offline restarts.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Namespace of the inventory ConfigMaps.
    #[arg(long, value_name = "NS", default_value = DEFAULT_AGENT_NAMESPACE)]
    pub agent_namespace: String,
    /// Output format of the status.
    #[arg(short = 'o', long, value_enum, default_value = "yaml")]
    pub output: Format,
}

/// Arguments of `fleet-agent uninstall`.
#[derive(Debug, clap::Args)]
pub struct UninstallArgs {
    /// Kubeconfig of the downstream cluster (its current context is used).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: PathBuf,
    /// The BundleDeployment.
    #[arg(long, value_name = "BD.yaml")]
    pub bundle_deployment: PathBuf,
    /// The state directory to remove the deployment's entry from.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Namespace of the inventory ConfigMaps.
    #[arg(long, value_name = "NS", default_value = DEFAULT_AGENT_NAMESPACE)]
    pub agent_namespace: String,
}

/// The documents of a YAML or JSON file, `List` items spread out.
fn documents(path: &Path) -> Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let docs = fleet_core::yaml::documents(&text)
        .with_context(|| format!("{}: invalid YAML", path.display()))?;
    let mut out = Vec::new();
    for doc in docs {
        match doc.get("items").and_then(Value::as_array) {
            Some(items) if doc.get("kind").and_then(Value::as_str) == Some("List") => {
                out.extend(items.iter().cloned())
            }
            _ if doc.is_null() => {}
            _ => out.push(doc),
        }
    }
    Ok(out)
}

/// The first object of `kind` in the file, decoded.
fn read_kind<T: serde::de::DeserializeOwned>(path: &Path, kind: &str) -> Result<T> {
    let doc = documents(path)?
        .into_iter()
        .find(|d| d.get("kind").and_then(Value::as_str) == Some(kind))
        .ok_or_else(|| anyhow!("{}: no {kind} object", path.display()))?;
    serde_json::from_value(doc).with_context(|| format!("{}: invalid {kind}", path.display()))
}

fn read_manifest(args: &DeployArgs) -> Result<Manifest> {
    if let Some(path) = &args.content {
        let content: Content = read_kind(path, "Content")?;
        use base64::Engine as _;
        let gzipped = base64::engine::general_purpose::STANDARD
            .decode(content.content.trim())
            .with_context(|| format!("{}: Content.content is not base64", path.display()))?;
        return Manifest::from_content(&gzipped, &content.sha256sum)
            .with_context(|| format!("{}: Content {}", path.display(), content.metadata.name));
    }
    let path = args
        .bundle
        .as_ref()
        .ok_or_else(|| anyhow!("one of --content or --bundle is required"))?;
    let bundle: Bundle = read_kind(path, "Bundle")?;
    Manifest::from_bundle_resources(&bundle.spec.resources)
        .with_context(|| format!("{}: Bundle {}", path.display(), bundle.metadata.name))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

async fn connect(kubeconfig: &Path, agent_namespace: &str) -> Result<Executor> {
    let file = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading kubeconfig {}", kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(file, &Default::default())
        .await
        .with_context(|| format!("kubeconfig {}", kubeconfig.display()))?;
    let client = kube::Client::try_from(config).context("building the Kubernetes client")?;
    Ok(Executor::connect(client, agent_namespace).await?)
}

/// The cluster as the agent knows it from the BundleDeployment's labels.
fn cluster_facts(bd: &BundleDeployment) -> ClusterFacts {
    let label = |key: &str| bd.metadata.labels.get(key).cloned().unwrap_or_default();
    ClusterFacts::named(
        &label("fleet.cattle.io/cluster"),
        &label("fleet.cattle.io/cluster-namespace"),
    )
}

/// Runs `fleet-agent deploy`.
pub fn run_deploy(args: &DeployArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    let bd: BundleDeployment = read_kind(&args.bundle_deployment, "BundleDeployment")?;
    if bd.metadata.name.is_empty() {
        bail!(
            "{}: the BundleDeployment has no metadata.name",
            args.bundle_deployment.display()
        );
    }
    let manifest = read_manifest(args)?;
    let (manifest_id, _) = fleet_core::manifest::split_deployment_id(&bd.spec.deployment_id);
    if !manifest_id.is_empty() && manifest_id != manifest.id() {
        writeln!(
            err,
            "# warning: deploymentID {} names manifest {manifest_id}, the input is {}",
            bd.spec.deployment_id,
            manifest.id()
        )?;
    }
    let files = deploy::manifest_files(&manifest)?;
    if let Some(dir) = &args.state_dir {
        StateDir::new(dir).store(&Entry {
            bundle_deployment: bd.clone(),
            manifest_json: manifest.json().to_vec(),
        })?;
    }
    let outcome = runtime()?.block_on(async {
        let mut executor = connect(&args.kubeconfig, &args.agent_namespace).await?;
        let renderer = Renderer::default();
        anyhow::Ok(
            cluster::deploy_bundle(
                &mut executor,
                &renderer,
                &bd,
                &files,
                &cluster_facts(&bd),
                &cluster::now_rfc3339(),
            )
            .await,
        )
    })?;
    let text = match args.output {
        Format::Yaml => fleet_core::yaml::to_string(&outcome.status)?,
        Format::Json => {
            let mut t = serde_json::to_string_pretty(&outcome.status)?;
            t.push('\n');
            t
        }
    };
    out.write_all(text.as_bytes())?;
    out.flush()?;
    match outcome.error {
        None => Ok(ExitCode::SUCCESS),
        Some(error) => {
            writeln!(err, "fleet-agent: deploy {}: {error}", bd.metadata.name)?;
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Runs `fleet-agent uninstall`.
pub fn run_uninstall(
    args: &UninstallArgs,
    out: &mut dyn Write,
    _err: &mut dyn Write,
) -> Result<ExitCode> {
    let bd: BundleDeployment = read_kind(&args.bundle_deployment, "BundleDeployment")?;
    let deleted = runtime()?.block_on(async {
        let mut executor = connect(&args.kubeconfig, &args.agent_namespace).await?;
        anyhow::Ok(executor.uninstall(&bd.metadata.name, &bd.spec).await?)
    })?;
    if let Some(dir) = &args.state_dir {
        StateDir::new(dir).remove(&bd.metadata.name)?;
    }
    for r in &deleted {
        writeln!(out, "{r}")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
