//! Deprecated: authorization server metadata mirrored on the resource's own origin, for MCP
//! clients of the 2025-03-26 protocol, which looked for `/.well-known/oauth-authorization-server`
//! there instead of reading Protected Resource Metadata. Opt-in, as in the reference SDK.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::McpAuth;
use crate::auth_server::AuthServerConfig;
use crate::error::ConfigError;
use crate::wire::cors::ANY_ORIGIN;

/// How long a mirrored document is served before it is discovered again.
const REFRESH_AFTER: Duration = Duration::from_secs(3600);
/// How long after a failed discovery the next is tried.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The path the 2025-03-26 clients ask on the resource's origin.
const LEGACY_PATH: &str = "/.well-known/oauth-authorization-server";

impl McpAuth {
    /// **Deprecated protocol support.** An axum router serving
    /// `/.well-known/oauth-authorization-server` on the resource's origin with the metadata of
    /// its one authorization server, every field kept: what MCP clients of the 2025-03-26
    /// protocol look for. The document is discovered on first request and again every hour
    /// (the last good one is served while discovery fails; 503 before any succeeded); inline
    /// metadata is served as given.
    /// Merge it outside the bearer layer, and only for clients that need it.
    ///
    /// Refused when the configuration trusts more than one authorization server: a client
    /// could not tell which one the mirror stands for.
    ///
    /// ```
    /// # use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
    /// let auth = McpAuth::builder()
    ///     .protected_resource(ProtectedResource::new("https://api.example.com/mcp").authorization_server(
    ///         AuthServerConfig::lazy("https://auth.example.com", AuthServerType::OAuth),
    ///     ))
    ///     .build()?;
    /// let app: axum::Router = axum::Router::new()
    ///     .merge(auth.metadata_router())
    ///     .merge(auth.legacy_authorization_server_metadata_router()?);
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn legacy_authorization_server_metadata_router<S: Clone + Send + Sync + 'static>(
        &self,
    ) -> Result<Router<S>, ConfigError> {
        let mut servers = self
            .resources()
            .iter()
            .flat_map(|resource| &resource.authorization_servers);
        let server = servers
            .next()
            .ok_or(ConfigError::LegacyMetadataNeedsOneServer)?;
        if servers.any(|other| other.issuer() != server.issuer()) {
            return Err(ConfigError::LegacyMetadataNeedsOneServer);
        }
        let mirror = Arc::new(Mirror {
            server: server.clone(),
            state: tokio::sync::Mutex::default(),
        });
        Ok(Router::new().route(
            LEGACY_PATH,
            get(move || {
                let mirror = mirror.clone();
                async move { mirror.serve().await }
            }),
        ))
    }
}

/// One authorization server's metadata, mirrored.
struct Mirror {
    server: AuthServerConfig,
    state: tokio::sync::Mutex<MirrorState>,
}

impl Mirror {
    async fn serve(&self) -> Response {
        match self.document().await {
            Some(document) => (
                [
                    ANY_ORIGIN,
                    (CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
                ],
                Json(document),
            )
                .into_response(),
            None => (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "error": "temporarily_unavailable",
                    "error_description": "the authorization server's metadata cannot be discovered now",
                })),
            )
                .into_response(),
        }
    }

    /// The document to serve: inline metadata, a fresh discovery, or the last good one. A
    /// failed discovery is not tried again for [`RETRY_AFTER`], so an issuer outage cannot make
    /// every request wait on it.
    async fn document(&self) -> Option<Value> {
        let Some(discovery) = self.server.discovery() else {
            return serde_json::to_value(self.server.metadata()?).ok();
        };
        let mut state = self.state.lock().await;
        let fresh = state
            .document
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < REFRESH_AFTER);
        let retry_later = state.failed_at.is_some_and(|at| at.elapsed() < RETRY_AFTER);
        if !fresh && !retry_later {
            match discovery.fetch().await {
                Ok(found) => {
                    state.document = Some((found.document, Instant::now()));
                    state.failed_at = None;
                }
                Err(error) => {
                    tracing::warn!(%error, "authorization server metadata discovery failed");
                    state.failed_at = Some(Instant::now());
                }
            }
        }
        state
            .document
            .as_ref()
            .map(|(document, _)| document.clone())
    }
}

/// The last document discovered, and the last failure.
#[derive(Default)]
struct MirrorState {
    document: Option<(Value, Instant)>,
    failed_at: Option<Instant>,
}
