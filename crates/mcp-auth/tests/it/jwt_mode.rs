//! JWT mode accepts what it should: every allowed algorithm with real keys, and the claims
//! reach the handler as `AuthInfo`.
#![cfg(feature = "testing")]

use crate::common::jwt::JwtApp;
use jsonwebtoken::Algorithm;
use mcp_auth::scope::PrefixScopes;
use mcp_auth::testing::{KeyMaterial, TestKey};
use mcp_auth::verify::JwtOptions;
use serde_json::json;

#[tokio::test]
async fn every_allowed_algorithm_verifies() {
    let app = JwtApp::start(|b| b).await;
    let rsa = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ];
    for alg in rsa {
        let kid = format!("{alg:?}").to_lowercase();
        app.issuer
            .add_key(TestKey::new(KeyMaterial::Rsa, &kid, alg).unwrap(), true);
    }
    for kid in [
        "rs256", "rs384", "rs512", "ps256", "ps384", "ps512", "es256", "es384", "eddsa",
    ] {
        let token = app.token().key(kid).subject(kid).sign().unwrap();
        let seen = app.accepted(&token).await;
        assert_eq!(seen["subject"], kid);
    }
}

#[tokio::test]
async fn a_token_without_kid_verifies_with_a_matching_key() {
    let app = JwtApp::start(|b| b).await;
    let token = app
        .token()
        .key("es256")
        .header(jsonwebtoken::Header::new(Algorithm::ES256))
        .sign()
        .unwrap();
    app.accepted(&token).await;
}

#[tokio::test]
async fn claims_reach_the_handler_as_auth_info() {
    let app = JwtApp::start(|b| b.required_scopes(["read"])).await;
    let token = app
        .token()
        .subject("alice")
        .client_id("cli-1")
        .scopes(["read", "write"])
        .claim("tenant", json!("acme"))
        .sign()
        .unwrap();
    let seen = app.accepted(&token).await;
    assert_eq!(seen["issuer"], app.issuer.issuer());
    assert_eq!(seen["subject"], "alice");
    assert_eq!(seen["client_id"], "cli-1");
    assert_eq!(seen["scopes"], json!(["read", "write"]));
    assert_eq!(seen["audience"], json!([app.resource]));
    assert!(seen["expires_at"].as_u64().unwrap() > jsonwebtoken::get_current_timestamp());
    assert_eq!(seen["claims"]["tenant"], "acme");
}

#[tokio::test]
async fn scopes_and_client_come_from_the_claims_providers_use() {
    let app = JwtApp::start(|b| b.required_scopes(["read"])).await;
    let azure = app
        .token()
        .claim("scp", json!(["read", "write"]))
        .claim("azp", json!("web"))
        .sign()
        .unwrap();
    let seen = app.accepted(&azure).await;
    assert_eq!(seen["scopes"], json!(["read", "write"]));
    assert_eq!(seen["client_id"], "web");
    let okta = app.token().claim("scp", json!("read")).sign().unwrap();
    assert_eq!(app.accepted(&okta).await["scopes"], json!(["read"]));
}

#[tokio::test]
async fn the_non_standard_scopes_claim_grants_nothing_unless_asked_for() {
    let listed = |app: &JwtApp| app.token().claim("scopes", json!(["read"])).sign().unwrap();
    let app = JwtApp::start(|b| b.required_scopes(["read"])).await;
    let challenge = app
        .challenge(&listed(&app), reqwest::StatusCode::FORBIDDEN)
        .await;
    assert_eq!(challenge.param("error"), Some("insufficient_scope"));
    assert_eq!(challenge.param("scope"), Some("read"));

    let opted_in = JwtApp::start(|b| {
        b.required_scopes(["read"])
            .jwt(JwtOptions::default().read_scopes_claim(true))
    })
    .await;
    assert_eq!(
        opted_in.accepted(&listed(&opted_in)).await["scopes"],
        json!(["read"])
    );
}

#[tokio::test]
async fn an_audience_array_containing_the_resource_is_accepted() {
    let app = JwtApp::start(|b| b).await;
    let token = app
        .token()
        .claim("aud", json!(["https://other.example", app.resource]))
        .sign()
        .unwrap();
    app.accepted(&token).await;
}

#[tokio::test]
async fn a_configured_audience_replaces_the_resource_identifier() {
    let app = JwtApp::start(|b| b.audience("api://mcp")).await;
    app.accepted(&app.issuer.token().audience("api://mcp").sign().unwrap())
        .await;
    app.refused(
        &app.token().sign().unwrap(),
        "the token's audience does not include this resource",
    )
    .await;
}

#[tokio::test]
async fn at_jwt_tokens_pass_the_strict_type_check() {
    let app = JwtApp::start(|b| b.jwt(JwtOptions::default().require_access_token_type(true))).await;
    app.accepted(&app.token().sign().unwrap()).await; // the test issuer sends typ at+jwt
}

#[tokio::test]
async fn a_scope_hierarchy_applies_to_jwt_scopes() {
    let app = JwtApp::start(|b| {
        b.required_scopes(["files:read"])
            .scope_relation(PrefixScopes::new(':'))
    })
    .await;
    app.accepted(&app.token().scopes(["files"]).sign().unwrap())
        .await;
}
