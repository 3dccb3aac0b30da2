//! One direction of a connection whose other direction is in use at the same time.

use std::io;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection lent to its reader and its writer at once (the request body is fed to
/// the service while its response is written), each call holding the lock only for
/// itself: `tokio::io::split`'s halves, borrowed instead of shared through an `Arc`,
/// so a connection costs no allocation for them.
#[derive(Debug)]
pub(super) struct Half<'a, IO>(&'a Mutex<IO>);

impl<'a, IO> Half<'a, IO> {
    pub(super) fn new(io: &'a Mutex<IO>) -> Self {
        Half(io)
    }

    /// The connection, for one call. A poisoned lock (a panic inside the stream's own
    /// call) still holds the stream: the call that follows reports what it finds.
    fn io(&self) -> MutexGuard<'a, IO> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Half<'_, IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io()).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Half<'_, IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io()).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io()).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io().is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io()).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io()).poll_shutdown(cx)
    }
}
