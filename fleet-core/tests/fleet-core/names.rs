//! Fleet naming functions against `../shared/vectors/fleet/names.json` (spec §5.2, §1.4).

use fleet_core::names;
use serde_json::Value;

fn load_vectors(file: &str) -> Option<Value> {
    let path = fleet_test_tools::shared::path("vectors/fleet")?.join(file);
    let text = std::fs::read_to_string(&path).expect("read vector file");
    Some(serde_json::from_str(&text).expect("vector file is JSON"))
}

#[test]
fn fleet_names_vectors() {
    let Some(doc) = load_vectors("names.json") else {
        return;
    };
    let cases = doc["cases"].as_array().unwrap();
    let mut passed = 0;
    for case in cases {
        let input = &case["input"];
        let expected = case["expected"].as_str().unwrap();
        let got = match case["function"].as_str().unwrap() {
            "Limit" => names::limit(
                input["s"].as_str().unwrap(),
                input["count"].as_u64().unwrap() as usize,
            ),
            "HelmReleaseName" => names::helm_release_name(input["s"].as_str().unwrap()),
            "SafeConcatName" => {
                let parts: Vec<String> = serde_json::from_value(input["parts"].clone()).unwrap();
                names::safe_concat_name(&parts)
            }
            "KeyHash" => names::key_hash(input["s"].as_str().unwrap()),
            other => panic!("unknown function {other}"),
        };
        assert_eq!(got, expected, "{case}");
        passed += 1;
    }
    assert_eq!(passed, cases.len());
    eprintln!("names.json: {passed}/{} cases pass", cases.len());
}

#[test]
fn spec_examples() {
    // Spec §5.2 bundle ID examples and §1.4 cluster namespaces (the latter also appear in
    // Fleet's integrationtests/cli/assets/bundledeployment/bd.yaml and cluster_types.go).
    assert_eq!(
        names::helm_release_name("myrepo/multi-cluster/helm"),
        "myrepo-multi-cluster-helm"
    );
    assert_eq!(names::helm_release_name("myrepo"), "myrepo");
    assert_eq!(
        names::cluster_namespace("fleet-local", "local"),
        "cluster-fleet-local-local-1a3d67d0a899"
    );
    assert_eq!(
        names::cluster_namespace("fleet-local", "cluster-294db1acfa77"),
        "cluster-fleet-local-cluster-294db1acfa77-d9ccf852678f"
    );
}

#[test]
fn helm_release_name_fallback_and_edges() {
    // Nothing usable left after the clean-up: first 24 hex chars of md5 of the input.
    // md5("///") computed with python3 hashlib.
    assert_eq!(names::helm_release_name("///"), "884a6325c5f164f3cc6d5f97");
    assert_eq!(names::helm_release_name(""), "d41d8cd98f00b204e9800998");
    // Non-ASCII characters become '-' and force the hash suffix.
    let n = names::helm_release_name("café");
    assert!(n.starts_with("caf-"), "{n}");
    assert!(n.len() <= names::MAX_HELM_RELEASE_NAME_LEN);
    // A cut inside a multi-byte character never panics.
    let long = "é".repeat(40);
    assert!(names::limit(&long, 9).len() <= 12);
    assert!(!names::safe_concat_name(&[long.as_str()]).is_empty());
    assert_eq!(names::key_hash(&"é".repeat(60)).len(), 12);
}
