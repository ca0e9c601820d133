//! The settings of userinfo mode, and their checks.

use std::time::Duration;

use crate::error::ConfigError;

/// Google's tokeninfo endpoint, which answers for Google access tokens.
pub(crate) const GOOGLE_TOKENINFO: &str = "https://oauth2.googleapis.com/tokeninfo";

/// GitHub's "get the authenticated user" endpoint.
pub(crate) const GITHUB_USER: &str = "https://api.github.com/user";

/// Calls a second to the provider unless [`UserinfoOptions::max_calls_per_second`] says
/// otherwise.
const DEFAULT_MAX_CALLS_PER_SECOND: u32 = 100;

/// Longest an answer may be kept.
const MAX_CACHE_TTL: Duration = Duration::from_secs(3600);

/// Which provider answers, which decides the request and how its answer is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provider {
    /// An OpenID Provider's UserInfo endpoint (OpenID Connect Core 1.0 §5.3).
    Oidc,
    /// Google's tokeninfo endpoint.
    Google,
    /// GitHub's `GET /user`.
    GitHub,
}

impl Provider {
    /// The constructor that chose it, for error messages.
    pub(crate) fn constructor(self) -> &'static str {
        match self {
            Self::Oidc => "oidc",
            Self::Google => "google",
            Self::GitHub => "github",
        }
    }
}

/// The settings of userinfo mode, for providers whose access tokens are opaque and who offer no
/// introspection (RFC 7662) to resource servers: the resource server asks the provider who the
/// token's user is, with the token itself, and a good answer is the token's proof.
///
/// - [`oidc`](Self::oidc): any OpenID Provider's UserInfo endpoint (from its metadata's
///   `userinfo_endpoint`);
/// - [`google`](Self::google): Google's tokeninfo endpoint, whose answer names the client the
///   token was issued to (`azp`, `aud`): the layer needs
///   [`allowed_client_ids`](crate::bearer::BearerAuthBuilder::allowed_client_ids);
/// - [`github`](Self::github): GitHub's `GET /user` (scopes from `X-OAuth-Scopes`, the OAuth
///   app from `X-OAuth-Client-Id`), optionally restricted to the active members of an
///   organization ([`github_org`](Self::github_org)).
///
/// A UserInfo answer says who the user is, not which client or resource the token was issued
/// for: see [`accept_any_audience`](Self::accept_any_audience) for what that means.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::verify::UserinfoOptions;
///
/// let options = UserinfoOptions::github()
///     .github_org("acme")
///     .cache_ttl(Duration::from_secs(30));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct UserinfoOptions {
    pub(crate) provider: Provider,
    pub(crate) endpoint: Option<String>,
    pub(crate) issuer: Option<String>,
    pub(crate) github_org: Option<String>,
    pub(crate) accept_any_audience: bool,
    pub(crate) cache_ttl: Duration,
    pub(crate) negative_cache_ttl: Duration,
    pub(crate) cache_capacity: usize,
    pub(crate) timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) max_token_bytes: usize,
    pub(crate) max_calls_per_second: u32,
}

impl UserinfoOptions {
    fn new(provider: Provider) -> Self {
        Self {
            provider,
            endpoint: None,
            issuer: None,
            github_org: None,
            accept_any_audience: false,
            cache_ttl: Duration::from_secs(60),
            negative_cache_ttl: Duration::from_secs(5),
            cache_capacity: 10_000,
            timeout: Duration::from_secs(5),
            max_response_bytes: 64 * 1024,
            max_token_bytes: 16 * 1024,
            max_calls_per_second: DEFAULT_MAX_CALLS_PER_SECOND,
        }
    }

    /// An OpenID Provider's UserInfo endpoint (OpenID Connect Core 1.0 §5.3), found as the
    /// `userinfo_endpoint` of the authorization server's metadata: `GET` with the token as
    /// `Authorization: Bearer`; a 200 JSON object with a string `sub` is the user (`sub` the
    /// subject, every member a claim), 401 or 403 refuses the token. UserInfo gives no scopes
    /// and does not say which client the token was issued to, so the layer needs
    /// [`accept_any_audience`](Self::accept_any_audience). Signed UserInfo answers
    /// (`application/jwt`) are not supported.
    ///
    /// With the defaults of every constructor: answers kept 60 s, refusals 5 s, 10 000 answers
    /// in memory, a 5 s timeout, answers up to 64 KiB, tokens up to 16 KiB, at most 100 calls a
    /// second.
    ///
    /// ```
    /// use mcp_auth::verify::UserinfoOptions;
    ///
    /// let options = UserinfoOptions::oidc().accept_any_audience();
    /// # let _ = options;
    /// ```
    pub fn oidc() -> Self {
        Self::new(Provider::Oidc)
    }

    /// Google's tokeninfo endpoint (`https://oauth2.googleapis.com/tokeninfo`), the token
    /// posted as the form parameter `access_token`: `sub` is the subject, `azp` (else `aud`)
    /// the client, `aud` the audience, `scope` the scopes, `exp` the expiry, every member a
    /// claim; 400 (`invalid_token`) refuses the token. A Google access token never names the
    /// resource it is for, so the layer must name your OAuth clients with
    /// [`allowed_client_ids`](crate::bearer::BearerAuthBuilder::allowed_client_ids): without
    /// them, any app's Google token would be accepted, and the layer refuses to build.
    ///
    /// ```
    /// use mcp_auth::verify::UserinfoOptions;
    /// use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
    ///
    /// let auth = McpAuth::builder()
    ///     .protected_resource(ProtectedResource::new("https://mcp.example.com/mcp").authorization_server(
    ///         AuthServerConfig::lazy("https://accounts.google.com", AuthServerType::Oidc),
    ///     ))
    ///     .build()?;
    /// let bearer = auth
    ///     .bearer()
    ///     .userinfo(UserinfoOptions::google())
    ///     .allowed_client_ids(["1234-abc.apps.googleusercontent.com"])
    ///     .without_jwt()
    ///     .build()?;
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn google() -> Self {
        Self::new(Provider::Google)
    }

    /// GitHub's "get the authenticated user" (`GET https://api.github.com/user`, with
    /// `Accept: application/vnd.github+json` and a `User-Agent`, as GitHub requires): the
    /// numeric `id` is the subject (a `login` can change hands), the answer the claims, the
    /// `X-OAuth-Scopes` header the scopes (none for fine-grained tokens), the
    /// `X-OAuth-Client-Id` header, when GitHub sends one (OAuth app tokens), the client; 401
    /// refuses the token. Name your OAuth app's client id with
    /// [`allowed_client_ids`](crate::bearer::BearerAuthBuilder::allowed_client_ids), or accept
    /// tokens of any app with [`accept_any_audience`](Self::accept_any_audience).
    ///
    /// ```
    /// use mcp_auth::verify::UserinfoOptions;
    ///
    /// // GitHub Enterprise Server:
    /// let options = UserinfoOptions::github().endpoint("https://github.example.com/api/v3/user");
    /// # let _ = options;
    /// ```
    pub fn github() -> Self {
        Self::new(Provider::GitHub)
    }

    /// The endpoint, instead of the metadata's `userinfo_endpoint` (OpenID Connect) or the
    /// provider's default: GitHub Enterprise Server's `https://HOST/api/v3/user`, a sovereign
    /// cloud, a loopback test server.
    ///
    /// ```
    /// use mcp_auth::verify::UserinfoOptions;
    ///
    /// let options = UserinfoOptions::oidc().endpoint("https://auth.example.com/userinfo");
    /// # let _ = options;
    /// ```
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Which trusted authorization server answers, by issuer: the issuer of the
    /// [`AuthInfo`](crate::AuthInfo) it vouches for. Required when the resource trusts several.
    ///
    /// ```
    /// use mcp_auth::verify::UserinfoOptions;
    ///
    /// let options = UserinfoOptions::google().issuer("https://accounts.google.com");
    /// # let _ = options;
    /// ```
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// GitHub only: the user must be an active member of this organization
    /// (`GET /user/memberships/orgs/{org}` answers 200 with `"state": "active"`), else the token
    /// is refused. The token needs the `read:org` scope (OAuth apps) or the organization's
    /// "Members" read permission (GitHub Apps). Each new token then costs two calls.
    ///
    /// ```
    /// use mcp_auth::verify::UserinfoOptions;
    ///
    /// let options = UserinfoOptions::github().github_org("acme");
    /// # let _ = options;
    /// ```
    pub fn github_org(mut self, org: impl Into<String>) -> Self {
        self.github_org = Some(org.into());
        self
    }

    /// **A named relaxation of the audience check**: tokens of any client of this provider are
    /// accepted. A UserInfo answer says who the user is, not which client or resource the
    /// token was issued for, so a token the user gave any other app of this provider would
    /// pass here too (that app could replay it). With this, the verifier says the token is for
    /// this layer's audiences; the layer logs the relaxation at `warn` when it is built. For
    /// OpenID Connect (which never names the client) and GitHub (whose fine-grained and
    /// GitHub App tokens come without `X-OAuth-Client-Id`); Google's answers name the client,
    /// so with Google it is refused: use
    /// [`allowed_client_ids`](crate::bearer::BearerAuthBuilder::allowed_client_ids).
    ///
    /// ```
    /// use mcp_auth::verify::UserinfoOptions;
    ///
    /// let options = UserinfoOptions::oidc().accept_any_audience();
    /// # let _ = options;
    /// ```
    pub fn accept_any_audience(mut self) -> Self {
        self.accept_any_audience = true;
        self
    }

    /// How long an accepting answer is reused (never past the token's expiry when the answer
    /// says it; at most one hour): a revoked token is accepted up to this long after its
    /// revocation. Zero reuses none.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcp_auth::verify::UserinfoOptions;
    ///
    /// let options = UserinfoOptions::github().cache_ttl(Duration::from_secs(30));
    /// # let _ = options;
    /// ```
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// How long a refusing answer is reused, so that a flood of bad tokens costs one call per
    /// token per this period. Zero reuses none.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcp_auth::verify::UserinfoOptions;
    ///
    /// let options = UserinfoOptions::github().negative_cache_ttl(Duration::from_secs(10));
    /// # let _ = options;
    /// ```
    pub fn negative_cache_ttl(mut self, ttl: Duration) -> Self {
        self.negative_cache_ttl = ttl;
        self
    }

    /// How many answers are kept in memory (the least used are evicted first); zero keeps
    /// none: every request asks the provider.
    ///
    /// ```
    /// use mcp_auth::verify::UserinfoOptions;
    ///
    /// let options = UserinfoOptions::github().cache_capacity(50_000);
    /// # let _ = options;
    /// ```
    pub fn cache_capacity(mut self, answers: usize) -> Self {
        self.cache_capacity = answers;
        self
    }

    /// Longest one call to the provider may take, answer included.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcp_auth::verify::UserinfoOptions;
    ///
    /// let options = UserinfoOptions::google().timeout(Duration::from_secs(2));
    /// # let _ = options;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Largest answer accepted, in bytes.
    ///
    /// ```
    /// use mcp_auth::verify::UserinfoOptions;
    ///
    /// let options = UserinfoOptions::oidc().max_response_bytes(16 * 1024);
    /// # let _ = options;
    /// ```
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Largest token sent to the provider, in bytes; larger ones are refused without a call.
    ///
    /// ```
    /// use mcp_auth::verify::UserinfoOptions;
    ///
    /// let options = UserinfoOptions::github().max_token_bytes(4 * 1024);
    /// # let _ = options;
    /// ```
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// Most calls a second this layer makes to the provider (100 by default; up to a second's
    /// worth at once). Answers kept in the cache cost no call; past the bound, a token that
    /// needs one is answered 503, so that a flood of made-up tokens, each new, cannot hammer
    /// the provider (or spend the resource server's rate limit there).
    ///
    /// ```
    /// use mcp_auth::verify::UserinfoOptions;
    ///
    /// let options = UserinfoOptions::github().max_calls_per_second(20);
    /// # let _ = options;
    /// ```
    pub fn max_calls_per_second(mut self, calls: u32) -> Self {
        self.max_calls_per_second = calls;
        self
    }

    /// Whether the provider's answers can hold roles: GitHub's `/user` holds only what its
    /// user edits.
    pub(crate) fn answers_hold_roles(&self) -> bool {
        self.provider != Provider::GitHub
    }

    /// Refuses userinfo settings under which no token could pass the audience check, and logs the
    /// relaxation that accepts tokens of any client of the provider.
    pub(crate) fn check_audience(
        &self,
        allowed_clients: &[String],
        resource: &str,
    ) -> Result<(), ConfigError> {
        if self.accept_any_audience {
            tracing::warn!(
                resource,
                provider = self.provider.constructor(),
                "audience check relaxed: tokens of any client of this provider are accepted (UserinfoOptions::accept_any_audience)"
            );
            return Ok(());
        }
        let reason = match self.provider {
            Provider::Google if allowed_clients.is_empty() => {
                "Google access tokens never name this resource, and any app's would be accepted: name your OAuth client ids with BearerAuthBuilder::allowed_client_ids (Google's answer names the token's client in azp and aud)"
            }
            Provider::GitHub if allowed_clients.is_empty() => {
                "GitHub's answers never name this resource: name your OAuth app's client id with BearerAuthBuilder::allowed_client_ids (GitHub names it in X-OAuth-Client-Id), or accept tokens of any app with UserinfoOptions::accept_any_audience"
            }
            Provider::Oidc => {
                "UserInfo answers say neither the client nor the resource a token was issued for, so no token could pass the audience check: accept tokens of any client of this provider with UserinfoOptions::accept_any_audience, or verify JWT access tokens or by introspection instead"
            }
            Provider::Google | Provider::GitHub => return Ok(()),
        };
        Err(ConfigError::invalid_setting(
            "UserinfoOptions",
            self.provider.constructor(),
            reason,
        ))
    }

    /// Refuses settings that contradict themselves, naming the setter at fault.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let invalid = |option: &'static str, reason: &str| {
            Err(ConfigError::invalid_setting(
                "UserinfoOptions",
                option,
                reason,
            ))
        };
        if self.timeout.is_zero() {
            return invalid("timeout", "it must be above zero");
        }
        if self.max_response_bytes == 0 {
            return invalid("max_response_bytes", "it must be above zero");
        }
        if self.max_token_bytes == 0 {
            return invalid("max_token_bytes", "it must be above zero");
        }
        if self.max_calls_per_second == 0 {
            return invalid("max_calls_per_second", "it must be above zero");
        }
        if self.cache_ttl > MAX_CACHE_TTL {
            return invalid(
                "cache_ttl",
                "it is above one hour: revocations must be seen eventually",
            );
        }
        match (&self.github_org, self.provider) {
            (Some(_), Provider::Oidc | Provider::Google) => {
                return invalid(
                    "github_org",
                    "it applies to GitHub only: use UserinfoOptions::github()",
                );
            }
            (Some(org), Provider::GitHub) if !is_github_login(org) => {
                return invalid(
                    "github_org",
                    &format!(
                        "{org:?} is not a GitHub organization name (letters, digits and single hyphens)"
                    ),
                );
            }
            _ => {}
        }
        if self.accept_any_audience && self.provider == Provider::Google {
            return invalid(
                "accept_any_audience",
                "Google's answers name the client the token was issued to: bind tokens to your OAuth clients with BearerAuthBuilder::allowed_client_ids instead",
            );
        }
        Ok(())
    }
}

/// A GitHub account or organization name: letters, digits and hyphens, not at either end nor
/// two in a row, at most 39 characters.
fn is_github_login(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 39
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_logins() {
        assert!(is_github_login("acme-corp"));
        assert!(is_github_login("a1"));
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "a/b",
            "a b",
            "ação",
            &"a".repeat(40),
        ] {
            assert!(!is_github_login(bad), "{bad}");
        }
    }
}
