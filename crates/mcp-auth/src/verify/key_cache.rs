//! The verification keys of one trusted issuer: its metadata (discovered lazily when needed)
//! and its key set, cached and refreshed so that
//! - keys are fetched once per TTL, not per request;
//! - a new `kid` (rotation) is picked up by one refetch, and a flood of made-up `kid`s causes at
//!   most one fetch per cooldown;
//! - concurrent callers share one fetch (single flight);
//! - while the issuer is down the last good keys keep working up to a maximum staleness, and
//!   failed fetches are retried with backoff rather than on every request;
//! - with no usable key at all the answer is "unavailable" (503), never "accepted".

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;
use url::Url;

use super::key_set::{KeySet, VerifyKey};
use super::options::KeyCacheOptions;
use crate::auth_server::AuthServerConfig;
use crate::error::VerifyError;
use crate::http::{FetchLimits, get_json};

/// What one lookup found.
pub(crate) enum Lookup {
    /// Keys that may verify the token (usually one), and until when these keys may be used
    /// (their fetch time plus the maximum staleness): nothing verified with them may be
    /// remembered past that.
    Keys(Vec<Arc<VerifyKey>>, Option<Instant>),
    /// The current key set has no key for the token: refuse it.
    NoKey(&'static str),
}

/// The cached keys and metadata of one issuer.
pub(crate) struct KeyCache {
    server: AuthServerConfig,
    options: KeyCacheOptions,
    state: RwLock<Arc<Snapshot>>,
    /// Held while fetching, so concurrent callers share one fetch.
    refresh: Arc<tokio::sync::Mutex<RefreshState>>,
    /// Fetch attempts so far: a caller that waited for the lock while another fetched sees it
    /// change and uses that fetch's outcome instead of fetching again.
    attempts: AtomicU64,
}

/// What is known at one moment; replaced whole after each successful fetch.
#[derive(Default)]
struct Snapshot {
    jwks_uri: Option<Url>,
    metadata_fetched_at: Option<Instant>,
    keys: Option<Arc<KeySet>>,
    keys_fetched_at: Option<Instant>,
    /// When the keys should be fetched again.
    keys_expire_at: Option<Instant>,
}

#[derive(Default)]
struct RefreshState {
    last_attempt: Option<Instant>,
    /// The last fetch caused by an unknown `kid`: the cooldown counts from it, so rotation is
    /// picked up at once while a flood of made-up `kid`s fetches once per cooldown.
    last_unknown_kid_fetch: Option<Instant>,
    consecutive_failures: u32,
    last_error: Option<String>,
}

/// Why a refresh is wanted; each kind has its own throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// No keys yet, or keys past their TTL.
    Refresh,
    /// Keys are fresh but the token names a `kid` they lack (rotation, or an attack).
    UnknownKid,
}

impl KeyCache {
    pub(crate) fn new(server: AuthServerConfig, options: KeyCacheOptions) -> Self {
        let initial = Snapshot {
            jwks_uri: server
                .metadata()
                .and_then(|m| m.jwks_uri.as_deref())
                .and_then(|uri| Url::parse(uri).ok()),
            metadata_fetched_at: server.metadata().map(|_| Instant::now()),
            ..Snapshot::default()
        };
        Self {
            server,
            options,
            state: RwLock::new(Arc::new(initial)),
            refresh: Arc::new(tokio::sync::Mutex::new(RefreshState::default())),
            attempts: AtomicU64::new(0),
        }
    }

    /// The issuer whose keys these are.
    pub(crate) fn issuer(&self) -> &str {
        self.server.issuer()
    }

    /// The keys that may verify a token with this `kid` and `alg`, fetching when needed.
    pub(crate) async fn lookup(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Lookup, VerifyError> {
        let attempts_seen = self.attempts.load(Ordering::Acquire);
        let snapshot = self.snapshot();
        let need = match snapshot.keys.as_ref() {
            None => Need::Refresh,
            Some(keys) => {
                let fresh = snapshot
                    .keys_expire_at
                    .is_some_and(|at| Instant::now() < at);
                let candidates = keys.candidates(kid, alg);
                if !candidates.is_empty() {
                    if fresh {
                        return Ok(Lookup::Keys(candidates, self.usable_until(&snapshot)));
                    }
                    // Usable but due: refresh in the background (unless a refresh is under
                    // way) and answer now from the stale keys, which stay usable up to the
                    // maximum staleness: no request waits for a slow issuer.
                    if let Ok(guard) = self.refresh.clone().try_lock_owned() {
                        let cache = Arc::clone(self);
                        tokio::spawn(async move {
                            cache
                                .refresh_locked(guard, Need::Refresh, attempts_seen)
                                .await;
                        });
                    }
                    return self.usable(kid, alg);
                }
                if kid.is_some_and(|kid| keys.has_kid(kid)) {
                    return Ok(Lookup::NoKey(keys.why_no_key(kid)));
                }
                if fresh {
                    Need::UnknownKid
                } else {
                    Need::Refresh
                }
            }
        };
        let guard = self.refresh.clone().lock_owned().await;
        self.refresh_locked(guard, need, attempts_seen).await;
        self.usable(kid, alg)
    }

    fn usable_until(&self, snapshot: &Snapshot) -> Option<Instant> {
        snapshot
            .keys_fetched_at
            .and_then(|at| at.checked_add(self.options.max_staleness))
    }

    /// Answers from the current snapshot after any refresh: keys within the maximum staleness,
    /// or "unavailable" when there are none.
    fn usable(&self, kid: Option<&str>, alg: Algorithm) -> Result<Lookup, VerifyError> {
        let now = Instant::now();
        let snapshot = self.snapshot();
        let within_staleness = snapshot
            .keys_fetched_at
            .is_some_and(|at| now.saturating_duration_since(at) <= self.options.max_staleness);
        match snapshot.keys.as_ref() {
            Some(keys) if within_staleness => {
                let candidates = keys.candidates(kid, alg);
                if candidates.is_empty() {
                    Ok(Lookup::NoKey(keys.why_no_key(kid)))
                } else {
                    Ok(Lookup::Keys(candidates, self.usable_until(&snapshot)))
                }
            }
            _ => Err(VerifyError::unavailable(format!(
                "no usable keys for issuer {}: {}",
                self.server.issuer(),
                self.last_error()
            ))),
        }
    }

    fn last_error(&self) -> String {
        self.refresh
            .try_lock()
            .ok()
            .and_then(|state| state.last_error.clone())
            .unwrap_or_else(|| "the key set is being fetched".to_owned())
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        match self.state.read() {
            Ok(state) => state.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn store(&self, snapshot: Snapshot) {
        let snapshot = Arc::new(snapshot);
        match self.state.write() {
            Ok(mut state) => *state = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
    }

    /// Fetches with the refresh lock held, unless another caller fetched since this one looked
    /// (`attempts_seen`) or the throttles say not now.
    async fn refresh_locked(
        &self,
        mut state: tokio::sync::OwnedMutexGuard<RefreshState>,
        need: Need,
        attempts_seen: u64,
    ) {
        if self.attempts.load(Ordering::Acquire) != attempts_seen {
            return;
        }
        let now = Instant::now();
        let since = |at: Option<Instant>| at.map(|at| now.saturating_duration_since(at));
        let backoff = self.backoff(state.consecutive_failures);
        let throttled = match need {
            // A flood of made-up kids fetches once per cooldown, and never faster than the
            // backoff while the issuer is failing.
            Need::UnknownKid => {
                since(state.last_unknown_kid_fetch)
                    .is_some_and(|elapsed| elapsed < self.options.unknown_kid_cooldown)
                    || since(state.last_attempt).is_some_and(|elapsed| elapsed < backoff)
            }
            Need::Refresh => since(state.last_attempt).is_some_and(|elapsed| elapsed < backoff),
        };
        if throttled {
            return;
        }
        state.last_attempt = Some(now);
        if need == Need::UnknownKid {
            state.last_unknown_kid_fetch = Some(now);
        }
        match self.fetch(now).await {
            Ok(snapshot) => {
                self.store(snapshot);
                state.consecutive_failures = 0;
                state.last_error = None;
            }
            Err(error) => {
                tracing::warn!(issuer = %self.server.issuer(), %error, "key set refresh failed");
                state.consecutive_failures = state.consecutive_failures.saturating_add(1);
                state.last_error = Some(error);
            }
        }
        // Counted after the outcome is stored, so a caller that sees the new count also sees it.
        self.attempts.fetch_add(1, Ordering::AcqRel);
    }

    /// Wait before retrying after `failures` failed fetches in a row.
    fn backoff(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let doublings = (failures - 1).min(16);
        self.options
            .retry_backoff_min
            .saturating_mul(1 << doublings)
            .min(self.options.retry_backoff_max)
    }

    /// Metadata (when due) then the key set; the result becomes the new snapshot.
    async fn fetch(&self, now: Instant) -> Result<Snapshot, String> {
        let current = self.snapshot();
        let (jwks_uri, metadata_fetched_at) = self.jwks_uri(&current, now).await?;
        let limits = FetchLimits {
            timeout: self.options.fetch_timeout,
            ..FetchLimits::default()
        };
        let fetched = get_json(&jwks_uri, limits)
            .await
            .map_err(|err| err.to_string())?;
        let keys = KeySet::parse(&fetched.json, current.keys.as_deref())
            .map_err(|err| format!("{jwks_uri}: {err}"))?;
        if keys.len() == 0 {
            return Err(format!(
                "{jwks_uri} has no key usable for verification ({} ignored)",
                keys.ignored
            ));
        }
        if keys.ignored > 0 {
            tracing::debug!(%jwks_uri, ignored = keys.ignored, "unusable keys left out of the key set");
        }
        // `max_ttl` is at most a week (checked with the options), so this cannot overflow.
        let ttl = fetched
            .max_age
            .unwrap_or(self.options.default_ttl)
            .clamp(self.options.min_ttl, self.options.max_ttl);
        Ok(Snapshot {
            jwks_uri: Some(jwks_uri),
            metadata_fetched_at,
            keys: Some(Arc::new(keys)),
            keys_fetched_at: Some(now),
            keys_expire_at: now.checked_add(ttl),
        })
    }

    /// The key set's URL: from metadata discovered again when due, else the known one. Metadata
    /// rarely changes, so while discovery fails (or finds no usable `jwks_uri`) the known URL
    /// stays in use.
    async fn jwks_uri(
        &self,
        current: &Snapshot,
        now: Instant,
    ) -> Result<(Url, Option<Instant>), String> {
        let due = current
            .metadata_fetched_at
            .is_none_or(|at| now.saturating_duration_since(at) >= self.options.metadata_ttl);
        let known = current
            .jwks_uri
            .clone()
            .map(|uri| (uri, current.metadata_fetched_at));
        let Some(discovery) = self.server.discovery().filter(|_| due) else {
            return known.ok_or_else(|| {
                format!(
                    "issuer {} has no jwks_uri in its metadata; JWT mode needs one",
                    self.issuer()
                )
            });
        };
        let discovered = match discovery.fetch_within(self.options.fetch_timeout).await {
            Ok(found) if found.metadata.issuer != self.issuer() => Err(format!(
                "discovery found metadata for {} but {} is the trusted issuer",
                found.metadata.issuer,
                self.issuer()
            )),
            Ok(found) => match found.metadata.jwks_uri {
                Some(uri) => checked_jwks_uri(self.issuer(), &uri),
                None => Err(format!(
                    "issuer {} publishes no jwks_uri; JWT mode needs one",
                    self.issuer()
                )),
            },
            Err(error) => Err(error.to_string()),
        };
        match (discovered, known) {
            (Ok(uri), _) => Ok((uri, Some(now))),
            (Err(error), Some(known)) => {
                tracing::warn!(%error, "metadata refresh failed; keeping the known jwks_uri");
                Ok(known)
            }
            (Err(error), None) => Err(error),
        }
    }
}

/// A key set URL an issuer may use: `http(s)`, and not plain `http` for an `https` issuer (a
/// downgrade would let anyone on the path swap the keys).
pub(crate) fn checked_jwks_uri(issuer: &str, uri: &str) -> Result<Url, String> {
    let url = Url::parse(uri).map_err(|err| format!("jwks_uri {uri:?} is not a URL: {err}"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if !issuer.starts_with("https:") => Ok(url),
        "http" => Err(format!(
            "jwks_uri {uri} is plain http while the issuer {issuer} is https"
        )),
        other => Err(format!("jwks_uri {uri} has the unsupported scheme {other}")),
    }
}
