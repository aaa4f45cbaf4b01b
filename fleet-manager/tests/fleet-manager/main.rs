//! Integration tests for the fleet-manager binary: the built binary run on fixture files.

mod apply;
mod gitops;
// The smart-HTTP git test server of fleet-bundle's tests, shared rather than copied.
use fleet_test_tools::git_http;
mod rollout;
mod serve;
mod serve_rollout;
mod target;

use std::process::Command;

/// Output of one run.
pub struct Run {
    /// Exit status code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs the built `fleet-manager` with these arguments.
pub fn fleet_manager(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_fleet-manager"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run fleet-manager");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A fixture path relative to the crate, as a string argument.
pub fn fixture(rel: &str) -> String {
    format!("tests/fleet-manager/fixtures/{rel}")
}

/// `../shared/corpus/fleet-cli-assets/<rel>` if the shared tree is present.
pub fn corpus(rel: &str) -> Option<String> {
    let p = fleet_test_tools::shared::path("corpus/fleet-cli-assets")?.join(rel);
    Some(p.to_string_lossy().into_owned())
}

/// Parses multi-document YAML output.
pub fn docs(text: &str) -> Vec<serde_json::Value> {
    fleet_core::yaml::documents(text)
        .expect("output is YAML")
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}
