//! [`AuthZenBuilder`]: where the PDP is, how it is reached, how long its decisions are kept;
//! every setting checked at [`build`](AuthZenBuilder::build), so that a mistake is a
//! [`ConfigError`] at start, never a 503 at run time.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::client::{AuthZen, Settings};
use super::credentials::Credentials;
use crate::error::{ConfigError, UrlKind};
use crate::issuer::url_rules::parse_http_url;

/// The default [`timeout`](AuthZenBuilder::timeout).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// The default [`decision_ttl`](AuthZenBuilder::decision_ttl).
const DEFAULT_DECISION_TTL: Duration = Duration::from_secs(5);
/// The default [`max_decisions`](AuthZenBuilder::max_decisions).
const DEFAULT_MAX_DECISIONS: usize = 10_000;

/// Builds an [`AuthZen`] client; made by [`AuthZen::builder`].
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::policy::AuthZen;
///
/// let pdp = AuthZen::builder("https://pdp.example.com")
///     .evaluation_endpoint("https://pdp.example.com/access/v1/evaluation")
///     .evaluations_endpoint("https://pdp.example.com/access/v1/evaluations")
///     .timeout(Duration::from_millis(500))
///     .decision_ttl(Duration::from_secs(30))
///     .max_decisions(50_000)
///     .build()?;
/// # Ok::<(), mcp_auth::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct AuthZenBuilder {
    pdp_url: String,
    evaluation_endpoint: Option<String>,
    evaluations_endpoint: Option<String>,
    credentials_file: Option<PathBuf>,
    timeout: Duration,
    decision_ttl: Duration,
    max_decisions: usize,
}

impl AuthZenBuilder {
    /// A builder for the PDP at `pdp_url`, with the defaults.
    pub(super) fn new(pdp_url: String) -> Self {
        Self {
            pdp_url,
            evaluation_endpoint: None,
            evaluations_endpoint: None,
            credentials_file: None,
            timeout: DEFAULT_TIMEOUT,
            decision_ttl: DEFAULT_DECISION_TTL,
            max_decisions: DEFAULT_MAX_DECISIONS,
        }
    }

    /// The Access Evaluation endpoint (`/access/v1/evaluation` on most PDPs). Unless given, it
    /// is read from the PDP's metadata on first use.
    ///
    /// ```
    /// # use mcp_auth::policy::AuthZen;
    /// let pdp = AuthZen::builder("http://127.0.0.1:3592")
    ///     .evaluation_endpoint("http://127.0.0.1:3592/access/v1/evaluation")
    ///     .build()?;
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn evaluation_endpoint(mut self, url: impl Into<String>) -> Self {
        self.evaluation_endpoint = Some(url.into());
        self
    }

    /// The Access Evaluations (batch) endpoint, which filters a list in one call. Unless given,
    /// it is read from the PDP's metadata on first use; a PDP whose metadata names none is
    /// asked about each item of a list in turn.
    ///
    /// ```
    /// # use mcp_auth::policy::AuthZen;
    /// let pdp = AuthZen::builder("http://127.0.0.1:3592")
    ///     .evaluations_endpoint("http://127.0.0.1:3592/access/v1/evaluations")
    ///     .build()?;
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn evaluations_endpoint(mut self, url: impl Into<String>) -> Self {
        self.evaluations_endpoint = Some(url.into());
        self
    }

    /// A file holding the token the PDP expects, sent as `Authorization: Bearer <token>` with
    /// every call (metadata included). Read once, at [`build`](Self::build), surrounding
    /// whitespace trimmed; the token is never logged nor printed by `Debug`.
    ///
    /// ```no_run
    /// # use mcp_auth::policy::AuthZen;
    /// let pdp = AuthZen::builder("https://pdp.example.com")
    ///     .credentials_file("/run/secrets/pdp-token")
    ///     .build()?;
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn credentials_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.credentials_file = Some(path.into());
        self
    }

    /// The longest a call to the PDP may take, connection and answer included (default 2 s).
    /// A call that takes longer is an error: the request is answered 503.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use mcp_auth::policy::AuthZen;
    /// let pdp = AuthZen::builder("http://127.0.0.1:3592")
    ///     .timeout(Duration::from_millis(300))
    ///     .build()?;
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long a decision is reused for the same question (default 5 s); zero keeps none,
    /// so that every call is asked. A policy change reaches callers within this time.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use mcp_auth::policy::AuthZen;
    /// let pdp = AuthZen::builder("http://127.0.0.1:3592")
    ///     .decision_ttl(Duration::ZERO)
    ///     .build()?;
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn decision_ttl(mut self, ttl: Duration) -> Self {
        self.decision_ttl = ttl;
        self
    }

    /// The most decisions kept at once (default 10 000); the least used go first.
    ///
    /// ```
    /// # use mcp_auth::policy::AuthZen;
    /// let pdp = AuthZen::builder("http://127.0.0.1:3592")
    ///     .max_decisions(1_000)
    ///     .build()?;
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn max_decisions(mut self, max_decisions: usize) -> Self {
        self.max_decisions = max_decisions;
        self
    }

    /// The client, its settings checked and its credentials read; nothing is fetched yet.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidSetting`] of `"AuthZen"`, naming the setting at fault: a URL
    /// that is not absolute `http(s)` (or carries credentials or a fragment; the PDP's URL a
    /// query), a credentials file that cannot be read or is empty, a zero timeout or a zero
    /// `max_decisions`.
    ///
    /// ```
    /// use mcp_auth::ConfigError;
    /// use mcp_auth::policy::AuthZen;
    ///
    /// let error = AuthZen::builder("pdp.example.com").build().unwrap_err();
    /// assert!(matches!(
    ///     error,
    ///     ConfigError::InvalidSetting { of: "AuthZen", setting: "builder", .. }
    /// ));
    /// ```
    pub fn build(self) -> Result<AuthZen, ConfigError> {
        let pdp = parse_url("builder", &self.pdp_url)?;
        if pdp.query().is_some() {
            return Err(ConfigError::invalid_setting(
                "AuthZen",
                "builder",
                "the PDP's URL has a query, and its metadata URL is made by appending a path to it: remove the '?...' part",
            ));
        }
        let endpoint = |setting, url: &Option<String>| {
            url.as_deref()
                .map(|url| parse_url(setting, url))
                .transpose()
        };
        let evaluation = endpoint("evaluation_endpoint", &self.evaluation_endpoint)?;
        let evaluations = endpoint("evaluations_endpoint", &self.evaluations_endpoint)?;
        if self.timeout.is_zero() {
            return Err(ConfigError::invalid_setting(
                "AuthZen",
                "timeout",
                "zero leaves no time for any answer: give the PDP a time such as 2 s",
            ));
        }
        if self.max_decisions == 0 {
            return Err(ConfigError::invalid_setting(
                "AuthZen",
                "max_decisions",
                "zero keeps no decision: to keep none, set decision_ttl(Duration::ZERO)",
            ));
        }
        let credentials = self
            .credentials_file
            .as_deref()
            .map(Credentials::read)
            .transpose()?;
        Ok(AuthZen::new(Settings {
            pdp,
            evaluation,
            evaluations,
            credentials,
            timeout: self.timeout,
            decision_ttl: self.decision_ttl,
            max_decisions: self.max_decisions,
        }))
    }
}

/// `url`, an absolute `http(s)` URL without credentials or fragment, for `setting`.
fn parse_url(setting: &'static str, url: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::invalid_setting("AuthZen", setting, reason);
    let parsed = parse_http_url(UrlKind::PolicyDecisionPoint, url).map_err(|err| match err {
        ConfigError::InvalidUrl { url, reason, .. } => {
            invalid(format!("{url:?} is not usable: {reason}"))
        }
        other => other,
    })?;
    if parsed.fragment().is_some() {
        return Err(invalid(format!(
            "{:?} has a fragment, which HTTP never sends: remove the '#...' part",
            crate::observe::redact_userinfo(url)
        )));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting_at_fault(builder: AuthZenBuilder) -> &'static str {
        match builder.build() {
            Err(ConfigError::InvalidSetting {
                of: "AuthZen",
                setting,
                ..
            }) => setting,
            other => panic!("not an AuthZen setting error: {other:?}"),
        }
    }

    #[test]
    fn each_unusable_setting_is_named() {
        let pdp = || AuthZen::builder("http://127.0.0.1:3592");
        assert_eq!(
            setting_at_fault(AuthZen::builder("127.0.0.1:3592")),
            "builder"
        );
        assert_eq!(
            setting_at_fault(AuthZen::builder("ftp://pdp.example.com")),
            "builder"
        );
        assert_eq!(
            setting_at_fault(AuthZen::builder("https://pdp.example.com/?t=1")),
            "builder"
        );
        assert_eq!(
            setting_at_fault(pdp().evaluation_endpoint("/access/v1/evaluation")),
            "evaluation_endpoint"
        );
        assert_eq!(
            setting_at_fault(pdp().evaluations_endpoint("https://pdp.example.com/x#y")),
            "evaluations_endpoint"
        );
        assert_eq!(setting_at_fault(pdp().timeout(Duration::ZERO)), "timeout");
        assert_eq!(setting_at_fault(pdp().max_decisions(0)), "max_decisions");
        assert_eq!(
            setting_at_fault(pdp().credentials_file("/nonexistent/pdp-token")),
            "credentials_file"
        );
        assert!(pdp().decision_ttl(Duration::ZERO).build().is_ok());
    }

    #[test]
    fn a_url_with_credentials_is_refused_without_them_in_the_message() {
        let error = AuthZen::builder("https://user:hunter2@pdp.example.com")
            .build()
            .unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}
