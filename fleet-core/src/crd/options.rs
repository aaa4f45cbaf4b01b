//! `BundleDeploymentOptions` and everything nested in it.
//!
//! **These types are hashed.** Fleet's deployment ID is
//! `manifestID + ":" + sha256hex(json(options) + "\n")`, so `serde_json::to_string` of
//! [`BundleDeploymentOptions`] must give the bytes Go's `encoding/json` gives for the Go
//! struct. Therefore, in every struct of this module:
//!
//! * fields are declared in the order of the Go struct
//!   (`pkg/apis/fleet.cattle.io/v1alpha1/bundledeployment_types.go` in rancher/fleet);
//! * `skip_serializing_if` mirrors Go's `omitempty`: a string is skipped when empty, a bool
//!   when false, an integer when zero, a slice or map when nil or empty, a pointer (here an
//!   `Option`) only when nil; fields without `omitempty` are always written;
//! * unknown fields are dropped on input (as Go does), never written back.
//!
//! Maps are `BTreeMap`s, whose keys serialise sorted exactly like Go sorts map keys. Free-form
//! Helm values are a `serde_json::Map`, which (without serde_json's `preserve_order`
//! feature) is sorted as well. Number formatting inside values is the hashing code's concern:
//! Go decodes them as float64.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::meta::{is_false, is_zero_i64, none_or_empty_map, null_default};
use crate::selector::LabelSelector;

/// Options for deploying a bundle to a cluster (Go `BundleDeploymentOptions`).
///
/// Inlined into Bundle specs and targets; the `options`/`stagedOptions` of a
/// BundleDeployment. Field order and `omitempty` mirror the Go struct (see the module
/// docs): do not reorder fields. Unknown fields are dropped on input, as in Go.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleDeploymentOptions {
    /// Namespace for namespaced objects that do not name one; not a restriction.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub default_namespace: String,
    /// TargetNamespace: forces every object into this namespace (JSON `namespace`).
    #[serde(
        rename = "namespace",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub target_namespace: String,
    /// Kustomize options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<KustomizeOptions>,
    /// Helm options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<HelmOptions>,
    /// Downstream service account used for the deployment.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub service_account: String,
    /// `false` turns off namespace creation (Go `*bool`, v0.16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_namespace: Option<bool>,
    /// Bumping it forces a redeployment.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub force_sync_generation: i64,
    /// Raw-YAML overlay options (JSON `yaml`).
    #[serde(rename = "yaml", default, skip_serializing_if = "Option::is_none")]
    pub yaml: Option<YamlOptions>,
    /// Drift-detection exclusions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<DiffOptions>,
    /// Keep deployed objects when the bundle is removed.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub keep_resources: bool,
    /// Delete the target namespace when the bundle is removed.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub delete_namespace: bool,
    /// Status conditions to ignore. A Go struct value: always written (`"ignore":{}`).
    #[serde(default, deserialize_with = "null_default")]
    pub ignore: IgnoreOptions,
    /// Drift correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correct_drift: Option<CorrectDrift>,
    /// Labels for the release namespace (Go `*map`: `Some(empty)` is written as `{}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_labels: Option<BTreeMap<String, String>>,
    /// Annotations for the release namespace (Go `*map`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_annotations: Option<BTreeMap<String, String>>,
    /// Delete CRDs (and so all their custom resources) on removal.
    #[serde(
        rename = "deleteCRDResources",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub delete_crd_resources: bool,
    /// Secrets/ConfigMaps copied from the bundle namespace to the downstream cluster.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub downstream_resources: Vec<DownstreamResource>,
    /// Internal: resources of this bundle that overwrite another bundle's resources.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub overwrites: Vec<OverwrittenResource>,
    /// Internal: downstream namespaces allowed by GitRepoRestrictions, checked by the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_target_namespace_selector: Option<LabelSelector>,
}

/// Helm options (Go `HelmOptions`). Field order and `omitempty` mirror the Go struct.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmOptions {
    /// Chart: local path, URL, `oci://` reference, or chart name when `repo` is set.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub chart: String,
    /// Helm repository URL (HTTP(S) or `oci://`).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub repo: String,
    /// Release name; default derived from the BundleDeployment name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub release_name: String,
    /// Chart version or semver constraint.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub version: String,
    /// Seconds Helm waits for readiness; 0 = no wait.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub timeout_seconds: i64,
    /// Helm values, free-form (Go `*GenericMap`: `Some(empty)` is written as `{}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Map<String, Value>>,
    /// Key → template string, rendered per cluster into `values[key]`.
    #[serde(default, skip_serializing_if = "none_or_empty_map")]
    pub template_values: Option<BTreeMap<String, String>>,
    /// ConfigMap/Secret keys merged over the values at install time.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub values_from: Vec<ValuesFrom>,
    /// Force-replace resources.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub force: bool,
    /// Adopt existing objects that lack Helm metadata.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub take_ownership: bool,
    /// Helm history length (0 = Fleet's default).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub max_history: i64,
    /// Values files, relative to the bundle directory, merged at apply time.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub values_files: Vec<String>,
    /// Wait for Jobs to complete (with a timeout).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub wait_for_jobs: bool,
    /// Roll back on failure.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub atomic: bool,
    /// Skip `${ }` templating of values. Go's JSON decoding matches keys case-insensitively,
    /// so `disablePreprocess` (as fleet.yaml files and Fleet's own tests spell it) sets it too.
    #[serde(
        alias = "disablePreprocess",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub disable_pre_process: bool,
    /// Helm `EnableDNS = false` (JSON `disableDNS`).
    #[serde(
        rename = "disableDNS",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub disable_dns: bool,
    /// Skip `values.schema.json` validation.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub skip_schema_validation: bool,
    /// Do not run `helm dependency update`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub disable_dependency_update: bool,
}

/// A source of Helm values (Go `ValuesFrom`). Order and `omitempty` mirror Go.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValuesFrom {
    /// A ConfigMap key holding values YAML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<KeySelector>,
    /// A Secret key holding values YAML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<KeySelector>,
}

/// Go `ConfigMapKeySelector` / `SecretKeySelector` (identical on the wire). `name` has no
/// `omitempty` in Go and is always written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeySelector {
    /// Object name (always written, even when empty).
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// Namespace; default the release namespace.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace: String,
    /// Key; default `values.yaml`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub key: String,
}

/// Kustomize options (Go `KustomizeOptions`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeOptions {
    /// Folder holding `kustomization.yaml`, relative to the bundle root.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub dir: String,
}

/// Raw-YAML overlay options (Go `YAMLOptions`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct YamlOptions {
    /// Names of `overlays/<name>/` folders to apply.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub overlays: Vec<String>,
}

/// Drift-detection options (Go `DiffOptions`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffOptions {
    /// Patches matching resources whose listed fields are excluded from drift detection.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub compare_patches: Vec<ComparePatch>,
}

/// One drift exclusion (Go `ComparePatch`). Order and `omitempty` mirror Go.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComparePatch {
    /// Kind of the resource to match.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub kind: String,
    /// apiVersion of the resource to match.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_version: String,
    /// Namespace of the resource to match.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace: String,
    /// Name of the resource to match.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// JSON-patch style operations (`remove`, or `ignore` for the whole object).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub operations: Vec<Operation>,
    /// JSON pointers whose differences are ignored.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub json_pointers: Vec<String>,
}

/// An operation of a [`ComparePatch`] (Go `Operation`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// `remove` or `ignore`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub op: String,
    /// JSON path the operation applies to.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub path: String,
    /// Usually empty.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub value: String,
}

/// Conditions to ignore when monitoring (Go `IgnoreOptions`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IgnoreOptions {
    /// A status condition containing every key/value of one entry is ignored.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub conditions: Vec<BTreeMap<String, String>>,
}

/// Drift correction (Go `CorrectDrift`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CorrectDrift {
    /// Roll back drifted releases automatically.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub enabled: bool,
    /// Use `--force` for the rollback.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub force: bool,
    /// Keep failed rollbacks in the Helm history.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub keep_fail_history: bool,
}

/// A Secret or ConfigMap copied downstream (Go `DownstreamResource`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownstreamResource {
    /// `Secret` or `ConfigMap`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub kind: String,
    /// Object name in the bundle namespace.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
}

/// Internal marker of a resource that overwrites another bundle's resource.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OverwrittenResource {
    /// Kind of the resource.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub kind: String,
    /// Name of the resource.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Namespace of the resource.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace: String,
}
