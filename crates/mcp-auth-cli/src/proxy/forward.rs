//! The forwarding service behind the bearer layer: one request in, the same request to the
//! upstream, its response streamed back.
//!
//! Bodies are streamed both ways, chunk by chunk: the client's body is read as the upstream
//! reads it, and the upstream's (SSE events included) is written to the client as it comes,
//! only as fast as the client reads it, so neither side makes the proxy buffer more than a
//! chunk. The upstream's own answers, 401 and 403 included, are passed on unchanged: the
//! proxy's refusals come from the layer and always name `resource_metadata`; an upstream's are
//! its own business.
//!
//! | failure | status | `error` |
//! |---|---|---|
//! | Host not allowed (DNS rebinding) | 403 | `forbidden` |
//! | a path leaving the endpoint (`/mcp/../x`) | 400 | `invalid_request` |
//! | body larger than `--max-request-bytes` | 413 | `content_too_large` |
//! | upstream unreachable, or its answer broken | 502 | `bad_gateway` |
//! | no connection within `--upstream-connect-timeout` | 504 | `gateway_timeout` |

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use mcp_auth::AuthInfo;
use url::Url;

use super::headers::{self, IdentityHeaders, Origin};

/// Idle keep-alive connections kept to the upstream: enough for a busy sidecar, bounded so an
/// idle proxy holds few sockets.
const POOL_MAX_IDLE: usize = 32;

/// The forwarding service's settings and its connection pool, shared by every request.
#[derive(Debug)]
pub(crate) struct Upstream {
    client: reqwest::Client,
    url: Url,
    /// The path of the resource identifier: what is below it is appended to `url`'s path.
    resource_path: String,
    /// The public scheme, for `X-Forwarded-Proto`.
    proto: String,
    identity: IdentityHeaders,
    fixed: axum::http::HeaderMap,
    allowed_hosts: Vec<String>,
    max_request_bytes: u64,
}

/// What the proxy needs to know to build an [`Upstream`].
pub(crate) struct UpstreamSettings {
    pub(crate) url: Url,
    pub(crate) resource: Url,
    pub(crate) identity: IdentityHeaders,
    pub(crate) fixed: axum::http::HeaderMap,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) max_request_bytes: u64,
    pub(crate) connect_timeout: Duration,
    /// HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1.
    pub(crate) h2c: bool,
}

impl Upstream {
    /// The client (one pool for the process, no redirects followed: a redirect is the
    /// upstream's answer to pass on, not to act on) and the settings.
    pub(crate) fn new(settings: UpstreamSettings) -> Result<Self, String> {
        let builder = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .pool_max_idle_per_host(POOL_MAX_IDLE)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        // Otherwise HTTP/1.1 to an http:// upstream; an https:// one may choose HTTP/2 by ALPN.
        let builder = match settings.h2c {
            true => builder.http2_prior_knowledge(),
            false => builder,
        };
        let client = builder
            .build()
            .map_err(|err| format!("the upstream client could not be made: {err}"))?;
        Ok(Self {
            client,
            url: settings.url,
            resource_path: settings.resource.path().trim_end_matches('/').to_owned(),
            proto: settings.resource.scheme().to_owned(),
            identity: settings.identity,
            fixed: settings.fixed,
            allowed_hosts: settings.allowed_hosts,
            max_request_bytes: settings.max_request_bytes,
        })
    }

    /// The upstream URL for a request to `path` and `query` on the proxy; `None` when the path
    /// would leave the upstream's base path once normalised (`/mcp/../admin`, `%2e%2e`): a
    /// caller of the resource reaches what is below it, nothing beside it.
    fn target(&self, path: &str, query: Option<&str>) -> Option<Url> {
        let mut url = self.url.clone();
        let below = path.strip_prefix(&self.resource_path).unwrap_or(path);
        let base = self.url.path().trim_end_matches('/');
        if !below.is_empty() {
            url.set_path(&format!("{base}{below}"));
            let inside = url.path() == base
                || url
                    .path()
                    .strip_prefix(base)
                    .is_some_and(|rest| rest.starts_with('/'));
            if !inside {
                return None;
            }
        }
        let query = match (self.url.query(), query) {
            (Some(own), Some(given)) => Some(format!("{own}&{given}")),
            (own, given) => own.or(given).map(str::to_owned),
        };
        url.set_query(query.as_deref());
        Some(url)
    }
}

/// The handler: checks the host and the body's size, forwards, streams the answer back.
pub(crate) async fn forward(State(upstream): State<Arc<Upstream>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if !headers::host_allowed(parts.headers.get(header::HOST), &upstream.allowed_hosts) {
        tracing::warn!("refused a request whose Host header is not allowed (DNS rebinding?)");
        return failure(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the Host header is not one this server answers to",
        );
    }
    if body.size_hint().lower() > upstream.max_request_bytes {
        return too_large(upstream.max_request_bytes);
    }
    // The layer always inserts the caller's identity; without it nothing is forwarded.
    let Some(info) = parts.extensions.get::<Arc<AuthInfo>>() else {
        return failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the request reached the proxy without an identity",
        );
    };
    let original = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |original| &original.0);
    let Some(url) = upstream.target(original.path(), original.query()) else {
        return failure(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the path leaves the MCP endpoint",
        );
    };
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let origin = Origin {
        peer,
        proto: &upstream.proto,
    };
    let sent = headers::to_upstream(
        &parts.headers,
        &upstream.identity,
        info,
        origin,
        &upstream.fixed,
    );

    let mut outgoing = upstream
        .client
        .request(parts.method.clone(), url)
        .headers(sent);
    let overflow = Arc::new(AtomicBool::new(false));
    // A body that is known to be empty (GET, DELETE) is sent as none, not as an empty stream.
    if body.size_hint().exact() != Some(0) {
        outgoing = outgoing.body(limited(body, upstream.max_request_bytes, overflow.clone()));
    }
    match outgoing.send().await {
        Ok(response) => passed_back(response, &parts.method),
        Err(_) if overflow.load(Ordering::Relaxed) => too_large(upstream.max_request_bytes),
        Err(err) => unreachable_upstream(&err),
    }
}

/// The request body as a stream that fails once more than `max` bytes have come, and says so
/// in `overflow`.
fn limited(body: Body, max: u64, overflow: Arc<AtomicBool>) -> reqwest::Body {
    let mut seen: u64 = 0;
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk?;
        seen = seen.saturating_add(chunk.len() as u64);
        if seen > max {
            overflow.store(true, Ordering::Relaxed);
            return Err(axum::Error::new("the request body is larger than allowed"));
        }
        Ok(chunk)
    });
    reqwest::Body::wrap_stream(stream)
}

/// The upstream's response, hop-by-hop headers removed, its body streamed as it comes.
fn passed_back(response: reqwest::Response, method: &axum::http::Method) -> Response {
    let status = response.status();
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        // Not ours: the layer let the request through; the upstream refused it on its own.
        tracing::info!(%status, %method, "the upstream refused an authorized request");
    }
    let response: axum::http::Response<reqwest::Body> = response.into();
    let (mut parts, body) = response.into_parts();
    headers::remove_hop_by_hop(&mut parts.headers);
    Response::from_parts(parts, Body::new(body))
}

/// 502 or 504 for a request the upstream did not answer, with a log line (without the URL's
/// credentials, if it has any).
fn unreachable_upstream(err: &reqwest::Error) -> Response {
    let cause = error_chain(err);
    if err.is_connect() && err.is_timeout() {
        tracing::warn!(error = %cause, "the upstream did not accept a connection in time");
        return failure(
            StatusCode::GATEWAY_TIMEOUT,
            "gateway_timeout",
            "the upstream MCP server did not accept a connection in time",
        );
    }
    tracing::warn!(error = %cause, "the upstream could not be reached");
    failure(
        StatusCode::BAD_GATEWAY,
        "bad_gateway",
        "the upstream MCP server could not be reached or gave no valid answer",
    )
}

/// An error and its causes, on one line, without the URL.
fn error_chain(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// 413 for a body over the limit.
fn too_large(max: u64) -> Response {
    failure(
        StatusCode::PAYLOAD_TOO_LARGE,
        "content_too_large",
        &format!("the request body is larger than {max} bytes"),
    )
}

/// A response of the proxy's own: JSON `{"error", "error_description"}`.
pub(crate) fn failure(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({ "error": error, "error_description": description });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderName;

    fn upstream(url: &str, resource: &str) -> Upstream {
        let name = |n: &'static str| HeaderName::from_static(n);
        Upstream::new(UpstreamSettings {
            url: Url::parse(url).unwrap(),
            resource: Url::parse(resource).unwrap(),
            identity: IdentityHeaders {
                subject: name("x-s"),
                client_id: name("x-c"),
                scopes: name("x-sc"),
                issuer: name("x-i"),
            },
            fixed: Default::default(),
            allowed_hosts: Vec::new(),
            max_request_bytes: 10,
            connect_timeout: Duration::from_secs(1),
            h2c: false,
        })
        .unwrap()
    }

    #[test]
    fn the_path_below_the_resource_goes_below_the_upstream_path() {
        let proxy = upstream("http://10.0.0.1:9000/mcp", "https://api.example.com/mcp");
        let target = |path, query| proxy.target(path, query).unwrap().to_string();
        assert_eq!(target("/mcp", None), "http://10.0.0.1:9000/mcp");
        assert_eq!(target("/mcp", Some("a=1")), "http://10.0.0.1:9000/mcp?a=1");
        assert_eq!(target("/mcp/x/y", None), "http://10.0.0.1:9000/mcp/x/y");
        assert_eq!(target("/mcp/", None), "http://10.0.0.1:9000/mcp/");
        let root = upstream("http://10.0.0.1:9000/?k=v", "https://api.example.com/mcp");
        assert_eq!(
            root.target("/mcp/sse", Some("a=1")).unwrap().to_string(),
            "http://10.0.0.1:9000/sse?k=v&a=1"
        );
        assert_eq!(
            root.target("/mcp", None).unwrap().to_string(),
            "http://10.0.0.1:9000/?k=v"
        );
    }

    #[test]
    fn a_path_that_leaves_the_upstream_base_is_refused() {
        let proxy = upstream("http://10.0.0.1:9000/mcp", "https://api.example.com/mcp");
        for path in [
            "/mcp/../admin",
            "/mcp/%2e%2e/admin",
            "/mcp/x/../../admin",
            "/mcp/.%2E/a",
        ] {
            assert_eq!(proxy.target(path, None), None, "{path}");
        }
        assert_eq!(
            proxy.target("/mcp/x/../y", None).map(|url| url.to_string()),
            Some("http://10.0.0.1:9000/mcp/y".to_owned())
        );
    }
}
