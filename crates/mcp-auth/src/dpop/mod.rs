//! Sender-constrained tokens (DPoP, RFC 9449): a token bound to a key the client holds, and a
//! fresh proof signed with that key on every request, so a stolen token is useless alone.
//!
//! [`ProtectedResource::dpop`](crate::ProtectedResource::dpop) turns it on for the resource's
//! bearer layers and its metadata: [`DpopOptions::allowed`] takes Bearer and DPoP tokens (a
//! DPoP-bound token still needs its proof), [`DpopOptions::required`] only DPoP. A request then sends `Authorization: DPoP
//! <token>` and exactly one `DPoP` header, a JWT that the layer checks (RFC 9449 §4.3):
//!
//! - `typ` `dpop+jwt`, an `alg` of [`DpopOptions::algorithms`] (asymmetric only), a public
//!   `jwk` (no private members) whose signature verifies;
//! - `htm` the request's method, `htu` its URL without query and fragment — the *public* URL:
//!   the resource identifier's scheme, host and port with the request's path, so it holds
//!   behind TLS termination or `mcp-auth proxy`;
//! - `iat` within [`DpopOptions::proof_window`] of now, a `jti` never accepted before within
//!   that window ([`ReplayStore`]), `ath` the base64url SHA-256 of the token;
//! - the token's `cnf.jkt` (JWT claim or introspection member) the RFC 7638 thumbprint of the
//!   proof's key.
//!
//! A DPoP-bound token sent as `Bearer` is refused. Refusals carry `WWW-Authenticate: DPoP
//! algs="...", error="invalid_dpop_proof"` (or `invalid_token`), after a `Bearer` challenge
//! when both schemes are accepted; the protected resource metadata lists
//! `dpop_signing_alg_values_supported` and, when required, `dpop_bound_access_tokens_required`.
//!
//! With [`DpopOptions::server_nonces`], a proof must also carry a current server nonce (401
//! `use_dpop_nonce` and a `DPoP-Nonce` header otherwise).
//!
//! A DPoP-bound token sent as `Bearer` is refused even by a layer without DPoP: its issuer
//! meant it to be used with proofs only.
//!
//! **Why the setting is the resource's, not the layer's.** The resource's metadata (RFC 9728)
//! tells clients whether DPoP is required and which proof algorithms are accepted, and every
//! layer built for that resource must answer as its metadata says: two layers of one resource
//! disagreeing would make a client's token good at one path and refused at the next. So it is
//! set once, on [`ProtectedResource`](crate::ProtectedResource), and each layer reads it.
//!
//! Inside the crate this module holds all of DPoP: the proof (`proof.rs`), the request's check
//! and which tokens are bound (`request.rs`, the one call the bearer layer makes), the server
//! nonces and the replay stores.
//!
//! ```
//! use std::time::Duration;
//! use mcp_auth::dpop::DpopOptions;
//! use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
//!
//! let auth = McpAuth::builder()
//!     .protected_resource(
//!         ProtectedResource::new("https://api.example.com/mcp")
//!             .authorization_server(AuthServerConfig::lazy("https://auth.example.com", AuthServerType::OAuth))
//!             .dpop(DpopOptions::required().proof_window(Duration::from_secs(30))),
//!     )
//!     .build()?;
//! let layer = auth.bearer().build()?;
//! # let _ = layer;
//! # Ok::<(), mcp_auth::ConfigError>(())
//! ```

mod nonce;
mod proof;
#[cfg(feature = "redis")]
mod redis_store;
mod replay;
mod request;

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::error::ConfigError;
use crate::verify::key_set::first_not_asymmetric;

use nonce::MIN_SECRET_LEN;
#[cfg(feature = "testing")]
pub(crate) use proof::access_token_hash;
#[cfg(feature = "redis")]
pub use redis_store::RedisReplayStore;
pub use replay::{MemoryReplayStore, ProofUse, ReplayFuture, ReplayStore, ReplayStoreError};
pub(crate) use request::{ProofRefusal, RequestProofs, bound_key, is_bound};

/// The proof window by default: `iat` at most this far from now, either way.
pub const DEFAULT_PROOF_WINDOW: Duration = Duration::from_secs(60);

/// Proofs remembered by the default in-memory store, at most (a tenth of them per key).
pub const DEFAULT_REPLAY_ENTRIES: usize = 100_000;

/// Which tokens a layer with DPoP takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpopMode {
    /// Bearer and DPoP tokens; a DPoP-bound token only with its proof.
    Allowed,
    /// DPoP tokens only.
    Required,
}

/// DPoP settings of a bearer layer.
#[derive(Clone)]
pub struct DpopOptions {
    pub(crate) mode: DpopMode,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) window: Duration,
    pub(crate) store: Arc<dyn ReplayStore>,
    /// The secret server nonces are made with, when they are on.
    pub(crate) nonce_secret: Option<Arc<[u8]>>,
}

impl DpopOptions {
    /// Refuses settings a layer cannot enforce: no or symmetric proof algorithms (a proof is
    /// signed with the client's key, and the server has only its public half), a window outside
    /// a second to an hour, a nonce secret shorter than 32 bytes.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let invalid =
            |setting, reason| Err(ConfigError::invalid_setting("DpopOptions", setting, reason));
        if self.algorithms.is_empty() {
            return invalid(
                "algorithms",
                "it is empty: name at least one, such as ES256",
            );
        }
        if first_not_asymmetric(&self.algorithms).is_some() {
            return invalid(
                "algorithms",
                "proofs are signed with the client's public key: use asymmetric algorithms only (ES256, EdDSA, PS256, RS256...)",
            );
        }
        if self.window < Duration::from_secs(1) || self.window > Duration::from_secs(3600) {
            return invalid("proof_window", "use between one second and one hour");
        }
        if self
            .nonce_secret
            .as_ref()
            .is_some_and(|secret| secret.len() < MIN_SECRET_LEN)
        {
            return invalid(
                "server_nonces",
                "the secret is shorter than 32 bytes: use 32 random bytes or more",
            );
        }
        self.store.check()
    }

    /// Bearer and DPoP tokens both accepted.
    pub fn allowed() -> Self {
        Self::new(DpopMode::Allowed)
    }

    /// Only DPoP tokens accepted.
    pub fn required() -> Self {
        Self::new(DpopMode::Required)
    }

    fn new(mode: DpopMode) -> Self {
        Self {
            mode,
            algorithms: vec![
                Algorithm::ES256,
                Algorithm::EdDSA,
                Algorithm::PS256,
                Algorithm::RS256,
            ],
            window: DEFAULT_PROOF_WINDOW,
            store: Arc::new(MemoryReplayStore::new(DEFAULT_REPLAY_ENTRIES)),
            nonce_secret: None,
        }
    }

    /// The proof algorithms accepted (default ES256, EdDSA, PS256, RS256); asymmetric ones
    /// only, checked when the layer is built.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// How far a proof's `iat` may be from now, either way (default 60 s); each accepted
    /// proof's `jti` is remembered twice that long.
    pub fn proof_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Where accepted proofs are remembered (default: this process, at most
    /// [`DEFAULT_REPLAY_ENTRIES`]). Several replicas need a shared store.
    pub fn replay_store(mut self, store: impl ReplayStore) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// Server nonces (RFC 9449 §9): every proof must carry a nonce the server issued within
    /// the last five to ten minutes, or the request gets 401 `use_dpop_nonce` with a fresh one in
    /// the `DPoP-Nonce` header. Nonces are made from `secret` (at least 32 random bytes) and the
    /// time, so replicas sharing the secret accept each other's, and nothing is stored.
    pub fn server_nonces(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.nonce_secret = Some(secret.into().into());
        self
    }

    /// The `algs` of the `DPoP` challenge and of `dpop_signing_alg_values_supported`.
    pub(crate) fn algorithm_names(&self) -> Vec<String> {
        self.algorithms
            .iter()
            .map(|alg| format!("{alg:?}"))
            .collect()
    }
}

impl std::fmt::Debug for DpopOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopOptions")
            .field("mode", &self.mode)
            .field("algorithms", &self.algorithms)
            .field("window", &self.window)
            .field("server_nonces", &self.nonce_secret.is_some())
            .finish_non_exhaustive()
    }
}
