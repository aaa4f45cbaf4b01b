//! Integration tests of fleet-render.

mod diff;
mod kustomize;
mod readiness;
mod smp;
mod yaml_policy;
