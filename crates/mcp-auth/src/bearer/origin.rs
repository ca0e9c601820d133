//! The MCP transport's `Origin` rule: a request whose `Origin` is present and not allowed gets 403
//! (a defence against DNS rebinding), before any token is looked at.

use http::HeaderMap;
use http::header::ORIGIN;
use url::Url;

use crate::error::ConfigError;

/// The origins browsers may send requests from; empty means no `Origin` check.
#[derive(Debug, Clone, Default)]
pub(crate) struct AllowedOrigins {
    /// ASCII serialisations (`https://app.example.com`, `http://localhost:6274`).
    origins: Vec<String>,
}

impl AllowedOrigins {
    /// Normalises each origin, refusing anything that is not `scheme://host[:port]`.
    pub(crate) fn new(origins: &[String]) -> Result<Self, ConfigError> {
        let origins = origins
            .iter()
            .map(|origin| normalise(origin))
            .collect::<Result<_, _>>()?;
        Ok(Self { origins })
    }

    /// Whether the request may go on: no `Origin` header, or exactly one that is allowed.
    pub(crate) fn permit(&self, headers: &HeaderMap) -> bool {
        if self.origins.is_empty() {
            return true;
        }
        let mut values = headers.get_all(ORIGIN).iter();
        let Some(value) = values.next() else {
            return true;
        };
        if values.next().is_some() {
            return false;
        }
        value
            .to_str()
            .ok()
            .and_then(|origin| Url::parse(origin).ok())
            .map(|url| url.origin().ascii_serialization())
            .is_some_and(|origin| self.origins.contains(&origin))
    }
}

fn normalise(origin: &str) -> Result<String, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidOrigin {
        origin: origin.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(origin)
        .map_err(|err| invalid(&format!("{err}; write it as https://app.example.com")))?;
    if !url.origin().is_tuple() {
        return Err(invalid("it has no scheme, host and port"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("an origin has no path, query or fragment"));
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn request_from(origins: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for origin in origins {
            headers.append(ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    fn allowed(origins: &[&str]) -> AllowedOrigins {
        AllowedOrigins::new(&origins.iter().map(|o| (*o).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn matches_origins_by_scheme_host_and_port() {
        let origins = allowed(&["https://App.Example.com", "http://localhost:6274"]);
        assert!(origins.permit(&request_from(&["https://app.example.com"])));
        assert!(origins.permit(&request_from(&["https://app.example.com:443"])));
        assert!(origins.permit(&request_from(&["http://localhost:6274"])));
        assert!(origins.permit(&request_from(&[])));
        for refused in [
            "http://app.example.com",
            "http://localhost:6275",
            "https://evil.example",
            "null",
            "garbage",
        ] {
            assert!(!origins.permit(&request_from(&[refused])), "{refused}");
        }
        assert!(!origins.permit(&request_from(&[
            "https://app.example.com",
            "https://app.example.com"
        ])));
    }

    #[test]
    fn an_empty_list_checks_nothing() {
        assert!(allowed(&[]).permit(&request_from(&["https://evil.example"])));
    }

    #[test]
    fn origins_with_paths_or_without_hosts_are_configuration_errors() {
        for bad in [
            "https://app.example.com/path",
            "app.example.com",
            "data:text/plain,x",
        ] {
            assert!(AllowedOrigins::new(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }
}
