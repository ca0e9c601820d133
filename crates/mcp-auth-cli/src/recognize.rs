//! Which identity provider a metadata document comes from, for `mcp-auth discover`: the
//! `--provider` flags to use, and the provider's known traps.

use mcp_auth::discovery::TENANT_PLACEHOLDER;
use serde_json::Value;
use url::Url;

/// A provider recognised from its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recognized {
    /// As `--provider` spells it.
    pub(crate) provider: &'static str,
    /// The flags that trust it.
    pub(crate) flags: String,
    /// What trips people up with it.
    pub(crate) traps: Vec<&'static str>,
}

/// Entra ID's warning about tokens for Microsoft's own APIs.
const ENTRA_GRAPH: &str = "tokens for Microsoft Graph (aud 00000003-0000-0000-c000-000000000000) are Graph's: no one else can verify them; clients must request a scope of your own API (api://CLIENT_ID/SCOPE)";

/// The provider `document` (its metadata, as served) comes from, if known.
pub(crate) fn recognize(document: &Value) -> Option<Recognized> {
    let issuer = document.get("issuer")?.as_str()?;
    let url = Url::parse(&issuer.replace(TENANT_PLACEHOLDER, "TENANT")).ok()?;
    let host = url.host_str()?;
    let path = url.path().trim_end_matches('/');
    let endpoint = |name: &str| {
        document
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };

    // Only Entra ID publishes a {tenantid} template.
    if issuer.contains(TENANT_PLACEHOLDER)
        || host == "login.microsoftonline.com"
        || host == "sts.windows.net"
        || document.get("cloud_instance_name").is_some()
    {
        let v1 = !path.ends_with("/v2.0");
        let provider = if v1 { "entra-v1" } else { "entra" };
        let tenant = path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        let tenants = if issuer.contains(TENANT_PLACEHOLDER)
            || ["common", "organizations", "consumers"].contains(&tenant)
        {
            "--tenant TENANT_ID (repeatable) or --any-tenant".to_owned()
        } else {
            format!("--tenant {tenant}")
        };
        return Some(Recognized {
            provider,
            flags: format!(
                "--provider {provider} {tenants} --audience {}",
                if v1 { "api://CLIENT_ID" } else { "CLIENT_ID" }
            ),
            traps: vec![
                "access tokens name your app (its client id, or api://... for v1 tokens), never the resource: --audience is required",
                ENTRA_GRAPH,
            ],
        });
    }
    if host == "github.com" || path.ends_with("/login/oauth") {
        return Some(Recognized {
            provider: "github",
            flags: "--provider github --allowed-client-id OAUTH_APP_CLIENT_ID [--github-org ORG]"
                .to_owned(),
            traps: vec![
                "GitHub publishes no authorization server metadata: the provider preset describes it",
                "tokens are opaque: each new one is checked at GET /user; fine-grained tokens carry no client id and are refused",
            ],
        });
    }
    if host == "accounts.google.com" {
        return Some(Recognized {
            provider: "google",
            flags: "--provider google --allowed-client-id CLIENT_ID.apps.googleusercontent.com"
                .to_owned(),
            traps: vec![
                "access tokens are opaque, without introspection: each new one is checked at Google's tokeninfo endpoint",
                "Google's JWTs are ID tokens, never access tokens for this resource: they are refused",
            ],
        });
    }
    // Cognito's issuer is cognito-idp.REGION.amazonaws.com/POOL_ID; its endpoints are on the
    // pool's own domain, DOMAIN.auth.REGION.amazoncognito.com.
    let cognito_domain = Url::parse(endpoint("authorization_endpoint"))
        .ok()
        .and_then(|url| {
            url.host_str()
                .map(|host| host.ends_with(".amazoncognito.com"))
        })
        .unwrap_or(false);
    if (host.starts_with("cognito-idp.") && host.ends_with(".amazonaws.com")) || cognito_domain {
        let pool = path.rsplit('/').next().unwrap_or_default();
        let region = pool.split('_').next().unwrap_or_default();
        return Some(Recognized {
            provider: "cognito",
            flags: format!(
                "--provider cognito --cognito-pool {region}/{pool} --allowed-client-id APP_CLIENT_ID"
            ),
            traps: vec![
                "access tokens carry no aud: the app client ids are the check (--allowed-client-id)",
                "no code_challenge_methods_supported is published, though S256 works: MCP clients need a pre-registered client",
            ],
        });
    }
    if path.contains("/realms/") && endpoint("token_endpoint").contains("/protocol/openid-connect/")
    {
        return Some(Recognized {
            provider: "keycloak",
            flags: format!("--provider keycloak --realm-url {issuer}"),
            traps: vec![
                "without an Audience mapper naming the resource, tokens say aud: account; add the mapper, or accept named clients with --allowed-client-id",
            ],
        });
    }
    if host.ends_with(".auth0.com")
        || (issuer.ends_with('/') && endpoint("token_endpoint").ends_with("/oauth/token"))
    {
        return Some(Recognized {
            provider: "auth0",
            flags: format!("--provider auth0 --auth0-domain {host}"),
            traps: vec![
                "the issuer ends with '/': tokens carry it so, and it must not be dropped",
                "the API's identifier is the audience: make it the resource URL (or give --audience)",
            ],
        });
    }
    let okta_host = [".okta.com", ".oktapreview.com", ".okta-emea.com"]
        .iter()
        .any(|suffix| host.ends_with(suffix));
    if okta_host || endpoint("token_endpoint").ends_with("/v1/token") {
        if !path.contains("/oauth2/") {
            return Some(Recognized {
                provider: "okta",
                flags: format!(
                    "--provider okta --okta-issuer {issuer}/oauth2/default --audience api://default"
                ),
                traps: vec![
                    "this is Okta's org authorization server: its access tokens can only be verified by Okta; use a custom authorization server (/oauth2/default)",
                ],
            });
        }
        return Some(Recognized {
            provider: "okta",
            flags: format!("--provider okta --okta-issuer {issuer} --audience api://default"),
            traps: vec![
                "tokens name the authorization server's audience (api://default unless changed): give it with --audience",
            ],
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn provider(document: Value) -> Option<&'static str> {
        recognize(&document).map(|found| found.provider)
    }

    #[test]
    fn providers_are_recognised_from_their_published_metadata() {
        assert_eq!(
            provider(json!({ "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0" })),
            Some("entra")
        );
        assert_eq!(
            provider(json!({ "issuer": "https://sts.windows.net/{tenantid}/" })),
            Some("entra-v1")
        );
        assert_eq!(
            provider(
                json!({ "issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC" })
            ),
            Some("cognito")
        );
        assert_eq!(
            provider(json!({
                "issuer": "https://sso.example.com/realms/mcp",
                "token_endpoint": "https://sso.example.com/realms/mcp/protocol/openid-connect/token",
            })),
            Some("keycloak")
        );
        assert_eq!(
            provider(json!({ "issuer": "https://example.eu.auth0.com/" })),
            Some("auth0")
        );
        assert_eq!(
            provider(json!({ "issuer": "https://example.okta.com/oauth2/default" })),
            Some("okta")
        );
        assert_eq!(
            provider(json!({ "issuer": "https://auth.example.com" })),
            None
        );
        let single = recognize(
            &json!({ "issuer": "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0" }),
        );
        assert!(
            single
                .unwrap()
                .flags
                .contains("--tenant 72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        let org = recognize(&json!({ "issuer": "https://example.okta.com" })).unwrap();
        assert!(org.traps[0].contains("org authorization server"), "{org:?}");
    }
}
