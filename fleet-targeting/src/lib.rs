//! Which cluster gets which bundle, with which options, in which rollout partition.
//!
//! This crate will hold Fleet-exact targeting (cluster matchers, cluster groups, target
//! restrictions, target customizations, bundle namespace mappings) over an interned label
//! index sized for 1,000,000 clusters, with incremental updates and the rollout partition
//! walk. It is pure and synchronous: no I/O, no async runtime.
//!
//! Not implemented yet: see the project's issue tracker and `SHORTCOMINGS.md`.
