//! A Kubernetes API server for tests: an in-memory object store with the API server's
//! semantics behind its REST paths, for `kubectl` and kube-rs clients.
//!
//! [`store`] is the core (plain Rust, no I/O); [`http`] serves it over plain HTTP on a
//! loopback port. What is and is not emulated is listed in `docs/kube-test-server.md`.
//!
//! ```no_run
//! let server = fleet_test_tools::kube_server::KubeServer::start().unwrap();
//! let dir = std::env::temp_dir().join("kubeconfig-example");
//! server.write_kubeconfig(&dir).unwrap();
//! println!("serving at {}", server.url());
//! ```

pub mod error;
pub mod fields;
pub mod http;
pub mod resources;
pub mod select;
pub mod store;
pub mod time;

pub use error::Error;
pub use http::{Fault, FaultKind, KubeServer, Options, kubeconfig_for};
pub use store::Store;
