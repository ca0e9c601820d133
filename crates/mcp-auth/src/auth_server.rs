//! An authorization server a protected resource trusts.

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
/// ```
/// use mcp_auth::{AuthServerConfig, AuthServerType};
/// use mcp_auth::metadata::AuthorizationServerMetadata;
///
/// let server = AuthServerConfig::new(
///     AuthorizationServerMetadata::new("https://auth.example.com"),
///     AuthServerType::Oidc,
/// );
/// assert_eq!(server.issuer(), "https://auth.example.com");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AuthServerConfig {
    metadata: AuthorizationServerMetadata,
    server_type: AuthServerType,
}

impl AuthServerConfig {
    /// A server described by metadata you already have (inline configuration, no network).
    pub fn new(metadata: AuthorizationServerMetadata, server_type: AuthServerType) -> Self {
        Self {
            metadata,
            server_type,
        }
    }

    /// The issuer identifier tokens from this server carry as `iss`.
    pub fn issuer(&self) -> &str {
        &self.metadata.issuer
    }

    /// The server's metadata.
    pub fn metadata(&self) -> &AuthorizationServerMetadata {
        &self.metadata
    }

    /// Which discovery document the server publishes.
    pub fn server_type(&self) -> AuthServerType {
        self.server_type
    }
}
