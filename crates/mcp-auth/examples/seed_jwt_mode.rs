//! The JWT-mode examples of mcp-auth's "Configure Bearer auth in MCP server" page, in Rust, run
//! against a real (test) authorization server on 127.0.0.1:
//!
//! 1. scope validation: `required_scopes=["read", "write"]`, a token missing one gets 403;
//! 2. audience validation (RFC 8707): `resource` and `audience` set, a token for another
//!    resource gets 401;
//! 3. `leeway=10`: a token expired 30 s ago is refused (the default 60 s would accept it).
//!
//! `cargo run --example seed_jwt_mode --features testing` prints each request and its answer
//! and exits non-zero if any answer differs from the page's.

use std::error::Error;
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use mcp_auth::bearer::BearerAuthBuilder;
use mcp_auth::testing::TestIssuer;
use mcp_auth::{McpAuth, ProtectedResource};

/// One request of the walk-through: a token, and the status the seed page says it gets.
struct Case {
    what: &'static str,
    token: String,
    expected: u16,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let issuer = TestIssuer::start().await?;
    let mut failures = 0;

    println!("1. Scope validation: required_scopes=[\"read\", \"write\"]");
    let resource = serve(&issuer, |bearer, resource| {
        bearer
            .resource(resource)
            .audience(resource)
            .required_scopes(["read", "write"])
    })
    .await?;
    let token = |scopes: &[&'static str]| {
        issuer
            .token()
            .audience(&resource)
            .scopes(scopes.iter().copied())
            .sign()
    };
    failures += check(
        &resource,
        [
            Case {
                what: "scopes read write",
                token: token(&["read", "write"])?,
                expected: 200,
            },
            Case {
                what: "scope read only",
                token: token(&["read"])?,
                expected: 403,
            },
        ],
    )
    .await?;

    println!("2. Audience validation (RFC 8707): the same resource and audience");
    let scoped = || issuer.token().scopes(["read", "write"]);
    failures += check(
        &resource,
        [
            Case {
                what: "aud = this resource",
                token: scoped().audience(&resource).sign()?,
                expected: 200,
            },
            Case {
                what: "aud = another resource",
                token: scoped().audience("https://other.example.com").sign()?,
                expected: 401,
            },
        ],
    )
    .await?;

    println!("3. leeway=10");
    let resource = serve(&issuer, |bearer, resource| {
        bearer
            .resource(resource)
            .audience(resource)
            .required_scopes(["read", "write"])
            .leeway(Duration::from_secs(10))
    })
    .await?;
    let expiring = |seconds| {
        issuer
            .token()
            .audience(&resource)
            .scopes(["read", "write"])
            .expires_in(seconds)
            .sign()
    };
    failures += check(
        &resource,
        [
            Case {
                what: "expired 5 s ago (within leeway)",
                token: expiring(-5)?,
                expected: 200,
            },
            Case {
                what: "expired 30 s ago",
                token: expiring(-30)?,
                expected: 401,
            },
        ],
    )
    .await?;

    if failures > 0 {
        return Err(format!("{failures} answers differ from the seed page").into());
    }
    println!("every answer is the seed page's");
    Ok(())
}

/// Serves a protected `/mcp` trusting `issuer` (lazily discovered), with the layer `configure`
/// makes; returns its URL, which is also the resource identifier.
async fn serve(
    issuer: &TestIssuer,
    configure: impl FnOnce(BearerAuthBuilder, &str) -> BearerAuthBuilder,
) -> Result<String, Box<dyn Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let resource = format!("http://{}/mcp", listener.local_addr()?);
    let auth = McpAuth::builder()
        .protected_resource(
            ProtectedResource::new(&resource).authorization_server(issuer.lazy_config()),
        )
        .build()?;
    let bearer = configure(auth.bearer(), &resource).build()?;
    let app = Router::new()
        .route("/mcp", post(|| async { "hello" }))
        .layer(bearer)
        .merge(auth.metadata_router());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(resource)
}

/// Sends each case and prints its answer; returns how many differ from the expectation.
async fn check(url: &str, cases: impl IntoIterator<Item = Case>) -> Result<usize, Box<dyn Error>> {
    let client = reqwest::Client::new();
    let mut failures = 0;
    for case in cases {
        let response = client.post(url).bearer_auth(&case.token).send().await?;
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        let verdict = if status == case.expected {
            "ok  "
        } else {
            "FAIL"
        };
        if status != case.expected {
            failures += 1;
        }
        println!(
            "   {verdict} {:<34} -> {status} (expected {}) {challenge}",
            case.what, case.expected
        );
    }
    Ok(failures)
}
