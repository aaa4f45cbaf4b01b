//! Downloading remote charts over HTTP(S): archives, Helm repositories and OCI registries.
//!
//! Blocking client: `ureq` 3 with rustls on the `ring` provider (no `aws-lc-sys`, no async
//! runtime). Sources, as Fleet resolves them:
//! * `helm.chart: oci://host/path` (or `helm.repo: oci://host/path[/chart]`): OCI distribution
//!   pull — tag = the version (`+` written `_`), or the highest tag satisfying a constraint from
//!   `/v2/<name>/tags/list`; then the manifest, then the Helm chart layer blob (digest checked).
//!   Anonymous and basic-auth bearer-token challenges are answered.
//! * `helm.repo: https://…` + `helm.chart: name` + `helm.version`: `index.yaml`, the highest
//!   matching version (Masterminds constraints, exact string first), its first URL made
//!   absolute against the repo URL, then the archive.
//! * `helm.chart: https://…/x.tgz`: the archive.

use std::time::Duration;

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::chart::{ChartFetcher, ChartRef, FetchError, MAX_ARCHIVE_BYTES, unpack_archive};
use crate::tree::MemTree;
use fleet_core::semver;

/// Basic-auth credentials for chart repositories and registries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A blocking HTTP chart fetcher.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    agent: ureq::Agent,
    /// Credentials sent to every repository and registry.
    pub auth: Option<BasicAuth>,
    /// Talk plain HTTP to OCI registries (Fleet's `basicHTTP`); HTTPS otherwise.
    pub plain_http_registries: bool,
}

impl Default for HttpFetcher {
    fn default() -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(300)))
            .timeout_connect(Some(Duration::from_secs(30)))
            .build()
            .into();
        Self {
            agent,
            auth: None,
            plain_http_registries: false,
        }
    }
}

struct Response {
    status: u16,
    body: Vec<u8>,
    www_authenticate: Option<String>,
}

fn http_err(url: &str, reason: impl std::fmt::Display) -> FetchError {
    FetchError::Http {
        url: url.to_string(),
        reason: reason.to_string(),
    }
}

impl HttpFetcher {
    fn get(&self, url: &str, headers: &[(&str, String)]) -> Result<Response, FetchError> {
        let mut req = self.agent.get(url);
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let mut resp = req.call().map_err(|e| http_err(url, e))?;
        let status = resp.status().as_u16();
        let www_authenticate = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_ARCHIVE_BYTES)
            .read_to_vec()
            .map_err(|e| http_err(url, e))?;
        Ok(Response {
            status,
            body,
            www_authenticate,
        })
    }

    fn basic_header(&self) -> Vec<(&'static str, String)> {
        match &self.auth {
            Some(a) => vec![(
                "Authorization",
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{}:{}", a.username, a.password))
                ),
            )],
            None => Vec::new(),
        }
    }

    /// GET with basic auth; anything but 200 is an error carrying the status and body.
    fn get_ok(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let resp = self.get(url, &self.basic_header())?;
        if resp.status != 200 {
            return Err(http_err(
                url,
                format!(
                    "error code: {}, response body: {}",
                    resp.status,
                    String::from_utf8_lossy(&resp.body)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ),
            ));
        }
        Ok(resp.body)
    }

    fn fetch_archive(&self, url: &str) -> Result<MemTree, FetchError> {
        let body = self.get_ok(url)?;
        unpack_archive(url, &body)
    }

    fn fetch_from_index(&self, cr: &ChartRef) -> Result<MemTree, FetchError> {
        let repo = if cr.repo.ends_with('/') {
            cr.repo.clone()
        } else {
            format!("{}/", cr.repo)
        };
        let index_url = format!("{repo}index.yaml");
        let body = self.get_ok(&index_url)?;
        let text = String::from_utf8_lossy(&body);
        let index = fleet_core::yaml::from_str_value(&text).map_err(|e| FetchError::Malformed {
            what: index_url.clone(),
            reason: e.to_string(),
        })?;
        let url = chart_url_from_index(&index, &repo, &cr.chart, &cr.version)?;
        self.fetch_archive(&url)
    }

    fn fetch_oci(&self, reference: &str, version: &str) -> Result<MemTree, FetchError> {
        let r = OciRef::parse(reference)?;
        let scheme = if self.plain_http_registries {
            "http"
        } else {
            "https"
        };
        let base = format!("{scheme}://{}/v2/{}", r.host, r.name);
        let mut token: Option<String> = None;
        let tag = match (&r.tag, version) {
            (Some(t), "") => t.clone(),
            (_, v) if !v.is_empty() && semver::Version::parse(v).is_ok() => v.replace('+', "_"),
            (_, v) => {
                let body = self.oci_get(&format!("{base}/tags/list"), &[], &mut token)?;
                let list: Value =
                    serde_json::from_slice(&body).map_err(|e| FetchError::Malformed {
                        what: format!("{base}/tags/list"),
                        reason: e.to_string(),
                    })?;
                let tags: Vec<String> = list
                    .get("tags")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(|t| t.replace('_', "+"))
                            .collect()
                    })
                    .unwrap_or_default();
                let refs: Vec<&str> = tags.iter().map(String::as_str).collect();
                match semver::select(&refs, v)? {
                    Some(t) => t.replace('+', "_"),
                    None => {
                        return Err(FetchError::NoVersion {
                            chart: reference.to_string(),
                            version: v.to_string(),
                        });
                    }
                }
            }
        };
        let manifest_url = format!("{base}/manifests/{tag}");
        let accept = [(
            "Accept",
            "application/vnd.oci.image.manifest.v1+json".to_string(),
        )];
        let body = self.oci_get(&manifest_url, &accept, &mut token)?;
        let manifest: Value = serde_json::from_slice(&body).map_err(|e| FetchError::Malformed {
            what: manifest_url.clone(),
            reason: e.to_string(),
        })?;
        let layer = manifest
            .get("layers")
            .and_then(Value::as_array)
            .and_then(|layers| {
                layers.iter().find(|l| {
                    l.get("mediaType").and_then(Value::as_str)
                        == Some("application/vnd.cncf.helm.chart.content.v1.tar+gzip")
                })
            })
            .ok_or_else(|| FetchError::Malformed {
                what: manifest_url.clone(),
                reason: "no Helm chart layer (application/vnd.cncf.helm.chart.content.v1.tar+gzip)"
                    .into(),
            })?;
        let digest =
            layer
                .get("digest")
                .and_then(Value::as_str)
                .ok_or_else(|| FetchError::Malformed {
                    what: manifest_url.clone(),
                    reason: "chart layer without digest".into(),
                })?;
        let blob_url = format!("{base}/blobs/{digest}");
        let blob = self.oci_get(&blob_url, &[], &mut token)?;
        if let Some(hex_digest) = digest.strip_prefix("sha256:") {
            let actual = hex::encode(Sha256::digest(&blob));
            if actual != hex_digest {
                return Err(FetchError::Malformed {
                    what: blob_url,
                    reason: format!("digest mismatch: got sha256:{actual}"),
                });
            }
        }
        unpack_archive(reference, &blob)
    }

    /// GET against a registry, answering one bearer-token challenge.
    fn oci_get(
        &self,
        url: &str,
        extra: &[(&str, String)],
        token: &mut Option<String>,
    ) -> Result<Vec<u8>, FetchError> {
        for attempt in 0..2 {
            let mut headers: Vec<(&str, String)> = extra.to_vec();
            match token {
                Some(t) => headers.push(("Authorization", format!("Bearer {t}"))),
                None => headers.extend(self.basic_header()),
            }
            let resp = self.get(url, &headers)?;
            if resp.status == 200 {
                return Ok(resp.body);
            }
            if resp.status == 401
                && attempt == 0
                && let Some(challenge) = &resp.www_authenticate
                && let Some(t) = self.bearer_token(challenge)?
            {
                *token = Some(t);
                continue;
            }
            return Err(http_err(
                url,
                format!(
                    "error code: {}, response body: {}",
                    resp.status,
                    String::from_utf8_lossy(&resp.body)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ),
            ));
        }
        Err(http_err(url, "authentication failed"))
    }

    fn bearer_token(&self, challenge: &str) -> Result<Option<String>, FetchError> {
        let Some(params) = challenge.strip_prefix("Bearer ") else {
            return Ok(None);
        };
        let mut realm = None;
        let mut query = Vec::new();
        for part in split_challenge(params) {
            if let Some((k, v)) = part.split_once('=') {
                let v = v.trim_matches('"').to_string();
                match k.trim() {
                    "realm" => realm = Some(v),
                    "service" | "scope" => query.push(format!("{}={}", k.trim(), encode_query(&v))),
                    _ => {}
                }
            }
        }
        let Some(realm) = realm else {
            return Ok(None);
        };
        let url = if query.is_empty() {
            realm
        } else {
            format!("{realm}?{}", query.join("&"))
        };
        let resp = self.get(&url, &self.basic_header())?;
        if resp.status != 200 {
            return Err(http_err(
                &url,
                format!("token request failed: {}", resp.status),
            ));
        }
        let v: Value = serde_json::from_slice(&resp.body).map_err(|e| http_err(&url, e))?;
        Ok(v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(Value::as_str)
            .map(str::to_string))
    }
}

fn split_challenge(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => {
                out.push(std::mem::take(&mut cur));
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn encode_query(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An `oci://host[:port]/name[:tag]` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciRef {
    /// `host[:port]`.
    pub host: String,
    /// Repository name (path).
    pub name: String,
    /// Tag, if written.
    pub tag: Option<String>,
}

impl OciRef {
    /// Parses an `oci://` reference.
    pub fn parse(reference: &str) -> Result<Self, FetchError> {
        let bad = |reason: &str| FetchError::Malformed {
            what: reference.to_string(),
            reason: reason.to_string(),
        };
        let rest = reference
            .strip_prefix("oci://")
            .ok_or_else(|| bad("not an oci:// reference"))?;
        let (host, path) = rest
            .split_once('/')
            .ok_or_else(|| bad("missing repository path"))?;
        if host.is_empty() || path.is_empty() {
            return Err(bad("missing host or repository path"));
        }
        let last = path.rsplit('/').next().unwrap_or(path);
        let (name, tag) = match last.split_once(':') {
            Some((_, t)) => (
                path[..path.len() - t.len() - 1].to_string(),
                Some(t.to_string()),
            ),
            None => (path.to_string(), None),
        };
        Ok(Self {
            host: host.to_string(),
            name: name.trim_end_matches('/').to_string(),
            tag,
        })
    }
}

/// Picks the chart URL from a parsed `index.yaml` (Helm `IndexFile.Get`), made absolute
/// against `repo` (which ends with `/`).
pub fn chart_url_from_index(
    index: &Value,
    repo: &str,
    chart: &str,
    version: &str,
) -> Result<String, FetchError> {
    let entries = index
        .get("entries")
        .and_then(|e| e.get(chart))
        .and_then(Value::as_array)
        .ok_or_else(|| FetchError::NoChart(chart.to_string()))?;
    let versions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.get("version").and_then(Value::as_str))
        .collect();
    let chosen = semver::select(&versions, version)?.ok_or_else(|| FetchError::NoVersion {
        chart: chart.to_string(),
        version: version.to_string(),
    })?;
    let entry = entries
        .iter()
        .find(|e| e.get("version").and_then(Value::as_str) == Some(chosen))
        .ok_or_else(|| FetchError::NoChart(chart.to_string()))?;
    let url = entry
        .get("urls")
        .and_then(Value::as_array)
        .and_then(|u| u.first())
        .and_then(Value::as_str)
        .ok_or_else(|| FetchError::Malformed {
            what: format!("{repo}index.yaml"),
            reason: format!("no URLs found for chart {chart} {chosen}"),
        })?;
    Ok(resolve_url(repo, url))
}

/// Resolves a possibly relative URL against a base URL (RFC 3986, the common cases).
pub fn resolve_url(base: &str, url: &str) -> String {
    if url.contains("://") {
        return url.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let host_end = rest.find('/').unwrap_or(rest.len());
    let host = &rest[..host_end];
    if let Some(abs) = url.strip_prefix('/') {
        return format!("{scheme}://{host}/{abs}");
    }
    let path = &rest[host_end..];
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    format!("{scheme}://{host}{dir}{url}")
}

impl ChartFetcher for HttpFetcher {
    fn fetch(&self, cr: &ChartRef) -> Result<MemTree, FetchError> {
        if cr.chart.starts_with("oci://") {
            return self.fetch_oci(&cr.chart, &cr.version);
        }
        if cr.repo.starts_with("oci://") {
            let reference = if cr.chart.is_empty() {
                cr.repo.clone()
            } else {
                format!("{}/{}", cr.repo.trim_end_matches('/'), cr.chart)
            };
            return self.fetch_oci(&reference, &cr.version);
        }
        if !cr.repo.is_empty() {
            return self.fetch_from_index(cr);
        }
        let chart = cr
            .chart
            .strip_prefix("http::")
            .or_else(|| cr.chart.strip_prefix("https::"))
            .unwrap_or(&cr.chart);
        if chart.starts_with("http://") || chart.starts_with("https://") {
            return self.fetch_archive(chart);
        }
        crate::chart::Offline.fetch(cr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_refs() {
        let r = OciRef::parse("oci://127.0.0.1:5000/charts/config-chart:0.1.0").unwrap();
        assert_eq!(r.host, "127.0.0.1:5000");
        assert_eq!(r.name, "charts/config-chart");
        assert_eq!(r.tag.as_deref(), Some("0.1.0"));
        assert!(OciRef::parse("oci://host").is_err());
    }

    #[test]
    fn urls() {
        assert_eq!(
            resolve_url("http://h:3000/", "config-chart-0.1.0.tgz"),
            "http://h:3000/config-chart-0.1.0.tgz"
        );
        assert_eq!(resolve_url("http://h/a/b/", "/x.tgz"), "http://h/x.tgz");
        assert_eq!(
            resolve_url("http://h/a/", "https://o/x.tgz"),
            "https://o/x.tgz"
        );
    }
}
