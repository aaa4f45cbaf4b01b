//! `fleet-manager serve` over TLS reading a GitRepo served by a real git HTTP server: Bundles
//! created from the first commit, updated by a commit announced with a signed webhook, pruned
//! when their directory disappears; fetch failures recorded in the GitRepo's status.

use std::path::Path;
use std::time::{Duration, Instant};

use fleet_test_tools::git_http::git;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};

fn serve_tls(data: &Path) -> crate::serve::Server {
    let server = crate::serve::start(data, &[]);
    assert!(server.base.starts_with("https://"), "{}", server.base);
    server
}

/// A client trusting the manager's generated CA.
fn client(data: &Path) -> ureq::Agent {
    let pem = std::fs::read(data.join("ca.crt")).expect("ca.crt");
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|i| match i {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(certs)))
                .build(),
        )
        .build()
        .new_agent()
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn configmap(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n"
    )
}

fn bundles(agent: &ureq::Agent, base: &str, token: &str) -> Vec<Value> {
    let mut r = agent
        .get(format!(
            "{base}/v1/admin/objects/bundles?namespace=fleet-default"
        ))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .expect("list bundles");
    let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    v["items"].as_array().cloned().unwrap_or_default()
}

fn gitrepo(agent: &ureq::Agent, base: &str, token: &str) -> Value {
    let mut r = agent
        .get(format!(
            "{base}/v1/admin/objects/gitrepos/fleet-default/repo"
        ))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .expect("get gitrepo");
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn names(list: &[Value]) -> Vec<String> {
    let mut n: Vec<String> = list
        .iter()
        .map(|b| {
            b["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    n.sort();
    n
}

fn signed_push(agent: &ureq::Agent, base: &str, secret: &str, url: &str, commit: &str) -> u16 {
    let body = json!({"ref": "refs/heads/master", "after": commit,
        "repository": {"clone_url": url}})
    .to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    agent
        .post(format!("{base}/v1/webhook"))
        .header("X-Hub-Signature-256", &sig)
        .header("Content-Type", "application/json")
        .send(body)
        .expect("webhook")
        .status()
        .as_u16()
}

#[test]
fn gitrepo_to_bundles_over_tls_with_webhooks_and_pruning() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "master"]);
    write(&work, "apps/one/cm.yaml", &configmap("one", "1"));
    write(&work, "apps/two/cm.yaml", &configmap("two", "1"));
    write(&work, "apps/one/fleet.yaml", "defaultNamespace: one\n");
    write(&work, "apps/two/fleet.yaml", "defaultNamespace: two\n");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "first"]);
    let first = git(&work, &["rev-parse", "HEAD"]);
    let server = fleet_test_tools::git_http::serve_repo(&work, tmp.path(), false);
    let served = tmp.path().join("served/repo.git");
    let url = format!("{}/repo.git", server.base);

    let data = tmp.path().join("data");
    let mgr = serve_tls(&data);
    let base = mgr.base.clone();
    let token = std::fs::read_to_string(data.join("admin-token"))
        .unwrap()
        .trim()
        .to_owned();
    let secret = std::fs::read_to_string(data.join("webhook-secret"))
        .unwrap()
        .trim()
        .to_owned();
    let agent = client(&data);

    // A plain-HTTP client cannot talk to the TLS port.
    let plain = base.replace("https://", "http://");
    assert!(
        ureq::get(format!("{plain}/healthz")).call().is_err(),
        "plain HTTP answered on the TLS port"
    );

    // ctl trusts the data directory's CA.
    let repo_yaml = format!(
        "apiVersion: fleet.cattle.io/v1alpha1\nkind: GitRepo\nmetadata:\n  name: repo\n  namespace: fleet-default\n  labels:\n    team: blue\nspec:\n  repo: {url}\n  pollingInterval: 1h\n  paths:\n  - apps\n  targets:\n  - clusterSelector:\n      matchLabels:\n        env: prod\n"
    );
    let file = tmp.path().join("gitrepo.yaml");
    std::fs::write(&file, repo_yaml).unwrap();
    let r = crate::fleet_manager(&[
        "ctl",
        "--server",
        &base,
        "--data",
        data.to_str().unwrap(),
        "apply",
        "-f",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    wait_for("the first commit's bundles", || {
        names(&bundles(&agent, &base, &token)) == ["repo-apps-one", "repo-apps-two"]
    });
    let b = bundles(&agent, &base, &token);
    let labels = &b[0]["metadata"]["labels"];
    assert_eq!(labels["fleet.cattle.io/repo-name"], "repo");
    assert_eq!(labels["fleet.cattle.io/commit"], first.as_str());
    assert_eq!(labels["team"], "blue");
    assert_eq!(
        b[0]["spec"]["targets"][0]["clusterSelector"]["matchLabels"]["env"],
        "prod"
    );
    assert_eq!(
        gitrepo(&agent, &base, &token)["status"]["commit"],
        first.as_str()
    );

    // A new commit: one bundle changed, one directory removed. The poll interval is an hour,
    // so only the webhook can make the manager see it.
    write(&work, "apps/one/cm.yaml", &configmap("one", "2"));
    std::fs::remove_dir_all(work.join("apps/two")).unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "second"]);
    let second = git(&work, &["rev-parse", "HEAD"]);
    git(&work, &["push", "-q", served.to_str().unwrap(), "master"]);

    assert_eq!(signed_push(&agent, &base, "wrong", &url, &second), 403);
    assert_eq!(signed_push(&agent, &base, &secret, &url, &second), 202);
    wait_for("the second commit", || {
        gitrepo(&agent, &base, &token)["status"]["commit"] == second.as_str()
    });
    let b = bundles(&agent, &base, &token);
    assert_eq!(names(&b), ["repo-apps-one"], "repo-apps-two not pruned");
    assert_eq!(
        b[0]["metadata"]["labels"]["fleet.cattle.io/commit"],
        second.as_str()
    );
    let status = gitrepo(&agent, &base, &token)["status"].clone();
    assert_eq!(status["webhookCommit"], second.as_str());
    assert!(status["lastWebhookTime"].is_string(), "{status}");

    // The repository goes away: the failure is in the status, the Bundles stay.
    drop(server);
    assert_eq!(signed_push(&agent, &base, &secret, &url, &second), 202);
    wait_for("the fetch failure", || {
        gitrepo(&agent, &base, &token)["status"]["conditions"]
            .as_array()
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "GitPolling" && c["status"] == "False")
            })
    });
    assert_eq!(names(&bundles(&agent, &base, &token)), ["repo-apps-one"]);
}
