//! Reading the files of one directory the way Fleet's `GetContent` does.
//!
//! Rules: hidden files and directories (base name starting with `.`) are skipped, and so is a
//! hidden walk root; `.fleetignore` patterns apply to their directory and below; relative names
//! listed in `skip` (fleet.yaml, the driven options file, values files) are left out; symbolic
//! links are followed only when their target stays inside the walked directory, otherwise the
//! walk fails.

use std::collections::BTreeMap;

use crate::ignore::{self, BadPattern};
use crate::tree::{self, EntryKind, FileTree};

/// An error walking a directory.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the tree failed.
    #[error(transparent)]
    Tree(#[from] tree::Error),
    /// A `.fleetignore` holds a malformed glob.
    #[error("{file}: {source}")]
    Ignore {
        /// The `.fleetignore` path.
        file: String,
        /// The bad pattern.
        #[source]
        source: BadPattern,
    },
    /// A symbolic link points to nothing.
    #[error("{0}: dangling symbolic link")]
    Dangling(String),
}

/// Files of a directory: relative name → contents, sorted by name.
pub type Files = BTreeMap<String, Vec<u8>>;

/// Reads every file below `base` in `tree` that Fleet would turn into a resource.
pub fn read_dir_files(tree: &dyn FileTree, base: &str, skip: &[String]) -> Result<Files, Error> {
    let mut files = Files::new();
    if tree::base_name(base).starts_with('.') {
        return Ok(files);
    }
    let mut walker = Walker {
        tree,
        base,
        skip,
        files: &mut files,
    };
    walker.walk_dir(base, "", &[], 0)?;
    Ok(files)
}

struct Walker<'a> {
    tree: &'a dyn FileTree,
    base: &'a str,
    skip: &'a [String],
    files: &'a mut Files,
}

impl Walker<'_> {
    /// Walks the tree directory `dir`, whose resource-name prefix is `rel`.
    fn walk_dir(
        &mut self,
        dir: &str,
        rel: &str,
        inherited: &[(String, Vec<String>)],
        depth: usize,
    ) -> Result<(), Error> {
        if depth > 64 {
            return Err(tree::Error::SymlinkLoop(dir.to_string()).into());
        }
        let entries = self.tree.read_dir(dir)?;
        let mut patterns: Vec<(String, Vec<String>)> = inherited.to_vec();
        if entries
            .iter()
            .any(|e| e.name == ".fleetignore" && e.kind != EntryKind::Dir)
        {
            let path = tree::join(dir, ".fleetignore")?;
            let text = self.tree.read_file(&path)?;
            let own = ignore::parse_fleetignore(&String::from_utf8_lossy(&text));
            if !own.is_empty() {
                patterns.push((path, own));
            }
        }
        for entry in entries {
            let path = tree::join(dir, &entry.name)?;
            let name = if rel.is_empty() {
                entry.name.clone()
            } else {
                format!("{rel}/{}", entry.name)
            };
            let (kind, target_path) = match &entry.kind {
                EntryKind::Symlink(target) => {
                    match tree::resolve_link(self.tree, &path, target, self.base)? {
                        Some((resolved, kind)) => (kind, resolved),
                        None => return Err(Error::Dangling(path)),
                    }
                }
                kind => (kind.clone(), path.clone()),
            };
            let is_dir = kind == EntryKind::Dir;
            let mut ignored = false;
            for (file, pats) in &patterns {
                if ignore::is_ignored(pats, &entry.name, is_dir).map_err(|source| {
                    Error::Ignore {
                        file: file.clone(),
                        source,
                    }
                })? {
                    ignored = true;
                    break;
                }
            }
            if self.skip.iter().any(|s| s == &name) {
                continue;
            }
            if ignored || entry.name.starts_with('.') {
                continue;
            }
            if is_dir {
                self.walk_dir(&target_path, &name, &patterns, depth + 1)?;
            } else {
                let data = self.tree.read_file(&target_path)?;
                self.files.insert(name, data);
            }
        }
        Ok(())
    }
}
