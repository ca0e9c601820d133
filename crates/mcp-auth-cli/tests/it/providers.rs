//! `mcp-auth serve --provider ...`, one test per identity provider, each against the test issuer
//! on loopback dressed as that provider (`TestIssuer::start_as`; `--issuer` stands in for its
//! public host): its discovery document, key set members and access-token claims as its public
//! documentation shows them (the pages are named on `mcp_auth::testing::Profile`). For each: its real-shaped access token accepted; the same token for another
//! tenant, audience or client refused; its ID token refused; a role read from where the
//! provider puts it passing a `--tool-role` rule, its absence refused with 403 and no
//! challenge, and `tools/list` filtered by it.

use mcp_auth::testing::{ENTRA_TENANT, PROFILE_CLIENT, Profile, TestIssuer, TokenBuilder};
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::{Value, json};

use crate::common::mcp::{self, list, listed};
use crate::common::{self, Running};

/// `mcp-auth serve --provider ARGS...`, the built-in `whoami` tool guarded by `role`.
async fn serve(args: &[&str], role: &str) -> (Running, String) {
    let guard = format!("whoami={role}");
    let mut all = vec!["--tool-role", guard.as_str()];
    all.extend_from_slice(args);
    serve_unguarded(&all).await
}

/// `mcp-auth serve ARGS...`.
async fn serve_unguarded(args: &[&str]) -> (Running, String) {
    let mut all = vec!["serve", "--bind", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let mut server = Running::spawn(common::mcp_auth(&all));
    let url = server.value_after("  MCP endpoint").await;
    (server, url)
}

/// POSTs a JSON-RPC `message` with `token`: the status, whether a challenge came, the answer.
async fn post(url: &str, token: &str, message: Value) -> (StatusCode, bool, Value) {
    let answer = mcp::post(url, token, &message).await;
    (answer.status, answer.challenge.is_some(), answer.body)
}

fn call_whoami() -> Value {
    mcp::call("whoami")
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

const OTHER_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const ENTRA_APP: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";

#[tokio::test]
async fn entra() {
    for (profile, provider) in [(Profile::Entra, "entra"), (Profile::EntraV1, "entra-v1")] {
        let issuer = TestIssuer::start_as(profile).await.unwrap();
        let origin = issuer.origin();
        let (server, url) = serve(
            &[
                "--provider",
                provider,
                "--issuer",
                &origin,
                "--tenant",
                ENTRA_TENANT,
                "--tenant",
                "partner-tenant",
                "--audience",
                ENTRA_APP,
            ],
            "Tools.Admin",
        )
        .await;
        let token = |roles: &[&str]| {
            issuer
                .token_as(profile)
                .audience(ENTRA_APP)
                .claim("roles", json!(roles))
        };
        roles_enforced(
            &url,
            &sign(token(&["Tools.Admin"])),
            &sign(token(&["Tools.Reader"])),
        )
        .await;
        let other_tenant = token(&["Tools.Admin"])
            .claim("iss", json!(issuer.entra_issuer(profile, OTHER_TENANT)))
            .claim("tid", json!(OTHER_TENANT));
        refused(&url, &sign(other_tenant), "another tenant").await;
        let disagreeing = token(&["Tools.Admin"]).claim("tid", json!(OTHER_TENANT));
        refused(
            &url,
            &sign(disagreeing),
            "a tid disagreeing with its issuer",
        )
        .await;
        let elsewhere = token(&["Tools.Admin"]).audience("api://another-app");
        refused(&url, &sign(elsewhere), "another audience").await;
        // An ID token names the app's client id too and carries the user's app roles, but no
        // azpacr (v1: appidacr).
        refused(
            &url,
            &sign(issuer.id_token_as(profile, ENTRA_APP)),
            "an ID token",
        )
        .await;
        server.stop().await;

        let (_, printed) = recognised(issuer.issuer(), provider, "--tenant TENANT_ID").await;
        assert!(printed.contains("Microsoft Graph"), "{printed}");
    }
}

#[tokio::test]
async fn entra_any_tenant_is_logged_and_provider_inputs_are_checked() {
    let issuer = TestIssuer::start_as(Profile::Entra).await.unwrap();
    let origin = issuer.origin();
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
    let stranger = issuer
        .token_as(Profile::Entra)
        .audience(ENTRA_APP)
        .claim("roles", json!(["Tools.Admin"]))
        .claim(
            "iss",
            json!(issuer.entra_issuer(Profile::Entra, OTHER_TENANT)),
        )
        .claim("tid", json!(OTHER_TENANT));
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
            &["--provider", "entra", "--tenant", ENTRA_TENANT][..],
            "give --audience",
        ),
        (
            &["--provider", "keycloak", "--tenant", ENTRA_TENANT][..],
            "--tenant is an input of",
        ),
        (
            &[
                "--provider",
                "keycloak",
                "--realm-url",
                "https://sso.example.com/realms/mcp",
                "--audience",
                "account",
            ][..],
            "every client of the realm",
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
        (
            &[
                "--provider",
                "auth0",
                "--auth0-domain",
                "example.auth0.com",
                "--issuer",
                "not a url",
            ][..],
            "stands in for the provider's host",
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

#[tokio::test]
async fn keycloak() {
    let issuer = TestIssuer::start_as(Profile::Keycloak).await.unwrap();
    let realm = issuer.issuer().to_owned();
    let (mut server, url) = serve(
        &[
            "--provider",
            "keycloak",
            "--realm-url",
            &realm,
            "--allowed-client-id",
            PROFILE_CLIENT,
        ],
        "mcp-user",
    )
    .await;
    let banner = server.value_after("  provider sets").await;
    assert_eq!(banner, "roles from realm_access.roles");
    let token = |client: &str, roles: &[&str]| {
        issuer
            .token_as(Profile::Keycloak)
            .claim("azp", json!(client))
            .claim("realm_access", json!({ "roles": roles }))
    };
    roles_enforced(
        &url,
        &sign(token(PROFILE_CLIENT, &["mcp-user"])),
        &sign(token(PROFILE_CLIENT, &["offline_access"])),
    )
    .await;
    // With an audience mapper the resource is named, whatever the client.
    let mapped = token("other-client", &["mcp-user"]).audience(&url);
    assert_eq!(
        post(&url, &sign(mapped), call_whoami()).await.0,
        StatusCode::OK
    );
    refused(
        &url,
        &sign(token("other-client", &["mcp-user"])),
        "another client of the realm, aud account",
    )
    .await;
    let id_token = issuer
        .id_token_as(Profile::Keycloak, PROFILE_CLIENT)
        .claim("realm_access", json!({ "roles": ["mcp-user"] }));
    refused(&url, &sign(id_token), "an ID token").await;
    server.stop().await;

    let (_, printed) = recognised(&realm, "keycloak", &format!("--realm-url {realm}")).await;
    assert!(printed.contains("aud: account"), "{printed}");
}

#[tokio::test]
async fn auth0() {
    let issuer = TestIssuer::start_as(Profile::Auth0).await.unwrap();
    let origin = issuer.origin();
    // Auth0 has no roles claim of its own: a namespaced one, added by an Action.
    let roles = "https://mcp.example.com/roles";
    let (server, url) = serve(
        &[
            "--provider",
            "auth0",
            "--auth0-domain",
            "example.eu.auth0.com",
            "--issuer",
            &origin,
            "--roles-claim",
            roles,
            "--scope",
            "read:files",
        ],
        "tool-users",
    )
    .await;
    let token = |api: &str, permissions: &[&str], role: &[&str]| {
        issuer
            .token_as(Profile::Auth0)
            .claim("aud", json!([api, format!("{origin}/userinfo")]))
            .claim("permissions", json!(permissions))
            .claim(roles, json!(role))
    };
    let with_permission = sign(token(&url, &["read:files"], &["tool-users"]));
    let (status, challenged, _) = post(
        &url,
        &sign(token(&url, &["write:files"], &["tool-users"])),
        call_whoami(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the permission is the scope");
    assert!(challenged, "a missing scope is a step-up");
    roles_enforced(
        &url,
        &with_permission,
        &sign(token(&url, &["read:files"], &[])),
    )
    .await;
    let another_api = token(
        "https://another-api.example.com",
        &["read:files"],
        &["tool-users"],
    );
    refused(&url, &sign(another_api), "another API").await;
    let without_slash = token(&url, &["read:files"], &["tool-users"]).claim("iss", json!(origin));
    refused(
        &url,
        &sign(without_slash),
        "the issuer without its trailing slash",
    )
    .await;
    let id_token = issuer
        .id_token_as(Profile::Auth0, PROFILE_CLIENT)
        .claim("permissions", json!(["read:files"]));
    refused(&url, &sign(id_token), "an ID token").await;
    server.stop().await;

    let (_, printed) = recognised(&format!("{origin}/"), "auth0", "--provider auth0").await;
    assert!(printed.contains("ends with '/'"), "{printed}");
}

#[tokio::test]
async fn okta() {
    let issuer = TestIssuer::start_as(Profile::Okta).await.unwrap();
    let okta_issuer = issuer.issuer().to_owned();
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
    let token = |audience: &str, groups: &[&str]| {
        issuer
            .token_as(Profile::Okta)
            .audience(audience)
            .claim("scp", json!(["openid", "mcp:tools"]))
            .claim("groups", json!(groups))
    };
    roles_enforced(
        &url,
        &sign(token("api://default", &["Everyone", "mcp-admins"])),
        &sign(token("api://default", &["Everyone"])),
    )
    .await;
    refused(
        &url,
        &sign(token("api://other", &["mcp-admins"])),
        "another audience",
    )
    .await;
    let id_token = issuer
        .id_token_as(Profile::Okta, PROFILE_CLIENT)
        .claim("scp", json!(["mcp:tools"]))
        .claim("groups", json!(["mcp-admins"]));
    refused(&url, &sign(id_token), "an ID token").await;
    server.stop().await;

    recognised(
        &okta_issuer,
        "okta",
        &format!("--okta-issuer {okta_issuer}"),
    )
    .await;
}

#[tokio::test]
async fn cognito() {
    let issuer = TestIssuer::start_as(Profile::Cognito).await.unwrap();
    let origin = issuer.origin();
    let pool = issuer.issuer().rsplit('/').next().unwrap().to_owned();
    let (server, url) = serve(
        &[
            "--provider",
            "cognito",
            "--cognito-pool",
            &format!("eu-west-1/{pool}"),
            "--issuer",
            &origin,
            "--allowed-client-id",
            PROFILE_CLIENT,
        ],
        "mcp-admins",
    )
    .await;
    let token = |client: &str, groups: &[&str]| {
        issuer
            .token_as(Profile::Cognito)
            .client_id(client)
            .claim("cognito:groups", json!(groups))
    };
    roles_enforced(
        &url,
        &sign(token(PROFILE_CLIENT, &["mcp-admins"])),
        &sign(token(PROFILE_CLIENT, &["readers"])),
    )
    .await;
    refused(
        &url,
        &sign(token("another-app-client", &["mcp-admins"])),
        "another client",
    )
    .await;
    let id_token = issuer
        .id_token_as(Profile::Cognito, PROFILE_CLIENT)
        .client_id(PROFILE_CLIENT)
        .claim("cognito:groups", json!(["mcp-admins"]));
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

/// Google issues opaque access tokens and no roles: each new token is checked at its tokeninfo
/// endpoint ("OAuth 2.0 for Server-side Web Apps", tokeninfo; the test issuer answers as
/// `oauth2.googleapis.com/tokeninfo` does), and its client stands for the audience.
#[tokio::test]
async fn google() {
    const CLIENT: &str = "1234-abc.apps.googleusercontent.com";
    const EMAIL_SCOPE: &str = "https://www.googleapis.com/auth/userinfo.email";
    let issuer = TestIssuer::start().await.unwrap();
    let origin = issuer.origin();
    let (mut server, url) = serve_unguarded(&[
        "--provider",
        "google",
        "--issuer",
        &origin,
        "--allowed-client-id",
        CLIENT,
        "--scope",
        EMAIL_SCOPE,
    ])
    .await;
    assert_eq!(
        server.value_after("  provider sets").await,
        "tokens checked at Google's tokeninfo endpoint"
    );
    let token = |client: &str, scopes: &[&str]| {
        issuer
            .token()
            .client_id(client)
            .scopes(scopes.iter().copied())
            .claim("email", json!("ada@example.com"))
            .opaque()
            .unwrap()
    };
    let good = token(CLIENT, &["openid", EMAIL_SCOPE]);
    let (status, _, answer) = post(&url, &good, call_whoami()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(issuer.userinfo_calls(), 1);
    assert_eq!(post(&url, &good, call_whoami()).await.0, StatusCode::OK);
    assert_eq!(issuer.userinfo_calls(), 1, "an answer is remembered");
    let (status, challenged, _) = post(&url, &token(CLIENT, &["openid"]), call_whoami()).await;
    assert_eq!(
        (status, challenged),
        (StatusCode::FORBIDDEN, true),
        "step-up"
    );
    refused(
        &url,
        &token("another-app.apps.googleusercontent.com", &[EMAIL_SCOPE]),
        "another client",
    )
    .await;
    let id_token = issuer
        .token()
        .audience(CLIENT)
        .claim("azp", json!(CLIENT))
        .claim("email", json!("ada@example.com"));
    refused(&url, &sign(id_token), "an ID token (a JWT)").await;
    issuer.set_down(true);
    let fresh = token(CLIENT, &[EMAIL_SCOPE]);
    assert_eq!(
        post(&url, &fresh, call_whoami()).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    issuer.set_down(false);
    let said = server.stop().await;
    assert!(
        !said.contains(&good) && !said.contains(&fresh),
        "no token in any log"
    );
}

/// GitHub issues opaque tokens and no roles: each new one is checked at `GET /user` ("REST API
/// endpoints for users"; scopes from `X-OAuth-Scopes`, the OAuth app from
/// `X-OAuth-Client-Id`), on GitHub Enterprise Server's `/api/v3` path here, and organization
/// membership at `GET /user/memberships/orgs/{org}`.
#[tokio::test]
async fn github() {
    const APP: &str = "Iv1.8a61f9b3a7aba766";
    let issuer = TestIssuer::start_at_path("/api/v3").await.unwrap();
    let origin = issuer.origin();
    let (server, url) = serve_unguarded(&[
        "--provider",
        "github",
        "--issuer",
        &origin,
        "--allowed-client-id",
        APP,
        "--github-org",
        "acme",
        "--scope",
        "repo",
    ])
    .await;
    issuer.set_github_membership("acme", "octocat", Some("active"));
    issuer.set_github_membership("acme", "invited", Some("pending"));
    let token = |login: &str, app: &str| {
        issuer
            .token()
            .subject(login)
            .claim("id", json!(583231))
            .client_id(app)
            .scopes(["repo", "read:org"])
            .opaque()
            .unwrap()
    };
    let (status, _, answer) = post(&url, &token("octocat", APP), call_whoami()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    refused(
        &url,
        &token("octocat", "Iv1.another-app"),
        "another OAuth app",
    )
    .await;
    refused(&url, &token("invited", APP), "a pending member").await;
    refused(&url, &token("mallory", APP), "not a member").await;
    let jwt = issuer.token().subject("octocat").audience(APP);
    refused(&url, &sign(jwt), "a JWT").await;
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token("mallory", APP))
        .json(&list())
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    server.stop().await;

    // GitHub publishes no metadata: discover still names it.
    let (passed, _) = recognised(
        &format!("{origin}/login/oauth"),
        "github",
        "--provider github",
    )
    .await;
    assert!(!passed);
}
