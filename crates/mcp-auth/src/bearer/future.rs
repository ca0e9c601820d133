//! The response future of [`BearerAuth`](super::BearerAuth): the inner service's future when the
//! request was decided at once (a remembered token), a ready refusal, or, when a token must be
//! verified, a boxed future that verifies it and then calls the inner service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use http_body_util::{Either, Full};
use pin_project_lite::pin_project;

/// What the layer answers with: the inner body, or a refusal's JSON body.
pub type BearerResponse<B> = Response<Either<B, Full<Bytes>>>;

/// A verification under way, then the inner call.
type Verifying<B, E> = Pin<Box<dyn Future<Output = Result<BearerResponse<B>, E>> + Send>>;

pin_project! {
    /// The future [`BearerAuth`](super::BearerAuth) returns.
    #[project = Projection]
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<F, B, E> {
        Inner { #[pin] future: F },
        Refused { #[pin] response: std::future::Ready<Result<BearerResponse<B>, E>> },
        Verifying { future: Verifying<B, E> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    pub(crate) fn inner(future: F) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    pub(crate) fn refused(response: Response<Full<Bytes>>) -> Self {
        let response = std::future::ready(Ok(response.map(Either::Right)));
        Self {
            state: State::Refused { response },
        }
    }

    pub(crate) fn verifying(future: Verifying<B, E>) -> Self {
        Self {
            state: State::Verifying { future },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<BearerResponse<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Inner { future } => future
                .poll(cx)
                .map(|result| result.map(|response| response.map(Either::Left))),
            StateProjection::Refused { response } => response.poll(cx),
            StateProjection::Verifying { future } => future.as_mut().poll(cx),
        }
    }
}
