//! Why a cluster does or does not get a bundle.

use std::fmt;

use crate::engine::{BundleId, Engine, GroupCtx, Matcher};
use crate::index::ClusterId;
use crate::model::{CustomizationMode, Decision};
use crate::selector::{LabelLookup, Op, Selector};

/// Role of an entry of `spec.targets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryRole {
    /// A target customization (position `i < n − m`): decides options, never targeting.
    Customization,
    /// A deploy target (a GitRepo target, or any entry of a bundle without restrictions).
    Target,
}

/// One matcher tried with one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCheck {
    /// The group name, or `None` for the empty group of a cluster in no group.
    pub group: Option<String>,
    /// Whether the entry's criteria all held.
    pub matched: bool,
    /// The first criterion that failed, in words.
    pub failed: Option<String>,
    /// For deploy targets of a bundle with restrictions: each restriction checked with the
    /// same group, `(index, matched, failed criterion)`.
    pub restrictions: Vec<(usize, bool, Option<String>)>,
}

/// What happened to one entry of `spec.targets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryCheck {
    /// Index in `spec.targets`.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// Customization or deploy target.
    pub role: EntryRole,
    /// `doNotDeploy`.
    pub do_not_deploy: bool,
    /// Whether the entry has no criteria (and therefore matches nothing).
    pub no_criteria: bool,
    /// One check per group tried.
    pub groups: Vec<GroupCheck>,
    /// Whether it was evaluated at all (entries after the deploy target are not).
    pub evaluated: bool,
}

/// The outcome for the pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The cluster's namespace is not the bundle's and no mapping brings it in.
    OutOfScope,
    /// No deploy target matched (through an allowed restriction).
    NoTarget,
    /// The deploy target that matched has `doNotDeploy`.
    VetoedByTarget {
        /// Index of the target.
        target: usize,
    },
    /// A matching customization has `doNotDeploy`.
    VetoedByCustomization {
        /// Index of the deploy target.
        target: usize,
        /// Index of the vetoing customization.
        customization: usize,
    },
    /// Deployed.
    Deployed(Decision),
}

/// The explanation of one (bundle, cluster) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// `namespace/name` of the bundle.
    pub bundle: String,
    /// `namespace/name` of the cluster.
    pub cluster: String,
    /// Namespaces the bundle sees.
    pub scope: Vec<String>,
    /// Groups of the cluster (empty: it is evaluated with the empty group).
    pub groups: Vec<String>,
    /// `FirstMatch` or `AllMatches`.
    pub mode: CustomizationMode,
    /// Per entry of `spec.targets`.
    pub entries: Vec<EntryCheck>,
    /// The result.
    pub outcome: Outcome,
}

fn describe_selector<L: LabelLookup + ?Sized>(
    e: &Engine,
    what: &str,
    s: &Selector,
    labels: &L,
) -> Option<String> {
    for r in s.reqs.iter() {
        let v = labels.get(r.key);
        let key = e.resolve(e.clusters_key_sym(r.key));
        let vals = |vs: &[u32]| {
            vs.iter()
                .map(|&x| e.resolve(x).to_owned())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let have = match v {
            Some(v) => format!("{key}={}", e.resolve(v)),
            None => format!("no label {key}"),
        };
        let fail = match &r.op {
            Op::In(vs) if !v.is_some_and(|v| vs.contains(&v)) => {
                Some(format!("{what}: {key} in ({}) but {have}", vals(vs)))
            }
            Op::NotIn(vs) if v.is_some_and(|v| vs.contains(&v)) => {
                Some(format!("{what}: {key} notin ({}) but {have}", vals(vs)))
            }
            Op::Exists if v.is_none() => Some(format!("{what}: {key} must exist")),
            Op::DoesNotExist if v.is_some() => {
                Some(format!("{what}: {key} must not exist but {have}"))
            }
            _ => None,
        };
        if fail.is_some() {
            return fail;
        }
    }
    None
}

impl Engine {
    fn clusters_key_sym(&self, k: u32) -> u32 {
        self.clusters.key_sym(k)
    }

    fn first_failure<L: LabelLookup + ?Sized>(
        &self,
        m: &Matcher,
        cname: u32,
        labels: &L,
        g: GroupCtx<'_>,
    ) -> Option<String> {
        if m.name.is_none()
            && m.group_name.is_none()
            && m.group_sel.is_none()
            && m.cluster_sel.is_none()
        {
            return Some("no criteria: matches nothing".into());
        }
        if let Some(n) = m.name
            && cname != n
            && labels.get(self.display_key()) != Some(n)
        {
            return Some(format!(
                "clusterName {:?} is neither the cluster's name nor its display name",
                self.resolve(n)
            ));
        }
        if let Some(gn) = m.group_name
            && g.name != Some(gn)
        {
            return Some(format!(
                "clusterGroup {:?} but the group is {}",
                self.resolve(gn),
                g.name
                    .map(|x| format!("{:?}", self.resolve(x)))
                    .unwrap_or_else(|| "none".into())
            ));
        }
        if let Some(s) = &m.group_sel
            && !s.matches(g.labels)
        {
            return describe_selector(self, "clusterGroupSelector", s, g.labels)
                .or_else(|| Some("clusterGroupSelector does not match".into()));
        }
        if let Some(s) = &m.cluster_sel
            && !s.matches(labels)
        {
            return describe_selector(self, "clusterSelector", s, labels)
                .or_else(|| Some("clusterSelector does not match".into()));
        }
        None
    }

    /// Explains why a cluster does or does not get a bundle: which entry matched, through
    /// which group, which restriction allowed or blocked it, which customizations applied or
    /// vetoed. `None` when the bundle or the cluster does not exist.
    pub fn explain(&self, b: BundleId, c: ClusterId) -> Option<Explanation> {
        let rec = self.bundle_rec(b)?;
        if !self.clusters.alive.contains(c) {
            return None;
        }
        let (cns, cn) = self.cluster_name(c);
        let cname = self.clusters.name(c);
        let labels = self.clusters.labels(c);
        let gids = self.groups_of(c);
        let ctxs: Vec<(Option<String>, GroupCtx<'_>)> = if gids.is_empty() {
            vec![(
                None,
                GroupCtx {
                    name: None,
                    labels: &[],
                },
            )]
        } else {
            gids.iter()
                .filter_map(|&g| self.groups[g as usize].as_ref())
                .map(|r| {
                    (
                        Some(self.resolve(r.name).to_owned()),
                        GroupCtx {
                            name: Some(r.name),
                            labels: &r.labels,
                        },
                    )
                })
                .collect()
        };
        let mut entries = Vec::new();
        let in_scope = rec.scope.contains(&self.clusters.namespace(c));
        let decision = self.decision(b, c);
        let mut deploy: Option<usize> = None;
        for (i, t) in rec.targets.iter().enumerate().skip(rec.n_custom) {
            let evaluated = in_scope && deploy.is_none();
            let mut groups = Vec::new();
            if evaluated {
                for (gname, ctx) in &ctxs {
                    let failed = self.first_failure(&t.matcher, cname, &labels, *ctx);
                    let restrictions: Vec<(usize, bool, Option<String>)> = rec
                        .restrictions
                        .iter()
                        .enumerate()
                        .map(|(ri, r)| {
                            let f = self.first_failure(r, cname, &labels, *ctx);
                            (ri, f.is_none(), f)
                        })
                        .collect();
                    let allowed = rec.restrictions.is_empty() || restrictions.iter().any(|x| x.1);
                    let matched = failed.is_none();
                    if matched && allowed && deploy.is_none() {
                        deploy = Some(i);
                    }
                    groups.push(GroupCheck {
                        group: gname.clone(),
                        matched,
                        failed,
                        restrictions,
                    });
                }
            }
            entries.push(EntryCheck {
                index: i,
                name: t.name.clone(),
                role: EntryRole::Target,
                do_not_deploy: t.do_not_deploy,
                no_criteria: t.matcher.name.is_none()
                    && t.matcher.group_name.is_none()
                    && t.matcher.group_sel.is_none()
                    && t.matcher.cluster_sel.is_none(),
                groups,
                evaluated,
            });
        }
        let mut veto = None;
        let mut custom_entries = Vec::new();
        let mut done = false;
        for (i, t) in rec.targets[..rec.n_custom].iter().enumerate() {
            let evaluated = deploy.is_some_and(|d| !rec.targets[d].do_not_deploy) && !done;
            let mut groups = Vec::new();
            if evaluated {
                let mut any = false;
                for (gname, ctx) in &ctxs {
                    let failed = self.first_failure(&t.matcher, cname, &labels, *ctx);
                    any |= failed.is_none();
                    groups.push(GroupCheck {
                        group: gname.clone(),
                        matched: failed.is_none(),
                        failed,
                        restrictions: Vec::new(),
                    });
                }
                if any {
                    if t.do_not_deploy && veto.is_none() {
                        veto = Some(i);
                    }
                    if rec.mode == CustomizationMode::FirstMatch {
                        done = true;
                    }
                }
            }
            custom_entries.push(EntryCheck {
                index: i,
                name: t.name.clone(),
                role: EntryRole::Customization,
                do_not_deploy: t.do_not_deploy,
                no_criteria: t.matcher.name.is_none()
                    && t.matcher.group_name.is_none()
                    && t.matcher.group_sel.is_none()
                    && t.matcher.cluster_sel.is_none(),
                groups,
                evaluated,
            });
        }
        custom_entries.extend(entries);
        let outcome = if !in_scope {
            Outcome::OutOfScope
        } else {
            match (deploy, veto, decision) {
                (None, _, _) => Outcome::NoTarget,
                (Some(t), _, _) if rec.targets[t].do_not_deploy => {
                    Outcome::VetoedByTarget { target: t }
                }
                (Some(t), Some(c), _) => Outcome::VetoedByCustomization {
                    target: t,
                    customization: c,
                },
                (Some(_), None, Some(d)) => Outcome::Deployed(d),
                (Some(t), None, None) => Outcome::VetoedByTarget { target: t },
            }
        };
        Some(Explanation {
            bundle: format!("{}/{}", self.resolve(rec.ns), self.resolve(rec.name)),
            cluster: format!("{cns}/{cn}"),
            scope: self.bundle_scope(b),
            groups: ctxs.iter().filter_map(|(g, _)| g.clone()).collect(),
            mode: rec.mode,
            entries: custom_entries,
            outcome,
        })
    }
}

fn entry_label(e: &EntryCheck) -> String {
    if e.name.is_empty() {
        format!("targets[{}]", e.index)
    } else {
        format!("targets[{}] {:?}", e.index, e.name)
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "bundle {} / cluster {}", self.bundle, self.cluster)?;
        writeln!(f, "namespaces in scope: {}", self.scope.join(", "))?;
        if self.groups.is_empty() {
            writeln!(f, "cluster groups: none (evaluated with the empty group)")?;
        } else {
            writeln!(f, "cluster groups: {}", self.groups.join(", "))?;
        }
        writeln!(f, "customization mode: {:?}", self.mode)?;
        for e in &self.entries {
            let role = match e.role {
                EntryRole::Customization => "customization",
                EntryRole::Target => "target",
            };
            let dnd = if e.do_not_deploy { ", doNotDeploy" } else { "" };
            if !e.evaluated {
                writeln!(f, "- {} ({role}{dnd}): not evaluated", entry_label(e))?;
                continue;
            }
            writeln!(f, "- {} ({role}{dnd}):", entry_label(e))?;
            for g in &e.groups {
                let gname = g.group.as_deref().unwrap_or("<no group>");
                match &g.failed {
                    None => writeln!(f, "    group {gname}: matches")?,
                    Some(why) => writeln!(f, "    group {gname}: no match ({why})")?,
                }
                for (ri, ok, why) in &g.restrictions {
                    match why {
                        None if *ok => writeln!(f, "      restriction[{ri}]: allows")?,
                        _ => writeln!(
                            f,
                            "      restriction[{ri}]: blocks ({})",
                            why.as_deref().unwrap_or("no match")
                        )?,
                    }
                }
            }
        }
        match &self.outcome {
            Outcome::OutOfScope => writeln!(
                f,
                "result: not deployed: the cluster's namespace is not in the bundle's scope"
            ),
            Outcome::NoTarget => writeln!(f, "result: not deployed: no target matches"),
            Outcome::VetoedByTarget { target } => writeln!(
                f,
                "result: not deployed: target targets[{target}] has doNotDeploy"
            ),
            Outcome::VetoedByCustomization {
                target,
                customization,
            } => writeln!(
                f,
                "result: not deployed: deploy target targets[{target}], vetoed by customization targets[{customization}] (doNotDeploy)"
            ),
            Outcome::Deployed(d) => {
                let cs = if d.customizations.is_empty() {
                    "none".to_owned()
                } else {
                    d.customizations
                        .iter()
                        .map(|c| format!("targets[{c}]"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                writeln!(
                    f,
                    "result: deployed through targets[{}]; customizations: {cs}",
                    d.target
                )
            }
        }
    }
}
