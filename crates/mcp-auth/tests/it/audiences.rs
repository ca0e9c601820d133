//! Audiences as providers issue them: strict resource binding by default; the named relaxation
//! `allowed_client_ids` for providers whose access tokens do not name the resource (Cognito: no
//! `aud`; Keycloak without an audience mapper: `account`), where the client check is the
//! audience check.
#![cfg(feature = "testing")]

use crate::common::jwt::JwtApp;
use crate::common::logs_of;
use mcp_auth::ConfigError;
use serde_json::json;

const WRONG_AUDIENCE: &str = "the token's audience does not include this resource";
const OUR_CLIENT: &str = "mcp-inspector";

#[tokio::test]
async fn by_default_a_token_without_our_audience_is_refused_whatever_its_client() {
    let app = JwtApp::start(|b| b).await;
    let no_aud = app
        .token()
        .without("aud")
        .client_id(OUR_CLIENT)
        .sign()
        .unwrap();
    app.refused(&no_aud, "the token has no aud claim").await;
    let account = app
        .token()
        .audience("account")
        .claim("azp", json!(OUR_CLIENT))
        .sign()
        .unwrap();
    app.refused(&account, WRONG_AUDIENCE).await;
}

#[tokio::test]
async fn with_allowed_client_ids_the_client_stands_for_the_audience() {
    let (app, logs) = logs_of(JwtApp::start(|b| b.allowed_client_ids([OUR_CLIENT]))).await;
    assert!(
        logs.contains("audience check relaxed") && logs.contains(OUR_CLIENT),
        "the relaxation is logged when the layer is built: {logs}"
    );
    // Cognito: no aud, client_id.
    let cognito = app
        .token()
        .without("aud")
        .client_id(OUR_CLIENT)
        .sign()
        .unwrap();
    assert_eq!(app.accepted(&cognito).await["client_id"], OUR_CLIENT);
    // Keycloak without an audience mapper: aud `account`, client in azp.
    let keycloak = |azp: &str| {
        app.token()
            .audience("account")
            .claim("azp", json!(azp))
            .sign()
            .unwrap()
    };
    app.accepted(&keycloak(OUR_CLIENT)).await;
    // Another client of the same realm or pool is refused: the client is the audience here.
    app.refused(&keycloak("another-client"), WRONG_AUDIENCE)
        .await;
    let other = app
        .token()
        .without("aud")
        .client_id("another-client")
        .sign()
        .unwrap();
    app.refused(&other, WRONG_AUDIENCE).await;
    let nobody = app.token().without("aud").sign().unwrap();
    app.refused(&nobody, WRONG_AUDIENCE).await;
    // A token bound to this resource passes as before, whatever its client.
    app.accepted(&app.token().client_id("another-client").sign().unwrap())
        .await;
    // An ID token stays refused, client allowed or not.
    let id_token = app
        .token()
        .without("aud")
        .client_id(OUR_CLIENT)
        .claim("token_use", json!("id"))
        .sign()
        .unwrap();
    app.refused(
        &id_token,
        "the token's token_use claim says it is not an access token",
    )
    .await;
}

#[test]
fn an_empty_allowed_client_id_is_refused() {
    let auth = crate::common::mcp_auth("https://api.example.com/mcp");
    let error = auth.bearer().allowed_client_ids([""]).build().unwrap_err();
    assert!(
        matches!(
            error,
            ConfigError::InvalidSetting {
                of: "BearerAuthBuilder",
                setting: "allowed_client_ids",
                ..
            }
        ),
        "{error:?}"
    );
}
