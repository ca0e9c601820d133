//! The Protected Resource Metadata router (RFC 9728) over real HTTP on 127.0.0.1.

use crate::common;

use crate::common::{ISSUER, OTHER_ISSUER, mcp_auth, serve};
use axum::Router;
use mcp_auth::metadata::{AuthorizationServerMetadata, ProtectedResourceMetadata};
use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn trusting_issuer(resource: &str) -> ProtectedResource {
    ProtectedResource::new(resource).authorization_server(AuthServerConfig::new(
        AuthorizationServerMetadata::new(ISSUER),
        AuthServerType::OAuth,
    ))
}

#[tokio::test]
async fn serves_the_document_at_the_path_inserted_well_known_url() {
    let server = serve(|addr| mcp_auth(&format!("http://{addr}/mcp")).metadata_router()).await;
    let response = reqwest::get(server.url("/.well-known/oauth-protected-resource/mcp"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(headers["cache-control"], "public, max-age=3600");
    let document: Value = response.json().await.unwrap();
    assert_eq!(
        document,
        json!({
            "resource": server.url("/mcp"),
            "authorization_servers": [ISSUER, OTHER_ISSUER],
            "scopes_supported": ["read", "write", "files", "files:read"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Test MCP server",
        })
    );
    let typed: ProtectedResourceMetadata = serde_json::from_value(document).unwrap();
    assert_eq!(typed.resource, server.url("/mcp"));
}

#[tokio::test]
async fn answers_cors_preflights_and_head_and_refuses_other_methods() {
    let server = serve(|addr| mcp_auth(&format!("http://{addr}/mcp")).metadata_router()).await;
    let url = server.url("/.well-known/oauth-protected-resource/mcp");
    let client = reqwest::Client::new();

    let preflight = client
        .request(Method::OPTIONS, &url)
        .header("origin", "http://localhost:6274")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "mcp-protocol-version")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        preflight.headers()["access-control-allow-methods"],
        "GET, HEAD, OPTIONS"
    );
    assert_eq!(preflight.headers()["access-control-allow-headers"], "*");

    let head = client.head(&url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);

    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let response = client.request(method.clone(), &url).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        let allow = response.headers()["allow"].to_str().unwrap().to_owned();
        assert!(
            allow.contains("GET") && allow.contains("OPTIONS"),
            "{allow}"
        );
    }

    let elsewhere = reqwest::get(server.url("/.well-known/oauth-protected-resource"))
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_root_resource_publishes_at_the_bare_well_known_path() {
    let server = serve(|addr| {
        McpAuth::builder()
            .protected_resource(trusting_issuer(&format!("http://{addr}")))
            .build()
            .unwrap()
            .metadata_router()
    })
    .await;
    let document: Value = reqwest::get(server.url("/.well-known/oauth-protected-resource"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Published exactly as configured: no trailing slash added.
    assert_eq!(document["resource"], format!("http://{}", server.addr));
}

#[tokio::test]
async fn several_resources_each_publish_their_own_document() {
    let server = serve(|addr| {
        McpAuth::builder()
            .protected_resource(
                trusting_issuer(&format!("http://{addr}/tenants/a/mcp")).scopes_supported(["a"]),
            )
            .protected_resource(
                trusting_issuer(&format!("http://{addr}/tenants/b/mcp/")).scopes_supported(["b"]),
            )
            .build()
            .unwrap()
            .metadata_router()
    })
    .await;
    for (path, resource, scope) in [
        (
            "/.well-known/oauth-protected-resource/tenants/a/mcp",
            "/tenants/a/mcp",
            "a",
        ),
        (
            "/.well-known/oauth-protected-resource/tenants/b/mcp/",
            "/tenants/b/mcp/",
            "b",
        ),
    ] {
        let document: Value = reqwest::get(server.url(path))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(document["resource"], server.url(resource));
        assert_eq!(document["scopes_supported"], json!([scope]));
    }
}

#[tokio::test]
async fn the_router_is_public_when_merged_beside_a_protected_route() {
    let server = serve(|addr| {
        let resource = format!("http://{addr}/mcp");
        let auth = mcp_auth(&resource);
        let bearer = auth
            .bearer()
            .verifier(common::fixed_tokens(&resource))
            .build()
            .unwrap();
        Router::new()
            .route("/mcp", axum::routing::post(|| async { "secret" }))
            .layer(bearer)
            .merge(auth.metadata_router())
    })
    .await;
    let metadata = reqwest::get(server.url("/.well-known/oauth-protected-resource/mcp"))
        .await
        .unwrap();
    assert_eq!(metadata.status(), StatusCode::OK);
    let protected = reqwest::Client::new()
        .post(server.url("/mcp"))
        .send()
        .await
        .unwrap();
    assert_eq!(protected.status(), StatusCode::UNAUTHORIZED);
}

/// The deprecated mirror of the authorization server's metadata (2025-03-26 clients).
#[cfg(feature = "testing")]
mod legacy_mirror {
    use super::*;
    use mcp_auth::ConfigError;
    use mcp_auth::testing::TestIssuer;

    const LEGACY: &str = "/.well-known/oauth-authorization-server";

    async fn mirrored(issuer: &TestIssuer) -> common::TestServer {
        let config = issuer.lazy_config();
        serve(move |addr| {
            let auth = McpAuth::builder()
                .protected_resource(
                    ProtectedResource::new(format!("http://{addr}/mcp"))
                        .authorization_server(config),
                )
                .build()
                .unwrap();
            Router::new()
                .merge(auth.metadata_router())
                .merge(auth.legacy_authorization_server_metadata_router().unwrap())
        })
        .await
    }

    #[tokio::test]
    async fn serves_the_discovered_document_unchanged() {
        let issuer = TestIssuer::start().await.unwrap();
        let document = json!({
            "issuer": issuer.issuer(),
            "jwks_uri": issuer.jwks_uri(),
            "response_types_supported": [],
            "registration_endpoint": null,
            "x-vendor-extension": { "nested": [1, 2.5, "three"] },
        });
        issuer.set_metadata(Some(document.clone()));
        let server = mirrored(&issuer).await;
        for _ in 0..3 {
            let response = reqwest::get(server.url(LEGACY)).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()["access-control-allow-origin"], "*");
            assert_eq!(response.json::<Value>().await.unwrap(), document);
        }
        assert_eq!(
            issuer.metadata_fetches(),
            1,
            "kept, not fetched per request"
        );
    }

    #[tokio::test]
    async fn an_issuer_down_gives_503_and_is_not_asked_again_at_once() {
        let issuer = TestIssuer::start().await.unwrap();
        issuer.set_down(true);
        let server = mirrored(&issuer).await;
        let response = reqwest::get(server.url(LEGACY)).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let fetches = issuer.metadata_fetches();
        // A failure is not retried at once: a flood of requests waits on no fetch.
        for _ in 0..5 {
            let response = reqwest::get(server.url(LEGACY)).await.unwrap();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        }
        assert_eq!(issuer.metadata_fetches(), fetches);
    }

    #[tokio::test]
    async fn absent_unless_asked_and_refused_for_several_servers() {
        let server = serve(|addr| mcp_auth(&format!("http://{addr}/mcp")).metadata_router()).await;
        let response = reqwest::get(server.url(LEGACY)).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);

        let several = mcp_auth("https://api.example.com/mcp")
            .legacy_authorization_server_metadata_router::<()>()
            .err();
        assert_eq!(several, Some(ConfigError::LegacyMetadataNeedsOneServer));
    }
}
