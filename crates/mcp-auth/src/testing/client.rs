//! OAuth clients registered with the test issuer.

use super::error::TestingError;
use super::random::random_token;

/// An OAuth client registered with the test issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestClient {
    /// The `client_id`.
    pub id: String,
    /// The `client_secret` (sent with HTTP Basic or in the form).
    pub secret: String,
    /// The scopes the client may be granted; with no `scope` requested it gets them all.
    pub scopes: Vec<String>,
}

impl TestClient {
    /// A client `id` with a secret of its own: 32 bytes from the system's random generator
    /// (aws-lc-rs), base64url. Unlike a secret written in code, nobody who reads the code knows
    /// it.
    ///
    /// ```
    /// use mcp_auth::testing::TestClient;
    ///
    /// let client = TestClient::with_random_secret("scripts", ["mcp:tools"])?;
    /// let other = TestClient::with_random_secret("scripts", ["mcp:tools"])?;
    /// assert_eq!(client.secret.len(), 43);
    /// assert_ne!(client.secret, other.secret);
    /// # Ok::<(), mcp_auth::testing::TestingError>(())
    /// ```
    pub fn with_random_secret<I, S>(id: impl Into<String>, scopes: I) -> Result<Self, TestingError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Ok(Self {
            id: id.into(),
            secret: random_token()?,
            scopes: scopes.into_iter().map(Into::into).collect(),
        })
    }
}
