//! The running manager: the store, the pure reconcile and GitRepo reading, and the HTTP server
//! and GitRepo poller around them.

pub mod gitops;
pub mod reconcile;
pub mod rollout;
pub mod server;
pub mod sources;
pub mod store;
pub mod tls;
