//! Who made a request: what the bearer layer puts into the request extensions.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::scope::{ScopeRelation, SharedScopeRelation};

/// The verified identity behind an access token.
///
/// The layer checks `issuer`, `audience`, `expires_at`, `not_before`, `issued_at` and `scopes`
/// of every `AuthInfo`, whichever verifier made it.
///
/// The bearer layer inserts it, shared as `Arc<AuthInfo>`, into the request's extensions after
/// every check passed; handlers take it with the [`Auth`](crate::Auth) extractor (axum routes
/// and rmcp tools alike).
/// A custom verifier builds one from what it learned about the token, starting from
/// [`AuthInfo::new`], which asks for the two fields the layer refuses a token without, then
/// the `with_` methods (or assignments to the fields):
///
/// ```
/// use mcp_auth::AuthInfo;
///
/// let info = AuthInfo::new("https://auth.example.com", ["https://api.example.com/mcp"])
///     .with_subject("user-1")
///     .with_scopes(["read"])
///     .with_expires_at(4_000_000_000);
/// assert!(info.has_scope("read"));
/// ```
///
/// New fields may be added (the struct is `#[non_exhaustive]`), so it cannot be written as a
/// struct literal outside this crate. `Debug` never prints the token.
#[derive(Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AuthInfo {
    /// The raw access token, as the client sent it.
    #[serde(skip)]
    pub token: String,
    /// The authorization server that issued the token (`iss`); must be one the resource trusts.
    pub issuer: String,
    /// The resource owner (`sub`), if the token names one.
    pub subject: Option<String>,
    /// The OAuth client the token was issued to (`client_id` or `azp`).
    pub client_id: Option<String>,
    /// The scopes the token grants.
    pub scopes: Vec<String>,
    /// The roles or groups the token says its subject has, read from the claims the layer names
    /// ([`roles_claim`](crate::bearer::BearerAuthBuilder::roles_claim)): Keycloak's
    /// `realm_access.roles`, Entra's `roles`, Cognito's `cognito:groups`... Empty unless named.
    pub roles: Vec<String>,
    /// The audiences the token is meant for (`aud`); must contain the layer's audience.
    pub audience: Vec<String>,
    /// When the token expires, in seconds since the Unix epoch (`exp`); `None` for a token that
    /// does not expire.
    pub expires_at: Option<u64>,
    /// When the token becomes valid, in seconds since the Unix epoch (`nbf`), if it says.
    pub not_before: Option<u64>,
    /// When the token was issued, in seconds since the Unix epoch (`iat`), if it says.
    pub issued_at: Option<u64>,
    /// Every claim of the token (JWT mode) or whatever the custom verifier chose to keep.
    pub claims: Map<String, Value>,
    /// How granted scopes satisfy required ones: the bearer layer sets its own
    /// ([`scope_relation`](crate::bearer::BearerAuthBuilder::scope_relation)), so that
    /// [`has_scope`](Self::has_scope) in a tool agrees with the layer.
    #[serde(skip)]
    pub(crate) scope_relation: SharedScopeRelation,
}

impl AuthInfo {
    /// An identity issued by `issuer` for `audience`: the layer refuses any other issuer than
    /// the resource's authorization servers, and an audience without the resource identifier
    /// (RFC 8707), so a verifier must fill both. Everything else starts empty.
    ///
    /// ```
    /// use mcp_auth::AuthInfo;
    ///
    /// let info = AuthInfo::new("https://auth.example.com", ["https://api.example.com/mcp"]);
    /// assert_eq!(info.audience, ["https://api.example.com/mcp"]);
    /// assert_eq!(info.subject, None);
    /// ```
    pub fn new<A, S>(issuer: impl Into<String>, audience: A) -> Self
    where
        A: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            issuer: issuer.into(),
            audience: audience.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// With the resource owner (`sub`).
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// With the OAuth client the token was issued to (`client_id` or `azp`).
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// With the scopes the token grants.
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// With the roles or groups of the subject.
    pub fn with_roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// With the expiry (`exp`), in seconds since the Unix epoch.
    pub fn with_expires_at(mut self, expires_at: u64) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// With the start of validity (`nbf`), in seconds since the Unix epoch.
    pub fn with_not_before(mut self, not_before: u64) -> Self {
        self.not_before = Some(not_before);
        self
    }

    /// With the issue time (`iat`), in seconds since the Unix epoch.
    pub fn with_issued_at(mut self, issued_at: u64) -> Self {
        self.issued_at = Some(issued_at);
        self
    }

    /// With the token's claims, or whatever the verifier chose to keep.
    ///
    /// ```
    /// use mcp_auth::AuthInfo;
    /// use serde_json::json;
    ///
    /// let claims = json!({ "tenant": "acme" }).as_object().cloned().unwrap_or_default();
    /// let info = AuthInfo::new("https://auth.example.com", ["https://api.example.com/mcp"])
    ///     .with_claims(claims);
    /// assert_eq!(info.claims["tenant"], "acme");
    /// ```
    pub fn with_claims(mut self, claims: Map<String, Value>) -> Self {
        self.claims = claims;
        self
    }

    /// Whether the token grants this scope, under the layer's scope relation: with
    /// [`PrefixScopes`](crate::scope::PrefixScopes), a token granting `notes` has `notes:read`,
    /// exactly as the layer decides.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes
            .iter()
            .any(|granted| self.scope_relation.satisfies(granted, scope))
    }
}

impl fmt::Debug for AuthInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthInfo")
            .field("token", &"[redacted]")
            .field("issuer", &self.issuer)
            .field("subject", &self.subject)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("roles", &self.roles)
            .field("audience", &self.audience)
            .field("expires_at", &self.expires_at)
            .field("not_before", &self.not_before)
            .field("issued_at", &self.issued_at)
            .field("claims", &self.claims)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_the_token() {
        let info = AuthInfo {
            token: "secret-token-value".into(),
            issuer: "https://as.example".into(),
            ..AuthInfo::default()
        };
        let printed = format!("{info:?}");
        assert!(!printed.contains("secret-token-value"), "{printed}");
        assert!(printed.contains("[redacted]"));
        let json = serde_json::to_string(&info).unwrap();
        assert!(!json.contains("secret-token-value"), "{json}");
    }
}
