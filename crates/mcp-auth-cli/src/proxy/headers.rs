//! What the proxy sends upstream and what it passes back, as pure functions of the headers.
//!
//! Upstream: the client's headers minus what would let the client speak for the proxy or be
//! read as something the layer did not check:
//! - its `Authorization` (MCP: a server must not pass on the token it received) and `DPoP` proof;
//! - hop-by-hop headers (RFC 9110 §7.6.1: `Connection` and the headers it names, `Keep-Alive`,
//!   `Proxy-*`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`);
//! - every header whose name holds `_`: CGI-style servers (WSGI, Rack, PHP) read
//!   `X_MCP_Auth_Scopes` as `X-MCP-Auth-Scopes` and `Mcp_Session_Id` as the session id, which
//!   the layer's session binding never saw (nginx drops them by default too);
//! - method overrides (`X-HTTP-Method-Override`, `X-HTTP-Method`, `X-Method-Override`): the
//!   layer decided on the method the request came with;
//! - what proxies say of a request (`Forwarded`, `X-Forwarded*`, `X-Real-IP`, `X-Host`,
//!   `X-Original-URL`, `X-Rewrite-URL`, `X-Client-IP`...): the proxy says it itself;
//! - `Host` (set from the upstream URL; the client's goes in `X-Forwarded-Host`);
//! - every copy of the identity headers, which are then always set from the verified token
//!   (empty when the token has no such value), so that no other spelling can stand in.
//!
//! `X-Forwarded-For` is the peer's address, after the client's chain only when the peer is a
//! trusted proxy (`--trusted-proxy`). The static headers go last, replacing the client's.
//! Everything else (`Mcp-Session-Id`, `MCP-Protocol-Version`, `Last-Event-ID`, `Mcp-Method`,
//! `Mcp-Name`, `Accept`, `Content-Type`...) passes unchanged. Back: the upstream's headers minus
//! hop-by-hop ones.

use std::net::IpAddr;

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;
use mcp_auth::AuthInfo;

/// The hop-by-hop headers that are not named by `Connection` (RFC 9110 §7.6.1, RFC 9112).
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers by which a client could ask a server to run another method than the one the layer
/// decided on.
const METHOD_OVERRIDES: [&str; 3] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// Headers by which proxies tell a server where a request came from or what it asked for;
/// coming from a client, they are claims (besides every `X-Forwarded*`).
const PROXY_CLAIMS: [&str; 12] = [
    "forwarded",
    "x-real-ip",
    "x-original-url",
    "x-original-uri",
    "x-original-host",
    "x-rewrite-url",
    "x-host",
    "x-http-host-override",
    "x-client-ip",
    "x-cluster-client-ip",
    "true-client-ip",
    "cf-connecting-ip",
];

/// The DPoP proof (RFC 9449) that came with the token: checked here, of no use upstream.
const DPOP: HeaderName = HeaderName::from_static("dpop");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// The names of the headers carrying the caller's identity to the upstream.
#[derive(Debug, Clone)]
pub(crate) struct IdentityHeaders {
    pub(crate) subject: HeaderName,
    pub(crate) client_id: HeaderName,
    /// The scopes, space-separated.
    pub(crate) scopes: HeaderName,
    pub(crate) issuer: HeaderName,
}

impl IdentityHeaders {
    /// The four names.
    pub(crate) fn names(&self) -> [&HeaderName; 4] {
        [&self.subject, &self.client_id, &self.scopes, &self.issuer]
    }
}

/// Where a request came from, for `X-Forwarded-*`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    /// The client's address, as the listener saw it.
    pub(crate) peer: Option<IpAddr>,
    /// The public scheme: the resource identifier's (`https` behind a TLS terminator).
    pub(crate) proto: &'a HeaderValue,
    /// The host the client asked for (`Host`, or HTTP/2's `:authority`).
    pub(crate) host: Option<&'a HeaderValue>,
    /// The proxies whose `X-Forwarded-For` chain is kept (`--trusted-proxy`).
    pub(crate) trusted: &'a TrustedProxies,
}

/// The address ranges of proxies in front of this one (`--trusted-proxy CIDR`), whose
/// `X-Forwarded-For` is passed on; any other peer's is dropped.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub(crate) fn new(ranges: Vec<IpNet>) -> Self {
        Self(ranges)
    }

    /// Whether `peer` is one of them (an IPv4-mapped IPv6 address counts as IPv4).
    pub(crate) fn contains(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.0.iter().any(|range| range.contains(&peer))
    }
}

/// Whether `name` is hop-by-hop in itself (not counting those a `Connection` header names).
pub(crate) fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(&name.as_str()) || name.as_str().starts_with("proxy-")
}

/// Whether a client's header `name` stays behind because of what it is, whatever its value:
/// hop-by-hop, spelt with `_`, a method override or a proxy's claim.
fn stays_behind(name: &HeaderName) -> bool {
    let name = name.as_str();
    if name.contains('_') {
        return true;
    }
    // Every request's headers go through here: most are ruled out by their first letter.
    match name.as_bytes().first() {
        Some(b'x') => {
            name.starts_with("x-forwarded")
                || METHOD_OVERRIDES.contains(&name)
                || PROXY_CLAIMS.contains(&name)
        }
        Some(b'c' | b'f' | b't') => PROXY_CLAIMS.contains(&name),
        _ => false,
    }
}

/// Removes the hop-by-hop headers: those a `Connection` header names, then the fixed list.
pub(crate) fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    let fixed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_hop_by_hop(name))
        .cloned()
        .collect();
    for name in fixed {
        headers.remove(name);
    }
}

/// The headers of the upstream request made from the client request's `headers` (taken, not
/// copied), sent by the caller `info`.
pub(crate) fn to_upstream(
    mut headers: HeaderMap,
    identity: &IdentityHeaders,
    info: &AuthInfo,
    origin: Origin<'_>,
    fixed: &HeaderMap,
) -> HeaderMap {
    let forwarded_for = origin
        .peer
        .map(|peer| forwarded_for(&headers, peer, origin.trusted.contains(peer)));
    headers.remove(header::HOST);
    remove_hop_by_hop(&mut headers);
    headers.remove(header::AUTHORIZATION);
    headers.remove(DPOP);
    // Most requests carry none of them: nothing to collect then.
    if headers.keys().any(stays_behind) {
        let gone: Vec<HeaderName> = headers
            .keys()
            .filter(|name| stays_behind(name))
            .cloned()
            .collect();
        for name in gone {
            headers.remove(name);
        }
    }

    let scopes = info.scopes.join(" ");
    let values = [
        (&identity.subject, info.subject.as_deref()),
        (&identity.client_id, info.client_id.as_deref()),
        (&identity.scopes, Some(scopes.as_str())),
        (&identity.issuer, Some(info.issuer.as_str())),
    ];
    for (name, value) in values {
        // HeaderMap names are case-insensitive: this replaces every copy, however it was spelt.
        // A value a header cannot carry (a control character in a subject, say) is sent empty.
        let value = value
            .and_then(|value| HeaderValue::from_str(value).ok())
            .unwrap_or(HeaderValue::from_static(""));
        headers.insert(name.clone(), value);
    }

    if let Some(Ok(chain)) = forwarded_for {
        headers.insert(X_FORWARDED_FOR, chain);
    }
    headers.insert(X_FORWARDED_PROTO, origin.proto.clone());
    if let Some(host) = origin.host {
        headers.insert(X_FORWARDED_HOST, host.clone());
    }

    for name in fixed.keys() {
        headers.remove(name);
    }
    for (name, value) in fixed {
        headers.append(name.clone(), value.clone());
    }
    headers
}

/// `X-Forwarded-For`: `peer`, after the chain the client sent when the peer is a trusted proxy.
fn forwarded_for(
    client: &HeaderMap,
    peer: IpAddr,
    trusted: bool,
) -> Result<HeaderValue, axum::http::header::InvalidHeaderValue> {
    let before: Vec<&str> = client
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter(|_| trusted)
        .collect();
    let peer = peer.to_canonical();
    match before.is_empty() {
        true => HeaderValue::from_str(&peer.to_string()),
        false => HeaderValue::from_str(&format!("{}, {peer}", before.join(", "))),
    }
}

/// The `Host` values a request may carry (`host` or `host:port`, as rmcp reads them: a name
/// without a port allows every port), read once. A protection against DNS rebinding the
/// upstream cannot give any more, since it sees the upstream's host instead.
#[derive(Debug, Clone)]
pub(crate) struct AllowedHosts(Vec<(String, Option<u16>)>);

impl AllowedHosts {
    /// Reads `allowed` entries; one that is not an authority is compared as a whole name.
    pub(crate) fn new(allowed: &[String]) -> Self {
        let entries =
            allowed.iter().map(
                |entry| match entry.trim().parse::<axum::http::uri::Authority>() {
                    Ok(entry) => (bare(entry.host()).to_owned(), entry.port_u16()),
                    Err(_) => (bare(entry).to_owned(), None),
                },
            );
        Self(entries.collect())
    }

    /// Whether a request's `Host` header is allowed (names compared without case).
    pub(crate) fn allow(&self, host: Option<&HeaderValue>) -> bool {
        let Some(host) = host
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<axum::http::uri::Authority>().ok())
        else {
            return false;
        };
        let wanted = bare(host.host());
        self.0.iter().any(|(name, port)| {
            name.eq_ignore_ascii_case(wanted)
                && port.is_none_or(|port| host.port_u16() == Some(port))
        })
    }
}

/// A host as compared: an IPv6 address without its brackets.
fn bare(host: &str) -> &str {
    host.trim_start_matches('[').trim_end_matches(']')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> IdentityHeaders {
        IdentityHeaders {
            subject: HeaderName::from_static("x-mcp-auth-subject"),
            client_id: HeaderName::from_static("x-mcp-auth-client-id"),
            scopes: HeaderName::from_static("x-mcp-auth-scopes"),
            issuer: HeaderName::from_static("x-mcp-auth-issuer"),
        }
    }

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn caller() -> AuthInfo {
        AuthInfo::new("https://auth.example.com", ["https://api.example.com/mcp"])
            .with_subject("user-1")
            .with_client_id("client-1")
            .with_scopes(["mcp:tools", "files:read"])
    }

    static HTTPS: HeaderValue = HeaderValue::from_static("https");
    static HOST: HeaderValue = HeaderValue::from_static("api.example.com");
    static NOBODY: TrustedProxies = TrustedProxies(Vec::new());
    static ORIGIN: Origin<'static> = Origin {
        peer: Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 7))),
        proto: &HTTPS,
        host: Some(&HOST),
        trusted: &NOBODY,
    };

    fn values<'m>(sent: &'m HeaderMap, name: &str) -> Vec<&'m str> {
        sent.get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    #[test]
    fn the_token_hop_by_hop_headers_and_claimed_identities_stay_behind() {
        let client = map(&[
            ("authorization", "Bearer secret-token"),
            ("dpop", "eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.c2ln"),
            ("host", "api.example.com"),
            ("connection", "keep-alive, X-Custom-Hop"),
            ("x-custom-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "Basic abc"),
            ("te", "trailers"),
            ("trailer", "x-checksum"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("X-MCP-Auth-Subject", "admin"),
            ("x-mcp-auth-subject", "root"),
            ("X-Mcp-Auth-Scopes", "everything"),
            ("mcp-session-id", "s-1"),
            ("mcp-protocol-version", "2025-11-25"),
            ("last-event-id", "42"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "whoami"),
            ("accept", "application/json, text/event-stream"),
            ("content-type", "application/json"),
        ]);
        let sent = to_upstream(
            client.clone(),
            &identity(),
            &caller(),
            ORIGIN,
            &HeaderMap::new(),
        );
        for gone in [
            "authorization",
            "dpop",
            "host",
            "connection",
            "x-custom-hop",
            "keep-alive",
            "proxy-authorization",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
        ] {
            assert!(!sent.contains_key(gone), "{gone} was forwarded");
        }
        assert_eq!(values(&sent, "x-mcp-auth-subject"), ["user-1"]);
        assert_eq!(values(&sent, "x-mcp-auth-client-id"), ["client-1"]);
        assert_eq!(values(&sent, "x-mcp-auth-scopes"), ["mcp:tools files:read"]);
        assert_eq!(
            values(&sent, "x-mcp-auth-issuer"),
            ["https://auth.example.com"]
        );
        for (name, value) in [
            ("mcp-session-id", "s-1"),
            ("mcp-protocol-version", "2025-11-25"),
            ("last-event-id", "42"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "whoami"),
            ("accept", "application/json, text/event-stream"),
            ("content-type", "application/json"),
            ("x-forwarded-for", "10.0.0.7"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.example.com"),
        ] {
            assert_eq!(values(&sent, name), [value], "{name}");
        }
    }

    #[test]
    fn underscored_names_method_overrides_and_proxy_claims_stay_behind() {
        let client = map(&[
            ("X_MCP_Auth_Scopes", "everything"),
            ("x_mcp_auth_subject", "admin"),
            ("Mcp_Session_Id", "someone-else-s"),
            ("x-http-method-override", "POST"),
            ("X-HTTP-Method", "POST"),
            ("x-method-override", "POST"),
            ("forwarded", "for=192.0.2.1;host=evil.example"),
            ("x-real-ip", "192.0.2.1"),
            ("x-original-url", "/admin"),
            ("x-rewrite-url", "/admin"),
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-prefix", "/admin"),
            ("x-forwarded-port", "1"),
            ("x-forwarded", "for=192.0.2.1"),
            ("x-host", "evil.example"),
            ("true-client-ip", "192.0.2.1"),
            ("x-keep-me", "kept"),
        ]);
        let sent = to_upstream(client, &identity(), &caller(), ORIGIN, &HeaderMap::new());
        let names: Vec<&str> = sent.keys().map(HeaderName::as_str).collect();
        assert!(!names.iter().any(|name| name.contains('_')), "{names:?}");
        for gone in [
            "x-http-method-override",
            "x-http-method",
            "x-method-override",
            "forwarded",
            "x-real-ip",
            "x-original-url",
            "x-rewrite-url",
            "x-forwarded-prefix",
            "x-forwarded-port",
            "x-forwarded",
            "x-host",
            "true-client-ip",
        ] {
            assert!(!sent.contains_key(gone), "{gone} was forwarded");
        }
        assert_eq!(values(&sent, "x-forwarded-host"), ["api.example.com"]);
        assert_eq!(values(&sent, "x-mcp-auth-scopes"), ["mcp:tools files:read"]);
        assert_eq!(values(&sent, "x-keep-me"), ["kept"]);
    }

    #[test]
    fn identity_headers_are_always_sent_empty_when_the_token_has_no_value() {
        let info = AuthInfo::new("https://auth.example.com", ["aud"]).with_subject("line\nbreak");
        let client = map(&[
            ("x-mcp-auth-subject", "admin"),
            ("x-mcp-auth-client-id", "c"),
            ("x-mcp-auth-scopes", "everything"),
        ]);
        let sent = to_upstream(client, &identity(), &info, ORIGIN, &HeaderMap::new());
        assert_eq!(values(&sent, "x-mcp-auth-subject"), [""]);
        assert_eq!(values(&sent, "x-mcp-auth-client-id"), [""]);
        assert_eq!(values(&sent, "x-mcp-auth-scopes"), [""]);
        assert_eq!(
            values(&sent, "x-mcp-auth-issuer"),
            ["https://auth.example.com"]
        );
    }

    #[test]
    fn forwarded_for_is_the_peer_unless_a_trusted_proxy_sent_a_chain() {
        let client = map(&[
            ("x-forwarded-for", "192.0.2.1"),
            ("x-forwarded-for", "192.0.2.2"),
            ("x-forwarded-proto", "gopher"),
            ("x-api-key", "from-the-client"),
        ]);
        let fixed = map(&[
            ("x-api-key", "upstream-key"),
            ("authorization", "Bearer upstream"),
        ]);
        let sent = to_upstream(client.clone(), &identity(), &caller(), ORIGIN, &fixed);
        assert_eq!(sent["x-forwarded-for"], "10.0.0.7");
        assert_eq!(sent["x-forwarded-proto"], "https");
        assert_eq!(sent.get_all("x-api-key").iter().count(), 1);
        assert_eq!(sent["x-api-key"], "upstream-key");
        assert_eq!(sent["authorization"], "Bearer upstream");

        let trusted = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()]);
        let behind = Origin {
            trusted: &trusted,
            host: None,
            ..ORIGIN
        };
        let sent = to_upstream(client, &identity(), &caller(), behind, &HeaderMap::new());
        assert_eq!(sent["x-forwarded-for"], "192.0.2.1, 192.0.2.2, 10.0.0.7");
        assert!(!sent.contains_key("x-forwarded-host"));
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert!(trusted.contains(mapped));
        assert!(!trusted.contains("11.0.0.1".parse().unwrap()));
    }

    #[test]
    fn hosts_match_by_name_and_by_port_when_one_is_given() {
        let allowed = [
            "localhost".to_owned(),
            "api.example.com:443".to_owned(),
            "::1".to_owned(),
        ];
        let allowed = AllowedHosts::new(&allowed);
        let host = |value: &str| allowed.allow(Some(&HeaderValue::from_str(value).unwrap()));
        assert!(host("localhost:8000"));
        assert!(host("LOCALHOST"));
        assert!(host("api.example.com:443"));
        assert!(host("[::1]:8000"));
        assert!(!host("api.example.com:8443"));
        assert!(!host("api.example.com"));
        assert!(!host("evil.example"));
        assert!(!allowed.allow(None));
    }
}
