//! The bearer layer: a cloneable value holding one layer's checks and the resource it guards.

use std::convert::Infallible;
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::Request;
use axum::response::IntoResponse;
use tower_layer::Layer;
use tower_service::Service;
use url::Url;

use super::policy::Policy;
use super::service::BearerAuth;
use crate::error::ConfigError;

/// A tower [`Layer`] that lets a request through only with an acceptable bearer token.
///
/// Built by [`BearerAuthBuilder::build`](super::BearerAuthBuilder::build); see the
/// [module documentation](super) for an example.
#[derive(Clone)]
pub struct BearerAuthLayer {
    /// Shared by every service the layer made and every clone of it, so that a
    /// [`reload`](Self::reload) reaches them all.
    policy: Arc<ArcSwap<Policy>>,
    resource: Url,
}

impl BearerAuthLayer {
    pub(crate) fn new(policy: Policy, resource: Url) -> Self {
        Self {
            policy: Arc::new(ArcSwap::from_pointee(policy)),
            resource,
        }
    }

    /// Puts `next`'s checks (verifiers, rules, scopes, decision point...) in force for every
    /// request that starts from now on, in every service this layer made: requests under way
    /// finish under the checks they started with, and no connection is dropped. What the
    /// running layer remembers of its clients is kept: the sessions it bound (so no client
    /// loses its session) and the DPoP proofs it saw (so no proof can be replayed); so are
    /// their limits and store, which only a restart changes. A configuration file reloaded on
    /// `SIGHUP` is the use.
    ///
    /// `next` must guard the same resource and be a layer just built (not serving yet), or
    /// this is a [`ConfigError`] and nothing changes.
    ///
    /// ```
    /// # use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
    /// # let auth = McpAuth::builder()
    /// #     .protected_resource(ProtectedResource::new("https://api.example.com/mcp")
    /// #         .authorization_server(AuthServerConfig::lazy("https://auth.example.com", AuthServerType::Oidc)))
    /// #     .build()?;
    /// let running = auth.bearer().required_scopes(["mcp"]).build()?;
    /// // ... serve with `running`; later, from a new configuration:
    /// running.reload(auth.bearer().required_scopes(["mcp", "tools"]).build()?)?;
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn reload(&self, next: BearerAuthLayer) -> Result<(), ConfigError> {
        if next.resource != self.resource {
            return Err(ConfigError::invalid_setting(
                "BearerAuthLayer",
                "reload",
                format!(
                    "the new layer guards {} and the running one {}: a reload keeps the resource, a restart changes it",
                    next.resource, self.resource
                ),
            ));
        }
        if Arc::ptr_eq(&self.policy, &next.policy) {
            return Ok(());
        }
        let running = self.policy.load_full();
        let next = Arc::try_unwrap(next.policy)
            .ok()
            .and_then(|next| Arc::try_unwrap(next.into_inner()).ok());
        let Some(mut next) = next else {
            return Err(ConfigError::invalid_setting(
                "BearerAuthLayer",
                "reload",
                "the new layer is already serving requests: reload from a layer just built",
            ));
        };
        next.carry_over(&running);
        self.policy.store(Arc::new(next));
        Ok(())
    }

    /// The identifier of the protected resource this layer guards.
    pub fn resource_url(&self) -> &Url {
        &self.resource
    }

    /// Whether a request's `Origin` is one this layer lets through: no `Origin`, or exactly one
    /// of [`allowed_origins`](super::BearerAuthBuilder::allowed_origins) (any, when none are
    /// set). For what answers before the layer, such as a CORS preflight, which carries no
    /// token.
    ///
    /// ```
    /// # use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
    /// # let auth = McpAuth::builder()
    /// #     .protected_resource(ProtectedResource::new("https://api.example.com/mcp")
    /// #         .authorization_server(AuthServerConfig::lazy("https://auth.example.com", AuthServerType::Oidc)))
    /// #     .build()?;
    /// let layer = auth.bearer().allowed_origins(["https://app.example.com"]).build()?;
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("origin", http::HeaderValue::from_static("https://evil.example"));
    /// assert!(!layer.permits_origin(&headers));
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn permits_origin(&self, headers: &http::HeaderMap) -> bool {
        self.policy.load().allowed_origins.permit(headers)
    }

    /// The host of the resource identifier (`api.example.com`, `[::1]`): what rmcp's
    /// `StreamableHttpServerConfig::with_allowed_hosts` must let through.
    pub fn resource_host(&self) -> &str {
        // A resource identifier always has a host: `ProtectedResource` checks it.
        self.resource.host_str().unwrap_or_default()
    }

    /// An axum router serving `service` at the resource identifier's path, behind this layer:
    /// the path is taken from the identifier, so the two cannot disagree. Merge one per
    /// resource, then [`McpAuth::metadata_router`](crate::McpAuth::metadata_router) once.
    ///
    /// The service is *nested* at that path (axum's `nest_service`): it also answers the paths
    /// below it, and sees each request's path with the resource's path taken off (a request to
    /// `/mcp/x` reaches it as `/x`, `/mcp` as `/`). An rmcp `StreamableHttpService` ignores the
    /// path; a router of your own should route from `/`. A resource at the root (`https://h/`)
    /// is routed at `/` only.
    ///
    /// ```
    /// # use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
    /// # use mcp_auth::metadata::AuthorizationServerMetadata;
    /// # let mut metadata = AuthorizationServerMetadata::new("https://auth.example.com");
    /// # metadata.jwks_uri = Some("https://auth.example.com/jwks".into());
    /// # let issuer = AuthServerConfig::new(metadata, AuthServerType::OAuth);
    /// let auth = McpAuth::builder()
    ///     .protected_resource(ProtectedResource::new("https://api.example.com/files").authorization_server(issuer.clone()))
    ///     .protected_resource(ProtectedResource::new("https://api.example.com/mail").authorization_server(issuer))
    ///     .build()?;
    /// let files = auth.bearer().resource("https://api.example.com/files").build()?;
    /// let mail = auth.bearer().resource("https://api.example.com/mail").build()?;
    /// let app: axum::Router = axum::Router::new()
    ///     .merge(files.mount(tower::service_fn(|_| async { Ok::<_, std::convert::Infallible>("files") })))
    ///     .merge(mail.mount(tower::service_fn(|_| async { Ok::<_, std::convert::Infallible>("mail") })))
    ///     .merge(auth.metadata_router());
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn mount<T, S>(&self, service: T) -> Router<S>
    where
        T: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        T::Response: IntoResponse,
        T::Future: Send + 'static,
        S: Clone + Send + Sync + 'static,
    {
        let router = match self.resource.path() {
            "" | "/" => Router::new().route_service("/", service),
            path => Router::new().nest_service(path, service),
        };
        router.layer(self.clone())
    }
}

impl<S> Layer<S> for BearerAuthLayer {
    type Service = BearerAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerAuth::new(inner, self.policy.clone())
    }
}

impl std::fmt::Debug for BearerAuthLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuthLayer")
            .field("resource", &self.resource.as_str())
            .field("rules", &self.policy.load().rules)
            .field("required_scopes", &self.policy.load().required_scopes)
            .finish_non_exhaustive()
    }
}
