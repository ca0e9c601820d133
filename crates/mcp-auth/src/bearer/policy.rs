//! Everything one bearer layer checks on a request, in order: origin, token syntax, the
//! verifier, then issuer, audience, expiry and scopes of what the verifier returned.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, Uri};

use super::challenge::{ChallengeParams, Rejection};
use super::origin::AllowedOrigins;
use super::token::bearer_token;
use crate::auth_info::AuthInfo;
use crate::error::VerifyError;
use crate::scope::{ScopeRelation, missing_scopes};
use crate::verify::TokenVerifier;
use crate::verify::jwt::JwtVerifier;

/// How a layer verifies tokens.
pub(crate) enum Verifier {
    /// JWT mode; its answers are shared with its verified-token cache.
    Jwt(Box<JwtVerifier>),
    /// The user's verifier (custom mode).
    Custom(Arc<dyn TokenVerifier>),
}

impl Verifier {
    /// What the verifier remembers of `token`, without verifying anything.
    fn remembered(&self, token: &str) -> Option<Arc<AuthInfo>> {
        match self {
            Self::Jwt(jwt) => jwt.remembered(token),
            Self::Custom(_) => None,
        }
    }

    async fn verify(&self, token: &str) -> Result<Arc<AuthInfo>, VerifyError> {
        match self {
            Self::Jwt(jwt) => jwt.verify(token).await,
            Self::Custom(custom) => {
                let mut info = custom.verify(token).await?;
                token.clone_into(&mut info.token);
                Ok(Arc::new(info))
            }
        }
    }
}

/// The checks of one layer, shared by all its services.
pub(crate) struct Policy {
    pub(crate) verifier: Verifier,
    pub(crate) trusted_issuers: Vec<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) required_scopes: Vec<String>,
    pub(crate) scope_relation: Arc<dyn ScopeRelation>,
    pub(crate) leeway: Duration,
    pub(crate) allowed_origins: AllowedOrigins,
    pub(crate) challenge: ChallengeParams,
}

/// What can be decided without waiting.
pub(crate) enum Decision<'r> {
    /// Decided: a refusal, or a token verified earlier that passes every check.
    Done(Result<Arc<AuthInfo>, Rejection>),
    /// This token must be verified (a signature check, perhaps a key fetch).
    Verify(&'r str),
}

impl Policy {
    /// Decides what needs no verification: the origin, the credentials' syntax, and tokens the
    /// verifier remembers. Nothing here allocates a future or waits.
    pub(crate) fn decide_now<'r>(&self, headers: &'r HeaderMap, uri: &Uri) -> Decision<'r> {
        if !self.allowed_origins.permit(headers) {
            return Decision::Done(Err(Rejection::ForbiddenOrigin));
        }
        let token = match bearer_token(headers, uri) {
            Ok(Some(token)) => token,
            Ok(None) => return Decision::Done(Err(Rejection::NoCredentials)),
            Err(rejection) => return Decision::Done(Err(rejection)),
        };
        match self.verifier.remembered(token) {
            Some(info) => Decision::Done(self.check_claims(&info).map(|()| info)),
            None => Decision::Verify(token),
        }
    }

    /// Verifies a token [`decide_now`](Self::decide_now) could not decide, then checks what the
    /// verifier says of it.
    pub(crate) async fn verify(&self, token: &str) -> Result<Arc<AuthInfo>, Rejection> {
        let info = self.verifier.verify(token).await.map_err(|err| match err {
            VerifyError::InvalidToken(reason) => {
                Rejection::InvalidToken(without_token(reason, token))
            }
            VerifyError::Unavailable(reason) => {
                Rejection::Unavailable(without_token(reason, token))
            }
        })?;
        self.check_claims(&info)?;
        Ok(info)
    }

    fn check_claims(&self, info: &AuthInfo) -> Result<(), Rejection> {
        if !self.trusted_issuers.contains(&info.issuer) {
            return Err(Rejection::InvalidToken(
                format!(
                    "the token's issuer {:?} is not trusted by this resource",
                    info.issuer
                )
                .into(),
            ));
        }
        if !self
            .audiences
            .iter()
            .any(|expected| info.audience.contains(expected))
        {
            return Err(Rejection::InvalidToken(
                format!(
                    "the token's audience {:?} does not include this resource",
                    info.audience
                )
                .into(),
            ));
        }
        if let Some(expires_at) = info.expires_at {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            if expires_at.saturating_add(self.leeway.as_secs()) <= now {
                return Err(Rejection::InvalidToken("the token has expired".into()));
            }
        }
        let missing = missing_scopes(
            self.scope_relation.as_ref(),
            &info.scopes,
            &self.required_scopes,
        );
        if !missing.is_empty() {
            return Err(Rejection::InsufficientScope {
                missing: missing.into_iter().map(str::to_owned).collect(),
            });
        }
        Ok(())
    }
}

/// A verifier's message with the token cut out, so no response or log line repeats it.
fn without_token(reason: Cow<'static, str>, token: &str) -> Cow<'static, str> {
    if reason.contains(token) {
        Cow::Owned(reason.replace(token, "[token]"))
    } else {
        reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_messages_lose_the_token() {
        let token = "eyJhbGciOiJSUzI1NiJ9.payload.sig";
        let reason = Cow::Owned(format!("could not parse {token} at all"));
        assert_eq!(
            without_token(reason, token),
            "could not parse [token] at all"
        );
    }
}
