//! Integration tests of fleet-render.

mod kustomize;
mod smp;
mod yaml_policy;
