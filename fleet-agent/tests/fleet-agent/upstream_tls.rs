//! The manager client over `https://`: verified against `--ca-file` (the test CA of
//! `test-tools/fixtures/tls`), refused without it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use fleet_agent::upstream::{Client, Error};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

const CA: &[u8] = include_bytes!("../../../test-tools/fixtures/tls/ca.pem");
const CERT: &[u8] = include_bytes!("../../../test-tools/fixtures/tls/server.pem");
const KEY: &[u8] = include_bytes!("../../../test-tools/fixtures/tls/server-key.pem");

/// A TLS server on 127.0.0.1 answering every request `204`, one per connection; returns its
/// URL and the request lines and headers it read.
fn tls_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(CERT)
        .collect::<Result<_, _>>()
        .expect("certificate PEM");
    let key = PrivateKeyDer::from_pem_slice(KEY).expect("key PEM");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server certificate"),
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let Ok(tls) = rustls::ServerConnection::new(config.clone()) else {
                continue;
            };
            let mut stream = rustls::StreamOwned::new(tls, conn);
            let mut lines = Vec::new();
            let mut length = 0usize;
            {
                let mut reader = BufReader::new(&mut stream);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let line = line.trim_end().to_string();
                    if line.is_empty() {
                        let mut body = vec![0; length];
                        let _ = reader.read_exact(&mut body);
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    lines.push(line);
                }
            }
            if lines.is_empty() {
                // A handshake the client gave up on.
                continue;
            }
            record.lock().expect("lock").extend(lines);
            let _ = stream
                .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                .and_then(|()| stream.flush());
            stream.conn.send_close_notify();
            let _ = stream.flush();
        }
    });
    (url, seen)
}

#[test]
fn https_is_verified_against_the_ca_file() {
    let (url, seen) = tls_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, CA).expect("write CA");

    let trusted = Client::new(&url, Some(&ca))
        .expect("client")
        .with_credential("the-credential");
    trusted.heartbeat().expect("heartbeat over TLS");
    let lines = seen.lock().expect("lock").clone();
    assert_eq!(lines[0], "POST /v1/agent/heartbeat HTTP/1.1", "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.eq_ignore_ascii_case("authorization: Bearer the-credential")),
        "{lines:?}"
    );

    // The test CA is not among the Mozilla roots: without --ca-file the server is refused.
    let untrusted = Client::new(&url, None)
        .expect("client")
        .with_credential("the-credential");
    let err = untrusted.heartbeat().expect_err("an unknown CA must fail");
    assert!(matches!(err, Error::Transport { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
}
