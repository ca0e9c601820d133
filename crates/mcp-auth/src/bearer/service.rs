//! The bearer service: refuses or passes each request, inserting [`AuthInfo`](crate::AuthInfo) on the way in.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use arc_swap::{ArcSwap, Guard};
use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;
use tracing::Instrument;

use super::body::{RequestBody, ResponseBody, peek};
use super::challenge::Rejection;
use super::future::ResponseFuture;
use super::observer::{Seen, decision_span, remote_addr};
use super::policy::{BodyRead, Decision, Policy, Refusal};
use super::token::{Scheme, uses_dpop};

/// The service [`BearerAuthLayer`](super::BearerAuthLayer) wraps around an inner service.
///
/// Accepted requests reach `inner` with an `Arc<`[`AuthInfo`](crate::AuthInfo)`>` in their extensions and their
/// body as a [`RequestBody`] (the same bytes; read ahead only when operation rules need it);
/// refused ones get a ready-made response and never reach `inner`.
#[derive(Clone)]
pub struct BearerAuth<S> {
    inner: S,
    /// The layer's checks; a reload swaps them for every service at once.
    policy: Arc<ArcSwap<Policy>>,
}

impl<S> BearerAuth<S> {
    pub(crate) fn new(inner: S, policy: Arc<ArcSwap<Policy>>) -> Self {
        Self { inner, policy }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for BearerAuth<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuth")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for BearerAuth<S>
where
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    ReqBody: Body<Data = Bytes> + Unpin + Send + 'static,
    ResBody: 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let started = Instant::now();
        // The checks in force now: a reload during this request does not change them.
        let policy = self.policy.load();
        let body_to_read = policy.body_to_read(request.method());
        let span = decision_span();
        let decision = span.in_scope(|| policy.decide(request.headers(), request.uri()));
        let seen = |request| seen_request(request, started);
        match decision {
            // Refused, or a token verified before with no body to read: no future to
            // allocate, nothing to wait for.
            Decision::Refuse(refusal) => {
                span.in_scope(|| ResponseFuture::refused(refuse(&policy, refusal, &seen(&request))))
            }
            Decision::Allow(info) if body_to_read.is_none() => {
                let entered = span.enter();
                let watch = match policy.watch_session(request.method(), request.headers(), &info) {
                    Ok(watch) => watch,
                    Err(rejection) => {
                        return ResponseFuture::refused(refuse(
                            &policy,
                            Refusal::of(&info, rejection),
                            &seen(&request),
                        ));
                    }
                };
                policy.observer.allowed(&seen(&request), &info);
                // The decision ends here: the inner service's work is not part of its span.
                drop(entered);
                let mut request = request.map(RequestBody::untouched);
                policy.equip(request.extensions_mut(), info);
                ResponseFuture::inner(self.inner.call(request), watch)
            }
            decision => {
                // `self.inner` is the clone that was polled ready: use it, and leave a fresh
                // clone behind for the next request.
                let fresh = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, fresh);
                let policy = Guard::into_inner(policy);
                ResponseFuture::verifying(Box::pin(authorize_then_call(
                    policy,
                    inner,
                    request,
                    decision,
                    body_to_read,
                    started,
                    span,
                )))
            }
        }
    }
}

/// The slow path: verifies the token unless `decision` already allows it, reads the body's
/// operations when there are rules (`body_to_read`), then calls `inner` or refuses. The
/// decision runs in `span`; the inner service's work does not.
async fn authorize_then_call<S, ReqBody, ResBody>(
    policy: Arc<Policy>,
    mut inner: S,
    request: Request<ReqBody>,
    decision: Decision,
    body_to_read: Option<BodyRead>,
    started: Instant,
    span: tracing::Span,
) -> Result<Response<ResponseBody<ResBody>>, S::Error>
where
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>,
    ReqBody: Body<Data = Bytes> + Unpin,
{
    let (request, watch) = match authorize(&policy, request, decision, body_to_read, started)
        .instrument(span)
        .await
    {
        Ok(authorized) => authorized,
        Err(refusal) => return Ok(refusal),
    };
    let response = inner.call(request).await?;
    if let Some(watch) = watch {
        watch.after(&response);
    }
    Ok(response.map(ResponseBody::inner))
}

/// The request as the inner service gets it (identity inserted, body peeked when needed) and
/// its session to watch, or the refusal.
async fn authorize<ReqBody, ResBody>(
    policy: &Policy,
    request: Request<ReqBody>,
    decision: Decision,
    body_to_read: Option<BodyRead>,
    started: Instant,
) -> Result<
    (
        Request<RequestBody<ReqBody>>,
        Option<crate::sessions::SessionWatch>,
    ),
    Response<ResponseBody<ResBody>>,
>
where
    ReqBody: Body<Data = Bytes> + Unpin,
{
    let (mut parts, body) = request.into_parts();
    let seen = |parts| seen(parts, started);
    let info = match decision {
        Decision::Allow(info) => info,
        Decision::Verify(token) => match policy.verify(&token, Scheme::Bearer).await {
            Ok(info) => info,
            Err(refusal) => return Err(refuse(policy, refusal, &seen(&parts))),
        },
        Decision::Prove(token) => match policy.prove(&token, &parts).await {
            Ok(info) => info,
            Err(refusal) => return Err(refuse(policy, refusal, &seen(&parts))),
        },
        Decision::Refuse(refusal) => return Err(refuse(policy, refusal, &seen(&parts))),
    };
    let watch = policy
        .watch_session(&parts.method, &parts.headers, &info)
        .map_err(|rejection| refuse(policy, Refusal::of(&info, rejection), &seen(&parts)))?;
    let (body, decided) = match body_to_read {
        None => (RequestBody::untouched(body), None),
        Some(BodyRead { limit, timeout }) => {
            let peeked = match tokio::time::timeout(timeout, peek(body, limit)).await {
                Ok(Ok(peeked)) => peeked,
                Ok(Err(_)) => {
                    let unreadable =
                        Rejection::InvalidRequest("the request body could not be read");
                    return Err(refuse(policy, unreadable.into(), &seen(&parts)));
                }
                Err(_) => {
                    let slow = Rejection::InvalidRequest("the request body did not arrive in time");
                    return Err(refuse(policy, slow.into(), &seen(&parts)));
                }
            };
            let whole = peeked.complete.then(|| peeked.bytes());
            let remote_addr = remote_addr(&parts.extensions);
            let (checked, decided) =
                policy.check_operations(&info, &parts.headers, remote_addr, whole);
            let asked = match checked {
                Ok(questions) => policy.ask(questions).await,
                Err(rejection) => Err(rejection),
            };
            if let Err(rejection) = asked {
                let seen = Seen {
                    operation: decided.as_ref(),
                    ..seen(&parts)
                };
                return Err(refuse(policy, Refusal::of(&info, rejection), &seen));
            }
            (peeked.body, decided)
        }
    };
    let seen = Seen {
        operation: decided.as_ref(),
        ..seen(&parts)
    };
    policy.observer.allowed(&seen, &info);
    policy.equip(&mut parts.extensions, info);
    Ok((Request::from_parts(parts, body), watch))
}

/// The request a decision is about, for the observer.
fn seen_request<B>(request: &Request<B>, started: Instant) -> Seen<'_> {
    Seen {
        headers: request.headers(),
        extensions: request.extensions(),
        started,
        operation: None,
    }
}

/// The same, of a request taken apart.
fn seen(parts: &http::request::Parts, started: Instant) -> Seen<'_> {
    Seen {
        headers: &parts.headers,
        extensions: &parts.extensions,
        started,
        operation: None,
    }
}

/// The refusal's response, traced, counted and audited (without the token or the query; with
/// the caller when its token was verified).
fn refuse<B>(policy: &Policy, refusal: Refusal, request: &Seen<'_>) -> Response<ResponseBody<B>> {
    let Refusal { rejection, caller } = refusal;
    let response = rejection.to_response(&policy.challenge, uses_dpop(request.headers));
    policy
        .observer
        .refused(request, &rejection, response.status(), caller.as_deref());
    response.map(ResponseBody::refusal)
}
