//! The userinfo verifier: a token's identity from the cache or the provider, shared by
//! concurrent requests, bounded in calls a second.

use std::sync::Arc;
use std::time::Instant;

use http::HeaderName;
use http::header::{ACCEPT, AUTHORIZATION, USER_AGENT};
use quick_cache::sync::Cache;
use serde_json::{Map, Value};
use url::Url;

use super::options::{GITHUB_USER, GOOGLE_TOKENINFO, Provider, UserinfoOptions};
use crate::auth_info::AuthInfo;
use crate::clock::unix_now;
use crate::error::{ConfigError, UrlKind, VerifyError};
use crate::issuer::fetch::{
    FetchError, FetchLimits, Fetched, get_json_with_headers, post_form_json,
};
use crate::issuer::url_rules::parse_issuer_endpoint;
use crate::issuer::{Issuer, Needs};
use crate::observe::{Reason, metrics};
use crate::scope::{is_scope_token, split_scopes};
use crate::verify::answers::{CallBudget, SingleFlight, TokenDigest};
use crate::verify::mapping::IdentityMapping;
use crate::wire::token_digest;

/// The `User-Agent` of every call (GitHub refuses requests without one).
const USER_AGENT_VALUE: &str = concat!("mcp-auth/", env!("CARGO_PKG_VERSION"));

/// GitHub's scopes of a classic token, comma-separated.
const X_OAUTH_SCOPES: HeaderName = HeaderName::from_static("x-oauth-scopes");
/// The OAuth app a GitHub token was issued to, when it was.
const X_OAUTH_CLIENT_ID: HeaderName = HeaderName::from_static("x-oauth-client-id");
/// The REST API version asked of GitHub.
const X_GITHUB_API_VERSION: HeaderName = HeaderName::from_static("x-github-api-version");

/// What the provider said of a token, and until when (Unix seconds) it may be reused.
#[derive(Clone)]
struct Kept {
    /// The identity, or the refusal.
    outcome: Result<Arc<AuthInfo>, VerifyError>,
    until: u64,
}

/// Verifies opaque tokens by asking one provider who their user is.
pub(crate) struct UserinfoVerifier {
    issuer: Arc<Issuer>,
    options: UserinfoOptions,
    /// The endpoint set or the provider's default; else (OpenID Connect) the issuer's metadata
    /// names it.
    configured: Option<Url>,
    /// The audiences the verifier vouches for with
    /// [`UserinfoOptions::accept_any_audience`]; empty otherwise.
    audiences: Vec<String>,
    /// Answers, in process, until they expire. None with a zero cache capacity.
    kept: Option<Cache<TokenDigest, Kept>>,
    /// Calls under way, so that concurrent requests with one new token share one.
    in_flight: SingleFlight<Result<Kept, VerifyError>>,
    /// The calls a second the provider may get.
    budget: CallBudget,
    /// The layer's part of every `AuthInfo` made here.
    mapping: IdentityMapping,
}

impl UserinfoVerifier {
    /// A verifier asking the server `options` names (or the only one of `servers`), vouching
    /// for `audiences` when told to accept any.
    pub(crate) fn new(
        servers: &[Arc<Issuer>],
        options: UserinfoOptions,
        mapping: IdentityMapping,
        audiences: &[String],
    ) -> Result<Self, ConfigError> {
        options.check()?;
        let issuer = match (&options.issuer, servers) {
            (Some(issuer), _) => servers
                .iter()
                .find(|server| server.issuer() == issuer)
                .ok_or_else(|| {
                    ConfigError::invalid_setting(
                        "UserinfoOptions",
                        "issuer",
                        format!(
                            "{issuer} is not an authorization server of this resource: add it, or name one of them"
                        ),
                    )
                })?,
            (None, [only]) => only,
            (None, _) => {
                return Err(ConfigError::invalid_setting(
                    "UserinfoOptions",
                    "issuer",
                    "the resource trusts several authorization servers: say which one answers for tokens",
                ));
            }
        }
        .clone();
        let configured = configured_endpoint(&issuer, &options)?;
        let capacity = options.cache_capacity;
        Ok(Self {
            budget: CallBudget::new(options.max_calls_per_second),
            kept: (capacity > 0).then(|| Cache::new(capacity)),
            audiences: if options.accept_any_audience {
                audiences.to_vec()
            } else {
                Vec::new()
            },
            issuer,
            options,
            configured,
            in_flight: SingleFlight::default(),
            mapping,
        })
    }

    /// The identity of a token accepted before, while its answer holds.
    pub(crate) fn remembered(&self, token: &str) -> Option<Arc<AuthInfo>> {
        if token.len() > self.options.max_token_bytes {
            return None;
        }
        let kept = self.kept.as_ref()?.get(&token_digest(token))?;
        match kept.outcome {
            Ok(info) if kept.until > unix_now() => Some(info),
            _ => None,
        }
    }

    /// The identity behind `token`, from a kept answer or the provider.
    pub(crate) async fn verify(&self, token: &str) -> Result<Arc<AuthInfo>, VerifyError> {
        if token.len() > self.options.max_token_bytes {
            return Err(VerifyError::invalid_token(format!(
                "the token is larger than {} bytes",
                self.options.max_token_bytes
            ))
            .with_reason(Reason::MalformedToken));
        }
        let key = token_digest(token);
        let kept = self
            .kept
            .as_ref()
            .and_then(|kept| kept.get(&key))
            .filter(|kept| kept.until > unix_now());
        let kept = match kept {
            Some(kept) => kept,
            None => {
                self.in_flight
                    .run(key, || async {
                        let kept = self.ask(token).await?;
                        if let Some(cache) = self.kept.as_ref().filter(|_| kept.until > unix_now())
                        {
                            cache.insert(key, kept.clone());
                            metrics::cache_entries("userinfo", cache.len());
                        }
                        Ok(kept)
                    })
                    .await?
            }
        };
        kept.outcome
    }

    /// Asks the provider about `token`: an identity or a refusal to keep, or why the provider
    /// could not say (503, never kept).
    async fn ask(&self, token: &str) -> Result<Kept, VerifyError> {
        let endpoint = self.endpoint().await?;
        let now = unix_now();
        let refused = |error: VerifyError| Kept {
            outcome: Err(error),
            until: now.saturating_add(self.options.negative_cache_ttl.as_secs()),
        };
        let fetched = match self.call(&endpoint, token).await? {
            Ok(fetched) => fetched,
            Err(refusal) => return Ok(refused(refusal)),
        };
        let Value::Object(members) = fetched.json else {
            return Err(VerifyError::unavailable(format!(
                "the {} endpoint answered JSON that is not an object",
                self.options.provider.constructor()
            )));
        };
        let (mut info, exp) = match self.options.provider {
            Provider::Oidc => oidc_identity(members)?,
            Provider::Google => match google_identity(members) {
                Ok(found) => found,
                Err(Unusable::Refused(refusal)) => return Ok(refused(refusal)),
                Err(Unusable::Unavailable(error)) => return Err(error),
            },
            Provider::GitHub => match github_identity(members, &fetched.headers) {
                Ok(found) => found,
                Err(Unusable::Refused(refusal)) => return Ok(refused(refusal)),
                Err(Unusable::Unavailable(error)) => return Err(error),
            },
        };
        if let Some(org) = &self.options.github_org
            && let Some(refusal) = self.github_membership(&endpoint, token, org).await?
        {
            return Ok(refused(refusal));
        }
        token.clone_into(&mut info.token);
        info.issuer = self.issuer.issuer().to_owned();
        if info.audience.is_empty() {
            info.audience.clone_from(&self.audiences);
        }
        if let Err(refusal) = self.mapping.apply(&mut info) {
            return Ok(refused(refusal));
        }
        let until = now.saturating_add(self.options.cache_ttl.as_secs());
        Ok(Kept {
            outcome: Ok(Arc::new(info)),
            until: exp.map_or(until, |exp| exp.min(until)),
        })
    }

    /// One call to the provider's endpoint with `token`: the answer, a refusal (the provider
    /// does not know the token), or why it could not be asked.
    async fn call(
        &self,
        endpoint: &Url,
        token: &str,
    ) -> Result<Result<Fetched, VerifyError>, VerifyError> {
        self.take_budget()?;
        let limits = self.limits();
        let bearer = format!("Bearer {token}");
        let fetched = match self.options.provider {
            // The token goes in the body, never in the URL (which errors and logs show).
            Provider::Google => {
                post_form_json(endpoint, &[("access_token", token)], None, limits).await
            }
            Provider::Oidc => {
                let headers = [
                    (AUTHORIZATION, bearer.as_str()),
                    (USER_AGENT, USER_AGENT_VALUE),
                ];
                get_json_with_headers(endpoint, &headers, limits).await
            }
            Provider::GitHub => {
                get_json_with_headers(endpoint, &github_headers(&bearer), limits).await
            }
        };
        match fetched {
            Ok(fetched) => Ok(Ok(fetched)),
            Err(FetchError::Status { status, .. }) if self.refuses(status) => Ok(Err(
                VerifyError::invalid_token("the provider does not know the token")
                    .with_reason(Reason::Inactive),
            )),
            Err(error) => Err(VerifyError::unavailable(format!(
                "the {} endpoint could not vouch for the token: {error}",
                self.options.provider.constructor()
            ))),
        }
    }

    /// Whether a status means the provider refuses the token: 401 and 403 (RFC 6750 §3.1,
    /// OpenID Connect Core §5.3.3, GitHub), and Google's 400 `invalid_token`.
    fn refuses(&self, status: u16) -> bool {
        matches!(status, 401 | 403) || (status == 400 && self.options.provider == Provider::Google)
    }

    /// Whether the token's user is an active member of `org`: `None` when so, else the
    /// refusal.
    async fn github_membership(
        &self,
        endpoint: &Url,
        token: &str,
        org: &str,
    ) -> Result<Option<VerifyError>, VerifyError> {
        let mut url = endpoint.clone();
        url.path_segments_mut()
            .map_err(|()| VerifyError::unavailable("the GitHub endpoint cannot have a path"))?
            .pop_if_empty()
            .extend(["memberships", "orgs", org]);
        self.take_budget()?;
        let bearer = format!("Bearer {token}");
        let not_member = || {
            VerifyError::invalid_token(format!(
                "the user is not an active member of the GitHub organization {org}"
            ))
            .with_reason(Reason::UntrustedIssuer)
        };
        match get_json_with_headers(&url, &github_headers(&bearer), self.limits()).await {
            Ok(fetched) if fetched.json.get("state").and_then(Value::as_str) == Some("active") => {
                Ok(None)
            }
            // Pending (invited), or not a member (404), or not allowed to know (403: the token
            // lacks `read:org`).
            Ok(_)
            | Err(FetchError::Status {
                status: 403 | 404, ..
            }) => Ok(Some(not_member())),
            Err(FetchError::Status { status: 401, .. }) => Ok(Some(
                VerifyError::invalid_token("the provider does not know the token")
                    .with_reason(Reason::Inactive),
            )),
            Err(error) => Err(VerifyError::unavailable(format!(
                "the GitHub organization membership could not be checked: {error}"
            ))),
        }
    }

    /// Takes one call from the budget, or says the provider has had enough this second.
    fn take_budget(&self) -> Result<(), VerifyError> {
        if self.budget.take(Instant::now()) {
            return Ok(());
        }
        tracing::debug!(
            issuer = %self.issuer.issuer(),
            "userinfo calls over their bound: a token answered 503"
        );
        Err(VerifyError::unavailable(format!(
            "more than {} userinfo calls a second: try again shortly",
            self.options.max_calls_per_second
        )))
    }

    fn limits(&self) -> FetchLimits {
        FetchLimits {
            timeout: self.options.timeout,
            max_body: self.options.max_response_bytes,
        }
    }

    /// The endpoint configured, or the one the issuer's metadata names.
    async fn endpoint(&self) -> Result<Url, VerifyError> {
        if let Some(configured) = &self.configured {
            return Ok(configured.clone());
        }
        let unavailable =
            |reason: &str| VerifyError::unavailable(format!("no userinfo endpoint yet: {reason}"));
        let metadata = self
            .issuer
            .metadata(Needs::UserinfoEndpoint)
            .await
            .map_err(|reason| unavailable(&reason))?;
        Ok(metadata.userinfo_endpoint().map_err(unavailable)?.clone())
    }
}

/// The request headers GitHub's REST API asks for.
fn github_headers(bearer: &str) -> [(HeaderName, &str); 4] {
    [
        (AUTHORIZATION, bearer),
        (ACCEPT, "application/vnd.github+json"),
        (USER_AGENT, USER_AGENT_VALUE),
        (X_GITHUB_API_VERSION, "2022-11-28"),
    ]
}

/// Why an answer gives no identity: the token is refused, or the answer is unusable (503).
enum Unusable {
    Refused(VerifyError),
    Unavailable(VerifyError),
}

/// An OpenID Connect UserInfo answer (Core §5.3.2): `sub` is required, every member a claim.
fn oidc_identity(members: Map<String, Value>) -> Result<(AuthInfo, Option<u64>), VerifyError> {
    let Some(Value::String(sub)) = members.get("sub") else {
        return Err(VerifyError::unavailable(
            "the UserInfo answer has no string sub (OpenID Connect Core §5.3.2)",
        ));
    };
    let mut info = AuthInfo::default().with_subject(sub.clone());
    info.claims = members;
    Ok((info, None))
}

/// A Google tokeninfo answer: `sub`, `azp`, `aud`, `scope` (space-separated), `exp` (seconds,
/// as a string), every member a claim.
fn google_identity(members: Map<String, Value>) -> Result<(AuthInfo, Option<u64>), Unusable> {
    let malformed = |member: &str| {
        Unusable::Unavailable(VerifyError::unavailable(format!(
            "the tokeninfo answer's {member} is not what Google sends"
        )))
    };
    let string = |member: &str| match members.get(member) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(malformed(member)),
    };
    let subject = string("sub")?;
    let aud = string("aud")?;
    let client_id = string("azp")?.or_else(|| aud.clone());
    let scopes = match string("scope")? {
        None => Vec::new(),
        Some(list) => split_scopes(&list).ok_or_else(|| {
            Unusable::Refused(
                VerifyError::invalid_token(
                    "the scope claim has a scope outside RFC 6749's character set",
                )
                .with_reason(Reason::MalformedToken),
            )
        })?,
    };
    let exp = match members.get("exp") {
        None => None,
        Some(Value::String(seconds)) => Some(seconds.parse().map_err(|_| malformed("exp"))?),
        Some(Value::Number(seconds)) => Some(seconds.as_u64().ok_or_else(|| malformed("exp"))?),
        Some(_) => return Err(malformed("exp")),
    };
    let mut info = AuthInfo {
        subject,
        client_id,
        scopes,
        audience: aud.into_iter().collect(),
        expires_at: exp,
        ..AuthInfo::default()
    };
    info.claims = members;
    Ok((info, exp))
}

/// A GitHub `GET /user` answer: the numeric `id` is the subject, the answer the claims, the
/// scopes and the OAuth app from the response headers.
fn github_identity(
    members: Map<String, Value>,
    headers: &http::HeaderMap,
) -> Result<(AuthInfo, Option<u64>), Unusable> {
    let Some(id) = members.get("id").and_then(Value::as_u64) else {
        return Err(Unusable::Unavailable(VerifyError::unavailable(
            "the GitHub user has no numeric id",
        )));
    };
    let header = |name: &HeaderName| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };
    let scopes = header(&X_OAUTH_SCOPES)
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|scope| !scope.is_empty())
                .map(|scope| {
                    if is_scope_token(scope) {
                        Ok(scope.to_owned())
                    } else {
                        Err(Unusable::Refused(
                            VerifyError::invalid_token(
                                "X-OAuth-Scopes has a scope outside RFC 6749's character set",
                            )
                            .with_reason(Reason::MalformedToken),
                        ))
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let mut info = AuthInfo {
        subject: Some(id.to_string()),
        client_id: header(&X_OAUTH_CLIENT_ID).map(str::to_owned),
        scopes,
        ..AuthInfo::default()
    };
    info.claims = members;
    Ok((info, None))
}

/// The endpoint set, or the provider's default: refuses an unusable URL, a GitHub endpoint
/// whose organization memberships cannot be found next to it, and (OpenID Connect) metadata
/// known now that names no usable `userinfo_endpoint` when none is set. `None`: the metadata,
/// when discovered, names it.
fn configured_endpoint(
    issuer: &Issuer,
    options: &UserinfoOptions,
) -> Result<Option<Url>, ConfigError> {
    let config = issuer.config();
    let url = match (&options.endpoint, options.provider) {
        (Some(url), _) => url.as_str(),
        (None, Provider::Google) => GOOGLE_TOKENINFO,
        (None, Provider::GitHub) => GITHUB_USER,
        (None, Provider::Oidc) => match config.metadata() {
            None => return Ok(None),
            Some(metadata) => {
                let endpoint = metadata.userinfo_endpoint.as_deref();
                let url = endpoint.ok_or_else(|| {
                    ConfigError::invalid_setting(
                        "UserinfoOptions",
                        "endpoint",
                        format!(
                            "authorization server {} has no userinfo_endpoint in its metadata: set UserinfoOptions::endpoint",
                            config.issuer()
                        ),
                    )
                })?;
                return parse_issuer_endpoint(
                    UrlKind::UserinfoEndpoint,
                    config.issuer(),
                    url,
                    config.allows_insecure_http(),
                )
                .map(|_| None);
            }
        },
    };
    let url = parse_issuer_endpoint(
        UrlKind::UserinfoEndpoint,
        config.issuer(),
        url,
        config.allows_insecure_http(),
    )?;
    if options.github_org.is_some()
        && url.path().trim_end_matches('/').rsplit('/').next() != Some("user")
    {
        return Err(ConfigError::invalid_setting(
            "UserinfoOptions",
            "github_org",
            format!(
                "the endpoint {url} is not GitHub's /user, next to which organization memberships are found (/user/memberships/orgs/ORG)"
            ),
        ));
    }
    Ok(Some(url))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn google_answers_name_the_client_audience_scopes_and_expiry() {
        let answer = object(json!({
            "azp": "web.apps.googleusercontent.com",
            "aud": "web.apps.googleusercontent.com",
            "sub": "1057",
            "scope": "openid https://www.googleapis.com/auth/userinfo.email",
            "exp": "1700000000",
            "expires_in": "3599",
        }));
        let Ok((info, exp)) = google_identity(answer) else {
            panic!("refused");
        };
        assert_eq!(info.subject.as_deref(), Some("1057"));
        assert_eq!(
            info.client_id.as_deref(),
            Some("web.apps.googleusercontent.com")
        );
        assert_eq!(info.audience, ["web.apps.googleusercontent.com"]);
        assert_eq!(info.scopes.len(), 2);
        assert_eq!(exp, Some(1_700_000_000));
        assert!(matches!(
            google_identity(object(json!({ "exp": "soon" }))),
            Err(Unusable::Unavailable(_))
        ));
    }

    #[test]
    fn github_scopes_come_from_the_header_and_the_id_is_the_subject() {
        let mut headers = http::HeaderMap::new();
        headers.insert(X_OAUTH_SCOPES, "repo, read:org".parse().unwrap());
        let Ok((info, _)) = github_identity(object(json!({ "id": 42, "login": "octo" })), &headers)
        else {
            panic!("refused");
        };
        assert_eq!(info.subject.as_deref(), Some("42"));
        assert_eq!(info.scopes, ["repo", "read:org"]);
        assert_eq!(info.client_id, None);
        assert!(matches!(
            github_identity(object(json!({ "login": "octo" })), &headers),
            Err(Unusable::Unavailable(_))
        ));
    }
}
