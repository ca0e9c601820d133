//! The test issuer's keys: a started issuer publishes keys generated in its process, never the
//! fixture keys whose private halves ship with the crate, so a token signed with those is
//! refused by whoever trusts it; generated keys of every algorithm sign tokens the layer accepts.
#![cfg(feature = "testing")]

use crate::common::jwt::JwtApp;
use jsonwebtoken::jwk::AlgorithmParameters;
use jsonwebtoken::{Algorithm, Header};
use mcp_auth::testing::{TestIssuer, TestKey};
use serde_json::{Value, json};

const KIDS: [&str; 5] = ["rs256", "ps256", "es256", "es384", "eddsa"];

/// The public value that tells two keys apart: `n` for RSA, `x` for EC and OKP.
fn public_value(jwk: &Value) -> String {
    let field = if jwk["kty"] == "RSA" { "n" } else { "x" };
    jwk[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {jwk}"))
        .to_owned()
}

fn fixture_value(kid: &str) -> String {
    let fixture = TestKey::fixtures()
        .unwrap()
        .into_iter()
        .find(|key| key.kid == kid)
        .unwrap();
    public_value(&json!(fixture.jwk))
}

/// The key set `issuer` serves, fetched as a client would.
async fn published(issuer: &TestIssuer) -> Vec<Value> {
    let set: Value = reqwest::get(issuer.jwks_uri())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    set["keys"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_started_issuer_publishes_fresh_keys_not_the_fixtures() {
    let issuer = TestIssuer::start().await.unwrap();
    let keys = published(&issuer).await;
    let kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, KIDS);
    for key in &keys {
        let kid = key["kid"].as_str().unwrap();
        assert_ne!(
            public_value(key),
            fixture_value(kid),
            "{kid} is the fixture key"
        );
        assert!(key.get("d").is_none(), "{kid} publishes its private half");
    }
    // rs256 and ps256 are one RSA pair, as with the fixtures.
    assert_eq!(public_value(&keys[0]), public_value(&keys[1]));
    // Every issuer of the process shares the one set generated for it, at any path.
    let other = TestIssuer::start_at_path("/tenant").await.unwrap();
    assert_eq!(published(&other).await, keys);
}

#[tokio::test]
async fn an_issuer_started_with_fixture_keys_publishes_them() {
    let issuer = TestIssuer::start_with_fixture_keys().await.unwrap();
    let keys = published(&issuer).await;
    assert_eq!(keys.len(), KIDS.len());
    for key in &keys {
        let kid = key["kid"].as_str().unwrap();
        assert_eq!(public_value(key), fixture_value(kid));
    }
}

#[tokio::test]
async fn a_token_signed_with_a_fixture_key_is_refused_by_whoever_trusts_a_started_issuer() {
    let issuer = TestIssuer::start().await.unwrap();
    let config = issuer.lazy_config();
    let app = JwtApp::start_with(issuer, vec![config], |bearer| bearer).await;
    let claims = json!({
        "iss": app.issuer.issuer(),
        "aud": app.resource,
        "sub": "mallory",
        "scope": "admin",
        "exp": 4_000_000_000u64,
    });
    for fixture in TestKey::fixtures().unwrap() {
        // The issuer's own key under this kid is accepted: the kid, claims and layer are right.
        let genuine = app.token().key(&fixture.kid).sign().unwrap();
        app.accepted(&genuine).await;

        let mut header = Header::new(fixture.alg);
        header.kid = Some(fixture.kid.clone());
        header.typ = Some("at+jwt".to_owned());
        let forged = jsonwebtoken::encode(&header, &claims, &fixture.encoding_key).unwrap();
        app.refused(&forged, "the token's signature does not verify")
            .await;
    }
}

#[tokio::test]
async fn a_generated_key_of_each_algorithm_signs_tokens_the_layer_accepts() {
    let app = JwtApp::start(|bearer| bearer).await;
    let algorithms = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];
    for alg in algorithms {
        let kid = format!("generated-{alg:?}");
        let key = TestKey::generate(alg, &kid).unwrap();
        assert_eq!(key.jwk.common.key_id.as_deref(), Some(kid.as_str()));
        app.issuer.add_key(key, true);
    }
    for alg in algorithms {
        let kid = format!("generated-{alg:?}");
        let token = app.token().key(&kid).subject(&kid).sign().unwrap();
        assert_eq!(jsonwebtoken::decode_header(&token).unwrap().alg, alg);
        assert_eq!(app.accepted(&token).await["subject"], kid);
    }
}

#[test]
fn generated_keys_have_the_curve_of_their_algorithm_and_differ_each_time() {
    let cases = [
        (Algorithm::RS256, "RSA", None),
        (Algorithm::PS512, "RSA", None),
        (Algorithm::ES256, "EC", Some("P-256")),
        (Algorithm::ES384, "EC", Some("P-384")),
        (Algorithm::EdDSA, "OKP", Some("Ed25519")),
    ];
    for (alg, kty, crv) in cases {
        let first = json!(TestKey::generate(alg, "a").unwrap().jwk);
        let second = json!(TestKey::generate(alg, "a").unwrap().jwk);
        assert_eq!(first["kty"], kty, "{alg:?}");
        assert_eq!(first["crv"].as_str(), crv, "{alg:?}");
        assert_eq!(first["use"], "sig");
        assert_ne!(public_value(&first), public_value(&second), "{alg:?}");
        if kty == "RSA" {
            let n = TestKey::generate(alg, "a").unwrap().jwk.algorithm;
            let AlgorithmParameters::RSA(rsa) = n else {
                panic!("{alg:?} made a {n:?}")
            };
            // 2048 bits: 256 bytes, 342 base64url characters.
            assert_eq!(rsa.n.len(), 342, "{alg:?}");
        }
    }
}

#[test]
fn algorithms_without_a_key_pair_give_an_error() {
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let error = TestKey::generate(alg, "secret").unwrap_err();
        assert!(
            error.to_string().contains("UnsupportedAlgorithm"),
            "{alg:?}: {error}"
        );
    }
}
