//! An in-memory file tree: relative `/`-separated paths to bytes.
//!
//! Rendering works on bundles whose resources are already in memory, so every reader in this
//! crate (the kustomize build included) takes a [`Files`] rather than touching the disk.
//! [`Files::load_dir`] fills one from a directory for command-line tools and tests.
//!
//! Paths are normalised: `.` segments and repeated or trailing slashes are dropped, `..`
//! removes the previous segment, and a `..` that would climb above the root is an error.
//! The root itself is the empty path `""`.
//!
//! ```
//! use fleet_kustomize::files::Files;
//! let mut files = Files::new();
//! files.insert("base/kustomization.yaml", "resources: [cm.yaml]\n").unwrap();
//! files.insert("./base/cm.yaml", "kind: ConfigMap\n").unwrap();
//! assert!(files.is_dir("base"));
//! assert_eq!(files.children("base"), vec!["base/cm.yaml", "base/kustomization.yaml"]);
//! assert_eq!(files.get("base/../base/cm.yaml").unwrap(), b"kind: ConfigMap\n");
//! ```

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// A path that cannot be used inside a [`Files`] tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path climbs above the root of the tree with `..`.
    #[error("path {path:?} escapes the root of the file tree")]
    Escapes {
        /// The path as given.
        path: String,
    },
    /// The path is absolute (`/etc/x`) or carries a Windows drive or backslash.
    #[error("path {path:?} is not relative")]
    NotRelative {
        /// The path as given.
        path: String,
    },
}

/// Normalises a relative `/`-separated path: drops `.`, empty segments, and resolves `..`.
///
/// The root is `""`. A `..` above the root, an absolute path or a backslash is an error.
pub fn normalize(path: &str) -> Result<String, PathError> {
    if path.starts_with('/') || path.contains('\\') {
        return Err(PathError::NotRelative {
            path: path.to_string(),
        });
    }
    fleet_core::path::join_within("", path).map_err(|_| PathError::Escapes {
        path: path.to_string(),
    })
}

/// Joins `rel` onto the directory `dir` (both relative to the root) and normalises the result.
pub fn join(dir: &str, rel: &str) -> Result<String, PathError> {
    if rel.starts_with('/') {
        return Err(PathError::NotRelative {
            path: rel.to_string(),
        });
    }
    if dir.is_empty() {
        normalize(rel)
    } else {
        normalize(&format!("{dir}/{rel}")).map_err(|err| match err {
            PathError::Escapes { .. } => PathError::Escapes {
                path: format!("{dir}/{rel}"),
            },
            other => other,
        })
    }
}

/// The directory part of a normalised path (`""` for a file at the root).
pub fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// The last segment of a normalised path.
pub fn file_name(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

/// An in-memory tree of files, keyed by normalised relative path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Files {
    files: BTreeMap<String, Vec<u8>>,
}

impl Files {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a file. Returns the normalised path it was stored under.
    pub fn insert(&mut self, path: &str, content: impl Into<Vec<u8>>) -> Result<String, PathError> {
        let path = normalize(path)?;
        if path.is_empty() {
            return Err(PathError::NotRelative { path });
        }
        self.files.insert(path.clone(), content.into());
        Ok(path)
    }

    /// The content of the file at `path`, if it exists (`None` for directories and bad paths).
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        let path = normalize(path).ok()?;
        self.files.get(&path).map(Vec::as_slice)
    }

    /// Whether a file exists at `path`.
    pub fn is_file(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// Whether `path` is a directory, i.e. some file lies below it. The root is a directory
    /// when the tree is not empty.
    pub fn is_dir(&self, path: &str) -> bool {
        let Ok(path) = normalize(path) else {
            return false;
        };
        if path.is_empty() {
            return !self.files.is_empty();
        }
        let prefix = format!("{path}/");
        self.files
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(key, _)| key.starts_with(&prefix))
    }

    /// The direct children of directory `dir` (files and subdirectories), as full normalised
    /// paths in byte order, each once.
    pub fn children(&self, dir: &str) -> Vec<String> {
        let Ok(dir) = normalize(dir) else {
            return Vec::new();
        };
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out: Vec<String> = Vec::new();
        for key in self.files.range(prefix.clone()..).map(|(k, _)| k) {
            let Some(rest) = key.strip_prefix(&prefix) else {
                break;
            };
            let child = rest.split('/').next().unwrap_or(rest);
            let full = format!("{prefix}{child}");
            if out.last() != Some(&full) {
                out.push(full);
            }
        }
        out
    }

    /// Iterates over every file as `(path, content)`, in path byte order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// The number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the tree holds no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Reads every regular file below `root` into a tree (symbolic links are followed;
    /// paths are relative to `root`). Non-UTF-8 file names are an error.
    pub fn load_dir(root: &Path) -> io::Result<Files> {
        let mut files = Files::new();
        let mut stack = vec![(root.to_path_buf(), String::new())];
        while let Some((dir, rel)) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let name = entry.file_name().into_string().map_err(|name| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("file name {name:?} in {} is not UTF-8", dir.display()),
                    )
                })?;
                let rel_path = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                let path = entry.path();
                let meta = std::fs::metadata(&path)?;
                if meta.is_dir() {
                    stack.push((path, rel_path));
                } else if meta.is_file() {
                    let content = std::fs::read(&path)?;
                    files
                        .insert(&rel_path, content)
                        .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
                }
            }
        }
        Ok(files)
    }
}

impl<P: AsRef<str>, C: Into<Vec<u8>>> FromIterator<(P, C)> for Files {
    /// Collects `(path, content)` pairs; pairs with invalid paths are skipped.
    fn from_iter<I: IntoIterator<Item = (P, C)>>(iter: I) -> Self {
        let mut files = Files::new();
        for (path, content) in iter {
            let _ = files.insert(path.as_ref(), content);
        }
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_rejects_escapes() {
        assert_eq!(normalize("a/./b//c/").unwrap(), "a/b/c");
        assert_eq!(normalize("a/../b").unwrap(), "b");
        assert_eq!(normalize(".").unwrap(), "");
        assert!(matches!(normalize("../x"), Err(PathError::Escapes { .. })));
        assert!(matches!(
            normalize("a/../../x"),
            Err(PathError::Escapes { .. })
        ));
        assert!(matches!(
            normalize("/x"),
            Err(PathError::NotRelative { .. })
        ));
        assert_eq!(join("a/b", "../c").unwrap(), "a/c");
        assert!(join("a", "../../c").is_err());
    }

    #[test]
    fn lists_children_and_dirs() {
        let mut files = Files::new();
        files.insert("a/b/c.yaml", "x").unwrap();
        files.insert("a/d.yaml", "y").unwrap();
        files.insert("ab.yaml", "z").unwrap();
        assert!(files.is_dir("a"));
        assert!(files.is_dir("a/b"));
        assert!(!files.is_dir("a/d.yaml"));
        assert!(!files.is_dir("a/b/c"));
        assert!(files.is_dir(""));
        assert_eq!(files.children("a"), vec!["a/b", "a/d.yaml"]);
        assert_eq!(files.children(""), vec!["a", "ab.yaml"]);
        assert_eq!(parent("a/b/c.yaml"), "a/b");
        assert_eq!(file_name("a/b/c.yaml"), "c.yaml");
        assert_eq!(files.len(), 3);
    }
}
