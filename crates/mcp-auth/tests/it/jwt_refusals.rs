//! JWT mode refuses what it must, each refusal asserted with its status, parsed challenge and
//! exact cause (error details are on in these tests so a token cannot be refused for the wrong
//! reason and still pass). Real keys, a real issuer on 127.0.0.1, real HTTP.
#![cfg(feature = "testing")]

use std::time::Duration;

use crate::common::forge::{
    BAD_SIGNATURE, KID_ALG_MISMATCH, NO_KEY, UNTRUSTED, WRONG_AUDIENCE, app,
    assert_named_key_refuses, header, signed_raw, signed_with_raw_header, with_part,
};
use crate::common::jwt::JwtApp;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_auth::testing::{KeyMaterial, TestIssuer, TestKey};
use mcp_auth::verify::JwtOptions;
use reqwest::StatusCode;
use serde_json::json;

fn encoded(json: &serde_json::Value) -> String {
    B64.encode(json.to_string())
}

// ---- shape and size -------------------------------------------------------------------------

#[tokio::test]
async fn an_oversized_token_is_refused_before_decoding() {
    let app = JwtApp::start(|b| b.jwt(JwtOptions::default().max_token_bytes(1024))).await;
    let token = app
        .token()
        .claim("padding", json!("x".repeat(2000)))
        .sign()
        .unwrap();
    app.refused(&token, "the token is larger than 1024 bytes")
        .await;
    assert_eq!(
        app.issuer.jwks_fetches(),
        0,
        "refused before any key was fetched"
    );
}

#[tokio::test]
async fn a_two_part_token_is_refused() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    let two_parts = token.rsplit_once('.').unwrap().0;
    app.refused(
        two_parts,
        "the token is not a signed JWT (three dot-separated parts)",
    )
    .await;
}

#[tokio::test]
async fn an_encrypted_five_part_token_is_refused() {
    let app = app().await;
    app.refused(
        "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d",
        "the token is not a signed JWT (three dot-separated parts)",
    )
    .await;
}

#[tokio::test]
async fn a_header_that_is_not_json_is_refused() {
    let app = app().await;
    let token = with_part(&app.token().sign().unwrap(), 0, &B64.encode("not json"));
    app.refused(&token, "the token header is not a JSON object")
        .await;
}

#[tokio::test]
async fn a_payload_that_is_not_json_is_refused() {
    let app = app().await;
    let token = with_part(&app.token().sign().unwrap(), 1, &B64.encode("[1, 2"));
    app.refused(&token, "the token payload is not a JSON object")
        .await;
}

#[tokio::test]
async fn an_empty_signature_is_refused() {
    let app = app().await;
    let token = with_part(&app.token().sign().unwrap(), 2, "");
    app.refused(&token, BAD_SIGNATURE).await;
}

// ---- algorithms -----------------------------------------------------------------------------

#[tokio::test]
async fn alg_none_is_refused() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    let none = with_part(
        &with_part(
            &token,
            0,
            &encoded(&json!({ "alg": "none", "kid": "rs256" })),
        ),
        2,
        "",
    );
    app.refused_starting(&none, "the token header is malformed")
        .await;
}

#[tokio::test]
async fn hmac_signed_with_the_public_key_is_refused() {
    // The classic confusion: HS256 keyed with the RSA public key the issuer publishes.
    let app = app().await;
    let published: serde_json::Value = reqwest::get(app.issuer.jwks_uri())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public_jwk = published["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == "rs256")
        .unwrap()
        .clone();
    let claims =
        json!({ "iss": app.issuer.issuer(), "aud": app.resource, "exp": 4_000_000_000u64 });
    let secret = EncodingKey::from_secret(public_jwk["n"].as_str().unwrap().as_bytes());
    let token = jsonwebtoken::encode(&header(Algorithm::HS256, "rs256"), &claims, &secret).unwrap();
    app.refused(&token, "the algorithm HS256 is not allowed")
        .await;
}

#[tokio::test]
async fn hs512_is_refused_too() {
    let app = app().await;
    let claims =
        json!({ "iss": app.issuer.issuer(), "aud": app.resource, "exp": 4_000_000_000u64 });
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(b"s"),
    )
    .unwrap();
    app.refused(&token, "the algorithm HS512 is not allowed")
        .await;
}

#[tokio::test]
async fn an_algorithm_outside_the_configured_list_is_refused() {
    let app = JwtApp::start(|b| b.jwt(JwtOptions::default().algorithms([Algorithm::RS256]))).await;
    let token = app.token().key("es256").sign().unwrap();
    app.refused(&token, "the algorithm ES256 is not allowed")
        .await;
}

#[tokio::test]
async fn an_rsa_algorithm_with_an_ec_key_id_is_refused() {
    let app = app().await;
    app.accepted(&app.token().sign().unwrap()).await; // warm the key set
    let token = app
        .token()
        .key("rs256")
        .header(header(Algorithm::RS256, "es256"))
        .sign()
        .unwrap();
    app.refused(&token, KID_ALG_MISMATCH).await;
}

#[tokio::test]
async fn es384_with_a_p256_key_id_is_refused() {
    assert_named_key_refuses("es384", Algorithm::ES384, "es256").await;
}

#[tokio::test]
async fn a_key_pinned_to_rs256_refuses_ps256() {
    assert_named_key_refuses("ps256", Algorithm::PS256, "rs256").await;
}

#[tokio::test]
async fn eddsa_with_an_rsa_key_id_is_refused() {
    assert_named_key_refuses("eddsa", Algorithm::EdDSA, "rs256").await;
}

// ---- signatures -----------------------------------------------------------------------------

#[tokio::test]
async fn a_tampered_payload_is_refused() {
    let app = app().await;
    let token = app.token().subject("alice").sign().unwrap();
    let forged_claims = json!({
        "iss": app.issuer.issuer(), "aud": app.resource, "sub": "admin", "exp": 4_000_000_000u64
    });
    app.refused(
        &with_part(&token, 1, &encoded(&forged_claims)),
        BAD_SIGNATURE,
    )
    .await;
}

#[tokio::test]
async fn a_tampered_signature_is_refused() {
    let app = app().await;
    let token = app.token().sign().unwrap();
    let signature = token.rsplit('.').next().unwrap();
    let mut bytes = B64.decode(signature).unwrap();
    bytes[10] ^= 0x01;
    app.refused(&with_part(&token, 2, &B64.encode(bytes)), BAD_SIGNATURE)
        .await;
}

#[tokio::test]
async fn a_signature_by_another_key_under_a_known_kid_is_refused() {
    let app = app().await;
    app.issuer.add_key(
        TestKey::new(KeyMaterial::RsaNext, "forger", Algorithm::RS256).unwrap(),
        false,
    );
    let token = app
        .token()
        .key("forger")
        .header(header(Algorithm::RS256, "rs256"))
        .sign()
        .unwrap();
    app.refused(&token, BAD_SIGNATURE).await;
}

#[tokio::test]
async fn a_key_that_is_not_published_is_refused() {
    let app = app().await;
    app.issuer.add_key(
        TestKey::new(KeyMaterial::RsaNext, "unpublished", Algorithm::RS256).unwrap(),
        false,
    );
    let token = app.token().key("unpublished").sign().unwrap();
    app.refused(&token, NO_KEY).await;
}

#[tokio::test]
async fn a_token_without_kid_signed_by_an_unknown_key_is_refused() {
    let app = app().await;
    app.issuer.add_key(
        TestKey::new(KeyMaterial::RsaNext, "unpublished", Algorithm::RS256).unwrap(),
        false,
    );
    let token = app
        .token()
        .key("unpublished")
        .header(Header::new(Algorithm::RS256))
        .sign()
        .unwrap();
    app.refused(&token, BAD_SIGNATURE).await;
}

/// The public half of a 1024-bit RSA key (too weak to sign with, so only its JWK exists here).
const WEAK_RSA_MODULUS: &str = "zv9T6StXRZR9VXJXFf_xN4__AjxlOszT8xrGbk5fkkXQiC1ktlJjHFmwRPW_rKV7K4pOURiFrxtawGqKQ_tV5tynjZN9HY2-OPE8n_gGgy2CuVdsCuG3dFJ-cohWnqEbGadV1vqmklzI1IQhoR4vlNxK63_oEzu5hMBUNetapC8";

#[tokio::test]
async fn a_weak_rsa_key_in_the_key_set_is_never_used() {
    let app = app().await;
    let strong = TestKey::new(KeyMaterial::Rsa, "strong", Algorithm::RS256).unwrap();
    app.issuer.add_key(strong.clone(), false);
    let weak = json!({ "kty": "RSA", "kid": "weak", "alg": "RS256", "use": "sig", "n": WEAK_RSA_MODULUS, "e": "AQAB" });
    app.issuer
        .set_jwks_body(Some(json!({ "keys": [strong.jwk, weak] }).to_string()));
    // Were the weak key used, this would be a bad signature; it is not even a candidate.
    let token = app
        .token()
        .key("strong")
        .header(header(Algorithm::RS256, "weak"))
        .sign()
        .unwrap();
    app.refused(&token, NO_KEY).await;
    app.accepted(&app.token().key("strong").sign().unwrap())
        .await;
}

#[tokio::test]
async fn a_key_published_for_encryption_is_never_used() {
    let app = app().await;
    let mut key = TestKey::new(KeyMaterial::RsaNext, "enc", Algorithm::RS256).unwrap();
    key.jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Encryption);
    app.issuer.add_key(key, true);
    let token = app.token().key("enc").sign().unwrap();
    app.refused(&token, NO_KEY).await;
}

#[tokio::test]
async fn a_key_whose_key_ops_lack_verify_is_never_used() {
    let app = app().await;
    let mut key = TestKey::new(KeyMaterial::RsaNext, "sign-only", Algorithm::RS256).unwrap();
    key.jwk.common.key_operations = Some(vec![jsonwebtoken::jwk::KeyOperations::Sign]);
    app.issuer.add_key(key, true);
    let token = app.token().key("sign-only").sign().unwrap();
    app.refused(&token, NO_KEY).await;
}

// ---- keys named in the token are never fetched or used --------------------------------------

async fn attacker() -> TestIssuer {
    let attacker = TestIssuer::start().await.unwrap();
    attacker.add_key(
        TestKey::new(KeyMaterial::RsaNext, "attacker", Algorithm::RS256).unwrap(),
        true,
    );
    attacker
}

#[tokio::test]
async fn an_embedded_jwk_header_is_ignored() {
    let app = app().await;
    let key = TestKey::new(KeyMaterial::RsaNext, "attacker", Algorithm::RS256).unwrap();
    let mut forged = header(Algorithm::RS256, "attacker");
    forged.jwk = Some(key.jwk.clone());
    app.issuer.add_key(key, false);
    let token = app.token().key("attacker").header(forged).sign().unwrap();
    app.refused(&token, NO_KEY).await;
}

#[tokio::test]
async fn a_jku_header_is_never_fetched() {
    let app = app().await;
    let attacker = attacker().await;
    let mut forged = header(Algorithm::RS256, "attacker");
    forged.jku = Some(attacker.jwks_uri());
    app.issuer.add_key(
        TestKey::new(KeyMaterial::RsaNext, "attacker", Algorithm::RS256).unwrap(),
        false,
    );
    let token = app.token().key("attacker").header(forged).sign().unwrap();
    app.refused(&token, NO_KEY).await;
    assert_eq!(attacker.jwks_fetches(), 0);
}

#[tokio::test]
async fn an_x5u_header_is_never_fetched() {
    let app = app().await;
    let attacker = attacker().await;
    let mut forged = header(Algorithm::RS256, "attacker");
    forged.x5u = Some(attacker.jwks_uri());
    app.issuer.add_key(
        TestKey::new(KeyMaterial::RsaNext, "attacker", Algorithm::RS256).unwrap(),
        false,
    );
    let token = app.token().key("attacker").header(forged).sign().unwrap();
    app.refused(&token, NO_KEY).await;
    assert_eq!(attacker.jwks_fetches(), 0);
}

/// A self-signed certificate for the attacker's key (`KeyMaterial::RsaNext`), DER in base64.
const ATTACKER_CERTIFICATE: &str = "MIIDCTCCAfGgAwIBAgIUAYBVCqpiKuowLH9hsL0ckxdzQgQwDQYJKoZIhvcNAQELBQAwEzERMA8GA1UEAwwIYXR0YWNrZXIwIBcNMjYxMTI2MDMxMjM2WhgPMjEyNjExMDIwMzEyMzZaMBMxETAPBgNVBAMMCGF0dGFja2VyMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAurUm8Ksuo9kxx6gj+peKMWAY6Qmqg8UJq/6cPyfSu0b6kgKFYEi5MUFMkvkv3+FvkEy6ihSHsd3BWkAeQ3+B4rZ36LGPpRtisDE5uxxLpx/YYS45aRyQ2PJxRFfW8dRxt+/O22u2SrGN6qfxjBcc69VXp/j3ql2MVA1vgAEIyMNPZ8PNy9ny8q4jkD4B5w4wdZFoQiy2B7BPsBRQz7A+1YXXeqgsUTfN3f+2l4mXDhMx7FhBkPPziTPd3kmGVBgfepCBJwL9PjJdg/VnC2/rXVR+qJWezugVuEl5TjB7Z1ZvYFgjaVAqU4HYlh/yrb/EcruZMxnJ4tRFUoZZNVooSQIDAQABo1MwUTAdBgNVHQ4EFgQUVX4JGNvXoIXFi20EfaRj72rS5PIwHwYDVR0jBBgwFoAUVX4JGNvXoIXFi20EfaRj72rS5PIwDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAAR/BtbM4UrjPoaO8iiKvI0yknVZpLTz9Eq82UOjLONgS96NUC+j03GGjw2d0OWMIoPMAf8GOarKO2KMGMJR354t064uxjketSSWR1YswNG8o2U3IBJZxY+VN1ADF6BgtAQpebSRFDzRA6cMD73iJYErnEKYbV8hErZy6cl3SHNxPB1SLR9ChiL3/41X3X+2ryeRR1AdXEKOIzMGOem/GfQw4Y587pirko/wPK+WWYy5K7yOLk3fdTXVDUfpkBKykMdhuI0jombC503zZuIPOPuXczIf+qr0gbZSawqlKg3KS7CBfAdlB18vXf9zqZpLE8isahbZwfD1BiTUPSN84yw==";

#[tokio::test]
async fn an_x5c_header_is_ignored() {
    // A verifier that trusted x5c would verify this signature with the attacker's certificate.
    let app = app().await;
    let mut forged = header(Algorithm::RS256, "rs256");
    forged.x5c = Some(vec![ATTACKER_CERTIFICATE.to_owned()]);
    app.issuer.add_key(
        TestKey::new(KeyMaterial::RsaNext, "attacker", Algorithm::RS256).unwrap(),
        false,
    );
    let token = app.token().key("attacker").header(forged).sign().unwrap();
    app.refused(&token, BAD_SIGNATURE).await;
}

#[tokio::test]
async fn an_unknown_critical_header_is_refused() {
    let app = app().await;
    let mut critical = header(Algorithm::RS256, "rs256");
    critical.crit = Some(vec!["exp".to_owned()]);
    let token = app.token().header(critical).sign().unwrap();
    app.refused(
        &token,
        "the token has critical header parameters this server does not understand",
    )
    .await;
}

#[tokio::test]
async fn a_non_access_token_type_is_refused_when_required() {
    let app = JwtApp::start(|b| b.jwt(JwtOptions::default().require_access_token_type(true))).await;
    let mut id_token = header(Algorithm::RS256, "rs256");
    id_token.typ = Some("JWT".to_owned());
    app.refused(
        &app.token().header(id_token).sign().unwrap(),
        "the token's typ is not at+jwt (RFC 9068)",
    )
    .await;
}

#[tokio::test]
async fn a_missing_type_is_refused_when_required() {
    let app = JwtApp::start(|b| b.jwt(JwtOptions::default().require_access_token_type(true))).await;
    let mut untyped = header(Algorithm::RS256, "rs256");
    untyped.typ = None;
    app.refused(
        &app.token().header(untyped).sign().unwrap(),
        "the token's typ is not at+jwt (RFC 9068)",
    )
    .await;
}

// ---- issuer ---------------------------------------------------------------------------------

#[tokio::test]
async fn an_id_token_is_refused_whatever_its_header_says() {
    // Cognito's ID tokens say `token_use: id`; Keycloak's say `typ: ID` in their claims (its
    // refresh and logout tokens `Refresh`, `Logout`); their headers look like an access token's.
    let app = JwtApp::start(|b| b).await;
    for (claim, value) in [
        ("token_use", json!("id")),
        ("token_use", json!("ID")),
        ("token_use", json!(["access"])),
        ("typ", json!("ID")),
        ("typ", json!("id")),
        ("typ", json!("Refresh")),
        ("typ", json!("Offline")),
        ("typ", json!("Logout")),
        ("typ", json!(7)),
    ] {
        app.refused_with_claim(
            claim,
            value,
            &format!("the token's {claim} claim says it is not an access token"),
        )
        .await;
    }
    for (claim, value) in [("token_use", json!("access")), ("typ", json!("Bearer"))] {
        app.accepted(&app.token().claim(claim, value).sign().unwrap())
            .await;
    }
}

#[tokio::test]
async fn an_untrusted_issuer_is_refused_without_contacting_it() {
    let app = app().await;
    let stranger = TestIssuer::start().await.unwrap();
    let token = stranger.token().audience(&app.resource).sign().unwrap();
    app.refused(&token, UNTRUSTED).await;
    assert_eq!(stranger.metadata_fetches() + stranger.jwks_fetches(), 0);
    assert_eq!(
        app.issuer.jwks_fetches(),
        0,
        "no network call for a token of another issuer"
    );
}

#[tokio::test]
async fn a_missing_issuer_is_refused() {
    let app = app().await;
    app.refused(
        &app.token().without("iss").sign().unwrap(),
        "the token has no iss claim",
    )
    .await;
}

#[tokio::test]
async fn an_issuer_that_is_not_a_string_is_refused() {
    let app = app().await;
    app.refused_with_claim(
        "iss",
        json!([app.issuer.issuer()]),
        "the iss claim is not a string",
    )
    .await;
}

#[tokio::test]
async fn an_issuer_with_an_extra_slash_is_refused() {
    let app = app().await;
    let token = app
        .token()
        .claim("iss", json!(format!("{}/", app.issuer.issuer())))
        .sign()
        .unwrap();
    app.refused(&token, UNTRUSTED).await;
}

#[tokio::test]
async fn a_token_naming_one_trusted_issuer_signed_by_another_is_refused() {
    let first = TestIssuer::start().await.unwrap();
    let second = TestIssuer::start().await.unwrap();
    // The second issuer publishes only a key the first does not have.
    second.add_key(
        TestKey::new(KeyMaterial::RsaNext, "second", Algorithm::RS256).unwrap(),
        true,
    );
    second.publish_only(&["second"]);
    let servers = vec![first.lazy_config(), second.lazy_config()];
    let second_issuer = second.issuer().to_owned();
    let app = JwtApp::start_with(first, servers, |b| b).await;
    // Signed with the first issuer's rs256 key but claiming to come from the second.
    app.refused_with_claim("iss", json!(second_issuer), NO_KEY)
        .await;
}

// ---- audience -------------------------------------------------------------------------------

#[tokio::test]
async fn a_token_for_another_resource_is_refused() {
    let app = app().await;
    let token = app
        .token()
        .audience("https://other.example.com/mcp")
        .sign()
        .unwrap();
    app.refused(&token, WRONG_AUDIENCE).await;
}

#[tokio::test]
async fn a_token_without_audience_is_refused() {
    let app = app().await;
    app.refused(
        &app.token().without("aud").sign().unwrap(),
        "the token has no aud claim",
    )
    .await;
}

#[tokio::test]
async fn an_audience_array_without_this_resource_is_refused() {
    let app = app().await;
    app.refused_with_claim(
        "aud",
        json!(["https://a.example", "https://b.example"]),
        WRONG_AUDIENCE,
    )
    .await;
}

#[tokio::test]
async fn an_audience_of_the_wrong_type_is_refused() {
    let app = app().await;
    let token = app.token().claim("aud", json!(42)).sign().unwrap();
    app.refused(&token, "the aud claim is neither a string nor an array")
        .await;
}

#[tokio::test]
async fn an_audience_differing_by_a_trailing_slash_is_refused() {
    let app = app().await;
    app.refused_with_claim("aud", json!(format!("{}/", app.resource)), WRONG_AUDIENCE)
        .await;
}

// ---- time -----------------------------------------------------------------------------------

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = app().await;
    app.refused(
        &app.token().expires_in(-120).sign().unwrap(),
        "the token has expired",
    )
    .await;
}

#[tokio::test]
async fn a_token_without_expiry_is_refused() {
    let app = app().await;
    app.refused(
        &app.token().without("exp").sign().unwrap(),
        "the token has no exp claim",
    )
    .await;
}

#[tokio::test]
async fn an_expiry_that_is_not_a_number_is_refused() {
    let app = app().await;
    app.refused_with_claim("exp", json!("4000000000"), "the exp claim is not a number")
        .await;
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused() {
    let app = app().await;
    let nbf = json!(jsonwebtoken::get_current_timestamp() + 300);
    app.refused_with_claim("nbf", nbf, "the token is not valid yet (nbf)")
        .await;
}

#[tokio::test]
async fn a_not_before_that_is_not_a_number_is_refused() {
    let app = app().await;
    app.refused_with_claim("nbf", json!("soon"), "the nbf claim is not a number")
        .await;
}

#[tokio::test]
async fn a_token_issued_in_the_future_is_refused() {
    let app = app().await;
    let iat = json!(jsonwebtoken::get_current_timestamp() + 300);
    app.refused_with_claim("iat", iat, "the token was issued in the future (iat)")
        .await;
}

#[tokio::test]
async fn an_issued_at_that_is_not_a_number_is_refused() {
    let app = app().await;
    app.refused_with_claim("iat", json!("yesterday"), "the iat claim is not a number")
        .await;
}

#[tokio::test]
async fn a_shorter_leeway_refuses_what_the_default_accepts() {
    // The seed's `leeway=10`: a token expired 30 s ago passes with 60 s, fails with 10 s.
    let lenient = app().await;
    lenient
        .accepted(&lenient.token().expires_in(-30).sign().unwrap())
        .await;
    let strict = JwtApp::start(|b| b.leeway(Duration::from_secs(10))).await;
    strict
        .refused(
            &strict.token().expires_in(-30).sign().unwrap(),
            "the token has expired",
        )
        .await;
}

// ---- claim types ----------------------------------------------------------------------------

#[tokio::test]
async fn a_subject_that_is_not_a_string_is_refused() {
    let app = app().await;
    app.refused_with_claim("sub", json!(7), "the sub claim is not a string")
        .await;
}

#[tokio::test]
async fn a_scope_that_is_not_a_string_is_refused() {
    let app = app().await;
    let token = app.token().claim("scope", json!(["read"])).sign().unwrap();
    app.refused(&token, "the scope claim has the wrong type")
        .await;
}

#[tokio::test]
async fn an_scp_array_with_a_number_is_refused() {
    let app = app().await;
    let token = app.token().claim("scp", json!(["read", 1])).sign().unwrap();
    app.refused(&token, "the scp claim has a member that is not a string")
        .await;
}

#[tokio::test]
async fn a_client_id_that_is_not_a_string_is_refused() {
    let app = app().await;
    let token = app
        .token()
        .claim("client_id", json!({ "id": 1 }))
        .sign()
        .unwrap();
    app.refused(&token, "the client_id claim is not a string")
        .await;
}

#[tokio::test]
async fn a_repeated_claim_is_refused() {
    // Correctly signed, but `aud` appears twice: the first names another resource.
    let app = app().await;
    let payload = format!(
        r#"{{"iss":"{}","aud":"https://other.example","exp":4000000000,"aud":"{}"}}"#,
        app.issuer.issuer(),
        app.resource
    );
    let token = signed_raw(&app, r#"{"alg":"RS256","kid":"fixture"}"#, &payload);
    app.refused(&token, "the token repeats a claim").await;
}

// ---- scopes ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_valid_token_without_the_required_scope_gets_403() {
    let app = JwtApp::start(|b| b.required_scopes(["read", "write"])).await;
    let token = app.token().scopes(["read"]).sign().unwrap();
    let challenge = app.challenge(&token, StatusCode::FORBIDDEN).await;
    assert_eq!(challenge.param("error"), Some("insufficient_scope"));
    assert_eq!(challenge.param("scope"), Some("read write"));
    assert_eq!(
        challenge.param("error_description"),
        Some("the access token lacks the scopes: write")
    );
}

// ---- token types (RFC 8725 §3.11) -----------------------------------------------------------

#[tokio::test]
async fn jwts_of_other_types_from_the_same_issuer_are_not_access_tokens() {
    let app = app().await;
    for typ in [
        "dpop+jwt",
        "logout+jwt",
        "secevent+jwt",
        "id_token+jwt",
        "JOSE",
        "",
    ] {
        let mut other = header(Algorithm::RS256, "rs256");
        other.typ = Some(typ.to_owned());
        app.refused(
            &app.token().header(other).sign().unwrap(),
            "the token's typ is not that of an access token (JWT or at+jwt, RFC 8725 section 3.11)",
        )
        .await;
    }
}

#[tokio::test]
async fn access_token_types_pass_in_any_case_and_an_absent_type_too() {
    let app = app().await;
    for typ in [
        Some("JWT"),
        Some("jwt"),
        Some("at+jwt"),
        Some("AT+JWT"),
        Some("application/at+jwt"),
        None,
    ] {
        let mut access = header(Algorithm::RS256, "rs256");
        access.typ = typ.map(str::to_owned);
        app.accepted(&app.token().header(access).sign().unwrap())
            .await;
    }
}

// ---- JOSE header members --------------------------------------------------------------------

#[tokio::test]
async fn a_null_critical_header_is_refused_too() {
    // RFC 7515 §4.1.11 makes `crit` an array; `null` must not read as "absent".
    let app = app().await;
    let token = signed_with_raw_header(&app, r#"{"alg":"RS256","kid":"fixture","crit":null}"#);
    app.refused(
        &token,
        "the token has critical header parameters this server does not understand",
    )
    .await;
    let control = signed_with_raw_header(&app, r#"{"alg":"RS256","kid":"fixture"}"#);
    app.accepted(&control).await;
}

#[tokio::test]
async fn a_repeated_header_parameter_is_refused() {
    // The first `alg` is allowed, the second would be read last by a lenient parser.
    let app = app().await;
    let token = signed_with_raw_header(&app, r#"{"alg":"RS256","kid":"fixture","kid":"rs256"}"#);
    app.refused(&token, "the token header repeats a parameter")
        .await;
}

// ---- scopes smuggled past the split (RFC 6749 §3.3) -----------------------------------------

#[tokio::test]
async fn a_scope_string_split_on_unicode_whitespace_grants_nothing() {
    let app = JwtApp::start(|b| b.required_scopes(["admin"])).await;
    let outside = "the scope claim has a scope outside RFC 6749's character set";
    for smuggled in [
        "read\u{a0}admin",
        "read\u{2003}admin",
        "read\tadmin",
        "read\nadmin",
    ] {
        app.refused_with_claim("scope", json!(smuggled), outside)
            .await;
    }
    app.refused_with_claim(
        "scp",
        json!(["read\u{a0}admin"]),
        "the scp claim has a scope outside RFC 6749's character set",
    )
    .await;
    app.refused_with_claim(
        "scp",
        json!("read\u{85}admin"),
        "the scp claim has a scope outside RFC 6749's character set",
    )
    .await;
    // Spaces alone separate scopes, however many.
    let spaced = app
        .token()
        .claim("scope", json!("  read   admin "))
        .sign()
        .unwrap();
    assert_eq!(
        app.accepted(&spaced).await["scopes"],
        json!(["read", "admin"])
    );
}

// ---- key sets -------------------------------------------------------------------------------

#[tokio::test]
async fn a_published_private_key_is_left_out_of_the_key_set() {
    // A key set that publishes a private key lets anyone sign: such a key proves nothing.
    let app = app().await;
    let leaked = TestKey::new(KeyMaterial::P256, "leaked", Algorithm::ES256).unwrap();
    app.issuer.add_key(leaked.clone(), false);
    let mut private_jwk = serde_json::to_value(&leaked.jwk).unwrap();
    // The fixture key's private scalar, as a careless issuer would publish it.
    private_jwk["d"] = json!("iMPYu3qHGPuqzcrs1b1b9EbdJTdDhN3o2T1G1KYmnmY");
    let rsa_secret = json!({ "kty": "oct", "kid": "secret", "k": "c2VjcmV0", "alg": "HS256" });
    let good = TestKey::new(KeyMaterial::Rsa, "good", Algorithm::RS256).unwrap();
    app.issuer.add_key(good.clone(), false);
    let public = vec![
        private_jwk,
        rsa_secret,
        serde_json::to_value(&good.jwk).unwrap(),
    ];
    app.issuer
        .set_jwks_body(Some(json!({ "keys": public }).to_string()));
    app.accepted(&app.token().key("good").sign().unwrap()).await;
    let token = app.token().key("leaked").sign().unwrap();
    app.refused(&token, NO_KEY).await;
}

// ---- a key replaced under the same kid ------------------------------------------------------

#[tokio::test]
async fn a_key_replaced_under_the_same_kid_is_picked_up_by_one_refetch() {
    let app = app().await;
    let fixture = TestKey::new(KeyMaterial::Rsa, "same", Algorithm::RS256).unwrap();
    app.issuer.add_key(fixture, true);
    app.accepted(&app.token().key("same").sign().unwrap()).await;
    assert_eq!(app.issuer.jwks_fetches(), 1);
    // The issuer rotates to a new key under the same kid.
    let replacement = TestKey::new(KeyMaterial::RsaNext, "same", Algorithm::RS256).unwrap();
    app.issuer.add_key(replacement, true);
    app.accepted(&app.token().key("same").sign().unwrap()).await;
    assert_eq!(
        app.issuer.jwks_fetches(),
        2,
        "one refetch after the signature failed"
    );
}

#[tokio::test]
async fn forged_signatures_under_a_known_kid_refetch_at_most_once_per_cooldown() {
    let app = app().await;
    app.accepted(&app.token().sign().unwrap()).await;
    app.issuer.add_key(
        TestKey::new(KeyMaterial::RsaNext, "forger", Algorithm::RS256).unwrap(),
        false,
    );
    let forged = app
        .token()
        .key("forger")
        .header(header(Algorithm::RS256, "rs256"))
        .sign()
        .unwrap();
    for _ in 0..50 {
        app.refused(&forged, BAD_SIGNATURE).await;
    }
    assert_eq!(
        app.issuer.jwks_fetches(),
        2,
        "warm-up, then one refetch for the whole 10 s cooldown"
    );
}
