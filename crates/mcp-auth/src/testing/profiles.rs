//! The test issuer dressed as an identity provider: its discovery document, key set members
//! and tokens as the provider's public documentation shows them, on loopback, so that each
//! provider's quirks are tested over HTTP without an account with it.

use jsonwebtoken::Algorithm;
use serde_json::json;

use super::error::TestingError;
use super::keys::TestKey;
use super::server::TestIssuer;
use super::token::TokenBuilder;

/// An identity provider the test issuer can dress as ([`TestIssuer::start_as`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Profile {
    /// Entra ID's `organizations` endpoint, v2 tokens: the document names
    /// `ORIGIN/{tenantid}/v2.0` ("OpenID Connect on the Microsoft identity platform"); keys
    /// carry `x5t`, `x5c` and `issuer` ("Signing key rollover"); tokens as the "Access token
    /// claims reference" shows them (`tid`, `oid`, `azp`, `azpacr`, `scp`, `roles`, `ver`
    /// 2.0); its ID tokens as the "ID token claims reference" does (no `azpacr`, `roles` when
    /// the user has app roles).
    Entra,
    /// The same with v1 tokens: the document names `ORIGIN/{tenantid}/`.
    EntraV1,
    /// A Keycloak realm at `/realms/mcp` ("Securing applications", OIDC endpoints); tokens as
    /// Keycloak issues them without an audience mapper: `aud` `account`, `azp`, `typ`
    /// `Bearer`, `realm_access.roles`.
    Keycloak,
    /// An Auth0 tenant ("Access Token Profiles"): the issuer ends with `/`, `aud` names the
    /// API and the userinfo URL, RBAC `permissions`.
    Auth0,
    /// An Okta custom authorization server at `/oauth2/default` ("OpenID Connect & OAuth 2.0
    /// API"): `ver` 1, `aud` `api://default`, `cid`, `uid`, `scp` as an array, `groups`.
    Okta,
    /// A Cognito user pool at `/eu-west-1_AbC123` ("Understanding the access token"; "User pool
    /// endpoints": no `code_challenge_methods_supported`): no `aud`, `client_id`, `token_use`
    /// `access`, `cognito:groups`.
    Cognito,
}

/// The tenant an [`Entra`](Profile::Entra) test issuer's tokens name unless told otherwise.
pub const ENTRA_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// A kid as Entra ID writes them (base64url of the certificate's SHA-1 thumbprint), also its
/// `x5t`.
const ENTRA_KID: &str = "nOo3ZDrODXEK1jKWhXslHR_KXEg";

/// The client Keycloak, Auth0, Okta and Cognito tokens of a profile were issued to.
pub const PROFILE_CLIENT: &str = "mcp-client";

impl Profile {
    /// Where the provider's issuer sits on its host.
    fn path(self) -> &'static str {
        match self {
            Self::Entra => "/organizations/v2.0",
            Self::EntraV1 => "/organizations",
            Self::Keycloak => "/realms/mcp",
            Self::Auth0 => "",
            Self::Okta => "/oauth2/default",
            Self::Cognito => "/eu-west-1_AbC123",
        }
    }
}

impl TestIssuer {
    /// Starts an issuer dressed as `profile` on `http://127.0.0.1:PORT`: its issuer at the
    /// provider's path, serving the provider's discovery document and, for Entra ID, a key set
    /// whose member carries the provider's extra members.
    ///
    /// ```
    /// use mcp_auth::testing::{Profile, TestIssuer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let keycloak = TestIssuer::start_as(Profile::Keycloak).await?;
    /// assert!(keycloak.issuer().ends_with("/realms/mcp"));
    /// let token = keycloak.token_as(Profile::Keycloak).sign()?;
    /// # Ok(()) }
    /// ```
    pub async fn start_as(profile: Profile) -> Result<Self, TestingError> {
        let issuer = Self::start_at_path(profile.path()).await?;
        let base = issuer.issuer().to_owned();
        let origin = issuer.origin();
        let document = match profile {
            Profile::Entra | Profile::EntraV1 => {
                let template = issuer.entra_issuer(profile, "{tenantid}");
                let key = TestKey::generate(Algorithm::RS256, ENTRA_KID)?;
                // A JWK always serializes; were it not to, the key set would lack the key and
                // every token be refused, which a test notices.
                let mut jwk = serde_json::to_value(&key.jwk).unwrap_or_else(|_| json!({}));
                jwk["x5t"] = json!(ENTRA_KID);
                jwk["x5c"] = json!(["MIIC/TCCAeWgAwIBAgIIRfExampleOnlyNotACertificate"]);
                jwk["issuer"] = json!(template);
                issuer.add_key(key, true);
                issuer.set_jwks_body(Some(json!({ "keys": [jwk] }).to_string()));
                json!({
                    "issuer": template,
                    "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
                    "token_endpoint": format!("{base}/oauth2/v2.0/token"),
                    "response_types_supported": ["code", "id_token", "code id_token"],
                    "subject_types_supported": ["pairwise"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "scopes_supported": ["openid", "profile", "email", "offline_access"],
                    "tenant_region_scope": null,
                    "cloud_instance_name": "microsoftonline.com",
                })
            }
            Profile::Keycloak => json!({
                "issuer": base,
                "authorization_endpoint": format!("{base}/protocol/openid-connect/auth"),
                "token_endpoint": format!("{base}/protocol/openid-connect/token"),
                "introspection_endpoint": format!("{base}/protocol/openid-connect/token/introspect"),
                "end_session_endpoint": format!("{base}/protocol/openid-connect/logout"),
                "response_types_supported": ["code", "none", "id_token", "token"],
                "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
                "code_challenge_methods_supported": ["plain", "S256"],
            }),
            Profile::Auth0 => json!({
                "issuer": format!("{origin}/"),
                "authorization_endpoint": format!("{origin}/authorize"),
                "token_endpoint": format!("{origin}/oauth/token"),
                "userinfo_endpoint": format!("{origin}/userinfo"),
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256", "plain"],
            }),
            Profile::Okta => json!({
                "issuer": base,
                "authorization_endpoint": format!("{base}/v1/authorize"),
                "token_endpoint": format!("{base}/v1/token"),
                "introspection_endpoint": format!("{base}/v1/introspect"),
                "response_types_supported": ["code", "token", "id_token"],
                "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "client_credentials"],
                "code_challenge_methods_supported": ["S256"],
            }),
            Profile::Cognito => {
                // The pool's endpoints live on its own domain.
                let domain = "https://mcp-demo.auth.eu-west-1.amazoncognito.com";
                json!({
                    "issuer": base,
                    "authorization_endpoint": format!("{domain}/oauth2/authorize"),
                    "token_endpoint": format!("{domain}/oauth2/token"),
                    "userinfo_endpoint": format!("{domain}/oauth2/userInfo"),
                    "response_types_supported": ["code", "token"],
                    "scopes_supported": ["openid", "email", "phone", "profile"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                })
            }
        };
        let mut document = document;
        document["jwks_uri"] = json!(issuer.jwks_uri());
        issuer.set_metadata(Some(document));
        Ok(issuer)
    }

    /// `http://127.0.0.1:PORT`, the issuer's origin (what `--issuer` gives a provider preset).
    pub fn origin(&self) -> String {
        let issuer = self.issuer();
        let after_scheme = issuer.find("://").map_or(0, |at| at + 3);
        match issuer[after_scheme..].find('/') {
            Some(slash) => issuer[..after_scheme + slash].to_owned(),
            None => issuer.to_owned(),
        }
    }

    /// The issuer an Entra ID-dressed issuer's tokens of `tenant` carry (`{tenantid}` gives
    /// the template).
    pub fn entra_issuer(&self, profile: Profile, tenant: &str) -> String {
        match profile {
            Profile::EntraV1 => format!("{}/{tenant}/", self.origin()),
            _ => format!("{}/{tenant}/v2.0", self.origin()),
        }
    }

    /// An access token shaped as `profile` issues them (this issuer must be dressed as it):
    /// Entra ID's of [`ENTRA_TENANT`] with `scp` `Tools.Call` and no roles; the others issued
    /// to [`PROFILE_CLIENT`], with no roles. Set the audience, roles and the rest on it.
    pub fn token_as(&self, profile: Profile) -> TokenBuilder {
        let token = self.token();
        match profile {
            Profile::Entra | Profile::EntraV1 => token
                .key(ENTRA_KID)
                .claim("iss", json!(self.entra_issuer(profile, ENTRA_TENANT)))
                .claim("tid", json!(ENTRA_TENANT))
                .claim("oid", json!("00000000-0000-0000-66f3-3332eca7ea81"))
                .claim("azp", json!("04b07795-8ddb-461a-bbee-02f9e1bf7b46"))
                .claim("scp", json!("Tools.Call"))
                .claim(
                    "ver",
                    json!(if profile == Profile::EntraV1 {
                        "1.0"
                    } else {
                        "2.0"
                    }),
                )
                // How the client authenticated: access tokens only (v2 `azpacr`, v1 `appidacr`).
                .claim(
                    if profile == Profile::EntraV1 {
                        "appidacr"
                    } else {
                        "azpacr"
                    },
                    json!("0"),
                )
                .claim("preferred_username", json!("ada@contoso.example")),
            Profile::Keycloak => token
                .audience("account")
                .claim("azp", json!(PROFILE_CLIENT))
                .claim("typ", json!("Bearer"))
                .claim(
                    "session_state",
                    json!("c1a0f1e2-0000-4000-8000-000000000000"),
                )
                .claim("realm_access", json!({ "roles": [] }))
                .claim(
                    "resource_access",
                    json!({ "account": { "roles": ["manage-account"] } }),
                )
                .claim("scope", json!("openid profile email"))
                .claim("preferred_username", json!("ada")),
            Profile::Auth0 => token
                .claim("iss", json!(format!("{}/", self.origin())))
                .claim("azp", json!(PROFILE_CLIENT))
                .claim("scope", json!("openid profile"))
                .claim("permissions", json!([]))
                .subject("auth0|6566f0a0c8a0e1c2d3e4f5a6"),
            Profile::Okta => token
                .audience("api://default")
                .claim("ver", json!(1))
                .claim(
                    "jti",
                    json!("AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE"),
                )
                .claim("cid", json!(PROFILE_CLIENT))
                .claim("uid", json!("00uid4BxXw6I6TV4m0g3"))
                .claim("scp", json!(["openid"]))
                .claim("groups", json!(["Everyone"]))
                .subject("ada@example.com"),
            Profile::Cognito => token
                .client_id(PROFILE_CLIENT)
                .claim("token_use", json!("access"))
                .claim("cognito:groups", json!([]))
                .claim("scope", json!("openid"))
                .claim("username", json!("ada"))
                .claim("version", json!(2)),
        }
    }

    /// An ID token shaped as `profile` issues them, for [`PROFILE_CLIENT`] (Entra ID's for its
    /// app `client`): never an access token.
    pub fn id_token_as(&self, profile: Profile, client: &str) -> TokenBuilder {
        let token = self
            .token()
            .audience(client)
            .claim("nonce", json!("n-0S6_WzA2Mj"));
        match profile {
            Profile::Entra | Profile::EntraV1 => token
                .key(ENTRA_KID)
                .claim("iss", json!(self.entra_issuer(profile, ENTRA_TENANT)))
                .claim("tid", json!(ENTRA_TENANT))
                .claim("roles", json!(["Tools.Admin"]))
                .claim("ver", json!("2.0")),
            Profile::Keycloak => token
                .claim("azp", json!(client))
                .claim("typ", json!("ID"))
                .claim("realm_access", json!({ "roles": [] })),
            Profile::Auth0 => token.claim("iss", json!(format!("{}/", self.origin()))),
            Profile::Okta => token
                .claim("amr", json!(["pwd"]))
                .claim("idp", json!("00o1")),
            Profile::Cognito => token
                .claim("token_use", json!("id"))
                .claim("cognito:username", json!("ada")),
        }
    }
}
