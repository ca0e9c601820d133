//! What the test issuer's HTTP side, its token builder and its endpoints share.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::client::TestClient;
use super::keys::TestKey;

/// What the server and the token builder share.
pub(crate) struct IssuerState {
    pub(crate) issuer: String,
    /// Keys that sign tokens (published or not).
    pub(crate) signing: Mutex<Vec<TestKey>>,
    /// The `kid`s published in the key set.
    pub(crate) published: Mutex<Vec<String>>,
    /// A raw key set body served instead of the published keys.
    pub(crate) jwks_override: Mutex<Option<String>>,
    /// A raw metadata document served instead of the real one.
    pub(crate) metadata_override: Mutex<Option<Value>>,
    pub(crate) jwks_cache_control: Mutex<Option<String>>,
    pub(crate) jwks_delay: Mutex<Duration>,
    pub(crate) down: AtomicBool,
    pub(crate) metadata_fetches: AtomicUsize,
    pub(crate) jwks_fetches: AtomicUsize,
    pub(crate) clients: Mutex<Vec<TestClient>>,
    /// Opaque access tokens and their claims; revoking one forgets it.
    pub(crate) opaque_tokens: Mutex<HashMap<String, Map<String, Value>>>,
    /// A raw introspection answer (content type, body) served instead of the real one.
    pub(crate) introspection_override: Mutex<Option<(String, String)>>,
    pub(crate) introspection_delay: Mutex<Duration>,
    pub(crate) introspection_calls: AtomicUsize,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl IssuerState {
    pub(crate) fn client(&self, id: &str) -> Option<TestClient> {
        lock(&self.clients)
            .iter()
            .find(|client| client.id == id)
            .cloned()
    }

    pub(crate) fn signing_key(&self, kid: &str) -> Option<TestKey> {
        lock(&self.signing)
            .iter()
            .find(|key| key.kid == kid)
            .cloned()
    }

    /// The claims of the opaque token `token`, unless it is unknown or revoked.
    pub(crate) fn opaque_claims(&self, token: &str) -> Option<Map<String, Value>> {
        lock(&self.opaque_tokens).get(token).cloned()
    }

    pub(crate) fn metadata(&self) -> Value {
        if let Some(document) = lock(&self.metadata_override).clone() {
            return document;
        }
        // Only what this server does: client_credentials at the token endpoint, introspection
        // (RFC 7662) of its opaque tokens. The authorization endpoint is listed because clients
        // require the field (RFC 8414 makes it mandatory); it answers that no browser flow is
        // offered.
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/jwks", self.issuer),
            "authorization_endpoint": format!("{}/authorize", self.issuer),
            "token_endpoint": format!("{}/token", self.issuer),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "introspection_endpoint": format!("{}/introspect", self.issuer),
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": [],
        })
    }

    pub(crate) fn jwks(&self) -> String {
        if let Some(body) = lock(&self.jwks_override).clone() {
            return body;
        }
        let published = lock(&self.published).clone();
        let keys: Vec<_> = lock(&self.signing)
            .iter()
            .filter(|key| published.contains(&key.kid))
            .map(|key| key.jwk.clone())
            .collect();
        json!({ "keys": keys }).to_string()
    }
}
