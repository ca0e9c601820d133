//! [`AuthZen`]: a [`DecisionPoint`](super::DecisionPoint) that asks a PDP speaking the OpenID
//! AuthZEN Authorization API 1.0 (final, January 2026): its Access Evaluation endpoint about
//! each call, its Access Evaluations (batch) endpoint about whole lists.
//!
//! - **Endpoints**: given, or read once, on first use, from the PDP's metadata at
//!   `{pdp_url}/.well-known/authzen-configuration`, which must name the PDP asked and keep
//!   its endpoints on the PDP's origin. Without a batch endpoint, lists are asked item by item.
//! - **Questions**: an [`AccessRequest`](super::AccessRequest) as is, with the context
//!   `{"pep": "mcp-auth"}` (Cerbos refuses a batch without a non-empty context); batches carry
//!   each question whole, `evaluations_semantic: execute_all`, at most 50 a call, and must be
//!   answered once per question.
//! - **Decisions** are kept for [`decision_ttl`](AuthZenBuilder::decision_ttl), keyed by the
//!   whole question, at most [`max_decisions`](AuthZenBuilder::max_decisions) of them;
//!   concurrent identical questions make one call. Errors are never kept.
//! - **Fails closed**: an unreachable PDP, an error status, an answer without a boolean
//!   `decision`, or no answer within the [`timeout`](AuthZenBuilder::timeout) is a
//!   [`DecisionError`](super::DecisionError): the bearer layer answers 503, never a pass.
//! - **Credentials** come from a file and are sent as a bearer token; they are never logged.
//!
//! ```
//! use std::time::Duration;
//! use mcp_auth::policy::AuthZen;
//! # use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
//! # let auth = McpAuth::builder()
//! #     .protected_resource(ProtectedResource::new("https://api.example.com/mcp")
//! #         .authorization_server(AuthServerConfig::lazy("https://auth.example.com", AuthServerType::Oidc)))
//! #     .build()?;
//!
//! // A Cerbos beside the server: its endpoints are read from its metadata.
//! let pdp = AuthZen::builder("http://127.0.0.1:3592")
//!     .timeout(Duration::from_millis(500))
//!     .build()?;
//! let bearer = auth.bearer().decision_point(pdp).build()?;
//! # Ok::<(), mcp_auth::ConfigError>(())
//! ```

mod builder;
mod client;
mod credentials;
mod decisions;
mod discovery;
mod messages;

pub use builder::AuthZenBuilder;
pub use client::AuthZen;
