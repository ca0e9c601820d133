//! Key set (JWKS) documents: the parser never panics, and every key it keeps can only verify:
//! no private or secret member, `use` (when present) `sig`, `key_ops` (when present) naming
//! `verify`, algorithms that fit the key's type and curve and, when the key names its `alg`,
//! that algorithm alone. Parsing again with the first set as the previous one keeps as many.
#![no_main]

use jsonwebtoken::Algorithm;
use libfuzzer_sys::fuzz_target;
use mcp_auth::fuzzing::key_set;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok((kept, again)) = key_set(&document) else {
        assert!(document.get("keys").and_then(Value::as_array).is_none());
        return;
    };
    assert_eq!(kept.len(), again, "{document}");
    for key in kept {
        let jwk = key.published.as_object().expect("a kept key is an object");
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(
                !jwk.contains_key(private),
                "kept a key with {private}: {document}"
            );
        }
        if let Some(usage) = jwk.get("use") {
            assert_eq!(usage, "sig", "{document}");
        }
        if let Some(ops) = jwk.get("key_ops") {
            let ops = ops.as_array().expect("key_ops kept only as a list");
            assert!(ops.contains(&Value::from("verify")), "{document}");
        }
        assert_eq!(
            key.kid.as_deref(),
            jwk.get("kid").and_then(Value::as_str),
            "{document}"
        );
        assert!(!key.algorithms.is_empty(), "{document}");
        let fits: &[Algorithm] = match (
            jwk.get("kty").and_then(Value::as_str),
            jwk.get("crv").and_then(Value::as_str),
        ) {
            (Some("RSA"), _) => &[
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ],
            (Some("EC"), Some("P-256")) => &[Algorithm::ES256],
            (Some("EC"), Some("P-384")) => &[Algorithm::ES384],
            (Some("OKP"), Some("Ed25519")) => &[Algorithm::EdDSA],
            _ => panic!("kept a key of no usable type: {document}"),
        };
        assert!(
            key.algorithms.iter().all(|alg| fits.contains(alg)),
            "{document}"
        );
        if let Some(alg) = jwk.get("alg") {
            let named = format!("{:?}", key.algorithms);
            assert_eq!(key.algorithms.len(), 1, "{document}");
            assert_eq!(
                named,
                format!("[{}]", alg.as_str().unwrap_or_default()),
                "{document}"
            );
        }
    }
});
