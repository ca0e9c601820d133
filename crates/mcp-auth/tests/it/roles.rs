//! Roles, groups and scopes where providers put them: roles read into `AuthInfo::roles` by JWT
//! mode and introspection from the claims the layer names; Auth0's `permissions` granted as
//! scopes when asked.
#![cfg(feature = "testing")]

use crate::common::jwt::JwtApp;
use mcp_auth::testing::TestClient;
use mcp_auth::verify::IntrospectionOptions;
use serde_json::json;

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
