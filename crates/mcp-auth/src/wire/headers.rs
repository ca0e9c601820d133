//! The headers MCP and DPoP add to HTTP, by their lower-case names (header names are
//! case-insensitive; `http` stores them lower-cased).

use http::HeaderName;

/// `Mcp-Method`: the JSON-RPC method of the body (MCP 2026-07-28, SEP-2243).
pub(crate) const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
/// `Mcp-Name`: the tool, prompt or resource the body names (SEP-2243).
pub(crate) const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");
/// `Mcp-Session-Id`: the session a stateful server gave (Streamable HTTP, protocol versions
/// before 2026-07-28).
pub(crate) const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// `DPoP`: the proof of possession that comes with a DPoP-bound token (RFC 9449 §4.1).
pub(crate) const DPOP: HeaderName = HeaderName::from_static("dpop");
/// `DPoP-Nonce`: the nonce a server asks the next proof to carry (RFC 9449 §8).
pub(crate) const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");
