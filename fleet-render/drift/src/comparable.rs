//! Normalisers applied to both the desired and the live object before the drift comparison
//! (Fleet `internal/cmd/agent/deployer/normalizers/*` and the Argo CD normalisers it vendors in
//! `internal/cmd/agent/deployer/internal/diff`).
//!
//! * [`strip_server_fields`]: `status`, `metadata.creationTimestamp/resourceVersion/uid/
//!   generation/managedFields/selfLink`, `objectset.rio.cattle.io/*` annotations.
//! * [`fold_secret_string_data`]: a Secret's `stringData` folded into `data` (base64), `null`
//!   data values read as `""`.
//! * [`normalize_role`]: Role/ClusterRole `rules: []` read as unset; an aggregated ClusterRole's
//!   rules are not compared (they are filled in by the controller).
//! * [`webhook_ca_bundle_placeholders`]: webhook `clientConfig.caBundle` values the desired
//!   object leaves to a controller (a placeholder `"\n"`, base64 `"Cg=="`), whose live value is
//!   then not compared.
//!
//! The other normalisations (zero values the API server omits, quantities, numeric ports,
//! defaulted port protocol) are comparison rules, see `diff::merge`.

use base64::Engine;
use serde_json::Value;

/// Removes the fields the API server owns or Fleet adds for its own bookkeeping.
pub fn strip_server_fields(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    map.remove("status");
    if let Some(Value::Object(meta)) = map.get_mut("metadata") {
        for key in [
            "creationTimestamp",
            "resourceVersion",
            "uid",
            "generation",
            "managedFields",
            "selfLink",
        ] {
            meta.remove(key);
        }
        if let Some(Value::Object(annotations)) = meta.get_mut("annotations") {
            annotations.retain(|k, _| !k.starts_with("objectset.rio.cattle.io/"));
            if annotations.is_empty() {
                meta.remove("annotations");
            }
        }
    }
}

/// Folds a Secret's `stringData` into `data` the way the API server stores it.
pub fn fold_secret_string_data(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(data)) = map.get_mut("data") {
        for value in data.values_mut() {
            if value.is_null() {
                *value = Value::String(String::new());
            }
        }
    }
    let Some(Value::Object(string_data)) = map.remove("stringData") else {
        return;
    };
    if string_data.is_empty() {
        return;
    }
    let data = map
        .entry("data")
        .or_insert_with(|| Value::Object(Default::default()));
    if !data.is_object() {
        *data = Value::Object(Default::default());
    }
    if let Value::Object(data) = data {
        for (key, value) in string_data {
            let text = match value {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            data.insert(
                key,
                Value::String(base64::engine::general_purpose::STANDARD.encode(text)),
            );
        }
    }
}

/// Role/ClusterRole rules: an empty list is unset; an aggregated role's rules are not compared.
pub fn normalize_role(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let aggregated = map.get("aggregationRule").is_some_and(Value::is_object);
    let empty = map
        .get("rules")
        .is_some_and(|r| r.as_array().is_some_and(Vec::is_empty));
    if aggregated || empty {
        map.remove("rules");
    }
}

/// Positions of the webhooks whose desired `clientConfig.caBundle` is a placeholder a
/// controller fills in (`"\n"`, or its base64 form `"Cg=="` as it appears in YAML).
pub fn webhook_ca_bundle_placeholders(desired: &Value) -> Vec<usize> {
    let Some(hooks) = desired.get("webhooks").and_then(Value::as_array) else {
        return Vec::new();
    };
    hooks
        .iter()
        .enumerate()
        .filter(|(_, hook)| {
            matches!(
                hook.pointer("/clientConfig/caBundle")
                    .and_then(Value::as_str),
                Some("\n" | "Cg==")
            )
        })
        .map(|(i, _)| i)
        .collect()
}

/// Removes `webhooks[i].clientConfig.caBundle` for the given positions.
pub fn remove_ca_bundles(obj: &mut Value, positions: &[usize]) {
    let Some(hooks) = obj.get_mut("webhooks").and_then(Value::as_array_mut) else {
        return;
    };
    for &i in positions {
        if let Some(Value::Object(config)) =
            hooks.get_mut(i).and_then(|h| h.get_mut("clientConfig"))
        {
            config.remove("caBundle");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_string_data() {
        let mut s = json!({"kind": "Secret", "stringData": {"a": "hello"}, "data": {"b": null}});
        fold_secret_string_data(&mut s);
        assert_eq!(
            s,
            json!({"kind": "Secret", "data": {"a": "aGVsbG8=", "b": ""}})
        );
    }

    #[test]
    fn server_fields() {
        let mut o = json!({"status": {}, "metadata": {"uid": "x", "name": "n",
            "annotations": {"objectset.rio.cattle.io/id": "i"}}});
        strip_server_fields(&mut o);
        assert_eq!(o, json!({"metadata": {"name": "n"}}));
    }
}
