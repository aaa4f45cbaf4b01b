//! Helm charts of Fleet bundles, rendered natively with `fleet-helm`: the
//! [`ChartRenderer`] the agent and `fleet-agent test` use ([`renderer`]).
//!
//! Fleet's rules (`internal/helmdeployer/render/helm.go`, `helmdeployer/install.go`,
//! `rawyaml/resources.go`):
//! * The chart is the bundle's files under the chart directory (a local chart, or the
//!   `.chart/<sum>/…` copy `fleet-bundle` fetched for a remote one), loaded as Helm's
//!   `loader.LoadFiles` does (no `.helmignore`: Fleet hands Helm the files, not a directory).
//! * A raw YAML bundle with `templates/` renders those templates as a chart whose `Chart.yaml`
//!   Fleet synthesises: `apiVersion: v2`, named after the bundle (the part after the last
//!   `/`), version `v0.0.0` (Fleet appends `+<manifest id>`, which rendering does not know).
//! * Values: the BundleDeployment's `helm.values` as they are (the manager processed `${ }`
//!   already), over the chart's defaults with Helm's coalescing, after Helm's
//!   condition/tags processing of dependencies; then `values.schema.json` validation unless
//!   `helm.skipSchemaValidation`.
//! * Release: the name and namespace Fleet chose, revision 1, install.
//! * Output: CRDs of `crds/` first (Helm installs them before the release), then every
//!   manifest in Helm's install order; `NOTES.txt` is left out. Hooks (`helm.sh/hook`) are
//!   left out too ([`renderer`], what `fleet test` shows: the release manifest), or kept
//!   among the objects with the template they came from in
//!   [`crate::hooks::PATH_ANNOTATION`] ([`deploy_renderer`]): Helm v4 post-renders hooks
//!   together with the release's objects, so they go through Fleet's post-render step, and
//!   the agent splits them off afterwards ([`crate::hooks::split`]).

use fleet_helm::chart::{self, Chart, File};
use fleet_helm::order::{self, Manifest};
use fleet_helm::render::Release;
use fleet_helm::{coalesce, dependencies};
use fleet_render::chart::{ChartError, ChartRenderer, ChartRequest};
use fleet_render::render::Renderer;
use serde_json::Value;

/// The Kubernetes version `.Capabilities.KubeVersion` reports when none is given.
pub const DEFAULT_KUBE_VERSION: &str = "v1.31.0";

/// The native Helm chart renderer.
#[derive(Debug, Clone)]
pub struct HelmRenderer {
    /// What `.Capabilities.KubeVersion` reports (`v1.31.0`).
    pub kube_version: String,
    /// Keep hooks among the objects (annotated with their template), for the deployer.
    pub include_hooks: bool,
}

impl Default for HelmRenderer {
    fn default() -> Self {
        HelmRenderer {
            kube_version: DEFAULT_KUBE_VERSION.to_string(),
            include_hooks: false,
        }
    }
}

/// The bundle renderer of `fleet-agent test`: fleet-render's, with this Helm renderer plugged
/// in, hooks left out.
pub fn renderer() -> Renderer {
    Renderer {
        charts: Box::new(HelmRenderer::default()),
        ..Renderer::default()
    }
}

/// The deployer's bundle renderer: as [`renderer`], with the chart's hooks kept for
/// [`crate::hooks::split`].
pub fn deploy_renderer() -> Renderer {
    Renderer {
        charts: Box::new(HelmRenderer {
            include_hooks: true,
            ..HelmRenderer::default()
        }),
        ..Renderer::default()
    }
}

/// Helm's release name rule (`pkg/chart/common/util` `ValidateReleaseName`): at most 53
/// characters, dot-separated DNS-1123 labels.
pub fn check_release_name(name: &str) -> Result<(), String> {
    const PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
    let label_ok = |label: &str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if name.len() <= 53 && name.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(format!(
            "release name {name:?}: invalid release name, must match regex {PATTERN} and the length must not be longer than 53"
        ))
    }
}

fn prefixed(dir: &str) -> String {
    if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    }
}

/// The chart of a request: the files under its directory, or the synthesised chart of a raw
/// bundle's `templates/`.
pub fn request_chart(request: &ChartRequest<'_>) -> Result<Chart, String> {
    let prefix = prefixed(request.chart_dir);
    let files = request.files;
    let label = if request.chart_dir.is_empty() {
        "bundle".to_string()
    } else {
        request.chart_dir.to_string()
    };
    let mut chart_files: Vec<File> = Vec::new();
    if files.is_file(&format!("{prefix}Chart.yaml")) {
        for (name, data) in files.iter() {
            if let Some(rel) = name.strip_prefix(prefix.as_str()) {
                chart_files.push(File {
                    name: rel.to_string(),
                    data: data.to_vec(),
                });
            }
        }
    } else {
        let name = request
            .bundle_name
            .rsplit('/')
            .next()
            .unwrap_or(request.bundle_name);
        chart_files.push(File {
            name: "Chart.yaml".to_string(),
            data: format!("apiVersion: v2\nname: {name}\nversion: v0.0.0\n").into_bytes(),
        });
        for (name, data) in files.iter() {
            if name.starts_with("templates/") {
                chart_files.push(File {
                    name: name.to_string(),
                    data: data.to_vec(),
                });
            }
        }
    }
    chart::from_files(chart_files, &label, 0).map_err(|e| e.to_string())
}

/// Helm's values step (`ToRenderValues`): dependency conditions and tags, coalescing over the
/// chart defaults, then `values.schema.json` validation unless skipped.
pub fn render_values(
    chart: &mut Chart,
    user_values: &Value,
    validate_schema: bool,
) -> Result<Value, String> {
    dependencies::process(chart, user_values);
    let values = coalesce::coalesce_values(chart, user_values);
    if validate_schema {
        fleet_helm::schema::validate(chart, &values).map_err(|e| e.to_string())?;
    }
    Ok(values)
}

/// Renders a loaded chart for a release: the manifests, hooks included, as Helm sorts them
/// (`# Source` paths, install order), plus the chart tree's CRDs.
pub fn render_manifests(
    chart: &mut Chart,
    user_values: &Value,
    release: &Release,
    validate_schema: bool,
) -> Result<Rendered, String> {
    let values = render_values(chart, user_values, validate_schema)?;
    let rendered =
        fleet_helm::render::render(chart, &values, release).map_err(|e| e.to_string())?;
    let mut manifests = Vec::new();
    for (source, text) in &rendered {
        if source.ends_with("NOTES.txt") {
            continue;
        }
        for doc in order::split_documents(text) {
            let parsed = fleet_core::yaml::from_str_value(&doc)
                .map_err(|e| format!("YAML parse error on {source}: {e}"))?;
            let kind = parsed
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let hook = parsed
                .pointer("/metadata/annotations/helm.sh~1hook")
                .is_some_and(|h| !h.is_null());
            manifests.push(Manifest {
                source: source.clone(),
                kind,
                content: doc,
                hook,
            });
        }
    }
    order::sort_for_install(&mut manifests);
    let mut crds = Vec::new();
    collect_crds(chart, chart.name(), &mut crds);
    Ok(Rendered { crds, manifests })
}

/// A chart's rendering: CRD files and the sorted manifests.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// `crds/` files of the chart and its enabled subcharts: (`<chart>/crds/<file>`, text).
    pub crds: Vec<(String, String)>,
    /// Manifests in install order, hooks among them (see [`Manifest::hook`]).
    pub manifests: Vec<Manifest>,
}

fn collect_crds(chart: &Chart, prefix: &str, out: &mut Vec<(String, String)>) {
    for file in chart.crds() {
        out.push((
            format!("{prefix}/{}", file.name),
            String::from_utf8_lossy(&file.data).into_owned(),
        ));
    }
    for sub in &chart.dependencies {
        collect_crds(sub, &format!("{prefix}/charts/{}", sub.name()), out);
    }
}

fn objects_of(source: &str, text: &str, out: &mut Vec<Value>) -> Result<(), String> {
    let docs = fleet_core::yaml::documents(text).map_err(|e| format!("{source}: {e}"))?;
    for doc in docs {
        match doc {
            Value::Null => {}
            Value::Object(map) if map.is_empty() => {}
            Value::Object(map) => out.push(Value::Object(map)),
            other => return Err(format!("{source}: expected a mapping, found {other}")),
        }
    }
    Ok(())
}

/// Records a hook's template in [`crate::hooks::PATH_ANNOTATION`], as Helm v4 does before
/// post-rendering.
fn annotate_path(object: &mut Value, source: &str) {
    let Some(metadata) = object
        .as_object_mut()
        .map(|o| {
            o.entry("metadata")
                .or_insert_with(|| Value::Object(Default::default()))
        })
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(map) = annotations.as_object_mut() {
        map.insert(
            crate::hooks::PATH_ANNOTATION.to_string(),
            Value::String(source.to_string()),
        );
    }
}

impl HelmRenderer {
    fn render_objects(&self, request: &ChartRequest<'_>) -> Result<Vec<Value>, String> {
        check_release_name(request.release_name)?;
        let mut chart = request_chart(request)?;
        let release = Release {
            name: request.release_name.to_string(),
            namespace: request.namespace.to_string(),
            revision: 1,
            is_install: true,
            kube_version: self.kube_version.clone(),
            api_versions: Vec::new(),
        };
        let values = match request.values {
            Value::Null => Value::Object(Default::default()),
            other => other.clone(),
        };
        let rendered = render_manifests(
            &mut chart,
            &values,
            &release,
            !request.skip_schema_validation,
        )?;
        let mut objects = Vec::new();
        for (source, text) in &rendered.crds {
            objects_of(source, text, &mut objects)?;
        }
        for manifest in &rendered.manifests {
            if !manifest.hook {
                objects_of(&manifest.source, &manifest.content, &mut objects)?;
            } else if self.include_hooks {
                let start = objects.len();
                objects_of(&manifest.source, &manifest.content, &mut objects)?;
                for object in &mut objects[start..] {
                    annotate_path(object, &manifest.source);
                }
            }
        }
        Ok(objects)
    }
}

impl ChartRenderer for HelmRenderer {
    fn render(&self, request: &ChartRequest<'_>) -> Result<Vec<Value>, ChartError> {
        self.render_objects(request)
            .map_err(|message| ChartError::Failed {
                chart_dir: request.chart_dir.to_string(),
                message,
            })
    }
}
