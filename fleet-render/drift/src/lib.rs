//! Fleet's view of live objects against a bundle: the drift diff (missing, extra and
//! modified objects) and the readiness summary, both in the status types of
//! [`fleet_core::crd`].
//!
//! ```
//! use fleet_drift::diff::{self, DiffOptions, rules::Rules, schema::BuiltinSchema};
//! use fleet_drift::readiness;
//! use serde_json::json;
//!
//! let hash = diff::set_hash(&diff::set_id("my-app", "default", ""));
//! let desired = vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "cm"}, "data": {"foo": "bar"}})];
//! let live = vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "cm", "namespace": "default", "labels": {diff::LABEL_HASH: hash}},
//!     "data": {"foo": "changed"}})];
//! let rules = Rules::default();
//! let report = diff::diff(&desired, &live, &DiffOptions::new(&BuiltinSchema, &hash, &rules)).unwrap();
//! assert_eq!(report.entries.len(), 1);
//! let summary = readiness::summarize(&report, &desired, &live, &[]);
//! assert_eq!(summary.modified, 1);
//! assert_eq!(summary.ready, 0);
//! ```

pub mod comparable;
pub mod diff;
pub mod readiness;
