//! The test issuer's signing keys, each with its public JWK: key pairs generated afresh (what a
//! started issuer publishes), or fixture keys whose private halves ship with the crate (for
//! tests that need the same keys at every run).

use std::sync::Mutex;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, Ed25519KeyPair, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey};

use super::error::TestingError;

/// Which fixture key pair to use. Their private halves are published with the crate: anyone can
/// sign with them, so trust them in tests only.
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
    /// The fixture key pair `material` under `kid`, signing with `alg`. Its private half ships
    /// with the crate: never trust it outside tests.
    pub fn new(
        material: KeyMaterial,
        kid: impl Into<String>,
        alg: Algorithm,
    ) -> Result<Self, TestingError> {
        Self::from_encoding_key(material.encoding_key()?, kid, alg)
    }

    /// A key pair generated now for `alg`, under `kid`: RSA 2048 bits for the RS* and PS*
    /// algorithms, P-256 for ES256, P-384 for ES384, Ed25519 for EdDSA. Its private half
    /// exists only in this process. Other algorithms (HS*) give
    /// [`TestingError::Jwt`] with [`ErrorKind::UnsupportedAlgorithm`].
    pub fn generate(alg: Algorithm, kid: impl Into<String>) -> Result<Self, TestingError> {
        Self::from_encoding_key(generated_encoding_key(alg)?, kid, alg)
    }

    /// The fixture keys `rs256` (RSA), `ps256` (the same RSA pair), `es256`, `es384` and
    /// `eddsa`, each named after its algorithm: the same at every run, for tests that need
    /// reproducible keys ([`TestIssuer::start_with_fixture_keys`] publishes them).
    ///
    /// Their private halves are public (they ship with the crate, in `src/testing/keys`):
    /// anyone can sign tokens with them, so an issuer publishing them must only ever be
    /// trusted by tests.
    ///
    /// [`TestIssuer::start_with_fixture_keys`]: super::TestIssuer::start_with_fixture_keys
    pub fn fixtures() -> Result<Vec<Self>, TestingError> {
        Ok(vec![
            Self::new(KeyMaterial::Rsa, "rs256", Algorithm::RS256)?,
            Self::new(KeyMaterial::Rsa, "ps256", Algorithm::PS256)?,
            Self::new(KeyMaterial::P256, "es256", Algorithm::ES256)?,
            Self::new(KeyMaterial::P384, "es384", Algorithm::ES384)?,
            Self::new(KeyMaterial::Ed25519, "eddsa", Algorithm::EdDSA)?,
        ])
    }

    /// The keys a new test issuer publishes: the same `kid`s as [`TestKey::fixtures`], but
    /// generated in this process, once (an RSA pair takes up to a few hundred milliseconds in
    /// a debug build), then shared by every issuer of the process.
    pub(crate) fn fresh_defaults() -> Result<Vec<Self>, TestingError> {
        static FRESH: Mutex<Option<Vec<TestKey>>> = Mutex::new(None);
        // Held while generating: issuers starting together wait for one set, not make one each.
        let mut fresh = FRESH
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(keys) = fresh.as_ref() {
            return Ok(keys.clone());
        }
        let rsa = generated_encoding_key(Algorithm::RS256)?;
        let keys = vec![
            Self::from_encoding_key(rsa.clone(), "rs256", Algorithm::RS256)?,
            Self::from_encoding_key(rsa, "ps256", Algorithm::PS256)?,
            Self::generate(Algorithm::ES256, "es256")?,
            Self::generate(Algorithm::ES384, "es384")?,
            Self::generate(Algorithm::EdDSA, "eddsa")?,
        ];
        *fresh = Some(keys.clone());
        Ok(keys)
    }

    fn from_encoding_key(
        encoding_key: EncodingKey,
        kid: impl Into<String>,
        alg: Algorithm,
    ) -> Result<Self, TestingError> {
        let kid = kid.into();
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
}

/// A private key generated by aws-lc-rs for `alg`, in the form `jsonwebtoken` signs with.
fn generated_encoding_key(alg: Algorithm) -> Result<EncodingKey, TestingError> {
    match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| failed("RSA"))?;
            let pkcs8: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| failed("RSA"))?;
            // jsonwebtoken signs RSA with the PKCS#1 `RSAPrivateKey` and aws-lc-rs exports
            // PKCS#8 only: its PEM reader unwraps the one from the other, as for the fixtures.
            Ok(EncodingKey::from_rsa_pem(pem(pkcs8.as_ref()).as_bytes())?)
        }
        Algorithm::ES256 => ec_key(&ECDSA_P256_SHA256_FIXED_SIGNING),
        Algorithm::ES384 => ec_key(&ECDSA_P384_SHA384_FIXED_SIGNING),
        Algorithm::EdDSA => {
            // PKCS#8 v1: jsonwebtoken reads the public key off an Ed25519 v1 document only.
            let pkcs8 = Ed25519KeyPair::generate()
                .and_then(|pair| pair.to_pkcs8v1())
                .map_err(|_| failed("Ed25519"))?;
            Ok(EncodingKey::from_ed_der(pkcs8.as_ref()))
        }
        // HS* (no key pair to publish) and any algorithm a later jsonwebtoken adds.
        _ => Err(TestingError::Jwt(ErrorKind::UnsupportedAlgorithm.into())),
    }
}

fn ec_key(alg: &'static EcdsaSigningAlgorithm) -> Result<EncodingKey, TestingError> {
    let pkcs8 = EcdsaKeyPair::generate(alg)
        .and_then(|pair| pair.to_pkcs8v1())
        .map_err(|_| failed("EC"))?;
    Ok(EncodingKey::from_ec_der(pkcs8.as_ref()))
}

fn failed(kind: &str) -> TestingError {
    TestingError::Jwt(
        ErrorKind::Provider(format!("aws-lc-rs could not generate an {kind} key pair")).into(),
    )
}

/// PKCS#8 DER as a `PRIVATE KEY` PEM document.
fn pem(der: &[u8]) -> String {
    let base64 = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in base64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}
