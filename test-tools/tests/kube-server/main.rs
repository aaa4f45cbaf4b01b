//! The test API server against real clients: the `kubectl` binary and kube-rs.

mod binary;
mod client;
mod http;
mod kubectl;
