//! `mcp-auth serve --metrics-bind --audit-log --log-format json`: after a mix of requests the
//! Prometheus counters add up to what was sent, the audit log holds one event per request, and
//! neither the logs nor the audit log hold a token.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::common::{Running, mcp_auth};
use mcp_auth::testing::TestIssuer;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A stateless `tools/call` of `tool`, with `token` when there is one.
async fn call(url: &str, token: Option<&str>, tool: &str) -> StatusCode {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .json(&json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": { "name": tool, "arguments": {} }
        }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().status()
}

/// The samples of `name` in Prometheus text, by their label set.
fn samples(text: &str, name: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let (labels, value) = rest.rsplit_once(' ')?;
            let labels = labels.strip_prefix('{')?.strip_suffix('}')?;
            Some((labels.to_owned(), value.parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn metrics_add_up_and_the_audit_log_has_one_event_per_request() {
    let issuer = TestIssuer::start().await.unwrap();
    let audit_log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("observability-audit.jsonl");
    let _ = std::fs::remove_file(&audit_log);
    let mut server = Running::spawn(mcp_auth(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--issuer",
        issuer.issuer(),
        "--issuer-type",
        "oauth",
        "--scope",
        "mcp:tools",
        "--metrics-bind",
        "127.0.0.1:0",
        "--audit-log",
        audit_log.to_str().unwrap(),
        "--log-format",
        "json",
        "--log-level",
        "info",
    ]));
    let url = server.value_after("  MCP endpoint").await;
    let audit_line = server.value_after("  audit log").await;
    assert!(
        audit_line.starts_with(audit_log.to_str().unwrap()),
        "{audit_line}"
    );
    let metrics_url = server.value_after("  metrics").await;

    let token = |scopes: &[&str]| {
        issuer
            .token()
            .audience(&url)
            .subject("alice")
            .client_id("client-1")
            .scopes(scopes.iter().copied())
            .sign()
            .unwrap()
    };
    let good = token(&["mcp:tools"]);
    let expired = issuer
        .token()
        .audience(&url)
        .scopes(["mcp:tools"])
        .expires_in(-3600)
        .sign()
        .unwrap();
    let wrong_audience = issuer
        .token()
        .audience("https://elsewhere.example/mcp")
        .scopes(["mcp:tools"])
        .sign()
        .unwrap();
    let sent: [(Option<&str>, &str, StatusCode); 8] = [
        (Some(&good), "whoami", StatusCode::OK),
        (Some(&good), "whoami", StatusCode::OK),
        (Some(&good), "whoami", StatusCode::OK),
        (None, "whoami", StatusCode::UNAUTHORIZED),
        (None, "whoami", StatusCode::UNAUTHORIZED),
        (Some(&expired), "whoami", StatusCode::UNAUTHORIZED),
        (Some(&wrong_audience), "whoami", StatusCode::UNAUTHORIZED),
        // admin_report needs mcp:admin on top.
        (Some(&good), "admin_report", StatusCode::FORBIDDEN),
    ];
    for (token, tool, status) in sent {
        assert_eq!(call(&url, token, tool).await, status, "{tool} {token:?}");
    }

    let text = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let decisions = samples(&text, "mcp_auth_decisions_total");
    let count = |labels: &str| decisions.get(labels).copied().unwrap_or(0.0);
    assert_eq!(count(r#"outcome="allowed",reason="none""#), 3.0, "{text}");
    assert_eq!(count(r#"outcome="refused",reason="no_credentials""#), 2.0);
    assert_eq!(count(r#"outcome="refused",reason="expired""#), 1.0);
    assert_eq!(count(r#"outcome="refused",reason="wrong_audience""#), 1.0);
    assert_eq!(
        count(r#"outcome="refused",reason="insufficient_scope""#),
        1.0
    );
    assert_eq!(decisions.values().sum::<f64>(), sent.len() as f64, "{text}");
    let timed: f64 = samples(&text, "mcp_auth_decision_seconds_count")
        .values()
        .sum();
    assert_eq!(timed, sent.len() as f64, "every decision timed: {text}");
    let fetches = samples(&text, "mcp_auth_key_set_fetches_total");
    let ok = format!(r#"issuer="{}",result="ok""#, issuer.issuer());
    assert_eq!(fetches.get(&ok), Some(&1.0), "{text}");
    let discoveries = samples(&text, "mcp_auth_metadata_fetches_total");
    assert_eq!(discoveries.get(&ok), Some(&1.0), "{text}");
    // Every unexpired token whose signature verified is remembered (the rules are checked per
    // request): the good one and the one for another audience.
    assert_eq!(
        samples(&text, "mcp_auth_cache_entries").get(r#"cache="verified_tokens""#),
        Some(&2.0),
        "{text}"
    );
    assert!(!text.contains("alice"), "no subject as a label");

    let audit = std::fs::read_to_string(&audit_log).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&audit_log).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the audit log is its owner's alone");
    }
    let events: Vec<Value> = audit
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events.len(), sent.len(), "{audit}");
    for (event, (_, tool, status)) in events.iter().zip(sent) {
        assert_eq!(event["status"], status.as_u16(), "{event}");
        assert_eq!(event["name"], tool, "{event}");
        assert_eq!(event["remote_addr"], "127.0.0.1", "{event}");
    }
    assert_eq!(events[0]["subject"], "alice");
    assert_eq!(events[5]["reason"], "expired");

    let logs = server.stop().await;
    let refusals: Vec<Value> = logs
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line["fields"]["message"] == "authorization decided")
        .collect();
    assert_eq!(refusals.len(), 5, "refusals logged at info: {logs}");
    assert!(
        refusals
            .iter()
            .any(|line| line["fields"]["reason"] == "wrong_audience")
    );
    for output in [&logs, &audit, &text] {
        for token in [&good, &expired, &wrong_audience] {
            for part in token.split('.') {
                assert!(!output.contains(part), "a token part leaked: {part}");
            }
        }
    }
}
