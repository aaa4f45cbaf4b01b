//! The file-tree abstraction bundles are read from: a directory on disk, a git commit's tree,
//! or an in-memory tree (downloaded charts, tests).
//!
//! Paths are relative, `/`-separated and clean (no `.`, no `..`, no leading `/`); the root is
//! the empty string. Symbolic links are reported as such; [`resolve_link`] follows them and
//! refuses targets that leave a given base directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a directory entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link with its target as written in the link.
    Symlink(String),
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The base name.
    pub name: String,
    /// What it is.
    pub kind: EntryKind,
}

/// An error reading a tree.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error on a path.
    #[error("{path}: {source}")]
    Io {
        /// The path (relative to the tree root).
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The path does not exist.
    #[error("{0}: no such file or directory")]
    NotFound(String),
    /// A symbolic link resolves outside the directory it may point into.
    #[error("symlink {link} escapes bundle directory {base:?}")]
    SymlinkEscape {
        /// The link's path.
        link: String,
        /// The directory it had to stay in.
        base: String,
    },
    /// Too many levels of symbolic links.
    #[error("{0}: too many levels of symbolic links")]
    SymlinkLoop(String),
    /// A path leaves the repository (`..` above the root, or absolute).
    #[error("path {0:?} escapes the repository root")]
    PathEscape(String),
    /// An error of the git backend.
    #[error("git: {0}")]
    Git(String),
}

/// A read-only tree of files.
pub trait FileTree: Send + Sync {
    /// The entries of a directory, sorted by name. `NotFound` if it does not exist.
    fn read_dir(&self, dir: &str) -> Result<Vec<Entry>, Error>;
    /// The kind of a path without following a final symlink; `None` if it does not exist.
    fn kind(&self, path: &str) -> Result<Option<EntryKind>, Error>;
    /// The contents of a file (following symlinks the way the backend does).
    fn read_file(&self, path: &str) -> Result<Vec<u8>, Error>;
    /// A name for messages (a directory path, a commit).
    fn describe(&self) -> String;
}

/// Joins two relative paths and cleans the result. `Err(PathEscape)` if it climbs above the root.
pub fn join(base: &str, rel: &str) -> Result<String, Error> {
    if rel.starts_with('/') {
        return Err(Error::PathEscape(rel.to_string()));
    }
    fleet_core::path::join_within(base, rel).map_err(|e| Error::PathEscape(e.path))
}

/// Cleans a path the way Go's `path.Clean` does for a relative path, returning `None` if the
/// path climbs above its start.
pub fn clean(path: &str) -> Option<String> {
    join("", path.trim_start_matches('/')).ok()
}

/// The parent directory of a clean relative path (`""` for top-level names).
pub fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// The base name of a clean relative path.
pub fn base_name(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

/// Whether `path` is `base` or below it.
pub fn is_within(path: &str, base: &str) -> bool {
    base.is_empty()
        || path == base
        || (path.starts_with(base) && path[base.len()..].starts_with('/'))
}

/// Follows the symlink at `link` (whose target is `target`) until a non-link is reached.
/// Returns the resolved path and its kind, `Ok(None)` for a dangling link, or
/// `Err(SymlinkEscape)` if any step leaves `base`.
pub fn resolve_link(
    tree: &dyn FileTree,
    link: &str,
    target: &str,
    base: &str,
) -> Result<Option<(String, EntryKind)>, Error> {
    let escape = || Error::SymlinkEscape {
        link: link.to_string(),
        base: base.to_string(),
    };
    let mut current_link = link.to_string();
    let mut current_target = target.to_string();
    for _ in 0..40 {
        let resolved = if current_target.starts_with('/') {
            tree_path_of_absolute(tree, &current_target).ok_or_else(escape)?
        } else {
            join(parent(&current_link), &current_target).map_err(|_| escape())?
        };
        if !is_within(&resolved, base) {
            return Err(escape());
        }
        match tree.kind(&resolved)? {
            None => return Ok(None),
            Some(EntryKind::Symlink(next)) => {
                current_link = resolved;
                current_target = next;
            }
            Some(kind) => return Ok(Some((resolved, kind))),
        }
    }
    Err(Error::SymlinkLoop(link.to_string()))
}

/// Maps an absolute symlink target onto a tree path, if the tree is a directory on disk
/// containing it.
fn tree_path_of_absolute(tree: &dyn FileTree, target: &str) -> Option<String> {
    let root = tree.describe();
    let root = Path::new(&root);
    let target = Path::new(target);
    let rel = target.strip_prefix(root).ok()?;
    let rel = rel.to_str()?;
    clean(rel)
}

/// A directory on disk.
#[derive(Debug, Clone)]
pub struct DirTree {
    root: PathBuf,
}

impl DirTree {
    /// A tree rooted at `root`, which must be an existing directory.
    pub fn new(root: impl AsRef<Path>) -> Result<Self, Error> {
        let root = root.as_ref();
        let canonical = std::fs::canonicalize(root).map_err(|source| Error::Io {
            path: root.display().to_string(),
            source,
        })?;
        if !canonical.is_dir() {
            return Err(Error::NotFound(root.display().to_string()));
        }
        Ok(Self { root: canonical })
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn full(&self, path: &str) -> PathBuf {
        if path.is_empty() {
            self.root.clone()
        } else {
            self.root.join(path)
        }
    }
}

fn io_err(path: &str, source: std::io::Error) -> Error {
    if source.kind() == std::io::ErrorKind::NotFound {
        Error::NotFound(path.to_string())
    } else {
        Error::Io {
            path: path.to_string(),
            source,
        }
    }
}

impl FileTree for DirTree {
    fn read_dir(&self, dir: &str) -> Result<Vec<Entry>, Error> {
        let rd = std::fs::read_dir(self.full(dir)).map_err(|e| io_err(dir, e))?;
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| io_err(dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = join(dir, &name)?;
            let file_type = entry.file_type().map_err(|e| io_err(&rel, e))?;
            let kind = if file_type.is_symlink() {
                let target = std::fs::read_link(entry.path()).map_err(|e| io_err(&rel, e))?;
                EntryKind::Symlink(target.to_string_lossy().into_owned())
            } else if file_type.is_dir() {
                EntryKind::Dir
            } else {
                EntryKind::File
            };
            out.push(Entry { name, kind });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn kind(&self, path: &str) -> Result<Option<EntryKind>, Error> {
        let full = self.full(path);
        match std::fs::symlink_metadata(&full) {
            Ok(meta) => {
                if meta.file_type().is_symlink() {
                    let target = std::fs::read_link(&full).map_err(|e| io_err(path, e))?;
                    Ok(Some(EntryKind::Symlink(
                        target.to_string_lossy().into_owned(),
                    )))
                } else if meta.is_dir() {
                    Ok(Some(EntryKind::Dir))
                } else {
                    Ok(Some(EntryKind::File))
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Ok(None),
            Err(e) => Err(io_err(path, e)),
        }
    }

    fn read_file(&self, path: &str) -> Result<Vec<u8>, Error> {
        std::fs::read(self.full(path)).map_err(|e| io_err(path, e))
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

/// An in-memory tree: path → contents. Directories are implied by the paths of their files.
#[derive(Debug, Clone, Default)]
pub struct MemTree {
    files: BTreeMap<String, Vec<u8>>,
    links: BTreeMap<String, String>,
    name: String,
}

impl MemTree {
    /// An empty tree called `name` in messages.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Adds a file; `path` is cleaned. Returns `PathEscape` if it climbs above the root.
    pub fn insert(&mut self, path: &str, contents: impl Into<Vec<u8>>) -> Result<(), Error> {
        let clean = clean(path).ok_or_else(|| Error::PathEscape(path.to_string()))?;
        if clean.is_empty() {
            return Err(Error::PathEscape(path.to_string()));
        }
        self.files.insert(clean, contents.into());
        Ok(())
    }

    /// Adds a symbolic link at `path` pointing to `target`.
    pub fn insert_link(&mut self, path: &str, target: &str) -> Result<(), Error> {
        let clean = clean(path).ok_or_else(|| Error::PathEscape(path.to_string()))?;
        self.links.insert(clean, target.to_string());
        Ok(())
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the tree holds no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    fn is_dir(&self, path: &str) -> bool {
        if path.is_empty() {
            return true;
        }
        let prefix = format!("{path}/");
        self.files
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
            || self
                .links
                .range(prefix.clone()..)
                .next()
                .is_some_and(|(k, _)| k.starts_with(&prefix))
    }
}

impl FileTree for MemTree {
    fn read_dir(&self, dir: &str) -> Result<Vec<Entry>, Error> {
        if !self.is_dir(dir) {
            return Err(Error::NotFound(dir.to_string()));
        }
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out: BTreeMap<String, EntryKind> = BTreeMap::new();
        for key in self.files.keys().chain(self.links.keys()) {
            let Some(rest) = key.strip_prefix(&prefix) else {
                continue;
            };
            match rest.split_once('/') {
                Some((first, _)) => {
                    out.insert(first.to_string(), EntryKind::Dir);
                }
                None => {
                    let kind = match self.links.get(key) {
                        Some(t) => EntryKind::Symlink(t.clone()),
                        None => EntryKind::File,
                    };
                    out.insert(rest.to_string(), kind);
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|(name, kind)| Entry { name, kind })
            .collect())
    }

    fn kind(&self, path: &str) -> Result<Option<EntryKind>, Error> {
        if let Some(t) = self.links.get(path) {
            return Ok(Some(EntryKind::Symlink(t.clone())));
        }
        if self.files.contains_key(path) {
            return Ok(Some(EntryKind::File));
        }
        Ok(self.is_dir(path).then_some(EntryKind::Dir))
    }

    fn read_file(&self, path: &str) -> Result<Vec<u8>, Error> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| Error::NotFound(path.to_string()))
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_and_clean() {
        assert_eq!(join("a/b", "../c").ok(), Some("a/c".to_string()));
        assert_eq!(join("", "./x/./y").ok(), Some("x/y".to_string()));
        assert!(join("a", "../../x").is_err());
        assert_eq!(clean("/a/b/"), Some("a/b".to_string()));
        assert!(is_within("a/b", "a"));
        assert!(!is_within("ab", "a"));
        assert!(is_within("x", ""));
    }

    #[test]
    fn mem_tree_lists() {
        let mut t = MemTree::new("m");
        t.insert("a/b.yaml", "x").unwrap();
        t.insert("c.yaml", "y").unwrap();
        let names: Vec<_> = t
            .read_dir("")
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["a", "c.yaml"]);
        assert_eq!(t.kind("a").unwrap(), Some(EntryKind::Dir));
        assert!(t.read_dir("zz").is_err());
    }
}
