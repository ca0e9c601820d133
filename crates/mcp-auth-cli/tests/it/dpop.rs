//! `mcp-auth serve --dpop required`: a DPoP-bound token with a fresh proof calls a tool, the
//! same token as Bearer or with a replayed proof is refused with the `DPoP` challenge, and the
//! metadata says DPoP is required.

use crate::common::{Running, mcp_auth};
use mcp_auth::testing::{DpopKey, KeyMaterial, TestIssuer};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A stateless `tools/call` of `whoami` with `Authorization: SCHEME token` and `proof`.
async fn whoami(url: &str, scheme: &str, token: &str, proof: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("authorization", format!("{scheme} {token}"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": { "name": "whoami", "arguments": {} }
        }));
    if let Some(proof) = proof {
        request = request.header("dpop", proof);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn serve_with_dpop_required_takes_bound_tokens_with_fresh_proofs_only() {
    let issuer = TestIssuer::start().await.unwrap();
    let mut server = Running::spawn(mcp_auth(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--issuer",
        issuer.issuer(),
        "--issuer-type",
        "oauth",
        "--scope",
        "mcp:tools",
        "--dpop",
        "required",
    ]));
    let url = server.value_after("  MCP endpoint").await;
    assert_eq!(
        server.value_after("  DPoP").await,
        "required (DPoP tokens only), at most 100000 proofs remembered (10000 per key)"
    );

    let key = DpopKey::generate().unwrap();
    let token = issuer
        .token()
        .audience(&url)
        .subject("alice")
        .scopes(["mcp:tools"])
        .dpop_bound(&key)
        .sign()
        .unwrap();
    let proof = key.proof("POST", &url, &token).unwrap();
    let response = whoami(&url, "DPoP", &token, Some(&proof)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let reply: Value = response.json().await.unwrap();
    assert!(
        reply["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("alice"),
        "{reply}"
    );

    for (scheme, proof) in [("DPoP", Some(proof.as_str())), ("Bearer", None)] {
        let response = whoami(&url, scheme, &token, proof).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{scheme}");
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(challenge.starts_with("DPoP algs="), "{challenge}");
    }

    let metadata_url = url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    let metadata: Value = reqwest::get(metadata_url)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["dpop_bound_access_tokens_required"], true,
        "{metadata}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_replay_store_needs_dpop_and_an_unreachable_redis_stops_the_start() {
    let run = |args: &[&str]| {
        let mut command = mcp_auth(&[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--issuer",
            "https://auth.example.com",
        ]);
        command.args(args);
        async move { command.output().await.unwrap() }
    };
    let output = run(&["--replay-store", "redis://127.0.0.1:1/"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--replay-store") && stderr.contains("--dpop"),
        "{stderr}"
    );

    let output = run(&[
        "--dpop",
        "required",
        "--replay-store",
        "redis://127.0.0.1:1/",
    ])
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot reach Redis"), "{stderr}");
    assert!(output.stdout.is_empty(), "it started");
}

#[tokio::test]
async fn the_demo_with_dpop_prints_a_bound_token_that_dpop_proof_makes_usable() {
    let mut demo = Running::spawn(mcp_auth(&[
        "demo",
        "--bind",
        "127.0.0.1:0",
        "--dpop",
        "required",
    ]));
    let url = demo.value_after("MCP endpoint:").await;
    let token = demo.value_after("TOKEN=").await;
    let curl = demo.value_after("curl -s -X POST").await;
    assert!(curl.contains("mcp-auth dpop-proof POST"), "{curl}");

    let proof = mcp_auth(&["dpop-proof", "POST", &url, &token])
        .output()
        .await
        .unwrap();
    assert!(proof.status.success());
    let proof = String::from_utf8(proof.stdout).unwrap();
    let response = whoami(&url, "DPoP", &token, Some(proof.trim())).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = whoami(&url, "Bearer", &token, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    demo.stop().await;
}

#[tokio::test]
async fn replay_capacity_sizes_the_store_and_bounds_the_proofs_of_one_key() {
    let issuer = TestIssuer::start().await.unwrap();
    let mut command = mcp_auth(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--issuer",
        issuer.issuer(),
        "--issuer-type",
        "oauth",
        "--scope",
        "mcp:tools",
        "--dpop",
        "required",
    ]);
    command.env("MCP_AUTH_REPLAY_CAPACITY", "20");
    let mut server = Running::spawn(command);
    let url = server.value_after("  MCP endpoint").await;
    assert_eq!(
        server.value_after("  DPoP").await,
        "required (DPoP tokens only), at most 20 proofs remembered (2 per key)"
    );
    let token_for = |key: &DpopKey| {
        issuer
            .token()
            .audience(&url)
            .subject("alice")
            .scopes(["mcp:tools"])
            .dpop_bound(key)
            .sign()
            .unwrap()
    };
    let flooder = DpopKey::generate().unwrap();
    let flooder_token = token_for(&flooder);
    for sent in 0..5 {
        let proof = flooder.proof("POST", &url, &flooder_token).unwrap();
        let response = whoami(&url, "DPoP", &flooder_token, Some(&proof)).await;
        let expected = if sent < 2 {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(response.status(), expected, "proof {sent}");
        if sent >= 2 {
            let challenge = response.headers()["www-authenticate"].to_str().unwrap();
            assert!(
                challenge.contains(r#"error="invalid_dpop_proof""#),
                "{challenge}"
            );
        }
    }
    let other = DpopKey::with(KeyMaterial::Ed25519, jsonwebtoken::Algorithm::EdDSA).unwrap();
    let other_token = token_for(&other);
    let proof = other.proof("POST", &url, &other_token).unwrap();
    let response = whoami(&url, "DPoP", &other_token, Some(&proof)).await;
    assert_eq!(response.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn replay_capacity_needs_dpop_and_the_memory_store() {
    let run = |args: &[&str]| {
        let mut command = mcp_auth(&[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--issuer",
            "https://auth.example.com",
        ]);
        command.args(args);
        async move { command.output().await.unwrap() }
    };
    for args in [
        &["--replay-capacity", "10"][..],
        &["--dpop", "required", "--replay-capacity", "0"][..],
        &[
            "--dpop",
            "required",
            "--replay-capacity",
            "10",
            "--replay-store",
            "redis://127.0.0.1:1/",
        ][..],
    ] {
        let output = run(args).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--replay-capacity"), "{args:?}: {stderr}");
    }
}
