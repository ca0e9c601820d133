//! The bearer layer over real HTTP on 127.0.0.1, in front of a plain axum route: every refusal
//! with its exact status, parsed challenge and body, and what an accepted request carries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::routing::any;
use axum::{Extension, Json, Router};
use common::{ISSUER, OTHER_ISSUER, TestServer, fixed_tokens, mcp_auth, parse_challenge, serve};
use mcp_auth::bearer::BearerAuthBuilder;
use mcp_auth::scope::PrefixScopes;
use mcp_auth::verify::VerifyFuture;
use mcp_auth::{AuthInfo, TokenVerifier, VerifyError};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, ORIGIN, WWW_AUTHENTICATE};
use serde_json::{Value, json};

struct App {
    server: TestServer,
    inner_calls: Arc<AtomicUsize>,
}

impl App {
    fn resource(&self) -> String {
        self.server.url("/mcp")
    }

    fn metadata_url(&self) -> String {
        self.server.url("/.well-known/oauth-protected-resource/mcp")
    }

    async fn get(&self, authorization: &[&str]) -> reqwest::Response {
        let mut request = reqwest::Client::new().post(self.resource());
        for value in authorization {
            request = request.header(AUTHORIZATION, *value);
        }
        request.send().await.unwrap()
    }
}

/// A protected `/mcp` route that echoes the `AuthInfo` it was given, requiring `read write`
/// unless `configure` says otherwise, plus the metadata router.
async fn app(configure: impl FnOnce(BearerAuthBuilder) -> BearerAuthBuilder) -> App {
    let inner_calls = Arc::new(AtomicUsize::new(0));
    let calls = inner_calls.clone();
    let server = serve(move |addr| {
        let resource = format!("http://{addr}/mcp");
        let auth = mcp_auth(&resource);
        let bearer = configure(
            auth.bearer()
                .verifier(fixed_tokens(&resource))
                .required_scopes(["read", "write"]),
        )
        .build()
        .unwrap();
        Router::new()
            .route(
                "/mcp",
                any(
                    move |Extension(info): Extension<Arc<AuthInfo>>| async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        Json(json!({
                            "token": info.token,
                            "issuer": info.issuer,
                            "subject": info.subject,
                            "client_id": info.client_id,
                            "scopes": info.scopes,
                            "audience": info.audience,
                            "claims": info.claims,
                            "has_expiry": info.expires_at.is_some(),
                        }))
                    },
                ),
            )
            .layer(bearer)
            .merge(auth.metadata_router())
    })
    .await;
    App {
        server,
        inner_calls,
    }
}

async fn default_app() -> App {
    app(|bearer| bearer).await
}

/// Asserts a refusal: status, the parsed challenge (`None`: no header at all), the JSON body's
/// `error`, and that CORS clients may read the challenge.
async fn assert_refused(
    response: reqwest::Response,
    status: StatusCode,
    challenge: Option<&[(&str, &str)]>,
    body_error: &str,
) -> Value {
    assert_eq!(response.status(), status);
    let headers = response.headers().clone();
    assert_eq!(headers["access-control-expose-headers"], "WWW-Authenticate");
    assert_eq!(headers["content-type"], "application/json");
    match challenge {
        None => assert!(headers.get(WWW_AUTHENTICATE).is_none()),
        Some(expected) => {
            let values: Vec<_> = headers.get_all(WWW_AUTHENTICATE).iter().collect();
            assert_eq!(values.len(), 1, "one challenge expected");
            let parsed = parse_challenge(values[0].to_str().unwrap());
            assert_eq!(parsed.scheme, "Bearer");
            let expected: std::collections::BTreeMap<String, String> = expected
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            assert_eq!(parsed.params, expected);
        }
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    assert_eq!(body["error"], body_error);
    assert!(body["error_description"].is_string());
    if let Some(description) =
        challenge.and_then(|c| c.iter().find(|(k, _)| *k == "error_description"))
    {
        assert_eq!(
            body["error_description"], description.1,
            "body and challenge disagree"
        );
    }
    body
}

#[tokio::test]
async fn a_good_token_reaches_the_handler_with_its_auth_info() {
    let app = default_app().await;
    let response = app.get(&["Bearer alice"]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen: Value = response.json().await.unwrap();
    assert_eq!(
        seen,
        json!({
            "token": "alice",
            "issuer": ISSUER,
            "subject": "alice",
            "client_id": "alice-client",
            "scopes": ["read", "write"],
            "audience": [app.resource()],
            "claims": { "sub": "alice", "custom": 7 },
            "has_expiry": true,
        })
    );
    assert_eq!(app.inner_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn every_trusted_issuer_and_an_audience_array_are_accepted() {
    let app = default_app().await;
    // `no-expiry`: a verifier may return tokens without expiry (documented on TokenVerifier).
    for token in [
        "second-issuer",
        "many-audiences",
        "expired-in-leeway",
        "no-expiry",
    ] {
        let response = app.get(&[&format!("Bearer {token}")]).await;
        assert_eq!(response.status(), StatusCode::OK, "{token}");
    }
    let seen: Value = app
        .get(&["Bearer second-issuer"])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["issuer"], OTHER_ISSUER);
}

#[tokio::test]
async fn no_credentials_get_401_with_a_challenge_without_error() {
    let app = default_app().await;
    let metadata = app.metadata_url();
    let expected = [
        ("resource_metadata", metadata.as_str()),
        ("scope", "read write"),
    ];
    assert_refused(
        app.get(&[]).await,
        StatusCode::UNAUTHORIZED,
        Some(&expected),
        "unauthorized",
    )
    .await;
    for other_scheme in ["Basic YWxpY2U6cHc=", "DPoP alice", "Token alice"] {
        let response = app.get(&[other_scheme]).await;
        assert_refused(
            response,
            StatusCode::UNAUTHORIZED,
            Some(&expected),
            "unauthorized",
        )
        .await;
    }
    assert_eq!(app.inner_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_resource_metadata_url_of_the_challenge_serves_the_resource_document() {
    let app = default_app().await;
    let response = app.get(&[]).await;
    let challenge = parse_challenge(response.headers()[WWW_AUTHENTICATE].to_str().unwrap());
    let document: Value = reqwest::get(challenge.param("resource_metadata").unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["resource"], app.resource());
    assert_eq!(
        document["authorization_servers"],
        json!([ISSUER, OTHER_ISSUER])
    );
}

#[tokio::test]
async fn malformed_credentials_get_400_invalid_request() {
    let app = default_app().await;
    let metadata = app.metadata_url();
    let cases: [(&[&str], &str); 4] = [
        (
            &["Bearer"],
            "the Bearer credentials are not a single RFC 6750 b64token",
        ),
        (
            &["Bearer two tokens"],
            "the Bearer credentials are not a single RFC 6750 b64token",
        ),
        (
            &["Bearer bad\"token"],
            "the Bearer credentials are not a single RFC 6750 b64token",
        ),
        (
            &["Bearer alice", "Bearer bob"],
            "more than one Authorization header",
        ),
    ];
    for (authorization, description) in cases {
        let expected = [
            ("error", "invalid_request"),
            ("error_description", description),
            ("resource_metadata", metadata.as_str()),
            ("scope", "read write"),
        ];
        let response = app.get(authorization).await;
        assert_refused(
            response,
            StatusCode::BAD_REQUEST,
            Some(&expected),
            "invalid_request",
        )
        .await;
    }
    assert_eq!(app.inner_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_token_in_the_query_string_is_refused_with_400() {
    let app = default_app().await;
    let client = reqwest::Client::new();
    for request in [
        client.post(format!("{}?access_token=alice", app.resource())),
        client
            .post(format!("{}?access_token=alice", app.resource()))
            .header(AUTHORIZATION, "Bearer alice"),
    ] {
        let response = request.send().await.unwrap();
        let metadata = app.metadata_url();
        let expected = [
            ("error", "invalid_request"),
            (
                "error_description",
                "access tokens are not accepted in the query string; send them in the Authorization header",
            ),
            ("resource_metadata", metadata.as_str()),
            ("scope", "read write"),
        ];
        assert_refused(
            response,
            StatusCode::BAD_REQUEST,
            Some(&expected),
            "invalid_request",
        )
        .await;
    }
    assert_eq!(app.inner_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn tokens_the_layer_must_refuse_get_401_invalid_token() {
    let app = default_app().await;
    let metadata = app.metadata_url();
    let expected = [
        ("error", "invalid_token"),
        ("error_description", "the access token is invalid"),
        ("resource_metadata", metadata.as_str()),
        ("scope", "read write"),
    ];
    for token in [
        "nonsense",
        "untrusted",
        "other-audience",
        "expired",
        "leaky",
    ] {
        let response = app.get(&[&format!("Bearer {token}")]).await;
        assert_refused(
            response,
            StatusCode::UNAUTHORIZED,
            Some(&expected),
            "invalid_token",
        )
        .await;
    }
    assert_eq!(app.inner_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn error_details_name_the_cause_when_turned_on() {
    let app = app(|bearer| bearer.show_error_details(true)).await;
    let cases = [
        ("nonsense", "unknown token"),
        (
            "untrusted",
            "the token's issuer is not trusted by this resource",
        ),
        (
            "other-audience",
            "the token's audience does not include this resource",
        ),
        ("expired", "the token has expired"),
    ];
    for (token, description) in cases {
        let response = app.get(&[&format!("Bearer {token}")]).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = parse_challenge(response.headers()[WWW_AUTHENTICATE].to_str().unwrap());
        assert_eq!(
            challenge.param("error_description"),
            Some(description),
            "{token}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error_description"], description);
    }
}

#[tokio::test]
async fn a_hostile_verifier_message_yields_a_valid_challenge_without_the_token() {
    let app = app(|bearer| bearer.show_error_details(true)).await;
    let response = app.get(&["Bearer leaky"]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = parse_challenge(response.headers()[WWW_AUTHENTICATE].to_str().unwrap());
    assert_eq!(
        challenge.param("error_description"),
        Some("token [token] is 'bad'??X-Injected: yes")
    );
    assert!(response.headers().get("x-injected").is_none());
}

#[tokio::test]
async fn the_leeway_is_configurable() {
    let app = app(|bearer| bearer.leeway(Duration::from_secs(10))).await;
    let metadata = app.metadata_url();
    let expected = [
        ("error", "invalid_token"),
        ("error_description", "the access token is invalid"),
        ("resource_metadata", metadata.as_str()),
        ("scope", "read write"),
    ];
    let response = app.get(&["Bearer expired-in-leeway"]).await;
    assert_refused(
        response,
        StatusCode::UNAUTHORIZED,
        Some(&expected),
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn missing_scopes_get_403_insufficient_scope_naming_the_required_scopes() {
    let app = default_app().await;
    let metadata = app.metadata_url();
    let expected = [
        ("error", "insufficient_scope"),
        (
            "error_description",
            "the access token lacks a required scope",
        ),
        ("resource_metadata", metadata.as_str()),
        ("scope", "read write"),
    ];
    for token in ["reader", "files-owner"] {
        let response = app.get(&[&format!("Bearer {token}")]).await;
        assert_refused(
            response,
            StatusCode::FORBIDDEN,
            Some(&expected),
            "insufficient_scope",
        )
        .await;
    }
    assert_eq!(app.inner_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_scope_hierarchy_lets_a_broader_scope_satisfy_a_narrower_one() {
    let exact = app(|bearer| bearer.required_scopes(["files:read"])).await;
    assert_eq!(
        exact.get(&["Bearer files-owner"]).await.status(),
        StatusCode::FORBIDDEN
    );

    let hierarchy = app(|bearer| {
        bearer
            .required_scopes(["files:read"])
            .scope_relation(PrefixScopes::new(':'))
    })
    .await;
    assert_eq!(
        hierarchy.get(&["Bearer files-owner"]).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        hierarchy.get(&["Bearer reader"]).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn without_required_scopes_any_scope_passes_and_challenges_omit_scope() {
    let app = app(|bearer| bearer.required_scopes(Vec::<String>::new())).await;
    assert_eq!(app.get(&["Bearer reader"]).await.status(), StatusCode::OK);
    let metadata = app.metadata_url();
    let expected = [("resource_metadata", metadata.as_str())];
    assert_refused(
        app.get(&[]).await,
        StatusCode::UNAUTHORIZED,
        Some(&expected),
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn a_configured_audience_replaces_the_resource_identifier() {
    let app = app(|bearer| bearer.audience("https://other.example.com/mcp")).await;
    assert_eq!(
        app.get(&["Bearer other-audience"]).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&["Bearer alice"]).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_unavailable_verifier_gets_503_and_never_passes() {
    let app = default_app().await;
    let response = app.get(&["Bearer unavailable"]).await;
    assert_refused(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        None,
        "temporarily_unavailable",
    )
    .await;
    assert_eq!(app.inner_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_foreign_origin_gets_403_before_any_token_check() {
    let app = app(|bearer| bearer.allowed_origins(["http://localhost:6274"])).await;
    let client = reqwest::Client::new();
    let from = |origin: &str| {
        client
            .post(app.resource())
            .header(AUTHORIZATION, "Bearer alice")
            .header(ORIGIN, origin)
    };
    let refused = from("http://evil.example").send().await.unwrap();
    assert_refused(refused, StatusCode::FORBIDDEN, None, "forbidden_origin").await;
    // Even without a token the origin is judged first.
    let anonymous = client
        .post(app.resource())
        .header(ORIGIN, "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_refused(anonymous, StatusCode::FORBIDDEN, None, "forbidden_origin").await;

    assert_eq!(
        from("http://localhost:6274").send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(app.get(&["Bearer alice"]).await.status(), StatusCode::OK);
    assert_eq!(app.inner_calls.load(Ordering::SeqCst), 2);
}

/// A stateful verifier through the trait rather than a closure.
struct CountingVerifier {
    calls: AtomicUsize,
}

impl TokenVerifier for CountingVerifier {
    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if token != "counted" {
                return Err(VerifyError::invalid_token("not the counted token"));
            }
            Ok(AuthInfo {
                issuer: ISSUER.to_owned(),
                audience: vec!["urn:counted".to_owned()],
                ..AuthInfo::default()
            })
        })
    }
}

#[tokio::test]
async fn a_trait_verifier_is_asked_once_per_request() {
    let verifier = Arc::new(CountingVerifier {
        calls: AtomicUsize::new(0),
    });
    struct Shared(Arc<CountingVerifier>);
    impl TokenVerifier for Shared {
        fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
            self.0.verify(token)
        }
    }
    let shared = Shared(verifier.clone());
    let app = app(move |bearer| {
        bearer
            .verifier(shared)
            .audience("urn:counted")
            .required_scopes(Vec::<String>::new())
    })
    .await;
    assert_eq!(app.get(&["Bearer counted"]).await.status(), StatusCode::OK);
    assert_eq!(
        app.get(&["Bearer other"]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get(&[]).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        verifier.calls.load(Ordering::SeqCst),
        2,
        "no token, no verifier call"
    );
}
