//! Faults of the issuer and its key set, over real HTTP through the layer: down, slow, answering
//! garbage or too much, flapping, rotating or dropping keys while the layer runs. Whatever
//! happens, a token that cannot be verified is never accepted, a valid token with no usable key
//! gets 503 without challenge, fetches stay bounded, no request waits past the fetch timeout,
//! and the layer recovers once the issuer does. Time-based rules (TTL, backoff, staleness) are
//! tested with a moved clock in `src/verify/key_cache.rs`; here they are only short.
#![cfg(feature = "testing")]

use std::time::{Duration, Instant};

use crate::common::jwt::JwtApp;
use futures::future::join_all;
use jsonwebtoken::{Algorithm, Header};
use mcp_auth::discovery::Discovery;
use mcp_auth::testing::{KeyMaterial, TestIssuer, TestKey};
use mcp_auth::verify::JwtOptions;
use mcp_auth::{AuthServerConfig, AuthServerType};
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::{Value, json};

const BAD_SIGNATURE: &str = "the token's signature does not verify";
const NO_KEY: &str = "no key of the issuer's key set matches the token's kid and alg";

/// A resource trusting a test issuer discovered with short limits (150 ms backoff, 300 ms
/// timeout), verifying with `options`.
async fn start(options: JwtOptions) -> JwtApp {
    let issuer = TestIssuer::start().await.unwrap();
    let discovery = Discovery::new(issuer.issuer(), AuthServerType::OAuth)
        .timeout(Duration::from_millis(300))
        .retry_backoff(Duration::from_millis(150), Duration::from_millis(150));
    let server = AuthServerConfig::lazy_with(discovery);
    JwtApp::start_with(issuer, vec![server], |b| b.jwt(options)).await
}

/// Short limits so that faults play out in well under a second; the verified-token cache is off
/// so that every request goes to the keys.
fn options() -> JwtOptions {
    JwtOptions::default()
        .fetch_timeout(Duration::from_millis(300))
        .retry_backoff(Duration::from_millis(150), Duration::from_millis(150))
        .verified_token_cache_bytes(0)
}

fn with_kid(kid: &str) -> Header {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    header
}

/// A token naming the published `rs256` key but signed by another RSA key the issuer never
/// publishes: a forgery that no key set of this issuer can verify.
fn forged(app: &JwtApp) -> String {
    app.issuer.add_key(
        TestKey::new(KeyMaterial::RsaNext, "forger", Algorithm::RS256).unwrap(),
        false,
    );
    app.token()
        .key("forger")
        .header(with_kid("rs256"))
        .sign()
        .unwrap()
}

/// Asserts a 503 without challenge whose error description contains `fragment`.
async fn unavailable_saying(app: &JwtApp, token: &str, fragment: &str) {
    let response = app.call(token).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    let body: Value = response.json().await.unwrap();
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains(fragment),
        "{description:?} does not contain {fragment:?}"
    );
}

/// Sends `count` requests with `token` at once; their statuses and how long they all took.
async fn burst(app: &JwtApp, token: &str, count: usize) -> (Vec<StatusCode>, Duration) {
    let start = Instant::now();
    let responses = join_all((0..count).map(|_| app.call(token))).await;
    let elapsed = start.elapsed();
    let statuses = responses.iter().map(reqwest::Response::status).collect();
    for response in &responses {
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
        }
    }
    (statuses, elapsed)
}

#[tokio::test]
async fn an_issuer_down_at_start_fails_closed_under_load_and_recovers_after_the_backoff() {
    let app = start(options()).await;
    app.issuer.set_down(true);
    let valid = app.token().sign().unwrap();
    let forged = forged(&app);

    let (statuses, _) = burst(&app, &valid, 20).await;
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    let (statuses, _) = burst(&app, &forged, 20).await;
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    unavailable_saying(&app, &valid, "answered HTTP 503").await;
    // One discovery attempt tries two URLs; on a slow machine the backoff may end once or twice
    // during the bursts, but 41 requests never cause 41 attempts.
    let metadata = app.issuer.metadata_fetches();
    assert!((2..=6).contains(&metadata), "{metadata} metadata fetches");
    assert_eq!(app.issuer.jwks_fetches(), 0, "no jwks_uri was ever learned");

    app.issuer.set_down(false);
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.accepted(&valid).await;
    assert_eq!(app.issuer.jwks_fetches(), 1);
    // The forgery costs one refetch (the key may have been replaced), then the cooldown holds.
    app.refused(&forged, BAD_SIGNATURE).await;
    let (statuses, _) = burst(&app, &forged, 20).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    let (statuses, _) = burst(&app, &valid, 20).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(
        app.issuer.jwks_fetches(),
        2,
        "the recovered keys are cached"
    );
}

#[tokio::test]
async fn a_key_set_slower_than_the_fetch_timeout_gives_503_in_time_and_one_fetch() {
    // The backoff counts from the end of the failed attempt, so even one shorter than the
    // timeout holds off the next request.
    let app = start(options()).await;
    app.issuer.set_jwks_delay(Duration::from_secs(5));
    let valid = app.token().sign().unwrap();

    let (statuses, elapsed) = burst(&app, &valid, 20).await;
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    // 300 ms of timeout plus a generous margin, far below the issuer's 5 s delay.
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert_eq!(app.issuer.jwks_fetches(), 1, "the burst shared one fetch");

    let start = Instant::now();
    unavailable_saying(&app, &valid, "gave no complete answer within 300ms").await;
    assert!(start.elapsed() < Duration::from_secs(2));
    let (statuses, elapsed) = burst(&app, &forged(&app), 10).await;
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");

    let fetches = app.issuer.jwks_fetches();
    assert!((1..=2).contains(&fetches), "{fetches} key set fetches");

    app.issuer.set_jwks_delay(Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.accepted(&valid).await;
    assert_eq!(app.issuer.jwks_fetches(), fetches + 1);
}

#[tokio::test]
async fn a_key_set_answering_garbage_at_start_gives_503_then_recovers() {
    let garbage = [
        "not json at all",
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        r#"{"keys": "x"}"#,
        r#"{"keys": []}"#,
        r#"{"keys": [{"kty": "oct", "kid": "rs256", "k": "c2VjcmV0"}]}"#,
        "{}",
        "[]",
        "null",
        "",
    ];
    let cases = garbage.iter().map(|body| async move {
        let app = start(options()).await;
        app.issuer.set_jwks_body(Some((*body).to_owned()));
        let valid = app.token().sign().unwrap();
        let forged = forged(&app);
        unavailable_saying(&app, &valid, "no usable keys for issuer").await;
        app.unavailable(&forged).await;
        assert_eq!(app.issuer.jwks_fetches(), 1, "{body:?}");

        app.issuer.set_jwks_body(None);
        tokio::time::sleep(Duration::from_millis(200)).await;
        app.accepted(&valid).await;
        assert_eq!(app.issuer.jwks_fetches(), 2, "{body:?}");
        app.refused(&forged, BAD_SIGNATURE).await;
        app.refused(&forged, BAD_SIGNATURE).await;
        assert_eq!(
            app.issuer.jwks_fetches(),
            3,
            "one refetch for the forgery: {body:?}"
        );
    });
    join_all(cases).await;
}

#[tokio::test]
async fn a_huge_key_set_is_refused_as_too_large_once_per_attempt() {
    let app = start(options()).await;
    let huge = json!({ "keys": [], "padding": "x".repeat(2 * 1024 * 1024) }).to_string();
    app.issuer.set_jwks_body(Some(huge));
    let valid = app.token().sign().unwrap();

    unavailable_saying(&app, &valid, "sent a body larger than 262144 bytes").await;
    assert_eq!(app.issuer.jwks_fetches(), 1);
    app.unavailable(&valid).await;
    app.unavailable(&forged(&app)).await;
    assert_eq!(app.issuer.jwks_fetches(), 1, "within the backoff");

    tokio::time::sleep(Duration::from_millis(200)).await;
    unavailable_saying(&app, &valid, "larger than").await;
    assert_eq!(
        app.issuer.jwks_fetches(),
        2,
        "one fetch for the second attempt"
    );

    app.issuer.set_jwks_body(None);
    tokio::time::sleep(Duration::from_millis(350)).await; // the backoff doubled (capped at 150 ms)
    app.accepted(&valid).await;
    assert_eq!(app.issuer.jwks_fetches(), 3);
}

#[tokio::test]
async fn metadata_answering_garbage_or_another_issuer_gives_503_never_200() {
    let documents = |issuer: &str, jwks_uri: &str| {
        vec![
            json!("a string"),
            json!([]),
            json!(null),
            json!({}),
            // Another issuer's document pointing at this issuer's real keys: the keys would
            // verify the token, so only the issuer check stands between it and a 200.
            json!({ "issuer": "http://127.0.0.1:1", "jwks_uri": jwks_uri }),
            json!({ "issuer": format!("{issuer}/other"), "jwks_uri": jwks_uri }),
            json!({ "issuer": 42, "jwks_uri": jwks_uri }),
            json!({ "issuer": issuer }),
            json!({ "issuer": issuer, "jwks_uri": "not a url" }),
            json!({ "issuer": issuer, "jwks_uri": 42 }),
            json!({ "issuer": issuer, "jwks_uri": "ftp://127.0.0.1/jwks" }),
        ]
    };
    let count = documents("x", "y").len();
    let cases = (0..count).map(|i| async move {
        let app = start(options()).await;
        let document = documents(app.issuer.issuer(), &app.issuer.jwks_uri()).remove(i);
        app.issuer.set_metadata(Some(document.clone()));
        let valid = app.token().sign().unwrap();
        let forged = forged(&app);
        for _ in 0..5 {
            app.unavailable(&valid).await;
            app.unavailable(&forged).await;
        }
        assert_eq!(app.issuer.jwks_fetches(), 0, "{document}");
        let metadata = app.issuer.metadata_fetches();
        assert!(
            (1..=4).contains(&metadata),
            "{metadata} metadata fetches for {document}"
        );
    });
    join_all(cases).await;
}

#[tokio::test]
async fn a_flapping_issuer_after_warm_up_keeps_valid_tokens_passing_and_forgeries_out() {
    let app = start(options()).await;
    let valid = app.token().sign().unwrap();
    let forged = forged(&app);
    let unknown = app
        .token()
        .key("forger")
        .header(with_kid("made-up"))
        .sign()
        .unwrap();
    app.accepted(&valid).await;
    for i in 0..20 {
        app.issuer.set_down(i % 2 == 0);
        app.accepted(&valid).await;
        app.refused(&forged, BAD_SIGNATURE).await;
        app.refused(&unknown, NO_KEY).await;
    }
    app.issuer.set_down(true);
    let (statuses, _) = burst(&app, &forged, 20).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    let (statuses, _) = burst(&app, &valid, 20).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    // Warm-up, then one refetch for the first forgery; the 10 s cooldown holds the rest.
    assert_eq!(app.issuer.jwks_fetches(), 2);
    assert_eq!(app.issuer.metadata_fetches(), 1);
}

#[tokio::test]
async fn a_key_rotated_during_an_outage_is_refused_until_the_issuer_is_back() {
    let options = options().unknown_kid_cooldown(Duration::ZERO);
    let app = start(options).await;
    let old = app.token().sign().unwrap();
    app.accepted(&old).await;

    app.issuer.set_down(true);
    app.issuer.add_key(
        TestKey::new(KeyMaterial::RsaNext, "next", Algorithm::RS256).unwrap(),
        true,
    );
    let new = app.token().key("next").sign().unwrap();
    for _ in 0..10 {
        let status = app.call(&new).await.status();
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}"
        );
    }
    let (statuses, _) = burst(&app, &new, 20).await;
    assert!(
        statuses.iter().all(|s| *s != StatusCode::OK),
        "{statuses:?}"
    );
    let fetches = app.issuer.jwks_fetches();
    assert!(
        (2..=3).contains(&fetches),
        "warm-up then one failed fetch per backoff: {fetches}"
    );
    app.accepted(&old).await;

    app.issuer.set_down(false);
    tokio::time::sleep(Duration::from_millis(350)).await;
    app.accepted(&new).await;
    app.accepted(&old).await;
    assert_eq!(app.issuer.jwks_fetches(), fetches + 1);
}

#[tokio::test]
async fn a_key_removed_from_the_set_is_refused_once_the_set_is_refetched() {
    let options = options()
        .key_cache_ttl(Duration::from_millis(100))
        .key_cache_ttl_bounds(Duration::from_millis(100), Duration::from_secs(3600));
    let app = start(options).await;
    let old = app.token().sign().unwrap();
    app.accepted(&old).await;
    app.issuer.add_key(
        TestKey::new(KeyMaterial::RsaNext, "next", Algorithm::RS256).unwrap(),
        true,
    );
    app.issuer.publish_only(&["next"]);
    let new = app.token().key("next").sign().unwrap();

    // Past the TTL the stale set may answer once while it is refreshed in the background; the
    // refetched set no longer has the old key.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut refused_after = None;
    for attempt in 0..20 {
        let status = app.call(&old).await.status();
        if status == StatusCode::UNAUTHORIZED {
            refused_after = Some(attempt);
            break;
        }
        assert_eq!(status, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused_after = refused_after.expect("the removed key kept verifying");
    assert!(
        refused_after <= 2,
        "refused only after {refused_after} calls"
    );
    app.refused(&old, NO_KEY).await;
    app.accepted(&new).await;
    let fetches = app.issuer.jwks_fetches();
    assert!(
        (2..=8).contains(&fetches),
        "{fetches} key set fetches with a 100 ms TTL"
    );
}
