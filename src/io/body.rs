//! A body read from a blocking stream: exactly the bytes its exchange says follow the
//! head, counted against the exchange.

use std::fmt;
use std::io::{self, Read};

use crate::exchange::machine::Machine;
use crate::exchange::ServerExchange;
use crate::wire::convert::{to_u64, to_usize};
use crate::wire::status::Status;

/// The exchange a [`Body`] counts its bytes against.
pub(super) enum ExchangeRef<'a> {
    /// A body read on its own ([`Body::new`]).
    Owned(ServerExchange),
    /// The reader's, which skips what the caller does not read.
    Shared(&'a mut Machine),
}

impl ExchangeRef<'_> {
    fn get(&self) -> &Machine {
        match self {
            ExchangeRef::Owned(exchange) => &exchange.0,
            ExchangeRef::Shared(exchange) => exchange,
        }
    }

    fn get_mut(&mut self) -> &mut Machine {
        match self {
            ExchangeRef::Owned(exchange) => &mut exchange.0,
            ExchangeRef::Shared(exchange) => exchange,
        }
    }
}

/// The body of an exchange: exactly the announced bytes (a request's `CONTENT_LENGTH`),
/// or every byte to the end of the stream (a reply without a length), then end of file.
///
/// It never reads past the body, so whatever follows on the stream (a next packet) is
/// left alone. A peer that closes before the last byte of a body of known length makes
/// `read` fail with [`io::ErrorKind::UnexpectedEof`], never a silent short body; a body
/// over [`Limits::max_body`](crate::Limits::max_body) fails with [`io::ErrorKind::InvalidData`] (the inner error
/// is the [`ExchangeError`](crate::exchange::ExchangeError)). Like any [`Read`], a
/// single `read` may return fewer bytes than asked for.
///
/// ```
/// use std::io::Read;
/// use uwsgi_wire::io::Body;
///
/// let mut stream: &[u8] = b"hello world, and then the next packet";
/// let mut body = Body::new(&mut stream, 11);
/// let mut text = String::new();
/// body.read_to_string(&mut text)?;
/// assert_eq!(text, "hello world");
/// assert_eq!(stream, b", and then the next packet");
///
/// // The peer closes 3 bytes early.
/// let mut short: &[u8] = b"hello";
/// let err = Body::new(&mut short, 8).read_to_end(&mut Vec::new()).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Body<'a, R: ?Sized> {
    /// Body bytes the packet reader had already read (and counted).
    pub(super) buffered: &'a [u8],
    /// An error the bytes read along with the head met (a body over `max_body`).
    pub(super) pending: Option<crate::exchange::ExchangeError>,
    pub(super) exchange: ExchangeRef<'a>,
    pub(super) inner: &'a mut R,
}

impl<'a, R: Read + ?Sized> Body<'a, R> {
    /// A body of `len` bytes read from `inner` (after [`read_packet`](super::read_packet)).
    ///
    /// ```
    /// let mut stream: &[u8] = b"abc";
    /// assert_eq!(uwsgi_wire::io::Body::new(&mut stream, 2).remaining(), 2);
    /// ```
    pub fn new(inner: &'a mut R, len: u64) -> Self {
        Body {
            buffered: &[],
            pending: None,
            exchange: ExchangeRef::Owned(ServerExchange::within_body(len)),
            inner,
        }
    }
}

impl<R: ?Sized> Body<'_, R> {
    /// The number of body bytes known to be still unread: all of them for a body of
    /// known length; for one that runs to the end of the stream, those already buffered.
    ///
    /// ```
    /// use std::io::Read;
    /// let mut stream: &[u8] = b"abcdef";
    /// let mut body = uwsgi_wire::io::Body::new(&mut stream, 4);
    /// body.read_exact(&mut [0u8; 3])?;
    /// assert_eq!(body.remaining(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn remaining(&self) -> u64 {
        let unread = self.exchange.get().body_remaining().unwrap_or(0);
        to_u64(self.buffered.len()).saturating_add(unread)
    }
}

impl<R: Read + ?Sized> Read for Body<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(err) = self.pending.take() {
            return Err(err.into());
        }
        if out.is_empty() {
            return Ok(0);
        }
        if !self.buffered.is_empty() {
            let n = out.len().min(self.buffered.len());
            let (now, later) = self.buffered.split_at(n);
            if let Some(dst) = out.get_mut(..n) {
                dst.copy_from_slice(now);
            }
            self.buffered = later;
            return Ok(n);
        }
        let exchange = self.exchange.get_mut();
        if exchange.is_idle() {
            return Ok(0); // the end was reached and decoded
        }
        loop {
            if let Status::Complete(_) = exchange.decode(&[])? {
                return Ok(0); // the end of the body
            }
            let max = exchange
                .body_remaining()
                .map_or(out.len(), |left| to_usize(left).min(out.len()));
            let dst = out.get_mut(..max).unwrap_or_default();
            let n = match self.inner.read(dst) {
                Ok(n) => n.min(max),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            let read = out.get(..n).unwrap_or_default();
            if n == 0 {
                // A body to the end of the stream ends here; one of known length is cut.
                exchange.decode_eof(read)?;
                return Ok(0);
            }
            // Counts the bytes against the body (and its limit); they are in `out`.
            let _ = exchange.decode(read)?;
            return Ok(n);
        }
    }
}

impl<R: ?Sized> fmt::Debug for Body<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Body")
            .field("remaining", &self.remaining())
            .finish_non_exhaustive()
    }
}

/// Reads until `out` is full or the stream ends; returns how many bytes were read.
pub(super) fn read_full<R: Read + ?Sized>(reader: &mut R, out: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = out.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n.min(rest.len()),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}
