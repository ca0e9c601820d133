//! `mcp-auth serve --provider ...`, one test per identity provider, each against the test issuer
//! on loopback dressed as that provider (`--issuer` stands in for its public host): its
//! discovery document, key set members and access-token claims as its public documentation
//! shows them. For each: its real-shaped access token accepted; the same token for another
//! tenant, audience or client refused; its ID token refused; a role read from where the
//! provider puts it passing a `--tool-role` rule, its absence refused with 403 and no
//! challenge, and `tools/list` filtered by it.

use jsonwebtoken::Algorithm;
use mcp_auth::testing::{TestIssuer, TestKey, TokenBuilder};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, Running};

/// `mcp-auth serve --provider ARGS...`, the built-in `whoami` tool guarded by `role`.
async fn serve(args: &[&str], role: &str) -> (Running, String) {
    let guard = format!("whoami={role}");
    let mut all = vec!["serve", "--bind", "127.0.0.1:0", "--tool-role", &guard];
    all.extend_from_slice(args);
    let mut server = Running::spawn(common::mcp_auth(&all));
    let url = server.value_after("  MCP endpoint").await;
    (server, url)
}

/// POSTs a JSON-RPC `message` with `token`: the status, whether a challenge came, the answer.
async fn post(url: &str, token: &str, message: Value) -> (StatusCode, bool, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .json(&message)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let challenged = response.headers().contains_key("www-authenticate");
    (
        status,
        challenged,
        response.json().await.unwrap_or(Value::Null),
    )
}

fn call_whoami() -> Value {
    json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": { "name": "whoami", "arguments": {} } })
}

fn list() -> Value {
    json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" })
}

fn listed(answer: &Value) -> Vec<&str> {
    answer["result"]["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|tool| tool["name"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts the provider's access token `with_role` calls `whoami` and sees it listed, and
/// that `without_role` (otherwise alike) is refused with 403, no challenge, and sees no
/// `whoami`.
async fn roles_enforced(url: &str, with_role: &str, without_role: &str) {
    let (status, _, answer) = post(url, with_role, call_whoami()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, _, answer) = post(url, with_role, list()).await;
    assert!(listed(&answer).contains(&"whoami"), "{answer}");
    let (status, challenged, answer) = post(url, without_role, call_whoami()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(!challenged, "no step-up grants a role");
    assert_eq!(answer["error"]["code"], -32003);
    let (status, _, answer) = post(url, without_role, list()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(!listed(&answer).contains(&"whoami"), "{answer}");
}

/// Asserts `token` is refused with 401 `invalid_token`.
async fn refused(url: &str, token: &str, what: &str) {
    let (status, challenged, _) = post(url, token, list()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
    assert!(challenged, "{what}");
}

/// `mcp-auth discover ISSUER`: whether it passed, and what it printed.
async fn discover(issuer: &str) -> (bool, String) {
    let output = common::finished(&mut common::mcp_auth(&["discover", issuer])).await;
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// Asserts `discover` names `provider` and prints `flags`.
async fn recognised(issuer: &str, provider: &str, flags: &str) -> (bool, String) {
    let (passed, printed) = discover(issuer).await;
    assert!(
        printed.contains(&format!("provider          {provider}\n")),
        "{printed}"
    );
    assert!(printed.contains(flags), "{printed}");
    (passed, printed)
}

fn sign(builder: TokenBuilder) -> String {
    builder.sign().unwrap()
}

/// `issuer`'s origin (`http://127.0.0.1:PORT`).
fn origin(issuer: &TestIssuer) -> String {
    let url = url::Url::parse(issuer.issuer()).unwrap();
    url.origin().ascii_serialization()
}

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const ENTRA_APP: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
/// A kid as Entra ID writes them (base64url of the certificate thumbprint), also its `x5t`.
const ENTRA_KID: &str = "nOo3ZDrODXEK1jKWhXslHR_KXEg";

/// The test issuer dressed as Entra ID's `organizations` endpoint (v2 or v1): the document
/// naming the `{tenantid}` template, and a key set whose member carries `x5t`, `x5c` and
/// `issuer` as Entra's do ("OpenID Connect on the Microsoft identity platform", "Signing key
/// rollover": learn.microsoft.com/entra/identity-platform/).
async fn entra_issuer(v1: bool) -> (TestIssuer, String) {
    let path = if v1 {
        "/organizations"
    } else {
        "/organizations/v2.0"
    };
    let issuer = TestIssuer::start_at_path(path).await.unwrap();
    let origin = origin(&issuer);
    let template = if v1 {
        format!("{origin}/{{tenantid}}/")
    } else {
        format!("{origin}/{{tenantid}}/v2.0")
    };
    let key = TestKey::generate(Algorithm::RS256, ENTRA_KID).unwrap();
    let mut jwk = serde_json::to_value(&key.jwk).unwrap();
    jwk["x5t"] = json!(ENTRA_KID);
    jwk["x5c"] = json!(["MIIC/TCCAeWgAwIBAgIIRfExampleOnlyNotACertificate"]);
    jwk["issuer"] = json!(template);
    issuer.add_key(key, true);
    issuer.set_jwks_body(Some(json!({ "keys": [jwk] }).to_string()));
    issuer.set_metadata(Some(json!({
        "issuer": template,
        "jwks_uri": issuer.jwks_uri(),
        "authorization_endpoint": format!("{origin}/organizations/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{origin}/organizations/oauth2/v2.0/token"),
        "response_types_supported": ["code", "id_token", "code id_token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "tenant_region_scope": null,
        "cloud_instance_name": "microsoftonline.com",
    })));
    (issuer, template)
}

/// An Entra ID access token of `tenant` for the app, as "Access token claims reference"
/// shows a v2 (or v1) token: `aud` the app's client id, `iss` naming the tenant, `tid`,
/// `oid`, `scp` (delegated), `roles` (app roles), `azp`, `ver`.
fn entra_token(issuer: &TestIssuer, template: &str, tenant: &str, roles: &[&str]) -> TokenBuilder {
    let v1 = template.ends_with("}/");
    issuer
        .token()
        .key(ENTRA_KID)
        .audience(ENTRA_APP)
        .claim("iss", json!(template.replace("{tenantid}", tenant)))
        .claim("tid", json!(tenant))
        .claim("oid", json!("00000000-0000-0000-66f3-3332eca7ea81"))
        .claim("azp", json!("04b07795-8ddb-461a-bbee-02f9e1bf7b46"))
        .claim("scp", json!("Tools.Call"))
        .claim("roles", json!(roles))
        .claim("ver", json!(if v1 { "1.0" } else { "2.0" }))
        .claim("preferred_username", json!("ada@contoso.example"))
}

#[tokio::test]
async fn entra() {
    for v1 in [false, true] {
        let (issuer, template) = entra_issuer(v1).await;
        let provider = if v1 { "entra-v1" } else { "entra" };
        let origin = origin(&issuer);
        let (server, url) = serve(
            &[
                "--provider",
                provider,
                "--issuer",
                &origin,
                "--tenant",
                TENANT,
                "--tenant",
                "partner-tenant",
                "--audience",
                ENTRA_APP,
            ],
            "Tools.Admin",
        )
        .await;
        let token = |tenant: &str, roles: &[&str]| entra_token(&issuer, &template, tenant, roles);
        roles_enforced(
            &url,
            &sign(token(TENANT, &["Tools.Admin"])),
            &sign(token(TENANT, &["Tools.Reader"])),
        )
        .await;
        refused(
            &url,
            &sign(token(OTHER_TENANT, &["Tools.Admin"])),
            "another tenant",
        )
        .await;
        refused(
            &url,
            &sign(token(TENANT, &["Tools.Admin"]).claim("tid", json!(OTHER_TENANT))),
            "a tid disagreeing with its issuer",
        )
        .await;
        refused(
            &url,
            &sign(token(TENANT, &["Tools.Admin"]).audience("api://another-app")),
            "another audience",
        )
        .await;
        // An ID token names the app's client id too, and carries neither scp nor roles.
        let id_token = issuer
            .token()
            .key(ENTRA_KID)
            .audience(ENTRA_APP)
            .claim("iss", json!(template.replace("{tenantid}", TENANT)))
            .claim("tid", json!(TENANT))
            .claim("nonce", json!("abc"))
            .claim("ver", json!("2.0"));
        refused(&url, &sign(id_token), "an ID token").await;
        server.stop().await;

        let (_, printed) = recognised(issuer.issuer(), provider, "--tenant TENANT_ID").await;
        assert!(printed.contains("Microsoft Graph"), "{printed}");
    }
}

#[tokio::test]
async fn entra_any_tenant_is_logged_and_tenants_are_required() {
    let (issuer, template) = entra_issuer(false).await;
    let origin = origin(&issuer);
    let (server, url) = serve(
        &[
            "--provider",
            "entra",
            "--issuer",
            &origin,
            "--any-tenant",
            "--audience",
            ENTRA_APP,
        ],
        "Tools.Admin",
    )
    .await;
    let stranger = entra_token(&issuer, &template, OTHER_TENANT, &["Tools.Admin"]);
    assert_eq!(
        post(&url, &sign(stranger), call_whoami()).await.0,
        StatusCode::OK
    );
    let said = server.stop().await;
    assert!(said.contains("tokens of any tenant"), "{said}");

    for (args, expected) in [
        (
            &["--provider", "entra", "--audience", ENTRA_APP][..],
            "--tenant ID",
        ),
        (
            &["--provider", "entra", "--tenant", TENANT][..],
            "give --audience",
        ),
        (
            &["--provider", "keycloak", "--tenant", TENANT][..],
            "--tenant is an input of",
        ),
        (
            &[
                "--provider",
                "cognito",
                "--cognito-pool",
                "eu-west-1/eu-west-1_A",
            ][..],
            "--allowed-client-id",
        ),
        (
            &[
                "--provider",
                "okta",
                "--okta-issuer",
                "https://example.okta.com",
                "--audience",
                "api://default",
            ][..],
            "org authorization server",
        ),
    ] {
        let mut all = vec!["serve", "--bind", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let output = common::finished(&mut common::mcp_auth(&all)).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_ne!(output.status.code(), Some(0), "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// A Keycloak realm's access token as Keycloak issues it without an audience mapper
/// (keycloak.org, "Server Administration Guide", "Audience support"): `aud` `account`, the
/// client in `azp`, `typ` `Bearer`, realm roles in `realm_access.roles`.
fn keycloak_token(issuer: &TestIssuer, client: &str, roles: &[&str]) -> TokenBuilder {
    issuer
        .token()
        .audience("account")
        .claim("azp", json!(client))
        .claim("typ", json!("Bearer"))
        .claim(
            "session_state",
            json!("c1a0f1e2-0000-4000-8000-000000000000"),
        )
        .claim("realm_access", json!({ "roles": roles }))
        .claim(
            "resource_access",
            json!({ "account": { "roles": ["manage-account"] } }),
        )
        .claim("scope", json!("openid profile email"))
        .claim("preferred_username", json!("ada"))
}

#[tokio::test]
async fn keycloak() {
    let issuer = TestIssuer::start_at_path("/realms/mcp").await.unwrap();
    let realm = issuer.issuer().to_owned();
    // keycloak.org, "Securing applications", OIDC endpoints of a realm.
    issuer.set_metadata(Some(json!({
        "issuer": realm,
        "jwks_uri": issuer.jwks_uri(),
        "authorization_endpoint": format!("{realm}/protocol/openid-connect/auth"),
        "token_endpoint": format!("{realm}/protocol/openid-connect/token"),
        "introspection_endpoint": format!("{realm}/protocol/openid-connect/token/introspect"),
        "end_session_endpoint": format!("{realm}/protocol/openid-connect/logout"),
        "response_types_supported": ["code", "none", "id_token", "token"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["plain", "S256"],
    })));
    let (mut server, url) = serve(
        &[
            "--provider",
            "keycloak",
            "--realm-url",
            &realm,
            "--allowed-client-id",
            "mcp-client",
        ],
        "mcp-user",
    )
    .await;
    let banner = server.value_after("  provider sets").await;
    assert_eq!(banner, "roles from realm_access.roles");
    roles_enforced(
        &url,
        &sign(keycloak_token(&issuer, "mcp-client", &["mcp-user"])),
        &sign(keycloak_token(&issuer, "mcp-client", &["offline_access"])),
    )
    .await;
    // With an audience mapper the resource is named, whatever the client.
    let mapped = keycloak_token(&issuer, "other-client", &["mcp-user"]).audience(&url);
    assert_eq!(
        post(&url, &sign(mapped), call_whoami()).await.0,
        StatusCode::OK
    );
    refused(
        &url,
        &sign(keycloak_token(&issuer, "other-client", &["mcp-user"])),
        "another client of the realm, aud account",
    )
    .await;
    let id_token = keycloak_token(&issuer, "mcp-client", &["mcp-user"])
        .audience("mcp-client")
        .claim("typ", json!("ID"));
    refused(&url, &sign(id_token), "an ID token").await;
    server.stop().await;

    let (_, printed) = recognised(&realm, "keycloak", &format!("--realm-url {realm}")).await;
    assert!(printed.contains("aud: account"), "{printed}");
}

/// An Auth0 access token with RBAC and "Add Permissions in the Access Token" on (auth0.com,
/// "Access Token Profiles", "Enable Role-Based Access Control for APIs"): `iss` ending with
/// `/`, `aud` the API identifier and the userinfo URL, `permissions`.
fn auth0_token(issuer: &TestIssuer, api: &str, permissions: &[&str]) -> TokenBuilder {
    let domain = format!("{}/", origin(issuer));
    issuer
        .token()
        .claim("iss", json!(domain))
        .claim("aud", json!([api, format!("{domain}userinfo")]))
        .claim("azp", json!("n8QeBDRJbAUvVtCcGlnUaWr1V1ISkjcs"))
        .claim("scope", json!("openid profile"))
        .claim("permissions", json!(permissions))
        .claim("https://mcp.example.com/roles", json!(["tool-users"]))
        .subject("auth0|6566f0a0c8a0e1c2d3e4f5a6")
}

#[tokio::test]
async fn auth0() {
    let issuer = TestIssuer::start().await.unwrap();
    let origin = origin(&issuer);
    let document = json!({
        "issuer": format!("{origin}/"),
        "jwks_uri": issuer.jwks_uri(),
        "authorization_endpoint": format!("{origin}/authorize"),
        "token_endpoint": format!("{origin}/oauth/token"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256", "plain"],
    });
    issuer.set_metadata(Some(document));
    // Auth0 has no roles claim of its own: a namespaced one from an Action.
    let (server, url) = serve(
        &[
            "--provider",
            "auth0",
            "--auth0-domain",
            "example.eu.auth0.com",
            "--issuer",
            &origin,
            "--roles-claim",
            "https://mcp.example.com/roles",
            "--scope",
            "read:files",
        ],
        "tool-users",
    )
    .await;
    let with_permission = sign(auth0_token(&issuer, &url, &["read:files"]));
    assert_eq!(
        post(&url, &with_permission, call_whoami()).await.0,
        StatusCode::OK
    );
    let (status, challenged, _) = post(
        &url,
        &sign(auth0_token(&issuer, &url, &["write:files"])),
        call_whoami(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the permission is the scope");
    assert!(challenged, "a missing scope is a step-up");
    let without_role = auth0_token(&issuer, &url, &["read:files"])
        .claim("https://mcp.example.com/roles", json!([]));
    roles_enforced(&url, &with_permission, &sign(without_role)).await;
    refused(
        &url,
        &sign(auth0_token(
            &issuer,
            "https://another-api.example.com",
            &["read:files"],
        )),
        "another API",
    )
    .await;
    let without_slash = auth0_token(&issuer, &url, &["read:files"]).claim("iss", json!(origin));
    refused(
        &url,
        &sign(without_slash),
        "the issuer without its trailing slash",
    )
    .await;
    let id_token = auth0_token(&issuer, &url, &[])
        .audience("n8QeBDRJbAUvVtCcGlnUaWr1V1ISkjcs")
        .claim("nonce", json!("abc"));
    refused(&url, &sign(id_token), "an ID token").await;
    server.stop().await;

    let (_, printed) = recognised(&format!("{origin}/"), "auth0", "--provider auth0").await;
    assert!(printed.contains("ends with '/'"), "{printed}");
}

/// An Okta custom authorization server's access token (developer.okta.com, "OpenID Connect &
/// OAuth 2.0 API", "Access token"): `ver` 1, `aud` `api://default`, `cid`, `uid`, `scp` as an
/// array, a `groups` claim when configured.
fn okta_token(issuer: &TestIssuer, audience: &str, groups: &[&str]) -> TokenBuilder {
    issuer
        .token()
        .audience(audience)
        .claim("ver", json!(1))
        .claim(
            "jti",
            json!("AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE"),
        )
        .claim("cid", json!("0oa1abcdEfGhIjKlMn0h7"))
        .claim("uid", json!("00uid4BxXw6I6TV4m0g3"))
        .claim("scp", json!(["openid", "mcp:tools"]))
        .claim("groups", json!(groups))
        .subject("ada@example.com")
}

#[tokio::test]
async fn okta() {
    let issuer = TestIssuer::start_at_path("/oauth2/default").await.unwrap();
    let okta_issuer = issuer.issuer().to_owned();
    // developer.okta.com, "Authorization servers": /oauth2/default/v1/... endpoints.
    issuer.set_metadata(Some(json!({
        "issuer": okta_issuer,
        "jwks_uri": issuer.jwks_uri(),
        "authorization_endpoint": format!("{okta_issuer}/v1/authorize"),
        "token_endpoint": format!("{okta_issuer}/v1/token"),
        "introspection_endpoint": format!("{okta_issuer}/v1/introspect"),
        "response_types_supported": ["code", "token", "id_token"],
        "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
    })));
    let (server, url) = serve(
        &[
            "--provider",
            "okta",
            "--okta-issuer",
            &okta_issuer,
            "--audience",
            "api://default",
            "--scope",
            "mcp:tools",
        ],
        "mcp-admins",
    )
    .await;
    roles_enforced(
        &url,
        &sign(okta_token(
            &issuer,
            "api://default",
            &["Everyone", "mcp-admins"],
        )),
        &sign(okta_token(&issuer, "api://default", &["Everyone"])),
    )
    .await;
    refused(
        &url,
        &sign(okta_token(&issuer, "api://other", &["mcp-admins"])),
        "another audience",
    )
    .await;
    let id_token = okta_token(&issuer, "0oa1abcdEfGhIjKlMn0h7", &["mcp-admins"])
        .claim("nonce", json!("abc"))
        .claim("amr", json!(["pwd"]));
    refused(&url, &sign(id_token), "an ID token").await;
    server.stop().await;

    recognised(
        &okta_issuer,
        "okta",
        &format!("--okta-issuer {okta_issuer}"),
    )
    .await;
}

/// A Cognito user pool access token ("Understanding the access token", docs.aws.amazon.com/
/// cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html): no
/// `aud`, `client_id`, `token_use` `access`, `cognito:groups`, `scope`, `username`.
fn cognito_token(issuer: &TestIssuer, client: &str, groups: &[&str]) -> TokenBuilder {
    issuer
        .token()
        .claim("client_id", json!(client))
        .claim("token_use", json!("access"))
        .claim("cognito:groups", json!(groups))
        .claim("scope", json!("openid mcp/tools"))
        .claim("username", json!("ada"))
        .claim("origin_jti", json!("6a3c8d1e-0000-4000-8000-000000000000"))
        .claim("version", json!(2))
}

#[tokio::test]
async fn cognito() {
    let pool = "eu-west-1_AbC123";
    let issuer = TestIssuer::start_at_path(&format!("/{pool}"))
        .await
        .unwrap();
    let origin = origin(&issuer);
    // The pool's openid-configuration: endpoints on its own domain, and no
    // code_challenge_methods_supported (docs.aws.amazon.com/cognito, "User pool endpoints").
    let domain = "https://mcp-demo.auth.eu-west-1.amazoncognito.com";
    issuer.set_metadata(Some(json!({
        "issuer": issuer.issuer(),
        "jwks_uri": issuer.jwks_uri(),
        "authorization_endpoint": format!("{domain}/oauth2/authorize"),
        "token_endpoint": format!("{domain}/oauth2/token"),
        "userinfo_endpoint": format!("{domain}/oauth2/userInfo"),
        "response_types_supported": ["code", "token"],
        "scopes_supported": ["openid", "email", "phone", "profile"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })));
    let client = "4abc1234example5client6id";
    let (server, url) = serve(
        &[
            "--provider",
            "cognito",
            "--cognito-pool",
            &format!("eu-west-1/{pool}"),
            "--issuer",
            &origin,
            "--allowed-client-id",
            client,
        ],
        "mcp-admins",
    )
    .await;
    roles_enforced(
        &url,
        &sign(cognito_token(&issuer, client, &["mcp-admins"])),
        &sign(cognito_token(&issuer, client, &["readers"])),
    )
    .await;
    refused(
        &url,
        &sign(cognito_token(
            &issuer,
            "another-app-client",
            &["mcp-admins"],
        )),
        "another client",
    )
    .await;
    let id_token = cognito_token(&issuer, client, &["mcp-admins"])
        .audience(client)
        .claim("token_use", json!("id"));
    refused(&url, &sign(id_token), "an ID token").await;
    server.stop().await;

    let (passed, printed) = recognised(
        issuer.issuer(),
        "cognito",
        &format!("--cognito-pool eu-west-1/{pool}"),
    )
    .await;
    assert!(
        passed,
        "a missing PKCE announcement is a warning for Cognito: {printed}"
    );
    let pkce = printed.lines().find(|line| line.starts_with("PKCE"));
    assert!(
        pkce.is_some_and(|line| line.split_whitespace().nth(1) == Some("warn")),
        "{printed}"
    );
}
