//! Explanations.

use fleet_targeting::{BundleInput, Engine, GroupInput, MatcherInput, Outcome, TargetInput};

use crate::common::ml;

#[test]
fn explains_restriction_through_the_same_group() {
    let mut e = Engine::new();
    e.upsert_cluster("ns", "one", [("env", "test"), ("cluster", "one")]);
    for (g, k, v) in [("one", "cluster", "one"), ("all", "env", "test")] {
        e.upsert_group(&GroupInput {
            namespace: "ns".into(),
            name: g.into(),
            labels: Default::default(),
            selector: Some(ml(&[(k, v)])),
        });
    }
    let (b, _) = e
        .upsert_bundle(&BundleInput {
            namespace: "ns".into(),
            name: "app".into(),
            targets: vec![
                TargetInput {
                    name: "veto".into(),
                    matcher: MatcherInput {
                        cluster_group: "one".into(),
                        ..Default::default()
                    },
                    do_not_deploy: true,
                },
                TargetInput {
                    name: "repo".into(),
                    matcher: MatcherInput {
                        cluster_group: "all".into(),
                        ..Default::default()
                    },
                    do_not_deploy: false,
                },
            ],
            restrictions: vec![MatcherInput {
                cluster_group: "all".into(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .expect("bundle");
    let c = e.cluster_id("ns", "one").expect("cluster");
    let ex = e.explain(b, c).expect("explain");
    assert_eq!(
        ex.outcome,
        Outcome::VetoedByCustomization {
            target: 1,
            customization: 0
        }
    );
    let text = ex.to_string();
    assert!(
        text.contains("group one: no match (clusterGroup \"all\" but the group is \"one\")"),
        "{text}"
    );
    assert!(text.contains("group all: matches"), "{text}");
    assert!(text.contains("restriction[0]: allows"), "{text}");
    assert!(
        text.contains("vetoed by customization targets[0]"),
        "{text}"
    );
}

#[test]
fn explains_out_of_scope_and_no_match() {
    let mut e = Engine::new();
    e.upsert_cluster("other", "x", [("env", "prod")]);
    e.upsert_cluster("ns", "y", [("env", "dev")]);
    let (b, _) = e
        .upsert_bundle(&BundleInput {
            namespace: "ns".into(),
            name: "app".into(),
            targets: vec![TargetInput {
                matcher: MatcherInput {
                    cluster_selector: Some(ml(&[("env", "prod")])),
                    ..Default::default()
                },
                ..Default::default()
            }],
            ..Default::default()
        })
        .expect("bundle");
    let x = e.cluster_id("other", "x").expect("x");
    assert_eq!(
        e.explain(b, x).expect("explain").outcome,
        Outcome::OutOfScope
    );
    let y = e.cluster_id("ns", "y").expect("y");
    let ex = e.explain(b, y).expect("explain");
    assert_eq!(ex.outcome, Outcome::NoTarget);
    assert!(
        ex.to_string()
            .contains("clusterSelector: env in (prod) but env=dev"),
        "{ex}"
    );
}
