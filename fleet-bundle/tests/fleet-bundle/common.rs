//! Shared helpers: corpus location, a tiny HTTP server, option builders.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use fleet_bundle::chart::{ChartFetcher, ChartRef, FetchError};
use fleet_bundle::read::Options;
use fleet_bundle::tree::MemTree;
use serde_json::Value;

/// `../shared` relative to the workspace, if present.
pub fn shared() -> Option<PathBuf> {
    let p = fleet_test_tools::shared::path("")?;
    Some(p)
}

/// Options with the given repo name and fetcher, no labels.
pub fn options<'a>(repo: &str, fetcher: &'a dyn ChartFetcher) -> Options<'a> {
    Options {
        repo_name: repo.to_string(),
        namespace: "fleet-local".into(),
        labels: BTreeMap::new(),
        targets_file: None,
        compress: false,
        image_scans: false,
        fetcher,
    }
}

/// A fetcher that returns a tiny fixed chart for every remote reference and records the calls.
#[derive(Default)]
pub struct StubFetcher {
    pub calls: std::sync::Mutex<Vec<ChartRef>>,
}

impl ChartFetcher for StubFetcher {
    fn fetch(&self, chart: &ChartRef) -> Result<MemTree, FetchError> {
        if let Ok(mut c) = self.calls.lock() {
            c.push(chart.clone());
        }
        let mut t = MemTree::new("stub");
        t.insert(
            "stub/Chart.yaml",
            "apiVersion: v2\nname: stub\nversion: 0.1.0\n",
        )
        .map_err(|e| FetchError::Unsupported(e.to_string()))?;
        t.insert("stub/templates/cm.yaml", "kind: ConfigMap\n")
            .map_err(|e| FetchError::Unsupported(e.to_string()))?;
        Ok(t)
    }
}

/// Resource names of a Bundle value.
pub fn resource_names(bundle: &Value) -> Vec<String> {
    bundle["spec"]["resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// One HTTP request as the test server sees it.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub authorization: Option<String>,
}

/// A response: status, headers, body.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
        }
    }
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: format!("status {status}").into_bytes(),
        }
    }
}

/// A test HTTP/1.1 server on 127.0.0.1 (one thread, `Connection: close`).
pub struct Server {
    pub base: String,
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

impl Server {
    pub fn start(handler: Arc<Handler>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let handler = handler.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let mut authorization = None;
                    let mut content_length = 0usize;
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':') {
                            let k = k.trim().to_ascii_lowercase();
                            if k == "authorization" {
                                authorization = Some(v.trim().to_string());
                            } else if k == "content-length" {
                                content_length = v.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut sink = vec![0u8; content_length];
                    let _ = reader.read_exact(&mut sink);
                    let resp = handler(&Request {
                        path,
                        authorization,
                    });
                    let mut head = format!(
                        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                        resp.status,
                        resp.body.len()
                    );
                    for (k, v) in &resp.headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(&resp.body);
                    let _ = stream.flush();
                });
            }
        });
        Self {
            base: format!("http://{addr}"),
        }
    }
}

/// A read Bundle as the JSON object Fleet's reader writes.
pub fn as_json(bundle: &fleet_core::crd::Bundle) -> Value {
    serde_json::to_value(bundle).expect("a Bundle serialises")
}
