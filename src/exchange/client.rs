//! The client side of a stream: the reply to each request sent.

use crate::wire::limits::Limits;
use crate::wire::status::Status;

use super::error::ExchangeError;
use super::machine::Machine;
use super::{Event, Head, Reply};

/// The default [`ClientExchange::max_head`]: 64 KiB, eight times nginx's default
/// `uwsgi_buffer_size` (one memory page, 4 or 8 KiB), which is where nginx answers 502
/// for "upstream sent too big header".
pub const DEFAULT_MAX_HEAD: usize = 64 * 1024;

/// The exchange core on the client side of a stream: for each request sent, announced
/// with [`expect`](ClientExchange::expect), the reply: a raw HTTP/1.x response head
/// ([`Head::Response`]: a status line or nginx's CGI `Status:` fallback) and its body, by
/// Content-Length or to the end of the stream; or a uwsgi-framed reply ([`Head::Packet`]:
/// pong, RPC result including the large form, signal reply, cache reply with its value,
/// generic 255) and what follows it; or raw bytes ([`Head::Raw`], an echo).
///
/// ```
/// use uwsgi_wire::exchange::{ClientExchange, Event, Head, Reply};
/// use uwsgi_wire::{Limits, Modifier1, Status};
/// let mut client = ClientExchange::new(Limits::new());
/// client.expect(Reply::Packet(Modifier1::PING));
/// // The pong uWSGI 2.0.21 answers.
/// let pong = include_bytes!("../../tests/vectors/uwsgi-pong.bin");
/// let Status::Complete((Event::Head { head: Head::Packet(p), .. }, 4)) = client.decode(pong)? else {
///     unreachable!()
/// };
/// assert_eq!((p.modifier1(), p.modifier2()), (Modifier1::PING, 1));
/// # Ok::<(), uwsgi_wire::exchange::ExchangeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientExchange(Machine);

impl ClientExchange {
    /// A client side within `limits`: `max_datasize`, `max_vars` and `max_items` bound a
    /// uwsgi-framed reply, `max_body` the reply's body (refused before its first byte when
    /// announced, as soon as it passes the limit when it runs to the end of the stream);
    /// a response head may be [`DEFAULT_MAX_HEAD`] bytes long.
    pub const fn new(limits: Limits) -> Self {
        ClientExchange(Machine::client(limits))
    }

    /// The longest HTTP response head read, blank line included; a longer one is refused
    /// as nginx refuses one over its `uwsgi_buffer_size`. Default [`DEFAULT_MAX_HEAD`].
    /// Set it before [`expect`](ClientExchange::expect)ing the reply it is for.
    ///
    /// ```
    /// use uwsgi_wire::exchange::{ClientExchange, ExchangeErrorKind, HeadErrorKind, Reply};
    /// use uwsgi_wire::Limits;
    /// let mut client = ClientExchange::new(Limits::new()).max_head(16);
    /// client.expect(Reply::Response { head_request: false });
    /// let err = client.decode(b"HTTP/1.1 200 OK\r\nX: 1\r\n\r\n").unwrap_err();
    /// assert_eq!(err.kind(), ExchangeErrorKind::Head(HeadErrorKind::TooLarge { limit: 16 }));
    /// ```
    #[must_use]
    pub const fn max_head(self, max: usize) -> Self {
        ClientExchange(self.0.with_max_head(max))
    }

    /// The next reply to decode is `reply` ([`Reply::to`] gives it for any packet sent).
    /// Returns false, changing nothing, while a reply is still being decoded (its
    /// [`Event::End`] has not been decoded yet).
    ///
    /// ```
    /// use uwsgi_wire::exchange::{ClientExchange, Reply};
    /// use uwsgi_wire::{Limits, Modifier1};
    /// let mut client = ClientExchange::new(Limits::new());
    /// assert!(client.expect(Reply::Packet(Modifier1::PING)));
    /// assert!(!client.expect(Reply::Packet(Modifier1::PING))); // the pong is still owed
    /// ```
    pub fn expect(&mut self, reply: Reply) -> bool {
        self.0.expect(reply)
    }

    /// Decodes the next event from `buf`, the bytes received and not consumed yet, as
    /// [`ServerExchange::decode`](super::ServerExchange::decode) does; bytes that arrive
    /// while no reply is expected are an error.
    #[inline]
    pub fn decode<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(Event<'a, Head<'a>>, usize)>, ExchangeError> {
        self.0.decode(buf)
    }

    /// [`decode`](ClientExchange::decode) at the end of the stream: finishes a body that
    /// runs to the end of the stream; `Ok(None)` when the stream closed cleanly between
    /// replies; an error when it closed before or in the middle of one.
    pub fn decode_eof<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Option<(Event<'a, Head<'a>>, usize)>, ExchangeError> {
        self.0.decode_eof(buf)
    }

    /// How large a read buffer should be to decode the next head, holding `have` bytes
    /// of which [`decode`](ClientExchange::decode) said `needed` more are missing: at
    /// least one more byte, at most what the limits allow for the head expected (4 +
    /// `max_datasize`, or `max_head`).
    pub fn head_room(&self, have: usize, needed: usize) -> usize {
        self.0.head_room(have, needed)
    }

    /// The body bytes still to come when inside a body of known length, else `None`.
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

    /// True from a head until its [`Event::End`] is decoded: a driver reading the body
    /// hands out at most what it holds, up to [`body_remaining`](Self::body_remaining).
    pub const fn in_body(&self) -> bool {
        self.0.after_head()
    }

    /// The fast path of the end of an exchange: when only its [`Event::End`] is left
    /// (the body was all decoded), takes it and returns true; the exchange is then idle.
    /// [`decode`](Self::decode) would return the same `End`, with more work.
    #[inline]
    pub fn take_end(&mut self) -> bool {
        self.0.take_end()
    }
}
