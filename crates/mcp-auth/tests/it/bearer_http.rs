//! The bearer layer over real HTTP on 127.0.0.1: only what needs a socket. Everything else about
//! the layer (each refusal's status, challenge and body, what handlers get) is tested in process
//! in `bearer_layer.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{
    ISSUER, OTHER_ISSUER, TestServer, challenge_params, fixed_tokens, mcp_auth, one_challenge,
    serve,
};
use axum::routing::any;
use axum::{Json, Router};
use mcp_auth::Auth;
use reqwest::StatusCode;
use reqwest::header::AUTHORIZATION;
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

    async fn post(&self, authorization: Option<&str>) -> reqwest::Response {
        let mut request = reqwest::Client::new().post(self.resource());
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        request.send().await.unwrap()
    }
}

/// A protected `/mcp` route requiring `read write` that echoes the caller's subject and
/// audience, plus the metadata router, served on 127.0.0.1.
async fn app() -> App {
    let inner_calls = Arc::new(AtomicUsize::new(0));
    let calls = inner_calls.clone();
    let server = serve(move |addr| {
        let resource = format!("http://{addr}/mcp");
        let auth = mcp_auth(&resource);
        let bearer = auth
            .bearer()
            .verifier(fixed_tokens(&resource))
            .required_scopes(["read", "write"])
            .build()
            .unwrap();
        Router::new()
            .route(
                "/mcp",
                any(move |Auth(info): Auth| async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Json(json!({ "subject": info.subject, "audience": info.audience }))
                }),
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

#[tokio::test]
async fn over_a_real_connection_a_good_token_passes_and_a_missing_one_gets_401() {
    let app = app().await;
    let response = app.post(Some("Bearer alice")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen: Value = response.json().await.unwrap();
    assert_eq!(
        seen,
        json!({ "subject": "alice", "audience": [app.resource()] })
    );

    let refused = app.post(None).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = one_challenge(refused.headers());
    assert_eq!(challenge.scheme, "Bearer");
    let metadata = app.metadata_url();
    assert_eq!(
        challenge.params,
        challenge_params(&[
            ("resource_metadata", metadata.as_str()),
            ("scope", "read write"),
        ])
    );
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    assert_eq!(app.inner_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_resource_metadata_url_of_the_challenge_serves_the_resource_document() {
    let app = app().await;
    let response = app.post(None).await;
    let challenge = one_challenge(response.headers());
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
