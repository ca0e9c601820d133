//! A resource protected in JWT mode by a real test issuer on 127.0.0.1.

use axum::Json;
use axum::routing::any;
use mcp_auth::bearer::BearerAuthBuilder;
use mcp_auth::testing::{TestIssuer, TokenBuilder};
use mcp_auth::{Auth, AuthServerConfig, McpAuth, ProtectedResource};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use super::{TestServer, parse_challenge, serve};

/// A protected `/mcp` route echoing the caller's `AuthInfo`, in JWT mode, trusting `issuer`.
pub struct JwtApp {
    pub issuer: TestIssuer,
    pub server: TestServer,
    pub resource: String,
    client: reqwest::Client,
}

impl JwtApp {
    /// Trusts `issuer` through lazy discovery, with error details on.
    pub async fn start(configure: impl FnOnce(BearerAuthBuilder) -> BearerAuthBuilder) -> Self {
        let issuer = TestIssuer::start().await.unwrap();
        let config = issuer.lazy_config();
        Self::start_with(issuer, vec![config], configure).await
    }

    /// Trusts the given servers; `issuer` mints the tokens.
    pub async fn start_with(
        issuer: TestIssuer,
        servers: Vec<AuthServerConfig>,
        configure: impl FnOnce(BearerAuthBuilder) -> BearerAuthBuilder,
    ) -> Self {
        let server = serve(move |addr| {
            let resource = format!("http://{addr}/mcp");
            let protected = servers
                .into_iter()
                .fold(ProtectedResource::new(&resource), |r, s| {
                    r.authorization_server(s)
                });
            let auth = McpAuth::builder()
                .protected_resource(protected)
                .build()
                .unwrap();
            let bearer = configure(auth.bearer().show_error_details(true))
                .build()
                .unwrap();
            bearer
                .mount(any(|Auth(info): Auth| async move { Json(json!(info)) }))
                .merge(auth.metadata_router())
        })
        .await;
        let resource = server.url("/mcp");
        Self {
            issuer,
            server,
            resource,
            client: reqwest::Client::new(),
        }
    }

    /// A token for this resource from the app's issuer.
    pub fn token(&self) -> TokenBuilder {
        self.issuer.token().audience(&self.resource)
    }

    /// POSTs to the resource with `Authorization: Bearer token`.
    pub async fn call(&self, token: &str) -> reqwest::Response {
        self.client
            .post(&self.resource)
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .send()
            .await
            .unwrap()
    }

    /// Asserts the token is accepted and returns the `AuthInfo` the handler saw.
    pub async fn accepted(&self, token: &str) -> Value {
        let response = self.call(token).await;
        let status = response.status();
        let challenge = response.headers().get(WWW_AUTHENTICATE).cloned();
        assert_eq!(status, StatusCode::OK, "refused: {challenge:?}");
        response.json().await.unwrap()
    }

    /// Asserts a 401 `invalid_token` whose description is exactly `description`.
    pub async fn refused(&self, token: &str, description: &str) {
        let challenge = self.challenge(token, StatusCode::UNAUTHORIZED).await;
        assert_eq!(challenge.param("error"), Some("invalid_token"));
        assert_eq!(challenge.param("error_description"), Some(description));
    }

    /// Asserts that a good token with claim `name` set to `value` is refused with `description`.
    pub async fn refused_with_claim(&self, name: &str, value: Value, description: &str) {
        let token = self.token().claim(name, value).sign().unwrap();
        self.refused(&token, description).await;
    }

    /// Asserts a 401 `invalid_token` whose description starts with `prefix`.
    pub async fn refused_starting(&self, token: &str, prefix: &str) {
        let challenge = self.challenge(token, StatusCode::UNAUTHORIZED).await;
        assert_eq!(challenge.param("error"), Some("invalid_token"));
        let description = challenge.param("error_description").unwrap_or_default();
        assert!(
            description.starts_with(prefix),
            "{description:?} does not start with {prefix:?}"
        );
    }

    /// The parsed challenge of a refusal with `status`, checking `resource_metadata`.
    pub async fn challenge(&self, token: &str, status: StatusCode) -> super::Challenge {
        let response = self.call(token).await;
        assert_eq!(response.status(), status);
        let header = response.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .to_owned();
        let challenge = parse_challenge(&header);
        let metadata = self.server.url("/.well-known/oauth-protected-resource/mcp");
        assert_eq!(
            challenge.param("resource_metadata"),
            Some(metadata.as_str())
        );
        challenge
    }

    /// Asserts a 503 without challenge.
    pub async fn unavailable(&self, token: &str) {
        let response = self.call(token).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    }
}
