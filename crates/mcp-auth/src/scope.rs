//! When granted scopes satisfy required ones: exact match, or a hierarchy where a broader scope
//! implies narrower ones (MCP 2026-07-28 requires servers to honour such implications).

use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::error::ConfigError;

/// Decides whether one granted scope satisfies one required scope.
///
/// Implement it for your own hierarchy; the two ready ones are [`ExactScopes`] (the default) and
/// [`PrefixScopes`].
///
/// ```
/// use mcp_auth::scope::ScopeRelation;
///
/// /// `admin` implies every scope.
/// struct AdminImpliesAll;
///
/// impl ScopeRelation for AdminImpliesAll {
///     fn satisfies(&self, granted: &str, required: &str) -> bool {
///         granted == "admin" || granted == required
///     }
/// }
/// assert!(AdminImpliesAll.satisfies("admin", "files:write"));
/// ```
pub trait ScopeRelation: Send + Sync + 'static {
    /// Whether holding `granted` is enough for `required`.
    fn satisfies(&self, granted: &str, required: &str) -> bool;
}

/// A required scope is satisfied only by the very same scope.
///
/// ```
/// use mcp_auth::scope::{ExactScopes, ScopeRelation};
///
/// assert!(ExactScopes.satisfies("read", "read"));
/// assert!(!ExactScopes.satisfies("read", "read:all"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ExactScopes;

impl ScopeRelation for ExactScopes {
    fn satisfies(&self, granted: &str, required: &str) -> bool {
        granted == required
    }
}

/// A scope implies every scope below it in a separator hierarchy: with `:`, `files` implies
/// `files:read` and `files:read:meta`, but not `filesystem`.
///
/// ```
/// use mcp_auth::scope::{PrefixScopes, ScopeRelation};
///
/// let scopes = PrefixScopes::new(':');
/// assert!(scopes.satisfies("files", "files:read"));
/// assert!(!scopes.satisfies("files:read", "files"));
/// assert!(!scopes.satisfies("files", "filesystem"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct PrefixScopes {
    separator: char,
}

impl PrefixScopes {
    /// A hierarchy whose levels are separated by `separator` (commonly `:` or `.`).
    pub fn new(separator: char) -> Self {
        Self { separator }
    }
}

impl ScopeRelation for PrefixScopes {
    fn satisfies(&self, granted: &str, required: &str) -> bool {
        match required.strip_prefix(granted) {
            Some("") => true,
            Some(rest) => rest.starts_with(self.separator),
            None => false,
        }
    }
}

/// A [`ScopeRelation`] shared by a bearer layer and every [`AuthInfo`](crate::AuthInfo) it lets
/// through, so that a tool asking [`AuthInfo::has_scope`](crate::AuthInfo::has_scope) gets the
/// answer the layer would give. [`ExactScopes`] unless made from another relation.
///
/// ```
/// use mcp_auth::scope::{PrefixScopes, ScopeRelation, SharedScopeRelation};
///
/// let relation = SharedScopeRelation::new(PrefixScopes::new(':'));
/// assert!(relation.satisfies("notes", "notes:read"));
/// assert!(!SharedScopeRelation::default().satisfies("notes", "notes:read"));
/// ```
#[derive(Clone)]
pub struct SharedScopeRelation(Arc<dyn ScopeRelation>);

impl SharedScopeRelation {
    /// Shares `relation`.
    pub fn new(relation: impl ScopeRelation) -> Self {
        Self(Arc::new(relation))
    }
}

impl Default for SharedScopeRelation {
    /// [`ExactScopes`], one instance for the whole process.
    fn default() -> Self {
        static EXACT: OnceLock<Arc<dyn ScopeRelation>> = OnceLock::new();
        Self(EXACT.get_or_init(|| Arc::new(ExactScopes)).clone())
    }
}

impl ScopeRelation for SharedScopeRelation {
    fn satisfies(&self, granted: &str, required: &str) -> bool {
        self.0.satisfies(granted, required)
    }
}

impl PartialEq for SharedScopeRelation {
    /// The same relation: the one instance shared.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SharedScopeRelation {}

impl fmt::Debug for SharedScopeRelation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedScopeRelation")
    }
}

/// The required scopes that no granted scope satisfies, in the order they were required.
pub(crate) fn missing_scopes<'r>(
    relation: &dyn ScopeRelation,
    granted: &[String],
    required: &'r [String],
) -> Vec<&'r str> {
    required
        .iter()
        .filter(|needed| !granted.iter().any(|held| relation.satisfies(held, needed)))
        .map(String::as_str)
        .collect()
}

/// Checks a scope against RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub(crate) fn check_scope_token(scope: &str) -> Result<(), ConfigError> {
    if is_scope_token(scope) {
        Ok(())
    } else {
        Err(ConfigError::InvalidScope {
            scope: scope.to_owned(),
        })
    }
}

/// The scope tokens of a space-delimited `scope` value (RFC 6749 §3.3), or `None` when one has a
/// character outside RFC 6749's set: split on the space character only, so `read\u{a0}admin` is
/// one (invalid) token, never `read` and `admin`. Empty segments (double, leading or trailing
/// spaces) are skipped.
pub(crate) fn split_scopes(list: &str) -> Option<Vec<String>> {
    list.split(' ')
        .filter(|token| !token.is_empty())
        .map(|token| is_scope_token(token).then(|| token.to_owned()))
        .collect()
}

/// Whether `token` is one RFC 6749 scope token (§3.3: visible ASCII but `"` and `\`, no
/// space): what every scope this crate is given must be.
///
/// ```
/// use mcp_auth::scope::is_scope_token;
///
/// assert!(is_scope_token("mcp:tools"));
/// assert!(!is_scope_token("read write"));
/// assert!(!is_scope_token("caf\u{e9}"));
/// assert!(!is_scope_token(""));
/// ```
pub fn is_scope_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(is_scope_char)
}

fn is_scope_char(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn exact_relation_reports_every_missing_scope() {
        let required = strings(&["read", "write", "admin"]);
        let missing = missing_scopes(&ExactScopes, &strings(&["write"]), &required);
        assert_eq!(missing, ["read", "admin"]);
    }

    #[test]
    fn prefix_relation_lets_a_broader_scope_cover_narrower_ones() {
        let required = strings(&["files:read", "files:write", "mail:send"]);
        let granted = strings(&["files", "mail"]);
        assert!(missing_scopes(&PrefixScopes::new(':'), &granted, &required).is_empty());
        let narrow = strings(&["files:read"]);
        assert_eq!(
            missing_scopes(&PrefixScopes::new(':'), &narrow, &required),
            ["files:write", "mail:send"]
        );
    }

    #[test]
    fn scope_strings_split_on_the_space_character_only() {
        assert_eq!(
            split_scopes(" read  write "),
            Some(vec!["read".to_owned(), "write".to_owned()])
        );
        assert_eq!(split_scopes(""), Some(vec![]));
        for smuggled in [
            "read\u{a0}admin",
            "read\tadmin",
            "read\nadmin",
            "read\u{2003}admin",
            "é",
        ] {
            assert_eq!(split_scopes(smuggled), None, "{smuggled:?}");
        }
    }

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        assert!(check_scope_token("files:read").is_ok());
        assert!(check_scope_token("https://api.example.com/read").is_ok());
        for bad in ["", "two words", "quo\"te", "back\\slash", "tab\t", "é"] {
            assert!(check_scope_token(bad).is_err(), "{bad:?} accepted");
        }
    }
}
