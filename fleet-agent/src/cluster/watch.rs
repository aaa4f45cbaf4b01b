//! Monitoring one deployed BundleDeployment: a watch per kind it applied, restricted to its
//! objectset hash label; events aggregated for [`crate::monitor::AGGREGATION_DELAY`]; then one
//! recompute of the status and, with `correctDrift.enabled`, a re-apply of what drifted.
//!
//! Nothing is polled: between events the loop sleeps until the aggregator's next due time.
//! A watch that ends (server timeout) resumes from the last resource version it saw
//! (bookmarks keep it fresh); a `410 Gone` restarts it from the current state; a failed watch
//! request is retried after a second.

use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use kube::api::{Api, DynamicObject, WatchEvent, WatchParams};
use serde_json::Value;
use tokio::sync::mpsc;

use fleet_core::crd::{BundleDeployment, BundleDeploymentStatus};

use super::{Error, Executor};
use crate::deploy::backoff;
use crate::monitor::{Aggregator, DriftAction, drift_action};
use crate::run::comparable;
use crate::status;

/// How long the server keeps one watch request open before it is renewed.
const WATCH_TIMEOUT_SECONDS: u32 = 290;
/// The pause after a failed watch request.
const WATCH_RETRY: Duration = Duration::from_secs(1);

/// Watches the objects of `bd` (desired objects `desired`, last status `status`) and calls
/// `report` with every status that differs from the one before, until `report` returns
/// `false`. A failed recompute sets `Monitored=False` with the error and is retried after
/// the aggregation delay plus [`backoff`] of the consecutive failures. Drift is corrected with a server-side apply that takes the drifted fields back
/// from whoever changed them (`force`): Fleet reverts them with a Helm rollback, which
/// overwrites regardless of field ownership.
pub async fn monitor(
    executor: &mut Executor,
    bd: &BundleDeployment,
    desired: &[Value],
    mut status: BundleDeploymentStatus,
    now: impl Fn() -> String,
    mut report: impl FnMut(&BundleDeploymentStatus) -> bool,
) -> Result<(), Error> {
    let bd_name = bd.metadata.name.as_str();
    let selector = format!(
        "{}={}",
        fleet_render::postrender::HASH_LABEL,
        super::set_hash(bd_name)
    );
    let (events, mut received) = mpsc::channel::<()>(64);
    let mut kinds: Vec<(String, String)> = desired
        .iter()
        .filter_map(|o| {
            Some((
                o.get("apiVersion")?.as_str()?.to_string(),
                o.get("kind")?.as_str()?.to_string(),
            ))
        })
        .collect();
    kinds.sort();
    kinds.dedup();
    let mut watchers = Vec::new();
    for (api_version, kind) in &kinds {
        let Some(served) = executor.discovery().get(api_version, kind) else {
            continue;
        };
        let api: Api<DynamicObject> = Api::all_with(executor.client.clone(), &served.resource);
        watchers.push(tokio::spawn(watch_kind(
            api,
            selector.clone(),
            events.clone(),
            |_| Some(()),
        )));
    }
    drop(events);

    let mut aggregator = Aggregator::new();
    let mut failures = 0u32;
    let result = loop {
        let due = aggregator.next_due();
        tokio::select! {
            event = received.recv() => match event {
                Some(()) => aggregator.event(bd_name, Instant::now()),
                // Every watcher is gone: nothing is watched any more.
                None => break Ok(()),
            },
            _ = sleep_until(due), if due.is_some() => {
                if aggregator.take_due(Instant::now()).is_empty() {
                    continue;
                }
                let before = comparable(&status);
                match pass(executor, bd, desired, &mut status, &now()).await {
                    Ok(()) => failures = 0,
                    Err(_) => {
                        // The cause (a server error, a conflict) may pass.
                        failures += 1;
                        aggregator.event(bd_name, Instant::now() + backoff(failures));
                    }
                }
                let changed = comparable(&status) != before;
                if changed && !report(&status) {
                    break Ok(());
                }
            }
        }
    };
    for watcher in watchers {
        watcher.abort();
    }
    result
}

async fn sleep_until(due: Option<Instant>) {
    if let Some(due) = due {
        tokio::time::sleep_until(due.into()).await;
    }
}

/// One monitoring pass over `bd`'s objects (`desired`): read them back, fold the comparison
/// into `status`, and re-apply with `force` when `correctDrift` asks for it. A failed pass is
/// recorded as Fleet records it, `Monitored=False` with the error, and returned so that the
/// caller retries with backoff. `now` stamps changed conditions.
pub async fn pass(
    executor: &mut Executor,
    bd: &BundleDeployment,
    desired: &[Value],
    status: &mut BundleDeploymentStatus,
    now: &str,
) -> Result<(), Error> {
    let result = recompute(executor, bd, desired, status, now).await;
    if let Err(error) = &result {
        status::set_condition(status, "Monitored", false, &error.to_string(), now);
    }
    let mut reported = bd.clone();
    reported.status = Some(status.clone());
    status.display = status::display(&reported);
    result
}

async fn recompute(
    executor: &mut Executor,
    bd: &BundleDeployment,
    desired: &[Value],
    status: &mut BundleDeploymentStatus,
    now: &str,
) -> Result<(), Error> {
    let bd_name = bd.metadata.name.as_str();
    let live = executor.live_objects(bd_name, desired).await?;
    let (report, summary) = status::observe(bd_name, &bd.spec, desired, &live)?;
    if let DriftAction::Reapply { .. } =
        drift_action(&bd.spec, &status.applied_deployment_id, &report)
    {
        // The deployed ID again: no hooks run, and the inventory keeps its delete hooks.
        executor
            .apply(bd_name, &bd.spec, desired, &[], true)
            .await?;
        let live = executor.live_objects(bd_name, desired).await?;
        let (report, summary) = status::observe(bd_name, &bd.spec, desired, &live)?;
        status::monitored(status, &report, &summary, &live, now);
    } else {
        status::monitored(status, &report, &summary, &live, now);
    }
    Ok(())
}

/// Watches every object of one kind that carries an objectset hash label, across
/// namespaces, and sends the label's value of each changed object: one watch per kind serves
/// all BundleDeployments of an agent, whose objects are told apart by that value
/// ([`super::set_hash`]). Runs until the receiver is gone.
pub async fn watch_owned<T: Send + 'static>(
    api: Api<DynamicObject>,
    events: mpsc::Sender<T>,
    tag: impl Fn(String) -> T,
) {
    let label = fleet_render::postrender::HASH_LABEL;
    watch_kind(api, label.to_string(), events, |object| {
        object
            .metadata
            .labels
            .as_ref()?
            .get(label)
            .cloned()
            .map(&tag)
    })
    .await
}

/// Watches one kind across namespaces, sending `tag` of each changed object (when it has
/// one), until the receiver is gone.
async fn watch_kind<T>(
    api: Api<DynamicObject>,
    selector: String,
    events: mpsc::Sender<T>,
    tag: impl Fn(&DynamicObject) -> Option<T>,
) {
    // "0": start from the current state (the first events are the existing objects).
    let mut version = "0".to_string();
    loop {
        let params = WatchParams::default()
            .labels(&selector)
            .timeout(WATCH_TIMEOUT_SECONDS);
        let stream = match api.watch(&params, &version).await {
            Ok(stream) => stream,
            Err(_) => {
                tokio::time::sleep(WATCH_RETRY).await;
                continue;
            }
        };
        let mut stream = std::pin::pin!(stream);
        loop {
            match stream.try_next().await {
                Ok(Some(
                    WatchEvent::Added(object)
                    | WatchEvent::Modified(object)
                    | WatchEvent::Deleted(object),
                )) => {
                    if let Some(v) = &object.metadata.resource_version {
                        version = v.clone();
                    }
                    // Hooks carry the objectset label but are not monitored.
                    if super::is_hook(&object) {
                        continue;
                    }
                    if let Some(t) = tag(&object)
                        && events.send(t).await.is_err()
                    {
                        return;
                    }
                }
                Ok(Some(WatchEvent::Bookmark(bookmark))) => {
                    version = bookmark.metadata.resource_version;
                }
                Ok(Some(WatchEvent::Error(status))) => {
                    if status.code == 410 {
                        // Expired: everything since may have changed, so recompute too.
                        version = "0".to_string();
                    }
                    break;
                }
                Ok(None) => break,
                Err(_) => {
                    tokio::time::sleep(WATCH_RETRY).await;
                    break;
                }
            }
        }
    }
}
