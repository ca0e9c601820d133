//! API keys: static secrets for scripts and CI, sent as `Authorization: Bearer KEY` like any
//! token. They are not OAuth: no authorization server issues them, they do not expire, and an
//! MCP client only sends one when told to (a configured header or token), never through its
//! OAuth flow. The server keeps only each key's SHA-256, never the key.

use std::str::FromStr;
use std::sync::Arc;

use aws_lc_rs::constant_time::verify_slices_are_equal;

use crate::auth_info::AuthInfo;
use crate::error::ConfigError;
use crate::scope::{SharedScopeRelation, check_scope_token, is_scope_token};
use crate::wire::{token_digest, token_digest_hex};

/// The API keys a layer accepts, each by its SHA-256 and the identity it stands for.
///
/// Make a key with `openssl rand -base64 32 | tr -d '=\n' | tr '+/' '-_'` (it must be a
/// `b64token`: letters, digits, `-._~+/`), and configure its digest:
/// `printf %s "$KEY" | sha256sum`.
///
/// ```
/// use mcp_auth::verify::{ApiKey, ApiKeys};
///
/// let keys = ApiKeys::new().key(
///     ApiKey::new("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "ci-bot")
///         .scopes(["mcp:tools"]),
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct ApiKeys {
    keys: Vec<ApiKey>,
}

/// One API key: the hexadecimal SHA-256 of the key, and whose it is.
///
/// Configuration files and the command's `--api-key-sha256` write one as
/// `SHA256=SUBJECT[:SCOPE SCOPE...]`, which [`parse`](str::parse) reads:
///
/// ```
/// use mcp_auth::verify::ApiKey;
///
/// let key: ApiKey =
///     "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08=ci-bot:mcp:tools".parse()?;
/// assert_eq!((key.subject(), key.granted_scopes()), ("ci-bot", &["mcp:tools".to_owned()][..]));
/// assert!("the-key-itself=ci-bot".parse::<ApiKey>().is_err());
/// # Ok::<(), mcp_auth::verify::InvalidApiKeyEntry>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    sha256_hex: String,
    subject: String,
    scopes: Vec<String>,
}

impl ApiKey {
    /// The key whose SHA-256 is `sha256_hex` (64 hexadecimal digits), standing for `subject`,
    /// with no scopes.
    ///
    /// ```
    /// let key = mcp_auth::verify::ApiKey::new("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "ci-bot");
    /// ```
    pub fn new(sha256_hex: impl Into<String>, subject: impl Into<String>) -> Self {
        Self {
            sha256_hex: sha256_hex.into(),
            subject: subject.into(),
            scopes: Vec::new(),
        }
    }

    /// The key `plain_text` itself, standing for `subject`: its digest is computed here. For
    /// tests and for keys read from a secret store at start; a configuration file should hold
    /// the digest ([`new`](Self::new)), never the key.
    ///
    /// ```
    /// use mcp_auth::verify::ApiKey;
    ///
    /// // `printf %s test | sha256sum`
    /// let key = ApiKey::from_plain_text("test", "ci-bot");
    /// let same = ApiKey::new("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "ci-bot");
    /// assert_eq!(format!("{key:?}"), format!("{same:?}"));
    /// ```
    pub fn from_plain_text(plain_text: &str, subject: impl Into<String>) -> Self {
        Self::new(token_digest_hex(plain_text), subject)
    }

    /// The scopes the key grants.
    ///
    /// ```
    /// let key = mcp_auth::verify::ApiKey::new("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "ci-bot")
    ///     .scopes(["mcp:tools", "mcp:admin"]);
    /// ```
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
}

impl ApiKey {
    /// The hexadecimal SHA-256 of the key, as given (lower case when parsed).
    pub fn sha256_hex(&self) -> &str {
        &self.sha256_hex
    }

    /// Whose key it is.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The scopes it grants.
    pub fn granted_scopes(&self) -> &[String] {
        &self.scopes
    }
}

/// Why a `SHA256=SUBJECT[:SCOPES]` entry is not an API key. It never repeats the entry, which
/// may hold a key pasted by mistake where its digest belongs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidApiKeyEntry(&'static str);

impl FromStr for ApiKey {
    type Err = InvalidApiKeyEntry;

    /// `SHA256=SUBJECT[:SCOPES]`: the key's SHA-256 in 64 hexadecimal digits, the subject it
    /// stands for (no `:`), then optionally the scopes it grants, separated by spaces (each
    /// once).
    fn from_str(entry: &str) -> Result<Self, Self::Err> {
        const NOT_A_DIGEST: InvalidApiKeyEntry = InvalidApiKeyEntry(
            "the part before '=' must be the key's SHA-256, 64 hexadecimal digits \
             (printf %s \"$KEY\" | sha256sum), never the key itself",
        );
        let (hex, rest) = entry.split_once('=').ok_or(NOT_A_DIGEST)?;
        if parse_digest(hex).is_none() {
            return Err(NOT_A_DIGEST);
        }
        let (subject, list) = match rest.split_once(':') {
            Some((subject, list)) => (subject, Some(list)),
            None => (rest, None),
        };
        if subject.is_empty() {
            return Err(InvalidApiKeyEntry("the subject after '=' is empty"));
        }
        let mut scopes: Vec<String> = Vec::new();
        for scope in list
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
        {
            if !is_scope_token(scope) {
                return Err(InvalidApiKeyEntry(
                    "a scope is not a scope token (RFC 6749: visible ASCII except '\"' and '\\', separated by spaces)",
                ));
            }
            if !scopes.iter().any(|known| known == scope) {
                scopes.push(scope.to_owned());
            }
        }
        if list.is_some() && scopes.is_empty() {
            return Err(InvalidApiKeyEntry(
                "no scope after ':' (leave the ':' out for a key without scopes)",
            ));
        }
        Ok(ApiKey::new(hex.to_ascii_lowercase(), subject).scopes(scopes))
    }
}

impl ApiKeys {
    /// No keys yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts one more key.
    pub fn key(mut self, key: ApiKey) -> Self {
        self.keys.push(key);
        self
    }
}

/// Recognises API keys by digest.
pub(crate) struct ApiKeyVerifier {
    digests: Vec<[u8; 32]>,
    /// The identity of each key, in the order of `digests`; the token is filled in per request.
    identities: Vec<Arc<AuthInfo>>,
}

impl ApiKeyVerifier {
    /// Checks every key; their `AuthInfo` names `resource` as issuer and `audiences` as
    /// audience: the resource issued them to itself.
    pub(crate) fn new(
        keys: ApiKeys,
        resource: &str,
        audiences: &[String],
        scope_relation: &SharedScopeRelation,
    ) -> Result<Self, ConfigError> {
        let mut digests = Vec::new();
        let mut identities = Vec::new();
        for (index, key) in keys.keys.into_iter().enumerate() {
            let invalid = |reason| ConfigError::InvalidApiKey { index, reason };
            let digest = parse_digest(&key.sha256_hex)
                .ok_or_else(|| invalid("the SHA-256 must be 64 hexadecimal digits"))?;
            if digests.contains(&digest) {
                return Err(invalid("the same key is configured twice"));
            }
            if key.subject.is_empty() {
                return Err(invalid("the subject is empty"));
            }
            for scope in &key.scopes {
                check_scope_token(scope)?;
            }
            digests.push(digest);
            identities.push(Arc::new(AuthInfo {
                issuer: resource.to_owned(),
                subject: Some(key.subject),
                scopes: key.scopes,
                audience: audiences.to_vec(),
                scope_relation: scope_relation.clone(),
                ..AuthInfo::default()
            }));
        }
        Ok(Self {
            digests,
            identities,
        })
    }

    /// The identity of the key `token`, comparing its digest with every key's in constant time;
    /// `None` when it is no key of ours.
    pub(crate) fn identify(&self, token: &str) -> Option<Arc<AuthInfo>> {
        let presented = token_digest(token);
        let mut found = None;
        for (index, known) in self.digests.iter().enumerate() {
            if verify_slices_are_equal(presented.as_ref(), known).is_ok() {
                found = Some(index);
            }
        }
        let identity = self.identities.get(found?)?;
        let mut info = AuthInfo::clone(identity);
        token.clone_into(&mut info.token);
        Some(Arc::new(info))
    }
}

fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn an_entry_names_a_digest_a_subject_and_its_scopes() {
        let entry = format!(
            "{}=ci-bot:mcp:tools  mcp:admin mcp:tools",
            HEX.to_uppercase()
        );
        assert_eq!(
            entry.parse(),
            Ok(ApiKey::new(HEX, "ci-bot").scopes(["mcp:tools", "mcp:admin"]))
        );
        let bare: ApiKey = format!("{HEX}=ci-bot").parse().unwrap();
        assert_eq!((bare.subject(), bare.granted_scopes().len()), ("ci-bot", 0));
    }

    #[test]
    fn malformed_entries_are_refused_without_repeating_them() {
        let short = &HEX[..63];
        for bad in [
            "the-key-itself".to_owned(),
            "c2VjcmV0LWtleQ==".to_owned(),
            format!("{short}=ci-bot"),
            format!("{short}g=ci-bot"),
            format!("{HEX}="),
            format!("{HEX}=:mcp:tools"),
            format!("{HEX}=ci-bot:"),
            format!("{HEX}=ci-bot:mcp:\"tools"),
        ] {
            let reason = bad.parse::<ApiKey>().expect_err(&bad).to_string();
            assert!(
                !reason.contains(&bad) && !reason.contains("ci-bot"),
                "{reason}"
            );
        }
    }
}
