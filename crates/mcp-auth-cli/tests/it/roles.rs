//! `--roles-claim`, `--tool-role` and `--role-scope` on `mcp-auth serve`: a tool guarded by a
//! role is refused with 403 and no scope challenge to a caller without it, left out of its
//! `tools/list`, and called by a caller with it; a role's scopes pass a `--tool-scope` rule;
//! role rules without a claim to read roles from are a usage error.

use mcp_auth::testing::TestIssuer;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, Running};

/// `mcp-auth serve` trusting `issuer`, every request needing `mcp:tools`, then `args`.
fn serve(issuer: &TestIssuer, args: &[&str]) -> tokio::process::Command {
    let mut command = common::mcp_auth(&[
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

/// A token for `url` with `mcp:tools` and Keycloak's realm roles `roles`.
fn token(issuer: &TestIssuer, url: &str, roles: &[&str]) -> String {
    issuer
        .token()
        .audience(url)
        .scopes(["mcp:tools"])
        .claim("realm_access", json!({ "roles": roles }))
        .sign()
        .unwrap()
}

/// POSTs `message` to `url` with `token`: the status, and the JSON-RPC answer.
async fn post(url: &str, token: &str, message: Value) -> (StatusCode, Option<String>, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .json(&message)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned());
    (
        status,
        challenge,
        response.json().await.unwrap_or(Value::Null),
    )
}

fn call(tool: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": { "name": tool, "arguments": {} } })
}

fn listed(answer: &Value) -> Vec<&str> {
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

#[tokio::test]
async fn a_tool_role_guards_calls_and_lists() {
    let issuer = TestIssuer::start().await.unwrap();
    let mut server = Running::spawn(serve(
        &issuer,
        &[
            "--roles-claim",
            "realm_access.roles",
            "--tool-role",
            "whoami=mcp-users",
            "--tool-role",
            "whoami=mcp-admins",
            // admin_report's own scope is granted by the role.
            "--role-scope",
            "mcp-admins=mcp:admin",
        ],
    ));
    let url = server.value_after("  MCP endpoint").await;
    assert_eq!(
        server.value_after("  roles from").await,
        "realm_access.roles"
    );
    assert_eq!(server.value_after("  tool roles").await, "whoami=mcp-users");
    assert_eq!(
        server.value_after("  tool roles").await,
        "whoami=mcp-admins"
    );
    assert_eq!(
        server.value_after("  role scopes").await,
        "mcp-admins=mcp:admin"
    );
    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });

    let nobody = token(&issuer, &url, &["offline_access"]);
    let (status, challenge, answer) = post(&url, &nobody, call("whoami")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(challenge, None, "no step-up grants a role");
    assert_eq!(answer["error"]["code"], -32003, "{answer}");
    assert_eq!(answer["id"], 5);
    let (_, _, answer) = post(&url, &nobody, list.clone()).await;
    assert!(!listed(&answer).contains(&"whoami"), "{answer}");
    assert!(!listed(&answer).contains(&"admin_report"), "{answer}");

    let user = token(&issuer, &url, &["mcp-users"]);
    assert_eq!(post(&url, &user, call("whoami")).await.0, StatusCode::OK);
    let (status, challenge, _) = post(&url, &user, call("admin_report")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        challenge.is_some_and(|c| c.contains("insufficient_scope")),
        "a scope is missing: step-up"
    );

    let admin = token(&issuer, &url, &["mcp-admins"]);
    assert_eq!(
        post(&url, &admin, call("admin_report")).await.0,
        StatusCode::OK
    );
    let (_, _, answer) = post(&url, &admin, list).await;
    assert!(listed(&answer).contains(&"whoami"), "{answer}");
    assert!(listed(&answer).contains(&"admin_report"), "{answer}");

    server.stop().await;
}

#[tokio::test]
async fn role_rules_need_a_roles_claim_and_a_tool_the_server_has() {
    let issuer = TestIssuer::start().await.unwrap();
    for (args, expected) in [
        (&["--tool-role", "whoami=admins"][..], "need --roles-claim"),
        (
            &["--role-scope", "admins=mcp:admin"][..],
            "need --roles-claim",
        ),
        (
            &["--roles-claim", "roles", "--tool-role", "nope=admins"][..],
            "the server has no tool",
        ),
        (
            &["--roles-claim", "roles", "--tool-role", "whoami"][..],
            "TOOL=ROLE",
        ),
    ] {
        let output = serve(&issuer, args).output().await.unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
