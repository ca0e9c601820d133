//! Serving Protected Resource Metadata (RFC 9728 §3) at each resource's well-known path: public,
//! readable from browsers (CORS), cacheable.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::McpAuth;
use crate::metadata::{ProtectedResourceMetadata, well_known_path};
use crate::wire::cors::{ANY_ORIGIN, PUBLIC_DOCUMENT_PREFLIGHT};

impl McpAuth {
    /// An axum router answering `GET` (and `HEAD`) on every resource's well-known metadata path
    /// with its RFC 9728 document, `OPTIONS` with a CORS preflight answer, and other methods
    /// with 405. Merge it outside the bearer layer: the metadata must be readable without a
    /// token.
    ///
    /// ```
    /// # use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
    /// # use mcp_auth::metadata::AuthorizationServerMetadata;
    /// # let auth = McpAuth::builder().protected_resource(ProtectedResource::new("https://api.example.com/mcp")
    /// #     .authorization_server(AuthServerConfig::new(AuthorizationServerMetadata::new("https://auth.example.com"), AuthServerType::OAuth)))
    /// #     .build()?;
    /// // Serves https://api.example.com/.well-known/oauth-protected-resource/mcp
    /// let app: axum::Router = axum::Router::new().merge(auth.metadata_router());
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    /// It merges into a router of any state type.
    pub fn metadata_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        self.resources()
            .iter()
            .fold(Router::new(), |router, resource| {
                let document = Arc::new(resource.document.clone());
                router.route(
                    &well_known_path(&resource.url),
                    get(move || serve_document(document.clone())).options(preflight),
                )
            })
    }
}

async fn serve_document(document: Arc<ProtectedResourceMetadata>) -> impl IntoResponse {
    (
        [
            ANY_ORIGIN,
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        Json(ProtectedResourceMetadata::clone(&document)),
    )
}

async fn preflight() -> impl IntoResponse {
    (StatusCode::NO_CONTENT, PUBLIC_DOCUMENT_PREFLIGHT)
}
