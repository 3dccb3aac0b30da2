//! The request body handed to the service: streamed from the connection, never whole.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::mpsc;

use super::error::Error;

/// The body of a request served by
/// [`Builder::serve_connection`](super::Builder::serve_connection): an
/// [`http_body::Body`] of exactly `CONTENT_LENGTH` bytes, read from the connection in
/// bounded chunks only as the service polls it (back-pressure: a handler that does not
/// read its body does not make the server read it). A front end that closes early makes
/// the last frame an [`Error`](super::Error), never a silently short body.
///
/// ```
/// use http_body::Body as _;
/// // What a request without a body carries (a service's tests can build one).
/// let body = uwsgi_wire::server::RequestBody::default();
/// assert!(body.is_end_stream());
/// assert_eq!(body.size_hint().exact(), Some(0));
/// ```
#[derive(Debug)]
pub struct RequestBody {
    chunks: Option<mpsc::Receiver<Result<Bytes, Error>>>,
    /// Bytes not handed out yet.
    remaining: u64,
}

impl RequestBody {
    /// A body of `len` bytes fed by the connection through a channel of one chunk; no
    /// channel (and no allocation) for an empty one.
    pub(crate) fn channel(len: u64) -> (Option<mpsc::Sender<Result<Bytes, Error>>>, Self) {
        if len == 0 {
            return (None, RequestBody::default());
        }
        let (tx, rx) = mpsc::channel(1);
        let body = RequestBody {
            chunks: Some(rx),
            remaining: len,
        };
        (Some(tx), body)
    }
}

/// A body with no bytes.
impl Default for RequestBody {
    fn default() -> Self {
        RequestBody {
            chunks: None,
            remaining: 0,
        }
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let Some(chunks) = self.chunks.as_mut() else {
            return Poll::Ready(None);
        };
        match chunks.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                let len = crate::wire::convert::to_u64(chunk.len());
                self.remaining = self.remaining.saturating_sub(len);
                if self.remaining == 0 {
                    self.chunks = None;
                }
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            Poll::Ready(Some(Err(err))) => {
                self.chunks = None;
                Poll::Ready(Some(Err(err)))
            }
            // The connection went away without saying why.
            Poll::Ready(None) => {
                self.chunks = None;
                Poll::Ready(Some(Err(Error::BodyIncomplete(None))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
