//! An authorization server a protected resource trusts.

use super::discovery::{Discovery, DiscoveryError, Tenants};
use crate::metadata::{AuthServerType, AuthorizationServerMetadata};

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
///
/// A provider that needs more than its issuer to be discovered (a well-known URL of its own, a
/// document to mend, a shorter timeout) is described by a [`Discovery`], then
/// [`discover_with`](Self::discover_with) or [`lazy_with`](Self::lazy_with).
#[derive(Debug, Clone)]
pub struct AuthServerConfig {
    issuer: String,
    server_type: AuthServerType,
    metadata: Option<AuthorizationServerMetadata>,
    discovery: Option<Discovery>,
    allow_insecure_http: bool,
}

impl AuthServerConfig {
    /// A server described by metadata you already have (inline configuration, no network).
    pub fn new(metadata: AuthorizationServerMetadata, server_type: AuthServerType) -> Self {
        Self {
            issuer: metadata.issuer.clone(),
            server_type,
            metadata: Some(metadata),
            discovery: None,
            allow_insecure_http: false,
        }
    }

    /// Discovers the server's metadata now (RFC 8414 / OpenID Connect Discovery); see
    /// [`Discovery`] for the URLs tried.
    pub async fn discover(
        issuer: impl Into<String>,
        server_type: AuthServerType,
    ) -> Result<Self, DiscoveryError> {
        Self::discover_with(Discovery::new(issuer, server_type)).await
    }

    /// A server whose metadata is discovered when the first token needs it, retried with
    /// backoff while it cannot be reached, and refreshed from time to time. Nothing is fetched
    /// unless JWT mode or introspection needs it: for a custom verifier or API keys, the issuer
    /// alone is enough.
    pub fn lazy(issuer: impl Into<String>, server_type: AuthServerType) -> Self {
        Self::lazy_with(Discovery::new(issuer, server_type))
    }

    /// [`discover`](Self::discover) with a discovery of your own; it is also used for later
    /// refreshes.
    ///
    /// ```no_run
    /// use mcp_auth::AuthServerConfig;
    /// use mcp_auth::discovery::Discovery;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let discovery = Discovery::from_well_known_url(
    ///     "https://auth.example.com/.well-known/openid-configuration",
    /// )?;
    /// let server = AuthServerConfig::discover_with(discovery).await?;
    /// # Ok(()) }
    /// ```
    pub async fn discover_with(discovery: Discovery) -> Result<Self, DiscoveryError> {
        let discovered = discovery.fetch().await?;
        // A multi-tenant server is known by its template, whichever document answered.
        let issuer = match discovery.tenants() {
            Some(_) => discovery.issuer().to_owned(),
            None => discovered.metadata.issuer.clone(),
        };
        Ok(Self {
            issuer,
            server_type: discovery.server_type(),
            metadata: Some(discovered.metadata),
            allow_insecure_http: discovery.allows_insecure_http(),
            discovery: Some(discovery),
        })
    }

    /// [`lazy`](Self::lazy) with a discovery of your own.
    ///
    /// ```
    /// use mcp_auth::{AuthServerConfig, AuthServerType};
    /// use mcp_auth::discovery::Discovery;
    ///
    /// let discovery = Discovery::new("https://auth.example.com", AuthServerType::Oidc)
    ///     .transpile(|raw| raw["code_challenge_methods_supported"] = serde_json::json!(["S256"]));
    /// let server = AuthServerConfig::lazy_with(discovery);
    /// assert!(server.metadata().is_none());
    /// ```
    pub fn lazy_with(discovery: Discovery) -> Self {
        Self {
            issuer: discovery.issuer().to_owned(),
            server_type: discovery.server_type(),
            metadata: None,
            allow_insecure_http: discovery.allows_insecure_http(),
            discovery: Some(discovery),
        }
    }

    /// Trusts this server over plain `http` off loopback too: its issuer, metadata and key set.
    /// Anyone on the path could then swap the keys and sign any token: for test networks only,
    /// never in production. Loopback (`127.0.0.0/8`, `::1`, `localhost`) needs no opt-in; an
    /// `https` issuer's key set is never accepted over `http`.
    ///
    /// ```
    /// use mcp_auth::{AuthServerConfig, AuthServerType, ConfigError, McpAuth, ProtectedResource};
    ///
    /// let build = |server: AuthServerConfig| {
    ///     McpAuth::builder()
    ///         .protected_resource(ProtectedResource::new("https://api.example.com/mcp").authorization_server(server))
    ///         .build()
    /// };
    /// let plain = AuthServerConfig::lazy("http://auth.test", AuthServerType::OAuth);
    /// assert!(matches!(build(plain.clone()), Err(ConfigError::InvalidUrl { .. })));
    /// assert!(build(plain.allow_insecure_http()).is_ok());
    /// ```
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure_http = true;
        self.discovery = self.discovery.map(Discovery::allow_insecure_http);
        self
    }

    /// Whether plain `http` is allowed off loopback for this server.
    pub(crate) fn allows_insecure_http(&self) -> bool {
        self.allow_insecure_http
    }

    /// The issuer identifier tokens from this server carry as `iss`; for a
    /// [multi-tenant](Discovery::multi_tenant) server, its template holding `{tenantid}`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The tenants accepted, for a [multi-tenant](Discovery::multi_tenant) server.
    pub fn tenants(&self) -> Option<&Tenants> {
        self.discovery.as_ref().and_then(Discovery::tenants)
    }

    /// The issuer resource metadata lists for clients to discover.
    pub(crate) fn published_issuer(&self) -> &str {
        self.discovery
            .as_ref()
            .map_or(&self.issuer, Discovery::published_issuer)
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

    /// Whether `other` describes this server the same way: then both share one [`Issuer`].
    ///
    /// [`Issuer`]: super::Issuer
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        let same_discovery = match (&self.discovery, &other.discovery) {
            (None, None) => true,
            (Some(mine), Some(theirs)) => mine.same_as(theirs),
            _ => false,
        };
        self.issuer == other.issuer
            && self.server_type == other.server_type
            && self.metadata == other.metadata
            && self.allow_insecure_http == other.allow_insecure_http
            && same_discovery
    }
}
