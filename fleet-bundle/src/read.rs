//! One bundle directory → one Bundle (`internal/bundlereader/read.go`, `resources.go`).

use std::collections::BTreeMap;

use fleet_core::crd::{Bundle, BundleResource};
use serde_json::{Map, Value, json};

use crate::chart::{ChartFetcher, ChartRef, FetchError};
use crate::tree::{self, EntryKind, FileTree};
use crate::walk;

/// Fleet's size threshold: a Bundle whose JSON reaches this many bytes is rebuilt with every
/// resource compressed.
pub const COMPRESS_THRESHOLD: usize = 1_000_000;

/// The default Bundle namespace of `fleet apply`.
pub const DEFAULT_NAMESPACE: &str = "fleet-local";

/// Label holding the GitRepo name.
pub const REPO_LABEL: &str = "fleet.cattle.io/repo-name";
/// Label holding the commit.
pub const COMMIT_LABEL: &str = "fleet.cattle.io/commit";

/// An error reading a bundle; every variant names the bundle directory.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// fleet.yaml (or the options file) is invalid: bad YAML, a wrong type, a broken rule.
    #[error(transparent)]
    FleetYaml {
        /// The error, naming the file and the key.
        #[from]
        source: fleet_core::fleetyaml::Error,
    },
    /// An options file or values file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: tree::Error,
    },
    /// A values file is not a YAML mapping.
    #[error("reading values file {file}: {reason}")]
    Values {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// Walking the bundle directory failed (ignore file, symlink escape, I/O).
    #[error("failed reading resources for {dir:?}: {source}")]
    Walk {
        /// The bundle directory.
        dir: String,
        /// Why.
        #[source]
        source: walk::Error,
    },
    /// A remote chart could not be downloaded.
    #[error("{dir}: failed to download {chart}: {source}")]
    Chart {
        /// The bundle directory.
        dir: String,
        /// `repo=… chart=… version=…`.
        chart: String,
        /// Why.
        #[source]
        source: FetchError,
    },
    /// The targets file is invalid.
    #[error("targets file {file}: {reason}")]
    TargetsFile {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// Serialising the bundle failed.
    #[error("encoding bundle {0}: {1}")]
    Encode(String, String),
}

/// The GitRepo targets as Fleet's GitRepo controller hands them to `fleet apply`.
#[derive(Debug, Clone, Default)]
pub struct TargetsFile {
    /// `targets:` (GitTargets, appended to the bundle's targets).
    pub targets: Vec<Value>,
    /// `targetRestrictions:` (appended to the bundle's restrictions).
    pub target_restrictions: Vec<Value>,
}

impl TargetsFile {
    /// Parses the YAML of a targets file (a `BundleSpec` holding `targets` and
    /// `targetRestrictions`, as Fleet decodes it); `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, Error> {
        let bad = |reason: String| Error::TargetsFile {
            file: file.to_string(),
            reason,
        };
        let spec: fleet_core::crd::BundleSpec = if text.trim().is_empty() {
            fleet_core::crd::BundleSpec::default()
        } else {
            fleet_core::yaml::from_str(text).map_err(|e| bad(e.to_string()))?
        };
        let list = |v: serde_json::Result<Value>| -> Result<Vec<Value>, Error> {
            match v.map_err(|e| bad(e.to_string()))? {
                Value::Array(a) => Ok(a),
                _ => Ok(Vec::new()),
            }
        };
        Ok(Self {
            targets: list(serde_json::to_value(&spec.targets))?,
            target_restrictions: list(serde_json::to_value(&spec.target_restrictions))?,
        })
    }
}

/// A target as Go serialises a `BundleTarget` built from these fields.
fn as_bundle_target(v: Value) -> serde_json::Result<Value> {
    let t: fleet_core::crd::BundleTarget = serde_json::from_value(v)?;
    serde_json::to_value(t)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// How bundles are read.
pub struct Options<'a> {
    /// The GitRepo name (`fleet apply NAME`); prefixes bundle names.
    pub repo_name: String,
    /// The namespace the Bundles go to (`-n`, default `fleet-local`).
    pub namespace: String,
    /// Labels for every Bundle (`-l`, the commit label, the repo label).
    pub labels: BTreeMap<String, String>,
    /// GitRepo targets (`--targets-file`), used when fleet.yaml has no `overrideTargets`.
    pub targets_file: Option<TargetsFile>,
    /// Store every resource compressed (`fleet apply -c`).
    pub compress: bool,
    /// Accept `imageScans` (Fleet's experimental image scanning); rejected otherwise.
    pub image_scans: bool,
    /// Downloads remote charts.
    pub fetcher: &'a dyn ChartFetcher,
}

impl std::fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("repo_name", &self.repo_name)
            .field("namespace", &self.namespace)
            .field("labels", &self.labels)
            .field("compress", &self.compress)
            .finish_non_exhaustive()
    }
}

/// A directory to read as one bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleDir {
    /// Path of the directory in the tree (clean, relative; `""` is the tree root).
    pub path: String,
    /// The path as given (`../assets/x`, `.`) for the bundle ID, Go-joined with the repo name.
    pub id_path: String,
    /// Driven scan: options file replacing fleet.yaml, relative to the directory.
    pub options_file: Option<String>,
}

/// What reading a directory produced.
#[derive(Debug, Clone)]
pub struct ReadBundle {
    /// The Bundle.
    pub bundle: Bundle,
    /// ImageScan objects derived from `imageScans` (only when enabled).
    pub image_scans: Vec<Value>,
}

/// `filepath.Join(a, b)` followed by Go's `Clean` (lexical; `..` may cancel `a`).
pub use fleet_core::path::join as go_join;

/// Go's `path.Clean`.
pub use fleet_core::path::clean as go_clean;

/// The bundle ID Fleet derives from the repo name, the path and the options file.
pub fn bundle_id(repo_name: &str, id_path: &str, options_file: Option<&str>) -> String {
    let mut id = go_join(repo_name, id_path);
    if let Some(file) = options_file.filter(|f| !f.is_empty()) {
        let base = tree::base_name(file);
        let stem = match base.rfind('.') {
            Some(i) => &file[..file.len() - (base.len() - i)],
            None => file,
        };
        id = go_join(&id, stem);
    }
    fleet_core::names::helm_release_name(&id)
}

/// Reads one bundle directory. `Ok(None)` when it holds no resources (Fleet skips it).
pub fn read_bundle(
    tree: &dyn FileTree,
    dir: &BundleDir,
    opts: &Options<'_>,
) -> Result<Option<ReadBundle>, Error> {
    let first = read_once(tree, dir, opts, opts.compress)?;
    let Some(first) = first else {
        return Ok(None);
    };
    if opts.compress || go_json_size(&first.bundle) < COMPRESS_THRESHOLD {
        return Ok(Some(first));
    }
    read_once(tree, dir, opts, true)
}

/// Size of the Bundle as Go's `json.Marshal` writes it: HTML-escaped `<`, `>`, `&`, U+2028 and
/// U+2029, plus the fields a typed Go Bundle always carries (`creationTimestamp: null`, the
/// empty status).
pub fn go_json_size(bundle: &Bundle) -> usize {
    let mut b = serde_json::to_value(bundle).unwrap_or_default();
    if let Value::Object(m) = &mut b {
        m.remove("apiVersion");
        m.remove("kind");
    }
    let text = serde_json::to_string(&b).unwrap_or_default();
    let mut size = text.len();
    for c in text.chars() {
        match c {
            '<' | '>' | '&' => size += 5,
            '\u{2028}' | '\u{2029}' => size += 3,
            _ => {}
        }
    }
    // `"creationTimestamp":null,` and the status of an empty BundleStatus.
    size + 25 + EMPTY_STATUS_JSON.len()
}

const EMPTY_STATUS_JSON: &str = r#","status":{"summary":{"desiredReady":0,"ready":0},"newlyCreated":0,"unavailable":0,"unavailablePartitions":0,"maxUnavailable":0,"maxUnavailablePartitions":0,"maxNew":0,"display":{},"resourceKey":null,"observedGeneration":0}"#;

fn read_fleet_yaml(
    tree: &dyn FileTree,
    dir: &BundleDir,
) -> Result<(String, Option<String>), Error> {
    if let Some(opt) = &dir.options_file {
        let path = tree::join(&dir.path, opt).map_err(|source| Error::Read {
            file: go_join(&dir.id_path, opt),
            source,
        })?;
        let data = tree.read_file(&path).map_err(|source| Error::Read {
            file: go_join(&dir.id_path, opt),
            source,
        })?;
        return Ok((
            go_join(&dir.id_path, opt),
            Some(String::from_utf8_lossy(&data).into_owned()),
        ));
    }
    for name in ["fleet.yaml", "fleet.yml"] {
        let path = tree::join(&dir.path, name).map_err(|source| Error::Read {
            file: name.to_string(),
            source,
        })?;
        let file = go_join(&dir.id_path, name);
        match tree.kind(&path) {
            Ok(None) => continue,
            Ok(Some(EntryKind::Symlink(t))) => {
                match tree::resolve_link(tree, &path, &t, &dir.path) {
                    Ok(Some((resolved, EntryKind::File))) => {
                        let data = tree.read_file(&resolved).map_err(|source| Error::Read {
                            file: file.clone(),
                            source,
                        })?;
                        return Ok((file, Some(String::from_utf8_lossy(&data).into_owned())));
                    }
                    Ok(_) => continue,
                    Err(source) => return Err(Error::Read { file, source }),
                }
            }
            Ok(Some(EntryKind::Dir)) => continue,
            Ok(Some(EntryKind::File)) => {
                let data = tree.read_file(&path).map_err(|source| Error::Read {
                    file: file.clone(),
                    source,
                })?;
                return Ok((file, Some(String::from_utf8_lossy(&data).into_owned())));
            }
            Err(source) => return Err(Error::Read { file, source }),
        }
    }
    Ok((go_join(&dir.id_path, "fleet.yaml"), None))
}

fn read_values_files(
    tree: &dyn FileTree,
    dir: &BundleDir,
    helm: &mut Map<String, Value>,
) -> Result<(), Error> {
    let files = string_list(helm.get("valuesFiles"));
    if files.is_empty() {
        return Ok(());
    }
    let mut values = match helm.get("values") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    for f in &files {
        let shown = go_join(&dir.id_path, f);
        let path = tree::join(&dir.path, f).map_err(|source| Error::Read {
            file: shown.clone(),
            source,
        })?;
        let data = read_following_links(tree, &path, &dir.path).map_err(|source| Error::Read {
            file: shown.clone(),
            source,
        })?;
        let text = String::from_utf8_lossy(&data);
        let doc = fleet_core::yaml::from_str_value(&text).map_err(|e| Error::Values {
            file: shown.clone(),
            reason: e.to_string(),
        })?;
        match doc {
            Value::Null => {}
            Value::Object(m) => values = fleet_core::merge::merge_maps(&values, &m),
            other => {
                return Err(Error::Values {
                    file: shown,
                    reason: format!("expected a mapping, found {}", type_name(&other)),
                });
            }
        }
    }
    if !values.is_empty() {
        helm.insert("values".into(), Value::Object(values));
    }
    Ok(())
}

fn read_following_links(
    tree: &dyn FileTree,
    path: &str,
    base: &str,
) -> Result<Vec<u8>, tree::Error> {
    match tree.kind(path)? {
        Some(EntryKind::Symlink(t)) => match tree::resolve_link(tree, path, &t, base)? {
            Some((resolved, EntryKind::File)) => tree.read_file(&resolved),
            _ => Err(tree::Error::NotFound(path.to_string())),
        },
        Some(EntryKind::File) => tree.read_file(path),
        _ => Err(tree::Error::NotFound(path.to_string())),
    }
}

fn helm_chart_ref(helm: &Map<String, Value>) -> ChartRef {
    let s = |k: &str| {
        helm.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    ChartRef {
        chart: s("chart"),
        repo: s("repo"),
        version: s("version"),
    }
}

fn read_once(
    tree: &dyn FileTree,
    dir: &BundleDir,
    opts: &Options<'_>,
    compress: bool,
) -> Result<Option<ReadBundle>, Error> {
    let (fy_file, text) = read_fleet_yaml(tree, dir)?;
    let core_err = |source: fleet_core::fleetyaml::Error| Error::FleetYaml { source };
    let parsed = fleet_core::fleetyaml::parse(&fy_file, text.as_deref().unwrap_or("{}"))
        .map_err(core_err)?;
    parsed.validate_selectors(&fy_file).map_err(core_err)?;
    parsed
        .check_image_scans(&fy_file, opts.image_scans)
        .map_err(core_err)?;
    let encode = |what: &str, e: serde_json::Error| Error::Encode(what.to_string(), e.to_string());
    // The Go-shaped JSON of the typed model: from here on the bundle is assembled as JSON.
    let mut fy = match serde_json::to_value(&parsed.spec).map_err(|e| encode(&fy_file, e))? {
        Value::Object(m) => m,
        _ => Map::new(),
    };

    let id = bundle_id(&opts.repo_name, &dir.id_path, dir.options_file.as_deref());
    let bundle_name = if parsed.name.is_empty() {
        id.clone()
    } else {
        parsed.name.clone()
    };
    // imageScans (only when enabled): entries without an image are skipped.
    let mut image_scans = Vec::new();
    for (i, scan) in parsed.image_scans.iter().enumerate() {
        if scan.image.is_empty() {
            continue;
        }
        let mut spec = match serde_json::to_value(scan).map_err(|e| encode(&fy_file, e))? {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        spec.remove("name");
        image_scans.push(json!({
            "apiVersion": "fleet.cattle.io/v1alpha1",
            "kind": "ImageScan",
            "metadata": {
                "name": fleet_core::names::safe_concat_name(&["imagescan", &bundle_name, &i.to_string()]),
                "namespace": opts.namespace,
            },
            "spec": Value::Object(spec),
        }));
    }

    // targets ++ targetCustomizations, named target%03d, with the root chart propagated.
    let mut targets: Vec<Map<String, Value>> = Vec::new();
    let customizations =
        serde_json::to_value(&parsed.target_customizations).map_err(|e| encode(&fy_file, e))?;
    let listed = fy.remove("targets").unwrap_or(Value::Null);
    for list in [listed, customizations] {
        if let Value::Array(items) = list {
            for item in items {
                if let Value::Object(m) = item {
                    targets.push(m);
                }
            }
        }
    }
    for (i, t) in targets.iter_mut().enumerate() {
        let unnamed = t
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty();
        if unnamed {
            t.insert("name".into(), Value::String(format!("target{i:03}")));
        }
    }
    let root_helm: Option<Map<String, Value>> = match fy.get("helm") {
        Some(Value::Object(m)) => Some(m.clone()),
        _ => None,
    };
    if let Some(rh) = &root_helm {
        for t in &mut targets {
            if let Some(Value::Object(th)) = t.get_mut("helm") {
                for k in ["repo", "chart", "version"] {
                    let empty = th.get(k).and_then(Value::as_str).unwrap_or("").is_empty();
                    if empty && let Some(v) = rh.get(k) {
                        th.insert(k.into(), v.clone());
                    }
                }
            }
        }
    }

    // Values files (root only when a chart is set; targets always), and charts to download.
    let mut skip: Vec<String> = vec!["fleet.yaml".into()];
    if let Some(opt) = &dir.options_file {
        skip.push(go_clean(opt));
    }
    let mut charts: Vec<ChartRef> = Vec::new();
    let mut root_helm = root_helm;
    if let Some(rh) = root_helm.as_mut() {
        for f in string_list(rh.get("valuesFiles")) {
            skip.push(f.clone());
            skip.push(tree::base_name(&f).to_string());
        }
        let cr = helm_chart_ref(rh);
        if !cr.chart.is_empty() || !cr.repo.is_empty() {
            read_values_files(tree, dir, rh)?;
            charts.push(cr);
        }
        fy.insert("helm".into(), Value::Object(rh.clone()));
    }
    for t in &mut targets {
        if let Some(Value::Object(th)) = t.get_mut("helm") {
            for f in string_list(th.get("valuesFiles")) {
                skip.push(f.clone());
                skip.push(tree::base_name(&f).to_string());
            }
            read_values_files(tree, dir, th)?;
            let cr = helm_chart_ref(th);
            if !cr.chart.is_empty() || !cr.repo.is_empty() {
                charts.push(cr);
            }
        }
    }

    // Resources: the directory itself, then every remote chart under its prefix.
    let walk_err = |source: walk::Error| Error::Walk {
        dir: dir.id_path.clone(),
        source,
    };
    let mut files: BTreeMap<String, Vec<u8>> = match tree.kind(&dir.path) {
        Ok(Some(_)) => walk::read_dir_files(tree, &dir.path, &skip).map_err(walk_err)?,
        Ok(None) => BTreeMap::new(),
        Err(e) => return Err(walk_err(e.into())),
    };
    let mut seen_prefixes = std::collections::BTreeSet::new();
    for cr in &charts {
        let local = (!cr.chart.is_empty())
            .then(|| tree::join(&dir.path, &cr.chart).ok())
            .flatten()
            .map(|p| tree.kind(&p))
            .transpose()
            .map_err(|e| walk_err(e.into()))?
            .flatten()
            .is_some();
        if local && cr.repo.is_empty() {
            continue;
        }
        let prefix = cr.prefix();
        if !seen_prefixes.insert(prefix.clone()) {
            continue;
        }
        let fetched = opts.fetcher.fetch(cr).map_err(|source| Error::Chart {
            dir: dir.id_path.clone(),
            chart: cr.describe(),
            source,
        })?;
        let chart_files = walk::read_dir_files(&fetched, "", &skip).map_err(walk_err)?;
        for (name, data) in chart_files {
            files.insert(format!("{prefix}/{name}"), data);
        }
    }
    if files.is_empty() {
        return Ok(None);
    }
    let mut resources = Vec::with_capacity(files.len());
    for (name, data) in files {
        let resource = BundleResource::encode(&name, &data, compress)
            .map_err(|e| Error::Encode(bundle_name.clone(), e.to_string()))?;
        let entry = serde_json::to_value(&resource).map_err(|e| encode(&fy_file, e))?;
        resources.push(entry);
    }

    // The spec: the typed fleet.yaml spec, with the assembled targets and the resources.
    let mut spec = fy;
    for k in [
        "resources",
        "targetRestrictions",
        "contentsId",
        "valuesHash",
    ] {
        spec.remove(k);
    }
    let mut all_targets: Vec<Value> = targets.into_iter().map(Value::Object).collect();
    let mut restrictions: Vec<Value> = Vec::new();
    match &parsed.override_targets {
        Some(list) => {
            for t in list {
                // Fleet appends BundleTarget{name, cluster*} and BundleTargetRestriction(target).
                let gt = serde_json::to_value(t).map_err(|e| encode(&fy_file, e))?;
                all_targets.push(as_bundle_target(gt.clone()).map_err(|e| encode(&fy_file, e))?);
                restrictions.push(gt);
            }
        }
        None => {
            if let Some(tf) = &opts.targets_file {
                all_targets.extend(tf.targets.iter().cloned());
                restrictions.extend(tf.target_restrictions.iter().cloned());
            }
        }
    }
    if all_targets.is_empty() {
        all_targets.push(
            as_bundle_target(json!({"name": "default", "clusterGroup": "default"}))
                .map_err(|e| encode(&fy_file, e))?,
        );
    }
    spec.insert("targets".into(), Value::Array(all_targets));
    if !restrictions.is_empty() {
        spec.insert("targetRestrictions".into(), Value::Array(restrictions));
    }
    spec.insert("resources".into(), Value::Array(resources));
    let spec = Value::Object(spec);

    let mut labels = Map::new();
    for (k, v) in &opts.labels {
        labels.insert(k.clone(), Value::String(v.clone()));
    }
    for (k, v) in &parsed.labels {
        labels.insert(k.clone(), Value::String(v.clone()));
    }
    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::String(bundle_name));
    metadata.insert("namespace".into(), Value::String(opts.namespace.clone()));
    if !labels.is_empty() {
        metadata.insert("labels".into(), Value::Object(labels));
    }
    let mut annotations = parsed.annotations.clone();
    // The `substitute` extension travels as an annotation (see `fleet_core::substitute`).
    if let Some(substitute) = &parsed.substitute {
        substitute.annotate(&mut annotations);
    }
    if !annotations.is_empty() {
        let a: Map<String, Value> = annotations
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        metadata.insert("annotations".into(), Value::Object(a));
    }
    let bundle = json!({
        "apiVersion": "fleet.cattle.io/v1alpha1",
        "kind": "Bundle",
        "metadata": Value::Object(metadata),
        "spec": spec,
    });
    // The object is assembled as JSON from the typed fleet.yaml spec and then read as Fleet's
    // type, which is what callers get: a field this reader wrote that the type does not know
    // would be dropped here, and the goldens compare the typed output with Fleet's.
    let bundle: Bundle = serde_json::from_value(bundle)
        .map_err(|e| Error::Encode(dir.id_path.clone(), e.to_string()))?;
    Ok(Some(ReadBundle {
        bundle,
        image_scans,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_join_cancels_repo_name() {
        assert_eq!(go_join("simple", "../assets/simple"), "assets/simple");
        assert_eq!(go_join("test", "."), "test");
        assert_eq!(
            bundle_id(
                "camelCase",
                "../assets/driven2/kustomize",
                Some("fleetDev.yaml")
            ),
            "assets-driven2-kustomize-fleetdev-2946f474"
        );
        assert_eq!(
            bundle_id(
                "single_path_config_specified",
                "../assets/driven_fleet_yaml_subfolder/helm",
                Some("test/fleet.yaml")
            ),
            "assets-driven-fleet-yaml-subfolder-helm-test-fl-b676f"
        );
    }
}
