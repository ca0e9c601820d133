//! A real rmcp Streamable HTTP server behind the bearer layer: the MCP handshake, tool listing and
//! tool calls over HTTP on 127.0.0.1, with the caller's `AuthInfo` reaching the tools.
#![cfg(feature = "rmcp")]

use crate::common::{ISSUER, fixed_tokens, mcp_auth, parse_challenge, serve};
use axum::Router;
use mcp_auth::{Auth, MaybeAuth};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, schemars, tool, tool_handler, tool_router};
use serde_json::{Value, json};

const PROTOCOL_VERSION: &str = "2025-11-25";

#[derive(Clone)]
struct WhoAmI;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Greeting {
    /// Who to greet.
    name: String,
}

#[tool_router]
impl WhoAmI {
    #[tool(description = "The caller's identity")]
    async fn whoami(&self, Auth(info): Auth) -> String {
        json!({
            "subject": info.subject,
            "issuer": info.issuer,
            "client_id": info.client_id,
            "scopes": info.scopes,
            "audience": info.audience,
            "claims": info.claims,
        })
        .to_string()
    }

    #[tool(description = "Greets someone, naming the caller if there is one")]
    async fn greet(
        &self,
        MaybeAuth(info): MaybeAuth,
        Parameters(Greeting { name }): Parameters<Greeting>,
    ) -> String {
        let caller = info
            .and_then(|info| info.subject.clone())
            .unwrap_or_else(|| "nobody".to_owned());
        format!("hello {name} from {caller}")
    }
}

#[tool_handler]
impl ServerHandler for WhoAmI {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

fn mcp_service() -> StreamableHttpService<WhoAmI, LocalSessionManager> {
    StreamableHttpService::new(
        || Ok(WhoAmI),
        Default::default(),
        StreamableHttpServerConfig::default().with_sse_keep_alive(None),
    )
}

/// The MCP server at `/mcp` behind the layer (requiring `read`), and its metadata.
async fn protected_server() -> String {
    let server = serve(|addr| {
        let resource = format!("http://{addr}/mcp");
        let auth = mcp_auth(&resource);
        let bearer = auth
            .bearer()
            .verifier(fixed_tokens(&resource))
            .required_scopes(["read"])
            .build()
            .unwrap();
        bearer.mount(mcp_service()).merge(auth.metadata_router())
    })
    .await;
    server.url("/mcp")
}

/// A JSON-RPC exchange with the MCP endpoint; returns the session id and the response message.
async fn rpc(
    url: &str,
    token: Option<&str>,
    session: Option<&str>,
    message: Value,
) -> (Option<String>, Value) {
    let response = send(url, token, session, &message).await;
    assert_eq!(response.status(), StatusCode::OK, "{message}");
    let session = response
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = response.text().await.unwrap();
    let reply = if content_type.starts_with("text/event-stream") {
        text.lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok())
            .find(|event| event.get("id").is_some())
            .unwrap_or_else(|| panic!("no response in {text}"))
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (session, reply)
}

async fn send(
    url: &str,
    token: Option<&str>,
    session: Option<&str>,
    message: &Value,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", PROTOCOL_VERSION)
        .json(message);
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    request.send().await.unwrap()
}

/// `initialize` then `notifications/initialized`; returns the session id.
async fn open_session(url: &str, token: &str) -> String {
    let (session, reply) = rpc(
        url,
        Some(token),
        None,
        json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": { "name": "mcp-auth-tests", "version": "1.0" }
            }
        }),
    )
    .await;
    assert_eq!(reply["result"]["protocolVersion"], PROTOCOL_VERSION);
    let session = session.expect("a session id");
    let notified = send(
        url,
        Some(token),
        Some(&session),
        &json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
    )
    .await;
    assert_eq!(notified.status(), StatusCode::ACCEPTED);
    session
}

async fn call_tool(url: &str, token: &str, session: &str, name: &str, arguments: Value) -> Value {
    let (_, reply) = rpc(
        url,
        Some(token),
        Some(session),
        json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": { "name": name, "arguments": arguments } }),
    )
    .await;
    reply
}

fn text_of(reply: &Value) -> &str {
    reply["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {reply}"))
}

#[tokio::test]
async fn initialize_list_and_call_with_a_good_token() {
    let url = protected_server().await;
    let session = open_session(&url, "alice").await;

    let (_, listed) = rpc(
        &url,
        Some("alice"),
        Some(&session),
        json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/list" }),
    )
    .await;
    let tools = listed["result"]["tools"].as_array().unwrap();
    let names: Vec<_> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"whoami") && names.contains(&"greet"));
    // The extractors take no part in the input schemas.
    let whoami = tools.iter().find(|t| t["name"] == "whoami").unwrap();
    assert_eq!(
        whoami["inputSchema"],
        json!({ "type": "object", "properties": {} })
    );
    let greet = tools.iter().find(|t| t["name"] == "greet").unwrap();
    assert_eq!(greet["inputSchema"]["required"], json!(["name"]));
    let properties: Vec<_> = greet["inputSchema"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(properties, ["name"]);

    let reply = call_tool(&url, "alice", &session, "whoami", json!({})).await;
    let seen: Value = serde_json::from_str(text_of(&reply)).unwrap();
    assert_eq!(
        seen,
        json!({
            "subject": "alice",
            "issuer": ISSUER,
            "client_id": "alice-client",
            "scopes": ["read", "write"],
            "audience": [url],
            "claims": { "sub": "alice", "custom": 7 },
        })
    );

    let reply = call_tool(&url, "alice", &session, "greet", json!({ "name": "Bob" })).await;
    assert_eq!(text_of(&reply), "hello Bob from alice");
}

#[tokio::test]
async fn a_session_serves_the_principal_that_created_it_and_no_one_else() {
    let url = protected_server().await;
    let session = open_session(&url, "alice").await;
    let subject =
        |reply: &Value| serde_json::from_str::<Value>(text_of(reply)).unwrap()["subject"].clone();
    let as_alice = call_tool(&url, "alice", &session, "whoami", json!({})).await;
    assert_eq!(subject(&as_alice), "alice");

    // Bob's token is valid, but the session is not his: 404, as if it did not exist.
    let list = json!({ "jsonrpc": "2.0", "id": 9, "method": "tools/list" });
    let hijack = send(&url, Some("bob"), Some(&session), &list).await;
    assert_eq!(hijack.status(), StatusCode::NOT_FOUND);
    assert!(hijack.headers().get(WWW_AUTHENTICATE).is_none());
    let body = hijack.text().await.unwrap();
    assert!(
        body.contains("session_not_found") && !body.contains("alice"),
        "{body}"
    );

    // Another token of the same principal (a refreshed one) keeps the session.
    let refreshed = call_tool(&url, "many-audiences", &session, "whoami", json!({})).await;
    assert_eq!(subject(&refreshed), "alice");

    // Bob cannot end it either; Alice can, and then it is gone for her too.
    let delete = |token: &'static str| {
        reqwest::Client::new()
            .delete(&url)
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", PROTOCOL_VERSION)
            .send()
    };
    assert_eq!(delete("bob").await.unwrap().status(), StatusCode::NOT_FOUND);
    assert!(delete("alice").await.unwrap().status().is_success());
    let after = send(&url, Some("alice"), Some(&session), &list).await;
    assert_eq!(after.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_mcp_request_is_refused_before_rmcp_without_a_good_token() {
    let url = protected_server().await;
    let session = open_session(&url, "alice").await;
    let list = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/list" });
    let metadata = url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp");

    let anonymous = send(&url, None, Some(&session), &list).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let challenge = parse_challenge(anonymous.headers()[WWW_AUTHENTICATE].to_str().unwrap());
    assert_eq!(
        challenge.param("resource_metadata"),
        Some(metadata.as_str())
    );
    assert_eq!(challenge.param("scope"), Some("read"));
    assert_eq!(challenge.param("error"), None);

    let forged = send(&url, Some("forged"), Some(&session), &list).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let challenge = parse_challenge(forged.headers()[WWW_AUTHENTICATE].to_str().unwrap());
    assert_eq!(challenge.param("error"), Some("invalid_token"));

    let scopeless = send(&url, Some("files-owner"), Some(&session), &list).await;
    assert_eq!(scopeless.status(), StatusCode::FORBIDDEN);
    let challenge = parse_challenge(scopeless.headers()[WWW_AUTHENTICATE].to_str().unwrap());
    assert_eq!(challenge.param("error"), Some("insufficient_scope"));
    assert_eq!(challenge.param("scope"), Some("read"));

    // The SSE stream (GET) and session deletion (DELETE) are guarded too.
    let client = reqwest::Client::new();
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let response = client
            .request(method.clone(), &url)
            .header("mcp-session-id", &session)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method}");
        let challenge = parse_challenge(response.headers()[WWW_AUTHENTICATE].to_str().unwrap());
        assert_eq!(
            challenge.param("resource_metadata"),
            Some(metadata.as_str())
        );
    }
}

#[tokio::test]
async fn a_good_token_reaches_rmcp_on_get_and_delete_too() {
    let url = protected_server().await;
    let session = open_session(&url, "alice").await;
    let client = reqwest::Client::new();
    let stream = client
        .get(&url)
        .header(AUTHORIZATION, "Bearer alice")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", PROTOCOL_VERSION)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    drop(stream);
    let deleted = client
        .delete(&url)
        .header(AUTHORIZATION, "Bearer alice")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", PROTOCOL_VERSION)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    // The session is gone: the layer has forgotten it, and answers 404 for it.
    let list = json!({ "jsonrpc": "2.0", "id": 9, "method": "tools/list" });
    let after = send(&url, Some("alice"), Some(&session), &list).await;
    assert_eq!(after.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_tool_asking_for_auth_without_the_layer_fails_cleanly() {
    let server = serve(|_| Router::new().nest_service("/mcp", mcp_service())).await;
    let url = server.url("/mcp");
    let session = open_session(&url, "ignored").await;
    let reply = call_tool(&url, "ignored", &session, "whoami", json!({})).await;
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bearer layer"),
        "{reply}"
    );
    let reply = call_tool(&url, "ignored", &session, "greet", json!({ "name": "Bob" })).await;
    assert_eq!(text_of(&reply), "hello Bob from nobody");
}

/// [`protected_server`], with its `McpAuth` and layer handed back for a reload.
async fn reloadable_server() -> (String, mcp_auth::McpAuth, mcp_auth::bearer::BearerAuthLayer) {
    let kept = std::sync::Arc::new(std::sync::Mutex::new(None));
    let out = kept.clone();
    let server = serve(move |addr| {
        let resource = format!("http://{addr}/mcp");
        let auth = mcp_auth(&resource);
        let bearer = auth
            .bearer()
            .verifier(fixed_tokens(&resource))
            .required_scopes(["read"])
            .build()
            .unwrap();
        let router = bearer.mount(mcp_service()).merge(auth.metadata_router());
        *out.lock().unwrap() = Some((auth, bearer));
        router
    })
    .await;
    let (auth, bearer) = kept.lock().unwrap().take().unwrap();
    (server.url("/mcp"), auth, bearer)
}

#[tokio::test]
async fn a_reload_puts_new_checks_in_force_and_keeps_every_session() {
    let (url, auth, running) = reloadable_server().await;
    let session = open_session(&url, "alice").await;
    let readers = open_session(&url, "reader").await;
    let greet = json!({ "name": "Bob" });
    let reply = call_tool(&url, "alice", &session, "greet", greet.clone()).await;
    assert_eq!(text_of(&reply), "hello Bob from alice");

    let next = auth
        .bearer()
        .verifier(fixed_tokens(&url))
        .required_scopes(["read", "write"])
        .operations(
            mcp_auth::operations::OperationRules::new()
                .tool_rule("greet", r#"mcp.arguments.name != "Bob""#),
        )
        .build()
        .unwrap();
    running.reload(next).unwrap();

    // The session opened before the reload still serves alice, under the new rules.
    let reply = call_tool(&url, "alice", &session, "whoami", json!({})).await;
    assert!(text_of(&reply).contains("alice"), "{reply}");
    let denied = send(
        &url,
        Some("alice"),
        Some(&session),
        &json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": { "name": "greet", "arguments": greet } }),
    )
    .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let body: Value = denied.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with("tool:greet"),
        "{body}"
    );
    // A caller without the new base scope is stepped up; still nobody else's session is open
    // to it.
    let list = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/list" });
    let reader = send(&url, Some("reader"), Some(&readers), &list).await;
    assert_eq!(reader.status(), StatusCode::FORBIDDEN);
    let challenge = parse_challenge(reader.headers()[WWW_AUTHENTICATE].to_str().unwrap());
    assert_eq!(challenge.param("error"), Some("insufficient_scope"));
    let hijack = send(&url, Some("bob"), Some(&session), &list).await;
    assert_eq!(hijack.status(), StatusCode::NOT_FOUND);

    // A layer for another resource is refused, and the running checks stay.
    let elsewhere = mcp_auth("https://elsewhere.example.com/mcp");
    let other = elsewhere
        .bearer()
        .verifier(fixed_tokens(&url))
        .build()
        .unwrap();
    assert!(matches!(
        running.reload(other),
        Err(mcp_auth::ConfigError::InvalidSetting {
            setting: "reload",
            ..
        })
    ));
    let reply = call_tool(&url, "alice", &session, "whoami", json!({})).await;
    assert!(text_of(&reply).contains("alice"), "{reply}");
}
