//! CORS for what a browser-based MCP client must read: the public metadata documents (any
//! origin, no credentials, so no origin can learn more than any other) and the challenges of a
//! refusal (whose headers a page cannot see unless exposed).

use http::HeaderValue;
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, HeaderName,
};

/// A public document is readable from any origin.
pub(crate) const ANY_ORIGIN: (HeaderName, HeaderValue) =
    (ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));

/// The answer to a preflight for a public document: any origin may `GET` it, with any header,
/// and may remember that for a day.
pub(crate) const PUBLIC_DOCUMENT_PREFLIGHT: [(HeaderName, HeaderValue); 4] = [
    ANY_ORIGIN,
    (
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    ),
    (ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("*")),
    (ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400")),
];

/// `Access-Control-Expose-Headers` of a refusal: its challenge.
pub(crate) const EXPOSE_CHALLENGE: HeaderValue = HeaderValue::from_static("WWW-Authenticate");

/// `Access-Control-Expose-Headers` of a refusal asking for a DPoP nonce: the challenge and the
/// nonce (RFC 9449 §8).
pub(crate) const EXPOSE_CHALLENGE_AND_NONCE: HeaderValue =
    HeaderValue::from_static("WWW-Authenticate, DPoP-Nonce");
