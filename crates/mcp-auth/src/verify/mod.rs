//! Turning an access token into an [`AuthInfo`](crate::AuthInfo): the [`TokenVerifier`] trait, which plain async
//! functions and closures implement (custom mode), JWT mode's settings ([`JwtOptions`]),
//! introspection mode's ([`IntrospectionOptions`], RFC 7662, with its [`IntrospectionStore`]),
//! userinfo mode's ([`UserinfoOptions`]: OpenID Connect UserInfo, Google, GitHub), API keys
//! ([`ApiKeys`]), and a report on what a key set offers ([`KeySetReport`]).
//!
//! A layer may run JWT mode, introspection (or userinfo) and API keys together: the token's shape decides
//! which one verifies it (see
//! [`BearerAuthBuilder::introspection`](crate::bearer::BearerAuthBuilder::introspection)).
//!
//! # How JWT mode decides
//!
//! A token verified before is answered from the verified-token cache; any other goes through
//! every step:
//!
//! 1. size (before decoding), three parts, header: `alg` in the allow-list, no `crit`, optional
//!    `typ`;
//! 2. `iss` must name a trusted authorization server, *before* any network call;
//! 3. the key: by `kid` from that issuer's cached key set; its `kty`, `crv` and `alg` must agree
//!    with the token's `alg`. Keys in token headers (`jwk`, `jku`, `x5u`, `x5c`) are never used
//!    or fetched. Keys for encryption, symmetric keys, unknown types and RSA keys under 2048 bits
//!    are left out of the key set;
//! 4. the signature, with aws-lc-rs keys parsed once per key; the payload must not repeat a
//!    claim;
//! 5. the claims' types: `iss`, `exp` and `aud` (string or array) required, every registered
//!    claim of the wrong JSON type refuses the token; scopes from `scope`, `scp` or `scopes`,
//!    client from `client_id` or `azp`.
//!
//! Then, in every mode, cached or not, the layer applies the same rules to the
//! [`AuthInfo`](crate::AuthInfo): a trusted issuer, an audience of this resource, `exp`, `nbf` and `iat` within
//! the leeway, and the required scopes.
//!
//! # Keys
//!
//! Each trusted issuer's metadata is discovered once for every layer built from one
//! [`McpAuth`](crate::McpAuth), and again as its [`Discovery`](crate::discovery::Discovery) says
//! (daily by default). Its key set is fetched once per TTL (the key set's
//! `Cache-Control: max-age`, held within bounds) by all the layers with the same [`JwtOptions`],
//! refetched once for a new `kid` (rotation) with a cooldown against floods of made-up ones,
//! shared among concurrent callers, refreshed in the background while stale keys keep answering,
//! and kept through an outage up to a maximum staleness; with no usable key the answer is 503,
//! never a pass. See [`JwtOptions`] for every bound.

mod answers;
mod api_keys;
mod claims;
mod custom;
mod introspection;
mod jwt;
pub(crate) mod key_set;
mod mapping;
mod rules;
mod userinfo;
mod verifier;

// One call for concurrent identical questions, shared with the policy decision point client.
pub(crate) use answers::SingleFlight;
pub use answers::{
    IntrospectionStore, MemoryIntrospectionStore, StoreFuture, StoredAnswer, TokenDigest,
};
pub(crate) use api_keys::ApiKeyVerifier;
pub use api_keys::{ApiKey, ApiKeys, InvalidApiKeyEntry};
pub(crate) use custom::CustomVerifier;
pub use custom::{TokenVerifier, VerifyFuture};
pub(crate) use introspection::IntrospectionVerifier;
pub use introspection::{ClientAuthMethod, IntrospectionOptions};
pub use jwt::{JwtOptions, KeySetError, KeySetReport, UsableKey};
pub(crate) use jwt::{JwtVerifier, KeyCaches};
#[cfg(fuzzing)]
pub(crate) use key_set::{ASYMMETRIC, KeySet};
pub(crate) use mapping::IdentityMapping;
pub(crate) use rules::{TokenRules, TrustedIssuer};
pub use userinfo::UserinfoOptions;
pub(crate) use userinfo::UserinfoVerifier;
pub(crate) use verifier::{OpaqueVerifier, Verifier};
