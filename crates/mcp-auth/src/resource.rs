//! A protected resource: its identifier, the authorization servers it trusts and the metadata it
//! publishes (RFC 9728).

use std::sync::Arc;

use url::Url;

use crate::dpop::{DpopMode, DpopOptions};
use crate::error::ConfigError;
use crate::error::UrlKind;
use crate::issuer::config::AuthServerConfig;
use crate::issuer::discovery::{Discovery, TENANT_PLACEHOLDER};
use crate::issuer::url_rules::{parse_http_url, parse_issuer, parse_resource_identifier};
use crate::issuer::{Issuer, Issuers};
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
    dpop: Option<DpopOptions>,
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
            dpop: None,
        }
    }

    /// Trusts this authorization server to issue tokens for the resource. The first one added is
    /// the one most clients use.
    pub fn authorization_server(mut self, server: AuthServerConfig) -> Self {
        self.authorization_servers.push(server);
        self
    }

    /// Sender-constrained tokens (DPoP, RFC 9449): its bearer layers accept DPoP tokens with
    /// their proofs, or only those, and the metadata says so. See [`dpop`](crate::dpop).
    pub fn dpop(mut self, options: DpopOptions) -> Self {
        self.dpop = Some(options);
        self
    }

    /// The scopes clients may request (`scopes_supported`). Nothing fills it for you: list the
    /// layer's required scopes and those of its operation rules here if clients should learn
    /// them from the metadata (the `mcp-auth` command does that for its own rules).
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

    /// Checks everything and computes what requests will need; its authorization servers are
    /// shared through `shared` with the other resources that trust them.
    pub(crate) fn validate(self, shared: &mut Issuers) -> Result<ResourceConfig, ConfigError> {
        let url = parse_resource_identifier(&self.identifier)?;
        if self.authorization_servers.is_empty() {
            return Err(ConfigError::NoAuthorizationServer {
                resource: self.identifier,
            });
        }
        let mut issuers: Vec<String> = Vec::with_capacity(self.authorization_servers.len());
        let mut identifiers: Vec<&str> = Vec::with_capacity(self.authorization_servers.len());
        for server in &self.authorization_servers {
            let issuer = server.issuer();
            match server.tenants() {
                // A template is an issuer once a tenant stands in its place.
                Some(_) => parse_issuer(
                    &issuer.replace(TENANT_PLACEHOLDER, "common"),
                    server.allows_insecure_http(),
                )?,
                None if issuer.contains(TENANT_PLACEHOLDER) => {
                    return Err(ConfigError::invalid_setting(
                        "AuthServerConfig",
                        "issuer",
                        format!(
                            "{issuer} holds {TENANT_PLACEHOLDER}: describe a multi-tenant issuer with Discovery::multi_tenant and the tenants it accepts"
                        ),
                    ));
                }
                None => parse_issuer(issuer, server.allows_insecure_http())?,
            };
            if let Some(url) = server
                .discovery()
                .filter(|_| server.metadata().is_none())
                .and_then(Discovery::ambiguous_root_issuer)
            {
                return Err(ConfigError::AmbiguousIssuer {
                    well_known_url: url.to_owned(),
                });
            }
            let published = server.published_issuer();
            if identifiers.contains(&issuer) || issuers.iter().any(|known| known == published) {
                return Err(ConfigError::DuplicateIssuer {
                    resource: self.identifier,
                    issuer: issuer.to_owned(),
                });
            }
            identifiers.push(issuer);
            issuers.push(published.to_owned());
        }
        for scope in &self.document.scopes_supported {
            check_scope_token(scope)?;
        }
        let pages = [
            &self.document.resource_documentation,
            &self.document.resource_policy_uri,
            &self.document.resource_tos_uri,
        ];
        for page in pages.into_iter().flatten() {
            parse_http_url(UrlKind::ResourcePage, page)?;
        }
        let metadata_url = well_known_url(&url);
        let mut document = ProtectedResourceMetadata {
            resource: self.identifier.clone(),
            authorization_servers: issuers,
            ..self.document
        };
        if let Some(dpop) = &self.dpop {
            dpop.check()?;
            document.dpop_signing_alg_values_supported = dpop.algorithm_names();
            document.dpop_bound_access_tokens_required = dpop.mode == DpopMode::Required;
        }
        let authorization_servers = self
            .authorization_servers
            .into_iter()
            .map(|server| shared.share(server))
            .collect::<Result<_, _>>()?;
        Ok(ResourceConfig {
            identifier: self.identifier,
            url,
            metadata_url,
            authorization_servers,
            document,
            dpop: self.dpop,
        })
    }
}

/// A protected resource whose configuration passed every check.
#[derive(Debug, Clone)]
pub(crate) struct ResourceConfig {
    pub(crate) identifier: String,
    pub(crate) url: Url,
    pub(crate) metadata_url: Url,
    pub(crate) authorization_servers: Vec<Arc<Issuer>>,
    pub(crate) document: ProtectedResourceMetadata,
    pub(crate) dpop: Option<DpopOptions>,
}
