//! Where the `jti` of accepted proofs are kept, so that a proof is accepted once: in memory by
//! default, or in a store shared by every replica.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::ConfigError;
use crate::observe::metrics;

/// The future a [`ReplayStore`] answers with.
pub type ReplayFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ProofUse, ReplayStoreError>> + Send + 'a>>;

/// The store cannot say whether a proof was seen: the request is answered 503, never let
/// through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the DPoP replay store cannot answer: {0}")]
pub struct ReplayStoreError(pub String);

/// What a [`ReplayStore`] says of a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofUse {
    /// Its first use: the proof is accepted, and remembered from now on.
    First,
    /// It was recorded before: a replay, refused (401 `invalid_dpop_proof`).
    Replayed,
    /// Its key holds as many live proofs as the store keeps for one key: refused (401
    /// `invalid_dpop_proof`, reason `dpop_key_limit`) and not remembered. Only that key's
    /// requests are refused, until its older proofs leave their window.
    KeyLimit,
}

/// Remembers the proofs already accepted. Implement it over a store every replica shares
/// (Redis, a database) so that a proof replayed to another replica is refused too.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::dpop::{MemoryReplayStore, ProofUse, ReplayStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryReplayStore::new(10_000);
/// let keep = Duration::from_secs(120);
/// assert_eq!(store.first_use("jkt", "jti-1", keep).await, Ok(ProofUse::First));
/// assert_eq!(store.first_use("jkt", "jti-1", keep).await, Ok(ProofUse::Replayed));
/// # });
/// ```
pub trait ReplayStore: Send + Sync + 'static {
    /// Records the proof `jti` signed by the key of thumbprint `jkt` (RFC 7638) for `keep`,
    /// atomically: of two concurrent calls with the same pair, one only gets
    /// [`ProofUse::First`]. [`ProofUse::Replayed`] when it was recorded already,
    /// [`ProofUse::KeyLimit`] when the store refuses more proofs of this key (a store without
    /// a per-key bound never answers it), an error when the store cannot answer.
    fn first_use<'a>(&'a self, jkt: &'a str, jti: &'a str, keep: Duration) -> ReplayFuture<'a>;

    /// Refuses bounds under which the store could hold no proof; called when the configuration
    /// is built, so such a store fails there, not on every request. Accepts by default.
    fn check(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}

/// Near full: at this share of its capacity (nine tenths), the store warns.
const NEAR_FULL_TENTHS: usize = 9;
/// The warning that the store is near full is logged at most this often.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// A [`ReplayStore`] in this process, bounded in entries, in total and per key.
///
/// - Per key: one key's live proofs are at most a tenth of the capacity by default
///   ([`max_per_key`](Self::max_per_key)). Past that, that key's proofs get
///   [`ProofUse::KeyLimit`] (401 `invalid_dpop_proof`): a client flooding the store with proofs
///   of one key is refused itself, and every other key still has room. Proofs are only
///   recorded for tokens bound to their key, so each key costs a flooder a token.
/// - In total: when the store is full of proofs still within their window, new proofs are
///   refused (503) rather than an old one forgotten early (which would let it be replayed).
///   At nine tenths full it logs a warning (at most once a minute), and it reports its size as
///   the gauge `mcp_auth_cache_entries{cache="dpop_replay"}` (feature `metrics`).
///
/// Proofs leave in the order they expire (a queue ordered by expiry, whatever each one's
/// `keep`), a few at each call: never a scan of the whole store.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::dpop::{MemoryReplayStore, ProofUse, ReplayStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryReplayStore::new(1_000).max_per_key(2);
/// let keep = Duration::from_secs(120);
/// assert_eq!(store.first_use("flooder", "1", keep).await, Ok(ProofUse::First));
/// assert_eq!(store.first_use("flooder", "2", keep).await, Ok(ProofUse::First));
/// assert_eq!(store.first_use("flooder", "3", keep).await, Ok(ProofUse::KeyLimit));
/// assert_eq!(store.first_use("someone-else", "1", keep).await, Ok(ProofUse::First));
/// # });
/// ```
#[derive(Debug)]
pub struct MemoryReplayStore {
    proofs: Mutex<Proofs>,
    limits: Limits,
}

impl MemoryReplayStore {
    /// A store holding at most `capacity` proofs, a tenth of them (at least one) per key. A
    /// capacity of zero could hold no proof: the layer refuses the configuration.
    ///
    /// ```
    /// use mcp_auth::dpop::{DpopOptions, MemoryReplayStore};
    /// use mcp_auth::{AuthServerConfig, AuthServerType, ConfigError, McpAuth, ProtectedResource};
    ///
    /// let build = |store| {
    ///     McpAuth::builder()
    ///         .protected_resource(
    ///             ProtectedResource::new("https://api.example.com/mcp")
    ///                 .authorization_server(AuthServerConfig::lazy("https://auth.example.com", AuthServerType::OAuth))
    ///                 .dpop(DpopOptions::allowed().replay_store(store)),
    ///         )
    ///         .build()
    /// };
    /// assert!(matches!(
    ///     build(MemoryReplayStore::new(0)),
    ///     Err(ConfigError::InvalidSetting { of: "MemoryReplayStore", setting: "new", .. })
    /// ));
    /// ```
    ///
    ///
    /// ```
    /// use mcp_auth::dpop::MemoryReplayStore;
    ///
    /// let store = MemoryReplayStore::new(100_000);
    /// assert_eq!((store.capacity(), store.per_key()), (100_000, 10_000));
    /// ```
    pub fn new(capacity: usize) -> Self {
        Self {
            proofs: Mutex::new(Proofs::default()),
            limits: Limits {
                capacity,
                per_key: (capacity / 10).max(1),
            },
        }
    }

    /// At most `max` live proofs per key (at most the capacity, where one key alone could fill
    /// the store). Zero would refuse every proof: the layer refuses the configuration.
    pub fn max_per_key(mut self, max: usize) -> Self {
        self.limits.per_key = max.min(self.limits.capacity);
        self
    }

    /// The most proofs it holds.
    pub fn capacity(&self) -> usize {
        self.limits.capacity
    }

    /// The most live proofs of one key it holds.
    pub fn per_key(&self) -> usize {
        self.limits.per_key
    }

    fn record(&self, jkt: &str, jti: &str, keep: Duration) -> Result<ProofUse, ReplayStoreError> {
        let now = Instant::now();
        let (recorded, held, warn) = {
            let mut proofs = self
                .proofs
                .lock()
                .map_err(|_| ReplayStoreError("its lock is poisoned".to_owned()))?;
            let recorded = proofs.record(jkt, jti, keep, now, self.limits);
            let warn = proofs.warning_due(now, self.limits);
            (recorded, proofs.len(), warn)
        };
        metrics::cache_entries("dpop_replay", held);
        if warn {
            tracing::warn!(
                held,
                capacity = self.limits.capacity,
                "the DPoP replay store is nearly full: when it is, every DPoP request gets 503; \
                 raise its capacity (--replay-capacity) or share a store (--replay-store)"
            );
        }
        recorded.map_err(|Full| {
            ReplayStoreError(format!(
                "it holds {} proofs within their window already (its capacity)",
                self.limits.capacity
            ))
        })
    }
}

impl ReplayStore for MemoryReplayStore {
    fn first_use<'a>(&'a self, jkt: &'a str, jti: &'a str, keep: Duration) -> ReplayFuture<'a> {
        Box::pin(std::future::ready(self.record(jkt, jti, keep)))
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |setting, reason| {
            Err(ConfigError::invalid_setting(
                "MemoryReplayStore",
                setting,
                reason,
            ))
        };
        if self.limits.capacity == 0 {
            return invalid(
                "new",
                "a capacity of zero holds no proof, so every DPoP request would get 503",
            );
        }
        if self.limits.per_key == 0 {
            return invalid(
                "max_per_key",
                "it is zero, so every proof of every key would be refused",
            );
        }
        Ok(())
    }
}

/// How many proofs a store holds.
#[derive(Debug, Clone, Copy)]
struct Limits {
    capacity: usize,
    per_key: usize,
}

/// The store is full of live proofs.
#[derive(Debug, PartialEq, Eq)]
struct Full;

/// The proofs a [`MemoryReplayStore`] remembers; its decisions are functions of this state and
/// the time passed in.
#[derive(Debug, Default)]
struct Proofs {
    /// `"{jkt} {jti}"` of every live proof (a thumbprint is base64url: no space).
    live: HashSet<Arc<str>>,
    /// The same proofs, the first to expire on top.
    expiries: BinaryHeap<Reverse<(Instant, Arc<str>)>>,
    /// Live proofs per key thumbprint.
    per_key: HashMap<Box<str>, usize>,
    /// When the near-full warning was last due.
    warned: Option<Instant>,
}

impl Proofs {
    fn len(&self) -> usize {
        self.live.len()
    }

    /// Records a proof at `now`, after forgetting those expired by then.
    fn record(
        &mut self,
        jkt: &str,
        jti: &str,
        keep: Duration,
        now: Instant,
        limits: Limits,
    ) -> Result<ProofUse, Full> {
        self.expire(now);
        let id: Arc<str> = Arc::from(format!("{jkt} {jti}"));
        if self.live.contains(&id) {
            return Ok(ProofUse::Replayed);
        }
        if self.per_key.get(jkt).copied().unwrap_or(0) >= limits.per_key {
            return Ok(ProofUse::KeyLimit);
        }
        if self.live.len() >= limits.capacity {
            return Err(Full);
        }
        // A `keep` beyond the clock's range keeps the proof for as long as the process runs.
        let until = now
            .checked_add(keep)
            .or_else(|| now.checked_add(FOREVER))
            .unwrap_or(now);
        self.live.insert(Arc::clone(&id));
        self.expiries.push(Reverse((until, id)));
        *self.per_key.entry(jkt.into()).or_default() += 1;
        Ok(ProofUse::First)
    }

    /// Forgets the proofs whose time is up at `now`, first to expire first: each proof is
    /// looked at once, when it leaves.
    fn expire(&mut self, now: Instant) {
        while let Some(Reverse((until, _))) = self.expiries.peek() {
            if *until > now {
                break;
            }
            let Some(Reverse((_, id))) = self.expiries.pop() else {
                break;
            };
            self.live.remove(&id);
            let jkt = id.split_once(' ').map_or(&*id, |(jkt, _)| jkt);
            if let Some(held) = self.per_key.get_mut(jkt) {
                *held -= 1;
                if *held == 0 {
                    self.per_key.remove(jkt);
                }
            }
        }
    }

    /// Whether the near-full warning is due at `now`: nine tenths full, and not warned within
    /// the last minute.
    fn warning_due(&mut self, now: Instant, limits: Limits) -> bool {
        let near_full = self.live.len() * 10 >= limits.capacity * NEAR_FULL_TENTHS;
        let quiet = self
            .warned
            .is_none_or(|warned| now.saturating_duration_since(warned) >= WARN_EVERY);
        if near_full && quiet {
            self.warned = Some(now);
        }
        near_full && quiet
    }
}

/// How long a proof kept "forever" is kept: longer than any process runs.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: Duration = Duration::from_secs(120);

    fn limits(capacity: usize, per_key: usize) -> Limits {
        Limits { capacity, per_key }
    }

    #[test]
    fn a_full_store_refuses_new_proofs_instead_of_forgetting_live_ones() {
        let (mut proofs, now, limits) = (Proofs::default(), Instant::now(), limits(2, 2));
        assert_eq!(
            proofs.record("k", "a", KEEP, now, limits),
            Ok(ProofUse::First)
        );
        assert_eq!(
            proofs.record("j", "b", KEEP, now, limits),
            Ok(ProofUse::First)
        );
        assert_eq!(proofs.record("i", "c", KEEP, now, limits), Err(Full));
        assert_eq!(
            proofs.record("k", "a", KEEP, now, limits),
            Ok(ProofUse::Replayed),
            "a is still remembered"
        );
    }

    #[test]
    fn one_key_flooding_leaves_room_for_every_other_key() {
        let (mut proofs, now, limits) = (Proofs::default(), Instant::now(), limits(100, 10));
        for jti in 0..1_000 {
            let expected = if jti < 10 {
                ProofUse::First
            } else {
                ProofUse::KeyLimit
            };
            let recorded = proofs.record("flooder", &jti.to_string(), KEEP, now, limits);
            assert_eq!(recorded, Ok(expected), "{jti}");
        }
        assert_eq!(proofs.len(), 10, "refused proofs are not remembered");
        for key in 0..90 {
            let key = format!("key-{key}");
            assert_eq!(
                proofs.record(&key, "1", KEEP, now, limits),
                Ok(ProofUse::First)
            );
        }
        // A replay of the flooder's is still a replay, not a "limit".
        assert_eq!(
            proofs.record("flooder", "3", KEEP, now, limits),
            Ok(ProofUse::Replayed)
        );
    }

    #[test]
    fn proofs_leave_in_the_order_they_expire_and_give_their_key_room_back() {
        let (mut proofs, start, limits) = (Proofs::default(), Instant::now(), limits(10, 2));
        let second = Duration::from_secs(1);
        // Kept for different times, recorded out of expiry order.
        assert_eq!(
            proofs.record("k", "long", 3 * second, start, limits),
            Ok(ProofUse::First)
        );
        assert_eq!(
            proofs.record("k", "short", second, start, limits),
            Ok(ProofUse::First)
        );
        assert_eq!(
            proofs.record("k", "third", KEEP, start, limits),
            Ok(ProofUse::KeyLimit)
        );
        // One second on: "short" is gone, "long" is not.
        let later = start + second;
        assert_eq!(
            proofs.record("k", "short", second, later, limits),
            Ok(ProofUse::First)
        );
        assert_eq!(
            proofs.record("k", "long", KEEP, later, limits),
            Ok(ProofUse::Replayed)
        );
        // Three seconds on: "long" is gone and the key has room again.
        let much_later = start + 3 * second;
        assert_eq!(
            proofs.record("k", "third", KEEP, much_later, limits),
            Ok(ProofUse::First)
        );
        assert_eq!(proofs.len(), 1, "only third is left");
        assert_eq!(proofs.per_key.get("k"), Some(&1));
        assert_eq!(proofs.expiries.len(), 1);
    }

    #[test]
    fn expired_proofs_make_room_in_a_full_store() {
        let (mut proofs, now, limits) = (Proofs::default(), Instant::now(), limits(1, 1));
        assert_eq!(
            proofs.record("k", "a", Duration::from_secs(1), now, limits),
            Ok(ProofUse::First)
        );
        assert_eq!(proofs.record("j", "b", KEEP, now, limits), Err(Full));
        let later = now + Duration::from_secs(1);
        assert_eq!(
            proofs.record("j", "b", KEEP, later, limits),
            Ok(ProofUse::First)
        );
        assert!(!proofs.per_key.contains_key("k"), "no count left for k");
    }

    #[test]
    fn the_near_full_warning_comes_at_most_once_a_minute() {
        let (mut proofs, now, limits) = (Proofs::default(), Instant::now(), limits(10, 10));
        for jti in 0..8 {
            proofs
                .record("k", &jti.to_string(), KEEP, now, limits)
                .unwrap();
        }
        assert!(!proofs.warning_due(now, limits), "8 of 10 is not near full");
        proofs.record("k", "8", KEEP, now, limits).unwrap();
        assert!(proofs.warning_due(now, limits), "9 of 10 is");
        assert!(!proofs.warning_due(now + Duration::from_secs(59), limits));
        assert!(proofs.warning_due(now + Duration::from_secs(60), limits));
    }

    #[test]
    fn the_store_bounds_keys_by_a_tenth_of_its_capacity_unless_told() {
        let store = MemoryReplayStore::new(100_000);
        assert_eq!((store.capacity(), store.per_key()), (100_000, 10_000));
        assert_eq!(MemoryReplayStore::new(5).per_key(), 1);
        assert_eq!(MemoryReplayStore::new(5).max_per_key(9).per_key(), 5);
        let empty = MemoryReplayStore::new(0);
        assert_eq!(empty.capacity(), 0);
        assert!(empty.check().is_err(), "refused when the layer is built");
        assert_eq!(
            empty.record("k", "a", KEEP),
            Err(ReplayStoreError(
                "it holds 0 proofs within their window already (its capacity)".to_owned()
            )),
            "and fails closed if used anyway"
        );
        let keyless = MemoryReplayStore::new(10).max_per_key(0);
        assert!(keyless.check().is_err());
        assert_eq!(keyless.record("k", "a", KEEP), Ok(ProofUse::KeyLimit));
        assert_eq!(store.record("k", "a", KEEP), Ok(ProofUse::First));
        assert_eq!(store.record("k", "a", KEEP), Ok(ProofUse::Replayed));
    }
}
