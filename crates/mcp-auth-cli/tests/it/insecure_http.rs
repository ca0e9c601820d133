//! `serve` and `discover` apply the same URL rules: issuers, their metadata and key sets over
//! plain http are refused off loopback unless `--insecure-http-issuers` says otherwise. No test
//! here sends anything off this machine: every refusal happens before a fetch.

use std::process::Output;

use mcp_auth::testing::TestIssuer;
use serde_json::json;

use crate::common::{self, Running, finished};

const OFF_LOOPBACK: &str = "plain http off loopback lets anyone on the path swap the keys";

async fn mcp_auth(args: &[&str]) -> Output {
    finished(&mut common::mcp_auth(args)).await
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn serve_refuses_a_plain_http_issuer_off_loopback() {
    let output = mcp_auth(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--issuer",
        "http://auth.example.com",
    ])
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.starts_with("mcp-auth: issuer \"http://auth.example.com\""),
        "{said}"
    );
    assert!(said.contains(OFF_LOOPBACK), "{said}");
}

#[tokio::test]
async fn serve_accepts_it_with_the_insecure_flag_and_warns() {
    let mut serve = Running::spawn(common::mcp_auth(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--issuer",
        "http://auth.example.com",
        "--insecure-http-issuers",
    ]));
    serve.value_after("mcp-auth serve: listening on").await;
    let warned = serve.stop().await;
    assert!(warned.contains("--insecure-http-issuers"), "{warned}");
    assert!(
        warned.contains("anyone on the path can swap the keys"),
        "{warned}"
    );
}

#[tokio::test]
async fn discover_refuses_a_plain_http_issuer_off_loopback() {
    let output = mcp_auth(&["discover", "http://auth.example.com"]).await;
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
    let output = mcp_auth(&["discover", issuer.issuer(), "--json"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["passed"], false);
    assert_eq!(report["key_set"]["reachable"], false);
    let error = report["key_set"]["error"].as_str().unwrap();
    assert!(error.contains(OFF_LOOPBACK), "{error}");
    assert_eq!(issuer.jwks_fetches(), 0);
}
