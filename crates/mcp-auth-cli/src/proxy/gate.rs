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

use axum::Router;
use axum::body::HttpBody;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use mcp_auth::bearer::BearerAuthLayer;

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

/// `endpoint` (the bearer layer and the forwarding behind it) with the gate in front.
pub(crate) fn around(endpoint: Router, bearer: &BearerAuthLayer) -> Router {
    endpoint.layer(middleware::from_fn_with_state(bearer.clone(), gate))
}

async fn gate(State(bearer): State<BearerAuthLayer>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    if method == Method::OPTIONS {
        return preflight(&bearer, request.headers());
    }
    if ![Method::GET, Method::POST, Method::DELETE].contains(&method) {
        let description = "the MCP endpoint takes GET, POST and DELETE only";
        let mut refusal = failure(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            description,
        );
        refusal.headers_mut().insert(header::ALLOW, ALLOW);
        return refusal;
    }
    if method != Method::POST && !request.body().is_end_stream() {
        return failure(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "a GET or DELETE request carries no body",
        );
    }
    let origin = allowed_origin(&bearer, request.headers());
    let mut response = next.run(request).await;
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS);
        headers.append(header::VARY, HeaderValue::from_static("origin"));
    }
    response
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
