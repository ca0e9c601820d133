//! The bearer service: refuses or passes each request, inserting [`AuthInfo`] on the way in.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{Either, Full};
use tower_service::Service;

use super::policy::Policy;
use crate::auth_info::AuthInfo;

/// The service [`BearerAuthLayer`](super::BearerAuthLayer) wraps around an inner service.
///
/// Accepted requests reach `inner` with an [`AuthInfo`] in their extensions and its response is
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
    type Response = Response<Either<ResBody, Full<Bytes>>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // `self.inner` is the clone that was polled ready: use it, and leave a fresh clone behind.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let policy = self.policy.clone();
        let (mut parts, body) = request.into_parts();
        Box::pin(async move {
            match policy.authorize(&parts.headers, &parts.uri).await {
                Ok(info) => {
                    parts.extensions.insert::<Arc<AuthInfo>>(info);
                    let response = inner.call(Request::from_parts(parts, body)).await?;
                    Ok(response.map(Either::Left))
                }
                Err(rejection) => {
                    tracing::debug!(
                        ?rejection,
                        path = parts.uri.path(),
                        "bearer authorization refused"
                    );
                    Ok(rejection
                        .into_response(&policy.challenge)
                        .map(Either::Right))
                }
            }
        })
    }
}
