//! Every decision is traced and audited with its reason code, and no token, signature or client
//! secret ever reaches the logs or the audit events. A real issuer on 127.0.0.1 (JWT and
//! introspection), a real server recording client addresses, real HTTP.
#![cfg(feature = "testing")]

use crate::common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::common::forge::sign_as;
use axum::Json;
use axum::routing::any;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::Algorithm;
use mcp_auth::observe::AuditEvent;
use mcp_auth::testing::{KeyMaterial, TestClient, TestIssuer, TestKey};
use mcp_auth::verify::{IntrospectionOptions, JwtOptions};
use mcp_auth::{Auth, McpAuth, ProtectedResource};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;

const CLIENT_ID: &str = "mcp-server";
const SECRET: &str = "introspection-secret-7f3a9c";

/// One request and what must come of it.
struct Case {
    name: &'static str,
    authorization: Vec<String>,
    origin: Option<&'static str>,
    status: StatusCode,
    outcome: &'static str,
    reason: Option<&'static str>,
}

fn case(name: &'static str, token: &str, status: StatusCode, reason: &'static str) -> Case {
    Case {
        name,
        authorization: vec![format!("Bearer {token}")],
        origin: None,
        status,
        outcome: if status == StatusCode::SERVICE_UNAVAILABLE {
            "unavailable"
        } else {
            "refused"
        },
        reason: Some(reason),
    }
}

/// A resource trusting `issuer` in JWT and introspection mode, scope `read` required, one
/// allowed origin, audit events collected as JSON lines; served recording client addresses.
async fn protected(issuer: &TestIssuer, audit: Arc<Mutex<Vec<String>>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let resource = format!("http://{}/mcp", listener.local_addr().unwrap());
    let auth = McpAuth::builder()
        .protected_resource(
            ProtectedResource::new(&resource).authorization_server(issuer.lazy_config()),
        )
        .build()
        .unwrap();
    let layer = auth
        .bearer()
        .jwt(JwtOptions::default())
        .introspection(IntrospectionOptions::new(CLIENT_ID, SECRET))
        .required_scopes(["read"])
        .allowed_origins(["https://good.example"])
        .audit(move |event: &AuditEvent<'_>| {
            audit
                .lock()
                .unwrap()
                .push(serde_json::to_string(event).unwrap());
        })
        .build()
        .unwrap();
    let app = layer
        .mount(any(|Auth(info): Auth| async move {
            Json(json!({ "sub": info.subject }))
        }))
        .merge(auth.metadata_router());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    resource
}

#[tokio::test]
async fn each_decision_is_traced_and_audited_with_its_reason_and_no_secret() {
    let issuer = TestIssuer::start().await.unwrap();
    issuer.register_client(TestClient {
        id: CLIENT_ID.to_owned(),
        secret: SECRET.to_owned(),
        scopes: Vec::new(),
    });
    let audit = Arc::new(Mutex::new(Vec::new()));
    let resource = protected(&issuer, audit.clone()).await;
    let token = |scopes: &[&str]| {
        issuer
            .token()
            .audience(&resource)
            .subject("alice")
            .client_id("client-1")
            .scopes(scopes.iter().copied())
    };
    let good = token(&["read"]).sign().unwrap();
    let opaque = token(&["read"]).opaque().unwrap();
    let other_signature = token(&["read", "x"]).sign().unwrap();
    let bad_signature = format!(
        "{}.{}",
        good.rsplit_once('.').unwrap().0,
        other_signature.rsplit_once('.').unwrap().1
    );
    let unpublished = TestKey::new(KeyMaterial::Rsa, "unpublished", Algorithm::RS256).unwrap();
    let payload = json!({ "iss": issuer.issuer(), "aud": resource, "exp": 4_000_000_000u64 });
    let unknown_key = sign_as(
        &unpublished,
        Algorithm::RS256,
        r#"{"alg":"RS256","kid":"unpublished"}"#,
        &payload.to_string(),
    );
    let hmac = format!(
        "{}.{}.c2lnbmF0dXJl",
        B64.encode(r#"{"alg":"HS256"}"#),
        B64.encode(payload.to_string())
    );
    let (header, _) = good.split_once('.').unwrap();
    let malformed = format!("{header}.{}.c2lnbmF0dXJl", B64.encode("not json"));
    let expired = token(&["read"]).expires_in(-3600).sign().unwrap();
    let wrong_audience = issuer
        .token()
        .audience("https://other.example/mcp")
        .scopes(["read"])
        .sign()
        .unwrap();
    let untrusted = token(&["read"])
        .claim("iss", json!("https://evil.example"))
        .sign()
        .unwrap();
    let no_scope = token(&[]).sign().unwrap();
    let unknown_opaque = "an-opaque-token-nobody-issued-0123456789";
    let fresh_opaque = token(&["read"]).opaque().unwrap();

    let allowed = |name, token: &str| Case {
        name,
        authorization: vec![format!("Bearer {token}")],
        origin: None,
        status: StatusCode::OK,
        outcome: "allowed",
        reason: None,
    };
    let cases = vec![
        allowed("a good JWT", &good),
        allowed("a good JWT again (remembered)", &good),
        allowed("a good opaque token", &opaque),
        Case {
            name: "no credentials",
            authorization: Vec::new(),
            origin: None,
            status: StatusCode::UNAUTHORIZED,
            outcome: "refused",
            reason: Some("no_credentials"),
        },
        Case {
            name: "two Authorization headers",
            authorization: vec![format!("Bearer {good}"), format!("Bearer {good}")],
            origin: None,
            status: StatusCode::BAD_REQUEST,
            outcome: "refused",
            reason: Some("invalid_request"),
        },
        case(
            "unreadable claims",
            &malformed,
            StatusCode::UNAUTHORIZED,
            "malformed_token",
        ),
        case(
            "HMAC",
            &hmac,
            StatusCode::UNAUTHORIZED,
            "disallowed_algorithm",
        ),
        case(
            "an unpublished key",
            &unknown_key,
            StatusCode::UNAUTHORIZED,
            "unknown_key",
        ),
        case(
            "a bad signature",
            &bad_signature,
            StatusCode::UNAUTHORIZED,
            "bad_signature",
        ),
        case("expired", &expired, StatusCode::UNAUTHORIZED, "expired"),
        case(
            "another audience",
            &wrong_audience,
            StatusCode::UNAUTHORIZED,
            "wrong_audience",
        ),
        case(
            "an untrusted issuer",
            &untrusted,
            StatusCode::UNAUTHORIZED,
            "untrusted_issuer",
        ),
        case(
            "no scope",
            &no_scope,
            StatusCode::FORBIDDEN,
            "insufficient_scope",
        ),
        case(
            "an unknown opaque token",
            unknown_opaque,
            StatusCode::UNAUTHORIZED,
            "inactive",
        ),
        Case {
            origin: Some("https://evil.example"),
            ..case(
                "a foreign origin",
                &good,
                StatusCode::FORBIDDEN,
                "forbidden_origin",
            )
        },
    ];

    let client = reqwest::Client::new();
    let send = |case: &Case| {
        let mut request = client
            .post(&resource)
            .header("mcp-method", "tools/call")
            .header("mcp-name", "whoami");
        for value in &case.authorization {
            request = request.header("authorization", value);
        }
        if let Some(origin) = case.origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    let ((), logs) = common::logs_at(tracing::Level::DEBUG, async {
        for case in &cases {
            let response = send(case).await.unwrap();
            assert_eq!(response.status(), case.status, "{}", case.name);
        }
        // Last: the issuer goes down, and a token it never answered for cannot be decided.
        issuer.set_down(true);
        let down = case(
            "the issuer down",
            &fresh_opaque,
            StatusCode::SERVICE_UNAVAILABLE,
            "issuer_unavailable",
        );
        let response = send(&down).await.unwrap();
        assert_eq!(response.status(), down.status, "{}", down.name);
    })
    .await;

    let events: Vec<Value> = audit
        .lock()
        .unwrap()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let expected: Vec<(&str, Option<&str>, u16)> = cases
        .iter()
        .map(|case| (case.outcome, case.reason, case.status.as_u16()))
        .chain([("unavailable", Some("issuer_unavailable"), 503)])
        .collect();
    let seen: Vec<(&str, Option<&str>, u16)> = events
        .iter()
        .map(|event| {
            (
                event["outcome"].as_str().unwrap(),
                event["reason"].as_str(),
                event["status"].as_u64().unwrap() as u16,
            )
        })
        .collect();
    assert_eq!(seen, expected, "one audit event per request, in order");

    let first = &events[0];
    assert_eq!(first["subject"], "alice");
    assert_eq!(first["client_id"], "client-1");
    assert_eq!(first["issuer"], issuer.issuer());
    assert_eq!(first["method"], "tools/call");
    assert_eq!(first["name"], "whoami");
    assert_eq!(first["remote_addr"], "127.0.0.1");
    assert_eq!(first["resource"], resource.as_str());
    assert!(first["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(first["duration_us"].as_u64().is_some());
    let refused = &events[3];
    assert_eq!(refused["subject"], Value::Null);
    assert_eq!(refused["remote_addr"], "127.0.0.1");

    // The trace: one `authorization decided` event per request with the same codes.
    let decided: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("authorization decided"))
        .collect();
    assert_eq!(decided.len(), expected.len(), "{logs}");
    for (line, (outcome, reason, status)) in decided.iter().zip(&expected) {
        assert!(line.contains(&format!("outcome=\"{outcome}\"")), "{line}");
        assert!(line.contains(&format!("status={status}")), "{line}");
        if let Some(reason) = reason {
            assert!(line.contains(&format!("reason=\"{reason}\"")), "{line}");
        }
        assert!(
            line.contains("mcp_auth.authorize"),
            "in the decision span: {line}"
        );
    }
    assert!(decided[0].contains("subject=\"alice\""), "{}", decided[0]);
    assert!(logs.contains("key set fetched"), "{logs}");
    assert!(logs.contains("kid="), "the span names the key: {logs}");

    // Nothing secret anywhere: no token, no part of one, no client secret.
    let audit_text = audit.lock().unwrap().join("\n");
    let tokens = [
        &good,
        &opaque,
        &bad_signature,
        &unknown_key,
        &hmac,
        &malformed,
        &expired,
        &wrong_audience,
        &untrusted,
        &no_scope,
        &unknown_opaque.to_owned(),
        &fresh_opaque,
    ];
    for output in [&logs, &audit_text] {
        assert!(!output.contains(SECRET), "the client secret leaked");
        for token in tokens {
            for part in token.split('.').filter(|part| part.len() >= 8) {
                assert!(!output.contains(part), "a token part leaked: {part}");
            }
        }
    }
}
