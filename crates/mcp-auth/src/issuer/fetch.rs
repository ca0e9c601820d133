//! Fetching JSON documents (metadata, key sets) from authorization servers, and asking policy
//! decision points, bounded: one HTTP client (rustls) for the process, connect and total
//! timeouts, a body-size cap, `http(s)` only, redirects only within the origin.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use http::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use reqwest::redirect;
use url::Url;

use crate::wire::json::{self, Unread};

/// Longest wait for a TCP/TLS connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most redirects followed, all within the first URL's origin.
const MAX_REDIRECTS: usize = 3;

/// Limits of one fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FetchLimits {
    /// Longest a whole fetch may take, body included.
    pub(crate) timeout: Duration,
    /// Largest body accepted, in bytes.
    pub(crate) max_body: usize,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_body: 256 * 1024,
        }
    }
}

/// The wait after failed fetches before the next: doubling from `min` up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub(crate) min: Duration,
    pub(crate) max: Duration,
}

impl Backoff {
    /// The wait after `failures` failed fetches in a row (none after none).
    pub(crate) fn wait(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let doublings = (failures - 1).min(16);
        self.min.saturating_mul(1 << doublings).min(self.max)
    }
}

/// The attempts at fetching one document: when the last one ended, how many failed in a row,
/// and why the last one failed. The backoff counts from the end of an attempt, so one that hung
/// until its timeout is not retried at once.
#[derive(Debug, Default)]
pub(crate) struct Attempts {
    last_ended: Option<Instant>,
    failures: u32,
    last_error: Option<String>,
}

impl Attempts {
    /// Whether `backoff` holds back an attempt at `now`.
    pub(crate) fn backing_off(&self, backoff: &Backoff, now: Instant) -> bool {
        self.last_ended
            .is_some_and(|at| now.saturating_duration_since(at) < backoff.wait(self.failures))
    }

    /// How many attempts failed in a row.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// Why the last attempt failed, unless it worked.
    pub(crate) fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Records the outcome of an attempt begun at `now` that took `took`.
    pub(crate) fn record(&mut self, now: Instant, took: Duration, outcome: Result<(), String>) {
        self.last_ended = now.checked_add(took).or(Some(now));
        match outcome {
            Ok(()) => {
                self.failures = 0;
                self.last_error = None;
            }
            Err(error) => {
                self.failures = self.failures.saturating_add(1);
                self.last_error = Some(error);
            }
        }
    }
}

/// Why a fetch of a metadata document or key set gave no JSON document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The server answered with a status other than 200.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL asked.
        url: String,
        /// The status received.
        status: u16,
    },
    /// The server asks to be called less (429, or GitHub's 403 with `x-ratelimit-remaining: 0`
    /// or `retry-after`): an outage of the caller's making, never an answer about the token.
    #[error("{url} asks to be called less often (rate limited)")]
    RateLimited {
        /// The URL asked.
        url: String,
    },
    /// No answer: connection refused, TLS failure, a redirect off the origin...
    #[error("{url} could not be fetched: {reason}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// No complete answer within the time limit.
    #[error("{url} gave no complete answer within {limit:?}")]
    TimedOut {
        /// The URL asked.
        url: String,
        /// The time limit.
        limit: Duration,
    },
    /// The body is larger than allowed.
    #[error("{url} sent a body larger than {limit} bytes")]
    TooLarge {
        /// The URL asked.
        url: String,
        /// The largest body accepted, in bytes.
        limit: usize,
    },
    /// The body is not JSON.
    #[error("{url} sent a body that is not JSON: {reason}")]
    NotJson {
        /// The URL asked.
        url: String,
        /// What the JSON parser said.
        reason: String,
    },
}

/// Whether `response` says the caller is over a rate limit: 429, or a 403 carrying GitHub's
/// signs of one (`x-ratelimit-remaining: 0`, `retry-after`), which a token's refusal never
/// carries.
fn is_rate_limited(response: &reqwest::Response) -> bool {
    let headers = response.headers();
    match response.status().as_u16() {
        429 => true,
        403 => {
            headers.contains_key(reqwest::header::RETRY_AFTER)
                || headers
                    .get("x-ratelimit-remaining")
                    .is_some_and(|remaining| remaining.as_bytes() == b"0")
        }
        _ => false,
    }
}

impl FetchError {
    /// Whether the server answered, with something that is not the document (a 404, a web
    /// page): discovery then tries its next URL, as MCP clients do.
    pub(crate) fn is_wrong_answer(&self) -> bool {
        matches!(
            self,
            Self::Status { .. } | Self::TooLarge { .. } | Self::NotJson { .. }
        )
    }
}

/// A fetched JSON document, how long the server said it may be cached, and the answer's
/// headers (GitHub says a token's scopes in them).
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) json: serde_json::Value,
    pub(crate) max_age: Option<Duration>,
    pub(crate) headers: http::HeaderMap,
}

/// The `Accept` of every fetch unless the caller names another.
const JSON: &str = "application/json";

/// GETs `url` and parses its body as JSON, within `limits`.
pub(crate) async fn get_json(url: &Url, limits: FetchLimits) -> Result<Fetched, FetchError> {
    json_answer(client(), url, limits, JSON, |client| {
        client.get(url.clone())
    })
    .await
}

/// GETs `url` with these request headers (`Accept` among them, else `application/json`) and
/// parses its body as JSON, within `limits`. Headers carrying a token (`Authorization`) are
/// never part of an error.
pub(crate) async fn get_json_with_headers(
    url: &Url,
    headers: &[(http::HeaderName, &str)],
    limits: FetchLimits,
) -> Result<Fetched, FetchError> {
    let accept = headers
        .iter()
        .find(|(name, _)| *name == ACCEPT)
        .map_or(JSON, |(_, value)| *value);
    json_answer(client(), url, limits, accept, |client| {
        headers
            .iter()
            .filter(|(name, _)| *name != ACCEPT)
            .fold(client.get(url.clone()), |request, (name, value)| {
                request.header(name, *value)
            })
    })
    .await
}

/// [`get_json`] with a client of the caller's, built from [`client_builder`] with limits of its
/// own (where it may connect, say).
#[cfg(feature = "testing")]
pub(crate) async fn get_json_with(
    client: &reqwest::Client,
    url: &Url,
    limits: FetchLimits,
) -> Result<Fetched, FetchError> {
    json_answer(Ok(client), url, limits, JSON, |client| {
        client.get(url.clone())
    })
    .await
}

/// POSTs `form` (`application/x-www-form-urlencoded`) to `url`, with an `Authorization` header
/// when one is given, and parses the answer as JSON, within `limits`.
pub(crate) async fn post_form_json(
    url: &Url,
    form: &[(&str, &str)],
    authorization: Option<&str>,
    limits: FetchLimits,
) -> Result<Fetched, FetchError> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    json_answer(client(), url, limits, JSON, |client| {
        let request = client
            .post(url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        match authorization {
            Some(value) => request.header(AUTHORIZATION, value),
            None => request,
        }
    })
    .await
}

/// How an answer's body is read as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// As serde_json reads it (documents read since before the strict reader).
    Lenient,
    /// With [`wire::json`](crate::wire::json)'s strict reader: a repeated member is refused.
    Strict,
}

impl Reading {
    fn read(self, body: &[u8]) -> Result<serde_json::Value, String> {
        match self {
            Self::Lenient => serde_json::from_slice(body).map_err(|err| err.to_string()),
            Self::Strict => json::parse(body).map_err(|unread| match unread {
                Unread::RepeatedMember => "an object repeats a member".to_owned(),
                Unread::NotJson | Unread::NotBase64Url => "not one JSON value".to_owned(),
            }),
        }
    }
}

/// GETs `url` with an `Authorization` header when one is given (mark it sensitive, so that it
/// is never printed), and reads the answer with the crate's strict JSON reader, within `limits`.
pub(crate) async fn get_strict_json(
    url: &Url,
    authorization: Option<&http::HeaderValue>,
    limits: FetchLimits,
) -> Result<Fetched, FetchError> {
    read_answer(client(), url, limits, JSON, Reading::Strict, |client| {
        with_authorization(client.get(url.clone()), authorization)
    })
    .await
}

/// POSTs `body` (`application/json`) to `url`, with an `Authorization` header when one is given
/// (mark it sensitive), and reads the answer with the crate's strict JSON reader, within
/// `limits`.
pub(crate) async fn post_strict_json(
    url: &Url,
    body: Vec<u8>,
    authorization: Option<&http::HeaderValue>,
    limits: FetchLimits,
) -> Result<Fetched, FetchError> {
    read_answer(client(), url, limits, JSON, Reading::Strict, |client| {
        let request = client
            .post(url.clone())
            .header(CONTENT_TYPE, JSON)
            .body(body);
        with_authorization(request, authorization)
    })
    .await
}

/// `request` with an `Authorization` header when one is given.
fn with_authorization(
    request: reqwest::RequestBuilder,
    authorization: Option<&http::HeaderValue>,
) -> reqwest::RequestBuilder {
    match authorization {
        Some(value) => request.header(AUTHORIZATION, value.clone()),
        None => request,
    }
}

/// Sends the request `build` makes with `client` and parses a 200 answer's body as JSON, within
/// `limits`.
async fn json_answer(
    client: Result<&reqwest::Client, &String>,
    url: &Url,
    limits: FetchLimits,
    accept: &str,
    build: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder,
) -> Result<Fetched, FetchError> {
    read_answer(client, url, limits, accept, Reading::Lenient, build).await
}

/// [`json_answer`], its body read as `reading` says.
async fn read_answer(
    client: Result<&reqwest::Client, &String>,
    url: &Url,
    limits: FetchLimits,
    accept: &str,
    reading: Reading,
    build: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder,
) -> Result<Fetched, FetchError> {
    let unreachable = |reason: String| FetchError::Unreachable {
        url: url.to_string(),
        reason,
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(unreachable(
            "only http and https URLs are fetched".to_owned(),
        ));
    }
    let client = client.map_err(|err| unreachable(err.clone()))?;
    let request = build(client).header(ACCEPT, accept);
    let fetch = async {
        let mut response = request
            .send()
            .await
            .map_err(|err| unreachable(error_chain(&err)))?;
        if response.status() != reqwest::StatusCode::OK {
            if is_rate_limited(&response) {
                return Err(FetchError::RateLimited {
                    url: url.to_string(),
                });
            }
            return Err(FetchError::Status {
                url: url.to_string(),
                status: response.status().as_u16(),
            });
        }
        let headers = response.headers().clone();
        let max_age = response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|value| value.to_str().ok())
            .and_then(max_age);
        let too_large = || FetchError::TooLarge {
            url: url.to_string(),
            limit: limits.max_body,
        };
        if response
            .content_length()
            .is_some_and(|len| len > limits.max_body as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| unreachable(error_chain(&err)))?
        {
            if body.len() + chunk.len() > limits.max_body {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let json = reading.read(&body).map_err(|reason| FetchError::NotJson {
            url: url.to_string(),
            reason,
        })?;
        Ok(Fetched {
            json,
            max_age,
            headers,
        })
    };
    tokio::time::timeout(limits.timeout, fetch)
        .await
        .map_err(|_| FetchError::TimedOut {
            url: url.to_string(),
            limit: limits.timeout,
        })?
}

/// The process's one HTTP client, made on first use.
fn client() -> Result<&'static reqwest::Client, &'static String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            client_builder()
                .build()
                .map_err(|err| format!("the HTTP client could not be built: {err}"))
        })
        .as_ref()
}

/// What every fetching client does: a connect timeout, redirects within the first URL's
/// origin only.
pub(crate) fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(redirect::Policy::custom(same_origin_redirects))
}

fn same_origin_redirects(attempt: redirect::Attempt<'_>) -> redirect::Action {
    let first = attempt.previous().first().map(Url::origin);
    if attempt.previous().len() > MAX_REDIRECTS {
        attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
    } else if first.is_some_and(|origin| origin != attempt.url().origin()) {
        let target = attempt.url().to_string();
        attempt.error(format!("redirect to another origin ({target}) refused"))
    } else {
        attempt.follow()
    }
}

/// `max-age` of a `Cache-Control` value, unless `no-store`/`no-cache` forbid reuse.
fn max_age(cache_control: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in cache_control.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            max_age = seconds
                .trim_matches('"')
                .parse()
                .ok()
                .map(Duration::from_secs);
        }
    }
    max_age
}

/// The error and its causes on one line (reqwest's top-level message alone hides the reason).
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_max_age_and_honours_no_store() {
        assert_eq!(
            max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            max_age("Max-Age=60, must-revalidate"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("max-age=abc"), None);
        assert_eq!(max_age("public"), None);
    }

    #[test]
    fn strict_reading_refuses_a_repeated_member_that_lenient_reading_takes() {
        let body = br#"{"decision":false,"decision":true}"#;
        assert!(Reading::Lenient.read(body).is_ok());
        assert_eq!(
            Reading::Strict.read(body),
            Err("an object repeats a member".to_owned())
        );
        assert!(Reading::Strict.read(b"{} {}").is_err());
    }
}
