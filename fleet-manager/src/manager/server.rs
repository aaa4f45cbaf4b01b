//! The HTTP shell around the store and the reconcile: the agent API (registration, pulling
//! BundleDeployments with ETags and long-polling, Contents, statuses, heartbeats) and the admin
//! API (apply/get/list/delete Fleet objects, registration tokens, credential revocation).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use super::reconcile::{self, BUNDLE, BUNDLE_DEPLOYMENT, CLUSTER, CLUSTER_GROUP, GIT_REPO};
use super::store::{Store, TokenRecord, Write};

/// Largest request body accepted (a Bundle with its resources inlined).
pub const BODY_LIMIT: usize = 8 << 20;
/// Longest long-poll an agent may ask for.
const MAX_WAIT: Duration = Duration::from_secs(60);
const FLEET_API: &str = "fleet.cattle.io/v1alpha1";

/// Shared server state.
pub struct App {
    store: Box<dyn Store>,
    admin_hash: String,
    /// Per BundleDeployment namespace: a generation that moves whenever its BDs change, so an
    /// unchanged poll is answered from memory.
    generations: Mutex<HashMap<String, u64>>,
    /// Distinguishes this process's generations from an earlier one's: the start time in
    /// nanoseconds, so that a restart within the same second does not hand out an ETag an
    /// agent holds from the previous process for different contents.
    epoch: u128,
    changed: Notify,
    /// Serialises reconciles so two never interleave their read and write.
    reconcile_lock: tokio::sync::Mutex<()>,
    /// Reconcile tickets: each caller of [`App::reconcile`] takes the next one after its write;
    /// a reconcile that starts reading the store after ticket `n` was taken covers every ticket
    /// up to `n`, so callers queued behind it return at once (requests coalesced).
    reconcile_requested: std::sync::atomic::AtomicU64,
    /// The highest ticket a successful reconcile covered.
    reconcile_covered: std::sync::atomic::AtomicU64,
    /// Calls of [`App::reconcile`] answered by another caller's reconcile.
    reconciles_coalesced: std::sync::atomic::AtomicU64,
    heartbeats: Mutex<HashMap<String, Instant>>,
    metrics: Mutex<BTreeMap<String, (u64, f64)>>,
    sources: super::sources::Sources,
    /// A cluster whose agent is silent for longer than this is offline.
    offline_after: Duration,
    /// Clusters are given `offline_after` from the manager's start before they count as offline.
    started: Instant,
    /// The clusters found offline by the last check (`namespace/name`).
    offline: Mutex<BTreeSet<String>>,
    /// Credential hash → cluster, as read from the store: a conditional poll is answered
    /// without touching the store. Revocation clears it.
    credentials: Mutex<HashMap<String, String>>,
}

/// Settings of a server.
#[derive(Debug, Clone)]
pub struct Options {
    /// The webhook secret; webhooks are refused without one.
    pub webhook_secret: Option<String>,
    /// How long an agent may stay silent before its cluster is offline (default 90 s: three
    /// times the agent's 30 s heartbeat).
    pub offline_after: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            webhook_secret: None,
            offline_after: DEFAULT_OFFLINE_AFTER,
        }
    }
}

/// Three times the agent's default heartbeat interval.
pub const DEFAULT_OFFLINE_AFTER: Duration = Duration::from_secs(90);

/// A secret's stored form.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A fresh random secret (256 bits, hex).
pub fn secret() -> std::io::Result<String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex::encode(b))
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An API error: status and message, answered as `{"error": message}`.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError(status, message.into())
    }

    /// A 500 with this message.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, message.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({"error": self.1}))).into_response()
    }
}

impl From<super::store::Error> for ApiError {
    fn from(e: super::store::Error) -> Self {
        tracing::error!("{e}");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

type ApiResult<T> = Result<T, ApiError>;

fn bearer(headers: &HeaderMap) -> ApiResult<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError(
                StatusCode::UNAUTHORIZED,
                "missing Authorization: Bearer <token>".into(),
            )
        })
}

impl App {
    /// A server over this store, accepting this admin token.
    pub fn new(store: Box<dyn Store>, admin_token: &str, options: Options) -> Arc<Self> {
        Arc::new(Self {
            store,
            admin_hash: hash(admin_token),
            generations: Mutex::new(HashMap::new()),
            epoch: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
            changed: Notify::new(),
            reconcile_lock: tokio::sync::Mutex::new(()),
            reconcile_requested: std::sync::atomic::AtomicU64::new(0),
            reconcile_covered: std::sync::atomic::AtomicU64::new(0),
            reconciles_coalesced: std::sync::atomic::AtomicU64::new(0),
            heartbeats: Mutex::new(HashMap::new()),
            metrics: Mutex::new(BTreeMap::new()),
            sources: super::sources::Sources::new(options.webhook_secret),
            offline_after: options.offline_after,
            started: Instant::now(),
            offline: Mutex::new(BTreeSet::new()),
            credentials: Mutex::new(HashMap::new()),
        })
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The GitRepo poll schedule and webhook triggers.
    pub fn sources(&self) -> &super::sources::Sources {
        &self.sources
    }

    fn admin(&self, headers: &HeaderMap) -> ApiResult<()> {
        if hash(bearer(headers)?) == self.admin_hash {
            Ok(())
        } else {
            Err(ApiError(
                StatusCode::FORBIDDEN,
                "not the admin token".into(),
            ))
        }
    }

    /// The cluster (namespace, name) and its BundleDeployment namespace for an agent credential.
    fn agent(&self, headers: &HeaderMap) -> ApiResult<(String, String, String)> {
        let token = bearer(headers)?;
        let token_hash = hash(token);
        let cached = self
            .credentials
            .lock()
            .ok()
            .and_then(|c| c.get(&token_hash).cloned());
        let cluster = match cached {
            Some(c) => c,
            None => {
                let Some(cluster) = self.store.credential(&token_hash)? else {
                    return Err(ApiError(
                        StatusCode::FORBIDDEN,
                        "unknown or revoked credential".into(),
                    ));
                };
                if let Ok(mut c) = self.credentials.lock() {
                    c.insert(token_hash, cluster.clone());
                }
                cluster
            }
        };
        // Every authenticated call shows the agent is alive, not only heartbeats.
        if let Ok(mut h) = self.heartbeats.lock() {
            h.insert(cluster.clone(), Instant::now());
        }
        let (ns, name) = cluster.split_once('/').unwrap_or(("", &cluster));
        Ok((
            ns.to_owned(),
            name.to_owned(),
            fleet_core::names::cluster_namespace(ns, name),
        ))
    }

    fn generation(&self, ns: &str) -> u64 {
        self.generations
            .lock()
            .map_or(0, |g| g.get(ns).copied().unwrap_or(0))
    }

    fn etag(&self, ns: &str) -> String {
        format!("\"{}-{}\"", self.epoch, self.generation(ns))
    }

    /// Revokes every credential of a cluster (`namespace/name`), in the store and in memory.
    fn revoke(&self, cluster: &str) -> ApiResult<usize> {
        let n = self.store.revoke(cluster)?;
        if let Ok(mut c) = self.credentials.lock() {
            c.retain(|_, v| v != cluster);
        }
        Ok(n)
    }

    /// Records one timed operation for `/metrics`.
    pub fn observe(&self, route: &str, started: Instant) {
        if let Ok(mut m) = self.metrics.lock() {
            let e = m.entry(route.to_owned()).or_default();
            e.0 += 1;
            e.1 += started.elapsed().as_secs_f64();
        }
    }

    /// Finds the clusters whose agent has been silent longer than the threshold; when the set
    /// changed, reconciles (their BundleDeployments turn `Ready=Unknown`, or back). Returns
    /// the clusters offline now.
    pub async fn check_offline(&self) -> ApiResult<BTreeSet<String>> {
        let now = Instant::now();
        let seen = self
            .heartbeats
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default();
        let mut offline = BTreeSet::new();
        for c in self.store.list(CLUSTER)? {
            let key = format!(
                "{}/{}",
                c["metadata"]["namespace"].as_str().unwrap_or_default(),
                c["metadata"]["name"].as_str().unwrap_or_default()
            );
            // Only clusters with an agent (registered ones) can go offline.
            if c["spec"]["clientID"].as_str().is_none_or(str::is_empty) {
                continue;
            }
            let last = seen
                .get(&key)
                .copied()
                .unwrap_or(self.started)
                .max(self.started);
            if now.duration_since(last) > self.offline_after {
                offline.insert(key);
            }
        }
        let changed = match self.offline.lock() {
            Ok(mut current) if *current != offline => {
                *current = offline.clone();
                true
            }
            _ => false,
        };
        if changed {
            tracing::info!(offline = offline.len(), "offline clusters changed");
            self.reconcile().await?;
        }
        Ok(offline)
    }

    /// Runs [`App::check_offline`] every sixth of the threshold (at least every second).
    pub async fn run_offline_monitor(self: Arc<Self>) {
        let period = (self.offline_after / 6).max(Duration::from_millis(200));
        loop {
            tokio::time::sleep(period).await;
            if let Err(e) = self.check_offline().await {
                tracing::error!("offline check: {e:?}");
            }
        }
    }

    /// Recomputes BundleDeployments and roll-ups and commits the changes in one transaction;
    /// again while a rollout stopped at `maxNew` creations (each pass its own transaction, as
    /// each of Fleet's bundle reconciles is).
    ///
    /// Callers that queue up while one runs are served by the next one: registrations and
    /// status posts arriving together cost one reconcile, not one each. A caller returns only
    /// once a reconcile that read the store after its call has succeeded.
    pub async fn reconcile(&self) -> ApiResult<()> {
        use std::sync::atomic::Ordering::SeqCst;
        let ticket = self.reconcile_requested.fetch_add(1, SeqCst) + 1;
        let _guard = self.reconcile_lock.lock().await;
        if self.reconcile_covered.load(SeqCst) >= ticket {
            self.reconciles_coalesced.fetch_add(1, SeqCst);
            return Ok(());
        }
        // Every ticket taken so far belongs to a write made before the store is read below.
        let covering = self.reconcile_requested.load(SeqCst);
        while self.reconcile_pass()? {}
        self.reconcile_covered.fetch_max(covering, SeqCst);
        Ok(())
    }

    /// One reconcile pass; whether another one is due.
    fn reconcile_pass(&self) -> ApiResult<bool> {
        let started = Instant::now();
        let bundles = self.store.list(BUNDLE)?;
        let clusters = self.store.list(CLUSTER)?;
        let groups = self.store.list(CLUSTER_GROUP)?;
        let deployments = self.store.list(BUNDLE_DEPLOYMENT)?;
        let gitrepos = self.store.list(GIT_REPO)?;
        let offline = self.offline.lock().map(|o| o.clone()).unwrap_or_default();
        let plan = reconcile::reconcile(&reconcile::State {
            bundles: &bundles,
            clusters: &clusters,
            groups: &groups,
            deployments: &deployments,
            gitrepos: &gitrepos,
            offline: &offline,
        })
        .map_err(|e| ApiError(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
        if !plan.writes.is_empty() {
            self.store.write(&plan.writes)?;
        }
        if let Ok(mut g) = self.generations.lock() {
            for ns in &plan.changed_namespaces {
                *g.entry(ns.clone()).or_default() += 1;
            }
        }
        if !plan.changed_namespaces.is_empty() {
            self.changed.notify_waiters();
        }
        self.observe("reconcile", started);
        Ok(plan.more && !plan.writes.is_empty())
    }
}

/// The router of the whole API.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/v1/register", post(register))
        .route("/v1/webhook", post(super::sources::webhook))
        .route("/v1/agent/bundledeployments", get(agent_bds))
        .route("/v1/agent/contents/{id}", get(agent_content))
        .route("/v1/agent/statuses", post(agent_statuses))
        .route("/v1/agent/heartbeat", post(agent_heartbeat))
        .route("/v1/admin/apply", post(admin_apply))
        .route("/v1/admin/tokens", post(admin_token))
        .route("/v1/admin/clusters/{ns}/{name}/revoke", post(admin_revoke))
        .route("/v1/admin/objects/{kind}", get(admin_list))
        .route(
            "/v1/admin/objects/{kind}/{ns}/{name}",
            get(admin_get).delete(admin_delete),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(app)
}

async fn readyz(State(app): State<Arc<App>>) -> ApiResult<&'static str> {
    app.store.list(GIT_REPO)?;
    Ok("ok")
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../../openapi.json"),
    )
}

async fn metrics(State(app): State<Arc<App>>) -> ApiResult<String> {
    let mut out = String::new();
    out.push_str("# TYPE fleet_api_request_duration_seconds summary\n");
    if let Ok(m) = app.metrics.lock() {
        for (route, (n, secs)) in m.iter() {
            out.push_str(&format!(
                "fleet_api_request_duration_seconds_count{{route=\"{route}\"}} {n}\nfleet_api_request_duration_seconds_sum{{route=\"{route}\"}} {secs}\n"
            ));
        }
    }
    let mut states: BTreeMap<&str, u64> = BTreeMap::new();
    for bd in app.store.list(BUNDLE_DEPLOYMENT)? {
        *states.entry(reconcile::deployment_state(&bd)).or_default() += 1;
    }
    out.push_str("# TYPE fleet_bundledeployments gauge\n");
    for (s, n) in states {
        out.push_str(&format!("fleet_bundledeployments{{state=\"{s}\"}} {n}\n"));
    }
    let coalesced = app
        .reconciles_coalesced
        .load(std::sync::atomic::Ordering::Relaxed);
    out.push_str(&format!(
        "# TYPE fleet_reconciles_coalesced_total counter\nfleet_reconciles_coalesced_total {coalesced}\n"
    ));
    let seen = app.heartbeats.lock().map_or(0, |h| h.len());
    let offline = app.offline.lock().map_or(0, |o| o.len());
    out.push_str(&format!(
        "# TYPE fleet_agents_seen gauge\nfleet_agents_seen {seen}\n# TYPE fleet_clusters_offline gauge\nfleet_clusters_offline {offline}\n"
    ));
    Ok(out)
}

fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes, what: &str) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| bad(format!("{what}: invalid JSON body: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterRequest {
    token: String,
    #[serde(rename = "clientID")]
    client_id: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// Fleet names clusters registered by an agent after a hash of its client ID.
fn cluster_name(client_id: &str) -> String {
    format!("c-{}", &hash(client_id)[..12])
}

async fn register(State(app): State<Arc<App>>, body: Bytes) -> ApiResult<Response> {
    let started = Instant::now();
    let req: RegisterRequest = json_body(&body, "register")?;
    if req.client_id.is_empty() {
        return Err(bad("register: clientID is empty"));
    }
    let Some(token) = app.store.valid_token(&hash(&req.token), now_unix())? else {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "registration token unknown or expired".into(),
        ));
    };
    let existing = app.store.list(CLUSTER)?.into_iter().find(|c| {
        c["metadata"]["namespace"] == token.namespace.as_str()
            && c["spec"]["clientID"] == req.client_id.as_str()
    });
    let mut cluster = existing.unwrap_or_else(|| {
        json!({"apiVersion": FLEET_API, "kind": "Cluster",
            "metadata": {"namespace": token.namespace, "name": cluster_name(&req.client_id)},
            "spec": {"clientID": req.client_id}})
    });
    let labels = cluster["metadata"]
        .as_object_mut()
        .map(|m| m.entry("labels").or_insert_with(|| json!({})));
    if let Some(Value::Object(l)) = labels {
        for (k, v) in &req.labels {
            l.insert(k.clone(), Value::String(v.clone()));
        }
    }
    let name = cluster["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.store.write(&[Write::Put {
        kind: CLUSTER.into(),
        namespace: token.namespace.clone(),
        name: name.clone(),
        object: cluster,
    }])?;
    let credential =
        secret().map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    app.store
        .put_credential(&hash(&credential), &format!("{}/{name}", token.namespace))?;
    app.reconcile().await?;
    app.observe("register", started);
    Ok(axum::Json(json!({
        "clusterNamespace": token.namespace,
        "clusterName": name,
        "deploymentNamespace": fleet_core::names::cluster_namespace(&token.namespace, &name),
        "credential": credential,
    }))
    .into_response())
}

/// `?wait=SECONDS`, with a JSON error naming the parameter (axum's own rejection is text).
fn wait_seconds(query: Option<&str>) -> ApiResult<u64> {
    let mut wait = 0;
    for pair in query.unwrap_or_default().split('&') {
        if let Some(v) = pair.strip_prefix("wait=") {
            wait = v.parse().map_err(|_| {
                bad(format!(
                    "query parameter wait={v:?}: expected a whole number of seconds"
                ))
            })?;
        }
    }
    Ok(wait)
}

async fn agent_bds(
    State(app): State<Arc<App>>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let started = Instant::now();
    let (_, _, bd_ns) = app.agent(&headers)?;
    let wait = wait_seconds(query.as_deref())?;
    let seen = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let deadline = Instant::now() + Duration::from_secs(wait).min(MAX_WAIT);
    loop {
        let notified = app.changed.notified();
        let etag = app.etag(&bd_ns);
        if seen.as_deref() != Some(etag.as_str()) {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || tokio::time::timeout(left, notified).await.is_err() {
            app.observe("agent_bundledeployments", started);
            return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
        }
    }
    let etag = app.etag(&bd_ns);
    let items: Vec<Value> = app
        .store
        .list(BUNDLE_DEPLOYMENT)?
        .into_iter()
        .filter(|bd| bd["metadata"]["namespace"] == bd_ns.as_str())
        .collect();
    app.observe("agent_bundledeployments", started);
    Ok(([(header::ETAG, etag)], axum::Json(json!({"items": items}))).into_response())
}

async fn agent_content(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (_, _, bd_ns) = app.agent(&headers)?;
    let referenced = app.store.list(BUNDLE_DEPLOYMENT)?.iter().any(|bd| {
        bd["metadata"]["namespace"] == bd_ns.as_str()
            && bd["spec"]["deploymentID"]
                .as_str()
                .is_some_and(|d| d.split(':').next() == Some(id.as_str()))
    });
    if !referenced {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            format!("content {id} is not referenced by this cluster's BundleDeployments"),
        ));
    }
    let Some(content) = app.store.get("content", "", &id)? else {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("content {id} not found"),
        ));
    };
    let etag = format!("\"{id}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let body = serde_json::to_vec(&content).map_err(|e| ApiError::internal(e.to_string()))?;
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    let cache = (
        header::CACHE_CONTROL,
        "public, max-age=31536000, immutable".to_owned(),
    );
    let json_type = (header::CONTENT_TYPE, "application/json".to_owned());
    if gzip {
        use std::io::Write as _;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let zipped = enc
            .write_all(&body)
            .and_then(|()| enc.finish())
            .map_err(|e| ApiError::internal(format!("gzip: {e}")))?;
        return Ok((
            [
                cache,
                json_type,
                (header::ETAG, etag),
                (header::CONTENT_ENCODING, "gzip".to_owned()),
                (header::VARY, "Accept-Encoding".to_owned()),
            ],
            zipped,
        )
            .into_response());
    }
    Ok((
        [
            cache,
            json_type,
            (header::ETAG, etag),
            (header::VARY, "Accept-Encoding".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// Whether an `Accept-Encoding` value allows gzip (`gzip` or `*` without `q=0`).
fn accepts_gzip(value: &str) -> bool {
    value.split(',').any(|part| {
        let mut it = part.split(';');
        let coding = it.next().unwrap_or_default().trim();
        let refused = it.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .is_some_and(|q| q.trim().parse::<f64>().is_ok_and(|q| q == 0.0))
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

#[derive(Deserialize)]
struct StatusItem {
    name: String,
    status: Value,
}

async fn agent_statuses(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let started = Instant::now();
    let (_, _, bd_ns) = app.agent(&headers)?;
    let items: Vec<StatusItem> = json_body(&body, "statuses")?;
    let mut writes = Vec::new();
    for it in items {
        let Some(mut bd) = app.store.get(BUNDLE_DEPLOYMENT, &bd_ns, &it.name)? else {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                format!(
                    "BundleDeployment {bd_ns}/{} not found for this cluster",
                    it.name
                ),
            ));
        };
        if bd.get("status") == Some(&it.status) {
            continue;
        }
        bd["status"] = it.status;
        writes.push(Write::Put {
            kind: BUNDLE_DEPLOYMENT.into(),
            namespace: bd_ns.clone(),
            name: it.name,
            object: bd,
        });
    }
    if !writes.is_empty() {
        app.store.write(&writes)?;
        app.reconcile().await?;
    }
    app.observe("agent_statuses", started);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn agent_heartbeat(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<Response> {
    let (ns, name, _) = app.agent(&headers)?;
    if let Ok(mut h) = app.heartbeats.lock() {
        h.insert(format!("{ns}/{name}"), Instant::now());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Stored kind for an API kind name (singular, plural or Fleet's kind).
pub fn kind_of(s: &str) -> Option<&'static str> {
    Some(match s.to_ascii_lowercase().as_str() {
        "gitrepo" | "gitrepos" => GIT_REPO,
        "bundle" | "bundles" => BUNDLE,
        "bundledeployment" | "bundledeployments" => BUNDLE_DEPLOYMENT,
        "cluster" | "clusters" => CLUSTER,
        "clustergroup" | "clustergroups" => CLUSTER_GROUP,
        _ => return None,
    })
}

fn known_kind(s: &str) -> ApiResult<&'static str> {
    kind_of(s).ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("unknown kind {s:?}; expected gitrepos, bundles, bundledeployments, clusters or clustergroups"),
        )
    })
}

async fn admin_apply(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    app.admin(&headers)?;
    let text = std::str::from_utf8(&body).map_err(|_| bad("apply: body is not UTF-8"))?;
    let docs =
        fleet_core::yaml::documents(text).map_err(|e| bad(format!("apply: invalid YAML: {e}")))?;
    let mut writes = Vec::new();
    let mut applied = Vec::new();
    let mut changed_repos = Vec::new();
    for (i, mut d) in docs.into_iter().enumerate() {
        if d.is_null() {
            continue;
        }
        let kind_name = d["kind"].as_str().unwrap_or_default().to_owned();
        if d["apiVersion"] != FLEET_API {
            return Err(bad(format!(
                "apply: document {}: apiVersion must be {FLEET_API}",
                i + 1
            )));
        }
        let kind = match kind_of(&kind_name) {
            Some(k) if k != BUNDLE_DEPLOYMENT => k,
            _ => {
                return Err(bad(format!(
                    "apply: document {}: kind {kind_name:?} cannot be applied (GitRepo, Bundle, Cluster or ClusterGroup)",
                    i + 1
                )));
            }
        };
        let name = d["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if name.is_empty() {
            return Err(bad(format!(
                "apply: document {}: metadata.name is empty",
                i + 1
            )));
        }
        let ns = match d["metadata"]["namespace"].as_str() {
            Some(n) if !n.is_empty() => n.to_owned(),
            _ => "fleet-local".to_owned(),
        };
        d["metadata"]["namespace"] = json!(ns);
        let stored = app.store.get(kind, &ns, &name)?;
        if kind == GIT_REPO
            && stored
                .as_ref()
                .is_none_or(|o| o.get("spec") != d.get("spec"))
        {
            changed_repos.push(format!("{ns}/{name}"));
        }
        // Status belongs to the manager: keep what it computed.
        if let Some(old) = stored {
            match old.get("status") {
                Some(s) => d["status"] = s.clone(),
                None => {
                    if let Some(o) = d.as_object_mut() {
                        o.remove("status");
                    }
                }
            }
        }
        if kind == BUNDLE {
            store_content(&d, &mut writes)?;
        }
        applied.push(format!("{kind_name} {ns}/{name}"));
        writes.push(Write::Put {
            kind: kind.into(),
            namespace: ns,
            name,
            object: d,
        });
    }
    app.store.write(&writes)?;
    // A new or changed GitRepo is read now, whatever its commit, not at its next poll.
    for key in &changed_repos {
        app.sources.trigger(key);
    }
    app.reconcile().await?;
    Ok(axum::Json(json!({"applied": applied})).into_response())
}

/// A Bundle's resources as a Content object, stored once under its manifest ID.
fn store_content(bundle: &Value, writes: &mut Vec<Write>) -> ApiResult<()> {
    let b: fleet_core::crd::Bundle = serde_json::from_value(bundle.clone())
        .map_err(|e| bad(format!("apply: invalid Bundle: {e}")))?;
    writes.push(super::gitops::content_write(&b).map_err(|e| bad(format!("apply: {e}")))?);
    Ok(())
}

#[derive(Deserialize)]
struct ListQuery {
    namespace: Option<String>,
}

async fn admin_list(
    State(app): State<Arc<App>>,
    Path(kind): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    app.admin(&headers)?;
    let kind = known_kind(&kind)?;
    let items: Vec<Value> = app
        .store
        .list(kind)?
        .into_iter()
        .filter(|o| {
            q.namespace
                .as_deref()
                .is_none_or(|ns| o["metadata"]["namespace"] == ns)
        })
        .collect();
    Ok(axum::Json(json!({"items": items})).into_response())
}

async fn admin_get(
    State(app): State<Arc<App>>,
    Path((kind, ns, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    app.admin(&headers)?;
    let k = known_kind(&kind)?;
    match app.store.get(k, &ns, &name)? {
        Some(o) => Ok(axum::Json(o).into_response()),
        None => Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("{kind} {ns}/{name} not found"),
        )),
    }
}

async fn admin_delete(
    State(app): State<Arc<App>>,
    Path((kind, ns, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    app.admin(&headers)?;
    let k = known_kind(&kind)?;
    if k == BUNDLE_DEPLOYMENT {
        return Err(bad(
            "BundleDeployments are owned by the manager; delete the Bundle",
        ));
    }
    if app.store.get(k, &ns, &name)?.is_none() {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("{kind} {ns}/{name} not found"),
        ));
    }
    app.store.write(&[Write::Delete {
        kind: k.into(),
        namespace: ns.clone(),
        name: name.clone(),
    }])?;
    if k == CLUSTER {
        app.revoke(&format!("{ns}/{name}"))?;
    }
    app.reconcile().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenRequest {
    ttl_seconds: u64,
    #[serde(default)]
    namespace: Option<String>,
}

async fn admin_token(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    app.admin(&headers)?;
    let req: TokenRequest = json_body(&body, "token")?;
    if req.ttl_seconds == 0 {
        return Err(bad("token: ttlSeconds must be positive"));
    }
    let token = secret().map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let rec = TokenRecord {
        namespace: req.namespace.unwrap_or_else(|| "fleet-default".into()),
        expires_unix: now_unix().saturating_add(req.ttl_seconds),
    };
    app.store.put_token(&hash(&token), &rec)?;
    Ok(axum::Json(
        json!({"token": token, "namespace": rec.namespace, "expiresUnix": rec.expires_unix}),
    )
    .into_response())
}

async fn admin_revoke(
    State(app): State<Arc<App>>,
    Path((ns, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    app.admin(&headers)?;
    let n = app.revoke(&format!("{ns}/{name}"))?;
    Ok(axum::Json(json!({"revoked": n})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::store::RedbStore;

    #[test]
    fn two_processes_never_share_an_etag() {
        let dir = tempfile::tempdir().expect("tempdir");
        let open = |name: &str| {
            let store = RedbStore::open(&dir.path().join(name)).expect("store");
            App::new(Box::new(store), "admin", Options::default())
        };
        // Both start with generation 0 of every namespace, within the same second.
        let (first, second) = (open("a.redb"), open("b.redb"));
        assert_ne!(first.etag("cluster-ns"), second.etag("cluster-ns"));
    }

    /// Reconcile requests queued behind a running reconcile are served by one more reconcile,
    /// and every caller returns only once its own write has been reconciled.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_reconciles_are_coalesced_and_each_write_is_reconciled() {
        use std::sync::atomic::Ordering::SeqCst;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RedbStore::open(&dir.path().join("s.redb")).expect("store");
        let app = App::new(Box::new(store), "admin", Options::default());
        let put = |kind: &str, object: Value| {
            let (ns, name) = (
                object["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                object["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
            Write::Put {
                kind: kind.into(),
                namespace: ns,
                name,
                object,
            }
        };
        app.store
            .write(&[put(
                BUNDLE,
                json!({"apiVersion": FLEET_API, "kind": "Bundle",
                    "metadata": {"namespace": "fleet-default", "name": "app"},
                    "spec": {"resources": [{"name": "cm.yaml", "content": "kind: ConfigMap\n"}],
                             "targets": [{"clusterSelector": {}}]}}),
            )])
            .expect("bundle");
        // Hold the lock as a running reconcile would, while ten clusters arrive.
        let running = app.reconcile_lock.lock().await;
        let mut callers = Vec::new();
        for i in 0..10 {
            let app = app.clone();
            callers.push(tokio::spawn(async move {
                let cluster = json!({"apiVersion": FLEET_API, "kind": "Cluster",
                    "metadata": {"namespace": "fleet-default", "name": format!("c{i}")},
                    "spec": {}});
                app.store.write(&[put(CLUSTER, cluster)]).expect("cluster");
                app.reconcile().await
            }));
        }
        while app.reconcile_requested.load(SeqCst) < 10 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(running);
        for caller in callers {
            caller.await.expect("joined").expect("reconciled");
        }
        assert_eq!(app.reconciles_coalesced.load(SeqCst), 9);
        assert_eq!(app.store.list(BUNDLE_DEPLOYMENT).expect("list").len(), 10);
        // A later request is not taken for covered.
        app.store
            .write(&[put(
                CLUSTER,
                json!({"apiVersion": FLEET_API, "kind": "Cluster",
                    "metadata": {"namespace": "fleet-default", "name": "late"}, "spec": {}}),
            )])
            .expect("cluster");
        app.reconcile().await.expect("reconciled");
        assert_eq!(app.store.list(BUNDLE_DEPLOYMENT).expect("list").len(), 11);
        assert_eq!(app.reconciles_coalesced.load(SeqCst), 9);
    }
}
