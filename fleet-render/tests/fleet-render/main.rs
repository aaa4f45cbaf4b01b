//! Integration tests of fleet-render.

mod envsubst;
mod postrender;
mod render;
mod kustomize;
mod smp;
mod values;
mod yamlbundle;
