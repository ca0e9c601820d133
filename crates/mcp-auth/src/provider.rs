//! Identity providers as they are (Entra ID, Keycloak, Auth0, Okta, Cognito, Google, GitHub):
//! each bends the specifications in its own way, and a
//! [`Provider`] says how once, visibly, without loosening a check. It gives the authorization
//! server to trust ([`Provider::authorization_server`]) and sets what the provider's tokens need
//! on a bearer layer ([`Provider::configure`]): where roles are, which claims grant scopes, which
//! tokens are not access tokens. What it sets is listed by [`Provider::settings`]. What a
//! provider cannot decide for you stays yours to say, and [`Provider::needs`] names it: the
//! audience its tokens carry (Entra ID's `api://...`, Okta's `api://default`) or the clients
//! whose tokens carry none (Cognito).
//!
//! ```
//! use mcp_auth::provider::Provider;
//! use mcp_auth::{McpAuth, ProtectedResource};
//!
//! let keycloak = Provider::keycloak("https://sso.example.com/realms/mcp");
//! let auth = McpAuth::builder()
//!     .protected_resource(
//!         ProtectedResource::new("https://mcp.example.com/mcp")
//!             .authorization_server(keycloak.authorization_server()?),
//!     )
//!     .build()?;
//! let bearer = keycloak.configure(auth.bearer()).build()?;
//! # Ok::<(), mcp_auth::ConfigError>(())
//! ```

use std::fmt;

use url::Url;

use crate::bearer::BearerAuthBuilder;
use crate::discovery::{Discovery, TENANT_PLACEHOLDER, Tenants};
use crate::error::ConfigError;
use crate::issuer::config::AuthServerConfig;
use crate::metadata::AuthServerType;
use crate::metadata::AuthorizationServerMetadata;
use crate::verify::{JwtOptions, UserinfoOptions};

/// Entra ID's public sign-in host.
const ENTRA_HOST: &str = "https://login.microsoftonline.com";
/// Entra ID's v1 token issuer host.
const ENTRA_V1_ISSUER_HOST: &str = "https://sts.windows.net";

/// One identity provider's shape; see the [module docs](self).
#[derive(Clone)]
pub struct Provider {
    kind: Kind,
    /// Where the provider is reached, when not its public host (sovereign clouds, a
    /// self-hosted instance, a loopback test double): scheme and authority.
    host: Option<String>,
    /// The endpoint Google's and GitHub's tokens are checked at, when not the provider's.
    userinfo_endpoint: Option<String>,
}

#[derive(Clone)]
enum Kind {
    Entra { v1: bool, tenants: Tenants },
    Keycloak { realm_url: String },
    Auth0 { domain: String },
    Okta { issuer: String },
    Cognito { region: String, pool_id: String },
    Google,
    GitHub { org: Option<String> },
}

/// What a provider's tokens need that only you can say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderNeeds {
    /// Nothing: its tokens can name the resource itself.
    Nothing,
    /// An audience of your own (`BearerAuthBuilder::audience`): its tokens name your app or
    /// API (`api://...`, a client id, `api://default`), never the resource.
    Audience,
    /// The clients whose tokens are accepted (`BearerAuthBuilder::allowed_client_ids`): its
    /// access tokens carry no audience at all.
    AllowedClients,
}

impl Provider {
    /// Entra ID (v2 tokens, `https://login.microsoftonline.com/{tid}/v2.0`) for `tenants`:
    /// one tenant's own metadata, or for several (or any) the `organizations` metadata, whose
    /// issuer is a template (see [`Discovery::multi_tenant`]). Roles from `roles` (app roles);
    /// scopes from `scp`; tokens without `scp` or `roles`, or without `azpacr` (v1: `appidacr`),
    /// refused: ID tokens. Needs an audience: the app's client id (v2 tokens) or Application ID
    /// URI (v1).
    ///
    /// ```
    /// use mcp_auth::discovery::Tenants;
    /// use mcp_auth::provider::{Provider, ProviderNeeds};
    ///
    /// let entra = Provider::entra(Tenants::only(["72f988bf-86f1-41af-91ab-2d7cd011db47"]));
    /// assert_eq!(entra.needs(), ProviderNeeds::Audience);
    /// assert_eq!(
    ///     entra.authorization_server()?.issuer(),
    ///     "https://login.microsoftonline.com/{tenantid}/v2.0"
    /// );
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn entra(tenants: Tenants) -> Self {
        Self::of(Kind::Entra { v1: false, tenants })
    }

    /// Entra ID with v1 tokens (`https://sts.windows.net/{tid}/`), for APIs whose app
    /// registration still asks for them (`accessTokenAcceptedVersion` 1 or unset); otherwise as
    /// [`entra`](Self::entra).
    pub fn entra_v1(tenants: Tenants) -> Self {
        Self::of(Kind::Entra { v1: true, tenants })
    }

    /// Keycloak, one realm (`https://HOST/realms/NAME`). Roles from `realm_access.roles`. Its
    /// tokens name the resource once the client has an audience mapper for it; without one
    /// their `aud` is `account` and only allowed clients (`azp`) can stand for it.
    pub fn keycloak(realm_url: impl Into<String>) -> Self {
        Self::of(Kind::Keycloak {
            realm_url: realm_url.into(),
        })
    }

    /// Auth0, one tenant domain (`example.eu.auth0.com`, or a custom domain): the issuer is
    /// `https://DOMAIN/`, trailing slash included, and the RBAC `permissions` claim grants
    /// scopes. The API's identifier is the audience: make it the resource identifier, or name
    /// it with `BearerAuthBuilder::audience`.
    pub fn auth0(domain: impl Into<String>) -> Self {
        Self::of(Kind::Auth0 {
            domain: domain.into(),
        })
    }

    /// Okta, a custom authorization server (`https://ORG.okta.com/oauth2/default` or
    /// `/oauth2/ID`): the org authorization server's tokens cannot be verified by anyone but
    /// Okta, so its issuer is refused. Roles from `groups` (when a groups claim is configured).
    /// Needs the server's audience (`api://default` unless changed).
    pub fn okta(issuer: impl Into<String>) -> Self {
        Self::of(Kind::Okta {
            issuer: issuer.into(),
        })
    }

    /// Amazon Cognito, one user pool (`eu-west-1`, `eu-west-1_AbCdEf123`): roles from
    /// `cognito:groups`. Its access tokens carry no `aud`: name the app clients whose tokens
    /// are accepted (`BearerAuthBuilder::allowed_client_ids`).
    pub fn cognito(region: impl Into<String>, pool_id: impl Into<String>) -> Self {
        Self::of(Kind::Cognito {
            region: region.into(),
            pool_id: pool_id.into(),
        })
    }

    /// Google: its access tokens are opaque and have no introspection, so each new one is
    /// checked at Google's tokeninfo endpoint ([`UserinfoOptions::google`]); JWTs are refused
    /// (Google's are ID tokens). Its answers name the OAuth client, never the resource: name
    /// yours with `BearerAuthBuilder::allowed_client_ids`.
    ///
    /// ```
    /// use mcp_auth::provider::{Provider, ProviderNeeds};
    ///
    /// assert_eq!(Provider::google().needs(), ProviderNeeds::AllowedClients);
    /// ```
    pub fn google() -> Self {
        Self::of(Kind::Google)
    }

    /// GitHub (OAuth apps): its tokens are opaque and have no introspection, so each new one is
    /// checked at `GET /user` ([`UserinfoOptions::github`]), scopes from `X-OAuth-Scopes`; with
    /// `org`, the user must be an active member of it. The OAuth app's client id
    /// (`X-OAuth-Client-Id`) stands for the audience: name yours with
    /// `BearerAuthBuilder::allowed_client_ids`. [`at_host`](Self::at_host) points it at GitHub
    /// Enterprise Server (`https://HOST/api/v3/user`).
    pub fn github(org: Option<String>) -> Self {
        Self::of(Kind::GitHub { org })
    }

    /// Checks Google's or GitHub's tokens at `url` instead of the provider's endpoint.
    pub fn userinfo_endpoint(mut self, url: impl Into<String>) -> Self {
        self.userinfo_endpoint = Some(url.into());
        self
    }

    fn of(kind: Kind) -> Self {
        Self {
            kind,
            host: None,
            userinfo_endpoint: None,
        }
    }

    /// Reaches the provider at `origin` (`https://login.microsoftonline.us`, a self-hosted
    /// instance, `http://127.0.0.1:PORT` in tests) instead of its public host; for Keycloak and
    /// Okta, whose URL you give, it replaces that URL's origin. For Entra ID v1 it stands for
    /// both the sign-in host and the `sts` issuer host, which only a test double shares: in a
    /// sovereign cloud, use v2 tokens.
    pub fn at_host(mut self, origin: impl Into<String>) -> Self {
        self.host = Some(origin.into().trim_end_matches('/').to_owned());
        self
    }

    /// The provider's name, as `--provider` spells it.
    pub fn name(&self) -> &'static str {
        match &self.kind {
            Kind::Entra { v1: false, .. } => "entra",
            Kind::Entra { v1: true, .. } => "entra-v1",
            Kind::Keycloak { .. } => "keycloak",
            Kind::Auth0 { .. } => "auth0",
            Kind::Okta { .. } => "okta",
            Kind::Cognito { .. } => "cognito",
            Kind::Google => "google",
            Kind::GitHub { .. } => "github",
        }
    }

    /// What its tokens need that only you can say.
    pub fn needs(&self) -> ProviderNeeds {
        match &self.kind {
            Kind::Entra { .. } | Kind::Okta { .. } => ProviderNeeds::Audience,
            Kind::Cognito { .. } | Kind::Google | Kind::GitHub { .. } => {
                ProviderNeeds::AllowedClients
            }
            Kind::Keycloak { .. } | Kind::Auth0 { .. } => ProviderNeeds::Nothing,
        }
    }

    /// The authorization server to trust, discovered lazily; refuses inputs that cannot name
    /// one (an empty tenant list, an Okta org server, a malformed pool id...).
    pub fn authorization_server(&self) -> Result<AuthServerConfig, ConfigError> {
        let invalid =
            |reason: String| ConfigError::invalid_setting("Provider", self.name(), reason);
        let server = match &self.kind {
            Kind::Entra { v1, tenants } => {
                tenants.check()?;
                let login = self.host.as_deref().unwrap_or(ENTRA_HOST);
                let (template, path) = if *v1 {
                    let issuer_host = self.host.as_deref().unwrap_or(ENTRA_V1_ISSUER_HOST);
                    (format!("{issuer_host}/{TENANT_PLACEHOLDER}/"), "")
                } else {
                    (format!("{login}/{TENANT_PLACEHOLDER}/v2.0"), "/v2.0")
                };
                // One tenant's own metadata names its own issuer; several share the
                // `organizations` document, which names the template.
                let directory = match tenants.ids() {
                    [one] => one.as_str(),
                    _ => "organizations",
                };
                let well_known =
                    format!("{login}/{directory}{path}/.well-known/openid-configuration");
                AuthServerConfig::lazy_with(Discovery::multi_tenant(
                    template,
                    &well_known,
                    tenants.clone(),
                )?)
            }
            Kind::Keycloak { realm_url } => {
                let issuer = self.rehosted(realm_url)?;
                if !issuer.contains("/realms/") {
                    return Err(invalid(format!(
                        "{realm_url} is not a realm URL: Keycloak's issuers are https://HOST/realms/NAME"
                    )));
                }
                AuthServerConfig::lazy(issuer, AuthServerType::Oidc)
            }
            Kind::Auth0 { domain } => {
                if domain.is_empty() || domain.contains(['/', ':']) {
                    return Err(invalid(format!(
                        "{domain:?} is not a domain: give the tenant's domain alone, such as example.eu.auth0.com"
                    )));
                }
                let origin = self
                    .host
                    .clone()
                    .unwrap_or_else(|| format!("https://{domain}"));
                // Auth0's issuer ends with a slash, and its tokens carry it so.
                AuthServerConfig::lazy(format!("{origin}/"), AuthServerType::Oidc)
            }
            Kind::Okta { issuer } => {
                if !issuer.contains("/oauth2/") {
                    return Err(invalid(format!(
                        "{issuer} is Okta's org authorization server, whose access tokens only Okta can verify: use a custom authorization server (https://ORG.okta.com/oauth2/default)"
                    )));
                }
                AuthServerConfig::lazy(self.rehosted(issuer)?, AuthServerType::Oidc)
            }
            Kind::Cognito { region, pool_id } => {
                let shaped = |text: &str| {
                    !text.is_empty()
                        && text
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                };
                if !shaped(region)
                    || !pool_id.starts_with(&format!("{region}_"))
                    || !shaped(pool_id)
                {
                    return Err(invalid(format!(
                        "{region}/{pool_id} is not a user pool: give REGION/POOL_ID, such as eu-west-1/eu-west-1_AbCdEf123"
                    )));
                }
                let origin = self
                    .host
                    .clone()
                    .unwrap_or_else(|| format!("https://cognito-idp.{region}.amazonaws.com"));
                AuthServerConfig::lazy(format!("{origin}/{pool_id}"), AuthServerType::Oidc)
            }
            Kind::Google => {
                let origin = self
                    .host
                    .as_deref()
                    .unwrap_or("https://accounts.google.com");
                AuthServerConfig::lazy(origin, AuthServerType::Oidc)
            }
            Kind::GitHub { .. } => {
                // GitHub publishes no metadata: its endpoints, as its OAuth apps docs give them.
                let origin = self.host.as_deref().unwrap_or("https://github.com");
                let mut metadata =
                    AuthorizationServerMetadata::new(format!("{origin}/login/oauth"));
                metadata.authorization_endpoint = Some(format!("{origin}/login/oauth/authorize"));
                metadata.token_endpoint = Some(format!("{origin}/login/oauth/access_token"));
                metadata.response_types_supported = vec!["code".to_owned()];
                metadata.code_challenge_methods_supported = vec!["S256".to_owned()];
                AuthServerConfig::new(metadata, AuthServerType::OAuth)
            }
        };
        Ok(server)
    }

    /// `bearer` with what this provider's tokens need: JWT options and where roles are, or
    /// the endpoint its opaque tokens are checked at.
    pub fn configure(&self, bearer: BearerAuthBuilder) -> BearerAuthBuilder {
        if let Some(options) = self.userinfo() {
            return bearer.without_jwt().userinfo(options);
        }
        let bearer = bearer.jwt(self.jwt_options());
        match self.roles_claim() {
            Some(claim) => bearer.roles_claim(claim),
            None => bearer,
        }
    }

    /// How Google's and GitHub's tokens are checked; `None` for the providers whose tokens are
    /// JWTs.
    fn userinfo(&self) -> Option<UserinfoOptions> {
        let options = match &self.kind {
            Kind::Google => {
                let endpoint = self.host.as_ref().map(|host| format!("{host}/tokeninfo"));
                endpoint
                    .into_iter()
                    .fold(UserinfoOptions::google(), UserinfoOptions::endpoint)
            }
            Kind::GitHub { org } => {
                let endpoint = self.host.as_ref().map(|host| format!("{host}/api/v3/user"));
                let options = endpoint
                    .into_iter()
                    .fold(UserinfoOptions::github(), UserinfoOptions::endpoint);
                org.iter()
                    .fold(options, |options, org| options.github_org(org))
            }
            _ => return None,
        };
        Some(match &self.userinfo_endpoint {
            Some(url) => options.endpoint(url),
            None => options,
        })
    }

    /// The JWT options for this provider's tokens.
    pub fn jwt_options(&self) -> JwtOptions {
        match &self.kind {
            // ID tokens carry neither azpacr (v2) nor appidacr (v1), and may carry roles.
            Kind::Entra { v1, .. } => JwtOptions::default()
                .require_any_claim(["scp", "roles"])
                .require_any_claim([if *v1 { "appidacr" } else { "azpacr" }]),
            Kind::Auth0 { .. } => JwtOptions::default().read_permissions_claim(true),
            _ => JwtOptions::default(),
        }
    }

    /// The claim [`configure`](Self::configure) reads roles from, when the provider has one.
    pub fn roles_claim(&self) -> Option<&'static str> {
        match &self.kind {
            Kind::Entra { .. } => Some("roles"),
            Kind::Keycloak { .. } => Some("realm_access.roles"),
            Kind::Okta { .. } => Some("groups"),
            Kind::Cognito { .. } => Some("cognito:groups"),
            Kind::Auth0 { .. } | Kind::Google | Kind::GitHub { .. } => None,
        }
    }

    /// What [`configure`](Self::configure) and
    /// [`authorization_server`](Self::authorization_server) set, one line each, for banners
    /// and `--help`.
    pub fn settings(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(claim) = self.roles_claim() {
            lines.push(format!("roles from {claim}"));
        }
        match &self.kind {
            Kind::Entra { tenants, .. } => {
                lines.push(
                    "tokens without scp or roles, or without azpacr (v1: appidacr), refused (ID tokens)"
                        .to_owned(),
                );
                if tenants.is_any() {
                    lines.push("tokens of any tenant accepted".to_owned());
                } else {
                    lines.push(format!("tenants {}", tenants.ids().join(", ")));
                }
            }
            Kind::Auth0 { .. } => lines.push("permissions claim read as scopes".to_owned()),
            Kind::Google => {
                lines.push("tokens checked at Google's tokeninfo endpoint".to_owned());
                lines.push("JWTs refused (Google's are ID tokens)".to_owned());
            }
            Kind::GitHub { org } => {
                lines.push("tokens checked at GET /user, scopes from X-OAuth-Scopes".to_owned());
                if let Some(org) = org {
                    lines.push(format!("active members of {org} only"));
                }
            }
            Kind::Keycloak { .. } | Kind::Okta { .. } | Kind::Cognito { .. } => {}
        }
        lines
    }

    /// `url` with its origin replaced by [`at_host`](Self::at_host)'s, when set.
    fn rehosted(&self, url: &str) -> Result<String, ConfigError> {
        let Some(host) = &self.host else {
            return Ok(url.trim_end_matches('/').to_owned());
        };
        let parsed = Url::parse(url).map_err(|err| {
            ConfigError::invalid_setting(
                "Provider",
                self.name(),
                format!("{url} is not a URL: {err}"),
            )
        })?;
        Ok(format!("{host}{}", parsed.path().trim_end_matches('/')))
    }
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name())
            .field("host", &self.host)
            .field("settings", &self.settings())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn issuer(provider: &Provider) -> String {
        provider.authorization_server().unwrap().issuer().to_owned()
    }

    #[test]
    fn each_provider_trusts_its_documented_issuer() {
        assert_eq!(
            issuer(&Provider::entra(Tenants::only([TID]))),
            "https://login.microsoftonline.com/{tenantid}/v2.0"
        );
        assert_eq!(
            issuer(&Provider::entra_v1(Tenants::any())),
            "https://sts.windows.net/{tenantid}/"
        );
        assert_eq!(
            issuer(&Provider::keycloak("https://sso.example.com/realms/mcp/")),
            "https://sso.example.com/realms/mcp"
        );
        assert_eq!(issuer(&Provider::google()), "https://accounts.google.com");
        assert_eq!(
            issuer(&Provider::github(None).at_host("https://github.example.com")),
            "https://github.example.com/login/oauth"
        );
        assert_eq!(
            issuer(&Provider::auth0("example.eu.auth0.com")),
            "https://example.eu.auth0.com/"
        );
        assert_eq!(
            issuer(&Provider::okta("https://example.okta.com/oauth2/default")),
            "https://example.okta.com/oauth2/default"
        );
        assert_eq!(
            issuer(&Provider::cognito("eu-west-1", "eu-west-1_AbC123")),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
        );
        assert_eq!(
            issuer(
                &Provider::keycloak("https://sso.example.com/realms/mcp")
                    .at_host("http://127.0.0.1:8080")
            ),
            "http://127.0.0.1:8080/realms/mcp"
        );
    }

    #[test]
    fn one_entra_tenant_is_discovered_at_its_own_metadata_several_at_organizations() {
        let published = |provider: Provider| {
            provider
                .authorization_server()
                .unwrap()
                .published_issuer()
                .to_owned()
        };
        assert_eq!(
            published(Provider::entra(Tenants::only([TID]))),
            format!("https://login.microsoftonline.com/{TID}/v2.0")
        );
        assert_eq!(
            published(Provider::entra(Tenants::only([TID, "other"]))),
            "https://login.microsoftonline.com/organizations/v2.0"
        );
        assert_eq!(
            published(Provider::entra_v1(Tenants::any())),
            "https://login.microsoftonline.com/organizations"
        );
    }

    #[test]
    fn inputs_that_name_no_server_are_refused() {
        for provider in [
            Provider::entra(Tenants::only(Vec::<String>::new())),
            Provider::keycloak("https://sso.example.com/auth"),
            Provider::auth0("https://example.auth0.com"),
            Provider::okta("https://example.okta.com"),
            Provider::cognito("eu-west-1", "us-east-1_AbC"),
            Provider::cognito("eu-west-1", "eu-west-1_A/b"),
        ] {
            assert!(provider.authorization_server().is_err(), "{provider:?}");
        }
    }
}
