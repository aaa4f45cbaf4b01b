//! Integration tests of fleet-bundle.

mod common;
mod corpus;
mod errors;
mod fleetignore;
#[cfg(feature = "git")]
mod git;
#[cfg(feature = "git")]
use fleet_test_tools::git_http;
mod goldens;
#[cfg(feature = "http")]
mod http;
