//! The bearer service: refuses or passes each request, inserting [`AuthInfo`] on the way in.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::{Either, Full};
use tower_service::Service;

use super::challenge::Rejection;
use super::future::{BearerResponse, ResponseFuture};
use super::policy::{Decision, Policy};
use crate::auth_info::AuthInfo;

/// The service [`BearerAuthLayer`](super::BearerAuthLayer) wraps around an inner service.
///
/// Accepted requests reach `inner` with an `Arc<`[`AuthInfo`]`>` in their extensions and its response is
/// passed back as `Either::Left`; refused ones get a ready-made response (`Either::Right`) and
/// never reach `inner`.
#[derive(Clone)]
pub struct BearerAuth<S> {
    inner: S,
    policy: Arc<Policy>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for BearerAuth<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuth")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S> BearerAuth<S> {
    pub(crate) fn new(inner: S, policy: Arc<Policy>) -> Self {
        Self { inner, policy }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for BearerAuth<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
{
    type Response = BearerResponse<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let decision = match self.policy.decide_now(request.headers(), request.uri()) {
            Decision::Done(decided) => Ok(decided),
            Decision::Verify(token) => Err(token.to_owned()),
        };
        match decision {
            // Refused, or a token verified before: no future to allocate, nothing to wait for.
            Ok(Ok(info)) => {
                request.extensions_mut().insert::<Arc<AuthInfo>>(info);
                ResponseFuture::inner(self.inner.call(request))
            }
            Ok(Err(rejection)) => {
                ResponseFuture::refused(refuse(&self.policy, rejection, request.uri()))
            }
            Err(token) => {
                // `self.inner` is the clone that was polled ready: use it, and leave a fresh
                // clone behind for the next request.
                let fresh = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, fresh);
                let policy = self.policy.clone();
                let (mut parts, body) = request.into_parts();
                ResponseFuture::verifying(Box::pin(async move {
                    match policy.verify(&token).await {
                        Ok(info) => {
                            parts.extensions.insert::<Arc<AuthInfo>>(info);
                            let response = inner.call(Request::from_parts(parts, body)).await?;
                            Ok(response.map(Either::Left))
                        }
                        Err(rejection) => {
                            Ok(refuse(&policy, rejection, &parts.uri).map(Either::Right))
                        }
                    }
                }))
            }
        }
    }
}

/// The refusal's response, logged without the token or the query.
fn refuse(policy: &Policy, rejection: Rejection, uri: &Uri) -> Response<Full<Bytes>> {
    tracing::debug!(
        ?rejection,
        path = uri.path(),
        "bearer authorization refused"
    );
    rejection.into_response(&policy.challenge)
}
