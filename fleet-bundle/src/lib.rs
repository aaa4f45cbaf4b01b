//! A repository (directory or git commit) to Fleet Bundles, exactly as Fleet v0.16's
//! `fleet apply` reads it.
//!
//! The pipeline: [`discover`] picks bundle directories (classic scan over `paths` globs, or a
//! driven scan), [`read`] turns each into a `fleet.cattle.io/v1alpha1` Bundle (fleet.yaml keys,
//! files with hidden/`.fleetignore`/symlink rules, values files, remote charts under
//! `.chart/<sha256>`, targets assembly, naming, labels, compression). Everything works on the
//! [`tree::FileTree`] abstraction: a directory on disk, a git commit's tree (feature `git`),
//! or an in-memory tree. Remote chart downloads sit behind the `http` feature.
//!
//! ```no_run
//! use fleet_bundle::{Scan, read_repo, tree::DirTree, read::Options, chart::Offline};
//! let tree = DirTree::new("examples/repo")?;
//! let opts = Options {
//!     repo_name: "quickstart".into(),
//!     namespace: "fleet-local".into(),
//!     labels: Default::default(),
//!     targets_file: None,
//!     compress: false,
//!     image_scans: false,
//!     fetcher: &Offline,
//! };
//! let bundles = read_repo(&tree, &Scan::Classic(vec![".".into()]), &opts)?;
//! print!("{}", fleet_bundle::to_yaml(&bundles)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod chart;
pub mod discover;
#[cfg(feature = "http")]
pub mod fetch;
#[cfg(feature = "git")]
pub mod git;
pub mod ignore;
pub mod read;
pub mod tree;
pub mod walk;

pub use read::{BundleDir, Options, ReadBundle};

/// How bundle directories are found.
#[derive(Debug, Clone)]
pub enum Scan {
    /// `fleet apply NAME PATH...`: globs walked recursively.
    Classic(Vec<String>),
    /// `spec.bundles` of a GitRepo: each entry `dir[<separator>options-file]` is one bundle.
    Driven {
        /// The entries.
        entries: Vec<String>,
        /// The separator between directory and options file (Fleet's tests use `:`).
        separator: char,
    },
}

/// An error reading a repository.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Discovery failed.
    #[error(transparent)]
    Discover(#[from] discover::Error),
    /// Reading one bundle failed.
    #[error(transparent)]
    Read(#[from] read::Error),
    /// No directory produced a bundle (Fleet fails the GitRepo job).
    #[error("no resource found at the following paths to deploy: {0:?}")]
    NoBundles(Vec<String>),
    /// Writing YAML failed.
    #[error(transparent)]
    Yaml(#[from] fleet_core::yaml::Error),
}

/// Discovers and reads every bundle of a repository, in discovery order. Bundles are read in
/// parallel (scoped threads); directories without resources are skipped; no bundle at all is
/// an error.
pub fn read_repo(
    tree: &dyn tree::FileTree,
    scan: &Scan,
    opts: &Options<'_>,
) -> Result<Vec<ReadBundle>, Error> {
    let (dirs, paths) = match scan {
        Scan::Classic(paths) => (discover::classic(tree, paths)?, paths.clone()),
        Scan::Driven { entries, separator } => (
            discover::driven(tree, entries, *separator)?,
            entries.clone(),
        ),
    };
    let results = read_dirs(tree, &dirs, opts);
    let mut out = Vec::new();
    for r in results {
        if let Some(b) = r? {
            out.push(b);
        }
    }
    if out.is_empty() {
        let paths = if paths.is_empty() {
            vec![".".to_string()]
        } else {
            paths
        };
        return Err(Error::NoBundles(paths));
    }
    Ok(out)
}

/// Reads the given bundle directories in parallel, results in input order.
pub fn read_dirs(
    tree: &dyn tree::FileTree,
    dirs: &[BundleDir],
    opts: &Options<'_>,
) -> Vec<Result<Option<ReadBundle>, read::Error>> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(dirs.len().max(1));
    if workers <= 1 {
        return dirs
            .iter()
            .map(|d| read::read_bundle(tree, d, opts))
            .collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut slots: Vec<Option<Result<Option<ReadBundle>, read::Error>>> =
        (0..dirs.len()).map(|_| None).collect();
    let collected = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let mut local = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(d) = dirs.get(i) else {
                        break;
                    };
                    local.push((i, read::read_bundle(tree, d, opts)));
                }
                if let Ok(mut c) = collected.lock() {
                    c.extend(local);
                }
            });
        }
    });
    let collected = collected.into_inner().unwrap_or_default();
    for (i, r) in collected {
        slots[i] = Some(r);
    }
    slots
        .into_iter()
        .zip(dirs)
        .map(|(slot, d)| slot.unwrap_or_else(|| read::read_bundle(tree, d, opts)))
        .collect()
}

/// The Bundles (and ImageScans) as a multi-document YAML stream, one document per object,
/// keys sorted as `sigs.k8s.io/yaml` writes them.
pub fn to_yaml(bundles: &[ReadBundle]) -> Result<String, Error> {
    let mut docs = Vec::new();
    for b in bundles {
        docs.push(
            serde_json::to_value(&b.bundle)
                .map_err(|e| read::Error::Encode(b.bundle.metadata.name.clone(), e.to_string()))?,
        );
        docs.extend(b.image_scans.iter().cloned());
    }
    Ok(fleet_core::yaml::to_string_multi(&docs)?)
}
