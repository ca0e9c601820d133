//! The flags of `proxy`, and the static headers it sends upstream (`--upstream-header`,
//! `--upstream-headers-file`), checked before anything starts; their values are never shown.

use std::path::PathBuf;
use std::time::Duration;

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use clap::Args;
use ipnet::IpNet;
use url::Url;

use super::headers::{IdentityHeaders, TrustedProxies, is_hop_by_hop};
use crate::auth_args::AuthArgs;
use crate::config_file::ConfigArgs;
use crate::duration::parse_duration;
use crate::listener::{BindArgs, ListenerArgs};
use crate::observability::ObserveArgs;
use crate::opaque_tokens::Hidden;

/// Flags of `proxy`; each can also come from its environment variable.
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
    #[command(flatten)]
    pub(crate) bind: BindArgs,
    /// The MCP server to protect: requests under the resource's path go to this URL (the path
    /// below the resource's appended to its path, the query kept).
    #[arg(
        long,
        env = "MCP_AUTH_UPSTREAM",
        value_name = "URL",
        value_parser = parse_upstream,
        hide_env_values = true
    )]
    pub(crate) upstream: Url,
    #[command(flatten)]
    pub(crate) auth: AuthArgs,
    #[command(flatten)]
    pub(crate) observe: ObserveArgs,
    #[command(flatten)]
    pub(crate) listener: ListenerArgs,
    /// Longest wait for a connection to the upstream, then 504: seconds, or milliseconds with
    /// an ms suffix (300ms).
    #[arg(
        long,
        env = "MCP_AUTH_UPSTREAM_CONNECT_TIMEOUT",
        value_name = "SECS",
        default_value = "5",
        value_parser = parse_duration
    )]
    pub(crate) upstream_connect_timeout: Duration,
    /// Longest wait for the upstream's response headers once a request is sent, then 504: a
    /// tool answering in JSON (not SSE) sends them only when it has finished.
    #[arg(
        long,
        env = "MCP_AUTH_UPSTREAM_RESPONSE_TIMEOUT",
        value_name = "SECS",
        default_value = "300",
        value_parser = parse_duration
    )]
    pub(crate) upstream_response_timeout: Duration,
    /// A proxy in front of this one, as an address range (10.0.0.0/8, 192.0.2.7/32; repeatable,
    /// comma-separated in the variable): when a request comes from it, the X-Forwarded-For
    /// chain it sent is kept before its address. From any other peer, X-Forwarded-For is the
    /// peer's address alone.
    #[arg(
        long = "trusted-proxy",
        env = "MCP_AUTH_TRUSTED_PROXY",
        value_name = "CIDR",
        value_delimiter = ',',
        value_parser = parse_cidr
    )]
    trusted_proxies: Vec<IpNet>,
    /// Speak HTTP/2 without TLS (h2c, prior knowledge) to an http:// upstream that supports it:
    /// one connection carries every request. An upstream that speaks only HTTP/1.1 then fails
    /// (502), so this is off by default; an https:// upstream may choose HTTP/2 by ALPN anyway.
    #[arg(long, env = "MCP_AUTH_UPSTREAM_H2C")]
    pub(crate) upstream_h2c: bool,
    /// A header sent with every upstream request, as 'Name: value' (its own API key, say),
    /// replacing any the client sent. Repeatable; newline-separated in the variable. On the
    /// command line other local users can read it: prefer --upstream-headers-file.
    #[arg(
        long = "upstream-header",
        env = "MCP_AUTH_UPSTREAM_HEADER",
        value_name = "NAME: VALUE",
        hide_env_values = true
    )]
    upstream_headers: Vec<Hidden>,
    /// A file of headers for the upstream, one 'Name: value' per line (empty lines and lines
    /// starting with '#' skipped).
    #[arg(long, env = "MCP_AUTH_UPSTREAM_HEADERS_FILE", value_name = "PATH")]
    upstream_headers_file: Option<PathBuf>,
    /// The header carrying the token's subject to the upstream.
    #[arg(
        long,
        env = "MCP_AUTH_SUBJECT_HEADER",
        value_name = "NAME",
        default_value = "X-MCP-Auth-Subject"
    )]
    subject_header: HeaderName,
    /// The header carrying the token's client id to the upstream.
    #[arg(
        long,
        env = "MCP_AUTH_CLIENT_ID_HEADER",
        value_name = "NAME",
        default_value = "X-MCP-Auth-Client-Id"
    )]
    client_id_header: HeaderName,
    /// The header carrying the token's scopes (space-separated) to the upstream.
    #[arg(
        long,
        env = "MCP_AUTH_SCOPES_HEADER",
        value_name = "NAME",
        default_value = "X-MCP-Auth-Scopes"
    )]
    scopes_header: HeaderName,
    /// The header carrying the token's issuer to the upstream.
    #[arg(
        long,
        env = "MCP_AUTH_ISSUER_HEADER",
        value_name = "NAME",
        default_value = "X-MCP-Auth-Issuer"
    )]
    issuer_header: HeaderName,
    /// The largest request body passed on, in bytes; a larger one gets 413.
    #[arg(long, env = "MCP_AUTH_MAX_REQUEST_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub(crate) max_request_bytes: u64,
    /// On SIGTERM or Ctrl-C, how long open requests (SSE streams included) may go on before
    /// the proxy stops anyway: seconds, or milliseconds with an ms suffix.
    #[arg(
        long,
        env = "MCP_AUTH_SHUTDOWN_GRACE",
        value_name = "SECS",
        default_value = "10",
        value_parser = parse_duration
    )]
    pub(crate) shutdown_grace: Duration,
}

impl ProxyArgs {
    /// The `--trusted-proxy` ranges.
    pub(crate) fn trusted_proxies(&self) -> TrustedProxies {
        TrustedProxies::new(self.trusted_proxies.clone())
    }

    /// The names of the identity headers; two flags naming the same header are refused.
    pub(crate) fn identity_headers(&self) -> Result<IdentityHeaders, String> {
        let identity = IdentityHeaders {
            subject: self.subject_header.clone(),
            client_id: self.client_id_header.clone(),
            scopes: self.scopes_header.clone(),
            issuer: self.issuer_header.clone(),
        };
        let names = identity.names();
        for (index, name) in names.iter().enumerate() {
            if names[..index].contains(name) {
                return Err(format!(
                    "the identity headers must differ: {name} is named twice"
                ));
            }
            if is_hop_by_hop(name) || is_reserved(name) {
                return Err(format!(
                    "{name} cannot carry the caller's identity: the proxy sets or removes it itself"
                ));
            }
        }
        Ok(identity)
    }

    /// The static upstream headers: the flag's (or variable's) entries, then the file's lines.
    /// An error names the entry by its position or line, never its value.
    pub(crate) fn static_headers(&self, identity: &IdentityHeaders) -> Result<HeaderMap, String> {
        let mut headers = HeaderMap::new();
        let given = self
            .upstream_headers
            .iter()
            .flat_map(|Hidden(value)| value.split('\n'))
            .map(|line| line.trim_end_matches('\r'))
            .filter(|line| !line.trim().is_empty());
        for (index, entry) in given.enumerate() {
            let (name, value) = parse_header(entry, identity)
                .map_err(|reason| format!("--upstream-header entry {} {reason}", index + 1))?;
            headers.append(name, value);
        }
        if let Some(path) = &self.upstream_headers_file {
            let content = std::fs::read_to_string(path)
                .map_err(|err| format!("cannot read the headers file {}: {err}", path.display()))?;
            for (index, line) in content.lines().enumerate() {
                let line = line.trim_end_matches('\r');
                if line.trim().is_empty() || line.starts_with('#') {
                    continue;
                }
                let (name, value) = parse_header(line, identity).map_err(|reason| {
                    format!("line {} of {} {reason}", index + 1, path.display())
                })?;
                headers.append(name, value);
            }
        }
        Ok(headers)
    }
}

/// Headers the proxy always sets or drops itself, which no flag may name.
fn is_reserved(name: &HeaderName) -> bool {
    [
        header::HOST,
        header::CONTENT_LENGTH,
        HeaderName::from_static("x-forwarded-for"),
        HeaderName::from_static("x-forwarded-proto"),
        HeaderName::from_static("x-forwarded-host"),
    ]
    .contains(name)
}

/// Parses `Name: value`; the error is a reason that repeats nothing of the entry (the value may
/// be a secret, and a malformed entry may be one pasted whole).
fn parse_header(
    entry: &str,
    identity: &IdentityHeaders,
) -> Result<(HeaderName, HeaderValue), &'static str> {
    let (name, value) = entry
        .split_once(':')
        .ok_or("is not 'Name: value' (no ':')")?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| "is not 'Name: value': the name is not a header name")?;
    if is_hop_by_hop(&name) || is_reserved(&name) {
        return Err(
            "names a header the proxy sets or drops itself (hop-by-hop, Host, Content-Length, X-Forwarded-*)",
        );
    }
    if identity.names().contains(&&name) {
        return Err(
            "names an identity header: those carry the caller's identity, set by the proxy",
        );
    }
    let mut value = HeaderValue::from_str(value.trim())
        .map_err(|_| "is not 'Name: value': the value has characters a header cannot carry")?;
    value.set_sensitive(true);
    Ok((name, value))
}

/// `--trusted-proxy`: an address range in CIDR notation, or one address.
fn parse_cidr(value: &str) -> Result<IpNet, String> {
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| "expected an address range such as 10.0.0.0/8 or an address".to_owned())
}

/// `--upstream`: an absolute http or https URL without credentials or a fragment.
fn parse_upstream(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|err| format!("not a URL: {err}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("the scheme is {}, not http or https", url.scheme()));
    }
    if url.fragment().is_some() {
        return Err("a URL with a fragment (#...) names no server".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "credentials in the URL are not sent and would show in the process list: \
             give them as --upstream-headers-file (Authorization: Basic ...)"
                .to_owned(),
        );
    }
    Ok(url)
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

    #[test]
    fn a_header_entry_is_a_name_and_a_sensitive_value() {
        let (name, value) = parse_header("X-Api-Key:  s3cret ", &identity()).unwrap();
        assert_eq!(name, "x-api-key");
        assert_eq!(value, "s3cret");
        assert!(value.is_sensitive());
        let (name, _) = parse_header("Authorization: Bearer upstream", &identity()).unwrap();
        assert_eq!(name, header::AUTHORIZATION);
    }

    #[test]
    fn malformed_or_reserved_entries_are_refused_without_their_value() {
        for bad in [
            "s3cret-without-name",
            "bad name: s3cret",
            "X-Api-Key: s3cret\u{7}",
            "Connection: s3cret",
            "Proxy-Authorization: s3cret",
            "Host: s3cret",
            "X-Forwarded-For: s3cret",
            "x-mcp-auth-SUBJECT: s3cret",
        ] {
            let reason = parse_header(bad, &identity()).expect_err(bad);
            assert!(!reason.contains("s3cret"), "{reason}");
        }
    }

    #[test]
    fn the_upstream_is_an_http_url() {
        assert!(parse_upstream("http://127.0.0.1:9000/mcp").is_ok());
        assert!(parse_upstream("https://mcp.internal/").is_ok());
        for bad in [
            "ftp://host/",
            "127.0.0.1:9000",
            "http://host/#frag",
            "http://user:secret@host/",
            "http://user@host/",
        ] {
            assert!(parse_upstream(bad).is_err(), "{bad}");
        }
    }
}
