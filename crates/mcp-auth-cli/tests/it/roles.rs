//! `--roles-claim`, `--tool-role` and `--role-scope` on `mcp-auth serve`: a tool guarded by a
//! role is refused with 403 and no scope challenge to a caller without it, left out of its
//! `tools/list`, and called by a caller with it; a role's scopes pass a `--tool-scope` rule;
//! role rules without a claim to read roles from are a usage error.

use mcp_auth::testing::TestIssuer;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::Running;
use crate::common::mcp::{call, list, listed, post, serve_trusting};

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

#[tokio::test]
async fn a_tool_role_guards_calls_and_lists() {
    let issuer = TestIssuer::start().await.unwrap();
    let mut server = Running::spawn(serve_trusting(
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

    let nobody = token(&issuer, &url, &["offline_access"]);
    let refused = post(&url, &nobody, &call("whoami")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(refused.challenge, None, "no step-up grants a role");
    assert_eq!(refused.body["error"]["code"], -32003, "{}", refused.body);
    assert_eq!(refused.body["id"], 5);
    let tools = post(&url, &nobody, &list()).await.body;
    assert!(!listed(&tools).contains(&"whoami"), "{tools}");
    assert!(!listed(&tools).contains(&"admin_report"), "{tools}");

    let user = token(&issuer, &url, &["mcp-users"]);
    assert_eq!(
        post(&url, &user, &call("whoami")).await.status,
        StatusCode::OK
    );
    let step_up = post(&url, &user, &call("admin_report")).await;
    assert_eq!(step_up.status, StatusCode::FORBIDDEN);
    assert!(
        step_up
            .challenge
            .is_some_and(|c| c.contains("insufficient_scope")),
        "a scope is missing: step-up"
    );

    let admin = token(&issuer, &url, &["mcp-admins"]);
    assert_eq!(
        post(&url, &admin, &call("admin_report")).await.status,
        StatusCode::OK
    );
    let tools = post(&url, &admin, &list()).await.body;
    assert!(listed(&tools).contains(&"whoami"), "{tools}");
    assert!(listed(&tools).contains(&"admin_report"), "{tools}");

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
        let output = serve_trusting(&issuer, args).output().await.unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
