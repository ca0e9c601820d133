//! How the MCP endpoint is protected, said once for `demo`, `serve` and `proxy`: a [`Plan`]
//! (from flags, or from the demo's own settings) becomes the [`McpAuth`] with its metadata and
//! the [`BearerAuthLayer`] in front of the endpoint.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mcp_auth::bearer::BearerAuthLayer;
use mcp_auth::policy::DecisionPoint;
use mcp_auth::provider::Provider;
use mcp_auth::verify::{ApiKey, IntrospectionOptions, JwtOptions};
use mcp_auth::{AuthServerConfig, McpAuth, ProtectedResource};

use crate::Failure;
use crate::cel_rules::CelRuleArgs;
use crate::dpop_args::Dpop;
use crate::mcp_server;
use crate::observability::Observing;
use crate::opaque_tokens;
use crate::role_rules::RoleArgs;
use crate::scope_rules::ScopeRules;

/// Everything that decides how the endpoint is protected.
pub(crate) struct Plan {
    /// The resource identifier, as published.
    pub(crate) resource: String,
    /// Its trusted authorization servers.
    pub(crate) servers: Vec<AuthServerConfig>,
    /// `resource_name` in its metadata.
    pub(crate) resource_name: Option<String>,
    /// The accepted audiences, when not the resource identifier.
    pub(crate) audiences: Vec<String>,
    /// Clients whose tokens are accepted without naming the resource (a named relaxation).
    pub(crate) allowed_client_ids: Vec<String>,
    /// The scopes every request needs.
    pub(crate) scopes: Vec<String>,
    /// The per-operation scope rules.
    pub(crate) rules: ScopeRules,
    /// Where roles are read, which tools need them, what scopes they grant.
    pub(crate) roles: RoleArgs,
    /// The rules in CEL.
    pub(crate) cel_rules: CelRuleArgs,
    /// The policy decision point asked after the local rules, if any.
    pub(crate) decision_point: Option<Arc<dyn DecisionPoint>>,
    /// The identity provider whose tokens these are, when named.
    pub(crate) provider: Option<Provider>,
    pub(crate) leeway: Duration,
    /// How long a body read for its operations may take (the library's default when `None`).
    pub(crate) body_timeout: Option<Duration>,
    pub(crate) allowed_origins: Vec<String>,
    /// The Host header values the endpoint accepts (its own defaults when empty).
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) introspection: Option<IntrospectionOptions>,
    pub(crate) api_keys: Vec<ApiKey>,
    /// Refusals say why in their `error_description` (the demo, for learning).
    pub(crate) show_error_details: bool,
}

/// What a plan became: the metadata, the layer and what the start banner shows.
pub(crate) struct Protection {
    pub(crate) auth: McpAuth,
    pub(crate) bearer: BearerAuthLayer,
    /// The resource identifier, as published.
    pub(crate) resource: String,
    pub(crate) rules: ScopeRules,
    /// The trusted issuers (a multi-tenant one as its template).
    pub(crate) issuers: Vec<String>,
    /// The identity provider, when named.
    pub(crate) provider: Option<Provider>,
    /// The Host header values the MCP endpoint accepts.
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) api_keys: Vec<ApiKey>,
}

impl Plan {
    /// The resource, its metadata (every rule's scopes published, so that clients know what to
    /// ask for) and its layer for a server bound at `bound`, observed by `observing`, with
    /// `dpop`'s proof settings.
    pub(crate) fn protect(
        self,
        bound: SocketAddr,
        observing: &Observing,
        dpop: &Dpop,
    ) -> Result<Protection, Failure> {
        let issuers = self
            .servers
            .iter()
            .map(|server| server.issuer().to_owned())
            .collect();
        let mut protected = self
            .servers
            .into_iter()
            .fold(ProtectedResource::new(&self.resource), |r, server| {
                r.authorization_server(server)
            })
            .scopes_supported(self.rules.published(&self.scopes));
        if let Some(name) = self.resource_name {
            protected = protected.resource_name(name);
        }
        let auth = McpAuth::builder()
            .protected_resource(dpop.apply(protected))
            .build()
            .map_err(|err| err.to_string())?;
        let operations = self.roles.operations(self.rules.operations());
        let mut operations = self.cel_rules.operations(operations);
        if let Some(timeout) = self.body_timeout {
            operations = operations.body_timeout(timeout);
        }
        // JWT mode stays on next to introspection and API keys: the token's shape picks the
        // verifier.
        let bearer = auth.bearer().jwt(JwtOptions::default());
        let bearer = match &self.provider {
            Some(provider) => provider.configure(bearer),
            None => bearer,
        };
        let mut bearer = self
            .roles
            .apply(bearer)
            .required_scopes(self.scopes)
            .leeway(self.leeway)
            .allowed_origins(self.allowed_origins)
            .operations(operations)
            .show_error_details(self.show_error_details);
        for audience in self.audiences {
            bearer = bearer.audience(audience);
        }
        if !self.allowed_client_ids.is_empty() {
            bearer = bearer.allowed_client_ids(self.allowed_client_ids);
        }
        if let Some(options) = self.introspection {
            bearer = bearer.introspection(options);
        }
        if let Some(keys) = opaque_tokens::api_keys(&self.api_keys) {
            bearer = bearer.api_keys(keys);
        }
        if let Some(decision_point) = self.decision_point {
            bearer = bearer.shared_decision_point(decision_point);
        }
        let cel_rules = &self.cel_rules;
        let bearer = observing.apply(bearer).build().map_err(|err| {
            // A rule in CEL that does not compile is named where it was written.
            cel_rules
                .refused(&err)
                .unwrap_or_else(|| Failure::Failed(err.to_string()))
        })?;
        if self.allowed_hosts.iter().any(String::is_empty) {
            let message = "--allowed-host is empty: name a host such as api.example.com";
            return Err(Failure::Failed(message.to_owned()));
        }
        let allowed_hosts = if self.allowed_hosts.is_empty() {
            mcp_server::default_allowed_hosts(bearer.resource_url(), bound)
        } else {
            self.allowed_hosts
        };
        Ok(Protection {
            auth,
            bearer,
            resource: self.resource,
            rules: self.rules,
            issuers,
            provider: self.provider,
            allowed_hosts,
            api_keys: self.api_keys,
        })
    }
}
