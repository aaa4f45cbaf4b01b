//! Reading bundles from a git commit (gix): shallow fetch of a branch or a revision into a
//! temporary bare repository, then the commit's tree objects loaded into an in-memory tree.
//! No worktree is checked out, so a bundle's content is a pure function of (commit, path).
//!
//! Transports: `https://` and `http://` (git's smart HTTP protocol, through gix's blocking
//! reqwest transport), `file://` and local paths (gix spawns `git-upload-pack`), `git://` and
//! `ssh://` as gix supports them. Git's "dumb" HTTP protocol (a plain file server without
//! `git http-backend` or an equivalent) is not supported.
//!
//! TLS is rustls with the `ring` provider, the same stack kube and ureq use in this workspace,
//! so no second crypto library is linked. Server certificates are checked against the
//! system's CA certificates plus the Mozilla roots built in (`webpki-roots`), so a machine
//! without a CA bundle can still reach public hosts. Proxies come from the usual
//! `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` environment variables; credentials come from git's
//! configured credential helpers, as gix reads them.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use crate::tree::{self, Entry, FileTree, MemTree};

/// A git error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL's scheme names no git transport.
    #[error(
        "{0}: unsupported git URL scheme (use https://, http://, ssh://, git://, file:// or a path)"
    )]
    UnsupportedTransport(String),
    /// The TLS client configuration for `https://` could not be built.
    #[error("{url}: TLS configuration: {reason}")]
    Tls {
        /// The repository URL.
        url: String,
        /// rustls's message.
        reason: String,
    },
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

/// How to reach a repository (the connection settings of a GitRepo).
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// PEM certificates trusted for `https://` besides the system's and the built-in roots
    /// (the GitRepo's `caBundle`).
    pub ca_bundle: Option<Vec<u8>>,
}

/// Fetches `branch` (shallow, depth 1), or `revision` (a commit id or full ref name, fetched
/// alone), or the remote HEAD, and loads the commit's tree.
pub fn fetch(url: &str, branch: Option<&str>, revision: Option<&str>) -> Result<Checkout, Error> {
    fetch_with(url, branch, revision, &FetchOptions::default())
}

/// [`fetch`] with connection settings.
pub fn fetch_with(
    url: &str,
    branch: Option<&str>,
    revision: Option<&str>,
    options: &FetchOptions,
) -> Result<Checkout, Error> {
    if let Some((scheme, _)) = url.split_once("://")
        && !KNOWN_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str())
    {
        return Err(Error::UnsupportedTransport(url.to_string()));
    }
    let gix_err = |e: &dyn std::error::Error| Error::Gix {
        url: url.to_string(),
        reason: describe(e),
    };
    let tmp = TempDir::new()?;
    let mut prepare = gix::prepare_clone_bare(url, &tmp.0).map_err(|e| gix_err(&e))?;
    if is_http(url) {
        let tls = tls_config(url, options.ca_bundle.as_deref())?;
        prepare = prepare.configure_connection(move |conn| use_tls(conn, &tls));
    }
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

/// An error and its sources, outermost first, as `a: b: c` (gix's top-level messages alone,
/// like "Transport handshake failed", hide the reason).
fn describe(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut last = out.clone();
    let mut next = e.source();
    while let Some(cause) = next {
        let msg = cause.to_string();
        if !msg.is_empty() && msg != last && !last.ends_with(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        last = msg;
        next = cause.source();
    }
    out
}

/// Schemes gix has a transport for in this build.
const KNOWN_SCHEMES: &[&str] = &["https", "http", "file", "ssh", "git", "git+ssh", "ssh+git"];

fn is_http(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// The rustls client configuration for gix's HTTP transport: the `ring` provider (never
/// reqwest's default aws-lc-rs) and the system's plus the built-in Mozilla root certificates.
fn tls_config(url: &str, ca_bundle: Option<&[u8]>) -> Result<rustls::ClientConfig, Error> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    // reqwest consults the process-wide provider for clients it configures itself; ours is
    // preconfigured, but make sure no code path can find "no provider" and panic. Another
    // provider installed first by the application is kept.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // Unreadable or unparsable system certificates are skipped, as git and curl do: the
    // built-in roots remain.
    let native = rustls_native_certs::load_native_certs();
    let _ = roots.add_parsable_certificates(native.certs);
    if let Some(pem) = ca_bundle {
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        let tls_err = |reason: String| Error::Tls {
            url: url.to_string(),
            reason: format!("caBundle: {reason}"),
        };
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| tls_err(e.to_string()))?;
        if certs.is_empty() {
            return Err(tls_err("no PEM certificate in it".to_string()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| tls_err(e.to_string()))?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls {
            url: url.to_string(),
            reason: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// Makes the connection's HTTP transport build its reqwest client with `tls`, keeping every
/// other option gix derives from git configuration.
fn use_tls(
    conn: &mut gix::remote::Connection<
        '_,
        '_,
        '_,
        Box<dyn gix::protocol::transport::client::blocking_io::Transport + Send>,
    >,
    tls: &rustls::ClientConfig,
) -> gix::Result {
    use gix::protocol::transport::client::blocking_io::http;
    let remote = conn.remote();
    let Some(url) = remote.url(gix::remote::Direction::Fetch) else {
        return Ok(());
    };
    let url = url.to_bstring();
    let mut options = match remote.repo().transport_options(url.as_slice(), None)? {
        Some(any) => match any.downcast::<http::Options>() {
            Ok(options) => *options,
            // Not an HTTP transport: nothing to configure.
            Err(_) => return Ok(()),
        },
        None => http::Options::default(),
    };
    let tls = tls.clone();
    let backend = http::reqwest::Options {
        configure_client: Some(Box::new(
            move |builder: reqwest::blocking::ClientBuilder| {
                Ok(builder.tls_backend_preconfigured(tls.clone()))
            },
        )),
        configure_request: None,
    };
    options.backend = Some(std::sync::Arc::new(std::sync::Mutex::new(backend)));
    conn.set_transport_options(Box::new(options));
    Ok(())
}

fn load_tree(
    repo: &gix::Repository,
    id: gix::ObjectId,
    prefix: &str,
    out: &mut MemTree,
    url: &str,
) -> Result<(), Error> {
    let gix_err = |e: &dyn std::error::Error| Error::Gix {
        url: url.to_string(),
        reason: describe(e),
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
