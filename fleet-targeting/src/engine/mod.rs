//! The targeting engine: clusters, groups, bundles, mappings and namespaces, indexed; full
//! evaluation as set algebra; per-cluster evaluation through an anchor index over bundles;
//! incremental updates returning deltas.

use std::borrow::Cow;
use std::collections::BTreeMap;

use fleet_core::selector::LabelSelector;
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

use crate::index::{ClusterId, ClusterIndex, Posting};
use crate::intern::{Interner, Sym};
use crate::model::{
    BundleDelta, BundleInput, BundleTargets, Change, ClusterDelta, CustomizationMode, Decision,
    Delta, GroupInput, MappingInput, MatcherInput, diff_targets,
};
use crate::selector::{self, KeyId, LabelLookup, Op, RawOp, Selector, SelectorError};

mod bundles;
mod clusters;
mod eval;
mod groups;

/// The label Rancher puts the cluster's display name in; `clusterName` also matches it.
pub const DISPLAY_NAME_LABEL: &str = "management.cattle.io/cluster-display-name";

/// Dense bundle id.
pub type BundleId = u32;
/// Dense group id.
pub type GroupId = u32;

const NONE: u32 = u32::MAX;
const COMPLEX: u32 = u32::MAX - 1;

/// Why a bundle cannot be targeted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetingError {
    /// A target's selector is invalid (Fleet fails the whole bundle).
    #[error("bundle {bundle}: target {index} ({field}): {source}")]
    Target {
        /// `namespace/name` of the bundle.
        bundle: String,
        /// Index in `spec.targets`.
        index: usize,
        /// `clusterSelector` or `clusterGroupSelector`.
        field: &'static str,
        /// The selector error.
        source: SelectorError,
    },
    /// A restriction's selector is invalid.
    #[error("bundle {bundle}: target restriction {index} ({field}): {source}")]
    Restriction {
        /// `namespace/name` of the bundle.
        bundle: String,
        /// Index in `spec.targetRestrictions`.
        index: usize,
        /// `clusterSelector` or `clusterGroupSelector`.
        field: &'static str,
        /// The selector error.
        source: SelectorError,
    },
}

/// A compiled cluster matcher.
#[derive(Debug, Clone, Default)]
pub(crate) struct Matcher {
    pub name: Option<Sym>,
    pub group_name: Option<Sym>,
    pub group_sel: Option<Selector>,
    pub cluster_sel: Option<Selector>,
}

impl Matcher {
    fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.group_name.is_none()
            && self.group_sel.is_none()
            && self.cluster_sel.is_none()
    }

    fn uses_groups(&self) -> bool {
        self.group_name.is_some() || self.group_sel.is_some()
    }

    /// Whether only group criteria are set (the outcome depends on the groups alone).
    fn is_group_only(&self) -> bool {
        self.uses_groups() && self.name.is_none() && self.cluster_sel.is_none()
    }
}

/// The group a matcher is evaluated with: a real group, or the empty group of a cluster that
/// is in none.
#[derive(Clone, Copy)]
pub(crate) struct GroupCtx<'a> {
    pub name: Option<Sym>,
    pub labels: &'a [(KeyId, Sym)],
}

const EMPTY_GROUP: GroupCtx<'static> = GroupCtx {
    name: None,
    labels: &[],
};

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub matcher: Matcher,
    pub do_not_deploy: bool,
    pub name: String,
}

/// A deploy target filed in the anchor index (or in a group's list).
#[derive(Clone, Copy, Debug)]
struct Filed {
    bundle: BundleId,
    target: u32,
    /// The label keys its outcome reads, one bit per key id modulo 64. For a bundle with
    /// restrictions, customizations or doNotDeploy: every key the bundle reads, since any of
    /// them can change its decision.
    reads: u64,
    /// Whether its outcome depends on the cluster's groups (bundle-wide, as `reads`).
    groups: bool,
    /// The bundle is plain (no restrictions, customizations or doNotDeploy).
    simple: bool,
    /// What is left to check once its list fired (for a plain bundle).
    residual: Residual,
}

/// What is left of a target's matcher once the list it is filed in fired: the anchor (or the
/// group) already holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Residual {
    /// Nothing: firing is matching (a group-only target in a group's list, or a selector
    /// with the anchor's requirement alone).
    Nothing,
    /// Up to two single-value requirements `(key, value, equal)`: the label has the value
    /// (`In`), or does not (`NotIn`; an absent label passes). Kept inline so that a fired
    /// entry is checked without reading the bundle.
    Pairs(u8, [(KeyId, Sym, bool); 2]),
    /// The whole matcher.
    Full,
}

impl Filed {
    /// Whether a change of the keys in `changed_keys` (bits as in `reads`) or of the
    /// cluster's groups can change its outcome.
    #[inline(always)]
    fn affected(&self, changed_keys: u64, groups_changed: bool) -> bool {
        self.reads & changed_keys != 0 || (self.groups && groups_changed)
    }
}

/// `BundleBrief::home` of a bundle whose scope has several namespaces (read the scope).
const MANY_NAMESPACES: u32 = u32::MAX - 1;

/// Targets per bundle a [`BundleBrief`] describes; bundles with more are read in full.
const BRIEF_TARGETS: usize = 4;

/// What a relabel reads of a bundle on every fired entry and every changed bundle, kept in one
/// small contiguous table: loading the bundle records themselves for hundreds of bundles per
/// change costs more than the checks.
#[derive(Clone, Copy, Debug)]
struct BundleBrief {
    /// The one namespace in its scope, `MANY_NAMESPACES`, or `NONE` (no bundle).
    home: Sym,
    /// Number of targets, or `u8::MAX` when more than `BRIEF_TARGETS`.
    n_targets: u8,
    /// Per target: as [`BundleRec::target_reads`].
    reads: [u64; BRIEF_TARGETS],
    /// Per target, one bit: whether it depends on groups.
    groups: u8,
}

const NO_BRIEF: BundleBrief = BundleBrief {
    home: NONE,
    n_targets: 0,
    reads: [0; BRIEF_TARGETS],
    groups: 0,
};

fn key_bit(k: KeyId) -> u64 {
    1 << (k % 64)
}

/// Which label set(s) a fired list is checked against during a relabel.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Old,
    New,
    Both,
}

/// Labels as a table indexed by key id (`NONE` = absent): one load per requirement.
struct DenseLabels<'a>(&'a [Sym]);

impl LabelLookup for DenseLabels<'_> {
    fn get(&self, key: KeyId) -> Option<Sym> {
        self.0.get(key as usize).copied().filter(|&v| v != NONE)
    }
}

fn fill_dense(dense: &mut Vec<Sym>, n_keys: usize, labels: &[(KeyId, Sym)]) {
    dense.clear();
    dense.resize(n_keys, NONE);
    for &(k, v) in labels {
        dense[k as usize] = v;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Anchor {
    Kv(KeyId, Sym),
    Key(KeyId),
    Name(Sym),
    Group(Sym),
    Always,
}

pub(crate) struct BundleRec {
    pub ns: Sym,
    pub name: Sym,
    pub labels: Vec<(KeyId, Sym)>,
    pub targets: Vec<Entry>,
    pub restrictions: Vec<Matcher>,
    pub mode: CustomizationMode,
    pub n_custom: usize,
    pub scope: Vec<Sym>,
    simple: bool,
    uses_groups: bool,
    anchors: Vec<(Anchor, u32)>,
    /// Deploy targets with only group criteria: filed in the lists of the groups they match
    /// (and of the empty group) instead of under an anchor.
    group_only: Vec<u32>,
    /// Per target: the label keys its outcome reads (bits as in [`Filed::reads`]) and whether
    /// it depends on groups.
    target_reads: Vec<(u64, bool)>,
    /// Every label key the bundle reads (targets, customizations, restrictions), sorted.
    read_keys: Vec<KeyId>,
    /// `read_keys` as bits.
    reads_all: u64,
    /// Per target: what is left to check once its anchor fired.
    target_residual: Vec<Residual>,
}

pub(crate) struct GroupRec {
    pub name: Sym,
    pub labels: Vec<(KeyId, Sym)>,
    pub selector: Option<Selector>,
    pub error: Option<SelectorError>,
    pub members: RoaringBitmap,
}

struct MappingRec {
    ns: Sym,
    bundle_sel: Option<Selector>,
    ns_sel: Option<Selector>,
}

#[derive(Default)]
struct Anchors {
    lists: FxHashMap<Anchor, Vec<Filed>>,
    /// Per group id: the group-only deploy targets that match that group.
    group_lists: Vec<Vec<Filed>>,
    /// The group-only deploy targets that match the empty group (a cluster in no group).
    no_group_list: Vec<Filed>,
    /// Per key id: how many bundles read the key. A label change of keys nobody reads
    /// cannot change any decision.
    key_readers: Vec<u32>,
    /// How many bundles depend on groups.
    group_readers: u32,
}

/// Reusable buffers of [`Engine::upsert_cluster`].
#[derive(Default)]
struct RelabelScratch {
    old: Vec<Sym>,
    new: Vec<Sym>,
    /// Per bundle: the lowest target that matched, with the old and with the new labels,
    /// among those the change can affect (`NONE`, or `COMPLEX` for a full re-decision).
    slots: Vec<[u32; 2]>,
    /// Bundles with a slot set, one bit each (read back in bundle order).
    touched: Vec<u64>,
}

/// Which bundles go to which clusters, kept current under incremental updates.
pub struct Engine {
    pub(crate) strings: Interner,
    pub(crate) clusters: ClusterIndex,
    display_key: KeyId,
    pub(crate) groups: Vec<Option<GroupRec>>,
    group_ids: FxHashMap<(Sym, Sym), GroupId>,
    pub(crate) groups_by_ns: FxHashMap<Sym, Vec<GroupId>>,
    free_groups: Vec<GroupId>,
    /// Clusters in no group of their namespace.
    pub(crate) no_group: RoaringBitmap,
    pub(crate) bundles: Vec<Option<BundleRec>>,
    /// Per bundle: what a relabel reads (see [`BundleBrief`]).
    briefs: Vec<BundleBrief>,
    bundle_ids: FxHashMap<(Sym, Sym), BundleId>,
    free_bundles: Vec<BundleId>,
    mappings: FxHashMap<(Sym, Sym), MappingRec>,
    namespaces: FxHashMap<Sym, Vec<(KeyId, Sym)>>,
    anchors: Anchors,
    scratch: Vec<u32>,
    relabel: RelabelScratch,
    /// Checks done by the last [`Engine::upsert_cluster`] of an existing cluster: fired
    /// entries examined (per label set), unaffected targets evaluated, full decisions made.
    pub(crate) last_rechecks: usize,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

/// What a relabel compares: the cluster, the changed keys, both label sets and group lists.
struct RelabelCtx<'a> {
    cname: Sym,
    ns: Sym,
    changed_keys: u64,
    groups_changed: bool,
    old: DenseLabels<'a>,
    new: DenseLabels<'a>,
    old_groups: &'a [GroupId],
    new_groups: &'a [GroupId],
}

/// The per-bundle results of firing lists during a relabel.
struct RelabelState<'a> {
    slots: &'a mut [[u32; 2]],
    touched: &'a mut [u64],
    checks: usize,
}

/// A matcher's group criteria over the groups in scope.
enum GroupSet {
    Any,
    Some {
        groups: Vec<GroupId>,
        empty_ok: bool,
    },
}

fn intersect_group_sets(a: &GroupSet, b: &GroupSet) -> GroupSet {
    match (a, b) {
        (GroupSet::Any, GroupSet::Any) => GroupSet::Any,
        (GroupSet::Any, GroupSet::Some { groups, empty_ok })
        | (GroupSet::Some { groups, empty_ok }, GroupSet::Any) => GroupSet::Some {
            groups: groups.clone(),
            empty_ok: *empty_ok,
        },
        (
            GroupSet::Some {
                groups: ga,
                empty_ok: ea,
            },
            GroupSet::Some {
                groups: gb,
                empty_ok: eb,
            },
        ) => GroupSet::Some {
            groups: ga.iter().copied().filter(|g| gb.contains(g)).collect(),
            empty_ok: *ea && *eb,
        },
    }
}

impl Engine {
    /// An empty engine.
    pub fn new() -> Self {
        let mut strings = Interner::default();
        let mut clusters = ClusterIndex::default();
        let dk = strings.intern(DISPLAY_NAME_LABEL);
        let display_key = clusters.ensure_key(dk);
        Engine {
            strings,
            clusters,
            display_key,
            groups: Vec::new(),
            group_ids: FxHashMap::default(),
            groups_by_ns: FxHashMap::default(),
            free_groups: Vec::new(),
            no_group: RoaringBitmap::new(),
            bundles: Vec::new(),
            briefs: Vec::new(),
            bundle_ids: FxHashMap::default(),
            free_bundles: Vec::new(),
            mappings: FxHashMap::default(),
            namespaces: FxHashMap::default(),
            anchors: Anchors::default(),
            scratch: Vec::new(),
            relabel: RelabelScratch::default(),
            last_rechecks: 0,
        }
    }

    // ----- names -----

    /// The text of an interned symbol.
    pub fn resolve(&self, s: Sym) -> &str {
        self.strings.resolve(s)
    }

    /// `(namespace, name)` of a live cluster.
    pub fn cluster_name(&self, c: ClusterId) -> (&str, &str) {
        (
            self.strings.resolve(self.clusters.namespace(c)),
            self.strings.resolve(self.clusters.name(c)),
        )
    }

    /// The labels of a live cluster.
    pub fn cluster_labels(&self, c: ClusterId) -> BTreeMap<String, String> {
        self.clusters
            .label_strings(&self.strings, c)
            .into_iter()
            .collect()
    }

    /// The id of a cluster.
    pub fn cluster_id(&self, namespace: &str, name: &str) -> Option<ClusterId> {
        let ns = self.strings.get(namespace)?;
        let n = self.strings.get(name)?;
        self.clusters.find(ns, n)
    }

    /// The id of a bundle.
    pub fn bundle_id(&self, namespace: &str, name: &str) -> Option<BundleId> {
        let ns = self.strings.get(namespace)?;
        let n = self.strings.get(name)?;
        self.bundle_ids.get(&(ns, n)).copied()
    }

    /// `(namespace, name)` of a bundle.
    pub fn bundle_name(&self, b: BundleId) -> Option<(&str, &str)> {
        let r = self.bundles.get(b as usize)?.as_ref()?;
        Some((self.strings.resolve(r.ns), self.strings.resolve(r.name)))
    }

    /// Ids of all live bundles.
    pub fn bundle_ids(&self) -> Vec<BundleId> {
        (0..self.bundles.len() as u32)
            .filter(|&b| self.bundles[b as usize].is_some())
            .collect()
    }

    /// All live clusters.
    pub fn clusters(&self) -> &RoaringBitmap {
        &self.clusters.alive
    }

    /// Number of live clusters.
    pub fn cluster_count(&self) -> usize {
        self.clusters.len()
    }

    /// Approximate heap bytes of clusters, strings and the label index.
    pub fn index_heap_bytes(&self) -> usize {
        self.clusters.heap_bytes() + self.strings.heap_bytes()
    }

    /// Groups a cluster belongs to (ids).
    pub(crate) fn groups_of(&self, c: ClusterId) -> Vec<GroupId> {
        let ns = self.clusters.namespace(c);
        self.groups_by_ns
            .get(&ns)
            .map(|gs| {
                gs.iter()
                    .copied()
                    .filter(|&g| {
                        self.groups[g as usize]
                            .as_ref()
                            .is_some_and(|r| r.members.contains(c))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Names of the groups a cluster belongs to.
    pub fn group_names_of(&self, c: ClusterId) -> Vec<String> {
        self.groups_of(c)
            .into_iter()
            .filter_map(|g| self.groups[g as usize].as_ref())
            .map(|r| self.strings.resolve(r.name).to_owned())
            .collect()
    }

    // ----- compilation -----

    pub(super) fn intern_labels<'a>(
        &mut self,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Vec<(KeyId, Sym)> {
        let mut out: Vec<(KeyId, Sym)> = labels
            .into_iter()
            .map(|(k, v)| {
                let ks = self.strings.intern(k);
                let kid = self.clusters.ensure_key(ks);
                (kid, self.strings.intern(v))
            })
            .collect();
        out.sort_unstable_by_key(|x| x.0);
        out.dedup_by_key(|x| x.0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TargetInput;
    use fleet_core::selector::LabelSelector;

    const NS: &str = "fleet-default";

    fn ml(pairs: &[(&str, &str)]) -> LabelSelector {
        LabelSelector {
            match_labels: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            match_expressions: None,
        }
    }

    fn bundle(name: &str, matchers: Vec<MatcherInput>) -> BundleInput {
        BundleInput {
            namespace: NS.into(),
            name: name.into(),
            targets: matchers
                .into_iter()
                .map(|matcher| TargetInput {
                    matcher,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn selector(pairs: &[(&str, &str)]) -> MatcherInput {
        MatcherInput {
            cluster_selector: Some(ml(pairs)),
            ..Default::default()
        }
    }

    fn group(name: &str, labels: &[(&str, &str)], sel: &[(&str, &str)]) -> GroupInput {
        GroupInput {
            namespace: NS.into(),
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            selector: Some(ml(sel)),
        }
    }

    #[test]
    fn change_of_a_key_no_target_reads_rechecks_nothing() {
        let mut e = Engine::new();
        for i in 0..20 {
            let env = ["dev", "prod"][i % 2];
            e.upsert_cluster(
                NS,
                &format!("c{i}"),
                [("env", env), ("beat", "0"), ("tier", "a")],
            );
        }
        let (b, _) = e
            .upsert_bundle(&bundle(
                "app",
                vec![selector(&[("env", "prod"), ("tier", "a")])],
            ))
            .expect("bundle");
        // `beat` is read by no target: nothing is evaluated and nothing changes.
        let d = e.upsert_cluster(NS, "c1", [("env", "prod"), ("beat", "1"), ("tier", "a")]);
        assert!(d.changes.is_empty());
        assert_eq!(e.last_rechecks, 0);
        // `tier` is read by the target (not its anchor, `env`): it is re-checked.
        let d = e.upsert_cluster(NS, "c1", [("env", "prod"), ("beat", "2"), ("tier", "b")]);
        assert_eq!(d.changes, vec![(b, Change::Disappeared)]);
        assert!(e.last_rechecks > 0);
        // A cluster the bundle does not match, changing a read key to another non-match:
        // the anchor (`env=dev`) fires nothing on either side.
        let d = e.upsert_cluster(NS, "c0", [("env", "dev"), ("beat", "0"), ("tier", "b")]);
        assert!(d.changes.is_empty());
        assert_eq!(e.last_rechecks, 0);
        let d = e.upsert_cluster(NS, "c0", [("env", "prod"), ("beat", "0"), ("tier", "a")]);
        assert!(matches!(&d.changes[..], [(x, Change::Appeared(dd))] if *x == b && dd.target == 0));
        assert_eq!(e.targets(b).len(), 10);
    }

    #[test]
    fn group_only_targets_follow_the_membership_delta() {
        let mut e = Engine::new();
        for i in 0..10 {
            e.upsert_cluster(NS, &format!("c{i}"), [("env", "dev"), ("tier", "a")]);
        }
        e.upsert_group(&group("prod", &[("team", "x")], &[("env", "prod")]));
        let by_name = MatcherInput {
            cluster_group: "prod".into(),
            ..Default::default()
        };
        let by_labels = MatcherInput {
            cluster_group_selector: Some(ml(&[("team", "x")])),
            ..Default::default()
        };
        let (named, _) = e
            .upsert_bundle(&bundle("named", vec![by_name]))
            .expect("bundle");
        let (labelled, _) = e
            .upsert_bundle(&bundle("labelled", vec![by_labels]))
            .expect("bundle");
        // A bundle reading `tier`, so that changing it is worth looking at.
        let (tiered, _) = e
            .upsert_bundle(&bundle("tiered", vec![selector(&[("tier", "b")])]))
            .expect("bundle");

        // Joining the group: both group-only bundles appear, found through the group's list
        // (two entries examined with the new groups; `tiered` reads no changed key).
        let d = e.upsert_cluster(NS, "c0", [("env", "prod"), ("tier", "a")]);
        let got: Vec<u32> = d.changes.iter().map(|c| c.0).collect();
        assert_eq!(got, vec![named, labelled]);
        assert!(d.changes.iter().all(|c| matches!(c.1, Change::Appeared(_))));
        assert_eq!(e.last_rechecks, 2);

        // Groups unchanged: the group-only targets are not looked at, only `tiered` is.
        let d = e.upsert_cluster(NS, "c0", [("env", "prod"), ("tier", "b")]);
        assert_eq!(d.changes.len(), 1);
        assert_eq!(d.changes[0].0, tiered);
        assert_eq!(e.last_rechecks, 1);

        // Leaving the group: both disappear.
        let d = e.upsert_cluster(NS, "c0", [("env", "dev"), ("tier", "b")]);
        let got: Vec<(u32, Change)> = d.changes;
        assert_eq!(
            got,
            vec![
                (named, Change::Disappeared),
                (labelled, Change::Disappeared)
            ]
        );

        // The group's labels change: `labelled` no longer selects it, so joining the group
        // now brings only `named` (the group's list was refilled).
        e.upsert_group(&group("prod", &[("team", "y")], &[("env", "prod")]));
        let d = e.upsert_cluster(NS, "c1", [("env", "prod"), ("tier", "a")]);
        let got: Vec<u32> = d.changes.iter().map(|c| c.0).collect();
        assert_eq!(got, vec![named]);
        assert_eq!(
            e.bundles_for_cluster(e.cluster_id(NS, "c1").unwrap()).len(),
            1
        );

        // The group goes: `named` loses c1 with it; a later change of c1 finds nothing.
        let d = e.remove_group(NS, "prod");
        assert_eq!(d.bundles.len(), 1);
        let d = e.upsert_cluster(NS, "c1", [("env", "dev"), ("tier", "a")]);
        assert!(d.changes.is_empty());
    }
}
