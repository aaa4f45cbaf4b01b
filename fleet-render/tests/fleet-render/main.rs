//! Integration tests of fleet-render.

mod diff;
mod readiness;
mod kustomize;
mod smp;
mod yaml_policy;
