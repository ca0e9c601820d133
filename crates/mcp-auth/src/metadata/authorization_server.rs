//! OAuth 2.0 Authorization Server Metadata (RFC 8414 §2), also the shape of OpenID Provider
//! Metadata for the fields both share.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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

/// An RFC 8414 authorization server metadata document.
///
/// Only `issuer` is required; fields this type does not name are kept in `other`.
///
/// ```
/// use mcp_auth::metadata::AuthorizationServerMetadata;
///
/// let doc: AuthorizationServerMetadata = serde_json::from_str(r#"{
///     "issuer": "https://auth.example.com",
///     "jwks_uri": "https://auth.example.com/jwks",
///     "userinfo_endpoint": "https://auth.example.com/userinfo",
///     "end_session_endpoint": "https://auth.example.com/logout"
/// }"#).unwrap();
/// assert_eq!(doc.jwks_uri.as_deref(), Some("https://auth.example.com/jwks"));
/// assert_eq!(doc.userinfo_endpoint.as_deref(), Some("https://auth.example.com/userinfo"));
/// assert!(doc.other.contains_key("end_session_endpoint"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier: tokens from this server carry it as `iss`.
    pub issuer: String,
    /// URL of the authorization endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// URL of the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// URL of the server's JSON Web Key Set, used to verify JWT access tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// URL of the dynamic client registration endpoint (RFC 7591).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// Scopes the server supports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// `response_type` values the server supports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_types_supported: Vec<String>,
    /// Grant types the server supports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types_supported: Vec<String>,
    /// PKCE code challenge methods the server supports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_challenge_methods_supported: Vec<String>,
    /// URL of the token introspection endpoint (RFC 7662).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// Client authentication methods the introspection endpoint accepts (RFC 8414 §2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// URL of the OpenID Connect UserInfo endpoint (OpenID Connect Discovery 1.0 §3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// Whether the server accepts Client ID Metadata Documents as client identifiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_metadata_document_supported: Option<bool>,
    /// Every other field of the document, as received.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl AuthorizationServerMetadata {
    /// Metadata that names only the issuer, for configuring a trusted server by hand.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            ..Self::default()
        }
    }
}
