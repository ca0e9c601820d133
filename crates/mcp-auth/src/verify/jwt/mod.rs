//! JWT mode: a token is accepted when its signature verifies with a key from its issuer's key
//! set; the layer then applies the rules every token follows (issuer, audience, times, scopes).
//!
//! Order of checks, cheapest and safest first: size (tokens verified before were answered from
//! the verified-token cache by `JwtVerifier::remembered` already), then shape, header
//! (algorithm allow-list, `crit`, optional `typ`), then `iss`, which must name a trusted issuer
//! before any network call, since it chooses whose keys to use; then the key (by `kid`, agreeing
//! with `alg`), the signature (aws-lc-rs, with keys parsed once), and the claims' types
//! (`verify/claims.rs`). Each part of the token is decoded once.

//!
//! Files: `verifier.rs` (the checks), `options.rs` ([`JwtOptions`]), `key_cache.rs` (each issuer's
//! keys, shared by the layers of one `McpAuth`), `token_cache.rs` (tokens verified before),
//! `key_set_report.rs` (what a key set offers, for `mcp-auth discover`).

mod key_cache;
mod key_set_report;
mod options;
mod token_cache;
mod verifier;

pub(crate) use key_cache::KeyCaches;
pub use key_set_report::{KeySetError, KeySetReport, UsableKey};
pub use options::JwtOptions;
pub(crate) use verifier::JwtVerifier;
