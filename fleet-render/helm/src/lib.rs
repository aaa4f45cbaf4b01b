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
//!
//! A chart built from inline files, user values coalesced over its defaults, and rendered as
//! `helm template demo` would:
//!
//! ```
//! use fleet_helm::chart::{self, File};
//! use fleet_helm::{coalesce, render};
//!
//! let file = |name: &str, text: &str| File { name: name.into(), data: text.as_bytes().to_vec() };
//! let chart = chart::from_files(
//!     vec![
//!         file("Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n"),
//!         file("values.yaml", "replicas: 1\nimage: nginx\n"),
//!         file(
//!             "templates/cm.yaml",
//!             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-web\ndata:\n  replicas: {{ .Values.replicas | quote }}\n  image: {{ .Values.image }}\n",
//!         ),
//!     ],
//!     "web",
//!     0,
//! )
//! .unwrap();
//! let values = coalesce::coalesce_values(&chart, &serde_json::json!({"replicas": 3}));
//! let release = render::Release {
//!     name: "demo".into(),
//!     namespace: "apps".into(),
//!     revision: 1,
//!     is_install: true,
//!     kube_version: "v1.31.0".into(),
//!     api_versions: vec![],
//! };
//! let rendered = render::render(&chart, &values, &release).unwrap();
//! assert_eq!(
//!     rendered["web/templates/cm.yaml"],
//!     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo-web\ndata:\n  replicas: \"3\"\n  image: nginx\n"
//! );
//! ```

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
