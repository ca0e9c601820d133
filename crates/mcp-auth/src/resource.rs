//! A protected resource: its identifier, the authorization servers it trusts and the metadata it
//! publishes (RFC 9728).

use url::Url;

use crate::auth_server::AuthServerConfig;
use crate::discovery::parse_issuer;
use crate::error::ConfigError;
use crate::metadata::{ProtectedResourceMetadata, well_known_url};
use crate::scope::check_scope_token;

/// The description of one protected resource (an MCP endpoint), checked when
/// [`McpAuth`](crate::McpAuth) is built.
///
/// ```
/// use mcp_auth::{AuthServerConfig, AuthServerType, ProtectedResource};
/// use mcp_auth::metadata::AuthorizationServerMetadata;
///
/// let resource = ProtectedResource::new("https://api.example.com/mcp")
///     .authorization_server(AuthServerConfig::new(
///         AuthorizationServerMetadata::new("https://auth.example.com"),
///         AuthServerType::Oidc,
///     ))
///     .scopes_supported(["read", "write"])
///     .resource_name("Example MCP server");
/// ```
#[derive(Debug, Clone)]
pub struct ProtectedResource {
    identifier: String,
    authorization_servers: Vec<AuthServerConfig>,
    document: ProtectedResourceMetadata,
}

impl ProtectedResource {
    /// A resource with this identifier: an absolute `http(s)` URL without a fragment.
    ///
    /// The identifier is published exactly as written, and clients ask their authorization
    /// server for tokens whose audience is exactly this string, so write it as your
    /// authorization server knows it (with or without a trailing slash).
    pub fn new(identifier: impl Into<String>) -> Self {
        Self {
            identifier: identifier.into(),
            authorization_servers: Vec::new(),
            document: ProtectedResourceMetadata {
                bearer_methods_supported: vec!["header".to_owned()],
                ..ProtectedResourceMetadata::default()
            },
        }
    }

    /// Trusts this authorization server to issue tokens for the resource. The first one added is
    /// the one most clients use.
    pub fn authorization_server(mut self, server: AuthServerConfig) -> Self {
        self.authorization_servers.push(server);
        self
    }

    /// The scopes clients may request (`scopes_supported`).
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.document.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// A human-readable name (`resource_name`).
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.document.resource_name = Some(name.into());
        self
    }

    /// Developer documentation URL (`resource_documentation`).
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.document.resource_documentation = Some(url.into());
        self
    }

    /// Data-use policy URL (`resource_policy_uri`).
    pub fn resource_policy_uri(mut self, url: impl Into<String>) -> Self {
        self.document.resource_policy_uri = Some(url.into());
        self
    }

    /// Terms of service URL (`resource_tos_uri`).
    pub fn resource_tos_uri(mut self, url: impl Into<String>) -> Self {
        self.document.resource_tos_uri = Some(url.into());
        self
    }

    /// The resource identifier as given.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// Checks everything and computes what requests will need.
    pub(crate) fn validate(self) -> Result<ResourceConfig, ConfigError> {
        let url = parse_http_url("resource identifier", &self.identifier)?;
        if url.fragment().is_some() {
            return Err(invalid_url(
                "resource identifier",
                &self.identifier,
                "RFC 8707 forbids a fragment: remove the '#...' part",
            ));
        }
        if url.query().is_some() {
            return Err(invalid_url(
                "resource identifier",
                &self.identifier,
                "RFC 8707 says it should not have a query, and its metadata URL could not carry one: remove the '?...' part",
            ));
        }
        check_canonical("resource identifier", &self.identifier, &url)?;
        check_segments_routable(&url, &self.identifier)?;
        if self.authorization_servers.is_empty() {
            return Err(ConfigError::NoAuthorizationServer(self.identifier));
        }
        let mut issuers: Vec<String> = Vec::with_capacity(self.authorization_servers.len());
        for server in &self.authorization_servers {
            let issuer = server.issuer();
            parse_issuer(issuer)?;
            if issuers.iter().any(|known| known == issuer) {
                return Err(ConfigError::DuplicateIssuer {
                    resource: self.identifier,
                    issuer: issuer.to_owned(),
                });
            }
            issuers.push(issuer.to_owned());
        }
        for scope in &self.document.scopes_supported {
            check_scope_token(scope)?;
        }
        let optional_urls = [
            (
                "resource_documentation",
                &self.document.resource_documentation,
            ),
            ("resource_policy_uri", &self.document.resource_policy_uri),
            ("resource_tos_uri", &self.document.resource_tos_uri),
        ];
        for (what, value) in optional_urls {
            if let Some(value) = value {
                parse_http_url(what, value)?;
            }
        }
        let metadata_url = well_known_url(&url);
        let document = ProtectedResourceMetadata {
            resource: self.identifier.clone(),
            authorization_servers: issuers.clone(),
            ..self.document
        };
        Ok(ResourceConfig {
            identifier: self.identifier,
            url,
            metadata_url,
            issuers,
            authorization_servers: self.authorization_servers,
            document,
        })
    }
}

/// A protected resource whose configuration passed every check.
#[derive(Debug, Clone)]
pub(crate) struct ResourceConfig {
    pub(crate) identifier: String,
    pub(crate) url: Url,
    pub(crate) metadata_url: Url,
    pub(crate) issuers: Vec<String>,
    pub(crate) authorization_servers: Vec<AuthServerConfig>,
    pub(crate) document: ProtectedResourceMetadata,
}

/// Parses an absolute `http`/`https` URL with a host and no credentials.
pub(crate) fn parse_http_url(what: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|err| {
        invalid_url(
            what,
            value,
            &format!("{err}; write an absolute URL such as https://api.example.com/mcp"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid_url(
            what,
            value,
            "the scheme must be https (or http)",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid_url(what, value, "a host is required"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid_url(
            what,
            value,
            "remove the user name and password",
        ));
    }
    Ok(url)
}

/// Refuses a URL that parsing would change (case, default port, spaces, dot segments...): the
/// string is published and compared verbatim, so it must already be in canonical form. Only the
/// slash after a bare host may be left out.
pub(crate) fn check_canonical(
    what: &'static str,
    value: &str,
    url: &Url,
) -> Result<(), ConfigError> {
    let canonical = url.as_str();
    if canonical == value || canonical.strip_suffix('/') == Some(value) {
        Ok(())
    } else {
        Err(invalid_url(
            what,
            value,
            &format!(
                "it is published and compared verbatim, so write it in canonical form: {canonical}"
            ),
        ))
    }
}

/// The metadata router matches paths literally; axum would read a segment starting with `:` or
/// `*` as a parameter, so such identifiers are refused here instead of panicking later.
fn check_segments_routable(url: &Url, identifier: &str) -> Result<(), ConfigError> {
    let routable = url
        .path()
        .split('/')
        .all(|segment| !segment.starts_with([':', '*']));
    if routable {
        Ok(())
    } else {
        Err(invalid_url(
            "resource identifier",
            identifier,
            "a path segment starting with ':' or '*' cannot be routed: rename that segment",
        ))
    }
}

fn invalid_url(what: &'static str, url: &str, reason: &str) -> ConfigError {
    ConfigError::InvalidUrl {
        what,
        url: url.to_owned(),
        reason: reason.to_owned(),
    }
}
