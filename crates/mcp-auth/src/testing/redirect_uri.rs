//! Redirect URIs of public clients: which ones may be registered, and when a request's
//! redirect URI is a registered one (RFC 6749 §3.1.2, RFC 8252 §7.3 and §8.4).

use url::Url;

use crate::issuer::url_rules::{is_loopback, is_loopback_ip};

/// Why `uri` cannot be a redirect URI, or `None` when it can: an absolute URI without a
/// fragment, `https`, `http` on a loopback host, or a native app's private-use scheme — never a
/// scheme a browser would run or read (`javascript:`, `data:`, `file:`...).
pub(crate) fn refusal(uri: &str) -> Option<&'static str> {
    let Ok(url) = Url::parse(uri) else {
        return Some("a redirect URI must be an absolute URI");
    };
    if url.fragment().is_some() {
        return Some("a redirect URI must not have a fragment (RFC 6749 §3.1.2)");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Some("a redirect URI must not carry credentials");
    }
    match url.scheme() {
        "https" => None,
        "http" if is_loopback(&url) => None,
        "http" => Some("an http redirect URI must be on a loopback host (RFC 8252 §8.3)"),
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" | "ws" | "wss" => {
            Some("this scheme cannot be a redirect URI")
        }
        _ => None,
    }
}

/// Whether `requested` names the registered redirect URI `registered`: the same string, or,
/// for an `http` loopback IP literal, the same URI on another port (RFC 8252 §7.3: a native
/// app listens on whatever port it gets).
pub(crate) fn matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(registered), Ok(mut requested)) = (Url::parse(registered), Url::parse(requested))
    else {
        return false;
    };
    if registered.scheme() != "http" || !is_loopback_ip(&registered) {
        return false;
    }
    // The port is the only part that may differ; compare the rest as registered.
    if requested.set_port(registered.port()).is_err() {
        return false;
    }
    requested == registered
}

/// Whether an answer sent to `uri` stays on the user's machine: `http` on a loopback host, or
/// a native app's private-use scheme in reverse-domain form (RFC 8252 §7.1: the scheme
/// contains a `.`, as in `com.example.app:/callback`). Codes go there without asking in
/// auto-approve mode, and errors before any user interaction (elsewhere the issuer would be
/// an open redirector, RFC 9700 §4.11.2).
///
/// Every other scheme may hand the answer to a program that sends it off this machine: a
/// browser (`microsoft-edge:https://...`, `web+x:` handlers a web site registered), a network
/// client (`ftp://`), an office suite that opens URLs (`ms-word:`). Those meet the consent
/// page.
pub(crate) fn stays_on_this_machine(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|url| match url.scheme() {
        "http" => is_loopback(&url),
        scheme => is_reverse_domain_scheme(scheme),
    })
}

/// A private-use scheme in reverse-domain form (RFC 8252 §7.1): a `.` in the scheme, which
/// no browser or network protocol scheme has.
fn is_reverse_domain_scheme(scheme: &str) -> bool {
    scheme.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable_uris() {
        for uri in [
            "https://app.example.com/callback",
            "http://127.0.0.1:6274/oauth/callback",
            "http://[::1]/cb",
            "http://localhost:6274/oauth/callback",
            "cursor://anysphere.cursor-mcp/oauth/callback",
        ] {
            assert_eq!(refusal(uri), None, "{uri}");
        }
        for uri in [
            "/callback",
            "https://app.example.com/cb#frag",
            "http://app.example.com/callback",
            "https://user:pw@app.example.com/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
        ] {
            assert!(refusal(uri).is_some(), "{uri}");
        }
    }

    #[test]
    fn answers_that_stay_on_this_machine() {
        assert!(stays_on_this_machine("http://127.0.0.2:9/cb"));
        assert!(stays_on_this_machine("http://localhost/cb"));
        assert!(stays_on_this_machine("com.example.app:/oauth/callback"));
        assert!(stays_on_this_machine("com.example.app://callback"));
        assert!(!stays_on_this_machine("https://127.0.0.1/cb"));
        assert!(!stays_on_this_machine("https://app.example.com/cb"));
        assert!(!stays_on_this_machine("http://app.example.com/cb"));
        assert!(!stays_on_this_machine("not a uri"));
        // Schemes without a dot may be handled by a browser or a network client (issue 21).
        for elsewhere in [
            "web+x:cb",
            "ftp://files.example.com/cb",
            "microsoft-edge:https://attacker.example/cb",
            "ms-word:ofe|u|https://attacker.example/cb",
            "cursor://anysphere.cursor-mcp/oauth/callback",
        ] {
            assert!(!stays_on_this_machine(elsewhere), "{elsewhere}");
        }
    }

    #[test]
    fn exact_match_or_loopback_ip_on_another_port() {
        assert!(matches("https://a.example/cb", "https://a.example/cb"));
        assert!(!matches("https://a.example/cb", "https://a.example/cb/"));
        assert!(!matches(
            "https://a.example/cb",
            "https://a.example:8443/cb"
        ));
        assert!(!matches("https://a.example/cb", "https://a.example/cb?x=1"));
        assert!(matches("http://127.0.0.1/cb", "http://127.0.0.1:53682/cb"));
        assert!(matches(
            "http://127.0.0.1:1/cb",
            "http://127.0.0.1:53682/cb"
        ));
        assert!(matches("http://[::1]:1/cb", "http://[::1]:2/cb"));
        assert!(!matches(
            "http://127.0.0.1:1/cb",
            "http://127.0.0.1:2/other"
        ));
        assert!(!matches("http://127.0.0.1:1/cb", "http://127.0.0.2:1/cb"));
        assert!(!matches("http://127.0.0.1:1/cb", "https://127.0.0.1:1/cb"));
        // Names are not IP literals: localhost must match exactly.
        assert!(!matches("http://localhost:1/cb", "http://localhost:2/cb"));
    }
}
