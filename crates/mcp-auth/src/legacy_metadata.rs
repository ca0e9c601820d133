//! Deprecated: authorization server metadata mirrored on the resource's own origin, for MCP
//! clients of the 2025-03-26 protocol, which looked for `/.well-known/oauth-authorization-server`
//! there instead of reading Protected Resource Metadata. Opt-in, as in the reference SDK.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::McpAuth;
use crate::error::ConfigError;
use crate::issuer::{Issuer, Needs};
use crate::wire::cors::ANY_ORIGIN;

/// The path the 2025-03-26 clients ask on the resource's origin.
const LEGACY_PATH: &str = "/.well-known/oauth-authorization-server";

impl McpAuth {
    /// **Deprecated protocol support.** An axum router serving
    /// `/.well-known/oauth-authorization-server` on the resource's origin with the metadata of
    /// its one authorization server, every field kept: what MCP clients of the 2025-03-26
    /// protocol look for. The document is the one the layers use, discovered once for all of
    /// them and refreshed as its [`Discovery`](crate::discovery::Discovery) says (daily unless
    /// set); the last good one is served while discovery fails, 503 before any succeeded;
    /// inline metadata is served as given.
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
        let issuer = Arc::clone(server);
        Ok(Router::new().route(
            LEGACY_PATH,
            get(move || {
                let issuer = issuer.clone();
                async move { serve(&issuer).await }
            }),
        ))
    }
}

/// The issuer's metadata document as received, or 503 while none could be discovered.
async fn serve(issuer: &Arc<Issuer>) -> Response {
    match issuer.metadata(Needs::Document).await {
        Ok(metadata) => (
            [
                ANY_ORIGIN,
                (
                    CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=3600"),
                ),
            ],
            Json(metadata.document.clone()),
        )
            .into_response(),
        Err(error) => {
            tracing::debug!(%error, "no authorization server metadata to mirror");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "error": "temporarily_unavailable",
                    "error_description": "the authorization server's metadata cannot be discovered now",
                })),
            )
                .into_response()
        }
    }
}
