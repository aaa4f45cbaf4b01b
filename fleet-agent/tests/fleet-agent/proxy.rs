//! A recording TCP proxy in front of the test API server: each HTTP/1.1 request line and
//! content type as it crossed the wire, and which connections the client closed (shared by
//! the wire-contract tests, the watch test of `fleet-agent run` and the deploy benchmark).

use std::sync::{Arc, Mutex};

use anyhow::Result;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request as it crossed the wire.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `PATCH`, …
    pub method: String,
    /// Path and query.
    pub target: String,
    /// The `Content-Type` header.
    pub content_type: String,
    /// The connection it came on (numbered from 0 in accept order).
    pub connection: usize,
}

/// A TCP proxy in front of the test server that records each request line and content type.
pub async fn recording_proxy(upstream: String, log: Arc<Mutex<Vec<Recorded>>>) -> Result<String> {
    tracking_proxy(upstream, log, Arc::default()).await
}

/// [`recording_proxy`], also noting in `closed` each connection the client closed.
pub async fn tracking_proxy(
    upstream: String,
    log: Arc<Mutex<Vec<Recorded>>>,
    closed: Arc<Mutex<Vec<usize>>>,
) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let mut next = 0;
        while let Ok((inbound, _)) = listener.accept().await {
            let upstream = upstream.clone();
            let log = log.clone();
            let closed = closed.clone();
            let connection = next;
            next += 1;
            tokio::spawn(async move {
                let Ok(outbound) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut client_read, mut client_write) = inbound.into_split();
                let (mut server_read, mut server_write) = outbound.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                });
                let _ =
                    forward_requests(&mut client_read, &mut server_write, &log, connection).await;
                closed.lock().expect("closed lock").push(connection);
            });
        }
    });
    Ok(url)
}

/// Forwards HTTP/1.1 requests one by one (headers, then `Content-Length` bytes of body),
/// recording each; a chunked request is forwarded as a stream to the end.
async fn forward_requests(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    log: &Mutex<Vec<Recorded>>,
    connection: usize,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    loop {
        let header_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let mut chunk = [0u8; 8192];
            let n = from.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap_or("").split(' ');
        let method = request_line.next().unwrap_or("").to_string();
        let target = request_line.next().unwrap_or("").to_string();
        let mut content_type = String::new();
        // No length and no chunked encoding: no body (RFC 9112 §6.3).
        let mut length = Some(0);
        for line in lines {
            if let Some((name, value)) = line.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-type" => content_type = value.trim().to_string(),
                    "content-length" => length = value.trim().parse::<usize>().ok(),
                    "transfer-encoding" => length = None,
                    _ => {}
                }
            }
        }
        log.lock().expect("log lock").push(Recorded {
            method,
            target,
            content_type,
            connection,
        });
        let Some(length) = length else {
            to.write_all(&buffer).await?;
            tokio::io::copy(from, to).await?;
            return Ok(());
        };
        while buffer.len() < header_end + length {
            let mut chunk = [0u8; 8192];
            let n = from.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
        to.write_all(&buffer[..header_end + length]).await?;
        buffer.drain(..header_end + length);
    }
}
