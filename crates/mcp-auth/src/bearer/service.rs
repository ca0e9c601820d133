//! The bearer service: refuses or passes each request, inserting [`AuthInfo`] on the way in.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body::Body;
use tower_service::Service;

use super::body::{RequestBody, ResponseBody, peek};
use super::challenge::Rejection;
use super::future::ResponseFuture;
use super::policy::{Decision, Policy};
use crate::auth_info::AuthInfo;

/// The service [`BearerAuthLayer`](super::BearerAuthLayer) wraps around an inner service.
///
/// Accepted requests reach `inner` with an `Arc<`[`AuthInfo`]`>` in their extensions and their
/// body as a [`RequestBody`] (the same bytes; read ahead only when operation rules need it);
/// refused ones get a ready-made response and never reach `inner`.
#[derive(Clone)]
pub struct BearerAuth<S> {
    inner: S,
    policy: Arc<Policy>,
}

impl<S> BearerAuth<S> {
    pub(crate) fn new(inner: S, policy: Arc<Policy>) -> Self {
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
        let body_to_read = self.policy.body_to_read(request.method());
        match self.policy.decide(request.headers(), request.uri()) {
            // Refused, or a token verified before with no body to read: no future to
            // allocate, nothing to wait for.
            Decision::Refuse(rejection) => {
                ResponseFuture::refused(refuse(&self.policy, rejection, request.uri()))
            }
            Decision::Allow(info) if body_to_read.is_none() => {
                let watch =
                    match self
                        .policy
                        .watch_session(request.method(), request.headers(), &info)
                    {
                        Ok(watch) => watch,
                        Err(rejection) => {
                            return ResponseFuture::refused(refuse(
                                &self.policy,
                                rejection,
                                request.uri(),
                            ));
                        }
                    };
                let mut request = request.map(RequestBody::untouched);
                request.extensions_mut().insert(info);
                if let Some(permissions) = &self.policy.permissions {
                    request.extensions_mut().insert(permissions.clone());
                }
                ResponseFuture::inner(self.inner.call(request), watch)
            }
            decision => {
                // `self.inner` is the clone that was polled ready: use it, and leave a fresh
                // clone behind for the next request.
                let fresh = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, fresh);
                let policy = self.policy.clone();
                ResponseFuture::verifying(Box::pin(authorize_then_call(
                    policy,
                    inner,
                    request,
                    decision,
                    body_to_read,
                )))
            }
        }
    }
}

/// The slow path: verifies the token unless `decision` already allows it, reads the body's
/// operations when there are rules (`body_to_read`), then calls `inner` or refuses.
async fn authorize_then_call<S, ReqBody, ResBody>(
    policy: Arc<Policy>,
    mut inner: S,
    request: Request<ReqBody>,
    decision: Decision,
    body_to_read: Option<usize>,
) -> Result<Response<ResponseBody<ResBody>>, S::Error>
where
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>,
    ReqBody: Body<Data = Bytes> + Unpin,
{
    let info = match decision {
        Decision::Allow(info) => info,
        Decision::Verify(token) => match policy.verify(&token).await {
            Ok(info) => info,
            Err(rejection) => return Ok(refuse(&policy, rejection, request.uri())),
        },
        Decision::Refuse(rejection) => return Ok(refuse(&policy, rejection, request.uri())),
    };
    let (mut parts, body) = request.into_parts();
    let watch = match policy.watch_session(&parts.method, &parts.headers, &info) {
        Ok(watch) => watch,
        Err(rejection) => return Ok(refuse(&policy, rejection, &parts.uri)),
    };
    let body = match body_to_read {
        None => RequestBody::untouched(body),
        Some(limit) => {
            let Ok(peeked) = peek(body, limit).await else {
                let unreadable = Rejection::InvalidRequest("the request body could not be read");
                return Ok(refuse(&policy, unreadable, &parts.uri));
            };
            let whole = peeked.complete.then(|| peeked.bytes());
            if let Err(rejection) = policy.check_operations(&info, &parts.headers, whole) {
                return Ok(refuse(&policy, rejection, &parts.uri));
            }
            peeked.body
        }
    };
    parts.extensions.insert::<Arc<AuthInfo>>(info);
    if let Some(permissions) = &policy.permissions {
        parts.extensions.insert(permissions.clone());
    }
    let response = inner.call(Request::from_parts(parts, body)).await?;
    if let Some(watch) = watch {
        watch.after(&response);
    }
    Ok(response.map(ResponseBody::inner))
}

/// The refusal's response, logged without the token or the query.
fn refuse<B>(policy: &Policy, rejection: Rejection, uri: &Uri) -> Response<ResponseBody<B>> {
    tracing::debug!(
        ?rejection,
        path = uri.path(),
        "bearer authorization refused"
    );
    rejection
        .into_response(&policy.challenge)
        .map(ResponseBody::refusal)
}
