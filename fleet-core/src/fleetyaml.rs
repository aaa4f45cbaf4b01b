//! The `fleet.yaml` model: what a bundle directory says about its bundle.
//!
//! Fleet decodes `fleet.yaml` with `sigs.k8s.io/yaml` (YAML → JSON → Go struct `FleetYAML`),
//! and decodes the same bytes a second time as Kubernetes `ObjectMeta`, which is how the
//! top-level `annotations` reach the Bundle. [`parse`] reproduces that decoding:
//!
//! * the YAML goes through [`crate::yaml`] (the workspace scalar policy) to a JSON value; an
//!   empty file is an empty `fleet.yaml`; only the first document counts;
//! * keys match field names **case-insensitively** when there is no exact match, as in Go's
//!   `encoding/json` (`disablePreprocess` sets `disablePreProcess`);
//! * **unknown keys are ignored** (Fleet is not strict); their paths are listed in
//!   [`FleetYaml::ignored_keys`];
//! * numbers and booleans written where a string is expected become strings
//!   (`version: 1.2` → `"1.2"`, `labels: {tier: 1}` → `"1"`), as `sigs.k8s.io/yaml` converts
//!   them, and YAML 1.1 booleans (`yes`, `off`, …) are accepted where a boolean is expected;
//! * a value of the wrong type is an [`Error::Invalid`] naming the file, the key path
//!   (`targetCustomizations[2].clusterSelector`) and what was expected;
//! * Fleet's read-time validation runs (`internal/bundlereader/validate_fleetyaml.go`): every
//!   `dependsOn` entry needs a `name` or a `selector`, and `acceptedStates` must be bundle
//!   states.
//!
//! Label selectors are not validated by Fleet when it reads `fleet.yaml` (an invalid one
//! fails targeting later); [`FleetYaml::validate_selectors`] does that check on demand.
//! `imageScans` are rejected by Fleet unless the experimental feature is on:
//! [`FleetYaml::check_image_scans`].
//!
//! ```
//! let text = "defaultNamespace: demo\nhelm:\n  chart: ./chart\n  values:\n    replicas: 2\ntargetCustomizations:\n- name: prod\n  clusterSelector:\n    matchLabels: {env: prod}\n  helm:\n    values: {replicas: 3}\n";
//! let fleet = fleet_core::fleetyaml::parse("app/fleet.yaml", text).unwrap();
//! assert_eq!(fleet.spec.options.default_namespace, "demo");
//! assert_eq!(fleet.target_customizations[0].name, "prod");
//!
//! let err = fleet_core::fleetyaml::parse("app/fleet.yaml", "helm:\n  values: [1]\n").unwrap_err();
//! assert_eq!(err.to_string(), "app/fleet.yaml: helm.values: expected a mapping, found a list");
//! ```

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::crd::{AlphabeticalPolicy, ImagePolicyChoice, SemVerPolicy};
use crate::crd::{BundleSpec, BundleTarget, GitTarget, LocalObjectReference};
use crate::meta::{Unknown, is_false, null_default};
use crate::state::BundleState;

/// A `fleet.yaml` error. Its message names the file, the key and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text is not valid YAML.
    #[error("{file}: invalid YAML: {message}")]
    Yaml {
        /// The file, as given to [`parse`].
        file: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A key has a value of the wrong type, or fails Fleet's validation.
    #[error("{file}: {key}: {reason}")]
    Invalid {
        /// The file, as given to [`parse`].
        file: String,
        /// JSON path of the key, e.g. `dependsOn[0].acceptedStates[1]`; `(top level)` for
        /// the document itself.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// The contents of a `fleet.yaml` (Go `FleetYAML`, plus `annotations` from the metadata
/// decoding).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetYaml {
    /// Bundle name, used verbatim; empty means derived from repository and path.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Labels added to the Bundle.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    /// Annotations added to the Bundle (read through Fleet's `ObjectMeta` decoding).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    /// The Bundle spec keys, inline: options, `targets`, `dependsOn`, `rolloutStrategy`, …
    #[serde(flatten)]
    pub spec: BundleSpec,
    /// Per-cluster customizations, appended after `targets`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub target_customizations: Vec<BundleTarget>,
    /// Image scans (experimental feature).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub image_scans: Vec<ImageScanYaml>,
    /// Replaces the GitRepo's targets when present (even when empty: `Some(vec![])`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_targets: Option<Vec<GitTarget>>,
    /// The `substitute` extension (not a Fleet key; see [`crate::substitute`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub substitute: Option<crate::substitute::SubstituteOptions>,
    /// Paths of keys Fleet ignores (unknown fields), in document order.
    #[serde(skip)]
    pub ignored_keys: Vec<String>,
}

/// One `imageScans` entry (Go `ImageScanYAML`: `name` plus `ImageScanSpec` inline).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageScanYaml {
    /// Unused name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Tag reference put in manifests to mark fields to update; required.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub tag_name: String,
    /// GitRepo to commit to.
    #[serde(
        rename = "gitrepoName",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub gitrepo_name: String,
    /// Image repository to scan; entries without one are skipped.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub image: String,
    /// Scan interval (Go duration string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Registry credentials Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Suspend scanning.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub suspend: bool,
    /// Tag selection policy.
    #[serde(default, deserialize_with = "null_default")]
    pub policy: ImagePolicyChoice,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Parses a `fleet.yaml` the way Fleet reads it (see the module docs). `path_for_errors`
/// is only used in error messages.
pub fn parse(path_for_errors: &str, text: &str) -> Result<FleetYaml, Error> {
    let file = path_for_errors.to_string();
    let docs = crate::yaml::documents(text).map_err(|err| Error::Yaml {
        file: file.clone(),
        message: match err {
            crate::yaml::Error::Parse { message } => message,
            other => other.to_string(),
        },
    })?;
    // sigs.k8s.io/yaml decodes the first document and ignores the rest.
    let first = docs.into_iter().next().unwrap_or(Value::Null);
    if first.is_null() {
        return Ok(FleetYaml::default());
    }
    let mut ignored = Vec::new();
    let mut path = String::new();
    let value = conform(first, &FLEET_YAML, &mut path, &mut ignored).map_err(
        |Mismatch { key, reason }| Error::Invalid {
            file: file.clone(),
            key: display_key(&key),
            reason,
        },
    )?;
    let mut fleet: FleetYaml = serde_json::from_value(value).map_err(|err| Error::Invalid {
        file: file.clone(),
        key: display_key(""),
        reason: err.to_string(),
    })?;
    fleet.ignored_keys = ignored;
    fleet.validate(&file)?;
    Ok(fleet)
}

fn display_key(key: &str) -> String {
    if key.is_empty() {
        "(top level)".to_string()
    } else {
        key.to_string()
    }
}

impl FleetYaml {
    /// Fleet's read-time checks (`validate_fleetyaml.go`): each `dependsOn` entry names a
    /// bundle or has a selector, and every accepted state is a bundle state
    /// (case-sensitive). [`parse`] runs it; call it again after editing a value.
    pub fn validate(&self, file: &str) -> Result<(), Error> {
        for (i, dep) in self.spec.depends_on.iter().enumerate() {
            if dep.name.is_empty() && dep.selector.is_none() {
                return Err(Error::Invalid {
                    file: file.to_string(),
                    key: format!("dependsOn[{i}]"),
                    reason: "must specify either 'name' or 'selector'".to_string(),
                });
            }
            for (j, state) in dep.accepted_states.iter().enumerate() {
                if let Err(err) = BundleState::from_str(state) {
                    return Err(Error::Invalid {
                        file: file.to_string(),
                        key: format!("dependsOn[{i}].acceptedStates[{j}]"),
                        reason: err.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Checks every label selector (targets, customizations, override targets, dependsOn,
    /// rollout partitions) with Kubernetes' rules. Fleet itself only finds an invalid
    /// selector when targeting, where it fails the whole bundle.
    pub fn validate_selectors(&self, file: &str) -> Result<(), Error> {
        let mut selectors = Vec::new();
        let targets = self.spec.targets.iter().map(|t| ("targets", t)).chain(
            self.target_customizations
                .iter()
                .map(|t| ("targetCustomizations", t)),
        );
        let mut counters: BTreeMap<&str, usize> = BTreeMap::new();
        for (list, target) in targets {
            let index = counters.entry(list).or_default();
            let prefix = format!("{list}[{index}]");
            *index += 1;
            selectors.push((
                format!("{prefix}.clusterSelector"),
                &target.cluster_selector,
            ));
            selectors.push((
                format!("{prefix}.clusterGroupSelector"),
                &target.cluster_group_selector,
            ));
        }
        for (i, target) in self.override_targets.iter().flatten().enumerate() {
            selectors.push((
                format!("overrideTargets[{i}].clusterSelector"),
                &target.cluster_selector,
            ));
            selectors.push((
                format!("overrideTargets[{i}].clusterGroupSelector"),
                &target.cluster_group_selector,
            ));
        }
        for (i, dep) in self.spec.depends_on.iter().enumerate() {
            selectors.push((format!("dependsOn[{i}].selector"), &dep.selector));
        }
        if let Some(rollout) = &self.spec.rollout_strategy {
            for (i, partition) in rollout.partitions.iter().enumerate() {
                selectors.push((
                    format!("rolloutStrategy.partitions[{i}].clusterSelector"),
                    &partition.cluster_selector,
                ));
                selectors.push((
                    format!("rolloutStrategy.partitions[{i}].clusterGroupSelector"),
                    &partition.cluster_group_selector,
                ));
            }
        }
        for (key, selector) in selectors {
            if let Some(selector) = selector
                && let Err(err) = selector.to_selector()
            {
                return Err(Error::Invalid {
                    file: file.to_string(),
                    key,
                    reason: err.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Whether the file declares image scans.
    pub fn has_image_scans(&self) -> bool {
        !self.image_scans.is_empty()
    }

    /// Fleet's `fleet apply` refuses `imageScans` unless the experimental image-scan
    /// feature is enabled; when it is, entries with an image need a `tagName`.
    pub fn check_image_scans(&self, file: &str, enabled: bool) -> Result<(), Error> {
        if !self.has_image_scans() {
            return Ok(());
        }
        if !enabled {
            return Err(Error::Invalid {
                file: file.to_string(),
                key: "imageScans".to_string(),
                reason: "image scans are an experimental feature and are not enabled".to_string(),
            });
        }
        for (i, scan) in self.image_scans.iter().enumerate() {
            if !scan.image.is_empty() && scan.tag_name.is_empty() {
                return Err(Error::Invalid {
                    file: file.to_string(),
                    key: format!("imageScans[{i}].tagName"),
                    reason: "the tag name of an image scan is required".to_string(),
                });
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Shape-directed conversion of the decoded YAML, as sigs.k8s.io/yaml + encoding/json do it.

/// The type a key decodes into.
enum Shape {
    /// A Go string: numbers and booleans are converted to strings.
    Str,
    /// A Go bool.
    Bool,
    /// A Go integer.
    Int,
    /// An `IntOrString`.
    IntOrStr,
    /// A `map[string]string`.
    StrMap,
    /// A free-form map (`GenericMap`): any mapping.
    FreeMap,
    /// A list of elements of a shape.
    List(&'static Shape),
    /// A struct: groups of fields (inline structs contribute a group each).
    Struct(&'static [&'static [Field]]),
}

/// A struct field: JSON name and shape.
struct Field(&'static str, &'static Shape);

struct Mismatch {
    key: String,
    reason: String,
}

static STR: Shape = Shape::Str;
static BOOL: Shape = Shape::Bool;
static INT: Shape = Shape::Int;
static INT_OR_STR: Shape = Shape::IntOrStr;
static STR_MAP: Shape = Shape::StrMap;
static FREE_MAP: Shape = Shape::FreeMap;
static STR_LIST: Shape = Shape::List(&STR);

static SELECTOR: Shape = Shape::Struct(&[&[
    Field("matchLabels", &STR_MAP),
    Field("matchExpressions", &Shape::List(&REQUIREMENT)),
]]);
static REQUIREMENT: Shape = Shape::Struct(&[&[
    Field("key", &STR),
    Field("operator", &STR),
    Field("values", &STR_LIST),
]]);

static KEY_SELECTOR: Shape = Shape::Struct(&[&[
    Field("name", &STR),
    Field("namespace", &STR),
    Field("key", &STR),
]]);

static HELM: Shape = Shape::Struct(&[&[
    Field("chart", &STR),
    Field("repo", &STR),
    Field("releaseName", &STR),
    Field("version", &STR),
    Field("timeoutSeconds", &INT),
    Field("values", &FREE_MAP),
    Field("templateValues", &STR_MAP),
    Field(
        "valuesFrom",
        &Shape::List(&Shape::Struct(&[&[
            Field("configMapKeyRef", &KEY_SELECTOR),
            Field("secretKeyRef", &KEY_SELECTOR),
        ]])),
    ),
    Field("force", &BOOL),
    Field("takeOwnership", &BOOL),
    Field("maxHistory", &INT),
    Field("valuesFiles", &STR_LIST),
    Field("waitForJobs", &BOOL),
    Field("atomic", &BOOL),
    Field("disablePreProcess", &BOOL),
    Field("disableDNS", &BOOL),
    Field("skipSchemaValidation", &BOOL),
    Field("disableDependencyUpdate", &BOOL),
]]);

static OPTIONS: &[Field] = &[
    Field("defaultNamespace", &STR),
    Field("namespace", &STR),
    Field("kustomize", &Shape::Struct(&[&[Field("dir", &STR)]])),
    Field("helm", &HELM),
    Field("serviceAccount", &STR),
    Field("createNamespace", &BOOL),
    Field("forceSyncGeneration", &INT),
    Field("yaml", &Shape::Struct(&[&[Field("overlays", &STR_LIST)]])),
    Field(
        "diff",
        &Shape::Struct(&[&[Field(
            "comparePatches",
            &Shape::List(&Shape::Struct(&[&[
                Field("kind", &STR),
                Field("apiVersion", &STR),
                Field("namespace", &STR),
                Field("name", &STR),
                Field(
                    "operations",
                    &Shape::List(&Shape::Struct(&[&[
                        Field("op", &STR),
                        Field("path", &STR),
                        Field("value", &STR),
                    ]])),
                ),
                Field("jsonPointers", &STR_LIST),
            ]])),
        )]]),
    ),
    Field("keepResources", &BOOL),
    Field("deleteNamespace", &BOOL),
    Field(
        "ignore",
        &Shape::Struct(&[&[Field("conditions", &Shape::List(&STR_MAP))]]),
    ),
    Field(
        "correctDrift",
        &Shape::Struct(&[&[
            Field("enabled", &BOOL),
            Field("force", &BOOL),
            Field("keepFailHistory", &BOOL),
        ]]),
    ),
    Field("namespaceLabels", &STR_MAP),
    Field("namespaceAnnotations", &STR_MAP),
    Field("deleteCRDResources", &BOOL),
    Field(
        "downstreamResources",
        &Shape::List(&Shape::Struct(&[&[
            Field("kind", &STR),
            Field("name", &STR),
        ]])),
    ),
    Field(
        "overwrites",
        &Shape::List(&Shape::Struct(&[&[
            Field("kind", &STR),
            Field("name", &STR),
            Field("namespace", &STR),
        ]])),
    ),
    Field("allowedTargetNamespaceSelector", &SELECTOR),
];

static CLUSTER_CRITERIA: &[Field] = &[
    Field("name", &STR),
    Field("clusterName", &STR),
    Field("clusterSelector", &SELECTOR),
    Field("clusterGroup", &STR),
    Field("clusterGroupSelector", &SELECTOR),
];

static TARGET: Shape = Shape::Struct(&[OPTIONS, CLUSTER_CRITERIA, &[Field("doNotDeploy", &BOOL)]]);
static GIT_TARGET: Shape = Shape::Struct(&[CLUSTER_CRITERIA]);

static BUNDLE_SPEC: &[Field] = &[
    Field("paused", &BOOL),
    Field(
        "rolloutStrategy",
        &Shape::Struct(&[&[
            Field("maxUnavailable", &INT_OR_STR),
            Field("maxUnavailablePartitions", &INT_OR_STR),
            Field("autoPartitionSize", &INT_OR_STR),
            Field("autoPartitionThreshold", &INT),
            Field("maxNew", &INT),
            Field(
                "partitions",
                &Shape::List(&Shape::Struct(&[&[
                    Field("name", &STR),
                    Field("maxUnavailable", &INT_OR_STR),
                    Field("clusterName", &STR),
                    Field("clusterSelector", &SELECTOR),
                    Field("clusterGroup", &STR),
                    Field("clusterGroupSelector", &SELECTOR),
                ]])),
            ),
        ]]),
    ),
    Field(
        "resources",
        &Shape::List(&Shape::Struct(&[&[
            Field("name", &STR),
            Field("content", &STR),
            Field("encoding", &STR),
        ]])),
    ),
    Field("targetCustomizationMode", &STR),
    Field("targets", &Shape::List(&TARGET)),
    Field("targetRestrictions", &Shape::List(&GIT_TARGET)),
    Field(
        "dependsOn",
        &Shape::List(&Shape::Struct(&[&[
            Field("name", &STR),
            Field("selector", &SELECTOR),
            Field("acceptedStates", &STR_LIST),
        ]])),
    ),
    Field("contentsId", &STR),
    Field(
        "helmOpOptions",
        &Shape::Struct(&[&[
            Field("helmOpSecretName", &STR),
            Field("helmOpInsecureSkipTLSVerify", &BOOL),
            Field("helmOpCABundle", &STR),
        ]]),
    ),
    Field("valuesHash", &STR),
];

static IMAGE_SCAN: Shape = Shape::Struct(&[&[
    Field("name", &STR),
    Field("tagName", &STR),
    Field("gitrepoName", &STR),
    Field("image", &STR),
    Field("interval", &STR),
    Field("secretRef", &Shape::Struct(&[&[Field("name", &STR)]])),
    Field("suspend", &BOOL),
    Field(
        "policy",
        &Shape::Struct(&[&[
            Field("semver", &Shape::Struct(&[&[Field("range", &STR)]])),
            Field("alphabetical", &Shape::Struct(&[&[Field("order", &STR)]])),
        ]]),
    ),
]]);

static FLEET_YAML: Shape = Shape::Struct(&[
    &[
        Field("name", &STR),
        Field("labels", &STR_MAP),
        Field("annotations", &STR_MAP),
    ],
    OPTIONS,
    BUNDLE_SPEC,
    &[
        Field("targetCustomizations", &Shape::List(&TARGET)),
        Field("imageScans", &Shape::List(&IMAGE_SCAN)),
        Field("overrideTargets", &Shape::List(&GIT_TARGET)),
        Field(
            crate::substitute::FLEET_YAML_KEY,
            &Shape::Struct(&[&[
                Field("enabled", &BOOL),
                Field("strict", &BOOL),
                Field("variables", &STR_MAP),
            ]]),
        ),
    ],
]);

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a floating-point number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn mismatch(path: &str, expected: &str, found: &Value) -> Mismatch {
    Mismatch {
        key: path.to_string(),
        reason: format!("expected {expected}, found {}", kind_of(found)),
    }
}

/// Converts `value` to what Go would decode for `shape`: canonical key names, strings for
/// scalars in string positions, unknown keys dropped (recorded in `ignored`).
fn conform(
    value: Value,
    shape: &Shape,
    path: &mut String,
    ignored: &mut Vec<String>,
) -> Result<Value, Mismatch> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    match shape {
        Shape::Str => match value {
            Value::String(_) => Ok(value),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            Value::Number(n) => Ok(Value::String(go_number_string(&n))),
            other => Err(mismatch(path, "a string", &other)),
        },
        Shape::Bool => match value {
            Value::Bool(_) => Ok(value),
            Value::String(s) => match yaml11_bool(&s) {
                Some(b) => Ok(Value::Bool(b)),
                None => Err(mismatch(path, "a boolean", &Value::String(s))),
            },
            other => Err(mismatch(path, "a boolean", &other)),
        },
        Shape::Int => match &value {
            Value::Number(n) if n.is_i64() => Ok(value),
            _ => Err(mismatch(path, "an integer", &value)),
        },
        Shape::IntOrStr => match &value {
            Value::Number(n) if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => Ok(value),
            Value::String(_) => Ok(value),
            _ => Err(mismatch(path, "an integer or a string", &value)),
        },
        Shape::FreeMap => match value {
            Value::Object(_) => Ok(value),
            other => Err(mismatch(path, "a mapping", &other)),
        },
        Shape::StrMap => match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, member) in map {
                    let len = path.len();
                    push_key(path, &key);
                    let member = conform(member, &STR, path, ignored)?;
                    path.truncate(len);
                    out.insert(key, member);
                }
                Ok(Value::Object(out))
            }
            other => Err(mismatch(path, "a mapping of strings", &other)),
        },
        Shape::List(element) => match value {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    out.push(conform(item, element, path, ignored)?);
                    path.truncate(len);
                }
                Ok(Value::Array(out))
            }
            other => Err(mismatch(path, "a list", &other)),
        },
        Shape::Struct(groups) => match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, member) in map {
                    let len = path.len();
                    push_key(path, &key);
                    match find_field(groups, &key) {
                        Some(field) => {
                            let member = conform(member, field.1, path, ignored)?;
                            // A later key for the same field wins, as Go decodes in order.
                            out.insert(field.0.to_string(), member);
                        }
                        None => ignored.push(path.clone()),
                    }
                    path.truncate(len);
                }
                Ok(Value::Object(out))
            }
            other => Err(mismatch(path, "a mapping", &other)),
        },
    }
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

/// The field Go's `encoding/json` picks for `key`: an exact match, else the first
/// case-insensitive one.
fn find_field<'a>(groups: &'a [&'a [Field]], key: &str) -> Option<&'a Field> {
    let fields = || groups.iter().flat_map(|group| group.iter());
    fields()
        .find(|field| field.0 == key)
        .or_else(|| fields().find(|field| field.0.eq_ignore_ascii_case(key)))
}

/// YAML 1.1 booleans of go-yaml v2, which sigs.k8s.io/yaml uses.
fn yaml11_bool(text: &str) -> Option<bool> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            Some(false)
        }
        _ => None,
    }
}

/// A number in a string position, as sigs.k8s.io/yaml converts it: integers in decimal,
/// floats with Go's `strconv.FormatFloat(f, 'g', -1, 32)`.
fn go_number_string(number: &serde_json::Number) -> String {
    if let Some(i) = number.as_i64() {
        return i.to_string();
    }
    if let Some(u) = number.as_u64() {
        return u.to_string();
    }
    format_float32_g(number.as_f64().unwrap_or_default())
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`: shortest digits of the float32 value, in
/// `%e` form when the decimal exponent is below -4 or at least 6 (exponent with a sign and
/// at least two digits), else in `%f` form.
fn format_float32_g(value: f64) -> String {
    let single = value as f32;
    if !single.is_finite() {
        return if single.is_nan() {
            "NaN".to_string()
        } else if single > 0.0 {
            "+Inf".to_string()
        } else {
            "-Inf".to_string()
        };
    }
    if single == 0.0 {
        return if single.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rust's `{:e}` prints the shortest round-tripping digits: `d[.ddd]e<exp>`.
    let scientific = format!("{single:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exponent.abs()));
    } else if exponent < 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-exponent - 1) as usize));
        out.push_str(&digits);
    } else {
        let point = exponent as usize + 1;
        if digits.len() <= point {
            out.push_str(&digits);
            out.push_str(&"0".repeat(point - digits.len()));
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::format_float32_g;

    #[test]
    fn float_strings_match_go_format_float_g_32() {
        // Expected values: Go's strconv.FormatFloat(x, 'g', -1, 32).
        let cases = [
            (1.1, "1.1"),
            (0.5, "0.5"),
            (-2.25, "-2.25"),
            (123456.7, "123456.7"),
            (1234567.5, "1.2345675e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.23456789, "1.2345679"),
            (1e30, "1e+30"),
            (12.0, "12"),
        ];
        for (input, expected) in cases {
            assert_eq!(format_float32_g(input), expected, "{input}");
        }
    }
}
