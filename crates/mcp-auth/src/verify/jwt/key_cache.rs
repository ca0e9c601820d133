//! The verification keys of one trusted issuer: its key set (found through the issuer's
//! metadata, which the shared [`Issuer`] keeps), cached and refreshed so that
//! - keys are fetched once per TTL, not per request;
//! - a new `kid` (rotation) is picked up by one refetch, and a flood of made-up `kid`s causes at
//!   most one fetch per cooldown;
//! - concurrent callers share one fetch (single flight);
//! - while the issuer is down the last good keys keep working up to a maximum staleness, and
//!   failed fetches are retried with backoff rather than on every request;
//! - with no usable key at all the answer is "unavailable" (503), never "accepted".
//!
//! Layers with the same options share one cache per issuer ([`KeyCaches`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;
use url::Url;

use super::options::KeyCacheOptions;
use crate::error::VerifyError;
use crate::issuer::fetch::{Attempts, FetchLimits, get_json};
use crate::issuer::{Issuer, Needs};
use crate::observe::metrics;
use crate::verify::key_set::{KeySet, VerifyKey};

/// What one lookup found.
pub(crate) enum Lookup {
    /// Keys that may verify the token (usually one), and until when these keys may be used
    /// (their fetch time plus the maximum staleness): nothing verified with them may be
    /// remembered past that.
    Keys(Vec<Arc<VerifyKey>>, Option<Instant>),
    /// The current key set has no key for the token: refuse it.
    NoKey(&'static str),
}

/// The cached keys of one issuer.
pub(crate) struct KeyCache {
    issuer: Arc<Issuer>,
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
    keys: Option<Arc<KeySet>>,
    /// When the keys should be fetched again.
    keys_expire_at: Option<Instant>,
}

#[derive(Default)]
struct RefreshState {
    attempts: Attempts,
    /// The last fetch caused by an unknown `kid`: the cooldown counts from it, so rotation is
    /// picked up at once while a flood of made-up `kid`s fetches once per cooldown.
    last_unknown_kid_fetch: Option<Instant>,
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
    fn new(issuer: Arc<Issuer>, options: KeyCacheOptions) -> Self {
        Self {
            issuer,
            options,
            state: RwLock::default(),
            refresh: Arc::new(tokio::sync::Mutex::new(RefreshState::default())),
            attempts: AtomicU64::new(0),
        }
    }

    /// The issuer whose keys these are.
    pub(crate) fn issuer(&self) -> &str {
        self.issuer.issuer()
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
        // Staleness counts from when the keys were due for a refresh, not from their fetch: a
        // long `max-age` must not spend the outage allowance before the outage begins.
        let usable_until = snapshot
            .keys_expire_at
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
                self.issuer(),
                self.last_error()
            ))),
        }
    }

    fn last_error(&self) -> String {
        self.refresh
            .try_lock()
            .ok()
            .and_then(|state| state.attempts.last_error().map(str::to_owned))
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

    /// The keys for `kid` and `alg` after none of `tried` verified a signature: the issuer may
    /// have replaced a key under the same `kid`. The key set is fetched again, throttled and
    /// shared exactly like a fetch for an unknown `kid` (forged signatures cannot hammer the
    /// issuer); whether this call fetched or another caller just did, the answer holds the keys
    /// not tried yet, or `None` when there are none.
    pub(crate) async fn refetch_after_bad_signature(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
        tried: &[Arc<VerifyKey>],
    ) -> Result<Option<Lookup>, VerifyError> {
        let now = Instant::now();
        let attempts_seen = self.attempts.load(Ordering::Acquire);
        let guard = self.refresh.clone().lock_owned().await;
        self.refresh_locked(guard, Need::UnknownKid, attempts_seen, now)
            .await;
        Ok(match self.usable(kid, alg, now)? {
            Lookup::Keys(keys, usable_until) => {
                let untried: Vec<Arc<VerifyKey>> = keys
                    .into_iter()
                    .filter(|key| !tried.iter().any(|old| Arc::ptr_eq(old, key)))
                    .collect();
                (!untried.is_empty()).then_some(Lookup::Keys(untried, usable_until))
            }
            no_key @ Lookup::NoKey(_) => Some(no_key),
        })
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
        if need == Need::UnknownKid {
            state.last_unknown_kid_fetch = Some(now);
        }
        let why = match (
            need,
            state.attempts.failures(),
            self.snapshot().keys.is_some(),
        ) {
            (Need::UnknownKid, ..) => "unknown_kid",
            (Need::Refresh, 1.., _) => "retry",
            (Need::Refresh, 0, true) => "ttl",
            (Need::Refresh, 0, false) => "first",
        };
        let started = Instant::now();
        let outcome = self.fetch(now).await;
        let took = started.elapsed();
        let issuer = self.issuer();
        let duration_ms = took.as_secs_f64() * 1000.0;
        match outcome {
            Ok(snapshot) => {
                let keys = snapshot.keys.as_ref().map_or(0, |keys| keys.len());
                let url = snapshot.jwks_uri.as_ref().map(Url::as_str);
                tracing::info!(issuer, url, why, keys, duration_ms, "key set fetched");
                metrics::key_set_fetched(issuer, true);
                self.store(snapshot);
                state.attempts.record(now, took, Ok(()));
            }
            Err(error) => {
                tracing::warn!(issuer, why, %error, duration_ms, "key set refresh failed");
                metrics::key_set_fetched(issuer, false);
                state.attempts.record(now, took, Err(error));
            }
        }
        // Counted after the outcome is stored, so a caller that sees the new count also sees it.
        self.attempts.fetch_add(1, Ordering::AcqRel);
    }

    /// The key set, from the URL the issuer's metadata names; the result becomes the new
    /// snapshot.
    async fn fetch(&self, now: Instant) -> Result<Snapshot, String> {
        let metadata = self.issuer.metadata_at(Needs::JwksUri, now).await?;
        let jwks_uri = metadata.jwks_uri()?.clone();
        let limits = FetchLimits {
            timeout: self.options.fetch_timeout,
            ..FetchLimits::default()
        };
        let fetched = get_json(&jwks_uri, limits)
            .await
            .map_err(|err| err.to_string())?;
        let current = self.snapshot();
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
            keys: Some(Arc::new(keys)),
            keys_expire_at: now.checked_add(ttl),
        })
    }
}

/// The key caches of one configuration: one per issuer and options, shared by every layer built
/// from one `McpAuth`, so two resources trusting one issuer fetch its keys once.
#[derive(Default)]
pub(crate) struct KeyCaches(Mutex<Vec<Weak<KeyCache>>>);

impl std::fmt::Debug for KeyCaches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCaches").finish_non_exhaustive()
    }
}

impl KeyCaches {
    /// The cache of `issuer`'s keys under `options`: the one a layer already uses, or a new one.
    pub(crate) fn of(&self, issuer: &Arc<Issuer>, options: &KeyCacheOptions) -> Arc<KeyCache> {
        let mut caches = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        caches.retain(|cache| cache.strong_count() > 0);
        let shared = caches
            .iter()
            .filter_map(Weak::upgrade)
            .find(|cache| Arc::ptr_eq(&cache.issuer, issuer) && cache.options == *options);
        shared.unwrap_or_else(|| {
            let cache = Arc::new(KeyCache::new(Arc::clone(issuer), options.clone()));
            caches.push(Arc::downgrade(&cache));
            cache
        })
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
    let backing_off = state.attempts.backing_off(&options.retry_backoff, now);
    match need {
        Need::Refresh => backing_off,
        Need::UnknownKid => {
            backing_off || within(state.last_unknown_kid_fetch, options.unknown_kid_cooldown)
        }
    }
}

#[cfg(test)]
mod tests {
    //! The refresh rules as pure functions of state and time, then the whole cache against a
    //! real test issuer with the clock moved forward instead of slept.

    use super::*;

    fn options() -> KeyCacheOptions {
        KeyCacheOptions::default()
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn the_backoff_doubles_from_its_minimum_to_its_maximum() {
        let backoff = options().retry_backoff;
        let waits: Vec<u64> = (0..9)
            .map(|failures| backoff.wait(failures).as_secs())
            .collect();
        assert_eq!(waits, [0, 1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff.wait(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn refreshes_wait_out_the_backoff_after_failures() {
        let t0 = Instant::now();
        let mut state = RefreshState::default();
        assert!(
            !throttled(&state, Need::Refresh, t0, &options()),
            "first fetch"
        );
        state.attempts.record(t0, Duration::ZERO, Ok(()));
        assert!(
            !throttled(&state, Need::Refresh, t0, &options()),
            "no failure, no wait"
        );
        for _ in 0..3 {
            // backoff 4 s after the third
            state
                .attempts
                .record(t0, Duration::ZERO, Err("down".to_owned()));
        }
        assert!(throttled(
            &state,
            Need::Refresh,
            t0 + 3 * SECOND,
            &options()
        ));
        assert!(!throttled(
            &state,
            Need::Refresh,
            t0 + 4 * SECOND,
            &options()
        ));
    }

    #[test]
    fn unknown_kids_also_wait_out_the_cooldown() {
        let t0 = Instant::now();
        let mut state = RefreshState {
            last_unknown_kid_fetch: Some(t0),
            ..RefreshState::default()
        };
        state.attempts.record(t0, Duration::ZERO, Ok(()));
        let cooldown = options().unknown_kid_cooldown;
        assert!(throttled(
            &state,
            Need::UnknownKid,
            t0 + cooldown - SECOND,
            &options()
        ));
        assert!(!throttled(
            &state,
            Need::UnknownKid,
            t0 + cooldown,
            &options()
        ));
        assert!(
            !throttled(&state, Need::Refresh, t0 + SECOND, &options()),
            "expired keys are not held back by the unknown-kid cooldown"
        );
        let mut failing = state;
        for _ in 0..7 {
            // backoff 60 s after the seventh, longer than the cooldown
            failing
                .attempts
                .record(t0, Duration::ZERO, Err("down".to_owned()));
        }
        assert!(throttled(
            &failing,
            Need::UnknownKid,
            t0 + cooldown,
            &options()
        ));
    }

    #[cfg(feature = "testing")]
    fn snapshot(keys: KeySet, expire_at: Instant) -> Snapshot {
        Snapshot {
            keys: Some(Arc::new(keys)),
            keys_expire_at: Some(expire_at),
            ..Snapshot::default()
        }
    }

    #[cfg(feature = "testing")]
    fn plan_name(plan: Plan) -> String {
        match plan {
            Plan::Answer {
                refresh_in_background,
            } => format!("answer, refresh {refresh_in_background}"),
            Plan::NoKey(reason) => format!("no key: {reason}"),
            Plan::Fetch(need) => format!("fetch {need:?}"),
        }
    }

    #[cfg(feature = "testing")]
    #[test]
    fn a_lookup_answers_fresh_keys_refreshes_stale_ones_and_fetches_for_new_kids() {
        use crate::testing::{KeyMaterial, TestKey};
        let key = TestKey::new(KeyMaterial::P256, "k1", Algorithm::ES256).unwrap();
        let keys = || KeySet::parse(&serde_json::json!({ "keys": [key.jwk] }), None).unwrap();
        let t0 = Instant::now();
        let expire = t0 + 300 * SECOND;
        let at = |kid, alg, now| plan_name(plan(&snapshot(keys(), expire), kid, alg, now));
        let es256 = Algorithm::ES256;
        assert_eq!(
            plan_name(plan(&Snapshot::default(), Some("k1"), es256, t0)),
            "fetch Refresh"
        );
        assert_eq!(at(Some("k1"), es256, t0), "answer, refresh false");
        assert_eq!(at(None, es256, t0), "answer, refresh false");
        assert_eq!(at(Some("k1"), es256, expire), "answer, refresh true");
        assert_eq!(at(Some("k2"), es256, t0), "fetch UnknownKid");
        assert_eq!(at(Some("k2"), es256, expire), "fetch Refresh");
        assert_eq!(
            at(Some("k1"), Algorithm::RS256, t0),
            "no key: the key named by the token's kid does not accept its alg"
        );
    }

    #[cfg(feature = "testing")]
    mod against_a_test_issuer {
        use super::*;
        use crate::testing::TestIssuer;

        const TTL: Duration = Duration::from_secs(300);

        /// The cache of `issuer` with `options`, and the instant its clock starts at.
        fn start(issuer: &TestIssuer, options: KeyCacheOptions) -> (Arc<KeyCache>, Instant) {
            let issuer = Arc::new(Issuer::new(issuer.lazy_config()).unwrap());
            let cache = Arc::new(KeyCache::new(issuer, options));
            (cache, Instant::now())
        }

        /// Looks up the issuer's `rs256` key as if it were `now`.
        async fn rs256(cache: &Arc<KeyCache>, now: Instant) -> Result<Lookup, VerifyError> {
            cache.lookup_at(Some("rs256"), Algorithm::RS256, now).await
        }

        async fn found(cache: &Arc<KeyCache>, now: Instant) -> Option<Instant> {
            match rs256(cache, now).await {
                Ok(Lookup::Keys(keys, usable_until)) if !keys.is_empty() => usable_until,
                Ok(Lookup::Keys(..)) => panic!("no key"),
                Ok(Lookup::NoKey(reason)) => panic!("no key: {reason}"),
                Err(error) => panic!("{error}"),
            }
        }

        async fn unavailable(cache: &Arc<KeyCache>, now: Instant) {
            match rs256(cache, now).await {
                Err(err) if err.is_unavailable() => {}
                Err(other) => panic!("expected unavailable, got {other}"),
                Ok(_) => panic!("expected unavailable, got keys"),
            }
        }

        /// Waits (at most 3 s) for a background refresh to reach the issuer.
        async fn settles(counter: impl Fn() -> usize, expected: usize) -> usize {
            let deadline = Instant::now() + 3 * SECOND;
            while counter() < expected && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // A fetch still under way must also have stored its outcome.
            tokio::time::sleep(Duration::from_millis(20)).await;
            counter()
        }

        #[tokio::test]
        async fn keys_are_fetched_again_after_their_ttl_in_the_background() {
            let issuer = TestIssuer::start().await.unwrap();
            let (cache, t0) = start(&issuer, options());
            found(&cache, t0).await;
            found(&cache, t0 + TTL - SECOND).await;
            assert_eq!((issuer.metadata_fetches(), issuer.jwks_fetches()), (1, 1));
            found(&cache, t0 + TTL).await; // answered from the stale keys at once
            assert_eq!(settles(|| issuer.jwks_fetches(), 2).await, 2);
            found(&cache, t0 + TTL + SECOND).await;
            assert_eq!(
                issuer.jwks_fetches(),
                2,
                "the refreshed keys are fresh again"
            );
        }

        #[tokio::test]
        async fn max_age_sets_the_ttl_within_its_bounds() {
            let issuer = TestIssuer::start().await.unwrap();
            issuer.set_jwks_cache_control(Some("public, max-age=3600"));
            let (cache, t0) = start(&issuer, options());
            found(&cache, t0).await;
            found(&cache, t0 + TTL + SECOND).await;
            assert_eq!(issuer.jwks_fetches(), 1, "max-age outlasts the default TTL");
            found(&cache, t0 + 3600 * SECOND).await;
            assert_eq!(settles(|| issuer.jwks_fetches(), 2).await, 2);

            let issuer = TestIssuer::start().await.unwrap();
            issuer.set_jwks_cache_control(Some("max-age=86400"));
            let bounded = KeyCacheOptions {
                max_ttl: 600 * SECOND,
                ..options()
            };
            let (cache, t0) = start(&issuer, bounded);
            found(&cache, t0).await;
            found(&cache, t0 + 600 * SECOND).await;
            assert_eq!(
                settles(|| issuer.jwks_fetches(), 2).await,
                2,
                "held to max_ttl"
            );
        }

        #[tokio::test]
        async fn an_outage_after_warm_up_is_bridged_by_the_last_keys_with_backoff() {
            let issuer = TestIssuer::start().await.unwrap();
            let (cache, t0) = start(&issuer, options());
            found(&cache, t0).await;
            issuer.set_down(true);
            found(&cache, t0 + TTL).await;
            assert_eq!(
                settles(|| issuer.jwks_fetches(), 2).await,
                2,
                "one failed refresh"
            );
            for millis in [100, 500, 900] {
                found(&cache, t0 + TTL + Duration::from_millis(millis)).await;
            }
            assert_eq!(
                issuer.jwks_fetches(),
                2,
                "the 1 s backoff holds further tries"
            );
            let staleness = options().max_staleness;
            let usable_until = found(&cache, t0 + TTL + staleness).await;
            assert_eq!(
                usable_until.map(|until| until.saturating_duration_since(t0) <= TTL + staleness),
                Some(true),
                "what is verified with these keys is not remembered past their staleness"
            );
            unavailable(&cache, t0 + TTL + staleness + SECOND).await;
        }

        #[tokio::test]
        async fn a_long_max_age_does_not_spend_the_outage_allowance() {
            // A day-long max-age (within the default 24 h bound) and the default 24 h
            // staleness: an outage that starts when the keys expire is bridged for 24 h more.
            let issuer = TestIssuer::start().await.unwrap();
            issuer.set_jwks_cache_control(Some("max-age=86400"));
            let (cache, t0) = start(&issuer, options());
            found(&cache, t0).await;
            issuer.set_down(true);
            let day = 86_400 * SECOND;
            found(&cache, t0 + day).await;
            assert_eq!(
                settles(|| issuer.jwks_fetches(), 2).await,
                2,
                "the refresh failed"
            );
            found(&cache, t0 + day + 23 * 3600 * SECOND).await;
            unavailable(&cache, t0 + 2 * day + SECOND).await;
        }

        #[tokio::test]
        async fn an_issuer_down_from_the_start_gives_unavailable_then_recovers() {
            let issuer = TestIssuer::start().await.unwrap();
            issuer.set_down(true);
            let (cache, t0) = start(&issuer, options());
            for millis in [0, 200, 900] {
                unavailable(&cache, t0 + Duration::from_millis(millis)).await;
            }
            // Discovery tries two URLs per attempt; the backoff allowed a single attempt.
            assert_eq!((issuer.metadata_fetches(), issuer.jwks_fetches()), (2, 0));
            issuer.set_down(false);
            // The 1 s backoff counts from the end of the failed attempt.
            found(&cache, t0 + 2 * SECOND).await;
            assert_eq!(issuer.jwks_fetches(), 1);
        }

        #[tokio::test]
        async fn a_broken_key_set_keeps_the_last_good_keys() {
            for broken in ["not json", r#"{"keys": []}"#, r#"{"no_keys": 1}"#] {
                let issuer = TestIssuer::start().await.unwrap();
                let (cache, t0) = start(&issuer, options());
                found(&cache, t0).await;
                issuer.set_jwks_body(Some(broken.to_owned()));
                found(&cache, t0 + TTL).await;
                assert_eq!(settles(|| issuer.jwks_fetches(), 2).await, 2, "{broken}");
                found(&cache, t0 + TTL + SECOND).await;
            }
        }

        #[tokio::test]
        async fn stale_keys_answer_at_once_while_a_slow_issuer_is_refreshed() {
            let issuer = TestIssuer::start().await.unwrap();
            let (cache, t0) = start(&issuer, options());
            found(&cache, t0).await;
            issuer.set_jwks_delay(2 * SECOND);
            let started = Instant::now();
            found(&cache, t0 + TTL).await;
            found(&cache, t0 + TTL + SECOND).await;
            let waited = started.elapsed();
            assert!(waited < SECOND, "lookups waited {waited:?} for the refresh");
            assert_eq!(
                settles(|| issuer.jwks_fetches(), 2).await,
                2,
                "one background refresh, not one per lookup"
            );
        }
    }
}
