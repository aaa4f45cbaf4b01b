//! The Fleet data model every fleet-rs crate shares.
//!
//! Wire-compatible `fleet.cattle.io/v1alpha1` types, the fleet.yaml model, label selectors,
//! Fleet's naming functions, manifest and deployment IDs, option merging, bundle states and
//! rollout arithmetic. Pure: no I/O, no async runtime.

pub mod crd;
pub mod fleetyaml;
pub mod gojson;
pub mod gostr;
pub mod manifest;
pub mod merge;
pub mod meta;
pub mod names;
pub mod path;
pub mod rollout;
pub mod selector;
pub mod semver;
pub mod state;
pub mod substitute;
pub mod yaml;
