//! The test issuer's registration endpoint: dynamic client registration (RFC 7591) of public
//! clients, the kind MCP clients are (`token_endpoint_auth_method: none`, PKCE instead of a
//! secret).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::client_document::redirect_uris;
use super::endpoint::error;
use super::public_client::PublicClient;
use super::state::{IssuerState, lock};
use super::token::random_token;
use crate::clock::unix_now;

/// Registrations kept at most: a loop of registrations cannot fill the memory.
const MAX_CLIENTS: usize = 10_000;

/// Answers a registration request (JSON body) per RFC 7591 §3.2.
pub(crate) fn registration_response(shared: &IssuerState, body: &[u8]) -> Response {
    let Ok(Value::Object(mut metadata)) = serde_json::from_slice::<Value>(body) else {
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
                name,
                redirect_uris,
            },
        );
    }
    // RFC 7591 §3.2.1: the registered metadata, with what the server chose for the client.
    metadata.insert("client_id".into(), json!(id));
    metadata.insert("client_id_issued_at".into(), json!(unix_now()));
    metadata.insert("token_endpoint_auth_method".into(), json!("none"));
    metadata
        .entry("grant_types")
        .or_insert_with(|| json!(["authorization_code", "refresh_token"]));
    metadata
        .entry("response_types")
        .or_insert_with(|| json!(["code"]));
    (
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(Value::Object(metadata)),
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
    if !listed_within("grant_types", &["authorization_code", "refresh_token"]) {
        return Some("grant_types may only list authorization_code and refresh_token");
    }
    if !listed_within("response_types", &["code"]) {
        return Some("response_types may only list code");
    }
    None
}
