//! BundleDeployment status in Fleet's shape, computed from a deploy outcome and a monitoring
//! pass (drift report plus readiness summary).

use serde_json::Value;

use fleet_core::crd::{
    BundleDeployment, BundleDeploymentDisplay, BundleDeploymentResource, BundleDeploymentStatus,
    Condition, ModifiedStatus, NonReadyStatus, ResourceCounts,
};
use fleet_core::state::deployment_state;
use fleet_render::diff::Report;
use fleet_render::readiness::{MAX_NON_READY, Summary};

use crate::deploy::is_recorded_error;

/// Sets condition `type_` as wrangler's condition setter does: the transition time moves only
/// when the status changes; a False condition with a message carries reason `Error`.
pub fn set_condition(
    status: &mut BundleDeploymentStatus,
    type_: &str,
    value: bool,
    message: &str,
    now: &str,
) {
    let text = if value { "True" } else { "False" };
    let reason = if !value && !message.is_empty() {
        "Error"
    } else {
        ""
    };
    match status.conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => {
            if c.status != text {
                c.last_transition_time = now.to_string();
            }
            if c.status != text || c.message != message || c.reason != reason {
                c.last_update_time = now.to_string();
            }
            c.status = text.to_string();
            c.message = message.to_string();
            c.reason = reason.to_string();
        }
        None => status.conditions.push(Condition {
            type_: type_.to_string(),
            status: text.to_string(),
            last_update_time: now.to_string(),
            last_transition_time: now.to_string(),
            reason: reason.to_string(),
            message: message.to_string(),
            ..Condition::default()
        }),
    }
}

/// A successful apply of `deployment_id`: `Installed` and `Deployed` True, the ID recorded.
pub fn applied(status: &mut BundleDeploymentStatus, deployment_id: &str, release: &str, now: &str) {
    status.applied_deployment_id = deployment_id.to_string();
    status.release = release.to_string();
    set_condition(status, "Installed", true, "", now);
    set_condition(status, "Deployed", true, "", now);
}

/// A failed deploy. Errors of Fleet's fixed list are recorded (NotReady: `ready=false`,
/// `nonModified=true`, `Ready`/`Installed` False, the ID recorded, `release` cleared) and
/// `false` is returned; other errors set `Deployed=False` and return `true` (retry with
/// backoff).
pub fn deploy_failed(
    status: &mut BundleDeploymentStatus,
    deployment_id: &str,
    message: &str,
    now: &str,
) -> bool {
    if is_recorded_error(message) {
        status.ready = false;
        status.non_modified = true;
        status.applied_deployment_id = deployment_id.to_string();
        status.release.clear();
        set_condition(status, "Ready", false, message, now);
        set_condition(status, "Installed", false, message, now);
        false
    } else {
        set_condition(status, "Deployed", false, message, now);
        true
    }
}

/// Folds a monitoring pass into the status: modified and non-ready lists (at most
/// [`MAX_NON_READY`] each, `incompleteState` when cut), `ready`, `nonModified`,
/// `resourceCounts`, `resources`, and the `Ready` and `Monitored` conditions.
///
/// `desired` and `live` are the lists `report` and `summary` were computed from.
pub fn monitored(
    status: &mut BundleDeploymentStatus,
    report: &Report,
    summary: &Summary,
    live: &[Value],
    now: &str,
) {
    let modified: Vec<ModifiedStatus> = report.entries.iter().map(ModifiedStatus::from).collect();
    let non_ready: Vec<NonReadyStatus> = summary
        .non_ready_resources
        .iter()
        .map(NonReadyStatus::from)
        .collect();

    status.ready = non_ready.is_empty();
    status.non_modified = modified.is_empty();
    status.incomplete_state = summary.incomplete || modified.len() > MAX_NON_READY;
    status.modified_status = modified.into_iter().take(MAX_NON_READY).collect();
    status.non_ready_status = non_ready.into_iter().take(MAX_NON_READY).collect();
    status.resource_counts = Some(ResourceCounts::from(summary));
    status.resources = report
        .compared
        .iter()
        .filter_map(|c| live.get(c.live))
        .map(|o| {
            let s = |p: &str| {
                o.pointer(p)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            BundleDeploymentResource {
                kind: s("/kind"),
                api_version: s("/apiVersion"),
                namespace: s("/metadata/namespace"),
                name: s("/metadata/name"),
                created_at: o
                    .pointer("/metadata/creationTimestamp")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                ..BundleDeploymentResource::default()
            }
        })
        .collect();

    // Fleet's Ready message: the first non-ready object, else the first modified one.
    let message = summary
        .non_ready_resources
        .first()
        .map(ToString::to_string)
        .or_else(|| report.entries.first().map(ToString::to_string))
        .unwrap_or_default();
    let ready = status.ready && status.non_modified;
    set_condition(status, "Ready", ready, &message, now);
    set_condition(status, "Monitored", true, "", now);
}

/// Why a monitoring pass could not compare desired with live objects.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// `options.diff.comparePatches` is invalid.
    #[error("bundledeployment {bd}: comparePatches: {reason}")]
    Rules {
        /// BundleDeployment name.
        bd: String,
        /// Why.
        reason: String,
    },
    /// The diff failed on an object.
    #[error("bundledeployment {bd}: {source}")]
    Diff {
        /// BundleDeployment name.
        bd: String,
        /// The diff error.
        #[source]
        source: Box<fleet_render::diff::DiffError>,
    },
}

/// One monitoring comparison of a BundleDeployment: the drift report (with its
/// `comparePatches`) and the readiness summary (with its `ignore.conditions`) of the live
/// objects carrying the deployment's objectset hash.
pub fn observe(
    bd_name: &str,
    spec: &fleet_core::crd::BundleDeploymentSpec,
    desired: &[Value],
    live: &[Value],
) -> Result<(Report, Summary), ObserveError> {
    use fleet_render::diff::{self, DiffOptions, rules::Rules};
    let rules_err = |reason: String| ObserveError::Rules {
        bd: bd_name.to_string(),
        reason,
    };
    let patches = match &spec.options.diff {
        Some(d) => serde_json::to_value(&d.compare_patches)
            .and_then(serde_json::from_value)
            .map_err(|e| rules_err(e.to_string()))?,
        None => Vec::new(),
    };
    let rules = Rules::new(patches, Vec::new()).map_err(|e| rules_err(e.to_string()))?;
    let hash = diff::set_hash(&diff::set_id(
        bd_name,
        fleet_render::postrender::AGENT_LABEL_PREFIX,
        "",
    ));
    let schema = diff::schema::BuiltinSchema;
    let mut options = DiffOptions::new(&schema, &hash, &rules);
    options.default_namespace = crate::deploy::release_namespace(spec).to_string();
    let report = diff::diff(desired, live, &options).map_err(|source| ObserveError::Diff {
        bd: bd_name.to_string(),
        source: Box::new(source),
    })?;
    let summary =
        fleet_render::readiness::summarize(&report, desired, live, &spec.options.ignore.conditions);
    Ok((report, summary))
}

/// `display`, as Fleet's controller fills it: the state name and the `Deployed`/`Monitored`
/// conditions (`Error: <message>` for errors, else the status).
pub fn display(bd: &BundleDeployment) -> BundleDeploymentDisplay {
    let state = deployment_state(bd);
    let text = |type_: &str| {
        bd.status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
            .map(|c| {
                if c.reason == "Error" {
                    format!("Error: {}", c.message)
                } else {
                    c.status.clone()
                }
            })
            .unwrap_or_default()
    };
    BundleDeploymentDisplay {
        deployed: text("Deployed"),
        monitored: text("Monitored"),
        state: state.as_str().to_string(),
        ..BundleDeploymentDisplay::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_core::state::BundleState;
    use fleet_render::diff::{Compared, Entry, State};
    use fleet_render::readiness::{NonReady, Readiness};

    fn bd_with(status: BundleDeploymentStatus) -> BundleDeployment {
        let mut bd: BundleDeployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "bd"},
            "spec": {"deploymentID": "a", "stagedDeploymentID": "a"},
        }))
        .unwrap();
        bd.status = Some(status);
        bd
    }

    #[test]
    fn a_patched_object_is_reported_modified_and_the_state_agrees() {
        let mut status = BundleDeploymentStatus::default();
        applied(&mut status, "a", "default/bd", "t0");
        let report = Report {
            entries: vec![Entry {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: "default".into(),
                name: "c".into(),
                state: State::Modified,
                patch: Some(r#"{"data":{"k":"v"}}"#.into()),
                exist: false,
            }],
            compared: vec![Compared {
                desired: 0,
                live: 0,
                modified: true,
            }],
        };
        let summary = Summary {
            desired_ready: 1,
            modified: 1,
            ..Summary::default()
        };
        let live = vec![serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "default"}})];
        monitored(&mut status, &report, &summary, &live, "t1");
        assert!(status.ready);
        assert!(!status.non_modified);
        assert_eq!(status.modified_status[0].patch, r#"{"data":{"k":"v"}}"#);
        assert_eq!(status.resources.len(), 1);
        let ready = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(ready.status, "False");
        assert_eq!(
            ready.message,
            r#"configmap.v1 default/c modified {"data":{"k":"v"}}"#
        );
        let bd = bd_with(status);
        assert_eq!(deployment_state(&bd), BundleState::Modified);
        assert_eq!(display(&bd).state, "Modified");
    }

    #[test]
    fn observe_reports_a_live_patch_and_honours_compare_patches() {
        let hash = fleet_render::diff::set_hash(&fleet_render::diff::set_id(
            "bd",
            fleet_render::postrender::AGENT_LABEL_PREFIX,
            "",
        ));
        let desired = vec![serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "default",
                         "labels": {"objectset.rio.cattle.io/hash": hash}},
            "data": {"k": "v"}})];
        let mut live = desired.clone();
        live[0]["metadata"]["uid"] = "u1".into();
        live[0]["data"]["k"] = "changed".into();
        let spec: fleet_core::crd::BundleDeploymentSpec =
            serde_json::from_value(serde_json::json!({"deploymentID": "a"})).unwrap();
        let (report, summary) = observe("bd", &spec, &desired, &live).unwrap();
        assert_eq!(report.entries.len(), 1);
        assert_eq!(report.entries[0].state, State::Modified);
        assert_eq!(summary.modified, 1);

        let ignoring: fleet_core::crd::BundleDeploymentSpec = serde_json::from_value(
            serde_json::json!({"deploymentID": "a", "options": {"diff": {
                "comparePatches": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "c",
                    "namespace": "default", "jsonPointers": ["/data"]}]}}}),
        )
        .unwrap();
        let (report, _) = observe("bd", &ignoring, &desired, &live).unwrap();
        assert!(report.entries.is_empty(), "{:?}", report.entries);
    }

    #[test]
    fn non_ready_objects_and_deploy_errors() {
        let mut status = BundleDeploymentStatus::default();
        applied(&mut status, "a", "default/bd", "t0");
        let summary = Summary {
            desired_ready: 1,
            not_ready: 1,
            non_ready_resources: vec![NonReady {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: "default".into(),
                name: "web".into(),
                uid: "u1".into(),
                state: Readiness::Transitioning,
                message: "Available: 0/1".into(),
            }],
            ..Summary::default()
        };
        monitored(&mut status, &Report::default(), &summary, &[], "t1");
        assert!(!status.ready);
        assert_eq!(
            deployment_state(&bd_with(status.clone())),
            BundleState::NotReady
        );

        let mut retry = BundleDeploymentStatus::default();
        assert!(deploy_failed(&mut retry, "b", "connection refused", "t2"));
        let bd = bd_with(retry);
        assert_eq!(deployment_state(&bd), BundleState::ErrApplied);
        assert_eq!(display(&bd).deployed, "Error: connection refused");

        let mut recorded = BundleDeploymentStatus::default();
        assert!(!deploy_failed(
            &mut recorded,
            "a",
            "error validating data: x",
            "t2"
        ));
        assert_eq!(deployment_state(&bd_with(recorded)), BundleState::NotReady);
    }
}
