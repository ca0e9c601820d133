//! What the bearer layer tells operators: every decision traced, counted and auditable, and
//! never a token, a secret or a query string.
//!
//! - **Tracing.** Each request's decision runs in a span `mcp_auth.authorize` (level INFO,
//!   fields `method` and `name` from `Mcp-Method` / `Mcp-Name`, `kid` once a JWT is read), which
//!   also holds the key-set fetches a verification waits for. It ends with one event
//!   `authorization decided`: DEBUG when allowed, INFO when refused, WARN when unavailable, with
//!   `outcome`, `reason` (a [`Reason`] code), `status`, `issuer`, `subject`, `client_id`,
//!   `remote_addr`, `duration_us`, and for refusals `detail` (the description, token cut out).
//!   Key-set fetches log `key set fetched` (INFO: `issuer`, `url`, `why` = `first`, `ttl`,
//!   `unknown_kid` or `retry`, `keys`, `duration_ms`) or `key set refresh failed` (WARN), and the
//!   metadata discovery before them `metadata fetched` (INFO: `issuer`, `url`, `duration_ms`) or
//!   `metadata fetch failed` (WARN).
//! - **Metrics** with the `metrics` feature: see [`metrics`] for names and
//!   labels.
//! - **Audit events.** [`BearerAuthBuilder::audit`](crate::bearer::BearerAuthBuilder::audit)
//!   hands every decision to a hook as an [`AuditEvent`], whose JSON form is stable.
//! - **URLs in messages.** [`redact_userinfo`] hides the `user:password@` of every URL in a
//!   text; the library's own errors that name a URL (configuration, Redis) pass through it.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use mcp_auth::bearer::BearerAuthLayer;
//! use mcp_auth::observe::{AuditEvent, Outcome};
//! use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
//! # use mcp_auth::metadata::AuthorizationServerMetadata;
//! # let mut metadata = AuthorizationServerMetadata::new("https://auth.example.com");
//! # metadata.jwks_uri = Some("https://auth.example.com/jwks".into());
//! # let issuer = AuthServerConfig::new(metadata, AuthServerType::OAuth);
//!
//! let auth = McpAuth::builder()
//!     .protected_resource(
//!         ProtectedResource::new("https://api.example.com/mcp").authorization_server(issuer),
//!     )
//!     .build()?;
//! let refusals = Arc::new(Mutex::new(Vec::new()));
//! let sink = refusals.clone();
//! let layer: BearerAuthLayer = auth
//!     .bearer()
//!     .audit(move |event: &AuditEvent<'_>| {
//!         if event.outcome != Outcome::Allowed {
//!             if let Ok(line) = serde_json::to_string(event) {
//!                 sink.lock().unwrap().push(line);
//!             }
//!         }
//!     })
//!     .build()?;
//! # Ok::<(), mcp_auth::ConfigError>(())
//! ```

mod audit;
pub mod metrics;
mod reason;
mod redact;

pub(crate) use audit::AuditHook;
pub use audit::{AuditEvent, Outcome};
pub use reason::Reason;
pub use redact::redact_userinfo;
