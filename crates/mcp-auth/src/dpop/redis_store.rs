//! A [`ReplayStore`] in Redis, so that every replica behind a load balancer refuses a proof
//! another one accepted.

use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, ExistenceCheck, SetExpiry, SetOptions};

use crate::observe::redact_userinfo;

use super::replay::{ProofUse, ReplayFuture, ReplayStore, ReplayStoreError};

/// Keys start with this, then the base64url SHA-256 of the proof's id: fixed-size keys whatever
/// the client sent.
const KEY_PREFIX: &str = "mcp-auth:dpop:";

/// Accepted DPoP proofs remembered in Redis (`SET key 1 NX PX ms`: atomic, expiring). When
/// Redis cannot answer, requests get 503: a replay is never let through. The connection is
/// re-established by itself once Redis is back. It bounds nothing per key: size Redis for the
/// proofs every replica accepts within the window, with `maxmemory-policy noeviction` (a full
/// Redis then refuses writes, 503, instead of evicting live proofs that could be replayed).
///
/// ```no_run
/// use mcp_auth::dpop::{DpopOptions, RedisReplayStore};
///
/// # async fn run() -> Result<(), mcp_auth::dpop::ReplayStoreError> {
/// let store = RedisReplayStore::connect("redis://127.0.0.1:6379/").await?;
/// let options = DpopOptions::required().replay_store(store);
/// # let _ = options;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisReplayStore {
    connection: ConnectionManager,
}

impl RedisReplayStore {
    /// Connects to the Redis at `url` (`redis://host:port/db`); fails when it cannot.
    pub async fn connect(url: &str) -> Result<Self, ReplayStoreError> {
        // Messages name the URL without its password, and so must Redis's own.
        let refused = |message: String| ReplayStoreError(redact_userinfo(&message).into_owned());
        let client = redis::Client::open(url)
            .map_err(|err| refused(format!("{url} is not a Redis URL: {err}")))?;
        let connection = client
            .get_connection_manager()
            .await
            .map_err(|err| refused(format!("cannot reach Redis: {err}")))?;
        Ok(Self { connection })
    }

    async fn record(
        &self,
        jkt: &str,
        jti: &str,
        keep: Duration,
    ) -> Result<ProofUse, ReplayStoreError> {
        // The digest of `"{jkt} {jti}"`, as before the trait took the two apart: replicas of
        // both versions sharing one Redis during an upgrade still see each other's proofs.
        let id = format!("{jkt} {jti}");
        let key = format!(
            "{KEY_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(digest(&SHA256, id.as_bytes()))
        );
        let millis = u64::try_from(keep.as_millis()).unwrap_or(u64::MAX).max(1);
        let options = SetOptions::default()
            .conditional_set(ExistenceCheck::NX)
            .with_expiration(SetExpiry::PX(millis));
        let mut connection = self.connection.clone();
        let set: Option<String> = connection
            .set_options(key, 1, options)
            .await
            .map_err(|err| ReplayStoreError(format!("Redis: {err}")))?;
        Ok(if set.is_some() {
            ProofUse::First
        } else {
            ProofUse::Replayed
        })
    }
}

impl ReplayStore for RedisReplayStore {
    fn first_use<'a>(&'a self, jkt: &'a str, jti: &'a str, keep: Duration) -> ReplayFuture<'a> {
        Box::pin(self.record(jkt, jti, keep))
    }
}

impl std::fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisReplayStore").finish_non_exhaustive()
    }
}
