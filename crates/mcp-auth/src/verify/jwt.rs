//! JWT mode: a token is accepted when its signature verifies with a key from its issuer's key
//! set and its claims pass every rule.
//!
//! Order of checks, cheapest and safest first: size, shape, header (algorithm allow-list,
//! `crit`, optional `typ`), then `iss`, which must name a trusted issuer before any network
//! call; then the key (by `kid`, agreeing with `alg`), the signature, and the claims.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::claims::{TimeRules, auth_info_from_claims};
use super::key_cache::{KeyCache, Lookup};
use super::options::JwtOptions;
use super::token_cache::TokenCache;
use super::{TokenVerifier, VerifyFuture};
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

    async fn verify_token(&self, token: &str) -> Result<AuthInfo, VerifyError> {
        if token.len() > self.options.max_token_bytes {
            return Err(refuse(format!(
                "the token is larger than {} bytes",
                self.options.max_token_bytes
            )));
        }
        if let Some(info) = self.verified.as_ref().and_then(|cache| cache.get(token)) {
            return Ok(info);
        }
        if token.split('.').count() != 3 {
            return Err(refuse(
                "the token is not a signed JWT (three dot-separated parts)",
            ));
        }
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

        let issuer = peek_issuer(token)?;
        let keys = self
            .issuers
            .iter()
            .find(|cache| cache.issuer() == issuer)
            .ok_or_else(|| refuse("the token's issuer is not trusted by this resource"))?;

        let candidates = match keys.lookup(header.kid.as_deref(), alg).await? {
            Lookup::Keys(keys) => keys,
            Lookup::NoKey(reason) => return Err(refuse(reason)),
        };
        let validation = self.validation(alg, &issuer);
        for key in candidates {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding_key, &validation)
            {
                Ok(data) => {
                    let info = self.read_claims(token, data.claims)?;
                    if let Some(cache) = &self.verified {
                        cache.insert(token, &info, &key);
                    }
                    return Ok(info);
                }
                // Several keys may share a kid (or the token has none): try the next.
                Err(err) if *err.kind() == ErrorKind::InvalidSignature => continue,
                Err(err) => return Err(refuse(describe(err.kind()))),
            }
        }
        Err(refuse(describe(&ErrorKind::InvalidSignature)))
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

    /// jsonwebtoken's own checks, a second line behind `claims.rs`: exactly `alg`; the values
    /// and formats of `exp`, `nbf`, `aud` and `iss`. Presence is required by `claims.rs`, which
    /// says which claim is missing or malformed; jsonwebtoken's required-claims check would
    /// report a malformed claim as missing.
    fn validation(&self, alg: Algorithm, issuer: &str) -> Validation {
        let mut validation = Validation::new(alg);
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        validation.required_spec_claims.clear();
        validation.set_audience(&self.audiences);
        validation.set_issuer(&[issuer]);
        validation
    }
}

impl TokenVerifier for JwtVerifier {
    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(self.verify_token(token))
    }
}

/// The `iss` of a token not verified yet: only used to choose which trusted issuer's keys to
/// try, never trusted by itself.
fn peek_issuer(token: &str) -> Result<String, VerifyError> {
    #[derive(Deserialize)]
    struct Peek {
        iss: Option<Value>,
    }
    let peek: Peek = jsonwebtoken::dangerous::insecure_decode_claims(token)
        .map_err(|_| refuse("the token payload is not a JSON object"))?;
    match peek.iss {
        Some(Value::String(iss)) => Ok(iss),
        Some(_) => Err(refuse("the iss claim is not a string")),
        None => Err(refuse("the token has no iss claim")),
    }
}

fn is_access_token_type(typ: Option<&str>) -> bool {
    typ.is_some_and(|typ| {
        typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
    })
}

fn describe(kind: &ErrorKind) -> Cow<'static, str> {
    match kind {
        ErrorKind::InvalidSignature => "the token's signature does not verify".into(),
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".into(),
        ErrorKind::InvalidAudience => "the token's audience does not include this resource".into(),
        ErrorKind::InvalidIssuer => "the token's issuer is not trusted by this resource".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the token has no {claim} claim").into(),
        ErrorKind::InvalidClaimFormat(claim) => format!("the {claim} claim is malformed").into(),
        ErrorKind::InvalidAlgorithm => "the token's algorithm does not match its key".into(),
        _ => "the token is malformed".into(),
    }
}

fn refuse(reason: impl Into<Cow<'static, str>>) -> VerifyError {
    VerifyError::invalid_token(reason)
}
