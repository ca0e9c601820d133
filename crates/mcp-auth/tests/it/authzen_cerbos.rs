//! The AuthZEN client against a real PDP: Cerbos, started by each test with the policies of
//! e2e/cerbos/policies (`admin_report` for the role `admins`, `echo` and `whoami` for everyone,
//! nothing else). Its endpoints are read from Cerbos's own metadata; lists are filtered by its
//! batch endpoint; Cerbos killed mid-run is an error, never a decision.
//!
//! Needs the Cerbos binary of the npm package `cerbos` (`npm ci` in e2e/, which
//! `scripts/test.sh` runs), hence `#[ignore]`: run with `--include-ignored`.

use std::time::Duration;

use mcp_auth::AuthInfo;
use mcp_auth::policy::{AccessRequest, AuthZen, DecisionPoint};

use crate::common::cerbos::Cerbos;

fn caller(subject: &str, roles: &[&str]) -> AuthInfo {
    AuthInfo::new("https://auth.example.com", ["https://mcp.example.com/mcp"])
        .with_subject(subject)
        .with_client_id("mcp-client")
        .with_roles(roles.iter().copied())
        .with_scopes(["mcp:tools"])
}

fn admin() -> AuthInfo {
    caller("alice", &["admins", "users"])
}

fn user() -> AuthInfo {
    caller("bob", &["users"])
}

fn calls(caller: &AuthInfo, tools: &[&str]) -> Vec<AccessRequest> {
    tools
        .iter()
        .map(|tool| AccessRequest::tool_call(caller, tool, None))
        .collect()
}

#[tokio::test]
#[ignore = "needs Cerbos: scripts/test.sh installs it"]
async fn cerbos_allows_admin_report_to_admins_and_denies_it_to_others() {
    let cerbos = Cerbos::start().await;
    // No endpoint given: both are read from Cerbos's /.well-known/authzen-configuration.
    let pdp = AuthZen::builder(&cerbos.url).build().unwrap();
    let arguments = serde_json::json!({ "month": "2026-05" })
        .as_object()
        .cloned();
    let report =
        |caller: &AuthInfo| AccessRequest::tool_call(caller, "admin_report", arguments.clone());
    assert_eq!(pdp.decide(&report(&admin())).await, Ok(true));
    assert_eq!(pdp.decide(&report(&user())).await, Ok(false));
    let anonymous_client =
        AuthInfo::new("https://auth.example.com", ["https://mcp.example.com/mcp"])
            .with_client_id("batch-job")
            .with_roles(["admins"]);
    assert_eq!(
        pdp.decide(&report(&anonymous_client)).await,
        Ok(true),
        "a client credentials caller is the subject {{type: client, id: its client id}}"
    );
    let echo = AccessRequest::tool_call(&user(), "echo", None);
    assert_eq!(pdp.decide(&echo).await, Ok(true));
}

#[tokio::test]
#[ignore = "needs Cerbos: scripts/test.sh installs it"]
async fn cerbos_filters_a_list_in_one_batch() {
    let cerbos = Cerbos::start().await;
    let pdp = AuthZen::builder(&cerbos.url).build().unwrap();
    let tools = ["echo", "admin_report", "delete_repo", "whoami"];
    assert_eq!(
        pdp.decide_all(&calls(&admin(), &tools)).await,
        Ok(vec![true, true, false, true])
    );
    assert_eq!(
        pdp.decide_all(&calls(&user(), &tools)).await,
        Ok(vec![true, false, false, true])
    );
    // More than Cerbos takes in one batch (50): asked in parts, answered in order.
    let many: Vec<String> = (0..60).map(|i| format!("tool_{i}")).collect();
    let mut tools: Vec<&str> = many.iter().map(String::as_str).collect();
    tools[7] = "echo";
    tools[55] = "admin_report";
    let decisions = pdp.decide_all(&calls(&admin(), &tools)).await.unwrap();
    let allowed: Vec<usize> = (0..60).filter(|&i| decisions[i]).collect();
    assert_eq!(allowed, [7, 55]);
}

#[tokio::test]
#[ignore = "needs Cerbos: scripts/test.sh installs it"]
async fn cerbos_endpoints_given_or_discovered_answer_alike() {
    let cerbos = Cerbos::start().await;
    let metadata: serde_json::Value =
        reqwest::get(format!("{}/.well-known/authzen-configuration", cerbos.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(metadata["policy_decision_point"], cerbos.url.as_str());
    let given = AuthZen::builder(&cerbos.url)
        .evaluation_endpoint(format!("{}/access/v1/evaluation", cerbos.url))
        .evaluations_endpoint(format!("{}/access/v1/evaluations", cerbos.url))
        .build()
        .unwrap();
    let discovered = AuthZen::builder(&cerbos.url).build().unwrap();
    let list = calls(&user(), &["admin_report", "whoami"]);
    for pdp in [given, discovered] {
        assert_eq!(pdp.decide(&list[0]).await, Ok(false));
        assert_eq!(pdp.decide_all(&list).await, Ok(vec![false, true]));
    }
}

#[tokio::test]
#[ignore = "needs Cerbos: scripts/test.sh installs it"]
async fn cerbos_stopped_mid_run_is_an_error_not_a_decision() {
    let mut cerbos = Cerbos::start().await;
    let pdp = AuthZen::builder(&cerbos.url)
        .decision_ttl(Duration::ZERO)
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let report = AccessRequest::tool_call(&admin(), "admin_report", None);
    assert_eq!(pdp.decide(&report).await, Ok(true));
    cerbos.stop();
    let error = pdp.decide(&report).await.unwrap_err();
    assert!(error.reason().contains("could not be fetched"), "{error}");
    let error = pdp
        .decide_all(&calls(&admin(), &["echo", "admin_report"]))
        .await
        .unwrap_err();
    assert!(error.reason().contains("could not be fetched"), "{error}");
}
