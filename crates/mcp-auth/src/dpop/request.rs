//! One request's DPoP, as a bearer layer checks it: the proof in its `DPoP` header, its key
//! against the token's binding, the server nonce, and the replay of its `jti` (RFC 9449 §4.3,
//! §7, §9, §11.1); and which tokens are bound, so that one is never taken as a bearer token.

use http::request::Parts;
use url::Url;

use super::nonce::Nonces;
use super::proof::{ProofRequest, check};
use super::replay::ProofUse;
use super::{DpopMode, DpopOptions};
use crate::auth_info::AuthInfo;
use crate::clock::unix_now;
use crate::observe::Reason;
use crate::wire::headers::DPOP;

/// A resource's DPoP settings, ready for requests.
pub(crate) struct RequestProofs {
    options: DpopOptions,
    nonces: Option<Nonces>,
    /// The resource's URL: a proof's `htu` names it, with the request's path.
    public_url: Url,
}

/// Why a request's proof was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ProofRefusal {
    /// The proof is missing, malformed, replayed, or its key sent too many: `invalid_dpop_proof`.
    Invalid(Reason, &'static str),
    /// The proof carries no current server nonce: `use_dpop_nonce` with this one.
    UseNonce(String),
    /// The token is not bound to the proof's key: `invalid_token`.
    KeyMismatch,
    /// The replay store cannot answer: 503.
    Unavailable(String),
}

impl RequestProofs {
    /// Uses `running`'s replay store, and so remembers the proofs it saw (a reload).
    pub(crate) fn keep_replay_store(&mut self, running: &RequestProofs) {
        self.options.store = running.options.store.clone();
    }

    pub(crate) fn new(options: DpopOptions, public_url: Url) -> Self {
        let nonces = options.nonce_secret.as_deref().map(Nonces::new);
        Self {
            options,
            nonces,
            public_url,
        }
    }

    /// Whether only DPoP tokens are taken (a bearer token is refused).
    pub(crate) fn required(&self) -> bool {
        self.options.mode == DpopMode::Required
    }

    /// Checks the proof of the request `parts` for `token`, whose verified identity is `info`:
    /// its form, signature and claims, the server nonce, its key against the token's
    /// `cnf.jkt`, and that its `jti` was never accepted before (recorded now).
    pub(crate) async fn check(
        &self,
        token: &str,
        info: &AuthInfo,
        parts: &Parts,
    ) -> Result<(), ProofRefusal> {
        let invalid = |detail| ProofRefusal::Invalid(Reason::InvalidDpopProof, detail);
        let mut proofs = parts.headers.get_all(DPOP).iter();
        let proof = match (proofs.next(), proofs.next()) {
            (Some(proof), None) => proof
                .to_str()
                .map_err(|_| invalid("the DPoP header is not printable ASCII"))?,
            (None, _) => return Err(invalid("the request has no DPoP proof")),
            (Some(_), Some(_)) => return Err(invalid("the request has more than one DPoP header")),
        };
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(parts.uri.path(), |original| original.0.path());
        let mut url = self.public_url.clone();
        url.set_path(path);
        url.set_query(None);
        url.set_fragment(None);
        let request = ProofRequest {
            method: &parts.method,
            url: &url,
            token,
            now: unix_now(),
        };
        let options = &self.options;
        let checked = check(
            proof,
            &options.algorithms,
            options.window.as_secs(),
            &request,
        )
        .map_err(invalid)?;
        if let Some(nonces) = &self.nonces
            && !checked
                .nonce
                .as_deref()
                .is_some_and(|nonce| nonces.accepts(nonce))
        {
            return Err(ProofRefusal::UseNonce(nonces.current()));
        }
        if bound_key(info) != Some(checked.jkt.as_str()) {
            return Err(ProofRefusal::KeyMismatch);
        }
        let recorded = options
            .store
            .first_use(&checked.jkt, &checked.jti, options.window * 2)
            .await;
        match recorded {
            Ok(ProofUse::First) => Ok(()),
            Ok(ProofUse::Replayed) => Err(ProofRefusal::Invalid(
                Reason::ReplayedDpopProof,
                "the DPoP proof was used before",
            )),
            // This client's fault, refused to this client only: a 503 would refuse everyone.
            Ok(ProofUse::KeyLimit) => Err(ProofRefusal::Invalid(
                Reason::DpopKeyLimit,
                "the DPoP key sent more proofs within the proof window than the server keeps for \
                 one key: send fewer requests, or wait for older proofs to leave the window",
            )),
            Err(err) => Err(ProofRefusal::Unavailable(err.to_string())),
        }
    }
}

/// The thumbprint of the key a token is bound to: its `cnf.jkt` (a JWT claim or an
/// introspection member, RFC 9449 §6).
pub(crate) fn bound_key(info: &AuthInfo) -> Option<&str> {
    info.claims.get("cnf")?.get("jkt")?.as_str()
}

/// Whether a token is bound to a key its sender must prove (a confirmation, `cnf`: RFC 7800;
/// DPoP's `jkt`, or mutual TLS's `x5t#S256`, RFC 8705, which this layer cannot check), or
/// introspection says its type is `DPoP`. Such a token is refused as `Bearer` whatever the
/// layer's DPoP setting: its issuer meant it to be useless without its key.
pub(crate) fn is_bound(info: &AuthInfo) -> bool {
    info.claims.contains_key("cnf")
        || info
            .claims
            .get("token_type")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|kind| kind.eq_ignore_ascii_case("dpop"))
}
