//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, preferred by
//! MCP 2026-07-28): a `client_id` that is an https URL names the JSON document describing the
//! client; the issuer fetches it, bounded, and checks it before trusting its redirect URIs.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::{Map, Value};
use url::{Host, Url};

use super::global_address;
use super::public_client::PublicClient;
use super::redirect_uri;
use crate::issuer::fetch::{FetchLimits, get_json_with};
use crate::issuer::url_rules::is_loopback_ip;

/// Most redirect URIs a client may register, and their longest length.
const MAX_REDIRECT_URIS: usize = 10;
const MAX_REDIRECT_URI_LENGTH: usize = 2000;
/// A document is small; a slow or big answer is refused.
const LIMITS: FetchLimits = FetchLimits {
    timeout: Duration::from_secs(5),
    max_body: 16 * 1024,
};

/// Whether `client_id` is a document URL: https with a path (not `/`), no fragment or
/// credentials — or http on a loopback IP, for tests on one machine.
pub(crate) fn is_document_url(client_id: &str) -> bool {
    let Ok(url) = Url::parse(client_id) else {
        return false;
    };
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && is_loopback_ip(&url));
    scheme_ok
        && url.path() != "/"
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none()
}

/// Fetches and checks the document at `client_id`, from a global address (or a loopback one
/// when `loopback`, the issuer being on loopback itself: see [`global_address`]); the error
/// says what is wrong with it.
///
/// Every failure to fetch a JSON document (refused or reset connection, timeout, an address
/// not fetched from, a status other than 200, too large, not JSON) gets one and the same
/// message: the page must not tell a closed port from an open one, or a timeout from an answer,
/// to whoever picks the URL (a port scanner of this machine). The details go to the debug log.
pub(crate) async fn fetch(client_id: &str, loopback: bool) -> Result<PublicClient, String> {
    let not_fetched = || {
        format!(
            "the client metadata document at {client_id} could not be fetched: serve it at this \
             URL from a public address, with status 200, as JSON, within {} s and {} KiB",
            LIMITS.timeout.as_secs(),
            LIMITS.max_body / 1024
        )
    };
    let url = Url::parse(client_id).map_err(|err| format!("client_id is not a URL: {err}"))?;
    if on_refused_ip_literal(&url, loopback) {
        tracing::debug!(
            client_id,
            "client metadata document on an address not fetched from"
        );
        return Err(not_fetched());
    }
    let client = global_address::client(loopback).map_err(|err| {
        tracing::debug!(client_id, error = %err, "client metadata document not fetched");
        not_fetched()
    })?;
    let fetched = get_json_with(client, &url, LIMITS).await.map_err(|err| {
        tracing::debug!(client_id, error = %err, "client metadata document not fetched");
        not_fetched()
    })?;
    checked(client_id, &fetched.json)
}

/// Whether `url`'s host is an IP literal the issuer may not connect to. A literal is connected
/// to without resolving, so it is checked here; names are checked when resolved.
fn on_refused_ip_literal(url: &Url, loopback: bool) -> bool {
    let literal = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return false,
    };
    !global_address::allowed(literal, loopback)
}

/// The client `document` describes, if it is the document of `client_id`.
fn checked(client_id: &str, document: &Value) -> Result<PublicClient, String> {
    let refusal = |why: &str| format!("the client metadata document at {client_id} {why}");
    let Some(document) = document.as_object() else {
        return Err(refusal("is not a JSON object"));
    };
    if document.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(refusal("does not name this URL as its client_id"));
    }
    let Some(name) = document.get("client_name").and_then(Value::as_str) else {
        return Err(refusal("has no client_name"));
    };
    if document.get("client_secret").is_some() {
        return Err(refusal(
            "holds a client_secret, which a public document must not",
        ));
    }
    match document
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
    {
        None | Some("none") => {}
        Some(_) => {
            return Err(refusal(
                "asks for a token_endpoint_auth_method other than none, which this issuer does not offer",
            ));
        }
    }
    let redirect_uris = redirect_uris(document).map_err(|why| refusal(&why))?;
    Ok(PublicClient {
        id: client_id.to_owned(),
        name: Some(name.to_owned()),
        redirect_uris,
    })
}

/// The `redirect_uris` of a registration or metadata document: a non-empty array of
/// redirect URIs a client may use.
pub(crate) fn redirect_uris(document: &Map<String, Value>) -> Result<Vec<String>, String> {
    let Some(listed) = document.get("redirect_uris").and_then(Value::as_array) else {
        return Err("has no redirect_uris array".to_owned());
    };
    if listed.is_empty() {
        return Err("lists no redirect URI".to_owned());
    }
    if listed.len() > MAX_REDIRECT_URIS {
        return Err(format!("lists more than {MAX_REDIRECT_URIS} redirect URIs"));
    }
    listed
        .iter()
        .map(|uri| {
            let uri = uri
                .as_str()
                .ok_or("lists a redirect URI that is not a string")?;
            if uri.len() > MAX_REDIRECT_URI_LENGTH {
                return Err(format!(
                    "lists a redirect URI longer than {MAX_REDIRECT_URI_LENGTH} bytes"
                ));
            }
            match redirect_uri::refusal(uri) {
                None => Ok(uri.to_owned()),
                Some(why) => Err(format!("lists {uri:?}: {why}")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn document_urls() {
        assert!(is_document_url("https://app.example.com/client.json"));
        assert!(is_document_url("http://127.0.0.1:8080/client.json"));
        assert!(!is_document_url("https://app.example.com/"));
        assert!(!is_document_url("http://app.example.com/client.json"));
        assert!(!is_document_url("http://localhost:8080/client.json"));
        assert!(!is_document_url("https://u:p@app.example.com/client.json"));
        assert!(!is_document_url("https://app.example.com/c.json#x"));
        assert!(!is_document_url("my-client"));
    }

    #[test]
    fn ip_literals_off_the_public_internet_are_refused_before_connecting() {
        let refused =
            |url: &str, loopback| on_refused_ip_literal(&Url::parse(url).unwrap(), loopback);
        for private in [
            "https://10.0.0.1/c.json",
            "https://169.254.169.254/c.json",
            "https://[fd00::1]/c.json",
            "https://[::ffff:192.168.0.1]/c.json",
            "https://0.0.0.0/c.json",
        ] {
            assert!(refused(private, true), "{private}");
        }
        assert!(refused("http://127.0.0.1:9/c.json", false));
        assert!(!refused("http://127.0.0.1:9/c.json", true));
        assert!(!refused("https://8.8.8.8/c.json", false));
        assert!(
            !refused("https://app.example.com/c.json", false),
            "names: when resolved"
        );
    }

    #[test]
    fn a_document_must_name_itself_and_list_usable_redirect_uris() {
        let id = "https://app.example.com/client.json";
        let good = json!({"client_id": id, "client_name": "App", "redirect_uris": ["http://127.0.0.1/cb"]});
        let client = checked(id, &good).unwrap();
        assert_eq!(client.redirect_uris, ["http://127.0.0.1/cb"]);
        for (bad, why) in [
            (
                json!({"client_id": "https://other.example/c.json", "client_name": "A", "redirect_uris": ["https://a/cb"]}),
                "client_id",
            ),
            (
                json!({"client_id": id, "redirect_uris": ["https://a/cb"]}),
                "client_name",
            ),
            (
                json!({"client_id": id, "client_name": "A", "redirect_uris": []}),
                "no redirect URI",
            ),
            (
                json!({"client_id": id, "client_name": "A", "redirect_uris": ["javascript:x"]}),
                "scheme",
            ),
            (
                json!({"client_id": id, "client_name": "A", "redirect_uris": ["https://a/cb"], "client_secret": "s"}),
                "client_secret",
            ),
            (
                json!({"client_id": id, "client_name": "A", "redirect_uris": ["https://a/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
                "token_endpoint_auth_method",
            ),
        ] {
            let error = checked(id, &bad).unwrap_err();
            assert!(error.contains(why), "{error}");
        }
    }
}
