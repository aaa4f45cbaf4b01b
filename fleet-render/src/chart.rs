//! The hook through which a Helm chart renderer plugs into [`crate::render`].
//!
//! A bundle in Helm style (a `Chart.yaml` at the chart path), and a raw YAML bundle with files
//! under `templates/` (which Fleet renders as Helm templates), go through a [`ChartRenderer`].
//! This crate is pure and renders no chart itself: the default, [`NoChartRenderer`], refuses
//! with [`ChartError::NotSupported`]; `fleet-agent` plugs in the native Helm renderer of
//! `fleet-helm`.

use serde_json::Value;

use crate::files::Files;

/// What a chart renderer gets: the bundle's files, where the chart is, the release and the
/// per-cluster values (processed by targeting before the BundleDeployment was written).
#[derive(Debug, Clone, Copy)]
pub struct ChartRequest<'a> {
    /// The bundle's files.
    pub files: &'a Files,
    /// Directory of the chart inside `files` (`""` for the root). For a raw YAML bundle with
    /// `templates/`, the root, with those templates only.
    pub chart_dir: &'a str,
    /// Helm release name.
    pub release_name: &'a str,
    /// The BundleDeployment (or bundle) name: a raw YAML bundle's synthesised chart is named
    /// after it, as Fleet names it.
    pub bundle_name: &'a str,
    /// Release namespace (`namespace` ‖ `defaultNamespace` ‖ `default`).
    pub namespace: &'a str,
    /// The values (a mapping).
    pub values: &'a Value,
    /// `helm.skipSchemaValidation`: do not check the values against `values.schema.json`.
    pub skip_schema_validation: bool,
}

/// An error from a chart renderer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChartError {
    /// No chart renderer is available.
    #[error(
        "{what} needs a Helm chart renderer, and this renderer has none (chart directory {chart_dir:?})"
    )]
    NotSupported {
        /// What needed rendering.
        what: String,
        /// The chart directory.
        chart_dir: String,
    },
    /// The renderer failed.
    #[error("helm chart {chart_dir:?}: {message}")]
    Failed {
        /// The chart directory.
        chart_dir: String,
        /// The renderer's message.
        message: String,
    },
}

/// Renders a Helm chart to objects.
pub trait ChartRenderer: Send + Sync {
    /// Renders the chart of `request`, returning the objects in Helm's output order.
    fn render(&self, request: &ChartRequest<'_>) -> Result<Vec<Value>, ChartError>;
}

/// The chart renderer used when none is given: every chart is an error.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoChartRenderer;

impl ChartRenderer for NoChartRenderer {
    fn render(&self, request: &ChartRequest<'_>) -> Result<Vec<Value>, ChartError> {
        let what = if request.files.is_file(&chart_yaml_path(request.chart_dir)) {
            "a Helm chart bundle".to_string()
        } else {
            "Helm templates under templates/".to_string()
        };
        Err(ChartError::NotSupported {
            what,
            chart_dir: request.chart_dir.to_string(),
        })
    }
}

fn chart_yaml_path(dir: &str) -> String {
    if dir.is_empty() {
        "Chart.yaml".to_string()
    } else {
        format!("{dir}/Chart.yaml")
    }
}
