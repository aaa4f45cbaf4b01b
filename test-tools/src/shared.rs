//! Locating `../shared` (the Fleet specification, corpora and vectors beside the repository).
//!
//! A user's clone usually has no `../shared`: tests that need it skip with a printed reason.
//! CI sets `FLEET_REQUIRE_SHARED=1`, and then a missing directory fails the test instead of
//! letting it pass vacuously.

use std::path::{Path, PathBuf};

/// The environment variable that turns a missing `../shared` into a failure.
pub const REQUIRE_VAR: &str = "FLEET_REQUIRE_SHARED";

/// The workspace root (the directory holding the workspace `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    // This crate lives one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test-tools has a parent directory")
        .to_path_buf()
}

/// Whether a missing `../shared` must fail (`FLEET_REQUIRE_SHARED=1`).
pub fn required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `../shared/<rel>` when it exists.
///
/// When it does not exist: panics if [`required`], otherwise prints why the caller skips and
/// returns `None`.
pub fn path(rel: &str) -> Option<PathBuf> {
    let base = workspace_root().join("..").join("shared");
    let full = if rel.is_empty() { base } else { base.join(rel) };
    if full.exists() {
        return Some(full);
    }
    if required() {
        panic!("{REQUIRE_VAR} is set but {} does not exist", full.display());
    }
    eprintln!(
        "skipped: {} is not there (set {REQUIRE_VAR}=1 to make this a failure)",
        full.display()
    );
    None
}

/// `../shared` itself; see [`path`].
pub fn dir() -> Option<PathBuf> {
    path("")
}
