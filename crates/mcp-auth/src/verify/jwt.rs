//! JWT mode: a token is accepted when its signature verifies with a key from its issuer's key
//! set and its claims pass every rule.
//!
//! Order of checks, cheapest and safest first: size (tokens verified before were answered from
//! the verified-token cache by [`JwtVerifier::remembered`] already), then shape,
//! header (algorithm allow-list, `crit`, optional `typ`), then `iss`, which must name a trusted
//! issuer before any network call; then the key (by `kid`, agreeing with `alg`), the signature
//! (aws-lc-rs, with keys parsed once), and the claims (`claims.rs`). Each part of the token is
//! decoded once.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::claims::{REPEATED_CLAIM, TimeRules, UniqueClaims, auth_info_from_claims};
use super::key_cache::{KeyCache, Lookup};
use super::options::JwtOptions;
use super::token_cache::TokenCache;
use crate::auth_info::AuthInfo;
use crate::auth_server::AuthServerConfig;
use crate::error::VerifyError;

/// Verifies JWT access tokens against the key sets of trusted issuers.
pub(crate) struct JwtVerifier {
    issuers: Vec<Arc<KeyCache>>,
    verified: Option<TokenCache>,
    audiences: Vec<String>,
    leeway: u64,
    options: JwtOptions,
}

impl JwtVerifier {
    pub(crate) fn new(
        servers: &[AuthServerConfig],
        audiences: Vec<String>,
        leeway: u64,
        options: JwtOptions,
    ) -> Self {
        let issuers = servers
            .iter()
            .map(|server| Arc::new(KeyCache::new(server.clone(), options.keys.clone())))
            .collect();
        let verified = (options.verified_capacity > 0)
            .then(|| TokenCache::new(options.verified_capacity, options.verified_ttl));
        Self {
            issuers,
            verified,
            audiences,
            leeway,
            options,
        }
    }

    /// What an earlier verification of `token` found, if it still holds.
    pub(crate) fn remembered(&self, token: &str) -> Option<Arc<AuthInfo>> {
        if token.len() > self.options.max_token_bytes {
            return None;
        }
        self.verified.as_ref()?.get(token)
    }

    /// The identity behind `token`, remembered for the next time it is presented.
    pub(crate) async fn verify(&self, token: &str) -> Result<Arc<AuthInfo>, VerifyError> {
        if token.len() > self.options.max_token_bytes {
            return Err(refuse(format!(
                "the token is larger than {} bytes",
                self.options.max_token_bytes
            )));
        }
        let (message, signature) = token
            .rsplit_once('.')
            .filter(|(message, _)| message.matches('.').count() == 1)
            .ok_or_else(|| refuse("the token is not a signed JWT (three dot-separated parts)"))?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|err| refuse(format!("the token header is malformed: {err}")))?;
        let alg = header.alg;
        if !self.options.algorithms.contains(&alg) {
            return Err(refuse(format!("the algorithm {alg:?} is not allowed")));
        }
        if header.crit.is_some() {
            return Err(refuse(
                "the token has critical header parameters this server does not understand",
            ));
        }
        if self.options.require_at_jwt && !is_access_token_type(header.typ.as_deref()) {
            return Err(refuse("the token's typ is not at+jwt (RFC 9068)"));
        }

        // Read, not trusted: only used to choose which trusted issuer's keys to try.
        let claims = payload(message)?;
        let keys = match claims.get("iss") {
            Some(Value::String(iss)) => self.issuers.iter().find(|cache| cache.issuer() == iss),
            Some(_) => return Err(refuse("the iss claim is not a string")),
            None => return Err(refuse("the token has no iss claim")),
        }
        .ok_or_else(|| refuse("the token's issuer is not trusted by this resource"))?;

        let (candidates, keys_usable_until) = match keys.lookup(header.kid.as_deref(), alg).await? {
            Lookup::Keys(keys, usable_until) => (keys, usable_until),
            Lookup::NoKey(reason) => return Err(refuse(reason)),
        };
        // Several keys may share a kid (or the token has none): the first that verifies wins.
        let bad_signature = || refuse("the token's signature does not verify");
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| bad_signature())?;
        let key = candidates
            .into_iter()
            .find(|key| key.verifies(alg, message.as_bytes(), &signature))
            .ok_or_else(bad_signature)?;

        let info = Arc::new(self.read_claims(token, claims)?);
        if let Some(cache) = &self.verified {
            cache.insert(token, &info, &key, keys_usable_until);
        }
        Ok(info)
    }

    fn read_claims(
        &self,
        token: &str,
        claims: Map<String, Value>,
    ) -> Result<AuthInfo, VerifyError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let time = TimeRules {
            now,
            leeway: self.leeway,
        };
        auth_info_from_claims(token, claims, &self.audiences, &time)
    }
}

/// The claims of `header.payload`, decoded once (base64url without padding, a JSON object).
fn payload(message: &str) -> Result<Map<String, Value>, VerifyError> {
    let (_, encoded) = message
        .split_once('.')
        .ok_or_else(|| refuse("the token is not a signed JWT (three dot-separated parts)"))?;
    let json = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| refuse("the token payload is not base64url"))?;
    match serde_json::from_slice::<UniqueClaims>(&json) {
        Ok(UniqueClaims(claims)) => Ok(claims),
        Err(err) if err.to_string().contains(REPEATED_CLAIM) => {
            Err(refuse("the token repeats a claim"))
        }
        Err(_) => Err(refuse("the token payload is not a JSON object")),
    }
}

fn is_access_token_type(typ: Option<&str>) -> bool {
    typ.is_some_and(|typ| {
        typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
    })
}

fn refuse(reason: impl Into<Cow<'static, str>>) -> VerifyError {
    VerifyError::invalid_token(reason)
}
