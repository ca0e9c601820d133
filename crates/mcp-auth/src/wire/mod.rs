//! The wire's vocabulary, said once for the whole crate: how JSON that must be trusted is read,
//! the names of the headers MCP and DPoP add to HTTP, the CORS answers, and how a token is known without being
//! kept. Crate-private: what users see of these is the behaviour, not the parts.

pub(crate) mod cors;
mod digest;
pub(crate) mod headers;
pub(crate) mod json;

pub(crate) use digest::{token_digest, token_digest_hex};
