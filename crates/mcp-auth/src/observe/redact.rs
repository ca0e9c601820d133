//! Text about URLs, made safe to print: the user-info (`user:password@`) of every URL in it
//! hidden, so no log line, error or banner repeats a password given in a URL.

use std::borrow::Cow;

/// `text` with the user-info of every URL in it (what lies between `://` and the last `@` of
/// the URL, RFC 3986 §3.2.1) replaced by `***`: `redis://:s3cret@cache:6379/0` becomes
/// `redis://***@cache:6379/0`. A URL ends at whitespace, a quote or an angle bracket, so a
/// password with a `/` or `#` in it (which a URL parser would misread) is hidden whole; a URL
/// with an `@` in its path loses a little more than its user-info. Text without user-info is
/// returned as it is.
///
/// ```
/// use mcp_auth::observe::redact_userinfo;
///
/// assert_eq!(
///     redact_userinfo("--replay-store: redis://:s3cret@cache:6379/0 is not a Redis URL"),
///     "--replay-store: redis://***@cache:6379/0 is not a Redis URL"
/// );
/// assert_eq!(
///     redact_userinfo("invalid value 'https://alice:pw@auth.example.com' for '--issuer'"),
///     "invalid value 'https://***@auth.example.com' for '--issuer'"
/// );
/// assert_eq!(redact_userinfo("https://auth.example.com/x"), "https://auth.example.com/x");
/// ```
pub fn redact_userinfo(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut searched = 0;
    while let Some(found) = text[searched..].find("://") {
        let authority = searched + found + "://".len();
        let end = text[authority..]
            .find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '`' | '<' | '>'))
            .map_or(text.len(), |len| authority + len);
        searched = end;
        if let Some(at) = text[authority..end].rfind('@') {
            out.push_str(&text[copied..authority]);
            out.push_str("***");
            copied = authority + at;
        }
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_user_info_is_hidden_and_nothing_else() {
        for (text, expected) in [
            ("redis://user:pw@host/0", "redis://***@host/0"),
            ("redis://:p/w#x@host/0", "redis://***@host/0"),
            (
                "a http://u:1@a.example, then \"https://v:2@b.example/p\"",
                "a http://***@a.example, then \"https://***@b.example/p\"",
            ),
            (
                "https://u:1@a.example,https://v:2@b.example",
                "https://***@b.example",
            ),
            ("mailto:someone@example.com", "mailto:someone@example.com"),
            ("no URL at all: a@b", "no URL at all: a@b"),
            ("https://a.example/", "https://a.example/"),
            ("ends with ://", "ends with ://"),
        ] {
            assert_eq!(redact_userinfo(text), expected, "{text}");
        }
        assert!(matches!(
            redact_userinfo("https://a.example"),
            Cow::Borrowed(_)
        ));
    }
}
