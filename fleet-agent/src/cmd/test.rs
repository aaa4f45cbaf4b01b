//! `fleet-agent test`: Fleet's `fleet test` — match a bundle directory as a cluster with the
//! given name, labels and group would be matched, and print the objects it would receive.
//!
//! ```text
//! fleet-agent test [-l KEY=VALUE]... [-N CLUSTER_NAME] [-g GROUP] [-L GROUP_KEY=VALUE]...
//!                  [-t TARGET] [--targets-file FILE] [-q] [DIR]
//! ```
//!
//! * The bundle is read from `DIR` (default `.`) with `fleet-bundle`, as `fleet apply` reads
//!   it (remote charts are downloaded); `--targets-file` adds GitRepo targets the way
//!   `fleet apply` takes them.
//! * Helm charts (and raw bundles with `templates/`) render with the native renderer
//!   ([`crate::helm`]).
//! * Without `-g`, `-l`, `-L` or `-t` the cluster is in group `default` (as in Fleet).
//! * `-t NAME` picks the target entry with that name instead of matching.
//! * The matched target's name goes to stderr as `# Matched: NAME`; `-q` stops there.
//! * The options are what the controller would write into this cluster's BundleDeployment
//!   (`fleet_targeting::deployment`): the target's options folded with its customizations, then
//!   Helm value processing (`global.fleet.clusterLabels.*`, `${ }`) with the cluster's name and
//!   labels. Fleet's own `fleet test` skips that processing; here a `-l` label reaches the
//!   values as it would on a real cluster.
//! * The objects are rendered with Fleet's `fleet test` objectset prefix (set ID
//!   `-<bundle name>`) and printed as multi-document YAML on stdout, laid out as Fleet's
//!   `yaml.Export` does (documents joined by `\n---\n`).
//! * A cluster that gets nothing (no target matches, or `doNotDeploy`) prints nothing on
//!   stdout, a note on stderr, and exits 0. Any error exits non-zero with nothing on stdout.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use fleet_bundle::fetch::HttpFetcher;
use fleet_bundle::read::{BundleDir, Options as ReadOptions, TargetsFile};
use fleet_bundle::tree::DirTree;
use fleet_core::crd::{BundleSpec, TargetCustomizationMode};
use fleet_render::files::Files;
use fleet_render::render::{ClusterFacts, RenderRequest, SubstituteOptions};
use fleet_targeting::deployment;
use fleet_targeting::values::ClusterContext;
use fleet_targeting::{
    BundleInput, CustomizationMode, Decision, Engine, GroupInput, MatcherInput, Outcome,
    TargetInput,
};

/// The namespace the simulated cluster lives in (the bundle's namespace, so it is in scope).
const NAMESPACE: &str = "fleet-local";

/// Arguments of `fleet-agent test`.
#[derive(Debug, Clone, Args)]
pub struct TestArgs {
    /// Cluster label to match against (repeatable).
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub labels: Vec<(String, String)>,
    /// Cluster name to match against.
    #[arg(short = 'N', long = "name", value_name = "CLUSTER_NAME")]
    pub name: Option<String>,
    /// Cluster group to match against.
    #[arg(short = 'g', long = "group", value_name = "GROUP")]
    pub group: Option<String>,
    /// Cluster group label to match against (repeatable).
    #[arg(short = 'L', long = "group-label", value_name = "GROUP_KEY=VALUE", value_parser = parse_pair)]
    pub group_labels: Vec<(String, String)>,
    /// Explicit target to use, by name.
    #[arg(short = 't', long = "target", value_name = "TARGET")]
    pub target: Option<String>,
    /// GitRepo targets, as `fleet-manager apply` takes them.
    #[arg(long = "targets-file", value_name = "FILE")]
    pub targets_file: Option<PathBuf>,
    /// Only print which target matched.
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// The bundle directory.
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

/// A bundle directory read for `fleet test`.
#[derive(Debug, Clone)]
pub struct LoadedBundle {
    /// Bundle name (fleet.yaml `name`, else `test`).
    pub name: String,
    /// The spec: options, targets (customizations included) and restrictions.
    pub spec: BundleSpec,
    /// The Bundle's annotations (where the `substitute` extension travels).
    pub annotations: BTreeMap<String, String>,
    /// The bundle's resources.
    pub files: Files,
}

/// Reads a bundle directory as Fleet's `fleet test` does (through `fleet-bundle`: fleet.yaml,
/// `.fleetignore`, hidden files, values files, targets assembly with `targets_file`), named
/// `test` unless fleet.yaml names it.
pub fn load_bundle(
    dir: &Path,
    targets_file: Option<&Path>,
) -> anyhow::Result<Option<LoadedBundle>> {
    if !dir.is_dir() {
        bail!("{}: not a directory", dir.display());
    }
    let targets = targets_file
        .map(|file| -> anyhow::Result<TargetsFile> {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            Ok(TargetsFile::parse(&file.display().to_string(), &text)?)
        })
        .transpose()?;
    // Remote charts are fetched as `fleet apply` fetches them.
    let fetcher = HttpFetcher::default();
    let tree = DirTree::new(dir).with_context(|| format!("reading {}", dir.display()))?;
    let opts = ReadOptions {
        repo_name: "test".to_string(),
        namespace: NAMESPACE.to_string(),
        labels: BTreeMap::new(),
        targets_file: targets,
        compress: false,
        image_scans: false,
        fetcher: &fetcher,
    };
    let bundle_dir = BundleDir {
        path: String::new(),
        id_path: ".".to_string(),
        options_file: None,
    };
    let Some(read) = fleet_bundle::read::read_bundle(&tree, &bundle_dir, &opts)
        .with_context(|| format!("reading bundle {}", dir.display()))?
    else {
        return Ok(None);
    };
    let name = Some(read.bundle.metadata.name.as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or("test")
        .to_string();
    let spec = read.bundle.spec;
    let mut files = Files::new();
    for resource in &spec.resources {
        files.insert(&resource.name, resource.decode()?)?;
    }
    Ok(Some(LoadedBundle {
        name,
        spec,
        annotations: read.bundle.metadata.annotations,
        files,
    }))
}

fn matcher(
    cluster_name: &str,
    cluster_group: &str,
    group_selector: &Option<fleet_core::selector::LabelSelector>,
    selector: &Option<fleet_core::selector::LabelSelector>,
) -> MatcherInput {
    MatcherInput {
        cluster_name: cluster_name.to_string(),
        cluster_group: cluster_group.to_string(),
        cluster_group_selector: group_selector.clone(),
        cluster_selector: selector.clone(),
    }
}

/// The result of matching.
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    /// Deployed with this target (index) and these customizations (indices).
    Deployed {
        /// Index of the deploy target in `spec.targets`.
        target: usize,
        /// Indices of the customizations applied.
        customizations: Vec<usize>,
    },
    /// Nothing is deployed; why.
    Nothing(String),
}

/// Matches the bundle as a cluster with the arguments' name, labels and group would be.
pub fn match_bundle(bundle: &LoadedBundle, args: &TestArgs) -> anyhow::Result<Match> {
    let spec = &bundle.spec;
    if let Some(name) = &args.target {
        return Ok(match spec.targets.iter().position(|t| &t.name == name) {
            Some(i) => Match::Deployed {
                target: i,
                customizations: Vec::new(),
            },
            None => Match::Nothing(format!("no target named {name:?}")),
        });
    }
    let mut engine = Engine::new();
    let cluster_name = args.name.clone().unwrap_or_default();
    let group = match &args.group {
        Some(g) => Some(g.clone()),
        None if args.labels.is_empty() && args.group_labels.is_empty() => {
            Some("default".to_string())
        }
        None => None,
    };
    if let Some(group) = &group {
        // Every cluster of this engine is the one under test, so an empty selector puts it
        // in the group.
        engine.upsert_group(&GroupInput {
            namespace: NAMESPACE.to_string(),
            name: group.clone(),
            labels: args.group_labels.iter().cloned().collect(),
            selector: Some(Default::default()),
        });
    }
    engine.upsert_cluster(
        NAMESPACE,
        &cluster_name,
        args.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let input = BundleInput {
        namespace: NAMESPACE.to_string(),
        name: bundle.name.clone(),
        labels: BTreeMap::new(),
        targets: spec
            .targets
            .iter()
            .map(|t| TargetInput {
                name: t.name.clone(),
                matcher: matcher(
                    &t.cluster_name,
                    &t.cluster_group,
                    &t.cluster_group_selector,
                    &t.cluster_selector,
                ),
                do_not_deploy: t.do_not_deploy,
            })
            .collect(),
        restrictions: spec
            .target_restrictions
            .iter()
            .map(|r| {
                matcher(
                    &r.cluster_name,
                    &r.cluster_group,
                    &r.cluster_group_selector,
                    &r.cluster_selector,
                )
            })
            .collect(),
        mode: if all_matches(spec) {
            CustomizationMode::AllMatches
        } else {
            CustomizationMode::FirstMatch
        },
    };
    let (bundle_id, _) = engine
        .upsert_bundle(&input)
        .map_err(|e| anyhow!("targeting error: {e}"))?;
    let cluster = engine
        .cluster_id(NAMESPACE, &cluster_name)
        .ok_or_else(|| anyhow!("internal error: the test cluster is not registered"))?;
    let explanation = engine
        .explain(bundle_id, cluster)
        .ok_or_else(|| anyhow!("internal error: no explanation for the test cluster"))?;
    Ok(match explanation.outcome {
        Outcome::Deployed(decision) => Match::Deployed {
            target: decision.target as usize,
            customizations: decision
                .customizations
                .iter()
                .map(|&c| c as usize)
                .collect(),
        },
        Outcome::NoTarget | Outcome::OutOfScope => Match::Nothing("no match found".to_string()),
        Outcome::VetoedByTarget { target } => Match::Nothing(format!(
            "target {:?} matched with doNotDeploy",
            spec.targets
                .get(target)
                .map(|t| t.name.as_str())
                .unwrap_or_default()
        )),
        Outcome::VetoedByCustomization { customization, .. } => Match::Nothing(format!(
            "customization {:?} matched with doNotDeploy",
            spec.targets
                .get(customization)
                .map(|t| t.name.as_str())
                .unwrap_or_default()
        )),
    })
}

fn all_matches(spec: &BundleSpec) -> bool {
    spec.target_customization_mode == TargetCustomizationMode::AllMatches
}

/// Runs `fleet-agent test`.
pub fn run(args: &TestArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let Some(bundle) = load_bundle(&args.dir, args.targets_file.as_deref())? else {
        writeln!(
            err,
            "# {}: no resources, no bundle: nothing would be deployed",
            args.dir.display()
        )?;
        return Ok(ExitCode::SUCCESS);
    };
    let (target, customizations) = match match_bundle(&bundle, args)? {
        Match::Deployed {
            target,
            customizations,
        } => (target, customizations),
        Match::Nothing(why) => {
            writeln!(err, "# {why}: nothing would be deployed to this cluster")?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    let matched = bundle
        .spec
        .targets
        .get(target)
        .map(|t| t.name.clone())
        .unwrap_or_default();
    writeln!(err, "# Matched: {matched}")?;
    if args.quiet {
        return Ok(ExitCode::SUCCESS);
    }
    let decision = Decision {
        target: target as u32,
        customizations: customizations.iter().map(|&c| c as u32).collect(),
    };
    // What the controller would put in this cluster's BundleDeployment: the folded options,
    // then Helm value processing with the cluster's name and labels.
    let cluster = ClusterFacts {
        labels: args.labels.iter().cloned().collect(),
        ..ClusterFacts::named(args.name.as_deref().unwrap_or_default(), NAMESPACE)
    };
    let mut options = deployment::target_options(&bundle.spec, &decision);
    let context = ClusterContext::new(
        &cluster.name,
        &cluster.namespace,
        &cluster.labels,
        &cluster.annotations,
        &cluster.template_values,
    );
    deployment::process_values(&mut options, &context)
        .with_context(|| format!("bundle {}: cannot process helm values", bundle.name))?;
    let substitute = SubstituteOptions::from_annotations(&bundle.annotations)?;
    let request = RenderRequest {
        substitute: substitute.as_ref(),
        label_prefix: "",
        ..RenderRequest::new(&bundle.name, &bundle.files, &options, &cluster)
    };
    let objects = crate::helm::renderer().render(&request)?;
    // Fleet's `yaml.Export` layout: each document as YAML, joined by "\n---\n".
    let mut text = String::new();
    for (i, object) in objects.iter().enumerate() {
        if i > 0 {
            text.push_str("\n---\n");
        }
        text.push_str(&fleet_core::yaml::to_string(object)?);
    }
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
