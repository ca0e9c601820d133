//! Public clients (RFC 6749 §2.1: no secret): registered at the registration endpoint
//! (RFC 7591) or known by a metadata document at their `client_id` URL.

use super::client_document;
use super::redirect_uri;
use super::state::{IssuerState, lock};

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

/// The public client `client_id` names: a registered one, or the one its metadata document
/// describes (fetched now). The error says why there is none.
pub(crate) async fn public_client(
    shared: &IssuerState,
    client_id: &str,
) -> Result<PublicClient, String> {
    if let Some(client) = lock(&shared.public_clients).get(client_id) {
        return Ok(client.clone());
    }
    if client_document::is_document_url(client_id) {
        return client_document::fetch(client_id).await;
    }
    Err(format!(
        "unknown client_id {client_id:?}: register at the registration endpoint or use a client metadata document URL"
    ))
}

/// Whether `client_id` may use the token endpoint without a secret: a registered public
/// client or a metadata document URL (what it may exchange was bound at the authorization
/// endpoint).
pub(crate) fn is_public(shared: &IssuerState, client_id: &str) -> bool {
    lock(&shared.public_clients).contains_key(client_id)
        || client_document::is_document_url(client_id)
}
