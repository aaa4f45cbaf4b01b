//! Cluster changes: group membership, the decisions a relabel changes (only targets that
//! read a changed key or a changed group are re-checked), inserts, removals and bulk loads.

use super::*;

impl Engine {
    pub(super) fn groups_for_labels(&self, ns: Sym, labels: &[(KeyId, Sym)]) -> Vec<GroupId> {
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

    pub(super) fn set_membership(&mut self, c: ClusterId, ns: Sym, groups: &[GroupId]) {
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
    pub(super) fn move_membership(&mut self, c: ClusterId, old: &[GroupId], new: &[GroupId]) {
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

    pub(super) fn diff_decisions(
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
    pub(super) fn relabel_changes(
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
    pub(super) fn plain_outcomes(
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
    pub(super) fn fire_relabel(
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
}
