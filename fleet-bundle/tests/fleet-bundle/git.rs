//! Reading bundles from git commits: fixture repositories made with the `git` CLI at run time,
//! fetched through `file://` and through `http://` (git's smart HTTP protocol, served by
//! `git http-backend` behind a test server on 127.0.0.1) with gix (shallow), read from tree
//! objects.

use std::path::Path;
use std::process::Command;

use fleet_bundle::chart::Offline;
use fleet_bundle::git::FetchOptions;
use fleet_bundle::{Scan, read_repo};

use crate::common::{as_json, options, resource_names};
use crate::git_http::{TEST_CA_PEM, free_port, git, serve_repo};

fn have_git() -> bool {
    let ok = Command::new("git").arg("--version").output().is_ok();
    if !ok {
        eprintln!("skipping: git CLI not found");
    }
    ok
}

/// A repository with two commits on `main` ("one", then "two"), a branch `old` at the first,
/// a symlink, and an uncommitted file. Returns (first, second) commit ids.
fn fixture(repo: &Path) -> (String, String) {
    std::fs::create_dir_all(repo.join("app/overlays")).expect("mkdir");
    git(repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("app/fleet.yaml"), "namespace: one\n").expect("w");
    std::fs::write(repo.join("app/cm.yaml"), "kind: ConfigMap\n").expect("w");
    std::os::unix::fs::symlink("cm.yaml", repo.join("app/link.yaml")).expect("ln");
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "one"]);
    let first = git(repo, &["rev-parse", "HEAD"]);
    std::fs::write(repo.join("app/fleet.yaml"), "namespace: two\n").expect("w");
    git(repo, &["commit", "-q", "-am", "two"]);
    let second = git(repo, &["rev-parse", "HEAD"]);
    git(repo, &["branch", "old", &first]);
    // Uncommitted changes are not part of any commit tree.
    std::fs::write(repo.join("app/dirty.yaml"), "x: 1\n").expect("w");
    (first, second)
}

/// Fetches `main`, `old` and the first commit by id from `url` and checks the bundles read.
fn check_fetches(url: &str, first: &str, second: &str, how: &FetchOptions) {
    let fetch = |branch: Option<&str>, revision: Option<&str>| {
        fleet_bundle::git::fetch_with(url, branch, revision, how)
    };
    let co = fetch(Some("main"), None).expect("fetch main");
    assert_eq!(co.commit, second);
    let tree = co.tree().expect("tree");
    let opts = options("repo", &Offline);
    let b = read_repo(&tree, &Scan::Classic(vec![".".into()]), &opts).expect("read");
    assert_eq!(b.len(), 1);
    assert_eq!(as_json(&b[0].bundle)["spec"]["namespace"], "two");
    assert_eq!(
        resource_names(&as_json(&b[0].bundle)),
        ["cm.yaml", "link.yaml"]
    );
    assert_eq!(
        as_json(&b[0].bundle)["spec"]["resources"][1]["content"],
        "kind: ConfigMap\n"
    );

    let co = fetch(Some("old"), None).expect("fetch old");
    assert_eq!(co.commit, first);
    let b = read_repo(
        &co.tree().expect("tree"),
        &Scan::Classic(vec!["app".into()]),
        &opts,
    )
    .expect("read");
    assert_eq!(as_json(&b[0].bundle)["spec"]["namespace"], "one");

    // A revision by commit id; the same (commit, path) gives the same bundle.
    let co = fetch(None, Some(first)).expect("fetch rev");
    assert_eq!(co.commit, first);
    let again = read_repo(
        &co.tree().expect("tree"),
        &Scan::Classic(vec!["app".into()]),
        &opts,
    )
    .expect("read");
    assert_eq!(again[0].bundle, b[0].bundle);

    let e = fetch(Some("nope"), None).expect_err("no branch");
    assert!(e.to_string().contains(url), "{e}");
}

#[test]
fn bundles_from_commit_trees() {
    if !have_git() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = tmp.path().join("src");
    let (first, second) = fixture(&repo);

    let url = format!("file://{}", repo.display());
    check_fetches(&url, &first, &second, &FetchOptions::default());

    let e = fleet_bundle::git::fetch("svn://example.invalid/r", None, None).expect_err("svn");
    assert!(
        matches!(e, fleet_bundle::git::Error::UnsupportedTransport(_)),
        "{e}"
    );
    assert!(e.to_string().contains("svn://example.invalid/r"), "{e}");
}

#[test]
fn bundles_over_smart_http() {
    if !have_git() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (first, second) = fixture(&tmp.path().join("src"));
    let server = serve_repo(&tmp.path().join("src"), tmp.path(), false);

    let url = format!("{}/repo.git", server.base);
    check_fetches(&url, &first, &second, &FetchOptions::default());

    // Smart HTTP, protocol v2, shallow: the client asked upload-pack for depth 1.
    let seen = server.requests();
    assert!(
        seen.iter()
            .any(|r| r.request_line == "GET /repo.git/info/refs?service=git-upload-pack HTTP/1.1"),
        "{seen:#?}"
    );
    let posts: Vec<_> = seen
        .iter()
        .filter(|r| r.request_line == "POST /repo.git/git-upload-pack HTTP/1.1")
        .collect();
    assert!(!posts.is_empty(), "{seen:#?}");
    assert!(
        posts.iter().all(|r| r
            .headers
            .iter()
            .any(|(n, v)| n == "git-protocol" && v == "version=2")),
        "{posts:#?}"
    );
    assert!(
        posts
            .iter()
            .any(|r| r.body.windows(8).any(|w| w == b"deepen 1")),
        "no shallow fetch seen"
    );

    // A repository the server does not have: an error naming the URL, not a panic.
    let missing = format!("{}/missing.git", server.base);
    let e = fleet_bundle::git::fetch(&missing, Some("main"), None).expect_err("404");
    assert!(e.to_string().contains(&missing), "{e}");
    assert!(e.to_string().contains("404"), "{e}");

    // https:// to a plain-HTTP server: the rustls client (ring provider) is built and the
    // handshake fails with an error, no panic about a missing crypto provider.
    let https = format!(
        "{}/repo.git",
        server.base.replacen("http://", "https://", 1)
    );
    let e = fleet_bundle::git::fetch(&https, Some("main"), None).expect_err("not TLS");
    assert!(e.to_string().contains(&https), "{e}");
    assert!(e.to_string().contains("tls"), "{e}");
}

#[test]
fn bundles_over_https_with_a_ca_bundle() {
    if !have_git() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (first, second) = fixture(&tmp.path().join("src"));
    let server = serve_repo(&tmp.path().join("src"), tmp.path(), true);
    assert!(server.base.starts_with("https://127.0.0.1:"));
    let url = format!("{}/repo.git", server.base);

    // Trusting the test CA (a GitRepo's caBundle): branch, old branch and revision fetch,
    // through TLS, with the same bundles as over file:// and http://.
    let trusted = FetchOptions {
        ca_bundle: Some(TEST_CA_PEM.to_vec()),
    };
    check_fetches(&url, &first, &second, &trusted);
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.request_line == "POST /repo.git/git-upload-pack HTTP/1.1"),
        "the fetch went through the TLS server"
    );

    // Without it the certificate is not trusted: an error naming the URL, nothing fetched.
    let e = fleet_bundle::git::fetch(&url, Some("main"), None).expect_err("untrusted");
    assert!(e.to_string().contains(&url), "{e}");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");

    // A caBundle without certificates is a TLS configuration error naming the URL.
    let bad = FetchOptions {
        ca_bundle: Some(b"not a certificate".to_vec()),
    };
    let e = fleet_bundle::git::fetch_with(&url, Some("main"), None, &bad).expect_err("bad CA");
    assert!(matches!(e, fleet_bundle::git::Error::Tls { .. }), "{e}");
    assert!(e.to_string().contains("caBundle"), "{e}");
}

#[test]
fn unreachable_http_remote_is_a_typed_error() {
    let url = format!("http://127.0.0.1:{}/repo.git", free_port());
    let e = fleet_bundle::git::fetch(&url, Some("main"), None).expect_err("nothing listens");
    assert!(matches!(e, fleet_bundle::git::Error::Gix { .. }), "{e}");
    assert!(e.to_string().contains(&url), "{e}");
    assert!(e.to_string().contains("refused"), "{e}");
}

/// The test server itself: a chunked request body (as git clients send for large POSTs)
/// reaches `git http-backend` whole. gix sends sized bodies for these small fetches, so the
/// fetch tests above do not cover this path.
#[test]
fn test_server_accepts_chunked_bodies() {
    use std::io::{Read, Write};
    if !have_git() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    fixture(&tmp.path().join("src"));
    let server = serve_repo(&tmp.path().join("src"), tmp.path(), false);
    let addr = server.base.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).expect("connect");
    // Protocol v2 ls-refs: "command=ls-refs\n", a delimiter and a flush packet, in two chunks.
    let body = b"0014command=ls-refs\n00010000";
    let (a, b) = body.split_at(10);
    let mut req = format!(
        "POST /repo.git/git-upload-pack HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/x-git-upload-pack-request\r\nGit-Protocol: version=2\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for chunk in [a, b] {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    conn.write_all(&req).expect("write");
    let mut response = Vec::new();
    conn.read_to_end(&mut response).expect("read");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("refs/heads/main"), "{response}");
    assert_eq!(server.requests()[0].body, body);
}
