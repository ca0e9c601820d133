//! What the proxy answers itself on the MCP endpoint, before the bearer layer looks at a token:
//!
//! - only `GET` (the SSE stream), `POST` (JSON-RPC messages) and `DELETE` (ending a session) are
//!   forwarded, spelt exactly so; any other method gets 405 with `Allow`. The layer decides on
//!   the method a request came with, and servers that upper-case a method or honour an
//!   override would run `post` or `PUT` as a `POST` the layer did not read;
//! - a `GET` or `DELETE` that carries a body gets 400: the layer reads no body of theirs, and a
//!   server that decodes a body whatever the method would run it unchecked;
//! - `OPTIONS` is the CORS preflight, answered here (it carries no token): 204 with the methods
//!   and request headers an MCP client uses, for an `Origin` the layer allows (403 otherwise);
//! - the answers to a request from an allowed `Origin` let that origin read them, and the
//!   headers an MCP client needs (`WWW-Authenticate`, `Mcp-Session-Id`, `DPoP-Nonce`).
//!
//! A request without `Origin` (every client but a browser) costs the gate a few comparisons:
//! no allocation, no boxed future.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::HttpBody;
use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use mcp_auth::bearer::BearerAuthLayer;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::forward::failure;

/// The methods of the `Allow` header.
const ALLOW: HeaderValue = HeaderValue::from_static("GET, POST, DELETE, OPTIONS");
/// The methods a browser may send.
const ALLOW_METHODS: HeaderValue = HeaderValue::from_static("GET, POST, DELETE");
/// The request headers of MCP clients (Streamable HTTP, 2026-07-28 routing headers, DPoP).
const ALLOW_HEADERS: HeaderValue = HeaderValue::from_static(
    "authorization, content-type, accept, dpop, last-event-id, mcp-protocol-version, mcp-session-id, mcp-method, mcp-name",
);
/// The response headers an MCP client in a browser must read.
const EXPOSE_HEADERS: HeaderValue =
    HeaderValue::from_static("WWW-Authenticate, Mcp-Session-Id, DPoP-Nonce");
/// How long a browser may keep a preflight answer, in seconds.
const MAX_AGE: HeaderValue = HeaderValue::from_static("600");

/// The gate in front of the bearer layer, judging `Origin` as that layer does.
#[derive(Clone)]
pub(crate) struct GateLayer {
    bearer: BearerAuthLayer,
}

impl GateLayer {
    pub(crate) fn new(bearer: &BearerAuthLayer) -> Self {
        Self {
            bearer: bearer.clone(),
        }
    }
}

impl<S> Layer<S> for GateLayer {
    type Service = Gate<S>;

    fn layer(&self, inner: S) -> Gate<S> {
        Gate {
            inner,
            bearer: self.bearer.clone(),
        }
    }
}

/// The gate's service: answers what it must itself, passes the rest to `inner`.
#[derive(Clone)]
pub(crate) struct Gate<S> {
    inner: S,
    bearer: BearerAuthLayer,
}

impl<S> Service<Request> for Gate<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = GateFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match answer_before(&self.bearer, &request) {
            Some(answer) => GateFuture::Answered {
                answer: Some(answer),
            },
            None => GateFuture::Passed {
                origin: allowed_origin(&self.bearer, request.headers()),
                future: self.inner.call(request),
            },
        }
    }
}

pin_project! {
    /// The gate's answer, or the inner service's with the CORS headers an allowed `Origin`
    /// needs.
    #[project = GateProjection]
    pub(crate) enum GateFuture<F> {
        Answered { answer: Option<Response> },
        Passed { origin: Option<HeaderValue>, #[pin] future: F },
    }
}

impl<F> Future for GateFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GateProjection::Answered { answer } => {
                let answer = answer.take().unwrap_or_else(|| {
                    failure(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_error",
                        "the gate's answer was polled twice",
                    )
                });
                Poll::Ready(Ok(answer))
            }
            GateProjection::Passed { origin, future } => {
                let Ok(mut response) = std::task::ready!(future.poll(cx));
                if let Some(origin) = origin.take() {
                    let headers = response.headers_mut();
                    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS);
                    headers.append(header::VARY, HeaderValue::from_static("origin"));
                }
                Poll::Ready(Ok(response))
            }
        }
    }
}

/// The gate's own answer to `request`, when it has one.
fn answer_before(bearer: &BearerAuthLayer, request: &Request) -> Option<Response> {
    let method = request.method();
    if method == Method::OPTIONS {
        return Some(preflight(bearer, request.headers()));
    }
    if method != Method::GET && method != Method::POST && method != Method::DELETE {
        let description = "the MCP endpoint takes GET, POST and DELETE only";
        let mut refusal = failure(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            description,
        );
        refusal.headers_mut().insert(header::ALLOW, ALLOW);
        return Some(refusal);
    }
    if method != Method::POST && !request.body().is_end_stream() {
        return Some(failure(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "a GET or DELETE request carries no body",
        ));
    }
    None
}

/// The answer to `OPTIONS`: a CORS preflight answer when it comes with an allowed `Origin`.
fn preflight(bearer: &BearerAuthLayer, headers: &HeaderMap) -> Response {
    if !bearer.permits_origin(headers) {
        return failure(
            StatusCode::FORBIDDEN,
            "forbidden_origin",
            "the Origin header names an origin this server does not allow",
        );
    }
    let mut answer = (StatusCode::NO_CONTENT, [(header::ALLOW, ALLOW)]).into_response();
    if let Some(origin) = allowed_origin(bearer, headers) {
        let answer_headers = answer.headers_mut();
        answer_headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        answer_headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
        answer_headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS);
        answer_headers.insert(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE);
        answer_headers.insert(header::VARY, HeaderValue::from_static("origin"));
    }
    answer
}

/// The request's `Origin`, when it sent one the layer allows.
fn allowed_origin(bearer: &BearerAuthLayer, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    bearer.permits_origin(headers).then(|| origin.clone())
}
