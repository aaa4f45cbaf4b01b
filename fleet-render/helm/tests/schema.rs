//! `values.schema.json` validation against the Helm corpus: every case Helm refused with a
//! values error gets Helm's message, and every case Helm rendered passes validation.

use std::path::Path;

use fleet_helm::{chart, coalesce, dependencies, schema, values};

fn validate_case(chart_dir: &Path, case: &Path) -> Result<(), String> {
    let mut chart = chart::load(chart_dir).map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(case).map_err(|e| e.to_string())?;
    let user = values::parse(&text, "case").map_err(|e| e.to_string())?;
    dependencies::process(&mut chart, &user);
    let coalesced = coalesce::coalesce_values(&chart, &user);
    schema::validate(&chart, &coalesced).map_err(|e| e.to_string())
}

fn has_schema(chart: &chart::Chart) -> bool {
    chart.schema.is_some() || chart.dependencies.iter().any(has_schema)
}

#[test]
fn corpus_schema_cases_match_helm() {
    let Some(corpus) = fleet_test_tools::shared::path("corpus/helm") else {
        return;
    };
    let mut ids: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("chart").is_dir())
        .collect();
    ids.sort();
    let (mut refused, mut accepted) = (0, 0);
    let mut failures = Vec::new();
    for id in ids {
        let Ok(loaded) = chart::load(&id.join("chart")) else {
            continue;
        };
        if !has_schema(&loaded) {
            continue;
        }
        let mut cases: Vec<_> = std::fs::read_dir(id.join("cases"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                let name = p.to_string_lossy();
                name.ends_with(".yaml") && !name.ends_with(".expected.yaml")
            })
            .collect();
        cases.sort();
        for case in cases {
            let expected_path = case.with_extension("expected.yaml");
            let expected_text = std::fs::read_to_string(&expected_path).unwrap();
            let label = format!(
                "{}/{}",
                id.file_name().unwrap().to_string_lossy(),
                case.file_stem().unwrap().to_string_lossy()
            );
            let got = validate_case(&id.join("chart"), &case);
            if expected_text.contains("class: HelmValuesError") {
                let body: String = expected_text
                    .lines()
                    .filter(|l| !l.starts_with('#'))
                    .collect::<Vec<_>>()
                    .join("\n");
                let doc: serde_json::Value = fleet_helm::values::parse(&body, "expected").unwrap();
                let want = doc["error"]["message"].as_str().unwrap().to_string();
                let Err(message) = got else {
                    failures.push(format!("{label}: accepted, Helm refused:\n{want}"));
                    continue;
                };
                let same = if doc["error"]["line_order_varies"] == true {
                    let mut a: Vec<&str> = message.lines().collect();
                    let mut b: Vec<&str> = want.lines().collect();
                    a.sort();
                    b.sort();
                    a == b
                } else {
                    message == want
                };
                if same {
                    refused += 1;
                } else {
                    failures.push(format!("{label}:\n got: {message}\nwant: {want}"));
                }
            } else if expected_text.contains("class: HelmRenderError") {
                // Helm validated these values and failed later, in a template.
                match got {
                    Ok(()) => accepted += 1,
                    Err(e) => failures.push(format!("{label}: refused, Helm accepted: {e}")),
                }
            } else {
                match got {
                    Ok(()) => accepted += 1,
                    Err(e) => failures.push(format!("{label}: refused, Helm accepted: {e}")),
                }
            }
        }
    }
    println!("{refused} refused as Helm refuses, {accepted} accepted as Helm accepts");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(refused >= 7, "{refused} refusals compared");
    assert!(accepted >= 20, "{accepted} acceptances compared");
}

#[test]
fn messages_name_the_chart_and_subchart() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("charts/sub")).unwrap();
    std::fs::write(
        root.join("Chart.yaml"),
        "apiVersion: v2\nname: top\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(
        root.join("values.schema.json"),
        r#"{"type":"object","required":["a","b"],"properties":{"port":{"type":"integer","maximum":10},"mode":{"enum":["x","y"]}},"additionalProperties":true}"#,
    )
    .unwrap();
    std::fs::write(
        root.join("charts/sub/Chart.yaml"),
        "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(
        root.join("charts/sub/values.schema.json"),
        r#"{"type":"object","properties":{"name":{"type":["string","null"],"pattern":"^[a-z]+$"}},"additionalProperties":false}"#,
    )
    .unwrap();
    let chart = chart::load(root).unwrap();
    let values = serde_json::json!({
        "port": 11, "mode": "z", "sub": {"name": "ABC", "extra": 1}
    });
    let err = schema::validate(&chart, &values).unwrap_err().to_string();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], schema::HEADER);
    assert_eq!(lines[1], "top:");
    assert!(
        lines.contains(&"- at '': missing properties 'a', 'b'"),
        "{err}"
    );
    assert!(
        lines.contains(&"- at '/port': maximum: got 11, want 10"),
        "{err}"
    );
    assert!(
        lines.contains(&"- at '/mode': value must be one of 'x', 'y'"),
        "{err}"
    );
    assert!(lines.contains(&"sub:"), "{err}");
    assert!(
        lines.contains(&"- at '/name': 'ABC' does not match pattern '^[a-z]+$'"),
        "{err}"
    );
    assert!(
        lines.contains(&"- at '': additional properties 'extra' not allowed"),
        "{err}"
    );
    let ok = serde_json::json!({"a": 1, "b": 2, "port": 3, "sub": {"name": null}});
    schema::validate(&chart, &ok).unwrap();

    std::fs::write(root.join("values.schema.json"), "{not json").unwrap();
    let broken = chart::load(root).unwrap();
    assert!(matches!(
        schema::validate(&broken, &ok),
        Err(schema::Error::BadSchema { .. })
    ));
}
