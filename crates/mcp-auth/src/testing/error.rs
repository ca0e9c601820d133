//! What can go wrong in the test issuer.

/// Why the test issuer could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestingError {
    /// The listener could not be bound.
    #[error("the test issuer could not listen: {0}")]
    Io(#[from] std::io::Error),
    /// A key could not be loaded or a token signed.
    #[error("the test issuer could not sign: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
    /// The issuer has no key with this `kid`.
    #[error("the test issuer has no key {0:?}")]
    UnknownKey(String),
    /// The system's random number generator failed while minting an opaque token.
    #[error("the test issuer could not draw random bytes (opaque token, code or client id)")]
    Random,
}
