//! Sessions bound to the principal that created them. A session id is not authentication (MCP
//! security best practices): when the MCP server answers a request with a new `Mcp-Session-Id`,
//! the layer remembers whose request it was, and a later request on that session from anyone
//! else gets 404, as if the session did not exist.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use crate::auth_info::AuthInfo;
use crate::error::ConfigError;
use crate::observe::metrics;
use crate::wire::headers::MCP_SESSION_ID;
use crate::wire::token_digest_hex;

/// How sessions are bound to their principal; on by default, bounded in entries and idle time.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::sessions::SessionBinding;
///
/// let binding = SessionBinding::default()
///     .max_sessions(10_000)
///     .idle_timeout(Duration::from_secs(15 * 60));
/// let none = SessionBinding::off(); // a server that keeps no sessions
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionBinding {
    enabled: bool,
    max_sessions: usize,
    idle_timeout: Duration,
}

impl Default for SessionBinding {
    /// On: at most 100 000 sessions remembered, each forgotten after an hour unused.
    fn default() -> Self {
        Self {
            enabled: true,
            max_sessions: 100_000,
            idle_timeout: Duration::from_secs(3600),
        }
    }
}

impl SessionBinding {
    /// No binding: session ids pass through unchecked (for servers without sessions, or
    /// sessions bound some other way).
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// Most sessions remembered (100 000 by default); the least recently used are forgotten
    /// first, and a forgotten session answers 404, so its client starts a new one.
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.max_sessions = sessions;
        self
    }

    /// How long an unused session stays bound (an hour by default); past it, 404.
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Refuses limits under which no session could last.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let invalid = |setting, reason| {
            Err(ConfigError::invalid_setting(
                "SessionBinding",
                setting,
                reason,
            ))
        };
        if self.enabled && self.max_sessions == 0 {
            return invalid(
                "max_sessions",
                "it is zero, so no session could last: raise it, or turn binding off with SessionBinding::off()",
            );
        }
        if self.enabled && self.idle_timeout.is_zero() {
            return invalid(
                "idle_timeout",
                "it is zero, so no session could last: raise it, or turn binding off with SessionBinding::off()",
            );
        }
        Ok(())
    }

    /// The bindings of one layer, or `None` when off.
    pub(crate) fn build(&self) -> Option<Arc<SessionBindings>> {
        self.enabled.then(|| {
            Arc::new(SessionBindings {
                sessions: Cache::new(self.max_sessions.max(1)),
                idle_timeout: self.idle_timeout,
                epoch: Instant::now(),
            })
        })
    }
}

/// Who a request comes from, as far as sessions care: the token's issuer and subject, or its
/// client when it has no subject, or the token itself when it names neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principal(Arc<str>);

impl Principal {
    pub(crate) fn of(info: &AuthInfo) -> Self {
        let who = match (&info.subject, &info.client_id) {
            (Some(subject), _) => format!("{} sub {subject}", info.issuer),
            (None, Some(client)) => format!("{} client {client}", info.issuer),
            (None, None) => {
                format!("token {}", token_digest_hex(&info.token))
            }
        };
        Self(who.into())
    }
}

/// What the layer must do about sessions once the MCP server has answered one request.
pub(crate) struct SessionWatch {
    bindings: Arc<SessionBindings>,
    /// The caller; its principal is worked out only when a session is involved.
    caller: Arc<AuthInfo>,
    /// The session the request was made on, if any.
    session: Option<String>,
    /// Whether the request ends that session (`DELETE`).
    ends_session: bool,
}

impl SessionWatch {
    /// Checks the request's session before the MCP server sees it: `Ok` with what to watch in
    /// the answer, `Err(())` when the session is not the caller's (answered 404).
    pub(crate) fn before(
        bindings: &Arc<SessionBindings>,
        method: &http::Method,
        headers: &http::HeaderMap,
        caller: &Arc<AuthInfo>,
    ) -> Result<Self, ()> {
        let mut ids = headers.get_all(MCP_SESSION_ID).iter();
        let session = match (ids.next(), ids.next()) {
            (None, _) => None,
            (Some(id), None) => {
                let id = id.to_str().map_err(|_| ())?;
                if !bindings.permits(id, &Principal::of(caller), Instant::now()) {
                    return Err(());
                }
                Some(id.to_owned())
            }
            (Some(_), Some(_)) => return Err(()),
        };
        Ok(Self {
            bindings: bindings.clone(),
            caller: caller.clone(),
            ends_session: session.is_some() && method == http::Method::DELETE,
            session,
        })
    }

    /// Binds a session the answer creates to the caller, and forgets one it ends.
    pub(crate) fn after<B>(self, response: &http::Response<B>) {
        match &self.session {
            None => {
                if let Some(id) = response
                    .headers()
                    .get(MCP_SESSION_ID)
                    .and_then(|id| id.to_str().ok())
                {
                    self.bindings
                        .bind(id, Principal::of(&self.caller), Instant::now());
                }
            }
            Some(id) if self.ends_session && response.status().is_success() => {
                self.bindings.forget(id);
            }
            Some(_) => {}
        }
    }
}

/// The sessions one layer has seen created, and by whom.
pub(crate) struct SessionBindings {
    sessions: Cache<String, Arc<Binding>>,
    idle_timeout: Duration,
    /// Times are kept as milliseconds since this instant.
    epoch: Instant,
}

struct Binding {
    principal: Principal,
    last_used_ms: AtomicU64,
}

impl SessionBindings {
    fn millis(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether `principal` may use session `id` at `now`: the session must be known, bound to
    /// it, and used within the idle timeout. Each allowed use counts as use.
    pub(crate) fn permits(&self, id: &str, principal: &Principal, now: Instant) -> bool {
        let Some(binding) = self.sessions.get(id) else {
            return false;
        };
        let idle_ms = self
            .millis(now)
            .saturating_sub(binding.last_used_ms.load(Ordering::Relaxed));
        if Duration::from_millis(idle_ms) > self.idle_timeout {
            self.sessions.remove(id);
            return false;
        }
        if binding.principal != *principal {
            return false;
        }
        binding
            .last_used_ms
            .store(self.millis(now), Ordering::Relaxed);
        true
    }

    /// Binds the new session `id` to `principal`; a session already bound keeps its principal.
    pub(crate) fn bind(&self, id: &str, principal: Principal, now: Instant) {
        if self.sessions.get(id).is_some() {
            return;
        }
        let binding = Binding {
            principal,
            last_used_ms: AtomicU64::new(self.millis(now)),
        };
        self.sessions.insert(id.to_owned(), Arc::new(binding));
        metrics::cache_entries("sessions", self.sessions.len());
    }

    /// Forgets session `id` (it was deleted).
    pub(crate) fn forget(&self, id: &str) {
        self.sessions.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(subject: &str) -> Principal {
        Principal::of(&AuthInfo {
            issuer: "https://as.example".into(),
            subject: Some(subject.into()),
            ..AuthInfo::default()
        })
    }

    #[test]
    fn a_session_serves_its_creator_only_and_expires_when_idle() {
        let bindings = SessionBinding::default()
            .idle_timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let t0 = Instant::now();
        let (alice, bob) = (principal("alice"), principal("bob"));
        assert!(
            !bindings.permits("s1", &alice, t0),
            "unknown sessions are nobody's"
        );
        bindings.bind("s1", alice.clone(), t0);
        assert!(bindings.permits("s1", &alice, t0 + Duration::from_secs(59)));
        assert!(!bindings.permits("s1", &bob, t0 + Duration::from_secs(60)));
        // Use keeps it alive; idleness ends it.
        assert!(bindings.permits("s1", &alice, t0 + Duration::from_secs(110)));
        assert!(!bindings.permits("s1", &alice, t0 + Duration::from_secs(171)));
        bindings.bind("s2", alice.clone(), t0);
        bindings.bind("s2", bob.clone(), t0);
        assert!(
            bindings.permits("s2", &alice, t0),
            "a bound session keeps its principal"
        );
        bindings.forget("s2");
        assert!(!bindings.permits("s2", &alice, t0));
        assert_eq!(
            SessionBinding::default()
                .idle_timeout(Duration::ZERO)
                .check(),
            Err(ConfigError::invalid_setting(
                "SessionBinding",
                "idle_timeout",
                "it is zero, so no session could last: raise it, or turn binding off with SessionBinding::off()"
            ))
        );
        assert_eq!(SessionBinding::off().max_sessions(0).check(), Ok(()));
    }

    #[test]
    fn principals_are_issuer_and_subject_or_client_or_token() {
        let info = |subject: Option<&str>, client: Option<&str>, token: &str| AuthInfo {
            issuer: "https://as.example".into(),
            subject: subject.map(Into::into),
            client_id: client.map(Into::into),
            token: token.into(),
            ..AuthInfo::default()
        };
        assert_eq!(
            Principal::of(&info(Some("alice"), Some("app"), "t1")),
            Principal::of(&info(Some("alice"), Some("other"), "t2")),
            "a refreshed token of the same subject is the same principal"
        );
        assert_ne!(
            Principal::of(&info(None, Some("alice"), "t")),
            Principal::of(&info(Some("alice"), None, "t")),
            "a client id never passes for a subject"
        );
        assert_ne!(
            Principal::of(&info(None, None, "t1")),
            Principal::of(&info(None, None, "t2"))
        );
    }

    #[test]
    fn memory_stays_bounded_under_many_sessions() {
        let bindings = SessionBinding::default()
            .max_sessions(1_000)
            .build()
            .unwrap();
        let t0 = Instant::now();
        let alice = principal("alice");
        for i in 0..100_000 {
            bindings.bind(&format!("session-{i}"), alice.clone(), t0);
        }
        let kept = bindings.sessions.len();
        assert!(kept <= 1_100, "{kept} sessions kept for a bound of 1 000");
        assert!(
            bindings.permits("session-99999", &alice, t0),
            "the newest stays"
        );
    }
}
