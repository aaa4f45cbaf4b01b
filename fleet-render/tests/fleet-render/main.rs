//! Integration tests of fleet-render.

mod diff;
mod envsubst;
mod kustomize;
mod postrender;
mod readiness;
mod render;
mod smp;
mod values;
mod yaml_policy;
mod yamlbundle;
