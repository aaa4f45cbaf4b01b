//! ClusterGroup changes: membership recomputed as set algebra, the bundles that read a group.

use super::*;

impl Engine {
    pub(super) fn recompute_groups_of_namespace(&mut self, ns: Sym) {
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

    pub(super) fn bundles_using_groups_in(&self, ns: Sym) -> Vec<BundleId> {
        (0..self.bundles.len() as u32)
            .filter(|&b| {
                self.bundles[b as usize]
                    .as_ref()
                    .is_some_and(|r| r.uses_groups && r.scope.contains(&ns))
            })
            .collect()
    }

    pub(super) fn bulk_change(
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

    pub(super) fn refresh_no_group(&mut self, ns: Sym, clusters: &RoaringBitmap) {
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
}
