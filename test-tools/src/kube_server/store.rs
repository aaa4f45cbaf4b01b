//! The object store and its API semantics, without any HTTP: resource versions, uids,
//! generations, optimistic concurrency, finalizers, patches, server-side apply, the status
//! subresource, namespaces, CustomResourceDefinitions, and the change history watches read.

use std::collections::{BTreeMap, VecDeque};

use fleet_smp::schema::Schema;
use serde_json::{Value, json};

use super::error::{self, Error};
use super::fields::{self, ApplyOutcome, Writer};
use super::resources::{self, ResourceType};
use super::select::{FieldSelector, LabelSelector};
use super::time;

/// The kind of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// The object appeared.
    Added,
    /// The object changed.
    Modified,
    /// The object is gone.
    Deleted,
}

impl EventType {
    /// The wire name (`ADDED`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as kept in the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The resource version the change produced.
    pub revision: u64,
    /// Group of the resource.
    pub group: String,
    /// Plural of the resource.
    pub plural: String,
    /// Namespace of the object (empty for cluster-scoped).
    pub namespace: String,
    /// What happened.
    pub kind: EventType,
    /// The object after the change (for deletes: as it was, with the deleting version).
    pub object: Value,
    /// The object before the change, for selector transitions.
    pub previous: Option<Value>,
}

/// The body format of a patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchType {
    /// From a `Content-Type` header value.
    pub fn from_content_type(content_type: &str) -> Result<Self, Error> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media {
            "application/json-patch+json" => Ok(PatchType::Json),
            "application/merge-patch+json" => Ok(PatchType::Merge),
            "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchType::Apply),
            _ => Err(Error::UnsupportedMediaType(
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
                    .into(),
            )),
        }
    }
}

/// Options of a write.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `fieldManager`.
    pub field_manager: Option<String>,
    /// The manager when the request names none: the real server takes the client's user
    /// agent up to its first `/`.
    pub default_manager: String,
    /// `force` of a server-side apply.
    pub force: bool,
    /// Whether the request goes to the `/status` subresource.
    pub status: bool,
    /// Whether the request goes to the `/scale` subresource.
    pub scale: bool,
    /// `dryRun=All`: validate and answer, keep nothing.
    pub dry_run: bool,
}

/// Options of a list.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `limit` (0: no limit).
    pub limit: usize,
    /// `continue`.
    pub continue_token: Option<String>,
}

/// Options of a delete (`DeleteOptions`, from the body or the query).
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
}

/// Key of a stored object: group, plural, namespace, name.
type Key = (String, String, String, String);

/// What a delete did.
#[derive(Debug, Clone, PartialEq)]
pub enum Deleted {
    /// The object is gone; this is its last state.
    Gone(Value),
    /// The object has finalizers: it is marked with `deletionTimestamp` and stays.
    Pending(Value),
}

/// The store. All methods are synchronous; the HTTP layer holds it behind a lock.
#[derive(Debug, Clone)]
pub struct Store {
    types: Vec<ResourceType>,
    objects: BTreeMap<Key, Value>,
    revision: u64,
    history: VecDeque<Event>,
    history_limit: usize,
    /// Highest revision whose events are no longer kept.
    compacted: u64,
    uid_seed: u64,
    uid_counter: u64,
    schema: Schema,
    ready_workloads: bool,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

const DEFAULT_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// The status a workload controller reports once the rollout of the object's spec is done.
fn rolled_out(kind: &str, object: &mut Value) {
    let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
    let generation = object["metadata"]["generation"].as_i64().unwrap_or(1);
    let revision = format!("{}-{generation}", meta(object, "name"));
    let status = match kind {
        "Deployment" => json!({
        "observedGeneration": generation, "replicas": replicas,
        "updatedReplicas": replicas, "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}
        ]}),
        "StatefulSet" => json!({
            "observedGeneration": generation, "replicas": replicas,
            "readyReplicas": replicas, "currentReplicas": replicas,
            "updatedReplicas": replicas, "availableReplicas": replicas,
            "currentRevision": revision, "updateRevision": revision}),
        "ReplicaSet" => json!({
            "observedGeneration": generation, "replicas": replicas,
            "fullyLabeledReplicas": replicas, "readyReplicas": replicas,
            "availableReplicas": replicas}),
        // One node: one pod per DaemonSet.
        "DaemonSet" => json!({
            "observedGeneration": generation, "desiredNumberScheduled": 1,
            "currentNumberScheduled": 1, "updatedNumberScheduled": 1,
            "numberAvailable": 1, "numberReady": 1, "numberMisscheduled": 0}),
        _ => return,
    };
    object["status"] = status;
}

fn meta(object: &Value, key: &str) -> String {
    object["metadata"][key].as_str().unwrap_or("").to_string()
}

/// Optimistic concurrency: a write naming a resourceVersion other than the live object's is a
/// Conflict, with the real API server's message; a write naming none always goes through.
fn check_resource_version(
    rt: &ResourceType,
    name: &str,
    resource_version: &str,
    live: &Value,
) -> Result<(), Error> {
    if resource_version.is_empty() || resource_version == meta(live, "resourceVersion") {
        return Ok(());
    }
    Err(Error::Conflict {
        group: rt.group.clone(),
        resource: rt.plural.clone(),
        name: name.to_string(),
        reason: "the object has been modified; please apply your changes to the latest version and try again".into(),
    })
}

fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// The object without what changes on every write (the resource version, the times of
/// managedFields entries), to detect no-op writes as the real server does.
fn comparable(object: &Value) -> Value {
    let mut v = object.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
        if let Some(entries) = m.get_mut("managedFields").and_then(Value::as_array_mut) {
            for e in entries.iter_mut().filter_map(Value::as_object_mut) {
                e.remove("time");
            }
        }
    }
    v
}

/// The object without metadata and (when it is a subresource) status: what `generation`
/// tracks.
fn generation_content(object: &Value, ignore_status: bool) -> Value {
    let mut v = object.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("apiVersion");
        m.remove("kind");
        if ignore_status {
            m.remove("status");
        }
    }
    v
}

impl Store {
    /// A store with the built-in kinds and the namespaces every cluster has.
    pub fn new() -> Self {
        let seed = time::now_seconds() as u64 ^ u64::from(std::process::id()) << 32;
        let mut store = Store {
            types: resources::builtin(),
            objects: BTreeMap::new(),
            revision: 0,
            history: VecDeque::new(),
            history_limit: 10_000,
            compacted: 0,
            uid_seed: seed,
            uid_counter: 0,
            schema: Schema::builtin().clone(),
            ready_workloads: false,
        };
        let ns = store.resolve("", "v1", "namespaces").cloned();
        if let Ok(ns) = ns {
            for name in DEFAULT_NAMESPACES {
                let body =
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
                // The names are valid and the store is empty, so creation cannot fail.
                let opts = WriteOptions {
                    default_manager: "kube-apiserver".into(),
                    ..WriteOptions::default()
                };
                let _ = store.create(&ns, "", body, &opts);
            }
        }
        store
    }

    /// Plays the workload controllers' part instantly: every Deployment, StatefulSet,
    /// DaemonSet and ReplicaSet written gets the status of a finished rollout of its spec
    /// (for demos of whole systems; off by default, as the server has no controllers).
    pub fn set_ready_workloads(&mut self, on: bool) {
        self.ready_workloads = on;
    }

    /// Caps how many events the history keeps (older resource versions then expire).
    pub fn set_history_limit(&mut self, limit: usize) {
        self.history_limit = limit.max(1);
        self.trim_history();
    }

    /// Drops the whole history, as an etcd compaction does: watches from any version before
    /// now get `410 Gone`.
    pub fn compact(&mut self) {
        self.history.clear();
        self.compacted = self.revision;
    }

    /// The current resource version.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The served resource types.
    pub fn types(&self) -> &[ResourceType] {
        &self.types
    }

    /// The strategic-merge schema (built-in kinds plus created CRDs).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The served type at a group, version and plural.
    pub fn resolve(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Result<&ResourceType, Error> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .ok_or(Error::UnknownResource)
    }

    fn key(rt: &ResourceType, namespace: &str, name: &str) -> Key {
        (
            rt.group.clone(),
            rt.plural.clone(),
            namespace.to_string(),
            name.to_string(),
        )
    }

    fn not_found(rt: &ResourceType, name: &str) -> Error {
        Error::NotFound {
            group: rt.group.clone(),
            resource: rt.plural.clone(),
            name: name.to_string(),
        }
    }

    /// One object, in the version of `rt`.
    pub fn get(&self, rt: &ResourceType, namespace: &str, name: &str) -> Result<Value, Error> {
        self.objects
            .get(&Self::key(rt, namespace, name))
            .map(|o| Self::served_as(rt, o))
            .ok_or_else(|| Self::not_found(rt, name))
    }

    /// Objects are kept in the version they were written in; they are served in the
    /// requested one by relabelling (no conversion).
    fn served_as(rt: &ResourceType, object: &Value) -> Value {
        let mut o = object.clone();
        o["apiVersion"] = json!(rt.api_version());
        o
    }

    /// Objects of `rt` in `namespace` (all namespaces when `None`), in name order.
    fn matching<'a>(
        &'a self,
        rt: &'a ResourceType,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a Key, &'a Value)> + 'a {
        self.objects.iter().filter(move |((g, p, ns, _), _)| {
            *g == rt.group && *p == rt.plural && namespace.is_none_or(|n| n == ns)
        })
    }

    /// A list (`<Kind>List`) with `limit`/`continue` paging.
    pub fn list(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> Result<Value, Error> {
        let after = match &opts.continue_token {
            Some(token) => {
                let (revision, namespace, name) = decode_continue(token)?;
                // The real server can continue a list only while its version is kept.
                if revision < self.compacted {
                    return Err(Error::ContinueExpired);
                }
                Some((namespace, name))
            }
            None => None,
        };
        let mut items = Vec::new();
        let mut next = None;
        let mut remaining = 0u64;
        for ((_, _, ns, name), object) in self.matching(rt, namespace) {
            if let Some((ans, aname)) = &after
                && (ns, name) <= (ans, aname)
            {
                continue;
            }
            if !opts.labels.matches(object) || !opts.fields.matches(object) {
                continue;
            }
            if opts.limit > 0 && items.len() == opts.limit {
                if next.is_none() {
                    let last: &Value = items.last().unwrap_or(&Value::Null);
                    next = Some(encode_continue(
                        self.revision,
                        &meta(last, "namespace"),
                        &meta(last, "name"),
                    ));
                }
                remaining += 1;
                continue;
            }
            items.push(Self::served_as(rt, object));
        }
        let mut metadata = json!({"resourceVersion": self.revision.to_string()});
        if let Some(token) = next {
            metadata["continue"] = json!(token);
            metadata["remainingItemCount"] = json!(remaining);
        }
        Ok(json!({
            "kind": format!("{}List", rt.kind),
            "apiVersion": rt.api_version(),
            "metadata": metadata,
            "items": items,
        }))
    }

    fn check_kind(rt: &ResourceType, body: &Value) -> Result<(), Error> {
        if let Some(kind) = body.get("kind").and_then(Value::as_str)
            && !kind.is_empty()
            && kind != rt.kind
        {
            return Err(Error::BadRequest(format!(
                "the kind in the data ({kind}) does not match the expected kind ({})",
                rt.kind
            )));
        }
        if let Some(api_version) = body.get("apiVersion").and_then(Value::as_str)
            && !api_version.is_empty()
            && api_version != rt.api_version()
        {
            return Err(Error::BadRequest(format!(
                "the API version in the data ({api_version}) does not match the expected API version ({})",
                rt.api_version()
            )));
        }
        Ok(())
    }

    fn check_namespace(
        &self,
        rt: &ResourceType,
        namespace: &str,
        body: &Value,
    ) -> Result<(), Error> {
        let in_body = meta(body, "namespace");
        if rt.namespaced && !in_body.is_empty() && in_body != namespace {
            return Err(Error::BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request".into(),
            ));
        }
        if !rt.namespaced {
            return Ok(());
        }
        let ns_key = (
            String::new(),
            "namespaces".to_string(),
            String::new(),
            namespace.to_string(),
        );
        match self.objects.get(&ns_key) {
            None => Err(Error::NotFound {
                group: String::new(),
                resource: "namespaces".into(),
                name: namespace.to_string(),
            }),
            Some(ns) if ns["metadata"].get("deletionTimestamp").is_some() => {
                Err(Error::Forbidden {
                    group: rt.group.clone(),
                    resource: rt.plural.clone(),
                    name: meta(body, "name"),
                    reason: format!(
                        "unable to create new content in namespace {namespace} because it is being terminated"
                    ),
                })
            }
            Some(_) => Ok(()),
        }
    }

    fn new_uid(&mut self) -> String {
        self.uid_counter += 1;
        let a = self.uid_seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ self.uid_counter;
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (a >> 32) as u32,
            (a >> 16) as u16,
            a as u16 & 0xfff,
            (self.uid_counter >> 12) as u16 & 0xfff,
            self.uid_counter & 0xffff_ffff_ffff
        )
    }

    fn manager(opts: &WriteOptions) -> String {
        opts.field_manager
            .clone()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| opts.default_manager.clone())
    }

    /// Creates an object (`POST`).
    pub fn create(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        body: Value,
        opts: &WriteOptions,
    ) -> Result<Value, Error> {
        self.insert_new(rt, namespace, body, opts, None)
    }

    /// Creates an object; `managed` is its managedFields when the caller has recorded them
    /// (a server-side apply), `None` to record the creator's `Update` entry.
    fn insert_new(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        mut body: Value,
        opts: &WriteOptions,
        managed: Option<Value>,
    ) -> Result<Value, Error> {
        if !body.is_object() {
            return Err(Error::BadRequest(
                "the request body is not a JSON object".into(),
            ));
        }
        check_shape(rt, &body)?;
        Self::check_kind(rt, &body)?;
        if body.get("metadata").is_none_or(|m| !m.is_object()) {
            body["metadata"] = json!({});
        }
        let mut name = meta(&body, "name");
        if name.is_empty() {
            let prefix = meta(&body, "generateName");
            if prefix.is_empty() {
                return Err(Error::invalid(
                    &rt.group,
                    &rt.kind,
                    "",
                    "FieldValueRequired",
                    "metadata.name",
                    "Required value: name or generateName is required",
                ));
            }
            let suffix = self.new_uid().replace('-', "");
            name = format!("{prefix}{}", &suffix[suffix.len() - 5..]);
            body["metadata"]["name"] = json!(name);
        }
        if !is_dns_subdomain(&name) {
            return Err(Error::invalid(
                &rt.group,
                &rt.kind,
                &name,
                "FieldValueInvalid",
                "metadata.name",
                &format!(
                    "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
                ),
            ));
        }
        self.check_namespace(rt, namespace, &body)?;
        let key = Self::key(rt, namespace, &name);
        if self.objects.contains_key(&key) {
            return Err(Error::AlreadyExists {
                group: rt.group.clone(),
                resource: rt.plural.clone(),
                name,
            });
        }
        if rt.kind == "CustomResourceDefinition" && rt.group == "apiextensions.k8s.io" {
            validate_crd(&body, &name)?;
        }
        let manager = Self::manager(opts);
        self.prepare_new(rt, namespace, &mut body);
        let now = time::now();
        let writer = Writer {
            manager: &manager,
            api_version: &rt.api_version(),
            subresource: "",
            status_is_subresource: rt.status_subresource,
            time: &now,
        };
        match managed {
            None => fields::record_update(None, &mut body, &writer, &self.schema),
            Some(Value::Null) => {}
            Some(m) => body["metadata"]["managedFields"] = m,
        }
        if opts.dry_run {
            return Ok(body);
        }
        Ok(self.commit(rt, key, None, body))
    }

    /// Server-set fields of a new object.
    fn prepare_new(&mut self, rt: &ResourceType, namespace: &str, body: &mut Value) {
        body["apiVersion"] = json!(rt.api_version());
        body["kind"] = json!(rt.kind);
        let uid = self.new_uid();
        let m = &mut body["metadata"];
        if let Some(m) = m.as_object_mut() {
            for k in [
                "resourceVersion",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "managedFields",
                "selfLink",
            ] {
                m.remove(k);
            }
        }
        m["uid"] = json!(uid);
        m["creationTimestamp"] = json!(time::now());
        if rt.namespaced {
            m["namespace"] = json!(namespace);
        } else if let Some(m) = m.as_object_mut() {
            m.remove("namespace");
        }
        if rt.generation {
            m["generation"] = json!(1);
        }
        if rt.status_subresource
            && let Some(o) = body.as_object_mut()
        {
            // As the real registries do, a create through the main resource sets no status.
            o.remove("status");
        }
        if rt.kind == "Namespace" && rt.group.is_empty() {
            body["status"] = json!({"phase": "Active"});
            body["spec"] = json!({"finalizers": ["kubernetes"]});
            body["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(meta(body, "name"));
        }
        if rt.kind == "CustomResourceDefinition" && rt.group == "apiextensions.k8s.io" {
            crd_status(body);
        }
    }

    /// Stores `new` under `key` with a fresh resource version and records the event.
    /// An object being deleted whose last finalizer went is removed instead.
    fn commit(&mut self, rt: &ResourceType, key: Key, old: Option<Value>, mut new: Value) -> Value {
        let finalizers_empty = new["metadata"]["finalizers"]
            .as_array()
            .is_none_or(Vec::is_empty);
        if old.is_some() && new["metadata"].get("deletionTimestamp").is_some() && finalizers_empty {
            return self.remove_object(rt, key, new);
        }
        if self.ready_workloads && rt.group == "apps" {
            rolled_out(&rt.kind, &mut new);
        }
        self.revision += 1;
        new["metadata"]["resourceVersion"] = json!(self.revision.to_string());
        let kind = if old.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.objects.insert(key.clone(), new.clone());
        self.record(rt, &key, kind, new.clone(), old);
        if rt.kind == "CustomResourceDefinition" && rt.group == "apiextensions.k8s.io" {
            self.register_crd(&new);
        }
        Self::served_as(rt, &new)
    }

    fn record(
        &mut self,
        rt: &ResourceType,
        key: &Key,
        kind: EventType,
        object: Value,
        previous: Option<Value>,
    ) {
        self.history.push_back(Event {
            revision: self.revision,
            group: rt.group.clone(),
            plural: rt.plural.clone(),
            namespace: key.2.clone(),
            kind,
            object,
            previous,
        });
        self.trim_history();
    }

    fn trim_history(&mut self) {
        while self.history.len() > self.history_limit {
            if let Some(e) = self.history.pop_front() {
                self.compacted = e.revision;
            }
        }
    }

    fn remove_object(&mut self, rt: &ResourceType, key: Key, mut last: Value) -> Value {
        let previous = self.objects.remove(&key);
        self.revision += 1;
        last["metadata"]["resourceVersion"] = json!(self.revision.to_string());
        self.record(rt, &key, EventType::Deleted, last.clone(), previous);
        if rt.kind == "CustomResourceDefinition" && rt.group == "apiextensions.k8s.io" {
            self.unregister_crd(&last);
        }
        if rt.kind == "Namespace" && rt.group.is_empty() {
            self.empty_namespace(&key.3);
        } else if !key.2.is_empty() {
            self.finish_namespace(&key.2.clone());
        }
        Self::served_as(rt, &last)
    }

    /// Replaces an object (`PUT`), with optimistic concurrency on `metadata.resourceVersion`.
    pub fn update(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        body: Value,
        opts: &WriteOptions,
    ) -> Result<Value, Error> {
        if !body.is_object() {
            return Err(Error::BadRequest(
                "the request body is not a JSON object".into(),
            ));
        }
        Self::check_kind(rt, &body)?;
        let key = Self::key(rt, namespace, name);
        let live = self
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| Self::not_found(rt, name))?;
        let rv = meta(&body, "resourceVersion");
        if rv.is_empty() && rt.custom {
            return Err(Error::invalid(
                &rt.group,
                &rt.kind,
                name,
                "FieldValueInvalid",
                "metadata.resourceVersion",
                "Invalid value: 0x0: must be specified for an update",
            ));
        }
        check_resource_version(rt, name, &rv, &live)?;
        let manager = Self::manager(opts);
        self.write(rt, key, live, body, opts, Some(&manager))
    }

    /// The common tail of update and patch: identity checks, the status split, server-set
    /// fields, ownership, generation, no-op detection and the commit.
    fn write(
        &mut self,
        rt: &ResourceType,
        key: Key,
        live: Value,
        mut new: Value,
        opts: &WriteOptions,
        manager: Option<&str>,
    ) -> Result<Value, Error> {
        let name = key.3.clone();
        check_shape(rt, &new)?;
        let new_name = meta(&new, "name");
        if !new_name.is_empty() && new_name != name {
            return Err(Error::BadRequest(format!(
                "the name of the object ({new_name}) does not match the name on the URL ({name})"
            )));
        }
        let new_ns = meta(&new, "namespace");
        if rt.namespaced && !new_ns.is_empty() && new_ns != key.2 {
            return Err(Error::BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request".into(),
            ));
        }
        if opts.status {
            // Only status changes through the subresource.
            let status = new.get("status").cloned();
            new = live.clone();
            match status {
                Some(s) => new["status"] = s,
                None => {
                    if let Some(o) = new.as_object_mut() {
                        o.remove("status");
                    }
                }
            }
        } else if rt.status_subresource {
            // The main resource ignores status for kinds with a status subresource.
            match live.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    if let Some(o) = new.as_object_mut() {
                        o.remove("status");
                    }
                }
            }
        }
        if new.get("metadata").is_none_or(|m| !m.is_object()) {
            new["metadata"] = json!({});
        }
        new["apiVersion"] = json!(rt.api_version());
        new["kind"] = json!(rt.kind);
        for k in [
            "name",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            match live["metadata"].get(k) {
                Some(v) => new["metadata"][k] = v.clone(),
                None => {
                    if let Some(m) = new["metadata"].as_object_mut() {
                        m.remove(k);
                    }
                }
            }
        }
        if rt.namespaced {
            new["metadata"]["namespace"] = json!(key.2);
        }
        if live["metadata"].get("deletionTimestamp").is_some() {
            let before: Vec<Value> = live["metadata"]["finalizers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let added = new["metadata"]["finalizers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|f| !before.contains(f));
            if added {
                return Err(Error::invalid(
                    &rt.group,
                    &rt.kind,
                    &name,
                    "FieldValueForbidden",
                    "metadata.finalizers",
                    "Forbidden: no new finalizers can be added if the object is being deleted",
                ));
            }
        }
        if rt.kind == "CustomResourceDefinition" && rt.group == "apiextensions.k8s.io" {
            validate_crd(&new, &name)?;
            crd_status(&mut new);
        }
        if rt.generation
            && generation_content(&live, rt.status_subresource)
                != generation_content(&new, rt.status_subresource)
        {
            let g = live["metadata"]["generation"].as_i64().unwrap_or(0);
            new["metadata"]["generation"] = json!(g + 1);
        }
        // `None`: a server-side apply has recorded ownership already.
        if let Some(manager) = manager {
            let now = time::now();
            let writer = Writer {
                manager,
                api_version: &rt.api_version(),
                subresource: subresource_name(opts),
                status_is_subresource: rt.status_subresource,
                time: &now,
            };
            fields::record_update(Some(&live), &mut new, &writer, &self.schema);
        }
        new["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"].clone();
        if comparable(&new) == comparable(&live) {
            return Ok(Self::served_as(rt, &live));
        }
        if opts.dry_run {
            return Ok(Self::served_as(rt, &new));
        }
        Ok(self.commit(rt, key, Some(live), new))
    }

    /// Patches an object. A server-side apply of an absent object creates it.
    pub fn patch(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        patch_type: PatchType,
        body: &[u8],
        opts: &WriteOptions,
    ) -> Result<Value, Error> {
        let key = Self::key(rt, namespace, name);
        let live = self.objects.get(&key).cloned();
        let bad = |e: String| Error::BadRequest(e);
        if patch_type == PatchType::Apply {
            return self.apply(rt, key, live, body, opts);
        }
        let live = live.ok_or_else(|| Self::not_found(rt, name))?;
        let current = Self::served_as(rt, &live);
        let patch: Value =
            serde_json::from_slice(body).map_err(|e| bad(format!("error decoding patch: {e}")))?;
        let patched = match patch_type {
            PatchType::Json => {
                let mut target = current.clone();
                fleet_smp::apply_json6902(&mut target, &patch).map_err(|e| {
                    Error::invalid(
                        &rt.group,
                        &rt.kind,
                        name,
                        "FieldValueInvalid",
                        "",
                        &e.to_string(),
                    )
                })?;
                target
            }
            PatchType::Merge => {
                if !patch.is_object() {
                    return Err(bad(
                        "error decoding patch: a merge patch must be a JSON object".into(),
                    ));
                }
                let mut target = current.clone();
                json_patch::merge(&mut target, &patch);
                target
            }
            PatchType::Strategic => {
                if rt.custom {
                    return Err(Error::UnsupportedMediaType(
                        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml".into(),
                    ));
                }
                fleet_smp::merge(
                    &current,
                    &patch,
                    &self.schema,
                    &fleet_smp::MergeOptions::api_server(),
                )
                .map_err(|e| bad(e.to_string()))?
                .ok_or_else(|| bad("a patch may not delete the whole object".into()))?
            }
            PatchType::Apply => return self.apply(rt, key, Some(live), body, opts),
        };
        check_resource_version(rt, name, &meta(&patched, "resourceVersion"), &live)?;
        let manager = Self::manager(opts);
        self.write(rt, key, live, patched, opts, Some(&manager))
    }

    fn apply(
        &mut self,
        rt: &ResourceType,
        key: Key,
        live: Option<Value>,
        body: &[u8],
        opts: &WriteOptions,
    ) -> Result<Value, Error> {
        let name = key.3.clone();
        let text = std::str::from_utf8(body)
            .map_err(|_| Error::BadRequest("the apply patch is not UTF-8".into()))?;
        let config: Value = serde_saphyr::from_str(text)
            .map_err(|e| Error::BadRequest(format!("error decoding YAML: {e}")))?;
        check_shape(rt, &config)?;
        let manager = opts.field_manager.clone().filter(|m| !m.is_empty()).ok_or_else(|| {
            Error::BadRequest("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch".into())
        })?;
        for field in ["apiVersion", "kind"] {
            if config
                .get(field)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(Error::invalid(
                    &rt.group,
                    &rt.kind,
                    &name,
                    "FieldValueRequired",
                    field,
                    "Required value: must not be empty",
                ));
            }
        }
        Self::check_kind(rt, &config)?;
        if config["metadata"]
            .get("managedFields")
            .is_some_and(|m| !m.is_null())
        {
            return Err(Error::BadRequest(
                "metadata.managedFields must be nil".into(),
            ));
        }
        let config_name = meta(&config, "name");
        if !config_name.is_empty() && config_name != name {
            return Err(Error::BadRequest(format!(
                "the name of the object ({config_name}) does not match the name on the URL ({name})"
            )));
        }
        let now = time::now();
        let api_version = rt.api_version();
        let writer = Writer {
            manager: &manager,
            api_version: &api_version,
            subresource: subresource_name(opts),
            status_is_subresource: rt.status_subresource,
            time: &now,
        };
        let live_served = live.as_ref().map(|l| Self::served_as(rt, l));
        let merged = match fields::apply(
            live_served.as_ref(),
            &config,
            &writer,
            opts.force,
            &self.schema,
        )
        .map_err(|e| Error::BadRequest(e.to_string()))?
        {
            ApplyOutcome::Applied(v) => v,
            ApplyOutcome::Conflicts(conflicts) => {
                let list: Vec<(String, String, String)> = conflicts
                    .iter()
                    .map(|c| {
                        (
                            c.manager.clone(),
                            c.api_version.clone(),
                            fields::display(&c.path),
                        )
                    })
                    .collect();
                return Err(Error::ApplyConflict {
                    group: rt.group.clone(),
                    resource: rt.plural.clone(),
                    name,
                    message: conflict_message(&list),
                    conflicts: list,
                });
            }
        };
        match live {
            None => {
                let mut body = merged;
                body["metadata"]["name"] = json!(name);
                // An apply that creates owns its fields as Apply, already recorded.
                let managed = body["metadata"]
                    .get("managedFields")
                    .cloned()
                    .unwrap_or(Value::Null);
                let create_opts = WriteOptions {
                    dry_run: opts.dry_run,
                    default_manager: manager.clone(),
                    ..WriteOptions::default()
                };
                self.insert_new(rt, &key.2, body, &create_opts, Some(managed))
            }
            Some(live) => self.write(rt, key, live, merged, opts, None),
        }
    }

    /// Deletes an object: removed at once without finalizers, else marked with
    /// `deletionTimestamp` until the last finalizer goes.
    pub fn delete(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Deleted, Error> {
        let key = Self::key(rt, namespace, name);
        let live = self
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| Self::not_found(rt, name))?;
        if let Some(uid) = &opts.uid
            && *uid != meta(&live, "uid")
        {
            return Err(Error::Conflict {
                group: rt.group.clone(),
                resource: rt.plural.clone(),
                name: name.to_string(),
                reason: format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    meta(&live, "uid")
                ),
            });
        }
        if let Some(rv) = &opts.resource_version
            && *rv != meta(&live, "resourceVersion")
        {
            return Err(Error::Conflict {
                group: rt.group.clone(),
                resource: rt.plural.clone(),
                name: name.to_string(),
                reason: format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    meta(&live, "resourceVersion")
                ),
            });
        }
        let has_finalizers = live["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        let is_namespace = rt.kind == "Namespace" && rt.group.is_empty();
        if opts.dry_run {
            return Ok(Deleted::Gone(Self::served_as(rt, &live)));
        }
        if has_finalizers || is_namespace {
            if live["metadata"].get("deletionTimestamp").is_some() {
                return Ok(Deleted::Pending(Self::served_as(rt, &live)));
            }
            let mut marked = live.clone();
            marked["metadata"]["deletionTimestamp"] = json!(time::now());
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            if is_namespace {
                set_path(&mut marked, &["status", "phase"], json!("Terminating"));
                self.revision += 1;
                marked["metadata"]["resourceVersion"] = json!(self.revision.to_string());
                self.objects.insert(key.clone(), marked.clone());
                self.record(rt, &key, EventType::Modified, marked.clone(), Some(live));
                self.empty_namespace(name);
                self.finish_namespace(name);
                return Ok(match self.objects.get(&key) {
                    Some(o) => Deleted::Pending(Self::served_as(rt, o)),
                    None => Deleted::Gone(Self::served_as(rt, &marked)),
                });
            }
            return Ok(Deleted::Pending(self.commit(rt, key, Some(live), marked)));
        }
        Ok(Deleted::Gone(self.remove_object(rt, key, live)))
    }

    /// Deletes what a terminating namespace holds (the namespace controller's work).
    fn empty_namespace(&mut self, namespace: &str) {
        let keys: Vec<Key> = self
            .objects
            .keys()
            .filter(|k| k.2 == namespace)
            .cloned()
            .collect();
        for key in keys {
            let Some(rt) = self
                .types
                .iter()
                .find(|t| t.group == key.0 && t.plural == key.1)
                .cloned()
            else {
                continue;
            };
            let _ = self.delete(&rt, &key.2, &key.3, &DeleteOptions::default());
        }
    }

    /// Removes a terminating namespace once it is empty.
    fn finish_namespace(&mut self, namespace: &str) {
        let ns_key = (
            String::new(),
            "namespaces".to_string(),
            String::new(),
            namespace.to_string(),
        );
        let terminating = self
            .objects
            .get(&ns_key)
            .is_some_and(|ns| ns["metadata"].get("deletionTimestamp").is_some());
        if terminating && !self.objects.keys().any(|k| k.2 == namespace) {
            let Some(rt) = self
                .types
                .iter()
                .find(|t| t.group.is_empty() && t.plural == "namespaces")
                .cloned()
            else {
                return;
            };
            if let Some(ns) = self.objects.get(&ns_key).cloned() {
                self.remove_object(&rt, ns_key, ns);
            }
        }
    }

    fn register_crd(&mut self, crd: &Value) {
        let new = resources::from_crd(crd);
        let group = crd["spec"]["group"].as_str().unwrap_or("");
        let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or("");
        self.types
            .retain(|t| !(t.custom && t.group == group && t.plural == plural));
        self.types.extend(new);
        self.schema.add_crd(crd);
    }

    fn unregister_crd(&mut self, crd: &Value) {
        let group = crd["spec"]["group"].as_str().unwrap_or("").to_string();
        let plural = crd["spec"]["names"]["plural"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let keys: Vec<Key> = self
            .objects
            .keys()
            .filter(|k| k.0 == group && k.1 == plural)
            .cloned()
            .collect();
        if let Some(rt) = self
            .types
            .iter()
            .find(|t| t.custom && t.group == group && t.plural == plural)
            .cloned()
        {
            for key in keys {
                if let Some(obj) = self.objects.get(&key).cloned() {
                    self.remove_object(&rt, key, obj);
                }
            }
        }
        self.types
            .retain(|t| !(t.custom && t.group == group && t.plural == plural));
    }

    fn scalable(rt: &ResourceType) -> Result<(), Error> {
        if rt.scale_subresource {
            Ok(())
        } else {
            Err(Error::UnknownResource)
        }
    }

    /// The `/scale` subresource: an autoscaling/v1 `Scale` of `spec.replicas`.
    pub fn get_scale(
        &self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
    ) -> Result<Value, Error> {
        Self::scalable(rt)?;
        self.get(rt, namespace, name).map(|o| scale_of(&o))
    }

    /// Writes `spec.replicas` from a `Scale` (`PUT .../scale`), with optimistic concurrency on
    /// its `metadata.resourceVersion`.
    pub fn update_scale(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        scale: &Value,
        opts: &WriteOptions,
    ) -> Result<Value, Error> {
        Self::scalable(rt)?;
        let key = Self::key(rt, namespace, name);
        let live = self
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| Self::not_found(rt, name))?;
        check_resource_version(rt, name, &meta(scale, "resourceVersion"), &live)?;
        let replicas = match &scale["spec"]["replicas"] {
            Value::Null => 0,
            v => v.as_i64().filter(|r| *r >= 0).ok_or_else(|| {
                Error::invalid(
                    "autoscaling",
                    "Scale",
                    name,
                    "FieldValueInvalid",
                    "spec.replicas",
                    &format!("Invalid value: {v}: must be greater than or equal to 0"),
                )
            })?,
        };
        let mut new = Self::served_as(rt, &live);
        set_path(&mut new, &["spec", "replicas"], json!(replicas));
        let opts = WriteOptions {
            scale: true,
            status: false,
            ..opts.clone()
        };
        let manager = Self::manager(&opts);
        let written = self.write(rt, key, live, new, &opts, Some(&manager))?;
        Ok(scale_of(&written))
    }

    /// Patches the `Scale` view (JSON, merge or strategic merge, which are the same for it).
    pub fn patch_scale(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        patch_type: PatchType,
        body: &[u8],
        opts: &WriteOptions,
    ) -> Result<Value, Error> {
        let mut scale = self.get_scale(rt, namespace, name)?;
        let patch: Value = serde_json::from_slice(body)
            .map_err(|e| Error::BadRequest(format!("error decoding patch: {e}")))?;
        match patch_type {
            PatchType::Json => fleet_smp::apply_json6902(&mut scale, &patch).map_err(|e| {
                Error::invalid(
                    "autoscaling",
                    "Scale",
                    name,
                    "FieldValueInvalid",
                    "",
                    &e.to_string(),
                )
            })?,
            PatchType::Merge | PatchType::Strategic => json_patch::merge(&mut scale, &patch),
            PatchType::Apply => {
                return Err(Error::UnsupportedMediaType(
                    "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json".into(),
                ));
            }
        }
        self.update_scale(rt, namespace, name, &scale, opts)
    }

    /// The events of `rt` (in `namespace`, or all) after `revision`, filtered by selectors:
    /// an object that stops matching is reported deleted, one that starts matching added.
    pub fn events_after(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        revision: u64,
        opts: &ListOptions,
    ) -> Result<Vec<(EventType, Value, u64)>, Error> {
        if revision < self.compacted {
            return Err(Error::Expired {
                requested: revision,
                oldest: self.compacted + 1,
            });
        }
        let matches = |o: &Value| opts.labels.matches(o) && opts.fields.matches(o);
        let mut out = Vec::new();
        for e in self.history.iter().filter(|e| e.revision > revision) {
            if e.group != rt.group
                || e.plural != rt.plural
                || namespace.is_some_and(|n| n != e.namespace)
            {
                continue;
            }
            let now = matches(&e.object);
            let before = e.previous.as_ref().is_some_and(matches);
            let kind = match (e.kind, before, now) {
                (EventType::Deleted, true, _) => EventType::Deleted,
                (EventType::Deleted, false, _) => continue,
                (EventType::Added, _, true) => EventType::Added,
                (EventType::Modified, true, true) => EventType::Modified,
                (EventType::Modified, false, true) => EventType::Added,
                (EventType::Modified, true, false) => EventType::Deleted,
                _ => continue,
            };
            out.push((kind, Self::served_as(rt, &e.object), e.revision));
        }
        Ok(out)
    }

    /// Current objects as synthetic `ADDED` events (a watch without a resource version).
    pub fn initial_events(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> Vec<Value> {
        self.matching(rt, namespace)
            .filter(|(_, o)| opts.labels.matches(o) && opts.fields.matches(o))
            .map(|(_, o)| Self::served_as(rt, o))
            .collect()
    }
}

/// Sets the value at `path`, turning whatever is in the way into maps (client data may hold
/// anything where the server writes).
fn set_path(target: &mut Value, path: &[&str], value: Value) {
    let mut cur = target;
    for key in path {
        if !cur.is_object() {
            *cur = Value::Object(serde_json::Map::new());
        }
        let Value::Object(map) = cur else { return };
        cur = map.entry(key.to_string()).or_insert(Value::Null);
    }
    *cur = value;
}

/// The shape checks the real server's decoding makes: an object, with `metadata` a map,
/// `labels` and `annotations` maps of strings, `finalizers` a list of strings.
fn check_shape(rt: &ResourceType, object: &Value) -> Result<(), Error> {
    let bad = |what: &str| {
        Err(Error::BadRequest(format!(
            "{}{} in version \"{}\" cannot be handled as a {}: {what}",
            rt.kind,
            if rt.group.is_empty() {
                String::new()
            } else {
                format!(".{}", rt.group)
            },
            rt.version,
            rt.kind
        )))
    };
    let Some(map) = object.as_object() else {
        return bad("the object is not a map");
    };
    let metadata = match map.get("metadata") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(m)) => m,
        Some(_) => return bad("metadata is not a map"),
    };
    for field in ["labels", "annotations"] {
        match metadata.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) if m.values().all(Value::is_string) => {}
            Some(_) => return bad(&format!("metadata.{field} is not a map of strings")),
        }
    }
    match metadata.get("finalizers") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Ok(()),
        Some(_) => bad("metadata.finalizers is not a list of strings"),
    }
}

fn subresource_name(opts: &WriteOptions) -> &'static str {
    if opts.status {
        "status"
    } else if opts.scale {
        "scale"
    } else {
        ""
    }
}

/// The autoscaling/v1 `Scale` view of a scalable object.
fn scale_of(object: &Value) -> Value {
    let labels = object["spec"]["selector"]["matchLabels"]
        .as_object()
        .or_else(|| object["spec"]["selector"].as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let mut metadata = json!({});
    for k in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = object["metadata"].get(k) {
            metadata[k] = v.clone();
        }
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": object["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {"replicas": object["status"]["replicas"].as_i64().unwrap_or(0), "selector": labels},
    })
}

fn conflict_message(conflicts: &[(String, String, String)]) -> String {
    if let [(manager, api_version, field)] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with \"{manager}\" using {api_version}: {field}"
        );
    }
    let mut by_manager: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for (manager, api_version, field) in conflicts {
        by_manager
            .entry((manager, api_version))
            .or_default()
            .push(field);
    }
    let mut text = format!("Apply failed with {} conflicts:", conflicts.len());
    for ((manager, api_version), fields) in by_manager {
        text.push_str(&format!(
            " conflicts with \"{manager}\" using {api_version}:"
        ));
        for field in fields {
            text.push_str(&format!("\n- {field}"));
        }
    }
    text
}

fn validate_crd(crd: &Value, name: &str) -> Result<(), Error> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or("");
    let plural = spec["names"]["plural"].as_str().unwrap_or("");
    let invalid = |field: &str, reason: &str, message: String| {
        Error::invalid(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            name,
            reason,
            field,
            &message,
        )
    };
    if group.is_empty() {
        return Err(invalid(
            "spec.group",
            "FieldValueRequired",
            "Required value".into(),
        ));
    }
    if plural.is_empty() {
        return Err(invalid(
            "spec.names.plural",
            "FieldValueRequired",
            "Required value".into(),
        ));
    }
    if spec["names"]["kind"].as_str().is_none_or(str::is_empty) {
        return Err(invalid(
            "spec.names.kind",
            "FieldValueRequired",
            "Required value".into(),
        ));
    }
    if name != format!("{plural}.{group}") {
        return Err(invalid(
            "metadata.name",
            "FieldValueInvalid",
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    let scope = spec["scope"].as_str().unwrap_or("");
    if scope != "Namespaced" && scope != "Cluster" {
        return Err(invalid(
            "spec.scope",
            "FieldValueNotSupported",
            format!(
                "Unsupported value: \"{scope}\": supported values: \"Cluster\", \"Namespaced\""
            ),
        ));
    }
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    if versions.is_empty() {
        return Err(invalid(
            "spec.versions",
            "FieldValueInvalid",
            "Invalid value: must have at least one version".into(),
        ));
    }
    let storage = versions
        .iter()
        .filter(|v| v["storage"].as_bool() == Some(true))
        .count();
    if storage != 1 {
        return Err(invalid(
            "spec.versions",
            "FieldValueInvalid",
            format!(
                "Invalid value: must have exactly one version marked as storage version, found {storage}"
            ),
        ));
    }
    Ok(())
}

/// The status the apiextensions controllers give an accepted CRD.
fn crd_status(crd: &mut Value) {
    let now = time::now();
    let storage: Vec<Value> = crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["storage"].as_bool() == Some(true))
        .map(|v| v["name"].clone())
        .collect();
    let condition = |kind: &str, reason: &str, message: &str| json!({"type": kind, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message});
    let mut names = crd["spec"]["names"].clone();
    if names
        .get("singular")
        .is_none_or(|s| s.as_str().is_none_or(str::is_empty))
    {
        let kind = names["kind"].as_str().unwrap_or("").to_lowercase();
        names["singular"] = json!(kind);
    }
    if names.get("listKind").is_none() {
        let kind = names["kind"].as_str().unwrap_or("").to_string();
        names["listKind"] = json!(format!("{kind}List"));
    }
    crd["status"] = json!({
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "acceptedNames": names,
        "storedVersions": storage,
    });
}

fn encode_continue(revision: u64, namespace: &str, name: &str) -> String {
    let text = format!("{revision}\u{0}{namespace}\u{0}{name}");
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The resource version, namespace and name a continue token was made at.
fn decode_continue(token: &str) -> Result<(u64, String, String), Error> {
    let bad =
        || Error::BadRequest("continue key is not valid: the continue token is malformed".into());
    if !token.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes: Result<Vec<u8>, _> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2).unwrap_or("zz"), 16))
        .collect();
    let text = String::from_utf8(bytes.map_err(|_| bad())?).map_err(|_| bad())?;
    let mut parts = text.split('\u{0}');
    let revision = parts.next().and_then(|r| r.parse().ok()).ok_or_else(bad)?;
    let namespace = parts.next().ok_or_else(bad)?;
    let name = parts.next().ok_or_else(bad)?;
    Ok((revision, namespace.to_string(), name.to_string()))
}

/// An object's `PartialObjectMetadata` (what metadata-only clients ask for).
pub fn partial_metadata(object: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": object["metadata"],
    })
}

/// A `metav1.Table` of objects (the form `kubectl get` asks for): name and age.
pub fn table(objects: &[Value], list_meta: Option<&Value>) -> Value {
    let now = time::now_seconds();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let age = o["metadata"]["creationTimestamp"].as_str().and_then(parse_rfc3339).map(|t| age_text(now - t));
            let mut partial = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"].clone()});
            if let Some(m) = partial["metadata"].as_object_mut() {
                m.remove("managedFields");
            }
            json!({"cells": [meta(o, "name"), age.unwrap_or_else(|| "<unknown>".into())], "object": partial})
        })
        .collect();
    let mut metadata = list_meta.cloned().unwrap_or_else(|| json!({}));
    if let Some(m) = metadata.as_object_mut() {
        m.remove("remainingItemCount");
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0},
            {"name": "Age", "type": "string", "format": "", "description": "Time since creation.", "priority": 0},
        ],
        "rows": rows,
    })
}

fn age_text(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..120 => format!("{s}s"),
        120..7200 => format!("{}m", s / 60),
        7200..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Parses what [`time::rfc3339`] writes.
fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let n = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, s) = (
        n(0..4)?,
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
    );
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + s)
}

/// Success `Status` for a delete of kinds whose registry returns no object.
pub fn delete_status(rt: &ResourceType, object: &Value) -> Value {
    error::success(
        &rt.group,
        &rt.plural,
        &meta(object, "name"),
        &meta(object, "uid"),
    )
}

/// Whether the real registry of this kind answers a delete with the object (pods,
/// namespaces and custom resources) rather than a success `Status`.
pub fn delete_returns_object(rt: &ResourceType) -> bool {
    rt.custom
        || (rt.group.is_empty() && (rt.plural == "pods" || rt.plural == "namespaces"))
        || rt.kind == "CustomResourceDefinition"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(store: &Store, group: &str, version: &str, plural: &str) -> ResourceType {
        store.resolve(group, version, plural).cloned().unwrap()
    }

    fn opts(manager: &str) -> WriteOptions {
        WriteOptions {
            default_manager: manager.into(),
            ..WriteOptions::default()
        }
    }

    fn deployment(name: &str, image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
            "status": {"replicas": 7}})
    }

    #[test]
    fn create_sets_server_fields_and_needs_the_namespace() {
        let mut s = Store::new();
        let cm = rt(&s, "", "v1", "configmaps");
        let before = s.revision();
        let out = s
            .create(
                &cm,
                "default",
                json!({"metadata": {"name": "a"}, "data": {"k": "v"}}),
                &opts("t"),
            )
            .unwrap();
        assert_eq!(out["kind"], "ConfigMap");
        assert_eq!(out["metadata"]["resourceVersion"], (before + 1).to_string());
        assert!(
            out["metadata"]["uid"]
                .as_str()
                .is_some_and(|u| u.len() == 36)
        );
        assert!(
            out["metadata"]["creationTimestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
        assert!(
            out["metadata"].get("generation").is_none(),
            "config maps have no generation"
        );
        let ns = s
            .get(&rt(&s, "", "v1", "namespaces"), "", "default")
            .unwrap();
        assert!(
            ns["metadata"].get("generation").is_none(),
            "namespaces have none either"
        );
        let err = s
            .create(&cm, "nope", json!({"metadata": {"name": "a"}}), &opts("t"))
            .unwrap_err();
        assert_eq!(err.to_string(), "namespaces \"nope\" not found");
        assert_eq!(
            err.to_status()["details"],
            json!({"name": "nope", "kind": "namespaces"})
        );
        let err = s
            .create(
                &cm,
                "default",
                json!({"metadata": {"name": "a"}}),
                &opts("t"),
            )
            .unwrap_err();
        assert_eq!((err.code(), err.reason()), (409, "AlreadyExists"));
        let err = s
            .create(
                &cm,
                "default",
                json!({"metadata": {"name": "Bad_Name"}}),
                &opts("t"),
            )
            .unwrap_err();
        assert_eq!(err.code(), 422);
        assert!(
            err.to_string()
                .starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value"),
            "{err}"
        );
        let generated = s
            .create(
                &cm,
                "default",
                json!({"metadata": {"generateName": "gen-"}}),
                &opts("t"),
            )
            .unwrap();
        assert!(
            meta(&generated, "name").starts_with("gen-") && meta(&generated, "name").len() == 9
        );
    }

    #[test]
    fn ready_workloads_report_a_finished_rollout_of_each_generation() {
        let mut s = Store::new();
        s.set_ready_workloads(true);
        let d = rt(&s, "apps", "v1", "deployments");
        let created = s
            .create(&d, "default", deployment("d", "a:1"), &opts("t"))
            .unwrap();
        assert_eq!(created["status"]["readyReplicas"], 1);
        assert_eq!(created["status"]["observedGeneration"], 1);
        let mut next = created.clone();
        next["spec"]["replicas"] = json!(3);
        let updated = s.update(&d, "default", "d", next, &opts("t")).unwrap();
        assert_eq!(updated["status"]["observedGeneration"], 2);
        assert_eq!(updated["status"]["availableReplicas"], 3);
        // Without the option the server has no controllers.
        let mut plain = Store::new();
        let d = rt(&plain, "apps", "v1", "deployments");
        let created = plain
            .create(&d, "default", deployment("d", "a:1"), &opts("t"))
            .unwrap();
        assert!(created.get("status").is_none());
    }

    #[test]
    fn status_subresource_and_generation() {
        let mut s = Store::new();
        let d = rt(&s, "apps", "v1", "deployments");
        let created = s
            .create(&d, "default", deployment("d", "a:1"), &opts("t"))
            .unwrap();
        assert!(created.get("status").is_none(), "create drops status");
        assert_eq!(created["metadata"]["generation"], 1);
        let mut next = created.clone();
        next["spec"]["replicas"] = json!(2);
        next["status"] = json!({"replicas": 9});
        let updated = s.update(&d, "default", "d", next, &opts("t")).unwrap();
        assert_eq!(updated["metadata"]["generation"], 2);
        assert!(
            updated.get("status").is_none(),
            "the main resource ignores status"
        );
        let mut status = updated.clone();
        status["status"] = json!({"replicas": 2});
        status["spec"]["replicas"] = json!(100);
        let status_opts = WriteOptions {
            status: true,
            ..opts("t")
        };
        let after = s.update(&d, "default", "d", status, &status_opts).unwrap();
        assert_eq!(after["status"]["replicas"], 2);
        assert_eq!(
            after["spec"]["replicas"], 2,
            "the status subresource ignores spec"
        );
        assert_eq!(after["metadata"]["generation"], 2);
        let mut stale = created;
        stale["spec"]["replicas"] = json!(5);
        let err = s.update(&d, "default", "d", stale, &opts("t")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Operation cannot be fulfilled on deployments.apps \"d\": the object has been modified; please apply your changes to the latest version and try again"
        );
        let err = s.get(&d, "default", "x").unwrap_err();
        let status = err.to_status();
        assert_eq!(status["message"], "deployments.apps \"x\" not found");
        assert_eq!(
            status["details"],
            json!({"name": "x", "group": "apps", "kind": "deployments"})
        );
    }

    #[test]
    fn patches_of_each_type() {
        let mut s = Store::new();
        let d = rt(&s, "apps", "v1", "deployments");
        s.create(&d, "default", deployment("d", "a:1"), &opts("t"))
            .unwrap();
        let smp =
            br#"{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"s:1"}]}}}}"#;
        let out = s
            .patch(&d, "default", "d", PatchType::Strategic, smp, &opts("t"))
            .unwrap();
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let merge =
            br#"{"spec":{"template":{"spec":{"containers":[{"name":"only","image":"o"}]}}}}"#;
        let out = s
            .patch(&d, "default", "d", PatchType::Merge, merge, &opts("t"))
            .unwrap();
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let json_patch = br#"[{"op":"replace","path":"/spec/replicas","value":4}]"#;
        let out = s
            .patch(&d, "default", "d", PatchType::Json, json_patch, &opts("t"))
            .unwrap();
        assert_eq!(out["spec"]["replicas"], 4);
        let stale = br#"{"metadata":{"resourceVersion":"1"},"spec":{"replicas":5}}"#;
        assert_eq!(
            s.patch(&d, "default", "d", PatchType::Merge, stale, &opts("t"))
                .unwrap_err()
                .code(),
            409
        );
        let missing = s
            .patch(&d, "default", "zz", PatchType::Merge, b"{}", &opts("t"))
            .unwrap_err();
        assert_eq!(missing.code(), 404);
        let apply =
            b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: new}\nspec: {replicas: 2}\n";
        let no_manager = s
            .patch(&d, "default", "new", PatchType::Apply, apply, &opts("t"))
            .unwrap_err();
        assert_eq!(no_manager.code(), 400);
        let ssa = WriteOptions {
            field_manager: Some("m".into()),
            ..opts("t")
        };
        let created = s
            .patch(&d, "default", "new", PatchType::Apply, apply, &ssa)
            .unwrap();
        let managed = &created["metadata"]["managedFields"][0];
        assert_eq!(
            (managed["manager"].as_str(), managed["operation"].as_str()),
            (Some("m"), Some("Apply"))
        );
        assert_eq!(
            s.get(&d, "default", "new").unwrap()["metadata"]["managedFields"][0]["operation"],
            "Apply"
        );
    }

    #[test]
    fn malformed_objects_are_bad_requests_not_panics() {
        let mut s = Store::new();
        let cm = rt(&s, "", "v1", "configmaps");
        let bodies = [
            json!({"metadata": "x"}),
            json!({"metadata": {"name": "a", "labels": "x"}}),
            json!({"metadata": {"name": "a", "labels": {"k": 1}}}),
            json!({"metadata": {"name": "a", "finalizers": "x"}}),
        ];
        for body in bodies {
            let err = s
                .create(&cm, "default", body.clone(), &opts("t"))
                .unwrap_err();
            assert_eq!(err.code(), 400, "{body}");
        }
        s.create(
            &cm,
            "default",
            json!({"metadata": {"name": "a"}}),
            &opts("t"),
        )
        .unwrap();
        let root = br#"[{"op":"replace","path":"","value":5}]"#;
        assert_eq!(
            s.patch(&cm, "default", "a", PatchType::Json, root, &opts("t"))
                .unwrap_err()
                .code(),
            400
        );
        let labels = br#"{"metadata":{"labels":"x"}}"#;
        assert_eq!(
            s.patch(&cm, "default", "a", PatchType::Merge, labels, &opts("t"))
                .unwrap_err()
                .code(),
            400
        );
        let ssa = WriteOptions {
            field_manager: Some("m".into()),
            ..opts("t")
        };
        let apply = b"apiVersion: v1\nkind: ConfigMap\nmetadata: 5\n";
        assert_eq!(
            s.patch(&cm, "default", "a", PatchType::Apply, apply, &ssa)
                .unwrap_err()
                .code(),
            400
        );
        let d = rt(&s, "apps", "v1", "deployments");
        s.create(
            &d,
            "default",
            json!({"metadata": {"name": "d"}, "spec": "odd"}),
            &opts("t"),
        )
        .unwrap();
        let out = s
            .patch_scale(
                &d,
                "default",
                "d",
                PatchType::Merge,
                br#"{"spec":{"replicas":2}}"#,
                &opts("t"),
            )
            .unwrap();
        assert_eq!(out["spec"]["replicas"], 2);
    }

    #[test]
    fn scale_subresource_reads_and_writes_replicas() {
        let mut s = Store::new();
        let d = rt(&s, "apps", "v1", "deployments");
        let mut dep = deployment("d", "a:1");
        dep["spec"]["selector"] = json!({"matchLabels": {"app": "d", "tier": "web"}});
        s.create(&d, "default", dep, &opts("t")).unwrap();
        let scale = s.get_scale(&d, "default", "d").unwrap();
        assert_eq!(scale["kind"], "Scale");
        assert_eq!(scale["spec"]["replicas"], 1);
        assert_eq!(scale["status"]["selector"], "app=d,tier=web");
        let out = s
            .patch_scale(
                &d,
                "default",
                "d",
                PatchType::Merge,
                br#"{"spec":{"replicas":4}}"#,
                &opts("t"),
            )
            .unwrap();
        assert_eq!(out["spec"]["replicas"], 4);
        let live = s.get(&d, "default", "d").unwrap();
        assert_eq!(
            (
                live["spec"]["replicas"].as_i64(),
                live["metadata"]["generation"].as_i64()
            ),
            (Some(4), Some(2))
        );
        assert_eq!(
            live["metadata"]["managedFields"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()["subresource"],
            "scale"
        );
        let negative = s.patch_scale(
            &d,
            "default",
            "d",
            PatchType::Merge,
            br#"{"spec":{"replicas":-1}}"#,
            &opts("t"),
        );
        assert_eq!(negative.unwrap_err().code(), 422);
        let stale = json!({"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 2}});
        assert_eq!(
            s.update_scale(&d, "default", "d", &stale, &opts("t"))
                .unwrap_err()
                .code(),
            409
        );
        let cm = rt(&s, "", "v1", "configmaps");
        assert_eq!(s.get_scale(&cm, "default", "x").unwrap_err().code(), 404);
    }

    #[test]
    fn finalizers_hold_deletion_until_removed() {
        let mut s = Store::new();
        let cm = rt(&s, "", "v1", "configmaps");
        let body = json!({"metadata": {"name": "f", "finalizers": ["example.com/hold"]}});
        s.create(&cm, "default", body, &opts("t")).unwrap();
        let rv = s.revision();
        let pending = match s
            .delete(&cm, "default", "f", &DeleteOptions::default())
            .unwrap()
        {
            Deleted::Pending(o) => o,
            Deleted::Gone(_) => panic!("finalizers must hold the object"),
        };
        assert!(pending["metadata"]["deletionTimestamp"].is_string());
        let mut adding = pending.clone();
        adding["metadata"]["finalizers"] = json!(["example.com/hold", "example.com/new"]);
        assert_eq!(
            s.update(&cm, "default", "f", adding, &opts("t"))
                .unwrap_err()
                .code(),
            422
        );
        let mut release = pending;
        release["metadata"]["finalizers"] = json!([]);
        s.update(&cm, "default", "f", release, &opts("t")).unwrap();
        assert_eq!(s.get(&cm, "default", "f").unwrap_err().code(), 404);
        let kinds: Vec<EventType> = s
            .events_after(&cm, Some("default"), rv, &ListOptions::default())
            .unwrap()
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(kinds, [EventType::Modified, EventType::Deleted]);
    }

    #[test]
    fn namespace_deletion_empties_it() {
        let mut s = Store::new();
        let ns = rt(&s, "", "v1", "namespaces");
        let cm = rt(&s, "", "v1", "configmaps");
        s.create(&ns, "", json!({"metadata": {"name": "team"}}), &opts("t"))
            .unwrap();
        s.create(&cm, "team", json!({"metadata": {"name": "a"}}), &opts("t"))
            .unwrap();
        s.create(
            &cm,
            "team",
            json!({"metadata": {"name": "held", "finalizers": ["x/y"]}}),
            &opts("t"),
        )
        .unwrap();
        let out = s
            .delete(&ns, "", "team", &DeleteOptions::default())
            .unwrap();
        let Deleted::Pending(namespace) = out else {
            panic!("the held object keeps the namespace")
        };
        assert_eq!(namespace["status"]["phase"], "Terminating");
        assert_eq!(s.get(&cm, "team", "a").unwrap_err().code(), 404);
        assert_eq!(
            s.create(&cm, "team", json!({"metadata": {"name": "b"}}), &opts("t"))
                .unwrap_err()
                .code(),
            403
        );
        let mut held = s.get(&cm, "team", "held").unwrap();
        held["metadata"]["finalizers"] = json!([]);
        s.update(&cm, "team", "held", held, &opts("t")).unwrap();
        assert_eq!(
            s.get(&ns, "", "team").unwrap_err().code(),
            404,
            "the namespace goes once empty"
        );
    }

    #[test]
    fn crds_serve_kinds_until_deleted() {
        let mut s = Store::new();
        let crds = rt(
            &s,
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
        );
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced", "names": {"kind": "Widget", "plural": "widgets"},
                "versions": [{"name": "v1", "served": true, "storage": true}]}});
        let mut bad = crd.clone();
        bad["metadata"]["name"] = json!("wrong.example.com");
        assert_eq!(
            s.create(&crds, "", bad, &opts("t")).unwrap_err().code(),
            422
        );
        let created = s.create(&crds, "", crd, &opts("t")).unwrap();
        let conditions: Vec<&str> = created["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "True")
            .filter_map(|c| c["type"].as_str())
            .collect();
        assert_eq!(conditions, ["NamesAccepted", "Established"]);
        let widgets = rt(&s, "example.com", "v1", "widgets");
        let w = s.create(&widgets, "default", json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"a": 1}}), &opts("t")).unwrap();
        assert_eq!(w["metadata"]["generation"], 1);
        let smp = s
            .patch(
                &widgets,
                "default",
                "w",
                PatchType::Strategic,
                b"{}",
                &opts("t"),
            )
            .unwrap_err();
        assert_eq!(smp.code(), 415);
        let out = s
            .patch(
                &widgets,
                "default",
                "w",
                PatchType::Merge,
                br#"{"spec":{"a":2}}"#,
                &opts("t"),
            )
            .unwrap();
        assert_eq!(out["metadata"]["generation"], 2);
        let err = s.get(&widgets, "default", "x").unwrap_err();
        assert_eq!(err.to_string(), "widgets.example.com \"x\" not found");
        s.delete(&crds, "", "widgets.example.com", &DeleteOptions::default())
            .unwrap();
        assert!(s.resolve("example.com", "v1", "widgets").is_err());
        assert!(
            s.objects.keys().all(|k| k.1 != "widgets"),
            "custom resources go with their CRD"
        );
    }

    #[test]
    fn history_expires_and_selectors_filter_watches() {
        let mut s = Store::new();
        let cm = rt(&s, "", "v1", "configmaps");
        let start = s.revision();
        s.create(
            &cm,
            "default",
            json!({"metadata": {"name": "a", "labels": {"app": "web"}}}),
            &opts("t"),
        )
        .unwrap();
        let live = s.get(&cm, "default", "a").unwrap();
        let mut relabelled = live.clone();
        relabelled["metadata"]["labels"]["app"] = json!("db");
        s.update(&cm, "default", "a", relabelled, &opts("t"))
            .unwrap();
        let web = ListOptions {
            labels: LabelSelector::parse("app=web").unwrap(),
            ..ListOptions::default()
        };
        let kinds: Vec<EventType> = s
            .events_after(&cm, None, start, &web)
            .unwrap()
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(
            kinds,
            [EventType::Added, EventType::Deleted],
            "leaving the selector reads as a delete"
        );
        s.set_history_limit(1);
        let err = s
            .events_after(&cm, None, start, &ListOptions::default())
            .unwrap_err();
        assert_eq!((err.code(), err.reason()), (410, "Expired"));
        let now = s.revision();
        assert!(
            s.events_after(&cm, None, now, &ListOptions::default())
                .unwrap()
                .is_empty()
        );
        s.compact();
        assert!(
            s.events_after(&cm, None, now - 1, &ListOptions::default())
                .is_err()
        );
    }

    #[test]
    fn list_pages_with_continue_tokens() {
        let mut s = Store::new();
        let cm = rt(&s, "", "v1", "configmaps");
        for name in ["a", "b", "c", "d", "e"] {
            s.create(
                &cm,
                "default",
                json!({"metadata": {"name": name}}),
                &opts("t"),
            )
            .unwrap();
        }
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let page = s
                .list(
                    &cm,
                    Some("default"),
                    &ListOptions {
                        limit: 2,
                        continue_token: token.clone(),
                        ..ListOptions::default()
                    },
                )
                .unwrap();
            names.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| meta(i, "name")),
            );
            match page["metadata"]["continue"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        assert_eq!(names, ["a", "b", "c", "d", "e"]);
        let first = s
            .list(
                &cm,
                None,
                &ListOptions {
                    limit: 1,
                    ..ListOptions::default()
                },
            )
            .unwrap();
        let token = first["metadata"]["continue"].as_str().unwrap().to_string();
        s.create(
            &cm,
            "default",
            json!({"metadata": {"name": "f"}}),
            &opts("t"),
        )
        .unwrap();
        s.compact();
        let expired = ListOptions {
            continue_token: Some(token),
            ..ListOptions::default()
        };
        let err = s.list(&cm, None, &expired).unwrap_err();
        assert_eq!((err.code(), err.reason()), (410, "Expired"));
        let bad = ListOptions {
            continue_token: Some("zz".into()),
            ..ListOptions::default()
        };
        assert_eq!(s.list(&cm, None, &bad).unwrap_err().code(), 400);
        assert_eq!(
            s.list(&cm, Some("kube-system"), &ListOptions::default())
                .unwrap()["items"],
            json!([])
        );
    }
}
