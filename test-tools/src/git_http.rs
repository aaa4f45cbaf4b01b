//! A tiny HTTP/1.1 server for tests: serves the git repositories under a directory with git's
//! smart HTTP protocol by running `git http-backend` as a CGI program, one request per
//! connection, in plain text or over TLS (rustls, with the test certificates made by
//! `test-tools/fixtures/tls/make.sh`). Needs the `git-http` feature.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GET /r.git/info/refs?service=git-upload-pack` and the like.
    pub request_line: String,
    /// Header names lower-cased, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The request body after undoing `Transfer-Encoding: chunked`.
    pub body: Vec<u8>,
}

/// A running server; stopped when dropped.
pub struct GitHttpServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// Every request served so far.
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl GitHttpServer {
    /// Serves the repositories under `root` (`GIT_PROJECT_ROOT`) on a free port of 127.0.0.1.
    pub fn start(root: &Path) -> Self {
        Self::start_with(root, None)
    }

    /// Serves over TLS with the PEM certificate chain and PKCS#8 key given; `base` is
    /// `https://127.0.0.1:PORT`.
    pub fn start_tls(root: &Path, cert_pem: &[u8], key_pem: &[u8]) -> Self {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
        let certs = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .expect("certificate PEM");
        let key = PrivateKeyDer::from_pem_slice(key_pem).expect("key PEM");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server certificate");
        Self::start_with(root, Some(Arc::new(config)))
    }

    fn start_with(root: &Path, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let tls_scheme = tls.is_some();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let root = root.to_path_buf();
        let accept = {
            let stop = stop.clone();
            let seen = seen.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let root = root.clone();
                    let seen = seen.clone();
                    let tls = tls.clone();
                    std::thread::spawn(move || {
                        let served = match tls {
                            None => serve(conn, &root, &seen),
                            Some(config) => rustls::ServerConnection::new(config)
                                .map_err(std::io::Error::other)
                                .and_then(|tls_conn| {
                                    let mut stream = rustls::StreamOwned::new(tls_conn, conn);
                                    serve(&mut stream, &root, &seen)?;
                                    stream.conn.send_close_notify();
                                    stream.flush()
                                }),
                        };
                        if let Err(e) = served {
                            eprintln!("git http test server: {e}");
                        }
                    });
                }
            })
        };
        let scheme = if tls_scheme { "https" } else { "http" };
        Self {
            base: format!("{scheme}://{addr}"),
            seen,
            stop,
            addr,
            accept: Some(accept),
        }
    }

    /// The requests served so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// The test CA (PEM) that signed the TLS server's certificate (`test-tools/fixtures/tls/make.sh`).
pub const TEST_CA_PEM: &[u8] = include_bytes!("../fixtures/tls/ca.pem");

/// Publishes the repository `repo` as `repo.git` under `dir/served` and serves it, over TLS
/// with the fixture certificate for 127.0.0.1 when `tls` is set.
pub fn serve_repo(repo: &Path, dir: &Path, tls: bool) -> GitHttpServer {
    let served = dir.join("served");
    std::fs::create_dir_all(&served).expect("mkdir");
    publish(repo, &served, "repo");
    if tls {
        GitHttpServer::start_tls(
            &served,
            include_bytes!("../fixtures/tls/server.pem"),
            include_bytes!("../fixtures/tls/server-key.pem"),
        )
    } else {
        GitHttpServer::start(&served)
    }
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn serve(mut conn: impl Read + Write, root: &Path, seen: &Mutex<Vec<Seen>>) -> std::io::Result<()> {
    // One request per connection and no pipelining: nothing the reader buffers past the body
    // is lost when it is dropped.
    let mut reader = BufReader::new(&mut conn);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(());
    }
    let request_line = request_line.trim_end().to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let chunked = header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        read_chunked(&mut reader)?
    } else {
        let len: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        body
    };
    drop(reader);

    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or("GET").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));

    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("QUERY_STRING", query)
        .env("PATH_INFO", path)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(ct) = header("content-type") {
        cmd.env("CONTENT_TYPE", ct);
    }
    if let Some(ce) = header("content-encoding") {
        cmd.env("HTTP_CONTENT_ENCODING", ce);
    }
    // Protocol v2 is asked for with this header; http-backend passes it on to upload-pack.
    if let Some(p) = header("git-protocol") {
        cmd.env("HTTP_GIT_PROTOCOL", p);
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let feed = {
        let body = body.clone();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&body);
        })
    };
    let out = child.wait_with_output()?;
    let _ = feed.join();
    if !out.stderr.is_empty() {
        eprintln!(
            "git http-backend {request_line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    seen.lock().expect("lock").push(Seen {
        request_line: request_line.clone(),
        headers,
        body,
    });

    // CGI output: headers, a blank line, the body.
    let raw = out.stdout;
    let (head, payload) = split_cgi(&raw);
    let mut status = "200 OK".to_string();
    let mut response_headers = Vec::new();
    for line in String::from_utf8_lossy(head).lines() {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("status") {
                status = value.trim().to_string();
            } else {
                response_headers.push(format!("{}: {}", name.trim(), value.trim()));
            }
        }
    }
    let mut response = format!("HTTP/1.1 {status}\r\n");
    for h in response_headers {
        response.push_str(&h);
        response.push_str("\r\n");
    }
    response.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    ));
    conn.write_all(response.as_bytes())?;
    conn.write_all(payload)?;
    conn.flush()
}

fn split_cgi(raw: &[u8]) -> (&[u8], &[u8]) {
    if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
        return (&raw[..i], &raw[i + 4..]);
    }
    if let Some(i) = raw.windows(2).position(|w| w == b"\n\n") {
        return (&raw[..i], &raw[i + 2..]);
    }
    (raw, &[])
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line)?;
        let size_hex = size_line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if size == 0 {
            // Trailers, then the final blank line.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
}

/// Runs the `git` CLI in `dir` with a fixed identity and no commit signing, as fixture
/// repositories are made; returns its trimmed standard output and panics with its standard
/// error when it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Makes a bare copy `NAME.git` of the repository `src` under `root`, ready to serve.
pub fn publish(src: &Path, root: &Path, name: &str) -> PathBuf {
    let dst = root.join(format!("{name}.git"));
    let out = Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(src)
        .arg(&dst)
        .output()
        .expect("git clone --bare");
    assert!(
        out.status.success(),
        "git clone --bare: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dst
}
