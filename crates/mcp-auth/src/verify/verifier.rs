//! Which verifier a token goes to. A custom verifier takes every token. Otherwise the token's
//! shape decides, never whichever verifier says yes: a JWT (three base64url parts, the first a
//! JSON object) goes to JWT mode when it is on, so a JWT of an untrusted issuer is refused, not
//! introspected; any other token is an API key when its digest is one, else goes to
//! introspection or userinfo (whichever is on: never both) when one is, else is refused.

use std::sync::Arc;

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::api_keys::ApiKeyVerifier;
use super::custom::CustomVerifier;
use super::introspection::IntrospectionVerifier;
use super::jwt::JwtVerifier;
use super::userinfo::UserinfoVerifier;
use crate::auth_info::AuthInfo;
use crate::error::VerifyError;
use crate::observe::Reason;
use crate::scope::SharedScopeRelation;

/// How a layer verifies tokens.
pub(crate) enum Verifier {
    /// The built-in verifiers that are on.
    BuiltIn {
        jwt: Option<Box<JwtVerifier>>,
        opaque: Option<OpaqueVerifier>,
        api_keys: Option<ApiKeyVerifier>,
    },
    /// The user's verifier (custom mode).
    Custom(CustomVerifier),
}

/// Who is asked about opaque tokens: the authorization server (introspection) or the
/// provider's user endpoint (userinfo).
pub(crate) enum OpaqueVerifier {
    Introspection(Box<IntrospectionVerifier>),
    Userinfo(Box<UserinfoVerifier>),
}

impl OpaqueVerifier {
    fn remembered(&self, token: &str) -> Option<Arc<AuthInfo>> {
        match self {
            Self::Introspection(verifier) => verifier.remembered(token),
            Self::Userinfo(verifier) => verifier.remembered(token),
        }
    }

    async fn verify(&self, token: &str) -> Result<Arc<AuthInfo>, VerifyError> {
        match self {
            Self::Introspection(verifier) => verifier.verify(token).await,
            Self::Userinfo(verifier) => verifier.verify(token).await,
        }
    }
}

impl Verifier {
    /// What is known of `token` without waiting: a JWT or opaque token verified before, or an
    /// API key.
    pub(crate) fn remembered(&self, token: &str) -> Option<Arc<AuthInfo>> {
        let Self::BuiltIn {
            opaque, api_keys, ..
        } = self
        else {
            return None;
        };
        match self.jwt_for(token) {
            Some(jwt) => jwt.remembered(token),
            None => api_keys
                .as_ref()
                .and_then(|keys| keys.identify(token))
                .or_else(|| opaque.as_ref()?.remembered(token)),
        }
    }

    /// Verifies a token [`remembered`](Self::remembered) knew nothing of (so not an API key).
    pub(crate) async fn verify(
        &self,
        token: &str,
        scope_relation: &SharedScopeRelation,
    ) -> Result<Arc<AuthInfo>, VerifyError> {
        let (jwt, opaque) = match self {
            Self::Custom(custom) => return custom.verify(token, scope_relation).await,
            Self::BuiltIn { jwt, opaque, .. } => (jwt, opaque),
        };
        if let Some(jwt) = self.jwt_for(token) {
            return jwt.verify(token).await;
        }
        match (opaque, jwt) {
            (Some(opaque), _) => opaque.verify(token).await,
            (None, Some(_)) => Err(VerifyError::invalid_token(
                "the token is neither a JWT nor a known API key",
            )
            .with_reason(Reason::UnknownToken)),
            (None, None) => Err(
                VerifyError::invalid_token("the token is not a known API key")
                    .with_reason(Reason::UnknownToken),
            ),
        }
    }

    /// JWT mode, when `token` goes to it: every token when it is the only built-in mode, else a
    /// token shaped like a JWT.
    fn jwt_for(&self, token: &str) -> Option<&JwtVerifier> {
        let Self::BuiltIn {
            jwt,
            opaque,
            api_keys,
        } = self
        else {
            return None;
        };
        let only_jwt = opaque.is_none() && api_keys.is_none();
        jwt.as_deref().filter(|_| only_jwt || looks_like_jwt(token))
    }
}

/// Base64 read leniently, padded or not: only to recognise a JWT's shape, never to read one.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);

/// Whether a token has the shape of a JWS in compact form: three parts, the first a JSON
/// object (RFC 7515 §7.1) in base64url — or in standard base64, padded or not, which a lenient
/// JWT library elsewhere might accept: such a token goes to JWT mode (which refuses it), never
/// to introspection, where an issuer could vouch for what JWT mode would refuse. An opaque
/// token or API key has no reason to look like one.
fn looks_like_jwt(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    [
        GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT),
        GeneralPurpose::new(&alphabet::STANDARD, LENIENT),
    ]
    .iter()
    .any(|engine| {
        engine
            .decode(header)
            .is_ok_and(|json| json.trim_ascii_start().first() == Some(&b'{'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

    #[test]
    fn a_json_header_in_either_base64_alphabet_padded_or_not_looks_like_a_jwt() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        // `{"alg":"RS256","x":">?"}` has `+`/`/` in standard base64 and needs padding.
        let json = r#"{"alg":"RS256","x":">?~"}"#;
        for header in [
            URL_SAFE.encode(json),
            STANDARD.encode(json),
            STANDARD_NO_PAD.encode(json),
        ] {
            assert!(looks_like_jwt(&format!("{header}.e30.c2ln")), "{header}");
        }
    }

    #[test]
    fn only_three_parts_with_a_json_header_look_like_a_jwt() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#);
        assert!(looks_like_jwt(&format!("{header}.e30.c2ln")));
        assert!(looks_like_jwt(&format!("{header}..")));
        assert!(!looks_like_jwt(&format!("{header}.e30")));
        assert!(!looks_like_jwt(&format!("{header}.e30.c2ln.x")));
        assert!(!looks_like_jwt("bm90IGpzb24.e30.c2ln"));
        assert!(!looks_like_jwt("Zm9v.YmFy.YmF6"));
        assert!(!looks_like_jwt("opaque-token-3f9a"));
    }
}
