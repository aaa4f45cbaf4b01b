//! The Fleet data model every fleet-rs crate shares.
//!
//! Wire-compatible `fleet.cattle.io/v1alpha1` types, the fleet.yaml model, label selectors,
//! Fleet's naming functions, manifest and deployment IDs, option merging, bundle states and
//! rollout arithmetic. Pure: no I/O, no async runtime.
//!
//! A bundle directory's `fleet.yaml` read as Fleet reads it, one of its target customizations
//! matched against a cluster's labels, and the Helm release name Fleet gives the bundle:
//!
//! ```
//! use std::collections::BTreeMap;
//! use fleet_core::{fleetyaml, names};
//!
//! let text = "defaultNamespace: shop\nhelm:\n  values: {replicas: 1}\ntargetCustomizations:\n- name: prod\n  clusterSelector:\n    matchLabels: {env: prod}\n  helm:\n    values: {replicas: 3}\n";
//! let fleet = fleetyaml::parse("shop/fleet.yaml", text).unwrap();
//! assert_eq!(fleet.spec.options.default_namespace, "shop");
//!
//! let prod = &fleet.target_customizations[0];
//! let selector = prod.cluster_selector.as_ref().unwrap().to_selector().unwrap();
//! let labels = |env: &str| BTreeMap::from([("env".to_string(), env.to_string())]);
//! assert!(selector.matches(&labels("prod")));
//! assert!(!selector.matches(&labels("dev")));
//!
//! assert_eq!(names::helm_release_name("my-repo/shop"), "my-repo-shop");
//! ```

pub mod crd;
pub mod fleetyaml;
pub mod gojson;
pub mod gostr;
pub mod manifest;
pub mod merge;
pub mod meta;
pub mod names;
pub mod path;
pub mod rollout;
pub mod selector;
pub mod semver;
pub mod state;
pub mod substitute;
pub mod yaml;
