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

    fn intern_labels<'a>(
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

    pub(crate) fn compile_selector(
        &mut self,
        sel: &LabelSelector,
    ) -> Result<Selector, SelectorError> {
        let raw = selector::validate(sel)?;
        let mut reqs = Vec::with_capacity(raw.len());
        for r in raw {
            let ks = self.strings.intern(&r.key);
            let key = self.clusters.ensure_key(ks);
            let mut vals: Vec<Sym> = r.values.iter().map(|v| self.strings.intern(v)).collect();
            vals.sort_unstable();
            vals.dedup();
            let op = match r.op {
                RawOp::In => Op::In(vals.into()),
                RawOp::NotIn => Op::NotIn(vals.into()),
                RawOp::Exists => Op::Exists,
                RawOp::DoesNotExist => Op::DoesNotExist,
            };
            reqs.push(selector::Req { key, op });
        }
        Ok(Selector { reqs: reqs.into() })
    }

    pub(crate) fn compile_matcher(
        &mut self,
        m: &MatcherInput,
    ) -> Result<Matcher, (&'static str, SelectorError)> {
        let name = (!m.cluster_name.is_empty()).then(|| self.strings.intern(&m.cluster_name));
        let group_name =
            (!m.cluster_group.is_empty()).then(|| self.strings.intern(&m.cluster_group));
        let group_sel = match &m.cluster_group_selector {
            Some(s) => Some(
                self.compile_selector(s)
                    .map_err(|e| ("clusterGroupSelector", e))?,
            ),
            None => None,
        };
        let cluster_sel = match &m.cluster_selector {
            Some(s) => Some(
                self.compile_selector(s)
                    .map_err(|e| ("clusterSelector", e))?,
            ),
            None => None,
        };
        Ok(Matcher {
            name,
            group_name,
            group_sel,
            cluster_sel,
        })
    }

    // ----- per-cluster matching (Fleet's walk, on interned data) -----

    pub(crate) fn matcher_matches<L: LabelLookup + ?Sized>(
        &self,
        m: &Matcher,
        cname: Sym,
        labels: &L,
        g: GroupCtx<'_>,
    ) -> bool {
        if m.is_empty() {
            return false;
        }
        if let Some(n) = m.name
            && cname != n
            && labels.get(self.display_key) != Some(n)
        {
            return false;
        }
        if let Some(gn) = m.group_name
            && g.name != Some(gn)
        {
            return false;
        }
        if let Some(s) = &m.group_sel
            && !s.matches(g.labels)
        {
            return false;
        }
        if let Some(s) = &m.cluster_sel
            && !s.matches(labels)
        {
            return false;
        }
        true
    }

    fn group_ctx(&self, g: GroupId) -> GroupCtx<'_> {
        match &self.groups[g as usize] {
            Some(r) => GroupCtx {
                name: Some(r.name),
                labels: &r.labels,
            },
            None => EMPTY_GROUP,
        }
    }

    /// Whether a matcher matches a cluster through some group (or the empty group).
    fn matches_any_group<L: LabelLookup + ?Sized>(
        &self,
        m: &Matcher,
        cname: Sym,
        labels: &L,
        groups: &[GroupId],
    ) -> bool {
        if groups.is_empty() || !m.uses_groups() {
            let g = match groups.first() {
                Some(&g) => self.group_ctx(g),
                None => EMPTY_GROUP,
            };
            return self.matcher_matches(m, cname, labels, g);
        }
        groups
            .iter()
            .any(|&g| self.matcher_matches(m, cname, labels, self.group_ctx(g)))
    }

    /// Whether target entry `t` is allowed (restrictions) and matches through the same group.
    fn target_allowed<L: LabelLookup + ?Sized>(
        &self,
        b: &BundleRec,
        t: &Matcher,
        cname: Sym,
        labels: &L,
        groups: &[GroupId],
    ) -> bool {
        if b.restrictions.is_empty() {
            return self.matches_any_group(t, cname, labels, groups);
        }
        let check = |g: GroupCtx<'_>| {
            self.matcher_matches(t, cname, labels, g)
                && b.restrictions
                    .iter()
                    .any(|r| self.matcher_matches(r, cname, labels, g))
        };
        if groups.is_empty() {
            check(EMPTY_GROUP)
        } else {
            groups.iter().any(|&g| check(self.group_ctx(g)))
        }
    }

    /// Fleet's per-cluster decision for one bundle.
    pub(crate) fn decide<L: LabelLookup + ?Sized>(
        &self,
        b: &BundleRec,
        cname: Sym,
        ns: Sym,
        labels: &L,
        groups: &[GroupId],
    ) -> Option<Decision> {
        if !b.scope.contains(&ns) {
            return None;
        }
        let (ti, t) = b
            .targets
            .iter()
            .enumerate()
            .skip(b.n_custom)
            .find(|(_, t)| self.target_allowed(b, &t.matcher, cname, labels, groups))?;
        if t.do_not_deploy {
            return None;
        }
        let mut customizations = Vec::new();
        for (ci, c) in b.targets[..b.n_custom].iter().enumerate() {
            if self.matches_any_group(&c.matcher, cname, labels, groups) {
                if c.do_not_deploy {
                    return None;
                }
                customizations.push(ci as u32);
                if b.mode == CustomizationMode::FirstMatch {
                    break;
                }
            }
        }
        Some(Decision {
            target: ti as u32,
            customizations,
        })
    }

    // ----- set algebra -----

    fn posting_estimate(&self, r: &selector::Req) -> u64 {
        let ki = &self.clusters.keys[r.key as usize];
        match &r.op {
            Op::In(vals) => vals.iter().map(|&v| ki.posting(v).len()).sum(),
            Op::Exists => ki.present.len(),
            _ => u64::MAX,
        }
    }

    fn req_set(&self, r: &selector::Req) -> Cow<'_, RoaringBitmap> {
        let ki = &self.clusters.keys[r.key as usize];
        match &r.op {
            Op::In(vals) | Op::NotIn(vals) => {
                if vals.len() == 1
                    && let Posting::Many(b) = ki.posting(vals[0])
                {
                    return Cow::Borrowed(b);
                }
                let mut acc = RoaringBitmap::new();
                for &v in vals.iter() {
                    ki.posting(v).union_into(&mut acc);
                }
                Cow::Owned(acc)
            }
            Op::Exists | Op::DoesNotExist => Cow::Borrowed(&ki.present),
        }
    }

    /// Clusters of `base` whose labels satisfy `sel`; most selective positive requirement first.
    pub(crate) fn eval_selector(&self, sel: &Selector, base: &RoaringBitmap) -> RoaringBitmap {
        let mut pos: Vec<(u64, &selector::Req)> = sel
            .reqs
            .iter()
            .filter(|r| matches!(r.op, Op::In(_) | Op::Exists))
            .map(|r| (self.posting_estimate(r), r))
            .collect();
        pos.sort_by_key(|x| x.0);
        let mut acc: Option<RoaringBitmap> = None;
        for (_, r) in pos {
            let set = self.req_set(r);
            match &mut acc {
                None => acc = Some(base & set.as_ref()),
                Some(a) => *a &= set.as_ref(),
            }
            if acc.as_ref().is_some_and(|a| a.is_empty()) {
                return RoaringBitmap::new();
            }
        }
        let mut acc = acc.unwrap_or_else(|| base.clone());
        for r in sel.reqs.iter() {
            if matches!(r.op, Op::NotIn(_) | Op::DoesNotExist) {
                acc -= self.req_set(r).as_ref();
            }
        }
        acc
    }

    fn group_set(&self, m: &Matcher, scope: &[Sym]) -> GroupSet {
        if !m.uses_groups() {
            return GroupSet::Any;
        }
        let mut groups = Vec::new();
        for ns in scope {
            if let Some(gs) = self.groups_by_ns.get(ns) {
                for &g in gs {
                    let ctx = self.group_ctx(g);
                    let ok = m.group_name.is_none_or(|n| ctx.name == Some(n))
                        && m.group_sel.as_ref().is_none_or(|s| s.matches(ctx.labels));
                    if ok {
                        groups.push(g);
                    }
                }
            }
        }
        let empty_ok =
            m.group_name.is_none() && m.group_sel.as_ref().is_none_or(|s| s.matches_empty());
        GroupSet::Some { groups, empty_ok }
    }

    fn group_set_bitmap(&self, gs: &GroupSet) -> Option<Cow<'_, RoaringBitmap>> {
        match gs {
            GroupSet::Any => None,
            GroupSet::Some { groups, empty_ok } => {
                let members: Vec<&RoaringBitmap> = groups
                    .iter()
                    .filter_map(|&g| self.groups[g as usize].as_ref().map(|r| &r.members))
                    .collect();
                if !*empty_ok && members.len() == 1 {
                    return Some(Cow::Borrowed(members[0]));
                }
                let mut acc = if *empty_ok {
                    self.no_group.clone()
                } else {
                    RoaringBitmap::new()
                };
                for m in members {
                    acc |= m;
                }
                Some(Cow::Owned(acc))
            }
        }
    }

    /// Clusters of `base` satisfying the cluster-level criteria (name, clusterSelector);
    /// `None` when the matcher has none (all of `base`).
    fn cluster_level(&self, m: &Matcher, base: &RoaringBitmap) -> Option<RoaringBitmap> {
        let named = m.name.map(|n| {
            let mut named = RoaringBitmap::new();
            self.clusters.clusters_named(n, &mut named);
            self.clusters.keys[self.display_key as usize]
                .posting(n)
                .union_into(&mut named);
            named & base
        });
        match (&m.cluster_sel, named) {
            (None, named) => named,
            (Some(s), Some(named)) => Some(self.eval_selector(s, &named)),
            (Some(s), None) => Some(self.eval_selector(s, base)),
        }
    }

    /// `base ∩ cluster-level ∩ groups` for one matcher.
    fn combine(
        &self,
        base: &RoaringBitmap,
        cl: Option<RoaringBitmap>,
        groups: Option<Cow<'_, RoaringBitmap>>,
    ) -> RoaringBitmap {
        match (cl, groups) {
            (Some(c), Some(g)) => c & g.as_ref(),
            (Some(c), None) => c,
            (None, Some(g)) => base & g.as_ref(),
            (None, None) => base.clone(),
        }
    }

    /// Clusters of `base` a matcher matches (through any group).
    pub(crate) fn eval_matcher(
        &self,
        m: &Matcher,
        scope: &[Sym],
        base: &RoaringBitmap,
    ) -> RoaringBitmap {
        if m.is_empty() || base.is_empty() {
            return RoaringBitmap::new();
        }
        let cl = self.cluster_level(m, base);
        let g = self.group_set_bitmap(&self.group_set(m, scope));
        self.combine(base, cl, g)
    }

    fn scope_bitmap(&self, scope: &[Sym]) -> Cow<'_, RoaringBitmap> {
        let empty = || Cow::Owned(RoaringBitmap::new());
        match scope {
            [] => empty(),
            [one] => self
                .clusters
                .by_namespace
                .get(one)
                .map(Cow::Borrowed)
                .unwrap_or_else(empty),
            many => {
                let mut acc = RoaringBitmap::new();
                for ns in many {
                    if let Some(b) = self.clusters.by_namespace.get(ns) {
                        acc |= b;
                    }
                }
                Cow::Owned(acc)
            }
        }
    }

    /// Fleet's decision for every cluster in scope, as set algebra (optionally only inside
    /// `restrict`).
    pub(crate) fn eval_rec(
        &self,
        b: &BundleRec,
        scope: &[Sym],
        restrict: Option<&RoaringBitmap>,
    ) -> BundleTargets {
        let base = self.scope_bitmap(scope);
        let mut remaining: Cow<'_, RoaringBitmap> = match restrict {
            Some(r) => Cow::Owned(base.as_ref() & r),
            None => base,
        };
        let mut variants: Vec<(Decision, RoaringBitmap)> = Vec::new();
        // Restriction parts, computed once: (cluster-level set, group set).
        let restr: Vec<(Option<RoaringBitmap>, GroupSet)> = b
            .restrictions
            .iter()
            .filter(|r| !r.is_empty())
            .map(|r| (self.cluster_level(r, &remaining), self.group_set(r, scope)))
            .collect();
        for (ti, t) in b.targets.iter().enumerate().skip(b.n_custom) {
            if remaining.is_empty() {
                break;
            }
            if t.matcher.is_empty() {
                continue;
            }
            let tc = self.cluster_level(&t.matcher, &remaining);
            if tc.as_ref().is_some_and(RoaringBitmap::is_empty) {
                continue;
            }
            let tg = self.group_set(&t.matcher, scope);
            let allowed = if b.restrictions.is_empty() {
                self.combine(&remaining, tc, self.group_set_bitmap(&tg))
            } else {
                let mut acc = RoaringBitmap::new();
                for (rc, rg) in &restr {
                    let cl = match (&tc, rc) {
                        (Some(a), Some(b)) => Some(a & b),
                        (Some(a), None) => Some(a.clone()),
                        (None, Some(b)) => Some(b & remaining.as_ref()),
                        (None, None) => None,
                    };
                    if cl.as_ref().is_some_and(RoaringBitmap::is_empty) {
                        continue;
                    }
                    let g = self.group_set_bitmap(&intersect_group_sets(&tg, rg));
                    acc |= self.combine(&remaining, cl, g);
                }
                acc
            };
            if allowed.is_empty() {
                continue;
            }
            if ti + 1 < b.targets.len() {
                *remaining.to_mut() -= &allowed;
            }
            if !t.do_not_deploy {
                variants.push((
                    Decision {
                        target: ti as u32,
                        customizations: Vec::new(),
                    },
                    allowed,
                ));
            }
        }
        if b.n_custom > 0 && !variants.is_empty() {
            let mut covered = RoaringBitmap::new();
            for (_, bm) in &variants {
                covered |= bm;
            }
            for (ci, c) in b.targets[..b.n_custom].iter().enumerate() {
                let mc = self.eval_matcher(&c.matcher, scope, &covered);
                if mc.is_empty() {
                    continue;
                }
                let mut next = Vec::with_capacity(variants.len() + 1);
                for (d, bm) in variants {
                    if b.mode == CustomizationMode::FirstMatch && !d.customizations.is_empty() {
                        next.push((d, bm));
                        continue;
                    }
                    let hit = &bm & &mc;
                    if hit.is_empty() {
                        next.push((d, bm));
                        continue;
                    }
                    let rest = bm - &hit;
                    if !c.do_not_deploy {
                        let mut d2 = d.clone();
                        d2.customizations.push(ci as u32);
                        next.push((d2, hit));
                    } else {
                        covered -= &hit;
                    }
                    if !rest.is_empty() {
                        next.push((d, rest));
                    }
                }
                variants = next;
            }
        }
        variants.retain(|(_, bm)| !bm.is_empty());
        BundleTargets { variants }
    }

    /// The clusters bundle `b` is deployed to, with the decision for each.
    pub fn targets(&self, b: BundleId) -> BundleTargets {
        match self.bundles.get(b as usize).and_then(Option::as_ref) {
            Some(r) => self.eval_rec(r, &r.scope, None),
            None => BundleTargets::default(),
        }
    }

    /// [`Engine::targets`] for every bundle, on all threads (rayon).
    pub fn all_targets_parallel(&self) -> Vec<(BundleId, BundleTargets)> {
        use rayon::prelude::*;
        self.bundle_ids()
            .into_par_iter()
            .map(|b| (b, self.targets(b)))
            .collect()
    }

    /// [`Engine::targets`] for every bundle, on the calling thread.
    pub fn all_targets(&self) -> Vec<(BundleId, BundleTargets)> {
        self.bundle_ids()
            .into_iter()
            .map(|b| (b, self.targets(b)))
            .collect()
    }

    // ----- per-cluster: every bundle a cluster gets -----

    #[allow(clippy::too_many_arguments)]
    fn fire<L: LabelLookup + ?Sized>(
        &self,
        list: &[Filed],
        cname: Sym,
        ns: Sym,
        labels: &L,
        groups: &[GroupId],
        best: &mut [u32],
        touched: &mut Vec<BundleId>,
    ) {
        for f in list {
            let (b, e) = (f.bundle, f.target);
            let bi = b as usize;
            let cur = best[bi];
            if cur == COMPLEX || (cur != NONE && cur <= e) {
                continue;
            }
            if !self.in_scope(f, ns) {
                continue;
            }
            if f.simple {
                if self.fired_matches(f, cname, labels, groups) {
                    if cur == NONE {
                        touched.push(b);
                    }
                    best[bi] = e;
                }
            } else {
                if cur == NONE {
                    touched.push(b);
                }
                best[bi] = COMPLEX;
            }
        }
    }

    /// Every bundle the cluster would get with these labels and groups, and the decision.
    #[allow(clippy::too_many_arguments)]
    fn decisions_with<L: LabelLookup + ?Sized>(
        &self,
        cname: Sym,
        ns: Sym,
        labels: &L,
        label_list: &[(KeyId, Sym)],
        groups: &[GroupId],
        best: &mut Vec<u32>,
        out: &mut Vec<(BundleId, Decision)>,
    ) {
        best.clear();
        best.resize(self.bundles.len(), NONE);
        let mut touched = Vec::new();
        let lists = &self.anchors.lists;
        let mut go = |a: Anchor| {
            if let Some(l) = lists.get(&a) {
                self.fire(l, cname, ns, labels, groups, best, &mut touched);
            }
        };
        for &(k, v) in label_list {
            go(Anchor::Kv(k, v));
            go(Anchor::Key(k));
            if k == self.display_key {
                go(Anchor::Name(v));
            }
        }
        go(Anchor::Name(cname));
        for &g in groups {
            if let Some(r) = &self.groups[g as usize] {
                go(Anchor::Group(r.name));
            }
        }
        go(Anchor::Always);
        if groups.is_empty() {
            self.fire(
                &self.anchors.no_group_list,
                cname,
                ns,
                labels,
                groups,
                best,
                &mut touched,
            );
        }
        for &g in groups {
            if let Some(l) = self.anchors.group_lists.get(g as usize) {
                self.fire(l, cname, ns, labels, groups, best, &mut touched);
            }
        }
        touched.sort_unstable();
        for b in touched {
            let e = best[b as usize];
            if e == COMPLEX {
                if let Some(rec) = self.bundles[b as usize].as_ref()
                    && let Some(d) = self.decide(rec, cname, ns, labels, groups)
                {
                    out.push((b, d));
                }
            } else {
                out.push((
                    b,
                    Decision {
                        target: e,
                        customizations: Vec::new(),
                    },
                ));
            }
        }
    }

    /// Every bundle a cluster gets, with the decision, sorted by bundle id.
    pub fn bundles_for_cluster(&self, c: ClusterId) -> Vec<(BundleId, Decision)> {
        if !self.clusters.alive.contains(c) {
            return Vec::new();
        }
        let labels = self.clusters.label_list(c);
        let groups = self.groups_of(c);
        let mut out = Vec::with_capacity(64);
        let mut best = Vec::new();
        self.decisions_with(
            self.clusters.name(c),
            self.clusters.namespace(c),
            labels.as_slice(),
            &labels,
            &groups,
            &mut best,
            &mut out,
        );
        out
    }

    /// The decision for one (bundle, cluster) pair, walking the bundle like Fleet does.
    pub fn decision(&self, b: BundleId, c: ClusterId) -> Option<Decision> {
        let rec = self.bundles.get(b as usize)?.as_ref()?;
        if !self.clusters.alive.contains(c) {
            return None;
        }
        let labels = self.clusters.labels(c);
        let groups = self.groups_of(c);
        self.decide(
            rec,
            self.clusters.name(c),
            self.clusters.namespace(c),
            &labels,
            &groups,
        )
    }

    // ----- clusters -----

    fn groups_for_labels(&self, ns: Sym, labels: &[(KeyId, Sym)]) -> Vec<GroupId> {
        self.groups_by_ns
            .get(&ns)
            .map(|gs| {
                gs.iter()
                    .copied()
                    .filter(|&g| {
                        self.groups[g as usize]
                            .as_ref()
                            .and_then(|r| r.selector.as_ref())
                            .is_some_and(|s| s.matches(labels))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn set_membership(&mut self, c: ClusterId, ns: Sym, groups: &[GroupId]) {
        if let Some(gs) = self.groups_by_ns.get(&ns) {
            for &g in gs {
                if let Some(r) = self.groups[g as usize].as_mut() {
                    if groups.contains(&g) {
                        r.members.insert(c);
                    } else {
                        r.members.remove(c);
                    }
                }
            }
        }
        if groups.is_empty() {
            self.no_group.insert(c);
        } else {
            self.no_group.remove(c);
        }
    }

    /// Moves a cluster from the groups it left to those it joined.
    fn move_membership(&mut self, c: ClusterId, old: &[GroupId], new: &[GroupId]) {
        for &g in old.iter().filter(|g| !new.contains(g)) {
            if let Some(r) = self.groups[g as usize].as_mut() {
                r.members.remove(c);
            }
        }
        for &g in new.iter().filter(|g| !old.contains(g)) {
            if let Some(r) = self.groups[g as usize].as_mut() {
                r.members.insert(c);
            }
        }
        if new.is_empty() {
            self.no_group.insert(c);
        } else if old.is_empty() {
            self.no_group.remove(c);
        }
    }

    fn diff_decisions(
        old: &[(BundleId, Decision)],
        new: &[(BundleId, Decision)],
    ) -> Vec<(BundleId, Change)> {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < old.len() || j < new.len() {
            let bo = old.get(i).map(|x| x.0).unwrap_or(NONE);
            let bn = new.get(j).map(|x| x.0).unwrap_or(NONE);
            if bo == bn {
                if old[i].1 != new[j].1 {
                    out.push((bn, Change::Changed(new[j].1.clone())));
                }
                i += 1;
                j += 1;
            } else if bo < bn {
                out.push((bo, Change::Disappeared));
                i += 1;
            } else {
                out.push((bn, Change::Appeared(new[j].1.clone())));
                j += 1;
            }
        }
        out
    }

    /// Which bundles' decisions for one cluster change when its labels and groups go from
    /// `old` to `new` (the index still holds the old state; it is not read).
    ///
    /// Only filed targets whose outcome can change are looked at: those reading a changed
    /// key, and those depending on groups when the groups changed. Lists under anchors that
    /// did not change are checked with both label sets; lists under an old anchor only with
    /// the old labels and under a new anchor only with the new ones; group-only targets come
    /// from the lists of the groups left and joined. For a plain bundle (first match, nothing
    /// else) that gives the lowest affected matching target on each side; the targets it
    /// skipped have the same outcome on both sides, so only those below the two need a look.
    /// Other bundles are decided in full, old and new, when an affected target fires.
    fn relabel_changes(
        &mut self,
        cname: Sym,
        ns: Sym,
        old_labels: &[(KeyId, Sym)],
        new_labels: &[(KeyId, Sym)],
        old_groups: &[GroupId],
        new_groups: &[GroupId],
    ) -> Vec<(BundleId, Change)> {
        // Changed keys (value changed, added or removed), as bits and as a readers check.
        let mut changed_keys = 0u64;
        let mut read = false;
        let readers = &self.anchors.key_readers;
        let mut mark = |k: KeyId| {
            changed_keys |= key_bit(k);
            read |= readers.get(k as usize).is_some_and(|&n| n > 0);
        };
        let (mut i, mut j) = (0, 0);
        while i < old_labels.len() || j < new_labels.len() {
            let ko = old_labels.get(i).map_or(KeyId::MAX, |x| x.0);
            let kn = new_labels.get(j).map_or(KeyId::MAX, |x| x.0);
            if ko == kn {
                if old_labels[i].1 != new_labels[j].1 {
                    mark(ko);
                }
                i += 1;
                j += 1;
            } else if ko < kn {
                mark(ko);
                i += 1;
            } else {
                mark(kn);
                j += 1;
            }
        }
        let groups_changed = old_groups != new_groups;
        self.last_rechecks = 0;
        let relevant = read || (groups_changed && self.anchors.group_readers > 0);
        if !relevant {
            return Vec::new();
        }

        let mut scratch = std::mem::take(&mut self.relabel);
        let n_keys = self.clusters.keys.len();
        fill_dense(&mut scratch.old, n_keys, old_labels);
        fill_dense(&mut scratch.new, n_keys, new_labels);
        if scratch.slots.len() < self.bundles.len() {
            scratch.slots.resize(self.bundles.len(), [NONE, NONE]);
        }
        let words = self.bundles.len().div_ceil(64);
        if scratch.touched.len() < words {
            scratch.touched.resize(words, 0);
        }
        let ctx = RelabelCtx {
            cname,
            ns,
            changed_keys,
            groups_changed,
            old: DenseLabels(&scratch.old),
            new: DenseLabels(&scratch.new),
            old_groups,
            new_groups,
        };
        let mut st = RelabelState {
            slots: &mut scratch.slots,
            touched: &mut scratch.touched,
            checks: 0,
        };
        let lists = &self.anchors.lists;
        let go = |a: Anchor, side: Side, st: &mut RelabelState<'_>| {
            if let Some(l) = lists.get(&a) {
                self.fire_relabel(l, side, &ctx, st);
            }
        };
        let display = self.display_key;
        let (mut i, mut j) = (0, 0);
        while i < old_labels.len() || j < new_labels.len() {
            let ko = old_labels.get(i).map_or(KeyId::MAX, |x| x.0);
            let kn = new_labels.get(j).map_or(KeyId::MAX, |x| x.0);
            if ko == kn {
                let (vo, vn) = (old_labels[i].1, new_labels[j].1);
                if vo == vn {
                    go(Anchor::Kv(ko, vo), Side::Both, &mut st);
                    if ko == display {
                        go(Anchor::Name(vo), Side::Both, &mut st);
                    }
                } else {
                    go(Anchor::Kv(ko, vo), Side::Old, &mut st);
                    go(Anchor::Kv(kn, vn), Side::New, &mut st);
                    if ko == display {
                        go(Anchor::Name(vo), Side::Old, &mut st);
                        go(Anchor::Name(vn), Side::New, &mut st);
                    }
                }
                go(Anchor::Key(ko), Side::Both, &mut st);
                i += 1;
                j += 1;
            } else if ko < kn {
                let vo = old_labels[i].1;
                go(Anchor::Kv(ko, vo), Side::Old, &mut st);
                go(Anchor::Key(ko), Side::Old, &mut st);
                if ko == display {
                    go(Anchor::Name(vo), Side::Old, &mut st);
                }
                i += 1;
            } else {
                let vn = new_labels[j].1;
                go(Anchor::Kv(kn, vn), Side::New, &mut st);
                go(Anchor::Key(kn), Side::New, &mut st);
                if kn == display {
                    go(Anchor::Name(vn), Side::New, &mut st);
                }
                j += 1;
            }
        }
        go(Anchor::Name(cname), Side::Both, &mut st);
        go(Anchor::Always, Side::Both, &mut st);
        let group_sides: [(&[GroupId], Side); 2] = if groups_changed {
            [(old_groups, Side::Old), (new_groups, Side::New)]
        } else {
            [(new_groups, Side::Both), (&[], Side::Both)]
        };
        for (k, (groups, side)) in group_sides.into_iter().enumerate() {
            if k == 1 && !groups_changed {
                break;
            }
            for &g in groups {
                if let Some(r) = &self.groups[g as usize] {
                    go(Anchor::Group(r.name), side, &mut st);
                }
                if let Some(l) = self.anchors.group_lists.get(g as usize) {
                    self.fire_relabel(l, side, &ctx, &mut st);
                }
            }
            if groups.is_empty() {
                self.fire_relabel(&self.anchors.no_group_list, side, &ctx, &mut st);
            }
        }

        let touched: u32 = st.touched[..words].iter().map(|w| w.count_ones()).sum();
        let mut out = Vec::with_capacity(touched as usize);
        let mut checks = st.checks;
        for w in 0..words {
            let mut bits = std::mem::take(&mut st.touched[w]);
            while bits != 0 {
                let b = (w * 64) as u32 + bits.trailing_zeros();
                bits &= bits - 1;
                let [mo, mn] = std::mem::replace(&mut st.slots[b as usize], [NONE, NONE]);
                if mo == COMPLEX {
                    let Some(rec) = self.bundles[b as usize].as_ref() else {
                        continue;
                    };
                    checks += 2;
                    let od = self.decide(rec, cname, ns, &ctx.old, old_groups);
                    let nd = self.decide(rec, cname, ns, &ctx.new, new_groups);
                    match (od, nd) {
                        (None, Some(d)) => out.push((b, Change::Appeared(d))),
                        (Some(_), None) => out.push((b, Change::Disappeared)),
                        (Some(o), Some(d)) if o != d => out.push((b, Change::Changed(d))),
                        _ => {}
                    }
                    continue;
                }
                if mo == mn {
                    continue;
                }
                let Some((od, nd)) = self.plain_outcomes(b, mo, mn, &ctx, &mut checks) else {
                    continue;
                };
                let plain = |target| Decision {
                    target,
                    customizations: Vec::new(),
                };
                match (od != NONE, nd != NONE) {
                    (false, true) => out.push((b, Change::Appeared(plain(nd)))),
                    (true, false) => out.push((b, Change::Disappeared)),
                    (true, true) if od != nd => out.push((b, Change::Changed(plain(nd)))),
                    _ => {}
                }
            }
        }
        self.last_rechecks = checks;
        self.relabel = scratch;
        out
    }

    /// The old and new deploy target (`NONE`: none) of plain bundle `b`, given the lowest
    /// affected matching target on each side (`mo != mn`); `None` when a target the change
    /// cannot affect decides both sides alike.
    fn plain_outcomes(
        &self,
        b: BundleId,
        mo: u32,
        mn: u32,
        ctx: &RelabelCtx<'_>,
        checks: &mut usize,
    ) -> Option<(u32, u32)> {
        let (lo, hi) = (mo.min(mn), mo.max(mn));
        let brief = &self.briefs[b as usize];
        let rec = || self.bundles[b as usize].as_ref();
        let (n_targets, unaffected) = if brief.n_targets == u8::MAX {
            let r = rec()?;
            (r.targets.len() as u32, None)
        } else {
            // Which targets below `hi` the change cannot affect, one bit each.
            let upto = hi.min(u32::from(brief.n_targets));
            let mut affected = if ctx.groups_changed { brief.groups } else { 0 };
            for (t, reads) in brief.reads.iter().enumerate() {
                affected |= u8::from(reads & ctx.changed_keys != 0) << t;
            }
            let below_hi = ((1u32 << upto) - 1) as u8;
            (u32::from(brief.n_targets), Some(!affected & below_hi))
        };
        let pair = |other: u32| if mo == lo { (lo, other) } else { (other, lo) };
        if unaffected == Some(0) {
            // Every target below `hi` is affected: the lists fired told the whole story.
            return Some(pair(hi));
        }
        // Targets the change cannot affect match on both sides or on neither.
        let mut unaffected_match = |t: u32| {
            let (reads, groups) = match rec() {
                Some(r) => r.target_reads[t as usize],
                None => return false,
            };
            if reads & ctx.changed_keys != 0 || (groups && ctx.groups_changed) {
                return false;
            }
            *checks += 1;
            rec().is_some_and(|r| {
                let m = &r.targets[t as usize].matcher;
                self.matches_any_group(m, ctx.cname, &ctx.new, ctx.new_groups)
            })
        };
        if (0..lo).any(&mut unaffected_match) {
            return None;
        }
        let other = (lo + 1..hi.min(n_targets))
            .find(|&t| unaffected_match(t))
            .unwrap_or(hi);
        Some(pair(other))
    }

    /// Fires one list during a relabel (see [`Engine::relabel_changes`]).
    fn fire_relabel(
        &self,
        list: &[Filed],
        side: Side,
        ctx: &RelabelCtx<'_>,
        st: &mut RelabelState<'_>,
    ) {
        let (old_side, new_side) = (side != Side::New, side != Side::Old);
        for f in list {
            if !f.affected(ctx.changed_keys, ctx.groups_changed) {
                continue;
            }
            // The slot first: an entry below which the bundle already matched on a side
            // needs no residual check on that side.
            let bi = f.bundle as usize;
            let slot = st.slots[bi];
            if slot[0] == COMPLEX {
                continue;
            }
            let mut need_old = old_side && slot[0] > f.target;
            let mut need_new = new_side && slot[1] > f.target;
            if !need_old && !need_new {
                continue;
            }
            if let Residual::Pairs(n, pairs) = &f.residual {
                let holds = |labels: &DenseLabels<'_>| {
                    pairs[..*n as usize]
                        .iter()
                        .all(|&(k, v, equal)| (labels.0.get(k as usize) == Some(&v)) == equal)
                };
                need_old = need_old && holds(&ctx.old);
                need_new = need_new && holds(&ctx.new);
                if !need_old && !need_new {
                    continue;
                }
            }
            if !self.in_scope(f, ctx.ns) {
                continue;
            }
            if !f.simple {
                st.slots[bi] = [COMPLEX, COMPLEX];
                st.touched[bi / 64] |= 1 << (bi % 64);
                continue;
            }
            st.checks += usize::from(need_old) + usize::from(need_new);
            let mut hit = false;
            // A pair residual was checked above (`need_*`).
            let paired = matches!(f.residual, Residual::Pairs(..));
            if need_old
                && (paired || self.fired_matches_dense(f, ctx.cname, &ctx.old, ctx.old_groups))
            {
                st.slots[bi][0] = f.target;
                hit = true;
            }
            if need_new
                && (paired || self.fired_matches_dense(f, ctx.cname, &ctx.new, ctx.new_groups))
            {
                st.slots[bi][1] = f.target;
                hit = true;
            }
            if hit {
                st.touched[bi / 64] |= 1 << (bi % 64);
            }
        }
    }

    /// Adds a cluster or replaces its labels; returns the bundles whose targeting of it changed.
    pub fn upsert_cluster<'a>(
        &mut self,
        namespace: &str,
        name: &str,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> ClusterDelta {
        let ns = self.strings.intern(namespace);
        let n = self.strings.intern(name);
        let new_labels = self.intern_labels(labels);
        let new_groups = self.groups_for_labels(ns, &new_labels);
        let mut best = std::mem::take(&mut self.scratch);
        let old = Vec::new();
        let c = match self.clusters.find(ns, n) {
            Some(c) => {
                let old_labels = self.clusters.label_list(c);
                // Membership follows the group selectors, so the old groups are those the
                // old labels select (cheaper than asking every group's bitmap).
                let old_groups = self.groups_for_labels(ns, &old_labels);
                if old_labels == new_labels && old_groups == new_groups {
                    self.scratch = best;
                    return ClusterDelta {
                        cluster: Some(c),
                        changes: Vec::new(),
                    };
                }
                self.scratch = best;
                let changes =
                    self.relabel_changes(n, ns, &old_labels, &new_labels, &old_groups, &new_groups);
                self.clusters.relabel(c, &old_labels, &new_labels);
                if old_groups != new_groups {
                    self.move_membership(c, &old_groups, &new_groups);
                }
                return ClusterDelta {
                    cluster: Some(c),
                    changes,
                };
            }
            None => self.clusters.insert(ns, n, &new_labels),
        };
        self.set_membership(c, ns, &new_groups);
        let mut new = Vec::new();
        self.decisions_with(
            n,
            ns,
            new_labels.as_slice(),
            &new_labels,
            &new_groups,
            &mut best,
            &mut new,
        );
        self.scratch = best;
        ClusterDelta {
            cluster: Some(c),
            changes: Self::diff_decisions(&old, &new),
        }
    }

    /// Removes a cluster; returns the bundles it loses.
    pub fn remove_cluster(&mut self, namespace: &str, name: &str) -> ClusterDelta {
        let Some(c) = self.cluster_id(namespace, name) else {
            return ClusterDelta::default();
        };
        let old = self.bundles_for_cluster(c);
        let ns = self.clusters.namespace(c);
        self.set_membership(c, ns, &[]);
        self.no_group.remove(c);
        self.clusters.remove(c);
        ClusterDelta {
            cluster: Some(c),
            changes: old
                .into_iter()
                .map(|(b, _)| (b, Change::Disappeared))
                .collect(),
        }
    }

    /// Loads many clusters at once (initial load): no delta; group membership is computed
    /// afterwards as set algebra. Existing clusters with the same name are relabelled.
    pub fn load_clusters<'a, L>(
        &mut self,
        clusters: impl IntoIterator<Item = (&'a str, &'a str, L)>,
    ) where
        L: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut namespaces = Vec::new();
        // Label keys repeat on every cluster: resolve them through a small cache instead of
        // hashing them each time.
        let mut key_cache: Vec<(&'a str, KeyId)> = Vec::new();
        let mut new_labels: Vec<(KeyId, Sym)> = Vec::new();
        // Bitmap additions are held back and applied in sorted runs of this many clusters.
        const BULK_BATCH: usize = 1 << 16;
        let mut staged = 0;
        self.clusters.begin_bulk();
        for (namespace, name, labels) in clusters {
            let ns = self.strings.intern(namespace);
            let n = self.strings.intern(name);
            new_labels.clear();
            for (position, (k, v)) in labels.into_iter().enumerate() {
                // Clusters usually list their labels in the same order: try the key seen at
                // this position first, then the others.
                let cached = match key_cache.get(position) {
                    Some(&(s, kid)) if s == k => Some(kid),
                    _ => key_cache.iter().find(|(s, _)| *s == k).map(|&(_, kid)| kid),
                };
                let kid = match cached {
                    Some(kid) => kid,
                    None => {
                        let ks = self.strings.intern(k);
                        let kid = self.clusters.ensure_key(ks);
                        if key_cache.len() < 64 {
                            key_cache.push((k, kid));
                        }
                        kid
                    }
                };
                new_labels.push((kid, self.strings.intern(v)));
            }
            new_labels.sort_unstable_by_key(|x| x.0);
            new_labels.dedup_by_key(|x| x.0);
            match self.clusters.find(ns, n) {
                Some(c) => {
                    // Relabelling reads and removes from bitmaps: apply what is held back.
                    self.clusters.end_bulk();
                    let old = self.clusters.label_list(c);
                    self.clusters.relabel(c, &old, &new_labels);
                    self.clusters.begin_bulk();
                }
                None => {
                    self.clusters.insert(ns, n, &new_labels);
                    staged += 1;
                    if staged == BULK_BATCH {
                        // Bounded staging keeps the peak memory of a large load low.
                        self.clusters.end_bulk();
                        self.clusters.begin_bulk();
                        staged = 0;
                    }
                }
            }
            if namespaces.last() != Some(&ns) && !namespaces.contains(&ns) {
                namespaces.push(ns);
            }
        }
        self.clusters.end_bulk();
        for ns in namespaces {
            self.recompute_groups_of_namespace(ns);
        }
        self.clusters.compact();
        self.strings.shrink_to_fit();
    }

    fn recompute_groups_of_namespace(&mut self, ns: Sym) {
        let base = self
            .clusters
            .by_namespace
            .get(&ns)
            .cloned()
            .unwrap_or_default();
        let gids = self.groups_by_ns.get(&ns).cloned().unwrap_or_default();
        let mut in_some = RoaringBitmap::new();
        for g in gids {
            let members = match self.groups[g as usize]
                .as_ref()
                .and_then(|r| r.selector.as_ref())
            {
                Some(s) => self.eval_selector(s, &base),
                None => RoaringBitmap::new(),
            };
            in_some |= &members;
            if let Some(r) = self.groups[g as usize].as_mut() {
                r.members = members;
            }
        }
        self.no_group -= &base;
        self.no_group |= base - in_some;
    }

    // ----- groups -----

    fn bundles_using_groups_in(&self, ns: Sym) -> Vec<BundleId> {
        (0..self.bundles.len() as u32)
            .filter(|&b| {
                self.bundles[b as usize]
                    .as_ref()
                    .is_some_and(|r| r.uses_groups && r.scope.contains(&ns))
            })
            .collect()
    }

    fn bulk_change(
        &mut self,
        bundles: &[BundleId],
        restrict: &RoaringBitmap,
        apply: impl FnOnce(&mut Self),
    ) -> Delta {
        let before: Vec<BundleTargets> = bundles
            .iter()
            .map(|&b| {
                let r = self.bundles[b as usize].as_ref();
                r.map(|r| self.eval_rec(r, &r.scope, Some(restrict)))
                    .unwrap_or_default()
            })
            .collect();
        apply(self);
        let mut out = Delta::default();
        for (&b, bt) in bundles.iter().zip(before) {
            let after = match self.bundles[b as usize].as_ref() {
                Some(r) => self.eval_rec(r, &r.scope, Some(restrict)),
                None => BundleTargets::default(),
            };
            let d = diff_targets(b, &bt, &after);
            if !d.is_empty() {
                out.bundles.push(d);
            }
        }
        out
    }

    /// Adds or replaces a ClusterGroup. An invalid selector makes the group empty (Fleet logs
    /// and skips it); the error is kept for [`Engine::group_error`].
    pub fn upsert_group(&mut self, g: &GroupInput) -> Delta {
        let ns = self.strings.intern(&g.namespace);
        let name = self.strings.intern(&g.name);
        let labels = self.intern_labels(g.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let (selector, error) = match &g.selector {
            Some(s) => match self.compile_selector(s) {
                Ok(s) => (Some(s), None),
                Err(e) => (None, Some(e)),
            },
            None => (None, None),
        };
        let base = self
            .clusters
            .by_namespace
            .get(&ns)
            .cloned()
            .unwrap_or_default();
        let members = match &selector {
            Some(s) => self.eval_selector(s, &base),
            None => RoaringBitmap::new(),
        };
        let existing = self.group_ids.get(&(ns, name)).copied();
        let mut affected = members.clone();
        if let Some(gid) = existing
            && let Some(r) = &self.groups[gid as usize]
        {
            affected |= &r.members;
            if r.labels != labels {
                // group labels feed clusterGroupSelector for every member
                affected |= &r.members;
            }
        }
        let bundles = self.bundles_using_groups_in(ns);
        let rec = GroupRec {
            name,
            labels,
            selector,
            error,
            members,
        };
        let affected2 = affected.clone();
        self.bulk_change(&bundles, &affected, move |e| {
            let affected = affected2;
            let gid = match existing {
                Some(gid) => {
                    e.groups[gid as usize] = Some(rec);
                    gid
                }
                None => {
                    let gid = match e.free_groups.pop() {
                        Some(g) => {
                            e.groups[g as usize] = Some(rec);
                            g
                        }
                        None => {
                            e.groups.push(Some(rec));
                            (e.groups.len() - 1) as GroupId
                        }
                    };
                    e.group_ids.insert((ns, name), gid);
                    e.groups_by_ns.entry(ns).or_default().push(gid);
                    gid
                }
            };
            e.refile_group(gid);
            e.refresh_no_group(ns, &affected);
        })
    }

    fn refresh_no_group(&mut self, ns: Sym, clusters: &RoaringBitmap) {
        let mut in_some = RoaringBitmap::new();
        if let Some(gs) = self.groups_by_ns.get(&ns) {
            for &g in gs {
                if let Some(r) = &self.groups[g as usize] {
                    in_some |= &r.members & clusters;
                }
            }
        }
        self.no_group -= clusters;
        self.no_group |= clusters - in_some;
    }

    /// Removes a ClusterGroup.
    pub fn remove_group(&mut self, namespace: &str, name: &str) -> Delta {
        let (Some(ns), Some(n)) = (self.strings.get(namespace), self.strings.get(name)) else {
            return Delta::default();
        };
        let Some(gid) = self.group_ids.get(&(ns, n)).copied() else {
            return Delta::default();
        };
        let affected = self.groups[gid as usize]
            .as_ref()
            .map(|r| r.members.clone())
            .unwrap_or_default();
        let bundles = self.bundles_using_groups_in(ns);
        let affected2 = affected.clone();
        self.bulk_change(&bundles, &affected, move |e| {
            let affected = affected2;
            e.groups[gid as usize] = None;
            e.refile_group(gid);
            e.free_groups.push(gid);
            e.group_ids.remove(&(ns, n));
            if let Some(v) = e.groups_by_ns.get_mut(&ns) {
                v.retain(|&g| g != gid);
            }
            e.refresh_no_group(ns, &affected);
        })
    }

    /// The selector error of a group that was accepted as empty.
    pub fn group_error(&self, namespace: &str, name: &str) -> Option<&SelectorError> {
        let ns = self.strings.get(namespace)?;
        let n = self.strings.get(name)?;
        let g = self.group_ids.get(&(ns, n))?;
        self.groups[*g as usize].as_ref()?.error.as_ref()
    }

    // ----- bundles -----

    /// The anchors a matcher is filed under, and the selector requirement they stand for.
    fn choose_anchor(&self, m: &Matcher) -> (Vec<Anchor>, Option<usize>) {
        if let Some(n) = m.name {
            return (vec![Anchor::Name(n)], None);
        }
        if let Some(s) = &m.cluster_sel {
            let mut best: Option<(u64, Vec<Anchor>, usize)> = None;
            for (ri, r) in s.reqs.iter().enumerate() {
                let cand = match &r.op {
                    Op::In(vals) => Some(vals.iter().map(|&v| Anchor::Kv(r.key, v)).collect()),
                    Op::Exists => Some(vec![Anchor::Key(r.key)]),
                    _ => None,
                };
                if let Some(c) = cand {
                    let est = self.posting_estimate(r);
                    if best.as_ref().is_none_or(|(b, _, _)| est < *b) {
                        best = Some((est, c, ri));
                    }
                }
            }
            if let Some((_, a, ri)) = best {
                return (a, Some(ri));
            }
        }
        if let Some(g) = m.group_name {
            return (vec![Anchor::Group(g)], None);
        }
        (vec![Anchor::Always], None)
    }

    /// What is left of a matcher once the requirement `anchored` (an index into its
    /// selector) holds.
    fn residual(m: &Matcher, anchored: Option<usize>) -> Residual {
        if m.name.is_some() || m.uses_groups() {
            return Residual::Full;
        }
        let (Some(s), Some(anchored)) = (&m.cluster_sel, anchored) else {
            return Residual::Full;
        };
        let mut pairs = [(0, 0, false); 2];
        let mut n = 0;
        for (ri, r) in s.reqs.iter().enumerate() {
            if ri == anchored {
                continue;
            }
            let pair = match &r.op {
                Op::In(vals) if vals.len() == 1 => (r.key, vals[0], true),
                Op::NotIn(vals) if vals.len() == 1 => (r.key, vals[0], false),
                _ => return Residual::Full,
            };
            if n == pairs.len() {
                return Residual::Full;
            }
            pairs[n] = pair;
            n += 1;
        }
        if n == 0 {
            Residual::Nothing
        } else {
            Residual::Pairs(n as u8, pairs)
        }
    }

    fn compile_bundle(&mut self, b: &BundleInput) -> Result<BundleRec, TargetingError> {
        let bname = format!("{}/{}", b.namespace, b.name);
        let ns = self.strings.intern(&b.namespace);
        let name = self.strings.intern(&b.name);
        let labels = self.intern_labels(b.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut targets = Vec::with_capacity(b.targets.len());
        for (index, t) in b.targets.iter().enumerate() {
            let matcher = self
                .compile_matcher(&t.matcher)
                .map_err(|(field, source)| TargetingError::Target {
                    bundle: bname.clone(),
                    index,
                    field,
                    source,
                })?;
            targets.push(Entry {
                matcher,
                do_not_deploy: t.do_not_deploy,
                name: t.name.clone(),
            });
        }
        let mut restrictions = Vec::with_capacity(b.restrictions.len());
        for (index, r) in b.restrictions.iter().enumerate() {
            restrictions.push(self.compile_matcher(r).map_err(|(field, source)| {
                TargetingError::Restriction {
                    bundle: bname.clone(),
                    index,
                    field,
                    source,
                }
            })?);
        }
        let m = restrictions.len();
        let n = targets.len();
        let n_custom = if m > 0 { n.saturating_sub(m) } else { 0 };
        let simple = m == 0 && n_custom == 0 && targets.iter().all(|t| !t.do_not_deploy);
        let uses_groups = targets.iter().any(|t| t.matcher.uses_groups())
            || restrictions.iter().any(Matcher::uses_groups);
        let mut anchors = Vec::new();
        let mut group_only = Vec::new();
        let mut target_residual = vec![Residual::Full; targets.len()];
        for (i, t) in targets.iter().enumerate().skip(n_custom) {
            if t.matcher.is_empty() {
                continue;
            }
            if t.matcher.is_group_only() {
                group_only.push(i as u32);
                target_residual[i] = Residual::Nothing;
                continue;
            }
            let (chosen, anchored) = self.choose_anchor(&t.matcher);
            target_residual[i] = Self::residual(&t.matcher, anchored);
            for a in chosen {
                anchors.push((a, i as u32));
            }
        }
        let mut read_keys = Vec::new();
        let target_reads = targets
            .iter()
            .map(|t| {
                let keys = self.matcher_reads(&t.matcher);
                let bits = keys.iter().fold(0, |acc, &k| acc | key_bit(k));
                read_keys.extend(keys);
                (bits, t.matcher.uses_groups())
            })
            .collect();
        for r in &restrictions {
            read_keys.extend(self.matcher_reads(r));
        }
        read_keys.sort_unstable();
        read_keys.dedup();
        let reads_all = read_keys.iter().fold(0, |acc, &k| acc | key_bit(k));
        let mut rec = BundleRec {
            ns,
            name,
            labels,
            targets,
            restrictions,
            mode: b.mode,
            n_custom,
            scope: Vec::new(),
            simple,
            uses_groups,
            anchors,
            group_only,
            target_reads,
            read_keys,
            reads_all,
            target_residual,
        };
        rec.scope = self.scope_for(&rec);
        Ok(rec)
    }

    fn scope_for(&self, b: &BundleRec) -> Vec<Sym> {
        let mut scope = vec![b.ns];
        for m in self.mappings.values() {
            if m.ns != b.ns {
                continue;
            }
            let (Some(bs), Some(nsel)) = (&m.bundle_sel, &m.ns_sel) else {
                continue;
            };
            if !bs.matches(b.labels.as_slice()) {
                continue;
            }
            for (ns, labels) in &self.namespaces {
                if nsel.matches(labels.as_slice()) && !scope.contains(ns) {
                    scope.push(*ns);
                }
            }
        }
        scope.sort_unstable_by(|a, b| self.strings.resolve(*a).cmp(self.strings.resolve(*b)));
        scope
    }

    /// The label keys a matcher's outcome reads (`clusterName` reads the display-name label).
    fn matcher_reads(&self, m: &Matcher) -> Vec<KeyId> {
        let mut keys: Vec<KeyId> = m.cluster_sel.iter().flat_map(|s| s.keys()).collect();
        if m.name.is_some() {
            keys.push(self.display_key);
        }
        keys
    }

    /// How target `t` of bundle `b` is filed.
    fn filed(b: BundleId, r: &BundleRec, t: u32) -> Filed {
        let (reads, groups) = if r.simple {
            r.target_reads[t as usize]
        } else {
            (r.reads_all, r.uses_groups)
        };
        Filed {
            bundle: b,
            target: t,
            reads,
            groups,
            simple: r.simple,
            residual: if r.simple {
                r.target_residual[t as usize]
            } else {
                Residual::Full
            },
        }
    }

    /// Whether a fired entry's bundle sees namespace `ns`.
    #[inline(always)]
    fn in_scope(&self, f: &Filed, ns: Sym) -> bool {
        let home = self.briefs[f.bundle as usize].home;
        home == ns
            || (home == MANY_NAMESPACES
                && self.bundles[f.bundle as usize]
                    .as_ref()
                    .is_some_and(|r| r.scope.contains(&ns)))
    }

    /// Whether a fired entry of a plain bundle matches (its list's anchor holds).
    fn fired_matches<L: LabelLookup + ?Sized>(
        &self,
        f: &Filed,
        cname: Sym,
        labels: &L,
        groups: &[GroupId],
    ) -> bool {
        match f.residual {
            Residual::Nothing => true,
            Residual::Pairs(n, pairs) => pairs[..n as usize]
                .iter()
                .all(|&(k, v, equal)| (labels.get(k) == Some(v)) == equal),
            Residual::Full => self.bundles[f.bundle as usize].as_ref().is_some_and(|r| {
                self.matches_any_group(&r.targets[f.target as usize].matcher, cname, labels, groups)
            }),
        }
    }

    /// [`Engine::fired_matches`] on a label table, with the inline residual read directly.
    #[inline(always)]
    fn fired_matches_dense(
        &self,
        f: &Filed,
        cname: Sym,
        labels: &DenseLabels<'_>,
        groups: &[GroupId],
    ) -> bool {
        match &f.residual {
            Residual::Nothing => true,
            Residual::Pairs(n, pairs) => pairs[..*n as usize]
                .iter()
                .all(|&(k, v, equal)| (labels.0.get(k as usize) == Some(&v)) == equal),
            Residual::Full => self.fired_matches(f, cname, labels, groups),
        }
    }

    fn set_home(&mut self, b: BundleId) {
        let brief = match self.bundles[b as usize].as_ref() {
            None => NO_BRIEF,
            Some(r) => {
                let mut brief = BundleBrief {
                    home: match r.scope.as_slice() {
                        [one] => *one,
                        _ => MANY_NAMESPACES,
                    },
                    n_targets: u8::MAX,
                    ..NO_BRIEF
                };
                if r.target_reads.len() <= BRIEF_TARGETS {
                    brief.n_targets = r.target_reads.len() as u8;
                    for (t, &(reads, groups)) in r.target_reads.iter().enumerate() {
                        brief.reads[t] = reads;
                        brief.groups |= u8::from(groups) << t;
                    }
                }
                brief
            }
        };
        if self.briefs.len() <= b as usize {
            self.briefs.resize(b as usize + 1, NO_BRIEF);
        }
        self.briefs[b as usize] = brief;
    }

    /// Whether a group-only matcher matches group `g` (`None`: the empty group).
    fn group_only_matches(&self, m: &Matcher, g: Option<GroupId>) -> bool {
        let ctx = match g {
            Some(g) => self.group_ctx(g),
            None => EMPTY_GROUP,
        };
        let no_labels: &[(KeyId, Sym)] = &[];
        self.matcher_matches(m, NONE, no_labels, ctx)
    }

    fn register_anchors(&mut self, b: BundleId) {
        let Some(r) = &self.bundles[b as usize] else {
            return;
        };
        for &(a, e) in &r.anchors {
            let f = Self::filed(b, r, e);
            // Entries with the same residual are kept together: a relabel checks it once for
            // the whole run (many bundles often share one, e.g. `tier NotIn (edge)`).
            let list = self.anchors.lists.entry(a).or_default();
            let at = list.partition_point(|x| x.residual <= f.residual);
            list.insert(at, f);
        }
        for &t in &r.group_only {
            let m = &r.targets[t as usize].matcher;
            let f = Self::filed(b, r, t);
            if self.group_only_matches(m, None) {
                self.anchors.no_group_list.push(f);
            }
            for g in 0..self.groups.len() as GroupId {
                if self.groups[g as usize].is_some() && self.group_only_matches(m, Some(g)) {
                    if self.anchors.group_lists.len() <= g as usize {
                        self.anchors.group_lists.resize(g as usize + 1, Vec::new());
                    }
                    self.anchors.group_lists[g as usize].push(f);
                }
            }
        }
        for &k in &r.read_keys {
            let readers = &mut self.anchors.key_readers;
            if readers.len() <= k as usize {
                readers.resize(k as usize + 1, 0);
            }
            readers[k as usize] += 1;
        }
        if r.uses_groups {
            self.anchors.group_readers += 1;
        }
    }

    fn unregister_anchors(&mut self, b: BundleId) {
        let Some(r) = &self.bundles[b as usize] else {
            return;
        };
        for &(a, _) in &r.anchors {
            if let Some(l) = self.anchors.lists.get_mut(&a) {
                l.retain(|x| x.bundle != b);
                if l.is_empty() {
                    self.anchors.lists.remove(&a);
                }
            }
        }
        if !r.group_only.is_empty() {
            self.anchors.no_group_list.retain(|x| x.bundle != b);
            for l in &mut self.anchors.group_lists {
                l.retain(|x| x.bundle != b);
            }
        }
        for &k in &r.read_keys {
            self.anchors.key_readers[k as usize] -= 1;
        }
        if r.uses_groups {
            self.anchors.group_readers -= 1;
        }
    }

    /// Refills group `g`'s list of group-only targets (after the group changed or went).
    fn refile_group(&mut self, g: GroupId) {
        let mut list = Vec::new();
        if self.groups.get(g as usize).is_some_and(Option::is_some) {
            for (b, r) in self.bundles.iter().enumerate() {
                let Some(r) = r else { continue };
                for &t in &r.group_only {
                    if self.group_only_matches(&r.targets[t as usize].matcher, Some(g)) {
                        list.push(Self::filed(b as BundleId, r, t));
                    }
                }
            }
        }
        if self.anchors.group_lists.len() <= g as usize {
            self.anchors.group_lists.resize(g as usize + 1, Vec::new());
        }
        self.anchors.group_lists[g as usize] = list;
    }

    /// Adds or replaces a bundle. An invalid selector fails the bundle and leaves the engine
    /// unchanged (Fleet reports a targeting error and keeps the existing deployments).
    pub fn upsert_bundle(
        &mut self,
        b: &BundleInput,
    ) -> Result<(BundleId, BundleDelta), TargetingError> {
        let rec = self.compile_bundle(b)?;
        let key = (rec.ns, rec.name);
        let before = match self.bundle_ids.get(&key) {
            Some(&id) => self.targets(id),
            None => BundleTargets::default(),
        };
        let after = self.eval_rec(&rec, &rec.scope, None);
        let id = match self.bundle_ids.get(&key).copied() {
            Some(id) => {
                self.unregister_anchors(id);
                self.bundles[id as usize] = Some(rec);
                id
            }
            None => {
                let id = match self.free_bundles.pop() {
                    Some(id) => {
                        self.bundles[id as usize] = Some(rec);
                        id
                    }
                    None => {
                        self.bundles.push(Some(rec));
                        (self.bundles.len() - 1) as BundleId
                    }
                };
                self.bundle_ids.insert(key, id);
                id
            }
        };
        self.register_anchors(id);
        self.set_home(id);
        Ok((id, diff_targets(id, &before, &after)))
    }

    /// Removes a bundle; returns the clusters that lose it.
    pub fn remove_bundle(&mut self, namespace: &str, name: &str) -> Option<BundleDelta> {
        let id = self.bundle_id(namespace, name)?;
        let before = self.targets(id);
        self.unregister_anchors(id);
        let key = self.bundles[id as usize].as_ref().map(|r| (r.ns, r.name))?;
        self.bundles[id as usize] = None;
        self.set_home(id);
        self.bundle_ids.remove(&key);
        self.free_bundles.push(id);
        Some(diff_targets(id, &before, &BundleTargets::default()))
    }

    // ----- mappings and namespaces -----

    fn rescope(&mut self, apply: impl FnOnce(&mut Self)) -> Delta {
        let ids = self.bundle_ids();
        let old: Vec<Vec<Sym>> = ids
            .iter()
            .map(|&b| {
                self.bundles[b as usize]
                    .as_ref()
                    .map(|r| r.scope.clone())
                    .unwrap_or_default()
            })
            .collect();
        apply(self);
        let mut out = Delta::default();
        for (&b, old_scope) in ids.iter().zip(old) {
            let Some(r) = self.bundles[b as usize].as_ref() else {
                continue;
            };
            let new_scope = self.scope_for(r);
            if new_scope == old_scope {
                continue;
            }
            let before = self.eval_rec(r, &old_scope, None);
            let after = self.eval_rec(r, &new_scope, None);
            if let Some(r) = self.bundles[b as usize].as_mut() {
                r.scope = new_scope;
            }
            self.set_home(b);
            let d = diff_targets(b, &before, &after);
            if !d.is_empty() {
                out.bundles.push(d);
            }
        }
        out
    }

    /// Adds or replaces a BundleNamespaceMapping. A nil or invalid selector makes it inert
    /// (Fleet skips it).
    pub fn upsert_mapping(&mut self, m: &MappingInput) -> Delta {
        let ns = self.strings.intern(&m.namespace);
        let name = self.strings.intern(&m.name);
        let bundle_sel = m
            .bundle_selector
            .as_ref()
            .and_then(|s| self.compile_selector(s).ok());
        let ns_sel = m
            .namespace_selector
            .as_ref()
            .and_then(|s| self.compile_selector(s).ok());
        let rec = MappingRec {
            ns,
            bundle_sel,
            ns_sel,
        };
        self.rescope(move |e| {
            e.mappings.insert((ns, name), rec);
        })
    }

    /// Removes a BundleNamespaceMapping.
    pub fn remove_mapping(&mut self, namespace: &str, name: &str) -> Delta {
        let (Some(ns), Some(n)) = (self.strings.get(namespace), self.strings.get(name)) else {
            return Delta::default();
        };
        self.rescope(move |e| {
            e.mappings.remove(&(ns, n));
        })
    }

    /// Adds or replaces a Namespace with its labels (what mappings select).
    pub fn upsert_namespace<'a>(
        &mut self,
        name: &str,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Delta {
        let ns = self.strings.intern(name);
        let labels = self.intern_labels(labels);
        self.rescope(move |e| {
            e.namespaces.insert(ns, labels);
        })
    }

    /// Removes a Namespace object (its clusters stay; mappings no longer select it).
    pub fn remove_namespace(&mut self, name: &str) -> Delta {
        let Some(ns) = self.strings.get(name) else {
            return Delta::default();
        };
        self.rescope(move |e| {
            e.namespaces.remove(&ns);
        })
    }

    /// The namespaces a bundle sees (its own plus mapped ones), sorted.
    pub fn bundle_scope(&self, b: BundleId) -> Vec<String> {
        self.bundles
            .get(b as usize)
            .and_then(Option::as_ref)
            .map(|r| {
                r.scope
                    .iter()
                    .map(|s| self.strings.resolve(*s).to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn bundle_rec(&self, b: BundleId) -> Option<&BundleRec> {
        self.bundles.get(b as usize)?.as_ref()
    }

    pub(crate) fn display_key(&self) -> KeyId {
        self.display_key
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
