//! The test issuer's authorization code flow as a real public client meets it over HTTP:
//! dynamic registration (RFC 7591), client metadata documents, `/authorize` with PKCE S256
//! and its consent page, the code exchange and rotated refresh tokens — and every refusal
//! the flow owes an attacker. Its tokens are checked by a JWT-mode resource server.
#![cfg(feature = "testing")]

use crate::common::jwt::JwtApp;
use crate::common::serve;
use axum::Json;
use axum::routing::get;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use url::Url;

/// RFC 7636 appendix B: a verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// The redirect URI clients register; nothing listens there (redirects are not followed).
const REDIRECT: &str = "http://127.0.0.1:1/callback";

/// A JWT-mode resource, its issuer auto-approving, and an HTTP client that follows no redirect.
struct Flow {
    app: JwtApp,
    http: reqwest::Client,
}

impl Flow {
    async fn start() -> Self {
        let app = JwtApp::start(|b| b).await;
        app.issuer.set_auto_approve(true);
        app.issuer.set_resource_owner("alice");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { app, http }
    }

    /// Registers a public client; returns the registration answer.
    async fn register(&self, metadata: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.app.issuer.registration_endpoint())
            .json(&metadata)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    /// A registered public client's id.
    async fn client(&self) -> String {
        let (status, body) = self
            .register(json!({"client_name": "e2e", "redirect_uris": [REDIRECT]}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["client_id"].as_str().unwrap().to_owned()
    }

    /// The usual authorization request of `client_id`, with `changes` replacing (or, with an
    /// empty value, removing) parameters.
    fn authorize_url(&self, client_id: &str, changes: &[(&str, &str)]) -> Url {
        let resource = self.app.resource.clone();
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "xyz"),
            ("scope", "read"),
            ("resource", resource.as_str()),
        ];
        for (name, value) in changes {
            params.retain(|(known, _)| known != name);
            if !value.is_empty() {
                params.push((name, value));
            }
        }
        let mut url = Url::parse(&self.app.issuer.authorization_endpoint()).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        url
    }

    async fn authorize(&self, client_id: &str, changes: &[(&str, &str)]) -> reqwest::Response {
        let url = self.authorize_url(client_id, changes);
        self.http.get(url).send().await.unwrap()
    }

    /// The query of the redirect an authorization request answered with.
    async fn redirected(&self, client_id: &str, changes: &[(&str, &str)]) -> Redirect {
        let response = self.authorize(client_id, changes).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        Redirect::of(&response)
    }

    /// A fresh code for `client_id`'s usual request.
    async fn code(&self, client_id: &str) -> String {
        self.redirected(client_id, &[]).await.get("code").unwrap()
    }

    async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.app.issuer.token_endpoint())
            .form(form)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    /// Exchanges `code` as `client_id` with the usual verifier and redirect URI.
    async fn exchange(&self, client_id: &str, code: &str) -> (StatusCode, Value) {
        let resource = self.app.resource.clone();
        self.token(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("code_verifier", VERIFIER),
            ("redirect_uri", REDIRECT),
            ("resource", &resource),
        ])
        .await
    }

    async fn refresh(&self, client_id: &str, refresh_token: &str) -> (StatusCode, Value) {
        let resource = self.app.resource.clone();
        self.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
            ("resource", &resource),
        ])
        .await
    }
}

/// Where a redirect goes and its query parameters.
struct Redirect(Url);

impl Redirect {
    fn of(response: &reqwest::Response) -> Self {
        let location = response.headers()[LOCATION].to_str().unwrap();
        Self(Url::parse(location).unwrap())
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }
}

fn error_of((status, body): &(StatusCode, Value)) -> (StatusCode, &str) {
    (*status, body["error"].as_str().unwrap_or_default())
}

#[tokio::test]
async fn a_public_client_registers_gets_a_code_exchanges_it_and_refreshes() {
    let flow = Flow::start().await;
    let (status, registered) = flow
        .register(json!({
            "client_name": "e2e",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "application_type": "native",
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(registered["redirect_uris"], json!([REDIRECT]));
    assert_eq!(registered["token_endpoint_auth_method"], "none");
    // Only what the issuer keeps is echoed as registered (RFC 7591 §3.2.1).
    assert_eq!(registered["application_type"], Value::Null);
    assert_eq!(registered["client_name"], "e2e");
    let client_id = registered["client_id"].as_str().unwrap();

    let back = flow.redirected(client_id, &[]).await;
    assert!(back.0.as_str().starts_with(REDIRECT), "{}", back.0);
    assert_eq!(back.get("state").as_deref(), Some("xyz"));
    assert_eq!(back.get("iss").as_deref(), Some(flow.app.issuer.issuer()));
    let code = back.get("code").unwrap();

    let (status, tokens) = flow.exchange(client_id, &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "read");
    assert_eq!(tokens["expires_in"], 3600);
    let seen = flow
        .app
        .accepted(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(seen["subject"], "alice");
    assert_eq!(seen["client_id"], client_id);
    assert_eq!(seen["audience"], json!([flow.app.resource]));
    assert_eq!(seen["scopes"], json!(["read"]));

    let first_refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, refreshed) = flow.refresh(client_id, first_refresh).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let second_refresh = refreshed["refresh_token"].as_str().unwrap();
    assert_ne!(second_refresh, first_refresh, "rotated");
    let seen = flow
        .app
        .accepted(refreshed["access_token"].as_str().unwrap())
        .await;
    assert_eq!(seen["scopes"], json!(["read"]));
    assert_eq!(seen["subject"], "alice");

    // A refresh token works once: its reuse is refused and revokes the token that replaced it.
    let reuse = flow.refresh(client_id, first_refresh).await;
    assert_eq!(error_of(&reuse), (StatusCode::BAD_REQUEST, "invalid_grant"));
    let revoked = flow.refresh(client_id, second_refresh).await;
    assert_eq!(
        error_of(&revoked),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn the_code_exchange_refuses_what_the_code_was_not_issued_for() {
    let flow = Flow::start().await;
    let client_id = flow.client().await;
    let other_client = flow.client().await;
    let resource = flow.app.resource.clone();
    let exchange = |code: String, changes: Vec<(&'static str, String)>| {
        let client_id = client_id.clone();
        let resource = resource.clone();
        let flow = &flow;
        async move {
            let mut form = vec![
                ("grant_type", "authorization_code".to_owned()),
                ("client_id", client_id),
                ("code", code),
                ("code_verifier", VERIFIER.to_owned()),
                ("redirect_uri", REDIRECT.to_owned()),
                ("resource", resource),
            ];
            for (name, value) in changes {
                form.retain(|(known, _)| *known != name);
                if !value.is_empty() {
                    form.push((name, value));
                }
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            flow.token(&form).await
        }
    };
    let other_verifier = "a".repeat(43);
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![("code_verifier", other_verifier.clone())],
            "invalid_grant",
        ),
        (vec![("code_verifier", String::new())], "invalid_request"),
        (vec![("client_id", other_client.clone())], "invalid_grant"),
        (
            vec![("redirect_uri", "http://127.0.0.1:1/other".to_owned())],
            "invalid_grant",
        ),
        (
            vec![("redirect_uri", "http://127.0.0.1:2/callback".to_owned())],
            "invalid_grant",
        ),
        (vec![("redirect_uri", String::new())], "invalid_grant"),
        (
            vec![("resource", "https://other.example/mcp".to_owned())],
            "invalid_target",
        ),
        (vec![("code", "made-up".to_owned())], "invalid_grant"),
    ];
    for (changes, expected) in cases {
        let code = flow.code(&client_id).await;
        let answer = exchange(code.clone(), changes.clone()).await;
        assert_eq!(
            error_of(&answer),
            (StatusCode::BAD_REQUEST, expected),
            "{changes:?}"
        );
        if expected == "invalid_grant" && changes[0].0 != "code" {
            // The failed attempt used the code up: the right verifier comes too late.
            let late = exchange(code, vec![]).await;
            assert_eq!(
                error_of(&late),
                (StatusCode::BAD_REQUEST, "invalid_grant"),
                "{changes:?}"
            );
        }
    }

    // A code works once; its second use revokes the refresh token the first one gave.
    let code = flow.code(&client_id).await;
    let (status, tokens) = exchange(code.clone(), vec![]).await;
    assert_eq!(status, StatusCode::OK);
    let reused = exchange(code, vec![]).await;
    assert_eq!(
        error_of(&reused),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let refresh = flow
        .refresh(&client_id, tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(
        error_of(&refresh),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn refresh_tokens_stay_with_their_client_scope_and_resource() {
    let flow = Flow::start().await;
    let client_id = flow.client().await;
    let other_client = flow.client().await;
    let code = flow
        .redirected(&client_id, &[("scope", "read write")])
        .await
        .get("code")
        .unwrap();
    let (_, tokens) = flow.exchange(&client_id, &code).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let stolen = flow.refresh(&other_client, &refresh).await;
    assert_eq!(
        error_of(&stolen),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let resource = flow.app.resource.clone();
    let base = [
        ("grant_type", "refresh_token"),
        ("client_id", client_id.as_str()),
        ("refresh_token", refresh.as_str()),
    ];
    let wider = flow
        .token(&[&base[..], &[("scope", "read write admin")]].concat())
        .await;
    assert_eq!(error_of(&wider), (StatusCode::BAD_REQUEST, "invalid_scope"));
    let elsewhere = flow
        .token(&[&base[..], &[("resource", "https://other.example/mcp")]].concat())
        .await;
    assert_eq!(
        error_of(&elsewhere),
        (StatusCode::BAD_REQUEST, "invalid_target")
    );
    // Those refusals did not use the token up; a narrower scope is granted.
    let narrower = flow
        .token(
            &[
                &base[..],
                &[("scope", "read"), ("resource", resource.as_str())],
            ]
            .concat(),
        )
        .await;
    assert_eq!(narrower.0, StatusCode::OK, "{}", narrower.1);
    let seen = flow
        .app
        .accepted(narrower.1["access_token"].as_str().unwrap())
        .await;
    assert_eq!(seen["scopes"], json!(["read"]));
    // The rotated grant keeps the whole original scope.
    let next = narrower.1["refresh_token"].as_str().unwrap();
    let (status, again) = flow.refresh(&client_id, next).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["scope"], "read write");
}

#[tokio::test]
async fn authorization_requests_that_cannot_be_trusted_are_refused() {
    let flow = Flow::start().await;
    flow.app.issuer.set_resource_required(true);
    flow.app.issuer.set_scopes_supported(["read", "write"]);
    let client_id = flow.client().await;

    // Before the redirect URI is known to be the client's: a page here, never a redirect.
    for changes in [
        vec![("redirect_uri", "http://127.0.0.1:1/elsewhere")],
        vec![("redirect_uri", "https://attacker.example/callback")],
        vec![("client_id", "unknown-client")],
        vec![("client_id", "")],
    ] {
        let response = flow.authorize(&client_id, &changes).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{changes:?}");
        assert!(response.headers().get(LOCATION).is_none(), "{changes:?}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Authorization refused")
        );
    }

    // After: back to the client with the error and its state (RFC 6749 §4.1.2.1).
    for (changes, expected) in [
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge_method", "")], "invalid_request"),
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("code_challenge", "too-short")], "invalid_request"),
        (
            vec![("code_challenge", &format!("{CHALLENGE}A"))],
            "invalid_request",
        ),
        (vec![("response_type", "")], "invalid_request"),
        (vec![("resource", "")], "invalid_target"),
        (
            vec![("resource", "https://api.example/mcp#frag")],
            "invalid_target",
        ),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("scope", "read admin")], "invalid_scope"),
    ] {
        let back = flow.redirected(&client_id, &changes).await;
        assert_eq!(back.get("error").as_deref(), Some(expected), "{changes:?}");
        assert_eq!(back.get("state").as_deref(), Some("xyz"));
        assert_eq!(back.get("code"), None);
    }

    // A native app's loopback port may change between registration and use (RFC 8252 §7.3).
    let moved = "http://127.0.0.1:53682/callback";
    let back = flow
        .redirected(&client_id, &[("redirect_uri", moved)])
        .await;
    assert!(back.0.as_str().starts_with(moved), "{}", back.0);
    let code = back.get("code").unwrap();
    let resource = flow.app.resource.clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", client_id.as_str()),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
        ("redirect_uri", moved),
    ];
    let missing_resource = flow.token(&form).await;
    assert_eq!(
        missing_resource.0,
        StatusCode::OK,
        "the authorized resource is used"
    );
    let seen = flow
        .app
        .accepted(missing_resource.1["access_token"].as_str().unwrap())
        .await;
    assert_eq!(seen["audience"], json!([resource]));
}

#[tokio::test]
async fn registration_accepts_public_clients_with_usable_redirect_uris_only() {
    let flow = Flow::start().await;
    for (metadata, expected) in [
        (
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "client_name": 7}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["http://app.example.com/callback"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
        ),
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (
            json!({"client_name": "no redirect"}),
            "invalid_redirect_uri",
        ),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
    ] {
        let answer = flow.register(metadata.clone()).await;
        assert_eq!(
            error_of(&answer),
            (StatusCode::BAD_REQUEST, expected),
            "{metadata}"
        );
    }
}

#[tokio::test]
async fn the_consent_page_asks_and_a_step_up_shows_what_it_adds() {
    let flow = Flow::start().await;
    flow.app.issuer.set_auto_approve(false);
    let (_, registered) = flow
        .register(json!({"client_name": "Step <Up> App", "redirect_uris": [REDIRECT]}))
        .await;
    let client_id = registered["client_id"].as_str().unwrap();

    let page = flow.authorize(client_id, &[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let page = page.text().await.unwrap();
    assert!(page.contains("Step &lt;Up&gt; App"), "{page}");
    assert!(page.contains("<b>alice</b>"), "{page}");
    assert!(page.contains("<code>read</code></li>"), "{page}");
    assert!(
        !page.contains("(new)"),
        "a first consent marks nothing: {page}"
    );
    assert!(page.contains(&flow.app.resource), "{page}");
    assert!(page.contains("<b>127.0.0.1</b>"), "{page}");
    let approve = answer(&flow, &page, "approve").await;
    assert_eq!(approve.status(), StatusCode::SEE_OTHER);
    let code = Redirect::of(&approve).get("code").unwrap();
    assert_eq!(flow.exchange(client_id, &code).await.0, StatusCode::OK);

    // The consent was answered: answering it again is refused.
    let again = answer(&flow, &page, "approve").await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);

    // Back for more: the page marks only the added scope as new.
    let step_up = flow.authorize(client_id, &[("scope", "read write")]).await;
    let step_up = step_up.text().await.unwrap();
    assert!(step_up.contains("<code>read</code></li>"), "{step_up}");
    assert!(
        step_up.contains("<code>write</code> <em>(new)</em>"),
        "{step_up}"
    );
    assert!(step_up.contains("asks for more"), "{step_up}");
    let denied = answer(&flow, &step_up, "deny").await;
    let back = Redirect::of(&denied);
    assert_eq!(back.get("error").as_deref(), Some("access_denied"));
    assert_eq!(back.get("state").as_deref(), Some("xyz"));
    assert_eq!(back.get("code"), None);
}

/// Submits the consent form of `page` with `decision`.
async fn answer(flow: &Flow, page: &str, decision: &str) -> reqwest::Response {
    let id = page
        .split("name=consent value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    flow.http
        .post(flow.app.issuer.authorization_endpoint())
        .form(&[("consent", id), ("decision", decision)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_client_metadata_document_url_is_a_client_id() {
    let flow = Flow::start().await;
    let documents = serve(|addr| {
        let id = format!("http://{addr}/client.json");
        let good = json!({"client_id": id, "client_name": "Doc App", "redirect_uris": [REDIRECT]});
        let liar = json!({"client_id": "https://someone.else/client.json", "client_name": "Liar", "redirect_uris": [REDIRECT]});
        axum::Router::new()
            .route("/client.json", get(move || async move { Json(good) }))
            .route("/liar.json", get(move || async move { Json(liar) }))
            .route("/huge.json", get(|| async { "x".repeat(64 * 1024) }))
    })
    .await;
    let client_id = documents.url("/client.json");
    let code = flow.code(&client_id).await;
    let (status, tokens) = flow.exchange(&client_id, &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let seen = flow
        .app
        .accepted(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(seen["client_id"], client_id);

    for (path, why) in [
        ("/liar.json", "does not name this URL"),
        ("/huge.json", "could not be fetched"),
        ("/missing.json", "could not be fetched"),
    ] {
        let response = flow.authorize(&documents.url(path), &[]).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(response.headers().get(LOCATION).is_none());
        let page = response.text().await.unwrap();
        assert!(page.contains(why), "{path}: {page}");
    }
    // The document's redirect URIs bind the client like registered ones.
    let response = flow
        .authorize(
            &client_id,
            &[("redirect_uri", "https://attacker.example/cb")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_metadata_lists_exactly_what_the_issuer_does() {
    let flow = Flow::start().await;
    let issuer = &flow.app.issuer;
    issuer.set_scopes_supported(["read", "write"]);
    let url = format!("{}/.well-known/oauth-authorization-server", issuer.issuer());
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let metadata: Value = response.json().await.unwrap();
    let base = issuer.issuer();
    assert_eq!(
        metadata,
        json!({
            "issuer": base,
            "jwks_uri": format!("{base}/jwks"),
            "authorization_endpoint": issuer.authorization_endpoint(),
            "token_endpoint": issuer.token_endpoint(),
            "registration_endpoint": issuer.registration_endpoint(),
            "introspection_endpoint": issuer.introspection_endpoint(),
            "userinfo_endpoint": issuer.userinfo_endpoint(),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "client_id_metadata_document_supported": true,
            "authorization_response_iss_parameter_supported": true,
            "scopes_supported": ["read", "write"],
        })
    );
    // A browser page on this machine may call the registration endpoint (CORS preflight
    // answered for its origin).
    let preflight = flow
        .http
        .request(reqwest::Method::OPTIONS, issuer.registration_endpoint())
        .header("origin", "http://localhost:6274")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "http://localhost:6274"
    );
}

#[tokio::test]
async fn a_web_site_that_registered_itself_is_never_redirected_to_without_the_user() {
    let flow = Flow::start().await;
    let web = "https://app.example.com/callback";
    let (_, registered) = flow.register(json!({"redirect_uris": [web]})).await;
    let client_id = registered["client_id"].as_str().unwrap();
    // An error before any consent stays on the issuer's page (no open redirector)...
    let response = flow
        .authorize(
            client_id,
            &[("redirect_uri", web), ("code_challenge_method", "plain")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
    assert!(response.text().await.unwrap().contains("invalid_request"));
    // ...and auto-approval does not apply: the user sees the consent page.
    let response = flow.authorize(client_id, &[("redirect_uri", web)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("<b>app.example.com</b>"), "{page}");
    assert!(!page.contains("program on this machine"), "{page}");
    let approved = answer(&flow, &page, "approve").await;
    let back = Redirect::of(&approved);
    assert!(back.0.as_str().starts_with(web), "{}", back.0);
    assert!(back.get("code").is_some());
}

#[tokio::test]
async fn a_grant_is_for_the_resource_named_at_authorization_or_first_exchange() {
    let flow = Flow::start().await;
    let client_id = flow.client().await;
    let here = flow.app.resource.clone();
    let elsewhere = "https://other.example/mcp";
    // Authorized for no resource: the exchange names one and the grant keeps it.
    let code = flow
        .redirected(&client_id, &[("resource", "")])
        .await
        .get("code")
        .unwrap();
    let (status, tokens) = flow.exchange(&client_id, &code).await;
    assert_eq!(status, StatusCode::OK);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let base = [
        ("grant_type", "refresh_token"),
        ("client_id", client_id.as_str()),
        ("refresh_token", refresh),
    ];
    let moved = flow
        .token(&[&base[..], &[("resource", elsewhere)]].concat())
        .await;
    assert_eq!(
        error_of(&moved),
        (StatusCode::BAD_REQUEST, "invalid_target")
    );
    let (status, refreshed) = flow.token(&base).await;
    assert_eq!(status, StatusCode::OK);
    let seen = flow
        .app
        .accepted(refreshed["access_token"].as_str().unwrap())
        .await;
    assert_eq!(seen["audience"], json!([here]));

    // Authorized and exchanged for none: its refresh tokens cannot pick one later.
    let code = flow
        .redirected(&client_id, &[("resource", "")])
        .await
        .get("code")
        .unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", client_id.as_str()),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
        ("redirect_uri", REDIRECT),
    ];
    let (status, tokens) = flow.token(&form).await;
    assert_eq!(status, StatusCode::OK);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let picked = flow.refresh(&client_id, refresh).await;
    assert_eq!(
        error_of(&picked),
        (StatusCode::BAD_REQUEST, "invalid_target")
    );
}

#[tokio::test]
async fn auto_approval_and_early_errors_go_only_to_loopback_http_and_reverse_domain_schemes() {
    let flow = Flow::start().await;
    // Issue 21 (F7): each of these reached a program that can send the code off this machine
    // (a browser, a network client, an office suite), with no consent page.
    for elsewhere in [
        "web+x:cb",
        "ftp://files.example.com/cb",
        "microsoft-edge:https://attacker.example/cb",
        "ms-word:ofe|u|https://attacker.example/cb",
    ] {
        let (status, registered) = flow.register(json!({"redirect_uris": [elsewhere]})).await;
        assert_eq!(status, StatusCode::CREATED, "{registered}");
        let client_id = registered["client_id"].as_str().unwrap();
        let changes = [("redirect_uri", elsewhere)];
        let response = flow.authorize(client_id, &changes).await;
        assert_eq!(response.status(), StatusCode::OK, "{elsewhere}");
        assert!(response.headers().get(LOCATION).is_none(), "{elsewhere}");
        let page = response.text().await.unwrap();
        assert!(page.contains("Authorize access"), "{elsewhere}: {page}");
        assert!(!page.contains("program on this machine"), "{page}");
        // An error before the user saw anything stays on the issuer's page.
        let plain = [
            ("redirect_uri", elsewhere),
            ("code_challenge_method", "plain"),
        ];
        let response = flow.authorize(client_id, &plain).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{elsewhere}");
        assert!(response.headers().get(LOCATION).is_none(), "{elsewhere}");
    }
    // A native app's private-use scheme in reverse-domain form (RFC 8252 §7.1) is this
    // machine's: a code at once, and errors go back to it.
    let app = "com.example.app:/oauth/callback";
    let (_, registered) = flow.register(json!({"redirect_uris": [app]})).await;
    let client_id = registered["client_id"].as_str().unwrap();
    let back = flow.redirected(client_id, &[("redirect_uri", app)]).await;
    assert!(back.0.as_str().starts_with(app), "{}", back.0);
    assert!(back.get("code").is_some());
    let back = flow
        .redirected(
            client_id,
            &[("redirect_uri", app), ("code_challenge_method", "plain")],
        )
        .await;
    assert_eq!(back.get("error").as_deref(), Some("invalid_request"));
}

/// The refusal page's text, its URL cut out, and the status.
async fn refusal_of(flow: &Flow, client_id: &str) -> (StatusCode, String) {
    let response = flow.authorize(client_id, &[]).await;
    assert!(response.headers().get(LOCATION).is_none(), "{client_id}");
    let status = response.status();
    let page = response.text().await.unwrap().replace(client_id, "URL");
    (status, page)
}

#[tokio::test]
async fn client_documents_are_fetched_from_public_addresses_and_every_failure_reads_the_same() {
    let flow = Flow::start().await;
    // Issue 21 (F11): private, link-local, unspecified and multicast addresses are never
    // fetched from (the issuer would scan the network for whoever picks the URL).
    let started = std::time::Instant::now();
    for private in [
        "https://10.0.0.1/client.json",
        "https://169.254.169.254/latest/meta-data.json",
        "https://192.168.1.1/client.json",
        "https://[fd00::1]/client.json",
        "https://[::ffff:10.0.0.1]/client.json",
        "https://0.0.0.0/client.json",
        "https://224.0.0.1/client.json",
    ] {
        let (status, page) = refusal_of(&flow, private).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{private}");
        assert!(page.contains("could not be fetched"), "{private}: {page}");
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "refused without connecting"
    );

    // A closed port, a 404, a web page, a body too large and a server too slow all read the
    // same: the page is no port scanner.
    let documents = serve(|_| {
        axum::Router::new()
            .route("/html.json", get(|| async { "<html>hello</html>" }))
            .route("/huge.json", get(|| async { "x".repeat(64 * 1024) }))
            .route(
                "/slow.json",
                get(|| async {
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                    "{}"
                }),
            )
    })
    .await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{addr}/client.json")
    };
    let mut pages = Vec::new();
    for client_id in [
        closed,
        documents.url("/missing.json"),
        documents.url("/html.json"),
        documents.url("/huge.json"),
        documents.url("/slow.json"),
    ] {
        let (status, page) = refusal_of(&flow, &client_id).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{client_id}");
        pages.push((client_id, page));
    }
    let (_, first) = &pages[0];
    assert!(first.contains("could not be fetched"), "{first}");
    for (client_id, page) in &pages {
        assert_eq!(page, first, "{client_id} reads differently");
    }
}

#[tokio::test]
async fn the_issuer_answers_its_own_host_only() {
    let flow = Flow::start().await;
    let issuer = &flow.app.issuer;
    let own = issuer.issuer().trim_start_matches("http://").to_owned();
    let port = own.rsplit(':').next().unwrap().to_owned();
    let metadata = format!("{}/.well-known/oauth-authorization-server", issuer.issuer());
    // Issue 21 (F11): a page whose own name was rebound to 127.0.0.1 (DNS rebinding) sends its
    // name as Host.
    for host in [
        format!("rebind.attacker.example:{port}"),
        format!("localhost:{port}"),
        "127.0.0.1".to_owned(),
    ] {
        for (method, url) in [
            (reqwest::Method::GET, metadata.clone()),
            (reqwest::Method::POST, issuer.token_endpoint()),
            (reqwest::Method::POST, issuer.registration_endpoint()),
            (reqwest::Method::GET, issuer.authorization_endpoint()),
        ] {
            let response = flow
                .http
                .request(method, &url)
                .header("host", &host)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::MISDIRECTED_REQUEST,
                "{host} {url}"
            );
            assert!(
                response
                    .headers()
                    .get("access-control-allow-origin")
                    .is_none()
            );
        }
    }
    let response = flow
        .http
        .get(&metadata)
        .header("host", &own)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn any_page_reads_public_documents_and_only_this_machines_pages_register_or_get_tokens() {
    let flow = Flow::start().await;
    let issuer = &flow.app.issuer;
    issuer.register_client(mcp_auth::testing::TestClient {
        id: "scripts".into(),
        secret: "s3cret".into(),
        scopes: vec!["read".into()],
    });
    let metadata = format!("{}/.well-known/oauth-authorization-server", issuer.issuer());
    let web = "https://attacker.example";
    for url in [metadata.clone(), issuer.jwks_uri()] {
        let response = flow
            .http
            .get(&url)
            .header("origin", web)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
    }

    let client_credentials = |origin: Option<&str>| {
        let mut request = flow
            .http
            .post(issuer.token_endpoint())
            .basic_auth("scripts", Some("s3cret"))
            .form(&[("grant_type", "client_credentials")]);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    let register = |origin: &str| {
        flow.http
            .post(issuer.registration_endpoint())
            .header("origin", origin)
            .json(&json!({"redirect_uris": [REDIRECT]}))
            .send()
    };
    // Issue 21 (F11): a web site's page neither reads nor even causes anything.
    for origin in [web, "null", "http://localhost.attacker.example"] {
        let response = client_credentials(Some(origin)).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin}");
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
        let body: Value = response.json().await.unwrap();
        assert!(body.get("access_token").is_none(), "{body}");
        let response = register(origin).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin}");
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
        for endpoint in [issuer.token_endpoint(), issuer.registration_endpoint()] {
            let preflight = flow
                .http
                .request(reqwest::Method::OPTIONS, &endpoint)
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .send()
                .await
                .unwrap();
            assert_eq!(preflight.status(), StatusCode::FORBIDDEN, "{endpoint}");
            assert!(
                preflight
                    .headers()
                    .get("access-control-allow-origin")
                    .is_none()
            );
        }
    }
    // Pages on this machine (the MCP Inspector's web UI) and programs (no Origin) go on.
    for origin in [
        "http://localhost:6274",
        "http://127.0.0.1:6274",
        "http://[::1]:6274",
    ] {
        let response = register(origin).await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{origin}");
        assert_eq!(response.headers()["access-control-allow-origin"], origin);
        assert_eq!(response.headers()["vary"], "origin");
        let response = client_credentials(Some(origin)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{origin}");
        assert_eq!(response.headers()["access-control-allow-origin"], origin);
    }
    let response = client_credentials(None).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // Nothing else answers CORS.
    let preflight = flow
        .http
        .request(reqwest::Method::OPTIONS, issuer.introspection_endpoint())
        .header("origin", "http://localhost:6274")
        .send()
        .await
        .unwrap();
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn one_client_holds_at_most_ten_unused_codes_and_ten_pending_consents() {
    let flow = Flow::start().await;
    let greedy = flow.client().await;
    let other = flow.client().await;
    // Issue 21 (F11), auto-approved: ten codes, then temporarily_unavailable.
    let mut codes = Vec::new();
    for _ in 0..10 {
        codes.push(flow.code(&greedy).await);
    }
    let back = flow.redirected(&greedy, &[]).await;
    assert_eq!(
        back.get("error").as_deref(),
        Some("temporarily_unavailable")
    );
    assert_eq!(back.get("state").as_deref(), Some("xyz"));
    assert_eq!(back.get("code"), None);
    // Other clients are not held up, and an exchanged code makes room.
    assert!(!flow.code(&other).await.is_empty());
    let (status, _) = flow.exchange(&greedy, &codes[0]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!flow.code(&greedy).await.is_empty());

    // At the consent page: ten requests wait, the eleventh is turned away.
    flow.app.issuer.set_auto_approve(false);
    let web = "https://app.example.com/callback";
    let (_, registered) = flow
        .register(json!({"redirect_uris": [REDIRECT, web]}))
        .await;
    let waiting = registered["client_id"].as_str().unwrap();
    for _ in 0..10 {
        let response = flow.authorize(waiting, &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let back = flow.redirected(waiting, &[]).await;
    assert_eq!(
        back.get("error").as_deref(),
        Some("temporarily_unavailable")
    );
    // A redirect URI off this machine is not sent anything the user has not seen.
    let response = flow.authorize(waiting, &[("redirect_uri", web)]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("temporarily_unavailable")
    );
    let response = flow.authorize(&other, &[]).await;
    assert_eq!(response.status(), StatusCode::OK, "other clients still ask");
}
