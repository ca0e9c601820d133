//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`): the
//! application installs the recorder (a Prometheus exporter, say) before the first request; the
//! library only counts. Without the feature, or without a recorder, these do nothing.
//!
//! | name | kind | labels | |
//! |---|---|---|---|
//! | `mcp_auth_decisions_total` | counter | `outcome`, `reason` | decisions; `reason` is a [`Reason`] code, `none` when allowed |
//! | `mcp_auth_decision_seconds` | histogram | `outcome` | time each decision took, verification included |
//! | `mcp_auth_metadata_fetches_total` | counter | `issuer`, `result` (`ok`, `error`) | metadata discoveries (one per attempt, whatever the number of URLs tried) |
//! | `mcp_auth_key_set_fetches_total` | counter | `issuer`, `result` (`ok`, `error`) | key-set fetches |
//! | `mcp_auth_key_set_fetched_timestamp_seconds` | gauge | `issuer` | Unix time of the last good fetch: `time() - ` it is the key set's age |
//! | `mcp_auth_cache_entries` | gauge | `cache` (`verified_tokens`, `introspection`, `userinfo`, `sessions`, `dpop_replay`) | entries held (`dpop_replay`: proofs in the in-memory DPoP replay store) |
//!
//! Labels are bounded: outcomes and reasons are fixed sets, issuers those configured; no
//! subject, client or token is ever a label.

use std::time::Duration;

use super::{Outcome, Reason};

/// The decision counters (one per reason, and one for allowed) and histograms (one per
/// outcome), registered with the recorder on first use and kept: a decision then costs an
/// increment, not a lookup. The recorder must be installed before the first request.
#[cfg(feature = "metrics")]
mod handles {
    use std::sync::OnceLock;

    use super::super::{Outcome, Reason};

    const COUNTERS: usize = Reason::ALL.len() + 1;
    static DECISIONS: [OnceLock<::metrics::Counter>; COUNTERS] =
        [const { OnceLock::new() }; COUNTERS];
    static DURATIONS: [OnceLock<::metrics::Histogram>; 3] = [const { OnceLock::new() }; 3];

    pub(super) fn decisions(
        outcome: Outcome,
        reason: Option<Reason>,
    ) -> &'static ::metrics::Counter {
        let index = reason.map_or(0, |reason| reason as usize + 1);
        DECISIONS[index].get_or_init(|| {
            let reason = reason.map_or("none", Reason::as_str);
            ::metrics::counter!("mcp_auth_decisions_total", "outcome" => outcome.as_str(), "reason" => reason)
        })
    }

    pub(super) fn durations(outcome: Outcome) -> &'static ::metrics::Histogram {
        DURATIONS[outcome as usize].get_or_init(
            || ::metrics::histogram!("mcp_auth_decision_seconds", "outcome" => outcome.as_str()),
        )
    }
}

/// Counts one decision and how long it took.
pub(crate) fn decision(outcome: Outcome, reason: Option<Reason>, took: Duration) {
    #[cfg(feature = "metrics")]
    {
        handles::decisions(outcome, reason).increment(1);
        handles::durations(outcome).record(took.as_secs_f64());
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (outcome, reason, took);
}

/// Counts one key-set fetch of `issuer`, and when it worked, when.
pub(crate) fn key_set_fetched(issuer: &str, ok: bool) {
    #[cfg(feature = "metrics")]
    {
        let result = if ok { "ok" } else { "error" };
        let issuer = issuer.to_owned();
        ::metrics::counter!("mcp_auth_key_set_fetches_total", "issuer" => issuer.clone(), "result" => result)
            .increment(1);
        if ok {
            ::metrics::gauge!("mcp_auth_key_set_fetched_timestamp_seconds", "issuer" => issuer)
                .set(crate::clock::unix_now() as f64);
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (issuer, ok);
}

/// Counts one metadata discovery of `issuer`.
pub(crate) fn metadata_fetched(issuer: &str, ok: bool) {
    #[cfg(feature = "metrics")]
    {
        let result = if ok { "ok" } else { "error" };
        ::metrics::counter!("mcp_auth_metadata_fetches_total", "issuer" => issuer.to_owned(), "result" => result)
            .increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (issuer, ok);
}

/// Sets how many entries the cache `cache` holds.
pub(crate) fn cache_entries(cache: &'static str, entries: usize) {
    #[cfg(feature = "metrics")]
    ::metrics::gauge!("mcp_auth_cache_entries", "cache" => cache).set(entries as f64);
    #[cfg(not(feature = "metrics"))]
    let _ = (cache, entries);
}
