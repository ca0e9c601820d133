//! One call for all concurrent requests with the same key (a new token's digest, a question to
//! a decision point): the first caller makes it, the others wait for its outcome, and the call
//! is forgotten once answered (or abandoned by every caller), so that abandoned calls cannot
//! pile up and a failure is never kept.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::OnceCell;

use super::store::TokenDigest;

/// The calls under way, by key (a token digest unless said otherwise), each with its shared
/// outcome.
pub(crate) struct SingleFlight<T, K = TokenDigest> {
    calls: Mutex<HashMap<K, Arc<OnceCell<T>>>>,
}

impl<T, K> Default for SingleFlight<T, K> {
    fn default() -> Self {
        Self {
            calls: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone, K: Hash + Eq + Clone> SingleFlight<T, K> {
    /// The outcome of `call` for `key`: made by this caller, or by a concurrent one whose
    /// outcome this one shares.
    pub(crate) async fn run<F>(&self, key: K, call: impl FnOnce() -> F) -> T
    where
        F: Future<Output = T>,
    {
        let cell = lock(&self.calls).entry(key.clone()).or_default().clone();
        let _leaving = Caller {
            calls: &self.calls,
            key,
            cell: &cell,
        };
        cell.get_or_init(call).await.clone()
    }
}

/// A caller of one shared call: when the last one leaves (answered, or dropped mid-call), the
/// call is forgotten.
struct Caller<'a, T, K: Hash + Eq> {
    calls: &'a Mutex<HashMap<K, Arc<OnceCell<T>>>>,
    key: K,
    cell: &'a Arc<OnceCell<T>>,
}

impl<T, K: Hash + Eq> Drop for Caller<'_, T, K> {
    fn drop(&mut self) {
        let mut calls = lock(self.calls);
        // The map's reference and this caller's: nobody else waits for this call.
        let last = Arc::strong_count(self.cell) <= 2;
        let same = calls
            .get(&self.key)
            .is_some_and(|current| Arc::ptr_eq(current, self.cell));
        if same && (last || self.cell.initialized()) {
            calls.remove(&self.key);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_call_and_it_is_then_forgotten() {
        let flight = SingleFlight::<usize>::default();
        let calls = AtomicUsize::new(0);
        let call = || async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            calls.fetch_add(1, Ordering::SeqCst)
        };
        let (a, b) = tokio::join!(flight.run([1; 32], call), flight.run([1; 32], call));
        assert_eq!((a, b), (0, 0));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(lock(&flight.calls).is_empty());
        assert_eq!(
            flight.run([1; 32], call).await,
            1,
            "a later caller calls again"
        );
    }
}
