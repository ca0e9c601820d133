//! `mcp-auth proxy` as a process between a client and an upstream server of this test, both on
//! 127.0.0.1, with a test issuer: what reaches the upstream (identity headers, never the token
//! nor hop-by-hop headers), refusals that never reach it, streaming (the first SSE event before
//! the upstream finished), sessions and DELETE, 413, 502 and 504, `/healthz` and the metadata,
//! and a graceful stop on SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::common::upstream::upstream;
use crate::common::{Running, mcp_auth};
use axum::http::HeaderMap;
use mcp_auth::testing::TestIssuer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::process::Command;

/// `mcp-auth proxy` to `upstream`, trusting `issuer`, every request needing `mcp:tools`,
/// with `args` on top; returns it and its MCP endpoint.
async fn proxy(issuer: &TestIssuer, upstream: &str, args: &[&str]) -> (Running, String) {
    let mut running = Running::spawn(proxy_command(issuer, upstream, args));
    let endpoint = running.value_after("  MCP endpoint").await;
    (running, endpoint)
}

/// The command [`proxy`] runs, to add variables to.
fn proxy_command(issuer: &TestIssuer, upstream: &str, args: &[&str]) -> Command {
    let mut command = mcp_auth(&[
        "proxy",
        "--bind",
        "127.0.0.1:0",
        "--upstream",
        upstream,
        "--issuer",
        issuer.issuer(),
        "--issuer-type",
        "oauth",
        "--scope",
        "mcp:tools",
    ]);
    command.args(args);
    command
}

/// A token for `resource` with `scopes`, for user-1 through client-1.
fn token(issuer: &TestIssuer, resource: &str, scopes: &[&str]) -> String {
    issuer
        .token()
        .audience(resource)
        .subject("user-1")
        .client_id("client-1")
        .scopes(scopes.iter().copied())
        .expires_in(600)
        .sign()
        .unwrap()
}

/// The values of `name` the upstream saw.
fn seen_header<'e>(echoed: &'e Value, name: &str) -> Vec<&'e str> {
    echoed["headers"][name]
        .as_array()
        .map(|values| values.iter().map(|v| v.as_str().unwrap()).collect())
        .unwrap_or_default()
}

/// A JSON-RPC `tools/call` of `tool`, as the 2025-11-25 protocol sends it.
fn tools_call(tool: &str) -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": tool, "arguments": {} }
    })
}

#[tokio::test]
async fn an_accepted_request_reaches_the_upstream_with_the_identity_and_without_the_token() {
    let issuer = TestIssuer::start().await.unwrap();
    let (upstream, seen) = upstream().await;
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("proxy-headers-{}.txt", std::process::id()));
    std::fs::write(
        &file,
        "# the upstream's own key\nX-Upstream-Key: from-file\n",
    )
    .unwrap();
    let (_proxy, endpoint) = proxy(
        &issuer,
        &upstream,
        &[
            "--upstream-header",
            "X-Static: static-value",
            "--upstream-headers-file",
            file.to_str().unwrap(),
        ],
    )
    .await;
    let token = token(&issuer, &endpoint, &["mcp:tools", "files:read"]);

    let mut sent = HeaderMap::new();
    for (name, value) in [
        ("x-mcp-auth-subject", "admin"),
        ("X-MCP-AUTH-SUBJECT", "root"),
        ("X-Mcp-Auth-Issuer", "https://evil.example"),
        ("connection", "x-hop"),
        ("x-hop", "hop"),
        ("keep-alive", "timeout=5"),
        ("proxy-authorization", "Basic abc"),
        ("x-static", "from-the-client"),
        ("x-forwarded-for", "192.0.2.1"),
        ("mcp-protocol-version", "2025-11-25"),
        ("last-event-id", "7"),
        ("mcp-method", "tools/list"),
        ("accept", "application/json, text/event-stream"),
    ] {
        sent.append(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/echo/deeper?page=2"))
        .bearer_auth(&token)
        .headers(sent)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["mcp-session-id"], "upstream-session-1");
    let echoed: Value = response.json().await.unwrap();

    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["path"], "/mcp/echo/deeper");
    assert_eq!(echoed["query"], "page=2");
    assert_eq!(echoed["body"], body.to_string());
    for gone in [
        "authorization",
        "connection",
        "x-hop",
        "keep-alive",
        "proxy-authorization",
    ] {
        assert!(seen_header(&echoed, gone).is_empty(), "{gone}: {echoed}");
    }
    assert_eq!(seen_header(&echoed, "x-mcp-auth-subject"), ["user-1"]);
    assert_eq!(seen_header(&echoed, "x-mcp-auth-client-id"), ["client-1"]);
    assert_eq!(
        seen_header(&echoed, "x-mcp-auth-scopes"),
        ["mcp:tools files:read"]
    );
    assert_eq!(seen_header(&echoed, "x-mcp-auth-issuer"), [issuer.issuer()]);
    let host = endpoint
        .trim_start_matches("http://")
        .trim_end_matches("/mcp");
    for (name, value) in [
        ("x-static", "static-value"),
        ("x-upstream-key", "from-file"),
        // The client's chain is not kept: 127.0.0.1 is not a --trusted-proxy here.
        ("x-forwarded-for", "127.0.0.1"),
        ("x-forwarded-proto", "http"),
        ("x-forwarded-host", host),
        ("mcp-protocol-version", "2025-11-25"),
        ("last-event-id", "7"),
        ("mcp-method", "tools/list"),
        ("accept", "application/json, text/event-stream"),
        ("content-type", "application/json"),
    ] {
        assert_eq!(seen_header(&echoed, name), [value], "{name}: {echoed}");
    }
    let upstream_host = upstream
        .trim_start_matches("http://")
        .trim_end_matches("/mcp");
    assert_eq!(seen_header(&echoed, "host"), [upstream_host]);

    // The session the upstream made (the layer binds it to user-1), named by the client and
    // ended by DELETE.
    let response = reqwest::Client::new()
        .delete(&endpoint)
        .bearer_auth(&token)
        .header("mcp-session-id", "upstream-session-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(echoed["method"], "DELETE");
    assert_eq!(echoed["path"], "/mcp");
    assert_eq!(
        seen_header(&echoed, "mcp-session-id"),
        ["upstream-session-1"]
    );
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2);

    // Another user naming that session is refused by the layer (session binding).
    let stranger = issuer
        .token()
        .audience(&endpoint)
        .subject("user-2")
        .scopes(["mcp:tools"])
        .expires_in(600)
        .sign()
        .unwrap();
    let response = reqwest::Client::new()
        .get(&endpoint)
        .bearer_auth(&stranger)
        .header("mcp-session-id", "upstream-session-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn refusals_are_the_proxys_and_never_reach_the_upstream() {
    let issuer = TestIssuer::start().await.unwrap();
    let (upstream, seen) = upstream().await;
    let (_proxy, endpoint) = proxy(
        &issuer,
        &upstream,
        &[
            "--tool-scope",
            "delete=admin",
            "--allowed-origin",
            "https://app.example.com",
        ],
    )
    .await;
    let client = reqwest::Client::new();

    let response = client
        .post(&endpoint)
        .json(&tools_call("delete"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("resource_metadata=\"") && !challenge.contains("error="),
        "{challenge}"
    );

    // The per-tool rule reads the tool's name from the JSON-RPC body, through the proxy.
    let token = token(&issuer, &endpoint, &["mcp:tools"]);
    let response = client
        .post(&endpoint)
        .bearer_auth(&token)
        .header("accept", "application/json, text/event-stream")
        .json(&tools_call("delete"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\"")
            && challenge.contains("scope=\"mcp:tools admin\"")
            && challenge.contains("resource_metadata=\""),
        "{challenge}"
    );
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);

    // Any other tool passes, its body intact.
    let response = client
        .post(&endpoint)
        .bearer_auth(&token)
        .json(&tools_call("search"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(echoed["body"], tools_call("search").to_string());
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);

    // The upstream's own refusal is passed on unchanged: its challenge, not ours.
    let response = client
        .get(format!("{endpoint}/refuse"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"upstream\""
    );
    assert_eq!(response.text().await.unwrap(), "upstream says no");

    // A Host the proxy does not answer to (DNS rebinding) is refused before the upstream.
    let response = client
        .post(&endpoint)
        .bearer_auth(&token)
        .header("host", "evil.example")
        .json(&tools_call("search"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2);

    // An Origin not allowed is refused before the token is looked at; an allowed one passes.
    for (origin, status, calls) in [
        ("https://evil.example", StatusCode::FORBIDDEN, 2),
        ("https://app.example.com", StatusCode::OK, 3),
    ] {
        let response = client
            .post(&endpoint)
            .bearer_auth(&token)
            .header("origin", origin)
            .json(&tools_call("search"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{origin}");
        assert_eq!(seen.calls.load(Ordering::SeqCst), calls, "{origin}");
    }
}

#[tokio::test]
async fn sse_events_reach_the_client_as_the_upstream_writes_them() {
    let issuer = TestIssuer::start().await.unwrap();
    let (upstream, _seen) = upstream().await;
    let (_proxy, endpoint) = proxy(&issuer, &upstream, &[]).await;
    let token = token(&issuer, &endpoint, &["mcp:tools"]);

    let started = Instant::now();
    let mut response = reqwest::Client::new()
        .get(format!("{endpoint}/sse"))
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut received = String::new();
    let mut first_at = None;
    while let Some(chunk) = response.chunk().await.unwrap() {
        first_at.get_or_insert_with(|| started.elapsed());
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    let total = started.elapsed();
    let first_at = first_at.unwrap();
    assert_eq!(received.matches("data: ").count(), 3, "{received}");
    // The upstream takes 600 ms for its three events: a buffering proxy would deliver the
    // first one only at the end.
    assert!(total >= Duration::from_millis(600), "{total:?}");
    assert!(
        first_at + Duration::from_millis(400) < total,
        "first event after {first_at:?}, all after {total:?}"
    );
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_without_reaching_the_upstream() {
    let issuer = TestIssuer::start().await.unwrap();
    let (upstream, seen) = upstream().await;
    let (_proxy, endpoint) = proxy(&issuer, &upstream, &["--max-request-bytes", "1000"]).await;
    let token = token(&issuer, &endpoint, &["mcp:tools"]);
    let client = reqwest::Client::new();

    let response = client
        .post(&endpoint)
        .bearer_auth(&token)
        .body(vec![b'x'; 1001])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "content_too_large");
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);

    // Without a length, the body is counted as it streams.
    let chunks =
        futures_util::stream::iter((0..20).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 100])));
    let response = client
        .post(&endpoint)
        .bearer_auth(&token)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let response = client
        .post(&endpoint)
        .bearer_auth(&token)
        .body(vec![b'x'; 1000])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// Asserts a JSON failure of the proxy's own.
async fn assert_failure(response: reqwest::Response, status: StatusCode, error: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
}

#[tokio::test]
async fn an_upstream_that_is_down_gives_502_and_a_log_line() {
    let issuer = TestIssuer::start().await.unwrap();
    // A port that was just free: nothing listens there.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let (proxy, endpoint) = proxy(&issuer, &format!("http://{closed}/mcp"), &[]).await;
    let token = token(&issuer, &endpoint, &["mcp:tools"]);
    let response = reqwest::Client::new()
        .post(&endpoint)
        .bearer_auth(&token)
        .json(&tools_call("search"))
        .send()
        .await
        .unwrap();
    assert_failure(response, StatusCode::BAD_GATEWAY, "bad_gateway").await;
    let stderr = proxy.stderr();
    assert!(
        stderr.contains("WARN") && stderr.contains("the upstream could not be reached"),
        "{stderr}"
    );
}

/// A listener that never accepts, its backlog filled: further connections hang in SYN.
async fn black_hole() -> (SocketAddr, Vec<std::net::TcpStream>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let address = socket.local_addr().unwrap();
    let listener = socket.listen(0).unwrap();
    let mut held = Vec::new();
    for _ in 0..16 {
        match std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)) {
            Ok(stream) => held.push(stream),
            Err(_) => {
                // Full: keep the listener open for as long as the test runs.
                std::mem::forget(listener);
                return (address, held);
            }
        }
    }
    panic!("the backlog of a listener that never accepts did not fill up");
}

#[tokio::test]
async fn an_upstream_that_does_not_accept_in_time_gives_504() {
    let issuer = TestIssuer::start().await.unwrap();
    let (address, _held) = black_hole().await;
    let (proxy, endpoint) = proxy(
        &issuer,
        &format!("http://{address}/mcp"),
        &["--upstream-connect-timeout", "300ms"],
    )
    .await;
    let token = token(&issuer, &endpoint, &["mcp:tools"]);
    let started = Instant::now();
    let response = reqwest::Client::new()
        .post(&endpoint)
        .bearer_auth(&token)
        .json(&tools_call("search"))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_failure(response, StatusCode::GATEWAY_TIMEOUT, "gateway_timeout").await;
    assert!(proxy.stderr().contains("in time"), "{}", proxy.stderr());
}

#[tokio::test]
async fn health_and_metadata_need_no_token() {
    let issuer = TestIssuer::start().await.unwrap();
    let (upstream, seen) = upstream().await;
    let (_proxy, endpoint) = proxy(&issuer, &upstream, &["--tool-scope", "delete=admin"]).await;
    let origin = endpoint.trim_end_matches("/mcp");

    let response = reqwest::get(format!("{origin}/healthz")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");

    let metadata: Value =
        reqwest::get(format!("{origin}/.well-known/oauth-protected-resource/mcp"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(metadata["resource"], endpoint);
    assert_eq!(metadata["authorization_servers"], json!([issuer.issuer()]));
    assert_eq!(metadata["scopes_supported"], json!(["mcp:tools", "admin"]));
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn h2c_is_spoken_to_an_upstream_only_when_asked() {
    let issuer = TestIssuer::start().await.unwrap();
    let (upstream, _seen) = upstream().await;
    for (args, version) in [(&[][..], "HTTP/1.1"), (&["--upstream-h2c"][..], "HTTP/2.0")] {
        let (_proxy, endpoint) = proxy(&issuer, &upstream, args).await;
        let token = token(&issuer, &endpoint, &["mcp:tools"]);
        let response = reqwest::Client::new()
            .get(&endpoint)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let echoed: Value = response.json().await.unwrap();
        assert_eq!(echoed["version"], version);
    }
}

/// Sends SIGTERM to the proxy.
#[cfg(unix)]
async fn sigterm(proxy: &Running) {
    let pid = proxy.child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_lets_an_open_request_finish_then_the_proxy_exits_0() {
    let issuer = TestIssuer::start().await.unwrap();
    let (upstream, seen) = upstream().await;
    let (mut proxy, endpoint) = proxy(&issuer, &upstream, &["--shutdown-grace", "5"]).await;
    let token = token(&issuer, &endpoint, &["mcp:tools"]);

    let slow = tokio::spawn(
        reqwest::Client::new()
            .get(format!("{endpoint}/slow"))
            .bearer_auth(&token)
            .send(),
    );
    // Stopped once the request is open at the upstream (it answers a second later).
    tokio::time::timeout(Duration::from_secs(10), async {
        while seen.calls.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    sigterm(&proxy).await;

    let response = slow.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "slow answer");
    let status = tokio::time::timeout(Duration::from_secs(10), proxy.child.wait())
        .await
        .expect("the proxy did not stop")
        .unwrap();
    assert_eq!(status.code(), Some(0), "{}", proxy.stderr());
    proxy.stderr_reader.await.unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_cuts_a_stream_still_open_after_the_grace_period() {
    let issuer = TestIssuer::start().await.unwrap();
    let (upstream, _seen) = upstream().await;
    let (mut proxy, endpoint) = proxy(&issuer, &upstream, &["--shutdown-grace", "300ms"]).await;
    let token = token(&issuer, &endpoint, &["mcp:tools"]);
    let mut stream = reqwest::Client::new()
        .get(format!("{endpoint}/forever"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.chunk().await.unwrap().unwrap(), "data: {}\n\n");

    let signalled = Instant::now();
    sigterm(&proxy).await;
    let status = tokio::time::timeout(Duration::from_secs(5), proxy.child.wait())
        .await
        .expect("the proxy kept a stream open past its grace period")
        .unwrap();
    let waited = signalled.elapsed();
    assert_eq!(status.code(), Some(0), "{}", proxy.stderr());
    assert!(
        waited >= Duration::from_millis(300),
        "stopped after {waited:?}"
    );
    // The client sees its stream end: the connection is gone with the process.
    let rest = tokio::time::timeout(Duration::from_secs(2), stream.chunk()).await;
    assert!(matches!(rest, Ok(Err(_)) | Ok(Ok(None))), "{rest:?}");
    let stderr_done = proxy.stderr_reader;
    stderr_done.await.unwrap();
    let stderr = proxy.stderr.lock().unwrap().clone();
    assert!(
        stderr.contains("cut"),
        "no log line about the cut: {stderr}"
    );
}

#[tokio::test]
async fn malformed_upstream_headers_exit_2_naming_the_entry_but_not_its_value() {
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("proxy-bad-headers-{}.txt", std::process::id()));
    std::fs::write(&file, "X-Good: fine\n\nno-colon-s3cret-file\n").unwrap();
    let base = [
        "proxy",
        "--upstream",
        "http://127.0.0.1:9/mcp",
        "--issuer",
        "https://auth.example.com",
    ];
    // Flags, variables, and what stderr must name.
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: [Case; 4] = [
        (
            vec![
                "--upstream-header",
                "X-Good: fine",
                "--upstream-header",
                "s3cret",
            ],
            vec![],
            "--upstream-header entry 2 ",
        ),
        (
            vec![],
            vec![(
                "MCP_AUTH_UPSTREAM_HEADER",
                "X-Good: fine\nX-Bad: s3cret\u{1}",
            )],
            "--upstream-header entry 2 ",
        ),
        (
            vec!["--upstream-headers-file", file.to_str().unwrap()],
            vec![],
            "line 3 of ",
        ),
        (
            vec!["--upstream-header", "X-MCP-Auth-Subject: s3cret"],
            vec![],
            "--upstream-header entry 1 ",
        ),
    ];
    for (args, env, expected) in cases {
        let output = mcp_auth(&base)
            .args(&args)
            .envs(env.iter().copied())
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("s3cret"), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(output.stdout.is_empty(), "{args:?}: it started");
    }
}

/// Sends `head` (a request line and headers, each ending in CRLF; `Host` and
/// `Connection: close` are added) and `body` to the proxy at `endpoint`, as raw HTTP/1.1 bytes:
/// no client library normalises the method, path or header names on the way. Returns the status
/// and everything after the head.
async fn raw(endpoint: &str, head: &str, body: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = endpoint
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap();
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let request = format!("{head}Host: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    let rest = answer.split_once("\r\n\r\n").map_or("", |(_, rest)| rest);
    (status, rest.to_owned())
}

/// A `POST` head for `path` with `token` and a JSON body of `length` bytes.
fn post_head(method: &str, path: &str, token: &str, length: usize) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {length}\r\n"
    )
}

#[tokio::test]
async fn methods_but_get_post_and_delete_get_405_and_preflights_are_answered() {
    let issuer = TestIssuer::start().await.unwrap();
    let (upstream, seen) = upstream().await;
    let (_proxy, endpoint) = proxy(&issuer, &upstream, &["--tool-scope", "delete=admin"]).await;
    let token = token(&issuer, &endpoint, &["mcp:tools"]);
    let body = tools_call("delete").to_string();
    // Servers that upper-case methods or honour an override would run these as a POST.
    for method in ["post", "Post", "PUT", "PATCH", "PROPFIND"] {
        let head = post_head(method, "/mcp", &token, body.len());
        let head = format!("{head}X-HTTP-Method-Override: POST\r\n");
        let (status, answer) = raw(&endpoint, &head, body.as_bytes()).await;
        assert_eq!(status, 405, "{method}: {answer}");
        assert!(answer.contains("method_not_allowed"), "{method}: {answer}");
    }
    let response = reqwest::Client::new()
        .put(&endpoint)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "GET, POST, DELETE, OPTIONS");
    assert_failure(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    // GET and DELETE carry no body: a server decoding one whatever the method would run it.
    for method in ["GET", "DELETE"] {
        let (status, answer) = raw(
            &endpoint,
            &post_head(method, "/mcp", &token, body.len()),
            body.as_bytes(),
        )
        .await;
        assert_eq!(status, 400, "{method}: {answer}");
    }
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);

    // An override on an allowed method is not passed on either.
    let response = reqwest::Client::new()
        .post(&endpoint)
        .bearer_auth(&token)
        .header("x-http-method-override", "DELETE")
        .header("origin", "http://localhost:6274")
        .json(&tools_call("search"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://localhost:6274"
    );
    let echoed: Value = response.json().await.unwrap();
    assert!(
        seen_header(&echoed, "x-http-method-override").is_empty(),
        "{echoed}"
    );

    // The CORS preflight is ours: it carries no token.
    let preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, &endpoint)
        .header("origin", "http://localhost:6274")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    let headers = preflight.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:6274"
    );
    assert_eq!(headers["access-control-allow-methods"], "GET, POST, DELETE");
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    for needed in [
        "authorization",
        "content-type",
        "mcp-session-id",
        "mcp-protocol-version",
    ] {
        assert!(allowed.contains(needed), "{allowed}");
    }
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_preflight_from_an_origin_not_allowed_is_refused() {
    let issuer = TestIssuer::start().await.unwrap();
    let (upstream, _seen) = upstream().await;
    let (_proxy, endpoint) = proxy(
        &issuer,
        &upstream,
        &["--allowed-origin", "https://app.example.com"],
    )
    .await;
    for (origin, status) in [
        ("https://evil.example", StatusCode::FORBIDDEN),
        ("https://app.example.com", StatusCode::NO_CONTENT),
    ] {
        let preflight = reqwest::Client::new()
            .request(reqwest::Method::OPTIONS, &endpoint)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), status, "{origin}");
    }
}

#[tokio::test]
async fn paths_an_upstream_could_read_as_beside_the_endpoint_get_400() {
    let issuer = TestIssuer::start().await.unwrap();
    let (upstream, seen) = upstream().await;
    let (_proxy, endpoint) = proxy(&issuer, &upstream, &[]).await;
    let token = token(&issuer, &endpoint, &["mcp:tools"]);
    let body = tools_call("search").to_string();
    for path in [
        "/mcp/..;/actuator/env",
        "/mcp/%2e%2e;/x",
        "/mcp/..%2fadmin",
        "/mcp/..%5cadmin",
        "/mcp/%2E%2E/admin",
        "/mcp/%252e%252e/admin",
        "/mcp/echo;x",
        "/mcp/./echo",
    ] {
        let (status, answer) = raw(
            &endpoint,
            &post_head("POST", path, &token, body.len()),
            body.as_bytes(),
        )
        .await;
        assert_eq!(status, 400, "{path}: {answer}");
        assert!(answer.contains("invalid_request"), "{path}: {answer}");
    }
    // Two Host headers (RFC 9112 §3.2: 400), whichever one a server would read.
    let head = post_head("POST", "/mcp", &token, body.len()) + "Host: evil.example\r\n";
    let (status, answer) = raw(&endpoint, &head, body.as_bytes()).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
    let (status, answer) = raw(
        &endpoint,
        &post_head("POST", "/mcp/echo/x", &token, body.len()),
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn client_headers_that_speak_for_the_proxy_or_the_caller_never_reach_the_upstream() {
    let issuer = TestIssuer::start().await.unwrap();
    let (upstream, _seen) = upstream().await;
    let (_proxy, endpoint) = proxy(&issuer, &upstream, &[]).await;
    // A token without a client id: its identity header is sent empty, never left to a copy.
    let token = issuer
        .token()
        .audience(&endpoint)
        .subject("user-1")
        .scopes(["mcp:tools"])
        .expires_in(600)
        .sign()
        .unwrap();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string();
    let claims = [
        "X_MCP_Auth_Scopes: everything",
        "X_MCP_Auth_Subject: admin",
        "x-mcp-auth-client_id: admin-client",
        "X_MCP_Auth_Client_Id: admin-client",
        "Mcp_Session_Id: someone-else",
        "Forwarded: for=192.0.2.1;host=evil.example",
        "X-Real-IP: 192.0.2.1",
        "X-Original-URL: /admin",
        "X-Rewrite-URL: /admin",
        "X-Forwarded-Host: evil.example",
        "X-Forwarded-Prefix: /admin",
        "X-Forwarded-For: 192.0.2.1",
        "X-Forwarded: for=192.0.2.1",
        "X-Host: evil.example",
        "X-HTTP-Method: DELETE",
    ];
    let head = post_head("POST", "/mcp", &token, body.len()) + &claims.join("\r\n") + "\r\n";
    let (status, answer) = raw(&endpoint, &head, body.as_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    let echoed: Value = serde_json::from_str(&answer).unwrap();
    let names: Vec<&String> = echoed["headers"].as_object().unwrap().keys().collect();
    assert!(!names.iter().any(|name| name.contains('_')), "{names:?}");
    for gone in [
        "forwarded",
        "x-real-ip",
        "x-original-url",
        "x-rewrite-url",
        "x-forwarded-prefix",
        "x-http-method",
        "mcp-session-id",
    ] {
        assert!(seen_header(&echoed, gone).is_empty(), "{gone}: {echoed}");
    }
    let host = endpoint
        .trim_start_matches("http://")
        .trim_end_matches("/mcp");
    assert_eq!(seen_header(&echoed, "x-forwarded-host"), [host]);
    assert_eq!(seen_header(&echoed, "x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(seen_header(&echoed, "x-mcp-auth-subject"), ["user-1"]);
    assert_eq!(seen_header(&echoed, "x-mcp-auth-client-id"), [""]);
    assert_eq!(seen_header(&echoed, "x-mcp-auth-scopes"), ["mcp:tools"]);

    // Behind a trusted proxy, its chain is kept before its address.
    let (_proxy, endpoint) = proxy(&issuer, &upstream, &["--trusted-proxy", "127.0.0.0/8"]).await;
    let token = token_for(&issuer, &endpoint);
    let response = reqwest::Client::new()
        .post(&endpoint)
        .bearer_auth(&token)
        .header("x-forwarded-for", "192.0.2.1")
        .json(&tools_call("search"))
        .send()
        .await
        .unwrap();
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(
        seen_header(&echoed, "x-forwarded-for"),
        ["192.0.2.1, 127.0.0.1"]
    );
}

/// A `mcp:tools` token for `resource`.
fn token_for(issuer: &TestIssuer, resource: &str) -> String {
    token(issuer, resource, &["mcp:tools"])
}

#[tokio::test]
async fn prompt_resource_and_method_rules_guard_a_proxied_server() {
    let issuer = TestIssuer::start().await.unwrap();
    let (upstream, seen) = upstream().await;
    let mut command = proxy_command(
        &issuer,
        &upstream,
        &[
            "--prompt-scope",
            "secret_prompt=mcp:admin",
            "--resource-scope",
            "file:///etc/passwd=root",
            "--method-scope",
            "logging/setLevel=mcp:admin",
        ],
    );
    // Newline-separated in the variable: a URI may hold a comma.
    command.env(
        "MCP_AUTH_RESOURCE_PREFIX_SCOPE",
        "file:///private/=files:private\nfile:///a,b/=ab",
    );
    let mut running = Running::spawn(command);
    let endpoint = running.value_after("  MCP endpoint").await;
    let token = token_for(&issuer, &endpoint);
    let call = |method: &str, params: Value| json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let strictest = "mcp:tools mcp:admin root files:private ab";
    for (message, needed) in [
        (
            call("prompts/get", json!({"name": "secret_prompt"})),
            "mcp:tools mcp:admin",
        ),
        (
            call("prompts/get", json!({"name": "SECRET_PROMPT"})),
            "mcp:tools mcp:admin",
        ),
        (
            call("resources/read", json!({"uri": "file:///etc/passwd"})),
            "mcp:tools root",
        ),
        (
            call("resources/read", json!({"uri": "file:///ETC/passwd/"})),
            "mcp:tools root",
        ),
        (
            call("resources/read", json!({"uri": "file:///private/hr/x"})),
            "mcp:tools files:private",
        ),
        (
            call("resources/read", json!({"uri": "file:///PRIVATE/hr/x"})),
            "mcp:tools files:private",
        ),
        (
            call("resources/read", json!({"uri": "file:///a,b/x"})),
            "mcp:tools ab",
        ),
        (
            call("logging/setLevel", json!({"level": "debug"})),
            "mcp:tools mcp:admin",
        ),
        (
            call("resources/read", json!({"uri": "file:///etc/passwd?"})),
            strictest,
        ),
        (
            call("resources/read", json!({"uri": "file:////private/x"})),
            strictest,
        ),
        (
            call(
                "resources/read",
                json!({"uri": "file:///public/../private/x"}),
            ),
            strictest,
        ),
    ] {
        let response = reqwest::Client::new()
            .post(&endpoint)
            .bearer_auth(&token)
            .json(&message)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{message}");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        let scope = challenge
            .split("scope=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let mut scope: Vec<&str> = scope.split(' ').collect();
        let mut needed: Vec<&str> = needed.split(' ').collect();
        scope.sort_unstable();
        needed.sort_unstable();
        assert_eq!(scope, needed, "{message}");
    }
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
    for message in [
        call("prompts/get", json!({"name": "public_prompt"})),
        call("resources/read", json!({"uri": "file:///public/readme"})),
    ] {
        let response = reqwest::Client::new()
            .post(&endpoint)
            .bearer_auth(&token)
            .json(&message)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{message}");
    }
    let banner = running.stop().await;
    for line in [
        "prompt scopes     secret_prompt=mcp:admin",
        "resource scopes   file:///etc/passwd=root",
        "resource prefixes file:///private/=files:private",
        "method scopes     logging/setLevel=mcp:admin",
    ] {
        assert!(banner.contains(line), "{line}: {banner}");
    }
}

#[tokio::test]
async fn a_resource_rule_out_of_canonical_form_stops_the_start() {
    let output = mcp_auth(&[
        "proxy",
        "--upstream",
        "http://127.0.0.1:1/mcp",
        "--issuer",
        "https://auth.example.com",
        "--resource-scope",
        "file:///etc/passwd?=root",
    ])
    .output()
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("file:///etc/passwd?") && stderr.contains("canonical"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_http2_client_names_its_host_in_the_authority() {
    use axum::body::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let issuer = TestIssuer::start().await.unwrap();
    let (upstream, _seen) = upstream().await;
    let (_proxy, endpoint) = proxy(&issuer, &upstream, &[]).await;
    let token = token_for(&issuer, &endpoint);
    let client = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    let request = axum::http::Request::post(&endpoint)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(tools_call("search").to_string())))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let echoed: Value = serde_json::from_slice(&body).unwrap();
    let host = endpoint
        .trim_start_matches("http://")
        .trim_end_matches("/mcp");
    assert_eq!(seen_header(&echoed, "x-forwarded-host"), [host]);
}

#[tokio::test]
async fn slow_clients_and_slow_upstreams_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let issuer = TestIssuer::start().await.unwrap();
    let (upstream, _seen) = upstream().await;
    let (_proxy, endpoint) = proxy(
        &issuer,
        &upstream,
        &[
            "--tool-scope",
            "delete=admin",
            "--header-timeout",
            "300ms",
            "--body-timeout",
            "300ms",
            "--upstream-response-timeout",
            "300ms",
        ],
    )
    .await;
    let token = token_for(&issuer, &endpoint);
    let authority = endpoint
        .trim_start_matches("http://")
        .trim_end_matches("/mcp");

    // Headers that never end: the connection is closed.
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    stream
        .write_all(b"POST /mcp HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buffer)).await;
    assert!(read.is_ok(), "the connection was still open after 5 s");
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A body that stops half-way while the layer reads it: 400.
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let head = post_head("POST", "/mcp", &token, 100);
    stream
        .write_all(format!("{head}Host: {authority}\r\n\r\n{{\"jsonrpc\"").as_bytes())
        .await
        .unwrap();
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("no answer within 5 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("did not arrive in time"), "{answer}");

    // An upstream that sends no headers in time: 504.
    let response = reqwest::Client::new()
        .get(format!("{endpoint}/slow"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_failure(response, StatusCode::GATEWAY_TIMEOUT, "gateway_timeout").await;
}
