//! The body of a streamed response, fed chunk by chunk through a channel, that fails only after
//! what came before the failure has reached the connection.
//!
//! A stream that fails after its head was sent is cut short: HTTP/1.1 closes the connection
//! without the terminating chunk. hyper writes each chunk into its buffer and flushes it when the
//! body has nothing more for now; a failure polled right after the last chunk would close the
//! connection with that chunk still in the buffer, and the client would lose bytes the function
//! sent before it failed (found by the with/without-layer stream comparison: the same stream lost
//! its last chunk without the layer and kept it behind it). So the failure is held back for one
//! poll: the body answers `Pending` (and wakes itself at once), hyper flushes, and the next poll
//! gives the failure.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::channel::{Channel, Sender};
use hyper::body::{Body, Frame, SizeHint};

/// A streamed response body (see the module's documentation).
#[derive(Debug)]
pub struct StreamBody {
    inner: Channel<Bytes, std::io::Error>,
    /// The failure held back for one poll.
    held: Option<std::io::Error>,
    /// Whether the last frame given was data (so a failure now waits for a flush).
    after_data: bool,
}

impl StreamBody {
    /// A body and the sender that feeds it, with room for `buffer` chunks in between.
    pub fn channel(buffer: usize) -> (Sender<Bytes, std::io::Error>, Self) {
        let (tx, inner) = Channel::new(buffer);
        let body = StreamBody {
            inner,
            held: None,
            after_data: false,
        };
        (tx, body)
    }
}

impl Body for StreamBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        if let Some(error) = this.held.take() {
            return Poll::Ready(Some(Err(error)));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Err(error))) if this.after_data => {
                this.after_data = false;
                this.held = Some(error);
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Poll::Ready(Some(Ok(frame))) => {
                this.after_data = frame.is_data();
                Poll::Ready(Some(Ok(frame)))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.held.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// The failure comes after a `Pending` that follows the last chunk, then as an error.
    #[tokio::test]
    async fn a_failure_after_data_waits_one_poll_and_keeps_the_data() {
        let (mut tx, mut body) = StreamBody::channel(4);
        tx.send_data(Bytes::from_static(b"last")).await.unwrap();
        tx.abort(std::io::Error::other("Function.Broken"));
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "last");
        let waker = futures_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut body).poll_frame(&mut cx).is_pending());
        let error = body.frame().await.unwrap().unwrap_err();
        assert_eq!(error.to_string(), "Function.Broken");
    }

    /// A failure before any data is given at once.
    #[tokio::test]
    async fn a_failure_before_data_is_given_at_once() {
        let (tx, mut body) = StreamBody::channel(4);
        tx.abort(std::io::Error::other("Function.Broken"));
        let waker = futures_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(matches!(
            Pin::new(&mut body).poll_frame(&mut cx),
            Poll::Ready(Some(Err(_)))
        ));
    }

    fn futures_waker() -> std::task::Waker {
        std::task::Waker::noop().clone()
    }
}
