//! What the adversarial suites (`jwt_refusals.rs`, `adversarial.rs`) share: a JWT-mode app,
//! hand-made headers and tokens, and the refusal descriptions they expect.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, Header};
use mcp_auth::testing::{KeyMaterial, TestKey};
use serde_json::{Value, json};

use super::jwt::JwtApp;

pub const NO_KEY: &str = "no key of the issuer's key set matches the token's kid and alg";
pub const BAD_SIGNATURE: &str = "the token's signature does not verify";
pub const KID_ALG_MISMATCH: &str = "the key named by the token's kid does not accept its alg";
pub const UNTRUSTED: &str = "the token's issuer is not trusted by this resource";
pub const WRONG_AUDIENCE: &str = "the token's audience does not include this resource";

/// A resource in JWT mode trusting a fresh test issuer, with default settings.
pub async fn app() -> JwtApp {
    JwtApp::start(|bearer| bearer).await
}

/// A header naming `alg` and `kid`.
pub fn header(alg: Algorithm, kid: &str) -> Header {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    header
}

/// Replaces one dot-separated part of a token.
pub fn with_part(token: &str, index: usize, part: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = part;
    parts.join(".")
}

/// Good claims for `app`.
pub fn claims(app: &JwtApp) -> Value {
    json!({ "iss": app.issuer.issuer(), "aud": app.resource, "exp": 4_000_000_000u64 })
}

/// `raw_header.raw_payload` signed with `key` using `alg`, whatever the header says.
pub fn sign_as(key: &TestKey, alg: Algorithm, raw_header: &str, raw_payload: &str) -> String {
    let message = format!("{}.{}", B64.encode(raw_header), B64.encode(raw_payload));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key.encoding_key, alg).unwrap();
    format!("{message}.{signature}")
}

/// A token with this raw header and payload JSON, signed (RS256) by a published fixture RSA key
/// `fixture`.
pub fn signed_raw(app: &JwtApp, raw_header: &str, raw_payload: &str) -> String {
    let key = TestKey::new(KeyMaterial::Rsa, "fixture", Algorithm::RS256).unwrap();
    app.issuer.add_key(key.clone(), true);
    sign_as(&key, Algorithm::RS256, raw_header, raw_payload)
}

/// A token with this raw header JSON and good claims, signed by [`signed_raw`]'s key.
pub fn signed_with_raw_header(app: &JwtApp, raw_header: &str) -> String {
    signed_raw(app, raw_header, &claims(app).to_string())
}

/// Signs with the issuer's key `signer` but names `alg` and the key `named` in the header: the
/// named key must refuse the algorithm.
pub async fn assert_named_key_refuses(signer: &str, alg: Algorithm, named: &str) {
    let app = app().await;
    let token = app
        .token()
        .key(signer)
        .header(header(alg, named))
        .sign()
        .unwrap();
    app.refused(&token, KID_ALG_MISMATCH).await;
}
