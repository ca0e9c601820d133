//! Authorization server discovery against real HTTP servers on 127.0.0.1: the URLs tried and
//! their order, the issuer rule, the bounds (size, time, redirects) and the transpile hook.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::serve;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use mcp_auth::AuthServerType;
use mcp_auth::discovery::{Discovery, DiscoveryError};
use mcp_auth::metadata::CheckCode;
use serde_json::{Value, json};

/// What the scripted server answers on one path.
#[derive(Clone)]
enum Answer {
    Json(Value),
    Body(String),
    Slow(Duration),
    Redirect(String),
}

#[derive(Default)]
struct Script {
    answers: HashMap<String, Answer>,
    requested: Vec<String>,
}

struct Scripted {
    base: String,
    script: Arc<Mutex<Script>>,
}

impl Scripted {
    async fn start() -> Self {
        let script = Arc::new(Mutex::new(Script::default()));
        let state = script.clone();
        let server = serve(move |_| Router::new().fallback(answer).with_state(state)).await;
        Self {
            base: server.url(""),
            script,
        }
    }

    fn on(&self, path: &str, answer: Answer) {
        self.script
            .lock()
            .unwrap()
            .answers
            .insert(path.to_owned(), answer);
    }

    fn requested(&self) -> Vec<String> {
        self.script.lock().unwrap().requested.clone()
    }

    fn metadata(&self, issuer: &str) -> Answer {
        Answer::Json(json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/jwks"),
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
        }))
    }
}

async fn answer(State(script): State<Arc<Mutex<Script>>>, uri: Uri) -> Response {
    let found = {
        let mut script = script.lock().unwrap();
        script.requested.push(uri.path().to_owned());
        script.answers.get(uri.path()).cloned()
    };
    match found {
        None => StatusCode::NOT_FOUND.into_response(),
        Some(Answer::Json(json)) => axum::Json(json).into_response(),
        Some(Answer::Body(body)) => body.into_response(),
        Some(Answer::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            "{}".into_response()
        }
        Some(Answer::Redirect(to)) => (StatusCode::FOUND, [(header::LOCATION, to)]).into_response(),
    }
}

const OAUTH: &str = "/.well-known/oauth-authorization-server";
const OIDC: &str = "/.well-known/openid-configuration";

#[tokio::test]
async fn without_a_path_oauth_is_tried_before_openid() {
    let server = Scripted::start().await;
    server.on(OIDC, server.metadata(&server.base));
    let found = Discovery::new(&server.base, AuthServerType::Oidc)
        .fetch()
        .await
        .unwrap();
    assert_eq!(found.url.path(), OIDC);
    assert_eq!(found.metadata.issuer, server.base);
    assert_eq!(server.requested(), [OAUTH, OIDC]);
}

#[tokio::test]
async fn with_a_path_both_insertions_come_before_appending() {
    let server = Scripted::start().await;
    let issuer = format!("{}/tenant", server.base);
    server.on(&format!("/tenant{OIDC}"), server.metadata(&issuer));
    let found = Discovery::new(&issuer, AuthServerType::Oidc)
        .fetch()
        .await
        .unwrap();
    assert_eq!(found.metadata.issuer, issuer);
    assert_eq!(
        server.requested(),
        [
            format!("{OAUTH}/tenant"),
            format!("{OIDC}/tenant"),
            format!("/tenant{OIDC}")
        ]
    );
}

#[tokio::test]
async fn the_first_document_found_wins() {
    let server = Scripted::start().await;
    server.on(OAUTH, server.metadata(&server.base));
    server.on(OIDC, Answer::Body("never read".into()));
    let found = Discovery::new(&server.base, AuthServerType::OAuth)
        .fetch()
        .await
        .unwrap();
    assert_eq!(found.url.path(), OAUTH);
    assert_eq!(server.requested(), [OAUTH]);
}

#[tokio::test]
async fn metadata_for_another_issuer_is_refused_naming_both() {
    let server = Scripted::start().await;
    server.on(OAUTH, server.metadata("https://evil.example"));
    let err = Discovery::new(&server.base, AuthServerType::OAuth)
        .fetch()
        .await
        .unwrap_err();
    assert!(
        matches!(err, DiscoveryError::IssuerMismatch { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&server.base) && message.contains("https://evil.example"),
        "{message}"
    );
    assert!(message.contains("RFC 8414 §3.3"));
}

#[tokio::test]
async fn an_issuer_differing_by_a_trailing_slash_is_another_issuer() {
    let server = Scripted::start().await;
    server.on(OAUTH, server.metadata(&format!("{}/", server.base)));
    let err = Discovery::new(&server.base, AuthServerType::OAuth)
        .fetch()
        .await
        .unwrap_err();
    assert!(
        matches!(err, DiscoveryError::IssuerMismatch { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn nothing_found_lists_every_url_tried() {
    let server = Scripted::start().await;
    let err = Discovery::new(&server.base, AuthServerType::OAuth)
        .fetch()
        .await
        .unwrap_err();
    let DiscoveryError::NotFound { tried, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(tried.len(), 2);
    assert!(
        tried[0].contains(OAUTH) && tried[0].contains("404"),
        "{tried:?}"
    );
}

#[tokio::test]
async fn a_page_that_is_not_metadata_passes_to_the_next_url() {
    let server = Scripted::start().await;
    server.on(
        OAUTH,
        Answer::Body("<html>a catch-all web app</html>".into()),
    );
    server.on(OIDC, Answer::Json(json!({ "jwks_uri": "no issuer here" })));
    let err = Discovery::new(&server.base, AuthServerType::OAuth)
        .fetch()
        .await
        .unwrap_err();
    let DiscoveryError::NotFound { tried, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(tried[0].contains("not JSON"), "{tried:?}");
    assert!(
        tried[1].contains("not authorization server metadata"),
        "{tried:?}"
    );

    server.on(OIDC, server.metadata(&server.base));
    let found = Discovery::new(&server.base, AuthServerType::OAuth)
        .fetch()
        .await
        .unwrap();
    assert_eq!(found.url.path(), OIDC);
}

#[tokio::test]
async fn an_oversized_document_is_refused() {
    let server = Scripted::start().await;
    server.on(
        OAUTH,
        Answer::Body(format!("{{\"pad\":\"{}\"}}", "x".repeat(300 * 1024))),
    );
    let err = Discovery::new(&server.base, AuthServerType::OAuth)
        .fetch()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("larger than 262144 bytes"),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_that_does_not_answer_in_time_fails_discovery() {
    let server = Scripted::start().await;
    server.on(OAUTH, Answer::Slow(Duration::from_secs(5)));
    let started = std::time::Instant::now();
    let err = Discovery::new(&server.base, AuthServerType::OAuth)
        .timeout(Duration::from_millis(300))
        .fetch()
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        err.to_string().contains("no complete answer within"),
        "{err}"
    );
}

#[tokio::test]
async fn redirects_are_followed_only_within_the_origin() {
    let server = Scripted::start().await;
    server.on(OAUTH, Answer::Redirect("/moved".into()));
    server.on("/moved", server.metadata(&server.base));
    let found = Discovery::new(&server.base, AuthServerType::OAuth)
        .fetch()
        .await
        .unwrap();
    assert_eq!(found.metadata.issuer, server.base);

    let elsewhere = Scripted::start().await;
    elsewhere.on("/metadata", elsewhere.metadata(&server.base));
    server.on(
        OAUTH,
        Answer::Redirect(format!("{}/metadata", elsewhere.base)),
    );
    let err = Discovery::new(&server.base, AuthServerType::OAuth)
        .fetch()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("redirect to another origin"),
        "{err}"
    );
    assert!(elsewhere.requested().is_empty());
}

#[tokio::test]
async fn the_transpile_hook_mends_metadata_before_it_is_read() {
    let server = Scripted::start().await;
    server.on(
        OAUTH,
        Answer::Json(json!({ "issuer": server.base, "response_types_supported": ["code"] })),
    );
    let found = Discovery::new(&server.base, AuthServerType::OAuth)
        .transpile(|raw| {
            raw["code_challenge_methods_supported"] = json!(["S256"]);
            raw["jwks_uri"] = json!("https://keys.example/jwks");
        })
        .fetch()
        .await
        .unwrap();
    let report = found.metadata.validate();
    assert!(report.check(CheckCode::PkceS256).unwrap().passed);
    assert!(report.is_valid(), "{report}");
}

#[tokio::test]
async fn a_well_known_url_is_fetched_as_given() {
    let server = Scripted::start().await;
    server.on(OIDC, server.metadata(&server.base));
    let discovery = Discovery::from_well_known_url(&format!("{}{OIDC}", server.base)).unwrap();
    let found = discovery.fetch().await.unwrap();
    assert_eq!(found.metadata.issuer, server.base);
    assert_eq!(server.requested(), [OIDC]);
}

#[tokio::test]
async fn a_root_issuer_may_end_with_a_slash_when_fetched_from_its_well_known_url() {
    let server = Scripted::start().await;
    let with_slash = format!("{}/", server.base);
    server.on(OIDC, server.metadata(&with_slash));
    let discovery = Discovery::from_well_known_url(&format!("{}{OIDC}", server.base)).unwrap();
    let config = mcp_auth::AuthServerConfig::discover_with(discovery)
        .await
        .unwrap();
    assert_eq!(config.issuer(), with_slash);
}

#[tokio::test]
async fn the_validation_report_names_what_is_missing() {
    let server = Scripted::start().await;
    server.on(
        OAUTH,
        Answer::Json(
            json!({ "issuer": server.base, "grant_types_supported": ["client_credentials"] }),
        ),
    );
    let found = Discovery::new(&server.base, AuthServerType::OAuth)
        .fetch()
        .await
        .unwrap();
    let report = found.metadata.validate();
    assert!(!report.is_valid());
    let failed: Vec<CheckCode> = report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.code)
        .collect();
    assert_eq!(
        failed,
        [
            CheckCode::CodeResponseType,
            CheckCode::AuthorizationCodeGrant,
            CheckCode::PkceS256,
            CheckCode::ClientRegistration,
            CheckCode::JwksUri
        ]
    );
    let printed = report.to_string();
    assert_eq!(printed.lines().count(), 5);
    assert!(
        printed
            .lines()
            .all(|line| line.starts_with("FAIL") || line.starts_with("warn")),
        "{printed}"
    );
}
