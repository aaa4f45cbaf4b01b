//! The running manager: the store, the pure reconcile, and the HTTP server around them.

pub mod reconcile;
pub mod server;
pub mod store;
