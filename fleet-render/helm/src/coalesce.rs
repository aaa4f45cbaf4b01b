//! Merging user values over chart defaults, as Helm's `CoalesceValues` does.
//!
//! User values win; a key the user set to `null` removes the chart default; maps merge key
//! by key while lists and scalars replace. Each subchart sees `values[<name>]` with its own
//! defaults filled in and the parent's `global` pushed down (a parent's global wins over a
//! child's, a child keeps the global defaults the parent does not set).

use serde_json::{Map, Value};

use crate::chart::Chart;

/// Coalesces `user` over the defaults of `chart` and every subchart below it.
pub fn coalesce_values(chart: &Chart, user: &Value) -> Value {
    let mut values = match user {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    coalesce_chart(chart, &mut values);
    Value::Object(values)
}

fn coalesce_chart(chart: &Chart, values: &mut Map<String, Value>) {
    coalesce_defaults(&chart.values, values);
    for sub in &chart.dependencies {
        let name = sub.name().to_string();
        let slot = values
            .entry(name)
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            // Helm warns and leaves a non-map alone; the subchart then gets no values.
            continue;
        }
        let parent_global = values_global(values);
        let Some(Value::Object(sub_values)) = values.get_mut(sub.name()) else {
            continue;
        };
        push_globals(sub_values, &parent_global);
        coalesce_chart(sub, sub_values);
    }
}

fn values_global(values: &Map<String, Value>) -> Map<String, Value> {
    match values.get("global") {
        Some(Value::Object(global)) => global.clone(),
        _ => Map::new(),
    }
}

/// Fills `values` with the chart defaults it lacks, deleting keys the user set to null.
fn coalesce_defaults(defaults: &Value, values: &mut Map<String, Value>) {
    let Value::Object(defaults) = defaults else {
        return;
    };
    for (key, default) in defaults {
        match values.get_mut(key) {
            Some(Value::Null) => {
                values.remove(key);
            }
            Some(Value::Object(user)) => {
                if let Value::Object(default) = default {
                    merge_tables(user, default);
                }
            }
            Some(_) => {}
            None => {
                if !default.is_null() {
                    values.insert(key.clone(), without_nulls(default));
                }
            }
        }
    }
}

/// Helm's `coalesceTablesFullKey` in non-merge mode: `dst` wins, null in `dst` deletes.
pub(crate) fn merge_tables(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    for (key, value) in src {
        match dst.get_mut(key) {
            Some(Value::Null) => {
                dst.remove(key);
            }
            Some(Value::Object(dst_map)) => {
                if let Value::Object(src_map) = value {
                    merge_tables(dst_map, src_map);
                }
            }
            Some(_) => {}
            None => {
                if !value.is_null() {
                    dst.insert(key.clone(), without_nulls(value));
                }
            }
        }
    }
    // A null the user gave for a key the defaults lack is dropped too.
    dst.retain(|_, v| !v.is_null());
}

fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Pushes the parent's `global` into a subchart's values (Helm's `coalesceGlobals`).
fn push_globals(dest: &mut Map<String, Value>, parent: &Map<String, Value>) {
    let mut global = match dest.get("global") {
        Some(Value::Object(global)) => global.clone(),
        _ => Map::new(),
    };
    for (key, value) in parent {
        match value {
            Value::Object(parent_map) => {
                let mut merged = parent_map.clone();
                match global.get(key) {
                    None => {}
                    Some(Value::Object(child_map)) => {
                        // Top-down: the parent's entries win, the child's fill the gaps.
                        fill_missing(&mut merged, child_map);
                    }
                    // Helm warns about a map over a scalar and keeps the child's value.
                    Some(_) => continue,
                }
                global.insert(key.clone(), Value::Object(merged));
            }
            _ => {
                if matches!(global.get(key), Some(Value::Object(_))) {
                    continue;
                }
                global.insert(key.clone(), value.clone());
            }
        }
    }
    dest.insert("global".to_string(), Value::Object(global));
}

fn fill_missing(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    for (key, value) in src {
        match (dst.get_mut(key), value) {
            (None, _) => {
                dst.insert(key.clone(), value.clone());
            }
            (Some(Value::Object(d)), Value::Object(s)) => fill_missing(d, s),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Chart;
    use serde_json::json;

    fn chart(name: &str, values: Value, deps: Vec<Chart>) -> Chart {
        let mut chart = Chart::from_parts(name, values);
        chart.dependencies = deps;
        chart
    }

    #[test]
    fn user_wins_null_deletes_maps_merge() {
        let c = chart(
            "top",
            json!({"a": 1, "b": {"x": 1, "y": 2}, "c": [1, 2], "d": "gone", "n": null}),
            vec![],
        );
        let out = coalesce_values(&c, &json!({"b": {"y": null, "z": 3}, "c": [9], "d": null}));
        assert_eq!(out, json!({"a": 1, "b": {"x": 1, "z": 3}, "c": [9]}));
    }

    #[test]
    fn globals_flow_down_and_child_defaults_stay() {
        let sub = chart(
            "sub",
            json!({"global": {"g": "child", "only": "child"}, "s": 1}),
            vec![],
        );
        let c = chart("top", json!({"global": {"g": "parent"}}), vec![sub]);
        let out = coalesce_values(&c, &json!({}));
        assert_eq!(
            out["sub"],
            json!({"global": {"g": "parent", "only": "child"}, "s": 1})
        );
        assert_eq!(out["global"], json!({"g": "parent"}));
    }
}
