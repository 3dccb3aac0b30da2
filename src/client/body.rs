//! The response body: streamed from the connection, never whole.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::codec::{Frame as CodecFrame, ReplyHead};
use crate::io::StreamError;

use super::error::{Error, ErrorKind};

/// The frames of the connection, after the response head.
type Frames = dyn Stream<Item = Result<CodecFrame<ReplyHead>, StreamError>> + Send + Unpin;

/// The body of a response from [`send_request`](super::Builder::send_request): an
/// [`http_body::Body`] read from the connection only as it is polled (back-pressure: a
/// reader that stops polling stops the reads, and the server's writes wait), in chunks
/// of at most 64 KiB, never buffered whole. It ends at the head's `Content-Length`, or
/// when the server closes the connection (no `Content-Length`, or a chunked body,
/// passed on as bytes: uWSGI and nginx do not de-chunk); it is empty after a `HEAD`
/// request and for 1xx, 204 and 304.
///
/// A connection that ends before the last byte of a `Content-Length` body makes the
/// last frame an [`Error`] of kind [`BodyCutShort`](ErrorKind::BodyCutShort), never a
/// silently short body; no byte for [`body_timeout`](super::Builder::body_timeout)
/// makes it one of kind [`Timeout`](ErrorKind::Timeout). Dropping the body closes the
/// connection.
///
/// ```
/// use http_body_util::{BodyExt, Empty};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (client, mut server) = tokio::io::duplex(64 * 1024);
/// tokio::spawn(async move {
///     let mut header = [0u8; 4];
///     server.read_exact(&mut header).await?;
///     let mut block = vec![0u8; usize::from(u16::from_le_bytes([header[1], header[2]]))];
///     server.read_exact(&mut block).await?;
///     // No Content-Length: the body ends when the server closes, as uWSGI's does.
///     server.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello").await
/// });
/// let request = http::Request::get("/?q=1").body(Empty::<bytes::Bytes>::new())?;
/// let response = uwsgi_wire::client::Builder::new().send_request(client, request).await?;
/// assert_eq!(response.headers()["content-type"], "text/plain");
/// assert_eq!(&response.into_body().collect().await?.to_bytes()[..], b"hello");
/// # Ok(())
/// # }
/// ```
pub struct ResponseBody {
    /// The reading state and the frames, in one allocation.
    inner: Option<Box<Inner<Frames>>>,
    /// Bytes still to come when the length is known.
    remaining: Option<u64>,
}

struct Inner<F: ?Sized> {
    idle: Duration,
    /// When the wait for the next chunk times out: set when a poll finds no chunk ready
    /// (the time the reader takes between polls is not counted), cleared by a chunk.
    deadline: Option<Instant>,
    /// The timer for `deadline`, made and armed only when a poll finds no chunk ready:
    /// a chunk already read (the usual small body, in the head's read) costs no timer
    /// and no clock read.
    sleep: Option<Pin<Box<Sleep>>>,
    frames: F,
}

impl ResponseBody {
    /// A body read from `frames` (`remaining`: the Content-Length, if any).
    pub(super) fn streaming<S>(frames: S, remaining: Option<u64>, idle: Duration) -> Self
    where
        S: Stream<Item = Result<CodecFrame<ReplyHead>, StreamError>> + Send + Unpin + 'static,
    {
        if remaining == Some(0) {
            return ResponseBody::default();
        }
        ResponseBody {
            inner: Some(Box::new(Inner {
                idle,
                deadline: None,
                sleep: None,
                frames,
            })),
            remaining,
        }
    }

    fn finish(
        &mut self,
        result: Option<Result<Frame<Bytes>, Error>>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        self.inner = None;
        if self.remaining.is_none() {
            self.remaining = Some(0);
        }
        Poll::Ready(result)
    }
}

/// A body with no bytes.
///
/// ```
/// use http_body::Body as _;
/// let body = uwsgi_wire::client::ResponseBody::default();
/// assert!(body.is_end_stream());
/// assert_eq!(body.size_hint().exact(), Some(0));
/// ```
/// The timer in `sleep` set to `deadline`: made on first use, reset when it is set to an
/// earlier chunk's.
fn arm(sleep: &mut Option<Pin<Box<Sleep>>>, deadline: Instant) -> Pin<&mut Sleep> {
    let sleep = sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
    if sleep.deadline() != deadline {
        sleep.as_mut().reset(deadline);
    }
    sleep.as_mut()
}

impl Default for ResponseBody {
    fn default() -> Self {
        ResponseBody {
            inner: None,
            remaining: Some(0),
        }
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("streaming", &self.inner.is_some())
            .field("remaining", &self.remaining)
            .finish()
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let idle = inner.idle;
        match Pin::new(&mut inner.frames).poll_next(cx) {
            Poll::Ready(Some(Ok(CodecFrame::Body(chunk)))) => {
                inner.deadline = None;
                if let Some(left) = this.remaining.as_mut() {
                    *left = left.saturating_sub(crate::wire::convert::to_u64(chunk.len()));
                    if *left == 0 {
                        // The last byte: the connection is not needed any more.
                        this.inner = None;
                    }
                }
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            Poll::Ready(Some(Ok(CodecFrame::End)) | None) => this.finish(None),
            Poll::Ready(Some(Ok(_))) => this.finish(Some(Err(Error::new(
                ErrorKind::Io,
                "reading the response body: a head inside the body",
            )))),
            Poll::Ready(Some(Err(err))) => {
                let err = Error::body(err);
                tracing::debug!(error = %err, "uwsgi response body failed");
                this.finish(Some(Err(err)))
            }
            Poll::Pending => {
                let deadline = *inner
                    .deadline
                    .get_or_insert_with(|| crate::deadline::after(idle));
                match arm(&mut inner.sleep, deadline).poll(cx) {
                    Poll::Ready(()) => {
                        let err = Error::new(
                            ErrorKind::Timeout,
                            format!("no response body bytes within the body timeout of {idle:?}"),
                        );
                        tracing::debug!(error = %err, "uwsgi response body failed");
                        this.finish(Some(Err(err)))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.remaining {
            Some(left) => SizeHint::with_exact(left),
            None => SizeHint::default(),
        }
    }
}
