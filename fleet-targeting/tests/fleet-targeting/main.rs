//! Integration tests for fleet-targeting: Fleet's vectors, a reference walker under proptest,
//! incremental deltas and explanations, Helm value processing, BundleDeployments.

mod common;
mod deployment;
mod explain;
mod incremental;
mod reference;
mod values;
mod vectors_bundle_targets;
mod vectors_matcher;
mod vectors_rollout;
