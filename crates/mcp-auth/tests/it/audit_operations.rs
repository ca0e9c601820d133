//! What audit events record as a request's operation: the one the layer read in the body, or
//! else the client's `Mcp-Method` and `Mcp-Name` headers, marked unchecked and cut short; and
//! the caller of a verified token, refused or not.
#![cfg(feature = "testing")]

use std::sync::{Arc, Mutex};

use axum::routing::any;
use mcp_auth::observe::AuditEvent;
use mcp_auth::operations::OperationRules;
use mcp_auth::testing::TestIssuer;
use mcp_auth::{McpAuth, ProtectedResource};
use serde_json::{Value, json};
use tokio::net::TcpListener;

#[tokio::test]
async fn audit_events_name_the_operation_the_layer_read_not_the_headers_sent() {
    let issuer = TestIssuer::start().await.unwrap();
    let audit = Arc::new(Mutex::new(Vec::<String>::new()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let resource = format!("http://{}/mcp", listener.local_addr().unwrap());
    let auth = McpAuth::builder()
        .protected_resource(
            ProtectedResource::new(&resource).authorization_server(issuer.lazy_config()),
        )
        .build()
        .unwrap();
    let sink = audit.clone();
    let layer = auth
        .bearer()
        .required_scopes(["read"])
        .operations(OperationRules::new().tool("admin_report", ["admin"]))
        .audit(move |event: &AuditEvent<'_>| {
            sink.lock()
                .unwrap()
                .push(serde_json::to_string(event).unwrap());
        })
        .build()
        .unwrap();
    let app = layer.mount(any(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let token = issuer
        .token()
        .audience(&resource)
        .subject("alice")
        .scopes(["read"])
        .expires_in(600)
        .sign()
        .unwrap();
    let call = |tool: &str| json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool}});
    let client = reqwest::Client::new();
    let huge = "x".repeat(300 * 1024);
    let requests = [
        // Headers that disagree with the body: refused, recorded as the body says.
        client
            .post(&resource)
            .bearer_auth(&token)
            .header("mcp-method", "tools/list")
            .header("mcp-name", "whoami")
            .json(&call("admin_report")),
        client.post(&resource).bearer_auth(&token).json(&call("admin_report")),
        client
            .post(&resource)
            .bearer_auth(&token)
            .header("mcp-name", "admin_report")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami"}})),
        // No body read: the headers, unchecked, cut short.
        client
            .get(&resource)
            .bearer_auth(&token)
            .header("mcp-method", huge.as_str())
            .header(
                "mcp-name",
                reqwest::header::HeaderValue::from_bytes(b"who\xffami").unwrap(),
            ),
        client
            .post(&resource)
            .header("mcp-method", "tools/list")
            .json(&call("admin_report")),
    ];
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [400, 403, 400, 200, 401]);
    let events: Vec<Value> = audit
        .lock()
        .unwrap()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let recorded: Vec<(Value, Value, Value)> = events
        .iter()
        .map(|event| {
            (
                event["method"].clone(),
                event["name"].clone(),
                event["operation_checked"].clone(),
            )
        })
        .collect();
    assert_eq!(
        recorded,
        [
            (json!("tools/call"), json!("admin_report"), json!(true)),
            (json!("tools/call"), json!("admin_report"), json!(true)),
            (json!("tools/call"), json!("whoami"), json!(true)),
            (json!("x".repeat(128)), json!("who?ami"), json!(false)),
            (json!("tools/list"), Value::Null, json!(false)),
        ]
    );
    // Refusals of a verified token name its caller; a request without one names nobody.
    let subjects: Vec<&Value> = events.iter().map(|event| &event["subject"]).collect();
    assert_eq!(
        subjects,
        [
            &json!("alice"),
            &json!("alice"),
            &json!("alice"),
            &json!("alice"),
            &Value::Null
        ]
    );
}
