//! API keys: static secrets for scripts and CI, sent as `Authorization: Bearer KEY` like any
//! token. They are not OAuth: no authorization server issues them, they do not expire, and an
//! MCP client only sends one when told to (a configured header or token), never through its
//! OAuth flow. The server keeps only each key's SHA-256, never the key.

use std::sync::Arc;

use aws_lc_rs::constant_time::verify_slices_are_equal;

use crate::auth_info::AuthInfo;
use crate::error::ConfigError;
use crate::scope::{SharedScopeRelation, check_scope_token};
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
#[derive(Debug, Clone)]
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
