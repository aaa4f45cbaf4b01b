//! Option merging: `options.Merge(base, custom)` of Fleet's bundle controller
//! (`internal/cmd/controller/options/calculate.go`, spec §6.3), which applies a target
//! customization to the bundle's BundleDeploymentOptions, and the helpers it relies on:
//! wrangler's `data.MergeMaps` (Helm values deep merge) and Fleet's `merge.ByKey`.
//!
//! [`merge`] works on the typed [`BundleDeploymentOptions`]; [`merge_options_json`] applies
//! the same rules to options held as JSON (CRD field names).
//!
//! ```
//! use serde_json::json;
//! use fleet_core::merge::merge_options_json;
//! let base = json!({"helm": {"releaseName": "r", "values": {"a": {"x": 1}, "b": 2}}});
//! let custom = json!({"helm": {"values": {"a": {"y": 3}}, "force": true}});
//! assert_eq!(
//!     merge_options_json(&base, &custom),
//!     json!({"helm": {"releaseName": "r", "values": {"a": {"x": 1, "y": 3}, "b": 2}, "force": true}})
//! );
//! ```

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::crd::{
    BundleDeploymentOptions, DiffOptions, HelmOptions, KustomizeOptions, ValuesFrom, YamlOptions,
};

/// wrangler `data.MergeMaps(base, overlay)`: a new map with every key of `base`, then every key
/// of `overlay`; when both values are maps they are merged recursively, otherwise the overlay
/// value replaces the base value (including `null` and lists).
pub fn merge_maps(base: &Map<String, Value>, overlay: &Map<String, Value>) -> Map<String, Value> {
    let mut result = base.clone();
    for (k, v) in overlay {
        let merged = match (result.get(k), v) {
            (Some(Value::Object(b)), Value::Object(o)) => Value::Object(merge_maps(b, o)),
            _ => v.clone(),
        };
        result.insert(k.clone(), merged);
    }
    result
}

/// Fleet `merge.ByKey` with "custom wins": entries of `custom` whose non-empty key matches a
/// base entry replace it in place (the last base entry with that key); others are appended;
/// entries with an empty key are always appended; repeated keys within `custom` count once
/// (the first). An empty `custom` returns `base` unchanged.
pub fn merge_by_key<T: Clone>(base: &[T], custom: &[T], key: impl Fn(&T) -> String) -> Vec<T> {
    let mut result = base.to_vec();
    if custom.is_empty() {
        return result;
    }
    let mut base_index: HashMap<String, usize> = HashMap::with_capacity(base.len());
    for (i, v) in base.iter().enumerate() {
        let k = key(v);
        if !k.is_empty() {
            base_index.insert(k, i);
        }
    }
    let mut seen: HashSet<String> = HashSet::with_capacity(custom.len());
    for v in custom {
        let k = key(v);
        if !k.is_empty() {
            if !seen.insert(k.clone()) {
                continue;
            }
            if let Some(&idx) = base_index.get(&k) {
                result[idx] = v.clone();
                continue;
            }
        }
        result.push(v.clone());
    }
    result
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn int_field(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or_default()
}

fn bool_field(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or_default()
}

/// A present, non-null object member (a non-nil Go pointer / map).
fn present<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}

fn array_field<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Sets `key` to a list, or removes it when the list is empty (Go nil slice + omitempty).
fn set_list(obj: &mut Map<String, Value>, key: &str, list: Vec<Value>) {
    if list.is_empty() {
        obj.remove(key);
    } else {
        obj.insert(key.to_string(), Value::Array(list));
    }
}

fn set_nonempty_str(obj: &mut Map<String, Value>, custom: &Value, key: &str) {
    let s = str_field(custom, key);
    if !s.is_empty() {
        obj.insert(key.to_string(), Value::String(s.to_string()));
    }
}

fn or_bool(obj: &mut Map<String, Value>, custom: &Value, key: &str) {
    let base = obj.get(key).and_then(Value::as_bool).unwrap_or_default();
    if base || bool_field(custom, key) {
        obj.insert(key.to_string(), Value::Bool(true));
    }
}

/// A sub-object of `obj`, created empty when missing or null.
fn child<'a>(obj: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = obj
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

fn copy_string_map(obj: &mut Map<String, Value>, custom: &Value, key: &str) {
    let Some(Value::Object(add)) = present(custom, key) else {
        return;
    };
    if add.is_empty() {
        return;
    }
    let target = child(obj, key);
    for (k, v) in add {
        target.insert(k.clone(), v.clone());
    }
}

/// `valuesFromKey`: `configmap|ns|name|key`, `secret|ns|name|key`, or empty (always appended).
fn values_from_key(v: &Value) -> String {
    if let Some(r) = present(v, "configMapKeyRef") {
        return format!(
            "configmap|{}|{}|{}",
            str_field(r, "namespace"),
            str_field(r, "name"),
            str_field(r, "key")
        );
    }
    if let Some(r) = present(v, "secretKeyRef") {
        return format!(
            "secret|{}|{}|{}",
            str_field(r, "namespace"),
            str_field(r, "name"),
            str_field(r, "key")
        );
    }
    String::new()
}

/// `comparePatchKey`: `apiVersion|kind|namespace|name` (never empty).
fn compare_patch_key(v: &Value) -> String {
    format!(
        "{}|{}|{}|{}",
        str_field(v, "apiVersion"),
        str_field(v, "kind"),
        str_field(v, "namespace"),
        str_field(v, "name")
    )
}

/// `downstreamResourceKey`: `lower(kind)|name`.
fn downstream_resource_key(v: &Value) -> String {
    format!(
        "{}|{}",
        str_field(v, "kind").to_lowercase(),
        str_field(v, "name")
    )
}

/// `Merge(base, custom)` on BundleDeploymentOptions as JSON (spec §6.3, Fleet's
/// `calculate.go`). A value that is not an object counts as empty options.
///
/// * `defaultNamespace`, `namespace`, `serviceAccount`: custom if non-empty (`"-"` is copied
///   literally: Fleet's clear branch is unreachable).
/// * `helm`, when custom has it (created in the result if missing): `timeoutSeconds` custom if
///   positive, reset to 0 if negative; `values` deep-merged ([`merge_maps`], custom wins) or custom's when
///   base has none; `templateValues` key overwrite; `valuesFrom` by identity
///   ([`merge_by_key`]); `repo`, `chart`, `version`, `releaseName` custom if non-empty;
///   `force`, `atomic`, `takeOwnership`, `disablePreProcess`, `waitForJobs`, `disableDNS` OR.
/// * `kustomize.dir` custom if non-empty (the block is created when custom has one);
///   `diff.comparePatches` by `apiVersion|kind|namespace|name`; `yaml.overlays` appended;
///   `forceSyncGeneration` custom if > 0; `keepResources` OR; `correctDrift` replaced when
///   custom has it; `downstreamResources` by `lower(kind)|name`; `namespaceLabels` and
///   `namespaceAnnotations` key overwrite.
/// * Everything else (`deleteNamespace`, `deleteCRDResources`, `ignore`, `createNamespace`,
///   `helm.maxHistory`, …) comes from `base` only.
pub fn merge_options_json(base: &Value, custom: &Value) -> Value {
    let mut result = match base {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    for key in ["defaultNamespace", "namespace", "serviceAccount"] {
        set_nonempty_str(&mut result, custom, key);
    }
    if let Some(ch) = present(custom, "helm") {
        let helm = child(&mut result, "helm");
        let timeout = int_field(ch, "timeoutSeconds");
        if timeout > 0 {
            helm.insert("timeoutSeconds".into(), Value::from(timeout));
        } else if timeout < 0 {
            helm.remove("timeoutSeconds");
        }
        let base_has_values = helm.get("values").is_some_and(|v| !v.is_null());
        match (base_has_values, present(ch, "values")) {
            (false, Some(v)) => {
                helm.insert("values".into(), v.clone());
            }
            (true, Some(custom_values)) => {
                let empty = Map::new();
                let b = helm
                    .get("values")
                    .and_then(Value::as_object)
                    .unwrap_or(&empty);
                let c = custom_values.as_object().unwrap_or(&empty);
                let merged = merge_maps(b, c);
                helm.insert("values".into(), Value::Object(merged));
            }
            _ => {}
        }
        match (
            helm.get("templateValues").filter(|v| !v.is_null()),
            present(ch, "templateValues"),
        ) {
            (None, Some(v)) => {
                helm.insert("templateValues".into(), v.clone());
            }
            (Some(_), Some(_)) => copy_string_map(helm, ch, "templateValues"),
            _ => {}
        }
        let custom_from = array_field(ch, "valuesFrom");
        if !custom_from.is_empty() {
            let base_from = helm
                .get("valuesFrom")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let merged = merge_by_key(&base_from, custom_from, values_from_key);
            set_list(helm, "valuesFrom", merged);
        }
        for key in ["repo", "chart", "version", "releaseName"] {
            set_nonempty_str(helm, ch, key);
        }
        for key in [
            "force",
            "atomic",
            "takeOwnership",
            "disablePreProcess",
            "waitForJobs",
            "disableDNS",
        ] {
            or_bool(helm, ch, key);
        }
    }
    if let Some(ck) = present(custom, "kustomize") {
        let kustomize = child(&mut result, "kustomize");
        set_nonempty_str(kustomize, ck, "dir");
    }
    if let Some(cd) = present(custom, "diff") {
        let diff = child(&mut result, "diff");
        let base_patches = diff
            .get("comparePatches")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let merged = merge_by_key(
            &base_patches,
            array_field(cd, "comparePatches"),
            compare_patch_key,
        );
        set_list(diff, "comparePatches", merged);
    }
    if let Some(cy) = present(custom, "yaml") {
        let yaml = child(&mut result, "yaml");
        let mut overlays = yaml
            .get("overlays")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        overlays.extend(array_field(cy, "overlays").iter().cloned());
        set_list(yaml, "overlays", overlays);
    }
    let generation = int_field(custom, "forceSyncGeneration");
    if generation > 0 {
        result.insert("forceSyncGeneration".into(), Value::from(generation));
    }
    or_bool(&mut result, custom, "keepResources");
    if let Some(cd) = present(custom, "correctDrift") {
        result.insert("correctDrift".into(), cd.clone());
    }
    let custom_downstream = array_field(custom, "downstreamResources");
    if !custom_downstream.is_empty() {
        let base_downstream = result
            .get("downstreamResources")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let merged = merge_by_key(&base_downstream, custom_downstream, downstream_resource_key);
        set_list(&mut result, "downstreamResources", merged);
    }
    copy_string_map(&mut result, custom, "namespaceLabels");
    copy_string_map(&mut result, custom, "namespaceAnnotations");
    Value::Object(result)
}

fn values_from_key_typed(v: &ValuesFrom) -> String {
    if let Some(r) = &v.config_map_key_ref {
        return format!("configmap|{}|{}|{}", r.namespace, r.name, r.key);
    }
    if let Some(r) = &v.secret_key_ref {
        return format!("secret|{}|{}|{}", r.namespace, r.name, r.key);
    }
    String::new()
}

/// `Merge(base, custom)` on the typed options: the same rules as [`merge_options_json`].
pub fn merge(
    base: &BundleDeploymentOptions,
    custom: &BundleDeploymentOptions,
) -> BundleDeploymentOptions {
    let mut result = base.clone();
    if !custom.default_namespace.is_empty() {
        result
            .default_namespace
            .clone_from(&custom.default_namespace);
    }
    if !custom.target_namespace.is_empty() {
        result.target_namespace.clone_from(&custom.target_namespace);
    }
    if !custom.service_account.is_empty() {
        result.service_account.clone_from(&custom.service_account);
    }
    if let Some(ch) = &custom.helm {
        let helm = result.helm.get_or_insert_with(HelmOptions::default);
        if ch.timeout_seconds > 0 {
            helm.timeout_seconds = ch.timeout_seconds;
        } else if ch.timeout_seconds < 0 {
            helm.timeout_seconds = 0;
        }
        match (&mut helm.values, &ch.values) {
            (None, v) => helm.values.clone_from(v),
            (Some(b), Some(c)) => *b = merge_maps(b, c),
            (Some(_), None) => {}
        }
        match (&mut helm.template_values, &ch.template_values) {
            (None, v) => helm.template_values.clone_from(v),
            (Some(b), Some(c)) => b.extend(c.iter().map(|(k, v)| (k.clone(), v.clone()))),
            (Some(_), None) => {}
        }
        if !ch.values_from.is_empty() {
            helm.values_from =
                merge_by_key(&helm.values_from, &ch.values_from, values_from_key_typed);
        }
        for (dst, src) in [
            (&mut helm.repo, &ch.repo),
            (&mut helm.chart, &ch.chart),
            (&mut helm.version, &ch.version),
            (&mut helm.release_name, &ch.release_name),
        ] {
            if !src.is_empty() {
                dst.clone_from(src);
            }
        }
        helm.force |= ch.force;
        helm.atomic |= ch.atomic;
        helm.take_ownership |= ch.take_ownership;
        helm.disable_pre_process |= ch.disable_pre_process;
        helm.wait_for_jobs |= ch.wait_for_jobs;
        helm.disable_dns |= ch.disable_dns;
    }
    if let Some(ck) = &custom.kustomize {
        let kustomize = result
            .kustomize
            .get_or_insert_with(KustomizeOptions::default);
        if !ck.dir.is_empty() {
            kustomize.dir.clone_from(&ck.dir);
        }
    }
    if let Some(cd) = &custom.diff {
        let diff = result.diff.get_or_insert_with(DiffOptions::default);
        diff.compare_patches = merge_by_key(&diff.compare_patches, &cd.compare_patches, |p| {
            format!("{}|{}|{}|{}", p.api_version, p.kind, p.namespace, p.name)
        });
    }
    if let Some(cy) = &custom.yaml {
        let yaml = result.yaml.get_or_insert_with(YamlOptions::default);
        yaml.overlays.extend(cy.overlays.iter().cloned());
    }
    if custom.force_sync_generation > 0 {
        result.force_sync_generation = custom.force_sync_generation;
    }
    result.keep_resources |= custom.keep_resources;
    if custom.correct_drift.is_some() {
        result.correct_drift.clone_from(&custom.correct_drift);
    }
    if !custom.downstream_resources.is_empty() {
        result.downstream_resources = merge_by_key(
            &result.downstream_resources,
            &custom.downstream_resources,
            |r| format!("{}|{}", r.kind.to_lowercase(), r.name),
        );
    }
    for (dst, src) in [
        (&mut result.namespace_labels, &custom.namespace_labels),
        (
            &mut result.namespace_annotations,
            &custom.namespace_annotations,
        ),
    ] {
        if let Some(add) = src.as_ref().filter(|m| !m.is_empty()) {
            dst.get_or_insert_with(Default::default)
                .extend(add.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    result
}
