//! Integration tests of fleet-render.

mod envsubst;
mod kustomize;
mod postrender;
mod render;
mod smp;
mod values;
mod yaml_policy;
mod yamlbundle;
