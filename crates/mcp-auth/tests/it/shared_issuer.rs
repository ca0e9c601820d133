//! One issuer, one source: every resource, layer and reader (JWT key caches, introspection, the
//! legacy mirror) built from one `McpAuth` shares one discovery of an issuer's metadata and one
//! fetch of its keys; an issuer described twice in different ways is refused.
#![cfg(feature = "testing")]

use std::time::Duration;

use axum::Router;
use axum::routing::post;
use mcp_auth::discovery::Discovery;
use mcp_auth::testing::{TestClient, TestIssuer};
use mcp_auth::verify::{IntrospectionOptions, JwtOptions};
use mcp_auth::{Auth, AuthServerConfig, AuthServerType, ConfigError, McpAuth, ProtectedResource};
use reqwest::StatusCode;

use crate::common::serve;

async fn whoami(Auth(info): Auth) -> String {
    info.subject.clone().unwrap_or_default()
}

/// Sends `token` to `url`; the status and body.
async fn call(url: &str, token: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn two_resources_trusting_one_issuer_discover_it_and_fetch_its_keys_once() {
    // The library guide's "two resources in one server" (docs/library.md), with a mirror and introspection besides.
    let issuer = TestIssuer::start().await.unwrap();
    issuer.register_client(TestClient {
        id: "mcp-server".to_owned(),
        secret: "secret".to_owned(),
        scopes: Vec::new(),
    });
    let config = issuer.lazy_config();
    let server = serve(move |addr| {
        let files = format!("http://{addr}/files");
        let mail = format!("http://{addr}/mail");
        let auth = McpAuth::builder()
            .protected_resource(ProtectedResource::new(&files).authorization_server(config.clone()))
            .protected_resource(ProtectedResource::new(&mail).authorization_server(config))
            .build()
            .unwrap();
        let files = auth.bearer().resource(&files).build().unwrap();
        let mail = auth
            .bearer()
            .resource(&mail)
            .jwt(JwtOptions::default())
            .introspection(IntrospectionOptions::new("mcp-server", "secret"))
            .build()
            .unwrap();
        Router::new()
            .merge(files.mount(post(whoami)))
            .merge(mail.mount(post(whoami)))
            .merge(auth.legacy_authorization_server_metadata_router().unwrap())
    })
    .await;
    let (files, mail) = (server.url("/files"), server.url("/mail"));
    let token_for = |resource: &str| {
        issuer
            .token()
            .subject("alice")
            .audience(resource)
            .sign()
            .unwrap()
    };
    assert_eq!(
        call(&files, &token_for(&files)).await,
        (StatusCode::OK, "alice".to_owned())
    );
    assert_eq!(
        call(&mail, &token_for(&mail)).await,
        (StatusCode::OK, "alice".to_owned())
    );
    let opaque = issuer
        .token()
        .subject("bob")
        .audience(&mail)
        .opaque()
        .unwrap();
    assert_eq!(
        call(&mail, &opaque).await,
        (StatusCode::OK, "bob".to_owned())
    );
    let mirrored = reqwest::get(server.url("/.well-known/oauth-authorization-server"))
        .await
        .unwrap();
    assert_eq!(mirrored.status(), StatusCode::OK);
    // A token for one resource is still refused by the other.
    assert_eq!(
        call(&files, &token_for(&mail)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        (issuer.metadata_fetches(), issuer.jwks_fetches()),
        (1, 1),
        "one discovery and one key set fetch for two resources, three layers of readers and the mirror"
    );
    assert_eq!(issuer.introspection_calls(), 1);
}

#[tokio::test]
async fn layers_with_other_key_set_options_keep_their_own_key_cache() {
    // Options differ (one layer holds keys longer): each layer follows its own, so each has its
    // own cache; the metadata is still discovered once.
    let issuer = TestIssuer::start().await.unwrap();
    let config = issuer.lazy_config();
    let server = serve(move |addr| {
        let resource = format!("http://{addr}/mcp");
        let auth = McpAuth::builder()
            .protected_resource(ProtectedResource::new(&resource).authorization_server(config))
            .build()
            .unwrap();
        let short = auth.bearer().build().unwrap();
        let long = auth
            .bearer()
            .jwt(JwtOptions::default().key_cache_ttl(Duration::from_secs(3600)))
            .build()
            .unwrap();
        Router::new()
            .merge(short.mount(post(whoami)))
            .nest("/long", long.mount(post(whoami)))
    })
    .await;
    let token = issuer
        .token()
        .subject("alice")
        .audience(server.url("/mcp"))
        .sign()
        .unwrap();
    assert_eq!(call(&server.url("/mcp"), &token).await.0, StatusCode::OK);
    assert_eq!(
        call(&server.url("/long/mcp"), &token).await.0,
        StatusCode::OK
    );
    assert_eq!((issuer.metadata_fetches(), issuer.jwks_fetches()), (1, 2));
}

#[test]
fn an_issuer_described_twice_in_different_ways_is_refused() {
    let lazy = AuthServerConfig::lazy("https://auth.example.com", AuthServerType::Oidc);
    let build = |second: AuthServerConfig| {
        McpAuth::builder()
            .protected_resource(
                ProtectedResource::new("https://api.example.com/files")
                    .authorization_server(lazy.clone()),
            )
            .protected_resource(
                ProtectedResource::new("https://api.example.com/mail").authorization_server(second),
            )
            .build()
    };
    assert!(build(lazy.clone()).is_ok(), "a clone is the same issuer");
    assert!(
        build(AuthServerConfig::lazy(
            "https://auth.example.com",
            AuthServerType::Oidc
        ))
        .is_ok(),
        "described alike"
    );
    let hooked = Discovery::new("https://auth.example.com", AuthServerType::Oidc).transpile(|_| {});
    let different = [
        AuthServerConfig::lazy("https://auth.example.com", AuthServerType::OAuth),
        AuthServerConfig::lazy_with(hooked),
        AuthServerConfig::lazy_with(
            Discovery::new("https://auth.example.com", AuthServerType::Oidc)
                .refresh_every(Duration::from_secs(60)),
        ),
    ];
    for second in different {
        let error = build(second).unwrap_err();
        assert_eq!(
            error,
            ConfigError::IssuerConfiguredTwice {
                issuer: "https://auth.example.com".to_owned()
            }
        );
        assert!(error.to_string().contains("clone it"), "{error}");
    }
}
