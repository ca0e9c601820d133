//! The JSON-RPC peek against a case-insensitive, last-wins reading (Go's `encoding/json` as Go
//! MCP servers used it, CVE-2026-27896; .NET and Jackson in their case-insensitive modes): a
//! caller with scope `read` sends any body. Whenever such a reading runs the guarded tool
//! (under any case of its name), the layer must not let the body through: it must hold it to
//! the strictest rule (403 `insufficient_scope` naming `read admin`) or answer a header
//! mismatch. Our own reading and theirs may differ on anything else; not on what runs.
#![no_main]

use axum::http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use mcp_auth_fuzz::{GUARDED_TOOL, Harness, case_insensitive_calls, fold};

fuzz_target!(|body: &[u8]| {
    let harness = Harness::get();
    let Ok(authorization) = HeaderValue::from_str(&format!("Bearer {}", harness.reader_token))
    else {
        return;
    };
    let answer = harness.call(&[("authorization", authorization)], body.to_vec());
    let guarded = fold(GUARDED_TOOL);
    let runs_guarded = case_insensitive_calls(body)
        .iter()
        .any(|tool| fold(tool) == guarded);
    if runs_guarded {
        assert_eq!(answer.status, 403, "{answer:?}: {}", String::from_utf8_lossy(body));
        assert_eq!(answer.param("scope"), Some("read admin"), "{answer:?}");
    }
});
