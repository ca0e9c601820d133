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
use crate::fetch::{FetchLimits, get_json};
use crate::url_rules::parse_jwks_uri;

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

/// What a lookup does, decided from the snapshot alone.
enum Plan {
    /// Answer from the cached keys (fresh, or stale and refreshed in the background).
    Answer { refresh_in_background: bool },
    /// The current keys say the token names a key that cannot verify it.
    NoKey(&'static str),
    /// Fetch first (under the throttles), then answer.
    Fetch(Need),
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
        self.lookup_at(kid, alg, Instant::now()).await
    }

    /// [`lookup`](Self::lookup) as if it were `now`: tests move the clock instead of sleeping.
    async fn lookup_at(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
        now: Instant,
    ) -> Result<Lookup, VerifyError> {
        let attempts_seen = self.attempts.load(Ordering::Acquire);
        match plan(&self.snapshot(), kid, alg, now) {
            Plan::NoKey(reason) => Ok(Lookup::NoKey(reason)),
            Plan::Answer {
                refresh_in_background,
            } => {
                // Usable but due: refresh in the background (unless a refresh is under way)
                // and answer now from the stale keys, which stay usable up to the maximum
                // staleness: no request waits for a slow issuer.
                if refresh_in_background && let Ok(guard) = self.refresh.clone().try_lock_owned() {
                    let cache = Arc::clone(self);
                    tokio::spawn(async move {
                        cache
                            .refresh_locked(guard, Need::Refresh, attempts_seen, now)
                            .await;
                    });
                }
                self.usable(kid, alg, now)
            }
            Plan::Fetch(need) => {
                let guard = self.refresh.clone().lock_owned().await;
                self.refresh_locked(guard, need, attempts_seen, now).await;
                self.usable(kid, alg, now)
            }
        }
    }

    /// Answers from the current snapshot after any refresh: keys within the maximum staleness,
    /// or "unavailable" when there are none.
    fn usable(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        now: Instant,
    ) -> Result<Lookup, VerifyError> {
        let snapshot = self.snapshot();
        let usable_until = snapshot
            .keys_fetched_at
            .and_then(|at| at.checked_add(self.options.max_staleness));
        match snapshot.keys.as_ref() {
            Some(keys) if usable_until.is_none_or(|until| now <= until) => {
                let candidates = keys.candidates(kid, alg);
                if candidates.is_empty() {
                    Ok(Lookup::NoKey(keys.why_no_key(kid)))
                } else {
                    Ok(Lookup::Keys(candidates, usable_until))
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
        now: Instant,
    ) {
        if self.attempts.load(Ordering::Acquire) != attempts_seen
            || throttled(&state, need, now, &self.options)
        {
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
                Some(uri) => parse_jwks_uri(self.issuer(), &uri).map_err(|err| err.to_string()),
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

/// What a lookup of `kid` and `alg` does with `snapshot` at `now`.
fn plan(snapshot: &Snapshot, kid: Option<&str>, alg: Algorithm, now: Instant) -> Plan {
    let Some(keys) = snapshot.keys.as_ref() else {
        return Plan::Fetch(Need::Refresh);
    };
    let fresh = snapshot.keys_expire_at.is_some_and(|at| now < at);
    if keys.has_candidate(kid, alg) {
        Plan::Answer {
            refresh_in_background: !fresh,
        }
    } else if kid.is_some_and(|kid| keys.has_kid(kid)) {
        Plan::NoKey(keys.why_no_key(kid))
    } else if fresh {
        Plan::Fetch(Need::UnknownKid)
    } else {
        Plan::Fetch(Need::Refresh)
    }
}

/// Whether the throttles forbid a fetch for `need` at `now`: after failures, the backoff; for
/// unknown `kid`s, also the cooldown, so a flood of made-up `kid`s fetches once per cooldown.
fn throttled(state: &RefreshState, need: Need, now: Instant, options: &KeyCacheOptions) -> bool {
    let within = |at: Option<Instant>, wait: Duration| {
        at.is_some_and(|at| now.saturating_duration_since(at) < wait)
    };
    let backing_off = within(
        state.last_attempt,
        backoff(state.consecutive_failures, options),
    );
    match need {
        Need::Refresh => backing_off,
        Need::UnknownKid => {
            backing_off || within(state.last_unknown_kid_fetch, options.unknown_kid_cooldown)
        }
    }
}

/// Wait before retrying after `failures` failed fetches in a row: doubling from the minimum up
/// to the maximum.
fn backoff(failures: u32, options: &KeyCacheOptions) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let doublings = (failures - 1).min(16);
    options
        .retry_backoff_min
        .saturating_mul(1 << doublings)
        .min(options.retry_backoff_max)
}
