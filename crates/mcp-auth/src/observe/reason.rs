//! Why a request was refused, as a stable code for logs, metrics and audit events.

use std::fmt;

use serde::Serialize;

/// Why the bearer layer refused a request (or could not decide): one stable, machine-readable
/// code per cause, the same in tracing fields, metric labels and audit events.
///
/// The codes never change meaning; new ones may be added. The HTTP answer follows from the
/// code: `no_credentials` and the token codes 401, `invalid_request` and `header_mismatch` 400,
/// `invalid_dpop_proof`, `replayed_dpop_proof` and `dpop_key_limit` 401 with a `DPoP` challenge,
/// `insufficient_scope`, `role_required` and `policy_denied` (no challenge: no step-up
/// changes them) and
/// `forbidden_origin` 403, `session_not_found` 404,
/// `issuer_unavailable` 503.
///
/// ```
/// use mcp_auth::observe::Reason;
///
/// assert_eq!(Reason::Expired.as_str(), "expired");
/// assert_eq!(Reason::BadSignature.to_string(), "bad_signature");
/// assert_eq!(serde_json::to_string(&Reason::WrongAudience).unwrap(), "\"wrong_audience\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// No bearer credentials at all (401 without `error`).
    NoCredentials,
    /// Credentials that break RFC 6750's syntax: several `Authorization` headers, a token in the
    /// query, a malformed header, an unreadable body (400 `invalid_request`).
    InvalidRequest,
    /// A token that cannot be read: not a JWT, undecodable parts, a claim missing or of the
    /// wrong type, too large.
    MalformedToken,
    /// A JWT signed with an algorithm the layer does not accept.
    DisallowedAlgorithm,
    /// A JWT whose `typ` is not that of an access token.
    WrongTokenType,
    /// A JWT whose key (`kid`) the issuer's key set does not hold.
    UnknownKey,
    /// A JWT whose signature does not verify.
    BadSignature,
    /// `exp` has passed, leeway included.
    Expired,
    /// `nbf` or `iat` is still ahead, leeway included.
    NotYetValid,
    /// `aud` does not name this resource (RFC 8707).
    WrongAudience,
    /// `iss` is not an authorization server this resource trusts (or, from a multi-tenant
    /// issuer, a tenant it accepts; with userinfo's `github_org`, the user is not an active
    /// member of the organization).
    UntrustedIssuer,
    /// The introspection endpoint says the token is not active (revoked, expired, unknown), or
    /// not an access token; or the provider's user endpoint (userinfo mode) does not know it.
    Inactive,
    /// An opaque token no verifier of the layer knows (not a known API key).
    UnknownToken,
    /// A custom verifier refused the token without a more precise code.
    InvalidToken,
    /// The token lacks a scope the request needs (403 `insufficient_scope`).
    InsufficientScope,
    /// The `Origin` header names an origin that is not allowed (403).
    ForbiddenOrigin,
    /// The request names a session that is not the caller's (404).
    SessionNotFound,
    /// `Mcp-Method` / `Mcp-Name` disagree with the body (400, JSON-RPC error -32020).
    HeaderMismatch,
    /// What verification depends on (key set, introspection endpoint, a custom verifier, the
    /// DPoP replay store) is unreachable or too slow: 503, never accepted.
    IssuerUnavailable,
    /// A DPoP proof that fails a check of RFC 9449 §4.3 (401 `invalid_dpop_proof`).
    InvalidDpopProof,
    /// A DPoP proof whose `jti` was accepted before (401 `invalid_dpop_proof`).
    ReplayedDpopProof,
    /// A DPoP-bound token sent as `Bearer`, or a `Bearer` token where DPoP is required.
    DpopRequired,
    /// A DPoP token whose `cnf.jkt` is not the proof's key.
    DpopKeyMismatch,
    /// A DPoP proof without a current server nonce (401 `use_dpop_nonce`, with a fresh one).
    UseDpopNonce,
    /// A DPoP proof of a key that already has as many live proofs as the replay store keeps
    /// for one key (401 `invalid_dpop_proof`): that client alone is refused, not everyone.
    DpopKeyLimit,
    /// The caller holds none of the roles an operation's rule allows (403 with a JSON-RPC error
    /// and no `insufficient_scope` challenge: no step-up grants a role).
    RoleRequired,
    /// A rule in CEL on the operation, or the policy decision point, denies the call (403, no
    /// challenge: no step-up changes the answer).
    PolicyDenied,
}

impl Reason {
    /// Every code, in the order of their declaration (metric handles are indexed by it).
    #[cfg(any(test, feature = "metrics"))]
    pub(crate) const ALL: [Self; 27] = [
        Self::NoCredentials,
        Self::InvalidRequest,
        Self::MalformedToken,
        Self::DisallowedAlgorithm,
        Self::WrongTokenType,
        Self::UnknownKey,
        Self::BadSignature,
        Self::Expired,
        Self::NotYetValid,
        Self::WrongAudience,
        Self::UntrustedIssuer,
        Self::Inactive,
        Self::UnknownToken,
        Self::InvalidToken,
        Self::InsufficientScope,
        Self::ForbiddenOrigin,
        Self::SessionNotFound,
        Self::HeaderMismatch,
        Self::IssuerUnavailable,
        Self::InvalidDpopProof,
        Self::ReplayedDpopProof,
        Self::DpopRequired,
        Self::DpopKeyMismatch,
        Self::UseDpopNonce,
        Self::DpopKeyLimit,
        Self::RoleRequired,
        Self::PolicyDenied,
    ];

    /// The code, as logs, metrics and audit events carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoCredentials => "no_credentials",
            Self::InvalidRequest => "invalid_request",
            Self::MalformedToken => "malformed_token",
            Self::DisallowedAlgorithm => "disallowed_algorithm",
            Self::WrongTokenType => "wrong_token_type",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongAudience => "wrong_audience",
            Self::UntrustedIssuer => "untrusted_issuer",
            Self::Inactive => "inactive",
            Self::UnknownToken => "unknown_token",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::ForbiddenOrigin => "forbidden_origin",
            Self::SessionNotFound => "session_not_found",
            Self::HeaderMismatch => "header_mismatch",
            Self::IssuerUnavailable => "issuer_unavailable",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::ReplayedDpopProof => "replayed_dpop_proof",
            Self::DpopRequired => "dpop_required",
            Self::DpopKeyMismatch => "dpop_key_mismatch",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::DpopKeyLimit => "dpop_key_limit",
            Self::RoleRequired => "role_required",
            Self::PolicyDenied => "policy_denied",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_the_serialized_name_and_all_are_listed_in_order() {
        for (index, reason) in Reason::ALL.into_iter().enumerate() {
            assert_eq!(reason as usize, index, "{reason}");
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                serde_json::Value::from(reason.as_str())
            );
        }
    }
}
