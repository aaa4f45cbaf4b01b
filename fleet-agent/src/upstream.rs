//! The agent's client of the manager's agent API (`fleet-manager/openapi.json`): register,
//! poll the cluster's BundleDeployments with an ETag and `?wait=`, fetch Contents, post
//! statuses in batches, heartbeat. Blocking (ureq); `fleet-agent run` calls it from blocking
//! tasks. `https://` URLs are verified against `--ca-file` when given, else against the
//! Mozilla roots; TLS is rustls with the ring provider.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use fleet_core::crd::{BundleDeployment, BundleDeploymentStatus, BundleResource};
use fleet_core::manifest::Manifest;

use crate::cache::Credential;
use crate::run::Poll;

/// Largest answer read from the manager (a Content of a large bundle, a long list).
const MAX_BODY: u64 = 64 << 20;
/// Time allowed for a request beyond what a long poll may be held.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A failed call to the manager, naming the URL and the reason.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The manager URL is not `http://` or `https://`.
    #[error("manager URL {0:?}: expected http://HOST[:PORT] or https://HOST[:PORT]")]
    Url(String),
    /// The CA file cannot be read or holds no certificate.
    #[error("CA file {path}: {reason}")]
    Ca {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No answer (connection refused, reset, timed out, TLS failure).
    #[error("{url}: {source}")]
    Transport {
        /// The request URL.
        url: String,
        /// The client error.
        #[source]
        source: Box<ureq::Error>,
    },
    /// The manager answered with an error status.
    #[error("{url}: {status} {message}")]
    Status {
        /// The request URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The manager's `error` message, or the body.
        message: String,
    },
    /// The answer is not what the API describes.
    #[error("{url}: {reason}")]
    Body {
        /// The request URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A Content that does not hash to the manifest ID it was asked for.
    #[error("content {id}: {reason}")]
    Content {
        /// The manifest ID asked for.
        id: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// The manager refused the request itself (4xx other than 408/429): retrying the same
    /// request is not going to help.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Error::Status { status, .. } if (400..500).contains(status) && *status != 408 && *status != 429)
    }
}

/// A client of one manager.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    credential: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the credential.
        f.debug_struct("Client").field("base", &self.base).finish()
    }
}

fn ca_certificates(path: &Path) -> Result<Vec<ureq::tls::Certificate<'static>>, Error> {
    let bad = |reason: String| Error::Ca {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut certificates = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let ureq::tls::PemItem::Certificate(c) = item.map_err(|e| bad(e.to_string()))? {
            certificates.push(c);
        }
    }
    if certificates.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(certificates)
}

impl Client {
    /// A client of the manager at `base` (`http://…` or `https://…`), trusting the
    /// certificates of `ca_file` for `https://` when given.
    pub fn new(base: &str, ca_file: Option<&Path>) -> Result<Client, Error> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Url(base));
        }
        let mut tls = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::Rustls);
        if let Some(path) = ca_file {
            tls = tls.root_certs(ureq::tls::RootCerts::Specific(Arc::new(ca_certificates(
                path,
            )?)));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls.build())
            .timeout_connect(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        Ok(Client {
            agent,
            base,
            credential: None,
        })
    }

    /// The same client, authenticated with an agent credential.
    pub fn with_credential(mut self, credential: &str) -> Client {
        self.credential = Some(credential.to_string());
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn auth(&self) -> Option<String> {
        self.credential.as_ref().map(|c| format!("Bearer {c}"))
    }

    /// Sends a request; the answer's status, ETag and body.
    fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<(u16, Option<String>, Vec<u8>), Error> {
        let url = self.url(path);
        let transport = |source| Error::Transport {
            url: url.clone(),
            source: Box::new(source),
        };
        let auth = self.auth();
        let all = auth
            .iter()
            .map(|a| ("Authorization", a.clone()))
            .chain(headers.iter().cloned());
        let response = if method == "GET" {
            let mut request = self
                .agent
                .get(&url)
                .config()
                .timeout_global(Some(timeout))
                .build();
            for (k, v) in all {
                request = request.header(k, v);
            }
            request.call()
        } else {
            let mut request = self
                .agent
                .post(&url)
                .config()
                .timeout_global(Some(timeout))
                .build()
                .header("Content-Type", "application/json");
            for (k, v) in all {
                request = request.header(k, v);
            }
            let data = body.map(Value::to_string).unwrap_or_default();
            request.send(data.as_bytes())
        };
        let mut response = response.map_err(transport)?;
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let data = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(transport)?;
        if status >= 400 {
            let message = serde_json::from_slice::<Value>(&data)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&data).trim().to_string());
            return Err(Error::Status {
                url,
                status,
                message,
            });
        }
        Ok((status, etag, data))
    }

    fn json<T: serde::de::DeserializeOwned>(&self, path: &str, data: &[u8]) -> Result<T, Error> {
        serde_json::from_slice(data).map_err(|e| Error::Body {
            url: self.url(path),
            reason: format!("invalid JSON: {e}"),
        })
    }

    /// `POST /v1/register`: a registration token, this cluster's client ID and labels in;
    /// the credential and the cluster's names out.
    pub fn register(
        &self,
        token: &str,
        client_id: &str,
        labels: &[(String, String)],
    ) -> Result<Credential, Error> {
        let labels: serde_json::Map<String, Value> = labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let body = json!({"token": token, "clientID": client_id, "labels": labels});
        let path = "/v1/register";
        let (_, _, data) = self.call("POST", path, &[], Some(&body), REQUEST_TIMEOUT)?;
        let credential: Credential = self.json(path, &data)?;
        if credential.credential.is_empty() {
            return Err(Error::Body {
                url: self.url(path),
                reason: "no credential in the answer".into(),
            });
        }
        Ok(credential)
    }

    /// `GET /v1/agent/bundledeployments`, with `If-None-Match` and `?wait=` when given.
    pub fn bundle_deployments(&self, etag: Option<&str>, wait_seconds: u64) -> Result<Poll, Error> {
        let path = if wait_seconds > 0 {
            format!("/v1/agent/bundledeployments?wait={wait_seconds}")
        } else {
            "/v1/agent/bundledeployments".to_string()
        };
        let headers: Vec<(&str, String)> = etag
            .map(|e| ("If-None-Match", e.to_string()))
            .into_iter()
            .collect();
        let timeout = Duration::from_secs(wait_seconds) + REQUEST_TIMEOUT;
        let (status, etag, data) = self.call("GET", &path, &headers, None, timeout)?;
        if status == 304 {
            return Ok(Poll::Unchanged);
        }
        #[derive(serde::Deserialize)]
        struct List {
            items: Vec<BundleDeployment>,
        }
        let list: List = self.json(&path, &data)?;
        Ok(Poll::Changed {
            etag,
            items: list.items,
        })
    }

    /// `GET /v1/agent/contents/{id}`: the manifest, checked to hash to `manifest_id`. Takes
    /// Fleet's Content (`content`: base64 of the gzipped manifest, `sha256sum`) and the
    /// manager's own form (the Bundle's `resources` as they are).
    pub fn content(&self, manifest_id: &str) -> Result<Manifest, Error> {
        let path = format!("/v1/agent/contents/{manifest_id}");
        let (_, _, data) = self.call("GET", &path, &[], None, REQUEST_TIMEOUT)?;
        let value: Value = self.json(&path, &data)?;
        let bad = |reason: String| Error::Content {
            id: manifest_id.to_string(),
            reason,
        };
        let manifest = match value.get("content").and_then(Value::as_str) {
            Some(encoded) => {
                use base64::Engine as _;
                let gzipped = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .map_err(|e| bad(format!("content is not base64: {e}")))?;
                let sha = value.get("sha256sum").and_then(Value::as_str).unwrap_or("");
                Manifest::from_content(&gzipped, sha).map_err(|e| bad(e.to_string()))?
            }
            None => {
                let resources: Vec<BundleResource> =
                    serde_json::from_value(value.get("resources").cloned().unwrap_or(Value::Null))
                        .map_err(|e| bad(format!("neither content nor resources: {e}")))?;
                Manifest::from_resources(&resources).map_err(|e| bad(e.to_string()))?
            }
        };
        if manifest.id() != manifest_id {
            return Err(bad(format!("the manifest hashes to {}", manifest.id())));
        }
        Ok(manifest)
    }

    /// `POST /v1/agent/statuses` with `[{name, status}]`.
    pub fn post_statuses(
        &self,
        statuses: &[(String, BundleDeploymentStatus)],
    ) -> Result<(), Error> {
        let items: Vec<Value> = statuses
            .iter()
            .map(|(name, status)| json!({"name": name, "status": status}))
            .collect();
        self.call(
            "POST",
            "/v1/agent/statuses",
            &[],
            Some(&Value::Array(items)),
            REQUEST_TIMEOUT,
        )?;
        Ok(())
    }

    /// `POST /v1/agent/heartbeat`.
    pub fn heartbeat(&self) -> Result<(), Error> {
        self.call("POST", "/v1/agent/heartbeat", &[], None, REQUEST_TIMEOUT)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manager_url_needs_a_scheme_and_a_ca_file_a_certificate() {
        assert!(matches!(
            Client::new("manager:8443", None),
            Err(Error::Url(_))
        ));
        assert!(Client::new("https://manager:8443/", None).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("ca.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = Client::new("https://manager", Some(&empty)).unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
        let missing = dir.path().join("missing.pem");
        let err = Client::new("https://manager", Some(&missing)).unwrap_err();
        assert!(err.to_string().contains("missing.pem"), "{err}");
    }

    /// A server that answers every request with `answer` and keeps the connection open, as
    /// a keep-alive HTTP/1.1 server does.
    fn answering(answer: &'static str) -> String {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    loop {
                        let mut length = 0usize;
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if let Some(v) =
                                line.to_ascii_lowercase().strip_prefix("content-length:")
                            {
                                length = v.trim().parse().unwrap_or(0);
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        if stream.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        url
    }

    #[test]
    fn a_204_answer_ends_the_call() {
        let url =
            answering("HTTP/1.1 204 No Content\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n");
        let client = Client::new(&url, None).unwrap().with_credential("c");
        let started = std::time::Instant::now();
        client.heartbeat().unwrap();
        client
            .post_statuses(&[("a".into(), BundleDeploymentStatus::default())])
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn refusals_are_told_from_passing_failures() {
        let status = |status| Error::Status {
            url: "u".into(),
            status,
            message: String::new(),
        };
        assert!(status(403).is_refusal());
        assert!(!status(429).is_refusal());
        assert!(!status(503).is_refusal());
    }
}
