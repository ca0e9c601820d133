//! An authorization server a protected resource trusts.

use crate::discovery::{Discovery, DiscoveryError};
use crate::metadata::AuthorizationServerMetadata;

/// Which discovery document an authorization server publishes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthServerType {
    /// An OAuth 2.0 server with RFC 8414 metadata (`/.well-known/oauth-authorization-server`).
    #[default]
    OAuth,
    /// An OpenID Provider with OpenID Connect Discovery metadata
    /// (`/.well-known/openid-configuration`).
    Oidc,
}

/// An authorization server trusted to issue tokens for a protected resource.
///
/// Three ways to describe one:
///
/// ```no_run
/// use mcp_auth::{AuthServerConfig, AuthServerType};
/// use mcp_auth::metadata::AuthorizationServerMetadata;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // Discovered now (fails if the server is unreachable or names another issuer).
/// let now = AuthServerConfig::discover("https://auth.example.com", AuthServerType::Oidc).await?;
///
/// // Discovered when the first token arrives: the MCP server may start while it is down.
/// let later = AuthServerConfig::lazy("https://auth.example.com", AuthServerType::Oidc);
///
/// // Given inline, no network at all.
/// let mut metadata = AuthorizationServerMetadata::new("https://auth.example.com");
/// metadata.jwks_uri = Some("https://auth.example.com/jwks".into());
/// let inline = AuthServerConfig::new(metadata, AuthServerType::OAuth);
/// assert_eq!(inline.issuer(), "https://auth.example.com");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AuthServerConfig {
    issuer: String,
    server_type: AuthServerType,
    metadata: Option<AuthorizationServerMetadata>,
    discovery: Option<Discovery>,
}

impl AuthServerConfig {
    /// A server described by metadata you already have (inline configuration, no network).
    pub fn new(metadata: AuthorizationServerMetadata, server_type: AuthServerType) -> Self {
        Self {
            issuer: metadata.issuer.clone(),
            server_type,
            metadata: Some(metadata),
            discovery: None,
        }
    }

    /// Discovers the server's metadata now (RFC 8414 / OpenID Connect Discovery); see
    /// [`Discovery`] for the URLs tried and for options.
    pub async fn discover(
        issuer: impl Into<String>,
        server_type: AuthServerType,
    ) -> Result<Self, DiscoveryError> {
        Discovery::new(issuer, server_type).into_config().await
    }

    /// A server whose metadata is discovered when the first token needs it, retried with
    /// backoff while it cannot be reached, and refreshed from time to time.
    pub fn lazy(issuer: impl Into<String>, server_type: AuthServerType) -> Self {
        Discovery::new(issuer, server_type).lazy()
    }

    pub(crate) fn from_discovery(
        metadata: Option<AuthorizationServerMetadata>,
        discovery: Discovery,
    ) -> Self {
        Self {
            issuer: metadata
                .as_ref()
                .map_or_else(|| discovery.issuer().to_owned(), |m| m.issuer.clone()),
            server_type: discovery.server_type(),
            metadata,
            discovery: Some(discovery),
        }
    }

    /// The issuer identifier tokens from this server carry as `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The server's metadata, if known yet (a lazy server's is not until it is discovered).
    pub fn metadata(&self) -> Option<&AuthorizationServerMetadata> {
        self.metadata.as_ref()
    }

    /// Which discovery document the server publishes.
    pub fn server_type(&self) -> AuthServerType {
        self.server_type
    }

    /// How to discover the metadata again, unless it was given inline.
    pub(crate) fn discovery(&self) -> Option<&Discovery> {
        self.discovery.as_ref()
    }
}
