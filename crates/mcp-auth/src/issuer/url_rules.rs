//! Which URLs this library accepts, and for what: resource identifiers (RFC 8707, RFC 9728),
//! issuer identifiers (RFC 8414 §2), well-known metadata URLs and key set URLs. Every URL a
//! configuration or a metadata document names is checked here and nowhere else.

use url::Url;

use crate::error::{ConfigError, UrlKind};
use crate::observe::redact_userinfo;

/// Parses an absolute `http`/`https` URL with a host and no credentials.
pub(crate) fn parse_http_url(kind: UrlKind, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|err| {
        invalid_url(
            kind,
            value,
            format!("{err}; write an absolute URL such as {}", kind.example()),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid_url(
            kind,
            value,
            "the scheme must be https (or http)",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid_url(kind, value, "a host is required"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid_url(
            kind,
            value,
            "remove the user name and password",
        ));
    }
    Ok(url)
}

/// A resource identifier: `http(s)`, no fragment (RFC 8707), no query (its metadata URL could not
/// carry one), canonical, and routable by the metadata router.
pub(crate) fn parse_resource_identifier(identifier: &str) -> Result<Url, ConfigError> {
    let kind = UrlKind::ResourceIdentifier;
    let url = parse_http_url(kind, identifier)?;
    if url.fragment().is_some() {
        return Err(invalid_url(
            kind,
            identifier,
            "RFC 8707 forbids a fragment: remove the '#...' part",
        ));
    }
    if url.query().is_some() {
        return Err(invalid_url(
            kind,
            identifier,
            "RFC 8707 says it should not have a query, and its metadata URL could not carry one: remove the '?...' part",
        ));
    }
    check_canonical(kind, identifier, &url)?;
    // The metadata router matches paths literally; axum would read a segment starting with `:`
    // or `*` as a parameter, so such identifiers are refused here instead of panicking later.
    if url
        .path()
        .split('/')
        .any(|segment| segment.starts_with([':', '*']))
    {
        return Err(invalid_url(
            kind,
            identifier,
            "a path segment starting with ':' or '*' cannot be routed: rename that segment",
        ));
    }
    Ok(url)
}

/// An issuer identifier: an `http(s)` URL without query or fragment (RFC 8414 §2), canonical,
/// and `https` unless on loopback or `allow_insecure_http`.
pub(crate) fn parse_issuer(issuer: &str, allow_insecure_http: bool) -> Result<Url, ConfigError> {
    let url = parse_http_url(UrlKind::Issuer, issuer)?;
    check_transport(UrlKind::Issuer, issuer, &url, allow_insecure_http)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid_url(
            UrlKind::Issuer,
            issuer,
            "RFC 8414 §2 forbids a query or fragment in an issuer identifier",
        ));
    }
    check_canonical(UrlKind::Issuer, issuer, &url)?;
    Ok(url)
}

/// A URL of an issuer's own endpoint (its key set, its introspection endpoint): `https` (or
/// `http` on loopback, or with `allow_insecure_http`), and never plain `http` for an `https`
/// issuer (a downgrade would let anyone on the path swap the keys or read the tokens).
pub(crate) fn parse_issuer_endpoint(
    kind: UrlKind,
    issuer: &str,
    uri: &str,
    allow_insecure_http: bool,
) -> Result<Url, ConfigError> {
    let url = parse_http_url(kind, uri)?;
    if url.scheme() == "http" && issuer.starts_with("https:") {
        return Err(invalid_url(
            kind,
            uri,
            format!("it is plain http while the issuer {issuer} is https: serve it over https"),
        ));
    }
    check_transport(kind, uri, &url, allow_insecure_http)?;
    Ok(url)
}

/// The URL of a well-known metadata document: `https` unless on loopback or
/// `allow_insecure_http`.
pub(crate) fn parse_metadata_url(url: &str, allow_insecure_http: bool) -> Result<Url, ConfigError> {
    let parsed = parse_http_url(UrlKind::WellKnownMetadata, url)?;
    check_transport(
        UrlKind::WellKnownMetadata,
        url,
        &parsed,
        allow_insecure_http,
    )?;
    Ok(parsed)
}

/// Refuses plain `http` for what decides which keys are trusted (issuers, their metadata and key
/// sets): anyone on the path could swap the keys. Loopback hosts are exempt (tests, a sidecar
/// issuer), and so is everything when the configuration says `allow_insecure_http`.
fn check_transport(
    kind: UrlKind,
    value: &str,
    url: &Url,
    allow_insecure_http: bool,
) -> Result<(), ConfigError> {
    if url.scheme() == "https" || allow_insecure_http || is_loopback(url) {
        Ok(())
    } else {
        Err(invalid_url(
            kind,
            value,
            "plain http off loopback lets anyone on the path swap the keys: use https, or allow it explicitly with allow_insecure_http() (never in production)",
        ))
    }
}

/// Whether the URL's host is this machine: 127.0.0.0/8, `::1` or `localhost`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether the URL's host is a loopback IP literal (127.0.0.0/8 or `::1`; not the name
/// `localhost`, which a resolver could send elsewhere, RFC 8252 §8.3).
#[cfg(feature = "testing")]
pub(crate) fn is_loopback_ip(url: &Url) -> bool {
    matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))) && is_loopback(url)
}

/// Refuses a URL that parsing would change (case, default port, spaces, dot segments...): the
/// string is published and compared verbatim, so it must already be in canonical form. Only the
/// slash after a bare host may be left out.
fn check_canonical(kind: UrlKind, value: &str, url: &Url) -> Result<(), ConfigError> {
    let canonical = url.as_str();
    if canonical == value || canonical.strip_suffix('/') == Some(value) {
        Ok(())
    } else {
        Err(invalid_url(
            kind,
            value,
            format!(
                "it is published and compared verbatim, so write it in canonical form: {canonical}"
            ),
        ))
    }
}

/// The error for `url`, which names it without its user-info: the message is printed and
/// logged, and a password must not be.
pub(crate) fn invalid_url(kind: UrlKind, url: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidUrl {
        kind,
        url: redact_userinfo(url).into_owned(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(result: Result<Url, ConfigError>) -> String {
        match result {
            Err(ConfigError::InvalidUrl { reason, .. }) => reason,
            other => panic!("expected an invalid URL, got {other:?}"),
        }
    }

    #[test]
    fn an_error_suggests_a_url_of_the_right_kind() {
        assert!(
            reason(parse_issuer("auth.example.com", false)).contains("https://auth.example.com")
        );
        assert!(reason(parse_resource_identifier("/mcp")).contains("https://api.example.com/mcp"));
    }

    #[test]
    fn plain_http_is_for_loopback_or_an_explicit_opt_in() {
        for loopback in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:1",
            "http://localhost:9",
        ] {
            assert!(parse_issuer(loopback, false).is_ok(), "{loopback}");
        }
        for remote in [
            "http://as.example",
            "http://10.0.0.1",
            "http://localhost.example.com",
        ] {
            assert!(
                reason(parse_issuer(remote, false)).contains("plain http off loopback"),
                "{remote}"
            );
            assert!(
                parse_issuer(remote, true).is_ok(),
                "{remote} with the opt-in"
            );
        }
        assert!(
            parse_issuer_endpoint(
                UrlKind::JwksUri,
                "http://as.example",
                "http://as.example/jwks",
                false
            )
            .is_err()
        );
        assert!(
            parse_issuer_endpoint(
                UrlKind::JwksUri,
                "http://as.example",
                "http://as.example/jwks",
                true
            )
            .is_ok()
        );
        assert!(parse_metadata_url("http://as.example/.well-known/x", false).is_err());
        assert!(
            parse_issuer_endpoint(
                UrlKind::JwksUri,
                "https://as.example",
                "file:///etc/jwks",
                true
            )
            .is_err()
        );
        // An https issuer's key set is never downgraded, opt-in or not.
        assert!(
            parse_issuer_endpoint(
                UrlKind::JwksUri,
                "https://as.example",
                "http://as.example/jwks",
                true
            )
            .is_err()
        );
    }
}
