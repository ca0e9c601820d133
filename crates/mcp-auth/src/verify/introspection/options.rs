//! The settings of introspection mode, and their checks.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::ConfigError;
use crate::metadata::AuthorizationServerMetadata;
use crate::verify::answers::IntrospectionStore;

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
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) auth_method: Option<ClientAuthMethod>,
    pub(crate) endpoint: Option<String>,
    pub(crate) issuer: Option<String>,
    pub(crate) cache_ttl: Duration,
    pub(crate) negative_cache_ttl: Duration,
    pub(crate) cache_capacity: usize,
    pub(crate) store: Option<Arc<dyn IntrospectionStore>>,
    pub(crate) timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) max_token_bytes: usize,
    pub(crate) max_calls_per_second: u32,
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
    /// a revoked token is accepted up to this long after its revocation. Zero reuses none.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// How long an inactive answer is reused, so that a flood of bad tokens costs one call per
    /// token per this period. Zero reuses none.
    pub fn negative_cache_ttl(mut self, ttl: Duration) -> Self {
        self.negative_cache_ttl = ttl;
        self
    }

    /// How many answers the default in-memory store keeps (and how many identities of active
    /// tokens are kept in process, whatever the store); zero keeps none (every request asks
    /// the endpoint, or the store of [`store`](Self::store) when set).
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

    /// The method set, else the first of Basic and Post that `metadata` lists, else Basic.
    pub(crate) fn auth_method_for(
        &self,
        metadata: Option<&AuthorizationServerMetadata>,
    ) -> ClientAuthMethod {
        let supported = metadata.map(|m| &m.introspection_endpoint_auth_methods_supported);
        self.auth_method.unwrap_or_else(|| {
            [
                ClientAuthMethod::ClientSecretBasic,
                ClientAuthMethod::ClientSecretPost,
            ]
            .into_iter()
            .find(|method| supported.is_some_and(|list| list.iter().any(|m| m == method.name())))
            .unwrap_or(ClientAuthMethod::ClientSecretBasic)
        })
    }

    /// Refuses settings that contradict themselves, naming the setter at fault.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let invalid = |option: &'static str, reason: &'static str| {
            Err(ConfigError::invalid_setting(
                "IntrospectionOptions",
                option,
                reason,
            ))
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
        Ok(())
    }
}
