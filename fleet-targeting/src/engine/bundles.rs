//! Bundles, mappings and namespaces: compiling targets, filing them under anchors for
//! per-cluster lookups, scopes, and the deltas their changes give.

use super::*;

impl Engine {
    /// The anchors a matcher is filed under, and the selector requirement they stand for.
    pub(super) fn choose_anchor(&self, m: &Matcher) -> (Vec<Anchor>, Option<usize>) {
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
    pub(super) fn residual(m: &Matcher, anchored: Option<usize>) -> Residual {
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

    pub(super) fn compile_bundle(&mut self, b: &BundleInput) -> Result<BundleRec, TargetingError> {
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

    pub(super) fn scope_for(&self, b: &BundleRec) -> Vec<Sym> {
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
    pub(super) fn matcher_reads(&self, m: &Matcher) -> Vec<KeyId> {
        let mut keys: Vec<KeyId> = m.cluster_sel.iter().flat_map(|s| s.keys()).collect();
        if m.name.is_some() {
            keys.push(self.display_key);
        }
        keys
    }

    /// How target `t` of bundle `b` is filed.
    pub(super) fn filed(b: BundleId, r: &BundleRec, t: u32) -> Filed {
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
    pub(super) fn in_scope(&self, f: &Filed, ns: Sym) -> bool {
        let home = self.briefs[f.bundle as usize].home;
        home == ns
            || (home == MANY_NAMESPACES
                && self.bundles[f.bundle as usize]
                    .as_ref()
                    .is_some_and(|r| r.scope.contains(&ns)))
    }

    /// Whether a fired entry of a plain bundle matches (its list's anchor holds).
    pub(super) fn fired_matches<L: LabelLookup + ?Sized>(
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
    pub(super) fn fired_matches_dense(
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

    pub(super) fn set_home(&mut self, b: BundleId) {
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
    pub(super) fn group_only_matches(&self, m: &Matcher, g: Option<GroupId>) -> bool {
        let ctx = match g {
            Some(g) => self.group_ctx(g),
            None => EMPTY_GROUP,
        };
        let no_labels: &[(KeyId, Sym)] = &[];
        self.matcher_matches(m, NONE, no_labels, ctx)
    }

    pub(super) fn register_anchors(&mut self, b: BundleId) {
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

    pub(super) fn unregister_anchors(&mut self, b: BundleId) {
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
    pub(super) fn refile_group(&mut self, g: GroupId) {
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

    pub(super) fn rescope(&mut self, apply: impl FnOnce(&mut Self)) -> Delta {
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
