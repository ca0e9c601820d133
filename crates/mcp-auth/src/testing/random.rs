//! Unguessable values the test issuer hands out: opaque tokens, codes, client ids and secrets.

use aws_lc_rs::rand;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::TestingError;

/// 32 random bytes, base64url without padding: opaque tokens, codes, client ids.
pub(crate) fn random_token() -> Result<String, TestingError> {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes).map_err(|_| TestingError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}
