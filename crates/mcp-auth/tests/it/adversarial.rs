//! The adversarial suite, part two (part one is `jwt_refusals.rs`): each case is named after
//! what it attacks and asserts the HTTP status and the parsed challenge, with the exact
//! `error_description` (error details are on). Real keys, a real issuer on 127.0.0.1, real HTTP.
#![cfg(feature = "testing")]

use std::time::Duration;

use crate::common::forge::{
    BAD_SIGNATURE, NO_KEY, UNTRUSTED, WRONG_AUDIENCE, app, assert_named_key_refuses, claims,
    header, sign_as, signed_raw, signed_with_raw_header, with_part,
};
use crate::common::jwt::JwtApp;
use crate::common::{Challenge, parse_challenge};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_auth::testing::{KeyMaterial, TestIssuer, TestKey};
use mcp_auth::verify::JwtOptions;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, COOKIE, HeaderValue, WWW_AUTHENTICATE};
use serde_json::{Value, json};

const MALFORMED_HEADER: &str = "the token header is malformed";
const NOT_A_JWT: &str = "the token is not a signed JWT (three dot-separated parts)";
const CRITICAL: &str = "the token has critical header parameters this server does not understand";
const REPEATED_CLAIM: &str = "the token repeats a claim";
const REPEATED_HEADER: &str = "the token header repeats a parameter";
const PAYLOAD_NOT_OBJECT: &str = "the token payload is not a JSON object";
const NOT_B64TOKEN: &str = "the Bearer credentials are not a single RFC 6750 b64token";

fn signature_of(token: &str) -> Vec<u8> {
    B64.decode(token.rsplit('.').next().unwrap()).unwrap()
}

fn with_signature(token: &str, signature: &[u8]) -> String {
    with_part(token, 2, &B64.encode(signature))
}

/// A token with the fixture's RS256 header and this raw payload JSON.
fn signed_with_raw_payload(app: &JwtApp, raw_payload: &str) -> String {
    signed_raw(app, r#"{"alg":"RS256","kid":"fixture"}"#, raw_payload)
}

/// The public JWK the issuer publishes under `kid`.
async fn published_jwk(app: &JwtApp, kid: &str) -> Value {
    let published: Value = reqwest::get(app.issuer.jwks_uri())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    published["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == kid)
        .unwrap()
        .clone()
}

/// An HMAC token naming `kid`, keyed with `secret`.
fn hmac_token(app: &JwtApp, alg: Algorithm, kid: &str, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &header(alg, kid),
        &claims(app),
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

// ---- DER, to key HMAC with the issuer's public key as a confused verifier would read it ------

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

/// A DER INTEGER of the unsigned big-endian `bytes`.
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = Vec::new();
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend(trimmed);
    der(0x02, &content)
}

/// The PKCS#1 `RSAPublicKey` DER of a published RSA JWK.
fn rsa_public_key_der(jwk: &Value) -> Vec<u8> {
    let n = B64.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = B64.decode(jwk["e"].as_str().unwrap()).unwrap();
    der(0x30, &[der_uint(&n), der_uint(&e)].concat())
}

/// The `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo) PEM of a published RSA JWK, as
/// `openssl rsa -pubout` writes it.
fn rsa_public_key_pem(jwk: &Value) -> String {
    let rsa_encryption = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bit_string = vec![0];
    bit_string.extend(rsa_public_key_der(jwk));
    let spki = der(
        0x30,
        &[der(0x30, &rsa_encryption), der(0x03, &bit_string)].concat(),
    );
    let body = STANDARD.encode(spki);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}

/// A raw `r || s` ECDSA signature as DER `ECDSA-Sig-Value`.
fn ecdsa_der(raw: &[u8]) -> Vec<u8> {
    let (r, s) = raw.split_at(raw.len() / 2);
    der(0x30, &[der_uint(r), der_uint(s)].concat())
}

// ---- requests sent by hand ------------------------------------------------------------------

fn post(app: &JwtApp) -> reqwest::RequestBuilder {
    reqwest::Client::new().post(&app.resource)
}

/// Sends `request`, asserts `status` and returns the parsed challenge, checking
/// `resource_metadata`.
async fn challenged(
    app: &JwtApp,
    request: reqwest::RequestBuilder,
    status: StatusCode,
) -> Challenge {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), status);
    let challenge = parse_challenge(response.headers()[WWW_AUTHENTICATE].to_str().unwrap());
    assert_eq!(challenge.scheme, "Bearer");
    let metadata = app.server.url("/.well-known/oauth-protected-resource/mcp");
    assert_eq!(
        challenge.param("resource_metadata"),
        Some(metadata.as_str())
    );
    challenge
}

/// Asserts a 400 `invalid_request` with exactly `description`.
async fn bad_request(app: &JwtApp, request: reqwest::RequestBuilder, description: &str) {
    let challenge = challenged(app, request, StatusCode::BAD_REQUEST).await;
    assert_eq!(challenge.param("error"), Some("invalid_request"));
    assert_eq!(challenge.param("error_description"), Some(description));
}

/// Asserts a 401 discovery challenge without `error`: the request carried no bearer
/// credentials the layer reads (RFC 6750 §3.1).
async fn no_credentials(app: &JwtApp, request: reqwest::RequestBuilder) {
    let challenge = challenged(app, request, StatusCode::UNAUTHORIZED).await;
    assert_eq!(challenge.param("error"), None);
    assert_eq!(challenge.param("error_description"), None);
}

/// Asserts a 200 with no challenge.
async fn passes(request: reqwest::RequestBuilder) {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
}

// ---- alg: none, in every spelling, and algs that are not strings ----------------------------

/// A header that cannot be read into a JOSE header: refused before any key is looked at.
async fn assert_header_malformed(raw_header: &str) {
    let app = app().await;
    let token = signed_with_raw_header(&app, raw_header);
    app.refused_starting(&token, MALFORMED_HEADER).await;
    assert_eq!(app.issuer.jwks_fetches(), 0, "refused before any key");
}

/// `alg` spelled some way with an empty signature, as `none` tokens are sent.
async fn assert_unsigned_refused(alg: Value) {
    let app = app().await;
    let header = json!({ "alg": alg, "kid": "rs256" }).to_string();
    let token = with_part(&signed_with_raw_header(&app, &header), 2, "");
    app.refused_starting(&token, MALFORMED_HEADER).await;
}

#[tokio::test]
async fn alg_none_capitalised_is_refused() {
    assert_unsigned_refused(json!("None")).await;
}

#[tokio::test]
async fn alg_none_in_capitals_is_refused() {
    assert_unsigned_refused(json!("NONE")).await;
}

#[tokio::test]
async fn alg_none_in_mixed_case_is_refused() {
    assert_unsigned_refused(json!("nOnE")).await;
}

#[tokio::test]
async fn an_empty_alg_is_refused() {
    assert_unsigned_refused(json!("")).await;
}

#[tokio::test]
async fn alg_none_keeping_a_valid_signature_is_refused() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    let none = with_part(
        &token,
        0,
        &B64.encode(r#"{"alg":"none","kid":"rs256","typ":"at+jwt"}"#),
    );
    app.refused_starting(&none, MALFORMED_HEADER).await;
}

#[tokio::test]
async fn alg_as_a_number_is_refused() {
    assert_header_malformed(r#"{"alg":256,"kid":"fixture"}"#).await;
}

#[tokio::test]
async fn alg_as_an_array_is_refused() {
    assert_header_malformed(r#"{"alg":["RS256"],"kid":"fixture"}"#).await;
}

#[tokio::test]
async fn alg_null_is_refused() {
    assert_header_malformed(r#"{"alg":null,"kid":"fixture"}"#).await;
}

#[tokio::test]
async fn a_header_without_alg_is_refused() {
    assert_header_malformed(r#"{"kid":"fixture"}"#).await;
}

#[tokio::test]
async fn alg_in_lower_case_is_refused() {
    // Algorithm names are case-sensitive (RFC 7515 §4.1.1).
    assert_header_malformed(r#"{"alg":"rs256","kid":"fixture"}"#).await;
}

#[tokio::test]
async fn alg_with_a_trailing_space_is_refused() {
    assert_header_malformed(r#"{"alg":"RS256 ","kid":"fixture"}"#).await;
}

// ---- HMAC keyed with the issuer's public key, in each encoding ------------------------------
// The algorithm allow-list (asymmetric algorithms only) refuses every one before any key is
// fetched, whatever the secret: the key confusion never reaches a key.

async fn assert_hmac_refused(alg: Algorithm, kid: &str, secret: impl FnOnce(&Value) -> Vec<u8>) {
    let app = app().await;
    let jwk = published_jwk(&app, kid).await;
    let fetches = app.issuer.jwks_fetches();
    let token = hmac_token(&app, alg, kid, &secret(&jwk));
    app.refused(&token, &format!("the algorithm {alg:?} is not allowed"))
        .await;
    assert_eq!(app.issuer.jwks_fetches(), fetches, "refused before any key");
}

#[tokio::test]
async fn hs256_keyed_with_the_raw_rsa_modulus_is_refused() {
    assert_hmac_refused(Algorithm::HS256, "rs256", |jwk| {
        B64.decode(jwk["n"].as_str().unwrap()).unwrap()
    })
    .await;
}

#[tokio::test]
async fn hs256_keyed_with_the_pkcs1_der_public_key_is_refused() {
    assert_hmac_refused(Algorithm::HS256, "rs256", rsa_public_key_der).await;
}

#[tokio::test]
async fn hs256_keyed_with_the_pem_public_key_is_refused() {
    assert_hmac_refused(Algorithm::HS256, "rs256", |jwk| {
        rsa_public_key_pem(jwk).into_bytes()
    })
    .await;
}

#[tokio::test]
async fn hs256_keyed_with_the_published_jwk_json_is_refused() {
    assert_hmac_refused(Algorithm::HS256, "rs256", |jwk| {
        jwk.to_string().into_bytes()
    })
    .await;
}

#[tokio::test]
async fn hs384_keyed_with_the_jwk_modulus_is_refused() {
    assert_hmac_refused(Algorithm::HS384, "rs256", |jwk| {
        jwk["n"].as_str().unwrap().as_bytes().to_vec()
    })
    .await;
}

#[tokio::test]
async fn hs384_keyed_with_the_pem_public_key_is_refused() {
    assert_hmac_refused(Algorithm::HS384, "ps256", |jwk| {
        rsa_public_key_pem(jwk).into_bytes()
    })
    .await;
}

#[tokio::test]
async fn hs512_keyed_with_the_der_public_key_is_refused() {
    assert_hmac_refused(Algorithm::HS512, "rs256", rsa_public_key_der).await;
}

#[tokio::test]
async fn hs256_keyed_with_the_ec_public_point_is_refused() {
    assert_hmac_refused(Algorithm::HS256, "es256", |jwk| {
        let mut point = vec![0x04];
        point.extend(B64.decode(jwk["x"].as_str().unwrap()).unwrap());
        point.extend(B64.decode(jwk["y"].as_str().unwrap()).unwrap());
        point
    })
    .await;
}

#[tokio::test]
async fn an_embedded_symmetric_jwk_cannot_bring_hmac_back() {
    let app = app().await;
    let secret = b"attacker secret";
    let raw_header = json!({
        "alg": "HS256", "kid": "attacker",
        "jwk": { "kty": "oct", "kid": "attacker", "k": B64.encode(secret) },
    });
    let message = format!(
        "{}.{}",
        B64.encode(raw_header.to_string()),
        B64.encode(claims(&app).to_string())
    );
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(secret),
        Algorithm::HS256,
    )
    .unwrap();
    app.refused(
        &format!("{message}.{signature}"),
        "the algorithm HS256 is not allowed",
    )
    .await;
}

// ---- psychic and misshapen ECDSA / EdDSA signatures -----------------------------------------

/// A token from the issuer's `kid` key with its signature replaced by `forge(signature)`.
async fn assert_signature_refused(kid: &str, forge: impl FnOnce(Vec<u8>) -> Vec<u8>) {
    let app = app().await;
    let token = app.token().key(kid).sign().unwrap();
    let forged = with_signature(&token, &forge(signature_of(&token)));
    app.refused(&forged, BAD_SIGNATURE).await;
    app.accepted(&token).await;
}

/// The order of P-256.
const P256_ORDER: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test]
async fn es256_psychic_signature_r_and_s_zero_is_refused() {
    // CVE-2022-21449: r = s = 0 "verified" any message in Java 15-18.
    assert_signature_refused("es256", |_| vec![0; 64]).await;
}

#[tokio::test]
async fn es384_psychic_signature_r_and_s_zero_is_refused() {
    assert_signature_refused("es384", |_| vec![0; 96]).await;
}

#[tokio::test]
async fn es256_signature_with_r_and_s_equal_to_the_curve_order_is_refused() {
    // n = 0 modulo n: the psychic signature in disguise.
    assert_signature_refused("es256", |_| [hex(P256_ORDER), hex(P256_ORDER)].concat()).await;
}

#[tokio::test]
async fn es256_der_encoded_psychic_signature_is_refused() {
    assert_signature_refused("es256", |_| ecdsa_der(&[0; 64])).await;
}

#[tokio::test]
async fn es256_signature_missing_its_last_byte_is_refused() {
    assert_signature_refused("es256", |mut signature| {
        signature.pop();
        signature
    })
    .await;
}

#[tokio::test]
async fn es256_signature_with_an_extra_byte_is_refused() {
    assert_signature_refused("es256", |mut signature| {
        signature.push(0);
        signature
    })
    .await;
}

#[tokio::test]
async fn es256_signature_padded_to_es384_length_is_refused() {
    assert_signature_refused("es256", |mut signature| {
        signature.resize(96, 0);
        signature
    })
    .await;
}

#[tokio::test]
async fn es256_signature_der_encoded_instead_of_raw_is_refused() {
    // JWS wants the fixed-size r || s (RFC 7518 §3.4), not the DER a generic ECDSA API emits.
    assert_signature_refused("es256", |signature| ecdsa_der(&signature)).await;
}

#[tokio::test]
async fn es384_signature_der_encoded_instead_of_raw_is_refused() {
    assert_signature_refused("es384", |signature| ecdsa_der(&signature)).await;
}

#[tokio::test]
async fn eddsa_all_zero_signature_is_refused() {
    assert_signature_refused("eddsa", |_| vec![0; 64]).await;
}

#[tokio::test]
async fn rs256_signature_of_zeros_is_refused() {
    assert_signature_refused("rs256", |signature| vec![0; signature.len()]).await;
}

// ---- malformed signature and segment encodings ----------------------------------------------

#[tokio::test]
async fn a_signature_in_the_standard_base64_alphabet_is_refused() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    let signature = token.rsplit('.').next().unwrap();
    let forged = with_part(&token, 2, &format!("+/{}", &signature[2..]));
    app.refused(&forged, BAD_SIGNATURE).await;
}

#[tokio::test]
async fn a_padded_signature_is_refused() {
    // An RS256 signature is 256 bytes: its padded base64url ends in `==`. JWS forbids padding.
    let app = app().await;
    let token = app.token().sign().unwrap();
    app.refused(&format!("{token}=="), BAD_SIGNATURE).await;
}

#[tokio::test]
async fn a_signature_with_non_zero_trailing_bits_is_refused() {
    // A second spelling of the same signature bytes: malleable tokens defeat replay caches.
    let app = app().await;
    let token = app.token().sign().unwrap();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = *token.as_bytes().last().unwrap();
    let index = alphabet.iter().position(|c| *c == last).unwrap();
    let twin = alphabet[index ^ 1] as char;
    let forged = format!("{}{twin}", &token[..token.len() - 1]);
    app.refused(&forged, BAD_SIGNATURE).await;
    app.accepted(&token).await;
}

#[tokio::test]
async fn a_signature_with_a_tilde_is_refused() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    app.refused(&format!("{token}~"), BAD_SIGNATURE).await;
}

#[tokio::test]
async fn a_padded_header_is_a_bad_request() {
    // `=` may only end a b64token (RFC 6750 §2.1): padding inside the token is refused at the
    // header, before any JWT decoding.
    let app = app().await;
    let token = app.token().sign().unwrap();
    let (header, rest) = token.split_once('.').unwrap();
    let request = post(&app).header(AUTHORIZATION, format!("Bearer {header}=.{rest}"));
    bad_request(&app, request, NOT_B64TOKEN).await;
}

#[tokio::test]
async fn a_padded_payload_is_a_bad_request() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let padded = with_part(&token, 1, &format!("{payload}="));
    let request = post(&app).header(AUTHORIZATION, format!("Bearer {padded}"));
    bad_request(&app, request, NOT_B64TOKEN).await;
}

#[tokio::test]
async fn a_trailing_empty_fourth_segment_is_refused() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    app.refused(&format!("{token}."), NOT_A_JWT).await;
}

#[tokio::test]
async fn a_repeated_signature_segment_is_refused() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    let signature = token.rsplit('.').next().unwrap();
    app.refused(&format!("{token}.{signature}"), NOT_A_JWT)
        .await;
}

#[tokio::test]
async fn an_empty_header_segment_is_refused() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    app.refused(
        &with_part(&token, 0, ""),
        "the token header is not a JSON object",
    )
    .await;
}

// ---- algorithm and key type mismatches ------------------------------------------------------

#[tokio::test]
async fn es256_with_an_rsa_key_id_is_refused() {
    assert_named_key_refuses("es256", Algorithm::ES256, "rs256").await;
}

#[tokio::test]
async fn es256_with_a_p384_key_id_is_refused() {
    assert_named_key_refuses("es256", Algorithm::ES256, "es384").await;
}

#[tokio::test]
async fn es256_with_an_eddsa_key_id_is_refused() {
    assert_named_key_refuses("es256", Algorithm::ES256, "eddsa").await;
}

#[tokio::test]
async fn a_key_pinned_to_rs256_refuses_rs384() {
    assert_named_key_refuses("rs256", Algorithm::RS384, "rs256").await;
}

#[tokio::test]
async fn a_key_pinned_to_ps256_refuses_ps384() {
    assert_named_key_refuses("ps256", Algorithm::PS384, "ps256").await;
}

#[tokio::test]
async fn a_key_pinned_to_ps256_refuses_rs256() {
    assert_named_key_refuses("rs256", Algorithm::RS256, "ps256").await;
}

#[tokio::test]
async fn a_pss_signature_under_an_rs256_header_is_refused() {
    // Same RSA key, other padding: the header's alg, not the signature's, decides.
    let app = app().await;
    let key = app.issuer.key("rs256").unwrap();
    let token = sign_as(
        &key,
        Algorithm::PS256,
        r#"{"alg":"RS256","kid":"rs256"}"#,
        &claims(&app).to_string(),
    );
    app.refused(&token, BAD_SIGNATURE).await;
}

#[tokio::test]
async fn a_pkcs1_signature_under_a_ps256_header_is_refused() {
    let app = app().await;
    let key = app.issuer.key("ps256").unwrap();
    let token = sign_as(
        &key,
        Algorithm::RS256,
        r#"{"alg":"PS256","kid":"ps256"}"#,
        &claims(&app).to_string(),
    );
    app.refused(&token, BAD_SIGNATURE).await;
}

// ---- keys offered in the header, under the issuer's own kid ---------------------------------

async fn attacker() -> TestIssuer {
    let attacker = TestIssuer::start().await.unwrap();
    attacker.add_key(
        TestKey::new(KeyMaterial::RsaNext, "rs256", Algorithm::RS256).unwrap(),
        true,
    );
    attacker
}

/// Signs with the attacker's key under the issuer's kid `rs256`, with `forged`'s key hints.
async fn assert_forged_key_hint_refused(app: &JwtApp, forged: Header) {
    app.issuer.add_key(
        TestKey::new(KeyMaterial::RsaNext, "attacker", Algorithm::RS256).unwrap(),
        false,
    );
    let token = app.token().key("attacker").header(forged).sign().unwrap();
    app.refused(&token, BAD_SIGNATURE).await;
}

#[tokio::test]
async fn an_embedded_jwk_under_the_issuers_kid_is_ignored() {
    let app = app().await;
    let key = TestKey::new(KeyMaterial::RsaNext, "rs256", Algorithm::RS256).unwrap();
    let mut forged = header(Algorithm::RS256, "rs256");
    forged.jwk = Some(key.jwk);
    assert_forged_key_hint_refused(&app, forged).await;
}

#[tokio::test]
async fn a_loopback_jku_under_the_issuers_kid_is_never_fetched() {
    let app = app().await;
    let attacker = attacker().await;
    let mut forged = header(Algorithm::RS256, "rs256");
    forged.jku = Some(attacker.jwks_uri());
    assert_forged_key_hint_refused(&app, forged).await;
    assert_eq!(attacker.jwks_fetches(), 0);
}

#[tokio::test]
async fn a_jku_without_kid_is_never_fetched() {
    let app = app().await;
    let attacker = attacker().await;
    let mut forged = Header::new(Algorithm::RS256);
    forged.jku = Some(attacker.jwks_uri());
    assert_forged_key_hint_refused(&app, forged).await;
    assert_eq!(attacker.jwks_fetches(), 0);
}

#[tokio::test]
async fn an_x5u_under_the_issuers_kid_is_never_fetched() {
    let app = app().await;
    let attacker = attacker().await;
    let mut forged = header(Algorithm::RS256, "rs256");
    forged.x5u = Some(attacker.jwks_uri());
    assert_forged_key_hint_refused(&app, forged).await;
    assert_eq!(attacker.jwks_fetches(), 0);
}

// ---- kid injection --------------------------------------------------------------------------

/// A token signed by the issuer's rs256 key but naming `kid`: no key is found under it.
async fn assert_kid_finds_no_key(kid: &str) {
    let app = app().await;
    let token = app
        .token()
        .header(header(Algorithm::RS256, kid))
        .sign()
        .unwrap();
    app.refused(&token, NO_KEY).await;
}

#[tokio::test]
async fn a_path_traversal_kid_is_refused() {
    assert_kid_finds_no_key("../../../../etc/passwd").await;
}

#[tokio::test]
async fn a_path_traversal_kid_ending_in_a_real_kid_is_refused() {
    assert_kid_finds_no_key("../rs256").await;
}

#[tokio::test]
async fn an_sql_injection_kid_is_refused() {
    assert_kid_finds_no_key("rs256' OR '1'='1").await;
}

#[tokio::test]
async fn a_ten_thousand_character_kid_is_refused() {
    assert_kid_finds_no_key(&"k".repeat(10_000)).await;
}

#[tokio::test]
async fn a_kid_with_a_nul_byte_is_refused() {
    assert_kid_finds_no_key("rs256\u{0}").await;
}

#[tokio::test]
async fn a_homoglyph_kid_is_refused() {
    // Cyrillic small dze, not a Latin s.
    assert_kid_finds_no_key("r\u{455}256").await;
}

#[tokio::test]
async fn a_kid_differing_in_case_is_refused() {
    assert_kid_finds_no_key("RS256").await;
}

#[tokio::test]
async fn an_empty_kid_is_not_read_as_no_kid() {
    // Without a kid every key accepting the alg is tried: "" must not open that door.
    assert_kid_finds_no_key("").await;
}

#[tokio::test]
async fn a_kid_as_a_number_is_refused() {
    assert_header_malformed(r#"{"alg":"RS256","kid":256}"#).await;
}

#[tokio::test]
async fn a_kid_as_an_array_is_refused() {
    assert_header_malformed(r#"{"alg":"RS256","kid":["fixture"]}"#).await;
}

// ---- crit -----------------------------------------------------------------------------------

#[tokio::test]
async fn an_empty_critical_list_is_refused() {
    // RFC 7515 §4.1.11: producers must not use the empty list.
    let app = app().await;
    let token = signed_with_raw_header(&app, r#"{"alg":"RS256","kid":"fixture","crit":[]}"#);
    app.refused(&token, CRITICAL).await;
}

#[tokio::test]
async fn an_unencoded_payload_b64_false_is_refused() {
    // RFC 7797: with b64 false the payload is signed as is; a verifier not supporting it must
    // refuse, not verify another message than the signer meant.
    let app = app().await;
    let token = signed_with_raw_header(
        &app,
        r#"{"alg":"RS256","kid":"fixture","b64":false,"crit":["b64"]}"#,
    );
    app.refused(&token, CRITICAL).await;
}

#[tokio::test]
async fn a_critical_string_instead_of_a_list_is_refused() {
    let app = app().await;
    let token = signed_with_raw_header(&app, r#"{"alg":"RS256","kid":"fixture","crit":"exp"}"#);
    app.refused(&token, CRITICAL).await;
}

// ---- nested and encrypted shapes ------------------------------------------------------------

#[tokio::test]
async fn a_nested_jwt_as_a_json_string_payload_is_refused() {
    let app = app().await;
    let inner = app.token().sign().unwrap();
    let token = signed_raw(
        &app,
        r#"{"alg":"RS256","kid":"fixture","cty":"JWT"}"#,
        &json!(inner).to_string(),
    );
    app.refused(&token, PAYLOAD_NOT_OBJECT).await;
}

#[tokio::test]
async fn a_nested_jwt_as_the_raw_payload_is_refused() {
    let app = app().await;
    let inner = app.token().sign().unwrap();
    let token = signed_raw(
        &app,
        r#"{"alg":"RS256","kid":"fixture","cty":"JWT"}"#,
        &inner,
    );
    app.refused(&token, PAYLOAD_NOT_OBJECT).await;
}

#[tokio::test]
async fn a_jwe_header_on_a_three_part_token_is_refused() {
    assert_header_malformed(r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"fixture"}"#).await;
}

#[tokio::test]
async fn a_direct_encryption_five_part_token_is_refused() {
    let app = app().await;
    let header = B64.encode(r#"{"alg":"dir","enc":"A128CBC-HS256"}"#);
    let token = format!(
        "{header}..AxY8DCtDaGlsbGljb3RoZQ.KDlTtXchhZTGufMYmOYGS4HffxPSUrfmqCHXaI9wOGY.U0m_YmjN04DJvceFICbCVQ"
    );
    app.refused(&token, NOT_A_JWT).await;
}

#[tokio::test]
async fn a_four_part_token_is_refused() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    let (header, rest) = token.split_once('.').unwrap();
    app.refused(&format!("{header}.{header}.{rest}"), NOT_A_JWT)
        .await;
}

// ---- repeated members -----------------------------------------------------------------------

#[tokio::test]
async fn a_repeated_alg_is_refused() {
    let app = app().await;
    let token = signed_with_raw_header(&app, r#"{"alg":"RS256","kid":"fixture","alg":"none"}"#);
    app.refused(&token, REPEATED_HEADER).await;
}

#[tokio::test]
async fn a_header_parameter_repeated_under_an_escaped_name_is_refused() {
    let app = app().await;
    let token = signed_with_raw_header(
        &app,
        r#"{"alg":"RS256","kid":"fixture","k\u0069d":"rs256"}"#,
    );
    app.refused(&token, REPEATED_HEADER).await;
}

#[tokio::test]
async fn a_claim_repeated_under_an_escaped_name_is_refused() {
    let app = app().await;
    let payload = format!(
        r#"{{"iss":"{}","aud":"https://other.example","exp":4000000000,"a\u0075d":"{}"}}"#,
        app.issuer.issuer(),
        app.resource
    );
    app.refused(&signed_with_raw_payload(&app, &payload), REPEATED_CLAIM)
        .await;
}

#[tokio::test]
async fn a_repeated_issuer_is_refused() {
    let app = app().await;
    let payload = format!(
        r#"{{"iss":"https://evil.example","aud":"{}","exp":4000000000,"iss":"{}"}}"#,
        app.resource,
        app.issuer.issuer()
    );
    app.refused(&signed_with_raw_payload(&app, &payload), REPEATED_CLAIM)
        .await;
}

#[tokio::test]
async fn a_repeated_expiry_is_refused() {
    let app = app().await;
    let payload = format!(
        r#"{{"iss":"{}","aud":"{}","exp":1,"exp":4000000000}}"#,
        app.issuer.issuer(),
        app.resource
    );
    app.refused(&signed_with_raw_payload(&app, &payload), REPEATED_CLAIM)
        .await;
}

#[tokio::test]
async fn a_repeated_scope_is_refused() {
    let app = app().await;
    let payload = format!(
        r#"{{"iss":"{}","aud":"{}","exp":4000000000,"scope":"read","scope":"admin"}}"#,
        app.issuer.issuer(),
        app.resource
    );
    app.refused(&signed_with_raw_payload(&app, &payload), REPEATED_CLAIM)
        .await;
}

#[tokio::test]
async fn a_member_repeated_inside_a_claim_is_refused() {
    // `cnf.jkt` twice: one reader would bind the token to one key, another to the other.
    let app = app().await;
    let payload = format!(
        r#"{{"iss":"{}","aud":"{}","exp":4000000000,"cnf":{{"jkt":"a","jkt":"b"}}}}"#,
        app.issuer.issuer(),
        app.resource
    );
    app.refused(&signed_with_raw_payload(&app, &payload), REPEATED_CLAIM)
        .await;
}

#[tokio::test]
async fn a_member_repeated_inside_a_header_parameter_is_refused() {
    let app = app().await;
    let token = signed_with_raw_header(
        &app,
        r#"{"alg":"RS256","kid":"fixture","x-ext":{"a":1,"\u0061":2}}"#,
    );
    app.refused(&token, REPEATED_HEADER).await;
}

// ---- claim type confusion -------------------------------------------------------------------

#[tokio::test]
async fn an_expiry_that_is_a_boolean_is_refused() {
    let app = app().await;
    app.refused_with_claim("exp", json!(true), "the exp claim is not a number")
        .await;
}

#[tokio::test]
async fn an_expiry_that_is_an_array_is_refused() {
    let app = app().await;
    app.refused_with_claim(
        "exp",
        json!([4_000_000_000u64]),
        "the exp claim is not a number",
    )
    .await;
}

#[tokio::test]
async fn a_null_expiry_is_not_read_as_absent() {
    let app = app().await;
    app.refused_with_claim("exp", Value::Null, "the exp claim is not a number")
        .await;
}

#[tokio::test]
async fn a_negative_expiry_is_refused() {
    let app = app().await;
    app.refused_with_claim("exp", json!(-1), "the exp claim is not a valid NumericDate")
        .await;
}

#[tokio::test]
async fn an_expiry_beyond_any_float_is_refused() {
    // 1e400 overflows an f64: it must not become infinity and "never expire".
    let app = app().await;
    let payload = format!(
        r#"{{"iss":"{}","aud":"{}","exp":1e400}}"#,
        app.issuer.issuer(),
        app.resource
    );
    app.refused(&signed_with_raw_payload(&app, &payload), PAYLOAD_NOT_OBJECT)
        .await;
}

#[tokio::test]
async fn a_negative_not_before_is_refused() {
    let app = app().await;
    app.refused_with_claim("nbf", json!(-1), "the nbf claim is not a valid NumericDate")
        .await;
}

#[tokio::test]
async fn a_negative_issued_at_is_refused() {
    let app = app().await;
    app.refused_with_claim(
        "iat",
        json!(-1.5),
        "the iat claim is not a valid NumericDate",
    )
    .await;
}

#[tokio::test]
async fn an_audience_that_is_an_object_is_refused() {
    let app = app().await;
    app.refused_with_claim(
        "aud",
        json!({ "aud": app.resource }),
        "the aud claim is neither a string nor an array",
    )
    .await;
}

#[tokio::test]
async fn a_null_audience_is_not_read_as_absent() {
    let app = app().await;
    app.refused_with_claim(
        "aud",
        Value::Null,
        "the aud claim is neither a string nor an array",
    )
    .await;
}

#[tokio::test]
async fn an_audience_array_with_null_beside_this_resource_is_refused() {
    let app = app().await;
    app.refused_with_claim(
        "aud",
        json!([app.resource, null]),
        "the aud claim has a member that is not a string",
    )
    .await;
}

#[tokio::test]
async fn an_empty_audience_array_is_refused() {
    let app = app().await;
    app.refused_with_claim("aud", json!([]), WRONG_AUDIENCE)
        .await;
}

#[tokio::test]
async fn a_null_issuer_is_refused() {
    let app = app().await;
    app.refused_with_claim("iss", Value::Null, "the iss claim is not a string")
        .await;
}

#[tokio::test]
async fn a_subject_that_is_an_object_is_refused() {
    let app = app().await;
    app.refused_with_claim(
        "sub",
        json!({ "id": "admin" }),
        "the sub claim is not a string",
    )
    .await;
}

#[tokio::test]
async fn a_null_subject_is_refused() {
    let app = app().await;
    app.refused_with_claim("sub", Value::Null, "the sub claim is not a string")
        .await;
}

#[tokio::test]
async fn an_authorized_party_that_is_not_a_string_is_refused() {
    let app = app().await;
    app.refused_with_claim("azp", json!(["web"]), "the azp claim is not a string")
        .await;
}

#[tokio::test]
async fn a_null_scope_is_refused() {
    let app = app().await;
    app.refused_with_claim("scope", Value::Null, "the scope claim has the wrong type")
        .await;
}

#[tokio::test]
async fn an_scp_object_is_refused() {
    let app = app().await;
    app.refused_with_claim(
        "scp",
        json!({ "admin": true }),
        "the scp claim has the wrong type",
    )
    .await;
}

#[tokio::test]
async fn a_scope_with_a_double_quote_is_refused() {
    // `"` is outside RFC 6749's scope-token: it could break out of a challenge's scope="...".
    let app = app().await;
    app.refused_with_claim(
        "scope",
        json!("read\"admin"),
        "the scope claim has a scope outside RFC 6749's character set",
    )
    .await;
}

#[tokio::test]
async fn a_scope_with_a_backslash_is_refused() {
    let app = app().await;
    app.refused_with_claim(
        "scope",
        json!("read\\ admin"),
        "the scope claim has a scope outside RFC 6749's character set",
    )
    .await;
}

// ---- issuer look-alikes ---------------------------------------------------------------------

async fn assert_issuer_untrusted(issuer: impl FnOnce(&str) -> String) {
    let app = app().await;
    let iss = issuer(app.issuer.issuer());
    app.refused_with_claim("iss", json!(iss), UNTRUSTED).await;
    assert_eq!(app.issuer.jwks_fetches(), 0, "no key fetched for it");
}

#[tokio::test]
async fn an_issuer_with_a_trailing_space_is_refused() {
    assert_issuer_untrusted(|iss| format!("{iss} ")).await;
}

#[tokio::test]
async fn an_issuer_with_an_upper_case_scheme_is_refused() {
    assert_issuer_untrusted(|iss| iss.replacen("http", "HTTP", 1)).await;
}

#[tokio::test]
async fn an_issuer_with_a_unicode_full_stop_look_alike_is_refused() {
    assert_issuer_untrusted(|iss| iss.replacen('.', "\u{ff0e}", 1)).await;
}

#[tokio::test]
async fn an_issuer_extending_the_trusted_one_is_refused() {
    // A prefix match would trust https://issuer.evil.example.
    assert_issuer_untrusted(|iss| format!("{iss}.evil.example")).await;
}

#[tokio::test]
async fn an_issuer_with_a_userinfo_is_refused() {
    assert_issuer_untrusted(|iss| iss.replacen("://", "://evil@", 1)).await;
}

#[tokio::test]
async fn an_empty_issuer_is_refused() {
    assert_issuer_untrusted(|_| String::new()).await;
}

// ---- audience look-alikes -------------------------------------------------------------------

async fn assert_audience_refused(audience: impl FnOnce(&str) -> String) {
    let app = app().await;
    let aud = audience(&app.resource);
    app.refused_with_claim("aud", json!(aud), WRONG_AUDIENCE)
        .await;
}

#[tokio::test]
async fn an_audience_with_a_query_is_refused() {
    assert_audience_refused(|resource| format!("{resource}?tenant=evil")).await;
}

#[tokio::test]
async fn an_audience_with_a_fragment_is_refused() {
    assert_audience_refused(|resource| format!("{resource}#x")).await;
}

#[tokio::test]
async fn an_audience_over_https_instead_of_http_is_refused() {
    assert_audience_refused(|resource| resource.replacen("http://", "https://", 1)).await;
}

#[tokio::test]
async fn an_audience_of_the_origin_only_is_refused() {
    assert_audience_refused(|resource| resource.trim_end_matches("/mcp").to_owned()).await;
}

#[tokio::test]
async fn an_audience_with_a_dot_segment_is_refused() {
    assert_audience_refused(|resource| resource.replacen("/mcp", "/x/../mcp", 1)).await;
}

#[tokio::test]
async fn an_audience_with_a_longer_path_is_refused() {
    assert_audience_refused(|resource| format!("{resource}-admin")).await;
}

#[tokio::test]
async fn an_audience_with_an_upper_case_path_is_refused() {
    assert_audience_refused(|resource| resource.replacen("/mcp", "/MCP", 1)).await;
}

// ---- where and how the token is sent --------------------------------------------------------

#[tokio::test]
async fn a_token_in_two_authorization_headers_is_a_bad_request() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    let request = post(&app)
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(AUTHORIZATION, format!("Bearer {token}"));
    bad_request(&app, request, "more than one Authorization header").await;
}

#[tokio::test]
async fn a_lower_case_bearer_scheme_is_accepted() {
    // Auth schemes are case-insensitive (RFC 9110 §11.1): refusing would be a bug, not safety.
    let app = app().await;
    let token = app.token().sign().unwrap();
    passes(post(&app).header(AUTHORIZATION, format!("bearer {token}"))).await;
}

#[tokio::test]
async fn two_spaces_after_bearer_are_accepted() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    passes(post(&app).header(AUTHORIZATION, format!("Bearer  {token}"))).await;
}

#[tokio::test]
async fn a_quoted_token_is_a_bad_request() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    let request = post(&app).header(AUTHORIZATION, format!("Bearer \"{token}\""));
    bad_request(&app, request, NOT_B64TOKEN).await;
}

#[tokio::test]
async fn a_tab_after_bearer_is_a_bad_request() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    let request = post(&app).header(AUTHORIZATION, format!("Bearer\t{token}"));
    bad_request(
        &app,
        request,
        "the Bearer scheme and the token must be separated by spaces",
    )
    .await;
}

#[tokio::test]
async fn two_comma_separated_tokens_are_a_bad_request() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    let request = post(&app).header(AUTHORIZATION, format!("Bearer {token}, Bearer {token}"));
    bad_request(&app, request, NOT_B64TOKEN).await;
}

#[tokio::test]
async fn a_bearer_scheme_without_token_is_a_bad_request() {
    let app = app().await;
    bad_request(
        &app,
        post(&app).header(AUTHORIZATION, "Bearer"),
        NOT_B64TOKEN,
    )
    .await;
}

#[tokio::test]
async fn a_non_ascii_authorization_header_is_a_bad_request() {
    let app = app().await;
    let value = HeaderValue::from_bytes(b"Bearer abc\xe9def").unwrap();
    bad_request(
        &app,
        post(&app).header(AUTHORIZATION, value),
        "the Authorization header is not printable ASCII",
    )
    .await;
}

#[tokio::test]
async fn a_token_in_the_header_and_the_query_is_a_bad_request() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    let request = reqwest::Client::new()
        .post(format!("{}?access_token={token}", app.resource))
        .header(AUTHORIZATION, format!("Bearer {token}"));
    bad_request(
        &app,
        request,
        "the token is sent in the query string too; send it in the Authorization header only",
    )
    .await;
}

#[tokio::test]
async fn a_token_glued_to_the_scheme_is_no_credentials() {
    // `Bearer<token>` is one word: another scheme, not a bearer token.
    let app = app().await;
    let token = app.token().sign().unwrap();
    no_credentials(
        &app,
        post(&app).header(AUTHORIZATION, format!("Bearer{token}")),
    )
    .await;
}

#[tokio::test]
async fn a_token_in_a_cookie_is_ignored() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    no_credentials(
        &app,
        post(&app).header(COOKIE, format!("access_token={token}")),
    )
    .await;
}

#[tokio::test]
async fn a_token_only_in_the_query_string_is_ignored() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    let request = reqwest::Client::new().post(format!("{}?access_token={token}", app.resource));
    no_credentials(&app, request).await;
}

#[tokio::test]
async fn a_token_in_a_form_body_is_ignored() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    let request = post(&app).form(&[("access_token", token)]);
    no_credentials(&app, request).await;
}

#[tokio::test]
async fn a_token_under_the_basic_scheme_is_ignored() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    no_credentials(
        &app,
        post(&app).header(AUTHORIZATION, format!("Basic {token}")),
    )
    .await;
}

#[tokio::test]
async fn a_token_under_the_dpop_scheme_is_ignored() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    no_credentials(
        &app,
        post(&app).header(AUTHORIZATION, format!("DPoP {token}")),
    )
    .await;
}

#[tokio::test]
async fn a_token_in_a_custom_header_is_ignored() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    no_credentials(&app, post(&app).header("x-access-token", token)).await;
}

// ---- header shape and type, and the verified-token cache ------------------------------------

#[tokio::test]
async fn a_header_that_is_a_json_array_is_refused() {
    let app = app().await;
    let token = signed_with_raw_header(&app, r#"[{"alg":"RS256","kid":"fixture"}]"#);
    app.refused(&token, "the token header is not a JSON object")
        .await;
}

#[tokio::test]
async fn a_null_type_is_not_read_as_at_jwt_when_required() {
    let app = JwtApp::start(|b| b.jwt(JwtOptions::default().require_access_token_type(true))).await;
    let token = signed_with_raw_header(&app, r#"{"alg":"RS256","kid":"fixture","typ":null}"#);
    app.refused(&token, "the token's typ is not at+jwt (RFC 9068)")
        .await;
}

#[tokio::test]
async fn a_type_with_a_trailing_space_is_refused() {
    let app = app().await;
    let token = signed_with_raw_header(&app, r#"{"alg":"RS256","kid":"fixture","typ":"at+jwt "}"#);
    app.refused(
        &token,
        "the token's typ is not that of an access token (JWT or at+jwt, RFC 8725 section 3.11)",
    )
    .await;
}

#[tokio::test]
async fn a_cached_token_is_refused_once_it_expires() {
    // Accepted once (and remembered), the same token must not outlive its exp via the cache.
    let app = JwtApp::start(|b| b.leeway(Duration::ZERO)).await;
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
    };
    // Two whole seconds ahead: at least one second of validity whatever the fraction of now,
    // so the first call cannot meet an expired token on a slow machine.
    let exp = now().as_secs() + 2;
    let token = app.token().claim("exp", json!(exp)).sign().unwrap();
    app.accepted(&token).await;
    let until_expired = Duration::from_secs(exp).saturating_sub(now());
    tokio::time::sleep(until_expired + Duration::from_millis(50)).await;
    app.refused(&token, "the token has expired").await;
}
