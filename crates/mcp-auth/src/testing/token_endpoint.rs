//! The test issuer's token endpoint: the `client_credentials` grant (RFC 6749 §4.4) with
//! resource indicators (RFC 8707), so real OAuth clients can get tokens for a resource.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use url::Url;

use super::endpoint::{Form, authenticated_client, error};
use super::state::IssuerState;
use super::token::TokenBuilder;

/// How long issued access tokens live.
const LIFETIME_SECS: i64 = 3600;

/// Answers a token request (form body) per RFC 6749 §5.1 / §5.2.
pub(crate) fn token_response(
    shared: &std::sync::Arc<IssuerState>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let form = Form::parse(body);
    if form.repeats_any(&["grant_type", "scope", "resource"]) {
        // RFC 8707 allows several resources; this server issues tokens for one.
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "a parameter is repeated",
        );
    }
    let client = match authenticated_client(shared, headers, &form) {
        Ok(client) => client,
        Err(refusal) => return refusal.into_response(),
    };
    if form.get("grant_type") != Some("client_credentials") {
        return error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
    }
    let granted: Vec<String> = match form.get("scope") {
        None | Some("") => client.scopes.clone(),
        Some(requested) => {
            let requested: Vec<String> = requested.split_whitespace().map(str::to_owned).collect();
            if requested.iter().any(|s| !client.scopes.contains(s)) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "a requested scope is not allowed for this client",
                );
            }
            requested
        }
    };
    let mut token = TokenBuilder::new(shared.clone())
        .subject(&client.id)
        .client_id(&client.id)
        .scopes(granted.iter().map(String::as_str))
        .expires_in(LIFETIME_SECS);
    if let Some(resource) = form.get("resource") {
        let usable = Url::parse(resource).is_ok_and(|url| url.fragment().is_none());
        if !usable {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                "resource must be an absolute URI without fragment",
            );
        }
        token = token.audience(resource);
    }
    match token.sign() {
        Ok(access_token) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(json!({
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": LIFETIME_SECS,
                "scope": granted.join(" "),
            })),
        )
            .into_response(),
        Err(err) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            &err.to_string(),
        ),
    }
}
