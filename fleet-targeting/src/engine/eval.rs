//! Evaluation: compiling selectors and matchers, deciding one bundle for one cluster, and
//! whole-bundle evaluation as set algebra over the index; per-cluster decisions through the
//! anchor index.

use super::*;

impl Engine {
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

    pub(super) fn group_ctx(&self, g: GroupId) -> GroupCtx<'_> {
        match &self.groups[g as usize] {
            Some(r) => GroupCtx {
                name: Some(r.name),
                labels: &r.labels,
            },
            None => EMPTY_GROUP,
        }
    }

    /// Whether a matcher matches a cluster through some group (or the empty group).
    pub(super) fn matches_any_group<L: LabelLookup + ?Sized>(
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
    pub(super) fn target_allowed<L: LabelLookup + ?Sized>(
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

    pub(super) fn posting_estimate(&self, r: &selector::Req) -> u64 {
        let ki = &self.clusters.keys[r.key as usize];
        match &r.op {
            Op::In(vals) => vals.iter().map(|&v| ki.posting(v).len()).sum(),
            Op::Exists => ki.present.len(),
            _ => u64::MAX,
        }
    }

    pub(super) fn req_set(&self, r: &selector::Req) -> Cow<'_, RoaringBitmap> {
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

    pub(super) fn group_set(&self, m: &Matcher, scope: &[Sym]) -> GroupSet {
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

    pub(super) fn group_set_bitmap(&self, gs: &GroupSet) -> Option<Cow<'_, RoaringBitmap>> {
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
    pub(super) fn cluster_level(&self, m: &Matcher, base: &RoaringBitmap) -> Option<RoaringBitmap> {
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
    pub(super) fn combine(
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

    pub(super) fn scope_bitmap(&self, scope: &[Sym]) -> Cow<'_, RoaringBitmap> {
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
    pub(super) fn fire<L: LabelLookup + ?Sized>(
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
    pub(super) fn decisions_with<L: LabelLookup + ?Sized>(
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
}
