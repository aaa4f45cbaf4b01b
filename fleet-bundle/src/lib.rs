//! A repository (directory or git commit) to Fleet Bundles, exactly as Fleet reads it.
//!
//! This crate will discover bundle directories (`paths`, `fleet.yaml`, driven scans), read
//! their files with Fleet's ignore and symlink rules, assemble targets and produce
//! `fleet.cattle.io/v1alpha1` Bundles.
//!
//! Not implemented yet: see the project's issue tracker and `SHORTCOMINGS.md`.
