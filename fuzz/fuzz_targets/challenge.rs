//! The challenge builder, round trip through a strict parser (`parse_challenge`: RFC 7235,
//! RFC 6750 §3, RFC 9728 §5.1): whatever a refusal's detail, scopes or metadata URL hold, the
//! `WWW-Authenticate` value is one well-formed `Bearer` challenge whose parameters read back as
//! what was put in, mapped into RFC 6750's character set (`"` to `'`, `\` to `/`, anything else
//! outside it to `?`) and, for details, cut to 200 characters.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use mcp_auth::fuzzing::{Refusal, challenge};
use mcp_auth_fuzz::parse_challenge;

fuzz_target!(|data: &[u8]| {
    let _ = round_trip(&mut Unstructured::new(data));
});

fn round_trip(input: &mut Unstructured) -> Result<()> {
    let metadata_url: String = input.arbitrary()?;
    // The builder refuses scopes that are not RFC 6749 scope tokens.
    let required: Vec<String> = scope_tokens(input.arbitrary()?);
    let details: bool = input.arbitrary()?;
    let refusal = match input.int_in_range(0..=2)? {
        0 => Refusal::NoCredentials,
        1 => Refusal::InvalidToken(input.arbitrary()?),
        _ => Refusal::InsufficientScope {
            missing: input.arbitrary()?,
            needed: Some(scope_tokens(input.arbitrary()?)).filter(|needed| !needed.is_empty()),
        },
    };
    let (status, value) = challenge(&metadata_url, &required, details, refusal.clone());
    let value = value.expect("every refusal here has a challenge");
    let params = parse_challenge(value.as_bytes())
        .unwrap_or_else(|why| panic!("{why}: {value:?} from {refusal:?}"));
    let param = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    assert_eq!(
        param("resource_metadata"),
        Some(quoted(&metadata_url)),
        "{value}"
    );
    let scope = |scopes: &[String]| Some(scopes.join(" ")).filter(|s| !s.is_empty());
    let (expected_status, error, description, expected_scope) = match &refusal {
        Refusal::NoCredentials => (401, None, None, scope(&required)),
        Refusal::InvalidToken(detail) => (
            401,
            Some("invalid_token"),
            Some(if details {
                cut(detail)
            } else {
                "the access token is invalid".into()
            }),
            scope(&required),
        ),
        Refusal::InsufficientScope { missing, needed } => (
            403,
            Some("insufficient_scope"),
            Some(if details {
                cut(&format!(
                    "the access token lacks the scopes: {}",
                    missing.join(" ")
                ))
            } else {
                "the access token lacks a required scope".into()
            }),
            needed.as_deref().map_or_else(|| scope(&required), scope),
        ),
    };
    assert_eq!(status, expected_status, "{value}");
    assert_eq!(param("error").as_deref(), error, "{value}");
    assert_eq!(param("error_description"), description, "{value}");
    assert_eq!(param("scope"), expected_scope, "{value}");
    assert_eq!(
        params.len(),
        1 + [
            error.is_some(),
            description.is_some(),
            expected_scope.is_some()
        ]
        .into_iter()
        .filter(|present| *present)
        .count(),
        "{value}"
    );
    Ok(())
}

/// The RFC 6749 scope tokens among `candidates`.
fn scope_tokens(candidates: Vec<String>) -> Vec<String> {
    candidates
        .into_iter()
        .filter(|scope| {
            !scope.is_empty()
                && scope
                    .bytes()
                    .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        })
        .collect()
}

/// `text` in RFC 6750's quoted-value set, as the layer documents the mapping.
fn quoted(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

/// A detail as sent: its first 200 characters, quoted.
fn cut(detail: &str) -> String {
    quoted(&detail.chars().take(200).collect::<String>())
}
