//! The JWT verifier: the checks of one token, in order, with the keys of its issuer.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Header;
use serde_json::{Map, Value};

use super::key_cache::{KeyCache, KeyCaches, Lookup};
use super::options::JwtOptions;
use super::token_cache::TokenCache;
use crate::auth_info::AuthInfo;
use crate::error::{ConfigError, UrlKind, VerifyError};
use crate::issuer::Issuer;
use crate::issuer::tenants::tenant_in;
use crate::issuer::url_rules::parse_issuer_endpoint;
use crate::observe::Reason;
use crate::verify::claims::{ClaimsSource, ExtraScopeClaims, auth_info_from_claims};
use crate::verify::key_set::VerifyKey;
use crate::verify::mapping::IdentityMapping;
use crate::verify::rules::RuleViolation;
use crate::wire::json::{self, Unread};

/// Verifies JWT access tokens against the key sets of trusted issuers.
pub(crate) struct JwtVerifier {
    issuers: Vec<Arc<KeyCache>>,
    verified: Option<TokenCache>,
    options: JwtOptions,
    /// The layer's part of every `AuthInfo` made here.
    mapping: IdentityMapping,
    /// Whether a token without `aud` is refused here (unless the layer checks the client
    /// instead, for providers that issue none).
    aud_required: bool,
}

impl JwtVerifier {
    /// A verifier for tokens of `servers`, with their key caches from `caches`, refusing
    /// options that contradict themselves and inline metadata without a usable key set URL.
    pub(crate) fn new(
        servers: &[Arc<Issuer>],
        caches: &KeyCaches,
        options: JwtOptions,
        mapping: IdentityMapping,
        aud_required: bool,
    ) -> Result<Self, ConfigError> {
        options.check()?;
        for server in servers.iter().map(|issuer| issuer.config()) {
            let Some(metadata) = server.metadata() else {
                continue;
            };
            let uri = metadata
                .jwks_uri
                .as_deref()
                .ok_or_else(|| ConfigError::NoJwksUri {
                    issuer: metadata.issuer.clone(),
                })?;
            parse_issuer_endpoint(
                UrlKind::JwksUri,
                &metadata.issuer,
                uri,
                server.allows_insecure_http(),
            )?;
        }
        let issuers = servers
            .iter()
            .map(|issuer| caches.of(issuer, &options.keys))
            .collect();
        let verified = (options.verified_token_cache_bytes > 0).then(|| {
            TokenCache::new(
                options.verified_token_cache_bytes,
                options.verified_token_ttl,
            )
        });
        Ok(Self {
            issuers,
            verified,
            options,
            mapping,
            aud_required,
        })
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
            return Err(malformed(format!(
                "the token is larger than {} bytes",
                self.options.max_token_bytes
            )));
        }
        let (message, signature) = token
            .rsplit_once('.')
            .filter(|(message, _)| message.matches('.').count() == 1)
            .ok_or_else(not_a_jwt)?;
        let (header_part, _) = message.split_once('.').ok_or_else(not_a_jwt)?;
        let header = header(header_part)?;
        let alg = header.alg;
        if !self.options.algorithms.contains(&alg) {
            return Err(VerifyError::invalid_token(format!(
                "the algorithm {alg:?} is not allowed"
            ))
            .with_reason(Reason::DisallowedAlgorithm));
        }
        if !type_accepted(
            header.typ.as_deref(),
            self.options.require_access_token_type,
        ) {
            return Err(VerifyError::invalid_token(
                if self.options.require_access_token_type {
                    "the token's typ is not at+jwt (RFC 9068)"
                } else {
                    "the token's typ is not that of an access token (JWT or at+jwt, RFC 8725 section 3.11)"
                },
            )
            .with_reason(Reason::WrongTokenType));
        }

        // Read, not trusted: only used to choose which trusted issuer's keys to try.
        let claims = payload(message)?;
        let keys = match claims.get("iss") {
            // An issuer named exactly first; a multi-tenant template only when none is.
            Some(Value::String(iss)) => self
                .issuers
                .iter()
                .find(|cache| cache.issuer() == iss.as_str())
                .or_else(|| {
                    self.issuers
                        .iter()
                        .find(|cache| tenant_in(cache.issuer(), iss.as_str()).is_some())
                }),
            Some(_) => return Err(malformed("the iss claim is not a string")),
            None => return Err(malformed("the token has no iss claim")),
        }
        .ok_or_else(|| {
            let violation = RuleViolation::UntrustedIssuer;
            VerifyError::invalid_token(violation.to_string()).with_reason(violation.reason())
        })?;

        let kid = header.kid.as_deref();
        tracing::Span::current().record("kid", kid);
        let (candidates, mut keys_usable_until) = match keys.lookup(kid, alg).await? {
            Lookup::Keys(keys, usable_until) => (keys, usable_until),
            Lookup::NoKey(reason) => return Err(unknown_key(reason)),
        };
        // Several keys may share a kid (or the token has none): the first that verifies wins.
        let bad_signature = || {
            VerifyError::invalid_token("the token's signature does not verify")
                .with_reason(Reason::BadSignature)
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| bad_signature())?;
        let verifying = |keys: &[Arc<VerifyKey>]| {
            keys.iter()
                .find(|key| key.verifies(alg, message.as_bytes(), &signature))
                .cloned()
        };
        let key = match verifying(&candidates) {
            Some(key) => key,
            // Perhaps the issuer replaced the key under the same kid: one refetch, throttled
            // like an unknown kid, and only keys not tried yet are tried.
            None => match keys
                .refetch_after_bad_signature(kid, alg, &candidates)
                .await?
            {
                Some(Lookup::Keys(fresh, usable_until)) => {
                    keys_usable_until = usable_until;
                    verifying(&fresh).ok_or_else(bad_signature)?
                }
                Some(Lookup::NoKey(reason)) => return Err(unknown_key(reason)),
                None => return Err(bad_signature()),
            },
        };

        let missing = self
            .options
            .access_token_claims
            .iter()
            .find(|group| !group.iter().any(|claim| claims.contains_key(claim)));
        if let Some(group) = missing {
            return Err(VerifyError::invalid_token(format!(
                "the token carries none of {}: not an access token of this issuer",
                group.join(", ")
            ))
            .with_reason(Reason::WrongTokenType));
        }
        let mut info = auth_info_from_claims(
            token,
            claims,
            ExtraScopeClaims {
                scopes: self.options.read_scopes_claim,
                permissions: self.options.read_permissions_claim,
            },
            ClaimsSource::Jwt {
                aud_required: self.aud_required,
            },
        )?;
        self.mapping.apply(&mut info)?;
        let info = Arc::new(info);
        if let Some(cache) = &self.verified {
            cache.insert(token, &info, &key, keys_usable_until);
        }
        Ok(info)
    }
}

/// A token that cannot be read.
fn malformed(detail: impl Into<std::borrow::Cow<'static, str>>) -> VerifyError {
    VerifyError::invalid_token(detail).with_reason(Reason::MalformedToken)
}

/// A token whose key the issuer's key set does not hold.
fn unknown_key(detail: impl Into<std::borrow::Cow<'static, str>>) -> VerifyError {
    VerifyError::invalid_token(detail).with_reason(Reason::UnknownKey)
}

fn not_a_jwt() -> VerifyError {
    malformed("the token is not a signed JWT (three dot-separated parts)")
}

/// The JOSE header, decoded once: a JSON object whose members each appear once, without `crit`
/// (this server understands no extension, so any `crit`, even `null`, refuses the token).
fn header(encoded: &str) -> Result<Header, VerifyError> {
    let members = json_object(encoded, "header", "the token header repeats a parameter")?;
    if members.contains_key("crit") {
        return Err(malformed(
            "the token has critical header parameters this server does not understand",
        ));
    }
    serde_json::from_value(Value::Object(members))
        .map_err(|err| malformed(format!("the token header is malformed: {err}")))
}

/// The claims of `header.payload`, decoded once.
fn payload(message: &str) -> Result<Map<String, Value>, VerifyError> {
    let (_, encoded) = message.split_once('.').ok_or_else(not_a_jwt)?;
    json_object(encoded, "payload", "the token repeats a claim")
}

/// A base64url (unpadded) JSON object whose members each appear once, at any depth: a repeated
/// member (`"aud":"a", ..., "aud":"b"`) refuses the token instead of letting the last one
/// silently win.
fn json_object(
    encoded: &str,
    part: &str,
    repeated: &'static str,
) -> Result<Map<String, Value>, VerifyError> {
    json::base64url_object(encoded).map_err(|unread| match unread {
        Unread::NotBase64Url => malformed(format!("the token {part} is not base64url")),
        Unread::NotJson => malformed(format!("the token {part} is not a JSON object")),
        Unread::RepeatedMember => malformed(repeated),
    })
}

/// Whether a token of this `typ` is an access token here: `at+jwt` (RFC 9068) always; with
/// `strict` off, also no `typ` or `JWT`, as many providers send. Any other type (`dpop+jwt`,
/// `logout+jwt`, `secevent+jwt`...) is another kind of JWT of the same issuer (RFC 8725 §3.11).
fn type_accepted(typ: Option<&str>, strict: bool) -> bool {
    let at_jwt = |typ: &str| {
        typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
    };
    match typ {
        None => !strict,
        Some(typ) => at_jwt(typ) || (!strict && typ.eq_ignore_ascii_case("JWT")),
    }
}
