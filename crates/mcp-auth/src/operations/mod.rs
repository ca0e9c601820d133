//! Per-operation authorization: the scopes each MCP operation (a tool, a prompt, a resource, a
//! JSON-RPC method) needs on top of a bearer layer's base scopes, decided in the layer before
//! the MCP server runs, so that a token lacking them gets the MCP step-up answer (403
//! `insufficient_scope` naming every scope the operation needs) instead of a tool error inside
//! an HTTP 200.
//!
//! ```
//! use mcp_auth::operations::OperationRules;
//! # use mcp_auth::{AuthServerConfig, AuthServerType, McpAuth, ProtectedResource};
//! # let auth = McpAuth::builder()
//! #     .protected_resource(ProtectedResource::new("https://api.example.com/mcp")
//! #         .authorization_server(AuthServerConfig::lazy("https://auth.example.com", AuthServerType::Oidc)))
//! #     .build()?;
//!
//! let bearer = auth
//!     .bearer()
//!     .required_scopes(["mcp"]) // every request
//!     .operations(OperationRules::new().tool("delete_repo", ["repo:admin"]))
//!     .build()?;
//! # Ok::<(), mcp_auth::ConfigError>(())
//! ```
//!
//! How a request's operations are found:
//! - `GET` (the SSE stream), `HEAD`, `DELETE` (ending a session) and `OPTIONS` carry no
//!   operation and need the base scopes alone; the body of every other method is read, however
//!   it is spelt (`post`, `PUT`...: some servers upper-case the method or honour
//!   `X-HTTP-Method-Override`, and would run it as a `POST`);
//! - the body is read up to [`OperationRules::max_body_bytes`] (1 MiB by default), for at most
//!   [`OperationRules::body_timeout`] (30 s by default: then 400), and passed on to the MCP
//!   server byte for byte; with no rules the body is never read;
//! - a JSON-RPC batch (protocol 2025-03-26) needs the scopes of all its messages;
//! - `Mcp-Method` and `Mcp-Name` (protocol 2026-07-28), when sent, must agree with the body, or
//!   the request gets HTTP 400 with JSON-RPC error -32020;
//! - a body that cannot be read whole, or is not JSON-RPC (neither a request with an exact
//!   `method` nor a response with an exact `id` and `result` or `error`), or repeats an object
//!   member (parsers disagree on which one wins), or has, in an object the rules read, two
//!   member names equal under case folding or a member spelt like `method`, `params`, `name`,
//!   `uri`... in another case (Go's `encoding/json`, .NET and Jackson match names without
//!   regard to case: CVE-2026-27896), or names a target in a malformed way, is held to the
//!   strictest rule: every scope any rule names;
//! - `completion/complete` needs what its prompt or resource reference needs,
//!   `subscriptions/listen` what every resource it subscribes to needs, and
//!   `resources/directory/read` and `skills/get` what their resource URI needs;
//! - tool, prompt and method names match rules without regard to case; a tool or prompt name
//!   with control characters or surrounding spaces is held to the strictest rule;
//! - resource rules compare only URIs in canonical form, without regard to case and with or
//!   without a trailing `/`: a URI a server could read as another one (a query, a fragment,
//!   `%`-escapes, `;`, `\`, empty, `.` or `..` segments, a `file:` host, anything a URL parser
//!   would rewrite, such as an upper-case scheme or `localhost`) is held to the strictest rule.

mod allow_rules;
mod headers;
mod message;
mod needs;
mod permissions;
mod resource_uri;
mod rules;

pub(crate) use allow_rules::Conditions;
pub(crate) use message::Target;
pub(crate) use needs::{Decided, Grants, Needs, needs};
pub use permissions::Permissions;
pub use rules::{DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY_BYTES, OperationRules};
