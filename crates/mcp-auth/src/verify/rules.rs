//! The rules every accepted token follows, whatever verified it (JWT mode, a custom verifier):
//! a trusted issuer, an audience of this resource, and its times (`exp`, `nbf`, `iat`) within the
//! leeway. They are checked here and nowhere else; scopes have their own home in
//! [`scope`](crate::scope).

use std::fmt;

use serde_json::Value;

use crate::auth_info::AuthInfo;
use crate::issuer::discovery::Tenants;
use crate::issuer::tenants::tenant_in;
use crate::observe::Reason;

/// What a layer requires of every token's issuer, audience and times.
#[derive(Debug, Clone)]
pub(crate) struct TokenRules {
    /// Issuers the resource trusts; `iss` must be one of them.
    pub(crate) trusted_issuers: Vec<TrustedIssuer>,
    /// Audiences accepted; `aud` must contain one of them...
    pub(crate) audiences: Vec<String>,
    /// ...unless the token's client is one of these, for providers whose tokens do not name the
    /// resource (Cognito: no `aud`; Keycloak without an audience mapper: `account`).
    pub(crate) clients_instead_of_audience: Vec<String>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub(crate) leeway: u64,
}

/// An issuer a resource trusts.
#[derive(Debug, Clone)]
pub(crate) enum TrustedIssuer {
    /// `iss` is exactly this.
    Exact(String),
    /// A multi-tenant issuer: `iss` is `template` with the token's own `tid` in place of
    /// `{tenantid}`, and that tenant is accepted.
    Tenants { template: String, tenants: Tenants },
}

impl TrustedIssuer {
    /// Whether `info` comes from this issuer.
    fn issued(&self, info: &AuthInfo) -> bool {
        match self {
            Self::Exact(issuer) => *issuer == info.issuer,
            Self::Tenants { template, tenants } => {
                let tid = info.claims.get("tid").and_then(Value::as_str);
                tenant_in(template, &info.issuer)
                    .is_some_and(|tenant| tid == Some(tenant) && tenants.allows(tenant))
            }
        }
    }
}

/// Which rule a token breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuleViolation {
    /// `iss` is not a trusted issuer.
    UntrustedIssuer,
    /// `aud` does not name this resource.
    WrongAudience,
    /// `exp` has passed, leeway included.
    Expired,
    /// `nbf` is still ahead, leeway included.
    NotYetValid,
    /// `iat` is ahead, leeway included.
    IssuedInTheFuture,
}

impl fmt::Display for RuleViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UntrustedIssuer => "the token's issuer is not trusted by this resource",
            Self::WrongAudience => "the token's audience does not include this resource",
            Self::Expired => "the token has expired",
            Self::NotYetValid => "the token is not valid yet (nbf)",
            Self::IssuedInTheFuture => "the token was issued in the future (iat)",
        })
    }
}

impl RuleViolation {
    /// The code of the violation.
    pub(crate) fn reason(self) -> Reason {
        match self {
            Self::UntrustedIssuer => Reason::UntrustedIssuer,
            Self::WrongAudience => Reason::WrongAudience,
            Self::Expired => Reason::Expired,
            Self::NotYetValid | Self::IssuedInTheFuture => Reason::NotYetValid,
        }
    }
}

impl TokenRules {
    /// Whether `info` comes from a trusted issuer (and, from a multi-tenant one, an accepted
    /// tenant that its issuer names).
    pub(crate) fn trusts(&self, info: &AuthInfo) -> bool {
        self.trusted_issuers
            .iter()
            .any(|trusted| trusted.issued(info))
    }

    /// Checks `info` at `now` (seconds since the Unix epoch). A time `info` does not carry is
    /// not checked: an opaque token without `expires_at` does not expire.
    pub(crate) fn check(&self, info: &AuthInfo, now: u64) -> Result<(), RuleViolation> {
        if !self.trusts(info) {
            return Err(RuleViolation::UntrustedIssuer);
        }
        let audience_named = self
            .audiences
            .iter()
            .any(|expected| info.audience.contains(expected));
        // The client is looked at only when the audience does not name this resource.
        let client_allowed = || {
            info.client_id
                .as_ref()
                .is_some_and(|client| self.clients_instead_of_audience.contains(client))
        };
        if !audience_named && !client_allowed() {
            return Err(RuleViolation::WrongAudience);
        }
        let latest_valid_now = now.saturating_add(self.leeway);
        if info
            .expires_at
            .is_some_and(|exp| exp.saturating_add(self.leeway) <= now)
        {
            return Err(RuleViolation::Expired);
        }
        if info.not_before.is_some_and(|nbf| nbf > latest_valid_now) {
            return Err(RuleViolation::NotYetValid);
        }
        if info.issued_at.is_some_and(|iat| iat > latest_valid_now) {
            return Err(RuleViolation::IssuedInTheFuture);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;
    const RESOURCE: &str = "https://api.example/mcp";

    fn rules() -> TokenRules {
        TokenRules {
            trusted_issuers: vec![TrustedIssuer::Exact("https://as.example".to_owned())],
            audiences: vec![RESOURCE.to_owned()],
            clients_instead_of_audience: Vec::new(),
            leeway: 60,
        }
    }

    fn token() -> AuthInfo {
        AuthInfo {
            issuer: "https://as.example".to_owned(),
            audience: vec![RESOURCE.to_owned()],
            expires_at: Some(NOW + 300),
            ..AuthInfo::default()
        }
    }

    fn check(info: AuthInfo) -> Result<(), RuleViolation> {
        rules().check(&info, NOW)
    }

    #[test]
    fn a_token_for_this_resource_from_a_trusted_issuer_passes() {
        assert_eq!(check(token()), Ok(()));
        let many = AuthInfo {
            audience: vec!["https://other".to_owned(), RESOURCE.to_owned()],
            ..token()
        };
        assert_eq!(check(many), Ok(()));
    }

    #[test]
    fn issuer_and_audience_must_match_exactly() {
        for issuer in ["https://evil.example", "https://as.example/", ""] {
            let info = AuthInfo {
                issuer: issuer.to_owned(),
                ..token()
            };
            assert_eq!(check(info), Err(RuleViolation::UntrustedIssuer), "{issuer}");
        }
        for audience in [vec![], vec!["https://api.example/mcp/".to_owned()]] {
            let info = AuthInfo {
                audience,
                ..token()
            };
            assert_eq!(check(info), Err(RuleViolation::WrongAudience));
        }
    }

    #[test]
    fn times_respect_the_leeway() {
        let at = |expires_at, not_before, issued_at| {
            check(AuthInfo {
                expires_at,
                not_before,
                issued_at,
                ..token()
            })
        };
        assert_eq!(at(Some(NOW - 59), None, None), Ok(()));
        assert_eq!(at(Some(NOW - 60), None, None), Err(RuleViolation::Expired));
        assert_eq!(at(None, None, None), Ok(()), "no exp: does not expire");
        assert_eq!(at(None, Some(NOW + 60), None), Ok(()));
        assert_eq!(
            at(None, Some(NOW + 61), None),
            Err(RuleViolation::NotYetValid)
        );
        assert_eq!(at(None, None, Some(NOW + 60)), Ok(()));
        assert_eq!(
            at(None, None, Some(NOW + 61)),
            Err(RuleViolation::IssuedInTheFuture)
        );
        assert_eq!(at(Some(u64::MAX), Some(0), Some(0)), Ok(()));
    }
}
