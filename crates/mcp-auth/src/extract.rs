//! [`Auth`] and [`MaybeAuth`]: the caller's [`AuthInfo`] handed to handlers, in axum routes
//! (`FromRequestParts`) and in rmcp tools and prompts (feature `rmcp`).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::auth_info::AuthInfo;

/// The caller's identity, as the bearer layer verified it for this request.
///
/// In an axum handler:
///
/// ```
/// use axum::{Router, routing::post};
/// use mcp_auth::Auth;
///
/// async fn whoami(Auth(info): Auth) -> String {
///     info.subject.clone().unwrap_or_default()
/// }
/// let app: Router = Router::new().route("/mcp", post(whoami)); // .layer(bearer) in a real app
/// ```
///
/// In an rmcp tool it takes no part in the input schema (see [`rmcp`](crate::rmcp)). Without a
/// bearer layer in front of the handler there is no identity: axum answers
/// [`MissingAuthInfo`] (500, naming the fix), rmcp an internal error. The `AuthInfo` is shared
/// (`Arc`): reading it costs nothing, whatever the number of handlers.
#[derive(Debug, Clone)]
pub struct Auth(pub Arc<AuthInfo>);

/// The caller's identity if a bearer layer ran, for handlers that also serve anonymous callers.
///
/// ```
/// use mcp_auth::MaybeAuth;
///
/// async fn greet(MaybeAuth(info): MaybeAuth) -> String {
///     match info.and_then(|info| info.subject.clone()) {
///         Some(subject) => format!("hello {subject}"),
///         None => "hello stranger".to_owned(),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct MaybeAuth(pub Option<Arc<AuthInfo>>);

impl Auth {
    /// The identity in request extensions, if a bearer layer put one there.
    pub(crate) fn from_extensions(extensions: &http::Extensions) -> Option<Self> {
        extensions.get::<Arc<AuthInfo>>().cloned().map(Self)
    }
}

/// The rejection of [`Auth`] when no bearer layer ran for the request: a server
/// misconfiguration, answered 500 with a body that names the fix (never a 401: the client did
/// nothing wrong, and no token would help).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "no AuthInfo in this request: put the mcp-auth bearer layer in front of this handler (BearerAuthLayer::mount, or Router::layer before the route)"
)]
pub struct MissingAuthInfo;

impl IntoResponse for MissingAuthInfo {
    fn into_response(self) -> Response {
        tracing::error!("{self}");
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = MissingAuthInfo;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Self::from_extensions(&parts.extensions).ok_or(MissingAuthInfo)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MaybeAuth {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            Auth::from_extensions(&parts.extensions).map(|Auth(info)| info),
        ))
    }
}
