//! Plain inputs and outputs of the engine (owned strings; no Kubernetes object types).

use std::collections::BTreeMap;

use fleet_core::selector::LabelSelector;
use roaring::RoaringBitmap;

use crate::index::ClusterId;

/// The four optional criteria of a Fleet cluster matcher (target, restriction or partition).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatcherInput {
    /// `clusterName` (empty = absent): the Cluster's name or its display-name label.
    pub cluster_name: String,
    /// `clusterGroup` (empty = absent).
    pub cluster_group: String,
    /// `clusterGroupSelector` (None = absent).
    pub cluster_group_selector: Option<LabelSelector>,
    /// `clusterSelector` (None = absent).
    pub cluster_selector: Option<LabelSelector>,
}

/// One `spec.targets` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetInput {
    /// The entry's name (may be empty).
    pub name: String,
    /// Its criteria.
    pub matcher: MatcherInput,
    /// `doNotDeploy`.
    pub do_not_deploy: bool,
}

/// `spec.targetCustomizationMode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CustomizationMode {
    /// The first matching customization replaces the target's options (default).
    #[default]
    FirstMatch,
    /// Every matching customization is folded in list order.
    AllMatches,
}

/// What the engine needs of a Bundle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleInput {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Labels (BundleNamespaceMappings select bundles by them).
    pub labels: BTreeMap<String, String>,
    /// `spec.targets`.
    pub targets: Vec<TargetInput>,
    /// `spec.targetRestrictions`.
    pub restrictions: Vec<MatcherInput>,
    /// `spec.targetCustomizationMode`.
    pub mode: CustomizationMode,
}

/// A ClusterGroup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupInput {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The group's own labels (what `clusterGroupSelector` sees).
    pub labels: BTreeMap<String, String>,
    /// `spec.selector` (None: the group contains no cluster; `{}`: all clusters).
    pub selector: Option<LabelSelector>,
}

/// A BundleNamespaceMapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingInput {
    /// Namespace (bundles of this namespace are mapped).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `bundleSelector` (None: the mapping is inert).
    pub bundle_selector: Option<LabelSelector>,
    /// `namespaceSelector` (None: the mapping is inert).
    pub namespace_selector: Option<LabelSelector>,
}

/// Which entry deploys a bundle to a cluster, and which customizations apply.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Decision {
    /// Index into `spec.targets` of the deploy target.
    pub target: u32,
    /// Indices into `spec.targets` of the customizations applied, in list order
    /// (at most one in `FirstMatch` mode).
    pub customizations: Vec<u32>,
}

/// The clusters a bundle is deployed to, grouped by decision (the groups are disjoint).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BundleTargets {
    /// Decision and the clusters it applies to.
    pub variants: Vec<(Decision, RoaringBitmap)>,
}

impl BundleTargets {
    /// All targeted clusters.
    pub fn clusters(&self) -> RoaringBitmap {
        let mut all = RoaringBitmap::new();
        for (_, b) in &self.variants {
            all |= b;
        }
        all
    }

    /// All targeted clusters as a materialised list of ids, ascending (the same set as
    /// [`BundleTargets::clusters`]).
    pub fn cluster_list(&self) -> Vec<ClusterId> {
        match self.variants.as_slice() {
            [] => Vec::new(),
            [(_, only)] => bitmap_to_vec(only),
            _ => bitmap_to_vec(&self.clusters()),
        }
    }

    /// Number of targeted clusters.
    pub fn len(&self) -> u64 {
        self.variants.iter().map(|(_, b)| b.len()).sum()
    }

    /// Whether no cluster is targeted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The decision for one cluster.
    pub fn decision(&self, c: ClusterId) -> Option<&Decision> {
        self.variants
            .iter()
            .find(|(_, b)| b.contains(c))
            .map(|(d, _)| d)
    }
}

/// The ids of a bitmap in ascending order. Filled a block at a time into a vector sized up
/// front: iterating the bitmap one id at a time costs several times more per id, and at a
/// million clusters a bundle's list has about 160,000 of them.
pub(crate) fn bitmap_to_vec(bitmap: &RoaringBitmap) -> Vec<ClusterId> {
    let mut out = vec![0; bitmap.len() as usize];
    let mut iter = bitmap.iter();
    let mut filled = 0;
    while filled < out.len() {
        let got = iter.next_many(&mut out[filled..]).len();
        if got == 0 {
            break;
        }
        filled += got;
    }
    out.truncate(filled);
    out
}

/// How a (bundle, cluster) pair changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The cluster now gets the bundle.
    Appeared(Decision),
    /// The cluster no longer gets the bundle.
    Disappeared,
    /// Still targeted, with a different target or customizations.
    Changed(Decision),
}

/// What a cluster add, update or remove changed: one entry per affected bundle, by bundle id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterDelta {
    /// The cluster's id (kept for removals; the id may be reused later).
    pub cluster: Option<ClusterId>,
    /// `(bundle id, change)`, sorted by bundle id.
    pub changes: Vec<(u32, Change)>,
}

/// What a bulk change did to one bundle's targets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BundleDelta {
    /// The bundle id.
    pub bundle: u32,
    /// Clusters that now get the bundle.
    pub appeared: RoaringBitmap,
    /// Clusters that no longer get it.
    pub disappeared: RoaringBitmap,
    /// Clusters that still get it with another target or customizations.
    pub changed: RoaringBitmap,
}

impl BundleDelta {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.appeared.is_empty() && self.disappeared.is_empty() && self.changed.is_empty()
    }
}

/// What a group, bundle, mapping or namespace change did: one entry per bundle that changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    /// Per-bundle changes, sorted by bundle id; bundles without change are left out.
    pub bundles: Vec<BundleDelta>,
}

/// Compares two evaluations of one bundle.
pub fn diff_targets(bundle: u32, before: &BundleTargets, after: &BundleTargets) -> BundleDelta {
    let b_all = before.clusters();
    let a_all = after.clusters();
    let mut same = RoaringBitmap::new();
    for (db, bb) in &before.variants {
        for (da, ba) in &after.variants {
            if db == da {
                same |= bb & ba;
            }
        }
    }
    let both = &a_all & &b_all;
    BundleDelta {
        bundle,
        appeared: &a_all - &b_all,
        disappeared: &b_all - &a_all,
        changed: both - same,
    }
}
