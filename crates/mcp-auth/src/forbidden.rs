//! [`Forbidden`]: what a handler's own check refuses ([`Auth::require_scopes`],
//! [`Auth::require_claim`]), answered as a 403 by axum and as a JSON-RPC error by rmcp.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

use crate::extract::Auth;

/// A caller refused by a check inside a handler: the scopes or the claim it lacks. In an axum
/// handler it answers 403 with a JSON body naming them; in an rmcp tool `?` turns it into the
/// JSON-RPC error [`rmcp::FORBIDDEN`](crate::rmcp::FORBIDDEN) (feature `rmcp`).
///
/// ```
/// use axum::response::IntoResponse;
/// use mcp_auth::{Auth, AuthInfo, Forbidden};
///
/// let auth = Auth(std::sync::Arc::new(
///     AuthInfo::new("https://auth.example.com", ["https://api.example.com/mcp"])
///         .with_scopes(["read"]),
/// ));
/// let refused = auth.require_scopes(["read", "hr:read"]).unwrap_err();
/// assert_eq!(refused, Forbidden::MissingScopes { missing: vec!["hr:read".into()] });
/// assert_eq!(refused.into_response().status(), 403);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Forbidden {
    /// The token lacks these scopes.
    #[error(
        "this operation needs the scopes {}, which the access token does not grant",
        missing.join(" ")
    )]
    MissingScopes {
        /// The scopes asked for that the token does not grant, in the order asked.
        missing: Vec<String>,
    },
    /// The token's claim `name` is not `value` and, if an array, does not contain it.
    #[error("this operation needs the claim {name} to include {value}")]
    MissingClaim {
        /// The claim checked.
        name: String,
        /// The value it had to be or contain.
        value: String,
    },
}

impl Forbidden {
    /// What the refusal names, as JSON: `missing_scopes` or `claim`.
    pub(crate) fn data(&self) -> Value {
        match self {
            Self::MissingScopes { missing } => json!({ "missing_scopes": missing }),
            Self::MissingClaim { name, .. } => json!({ "claim": name }),
        }
    }
}

/// 403 with `{"error": "insufficient_scope" | "forbidden", "error_description": ...}` and what
/// is missing (`missing_scopes` or `claim`).
impl IntoResponse for Forbidden {
    fn into_response(self) -> Response {
        let error = match self {
            Self::MissingScopes { .. } => "insufficient_scope",
            Self::MissingClaim { .. } => "forbidden",
        };
        let mut body = self.data();
        body["error"] = json!(error);
        body["error_description"] = json!(self.to_string());
        (StatusCode::FORBIDDEN, Json(body)).into_response()
    }
}

impl Auth {
    /// Checks, inside a handler or a tool, scopes that depend on its arguments; the layer's
    /// scope relation applies, as in the layer. The error names what is missing.
    ///
    /// ```
    /// use mcp_auth::{Auth, Forbidden};
    ///
    /// fn export(auth: &Auth, table: &str) -> Result<String, Forbidden> {
    ///     if table == "salaries" {
    ///         auth.require_scopes(["hr:read"])?;
    ///     }
    ///     Ok(format!("exported {table}"))
    /// }
    /// ```
    pub fn require_scopes<'a>(
        &self,
        scopes: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), Forbidden> {
        let missing: Vec<String> = scopes
            .into_iter()
            .filter(|scope| !self.0.has_scope(scope))
            .map(str::to_owned)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Forbidden::MissingScopes { missing })
        }
    }

    /// Checks, inside a handler or a tool, that the token's claim `name` is `value` or, for an
    /// array claim (roles, groups), contains it.
    ///
    /// ```
    /// use mcp_auth::{Auth, Forbidden};
    ///
    /// fn approve(auth: &Auth) -> Result<&'static str, Forbidden> {
    ///     auth.require_claim("roles", "approver")?;
    ///     Ok("approved")
    /// }
    /// ```
    pub fn require_claim(&self, name: &str, value: &str) -> Result<(), Forbidden> {
        let holds = match self.0.claims.get(name) {
            Some(Value::String(held)) => held == value,
            Some(Value::Array(held)) => held.iter().any(|item| item.as_str() == Some(value)),
            _ => false,
        };
        if holds {
            Ok(())
        } else {
            Err(Forbidden::MissingClaim {
                name: name.to_owned(),
                value: value.to_owned(),
            })
        }
    }
}
