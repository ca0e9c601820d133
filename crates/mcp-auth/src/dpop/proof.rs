//! One DPoP proof checked against the request it came with (RFC 9449 §4.3): everything but
//! the replay of its `jti` and the token's binding, which need the store and the token's claims.

use std::str::FromStr;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::Method;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use serde_json::{Map, Value};
use url::Url;

use crate::verify::key_set::{has_private_members, usable_key};
use crate::wire::json::{self, Unread};

/// The longest `jti` accepted: a random id needs far less, and the replay store keeps them.
const MAX_JTI_LEN: usize = 256;

/// The longest proof accepted, in bytes: a header with an RSA-4096 key and a few claims fit in
/// well under this.
pub(crate) const MAX_PROOF_LEN: usize = 8 * 1024;

/// What a request is, as its proof must name it.
pub(crate) struct ProofRequest<'a> {
    pub(crate) method: &'a Method,
    /// The request's public URL without query and fragment (`htu` must equal it).
    pub(crate) url: &'a Url,
    /// The access token the proof accompanies (`ath` must be its SHA-256).
    pub(crate) token: &'a str,
    /// Now, in seconds since the Unix epoch.
    pub(crate) now: u64,
}

/// What a proof that passed its checks says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckedProof {
    /// The RFC 7638 SHA-256 thumbprint of its key, which the token's `cnf.jkt` must equal.
    pub(crate) jkt: String,
    /// Its unique id, never to be accepted twice.
    pub(crate) jti: String,
    /// The server nonce it carries, if any (RFC 9449 §9).
    pub(crate) nonce: Option<String>,
}

/// Checks `proof` for `request`: its form (`typ` `dpop+jwt`, an allowed asymmetric `alg`, a
/// public `jwk`), its signature by that key, and its claims (`htm`, `htu`, `iat` within
/// `window` seconds of now, `ath`, a `jti`). The error says which check failed.
pub(crate) fn check(
    proof: &str,
    algorithms: &[Algorithm],
    window: u64,
    request: &ProofRequest<'_>,
) -> Result<CheckedProof, &'static str> {
    if proof.len() > MAX_PROOF_LEN {
        return Err("the DPoP proof is too large");
    }
    let mut parts = proof.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the DPoP proof is not a signed JWT");
    };
    let header = json_object(
        header,
        "the DPoP proof's header is not a JSON object",
        "the DPoP proof's header repeats a member",
    )?;
    let typ = header.get("typ").and_then(Value::as_str);
    if !typ.is_some_and(|typ| typ.eq_ignore_ascii_case("dpop+jwt")) {
        return Err("the DPoP proof's typ is not dpop+jwt");
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(|alg| Algorithm::from_str(alg).ok())
        .filter(|alg| algorithms.contains(alg))
        .ok_or("the DPoP proof's alg is not one this server accepts")?;
    let jwk = header
        .get("jwk")
        .ok_or("the DPoP proof's header has no jwk")?;
    if has_private_members(jwk) {
        return Err("the DPoP proof's jwk carries private key material");
    }
    let key = usable_key(jwk)
        .filter(|key| key.accepts(alg))
        .ok_or("the DPoP proof's jwk is not a public key for its alg")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "the DPoP proof's signature is not base64url")?;
    let signed = &proof[..proof.len() - signature_len(proof)];
    if !key.verifies(alg, signed.as_bytes(), &signature) {
        return Err("the DPoP proof's signature does not verify with its jwk");
    }

    let claims = json_object(
        payload,
        "the DPoP proof's claims are not a JSON object",
        "the DPoP proof repeats a claim",
    )?;
    let text = |name| claims.get(name).and_then(Value::as_str);
    let jti = text("jti")
        .filter(|jti| !jti.is_empty() && jti.len() <= MAX_JTI_LEN)
        .ok_or("the DPoP proof has no usable jti")?;
    if text("htm") != Some(request.method.as_str()) {
        return Err("the DPoP proof's htm is not the request's method");
    }
    let htu = text("htu")
        .and_then(|htu| Url::parse(htu).ok())
        .ok_or("the DPoP proof's htu is not a URL")?;
    if !same_target(&htu, request.url) {
        return Err("the DPoP proof's htu is not the request's URL");
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_u64)
        .ok_or("the DPoP proof has no iat")?;
    if iat.abs_diff(request.now) > window {
        return Err("the DPoP proof's iat is too far from now");
    }
    if text("ath") != Some(access_token_hash(request.token).as_str()) {
        return Err("the DPoP proof's ath is not the hash of the access token");
    }
    let jkt = serde_json::from_value::<Jwk>(jwk.clone())
        .ok()
        .and_then(|jwk| jwk.thumbprint(ThumbprintHash::SHA256).ok())
        .ok_or("the DPoP proof's jwk has no thumbprint")?;
    Ok(CheckedProof {
        jkt,
        jti: jti.to_owned(),
        nonce: text("nonce").map(str::to_owned),
    })
}

/// `ath`: the base64url SHA-256 of the access token (RFC 9449 §4.2).
pub(crate) fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes()))
}

/// Whether `htu` names `expected`, ignoring its query and fragment (RFC 9449 §4.3: both are
/// left out of the comparison). Both are already normalised by `Url` (RFC 3986 §6.2.2–6.2.3:
/// scheme and host case, default port, dot segments, an empty path).
fn same_target(htu: &Url, expected: &Url) -> bool {
    htu.scheme() == expected.scheme()
        && htu.host() == expected.host()
        && htu.port_or_known_default() == expected.port_or_known_default()
        && htu.path() == expected.path()
        && htu.username().is_empty()
        && htu.password().is_none()
}

/// The length of the signature part with its dot.
fn signature_len(proof: &str) -> usize {
    proof
        .rsplit_once('.')
        .map_or(0, |(_, signature)| signature.len() + 1)
}

/// A part of the proof, read strictly: a member repeated at any depth refuses the proof, as it
/// does a token (one reader would check one `htu` and another honour the other).
fn json_object(
    encoded: &str,
    not_an_object: &'static str,
    repeated: &'static str,
) -> Result<Map<String, Value>, &'static str> {
    json::base64url_object(encoded).map_err(|unread| match unread {
        Unread::RepeatedMember => repeated,
        Unread::NotBase64Url | Unread::NotJson => not_an_object,
    })
}
