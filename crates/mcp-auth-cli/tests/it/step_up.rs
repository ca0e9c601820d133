//! Per-tool scopes from the command line (`--tool-scope`, and the built-in rule
//! for `admin_report`) and the session mode (`--stateful`), against the `mcp-auth` binary
//! started as a process. Needs nothing but the binary: the demo brings its own authorization
//! server, and `serve` trusts a test issuer on 127.0.0.1.

use std::time::Duration;

use mcp_auth::testing::TestIssuer;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Running, mcp_auth};

/// A started demo: its MCP endpoint, token endpoint and printed token.
struct Demo {
    _process: Running,
    url: String,
    /// The demo client's secret, drawn at its start.
    client_secret: String,
    token_endpoint: String,
    token: String,
}

async fn demo(args: &[&str], env: &[(&str, &str)]) -> Demo {
    let mut command = mcp_auth(&["demo", "--bind", "127.0.0.1:0"]);
    command.args(args).envs(env.iter().copied());
    let mut process = Running::spawn(command);
    let url = process.value_after("MCP endpoint:").await;
    let client_secret = process.value_after("  client secret:").await;
    let token_endpoint = process.value_after("  token endpoint:").await;
    let token = process.value_after("TOKEN=").await;
    Demo {
        _process: process,
        url,
        client_secret,
        token_endpoint,
        token,
    }
}

/// A token from the demo's token endpoint, as its welcome text shows (client_credentials, RFC
/// 8707 resource).
async fn demo_token(demo: &Demo, scope: &str) -> String {
    let response = reqwest::Client::new()
        .post(&demo.token_endpoint)
        .basic_auth("demo-client", Some(&demo.client_secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("resource", &demo.url),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], scope);
    body["access_token"].as_str().unwrap().to_owned()
}

/// A stateless `tools/call` of `tool`.
async fn call(url: &str, token: &str, tool: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": { "name": tool, "arguments": {} }
        }))
        .send()
        .await
        .unwrap()
}

/// The auth-params of a `Bearer` challenge, as (name, unquoted value).
fn challenge_params(response: &reqwest::Response) -> Vec<(String, String)> {
    let header = response.headers()["www-authenticate"].to_str().unwrap();
    let mut rest = header
        .strip_prefix("Bearer ")
        .unwrap_or_else(|| panic!("not a Bearer challenge: {header}"));
    let mut params = Vec::new();
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").unwrap();
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().unwrap() {
                (_, '\\') => value.push(chars.next().unwrap().1),
                (at, '"') => break at,
                (_, other) => value.push(other),
            }
        };
        params.push((name.trim().to_owned(), value));
        rest = after[end + 1..].trim_start_matches(", ");
    }
    params
}

fn param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(known, _)| known == name)
        .map(|(_, value)| value.as_str())
}

/// Asserts a 403 step-up answer naming exactly `scope`, pointing to the metadata of `url`.
fn assert_step_up(response: &reqwest::Response, url: &str, scope: &str) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let params = challenge_params(response);
    assert_eq!(
        param(&params, "error"),
        Some("insufficient_scope"),
        "{params:?}"
    );
    assert_eq!(param(&params, "scope"), Some(scope), "{params:?}");
    let metadata = url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    assert_eq!(
        param(&params, "resource_metadata"),
        Some(metadata.as_str()),
        "{params:?}"
    );
}

/// The text of a successful JSON tool result.
async fn tool_text(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::OK);
    let reply: Value = response.json().await.unwrap();
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    reply["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn scopes_supported(url: &str) -> Value {
    let metadata = url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    let document: Value = reqwest::get(metadata).await.unwrap().json().await.unwrap();
    document["scopes_supported"].clone()
}

#[tokio::test]
async fn malformed_tool_scopes_exit_2_with_one_line() {
    let serve = ["serve", "--issuer", "https://auth.example.com"];
    let demo = ["demo", "--bind", "127.0.0.1:0"];
    for bad in [
        "admin_report",
        "=mcp:admin",
        "admin_report=",
        "admin_report=  ",
        "admin_reprot=mcp:admin",
        "whoami=mcp:\"admin",
    ] {
        for command in [&serve[..], &demo[..]] {
            let by_flag = mcp_auth(command)
                .args(["--tool-scope", bad])
                .output()
                .await
                .unwrap();
            // In the variable, a bad entry after a good one.
            let by_env = mcp_auth(command)
                .env("MCP_AUTH_TOOL_SCOPE", format!("whoami=mcp:tools,{bad}"))
                .output()
                .await
                .unwrap();
            for output in [by_flag, by_env] {
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert_eq!(
                    output.status.code(),
                    Some(2),
                    "{command:?} {bad:?}: {stderr}"
                );
                assert_eq!(stderr.lines().count(), 1, "{command:?} {bad:?}: {stderr}");
                assert!(
                    stderr.starts_with("mcp-auth: invalid value")
                        && stderr.contains("--tool-scope"),
                    "{stderr}"
                );
                assert!(output.stdout.is_empty(), "{command:?} {bad:?}: it started");
            }
        }
    }
}

#[tokio::test]
async fn the_demo_client_secret_is_drawn_at_each_start_and_only_the_printed_one_works() {
    // Issue 21 (F11): a secret written in the repository let any web page get admin tokens.
    let (first, second) = (demo(&[], &[]).await, demo(&[], &[]).await);
    assert_ne!(first.client_secret, second.client_secret);
    for demo in [&first, &second] {
        assert_eq!(demo.client_secret.len(), 43, "32 random bytes, base64url");
    }
    let token_request = |demo: &Demo, secret: &str| {
        reqwest::Client::new()
            .post(&demo.token_endpoint)
            .basic_auth("demo-client", Some(secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", &demo.url),
            ])
            .send()
    };
    let own = token_request(&second, &second.client_secret).await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    for wrong in [first.client_secret.as_str(), "demo-secret"] {
        let refused = token_request(&second, wrong).await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{wrong}");
    }
}

#[tokio::test]
async fn the_demo_answers_admin_report_without_the_admin_scope_with_the_step_up_challenge() {
    let demo = demo(&[], &[]).await;

    // The printed token holds mcp:tools: whoami runs, admin_report gets the step-up answer,
    // the same each time (the TypeScript SDK stops retrying on an identical challenge).
    let whoami: Value =
        serde_json::from_str(&tool_text(call(&demo.url, &demo.token, "whoami").await).await)
            .unwrap();
    assert_eq!(whoami["scopes"], json!(["mcp:tools"]));
    let first = call(&demo.url, &demo.token, "admin_report").await;
    assert_step_up(&first, &demo.url, "mcp:tools mcp:admin");
    let again = call(&demo.url, &demo.token, "admin_report").await;
    assert_eq!(
        first.headers()["www-authenticate"],
        again.headers()["www-authenticate"]
    );

    // A token from the demo's token endpoint with the scopes the challenge named.
    let admin = demo_token(&demo, "mcp:tools mcp:admin").await;
    let report = tool_text(call(&demo.url, &admin, "admin_report").await).await;
    assert_eq!(report, "admin report for demo-client: all systems nominal");

    assert_eq!(
        scopes_supported(&demo.url).await,
        json!(["mcp:tools", "mcp:admin"])
    );

    // tools/list shows each token what it may call.
    assert_eq!(listed_tools(&demo.url, &demo.token).await, ["whoami"]);
    assert_eq!(
        listed_tools(&demo.url, &admin).await,
        ["admin_report", "whoami"]
    );
}

/// The names `tools/list` gives `token`, sorted.
async fn listed_tools(url: &str, token: &str) -> Vec<String> {
    let list = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/list" });
    let response = post(url, token, None, &list).await;
    assert_eq!(response.status(), 200);
    let reply: Value = response.json().await.unwrap();
    let mut names: Vec<String> = reply["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn tool_scopes_from_the_variable_guard_their_tools_and_are_published() {
    let demo = demo(
        &[],
        &[(
            "MCP_AUTH_TOOL_SCOPE",
            "whoami=mcp:audit,admin_report=ops  mcp:admin",
        )],
    )
    .await;

    assert_step_up(
        &call(&demo.url, &demo.token, "whoami").await,
        &demo.url,
        "mcp:tools mcp:audit",
    );
    assert_step_up(
        &call(&demo.url, &demo.token, "admin_report").await,
        &demo.url,
        "mcp:tools ops mcp:admin",
    );
    assert_eq!(
        scopes_supported(&demo.url).await,
        json!(["mcp:tools", "mcp:audit", "ops", "mcp:admin"])
    );

    // The demo client may ask for every scope a rule names.
    let audit = demo_token(&demo, "mcp:tools mcp:audit").await;
    tool_text(call(&demo.url, &audit, "whoami").await).await;
    assert_step_up(
        &call(&demo.url, &audit, "admin_report").await,
        &demo.url,
        "mcp:tools ops mcp:admin",
    );
    let admin = demo_token(&demo, "mcp:tools mcp:admin ops").await;
    tool_text(call(&demo.url, &admin, "admin_report").await).await;
}

#[tokio::test]
async fn serve_makes_tool_scopes_rules_that_add_up_and_publishes_them() {
    let issuer = TestIssuer::start().await.unwrap();
    let mut command = mcp_auth(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--issuer",
        issuer.issuer(),
        "--issuer-type",
        "oauth",
        "--scope",
        "mcp:tools",
        "--tool-scope",
        "whoami=audit",
        "--tool-scope",
        "admin_report=root",
        "--tool-scope",
        "admin_report=ops audit",
    ]);
    command.env_remove("MCP_AUTH_ISSUER");
    let mut server = Running::spawn(command);
    let url = server.value_after("  MCP endpoint").await;
    let token = |scopes: &[&str]| {
        issuer
            .token()
            .audience(&url)
            .subject("someone")
            .scopes(scopes.iter().copied())
            .sign()
            .unwrap()
    };

    let tools = token(&["mcp:tools"]);
    assert_step_up(&call(&url, &tools, "whoami").await, &url, "mcp:tools audit");
    assert_step_up(
        &call(&url, &tools, "admin_report").await,
        &url,
        "mcp:tools root ops audit",
    );
    let audit = token(&["mcp:tools", "audit"]);
    tool_text(call(&url, &audit, "whoami").await).await;
    let all = token(&["mcp:tools", "audit", "root", "ops"]);
    assert_eq!(
        tool_text(call(&url, &all, "admin_report").await).await,
        "admin report for someone: all systems nominal"
    );
    assert_eq!(
        scopes_supported(&url).await,
        json!(["mcp:tools", "audit", "root", "ops"])
    );
}

#[tokio::test]
async fn a_tool_scope_rule_for_admin_report_replaces_its_default() {
    // As a new user would write it: admin_report needs `admin`, not `mcp:admin` and `admin`.
    let issuer = TestIssuer::start().await.unwrap();
    let mut command = mcp_auth(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--issuer",
        issuer.issuer(),
        "--issuer-type",
        "oauth",
        "--scope",
        "read",
        "--tool-scope",
        "admin_report=admin",
    ]);
    command.env_remove("MCP_AUTH_ISSUER");
    let mut server = Running::spawn(command);
    let url = server.value_after("  MCP endpoint").await;
    let token = |scopes: &[&str]| {
        issuer
            .token()
            .audience(&url)
            .subject("someone")
            .scopes(scopes.iter().copied())
            .sign()
            .unwrap()
    };
    let read = token(&["read"]);
    assert_step_up(&call(&url, &read, "admin_report").await, &url, "read admin");
    let admin = token(&["read", "admin"]);
    assert_eq!(
        tool_text(call(&url, &admin, "admin_report").await).await,
        "admin report for someone: all systems nominal"
    );
    assert_eq!(scopes_supported(&url).await, json!(["read", "admin"]));
}

/// The `initialize` request of protocol 2025-06-18 (sessions exist before 2026-07-28).
fn initialize() -> Value {
    json!({
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": { "name": "step-up-test", "version": "1.0.0" }
        }
    })
}

/// POSTs `message` (with the session, if any) and returns the response.
async fn post(url: &str, token: &str, session: Option<&str>, message: &Value) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .json(message);
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn stateful_runs_sessions_with_sse_behind_the_same_rules() {
    // Stateless JSON by default.
    let stateless = demo(&[], &[]).await;
    let reply = post(&stateless.url, &stateless.token, None, &initialize()).await;
    assert_eq!(reply.status(), StatusCode::OK);
    assert!(reply.headers().get("mcp-session-id").is_none());
    assert_eq!(reply.headers()["content-type"], "application/json");

    let by_flag = demo(&["--stateful"], &[]).await;
    let by_env = demo(&[], &[("MCP_AUTH_STATEFUL", "true")]).await;
    for demo in [by_flag, by_env] {
        let reply = post(&demo.url, &demo.token, None, &initialize()).await;
        assert_eq!(reply.status(), StatusCode::OK);
        assert_eq!(reply.headers()["content-type"], "text/event-stream");
        let session = reply.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        drop(reply);
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let accepted = post(&demo.url, &demo.token, Some(&session), &initialized).await;
        assert_eq!(accepted.status(), StatusCode::ACCEPTED);

        let whoami = json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": { "name": "whoami", "arguments": {} }
        });
        let reply = post(&demo.url, &demo.token, Some(&session), &whoami).await;
        assert_eq!(reply.status(), StatusCode::OK);
        assert_eq!(reply.headers()["content-type"], "text/event-stream");
        let events = tokio::time::timeout(Duration::from_secs(30), reply.text())
            .await
            .expect("the SSE response did not end")
            .unwrap();
        assert!(
            events.contains(r#""id":1,"result""#) && events.contains("demo-user"),
            "{events}"
        );

        // The layer decides before the session is looked at.
        let admin = json!({
            "jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": { "name": "admin_report", "arguments": {} }
        });
        let refused = post(&demo.url, &demo.token, Some(&session), &admin).await;
        assert_step_up(&refused, &demo.url, "mcp:tools mcp:admin");
    }
}
