//! `--provider` and the provider's own inputs (`--tenant`, `--any-tenant`, `--realm-url`,
//! `--auth0-domain`, `--okta-issuer`, `--cognito-pool`, `--github-org`,
//! `--userinfo-endpoint`), for `serve` and `proxy`: one flag per
//! identity provider, setting only what [`Provider`] sets, and saying so in the banner.

use clap::{Args, ValueEnum};
use mcp_auth::discovery::Tenants;
use mcp_auth::provider::{Provider, ProviderNeeds};

use crate::Failure;

/// The identity provider flags.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ProviderArgs {
    /// The identity provider, whose tokens bend the specifications in known ways: it sets the
    /// issuer from the provider's own inputs (--tenant, --realm-url, --auth0-domain,
    /// --okta-issuer, --cognito-pool), where roles are, and which tokens are not access tokens;
    /// the banner lists what it set. --issuer may then stand in for the provider's public host
    /// (sovereign clouds, self-hosted instances, tests on loopback).
    #[arg(long, env = "MCP_AUTH_PROVIDER", value_enum)]
    pub(crate) provider: Option<ProviderName>,
    /// Entra ID: a tenant (directory) id whose users may call (repeatable; comma-separated in
    /// the variable). Tokens must name it in iss and tid alike.
    #[arg(
        long = "tenant",
        value_name = "ID",
        env = "MCP_AUTH_TENANT",
        value_delimiter = ','
    )]
    tenants: Vec<String>,
    /// Entra ID: accept tokens of any tenant, every organization using Entra ID. Logged at
    /// start; only for resources meant for everyone.
    #[arg(long, env = "MCP_AUTH_ANY_TENANT", conflicts_with = "tenants")]
    any_tenant: bool,
    /// Keycloak: the realm's URL, https://HOST/realms/NAME (its issuer).
    #[arg(long, value_name = "URL", env = "MCP_AUTH_REALM_URL")]
    realm_url: Option<String>,
    /// Auth0: the tenant's domain, such as example.eu.auth0.com (the issuer is https://DOMAIN/).
    #[arg(long, value_name = "DOMAIN", env = "MCP_AUTH_AUTH0_DOMAIN")]
    auth0_domain: Option<String>,
    /// Okta: a custom authorization server's issuer, https://ORG.okta.com/oauth2/default (the
    /// org server's tokens cannot be verified outside Okta).
    #[arg(long, value_name = "URL", env = "MCP_AUTH_OKTA_ISSUER")]
    okta_issuer: Option<String>,
    /// Cognito: the user pool, as REGION/POOL_ID (eu-west-1/eu-west-1_AbCdEf123).
    #[arg(long, value_name = "REGION/POOL_ID", env = "MCP_AUTH_COGNITO_POOL")]
    cognito_pool: Option<String>,
    /// GitHub: only active members of this organization may call (the token needs read:org).
    #[arg(long, value_name = "ORG", env = "MCP_AUTH_GITHUB_ORG")]
    github_org: Option<String>,
    /// Google, GitHub: the endpoint their opaque tokens are checked at, instead of the
    /// provider's (https://oauth2.googleapis.com/tokeninfo, https://api.github.com/user): GitHub
    /// Enterprise Server's https://HOST/api/v3/user, a loopback test server.
    #[arg(long, value_name = "URL", env = "MCP_AUTH_USERINFO_ENDPOINT")]
    userinfo_endpoint: Option<String>,
}

/// `--provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProviderName {
    /// Entra ID, v2 tokens: --tenant or --any-tenant, and --audience (api://... or client id).
    Entra,
    /// Entra ID, v1 tokens (https://sts.windows.net/TENANT/): as entra.
    #[value(name = "entra-v1")]
    EntraV1,
    /// Keycloak: --realm-url; roles from realm_access.roles.
    Keycloak,
    /// Auth0: --auth0-domain; the permissions claim grants scopes.
    Auth0,
    /// Okta custom authorization server: --okta-issuer and --audience; roles from groups.
    Okta,
    /// Amazon Cognito: --cognito-pool and --allowed-client-id; roles from cognito:groups.
    Cognito,
    /// Google: opaque tokens checked at Google's tokeninfo endpoint; --allowed-client-id.
    Google,
    /// GitHub OAuth apps: opaque tokens checked at GET /user; --allowed-client-id, and
    /// --github-org to admit an organization's members only.
    #[value(name = "github")]
    GitHub,
}

/// What a flag that only one provider takes is called, and whether it was given.
type Input<'a> = (&'static str, bool, &'a [ProviderName]);

impl ProviderArgs {
    /// The provider the flags name, reached at `issuer`'s origin when given; refuses a
    /// provider's input without it, or a missing one.
    pub(crate) fn provider(
        &self,
        issuers: &[String],
        audiences: &[String],
        allowed_clients: &[String],
    ) -> Result<Option<Provider>, Failure> {
        self.check_inputs()?;
        let Some(name) = self.provider else {
            return Ok(None);
        };
        let usage = |message: String| Err(Failure::Usage(message));
        let stand_in = match issuers {
            [] => None,
            [one] => Some(one.as_str()),
            _ => {
                return usage(format!(
                    "--provider {} trusts one issuer: give --issuer once, for the provider's host",
                    name.flag()
                ));
            }
        };
        // A provider's own URL flag (Keycloak, Okta) names it whole, and --issuer then stands in
        // for its host; without the flag, --issuer is the URL itself.
        let url = |given: &Option<String>, flag: &str| match (given, stand_in) {
            (Some(url), _) => Ok((url.clone(), true)),
            (None, Some(issuer)) => Ok((issuer.to_owned(), false)),
            (None, None) => Err(Failure::Usage(format!(
                "--provider {} needs {flag}",
                name.flag()
            ))),
        };
        let (provider, rehost) = match name {
            ProviderName::Entra | ProviderName::EntraV1 => {
                let tenants = match (self.any_tenant, self.tenants.as_slice()) {
                    (true, _) => Tenants::any(),
                    (false, []) => {
                        return usage(format!(
                            "--provider {} needs --tenant ID (repeatable) or --any-tenant",
                            name.flag()
                        ));
                    }
                    (false, ids) => Tenants::only(ids.iter().cloned()),
                };
                if name == ProviderName::Entra {
                    (Provider::entra(tenants), true)
                } else {
                    (Provider::entra_v1(tenants), true)
                }
            }
            ProviderName::Keycloak => {
                let (realm, rehost) = url(&self.realm_url, "--realm-url")?;
                (Provider::keycloak(realm), rehost)
            }
            ProviderName::Okta => {
                let (issuer, rehost) = url(&self.okta_issuer, "--okta-issuer")?;
                (Provider::okta(issuer), rehost)
            }
            ProviderName::Auth0 => {
                let Some(domain) = &self.auth0_domain else {
                    return usage("--provider auth0 needs --auth0-domain".to_owned());
                };
                (Provider::auth0(domain), true)
            }
            ProviderName::Cognito => {
                let Some(pool) = &self.cognito_pool else {
                    return usage(
                        "--provider cognito needs --cognito-pool REGION/POOL_ID".to_owned(),
                    );
                };
                let Some((region, pool_id)) = pool.split_once('/') else {
                    return usage(format!(
                        "--cognito-pool {pool:?} is not REGION/POOL_ID, such as eu-west-1/eu-west-1_AbCdEf123"
                    ));
                };
                (Provider::cognito(region, pool_id), true)
            }
            ProviderName::Google => (Provider::google(), true),
            ProviderName::GitHub => (Provider::github(self.github_org.clone()), true),
        };
        let provider = if rehost {
            at_host(provider, stand_in)?
        } else {
            provider
        };
        let provider = match &self.userinfo_endpoint {
            Some(endpoint) => provider.userinfo_endpoint(endpoint),
            None => provider,
        };
        self.needs_met(provider, audiences, allowed_clients)
            .map(Some)
    }

    /// Refuses a provider's input given without that provider.
    fn check_inputs(&self) -> Result<(), Failure> {
        use ProviderName::{Auth0, Cognito, Entra, EntraV1, GitHub, Google, Keycloak, Okta};
        let inputs: [Input<'_>; 8] = [
            ("--tenant", !self.tenants.is_empty(), &[Entra, EntraV1]),
            ("--any-tenant", self.any_tenant, &[Entra, EntraV1]),
            ("--realm-url", self.realm_url.is_some(), &[Keycloak]),
            ("--auth0-domain", self.auth0_domain.is_some(), &[Auth0]),
            ("--okta-issuer", self.okta_issuer.is_some(), &[Okta]),
            ("--cognito-pool", self.cognito_pool.is_some(), &[Cognito]),
            ("--github-org", self.github_org.is_some(), &[GitHub]),
            (
                "--userinfo-endpoint",
                self.userinfo_endpoint.is_some(),
                &[Google, GitHub],
            ),
        ];
        for (flag, given, providers) in inputs {
            if given && !self.provider.is_some_and(|name| providers.contains(&name)) {
                let names: Vec<&str> = providers.iter().map(|name| name.flag()).collect();
                return Err(Failure::Usage(format!(
                    "{flag} is an input of --provider {}",
                    names.join(" or ")
                )));
            }
        }
        Ok(())
    }

    /// `provider`, once what only the user can say about its tokens is said.
    fn needs_met(
        &self,
        provider: Provider,
        audiences: &[String],
        allowed_clients: &[String],
    ) -> Result<Provider, Failure> {
        if provider.name() == "keycloak" && audiences.iter().any(|audience| audience == "account") {
            return Err(Failure::Usage(
                "--audience account would accept the token of every client of the realm (Keycloak names account in them all): add an Audience mapper naming the resource, or name your clients with --allowed-client-id".to_owned(),
            ));
        }
        match provider.needs() {
            ProviderNeeds::Audience if audiences.is_empty() => Err(Failure::Usage(format!(
                "--provider {} issues tokens that name your app or API, never this resource: give --audience (the app's api://... Application ID URI or client id for Entra ID, the authorization server's audience for Okta)",
                provider.name()
            ))),
            ProviderNeeds::AllowedClients if allowed_clients.is_empty() => {
                Err(Failure::Usage(format!(
                    "--provider {} issues tokens that do not name this resource: give --allowed-client-id with your app client ids (Cognito app clients, Google OAuth clients, GitHub OAuth apps)",
                    provider.name()
                )))
            }
            _ => Ok(provider),
        }
    }
}

impl ProviderName {
    /// As `--provider` spells it.
    fn flag(self) -> &'static str {
        match self {
            Self::Entra => "entra",
            Self::EntraV1 => "entra-v1",
            Self::Keycloak => "keycloak",
            Self::Auth0 => "auth0",
            Self::Okta => "okta",
            Self::Cognito => "cognito",
            Self::Google => "google",
            Self::GitHub => "github",
        }
    }
}

/// `provider` reached at `issuer`'s origin, when one is given.
fn at_host(provider: Provider, issuer: Option<&str>) -> Result<Provider, Failure> {
    let Some(issuer) = issuer else {
        return Ok(provider);
    };
    match url::Url::parse(issuer) {
        Ok(url) if url.has_host() => Ok(provider.at_host(url.origin().ascii_serialization())),
        _ => Err(Failure::Usage(format!(
            "--issuer {issuer:?} stands in for the provider's host, and is not a URL: give one such as https://login.microsoftonline.us"
        ))),
    }
}
