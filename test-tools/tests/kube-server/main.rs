//! The test API server against real clients: the `kubectl` binary and kube-rs.

mod client;
mod kubectl;
