//! `fleet-agent diff`: desired objects against live objects, as the agent monitors a
//! BundleDeployment.
//!
//! Prints the drifted objects as a YAML list of `{apiVersion, kind, namespace, name, state,
//! patch}` (objects in sync are not listed) and, with `--summary`, the readiness summary as a
//! second document. Fleet's status strings go to standard error, one per line. Exit status 0
//! when in sync, 1 when drift was found, 2 on error.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use fleet_drift::diff::{self, DiffOptions, rules::ComparePatch, rules::Rules};
use fleet_drift::readiness;

/// Arguments of `fleet-agent diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The desired objects (what `fleet-agent test` prints): multi-document YAML or a List.
    #[arg(long, value_name = "DESIRED.yaml")]
    pub desired: PathBuf,
    /// The live objects as `kubectl get -o yaml` returns them (a List or multi-document YAML).
    #[arg(long, value_name = "LIVE.yaml")]
    pub live: PathBuf,
    /// The BundleDeployment name; the set ID is `SafeConcatName("default", NAME)` and objects
    /// of the set carry `objectset.rio.cattle.io/hash: sha1hex(setID)`.
    #[arg(long, value_name = "NAME")]
    pub bundle_deployment: String,
    /// Namespace of namespaced desired objects without one.
    #[arg(long, value_name = "NS", default_value = "default")]
    pub default_namespace: String,
    /// A YAML list of `diff.comparePatches` entries.
    #[arg(long, value_name = "PATCHES.yaml")]
    pub compare_patches: Option<PathBuf>,
    /// The objects of the previously applied revision (only kind and metadata.name are read);
    /// only live objects named there are reported as extra.
    #[arg(long, value_name = "PREVIOUS.yaml")]
    pub previous: Option<PathBuf>,
    /// Also print the readiness summary as a second YAML document.
    #[arg(long)]
    pub summary: bool,
}

/// Runs the subcommand: the entries (and summary) go to `out`, Fleet's status strings and
/// errors to `err`. Errors are reported here, with exit status 2; nothing is written to `out`
/// then.
pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> ExitCode {
    match execute(args) {
        Ok(output) => {
            if out.write_all(output.stdout.as_bytes()).is_err() {
                return ExitCode::from(2);
            }
            for line in &output.messages {
                let _ = writeln!(err, "{line}");
            }
            if output.drift {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            let _ = writeln!(err, "fleet-agent diff: {e:#}");
            ExitCode::from(2)
        }
    }
}

struct Output {
    stdout: String,
    messages: Vec<String>,
    drift: bool,
}

fn read_objects(path: &Path) -> Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let docs = fleet_core::yaml::documents(&text)
        .with_context(|| format!("{} is not valid YAML", path.display()))?;
    Ok(diff::objects_from_documents(docs))
}

fn read_compare_patches(path: &Path) -> Result<Vec<ComparePatch>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value = fleet_core::yaml::from_str_value(&text)
        .with_context(|| format!("{} is not valid YAML", path.display()))?;
    let list = match value {
        Value::Null => Value::Array(Vec::new()),
        Value::Array(_) => value,
        Value::Object(mut map) => match map.remove("comparePatches") {
            Some(list) => list,
            None => bail!(
                "{}: expected a list of comparePatches entries",
                path.display()
            ),
        },
        _ => bail!(
            "{}: expected a list of comparePatches entries",
            path.display()
        ),
    };
    serde_json::from_value(list)
        .with_context(|| format!("{}: invalid comparePatches entry", path.display()))
}

fn read_previous(path: &Path) -> Result<BTreeSet<(String, String)>> {
    let mut out = BTreeSet::new();
    for (index, obj) in read_objects(path)?.iter().enumerate() {
        let kind = obj.get("kind").and_then(Value::as_str);
        let name = obj.pointer("/metadata/name").and_then(Value::as_str);
        match (kind, name) {
            (Some(kind), Some(name)) => {
                out.insert((kind.to_string(), name.to_string()));
            }
            _ => bail!(
                "{}: object #{index} has no kind or metadata.name",
                path.display()
            ),
        }
    }
    Ok(out)
}

fn execute(args: &Args) -> Result<Output> {
    if args.bundle_deployment.is_empty() {
        bail!("--bundle-deployment must not be empty");
    }
    let desired = read_objects(&args.desired)?;
    let live = read_objects(&args.live)?;
    let compare_patches = match &args.compare_patches {
        Some(path) => read_compare_patches(path)?,
        None => Vec::new(),
    };
    let rules = Rules::new(compare_patches, Vec::new()).context("invalid comparePatches")?;
    let set_id = diff::set_id(&args.bundle_deployment, "default", "");
    let hash = diff::set_hash(&set_id);
    let schema = diff::schema::BuiltinSchema;
    let mut options = DiffOptions::new(&schema, &hash, &rules);
    options.default_namespace = args.default_namespace.clone();
    if let Some(path) = &args.previous {
        options.previous = Some(read_previous(path)?);
    }
    let report = diff::diff(&desired, &live, &options)
        .with_context(|| format!("{} / {}", args.desired.display(), args.live.display()))?;

    let entries: Vec<Printed<'_>> = report.entries.iter().map(printed).collect();
    let mut stdout = fleet_core::yaml::to_string(&entries).context("cannot write YAML")?;
    if args.summary {
        let summary = readiness::summarize(&report, &desired, &live, &[]);
        stdout.push_str("---\n");
        stdout.push_str(&fleet_core::yaml::to_string(&summary).context("cannot write YAML")?);
    }
    let messages = report.entries.iter().map(ToString::to_string).collect();
    Ok(Output {
        stdout,
        messages,
        drift: !report.in_sync(),
    })
}

/// One printed entry, fields in the documented order.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Printed<'a> {
    api_version: &'a str,
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch: Option<&'a str>,
}

fn printed(entry: &diff::Entry) -> Printed<'_> {
    Printed {
        api_version: &entry.api_version,
        kind: &entry.kind,
        namespace: &entry.namespace,
        name: &entry.name,
        state: entry.state.as_str(),
        patch: entry.patch.as_deref(),
    }
}
