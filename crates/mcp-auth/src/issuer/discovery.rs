//! Finding an authorization server's metadata (RFC 8414, OpenID Connect Discovery 1.0), in the
//! order the MCP authorization spec gives clients, and refusing metadata for another issuer; and
//! how often a trusted server's metadata is discovered again.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use url::Url;

use super::fetch::{Backoff, FetchError, FetchLimits, get_json};
use super::tenants::tenant_in;
pub use super::tenants::{TENANT_PLACEHOLDER, Tenants};
use super::url_rules::{invalid_url, parse_http_url, parse_issuer, parse_metadata_url};
use crate::error::ConfigError;
use crate::error::UrlKind;
use crate::metadata::{AuthServerType, AuthorizationServerMetadata};

const OAUTH_SUFFIX: &str = "/.well-known/oauth-authorization-server";
const OIDC_SUFFIX: &str = "/.well-known/openid-configuration";

/// A function that mends raw metadata before it is read, for providers that publish
/// non-compliant documents.
pub type Transpile = Arc<dyn Fn(&mut Value) + Send + Sync>;

/// How to discover one authorization server.
///
/// ```no_run
/// use mcp_auth::AuthServerType;
/// use mcp_auth::discovery::Discovery;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let discovered = Discovery::new("https://auth.example.com", AuthServerType::Oidc)
///     .transpile(|raw| {
///         // This provider forgets to announce PKCE.
///         raw["code_challenge_methods_supported"] = serde_json::json!(["S256"]);
///     })
///     .fetch()
///     .await?;
/// println!("found at {}", discovered.url);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Discovery {
    issuer: String,
    server_type: AuthServerType,
    well_known_url: Option<String>,
    /// Set for a well-known URL of an issuer without path: a trailing slash may end the issuer.
    root_issuer: bool,
    transpile: Option<Transpile>,
    limits: FetchLimits,
    allow_insecure_http: bool,
    refresh: RefreshPolicy,
    /// A multi-tenant issuer's accepted tenants (`issuer` is then a template).
    tenants: Option<Tenants>,
    /// The issuer clients discover, when not `issuer` (a multi-tenant one's well-known URL's).
    published: Option<String>,
}

/// When a trusted server's metadata is discovered again: after `every`, and after a failure not
/// before the backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RefreshPolicy {
    pub(crate) every: Duration,
    pub(crate) backoff: Backoff,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(24 * 3600),
            backoff: Backoff {
                min: Duration::from_secs(1),
                max: Duration::from_secs(60),
            },
        }
    }
}

/// Metadata that discovery found, and where.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The metadata, after the transpile hook.
    pub metadata: AuthorizationServerMetadata,
    /// The document as received (after the transpile hook), every member kept as it was.
    pub document: serde_json::Value,
    /// The URL that answered.
    pub url: Url,
}

/// Why discovery found no usable metadata.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The issuer or well-known URL is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No candidate URL answered with metadata.
    #[error("no metadata for issuer {issuer}: {}", tried.join("; "))]
    NotFound {
        /// The issuer looked for.
        issuer: String,
        /// Each URL tried and what was wrong with its answer.
        tried: Vec<String>,
    },
    /// The server could not be reached.
    #[error("discovery of {issuer} failed: {error}")]
    Unreachable {
        /// The issuer looked for.
        issuer: String,
        /// What went wrong.
        error: FetchError,
    },
    /// The document names another issuer (RFC 8414 §3.3 requires them to be identical).
    #[error(
        "issuer {expected} returned metadata for {found} at {url}; RFC 8414 §3.3 requires them to be equal"
    )]
    IssuerMismatch {
        /// The issuer asked for.
        expected: String,
        /// The issuer the document names.
        found: String,
        /// The URL that answered.
        url: String,
    },
}

impl Discovery {
    /// Discovery of `issuer`, trying the well-known URLs the MCP authorization spec lists.
    pub fn new(issuer: impl Into<String>, server_type: AuthServerType) -> Self {
        Self {
            issuer: issuer.into(),
            server_type,
            well_known_url: None,
            root_issuer: false,
            transpile: None,
            limits: FetchLimits::default(),
            allow_insecure_http: false,
            refresh: RefreshPolicy::default(),
            tenants: None,
            published: None,
        }
    }

    /// Discovery of a multi-tenant provider: Entra ID's `organizations` or `common` metadata
    /// names the issuer `https://login.microsoftonline.com/{tenantid}/v2.0`, with a literal
    /// `{tenantid}`, and each token's `iss` names its own tenant, also given in `tid`. The
    /// document at `well_known_url` must name `issuer_template` (or the template with one of
    /// `tenants` in place: a tenant's own metadata); a token is trusted when its `iss` is the
    /// template with its own `tid` in place of `{tenantid}` and that tenant is one of
    /// `tenants`. Resource metadata lists the issuer of `well_known_url` (the URL without its
    /// well-known part), which is where clients find the provider.
    ///
    /// ```
    /// use mcp_auth::AuthServerConfig;
    /// use mcp_auth::discovery::{Discovery, Tenants};
    ///
    /// let entra = Discovery::multi_tenant(
    ///     "https://login.microsoftonline.com/{tenantid}/v2.0",
    ///     "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration",
    ///     Tenants::only(["72f988bf-86f1-41af-91ab-2d7cd011db47"]),
    /// )?;
    /// assert_eq!(entra.published_issuer(), "https://login.microsoftonline.com/organizations/v2.0");
    /// let server = AuthServerConfig::lazy_with(entra);
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn multi_tenant(
        issuer_template: impl Into<String>,
        well_known_url: &str,
        tenants: Tenants,
    ) -> Result<Self, ConfigError> {
        let template = issuer_template.into();
        if template.matches(TENANT_PLACEHOLDER).count() != 1 {
            return Err(ConfigError::invalid_setting(
                "Discovery",
                "multi_tenant",
                format!("the issuer template {template:?} must hold {TENANT_PLACEHOLDER} once"),
            ));
        }
        tenants.check()?;
        let at = Self::from_well_known_url(well_known_url)?;
        Ok(Self {
            published: Some(at.issuer.clone()),
            issuer: template,
            root_issuer: false,
            tenants: Some(tenants),
            ..at
        })
    }

    /// The tenants accepted, for a [`multi_tenant`](Self::multi_tenant) issuer.
    pub fn tenants(&self) -> Option<&Tenants> {
        self.tenants.as_ref()
    }

    /// The issuer clients are told to discover: [`issuer`](Self::issuer), except for a
    /// [`multi_tenant`](Self::multi_tenant) one.
    pub fn published_issuer(&self) -> &str {
        self.published.as_deref().unwrap_or(&self.issuer)
    }

    /// Discovery from one well-known metadata URL; the issuer is the URL without its
    /// well-known part, and the document must name exactly that issuer.
    ///
    /// ```
    /// use mcp_auth::discovery::Discovery;
    ///
    /// let discovery = Discovery::from_well_known_url(
    ///     "https://auth.example.com/.well-known/openid-configuration",
    /// )?;
    /// assert_eq!(discovery.issuer(), "https://auth.example.com");
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn from_well_known_url(url: &str) -> Result<Self, ConfigError> {
        let parsed = parse_http_url(UrlKind::WellKnownMetadata, url)?;
        let path = parsed.path();
        let (issuer_path, server_type) = if let Some(rest) = path.strip_prefix(OAUTH_SUFFIX) {
            (rest.to_owned(), AuthServerType::OAuth)
        } else if let Some(rest) = path.strip_prefix(OIDC_SUFFIX) {
            (rest.to_owned(), AuthServerType::Oidc)
        } else if let Some(rest) = path.strip_suffix(OIDC_SUFFIX) {
            (rest.to_owned(), AuthServerType::Oidc)
        } else {
            return Err(invalid_url(
                UrlKind::WellKnownMetadata,
                url,
                format!("its path contains neither {OAUTH_SUFFIX} nor {OIDC_SUFFIX}"),
            ));
        };
        let mut issuer = parsed.clone();
        issuer.set_path(&issuer_path);
        issuer.set_query(None);
        issuer.set_fragment(None);
        // `https://as.example` and `https://as.example/` give the same well-known URL; the
        // document then says which of the two the issuer is.
        let root_issuer = issuer_path.is_empty();
        let issuer = issuer.as_str().trim_end_matches('/').to_owned();
        Ok(Self {
            well_known_url: Some(url.to_owned()),
            root_issuer,
            ..Self::new(issuer, server_type)
        })
    }

    /// Mends the raw document before it is read and validated.
    pub fn transpile(mut self, transpile: impl Fn(&mut Value) + Send + Sync + 'static) -> Self {
        self.transpile = Some(Arc::new(transpile));
        self
    }

    /// Accepts plain `http` issuers and metadata URLs off loopback. Anyone on the path could
    /// then swap the metadata and keys: for test networks only, never in production. Loopback
    /// (`127.0.0.0/8`, `::1`, `localhost`) needs no opt-in.
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure_http = true;
        self
    }

    /// Whether [`allow_insecure_http`](Self::allow_insecure_http) was called.
    pub fn allows_insecure_http(&self) -> bool {
        self.allow_insecure_http
    }

    /// Longest a fetch may take (10 s unless set).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.limits.timeout = timeout;
        self
    }

    /// How long discovered metadata is used before it is discovered again (24 h unless set).
    /// The refresh runs in the background: requests keep using the known document meanwhile,
    /// and keep it if the refresh fails.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcp_auth::AuthServerType;
    /// use mcp_auth::discovery::Discovery;
    ///
    /// let discovery = Discovery::new("https://auth.example.com", AuthServerType::Oidc)
    ///     .refresh_every(Duration::from_secs(3600))
    ///     .retry_backoff(Duration::from_millis(500), Duration::from_secs(30));
    /// ```
    pub fn refresh_every(mut self, every: Duration) -> Self {
        self.refresh.every = every;
        self
    }

    /// Wait after a failed discovery before the next, doubling from `min` up to `max` (1 s and
    /// 60 s unless set): an issuer outage costs one attempt per wait, however many requests
    /// arrive.
    pub fn retry_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.refresh.backoff = Backoff { min, max };
        self
    }

    /// When the metadata is discovered again.
    pub(crate) fn refresh_policy(&self) -> RefreshPolicy {
        self.refresh
    }

    /// Refuses settings that contradict themselves, naming the setter at fault.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let invalid =
            |setting, reason| Err(ConfigError::invalid_setting("Discovery", setting, reason));
        if self.limits.timeout.is_zero() {
            return invalid("timeout", "it is zero, so no fetch could ever finish");
        }
        if self.refresh.every.is_zero() {
            return invalid(
                "refresh_every",
                "it is zero, which would discover the metadata again on every request",
            );
        }
        if self.refresh.backoff.min > self.refresh.backoff.max {
            return invalid("retry_backoff", "the bounds are inverted (min > max)");
        }
        Ok(())
    }

    /// Whether `other` discovers the same way: the same issuer, URL, limits, policy and the
    /// very same transpile hook (closures compare by identity).
    pub(crate) fn same_as(&self, other: &Discovery) -> bool {
        let same_transpile = match (&self.transpile, &other.transpile) {
            (None, None) => true,
            (Some(mine), Some(theirs)) => Arc::ptr_eq(mine, theirs),
            _ => false,
        };
        self.issuer == other.issuer
            && self.server_type == other.server_type
            && self.well_known_url == other.well_known_url
            && self.limits == other.limits
            && self.allow_insecure_http == other.allow_insecure_http
            && self.refresh == other.refresh
            && self.tenants == other.tenants
            && self.published == other.published
            && same_transpile
    }

    /// The well-known URL a root issuer was given by, when it cannot tell whether the issuer
    /// ends with a slash (`https://as.example` or `https://as.example/`): only the document
    /// says, so the issuer is known once discovered, not before.
    pub(crate) fn ambiguous_root_issuer(&self) -> Option<&str> {
        self.well_known_url.as_deref().filter(|_| self.root_issuer)
    }

    /// The issuer being discovered.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Which kind of server this is (reported; the URLs tried are the same for both kinds).
    pub fn server_type(&self) -> AuthServerType {
        self.server_type
    }

    /// The URLs tried, in order: with a path in the issuer, OAuth path-inserted, OpenID
    /// path-inserted, OpenID appended; without one, OAuth then OpenID.
    pub fn candidate_urls(&self) -> Result<Vec<Url>, ConfigError> {
        if let Some(url) = &self.well_known_url {
            return Ok(vec![parse_metadata_url(url, self.allow_insecure_http)?]);
        }
        let issuer = parse_issuer(&self.issuer, self.allow_insecure_http)?;
        let path = issuer.path().trim_end_matches('/');
        let at = |path: String| {
            let mut url = issuer.clone();
            url.set_path(&path);
            url
        };
        Ok(if path.is_empty() {
            vec![at(OAUTH_SUFFIX.to_owned()), at(OIDC_SUFFIX.to_owned())]
        } else {
            vec![
                at(format!("{OAUTH_SUFFIX}{path}")),
                at(format!("{OIDC_SUFFIX}{path}")),
                at(format!("{path}{OIDC_SUFFIX}")),
            ]
        })
    }

    /// Fetches the metadata: the first candidate URL that answers with a metadata document is
    /// used, and that document must name this issuer exactly. A URL that answers with something
    /// else (404, a web page) passes to the next; an unreachable server stops discovery.
    pub async fn fetch(&self) -> Result<Discovered, DiscoveryError> {
        let mut tried = Vec::new();
        for url in self.candidate_urls()? {
            let fetched = match get_json(&url, self.limits).await {
                Ok(fetched) => fetched,
                // Not there, or something that is not metadata (a catch-all web page, say):
                // try the next URL, as MCP clients do.
                Err(error) if error.is_wrong_answer() => {
                    tried.push(error.to_string());
                    continue;
                }
                Err(error) => {
                    return Err(DiscoveryError::Unreachable {
                        issuer: self.issuer.clone(),
                        error,
                    });
                }
            };
            let mut raw = fetched.json;
            if let Some(transpile) = &self.transpile {
                transpile(&mut raw);
            }
            let metadata: AuthorizationServerMetadata = match serde_json::from_value(raw.clone()) {
                Ok(metadata) => metadata,
                Err(err) => {
                    tried.push(format!("{url} is not authorization server metadata: {err}"));
                    continue;
                }
            };
            if !self.is_our_issuer(&metadata.issuer) {
                return Err(DiscoveryError::IssuerMismatch {
                    expected: self.issuer.clone(),
                    found: metadata.issuer,
                    url: url.to_string(),
                });
            }
            return Ok(Discovered {
                metadata,
                document: raw,
                url,
            });
        }
        Err(DiscoveryError::NotFound {
            issuer: self.issuer.clone(),
            tried,
        })
    }

    fn is_our_issuer(&self, found: &str) -> bool {
        if let Some(tenants) = &self.tenants {
            return found == self.issuer
                || tenant_in(&self.issuer, found).is_some_and(|tenant| tenants.allows(tenant));
        }
        found == self.issuer
            || (self.root_issuer && found.strip_suffix('/') == Some(self.issuer.as_str()))
    }
}

impl fmt::Debug for Discovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Discovery")
            .field("issuer", &self.issuer)
            .field("server_type", &self.server_type)
            .field("well_known_url", &self.well_known_url)
            .field("transpile", &self.transpile.is_some())
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("refresh", &self.refresh)
            .field("tenants", &self.tenants)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(issuer: &str) -> Vec<String> {
        Discovery::new(issuer, AuthServerType::OAuth)
            .candidate_urls()
            .unwrap()
            .iter()
            .map(Url::to_string)
            .collect()
    }

    #[test]
    fn an_issuer_without_path_tries_oauth_then_openid() {
        let expected = [
            "https://as.example/.well-known/oauth-authorization-server",
            "https://as.example/.well-known/openid-configuration",
        ];
        assert_eq!(candidates("https://as.example"), expected);
        assert_eq!(candidates("https://as.example/"), expected);
    }

    #[test]
    fn an_issuer_with_a_path_tries_both_insertions_then_appending() {
        assert_eq!(
            candidates("https://as.example/tenant/1"),
            [
                "https://as.example/.well-known/oauth-authorization-server/tenant/1",
                "https://as.example/.well-known/openid-configuration/tenant/1",
                "https://as.example/tenant/1/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn the_issuer_of_a_well_known_url_is_the_url_without_its_well_known_part() {
        let issuer = |url: &str| {
            Discovery::from_well_known_url(url)
                .unwrap()
                .issuer()
                .to_owned()
        };
        assert_eq!(
            issuer("https://as.example/.well-known/oauth-authorization-server"),
            "https://as.example"
        );
        assert_eq!(
            issuer("https://as.example/.well-known/oauth-authorization-server/t1"),
            "https://as.example/t1"
        );
        assert_eq!(
            issuer("https://as.example/.well-known/openid-configuration/t1"),
            "https://as.example/t1"
        );
        assert_eq!(
            issuer("https://as.example/t1/.well-known/openid-configuration"),
            "https://as.example/t1"
        );
        assert!(Discovery::from_well_known_url("https://as.example/metadata.json").is_err());
    }
}
