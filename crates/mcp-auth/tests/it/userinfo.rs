//! Userinfo mode, over real HTTP against the test issuer's user endpoints, each shaped as its
//! provider documents it:
//!
//! - OpenID Connect UserInfo: OpenID Connect Core 1.0 §5.3
//!   (<https://openid.net/specs/openid-connect-core-1_0.html#UserInfo>);
//! - Google tokeninfo: "Validating an access token"
//!   (<https://developers.google.com/identity/protocols/oauth2/web-server>, tokeninfo's answer:
//!   `azp`, `aud`, `sub`, `scope`, `exp` and `expires_in` as strings; 400 `invalid_token`), the
//!   method from Google's API Discovery document (`oauth2.tokeninfo`: `POST`);
//! - GitHub: "Get the authenticated user" (<https://docs.github.com/en/rest/users/users>),
//!   scopes in `X-OAuth-Scopes` ("Scopes for OAuth apps",
//!   <https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps>),
//!   `X-OAuth-Client-Id` as in "Getting started with the REST API"
//!   (<https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api>),
//!   "Get an organization membership for the authenticated user"
//!   (<https://docs.github.com/en/rest/orgs/members>).
#![cfg(feature = "testing")]

use std::time::Duration;

use futures::future::join_all;
use mcp_auth::bearer::BearerAuthBuilder;
use mcp_auth::metadata::AuthorizationServerMetadata;
use mcp_auth::testing::TestIssuer;
use mcp_auth::verify::{IntrospectionOptions, JwtOptions, UserinfoOptions};
use mcp_auth::{AuthServerConfig, AuthServerType, ConfigError, McpAuth, ProtectedResource};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::jwt::JwtApp;
use crate::common::{logs_at, logs_of};

const UNKNOWN: &str = "the provider does not know the token";
const WRONG_AUDIENCE: &str = "the token's audience does not include this resource";
const NOT_MEMBER: &str = "the user is not an active member of the GitHub organization acme";
const OUR_CLIENT: &str = "our-client";

#[derive(Debug, Clone, Copy)]
enum Kind {
    Oidc,
    Google,
    GitHub,
}

const KINDS: [Kind; 3] = [Kind::Oidc, Kind::Google, Kind::GitHub];

/// The options of `kind` pointed at `issuer`'s endpoint of that shape (OpenID Connect: found in
/// its metadata).
fn options(kind: Kind, issuer: &TestIssuer) -> UserinfoOptions {
    match kind {
        Kind::Oidc => UserinfoOptions::oidc().accept_any_audience(),
        Kind::Google => UserinfoOptions::google().endpoint(issuer.tokeninfo_endpoint()),
        Kind::GitHub => UserinfoOptions::github().endpoint(issuer.github_user_endpoint()),
    }
}

/// A resource in userinfo mode only, trusting a fresh test issuer (discovered lazily), with
/// `OUR_CLIENT` allowed for Google and GitHub, then `configure`.
async fn app_with(
    kind: Kind,
    change: impl FnOnce(UserinfoOptions) -> UserinfoOptions,
    configure: impl FnOnce(BearerAuthBuilder) -> BearerAuthBuilder,
) -> JwtApp {
    let issuer = TestIssuer::start().await.unwrap();
    let config = issuer.lazy_config();
    let options = change(options(kind, &issuer));
    JwtApp::start_with(issuer, vec![config], move |bearer| {
        let bearer = bearer.userinfo(options).without_jwt();
        let bearer = match kind {
            Kind::Oidc => bearer,
            Kind::Google | Kind::GitHub => bearer.allowed_client_ids([OUR_CLIENT]),
        };
        configure(bearer)
    })
    .await
}

async fn app(kind: Kind) -> JwtApp {
    app_with(kind, |options| options, |bearer| bearer).await
}

/// A good opaque token of `app`'s issuer for our client, of user `alice` (GitHub id 583231).
fn good_token(app: &JwtApp) -> String {
    app.issuer
        .token()
        .subject("alice")
        .client_id(OUR_CLIENT)
        .scopes(["read", "write"])
        .claim("email", json!("alice@example.com"))
        .claim("id", json!(583_231))
        .opaque()
        .unwrap()
}

#[tokio::test]
async fn oidc_userinfo_gives_the_subject_and_claims_and_no_scopes() {
    let app = app(Kind::Oidc).await;
    let info = app.accepted(&good_token(&app)).await;
    assert_eq!(info["subject"], "alice");
    assert_eq!(info["issuer"], app.issuer.issuer());
    assert_eq!(info["client_id"], Value::Null, "UserInfo does not name it");
    assert_eq!(info["scopes"], json!([]));
    assert_eq!(
        info["audience"],
        json!([app.resource]),
        "accept_any_audience"
    );
    assert_eq!(info["claims"]["email"], "alice@example.com");
    assert_eq!(
        info["claims"]["scope"],
        Value::Null,
        "the token's own claims are not the user's"
    );
    assert_eq!(app.issuer.userinfo_calls(), 1);
}

#[tokio::test]
async fn google_tokeninfo_gives_the_subject_client_scopes_and_expiry() {
    let app = app(Kind::Google).await;
    let token = app
        .issuer
        .token()
        .subject("1057")
        .client_id(OUR_CLIENT)
        .scopes(["openid", "https://www.googleapis.com/auth/userinfo.email"])
        .claim("email", json!("alice@example.com"))
        .expires_in(600)
        .opaque()
        .unwrap();
    let info = app.accepted(&token).await;
    assert_eq!(info["subject"], "1057");
    assert_eq!(info["client_id"], OUR_CLIENT);
    assert_eq!(info["audience"], json!([OUR_CLIENT]));
    assert_eq!(
        info["scopes"],
        json!(["openid", "https://www.googleapis.com/auth/userinfo.email"])
    );
    assert!(info["expires_at"].as_u64().is_some());
    assert_eq!(info["claims"]["exp"], json!(info["expires_at"].to_string()));
    assert_eq!(info["claims"]["email"], "alice@example.com");
    assert_eq!(info["issuer"], app.issuer.issuer());
}

#[tokio::test]
async fn github_gives_the_numeric_id_the_header_scopes_and_the_app() {
    let app = app(Kind::GitHub).await;
    let info = app.accepted(&good_token(&app)).await;
    assert_eq!(info["subject"], "583231", "the id, not the login");
    assert_eq!(info["claims"]["login"], "alice");
    assert_eq!(
        info["scopes"],
        json!(["read", "write"]),
        "from X-OAuth-Scopes"
    );
    assert_eq!(info["client_id"], OUR_CLIENT, "from X-OAuth-Client-Id");
    assert_eq!(info["audience"], json!([]));
    assert_eq!(info["issuer"], app.issuer.issuer());
}

#[tokio::test]
async fn roles_and_role_scopes_apply_to_userinfo_identities() {
    let app = app_with(
        Kind::Oidc,
        |options| options,
        |bearer| {
            bearer
                .roles_claim("groups")
                .role_scopes("admins", ["admin"])
        },
    )
    .await;
    let token = app
        .issuer
        .token()
        .claim("groups", json!(["admins"]))
        .opaque()
        .unwrap();
    let info = app.accepted(&token).await;
    assert_eq!(info["roles"], json!(["admins"]));
    assert_eq!(info["scopes"], json!(["admin"]));
}

#[tokio::test]
async fn unknown_revoked_and_expired_tokens_get_401_invalid_token() {
    for kind in KINDS {
        let app = app(kind).await;
        app.refused("no-such-token", UNKNOWN).await;
        let revoked = good_token(&app);
        app.issuer.revoke(&revoked);
        app.refused(&revoked, UNKNOWN).await;
        let expired = app.issuer.token().expires_in(-120).opaque().unwrap();
        app.refused(&expired, UNKNOWN).await;
    }
}

#[tokio::test]
async fn a_provider_that_fails_gives_503_never_a_pass() {
    for kind in KINDS {
        let app = app_with(
            kind,
            |options| options.timeout(Duration::from_millis(300)),
            |bearer| bearer,
        )
        .await;
        // Found first, so the failures below are the provider's.
        app.accepted(&good_token(&app)).await;
        app.issuer.set_userinfo_delay(Duration::from_secs(2));
        let started = std::time::Instant::now();
        app.unavailable(&good_token(&app)).await;
        assert!(started.elapsed() < Duration::from_secs(2), "{kind:?}");
        app.issuer.set_userinfo_delay(Duration::ZERO);
        app.issuer.set_down(true);
        app.unavailable(&good_token(&app)).await;
    }
}

#[tokio::test]
async fn answers_too_large_or_of_the_wrong_shape_give_503() {
    for kind in KINDS {
        let app = app_with(kind, |options| options.max_response_bytes(200), |b| b).await;
        let large = app
            .issuer
            .token()
            .client_id(OUR_CLIENT)
            .claim("email", json!("x".repeat(300)))
            .opaque()
            .unwrap();
        app.unavailable(&large).await;
    }
    // UserInfo without `sub`; GitHub without a numeric `id`.
    let oidc = app(Kind::Oidc).await;
    oidc.unavailable(&oidc.issuer.token().without("sub").opaque().unwrap())
        .await;
    let github = app(Kind::GitHub).await;
    let no_id = github
        .issuer
        .token()
        .client_id(OUR_CLIENT)
        .claim("id", json!("583231"))
        .opaque()
        .unwrap();
    github.unavailable(&no_id).await;
}

#[tokio::test]
async fn a_repeated_token_costs_one_call_and_a_new_one_one_call_for_concurrent_requests() {
    for kind in KINDS {
        let app = app(kind).await;
        let token = good_token(&app);
        for _ in 0..10 {
            app.accepted(&token).await;
        }
        assert_eq!(app.issuer.userinfo_calls(), 1, "{kind:?}: cached");
        for _ in 0..3 {
            app.refused("unknown", UNKNOWN).await;
        }
        assert_eq!(app.issuer.userinfo_calls(), 2, "{kind:?}: refusals too");

        app.issuer.set_userinfo_delay(Duration::from_millis(300));
        let fresh = good_token(&app);
        let responses = join_all((0..50).map(|_| app.call(&fresh))).await;
        assert!(responses.iter().all(|r| r.status() == StatusCode::OK));
        assert_eq!(app.issuer.userinfo_calls(), 3, "{kind:?}: single flight");
    }
}

#[tokio::test]
async fn an_answer_is_not_kept_past_the_cache_ttl() {
    for kind in KINDS {
        let app = app_with(kind, |options| options.cache_ttl(Duration::ZERO), |b| b).await;
        let token = good_token(&app);
        app.accepted(&token).await;
        app.issuer.revoke(&token);
        app.refused(&token, UNKNOWN).await;
        assert_eq!(app.issuer.userinfo_calls(), 2, "{kind:?}");
    }
}

#[tokio::test]
async fn a_google_answer_is_not_kept_past_the_token_s_expiry() {
    let app = app(Kind::Google).await;
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    // Two whole seconds ahead, so that it is still valid at the first call.
    let exp = now() + 2;
    let token = app
        .issuer
        .token()
        .client_id(OUR_CLIENT)
        .claim("exp", json!(exp))
        .opaque()
        .unwrap();
    app.accepted(&token).await;
    app.accepted(&token).await;
    assert_eq!(app.issuer.userinfo_calls(), 1);
    while now() <= exp {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The cache TTL (60 s) has not passed, the token's expiry has: asked again.
    app.refused(&token, UNKNOWN).await;
    assert_eq!(app.issuer.userinfo_calls(), 2);
}

#[tokio::test]
async fn a_zero_cache_capacity_keeps_nothing() {
    for kind in KINDS {
        let app = app_with(kind, |options| options.cache_capacity(0), |b| b).await;
        let token = good_token(&app);
        for _ in 0..3 {
            app.accepted(&token).await;
        }
        for _ in 0..2 {
            app.refused("unknown", UNKNOWN).await;
        }
        assert_eq!(app.issuer.userinfo_calls(), 5, "{kind:?}");
    }
}

#[tokio::test]
async fn calls_are_bounded_per_second_and_the_excess_gets_503() {
    for kind in KINDS {
        let app = app_with(kind, |options| options.max_calls_per_second(3), |b| b).await;
        for index in 0..3 {
            app.refused(&format!("made-up-{index}"), UNKNOWN).await;
        }
        for index in 3..8 {
            app.unavailable(&format!("made-up-{index}")).await;
        }
        assert_eq!(app.issuer.userinfo_calls(), 3, "{kind:?}");
        // A kept answer costs no call.
        app.refused("made-up-0", UNKNOWN).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        app.refused("made-up-9", UNKNOWN).await;
        assert_eq!(
            app.issuer.userinfo_calls(),
            4,
            "{kind:?}: the budget refills"
        );
    }
}

#[tokio::test]
async fn a_google_token_of_another_client_is_refused() {
    let app = app(Kind::Google).await;
    for other in [
        app.issuer
            .token()
            .client_id("another-app")
            .opaque()
            .unwrap(),
        // Issued to our client on behalf of another app (`azp` wins over `aud`).
        app.issuer
            .token()
            .audience(OUR_CLIENT)
            .claim("azp", json!("another-app"))
            .opaque()
            .unwrap(),
    ] {
        let challenge = app.challenge(&other, StatusCode::UNAUTHORIZED).await;
        assert_eq!(challenge.param("error"), Some("invalid_token"));
        assert_eq!(challenge.param("error_description"), Some(WRONG_AUDIENCE));
    }
}

#[tokio::test]
async fn github_tokens_without_our_app_need_the_named_relaxation() {
    // A fine-grained token: no X-OAuth-Scopes, no X-OAuth-Client-Id.
    let fine_grained = |app: &JwtApp| app.issuer.token().claim("id", json!(7)).opaque().unwrap();
    let strict = app(Kind::GitHub).await;
    strict.refused(&fine_grained(&strict), WRONG_AUDIENCE).await;
    let another_app = strict
        .issuer
        .token()
        .client_id("another-app")
        .opaque()
        .unwrap();
    strict.refused(&another_app, WRONG_AUDIENCE).await;

    let issuer = TestIssuer::start().await.unwrap();
    let config = issuer.lazy_config();
    let options = options(Kind::GitHub, &issuer).accept_any_audience();
    let relaxed = JwtApp::start_with(issuer, vec![config], |bearer| {
        bearer.userinfo(options).without_jwt()
    })
    .await;
    let info = relaxed.accepted(&fine_grained(&relaxed)).await;
    assert_eq!(info["subject"], "7");
    assert_eq!(
        info["scopes"],
        json!([]),
        "fine-grained tokens have no scopes"
    );
    assert_eq!(info["audience"], json!([relaxed.resource]));
}

#[tokio::test]
async fn github_org_membership_is_required_when_set() {
    let app = app_with(Kind::GitHub, |options| options.github_org("acme"), |b| b).await;
    let of = |subject: &str| {
        app.issuer
            .token()
            .subject(subject)
            .client_id(OUR_CLIENT)
            .opaque()
            .unwrap()
    };
    app.issuer
        .set_github_membership("acme", "member", Some("active"));
    app.issuer
        .set_github_membership("acme", "invited", Some("pending"));
    app.issuer
        .set_github_membership("other-org", "outsider", Some("active"));
    assert_eq!(
        app.accepted(&of("member")).await["claims"]["login"],
        "member"
    );
    assert_eq!(app.issuer.userinfo_calls(), 2, "/user, then the membership");
    app.refused(&of("invited"), NOT_MEMBER).await;
    app.refused(&of("outsider"), NOT_MEMBER).await;
    app.refused("unknown", UNKNOWN).await;
    app.issuer.set_down(true);
    app.unavailable(&of("member-2")).await;
}

/// GitHub answers 403 past its rate limit (`x-ratelimit-remaining: 0`): the token is fine,
/// so the answer is 503 (retry later), never a refusal that makes clients drop the token.
#[tokio::test]
async fn github_past_its_rate_limit_gives_503_not_a_refusal() {
    let app = app_with(Kind::GitHub, |options| options.github_org("acme"), |b| b).await;
    app.issuer
        .set_github_membership("acme", "member", Some("active"));
    let member = app
        .issuer
        .token()
        .subject("member")
        .client_id(OUR_CLIENT)
        .opaque()
        .unwrap();
    app.issuer.set_userinfo_rate_limited(true);
    app.unavailable(&member).await;
    app.issuer.set_userinfo_rate_limited(false);
    app.accepted(&member).await;
}

#[tokio::test]
async fn jwts_go_to_jwt_mode_and_opaque_tokens_to_userinfo() {
    let app = app_with(
        Kind::Oidc,
        |o| o,
        |bearer| bearer.jwt(JwtOptions::default()),
    )
    .await;
    app.accepted(&app.token().sign().unwrap()).await;
    assert_eq!(app.issuer.userinfo_calls(), 0);
    app.accepted(&good_token(&app)).await;
    assert_eq!(app.issuer.userinfo_calls(), 1);
}

#[tokio::test]
async fn no_token_in_logs_errors_or_challenges() {
    for kind in KINDS {
        let app = app_with(
            kind,
            |options| options.timeout(Duration::from_millis(200)),
            |b| b,
        )
        .await;
        let good = good_token(&app);
        let other = app
            .issuer
            .token()
            .client_id("another-app")
            .opaque()
            .unwrap();
        let unknown = "unknown-token-3f9a27";
        let slow = good_token(&app);
        let down = good_token(&app);
        let ((), logs) = logs_at(tracing::Level::TRACE, async {
            app.accepted(&good).await;
            // OpenID Connect accepts any client here (accept_any_audience).
            let refused = match kind {
                Kind::Oidc => vec![unknown],
                Kind::Google | Kind::GitHub => vec![other.as_str(), unknown],
            };
            for token in refused {
                let response = app.call(token).await;
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
                let challenge = format!("{:?}", response.headers());
                assert!(!challenge.contains(token), "{challenge}");
            }
            app.issuer.set_userinfo_delay(Duration::from_secs(1));
            app.unavailable(&slow).await;
            app.issuer.set_userinfo_delay(Duration::ZERO);
            app.issuer.set_down(true);
            app.unavailable(&down).await;
        })
        .await;
        assert!(!logs.is_empty(), "{kind:?}: the capture works");
        for token in [good.as_str(), &other, unknown, &slow, &down] {
            assert!(!logs.contains(token), "{kind:?}: {logs}");
        }
    }
}

#[tokio::test]
async fn the_relaxation_is_logged_when_the_layer_is_built() {
    let (app, logs) = logs_of(app(Kind::Oidc)).await;
    assert!(logs.contains("WARN"), "{logs}");
    assert!(
        logs.contains("UserinfoOptions::accept_any_audience"),
        "{logs}"
    );
    drop(app);
}

/// Builds a layer guarding `https://mcp.example.com/mcp`, trusting `servers`, with `options`
/// and `configure`; its error, if any.
fn build_error(
    servers: Vec<AuthServerConfig>,
    options: UserinfoOptions,
    configure: impl FnOnce(BearerAuthBuilder) -> BearerAuthBuilder,
) -> Option<ConfigError> {
    let resource = servers.into_iter().fold(
        ProtectedResource::new("https://mcp.example.com/mcp"),
        |r, s| r.authorization_server(s),
    );
    let auth = McpAuth::builder()
        .protected_resource(resource)
        .build()
        .unwrap();
    configure(auth.bearer().userinfo(options)).build().err()
}

fn invalid(setting: &'static str, reason: &str) -> Option<ConfigError> {
    Some(ConfigError::InvalidSetting {
        of: "UserinfoOptions",
        setting,
        reason: reason.to_owned(),
    })
}

#[test]
fn settings_are_checked_when_the_layer_is_built() {
    let google = || AuthServerConfig::lazy("https://accounts.google.com", AuthServerType::Oidc);
    let mut metadata = AuthorizationServerMetadata::new("https://auth.example.com");
    metadata.userinfo_endpoint = Some("https://auth.example.com/userinfo".to_owned());
    metadata.jwks_uri = Some("https://auth.example.com/jwks".to_owned());
    let inline = || AuthServerConfig::new(metadata.clone(), AuthServerType::Oidc);
    let bare = || {
        AuthServerConfig::new(
            AuthorizationServerMetadata::new("https://auth.example.com"),
            AuthServerType::Oidc,
        )
    };
    let ok_google = |b: BearerAuthBuilder| b.allowed_client_ids(["app"]).without_jwt();
    let no_jwt = |b: BearerAuthBuilder| b.without_jwt();

    // Whose audience: Google needs our clients, OpenID Connect the relaxation, GitHub either.
    assert!(matches!(
        build_error(vec![google()], UserinfoOptions::google(), no_jwt),
        Some(ConfigError::InvalidSetting { of: "UserinfoOptions", setting: "google", reason })
            if reason.contains("allowed_client_ids")
    ));
    assert_eq!(
        build_error(vec![google()], UserinfoOptions::google(), ok_google),
        None
    );
    assert!(matches!(
        build_error(vec![inline()], UserinfoOptions::oidc(), ok_google),
        Some(ConfigError::InvalidSetting { setting: "oidc", reason, .. })
            if reason.contains("accept_any_audience")
    ));
    assert_eq!(
        build_error(
            vec![inline()],
            UserinfoOptions::oidc().accept_any_audience(),
            no_jwt
        ),
        None
    );
    assert!(matches!(
        build_error(vec![inline()], UserinfoOptions::github(), no_jwt),
        Some(ConfigError::InvalidSetting {
            setting: "github",
            ..
        })
    ));
    assert_eq!(
        build_error(vec![inline()], UserinfoOptions::github(), ok_google),
        None
    );
    // GitHub's answer holds only what its user edits: no claim of it may give roles.
    assert!(matches!(
        build_error(vec![inline()], UserinfoOptions::github(), |b| ok_google(b)
            .roles_claim("company")),
        Some(ConfigError::InvalidSetting {
            of: "BearerAuthBuilder",
            setting: "roles_claim",
            ..
        })
    ));
    assert_eq!(
        build_error(vec![google()], UserinfoOptions::google(), |b| ok_google(b)
            .roles_claim("hd")),
        None
    );
    assert!(matches!(
        build_error(
            vec![google()],
            UserinfoOptions::google().accept_any_audience(),
            ok_google
        ),
        Some(ConfigError::InvalidSetting {
            setting: "accept_any_audience",
            ..
        })
    ));

    // Zeros: limits refused.
    for (options, setting) in [
        (UserinfoOptions::google().timeout(Duration::ZERO), "timeout"),
        (
            UserinfoOptions::google().max_response_bytes(0),
            "max_response_bytes",
        ),
        (
            UserinfoOptions::google().max_token_bytes(0),
            "max_token_bytes",
        ),
        (
            UserinfoOptions::google().max_calls_per_second(0),
            "max_calls_per_second",
        ),
    ] {
        assert_eq!(
            build_error(vec![google()], options, ok_google),
            invalid(setting, "it must be above zero")
        );
    }
    // Caches turned off by zero: accepted.
    let caches_off = UserinfoOptions::google()
        .cache_ttl(Duration::ZERO)
        .negative_cache_ttl(Duration::ZERO)
        .cache_capacity(0);
    assert_eq!(build_error(vec![google()], caches_off, ok_google), None);
    assert_eq!(
        build_error(
            vec![google()],
            UserinfoOptions::google().cache_ttl(Duration::from_secs(7200)),
            ok_google
        ),
        invalid(
            "cache_ttl",
            "it is above one hour: revocations must be seen eventually"
        )
    );

    // GitHub organizations.
    assert_eq!(
        build_error(
            vec![google()],
            UserinfoOptions::google().github_org("acme"),
            ok_google
        ),
        invalid(
            "github_org",
            "it applies to GitHub only: use UserinfoOptions::github()"
        )
    );
    assert!(matches!(
        build_error(
            vec![bare()],
            UserinfoOptions::github().github_org("a/b"),
            ok_google
        ),
        Some(ConfigError::InvalidSetting {
            setting: "github_org",
            ..
        })
    ));
    assert!(matches!(
        build_error(
            vec![bare()],
            UserinfoOptions::github()
                .github_org("acme")
                .endpoint("https://github.example.com/api/v3/users"),
            ok_google
        ),
        Some(ConfigError::InvalidSetting {
            setting: "github_org",
            ..
        })
    ));
    assert_eq!(
        build_error(
            vec![bare()],
            UserinfoOptions::github()
                .github_org("acme")
                .endpoint("https://github.example.com/api/v3/user"),
            ok_google
        ),
        None
    );

    // Endpoints and issuers.
    let oidc = || UserinfoOptions::oidc().accept_any_audience();
    assert!(matches!(
        build_error(vec![bare()], oidc(), no_jwt),
        Some(ConfigError::InvalidSetting { setting: "endpoint", reason, .. })
            if reason.contains("no userinfo_endpoint")
    ));
    assert!(matches!(
        build_error(
            vec![bare()],
            oidc().endpoint("http://auth.example.com/userinfo"),
            no_jwt
        ),
        Some(ConfigError::InvalidUrl { .. })
    ));
    assert!(matches!(
        build_error(vec![inline(), google()], oidc(), no_jwt),
        Some(ConfigError::InvalidSetting {
            setting: "issuer",
            ..
        })
    ));
    assert!(matches!(
        build_error(
            vec![inline()],
            oidc().issuer("https://nope.example"),
            no_jwt
        ),
        Some(ConfigError::InvalidSetting {
            setting: "issuer",
            ..
        })
    ));
    assert_eq!(
        build_error(
            vec![inline(), google()],
            oidc().issuer("https://auth.example.com"),
            no_jwt
        ),
        None
    );

    // Modes: JWT said or unsaid, never with introspection or a custom verifier.
    assert_eq!(
        build_error(vec![inline()], oidc(), |b| b),
        Some(ConfigError::JwtModeUnstated {
            alongside: "userinfo"
        })
    );
    assert_eq!(
        build_error(vec![inline()], oidc(), |b| b.jwt(JwtOptions::default())),
        None
    );
    assert!(matches!(
        build_error(vec![inline()], oidc(), |b| b
            .introspection(IntrospectionOptions::new("id", "secret"))
            .without_jwt()),
        Some(ConfigError::InvalidSetting {
            of: "BearerAuthBuilder",
            setting: "userinfo",
            ..
        })
    ));
    assert_eq!(
        build_error(vec![inline()], oidc(), |b| b.verifier(|_: String| async {
            Err(mcp_auth::VerifyError::invalid_token("no"))
        })),
        Some(ConfigError::VerifierAndBuiltIn {
            built_in: "userinfo"
        })
    );
}

#[test]
fn options_debug_holds_no_secret_and_the_defaults_are_documented() {
    let options = UserinfoOptions::github().github_org("acme");
    let debug = format!("{options:?}");
    assert!(debug.contains("GitHub"), "{debug}");
    assert!(debug.contains("acme"), "{debug}");
}
