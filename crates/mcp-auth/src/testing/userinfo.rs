//! The test issuer's user endpoints, shaped as each provider documents them, answering for its
//! opaque tokens: OpenID Connect UserInfo (`/userinfo`), Google's tokeninfo (`/tokeninfo`) and
//! GitHub's `/user` and `/user/memberships/orgs/{org}`.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::atomic::Ordering;

use serde_json::{Map, Value, json};

use super::endpoint::Form;
use super::introspection::unexpired;
use super::state::{IssuerState, lock};
use crate::clock::unix_now;

/// Which user endpoint a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UserEndpoint {
    /// `GET /userinfo` (OpenID Connect Core 1.0 §5.3).
    Userinfo,
    /// `GET` or `POST /tokeninfo` (Google).
    Tokeninfo,
    /// `GET /user` (GitHub's "get the authenticated user").
    GitHubUser,
    /// `GET /user/memberships/orgs/{org}` (GitHub).
    GitHubMembership(String),
}

impl UserEndpoint {
    /// The endpoint at `path` (below the issuer's own path), if it is one.
    pub(crate) fn at(path: &str) -> Option<Self> {
        match path {
            "/userinfo" => Some(Self::Userinfo),
            "/tokeninfo" => Some(Self::Tokeninfo),
            "/user" => Some(Self::GitHubUser),
            _ => path
                .strip_prefix("/user/memberships/orgs/")
                .filter(|org| !org.is_empty() && !org.contains('/'))
                .map(|org| Self::GitHubMembership(org.to_owned())),
        }
    }
}

/// Claims that describe the token, not its user: no user endpoint repeats them.
const TOKEN_CLAIMS: [&str; 11] = [
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "scope",
    "client_id",
    "azp",
    "cnf",
    "token_type",
];

/// Answers a request at one of the user endpoints, after the delay a test set.
pub(crate) async fn user_endpoint_response(
    shared: &IssuerState,
    endpoint: UserEndpoint,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Response {
    let delay = *lock(&shared.userinfo_delay);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if shared.userinfo_rate_limited.load(Ordering::SeqCst) {
        let mut response = (StatusCode::FORBIDDEN, "API rate limit exceeded").into_response();
        response
            .headers_mut()
            .insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        return response;
    }
    let now = unix_now();
    if endpoint == UserEndpoint::Tokeninfo {
        // Google reads `access_token` from the form body or the query.
        let form = Form::parse(body);
        let from_query = Form::parse(query.unwrap_or_default().as_bytes());
        let token = form.get("access_token").or(from_query.get("access_token"));
        let claims = token.and_then(|token| known(shared, token, now));
        return match claims {
            Some(claims) => axum::Json(tokeninfo(&claims)).into_response(),
            None => (
                StatusCode::BAD_REQUEST,
                axum::Json(
                    json!({ "error": "invalid_token", "error_description": "Invalid Value" }),
                ),
            )
                .into_response(),
        };
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let Some(claims) = token.and_then(|token| known(shared, token, now)) else {
        return unauthorized(&endpoint);
    };
    match endpoint {
        UserEndpoint::Userinfo => axum::Json(user_claims(&claims)).into_response(),
        UserEndpoint::GitHubUser => github_user(&claims),
        UserEndpoint::GitHubMembership(org) => {
            let subject = claims
                .get("sub")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let state = lock(&shared.org_members)
                .get(&(org.clone(), subject.to_owned()))
                .cloned();
            match state {
                Some(state) => axum::Json(json!({
                    "url": format!("https://api.github.com/orgs/{org}/memberships/{subject}"),
                    "state": state,
                    "role": "member",
                    "organization_url": format!("https://api.github.com/orgs/{org}"),
                    "organization": { "login": org },
                    "user": { "login": github_login(&claims) },
                }))
                .into_response(),
                None => (
                    StatusCode::NOT_FOUND,
                    axum::Json(json!({ "message": "Not Found" })),
                )
                    .into_response(),
            }
        }
        UserEndpoint::Tokeninfo => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The claims of a known, unexpired opaque token.
fn known(shared: &IssuerState, token: &str, now: u64) -> Option<Map<String, Value>> {
    shared
        .opaque_claims(token)
        .filter(|claims| unexpired(claims, now))
}

/// The refusal of an unknown token, as each provider answers it: OpenID Connect Core §5.3.3
/// (RFC 6750 §3.1 `invalid_token`), GitHub's 401 "Bad credentials".
fn unauthorized(endpoint: &UserEndpoint) -> Response {
    if *endpoint == UserEndpoint::Userinfo {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer error="invalid_token""#),
        );
        return response;
    }
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
        })),
    )
        .into_response()
}

/// The user's claims: the token's, less those that describe the token.
fn user_claims(claims: &Map<String, Value>) -> Value {
    let mut user = claims.clone();
    user.retain(|name, _| !TOKEN_CLAIMS.contains(&name.as_str()));
    Value::Object(user)
}

/// Google's tokeninfo answer for an access token: `azp` (the `azp` claim, else `client_id`),
/// `aud` (the `aud` claim, else `client_id`), `sub`, `scope`, `exp` and `expires_in` as strings
/// of seconds, `email` and `email_verified` when the token has them, `access_type`.
fn tokeninfo(claims: &Map<String, Value>) -> Value {
    let string = |name: &str| claims.get(name).and_then(Value::as_str);
    let client = string("client_id");
    let mut answer = Map::new();
    for (name, value) in [
        ("azp", string("azp").or(client)),
        ("aud", string("aud").or(client)),
        ("sub", string("sub")),
        ("scope", string("scope")),
        ("email", string("email")),
    ] {
        if let Some(value) = value {
            answer.insert(name.to_owned(), json!(value));
        }
    }
    if let Some(exp) = claims.get("exp").and_then(Value::as_u64) {
        answer.insert("exp".to_owned(), json!(exp.to_string()));
        let left = exp.saturating_sub(unix_now());
        answer.insert("expires_in".to_owned(), json!(left.to_string()));
    }
    if let Some(verified) = claims.get("email_verified").and_then(Value::as_bool) {
        answer.insert("email_verified".to_owned(), json!(verified.to_string()));
    }
    answer.insert("access_type".to_owned(), json!("online"));
    Value::Object(answer)
}

/// The `login` of the token's user: its `login` claim, else its `sub`.
fn github_login(claims: &Map<String, Value>) -> String {
    claims
        .get("login")
        .or_else(|| claims.get("sub"))
        .and_then(Value::as_str)
        .unwrap_or("test-user")
        .to_owned()
}

/// GitHub's answer to `GET /user`: the user's claims (`login` from `login` or `sub`, `id` from
/// `id`, else 1), the scopes in `X-OAuth-Scopes` (comma-separated; none for a token without
/// `scope`, as for fine-grained tokens) and the OAuth app in `X-OAuth-Client-Id` (from
/// `client_id`, when the token has one).
fn github_user(claims: &Map<String, Value>) -> Response {
    let Value::Object(mut user) = user_claims(claims) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    user.remove("sub");
    user.insert("login".to_owned(), json!(github_login(claims)));
    user.entry("id").or_insert(json!(1));
    user.entry("type").or_insert(json!("User"));
    let mut response = axum::Json(Value::Object(user)).into_response();
    let headers = response.headers_mut();
    if let Some(scope) = claims.get("scope").and_then(Value::as_str) {
        let scopes = scope.split_whitespace().collect::<Vec<_>>().join(", ");
        if let Ok(value) = HeaderValue::from_str(&scopes) {
            headers.insert("x-oauth-scopes", value);
        }
    }
    if let Some(client) = claims.get("client_id").and_then(Value::as_str)
        && let Ok(value) = HeaderValue::from_str(client)
    {
        headers.insert("x-oauth-client-id", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_endpoints_by_path() {
        assert_eq!(UserEndpoint::at("/userinfo"), Some(UserEndpoint::Userinfo));
        assert_eq!(UserEndpoint::at("/user"), Some(UserEndpoint::GitHubUser));
        assert_eq!(
            UserEndpoint::at("/user/memberships/orgs/acme"),
            Some(UserEndpoint::GitHubMembership("acme".to_owned()))
        );
        assert_eq!(UserEndpoint::at("/user/memberships/orgs/"), None);
        assert_eq!(UserEndpoint::at("/user/memberships/orgs/a/b"), None);
    }

    #[test]
    fn tokeninfo_names_the_client_in_azp_and_aud_and_times_as_strings() {
        let Value::Object(claims) = json!({
            "sub": "1057", "client_id": "web-app", "scope": "openid email", "exp": 4_000_000_000u64,
        }) else {
            return;
        };
        let answer = tokeninfo(&claims);
        assert_eq!(answer["azp"], "web-app");
        assert_eq!(answer["aud"], "web-app");
        assert_eq!(answer["exp"], "4000000000");
        assert!(answer["expires_in"].is_string());
    }
}
