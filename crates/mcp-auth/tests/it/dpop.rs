//! DPoP (RFC 9449) on the resource server, over real HTTP: a good proof passes, and every
//! check of §4.3 refuses what it must, with the exact status and challenge. Tokens from a real
//! test issuer on 127.0.0.1, proofs from `testing::DpopKey`.
#![cfg(feature = "testing")]

use std::time::Duration;

use axum::Json;
use axum::routing::any;
use mcp_auth::dpop::{DpopOptions, MemoryReplayStore};
use mcp_auth::testing::{DpopKey, KeyMaterial, TestClient, TestIssuer};
use mcp_auth::verify::{IntrospectionOptions, JwtOptions};
use mcp_auth::{Auth, McpAuth, ProtectedResource};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// A resource in JWT mode taking DPoP tokens as `options` says, echoing the caller's subject.
struct App {
    issuer: TestIssuer,
    resource: String,
    client: reqwest::Client,
}

impl App {
    async fn start(options: DpopOptions) -> Self {
        Self::start_with(options, |bearer| bearer).await
    }

    /// [`start`](Self::start), the layer's settings passed through `configure`.
    async fn start_with(
        options: DpopOptions,
        configure: impl FnOnce(
            mcp_auth::bearer::BearerAuthBuilder,
        ) -> mcp_auth::bearer::BearerAuthBuilder,
    ) -> Self {
        let issuer = TestIssuer::start().await.unwrap();
        issuer.register_client(TestClient {
            id: "mcp-server".to_owned(),
            secret: "introspection-secret".to_owned(),
            scopes: Vec::new(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let resource = format!("http://{}/mcp", listener.local_addr().unwrap());
        let auth = McpAuth::builder()
            .protected_resource(
                ProtectedResource::new(&resource)
                    .authorization_server(issuer.lazy_config())
                    .dpop(options),
            )
            .build()
            .unwrap();
        let layer = configure(auth.bearer().show_error_details(true))
            .build()
            .unwrap();
        let app = layer
            .mount(any(|Auth(info): Auth| async move {
                Json(json!({ "sub": info.subject }))
            }))
            .merge(auth.metadata_router());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            issuer,
            resource,
            client: reqwest::Client::new(),
        }
    }

    /// A token for this resource bound to `key`.
    fn bound(&self, key: &DpopKey) -> String {
        self.issuer
            .token()
            .audience(&self.resource)
            .subject("alice")
            .dpop_bound(key)
            .sign()
            .unwrap()
    }

    /// POSTs with `Authorization: SCHEME token` and these `DPoP` headers.
    async fn post(&self, scheme: &str, token: &str, proofs: &[&str]) -> reqwest::Response {
        let mut request = self
            .client
            .post(&self.resource)
            .header("authorization", format!("{scheme} {token}"));
        for proof in proofs {
            request = request.header("dpop", *proof);
        }
        request.send().await.unwrap()
    }
}

/// The `WWW-Authenticate` challenges of a response, in order.
fn challenges(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

/// Asserts a 401 whose only challenge is `DPoP algs=..., error="<error>"` saying `detail`.
async fn refused_with(response: reqwest::Response, error: &str, detail: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenges = challenges(&response);
    assert_eq!(challenges.len(), 1, "{challenges:?}");
    let challenge = &challenges[0];
    assert!(
        challenge.starts_with(r#"DPoP algs="ES256 EdDSA PS256 RS256", "#),
        "{challenge}"
    );
    assert!(
        challenge.contains(&format!(r#"error="{error}""#)),
        "{challenge}"
    );
    assert!(challenge.contains(detail), "{detail:?} not in {challenge}");
    assert!(challenge.contains("resource_metadata="), "{challenge}");
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Good proof claims for `app` and `token`, to alter one at a time.
fn claims(app: &App, token: &str) -> Value {
    use base64::Engine;
    let ath = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        token.as_bytes(),
    ));
    json!({
        "jti": format!("jti-{}", rand_suffix()),
        "htm": "POST",
        "htu": app.resource,
        "iat": now(),
        "ath": ath,
    })
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[tokio::test]
async fn a_good_proof_passes_once_and_its_replay_is_refused() {
    let app = App::start(DpopOptions::required()).await;
    let key = DpopKey::generate().unwrap();
    let token = app.bound(&key);
    let proof = key.proof("POST", &app.resource, &token).unwrap();
    let response = app.post("DPoP", &token, &[&proof]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["sub"], "alice");

    // The same proof again, and the token alone with no fresh proof.
    refused_with(
        app.post("DPoP", &token, &[&proof]).await,
        "invalid_dpop_proof",
        "the DPoP proof was used before",
    )
    .await;
    refused_with(
        app.post("DPoP", &token, &[]).await,
        "invalid_dpop_proof",
        "the request has no DPoP proof",
    )
    .await;
    // A fresh proof passes again.
    let fresh = key.proof("POST", &app.resource, &token).unwrap();
    assert_eq!(
        app.post("DPoP", &token, &[&fresh]).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn each_check_of_the_proof_refuses_what_it_must() {
    let app = App::start(DpopOptions::required()).await;
    let key = DpopKey::generate().unwrap();
    let token = app.bound(&key);
    let good = key.header();
    let with = |name: &str, value: Value| {
        let mut claims = claims(&app, &token);
        claims[name] = value;
        key.proof_with(&good, &claims).unwrap()
    };
    let header_with = |name: &str, value: Value| {
        let mut header = good.clone();
        header[name] = value;
        key.proof_with(&header, &claims(&app, &token)).unwrap()
    };
    let mut private_jwk = key.public_jwk();
    private_jwk["d"] = json!("c2VjcmV0");
    let signed_by_other = {
        // Signed by one RSA key, naming another's public key.
        let named = DpopKey::with(KeyMaterial::Rsa, jsonwebtoken::Algorithm::PS256).unwrap();
        let signer = DpopKey::with(KeyMaterial::RsaNext, jsonwebtoken::Algorithm::PS256).unwrap();
        let mut header = signer.header();
        header["jwk"] = named.public_jwk();
        signer.proof_with(&header, &claims(&app, &token)).unwrap()
    };
    let two = [
        key.proof("POST", &app.resource, &token).unwrap(),
        key.proof("POST", &app.resource, &token).unwrap(),
    ];
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        ("two proofs", two.to_vec(), "more than one DPoP header"),
        (
            "another method",
            vec![with("htm", json!("GET"))],
            "htm is not the request's method",
        ),
        (
            "another URL",
            vec![with("htu", json!(format!("{}/other", app.resource)))],
            "htu is not the request's URL",
        ),
        (
            "a stale iat",
            vec![with("iat", json!(now() - 600))],
            "iat is too far from now",
        ),
        (
            "a future iat",
            vec![with("iat", json!(now() + 600))],
            "iat is too far from now",
        ),
        (
            "a wrong ath",
            vec![with("ath", json!("AAAA"))],
            "ath is not the hash",
        ),
        ("no jti", vec![with("jti", json!(""))], "has no usable jti"),
        (
            "another typ",
            vec![header_with("typ", json!("JWT"))],
            "typ is not dpop+jwt",
        ),
        (
            "alg none",
            vec![header_with("alg", json!("none"))],
            "alg is not one this server accepts",
        ),
        (
            "HMAC",
            vec![header_with("alg", json!("HS256"))],
            "alg is not one this server accepts",
        ),
        (
            "a private key",
            vec![header_with("jwk", private_jwk)],
            "carries private key material",
        ),
        (
            "signed by another key",
            vec![signed_by_other],
            "signature does not verify",
        ),
        (
            "not a JWT",
            vec!["not-a-proof".to_owned()],
            "not a signed JWT",
        ),
    ];
    // Members written twice, read strictly as a token's are: one reader would check one and
    // another honour the other.
    let good_claims = claims(&app, &token).to_string();
    let claims_and = |extra: &str| format!("{},{extra}}}", &good_claims[..good_claims.len() - 1]);
    let good_header = good.to_string();
    let header_and = |extra: &str| format!("{},{extra}}}", &good_header[..good_header.len() - 1]);
    let jwk_repeating = {
        let jwk = key.public_jwk().to_string();
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"crv":"P-384",{}}}"#,
            &jwk[1..]
        )
    };
    let raw = |header: &str, claims: &str| key.proof_with_raw(header, claims).unwrap();
    let other_url = format!(r#""htu":"{}/other""#, app.resource);
    let cases = cases.into_iter().chain([
        (
            "a repeated htu",
            vec![raw(&good_header, &claims_and(&other_url))],
            "the DPoP proof repeats a claim",
        ),
        (
            "a repeated claim under an escaped name",
            vec![raw(&good_header, &claims_and(r#""\u0061th":"AAAA""#))],
            "the DPoP proof repeats a claim",
        ),
        (
            "a repeated typ",
            vec![raw(&header_and(r#""typ":"JWT""#), &good_claims)],
            "the DPoP proof's header repeats a member",
        ),
        (
            "a member repeated inside the jwk",
            vec![raw(&jwk_repeating, &good_claims)],
            "the DPoP proof's header repeats a member",
        ),
    ]);
    for (name, proofs, detail) in cases {
        let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let response = app.post("DPoP", &token, &proofs).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        refused_with(response, "invalid_dpop_proof", detail).await;
    }

    // A query in htu is left out of the comparison (RFC 9449 §4.3).
    let with_query = with("htu", json!(format!("{}?page=2", app.resource)));
    assert_eq!(
        app.post("DPoP", &token, &[&with_query]).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_token_must_be_bound_to_the_proofs_key() {
    let app = App::start(DpopOptions::required()).await;
    let key = DpopKey::generate().unwrap();
    let thief = DpopKey::with(KeyMaterial::Ed25519, jsonwebtoken::Algorithm::EdDSA).unwrap();
    let token = app.bound(&key);
    let proof = thief.proof("POST", &app.resource, &token).unwrap();
    refused_with(
        app.post("DPoP", &token, &[&proof]).await,
        "invalid_token",
        "not bound to the DPoP proof's key",
    )
    .await;
    // An unbound token with a proof is not a DPoP token either.
    let unbound = app.issuer.token().audience(&app.resource).sign().unwrap();
    let proof = key.proof("POST", &app.resource, &unbound).unwrap();
    refused_with(
        app.post("DPoP", &unbound, &[&proof]).await,
        "invalid_token",
        "not bound to the DPoP proof's key",
    )
    .await;
}

#[tokio::test]
async fn required_refuses_bearer_and_says_so_in_metadata() {
    let app = App::start(DpopOptions::required()).await;
    let key = DpopKey::generate().unwrap();
    let bound = app.bound(&key);
    refused_with(
        app.post("Bearer", &bound, &[]).await,
        "invalid_token",
        "DPoP-bound tokens only",
    )
    .await;
    let url = app
        .resource
        .replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    let metadata: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    assert_eq!(metadata["dpop_bound_access_tokens_required"], true);
    assert_eq!(
        metadata["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "PS256", "RS256"])
    );
}

#[tokio::test]
async fn allowed_takes_both_schemes_but_a_bound_token_only_with_its_proof() {
    let app = App::start(DpopOptions::allowed()).await;
    let key = DpopKey::generate().unwrap();
    let bound = app.bound(&key);
    let plain = app
        .issuer
        .token()
        .audience(&app.resource)
        .subject("bob")
        .sign()
        .unwrap();
    assert_eq!(
        app.post("Bearer", &plain, &[]).await.status(),
        StatusCode::OK
    );
    let proof = key.proof("POST", &app.resource, &bound).unwrap();
    assert_eq!(
        app.post("DPoP", &bound, &[&proof]).await.status(),
        StatusCode::OK
    );

    // A bound token as Bearer: the error on the Bearer challenge, DPoP named after it.
    let response = app.post("Bearer", &bound, &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let found = challenges(&response);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with(r#"Bearer error="invalid_token""#),
        "{found:?}"
    );
    assert!(found[0].contains("DPoP-bound"), "{found:?}");
    assert!(found[1].starts_with(r#"DPoP algs="#), "{found:?}");
    assert!(!found[1].contains("error="), "{found:?}");

    // No credentials: both schemes, neither with an error.
    let response = app.client.post(&app.resource).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let found = challenges(&response);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("Bearer resource_metadata="),
        "{found:?}"
    );
    assert!(
        found[1].starts_with(r#"DPoP algs="ES256 EdDSA PS256 RS256", resource_metadata="#),
        "{found:?}"
    );

    // A bad proof: the error on the DPoP challenge.
    let response = app.post("DPoP", &bound, &["not-a-proof"]).await;
    let found = challenges(&response);
    assert!(!found[0].contains("error="), "{found:?}");
    assert!(
        found[1].contains(r#"error="invalid_dpop_proof""#),
        "{found:?}"
    );

    let url = app
        .resource
        .replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    let metadata: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    assert!(
        metadata.get("dpop_bound_access_tokens_required").is_none(),
        "{metadata}"
    );
}

#[tokio::test]
async fn without_dpop_a_bound_token_is_still_refused_as_bearer() {
    let issuer = TestIssuer::start().await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let resource = format!("http://{}/mcp", listener.local_addr().unwrap());
    let auth = McpAuth::builder()
        .protected_resource(
            ProtectedResource::new(&resource).authorization_server(issuer.lazy_config()),
        )
        .build()
        .unwrap();
    let app = auth.bearer().build().unwrap().mount(any(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let key = DpopKey::generate().unwrap();
    let bound = issuer
        .token()
        .audience(&resource)
        .dpop_bound(&key)
        .sign()
        .unwrap();
    let response = reqwest::Client::new()
        .post(&resource)
        .bearer_auth(&bound)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let found = challenges(&response);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with(r#"Bearer error="invalid_token""#),
        "{found:?}"
    );
    // And the DPoP scheme is not one this layer knows: no credentials.
    let response = reqwest::Client::new()
        .post(&resource)
        .header("authorization", format!("DPoP {bound}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenges(&response)[0].starts_with("Bearer resource_metadata="));
}

#[tokio::test]
async fn a_proof_window_outside_its_bounds_and_symmetric_algorithms_are_configuration_errors() {
    let build = |options: DpopOptions| {
        McpAuth::builder()
            .protected_resource(
                ProtectedResource::new("https://api.example.com/mcp")
                    .authorization_server(mcp_auth::AuthServerConfig::lazy(
                        "https://auth.example.com",
                        mcp_auth::AuthServerType::OAuth,
                    ))
                    .dpop(options),
            )
            .build()
            .map(|_| ())
            .map_err(|err| err.to_string())
    };
    assert!(build(DpopOptions::required()).is_ok());
    let err =
        build(DpopOptions::required().algorithms([jsonwebtoken::Algorithm::HS256])).unwrap_err();
    assert!(err.contains("asymmetric"), "{err}");
    let err = build(DpopOptions::required().algorithms([])).unwrap_err();
    assert!(err.contains("empty"), "{err}");
    let err = build(DpopOptions::required().proof_window(Duration::ZERO)).unwrap_err();
    assert!(err.contains("proof_window"), "{err}");
}

#[tokio::test]
async fn an_opaque_token_bound_by_its_introspection_answer_needs_its_proof() {
    let app = App::start_with(DpopOptions::allowed(), |bearer| {
        bearer
            .jwt(JwtOptions::default())
            .introspection(IntrospectionOptions::new(
                "mcp-server",
                "introspection-secret",
            ))
    })
    .await;
    let key = DpopKey::generate().unwrap();
    let token = app
        .issuer
        .token()
        .audience(&app.resource)
        .subject("carol")
        .dpop_bound(&key)
        .opaque()
        .unwrap();
    let proof = key.proof("POST", &app.resource, &token).unwrap();
    let response = app.post("DPoP", &token, &[&proof]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["sub"], "carol");
    let response = app.post("Bearer", &token, &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        challenges(&response)[0].contains("DPoP-bound"),
        "{:?}",
        challenges(&response)
    );
}

#[tokio::test]
async fn with_server_nonces_a_proof_needs_a_current_one() {
    let app = App::start(DpopOptions::required().server_nonces([9u8; 32])).await;
    let key = DpopKey::generate().unwrap();
    let token = app.bound(&key);
    let without = key.proof("POST", &app.resource, &token).unwrap();
    let response = app.post("DPoP", &token, &[&without]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let nonce = response.headers()["dpop-nonce"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        response.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("DPoP-Nonce")
    );
    refused_with(response, "use_dpop_nonce", "the server's nonce").await;

    let with = key
        .proof_with_nonce("POST", &app.resource, &token, &nonce)
        .unwrap();
    assert_eq!(
        app.post("DPoP", &token, &[&with]).await.status(),
        StatusCode::OK
    );
    let wrong = key
        .proof_with_nonce("POST", &app.resource, &token, "bm90LWEtbm9uY2U")
        .unwrap();
    refused_with(
        app.post("DPoP", &token, &[&wrong]).await,
        "use_dpop_nonce",
        "the server's nonce",
    )
    .await;
}

#[tokio::test]
async fn a_short_nonce_secret_is_a_configuration_error() {
    let err = McpAuth::builder()
        .protected_resource(
            ProtectedResource::new("https://api.example.com/mcp")
                .authorization_server(mcp_auth::AuthServerConfig::lazy(
                    "https://auth.example.com",
                    mcp_auth::AuthServerType::OAuth,
                ))
                .dpop(DpopOptions::required().server_nonces(b"short".to_vec())),
        )
        .build()
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("server_nonces") && err.contains("32 bytes"),
        "{err}"
    );
}

#[tokio::test]
async fn a_stolen_bound_token_without_its_key_learns_nothing_of_its_expiry_or_scopes() {
    let app = App::start_with(DpopOptions::required(), |bearer| {
        bearer.required_scopes(["mcp:admin"])
    })
    .await;
    let key = DpopKey::generate().unwrap();
    let thief = DpopKey::with(KeyMaterial::Ed25519, jsonwebtoken::Algorithm::EdDSA).unwrap();
    let expired = app
        .issuer
        .token()
        .audience(&app.resource)
        .dpop_bound(&key)
        .expires_in(-3600)
        .sign()
        .unwrap();
    let lacking = app.bound(&key);
    let elsewhere = app
        .issuer
        .token()
        .audience("https://other.example/mcp")
        .dpop_bound(&key)
        .sign()
        .unwrap();
    // Each is refused for the proof's key alone, as a live token with every scope would be.
    for token in [&expired, &lacking, &elsewhere] {
        let proof = thief.proof("POST", &app.resource, token).unwrap();
        refused_with(
            app.post("DPoP", token, &[&proof]).await,
            "invalid_token",
            "not bound to the DPoP proof's key",
        )
        .await;
        refused_with(
            app.post("DPoP", token, &[]).await,
            "invalid_dpop_proof",
            "the request has no DPoP proof",
        )
        .await;
    }
    // With its key, the truth.
    let proof = key.proof("POST", &app.resource, &expired).unwrap();
    refused_with(
        app.post("DPoP", &expired, &[&proof]).await,
        "invalid_token",
        "expired",
    )
    .await;
}

#[tokio::test]
async fn a_token_bound_to_a_key_the_layer_cannot_check_is_refused_as_bearer() {
    let app = App::start(DpopOptions::allowed()).await;
    // Bound to a client certificate (mutual TLS, RFC 8705), which this layer never sees.
    let token = app
        .issuer
        .token()
        .audience(&app.resource)
        .claim(
            "cnf",
            json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
        )
        .sign()
        .unwrap();
    let response = app.post("Bearer", &token, &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let found = challenges(&response);
    assert!(
        found[0].starts_with(r#"Bearer error="invalid_token""#)
            && found[0].contains("bound to a key (cnf)"),
        "{found:?}"
    );
}

#[tokio::test]
async fn one_key_flooding_the_replay_store_cannot_make_another_keys_proof_fail() {
    // Issue 21 (F8): 20 proofs at most, 2 per key.
    let store = MemoryReplayStore::new(20);
    assert_eq!(store.per_key(), 2);
    let app = App::start(DpopOptions::required().replay_store(store)).await;
    let flooder = DpopKey::generate().unwrap();
    let flooder_token = app.bound(&flooder);
    for sent in 0..30 {
        let proof = flooder
            .proof("POST", &app.resource, &flooder_token)
            .unwrap();
        let response = app.post("DPoP", &flooder_token, &[&proof]).await;
        if sent < 2 {
            assert_eq!(response.status(), StatusCode::OK, "proof {sent}");
        } else {
            // The flooder alone is refused, with the DPoP error its client knows.
            refused_with(response, "invalid_dpop_proof", "more proofs").await;
        }
    }
    let other = DpopKey::with(KeyMaterial::Ed25519, jsonwebtoken::Algorithm::EdDSA).unwrap();
    let other_token = app.bound(&other);
    for sent in 0..2 {
        let proof = other.proof("POST", &app.resource, &other_token).unwrap();
        let response = app.post("DPoP", &other_token, &[&proof]).await;
        assert_eq!(response.status(), StatusCode::OK, "other key, proof {sent}");
    }
}
