//! Where the `jti` of accepted proofs are kept, so that a proof is accepted once: in memory by
//! default, or in a store shared by every replica.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use crate::clock::unix_now;

/// The future a [`ReplayStore`] answers with.
pub type ReplayFuture<'a> =
    Pin<Box<dyn Future<Output = Result<bool, ReplayStoreError>> + Send + 'a>>;

/// The store cannot say whether a proof was seen: the request is answered 503, never let
/// through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the DPoP replay store cannot answer: {0}")]
pub struct ReplayStoreError(pub String);

/// Remembers the proofs already accepted. Implement it over a store every replica shares
/// (Redis, a database) so that a proof replayed to another replica is refused too.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::dpop::{MemoryReplayStore, ReplayStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryReplayStore::new(10_000);
/// assert_eq!(store.first_use("jkt jti-1", Duration::from_secs(60)).await, Ok(true));
/// assert_eq!(store.first_use("jkt jti-1", Duration::from_secs(60)).await, Ok(false));
/// # });
/// ```
pub trait ReplayStore: Send + Sync + 'static {
    /// Records `id` for `keep` (atomically: of two concurrent calls with the same `id`, one
    /// only gets `true`): `Ok(true)` the first time, `Ok(false)` when it was already recorded,
    /// an error when the store cannot answer.
    fn first_use<'a>(&'a self, id: &'a str, keep: Duration) -> ReplayFuture<'a>;
}

/// A [`ReplayStore`] in this process, bounded in entries: when it is full of proofs still
/// within their window, new proofs are refused (503) rather than an old one forgotten early.
#[derive(Debug)]
pub struct MemoryReplayStore {
    /// Each id and the Unix time until which it is kept.
    seen: Mutex<HashMap<String, u64>>,
    max_entries: usize,
}

impl MemoryReplayStore {
    /// A store holding at most `max_entries` proofs (at least one).
    pub fn new(max_entries: usize) -> Self {
        Self {
            seen: Mutex::new(HashMap::new()),
            max_entries: max_entries.max(1),
        }
    }

    fn record(&self, id: &str, keep: Duration) -> Result<bool, ReplayStoreError> {
        let now = unix_now();
        let mut seen = self
            .seen
            .lock()
            .map_err(|_| ReplayStoreError("its lock is poisoned".to_owned()))?;
        if seen.get(id).is_some_and(|until| *until >= now) {
            return Ok(false);
        }
        if seen.len() >= self.max_entries {
            seen.retain(|_, until| *until >= now);
            if seen.len() >= self.max_entries {
                return Err(ReplayStoreError(format!(
                    "{} proofs within their window already",
                    self.max_entries
                )));
            }
        }
        seen.insert(id.to_owned(), now.saturating_add(keep.as_secs()));
        Ok(true)
    }
}

impl ReplayStore for MemoryReplayStore {
    fn first_use<'a>(&'a self, id: &'a str, keep: Duration) -> ReplayFuture<'a> {
        Box::pin(std::future::ready(self.record(id, keep)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_store_refuses_new_proofs_instead_of_forgetting_live_ones() {
        let store = MemoryReplayStore::new(2);
        let keep = Duration::from_secs(60);
        assert_eq!(store.record("a", keep), Ok(true));
        assert_eq!(store.record("b", keep), Ok(true));
        assert!(store.record("c", keep).is_err());
        assert_eq!(store.record("a", keep), Ok(false), "a is still remembered");
    }

    #[test]
    fn expired_entries_make_room() {
        let store = MemoryReplayStore::new(1);
        assert_eq!(store.record("a", Duration::ZERO), Ok(true));
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(store.record("b", Duration::from_secs(60)), Ok(true));
    }
}
