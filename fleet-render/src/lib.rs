//! A bundle and a cluster to the objects to apply.
//!
//! This crate is the facade over the one-job rendering crates: it renders raw YAML bundles
//! with Fleet overlays ([`raw_yaml`]), detects a bundle's style, composes the native kustomize
//! build ([`fleet_kustomize`]), Helm charts ([`chart`]), Flux variable
//! substitution ([`fleet_envsubst`]) and Fleet's post-render ([`postrender`]). The drift diff
//! and readiness ([`fleet_drift`]) and strategic merge ([`fleet_smp`]) are re-exported under
//! their usual names. It is pure: no I/O beyond what the caller hands in.
//!
//! The Fleet-facing entry point is [`render::Renderer::render`].

pub mod chart;
pub mod postrender;
pub mod raw_yaml;
pub mod render;

pub use fleet_drift::{comparable, diff, readiness};
pub use fleet_envsubst as envsubst;
pub use fleet_kustomize as kustomize;
pub use fleet_kustomize::files;
pub use fleet_smp as smp;
pub use fleet_smp::schema;
