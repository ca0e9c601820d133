//! Handing the caller's [`AuthInfo`](crate::AuthInfo) to rmcp tool and prompt handlers: the
//! [`Auth`] and [`MaybeAuth`] extractors work there as in axum.
//!
//! rmcp's Streamable HTTP service copies each request's `http::request::Parts` into the
//! handler's context, so the `AuthInfo` the bearer layer inserted for *this* request is what a
//! handler sees: identity is per request, never per session.
//!
//! ```
//! use mcp_auth::Auth;
//! use rmcp::{tool, tool_router};
//!
//! #[derive(Clone)]
//! struct Server;
//!
//! #[tool_router]
//! impl Server {
//!     #[tool(description = "Who is calling")]
//!     async fn whoami(&self, Auth(info): Auth) -> String {
//!         info.subject.clone().unwrap_or_default()
//!     }
//! }
//! ```

use rmcp::ErrorData;
use rmcp::handler::server::common::{AsRequestContext, FromContextPart};

use crate::extract::{Auth, MaybeAuth, MissingAuthInfo};

impl<C: AsRequestContext> FromContextPart<C> for MaybeAuth {
    fn from_context_part(context: &mut C) -> Result<Self, ErrorData> {
        let info = context
            .as_request_context()
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| Auth::from_extensions(&parts.extensions))
            .map(|Auth(info)| info);
        Ok(Self(info))
    }
}

impl<C: AsRequestContext> FromContextPart<C> for Auth {
    fn from_context_part(context: &mut C) -> Result<Self, ErrorData> {
        match MaybeAuth::from_context_part(context)? {
            MaybeAuth(Some(info)) => Ok(Self(info)),
            MaybeAuth(None) => Err(ErrorData::internal_error(MissingAuthInfo.to_string(), None)),
        }
    }
}
