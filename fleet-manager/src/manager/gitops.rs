//! GitRepos to Bundles, the pure part: when a GitRepo is due for a poll, how its settings become
//! `fleet apply` options, and which writes a fetched commit (or a failed fetch) turns into —
//! Bundles created or updated only when they changed, Bundles of the repository no longer
//! produced pruned, their Contents stored once, and the GitRepo's status (`commit`,
//! `pollingCommit`, `lastPollingTriggered`, the `GitPolling` and `Accepted` conditions).
//!
//! Fleet's GitRepo controller does this with a Job running `fleet apply` per commit
//! (`internal/cmd/controller/gitops/reconciler/gitjob_controller.go`); here the same reading
//! (`fleet_bundle::read_repo`) runs in the manager's process.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use fleet_bundle::read::{COMMIT_LABEL, REPO_LABEL, TargetsFile};
use fleet_core::crd::{Bundle, GitRepo};
use serde_json::{Value, json};

use super::reconcile::{BUNDLE, GIT_REPO};
use super::store::Write;

/// Fleet's default polling interval (`defaultPollingSyncInterval`, 15 s).
pub const DEFAULT_POLLING_INTERVAL: Duration = Duration::from_secs(15);
/// The branch Fleet's cloner fetches when a GitRepo names neither a branch nor a revision.
pub const DEFAULT_BRANCH: &str = "master";

/// Errors turning a GitRepo into Bundles.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A stored GitRepo does not decode.
    #[error("GitRepo {namespace}/{name}: invalid object: {source}")]
    Invalid {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Why.
        source: serde_json::Error,
    },
    /// `pollingInterval` is not a Go duration.
    #[error("GitRepo {namespace}/{name}: spec.pollingInterval {value:?}: {reason}")]
    Interval {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// The value given.
        value: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A produced Bundle could not be encoded or its manifest built.
    #[error("Bundle {name}: {reason}")]
    Bundle {
        /// The Bundle's name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// `(namespace, name)` of a stored object.
fn namespace_and_name(object: &Value) -> (String, String) {
    let field = |k: &str| {
        object["metadata"][k]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    (field("namespace"), field("name"))
}

/// A stored GitRepo, typed.
pub fn typed(object: &Value) -> Result<GitRepo, Error> {
    serde_json::from_value(object.clone()).map_err(|source| {
        let (namespace, name) = namespace_and_name(object);
        Error::Invalid {
            namespace,
            name,
            source,
        }
    })
}

/// Parses a Go duration (`time.ParseDuration`): a sequence of decimal numbers with units
/// `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`, optionally signed; `"0"` alone is zero.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let s = text.strip_prefix('+').unwrap_or(text);
    if s.starts_with('-') {
        return Err("negative durations are not allowed".into());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut rest = s;
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("expected a number at {rest:?}"));
        }
        let number: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("invalid number {:?}", &rest[..num_len]))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err("missing unit".into()),
            other => return Err(format!("unknown unit {other:?}")),
        };
        rest = &rest[unit_len..];
        total += number * seconds;
    }
    if !total.is_finite() || total > 1e12 {
        return Err("duration out of range".into());
    }
    Ok(Duration::from_secs_f64(total))
}

/// How often a GitRepo is polled: `spec.pollingInterval`, else Fleet's 15 s; `None` when
/// polling is disabled (`disablePolling`: only webhooks trigger a fetch) or the GitRepo is
/// paused.
pub fn polling_interval(repo: &GitRepo) -> Result<Option<Duration>, Error> {
    if repo.spec.disable_polling {
        return Ok(None);
    }
    match repo.spec.polling_interval.as_deref() {
        None | Some("") => Ok(Some(DEFAULT_POLLING_INTERVAL)),
        Some(text) => match parse_go_duration(text) {
            // Fleet treats a zero interval as "use the default".
            Ok(d) if d.is_zero() => Ok(Some(DEFAULT_POLLING_INTERVAL)),
            Ok(d) => Ok(Some(d)),
            Err(reason) => Err(Error::Interval {
                namespace: repo.metadata.namespace.clone(),
                name: repo.metadata.name.clone(),
                value: text.to_owned(),
                reason,
            }),
        },
    }
}

/// The next poll after one that started at `now_ms`: the interval with ±10 % jitter, so a
/// thousand GitRepos created together do not fetch in lockstep. `unit` is a uniform random
/// number in `[0, 1)`.
pub fn next_poll_ms(now_ms: u64, interval: Duration, unit: f64) -> u64 {
    let base = interval.as_secs_f64() * 1000.0;
    let jittered = base * (0.9 + 0.2 * unit.clamp(0.0, 1.0));
    now_ms.saturating_add(jittered.max(1.0) as u64)
}

/// What to fetch for a GitRepo: `(branch, revision)` as the cloner takes them.
pub fn fetch_target(repo: &GitRepo) -> (Option<String>, Option<String>) {
    let revision = (!repo.spec.revision.is_empty()).then(|| repo.spec.revision.clone());
    let branch = if revision.is_some() {
        None
    } else if repo.spec.branch.is_empty() {
        Some(DEFAULT_BRANCH.to_owned())
    } else {
        Some(repo.spec.branch.clone())
    };
    (branch, revision)
}

/// The GitRepo's targets as Fleet's controller hands them to `fleet apply` (`targets.yaml`):
/// no targets means the `default` cluster group.
pub fn targets_file(repo: &GitRepo) -> Result<TargetsFile, Error> {
    let targets: Vec<Value> = if repo.spec.targets.is_empty() {
        vec![json!({"name": "default", "clusterGroup": "default"})]
    } else {
        repo.spec
            .targets
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()
            .map_err(|e| Error::Bundle {
                name: repo.metadata.name.clone(),
                reason: format!("cannot encode targets: {e}"),
            })?
    };
    Ok(TargetsFile {
        targets,
        target_restrictions: Vec::new(),
    })
}

/// Labels for every Bundle of the GitRepo at `commit`: the GitRepo's own labels, the repo name
/// and the commit (Fleet's `argsAndEnvs` and `fleet apply`).
pub fn bundle_labels(repo: &GitRepo, commit: &str) -> BTreeMap<String, String> {
    let mut labels = repo.metadata.labels.clone();
    labels.insert(REPO_LABEL.to_owned(), repo.metadata.name.clone());
    labels.insert(COMMIT_LABEL.to_owned(), commit.to_owned());
    labels
}

/// Applies the GitRepo-wide settings `fleet apply` receives as flags (`--target-namespace`,
/// `--paused`, `--service-account`, `--keep-resources`, `--delete-namespace`,
/// `--correct-drift`) to a Bundle read from the repository.
pub fn apply_repo_settings(repo: &GitRepo, bundle: &mut Bundle) {
    let spec = &repo.spec;
    let options = &mut bundle.spec.options;
    if !spec.target_namespace.is_empty() {
        options.target_namespace = spec.target_namespace.clone();
    }
    if spec.paused {
        bundle.spec.paused = true;
    }
    if !spec.service_account.is_empty() && options.service_account.is_empty() {
        options.service_account = spec.service_account.clone();
    }
    if spec.keep_resources {
        options.keep_resources = true;
    }
    if spec.delete_namespace {
        options.delete_namespace = true;
    }
    if let Some(cd) = &spec.correct_drift
        && cd.enabled
    {
        options.correct_drift = Some(cd.clone());
    }
}

fn now_condition(type_: &str, status: bool, message: &str, now: &str) -> Value {
    let mut c = json!({
        "type": type_,
        "status": if status { "True" } else { "False" },
        "lastUpdateTime": now,
    });
    if !message.is_empty() {
        c["message"] = json!(message);
    }
    c
}

/// Replaces (or adds) conditions by type, keeping `lastTransitionTime` semantics simple: the
/// update time moves only when status or message change, so an unchanged poll writes nothing.
fn set_conditions(status: &mut Value, new: Vec<Value>) {
    let list = status
        .as_object_mut()
        .map(|o| o.entry("conditions").or_insert_with(|| json!([])));
    let Some(Value::Array(list)) = list else {
        return;
    };
    for c in new {
        match list.iter_mut().find(|old| old["type"] == c["type"]) {
            Some(old) => {
                if old["status"] != c["status"] || old.get("message") != c.get("message") {
                    *old = c;
                }
            }
            None => list.push(c),
        }
    }
}

fn repo_status(object: &Value) -> Value {
    match object.get("status") {
        Some(s @ Value::Object(_)) => s.clone(),
        _ => json!({}),
    }
}

fn put(kind: &str, object: Value) -> Write {
    let (namespace, name) = namespace_and_name(&object);
    Write::Put {
        kind: kind.into(),
        namespace,
        name,
        object,
    }
}

/// A Bundle's resources as a Content, stored once under its manifest ID.
pub fn content_write(bundle: &Bundle) -> Result<Write, Error> {
    let manifest =
        fleet_core::manifest::Manifest::from_resources(&bundle.spec.resources).map_err(|e| {
            Error::Bundle {
                name: bundle.metadata.name.clone(),
                reason: e.to_string(),
            }
        })?;
    let id = manifest.id();
    Ok(Write::Put {
        kind: "content".into(),
        namespace: String::new(),
        name: id.clone(),
        object: json!({"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Content",
            "metadata": {"name": id}, "resources": bundle.spec.resources}),
    })
}

fn without_status(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
    }
    v
}

/// The writes for a successful read of `commit`: changed or new Bundles (with their Contents),
/// Bundles of this GitRepo that the commit no longer produces deleted, and the GitRepo's
/// status. `existing` are all stored Bundles; `now` is an RFC 3339 timestamp.
pub fn synced_writes(
    repo_object: &Value,
    commit: &str,
    produced: Vec<Bundle>,
    existing: &[Value],
    now: &str,
) -> Result<Vec<Write>, Error> {
    let repo = typed(repo_object)?;
    let ns = repo.metadata.namespace.as_str();
    let mut writes = Vec::new();
    let mut names = BTreeSet::new();
    let stored: BTreeMap<&str, &Value> = existing
        .iter()
        .filter(|b| b["metadata"]["namespace"] == ns)
        .filter_map(|b| b["metadata"]["name"].as_str().map(|n| (n, b)))
        .collect();
    for mut bundle in produced {
        bundle.metadata.namespace = ns.to_owned();
        apply_repo_settings(&repo, &mut bundle);
        names.insert(bundle.metadata.name.clone());
        let mut object = serde_json::to_value(&bundle).map_err(|e| Error::Bundle {
            name: bundle.metadata.name.clone(),
            reason: e.to_string(),
        })?;
        if let Some(old) = stored.get(bundle.metadata.name.as_str()) {
            if without_status(old) == without_status(&object) {
                continue;
            }
            // Status belongs to the reconcile: keep what it computed.
            if let Some(s) = old.get("status") {
                object["status"] = s.clone();
            }
        }
        writes.push(content_write(&bundle)?);
        writes.push(put(BUNDLE, object));
    }
    for (name, old) in &stored {
        if old["metadata"]["labels"][REPO_LABEL] == repo.metadata.name.as_str()
            && !names.contains(*name)
        {
            writes.push(Write::Delete {
                kind: BUNDLE.into(),
                namespace: ns.to_owned(),
                name: (*name).to_owned(),
            });
        }
    }
    let mut status = repo_status(repo_object);
    let before = status.clone();
    status["commit"] = json!(commit);
    status["pollingCommit"] = json!(commit);
    set_conditions(
        &mut status,
        vec![
            now_condition("GitPolling", true, "", now),
            now_condition("Accepted", true, "", now),
        ],
    );
    if status != before {
        status["lastPollingTriggered"] = json!(now);
        let mut object = repo_object.clone();
        object["status"] = status;
        writes.push(put(GIT_REPO, object));
    }
    Ok(writes)
}

/// The writes for a failed fetch or read: the GitRepo's status says why (`GitPolling` or
/// `Accepted` false with the message); its Bundles stay as they were.
pub fn failed_writes(
    repo_object: &Value,
    fetch_failed: bool,
    message: &str,
    now: &str,
) -> Vec<Write> {
    let mut status = repo_status(repo_object);
    let before = status.clone();
    let condition = if fetch_failed {
        "GitPolling"
    } else {
        "Accepted"
    };
    set_conditions(
        &mut status,
        vec![now_condition(condition, false, message, now)],
    );
    if status == before {
        return Vec::new();
    }
    let mut object = repo_object.clone();
    object["status"] = status;
    vec![put(GIT_REPO, object)]
}

/// Normalises a repository URL for matching a webhook's payload against GitRepos: no scheme,
/// no credentials, no `.git` suffix or trailing `/`, lower-case host.
pub fn normalize_repo_url(url: &str) -> String {
    let mut s = url.trim();
    if let Some((_, rest)) = s.split_once("://") {
        s = rest;
    }
    if let Some((_, rest)) = s.split_once('@') {
        s = rest;
    }
    let s = s.trim_end_matches('/');
    let s = s.strip_suffix(".git").unwrap_or(s);
    // scp-like `git@host:owner/repo` and `host/owner/repo` compare equal.
    let s = s.replacen(':', "/", 1);
    match s.split_once('/') {
        Some((host, path)) => format!("{}/{}", host.to_ascii_lowercase(), path),
        None => s.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(spec: Value) -> Value {
        json!({"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "GitRepo",
            "metadata": {"namespace": "fleet-default", "name": "r", "labels": {"team": "a"}},
            "spec": spec})
    }

    fn bundle(name: &str, content: &str) -> Bundle {
        serde_json::from_value(
            json!({"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Bundle",
            "metadata": {"name": name, "labels": {"fleet.cattle.io/repo-name": "r"}},
            "spec": {"resources": [{"name": "cm.yaml", "content": content}]}}),
        )
        .unwrap()
    }

    fn puts<'a>(writes: &'a [Write], kind: &str) -> Vec<&'a Value> {
        writes
            .iter()
            .filter_map(|w| match w {
                Write::Put {
                    kind: k, object, ..
                } if k == kind => Some(object),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_go_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert!(parse_go_duration("15").is_err());
        assert!(parse_go_duration("-1s").is_err());
        assert!(parse_go_duration("1d").is_err());
        assert!(parse_go_duration("").is_err());
    }

    #[test]
    fn interval_default_disabled_and_invalid() {
        let r = typed(&repo(json!({"repo": "x"}))).unwrap();
        assert_eq!(polling_interval(&r).unwrap(), Some(Duration::from_secs(15)));
        let r = typed(&repo(json!({"repo": "x", "pollingInterval": "2m"}))).unwrap();
        assert_eq!(
            polling_interval(&r).unwrap(),
            Some(Duration::from_secs(120))
        );
        let r = typed(&repo(json!({"repo": "x", "disablePolling": true}))).unwrap();
        assert_eq!(polling_interval(&r).unwrap(), None);
        let r = typed(&repo(json!({"repo": "x", "pollingInterval": "soon"}))).unwrap();
        let e = polling_interval(&r).unwrap_err().to_string();
        assert!(e.contains("fleet-default/r") && e.contains("soon"), "{e}");
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let i = Duration::from_secs(100);
        assert_eq!(next_poll_ms(0, i, 0.0), 90_000);
        assert_eq!(next_poll_ms(0, i, 0.5), 100_000);
        assert!(next_poll_ms(0, i, 0.999_999) <= 110_000);
    }

    #[test]
    fn branch_defaults_to_master_and_revision_wins() {
        let r = typed(&repo(json!({"repo": "x"}))).unwrap();
        assert_eq!(fetch_target(&r), (Some("master".into()), None));
        let r = typed(&repo(
            json!({"repo": "x", "branch": "main", "revision": "v1"}),
        ))
        .unwrap();
        assert_eq!(fetch_target(&r), (None, Some("v1".into())));
    }

    #[test]
    fn sync_creates_updates_only_changes_and_prunes() {
        let r = repo(json!({"repo": "x", "targetNamespace": "apps", "paused": true}));
        let first = synced_writes(
            &r,
            "c1",
            vec![bundle("r-a", "a: 1\n"), bundle("r-b", "b: 1\n")],
            &[],
            "2026-01-01T00:00:00Z",
        )
        .unwrap();
        let bundles = puts(&first, BUNDLE);
        assert_eq!(bundles.len(), 2);
        assert_eq!(puts(&first, "content").len(), 2);
        assert_eq!(bundles[0]["metadata"]["namespace"], "fleet-default");
        assert_eq!(bundles[0]["spec"]["namespace"], "apps");
        assert_eq!(bundles[0]["spec"]["paused"], true);
        let status = &puts(&first, GIT_REPO)[0]["status"];
        assert_eq!(status["commit"], "c1");
        let stored: Vec<Value> = bundles.into_iter().cloned().collect();
        let repo_after = puts(&first, GIT_REPO)[0].clone();
        // Same commit, same content: nothing to write.
        let again = synced_writes(
            &repo_after,
            "c1",
            vec![bundle("r-a", "a: 1\n"), bundle("r-b", "b: 1\n")],
            &stored,
            "2026-01-01T00:00:15Z",
        )
        .unwrap();
        assert!(again.is_empty(), "{again:?}");
        // A changed bundle is rewritten; a bundle no longer produced is pruned.
        let next = synced_writes(
            &repo_after,
            "c2",
            vec![bundle("r-a", "a: 2\n")],
            &stored,
            "2026-01-01T00:00:30Z",
        )
        .unwrap();
        assert_eq!(puts(&next, BUNDLE).len(), 1);
        assert!(next.iter().any(
            |w| matches!(w, Write::Delete { kind, name, .. } if kind == BUNDLE && name == "r-b")
        ));
        assert_eq!(puts(&next, GIT_REPO)[0]["status"]["commit"], "c2");
    }

    #[test]
    fn a_failure_is_recorded_once() {
        let r = repo(json!({"repo": "x"}));
        let w = failed_writes(&r, true, "connection refused", "t1");
        let after = puts(&w, GIT_REPO)[0].clone();
        let c = &after["status"]["conditions"][0];
        assert_eq!(c["type"], "GitPolling");
        assert_eq!(c["status"], "False");
        assert_eq!(c["message"], "connection refused");
        assert!(failed_writes(&after, true, "connection refused", "t2").is_empty());
    }

    #[test]
    fn webhook_urls_match_clone_urls() {
        let a = normalize_repo_url("https://GitHub.com/owner/repo.git");
        assert_eq!(a, "github.com/owner/repo");
        assert_eq!(normalize_repo_url("git@github.com:owner/repo.git"), a);
        assert_eq!(normalize_repo_url("https://github.com/owner/repo/"), a);
        assert_ne!(normalize_repo_url("https://github.com/owner/other"), a);
    }
}
