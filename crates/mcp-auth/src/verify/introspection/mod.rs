//! Introspection mode (RFC 7662): opaque tokens are posted to the authorization server's
//! introspection endpoint, with client authentication, and its answer says whose they are.
//!
//! - Only `active: true` is accepted; a `token_type` other than an access token's refuses the
//!   token; an answer whose `iss` names another server than the one asked refuses it, and one
//!   without `iss` is that server's. The layer's rules (issuer, audience, times, scopes) apply
//!   as in every mode.
//! - Answers are kept in an [`IntrospectionStore`](crate::verify::IntrospectionStore) keyed by the token's SHA-256: active ones
//!   until the earlier of the token's `exp` and [`cache_ttl`](IntrospectionOptions::cache_ttl),
//!   inactive ones for [`negative_cache_ttl`](IntrospectionOptions::negative_cache_ttl).
//! - Concurrent requests with the same new token share one call.
//! - An endpoint that cannot be reached, is slow past the timeout, refuses our credentials or
//!   answers anything but a bounded JSON object gives 503, never a pass.
//! - Signed introspection answers (RFC 9701, `application/token-introspection+jwt`) are not
//!   supported: the endpoint is asked for `application/json`.

mod options;
mod verifier;

pub use options::{ClientAuthMethod, IntrospectionOptions};
pub(crate) use verifier::IntrospectionVerifier;
