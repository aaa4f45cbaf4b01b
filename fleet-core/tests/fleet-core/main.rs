//! Integration tests for fleet-core.

mod crds;
mod fleetyaml;
mod manifest;
mod merge;
mod names;
mod rollout;
mod selector;
mod semver;
mod state;
mod yaml;
