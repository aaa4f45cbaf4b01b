//! Integration tests for fleet-targeting: Fleet's vectors, a reference walker under proptest,
//! incremental deltas and explanations.

mod common;
mod explain;
mod incremental;
mod reference;
mod vectors_bundle_targets;
mod vectors_matcher;
mod vectors_rollout;
