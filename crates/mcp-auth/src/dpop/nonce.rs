//! Server nonces (RFC 9449 §9): values a client must put in its proofs, so that a proof made in
//! advance (by a thief holding the key for a while) is useless. Stateless: a nonce is the HMAC
//! of the current time window under a secret the replicas share, so any replica accepts what
//! another issued, and nothing is stored.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::clock::unix_now;

/// How long one nonce is issued for, in seconds; the previous window's is accepted too.
const WINDOW_SECS: u64 = 300;

/// The shortest secret accepted, in bytes.
pub(crate) const MIN_SECRET_LEN: usize = 32;

/// Issues and checks nonces under one secret.
#[derive(Clone)]
pub(crate) struct Nonces {
    key: hmac::Key,
}

impl Nonces {
    pub(crate) fn new(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// The nonce to hand out now.
    pub(crate) fn current(&self) -> String {
        self.of_window(unix_now() / WINDOW_SECS)
    }

    /// Whether `nonce` is the current window's or the previous one's.
    pub(crate) fn accepts(&self, nonce: &str) -> bool {
        let window = unix_now() / WINDOW_SECS;
        [window, window.saturating_sub(1)]
            .into_iter()
            .any(|window| {
                // Compared as MAC tags: in constant time.
                URL_SAFE_NO_PAD
                    .decode(nonce)
                    .is_ok_and(|tag| hmac::verify(&self.key, &window.to_be_bytes(), &tag).is_ok())
            })
    }

    fn of_window(&self, window: u64) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.key, &window.to_be_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_accepted_under_its_secret_only() {
        let nonces = Nonces::new(&[7; 32]);
        let nonce = nonces.current();
        assert!(nonces.accepts(&nonce));
        assert!(nonces.accepts(&nonces.of_window(unix_now() / WINDOW_SECS - 1)));
        assert!(!nonces.accepts(&nonces.of_window(unix_now() / WINDOW_SECS - 2)));
        assert!(!Nonces::new(&[8; 32]).accepts(&nonce));
        assert!(!nonces.accepts("not a nonce"));
    }
}
