//! `serve` and `discover` apply the same URL rules: issuers, their metadata and key sets over
//! plain http are refused off loopback unless `--insecure-http-issuers` says otherwise. No test
//! here sends anything off this machine: every refusal happens before a fetch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use mcp_auth::testing::TestIssuer;
use serde_json::json;

const OFF_LOOPBACK: &str = "plain http off loopback lets anyone on the path swap the keys";

fn mcp_auth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcp-auth"))
        .args(args)
        .env_remove("MCP_AUTH_INSECURE_HTTP_ISSUERS")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn serve_refuses_a_plain_http_issuer_off_loopback() {
    let output = mcp_auth(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--issuer",
        "http://auth.example.com",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.starts_with("mcp-auth: issuer \"http://auth.example.com\""),
        "{said}"
    );
    assert!(said.contains(OFF_LOOPBACK), "{said}");
}

#[test]
fn serve_accepts_it_with_the_insecure_flag_and_warns() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-auth"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--issuer",
            "http://auth.example.com",
        ])
        .arg("--insecure-http-issuers")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut started = false;
    for line in stdout.lines() {
        if line.unwrap().starts_with("mcp-auth serve: listening on") {
            started = true;
            break;
        }
        assert!(Instant::now() < deadline, "serve did not start");
    }
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let warned = String::from_utf8_lossy(&output.stderr);
    assert!(started, "serve did not start: {warned}");
    assert!(warned.contains("--insecure-http-issuers"), "{warned}");
    assert!(
        warned.contains("anyone on the path can swap the keys"),
        "{warned}"
    );
}

#[test]
fn discover_refuses_a_plain_http_issuer_off_loopback() {
    let output = mcp_auth(&["discover", "http://auth.example.com"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("metadata          FAIL"), "{said}");
    assert!(said.contains(OFF_LOOPBACK), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn discover_refuses_a_key_set_that_serve_would_refuse() {
    // The issuer is on loopback, its key set is not: `serve` would never fetch it, so
    // `discover` must not pass the provider.
    let issuer = TestIssuer::start().await.unwrap();
    issuer.set_metadata(Some(json!({
        "issuer": issuer.issuer(),
        "jwks_uri": "http://keys.example.com/jwks",
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    })));
    let url = issuer.issuer().to_owned();
    let output = tokio::task::spawn_blocking(move || mcp_auth(&["discover", &url, "--json"]))
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["passed"], false);
    assert_eq!(report["key_set"]["reachable"], false);
    let error = report["key_set"]["error"].as_str().unwrap();
    assert!(error.contains(OFF_LOOPBACK), "{error}");
    assert_eq!(issuer.jwks_fetches(), 0);
}
