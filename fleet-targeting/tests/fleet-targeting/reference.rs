//! proptest: random clusters, groups, bundles, mappings and namespaces under random sequences of
//! incremental updates. After every step the engine's full evaluation, its per-cluster answer
//! and the state rebuilt from its deltas all equal a plain reference that walks every cluster
//! the way Fleet's matcher does (strings and maps, no index).

use std::collections::{BTreeMap, BTreeSet};

use fleet_core::selector::{LabelSelector, LabelSelectorRequirement};
use fleet_targeting::{
    BundleInput, Change, CustomizationMode, Decision, Engine, GroupInput, MappingInput,
    MatcherInput, TargetInput,
};
use proptest::prelude::*;

type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone)]
struct RefCluster {
    ns: String,
    name: String,
    labels: Labels,
}

#[derive(Default)]
struct Reference {
    clusters: Vec<RefCluster>,
    groups: Vec<GroupInput>,
    bundles: Vec<BundleInput>,
    mappings: Vec<MappingInput>,
    namespaces: BTreeMap<String, Labels>,
}

fn sel_matches(s: &LabelSelector, l: &Labels) -> bool {
    for (k, v) in s.match_labels.iter().flatten() {
        if l.get(k) != Some(v) {
            return false;
        }
    }
    for e in s.match_expressions.iter().flatten() {
        let vals = e.values.clone().unwrap_or_default();
        let have = l.get(&e.key);
        let ok = match e.operator.as_str() {
            "In" => have.is_some_and(|h| vals.contains(h)),
            "NotIn" => have.is_none_or(|h| !vals.contains(h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Fleet's ClusterMatcher.Match(clusterName, groupName, groupLabels, clusterLabels).
fn cm_match(m: &MatcherInput, c: &RefCluster, gname: &str, glabels: &Labels) -> bool {
    let mut any = false;
    if !m.cluster_name.is_empty() {
        any = true;
        let display = c.labels.get(fleet_targeting::DISPLAY_NAME_LABEL);
        if c.name != m.cluster_name && display != Some(&m.cluster_name) {
            return false;
        }
    }
    if !m.cluster_group.is_empty() {
        any = true;
        if gname != m.cluster_group {
            return false;
        }
    }
    if let Some(s) = &m.cluster_group_selector {
        any = true;
        if !sel_matches(s, glabels) {
            return false;
        }
    }
    if let Some(s) = &m.cluster_selector {
        any = true;
        if !sel_matches(s, &c.labels) {
            return false;
        }
    }
    any
}

impl Reference {
    fn groups_of(&self, c: &RefCluster) -> Vec<(String, Labels)> {
        self.groups
            .iter()
            .filter(|g| g.namespace == c.ns)
            .filter(|g| {
                g.selector
                    .as_ref()
                    .is_some_and(|s| sel_matches(s, &c.labels))
            })
            .map(|g| (g.name.clone(), g.labels.clone()))
            .collect()
    }

    fn scope(&self, b: &BundleInput) -> BTreeSet<String> {
        let mut s = BTreeSet::from([b.namespace.clone()]);
        for m in &self.mappings {
            if m.namespace != b.namespace {
                continue;
            }
            let (Some(bs), Some(ns)) = (&m.bundle_selector, &m.namespace_selector) else {
                continue;
            };
            if !sel_matches(bs, &b.labels) {
                continue;
            }
            for (n, l) in &self.namespaces {
                if sel_matches(ns, l) {
                    s.insert(n.clone());
                }
            }
        }
        s
    }

    fn decide(&self, b: &BundleInput, c: &RefCluster) -> Option<Decision> {
        if !self.scope(b).contains(&c.ns) {
            return None;
        }
        let mut groups = self.groups_of(c);
        if groups.is_empty() {
            groups.push((String::new(), Labels::new()));
        }
        let n = b.targets.len();
        let m = b.restrictions.len();
        let is_custom = |i: usize| m > 0 && i + m < n;
        let mut deploy = None;
        'outer: for (i, t) in b.targets.iter().enumerate() {
            if is_custom(i) {
                continue;
            }
            for (gn, gl) in &groups {
                let allowed = m == 0 || b.restrictions.iter().any(|r| cm_match(r, c, gn, gl));
                if allowed && cm_match(&t.matcher, c, gn, gl) {
                    deploy = Some(i);
                    break 'outer;
                }
            }
        }
        let deploy = deploy?;
        if b.targets[deploy].do_not_deploy {
            return None;
        }
        let mut custs = Vec::new();
        for (i, t) in b.targets.iter().enumerate() {
            if !is_custom(i) {
                continue;
            }
            if groups
                .iter()
                .any(|(gn, gl)| cm_match(&t.matcher, c, gn, gl))
            {
                if t.do_not_deploy {
                    return None;
                }
                custs.push(i as u32);
                if b.mode == CustomizationMode::FirstMatch {
                    break;
                }
            }
        }
        Some(Decision {
            target: deploy as u32,
            customizations: custs,
        })
    }

    /// (bundle ns/name, cluster ns/name) → decision.
    fn truth(&self) -> BTreeMap<(String, String), Decision> {
        let mut out = BTreeMap::new();
        for b in &self.bundles {
            for c in &self.clusters {
                if let Some(d) = self.decide(b, c) {
                    out.insert(
                        (
                            format!("{}/{}", b.namespace, b.name),
                            format!("{}/{}", c.ns, c.name),
                        ),
                        d,
                    );
                }
            }
        }
        out
    }
}

// ----- generators -----

const KEYS: &[&str] = &["a", "b", "c", fleet_targeting::DISPLAY_NAME_LABEL];
const VALS: &[&str] = &["x", "y", "z", "c1"];
const NSS: &[&str] = &["n1", "n2"];
const CNAMES: &[&str] = &["c0", "c1", "c2", "c3", "c4", "c5"];
const GNAMES: &[&str] = &["g0", "g1", "g2"];

fn labels_strat() -> impl Strategy<Value = Labels> {
    prop::collection::btree_map(
        prop::sample::select(KEYS).prop_map(str::to_owned),
        prop::sample::select(VALS).prop_map(str::to_owned),
        0..4,
    )
}

fn req_strat() -> impl Strategy<Value = LabelSelectorRequirement> {
    (
        prop::sample::select(&KEYS[..3]),
        0..4u8,
        prop::collection::btree_set(prop::sample::select(VALS), 1..3),
    )
        .prop_map(|(k, op, vals)| {
            let (operator, values) = match op {
                0 => ("In", Some(vals.into_iter().map(str::to_owned).collect())),
                1 => ("NotIn", Some(vals.into_iter().map(str::to_owned).collect())),
                2 => ("Exists", None),
                _ => ("DoesNotExist", None),
            };
            LabelSelectorRequirement {
                key: k.to_owned(),
                operator: operator.to_owned(),
                values,
            }
        })
}

fn selector_strat() -> impl Strategy<Value = Option<LabelSelector>> {
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(LabelSelector::default())),
        3 => (
            prop::collection::btree_map(
                prop::sample::select(&KEYS[..3]).prop_map(str::to_owned),
                prop::sample::select(VALS).prop_map(str::to_owned),
                0..2
            ),
            prop::collection::vec(req_strat(), 0..3)
        )
            .prop_map(|(ml, ex)| Some(LabelSelector {
                match_labels: if ml.is_empty() { None } else { Some(ml) },
                match_expressions: if ex.is_empty() { None } else { Some(ex) },
            })),
    ]
}

fn matcher_strat() -> impl Strategy<Value = MatcherInput> {
    (
        prop_oneof![4 => Just(""), 1 => prop::sample::select(CNAMES)],
        prop_oneof![3 => Just(""), 2 => prop::sample::select(GNAMES)],
        prop_oneof![4 => Just(None), 1 => selector_strat()],
        selector_strat(),
    )
        .prop_map(|(n, g, gs, cs)| MatcherInput {
            cluster_name: n.to_owned(),
            cluster_group: g.to_owned(),
            cluster_group_selector: gs,
            cluster_selector: cs,
        })
}

fn bundle_strat() -> impl Strategy<Value = BundleInput> {
    (
        prop::sample::select(NSS),
        prop::sample::select(&["b0", "b1", "b2"][..]),
        labels_strat(),
        prop::collection::vec((matcher_strat(), prop::bool::weighted(0.2)), 0..5),
        prop::collection::vec(matcher_strat(), 0..3),
        any::<bool>(),
    )
        .prop_map(
            |(ns, name, labels, targets, restrictions, all)| BundleInput {
                namespace: ns.to_owned(),
                name: name.to_owned(),
                labels,
                targets: targets
                    .into_iter()
                    .enumerate()
                    .map(|(i, (m, dnd))| TargetInput {
                        name: format!("t{i}"),
                        matcher: m,
                        do_not_deploy: dnd,
                    })
                    .collect(),
                restrictions,
                mode: if all {
                    CustomizationMode::AllMatches
                } else {
                    CustomizationMode::FirstMatch
                },
            },
        )
}

#[derive(Debug, Clone)]
enum Op {
    Cluster(String, String, Labels),
    RemoveCluster(String, String),
    Group(GroupInput),
    RemoveGroup(String, String),
    Bundle(BundleInput),
    RemoveBundle(String, String),
    Mapping(MappingInput),
    RemoveMapping(String, String),
    Namespace(String, Labels),
}

fn op_strat() -> impl Strategy<Value = Op> {
    let ns = || prop::sample::select(NSS).prop_map(str::to_owned);
    prop_oneof![
        6 => (ns(), prop::sample::select(CNAMES), labels_strat())
            .prop_map(|(n, c, l)| Op::Cluster(n, c.to_owned(), l)),
        1 => (ns(), prop::sample::select(CNAMES)).prop_map(|(n, c)| Op::RemoveCluster(n, c.to_owned())),
        3 => (ns(), prop::sample::select(GNAMES), labels_strat(), selector_strat())
            .prop_map(|(n, g, l, s)| Op::Group(GroupInput { namespace: n, name: g.to_owned(), labels: l, selector: s })),
        1 => (ns(), prop::sample::select(GNAMES)).prop_map(|(n, g)| Op::RemoveGroup(n, g.to_owned())),
        4 => bundle_strat().prop_map(Op::Bundle),
        1 => (ns(), prop::sample::select(&["b0", "b1", "b2"][..]))
            .prop_map(|(n, b)| Op::RemoveBundle(n, b.to_owned())),
        1 => (ns(), selector_strat(), selector_strat()).prop_map(|(n, bs, nsel)| Op::Mapping(MappingInput {
            namespace: n, name: "m".into(), bundle_selector: bs, namespace_selector: nsel })),
        1 => ns().prop_map(|n| Op::RemoveMapping(n, "m".into())),
        1 => (ns(), labels_strat()).prop_map(|(n, l)| Op::Namespace(n, l)),
    ]
}

/// The view rebuilt from deltas: (bundle, cluster) → decision.
type View = BTreeMap<(String, String), Decision>;

fn apply_bulk(e: &Engine, view: &mut View, d: &fleet_targeting::BundleDelta) {
    let Some((bns, bn)) = e.bundle_name(d.bundle) else {
        return;
    };
    let bkey = format!("{bns}/{bn}");
    for c in &d.disappeared {
        let (cns, cn) = e.cluster_name(c);
        view.remove(&(bkey.clone(), format!("{cns}/{cn}")));
    }
    for c in d.appeared.iter().chain(d.changed.iter()) {
        let (cns, cn) = e.cluster_name(c);
        let dec = e.decision(d.bundle, c).expect("targeted after delta");
        view.insert((bkey.clone(), format!("{cns}/{cn}")), dec);
    }
}

fn apply_cluster(e: &Engine, view: &mut View, ckey: &str, d: &fleet_targeting::ClusterDelta) {
    for (b, ch) in &d.changes {
        let (bns, bn) = e.bundle_name(*b).expect("bundle");
        let k = (format!("{bns}/{bn}"), ckey.to_owned());
        match ch {
            Change::Disappeared => {
                view.remove(&k);
            }
            Change::Appeared(x) | Change::Changed(x) => {
                view.insert(k, x.clone());
            }
        }
    }
}

fn engine_truth(e: &Engine) -> View {
    let mut out = View::new();
    for b in e.bundle_ids() {
        let (bns, bn) = e.bundle_name(b).expect("bundle");
        let t = e.targets(b);
        for (d, bm) in &t.variants {
            for c in bm {
                let (cns, cn) = e.cluster_name(c);
                out.insert((format!("{bns}/{bn}"), format!("{cns}/{cn}")), d.clone());
            }
        }
    }
    out
}

fn per_cluster_truth(e: &Engine) -> View {
    let mut out = View::new();
    for c in e.clusters() {
        let (cns, cn) = e.cluster_name(c);
        for (b, d) in e.bundles_for_cluster(c) {
            let (bns, bn) = e.bundle_name(b).expect("bundle");
            out.insert((format!("{bns}/{bn}"), format!("{cns}/{cn}")), d);
        }
    }
    out
}

fn run(ops: Vec<Op>) {
    let mut e = Engine::new();
    let mut r = Reference::default();
    let mut view = View::new();
    for op in ops {
        match op {
            Op::Cluster(ns, n, l) => {
                let d = e.upsert_cluster(&ns, &n, l.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                apply_cluster(&e, &mut view, &format!("{ns}/{n}"), &d);
                r.clusters.retain(|c| !(c.ns == ns && c.name == n));
                r.clusters.push(RefCluster {
                    ns,
                    name: n,
                    labels: l,
                });
            }
            Op::RemoveCluster(ns, n) => {
                let d = e.remove_cluster(&ns, &n);
                for (b, _) in &d.changes {
                    let (bns, bn) = e.bundle_name(*b).expect("bundle");
                    view.remove(&(format!("{bns}/{bn}"), format!("{ns}/{n}")));
                }
                r.clusters.retain(|c| !(c.ns == ns && c.name == n));
            }
            Op::Group(g) => {
                let d = e.upsert_group(&g);
                for bd in &d.bundles {
                    apply_bulk(&e, &mut view, bd);
                }
                r.groups
                    .retain(|x| !(x.namespace == g.namespace && x.name == g.name));
                r.groups.push(g);
            }
            Op::RemoveGroup(ns, n) => {
                let d = e.remove_group(&ns, &n);
                for bd in &d.bundles {
                    apply_bulk(&e, &mut view, bd);
                }
                r.groups.retain(|x| !(x.namespace == ns && x.name == n));
            }
            Op::Bundle(b) => {
                let (_, d) = e.upsert_bundle(&b).expect("valid bundle");
                apply_bulk(&e, &mut view, &d);
                r.bundles
                    .retain(|x| !(x.namespace == b.namespace && x.name == b.name));
                r.bundles.push(b);
            }
            Op::RemoveBundle(ns, n) => {
                if e.remove_bundle(&ns, &n).is_some() {
                    let key = format!("{ns}/{n}");
                    view.retain(|(b, _), _| *b != key);
                }
                r.bundles.retain(|x| !(x.namespace == ns && x.name == n));
            }
            Op::Mapping(m) => {
                let d = e.upsert_mapping(&m);
                for bd in &d.bundles {
                    apply_bulk(&e, &mut view, bd);
                }
                r.mappings
                    .retain(|x| !(x.namespace == m.namespace && x.name == m.name));
                r.mappings.push(m);
            }
            Op::RemoveMapping(ns, n) => {
                let d = e.remove_mapping(&ns, &n);
                for bd in &d.bundles {
                    apply_bulk(&e, &mut view, bd);
                }
                r.mappings.retain(|x| !(x.namespace == ns && x.name == n));
            }
            Op::Namespace(n, l) => {
                let d = e.upsert_namespace(&n, l.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                for bd in &d.bundles {
                    apply_bulk(&e, &mut view, bd);
                }
                r.namespaces.insert(n, l);
            }
        }
        let truth = r.truth();
        assert_eq!(engine_truth(&e), truth, "full evaluation vs reference");
        assert_eq!(
            per_cluster_truth(&e),
            truth,
            "per-cluster evaluation vs reference"
        );
        assert_eq!(view, truth, "state rebuilt from deltas vs reference");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn engine_equals_reference_walker(ops in prop::collection::vec(op_strat(), 1..40)) {
        run(ops);
    }
}

#[test]
fn reference_walker_sanity() {
    // A fixed sequence covering groups, restrictions through the same group, mappings.
    let sel = |k: &str, v: &str| Some(crate::common::ml(&[(k, v)]));
    run(vec![
        Op::Cluster("n1".into(), "c0".into(), [("a".into(), "x".into())].into()),
        Op::Cluster("n1".into(), "c1".into(), [("a".into(), "y".into())].into()),
        Op::Cluster("n2".into(), "c2".into(), [("a".into(), "x".into())].into()),
        Op::Group(GroupInput {
            namespace: "n1".into(),
            name: "g0".into(),
            labels: [("b".into(), "z".into())].into(),
            selector: sel("a", "x"),
        }),
        Op::Bundle(BundleInput {
            namespace: "n1".into(),
            name: "b0".into(),
            labels: [("a".into(), "x".into())].into(),
            targets: vec![
                TargetInput {
                    name: "cust".into(),
                    matcher: MatcherInput {
                        cluster_selector: sel("a", "y"),
                        ..Default::default()
                    },
                    do_not_deploy: true,
                },
                TargetInput {
                    name: "t".into(),
                    matcher: MatcherInput {
                        cluster_group: "g0".into(),
                        ..Default::default()
                    },
                    do_not_deploy: false,
                },
            ],
            restrictions: vec![MatcherInput {
                cluster_group_selector: sel("b", "z"),
                ..Default::default()
            }],
            mode: CustomizationMode::FirstMatch,
        }),
        Op::Namespace("n2".into(), [("a".into(), "x".into())].into()),
        Op::Mapping(MappingInput {
            namespace: "n1".into(),
            name: "m".into(),
            bundle_selector: sel("a", "x"),
            namespace_selector: sel("a", "x"),
        }),
        Op::Group(GroupInput {
            namespace: "n2".into(),
            name: "g0".into(),
            labels: [("b".into(), "z".into())].into(),
            selector: Some(LabelSelector::default()),
        }),
        Op::Cluster("n1".into(), "c1".into(), [("a".into(), "x".into())].into()),
        Op::RemoveGroup("n1".into(), "g0".into()),
        Op::RemoveCluster("n2".into(), "c2".into()),
    ]);
}
