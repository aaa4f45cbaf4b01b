//! `fleet-manager serve` as a real process on 127.0.0.1, driven over HTTP and by `ctl`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// A `fleet-manager serve` process, killed (as with -9) when dropped.
pub struct Server {
    child: Child,
    /// Its base URL, from the `listening on` line.
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path) -> Server {
    serve_with(data, &[])
}

fn serve_with(data: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--plain-http"];
    args.extend_from_slice(extra);
    start(data, &args)
}

/// Starts `fleet-manager serve --listen 127.0.0.1:0 ARGS --data DATA` (TLS unless ARGS say
/// `--plain-http`); `FLEET_TEST_LOG` sets its log filter.
pub fn start(data: &Path, args: &[&str]) -> Server {
    start_on(data, "127.0.0.1:0", args)
}

/// [`start`] on a given listen address (a restart that agents must find again).
pub fn start_on(data: &Path, listen: &str, args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleet-manager"))
        .args(["serve", "--listen", listen])
        .args(args)
        .arg("--data")
        .arg(data)
        .env(
            "RUST_LOG",
            std::env::var("FLEET_TEST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the listen line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Server { child, base }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// One request: (status, ETag, JSON body or Null).
fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, String, Value) {
    let a = agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    macro_rules! with_headers {
        ($req:expr) => {{
            let mut r = $req;
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r
        }};
    }
    let resp = match method {
        "GET" => with_headers!(a.get(url)).call(),
        _ => with_headers!(a.post(url)).send(body.unwrap_or(Value::Null).to_string()),
    };
    let mut resp = resp.expect("request");
    let status = resp.status().as_u16();
    let etag = resp
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        etag,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn ctl(data: &Path, base: &str, args: &[&str]) -> crate::Run {
    let mut all = vec!["ctl", "--server", base, "--data"];
    let d = data.to_str().expect("utf-8 path");
    all.push(d);
    all.extend_from_slice(args);
    crate::fleet_manager(&all)
}

fn register(base: &str, token: &str, client: &str, env: &str) -> (u16, Value) {
    let (s, _, v) = call(
        "POST",
        &format!("{base}/v1/register"),
        None,
        &[],
        Some(json!({"token": token, "clientID": client, "labels": {"env": env}})),
    );
    (s, v)
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
        env: prod
";

#[test]
fn register_poll_status_roll_up_isolation_relabel_and_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let srv = serve(&data);
    let base = srv.base.clone();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("admin-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        call("GET", &format!("{base}/healthz"), None, &[], None).0,
        200
    );
    assert_eq!(
        call("GET", &format!("{base}/readyz"), None, &[], None).0,
        200
    );
    assert_eq!(
        call("GET", &format!("{base}/openapi.json"), None, &[], None).2["openapi"],
        "3.0.3"
    );

    // Admin API refuses missing and wrong tokens.
    assert_eq!(
        call(
            "GET",
            &format!("{base}/v1/admin/objects/bundles"),
            None,
            &[],
            None
        )
        .0,
        401
    );
    assert_eq!(
        call(
            "GET",
            &format!("{base}/v1/admin/objects/bundles"),
            Some("nope"),
            &[],
            None
        )
        .0,
        403
    );

    let bundle_file = dir.path().join("bundle.yaml");
    std::fs::write(&bundle_file, BUNDLE).unwrap();
    let r = ctl(
        &data,
        &base,
        &["apply", "-f", bundle_file.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("Bundle fleet-default/app applied"),
        "{}",
        r.stdout
    );

    let r = ctl(
        &data,
        &base,
        &["token", "create", "--ttl", "1h", "-n", "fleet-default"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let token = r.stdout.trim().to_owned();
    let short = ctl(&data, &base, &["token", "create", "--ttl", "1s"])
        .stdout
        .trim()
        .to_owned();

    assert_eq!(register(&base, "unknown", "x", "prod").0, 403);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(
        register(&base, &short, "x", "prod").0,
        403,
        "expired token accepted"
    );

    let (s, a) = register(&base, &token, "client-a", "prod");
    assert_eq!(s, 200, "{a}");
    let (s, b) = register(&base, &token, "client-b", "dev");
    assert_eq!(s, 200, "{b}");
    let cred_a = a["credential"].as_str().unwrap().to_owned();
    let cred_b = b["credential"].as_str().unwrap().to_owned();
    let name_b = b["clusterName"].as_str().unwrap().to_owned();

    let bds_url = format!("{base}/v1/agent/bundledeployments");
    assert_eq!(call("GET", &bds_url, None, &[], None).0, 401);
    assert_eq!(call("GET", &bds_url, Some("bad"), &[], None).0, 403);
    let (s, etag, v) = call("GET", &bds_url, Some(&cred_a), &[], None);
    assert_eq!(s, 200);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    let did = items[0]["spec"]["deploymentID"]
        .as_str()
        .unwrap()
        .to_owned();
    let content_id = did.split(':').next().unwrap().to_owned();
    let (s, _, _) = call(
        "GET",
        &bds_url,
        Some(&cred_a),
        &[("If-None-Match", &etag)],
        None,
    );
    assert_eq!(s, 304);
    let (_, _, vb) = call("GET", &bds_url, Some(&cred_b), &[], None);
    assert_eq!(vb["items"].as_array().unwrap().len(), 0);

    // Contents: A may read what its BD references, B may not.
    let content_url = format!("{base}/v1/agent/contents/{content_id}");
    let (s, _, c) = call("GET", &content_url, Some(&cred_a), &[], None);
    assert_eq!(s, 200);
    assert_eq!(c["resources"][0]["name"], "cm.yaml");
    assert_eq!(call("GET", &content_url, Some(&cred_b), &[], None).0, 403);
    // Served gzip when asked, and immutable: its ETag answers 304.
    let mut zipped = agent()
        .get(&content_url)
        .header("Authorization", format!("Bearer {cred_a}"))
        .header("Accept-Encoding", "gzip")
        .call()
        .expect("gzip content");
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let content_etag = zipped.headers()["etag"].to_str().unwrap().to_owned();
    let bytes = zipped.body_mut().read_to_vec().unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .expect("gunzip");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), c);
    assert_eq!(
        call(
            "GET",
            &content_url,
            Some(&cred_a),
            &[("If-None-Match", &content_etag)],
            None
        )
        .0,
        304
    );

    // Statuses: B cannot write A's BundleDeployment; A can write its own.
    let status = json!([{"name": "app", "status": {"ready": true, "nonModified": true, "appliedDeploymentID": did}}]);
    let st_url = format!("{base}/v1/agent/statuses");
    assert_eq!(
        call("POST", &st_url, Some(&cred_b), &[], Some(status.clone())).0,
        404
    );
    assert_eq!(
        call("POST", &st_url, None, &[], Some(status.clone())).0,
        401
    );
    assert_eq!(
        call("POST", &st_url, Some(&cred_a), &[], Some(json!({"x": 1}))).0,
        400
    );
    assert_eq!(
        call("POST", &st_url, Some(&cred_a), &[], Some(status)).0,
        204
    );
    assert_eq!(
        call(
            "POST",
            &format!("{base}/v1/agent/heartbeat"),
            Some(&cred_a),
            &[],
            None
        )
        .0,
        204
    );
    assert_eq!(
        call(
            "POST",
            &format!("{base}/v1/agent/heartbeat"),
            Some("bad"),
            &[],
            None
        )
        .0,
        403
    );

    let r = ctl(&data, &base, &["get", "bundles", "-n", "fleet-default"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("app") && r.stdout.contains("1/1"),
        "{}",
        r.stdout
    );
    let r = ctl(&data, &base, &["get", "bundledeployments", "-A"]);
    assert!(r.stdout.contains("Ready"), "{}", r.stdout);

    // Relabel B into the target: it gets the BundleDeployment.
    let (_, _, mut cb) = call(
        "GET",
        &format!("{base}/v1/admin/objects/cluster/fleet-default/{name_b}"),
        Some(
            std::fs::read_to_string(data.join("admin-token"))
                .unwrap()
                .trim(),
        ),
        &[],
        None,
    );
    cb["metadata"]["labels"]["env"] = json!("prod");
    let cluster_file = dir.path().join("cluster.yaml");
    std::fs::write(&cluster_file, cb.to_string()).unwrap();
    let r = ctl(
        &data,
        &base,
        &["apply", "-f", cluster_file.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (_, _, vb) = call("GET", &bds_url, Some(&cred_b), &[], None);
    assert_eq!(vb["items"].as_array().unwrap().len(), 1, "{vb}");
    let r = ctl(&data, &base, &["get", "bundles", "-n", "fleet-default"]);
    assert!(r.stdout.contains("1/2"), "{}", r.stdout);

    // Revocation: B's credential stops working.
    let r = ctl(
        &data,
        &base,
        &["cluster", "revoke", &name_b, "-n", "fleet-default"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(call("GET", &bds_url, Some(&cred_b), &[], None).0, 403);

    // kill -9 and restart: every acknowledged write survives.
    drop(srv);
    let srv = serve(&data);
    let base = srv.base.clone();
    let (s, _, v) = call(
        "GET",
        &format!("{base}/v1/agent/bundledeployments"),
        Some(&cred_a),
        &[],
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(v["items"][0]["status"]["ready"], true, "{v}");
    let r = ctl(
        &data,
        &base,
        &["get", "bundles", "-n", "fleet-default", "-o", "json"],
    );
    let got: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(got["items"][0]["status"]["display"]["readyClusters"], "1/2");
    assert_eq!(
        call(
            "GET",
            &format!("{base}/v1/agent/bundledeployments"),
            Some(&cred_b),
            &[],
            None
        )
        .0,
        403
    );
}

#[test]
fn a_silent_agent_goes_offline_and_comes_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let srv = serve_with(&data, &["--offline-after", "1s"]);
    let base = srv.base.clone();
    let bundle_file = dir.path().join("bundle.yaml");
    std::fs::write(&bundle_file, BUNDLE).unwrap();
    assert_eq!(
        ctl(
            &data,
            &base,
            &["apply", "-f", bundle_file.to_str().unwrap()]
        )
        .code,
        0
    );
    let token = ctl(&data, &base, &["token", "create", "-n", "fleet-default"])
        .stdout
        .trim()
        .to_owned();
    let (s, a) = register(&base, &token, "client-a", "prod");
    assert_eq!(s, 200, "{a}");
    let cred = a["credential"].as_str().unwrap().to_owned();
    let bds_url = format!("{base}/v1/agent/bundledeployments");
    let (_, _, v) = call("GET", &bds_url, Some(&cred), &[], None);
    let did = v["items"][0]["spec"]["deploymentID"].clone();
    let status = json!([{"name": "app", "status": {"ready": true, "nonModified": true,
        "appliedDeploymentID": did, "conditions": [{"type": "Ready", "status": "True"}]}}]);
    assert_eq!(
        call(
            "POST",
            &format!("{base}/v1/agent/statuses"),
            Some(&cred),
            &[],
            Some(status)
        )
        .0,
        204
    );
    let state = || {
        let r = ctl(
            &data,
            &base,
            &["get", "bundledeployments", "-A", "-o", "json"],
        );
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        crate::serve::state_of(&v["items"][0])
    };
    assert_eq!(state(), "Ready");
    // Silent for longer than the threshold: offline, and counted so in the Bundle.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while state() != "Offline" {
        assert!(std::time::Instant::now() < deadline, "never went offline");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let r = ctl(
        &data,
        &base,
        &["get", "bundles", "-n", "fleet-default", "-o", "json"],
    );
    let b: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(b["items"][0]["status"]["summary"]["offline"], 1, "{b}");
    assert_eq!(b["items"][0]["status"]["display"]["readyClusters"], "0/1");
    // A heartbeat brings it back without a new status post.
    assert_eq!(
        call(
            "POST",
            &format!("{base}/v1/agent/heartbeat"),
            Some(&cred),
            &[],
            None
        )
        .0,
        204
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while state() != "Ready" {
        assert!(std::time::Instant::now() < deadline, "never came back");
        call(
            "POST",
            &format!("{base}/v1/agent/heartbeat"),
            Some(&cred),
            &[],
            None,
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The Fleet state of a BundleDeployment as the table shows it.
fn state_of(bd: &Value) -> String {
    let ready = bd["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .cloned()
        .unwrap_or(Value::Null);
    if ready["status"] == "Unknown" {
        "Offline".into()
    } else if bd["status"]["ready"] == true {
        "Ready".into()
    } else {
        "NotReady".into()
    }
}

/// `fleet-manager demo` end to end: a git repository, the manager, two agents with in-memory
/// clusters; every cluster Ready, then a commit rolled out.
#[test]
fn demo_runs_the_whole_loop() {
    let r = crate::fleet_manager(&[
        "demo",
        "--clusters",
        "2",
        "--repo",
        "../examples/repo",
        "--timeout-seconds",
        "120",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("2/2 clusters Ready"), "{}", r.stdout);
    assert!(
        r.stdout.contains("commit -> every cluster Ready"),
        "{}",
        r.stdout
    );
    // The final table: the GitRepo at the new commit with every BundleDeployment (raw,
    // kustomize and Helm bundles on two clusters) Ready.
    assert!(r.stdout.contains("6/6"), "{}", r.stdout);
}
