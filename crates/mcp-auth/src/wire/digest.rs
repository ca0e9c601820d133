//! How a token is known without being kept: its SHA-256, the key of every cache and store
//! (verified tokens, introspection answers, sessions' principals) and what API keys are compared
//! by.

use aws_lc_rs::digest::{SHA256, digest};

/// The SHA-256 of `token`.
pub(crate) fn token_digest(token: &str) -> [u8; 32] {
    let mut sha256 = [0; 32];
    sha256.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    sha256
}

/// [`token_digest`] in lower-case hexadecimal, as `sha256sum` prints it.
pub(crate) fn token_digest_hex(token: &str) -> String {
    token_digest(token)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_the_sha_256_of_the_token() {
        // `printf %s token | sha256sum`
        assert_eq!(
            token_digest_hex("token"),
            "3c469e9d6c5875d37a43f353d4f88e61fcf812c66eee3457465a40b0da4153e0"
        );
    }
}
