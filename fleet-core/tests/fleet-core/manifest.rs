//! Manifest JSON, manifest IDs, Content gzip and deployment IDs (spec §5.5–5.6).
//!
//! Where each expected value comes from:
//! * `content.yaml`, `bd.yaml`, `bd-with-kube-version.yaml`, `bd-only.yaml` in
//!   `../shared/corpus/fleet-cli-assets/bundledeployment/` (Fleet's
//!   `integrationtests/cli/assets/bundledeployment/`): Content objects with their
//!   `sha256sum` and names, and the deploymentID of BundleDeployment `testbundle-simple-chart`.
//! * The escaping case has no Go-produced hash: its expected bytes and hash were computed with
//!   python3 (`json.dumps(obj, separators=(',', ':'), ensure_ascii=False)` followed by Go's
//!   HTML-safe replacements of `<`, `>`, `&`, U+2028, U+2029, plus the encoder's `"\n"`).

use base64::Engine as _;
use fleet_core::manifest::{self, Manifest, ManifestError};
use fleet_core::yaml;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Go's `BundleResource` field order and omitempty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Resource {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    content: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    encoding: String,
}

fn corpus_objects(file: &str) -> Option<Vec<Value>> {
    let path =
        fleet_test_tools::shared::path("corpus/fleet-cli-assets/bundledeployment")?.join(file);
    let text = std::fs::read_to_string(&path).expect("read fixture");
    Some(
        yaml::documents(&text)
            .expect("fixture is YAML")
            .into_iter()
            .filter(|d| !d.is_null())
            .collect(),
    )
}

fn content_of(objects: &[Value]) -> (Vec<u8>, String, String) {
    let content = objects
        .iter()
        .find(|o| o["kind"] == "Content")
        .expect("a Content object");
    let gz = base64::engine::general_purpose::STANDARD
        .decode(content["content"].as_str().unwrap())
        .unwrap();
    (
        gz,
        content["sha256sum"].as_str().unwrap().to_string(),
        content["metadata"]["name"].as_str().unwrap().to_string(),
    )
}

/// Fleet's compact manifest: decoding and re-encoding the resources gives the same bytes,
/// hash and ID as the fixture.
#[test]
fn content_fixture_round_trips_byte_exact() {
    let Some(objects) = corpus_objects("content.yaml") else {
        return;
    };
    let (gz, sha, name) = content_of(&objects);
    let stored = Manifest::from_content(&gz, &sha).unwrap();
    assert_eq!(stored.sha256sum(), sha);
    assert_eq!(stored.id(), name);
    assert_eq!(name.len(), 63);
    let resources: Vec<Resource> = stored.resources().unwrap();
    assert_eq!(resources.len(), 5);
    let rebuilt = Manifest::from_resources(&resources).unwrap();
    assert_eq!(
        rebuilt.json(),
        stored.json(),
        "re-encoded manifest differs from Fleet's bytes"
    );
    assert_eq!(rebuilt.id(), name);
    // The gzip we write decompresses to the same bytes.
    let ours = rebuilt.to_gzip().unwrap();
    assert_eq!(manifest::gunzip(&ours).unwrap(), stored.json());
    assert_eq!(
        &ours[..10],
        &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255],
        "Go-style gzip header"
    );
}

/// Indented JSON in the other fixtures: the hash is over the stored bytes; the IDs follow.
#[test]
fn indented_content_fixtures() {
    for file in ["bd.yaml", "bd-with-kube-version.yaml"] {
        let Some(objects) = corpus_objects(file) else {
            return;
        };
        let (gz, sha, name) = content_of(&objects);
        let m = Manifest::from_content(&gz, &sha).unwrap();
        assert_eq!(m.sha256sum(), sha, "{file}");
        // bd.yaml's Content is named with all 64 hex digits (66 characters), a hand-made
        // outlier (spec §12 item 15); the rule gives its first 63 characters.
        assert!(name.starts_with(&m.id()), "{file}: {name} vs {}", m.id());
        // Re-encoding gives compact JSON, so a different hash.
        let rebuilt = Manifest::from_resources(&m.resources::<Resource>().unwrap()).unwrap();
        assert_ne!(rebuilt.sha256sum(), sha);
    }
}

#[test]
fn hash_mismatch_and_bad_input_are_errors() {
    let m = Manifest::from_resources(&[Resource {
        name: "a".into(),
        content: "b".into(),
        encoding: String::new(),
    }])
    .unwrap();
    let gz = m.to_gzip().unwrap();
    assert!(matches!(
        Manifest::from_content(&gz, "00"),
        Err(ManifestError::HashMismatch { .. })
    ));
    assert!(Manifest::from_content(&gz, "").is_ok());
    assert!(matches!(
        manifest::gunzip(b"not gzip"),
        Err(ManifestError::Gzip(_))
    ));
    assert!(matches!(
        Manifest::from_json(b"[1]".to_vec(), ""),
        Err(ManifestError::Decode(_))
    ));
}

#[test]
fn empty_manifest_and_escaping() {
    let empty = Manifest::from_resources::<Resource>(&[]).unwrap();
    assert_eq!(empty.json(), b"{}\n");
    let r = Resource {
        name: "a<b>&.yaml".into(),
        content: "x\u{2028}y\u{2029}z\n\t\"q\" \\ \u{1} é".into(),
        encoding: String::new(),
    };
    let m = Manifest::from_resources(&[r]).unwrap();
    assert_eq!(
        std::str::from_utf8(m.json()).unwrap(),
        "{\"resources\":[{\"name\":\"a\\u003cb\\u003e\\u0026.yaml\",\"content\":\"x\\u2028y\\u2029z\\n\\t\\\"q\\\" \\\\ \\u0001 é\"}]}\n"
    );
    // Computed with python3 (see the module comment).
    assert_eq!(
        m.sha256sum(),
        "2ef70f9cadd97fd99f72a7a7ef9d123958e8793bbd6b75fc01a0dc89116d48fc"
    );
    assert_eq!(
        m.id(),
        "s-2ef70f9cadd97fd99f72a7a7ef9d123958e8793bbd6b75fc01a0dc89116d4"
    );
}

/// Go field order of the parts of `BundleDeploymentOptions` that this fixture uses.
#[derive(Serialize)]
struct Helm {
    chart: &'static str,
    values: Value,
}

#[derive(Serialize)]
struct Options {
    helm: Helm,
    ignore: Value,
}

/// bd-only.yaml: `deploymentID` of BD testbundle-simple-chart, written by Fleet.
#[test]
fn deployment_id_matches_fleet_fixture() {
    let Some(objects) = corpus_objects("bd-only.yaml") else {
        return;
    };
    let bd = &objects[0];
    let want = bd["spec"]["deploymentID"].as_str().unwrap();
    let options = Options {
        helm: Helm {
            chart: "config-chart",
            values: serde_json::json!({"name": "example-value"}),
        },
        ignore: serde_json::json!({}),
    };
    let manifest_id = "s-ee0480cffe0c0da150814f6844d7c5bc49cc05c158c5ba1efe9a45142f36e";
    assert_eq!(
        manifest::deployment_id(manifest_id, &options).unwrap(),
        want
    );
    let (mid, hash) = manifest::split_deployment_id(want);
    assert_eq!(mid, manifest_id);
    assert_eq!(
        hash,
        "c32e813ecbf48f56833aa2267cd3d8758eecc94f9948fb0dea510147a57760b5"
    );
}

#[test]
fn sha256_id_cuts_at_63() {
    let sum = "ee0480cffe0c0da150814f6844d7c5bc49cc05c158c5ba1efe9a45142f36eebc";
    assert_eq!(
        manifest::to_sha256_id(sum),
        "s-ee0480cffe0c0da150814f6844d7c5bc49cc05c158c5ba1efe9a45142f36e"
    );
    assert_eq!(manifest::to_sha256_id("abc"), "s-abc");
}

/// The CRD types: Content resources decoded into `crd::BundleResource` re-encode to Fleet's
/// bytes, and the BundleDeployment's own `spec.options` hash to its `deploymentID`.
#[test]
fn crd_types_reproduce_fleet_ids() {
    let Some(content) = corpus_objects("content.yaml") else {
        return;
    };
    let (gz, sha, name) = content_of(&content);
    let stored = Manifest::from_content(&gz, &sha).unwrap();
    let resources: Vec<fleet_core::crd::BundleResource> = stored.resources().unwrap();
    let rebuilt = Manifest::from_bundle_resources(&resources).unwrap();
    assert_eq!(rebuilt.json(), stored.json());
    assert_eq!(rebuilt.id(), name);

    let Some(objects) = corpus_objects("bd-only.yaml") else {
        return;
    };
    let bd: fleet_core::crd::BundleDeployment = serde_json::from_value(objects[0].clone()).unwrap();
    let want = bd.spec.deployment_id.clone();
    let (manifest_id, _) = manifest::split_deployment_id(&want);
    assert_eq!(manifest_id, name);
    for options in [&bd.spec.options, &bd.spec.staged_options] {
        assert_eq!(
            manifest::options_deployment_id(manifest_id, options).unwrap(),
            want
        );
    }
    // diff and correctDrift do not change the ID (v0.16+).
    let mut with_diff = bd.spec.options.clone();
    with_diff.diff = Some(Default::default());
    with_diff.correct_drift = Some(fleet_core::crd::CorrectDrift {
        enabled: true,
        ..Default::default()
    });
    assert_eq!(
        manifest::options_deployment_id(manifest_id, &with_diff).unwrap(),
        want
    );
    // Anything else does.
    let mut other = bd.spec.options.clone();
    other.keep_resources = true;
    assert_ne!(
        manifest::options_deployment_id(manifest_id, &other).unwrap(),
        want
    );
}

/// Helm values numbers hash as Go's float64: `12345678901234567890` is written as
/// `12345678901234567000`, `1.0` as `1`, `1e21` as `1e+21`. Expected hash computed with
/// python3: sha256(b'{"helm":{"values":{"a":12345678901234567000,"b":1,"c":1e+21,"d":0.5}},"ignore":{}}\n').
#[test]
fn helm_value_numbers_hash_as_float64() {
    let options: fleet_core::crd::BundleDeploymentOptions =
        serde_json::from_value(serde_json::json!({
            "helm": {"values": {"a": 12345678901234567890u64, "b": 1.0, "c": 1e21, "d": 0.5}}
        }))
        .unwrap();
    let id = manifest::options_deployment_id("s-x", &options).unwrap();
    assert_eq!(id, format!("s-x:{}", manifest::sha256_hex(
        b"{\"helm\":{\"values\":{\"a\":12345678901234567000,\"b\":1,\"c\":1e+21,\"d\":0.5}},\"ignore\":{}}\n"
    )));
    assert_eq!(
        id,
        "s-x:773546085f21a9779671acff248d653f3741732b65cbe956f4542f30e7308a0f"
    );
}

#[test]
fn bundle_resources_encode_and_decode() {
    use fleet_core::crd::BundleResource;
    let text = BundleResource::encode("a.yaml", b"kind: ConfigMap\n", false).unwrap();
    assert_eq!(
        (text.content.as_str(), text.encoding.as_str()),
        ("kind: ConfigMap\n", "")
    );
    assert_eq!(text.decode().unwrap(), b"kind: ConfigMap\n");
    let binary = BundleResource::encode("logo.png", &[0xff, 0x00, 0x80], false).unwrap();
    assert_eq!(binary.encoding, "base64+gz");
    assert_eq!(binary.decode().unwrap(), [0xff, 0x00, 0x80]);
    let compressed = BundleResource::encode("a.yaml", b"x: 1\n", true).unwrap();
    assert_eq!(compressed.encoding, "base64+gz");
    assert_eq!(compressed.decode().unwrap(), b"x: 1\n");
    let plain_base64 = BundleResource {
        name: "b".into(),
        content: "eDogMQo=".into(),
        encoding: "base64".into(),
        ..Default::default()
    };
    assert_eq!(plain_base64.decode().unwrap(), b"x: 1\n");
    for (content, encoding, reason) in [
        ("%%%", "base64+gz", "invalid base64"),
        ("eDogMQo=", "base64+gz", "invalid gzip"),
        ("x", "zstd", "unknown encoding \"zstd\""),
    ] {
        let bad = BundleResource {
            name: "bad.yaml".into(),
            content: content.into(),
            encoding: encoding.into(),
            ..Default::default()
        };
        let err = bad.decode().unwrap_err().to_string();
        assert!(err.starts_with("resource bad.yaml: "), "{err}");
        assert!(err.contains(reason), "{err}");
    }
}
