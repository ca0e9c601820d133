//! The test issuer's authorization endpoint (RFC 6749 §4.1.1, PKCE S256, RFC 8707
//! `resource`): checks the request, shows the consent page (or approves at once in
//! auto-approve mode) and sends the browser back with a code, or with an error (§4.1.2.1).

use std::time::Instant;

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use url::Url;

use super::endpoint::{Form, usable_resource};
use super::grants::{AuthorizationRequest, Busy};
use super::pages::{consent_page, refusal_page};
use super::pkce;
use super::random::random_token;
use super::redirect_uri::stays_on_this_machine;
use super::state::{IssuerState, lock};

/// Answers `GET /authorize` (an authorization request) or `POST /authorize` (the consent
/// page's answer).
pub(crate) async fn authorization_response(
    shared: &IssuerState,
    method: &Method,
    query: Option<&str>,
    body: &[u8],
) -> Response {
    if method == Method::POST {
        return consent_answer(shared, &Form::parse(body));
    }
    let form = Form::parse(query.unwrap_or_default().as_bytes());
    match checked_request(shared, &form).await {
        Err(Refusal::Page(why)) => refused(&why),
        // No user has seen this request: an error goes back only to a redirect URI on this
        // machine, never to a web site that registered itself (no open redirector).
        Err(Refusal::Redirect(to, code, why)) if !stays_on_this_machine(&to.redirect_uri) => {
            refused(&format!("{code}: {why}"))
        }
        Err(Refusal::Redirect(to, code, why)) => {
            back_with_error(&to, code, why, shared, StatusCode::FOUND)
        }
        Ok(request) => {
            let user = lock(&shared.resource_owner).clone();
            // Auto-approval hands codes to the machine's own programs only: a web site that
            // registered itself, or a scheme any program may handle, still meets the consent
            // page.
            if shared.auto_approve() && stays_on_this_machine(&request.redirect_uri) {
                approved(shared, request, &user, StatusCode::FOUND)
            } else {
                ask_consent(shared, request, &user)
            }
        }
    }
}

/// The consent page for `request`, which waits for the answer. Too many requests waiting (of
/// this client, or in all): `temporarily_unavailable`, before any user interaction.
fn ask_consent(shared: &IssuerState, request: AuthorizationRequest, user: &str) -> Response {
    let Ok(consent_id) = random_token() else {
        return refused("no random bytes for the consent page");
    };
    let mut grants = lock(&shared.grants);
    let approved_before = grants.approved(&request.client_id, user);
    let page = consent_page(&request, &consent_id, user, &approved_before);
    let waiting = grants.wait_for_consent(consent_id, request.clone(), Instant::now());
    drop(grants);
    if let Err(Busy(why)) = waiting {
        return temporarily_unavailable(shared, &request, &why, None);
    }
    let mut response = Html(page).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Not in a frame: a page framing it could trick the user into clicking Approve.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    response
}

/// Why an authorization request is refused: before the redirect URI is known to be the
/// client's, on a page of our own (§4.1.2.1: never redirect to an unchecked URI); after, at the
/// client's redirect URI with an error code.
enum Refusal {
    Page(String),
    Redirect(Box<AuthorizationRequest>, &'static str, &'static str),
}

async fn checked_request(
    shared: &IssuerState,
    form: &Form,
) -> Result<AuthorizationRequest, Refusal> {
    if form.repeats_any(&["client_id", "redirect_uri"]) {
        return Err(Refusal::Page(
            "client_id or redirect_uri is repeated".into(),
        ));
    }
    let Some(client_id) = form.get("client_id") else {
        return Err(Refusal::Page("client_id is missing".into()));
    };
    let client = shared
        .public_client(client_id)
        .await
        .map_err(Refusal::Page)?;
    let sent = form.get("redirect_uri");
    let Some(redirect_uri) = client.redirect_uri(sent) else {
        return Err(Refusal::Page(match sent {
            Some(uri) => format!("redirect_uri {uri:?} is not registered for this client"),
            None => "redirect_uri is missing and the client registered more than one".into(),
        }));
    };
    let mut request = AuthorizationRequest {
        client_id: client.id,
        client_name: client.name,
        redirect_uri,
        redirect_uri_sent: sent.is_some(),
        state: form.get("state").map(str::to_owned),
        code_challenge: String::new(),
        scopes: Vec::new(),
        resource: None,
    };
    let refuse = |request: AuthorizationRequest, code, why| {
        Err(Refusal::Redirect(Box::new(request), code, why))
    };
    if form.repeats_any(&[
        "response_type",
        "state",
        "scope",
        "resource",
        "code_challenge",
        "code_challenge_method",
    ]) {
        return refuse(request, "invalid_request", "a parameter is repeated");
    }
    match form.get("response_type") {
        Some("code") => {}
        None => return refuse(request, "invalid_request", "response_type is missing"),
        Some(_) => {
            return refuse(
                request,
                "unsupported_response_type",
                "only response_type=code is supported",
            );
        }
    }
    let Some(challenge) = form
        .get("code_challenge")
        .filter(|c| pkce::well_formed_challenge(c))
    else {
        return refuse(
            request,
            "invalid_request",
            "a PKCE code_challenge (S256: 43 base64url characters) is required (RFC 7636)",
        );
    };
    // RFC 7636 §4.3: no method means plain, which gives the verifier away.
    if form.get("code_challenge_method") != Some("S256") {
        return refuse(
            request,
            "invalid_request",
            "code_challenge_method must be S256",
        );
    }
    request.code_challenge = challenge.to_owned();
    match form.get("resource") {
        Some(resource) if usable_resource(resource) => request.resource = Some(resource.to_owned()),
        Some(_) => {
            return refuse(
                request,
                "invalid_target",
                "resource must be an absolute URI without fragment",
            );
        }
        None if shared.resource_required() => {
            return refuse(
                request,
                "invalid_target",
                "resource is required (RFC 8707): name the MCP server",
            );
        }
        None => {}
    }
    let scopes: Vec<String> = form
        .get("scope")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if !shared.scopes_allowed(&scopes) {
        return refuse(
            request,
            "invalid_scope",
            "a requested scope is not offered by this issuer",
        );
    }
    request.scopes = scopes;
    Ok(request)
}

/// The consent page's answer: approve or deny the request waiting under `consent`.
fn consent_answer(shared: &IssuerState, form: &Form) -> Response {
    let request = form
        .get("consent")
        .and_then(|id| lock(&shared.grants).answer_consent(id, Instant::now()));
    let Some(request) = request else {
        return refused(
            "this authorization request is unknown, answered or expired: start again from the client",
        );
    };
    match form.get("decision") {
        Some("approve") => {
            let user = lock(&shared.resource_owner).clone();
            approved(shared, request, &user, StatusCode::SEE_OTHER)
        }
        _ => back_with_error(
            &request,
            "access_denied",
            "the user denied the request",
            shared,
            StatusCode::SEE_OTHER,
        ),
    }
}

/// Issues a code for `request` and sends the browser back with it; `temporarily_unavailable`
/// when its client holds too many unused codes (or the issuer does).
fn approved(
    shared: &IssuerState,
    request: AuthorizationRequest,
    user: &str,
    status: StatusCode,
) -> Response {
    let Ok(code) = random_token() else {
        return refused("no random bytes for an authorization code");
    };
    let mut answer = vec![("code", code.clone())];
    answer.extend(request.state.clone().map(|state| ("state", state)));
    let location = redirect(&request.redirect_uri, answer, shared);
    let issued = lock(&shared.grants).issue_code(code, request.clone(), user, Instant::now());
    match issued {
        Ok(()) => location_response(status, &location),
        // Auto-approved (302) or approved by the user (303): either way the redirect URI is
        // one this answer may go to.
        Err(Busy(why)) => temporarily_unavailable(shared, &request, &why, Some(status)),
    }
}

/// `temporarily_unavailable` (RFC 6749 §4.1.2.1) for a request of a client asking too much at
/// once: back to the client with `status` when the request was approved (by the user, or
/// auto-approved for a redirect URI on this machine); before that, back only to a redirect URI
/// on this machine (302), else on the issuer's page (no redirect anywhere unseen).
fn temporarily_unavailable(
    shared: &IssuerState,
    request: &AuthorizationRequest,
    why: &str,
    approved_with: Option<StatusCode>,
) -> Response {
    let status = match approved_with {
        Some(status) => status,
        None if stays_on_this_machine(&request.redirect_uri) => StatusCode::FOUND,
        None => return refused(&format!("temporarily_unavailable: {why}")),
    };
    back_with_error(request, "temporarily_unavailable", why, shared, status)
}

/// Sends the browser back to the client with an error (RFC 6749 §4.1.2.1).
fn back_with_error(
    request: &AuthorizationRequest,
    code: &str,
    description: &str,
    shared: &IssuerState,
    status: StatusCode,
) -> Response {
    let mut answer = vec![
        ("error", code.to_owned()),
        ("error_description", description.to_owned()),
    ];
    answer.extend(request.state.clone().map(|state| ("state", state)));
    location_response(status, &redirect(&request.redirect_uri, answer, shared))
}

/// `redirect_uri` with `answer` and `iss` (RFC 9207, against mix-up attacks) added to its query.
fn redirect(redirect_uri: &str, answer: Vec<(&str, String)>, shared: &IssuerState) -> String {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return redirect_uri.to_owned();
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in answer {
            query.append_pair(name, &value);
        }
        query.append_pair("iss", &shared.issuer);
    }
    url.into()
}

fn location_response(status: StatusCode, location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (
            status,
            [
                (header::LOCATION, value),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => refused("the redirect URI cannot be sent in a header"),
    }
}

/// 400 with a page saying what is wrong: the browser stays here.
fn refused(why: &str) -> Response {
    let page = Html(refusal_page(why));
    (
        StatusCode::BAD_REQUEST,
        [(header::CACHE_CONTROL, "no-store")],
        page,
    )
        .into_response()
}
