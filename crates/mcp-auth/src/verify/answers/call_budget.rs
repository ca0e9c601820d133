//! How many calls per second an issuer's endpoint gets from this layer: a token bucket that
//! refills at the allowed rate and holds one second's worth, so that a flood of made-up opaque
//! tokens (each new, so no cache helps) costs the issuer a bounded rate, and the layer answers
//! the excess with 503 instead of passing it on.

use std::sync::Mutex;
use std::time::Instant;

/// The calls left and when they were counted.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    calls: f64,
    at: Instant,
}

/// A bound on calls per second, shared by every request of a layer.
#[derive(Debug)]
pub(crate) struct CallBudget {
    per_second: f64,
    bucket: Mutex<Bucket>,
}

impl CallBudget {
    /// `per_second` calls a second (at least one), a second's worth at once.
    pub(crate) fn new(per_second: u32) -> Self {
        let per_second = f64::from(per_second.max(1));
        Self {
            per_second,
            bucket: Mutex::new(Bucket {
                calls: per_second,
                at: Instant::now(),
            }),
        }
    }

    /// Takes one call from the budget at `now`; `false` when none is left.
    pub(crate) fn take(&self, now: Instant) -> bool {
        let mut bucket = self
            .bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (taken, after) = take(*bucket, now, self.per_second);
        *bucket = after;
        taken
    }
}

/// The bucket refilled from its last count to `now` (never above one second's worth), less one
/// call when there is one to take.
fn take(bucket: Bucket, now: Instant, per_second: f64) -> (bool, Bucket) {
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    let calls = (bucket.calls + elapsed * per_second).min(per_second);
    let at = now.max(bucket.at);
    if calls >= 1.0 {
        (
            true,
            Bucket {
                calls: calls - 1.0,
                at,
            },
        )
    } else {
        (false, Bucket { calls, at })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_second_s_worth_then_the_rate() {
        let start = Instant::now();
        let mut bucket = Bucket {
            calls: 10.0,
            at: start,
        };
        let mut taken = 0;
        for _ in 0..50 {
            let (ok, after) = take(bucket, start, 10.0);
            bucket = after;
            taken += usize::from(ok);
        }
        assert_eq!(taken, 10, "a burst of one second's worth");
        let (ok, after) = take(bucket, start + Duration::from_millis(50), 10.0);
        assert!(!ok, "half a call has come back");
        let (ok, after) = take(after, start + Duration::from_millis(100), 10.0);
        assert!(ok, "a whole one has");
        let (_, after) = take(after, start + Duration::from_secs(3600), 10.0);
        assert!(after.calls <= 10.0, "never above a second's worth");
    }

    #[test]
    fn the_shared_budget_counts_every_caller() {
        let budget = CallBudget::new(3);
        let now = Instant::now();
        let taken = (0..10).filter(|_| budget.take(now)).count();
        assert_eq!(taken, 3);
    }
}
