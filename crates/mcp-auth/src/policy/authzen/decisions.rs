//! Decisions already made, kept briefly: bounded in entries, each for the configured TTL, keyed
//! by the whole question (subject, action, resource and arguments). Only decisions are kept;
//! an error never is, so the next request asks again.

use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use crate::policy::access::AccessRequest;

/// The largest question (its JSON, in bytes) whose decision is kept: calls carrying large
/// arguments are rarely repeated, and keeping them would let one caller fill memory.
pub(super) const MAX_KEPT_QUESTION_BYTES: usize = 4 * 1024;

/// A decision and until when it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Kept {
    allowed: bool,
    until: Instant,
}

/// The decisions of one [`AuthZen`](super::AuthZen).
pub(super) struct Decisions {
    /// None with a zero TTL: nothing is kept.
    entries: Option<Cache<AccessRequest, Kept>>,
    ttl: Duration,
}

impl Decisions {
    /// At most `capacity` decisions (least used evicted first), each for `ttl`.
    pub(super) fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            entries: (!ttl.is_zero() && capacity > 0).then(|| Cache::new(capacity)),
            ttl,
        }
    }

    /// The decision on `request` still holding at `now`.
    pub(super) fn get(&self, request: &AccessRequest, now: Instant) -> Option<bool> {
        let kept = self.entries.as_ref()?.get(request)?;
        holding(kept, now)
    }

    /// Keeps the decision on `request` made at `now`, unless the question is large.
    pub(super) fn put(&self, request: &AccessRequest, allowed: bool, now: Instant) {
        let Some(entries) = &self.entries else {
            return;
        };
        if size(request) > MAX_KEPT_QUESTION_BYTES {
            return;
        }
        if let Some(until) = now.checked_add(self.ttl) {
            entries.insert(request.clone(), Kept { allowed, until });
        }
    }
}

/// The length of `request`'s JSON, in bytes.
fn size(request: &AccessRequest) -> usize {
    serde_json::to_vec(request).map_or(usize::MAX, |json| json.len())
}

/// The decision `kept`, unless it expired before `now`.
fn holding(kept: Kept, now: Instant) -> Option<bool> {
    (now < kept.until).then_some(kept.allowed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth_info::AuthInfo;

    fn question(tool: &str) -> AccessRequest {
        let caller = AuthInfo::new("https://auth.example.com", ["https://mcp.example.com/mcp"])
            .with_subject("alice");
        AccessRequest::tool_call(&caller, tool, None)
    }

    #[test]
    fn a_decision_holds_for_its_ttl() {
        let now = Instant::now();
        let kept = Kept {
            allowed: true,
            until: now + Duration::from_secs(5),
        };
        assert_eq!(holding(kept, now), Some(true));
        assert_eq!(
            holding(kept, now + Duration::from_millis(4_999)),
            Some(true)
        );
        assert_eq!(holding(kept, now + Duration::from_secs(5)), None);
    }

    #[test]
    fn decisions_are_kept_by_the_whole_question() {
        let decisions = Decisions::new(10, Duration::from_secs(5));
        let now = Instant::now();
        decisions.put(&question("echo"), true, now);
        decisions.put(&question("admin_report"), false, now);
        assert_eq!(decisions.get(&question("echo"), now), Some(true));
        assert_eq!(decisions.get(&question("admin_report"), now), Some(false));
        assert_eq!(decisions.get(&question("other"), now), None);
        let arguments = serde_json::json!({ "a": 1 }).as_object().cloned();
        let caller = AuthInfo::new("https://auth.example.com", ["https://mcp.example.com/mcp"])
            .with_subject("alice");
        let with_arguments = AccessRequest::tool_call(&caller, "echo", arguments);
        assert_eq!(decisions.get(&with_arguments, now), None, "other arguments");
        assert_eq!(
            decisions.get(&question("echo"), now + Duration::from_secs(6)),
            None,
            "expired"
        );
    }

    #[test]
    fn nothing_is_kept_with_a_zero_ttl_nor_for_large_questions() {
        let now = Instant::now();
        let none = Decisions::new(10, Duration::ZERO);
        none.put(&question("echo"), true, now);
        assert_eq!(none.get(&question("echo"), now), None);
        let some = Decisions::new(10, Duration::from_secs(5));
        let long = "x".repeat(MAX_KEPT_QUESTION_BYTES);
        some.put(&question(&long), true, now);
        assert_eq!(some.get(&question(&long), now), None);
        some.put(&question("echo"), true, now);
        assert_eq!(some.get(&question("echo"), now), Some(true));
    }
}
