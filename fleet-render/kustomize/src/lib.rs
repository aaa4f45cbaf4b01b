//! A native `kustomize build` over an in-memory [`Files`] tree, matching Kustomize v5.5.0
//! (`kubectl kustomize`).
//!
//! ```
//! use fleet_kustomize::files::Files;
//! use fleet_kustomize as kustomize;
//! let mut files = Files::new();
//! files.insert("base/kustomization.yaml", "resources: [cm.yaml]\nnamePrefix: b-\n").unwrap();
//! files.insert("base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n").unwrap();
//! files.insert("prod/kustomization.yaml", "resources: [../base]\nnamespace: prod\n").unwrap();
//! let objects = kustomize::build(&files, "prod").unwrap();
//! assert_eq!(objects[0]["metadata"]["name"], "b-cm");
//! assert_eq!(objects[0]["metadata"]["namespace"], "prod");
//! print!("{}", kustomize::to_yaml(&objects));
//! ```
//!
//! Supported: local resources and bases (files and directories), components, `namePrefix`,
//! `nameSuffix`, `namespace`, `commonLabels`, `labels`, `commonAnnotations`, `images`,
//! `replicas`, `configMapGenerator`, `secretGenerator`, `generatorOptions`, `patches`,
//! `patchesStrategicMerge`, `patchesJson6902`, `replacements`, `vars`, `sortOptions`, name
//! references after renames.
//! Also `configurations`, `crds` (reference fields of custom kinds), `openapi`,
//! `buildMetadata` (`originAnnotations`, `managedByLabel`) and `generators`/`transformers`
//! naming builtin plugins. Remote bases, other plugins, `validators`, `helmCharts` and
//! `transformerAnnotations` return [`Error::Unsupported`] naming the field.

mod config;
mod dedupe;
mod error;
pub mod files;
mod generate;
mod nameref;
mod patch;
mod plugins;
mod print;
mod replace;
mod res;
mod select;
mod sort;
mod timestamp;
mod transform;
mod vars;

use std::collections::BTreeSet;

use serde_json::{Map, Value};

pub use error::Error;
pub use print::to_yaml;

use crate::files::Files;
use fleet_smp::schema::Schema;
use res::Res;

/// Options of [`build_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BuildOptions {
    /// `--load-restrictor=LoadRestrictionsNone`: files may lie outside the kustomization's
    /// directory (still inside the [`Files`] tree).
    pub load_restrictions_none: bool,
}

/// Builds the kustomization in directory `dir` of `files` with the default options, and
/// returns the objects in the order `kubectl kustomize` prints them.
pub fn build(files: &Files, dir: &str) -> Result<Vec<Value>, Error> {
    build_with(files, dir, &BuildOptions::default())
}

/// Builds the kustomization in directory `dir` of `files`.
pub fn build_with(files: &Files, dir: &str, opts: &BuildOptions) -> Result<Vec<Value>, Error> {
    let dir = files::normalize(dir).map_err(|e| Error::Restricted {
        file: dir.to_string(),
        entry: e.to_string(),
        root: String::new(),
    })?;
    let mut builder = Builder {
        files,
        opts: *opts,
        custom_schema: None,
        schema_chosen: false,
        stack: Vec::new(),
        vars: Vec::new(),
        config: config::Config::default(),
        top_dir: dir.clone(),
        track_transformers: false,
    };
    let top_metadata = builder.load(&dir)?.str_list("buildMetadata")?;
    builder.track_transformers = !top_metadata.is_empty();
    let (mut resources, top) = builder.kustomization(&dir, Vec::new(), false)?;
    generate::apply_hashes(&mut resources);
    check_subjects(&resources, &top.file)?;
    nameref::fix(
        &mut resources,
        builder.schema(),
        &builder.config.name_reference,
        &builder.config.crd_refs,
    )
    .map_err(|message| Error::NameReference {
        file: top.file.clone(),
        message,
    })?;
    vars::resolve(&builder.vars, &mut resources, &builder.config.var_reference)?;
    annotate_origins(&mut resources, &dir);
    if top_metadata.iter().any(|m| m == "transformerAnnotations") {
        annotate_transformations(&mut resources);
    }
    resources.retain(|r| {
        r.obj
            .pointer("/metadata/annotations/config.kubernetes.io~1local-config")
            .and_then(Value::as_str)
            != Some("true")
    });
    sort::sort(&mut resources, &top.sort_options, &top.file)?;
    Ok(resources.into_iter().map(|r| r.obj).collect())
}

/// The kustomization fields this build reads.
const KNOWN_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "bases",
    "components",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "images",
    "replicas",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "sortOptions",
    "replacements",
    "vars",
    "openapi",
    "configurations",
    "buildMetadata",
    "generators",
    "transformers",
    "crds",
];

/// Fields kustomize knows that this build does not implement.
const UNSUPPORTED_FIELDS: &[&str] = &[
    "validators",
    "helmCharts",
    "helmGlobals",
    "helmChartInflationGenerator",
    "images_transformers",
];

/// A parsed kustomization file.
pub(crate) struct Kustomization {
    pub file: String,
    pub dir: String,
    pub body: Map<String, Value>,
    pub sort_options: Option<Value>,
    /// For a builtin plugin's configuration run as kustomization fields: its `metadata`
    /// name and namespace, which origin annotations name under `configuredBy`.
    pub plugin_meta: Option<(String, Option<String>)>,
}

impl Kustomization {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.body.get(key).filter(|v| !v.is_null())
    }

    pub fn str_list(&self, key: &str) -> Result<Vec<String>, Error> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.invalid(format!(
                        "field '{key}' must be a list of strings, found {other}"
                    ))),
                })
                .collect(),
            Some(other) => {
                Err(self.invalid(format!("field '{key}' must be a list, found {other}")))
            }
        }
    }

    pub fn string(&self, key: &str) -> Result<Option<String>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => {
                Err(self.invalid(format!("field '{key}' must be a string, found {other}")))
            }
        }
    }

    pub fn string_map(&self, key: &str) -> Result<Vec<(String, String)>, Error> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Object(m)) => Ok(m
                .iter()
                .map(|(k, v)| (k.clone(), scalar_string(v)))
                .collect()),
            Some(other) => Err(self.invalid(format!("field '{key}' must be a map, found {other}"))),
        }
    }

    pub fn list(&self, key: &str) -> Result<Vec<Value>, Error> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items.clone()),
            Some(other) => {
                Err(self.invalid(format!("field '{key}' must be a list, found {other}")))
            }
        }
    }

    pub fn invalid(&self, message: String) -> Error {
        Error::Invalid {
            file: self.file.clone(),
            message,
        }
    }
}

/// A scalar as the string kustomize reads it into a `map[string]string`.
pub(crate) fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

struct Builder<'a> {
    files: &'a Files,
    opts: BuildOptions,
    /// The schema from an `openapi:` field, when one was given (the outermost wins).
    custom_schema: Option<Box<Schema>>,
    /// Whether an `openapi:` field (a builtin version or a file) has chosen the schema: the
    /// first one read wins, the top kustomization's first (kyaml's `SetSchema`).
    schema_chosen: bool,
    stack: Vec<String>,
    vars: Vec<vars::Var>,
    config: config::Config,
    /// The top directory, which origin paths are relative to.
    top_dir: String,
    /// Whether transformers are recorded on the objects: kustomize tracks origins on every
    /// level when the top kustomization has any `buildMetadata`.
    track_transformers: bool,
}

const KUSTOMIZATION_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("git@")
        || entry.starts_with("github.com/")
        || entry.starts_with("gitlab.com/")
        || entry.starts_with("bitbucket.org/")
}

impl<'a> Builder<'a> {
    /// The schema strategic merges and scopes use.
    fn schema(&self) -> &Schema {
        self.custom_schema
            .as_deref()
            .unwrap_or_else(|| Schema::builtin())
    }

    /// Reads the kustomization's `openapi:` field.
    fn openapi(&mut self, k: &Kustomization) -> Result<(), Error> {
        let Some(openapi) = k.get("openapi") else {
            return Ok(());
        };
        let path = openapi.get("path").and_then(Value::as_str);
        let version = openapi.get("version").and_then(Value::as_str);
        match (path, version) {
            (Some(_), Some(_)) => {
                Err(k.invalid("openapi: the path and version fields cannot both be set".into()))
            }
            (None, Some(v)) => {
                if v == "v1.21.2" {
                    self.schema_chosen = true;
                    Ok(())
                } else {
                    Err(Error::Unsupported {
                        file: k.file.clone(),
                        field: "openapi".into(),
                        detail: format!(
                            ": builtin schema version {v} (only v1.21.2, served by the v1.32 table)"
                        ),
                    })
                }
            }
            (Some(path), None) => {
                let (file, bytes) = self.read_file(k, "openapi", path)?;
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let doc = fleet_core::yaml::from_str_value(&text).map_err(|e| Error::Yaml {
                    file: file.clone(),
                    message: e.to_string(),
                })?;
                if !self.schema_chosen {
                    self.schema_chosen = true;
                    let mut schema = Schema::builtin().clone();
                    if schema.add_openapi_definitions(&doc) == 0 {
                        return Err(Error::Yaml {
                            file,
                            message: "no OpenAPI definitions found".into(),
                        });
                    }
                    self.custom_schema = Some(Box::new(schema));
                }
                Ok(())
            }
            (None, None) => Ok(()),
        }
    }

    fn load(&self, dir: &str) -> Result<Kustomization, Error> {
        let found: Vec<String> = KUSTOMIZATION_NAMES
            .iter()
            .map(|n| files::join(dir, n).unwrap_or_default())
            .filter(|p| self.files.is_file(p))
            .collect();
        let file = match found.as_slice() {
            [] => {
                return Err(Error::NoKustomization {
                    dir: display_dir(dir),
                });
            }
            [one] => one.clone(),
            _ => {
                return Err(Error::MultipleKustomizations {
                    dir: display_dir(dir),
                });
            }
        };
        let text = self.text(&file)?;
        let value = match fleet_core::yaml::from_str_value(&text) {
            Ok(v) => v,
            Err(e) if e.to_string().contains("duplicate mapping key") => {
                // Kustomize lets a repeated key override the earlier one.
                fleet_core::yaml::from_str_value(&dedupe::drop_duplicate_keys(&text)).map_err(
                    |e| Error::Yaml {
                        file: file.clone(),
                        message: e.to_string(),
                    },
                )?
            }
            Err(e) => {
                return Err(Error::Yaml {
                    file: file.clone(),
                    message: e.to_string(),
                });
            }
        };
        let body = match value {
            Value::Object(m) => canonical_fields(m),
            Value::Null => Map::new(),
            other => {
                return Err(Error::Invalid {
                    file,
                    message: format!("expected a map, found {other}"),
                });
            }
        };
        for key in body.keys() {
            if UNSUPPORTED_FIELDS.contains(&key.as_str()) {
                if body.get(key).is_some_and(|v| !is_empty_value(v)) {
                    return Err(Error::Unsupported {
                        file,
                        field: key.clone(),
                        detail: String::new(),
                    });
                }
            } else if !KNOWN_FIELDS.contains(&key.as_str()) {
                return Err(Error::Invalid {
                    file,
                    message: format!("json: unknown field \"{key}\""),
                });
            }
        }
        let sort_options = body.get("sortOptions").filter(|v| !v.is_null()).cloned();
        Ok(Kustomization {
            file,
            dir: dir.to_string(),
            body,
            sort_options,
            plugin_meta: None,
        })
    }

    fn text(&self, path: &str) -> Result<String, Error> {
        let bytes = self.files.get(path).ok_or_else(|| Error::Yaml {
            file: path.to_string(),
            message: "no such file".into(),
        })?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::Yaml {
            file: path.to_string(),
            message: "file is not UTF-8".into(),
        })
    }

    /// Resolves `entry` of `field` relative to the kustomization; checks load restrictions
    /// for files.
    fn resolve(&self, k: &Kustomization, field: &str, entry: &str) -> Result<String, Error> {
        let path = files::join(&k.dir, entry).map_err(|_| Error::Restricted {
            file: k.file.clone(),
            entry: entry.to_string(),
            root: display_dir(&k.dir),
        })?;
        if self.files.is_file(&path) {
            if !self.opts.load_restrictions_none && !within(&path, &k.dir) {
                return Err(Error::Restricted {
                    file: k.file.clone(),
                    entry: entry.to_string(),
                    root: display_dir(&k.dir),
                });
            }
            return Ok(path);
        }
        if self.files.is_dir(&path) {
            return Ok(path);
        }
        Err(Error::Missing {
            file: k.file.clone(),
            field: field.to_string(),
            entry: entry.to_string(),
        })
    }

    /// Reads a file the kustomization names (patch, generator source).
    fn read_file(
        &self,
        k: &Kustomization,
        field: &str,
        entry: &str,
    ) -> Result<(String, Vec<u8>), Error> {
        let path = self.resolve(k, field, entry)?;
        match self.files.get(&path) {
            Some(bytes) => Ok((path, bytes.to_vec())),
            None => Err(Error::Missing {
                file: k.file.clone(),
                field: field.to_string(),
                entry: entry.to_string(),
            }),
        }
    }

    /// Records `times` runs of a builtin transformer configured by kustomization `k` on every
    /// object, when transformers are tracked.
    fn record(&self, resources: &mut [Res], k: &Kustomization, kind: &str, times: usize) {
        for _ in 0..times {
            self.record_plugin(resources, &k.file, "builtin", kind, None, None);
        }
    }

    /// Records one transformer on every object (kustomize's `AddTransformerAnnotation`): the
    /// file it is configured in, relative to the top directory, and what configured it.
    pub(crate) fn record_plugin(
        &self,
        resources: &mut [Res],
        configured_in: &str,
        api_version: &str,
        kind: &str,
        name: Option<&str>,
        namespace: Option<&str>,
    ) {
        if !self.track_transformers {
            return;
        }
        let line = |key: &str, v: Option<&str>| {
            v.filter(|v| !v.is_empty())
                .map(|v| {
                    format!(
                        "    {key}: {}\n",
                        print::to_yaml(&[Value::String(v.into())]).trim_end()
                    )
                })
                .unwrap_or_default()
        };
        let entry = format!(
            "- configuredIn: {}\n  configuredBy:\n{}{}{}{}",
            relative(&self.top_dir, configured_in),
            line("apiVersion", Some(api_version)),
            line("kind", Some(kind)),
            line("name", name),
            line("namespace", namespace),
        );
        for r in resources {
            r.transformations.push(entry.clone());
        }
    }

    /// Builds the kustomization (or component) in `dir`, starting from `start` (the parent's
    /// resources, for components). Returns the resources and the kustomization.
    fn kustomization(
        &mut self,
        dir: &str,
        start: Vec<Res>,
        component: bool,
    ) -> Result<(Vec<Res>, Kustomization), Error> {
        if self.stack.iter().any(|d| d == dir) {
            return Err(Error::Cycle {
                file: self.stack.last().cloned().unwrap_or_default(),
                dir: display_dir(dir),
            });
        }
        let k = self.load(dir)?;
        let kind = k.body.get("kind").and_then(Value::as_str).unwrap_or("");
        let api_version = k
            .body
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        if kind == "Component"
            && !api_version.is_empty()
            && api_version != "kustomize.config.k8s.io/v1alpha1"
        {
            return Err(k.invalid(format!(
                "apiVersion for Component should be kustomize.config.k8s.io/v1alpha1, found {api_version:?}"
            )));
        }
        if component && kind != "Component" {
            return Err(k.invalid(format!(
                "apiVersion: kustomize.config.k8s.io/v1beta1 kind {kind:?} cannot be used as a component; expected kind: Component"
            )));
        }
        if !component && kind == "Component" && !self.stack.is_empty() {
            return Err(k.invalid(
                "kind: Component cannot be used as a resource; list it under 'components'".into(),
            ));
        }
        self.openapi(&k)?;
        let mut cfg = std::mem::take(&mut self.config);
        let loaded = config::load(self, &k, &mut cfg);
        self.config = cfg;
        loaded?;
        self.stack.push(dir.to_string());
        let result = self.run(&k, start);
        self.stack.pop();
        Ok((result?, k))
    }

    fn run(&mut self, k: &Kustomization, start: Vec<Res>) -> Result<Vec<Res>, Error> {
        let mut resources = start;
        // 1. resources (and the legacy bases).
        let mut entries = k.str_list("resources")?;
        entries.extend(k.str_list("bases")?);
        for entry in &entries {
            if is_remote(entry) {
                return Err(Error::Unsupported {
                    file: k.file.clone(),
                    field: "resources".into(),
                    detail: format!(": remote resource '{entry}'"),
                });
            }
            let path = self.resolve(k, "resources", entry)?;
            let loaded = if self.files.is_file(&path) {
                self.resource_file(&path)?
            } else {
                self.kustomization(&path, Vec::new(), false)?.0
            };
            for r in loaded {
                add_resource(&mut resources, r, &k.file)?;
            }
        }
        // 2. generators.
        generate::run(self, k, &mut resources)?;
        plugins::generators(self, k, &mut resources)?;
        // 3. components.
        for entry in k.str_list("components")? {
            if is_remote(&entry) {
                return Err(Error::Unsupported {
                    file: k.file.clone(),
                    field: "components".into(),
                    detail: format!(": remote component '{entry}'"),
                });
            }
            let path = self.resolve(k, "components", &entry)?;
            if self.files.is_file(&path) {
                return Err(k.invalid(format!(
                    "component '{entry}' must be a directory with a kustomization of kind Component"
                )));
            }
            let taken = std::mem::take(&mut resources);
            resources = self.kustomization(&path, taken, true)?.0;
        }
        // 4. transformers, in kustomize's fixed order.
        let count = |key: &str| k.get(key).and_then(Value::as_array).map_or(0, Vec::len);
        let set = |key: &str| {
            k.get(key).is_some_and(|v| match v {
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Object(m) => !m.is_empty(),
                _ => true,
            })
        };
        patch::strategic_legacy(self, k, &mut resources)?;
        let psm = usize::from(set("patchesStrategicMerge"));
        self.record(&mut resources, k, "PatchStrategicMergeTransformer", psm);
        patch::patches(self, k, &mut resources)?;
        self.record(&mut resources, k, "PatchTransformer", count("patches"));
        transform::namespace(k, &mut resources, self.schema(), &self.config)?;
        self.record(
            &mut resources,
            k,
            "NamespaceTransformer",
            usize::from(set("namespace")),
        );
        transform::prefix_suffix(k, &mut resources, &self.config)?;
        self.record(
            &mut resources,
            k,
            "PrefixTransformer",
            usize::from(set("namePrefix")),
        );
        self.record(
            &mut resources,
            k,
            "SuffixTransformer",
            usize::from(set("nameSuffix")),
        );
        transform::labels(k, &mut resources, &self.config)?;
        // One per `labels` entry and one for `commonLabels`, when either is given.
        let labels = if set("labels") || set("commonLabels") {
            count("labels") + 1
        } else {
            0
        };
        self.record(&mut resources, k, "LabelTransformer", labels);
        transform::annotations(k, &mut resources, &self.config)?;
        let annotations = usize::from(set("commonAnnotations"));
        self.record(&mut resources, k, "AnnotationsTransformer", annotations);
        patch::json6902_legacy(self, k, &mut resources)?;
        let json6902 = count("patchesJson6902");
        self.record(&mut resources, k, "PatchJson6902Transformer", json6902);
        transform::replicas(k, &mut resources)?;
        self.record(
            &mut resources,
            k,
            "ReplicaCountTransformer",
            count("replicas"),
        );
        transform::images(k, &mut resources, &self.config)?;
        self.record(&mut resources, k, "ImageTagTransformer", count("images"));
        replace::run(self, k, &mut resources)?;
        let replacements = usize::from(set("replacements"));
        self.record(&mut resources, k, "ReplacementTransformer", replacements);
        plugins::transformers(self, k, &mut resources)?;
        vars::declared(k, &resources, &mut self.vars)?;
        let metadata = k.str_list("buildMetadata")?;
        for m in &metadata {
            match m.as_str() {
                "originAnnotations" => resources.iter_mut().for_each(|r| r.origin = true),
                // Recorded on every level while building; printed when the top asks.
                "transformerAnnotations" => {}
                "managedByLabel" => {
                    for r in resources.iter_mut() {
                        let meta = r.metadata_mut();
                        let labels = meta
                            .entry("labels")
                            .or_insert_with(|| Value::Object(Map::new()));
                        res::ensure_map(labels).insert(
                            "app.kubernetes.io/managed-by".into(),
                            Value::String("kustomize-(devel)".into()),
                        );
                    }
                }
                other => {
                    return Err(Error::Unsupported {
                        file: k.file.clone(),
                        field: "buildMetadata".into(),
                        detail: format!(": option {other}"),
                    });
                }
            }
        }
        Ok(resources)
    }

    /// Reads the objects of a resource file (multi-document; `List` kinds expanded).
    fn resource_file(&self, path: &str) -> Result<Vec<Res>, Error> {
        let text = self.text(path)?;
        let text = timestamp::retime(&text, true).map_err(|message| Error::Yaml {
            file: path.to_string(),
            message,
        })?;
        let docs = fleet_core::yaml::documents(&text).map_err(|e| Error::Yaml {
            file: path.to_string(),
            message: e.to_string(),
        })?;
        let mut out = Vec::new();
        for doc in docs {
            push_object(&mut out, doc, path)?;
        }
        Ok(out)
    }
}

fn push_object(out: &mut Vec<Res>, doc: Value, path: &str) -> Result<(), Error> {
    if let Some(items) = fleet_core::yaml::list_items(&doc) {
        for item in items.clone() {
            push_object(out, item, path)?;
        }
        return Ok(());
    }
    match doc {
        Value::Null => Ok(()),
        Value::Object(ref m) if m.is_empty() => Ok(()),
        Value::Object(m) => {
            let kind = m.get("kind").and_then(Value::as_str).unwrap_or("");
            if kind.is_empty() {
                return Err(Error::InvalidResource {
                    file: path.to_string(),
                    message: format!(
                        "missing Resource metadata: kind not set in {}",
                        Value::Object(m.clone())
                    ),
                });
            }
            let has_name = m
                .get("metadata")
                .and_then(|md| md.get("name"))
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            if !has_name {
                return Err(Error::InvalidResource {
                    file: path.to_string(),
                    message: format!("missing metadata.name in object of kind {kind}"),
                });
            }
            let mut obj = Value::Object(m);
            stringify_meta(&mut obj);
            out.push(Res::new(obj, path));
            Ok(())
        }
        other => Err(Error::InvalidResource {
            file: path.to_string(),
            message: format!("expected an object, found {other}"),
        }),
    }
}

/// Labels and annotations are string maps in Kubernetes; kustomize reads them as such, so
/// `happy: true` becomes `"true"`.
fn stringify_meta(obj: &mut Value) {
    for field in ["labels", "annotations"] {
        if let Some(Value::Object(m)) = obj.pointer_mut(&format!("/metadata/{field}")) {
            for v in m.values_mut() {
                if matches!(v, Value::Bool(_) | Value::Number(_)) {
                    *v = Value::String(scalar_string(v));
                }
            }
        }
    }
}

/// `path` relative to directory `from` (both relative to the tree root).
fn relative(from: &str, path: &str) -> String {
    let from: Vec<&str> = from.split('/').filter(|s| !s.is_empty()).collect();
    let to: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = std::iter::repeat_n("..", from.len() - common).collect();
    parts.extend(&to[common..]);
    parts.join("/")
}

/// `config.kubernetes.io/origin` on resources of kustomizations that ask for it.
fn annotate_origins(resources: &mut [Res], top: &str) {
    for r in resources.iter_mut().filter(|r| r.origin) {
        let rel = relative(top, &r.file);
        let text = match r.generator {
            Some(kind) => {
                let line = |key: &str, v: &str| {
                    format!(
                        "  {key}: {}\n",
                        print::to_yaml(&[Value::String(v.to_string())]).trim_end()
                    )
                };
                let by = match &r.configured_by {
                    Some((name, ns)) => {
                        line("name", name)
                            + &ns
                                .as_deref()
                                .map(|n| line("namespace", n))
                                .unwrap_or_default()
                    }
                    None => String::new(),
                };
                format!(
                    "configuredIn: {rel}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {kind}\n{by}"
                )
            }
            None => format!("path: {rel}\n"),
        };
        let meta = r.metadata_mut();
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        res::ensure_map(annotations)
            .insert("config.kubernetes.io/origin".into(), Value::String(text));
    }
}

/// `alpha.config.kubernetes.io/transformations`: the transformers recorded on each object,
/// oldest first, when the top kustomization asks for `transformerAnnotations`.
fn annotate_transformations(resources: &mut [Res]) {
    for r in resources
        .iter_mut()
        .filter(|r| !r.transformations.is_empty())
    {
        let text = r.transformations.concat();
        let meta = r.metadata_mut();
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        res::ensure_map(annotations).insert(
            "alpha.config.kubernetes.io/transformations".into(),
            Value::String(text),
        );
    }
}

/// A RoleBinding's ServiceAccount subject with a `namespace` key must give a string there
/// (kustomize's `getNamespacesForRoleBinding` rejects `namespace:` left null; an empty string
/// is accepted).
fn check_subjects(resources: &[Res], file: &str) -> Result<(), Error> {
    for r in resources {
        if r.kind() != "RoleBinding" {
            continue;
        }
        let subjects = r.obj.get("subjects").and_then(Value::as_array);
        for s in subjects.into_iter().flatten() {
            let blank = s.get("namespace").is_some_and(|ns| !ns.is_string());
            if blank && s.get("kind").and_then(Value::as_str) == Some("ServiceAccount") {
                return Err(Error::InvalidResource {
                    file: file.to_string(),
                    message: format!("namespace is blank for a subject of {}", r.id_string()),
                });
            }
        }
    }
    Ok(())
}

/// Adds a resource, rejecting a second one with the same id.
pub(crate) fn add_resource(resources: &mut Vec<Res>, r: Res, file: &str) -> Result<(), Error> {
    if resources.iter().any(|x| x.same_id(&r)) {
        return Err(Error::IdConflict {
            file: file.to_string(),
            id: r.id_string(),
        });
    }
    resources.push(r);
    Ok(())
}

/// Go's `encoding/json` matches field names case-insensitively (`nameprefix` is
/// `namePrefix`); later spellings of the same field win.
fn canonical_fields(m: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in m {
        let canonical = KNOWN_FIELDS
            .iter()
            .chain(UNSUPPORTED_FIELDS)
            .find(|f| f.eq_ignore_ascii_case(&key))
            .map_or(key, |f| f.to_string());
        out.insert(canonical, value);
    }
    out
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn within(path: &str, dir: &str) -> bool {
    dir.is_empty() || path.starts_with(&format!("{dir}/"))
}

fn display_dir(dir: &str) -> String {
    if dir.is_empty() {
        ".".into()
    } else {
        dir.to_string()
    }
}

/// Names of the fields a kustomization may carry, for documentation and fuzzing.
pub fn known_fields() -> BTreeSet<&'static str> {
    KNOWN_FIELDS
        .iter()
        .chain(UNSUPPORTED_FIELDS)
        .copied()
        .collect()
}
