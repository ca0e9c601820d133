//! The test issuer's token endpoint (client_credentials, RFC 8707), as a real OAuth client sees
//! it, and its tokens verified by JWT mode.
#![cfg(feature = "testing")]

use crate::common::jwt::JwtApp;
use mcp_auth::testing::{TestClient, TestIssuer};
use reqwest::StatusCode;
use serde_json::Value;

fn register(issuer: &TestIssuer) {
    issuer.register_client(TestClient {
        id: "robot".into(),
        secret: "s3cret".into(),
        scopes: vec!["read".into(), "write".into()],
    });
}

async fn request(
    issuer: &TestIssuer,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .post(issuer.token_endpoint())
        .form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_registered_client_gets_a_token_for_the_resource_it_names() {
    let app = JwtApp::start(|b| b.required_scopes(["read"])).await;
    register(&app.issuer);
    let form = [
        ("grant_type", "client_credentials"),
        ("resource", app.resource.as_str()),
        ("scope", "read"),
    ];
    let (status, body) = request(&app.issuer, Some(("robot", "s3cret")), &form).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read");
    assert_eq!(body["expires_in"], 3600);
    let seen = app.accepted(body["access_token"].as_str().unwrap()).await;
    assert_eq!(seen["subject"], "robot");
    assert_eq!(seen["client_id"], "robot");
    assert_eq!(seen["audience"], serde_json::json!([app.resource]));
    assert_eq!(seen["scopes"], serde_json::json!(["read"]));
}

#[tokio::test]
async fn credentials_in_the_form_work_and_no_scope_means_all_allowed_scopes() {
    let issuer = TestIssuer::start().await.unwrap();
    register(&issuer);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "robot"),
        ("client_secret", "s3cret"),
        ("resource", "https://api.example.com/mcp"),
    ];
    let (status, body) = request(&issuer, None, &form).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["scope"], "read write");
}

#[tokio::test]
async fn bad_requests_get_rfc_6749_errors() {
    /// Basic credentials, form, expected status and `error`.
    type Case<'a> = (
        Option<(&'a str, &'a str)>,
        Vec<(&'a str, &'a str)>,
        StatusCode,
        &'a str,
    );
    let issuer = TestIssuer::start().await.unwrap();
    register(&issuer);
    let grant = ("grant_type", "client_credentials");
    let cases: [Case; 7] = [
        (
            None,
            vec![grant],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            Some(("robot", "wrong")),
            vec![grant],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            Some(("robot", "s3cret")),
            vec![("grant_type", "password")],
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            Some(("robot", "s3cret")),
            vec![grant, ("scope", "read admin")],
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            Some(("robot", "s3cret")),
            vec![grant, ("resource", "/relative")],
            StatusCode::BAD_REQUEST,
            "invalid_target",
        ),
        (
            Some(("robot", "s3cret")),
            vec![
                grant,
                ("resource", "https://a.example"),
                ("resource", "https://b.example"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Some(("robot", "s3cret")),
            vec![grant, ("client_id", "robot"), ("client_secret", "s3cret")],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (basic, form, status, error) in cases {
        let (got, body) = request(&issuer, basic, &form).await;
        assert_eq!(
            (got, body["error"].as_str().unwrap()),
            (status, error),
            "{form:?}"
        );
    }
}

#[tokio::test]
async fn an_unknown_client_is_challenged_for_basic_credentials() {
    let issuer = TestIssuer::start().await.unwrap();
    register(&issuer);
    let response = reqwest::Client::new()
        .post(issuer.token_endpoint())
        .basic_auth("robot", Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
    // Credentials are form-urlencoded inside Basic (RFC 6749 §2.3.1).
    issuer.register_client(TestClient {
        id: "odd id&co".into(),
        secret: "p+ss:word".into(),
        scopes: vec!["read".into()],
    });
    let response = reqwest::Client::new()
        .post(issuer.token_endpoint())
        .basic_auth("odd+id%26co", Some("p%2Bss%3Aword"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_required_resource_must_be_named_at_the_token_endpoint_too() {
    let issuer = TestIssuer::start().await.unwrap();
    register(&issuer);
    issuer.set_resource_required(true);
    let grant = ("grant_type", "client_credentials");
    let (status, body) = request(&issuer, Some(("robot", "s3cret")), &[grant]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_target"))
    );
    let form = [grant, ("resource", "https://api.example.com/mcp")];
    let (status, _) = request(&issuer, Some(("robot", "s3cret")), &form).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_public_client_cannot_use_client_credentials() {
    let issuer = TestIssuer::start().await.unwrap();
    let registered: Value = reqwest::Client::new()
        .post(issuer.registration_endpoint())
        .json(&serde_json::json!({"redirect_uris": ["http://127.0.0.1/cb"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", registered["client_id"].as_str().unwrap()),
    ];
    let (status, body) = request(&issuer, None, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );
}
