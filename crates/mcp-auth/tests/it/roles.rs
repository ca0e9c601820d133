//! Roles, groups and scopes where providers put them: roles read into `AuthInfo::roles` by JWT
//! mode and introspection from the claims the layer names; Auth0's `permissions` granted as
//! scopes when asked.
#![cfg(feature = "testing")]

use crate::common::jwt::JwtApp;
use mcp_auth::testing::TestClient;
use mcp_auth::verify::IntrospectionOptions;
use serde_json::{Value, json};

#[tokio::test]
async fn roles_come_from_every_claim_named_in_jwt_mode() {
    let app = JwtApp::start(|b| {
        b.roles_claim("realm_access.roles")
            .roles_claim("resource_access.mcp-server.roles")
            .roles_claim("cognito:groups")
    })
    .await;
    let keycloak = app
        .token()
        .claim("realm_access", json!({ "roles": ["user", "admin"] }))
        .claim(
            "resource_access",
            json!({ "mcp-server": { "roles": ["tools"] }, "other": { "roles": ["x"] } }),
        )
        .claim("cognito:groups", json!("ops"))
        .sign()
        .unwrap();
    assert_eq!(
        app.accepted(&keycloak).await["roles"],
        json!(["user", "admin", "tools", "ops"])
    );
    assert_eq!(
        app.accepted(&app.token().sign().unwrap()).await["roles"],
        json!([]),
        "no roles claim, no role"
    );
    app.refused_with_claim(
        "realm_access",
        json!({ "roles": [1] }),
        "the realm_access.roles claim is neither a role nor a list of roles",
    )
    .await;
}

#[tokio::test]
async fn without_a_roles_claim_named_no_claim_is_read_as_roles() {
    let app = JwtApp::start(|b| b).await;
    let token = app.token().claim("roles", json!(["admin"])).sign().unwrap();
    assert_eq!(app.accepted(&token).await["roles"], json!([]));
}

#[tokio::test]
async fn introspection_answers_give_roles_too() {
    let issuer = mcp_auth::testing::TestIssuer::start().await.unwrap();
    issuer.register_client(TestClient {
        id: "mcp-server".to_owned(),
        secret: "secret".to_owned(),
        scopes: Vec::new(),
    });
    let config = issuer.lazy_config();
    let app = JwtApp::start_with(issuer, vec![config], |b| {
        b.introspection(IntrospectionOptions::new("mcp-server", "secret"))
            .without_jwt()
            .roles_claim("roles")
    })
    .await;
    let token = app
        .token()
        .claim("roles", json!(["Tasks.Write"]))
        .opaque()
        .unwrap();
    assert_eq!(app.accepted(&token).await["roles"], json!(["Tasks.Write"]));
}

#[test]
fn a_roles_claim_that_names_no_claim_is_refused_at_build() {
    let auth = crate::common::mcp_auth("https://api.example.com/mcp");
    for bad in ["", "realm_access.", "a..b"] {
        let error = auth.bearer().roles_claim(bad).build().unwrap_err();
        assert!(
            matches!(
                error,
                mcp_auth::ConfigError::InvalidSetting {
                    of: "BearerAuthBuilder",
                    setting: "roles_claim",
                    ..
                }
            ),
            "{bad:?}: {error:?}"
        );
    }
}

#[tokio::test]
async fn auth0_permissions_are_scopes_only_when_asked() {
    use mcp_auth::verify::JwtOptions;

    let token = |app: &JwtApp| {
        app.token()
            .scopes(["openid"])
            .claim("permissions", json!(["read:files", "openid"]))
            .sign()
            .unwrap()
    };
    let plain = JwtApp::start(|b| b).await;
    assert_eq!(
        plain.accepted(&token(&plain)).await["scopes"],
        json!(["openid"])
    );

    let auth0 = JwtApp::start(|b| b.jwt(JwtOptions::default().read_permissions_claim(true))).await;
    assert_eq!(
        auth0.accepted(&token(&auth0)).await["scopes"],
        json!(["openid", "read:files"])
    );
    for bad in [json!("read:files"), json!(["read files"]), json!([1])] {
        auth0
            .refused_starting(
                &auth0.token().claim("permissions", bad).sign().unwrap(),
                "the permissions claim",
            )
            .await;
    }
}

/// POSTs a `tools/call` of `tool` to the app with `token`.
async fn call_tool(app: &JwtApp, token: &str, tool: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(&app.resource)
        .bearer_auth(token)
        .json(&json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": { "name": tool } }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_role_read_from_the_token_passes_a_tool_role_rule_and_its_absence_is_refused() {
    use mcp_auth::operations::OperationRules;

    let app = JwtApp::start(|b| {
        b.roles_claim("realm_access.roles")
            .operations(OperationRules::new().tool_roles("admin_report", ["mcp-admins"]))
    })
    .await;
    let with_role = |roles: Value| {
        app.token()
            .claim("realm_access", json!({ "roles": roles }))
            .sign()
            .unwrap()
    };
    let admin = call_tool(&app, &with_role(json!(["mcp-admins"])), "admin_report").await;
    assert_eq!(admin.status(), reqwest::StatusCode::OK);
    let user = call_tool(&app, &with_role(json!(["user"])), "admin_report").await;
    assert_eq!(user.status(), reqwest::StatusCode::FORBIDDEN);
    assert!(user.headers().get("www-authenticate").is_none());
    let body: Value = user.json().await.unwrap();
    assert_eq!(body["id"], 3);
    assert_eq!(
        body["error"]["message"], "the caller holds none of the roles allowed: mcp-admins",
        "details are on in this app"
    );
    let other = call_tool(&app, &with_role(json!(["user"])), "whoami").await;
    assert_eq!(other.status(), reqwest::StatusCode::OK);
}

#[tokio::test]
async fn roles_grant_their_scopes_when_mapped() {
    use mcp_auth::operations::OperationRules;

    let app = JwtApp::start(|b| {
        b.roles_claim("roles")
            .role_scopes("Reports.Admin", ["mcp:admin"])
            .operations(OperationRules::new().tool("admin_report", ["mcp:admin"]))
    })
    .await;
    let token = |roles: Value| {
        app.token()
            .scopes(["mcp:tools"])
            .claim("roles", roles)
            .sign()
            .unwrap()
    };
    let admin = token(json!(["Reports.Admin"]));
    assert_eq!(
        app.accepted(&admin).await["scopes"],
        json!(["mcp:tools", "mcp:admin"])
    );
    let called = call_tool(&app, &admin, "admin_report").await;
    assert_eq!(called.status(), reqwest::StatusCode::OK);
    let reader = call_tool(&app, &token(json!(["Reports.Read"])), "admin_report").await;
    assert_eq!(reader.status(), reqwest::StatusCode::FORBIDDEN);
    let challenge = reader.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
}

#[test]
fn role_rules_with_no_roles_claim_and_bad_role_scopes_are_refused_at_build() {
    use mcp_auth::ConfigError;
    use mcp_auth::operations::OperationRules;

    let auth = crate::common::mcp_auth("https://api.example.com/mcp");
    let admins = || OperationRules::new().tool_roles("admin_report", ["admins"]);
    let lazy = mcp_auth::McpAuth::builder()
        .protected_resource(
            mcp_auth::ProtectedResource::new("https://api.example.com/mcp").authorization_server(
                mcp_auth::AuthServerConfig::lazy(
                    "https://auth.example.com",
                    mcp_auth::AuthServerType::Oidc,
                ),
            ),
        )
        .build()
        .unwrap();
    assert!(
        lazy.bearer()
            .roles_claim("roles")
            .operations(admins())
            .build()
            .is_ok()
    );
    let unread = lazy.bearer().operations(admins()).build().unwrap_err();
    assert!(
        matches!(
            unread,
            ConfigError::InvalidSetting {
                of: "OperationRules",
                setting: "tool_roles",
                ..
            }
        ),
        "{unread:?}"
    );
    // A custom verifier fills roles itself.
    let custom = |_: String| async {
        Err::<mcp_auth::AuthInfo, _>(mcp_auth::VerifyError::invalid_token("none"))
    };
    assert!(
        auth.bearer()
            .verifier(custom)
            .operations(admins())
            .build()
            .is_ok()
    );
    let no_role = OperationRules::new().tool_roles("admin_report", [""]);
    assert!(
        auth.bearer()
            .verifier(custom)
            .operations(no_role)
            .build()
            .is_err()
    );
    for (role, scopes) in [("", vec!["a"]), ("admins", vec![]), ("admins", vec!["a b"])] {
        let error = auth
            .bearer()
            .role_scopes(role, scopes.clone())
            .build()
            .unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::InvalidSetting {
                    setting: "role_scopes",
                    ..
                } | ConfigError::InvalidScope { .. }
            ),
            "{role:?} {scopes:?}: {error:?}"
        );
    }
}
