//! Incremental updates: deltas of cluster, group and bundle changes.

use fleet_targeting::{BundleInput, Change, Engine, GroupInput, MatcherInput, TargetInput};

use crate::common::ml;

fn engine() -> (Engine, u32) {
    let mut e = Engine::new();
    for i in 0..100 {
        let env = ["dev", "prod"][i % 2];
        let name = format!("c{i}");
        e.upsert_cluster("fleet-default", &name, [("env", env)]);
    }
    e.upsert_group(&GroupInput {
        namespace: "fleet-default".into(),
        name: "prod".into(),
        labels: Default::default(),
        selector: Some(ml(&[("env", "prod")])),
    });
    let (b, d) = e
        .upsert_bundle(&BundleInput {
            namespace: "fleet-default".into(),
            name: "app".into(),
            targets: vec![
                TargetInput {
                    name: "by-group".into(),
                    matcher: MatcherInput {
                        cluster_group: "prod".into(),
                        ..Default::default()
                    },
                    do_not_deploy: false,
                },
                TargetInput {
                    name: "special".into(),
                    matcher: MatcherInput {
                        cluster_selector: Some(ml(&[("special", "yes")])),
                        ..Default::default()
                    },
                    do_not_deploy: false,
                },
            ],
            ..Default::default()
        })
        .expect("bundle");
    assert_eq!(d.appeared.len(), 50);
    (e, b)
}

#[test]
fn cluster_label_change_reports_only_that_bundle() {
    let (mut e, b) = engine();
    let d = e.upsert_cluster("fleet-default", "c0", [("env", "prod")]);
    assert_eq!(d.changes.len(), 1);
    assert_eq!(d.changes[0].0, b);
    assert!(matches!(d.changes[0].1, Change::Appeared(ref x) if x.target == 0));
    // Same labels again: nothing.
    let d = e.upsert_cluster("fleet-default", "c0", [("env", "prod")]);
    assert!(d.changes.is_empty());
    // Switch from the group target to the special target.
    let d = e.upsert_cluster("fleet-default", "c0", [("env", "dev"), ("special", "yes")]);
    assert!(matches!(d.changes[0].1, Change::Changed(ref x) if x.target == 1));
    let d = e.remove_cluster("fleet-default", "c0");
    assert_eq!(d.changes, vec![(b, Change::Disappeared)]);
    assert_eq!(e.targets(b).len(), 50);
}

#[test]
fn group_change_delta() {
    let (mut e, b) = engine();
    let d = e.upsert_group(&GroupInput {
        namespace: "fleet-default".into(),
        name: "prod".into(),
        labels: Default::default(),
        selector: Some(ml(&[("env", "dev")])),
    });
    assert_eq!(d.bundles.len(), 1);
    assert_eq!(d.bundles[0].bundle, b);
    assert_eq!(d.bundles[0].appeared.len(), 50);
    assert_eq!(d.bundles[0].disappeared.len(), 50);
    let d = e.remove_group("fleet-default", "prod");
    assert_eq!(d.bundles[0].disappeared.len(), 50);
    assert!(e.targets(b).is_empty());
}

#[test]
fn invalid_selector_fails_the_bundle_and_keeps_state() {
    let (mut e, b) = engine();
    let bad = BundleInput {
        namespace: "fleet-default".into(),
        name: "app".into(),
        targets: vec![TargetInput {
            matcher: MatcherInput {
                cluster_selector: Some(fleet_core::selector::LabelSelector {
                    match_labels: None,
                    match_expressions: Some(vec![fleet_core::selector::LabelSelectorRequirement {
                        key: "env".into(),
                        operator: "Gt".into(),
                        values: Some(vec!["1".into()]),
                    }]),
                }),
                ..Default::default()
            },
            ..Default::default()
        }],
        ..Default::default()
    };
    let err = e.upsert_bundle(&bad).expect_err("invalid operator");
    assert!(err.to_string().contains("Gt"), "{err}");
    assert_eq!(e.targets(b).len(), 50);
}

#[test]
fn invalid_group_selector_makes_an_empty_group() {
    let (mut e, b) = engine();
    e.upsert_group(&GroupInput {
        namespace: "fleet-default".into(),
        name: "prod".into(),
        labels: Default::default(),
        selector: Some(fleet_core::selector::LabelSelector {
            match_labels: Some([("bad key!".to_string(), "x".to_string())].into()),
            match_expressions: None,
        }),
    });
    assert!(e.group_error("fleet-default", "prod").is_some());
    assert!(e.targets(b).is_empty());
}

#[test]
fn many_distinct_values_and_removals() {
    // Enough clusters for dense columns and wide postings; unique `name` labels.
    let mut e = Engine::new();
    let n = 6000;
    let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    e.load_clusters(names.iter().enumerate().map(|(i, s)| {
        (
            "ns",
            s.as_str(),
            vec![
                ("name", s.as_str()),
                ("parity", if i % 2 == 0 { "even" } else { "odd" }),
            ],
        )
    }));
    let target = |v: &str| TargetInput {
        matcher: MatcherInput {
            cluster_selector: Some(ml(&[("name", v)])),
            ..Default::default()
        },
        ..Default::default()
    };
    let (b, d) = e
        .upsert_bundle(&BundleInput {
            namespace: "ns".into(),
            name: "b".into(),
            targets: vec![target("c17"), target("c5999"), target("nope")],
            ..Default::default()
        })
        .expect("bundle");
    assert_eq!(d.appeared.len(), 2);
    // Give c17's name to c18 as well, then remove c17: the value stays with c18.
    let ch = e.upsert_cluster("ns", "c18", [("name", "c17")]);
    assert_eq!(ch.changes.len(), 1);
    assert_eq!(e.targets(b).len(), 3);
    let ch = e.remove_cluster("ns", "c17");
    assert_eq!(ch.changes, vec![(b, Change::Disappeared)]);
    let got: Vec<String> = e
        .targets(b)
        .clusters()
        .iter()
        .map(|c| e.cluster_name(c).1.to_owned())
        .collect();
    assert_eq!(got, vec!["c18".to_string(), "c5999".to_string()]);
    // Re-adding reuses the free slot and indexes labels again.
    e.upsert_cluster("ns", "c17", [("name", "c17")]);
    assert_eq!(e.targets(b).len(), 3);
    assert_eq!(e.cluster_count(), n);
}

/// A bulk load holds bitmap additions back and applies them in sorted runs (in batches, and
/// early when a cluster repeats): it must index exactly what loading the clusters one by one
/// does, across batch boundaries and with repeated clusters relabelled mid-load.
#[test]
fn bulk_load_equals_one_by_one_upserts() {
    let n = 70_000;
    /// Namespace, name, labels.
    type Input = (String, String, Vec<(String, String)>);
    let mut input: Vec<Input> = (0..n)
        .map(|i| {
            let ns = ["fleet-default", "other"][i % 2].to_string();
            let mut labels = vec![
                (
                    "env".to_string(),
                    ["dev", "prod", "stage"][i % 3].to_string(),
                ),
                ("shard".to_string(), format!("s{}", i % 1000)),
                ("name".to_string(), format!("c{i}")),
            ];
            if i % 97 == 0 {
                labels.push(("rare".to_string(), "yes".to_string()));
            }
            (ns, format!("c{i}"), labels)
        })
        .collect();
    // Clusters that come again later with other labels, on both sides of a batch boundary.
    for i in [5usize, 65_530, 65_540, 69_999] {
        let (ns, name, _) = input[i].clone();
        input.push((ns, name, vec![("env".to_string(), "moved".to_string())]));
    }
    let mut bulk = Engine::new();
    bulk.load_clusters(input.iter().map(|(ns, name, labels)| {
        (
            ns.as_str(),
            name.as_str(),
            labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )
    }));
    let mut single = Engine::new();
    for (ns, name, labels) in &input {
        single.upsert_cluster(
            ns,
            name,
            labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
    }

    let group = |e: &mut Engine| {
        e.upsert_group(&GroupInput {
            namespace: "fleet-default".into(),
            name: "prod".into(),
            labels: Default::default(),
            selector: Some(ml(&[("env", "prod")])),
        });
    };
    group(&mut bulk);
    group(&mut single);
    let selectors: Vec<MatcherInput> = vec![
        MatcherInput {
            cluster_selector: Some(ml(&[("env", "dev")])),
            ..Default::default()
        },
        MatcherInput {
            cluster_selector: Some(ml(&[("env", "moved")])),
            ..Default::default()
        },
        MatcherInput {
            cluster_selector: Some(ml(&[("shard", "s17")])),
            ..Default::default()
        },
        MatcherInput {
            cluster_selector: Some(ml(&[("rare", "yes")])),
            ..Default::default()
        },
        MatcherInput {
            cluster_selector: Some(ml(&[("name", "c65535")])),
            ..Default::default()
        },
        MatcherInput {
            cluster_group: "prod".into(),
            ..Default::default()
        },
    ];
    for (ns, matcher) in ["fleet-default", "other"]
        .into_iter()
        .flat_map(|ns| selectors.iter().map(move |m| (ns, m)))
    {
        let bundle = BundleInput {
            namespace: ns.into(),
            name: "b".into(),
            targets: vec![TargetInput {
                matcher: matcher.clone(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let (b1, _) = bulk.upsert_bundle(&bundle).expect("bundle");
        let (b2, _) = single.upsert_bundle(&bundle).expect("bundle");
        let got = bulk.targets(b1).clusters();
        assert_eq!(got, single.targets(b2).clusters(), "{ns} {matcher:?}");
        if matcher.cluster_selector == Some(ml(&[("env", "moved")])) {
            // c65530 and c65540 live in fleet-default, c5 and c69999 in other.
            assert_eq!(got.len(), 2, "{ns}");
        }
        if ns == "fleet-default" && matcher.cluster_group == "prod" {
            assert!(got.len() > 10_000, "{}", got.len());
        }
    }
    assert_eq!(bulk.cluster_count(), single.cluster_count());
    assert_eq!(bulk.cluster_count(), n);
}
