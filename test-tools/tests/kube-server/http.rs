//! Error answers at the HTTP level, where clients do not reach: raw requests and their
//! `metav1.Status` bodies.

use std::io::{Read, Write};
use std::net::TcpStream;

use anyhow::{Context, Result, ensure};
use fleet_test_tools::kube_server::KubeServer;
use serde_json::Value;

/// Sends one HTTP/1.1 request and returns the status code and the JSON body.
fn request(
    server: &KubeServer,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> Result<(u16, Value)> {
    let mut stream = TcpStream::connect(server.addr())?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let code = response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("no status line in {response}"))?;
    let (_, body) = response.split_once("\r\n\r\n").context("no body")?;
    Ok((
        code,
        serde_json::from_str(body).with_context(|| format!("not JSON: {body}"))?,
    ))
}

fn assert_status(got: (u16, Value), code: u16, reason: &str, message: &str) -> Result<()> {
    let (status, body) = got;
    ensure!(status == code, "HTTP {status}, expected {code}: {body}");
    ensure!(
        body["kind"] == "Status" && body["status"] == "Failure",
        "{body}"
    );
    ensure!(body["code"] == code && body["reason"] == reason, "{body}");
    ensure!(
        body["message"] == message,
        "message {} != {message}",
        body["message"]
    );
    Ok(())
}

#[test]
fn errors_have_the_api_servers_status_shapes() -> Result<()> {
    let server = KubeServer::start()?;
    let cm = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"#;
    let (code, _) = request(
        &server,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        cm,
    )?;
    ensure!(code == 201, "create answered {code}");
    assert_status(
        request(
            &server,
            "POST",
            "/api/v1/namespaces/default/configmaps/x",
            "application/json",
            cm,
        )?,
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
    )?;
    assert_status(
        request(
            &server,
            "POST",
            "/api/v1/configmaps",
            "application/json",
            cm,
        )?,
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
    )?;
    assert_status(
        request(
            &server,
            "GET",
            "/apis/example.com/v1/widgets",
            "application/json",
            "",
        )?,
        404,
        "NotFound",
        "the server could not find the requested resource",
    )?;
    assert_status(
        request(
            &server,
            "PATCH",
            "/api/v1/namespaces/default/configmaps/x",
            "text/plain",
            "{}",
        )?,
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
    )?;
    assert_status(
        request(
            &server,
            "POST",
            "/api/v1/namespaces/default/configmaps",
            "application/json",
            "{not json",
        )?,
        400,
        "BadRequest",
        "error decoding the request body: key must be a string at line 1 column 2",
    )?;
    assert_status(
        request(
            &server,
            "POST",
            "/api/v1/namespaces/default/configmaps",
            "application/json",
            cm,
        )?,
        409,
        "AlreadyExists",
        "configmaps \"x\" already exists",
    )?;
    let (code, body) = request(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps/x/status",
        "application/json",
        "",
    )?;
    ensure!(
        code == 404,
        "config maps have no status subresource: {code} {body}"
    );
    let (code, body) = request(&server, "GET", "/version", "application/json", "")?;
    ensure!(
        code == 200 && body["major"] == "1" && body["gitVersion"].is_string(),
        "{body}"
    );
    Ok(())
}
