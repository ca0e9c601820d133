//! Where introspection answers are kept between requests: a small trait, so replicas can share
//! one store, and the in-memory store used by default.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use quick_cache::sync::Cache;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The future an [`IntrospectionStore`] returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The key of a token in a store: the SHA-256 of the token, so that a store never holds a
/// token that could be replayed.
pub type TokenDigest = [u8; 32];

/// What the authorization server said of a token, and until when it may be reused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAnswer {
    /// The answer's members when the token is active (`active: true` and the rest, RFC 7662
    /// §2.2), `None` when it is not.
    pub active: Option<Map<String, Value>>,
    /// Unix time (seconds) after which the answer must not be used.
    pub expires_at: u64,
}

/// A cache of introspection answers, keyed by token digest. Implement it to share answers among
/// replicas (a Redis store, say). The verifier ignores an answer past its `expires_at`, so a
/// store may keep it until evicted; a store that fails should answer `None` (the token is then
/// introspected again).
///
/// ```
/// use mcp_auth::verify::{IntrospectionStore, MemoryIntrospectionStore, StoredAnswer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemoryIntrospectionStore::new(1_000);
/// let answer = StoredAnswer { active: None, expires_at: u64::MAX };
/// store.put([7; 32], answer.clone()).await;
/// assert_eq!(store.get(&[7; 32]).await.as_deref(), Some(&answer));
/// # }
/// ```
pub trait IntrospectionStore: Send + Sync + 'static {
    /// The answer stored for this digest, if any.
    fn get<'a>(&'a self, digest: &'a TokenDigest) -> StoreFuture<'a, Option<Arc<StoredAnswer>>>;
    /// Stores an answer until its `expires_at`.
    fn put(&self, digest: TokenDigest, answer: StoredAnswer) -> StoreFuture<'_, ()>;
}

/// The default store: in process, bounded in entries (the least used are evicted first).
///
/// ```
/// use mcp_auth::verify::{IntrospectionOptions, MemoryIntrospectionStore};
///
/// let options = IntrospectionOptions::new("mcp-server", "secret")
///     .store(MemoryIntrospectionStore::new(50_000));
/// ```
pub struct MemoryIntrospectionStore {
    /// None for a zero capacity: nothing is kept.
    entries: Option<Cache<TokenDigest, Arc<StoredAnswer>>>,
}

impl MemoryIntrospectionStore {
    /// A store of at most `capacity` answers (zero keeps none).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: (capacity > 0).then(|| Cache::new(capacity)),
        }
    }
}

impl IntrospectionStore for MemoryIntrospectionStore {
    fn get<'a>(&'a self, digest: &'a TokenDigest) -> StoreFuture<'a, Option<Arc<StoredAnswer>>> {
        let found = self
            .entries
            .as_ref()
            .and_then(|entries| entries.get(digest));
        Box::pin(std::future::ready(found))
    }

    fn put(&self, digest: TokenDigest, answer: StoredAnswer) -> StoreFuture<'_, ()> {
        if let Some(entries) = &self.entries {
            entries.insert(digest, Arc::new(answer));
        }
        Box::pin(std::future::ready(()))
    }
}
