//! Entry points for the fuzz targets in `fuzz/`, into parsers that have no public API of their
//! own. Compiled only with `--cfg fuzzing`, which `cargo fuzz` sets: never part of a normal
//! build, never a promise.

use http::header::WWW_AUTHENTICATE;
use jsonwebtoken::Algorithm;
use serde_json::Value;

use crate::bearer::{ChallengeParams, Rejection};
use crate::observe::Reason;
use crate::verify::{ASYMMETRIC, KeySet};

/// A key the key set parser kept: its `kid`, the JWK as published, and the algorithms it
/// verifies.
#[derive(Debug)]
pub struct KeptKey {
    /// The key's `kid`.
    pub kid: Option<String>,
    /// The JWK as the document published it.
    pub published: Value,
    /// Every algorithm the key may verify.
    pub algorithms: Vec<Algorithm>,
}

/// The keys `KeySet::parse` keeps from a JWKS document, and how many a second parse (with the
/// first as the previous set) keeps; `Err` when the document has no `keys` array.
pub fn key_set(document: &Value) -> Result<(Vec<KeptKey>, usize), String> {
    let set = KeySet::parse(document, None)?;
    let again = KeySet::parse(document, Some(&set))?.len();
    let kept = set
        .keys()
        .map(|key| KeptKey {
            kid: key.kid.clone(),
            published: key.published().clone(),
            algorithms: ASYMMETRIC
                .into_iter()
                .filter(|alg| key.accepts(*alg))
                .collect(),
        })
        .collect();
    Ok((kept, again))
}

/// A refusal to answer, as the fuzz target picks it.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// No credentials: no `error`.
    NoCredentials,
    /// `invalid_token` with this detail.
    InvalidToken(String),
    /// `insufficient_scope` lacking `missing`, needing `needed` (the layer's scopes when `None`).
    InsufficientScope {
        /// Scopes the token lacks.
        missing: Vec<String>,
        /// Every scope the operation needs.
        needed: Option<Vec<String>>,
    },
}

/// The status and `WWW-Authenticate` value the layer answers `refusal` with, for a resource
/// whose metadata is at `metadata_url` and which requires `required_scopes`.
pub fn challenge(
    metadata_url: &str,
    required_scopes: &[String],
    show_error_details: bool,
    refusal: Refusal,
) -> (u16, Option<String>) {
    let params = ChallengeParams::new(metadata_url, required_scopes, show_error_details, None);
    let rejection = match refusal {
        Refusal::NoCredentials => Rejection::NoCredentials,
        Refusal::InvalidToken(detail) => {
            Rejection::InvalidToken(Reason::InvalidToken, detail.into())
        }
        Refusal::InsufficientScope { missing, needed } => {
            Rejection::InsufficientScope { missing, needed }
        }
    };
    let response = rejection.to_response(&params, false);
    let value = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    (response.status().as_u16(), value)
}
