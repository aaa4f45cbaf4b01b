//! Integration tests of fleet-render.

mod envsubst;
mod kustomize;
mod postrender;
mod render;
mod diff;
mod readiness;
mod smp;
mod values;
mod yamlbundle;
mod yaml_policy;
