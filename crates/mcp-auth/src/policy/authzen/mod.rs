//! [`AuthZen`]: a [`DecisionPoint`](super::DecisionPoint) that asks a PDP speaking the OpenID
//! AuthZEN Authorization API 1.0 (final, January 2026): its Access Evaluation endpoint about
//! each call, its Access Evaluations (batch) endpoint about whole lists.
//!
//! What it sends, keeps and refuses is told on [`AuthZen`].
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
