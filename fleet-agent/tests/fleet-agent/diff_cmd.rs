//! `fleet-agent diff` on committed fixtures: output, exit status, comparePatches, previous
//! revision, summary and errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fleet-agent/fixtures/diff")
        .join(name)
}

fn diff(live: &str, extra: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleet-agent"));
    cmd.arg("diff")
        .arg("--desired")
        .arg(fixture("desired.yaml"))
        .arg("--live")
        .arg(fixture(live))
        .args([
            "--bundle-deployment",
            "sample",
            "--default-namespace",
            "apps",
        ])
        .args(extra);
    cmd.output().expect("run fleet-agent")
}

fn golden(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).expect("golden")
}

#[test]
fn in_sync_exits_zero_and_prints_an_empty_list() {
    let out = diff("live-in-sync.yaml", &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[]\n");
    assert!(out.stderr.is_empty());
}

#[test]
fn in_sync_with_summary() {
    let out = diff("live-in-sync.yaml", &["--summary"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        golden("expected-in-sync-summary.yaml")
    );
}

#[test]
fn drift_exits_one_with_entries_and_fleet_strings() {
    let out = diff("live-drift.yaml", &["--summary"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        golden("expected-drift-summary.yaml")
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(lines[0].starts_with(
        r#"deployment.apps apps/web modified {"spec":{"template":{"spec":{"containers":[{"image":"nginx:1.27""#
    ));
    assert_eq!(lines[1], "configmap.v1 apps/app-config missing");
    assert_eq!(lines[2], "configmap.v1 apps/old-config extra");
}

#[test]
fn compare_patches_and_previous_revision() {
    let patches = fixture("patches.yaml");
    let previous = fixture("previous.yaml");
    let out = diff(
        "live-drift.yaml",
        &[
            "--compare-patches",
            patches.to_str().expect("utf-8"),
            "--previous",
            previous.to_str().expect("utf-8"),
        ],
    );
    // The image is ignored, the missing ConfigMap is suppressed by `op: ignore`, and the extra
    // one was not part of the previous revision: nothing is left.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[]\n");
}

#[test]
fn wrong_bundle_deployment_sees_everything_missing() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleet-agent"));
    let out = cmd
        .arg("diff")
        .arg("--desired")
        .arg(fixture("desired.yaml"))
        .arg("--live")
        .arg(fixture("live-in-sync.yaml"))
        .args(["--bundle-deployment", "other"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("deployment.apps default/web missing"),
        "{stderr}"
    );
}

#[test]
fn errors_exit_two_with_a_reason() {
    let out = diff("does-not-exist.yaml", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does-not-exist.yaml"));

    let out = diff("bad-object.yaml", &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("live object #0"), "{stderr}");

    let out = diff(
        "live-in-sync.yaml",
        &[
            "--compare-patches",
            fixture("bad-object.yaml").to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));

    let out = Command::new(env!("CARGO_BIN_EXE_fleet-agent"))
        .args(["diff", "--live", "x"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
