//! What the test issuer's HTTP side, its token builder and its endpoints share.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::client::TestClient;
use super::client_document;
use super::grants::Grants;
use super::keys::TestKey;
use super::public_client::PublicClient;
use crate::issuer::url_rules::is_loopback;

/// What the server and the token builder share.
pub(crate) struct IssuerState {
    pub(crate) issuer: String,
    /// `host:port` of the issuer: the only `Host` it answers.
    pub(crate) authority: String,
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
    /// Delays the user endpoints (`/userinfo`, `/tokeninfo`, `/user...`).
    pub(crate) userinfo_delay: Mutex<Duration>,
    pub(crate) userinfo_calls: AtomicUsize,
    /// The user endpoints answer as GitHub does past its rate limit (403, no calls left).
    pub(crate) userinfo_rate_limited: AtomicBool,
    /// GitHub organization memberships: `(org, sub)` to `state` (`active`, `pending`).
    pub(crate) org_members: Mutex<HashMap<(String, String), String>>,
    /// Clients registered at the registration endpoint, by `client_id`.
    pub(crate) public_clients: Mutex<HashMap<String, PublicClient>>,
    /// Consents, codes and refresh tokens of the authorization code flow.
    pub(crate) grants: Mutex<Grants>,
    /// Approve authorization requests without showing the consent page.
    pub(crate) auto_approve: AtomicBool,
    /// Refuse authorization and token requests without `resource` (RFC 8707).
    pub(crate) resource_required: AtomicBool,
    /// The `sub` of tokens from the authorization code flow: the user at the consent page.
    pub(crate) resource_owner: Mutex<String>,
    /// The scopes this issuer grants (and publishes); `None`: any.
    pub(crate) scopes_supported: Mutex<Option<Vec<String>>>,
    /// The lifetime of the access tokens the token endpoint issues.
    pub(crate) access_token_lifetime: Mutex<Duration>,
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

    /// The public client `client_id` names: a registered one, or the one its metadata
    /// document describes (fetched now). The error says why there is none.
    pub(crate) async fn public_client(&self, client_id: &str) -> Result<PublicClient, String> {
        if let Some(client) = lock(&self.public_clients).get(client_id) {
            return Ok(client.clone());
        }
        if client_document::is_document_url(client_id) {
            // Its clients run on this machine when it does: loopback documents are theirs.
            let loopback = url::Url::parse(&self.issuer).is_ok_and(|url| is_loopback(&url));
            return client_document::fetch(client_id, loopback).await;
        }
        Err(format!(
            "unknown client_id {client_id:?}: register at the registration endpoint or use a \
             client metadata document URL"
        ))
    }

    /// Whether `client_id` may use the token endpoint without a secret: a registered public
    /// client or a metadata document URL (what it may exchange was bound at the authorization
    /// endpoint).
    pub(crate) fn is_public(&self, client_id: &str) -> bool {
        lock(&self.public_clients).contains_key(client_id)
            || client_document::is_document_url(client_id)
    }

    pub(crate) fn auto_approve(&self) -> bool {
        self.auto_approve.load(Ordering::SeqCst)
    }

    pub(crate) fn resource_required(&self) -> bool {
        self.resource_required.load(Ordering::SeqCst)
    }

    /// The access token lifetime in whole seconds (at least one).
    pub(crate) fn access_token_lifetime_secs(&self) -> i64 {
        let secs = lock(&self.access_token_lifetime).as_secs().max(1);
        i64::try_from(secs).unwrap_or(i64::MAX)
    }

    /// Whether this issuer grants every one of `scopes`.
    pub(crate) fn scopes_allowed(&self, scopes: &[String]) -> bool {
        match &*lock(&self.scopes_supported) {
            Some(supported) => scopes.iter().all(|scope| supported.contains(scope)),
            None => true,
        }
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
        // Exactly what this server does (RFC 8414 §2): the authorization code flow with PKCE
        // S256 for public clients (registered, or known by a metadata document), refresh
        // tokens, client_credentials for registered confidential clients, introspection
        // (RFC 7662) of its opaque tokens, OpenID Connect UserInfo for them, and `iss` in
        // authorization responses (RFC 9207).
        let mut document = json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/jwks", self.issuer),
            "authorization_endpoint": format!("{}/authorize", self.issuer),
            "token_endpoint": format!("{}/token", self.issuer),
            "registration_endpoint": format!("{}/register", self.issuer),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "client_id_metadata_document_supported": true,
            "authorization_response_iss_parameter_supported": true,
            "introspection_endpoint": format!("{}/introspect", self.issuer),
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "userinfo_endpoint": format!("{}/userinfo", self.issuer),
        });
        if let Some(scopes) = &*lock(&self.scopes_supported) {
            document["scopes_supported"] = json!(scopes);
        }
        document
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
