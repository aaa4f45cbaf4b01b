//! Reading bundles from git commits: fixture repositories made with the `git` CLI at run time,
//! fetched through `file://` with gix (shallow), read from tree objects.

use std::path::Path;
use std::process::Command;

use fleet_bundle::chart::Offline;
use fleet_bundle::{Scan, read_repo};

use crate::common::{options, resource_names};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn have_git() -> bool {
    let ok = Command::new("git").arg("--version").output().is_ok();
    if !ok {
        eprintln!("skipping: git CLI not found");
    }
    ok
}

#[test]
fn bundles_from_commit_trees() {
    if !have_git() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = tmp.path().join("src");
    std::fs::create_dir_all(repo.join("app/overlays")).expect("mkdir");
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("app/fleet.yaml"), "namespace: one\n").expect("w");
    std::fs::write(repo.join("app/cm.yaml"), "kind: ConfigMap\n").expect("w");
    std::os::unix::fs::symlink("cm.yaml", repo.join("app/link.yaml")).expect("ln");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    let first = git(&repo, &["rev-parse", "HEAD"]);
    std::fs::write(repo.join("app/fleet.yaml"), "namespace: two\n").expect("w");
    git(&repo, &["commit", "-q", "-am", "two"]);
    let second = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["branch", "old", &first]);
    // Uncommitted changes are not part of any commit tree.
    std::fs::write(repo.join("app/dirty.yaml"), "x: 1\n").expect("w");

    let url = format!("file://{}", repo.display());
    let co = fleet_bundle::git::fetch(&url, Some("main"), None).expect("fetch main");
    assert_eq!(co.commit, second);
    let tree = co.tree().expect("tree");
    let opts = options("repo", &Offline);
    let b = read_repo(&tree, &Scan::Classic(vec![".".into()]), &opts).expect("read");
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].bundle["spec"]["namespace"], "two");
    assert_eq!(resource_names(&b[0].bundle), ["cm.yaml", "link.yaml"]);
    assert_eq!(
        b[0].bundle["spec"]["resources"][1]["content"],
        "kind: ConfigMap\n"
    );

    let co = fleet_bundle::git::fetch(&url, Some("old"), None).expect("fetch old");
    assert_eq!(co.commit, first);
    let b = read_repo(
        &co.tree().expect("tree"),
        &Scan::Classic(vec!["app".into()]),
        &opts,
    )
    .expect("read");
    assert_eq!(b[0].bundle["spec"]["namespace"], "one");

    // A revision by commit id; the same (commit, path) gives the same bundle.
    let co = fleet_bundle::git::fetch(&url, None, Some(&first)).expect("fetch rev");
    assert_eq!(co.commit, first);
    let again = read_repo(
        &co.tree().expect("tree"),
        &Scan::Classic(vec!["app".into()]),
        &opts,
    )
    .expect("read");
    assert_eq!(again[0].bundle, b[0].bundle);

    let e = fleet_bundle::git::fetch(&url, Some("nope"), None).expect_err("no branch");
    assert!(e.to_string().contains(&url), "{e}");
    let e =
        fleet_bundle::git::fetch("https://example.invalid/r.git", None, None).expect_err("https");
    assert!(e.to_string().contains("https://"), "{e}");
}
