//! Userinfo mode: for providers whose access tokens are opaque and who offer resource servers
//! no introspection (Google, GitHub, any OpenID Provider's UserInfo), the token is sent to the
//! provider's user endpoint, and a good answer says whose it is.
//!
//! - OpenID Connect: `GET` the metadata's `userinfo_endpoint` with the token as `Bearer`
//!   (Core §5.3); Google: `POST` the token to tokeninfo; GitHub: `GET /user` (and, with
//!   [`github_org`](UserinfoOptions::github_org), `GET /user/memberships/orgs/{org}`).
//! - 401 or 403 (Google: 400) refuses the token (`invalid_token`); an endpoint that cannot be
//!   reached, is slow past the timeout or answers anything but a bounded JSON object of the
//!   provider's shape gives 503, never a pass.
//! - The answer says who the user is; only Google's says which client the token was issued
//!   to, and none names this resource. The layer then accepts a token whose client is one of
//!   [`allowed_client_ids`](crate::bearer::BearerAuthBuilder::allowed_client_ids), or, with
//!   the named relaxation [`accept_any_audience`](UserinfoOptions::accept_any_audience), a
//!   token of any client of the provider. The layer's rules (issuer, audience, times, scopes)
//!   apply as in every mode.
//! - Answers are kept in memory keyed by the token's SHA-256 (never the token), bounded in
//!   entries: accepting ones until the earlier of the token's expiry (when the answer says it)
//!   and [`cache_ttl`](UserinfoOptions::cache_ttl), refusing ones for
//!   [`negative_cache_ttl`](UserinfoOptions::negative_cache_ttl). Concurrent requests with the
//!   same new token share one call; calls a second are bounded.
//! - The token is never in a URL, an error or a log line.

mod options;
mod verifier;

pub use options::UserinfoOptions;
pub(crate) use verifier::UserinfoVerifier;
