//! `../shared/vectors/fleet/matcher.json`, run through the engine (set algebra, per-cluster
//! walk and explanation must agree).

use fleet_targeting::{
    BundleInput, CustomizationMode, Engine, EntryRole, GroupInput, Outcome, TargetInput,
};
use serde_json::Value;

use crate::common::{labels, matcher, vector};

const NS: &str = "ns";

fn targets_of(bundle: &Value) -> Vec<TargetInput> {
    bundle["targets"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| TargetInput {
                    name: t["name"].as_str().unwrap_or_default().to_owned(),
                    matcher: matcher(t),
                    do_not_deploy: t["doNotDeploy"].as_bool().unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn restrictions_of(bundle: &Value) -> Vec<fleet_targeting::MatcherInput> {
    bundle["targetRestrictions"]
        .as_array()
        .map(|a| a.iter().map(matcher).collect())
        .unwrap_or_default()
}

/// Adds the cluster and its groups (each group selects exactly this cluster).
fn setup_cluster(e: &mut Engine, name: &str, cl: &Value, groups: &[(String, Value)]) -> u32 {
    let l = labels(&cl["labels"]);
    e.upsert_cluster(NS, name, l.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for (g, gl) in groups {
        e.upsert_group(&GroupInput {
            namespace: NS.into(),
            name: g.clone(),
            labels: labels(gl),
            selector: Some(Default::default()),
        });
    }
    e.cluster_id(NS, name).expect("cluster")
}

fn check_engine_agrees(e: &Engine, b: u32, c: u32) -> Option<fleet_targeting::Decision> {
    let set = e.targets(b).decision(c).cloned();
    let walk = e.decision(b, c);
    assert_eq!(set, walk, "set algebra and per-cluster walk disagree");
    let per_cluster = e
        .bundles_for_cluster(c)
        .into_iter()
        .find(|(x, _)| *x == b)
        .map(|(_, d)| d);
    assert_eq!(walk, per_cluster, "anchor index disagrees");
    walk
}

#[test]
fn matcher_vectors() {
    let Some(text) = vector("matcher.json") else {
        return;
    };
    let doc: Value = serde_json::from_str(&text).expect("json");
    let mut passed = 0;
    for case in doc["cases"].as_array().expect("cases") {
        let func = case["function"].as_str().unwrap_or_default();
        let name = case["name"].as_str().unwrap_or_default();
        let input = &case["input"];
        match func {
            "ClusterMatcher.Match" => {
                let mut e = Engine::new();
                let cl = &input["cluster"];
                let group = cl["group"].as_str().unwrap_or_default();
                let groups = if group.is_empty() {
                    vec![]
                } else {
                    vec![(group.to_owned(), cl["groupLabels"].clone())]
                };
                let cname = cl["name"].as_str().unwrap_or_default();
                let c = setup_cluster(&mut e, cname, cl, &groups);
                let (b, _) = e
                    .upsert_bundle(&BundleInput {
                        namespace: NS.into(),
                        name: "b".into(),
                        targets: vec![TargetInput {
                            name: "t".into(),
                            matcher: matcher(&input["matcher"]),
                            do_not_deploy: false,
                        }],
                        ..Default::default()
                    })
                    .expect("bundle");
                let got = check_engine_agrees(&e, b, c).is_some();
                assert_eq!(got, case["expected"].as_bool().unwrap_or(false), "{name}");
            }
            "BundleMatch.MatchAllTargetCustomizations"
            | "BundleMatch.MatchTargetCustomizations" => {
                let all = func.ends_with("MatchAllTargetCustomizations");
                let mut e = Engine::new();
                let cl = &input["cluster"];
                let groups: Vec<(String, Value)> = cl["groups"]
                    .as_object()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                let c = setup_cluster(&mut e, cl["name"].as_str().unwrap_or("c"), cl, &groups);
                let targets = targets_of(&input["bundle"]);
                let (b, _) = e
                    .upsert_bundle(&BundleInput {
                        namespace: NS.into(),
                        name: "b".into(),
                        targets: targets.clone(),
                        restrictions: restrictions_of(&input["bundle"]),
                        mode: if all {
                            CustomizationMode::AllMatches
                        } else {
                            CustomizationMode::FirstMatch
                        },
                        ..Default::default()
                    })
                    .expect("bundle");
                let decision = check_engine_agrees(&e, b, c);
                let ex = e.explain(b, c).expect("explain");
                // Customizations whose criteria matched, in order, as the explanation lists them.
                let matched: Vec<usize> = ex
                    .entries
                    .iter()
                    .filter(|x| x.role == EntryRole::Customization && x.evaluated)
                    .filter(|x| x.groups.iter().any(|g| g.matched))
                    .map(|x| x.index)
                    .collect();
                let names: Vec<&str> = matched.iter().map(|&i| targets[i].name.as_str()).collect();
                if all {
                    let want: Vec<&str> = case["expected"]["targetNames"]
                        .as_array()
                        .expect("targetNames")
                        .iter()
                        .filter_map(Value::as_str)
                        .collect();
                    assert_eq!(names, want, "{name}");
                    let vetoed = matched.iter().any(|&i| targets[i].do_not_deploy);
                    match decision {
                        Some(d) => {
                            assert!(!vetoed, "{name}");
                            let got: Vec<usize> =
                                d.customizations.iter().map(|&x| x as usize).collect();
                            assert_eq!(got, matched, "{name}");
                        }
                        None => {
                            assert!(vetoed, "{name}");
                            assert!(
                                matches!(ex.outcome, Outcome::VetoedByCustomization { .. }),
                                "{name}"
                            );
                        }
                    }
                } else {
                    let want = case["expected"]["targetName"].as_str().expect("targetName");
                    let d = decision.expect("deployed");
                    let first =
                        d.customizations.first().copied().expect("a customization") as usize;
                    assert_eq!(targets[first].name, want, "{name}");
                    if let Some(idx) = case["expected"]["targetIndex"].as_u64() {
                        assert_eq!(first as u64, idx, "{name}");
                    }
                }
            }
            "determineIsCustomization" => {
                let index = input["index"].as_u64().expect("index") as usize;
                let nc = input["numCustomizations"].as_u64().expect("nc") as usize;
                let m = input["numRestrictions"].as_u64().expect("nr") as usize;
                let n = if m > 0 { nc + m } else { (index + 1).max(nc) };
                let mut e = Engine::new();
                e.upsert_cluster(NS, "c", [("a", "b")]);
                let targets: Vec<TargetInput> = (0..n)
                    .map(|i| TargetInput {
                        name: format!("t{i}"),
                        matcher: fleet_targeting::MatcherInput {
                            cluster_selector: Some(Default::default()),
                            ..Default::default()
                        },
                        do_not_deploy: false,
                    })
                    .collect();
                let restrictions = (0..m)
                    .map(|_| fleet_targeting::MatcherInput {
                        cluster_selector: Some(Default::default()),
                        ..Default::default()
                    })
                    .collect();
                let (b, _) = e
                    .upsert_bundle(&BundleInput {
                        namespace: NS.into(),
                        name: "b".into(),
                        targets,
                        restrictions,
                        ..Default::default()
                    })
                    .expect("bundle");
                let c = e.cluster_id(NS, "c").expect("cluster");
                let ex = e.explain(b, c).expect("explain");
                let role = ex
                    .entries
                    .iter()
                    .find(|x| x.index == index)
                    .map(|x| x.role)
                    .expect("entry");
                assert_eq!(
                    role == EntryRole::Customization,
                    case["expected"].as_bool().expect("bool"),
                    "{name}"
                );
            }
            other => panic!("unknown function {other}"),
        }
        passed += 1;
    }
    assert_eq!(passed, 28, "all matcher.json cases run");
}
