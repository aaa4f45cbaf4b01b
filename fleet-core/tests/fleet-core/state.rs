//! Bundle states and summaries against `../shared/vectors/fleet/state.json` (spec §7.2).

use fleet_core::crd::{
    BundleDeployment, BundleSummary, ModifiedStatus, NonReadyStatus, ResourceSummary,
};
use fleet_core::rollout::DeploymentView;
use fleet_core::state::{
    self, BUNDLE_STATES_BY_RANK, BundleState, DeploymentStateView, SummaryExt,
};
use serde_json::Value;

fn load_vectors(file: &str) -> Option<Value> {
    let path = fleet_test_tools::shared::path("vectors/fleet")?.join(file);
    let text = std::fs::read_to_string(&path).expect("read vector file");
    Some(serde_json::from_str(&text).expect("vector file is JSON"))
}

fn conditions(bd: &Value) -> Vec<(String, String)> {
    bd["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["type"].as_str().unwrap_or_default().to_string(),
                c["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn fleet_state_vectors() {
    let Some(doc) = load_vectors("state.json") else {
        return;
    };
    // The StateRank table.
    for (name, rank) in doc["stateRank"].as_object().unwrap() {
        let state: BundleState = name.parse().unwrap();
        assert_eq!(i64::from(state.rank()), rank.as_i64().unwrap(), "{name}");
    }
    let cases = doc["cases"].as_array().unwrap();
    let mut passed = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap_or_default();
        let input = &case["input"];
        let expected = &case["expected"];
        match case["function"].as_str().unwrap() {
            "GetSummaryState" => {
                let summary: BundleSummary =
                    serde_json::from_value(input["summary"].clone()).unwrap();
                let got = summary
                    .summary_state()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                assert_eq!(got, expected.as_str().unwrap(), "{name}");
            }
            "SetReadyConditions" => {
                let summary: BundleSummary =
                    serde_json::from_value(input["summary"].clone()).unwrap();
                let (ready, message) =
                    summary.ready_condition(input["referencedKind"].as_str().unwrap());
                let cond = &expected["condition"];
                assert_eq!(ready, cond["status"] == "True", "{name}");
                assert_eq!(message, cond["message"].as_str().unwrap(), "{name}");
            }
            "MessageFromDeployment" => {
                let bd = &input["bundleDeployment"];
                let got = if bd.is_null() {
                    String::new()
                } else {
                    let conds = conditions(bd);
                    let ids_match =
                        bd["status"]["appliedDeploymentID"] == bd["spec"]["deploymentID"];
                    let from_pairs = state::message_from_deployment(
                        ids_match,
                        conds.iter().map(|(t, m)| (t.as_str(), m.as_str())),
                    );
                    let typed: BundleDeployment = serde_json::from_value(bd.clone()).unwrap();
                    assert_eq!(state::deployment_message(&typed), from_pairs, "{name}");
                    from_pairs
                };
                assert_eq!(got, expected.as_str().unwrap(), "{name}");
            }
            "isValidBundleState" => {
                let ok = input["state"]
                    .as_str()
                    .unwrap()
                    .parse::<BundleState>()
                    .is_ok();
                assert_eq!(ok, expected.as_bool().unwrap(), "{case}");
            }
            "validBundleStatesList" => {
                let got: Vec<String> = BUNDLE_STATES_BY_RANK
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                let want: Vec<String> = serde_json::from_value(expected.clone()).unwrap();
                assert_eq!(got, want);
            }
            "validateFleetYAML" => {
                let mut result = Ok(());
                for (i, dep) in input["fleetYaml"]["dependsOn"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .enumerate()
                {
                    let states: Vec<String> = serde_json::from_value(
                        dep.get("acceptedStates").cloned().unwrap_or(Value::Null),
                    )
                    .unwrap_or_default();
                    let has_name = dep["name"].as_str().is_some_and(|n| !n.is_empty());
                    let has_selector = !dep["selector"].is_null();
                    if let Err(e) = state::validate_depends_on(i, has_name, has_selector, &states) {
                        result = Err(e);
                        break;
                    }
                }
                match expected.get("errorContains").and_then(Value::as_str) {
                    Some(text) => {
                        let err = result.expect_err(name).to_string();
                        assert!(err.contains(text), "{name}: {err}");
                    }
                    None => assert!(result.is_ok(), "{name}: {result:?}"),
                }
            }
            other => panic!("unknown function {other}"),
        }
        passed += 1;
    }
    assert_eq!(passed, cases.len());
    eprintln!("state.json: {passed}/{} cases pass", cases.len());
}

struct Bd {
    deployment_id: &'static str,
    staged: &'static str,
    applied: &'static str,
    ready: bool,
    non_modified: bool,
    deployed_false: bool,
}

impl DeploymentView for Bd {
    fn deployment_id(&self) -> &str {
        self.deployment_id
    }
    fn staged_deployment_id(&self) -> &str {
        self.staged
    }
    fn applied_deployment_id(&self) -> &str {
        self.applied
    }
    fn ready(&self) -> bool {
        self.ready
    }
}

impl DeploymentStateView for Bd {
    fn non_modified(&self) -> bool {
        self.non_modified
    }
    fn deployed_condition_false(&self) -> bool {
        self.deployed_false
    }
}

/// Spec §7.2, one case per branch, in order of precedence.
#[test]
fn deployment_state_order() {
    let ok = Bd {
        deployment_id: "a",
        staged: "a",
        applied: "a",
        ready: true,
        non_modified: true,
        deployed_false: false,
    };
    assert_eq!(state::deployment_state(&ok), BundleState::Ready);
    let b = Bd {
        applied: "old",
        ready: false,
        ..ok
    };
    assert_eq!(state::deployment_state(&b), BundleState::WaitApplied);
    let b = Bd {
        applied: "old",
        deployed_false: true,
        ..ok
    };
    assert_eq!(state::deployment_state(&b), BundleState::ErrApplied);
    let b = Bd {
        ready: false,
        staged: "b",
        non_modified: false,
        ..ok
    };
    assert_eq!(state::deployment_state(&b), BundleState::NotReady);
    let b = Bd {
        staged: "b",
        non_modified: false,
        ..ok
    };
    assert_eq!(state::deployment_state(&b), BundleState::OutOfSync);
    let b = Bd {
        non_modified: false,
        ..ok
    };
    assert_eq!(state::deployment_state(&b), BundleState::Modified);
}

#[test]
fn summary_arithmetic_and_ready_message() {
    let mut s = BundleSummary::default();
    for i in 0..12 {
        s.increment_state(
            &format!("ns/c{i:02}"),
            BundleState::NotReady,
            "",
            vec![],
            vec![],
        );
        s.desired_ready += 1;
    }
    s.increment_state("ns/ok", BundleState::Ready, "", vec![], vec![]);
    s.desired_ready += 1;
    s.increment_state("", BundleState::ErrApplied, "", vec![], vec![]);
    s.desired_ready += 1;
    assert_eq!(s.not_ready, 12);
    assert_eq!(s.err_applied, 1);
    assert_eq!(
        s.non_ready_resources.len(),
        10,
        "at most ten entries, none for an empty name"
    );
    assert!(!s.is_ready());
    assert_eq!(s.summary_state(), Some(BundleState::NotReady));

    let mut total = BundleSummary::default();
    total.add(&s);
    total.add(&s);
    assert_eq!(total.not_ready, 24);
    assert_eq!(total.desired_ready, 28);
    assert_eq!(
        total.non_ready_resources.len(),
        10,
        "the second add is refused: ten already kept"
    );

    let mut m = BundleSummary {
        desired_ready: 2,
        ..Default::default()
    };
    let modified = (0..6)
        .map(|i| ModifiedStatus {
            kind: "ConfigMap".into(),
            api_version: "v1".into(),
            namespace: "default".into(),
            name: format!("cm{i}"),
            patch: "{}".into(),
            ..Default::default()
        })
        .collect();
    m.increment_state(
        "fleet-default/c1",
        BundleState::Modified,
        "",
        modified,
        vec![],
    );
    let non_ready = vec![NonReadyStatus {
        kind: "Deployment".into(),
        api_version: "apps/v1".into(),
        namespace: "web".into(),
        name: "api".into(),
        summary: ResourceSummary {
            state: "in-progress".into(),
            transitioning: true,
            message: vec!["Available: 0/1".into()],
            ..Default::default()
        },
        ..Default::default()
    }];
    m.increment_state(
        "fleet-default/c2",
        BundleState::NotReady,
        "not ready yet",
        vec![],
        non_ready,
    );
    assert_eq!(
        m.ready_message("Cluster"),
        [
            "NotReady(1) [Cluster fleet-default/c2: not ready yet]",
            "Modified(1) [Cluster fleet-default/c1]",
            "configmap.v1 default/cm0 modified {}",
            "configmap.v1 default/cm1 modified {}",
            "configmap.v1 default/cm2 modified {}",
            "configmap.v1 default/cm3 modified {}",
            "deployment.apps web/api [progressing] Available: 0/1",
        ]
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
        .join("; ")
    );
    assert_eq!(m.summary_state(), Some(BundleState::Modified));
    // Wrangler summary strings.
    let err = ResourceSummary {
        error: true,
        ..Default::default()
    };
    assert_eq!(state::resource_summary_string(&err), "error]");
    let both = ResourceSummary {
        error: true,
        transitioning: true,
        message: vec!["a".into(), "b".into()],
        ..Default::default()
    };
    assert_eq!(
        state::resource_summary_string(&both),
        "[progressing,error] a, b"
    );
}

#[test]
fn status_strings_of_modified_and_non_ready_resources() {
    let m = |missing, exist, delete| {
        state::modified_status_string(&fleet_core::crd::ModifiedStatus {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "web".into(),
            name: "api".into(),
            missing,
            exist,
            delete,
            patch: "{}".into(),
            ..Default::default()
        })
    };
    assert_eq!(m(true, false, false), "deployment.apps web/api missing");
    assert_eq!(
        m(true, true, false),
        "deployment.apps web/api is not owned by us"
    );
    assert_eq!(m(false, false, true), "deployment.apps web/api extra");
    assert_eq!(
        m(false, false, false),
        "deployment.apps web/api modified {}"
    );
    assert_eq!(
        state::object_name("", "Namespace", "", "ns"),
        "namespace ns"
    );
    assert_eq!(
        state::object_name("v1", "ConfigMap", "", "cm"),
        "configmap.v1 cm"
    );
    let non_ready = |error, message| fleet_core::crd::NonReadyStatus {
        api_version: "v1".into(),
        kind: "Pod".into(),
        namespace: "default".into(),
        name: "p".into(),
        summary: state::non_ready_summary(error, message),
        ..Default::default()
    };
    let progressing = non_ready(false, "Pod is in the Pending phase");
    assert_eq!(progressing.summary.state, "in-progress");
    assert!(progressing.summary.transitioning && !progressing.summary.error);
    assert_eq!(
        state::non_ready_status_string(&progressing),
        "pod.v1 default/p [progressing] Pod is in the Pending phase"
    );
    let failed = non_ready(true, "");
    assert_eq!(failed.summary.state, "error");
    assert!(failed.summary.message.is_empty());
    assert_eq!(
        state::non_ready_status_string(&failed),
        "pod.v1 default/p error]"
    );
}

/// The CRD BundleDeployment implements the state view (a missing status reads as empty).
#[test]
fn deployment_state_of_crd_objects() {
    let bd: BundleDeployment = serde_json::from_value(serde_json::json!({
        "spec": {"deploymentID": "a", "stagedDeploymentID": "a"}
    }))
    .unwrap();
    assert_eq!(state::deployment_state(&bd), BundleState::WaitApplied);
    let bd: BundleDeployment = serde_json::from_value(serde_json::json!({
        "spec": {"deploymentID": "a", "stagedDeploymentID": "a"},
        "status": {"appliedDeploymentID": "b", "conditions": [{"type": "Deployed", "status": "False", "message": "boom"}]}
    }))
    .unwrap();
    assert_eq!(state::deployment_state(&bd), BundleState::ErrApplied);
    assert_eq!(state::deployment_message(&bd), "boom");
    let bd: BundleDeployment = serde_json::from_value(serde_json::json!({
        "spec": {"deploymentID": "a", "stagedDeploymentID": "a"},
        "status": {"appliedDeploymentID": "a", "ready": true, "nonModified": true}
    }))
    .unwrap();
    assert_eq!(state::deployment_state(&bd), BundleState::Ready);
}
