//! The test issuer's HTTP side: metadata, key set, token, introspection and user endpoints on
//! 127.0.0.1, with switches to break it and counters of what was fetched.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::authorize::authorization_response;
use super::browser::{self, Cors};
use super::client::TestClient;
use super::error::TestingError;
use super::grants::Grants;
use super::introspection::introspection_response;
use super::keys::TestKey;
use super::registration::registration_response;
use super::state::{IssuerState, lock};
use super::token::TokenBuilder;
use super::token_endpoint::token_response;
use super::userinfo::{UserEndpoint, user_endpoint_response};
use crate::issuer::config::AuthServerConfig;
use crate::metadata::{AuthServerType, AuthorizationServerMetadata};

/// A running test authorization server; it stops when dropped.
pub struct TestIssuer {
    issuer: String,
    shared: Arc<IssuerState>,
    _stop: oneshot::Sender<()>,
}

impl TestIssuer {
    /// Starts an issuer at `http://127.0.0.1:PORT` publishing keys generated in this process:
    /// `rs256` and `ps256` (one RSA pair), `es256`, `es384` and `eddsa`. They are generated
    /// once per process and shared by its issuers (RSA generation is slow); no other process
    /// can sign with them.
    pub async fn start() -> Result<Self, TestingError> {
        Self::start_at_path("").await
    }

    /// Starts an issuer whose identifier has a path (`http://127.0.0.1:PORT/tenant`), serving
    /// its metadata at the OAuth and OpenID path-inserted URLs and the OpenID appended one.
    /// It publishes the same fresh keys as [`TestIssuer::start`].
    pub async fn start_at_path(path: &str) -> Result<Self, TestingError> {
        Self::start_with_keys(path, TestKey::fresh_defaults()?).await
    }

    /// Starts an issuer at `http://127.0.0.1:PORT` publishing the fixture keys of
    /// [`TestKey::fixtures`], the same at every run, for tests that build tokens or key sets
    /// from [`KeyMaterial`](super::KeyMaterial) themselves. Their private halves ship with the
    /// crate: anyone can sign tokens this issuer vouches for, so only tests may trust it.
    pub async fn start_with_fixture_keys() -> Result<Self, TestingError> {
        Self::start_with_keys("", TestKey::fixtures()?).await
    }

    async fn start_with_keys(path: &str, keys: Vec<TestKey>) -> Result<Self, TestingError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let issuer = format!(
            "http://{}{}",
            listener.local_addr()?,
            path.trim_end_matches('/')
        );
        let shared = Arc::new(IssuerState {
            issuer: issuer.clone(),
            authority: listener.local_addr()?.to_string(),
            published: Mutex::new(keys.iter().map(|k| k.kid.clone()).collect()),
            signing: Mutex::new(keys),
            jwks_override: Mutex::new(None),
            metadata_override: Mutex::new(None),
            jwks_cache_control: Mutex::new(None),
            jwks_delay: Mutex::new(Duration::ZERO),
            down: AtomicBool::new(false),
            metadata_fetches: AtomicUsize::new(0),
            jwks_fetches: AtomicUsize::new(0),
            clients: Mutex::new(Vec::new()),
            opaque_tokens: Mutex::new(HashMap::new()),
            introspection_override: Mutex::new(None),
            introspection_delay: Mutex::new(Duration::ZERO),
            introspection_calls: AtomicUsize::new(0),
            userinfo_delay: Mutex::new(Duration::ZERO),
            userinfo_rate_limited: AtomicBool::new(false),
            userinfo_calls: AtomicUsize::new(0),
            org_members: Mutex::new(HashMap::new()),
            public_clients: Mutex::new(HashMap::new()),
            grants: Mutex::new(Grants::default()),
            auto_approve: AtomicBool::new(false),
            resource_required: AtomicBool::new(false),
            resource_owner: Mutex::new("test-user".to_owned()),
            scopes_supported: Mutex::new(None),
            access_token_lifetime: Mutex::new(Duration::from_secs(3600)),
        });
        let app = Router::new().fallback(serve).with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%error, "test issuer stopped");
            }
        });
        Ok(Self {
            issuer,
            shared,
            _stop: stop,
        })
    }

    /// The issuer identifier (`iss` of its tokens).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The URL of its key set.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    /// A server configuration that discovers this issuer lazily (as a real deployment would).
    pub fn lazy_config(&self) -> AuthServerConfig {
        AuthServerConfig::lazy(self.issuer.clone(), AuthServerType::OAuth)
    }

    /// A server configuration with this issuer's metadata inline (no discovery).
    pub fn inline_config(&self) -> AuthServerConfig {
        let mut metadata = AuthorizationServerMetadata::new(self.issuer.clone());
        metadata.jwks_uri = Some(self.jwks_uri());
        AuthServerConfig::new(metadata, AuthServerType::OAuth)
    }

    /// Starts a token signed by this issuer.
    pub fn token(&self) -> TokenBuilder {
        TokenBuilder::new(self.shared.clone())
    }

    /// Registers a confidential client for the `client_credentials` grant at `{issuer}/token`.
    pub fn register_client(&self, client: TestClient) {
        let mut clients = lock(&self.shared.clients);
        clients.retain(|known| known.id != client.id);
        clients.push(client);
    }

    /// The URL of its token endpoint.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// The URL of its authorization endpoint: the authorization code flow with PKCE (`S256`
    /// only) for public clients, registered at the
    /// [registration endpoint](Self::registration_endpoint) or named by the URL of their
    /// client metadata document. It shows a consent page, unless
    /// [auto-approving](Self::set_auto_approve).
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// issuer.set_auto_approve(true);
    /// let client: serde_json::Value = reqwest::Client::new()
    ///     .post(issuer.registration_endpoint())
    ///     .json(&serde_json::json!({"redirect_uris": ["http://127.0.0.1/callback"]}))
    ///     .send()
    ///     .await?
    ///     .json()
    ///     .await?;
    /// let mut authorize = reqwest::Url::parse(&issuer.authorization_endpoint())?;
    /// authorize
    ///     .query_pairs_mut()
    ///     .append_pair("response_type", "code")
    ///     .append_pair("client_id", client["client_id"].as_str().unwrap_or_default())
    ///     .append_pair("redirect_uri", "http://127.0.0.1:53682/callback")
    ///     // BASE64URL(SHA256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")), RFC 7636 appendix B
    ///     .append_pair("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    ///     .append_pair("code_challenge_method", "S256")
    ///     .append_pair("scope", "read");
    /// let no_redirects = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()?;
    /// let answer = no_redirects.get(authorize).send().await?;
    /// let location = answer.headers()["location"].to_str()?;
    /// assert!(location.starts_with("http://127.0.0.1:53682/callback?code="));
    /// # Ok(()) }
    /// ```
    pub fn authorization_endpoint(&self) -> String {
        format!("{}/authorize", self.issuer)
    }

    /// The URL of its registration endpoint: dynamic client registration (RFC 7591) of public
    /// clients (`token_endpoint_auth_method: none`).
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// let registered: serde_json::Value = reqwest::Client::new()
    ///     .post(issuer.registration_endpoint())
    ///     .json(&serde_json::json!({"client_name": "My app", "redirect_uris": ["http://127.0.0.1/cb"]}))
    ///     .send()
    ///     .await?
    ///     .json()
    ///     .await?;
    /// assert_eq!(registered["token_endpoint_auth_method"], "none");
    /// assert!(registered["client_id"].is_string());
    /// # Ok(()) }
    /// ```
    pub fn registration_endpoint(&self) -> String {
        format!("{}/register", self.issuer)
    }

    /// Approves authorization requests at once, redirecting with a code, instead of showing
    /// the consent page (for programs that follow the redirect themselves) — only when the
    /// redirect URI is `http` on a loopback host (`127.0.0.0/8`, `[::1]`, `localhost`) or a
    /// private-use scheme in reverse-domain form (RFC 8252 §7.1: a `.` in the scheme, as in
    /// `com.example.app:/callback`). Every other redirect URI meets the consent page: an
    /// `https` web site that registered itself, and any other scheme (`ftp:`, `web+x:`,
    /// `microsoft-edge:`, `ms-word:`, `cursor:`...), whose handler may be a program that sends
    /// the code off this machine. The same rule decides where an error found before the user
    /// saw anything is redirected; elsewhere the issuer shows it on its own page.
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// issuer.set_auto_approve(true);
    /// # Ok(()) }
    /// ```
    pub fn set_auto_approve(&self, auto_approve: bool) {
        self.shared
            .auto_approve
            .store(auto_approve, Ordering::SeqCst);
    }

    /// Refuses authorization and token requests that name no `resource` (RFC 8707), with
    /// `invalid_target`: an MCP client must always say which server the token is for.
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// issuer.set_resource_required(true);
    /// # Ok(()) }
    /// ```
    pub fn set_resource_required(&self, required: bool) {
        self.shared
            .resource_required
            .store(required, Ordering::SeqCst);
    }

    /// The user who approves at the consent page: the `sub` of the tokens the authorization
    /// code flow gives (`test-user` until set).
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// issuer.set_resource_owner("alice");
    /// # Ok(()) }
    /// ```
    pub fn set_resource_owner(&self, subject: &str) {
        *lock(&self.shared.resource_owner) = subject.to_owned();
    }

    /// The scopes this issuer grants in the authorization code flow, published as
    /// `scopes_supported`; a request for another scope is refused with `invalid_scope`.
    /// Unset, any scope is granted and none published.
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// issuer.set_scopes_supported(["mcp:tools", "mcp:admin"]);
    /// # Ok(()) }
    /// ```
    pub fn set_scopes_supported<I, S>(&self, scopes: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        *lock(&self.shared.scopes_supported) = Some(scopes.into_iter().map(Into::into).collect());
    }

    /// How long the access tokens of the token endpoint live (one hour until set; whole
    /// seconds, at least one).
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// // Refresh tokens get used within seconds.
    /// issuer.set_access_token_lifetime(std::time::Duration::from_secs(2));
    /// # Ok(()) }
    /// ```
    pub fn set_access_token_lifetime(&self, lifetime: Duration) {
        *lock(&self.shared.access_token_lifetime) = lifetime;
    }

    /// The URL of its introspection endpoint (RFC 7662), which answers registered clients
    /// about the tokens minted with [`TokenBuilder::opaque`].
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// assert_eq!(
    ///     issuer.introspection_endpoint(),
    ///     format!("{}/introspect", issuer.issuer())
    /// );
    /// # Ok(()) }
    /// ```
    pub fn introspection_endpoint(&self) -> String {
        format!("{}/introspect", self.issuer)
    }

    /// The URL of its OpenID Connect UserInfo endpoint (Core 1.0 §5.3, published as
    /// `userinfo_endpoint`): `GET` with an opaque token of [`TokenBuilder::opaque`] as `Bearer`
    /// answers its user's claims (the token's, less `iss`, `aud`, `exp`, `iat`, `nbf`, `jti`,
    /// `scope`, `client_id`, `azp`, `cnf`, `token_type`); an unknown, expired or revoked token
    /// gets 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// let token = issuer.token().subject("alice").claim("email", "a@example.com".into()).opaque()?;
    /// let user: serde_json::Value = reqwest::Client::new()
    ///     .get(issuer.userinfo_endpoint())
    ///     .bearer_auth(&token)
    ///     .send()
    ///     .await?
    ///     .json()
    ///     .await?;
    /// assert_eq!(user["sub"], "alice");
    /// assert_eq!(user["email"], "a@example.com");
    /// # Ok(()) }
    /// ```
    pub fn userinfo_endpoint(&self) -> String {
        format!("{}/userinfo", self.issuer)
    }

    /// The URL of its tokeninfo endpoint, shaped as Google's
    /// (`https://oauth2.googleapis.com/tokeninfo`): the token as `access_token` in a form body
    /// (`POST`) or the query (`GET`); an opaque token's answer has `azp` (its `azp` claim, else
    /// `client_id`), `aud` (its `aud` claim, else `client_id`), `sub`, `scope`, `exp` and
    /// `expires_in` (strings of seconds), `email` and `email_verified` when it has them, and
    /// `access_type`; an unknown one gets 400 `{"error": "invalid_token"}`.
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// let token = issuer.token().client_id("web-app").scopes(["openid"]).opaque()?;
    /// let info: serde_json::Value = reqwest::Client::new()
    ///     .post(issuer.tokeninfo_endpoint())
    ///     .form(&[("access_token", &token)])
    ///     .send()
    ///     .await?
    ///     .json()
    ///     .await?;
    /// assert_eq!(info["azp"], "web-app");
    /// assert!(info["exp"].is_string());
    /// # Ok(()) }
    /// ```
    pub fn tokeninfo_endpoint(&self) -> String {
        format!("{}/tokeninfo", self.issuer)
    }

    /// The URL of its `/user` endpoint, shaped as GitHub's (`https://api.github.com/user`):
    /// `GET` with an opaque token as `Bearer` answers the user (its claims as for
    /// [`userinfo_endpoint`](Self::userinfo_endpoint), less `sub`, with `login` from the
    /// `login` claim or `sub` and a numeric `id` from the `id` claim, else 1), its scopes in
    /// `X-OAuth-Scopes` (comma-separated, from `scope`; no header without it, as for
    /// fine-grained tokens) and its OAuth app in `X-OAuth-Client-Id` (from `client_id`); an
    /// unknown token gets 401 "Bad credentials". Next to it,
    /// `GET /user/memberships/orgs/{org}` answers the memberships set with
    /// [`set_github_membership`](Self::set_github_membership) (404 otherwise).
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// let token = issuer.token().subject("octocat").claim("id", 583231.into()).scopes(["repo"]).opaque()?;
    /// let answer = reqwest::Client::new()
    ///     .get(issuer.github_user_endpoint())
    ///     .bearer_auth(&token)
    ///     .send()
    ///     .await?;
    /// assert_eq!(answer.headers()["x-oauth-scopes"], "repo");
    /// let user: serde_json::Value = answer.json().await?;
    /// assert_eq!((user["login"].as_str(), user["id"].as_u64()), (Some("octocat"), Some(583231)));
    /// # Ok(()) }
    /// ```
    pub fn github_user_endpoint(&self) -> String {
        format!("{}/user", self.issuer)
    }

    /// Sets the GitHub organization membership of the user whose tokens have `sub` = `subject`,
    /// as `GET /user/memberships/orgs/{org}` answers it: `Some("active")`, `Some("pending")`
    /// (invited), or `None` (not a member: 404).
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// issuer.set_github_membership("acme", "octocat", Some("active"));
    /// # Ok(()) }
    /// ```
    pub fn set_github_membership(&self, org: &str, subject: &str, state: Option<&str>) {
        let key = (org.to_owned(), subject.to_owned());
        let mut members = lock(&self.shared.org_members);
        match state {
            Some(state) => {
                members.insert(key, state.to_owned());
            }
            None => {
                members.remove(&key);
            }
        }
    }

    /// Delays the answers of the user endpoints (`/userinfo`, `/tokeninfo`, `/user`, the
    /// memberships), to test timeouts and make concurrent calls overlap.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// issuer.set_userinfo_delay(Duration::from_secs(10));
    /// # Ok(()) }
    /// ```
    pub fn set_userinfo_delay(&self, delay: Duration) {
        *lock(&self.shared.userinfo_delay) = delay;
    }

    /// Makes the user endpoints answer as GitHub does past its rate limit: 403 with
    /// `x-ratelimit-remaining: 0` (the token is fine; the caller must wait).
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// issuer.set_userinfo_rate_limited(true);
    /// # Ok(()) }
    /// ```
    pub fn set_userinfo_rate_limited(&self, limited: bool) {
        self.shared
            .userinfo_rate_limited
            .store(limited, Ordering::SeqCst);
    }

    /// How many requests arrived at the user endpoints (`/userinfo`, `/tokeninfo`, `/user`,
    /// `/user/memberships/orgs/{org}`), whatever they were answered (refused while down
    /// included).
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// assert_eq!(issuer.userinfo_calls(), 0);
    /// # Ok(()) }
    /// ```
    pub fn userinfo_calls(&self) -> usize {
        self.shared.userinfo_calls.load(Ordering::SeqCst)
    }

    /// Revokes an opaque token: introspection answers `{"active": false}` for it from now on.
    /// Unknown tokens (and JWTs, which are never active there) are ignored.
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// let token = issuer.token().opaque()?;
    /// issuer.revoke(&token);
    /// # Ok(()) }
    /// ```
    pub fn revoke(&self, token: &str) {
        lock(&self.shared.opaque_tokens).remove(token);
    }

    /// The signing key under `kid` (published or not), with its public JWK.
    pub fn key(&self, kid: &str) -> Option<TestKey> {
        self.shared.signing_key(kid)
    }

    /// Adds a signing key; `publish` says whether the key set shows it.
    pub fn add_key(&self, key: TestKey, publish: bool) {
        if publish {
            lock(&self.shared.published).push(key.kid.clone());
        }
        let mut signing = lock(&self.shared.signing);
        signing.retain(|known| known.kid != key.kid);
        signing.push(key);
    }

    /// Publishes exactly these `kid`s (keys keep signing even when not published).
    pub fn publish_only(&self, kids: &[&str]) {
        *lock(&self.shared.published) = kids.iter().map(|kid| (*kid).to_owned()).collect();
    }

    /// Serves this raw body as the key set (`None`: the real one again).
    pub fn set_jwks_body(&self, body: Option<String>) {
        *lock(&self.shared.jwks_override) = body;
    }

    /// Serves this document as metadata (`None`: the real one again).
    pub fn set_metadata(&self, document: Option<Value>) {
        *lock(&self.shared.metadata_override) = document;
    }

    /// The `Cache-Control` header of key set responses (`None`: no header).
    pub fn set_jwks_cache_control(&self, value: Option<&str>) {
        *lock(&self.shared.jwks_cache_control) = value.map(str::to_owned);
    }

    /// Delays key set responses, to make concurrent fetches overlap.
    pub fn set_jwks_delay(&self, delay: Duration) {
        *lock(&self.shared.jwks_delay) = delay;
    }

    /// Delays introspection answers (the real ones, refusals and the one set with
    /// [`set_introspection_response`](Self::set_introspection_response)), to test timeouts.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// issuer.set_introspection_delay(Duration::from_secs(10));
    /// # Ok(()) }
    /// ```
    pub fn set_introspection_delay(&self, delay: Duration) {
        *lock(&self.shared.introspection_delay) = delay;
    }

    /// Answers every introspection request with this content type and raw body, status 200,
    /// whatever the request (`None`: the real answers again). An empty content type sends no
    /// `Content-Type` header.
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// // An issuer that vouches for any token, whoever asks.
    /// let lie = r#"{"active":true,"sub":"mallory","scope":"admin"}"#;
    /// issuer.set_introspection_response(Some(("application/json".into(), lie.into())));
    /// # Ok(()) }
    /// ```
    pub fn set_introspection_response(&self, response: Option<(String, String)>) {
        *lock(&self.shared.introspection_override) = response;
    }

    /// While down, every request is answered 503.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// How many metadata documents were served (or refused while down).
    pub fn metadata_fetches(&self) -> usize {
        self.shared.metadata_fetches.load(Ordering::SeqCst)
    }

    /// How many key set requests arrived (served or refused while down).
    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// How many introspection requests (`POST {issuer}/introspect`) arrived, whatever they were
    /// answered (refused while down included).
    ///
    /// ```
    /// use mcp_auth::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// assert_eq!(issuer.introspection_calls(), 0);
    /// # Ok(()) }
    /// ```
    pub fn introspection_calls(&self) -> usize {
        self.shared.introspection_calls.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

async fn serve(
    State(shared): State<Arc<IssuerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Before anything is counted or answered: a page whose name was rebound to this machine
    // gets nothing.
    if !browser::for_authority(&headers, &uri, &shared.authority) {
        return browser::misdirected(&shared.authority);
    }
    let issuer_path = url::Url::parse(&shared.issuer)
        .map(|url| url.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    let path = uri.path();
    let metadata_paths = [
        format!("/.well-known/oauth-authorization-server{issuer_path}"),
        format!("/.well-known/openid-configuration{issuer_path}"),
        format!("{issuer_path}/.well-known/openid-configuration"),
    ];
    let is_metadata = metadata_paths.iter().any(|p| p == path);
    let is_jwks = path == format!("{issuer_path}/jwks");
    let is_introspection = path == format!("{issuer_path}/introspect") && method == Method::POST;
    if is_metadata {
        shared.metadata_fetches.fetch_add(1, Ordering::SeqCst);
    }
    if is_jwks {
        shared.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    }
    if is_introspection {
        shared.introspection_calls.fetch_add(1, Ordering::SeqCst);
    }
    let user_endpoint = path
        .strip_prefix(issuer_path.as_str())
        .and_then(UserEndpoint::at)
        .filter(|endpoint| {
            method == Method::GET
                || (method == Method::POST && *endpoint != UserEndpoint::GitHubUser)
        });
    if user_endpoint.is_some() {
        shared.userinfo_calls.fetch_add(1, Ordering::SeqCst);
    }
    if shared.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let is_registration = path == format!("{issuer_path}/register");
    let is_token = path == format!("{issuer_path}/token");
    let cors = if is_metadata || is_jwks {
        Some(Cors::Public)
    } else if is_registration || is_token {
        Some(Cors::ThisMachine)
    } else {
        None
    };
    if method == Method::OPTIONS {
        return match cors {
            Some(cors) => cors.preflight(&headers),
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    if let Some(refused) = cors.and_then(|cors| cors.refusal(&headers)) {
        return refused;
    }
    if is_metadata {
        return Cors::Public.apply(&headers, axum::Json(shared.metadata()).into_response());
    }
    if path == format!("{issuer_path}/authorize")
        && (method == Method::GET || method == Method::POST)
    {
        return authorization_response(&shared, &method, uri.query(), &body).await;
    }
    if is_registration && method == Method::POST {
        let answer = registration_response(&shared, &body);
        return Cors::ThisMachine.apply(&headers, answer);
    }
    if is_token && method == Method::POST {
        let answer = token_response(&shared, &headers, &body);
        return Cors::ThisMachine.apply(&headers, answer);
    }
    if is_introspection {
        return introspection_response(&shared, &headers, &body).await;
    }
    if let Some(endpoint) = user_endpoint {
        return user_endpoint_response(&shared, endpoint, &headers, uri.query(), &body).await;
    }
    if is_jwks {
        let request_headers = headers;
        let delay = *lock(&shared.jwks_delay);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let cache_control = lock(&shared.jwks_cache_control).clone();
        if let Some(value) = cache_control.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(header::CACHE_CONTROL, value);
        }
        return Cors::Public.apply(&request_headers, (headers, shared.jwks()).into_response());
    }
    StatusCode::NOT_FOUND.into_response()
}
