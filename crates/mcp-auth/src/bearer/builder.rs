//! [`BearerAuthBuilder`]: the settings of one bearer layer, checked when it is built.

use std::sync::Arc;
use std::time::Duration;

use super::challenge::ChallengeParams;
use super::layer::BearerAuthLayer;
use super::observer::Observer;
use super::origin::AllowedOrigins;
use super::policy::Policy;
use crate::dpop::RequestProofs;
use crate::error::ConfigError;
use crate::issuer::discovery::Tenants;
use crate::observe::{AuditEvent, AuditHook};
use crate::operations::{OperationRules, Permissions};
use crate::policy::DecisionPoint;
use crate::resource::ResourceConfig;
use crate::scope::{ScopeRelation, SharedScopeRelation, check_scope_token};
use crate::sessions::SessionBinding;
use crate::verify::{
    ApiKeyVerifier, ApiKeys, CustomVerifier, IdentityMapping, IntrospectionOptions,
    IntrospectionVerifier, JwtOptions, JwtVerifier, KeyCaches, OpaqueVerifier, TokenRules,
    TokenVerifier, TrustedIssuer, UserinfoOptions, UserinfoVerifier, Verifier,
};

/// The clock skew tolerated on a token's expiry unless [`BearerAuthBuilder::leeway`] says
/// otherwise.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// How long a custom verifier may take unless
/// [`BearerAuthBuilder::verifier_timeout`] says otherwise.
pub const DEFAULT_VERIFIER_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest leeway accepted: clock skew is seconds or minutes, never days.
const MAX_LEEWAY: Duration = Duration::from_secs(3600);

/// Settings of one bearer layer; [`build`](Self::build) checks them.
#[must_use = "call .build() to get the layer"]
#[derive(Clone)]
pub struct BearerAuthBuilder {
    resources: Arc<[ResourceConfig]>,
    key_caches: Arc<KeyCaches>,
    resource: Option<String>,
    verifier: Option<Arc<dyn TokenVerifier>>,
    verifier_timeout: Option<Duration>,
    jwt: JwtMode,
    introspection: Option<IntrospectionOptions>,
    userinfo: Option<UserinfoOptions>,
    api_keys: Option<ApiKeys>,
    audiences: Vec<String>,
    clients_instead_of_audience: Vec<String>,
    roles_claims: Vec<String>,
    role_scopes: Vec<(String, Vec<String>)>,
    required_scopes: Vec<String>,
    scope_relation: SharedScopeRelation,
    leeway: Duration,
    allowed_origins: Vec<String>,
    show_error_details: bool,
    operations: Option<OperationRules>,
    decision_point: Option<Arc<dyn DecisionPoint>>,
    session_binding: SessionBinding,
    audit: Option<AuditHook>,
}

impl BearerAuthBuilder {
    pub(crate) fn new(resources: Arc<[ResourceConfig]>, key_caches: Arc<KeyCaches>) -> Self {
        Self {
            resources,
            key_caches,
            resource: None,
            verifier: None,
            verifier_timeout: None,
            jwt: JwtMode::Unstated,
            introspection: None,
            userinfo: None,
            api_keys: None,
            audiences: Vec::new(),
            clients_instead_of_audience: Vec::new(),
            roles_claims: Vec::new(),
            role_scopes: Vec::new(),
            required_scopes: Vec::new(),
            scope_relation: SharedScopeRelation::default(),
            leeway: DEFAULT_LEEWAY,
            allowed_origins: Vec::new(),
            show_error_details: false,
            operations: None,
            decision_point: None,
            session_binding: SessionBinding::default(),
            audit: None,
        }
    }

    /// A policy decision point asked about every call naming a tool, prompt or resource that
    /// the layer's own checks (scopes, roles, [`OperationRules`] rules) let through: a denial is
    /// answered 403 `policy_denied` with no scope challenge, an error or a timeout 503, never a
    /// pass. Lists are filtered by one batch question
    /// (`rmcp::decided_tools` and its siblings). The AuthZEN client
    /// `policy::AuthZen` is one; any [`DecisionPoint`] is another.
    ///
    /// ```
    /// use mcp_auth::policy::{AccessRequest, DecisionFuture, DecisionPoint};
    /// # use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
    /// # let auth = McpAuth::builder()
    /// #     .protected_resource(ProtectedResource::new("https://api.example.com/mcp")
    /// #         .authorization_server(AuthServerConfig::lazy("https://auth.example.com", AuthServerType::Oidc)))
    /// #     .build()?;
    ///
    /// struct NoDeletes;
    /// impl DecisionPoint for NoDeletes {
    ///     fn decide<'a>(&'a self, request: &'a AccessRequest) -> DecisionFuture<'a, bool> {
    ///         let allowed = !request.resource.id.starts_with("delete_");
    ///         Box::pin(async move { Ok(allowed) })
    ///     }
    /// }
    ///
    /// let bearer = auth.bearer().decision_point(NoDeletes).build()?;
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn decision_point(mut self, decision_point: impl DecisionPoint) -> Self {
        self.decision_point = Some(Arc::new(decision_point));
        self
    }

    /// A decision point shared with other layers or code.
    pub fn shared_decision_point(mut self, decision_point: Arc<dyn DecisionPoint>) -> Self {
        self.decision_point = Some(decision_point);
        self
    }

    /// Which configured protected resource this layer guards; needed only when there are several.
    pub fn resource(mut self, identifier: impl Into<String>) -> Self {
        self.resource = Some(identifier.into());
        self
    }

    /// The verifier that turns a token into an [`AuthInfo`](crate::AuthInfo) (custom mode). It
    /// replaces the built-in verifiers: with one, [`jwt`](Self::jwt),
    /// [`introspection`](Self::introspection) and [`api_keys`](Self::api_keys) are a
    /// [`ConfigError`].
    pub fn verifier(mut self, verifier: impl TokenVerifier) -> Self {
        self.verifier = Some(Arc::new(verifier));
        self
    }

    /// A verifier shared with other layers or code, as `Arc<dyn TokenVerifier>`.
    pub fn shared_verifier(mut self, verifier: Arc<dyn TokenVerifier>) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// Longest a custom [`verifier`](Self::verifier) may take on one token
    /// ([`DEFAULT_VERIFIER_TIMEOUT`], 10 s, unless set); past it the request gets 503, never
    /// a pass. Without a custom verifier, `build` refuses it: JWT mode bounds its fetches with
    /// [`JwtOptions::fetch_timeout`].
    pub fn verifier_timeout(mut self, timeout: Duration) -> Self {
        self.verifier_timeout = Some(timeout);
        self
    }

    /// Turns JWT mode on with these settings: tokens are JWTs signed with a key from their
    /// issuer's key set. It is on by default when neither [`introspection`](Self::introspection)
    /// nor [`api_keys`](Self::api_keys) is set; with either, say whether JWTs are accepted too:
    /// this, or [`without_jwt`](Self::without_jwt) (left unsaid, [`build`](Self::build) refuses
    /// with [`ConfigError::JwtModeUnstated`]).
    pub fn jwt(mut self, options: JwtOptions) -> Self {
        self.jwt = JwtMode::On(Box::new(options));
        self
    }

    /// Turns JWT mode off: only [`introspection`](Self::introspection) and
    /// [`api_keys`](Self::api_keys) decide. Every token that is not an API key goes to
    /// introspection when it is on, JWTs included (for providers whose JWTs must be
    /// introspected, so that a revoked one is refused), and is refused otherwise.
    ///
    /// ```
    /// use mcp_auth::verify::{ApiKey, ApiKeys};
    /// use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
    ///
    /// # fn main() -> Result<(), mcp_auth::ConfigError> {
    /// let auth = McpAuth::builder()
    ///     .protected_resource(ProtectedResource::new("https://mcp.example.com/mcp").authorization_server(
    ///         AuthServerConfig::lazy("https://auth.example.com", AuthServerType::OAuth),
    ///     ))
    ///     .build()?;
    /// let keys = ApiKeys::new().key(ApiKey::from_plain_text("test", "ci-bot"));
    /// let keys_only = auth.bearer().api_keys(keys).without_jwt().build()?;
    /// # Ok(()) }
    /// ```
    pub fn without_jwt(mut self) -> Self {
        self.jwt = JwtMode::Off;
        self
    }

    /// Turns introspection mode on (RFC 7662): tokens that are not JWTs (all tokens, when JWT
    /// mode is off) are posted to the authorization server's introspection endpoint.
    ///
    /// ```
    /// use mcp_auth::verify::{IntrospectionOptions, JwtOptions};
    /// use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
    ///
    /// # fn main() -> Result<(), mcp_auth::ConfigError> {
    /// let auth = McpAuth::builder()
    ///     .protected_resource(ProtectedResource::new("https://mcp.example.com/mcp").authorization_server(
    ///         AuthServerConfig::lazy("https://auth.example.com", AuthServerType::OAuth),
    ///     ))
    ///     .build()?;
    /// // Opaque tokens by introspection, and JWTs from the key set too:
    /// let bearer = auth
    ///     .bearer()
    ///     .introspection(IntrospectionOptions::new("mcp-server", "secret"))
    ///     .jwt(JwtOptions::default())
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn introspection(mut self, options: IntrospectionOptions) -> Self {
        self.introspection = Some(options);
        self
    }

    /// Turns userinfo mode on, for providers whose access tokens are opaque and who offer no
    /// introspection (Google, GitHub, any OpenID Provider's UserInfo): tokens that are not JWTs
    /// (all tokens, when JWT mode is off) are sent to the provider's user endpoint, exactly
    /// where [`introspection`](Self::introspection) would send them; the two exclude each
    /// other. Like introspection, say whether JWTs are accepted too
    /// ([`jwt`](Self::jwt) or [`without_jwt`](Self::without_jwt)). The answers say who the
    /// user is, not which resource the token is for: name your clients with
    /// [`allowed_client_ids`](Self::allowed_client_ids) (required for Google), or accept any
    /// client with [`UserinfoOptions::accept_any_audience`].
    ///
    /// ```
    /// use mcp_auth::verify::UserinfoOptions;
    /// use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
    /// use mcp_auth::metadata::AuthorizationServerMetadata;
    ///
    /// # fn main() -> Result<(), mcp_auth::ConfigError> {
    /// // GitHub publishes no metadata: describe its authorization server by hand.
    /// let mut github = AuthorizationServerMetadata::new("https://github.com/login/oauth");
    /// github.authorization_endpoint = Some("https://github.com/login/oauth/authorize".into());
    /// github.token_endpoint = Some("https://github.com/login/oauth/access_token".into());
    /// let auth = McpAuth::builder()
    ///     .protected_resource(
    ///         ProtectedResource::new("https://mcp.example.com/mcp")
    ///             .authorization_server(AuthServerConfig::new(github, AuthServerType::OAuth)),
    ///     )
    ///     .build()?;
    /// let bearer = auth
    ///     .bearer()
    ///     .userinfo(UserinfoOptions::github().github_org("acme"))
    ///     .allowed_client_ids(["Iv1.0123456789abcdef"]) // your OAuth app
    ///     .without_jwt()
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn userinfo(mut self, options: UserinfoOptions) -> Self {
        self.userinfo = Some(options);
        self
    }

    /// Accepts these API keys (static keys for scripts and CI, presented as bearer tokens).
    /// Their [`AuthInfo`](crate::AuthInfo) has the resource as issuer and audience, no expiry,
    /// and the key's subject and scopes.
    ///
    /// ```
    /// use mcp_auth::verify::{ApiKey, ApiKeys, JwtOptions};
    /// use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
    ///
    /// # fn main() -> Result<(), mcp_auth::ConfigError> {
    /// let auth = McpAuth::builder()
    ///     .protected_resource(ProtectedResource::new("https://mcp.example.com/mcp").authorization_server(
    ///         AuthServerConfig::lazy("https://auth.example.com", AuthServerType::OAuth),
    ///     ))
    ///     .build()?;
    /// let keys = ApiKeys::new().key(
    ///     ApiKey::new("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "ci-bot")
    ///         .scopes(["mcp:tools"]),
    /// );
    /// let bearer = auth
    ///     .bearer()
    ///     .api_keys(keys)
    ///     .jwt(JwtOptions::default()) // JWTs from the issuer too (or .without_jwt())
    ///     .required_scopes(["mcp:tools"])
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn api_keys(mut self, keys: ApiKeys) -> Self {
        self.api_keys = Some(keys);
        self
    }

    /// An audience the token's `aud` may contain (RFC 8707); call again to accept several.
    /// Without any, the audience is the resource identifier, exactly as published.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// **A named relaxation of the audience check**, for providers whose access tokens do not
    /// name the resource: Cognito's carry no `aud`, Keycloak's (without an audience mapper) only
    /// `account`. A token whose `aud` names none of the layer's audiences is then accepted when
    /// its client (`client_id`, else `azp`) is one of `clients`, and a JWT may come without
    /// `aud`; any other is refused as before. The client check is the audience check there: a
    /// token the provider issued to another of its clients is refused. Call again to allow
    /// more; the layer logs the relaxation at `warn` when it is built. Off by default.
    ///
    /// ```
    /// use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
    ///
    /// let auth = McpAuth::builder()
    ///     .protected_resource(ProtectedResource::new("https://api.example.com/mcp").authorization_server(
    ///         AuthServerConfig::lazy("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc", AuthServerType::Oidc),
    ///     ))
    ///     .build()?;
    /// let bearer = auth.bearer().allowed_client_ids(["4abc1234example"]).build()?;
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn allowed_client_ids<I, S>(mut self, clients: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.clients_instead_of_audience
            .extend(clients.into_iter().map(Into::into));
        self
    }

    /// A claim holding the subject's roles or groups, read into
    /// [`AuthInfo::roles`](crate::AuthInfo::roles) by JWT mode and introspection: a claim name
    /// (`roles`, `groups`, `cognito:groups`, a namespaced `https://example.com/roles`) or a
    /// dotted path (`realm_access.roles`, `resource_access.CLIENT.roles`); the exact name is
    /// tried first. Call again for several; their roles add up. A string is one role, an array
    /// of strings a role each; another type refuses the token. A custom verifier fills
    /// `roles` itself.
    ///
    /// ```
    /// # use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
    /// # let auth = McpAuth::builder()
    /// #     .protected_resource(ProtectedResource::new("https://api.example.com/mcp").authorization_server(
    /// #         AuthServerConfig::lazy("https://keycloak.example.com/realms/mcp", AuthServerType::Oidc),
    /// #     ))
    /// #     .build()?;
    /// let bearer = auth
    ///     .bearer()
    ///     .roles_claim("realm_access.roles")
    ///     .roles_claim("resource_access.mcp-server.roles")
    ///     .build()?;
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn roles_claim(mut self, path: impl Into<String>) -> Self {
        self.roles_claims.push(path.into());
        self
    }

    /// Scopes a caller holding `role` is granted, on top of its token's, by JWT mode,
    /// introspection and userinfo mode: for servers whose rules are written against scopes, behind a provider
    /// that puts what a user may do in roles or groups (Keycloak realm roles, Entra app roles,
    /// Cognito groups). Call again for more roles or more scopes; a role is matched exactly.
    /// Scopes that are not RFC 6749 scope tokens are refused by [`build`](Self::build).
    ///
    /// ```
    /// # use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
    /// # let auth = McpAuth::builder()
    /// #     .protected_resource(ProtectedResource::new("https://api.example.com/mcp").authorization_server(
    /// #         AuthServerConfig::lazy("https://keycloak.example.com/realms/mcp", AuthServerType::Oidc),
    /// #     ))
    /// #     .build()?;
    /// let bearer = auth
    ///     .bearer()
    ///     .roles_claim("realm_access.roles")
    ///     .role_scopes("mcp-admins", ["mcp:admin"])
    ///     .build()?;
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn role_scopes<I, S>(mut self, role: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.role_scopes
            .push((role.into(), scopes.into_iter().map(Into::into).collect()));
        self
    }

    /// Scopes every request's token must hold; otherwise 403 `insufficient_scope`.
    pub fn required_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// How granted scopes satisfy required ones; [`ExactScopes`](crate::scope::ExactScopes) unless set, or for example
    /// [`PrefixScopes`](crate::scope::PrefixScopes) so that `files` implies `files:read`.
    pub fn scope_relation(mut self, relation: impl ScopeRelation) -> Self {
        self.scope_relation = SharedScopeRelation::new(relation);
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat`; [`DEFAULT_LEEWAY`] (60 s) unless set, at
    /// most an hour.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Browser origins allowed to call the resource, such as `https://app.example.com`. With
    /// any set, a request carrying another `Origin` gets 403 before its token is looked at.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Whether `error_description` tells clients the precise cause (handy in development) or
    /// only a generic sentence per error (the default). The token itself is never repeated.
    pub fn show_error_details(mut self, show: bool) -> Self {
        self.show_error_details = show;
        self
    }

    /// Scopes per tool, prompt, resource and JSON-RPC method, on top of the base
    /// [`required_scopes`](Self::required_scopes): a token lacking them gets the MCP step-up
    /// answer, 403 `insufficient_scope` naming every scope the operation needs. See
    /// [`operations`](crate::operations) for how a request's operations are read.
    pub fn operations(mut self, rules: OperationRules) -> Self {
        self.operations = Some(rules);
        self
    }

    /// How sessions are bound to the principal that created them: on by default (a request on
    /// another principal's session gets 404), bounded in entries and idle time. See
    /// [`SessionBinding`].
    pub fn session_binding(mut self, binding: SessionBinding) -> Self {
        self.session_binding = binding;
        self
    }

    /// Hands every decision of the layer (allowed, refused, unavailable) to `hook` as an
    /// [`AuditEvent`](crate::observe::AuditEvent), whose JSON form is stable: route it to a
    /// file, a queue, a SIEM. The hook runs on the request's path, so it should only hand the
    /// event on (a channel, a buffered writer), not wait. See [`observe`](crate::observe).
    pub fn audit(mut self, hook: impl Fn(&AuditEvent<'_>) + Send + Sync + 'static) -> Self {
        self.audit = Some(Arc::new(hook));
        self
    }

    /// Checks the settings and makes the layer.
    pub fn build(self) -> Result<BearerAuthLayer, ConfigError> {
        let resource = chosen_resource(&self.resources, self.resource.as_deref())?;
        for scope in &self.required_scopes {
            check_scope_token(scope)?;
        }
        if self.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::EmptyAudience);
        }
        if self
            .clients_instead_of_audience
            .iter()
            .any(String::is_empty)
        {
            return Err(ConfigError::invalid_setting(
                "BearerAuthBuilder",
                "allowed_client_ids",
                "a client id is empty: name the client ids your provider puts in client_id or azp",
            ));
        }
        if !self.clients_instead_of_audience.is_empty() {
            tracing::warn!(
                resource = %resource.identifier,
                clients = %self.clients_instead_of_audience.join(", "),
                "audience check relaxed: a token that does not name this resource is accepted from these clients (allowed_client_ids)"
            );
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::invalid_setting(
                "BearerAuthBuilder",
                "leeway",
                format!(
                    "{:?} is far longer than any clock skew (seconds or minutes): use at most one hour",
                    self.leeway
                ),
            ));
        }
        let audiences = if self.audiences.is_empty() {
            vec![resource.identifier.clone()]
        } else {
            self.audiences
        };
        let mut trusted_issuers: Vec<TrustedIssuer> = resource
            .authorization_servers
            .iter()
            .map(|server| match server.config().tenants() {
                Some(tenants) => TrustedIssuer::Tenants {
                    template: server.issuer().to_owned(),
                    tenants: tenants.clone(),
                },
                None => TrustedIssuer::Exact(server.issuer().to_owned()),
            })
            .collect();
        for server in &resource.authorization_servers {
            if server.config().tenants().is_some_and(Tenants::is_any) {
                tracing::warn!(
                    issuer = server.issuer(),
                    "tokens of any tenant of this issuer are accepted (Tenants::any): every organization using the provider can call this resource"
                );
            }
        }
        let mapping = IdentityMapping::new(
            self.scope_relation.clone(),
            self.roles_claims.clone(),
            self.role_scopes.clone(),
        )?;
        let verifier = match self.verifier {
            Some(custom) => {
                let built_in = [
                    (matches!(self.jwt, JwtMode::On(_)), "JWT options"),
                    (self.introspection.is_some(), "introspection"),
                    (self.userinfo.is_some(), "userinfo"),
                    (self.api_keys.is_some(), "API keys"),
                ];
                if let Some((_, built_in)) = built_in.iter().find(|(set, _)| *set) {
                    return Err(ConfigError::VerifierAndBuiltIn { built_in });
                }
                let timeout = self.verifier_timeout.unwrap_or(DEFAULT_VERIFIER_TIMEOUT);
                if timeout.is_zero() {
                    return Err(ConfigError::invalid_setting(
                        "BearerAuthBuilder",
                        "verifier_timeout",
                        "it is zero, so no token could ever be verified",
                    ));
                }
                Verifier::Custom(CustomVerifier::new(custom, timeout))
            }
            None => {
                if self.verifier_timeout.is_some() {
                    return Err(ConfigError::invalid_setting(
                        "BearerAuthBuilder",
                        "verifier_timeout",
                        "it bounds a custom verifier, and none is set: the built-in verifiers are bounded by their own options (fetch_timeout, timeout)",
                    ));
                }
                let servers = &resource.authorization_servers;
                if self.introspection.is_some() && self.userinfo.is_some() {
                    return Err(ConfigError::invalid_setting(
                        "BearerAuthBuilder",
                        "userinfo",
                        "introspection is set too, and opaque tokens go to one of them: keep the one your provider offers",
                    ));
                }
                let alongside = match (&self.introspection, &self.userinfo, &self.api_keys) {
                    (Some(_), _, _) => Some("introspection"),
                    (None, Some(_), _) => Some("userinfo"),
                    (None, None, Some(_)) => Some("API keys"),
                    (None, None, None) => None,
                };
                let jwt = match (self.jwt, alongside) {
                    (JwtMode::On(options), _) => Some(*options),
                    (JwtMode::Unstated, None) => Some(JwtOptions::default()),
                    (JwtMode::Off, Some(_)) => None,
                    (JwtMode::Unstated, Some(alongside)) => {
                        return Err(ConfigError::JwtModeUnstated { alongside });
                    }
                    (JwtMode::Off, None) => return Err(ConfigError::NoTokenVerifier),
                };
                let jwt = match jwt {
                    Some(options) => Some(Box::new(JwtVerifier::new(
                        servers,
                        &self.key_caches,
                        options,
                        mapping.clone(),
                        self.clients_instead_of_audience.is_empty(),
                    )?)),
                    None => None,
                };
                let opaque = match (self.introspection, self.userinfo) {
                    (Some(options), _) => Some(OpaqueVerifier::Introspection(Box::new(
                        IntrospectionVerifier::new(servers, options, mapping.clone())?,
                    ))),
                    (None, Some(options)) => {
                        options.check()?;
                        options.check_audience(
                            &self.clients_instead_of_audience,
                            &resource.identifier,
                        )?;
                        if !options.answers_hold_roles()
                            && (!self.roles_claims.is_empty() || !self.role_scopes.is_empty())
                        {
                            return Err(ConfigError::invalid_setting(
                                "BearerAuthBuilder",
                                "roles_claim",
                                "GitHub's /user answer holds no roles, only fields its user edits (company, bio, name): anyone could claim a role read from it",
                            ));
                        }
                        Some(OpaqueVerifier::Userinfo(Box::new(UserinfoVerifier::new(
                            servers,
                            options,
                            mapping.clone(),
                            &audiences,
                        )?)))
                    }
                    (None, None) => None,
                };
                let api_keys = match self.api_keys {
                    Some(keys) => {
                        // The resource issues its API keys to itself.
                        trusted_issuers.push(TrustedIssuer::Exact(resource.identifier.clone()));
                        Some(ApiKeyVerifier::new(
                            keys,
                            &resource.identifier,
                            &audiences,
                            &self.scope_relation,
                        )?)
                    }
                    None => None,
                };
                Verifier::BuiltIn {
                    jwt,
                    opaque,
                    api_keys,
                }
            }
        };
        let challenge = ChallengeParams::new(
            resource.metadata_url.as_str(),
            &self.required_scopes,
            self.show_error_details,
            resource.dpop.as_ref(),
        );
        if let Some(rules) = &self.operations {
            rules.check()?;
            let reads_roles =
                !self.roles_claims.is_empty() || matches!(verifier, Verifier::Custom(_));
            if rules.has_role_rules() && !reads_roles {
                return Err(ConfigError::invalid_setting(
                    "OperationRules",
                    "tool_roles",
                    "no caller could ever hold a role, since none is read from tokens: name the claim holding them with BearerAuthBuilder::roles_claim",
                ));
            }
        }
        self.session_binding.check()?;
        let mut operations = self.operations;
        if self.decision_point.is_some() {
            operations
                .get_or_insert_with(OperationRules::default)
                .ask_decision_point();
        }
        if let Some(rules) = &mut operations {
            rules.compile()?;
        }
        let operations = operations.filter(|rules| !rules.is_empty());
        let permissions = operations.clone().map(|rules| {
            Permissions::new(
                rules,
                self.required_scopes.clone(),
                self.scope_relation.clone(),
                self.decision_point.clone(),
            )
        });
        let policy = Policy {
            verifier,
            rules: TokenRules {
                trusted_issuers,
                audiences,
                clients_instead_of_audience: self.clients_instead_of_audience,
                leeway: self.leeway.as_secs(),
            },
            required_scopes: self.required_scopes,
            scope_relation: self.scope_relation,
            allowed_origins: AllowedOrigins::new(&self.allowed_origins)?,
            challenge,
            operations,
            permissions,
            sessions: self.session_binding.build(),
            observer: Observer {
                resource: resource.url.to_string(),
                audit: self.audit,
            },
            dpop: resource
                .dpop
                .clone()
                .map(|options| RequestProofs::new(options, resource.url.clone())),
            decision_point: self.decision_point,
        };
        Ok(BearerAuthLayer::new(policy, resource.url.clone()))
    }
}

impl std::fmt::Debug for BearerAuthBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuthBuilder")
            .field("resource", &self.resource)
            .field("custom_verifier", &self.verifier.is_some())
            .field("verifier_timeout", &self.verifier_timeout)
            .field("jwt", &self.jwt)
            .field("audiences", &self.audiences)
            .field("allowed_client_ids", &self.clients_instead_of_audience)
            .field("roles_claims", &self.roles_claims)
            .field("role_scopes", &self.role_scopes)
            .field("required_scopes", &self.required_scopes)
            .field("leeway", &self.leeway)
            .field("allowed_origins", &self.allowed_origins)
            .field("show_error_details", &self.show_error_details)
            .field("operations", &self.operations)
            .field("decision_point", &self.decision_point.is_some())
            .finish_non_exhaustive()
    }
}

/// Whether JWT mode was asked for, refused, or left unsaid (on unless another mode is set).
#[derive(Clone, Debug)]
enum JwtMode {
    Unstated,
    On(Box<JwtOptions>),
    Off,
}

/// The resource a layer guards: the one named, or the only one configured.
fn chosen_resource<'r>(
    resources: &'r [ResourceConfig],
    wanted: Option<&str>,
) -> Result<&'r ResourceConfig, ConfigError> {
    let known = || resources.iter().map(|r| r.identifier.clone()).collect();
    match (wanted, resources) {
        (None, [only]) => Ok(only),
        (None, _) => Err(ConfigError::AmbiguousResource { known: known() }),
        (Some(wanted), resources) => resources
            .iter()
            .find(|r| r.identifier == wanted)
            .ok_or_else(|| ConfigError::UnknownResource {
                resource: wanted.to_owned(),
                known: known(),
            }),
    }
}
