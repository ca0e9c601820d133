//! The wire's vocabulary, said once for the whole crate: how JSON that must be trusted is read,
//! how names compare without regard to case (as the most lenient server compares them), the
//! names of the headers MCP and DPoP add to HTTP, the CORS answers, and how a token is known without being
//! kept. Crate-private: what users see of these is the behaviour, not the parts.

pub(crate) mod case_fold;
pub(crate) mod cors;
mod digest;
pub(crate) mod headers;
pub(crate) mod json;

pub(crate) use digest::{token_digest, token_digest_hex};
