//! The response future of [`BearerAuth`](super::BearerAuth): the inner service's future when the
//! request was decided at once (a remembered token), a ready refusal, or, when a token must be
//! verified, a boxed future that verifies it and then calls the inner service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use super::body::ResponseBody;
use crate::sessions::SessionWatch;

/// A verification under way, then the inner call.
pub(crate) type Verifying<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<ResponseBody<B>>, E>> + Send>>;

pin_project! {
    /// The future [`BearerAuth`](super::BearerAuth) returns.
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<F, B, E> {
        Inner { #[pin] future: F, watch: Option<SessionWatch> },
        Refused { response: Option<Response<ResponseBody<B>>> },
        Verifying { future: Verifying<B, E> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    pub(crate) fn inner(future: F, watch: Option<SessionWatch>) -> Self {
        Self {
            state: State::Inner { future, watch },
        }
    }

    pub(crate) fn refused(response: Response<ResponseBody<B>>) -> Self {
        Self {
            state: State::Refused {
                response: Some(response),
            },
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
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Inner { future, watch } => future.poll(cx).map(|result| {
                result.map(|response| {
                    if let Some(watch) = watch.take() {
                        watch.after(&response);
                    }
                    response.map(ResponseBody::inner)
                })
            }),
            StateProjection::Refused { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polled again after it completed: a caller bug, answered as futures do.
                None => Poll::Pending,
            },
            StateProjection::Verifying { future } => future.as_mut().poll(cx),
        }
    }
}
