//! A client's DPoP key (RFC 9449), to bind test tokens to and to sign proofs with.

use aws_lc_rs::rand;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::ThumbprintHash;
use serde_json::{Value, json};

use super::error::TestingError;
use super::keys::{KeyMaterial, TestKey};
use crate::clock::unix_now;
use crate::dpop::access_token_hash;

/// A DPoP key pair, as a client holds it: [`TokenBuilder::dpop_bound`](super::TokenBuilder::dpop_bound)
/// binds a token to it (`cnf.jkt`) and [`proof`](Self::proof) signs the proof of one request.
/// [`generate`](Self::generate) makes a fresh key; [`fixture`](Self::fixture) and
/// [`with`](Self::with) give fixture keys whose private halves ship with the crate: for tests
/// only.
///
/// ```
/// use mcp_auth::testing::{DpopKey, TestIssuer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let issuer = TestIssuer::start().await?;
/// let key = DpopKey::generate()?;
/// let token = issuer.token().audience("https://api.example.com/mcp").dpop_bound(&key).sign()?;
/// let proof = key.proof("POST", "https://api.example.com/mcp", &token)?;
/// // Authorization: DPoP {token}, DPoP: {proof}
/// assert_eq!(proof.split('.').count(), 3);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DpopKey {
    key: TestKey,
    /// The RFC 7638 thumbprint of its public key.
    jkt: String,
}

impl DpopKey {
    /// An EC P-256 key generated now, signing ES256 proofs: its private half exists only in
    /// this process.
    ///
    /// ```
    /// use mcp_auth::testing::DpopKey;
    ///
    /// let (one, other) = (DpopKey::generate()?, DpopKey::generate()?);
    /// assert_ne!(one.thumbprint(), other.thumbprint());
    /// # Ok::<(), mcp_auth::testing::TestingError>(())
    /// ```
    pub fn generate() -> Result<Self, TestingError> {
        Self::from_key(TestKey::generate(Algorithm::ES256, "dpop")?)
    }

    /// The fixture EC P-256 key signing ES256 proofs: the same key at every run and in every
    /// process (a token bound to it in one can be proved in another), its private half
    /// published with the crate.
    ///
    /// ```
    /// use mcp_auth::testing::DpopKey;
    ///
    /// assert_eq!(DpopKey::fixture()?.thumbprint(), DpopKey::fixture()?.thumbprint());
    /// # Ok::<(), mcp_auth::testing::TestingError>(())
    /// ```
    pub fn fixture() -> Result<Self, TestingError> {
        Self::with(KeyMaterial::P256, Algorithm::ES256)
    }

    /// The fixture key of this material signing proofs with `alg`.
    pub fn with(material: KeyMaterial, alg: Algorithm) -> Result<Self, TestingError> {
        Self::from_key(TestKey::new(material, "dpop", alg)?)
    }

    fn from_key(key: TestKey) -> Result<Self, TestingError> {
        let jkt = key.jwk.thumbprint(ThumbprintHash::SHA256)?;
        Ok(Self { key, jkt })
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key: what a bound token's `cnf.jkt` holds.
    pub fn thumbprint(&self) -> &str {
        &self.jkt
    }

    /// The public key as a proof's header carries it.
    pub fn public_jwk(&self) -> Value {
        json!(self.key.jwk)
    }

    /// A fresh proof for one request: `method` and `url` (`htm`, `htu`), bound to `token`
    /// (`ath`), issued now with a random `jti`.
    pub fn proof(&self, method: &str, url: &str, token: &str) -> Result<String, TestingError> {
        self.proof_with(&self.header(), &Self::claims(method, url, token)?)
    }

    /// [`proof`](Self::proof) carrying the server's `nonce` (from a `DPoP-Nonce` header).
    pub fn proof_with_nonce(
        &self,
        method: &str,
        url: &str,
        token: &str,
        nonce: &str,
    ) -> Result<String, TestingError> {
        let mut claims = Self::claims(method, url, token)?;
        claims["nonce"] = json!(nonce);
        self.proof_with(&self.header(), &claims)
    }

    fn claims(method: &str, url: &str, token: &str) -> Result<Value, TestingError> {
        let mut jti = [0u8; 16];
        rand::fill(&mut jti).map_err(|_| TestingError::Random)?;
        Ok(json!({
            "jti": URL_SAFE_NO_PAD.encode(jti),
            "htm": method,
            "htu": url,
            "iat": unix_now(),
            "ath": access_token_hash(token),
        }))
    }

    /// The header [`proof`](Self::proof) uses: `typ` `dpop+jwt`, the key's `alg` and public
    /// `jwk`; change it and sign with [`proof_with`](Self::proof_with) to test refusals.
    pub fn header(&self) -> Value {
        json!({ "typ": "dpop+jwt", "alg": self.key.alg, "jwk": self.public_jwk() })
    }

    /// `header` and `claims` signed with this key, whatever they say.
    pub fn proof_with(&self, header: &Value, claims: &Value) -> Result<String, TestingError> {
        self.proof_with_raw(&header.to_string(), &claims.to_string())
    }

    /// A header and claims given as JSON text, signed with this key: for what a [`Value`]
    /// cannot hold, such as a member written twice.
    ///
    /// ```
    /// use mcp_auth::testing::DpopKey;
    ///
    /// let key = DpopKey::generate()?;
    /// let proof = key.proof_with_raw(r#"{"typ":"dpop+jwt","typ":"JWT"}"#, r#"{"jti":"1"}"#)?;
    /// assert_eq!(proof.split('.').count(), 3);
    /// # Ok::<(), mcp_auth::testing::TestingError>(())
    /// ```
    pub fn proof_with_raw(&self, header: &str, claims: &str) -> Result<String, TestingError> {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &self.key.encoding_key, self.key.alg)?;
        Ok(format!("{message}.{signature}"))
    }
}
