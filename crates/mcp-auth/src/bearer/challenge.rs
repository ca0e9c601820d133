//! Refusals and how they are answered: status, `WWW-Authenticate: Bearer ...` (RFC 6750 §3,
//! RFC 9728 §5.1) and a JSON body.

use std::borrow::Cow;

use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_EXPOSE_HEADERS, CACHE_CONTROL, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE,
};
use http::{Response, StatusCode};
use http_body_util::Full;

use crate::dpop::{DpopMode, DpopOptions};
use crate::observe::Reason;
use crate::wire::cors::{EXPOSE_CHALLENGE, EXPOSE_CHALLENGE_AND_NONCE};
use crate::wire::headers::DPOP_NONCE;

/// Why the layer refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// No bearer credentials: 401 with a challenge that carries no `error`.
    NoCredentials,
    /// The credentials are malformed: 400 `invalid_request`.
    InvalidRequest(&'static str),
    /// The token is not acceptable: 401 `invalid_token`, for this reason.
    InvalidToken(Reason, Cow<'static, str>),
    /// The token lacks scopes: 403 `insufficient_scope`.
    InsufficientScope {
        /// The required scopes the token does not satisfy.
        missing: Vec<String>,
        /// Every scope the operation needs, base scopes included, for the challenge's `scope`
        /// (MCP step-up); `None`: the layer's base scopes.
        needed: Option<Vec<String>>,
    },
    /// The caller holds none of the roles an operation allows: 403 with a JSON-RPC error
    /// answering the message `id`, and no challenge (no step-up grants a role, so a client must
    /// not start one).
    RoleRequired {
        /// The JSON-RPC id of the message (`null` for a batch or an unreadable body).
        id: serde_json::Value,
        /// The roles that would have been allowed.
        roles: Vec<String>,
    },
    /// A rule in CEL, or the decision point, denies the call: 403 with a JSON-RPC error naming
    /// the rule's id (never its expression or what it read), and no challenge (no step-up
    /// changes the answer).
    PolicyDenied {
        /// The JSON-RPC id of the message (`null` for a batch or an unreadable body).
        id: serde_json::Value,
        /// The rule's id, or `decision_point`.
        rule: String,
    },
    /// `Mcp-Method` / `Mcp-Name` disagree with the body: 400 with a JSON-RPC error -32020
    /// answering the message `id`, and no challenge (the credentials are not at fault).
    HeaderMismatch {
        /// The JSON-RPC id of the message (`null` for a batch).
        id: serde_json::Value,
        /// How they disagree.
        reason: String,
    },
    /// The verifier cannot decide now: 503, never accepted.
    Unavailable(Cow<'static, str>),
    /// The `Origin` header names an origin that is not allowed: 403 before any token check.
    ForbiddenOrigin,
    /// The request names a session that is not the caller's (or is unknown, or expired): 404,
    /// as if it did not exist, so the client starts a new one.
    SessionNotFound,
    /// The DPoP proof fails a check, or was used before: 401 `invalid_dpop_proof` in the `DPoP`
    /// challenge.
    InvalidDpopProof(Reason, &'static str),
    /// The DPoP proof lacks a current server nonce: 401 `use_dpop_nonce`, this fresh nonce in
    /// `DPoP-Nonce`.
    UseDpopNonce(String),
}

/// What every challenge of one layer shares, formatted once when the layer is built.
#[derive(Debug, Clone)]
pub(crate) struct ChallengeParams {
    /// `resource_metadata="..."`
    resource_metadata: String,
    /// `scope="..."` when the layer requires scopes.
    scope: Option<String>,
    show_error_details: bool,
    /// The `DPoP` challenge, when the layer takes DPoP tokens.
    dpop: Option<DpopChallenge>,
}

/// How a layer that takes DPoP tokens challenges (RFC 9449 §7.1).
#[derive(Debug, Clone)]
struct DpopChallenge {
    /// `algs="ES256 ..."`
    algs: String,
    /// Only DPoP: no `Bearer` challenge at all.
    required: bool,
}

impl ChallengeParams {
    pub(crate) fn new(
        metadata_url: &str,
        required_scopes: &[String],
        show_error_details: bool,
        dpop: Option<&DpopOptions>,
    ) -> Self {
        let scope = (!required_scopes.is_empty())
            .then(|| format!("scope=\"{}\"", to_quoted_text(&required_scopes.join(" "))));
        Self {
            resource_metadata: format!("resource_metadata=\"{}\"", to_quoted_text(metadata_url)),
            scope,
            show_error_details,
            dpop: dpop.map(|dpop| DpopChallenge {
                algs: format!("algs=\"{}\"", dpop.algorithm_names().join(" ")),
                required: dpop.mode == DpopMode::Required,
            }),
        }
    }
}

impl Rejection {
    /// The code of this refusal.
    pub(crate) fn reason(&self) -> Reason {
        match self {
            Self::NoCredentials => Reason::NoCredentials,
            Self::InvalidRequest(_) => Reason::InvalidRequest,
            Self::InvalidToken(reason, _) => *reason,
            Self::InsufficientScope { .. } => Reason::InsufficientScope,
            Self::RoleRequired { .. } => Reason::RoleRequired,
            Self::PolicyDenied { .. } => Reason::PolicyDenied,
            Self::HeaderMismatch { .. } => Reason::HeaderMismatch,
            Self::Unavailable(_) => Reason::IssuerUnavailable,
            Self::ForbiddenOrigin => Reason::ForbiddenOrigin,
            Self::SessionNotFound => Reason::SessionNotFound,
            Self::InvalidDpopProof(reason, _) => *reason,
            Self::UseDpopNonce(_) => Reason::UseDpopNonce,
        }
    }

    /// What went wrong, for logs and detailed responses (a verifier's message has had the token
    /// cut out already).
    pub(crate) fn detail(&self) -> Cow<'_, str> {
        match self {
            Self::NoCredentials => Cow::Borrowed("an access token is required"),
            Self::InvalidRequest(reason) => Cow::Borrowed(reason),
            Self::InvalidToken(_, reason) | Self::Unavailable(reason) => {
                Cow::Borrowed(reason.as_ref())
            }
            Self::InsufficientScope { missing, .. } => Cow::Owned(format!(
                "the access token lacks the scopes: {}",
                missing.join(" ")
            )),
            Self::RoleRequired { roles, .. } => Cow::Owned(format!(
                "the caller holds none of the roles allowed: {}",
                roles.join(", ")
            )),
            Self::PolicyDenied { rule, .. } => Cow::Owned(policy_denial(rule)),
            Self::HeaderMismatch { reason, .. } => Cow::Borrowed(reason),
            Self::ForbiddenOrigin => Cow::Borrowed("requests from this origin are not allowed"),
            Self::SessionNotFound => Cow::Borrowed("no such session"),
            Self::InvalidDpopProof(_, reason) => Cow::Borrowed(reason),
            Self::UseDpopNonce(_) => Cow::Borrowed("the DPoP proof must carry the server's nonce"),
        }
    }

    /// The response for this refusal to a request that used the `DPoP` scheme (`used_dpop`)
    /// or `Bearer`.
    pub(crate) fn to_response(
        &self,
        params: &ChallengeParams,
        used_dpop: bool,
    ) -> Response<Full<Bytes>> {
        let (status, error, generic): (StatusCode, Option<&str>, &str) = match self {
            Self::NoCredentials => (
                StatusCode::UNAUTHORIZED,
                None,
                "an access token is required",
            ),
            Self::InvalidRequest(reason) => {
                (StatusCode::BAD_REQUEST, Some("invalid_request"), reason)
            }
            Self::InvalidToken(..) => (
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                "the access token is invalid",
            ),
            Self::InsufficientScope { .. } => (
                StatusCode::FORBIDDEN,
                Some("insufficient_scope"),
                "the access token lacks a required scope",
            ),
            // Not a credentials problem: a JSON-RPC error, as MCP asks.
            Self::HeaderMismatch { id, reason } => {
                let generic = "the Mcp-Method or Mcp-Name header does not match the body";
                let message = if params.show_error_details {
                    reason
                } else {
                    generic
                };
                return json_rpc_error(StatusCode::BAD_REQUEST, id, HEADER_MISMATCH, message);
            }
            Self::RoleRequired { id, .. } => {
                let detail = self.detail();
                let generic = "the caller lacks a role this operation requires";
                let message = if params.show_error_details {
                    &detail
                } else {
                    generic
                };
                return json_rpc_error(StatusCode::FORBIDDEN, id, FORBIDDEN, message);
            }
            // The rule's id is always named: it tells the user whom to ask, and holds nothing
            // of the expression or of what it read.
            Self::PolicyDenied { id, rule } => {
                return json_rpc_error(StatusCode::FORBIDDEN, id, FORBIDDEN, &policy_denial(rule));
            }
            Self::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "token verification is temporarily unavailable",
            ),
            Self::ForbiddenOrigin => (
                StatusCode::FORBIDDEN,
                None,
                "requests from this origin are not allowed",
            ),
            Self::SessionNotFound => (StatusCode::NOT_FOUND, None, "no such session"),
            Self::InvalidDpopProof(..) => (
                StatusCode::UNAUTHORIZED,
                Some("invalid_dpop_proof"),
                "the DPoP proof is invalid",
            ),
            Self::UseDpopNonce(_) => (
                StatusCode::UNAUTHORIZED,
                Some("use_dpop_nonce"),
                "the DPoP proof must carry the server's nonce",
            ),
        };
        let detail = self.detail();
        let description = if params.show_error_details {
            to_quoted_text(&detail.chars().take(MAX_DESCRIPTION_LEN).collect::<String>())
        } else {
            generic.to_owned()
        };

        let scope = match self {
            Self::InsufficientScope {
                needed: Some(needed),
                ..
            } => Some(format!("scope=\"{}\"", to_quoted_text(&needed.join(" ")))),
            _ => params.scope.clone(),
        };
        let challenged = !matches!(
            self,
            Self::Unavailable(_)
                | Self::ForbiddenOrigin
                | Self::HeaderMismatch { .. }
                | Self::RoleRequired { .. }
                | Self::PolicyDenied { .. }
                | Self::SessionNotFound
        );
        let mut challenges = Vec::new();
        if challenged {
            let error = error.map(|error| (error, description.as_str()));
            match &params.dpop {
                None => challenges.push(challenge("Bearer", params, error, scope.as_deref())),
                Some(dpop) => {
                    // The error goes with the scheme the request used; both schemes are named
                    // when both are accepted, Bearer first (RFC 9449 §7.2).
                    let on_dpop = dpop.required
                        || used_dpop
                        || matches!(self, Self::InvalidDpopProof(..) | Self::UseDpopNonce(_));
                    if !dpop.required {
                        let bearer_error = error.filter(|_| !on_dpop);
                        challenges.push(challenge(
                            "Bearer",
                            params,
                            bearer_error,
                            scope.as_deref(),
                        ));
                    }
                    let dpop_error = error.filter(|_| on_dpop);
                    let scheme = format!("DPoP {},", dpop.algs);
                    challenges.push(challenge(&scheme, params, dpop_error, scope.as_deref()));
                }
            }
        }
        let body_error = match self {
            Self::NoCredentials => "unauthorized",
            Self::Unavailable(_) => "temporarily_unavailable",
            Self::ForbiddenOrigin => "forbidden_origin",
            Self::SessionNotFound => "session_not_found",
            _ => error.unwrap_or("unauthorized"),
        };
        let body = serde_json::json!({ "error": body_error, "error_description": description });

        let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_CHALLENGE);
        for challenge in challenges {
            headers.append(WWW_AUTHENTICATE, challenge);
        }
        if let Self::UseDpopNonce(nonce) = self
            && let Ok(nonce) = HeaderValue::from_str(nonce)
        {
            headers.insert(DPOP_NONCE, nonce);
            headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_CHALLENGE_AND_NONCE);
        }
        response
    }
}

/// `SCHEME error="...", error_description="...", scope="...", resource_metadata="..."` (the
/// scheme `Bearer`, or `DPoP algs="...",`); the `error` parameters only when there is an error
/// (RFC 6750 §3.1: none without credentials).
fn challenge(
    scheme: &str,
    params: &ChallengeParams,
    error: Option<(&str, &str)>,
    scope: Option<&str>,
) -> HeaderValue {
    let mut value = format!("{scheme} ");
    if let Some((error, description)) = error {
        value.push_str(&format!(
            "error=\"{error}\", error_description=\"{description}\", "
        ));
    }
    if let Some(scope) = scope {
        value.push_str(scope);
        value.push_str(", ");
    }
    value.push_str(&params.resource_metadata);
    // Every part went through `to_quoted_text`, so this cannot fail; should it ever, a bare
    // challenge is still a valid refusal.
    HeaderValue::from_str(&value)
        .unwrap_or(HeaderValue::from_static("Bearer error=\"invalid_token\""))
}

/// A refusal that is not the credentials' fault, answered as MCP answers such requests: a
/// JSON-RPC error for the message `id`, with `status` and no challenge.
fn json_rpc_error(
    status: StatusCode,
    id: &serde_json::Value,
    code: i32,
    message: &str,
) -> Response<Full<Bytes>> {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message },
    });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The JSON-RPC error code of MCP 2026-07-28 for headers that disagree with the body.
const HEADER_MISMATCH: i32 = -32020;

/// The JSON-RPC error code mcp-auth answers a denial no scope can fix with (a missing role):
/// in the range JSON-RPC leaves to servers, and used by no MCP SDK (-32000 and -32001 are the
/// TypeScript SDK's connection-closed and timeout, -32002 MCP's resource-not-found).
const FORBIDDEN: i32 = -32003;

/// What a policy denial says: the rule's id alone.
fn policy_denial(rule: &str) -> String {
    if rule == DECISION_POINT {
        "denied by the policy decision point".to_owned()
    } else {
        format!("denied by the policy rule {rule}")
    }
}

/// The "rule" a denial of the decision point names.
pub(crate) const DECISION_POINT: &str = "decision_point";

/// Longest detailed description sent, in characters; longer ones are cut.
const MAX_DESCRIPTION_LEN: usize = 200;

/// Maps text into RFC 6750's quoted-value character set (`%x20-21 / %x23-5B / %x5D-7E`):
/// `"` becomes `'`, `\` becomes `/`, anything else outside the set becomes `?`.
pub(crate) fn to_quoted_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(details: bool) -> ChallengeParams {
        ChallengeParams::new(
            "https://h.example/.well-known/oauth-protected-resource/mcp",
            &["read".to_owned(), "write".to_owned()],
            details,
            None,
        )
    }

    fn header(response: &Response<Full<Bytes>>) -> &str {
        response.headers()[WWW_AUTHENTICATE].to_str().unwrap()
    }

    #[test]
    fn quoted_text_stays_inside_rfc_6750_character_set() {
        let nasty = "a\"b\\c\r\nd\te\u{0}f\u{7f}é\u{202e}";
        let safe = to_quoted_text(nasty);
        assert_eq!(safe, "a'b/c??d?e?f???");
        assert!(
            safe.bytes()
                .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        );
    }

    #[test]
    fn detailed_descriptions_are_cut_but_urls_and_scopes_never() {
        let long_path = format!(
            "https://h.example/.well-known/oauth-protected-resource/{}",
            "p".repeat(300)
        );
        let scopes: Vec<String> = (0..40).map(|i| format!("scope{i}")).collect();
        let params = ChallengeParams::new(&long_path, &scopes, true, None);
        let response = Rejection::InvalidToken(Reason::InvalidToken, "x".repeat(10_000).into())
            .to_response(&params, false);
        let value = header(&response);
        assert!(
            value.contains(&format!("resource_metadata=\"{long_path}\"")),
            "{value}"
        );
        assert!(
            value.contains(&format!("scope=\"{}\"", scopes.join(" "))),
            "{value}"
        );
        let cut = format!("error_description=\"{}\"", "x".repeat(MAX_DESCRIPTION_LEN));
        assert!(value.contains(&cut), "{value}");
    }

    #[test]
    fn a_hostile_verifier_message_still_yields_one_valid_challenge() {
        let reason = "bad\", error=\"other\", scope=\"admin\r\nX-Injected: 1";
        let response = Rejection::InvalidToken(Reason::InvalidToken, reason.to_owned().into())
            .to_response(&params(true), false);
        assert_eq!(
            header(&response),
            "Bearer error=\"invalid_token\", error_description=\"bad', error='other', scope='admin??X-Injected: 1\", \
             scope=\"read write\", resource_metadata=\"https://h.example/.well-known/oauth-protected-resource/mcp\""
        );
    }
}
