//! The test issuer's introspection endpoint (RFC 7662): what it knows of its opaque tokens, told
//! to the clients that authenticate.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::endpoint::{Form, authenticated_client, error};
use super::state::{IssuerState, lock};
use crate::clock::unix_now;

/// Answers an introspection request (form body) per RFC 7662 §2.2, or with the raw answer a
/// test set, after the delay a test set.
pub(crate) async fn introspection_response(
    shared: &IssuerState,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let delay = *lock(&shared.introspection_delay);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some((content_type, body)) = lock(&shared.introspection_override).clone() {
        return raw(&content_type, body);
    }
    let form = Form::parse(body);
    if form.repeats_any(&["token", "token_type_hint"]) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "a parameter is repeated",
        );
    }
    if let Err(refusal) = authenticated_client(shared, headers, &form) {
        return refusal.into_response();
    }
    // `token_type_hint` is only a hint (RFC 7662 §2.1): this server has one kind of token.
    let Some(token) = form.get("token").filter(|token| !token.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the token parameter is required",
        );
    };
    let answer = introspection(shared.opaque_claims(token), unix_now());
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(answer)).into_response()
}

/// What RFC 7662 §2.2 says of a token with these claims (`None`: unknown or revoked) at `now`:
/// its claims, `active` and a `token_type`, or only that it is inactive.
fn introspection(claims: Option<Map<String, Value>>, now: u64) -> Value {
    let Some(mut claims) = claims.filter(|claims| unexpired(claims, now)) else {
        // §2.2: an inactive token's answer should say nothing more.
        return json!({ "active": false });
    };
    claims
        .entry("token_type")
        .or_insert_with(|| json!("access_token"));
    claims.insert("active".to_owned(), json!(true));
    Value::Object(claims)
}

/// No `exp`, or an `exp` (a number of seconds, RFC 7519 NumericDate) after `now`.
pub(crate) fn unexpired(claims: &Map<String, Value>, now: u64) -> bool {
    claims
        .get("exp")
        .is_none_or(|exp| exp.as_f64().is_some_and(|exp| exp > now as f64))
}

/// A 200 answer with this body and content type (none if empty or not a valid header value).
fn raw(content_type: &str, body: String) -> Response {
    let mut response = ([(header::CACHE_CONTROL, "no-store")], body).into_response();
    let headers = response.headers_mut();
    match HeaderValue::from_str(content_type) {
        Ok(value) if !content_type.is_empty() => headers.insert(header::CONTENT_TYPE, value),
        _ => headers.remove(header::CONTENT_TYPE),
    };
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(value: Value) -> Option<Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    #[test]
    fn a_token_is_active_until_its_exp() {
        let token = claims(json!({ "sub": "alice", "exp": 100 }));
        assert_eq!(
            introspection(token.clone(), 99),
            json!({ "active": true, "sub": "alice", "exp": 100, "token_type": "access_token" })
        );
        assert_eq!(
            introspection(token.clone(), 100),
            json!({ "active": false })
        );
        assert_eq!(introspection(token, 101), json!({ "active": false }));
    }

    #[test]
    fn no_exp_is_active_and_an_exp_that_is_no_number_is_not() {
        assert_eq!(
            introspection(claims(json!({})), 100).get("active").cloned(),
            Some(json!(true))
        );
        assert_eq!(
            introspection(claims(json!({ "exp": "tomorrow" })), 100),
            json!({ "active": false })
        );
    }

    #[test]
    fn an_unknown_token_is_inactive() {
        assert_eq!(introspection(None, 0), json!({ "active": false }));
    }

    #[test]
    fn the_claims_keep_their_token_type_but_never_their_own_active() {
        let token = claims(json!({ "token_type": "refresh_token", "active": false }));
        assert_eq!(
            introspection(token, 0),
            json!({ "active": true, "token_type": "refresh_token" })
        );
    }
}
