//! The test issuer's token endpoint (RFC 6749 §3.2): the authorization code grant with PKCE
//! (§4.1.3, RFC 7636) and refresh tokens (§6, rotated) for public clients, and
//! `client_credentials` (§4.4) for registered confidential clients — all with resource
//! indicators (RFC 8707), so real OAuth clients get tokens for the MCP server they name.

use std::sync::Arc;
use std::time::Instant;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::endpoint::{ClientRefusal, Form, authenticated_client, error, usable_resource};
use super::grants::{Grant, InvalidGrant};
use super::random::random_token;
use super::state::{IssuerState, lock};
use super::token::TokenBuilder;

/// Answers a token request (form body) per RFC 6749 §5.1 / §5.2.
pub(crate) fn token_response(
    shared: &Arc<IssuerState>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let form = Form::parse(body);
    // RFC 8707 allows several resources; this server issues tokens for one.
    let single = [
        "grant_type",
        "scope",
        "resource",
        "code",
        "code_verifier",
        "redirect_uri",
        "refresh_token",
    ];
    if form.repeats_any(&single) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "a parameter is repeated",
        );
    }
    let client = match token_client(shared, headers, &form) {
        Ok(client) => client,
        Err(refusal) => return refusal.into_response(),
    };
    let answer = match form.get("grant_type") {
        Some("authorization_code") => authorization_code(shared, client.id(), &form),
        Some("refresh_token") => refresh_token(shared, client.id(), &form),
        Some("client_credentials") => client_credentials(shared, &client, &form),
        _ => Err(TokenError::new(
            "unsupported_grant_type",
            "grant_type must be authorization_code, refresh_token or client_credentials",
        )),
    };
    answer.unwrap_or_else(IntoResponse::into_response)
}

/// Who is asking: a confidential client with its secret, or a public client by its id.
enum TokenClient {
    Confidential(super::client::TestClient),
    Public(String),
}

impl TokenClient {
    fn id(&self) -> &str {
        match self {
            Self::Confidential(client) => &client.id,
            Self::Public(id) => id,
        }
    }
}

/// A public client sends only its `client_id` (RFC 6749 §3.2.1); anyone sending credentials
/// is authenticated with them.
fn token_client(
    shared: &IssuerState,
    headers: &HeaderMap,
    form: &Form,
) -> Result<TokenClient, ClientRefusal> {
    let credentials =
        form.get("client_secret").is_some() || headers.contains_key(header::AUTHORIZATION);
    match form.get("client_id") {
        Some(id) if !credentials && !form.repeats_any(&["client_id"]) && shared.is_public(id) => {
            Ok(TokenClient::Public(id.to_owned()))
        }
        _ => authenticated_client(shared, headers, form).map(TokenClient::Confidential),
    }
}

/// `grant_type=authorization_code`: a single-use code, for the client, redirect URI and PKCE
/// verifier it was issued with.
fn authorization_code(
    shared: &Arc<IssuerState>,
    client_id: &str,
    form: &Form,
) -> Result<Response, TokenError> {
    let (Some(code), Some(verifier)) = (form.get("code"), form.get("code_verifier")) else {
        return Err(TokenError::new(
            "invalid_request",
            "code and code_verifier are required",
        ));
    };
    let refresh = random_token().map_err(|err| server_error(&err.to_string()))?;
    // One critical section: a second redemption racing this one must find the refresh token
    // it revokes already stored.
    let grant = {
        let mut grants = lock(&shared.grants);
        let mut grant = grants
            .redeem_code(
                code,
                client_id,
                form.get("redirect_uri"),
                verifier,
                Instant::now(),
            )
            .map_err(invalid_grant)?;
        let allowed = match &grant.resource {
            Some(authorized) => Resources::Only(Some(authorized)),
            None => Resources::Any,
        };
        // The grant keeps the resource named now: its refresh tokens are for it alone.
        grant.resource = audience(shared, form, allowed)?;
        grants.issue_refresh_token(refresh.clone(), grant.clone(), Instant::now());
        grant
    };
    issued(
        shared,
        &grant,
        &grant.scopes,
        grant.resource.as_deref(),
        Some(&refresh),
    )
}

/// `grant_type=refresh_token`: the token is used up and replaced (rotation); `scope` may
/// narrow the new access token, never widen it.
fn refresh_token(
    shared: &Arc<IssuerState>,
    client_id: &str,
    form: &Form,
) -> Result<Response, TokenError> {
    let Some(token) = form.get("refresh_token") else {
        return Err(TokenError::new(
            "invalid_request",
            "refresh_token is required",
        ));
    };
    let next = random_token().map_err(|err| server_error(&err.to_string()))?;
    let now = Instant::now();
    let (grant, scopes, audience) = {
        let mut grants = lock(&shared.grants);
        let grant = grants
            .refresh_grant(token, client_id, now)
            .map_err(invalid_grant)?;
        let scopes = narrowed(form, &grant.scopes)?;
        let audience = audience(shared, form, Resources::Only(grant.resource.as_deref()))?;
        grants.rotate(token, next.clone(), now);
        (grant, scopes, audience)
    };
    issued(shared, &grant, &scopes, audience.as_deref(), Some(&next))
}

/// `grant_type=client_credentials`: a confidential client gets its own scopes.
fn client_credentials(
    shared: &Arc<IssuerState>,
    client: &TokenClient,
    form: &Form,
) -> Result<Response, TokenError> {
    let TokenClient::Confidential(client) = client else {
        return Err(TokenError::new(
            "unauthorized_client",
            "a public client cannot use client_credentials",
        ));
    };
    let scopes = match form.get("scope") {
        None | Some("") => client.scopes.clone(),
        Some(_) => narrowed(form, &client.scopes)?,
    };
    let audience = audience(shared, form, Resources::Any)?;
    let grant = Grant {
        client_id: client.id.clone(),
        subject: client.id.clone(),
        scopes: client.scopes.clone(),
        resource: None,
        family: 0,
    };
    issued(shared, &grant, &scopes, audience.as_deref(), None)
}

/// The requested `scope` if within `allowed`; all of `allowed` if none is requested.
fn narrowed(form: &Form, allowed: &[String]) -> Result<Vec<String>, TokenError> {
    let Some(requested) = form.get("scope") else {
        return Ok(allowed.to_vec());
    };
    let requested: Vec<String> = requested.split_whitespace().map(str::to_owned).collect();
    if requested.iter().any(|scope| !allowed.contains(scope)) {
        return Err(TokenError::new(
            "invalid_scope",
            "a requested scope is not allowed for this client",
        ));
    }
    Ok(requested)
}

/// What a token request may name as its `resource`.
enum Resources<'a> {
    /// Any resource: a confidential client's own grant, or a code authorized for none.
    Any,
    /// The one the grant is for (none: no `resource` may be named).
    Only(Option<&'a str>),
}

/// The token's audience (RFC 8707 §2.2): the requested `resource` if `allowed`, else the one
/// the grant is for.
fn audience(
    shared: &IssuerState,
    form: &Form,
    allowed: Resources<'_>,
) -> Result<Option<String>, TokenError> {
    let refusal = |why| TokenError::new("invalid_target", why);
    let granted = match allowed {
        Resources::Any => None,
        Resources::Only(granted) => Some(granted),
    };
    match (form.get("resource"), granted) {
        (Some(resource), _) if !usable_resource(resource) => {
            Err(refusal("resource must be an absolute URI without fragment"))
        }
        (Some(resource), Some(granted)) if granted != Some(resource) => {
            Err(refusal("resource is not the one this grant is for"))
        }
        (Some(resource), _) => Ok(Some(resource.to_owned())),
        (None, Some(Some(granted))) => Ok(Some(granted.to_owned())),
        (None, _) if shared.resource_required() => Err(refusal(
            "resource is required (RFC 8707): name the MCP server",
        )),
        (None, _) => Ok(None),
    }
}

/// The token response (RFC 6749 §5.1): a JWT access token for `grant` holding `scopes`.
fn issued(
    shared: &Arc<IssuerState>,
    grant: &Grant,
    scopes: &[String],
    audience: Option<&str>,
    refresh_token: Option<&str>,
) -> Result<Response, TokenError> {
    let lifetime = shared.access_token_lifetime_secs();
    let mut token = TokenBuilder::new(shared.clone())
        .subject(&grant.subject)
        .client_id(&grant.client_id)
        .scopes(scopes.iter().map(String::as_str))
        .expires_in(lifetime);
    if let Some(audience) = audience {
        token = token.audience(audience);
    }
    let access_token = token.sign().map_err(|err| server_error(&err.to_string()))?;
    let mut answer = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": scopes.join(" "),
    });
    if let Some(refresh_token) = refresh_token {
        answer["refresh_token"] = json!(refresh_token);
    }
    Ok(([(header::CACHE_CONTROL, "no-store")], axum::Json(answer)).into_response())
}

/// A refused token request (RFC 6749 §5.2): 400 with an error code, or 500 `server_error`.
struct TokenError {
    status: StatusCode,
    code: &'static str,
    description: String,
}

impl TokenError {
    fn new(code: &'static str, description: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            description: description.to_owned(),
        }
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        error(self.status, self.code, &self.description)
    }
}

fn invalid_grant(InvalidGrant(why): InvalidGrant) -> TokenError {
    TokenError::new("invalid_grant", why)
}

fn server_error(why: &str) -> TokenError {
    TokenError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: "server_error",
        description: why.to_owned(),
    }
}
