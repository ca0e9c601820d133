//! Setup-time errors ([`ConfigError`]) kept apart from request-time ones ([`VerifyError`]), so a
//! misconfiguration never turns into a 401 at run time.

use std::borrow::Cow;
use std::fmt;

use crate::observe::Reason;

/// A configuration mistake found when building [`McpAuth`](crate::McpAuth) or a bearer layer.
///
/// Every message names the value at fault and what to change.
///
/// ```
/// use mcp_auth::{ConfigError, McpAuth, ProtectedResource};
///
/// let err = McpAuth::builder()
///     .protected_resource(ProtectedResource::new("/mcp"))
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, ConfigError::InvalidUrl { .. }));
/// assert!(err.to_string().contains("/mcp"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A URL that must be absolute `http(s)` is not, or carries a part it must not have.
    #[error("{kind} {url:?} is not usable: {reason}")]
    InvalidUrl {
        /// What the URL is for.
        kind: UrlKind,
        /// The URL as given, its user-info (`user:password@`) replaced by `***`.
        url: String,
        /// What is wrong with it and how to fix it.
        reason: String,
    },
    /// A scope is empty or has a character RFC 6749 §3.3 does not allow in a scope token.
    #[error(
        "scope {scope:?} is not a valid scope token (RFC 6749 §3.3 allows printable ASCII except space, '\"' and '\\\\')"
    )]
    InvalidScope {
        /// The scope as given.
        scope: String,
    },
    /// `McpAuth::builder()` was built without any protected resource.
    #[error("no protected resource configured: add one with McpAuthBuilder::protected_resource")]
    NoProtectedResource,
    /// The same resource identifier was configured twice.
    #[error(
        "protected resource {resource:?} is configured twice: each resource identifier must be unique"
    )]
    DuplicateResource {
        /// The repeated resource identifier.
        resource: String,
    },
    /// Two resources would publish their metadata at the same well-known path.
    #[error(
        "protected resources {first:?} and {second:?} both publish metadata at {path:?}: serve them from separate McpAuth values"
    )]
    DuplicateMetadataPath {
        /// The first resource.
        first: String,
        /// The second resource.
        second: String,
        /// The well-known path both would use.
        path: String,
    },
    /// A protected resource trusts no authorization server.
    #[error(
        "protected resource {resource:?} has no authorization server: add one with ProtectedResource::authorization_server (RFC 9728 clients need at least one)"
    )]
    NoAuthorizationServer {
        /// The resource.
        resource: String,
    },
    /// A lazily discovered server was given by the well-known URL of a root issuer, which does
    /// not say whether the issuer ends with a slash; tokens must name it exactly.
    #[error(
        "the well-known URL {well_known_url} does not say whether its issuer ends with a slash, and tokens must name it exactly: discover it now with AuthServerConfig::discover_with, or name the issuer with AuthServerConfig::lazy"
    )]
    AmbiguousIssuer {
        /// The well-known URL given.
        well_known_url: String,
    },
    /// The same issuer is trusted twice by one resource.
    #[error("protected resource {resource:?} lists authorization server {issuer:?} twice")]
    DuplicateIssuer {
        /// The resource.
        resource: String,
        /// The repeated issuer.
        issuer: String,
    },
    /// The bearer layer names a resource that `McpAuth` does not know.
    #[error(
        "bearer layer names resource {resource:?}, which is not configured; configured: {known:?}"
    )]
    UnknownResource {
        /// The resource the layer asked for.
        resource: String,
        /// The resources that are configured.
        known: Vec<String>,
    },
    /// The bearer layer did not say which resource it protects and there are several.
    #[error(
        "several protected resources are configured ({known:?}): say which one this layer protects with BearerAuthBuilder::resource"
    )]
    AmbiguousResource {
        /// The resources that are configured.
        known: Vec<String>,
    },
    /// An audience is the empty string, which no token should carry.
    #[error(
        "an audience is empty: name the audience your tokens carry, or leave it out to use the resource identifier"
    )]
    EmptyAudience,
    /// A CEL rule (`OperationRules::tool_rule`...) that cannot be used: it does not parse,
    /// reads a variable or field no call has, or loops in a way a request could make costly.
    #[error(
        "the rule {rule} cannot be used: {message} (line {line}, column {column} of its expression)"
    )]
    PolicyRule {
        /// The rule's id: `tool:NAME`, `prompt:NAME`, `resource:URI`, `resource_prefix:PREFIX`,
        /// `method:NAME` or `every_operation` (`#2`, `#3`... for further rules on one target).
        rule: String,
        /// The 1-based line in the expression.
        line: usize,
        /// The 1-based column (in characters) in that line.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A setting's value cannot be used: a bound that nothing could pass (zero where a size, a
    /// count or a time limit must fit something), bounds that contradict each other, a value
    /// out of its range. Every setting of every type reports this way.
    #[error("{of}::{setting} is not usable: {reason}")]
    InvalidSetting {
        /// The type whose setter is at fault: `"JwtOptions"`, `"IntrospectionOptions"`,
        /// `"UserinfoOptions"`,
        /// `"DpopOptions"`, `"Discovery"`, `"OperationRules"`, `"SessionBinding"`,
        /// `"BearerAuthBuilder"`, `"AuthZen"`.
        of: &'static str,
        /// The setter at fault, such as `"fetch_timeout"`.
        setting: &'static str,
        /// What is wrong with its value, and what to do.
        reason: String,
    },
    /// A custom verifier was given with a built-in one (JWT, introspection or API keys) to one
    /// bearer layer: a custom verifier replaces them.
    #[error(
        "the bearer layer was given both a custom verifier and {built_in}: a custom verifier replaces the built-in ones, so drop one of them"
    )]
    VerifierAndBuiltIn {
        /// The built-in verifier also given: `"JWT options"`, `"introspection"` or `"API keys"`.
        built_in: &'static str,
    },
    /// Introspection or API keys were set on a bearer layer without saying whether JWTs are
    /// accepted too.
    #[error(
        "the bearer layer verifies tokens by {alongside}; say whether it accepts JWTs too: .jwt(JwtOptions::default()) to verify JWTs from the key set, .without_jwt() to leave every token to {alongside}"
    )]
    JwtModeUnstated {
        /// The other mode set: `"introspection"` or `"API keys"`.
        alongside: &'static str,
    },
    /// JWT mode was turned off and no other way to verify tokens was set.
    #[error(
        "the bearer layer has JWT mode off and no other verifier: add .introspection(...), .api_keys(...) or .verifier(...), or drop .without_jwt()"
    )]
    NoTokenVerifier,
    /// Introspection names an issuer the resource does not trust.
    #[error(
        "IntrospectionOptions::issuer names {issuer}, which is not an authorization server of this resource: add it, or name one of them"
    )]
    UnknownIntrospectionIssuer {
        /// The issuer named.
        issuer: String,
    },
    /// The resource trusts several authorization servers and introspection names none.
    #[error(
        "the resource trusts several authorization servers: say which one introspects tokens with IntrospectionOptions::issuer"
    )]
    IntrospectionIssuerNotChosen,
    /// Introspection needs an endpoint and the server's metadata names none.
    #[error(
        "authorization server {issuer} has no introspection_endpoint in its metadata: set IntrospectionOptions::endpoint"
    )]
    NoIntrospectionEndpoint {
        /// The authorization server.
        issuer: String,
    },
    /// The legacy authorization server metadata mirror needs exactly one authorization server.
    #[error(
        "the legacy /.well-known/oauth-authorization-server mirror needs exactly one authorization server across the configuration; it cannot stand for several"
    )]
    LegacyMetadataNeedsOneServer,
    /// One issuer is described twice in different ways (other metadata, discovery, server type
    /// or plain-http permission): every layer shares one source of its metadata and keys, so it
    /// must be described once.
    #[error(
        "authorization server {issuer:?} is configured twice in different ways: build its AuthServerConfig once and clone it for each resource"
    )]
    IssuerConfiguredTwice {
        /// The issuer.
        issuer: String,
    },
    /// An API key digest is not 64 hexadecimal digits, or appears twice.
    #[error("API key {index}: {reason}")]
    InvalidApiKey {
        /// The key's position, from 0, in the order keys were added.
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An operation rule names an empty tool, prompt, resource or method.
    #[error(
        "an operation rule names an empty tool, prompt, resource or method: name what it guards"
    )]
    EmptyOperationName,
    /// A resource rule names a URI out of canonical form, which no request can be compared
    /// with.
    #[error(
        "the resource rule {uri:?} is not a canonical URI (no query, fragment, %-escape, ';', '\\', user-info, empty, '.' or '..' segment, upper-case scheme or host, default port; file: with an empty host): write it as requests name it, such as file:///private/"
    )]
    NonCanonicalResourceRule {
        /// The rule's URI as given.
        uri: String,
    },
    /// JWT mode needs the key set of an authorization server whose metadata has none.
    #[error(
        "authorization server {issuer} has no jwks_uri in its metadata, and JWT mode needs its key set: add jwks_uri, or use a custom verifier"
    )]
    NoJwksUri {
        /// The authorization server.
        issuer: String,
    },
    /// An allowed `Origin` is not a `scheme://host[:port]` origin.
    #[error("allowed origin {origin:?} is not usable: {reason}")]
    InvalidOrigin {
        /// The origin as given.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl ConfigError {
    /// [`InvalidSetting`](Self::InvalidSetting): `of::setting` cannot be used, because `reason`.
    pub(crate) fn invalid_setting(
        of: &'static str,
        setting: &'static str,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidSetting {
            of,
            setting,
            reason: reason.into(),
        }
    }
}

/// Why a [`TokenVerifier`](crate::TokenVerifier) did not accept a token: a refusal (401
/// `invalid_token`) or verification impossible for now (503, never accepted), with a
/// [`Reason`] code for logs, metrics and audit events and a description.
///
/// The description is shown to clients only when
/// [`show_error_details`](crate::bearer::BearerAuthBuilder::show_error_details) is on, and never
/// with the token in it.
///
/// ```
/// use mcp_auth::VerifyError;
/// use mcp_auth::observe::Reason;
///
/// let err = VerifyError::invalid_token("token revoked");
/// assert_eq!(err.to_string(), "invalid token: token revoked");
/// assert_eq!(err.reason(), Reason::InvalidToken);
///
/// let err = VerifyError::invalid_token("revoked by an administrator").with_reason(Reason::Inactive);
/// assert_eq!(err.reason(), Reason::Inactive);
/// assert!(!err.is_unavailable());
///
/// let err = VerifyError::unavailable("the user directory is down");
/// assert_eq!(err.reason(), Reason::IssuerUnavailable);
/// assert!(err.is_unavailable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    reason: Reason,
    detail: Cow<'static, str>,
}

impl VerifyError {
    /// A token that is not valid, with a description for logs and for detailed error responses;
    /// its code is [`Reason::InvalidToken`] until [`with_reason`](Self::with_reason) says more.
    pub fn invalid_token(detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            reason: Reason::InvalidToken,
            detail: detail.into(),
        }
    }

    /// Verification impossible for now (the key source is down), with a description for logs;
    /// its code is [`Reason::IssuerUnavailable`].
    pub fn unavailable(detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            reason: Reason::IssuerUnavailable,
            detail: detail.into(),
        }
    }

    /// The same error with a more precise code: [`Reason::Expired`], [`Reason::Inactive`],
    /// [`Reason::BadSignature`]... The code only names the cause in logs, metrics and audit
    /// events, except [`Reason::IssuerUnavailable`], which makes the error a 503.
    pub fn with_reason(self, reason: Reason) -> Self {
        Self { reason, ..self }
    }

    /// The code of the cause.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The description.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Whether verification was impossible (503) rather than the token refused (401).
    pub fn is_unavailable(&self) -> bool {
        self.reason == Reason::IssuerUnavailable
    }

    /// The code and the description, taken apart.
    pub(crate) fn into_parts(self) -> (Reason, Cow<'static, str>) {
        (self.reason, self.detail)
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.is_unavailable() {
            true => write!(f, "token verification unavailable: {}", self.detail),
            false => write!(f, "invalid token: {}", self.detail),
        }
    }
}

impl std::error::Error for VerifyError {}

/// What a URL is for: it decides the rules it must follow and the example an error suggests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlKind {
    /// The identifier of a protected resource (RFC 8707 / RFC 9728 `resource`).
    ResourceIdentifier,
    /// The issuer identifier of an authorization server (RFC 8414 §2).
    Issuer,
    /// The URL of an authorization server's well-known metadata document.
    WellKnownMetadata,
    /// An authorization server's key set (`jwks_uri`).
    JwksUri,
    /// An authorization server's token introspection endpoint (RFC 7662).
    IntrospectionEndpoint,
    /// A provider's UserInfo-style endpoint (OpenID Connect UserInfo, Google's tokeninfo,
    /// GitHub's `/user`).
    UserinfoEndpoint,
    /// A protected resource's documentation, policy or terms of service page.
    ResourcePage,
    /// A policy decision point (AuthZEN) or one of its endpoints.
    PolicyDecisionPoint,
}

impl UrlKind {
    /// A URL of this kind, for error messages.
    pub(crate) fn example(self) -> &'static str {
        match self {
            Self::ResourceIdentifier => "https://api.example.com/mcp",
            Self::Issuer => "https://auth.example.com",
            Self::WellKnownMetadata => "https://auth.example.com/.well-known/openid-configuration",
            Self::JwksUri => "https://auth.example.com/jwks",
            Self::IntrospectionEndpoint => "https://auth.example.com/introspect",
            Self::UserinfoEndpoint => "https://auth.example.com/userinfo",
            Self::ResourcePage => "https://api.example.com/docs",
            Self::PolicyDecisionPoint => "http://127.0.0.1:3592",
        }
    }
}

impl fmt::Display for UrlKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ResourceIdentifier => "resource identifier",
            Self::Issuer => "issuer",
            Self::WellKnownMetadata => "well-known metadata URL",
            Self::JwksUri => "jwks_uri",
            Self::IntrospectionEndpoint => "introspection endpoint",
            Self::UserinfoEndpoint => "userinfo endpoint",
            Self::ResourcePage => "resource page URL",
            Self::PolicyDecisionPoint => "policy decision point URL",
        })
    }
}
