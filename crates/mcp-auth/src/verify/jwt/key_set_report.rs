//! What a key set offers JWT mode, for reports such as `mcp-auth discover`.

use jsonwebtoken::Algorithm;

use crate::error::{ConfigError, UrlKind};
use crate::issuer::discovery::Discovery;
use crate::issuer::fetch::{FetchError, FetchLimits, get_json};
use crate::issuer::url_rules::parse_issuer_endpoint;
use crate::verify::key_set::{ASYMMETRIC, KeySet};

/// The keys of a key set that JWT mode could verify tokens with, and how many it would leave out.
///
/// ```no_run
/// use mcp_auth::AuthServerType;
/// use mcp_auth::discovery::Discovery;
/// use mcp_auth::verify::KeySetReport;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let discovery = Discovery::new("https://auth.example.com", AuthServerType::Oidc);
/// let report = KeySetReport::fetch(&discovery, "https://auth.example.com/jwks").await?;
/// for key in &report.keys {
///     println!("{:?} verifies {:?}", key.kid, key.algorithms);
/// }
/// println!("{} keys left out", report.ignored);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySetReport {
    /// Each usable key, sorted by `kid`.
    pub keys: Vec<UsableKey>,
    /// How many keys were left out (encryption keys, symmetric or weak keys, unknown types).
    pub ignored: usize,
}

/// One key JWT mode could use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsableKey {
    /// The key's `kid`, if it has one.
    pub kid: Option<String>,
    /// The signature algorithms it verifies here.
    pub algorithms: Vec<Algorithm>,
}

/// Why a key set could not be reported on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeySetError {
    /// The key set URL is not usable.
    #[error(transparent)]
    InvalidUrl(#[from] ConfigError),
    /// The key set could not be fetched.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The document is JSON but not a key set.
    #[error("{url} is not a key set: {reason}")]
    NotAKeySet {
        /// The key set URL.
        url: String,
        /// What is wrong with the document.
        reason: String,
    },
}

impl KeySetReport {
    /// Fetches the key set that the metadata found by `discovery` names (bounded like
    /// discovery, under the URL rules JWT mode applies to that issuer) and says which keys JWT
    /// mode could use.
    pub async fn fetch(discovery: &Discovery, jwks_uri: &str) -> Result<Self, KeySetError> {
        let url = parse_issuer_endpoint(
            UrlKind::JwksUri,
            discovery.issuer(),
            jwks_uri,
            discovery.allows_insecure_http(),
        )?;
        let fetched = get_json(&url, FetchLimits::default()).await?;
        let set = KeySet::parse(&fetched.json, None).map_err(|reason| KeySetError::NotAKeySet {
            url: jwks_uri.to_owned(),
            reason: reason.to_owned(),
        })?;
        let mut keys: Vec<UsableKey> = set
            .keys()
            .map(|key| UsableKey {
                kid: key.kid.clone(),
                algorithms: ASYMMETRIC
                    .into_iter()
                    .filter(|alg| key.accepts(*alg))
                    .collect(),
            })
            .collect();
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        Ok(Self {
            keys,
            ignored: set.ignored,
        })
    }
}
