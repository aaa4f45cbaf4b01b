//! Reading bundles from a git commit (gix): shallow fetch of a branch or a revision into a
//! temporary bare repository, then the commit's tree objects loaded into an in-memory tree.
//! No worktree is checked out, so a bundle's content is a pure function of (commit, path).
//!
//! Transports: `file://` and local paths (gix spawns `git-upload-pack`), `git://` and `ssh://`
//! as gix supports them. `https://` needs an HTTP transport in gix, which this build leaves out
//! (it would pull a second TLS stack); such URLs are refused with a clear error.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use crate::tree::{self, Entry, FileTree, MemTree};

/// A git error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL uses a transport this build does not include.
    #[error(
        "{0}: https:// git URLs are not supported by this build (use file://, ssh:// or git://)"
    )]
    UnsupportedTransport(String),
    /// gix failed.
    #[error("{url}: {reason}")]
    Gix {
        /// The repository URL.
        url: String,
        /// gix's message.
        reason: String,
    },
    /// A temporary directory could not be made.
    #[error("temporary directory: {0}")]
    Temp(#[source] std::io::Error),
}

/// A fetched commit: its id and its files.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// The commit id (hex).
    pub commit: String,
    files: MemTree,
}

impl Checkout {
    /// The commit's tree as a [`FileTree`].
    pub fn tree(&self) -> Result<CommitTree, tree::Error> {
        Ok(CommitTree {
            inner: self.files.clone(),
            commit: self.commit.clone(),
        })
    }
}

/// The files of a commit.
#[derive(Debug, Clone)]
pub struct CommitTree {
    inner: MemTree,
    commit: String,
}

impl FileTree for CommitTree {
    fn read_dir(&self, dir: &str) -> Result<Vec<Entry>, tree::Error> {
        self.inner.read_dir(dir)
    }
    fn kind(&self, path: &str) -> Result<Option<tree::EntryKind>, tree::Error> {
        self.inner.kind(path)
    }
    fn read_file(&self, path: &str) -> Result<Vec<u8>, tree::Error> {
        self.inner.read_file(path)
    }
    fn describe(&self) -> String {
        format!("commit {}", self.commit)
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self, Error> {
        use std::time::{SystemTime, UNIX_EPOCH};
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let p =
            std::env::temp_dir().join(format!("fleet-bundle-git-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).map_err(Error::Temp)?;
        Ok(Self(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Fetches `branch` (shallow, depth 1), or `revision` (a commit id or full ref name, fetched
/// alone), or the remote HEAD, and loads the commit's tree.
pub fn fetch(url: &str, branch: Option<&str>, revision: Option<&str>) -> Result<Checkout, Error> {
    if url.starts_with("https://") || url.starts_with("http://") {
        return Err(Error::UnsupportedTransport(url.to_string()));
    }
    let gix_err = |e: &dyn std::fmt::Display| Error::Gix {
        url: url.to_string(),
        reason: e.to_string(),
    };
    let tmp = TempDir::new()?;
    let mut prepare = gix::prepare_clone_bare(url, &tmp.0).map_err(|e| gix_err(&e))?;
    match (branch, revision) {
        (_, Some(rev)) => {
            let is_id = rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit());
            let rev = if is_id || rev.starts_with("refs/") {
                rev.to_string()
            } else {
                format!("refs/tags/{rev}")
            };
            prepare = prepare
                .with_revision(Some(rev.as_str()))
                .map_err(|e| gix_err(&e))?;
        }
        (Some(b), None) => {
            prepare = prepare.with_ref_name(Some(b)).map_err(|e| gix_err(&e))?;
        }
        (None, None) => {}
    }
    prepare = prepare.with_shallow(gix::remote::fetch::Shallow::DepthAtRemote(
        std::num::NonZeroU32::MIN,
    ));
    let interrupt = AtomicBool::new(false);
    let (repo, _) = prepare
        .fetch_only(gix::progress::Discard, &interrupt)
        .map_err(|e| gix_err(&e))?;
    let commit = repo.head_commit().map_err(|e| gix_err(&e))?;
    let commit_id = commit.id().to_string();
    let tree = commit.tree().map_err(|e| gix_err(&e))?;
    let mut files = MemTree::new(format!("commit {commit_id}"));
    load_tree(&repo, tree.id, "", &mut files, url)?;
    Ok(Checkout {
        commit: commit_id,
        files,
    })
}

fn load_tree(
    repo: &gix::Repository,
    id: gix::ObjectId,
    prefix: &str,
    out: &mut MemTree,
    url: &str,
) -> Result<(), Error> {
    let gix_err = |e: &dyn std::fmt::Display| Error::Gix {
        url: url.to_string(),
        reason: e.to_string(),
    };
    let tree = repo
        .find_object(id)
        .map_err(|e| gix_err(&e))?
        .try_into_tree()
        .map_err(|e| gix_err(&e))?;
    let decoded = tree.decode().map_err(|e| gix_err(&e))?;
    let entries: Vec<(gix::objs::tree::EntryMode, String, gix::ObjectId)> = decoded
        .entries
        .iter()
        .map(|e| (e.mode, e.filename.to_string(), e.oid.to_owned()))
        .collect();
    for (mode, name, oid) in entries {
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if mode.is_tree() {
            load_tree(repo, oid, &path, out, url)?;
        } else if mode.is_link() {
            let blob = repo.find_object(oid).map_err(|e| gix_err(&e))?;
            let target = String::from_utf8_lossy(&blob.data).into_owned();
            out.insert_link(&path, &target).map_err(|e| gix_err(&e))?;
        } else if mode.is_blob() {
            let blob = repo.find_object(oid).map_err(|e| gix_err(&e))?;
            out.insert(&path, blob.data.clone())
                .map_err(|e| gix_err(&e))?;
        }
        // Submodules (commits) carry no files of this repository.
    }
    Ok(())
}
