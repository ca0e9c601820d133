//! Bearer token middleware for a protected resource (RFC 6750, MCP authorization spec).
//!
//! [`McpAuth::bearer`](crate::McpAuth::bearer) starts a [`BearerAuthBuilder`]; its
//! [`build`](BearerAuthBuilder::build) gives a [`BearerAuthLayer`] for any tower service.
//!
//! ```
//! use axum::{Router, routing::post};
//! use mcp_auth::{Auth, AuthInfo, AuthServerConfig, AuthServerType, McpAuth, ProtectedResource, VerifyError};
//! use mcp_auth::metadata::AuthorizationServerMetadata;
//!
//! async fn verify(token: String) -> Result<AuthInfo, VerifyError> {
//!     // Ask your authorization server about `token` here.
//!     Err(VerifyError::invalid_token("unknown token"))
//! }
//!
//! # fn main() -> Result<(), mcp_auth::ConfigError> {
//! let auth = McpAuth::builder()
//!     .protected_resource(
//!         ProtectedResource::new("https://api.example.com/mcp")
//!             .authorization_server(AuthServerConfig::new(
//!                 AuthorizationServerMetadata::new("https://auth.example.com"),
//!                 AuthServerType::Oidc,
//!             ))
//!             .scopes_supported(["read", "write"]),
//!     )
//!     .build()?;
//!
//! let bearer = auth
//!     .bearer()
//!     .verifier(verify)
//!     .required_scopes(["read"])
//!     .build()?;
//!
//! let app: Router = Router::new()
//!     .route("/mcp", post(|Auth(info): Auth| async move { info.issuer.clone() }))
//!     .layer(bearer)
//!     .merge(auth.metadata_router());
//! # Ok(()) }
//! ```
//!
//! Refusals, each with a JSON body `{"error", "error_description"}` (but the JSON-RPC errors of
//! a header mismatch, a missing role and a policy denial):
//!
//! | request | status | `WWW-Authenticate` |
//! |---|---|---|
//! | no credentials, another scheme, or a token only in the query string (never read) | 401 | `Bearer [scope=".."], resource_metadata=".."` |
//! | malformed `Authorization`, two of them, a token in the header and the query string | 400 | `Bearer error="invalid_request", ..` |
//! | verifier refused, untrusted issuer, wrong audience, expired | 401 | `Bearer error="invalid_token", ..` |
//! | a required (base) scope missing | 403 | `Bearer error="insufficient_scope", scope="<base scopes>", ..` |
//! | a scope an [operation rule](crate::operations) needs missing (step-up) | 403 | `Bearer error="insufficient_scope", scope="<base and operation scopes>", ..` |
//! | none of the roles a [role rule](crate::operations::OperationRules::tool_roles) allows | 403 | none; body `{"jsonrpc": "2.0", "id": .., "error": {"code": -32003, ..}}` |
//! | a [rule in CEL](crate::operations::OperationRules::tool_rule) or the [decision point](BearerAuthBuilder::decision_point) denies the call | 403 | none; body `{"jsonrpc": "2.0", "id": .., "error": {"code": -32003, "message": "denied by the policy rule <id>"}}` |
//! | `Mcp-Method` / `Mcp-Name` disagree with the body | 400 | none; body `{"jsonrpc": "2.0", "id": .., "error": {"code": -32020, ..}}` |
//! | verifier or decision point unavailable, or no answer within its timeout | 503 | none: never fail open |
//! | `Origin` not allowed | 403 | none: refused before any token check |
//!
//! Browsers' CORS preflights carry no token and are refused like any other request: put a CORS
//! layer outside this one, and if it sets `Access-Control-Expose-Headers` itself (for
//! `Mcp-Session-Id`, say), list `WWW-Authenticate` there too, since its list replaces ours.

mod body;
mod builder;
mod challenge;
mod future;
mod layer;
mod observer;
mod origin;
mod policy;
mod service;
mod token;

pub use body::{RequestBody, ResponseBody};
pub use builder::{BearerAuthBuilder, DEFAULT_LEEWAY, DEFAULT_VERIFIER_TIMEOUT};
#[cfg(fuzzing)]
pub(crate) use challenge::{ChallengeParams, Rejection};
pub use future::ResponseFuture;
pub use layer::BearerAuthLayer;
pub use service::BearerAuth;
