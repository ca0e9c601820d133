//! Public clients (RFC 6749 §2.1: no secret): registered at the registration endpoint
//! (RFC 7591) or known by a metadata document at their `client_id` URL.

use super::redirect_uri;

/// A client that authenticates with nothing but its `client_id` and proves itself with PKCE.
#[derive(Debug, Clone)]
pub(crate) struct PublicClient {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) redirect_uris: Vec<String>,
}

impl PublicClient {
    /// The redirect URI of an authorization request: the one it names if registered (RFC 8252
    /// §7.3: a loopback IP's port may differ), or the only registered one if it names none.
    pub(crate) fn redirect_uri(&self, requested: Option<&str>) -> Option<String> {
        match requested {
            Some(requested) => self
                .redirect_uris
                .iter()
                .any(|registered| redirect_uri::matches(registered, requested))
                .then(|| requested.to_owned()),
            None => match self.redirect_uris.as_slice() {
                [only] => Some(only.clone()),
                _ => None,
            },
        }
    }
}
