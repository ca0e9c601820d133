//! The authorization flags `serve` and `proxy` share (issuers, resource, audience, scopes,
//! per-tool scopes, leeway, allowed hosts and origins, opaque tokens and API keys), and the
//! protection [`Plan`] they make.

use std::time::Duration;

use axum::Router;
use clap::{Args, ValueEnum};
use mcp_auth::observe::redact_userinfo;
use mcp_auth::provider::Provider;
use mcp_auth::verify::{ApiKey, IntrospectionOptions};
use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth};

use crate::Failure;
use crate::authzen_args::AuthZenArgs;
use crate::cel_rules::CelRuleArgs;
use crate::config_file::FileRules;
use crate::dpop_args::{Dpop, DpopArgs};
use crate::duration::parse_duration;
use crate::opaque_tokens::OpaqueTokenArgs;
use crate::protection::{Plan, Protection};
use crate::provider_args::ProviderArgs;
use crate::role_rules::RoleArgs;
use crate::scope_rules::OperationScopeArgs;
use crate::startup::Setup;

/// Authorization flags of `serve` and `proxy`; each can also come from its environment variable.
#[derive(Debug, Args)]
pub(crate) struct AuthArgs {
    /// Issuer of a trusted authorization server (repeatable; comma-separated in the variable).
    /// With --provider, once, for the provider's host.
    #[arg(
        long = "issuer",
        env = "MCP_AUTH_ISSUER",
        value_delimiter = ',',
        required_unless_present = "provider",
        hide_env_values = true
    )]
    pub(crate) issuers: Vec<String>,
    #[command(flatten)]
    provider: ProviderArgs,
    /// Which discovery document the issuers publish.
    #[arg(long, env = "MCP_AUTH_ISSUER_TYPE", value_enum, default_value = "oidc")]
    issuer_type: IssuerType,
    /// The resource identifier clients request tokens for [default: http://BIND/mcp].
    #[arg(long, env = "MCP_AUTH_RESOURCE")]
    resource: Option<String>,
    /// An audience the tokens' aud may name instead of the resource identifier (repeatable;
    /// comma-separated in the variable), for providers that cannot bind tokens to the resource
    /// (RFC 8707), such as Entra ID's api://... app ID URI or client id [default: the resource
    /// identifier]. Given any, the resource identifier is accepted only if listed too.
    #[arg(long = "audience", env = "MCP_AUTH_AUDIENCE", value_delimiter = ',')]
    audiences: Vec<String>,
    /// Relaxes the audience check for providers whose access tokens do not name the resource
    /// (Cognito: no aud; Keycloak without an audience mapper: account): a token that does not
    /// name it is accepted when its client (client_id, else azp) is this one (repeatable;
    /// comma-separated in the variable). Logged at start; off by default.
    #[arg(
        long = "allowed-client-id",
        env = "MCP_AUTH_ALLOWED_CLIENT_ID",
        value_delimiter = ','
    )]
    allowed_client_ids: Vec<String>,
    /// A scope every request needs (repeatable; comma-separated in the variable).
    #[arg(long = "scope", env = "MCP_AUTH_SCOPE", value_delimiter = ',')]
    pub(crate) scopes: Vec<String>,
    #[command(flatten)]
    pub(crate) operations: OperationScopeArgs,
    #[command(flatten)]
    pub(crate) roles: RoleArgs,
    #[command(flatten)]
    pub(crate) cel_rules: CelRuleArgs,
    #[command(flatten)]
    authzen: AuthZenArgs,
    #[command(flatten)]
    leeway: LeewayArgs,
    /// Longest wait for a request body read to find its operations (when there are operation
    /// rules), then 400: seconds, or milliseconds with an ms suffix (300ms).
    #[arg(
        long,
        env = "MCP_AUTH_BODY_TIMEOUT",
        value_name = "SECS",
        default_value = "30",
        value_parser = parse_duration
    )]
    body_timeout: Duration,
    /// A Host header value the MCP endpoint accepts (repeatable) [default: the resource's host,
    /// the bound address, localhost].
    #[arg(
        long = "allowed-host",
        env = "MCP_AUTH_ALLOWED_HOST",
        value_delimiter = ','
    )]
    allowed_hosts: Vec<String>,
    /// A browser origin allowed to call the MCP endpoint, such as https://app.example.com
    /// (repeatable; comma-separated in the variable). With any given, a request carrying
    /// another Origin gets 403 before its token is looked at [default: any origin].
    #[arg(
        long = "allowed-origin",
        env = "MCP_AUTH_ALLOWED_ORIGIN",
        value_delimiter = ','
    )]
    allowed_origins: Vec<String>,
    /// Trust issuers over plain http off loopback too. Anyone on the path could swap their keys
    /// and sign any token: for test networks only, never in production.
    #[arg(long, env = "MCP_AUTH_INSECURE_HTTP_ISSUERS")]
    insecure_http_issuers: bool,
    /// Deprecated protocol support: also serve the (single) issuer's metadata at
    /// /.well-known/oauth-authorization-server on this server's origin, for MCP clients of the
    /// 2025-03-26 protocol that look for it there.
    #[arg(long, env = "MCP_AUTH_LEGACY_AS_METADATA")]
    pub(crate) legacy_as_metadata: bool,
    #[command(flatten)]
    pub(crate) dpop: DpopArgs,
    #[command(flatten)]
    tokens: OpaqueTokenArgs,
}

/// `--leeway`: the clock skew tolerated on token times, for `demo`, `serve` and `proxy`.
#[derive(Debug, Args)]
pub(crate) struct LeewayArgs {
    /// Clock skew tolerated on token times, in seconds.
    #[arg(long = "leeway", env = "MCP_AUTH_LEEWAY", default_value_t = 60)]
    seconds: u64,
}

impl LeewayArgs {
    /// The leeway the flag gives.
    pub(crate) fn duration(&self) -> Duration {
        Duration::from_secs(self.seconds)
    }
}

/// `--issuer-type`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum IssuerType {
    /// RFC 8414 metadata.
    Oauth,
    /// OpenID Connect Discovery metadata.
    Oidc,
}

impl From<IssuerType> for AuthServerType {
    fn from(kind: IssuerType) -> Self {
        match kind {
            IssuerType::Oauth => AuthServerType::OAuth,
            IssuerType::Oidc => AuthServerType::Oidc,
        }
    }
}

/// The token settings checked before anything starts: flags that do not fit together are a
/// usage error (exit 2).
pub(crate) struct TokenSettings {
    introspection: Option<IntrospectionOptions>,
    api_keys: Vec<ApiKey>,
    provider: Option<Provider>,
}

impl AuthArgs {
    /// Takes in the rules of a configuration file's tables: they add up with the flags'.
    pub(crate) fn add_file_rules(&mut self, rules: FileRules) {
        for (kind, rule) in rules.scopes {
            self.operations.add(kind, rule);
        }
        for rule in rules.tool_roles {
            self.roles.add_tool_role(rule);
        }
        for rule in rules.cel {
            self.cel_rules.add(rule);
        }
    }

    /// Refuses what the built-in server (`serve`) cannot use: rules on a tool it does not have,
    /// on prompts or on resources.
    pub(crate) fn check_builtin_server(&self) -> Result<(), Failure> {
        self.operations.check_builtin_server()?;
        self.roles.check_builtin_tools()?;
        self.cel_rules.check_builtin_server()
    }

    /// The first issuer introspects: one server must answer for a token, and the order given
    /// is the only preference there is.
    fn first_issuer(&self) -> Option<&str> {
        self.issuers.first().map(String::as_str)
    }

    /// Checks the role, introspection and API key flags.
    pub(crate) fn token_settings(&self) -> Result<TokenSettings, Failure> {
        let provider =
            self.provider
                .provider(&self.issuers, &self.audiences, &self.allowed_client_ids)?;
        let provider_roles = provider
            .as_ref()
            .is_some_and(|provider| provider.roles_claim().is_some());
        self.roles.check(provider_roles)?;
        let introspection = self
            .tokens
            .introspection(self.first_issuer())
            .map_err(Failure::Usage)?;
        let api_keys = self.tokens.api_key_entries().map_err(Failure::Usage)?;
        Ok(TokenSettings {
            introspection,
            api_keys,
            provider,
        })
    }

    /// The protected resource at `setup`'s address (its identifier `http://BOUND/mcp` unless
    /// `--resource`), its authorization servers, discovered lazily so that the server starts
    /// even while one is down, and the layer, observed and with DPoP as `setup` says; the token
    /// flags are checked first. `own_rules` are the command's default per-tool scopes, each
    /// left out for a tool a `--tool-scope` names. A start and a reload both protect here.
    pub(crate) fn protect(
        &self,
        own_rules: &[(&str, &str)],
        setup: &Setup,
    ) -> Result<Protection, Failure> {
        let tokens = self.token_settings()?;
        if self.insecure_http_issuers {
            tracing::warn!(
                "--insecure-http-issuers: issuers, their metadata and key sets may be fetched over plain http; anyone on the path can swap the keys and sign any token"
            );
        }
        let servers = match &tokens.provider {
            Some(provider) => vec![
                provider
                    .authorization_server()
                    .map_err(|err| err.to_string())?,
            ],
            None => self
                .issuers
                .iter()
                .map(|issuer| AuthServerConfig::lazy(issuer.clone(), self.issuer_type.into()))
                .collect(),
        };
        let servers = servers
            .into_iter()
            .map(|server| {
                if self.insecure_http_issuers {
                    server.allow_insecure_http()
                } else {
                    server
                }
            })
            .collect();
        let plan = Plan {
            resource: self
                .resource
                .clone()
                .unwrap_or_else(|| format!("http://{}/mcp", setup.bound)),
            servers,
            resource_name: None,
            audiences: self.audiences.clone(),
            allowed_client_ids: self.allowed_client_ids.clone(),
            scopes: self.scopes.clone(),
            rules: self.operations.rules(own_rules),
            roles: self.roles.clone(),
            cel_rules: self.cel_rules.clone(),
            decision_point: self.authzen.decision_point()?,
            provider: tokens.provider,
            leeway: self.leeway.duration(),
            body_timeout: Some(self.body_timeout),
            allowed_origins: self.allowed_origins.clone(),
            allowed_hosts: self.allowed_hosts.clone(),
            introspection: tokens.introspection,
            api_keys: tokens.api_keys,
            show_error_details: false,
        };
        plan.protect(setup.bound, &setup.observing, &setup.dpop)
    }

    /// The legacy authorization server metadata mirror, when `--legacy-as-metadata` asks for it.
    pub(crate) fn legacy_mirror(&self, auth: &McpAuth) -> Result<Option<Router>, Failure> {
        if !self.legacy_as_metadata {
            return Ok(None);
        }
        let mirror = auth
            .legacy_authorization_server_metadata_router()
            .map_err(|err| err.to_string())?;
        Ok(Some(mirror))
    }

    /// The start banner's lines on authorization: issuers, scopes, tool rules, introspection
    /// (never the secret) and API keys (never the digests).
    pub(crate) fn print_summary(&self, protection: &Protection, dpop: &Dpop) {
        if let Some(provider) = &protection.provider {
            println!("  provider          {}", provider.name());
            for setting in provider.settings() {
                println!("  provider sets     {setting}");
            }
        }
        println!(
            "  trusted issuers   {}",
            redact_userinfo(&protection.issuers.join(", "))
        );
        dpop.print_summary();
        if !self.audiences.is_empty() {
            println!("  audiences         {}", self.audiences.join(", "));
        }
        if !self.allowed_client_ids.is_empty() {
            println!(
                "  audience relaxed  tokens not naming the resource accepted from clients {}",
                self.allowed_client_ids.join(", ")
            );
        }
        if !self.scopes.is_empty() {
            println!("  required scopes   {}", self.scopes.join(" "));
        }
        for (label, rule) in protection.rules.banner() {
            println!("  {label:<18}{rule}");
        }
        let more = self
            .roles
            .banner()
            .into_iter()
            .chain(self.cel_rules.banner());
        for (label, line) in more.chain(self.authzen.banner()) {
            println!("  {label:<18}{}", redact_userinfo(&line));
        }
        if let Some(introspection) = self.tokens.introspection_summary(self.first_issuer()) {
            println!("  introspection     {}", redact_userinfo(&introspection));
        }
        for key in &protection.api_keys {
            println!(
                "  API key           {}{}",
                key.subject(),
                if key.granted_scopes().is_empty() {
                    String::new()
                } else {
                    format!(" ({})", key.granted_scopes().join(" "))
                }
            );
        }
    }
}
