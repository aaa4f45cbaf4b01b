//! Loading a chart from a directory or a packaged `.tgz`, as Helm's loader does.
//!
//! A chart is its `Chart.yaml`, `values.yaml`, optional `values.schema.json`, `templates/`,
//! subcharts under `charts/` (directories or archives) and every other file (`.Files`,
//! `crds/` included). A directory honours `.helmignore`; an archive does not, as in Helm.
//! Archives whose entries leave the chart (`..`, absolute paths, links) are refused and
//! their uncompressed size is capped.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::values;

/// Largest uncompressed archive accepted (Helm's default limit).
pub const MAX_ARCHIVE_BYTES: u64 = 100 * 1024 * 1024;
/// Largest single file accepted inside an archive (Helm's default limit).
pub const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;
/// Deepest nesting of subcharts accepted, so a self-containing archive cannot recurse forever.
pub const MAX_DEPTH: usize = 32;

/// Why a chart could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("chart {chart}: cannot read {path}: {source}")]
    Io {
        /// The chart being loaded.
        chart: String,
        /// The path that failed.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `Chart.yaml` is absent.
    #[error("chart {chart}: Chart.yaml file is missing")]
    MissingChartYaml {
        /// The chart being loaded.
        chart: String,
    },
    /// `Chart.yaml` could not be parsed or lacks a required field.
    #[error("chart {chart}: Chart.yaml: {reason}")]
    Metadata {
        /// The chart being loaded.
        chart: String,
        /// What is wrong.
        reason: String,
    },
    /// `values.yaml` could not be parsed.
    #[error("chart {chart}: {source}")]
    Values {
        /// The chart being loaded.
        chart: String,
        /// The values error (names the file).
        source: values::Error,
    },
    /// `requirements.yaml` (apiVersion v1 dependencies) could not be parsed.
    #[error("chart {chart}: requirements.yaml: {reason}")]
    Requirements {
        /// The chart being loaded.
        chart: String,
        /// What is wrong.
        reason: String,
    },
    /// An archive entry is unsafe or the archive is malformed.
    #[error("chart archive {archive}: {reason}")]
    Archive {
        /// The archive being read.
        archive: String,
        /// What is wrong.
        reason: String,
    },
    /// A `.helmignore` rule could not be parsed.
    #[error("chart {chart}: .helmignore: {reason}")]
    Ignore {
        /// The chart being loaded.
        chart: String,
        /// What is wrong.
        reason: String,
    },
    /// Subcharts nest deeper than [`MAX_DEPTH`].
    #[error("chart {chart}: subcharts nest deeper than {MAX_DEPTH} levels")]
    TooDeep {
        /// The chart being loaded.
        chart: String,
    },
}

/// One dependency entry of `Chart.yaml` (v2) or `requirements.yaml` (v1).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    /// The chart name.
    pub name: String,
    /// The version constraint.
    #[serde(default)]
    pub version: String,
    /// Where the chart comes from.
    #[serde(default)]
    pub repository: String,
    /// Comma-separated value paths; the first that resolves to a boolean decides.
    #[serde(default)]
    pub condition: String,
    /// Tags that enable the chart (any true tag enables it).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The name the chart takes in the parent.
    #[serde(default)]
    pub alias: String,
    /// Values imported from the child (strings or `{child, parent}` maps).
    #[serde(default, rename = "import-values")]
    pub import_values: Vec<Value>,
}

/// The parts of `Chart.yaml` the renderer acts on; the whole document is kept in [`Chart::raw_metadata`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// `v1` or `v2`.
    #[serde(default)]
    pub api_version: String,
    /// The chart name.
    #[serde(default)]
    pub name: String,
    /// The chart version.
    #[serde(default)]
    pub version: String,
    /// `application` (default) or `library`.
    #[serde(default, rename = "type")]
    pub chart_type: String,
    /// The Kubernetes version constraint.
    #[serde(default)]
    pub kube_version: String,
    /// The app version.
    #[serde(default)]
    pub app_version: String,
    /// Dependencies (v2 charts).
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
}

/// A file of a chart: its path inside the chart (`/`-separated) and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Path relative to the chart root.
    pub name: String,
    /// The content.
    pub data: Vec<u8>,
}

/// A loaded chart and its subcharts.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// The parsed `Chart.yaml`.
    pub metadata: Metadata,
    /// `Chart.yaml` as a generic document (the source of `.Chart`).
    pub raw_metadata: Value,
    /// `values.yaml` (an empty map when absent).
    pub values: Value,
    /// `values.schema.json`, when present.
    pub schema: Option<Vec<u8>>,
    /// Files under `templates/`, sorted by path.
    pub templates: Vec<File>,
    /// Every other file (the source of `.Files`, `crds/` included), sorted by path.
    pub files: Vec<File>,
    /// Subcharts found under `charts/`, sorted by their path there.
    pub dependencies: Vec<Chart>,
}

impl Chart {
    /// A chart with only a name and values, for building trees in code.
    pub fn from_parts(name: &str, values: Value) -> Chart {
        Chart {
            metadata: Metadata {
                api_version: "v2".to_string(),
                name: name.to_string(),
                version: "0.0.0".to_string(),
                ..Metadata::default()
            },
            raw_metadata: Value::Object(Map::new()),
            values,
            ..Chart::default()
        }
    }

    /// The chart name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Whether this is a library chart (its templates are never rendered).
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type == "library"
    }

    /// The files under `crds/`.
    pub fn crds(&self) -> impl Iterator<Item = &File> {
        self.files.iter().filter(|f| f.name.starts_with("crds/"))
    }
}

/// Loads a chart from a directory or, when `path` is a file, from a `.tgz` archive.
pub fn load(path: &Path) -> Result<Chart, Error> {
    if path.is_dir() {
        load_dir(path)
    } else {
        let label = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            chart: label.clone(),
            path: label.clone(),
            source,
        })?;
        load_archive(&bytes, &label)
    }
}

/// Loads a chart directory, applying its `.helmignore`.
pub fn load_dir(dir: &Path) -> Result<Chart, Error> {
    let label = dir.display().to_string();
    let io = |path: &Path, source| Error::Io {
        chart: label.clone(),
        path: path.display().to_string(),
        source,
    };
    let mut rules = IgnoreRules::defaults();
    let ignore_path = dir.join(".helmignore");
    if ignore_path.is_file() {
        let text = std::fs::read_to_string(&ignore_path).map_err(|e| io(&ignore_path, e))?;
        rules.add(&text).map_err(|reason| Error::Ignore {
            chart: label.clone(),
            reason,
        })?;
    }
    let mut files = Vec::new();
    let mut pending: Vec<(PathBuf, String)> = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, rel)) = pending.pop() {
        let entries = std::fs::read_dir(&path).map_err(|e| io(&path, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io(&path, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let child_rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let file_type = entry.file_type().map_err(|e| io(&entry.path(), e))?;
            // Follow links as Helm's walker does, but read through metadata of the target.
            let is_dir = if file_type.is_symlink() {
                entry.path().is_dir()
            } else {
                file_type.is_dir()
            };
            if rules.ignored(&child_rel, is_dir) {
                continue;
            }
            if is_dir {
                pending.push((entry.path(), child_rel));
            } else {
                let data = std::fs::read(entry.path()).map_err(|e| io(&entry.path(), e))?;
                files.push(File {
                    name: child_rel,
                    data,
                });
            }
        }
    }
    from_files(files, &label, 0)
}

/// Loads a chart from the bytes of a `.tgz` archive; `label` names it in errors.
pub fn load_archive(bytes: &[u8], label: &str) -> Result<Chart, Error> {
    load_archive_at(bytes, label, 0)
}

fn load_archive_at(bytes: &[u8], label: &str, depth: usize) -> Result<Chart, Error> {
    let files = archive_files(bytes, label)?;
    from_files(files, label, depth)
}

/// The regular files of an archive, with the top directory stripped.
pub fn archive_files(bytes: &[u8], label: &str) -> Result<Vec<File>, Error> {
    let fail = |reason: String| Error::Archive {
        archive: label.to_string(),
        reason,
    };
    let decoder = flate2::read::GzDecoder::new(bytes);
    // One byte past the cap tells "exactly at the cap" from "over it".
    let mut archive = tar::Archive::new(decoder.take(MAX_ARCHIVE_BYTES + 1));
    let entries = archive
        .entries()
        .map_err(|e| fail(format!("not a gzipped tar archive: {e}")))?;
    let mut files = Vec::new();
    let mut total: u64 = 0;
    for entry in entries {
        let mut entry = entry.map_err(|e| fail(format!("unreadable entry: {e}")))?;
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).replace('\\', "/");
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
        {
            continue;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(fail(format!(
                "{raw_name}: links are not allowed in a chart"
            )));
        }
        if !kind.is_file() {
            return Err(fail(format!("{raw_name}: unsupported entry type")));
        }
        if raw_name.starts_with('/') || raw_name.split('/').next().is_some_and(|p| p.ends_with(':'))
        {
            return Err(fail(format!(
                "chart illegally contains absolute paths: {raw_name}"
            )));
        }
        let parts: Vec<&str> = raw_name
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        if parts.contains(&"..") {
            return Err(fail(format!(
                "chart illegally contains content outside the base directory: {raw_name}"
            )));
        }
        if parts.len() < 2 {
            if parts.first() == Some(&"Chart.yaml") {
                return Err(fail("chart yaml not in base directory".to_string()));
            }
            continue;
        }
        let name = parts[1..].join("/");
        let size = entry.header().size().unwrap_or(0);
        if size > MAX_FILE_BYTES {
            return Err(fail(format!(
                "{name}: decompressed file is larger than {MAX_FILE_BYTES} bytes"
            )));
        }
        let mut data = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|e| fail(format!("{name}: {e}")))?;
        if data.len() as u64 > MAX_FILE_BYTES {
            return Err(fail(format!(
                "{name}: decompressed file is larger than {MAX_FILE_BYTES} bytes"
            )));
        }
        total += data.len() as u64;
        if total > MAX_ARCHIVE_BYTES {
            return Err(fail(format!(
                "decompressed chart is larger than {MAX_ARCHIVE_BYTES} bytes"
            )));
        }
        files.push(File { name, data });
    }
    if files.is_empty() {
        return Err(fail("no files in chart archive".to_string()));
    }
    Ok(files)
}

/// Builds a chart from its files (paths relative to the chart root).
pub fn from_files(mut files: Vec<File>, label: &str, depth: usize) -> Result<Chart, Error> {
    if depth > MAX_DEPTH {
        return Err(Error::TooDeep {
            chart: label.to_string(),
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let mut chart = Chart {
        values: Value::Object(Map::new()),
        ..Chart::default()
    };
    let mut chart_yaml = None;
    let mut requirements = None;
    let mut subchart_files: BTreeMap<String, Vec<File>> = BTreeMap::new();
    let mut subchart_archives: Vec<File> = Vec::new();
    for file in files {
        match file.name.as_str() {
            "Chart.yaml" => chart_yaml = Some(file.data),
            "values.yaml" => {
                let text = String::from_utf8_lossy(&file.data);
                chart.values =
                    values::parse(&text, "values.yaml").map_err(|source| Error::Values {
                        chart: label.to_string(),
                        source,
                    })?;
            }
            "values.schema.json" => chart.schema = Some(file.data),
            "requirements.yaml" => requirements = Some(file.data),
            "requirements.lock" | "Chart.lock" => {}
            name if name.starts_with("templates/") => chart.templates.push(file),
            name if name.starts_with("charts/") => {
                let rest = &name["charts/".len()..];
                match rest.split_once('/') {
                    Some((dir, inner)) => {
                        let inner = inner.to_string();
                        subchart_files
                            .entry(dir.to_string())
                            .or_default()
                            .push(File {
                                name: inner,
                                data: file.data,
                            });
                    }
                    None if rest.ends_with(".tgz") || rest.ends_with(".tar.gz") => {
                        subchart_archives.push(file)
                    }
                    // Other loose files under charts/ are neither charts nor chart files.
                    None => {}
                }
            }
            _ => chart.files.push(file),
        }
    }
    let Some(chart_yaml) = chart_yaml else {
        return Err(Error::MissingChartYaml {
            chart: label.to_string(),
        });
    };
    let text = String::from_utf8_lossy(&chart_yaml);
    let raw = values::parse(&text, "Chart.yaml").map_err(|e| Error::Metadata {
        chart: label.to_string(),
        reason: e.to_string(),
    })?;
    chart.metadata = serde_json::from_value(raw.clone()).map_err(|e| Error::Metadata {
        chart: label.to_string(),
        reason: e.to_string(),
    })?;
    chart.raw_metadata = raw;
    validate_metadata(&mut chart.metadata).map_err(|reason| Error::Metadata {
        chart: label.to_string(),
        reason,
    })?;
    if let Some(requirements) = requirements
        && chart.metadata.api_version == "v1"
    {
        #[derive(Deserialize)]
        struct Requirements {
            #[serde(default)]
            dependencies: Vec<Dependency>,
        }
        let text = String::from_utf8_lossy(&requirements);
        let value = values::parse(&text, "requirements.yaml").map_err(|e| Error::Requirements {
            chart: label.to_string(),
            reason: e.to_string(),
        })?;
        let parsed: Requirements =
            serde_json::from_value(value).map_err(|e| Error::Requirements {
                chart: label.to_string(),
                reason: e.to_string(),
            })?;
        chart.metadata.dependencies = parsed.dependencies;
    }
    let mut subcharts: Vec<(String, Chart)> = Vec::new();
    for (dir, files) in subchart_files {
        let sub_label = format!("{label}/charts/{dir}");
        subcharts.push((dir, from_files(files, &sub_label, depth + 1)?));
    }
    for archive in subchart_archives {
        let sub_label = format!("{label}/{}", archive.name);
        subcharts.push((
            archive.name.clone(),
            load_archive_at(&archive.data, &sub_label, depth + 1)?,
        ));
    }
    subcharts.sort_by(|a, b| a.0.cmp(&b.0));
    chart.dependencies = subcharts.into_iter().map(|(_, c)| c).collect();
    Ok(chart)
}

fn validate_metadata(metadata: &mut Metadata) -> Result<(), String> {
    if metadata.api_version.is_empty() {
        return Err("validation: chart.metadata.apiVersion is required".to_string());
    }
    if metadata.api_version != "v1" && metadata.api_version != "v2" {
        return Err(format!(
            "validation: chart.metadata.apiVersion \"{}\" is not valid (v1 or v2)",
            metadata.api_version
        ));
    }
    if metadata.name.is_empty() {
        return Err("validation: chart.metadata.name is required".to_string());
    }
    if metadata.name.contains('/') || metadata.name.contains('\\') || metadata.name == ".." {
        return Err(format!(
            "validation: chart.metadata.name \"{}\" is not a valid chart name",
            metadata.name
        ));
    }
    if metadata.version.is_empty() {
        return Err("validation: chart.metadata.version is required".to_string());
    }
    if metadata.chart_type.is_empty() {
        metadata.chart_type = "application".to_string();
    }
    if metadata.chart_type != "application" && metadata.chart_type != "library" {
        return Err("chart.metadata.type must be application or library".to_string());
    }
    Ok(())
}

/// `.helmignore` rules (Helm's subset of gitignore: no `**`).
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    rules: Vec<IgnoreRule>,
}

#[derive(Debug, Clone)]
struct IgnoreRule {
    pattern: String,
    negate: bool,
    dir_only: bool,
    /// Match against the whole relative path instead of the base name.
    full_path: bool,
}

impl IgnoreRules {
    /// The rules Helm always adds: hidden files under `templates/`.
    pub fn defaults() -> IgnoreRules {
        let mut rules = IgnoreRules::default();
        // Infallible: the pattern is fixed and valid.
        let _ = rules.add("templates/.?*");
        rules
    }

    /// Adds the rules of a `.helmignore` text.
    pub fn add(&mut self, text: &str) -> Result<(), String> {
        for line in text.lines() {
            let mut rule = line.trim();
            if rule.is_empty() || rule.starts_with('#') {
                continue;
            }
            if rule.contains("**") {
                return Err(format!("double-star (**) syntax is not supported: {rule}"));
            }
            let negate = rule.starts_with('!');
            if negate {
                rule = &rule[1..];
            }
            let dir_only = rule.ends_with('/');
            let rule = rule.trim_end_matches('/');
            let (pattern, full_path) = if let Some(stripped) = rule.strip_prefix('/') {
                (stripped.to_string(), true)
            } else {
                (rule.to_string(), rule.contains('/'))
            };
            if glob_match(&pattern, "").is_err() {
                return Err(format!("syntax error in pattern: {line}"));
            }
            self.rules.push(IgnoreRule {
                pattern,
                negate,
                dir_only,
                full_path,
            });
        }
        Ok(())
    }

    /// Whether `path` (relative, `/`-separated) is ignored.
    pub fn ignored(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." {
            return false;
        }
        let base = path.rsplit('/').next().unwrap_or(path);
        for rule in &self.rules {
            let subject = if rule.full_path { path } else { base };
            let matched = glob_match(&rule.pattern, subject).unwrap_or(false);
            if rule.negate {
                if rule.dir_only && !is_dir {
                    return true;
                }
                if !matched {
                    return true;
                }
                continue;
            }
            if rule.dir_only && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

/// A glob pattern that Go's `path.Match` would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("syntax error in pattern {pattern:?}")]
pub struct BadPattern {
    /// The pattern.
    pub pattern: String,
}

/// Go's `path.Match`: `*` and `?` do not cross `/`, `[...]` classes with ranges and `^`/`!`.
/// Errors on a malformed pattern.
pub fn glob_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    validate_glob(&p).map_err(|()| BadPattern {
        pattern: pattern.to_string(),
    })?;
    Ok(match_from(&p, &n))
}

fn validate_glob(p: &[char]) -> Result<(), ()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(());
                }
                i += 2;
            }
            '[' => {
                let end = class_end(p, i).ok_or(())?;
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Index of the `]` closing the class that opens at `start`.
fn class_end(p: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if i < p.len() && (p[i] == '^' || p[i] == '!') {
        i += 1;
    }
    let first = i;
    while i < p.len() {
        if p[i] == '\\' {
            i += 2;
            continue;
        }
        if p[i] == ']' && i > first {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn class_matches(class: &[char], c: char) -> bool {
    let (negated, body) = match class.first() {
        Some('^') | Some('!') => (true, &class[1..]),
        _ => (false, class),
    };
    let mut i = 0;
    let mut hit = false;
    while i < body.len() {
        let mut lo = body[i];
        if lo == '\\' && i + 1 < body.len() {
            i += 1;
            lo = body[i];
        }
        let mut hi = lo;
        if i + 2 < body.len() && body[i + 1] == '-' {
            hi = body[i + 2];
            if hi == '\\' && i + 3 < body.len() {
                hi = body[i + 3];
                i += 1;
            }
            i += 2;
        }
        if lo <= c && c <= hi {
            hit = true;
        }
        i += 1;
    }
    hit != negated
}

fn match_from(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => {
            let rest = &p[1..];
            let mut j = 0;
            loop {
                if match_from(rest, &n[j..]) {
                    return true;
                }
                if j >= n.len() || n[j] == '/' {
                    return false;
                }
                j += 1;
            }
        }
        Some('?') => !n.is_empty() && n[0] != '/' && match_from(&p[1..], &n[1..]),
        Some('[') => {
            let Some(end) = class_end(p, 0) else {
                return false;
            };
            !n.is_empty()
                && n[0] != '/'
                && class_matches(&p[1..end], n[0])
                && match_from(&p[end + 1..], &n[1..])
        }
        Some('\\') if p.len() > 1 => !n.is_empty() && n[0] == p[1] && match_from(&p[2..], &n[1..]),
        Some(&c) => !n.is_empty() && n[0] == c && match_from(&p[1..], &n[1..]),
    }
}
