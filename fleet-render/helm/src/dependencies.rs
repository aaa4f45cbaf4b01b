//! Which subcharts take part in a render: Helm's `ProcessDependencies` for `alias`,
//! `tags` and `condition`.
//!
//! Conditions and tags are read from the values coalesced over the whole tree. Tags come
//! first (any true tag enables, otherwise a false tag disables); then the first condition
//! path that resolves to a boolean decides. A disabled subchart is removed, so its
//! templates are never parsed and its `crds/` are not installed. Then `import-values`
//! copies tables of an enabled child's values into the parent's, below the parent's own
//! values (`pkg/chart/common/util/dependencies.go` `processImportValues`).

use serde_json::{Map, Value};

use crate::chart::Chart;
use crate::coalesce;

/// Applies aliases and removes disabled subcharts from `chart`, given the user's values.
pub fn process(chart: &mut Chart, user: &Value) {
    apply_aliases(chart);
    let values = coalesce::coalesce_values(chart, user);
    remove_disabled(chart, &values, "");
    let values = coalesce::coalesce_values(chart, user);
    import_values(chart, &values);
}

/// `path.to.key` as nested maps holding `data` (`.` is the root itself).
fn path_to_map(path: &str, data: Map<String, Value>) -> Map<String, Value> {
    if path == "." || path.is_empty() {
        return data;
    }
    let mut value = Value::Object(data);
    for key in path.split('.').filter(|k| !k.is_empty()).rev() {
        let mut m = Map::new();
        m.insert(key.to_string(), value);
        value = Value::Object(m);
    }
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Imports child values into each chart of the tree, deepest charts first. Imported
/// tables rank below the parent's own values; among imports the first one listed wins.
fn import_values(chart: &mut Chart, values: &Value) {
    for sub in &mut chart.dependencies {
        let sub_values = values
            .get(sub.name())
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()));
        import_values(sub, &sub_values);
    }
    let mut imported = Map::new();
    for req in &chart.metadata.dependencies {
        if req.import_values.is_empty() {
            continue;
        }
        let name = if req.alias.is_empty() {
            &req.name
        } else {
            &req.alias
        };
        if !chart.dependencies.iter().any(|d| d.name() == name) {
            continue;
        }
        for iv in &req.import_values {
            let (child, parent) = match iv {
                Value::String(s) => (format!("exports.{s}"), ".".to_string()),
                Value::Object(m) => (
                    m.get("child")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    m.get("parent")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                ),
                _ => continue,
            };
            let Some(Value::Object(table)) = lookup(values, &format!("{name}.{child}")) else {
                continue;
            };
            coalesce::merge_tables(&mut imported, &path_to_map(&parent, table.clone()));
        }
    }
    if imported.is_empty() {
        return;
    }
    let mut own = match values {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    coalesce::merge_tables(&mut own, &imported);
    chart.values = Value::Object(own);
}

fn apply_aliases(chart: &mut Chart) {
    let requirements = chart.metadata.dependencies.clone();
    let mut renamed = Vec::new();
    for sub in std::mem::take(&mut chart.dependencies) {
        let mut used = false;
        for req in requirements.iter().filter(|r| r.name == sub.metadata.name) {
            if req.alias.is_empty() {
                if !used {
                    renamed.push(sub.clone());
                    used = true;
                }
                continue;
            }
            // One archive can back several aliases: each alias is its own copy.
            let mut copy = sub.clone();
            copy.metadata.name = req.alias.clone();
            if let Value::Object(raw) = &mut copy.raw_metadata {
                raw.insert("name".to_string(), Value::String(req.alias.clone()));
            }
            renamed.push(copy);
            used = true;
        }
        if !used {
            renamed.push(sub);
        }
    }
    chart.dependencies = renamed;
    for sub in &mut chart.dependencies {
        apply_aliases(sub);
    }
}

fn lookup<'a>(values: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(values, |value, key| value.as_object()?.get(key))
}

/// Whether the requirement entry of `sub` in `parent` leaves it enabled.
fn enabled(parent: &Chart, sub: &Chart, values: &Value, prefix: &str) -> bool {
    let Some(req) = parent.metadata.dependencies.iter().find(|r| {
        (if r.alias.is_empty() {
            &r.name
        } else {
            &r.alias
        }) == sub.name()
    }) else {
        return true;
    };
    let mut on = true;
    if !req.tags.is_empty() {
        let tags = values.get("tags");
        let states: Vec<bool> = req
            .tags
            .iter()
            .filter_map(|tag| tags.and_then(|t| t.get(tag)).and_then(Value::as_bool))
            .collect();
        if states.contains(&true) {
            on = true;
        } else if states.contains(&false) {
            on = false;
        }
    }
    for condition in req
        .condition
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        if let Some(Value::Bool(state)) = lookup(values, &format!("{prefix}{condition}")) {
            on = *state;
            break;
        }
    }
    on
}

fn remove_disabled(chart: &mut Chart, values: &Value, prefix: &str) {
    let subs = std::mem::take(&mut chart.dependencies);
    let kept: Vec<Chart> = subs
        .into_iter()
        .filter(|sub| enabled(chart, sub, values, prefix))
        .collect();
    chart.dependencies = kept;
    for sub in &mut chart.dependencies {
        let child_prefix = format!("{prefix}{}.", sub.name());
        remove_disabled(sub, values, &child_prefix);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Dependency;
    use serde_json::json;

    fn parent() -> Chart {
        let mut top =
            Chart::from_parts("top", json!({"a": {"enabled": false}, "tags": {"t": true}}));
        top.dependencies = vec![
            Chart::from_parts("a", json!({})),
            Chart::from_parts("b", json!({})),
            Chart::from_parts("c", json!({})),
        ];
        top.metadata.dependencies = vec![
            Dependency {
                name: "a".into(),
                condition: "missing.enabled,a.enabled".into(),
                ..Dependency::default()
            },
            Dependency {
                name: "b".into(),
                tags: vec!["t".into()],
                alias: "bee".into(),
                ..Dependency::default()
            },
            Dependency {
                name: "c".into(),
                tags: vec!["off".into()],
                ..Dependency::default()
            },
        ];
        top
    }

    fn names(chart: &Chart) -> Vec<&str> {
        chart.dependencies.iter().map(Chart::name).collect()
    }

    #[test]
    fn first_resolvable_condition_and_tags_decide() {
        let mut top = parent();
        process(&mut top, &json!({"tags": {"off": false}}));
        assert_eq!(names(&top), ["bee"]);
    }

    #[test]
    fn import_values_land_below_the_parents_own() {
        let mut top = Chart::from_parts("top", json!({"kept": "parent", "cfg": {"a": "parent"}}));
        top.dependencies = vec![Chart::from_parts(
            "lib",
            json!({"exports": {"defaults": {"kept": "child", "new": 1}}, "conf": {"a": "child", "b": 2}}),
        )];
        top.metadata.dependencies = vec![Dependency {
            name: "lib".into(),
            import_values: vec![json!("defaults"), json!({"child": "conf", "parent": "cfg"})],
            ..Dependency::default()
        }];
        process(&mut top, &json!({}));
        let values = crate::coalesce::coalesce_values(&top, &json!({}));
        assert_eq!(values["kept"], "parent");
        assert_eq!(values["new"], 1);
        assert_eq!(values["cfg"], json!({"a": "parent", "b": 2}));
    }

    #[test]
    fn user_values_turn_subcharts_on() {
        let mut top = parent();
        process(
            &mut top,
            &json!({"a": {"enabled": true}, "tags": {"off": true}}),
        );
        assert_eq!(names(&top), ["a", "bee", "c"]);
    }
}
