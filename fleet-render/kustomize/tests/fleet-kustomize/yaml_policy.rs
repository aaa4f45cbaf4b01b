//! YAML scalar policy of the kustomize build against goldens made by `kubectl kustomize`
//! (`fixtures/generate.sh`).

use std::path::PathBuf;

use fleet_kustomize as kustomize;
use fleet_kustomize::files::Files;
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fleet-kustomize/fixtures")
}

fn build(dir: &str) -> anyhow::Result<(Vec<Value>, String)> {
    let files = Files::load_dir(&fixtures())?;
    let objects = kustomize::build(&files, dir)?;
    let expected = std::fs::read_to_string(fixtures().join(dir).join("expected.yaml"))?;
    Ok((objects, expected))
}

fn docs(text: &str) -> anyhow::Result<Vec<Value>> {
    Ok(fleet_core::yaml::documents(text)?
        .into_iter()
        .filter(|d| !d.is_null())
        .collect())
}

#[test]
fn scalars_match_kubectl_kustomize() -> anyhow::Result<()> {
    let (objects, expected) = build("yaml-policy")?;
    assert_eq!(objects, docs(&expected)?);
    let data = &objects[1]["data"];
    // YAML 1.1 booleans stay strings, quoted numbers stay strings, strings are not altered.
    assert_eq!(data["yes_word"], json!("yes"));
    assert_eq!(data["on_word"], json!("on"));
    assert_eq!(data["octal_quoted"], json!("0755"));
    assert_eq!(data["quoted_float"], json!("1.50"));
    assert_eq!(data["literal_keep"], json!("kept\n\n"));
    assert_eq!(data["folded"], json!("folded text goes here\n"));
    assert_eq!(data["long"].as_str().map(str::len), Some(131));
    // Label and annotation values are strings.
    assert_eq!(objects[1]["metadata"]["annotations"]["number"], json!("42"));
    // Plain numbers are re-typed the way kustomize does: octal, hex, underscores, floats.
    let spec = &objects[2]["spec"];
    assert_eq!(spec["replicas"], json!(3));
    assert_eq!(spec["revisionHistoryLimit"], json!(10));
    assert_eq!(
        spec["template"]["spec"]["containers"][0]["securityContext"]["runAsUser"],
        json!(493)
    );
    assert_eq!(
        spec["template"]["spec"]["activeDeadlineSeconds"],
        json!(1500)
    );
    // Generator literals are strings, whatever they look like.
    assert_eq!(objects[0]["data"]["count"], json!("1_000"));
    assert_eq!(objects[0]["data"]["enabled"], json!("yes"));
    Ok(())
}

#[test]
fn printed_scalars_read_back_identically() -> anyhow::Result<()> {
    let (objects, expected) = build("yaml-policy")?;
    let printed = kustomize::to_yaml(&objects);
    assert_eq!(docs(&printed)?, objects);
    // The text is the one kubectl prints: quoting, block literals, folding near column 80.
    assert_eq!(printed, expected);
    Ok(())
}

#[test]
fn typical_overlays_match_kubectl_kustomize() -> anyhow::Result<()> {
    for env in ["typical/staging", "typical/production"] {
        let (objects, expected) = build(env)?;
        assert_eq!(objects, docs(&expected)?, "{env}");
        assert_eq!(
            kustomize::to_yaml(&objects),
            expected,
            "{env}: printed text"
        );
    }
    Ok(())
}
