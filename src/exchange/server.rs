//! The server side of a stream: packets in, each with the bytes its kind says follow it.

use crate::wire::limits::Limits;
use crate::wire::packet::Packet;
use crate::wire::status::Status;

use super::error::{ExchangeError, ExchangeErrorKind};
use super::machine::Machine;
use super::{Event, Head};

/// The exchange core on the server side of a stream: every exchange is a packet and the
/// bytes its kind says follow it (docs/PROTOCOL.md section 4.1): the strict
/// `CONTENT_LENGTH` for request types, `size` for a magic cache `set` or `update`,
/// nothing for the rest. Exchanges follow one another on the stream (pipelining).
///
/// Give [`decode`](ServerExchange::decode) the bytes received and not yet consumed; it
/// returns the next [`Event`] and how many bytes it consumed, or [`Status::Partial`] with
/// the least number of bytes still missing. Drop the consumed bytes and call again. At
/// the end of the stream call [`decode_eof`](ServerExchange::decode_eof) instead, which
/// tells a clean close from a cut one.
///
/// ```
/// use uwsgi_wire::exchange::{BodyLength, Event, ServerExchange};
/// use uwsgi_wire::{Limits, Status};
///
/// // A POST captured from nginx 1.22: the packet, then its 11 body bytes.
/// let wire = include_bytes!("../../tests/vectors/nginx-post.bin");
/// let mut server = ServerExchange::new(Limits::new());
/// let Status::Complete((Event::Head { head: packet, body }, n)) = server.decode(wire)? else {
///     unreachable!()
/// };
/// assert_eq!(packet.vars().unwrap().get(b"REQUEST_URI"), Some(&b"/post"[..]));
/// assert_eq!(body, BodyLength::Exact(11));
/// let Status::Complete((event, m)) = server.decode(&wire[n..])? else { unreachable!() };
/// assert_eq!(event, Event::Body(b"hello=world"));
/// assert_eq!(server.decode(&wire[n + m..])?, Status::Complete((Event::End, 0)));
/// assert_eq!(server.decode_eof(&[])?, None); // a clean close between exchanges
/// # Ok::<(), uwsgi_wire::exchange::ExchangeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ServerExchange(pub(crate) Machine);

impl ServerExchange {
    /// A server side within `limits`: `max_datasize`, `max_vars` and `max_items` bound
    /// each packet, `max_body` what follows it (413 before the first body byte).
    pub const fn new(limits: Limits) -> Self {
        ServerExchange(Machine::server(limits))
    }

    /// A server side already inside a body of `len` bytes, for a driver that read the
    /// head by other means: it counts the body and ends the exchange (the blocking
    /// adapter's `io::Body::new` is one).
    pub fn within_body(len: u64) -> Self {
        ServerExchange(Machine::within_body(len))
    }

    /// Decodes the next event from `buf`, the bytes received and not consumed yet.
    ///
    /// - `Complete((event, consumed))`: drop the first `consumed` bytes of `buf` (0 for
    ///   [`Event::End`]).
    /// - `Partial { needed }`: at least `needed` more bytes must arrive; keep `buf` and
    ///   call again with them appended. Nothing was consumed.
    ///
    /// An error leaves the stream position undefined: answer (see
    /// [`ExchangeError::status_code`]) and close.
    #[inline]
    pub fn decode<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(Event<'a, Packet<'a>>, usize)>, ExchangeError> {
        match self.0.decode(buf)? {
            Status::Complete((event, consumed)) => {
                Ok(Status::Complete((self.packet(event)?, consumed)))
            }
            Status::Partial { needed } => Ok(Status::Partial { needed }),
        }
    }

    /// [`decode`](ServerExchange::decode) at the end of the stream: `Ok(None)` when it
    /// closed cleanly between two exchanges; an error whose
    /// [`is_eof`](ExchangeError::is_eof) is true when it closed in the middle of one.
    ///
    /// ```
    /// use uwsgi_wire::exchange::ServerExchange;
    /// use uwsgi_wire::Limits;
    /// let mut server = ServerExchange::new(Limits::new());
    /// let err = server.decode_eof(&[0x00, 0x05]).unwrap_err(); // 2 of 4 header bytes
    /// assert!(err.is_eof());
    /// ```
    pub fn decode_eof<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Option<(Event<'a, Packet<'a>>, usize)>, ExchangeError> {
        match self.0.decode_eof(buf)? {
            Some((event, consumed)) => Ok(Some((self.packet(event)?, consumed))),
            None => Ok(None),
        }
    }

    /// The fast path of [`decode`](ServerExchange::decode) between exchanges: the next
    /// packet, the length of the body that follows it and the bytes it took, without the
    /// general decode's event. Between exchanges only (after [`Event::End`], or before
    /// the first head); inside an exchange it returns an error.
    ///
    /// ```
    /// use uwsgi_wire::exchange::ServerExchange;
    /// use uwsgi_wire::{Limits, Status};
    /// let wire = include_bytes!("../../tests/vectors/nginx-post.bin"); // nginx 1.22
    /// let mut server = ServerExchange::new(Limits::new());
    /// let Status::Complete((packet, body_len, consumed)) = server.decode_request(wire)? else {
    ///     unreachable!()
    /// };
    /// assert_eq!((body_len, wire.len() - consumed), (11, 11));
    /// assert!(packet.vars().is_some());
    /// # Ok::<(), uwsgi_wire::exchange::ExchangeError>(())
    /// ```
    #[inline(always)]
    pub fn decode_request<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(Packet<'a>, u64, usize)>, ExchangeError> {
        if !self.0.awaits_request() {
            let at = self.0.position();
            return Err(ExchangeError::new(ExchangeErrorKind::UnexpectedData, at));
        }
        self.0.take_request(buf)
    }

    /// How large a read buffer should be to decode the next head, holding `have` bytes
    /// of which [`decode`](ServerExchange::decode) said `needed` more are missing: at
    /// least one more byte, at most what a packet within the limits can take (4 +
    /// `max_datasize`). Reserve it once rather than growing byte by byte.
    pub fn head_room(&self, have: usize, needed: usize) -> usize {
        self.0.head_room(have, needed)
    }

    /// The body bytes still to come when inside a body, else `None`.
    pub const fn body_remaining(&self) -> Option<u64> {
        self.0.body_remaining()
    }

    /// The number of stream bytes consumed so far: the base of every error offset.
    pub const fn position(&self) -> u64 {
        self.0.position()
    }

    /// True between exchanges: before the first head, and after each [`Event::End`].
    pub const fn is_idle(&self) -> bool {
        self.0.is_idle()
    }

    /// The fast path of the end of an exchange: when only its [`Event::End`] is left
    /// (the body was all decoded), takes it and returns true; the exchange is then idle.
    /// [`decode`](Self::decode) would return the same `End`, with more work.
    #[inline]
    pub fn take_end(&mut self) -> bool {
        self.0.take_end()
    }

    /// The server side of the machine decodes packets only: its heads are packets.
    fn packet<'a>(
        &self,
        event: Event<'a, Head<'a>>,
    ) -> Result<Event<'a, Packet<'a>>, ExchangeError> {
        Ok(match event {
            Event::Head {
                head: Head::Packet(packet),
                body,
            } => Event::Head { head: packet, body },
            Event::Head { .. } => {
                let at = self.0.position();
                return Err(ExchangeError::new(ExchangeErrorKind::UnexpectedData, at));
            }
            Event::Body(bytes) => Event::Body(bytes),
            Event::End => Event::End,
        })
    }
}
