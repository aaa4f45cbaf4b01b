//! Remote Helm chart sources and the `.chart/<sha256>` prefix Fleet stores them under.

use std::io::Read;

use sha2::{Digest, Sha256};

use crate::tree::MemTree;

/// The `helm.chart` / `helm.repo` / `helm.version` triple of a fleet.yaml helm block.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChartRef {
    /// `helm.chart`: a path, a URL, `oci://…`, or a chart name when `repo` is set.
    pub chart: String,
    /// `helm.repo`: an HTTP(S) Helm repository or an `oci://` repository.
    pub repo: String,
    /// `helm.version`: a version or a Masterminds constraint.
    pub version: String,
}

impl ChartRef {
    /// The resource-name prefix Fleet gives the chart's files:
    /// `.chart/<sha256hex(chart + ":" + repo + ":" + version)>`.
    pub fn prefix(&self) -> String {
        let digest = Sha256::digest(format!("{}:{}:{}", self.chart, self.repo, self.version));
        format!(".chart/{}", hex::encode(digest))
    }

    /// `repo=… chart=… version=…`, as Fleet names a chart in errors.
    pub fn describe(&self) -> String {
        format!(
            "repo={} chart={} version={}",
            self.repo, self.chart, self.version
        )
    }
}

/// An error fetching a chart.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A network or server error.
    #[error("{url}: {reason}")]
    Http {
        /// The URL requested.
        url: String,
        /// What went wrong (status code and body, or the transport error).
        reason: String,
    },
    /// The repository index does not list a matching version.
    #[error("no chart version found for {chart}-{version}")]
    NoVersion {
        /// The chart name.
        chart: String,
        /// The requested version or constraint.
        version: String,
    },
    /// The repository index does not list the chart.
    #[error("no chart name found: {0}")]
    NoChart(String),
    /// The version constraint does not parse.
    #[error(transparent)]
    Semver(#[from] fleet_core::semver::Error),
    /// A downloaded file or index is malformed.
    #[error("{what}: {reason}")]
    Malformed {
        /// The file.
        what: String,
        /// Why.
        reason: String,
    },
    /// The source kind is not supported here.
    #[error("unsupported chart source {0:?}")]
    Unsupported(String),
    /// The chart path does not exist.
    #[error("chart {0:?} not found")]
    NotFound(String),
}

/// Downloads remote charts. Implementations must not use an async runtime.
pub trait ChartFetcher: Send + Sync {
    /// Fetches the chart and returns its files, named as inside the archive
    /// (for a Helm package: `<chart name>/Chart.yaml`, …).
    fn fetch(&self, chart: &ChartRef) -> Result<MemTree, FetchError>;
}

/// A fetcher that refuses every remote chart (for offline use and builds without `http`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Offline;

impl ChartFetcher for Offline {
    fn fetch(&self, chart: &ChartRef) -> Result<MemTree, FetchError> {
        let what = if chart.repo.is_empty() {
            chart.chart.clone()
        } else {
            chart.repo.clone()
        };
        if chart.repo.is_empty() && !chart.chart.contains("://") && !chart.chart.contains("::") {
            return Err(FetchError::NotFound(chart.chart.clone()));
        }
        Err(FetchError::Unsupported(format!(
            "{what} (remote charts need the `http` feature and a network fetcher)"
        )))
    }
}

/// Limit on the unpacked size of one archive (Fleet caps downloads at 2 GB; we keep 512 MiB).
pub const MAX_ARCHIVE_BYTES: u64 = 512 * 1024 * 1024;

/// Unpacks a `.tgz` / `.tar.gz` / `.tar` archive into a tree. Entries with absolute paths or
/// `..` components are rejected; symlinks inside the archive are kept as links.
pub fn unpack_archive(name: &str, data: &[u8]) -> Result<MemTree, FetchError> {
    let malformed = |reason: String| FetchError::Malformed {
        what: name.to_string(),
        reason,
    };
    let reader: Box<dyn Read + '_> = if data.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(data))
    } else {
        Box::new(data)
    };
    let mut archive = tar::Archive::new(reader.take(MAX_ARCHIVE_BYTES));
    let mut tree = MemTree::new(name);
    let entries = archive.entries().map_err(|e| malformed(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| malformed(e.to_string()))?;
        let path = entry
            .path()
            .map_err(|e| malformed(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if kind.is_symlink() {
            let target = entry
                .link_name()
                .map_err(|e| malformed(e.to_string()))?
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            tree.insert_link(&path, &target)
                .map_err(|e| malformed(e.to_string()))?;
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let mut buf = Vec::new();
        entry
            .read_to_end(&mut buf)
            .map_err(|e| malformed(e.to_string()))?;
        tree.insert(&path, buf)
            .map_err(|e| malformed(e.to_string()))?;
    }
    if tree.is_empty() {
        return Err(malformed("archive holds no file".into()));
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_matches_fleet_examples_golden() {
        // tests/expected/single-cluster/helm-kustomize: chart URL, no repo, no version.
        let c = ChartRef {
            chart: "https://github.com/rancher/fleet-examples/releases/download/example/guestbook-0.0.1.tgz"
                .into(),
            repo: String::new(),
            version: String::new(),
        };
        assert!(c.prefix().starts_with(".chart/"));
        let c = ChartRef {
            chart: "http://localhost:3000/config-chart-0.1.0.tgz".into(),
            repo: String::new(),
            version: String::new(),
        };
        assert_eq!(
            c.prefix(),
            ".chart/8001cca048084016ce8f96c7432e99dc01d4964ec99dccea5f5367cdd1ea2df3"
        );
    }
}
