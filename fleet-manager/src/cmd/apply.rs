//! `fleet-manager apply`: a repository to Bundles, printed as multi-document YAML.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use fleet_bundle::read::{COMMIT_LABEL, DEFAULT_NAMESPACE, Options, REPO_LABEL, TargetsFile};
use fleet_bundle::{Scan, tree::DirTree};

/// Arguments of `fleet-manager apply`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write the Bundles to FILE (`-` for standard output, the default).
    #[arg(short = 'o', long = "output", value_name = "FILE", default_value = "-")]
    pub output: String,
    /// Namespace of the Bundles.
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE", default_value = DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// GitRepo targets as the GitRepo controller writes them: YAML with `targets:` and
    /// `targetRestrictions:`.
    #[arg(long = "targets-file", value_name = "FILE")]
    pub targets_file: Option<String>,
    /// A label for every Bundle (repeatable).
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Commit to record in the `fleet.cattle.io/commit` label (default: `git rev-parse HEAD`
    /// of the working directory, or the fetched commit with `--repo`).
    #[arg(long = "commit", value_name = "SHA")]
    pub commit: Option<String>,
    /// Read the bundles from this git repository (`https://`, `http://`, `ssh://`, `git://`,
    /// `file://`) instead of the working directory.
    #[arg(long = "repo", value_name = "URL")]
    pub repo: Option<String>,
    /// Branch to fetch with `--repo`.
    #[arg(
        long = "branch",
        value_name = "B",
        requires = "repo",
        conflicts_with = "revision"
    )]
    pub branch: Option<String>,
    /// Revision (commit or tag) to fetch with `--repo`.
    #[arg(long = "revision", value_name = "R", requires = "repo")]
    pub revision: Option<String>,
    /// PEM certificates to trust for an `https://` repository besides the system's (a
    /// GitRepo's `caBundle`).
    #[arg(long = "ca-bundle", value_name = "FILE", requires = "repo")]
    pub ca_bundle: Option<String>,
    /// The GitRepo name; prefixes bundle names.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Bundle paths (globs), relative to the repository root.
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
}

fn current_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// Runs the command; returns what goes to standard output (nothing with `-o FILE`).
pub fn run(args: Args) -> anyhow::Result<String> {
    let mut labels = BTreeMap::new();
    for l in &args.labels {
        let Some((k, v)) = l.split_once('=') else {
            bail!("invalid label {l:?}: expected KEY=VALUE");
        };
        if k.is_empty() {
            bail!("invalid label {l:?}: empty key");
        }
        labels.insert(k.to_string(), v.to_string());
    }
    let targets_file = match &args.targets_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading targets file {path}"))?;
            Some(TargetsFile::parse(path, &text)?)
        }
        None => None,
    };
    let fetcher = fleet_bundle::fetch::HttpFetcher::default();
    let scan = Scan::Classic(args.paths.clone());
    let mut opts = Options {
        repo_name: args.name.clone(),
        namespace: args.namespace.clone(),
        labels,
        targets_file,
        compress: false,
        image_scans: false,
        fetcher: &fetcher,
    };
    let bundles = match &args.repo {
        Some(url) => {
            let ca_bundle = match &args.ca_bundle {
                Some(path) => {
                    Some(std::fs::read(path).with_context(|| format!("reading CA bundle {path}"))?)
                }
                None => None,
            };
            let checkout = fleet_bundle::git::fetch_with(
                url,
                args.branch.as_deref(),
                args.revision.as_deref(),
                &fleet_bundle::git::FetchOptions { ca_bundle },
            )?;
            let commit = args
                .commit
                .clone()
                .unwrap_or_else(|| checkout.commit.clone());
            opts.labels.insert(COMMIT_LABEL.to_string(), commit);
            opts.labels
                .insert(REPO_LABEL.to_string(), args.name.clone());
            let tree = checkout.tree()?;
            fleet_bundle::read_repo(&tree, &scan, &opts)?
        }
        None => {
            if let Some(commit) = args.commit.clone().or_else(current_commit) {
                opts.labels.insert(COMMIT_LABEL.to_string(), commit);
            }
            let tree = DirTree::new(".").context("opening the working directory")?;
            fleet_bundle::read_repo(&tree, &scan, &opts)?
        }
    };
    let yaml = fleet_bundle::to_yaml(&bundles)?;
    if args.output == "-" {
        return Ok(yaml);
    }
    std::fs::write(&args.output, yaml).with_context(|| format!("writing {}", args.output))?;
    Ok(String::new())
}
