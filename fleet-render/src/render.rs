//! The Fleet-facing entry: a bundle's files, the options merged for one cluster, and the
//! cluster's facts to the objects that cluster receives.
//!
//! ```
//! use fleet_render::files::Files;
//! use fleet_core::crd::BundleDeploymentOptions;
//! use fleet_render::render::{ClusterFacts, RenderRequest, Renderer};
//!
//! let mut files = Files::new();
//! files
//!     .insert("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n")
//!     .unwrap();
//! let options: BundleDeploymentOptions =
//!     serde_json::from_value(serde_json::json!({"defaultNamespace": "apps"})).unwrap();
//! let cluster = ClusterFacts::named("c1", "fleet-default");
//! let objects = Renderer::default()
//!     .render(&RenderRequest::new("my-bundle", &files, &options, &cluster))
//!     .unwrap();
//! assert_eq!(objects[0]["metadata"]["namespace"], "apps");
//! ```
//!
//! The style is Fleet's (`internal/bundlereader/style.go`): **Helm** when the chart's
//! `Chart.yaml` is among the files, **kustomize** when `<kustomize.dir>/kustomization.yaml` is,
//! **raw YAML** otherwise. Raw YAML applies the `yaml.overlays` ([`crate::raw_yaml`]);
//! kustomize builds `kustomize.dir` natively ([`crate::kustomize`]; overlays are ignored, as
//! in Fleet); Helm goes through the
//! [`ChartRenderer`] with the values as the options carry them: Fleet's per-cluster value
//! processing (`${ }` templating, label substitution, `templateValues`) is a targeting step
//! (`fleet_targeting::values`) that has already run when a BundleDeployment reaches the agent,
//! so rendering never templates values again. Then the optional variable substitution
//! ([`crate::envsubst`], the fleet.yaml `substitute` extension) and the post-render step
//! ([`crate::postrender`]).

use std::collections::BTreeMap;

use fleet_core::crd::BundleDeploymentOptions;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Digest as _;

use crate::chart::{ChartError, ChartRenderer, ChartRequest, NoChartRenderer};
use crate::envsubst::{self, Substitution};
use crate::files::Files;
use crate::postrender::{self, PostRenderOptions};
use crate::raw_yaml;

/// The fleet.yaml `substitute` extension: Flux-style `${var}` substitution in the rendered
/// objects, carried to the agent as a BundleDeployment annotation ([`fleet_core::substitute`]).
///
/// Variables, later wins: `variables`, then `FLEET_CLUSTER_NAME` and
/// `FLEET_CLUSTER_NAMESPACE`, then every cluster label whose key is a valid variable name, then
/// every top-level scalar of the cluster's `templateValues` (strings as they are, numbers and
/// booleans as JSON text). Substitution runs whenever `enabled` is true, so `${x:=default}`
/// expands even with no variable.
pub use fleet_core::substitute::SubstituteOptions;

/// What rendering knows about the cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterFacts {
    /// Name of the Cluster object.
    pub name: String,
    /// Namespace of the Cluster object.
    pub namespace: String,
    /// Cluster labels.
    pub labels: BTreeMap<String, String>,
    /// Cluster annotations.
    pub annotations: BTreeMap<String, String>,
    /// `spec.templateValues` of the Cluster.
    pub template_values: Map<String, Value>,
}

impl ClusterFacts {
    /// A cluster with a name and namespace and nothing else.
    pub fn named(name: &str, namespace: &str) -> Self {
        ClusterFacts {
            name: name.to_string(),
            namespace: namespace.to_string(),
            ..Default::default()
        }
    }
}

/// One render: a bundle for a cluster.
#[derive(Debug, Clone)]
pub struct RenderRequest<'a> {
    /// BundleDeployment (or bundle) name: names the objectset and the Helm release.
    pub name: &'a str,
    /// The bundle's files (see [`raw_yaml::name_resources`]).
    pub files: &'a Files,
    /// The BundleDeployment's options: merged for this cluster, customizations applied and Helm
    /// values processed.
    pub options: &'a BundleDeploymentOptions,
    /// The cluster.
    pub cluster: &'a ClusterFacts,
    /// The fleet.yaml `substitute` extension, if any.
    pub substitute: Option<&'a SubstituteOptions>,
    /// Objectset label prefix: [`postrender::AGENT_LABEL_PREFIX`] for the agent (the default),
    /// `""` for `fleet test`.
    pub label_prefix: &'a str,
    /// Objectset label suffix (the agent scope), usually empty.
    pub label_suffix: &'a str,
}

impl<'a> RenderRequest<'a> {
    /// A request with the agent's label prefix and no substitution.
    pub fn new(
        name: &'a str,
        files: &'a Files,
        options: &'a BundleDeploymentOptions,
        cluster: &'a ClusterFacts,
    ) -> Self {
        RenderRequest {
            name,
            files,
            options,
            cluster,
            substitute: None,
            label_prefix: postrender::AGENT_LABEL_PREFIX,
            label_suffix: "",
        }
    }
}

/// How a bundle renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Style {
    /// A Helm chart; `Chart.yaml` at this path.
    Helm {
        /// The path of the chart's `Chart.yaml`.
        chart_yaml: String,
    },
    /// A kustomization in this directory (`""` for the root).
    Kustomize {
        /// The directory.
        dir: String,
    },
    /// Raw YAML with overlays.
    RawYaml,
}

/// A render error; each names what failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Raw YAML or overlays.
    #[error(transparent)]
    Yaml(#[from] raw_yaml::Error),
    /// Helm chart rendering.
    #[error(transparent)]
    Chart(#[from] ChartError),
    /// Variable substitution.
    #[error("substitute: {0}")]
    Substitute(#[from] envsubst::Error),
    /// Post-rendering.
    #[error(transparent)]
    PostRender(#[from] postrender::Error),
    /// The kustomize build.
    #[error("kustomize build of {dir:?}: {source}")]
    Kustomize {
        /// The kustomization directory.
        dir: String,
        /// What the build said.
        #[source]
        source: BuildError,
    },
    /// Options that cannot be used.
    #[error("options: {message}")]
    Options {
        /// Why.
        message: String,
    },
}

/// An error from a [`KustomizeBuilder`].
pub type BuildError = Box<dyn std::error::Error + Send + Sync>;

/// Runs a kustomize build of a directory of a file tree.
pub trait KustomizeBuilder: Send + Sync {
    /// Builds `dir` of `files`, returning the objects in kustomize's output order.
    fn build(&self, files: &Files, dir: &str) -> Result<Vec<Value>, BuildError>;
}

/// The native kustomize build of this crate ([`crate::kustomize::build`]), run the way Fleet
/// runs its embedded kustomize: root-only load restrictions and **no reordering** — Fleet's
/// krusty options leave `Reorder` at its zero value, which is neither `legacy` nor
/// `unspecified`, so resources come out in input order unless the kustomization itself has
/// `sortOptions` (the fleet-examples goldens show input order). The build gets
/// `sortOptions: {order: fifo}` added to `<dir>/kustomization.yaml` when it has none.
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeKustomize;

impl KustomizeBuilder for NativeKustomize {
    fn build(&self, files: &Files, dir: &str) -> Result<Vec<Value>, BuildError> {
        let path = join_clean(dir, "kustomization.yaml");
        let Some(bytes) = files.get(&path) else {
            return Ok(crate::kustomize::build(files, dir)?);
        };
        let text = std::str::from_utf8(bytes).map_err(|_| format!("{path}: not UTF-8 text"))?;
        let mut k = fleet_core::yaml::from_str_value(text).map_err(|e| format!("{path}: {e}"))?;
        let Value::Object(map) = &mut k else {
            return Ok(crate::kustomize::build(files, dir)?);
        };
        if map.get("sortOptions").is_some_and(|v| !v.is_null()) {
            return Ok(crate::kustomize::build(files, dir)?);
        }
        map.insert(
            "sortOptions".to_string(),
            serde_json::json!({"order": "fifo"}),
        );
        let mut copy = files.clone();
        copy.insert(&path, fleet_core::yaml::to_string(&k)?.into_bytes())?;
        Ok(crate::kustomize::build(&copy, dir)?)
    }
}

/// Renders bundles; holds the pluggable chart renderer and kustomize builder.
pub struct Renderer {
    /// Helm charts.
    pub charts: Box<dyn ChartRenderer>,
    /// kustomize builds.
    pub kustomize: Box<dyn KustomizeBuilder>,
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer {
            charts: Box::new(NoChartRenderer),
            kustomize: Box::new(NativeKustomize),
        }
    }
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer").finish_non_exhaustive()
    }
}

/// `filepath.Join(a, b)` then trimming a leading `/`, as Fleet builds chart and kustomize
/// paths.
fn join_clean(dir: &str, file: &str) -> String {
    fleet_core::path::join(dir, file)
        .trim_start_matches('/')
        .to_string()
}

/// Fleet's bundle style for these files and options.
pub fn determine_style(files: &Files, options: &BundleDeploymentOptions) -> Style {
    let (chart_yaml, external) = match &options.helm {
        None => ("Chart.yaml".to_string(), String::new()),
        Some(helm) => {
            let path = if helm.chart.is_empty() {
                &helm.repo
            } else {
                &helm.chart
            };
            let sum = hex::encode(sha2::Sha256::digest(
                format!("{}:{}:{}", helm.chart, helm.repo, helm.version).as_bytes(),
            ));
            (join_clean(path, "Chart.yaml"), format!(".chart/{sum}/"))
        }
    };
    let kustomize_dir = options
        .kustomize
        .as_ref()
        .map(|k| k.dir.as_str())
        .unwrap_or_default();
    let kustomization = join_clean(kustomize_dir, "kustomization.yaml");
    let mut style = Style::RawYaml;
    for (name, _) in files.iter() {
        if name == chart_yaml {
            return Style::Helm {
                chart_yaml: chart_yaml.clone(),
            };
        }
        if let Some(rest) = name
            .strip_prefix(external.as_str())
            .filter(|_| !external.is_empty())
        {
            let parts: Vec<&str> = rest.split('/').collect();
            if parts == ["Chart.yaml"] || (parts.len() == 2 && parts[1] == "Chart.yaml") {
                return Style::Helm {
                    chart_yaml: name.to_string(),
                };
            }
        }
        if name == kustomization {
            style = Style::Kustomize {
                dir: crate::files::parent(&kustomization).to_string(),
            };
        }
    }
    style
}

/// The namespace of the deployment: `namespace`, else `defaultNamespace`, else `default`.
pub fn deployment_namespace(options: &BundleDeploymentOptions) -> &str {
    if !options.target_namespace.is_empty() {
        &options.target_namespace
    } else if !options.default_namespace.is_empty() {
        &options.default_namespace
    } else {
        "default"
    }
}

/// The variables of the `substitute` extension for a cluster (see [`SubstituteOptions`]).
pub fn substitution_variables(
    opts: &SubstituteOptions,
    cluster: &ClusterFacts,
) -> BTreeMap<String, String> {
    let mut vars = opts.variables.clone();
    vars.insert("FLEET_CLUSTER_NAME".to_string(), cluster.name.clone());
    vars.insert(
        "FLEET_CLUSTER_NAMESPACE".to_string(),
        cluster.namespace.clone(),
    );
    for (k, v) in &cluster.labels {
        if envsubst::valid_name(k) {
            vars.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in &cluster.template_values {
        if !envsubst::valid_name(k) {
            continue;
        }
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => continue,
        };
        vars.insert(k.clone(), text);
    }
    vars
}

impl Renderer {
    /// A renderer with the given kustomize builder and no chart renderer.
    pub fn with_kustomize(kustomize: Box<dyn KustomizeBuilder>) -> Self {
        Renderer {
            charts: Box::new(NoChartRenderer),
            kustomize,
        }
    }

    /// Renders a bundle for a cluster (see the module documentation).
    pub fn render(&self, req: &RenderRequest<'_>) -> Result<Vec<Value>, Error> {
        let options = req.options;
        let namespace = deployment_namespace(options);
        let mut objects = match determine_style(req.files, options) {
            Style::Helm { chart_yaml } => {
                let values = helm_values(options);
                let chart_dir = crate::files::parent(&chart_yaml).to_string();
                let objects = self.charts.render(&ChartRequest {
                    files: req.files,
                    chart_dir: &chart_dir,
                    release_name: &self.release_name(req),
                    bundle_name: req.name,
                    namespace,
                    values: &values,
                    skip_schema_validation: skip_schema_validation(options),
                })?;
                self.kustomize_helm_output(req.files, options, objects)?
            }
            Style::Kustomize { dir } => {
                self.kustomize
                    .build(req.files, &dir)
                    .map_err(|source| Error::Kustomize {
                        dir: dir.clone(),
                        source,
                    })?
            }
            Style::RawYaml => {
                let overlays = options
                    .yaml
                    .as_ref()
                    .map(|y| y.overlays.as_slice())
                    .unwrap_or_default();
                let files = raw_yaml::apply_overlays(req.files, overlays)?;
                let (raw, templates) = raw_yaml::split_templates(&files);
                let mut objects = Vec::new();
                if !templates.is_empty() {
                    let values = helm_values(options);
                    objects.extend(self.charts.render(&ChartRequest {
                        files: &files,
                        chart_dir: "",
                        release_name: &self.release_name(req),
                        bundle_name: req.name,
                        namespace,
                        values: &values,
                        skip_schema_validation: skip_schema_validation(options),
                    })?);
                }
                for (name, bytes) in raw {
                    objects.extend(raw_yaml::file_objects(name, bytes)?);
                }
                objects
            }
        };
        if let Some(subst) = req.substitute.filter(|s| s.enabled) {
            let substitution = Substitution::new(
                substitution_variables(subst, req.cluster),
                subst.strict,
                true,
            )?;
            objects = envsubst::substitute_objects(&objects, &substitution)?;
        }
        postrender::post_render(
            &mut objects,
            &PostRenderOptions {
                set_id: postrender::set_id(req.label_prefix, req.name, req.label_suffix),
                target_namespace: options.target_namespace.clone(),
                default_namespace: namespace.to_string(),
                delete_crd_resources: options.delete_crd_resources,
            },
        )?;
        Ok(objects)
    }

    /// Fleet's kustomize post-render of a chart's output (`internal/helmdeployer/postrender.go`,
    /// `kustomize/kustomize.go`): when `<kustomize.dir>/kustomization.yaml` is among the files,
    /// the chart's objects are written beside it as `fleet-manifests.yaml`, put first in its
    /// `resources` (only when the chart produced objects), and the build's output replaces
    /// them.
    fn kustomize_helm_output(
        &self,
        files: &Files,
        options: &BundleDeploymentOptions,
        objects: Vec<Value>,
    ) -> Result<Vec<Value>, Error> {
        let dir = options
            .kustomize
            .as_ref()
            .map(|k| k.dir.as_str())
            .unwrap_or_default();
        let path = join_clean(dir, "kustomization.yaml");
        let Some(bytes) = files.get(&path) else {
            return Ok(objects);
        };
        let kustomize_err = |source: BuildError| Error::Kustomize {
            dir: dir.to_string(),
            source,
        };
        let mut copy = files.clone();
        if !objects.is_empty() {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| kustomize_err(format!("{path}: not UTF-8 text").into()))?;
            let mut kustomization = fleet_core::yaml::from_str_value(text)
                .map_err(|e| kustomize_err(format!("{path}: {e}").into()))?;
            let Value::Object(map) = &mut kustomization else {
                return Err(kustomize_err(format!("{path}: not a mapping").into()));
            };
            let mut resources = vec![Value::String("fleet-manifests.yaml".to_string())];
            match map.get("resources") {
                None | Some(Value::Null) => {}
                Some(Value::Array(list)) => resources.extend(list.iter().cloned()),
                Some(_) => {
                    return Err(kustomize_err(
                        format!("{path}: resources is not a list").into(),
                    ));
                }
            }
            map.insert("resources".to_string(), Value::Array(resources));
            let manifests = fleet_core::yaml::to_string_multi(&objects)
                .map_err(|e| kustomize_err(e.to_string().into()))?;
            let insert = |copy: &mut Files, name: &str, text: String| {
                copy.insert(name, text.into_bytes())
                    .map(|_| ())
                    .map_err(|e| kustomize_err(e.to_string().into()))
            };
            insert(
                &mut copy,
                &join_clean(dir, "fleet-manifests.yaml"),
                manifests,
            )?;
            let text = fleet_core::yaml::to_string(&kustomization)
                .map_err(|e| kustomize_err(e.to_string().into()))?;
            insert(&mut copy, &path, text)?;
        }
        self.kustomize.build(&copy, dir).map_err(kustomize_err)
    }

    fn release_name(&self, req: &RenderRequest<'_>) -> String {
        req.options
            .helm
            .as_ref()
            .map(|h| h.release_name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| fleet_core::names::helm_release_name(req.name))
    }
}

fn skip_schema_validation(options: &BundleDeploymentOptions) -> bool {
    options
        .helm
        .as_ref()
        .is_some_and(|h| h.skip_schema_validation)
}

/// The Helm values of the options, as they are (processed by targeting, never here).
fn helm_values(options: &BundleDeploymentOptions) -> Value {
    Value::Object(
        options
            .helm
            .as_ref()
            .and_then(|h| h.values.clone())
            .unwrap_or_default(),
    )
}

/// Renders with the default [`Renderer`].
pub fn render(req: &RenderRequest<'_>) -> Result<Vec<Value>, Error> {
    Renderer::default().render(req)
}
