//! The fleet-rs test kit, shared by every crate's tests (`publish = false`).
//!
//! Each module is one tool; none of them is used by a library at run time.

#[cfg(feature = "git-http")]
pub mod git_http;
#[cfg(feature = "kube-server")]
pub mod kube_server;
pub mod shared;
