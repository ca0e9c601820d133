//! The JSON-RPC peek of per-operation authorization: a caller with scope `read` sends any body
//! (optionally after `Mcp-Method:` / `Mcp-Name:` header lines and a NUL byte). The handler
//! behind the layer panics if a call of the guarded tool reaches it, however a JSON parser
//! (first or last repeated member wins) reads the body: the layer must refuse it (403
//! `insufficient_scope` naming `read admin`) or answer a header mismatch (400, JSON-RPC -32020,
//! no challenge). Anything it lets through reaches the handler as the caller.
#![no_main]

use axum::http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use mcp_auth_fuzz::{GUARDED_TOOL, Harness, METADATA, READER, called_tools};

fuzz_target!(|data: &[u8]| {
    let harness = Harness::get();
    let (header_lines, body) = match data.iter().position(|b| *b == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (&[][..], data),
    };
    let Ok(authorization) = HeaderValue::from_str(&format!("Bearer {}", harness.reader_token))
    else {
        return;
    };
    let mut headers = vec![("authorization", authorization)];
    for line in header_lines.split(|b| *b == b'\n') {
        let (name, value) = if let Some(value) = line.strip_prefix(b"Mcp-Method: ") {
            ("mcp-method", value)
        } else if let Some(value) = line.strip_prefix(b"Mcp-Name: ") {
            ("mcp-name", value)
        } else {
            continue;
        };
        let Ok(value) = HeaderValue::from_bytes(value) else {
            return;
        };
        headers.push((name, value));
    }
    let answer = harness.call(&headers, body.to_vec());
    match answer.status {
        200 => assert_eq!(answer.body["subject"], READER, "{answer:?}"),
        403 => {
            assert_eq!(
                answer.param("error"),
                Some("insufficient_scope"),
                "{answer:?}"
            );
            assert_eq!(answer.param("scope"), Some("read admin"), "{answer:?}");
            assert_eq!(
                answer.param("resource_metadata"),
                Some(METADATA),
                "{answer:?}"
            );
        }
        400 => {
            assert!(answer.challenge.is_none(), "{answer:?}");
            assert_eq!(answer.body["error"]["code"], -32020, "{answer:?}");
        }
        _ => panic!("an unexpected answer: {answer:?}"),
    }
    // A body some parser reads as a call of the guarded tool never reaches the handler (it
    // would have panicked); check the oracle agrees with the answer too.
    if called_tools(body).contains(GUARDED_TOOL) {
        assert_ne!(answer.status, 200, "{answer:?}");
    }
});
