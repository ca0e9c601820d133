//! Names compared the way the most lenient server behind us compares them. Go's
//! `encoding/json` matches object keys to struct fields without regard to case and folds `ſ`
//! (U+017F) to `s` and `K` (U+212A, Kelvin) to `k` (the Go MCP SDK's CVE-2026-27896); .NET's
//! `PropertyNameCaseInsensitive` and Jackson's `ACCEPT_CASE_INSENSITIVE_PROPERTIES` do the same,
//! and some servers look tools up case-insensitively. A rule that compares exact strings would
//! see two names where such a server sees one.

use std::borrow::Cow;

/// `name` folded: upper-cased, then lower-cased, so that every character whose simple case
/// folding (or .NET's upper-case invariant) joins it to another lands on the same one. It folds
/// a little more than Unicode simple case folding (`ß` becomes `ss`): two names it calls equal
/// are only ever held to the stricter rule. A lower-case ASCII name is itself, not copied.
pub(crate) fn fold(name: &str) -> Cow<'_, str> {
    if name.is_ascii() {
        // Every request's names go through here; ASCII folds to its lower case (`K` and `ſ`
        // are not ASCII, so they take the long way).
        return if name.bytes().any(|byte| byte.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        };
    }
    Cow::Owned(
        name.chars()
            .flat_map(char::to_uppercase)
            .flat_map(char::to_lowercase)
            .collect(),
    )
}

/// Whether `a` and `b` [fold](fold) to the same name, without allocating for ASCII names (every
/// request's member names go through here).
pub(crate) fn alike(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        fold(a) == fold(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_the_go_siblings_of_k_and_s_fold_together() {
        for (a, b) in [
            ("params", "Params"),
            ("params", "PARAMS"),
            ("params", "param\u{17f}"),
            ("kind", "\u{212a}ind"),
            ("name", "nAmE"),
            ("straße", "STRASSE"),
        ] {
            assert_eq!(fold(a), fold(b), "{a} {b}");
        }
        assert_ne!(fold("name"), fold("names"));
        assert!(alike("params", "PARAMS") && alike("params", "param\u{17f}"));
        assert!(!alike("name", "names") && !alike("name", "nam\u{e9}"));
        assert_ne!(fold("admin_report"), fold("admin-report"));
    }
}
