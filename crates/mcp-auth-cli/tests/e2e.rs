//! End to end, with real peers on 127.0.0.1: the certified OpenID provider `oidc-provider` as
//! the authorization server, the official MCP TypeScript SDK as the client, and the `mcp-auth`
//! binary between them. `scripts/test.sh` installs the Node peers (`npm ci` in `e2e/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const CLIENT_ID: &str = "mcp-e2e";
const CLIENT_SECRET: &str = "mcp-e2e-secret";

fn e2e_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e");
    assert!(
        dir.join("node_modules/oidc-provider").exists()
            && dir.join("node_modules/@modelcontextprotocol/sdk").exists(),
        "the Node peers are not installed: run `npm ci` in e2e/ (scripts/test.sh does)"
    );
    dir
}

/// A child process killed when dropped, with its stdout read line by line.
struct Running {
    _child: Child,
    _stdin: Option<ChildStdin>,
    lines: Lines<BufReader<ChildStdout>>,
    output: Vec<String>,
}

impl Running {
    fn spawn(command: &mut Command) -> Self {
        // stdin stays open while we live: the Node peers exit when it closes, even if this
        // test binary is killed before `kill_on_drop` can act.
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take();
        Self {
            _stdin: stdin,
            _child: child,
            lines: BufReader::new(stdout).lines(),
            output: Vec::new(),
        }
    }

    /// Reads lines until one starts with `prefix`; returns the rest of that line, trimmed.
    async fn value_after(&mut self, prefix: &str) -> String {
        let found = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = self.lines.next_line().await.unwrap() {
                self.output.push(line.clone());
                if let Some(rest) = line.strip_prefix(prefix) {
                    return Some(rest.trim().to_owned());
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(value)) => value,
            _ => panic!(
                "no line starting with {prefix:?}; output so far: {:#?}",
                self.output
            ),
        }
    }
}

/// Waits at most a minute for a command that runs to completion.
trait WithDeadline {
    async fn with_deadline(self) -> std::process::Output;
}

impl<F: std::future::Future<Output = std::io::Result<std::process::Output>>> WithDeadline for F {
    async fn with_deadline(self) -> std::process::Output {
        tokio::time::timeout(Duration::from_secs(60), self)
            .await
            .expect("the command did not finish within a minute")
            .unwrap()
    }
}

/// `oidc-provider` on 127.0.0.1; returns it and its issuer.
async fn oidc_provider() -> (Running, String) {
    let mut provider = Running::spawn(
        Command::new("node")
            .arg("oidc-provider.mjs")
            .current_dir(e2e_dir()),
    );
    let issuer = provider.value_after("ISSUER=").await;
    (provider, issuer)
}

/// `mcp-auth ARGS...`, waiting until it prints `ready_prefix`; returns it and the value there.
async fn mcp_auth(args: &[&str], ready_prefix: &str) -> (Running, String) {
    let mut server = Running::spawn(Command::new(env!("CARGO_BIN_EXE_mcp-auth")).args(args));
    let value = server.value_after(ready_prefix).await;
    (server, value)
}

/// The TypeScript SDK client's whole flow; returns what it printed.
async fn typescript_client(
    url: &str,
    client_id: &str,
    secret: &str,
    scope: &str,
    issuer: &str,
) -> Value {
    let output = Command::new("node")
        .args(["mcp-client.mjs", url, client_id, secret, scope, issuer])
        .current_dir(e2e_dir())
        .output()
        .with_deadline()
        .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "client printed {stdout} / {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(output.status.success(), "client failed: {result}");
    result
}

/// A token from `oidc-provider`'s token endpoint (client_credentials, RFC 8707 resource).
async fn token_from(issuer: &str, resource: &str, scope: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", resource),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn call_whoami(url: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&serde_json::json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": { "name": "whoami", "arguments": {} }
        }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "needs the Node peers: npm ci in e2e/ (scripts/test.sh runs it)"]
async fn the_typescript_client_gets_a_token_from_oidc_provider_and_calls_whoami() {
    let (_provider, issuer) = oidc_provider().await;
    let (_server, url) = mcp_auth(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--issuer",
            &issuer,
            "--issuer-type",
            "oidc",
            "--scope",
            "mcp:tools",
        ],
        "  MCP endpoint",
    )
    .await;
    let result = typescript_client(
        &url,
        CLIENT_ID,
        CLIENT_SECRET,
        "mcp:tools mcp:admin",
        &issuer,
    )
    .await;

    assert_eq!(
        result["tools"],
        serde_json::json!(["admin_report", "whoami"])
    );
    let whoami = &result["whoami"];
    assert_eq!(whoami["issuer"], issuer);
    assert_eq!(whoami["client_id"], CLIENT_ID);
    assert_eq!(whoami["subject"], CLIENT_ID);
    assert_eq!(whoami["audience"], serde_json::json!([url]));
    assert_eq!(
        whoami["scopes"],
        serde_json::json!(["mcp:tools", "mcp:admin"])
    );
    assert_eq!(result["admin"]["isError"], false);

    // The dance, as the client saw it: 401, our metadata, the provider's metadata and token
    // endpoint, then the retried request accepted.
    let exchanges: Vec<(String, String, u64)> = result["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_owned(),
                e["url"].as_str().unwrap().to_owned(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let metadata_url = url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    assert_eq!(exchanges[0], ("POST".into(), url.clone(), 401));
    assert_eq!(exchanges[1], ("GET".into(), metadata_url, 200));
    assert!(
        exchanges[2]
            .1
            .starts_with(&format!("{issuer}/.well-known/"))
            && exchanges[2].2 == 200,
        "{exchanges:?}"
    );
    assert_eq!(
        exchanges[3],
        ("POST".into(), format!("{issuer}/token"), 200)
    );
    assert_eq!(exchanges[4], ("POST".into(), url.clone(), 200));
    assert!(
        exchanges
            .iter()
            .skip(4)
            .all(|(_, _, status)| *status < 400 || *status == 405),
        "{exchanges:?}"
    );
}

#[tokio::test]
#[ignore = "needs the Node peers: npm ci in e2e/ (scripts/test.sh runs it)"]
async fn tokens_for_another_resource_or_without_the_scope_are_refused() {
    let (_provider, issuer) = oidc_provider().await;
    let (_server, url) = mcp_auth(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--issuer",
            &issuer,
            "--scope",
            "mcp:tools",
        ],
        "  MCP endpoint",
    )
    .await;

    let good = token_from(&issuer, &url, "mcp:tools").await;
    assert_eq!(call_whoami(&url, &good).await.status(), StatusCode::OK);

    let elsewhere = token_from(&issuer, "http://127.0.0.1:9/other", "mcp:tools").await;
    let refused = call_whoami(&url, &elsewhere).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );

    let unscoped = token_from(&issuer, &url, "mcp:admin").await;
    let forbidden = call_whoami(&url, &unscoped).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let challenge = forbidden.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"mcp:tools\""), "{challenge}");
}

#[tokio::test]
#[ignore = "needs the Node peers: npm ci in e2e/ (scripts/test.sh runs it)"]
async fn the_typescript_client_works_against_the_demo_too() {
    let (mut demo, url) = mcp_auth(&["demo", "--bind", "127.0.0.1:0"], "MCP endpoint:").await;
    let issuer = demo.value_after("Authorization server:").await;
    let result = typescript_client(&url, "demo-client", "demo-secret", "mcp:tools", &issuer).await;
    assert_eq!(result["whoami"]["subject"], "demo-client");
    assert_eq!(result["whoami"]["scopes"], serde_json::json!(["mcp:tools"]));
    // admin_report needs mcp:admin, which this client did not ask for.
    assert_eq!(result["admin"]["isError"], true);
    assert!(
        result["admin"]["text"]
            .as_str()
            .unwrap()
            .contains("needs the scope mcp:admin")
    );
}

#[tokio::test]
#[ignore = "needs the Node peers: npm ci in e2e/ (scripts/test.sh runs it)"]
async fn the_demo_prints_a_token_that_works_with_its_curl_line() {
    let (mut demo, _url) = mcp_auth(&["demo", "--bind", "127.0.0.1:0"], "MCP endpoint:").await;
    let token = demo.value_after("TOKEN=").await;
    let curl_arguments = demo.value_after("curl -s -X POST").await;
    let line = format!("TOKEN={token}; curl -s -X POST {curl_arguments}");
    let output = Command::new("sh")
        .args(["-c", &line])
        .output()
        .with_deadline()
        .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let reply: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("curl printed {stdout}"));
    let whoami: Value =
        serde_json::from_str(reply["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(whoami["subject"], "demo-user");
}

#[tokio::test]
#[ignore = "needs the Node peers: npm ci in e2e/ (scripts/test.sh runs it)"]
async fn discover_checks_oidc_provider_and_fails_a_server_without_browser_flow() {
    let (_provider, issuer) = oidc_provider().await;
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-auth"))
        .args(["discover", &issuer, "--json"])
        .output()
        .with_deadline()
        .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["issuer"], issuer);
    assert_eq!(report["issuer_matches"], true);
    assert_eq!(report["passed"], true);
    assert_eq!(report["key_set"]["reachable"], true);
    assert_eq!(
        report["key_set"]["keys"][0]["algorithms"],
        serde_json::json!(["RS256"])
    );

    let (mut demo, _) = mcp_auth(&["demo", "--bind", "127.0.0.1:0"], "MCP endpoint:").await;
    let demo_issuer = demo.value_after("Authorization server:").await;
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-auth"))
        .args(["discover", &demo_issuer])
        .output()
        .with_deadline()
        .await;
    assert_eq!(output.status.code(), Some(1));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("PKCE              FAIL"), "{printed}");
    assert!(printed.trim_end().ends_with("FAIL"), "{printed}");
}

#[tokio::test]
#[ignore = "needs the Node peers: npm ci in e2e/ (scripts/test.sh runs it)"]
async fn a_misconfiguration_exits_with_one_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-auth"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--issuer",
            "auth.example.com",
        ])
        .output()
        .with_deadline()
        .await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("mcp-auth: issuer \"auth.example.com\" is not usable"),
        "{stderr}"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_mcp-auth"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env_remove("MCP_AUTH_ISSUER")
        .output()
        .with_deadline()
        .await;
    assert_eq!(output.status.code(), Some(2), "clap's usage error");

    let output = Command::new(env!("CARGO_BIN_EXE_mcp-auth"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("MCP_AUTH_ISSUER", "https://auth.example.com")
        .env("MCP_AUTH_RESOURCE", "https://api.example.com/mcp#fragment")
        .output()
        .with_deadline()
        .await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("fragment") && stderr.lines().count() == 1,
        "{stderr}"
    );
}
