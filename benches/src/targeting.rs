//! The targeting workload of `../shared/spec/perf-anchor.md` §3, reused exactly: N clusters
//! with 8 labels, 16 ClusterGroups, B bundles × 3 targets (optionally GitRepo-style, with
//! restrictions equal to the targets), plus the arithmetic oracle of the expected matches.

use fleet_core::selector::{LabelSelector, LabelSelectorRequirement};
use fleet_targeting::{BundleInput, Engine, GroupInput, MatcherInput, TargetInput};

/// Namespace of every cluster, group and bundle.
pub const NAMESPACE: &str = "fleet-default";
const ENVS: [&str; 3] = ["dev", "staging", "prod"];
const TIERS: [&str; 2] = ["edge", "core"];

/// One generated cluster: name and owned label strings (like decoded API objects).
pub struct GenCluster {
    /// `c<i>`.
    pub name: String,
    /// The 8 labels.
    pub labels: Vec<(String, String)>,
}

/// Labels of cluster `i`.
pub fn cluster_labels(i: usize) -> Vec<(String, String)> {
    vec![
        ("env".into(), ENVS[i % 3].into()),
        ("region".into(), format!("r{}", i % 50)),
        ("tier".into(), TIERS[i % 2].into()),
        ("name".into(), format!("c{i}")),
        ("k0".into(), ((i / 7) % 10).to_string()),
        ("k1".into(), ((i / 11) % 10).to_string()),
        ("k2".into(), ((i / 13) % 10).to_string()),
        ("k3".into(), ((i / 17) % 10).to_string()),
    ]
}

/// The N clusters.
pub fn clusters(n: usize) -> Vec<GenCluster> {
    (0..n)
        .map(|i| GenCluster {
            name: format!("c{i}"),
            labels: cluster_labels(i),
        })
        .collect()
}

fn ml(pairs: &[(&str, String)]) -> LabelSelector {
    LabelSelector {
        match_labels: Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        ),
        match_expressions: None,
    }
}

/// The 16 groups: `g<j>` selects `region In (r<3j>, r<3j+1>, r<3j+2>)`, labelled `group=g<j>`.
pub fn groups() -> Vec<GroupInput> {
    (0..16)
        .map(|j| GroupInput {
            namespace: NAMESPACE.into(),
            name: format!("g{j}"),
            labels: [("group".to_string(), format!("g{j}"))].into(),
            selector: Some(LabelSelector {
                match_labels: None,
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: "region".into(),
                    operator: "In".into(),
                    values: Some((0..3).map(|k| format!("r{}", 3 * j + k)).collect()),
                }]),
            }),
        })
        .collect()
}

/// The three matchers of bundle `b`.
pub fn bundle_matchers(b: usize) -> [MatcherInput; 3] {
    [
        MatcherInput {
            cluster_selector: Some(ml(&[
                ("env", ENVS[b % 3].to_string()),
                ("region", format!("r{}", b % 50)),
            ])),
            ..Default::default()
        },
        MatcherInput {
            cluster_group: format!("g{}", b % 16),
            ..Default::default()
        },
        MatcherInput {
            cluster_selector: Some(LabelSelector {
                match_labels: None,
                match_expressions: Some(vec![
                    LabelSelectorRequirement {
                        key: "k0".into(),
                        operator: "In".into(),
                        values: Some(vec![(b % 10).to_string(), ((b + 1) % 10).to_string()]),
                    },
                    LabelSelectorRequirement {
                        key: "tier".into(),
                        operator: "NotIn".into(),
                        values: Some(vec!["edge".into()]),
                    },
                ]),
            }),
            ..Default::default()
        },
    ]
}

/// Bundle `b`; `gitrepo` adds restrictions equal to the targets.
pub fn bundle(b: usize, gitrepo: bool) -> BundleInput {
    let ms = bundle_matchers(b);
    BundleInput {
        namespace: NAMESPACE.into(),
        name: format!("b{b}"),
        targets: ms
            .iter()
            .enumerate()
            .map(|(i, m)| TargetInput {
                name: format!("t{i}"),
                matcher: m.clone(),
                do_not_deploy: false,
            })
            .collect(),
        restrictions: if gitrepo { ms.to_vec() } else { Vec::new() },
        ..Default::default()
    }
}

/// The arithmetic oracle: does cluster `i` match bundle `b`?
pub fn oracle(i: usize, b: usize) -> bool {
    (i % 3 == b % 3 && i % 50 == b % 50)
        || (i % 50 < 48 && (i % 50) / 3 == b % 16)
        || ({
            let k0 = (i / 7) % 10;
            k0 == b % 10 || k0 == (b + 1) % 10
        } && i % 2 == 1)
}

/// Loads the clusters and the groups into a fresh engine.
pub fn build_engine(clusters: &[GenCluster]) -> Engine {
    let mut e = Engine::new();
    e.load_clusters(clusters.iter().map(|c| {
        (
            NAMESPACE,
            c.name.as_str(),
            c.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )
    }));
    for g in groups() {
        e.upsert_group(&g);
    }
    e
}

/// Adds bundles `0..b`.
pub fn add_bundles(e: &mut Engine, b: usize, gitrepo: bool) -> Vec<u32> {
    (0..b)
        .map(|i| {
            e.upsert_bundle(&bundle(i, gitrepo))
                .map(|(id, _)| id)
                .unwrap_or_else(|err| panic!("workload bundle {i} is valid: {err}"))
        })
        .collect()
}

/// The label change of measurement (d) for cluster `i`: env, region and k0 changed.
pub fn changed_labels(i: usize, step: usize) -> Vec<(String, String)> {
    let mut l = cluster_labels(i);
    l[0].1 = ENVS[(i + 1 + step) % 3].into();
    l[1].1 = format!("r{}", (i + 7 + step) % 50);
    l[4].1 = (((i / 7) + 3 + step) % 10).to_string();
    l
}
