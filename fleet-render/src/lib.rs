//! A bundle and a cluster to the objects to apply.
//!
//! This crate will render raw YAML bundles with Fleet overlays, build kustomizations
//! natively, template Helm values per cluster, substitute variables, and compute the drift
//! diff of desired against live objects. It is pure: no I/O beyond what the caller hands in.
//!
//! Not implemented yet: see the project's issue tracker and `SHORTCOMINGS.md`.

pub mod diff;
pub mod files;
pub mod kustomize;
pub mod normalize;
pub mod readiness;
pub mod schema;
pub mod smp;
