//! The bearer service: refuses or passes each request, inserting [`AuthInfo`] on the way in.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response, Uri};
use tower_service::Service;

use super::body::ResponseBody;
use super::challenge::Rejection;
use super::future::ResponseFuture;
use super::policy::{Decision, Policy};
use crate::auth_info::AuthInfo;

/// The service [`BearerAuthLayer`](super::BearerAuthLayer) wraps around an inner service.
///
/// Accepted requests reach `inner` with an `Arc<`[`AuthInfo`]`>` in their extensions; refused
/// ones get a ready-made response and never reach `inner`.
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
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        match self.policy.decide(request.headers(), request.uri()) {
            // Refused, or a token verified before: no future to allocate, nothing to wait for.
            Decision::Allow(info) => {
                request.extensions_mut().insert(info);
                ResponseFuture::inner(self.inner.call(request))
            }
            Decision::Refuse(rejection) => {
                ResponseFuture::refused(refuse(&self.policy, rejection, request.uri()))
            }
            Decision::Verify(token) => {
                // `self.inner` is the clone that was polled ready: use it, and leave a fresh
                // clone behind for the next request.
                let fresh = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, fresh);
                let policy = self.policy.clone();
                ResponseFuture::verifying(Box::pin(async move {
                    match policy.verify(&token).await {
                        Ok(info) => {
                            request.extensions_mut().insert::<Arc<AuthInfo>>(info);
                            let response = inner.call(request).await?;
                            Ok(response.map(ResponseBody::inner))
                        }
                        Err(rejection) => Ok(refuse(&policy, rejection, request.uri())),
                    }
                }))
            }
        }
    }
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
