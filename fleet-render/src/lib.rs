//! A bundle and a cluster to the objects to apply.
//!
//! This crate renders raw YAML bundles with Fleet overlays, builds kustomizations natively,
//! templates Helm values per cluster, substitutes variables, post-renders objects the way
//! Fleet's agent does, and computes the drift diff of desired against live objects. It is
//! pure: no I/O beyond what the caller hands in.
//!
//! The Fleet-facing entry point is [`render::Renderer::render`].

pub mod chart;
pub mod diff;
pub mod envsubst;
pub mod files;
pub mod kustomize;
pub mod normalize;
pub mod postrender;
pub mod readiness;
pub mod render;
pub mod schema;
pub mod smp;
pub mod values;
pub mod yamlbundle;
