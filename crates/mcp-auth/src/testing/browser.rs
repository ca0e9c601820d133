//! What the test issuer lets web pages do. It runs on this machine, so any page the user opens
//! could call it: by DNS rebinding (a name of the page's site pointed at 127.0.0.1), or
//! cross-origin with CORS.
//!
//! - **Host.** Only requests for the issuer's own authority (`127.0.0.1:PORT`, as its
//!   identifier says) are answered; any other `Host` gets 421 Misdirected Request, so a page
//!   whose own name was rebound to 127.0.0.1 reads nothing.
//! - **CORS, public documents.** The metadata and the key set may be read by any origin
//!   (`Access-Control-Allow-Origin: *`): they are public.
//! - **CORS, registration and token endpoints.** Browser-based MCP clients, such as the MCP
//!   Inspector's web UI on `http://localhost:6274`, register and redeem codes with `fetch`, so
//!   pages on this machine get CORS there: an `Origin` whose host is loopback (`localhost`,
//!   `127.0.0.0/8`, `[::1]`), echoed. A request from any other page (another origin, or
//!   `null`) is refused (403) before it is looked at: a web site must not register clients,
//!   redeem codes or use a client secret here, even blindly.
//! - Nothing else answers CORS: the authorization endpoint is navigated to, not fetched, and
//!   introspection is for resource servers.

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::endpoint::error;
use crate::issuer::url_rules::is_loopback;

/// Whether a request is for `authority` (`host:port`, the issuer's): its `Host` header (one at
/// most) and the authority of its target (an absolute-form or HTTP/2 request), whichever it
/// has, must name it.
pub(crate) fn for_authority(headers: &HeaderMap, uri: &Uri, authority: &str) -> bool {
    let mut hosts = headers.get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => return false,
        (Some(host), None) => match host.to_str() {
            Ok(host) => Some(host),
            Err(_) => return false,
        },
        (None, _) => None,
    };
    let target = uri.authority().map(|target| target.as_str());
    if host.is_none() && target.is_none() {
        return false;
    }
    [host, target]
        .into_iter()
        .flatten()
        .all(|named| named.eq_ignore_ascii_case(authority))
}

/// 421 for a request naming another authority.
pub(crate) fn misdirected(authority: &str) -> Response {
    let body = format!(
        "this test issuer answers requests for {authority} only (Host); another name pointing \
         at this machine is refused, against DNS rebinding"
    );
    (StatusCode::MISDIRECTED_REQUEST, body).into_response()
}

/// The CORS rule of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cors {
    /// A public document: any origin.
    Public,
    /// Registration and token endpoints: pages on this machine only.
    ThisMachine,
}

impl Cors {
    /// `response` with the CORS header this rule gives the request's `Origin`.
    pub(crate) fn apply(self, headers: &HeaderMap, mut response: Response) -> Response {
        let allowed = match self {
            Self::Public => HeaderValue::from_static("*"),
            Self::ThisMachine => match headers.get(header::ORIGIN) {
                Some(origin) if is_this_machine(origin) => origin.clone(),
                _ => return response,
            },
        };
        let answer = response.headers_mut();
        answer.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        if self == Self::ThisMachine {
            answer.append(header::VARY, HeaderValue::from_static("origin"));
        }
        response
    }

    /// The refusal of a request from a page this rule does not allow, or `None`.
    pub(crate) fn refusal(self, headers: &HeaderMap) -> Option<Response> {
        let origin = headers.get(header::ORIGIN)?;
        if self == Self::Public || is_this_machine(origin) {
            return None;
        }
        Some(error(
            StatusCode::FORBIDDEN,
            "invalid_request",
            "this endpoint answers web pages on this machine only (an Origin on localhost, \
             127.0.0.0/8 or [::1]): a web site cannot register clients or get tokens here",
        ))
    }

    /// The answer to a CORS preflight (`OPTIONS`): the methods and headers clients send, for
    /// the origins this rule allows; 403 for the others.
    pub(crate) fn preflight(self, headers: &HeaderMap) -> Response {
        if let Some(refused) = self.refusal(headers) {
            return refused;
        }
        let allowed = [
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "authorization, content-type, mcp-protocol-version",
            ),
            (header::ACCESS_CONTROL_MAX_AGE, "600"),
        ];
        self.apply(headers, (StatusCode::NO_CONTENT, allowed).into_response())
    }
}

/// Whether `origin` is a page served from this machine: `http(s)` on a loopback host.
fn is_this_machine(origin: &HeaderValue) -> bool {
    origin
        .to_str()
        .ok()
        .and_then(|origin| Url::parse(origin).ok())
        .is_some_and(|url| matches!(url.scheme(), "http" | "https") && is_loopback(&url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn only_the_issuers_own_authority_is_answered() {
        let own = "127.0.0.1:4000";
        let path: Uri = "/token".parse().unwrap();
        assert!(for_authority(&headers(&[(header::HOST, own)]), &path, own));
        for host in ["evil.example:4000", "localhost:4000", "127.0.0.1:4001", ""] {
            let sent = headers(&[(header::HOST, host)]);
            assert!(!for_authority(&sent, &path, own), "{host}");
        }
        assert!(!for_authority(&HeaderMap::new(), &path, own), "no Host");
        let twice = headers(&[(header::HOST, own), (header::HOST, "evil.example")]);
        assert!(!for_authority(&twice, &path, own));
        let absolute: Uri = "http://evil.example/token".parse().unwrap();
        assert!(!for_authority(
            &headers(&[(header::HOST, own)]),
            &absolute,
            own
        ));
        let h2: Uri = "http://127.0.0.1:4000/token".parse().unwrap();
        assert!(for_authority(&HeaderMap::new(), &h2, own));
    }

    #[test]
    fn pages_on_this_machine_only() {
        for origin in [
            "http://localhost:6274",
            "http://127.0.0.1:6274",
            "http://[::1]:6274",
            "https://localhost",
        ] {
            assert!(
                is_this_machine(&HeaderValue::from_static(origin)),
                "{origin}"
            );
        }
        for origin in [
            "https://evil.example",
            "http://localhost.evil.example",
            "null",
            "file://",
            "chrome-extension://abc",
        ] {
            assert!(
                !is_this_machine(&HeaderValue::from_static(origin)),
                "{origin}"
            );
        }
    }
}
