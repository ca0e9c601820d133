//! The bearer layer in process (`oneshot`, no socket), in custom-verifier mode: every refusal
//! with its exact status, parsed challenge and body, what an accepted request carries, the
//! `Auth` / `MaybeAuth` extractors, the inner service of `BearerAuth`, and
//! `BearerAuthLayer::mount`, alone and with two resources.

use std::convert::Infallible;
use std::future::Ready;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::common::{
    ISSUER, OTHER_ISSUER, challenge_params, fixed_tokens, logs_of, mcp_auth, one_challenge,
};
use axum::body::Body;
use axum::extract::OriginalUri;
use axum::http::header::{
    ACCESS_CONTROL_EXPOSE_HEADERS, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, ORIGIN,
    WWW_AUTHENTICATE,
};
use axum::http::{Request, Response, StatusCode};
use axum::routing::any;
use axum::{Json, Router};
use http_body_util::BodyExt;
use mcp_auth::bearer::{BearerAuthBuilder, BearerAuthLayer};
use mcp_auth::metadata::AuthorizationServerMetadata;
use mcp_auth::scope::PrefixScopes;
use mcp_auth::verify::VerifyFuture;
use mcp_auth::{
    Auth, AuthInfo, AuthServerConfig, AuthServerType, MaybeAuth, McpAuth, MissingAuthInfo,
    ProtectedResource, TokenVerifier, VerifyError,
};
use serde_json::{Value, json};
use tower::{Service, ServiceBuilder, ServiceExt};

/// The resource identifier: nothing listens there, nothing needs to.
const RESOURCE: &str = "http://127.0.0.1:1/mcp";
/// Its metadata URL, as every challenge names it.
const METADATA: &str = "http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp";

/// [`mcp_auth`] for [`RESOURCE`] and a bearer layer for it with the [`fixed_tokens`] verifier,
/// requiring `read write` unless `configure` says otherwise.
fn configured(
    configure: impl FnOnce(BearerAuthBuilder) -> BearerAuthBuilder,
) -> (McpAuth, BearerAuthLayer) {
    let auth = mcp_auth(RESOURCE);
    let bearer = configure(
        auth.bearer()
            .verifier(fixed_tokens(RESOURCE))
            .required_scopes(["read", "write"]),
    )
    .build()
    .unwrap();
    (auth, bearer)
}

struct App {
    router: Router,
    inner_calls: Arc<AtomicUsize>,
}

impl App {
    /// `POST /mcp` with these `Authorization` headers.
    async fn post(&self, authorization: &[&str]) -> Response<Body> {
        let mut request = Request::post("/mcp");
        for value in authorization {
            request = request.header(AUTHORIZATION, *value);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn send(&self, request: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(request).await.unwrap()
    }

    fn inner_calls(&self) -> usize {
        self.inner_calls.load(Ordering::SeqCst)
    }
}

/// A protected `/mcp` route that echoes the `AuthInfo` it was given, plus the metadata router.
fn app(configure: impl FnOnce(BearerAuthBuilder) -> BearerAuthBuilder) -> App {
    let (auth, bearer) = configured(configure);
    let inner_calls = Arc::new(AtomicUsize::new(0));
    let calls = inner_calls.clone();
    let router = Router::new()
        .route(
            "/mcp",
            any(move |Auth(info): Auth| async move {
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
            }),
        )
        .layer(bearer)
        .merge(auth.metadata_router());
    App {
        router,
        inner_calls,
    }
}

fn default_app() -> App {
    app(|bearer| bearer)
}

async fn body_bytes<B>(response: Response<B>) -> bytes::Bytes
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    response.into_body().collect().await.unwrap().to_bytes()
}

async fn json_body<B>(response: Response<B>) -> Value
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    serde_json::from_slice(&body_bytes(response).await).unwrap()
}

async fn text_body<B>(response: Response<B>) -> String
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    String::from_utf8(body_bytes(response).await.to_vec()).unwrap()
}

/// Asserts a refusal: status, the parsed challenge (`None`: no header at all), the JSON body's
/// `error`, that CORS clients may read the challenge, and that nobody caches it.
async fn assert_refused(
    response: Response<Body>,
    status: StatusCode,
    challenge: Option<&[(&str, &str)]>,
    body_error: &str,
) -> Value {
    assert_eq!(response.status(), status);
    let headers = response.headers();
    assert_eq!(headers[ACCESS_CONTROL_EXPOSE_HEADERS], "WWW-Authenticate");
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    assert_eq!(headers[CACHE_CONTROL], "no-store");
    match challenge {
        None => assert!(headers.get(WWW_AUTHENTICATE).is_none()),
        Some(expected) => {
            let parsed = one_challenge(headers);
            assert_eq!(parsed.scheme, "Bearer");
            assert_eq!(parsed.params, challenge_params(expected));
        }
    }
    let body = json_body(response).await;
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

// ---- What tests/bearer_http.rs used to check over HTTP ----

#[tokio::test]
async fn a_good_token_reaches_the_handler_with_its_auth_info() {
    let app = default_app();
    let response = app.post(&["Bearer alice"]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        json_body(response).await,
        json!({
            "token": "alice",
            "issuer": ISSUER,
            "subject": "alice",
            "client_id": "alice-client",
            "scopes": ["read", "write"],
            "audience": [RESOURCE],
            "claims": { "sub": "alice", "custom": 7 },
            "has_expiry": true,
        })
    );
    assert_eq!(app.inner_calls(), 1);
}

#[tokio::test]
async fn every_trusted_issuer_and_an_audience_array_are_accepted() {
    let app = default_app();
    // `no-expiry`: a verifier may return tokens without expiry (documented on TokenVerifier).
    for token in [
        "second-issuer",
        "many-audiences",
        "expired-in-leeway",
        "no-expiry",
    ] {
        let response = app.post(&[&format!("Bearer {token}")]).await;
        assert_eq!(response.status(), StatusCode::OK, "{token}");
    }
    let seen = json_body(app.post(&["Bearer second-issuer"]).await).await;
    assert_eq!(seen["issuer"], OTHER_ISSUER);
    assert_eq!(app.inner_calls(), 5);
}

#[tokio::test]
async fn no_credentials_get_401_with_a_challenge_without_error() {
    let app = default_app();
    let expected = [("resource_metadata", METADATA), ("scope", "read write")];
    assert_refused(
        app.post(&[]).await,
        StatusCode::UNAUTHORIZED,
        Some(&expected),
        "unauthorized",
    )
    .await;
    for other_scheme in ["Basic YWxpY2U6cHc=", "DPoP alice", "Token alice"] {
        assert_refused(
            app.post(&[other_scheme]).await,
            StatusCode::UNAUTHORIZED,
            Some(&expected),
            "unauthorized",
        )
        .await;
    }
    assert_eq!(app.inner_calls(), 0);
}

#[tokio::test]
async fn malformed_credentials_get_400_invalid_request() {
    let app = default_app();
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
            ("resource_metadata", METADATA),
            ("scope", "read write"),
        ];
        assert_refused(
            app.post(authorization).await,
            StatusCode::BAD_REQUEST,
            Some(&expected),
            "invalid_request",
        )
        .await;
    }
    assert_eq!(app.inner_calls(), 0);
}

#[tokio::test]
async fn a_token_only_in_the_query_string_is_never_read() {
    // As if absent: 401 with the discovery challenge, so an MCP client can start its flow.
    let app = default_app();
    let response = app
        .send(
            Request::post("/mcp?access_token=alice")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let expected = [("resource_metadata", METADATA), ("scope", "read write")];
    assert_refused(
        response,
        StatusCode::UNAUTHORIZED,
        Some(&expected),
        "unauthorized",
    )
    .await;
    assert_eq!(app.inner_calls(), 0);
}

#[tokio::test]
async fn a_token_in_the_header_and_the_query_string_is_refused_with_400() {
    let app = default_app();
    let expected = [
        ("error", "invalid_request"),
        (
            "error_description",
            "the token is sent in the query string too; send it in the Authorization header only",
        ),
        ("resource_metadata", METADATA),
        ("scope", "read write"),
    ];
    let request = Request::post("/mcp?access_token=alice").header(AUTHORIZATION, "Bearer alice");
    let response = app.send(request.body(Body::empty()).unwrap()).await;
    assert_refused(
        response,
        StatusCode::BAD_REQUEST,
        Some(&expected),
        "invalid_request",
    )
    .await;
    assert_eq!(app.inner_calls(), 0);
}

#[tokio::test]
async fn tokens_the_layer_must_refuse_get_401_invalid_token() {
    let app = default_app();
    let expected = [
        ("error", "invalid_token"),
        ("error_description", "the access token is invalid"),
        ("resource_metadata", METADATA),
        ("scope", "read write"),
    ];
    for token in [
        "nonsense",
        "untrusted",
        "other-audience",
        "expired",
        "leaky",
    ] {
        assert_refused(
            app.post(&[&format!("Bearer {token}")]).await,
            StatusCode::UNAUTHORIZED,
            Some(&expected),
            "invalid_token",
        )
        .await;
    }
    assert_eq!(app.inner_calls(), 0);
}

#[tokio::test]
async fn error_details_name_the_cause_when_turned_on() {
    let app = app(|bearer| bearer.show_error_details(true));
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
        let expected = [
            ("error", "invalid_token"),
            ("error_description", description),
            ("resource_metadata", METADATA),
            ("scope", "read write"),
        ];
        assert_refused(
            app.post(&[&format!("Bearer {token}")]).await,
            StatusCode::UNAUTHORIZED,
            Some(&expected),
            "invalid_token",
        )
        .await;
    }
    assert_eq!(app.inner_calls(), 0);
}

#[tokio::test]
async fn a_hostile_verifier_message_yields_a_valid_challenge_without_the_token() {
    let app = app(|bearer| bearer.show_error_details(true));
    let response = app.post(&["Bearer leaky"]).await;
    assert!(response.headers().get("x-injected").is_none());
    let expected = [
        ("error", "invalid_token"),
        (
            "error_description",
            "token [token] is 'bad'??X-Injected: yes",
        ),
        ("resource_metadata", METADATA),
        ("scope", "read write"),
    ];
    assert_refused(
        response,
        StatusCode::UNAUTHORIZED,
        Some(&expected),
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn the_leeway_is_configurable() {
    let app = app(|bearer| bearer.leeway(Duration::from_secs(10)));
    let expected = [
        ("error", "invalid_token"),
        ("error_description", "the access token is invalid"),
        ("resource_metadata", METADATA),
        ("scope", "read write"),
    ];
    assert_refused(
        app.post(&["Bearer expired-in-leeway"]).await,
        StatusCode::UNAUTHORIZED,
        Some(&expected),
        "invalid_token",
    )
    .await;
    assert_eq!(app.inner_calls(), 0);
}

#[tokio::test]
async fn missing_scopes_get_403_insufficient_scope_naming_the_required_scopes() {
    let app = default_app();
    let expected = [
        ("error", "insufficient_scope"),
        (
            "error_description",
            "the access token lacks a required scope",
        ),
        ("resource_metadata", METADATA),
        ("scope", "read write"),
    ];
    for token in ["reader", "files-owner"] {
        assert_refused(
            app.post(&[&format!("Bearer {token}")]).await,
            StatusCode::FORBIDDEN,
            Some(&expected),
            "insufficient_scope",
        )
        .await;
    }
    assert_eq!(app.inner_calls(), 0);
}

#[tokio::test]
async fn a_scope_hierarchy_lets_a_broader_scope_satisfy_a_narrower_one() {
    let exact = app(|bearer| bearer.required_scopes(["files:read"]));
    assert_eq!(
        exact.post(&["Bearer files-owner"]).await.status(),
        StatusCode::FORBIDDEN
    );

    let hierarchy = app(|bearer| {
        bearer
            .required_scopes(["files:read"])
            .scope_relation(PrefixScopes::new(':'))
    });
    assert_eq!(
        hierarchy.post(&["Bearer files-owner"]).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        hierarchy.post(&["Bearer reader"]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(exact.inner_calls(), 0);
    assert_eq!(hierarchy.inner_calls(), 1);
}

#[tokio::test]
async fn without_required_scopes_any_scope_passes_and_challenges_omit_scope() {
    let app = app(|bearer| bearer.required_scopes(Vec::<String>::new()));
    assert_eq!(app.post(&["Bearer reader"]).await.status(), StatusCode::OK);
    assert_refused(
        app.post(&[]).await,
        StatusCode::UNAUTHORIZED,
        Some(&[("resource_metadata", METADATA)]),
        "unauthorized",
    )
    .await;
    assert_eq!(app.inner_calls(), 1);
}

#[tokio::test]
async fn a_configured_audience_replaces_the_resource_identifier() {
    let app = app(|bearer| bearer.audience("https://other.example.com/mcp"));
    assert_eq!(
        app.post(&["Bearer other-audience"]).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.post(&["Bearer alice"]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.inner_calls(), 1);
}

#[tokio::test]
async fn an_unavailable_verifier_gets_503_and_never_passes() {
    let app = default_app();
    assert_refused(
        app.post(&["Bearer unavailable"]).await,
        StatusCode::SERVICE_UNAVAILABLE,
        None,
        "temporarily_unavailable",
    )
    .await;
    assert_eq!(app.inner_calls(), 0);
}

#[tokio::test]
async fn a_verifier_that_hangs_gets_503_after_its_timeout() {
    let hanging = |_: String| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Err(VerifyError::invalid_token("too late"))
    };
    let app = app(|bearer| {
        bearer
            .shared_verifier(Arc::new(hanging))
            .verifier_timeout(Duration::from_millis(50))
            .show_error_details(true)
    });
    let started = std::time::Instant::now();
    let body = assert_refused(
        app.post(&["Bearer alice"]).await,
        StatusCode::SERVICE_UNAVAILABLE,
        None,
        "temporarily_unavailable",
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        body["error_description"],
        "the verifier gave no answer within 50ms"
    );
    assert_eq!(app.inner_calls(), 0);
}

#[tokio::test]
async fn a_foreign_origin_gets_403_before_any_token_check() {
    let app = app(|bearer| bearer.allowed_origins(["http://localhost:6274"]));
    let from = |origin: &str, authorization: Option<&str>| {
        let mut request = Request::post("/mcp").header(ORIGIN, origin);
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        request.body(Body::empty()).unwrap()
    };
    let refused = app
        .send(from("http://evil.example", Some("Bearer alice")))
        .await;
    assert_refused(refused, StatusCode::FORBIDDEN, None, "forbidden_origin").await;
    // Even without a token the origin is judged first.
    let anonymous = app.send(from("http://evil.example", None)).await;
    assert_refused(anonymous, StatusCode::FORBIDDEN, None, "forbidden_origin").await;

    assert_eq!(
        app.send(from("http://localhost:6274", Some("Bearer alice")))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(app.post(&["Bearer alice"]).await.status(), StatusCode::OK);
    assert_eq!(app.inner_calls(), 2);
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
            Ok(AuthInfo::new(ISSUER, ["urn:counted"]))
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
    });
    assert_eq!(app.post(&["Bearer counted"]).await.status(), StatusCode::OK);
    assert_eq!(
        app.post(&["Bearer other"]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.post(&[]).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        verifier.calls.load(Ordering::SeqCst),
        2,
        "no token, no verifier call"
    );
    assert_eq!(app.inner_calls(), 1);
}

// ---- The extractors ----

#[tokio::test]
async fn auth_without_a_bearer_layer_answers_500_naming_the_fix() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let app: Router = Router::new().route(
        "/mcp",
        any(move |Auth(info): Auth| async move {
            seen.fetch_add(1, Ordering::SeqCst);
            info.issuer.clone()
        }),
    );
    // A token changes nothing: no layer looked at it, so there is no identity to hand out.
    for authorization in [None, Some("Bearer alice")] {
        let mut request = Request::post("/mcp");
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
        let body = text_body(response).await;
        assert!(
            body.contains("put the mcp-auth bearer layer in front"),
            "{body}"
        );
        assert_eq!(body, MissingAuthInfo.to_string());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn maybe_auth_is_none_without_a_layer_and_some_behind_one() {
    let greet = any(|MaybeAuth(info): MaybeAuth| async move {
        match info {
            Some(info) => format!("hello {}", info.subject.as_deref().unwrap_or("?")),
            None => "hello stranger".to_owned(),
        }
    });
    let call = |router: Router, authorization: Option<&'static str>| async move {
        let mut request = Request::post("/mcp");
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        router
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    };

    let open: Router = Router::new().route("/mcp", greet.clone());
    for authorization in [None, Some("Bearer alice")] {
        let response = call(open.clone(), authorization).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(text_body(response).await, "hello stranger");
    }

    let (_, bearer) = configured(|bearer| bearer);
    let guarded: Router = Router::new().route("/mcp", greet).layer(bearer);
    let response = call(guarded.clone(), Some("Bearer alice")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text_body(response).await, "hello alice");
    // MaybeAuth does not make the layer optional: without a token it still refuses.
    let response = call(guarded, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        one_challenge(response.headers()).params,
        challenge_params(&[("resource_metadata", METADATA), ("scope", "read write")])
    );
}

// ---- BearerAuth and BearerAuthLayer ----

/// An inner service whose state is visible: it answers `"{greeting} {subject}"`.
#[derive(Clone, Debug)]
struct Greeter {
    greeting: String,
}

/// Generic over the request body, as axum routers and rmcp's service are: the layer hands its
/// inner service a `RequestBody`.
impl<B> Service<Request<B>> for Greeter {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let subject = request
            .extensions()
            .get::<Arc<AuthInfo>>()
            .and_then(|info| info.subject.clone())
            .unwrap_or_default();
        std::future::ready(Ok(Response::new(Body::from(format!(
            "{} {subject}",
            self.greeting
        )))))
    }
}

#[tokio::test]
async fn bearer_auth_hands_out_its_inner_service() {
    let (_, bearer) = configured(|bearer| bearer);
    let mut service = ServiceBuilder::new().layer(bearer).service(Greeter {
        greeting: "hello".to_owned(),
    });
    assert_eq!(service.get_ref().greeting, "hello");

    service.get_mut().greeting = "bonjour".to_owned();
    assert_eq!(service.get_ref().greeting, "bonjour");
    // The change is the service's own: accepted requests now reach the changed inner service.
    let request = Request::post("/mcp")
        .header(AUTHORIZATION, "Bearer alice")
        .body(Body::empty())
        .unwrap();
    let response = ServiceExt::<Request<Body>>::ready(&mut service)
        .await
        .unwrap()
        .call(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text_body(response).await, "bonjour alice");

    let inner: Greeter = service.into_inner();
    assert_eq!(inner.greeting, "bonjour");
}

#[tokio::test]
async fn mount_serves_the_resource_path_and_below_and_leaves_other_paths_alone() {
    let (auth, bearer) = configured(|bearer| bearer.required_scopes(["read"]));
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let service = any(
        move |Auth(info): Auth, OriginalUri(original): OriginalUri, nested: axum::http::Uri| async move {
            seen.fetch_add(1, Ordering::SeqCst);
            format!(
                "{} at {}, seen as {}",
                info.subject.as_deref().unwrap_or("?"),
                original.path(),
                nested.path()
            )
        },
    );
    let app: Router = bearer.mount(service).merge(auth.metadata_router());
    let send = |path: &str, authorization: Option<&str>| {
        let mut request = Request::post(path);
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        app.clone().oneshot(request.body(Body::empty()).unwrap())
    };

    // Nested: the service sees the path below the resource's.
    for (path, nested) in [("/mcp", "/"), ("/mcp/x", "/x")] {
        let response = send(path, Some("Bearer alice")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            text_body(response).await,
            format!("alice at {path}, seen as {nested}")
        );

        let refused = send(path, None).await.unwrap();
        let expected = [("resource_metadata", METADATA), ("scope", "read")];
        assert_refused(
            refused,
            StatusCode::UNAUTHORIZED,
            Some(&expected),
            "unauthorized",
        )
        .await;
        let refused = send(path, Some("Bearer nonsense")).await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            one_challenge(refused.headers()).param("error"),
            Some("invalid_token")
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    for path in ["/other", "/mcpx", "/", "/other/mcp"] {
        for authorization in [None, Some("Bearer alice")] {
            let response = send(path, authorization).await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::NOT_FOUND,
                "{path} {authorization:?}"
            );
            assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // The metadata document, merged beside, needs no token.
    let metadata = Request::get("/.well-known/oauth-protected-resource/mcp")
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(metadata).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_body(response).await["resource"], RESOURCE);
}

#[tokio::test]
async fn two_mounted_resources_each_refuse_the_other_resources_tokens() {
    const FILES: &str = "http://127.0.0.1:1/files";
    const MAIL: &str = "http://127.0.0.1:1/mail";
    const FILES_METADATA: &str = "http://127.0.0.1:1/.well-known/oauth-protected-resource/files";
    const MAIL_METADATA: &str = "http://127.0.0.1:1/.well-known/oauth-protected-resource/mail";

    let issuer = AuthServerConfig::new(
        AuthorizationServerMetadata::new(ISSUER),
        AuthServerType::OAuth,
    );
    let auth = McpAuth::builder()
        .protected_resource(ProtectedResource::new(FILES).authorization_server(issuer.clone()))
        .protected_resource(ProtectedResource::new(MAIL).authorization_server(issuer))
        .build()
        .unwrap();
    // One verifier for both layers: each token's audience is one resource.
    let verifier: Arc<dyn TokenVerifier> = Arc::new(|token: String| {
        let audience = match token.as_str() {
            "for-files" => FILES,
            "for-mail" => MAIL,
            _ => return std::future::ready(Err(VerifyError::invalid_token("unknown token"))),
        };
        std::future::ready(Ok(AuthInfo::new(ISSUER, [audience]).with_subject(token)))
    });
    let layer = |resource: &str| {
        auth.bearer()
            .resource(resource)
            .shared_verifier(verifier.clone())
            .build()
            .unwrap()
    };
    let (files, mail) = (layer(FILES), layer(MAIL));
    assert_eq!(files.resource_url().as_str(), FILES);
    assert_eq!(mail.resource_url().as_str(), MAIL);
    let calls = Arc::new(AtomicUsize::new(0));
    let handler = |name: &'static str| {
        let calls = calls.clone();
        any(move |Auth(info): Auth| async move {
            calls.fetch_add(1, Ordering::SeqCst);
            format!("{name} for {}", info.subject.as_deref().unwrap_or("?"))
        })
    };
    let app: Router = Router::new()
        .merge(files.mount(handler("files")))
        .merge(mail.mount(handler("mail")))
        .merge(auth.metadata_router());
    let send = |path: &str, token: Option<&str>| {
        let mut request = Request::post(path);
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        app.clone().oneshot(request.body(Body::empty()).unwrap())
    };

    let response = send("/files", Some("for-files")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text_body(response).await, "files for for-files");
    let response = send("/mail", Some("for-mail")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text_body(response).await, "mail for for-mail");

    for (path, token, metadata) in [
        ("/mail", "for-files", MAIL_METADATA),
        ("/files", "for-mail", FILES_METADATA),
    ] {
        let expected = [
            ("error", "invalid_token"),
            ("error_description", "the access token is invalid"),
            ("resource_metadata", metadata),
        ];
        assert_refused(
            send(path, Some(token)).await.unwrap(),
            StatusCode::UNAUTHORIZED,
            Some(&expected),
            "invalid_token",
        )
        .await;
    }
    // Each refusal points to its own resource's document.
    for (path, metadata) in [("/files", FILES_METADATA), ("/mail", MAIL_METADATA)] {
        assert_refused(
            send(path, None).await.unwrap(),
            StatusCode::UNAUTHORIZED,
            Some(&[("resource_metadata", metadata)]),
            "unauthorized",
        )
        .await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn a_verifier_that_leaves_out_issuer_or_audience_is_named_in_the_log() {
    let forgetful = |token: String| async move {
        Ok(match token.as_str() {
            "no-audience" => AuthInfo::new(ISSUER, Vec::<String>::new()).with_subject("alice"),
            _ => AuthInfo::default().with_subject("alice"),
        })
    };
    let auth = mcp_auth(RESOURCE);
    let bearer = auth.bearer().verifier(forgetful).build().unwrap();
    let router = Router::new()
        .route("/mcp", any(|| async { "reached" }))
        .layer(bearer);
    for (token, missing) in [
        ("no-audience", "audience"),
        ("nothing", "issuer and audience"),
    ] {
        let request = Request::post("/mcp")
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let (response, logs) = logs_of(router.clone().oneshot(request)).await;
        assert_eq!(response.unwrap().status(), StatusCode::UNAUTHORIZED);
        assert!(logs.contains("WARN"), "{logs}");
        assert!(
            logs.contains(&format!(
                "returned an AuthInfo without {missing}, so the token is refused"
            )),
            "{logs}"
        );
        assert!(!logs.contains(token), "the token is never logged: {logs}");
    }
}

#[tokio::test]
async fn checks_inside_an_axum_handler_answer_403_naming_what_is_missing() {
    let (_, bearer) = configured(|bearer| bearer.required_scopes(["read"]));
    let handler = any(
        |auth: Auth, axum::extract::Path(table): axum::extract::Path<String>| async move {
            if table == "salaries" {
                auth.require_scopes(["read", "hr:read"])?;
            }
            if table == "approvals" {
                auth.require_claim("custom", "8")?;
            }
            Ok::<_, mcp_auth::Forbidden>(format!("exported {table}"))
        },
    );
    let app: Router = Router::new().route("/mcp/{table}", handler).layer(bearer);
    let get = |table: &str| {
        app.clone().oneshot(
            Request::get(format!("/mcp/{table}"))
                .header(AUTHORIZATION, "Bearer alice")
                .body(Body::empty())
                .unwrap(),
        )
    };

    let allowed = get("orders").await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(text_body(allowed).await, "exported orders");

    let refused = get("salaries").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        json_body(refused).await,
        json!({
            "error": "insufficient_scope",
            "error_description": "this operation needs the scopes hr:read, which the access token does not grant",
            "missing_scopes": ["hr:read"],
        })
    );
    let refused = get("approvals").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        json_body(refused).await,
        json!({
            "error": "forbidden",
            "error_description": "this operation needs the claim custom to include 8",
            "claim": "custom",
        })
    );
}
