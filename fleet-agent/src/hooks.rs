//! Helm hooks, sans I/O: which rendered objects are hooks, which of them run for a deploy or
//! an uninstall, in what order, what is deleted when, and what counts as done.
//!
//! The rules are Helm v4's (`pkg/release/v1/util/manifest_sorter.go`, `pkg/action/hooks.go`,
//! `install.go`, `upgrade.go`, `uninstall.go`, `internal/statusreaders`):
//!
//! * An object is a hook when it carries the `helm.sh/hook` annotation: a comma-separated
//!   list of events, trimmed and lowercased. One unknown event and Helm drops the object
//!   altogether (neither a hook nor a release object). Helm v4 post-renders hooks together
//!   with the release's objects, so hooks get Fleet's objectset label and namespaces like
//!   everything else; they are split off after rendering ([`split`]).
//! * `helm.sh/hook-weight` is an integer (anything else is 0); the hooks of one event run
//!   sorted by weight, then by name, stably over Helm's kind order.
//! * `helm.sh/hook-delete-policy`: a comma list; none means `before-hook-creation`. Before a
//!   hook is created, an old copy is deleted (and waited for) under `before-hook-creation`;
//!   after every hook of the event succeeded, those with `hook-succeeded` are deleted in
//!   reverse order; when one fails, it is deleted under `hook-failed`, and the hooks that
//!   succeeded before it under `hook-succeeded`. CustomResourceDefinitions are never deleted.
//! * Each hook is created, then waited for: a Job until its `Complete` condition (`Failed`
//!   fails it), a Pod until phase `Succeeded` (`Failed` fails it), anything else not at all.
//!   The wait has the deployment's `helm.timeoutSeconds`, or Helm v4's 30 s when that is 0.
//! * Events: `pre-install`/`post-install` on the first deploy, `pre-upgrade`/`post-upgrade`
//!   on a deploy of a new deployment ID, `pre-delete`/`post-delete` on uninstall; `test`
//!   (and the legacy `test-success`) and the rollback events never run here.
//! * Errors read as Helm's: `failed pre-install: resource Job/ns/name not ready. status:
//!   Failed, message: Job Failed. failed: 1/1`.
//!
//! Hooks are not release objects: they are not in the inventory, not pruned, not monitored.
//! The delete hooks of the last successful deploy are kept in the inventory (as Helm keeps
//! hooks in the release) so that an uninstall can run them without the manifest.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::deploy::{Inventory, ObjectRef};

/// The annotation naming a hook's events.
pub const HOOK_ANNOTATION: &str = "helm.sh/hook";
/// The annotation holding a hook's weight.
pub const WEIGHT_ANNOTATION: &str = "helm.sh/hook-weight";
/// The annotation holding a hook's delete policies.
pub const DELETE_POLICY_ANNOTATION: &str = "helm.sh/hook-delete-policy";
/// The annotation Helm v4 puts on every document before post-rendering to find its template
/// again afterwards; the chart renderer sets it on hooks, [`split`] removes it.
pub const PATH_ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";
/// Delete policy: delete the previous copy before creating the hook (the default).
pub const BEFORE_HOOK_CREATION: &str = "before-hook-creation";
/// Delete policy: delete the hook after its event succeeded.
pub const HOOK_SUCCEEDED: &str = "hook-succeeded";
/// Delete policy: delete the hook when it failed.
pub const HOOK_FAILED: &str = "hook-failed";
/// How long a hook is waited for when the deployment sets no timeout (Helm v4's status
/// watcher default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A hook event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// `pre-install`.
    PreInstall,
    /// `post-install`.
    PostInstall,
    /// `pre-delete`.
    PreDelete,
    /// `post-delete`.
    PostDelete,
    /// `pre-upgrade`.
    PreUpgrade,
    /// `post-upgrade`.
    PostUpgrade,
    /// `pre-rollback`.
    PreRollback,
    /// `post-rollback`.
    PostRollback,
    /// `test` (also written `test-success`).
    Test,
}

impl Event {
    /// The event an annotation entry names (already trimmed and lowercased).
    pub fn parse(text: &str) -> Option<Event> {
        Some(match text {
            "pre-install" => Event::PreInstall,
            "post-install" => Event::PostInstall,
            "pre-delete" => Event::PreDelete,
            "post-delete" => Event::PostDelete,
            "pre-upgrade" => Event::PreUpgrade,
            "post-upgrade" => Event::PostUpgrade,
            "pre-rollback" => Event::PreRollback,
            "post-rollback" => Event::PostRollback,
            "test" | "test-success" => Event::Test,
            _ => return None,
        })
    }

    /// Helm's name of the event.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::PreInstall => "pre-install",
            Event::PostInstall => "post-install",
            Event::PreDelete => "pre-delete",
            Event::PostDelete => "post-delete",
            Event::PreUpgrade => "pre-upgrade",
            Event::PostUpgrade => "post-upgrade",
            Event::PreRollback => "pre-rollback",
            Event::PostRollback => "post-rollback",
            Event::Test => "test",
        }
    }

    /// The error of a failed event as the Helm action running it reports it.
    pub fn failure(self, message: &str) -> String {
        match self {
            Event::PreInstall | Event::PostInstall => {
                format!("failed {}: {message}", self.as_str())
            }
            Event::PreUpgrade | Event::PostUpgrade => {
                format!("{} hooks failed: {message}", self.as_str())
            }
            Event::PostDelete => format!("uninstallation completed with 1 error(s): {message}"),
            Event::PreDelete | Event::PreRollback | Event::PostRollback | Event::Test => {
                message.to_string()
            }
        }
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One hook as Helm records it in a release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hook {
    /// The object to create (the path annotation removed).
    pub object: Value,
    /// The template it came from (for messages).
    pub path: String,
    /// Its events.
    pub events: Vec<Event>,
    /// `helm.sh/hook-weight`.
    #[serde(default)]
    pub weight: i64,
    /// `helm.sh/hook-delete-policy` entries, as written (trimmed, lowercased).
    #[serde(default)]
    pub delete_policies: Vec<String>,
}

impl Hook {
    /// The hook object's identity (`namespace` as rendered; namespaced objects without one go
    /// to the release namespace).
    pub fn object_ref(&self) -> ObjectRef {
        let text = |p: &str| {
            self.object
                .pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        ObjectRef {
            api_version: text("/apiVersion"),
            kind: text("/kind"),
            namespace: text("/metadata/namespace"),
            name: text("/metadata/name"),
        }
    }

    fn kind(&self) -> &str {
        self.object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    fn name(&self) -> &str {
        self.object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Whether the hook is deleted under `policy` (no policy at all means
    /// `before-hook-creation`); CRDs never are.
    pub fn deleted_under(&self, policy: &str) -> bool {
        if self.kind() == "CustomResourceDefinition" {
            return false;
        }
        if self.delete_policies.is_empty() {
            policy == BEFORE_HOOK_CREATION
        } else {
            self.delete_policies.iter().any(|p| p == policy)
        }
    }

    /// What the hook is waited for until.
    pub fn wait(&self) -> Wait {
        let api_version = self
            .object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let group = fleet_core::meta::split_api_version(api_version).0;
        match (group, self.kind()) {
            ("batch", "Job") => Wait::Job,
            ("", "Pod") => Wait::Pod,
            _ => Wait::Nothing,
        }
    }
}

/// Splits rendered objects into the release's objects and its hooks, dropping objects whose
/// hook annotation names an unknown event (as Helm does) and removing [`PATH_ANNOTATION`].
pub fn split(objects: Vec<Value>) -> (Vec<Value>, Vec<Hook>) {
    let mut plain = Vec::new();
    let mut hooks = Vec::new();
    for (index, mut object) in objects.into_iter().enumerate() {
        let path = object
            .pointer_mut("/metadata/annotations")
            .and_then(Value::as_object_mut)
            .and_then(|a| a.remove(PATH_ANNOTATION))
            .and_then(|p| p.as_str().map(str::to_string));
        let annotation = |key: &str| {
            object
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(key))
                .map(|v| v.as_str().unwrap_or_default().to_string())
        };
        let Some(events_text) = annotation(HOOK_ANNOTATION) else {
            plain.push(object);
            continue;
        };
        let events: Option<Vec<Event>> = events_text
            .split(',')
            .map(|e| Event::parse(&e.trim().to_lowercase()))
            .collect();
        let Some(events) = events else {
            continue;
        };
        let weight = annotation(WEIGHT_ANNOTATION)
            .and_then(|w| w.parse::<i64>().ok())
            .unwrap_or(0);
        let delete_policies = annotation(DELETE_POLICY_ANNOTATION)
            .map(|p| p.split(',').map(|x| x.trim().to_lowercase()).collect())
            .unwrap_or_default();
        hooks.push(Hook {
            object,
            path: path.unwrap_or_else(|| format!("generated-by-postrender-{index}.yaml")),
            events,
            weight,
            delete_policies,
        });
    }
    (plain, hooks)
}

/// The Helm action a deploy is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// The first deploy (no deploy succeeded before): install hooks.
    Install,
    /// A deploy of a new deployment ID: upgrade hooks.
    Upgrade,
}

impl Operation {
    /// The operation of deploying `deployment_id` over `previous`; `None` when that
    /// deployment ID is what was last deployed (a re-apply, which Helm never does, so no
    /// hooks). A failed first deploy records an inventory without a deployment ID, and the
    /// retry is an install again, as Fleet installs again over a release that never deployed.
    pub fn of(previous: Option<&Inventory>, deployment_id: &str) -> Option<Operation> {
        match previous {
            None => Some(Operation::Install),
            Some(p) if p.deployment_id.is_empty() => Some(Operation::Install),
            Some(p) if p.deployment_id == deployment_id => None,
            Some(_) => Some(Operation::Upgrade),
        }
    }

    /// The event run before the release's objects are applied.
    pub fn pre(self) -> Event {
        match self {
            Operation::Install => Event::PreInstall,
            Operation::Upgrade => Event::PreUpgrade,
        }
    }

    /// The event run after.
    pub fn post(self) -> Event {
        match self {
            Operation::Install => Event::PostInstall,
            Operation::Upgrade => Event::PostUpgrade,
        }
    }
}

/// The hooks of `event`, in Helm's execution order: by weight, then name, then Helm's kind
/// order, then as rendered.
pub fn for_event(hooks: &[Hook], event: Event) -> Vec<Hook> {
    let mut selected: Vec<Hook> = hooks
        .iter()
        .filter(|h| h.events.contains(&event))
        .cloned()
        .collect();
    selected.sort_by(|a, b| {
        a.weight
            .cmp(&b.weight)
            .then_with(|| a.name().cmp(b.name()))
            .then_with(|| kind_rank(a.kind()).cmp(&kind_rank(b.kind())))
    });
    selected
}

/// The hooks an uninstall needs later: those of the delete events.
pub fn delete_hooks(hooks: &[Hook]) -> Vec<Hook> {
    hooks
        .iter()
        .filter(|h| {
            h.events
                .iter()
                .any(|e| matches!(e, Event::PreDelete | Event::PostDelete))
        })
        .cloned()
        .collect()
}

fn kind_rank(kind: &str) -> (usize, &str) {
    let rank = fleet_helm::order::install_rank(kind);
    if rank == fleet_helm::order::INSTALL_ORDER.len() {
        (rank, kind)
    } else {
        (rank, "")
    }
}

/// The wait timeout of a deployment's hooks.
pub fn timeout(spec: &fleet_core::crd::BundleDeploymentSpec) -> Duration {
    match spec.options.helm.as_ref().map(|h| h.timeout_seconds) {
        Some(seconds) if seconds > 0 => Duration::from_secs(seconds.unsigned_abs()),
        _ => DEFAULT_TIMEOUT,
    }
}

/// What a created hook is waited for until.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// A Job: until `Complete=True`; `Failed=True` fails it.
    Job,
    /// A Pod: until phase `Succeeded`; `Failed` fails it.
    Pod,
    /// Anything else is done once created.
    Nothing,
}

/// Where a waited-for hook stands, with the status watcher's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Done (`Current`).
    Done(String),
    /// Still running (`InProgress`).
    Running(String),
    /// Failed for good (`Failed`).
    Failed(String),
}

fn int_at(object: &Value, pointer: &str, default: i64) -> i64 {
    object
        .pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or(default)
}

/// Where the live object of a hook stands (Helm's Job and Pod status readers).
pub fn progress(wait: Wait, live: &Value) -> Progress {
    match wait {
        Wait::Nothing => Progress::Done("Resource is current".to_string()),
        Wait::Job => {
            let parallelism = int_at(live, "/spec/parallelism", 1);
            let completions = int_at(live, "/spec/completions", parallelism);
            let succeeded = int_at(live, "/status/succeeded", 0);
            let failed = int_at(live, "/status/failed", 0);
            let conditions = live
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for c in conditions {
                let is_true = c.get("status").and_then(Value::as_str) == Some("True");
                match c.get("type").and_then(Value::as_str) {
                    Some("Complete") if is_true => {
                        return Progress::Done(format!(
                            "Job Completed. succeeded: {succeeded}/{completions}"
                        ));
                    }
                    Some("Failed") if is_true => {
                        return Progress::Failed(format!(
                            "Job Failed. failed: {failed}/{completions}"
                        ));
                    }
                    _ => {}
                }
            }
            Progress::Running("Job in progress".to_string())
        }
        Wait::Pod => {
            let name = live
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match live.pointer("/status/phase").and_then(Value::as_str) {
                Some("Succeeded") => Progress::Done(format!("pod {name} succeeded")),
                Some("Failed") => Progress::Failed(format!("pod {name} failed")),
                _ => Progress::Running("Pod in progress".to_string()),
            }
        }
    }
}

/// The status watcher's error for a hook that did not become ready: `r` with the namespace it
/// was created in, the last progress seen, and whether the wait timed out.
pub fn not_ready(r: &ObjectRef, last: &Progress, timed_out: bool) -> String {
    let (status, message) = match last {
        Progress::Done(m) => ("Current", m),
        Progress::Running(m) => ("InProgress", m),
        Progress::Failed(m) => ("Failed", m),
    };
    let mut text = format!(
        "resource {}/{}/{} not ready. status: {status}, message: {message}",
        r.kind, r.namespace, r.name
    );
    if timed_out {
        text.push_str("\ncontext deadline exceeded");
    }
    text
}

/// One step of running an event's hooks, for the shell to carry out and answer with
/// [`Run::next`].
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Delete the object (background propagation; gone already is fine) and wait until it
    /// is gone.
    Delete(ObjectRef),
    /// Create the hook object (server-side apply).
    Create(Value),
    /// Wait for the object created last, as [`Wait`] says, within the timeout; answer with
    /// the [`not_ready`] message when it fails or times out.
    Await(ObjectRef, Wait),
    /// The event is over: `Ok`, or the error Helm reports (not yet wrapped by
    /// [`Event::failure`]).
    Finished(Result<(), String>),
}

#[derive(Debug)]
enum Stage {
    /// About to start hook `i` (its before-creation delete).
    Begin(usize),
    /// The before-creation delete of hook `i` was asked for (or skipped).
    Deleted(usize),
    /// Hook `i` was created.
    Created(usize),
    /// Hook `i` was waited for.
    Awaited(usize),
    /// Deleting after the event; `error` is the result so far, `in_flight` whether a delete
    /// was asked for and whether its failure is ignored.
    Cleanup {
        error: Option<String>,
        in_flight: Option<bool>,
    },
    /// Finished.
    Done,
}

/// Runs the hooks of one event as Helm's `execHook` does, one [`Step`] at a time.
#[derive(Debug)]
pub struct Run {
    event: Event,
    hooks: Vec<Hook>,
    stage: Stage,
    /// Deletes still to ask for after the event, each with whether its failure is ignored.
    deletes: VecDeque<(ObjectRef, bool)>,
}

impl Run {
    /// A run of `event`'s hooks among `hooks`.
    pub fn new(hooks: &[Hook], event: Event) -> Run {
        Run {
            event,
            hooks: for_event(hooks, event),
            stage: Stage::Begin(0),
            deletes: VecDeque::new(),
        }
    }

    /// The event run.
    pub fn event(&self) -> Event {
        self.event
    }

    /// Whether there is no hook to run.
    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    /// The next step, given the result of the one before (`Ok(())` for the first call).
    pub fn next(&mut self, previous: Result<(), String>) -> Step {
        let mut previous = previous;
        loop {
            let answer = std::mem::replace(&mut previous, Ok(()));
            match std::mem::replace(&mut self.stage, Stage::Done) {
                Stage::Begin(i) if i == self.hooks.len() => {
                    // Every hook succeeded: `hook-succeeded` deletes, last hook first.
                    self.deletes = self
                        .hooks
                        .iter()
                        .rev()
                        .filter(|h| h.deleted_under(HOOK_SUCCEEDED))
                        .map(|h| (h.object_ref(), false))
                        .collect();
                    self.stage = Stage::Cleanup {
                        error: None,
                        in_flight: None,
                    };
                }
                Stage::Begin(i) => {
                    self.stage = Stage::Deleted(i);
                    if self.hooks[i].deleted_under(BEFORE_HOOK_CREATION) {
                        return Step::Delete(self.hooks[i].object_ref());
                    }
                }
                Stage::Deleted(i) => {
                    if let Err(e) = answer {
                        return self.finish(Err(e));
                    }
                    self.stage = Stage::Created(i);
                    return Step::Create(self.hooks[i].object.clone());
                }
                Stage::Created(i) => {
                    if let Err(e) = answer {
                        // Not created: nothing to clean up.
                        let path = &self.hooks[i].path;
                        let message = format!("warning: Hook {} {path} failed: {e}", self.event);
                        return self.finish(Err(message));
                    }
                    self.stage = Stage::Awaited(i);
                    let hook = &self.hooks[i];
                    return Step::Await(hook.object_ref(), hook.wait());
                }
                Stage::Awaited(i) => match answer {
                    Ok(()) => self.stage = Stage::Begin(i + 1),
                    Err(e) => {
                        // The failed hook under `hook-failed` (Helm only logs a failure to
                        // delete it), then those that succeeded before it under
                        // `hook-succeeded`.
                        self.deletes.clear();
                        if self.hooks[i].deleted_under(HOOK_FAILED) {
                            self.deletes.push_back((self.hooks[i].object_ref(), true));
                        }
                        self.deletes.extend(
                            self.hooks[..i]
                                .iter()
                                .filter(|h| h.deleted_under(HOOK_SUCCEEDED))
                                .map(|h| (h.object_ref(), false)),
                        );
                        self.stage = Stage::Cleanup {
                            error: Some(e),
                            in_flight: None,
                        };
                    }
                },
                Stage::Cleanup { error, in_flight } => {
                    if let (Err(e), Some(false)) = (answer, in_flight) {
                        return self.finish(Err(e));
                    }
                    match self.deletes.pop_front() {
                        Some((r, lenient)) => {
                            self.stage = Stage::Cleanup {
                                error,
                                in_flight: Some(lenient),
                            };
                            return Step::Delete(r);
                        }
                        None => return self.finish(error.map_or(Ok(()), Err)),
                    }
                }
                Stage::Done => return Step::Finished(Ok(())),
            }
        }
    }

    fn finish(&mut self, result: Result<(), String>) -> Step {
        self.stage = Stage::Done;
        Step::Finished(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hook_object(kind: &str, name: &str, events: &str, weight: &str, policy: &str) -> Value {
        let mut annotations = serde_json::Map::new();
        annotations.insert(HOOK_ANNOTATION.into(), json!(events));
        if !weight.is_empty() {
            annotations.insert(WEIGHT_ANNOTATION.into(), json!(weight));
        }
        if !policy.is_empty() {
            annotations.insert(DELETE_POLICY_ANNOTATION.into(), json!(policy));
        }
        annotations.insert(
            PATH_ANNOTATION.into(),
            json!(format!("chart/templates/{name}.yaml")),
        );
        let api_version = if kind == "Job" { "batch/v1" } else { "v1" };
        json!({"apiVersion": api_version, "kind": kind,
               "metadata": {"name": name, "namespace": "app", "annotations": annotations}})
    }

    fn names(hooks: &[Hook]) -> Vec<&str> {
        hooks.iter().map(Hook::name).collect()
    }

    #[test]
    fn split_separates_hooks_parses_annotations_and_drops_unknown_events() {
        let plain = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}});
        let objects = vec![
            plain.clone(),
            hook_object(
                "Job",
                "migrate",
                " Pre-Install , pre-upgrade",
                "-5",
                "hook-succeeded, Hook-Failed",
            ),
            hook_object("Pod", "smoke", "test-success", "x", ""),
            hook_object("Job", "odd", "pre-install,on-tuesday", "", ""),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "raw", "annotations": {HOOK_ANNOTATION: "post-delete"}}}),
        ];
        let (objects, hooks) = split(objects);
        assert_eq!(objects, vec![plain]);
        assert_eq!(names(&hooks), ["migrate", "smoke", "raw"]);
        let migrate = &hooks[0];
        assert_eq!(migrate.events, [Event::PreInstall, Event::PreUpgrade]);
        assert_eq!(migrate.weight, -5);
        assert_eq!(migrate.delete_policies, ["hook-succeeded", "hook-failed"]);
        assert_eq!(migrate.path, "chart/templates/migrate.yaml");
        assert!(
            migrate
                .object
                .pointer("/metadata/annotations")
                .unwrap()
                .get(PATH_ANNOTATION)
                .is_none()
        );
        assert_eq!(hooks[1].events, [Event::Test]);
        assert_eq!(hooks[1].weight, 0, "a weight that is not an integer is 0");
        assert_eq!(hooks[2].path, "generated-by-postrender-4.yaml");
        assert_eq!(delete_hooks(&hooks).len(), 1);
    }

    #[test]
    fn hooks_of_an_event_run_by_weight_then_name_and_tests_never_match_deploy_events() {
        let (_, hooks) = split(vec![
            hook_object("Job", "b", "pre-install", "1", ""),
            hook_object("Job", "a", "pre-install", "1", ""),
            hook_object("ConfigMap", "z", "pre-install", "-1", ""),
            hook_object("Pod", "t", "test", "-10", ""),
            hook_object("Job", "up", "pre-upgrade", "0", ""),
        ]);
        assert_eq!(
            names(&for_event(&hooks, Event::PreInstall)),
            ["z", "a", "b"]
        );
        assert_eq!(names(&for_event(&hooks, Event::PreUpgrade)), ["up"]);
        assert!(for_event(&hooks, Event::PostInstall).is_empty());
    }

    #[test]
    fn the_operation_follows_the_inventory() {
        let inventory = |id: &str| Inventory {
            deployment_id: id.into(),
            ..Inventory::default()
        };
        assert_eq!(Operation::of(None, "d1"), Some(Operation::Install));
        assert_eq!(
            Operation::of(Some(&inventory("")), "d1"),
            Some(Operation::Install)
        );
        assert_eq!(Operation::of(Some(&inventory("d1")), "d1"), None);
        assert_eq!(
            Operation::of(Some(&inventory("d1")), "d2"),
            Some(Operation::Upgrade)
        );
        assert_eq!(Operation::Upgrade.pre(), Event::PreUpgrade);
        assert_eq!(Operation::Install.post(), Event::PostInstall);
        assert_eq!(Event::PreInstall.failure("x"), "failed pre-install: x");
        assert_eq!(
            Event::PostUpgrade.failure("x"),
            "post-upgrade hooks failed: x"
        );
        assert_eq!(
            Event::PostDelete.failure("x"),
            "uninstallation completed with 1 error(s): x"
        );
        assert_eq!(Event::PreDelete.failure("x"), "x");
    }

    #[test]
    fn job_and_pod_progress_read_as_helms_status_readers() {
        let job = |status: Value| {
            json!({"kind": "Job", "metadata": {"name": "j"},
                                         "spec": {"completions": 2}, "status": status})
        };
        assert_eq!(
            progress(Wait::Job, &job(json!({}))),
            Progress::Running("Job in progress".into())
        );
        assert_eq!(
            progress(
                Wait::Job,
                &job(
                    json!({"succeeded": 2, "conditions": [{"type": "Complete", "status": "True"}]})
                )
            ),
            Progress::Done("Job Completed. succeeded: 2/2".into())
        );
        let failed = progress(
            Wait::Job,
            &job(json!({"failed": 1, "conditions": [{"type": "Failed", "status": "True"}]})),
        );
        assert_eq!(failed, Progress::Failed("Job Failed. failed: 1/2".into()));
        let r = ObjectRef {
            api_version: "batch/v1".into(),
            kind: "Job".into(),
            namespace: "app".into(),
            name: "j".into(),
        };
        assert_eq!(
            not_ready(&r, &failed, false),
            "resource Job/app/j not ready. status: Failed, message: Job Failed. failed: 1/2"
        );
        assert_eq!(
            not_ready(&r, &Progress::Running("Job in progress".into()), true),
            "resource Job/app/j not ready. status: InProgress, message: Job in progress\ncontext deadline exceeded"
        );
        let pod = json!({"metadata": {"name": "p"}, "status": {"phase": "Succeeded"}});
        assert_eq!(
            progress(Wait::Pod, &pod),
            Progress::Done("pod p succeeded".into())
        );
        assert_eq!(
            progress(Wait::Pod, &json!({"status": {"phase": "Running"}})),
            Progress::Running("Pod in progress".into())
        );
        assert!(matches!(
            progress(Wait::Nothing, &json!({})),
            Progress::Done(_)
        ));
    }

    /// Drives a run, answering every step with `answer`, and returns the steps as text.
    fn drive(run: &mut Run, answer: impl Fn(&Step) -> Result<(), String>) -> Vec<String> {
        let mut out = Vec::new();
        let mut previous = Ok(());
        loop {
            let step = run.next(previous);
            out.push(match &step {
                Step::Delete(r) => format!("delete {}", r.name),
                Step::Create(o) => format!("create {}", o["metadata"]["name"].as_str().unwrap()),
                Step::Await(r, _) => format!("await {}", r.name),
                Step::Finished(Ok(())) => "ok".to_string(),
                Step::Finished(Err(e)) => format!("error {e}"),
            });
            if let Step::Finished(_) = step {
                return out;
            }
            previous = answer(&step);
        }
    }

    #[test]
    fn a_successful_run_deletes_before_creation_then_succeeded_hooks_in_reverse() {
        let (_, hooks) = split(vec![
            hook_object("Job", "first", "post-install", "1", "hook-succeeded"),
            hook_object("Job", "second", "post-install", "2", ""),
            hook_object(
                "ConfigMap",
                "third",
                "post-install",
                "3",
                "before-hook-creation,hook-succeeded",
            ),
            hook_object(
                "CustomResourceDefinition",
                "crd",
                "post-install",
                "4",
                "hook-succeeded",
            ),
        ]);
        let mut run = Run::new(&hooks, Event::PostInstall);
        assert_eq!(
            drive(&mut run, |_| Ok(())),
            [
                "create first",
                "await first",
                "delete second",
                "create second",
                "await second",
                "delete third",
                "create third",
                "await third",
                "create crd",
                "await crd",
                "delete third",
                "delete first",
                "ok"
            ]
        );
        assert!(Run::new(&hooks, Event::PreDelete).is_empty());
        assert_eq!(
            drive(&mut Run::new(&hooks, Event::PreDelete), |_| Ok(())),
            ["ok"]
        );
    }

    #[test]
    fn a_failed_hook_stops_the_run_and_cleans_up_by_policy() {
        let (_, hooks) = split(vec![
            hook_object("Job", "a", "pre-upgrade", "1", "hook-succeeded"),
            hook_object("Job", "b", "pre-upgrade", "2", "hook-failed"),
            hook_object("Job", "c", "pre-upgrade", "3", ""),
        ]);
        let failing_b = |step: &Step| match step {
            Step::Await(r, _) if r.name == "b" => Err("b failed".to_string()),
            // Helm only logs a failure to delete the failed hook.
            Step::Delete(r) if r.name == "b" => Err("delete refused".to_string()),
            _ => Ok(()),
        };
        assert_eq!(
            drive(&mut Run::new(&hooks, Event::PreUpgrade), failing_b),
            [
                "create a",
                "await a",
                "create b",
                "await b",
                "delete b",
                "delete a",
                "error b failed"
            ]
        );
        // A create that fails names the event and template; nothing is cleaned up.
        let refuse_create = |step: &Step| match step {
            Step::Create(_) => Err("forbidden".to_string()),
            _ => Ok(()),
        };
        assert_eq!(
            drive(&mut Run::new(&hooks, Event::PreUpgrade), refuse_create),
            [
                "create a",
                "error warning: Hook pre-upgrade chart/templates/a.yaml failed: forbidden"
            ]
        );
        // A failed delete after success is the run's error.
        let refuse_delete = |step: &Step| match step {
            Step::Delete(_) => Err("cannot delete".to_string()),
            _ => Ok(()),
        };
        let steps = drive(&mut Run::new(&hooks, Event::PreUpgrade), refuse_delete);
        assert_eq!(steps.last().unwrap(), "error cannot delete");
    }

    #[test]
    fn the_timeout_is_the_deployments_or_helms_default() {
        let spec = |v: Value| -> fleet_core::crd::BundleDeploymentSpec {
            serde_json::from_value(v).unwrap()
        };
        assert_eq!(timeout(&spec(json!({}))), DEFAULT_TIMEOUT);
        assert_eq!(
            timeout(&spec(json!({"options": {"helm": {"timeoutSeconds": 7}}}))),
            Duration::from_secs(7)
        );
    }
}
