//! Tokens already verified, so a client reusing its token costs a hash and a lookup instead of
//! a signature check. Bounded (older entries are evicted), an entry never outlives its token's
//! `exp` nor the configured TTL, and it is dropped once the key that verified it has left the
//! key set. The layer still checks issuer, audience and scopes of a cached answer per request.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{SHA256, digest};
use quick_cache::sync::Cache;

use super::key_set::VerifyKey;
use crate::auth_info::AuthInfo;
use crate::clock::unix_now;

/// The cache of one JWT verifier.
pub(crate) struct TokenCache {
    /// Keyed by the SHA-256 of the whole token: the token itself is not kept as a key, and
    /// lookups compare digests, which reveal nothing usable about tokens through timing.
    entries: Cache<[u8; 32], Entry>,
    ttl: Duration,
}

#[derive(Clone)]
struct Entry {
    info: Arc<AuthInfo>,
    valid_until: Instant,
    /// The key that verified the token; once the key set no longer holds it, this is dead.
    key: Weak<VerifyKey>,
}

impl TokenCache {
    /// A cache of at most `capacity` tokens, each kept at most `ttl`.
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            entries: Cache::new(capacity),
            ttl,
        }
    }

    /// What `token` verified to earlier, if that still holds.
    pub(crate) fn get(&self, token: &str) -> Option<Arc<AuthInfo>> {
        let id = id(token);
        let entry = self.entries.get(&id)?;
        if Instant::now() < entry.valid_until && entry.key.strong_count() > 0 {
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
        let Some(valid_until) = Instant::now().checked_add(lifetime) else {
            return;
        };
        let valid_until = key_usable_until.map_or(valid_until, |until| until.min(valid_until));
        let entry = Entry {
            info: Arc::clone(info),
            valid_until,
            key: Arc::downgrade(key),
        };
        self.entries.insert(id(token), entry);
    }
}

fn id(token: &str) -> [u8; 32] {
    let mut id = [0; 32];
    id.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    id
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
        let cache = TokenCache::new(100, Duration::from_secs(60));
        assert!(cache.get("t1").is_none());
        cache.insert("t1", &info(300), &key, None);
        assert_eq!(cache.get("t1").unwrap().subject.as_deref(), Some("alice"));
        assert!(cache.get("t2").is_none());
    }

    #[test]
    fn an_entry_never_outlives_the_ttl_or_the_token() {
        let keys = key_set();
        let key = keys.keys().next().unwrap().clone();
        let short_ttl = TokenCache::new(100, Duration::from_millis(30));
        short_ttl.insert("t", &info(300), &key, None);
        std::thread::sleep(Duration::from_millis(60));
        assert!(short_ttl.get("t").is_none());

        let cache = TokenCache::new(100, Duration::from_secs(60));
        cache.insert("expiring", &info(0), &key, None);
        assert!(cache.get("expiring").is_none());
        cache.insert("no exp", &Arc::new(AuthInfo::default()), &key, None);
        assert!(cache.get("no exp").is_none());
    }

    #[test]
    fn an_entry_dies_with_the_key_that_verified_it() {
        let cache = TokenCache::new(100, Duration::from_secs(60));
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
        let cache = TokenCache::new(100, Duration::from_secs(60));
        let soon = Instant::now() + Duration::from_millis(30);
        cache.insert("t", &info(300), &key, Some(soon));
        assert!(cache.get("t").is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get("t").is_none());
    }

    #[test]
    fn the_cache_is_bounded() {
        let keys = key_set();
        let key = keys.keys().next().unwrap().clone();
        let cache = TokenCache::new(50, Duration::from_secs(60));
        for i in 0..5_000 {
            cache.insert(&format!("token-{i}"), &info(300), &key, None);
        }
        let kept = (0..5_000)
            .filter(|i| cache.get(&format!("token-{i}")).is_some())
            .count();
        assert!(kept <= 60, "{kept} entries kept for a capacity of 50");
        assert!(kept > 0);
    }
}
