//! Remote charts against servers on 127.0.0.1 started by the tests: a Helm repository (the
//! fleet-cli-assets `helmrepository/`), plain chart URLs, basic auth, version constraints, an
//! unreachable repository and a fake OCI registry.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use base64::Engine;
use fleet_bundle::chart::{ChartFetcher, ChartRef, FetchError};
use fleet_bundle::fetch::{BasicAuth, HttpFetcher};
use fleet_bundle::tree::{DirTree, FileTree, MemTree};
use fleet_bundle::{Scan, read_repo};
use sha2::{Digest, Sha256};

use crate::common::{Request, Response, Server, as_json, options, resource_names, shared};

/// Rewrites `http://localhost:3000` (what the fixtures say) to the test server.
struct Rewrite {
    inner: HttpFetcher,
    base: String,
}

impl ChartFetcher for Rewrite {
    fn fetch(&self, c: &ChartRef) -> Result<MemTree, FetchError> {
        let fix = |s: &str| s.replace("http://localhost:3000", &self.base);
        self.inner.fetch(&ChartRef {
            chart: fix(&c.chart),
            repo: fix(&c.repo),
            version: c.version.clone(),
        })
    }
}

fn serve_dir(dir: std::path::PathBuf, auth: Option<&'static str>) -> Server {
    let base = Arc::new(std::sync::OnceLock::<String>::new());
    let b2 = base.clone();
    let server = Server::start(Arc::new(move |req: &Request| {
        if let Some(expected) = auth {
            let want = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(expected)
            );
            if req.authorization.as_deref() != Some(want.as_str()) {
                return Response::status(401);
            }
        }
        let rel = req.path.trim_start_matches('/');
        match std::fs::read(dir.join(rel)) {
            Ok(data) if rel == "index.yaml" => {
                let text = String::from_utf8_lossy(&data)
                    .replace("http://localhost:3000", b2.get().map_or("", String::as_str));
                Response::ok(text)
            }
            Ok(data) => Response::ok(data),
            Err(_) => Response::status(404),
        }
    }));
    let _ = base.set(server.base.clone());
    server
}

fn expected_chart_files(shared: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let dir = shared.join("corpus/fleet-cli-assets/helmrepository/config-chart");
    let t = DirTree::new(&dir).expect("chart dir");
    fleet_bundle::walk::read_dir_files(&t, "", &[]).expect("walk")
}

#[test]
fn helm_repository_and_chart_url() {
    let Some(shared) = shared() else { return };
    let assets = shared.join("corpus/fleet-cli-assets");
    let server = serve_dir(assets.join("helmrepository"), None);
    let fetcher = Rewrite {
        inner: HttpFetcher::default(),
        base: server.base.clone(),
    };
    let tree = DirTree::new(&assets).expect("tree");
    let opts = options("assets", &fetcher);
    let want = expected_chart_files(&shared);
    for (dir, prefix) in [
        (
            "helm_repo_url",
            ".chart/9cd746da56c214c17f9f0b7b43ea23a5010f4651488965bdead75fe6ac974f1b/config-chart/",
        ),
        (
            "helm_chart_url",
            ".chart/8001cca048084016ce8f96c7432e99dc01d4964ec99dccea5f5367cdd1ea2df3/config-chart/",
        ),
    ] {
        let b = read_repo(&tree, &Scan::Classic(vec![dir.into()]), &opts).expect(dir);
        let bundle = &as_json(&b[0].bundle);
        let names = resource_names(bundle);
        assert_eq!(names.len(), 3, "{dir}: {names:?}");
        for r in bundle["spec"]["resources"].as_array().expect("res") {
            let name = r["name"].as_str().expect("name");
            let rel = name
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{name}"));
            assert_eq!(
                r["content"].as_str().map(str::as_bytes),
                want.get(rel).map(Vec::as_slice),
                "{dir}: {name}"
            );
        }
    }
}

#[test]
fn basic_auth_and_failures() {
    let Some(shared) = shared() else { return };
    let assets = shared.join("corpus/fleet-cli-assets");
    let server = serve_dir(assets.join("helmrepository"), Some("user:pass"));
    let tree = DirTree::new(&assets).expect("tree");
    let mut fetcher = Rewrite {
        inner: HttpFetcher::default(),
        base: server.base.clone(),
    };
    {
        let opts = options("assets", &fetcher);
        let e = read_repo(&tree, &Scan::Classic(vec!["helm_repo_url".into()]), &opts)
            .expect_err("401")
            .to_string();
        assert!(e.contains("401"), "{e}");
        assert!(
            e.contains("repo=http://localhost:3000 chart=config-chart version=0.1.0"),
            "{e}"
        );
    }
    fetcher.inner.auth = Some(BasicAuth {
        username: "user".into(),
        password: "pass".into(),
    });
    let opts = options("assets", &fetcher);
    let b = read_repo(&tree, &Scan::Classic(vec!["helm_repo_url".into()]), &opts).expect("auth");
    assert_eq!(resource_names(&as_json(&b[0].bundle)).len(), 3);

    // Unreachable repository: connection refused on a closed port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let fetcher = HttpFetcher::default();
    let e = fetcher
        .fetch(&ChartRef {
            chart: "c".into(),
            repo: format!("http://127.0.0.1:{port}"),
            version: String::new(),
        })
        .expect_err("unreachable")
        .to_string();
    assert!(e.contains(&format!("127.0.0.1:{port}/index.yaml")), "{e}");
}

fn tgz(files: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (path, body) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        builder
            .append_data(&mut h, path, body.as_bytes())
            .expect("append");
    }
    let gz = builder.into_inner().expect("tar");
    let mut gz = gz;
    gz.flush().expect("flush");
    gz.finish().expect("gz")
}

#[test]
fn version_constraints_pick_from_the_index() {
    let versions = ["1.0.0", "1.2.0", "1.10.1", "2.0.0-rc.1", "2.0.0"];
    let mut entries = String::from("apiVersion: v1\nentries:\n  app:\n");
    for v in versions {
        entries.push_str(&format!(
            "  - version: {v}\n    urls: [charts/app-{v}.tgz]\n"
        ));
    }
    let server = Server::start(Arc::new(move |req: &Request| {
        if req.path == "/repo/index.yaml" {
            return Response::ok(entries.clone());
        }
        if let Some(v) = req
            .path
            .strip_prefix("/repo/charts/app-")
            .and_then(|p| p.strip_suffix(".tgz"))
        {
            return Response::ok(tgz(&[(
                "app/Chart.yaml",
                &format!("name: app\nversion: {v}\n"),
            )]));
        }
        Response::status(404)
    }));
    let fetcher = HttpFetcher::default();
    for (constraint, want) in [
        ("", "2.0.0"),
        ("^1", "1.10.1"),
        ("~1.2", "1.2.0"),
        (">=1.11.0-0 <2.0.0-z", "2.0.0-rc.1"),
        // Every constraint of a group applies the prerelease rule (Masterminds v3).
        (">=2.0.0-0 <3", "2.0.0"),
        ("1.0.0", "1.0.0"),
        ("1.2 - 1.9 || ^2", "2.0.0"),
    ] {
        let t = fetcher
            .fetch(&ChartRef {
                chart: "app".into(),
                repo: format!("{}/repo", server.base),
                version: constraint.into(),
            })
            .unwrap_or_else(|e| panic!("{constraint}: {e}"));
        let chart = String::from_utf8(t.read_file("app/Chart.yaml").expect("chart")).expect("utf8");
        assert!(
            chart.contains(&format!("version: {want}\n")),
            "{constraint}: {chart}"
        );
    }
    let e = fetcher
        .fetch(&ChartRef {
            chart: "app".into(),
            repo: format!("{}/repo", server.base),
            version: "^3".into(),
        })
        .expect_err("none")
        .to_string();
    assert!(e.contains("no chart version found for app-^3"), "{e}");
    let e = fetcher
        .fetch(&ChartRef {
            chart: "nope".into(),
            repo: format!("{}/repo", server.base),
            version: String::new(),
        })
        .expect_err("none")
        .to_string();
    assert!(e.contains("no chart name found"), "{e}");
}

#[test]
fn oci_registry_pull() {
    let chart_v1 = tgz(&[("oci-chart/Chart.yaml", "name: oci-chart\nversion: 0.1.0\n")]);
    let chart_v2 = tgz(&[(
        "oci-chart/Chart.yaml",
        "name: oci-chart\nversion: 0.2.0+build.1\n",
    )]);
    let blobs: Vec<(String, Vec<u8>)> = [chart_v1, chart_v2]
        .into_iter()
        .map(|b| (format!("sha256:{}", hex::encode(Sha256::digest(&b))), b))
        .collect();
    let tags = [("0.1.0", 0usize), ("0.2.0_build.1", 1usize)];
    let own = Arc::new(std::sync::OnceLock::<String>::new());
    let own2 = own.clone();
    let server = Server::start(Arc::new(move |req: &Request| {
        if req.path.starts_with("/token") {
            return Response::ok(r#"{"token":"t0k"}"#);
        }
        if req.authorization.as_deref() != Some("Bearer t0k") {
            let mut r = Response::status(401);
            r.headers.push((
                "WWW-Authenticate".into(),
                format!(
                    "Bearer realm=\"{}/token\",service=\"reg\",scope=\"repository:charts/oci-chart:pull\"",
                    own2.get().map_or("", String::as_str)
                ),
            ));
            return r;
        }
        match req.path.as_str() {
            "/v2/charts/oci-chart/tags/list" => Response::ok(
                r#"{"name":"charts/oci-chart","tags":["0.1.0","0.2.0_build.1","latest"]}"#,
            ),
            p => {
                if let Some(tag) = p.strip_prefix("/v2/charts/oci-chart/manifests/") {
                    let Some((_, i)) = tags.iter().find(|(t, _)| *t == tag) else {
                        return Response::status(404);
                    };
                    let (digest, data) = &blobs[*i];
                    return Response::ok(format!(
                        r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:00","size":2}},"layers":[{{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"{digest}","size":{}}}]}}"#,
                        data.len()
                    ));
                }
                if let Some(d) = p.strip_prefix("/v2/charts/oci-chart/blobs/")
                    && let Some((_, data)) = blobs.iter().find(|(dg, _)| dg == d)
                {
                    return Response::ok(data.clone());
                }
                Response::status(404)
            }
        }
    }));
    let _ = own.set(server.base.clone());
    let host = server.base.trim_start_matches("http://").to_string();
    let pull = |f: &HttpFetcher, chart: &str, repo: &str, version: &str| {
        f.fetch(&ChartRef {
            chart: chart.into(),
            repo: repo.into(),
            version: version.into(),
        })
    };
    let mut fetcher = HttpFetcher::default();
    fetcher.plain_http_registries = true;
    let reference = format!("oci://{host}/charts/oci-chart");
    for (version, want) in [
        ("0.1.0", "0.1.0"),
        ("", "0.2.0+build.1"),
        ("~0.2", "0.2.0+build.1"),
    ] {
        let t =
            pull(&fetcher, &reference, "", version).unwrap_or_else(|e| panic!("{version:?}: {e}"));
        let chart =
            String::from_utf8(t.read_file("oci-chart/Chart.yaml").expect("chart")).expect("utf8");
        assert!(
            chart.contains(&format!("version: {want}\n")),
            "{version}: {chart}"
        );
    }
    // helm.repo form: oci://host/charts + chart name.
    let t = pull(
        &fetcher,
        "oci-chart",
        &format!("oci://{host}/charts"),
        "0.1.0",
    )
    .expect("repo form");
    assert!(t.read_file("oci-chart/Chart.yaml").is_ok());
    let e = pull(&fetcher, &reference, "", "9.9.9")
        .expect_err("missing tag")
        .to_string();
    assert!(e.contains("404"), "{e}");
}

#[test]
fn oci_over_https_refuses_a_plain_http_registry() {
    let server = Server::start(Arc::new(|_req: &Request| Response::status(404)));
    let host = server.base.trim_start_matches("http://").to_string();
    let e = HttpFetcher::default()
        .fetch(&ChartRef {
            chart: format!("oci://{host}/charts/x"),
            repo: String::new(),
            version: "0.1.0".into(),
        })
        .expect_err("tls to plain http")
        .to_string();
    assert!(
        e.contains(&format!("https://{host}/v2/charts/x/manifests/0.1.0")),
        "{e}"
    );
}
