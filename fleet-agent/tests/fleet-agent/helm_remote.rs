//! `fleet-agent test` on the fleet-examples bundles whose chart is a remote archive
//! (`helm-external`, `helm-kustomize`), with the archive served from 127.0.0.1.
//!
//! The archive is rebuilt from the chart files Fleet stored in the `helm-external` golden
//! `bundle.yaml` (under `.chart/<sum>/`), the bundle directory is copied with its `helm.chart`
//! URL pointed at the local server, and the output is compared byte for byte with Fleet's
//! `fleet test` goldens (which hold no trace of the URL).

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

const UPSTREAM: &str =
    "https://github.com/rancher/fleet-examples/releases/download/example/guestbook-0.0.1.tgz";

fn examples() -> Option<PathBuf> {
    fleet_test_tools::shared::path("corpus/fleet-examples")
}

/// The guestbook chart archive, from the resources of the helm-external golden bundle.
fn guestbook_tgz(examples: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(
        examples.join("tests/expected/multi-cluster/helm-external/bundle.yaml"),
    )
    .expect("golden bundle");
    let docs = fleet_core::yaml::documents(&text).expect("bundle YAML");
    let resources = docs
        .iter()
        .find_map(|d| d.pointer("/spec/resources").and_then(|r| r.as_array()))
        .expect("resources");
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let mut count = 0;
    for resource in resources {
        let name = resource["name"].as_str().unwrap_or_default();
        let Some(rest) = name.strip_prefix(".chart/") else {
            continue;
        };
        let (_, path) = rest.split_once('/').expect("sum/path");
        let content = resource["content"].as_str().expect("text content");
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, path, content.as_bytes())
            .expect("tar entry");
        count += 1;
    }
    assert!(
        count >= 7,
        "the golden bundle holds the chart ({count} files)"
    );
    builder.into_inner().expect("tar").finish().expect("gzip")
}

/// Serves `body` for every request until the test process ends; returns the base URL.
fn serve(body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut request = Vec::new();
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let ok = request.starts_with(b"GET /guestbook-0.0.1.tgz ");
            let (status, payload): (&str, &[u8]) = if ok {
                ("200 OK", &body)
            } else {
                ("404 Not Found", b"not found")
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/gzip\r\nConnection: close\r\n\r\n",
                payload.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(payload);
        }
    });
    base
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn remote_chart_goldens_byte_for_byte() {
    let Some(root) = examples() else { return };
    let base = serve(guestbook_tgz(&root));
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut compared = 0;
    for (case, labelled) in [
        ("multi-cluster/helm-external", true),
        ("single-cluster/helm-kustomize", false),
        ("multi-cluster/helm-kustomize", true),
    ] {
        let dir = tmp.path().join(case);
        copy_dir(&root.join(case), &dir);
        let fleet_yaml = std::fs::read_to_string(dir.join("fleet.yaml")).expect("fleet.yaml");
        assert!(
            fleet_yaml.contains(UPSTREAM),
            "{case} uses the upstream chart"
        );
        std::fs::write(
            dir.join("fleet.yaml"),
            fleet_yaml.replace(UPSTREAM, &format!("{base}/guestbook-0.0.1.tgz")),
        )
        .expect("write fleet.yaml");
        for env in ["dev", "test", "prod"] {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleet-agent"));
            cmd.arg("test");
            if labelled {
                cmd.args(["-l", &format!("env={env}")]);
            }
            let out = cmd.arg(&dir).output().expect("run fleet-agent");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{case} {env}: {stderr}");
            let want = std::fs::read_to_string(
                root.join(format!("tests/expected/{case}/{env}-output.yaml")),
            )
            .expect("golden");
            assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{case} {env}");
            compared += 1;
        }
    }
    assert_eq!(compared, 9);
}
