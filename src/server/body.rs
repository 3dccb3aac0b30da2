//! The request body handed to the service: streamed from the connection, never whole.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::mpsc;

/// Why a request body could not be read to its end.
///
/// ```
/// let err = uwsgi_wire::server::BodyError::Timeout;
/// assert_eq!(err.to_string(), "no body bytes arrived within the body timeout");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The front end closed the connection (or it failed) before the last body byte.
    #[error("the connection ended before the end of the body: {0}")]
    Incomplete(String),
    /// No body bytes arrived within the body timeout
    /// ([`Builder::body_timeout`](super::Builder::body_timeout)).
    #[error("no body bytes arrived within the body timeout")]
    Timeout,
}

/// The body of a request served by [`serve_connection`](super::serve_connection): an
/// [`http_body::Body`] of exactly `CONTENT_LENGTH` bytes, read from the connection in
/// bounded chunks only as the service polls it (back-pressure: a handler that does not
/// read its body does not make the server read it). A front end that closes early makes
/// the last frame a [`BodyError`], never a silently short body.
///
/// ```
/// use http_body::Body as _;
/// // What a request without a body carries.
/// let body = uwsgi_wire::server::RequestBody::empty();
/// assert!(body.is_end_stream());
/// assert_eq!(body.size_hint().exact(), Some(0));
/// ```
#[derive(Debug)]
pub struct RequestBody {
    chunks: Option<mpsc::Receiver<Result<Bytes, BodyError>>>,
    /// Bytes not handed out yet.
    remaining: u64,
}

impl RequestBody {
    /// A body with no bytes.
    ///
    /// ```
    /// use http_body::Body as _;
    /// assert!(uwsgi_wire::server::RequestBody::empty().is_end_stream());
    /// ```
    pub fn empty() -> Self {
        RequestBody {
            chunks: None,
            remaining: 0,
        }
    }

    /// A body of `len` bytes fed by the connection through a channel of one chunk.
    pub(crate) fn channel(len: u64) -> (mpsc::Sender<Result<Bytes, BodyError>>, Self) {
        let (tx, rx) = mpsc::channel(1);
        let body = RequestBody {
            chunks: (len > 0).then_some(rx),
            remaining: len,
        };
        (tx, body)
    }
}

impl Default for RequestBody {
    fn default() -> Self {
        RequestBody::empty()
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let Some(chunks) = self.chunks.as_mut() else {
            return Poll::Ready(None);
        };
        match chunks.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                let len = crate::to_u64(chunk.len());
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
                let reason = "the connection task stopped".to_string();
                Poll::Ready(Some(Err(BodyError::Incomplete(reason))))
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
