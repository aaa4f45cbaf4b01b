//! Rollout arithmetic against `../shared/vectors/fleet/rollout-limit.json` (spec §4.2, §4.4).

use fleet_core::rollout::{self, IntOrString, RolloutError};
use serde::Deserialize;
use serde_json::Value;

fn load_vectors(file: &str) -> Option<Value> {
    let path = fleet_test_tools::shared::path("vectors/fleet")?.join(file);
    let text = std::fs::read_to_string(&path).expect("read vector file");
    Some(serde_json::from_str(&text).expect("vector file is JSON"))
}

/// The vector's BundleDeployments decode into the CRD type.
type Bd = fleet_core::crd::BundleDeployment;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    #[serde(rename = "deploymentID")]
    deployment_id: String,
    bundle_deployment: Option<Bd>,
}

#[test]
fn fleet_rollout_limit_vectors() {
    let Some(doc) = load_vectors("rollout-limit.json") else {
        return;
    };
    let cases = doc["cases"].as_array().unwrap();
    let mut passed = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap_or_default();
        let input = &case["input"];
        let expected = &case["expected"];
        match case["function"].as_str().unwrap() {
            "limit" => {
                let values: Vec<Option<IntOrString>> =
                    serde_json::from_value(input["values"].clone()).unwrap();
                let got = rollout::limit(
                    input["count"].as_i64().unwrap(),
                    values.iter().map(Option::as_ref),
                )
                .unwrap();
                assert_eq!(got, expected.as_i64().unwrap(), "{name}");
            }
            "MaxUnavailable" => {
                let v: Option<IntOrString> =
                    serde_json::from_value(input["rolloutStrategy"]["maxUnavailable"].clone())
                        .unwrap();
                let got = rollout::max_unavailable(
                    input["targetCount"].as_u64().unwrap() as usize,
                    v.as_ref(),
                )
                .unwrap();
                assert_eq!(got, expected.as_i64().unwrap(), "{name}");
            }
            "isUnavailable" => {
                let bd: Option<Bd> =
                    serde_json::from_value(input["bundleDeployment"].clone()).unwrap();
                assert_eq!(
                    rollout::is_unavailable(bd.as_ref()),
                    expected.as_bool().unwrap(),
                    "{name}"
                );
            }
            "upToDate" => {
                let t: Target = serde_json::from_value(input["target"].clone()).unwrap();
                let got = rollout::up_to_date(&t.deployment_id, t.bundle_deployment.as_ref());
                assert_eq!(got, expected.as_bool().unwrap(), "{name}");
            }
            "updatePartitionStatus" => {
                let targets: Vec<Target> =
                    serde_json::from_value(input["targets"].clone()).unwrap();
                let (count, unavailable) = rollout::update_partition_status(
                    input["partitionMaxUnavailable"].as_i64().unwrap(),
                    targets
                        .iter()
                        .map(|t| (t.deployment_id.as_str(), t.bundle_deployment.as_ref())),
                );
                assert_eq!(unavailable, expected.as_bool().unwrap(), "{name}");
                assert_eq!(
                    count as u64,
                    case["derived"]["partitionUnavailable"].as_u64().unwrap(),
                    "{name}"
                );
            }
            "Unavailable" => {
                let targets: Vec<Target> =
                    serde_json::from_value(input["targets"].clone()).unwrap();
                let got =
                    rollout::unavailable(targets.iter().map(|t| t.bundle_deployment.as_ref()));
                assert_eq!(got as u64, expected.as_u64().unwrap(), "{name}");
            }
            other => panic!("unknown function {other}"),
        }
        passed += 1;
    }
    assert_eq!(passed, cases.len());
    eprintln!("rollout-limit.json: {passed}/{} cases pass", cases.len());
}

#[test]
fn limit_edge_cases() {
    let s = |v: &str| IntOrString::String(v.to_string());
    let lim = |count, v: IntOrString| rollout::limit(count, [Some(&v)]);
    // Numeric strings are used unclamped (spec §4.2 step 4, quirk 5).
    assert_eq!(lim(10, s("25")).unwrap(), 25);
    assert_eq!(lim(10, s("+3")).unwrap(), 3);
    assert_eq!(lim(10, s("99999999999999999999")).unwrap(), i64::MAX);
    // Integers are clamped to [0, count]; 0 stays 0.
    assert_eq!(lim(10, IntOrString::Int(0)).unwrap(), 0);
    assert_eq!(lim(10, IntOrString::Int(-3)).unwrap(), 0);
    // "0" and "-2" are not positive integers, and do not end in '%'.
    assert!(matches!(
        lim(10, s("0")),
        Err(RolloutError::NotAPercentage { .. })
    ));
    assert!(matches!(
        lim(10, s("-2")),
        Err(RolloutError::NotAPercentage { .. })
    ));
    assert!(matches!(
        lim(10, s("abc")),
        Err(RolloutError::NotAPercentage { .. })
    ));
    assert!(matches!(
        lim(10, s("%")),
        Err(RolloutError::BadPercentage { .. })
    ));
    assert!(matches!(
        lim(10, s("x%")),
        Err(RolloutError::BadPercentage { .. })
    ));
    assert_eq!(lim(10, s("0%")).unwrap(), 1);
    assert_eq!(lim(10, s("25.9%")).unwrap(), 2);
    assert_eq!(lim(1000, s("0.5%")).unwrap(), 5);
    // Go converts an infinite product to the minimum integer on amd64, giving 1.
    assert_eq!(lim(10, s("inf%")).unwrap(), 1);
    assert_eq!(lim(10, s("NaN%")).unwrap(), 1);
    assert_eq!(
        lim(0, s("garbage")).unwrap(),
        1,
        "count <= 0 wins before parsing"
    );
    // maxUnavailablePartitions defaults to 0.
    assert_eq!(rollout::max_unavailable_partitions(4, None).unwrap(), 0);
    assert_eq!(
        rollout::max_unavailable_partitions(4, Some(&s("50%"))).unwrap(),
        2
    );
    // Error messages name the value.
    assert!(lim(10, s("abc")).unwrap_err().to_string().contains("abc"));
    // IntOrString reads both JSON forms.
    assert_eq!(
        serde_json::from_str::<IntOrString>("3").unwrap(),
        IntOrString::Int(3)
    );
    assert_eq!(
        serde_json::from_str::<IntOrString>("\"3\"").unwrap(),
        s("3")
    );
}
