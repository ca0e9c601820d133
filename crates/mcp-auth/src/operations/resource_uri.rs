//! Resource URIs as rules compare them. Servers resolve a URI before they read it: they decode
//! `%`-escapes, drop a query or fragment, collapse `//`, resolve `.` and `..`, read `\` as `/`,
//! cut `;params`, strip a trailing `/`, and on a case-insensitive file system (macOS, Windows)
//! ignore case. A rule on `file:///private/` must hold for every spelling that lands there, so:
//!
//! - only a URI in **canonical form** is compared at all: what a URL parser leaves as it is
//!   (lower-case scheme, no default port, ASCII only), with no user-info, query, fragment, `%`,
//!   `;` or `\`, no empty, `.` or `..` segment nor one ending in `.` (Windows drops it), and for
//!   `file:` an empty host. Any other URI gets the strictest rule;
//! - canonical URIs match rules **without regard to case**, and an exact rule matches with or
//!   without a trailing `/` (so does a prefix rule ending in `/` for the folder itself). Both
//!   only ever make a rule apply to more URIs, never fewer.

use url::Url;

use crate::wire::case_fold::fold;

/// `uri` when it is in canonical form, `None` when a server could read it as another URI.
pub(crate) fn canonical(uri: &str) -> Option<&str> {
    if uri.contains(['%', ';', '\\', '?', '#']) {
        return None;
    }
    let url = Url::parse(uri).ok()?;
    if url.as_str() != uri || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    if url.scheme() == "file" && url.host_str().is_some_and(|host| !host.is_empty()) {
        return None;
    }
    if url.cannot_be_a_base() {
        return Some(uri);
    }
    let mut segments = url.path().strip_prefix('/')?.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if (segment.is_empty() && !last) || segment.ends_with('.') {
            return None;
        }
    }
    Some(uri)
}

/// What a canonical URI is compared by: folded, without a trailing `/`.
pub(crate) fn key(uri: &str) -> String {
    let mut key = fold(uri).into_owned();
    if key.ends_with('/') && !key.ends_with(":/") && !key.ends_with("//") {
        key.pop();
    }
    key
}

/// Whether the canonical `uri` falls under the prefix rule `prefix` (given as configured).
pub(crate) fn under(uri: &str, prefix: &str) -> bool {
    let uri = fold(uri);
    let prefix = fold(prefix);
    uri.starts_with(prefix.as_ref()) || (prefix.ends_with('/') && uri == prefix[..prefix.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uris_are_those_no_server_reads_as_another() {
        for uri in [
            "file:///etc/passwd",
            "file:///private/",
            "file:///private/hr/pay.csv",
            "skill://internal/deploy/SKILL.md",
            "repo://Org/name",
            "https://example.com/doc",
            "urn:example:doc",
        ] {
            assert_eq!(canonical(uri), Some(uri), "{uri}");
        }
        for uri in [
            "file:///etc/passwd?",
            "file:///etc/passwd#x",
            "file:////private/x",
            "file:///private//hr/x",
            "file:///private/hr;x/pay.csv",
            "file:///private\\hr\\pay.csv",
            "file:///%70rivate/pay.csv",
            "file:///public/../private/pay.csv",
            "file:///public/./x",
            "file:///private./x",
            "file://localhost/etc/passwd",
            "file://evil/etc/passwd",
            "FILE:///etc/passwd",
            "https://user:pw@example.com/doc",
            "https://EXAMPLE.com/doc",
            "https://example.com:443/doc",
            "https://example.com/doc?id=1",
            "file:///caf\u{e9}",
            "relative/private",
            "",
        ] {
            assert_eq!(canonical(uri), None, "{uri}");
        }
    }

    #[test]
    fn keys_ignore_case_and_a_trailing_slash() {
        assert_eq!(key("file:///PRIVATE/Hr/"), key("file:///private/hr"));
        assert_eq!(key("file:///"), "file:///");
        assert_ne!(key("file:///etc/passwd"), key("file:///etc/passwd2"));
    }

    #[test]
    fn a_prefix_covers_its_folder_in_any_case() {
        assert!(under("file:///private/hr/x", "file:///private/"));
        assert!(under("file:///PRIVATE/hr/x", "file:///private/"));
        assert!(under("file:///private", "file:///private/"));
        assert!(under("file:///Private/", "file:///private/"));
        assert!(!under("file:///privatex", "file:///private/"));
        assert!(!under("file:///public/x", "file:///private/"));
    }
}
