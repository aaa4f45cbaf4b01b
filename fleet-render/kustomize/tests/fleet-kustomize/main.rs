//! Integration tests of fleet-kustomize.

mod build;
mod parity;
mod yaml_policy;
