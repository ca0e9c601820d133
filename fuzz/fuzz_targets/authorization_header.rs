//! The `Authorization` header parser, against RFC 6750 §2.1 read independently: each input line
//! is one `Authorization` header (`$TOKEN` stands for a good token) of a call of `whoami`. No header: 401 without
//! `error`; several: 400; one that is not visible ASCII, empty, or `Bearer` with anything but
//! `1*SP b64token`: 400; another scheme: 401 without `error`; `Bearer` and a b64token: the token
//! is verified, so 200 only for the good token, with its subject, else 401 `invalid_token`.
#![no_main]

use axum::http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use mcp_auth_fuzz::{Harness, READER, check_refusal, whoami};

fuzz_target!(|data: &[u8]| {
    let harness = Harness::get();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let text = text.replace("$TOKEN", &harness.reader_token);
    let mut headers = Vec::new();
    for line in text.split('\n').filter(|line| !line.is_empty()) {
        // A value a request cannot carry (control characters) is not an input.
        let Ok(value) = HeaderValue::from_bytes(line.as_bytes()) else {
            return;
        };
        headers.push(("authorization", value));
    }
    let answer = harness.call(&headers, whoami());
    check_refusal(&answer);

    let expected = match headers.as_slice() {
        [] => Expected::NoCredentials,
        [(_, value)] => expected(value.to_str().unwrap_or("\u{80}"), &harness.reader_token),
        _ => Expected::InvalidRequest,
    };
    match expected {
        Expected::NoCredentials => {
            assert_eq!(answer.status, 401, "{text:?}: {answer:?}");
            assert_eq!(answer.param("error"), None, "{text:?}: {answer:?}");
        }
        Expected::InvalidRequest => assert_eq!(answer.status, 400, "{text:?}: {answer:?}"),
        Expected::Accepted => {
            assert_eq!(answer.status, 200, "{text:?}: {answer:?}");
            assert_eq!(answer.body["subject"], READER, "{text:?}: {answer:?}");
        }
        Expected::InvalidToken => {
            assert_eq!(answer.status, 401, "{text:?}: {answer:?}");
            assert_eq!(
                answer.param("error"),
                Some("invalid_token"),
                "{text:?}: {answer:?}"
            );
        }
    }
});

enum Expected {
    NoCredentials,
    InvalidRequest,
    Accepted,
    InvalidToken,
}

/// What RFC 6750 §2.1 makes of one header value (surrounding spaces aside).
fn expected(value: &str, good_token: &str) -> Expected {
    if !value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        return Expected::InvalidRequest;
    }
    let value = value.trim_matches(' ');
    if value.is_empty() {
        return Expected::InvalidRequest;
    }
    let scheme_is_bearer = value.len() >= 6
        && value[..6].eq_ignore_ascii_case("bearer")
        && matches!(value.as_bytes().get(6), None | Some(b' ' | b'\t'));
    if !scheme_is_bearer {
        return Expected::NoCredentials;
    }
    let token = &value[6..];
    let token = match token.strip_prefix(' ') {
        Some(token) => token.trim_start_matches(' '),
        None => return Expected::InvalidRequest,
    };
    let body = token.trim_end_matches('=');
    let b64token = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    match (b64token, token == good_token) {
        (false, _) => Expected::InvalidRequest,
        (true, true) => Expected::Accepted,
        (true, false) => Expected::InvalidToken,
    }
}
