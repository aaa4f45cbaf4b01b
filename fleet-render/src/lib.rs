//! A bundle and a cluster to the objects to apply.
//!
//! This crate renders raw YAML bundles with Fleet overlays, templates Helm values per
//! cluster, substitutes variables, and post-renders objects the way Fleet's agent does. It is
//! pure: no I/O beyond what the caller hands in.

pub mod envsubst;
