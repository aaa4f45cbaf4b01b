//! `fleet-agent deploy` and `fleet-agent uninstall`: one deploy (or removal) of a
//! BundleDeployment into the cluster a kubeconfig points at.
//!
//! ```text
//! fleet-agent deploy --kubeconfig FILE --bundle-deployment BD.yaml [--name NAME]
//!                    (--content CONTENT.yaml | --bundle BUNDLE.yaml)
//!                    [--state-dir DIR] [--agent-namespace NS] [--watch] [-o yaml|json]
//! fleet-agent uninstall --kubeconfig FILE --bundle-deployment BD.yaml [--name NAME]
//!                       [--state-dir DIR] [--agent-namespace NS]
//! ```
//!
//! * The input files are multi-document YAML (or JSON, or a `List`), so Fleet's files holding
//!   a Content and a BundleDeployment together can be given to both options, and the files
//!   `fleet-manager target` (BundleDeployments) and `fleet-manager apply` (Bundles) print can
//!   be used as they are: a file with several BundleDeployments needs `--name`; of several
//!   Contents the one the deploymentID names is used, of several Bundles the one the
//!   BundleDeployment's `fleet.cattle.io/bundle-name`/`bundle-namespace` labels name.
//! * `deploy` prints the BundleDeployment's `status` in Fleet's shape on stdout and exits 1
//!   when the deploy failed (the status says why, as Fleet would record it); bad input or an
//!   unreachable cluster print nothing on stdout.
//! * With `--watch` the command keeps monitoring ([`crate::cluster::watch`]) and prints every
//!   status change as a further document (YAML after `---`; JSON documents one after the
//!   other) until interrupted.
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
use fleet_render::render::ClusterFacts;

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
    /// Which BundleDeployment of the file, when it holds several (as `fleet-manager target`
    /// prints them).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
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
    /// Keep monitoring after the deploy: print each status change (and correct drift with
    /// `correctDrift.enabled`) until interrupted.
    #[arg(long)]
    pub watch: bool,
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
    /// Which BundleDeployment of the file, when it holds several.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
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

/// The objects of `kind` in the file.
fn of_kind(path: &Path, kind: &str) -> Result<Vec<Value>> {
    Ok(documents(path)?
        .into_iter()
        .filter(|d| d.get("kind").and_then(Value::as_str) == Some(kind))
        .collect())
}

fn name_of(doc: &Value) -> &str {
    doc.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Which object to take when a file holds several of a kind.
struct Wanted<'a> {
    /// What the accepted object is, for the error when none is.
    what: &'a str,
    /// Whether an object is the one.
    accepts: &'a dyn Fn(&Value) -> bool,
}

/// The one object of `kind` in the file that `wanted` accepts: when several are there, the
/// accepted one (exactly one must be), else the only one.
fn pick<T: serde::de::DeserializeOwned>(
    path: &Path,
    kind: &str,
    wanted: Option<Wanted<'_>>,
) -> Result<T> {
    let mut candidates = of_kind(path, kind)?;
    if candidates.len() > 1
        && let Some(Wanted { what, accepts }) = wanted
    {
        candidates.retain(|d| accepts(d));
        if candidates.is_empty() {
            bail!("{}: no {kind} {what}", path.display());
        }
    }
    let doc = match candidates.len() {
        0 => bail!("{}: no {kind} object", path.display()),
        1 => candidates.remove(0),
        n => {
            let names: Vec<&str> = candidates.iter().map(name_of).collect();
            bail!(
                "{}: {n} {kind} objects ({}); say which with --name",
                path.display(),
                names.join(", ")
            )
        }
    };
    serde_json::from_value(doc).with_context(|| format!("{}: invalid {kind}", path.display()))
}

/// The BundleDeployment: the only one in the file, or the one named `name`.
fn read_bundle_deployment(path: &Path, name: Option<&str>) -> Result<BundleDeployment> {
    match name {
        Some(name) => {
            let accepts = |d: &Value| name_of(d) == name;
            let mut docs = of_kind(path, "BundleDeployment")?;
            docs.retain(accepts);
            if docs.is_empty() {
                bail!("{}: no BundleDeployment named {name}", path.display());
            }
            serde_json::from_value(docs.remove(0))
                .with_context(|| format!("{}: invalid BundleDeployment", path.display()))
        }
        None => pick(path, "BundleDeployment", None),
    }
}

/// The manifest of `bd`: from the Content its deploymentID names (or the only one), or from
/// the Bundle its `fleet.cattle.io/bundle-name` label names (or the only one).
fn read_manifest(args: &DeployArgs, bd: &BundleDeployment) -> Result<Manifest> {
    if let Some(path) = &args.content {
        let (manifest_id, _) = fleet_core::manifest::split_deployment_id(&bd.spec.deployment_id);
        let named = |d: &Value| name_of(d) == manifest_id;
        let what = format!("named {manifest_id} (the deploymentID's manifest)");
        let content: Content = pick(
            path,
            "Content",
            Some(Wanted {
                what: &what,
                accepts: &named,
            }),
        )?;
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
    let label = |key: &str| bd.metadata.labels.get(key).cloned().unwrap_or_default();
    let (bundle_name, bundle_namespace) = (
        label(deploy::BUNDLE_NAME_LABEL),
        label(deploy::BUNDLE_NAMESPACE_LABEL),
    );
    let named = |d: &Value| {
        name_of(d) == bundle_name
            && (bundle_namespace.is_empty()
                || d.pointer("/metadata/namespace").and_then(Value::as_str)
                    == Some(bundle_namespace.as_str()))
    };
    let what = format!("named {bundle_namespace}/{bundle_name} (the BundleDeployment's labels)");
    let bundle: Bundle = pick(
        path,
        "Bundle",
        Some(Wanted {
            what: &what,
            accepts: &named,
        }),
    )?;
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
pub(crate) fn cluster_facts(bd: &BundleDeployment) -> ClusterFacts {
    let label = |key: &str| bd.metadata.labels.get(key).cloned().unwrap_or_default();
    ClusterFacts::named(
        &label("fleet.cattle.io/cluster"),
        &label("fleet.cattle.io/cluster-namespace"),
    )
}

/// Runs `fleet-agent deploy`.
pub fn run_deploy(args: &DeployArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    let bd = read_bundle_deployment(&args.bundle_deployment, args.name.as_deref())?;
    if bd.metadata.name.is_empty() {
        bail!(
            "{}: the BundleDeployment has no metadata.name",
            args.bundle_deployment.display()
        );
    }
    let manifest = read_manifest(args, &bd)?;
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
    let output = args.output;
    let runtime = runtime()?;
    let mut executor = runtime.block_on(connect(&args.kubeconfig, &args.agent_namespace))?;
    let renderer = crate::helm::deploy_renderer();
    let outcome = runtime.block_on(cluster::deploy_bundle(
        &mut executor,
        &renderer,
        &bd,
        &files,
        &cluster_facts(&bd),
        &cluster::now_rfc3339(),
    ));
    print_status(out, output, &outcome.status, false)?;
    if let Some(error) = &outcome.error {
        writeln!(err, "fleet-agent: deploy {}: {error}", bd.metadata.name)?;
        if !args.watch || outcome.objects.is_empty() {
            return Ok(ExitCode::FAILURE);
        }
    }
    if !args.watch {
        return Ok(ExitCode::SUCCESS);
    }
    let mut write_error = None;
    let monitored = runtime.block_on(async {
        let monitor = cluster::watch::monitor(
            &mut executor,
            &bd,
            &outcome.objects,
            outcome.status.clone(),
            cluster::now_rfc3339,
            |status| match print_status(out, output, status, true) {
                Ok(()) => true,
                Err(e) => {
                    write_error = Some(e);
                    false
                }
            },
        );
        tokio::select! {
            result = monitor => result,
            // Interrupted: a normal end of watching.
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    });
    if let Some(e) = write_error {
        return Err(e);
    }
    monitored.with_context(|| format!("monitoring {}", bd.metadata.name))?;
    Ok(ExitCode::SUCCESS)
}

/// Prints one status: a YAML document (after `---` when it follows another) or one JSON
/// document, flushed so a reader sees each change when it happens.
fn print_status(
    out: &mut dyn Write,
    format: Format,
    status: &fleet_core::crd::BundleDeploymentStatus,
    follows: bool,
) -> Result<()> {
    let text = match format {
        Format::Yaml => {
            let body = fleet_core::yaml::to_string(status)?;
            if follows {
                format!("---\n{body}")
            } else {
                body
            }
        }
        Format::Json => {
            let mut t = serde_json::to_string_pretty(status)?;
            t.push('\n');
            t
        }
    };
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Runs `fleet-agent uninstall`.
pub fn run_uninstall(
    args: &UninstallArgs,
    out: &mut dyn Write,
    _err: &mut dyn Write,
) -> Result<ExitCode> {
    let bd = read_bundle_deployment(&args.bundle_deployment, args.name.as_deref())?;
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
