//! Which directories become bundles (`internal/cmd/cli/apply/apply.go`).
//!
//! Classic scan: each path is a glob (leading `/` stripped) whose directory matches are walked
//! recursively (`.git` skipped, symlinked directories not entered). A directory below a match
//! is a bundle iff it holds `fleet.yaml`/`fleet.yml`; the match itself is a bundle iff it holds
//! one, or it or a sub-directory without one holds a `.yaml`/`.yml` file.
//!
//! Driven scan: each entry `dir[<sep>options-file]` is exactly one bundle, not recursive.

use crate::ignore;
use crate::read::BundleDir;
use crate::tree::{self, EntryKind, FileTree};

/// A discovery error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the tree failed.
    #[error("{path}: {source}")]
    Tree {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: tree::Error,
    },
    /// A path leaves the repository.
    #[error("path {0:?} escapes the repository root")]
    Escape(String),
    /// A bad glob.
    #[error("invalid path glob {0}: {1}")]
    Glob(String, ignore::BadPattern),
    /// A driven entry holds the separator more than once.
    #[error("invalid bundle path: {0:?}")]
    Driven(String),
}

fn tree_err(path: &str) -> impl FnOnce(tree::Error) -> Error + '_ {
    move |source| Error::Tree {
        path: path.to_string(),
        source,
    }
}

fn has_meta(s: &str) -> bool {
    s.contains(['*', '?', '[', '\\'])
}

/// Go's `filepath.Glob` over the tree, keeping directories (following symlinks that stay inside
/// the tree). Returns clean tree paths, sorted per level.
pub fn glob_dirs(tree: &dyn FileTree, pattern: &str) -> Result<Vec<String>, Error> {
    let pattern = pattern.trim_start_matches('/');
    let clean = tree::clean(pattern).ok_or_else(|| Error::Escape(pattern.to_string()))?;
    let mut current = vec![String::new()];
    if !clean.is_empty() {
        for comp in clean.split('/') {
            let mut next = Vec::new();
            for base in &current {
                if has_meta(comp) {
                    let entries = match tree.read_dir(base) {
                        Ok(e) => e,
                        Err(tree::Error::NotFound(_)) => continue,
                        Err(e) => return Err(tree_err(base)(e)),
                    };
                    for e in entries {
                        let ok = ignore::go_match(comp, &e.name)
                            .map_err(|b| Error::Glob(pattern.to_string(), b))?;
                        if ok {
                            next.push(tree::join(base, &e.name).map_err(tree_err(base))?);
                        }
                    }
                } else {
                    next.push(tree::join(base, comp).map_err(tree_err(base))?);
                }
            }
            current = next;
        }
    }
    let mut out = Vec::new();
    for p in current {
        if is_dir(tree, &p)? {
            out.push(p);
        }
    }
    Ok(out)
}

fn is_dir(tree: &dyn FileTree, path: &str) -> Result<bool, Error> {
    match tree.kind(path).map_err(tree_err(path))? {
        Some(EntryKind::Dir) => Ok(true),
        Some(EntryKind::Symlink(t)) => match tree::resolve_link(tree, path, &t, "") {
            Ok(Some((_, EntryKind::Dir))) => Ok(true),
            Ok(_) => Ok(false),
            Err(tree::Error::SymlinkEscape { .. }) => Ok(false),
            Err(e) => Err(tree_err(path)(e)),
        },
        _ => Ok(false),
    }
}

fn exists_file(tree: &dyn FileTree, path: &str) -> Result<bool, Error> {
    match tree.kind(path).map_err(tree_err(path))? {
        None => Ok(false),
        Some(EntryKind::Symlink(t)) => Ok(matches!(
            tree::resolve_link(tree, path, &t, ""),
            Ok(Some(_))
        )),
        Some(_) => Ok(true),
    }
}

/// Whether a directory holds `fleet.yaml` or `fleet.yml`.
pub fn has_fleet_yaml(tree: &dyn FileTree, dir: &str) -> Result<bool, Error> {
    for name in ["fleet.yaml", "fleet.yml"] {
        let p = tree::join(dir, name).map_err(tree_err(dir))?;
        if exists_file(tree, &p)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `hasSubDirectoryWithResourcesAndWithoutFleetYaml`.
fn has_resources_without_fleet_yaml(tree: &dyn FileTree, dir: &str) -> Result<bool, Error> {
    if has_fleet_yaml(tree, dir)? {
        return Ok(false);
    }
    for e in tree.read_dir(dir).map_err(tree_err(dir))? {
        match e.kind {
            EntryKind::Dir => {
                let sub = tree::join(dir, &e.name).map_err(tree_err(dir))?;
                if has_resources_without_fleet_yaml(tree, &sub)? {
                    return Ok(true);
                }
            }
            _ => {
                if e.name.ends_with(".yaml") || e.name.ends_with(".yml") {
                    let ext_ok = match e.name.rfind('.') {
                        Some(i) => matches!(&e.name[i..], ".yaml" | ".yml"),
                        None => false,
                    };
                    if ext_ok {
                        return Ok(true);
                    }
                }
            }
        }
    }
    Ok(false)
}

/// The path as Go would print it for a tree path below a glob match (`id_base` is the argument
/// as given, `rel` the part below the match).
fn id_path(id_base: &str, rel: &str) -> String {
    crate::read::go_join(id_base, rel)
}

/// Classic scan over `paths` (default `["."]`).
pub fn classic(tree: &dyn FileTree, paths: &[String]) -> Result<Vec<BundleDir>, Error> {
    let default = [".".to_string()];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let mut out = Vec::new();
    for pattern in paths {
        for root in glob_dirs(tree, pattern)? {
            let root_id = if root.is_empty() {
                ".".to_string()
            } else {
                root.clone()
            };
            if has_fleet_yaml(tree, &root)? || has_resources_without_fleet_yaml(tree, &root)? {
                out.push(BundleDir {
                    path: root.clone(),
                    id_path: root_id.clone(),
                    options_file: None,
                });
            }
            walk_subdirs(tree, &root, &root_id, "", &mut out)?;
        }
    }
    Ok(out)
}

fn walk_subdirs(
    tree: &dyn FileTree,
    dir: &str,
    root_id: &str,
    rel: &str,
    out: &mut Vec<BundleDir>,
) -> Result<(), Error> {
    for e in tree.read_dir(dir).map_err(tree_err(dir))? {
        if e.kind != EntryKind::Dir || e.name == ".git" {
            continue;
        }
        let sub = tree::join(dir, &e.name).map_err(tree_err(dir))?;
        let sub_rel = if rel.is_empty() {
            e.name.clone()
        } else {
            format!("{rel}/{}", e.name)
        };
        if has_fleet_yaml(tree, &sub)? {
            out.push(BundleDir {
                path: sub.clone(),
                id_path: id_path(root_id, &sub_rel),
                options_file: None,
            });
        }
        walk_subdirs(tree, &sub, root_id, &sub_rel, out)?;
    }
    Ok(())
}

/// The separator Fleet picks for driven entries: the first of a fixed set of characters that
/// occurs in none of the paths.
pub fn driven_separator(entries: &[(String, String)]) -> char {
    const CANDIDATES: [char; 9] = [':', ',', '|', '?', '<', '>', '*', '"', '\''];
    CANDIDATES
        .into_iter()
        .find(|c| {
            entries
                .iter()
                .all(|(base, opts)| !base.contains(*c) && !opts.contains(*c))
        })
        .unwrap_or(':')
}

/// Driven scan: each entry is `dir` or `dir<sep>options-file`.
pub fn driven(tree: &dyn FileTree, entries: &[String], sep: char) -> Result<Vec<BundleDir>, Error> {
    let mut out = Vec::new();
    for entry in entries {
        let parts: Vec<&str> = entry.split(sep).collect();
        let (dir, opts) = match parts.as_slice() {
            [d] => (*d, None),
            [d, o] => (*d, Some((*o).to_string())),
            _ => return Err(Error::Driven(entry.clone())),
        };
        let path = tree::clean(dir).ok_or_else(|| Error::Escape(dir.to_string()))?;
        if !is_dir(tree, &path)? {
            return Err(Error::Tree {
                path: dir.to_string(),
                source: tree::Error::NotFound(dir.to_string()),
            });
        }
        out.push(BundleDir {
            path,
            id_path: dir.to_string(),
            options_file: opts.filter(|o| !o.is_empty()),
        });
    }
    Ok(out)
}
