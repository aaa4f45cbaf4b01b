//! The parts of fleet.yaml this crate consumes, read from the untyped document.
//!
//! Fleet decodes fleet.yaml with `sigs.k8s.io/yaml` into Go structs: unknown keys are dropped,
//! key names match case-insensitively, and a value of the wrong type is an error. This module
//! applies those rules to the keys that reach the Bundle (top level, `helm`, targets), checks
//! the types of every key it reads, and validates `dependsOn` and `imageScans` as
//! `fleet apply` does.

use serde_json::{Map, Value};

/// A fleet.yaml problem, always naming the key.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A key holds a value of the wrong type.
    #[error("{key}: expected {expected}, found {found}")]
    Type {
        /// The key path (`helm.valuesFiles[1]`).
        key: String,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// A semantic rule is broken (`dependsOn[0]: must specify either 'name' or 'selector'`).
    #[error("{0}")]
    Invalid(String),
}

/// Keys of `BundleDeploymentOptions` (shared by the spec and every target).
pub const OPTION_KEYS: &[&str] = &[
    "defaultNamespace",
    "namespace",
    "kustomize",
    "helm",
    "serviceAccount",
    "forceSyncGeneration",
    "yaml",
    "diff",
    "keepResources",
    "ignore",
    "correctDrift",
    "namespaceLabels",
    "namespaceAnnotations",
    "deleteCRDResources",
    "deleteNamespace",
    "downstreamResources",
    "createNamespace",
];

/// Keys of `BundleSpec` beyond the options.
pub const SPEC_KEYS: &[&str] = &[
    "paused",
    "rolloutStrategy",
    "resources",
    "targets",
    "targetRestrictions",
    "dependsOn",
    "contentsId",
    "helmOpOptions",
    "valuesHash",
    "targetCustomizationMode",
];

/// Keys of `FleetYAML` itself.
pub const FLEET_YAML_KEYS: &[&str] = &[
    "name",
    "labels",
    "targetCustomizations",
    "imageScans",
    "overrideTargets",
];

/// Keys of `BundleTarget` beyond the options.
pub const TARGET_KEYS: &[&str] = &[
    "name",
    "clusterName",
    "clusterSelector",
    "clusterGroup",
    "clusterGroupSelector",
    "doNotDeploy",
    "namespaceLabels",
    "namespaceAnnotations",
];

/// Keys of `GitTarget` (GitRepo targets, `overrideTargets`, restrictions).
pub const GIT_TARGET_KEYS: &[&str] = &[
    "name",
    "clusterName",
    "clusterSelector",
    "clusterGroup",
    "clusterGroupSelector",
];

/// Keys of `HelmOptions`.
pub const HELM_KEYS: &[&str] = &[
    "chart",
    "repo",
    "releaseName",
    "version",
    "timeoutSeconds",
    "values",
    "valuesFrom",
    "force",
    "takeOwnership",
    "maxHistory",
    "valuesFiles",
    "waitForJobs",
    "atomic",
    "disablePreProcess",
    "disableDNS",
    "skipSchemaValidation",
    "disableDependencyUpdate",
    "templateValues",
];

/// The bundle states `dependsOn[].acceptedStates` may name (`StateRank` keys).
pub const STATES: &[&str] = &[
    "Ready",
    "NotReady",
    "Pending",
    "OutOfSync",
    "Modified",
    "WaitApplied",
    "ErrApplied",
];

/// The name of a JSON type, for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

/// Renames keys matching one of `known` case-insensitively to the canonical spelling and drops
/// the others (Go decoding: exact match first, then the case-insensitive one; later duplicates win).
pub fn canonicalize(map: Map<String, Value>, known: &[&[&str]]) -> Map<String, Value> {
    let mut out = Map::new();
    let mut exact: Vec<(String, Value)> = Vec::new();
    for (k, v) in map {
        let canon = known
            .iter()
            .flat_map(|set| set.iter())
            .find(|c| **c == k)
            .or_else(|| {
                known
                    .iter()
                    .flat_map(|set| set.iter())
                    .find(|c| c.eq_ignore_ascii_case(&k))
            });
        if let Some(c) = canon {
            if **c == k {
                exact.push((k, v));
            } else {
                out.insert((*c).to_string(), v);
            }
        }
    }
    for (k, v) in exact {
        out.insert(k, v);
    }
    out
}

/// Expects a mapping (or null → none).
pub fn opt_map(v: Option<&Value>, key: &str) -> Result<Option<Map<String, Value>>, Error> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(other) => Err(Error::Type {
            key: key.to_string(),
            expected: "mapping",
            found: type_name(other),
        }),
    }
}

/// Expects a list (or null → none).
pub fn opt_list(v: Option<&Value>, key: &str) -> Result<Option<Vec<Value>>, Error> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a.clone())),
        Some(other) => Err(Error::Type {
            key: key.to_string(),
            expected: "list",
            found: type_name(other),
        }),
    }
}

/// Expects a string (or null → empty).
pub fn opt_str(v: Option<&Value>, key: &str) -> Result<String, Error> {
    match v {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(Error::Type {
            key: key.to_string(),
            expected: "string",
            found: type_name(other),
        }),
    }
}

/// Expects a map of strings (labels, annotations).
pub fn string_map(v: Option<&Value>, key: &str) -> Result<Option<Map<String, Value>>, Error> {
    let Some(m) = opt_map(v, key)? else {
        return Ok(None);
    };
    for (k, val) in &m {
        if !val.is_string() {
            return Err(Error::Type {
                key: format!("{key}.{k}"),
                expected: "string",
                found: type_name(val),
            });
        }
    }
    Ok(Some(m))
}

/// Expects a list of strings.
pub fn string_list(v: Option<&Value>, key: &str) -> Result<Vec<String>, Error> {
    let Some(list) = opt_list(v, key)? else {
        return Ok(Vec::new());
    };
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_str().map(str::to_string).ok_or(Error::Type {
                key: format!("{key}[{i}]"),
                expected: "string",
                found: type_name(item),
            })
        })
        .collect()
}

/// Type checks of the simple scalar option keys.
fn check_scalar(
    map: &Map<String, Value>,
    prefix: &str,
    key: &str,
    expected: &'static str,
) -> Result<(), Error> {
    let Some(v) = map.get(key) else {
        return Ok(());
    };
    let ok = match (expected, v) {
        (_, Value::Null) => true,
        ("string", Value::String(_)) => true,
        ("boolean", Value::Bool(_)) => true,
        ("integer", Value::Number(n)) => n.is_i64() || n.is_u64(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::Type {
            key: format!("{prefix}{key}"),
            expected,
            found: type_name(v),
        })
    }
}

/// Canonicalizes and type-checks a `helm` block.
pub fn helm_block(v: Option<&Value>, key: &str) -> Result<Option<Map<String, Value>>, Error> {
    let Some(m) = opt_map(v, key)? else {
        return Ok(None);
    };
    let m = canonicalize(m, &[HELM_KEYS]);
    let p = format!("{key}.");
    for k in ["chart", "repo", "releaseName", "version"] {
        check_scalar(&m, &p, k, "string")?;
    }
    for k in ["timeoutSeconds", "maxHistory"] {
        check_scalar(&m, &p, k, "integer")?;
    }
    for k in [
        "force",
        "takeOwnership",
        "waitForJobs",
        "atomic",
        "disablePreProcess",
        "disableDNS",
        "skipSchemaValidation",
        "disableDependencyUpdate",
    ] {
        check_scalar(&m, &p, k, "boolean")?;
    }
    opt_map(m.get("values"), &format!("{p}values"))?;
    string_map(m.get("templateValues"), &format!("{p}templateValues"))?;
    string_list(m.get("valuesFiles"), &format!("{p}valuesFiles"))?;
    opt_list(m.get("valuesFrom"), &format!("{p}valuesFrom"))?;
    Ok(Some(m))
}

/// Canonicalizes and type-checks the deployment options of a spec or target in place.
pub fn options(map: &mut Map<String, Value>, prefix: &str) -> Result<(), Error> {
    if let Some(h) = helm_block(map.get("helm"), &format!("{prefix}helm"))? {
        map.insert("helm".into(), Value::Object(h));
    }
    for k in ["defaultNamespace", "namespace", "serviceAccount"] {
        check_scalar(map, prefix, k, "string")?;
    }
    for k in [
        "keepResources",
        "deleteCRDResources",
        "deleteNamespace",
        "createNamespace",
    ] {
        check_scalar(map, prefix, k, "boolean")?;
    }
    check_scalar(map, prefix, "forceSyncGeneration", "integer")?;
    string_map(
        map.get("namespaceLabels"),
        &format!("{prefix}namespaceLabels"),
    )?;
    string_map(
        map.get("namespaceAnnotations"),
        &format!("{prefix}namespaceAnnotations"),
    )?;
    if let Some(k) = opt_map(map.get("kustomize"), &format!("{prefix}kustomize"))? {
        let k = canonicalize(k, &[&["dir"]]);
        check_scalar(&k, &format!("{prefix}kustomize."), "dir", "string")?;
        map.insert("kustomize".into(), Value::Object(k));
    }
    if let Some(y) = opt_map(map.get("yaml"), &format!("{prefix}yaml"))? {
        let y = canonicalize(y, &[&["overlays"]]);
        string_list(y.get("overlays"), &format!("{prefix}yaml.overlays"))?;
        map.insert("yaml".into(), Value::Object(y));
    }
    if let Some(d) = opt_map(map.get("diff"), &format!("{prefix}diff"))? {
        let d = canonicalize(d, &[&["comparePatches"]]);
        opt_list(
            d.get("comparePatches"),
            &format!("{prefix}diff.comparePatches"),
        )?;
        map.insert("diff".into(), Value::Object(d));
    }
    if let Some(c) = opt_map(map.get("correctDrift"), &format!("{prefix}correctDrift"))? {
        let c = canonicalize(c, &[&["enabled", "force", "keepFailHistory"]]);
        for k in ["enabled", "force", "keepFailHistory"] {
            check_scalar(&c, &format!("{prefix}correctDrift."), k, "boolean")?;
        }
        map.insert("correctDrift".into(), Value::Object(c));
    }
    if let Some(i) = opt_map(map.get("ignore"), &format!("{prefix}ignore"))? {
        let i = canonicalize(i, &[&["conditions"]]);
        opt_list(i.get("conditions"), &format!("{prefix}ignore.conditions"))?;
        map.insert("ignore".into(), Value::Object(i));
    }
    opt_list(
        map.get("downstreamResources"),
        &format!("{prefix}downstreamResources"),
    )?;
    Ok(())
}

/// Checks a label selector's shape (`matchLabels` strings, `matchExpressions` with a known
/// operator and values as Kubernetes requires).
pub fn selector(v: Option<&Value>, key: &str) -> Result<(), Error> {
    let Some(m) = opt_map(v, key)? else {
        return Ok(());
    };
    string_map(m.get("matchLabels"), &format!("{key}.matchLabels"))?;
    let exprs = opt_list(
        m.get("matchExpressions"),
        &format!("{key}.matchExpressions"),
    )?;
    for (i, e) in exprs.unwrap_or_default().iter().enumerate() {
        let k = format!("{key}.matchExpressions[{i}]");
        let Some(em) = opt_map(Some(e), &k)? else {
            return Err(Error::Invalid(format!("{k}: expected a mapping")));
        };
        let op = opt_str(em.get("operator"), &format!("{k}.operator"))?;
        let values = string_list(em.get("values"), &format!("{k}.values"))?;
        let key_name = opt_str(em.get("key"), &format!("{k}.key"))?;
        if key_name.is_empty() {
            return Err(Error::Invalid(format!("{k}.key: must not be empty")));
        }
        match op.as_str() {
            "In" | "NotIn" if values.is_empty() => {
                return Err(Error::Invalid(format!(
                    "{k}.values: must be specified when `operator` is 'In' or 'NotIn'"
                )));
            }
            "Exists" | "DoesNotExist" if !values.is_empty() => {
                return Err(Error::Invalid(format!(
                    "{k}.values: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                )));
            }
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => {
                return Err(Error::Invalid(format!(
                    "{k}.operator: {other:?} is not a valid label selector operator"
                )));
            }
        }
    }
    Ok(())
}

/// Canonicalizes and checks one target entry (`targets[]`, `targetCustomizations[]`).
pub fn target(v: &Value, key: &str) -> Result<Map<String, Value>, Error> {
    let Some(m) = opt_map(Some(v), key)? else {
        return Ok(Map::new());
    };
    let mut m = canonicalize(m, &[TARGET_KEYS, OPTION_KEYS]);
    options(&mut m, &format!("{key}."))?;
    for k in ["name", "clusterName", "clusterGroup"] {
        check_scalar(&m, &format!("{key}."), k, "string")?;
    }
    check_scalar(&m, &format!("{key}."), "doNotDeploy", "boolean")?;
    selector(m.get("clusterSelector"), &format!("{key}.clusterSelector"))?;
    selector(
        m.get("clusterGroupSelector"),
        &format!("{key}.clusterGroupSelector"),
    )?;
    Ok(m)
}

/// Canonicalizes and checks one GitTarget entry.
pub fn git_target(v: &Value, key: &str) -> Result<Map<String, Value>, Error> {
    let Some(m) = opt_map(Some(v), key)? else {
        return Ok(Map::new());
    };
    let m = canonicalize(m, &[GIT_TARGET_KEYS]);
    for k in ["name", "clusterName", "clusterGroup"] {
        check_scalar(&m, &format!("{key}."), k, "string")?;
    }
    selector(m.get("clusterSelector"), &format!("{key}.clusterSelector"))?;
    selector(
        m.get("clusterGroupSelector"),
        &format!("{key}.clusterGroupSelector"),
    )?;
    Ok(m)
}

/// Validates `dependsOn` (Fleet `validate_fleetyaml.go`) and returns the canonical entries.
pub fn depends_on(v: Option<&Value>) -> Result<Option<Vec<Value>>, Error> {
    let Some(list) = opt_list(v, "dependsOn")? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let key = format!("dependsOn[{i}]");
        let m = opt_map(Some(item), &key)?.unwrap_or_default();
        let m = canonicalize(m, &[&["name", "selector", "acceptedStates"]]);
        let name = opt_str(m.get("name"), &format!("{key}.name"))?;
        selector(m.get("selector"), &format!("{key}.selector"))?;
        let has_selector = !matches!(m.get("selector"), None | Some(Value::Null));
        if name.is_empty() && !has_selector {
            return Err(Error::Invalid(format!(
                "{key}: must specify either 'name' or 'selector'"
            )));
        }
        let states = string_list(m.get("acceptedStates"), &format!("{key}.acceptedStates"))?;
        for (j, s) in states.iter().enumerate() {
            if !STATES.contains(&s.as_str()) {
                return Err(Error::Invalid(format!(
                    "{key}.acceptedStates[{j}]: invalid state {s:?}, valid values are: [Ready NotReady Pending OutOfSync Modified WaitApplied ErrApplied]"
                )));
            }
        }
        out.push(Value::Object(m));
    }
    Ok(Some(out))
}

/// Checks the shape of `rolloutStrategy` (IntOrString limits, partitions with valid selectors).
pub fn check_rollout(v: Option<&Value>) -> Result<(), Error> {
    let Some(m) = opt_map(v, "rolloutStrategy")? else {
        return Ok(());
    };
    let int_or_string = |m: &Map<String, Value>, prefix: &str, k: &str| -> Result<(), Error> {
        match m.get(k) {
            None | Some(Value::Null) | Some(Value::String(_)) => Ok(()),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(()),
            Some(other) => Err(Error::Type {
                key: format!("{prefix}{k}"),
                expected: "integer or string",
                found: type_name(other),
            }),
        }
    };
    for k in [
        "maxUnavailable",
        "maxUnavailablePartitions",
        "autoPartitionSize",
        "maxNew",
        "autoPartitionThreshold",
    ] {
        int_or_string(&m, "rolloutStrategy.", k)?;
    }
    let parts = opt_list(m.get("partitions"), "rolloutStrategy.partitions")?;
    for (i, p) in parts.unwrap_or_default().iter().enumerate() {
        let key = format!("rolloutStrategy.partitions[{i}]");
        let pm = opt_map(Some(p), &key)?.unwrap_or_default();
        int_or_string(&pm, &format!("{key}."), "maxUnavailable")?;
        selector(pm.get("clusterSelector"), &format!("{key}.clusterSelector"))?;
        selector(
            pm.get("clusterGroupSelector"),
            &format!("{key}.clusterGroupSelector"),
        )?;
    }
    Ok(())
}
