//! Finding the access token in a request (RFC 6750 §2.1): the `Authorization: Bearer` header and
//! nowhere else.

use http::header::AUTHORIZATION;
use http::{HeaderMap, Uri};

use super::challenge::Rejection;

/// How a request presents its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `Authorization: Bearer` (RFC 6750).
    Bearer,
    /// `Authorization: DPoP`, with a proof in the `DPoP` header (RFC 9449).
    Dpop,
}

/// Whether a request presents its token with the `DPoP` scheme (for the challenge of a refusal).
pub(crate) fn uses_dpop(headers: &HeaderMap) -> bool {
    headers
        .get(AUTHORIZATION)
        .and_then(|value| value.as_bytes().get(..5))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"dpop "))
}

/// The access token of a request and its scheme (`DPoP` only when `dpop` is on), `Ok(None)`
/// when it sent no such credentials at all.
///
/// A token is never read from the query string (the MCP authorization spec forbids it): one
/// sent only there counts as no credentials, so the client gets the discovery challenge and can
/// start its flow. Refused with `invalid_request`: a token in the header *and* the query string
/// (RFC 6750 §2: one method per request), more than one `Authorization` header, and a `Bearer`
/// header whose token is not RFC 6750's `b64token`.
pub(crate) fn access_token<'r>(
    headers: &'r HeaderMap,
    uri: &Uri,
    dpop: bool,
) -> Result<Option<(Scheme, &'r str)>, Rejection> {
    let token = header_token(headers, dpop)?;
    if token.is_some() && query_has_access_token(uri) {
        return Err(Rejection::InvalidRequest(
            "the token is sent in the query string too; send it in the Authorization header only",
        ));
    }
    Ok(token)
}

/// The token of the `Authorization: Bearer` (or `DPoP`) header, `Ok(None)` without one.
fn header_token(headers: &HeaderMap, dpop: bool) -> Result<Option<(Scheme, &str)>, Rejection> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Rejection::InvalidRequest(
            "more than one Authorization header",
        ));
    }
    let value = value.to_str().map_err(|_| {
        Rejection::InvalidRequest("the Authorization header is not printable ASCII")
    })?;
    let value = value.trim_matches(' ');
    if value.is_empty() {
        return Err(Rejection::InvalidRequest(
            "the Authorization header is empty",
        ));
    }
    let scheme_end = value.find([' ', '\t']).unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if dpop && scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return Ok(None);
    };
    let token = rest.trim_start_matches(' ');
    if token.len() == rest.len() && !rest.is_empty() {
        return Err(Rejection::InvalidRequest(match scheme {
            Scheme::Bearer => "the Bearer scheme and the token must be separated by spaces",
            Scheme::Dpop => "the DPoP scheme and the token must be separated by spaces",
        }));
    }
    if !is_b64token(token) {
        return Err(Rejection::InvalidRequest(match scheme {
            Scheme::Bearer => "the Bearer credentials are not a single RFC 6750 b64token",
            Scheme::Dpop => "the DPoP credentials are not a single token68",
        }));
    }
    Ok(Some((scheme, token)))
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|b| B64TOKEN_CHAR[usize::from(b)])
}

/// Which bytes a `b64token` is made of, looked up rather than tested one rule after another:
/// every request's token goes through it.
const B64TOKEN_CHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] =
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        byte += 1;
    }
    table
};

fn query_has_access_token(uri: &Uri) -> bool {
    uri.query().is_some_and(|query| {
        url::form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "access_token")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn extract(values: &[&[u8]], uri: &str) -> Result<Option<String>, Rejection> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        }
        let uri: Uri = uri.parse().unwrap();
        access_token(&headers, &uri, false).map(|token| token.map(|(_, token)| token.to_owned()))
    }

    fn is_invalid_request(result: Result<Option<String>, Rejection>) -> bool {
        matches!(result, Err(Rejection::InvalidRequest(_)))
    }

    #[test]
    fn takes_the_token_of_a_bearer_header_whatever_the_scheme_case() {
        for header in [
            &b"Bearer abc.DEF-_~+/=="[..],
            b"bearer abc.DEF-_~+/==",
            b"BEARER   abc.DEF-_~+/==",
        ] {
            assert_eq!(
                extract(&[header], "/mcp").unwrap().as_deref(),
                Some("abc.DEF-_~+/==")
            );
        }
    }

    #[test]
    fn a_b64token_is_made_of_exactly_rfc_6750_characters() {
        let allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/";
        for byte in 0..=255u8 {
            assert_eq!(
                B64TOKEN_CHAR[usize::from(byte)],
                allowed.as_bytes().contains(&byte),
                "byte {byte:#04x}"
            );
        }
        assert!(is_b64token("a=="));
        assert!(!is_b64token("=="));
        assert!(!is_b64token("a=b"));
    }

    #[test]
    fn no_header_or_another_scheme_means_no_credentials() {
        assert_eq!(extract(&[], "/mcp").unwrap(), None);
        assert_eq!(extract(&[b"Basic dXNlcjpwYXNz"], "/mcp").unwrap(), None);
        assert_eq!(extract(&[b"DPoP abc"], "/mcp").unwrap(), None);
        assert_eq!(extract(&[b"Bearerabc"], "/mcp").unwrap(), None);
    }

    #[test]
    fn malformed_bearer_credentials_are_invalid_requests() {
        for header in [
            &b"Bearer"[..],
            b"Bearer ",
            b"Bearer two tokens",
            b"Bearer tok\"en",
            b"Bearer =abc",
            b"Bearer a=b",
            b"Bearer\tabc",
            b"",
            b"Bearer \xc3\xa9t\xc3\xa9",
        ] {
            assert!(is_invalid_request(extract(&[header], "/mcp")), "{header:?}");
        }
    }

    #[test]
    fn an_access_token_query_parameter_is_found_by_name_wherever_it_is() {
        assert!(is_invalid_request(extract(
            &[b"Bearer abc"],
            "/mcp?x=1&access_token=abc"
        )));
        assert_eq!(extract(&[], "/mcp?x=1&access_token=abc").unwrap(), None);
        assert_eq!(
            extract(&[b"Bearer abc"], "/mcp?x=access_token")
                .unwrap()
                .as_deref(),
            Some("abc")
        );
    }
}
