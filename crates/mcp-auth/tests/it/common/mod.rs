//! What the integration tests share: a custom verifier with fixed tokens, servers on 127.0.0.1,
//! and a parser for `WWW-Authenticate` challenges.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::Router;
use mcp_auth::metadata::AuthorizationServerMetadata;
use mcp_auth::{
    AuthInfo, AuthServerConfig, AuthServerType, McpAuth, ProtectedResource, VerifyError,
};
use tokio::net::TcpListener;

pub const ISSUER: &str = "https://auth.example.com";
pub const OTHER_ISSUER: &str = "https://second-auth.example.com";
pub const UNTRUSTED_ISSUER: &str = "https://evil.example.com";

/// A server listening on 127.0.0.1 with a port chosen by the system.
pub struct TestServer {
    pub addr: SocketAddr,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Binds 127.0.0.1:0, lets `make_app` build the app knowing the address, and serves it.
pub async fn serve<F>(make_app: F) -> TestServer
where
    F: FnOnce(SocketAddr) -> Router,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = make_app(addr);
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    TestServer { addr }
}

/// `info` with one change: `AuthInfo` cannot be written as a struct literal outside its crate.
pub fn changed(mut info: AuthInfo, change: impl FnOnce(&mut AuthInfo)) -> AuthInfo {
    change(&mut info);
    info
}

/// `McpAuth` for one resource trusting [`ISSUER`] and [`OTHER_ISSUER`].
pub fn mcp_auth(resource: &str) -> McpAuth {
    McpAuth::builder()
        .protected_resource(
            ProtectedResource::new(resource)
                .authorization_server(AuthServerConfig::new(
                    AuthorizationServerMetadata::new(ISSUER),
                    AuthServerType::Oidc,
                ))
                .authorization_server(AuthServerConfig::new(
                    AuthorizationServerMetadata::new(OTHER_ISSUER),
                    AuthServerType::OAuth,
                ))
                .scopes_supported(["read", "write", "files", "files:read"])
                .resource_name("Test MCP server"),
        )
        .build()
        .unwrap()
}

/// A verifier accepting fixed tokens for `resource`:
/// - `alice`, `bob`: scopes `read write`, audience `resource`, issuer [`ISSUER`]
/// - `reader`: scope `read` only
/// - `files-owner`: scope `files` only
/// - `second-issuer`: issued by [`OTHER_ISSUER`], scopes `read write`
/// - `untrusted`: issued by [`UNTRUSTED_ISSUER`]
/// - `other-audience`: audience `https://other.example.com/mcp`
/// - `many-audiences`: audience `[other, resource]`
/// - `expired`: `exp` two minutes ago; `expired-in-leeway`: `exp` 30 s ago
/// - `no-expiry`: no `expires_at` (an opaque token that does not expire)
/// - `no-audience`: an empty audience
/// - `unavailable`: the verifier's key source is down
/// - `leaky`: refused with a message that quotes the token and hostile characters
/// - anything else: refused
pub fn fixed_tokens(
    resource: &str,
) -> impl Fn(String) -> std::future::Ready<Result<AuthInfo, VerifyError>> + Send + Sync + 'static {
    let resource = resource.to_owned();
    move |token: String| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let info = |subject: &str, scopes: &[&str]| {
            AuthInfo::new(ISSUER, [resource.clone()])
                .with_subject(subject)
                .with_client_id(format!("{subject}-client"))
                .with_scopes(scopes.iter().copied())
                .with_expires_at(now + 3600)
                .with_claims(
                    serde_json::json!({ "sub": subject, "custom": 7 })
                        .as_object()
                        .unwrap()
                        .clone(),
                )
        };
        std::future::ready(match token.as_str() {
            "alice" | "bob" => Ok(info(&token, &["read", "write"])),
            "reader" => Ok(info("reader", &["read"])),
            "files-owner" => Ok(info("files-owner", &["files"])),
            "second-issuer" => Ok(changed(info("second", &["read", "write"]), |i| {
                i.issuer = OTHER_ISSUER.to_owned()
            })),
            "untrusted" => Ok(changed(info("mallory", &["read", "write"]), |i| {
                i.issuer = UNTRUSTED_ISSUER.to_owned()
            })),
            "other-audience" => Ok(changed(info("alice", &["read", "write"]), |i| {
                i.audience = vec!["https://other.example.com/mcp".to_owned()]
            })),
            "many-audiences" => Ok(changed(info("alice", &["read", "write"]), |i| {
                i.audience = vec!["https://other.example.com/mcp".to_owned(), resource.clone()]
            })),
            "expired" => Ok(changed(info("alice", &["read", "write"]), |i| {
                i.expires_at = Some(now - 120)
            })),
            "expired-in-leeway" => Ok(changed(info("alice", &["read", "write"]), |i| {
                i.expires_at = Some(now - 30)
            })),
            "no-expiry" => Ok(changed(info("alice", &["read", "write"]), |i| {
                i.expires_at = None
            })),
            "no-audience" => Ok(changed(info("alice", &["read", "write"]), |i| {
                i.audience = Vec::new()
            })),
            "unavailable" => Err(VerifyError::unavailable(
                "introspection endpoint unreachable",
            )),
            "leaky" => Err(VerifyError::invalid_token(
                "token leaky is \"bad\"\r\nX-Injected: yes",
            )),
            _ => Err(VerifyError::invalid_token("unknown token")),
        })
    }
}

/// A parsed `WWW-Authenticate` challenge: its scheme and its parameters, each present once.
#[derive(Debug, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// Parses `Scheme name="value", name="value"` strictly (RFC 9110 §11.2 auth-param with
/// quoted-string values, RFC 6750 §3 character set for values), panicking on anything else.
pub fn parse_challenge(header: &str) -> Challenge {
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = BTreeMap::new();
    let mut rest = rest.trim_start();
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .unwrap_or_else(|| panic!("no '=' in {header:?}"));
        let name = rest[..eq].trim().to_ascii_lowercase();
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "bad parameter name {name:?} in {header:?}"
        );
        let after = &rest[eq + 1..];
        assert!(after.starts_with('"'), "unquoted value in {header:?}");
        let close = after[1..]
            .find('"')
            .unwrap_or_else(|| panic!("unterminated value in {header:?}"));
        let value = &after[1..=close];
        assert!(
            value
                .bytes()
                .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
            "value {value:?} outside RFC 6750's character set"
        );
        assert!(
            params.insert(name.clone(), value.to_owned()).is_none(),
            "parameter {name} twice in {header:?}"
        );
        rest = after[close + 2..].trim_start();
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim_start();
            assert!(!rest.is_empty(), "trailing comma in {header:?}");
        } else {
            assert!(rest.is_empty(), "missing comma in {header:?}");
        }
    }
    Challenge {
        scheme: scheme.to_owned(),
        params,
    }
}

/// The one `WWW-Authenticate` challenge among `headers`, parsed strictly; panics when there is
/// none, or more than one.
pub fn one_challenge(headers: &http::HeaderMap) -> Challenge {
    let values: Vec<_> = headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .collect();
    assert_eq!(values.len(), 1, "one challenge expected, got {values:?}");
    parse_challenge(values[0].to_str().unwrap())
}

/// `[(name, value)]` as the parameters of a [`Challenge`], for comparing whole challenges.
pub fn challenge_params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

pub mod cerbos;
#[cfg(feature = "testing")]
pub mod forge;
#[cfg(feature = "testing")]
pub mod jwt;

/// What is logged while `run` runs on this thread, at the default level (`info` and above).
pub async fn logs_of<F: std::future::Future>(run: F) -> (F::Output, String) {
    logs_at(tracing::Level::INFO, run).await
}

/// What is logged at `level` and above while `run` runs on this thread.
///
/// One capture at a time: the tests share one binary, and tracing's per-callsite interest is
/// global, so two captures running together could each miss the other's level.
pub async fn logs_at<F: std::future::Future>(level: tracing::Level, run: F) -> (F::Output, String) {
    static ONE_CAPTURE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one_at_a_time = ONE_CAPTURE_AT_A_TIME.lock().await;
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let output = run.await;
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    (output, logs)
}
