//! The test issuer's opaque tokens and introspection endpoint (RFC 7662), as a resource server
//! sees them over real HTTP: what an active token's answer holds, that every other token is only
//! `{"active": false}`, client authentication as at the token endpoint, the metadata, and the
//! switches fault tests use (counter, delay, raw answer, down).
#![cfg(feature = "testing")]

use std::time::{Duration, Instant};

use mcp_auth::testing::{TestClient, TestIssuer};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{Value, json};

const RESOURCE: &str = "https://api.example.com/mcp";

/// An issuer with the client `resource-server` (secret `s3cret`) registered.
async fn issuer() -> TestIssuer {
    let issuer = TestIssuer::start().await.unwrap();
    issuer.register_client(TestClient {
        id: "resource-server".into(),
        secret: "s3cret".into(),
        scopes: vec![],
    });
    issuer
}

/// Posts `form` to the introspection endpoint, with these Basic credentials if any.
async fn send(
    issuer: &TestIssuer,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(issuer.introspection_endpoint())
        .form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    request.send().await.unwrap()
}

/// The answer about `token` to the registered client, asserting a 200 JSON answer never cached.
async fn introspect(issuer: &TestIssuer, token: &str) -> Value {
    let response = send(
        issuer,
        Some(("resource-server", "s3cret")),
        &[("token", token)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_opaque_token_is_random_and_never_looks_like_a_jwt() {
    let issuer = issuer().await;
    let one = issuer.token().opaque().unwrap();
    let two = issuer.token().opaque().unwrap();
    assert_ne!(one, two);
    assert_eq!(one.len(), 43); // 32 bytes, base64url without padding
    assert!(
        one.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
}

#[tokio::test]
async fn an_active_token_is_answered_with_all_its_claims_and_token_type() {
    let issuer = issuer().await;
    let exp = unix_now() + 600;
    let token = issuer
        .token()
        .audience(RESOURCE)
        .subject("alice")
        .scopes(["read", "write"])
        .client_id("mcp-client")
        .claim("exp", json!(exp))
        .claim("tenant", json!("acme"))
        .without("iat")
        .opaque()
        .unwrap();
    let expected = json!({
        "active": true,
        "iss": issuer.issuer(),
        "aud": RESOURCE,
        "sub": "alice",
        "scope": "read write",
        "client_id": "mcp-client",
        "exp": exp,
        "tenant": "acme",
        "token_type": "access_token",
    });
    assert_eq!(introspect(&issuer, &token).await, expected);
    // The hint is only a hint (RFC 7662 §2.1), and client_secret_post works as Basic does.
    let form = [
        ("token", token.as_str()),
        ("token_type_hint", "refresh_token"),
        ("client_id", "resource-server"),
        ("client_secret", "s3cret"),
    ];
    let response = send(&issuer, None, &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), expected);
}

#[tokio::test]
async fn the_default_claims_are_those_a_jwt_would_carry() {
    let issuer = issuer().await;
    let answer = introspect(&issuer, &issuer.token().opaque().unwrap()).await;
    assert_eq!(answer["iss"], issuer.issuer());
    assert_eq!(answer["sub"], "test-user");
    let (iat, exp) = (
        answer["iat"].as_u64().unwrap(),
        answer["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 300);
}

#[tokio::test]
async fn a_token_type_among_the_claims_is_kept() {
    let issuer = issuer().await;
    let token = issuer
        .token()
        .claim("token_type", json!("refresh_token"))
        .opaque()
        .unwrap();
    let answer = introspect(&issuer, &token).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "refresh_token");
}

#[tokio::test]
async fn unknown_revoked_expired_and_jwt_tokens_are_only_inactive() {
    let issuer = issuer().await;
    let revoked = issuer.token().opaque().unwrap();
    assert_eq!(introspect(&issuer, &revoked).await["active"], true);
    issuer.revoke(&revoked);
    let cases = [
        ("unknown", "bm90LWEtdG9rZW4".to_owned()),
        ("revoked", revoked),
        ("expired", issuer.token().expires_in(-1).opaque().unwrap()),
        (
            "expiring now",
            issuer.token().expires_in(0).opaque().unwrap(),
        ),
        ("jwt", issuer.token().audience(RESOURCE).sign().unwrap()),
    ];
    for (name, token) in cases {
        assert_eq!(
            introspect(&issuer, &token).await,
            json!({ "active": false }),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_missing_empty_or_repeated_token_is_an_invalid_request() {
    let issuer = issuer().await;
    let token = issuer.token().opaque().unwrap();
    let forms: [&[(&str, &str)]; 4] = [
        &[],
        &[("token", "")],
        &[("token_type_hint", "access_token")],
        &[("token", &token), ("token", &token)],
    ];
    for form in forms {
        let response = send(&issuer, Some(("resource-server", "s3cret")), form).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{form:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{form:?}");
    }
}

#[tokio::test]
async fn a_client_that_does_not_authenticate_is_challenged_for_basic_credentials() {
    let issuer = issuer().await;
    let token = issuer.token().opaque().unwrap();
    /// What is wrong, Basic credentials and the form without the token.
    type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, Vec<(&'a str, &'a str)>);
    let cases: [Case; 5] = [
        ("no credentials", None, vec![]),
        ("wrong secret", Some(("resource-server", "wrong")), vec![]),
        ("unknown client", Some(("stranger", "s3cret")), vec![]),
        (
            "wrong secret in the form",
            None,
            vec![("client_id", "resource-server"), ("client_secret", "wrong")],
        ),
        (
            "client_id without secret",
            None,
            vec![("client_id", "resource-server")],
        ),
    ];
    for (name, basic, mut form) in cases {
        form.push(("token", &token));
        let response = send(&issuer, basic, &form).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        let challenge = response.headers()[WWW_AUTHENTICATE].to_str().unwrap();
        assert!(challenge.starts_with("Basic realm="), "{name}: {challenge}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{name}");
        assert!(body.get("active").is_none(), "{name}");
    }
}

#[tokio::test]
async fn credentials_sent_both_ways_are_an_invalid_request() {
    let issuer = issuer().await;
    let token = issuer.token().opaque().unwrap();
    let form = [
        ("token", token.as_str()),
        ("client_id", "resource-server"),
        ("client_secret", "s3cret"),
    ];
    let response = send(&issuer, Some(("resource-server", "s3cret")), &form).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn the_metadata_advertises_introspection_and_its_client_authentication() {
    let issuer = issuer().await;
    let url = format!("{}/.well-known/oauth-authorization-server", issuer.issuer());
    let metadata: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    assert_eq!(
        metadata["introspection_endpoint"],
        format!("{}/introspect", issuer.issuer())
    );
    assert_eq!(
        metadata["introspection_endpoint"],
        issuer.introspection_endpoint()
    );
    assert_eq!(
        metadata["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
}

#[tokio::test]
async fn every_request_is_counted_refused_or_answered_and_down_means_503() {
    let issuer = issuer().await;
    let token = issuer.token().opaque().unwrap();
    assert_eq!(issuer.introspection_calls(), 0);
    introspect(&issuer, &token).await;
    send(&issuer, None, &[("token", &token)]).await;
    send(&issuer, Some(("resource-server", "s3cret")), &[]).await;
    assert_eq!(issuer.introspection_calls(), 3);
    issuer.set_down(true);
    let response = send(
        &issuer,
        Some(("resource-server", "s3cret")),
        &[("token", &token)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(issuer.introspection_calls(), 4);
    issuer.set_down(false);
    assert_eq!(introspect(&issuer, &token).await["active"], true);
    assert_eq!(issuer.introspection_calls(), 5);
    // Other endpoints are not counted here.
    reqwest::get(issuer.jwks_uri()).await.unwrap();
    assert_eq!(issuer.introspection_calls(), 5);
}

#[tokio::test]
async fn a_delayed_answer_outlasts_a_client_timeout_then_arrives() {
    let issuer = issuer().await;
    let token = issuer.token().opaque().unwrap();
    issuer.set_introspection_delay(Duration::from_millis(400));
    let impatient = reqwest::Client::new()
        .post(issuer.introspection_endpoint())
        .basic_auth("resource-server", Some("s3cret"))
        .form(&[("token", &token)])
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(impatient.unwrap_err().is_timeout());
    let start = Instant::now();
    assert_eq!(introspect(&issuer, &token).await["active"], true);
    assert!(start.elapsed() >= Duration::from_millis(400));
    issuer.set_introspection_delay(Duration::ZERO);
    let start = Instant::now();
    introspect(&issuer, &token).await;
    assert!(start.elapsed() < Duration::from_millis(400));
}

#[tokio::test]
async fn a_raw_answer_replaces_every_real_one_until_cleared() {
    let issuer = issuer().await;
    let lie = r#"{"active":true,"sub":"mallory","scope":"admin"}"#;
    issuer.set_introspection_response(Some(("application/json".into(), lie.into())));
    // Served whatever the request: unknown token, no client authentication.
    let response = send(&issuer, None, &[("token", "anything")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(response.text().await.unwrap(), lie);

    let huge = "x".repeat(1 << 20);
    issuer.set_introspection_response(Some(("text/html".into(), huge.clone())));
    let response = send(&issuer, None, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/html");
    assert_eq!(response.text().await.unwrap(), huge);

    issuer.set_introspection_response(Some((String::new(), "{".into())));
    let response = send(&issuer, None, &[]).await;
    assert!(response.headers().get(CONTENT_TYPE).is_none());
    assert_eq!(response.text().await.unwrap(), "{");

    issuer.set_introspection_response(None);
    assert_eq!(
        introspect(&issuer, "anything").await,
        json!({ "active": false })
    );
}

/// Seconds since the Unix epoch, as the issuer reads its clock.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
