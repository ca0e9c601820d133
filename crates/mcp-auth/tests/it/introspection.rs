//! Introspection mode (RFC 7662), API keys, and several verifiers in one layer, over real HTTP
//! against the test issuer's introspection endpoint: every answer the endpoint can give, every
//! way it can fail, and how many calls it sees.
#![cfg(feature = "testing")]

use std::time::Duration;

use crate::common::jwt::JwtApp;
use crate::common::logs_of;
use aws_lc_rs::digest::{SHA256, digest};
use futures::future::join_all;
use mcp_auth::bearer::BearerAuthBuilder;
use mcp_auth::metadata::AuthorizationServerMetadata;
use mcp_auth::testing::{TestClient, TestIssuer};
use mcp_auth::verify::{
    ApiKey, ApiKeys, ClientAuthMethod, IntrospectionOptions, JwtOptions, MemoryIntrospectionStore,
};
use mcp_auth::{AuthServerConfig, AuthServerType, ConfigError, McpAuth, ProtectedResource};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CLIENT_ID: &str = "mcp-server";
const SECRET: &str = "introspection-secret";
const NOT_ACTIVE: &str = "the token is not active";

/// The test issuer with the resource server registered as its client.
async fn issuer() -> TestIssuer {
    let issuer = TestIssuer::start().await.unwrap();
    issuer.register_client(TestClient {
        id: CLIENT_ID.to_owned(),
        secret: SECRET.to_owned(),
        scopes: Vec::new(),
    });
    issuer
}

fn options() -> IntrospectionOptions {
    IntrospectionOptions::new(CLIENT_ID, SECRET)
}

/// A resource in introspection mode only (discovering the endpoint lazily), then `configure`.
async fn app_with(
    options: IntrospectionOptions,
    configure: impl FnOnce(BearerAuthBuilder) -> BearerAuthBuilder,
) -> JwtApp {
    let issuer = issuer().await;
    let config = issuer.lazy_config();
    JwtApp::start_with(issuer, vec![config], |bearer| {
        configure(bearer.introspection(options).without_jwt())
    })
    .await
}

async fn app() -> JwtApp {
    app_with(options(), |bearer| bearer).await
}

#[tokio::test]
async fn an_active_token_is_accepted_with_what_the_answer_says() {
    let app = app().await;
    let token = app
        .token()
        .subject("alice")
        .client_id("inspector")
        .scopes(["read", "write"])
        .claim("tenant", json!("acme"))
        .opaque()
        .unwrap();
    let info = app.accepted(&token).await;
    assert_eq!(info["subject"], "alice");
    assert_eq!(info["client_id"], "inspector");
    assert_eq!(info["scopes"], json!(["read", "write"]));
    assert_eq!(info["issuer"], app.issuer.issuer());
    assert_eq!(info["audience"], json!([app.resource]));
    assert_eq!(info["claims"]["tenant"], "acme");
    assert_eq!(info["claims"]["active"], true);
    assert_eq!(app.issuer.introspection_calls(), 1);
}

#[tokio::test]
async fn unknown_revoked_and_expired_tokens_are_refused() {
    let app = app().await;
    app.refused("no-such-token", NOT_ACTIVE).await;
    let revoked = app.token().opaque().unwrap();
    app.issuer.revoke(&revoked);
    app.refused(&revoked, NOT_ACTIVE).await;
    let expired = app.token().expires_in(-120).opaque().unwrap();
    app.refused(&expired, NOT_ACTIVE).await;
}

/// The layer's own rules apply to what a (lying or lagging) endpoint says is active.
#[tokio::test]
async fn an_active_answer_still_follows_the_layer_rules() {
    let app = app().await;
    let issuer = app.issuer.issuer().to_owned();
    let cases = [
        (
            json!({ "active": true, "aud": app.resource, "exp": 1_000 }),
            "the token has expired",
        ),
        (
            json!({ "active": true, "aud": "https://other.example/mcp" }),
            "the token's audience does not include this resource",
        ),
        (
            json!({ "active": true }),
            "the token's audience does not include this resource",
        ),
        (
            json!({ "active": true, "aud": app.resource, "iss": "https://other.example" }),
            "the introspection answer names another issuer than the server that answered",
        ),
        (
            json!({ "active": true, "aud": app.resource, "iss": issuer, "token_type": "refresh_token" }),
            "the introspection answer says the token is not a bearer access token",
        ),
        (
            json!({ "active": true, "aud": app.resource, "typ": "ID" }),
            "the token's typ claim says it is not an access token",
        ),
        (
            json!({ "active": true, "aud": app.resource, "token_use": "id" }),
            "the token's token_use claim says it is not an access token",
        ),
        (
            json!({ "active": true, "aud": app.resource, "scope": "read\u{a0}admin" }),
            "the scope claim has a scope outside RFC 6749's character set",
        ),
        (json!({ "active": "true", "aud": app.resource }), ""),
    ];
    for (index, (answer, description)) in cases.into_iter().enumerate() {
        app.issuer
            .set_introspection_response(Some(("application/json".to_owned(), answer.to_string())));
        let token = format!("lying-{index}");
        if description.is_empty() {
            app.unavailable(&token).await;
        } else {
            app.refused(&token, description).await;
        }
    }
}

#[tokio::test]
async fn scopes_may_be_an_array_and_an_answer_without_iss_is_the_server_s() {
    let app = app().await;
    app.issuer.set_introspection_response(Some((
        "application/json".to_owned(),
        json!({ "active": true, "aud": [app.resource], "scope": ["read", "write"], "sub": "bob" })
            .to_string(),
    )));
    let info = app.accepted("any-token").await;
    assert_eq!(info["scopes"], json!(["read", "write"]));
    assert_eq!(info["issuer"], app.issuer.issuer());
}

#[tokio::test]
async fn a_refresh_token_is_not_an_access_token() {
    let app = app().await;
    let token = app
        .token()
        .claim("token_type", json!("refresh_token"))
        .opaque()
        .unwrap();
    app.refused(
        &token,
        "the introspection answer says the token is not a bearer access token",
    )
    .await;
}

#[tokio::test]
async fn an_endpoint_that_fails_gives_503_never_a_pass() {
    let app = app_with(
        options()
            .timeout(Duration::from_millis(300))
            .max_response_bytes(1024),
        |bearer| bearer,
    )
    .await;
    let token = app.token().opaque().unwrap();
    // Found first, so the failures below are the endpoint's.
    app.accepted(&token).await;
    let json = "application/json".to_owned();
    let bodies = [
        (json.clone(), "not json".to_owned()),
        (
            json.clone(),
            format!("{{\"active\":true,\"pad\":\"{}\"}}", "x".repeat(2000)),
        ),
        (json.clone(), "[true]".to_owned()),
        ("text/html".to_owned(), "<html>".to_owned()),
    ];
    for (index, body) in bodies.into_iter().enumerate() {
        app.issuer.set_introspection_response(Some(body));
        app.unavailable(&format!("new-token-{index}")).await;
    }
    app.issuer.set_introspection_response(None);
    app.issuer.set_introspection_delay(Duration::from_secs(2));
    let started = std::time::Instant::now();
    app.unavailable("slow-token").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    app.issuer.set_introspection_delay(Duration::ZERO);
    app.issuer.set_down(true);
    app.unavailable("down-token").await;
}

#[tokio::test]
async fn wrong_client_credentials_give_503() {
    for method in [
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::ClientSecretPost,
    ] {
        let app = app_with(
            IntrospectionOptions::new(CLIENT_ID, "wrong").auth_method(method),
            |bearer| bearer,
        )
        .await;
        let token = app.token().opaque().unwrap();
        let ((), logs) = logs_of(app.unavailable(&token)).await;
        assert_eq!(app.issuer.introspection_calls(), 1);
        assert!(logs.contains("ERROR"), "{logs}");
        assert!(
            logs.contains(
                "the introspection endpoint refused the resource server's client credentials"
            ),
            "{logs}"
        );
        assert!(!logs.contains(&token), "{logs}");
    }
}

#[tokio::test]
async fn both_auth_methods_work() {
    for method in [
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::ClientSecretPost,
    ] {
        let app = app_with(options().auth_method(method), |bearer| bearer).await;
        app.accepted(&app.token().opaque().unwrap()).await;
    }
}

#[tokio::test]
async fn answers_are_cached_and_a_new_token_is_asked_once_by_concurrent_requests() {
    let app = app().await;
    let token = app.token().opaque().unwrap();
    for _ in 0..20 {
        app.accepted(&token).await;
    }
    assert_eq!(app.issuer.introspection_calls(), 1);

    for _ in 0..5 {
        app.refused("unknown", NOT_ACTIVE).await;
    }
    assert_eq!(
        app.issuer.introspection_calls(),
        2,
        "negative answers are cached too"
    );

    app.issuer
        .set_introspection_delay(Duration::from_millis(300));
    let fresh = app.token().opaque().unwrap();
    let statuses = join_all((0..100).map(|_| app.call(&fresh))).await;
    assert!(statuses.iter().all(|r| r.status() == StatusCode::OK));
    assert_eq!(app.issuer.introspection_calls(), 3, "single flight");
}

#[tokio::test]
async fn an_active_answer_is_not_kept_past_the_cache_ttl() {
    let app = app_with(options().cache_ttl(Duration::ZERO), |bearer| bearer).await;
    let token = app.token().opaque().unwrap();
    app.accepted(&token).await;
    app.issuer.revoke(&token);
    app.refused(&token, NOT_ACTIVE).await;
    assert_eq!(app.issuer.introspection_calls(), 2);
}

#[tokio::test]
async fn a_zero_cache_capacity_keeps_no_answer() {
    // Zero turns a cache off, as for every cache bound (the crate README's rule); a store of
    // zero answers keeps none either.
    for options in [
        options().cache_capacity(0),
        options()
            .cache_capacity(0)
            .store(MemoryIntrospectionStore::new(0)),
    ] {
        let app = app_with(options, |bearer| bearer).await;
        let token = app.token().opaque().unwrap();
        for _ in 0..3 {
            app.accepted(&token).await;
        }
        for _ in 0..2 {
            app.refused("unknown", NOT_ACTIVE).await;
        }
        assert_eq!(app.issuer.introspection_calls(), 5);
    }
}

#[tokio::test]
async fn with_jwt_mode_too_the_token_shape_decides() {
    let app = app_with(options(), |bearer| bearer.jwt(JwtOptions::default())).await;
    app.accepted(&app.token().sign().unwrap()).await;
    app.accepted(&app.token().opaque().unwrap()).await;
    assert_eq!(app.issuer.introspection_calls(), 1);

    // A JWT of an untrusted issuer is refused by JWT mode, not sent to introspection.
    let stranger = TestIssuer::start().await.unwrap();
    let foreign = stranger.token().audience(&app.resource).sign().unwrap();
    app.refused(
        &foreign,
        "the token's issuer is not trusted by this resource",
    )
    .await;
    assert_eq!(app.issuer.introspection_calls(), 1);
}

#[tokio::test]
async fn a_jwt_shaped_token_in_standard_base64_is_never_introspected() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD_NO_PAD;
    let app = app_with(options(), |bearer| bearer.jwt(JwtOptions::default())).await;
    // `+` and `/` in its first part: base64 of a JSON object, not base64url.
    let header = STANDARD_NO_PAD.encode(r#"{"alg":"RS256","kid":"??>>"}"#);
    assert!(header.contains(['+', '/']), "{header}");
    let token = format!("{header}.e30.c2ln");
    let response = app.call(&token).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.issuer.introspection_calls(), 0);
}

#[tokio::test]
async fn an_answer_with_a_fractional_exp_is_kept_no_longer_than_it() {
    let app = app().await;
    // Within the leeway, so accepted; but already past as the cache counts time.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let answer = json!({
        "active": true, "aud": app.resource, "scope": "read", "exp": now as f64 - 0.5,
    });
    app.issuer
        .set_introspection_response(Some(("application/json".to_owned(), answer.to_string())));
    app.accepted("fractional-exp").await;
    app.accepted("fractional-exp").await;
    assert_eq!(app.issuer.introspection_calls(), 2, "not kept past exp");
}

#[tokio::test]
async fn introspection_calls_are_bounded_per_second_and_the_excess_gets_503() {
    let app = app_with(options().max_calls_per_second(3), |bearer| bearer).await;
    for index in 0..3 {
        app.refused(&format!("made-up-{index}"), NOT_ACTIVE).await;
    }
    for index in 3..10 {
        app.unavailable(&format!("made-up-{index}")).await;
    }
    assert_eq!(app.issuer.introspection_calls(), 3);
    // An answer kept in the cache costs no call: still answered.
    app.refused("made-up-0", NOT_ACTIVE).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    app.refused("made-up-10", NOT_ACTIVE).await;
    assert_eq!(app.issuer.introspection_calls(), 4, "the budget refills");
}

fn sha256_hex(key: &str) -> String {
    digest(&SHA256, key.as_bytes())
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn api_keys() -> ApiKeys {
    ApiKeys::new()
        .key(ApiKey::new(sha256_hex("ci-key-1"), "ci-bot").scopes(["read"]))
        .key(ApiKey::new(sha256_hex("nightly-key"), "nightly").scopes(["write"]))
}

#[tokio::test]
async fn api_keys_are_accepted_refused_and_scoped() {
    let issuer = issuer().await;
    let config = issuer.lazy_config();
    let app = JwtApp::start_with(issuer, vec![config], |bearer| {
        bearer
            .api_keys(api_keys())
            .without_jwt()
            .required_scopes(["read"])
    })
    .await;
    let info = app.accepted("ci-key-1").await;
    assert_eq!(info["subject"], "ci-bot");
    assert_eq!(info["issuer"], app.resource);
    assert_eq!(info["expires_at"], Value::Null);
    app.refused("unknown-key", "the token is not a known API key")
        .await;
    let challenge = app.challenge("nightly-key", StatusCode::FORBIDDEN).await;
    assert_eq!(challenge.param("error"), Some("insufficient_scope"));
    // With JWT mode off, a good JWT is not an API key.
    app.refused(
        &app.token().scopes(["read"]).sign().unwrap(),
        "the token is not a known API key",
    )
    .await;
}

#[tokio::test]
async fn api_keys_jwts_and_opaque_tokens_in_one_layer() {
    let app = app_with(options(), |bearer| {
        bearer.jwt(JwtOptions::default()).api_keys(api_keys())
    })
    .await;
    assert_eq!(app.accepted("ci-key-1").await["subject"], "ci-bot");
    assert_eq!(
        app.accepted(&app.token().subject("jwt-user").sign().unwrap())
            .await["subject"],
        "jwt-user"
    );
    assert_eq!(
        app.accepted(&app.token().subject("opaque-user").opaque().unwrap())
            .await["subject"],
        "opaque-user"
    );
    assert_eq!(
        app.issuer.introspection_calls(),
        1,
        "API keys are never introspected"
    );
}

#[tokio::test]
async fn introspection_settings_are_checked_when_the_layer_is_built() {
    let build = |servers: Vec<AuthServerConfig>, options: IntrospectionOptions| {
        let resource = servers.into_iter().fold(
            ProtectedResource::new("https://mcp.example.com/mcp"),
            |r, s| r.authorization_server(s),
        );
        let auth = McpAuth::builder()
            .protected_resource(resource)
            .build()
            .unwrap();
        auth.bearer()
            .introspection(options)
            .without_jwt()
            .build()
            .err()
    };
    let bare = || {
        AuthServerConfig::new(
            AuthorizationServerMetadata::new("https://auth.example.com"),
            AuthServerType::OAuth,
        )
    };
    let other = AuthServerConfig::lazy("https://other.example.com", AuthServerType::OAuth);
    assert_eq!(
        build(vec![bare()], options()),
        Some(ConfigError::NoIntrospectionEndpoint {
            issuer: "https://auth.example.com".to_owned()
        })
    );
    assert_eq!(
        build(vec![bare(), other.clone()], options()),
        Some(ConfigError::IntrospectionIssuerNotChosen)
    );
    assert_eq!(
        build(vec![bare()], options().issuer("https://nope.example")),
        Some(ConfigError::UnknownIntrospectionIssuer {
            issuer: "https://nope.example".to_owned()
        })
    );
    assert!(matches!(
        build(
            vec![bare()],
            options().endpoint("http://auth.example.com/introspect")
        ),
        Some(ConfigError::InvalidUrl { .. })
    ));
    assert_eq!(
        build(
            vec![bare()],
            IntrospectionOptions::new("", SECRET).endpoint("https://auth.example.com/i")
        ),
        Some(ConfigError::InvalidSetting {
            of: "IntrospectionOptions",
            setting: "new",
            reason: "the client id is empty".to_owned()
        })
    );
    assert_eq!(
        build(
            vec![bare(), other],
            options()
                .issuer("https://auth.example.com")
                .endpoint("https://auth.example.com/i")
        ),
        None
    );

    let auth = McpAuth::builder()
        .protected_resource(
            ProtectedResource::new("https://mcp.example.com/mcp").authorization_server(bare()),
        )
        .build()
        .unwrap();
    let bad_key = auth
        .bearer()
        .api_keys(ApiKeys::new().key(ApiKey::new("+f".repeat(32), "x")))
        .without_jwt()
        .build()
        .err();
    assert_eq!(
        bad_key,
        Some(ConfigError::InvalidApiKey {
            index: 0,
            reason: "the SHA-256 must be 64 hexadecimal digits"
        })
    );
    let custom_and_keys = auth
        .bearer()
        .verifier(|_: String| async { Err(mcp_auth::VerifyError::invalid_token("no")) })
        .api_keys(api_keys())
        .build()
        .err();
    assert_eq!(
        custom_and_keys,
        Some(ConfigError::VerifierAndBuiltIn {
            built_in: "API keys"
        })
    );
}
