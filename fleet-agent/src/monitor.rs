//! Sans-I/O monitoring: watch events are aggregated per BundleDeployment for
//! [`AGGREGATION_DELAY`] (Fleet's drift controller delay) so that a burst of changes costs one
//! status recompute, [`drift_action`] decides whether drifted objects are re-applied, and
//! [`watch_changes`] which per-kind watches to open and close as deployments come and go.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;

use fleet_core::crd::BundleDeploymentSpec;
use fleet_render::diff::Report;

/// How long events are collected before one recompute.
pub const AGGREGATION_DELAY: Duration = Duration::from_secs(5);

/// Pending recomputes keyed by BundleDeployment name; the clock is passed in.
#[derive(Debug, Default)]
pub struct Aggregator {
    due: BTreeMap<String, Instant>,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new() -> Self {
        Aggregator::default()
    }

    /// Records a watch event; the first event of a burst fixes the due time.
    pub fn event(&mut self, bd: &str, now: Instant) {
        self.due
            .entry(bd.to_string())
            .or_insert(now + AGGREGATION_DELAY);
    }

    /// Removes and returns the BundleDeployments due at `now`, in name order.
    pub fn take_due(&mut self, now: Instant) -> Vec<String> {
        let due: Vec<String> = self
            .due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(bd, _)| bd.clone())
            .collect();
        for bd in &due {
            self.due.remove(bd);
        }
        due
    }

    /// When the next recompute is due, if any: the shell sleeps until then, never polls.
    pub fn next_due(&self) -> Option<Instant> {
        self.due.values().min().copied()
    }

    /// Drops a BundleDeployment (paused or deleted).
    pub fn clear(&mut self, bd: &str) {
        self.due.remove(bd);
    }
}

/// A watched kind: `(apiVersion, kind)`.
pub type WatchedKind = (String, String);

/// The kinds of the objects of every deployment monitored.
pub fn kinds_of<'a>(desired: impl IntoIterator<Item = &'a [Value]>) -> BTreeSet<WatchedKind> {
    desired
        .into_iter()
        .flatten()
        .filter_map(|o| {
            Some((
                o.get("apiVersion")?.as_str()?.to_string(),
                o.get("kind")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

/// The watches to open (needed, not watched) and to close (watched, no longer needed): a
/// kind no deployment has any more costs no open watch.
pub fn watch_changes(
    watched: &BTreeSet<WatchedKind>,
    needed: &BTreeSet<WatchedKind>,
) -> (Vec<WatchedKind>, Vec<WatchedKind>) {
    (
        needed.difference(watched).cloned().collect(),
        watched.difference(needed).cloned().collect(),
    )
}

/// What to do after a recompute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriftAction {
    /// Report only.
    None,
    /// Re-apply the desired objects; `force` takes over fields from other managers.
    Reapply {
        /// `correctDrift.force`.
        force: bool,
    },
}

/// Fleet's drift controller rule: paused deployments and deployments not yet applied are
/// skipped; drift is corrected only when `correctDrift.enabled`.
pub fn drift_action(
    spec: &BundleDeploymentSpec,
    applied_deployment_id: &str,
    report: &Report,
) -> DriftAction {
    let correct = spec.correct_drift.as_ref().filter(|c| c.enabled);
    match correct {
        Some(c)
            if !spec.paused
                && !report.entries.is_empty()
                && applied_deployment_id == spec.deployment_id =>
        {
            DriftAction::Reapply { force: c.force }
        }
        _ => DriftAction::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_render::diff::{Entry, State};

    #[test]
    fn a_burst_of_events_yields_one_recompute_after_the_delay() {
        let start = Instant::now();
        let mut agg = Aggregator::new();
        agg.event("bd", start);
        agg.event("bd", start + Duration::from_secs(3));
        assert!(agg.take_due(start + Duration::from_secs(4)).is_empty());
        assert_eq!(agg.next_due(), Some(start + AGGREGATION_DELAY));
        assert_eq!(agg.take_due(start + AGGREGATION_DELAY), ["bd"]);
        assert_eq!(agg.next_due(), None);
    }

    #[test]
    fn drift_is_corrected_only_when_enabled_and_applied() {
        let report = Report {
            entries: vec![Entry {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: "default".into(),
                name: "c".into(),
                state: State::Modified,
                patch: Some("{}".into()),
                exist: false,
            }],
            ..Report::default()
        };
        let spec = |v| serde_json::from_value::<BundleDeploymentSpec>(v).unwrap();
        let on = spec(
            serde_json::json!({"deploymentID": "a", "correctDrift": {"enabled": true, "force": true}}),
        );
        assert_eq!(
            drift_action(&on, "a", &report),
            DriftAction::Reapply { force: true }
        );
        assert_eq!(drift_action(&on, "old", &report), DriftAction::None);
        assert_eq!(
            drift_action(&on, "a", &Report::default()),
            DriftAction::None
        );
        let off = spec(serde_json::json!({"deploymentID": "a"}));
        assert_eq!(drift_action(&off, "a", &report), DriftAction::None);
    }

    #[test]
    fn watches_follow_the_kinds_deployments_have() {
        use serde_json::json;
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap"});
        let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment"});
        let a = vec![cm.clone(), deploy.clone()];
        let b = vec![cm.clone()];
        let kind = |v: &str, k: &str| (v.to_string(), k.to_string());
        let needed = kinds_of([a.as_slice(), b.as_slice()]);
        let (open, close) = watch_changes(&BTreeSet::new(), &needed);
        assert_eq!(
            open,
            [kind("apps/v1", "Deployment"), kind("v1", "ConfigMap")]
        );
        assert!(close.is_empty());
        // `a` is uninstalled: only `b`'s ConfigMaps are left to watch.
        let (open, close) = watch_changes(&needed, &kinds_of([b.as_slice()]));
        assert!(open.is_empty());
        assert_eq!(close, [kind("apps/v1", "Deployment")]);
    }
}
