//! A JSON Web Key Set (RFC 7517) reduced to the keys that can verify our tokens, parsed once.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use aws_lc_rs::signature::{
    self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents, VerificationAlgorithm,
};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use serde_json::Value;

/// Every signature algorithm a key set key can verify here.
pub(crate) const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The first of `algorithms` that is not [`ASYMMETRIC`] (an HMAC one, or `none`'s kin): tokens
/// and DPoP proofs are checked with public keys, so such an algorithm could only be forged.
pub(crate) fn first_not_asymmetric(algorithms: &[Algorithm]) -> Option<Algorithm> {
    algorithms
        .iter()
        .copied()
        .find(|alg| !ASYMMETRIC.contains(alg))
}

/// Smallest RSA modulus accepted, in bits (NIST SP 800-131A).
const MIN_RSA_BITS: usize = 2048;

/// What a verification key is, which decides the algorithms it may verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

/// One public key, ready to verify signatures.
pub(crate) struct VerifyKey {
    pub(crate) kid: Option<String>,
    /// The key parsed once per algorithm it accepts (aws-lc-rs), so a verification costs the
    /// signature check alone: no key parsing, no Montgomery set-up per token.
    prepared: Vec<(Algorithm, ParsedPublicKey)>,
    kind: KeyKind,
    /// The key's own `alg`, when the set names one: then only that algorithm is accepted.
    alg: Option<Algorithm>,
    /// The JWK as published, to recognise the same key in a later fetch of the set.
    published: Value,
}

impl VerifyKey {
    /// Whether `signature` over `message` verifies with this key and `alg`.
    pub(crate) fn verifies(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        self.prepared
            .iter()
            .find(|(prepared, _)| *prepared == alg)
            .is_some_and(|(_, key)| key.verify_sig(message, signature).is_ok())
    }

    /// Whether this key may verify a signature made with `alg`: the key type, curve and the
    /// key's own `alg` must all agree with it.
    pub(crate) fn accepts(&self, alg: Algorithm) -> bool {
        let kind_fits = match self.kind {
            KeyKind::Rsa => matches!(
                alg,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ),
            KeyKind::P256 => alg == Algorithm::ES256,
            KeyKind::P384 => alg == Algorithm::ES384,
            KeyKind::Ed25519 => alg == Algorithm::EdDSA,
        };
        kind_fits && self.alg.is_none_or(|own| own == alg)
    }

    /// The JWK as published.
    #[cfg(fuzzing)]
    pub(crate) fn published(&self) -> &Value {
        &self.published
    }
}

/// The usable keys of a key set, by `kid`.
#[derive(Default)]
pub(crate) struct KeySet {
    by_kid: HashMap<String, Vec<Arc<VerifyKey>>>,
    without_kid: Vec<Arc<VerifyKey>>,
    /// How many keys of the document were left out, for logs.
    pub(crate) ignored: usize,
}

impl KeySet {
    /// Parses a JWKS document, keeping only keys that can verify signatures. A key that is
    /// malformed or unusable is left out; it never spoils the rest of the set.
    ///
    /// A key that `previous` already had, published identically, keeps its identity (the same
    /// `Arc`), so what was verified with it stays valid: see the verified-token cache.
    pub(crate) fn parse(document: &Value, previous: Option<&KeySet>) -> Result<Self, String> {
        let keys = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("the key set has no \"keys\" array")?;
        let mut set = Self::default();
        for published in keys {
            if has_private_members(published) {
                // Whoever can read the key set can sign with this key: it proves nothing.
                tracing::warn!(
                    kid = published.get("kid").and_then(serde_json::Value::as_str),
                    "a key set publishes a key with private or secret members; it is left out"
                );
                set.ignored += 1;
                continue;
            }
            let known = previous.and_then(|previous| previous.find_published(published));
            match known.or_else(|| usable_key(published).map(Arc::new)) {
                Some(key) => set.insert(key),
                None => set.ignored += 1,
            }
        }
        Ok(set)
    }

    fn find_published(&self, published: &Value) -> Option<Arc<VerifyKey>> {
        self.keys().find(|key| key.published == *published).cloned()
    }

    fn insert(&mut self, key: Arc<VerifyKey>) {
        match &key.kid {
            Some(kid) => self.by_kid.entry(kid.clone()).or_default().push(key),
            None => self.without_kid.push(key),
        }
    }

    /// How many usable keys the set has.
    pub(crate) fn len(&self) -> usize {
        self.by_kid.values().map(Vec::len).sum::<usize>() + self.without_kid.len()
    }

    /// The keys that may verify a token with this `kid` and `alg`. A token without `kid` may be
    /// verified by any key of the set that accepts `alg`.
    pub(crate) fn candidates(&self, kid: Option<&str>, alg: Algorithm) -> Vec<Arc<VerifyKey>> {
        self.pool(kid)
            .filter(|key| key.accepts(alg))
            .cloned()
            .collect()
    }

    /// Whether some key may verify a token with this `kid` and `alg`.
    pub(crate) fn has_candidate(&self, kid: Option<&str>, alg: Algorithm) -> bool {
        self.pool(kid).any(|key| key.accepts(alg))
    }

    /// The keys a token with this `kid` may name: those under it, or all for a token without.
    fn pool<'s>(&'s self, kid: Option<&str>) -> Box<dyn Iterator<Item = &'s Arc<VerifyKey>> + 's> {
        match kid {
            Some(kid) => Box::new(self.by_kid.get(kid).into_iter().flatten()),
            None => Box::new(self.keys()),
        }
    }

    /// Why no key fits, for the refusal.
    pub(crate) fn why_no_key(&self, kid: Option<&str>) -> &'static str {
        match kid {
            Some(kid) if self.by_kid.contains_key(kid) => {
                "the key named by the token's kid does not accept its alg"
            }
            _ => "no key of the issuer's key set matches the token's kid and alg",
        }
    }

    /// Every usable key.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &Arc<VerifyKey>> {
        self.by_kid.values().flatten().chain(&self.without_kid)
    }

    /// Whether the set has a key under this `kid`, whatever its algorithm.
    pub(crate) fn has_kid(&self, kid: &str) -> bool {
        self.by_kid.contains_key(kid)
    }
}

/// Whether a published JWK carries private (RSA `d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`; EC and
/// OKP `d`) or secret (`k`) members (RFC 7518 §6).
pub(crate) fn has_private_members(jwk: &Value) -> bool {
    const PRIVATE: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
    jwk.as_object()
        .is_some_and(|members| PRIVATE.iter().any(|name| members.contains_key(*name)))
}

/// The key a public JWK describes, when it can verify signatures here: an asymmetric key of a
/// supported type and curve, for signing, whose own `alg` fits its type.
pub(crate) fn usable_key(value: &Value) -> Option<VerifyKey> {
    let jwk: Jwk = serde_json::from_value(value.clone()).ok()?;
    let common = &jwk.common;
    if common
        .public_key_use
        .as_ref()
        .is_some_and(|usage| *usage != PublicKeyUse::Signature)
    {
        return None;
    }
    if common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return None;
    }
    let alg = match &common.key_algorithm {
        Some(alg) => Some(Algorithm::from_str(&alg.to_string()).ok()?),
        None => None,
    };
    let kind = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => KeyKind::Rsa,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => KeyKind::P256,
            EllipticCurve::P384 => KeyKind::P384,
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            KeyKind::Ed25519
        }
        // Symmetric keys never verify tokens from a key set, and unknown types cannot.
        _ => return None,
    };
    let decoded = DecodingKey::from_jwk(&jwk).ok()?;
    let mut key = VerifyKey {
        kid: common.key_id.clone(),
        prepared: Vec::new(),
        kind,
        alg,
        published: value.clone(),
    };
    let accepted: Vec<Algorithm> = ASYMMETRIC
        .into_iter()
        .filter(|alg| key.accepts(*alg))
        .collect();
    // A key whose own `alg` contradicts its type (an EC key for PS256) verifies nothing.
    if accepted.is_empty() {
        return None;
    }
    for alg in accepted {
        let parsed = prepare(&decoded, alg)?;
        key.prepared.push((alg, parsed));
    }
    Some(key)
}

/// The aws-lc-rs key for `alg` (the algorithms jsonwebtoken's aws-lc backend uses), or `None`
/// when the material is unusable: malformed, or an RSA modulus under 2048 bits.
fn prepare(decoded: &DecodingKey, alg: Algorithm) -> Option<ParsedPublicKey> {
    let (rsa, other): (
        Option<&'static RsaParameters>,
        Option<&'static dyn VerificationAlgorithm>,
    ) = match alg {
        Algorithm::RS256 => (Some(&signature::RSA_PKCS1_2048_8192_SHA256), None),
        Algorithm::RS384 => (Some(&signature::RSA_PKCS1_2048_8192_SHA384), None),
        Algorithm::RS512 => (Some(&signature::RSA_PKCS1_2048_8192_SHA512), None),
        Algorithm::PS256 => (Some(&signature::RSA_PSS_2048_8192_SHA256), None),
        Algorithm::PS384 => (Some(&signature::RSA_PSS_2048_8192_SHA384), None),
        Algorithm::PS512 => (Some(&signature::RSA_PSS_2048_8192_SHA512), None),
        Algorithm::ES256 => (None, Some(&signature::ECDSA_P256_SHA256_FIXED)),
        Algorithm::ES384 => (None, Some(&signature::ECDSA_P384_SHA384_FIXED)),
        Algorithm::EdDSA => (None, Some(&signature::ED25519)),
        _ => return None,
    };
    match (decoded.kind(), rsa, other) {
        (DecodingKeyKind::RsaModulusExponent { n, e }, Some(params), _) => {
            let components = RsaPublicKeyComponents {
                n: without_leading_zeros(n),
                e: without_leading_zeros(e),
            };
            if significant_bits(components.n) < MIN_RSA_BITS {
                return None;
            }
            components.to_parsed_public_key(params).ok()
        }
        // EC: the uncompressed point 0x04 || x || y; Ed25519: the 32-byte public key.
        (DecodingKeyKind::SecretOrDer(bytes), None, Some(algorithm)) => {
            ParsedPublicKey::new(algorithm, bytes).ok()
        }
        _ => None,
    }
}

/// RFC 7518 asks for the minimum octets, but some issuers pad `n` or `e` with a zero byte; the
/// number is the same, so it is accepted (jsonwebtoken would refuse every token of such a key).
fn without_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn significant_bits(big_endian: &[u8]) -> usize {
    match big_endian.first() {
        Some(first) => big_endian.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}
