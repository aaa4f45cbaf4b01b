//! The offline cache in `--state-dir`: the last BundleDeployment and manifest of each
//! deployment, so a restarted agent keeps monitoring and correcting drift without the manager;
//! the Contents fetched (by manifest ID); and the credential `fleet-agent run` registered for
//! (mode 0600).
//!
//! ```text
//! DIR/credential.json                      the manager's answer to the registration
//! DIR/contents/<manifestID>.json           manifest JSON, checked against its ID when fetched
//! DIR/deployments/<bd>/bundledeployment.json
//! DIR/deployments/<bd>/manifest.json
//! ```

use std::path::{Path, PathBuf};

use fleet_core::crd::{BundleDeployment, BundleDeploymentStatus};

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
    /// A name that cannot be a file name in the state directory.
    #[error("{what} {name:?} cannot be stored: only letters, digits, '-', '_' and '.' are allowed")]
    Name {
        /// What the name names (`manifest ID`, `BundleDeployment`).
        what: &'static str,
        /// The name.
        name: String,
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

/// What the manager answered to a registration; `fleet-agent run` keeps it so that later
/// starts do not register again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    /// The bearer token of the agent API.
    pub credential: String,
    /// Namespace of the Cluster.
    #[serde(default)]
    pub cluster_namespace: String,
    /// Name of the Cluster.
    #[serde(default)]
    pub cluster_name: String,
    /// Namespace of the cluster's BundleDeployments.
    #[serde(default)]
    pub deployment_namespace: String,
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

/// Whether `name` is safe as one path component.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl StateDir {
    /// A cache rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StateDir { root: root.into() }
    }

    fn dir(&self, bd_name: &str) -> PathBuf {
        self.root.join("deployments").join(bd_name)
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates the directory (mode 0700 on Unix: it holds the credential).
    pub fn create(&self) -> Result<(), Error> {
        let io = |source| Error::Io {
            path: self.root.clone(),
            source,
        };
        std::fs::create_dir_all(&self.root).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(0o700))
                .map_err(io)?;
        }
        Ok(())
    }

    fn credential_path(&self) -> PathBuf {
        self.root.join("credential.json")
    }

    /// Stores the credential, readable by its owner only.
    pub fn store_credential(&self, credential: &Credential) -> Result<(), Error> {
        self.create()?;
        let path = self.credential_path();
        let data = serde_json::to_vec_pretty(credential).map_err(|e| Error::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_private(&path, &data)
    }

    /// The stored credential, if registration happened before.
    pub fn load_credential(&self) -> Result<Option<Credential>, Error> {
        let path = self.credential_path();
        match std::fs::read(&path) {
            Ok(data) => serde_json::from_slice(&data)
                .map(Some)
                .map_err(|e| Error::Corrupt {
                    path,
                    reason: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    fn content_path(&self, manifest_id: &str) -> Result<PathBuf, Error> {
        if !plain_name(manifest_id) {
            return Err(Error::Name {
                what: "manifest ID",
                name: manifest_id.to_string(),
            });
        }
        Ok(self
            .root
            .join("contents")
            .join(format!("{manifest_id}.json")))
    }

    /// Stores a manifest (JSON) under its ID.
    pub fn store_content(&self, manifest_id: &str, manifest_json: &[u8]) -> Result<(), Error> {
        let path = self.content_path(manifest_id)?;
        let dir = self.root.join("contents");
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io { path: dir, source })?;
        write_atomic(&path, manifest_json)
    }

    /// A cached manifest (JSON).
    pub fn load_content(&self, manifest_id: &str) -> Result<Vec<u8>, Error> {
        read(&self.content_path(manifest_id)?)
    }

    /// The manifest IDs whose manifests are cached.
    pub fn content_ids(&self) -> Result<Vec<String>, Error> {
        let base = self.root.join("contents");
        let read_dir = match std::fs::read_dir(&base) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(Error::Io { path: base, source }),
        };
        let mut ids = Vec::new();
        for item in read_dir {
            let item = item.map_err(|source| Error::Io {
                path: base.clone(),
                source,
            })?;
            let name = item.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".json") {
                ids.push(id.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Replaces the status of a cached deployment (its manifest stays), so a restart starts
    /// from the status last computed. A deployment not cached is left alone.
    pub fn store_status(
        &self,
        bd_name: &str,
        status: &BundleDeploymentStatus,
    ) -> Result<(), Error> {
        let path = self.dir(bd_name).join("bundledeployment.json");
        if !path.exists() {
            return Ok(());
        }
        let mut entry = self.load(bd_name)?;
        entry.bundle_deployment.status = Some(status.clone());
        let bd =
            serde_json::to_vec_pretty(&entry.bundle_deployment).map_err(|e| Error::Corrupt {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        write_atomic(&path, &bd)
    }

    /// Stores a deployment. Each file is written beside its target and renamed into place so a
    /// crash never leaves a torn file.
    pub fn store(&self, entry: &Entry) -> Result<(), Error> {
        let name = &entry.bundle_deployment.metadata.name;
        if !plain_name(name) {
            return Err(Error::Name {
                what: "BundleDeployment",
                name: name.clone(),
            });
        }
        let dir = self.dir(name);
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

/// Writes a file only its owner may read (created so, never widened afterwards).
fn write_private(path: &Path, data: &[u8]) -> Result<(), Error> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(data).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
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

    #[test]
    fn contents_credential_and_statuses_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join("state"));
        assert_eq!(state.load_credential().unwrap(), None);
        let credential = Credential {
            credential: "secret".into(),
            cluster_namespace: "fleet-default".into(),
            cluster_name: "c-1".into(),
            deployment_namespace: "cluster-fleet-default-c-1-x".into(),
        };
        state.store_credential(&credential).unwrap();
        assert_eq!(state.load_credential().unwrap(), Some(credential));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&state.root().join("credential.json")), 0o600);
            assert_eq!(mode(state.root()), 0o700);
        }
        state.store_content("s-abc", b"{}").unwrap();
        assert_eq!(state.content_ids().unwrap(), ["s-abc"]);
        assert_eq!(state.load_content("s-abc").unwrap(), b"{}");
        let err = state.store_content("../escape", b"{}").unwrap_err();
        assert!(matches!(err, Error::Name { .. }), "{err}");

        let bd: BundleDeployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "bd1"}, "spec": {"deploymentID": "s-abc:1"},
        }))
        .unwrap();
        state
            .store(&Entry {
                bundle_deployment: bd,
                manifest_json: b"{}".to_vec(),
            })
            .unwrap();
        let status = BundleDeploymentStatus {
            ready: true,
            ..BundleDeploymentStatus::default()
        };
        state.store_status("bd1", &status).unwrap();
        state.store_status("not-cached", &status).unwrap();
        let loaded = state.load("bd1").unwrap();
        assert_eq!(loaded.bundle_deployment.status, Some(status));
        assert_eq!(state.load_all().unwrap().len(), 1);
    }
}
