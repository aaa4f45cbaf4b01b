//! A bundle and a cluster to the objects to apply.
//!
//! This crate is the facade over the one-job rendering crates: it renders raw YAML bundles
//! with Fleet overlays ([`raw_yaml`]), detects a bundle's style, composes the native kustomize
//! build ([`fleet_kustomize`]), Helm charts ([`chart`]), Flux variable
//! substitution ([`fleet_envsubst`]) and Fleet's post-render ([`postrender`]). The drift diff
//! and readiness ([`fleet_drift`]) and strategic merge ([`fleet_smp`]) are re-exported under
//! their usual names. It is pure: no I/O beyond what the caller hands in.
//!
//! The Fleet-facing entry point is [`render::Renderer::render`]: here a kustomize bundle
//! rendered for one cluster, with Fleet's post-render putting the objects in the deployment
//! namespace:
//!
//! ```
//! use fleet_core::crd::BundleDeploymentOptions;
//! use fleet_render::files::Files;
//! use fleet_render::render::{ClusterFacts, RenderRequest, Renderer};
//!
//! let mut files = Files::new();
//! files.insert("kustomization.yaml", "namePrefix: prod-\nresources: [cm.yaml]\n").unwrap();
//! files
//!     .insert("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata: {a: b}\n")
//!     .unwrap();
//! let options: BundleDeploymentOptions =
//!     serde_json::from_value(serde_json::json!({"defaultNamespace": "shop"})).unwrap();
//! let cluster = ClusterFacts::named("c1", "fleet-default");
//! let request = RenderRequest::new("shop", &files, &options, &cluster);
//! let objects = Renderer::default().render(&request).unwrap();
//! assert_eq!(objects.len(), 1);
//! assert_eq!(objects[0]["metadata"]["name"], "prod-settings");
//! assert_eq!(objects[0]["metadata"]["namespace"], "shop");
//! ```

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
