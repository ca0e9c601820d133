//! A real authorization server for tests (feature `testing`): it listens on 127.0.0.1, publishes
//! RFC 8414 and OpenID metadata and a key set with RSA, EC and Ed25519 keys, signs tokens with
//! the claims you choose, issues them to registered clients at a `client_credentials` token
//! endpoint honouring RFC 8707 `resource`, runs the authorization code flow of interactive MCP
//! clients (dynamic registration or client metadata documents, PKCE S256, a consent page or
//! auto-approval, rotated refresh tokens; see
//! [`authorization_endpoint`](TestIssuer::authorization_endpoint)), mints opaque tokens and
//! answers for them at an RFC 7662 introspection endpoint and at user endpoints shaped as
//! OpenID Connect UserInfo, Google's tokeninfo and GitHub's `/user`, and lets a test break it (down,
//! rotated keys, broken key set, slow or lying introspection) and count what was fetched from
//! it.
//!
//! [`TestIssuer::start`] publishes keys generated in the running process (once per process:
//! its issuers share them), so no one else can sign tokens it vouches for. Tests that need the
//! same keys at every run use [`TestIssuer::start_with_fixture_keys`] and [`TestKey::fixtures`]
//! instead: the private halves of those ship with the crate, so anyone can sign with them.
//! Either way this issuer hands tokens to whoever asks: never trust it outside tests and demos.
//!
//! It lives in the library, behind a feature that is off by default, rather than in a crate of
//! its own, for two reasons. The library's own unit tests drive crate-private parts (the key
//! cache, the shared issuer source, the verified-token cache) against it with a moved clock; as
//! a separate crate depending on this one it would hand those tests a second copy of the
//! library's types. And it applies rules the library owns (the hardened HTTP client that fetches
//! client metadata documents, the loopback rules, DPoP's `ath`): a separate crate would need them
//! made public or copied, and a rule with two homes drifts. Off by default, it costs users
//! nothing.
//!
//! Any web page the user opens could call it, so it limits what pages may do:
//!
//! - it answers only requests for its own authority (`Host: 127.0.0.1:PORT`); another `Host`
//!   gets 421 Misdirected Request (against DNS rebinding);
//! - CORS: the metadata and the key set are public, readable by any origin (`*`); the
//!   registration and token endpoints answer pages on this machine only (an `Origin` on
//!   `localhost`, `127.0.0.0/8` or `[::1]`, such as the MCP Inspector's web UI on
//!   `http://localhost:6274`), and refuse a request from any other page with 403 before reading
//!   it; nothing else answers CORS;
//! - a client metadata document is fetched from global addresses only (loopback too, the issuer
//!   being on loopback), checked on the addresses its name resolves to, and every failure to
//!   fetch it reads the same on the refusal page (details in the debug log);
//! - one client has at most 10 requests waiting at the consent page and 10 unused codes; past
//!   that it gets `temporarily_unavailable`.
//!
//! ```
//! use mcp_auth::testing::TestIssuer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = TestIssuer::start().await?;
//! let token = issuer
//!     .token()
//!     .audience("https://api.example.com/mcp")
//!     .subject("alice")
//!     .scopes(["read"])
//!     .sign()?;
//! assert_eq!(token.split('.').count(), 3);
//! # Ok(()) }
//! ```
//!
//! An opaque token means nothing to its holder: a resource server asks the issuer about it at
//! the introspection endpoint, authenticating as a registered client. The issuer answers with
//! the claims it was minted with until it expires or is [revoked](TestIssuer::revoke).
//!
//! ```
//! use mcp_auth::testing::{TestClient, TestIssuer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = TestIssuer::start().await?;
//! issuer.register_client(TestClient {
//!     id: "resource-server".into(),
//!     secret: "s3cret".into(),
//!     scopes: vec![],
//! });
//! let token = issuer.token().subject("alice").scopes(["read"]).opaque()?;
//!
//! let answer: serde_json::Value = reqwest::Client::new()
//!     .post(issuer.introspection_endpoint())
//!     .basic_auth("resource-server", Some("s3cret"))
//!     .form(&[("token", &token)])
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(answer["active"], true);
//! assert_eq!(answer["sub"], "alice");
//! assert_eq!(answer["scope"], "read");
//! # Ok(()) }
//! ```

mod authorize;
mod browser;
mod client;
mod client_document;
mod dpop;
mod endpoint;
mod error;
mod global_address;
mod grants;
mod introspection;
mod keys;
mod pages;
mod pkce;
mod profiles;
mod public_client;
mod random;
mod redirect_uri;
mod registration;
mod server;
mod state;
mod token;
mod token_endpoint;
mod userinfo;

pub use client::TestClient;
pub use dpop::DpopKey;
pub use error::TestingError;
pub use keys::{KeyMaterial, TestKey};
pub use profiles::{ENTRA_TENANT, PROFILE_CLIENT, Profile};
pub use server::TestIssuer;
pub use token::TokenBuilder;
