//! The test issuer's signing keys: fixed private keys shipped for tests, each with its public JWK.

use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey};

use super::error::TestingError;

/// Which fixed test key pair to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyMaterial {
    /// RSA 2048 bits (RS* and PS* algorithms).
    Rsa,
    /// A second RSA 2048 key pair, for rotation tests.
    RsaNext,
    /// EC P-256 (ES256).
    P256,
    /// EC P-384 (ES384).
    P384,
    /// Ed25519 (EdDSA).
    Ed25519,
}

impl KeyMaterial {
    fn pem(self) -> &'static str {
        match self {
            Self::Rsa => include_str!("keys/rsa-a.pem"),
            Self::RsaNext => include_str!("keys/rsa-b.pem"),
            Self::P256 => include_str!("keys/ec-p256.pem"),
            Self::P384 => include_str!("keys/ec-p384.pem"),
            Self::Ed25519 => include_str!("keys/ed25519.pem"),
        }
    }

    fn encoding_key(self) -> Result<EncodingKey, TestingError> {
        let pem = self.pem().as_bytes();
        Ok(match self {
            Self::Rsa | Self::RsaNext => EncodingKey::from_rsa_pem(pem)?,
            Self::P256 | Self::P384 => EncodingKey::from_ec_pem(pem)?,
            Self::Ed25519 => EncodingKey::from_ed_pem(pem)?,
        })
    }
}

/// A signing key of the test issuer, with the public JWK it publishes.
#[derive(Clone)]
pub struct TestKey {
    /// The key's `kid`.
    pub kid: String,
    /// The algorithm it signs with.
    pub alg: Algorithm,
    /// The private key.
    pub encoding_key: EncodingKey,
    /// The public key as published in the key set (`kid`, `alg`, `use: sig`).
    pub jwk: Jwk,
}

impl TestKey {
    /// The key pair `material` under `kid`, signing with `alg`.
    pub fn new(
        material: KeyMaterial,
        kid: impl Into<String>,
        alg: Algorithm,
    ) -> Result<Self, TestingError> {
        let kid = kid.into();
        let encoding_key = material.encoding_key()?;
        let mut jwk = Jwk::from_encoding_key(&encoding_key, alg)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Ok(Self {
            kid,
            alg,
            encoding_key,
            jwk,
        })
    }

    /// The keys a new test issuer publishes: `rs256` (RSA), `ps256` (the same RSA pair),
    /// `es256`, `es384` and `eddsa`, each named after its algorithm.
    pub fn defaults() -> Result<Vec<Self>, TestingError> {
        Ok(vec![
            Self::new(KeyMaterial::Rsa, "rs256", Algorithm::RS256)?,
            Self::new(KeyMaterial::Rsa, "ps256", Algorithm::PS256)?,
            Self::new(KeyMaterial::P256, "es256", Algorithm::ES256)?,
            Self::new(KeyMaterial::P384, "es384", Algorithm::ES384)?,
            Self::new(KeyMaterial::Ed25519, "eddsa", Algorithm::EdDSA)?,
        ])
    }
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}
