//! The token this layer shows the PDP: read from a file once, at build, and kept as a header
//! value marked sensitive, so that it is never printed (`Debug`, logs, errors).

use std::fmt;
use std::path::Path;

use http::HeaderValue;

use crate::error::ConfigError;

/// `Authorization: Bearer <token>`, the token read from a file.
#[derive(Clone)]
pub(super) struct Credentials {
    authorization: HeaderValue,
}

impl Credentials {
    /// The token in the file at `path`, surrounding whitespace trimmed. The errors name the file,
    /// never what it holds.
    pub(super) fn read(path: &Path) -> Result<Self, ConfigError> {
        let invalid =
            |reason: String| ConfigError::invalid_setting("AuthZen", "credentials_file", reason);
        let text = std::fs::read_to_string(path).map_err(|err| {
            invalid(format!(
                "{} could not be read ({err}): name a readable file holding the PDP's token",
                path.display()
            ))
        })?;
        Self::from_token(text.trim())
            .map_err(|reason| invalid(format!("{} {reason}", path.display())))
    }

    /// `token` as a bearer credential, or why it cannot be one.
    fn from_token(token: &str) -> Result<Self, &'static str> {
        if token.is_empty() {
            return Err("is empty: write the PDP's token in it");
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            "holds characters an HTTP header cannot carry (a line break inside the token?): write the token alone, on one line"
        })?;
        authorization.set_sensitive(true);
        Ok(Self { authorization })
    }

    /// The `Authorization` header value.
    pub(super) fn authorization(&self) -> &HeaderValue {
        &self.authorization
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(Bearer ***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_sent_as_a_bearer_credential_and_never_printed() {
        let credentials = Credentials::from_token("s3cret-token").unwrap();
        assert_eq!(credentials.authorization(), "Bearer s3cret-token");
        assert!(credentials.authorization().is_sensitive());
        assert!(!format!("{credentials:?}").contains("s3cret"));
        assert!(!format!("{:?}", credentials.authorization()).contains("s3cret"));
    }

    #[test]
    fn an_empty_or_multi_line_token_is_refused() {
        assert!(Credentials::from_token("").is_err());
        assert!(Credentials::from_token("one\ntwo").is_err());
    }
}
