//! Conditional polls against the manager: how many `GET /v1/agent/bundledeployments` with a
//! current `If-None-Match` (answered 304) it serves per second, over plain HTTP and over TLS,
//! with the load generator on the same machine.
//!
//! ```text
//! cargo bench -p fleet-manager --bench poll_load -- [--clusters N] [--connections C] [--seconds S]
//! ```
//!
//! N clusters register with one Bundle targeting all of them; C client threads, each with its
//! own keep-alive connection, poll with the clusters' credentials round-robin for S seconds.
//! Prints requests/s and latency percentiles (client-side, per request).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fleet_manager::manager::server::{self, App};
use fleet_manager::manager::store::RedbStore;
use fleet_manager::manager::tls;
use serde_json::{Value, json};

struct Settings {
    clusters: usize,
    connections: usize,
    seconds: u64,
}

fn settings() -> Result<Settings> {
    let mut s = Settings {
        clusters: 1000,
        connections: 16,
        seconds: 10,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| -> Result<usize> {
            args.next()
                .with_context(|| format!("{name} needs a value"))?
                .parse()
                .with_context(|| format!("{name}: not a number"))
        };
        match a.as_str() {
            "--clusters" => s.clusters = value("--clusters")?.max(1),
            "--connections" => s.connections = value("--connections")?.max(1),
            "--seconds" => s.seconds = value("--seconds")? as u64,
            // cargo bench passes --bench.
            "--bench" => {}
            other => bail!("unknown argument {other:?}"),
        }
    }
    Ok(s)
}

fn agent(ca: Option<&[u8]>) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder().http_status_as_error(false);
    if let Some(pem) = ca {
        let certs: Vec<_> = ureq::tls::parse_pem(pem)
            .filter_map(|i| match i {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)))
                .build(),
        );
    }
    config.build().new_agent()
}

fn post(a: &ureq::Agent, url: &str, token: Option<&str>, body: String) -> Result<Value> {
    let mut req = a.post(url);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let mut resp = req.send(body).with_context(|| url.to_string())?;
    let text = resp.body_mut().read_to_string()?;
    if !resp.status().is_success() {
        bail!("{url}: {}: {text}", resp.status());
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

const BUNDLE: &str = "apiVersion: fleet.cattle.io/v1alpha1
kind: Bundle
metadata:
  name: app
  namespace: fleet-default
spec:
  resources:
  - name: cm.yaml
    content: |
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: app
  targets:
  - clusterSelector:
      matchLabels:
        load: \"true\"
";

/// One run: (requests/s, p50 µs, p99 µs, max µs).
fn run(s: &Settings, use_tls: bool) -> Result<(f64, u64, u64, u64)> {
    let dir = std::env::temp_dir().join(format!(
        "fleet-poll-load-{}-{}",
        std::process::id(),
        use_tls
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let store = RedbStore::open(&dir.join("fleet.redb"))?;
    let admin = server::secret()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let app = App::new(Box::new(store), &admin, server::Options::default());
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let ca = if use_tls {
        let files = tls::ensure(&dir, &[])?;
        let config = tls::server_config(&files)?;
        let router = server::router(app.clone());
        runtime.spawn(tls::serve(listener, config, router, std::future::pending()));
        Some(std::fs::read(&files.ca)?)
    } else {
        let router = server::router(app.clone());
        runtime.spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        None
    };
    let scheme = if use_tls { "https" } else { "http" };
    let base = format!("{scheme}://{addr}");
    let a = agent(ca.as_deref());
    post(
        &a,
        &format!("{base}/v1/admin/apply"),
        Some(&admin),
        BUNDLE.into(),
    )?;
    let token = post(
        &a,
        &format!("{base}/v1/admin/tokens"),
        Some(&admin),
        json!({"ttlSeconds": 3600, "namespace": "fleet-default"}).to_string(),
    )?["token"]
        .as_str()
        .context("token")?
        .to_owned();
    let started = Instant::now();
    let mut creds = Vec::with_capacity(s.clusters);
    for i in 0..s.clusters {
        let r = post(
            &a,
            &format!("{base}/v1/register"),
            None,
            json!({"token": token, "clientID": format!("load-{i}"), "labels": {"load": "true"}})
                .to_string(),
        )?;
        creds.push(r["credential"].as_str().context("credential")?.to_owned());
    }
    eprintln!(
        "{scheme}: registered {} clusters in {:.1} s",
        s.clusters,
        started.elapsed().as_secs_f64()
    );
    // Each credential's current ETag.
    let url = format!("{base}/v1/agent/bundledeployments");
    let mut etags = Vec::with_capacity(creds.len());
    for c in &creds {
        let resp = a
            .get(&url)
            .header("Authorization", format!("Bearer {c}"))
            .call()?;
        let etag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .context("no ETag")?
            .to_owned();
        etags.push(etag);
    }
    let pairs: Arc<Vec<(String, String)>> = Arc::new(
        creds
            .into_iter()
            .zip(etags)
            .map(|(c, e)| (format!("Bearer {c}"), e))
            .collect(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for t in 0..s.connections {
        let (pairs, stop, url, ca) = (pairs.clone(), stop.clone(), url.clone(), ca.clone());
        handles.push(std::thread::spawn(move || -> Result<Vec<u32>> {
            let a = agent(ca.as_deref());
            let mut lat = Vec::new();
            let mut i = t;
            while !stop.load(Ordering::Relaxed) {
                let (auth, etag) = &pairs[i % pairs.len()];
                i += s_step(pairs.len());
                let t0 = Instant::now();
                let resp = a
                    .get(&url)
                    .header("Authorization", auth)
                    .header("If-None-Match", etag)
                    .call()?;
                if resp.status().as_u16() != 304 {
                    bail!("expected 304, got {}", resp.status());
                }
                lat.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
            }
            Ok(lat)
        }));
    }
    let window = Instant::now();
    std::thread::sleep(Duration::from_secs(s.seconds));
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for h in handles {
        all.extend(
            h.join()
                .map_err(|_| anyhow::anyhow!("a client thread panicked"))??,
        );
    }
    let secs = window.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as u64
    };
    let out = (
        all.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
        all.last().copied().unwrap_or(0) as u64,
    );
    runtime.shutdown_background();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(out)
}

/// Threads walk the credentials with a stride so they do not poll in lockstep.
fn s_step(len: usize) -> usize {
    if len > 7 { 7 } else { 1 }
}

fn main() -> Result<()> {
    let s = settings()?;
    println!(
        "conditional polls (304): {} clusters, {} connections, {} s per run",
        s.clusters, s.connections, s.seconds
    );
    println!("| transport | polls/s | p50 | p99 | max |");
    println!("|---|---|---|---|---|");
    for use_tls in [false, true] {
        let (rate, p50, p99, max) = run(&s, use_tls)?;
        println!(
            "| {} | {rate:.0} | {p50} µs | {p99} µs | {max} µs |",
            if use_tls { "TLS" } else { "plain HTTP" }
        );
    }
    Ok(())
}
