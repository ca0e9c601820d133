//! Minting tokens with chosen claims and header.

use std::sync::Arc;

use jsonwebtoken::Header;
use serde_json::{Map, Value, json};

use super::error::TestingError;
use super::random::random_token;
use super::state::{IssuerState, lock};
use crate::clock::unix_now;

/// A token being made by a [`TestIssuer`](super::TestIssuer): [`sign`](Self::sign) finishes it
/// as a JWT, [`opaque`](Self::opaque) as an opaque token the issuer introspects.
///
/// It starts with `iss` (the issuer), `sub` (`test-user`), `iat` (now), `exp` (in 5 minutes)
/// and is signed with the RS256 key unless told otherwise.
#[must_use = "call .sign() or .opaque() to get the token"]
pub struct TokenBuilder {
    issuer: Arc<IssuerState>,
    kid: String,
    claims: Map<String, Value>,
    header: Option<Header>,
}

impl TokenBuilder {
    pub(crate) fn new(issuer: Arc<IssuerState>) -> Self {
        let now = unix_now();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(issuer.issuer));
        claims.insert("sub".into(), json!("test-user"));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + 300));
        Self {
            issuer,
            kid: "rs256".to_owned(),
            claims,
            header: None,
        }
    }

    /// The `aud` claim (a string).
    pub fn audience(self, audience: impl Into<String>) -> Self {
        self.claim("aud", json!(audience.into()))
    }

    /// The `sub` claim.
    pub fn subject(self, subject: impl Into<String>) -> Self {
        self.claim("sub", json!(subject.into()))
    }

    /// The `scope` claim, space-delimited.
    pub fn scopes<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scope = scopes
            .into_iter()
            .map(Into::into)
            .collect::<Vec<String>>()
            .join(" ");
        self.claim("scope", json!(scope))
    }

    /// The `client_id` claim.
    pub fn client_id(self, client_id: impl Into<String>) -> Self {
        self.claim("client_id", json!(client_id.into()))
    }

    /// `exp` this many seconds from now (negative: already expired).
    pub fn expires_in(self, seconds: i64) -> Self {
        let exp = unix_now() as i64 + seconds;
        self.claim("exp", json!(exp))
    }

    /// Any claim, replacing one of the same name.
    pub fn claim(mut self, name: impl Into<String>, value: Value) -> Self {
        self.claims.insert(name.into(), value);
        self
    }

    /// Binds the token to a client's DPoP key: `cnf.jkt` is its thumbprint (RFC 9449 §6), so
    /// the token is only accepted with a proof signed by that key.
    pub fn dpop_bound(self, key: &super::DpopKey) -> Self {
        self.claim("cnf", json!({ "jkt": key.thumbprint() }))
    }

    /// Leaves a claim out.
    pub fn without(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Signs with the issuer's key `kid` (default `rs256`), using that key's algorithm.
    pub fn key(mut self, kid: impl Into<String>) -> Self {
        self.kid = kid.into();
        self
    }

    /// Uses this header as it is (its `alg` must suit the key), instead of `{alg, kid, typ}`.
    pub fn header(mut self, header: Header) -> Self {
        self.header = Some(header);
        self
    }

    /// The signed token.
    pub fn sign(self) -> Result<String, TestingError> {
        let key = self
            .issuer
            .signing_key(&self.kid)
            .ok_or_else(|| TestingError::UnknownKey(self.kid.clone()))?;
        let header = self.header.unwrap_or_else(|| {
            let mut header = Header::new(key.alg);
            header.kid = Some(key.kid.clone());
            header.typ = Some("at+jwt".to_owned());
            header
        });
        Ok(jsonwebtoken::encode(
            &header,
            &self.claims,
            &key.encoding_key,
        )?)
    }

    /// An opaque access token: 32 random bytes, base64url without padding (never a JWT's
    /// three dot-separated parts). The issuer remembers the claims [`sign`](Self::sign) would
    /// have put in a JWT and answers them at its introspection endpoint (RFC 7662) until the
    /// token expires or is [revoked](super::TestIssuer::revoke). [`key`](Self::key) and
    /// [`header`](Self::header) do not apply: nothing is signed.
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// let token = issuer.token().subject("alice").scopes(["read"]).opaque()?;
    /// assert_eq!(token.split('.').count(), 1);
    /// # Ok(()) }
    /// ```
    pub fn opaque(self) -> Result<String, TestingError> {
        let token = random_token()?;
        lock(&self.issuer.opaque_tokens).insert(token.clone(), self.claims);
        Ok(token)
    }
}
