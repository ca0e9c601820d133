//! The test issuer's token endpoint: the `client_credentials` grant (RFC 6749 §4.4) with
//! resource indicators (RFC 8707), so real OAuth clients can get tokens for a resource.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use url::Url;

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
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    for name in [
        "grant_type",
        "scope",
        "resource",
        "client_id",
        "client_secret",
    ] {
        if form.iter().filter(|(k, _)| k == name).count() > 1 {
            // RFC 8707 allows several resources; this server issues tokens for one.
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "a parameter is repeated",
            );
        }
    }
    let in_form = match (field("client_id"), field("client_secret")) {
        (Some(id), Some(secret)) => Some((id.to_owned(), secret.to_owned())),
        _ => None,
    };
    let (id, secret) = match (basic_credentials(headers), in_form) {
        (Some(basic), None) => basic,
        (None, Some(form)) => form,
        (Some(_), Some(_)) => {
            // RFC 6749 §2.3: one authentication method per request.
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "client credentials sent twice",
            );
        }
        (None, None) => return unauthorized("client authentication is required"),
    };
    let Some(client) = shared.client(&id).filter(|client| client.secret == secret) else {
        return unauthorized("unknown client or wrong secret");
    };
    if field("grant_type") != Some("client_credentials") {
        return error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
    }
    let granted: Vec<String> = match field("scope") {
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
    if let Some(resource) = field("resource") {
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

/// `Authorization: Basic base64(id:secret)`, each part form-urlencoded (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decoded(id)?, form_decoded(secret)?))
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte.
fn form_decoded(value: &str) -> Option<String> {
    let spaced = value.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

/// 401 `invalid_client`, with the challenge RFC 6749 §5.2 asks for.
fn unauthorized(description: &str) -> Response {
    let mut response = error(StatusCode::UNAUTHORIZED, "invalid_client", description);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Basic realm=\"test issuer\""),
    );
    response
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
}
