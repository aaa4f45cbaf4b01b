//! The offline cache in `--state-dir`: the last BundleDeployment and manifest of each
//! deployment, so a restarted agent keeps monitoring and correcting drift without the manager.

use std::path::{Path, PathBuf};

use fleet_core::crd::BundleDeployment;

/// A cache read or write failure naming the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A cached file is not what was written.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// One cached deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The BundleDeployment as last received.
    pub bundle_deployment: BundleDeployment,
    /// Its manifest JSON (Fleet's `Content`, uncompressed).
    pub manifest_json: Vec<u8>,
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// A cache rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StateDir { root: root.into() }
    }

    fn dir(&self, bd_name: &str) -> PathBuf {
        self.root.join("deployments").join(bd_name)
    }

    /// Stores a deployment. Each file is written beside its target and renamed into place so a
    /// crash never leaves a torn file.
    pub fn store(&self, entry: &Entry) -> Result<(), Error> {
        let dir = self.dir(&entry.bundle_deployment.metadata.name);
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        let bd =
            serde_json::to_vec_pretty(&entry.bundle_deployment).map_err(|e| Error::Corrupt {
                path: dir.clone(),
                reason: e.to_string(),
            })?;
        write_atomic(&dir.join("bundledeployment.json"), &bd)?;
        write_atomic(&dir.join("manifest.json"), &entry.manifest_json)
    }

    /// Every cached deployment, by name.
    pub fn load_all(&self) -> Result<Vec<Entry>, Error> {
        let base = self.root.join("deployments");
        let read_dir = match std::fs::read_dir(&base) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(Error::Io { path: base, source }),
        };
        let mut names = Vec::new();
        for item in read_dir {
            let item = item.map_err(|source| Error::Io {
                path: base.clone(),
                source,
            })?;
            names.push(item.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        names.iter().map(|n| self.load(n)).collect()
    }

    /// One cached deployment.
    pub fn load(&self, bd_name: &str) -> Result<Entry, Error> {
        let dir = self.dir(bd_name);
        let bd_path = dir.join("bundledeployment.json");
        let bd_bytes = read(&bd_path)?;
        let bundle_deployment = serde_json::from_slice(&bd_bytes).map_err(|e| Error::Corrupt {
            path: bd_path,
            reason: e.to_string(),
        })?;
        Ok(Entry {
            bundle_deployment,
            manifest_json: read(&dir.join("manifest.json"))?,
        })
    }

    /// Forgets a deployment (after its uninstall).
    pub fn remove(&self, bd_name: &str) -> Result<(), Error> {
        let dir = self.dir(bd_name);
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
                path: dir,
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write_atomic(path: &Path, data: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension("tmp");
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&tmp, data).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_a_restart_and_can_be_removed() {
        let dir = tempfile::tempdir().unwrap();
        let bd: BundleDeployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "bd1", "namespace": "cluster-ns"},
            "spec": {"deploymentID": "m:1", "correctDrift": {"enabled": true}},
        }))
        .unwrap();
        let entry = Entry {
            bundle_deployment: bd,
            manifest_json: b"{\"resources\":[]}".to_vec(),
        };
        StateDir::new(dir.path()).store(&entry).unwrap();
        let reopened = StateDir::new(dir.path());
        assert_eq!(reopened.load_all().unwrap(), vec![entry]);
        reopened.remove("bd1").unwrap();
        assert!(reopened.load_all().unwrap().is_empty());
        let err = reopened.load("bd1").unwrap_err();
        assert!(err.to_string().contains("bundledeployment.json"), "{err}");
    }
}
