//! Integration tests of fleet-kustomize.

mod build;
mod yaml_policy;
