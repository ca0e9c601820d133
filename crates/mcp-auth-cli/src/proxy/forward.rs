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
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{LengthLimitError, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use mcp_auth::AuthInfo;
use url::Url;

use super::headers::{self, AllowedHosts, IdentityHeaders, Origin, TrustedProxies};

/// Idle keep-alive connections kept to the upstream: enough for a busy sidecar, bounded so an
/// idle proxy holds few sockets.
const POOL_MAX_IDLE: usize = 32;

/// An idle upstream connection is closed after this long.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// The connection pool to the upstream: HTTP/1.1 keep-alive, h2c when asked, TLS by rustls for
/// an https:// upstream. No redirects are followed and no proxy is used: a redirect is the
/// upstream's answer to pass on, not to act on.
type UpstreamClient = Client<HttpsConnector<HttpConnector>, Limited<Body>>;

/// The forwarding service's settings and its connection pool, shared by every request.
#[derive(Debug)]
pub(crate) struct Upstream {
    client: UpstreamClient,
    url: Url,
    /// `scheme://authority` of `url`, to which each request's path and query are appended.
    origin: String,
    /// The path of the resource identifier: what is below it is appended to `url`'s path.
    resource_path: String,
    /// The public scheme, for `X-Forwarded-Proto`, made once.
    proto: HeaderValue,
    identity: IdentityHeaders,
    fixed: axum::http::HeaderMap,
    allowed_hosts: AllowedHosts,
    trusted_proxies: TrustedProxies,
    max_request_bytes: usize,
    response_timeout: Duration,
}

/// What the proxy needs to know to build an [`Upstream`].
pub(crate) struct UpstreamSettings {
    pub(crate) url: Url,
    pub(crate) resource: Url,
    pub(crate) identity: IdentityHeaders,
    pub(crate) fixed: axum::http::HeaderMap,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) max_request_bytes: u64,
    pub(crate) connect_timeout: Duration,
    /// Longest wait for the upstream's response headers once the request is sent.
    pub(crate) response_timeout: Duration,
    /// HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1.
    pub(crate) h2c: bool,
}

impl Upstream {
    /// The connection pool (one for the process) and the settings.
    pub(crate) fn new(settings: UpstreamSettings) -> Result<Self, String> {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(settings.connect_timeout));
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        // Otherwise HTTP/1.1 to an http:// upstream; an https:// one may choose HTTP/2 by ALPN.
        let connector = HttpsConnectorBuilder::new()
            .with_provider_and_platform_verifier(provider)
            .map_err(|err| format!("the upstream's TLS settings could not be made: {err}"))?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(POOL_MAX_IDLE)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .http2_only(settings.h2c)
            .build(connector);
        let url = settings.url;
        let origin = url[..url::Position::BeforePath].to_owned();
        Ok(Self {
            client,
            origin,
            url,
            resource_path: settings.resource.path().trim_end_matches('/').to_owned(),
            // A URL scheme is ASCII letters, digits, `+`, `-` and `.`: always a header value.
            proto: HeaderValue::from_str(settings.resource.scheme())
                .map_err(|_| "the resource's scheme cannot be sent as X-Forwarded-Proto")?,
            identity: settings.identity,
            fixed: settings.fixed,
            allowed_hosts: AllowedHosts::new(&settings.allowed_hosts),
            trusted_proxies: settings.trusted_proxies,
            response_timeout: settings.response_timeout,
            max_request_bytes: usize::try_from(settings.max_request_bytes).unwrap_or(usize::MAX),
        })
    }

    /// The upstream URI for a request to `path` and `query` on the proxy; `None` when the path
    /// below the resource's is not plain (see [`is_plain_below`]): a caller of the resource
    /// reaches what is below it, nothing beside it, however the upstream reads paths.
    fn target(&self, path: &str, query: Option<&str>) -> Option<Uri> {
        let below = path.strip_prefix(&self.resource_path)?;
        let path = match below {
            "" => self.url.path().to_owned(),
            below if is_plain_below(below) => {
                format!("{}{below}", self.url.path().trim_end_matches('/'))
            }
            _ => return None,
        };
        let mut target = format!("{}{path}", self.origin);
        match (self.url.query(), query) {
            (Some(own), Some(given)) => target.extend(["?", own, "&", given]),
            (Some(one), None) | (None, Some(one)) => target.extend(["?", one]),
            (None, None) => {}
        }
        Uri::try_from(target).ok()
    }
}

/// Whether `below`, a path below the resource's, stays below it for every upstream: it starts
/// with `/` and has no `.` or `..` segment, no `;` (Tomcat and Jetty read `..;` as `..`), no
/// `\` (read as `/` by some), and no `%`-escape of `.`, `/`, `\`, `;` or `%` (servers that
/// decode before routing, or decode twice, would see a dot segment or another separator).
/// Such a path is refused, not normalised: normalising it is reading it one way of several.
fn is_plain_below(below: &str) -> bool {
    let Some(segments) = below.strip_prefix('/') else {
        return false;
    };
    let escapes_a_separator = below.as_bytes().windows(3).any(|window| {
        window[0] == b'%'
            && matches!(
                [
                    window[1].to_ascii_lowercase(),
                    window[2].to_ascii_lowercase()
                ],
                [b'2', b'e' | b'f' | b'5'] | [b'5', b'c'] | [b'3', b'b']
            )
    });
    !escapes_a_separator
        && !below.contains([';', '\\'])
        && segments
            .split('/')
            .all(|segment| segment != "." && segment != "..")
}

/// The handler: checks the host and the body's size, forwards, streams the answer back.
pub(crate) async fn forward(State(upstream): State<Arc<Upstream>>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let Ok(host) = requested_host(&parts) else {
        // RFC 9112 §3.2: a request with more than one Host is answered 400.
        return failure(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the request has more than one Host header",
        );
    };
    if !host
        .as_ref()
        .is_some_and(|host| upstream.allowed_hosts.allow(Some(host)))
    {
        tracing::warn!("refused a request whose Host header is not allowed (DNS rebinding?)");
        return failure(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the Host header is not one this server answers to",
        );
    }
    if body.size_hint().lower() > upstream.max_request_bytes as u64 {
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
    let Some(uri) = upstream.target(original.path(), original.query()) else {
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
        host: host.as_ref(),
        trusted: &upstream.trusted_proxies,
    };
    let sent = headers::to_upstream(
        std::mem::take(&mut parts.headers),
        &upstream.identity,
        info,
        origin,
        &upstream.fixed,
    );

    let mut outgoing = axum::http::Request::new(Limited::new(body, upstream.max_request_bytes));
    *outgoing.method_mut() = parts.method.clone();
    *outgoing.uri_mut() = uri;
    *outgoing.headers_mut() = sent;
    let answer = tokio::time::timeout(upstream.response_timeout, upstream.client.request(outgoing));
    match answer.await {
        Ok(Ok(response)) => passed_back(response.map(Body::new), &parts),
        Ok(Err(err)) if caused_by::<LengthLimitError>(&err) => {
            too_large(upstream.max_request_bytes)
        }
        Ok(Err(err)) => unreachable_upstream(&err),
        Err(_) => {
            tracing::warn!(
                timeout_secs = upstream.response_timeout.as_secs_f64(),
                "the upstream sent no response headers in time"
            );
            failure(
                StatusCode::GATEWAY_TIMEOUT,
                "gateway_timeout",
                "the upstream MCP server did not answer in time",
            )
        }
    }
}

/// The host a request asked for: HTTP/2's `:authority` (kept in the URI), else `Host`. When
/// both are sent they must agree (RFC 9113 §8.3.1), or the request names no host; two `Host`
/// headers are an error.
fn requested_host(parts: &axum::http::request::Parts) -> Result<Option<HeaderValue>, ()> {
    let mut hosts = parts.headers.get_all(header::HOST).iter();
    let header = hosts.next();
    if hosts.next().is_some() {
        return Err(());
    }
    let Some(authority) = parts.uri.authority() else {
        return Ok(header.cloned());
    };
    let authority = HeaderValue::from_str(authority.as_str()).ok();
    Ok(match (authority, header) {
        (Some(authority), Some(header)) if authority != header => None,
        (authority, _) => authority,
    })
}

/// The upstream's response in the client's HTTP version, hop-by-hop headers removed, its body
/// streamed as it comes.
fn passed_back(mut response: Response, request: &axum::http::request::Parts) -> Response {
    let status = response.status();
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        // Not ours: the layer let the request through; the upstream refused it on its own.
        let method = &request.method;
        tracing::info!(%status, %method, "the upstream refused an authorized request");
    }
    // The upstream's own version (HTTP/1.0 from some) is of its hop, not the client's.
    *response.version_mut() = request.version;
    headers::remove_hop_by_hop(response.headers_mut());
    response
}

/// 502 or 504 for a request the upstream did not answer, with a log line (without the URL's
/// query, which the error does not carry).
fn unreachable_upstream(err: &hyper_util::client::legacy::Error) -> Response {
    let cause = error_chain(err);
    let timed_out = || {
        causes(err).any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        })
    };
    if err.is_connect() && timed_out() {
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

/// An error and the errors that caused it, outermost first.
fn causes<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |err| err.source())
}

/// Whether an `E` is among the causes of `err`.
fn caused_by<E: std::error::Error + 'static>(err: &hyper_util::client::legacy::Error) -> bool {
    causes(err).any(|cause| cause.is::<E>())
}

/// An error and its causes, on one line.
fn error_chain(err: &hyper_util::client::legacy::Error) -> String {
    causes(err)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

/// 413 for a body over the limit.
fn too_large(max: usize) -> Response {
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
            trusted_proxies: TrustedProxies::default(),
            max_request_bytes: 10,
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
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
    fn a_path_any_upstream_could_read_as_one_beside_the_endpoint_is_refused() {
        let proxy = upstream("http://10.0.0.1:9000/mcp", "https://api.example.com/mcp");
        for path in [
            "/mcp/../admin",
            "/mcp/%2e%2e/admin",
            "/mcp/x/../../admin",
            "/mcp/.%2E/a",
            "/mcpx",
            "/mcp\\..\\admin",
            "/mcp/..;/actuator/env",
            "/mcp/%2e%2e;/x",
            "/mcp/..%2fadmin",
            "/mcp/..%2Fadmin",
            "/mcp/..%5cadmin",
            "/mcp/%252e%252e/admin",
            "/mcp/x;jsessionid=1",
            "/mcp/x/../y",
            "/mcp/./x",
            "/mcp/.",
        ] {
            assert_eq!(proxy.target(path, None), None, "{path}");
        }
        assert_eq!(
            proxy
                .target("/mcp/a%20b/c.d/...x", None)
                .map(|url| url.to_string()),
            Some("http://10.0.0.1:9000/mcp/a%20b/c.d/...x".to_owned())
        );
    }
}
