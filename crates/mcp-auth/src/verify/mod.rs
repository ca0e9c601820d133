//! Turning an access token into an [`AuthInfo`]: the [`TokenVerifier`] trait, which plain async
//! functions and closures implement (custom mode), JWT mode's settings ([`JwtOptions`]), and a
//! report on what a key set offers ([`KeySetReport`]).

mod claims;
pub(crate) mod jwt;
mod key_cache;
mod key_set;
mod key_set_report;
mod options;
pub(crate) mod rules;
mod token_cache;

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
/// so a verifier does not repeat those. An `AuthInfo` without `expires_at` is taken as a token
/// that does not expire (some opaque tokens): set it whenever the token has an expiry.
///
/// Any `async` function or closure taking the token as a `String` is a verifier:
///
/// ```
/// use mcp_auth::{AuthInfo, TokenVerifier, VerifyError};
///
/// async fn lookup(token: String) -> Result<AuthInfo, VerifyError> {
///     match token.as_str() {
///         "alice-token" => Ok(AuthInfo {
///             issuer: "https://auth.example.com".into(),
///             subject: Some("alice".into()),
///             ..AuthInfo::default()
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
