//! The test issuer's registration endpoint: dynamic client registration (RFC 7591) of public
//! clients, the kind MCP clients are (`token_endpoint_auth_method: none`, PKCE instead of a
//! secret).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::client_document::redirect_uris;
use super::endpoint::error;
use super::public_client::PublicClient;
use super::random::random_token;
use super::state::{IssuerState, lock};
use crate::clock::unix_now;

/// Registrations kept at most, and the largest registration request: with the caps on
/// redirect URIs, a loop of registrations stays within a few hundred MiB.
const MAX_CLIENTS: usize = 10_000;
const MAX_BODY: usize = 16 * 1024;

/// Answers a registration request (JSON body) per RFC 7591 §3.2.
pub(crate) fn registration_response(shared: &IssuerState, body: &[u8]) -> Response {
    if body.len() > MAX_BODY {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            "the registration request is larger than 16 KiB",
        );
    }
    let Ok(Value::Object(metadata)) = serde_json::from_slice::<Value>(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            "the body must be a JSON object of client metadata",
        );
    };
    let redirect_uris = match redirect_uris(&metadata) {
        Ok(uris) => uris,
        Err(why) => {
            let description = format!("the registration {why}");
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_redirect_uri",
                &description,
            );
        }
    };
    if let Some(refusal) = unsupported(&metadata) {
        return error(StatusCode::BAD_REQUEST, "invalid_client_metadata", refusal);
    }
    let name = match metadata.get("client_name") {
        None => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_client_metadata",
                "client_name must be a string",
            );
        }
    };
    let Ok(id) = random_token() else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "no random bytes for a client_id",
        );
    };
    {
        let mut clients = lock(&shared.public_clients);
        if clients.len() >= MAX_CLIENTS {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "too many clients registered",
            );
        }
        clients.insert(
            id.clone(),
            PublicClient {
                id: id.clone(),
                name: name.clone(),
                redirect_uris: redirect_uris.clone(),
            },
        );
    }
    // RFC 7591 §3.2.1: the metadata registered, as this server holds it; what it does not
    // keep (application_type, scope, logo_uri...) is not echoed as if it were.
    let mut registered = json!({
        "client_id": id,
        "client_id_issued_at": unix_now(),
        "redirect_uris": redirect_uris,
        "token_endpoint_auth_method": "none",
        "grant_types": metadata.get("grant_types").cloned()
            .unwrap_or_else(|| json!(["authorization_code", "refresh_token"])),
        "response_types": ["code"],
    });
    if let Some(name) = name {
        registered["client_name"] = json!(name);
    }
    (
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(registered),
    )
        .into_response()
}

/// Why this issuer cannot register a client with `metadata`: only public clients of the
/// authorization code flow (a missing `token_endpoint_auth_method` is taken as `none`).
fn unsupported(metadata: &Map<String, Value>) -> Option<&'static str> {
    let listed_within = |name: &str, allowed: &[&str]| match metadata.get(name) {
        None => true,
        Some(Value::Array(values)) => values
            .iter()
            .all(|value| value.as_str().is_some_and(|value| allowed.contains(&value))),
        Some(_) => false,
    };
    match metadata.get("token_endpoint_auth_method") {
        None => {}
        Some(method) if method == "none" => {}
        Some(_) => {
            return Some(
                "this issuer registers public clients only: token_endpoint_auth_method must be none",
            );
        }
    }
    let grant_types = metadata.get("grant_types").and_then(Value::as_array);
    let has_code = grant_types.is_none_or(|types| types.iter().any(|t| t == "authorization_code"));
    if !listed_within("grant_types", &["authorization_code", "refresh_token"]) || !has_code {
        return Some("grant_types must list authorization_code, and refresh_token at most besides");
    }
    if !listed_within("response_types", &["code"]) {
        return Some("response_types may only list code");
    }
    None
}
