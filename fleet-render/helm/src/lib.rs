//! Helm charts rendered natively, the way Helm v4 treats them.
//!
//! This crate holds the parts of `helm template` that surround the template engine:
//! loading a chart from a directory or a packaged `.tgz` ([`chart`]), reading values
//! files and `--set` style overrides ([`strvals`]), merging user values over chart
//! defaults with Helm's null-deletion and `global` rules ([`coalesce`]), and ordering
//! rendered manifests the way Helm installs them ([`order`]).
//!
//! [`render`] runs the templates through `fleet-gotemplate` and returns the engine map.
//!
//! It is pure: no I/O beyond reading the chart that the caller points at.

pub mod chart;
pub mod coalesce;
pub mod crypto;
pub mod dependencies;
pub mod helm_funcs;
pub mod kube_version;
pub mod objects;
pub mod order;
pub mod render;
pub mod schema;
pub mod strvals;
pub mod toml;
pub mod values;
pub mod yaml_out;
