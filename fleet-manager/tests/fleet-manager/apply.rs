//! `fleet-manager apply`: exit status, YAML output, errors with nothing on stdout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn apply(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleet-manager"))
        .arg("apply")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run fleet-manager")
}

fn docs(out: &Output) -> Vec<Value> {
    let text = String::from_utf8(out.stdout.clone()).expect("utf8");
    fleet_core::yaml::documents(&text).expect("yaml")
}

#[test]
fn quickstart_repository() {
    let out = apply(
        &root().join("examples/repo"),
        &[
            "--commit",
            "abc123",
            "-n",
            "fleet-default",
            "-l",
            "team=web",
            "quickstart",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = docs(&out);
    let names: Vec<&str> = docs
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        [
            "quickstart-helm",
            "quickstart-kustomize",
            "quickstart-manifests"
        ]
    );
    for d in &docs {
        assert_eq!(d["apiVersion"], "fleet.cattle.io/v1alpha1");
        assert_eq!(d["kind"], "Bundle");
        assert_eq!(d["metadata"]["namespace"], "fleet-default");
        assert_eq!(d["metadata"]["labels"]["fleet.cattle.io/commit"], "abc123");
        assert_eq!(d["metadata"]["labels"]["team"], "web");
    }
    let helm = &docs[0]["spec"];
    assert_eq!(helm["helm"]["values"]["replicas"], 2);
    assert_eq!(helm["helm"]["values"]["greeting"], "hello");
    assert_eq!(helm["targets"][0]["name"], "eu");
    let names: Vec<&str> = helm["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        [
            "chart/Chart.yaml",
            "chart/templates/configmap.yaml",
            "chart/values.yaml"
        ]
    );
    assert_eq!(docs[2]["metadata"]["labels"]["app"], "web");
}

#[test]
fn targets_file_and_output_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out_file = tmp.path().join("bundles.yaml");
    let targets = root().join("fixtures/apply/targets.yaml");
    let out = apply(
        &root().join("examples/repo"),
        &[
            "--commit",
            "c",
            "--targets-file",
            targets.to_str().expect("path"),
            "-o",
            out_file.to_str().expect("path"),
            "quickstart",
            "manifests",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&out_file).expect("output");
    let docs = fleet_core::yaml::documents(&text).expect("yaml");
    assert_eq!(docs.len(), 1);
    let spec = &docs[0]["spec"];
    // Customization first, then the GitRepo target; the restriction is the GitRepo target.
    let names: Vec<&str> = spec["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["prod", "prod"]);
    assert_eq!(spec["targets"][0]["yaml"]["overlays"][0], "prod");
    assert_eq!(spec["targetRestrictions"].as_array().map(Vec::len), Some(1));
}

#[test]
fn errors_name_the_file_and_print_nothing() {
    for (dir, needle) in [
        ("bad-yaml", "app/fleet.yaml"),
        ("bad-selector", "targetCustomizations[0].clusterSelector"),
    ] {
        let out = apply(
            &root().join("fixtures/apply").join(dir),
            &["--commit", "c", "r", "app"],
        );
        assert!(!out.status.success(), "{dir}");
        assert!(out.stdout.is_empty(), "{dir}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{dir}: {err}");
    }
    // A path escaping the repository.
    let out = apply(
        &root().join("examples/repo"),
        &["--commit", "c", "r", "../../x"],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("escapes the repository root"));
    // No bundle at all.
    let tmp = tempfile::tempdir().expect("tmp");
    let out = apply(tmp.path(), &["--commit", "c", "r"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no resource found"));
    // Bad label syntax.
    let out = apply(&root().join("examples/repo"), &["-l", "novalue", "r"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("KEY=VALUE"));
}

/// A repository with `app/cm.yaml` committed on `main`; returns its commit id, or `None`
/// without the git CLI.
fn git_fixture(repo: &Path) -> Option<String> {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("skipping: git CLI not found");
        return None;
    }
    std::fs::create_dir_all(repo.join("app")).expect("mkdir");
    std::fs::write(repo.join("app/cm.yaml"), "kind: ConfigMap\n").expect("w");
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(repo)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "one"]);
    Some(git(&["rev-parse", "HEAD"]))
}

fn check_git_apply(cwd: &Path, url: &str, sha: &str, extra: &[&str]) {
    let mut args = vec!["--repo", url, "--branch", "main"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["myrepo", "app"]);
    let out = apply(cwd, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = docs(&out);
    assert_eq!(docs[0]["metadata"]["name"], "myrepo-app");
    assert_eq!(docs[0]["metadata"]["labels"]["fleet.cattle.io/commit"], sha);
    assert_eq!(
        docs[0]["metadata"]["labels"]["fleet.cattle.io/repo-name"],
        "myrepo"
    );
}

#[test]
fn from_a_git_repository() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = tmp.path().join("src");
    let Some(sha) = git_fixture(&repo) else {
        return;
    };
    let url = format!("file://{}", repo.display());
    check_git_apply(tmp.path(), &url, &sha, &[]);
}

#[test]
fn from_a_git_repository_over_http() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = tmp.path().join("src");
    let Some(sha) = git_fixture(&repo) else {
        return;
    };
    let server = crate::git_http::serve_repo(&repo, tmp.path(), false);
    let url = format!("{}/repo.git", server.base);
    check_git_apply(tmp.path(), &url, &sha, &[]);

    // A repository the server does not have: a non-zero exit, the URL on stderr, no YAML.
    let missing = format!("{}/missing.git", server.base);
    let out = apply(
        tmp.path(),
        &["--repo", &missing, "--branch", "main", "myrepo", "app"],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&missing));
}

#[test]
fn from_a_git_repository_over_https_with_a_ca_bundle() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = tmp.path().join("src");
    let Some(sha) = git_fixture(&repo) else {
        return;
    };
    let server = crate::git_http::serve_repo(&repo, tmp.path(), true);
    let url = format!("{}/repo.git", server.base);
    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, crate::git_http::TEST_CA_PEM).expect("write CA");
    let ca = ca.to_str().expect("utf-8 path");
    check_git_apply(tmp.path(), &url, &sha, &["--ca-bundle", ca]);

    // Without the CA the server's certificate is refused: exit non-zero, nothing printed.
    let out = apply(
        tmp.path(),
        &["--repo", &url, "--branch", "main", "myrepo", "app"],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(stderr.contains("certificate"), "{stderr}");

    // A CA bundle that cannot be read names the file.
    let out = apply(
        tmp.path(),
        &[
            "--repo",
            &url,
            "--ca-bundle",
            "no-such.pem",
            "--branch",
            "main",
            "myrepo",
            "app",
        ],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such.pem"));
}
