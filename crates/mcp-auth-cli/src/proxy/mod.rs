//! `mcp-auth proxy`: the bearer layer in front of any MCP server, as a streaming reverse proxy.
//!
//! ```text
//!  MCP client ──▶ [ methods, CORS preflight ]
//!                 [ Origin, bearer token, scopes, per-tool rules, session binding ]
//!                   │ refused: 400/401/403/404/503 with our own WWW-Authenticate
//!                   ▼ accepted
//!                 [ Host, path and body checks, header hygiene ] ──▶ upstream MCP server
//!                   (no Authorization, no hop-by-hop headers; identity and
//!                    X-Forwarded-* headers set by us)  ◀── response streamed back
//! ```
//!
//! - [`args`]: the flags, and the static upstream headers they name;
//! - [`gate`]: what the proxy answers before the layer (methods, CORS preflight, bodies of
//!   `GET` and `DELETE`);
//! - [`headers`]: what goes upstream and what comes back (pure functions);
//! - [`forward`]: the forwarding service, its client pool and its failures (502, 504, 413);
//! - [`server`]: the listener, `/healthz`, the metadata and graceful shutdown.
//!
//! What is per process: the upstream client's connection pool, the layer's key and token caches
//! and its session bindings. Nothing is shared between replicas.

mod args;
mod forward;
mod gate;
mod headers;
mod server;

pub(crate) use args::ProxyArgs;
pub(crate) use server::{check, protection, run};
