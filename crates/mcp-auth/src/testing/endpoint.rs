//! What the token and introspection endpoints share: the form body, client authentication
//! (RFC 6749 §2.3) and OAuth error answers (RFC 6749 §5.2).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::client::TestClient;
use super::state::IssuerState;

/// An `application/x-www-form-urlencoded` request body, its parameters in order.
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub(crate) fn parse(body: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether any of `names` is sent more than once (RFC 6749 §3.1 and §3.2: parameters
    /// must not be repeated).
    pub(crate) fn repeats_any(&self, names: &[&str]) -> bool {
        names
            .iter()
            .any(|name| self.0.iter().filter(|(key, _)| key == name).count() > 1)
    }
}

/// Why a request does not authenticate a client (RFC 6749 §5.2).
pub(crate) enum ClientRefusal {
    /// 400 `invalid_request`: the credentials are repeated or sent two ways.
    InvalidRequest(&'static str),
    /// 401 `invalid_client`: no credentials, an unknown client or a wrong secret.
    InvalidClient(&'static str),
}

impl IntoResponse for ClientRefusal {
    fn into_response(self) -> Response {
        match self {
            Self::InvalidRequest(description) => {
                error(StatusCode::BAD_REQUEST, "invalid_request", description)
            }
            Self::InvalidClient(description) => unauthorized(description),
        }
    }
}

/// The registered client this request authenticates as, with HTTP Basic or `client_id` and
/// `client_secret` in the form (exactly one of them).
pub(crate) fn authenticated_client(
    shared: &IssuerState,
    headers: &HeaderMap,
    form: &Form,
) -> Result<TestClient, ClientRefusal> {
    if form.repeats_any(&["client_id", "client_secret"]) {
        return Err(ClientRefusal::InvalidRequest("a parameter is repeated"));
    }
    let in_form = match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) => Some((id.to_owned(), secret.to_owned())),
        _ => None,
    };
    let (id, secret) = match (basic_credentials(headers), in_form) {
        (Some(basic), None) => basic,
        (None, Some(form)) => form,
        // RFC 6749 §2.3: one authentication method per request.
        (Some(_), Some(_)) => {
            return Err(ClientRefusal::InvalidRequest(
                "client credentials sent twice",
            ));
        }
        (None, None) => {
            return Err(ClientRefusal::InvalidClient(
                "client authentication is required",
            ));
        }
    };
    shared
        .client(&id)
        .filter(|client| client.secret == secret)
        .ok_or(ClientRefusal::InvalidClient(
            "unknown client or wrong secret",
        ))
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
        HeaderValue::from_static("Basic realm=\"test issuer\""),
    );
    response
}

/// An OAuth error answer (RFC 6749 §5.2), never cached.
pub(crate) fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

/// Whether `resource` can name a resource (RFC 8707 §2): an absolute URI without fragment.
pub(crate) fn usable_resource(resource: &str) -> bool {
    url::Url::parse(resource).is_ok_and(|url| url.fragment().is_none())
}
