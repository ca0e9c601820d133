//! Custom mode: the user's own [`TokenVerifier`], bounded in time; the layer applies its rules
//! to the [`AuthInfo`] it returns as to any other.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::auth_info::AuthInfo;
use crate::error::VerifyError;
use crate::scope::SharedScopeRelation;

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
///         "alice-token" => Ok(
///             AuthInfo::new("https://auth.example.com", ["https://api.example.com/mcp"])
///                 .with_subject("alice")
///                 .with_scopes(["read"]),
///         ),
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

/// The user's verifier and how long it may take.
pub(crate) struct CustomVerifier {
    verifier: Arc<dyn TokenVerifier>,
    timeout: Duration,
}

impl CustomVerifier {
    pub(crate) fn new(verifier: Arc<dyn TokenVerifier>, timeout: Duration) -> Self {
        Self { verifier, timeout }
    }

    /// The verifier's answer within the timeout (else 503), with the token and the layer's
    /// scope relation filled in.
    pub(crate) async fn verify(
        &self,
        token: &str,
        scope_relation: &SharedScopeRelation,
    ) -> Result<Arc<AuthInfo>, VerifyError> {
        let timeout = self.timeout;
        let mut info = tokio::time::timeout(timeout, self.verifier.verify(token))
            .await
            .map_err(|_| {
                VerifyError::unavailable(format!("the verifier gave no answer within {timeout:?}"))
            })??;
        token.clone_into(&mut info.token);
        info.scope_relation = scope_relation.clone();
        warn_of_missing_fields(&info);
        Ok(Arc::new(info))
    }
}

/// A custom verifier that leaves out the issuer or the audience gets every token refused; the
/// refusal alone would not say why, so the log does, at the default level.
fn warn_of_missing_fields(info: &AuthInfo) {
    let missing: Vec<&str> = [
        (info.issuer.is_empty(), "issuer"),
        (info.audience.is_empty(), "audience"),
    ]
    .into_iter()
    .filter_map(|(empty, field)| empty.then_some(field))
    .collect();
    if !missing.is_empty() {
        tracing::warn!(
            missing = %missing.join(" and "),
            "the custom verifier returned an AuthInfo without {}, so the token is refused: build it with AuthInfo::new(issuer, audience)",
            missing.join(" and ")
        );
    }
}
