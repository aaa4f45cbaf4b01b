//! The HTTP face of the store: Kubernetes REST paths, discovery, tables, watch streams, and
//! the server handle tests and the `kube-test-server` binary use.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};

use super::error::Error;
use super::resources::{Discovery, ResourceType};
use super::select::{FieldSelector, LabelSelector};
use super::store::{self, DeleteOptions, Deleted, ListOptions, PatchType, Store, WriteOptions};

/// The largest request body taken (the real server's limit is 3 MiB per object).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Settings of a server.
#[derive(Debug, Clone)]
pub struct Options {
    /// How often watches that allow bookmarks get one.
    pub bookmark_interval: Duration,
    /// How many events the history keeps before old resource versions expire.
    pub history_limit: usize,
    /// Workloads report a finished rollout as soon as they are written
    /// ([`Store::set_ready_workloads`]).
    pub ready_workloads: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bookmark_interval: Duration::from_secs(1),
            history_limit: 10_000,
            ready_workloads: false,
        }
    }
}

struct Shared {
    store: Mutex<Store>,
    revision: watch::Sender<u64>,
    options: Options,
    faults: Mutex<Vec<Fault>>,
}

/// An error the server answers instead of serving, for tests of client error handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Only requests with this method (any when `None`).
    pub method: Option<String>,
    /// Only requests whose path contains this.
    pub path_contains: String,
    /// How many matching requests fail.
    pub count: usize,
    /// The error.
    pub kind: FaultKind,
}

/// The error a [`Fault`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// 429 `TooManyRequests` with `Retry-After: 1`, as priority and fairness answers.
    TooManyRequests,
    /// 503 `ServiceUnavailable`.
    ServiceUnavailable,
    /// 504 `Timeout`.
    GatewayTimeout,
    /// 500 `InternalError`.
    InternalError,
}

impl FaultKind {
    fn response(self) -> Response {
        let (code, reason, message) = match self {
            FaultKind::TooManyRequests => (
                429,
                "TooManyRequests",
                "Too many requests, please try again later.",
            ),
            FaultKind::ServiceUnavailable => (
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            ),
            FaultKind::GatewayTimeout => (
                504,
                "Timeout",
                "the server was unable to return a response in the time allotted",
            ),
            FaultKind::InternalError => (
                500,
                "InternalError",
                "an error on the server has prevented the request from succeeding",
            ),
        };
        let mut status = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code,
        });
        if self == FaultKind::TooManyRequests {
            status["details"] = json!({"retryAfterSeconds": 1});
        }
        let mut response = json_response(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &status,
        );
        if self == FaultKind::TooManyRequests {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        response
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves a store that is still consistent per
        // operation (each mutates in one step at the end), so keep serving.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn notify(&self, store: &Store) {
        self.revision.send_replace(store.revision());
    }
}

/// A running API server on a loopback port, with its own runtime thread; stopped on drop.
pub struct KubeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl KubeServer {
    /// Starts a server on `127.0.0.1:0`.
    pub fn start() -> std::io::Result<Self> {
        Self::bind(
            "127.0.0.1:0".parse().map_err(std::io::Error::other)?,
            Options::default(),
        )
    }

    /// Starts a server on `addr`.
    pub fn bind(addr: SocketAddr, options: Options) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let mut store = Store::new();
        store.set_history_limit(options.history_limit);
        store.set_ready_workloads(options.ready_workloads);
        let (revision, _) = watch::channel(store.revision());
        let shared = Arc::new(Shared {
            faults: Mutex::new(Vec::new()),
            store: Mutex::new(store),
            revision,
            options,
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("kube-test-server")
            .build()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app_state = shared.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
        let thread = std::thread::Builder::new()
            .name("kube-test-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    let app = axum::Router::new().fallback(move |req: Request| {
                        let state = app_state.clone();
                        async move { handle(state, req).await }
                    });
                    let server = axum::serve(listener, app);
                    tokio::select! {
                        _ = server => {}
                        _ = stopped => {}
                    }
                });
                // Open watch streams would hold a graceful shutdown forever.
                runtime.shutdown_background();
            })?;
        ready_rx.recv().map_err(std::io::Error::other)??;
        Ok(KubeServer {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A kubeconfig naming this server (plain HTTP, no credentials), context `kube-test-server`.
    pub fn kubeconfig(&self) -> String {
        kubeconfig_for(&self.url())
    }

    /// Writes [`KubeServer::kubeconfig`] to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig())
    }

    /// Runs `f` on the store (to inspect it, or to compact the history); watchers are told
    /// about any change.
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        let mut store = self.shared.lock();
        let out = f(&mut store);
        self.shared.notify(&store);
        out
    }

    /// Makes the next matching requests fail with `fault.kind`.
    pub fn inject(&self, fault: Fault) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(fault);
    }

    /// How many injected failures have not happened yet.
    pub fn faults_left(&self) -> usize {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|f| f.count)
            .sum()
    }

    /// Drops the change history: watches from any earlier resource version get 410 Gone.
    pub fn compact(&self) {
        self.with_store(Store::compact);
    }
}

impl Drop for KubeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A kubeconfig for a plain-HTTP server at `url`.
pub fn kubeconfig_for(url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-test-server\n  cluster:\n    server: {url}\nusers:\n- name: kube-test-server\n  user: {{}}\ncontexts:\n- name: kube-test-server\n  context:\n    cluster: kube-test-server\n    user: kube-test-server\n    namespace: default\ncurrent-context: kube-test-server\n"
    )
}

fn json_response(code: StatusCode, value: &Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn error_response(e: &Error) -> Response {
    let code = StatusCode::from_u16(e.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &e.to_status())
}

/// What a resource path names.
struct Target {
    group: String,
    version: String,
    plural: String,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

/// Parses `/api/v1/...` and `/apis/G/V/...` resource paths.
fn parse_target(segments: &[&str]) -> Option<Target> {
    let (group, version, rest) = match segments {
        ["api", version, rest @ ..] => (String::new(), version.to_string(), rest),
        ["apis", group, version, rest @ ..] => (group.to_string(), version.to_string(), rest),
        _ => return None,
    };
    let t = |plural: &str, namespace: Option<&str>, name: Option<&str>, sub: Option<&str>| Target {
        group: group.clone(),
        version: version.clone(),
        plural: plural.to_string(),
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
        subresource: sub.map(str::to_string),
    };
    Some(match rest {
        [plural] => t(plural, None, None, None),
        ["namespaces", name, sub @ ("status" | "finalize")] => {
            t("namespaces", None, Some(name), Some(sub))
        }
        ["namespaces", ns, plural] => t(plural, Some(ns), None, None),
        ["namespaces", ns, plural, name] => t(plural, Some(ns), Some(name), None),
        ["namespaces", ns, plural, name, sub] => t(plural, Some(ns), Some(name), Some(sub)),
        [plural, name] => t(plural, None, Some(name), None),
        [plural, name, sub] => t(plural, None, Some(name), Some(sub)),
        _ => return None,
    })
}

fn query_map(req: &Request) -> HashMap<String, String> {
    req.uri()
        .query()
        .map(|q| {
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (decode(k), decode(v))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn truthy(q: &HashMap<String, String>, key: &str) -> bool {
    q.get(key)
        .is_some_and(|v| v == "1" || v == "true" || v.is_empty() && key == "watch")
}

fn list_options(q: &HashMap<String, String>) -> Result<ListOptions, Error> {
    Ok(ListOptions {
        labels: LabelSelector::parse(q.get("labelSelector").map_or("", String::as_str))?,
        fields: FieldSelector::parse(q.get("fieldSelector").map_or("", String::as_str))?,
        limit: match q.get("limit") {
            Some(l) if !l.is_empty() => l
                .parse()
                .map_err(|_| Error::BadRequest(format!("invalid limit: {l:?}")))?,
            _ => 0,
        },
        continue_token: q.get("continue").filter(|c| !c.is_empty()).cloned(),
    })
}

/// The form of the answer the client's `Accept` asks for first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The objects as stored.
    Full,
    /// A `metav1.Table` (`kubectl get`).
    Table,
    /// `PartialObjectMetadata` (metadata-only clients and watchers).
    Metadata,
}

impl Shape {
    fn of(headers: &HeaderMap) -> Shape {
        let first = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .and_then(|a| a.split(',').next())
            .unwrap_or("");
        if first.contains("as=Table") {
            Shape::Table
        } else if first.contains("as=PartialObjectMetadata") {
            Shape::Metadata
        } else {
            Shape::Full
        }
    }

    fn object(self, object: Value) -> Value {
        match self {
            Shape::Full => object,
            Shape::Table => store::table(&[object], None),
            Shape::Metadata => store::partial_metadata(&object),
        }
    }

    fn list(self, list: Value) -> Value {
        let items = list["items"].as_array().cloned().unwrap_or_default();
        match self {
            Shape::Full => list,
            Shape::Table => store::table(&items, Some(&list["metadata"])),
            Shape::Metadata => json!({
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": list["metadata"],
                "items": items.iter().map(store::partial_metadata).collect::<Vec<_>>(),
            }),
        }
    }
}

fn user_agent_manager(headers: &HeaderMap) -> String {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown");
    // The real server's default manager is the user agent up to its first `/`.
    agent.split('/').next().unwrap_or(agent).to_string()
}

/// The kind of the first injected fault matching the request, counting it down.
fn take_fault(shared: &Shared, method: &Method, path: &str) -> Option<FaultKind> {
    let mut faults = shared.faults.lock().unwrap_or_else(|p| p.into_inner());
    let index = faults.iter().position(|f| {
        f.count > 0
            && f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
            && path.contains(&f.path_contains)
    })?;
    let fault = &mut faults[index];
    fault.count -= 1;
    let kind = fault.kind;
    if fault.count == 0 {
        faults.remove(index);
    }
    Some(kind)
}

async fn handle(shared: Arc<Shared>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = query_map(&req);
    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return error_response(&Error::BadRequest(format!("reading the body: {e}"))),
    };
    if let Some(kind) = take_fault(&shared, &method, &path) {
        return kind.response();
    }
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match (method.clone(), segments.as_slice()) {
        (Method::GET, ["version"]) => return json_response(StatusCode::OK, &version()),
        (Method::GET, ["healthz" | "readyz" | "livez"]) => {
            return (StatusCode::OK, "ok").into_response();
        }
        _ => {}
    }
    let store = shared.lock();
    if method == Method::GET && segments.first() == Some(&"openapi") {
        return match openapi(store.types(), &segments[1..]) {
            Some(v) => json_response(StatusCode::OK, &v),
            None => error_response(&Error::UnknownResource),
        };
    }
    let discovery = Discovery {
        types: store.types(),
    };
    let found = match (method.clone(), segments.as_slice()) {
        (Method::GET, ["api"]) => Some(discovery.core_versions()),
        (Method::GET, ["apis"]) => Some(discovery.groups()),
        (Method::GET, ["apis", group]) => discovery.group(group),
        (Method::GET, ["api", version]) => discovery.resources("", version),
        (Method::GET, ["apis", group, version]) => discovery.resources(group, version),
        _ => None,
    };
    let is_discovery_path = matches!(
        segments.as_slice(),
        ["api"] | ["apis"] | ["apis", _] | ["api", _] | ["apis", _, _]
    );
    if is_discovery_path {
        return match found {
            Some(v) => json_response(StatusCode::OK, &v),
            None => error_response(&Error::UnknownResource),
        };
    }
    drop(store);
    let Some(target) = parse_target(&segments) else {
        return error_response(&Error::UnknownResource);
    };
    match resource_request(&shared, &method, target, &query, &headers, body) {
        Ok(Reply::Json(code, v)) => json_response(code, &v),
        Ok(Reply::Watch(w)) => watch_response(shared, w),
        Err(e) => error_response(&e),
    }
}

/// The OpenAPI v3 documents: the root (`/openapi/v3`) lists one document per group version,
/// and each document holds the PATCH operations of its kinds with the `fieldValidation`
/// parameter. That is what kubectl reads to learn that the server validates fields, so it
/// sends `fieldValidation=Strict` instead of validating against a schema it cannot download.
/// No schemas are served (`components.schemas` is empty): kubectl then computes
/// strategic merge patches from its compiled-in types, as it does for servers without
/// OpenAPI. `/openapi/v2` is not served.
fn openapi(types: &[ResourceType], rest: &[&str]) -> Option<Value> {
    let mut group_versions: Vec<(String, String)> = Vec::new();
    for t in types {
        let gv = (t.group.clone(), t.version.clone());
        if !group_versions.contains(&gv) {
            group_versions.push(gv);
        }
    }
    let prefix = |g: &str, v: &str| {
        if g.is_empty() {
            format!("api/{v}")
        } else {
            format!("apis/{g}/{v}")
        }
    };
    let document = |group: &str, version: &str| -> Value {
        let mut paths = serde_json::Map::new();
        for t in types
            .iter()
            .filter(|t| t.group == group && t.version == version)
        {
            let path = if t.namespaced {
                format!(
                    "/{}/namespaces/{{namespace}}/{}/{{name}}",
                    prefix(group, version),
                    t.plural
                )
            } else {
                format!("/{}/{}/{{name}}", prefix(group, version), t.plural)
            };
            paths.insert(path, json!({"patch": {
                "operationId": format!("patch{}", t.kind),
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {"group": t.group, "version": t.version, "kind": t.kind},
                "parameters": [
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}},
                ],
                "responses": {"200": {"description": "OK"}},
            }}));
        }
        json!({
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.33.0"},
            "paths": paths,
            "components": {"schemas": {}},
        })
    };
    match rest {
        ["v3"] => {
            let mut paths = serde_json::Map::new();
            for (g, v) in &group_versions {
                let doc = document(g, v);
                paths.insert(
                    prefix(g, v),
                    json!({"serverRelativeURL": format!("/openapi/v3/{}?hash={:016X}", prefix(g, v), fnv1a(&doc.to_string()))}),
                );
            }
            Some(json!({"paths": paths}))
        }
        ["v3", "api", version] => group_versions
            .iter()
            .any(|(g, v)| g.is_empty() && v == version)
            .then(|| document("", version)),
        ["v3", "apis", group, version] => group_versions
            .iter()
            .any(|(g, v)| g == group && v == version)
            .then(|| document(group, version)),
        _ => None,
    }
}

/// A content hash for OpenAPI document URLs (clients cache documents by URL).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The server's `/version` (the Kubernetes version the emulation follows).
fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-fleet-test",
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "none",
        "compiler": "none",
        "platform": "linux/amd64",
    })
}

enum Reply {
    Json(StatusCode, Value),
    Watch(Box<WatchRequest>),
}

struct WatchRequest {
    rt: ResourceType,
    namespace: Option<String>,
    options: ListOptions,
    /// `None`: start with the current objects as ADDED events.
    from: Option<u64>,
    bookmarks: bool,
    initial_end_bookmark: bool,
    timeout: Option<Duration>,
    shape: Shape,
}

fn resource_request(
    shared: &Shared,
    method: &Method,
    target: Target,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Reply, Error> {
    let mut store = shared.lock();
    let rt = store
        .resolve(&target.group, &target.version, &target.plural)?
        .clone();
    if rt.namespaced != target.namespace.is_some() && target.name.is_some() {
        return Err(Error::UnknownResource);
    }
    if !rt.namespaced && target.namespace.is_some() {
        return Err(Error::UnknownResource);
    }
    let namespace = target.namespace.clone().unwrap_or_default();
    let (status, scale) = match target.subresource.as_deref() {
        None => (false, false),
        Some("status") if rt.status_subresource => (true, false),
        Some("scale") if rt.scale_subresource => (false, true),
        Some(_) => return Err(Error::UnknownResource),
    };
    let shape = Shape::of(headers);
    let write_opts = WriteOptions {
        field_manager: query.get("fieldManager").cloned(),
        force: truthy(query, "force"),
        status,
        scale,
        dry_run: query.get("dryRun").is_some_and(|d| d == "All"),
        default_manager: user_agent_manager(headers),
    };
    let ok = |v: Value| Ok(Reply::Json(StatusCode::OK, v));
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let parse_body = |body: &Bytes| -> Result<Value, Error> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media {
            "" | "application/json" => serde_json::from_slice(body)
                .map_err(|e| Error::BadRequest(format!("error decoding the request body: {e}"))),
            "application/yaml" => std::str::from_utf8(body)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_saphyr::from_str(t).map_err(|e| e.to_string()))
                .map_err(|e| Error::BadRequest(format!("error decoding the request body: {e}"))),
            // Protobuf (what kubectl's typed commands send) is not decoded.
            _ => Err(Error::UnsupportedMediaType(
                "application/json, application/yaml".into(),
            )),
        }
    };
    if let (true, Some(name)) = (scale, target.name.as_deref()) {
        let object = match *method {
            Method::GET => store.get_scale(&rt, &namespace, name)?,
            Method::PUT => {
                store.update_scale(&rt, &namespace, name, &parse_body(&body)?, &write_opts)?
            }
            Method::PATCH => {
                let patch_type = PatchType::from_content_type(content_type)?;
                store.patch_scale(&rt, &namespace, name, patch_type, &body, &write_opts)?
            }
            _ => return Err(Error::MethodNotAllowed),
        };
        shared.notify(&store);
        return ok(object);
    }
    match (method, target.name.as_deref()) {
        (&Method::GET, None) => {
            let options = list_options(query)?;
            let ns = target.namespace.as_deref();
            if truthy(query, "watch") {
                let rv = query.get("resourceVersion").map_or("", String::as_str);
                let from = match rv {
                    "" | "0" => None,
                    rv => Some(rv.parse::<u64>().map_err(|_| {
                        Error::BadRequest(format!("invalid resource version: {rv:?}"))
                    })?),
                };
                let send_initial = truthy(query, "sendInitialEvents");
                return Ok(Reply::Watch(Box::new(WatchRequest {
                    rt,
                    namespace: target.namespace,
                    options,
                    from: if send_initial { None } else { from },
                    bookmarks: truthy(query, "allowWatchBookmarks"),
                    initial_end_bookmark: send_initial,
                    timeout: query
                        .get("timeoutSeconds")
                        .and_then(|t| t.parse().ok())
                        .map(Duration::from_secs),
                    shape,
                })));
            }
            ok(shape.list(store.list(&rt, ns, &options)?))
        }
        (&Method::GET, Some(name)) => {
            let object = store.get(&rt, &namespace, name)?;
            ok(if status { object } else { shape.object(object) })
        }
        // The all-namespaces collection of a namespaced kind takes no creates.
        (&Method::POST, None) if rt.namespaced && target.namespace.is_none() => {
            Err(Error::MethodNotAllowed)
        }
        (&Method::POST, None) => {
            let object = store.create(&rt, &namespace, parse_body(&body)?, &write_opts)?;
            shared.notify(&store);
            Ok(Reply::Json(StatusCode::CREATED, object))
        }
        (&Method::PUT, Some(name)) => {
            let object = store.update(&rt, &namespace, name, parse_body(&body)?, &write_opts)?;
            shared.notify(&store);
            ok(object)
        }
        (&Method::PATCH, Some(name)) => {
            let patch_type = PatchType::from_content_type(content_type)?;
            let existed = store.get(&rt, &namespace, name).is_ok();
            let object = store.patch(&rt, &namespace, name, patch_type, &body, &write_opts)?;
            shared.notify(&store);
            let code = if existed {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            Ok(Reply::Json(code, object))
        }
        (&Method::DELETE, Some(name)) => {
            if status {
                return Err(Error::MethodNotAllowed);
            }
            let opts = delete_options(query, &body)?;
            let out = store.delete(&rt, &namespace, name, &opts)?;
            shared.notify(&store);
            match out {
                Deleted::Pending(object) => Ok(Reply::Json(StatusCode::OK, object)),
                Deleted::Gone(object) if store::delete_returns_object(&rt) => ok(object),
                Deleted::Gone(object) => ok(store::delete_status(&rt, &object)),
            }
        }
        (&Method::DELETE, None) => {
            let options = list_options(query)?;
            let list = store.list(&rt, target.namespace.as_deref(), &options)?;
            let opts = delete_options(query, &body)?;
            let mut items = Vec::new();
            for item in list["items"].as_array().into_iter().flatten() {
                let ns = item["metadata"]["namespace"].as_str().unwrap_or("");
                let name = item["metadata"]["name"].as_str().unwrap_or("");
                match store.delete(&rt, ns, name, &opts)? {
                    Deleted::Gone(o) | Deleted::Pending(o) => items.push(o),
                }
            }
            shared.notify(&store);
            let mut out = list;
            out["items"] = Value::Array(items);
            ok(out)
        }
        _ => Err(Error::MethodNotAllowed),
    }
}

fn delete_options(query: &HashMap<String, String>, body: &Bytes) -> Result<DeleteOptions, Error> {
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .map_err(|e| Error::BadRequest(format!("error decoding DeleteOptions: {e}")))?
    };
    if let Some(policy) = body["propagationPolicy"]
        .as_str()
        .or(query.get("propagationPolicy").map(String::as_str))
        && !["Orphan", "Background", "Foreground"].contains(&policy)
    {
        return Err(Error::BadRequest(format!(
            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{policy}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
        )));
    }
    let dry_run = body["dryRun"]
        .as_array()
        .is_some_and(|d| d.iter().any(|v| v == "All"))
        || query.get("dryRun").is_some_and(|d| d == "All");
    Ok(DeleteOptions {
        resource_version: body["preconditions"]["resourceVersion"]
            .as_str()
            .map(str::to_string),
        uid: body["preconditions"]["uid"].as_str().map(str::to_string),
        dry_run,
    })
}

fn event_line(kind: &str, object: Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

fn watch_response(shared: Arc<Shared>, w: Box<WatchRequest>) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(run_watch(shared, w, tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Feeds a watch stream until the client goes, the timeout passes, or the version expires.
async fn run_watch(shared: Arc<Shared>, w: Box<WatchRequest>, tx: mpsc::Sender<Bytes>) {
    let mut changes = shared.revision.subscribe();
    let shape = |object: Value| w.shape.object(object);
    let bookmark = |rv: u64| json!({"kind": w.rt.kind, "apiVersion": w.rt.api_version(), "metadata": {"resourceVersion": rv.to_string()}});
    let mut last = match w.from {
        Some(rv) => rv,
        None => {
            let (objects, rv) = {
                let store = shared.lock();
                (
                    store.initial_events(&w.rt, w.namespace.as_deref(), &w.options),
                    store.revision(),
                )
            };
            for o in objects {
                if tx.send(event_line("ADDED", shape(o))).await.is_err() {
                    return;
                }
            }
            if w.initial_end_bookmark {
                let mut b = bookmark(rv);
                b["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
                if tx.send(event_line("BOOKMARK", b)).await.is_err() {
                    return;
                }
            }
            rv
        }
    };
    let deadline = w.timeout.map(|t| tokio::time::Instant::now() + t);
    let mut ticker = tokio::time::interval(shared.options.bookmark_interval);
    ticker.tick().await;
    loop {
        let events = {
            let store = shared.lock();
            store
                .events_after(&w.rt, w.namespace.as_deref(), last, &w.options)
                .map(|e| (e, store.revision()))
        };
        match events {
            Err(e) => {
                let _ = tx.send(event_line("ERROR", e.to_status())).await;
                return;
            }
            Ok((events, revision)) => {
                for (kind, object, rv) in events {
                    if tx
                        .send(event_line(kind.as_str(), shape(object)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    last = rv;
                }
                // Everything up to `revision` was read under one lock.
                last = last.max(revision);
            }
        }
        let sleep_until = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = ticker.tick() => {
                if w.bookmarks && tx.send(event_line("BOOKMARK", bookmark(last))).await.is_err() {
                    return;
                }
                if tx.is_closed() {
                    return;
                }
            }
            _ = sleep_until => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_like_the_api_server() {
        let t = parse_target(&["api", "v1", "namespaces", "ns", "status"]).unwrap();
        assert_eq!(
            (
                t.plural.as_str(),
                t.name.as_deref(),
                t.subresource.as_deref()
            ),
            ("namespaces", Some("ns"), Some("status"))
        );
        let t = parse_target(&[
            "apis",
            "apps",
            "v1",
            "namespaces",
            "n",
            "deployments",
            "d",
            "status",
        ])
        .unwrap();
        assert_eq!(
            (
                t.namespace.as_deref(),
                t.name.as_deref(),
                t.subresource.as_deref()
            ),
            (Some("n"), Some("d"), Some("status"))
        );
        let t = parse_target(&["api", "v1", "namespaces", "n", "configmaps"]).unwrap();
        assert_eq!(
            (t.plural.as_str(), t.namespace.as_deref(), t.name),
            ("configmaps", Some("n"), None)
        );
        assert!(parse_target(&["apis", "apps"]).is_none());
    }

    #[test]
    fn query_decoding() {
        assert_eq!(decode("app%3Dweb%2Ctier+in+(a)"), "app=web,tier in (a)");
        assert_eq!(decode("100%"), "100%");
    }
}
