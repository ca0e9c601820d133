//! JWT claims read strictly into an [`AuthInfo`]: a claim of the wrong JSON type refuses the
//! token instead of being taken as absent.

use serde_json::{Map, Value};

use crate::auth_info::AuthInfo;
use crate::error::VerifyError;
use crate::observe::Reason;
use crate::scope::{SharedScopeRelation, is_scope_token, split_scopes};

/// Where claims come from, which decides what must be present.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ClaimsSource<'a> {
    /// A JWT access token: `iss` and `exp` must be present, and `aud` unless the layer checks
    /// the client instead (RFC 9068 §2.2; Cognito's access tokens carry no `aud`).
    Jwt {
        /// Whether a missing `aud` refuses the token.
        aud_required: bool,
    },
    /// An introspection answer (RFC 7662 §2.2), from the authorization server `answered_by`:
    /// every claim is optional, a missing `iss` is that server's and any other `iss` refuses
    /// the token (one server cannot vouch for another's tokens); `scope` may be an array.
    Introspection {
        /// The issuer of the server that answered.
        answered_by: &'a str,
    },
}

/// Which non-standard claims also give scopes (JWT mode's options; introspection reads none).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ExtraScopeClaims {
    /// `scopes` (a string or an array), when neither `scope` nor `scp` is there.
    pub(crate) scopes: bool,
    /// Auth0's `permissions` (RBAC: an array), added to the others.
    pub(crate) permissions: bool,
}

/// Reads verified claims (a JWT's whose signature verified, or an introspection answer) into an
/// [`AuthInfo`]: what `source` requires must be present, every registered claim must have its
/// JSON type. Whether they are acceptable (trusted issuer, our audience, times) is for
/// [`TokenRules`](super::rules::TokenRules) to say.
pub(crate) fn auth_info_from_claims(
    token: &str,
    claims: Map<String, Value>,
    extra: ExtraScopeClaims,
    source: ClaimsSource<'_>,
) -> Result<AuthInfo, VerifyError> {
    let jwt = matches!(source, ClaimsSource::Jwt { .. });
    let aud_required = matches!(source, ClaimsSource::Jwt { aud_required: true });
    refuse_other_token_kinds(&claims)?;
    let issuer = match (string(&claims, "iss")?, source) {
        (Some(iss), ClaimsSource::Introspection { answered_by }) if iss != answered_by => {
            return Err(VerifyError::invalid_token(
                "the introspection answer names another issuer than the server that answered",
            )
            .with_reason(Reason::UntrustedIssuer));
        }
        (Some(iss), _) => iss,
        (None, ClaimsSource::Introspection { answered_by }) => answered_by.to_owned(),
        (None, ClaimsSource::Jwt { .. }) => {
            return Err(malformed("the token has no iss claim"));
        }
    };
    let expires_at = number(&claims, "exp")?;
    if jwt && expires_at.is_none() {
        return Err(malformed("the token has no exp claim"));
    }
    let not_before = number(&claims, "nbf")?;
    let issued_at = number(&claims, "iat")?;
    let audience = match claims.get("aud") {
        None if aud_required => return Err(malformed("the token has no aud claim")),
        None => Vec::new(),
        Some(Value::String(aud)) => vec![aud.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| malformed("the aud claim has a member that is not a string"))?,
        Some(_) => {
            return Err(malformed("the aud claim is neither a string nor an array"));
        }
    };
    let subject = string(&claims, "sub")?;
    let client_id = match string(&claims, "client_id")? {
        Some(id) => Some(id),
        None => string(&claims, "azp")?,
    };
    let mut scopes = scopes(&claims, extra.scopes, !jwt)?;
    if extra.permissions {
        for permission in permissions(&claims)? {
            if !scopes.contains(&permission) {
                scopes.push(permission);
            }
        }
    }
    Ok(AuthInfo {
        token: token.to_owned(),
        issuer,
        subject,
        client_id,
        scopes,
        roles: Vec::new(),
        audience,
        expires_at,
        not_before,
        issued_at,
        claims,
        scope_relation: SharedScopeRelation::default(),
    })
}

/// Refuses a token whose claims say it is not an access token, whatever its header says: an ID
/// token is never an access token (it is issued for the client, not for this resource). Cognito
/// writes `token_use` (`access` or `id`); Keycloak writes a `typ` claim (`Bearer` on access
/// tokens; `ID`, `Refresh`, `Offline`, `Logout` on the others).
fn refuse_other_token_kinds(claims: &Map<String, Value>) -> Result<(), VerifyError> {
    let not_access = |claim: &str| {
        VerifyError::invalid_token(format!(
            "the token's {claim} claim says it is not an access token"
        ))
        .with_reason(Reason::WrongTokenType)
    };
    match claims.get("token_use") {
        None => {}
        Some(Value::String(kind)) if kind == "access" => {}
        Some(_) => return Err(not_access("token_use")),
    }
    if let Some(kind) = claims.get("typ") {
        let other = ["ID", "Refresh", "Offline", "Logout"];
        match kind {
            Value::String(kind) if !other.iter().any(|o| kind.eq_ignore_ascii_case(o)) => {}
            _ => return Err(not_access("typ")),
        }
    }
    Ok(())
}

/// Scopes from `scope` (space-delimited, RFC 8693 / RFC 9068), else `scp` (array or
/// space-delimited string, as Azure AD and Okta send), else, when `read_scopes_claim` is on, the
/// non-standard `scopes`; `scope` may be an array when `scope_array` (introspection answers of
/// some servers). A scope token outside RFC 6749's character set refuses the token: it
/// could only come from an issuer that does not follow RFC 6749, and guessing how to split it
/// could grant what was never granted.
fn scopes(
    claims: &Map<String, Value>,
    read_scopes_claim: bool,
    scope_array: bool,
) -> Result<Vec<String>, VerifyError> {
    let names: &[&str] = if read_scopes_claim {
        &["scope", "scp", "scopes"]
    } else {
        &["scope", "scp"]
    };
    let Some((name, value)) = names
        .iter()
        .find_map(|name| claims.get(*name).map(|value| (*name, value)))
    else {
        return Ok(Vec::new());
    };
    let invalid = || {
        malformed(format!(
            "the {name} claim has a scope outside RFC 6749's character set"
        ))
    };
    match value {
        Value::String(list) => split_scopes(list).ok_or_else(invalid),
        Value::Array(items) if name != "scope" || scope_array => items
            .iter()
            .map(|item| match item {
                Value::String(token) if is_scope_token(token) => Ok(token.clone()),
                Value::String(_) => Err(invalid()),
                _ => Err(malformed(format!(
                    "the {name} claim has a member that is not a string"
                ))),
            })
            .collect(),
        _ => Err(malformed(format!("the {name} claim has the wrong type"))),
    }
}

/// Auth0's RBAC `permissions`: an array of scope tokens, each granted like a scope.
fn permissions(claims: &Map<String, Value>) -> Result<Vec<String>, VerifyError> {
    match claims.get("permissions") {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(token) if is_scope_token(token) => Ok(token.clone()),
                _ => Err(malformed(
                    "the permissions claim has a member that is not a scope token",
                )),
            })
            .collect(),
        Some(_) => Err(malformed("the permissions claim is not an array")),
    }
}

fn string(claims: &Map<String, Value>, name: &str) -> Result<Option<String>, VerifyError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(malformed(format!("the {name} claim is not a string"))),
    }
}

/// A NumericDate (RFC 7519 §2): a non-negative JSON number; fractions are truncated.
pub(crate) fn number(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, VerifyError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(seconds), _) => Ok(Some(seconds)),
            (None, Some(seconds)) if seconds >= 0.0 && seconds.is_finite() => {
                Ok(Some(seconds as u64))
            }
            _ => Err(malformed(format!(
                "the {name} claim is not a valid NumericDate"
            ))),
        },
        Some(_) => Err(malformed(format!("the {name} claim is not a number"))),
    }
}

/// A token (or introspection answer) whose claims cannot be read.
fn malformed(detail: impl Into<std::borrow::Cow<'static, str>>) -> VerifyError {
    VerifyError::invalid_token(detail).with_reason(Reason::MalformedToken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    fn read(claims: Value) -> Result<AuthInfo, VerifyError> {
        let Value::Object(map) = claims else {
            panic!("claims must be an object")
        };
        let extra = ExtraScopeClaims {
            scopes: true,
            permissions: false,
        };
        auth_info_from_claims("tok", map, extra, ClaimsSource::Jwt { aud_required: true })
    }

    fn base() -> Value {
        json!({ "iss": "https://as.example", "aud": "https://api.example/mcp", "exp": NOW + 300, "sub": "alice" })
    }

    fn with(field: &str, value: Value) -> Value {
        let mut claims = base();
        claims[field] = value;
        claims
    }

    fn refusal(claims: Value) -> String {
        match read(claims) {
            Err(err) if !err.is_unavailable() => err.detail().to_owned(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn audience_may_be_a_string_or_an_array() {
        let info = read(with(
            "aud",
            json!(["https://other", "https://api.example/mcp"]),
        ))
        .unwrap();
        assert_eq!(info.audience, ["https://other", "https://api.example/mcp"]);
    }

    #[test]
    fn times_are_read_with_fractions_truncated() {
        let mut claims = with("nbf", json!(NOW - 5));
        claims["iat"] = json!((NOW - 10) as f64 + 0.5);
        let info = read(claims).unwrap();
        assert_eq!(info.not_before, Some(NOW - 5));
        assert_eq!(info.issued_at, Some(NOW - 10));
    }

    #[test]
    fn reads_identity_scopes_and_client() {
        let mut claims = with("scope", json!("read write"));
        claims["client_id"] = json!("c1");
        let info = read(claims).unwrap();
        assert_eq!(info.subject.as_deref(), Some("alice"));
        assert_eq!(info.scopes, ["read", "write"]);
        assert_eq!(info.client_id.as_deref(), Some("c1"));
        assert_eq!(info.expires_at, Some(NOW + 300));
        assert_eq!(info.audience, ["https://api.example/mcp"]);
        assert_eq!(info.claims["sub"], "alice");
    }

    #[test]
    fn scopes_come_from_scp_or_scopes_too() {
        assert_eq!(
            read(with("scp", json!(["a", "b"]))).unwrap().scopes,
            ["a", "b"]
        );
        assert_eq!(read(with("scp", json!("a b"))).unwrap().scopes, ["a", "b"]);
        assert_eq!(read(with("scopes", json!(["x"]))).unwrap().scopes, ["x"]);
        assert!(read(base()).unwrap().scopes.is_empty());
    }

    #[test]
    fn client_id_falls_back_to_azp() {
        assert_eq!(
            read(with("azp", json!("web")))
                .unwrap()
                .client_id
                .as_deref(),
            Some("web")
        );
    }

    #[test]
    fn numeric_dates_and_audience_members_are_checked_for_type() {
        // The other type confusions are refused over HTTP in tests/it/jwt_refusals.rs.
        let cases = [
            ("exp", json!(-5), "the exp claim is not a valid NumericDate"),
            (
                "aud",
                json!(["https://api.example/mcp", 7]),
                "the aud claim has a member that is not a string",
            ),
        ];
        for (field, value, reason) in cases {
            assert_eq!(
                refusal(with(field, value.clone())),
                reason,
                "{field}: {value}"
            );
        }
    }
}
