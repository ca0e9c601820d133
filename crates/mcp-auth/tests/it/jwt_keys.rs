//! The key cache, observed from the issuer's side through the layer: how many times metadata and
//! key sets were fetched while tokens were verified, through rotation, floods and outages. What
//! depends on time passing (TTLs, backoff, staleness) is tested in `src/verify/key_cache.rs`
//! with the clock moved instead of slept.
#![cfg(feature = "testing")]

use std::time::Duration;

use crate::common::jwt::JwtApp;
use futures::future::join_all;
use jsonwebtoken::{Algorithm, Header};
use mcp_auth::AuthServerType;
use mcp_auth::discovery::Discovery;
use mcp_auth::testing::{KeyMaterial, TestIssuer, TestKey};
use mcp_auth::verify::{JwtOptions, KeySetReport, UsableKey};
use mcp_auth::{AuthServerConfig, ConfigError, McpAuth, ProtectedResource};
use serde_json::json;

fn with_kid(kid: &str) -> Header {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    header
}

#[tokio::test]
async fn many_requests_with_one_key_fetch_the_key_set_once() {
    let app = JwtApp::start(|b| b).await;
    let token = app.token().sign().unwrap();
    for _ in 0..20 {
        app.accepted(&token).await;
    }
    assert_eq!(app.issuer.jwks_fetches(), 1);
    assert_eq!(app.issuer.metadata_fetches(), 1);
}

#[tokio::test]
async fn concurrent_first_requests_share_one_fetch() {
    let app = JwtApp::start(|b| b).await;
    app.issuer.set_jwks_delay(Duration::from_millis(200));
    let token = app.token().sign().unwrap();
    let calls = (0..32).map(|_| app.call(&token));
    let responses = join_all(calls).await;
    assert!(responses.iter().all(|r| r.status() == 200));
    assert_eq!(app.issuer.jwks_fetches(), 1);
    assert_eq!(app.issuer.metadata_fetches(), 1);
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_and_a_retired_one_dropped() {
    let app = JwtApp::start(|b| b).await;
    let old = app.token().sign().unwrap();
    app.accepted(&old).await;
    app.issuer.add_key(
        TestKey::new(KeyMaterial::RsaNext, "rs256-next", Algorithm::RS256).unwrap(),
        true,
    );
    app.issuer.publish_only(&["rs256-next"]);
    let new = app.token().key("rs256-next").sign().unwrap();
    let seen = app.accepted(&new).await;
    assert_eq!(seen["issuer"], app.issuer.issuer());
    assert_eq!(app.issuer.jwks_fetches(), 2, "one refetch for the new kid");
    // The refetched set no longer has the old key; within the cooldown it is not fetched again.
    app.refused(
        &old,
        "no key of the issuer's key set matches the token's kid and alg",
    )
    .await;
    assert_eq!(app.issuer.jwks_fetches(), 2);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_a_handful_of_fetches() {
    let app = JwtApp::start(|b| b).await;
    app.accepted(&app.token().sign().unwrap()).await;
    app.issuer.add_key(
        TestKey::new(KeyMaterial::RsaNext, "ghost", Algorithm::RS256).unwrap(),
        false,
    );
    let tokens: Vec<String> = (0..100)
        .map(|i| {
            app.token()
                .key("ghost")
                .header(with_kid(&format!("made-up-{i}")))
                .sign()
                .unwrap()
        })
        .collect();
    let responses = join_all(tokens.iter().map(|t| app.call(t))).await;
    assert!(responses.iter().all(|r| r.status() == 401));
    let fetches = app.issuer.jwks_fetches();
    assert!(
        fetches <= 3,
        "{fetches} key set fetches for 100 unknown kids"
    );
}

#[tokio::test]
async fn an_issuer_down_from_the_start_gives_503_and_is_not_hammered() {
    let app = JwtApp::start(|b| b).await;
    app.issuer.set_down(true);
    let token = app.token().sign().unwrap();
    for _ in 0..10 {
        app.unavailable(&token).await;
    }
    // Discovery tries two URLs per attempt; the backoff allowed a single attempt.
    assert_eq!(app.issuer.metadata_fetches(), 2);
    assert_eq!(app.issuer.jwks_fetches(), 0);
}

#[tokio::test]
async fn junk_keys_in_a_key_set_do_not_spoil_the_good_ones() {
    let app = JwtApp::start(|b| b).await;
    let good = TestKey::new(KeyMaterial::Rsa, "good", Algorithm::RS256).unwrap();
    app.issuer.add_key(good.clone(), true);
    let set = json!({ "keys": [
        { "kty": "oct", "kid": "hmac", "k": "c2VjcmV0" },
        { "kty": "RSA", "kid": "broken", "n": "!!!", "e": "AQAB" },
        { "kty": "EC", "kid": "p521", "crv": "P-521", "x": "AQ", "y": "AQ" },
        { "kty": "OKP", "kid": "x25519", "crv": "X25519", "x": "AQ" },
        { "kty": "unknown", "kid": "strange" },
        "not even an object",
        good.jwk,
    ]});
    app.issuer.set_jwks_body(Some(set.to_string()));
    app.accepted(&app.token().key("good").sign().unwrap()).await;
    let hmac = app
        .token()
        .key("good")
        .header(with_kid("hmac"))
        .sign()
        .unwrap();
    app.refused(
        &hmac,
        "no key of the issuer's key set matches the token's kid and alg",
    )
    .await;
}

/// Found by fuzzing (`fuzz/fuzz_targets/key_set.rs`): such a key was kept and reported usable,
/// verifying no algorithm.
#[tokio::test]
async fn a_key_whose_alg_contradicts_its_type_is_left_out() {
    let issuer = TestIssuer::start().await.unwrap();
    let mut ec_for_rsa = serde_json::to_value(issuer.key("es256").unwrap().jwk).unwrap();
    ec_for_rsa["alg"] = json!("PS256");
    ec_for_rsa["kid"] = json!("mislabelled");
    let good = issuer.key("rs256").unwrap().jwk;
    issuer.set_jwks_body(Some(json!({ "keys": [ec_for_rsa, good] }).to_string()));
    let discovery = Discovery::new(issuer.issuer(), AuthServerType::OAuth);
    let report = KeySetReport::fetch(&discovery, &issuer.jwks_uri())
        .await
        .unwrap();
    assert_eq!(
        report,
        KeySetReport {
            keys: vec![UsableKey {
                kid: Some("rs256".to_owned()),
                algorithms: vec![Algorithm::RS256],
            }],
            ignored: 1,
        }
    );
}

#[tokio::test]
async fn inline_metadata_needs_no_discovery() {
    let issuer = TestIssuer::start().await.unwrap();
    let config = issuer.inline_config();
    let app = JwtApp::start_with(issuer, vec![config], |b| b).await;
    app.accepted(&app.token().sign().unwrap()).await;
    assert_eq!(app.issuer.metadata_fetches(), 0);
    assert_eq!(app.issuer.jwks_fetches(), 1);
}

#[tokio::test]
async fn eager_discovery_fetches_metadata_at_setup_only() {
    let issuer = TestIssuer::start().await.unwrap();
    let config = AuthServerConfig::discover(issuer.issuer(), AuthServerType::OAuth)
        .await
        .unwrap();
    assert_eq!(issuer.metadata_fetches(), 1);
    let app = JwtApp::start_with(issuer, vec![config], |b| b).await;
    app.accepted(&app.token().sign().unwrap()).await;
    assert_eq!(app.issuer.metadata_fetches(), 1);
    assert_eq!(app.issuer.jwks_fetches(), 1);
}

#[tokio::test]
async fn every_trusted_issuer_has_its_own_keys() {
    let first = TestIssuer::start().await.unwrap();
    let second = TestIssuer::start().await.unwrap();
    let second_token_issuer = second.issuer().to_owned();
    let servers = vec![first.lazy_config(), second.lazy_config()];
    let app = JwtApp::start_with(first, servers, |b| b).await;
    app.accepted(&app.token().sign().unwrap()).await;
    let from_second = second.token().audience(&app.resource).sign().unwrap();
    let seen = app.accepted(&from_second).await;
    assert_eq!(seen["issuer"], second_token_issuer);
    assert_eq!((app.issuer.jwks_fetches(), second.jwks_fetches()), (1, 1));
}

#[tokio::test]
async fn unknown_kids_while_the_issuer_is_down_respect_the_backoff() {
    let options = JwtOptions::default()
        .unknown_kid_cooldown(Duration::ZERO)
        .retry_backoff(Duration::from_secs(5), Duration::from_secs(5));
    let app = JwtApp::start(|b| b.jwt(options)).await;
    app.accepted(&app.token().sign().unwrap()).await;
    app.issuer.set_down(true);
    app.issuer.add_key(
        TestKey::new(KeyMaterial::RsaNext, "ghost", Algorithm::RS256).unwrap(),
        false,
    );
    for i in 0..20 {
        let token = app
            .token()
            .key("ghost")
            .header(with_kid(&format!("made-up-{i}")))
            .sign()
            .unwrap();
        app.refused(
            &token,
            "no key of the issuer's key set matches the token's kid and alg",
        )
        .await;
    }
    assert_eq!(
        app.issuer.jwks_fetches(),
        2,
        "warm-up, then one failed fetch, then the backoff"
    );
    // The known key still verifies from the cache.
    app.accepted(&app.token().sign().unwrap()).await;
}

#[tokio::test]
async fn a_root_issuer_given_by_its_well_known_url_is_learned_eagerly_or_refused_lazily() {
    // The document calls the issuer `http://host:port/`; the well-known URL cannot say whether
    // the slash belongs to it. Lazily, nothing would know until the first token: the
    // configuration is refused instead of failing every request with 503. Eagerly, discovery
    // learns the document's spelling and tokens naming it pass.
    let issuer = TestIssuer::start().await.unwrap();
    let with_slash = format!("{}/", issuer.issuer());
    issuer.set_metadata(Some(
        json!({ "issuer": with_slash, "jwks_uri": issuer.jwks_uri() }),
    ));
    let well_known = format!("{}/.well-known/oauth-authorization-server", issuer.issuer());
    let discovery = || mcp_auth::discovery::Discovery::from_well_known_url(&well_known).unwrap();
    let lazily = McpAuth::builder()
        .protected_resource(
            ProtectedResource::new("http://127.0.0.1:1/mcp")
                .authorization_server(AuthServerConfig::lazy_with(discovery())),
        )
        .build()
        .unwrap_err();
    assert_eq!(
        lazily,
        ConfigError::AmbiguousIssuer {
            well_known_url: well_known.clone()
        }
    );
    assert!(lazily.to_string().contains("discover_with"), "{lazily}");

    let eager = AuthServerConfig::discover_with(discovery()).await.unwrap();
    assert_eq!(eager.issuer(), with_slash);
    let app = JwtApp::start_with(issuer, vec![eager], |b| b).await;
    app.accepted(&app.token().claim("iss", json!(with_slash)).sign().unwrap())
        .await;
    app.refused(
        &app.token().sign().unwrap(),
        "the token's issuer is not trusted by this resource",
    )
    .await;
}

#[tokio::test]
async fn a_remembered_token_is_forgotten_when_its_key_leaves_the_key_set() {
    let app = JwtApp::start(|b| b).await;
    let old = app.token().sign().unwrap();
    app.accepted(&old).await;
    app.accepted(&old).await;
    app.issuer.add_key(
        TestKey::new(KeyMaterial::RsaNext, "next", Algorithm::RS256).unwrap(),
        true,
    );
    app.issuer.publish_only(&["next"]);
    app.accepted(&app.token().key("next").sign().unwrap()).await; // refetch: rs256 is gone
    app.refused(
        &old,
        "no key of the issuer's key set matches the token's kid and alg",
    )
    .await;
}

#[tokio::test]
async fn a_discovered_key_set_over_plain_http_off_loopback_is_never_fetched() {
    // The issuer is on loopback, but its metadata points the key set elsewhere over plain http:
    // refused before any fetch, so tokens get 503 and nobody on the path can swap the keys.
    let app = JwtApp::start(|b| b).await;
    app.issuer.set_metadata(Some(json!({
        "issuer": app.issuer.issuer(),
        "jwks_uri": "http://keys.example.com/jwks",
    })));
    let response = app.call(&app.token().sign().unwrap()).await;
    assert_eq!(response.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().get("www-authenticate").is_none());
    let body: serde_json::Value = response.json().await.unwrap();
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains("plain http off loopback"),
        "{description}"
    );
    assert_eq!(app.issuer.jwks_fetches(), 0);
}
