//! JSON-RPC over HTTP to the command's MCP endpoint, as the token tests speak it.

use mcp_auth::testing::TestIssuer;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// What the endpoint answered.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    /// The `WWW-Authenticate` header, if any.
    pub(crate) challenge: Option<String>,
    /// The JSON body (`null` when there is none).
    pub(crate) body: Value,
}

/// POSTs the JSON-RPC `message` to `url` with `Authorization: Bearer token`.
pub(crate) async fn post(url: &str, token: &str, message: &Value) -> Answer {
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .json(message)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned());
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        challenge,
        body,
    }
}

/// A `tools/call` of `tool`, id 5.
pub(crate) fn call(tool: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": { "name": tool, "arguments": {} } })
}

/// A `tools/list`, id 1.
pub(crate) fn list() -> Value {
    json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" })
}

/// The tool names a `tools/list` answer lists.
pub(crate) fn listed(answer: &Value) -> Vec<&str> {
    answer["result"]["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|tool| tool["name"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

/// `mcp-auth serve` trusting `issuer`, every request needing `mcp:tools`, then `args`.
pub(crate) fn serve_trusting(issuer: &TestIssuer, args: &[&str]) -> tokio::process::Command {
    let mut command = super::mcp_auth(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--issuer-type",
        "oauth",
        "--issuer",
        issuer.issuer(),
        "--scope",
        "mcp:tools",
    ]);
    command.args(args);
    command
}
