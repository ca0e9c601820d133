//! Handing the caller's [`AuthInfo`] to rmcp tool and prompt handlers.
//!
//! rmcp's Streamable HTTP service copies each request's `http::request::Parts` into the
//! handler's context, so the `AuthInfo` the bearer layer inserted for *this* request is what a
//! handler sees: identity is per request, never per session.
//!
//! ```
//! use mcp_auth::rmcp::Auth;
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

use std::sync::Arc;

use crate::auth_info::AuthInfo;

/// The caller's identity; refuses the call with an internal error when no bearer layer ran.
///
/// It takes no part in the tool's input schema. The `AuthInfo` is shared (`Arc`): reading it
/// costs nothing, whatever the number of tools called.
#[derive(Debug, Clone)]
pub struct Auth(pub Arc<AuthInfo>);

/// The caller's identity if a bearer layer ran, for handlers that also serve anonymous callers.
#[derive(Debug, Clone)]
pub struct MaybeAuth(pub Option<Arc<AuthInfo>>);

impl<C: AsRequestContext> FromContextPart<C> for MaybeAuth {
    fn from_context_part(context: &mut C) -> Result<Self, ErrorData> {
        let info = context
            .as_request_context()
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Arc<AuthInfo>>())
            .cloned();
        Ok(Self(info))
    }
}

impl<C: AsRequestContext> FromContextPart<C> for Auth {
    fn from_context_part(context: &mut C) -> Result<Self, ErrorData> {
        match MaybeAuth::from_context_part(context)? {
            MaybeAuth(Some(info)) => Ok(Self(info)),
            MaybeAuth(None) => Err(ErrorData::internal_error(
                "no AuthInfo in this request: put the mcp-auth bearer layer in front of the MCP service",
                None,
            )),
        }
    }
}
