//! The body of the layer's responses: the inner service's body, or a refusal's JSON.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use pin_project_lite::pin_project;

pin_project! {
    /// The response body of [`BearerAuth`](super::BearerAuth): the inner service's body for an
    /// accepted request, or the JSON `{"error", "error_description"}` of a refusal.
    ///
    /// It keeps the inner body's error type; a refusal's body cannot fail.
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProjection]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Refusal { #[pin] body: Full<Bytes> },
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        Self {
            kind: Kind::Inner { body },
        }
    }

    pub(crate) fn refusal(body: Full<Bytes>) -> Self {
        Self {
            kind: Kind::Refusal { body },
        }
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProjection::Inner { body } => body.poll_frame(cx),
            KindProjection::Refusal { body } => body.poll_frame(cx).map(|frame| {
                frame.map(|result| result.map_err(|never: Infallible| match never {}))
            }),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Refusal { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Refusal { body } => body.size_hint(),
        }
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Inner { .. } => "inner",
            Kind::Refusal { .. } => "refusal",
        };
        f.debug_struct("ResponseBody").field("kind", &kind).finish()
    }
}

pin_project! {
    /// The request body [`BearerAuth`](super::BearerAuth) hands its inner service: the
    /// client's body exactly as sent. When the layer had to read the start of it (to find the
    /// MCP operations a request asks for), that start is given back first, then whatever was
    /// not read: the inner service sees the same bytes, in the same order.
    pub struct RequestBody<B> {
        prefix: Option<Bytes>,
        trailers: Option<http::HeaderMap>,
        // Set when the read-ahead saw the end of `rest`: it is not polled again.
        done: bool,
        #[pin]
        rest: B,
    }
}

impl<B> RequestBody<B> {
    /// The body as it came, nothing read.
    pub(crate) fn untouched(body: B) -> Self {
        Self {
            prefix: None,
            trailers: None,
            done: false,
            rest: body,
        }
    }
}

impl<B> Body for RequestBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        if let Some(prefix) = this.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        if let Some(trailers) = this.trailers.take() {
            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
        }
        if *this.done {
            return Poll::Ready(None);
        }
        this.rest.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && self.trailers.is_none() && (self.done || self.rest.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let read = self.prefix.as_ref().map_or(0, |prefix| prefix.len() as u64);
        if self.done {
            return SizeHint::with_exact(read);
        }
        let rest = self.rest.size_hint();
        // Upper first: `set_lower` refuses a lower bound above the current upper one.
        let mut hint = SizeHint::new();
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper.saturating_add(read));
        }
        hint.set_lower(rest.lower().saturating_add(read));
        hint
    }
}

impl<B> std::fmt::Debug for RequestBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBody")
            .field("read_ahead", &self.prefix.as_ref().map(Bytes::len))
            .finish_non_exhaustive()
    }
}

/// The start of a request body, read to find its operations.
pub(crate) struct Peeked<B> {
    /// The bytes read, and the body to pass on (those bytes first, then the rest).
    pub(crate) body: RequestBody<B>,
    /// Whether the bytes read are the whole body: `false` when it is larger than the limit.
    pub(crate) complete: bool,
}

impl<B> Peeked<B> {
    /// The bytes read.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.body.prefix.as_deref().unwrap_or_default()
    }
}

/// Reads `body` until it ends or more than `limit` bytes have come. A body that says (by its
/// size hint, from `Content-Length`) that it is larger than `limit` is not read at all. `Err`
/// when the body fails while being read.
pub(crate) async fn peek<B>(mut body: B, limit: usize) -> Result<Peeked<B>, B::Error>
where
    B: Body<Data = Bytes> + Unpin,
{
    use http_body_util::BodyExt;

    if body.size_hint().lower() > limit as u64 {
        return Ok(Peeked {
            body: RequestBody::untouched(body),
            complete: false,
        });
    }
    let mut read = bytes::BytesMut::new();
    let mut trailers = None;
    let complete = loop {
        if read.len() > limit {
            break false;
        }
        match body.frame().await {
            None => break true,
            Some(frame) => match frame?.into_data() {
                Ok(data) => read.extend_from_slice(&data),
                Err(frame) => {
                    // Trailers end a body.
                    trailers = frame.into_trailers().ok();
                    break true;
                }
            },
        }
    };
    Ok(Peeked {
        body: RequestBody {
            prefix: (!read.is_empty()).then(|| read.freeze()),
            trailers,
            done: complete,
            rest: body,
        },
        complete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};

    #[tokio::test]
    async fn a_read_ahead_body_gives_the_same_bytes_and_a_sound_size_hint() {
        let sent = Bytes::from_static(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
        for limit in [4, 1024] {
            let peeked = peek(Full::new(sent.clone()), limit).await.unwrap();
            let hint = peeked.body.size_hint();
            assert_eq!(hint.exact(), Some(sent.len() as u64), "limit {limit}");
            let received = peeked.body.collect().await.unwrap().to_bytes();
            assert_eq!(received, sent, "limit {limit}");
        }
    }
}
