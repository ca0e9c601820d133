//! The introspection verifier: a token's answer from the store or the endpoint, shared by
//! concurrent requests, bounded in calls a second.

use std::sync::Arc;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use url::Url;

use super::options::{ClientAuthMethod, IntrospectionOptions};
use crate::auth_info::AuthInfo;
use crate::clock::unix_now;
use crate::error::{ConfigError, UrlKind, VerifyError};
use crate::issuer::fetch::{FetchError, FetchLimits, post_form_json};
use crate::issuer::url_rules::parse_issuer_endpoint;
use crate::issuer::{Issuer, Needs};

use crate::observe::Reason;
use crate::observe::metrics;
use crate::verify::answers::{
    CallBudget, IntrospectionStore, MemoryIntrospectionStore, SingleFlight, StoredAnswer,
    TokenDigest,
};
use crate::verify::claims::{self, ClaimsSource, ExtraScopeClaims, auth_info_from_claims};
use crate::verify::mapping::IdentityMapping;
use crate::wire::token_digest;

/// Where and how to post tokens.
#[derive(Clone)]
struct Endpoint {
    url: Url,
    method: ClientAuthMethod,
}

/// Verifies opaque tokens by asking one authorization server.
pub(crate) struct IntrospectionVerifier {
    issuer: Arc<Issuer>,
    options: IntrospectionOptions,
    /// The endpoint [`IntrospectionOptions::endpoint`] sets; else the issuer's metadata names it.
    configured: Option<Endpoint>,
    /// Where answers are kept; none with a zero cache capacity and no store of the user's.
    store: Option<Arc<dyn IntrospectionStore>>,
    /// The identities of active tokens, in process, until their answer expires: a repeated
    /// token costs a hash and a lookup, as in JWT mode, whatever the store. None with a zero
    /// cache capacity.
    verified: Option<quick_cache::sync::Cache<TokenDigest, (Arc<AuthInfo>, u64)>>,
    /// Calls under way, so that concurrent requests with one new token share one.
    in_flight: SingleFlight<Result<Arc<StoredAnswer>, VerifyError>>,
    /// The calls a second the endpoint may get.
    budget: CallBudget,
    /// The layer's part of every `AuthInfo` made here.
    mapping: IdentityMapping,
}

impl IntrospectionVerifier {
    /// A verifier asking the server `options` names (or the only one of `servers`).
    pub(crate) fn new(
        servers: &[Arc<Issuer>],
        options: IntrospectionOptions,
        mapping: IdentityMapping,
    ) -> Result<Self, ConfigError> {
        options.check()?;
        let issuer = match (&options.issuer, servers) {
            (Some(issuer), _) => servers
                .iter()
                .find(|server| server.issuer() == issuer)
                .ok_or_else(|| ConfigError::UnknownIntrospectionIssuer {
                    issuer: issuer.clone(),
                })?,
            (None, [only]) => only,
            (None, _) => return Err(ConfigError::IntrospectionIssuerNotChosen),
        }
        .clone();
        let configured = configured_endpoint(&issuer, &options)?;
        let capacity = options.cache_capacity;
        let store = match &options.store {
            Some(store) => Some(store.clone()),
            None if capacity == 0 => None,
            None => Some(Arc::new(MemoryIntrospectionStore::new(capacity)) as Arc<_>),
        };
        Ok(Self {
            budget: CallBudget::new(options.max_calls_per_second),
            verified: (capacity > 0).then(|| quick_cache::sync::Cache::new(capacity)),
            issuer,
            options,
            configured,
            store,
            in_flight: SingleFlight::default(),
            mapping,
        })
    }

    /// The identity of an active token seen before, while its answer holds.
    pub(crate) fn remembered(&self, token: &str) -> Option<Arc<AuthInfo>> {
        if token.len() > self.options.max_token_bytes {
            return None;
        }
        let (info, until) = self.verified.as_ref()?.get(&token_digest(token))?;
        (until > unix_now()).then_some(info)
    }

    /// The identity behind `token`, from a stored answer or the endpoint.
    pub(crate) async fn verify(&self, token: &str) -> Result<Arc<AuthInfo>, VerifyError> {
        if token.len() > self.options.max_token_bytes {
            return Err(VerifyError::invalid_token(format!(
                "the token is larger than {} bytes",
                self.options.max_token_bytes
            ))
            .with_reason(Reason::MalformedToken));
        }
        let key = token_digest(token);
        let stored = match &self.store {
            Some(store) => store.get(&key).await,
            None => None,
        }
        .filter(|answer| answer.expires_at > unix_now());
        let answer = match stored {
            Some(answer) => answer,
            None => self.introspect_once(key, token).await?,
        };
        let info = self.auth_info(token, &answer)?;
        if let Some(verified) = &self.verified {
            verified.insert(key, (info.clone(), answer.expires_at));
            metrics::cache_entries("introspection", verified.len());
        }
        Ok(info)
    }

    /// One call for all concurrent requests with this token; its outcome is stored.
    async fn introspect_once(
        &self,
        key: TokenDigest,
        token: &str,
    ) -> Result<Arc<StoredAnswer>, VerifyError> {
        self.in_flight
            .run(key, || async {
                let answer = self.introspect(token).await.map(Arc::new)?;
                if let Some(store) = self
                    .store
                    .as_ref()
                    .filter(|_| answer.expires_at > unix_now())
                {
                    store.put(key, (*answer).clone()).await;
                }
                Ok(answer)
            })
            .await
    }

    /// Asks the endpoint about `token`.
    async fn introspect(&self, token: &str) -> Result<StoredAnswer, VerifyError> {
        let endpoint = self.endpoint().await?;
        if !self.budget.take(Instant::now()) {
            tracing::debug!(
                issuer = %self.issuer.issuer(),
                "introspection calls over their bound: a token answered 503"
            );
            return Err(VerifyError::unavailable(format!(
                "more than {} introspection calls a second: try again shortly",
                self.options.max_calls_per_second
            )));
        }
        let secret = self.options.client_secret.as_str();
        let id = self.options.client_id.as_str();
        let mut form = vec![("token", token), ("token_type_hint", "access_token")];
        let basic;
        let authorization = match endpoint.method {
            ClientAuthMethod::ClientSecretBasic => {
                basic = basic_authorization(id, secret);
                Some(basic.as_str())
            }
            ClientAuthMethod::ClientSecretPost => {
                form.extend([("client_id", id), ("client_secret", secret)]);
                None
            }
        };
        let limits = FetchLimits {
            timeout: self.options.timeout,
            max_body: self.options.max_response_bytes,
        };
        let fetched = post_form_json(&endpoint.url, &form, authorization, limits)
            .await
            .map_err(|error| self.unavailable(&error))?;
        let Value::Object(members) = fetched.json else {
            return Err(VerifyError::unavailable(
                "the introspection endpoint answered JSON that is not an object",
            ));
        };
        let now = unix_now();
        match members.get("active") {
            Some(Value::Bool(true)) => {
                // A fractional `exp` counts too (truncated, as for the token itself): else the
                // answer would be kept for the whole cache TTL, past the token's life.
                let exp = claims::number(&members, "exp").ok().flatten();
                let until = now.saturating_add(self.options.cache_ttl.as_secs());
                Ok(StoredAnswer {
                    expires_at: exp.map_or(until, |exp| exp.min(until)),
                    active: Some(members),
                })
            }
            Some(Value::Bool(false)) => Ok(StoredAnswer {
                active: None,
                expires_at: now.saturating_add(self.options.negative_cache_ttl.as_secs()),
            }),
            _ => Err(VerifyError::unavailable(
                "the introspection answer has no boolean active member",
            )),
        }
    }

    /// A fetch failure as a 503, logged with what to fix when the endpoint refused us.
    fn unavailable(&self, error: &FetchError) -> VerifyError {
        if let FetchError::Status {
            status: 400 | 401 | 403,
            url,
        } = error
        {
            tracing::error!(
                %url,
                client_id = %self.options.client_id,
                "the introspection endpoint refused the resource server's client credentials: check the client id, secret and auth method"
            );
        }
        VerifyError::unavailable(format!("token introspection failed: {error}"))
    }

    /// The endpoint configured, or the one the issuer's metadata names.
    async fn endpoint(&self) -> Result<Endpoint, VerifyError> {
        if let Some(configured) = &self.configured {
            return Ok(configured.clone());
        }
        let unavailable = |reason: &str| {
            VerifyError::unavailable(format!("no introspection endpoint yet: {reason}"))
        };
        let metadata = self
            .issuer
            .metadata(Needs::IntrospectionEndpoint)
            .await
            .map_err(|reason| unavailable(&reason))?;
        Ok(Endpoint {
            url: metadata
                .introspection_endpoint()
                .map_err(unavailable)?
                .clone(),
            method: self.options.auth_method_for(Some(&metadata.metadata)),
        })
    }

    /// The `AuthInfo` of an answer, or the refusal it calls for.
    fn auth_info(&self, token: &str, answer: &StoredAnswer) -> Result<Arc<AuthInfo>, VerifyError> {
        let Some(members) = &answer.active else {
            return Err(
                VerifyError::invalid_token("the token is not active").with_reason(Reason::Inactive)
            );
        };
        if let Some(token_type) = members.get("token_type") {
            let is_access_token = token_type.as_str().is_some_and(|kind| {
                // A DPoP token is an access token too: the layer requires its proof and its
                // binding (`cnf.jkt`), and refuses it as Bearer.
                [
                    "bearer",
                    "dpop",
                    "access_token",
                    "urn:ietf:params:oauth:token-type:access_token",
                ]
                .iter()
                .any(|accepted| kind.eq_ignore_ascii_case(accepted))
            });
            if !is_access_token {
                return Err(VerifyError::invalid_token(
                    "the introspection answer says the token is not a bearer access token",
                )
                .with_reason(Reason::Inactive));
            }
        }
        let mut info = auth_info_from_claims(
            token,
            members.clone(),
            ExtraScopeClaims::default(),
            ClaimsSource::Introspection {
                answered_by: self.issuer.issuer(),
            },
        )?;
        self.mapping.apply(&mut info)?;
        Ok(Arc::new(info))
    }
}

/// The endpoint [`IntrospectionOptions::endpoint`] sets, if any. Refuses an unusable URL, and
/// metadata known now (inline, or discovered at start) that names no usable endpoint when none is
/// set.
fn configured_endpoint(
    issuer: &Issuer,
    options: &IntrospectionOptions,
) -> Result<Option<Endpoint>, ConfigError> {
    let config = issuer.config();
    let metadata = config.metadata();
    let (url, configured) = match (&options.endpoint, metadata) {
        (Some(url), _) => (url.as_str(), true),
        (None, Some(metadata)) => (
            metadata.introspection_endpoint.as_deref().ok_or_else(|| {
                ConfigError::NoIntrospectionEndpoint {
                    issuer: config.issuer().to_owned(),
                }
            })?,
            false,
        ),
        (None, None) => return Ok(None),
    };
    let url = parse_issuer_endpoint(
        UrlKind::IntrospectionEndpoint,
        config.issuer(),
        url,
        config.allows_insecure_http(),
    )?;
    Ok(configured.then(|| Endpoint {
        url,
        method: options.auth_method_for(metadata),
    }))
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_authorization(id: &str, secret: &str) -> String {
    let encode =
        |part: &str| url::form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(id), encode(secret)))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        // RFC 6749 §2.3.1: "client id:secret" with each part application/x-www-form-urlencoded.
        assert_eq!(
            basic_authorization("a:b", "p w"),
            format!("Basic {}", STANDARD.encode("a%3Ab:p+w"))
        );
    }
}
