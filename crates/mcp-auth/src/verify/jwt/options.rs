//! Settings of JWT mode: which tokens are acceptable and how keys are cached.

use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::error::ConfigError;
use crate::issuer::fetch::Backoff;
use crate::verify::key_set::{ASYMMETRIC, first_not_asymmetric};

/// The verified-token cache's memory bound unless set: 32 MiB.
const DEFAULT_VERIFIED_TOKEN_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// Longest a key set may be cached, whatever its `max-age` says.
const MAX_KEY_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// How JWT access tokens are checked and their keys cached; the defaults suit most servers.
///
/// ```
/// use std::time::Duration;
/// use jsonwebtoken::Algorithm;
/// use mcp_auth::verify::JwtOptions;
///
/// let options = JwtOptions::default()
///     .algorithms([Algorithm::RS256, Algorithm::ES256])
///     .require_access_token_type(true)
///     .key_cache_ttl(Duration::from_secs(600));
/// ```
#[derive(Debug, Clone)]
pub struct JwtOptions {
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) require_access_token_type: bool,
    pub(crate) read_scopes_claim: bool,
    pub(crate) read_permissions_claim: bool,
    /// Groups of claims an access token carries one of each.
    pub(crate) access_token_claims: Vec<Vec<String>>,
    pub(crate) max_token_bytes: usize,
    pub(crate) keys: KeyCacheOptions,
    pub(crate) verified_token_cache_bytes: u64,
    pub(crate) verified_token_ttl: Duration,
}

/// How one issuer's key set is cached and refetched (its metadata is the issuer's business: see
/// [`Discovery`](crate::discovery::Discovery)). Layers with equal options share one cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyCacheOptions {
    pub(crate) default_ttl: Duration,
    pub(crate) min_ttl: Duration,
    pub(crate) max_ttl: Duration,
    pub(crate) unknown_kid_cooldown: Duration,
    pub(crate) max_staleness: Duration,
    pub(crate) retry_backoff: Backoff,
    pub(crate) fetch_timeout: Duration,
}

impl Default for KeyCacheOptions {
    fn default() -> Self {
        Self {
            default_ttl: Duration::from_secs(300),
            min_ttl: Duration::from_secs(30),
            max_ttl: Duration::from_secs(24 * 3600),
            unknown_kid_cooldown: Duration::from_secs(10),
            max_staleness: Duration::from_secs(24 * 3600),
            retry_backoff: Backoff {
                min: Duration::from_secs(1),
                max: Duration::from_secs(60),
            },
            fetch_timeout: Duration::from_secs(10),
        }
    }
}

impl Default for JwtOptions {
    fn default() -> Self {
        Self {
            algorithms: ASYMMETRIC.to_vec(),
            require_access_token_type: false,
            read_scopes_claim: false,
            read_permissions_claim: false,
            access_token_claims: Vec::new(),
            max_token_bytes: 16 * 1024,
            keys: KeyCacheOptions::default(),
            verified_token_cache_bytes: DEFAULT_VERIFIED_TOKEN_CACHE_BYTES,
            verified_token_ttl: Duration::from_secs(300),
        }
    }
}

impl JwtOptions {
    /// The signature algorithms accepted (default: RS256/384/512, PS256/384/512, ES256/384,
    /// EdDSA). HMAC algorithms are refused: a key set's keys are public.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Accept only tokens whose `typ` header is `at+jwt` (RFC 9068 access tokens), which
    /// keeps ID tokens out too. Off by default, many providers sending `JWT` or no `typ`; even
    /// then, a token of another type (`dpop+jwt`, `logout+jwt`, `secevent+jwt`...) is refused:
    /// the accepted types are none, `JWT`, `at+jwt` and `application/at+jwt`, in any case.
    pub fn require_access_token_type(mut self, require: bool) -> Self {
        self.require_access_token_type = require;
        self
    }

    /// Also read scopes from the non-standard `scopes` claim (a string or an array) when the
    /// token has neither `scope` nor `scp`. Off by default: a claim no specification defines
    /// should grant nothing unless you know your issuer uses it.
    pub fn read_scopes_claim(mut self, read: bool) -> Self {
        self.read_scopes_claim = read;
        self
    }

    /// Also grant the scopes of Auth0's `permissions` claim (with RBAC and "Add Permissions in
    /// the Access Token" on: an array, each member granted like a scope, added to those of
    /// `scope`). Off by default: a claim no specification defines should grant nothing unless
    /// you know your issuer uses it.
    ///
    /// ```
    /// use mcp_auth::verify::JwtOptions;
    ///
    /// let auth0 = JwtOptions::default().read_permissions_claim(true);
    /// ```
    pub fn read_permissions_claim(mut self, read: bool) -> Self {
        self.read_permissions_claim = read;
        self
    }

    /// Claims only this issuer's access tokens carry: a token with none of `claims` is refused
    /// as another kind of token (`wrong_token_type`). Call again for another group: a token
    /// must carry a claim of every group. Entra ID's access tokens carry `scp` (delegated) or
    /// `roles` (an application's) and `azpacr` (v2; `appidacr` in v1), its ID tokens no
    /// `azpacr` (and `roles` when the user has app roles), and both name the app's client id in
    /// `aud`: without this, an ID token would pass an audience of the client id. None by
    /// default.
    ///
    /// ```
    /// use mcp_auth::verify::JwtOptions;
    ///
    /// let entra = JwtOptions::default()
    ///     .require_any_claim(["scp", "roles"])
    ///     .require_any_claim(["azpacr"]);
    /// ```
    pub fn require_any_claim<I, S>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.access_token_claims
            .push(claims.into_iter().map(Into::into).collect());
        self
    }

    /// Largest token accepted, in bytes (16 KiB by default); larger ones are refused before
    /// they are decoded.
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// Most memory the verified-token cache may take, in bytes (32 MiB by default, some
    /// thousands of typical tokens; 0 turns the cache off). Each entry weighs 256 bytes plus its
    /// token and its decoded claims as they sit in memory (32 bytes a JSON value, plus its
    /// text), so neither large tokens nor tokens of many small values can multiply the bound. A
    /// remembered token is not verified again until it expires, the TTL passes, or the key that
    /// verified it leaves the key set; issuer, audience, times and scopes are still checked on
    /// every request.
    pub fn verified_token_cache_bytes(mut self, bytes: u64) -> Self {
        self.verified_token_cache_bytes = bytes;
        self
    }

    /// Longest a verified token is remembered (5 minutes by default), whatever its `exp`; zero
    /// remembers none.
    pub fn verified_token_ttl(mut self, ttl: Duration) -> Self {
        self.verified_token_ttl = ttl;
        self
    }

    /// How long a key set is used before it is fetched again when its response has no
    /// `Cache-Control: max-age` (5 minutes by default; not zero).
    pub fn key_cache_ttl(mut self, ttl: Duration) -> Self {
        self.keys.default_ttl = ttl;
        self
    }

    /// Bounds on a key set's `max-age` (30 s to 24 h by default; the floor may not be zero,
    /// the ceiling may not exceed a week).
    pub fn key_cache_ttl_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.keys.min_ttl = min;
        self.keys.max_ttl = max;
        self
    }

    /// Least time between two fetches caused by tokens naming an unknown `kid` (10 s by
    /// default), so a flood of made-up `kid`s cannot hammer the issuer.
    pub fn unknown_kid_cooldown(mut self, cooldown: Duration) -> Self {
        self.keys.unknown_kid_cooldown = cooldown;
        self
    }

    /// How long keys keep verifying past their expiry (the key set's TTL) while the issuer
    /// cannot be reached (24 h by default). Past that, requests get 503.
    pub fn max_key_staleness(mut self, staleness: Duration) -> Self {
        self.keys.max_staleness = staleness;
        self
    }

    /// Wait after a failed key set fetch before the next try, doubling from `min` up to `max`
    /// (1 s and 60 s by default). Requests in between are answered from what is cached, or with
    /// 503. The issuer's metadata has its own:
    /// [`Discovery::retry_backoff`](crate::discovery::Discovery::retry_backoff).
    pub fn retry_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.keys.retry_backoff = Backoff { min, max };
        self
    }

    /// Longest a key set fetch may take (10 s by default). Metadata discovery has its own:
    /// [`Discovery::timeout`](crate::discovery::Discovery::timeout).
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.keys.fetch_timeout = timeout;
        self
    }

    /// Refuses settings that contradict themselves, naming the setter at fault.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let invalid = |option: &'static str, reason: String| {
            Err(ConfigError::invalid_setting("JwtOptions", option, reason))
        };
        if self.algorithms.is_empty() {
            return invalid(
                "algorithms",
                "the list is empty: allow at least one, such as RS256".to_owned(),
            );
        }
        if let Some(symmetric) = first_not_asymmetric(&self.algorithms) {
            return invalid(
                "algorithms",
                format!(
                    "{symmetric:?} is an HMAC algorithm; key sets publish public keys, so only asymmetric algorithms are allowed"
                ),
            );
        }
        if self.max_token_bytes == 0 {
            return invalid("max_token_bytes", "it must be above zero".to_owned());
        }
        let keys = &self.keys;
        if keys.default_ttl.is_zero() {
            return invalid(
                "key_cache_ttl",
                "it is zero, which would fetch the key set for every token".to_owned(),
            );
        }
        if keys.min_ttl.is_zero() {
            return invalid(
                "key_cache_ttl_bounds",
                "the floor is zero, so a key set served with max-age=0 would be fetched for every token".to_owned(),
            );
        }
        if keys.max_ttl > MAX_KEY_TTL {
            return invalid(
                "key_cache_ttl_bounds",
                format!(
                    "the ceiling {:?} is above one week: keys must be fetched again now and then",
                    keys.max_ttl
                ),
            );
        }
        if keys.min_ttl > keys.max_ttl {
            return invalid(
                "key_cache_ttl_bounds",
                format!(
                    "the bounds are inverted ({:?} > {:?})",
                    keys.min_ttl, keys.max_ttl
                ),
            );
        }
        if keys.retry_backoff.min > keys.retry_backoff.max {
            return invalid(
                "retry_backoff",
                format!(
                    "the bounds are inverted ({:?} > {:?})",
                    keys.retry_backoff.min, keys.retry_backoff.max
                ),
            );
        }
        if keys.fetch_timeout.is_zero() {
            return invalid("fetch_timeout", "it must be above zero".to_owned());
        }
        Ok(())
    }
}
