//! The I/O around [`super::gitops`]: a task that polls due GitRepos (and those a webhook
//! pointed at) with `fleet_bundle::git`, reads each new commit with `fleet_bundle::read_repo`
//! off the async runtime, and commits the resulting writes before a reconcile.
//!
//! Webhooks (`POST /v1/webhook`): GitHub, Gitea and Bitbucket push events signed with HMAC-SHA256
//! of the body (`X-Hub-Signature-256`, `X-Gitea-Signature`, `X-Hub-Signature`), GitLab's
//! `X-Gitlab-Token` compared in constant time. The secret is the manager's, in
//! `DATA/webhook-secret` (Fleet's global `gitjob-webhook` Secret plays this part).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::Notify;

use super::gitops;
use super::reconcile::{BUNDLE, GIT_REPO};
use super::server::{ApiError, App};
use super::store::Write;

/// Poll schedule and webhook triggers, shared by the poller and the webhook route.
#[derive(Default)]
pub struct Sources {
    /// `namespace/name` → next poll, milliseconds since the Unix epoch.
    next_poll: Mutex<HashMap<String, u64>>,
    /// GitRepos a webhook asked to fetch now.
    triggered: Mutex<Vec<String>>,
    wake: Notify,
    /// The webhook secret; webhooks are refused without one.
    webhook_secret: Option<String>,
}

impl Sources {
    /// Sources verifying webhooks with this secret.
    pub fn new(webhook_secret: Option<String>) -> Self {
        Self {
            webhook_secret,
            ..Self::default()
        }
    }

    /// Asks the poller to fetch a GitRepo now.
    pub fn trigger(&self, key: &str) {
        if let Ok(mut t) = self.triggered.lock() {
            t.push(key.to_owned());
        }
        self.wake.notify_one();
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// RFC 3339 UTC timestamp of now, as Kubernetes writes them.
pub fn now_rfc3339() -> String {
    let secs = now_ms() / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn unit_random() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

fn key_of(repo: &Value) -> String {
    format!(
        "{}/{}",
        repo["metadata"]["namespace"].as_str().unwrap_or_default(),
        repo["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// What one fetch-and-read produced.
enum Outcome {
    /// The commit and the Bundles read from it.
    Read(String, Vec<fleet_core::crd::Bundle>),
    /// The commit is the one already recorded: nothing to read.
    Unchanged,
    /// Fetching failed (`true`) or reading the commit failed (`false`), with the message.
    Failed(bool, String),
}

/// Fetches and reads one GitRepo; blocking (git and file I/O).
fn fetch_and_read(repo: &fleet_core::crd::GitRepo, recorded: Option<&str>, force: bool) -> Outcome {
    let (branch, revision) = gitops::fetch_target(repo);
    let ca_bundle =
        (!repo.spec.ca_bundle.is_empty()).then(|| repo.spec.ca_bundle.as_bytes().to_vec());
    let checkout = match fleet_bundle::git::fetch_with(
        &repo.spec.repo,
        branch.as_deref(),
        revision.as_deref(),
        &fleet_bundle::git::FetchOptions { ca_bundle },
    ) {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(true, e.to_string()),
    };
    if !force && recorded == Some(checkout.commit.as_str()) {
        return Outcome::Unchanged;
    }
    let targets_file = match gitops::targets_file(repo) {
        Ok(t) => t,
        Err(e) => return Outcome::Failed(false, e.to_string()),
    };
    let fetcher = fleet_bundle::fetch::HttpFetcher::default();
    let opts = fleet_bundle::read::Options {
        repo_name: repo.metadata.name.clone(),
        namespace: repo.metadata.namespace.clone(),
        labels: gitops::bundle_labels(repo, &checkout.commit),
        targets_file: Some(targets_file),
        compress: false,
        image_scans: false,
        fetcher: &fetcher,
    };
    let scan = if repo.spec.bundles.is_empty() {
        fleet_bundle::Scan::Classic(repo.spec.paths.clone())
    } else {
        let pairs: Vec<(String, String)> = repo
            .spec
            .bundles
            .iter()
            .map(|b| (b.base.clone(), b.options.clone()))
            .collect();
        let separator = fleet_bundle::discover::driven_separator(&pairs);
        let entries = pairs
            .into_iter()
            .map(|(base, options)| {
                if options.is_empty() {
                    base
                } else {
                    format!("{base}{separator}{options}")
                }
            })
            .collect();
        fleet_bundle::Scan::Driven { entries, separator }
    };
    let tree = match checkout.tree() {
        Ok(t) => t,
        Err(e) => return Outcome::Failed(false, e.to_string()),
    };
    match fleet_bundle::read_repo(&tree, &scan, &opts) {
        Ok(read) => Outcome::Read(
            checkout.commit.clone(),
            read.into_iter().map(|r| r.bundle).collect(),
        ),
        Err(e) => Outcome::Failed(false, e.to_string()),
    }
}

/// Polls and reads one GitRepo now and commits what came of it; returns whether anything was
/// written.
pub async fn sync_one(app: &Arc<App>, key: &str, force: bool) -> Result<bool, ApiError> {
    let Some((ns, name)) = key.split_once('/') else {
        return Ok(false);
    };
    let Some(object) = app.store().get(GIT_REPO, ns, name)? else {
        return Ok(false);
    };
    let repo = match gitops::typed(&object) {
        Ok(r) => r,
        Err(e) => {
            let writes = gitops::failed_writes(&object, false, &e.to_string(), &now_rfc3339());
            app.store().write(&writes)?;
            return Ok(!writes.is_empty());
        }
    };
    if repo.spec.paused {
        return Ok(false);
    }
    let recorded = object["status"]["commit"].as_str().map(str::to_owned);
    let started = std::time::Instant::now();
    let outcome =
        tokio::task::spawn_blocking(move || fetch_and_read(&repo, recorded.as_deref(), force))
            .await
            .map_err(|e| ApiError::internal(format!("GitRepo {key}: the read task failed: {e}")))?;
    app.observe("gitrepo_sync", started);
    let now = now_rfc3339();
    let writes = match outcome {
        // Same commit: only a recovery from an earlier failure is written.
        Outcome::Unchanged => gitops::synced_writes(
            &object,
            object["status"]["commit"].as_str().unwrap_or_default(),
            Vec::new(),
            &[],
            &now,
        )
        .unwrap_or_default(),
        Outcome::Failed(fetch_failed, message) => {
            tracing::warn!(gitrepo = key, %message, "sync failed");
            gitops::failed_writes(&object, fetch_failed, &message, &now)
        }
        Outcome::Read(commit, bundles) => {
            tracing::info!(gitrepo = key, %commit, bundles = bundles.len(), "read commit");
            let existing = app.store().list(BUNDLE)?;
            match gitops::synced_writes(&object, &commit, bundles, &existing, &now) {
                Ok(w) => w,
                Err(e) => gitops::failed_writes(&object, false, &e.to_string(), &now),
            }
        }
    };
    if writes.is_empty() {
        return Ok(false);
    }
    app.store().write(&writes)?;
    app.reconcile().await?;
    Ok(true)
}

/// The poller: wakes at the earliest due GitRepo or a webhook trigger, and syncs what is due.
/// GitRepos are polled one at a time, so a slow repository delays others but never runs twice.
pub async fn run_poller(app: Arc<App>) {
    loop {
        let sources = app.sources();
        let repos = match app.store().list(GIT_REPO) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("listing GitRepos: {e}");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        let now = now_ms();
        let mut due: Vec<(String, bool)> = Vec::new();
        let mut earliest = now + 60_000;
        {
            let Ok(mut next) = sources.next_poll.lock() else {
                return;
            };
            next.retain(|k, _| repos.iter().any(|r| key_of(r) == *k));
            for r in &repos {
                let key = key_of(r);
                let interval = gitops::typed(r)
                    .ok()
                    .and_then(|t| gitops::polling_interval(&t).ok().flatten());
                let Some(interval) = interval else {
                    continue;
                };
                let at = *next.entry(key.clone()).or_insert(now);
                if at <= now {
                    due.push((key.clone(), false));
                    let at = gitops::next_poll_ms(now, interval, unit_random());
                    earliest = earliest.min(at);
                    next.insert(key, at);
                } else {
                    earliest = earliest.min(at);
                }
            }
        }
        if let Ok(mut t) = sources.triggered.lock() {
            for k in t.drain(..) {
                due.retain(|(d, _)| *d != k);
                due.push((k, true));
            }
        }
        for (key, triggered) in due {
            if let Err(e) = sync_one(&app, &key, triggered).await {
                tracing::error!(gitrepo = key, "sync: {e:?}");
            }
        }
        let wait = Duration::from_millis(earliest.saturating_sub(now_ms()).max(50));
        let _ = tokio::time::timeout(wait, sources.wake.notified()).await;
    }
}

type HmacSha256 = Hmac<Sha256>;

fn hmac_hex_matches(secret: &str, body: &[u8], hex_sig: &str) -> bool {
    let Ok(sig) = hex::decode(hex_sig.trim()) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Which provider sent a webhook, verified against the secret; an error names the reason.
fn verify(headers: &HeaderMap, body: &[u8], secret: &str) -> Result<&'static str, String> {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(token) = h("x-gitlab-token") {
        return if constant_time_eq(token.as_bytes(), secret.as_bytes()) {
            Ok("gitlab")
        } else {
            Err("X-Gitlab-Token does not match the webhook secret".into())
        };
    }
    if let Some(sig) = h("x-gitea-signature") {
        return if hmac_hex_matches(secret, body, sig) {
            Ok("gitea")
        } else {
            Err("X-Gitea-Signature does not match the body".into())
        };
    }
    if let Some(sig) = h("x-hub-signature-256") {
        let hex_sig = sig.strip_prefix("sha256=").unwrap_or(sig);
        return if hmac_hex_matches(secret, body, hex_sig) {
            Ok("github")
        } else {
            Err("X-Hub-Signature-256 does not match the body".into())
        };
    }
    if let Some(sig) = h("x-hub-signature") {
        // Bitbucket Server signs with `sha256=<hex>` in X-Hub-Signature.
        let Some(hex_sig) = sig.strip_prefix("sha256=") else {
            return Err("X-Hub-Signature must be sha256=<hex>".into());
        };
        return if hmac_hex_matches(secret, body, hex_sig) {
            Ok("bitbucket")
        } else {
            Err("X-Hub-Signature does not match the body".into())
        };
    }
    Err("no webhook signature header (X-Hub-Signature-256, X-Gitea-Signature, X-Hub-Signature or X-Gitlab-Token)".into())
}

/// Repository URLs, branch and commit of a push event, whatever the provider's shape.
fn push_event(payload: &Value) -> (Vec<String>, Option<String>, Option<String>) {
    let mut urls = Vec::new();
    let repo = &payload["repository"];
    for k in [
        "clone_url",
        "html_url",
        "ssh_url",
        "git_http_url",
        "git_ssh_url",
        "homepage",
        "url",
    ] {
        if let Some(u) = repo[k].as_str() {
            urls.push(u.to_owned());
        }
    }
    if let Some(u) = repo["links"]["html"]["href"].as_str() {
        urls.push(u.to_owned());
    }
    let mut branch = payload["ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("refs/heads/"))
        .map(str::to_owned);
    let mut commit = payload["after"]
        .as_str()
        .or(payload["checkout_sha"].as_str())
        .map(str::to_owned);
    // Bitbucket: push.changes[].new.{name, target.hash}.
    if let Some(change) = payload["push"]["changes"].as_array().and_then(|c| c.last()) {
        branch = branch.or(change["new"]["name"].as_str().map(str::to_owned));
        commit = commit.or(change["new"]["target"]["hash"].as_str().map(str::to_owned));
    }
    (urls, branch, commit)
}

/// `POST /v1/webhook`: a verified push event triggers a fetch of every GitRepo of that
/// repository and branch, and records `webhookCommit`/`lastWebhookTime`.
pub async fn webhook(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let sources = app.sources();
    let Some(secret) = sources.webhook_secret.as_deref() else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "webhooks are disabled: the manager has no webhook secret",
        ));
    };
    let provider =
        verify(&headers, &body, secret).map_err(|m| ApiError::new(StatusCode::FORBIDDEN, m))?;
    let payload: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("webhook: invalid JSON body: {e}"),
        )
    })?;
    let (urls, branch, commit) = push_event(&payload);
    if urls.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "webhook: the payload names no repository (repository.clone_url, git_http_url or links.html.href)",
        ));
    }
    let wanted: Vec<String> = urls.iter().map(|u| gitops::normalize_repo_url(u)).collect();
    let now = now_rfc3339();
    let mut matched = Vec::new();
    let mut writes = Vec::new();
    for object in app.store().list(GIT_REPO)? {
        let Ok(repo) = gitops::typed(&object) else {
            continue;
        };
        if !wanted.contains(&gitops::normalize_repo_url(&repo.spec.repo)) {
            continue;
        }
        let (repo_branch, revision) = gitops::fetch_target(&repo);
        if revision.is_none() && branch.is_some() && repo_branch != branch {
            continue;
        }
        let key = key_of(&object);
        let mut updated = object.clone();
        if !updated["status"].is_object() {
            updated["status"] = json!({});
        }
        if let Some(c) = &commit {
            updated["status"]["webhookCommit"] = json!(c);
        }
        updated["status"]["lastWebhookTime"] = json!(now);
        writes.push(Write::Put {
            kind: GIT_REPO.into(),
            namespace: repo.metadata.namespace.clone(),
            name: repo.metadata.name.clone(),
            object: updated,
        });
        matched.push(key);
    }
    if !writes.is_empty() {
        app.store().write(&writes)?;
    }
    for k in &matched {
        sources.trigger(k);
    }
    tracing::info!(provider, ?matched, "webhook");
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({"provider": provider, "gitrepos": matched})),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn sign(secret: &str, body: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn signatures_of_each_provider() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let mut h = HeaderMap::new();
        h.insert(
            "x-hub-signature-256",
            HeaderValue::from_str(&format!("sha256={}", sign("s3cret", body))).unwrap(),
        );
        assert_eq!(verify(&h, body, "s3cret"), Ok("github"));
        assert!(verify(&h, body, "other").is_err());
        assert!(verify(&h, b"tampered", "s3cret").is_err());
        let mut h = HeaderMap::new();
        h.insert(
            "x-gitea-signature",
            HeaderValue::from_str(&sign("k", body)).unwrap(),
        );
        assert_eq!(verify(&h, body, "k"), Ok("gitea"));
        let mut h = HeaderMap::new();
        h.insert("x-gitlab-token", HeaderValue::from_static("tok"));
        assert_eq!(verify(&h, body, "tok"), Ok("gitlab"));
        assert!(verify(&h, body, "tok2").is_err());
        let mut h = HeaderMap::new();
        h.insert(
            "x-hub-signature",
            HeaderValue::from_str(&format!("sha256={}", sign("b", body))).unwrap(),
        );
        assert_eq!(verify(&h, body, "b"), Ok("bitbucket"));
        assert!(verify(&HeaderMap::new(), body, "b").is_err());
    }

    #[test]
    fn push_payloads_of_each_provider() {
        let github = json!({"ref": "refs/heads/main", "after": "abc",
            "repository": {"clone_url": "https://github.com/o/r.git"}});
        assert_eq!(
            push_event(&github),
            (
                vec!["https://github.com/o/r.git".to_owned()],
                Some("main".into()),
                Some("abc".into())
            )
        );
        let gitlab = json!({"ref": "refs/heads/dev", "checkout_sha": "def",
            "repository": {"git_http_url": "https://gitlab.com/o/r.git"}});
        let (urls, b, c) = push_event(&gitlab);
        assert_eq!(urls, vec!["https://gitlab.com/o/r.git"]);
        assert_eq!((b.as_deref(), c.as_deref()), (Some("dev"), Some("def")));
        let bitbucket = json!({"push": {"changes": [{"new": {"name": "main", "target": {"hash": "123"}}}]},
            "repository": {"links": {"html": {"href": "https://bitbucket.org/o/r"}}}});
        let (urls, b, c) = push_event(&bitbucket);
        assert_eq!(urls, vec!["https://bitbucket.org/o/r"]);
        assert_eq!((b.as_deref(), c.as_deref()), (Some("main"), Some("123")));
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
    }
}
