//! Tokens already verified, so a client reusing its token costs a hash and a lookup instead of
//! a signature check. Bounded in bytes (older entries are evicted; each weighs what it holds),
//! an entry never outlives its token's `exp` nor the configured TTL, and it is dropped once the
//! key that verified it has left the key set. The layer still checks issuer, audience, times
//! and scopes of a cached answer per request.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use crate::auth_info::AuthInfo;
use crate::clock::unix_now;
use crate::observe::metrics;
use crate::verify::key_set::VerifyKey;
use crate::wire::token_digest;
use serde_json::Value;

/// The cache of one JWT verifier.
pub(crate) struct TokenCache {
    /// Keyed by the SHA-256 of the whole token: the token itself is not kept as a key, and
    /// lookups compare digests, which reveal nothing usable about tokens through timing.
    entries: Cache<[u8; 32], Entry, ByWeight>,
    ttl: Duration,
}

#[derive(Clone)]
struct Entry {
    info: Arc<AuthInfo>,
    valid_until: Instant,
    /// The key that verified the token; once the key set no longer holds it, this is dead.
    key: Weak<VerifyKey>,
    /// What the entry costs in memory, estimated when it is made: see [`entry_weight`].
    weight: u64,
}

/// Weighs entries by the bytes they hold.
#[derive(Clone)]
struct ByWeight;

impl Weighter<[u8; 32], Entry> for ByWeight {
    fn weight(&self, _: &[u8; 32], entry: &Entry) -> u64 {
        entry.weight
    }
}

/// The estimated memory of one entry: a fixed 256 bytes (the digest, the entry, the `AuthInfo`
/// and the cache's bookkeeping), the token, and its decoded claims ([`json_weight`]).
pub(crate) fn entry_weight(info: &AuthInfo) -> u64 {
    256 + info.token.len() as u64 + info.claims.iter().map(member_weight).sum::<u64>()
}

/// The memory of one decoded JSON value: 32 bytes for the value itself, plus what it owns. A
/// token of many small values weighs what it costs in memory, not its length on the wire.
fn json_weight(value: &Value) -> u64 {
    32 + match value {
        Value::String(text) => text.len() as u64,
        Value::Array(items) => items.iter().map(json_weight).sum(),
        Value::Object(members) => members.iter().map(member_weight).sum(),
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}

fn member_weight((name, value): (&String, &Value)) -> u64 {
    // The name and the map's own entry, about 48 bytes.
    48 + name.len() as u64 + json_weight(value)
}

impl TokenCache {
    /// A cache of entries weighing at most `max_bytes` in all, each kept at most `ttl`.
    pub(crate) fn new(max_bytes: u64, ttl: Duration) -> Self {
        // Sized for entries of about 4 KiB, a typical JWT access token with its claims.
        let typical = 4096;
        let estimated_items = usize::try_from(max_bytes / typical)
            .unwrap_or(usize::MAX)
            .max(1);
        Self {
            entries: Cache::with_weighter(estimated_items, max_bytes, ByWeight),
            ttl,
        }
    }

    /// What `token` verified to earlier, if that still holds.
    pub(crate) fn get(&self, token: &str) -> Option<Arc<AuthInfo>> {
        self.get_at(token, Instant::now())
    }

    /// [`get`](Self::get) as if it were `now`: tests move the clock instead of sleeping.
    fn get_at(&self, token: &str, now: Instant) -> Option<Arc<AuthInfo>> {
        let id = token_digest(token);
        let entry = self.entries.get(&id)?;
        if now < entry.valid_until && entry.key.strong_count() > 0 {
            Some(entry.info)
        } else {
            self.entries.remove(&id);
            None
        }
    }

    /// Remembers that `token`, verified with `key`, is `info`, until the earliest of its `exp`,
    /// the TTL and `key_usable_until` (when the key set grows too stale to trust).
    pub(crate) fn insert(
        &self,
        token: &str,
        info: &Arc<AuthInfo>,
        key: &Arc<VerifyKey>,
        key_usable_until: Option<Instant>,
    ) {
        let now_unix = unix_now();
        let Some(exp) = info.expires_at else {
            return;
        };
        let lifetime = Duration::from_secs(exp.saturating_sub(now_unix)).min(self.ttl);
        if lifetime.is_zero() {
            // Expired already: remembering it would only push out entries that can pass.
            return;
        }
        let Some(valid_until) = Instant::now().checked_add(lifetime) else {
            return;
        };
        let valid_until = key_usable_until.map_or(valid_until, |until| until.min(valid_until));
        let entry = Entry {
            info: Arc::clone(info),
            valid_until,
            key: Arc::downgrade(key),
            weight: entry_weight(info),
        };
        self.entries.insert(token_digest(token), entry);
        metrics::cache_entries("verified_tokens", self.entries.len());
    }
}

#[cfg(test)]
#[cfg(feature = "testing")]
mod tests {
    use super::*;
    use crate::testing::{KeyMaterial, TestKey};
    use crate::verify::key_set::KeySet;
    use jsonwebtoken::Algorithm;

    fn key_set() -> KeySet {
        let key = TestKey::new(KeyMaterial::P256, "k1", Algorithm::ES256).unwrap();
        KeySet::parse(&serde_json::json!({ "keys": [key.jwk] }), None).unwrap()
    }

    fn info(expires_in: u64) -> Arc<AuthInfo> {
        let now = unix_now();
        Arc::new(AuthInfo {
            issuer: "https://as.example".into(),
            subject: Some("alice".into()),
            expires_at: Some(now + expires_in),
            ..AuthInfo::default()
        })
    }

    #[test]
    fn a_verified_token_is_remembered() {
        let keys = key_set();
        let key = keys.keys().next().unwrap().clone();
        let cache = TokenCache::new(100 * 1024, Duration::from_secs(60));
        assert!(cache.get("t1").is_none());
        cache.insert("t1", &info(300), &key, None);
        assert_eq!(cache.get("t1").unwrap().subject.as_deref(), Some("alice"));
        assert!(cache.get("t2").is_none());
    }

    #[test]
    fn an_entry_never_outlives_the_ttl_or_the_token() {
        let keys = key_set();
        let key = keys.keys().next().unwrap().clone();
        let short_ttl = TokenCache::new(100 * 1024, Duration::from_secs(30));
        let t0 = Instant::now();
        short_ttl.insert("t", &info(300), &key, None);
        assert!(
            short_ttl
                .get_at("t", t0 + Duration::from_secs(29))
                .is_some()
        );
        assert!(
            short_ttl
                .get_at("t", t0 + Duration::from_secs(31))
                .is_none()
        );

        let cache = TokenCache::new(100 * 1024, Duration::from_secs(60));
        cache.insert("t", &info(10), &key, None);
        assert!(cache.get_at("t", t0 + Duration::from_secs(9)).is_some());
        assert!(
            cache.get_at("t", t0 + Duration::from_secs(11)).is_none(),
            "not past its exp"
        );

        let cache = TokenCache::new(100 * 1024, Duration::from_secs(60));
        cache.insert("expiring", &info(0), &key, None);
        assert!(cache.get("expiring").is_none());
        assert_eq!(cache.entries.len(), 0, "an expired token takes no room");
        cache.insert("no exp", &Arc::new(AuthInfo::default()), &key, None);
        assert!(cache.get("no exp").is_none());
    }

    #[test]
    fn an_entry_dies_with_the_key_that_verified_it() {
        let cache = TokenCache::new(100 * 1024, Duration::from_secs(60));
        let keys = key_set();
        let key = keys.keys().next().unwrap().clone();
        cache.insert("t", &info(300), &key, None);
        // A refetched set with the same key keeps the entry...
        let refetched =
            KeySet::parse(&serde_json::json!({ "keys": [key_jwk()] }), Some(&keys)).unwrap();
        drop(key);
        drop(keys);
        assert!(
            cache.get("t").is_some(),
            "the refetched set holds the same key"
        );
        // ...a set without it drops it.
        let rotated = KeySet::parse(&serde_json::json!({ "keys": [] }), Some(&refetched)).unwrap();
        drop(refetched);
        assert_eq!(rotated.len(), 0);
        assert!(cache.get("t").is_none());
    }

    fn key_jwk() -> serde_json::Value {
        serde_json::json!(
            TestKey::new(KeyMaterial::P256, "k1", Algorithm::ES256)
                .unwrap()
                .jwk
        )
    }

    #[test]
    fn an_entry_never_outlives_the_keys_usable_time() {
        let keys = key_set();
        let key = keys.keys().next().unwrap().clone();
        let cache = TokenCache::new(100 * 1024, Duration::from_secs(60));
        let soon = Instant::now() + Duration::from_secs(30);
        cache.insert("t", &info(300), &key, Some(soon));
        assert!(cache.get_at("t", soon - Duration::from_secs(1)).is_some());
        assert!(cache.get_at("t", soon).is_none());
    }

    #[test]
    fn the_cache_is_bounded_in_bytes_whatever_the_entries_hold() {
        let keys = key_set();
        let key = keys.keys().next().unwrap().clone();
        let budget = 1024 * 1024;
        let claims = |value: serde_json::Value| {
            serde_json::json!({ "data": value })
                .as_object()
                .unwrap()
                .clone()
        };
        let shapes = [
            (64, claims(serde_json::json!("x"))),
            (16 * 1024, claims(serde_json::json!("x".repeat(12 * 1024)))),
            // Many small values: short on the wire, large in memory.
            (2 * 1024, claims(serde_json::json!(vec![0; 700]))),
        ];
        for (token_len, claims) in shapes {
            let cache = TokenCache::new(budget, Duration::from_secs(60));
            let token = |i: usize| format!("{i:0>token_len$}");
            let entry = |i: usize| {
                Arc::new(AuthInfo {
                    token: token(i),
                    claims: claims.clone(),
                    ..AuthInfo::clone(&info(300))
                })
            };
            for i in 0..5_000 {
                cache.insert(&token(i), &entry(i), &key, None);
            }
            let kept = (0..5_000)
                .filter(|i| cache.get(&token(*i)).is_some())
                .count();
            let weight = kept as u64 * entry_weight(&entry(0));
            assert!(
                weight <= budget,
                "{kept} entries of {token_len}-byte tokens: {weight} > {budget}"
            );
            assert!(kept > 0, "tokens of {token_len} bytes");
        }
        // 700 small values weigh as they do in memory, far above their 1.4 KiB on the wire.
        assert!(
            entry_weight(&AuthInfo {
                claims: shapes_claims(),
                ..AuthInfo::default()
            }) > 20_000
        );
    }

    fn shapes_claims() -> serde_json::Map<String, serde_json::Value> {
        serde_json::json!({ "data": vec![0; 700] })
            .as_object()
            .unwrap()
            .clone()
    }
}
