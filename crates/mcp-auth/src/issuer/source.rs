//! [`Issuer`]: the one live source of a trusted authorization server's metadata, shared by every
//! reader (JWT mode's key caches, introspection, the legacy mirror) of every layer built from one
//! `McpAuth`, so that one issuer costs one discovery however many resources and layers trust it.
//!
//! - Discovered when a reader first needs it, then again every
//!   [`refresh_every`](crate::discovery::Discovery::refresh_every) (24 h by default) in the
//!   background: once a document is known, no reader waits for the issuer.
//! - One fetch at a time: concurrent readers share it; after a failure, none before the
//!   [`retry_backoff`](crate::discovery::Discovery::retry_backoff) has passed, however many
//!   requests arrive.
//! - A document is accepted only when it names this issuer exactly (RFC 8414 §3.3, checked by
//!   [`Discovery::fetch`]); the last good one is kept through an outage, however long (metadata
//!   rarely changes; the key set has its own staleness bound).
//! - A document that lacks what a reader needs (no usable `jwks_uri` for JWT mode, say) counts as
//!   a failed fetch for the backoff, so a reader asking again cannot hammer the issuer.
//! - Inline metadata is used as given and never fetched.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use serde_json::Value;
use url::Url;

use super::config::AuthServerConfig;
use super::discovery::{Discovery, RefreshPolicy};
use super::fetch::Attempts;
use super::url_rules::parse_issuer_endpoint;
use crate::error::{ConfigError, UrlKind};
use crate::metadata::AuthorizationServerMetadata;
use crate::observe::metrics;

/// One trusted authorization server and what is known of its metadata.
pub(crate) struct Issuer {
    config: AuthServerConfig,
    known: RwLock<Option<Arc<Metadata>>>,
    /// Held while fetching, so concurrent readers share one fetch.
    fetching: Arc<tokio::sync::Mutex<Attempts>>,
    /// Fetch attempts so far: a reader that waited for the lock while another fetched sees it
    /// change and uses that fetch's outcome instead of fetching again.
    attempts: AtomicU64,
}

/// A document accepted for this issuer, with the endpoints readers use parsed once.
pub(crate) struct Metadata {
    /// The metadata, typed.
    pub(crate) metadata: AuthorizationServerMetadata,
    /// The document as received (after the transpile hook), every member kept.
    pub(crate) document: Value,
    /// The key set's URL, or why there is no usable one.
    jwks_uri: Result<Url, String>,
    /// The introspection endpoint, or why there is no usable one.
    introspection_endpoint: Result<Url, String>,
    /// The OpenID Connect UserInfo endpoint, or why there is no usable one.
    userinfo_endpoint: Result<Url, String>,
    /// When it was fetched; `None` for inline metadata, which is never fetched again.
    fetched_at: Option<Instant>,
}

/// What a reader needs from the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// The document itself (the legacy mirror).
    Document,
    /// A usable `jwks_uri` (JWT mode).
    JwksUri,
    /// A usable `introspection_endpoint` (introspection).
    IntrospectionEndpoint,
    /// A usable `userinfo_endpoint` (userinfo mode, OpenID Connect).
    UserinfoEndpoint,
}

impl Metadata {
    fn new(
        discovered: AuthorizationServerMetadata,
        document: Value,
        config: &AuthServerConfig,
        fetched_at: Option<Instant>,
    ) -> Self {
        let endpoint = |kind: UrlKind, url: Option<&str>, name: &str| match url {
            Some(url) => {
                parse_issuer_endpoint(kind, config.issuer(), url, config.allows_insecure_http())
                    .map_err(|error| error.to_string())
            }
            None => Err(format!(
                "issuer {} publishes no {name} in its metadata",
                config.issuer()
            )),
        };
        Self {
            jwks_uri: endpoint(UrlKind::JwksUri, discovered.jwks_uri.as_deref(), "jwks_uri"),
            introspection_endpoint: endpoint(
                UrlKind::IntrospectionEndpoint,
                discovered.introspection_endpoint.as_deref(),
                "introspection_endpoint",
            ),
            userinfo_endpoint: endpoint(
                UrlKind::UserinfoEndpoint,
                discovered.userinfo_endpoint.as_deref(),
                "userinfo_endpoint",
            ),
            metadata: discovered,
            document,
            fetched_at,
        }
    }

    /// The key set's URL (present when the reader asked for [`Needs::JwksUri`]).
    pub(crate) fn jwks_uri(&self) -> Result<&Url, &str> {
        self.jwks_uri.as_ref().map_err(String::as_str)
    }

    /// The introspection endpoint (present when the reader asked for
    /// [`Needs::IntrospectionEndpoint`]).
    pub(crate) fn introspection_endpoint(&self) -> Result<&Url, &str> {
        self.introspection_endpoint.as_ref().map_err(String::as_str)
    }

    /// The OpenID Connect UserInfo endpoint (present when the reader asked for
    /// [`Needs::UserinfoEndpoint`]).
    pub(crate) fn userinfo_endpoint(&self) -> Result<&Url, &str> {
        self.userinfo_endpoint.as_ref().map_err(String::as_str)
    }

    /// Why this document does not give the reader what it needs, if it does not.
    fn lacks(&self, needs: Needs) -> Option<&str> {
        match needs {
            Needs::Document => None,
            Needs::JwksUri => self.jwks_uri().err(),
            Needs::IntrospectionEndpoint => self.introspection_endpoint().err(),
            Needs::UserinfoEndpoint => self.userinfo_endpoint().err(),
        }
    }

    fn due(&self, now: Instant, policy: &RefreshPolicy) -> bool {
        self.fetched_at
            .is_some_and(|at| now.saturating_duration_since(at) >= policy.every)
    }
}

impl Issuer {
    /// The live source of `config`, knowing its inline or eagerly discovered metadata already.
    /// Refuses a discovery whose settings contradict themselves.
    pub(crate) fn new(config: AuthServerConfig) -> Result<Self, ConfigError> {
        if let Some(discovery) = config.discovery() {
            discovery.check()?;
        }
        let known = config.metadata().map(|metadata| {
            let document = serde_json::to_value(metadata).unwrap_or(Value::Null);
            // Eagerly discovered metadata is refreshed like lazily discovered metadata.
            let fetched_at = config.discovery().map(|_| Instant::now());
            Arc::new(Metadata::new(
                metadata.clone(),
                document,
                &config,
                fetched_at,
            ))
        });
        Ok(Self {
            config,
            known: RwLock::new(known),
            fetching: Arc::new(tokio::sync::Mutex::new(Attempts::default())),
            attempts: AtomicU64::new(0),
        })
    }

    /// How this server was configured.
    pub(crate) fn config(&self) -> &AuthServerConfig {
        &self.config
    }

    /// The issuer identifier.
    pub(crate) fn issuer(&self) -> &str {
        self.config.issuer()
    }

    /// The metadata, giving the reader what it `needs`: the known document when it does (a due
    /// refresh then runs in the background), else a fetch shared with concurrent readers and
    /// held back by the backoff. The error says why there is none.
    pub(crate) async fn metadata(self: &Arc<Self>, needs: Needs) -> Result<Arc<Metadata>, String> {
        self.metadata_at(needs, Instant::now()).await
    }

    /// [`metadata`](Self::metadata) as if it were `now`: tests move the clock instead of
    /// sleeping.
    pub(crate) async fn metadata_at(
        self: &Arc<Self>,
        needs: Needs,
        now: Instant,
    ) -> Result<Arc<Metadata>, String> {
        let attempts_seen = self.attempts.load(Ordering::Acquire);
        let known = self.known();
        let Some(discovery) = self.config.discovery() else {
            // Inline metadata: nothing to fetch.
            return match known {
                Some(metadata) => match metadata.lacks(needs) {
                    Some(lack) => Err(lack.to_owned()),
                    None => Ok(metadata),
                },
                None => Err(format!("issuer {} has no metadata", self.issuer())),
            };
        };
        if let Some(metadata) = known.filter(|metadata| metadata.lacks(needs).is_none()) {
            if metadata.due(now, &discovery.refresh_policy())
                && let Ok(state) = self.fetching.clone().try_lock_owned()
            {
                let issuer = Arc::clone(self);
                tokio::spawn(async move {
                    let mut state = state;
                    issuer
                        .fetch_locked(&mut state, Needs::Document, attempts_seen, now)
                        .await;
                });
            }
            return Ok(metadata);
        }
        let mut state = self.fetching.clone().lock_owned().await;
        self.fetch_locked(&mut state, needs, attempts_seen, now)
            .await;
        match self.known() {
            Some(metadata) if metadata.lacks(needs).is_none() => Ok(metadata),
            _ => Err(state.last_error().map_or_else(
                || format!("the metadata of {} is being discovered", self.issuer()),
                str::to_owned,
            )),
        }
    }

    fn known(&self) -> Option<Arc<Metadata>> {
        match self.known.read() {
            Ok(known) => known.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn store(&self, metadata: Metadata) {
        let metadata = Some(Arc::new(metadata));
        match self.known.write() {
            Ok(mut known) => *known = metadata,
            Err(poisoned) => *poisoned.into_inner() = metadata,
        }
    }

    /// Discovers with the fetch lock held, unless another reader fetched since this one looked
    /// (`attempts_seen`) or the backoff says not now. An accepted document is stored, even when
    /// it lacks what this reader `needs` (another reader may need only the rest); that lack
    /// counts as a failure for the backoff.
    async fn fetch_locked(
        &self,
        state: &mut Attempts,
        needs: Needs,
        attempts_seen: u64,
        now: Instant,
    ) {
        let Some(discovery) = self.config.discovery() else {
            return;
        };
        let policy = discovery.refresh_policy();
        if self.attempts.load(Ordering::Acquire) != attempts_seen
            || state.backing_off(&policy.backoff, now)
        {
            return;
        }
        let why = match (state.failures(), self.known().is_some()) {
            (1.., _) => "retry",
            (0, true) => "refresh",
            (0, false) => "first",
        };
        let started = Instant::now();
        let outcome = self.discover(discovery, needs, now).await;
        let took = started.elapsed();
        let issuer = self.issuer();
        let duration_ms = took.as_secs_f64() * 1000.0;
        match &outcome {
            Ok(url) => tracing::info!(issuer, %url, why, duration_ms, "metadata fetched"),
            Err(error) => {
                tracing::warn!(issuer, why, %error, duration_ms, "metadata fetch failed");
            }
        }
        metrics::metadata_fetched(issuer, outcome.is_ok());
        state.record(now, took, outcome.map(drop));
        // Counted after the outcome is stored, so a reader that sees the new count also sees it.
        self.attempts.fetch_add(1, Ordering::AcqRel);
    }

    /// One discovery; the URL that answered, or why it gave nothing this reader can use.
    async fn discover(
        &self,
        discovery: &Discovery,
        needs: Needs,
        now: Instant,
    ) -> Result<Url, String> {
        let found = discovery.fetch().await.map_err(|error| error.to_string())?;
        let metadata = Metadata::new(found.metadata, found.document, &self.config, Some(now));
        let lack = metadata.lacks(needs).map(str::to_owned);
        self.store(metadata);
        match lack {
            Some(lack) => Err(lack),
            None => Ok(found.url),
        }
    }
}

/// The [`Issuer`]s of one configuration: one per distinct issuer, shared by every resource that
/// trusts it.
#[derive(Default)]
pub(crate) struct Issuers(Vec<Arc<Issuer>>);

impl Issuers {
    /// The issuer `config` describes: the one already known, or a new one. Refuses an issuer
    /// described twice in different ways, since only one description can be used.
    pub(crate) fn share(&mut self, config: AuthServerConfig) -> Result<Arc<Issuer>, ConfigError> {
        if let Some(known) = self
            .0
            .iter()
            .find(|known| known.issuer() == config.issuer())
        {
            return if known.config().same_as(&config) {
                Ok(Arc::clone(known))
            } else {
                Err(ConfigError::IssuerConfiguredTwice {
                    issuer: config.issuer().to_owned(),
                })
            };
        }
        let issuer = Arc::new(Issuer::new(config)?);
        self.0.push(Arc::clone(&issuer));
        Ok(issuer)
    }
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[cfg(feature = "testing")]
mod tests {
    //! The issuer against a real test issuer, with the clock moved forward instead of slept.

    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::testing::TestIssuer;

    const SECOND: Duration = Duration::from_secs(1);
    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn lazy(test_issuer: &TestIssuer) -> Arc<Issuer> {
        Arc::new(Issuer::new(test_issuer.lazy_config()).unwrap())
    }

    /// Waits (at most 3 s) for a background discovery to reach the issuer and be stored.
    async fn settles(test_issuer: &TestIssuer, expected: usize) -> usize {
        let deadline = Instant::now() + 3 * SECOND;
        while test_issuer.metadata_fetches() < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        test_issuer.metadata_fetches()
    }

    fn jwks_uri(metadata: &Metadata) -> String {
        metadata.jwks_uri().map(Url::to_string).unwrap_or_default()
    }

    #[tokio::test]
    async fn concurrent_readers_share_one_discovery() {
        let test_issuer = TestIssuer::start().await.unwrap();
        let issuer = lazy(&test_issuer);
        let readers = (0..20).map(|i| {
            let needs = [
                Needs::Document,
                Needs::JwksUri,
                Needs::IntrospectionEndpoint,
            ][i % 3];
            let issuer = issuer.clone();
            async move { issuer.metadata(needs).await }
        });
        for read in futures::future::join_all(readers).await {
            assert!(read.is_ok());
        }
        assert_eq!(test_issuer.metadata_fetches(), 1);
    }

    #[tokio::test]
    async fn metadata_is_discovered_again_after_refresh_every_in_the_background() {
        let test_issuer = TestIssuer::start().await.unwrap();
        let issuer = lazy(&test_issuer);
        let t0 = Instant::now();
        let first = issuer.metadata_at(Needs::JwksUri, t0).await.unwrap();
        issuer
            .metadata_at(Needs::JwksUri, t0 + DAY - SECOND)
            .await
            .unwrap();
        assert_eq!(test_issuer.metadata_fetches(), 1, "fresh for a day");
        test_issuer.set_metadata(Some(json!({
            "issuer": test_issuer.issuer(),
            "jwks_uri": format!("{}/rotated-jwks", test_issuer.issuer()),
        })));
        let due = issuer.metadata_at(Needs::JwksUri, t0 + DAY).await.unwrap();
        assert_eq!(
            jwks_uri(&due),
            jwks_uri(&first),
            "answered at once from the known one"
        );
        assert_eq!(
            settles(&test_issuer, 2).await,
            2,
            "one refresh in the background"
        );
        let refreshed = issuer.metadata_at(Needs::JwksUri, t0 + DAY).await.unwrap();
        assert!(jwks_uri(&refreshed).ends_with("/rotated-jwks"));
        assert_eq!(test_issuer.metadata_fetches(), 2);
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_the_last_good_document_and_waits_out_the_backoff() {
        let test_issuer = TestIssuer::start().await.unwrap();
        let issuer = lazy(&test_issuer);
        let t0 = Instant::now();
        let first = issuer.metadata_at(Needs::JwksUri, t0).await.unwrap();
        test_issuer.set_down(true);
        // Two URLs per attempt: one attempt at a day, none within the 1 s backoff, one a month
        // later.
        for (at, fetches) in [(DAY, 3), (DAY + SECOND / 2, 3), (30 * DAY, 5)] {
            let kept = issuer.metadata_at(Needs::JwksUri, t0 + at).await.unwrap();
            assert_eq!(jwks_uri(&kept), jwks_uri(&first));
            assert_eq!(settles(&test_issuer, fetches).await, fetches);
        }
    }

    #[tokio::test]
    async fn an_issuer_down_from_the_start_is_tried_once_per_backoff() {
        let test_issuer = TestIssuer::start().await.unwrap();
        test_issuer.set_down(true);
        let issuer = lazy(&test_issuer);
        let t0 = Instant::now();
        for millis in [0, 100, 900] {
            let error = issuer
                .metadata_at(Needs::Document, t0 + Duration::from_millis(millis))
                .await
                .err()
                .unwrap_or_default();
            assert!(error.contains("answered HTTP 503"), "{error}");
        }
        assert_eq!(test_issuer.metadata_fetches(), 2, "one attempt, two URLs");
        test_issuer.set_down(false);
        // The backoff counts from the end of the failed attempt.
        issuer
            .metadata_at(Needs::Document, t0 + 2 * SECOND)
            .await
            .unwrap();
        assert_eq!(test_issuer.metadata_fetches(), 3);
    }

    #[tokio::test]
    async fn a_document_lacking_what_a_reader_needs_is_kept_but_counts_as_a_failure() {
        let test_issuer = TestIssuer::start().await.unwrap();
        test_issuer.set_metadata(Some(json!({ "issuer": test_issuer.issuer() })));
        let issuer = lazy(&test_issuer);
        let t0 = Instant::now();
        let error = issuer.metadata_at(Needs::JwksUri, t0).await.err();
        assert_eq!(
            error.as_deref(),
            Some(
                format!(
                    "issuer {} publishes no jwks_uri in its metadata",
                    test_issuer.issuer()
                )
                .as_str()
            )
        );
        assert!(
            issuer.metadata_at(Needs::Document, t0).await.is_ok(),
            "kept for the mirror"
        );
        assert!(
            issuer
                .metadata_at(Needs::JwksUri, t0 + SECOND / 2)
                .await
                .is_err()
        );
        assert_eq!(test_issuer.metadata_fetches(), 1, "held by the backoff");
        test_issuer.set_metadata(None);
        assert!(
            issuer
                .metadata_at(Needs::JwksUri, t0 + 2 * SECOND)
                .await
                .is_ok()
        );
        assert_eq!(test_issuer.metadata_fetches(), 2);
    }

    #[tokio::test]
    async fn inline_metadata_is_never_fetched() {
        let test_issuer = TestIssuer::start().await.unwrap();
        let issuer = Arc::new(Issuer::new(test_issuer.inline_config()).unwrap());
        let t0 = Instant::now();
        for at in [Duration::ZERO, 365 * DAY] {
            assert!(issuer.metadata_at(Needs::JwksUri, t0 + at).await.is_ok());
        }
        let error = issuer
            .metadata_at(Needs::IntrospectionEndpoint, t0)
            .await
            .err();
        assert!(error.is_some_and(|e| e.contains("no introspection_endpoint")));
        assert_eq!(test_issuer.metadata_fetches(), 0);
    }
}
