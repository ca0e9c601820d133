//! OAuth clients registered with the test issuer.

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
