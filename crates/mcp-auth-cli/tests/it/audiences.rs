//! `--audience`, repeatable (and comma-separated in `MCP_AUTH_AUDIENCE`): for providers that
//! cannot bind tokens to the resource (Entra ID's `api://...` app ID URI or client id), the
//! audiences named are accepted instead of the resource identifier, and nothing else is.
//! `--allowed-client-id`: the named relaxation for tokens that do not name the resource at all
//! (Cognito, Keycloak without an audience mapper), shown in the banner.

use mcp_auth::testing::TestIssuer;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::Running;
use crate::common::mcp::serve_trusting;

const APP_ID_URI: &str = "api://mcp-files";
const CLIENT_ID: &str = "00000000-1111-2222-3333-444444444444";

/// The status of a `tools/list` call to `url` with a token for `audience`.
async fn status_for(issuer: &TestIssuer, url: &str, audience: &str) -> StatusCode {
    let token = issuer
        .token()
        .audience(audience)
        .scopes(["mcp:tools"])
        .sign()
        .unwrap();
    status_with(url, &token).await
}

/// The status of a `tools/list` call to `url` with `token`.
async fn status_with(url: &str, token: &str) -> StatusCode {
    reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn the_audiences_named_are_accepted_instead_of_the_resource() {
    let issuer = TestIssuer::start().await.unwrap();
    let by_flags = serve_trusting(
        &issuer,
        &["--audience", APP_ID_URI, "--audience", CLIENT_ID],
    );
    let mut by_variable = serve_trusting(&issuer, &[]);
    by_variable.env("MCP_AUTH_AUDIENCE", format!("{APP_ID_URI},{CLIENT_ID}"));
    for command in [by_flags, by_variable] {
        let mut server = Running::spawn(command);
        let url = server.value_after("  MCP endpoint").await;
        assert_eq!(status_for(&issuer, &url, APP_ID_URI).await, StatusCode::OK);
        assert_eq!(status_for(&issuer, &url, CLIENT_ID).await, StatusCode::OK);
        assert_eq!(
            status_for(&issuer, &url, &url).await,
            StatusCode::UNAUTHORIZED,
            "the resource identifier is accepted only if listed"
        );
        assert_eq!(
            status_for(&issuer, &url, "api://another-app").await,
            StatusCode::UNAUTHORIZED
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn allowed_client_ids_accept_tokens_without_the_resource_from_those_clients_only() {
    let issuer = TestIssuer::start().await.unwrap();
    let mut server = Running::spawn(serve_trusting(
        &issuer,
        &["--allowed-client-id", "cognito-app-client"],
    ));
    let url = server.value_after("  MCP endpoint").await;
    let banner = server.value_after("  audience relaxed").await;
    assert!(banner.contains("cognito-app-client"), "{banner}");
    let without_aud = |client: &str| {
        issuer
            .token()
            .without("aud")
            .client_id(client)
            .scopes(["mcp:tools"])
            .sign()
            .unwrap()
    };
    assert_eq!(
        status_with(&url, &without_aud("cognito-app-client")).await,
        StatusCode::OK
    );
    assert_eq!(
        status_with(&url, &without_aud("another-app-client")).await,
        StatusCode::UNAUTHORIZED
    );
    let said = server.stop().await;
    assert!(said.contains("audience check relaxed"), "{said}");
}
