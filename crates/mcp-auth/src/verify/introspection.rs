//! Introspection mode (RFC 7662): opaque tokens are posted to the authorization server's
//! introspection endpoint, with client authentication, and its answer says whose they are.
//!
//! - Only `active: true` is accepted; a `token_type` other than an access token's refuses the
//!   token; an answer whose `iss` names another server than the one asked refuses it, and one
//!   without `iss` is that server's. The layer's rules (issuer, audience, times, scopes) apply
//!   as in every mode.
//! - Answers are kept in an [`IntrospectionStore`] keyed by the token's SHA-256: active ones
//!   until the earlier of the token's `exp` and [`cache_ttl`](IntrospectionOptions::cache_ttl),
//!   inactive ones for [`negative_cache_ttl`](IntrospectionOptions::negative_cache_ttl).
//! - Concurrent requests with the same new token share one call.
//! - An endpoint that cannot be reached, is slow past the timeout, refuses our credentials or
//!   answers anything but a bounded JSON object gives 503, never a pass.
//! - Signed introspection answers (RFC 9701, `application/token-introspection+jwt`) are not
//!   supported: the endpoint is asked for `application/json`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tokio::sync::OnceCell;
use url::Url;

use super::call_budget::CallBudget;
use super::claims::{self, ClaimsSource, auth_info_from_claims};
use super::introspection_store::{
    IntrospectionStore, MemoryIntrospectionStore, StoredAnswer, TokenDigest,
};
use crate::auth_info::AuthInfo;
use crate::clock::unix_now;
use crate::error::{ConfigError, UrlKind, VerifyError};
use crate::issuer::fetch::{FetchError, FetchLimits, post_form_json};
use crate::issuer::url_rules::parse_issuer_endpoint;
use crate::issuer::{Issuer, Needs};
use crate::metadata::AuthorizationServerMetadata;
use crate::observe::Reason;
use crate::observe::metrics;
use crate::scope::SharedScopeRelation;
use crate::wire::token_digest;

/// How the resource server authenticates to the introspection endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// HTTP Basic with the client id and secret (`client_secret_basic`).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    ClientSecretPost,
}

impl ClientAuthMethod {
    fn name(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }
}

/// The settings of introspection mode: the resource server's client credentials, where to
/// post, and how long answers are kept.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::verify::{ClientAuthMethod, IntrospectionOptions};
///
/// let options = IntrospectionOptions::new("mcp-server", "its-secret")
///     .auth_method(ClientAuthMethod::ClientSecretPost)
///     .cache_ttl(Duration::from_secs(30));
/// // The secret never shows in logs:
/// assert!(!format!("{options:?}").contains("its-secret"));
/// ```
#[derive(Clone)]
pub struct IntrospectionOptions {
    client_id: String,
    client_secret: String,
    auth_method: Option<ClientAuthMethod>,
    endpoint: Option<String>,
    issuer: Option<String>,
    cache_ttl: Duration,
    negative_cache_ttl: Duration,
    cache_capacity: usize,
    store: Option<Arc<dyn IntrospectionStore>>,
    timeout: Duration,
    max_response_bytes: usize,
    max_token_bytes: usize,
    max_calls_per_second: u32,
}

impl fmt::Debug for IntrospectionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionOptions")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("auth_method", &self.auth_method)
            .field("endpoint", &self.endpoint)
            .field("issuer", &self.issuer)
            .field("cache_ttl", &self.cache_ttl)
            .field("negative_cache_ttl", &self.negative_cache_ttl)
            .field("cache_capacity", &self.cache_capacity)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_token_bytes", &self.max_token_bytes)
            .field("max_calls_per_second", &self.max_calls_per_second)
            .finish_non_exhaustive()
    }
}

/// Calls a second to the endpoint unless [`IntrospectionOptions::max_calls_per_second`] says
/// otherwise.
const DEFAULT_MAX_CALLS_PER_SECOND: u32 = 100;

/// Longest an active answer may be kept.
const MAX_CACHE_TTL: Duration = Duration::from_secs(3600);

impl IntrospectionOptions {
    /// Introspection with these client credentials and the defaults: the endpoint and auth
    /// method from the authorization server's metadata, active answers kept 60 s (never past
    /// the token's `exp`), inactive ones 5 s, 10 000 answers in memory, a 5 s timeout, answers
    /// up to 64 KiB, tokens up to 16 KiB, at most 100 calls a second.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            auth_method: None,
            endpoint: None,
            issuer: None,
            cache_ttl: Duration::from_secs(60),
            negative_cache_ttl: Duration::from_secs(5),
            cache_capacity: 10_000,
            store: None,
            timeout: Duration::from_secs(5),
            max_response_bytes: 64 * 1024,
            max_token_bytes: 16 * 1024,
            max_calls_per_second: DEFAULT_MAX_CALLS_PER_SECOND,
        }
    }

    /// The client authentication method; by default the first of `client_secret_basic` and
    /// `client_secret_post` that the metadata's
    /// `introspection_endpoint_auth_methods_supported` lists (Basic when it lists neither).
    pub fn auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.auth_method = Some(method);
        self
    }

    /// The introspection endpoint, instead of the metadata's `introspection_endpoint`.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Which trusted authorization server introspects tokens, by issuer: required when the
    /// resource trusts several.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// How long an active answer is reused (never past the token's `exp`; at most one hour):
    /// a revoked token is accepted up to this long after its revocation.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// How long an inactive answer is reused, so that a flood of bad tokens costs one call per
    /// token per this period.
    pub fn negative_cache_ttl(mut self, ttl: Duration) -> Self {
        self.negative_cache_ttl = ttl;
        self
    }

    /// How many answers the default in-memory store keeps (and how many identities of active
    /// tokens are kept in process, whatever the store).
    pub fn cache_capacity(mut self, answers: usize) -> Self {
        self.cache_capacity = answers;
        self
    }

    /// Where answers are kept, instead of the in-memory store.
    pub fn store(mut self, store: impl IntrospectionStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Longest an introspection call may take, answer included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Largest answer accepted, in bytes.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Largest token sent to the endpoint, in bytes; larger ones are refused without a call.
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// Most calls a second this layer makes to the endpoint (100 by default; up to a second's
    /// worth at once). Answers kept in the cache cost no call; past the bound, a token that
    /// needs one is answered 503, so that a flood of made-up opaque tokens, each new, cannot
    /// hammer the issuer.
    ///
    /// ```
    /// use mcp_auth::verify::IntrospectionOptions;
    ///
    /// let options = IntrospectionOptions::new("mcp-server", "secret").max_calls_per_second(20);
    /// # let _ = options;
    /// ```
    pub fn max_calls_per_second(mut self, calls: u32) -> Self {
        self.max_calls_per_second = calls;
        self
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |option: &'static str, reason: &'static str| {
            Err(ConfigError::InvalidIntrospectionOption { option, reason })
        };
        if self.client_id.is_empty() {
            return invalid("new", "the client id is empty");
        }
        if self.timeout.is_zero() {
            return invalid("timeout", "it must be above zero");
        }
        if self.max_response_bytes == 0 {
            return invalid("max_response_bytes", "it must be above zero");
        }
        if self.max_token_bytes == 0 {
            return invalid("max_token_bytes", "it must be above zero");
        }
        if self.max_calls_per_second == 0 {
            return invalid("max_calls_per_second", "it must be above zero");
        }
        if self.cache_ttl > MAX_CACHE_TTL {
            return invalid(
                "cache_ttl",
                "it is above one hour: revocations must be seen eventually",
            );
        }
        if self.store.is_none() && self.cache_capacity == 0 {
            return invalid(
                "cache_capacity",
                "it is zero; set cache_ttl to zero to turn caching off",
            );
        }
        Ok(())
    }
}

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
    store: Arc<dyn IntrospectionStore>,
    /// The identities of active tokens, in process, until their answer expires: a repeated
    /// token costs a hash and a lookup, as in JWT mode, whatever the store.
    verified: quick_cache::sync::Cache<TokenDigest, (Arc<AuthInfo>, u64)>,
    /// Calls under way, so that concurrent requests with one new token share one.
    in_flight: Calls,
    /// The calls a second the endpoint may get.
    budget: CallBudget,
    scope_relation: SharedScopeRelation,
}

/// The calls under way, by token digest.
type Calls = Mutex<HashMap<TokenDigest, Arc<OnceCell<Result<Arc<StoredAnswer>, VerifyError>>>>>;

/// A caller of one shared call: when the last one leaves (answered, or dropped mid-call), the
/// call is forgotten, so that abandoned calls cannot pile up.
struct InFlight<'a> {
    calls: &'a Calls,
    key: TokenDigest,
    cell: &'a Arc<OnceCell<Result<Arc<StoredAnswer>, VerifyError>>>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut calls = lock(self.calls);
        // The map's reference and this caller's: nobody else waits for this call.
        let last = Arc::strong_count(self.cell) <= 2;
        let same = calls
            .get(&self.key)
            .is_some_and(|current| Arc::ptr_eq(current, self.cell));
        if same && (last || self.cell.initialized()) {
            calls.remove(&self.key);
        }
    }
}

impl IntrospectionVerifier {
    /// A verifier asking the server `options` names (or the only one of `servers`).
    pub(crate) fn new(
        servers: &[Arc<Issuer>],
        options: IntrospectionOptions,
        scope_relation: SharedScopeRelation,
    ) -> Result<Self, ConfigError> {
        options.check()?;
        let issuer = match (&options.issuer, servers) {
            (Some(issuer), _) => servers
                .iter()
                .find(|server| server.issuer() == issuer)
                .ok_or_else(|| ConfigError::UnknownIntrospectionIssuer(issuer.clone()))?,
            (None, [only]) => only,
            (None, _) => return Err(ConfigError::IntrospectionIssuerNotChosen),
        }
        .clone();
        let configured = configured_endpoint(&issuer, &options)?;
        let store = match &options.store {
            Some(store) => store.clone(),
            None => Arc::new(MemoryIntrospectionStore::new(options.cache_capacity)),
        };
        Ok(Self {
            budget: CallBudget::new(options.max_calls_per_second),
            verified: quick_cache::sync::Cache::new(options.cache_capacity.max(1)),
            issuer,
            options,
            configured,
            store,
            in_flight: Mutex::new(HashMap::new()),
            scope_relation,
        })
    }

    /// The identity of an active token seen before, while its answer holds.
    pub(crate) fn remembered(&self, token: &str) -> Option<Arc<AuthInfo>> {
        if token.len() > self.options.max_token_bytes {
            return None;
        }
        let (info, until) = self.verified.get(&token_digest(token))?;
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
        let stored = self
            .store
            .get(&key)
            .await
            .filter(|answer| answer.expires_at > unix_now());
        let answer = match stored {
            Some(answer) => answer,
            None => self.introspect_once(key, token).await?,
        };
        let info = self.auth_info(token, &answer)?;
        self.verified.insert(key, (info.clone(), answer.expires_at));
        metrics::cache_entries("introspection", self.verified.len());
        Ok(info)
    }

    /// One call for all concurrent requests with this token; its outcome is stored.
    async fn introspect_once(
        &self,
        key: TokenDigest,
        token: &str,
    ) -> Result<Arc<StoredAnswer>, VerifyError> {
        let cell = lock(&self.in_flight).entry(key).or_default().clone();
        let _leaving = InFlight {
            calls: &self.in_flight,
            key,
            cell: &cell,
        };
        cell.get_or_init(|| async {
            let answer = self.introspect(token).await.map(Arc::new)?;
            if answer.expires_at > unix_now() {
                self.store.put(key, (*answer).clone()).await;
            }
            Ok(answer)
        })
        .await
        .clone()
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
            method: auth_method(&self.options, Some(&metadata.metadata)),
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
            false,
            ClaimsSource::Introspection {
                answered_by: self.issuer.issuer(),
            },
        )?;
        info.scope_relation = self.scope_relation.clone();
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
            metadata
                .introspection_endpoint
                .as_deref()
                .ok_or_else(|| ConfigError::NoIntrospectionEndpoint(config.issuer().to_owned()))?,
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
        method: auth_method(options, metadata),
    }))
}

/// The method set, else the first of Basic and Post that `metadata` lists, else Basic.
fn auth_method(
    options: &IntrospectionOptions,
    metadata: Option<&AuthorizationServerMetadata>,
) -> ClientAuthMethod {
    let supported = metadata.map(|m| &m.introspection_endpoint_auth_methods_supported);
    options.auth_method.unwrap_or_else(|| {
        [
            ClientAuthMethod::ClientSecretBasic,
            ClientAuthMethod::ClientSecretPost,
        ]
        .into_iter()
        .find(|method| supported.is_some_and(|list| list.iter().any(|m| m == method.name())))
        .unwrap_or(ClientAuthMethod::ClientSecretBasic)
    })
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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
