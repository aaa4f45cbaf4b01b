//! The kube-rs shell around the sans-I/O deploy core (feature `kube`): it reads what
//! [`crate::deploy::plan`] needs from the cluster (discovery, the inventory, live objects,
//! namespaces), executes the planned [`Action`]s with server-side apply, and reads the applied
//! objects back for [`crate::status`].
//!
//! Every decision — order, prune, what counts as drift — stays in the core; this module only
//! translates actions into API requests:
//!
//! * `EnsureNamespace`: get; when missing, create it with `namespaceLabels`/`namespaceAnnotations`
//!   (refused when `createNamespace: false`); when present, merge-patch labels and annotations
//!   that differ. A create and a merge patch rather than an apply, so that a `Namespace` object
//!   of the bundle itself, applied later by the same field manager, does not drop them.
//! * `Apply`: `PATCH` with `application/apply-patch+yaml`, `fieldManager=fleet-agent`, `force`
//!   as planned; namespaced objects without a namespace go to the release namespace.
//! * `WaitEstablished`: polls the CRD until `Established=True`, then refreshes discovery so its
//!   kinds resolve.
//! * `Delete`: background propagation; an object already gone is fine.
//! * `RunHooks`: drives [`hooks::Run`]: deletes (background, then polled until gone),
//!   creates with server-side apply (no `force`, as Helm creates hooks), and waits by polling
//!   the created object every [`HOOK_POLL`] until [`hooks::progress`] says done or failed,
//!   within [`hooks::timeout`].
//! * `RecordInventory`: applies the inventory ConfigMap in the agent's namespace (created when
//!   missing).

pub mod discovery;
pub mod watch;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use fleet_core::crd::{BundleDeployment, BundleDeploymentSpec, BundleDeploymentStatus};
use fleet_render::files::Files;
use fleet_render::render::{ClusterFacts, Renderer};

use crate::deploy::{
    self, Action, FIELD_MANAGER, Inventory, InventoryError, ObjectRef, PlanInput, inventory_name,
    release_namespace,
};
use crate::hooks::{self, Hook, Progress, Step, Wait};
use crate::status;

pub use discovery::ApiDiscovery;

/// The namespace Fleet's agent runs in; inventories are kept there unless told otherwise.
pub const DEFAULT_AGENT_NAMESPACE: &str = "cattle-fleet-system";

/// How long a CRD may take to become `Established`.
pub const ESTABLISHED_TIMEOUT: Duration = Duration::from_secs(60);

const ESTABLISHED_POLL: Duration = Duration::from_millis(100);

/// How often a hook being waited for (or deleted) is read again.
pub const HOOK_POLL: Duration = Duration::from_millis(200);

/// Why a deploy or uninstall could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Rendering or planning refused the deployment (nothing was applied).
    #[error(transparent)]
    Plan(#[from] deploy::Error),
    /// The API server refused or failed a request.
    #[error("{action} {object}: {message}")]
    Api {
        /// What was attempted (`apply`, `delete`, `get`, …).
        action: &'static str,
        /// The object or resource it was attempted on.
        object: String,
        /// The server's message (or the transport error).
        message: String,
        /// The client error.
        #[source]
        source: Box<kube::Error>,
    },
    /// The inventory ConfigMap of a previous deploy cannot be read.
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// A CRD applied by this deployment did not become `Established` in time.
    #[error("customresourcedefinition {name}: not Established after {seconds} s")]
    NotEstablished {
        /// CRD name.
        name: String,
        /// How long was waited.
        seconds: u64,
    },
    /// The release namespace is missing and `createNamespace` is `false`.
    #[error("namespace {0} not found (namespace creation is disabled)")]
    NamespaceNotCreated(String),
    /// A kind that was served when planned is no longer served.
    #[error("{0}: the server does not serve this kind")]
    NotServed(String),
    /// The monitoring comparison failed.
    #[error(transparent)]
    Observe(#[from] status::ObserveError),
    /// A Helm hook failed; the message is Helm's (`failed pre-install: resource Job/…`).
    #[error("{0}")]
    Hook(String),
}

fn api_error(action: &'static str, object: impl std::fmt::Display, source: kube::Error) -> Error {
    let message = match &source {
        kube::Error::Api(status) if !status.message.is_empty() => status.message.clone(),
        other => other.to_string(),
    };
    Error::Api {
        action,
        object: object.to_string(),
        message,
        source: Box::new(source),
    }
}

fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

/// Executes deploy plans against one cluster.
pub struct Executor {
    client: Client,
    discovery: ApiDiscovery,
    agent_namespace: String,
    established_timeout: Duration,
}

impl Executor {
    /// An executor on `client`, keeping inventories in `agent_namespace`; runs discovery once.
    pub async fn connect(client: Client, agent_namespace: &str) -> Result<Executor, Error> {
        let discovery = ApiDiscovery::load(&client)
            .await
            .map_err(|e| api_error("discover", "API resources", e))?;
        Ok(Executor {
            client,
            discovery,
            agent_namespace: agent_namespace.to_string(),
            established_timeout: ESTABLISHED_TIMEOUT,
        })
    }

    /// Sets how long a CRD may take to become `Established`.
    pub fn with_established_timeout(mut self, timeout: Duration) -> Executor {
        self.established_timeout = timeout;
        self
    }

    /// The client it sends requests with.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// What discovery currently knows.
    pub fn discovery(&self) -> &ApiDiscovery {
        &self.discovery
    }

    async fn refresh_discovery(&mut self) -> Result<(), Error> {
        self.discovery = ApiDiscovery::load(&self.client)
            .await
            .map_err(|e| api_error("discover", "API resources", e))?;
        Ok(())
    }

    /// The API of one object's kind, in its namespace (`default_namespace` when a namespaced
    /// object names none); with the namespace the object is addressed in.
    fn api_for(
        &self,
        r: &ObjectRef,
        default_namespace: &str,
    ) -> Result<(Api<DynamicObject>, String), Error> {
        let served = self
            .discovery
            .get(&r.api_version, &r.kind)
            .ok_or_else(|| Error::NotServed(r.to_string()))?;
        if served.namespaced {
            let ns = if r.namespace.is_empty() {
                default_namespace
            } else {
                &r.namespace
            };
            Ok((
                Api::namespaced_with(self.client.clone(), ns, &served.resource),
                ns.to_string(),
            ))
        } else {
            Ok((
                Api::all_with(self.client.clone(), &served.resource),
                String::new(),
            ))
        }
    }

    /// The inventory a previous deploy of `bd_name` recorded, if any.
    pub async fn read_inventory(&self, bd_name: &str) -> Result<Option<Inventory>, Error> {
        let name = inventory_name(bd_name);
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.agent_namespace);
        let found = api
            .get_opt(&name)
            .await
            .map_err(|e| api_error("get", format!("configmap {name}"), e))?;
        let Some(config_map) = found else {
            return Ok(None);
        };
        let value = serde_json::to_value(&config_map).unwrap_or(Value::Null);
        Ok(Some(Inventory::from_config_map(&value)?))
    }

    /// The names of the BundleDeployments whose inventory the agent's namespace holds (the
    /// name recorded in the inventory, else its ConfigMap's label); inventories that cannot
    /// be read are skipped, since nothing could be uninstalled from them.
    pub async fn inventories(&self) -> Result<Vec<String>, Error> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.agent_namespace);
        let list = api
            .list(&ListParams::default().labels(deploy::INVENTORY_LABEL))
            .await
            .map_err(|e| api_error("list", "inventory configmaps", e))?;
        let mut names = Vec::new();
        for config_map in list.items {
            let label = config_map
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(deploy::INVENTORY_LABEL))
                .cloned()
                .unwrap_or_default();
            let value = serde_json::to_value(&config_map).unwrap_or(Value::Null);
            let Ok(inventory) = Inventory::from_config_map(&value) else {
                continue;
            };
            let name = if inventory.bundle_deployment.is_empty() {
                label
            } else {
                inventory.bundle_deployment
            };
            if !name.is_empty() {
                names.push(name);
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// The live objects of `refs` that exist (kinds no longer served are skipped).
    async fn live_of(
        &self,
        refs: &[ObjectRef],
        default_namespace: &str,
    ) -> Result<Vec<Value>, Error> {
        let mut live = Vec::new();
        for r in refs {
            let Ok((api, _)) = self.api_for(r, default_namespace) else {
                continue;
            };
            let found = api
                .get_opt(&r.name)
                .await
                .map_err(|e| api_error("get", r, e))?;
            if let Some(object) = found {
                live.push(with_type(object, r));
            }
        }
        Ok(live)
    }

    async fn namespaces(&self) -> Result<BTreeSet<String>, Error> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let list = api
            .list_metadata(&ListParams::default())
            .await
            .map_err(|e| api_error("list", "namespaces", e))?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .collect())
    }

    /// Renders nothing, decides nothing: plans `objects` for `bd_name` against what the cluster
    /// holds and executes the plan. Returns the inventory recorded.
    ///
    /// `hooks` are the Helm hooks rendered with the objects; those of the operation (install
    /// or upgrade, from the inventory) run around the objects.
    pub async fn apply(
        &mut self,
        bd_name: &str,
        spec: &BundleDeploymentSpec,
        objects: &[Value],
        hooks: &[Hook],
        force: bool,
    ) -> Result<Inventory, Error> {
        // A kind discovery has not seen may have been added since it ran.
        let unknown = objects
            .iter()
            .chain(hooks.iter().map(|h| &h.object))
            .any(|o| {
                let field = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("");
                self.discovery
                    .get(field("apiVersion"), field("kind"))
                    .is_none()
            });
        if unknown {
            self.refresh_discovery().await?;
        }
        let release_ns = release_namespace(spec).to_string();
        let inventory = self.read_inventory(bd_name).await?;
        // The planner reads live objects only to decide whether a stale entry may be pruned,
        // so only entries no longer rendered are fetched.
        let desired: BTreeSet<(String, String, String, String)> = objects
            .iter()
            .enumerate()
            .filter_map(|(i, o)| ObjectRef::of(o, i).ok())
            .map(|r| identity(&r))
            .collect();
        let live = match &inventory {
            Some(previous) => {
                let stale: Vec<ObjectRef> = previous
                    .objects
                    .iter()
                    .filter(|r| !desired.contains(&identity(r)))
                    .cloned()
                    .collect();
                self.live_of(&stale, &release_ns).await?
            }
            None => Vec::new(),
        };
        let existing_namespaces = self.namespaces().await?;
        let actions = deploy::plan(&PlanInput {
            bd_name,
            spec,
            objects,
            hooks,
            inventory: inventory.as_ref(),
            live: &live,
            existing_namespaces: &existing_namespaces,
            discovery: &self.discovery,
            force,
        })?;
        let mut recorded = Inventory::default();
        let mut applied = Vec::new();
        for action in actions {
            let applying = match &action {
                Action::Apply { object, .. } => ObjectRef::of(object, 0).ok(),
                _ => None,
            };
            if let Action::RecordInventory { inventory } = &action {
                recorded = inventory.clone();
            }
            if let Err(error) = self.execute(bd_name, spec, &release_ns, action).await {
                if !applied.is_empty() {
                    self.record_partial(bd_name, &release_ns, inventory.as_ref(), applied)
                        .await;
                }
                return Err(error);
            }
            applied.extend(applying);
        }
        Ok(recorded)
    }

    /// After a failed deploy, records the previous inventory plus what this deploy applied
    /// before failing, under the previous deployment ID: the next deploy or an uninstall then
    /// prunes those objects too instead of leaving them unowned. Best effort: the deploy
    /// error is what is reported, and a failure here leaves the previous inventory in place.
    async fn record_partial(
        &self,
        bd_name: &str,
        release_ns: &str,
        previous: Option<&Inventory>,
        applied: Vec<ObjectRef>,
    ) {
        let mut objects: BTreeSet<ObjectRef> = applied.into_iter().collect();
        objects.extend(previous.iter().flat_map(|p| p.objects.iter().cloned()));
        let inventory = Inventory {
            deployment_id: previous
                .map(|p| p.deployment_id.clone())
                .unwrap_or_default(),
            namespace: release_ns.to_string(),
            objects: objects.into_iter().collect(),
            bundle_deployment: bd_name.to_string(),
            keep_resources: previous.is_some_and(|p| p.keep_resources),
            hooks: previous.map(|p| p.hooks.clone()).unwrap_or_default(),
        };
        let _ = self.record_inventory(bd_name, &inventory).await;
    }

    async fn execute(
        &mut self,
        bd_name: &str,
        spec: &BundleDeploymentSpec,
        release_ns: &str,
        action: Action,
    ) -> Result<(), Error> {
        match action {
            Action::EnsureNamespace {
                name,
                labels,
                annotations,
            } => {
                let create = spec.options.create_namespace != Some(false);
                self.ensure_namespace(&name, &labels, &annotations, create)
                    .await
            }
            Action::Apply { object, force } => self.apply_object(object, force, release_ns).await,
            Action::WaitEstablished { name } => self.wait_established(&name).await,
            Action::Delete { object } => self.delete(&object, release_ns).await,
            Action::RecordInventory { inventory } => {
                self.record_inventory(bd_name, &inventory).await
            }
            Action::RunHooks { event, hooks } => {
                self.run_hooks(&hooks, event, release_ns, hooks::timeout(spec))
                    .await
            }
        }
    }

    /// Runs the hooks of `event` among `hooks`; the error is Helm's message for the event.
    pub async fn run_hooks(
        &mut self,
        hooks: &[Hook],
        event: hooks::Event,
        release_ns: &str,
        timeout: Duration,
    ) -> Result<(), Error> {
        let mut run = hooks::Run::new(hooks, event);
        let mut previous = Ok(());
        loop {
            previous = match run.next(previous) {
                Step::Finished(Ok(())) => return Ok(()),
                Step::Finished(Err(message)) => return Err(Error::Hook(event.failure(&message))),
                Step::Delete(r) => self.delete_hook(&r, release_ns, timeout).await,
                Step::Create(object) => self
                    .apply_object(object, false, release_ns)
                    .await
                    .map_err(|e| e.to_string()),
                Step::Await(r, wait) => self.await_hook(&r, wait, release_ns, timeout).await,
            };
        }
    }

    /// Deletes a hook object and waits until it is gone (Helm waits so that the next create
    /// does not meet the old copy).
    async fn delete_hook(
        &self,
        r: &ObjectRef,
        release_ns: &str,
        timeout: Duration,
    ) -> Result<(), String> {
        let Ok((api, namespace)) = self.api_for(r, release_ns) else {
            return Ok(());
        };
        match api.delete(&r.name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(api_error("delete", r, e).to_string()),
        }
        let started = Instant::now();
        loop {
            match api.get_opt(&r.name).await {
                Ok(None) => return Ok(()),
                Ok(Some(_)) if started.elapsed() < timeout => {}
                Ok(Some(_)) => {
                    return Err(format!(
                        "resource {}/{namespace}/{} still exists\ncontext deadline exceeded",
                        r.kind, r.name
                    ));
                }
                Err(e) => return Err(api_error("get", r, e).to_string()),
            }
            tokio::time::sleep(HOOK_POLL).await;
        }
    }

    /// Waits for a created hook as Helm's status watcher does for hooks.
    async fn await_hook(
        &self,
        r: &ObjectRef,
        wait: Wait,
        release_ns: &str,
        timeout: Duration,
    ) -> Result<(), String> {
        if wait == Wait::Nothing {
            return Ok(());
        }
        let (api, namespace) = self.api_for(r, release_ns).map_err(|e| e.to_string())?;
        let shown = ObjectRef {
            namespace,
            ..r.clone()
        };
        let started = Instant::now();
        loop {
            let last = match api.get_opt(&r.name).await {
                Ok(Some(object)) => {
                    hooks::progress(wait, &serde_json::to_value(&object).unwrap_or(Value::Null))
                }
                Ok(None) => Progress::Running("Resource not found".to_string()),
                Err(e) => return Err(api_error("get", r, e).to_string()),
            };
            match &last {
                Progress::Done(_) => return Ok(()),
                Progress::Failed(_) => return Err(hooks::not_ready(&shown, &last, false)),
                Progress::Running(_) if started.elapsed() >= timeout => {
                    return Err(hooks::not_ready(&shown, &last, true));
                }
                Progress::Running(_) => tokio::time::sleep(HOOK_POLL).await,
            }
        }
    }

    async fn ensure_namespace(
        &self,
        name: &str,
        labels: &std::collections::BTreeMap<String, String>,
        annotations: &std::collections::BTreeMap<String, String>,
        create: bool,
    ) -> Result<(), Error> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let what = format!("namespace {name}");
        let found = api
            .get_opt(name)
            .await
            .map_err(|e| api_error("get", &what, e))?;
        match found {
            None if !create => Err(Error::NamespaceNotCreated(name.to_string())),
            None => {
                let mut namespace = Namespace::default();
                namespace.metadata.name = Some(name.to_string());
                if !labels.is_empty() {
                    namespace.metadata.labels = Some(labels.clone());
                }
                if !annotations.is_empty() {
                    namespace.metadata.annotations = Some(annotations.clone());
                }
                let params = PostParams {
                    field_manager: Some(FIELD_MANAGER.to_string()),
                    ..PostParams::default()
                };
                match api.create(&params, &namespace).await {
                    Ok(_) => Ok(()),
                    // Created meanwhile by someone else: what matters is that it exists.
                    Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
                    Err(e) => Err(api_error("create", &what, e)),
                }
            }
            Some(live) => {
                let differs = |want: &std::collections::BTreeMap<String, String>,
                               have: &Option<std::collections::BTreeMap<String, String>>| {
                    want.iter()
                        .any(|(k, v)| have.as_ref().and_then(|h| h.get(k)) != Some(v))
                };
                if !differs(labels, &live.metadata.labels)
                    && !differs(annotations, &live.metadata.annotations)
                {
                    return Ok(());
                }
                let patch = json!({"metadata": {"labels": labels, "annotations": annotations}});
                let params = PatchParams {
                    field_manager: Some(FIELD_MANAGER.to_string()),
                    ..PatchParams::default()
                };
                api.patch(name, &params, &Patch::Merge(&patch))
                    .await
                    .map_err(|e| api_error("patch", &what, e))?;
                Ok(())
            }
        }
    }

    async fn apply_object(
        &self,
        object: Value,
        force: bool,
        release_ns: &str,
    ) -> Result<(), Error> {
        let r = ObjectRef::of(&object, 0)?;
        let (api, namespace) = self.api_for(&r, release_ns)?;
        let mut object = object;
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            if namespace.is_empty() {
                // Cluster-scoped: a namespace in the manifest means nothing to the server.
                metadata.remove("namespace");
            } else {
                metadata.insert("namespace".to_string(), Value::String(namespace));
            }
        }
        let mut params = PatchParams::apply(FIELD_MANAGER);
        if force {
            params = params.force();
        }
        api.patch(&r.name, &params, &Patch::Apply(&object))
            .await
            .map_err(|e| api_error("apply", &r, e))?;
        Ok(())
    }

    async fn wait_established(&mut self, name: &str) -> Result<(), Error> {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let started = Instant::now();
        loop {
            let crd = api
                .get_opt(name)
                .await
                .map_err(|e| api_error("get", format!("customresourcedefinition {name}"), e))?;
            let established = crd
                .and_then(|c| c.status)
                .and_then(|s| s.conditions)
                .is_some_and(|conditions| {
                    conditions
                        .iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                });
            if established {
                break;
            }
            if started.elapsed() >= self.established_timeout {
                return Err(Error::NotEstablished {
                    name: name.to_string(),
                    seconds: self.established_timeout.as_secs(),
                });
            }
            tokio::time::sleep(ESTABLISHED_POLL).await;
        }
        // Its kinds are served now; the next applies must resolve them.
        self.refresh_discovery().await
    }

    async fn delete(&self, r: &ObjectRef, release_ns: &str) -> Result<(), Error> {
        // A kind that is no longer served has no objects left to delete.
        let Ok((api, _)) = self.api_for(r, release_ns) else {
            return Ok(());
        };
        match api.delete(&r.name, &DeleteParams::background()).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api_error("delete", r, e)),
        }
    }

    async fn record_inventory(&self, bd_name: &str, inventory: &Inventory) -> Result<(), Error> {
        self.ensure_namespace(
            &self.agent_namespace,
            &Default::default(),
            &Default::default(),
            true,
        )
        .await?;
        let config_map = inventory.to_config_map(bd_name, &self.agent_namespace);
        let name = inventory_name(bd_name);
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.agent_namespace);
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&config_map),
        )
        .await
        .map_err(|e| api_error("apply", format!("configmap {name}"), e))?;
        Ok(())
    }

    /// Uninstalls what `bd_name` recorded: its objects in reverse install order (not with
    /// `keepResources`, not those labelled `prune=false`), the release namespace with
    /// `deleteNamespace`, then the inventory itself. Returns what was deleted.
    pub async fn uninstall(
        &mut self,
        bd_name: &str,
        spec: &BundleDeploymentSpec,
    ) -> Result<Vec<ObjectRef>, Error> {
        let Some(inventory) = self.read_inventory(bd_name).await? else {
            return Ok(Vec::new());
        };
        let release_ns = if inventory.namespace.is_empty() {
            release_namespace(spec).to_string()
        } else {
            inventory.namespace.clone()
        };
        // Fleet keeping the resources removes only the release record: no hooks either.
        let run_hooks = !deploy::keeps_resources(spec, &inventory);
        let timeout = hooks::timeout(spec);
        if run_hooks {
            self.run_hooks(
                &inventory.hooks,
                hooks::Event::PreDelete,
                &release_ns,
                timeout,
            )
            .await?;
        }
        let live = self.live_of(&inventory.objects, &release_ns).await?;
        let mut doomed = deploy::plan_uninstall(spec, &inventory, &live);
        // With `deleteNamespace` the plan ends with the release namespace; Fleet deletes it
        // after Helm's uninstall, so after the post-delete hooks, which may live there.
        let namespace = (spec.options.delete_namespace && !inventory.namespace.is_empty())
            .then(|| doomed.pop())
            .flatten();
        for r in &doomed {
            self.delete(r, &release_ns).await?;
        }
        let name = inventory_name(bd_name);
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.agent_namespace);
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(api_error("delete", format!("configmap {name}"), e)),
        }
        // Helm runs post-delete hooks after the release is gone and reports their failure
        // without bringing the release back; the namespace goes either way, since nothing
        // would be left to retry the uninstall with.
        let post_delete = if run_hooks {
            self.run_hooks(
                &inventory.hooks,
                hooks::Event::PostDelete,
                &release_ns,
                timeout,
            )
            .await
        } else {
            Ok(())
        };
        if let Some(r) = namespace {
            self.delete(&r, &release_ns).await?;
            doomed.push(r);
        }
        post_delete?;
        Ok(doomed)
    }

    /// The live objects of `bd_name`'s kinds that carry its objectset hash label: one list
    /// request per kind of `desired`, so objects of those kinds that should not be there are
    /// seen too.
    pub async fn live_objects(
        &self,
        bd_name: &str,
        desired: &[Value],
    ) -> Result<Vec<Value>, Error> {
        let selector = format!(
            "{}={}",
            fleet_render::postrender::HASH_LABEL,
            set_hash(bd_name)
        );
        let kinds: BTreeSet<(String, String)> = desired
            .iter()
            .filter_map(|o| {
                Some((
                    o.get("apiVersion")?.as_str()?.to_string(),
                    o.get("kind")?.as_str()?.to_string(),
                ))
            })
            .collect();
        let mut live = Vec::new();
        for (api_version, kind) in kinds {
            let Some(served) = self.discovery.get(&api_version, &kind) else {
                continue;
            };
            let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &served.resource);
            let list = api
                .list(&ListParams::default().labels(&selector))
                .await
                .map_err(|e| api_error("list", format!("{kind} {api_version}"), e))?;
            let r = ObjectRef {
                api_version: api_version.clone(),
                kind: kind.clone(),
                namespace: String::new(),
                name: String::new(),
            };
            // Hooks carry the objectset label too (Helm v4 post-renders them) but are not
            // release objects, so monitoring never sees them.
            live.extend(
                list.items
                    .into_iter()
                    .filter(|o| !is_hook(o))
                    .map(|o| with_type(o, &r)),
            );
        }
        Ok(live)
    }
}

/// The objectset hash label value of `bd_name`'s objects (set ID `default-<bd>`).
pub fn set_hash(bd_name: &str) -> String {
    fleet_render::diff::set_hash(&fleet_render::diff::set_id(
        bd_name,
        fleet_render::postrender::AGENT_LABEL_PREFIX,
        "",
    ))
}

/// Whether a live object is a Helm hook.
pub fn is_hook(object: &DynamicObject) -> bool {
    object
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(hooks::HOOK_ANNOTATION))
}

/// An object's identity across apiVersion bumps, as the planner compares inventories.
fn identity(r: &ObjectRef) -> (String, String, String, String) {
    (
        r.group().to_string(),
        r.kind.clone(),
        r.namespace.clone(),
        r.name.clone(),
    )
}

/// A live object as JSON, with the `apiVersion` and `kind` list items may lack.
fn with_type(object: DynamicObject, r: &ObjectRef) -> Value {
    let mut value = serde_json::to_value(&object).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.entry("apiVersion")
            .or_insert_with(|| Value::String(r.api_version.clone()));
        map.entry("kind")
            .or_insert_with(|| Value::String(r.kind.clone()));
    }
    value
}

/// The result of one deploy: the status to report, and the error when the deploy failed
/// (the status then says so too).
#[derive(Debug)]
pub struct Outcome {
    /// The BundleDeployment's new status, in Fleet's shape.
    pub status: BundleDeploymentStatus,
    /// Why the deploy failed, if it did.
    pub error: Option<Error>,
    /// The rendered objects (empty when rendering failed): what monitoring compares with.
    pub objects: Vec<Value>,
}

/// One deploy of a BundleDeployment, as the agent's reconcile does it: render its manifest
/// files, plan and apply (unless `paused`), read the applied objects back, and fold the
/// comparison into Fleet's status; [`watch::monitor`] carries on from there. `now` is the RFC 3339 time stamped on changed conditions.
pub async fn deploy_bundle(
    executor: &mut Executor,
    renderer: &Renderer,
    bd: &BundleDeployment,
    files: &Files,
    cluster: &ClusterFacts,
    now: &str,
) -> Outcome {
    let mut status = bd.status.clone().unwrap_or_default();
    let deployment_id = bd.spec.deployment_id.as_str();
    let (objects, result) = match deploy::render(renderer, bd, files, cluster) {
        Ok(rendered) => {
            let (objects, hooks) = hooks::split(rendered);
            let result = apply_and_observe(executor, bd, &objects, &hooks, &mut status, now).await;
            (objects, result)
        }
        Err(error) => (Vec::new(), Err(error.into())),
    };
    let error = match result {
        Ok(()) => None,
        Err(error) => {
            status::deploy_failed(&mut status, deployment_id, &error.to_string(), now);
            Some(error)
        }
    };
    let mut reported = bd.clone();
    reported.status = Some(status.clone());
    status.display = status::display(&reported);
    Outcome {
        status,
        error,
        objects,
    }
}

async fn apply_and_observe(
    executor: &mut Executor,
    bd: &BundleDeployment,
    objects: &[Value],
    hooks: &[Hook],
    status: &mut BundleDeploymentStatus,
    now: &str,
) -> Result<(), Error> {
    let bd_name = bd.metadata.name.as_str();
    let spec = &bd.spec;
    if !spec.paused {
        let force = spec.options.helm.as_ref().is_some_and(|h| h.force);
        executor.apply(bd_name, spec, objects, hooks, force).await?;
        let release = format!("{}/{}", release_namespace(spec), release_name(bd));
        status::applied(status, &spec.deployment_id, &release, now);
    }
    let live = executor.live_objects(bd_name, objects).await?;
    let (report, summary) = status::observe(bd_name, spec, objects, &live)?;
    status::monitored(status, &report, &summary, &live, now);
    Ok(())
}

/// The release name: `helm.releaseName`, else the BundleDeployment's name.
fn release_name(bd: &BundleDeployment) -> &str {
    bd.spec
        .options
        .helm
        .as_ref()
        .map(|h| h.release_name.as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or(bd.metadata.name.as_str())
}

/// The current time as RFC 3339 (UTC, whole seconds), as Kubernetes stamps conditions.
pub fn now_rfc3339() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    rfc3339(seconds)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    // Civil date from a day count (the proleptic Gregorian calendar in 400-year eras).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(-86_400), "1969-12-31T00:00:00Z");
    }
}
