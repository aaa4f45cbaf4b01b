//! kube-rs against the test API server.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use fleet_test_tools::kube_server::{Fault, FaultKind, KubeServer};
use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use serde_json::json;

fn client(server: &KubeServer) -> Result<Client> {
    let mut config = kube::Config::new(server.url().parse()?);
    config.default_namespace = "default".into();
    // Errors must reach the tests as they are, not be retried.
    config.default_retry = false;
    Ok(Client::try_from(config)?)
}

fn configmap(name: &str, app: &str, value: &str) -> ConfigMap {
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some(name.into());
    cm.metadata.labels = Some(BTreeMap::from([("app".to_string(), app.to_string())]));
    cm.data = Some(BTreeMap::from([("k".to_string(), value.to_string())]));
    cm
}

fn api_error(result: Result<impl std::fmt::Debug, kube::Error>) -> Result<Box<kube::core::Status>> {
    match result {
        Err(kube::Error::Api(status)) => Ok(status),
        other => bail!("expected an API error, got {other:?}"),
    }
}

fn names(list: &kube::core::ObjectList<ConfigMap>) -> Vec<String> {
    list.items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect()
}

#[tokio::test]
async fn list_with_selectors_and_pages() -> Result<()> {
    let server = KubeServer::start()?;
    let api: Api<ConfigMap> = Api::default_namespaced(client(&server)?);
    for (name, app) in [("a", "web"), ("b", "db"), ("c", "web")] {
        api.create(&PostParams::default(), &configmap(name, app, "1"))
            .await?;
    }
    assert_eq!(
        names(&api.list(&ListParams::default().labels("app=web")).await?),
        ["a", "c"]
    );
    assert_eq!(
        names(
            &api.list(&ListParams::default().labels("app notin (web)"))
                .await?
        ),
        ["b"]
    );
    assert_eq!(
        names(
            &api.list(&ListParams::default().fields("metadata.name=b"))
                .await?
        ),
        ["b"]
    );
    let first = api.list(&ListParams::default().limit(2)).await?;
    assert_eq!(names(&first), ["a", "b"]);
    let token = first
        .metadata
        .continue_
        .clone()
        .context("no continue token")?;
    let rest = api
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await?;
    assert_eq!(names(&rest), ["c"]);
    assert!(rest.metadata.continue_.is_none_or(|c| c.is_empty()));
    let status = api_error(api.list(&ListParams::default().fields("data.k=1")).await)?;
    assert_eq!((status.code, status.reason.as_str()), (400, "BadRequest"));
    Ok(())
}

#[tokio::test]
async fn watch_reports_changes_in_order() -> Result<()> {
    let server = KubeServer::start()?;
    let api: Api<ConfigMap> = Api::default_namespaced(client(&server)?);
    let created = api
        .create(&PostParams::default(), &configmap("w", "web", "1"))
        .await?;
    let rv = created
        .metadata
        .resource_version
        .clone()
        .context("no resourceVersion")?;
    let mut stream = api
        .watch(&WatchParams::default().timeout(30), &rv)
        .await?
        .boxed();
    let patch = json!({"data": {"k": "2"}});
    api.patch("w", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    api.delete("w", &Default::default()).await?;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .context("watch stalled")??
            .context("watch ended")?;
        match event {
            WatchEvent::Modified(cm) => {
                seen.push(format!("MODIFIED {}", cm.data.unwrap_or_default()["k"]))
            }
            WatchEvent::Deleted(cm) => {
                seen.push(format!("DELETED {}", cm.metadata.name.unwrap_or_default()))
            }
            WatchEvent::Bookmark(_) => {}
            other => bail!("unexpected event {other:?}"),
        }
    }
    assert_eq!(seen, ["MODIFIED 2", "DELETED w"]);
    Ok(())
}

#[tokio::test]
async fn watch_bookmarks_when_allowed() -> Result<()> {
    let server = KubeServer::start()?;
    let api: Api<ConfigMap> = Api::default_namespaced(client(&server)?);
    let list = api.list(&ListParams::default()).await?;
    let rv = list
        .metadata
        .resource_version
        .context("no resourceVersion")?;
    let params = WatchParams::default().timeout(30);
    assert!(params.bookmarks, "kube-rs asks for bookmarks by default");
    let mut stream = api.watch(&params, &rv).await?.boxed();
    let event = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await
        .context("no bookmark")??
        .context("watch ended")?;
    match event {
        WatchEvent::Bookmark(b) => assert_eq!(b.metadata.resource_version, rv),
        other => bail!("expected a bookmark, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn server_side_apply_conflict_then_force() -> Result<()> {
    let server = KubeServer::start()?;
    let api: Api<ConfigMap> = Api::default_namespaced(client(&server)?);
    let config = |value: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"k": value}});
    let created = api
        .patch(
            "ssa",
            &PatchParams::apply("first"),
            &Patch::Apply(config("a")),
        )
        .await?;
    assert_eq!(created.data.unwrap_or_default()["k"], "a");
    let status = api_error(
        api.patch(
            "ssa",
            &PatchParams::apply("second"),
            &Patch::Apply(config("b")),
        )
        .await,
    )?;
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert!(
        status.message.contains("conflict with \"first\""),
        "{}",
        status.message
    );
    assert_eq!(
        status.message,
        "Apply failed with 1 conflict: conflict with \"first\" using v1: .data.k"
    );
    let details = status.details.as_ref().context("no details")?;
    assert_eq!(
        (details.name.as_str(), details.kind.as_str()),
        ("ssa", "configmaps")
    );
    let cause = details.causes.first().context("no causes")?;
    assert_eq!(
        (
            cause.reason.as_str(),
            cause.field.as_str(),
            cause.message.as_str()
        ),
        (
            "FieldManagerConflict",
            ".data.k",
            "conflict with \"first\" using v1"
        )
    );
    // Applying the value the other manager holds is no conflict (shared ownership).
    api.patch(
        "ssa",
        &PatchParams::apply("second"),
        &Patch::Apply(config("a")),
    )
    .await?;
    let forced = api
        .patch(
            "ssa",
            &PatchParams::apply("second").force(),
            &Patch::Apply(config("b")),
        )
        .await?;
    assert_eq!(forced.data.unwrap_or_default()["k"], "b");
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, ["second"]);
    Ok(())
}

#[tokio::test]
async fn update_with_a_stale_resource_version_conflicts() -> Result<()> {
    let server = KubeServer::start()?;
    let api: Api<ConfigMap> = Api::default_namespaced(client(&server)?);
    let created = api
        .create(&PostParams::default(), &configmap("u", "web", "1"))
        .await?;
    let mut fresh = created.clone();
    fresh.data = Some(BTreeMap::from([("k".to_string(), "2".to_string())]));
    let updated = api.replace("u", &PostParams::default(), &fresh).await?;
    assert_ne!(
        updated.metadata.resource_version,
        created.metadata.resource_version
    );
    let mut stale = created;
    stale.data = Some(BTreeMap::from([("k".to_string(), "3".to_string())]));
    let status = api_error(api.replace("u", &PostParams::default(), &stale).await)?;
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert!(
        status
            .message
            .starts_with("Operation cannot be fulfilled on configmaps \"u\""),
        "{}",
        status.message
    );
    let missing = api_error(api.get("nope").await)?;
    assert_eq!(
        (missing.code, missing.message.as_str()),
        (404, "configmaps \"nope\" not found")
    );
    let exists = api_error(
        api.create(&PostParams::default(), &configmap("u", "web", "1"))
            .await,
    )?;
    assert_eq!(
        (exists.code, exists.reason.as_str()),
        (409, "AlreadyExists")
    );
    Ok(())
}

#[tokio::test]
async fn watch_from_an_expired_version_is_gone() -> Result<()> {
    let server = KubeServer::start()?;
    let api: Api<ConfigMap> = Api::default_namespaced(client(&server)?);
    let created = api
        .create(&PostParams::default(), &configmap("old", "web", "1"))
        .await?;
    let rv = created
        .metadata
        .resource_version
        .context("no resourceVersion")?;
    api.create(&PostParams::default(), &configmap("new", "web", "1"))
        .await?;
    server.compact();
    let mut stream = api
        .watch(&WatchParams::default().timeout(30), &rv)
        .await?
        .boxed();
    let event = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await
        .context("watch stalled")??
        .context("watch ended without an error event")?;
    match event {
        WatchEvent::Error(status) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
        }
        other => bail!("expected 410 Gone, got {other:?}"),
    }
    // A watch from the current version still works after the compaction.
    let now = api
        .list(&ListParams::default())
        .await?
        .metadata
        .resource_version
        .context("rv")?;
    let mut stream = api
        .watch(&WatchParams::default().timeout(30), &now)
        .await?
        .boxed();
    api.delete("old", &Default::default()).await?;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .context("stalled")??;
        match event {
            Some(WatchEvent::Bookmark(_)) => continue,
            Some(WatchEvent::Deleted(cm)) => {
                assert_eq!(cm.metadata.name.as_deref(), Some("old"));
                return Ok(());
            }
            other => bail!("expected the delete, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn status_subresource_and_generation() -> Result<()> {
    let server = KubeServer::start()?;
    let api: Api<Deployment> = Api::default_namespaced(client(&server)?);
    let dep: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "app", "image": "a:1"}]}}},
    }))?;
    let created = api.create(&PostParams::default(), &dep).await?;
    assert_eq!(created.metadata.generation, Some(1));
    let status = json!({"status": {"replicas": 1, "readyReplicas": 1}, "spec": {"replicas": 9}});
    let after = api
        .patch_status("d", &PatchParams::default(), &Patch::Merge(&status))
        .await?;
    let ready = after.status.as_ref().and_then(|s| s.ready_replicas);
    assert_eq!(ready, Some(1));
    assert_eq!(
        after.spec.as_ref().and_then(|s| s.replicas),
        Some(1),
        "status writes leave spec alone"
    );
    assert_eq!(after.metadata.generation, Some(1));
    let spec = json!({"spec": {"replicas": 3}, "status": {"readyReplicas": 0}});
    let after = api
        .patch("d", &PatchParams::default(), &Patch::Merge(&spec))
        .await?;
    assert_eq!(after.metadata.generation, Some(2));
    assert_eq!(
        after.status.and_then(|s| s.ready_replicas),
        Some(1),
        "spec writes leave status alone"
    );
    Ok(())
}

#[tokio::test]
async fn finalizers_delay_deletion_and_namespaces_must_exist() -> Result<()> {
    let server = KubeServer::start()?;
    let client = client(&server)?;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let mut cm = configmap("held", "web", "1");
    cm.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &cm).await?;
    let marked = api.delete("held", &DeleteParams::background()).await?;
    let marked = marked
        .left()
        .context("a held object comes back, not a Status")?;
    assert!(marked.metadata.deletion_timestamp.is_some());
    assert!(api.get("held").await?.metadata.deletion_timestamp.is_some());
    let release = json!({"metadata": {"finalizers": null}});
    api.patch("held", &PatchParams::default(), &Patch::Merge(&release))
        .await?;
    let gone = api_error(api.get("held").await)?;
    assert_eq!(gone.code, 404);
    let elsewhere: Api<ConfigMap> = Api::namespaced(client, "missing");
    let status = api_error(
        elsewhere
            .create(&PostParams::default(), &configmap("x", "web", "1"))
            .await,
    )?;
    assert_eq!(
        (status.code, status.message.as_str()),
        (404, "namespaces \"missing\" not found")
    );
    Ok(())
}

#[tokio::test]
async fn delete_collection_by_label() -> Result<()> {
    let server = KubeServer::start()?;
    let api: Api<ConfigMap> = Api::default_namespaced(client(&server)?);
    for (name, app) in [("a", "web"), ("b", "db"), ("c", "web")] {
        api.create(&PostParams::default(), &configmap(name, app, "1"))
            .await?;
    }
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("app=web"),
    )
    .await?;
    assert_eq!(names(&api.list(&ListParams::default()).await?), ["b"]);
    Ok(())
}

#[tokio::test]
async fn streaming_list_ends_initial_events_with_a_bookmark() -> Result<()> {
    let server = KubeServer::start()?;
    let api: Api<ConfigMap> = Api::default_namespaced(client(&server)?);
    for name in ["a", "b"] {
        api.create(&PostParams::default(), &configmap(name, "web", "1"))
            .await?;
    }
    let mut stream = api
        .watch(&WatchParams::streaming_lists().timeout(30), "")
        .await?
        .boxed();
    let mut added = Vec::new();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .context("watch stalled")??
            .context("watch ended")?;
        match event {
            WatchEvent::Added(cm) => added.push(cm.metadata.name.unwrap_or_default()),
            WatchEvent::Bookmark(b) => {
                let end = b
                    .metadata
                    .annotations
                    .get("k8s.io/initial-events-end")
                    .map(String::as_str);
                assert_eq!(
                    end,
                    Some("true"),
                    "the first bookmark ends the initial events"
                );
                break;
            }
            other => bail!("unexpected event {other:?}"),
        }
    }
    assert_eq!(added, ["a", "b"]);
    Ok(())
}

#[tokio::test]
async fn injected_faults_reach_a_client_without_retries() -> Result<()> {
    let server = KubeServer::start()?;
    let api: Api<ConfigMap> = Api::default_namespaced(client(&server)?);
    api.create(&PostParams::default(), &configmap("f", "web", "1"))
        .await?;
    for (kind, code, reason) in [
        (FaultKind::TooManyRequests, 429, "TooManyRequests"),
        (FaultKind::ServiceUnavailable, 503, "ServiceUnavailable"),
        (FaultKind::GatewayTimeout, 504, "Timeout"),
        (FaultKind::InternalError, 500, "InternalError"),
    ] {
        server.inject(Fault {
            method: Some("GET".into()),
            path_contains: "/configmaps/f".into(),
            count: 1,
            kind,
        });
        let status = api_error(api.get("f").await)?;
        assert_eq!((status.code, status.reason.as_str()), (code, reason));
        // One failure only: the next request is served.
        assert_eq!(api.get("f").await?.metadata.name.as_deref(), Some("f"));
    }
    Ok(())
}

#[tokio::test]
async fn kube_rs_retries_a_503_by_default() -> Result<()> {
    let server = KubeServer::start()?;
    let mut config = kube::Config::new(server.url().parse()?);
    config.default_namespace = "default".into();
    let api: Api<ConfigMap> = Api::default_namespaced(Client::try_from(config)?);
    api.create(&PostParams::default(), &configmap("r", "web", "1"))
        .await?;
    server.inject(Fault {
        method: None,
        path_contains: "/configmaps/r".into(),
        count: 1,
        kind: FaultKind::ServiceUnavailable,
    });
    assert_eq!(
        api.get("r").await?.metadata.name.as_deref(),
        Some("r"),
        "the default client retried"
    );
    Ok(())
}

#[tokio::test]
async fn metadata_only_reads_and_watches() -> Result<()> {
    let server = KubeServer::start()?;
    let api: Api<ConfigMap> = Api::default_namespaced(client(&server)?);
    api.create(&PostParams::default(), &configmap("m", "web", "1"))
        .await?;
    let one = api.get_metadata("m").await?;
    let kind = one.types.as_ref().map(|t| t.kind.as_str());
    assert_eq!(
        kind,
        Some("PartialObjectMetadata"),
        "the server answered the metadata form"
    );
    assert_eq!(one.metadata.labels.unwrap_or_default()["app"], "web");
    let list = api
        .list_metadata(&ListParams::default().labels("app=web"))
        .await?;
    let rv = list
        .metadata
        .resource_version
        .clone()
        .context("no resourceVersion")?;
    let names: Vec<String> = list
        .items
        .into_iter()
        .filter_map(|m| m.metadata.name)
        .collect();
    assert_eq!(names, ["m"]);
    let mut stream = api
        .watch_metadata(&WatchParams::default().timeout(30), &rv)
        .await?
        .boxed();
    api.delete("m", &Default::default()).await?;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .context("watch stalled")??
            .context("watch ended")?;
        match event {
            WatchEvent::Bookmark(_) => continue,
            WatchEvent::Deleted(m) => {
                assert_eq!(m.metadata.name.as_deref(), Some("m"));
                return Ok(());
            }
            other => bail!("unexpected event {other:?}"),
        }
    }
}
