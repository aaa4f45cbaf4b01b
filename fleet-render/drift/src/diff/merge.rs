//! The drift diff's comparison: the shared strategic merge machinery of [`fleet_smp`] with
//! the policy of Fleet's agent, all with "original = nil" semantics (a field only the live
//! object has is never drift):
//!
//! * [`compare_for`]: how objects of a kind compare: strategic merge with the merge-key table
//!   for built-in kinds, JSON merge for the others; values as the API server normalises them
//!   (zero values it omits, `100m` = `0.1`, `"8080"` = `8080`); `null` read as "not set";
//!   server-populated metadata, status and Fleet's bookkeeping annotations skipped;
//! * [`predict`]: the live object after the desired one is applied to it (Fleet's "predicted
//!   live"): the three-way strategic merge patch with no original
//!   (`CreateThreeWayMergePatch(nil, desired, live)`), created by [`smp::create_patch`] and
//!   applied with [`smp::merge`] in the API server's dialect, so a changed keyed list takes
//!   the desired order and live-only items keep their place (`$setElementOrder`);
//! * [`merge_patch`]: the RFC 7386 JSON merge patch from one object to another (Fleet's
//!   `modifiedStatus.patch`).

use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::schema::MergeSchema;
use fleet_smp::schema::Schema;
use fleet_smp::{self as smp, Compare, Deletions, MergeOptions};

/// Keys never compared: server-populated metadata, status, type information and Fleet's own
/// bookkeeping annotations.
pub fn skipped(path: &[&str], key: &str) -> bool {
    match path {
        [] => matches!(key, "status" | "apiVersion" | "kind"),
        ["metadata"] => matches!(
            key,
            "creationTimestamp"
                | "resourceVersion"
                | "uid"
                | "generation"
                | "managedFields"
                | "selfLink"
                | "deletionTimestamp"
                | "deletionGracePeriodSeconds"
                | "namespace"
        ),
        ["metadata", "annotations"] => key.starts_with("objectset.rio.cattle.io/"),
        _ => false,
    }
}

/// How the drift diff compares objects of `api_version`/`kind`.
pub fn compare_for<'a>(schema: &'a dyn MergeSchema, api_version: &str, kind: &str) -> Compare<'a> {
    let builtin = schema.is_builtin(api_version, kind);
    Compare {
        schema: builtin.then(|| schema.schema()),
        api_normalised: builtin,
        null_is_unset: true,
        skip: skipped,
    }
}

/// A schema that knows no kind: [`smp::merge`] with it is a JSON merge.
static NO_SCHEMA: LazyLock<Schema> = LazyLock::new(Schema::default);

/// The live object after the desired object is applied to it ("predicted live").
pub fn predict(cmp: &Compare<'_>, live: &Value, desired: &Value) -> Result<Value, smp::Error> {
    let patch = smp::create_patch(cmp, live, desired, Deletions::Ignore);
    let schema = cmp.schema.unwrap_or(&NO_SCHEMA);
    let merged = smp::merge(live, &patch, schema, &MergeOptions::api_server())?;
    Ok(merged.unwrap_or(Value::Null))
}

/// The RFC 7386 JSON merge patch that turns `from` into `to` (as evanphx/json-patch's
/// `CreateMergePatch`); `None` when they are equal.
pub fn merge_patch(from: &Value, to: &Value) -> Option<Value> {
    match (from, to) {
        (Value::Object(f), Value::Object(t)) => {
            let mut patch = Map::new();
            for key in f.keys() {
                if !t.contains_key(key) {
                    patch.insert(key.clone(), Value::Null);
                }
            }
            for (key, tv) in t {
                match f.get(key) {
                    None => {
                        patch.insert(key.clone(), tv.clone());
                    }
                    Some(fv) => {
                        if let (Value::Object(_), Value::Object(_)) = (fv, tv) {
                            if let Some(sub) = merge_patch(fv, tv) {
                                patch.insert(key.clone(), sub);
                            }
                        } else if fv != tv {
                            patch.insert(key.clone(), tv.clone());
                        }
                    }
                }
            }
            if patch.is_empty() {
                None
            } else {
                Some(Value::Object(patch))
            }
        }
        _ if from == to => None,
        _ => Some(to.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::schema::BuiltinSchema;
    use fleet_smp::contains;
    use serde_json::json;

    #[test]
    fn changed_port_puts_desired_item_first() {
        let ctx = compare_for(&BuiltinSchema, "v1", "Service");
        let desired = json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [
            {"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http-web-svc"}]}});
        let live = json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [
            {"name": "http", "protocol": "TCP", "port": 1234, "targetPort": "http-web-svc"}]}});
        assert!(!contains(&ctx, &desired, &live));
        let predicted = predict(&ctx, &live, &desired).unwrap();
        let patch = merge_patch(&live, &predicted).unwrap();
        assert_eq!(
            fleet_core::gojson::to_string(&patch).unwrap(),
            r#"{"spec":{"ports":[{"name":"http","port":80,"protocol":"TCP","targetPort":"http-web-svc"},{"name":"http","port":1234,"protocol":"TCP","targetPort":"http-web-svc"}]}}"#
        );
    }

    #[test]
    fn live_only_fields_are_not_drift() {
        let ctx = compare_for(&BuiltinSchema, "v1", "Service");
        let desired = json!({"apiVersion": "v1", "kind": "Service",
            "spec": {"ports": [{"port": 80}], "paused": false}});
        let live = json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 1023, "name": "x"}, {"port": 80, "protocol": "TCP"}], "clusterIP": "10.0.0.1"}});
        assert!(contains(&ctx, &desired, &live));
    }

    #[test]
    fn quantities_and_ports_compare_by_value() {
        let ctx = compare_for(&BuiltinSchema, "apps/v1", "Deployment");
        let desired = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [
            {"name": "a", "resources": {"limits": {"cpu": 0.1, "memory": "1Gi"}},
             "ports": [{"containerPort": "8080"}]}]}}}});
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [
            {"name": "a", "resources": {"limits": {"cpu": "100m", "memory": "1024Mi"}},
             "ports": [{"containerPort": 8080, "protocol": "TCP"}]}]}}}});
        assert!(contains(&ctx, &desired, &live));
    }
}
