//! Multi-tenant issuers (Entra ID's `organizations` and `common` endpoints, v2 and v1): the
//! metadata names an issuer template holding `{tenantid}`; a token is trusted when its `iss` is
//! the template with its own `tid` in place, and that tenant is accepted. Shapes follow
//! Microsoft's "Access token claims reference" (learn.microsoft.com/entra/identity-platform/
//! access-token-claims-reference) and "OpenID Connect on the Microsoft identity platform"
//! (the `{tenantid}` issuer of the multi-tenant metadata).
#![cfg(feature = "testing")]

use mcp_auth::discovery::{Discovery, Tenants};
use mcp_auth::testing::{Profile, TestIssuer};
use mcp_auth::{AuthServerConfig, AuthServerType, ConfigError, McpAuth, ProtectedResource};
use serde_json::json;

use crate::common::jwt::JwtApp;

const OURS: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const PARTNER: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const STRANGER: &str = "00000000-1111-4222-8333-444444444444";

/// An Entra-shaped provider on loopback (`TestIssuer::start_as`): the `organizations`
/// document naming the template, and the configuration trusting it for `tenants`.
struct Entra {
    app: JwtApp,
    profile: Profile,
    template: String,
}

impl Entra {
    async fn start(v1: bool, tenants: Tenants) -> Self {
        let profile = if v1 { Profile::EntraV1 } else { Profile::Entra };
        let issuer = TestIssuer::start_as(profile).await.unwrap();
        let template = issuer.entra_issuer(profile, "{tenantid}");
        let well_known = format!("{}/.well-known/openid-configuration", issuer.issuer());
        let discovery = Discovery::multi_tenant(&template, &well_known, tenants).unwrap();
        let config = AuthServerConfig::lazy_with(discovery);
        let app = JwtApp::start_with(issuer, vec![config], |b| b).await;
        Self {
            app,
            profile,
            template,
        }
    }

    /// A token of `tenant` as Entra issues it: `iss` naming the tenant, `tid` too.
    fn token(&self, tenant: &str) -> String {
        self.token_naming(tenant, tenant)
    }

    /// A token whose `iss` names `in_issuer` and whose `tid` is `tid`.
    fn token_naming(&self, in_issuer: &str, tid: &str) -> String {
        self.app
            .issuer
            .token_as(self.profile)
            .audience(&self.app.resource)
            .claim(
                "iss",
                json!(self.app.issuer.entra_issuer(self.profile, in_issuer)),
            )
            .claim("tid", json!(tid))
            .sign()
            .unwrap()
    }
}

const UNTRUSTED: &str = "the token's issuer is not trusted by this resource";

#[tokio::test]
async fn tokens_of_the_tenants_named_are_accepted_and_others_refused_v1_and_v2() {
    for v1 in [false, true] {
        let entra = Entra::start(v1, Tenants::only([OURS, PARTNER])).await;
        for tenant in [OURS, PARTNER] {
            let info = entra.app.accepted(&entra.token(tenant)).await;
            assert_eq!(info["issuer"], entra.template.replace("{tenantid}", tenant));
        }
        entra.app.refused(&entra.token(STRANGER), UNTRUSTED).await;
        // A tid that disagrees with the issuer's tenant, either way round.
        entra
            .app
            .refused(&entra.token_naming(OURS, STRANGER), UNTRUSTED)
            .await;
        entra
            .app
            .refused(&entra.token_naming(STRANGER, OURS), UNTRUSTED)
            .await;
        // No tid, or the template itself as issuer.
        let without_tid = entra
            .app
            .issuer
            .token_as(entra.profile)
            .audience(&entra.app.resource)
            .claim("iss", json!(entra.template.replace("{tenantid}", OURS)))
            .without("tid")
            .sign()
            .unwrap();
        entra.app.refused(&without_tid, UNTRUSTED).await;
        let template_itself = entra
            .app
            .issuer
            .token_as(entra.profile)
            .audience(&entra.app.resource)
            .claim("iss", json!(entra.template))
            .claim("tid", json!("{tenantid}"))
            .sign()
            .unwrap();
        entra.app.refused(&template_itself, UNTRUSTED).await;
    }
}

#[tokio::test]
async fn any_tenant_is_accepted_only_when_asked_and_the_tid_must_still_agree() {
    let entra = Entra::start(false, Tenants::any()).await;
    entra.app.accepted(&entra.token(STRANGER)).await;
    entra
        .app
        .refused(&entra.token_naming(OURS, STRANGER), UNTRUSTED)
        .await;
}

#[tokio::test]
async fn resource_metadata_lists_the_issuer_clients_can_discover() {
    let entra = Entra::start(false, Tenants::only([OURS])).await;
    let document: serde_json::Value = reqwest::get(
        entra
            .app
            .server
            .url("/.well-known/oauth-protected-resource/mcp"),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        document["authorization_servers"],
        json!([entra.app.issuer.issuer()]),
        "the organizations endpoint, never the template"
    );
}

#[test]
fn templates_are_refused_unless_described_as_multi_tenant() {
    let build = |server: AuthServerConfig| {
        McpAuth::builder()
            .protected_resource(
                ProtectedResource::new("https://mcp.example.com/mcp").authorization_server(server),
            )
            .build()
    };
    let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
    let plain = build(AuthServerConfig::lazy(template, AuthServerType::Oidc));
    assert!(
        matches!(
            plain,
            Err(ConfigError::InvalidSetting {
                of: "AuthServerConfig",
                setting: "issuer",
                ..
            })
        ),
        "{plain:?}"
    );
    let well_known =
        "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration";
    for (template, tenants) in [
        (
            "https://login.microsoftonline.com/common/v2.0",
            Tenants::any(),
        ),
        (
            "https://login.microsoftonline.com/{tenantid}/{tenantid}",
            Tenants::any(),
        ),
        (template, Tenants::only(Vec::<String>::new())),
        (template, Tenants::only(["contoso.onmicrosoft.com/x"])),
    ] {
        let refused = Discovery::multi_tenant(template, well_known, tenants.clone());
        assert!(
            matches!(
                refused,
                Err(ConfigError::InvalidSetting {
                    setting: "multi_tenant",
                    ..
                })
            ),
            "{template} {tenants:?}: {refused:?}"
        );
    }
    let entra = Discovery::multi_tenant(template, well_known, Tenants::only([OURS])).unwrap();
    assert!(build(AuthServerConfig::lazy_with(entra)).is_ok());
}
