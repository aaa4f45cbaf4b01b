//! Helpers shared by the tests.

use std::collections::BTreeMap;

use fleet_core::selector::LabelSelector;
use fleet_targeting::MatcherInput;
use serde_json::Value;

/// `../shared/vectors/fleet/<name>` if the shared tree is present.
pub fn vector(name: &str) -> Option<String> {
    let p = fleet_test_tools::shared::path("vectors/fleet")?.join(name);
    Some(std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display())))
}

/// A label map from JSON (null = empty).
pub fn labels(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// A selector from JSON (null = None).
pub fn selector(v: Option<&Value>) -> Option<LabelSelector> {
    match v {
        None | Some(Value::Null) => None,
        Some(v) => Some(serde_json::from_value(v.clone()).expect("selector in vector")),
    }
}

/// A matcher from CRD JSON field names.
pub fn matcher(v: &Value) -> MatcherInput {
    MatcherInput {
        cluster_name: v["clusterName"].as_str().unwrap_or_default().to_owned(),
        cluster_group: v["clusterGroup"].as_str().unwrap_or_default().to_owned(),
        cluster_group_selector: selector(v.get("clusterGroupSelector")),
        cluster_selector: selector(v.get("clusterSelector")),
    }
}

/// `matchLabels` selector.
pub fn ml(pairs: &[(&str, &str)]) -> LabelSelector {
    LabelSelector {
        match_labels: Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        match_expressions: None,
    }
}
