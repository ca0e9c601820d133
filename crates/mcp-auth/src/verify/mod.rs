//! Turning an access token into an [`AuthInfo`]: the [`TokenVerifier`] trait, which plain async
//! functions and closures implement (custom mode), JWT mode's settings ([`JwtOptions`]),
//! introspection mode's ([`IntrospectionOptions`], RFC 7662, with its [`IntrospectionStore`]),
//! API keys ([`ApiKeys`]), and a report on what a key set offers ([`KeySetReport`]).
//!
//! A layer may run JWT mode, introspection and API keys together: the token's shape decides
//! which one verifies it (see
//! [`BearerAuthBuilder::introspection`](crate::bearer::BearerAuthBuilder::introspection)).
//!
//! # How JWT mode decides
//!
//! A token verified before is answered from the verified-token cache; any other goes through
//! every step:
//!
//! 1. size (before decoding), three parts, header: `alg` in the allow-list, no `crit`, optional
//!    `typ`;
//! 2. `iss` must name a trusted authorization server, *before* any network call;
//! 3. the key: by `kid` from that issuer's cached key set; its `kty`, `crv` and `alg` must agree
//!    with the token's `alg`. Keys in token headers (`jwk`, `jku`, `x5u`, `x5c`) are never used
//!    or fetched. Keys for encryption, symmetric keys, unknown types and RSA keys under 2048 bits
//!    are left out of the key set;
//! 4. the signature, with aws-lc-rs keys parsed once per key; the payload must not repeat a
//!    claim;
//! 5. the claims' types: `iss`, `exp` and `aud` (string or array) required, every registered
//!    claim of the wrong JSON type refuses the token; scopes from `scope`, `scp` or `scopes`,
//!    client from `client_id` or `azp`.
//!
//! Then, in every mode, cached or not, the layer applies the same rules to the
//! [`AuthInfo`]: a trusted issuer, an audience of this resource, `exp`, `nbf` and `iat` within
//! the leeway, and the required scopes.
//!
//! # Keys
//!
//! Each trusted issuer's metadata is discovered once for every layer built from one
//! [`McpAuth`](crate::McpAuth), and again as its [`Discovery`](crate::discovery::Discovery) says
//! (daily by default). Its key set is fetched once per TTL (the key set's
//! `Cache-Control: max-age`, held within bounds) by all the layers with the same [`JwtOptions`],
//! refetched once for a new `kid` (rotation) with a cooldown against floods of made-up ones,
//! shared among concurrent callers, refreshed in the background while stale keys keep answering,
//! and kept through an outage up to a maximum staleness; with no usable key the answer is 503,
//! never a pass. See [`JwtOptions`] for every bound.

pub(crate) mod api_keys;
mod call_budget;
mod claims;
pub(crate) mod introspection;
mod introspection_store;
pub(crate) mod jwt;
mod key_cache;
pub(crate) mod key_set;
mod key_set_report;
mod options;
pub(crate) mod rules;
mod token_cache;

pub use api_keys::{ApiKey, ApiKeys};
pub use introspection::{ClientAuthMethod, IntrospectionOptions};
pub use introspection_store::{
    IntrospectionStore, MemoryIntrospectionStore, StoreFuture, StoredAnswer, TokenDigest,
};
pub(crate) use key_cache::KeyCaches;
#[cfg(fuzzing)]
pub(crate) use key_set::{ASYMMETRIC, KeySet};
pub use key_set_report::{KeySetError, KeySetReport, UsableKey};
pub use options::JwtOptions;

use std::future::Future;
use std::pin::Pin;

use crate::auth_info::AuthInfo;
use crate::error::VerifyError;

/// The future a [`TokenVerifier`] returns.
pub type VerifyFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AuthInfo, VerifyError>> + Send + 'a>>;

/// Checks that a token is genuine and says whose it is.
///
/// The verifier checks the token itself (signature, expiry, revocation...); the bearer layer
/// then checks the issuer, audience, expiry and required scopes of the [`AuthInfo`] it returns,
/// so a verifier does not repeat those, but must fill them: start from
/// [`AuthInfo::new`]`(issuer, audience)`. A token whose `AuthInfo` lacks the issuer or the
/// audience is refused (401), and the layer logs at `warn` which field the verifier left out.
/// An `AuthInfo` without `expires_at` is taken as a token that does not expire (some opaque
/// tokens): set it whenever the token has an expiry.
///
/// Any `async` function or closure taking the token as a `String` is a verifier:
///
/// ```
/// use mcp_auth::{AuthInfo, TokenVerifier, VerifyError};
///
/// async fn lookup(token: String) -> Result<AuthInfo, VerifyError> {
///     match token.as_str() {
///         "alice-token" => Ok(AuthInfo {
///             subject: Some("alice".into()),
///             scopes: vec!["read".into()],
///             ..AuthInfo::new("https://auth.example.com", ["https://api.example.com/mcp"])
///         }),
///         _ => Err(VerifyError::invalid_token("unknown token")),
///     }
/// }
///
/// fn takes_a_verifier(_: impl TokenVerifier) {}
/// takes_a_verifier(lookup);
/// ```
///
/// A verifier with state implements the trait:
///
/// ```
/// use std::collections::HashMap;
/// use mcp_auth::{AuthInfo, TokenVerifier, VerifyError};
/// use mcp_auth::verify::VerifyFuture;
///
/// struct StaticTokens(HashMap<String, AuthInfo>);
///
/// impl TokenVerifier for StaticTokens {
///     fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
///         Box::pin(async move {
///             self.0.get(token).cloned().ok_or(VerifyError::invalid_token("unknown token"))
///         })
///     }
/// }
/// ```
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies `token`, which has already passed RFC 6750's `b64token` syntax check.
    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a>;
}

impl<F, Fut> TokenVerifier for F
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AuthInfo, VerifyError>> + Send + 'static,
{
    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(self(token.to_owned()))
    }
}
