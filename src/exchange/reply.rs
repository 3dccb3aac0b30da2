//! What a client expects back: the reply of each packet kind.

use crate::message::{RpcCall, CACHE_MAGIC};
use crate::wire::header::Modifier1;
use crate::wire::packet::Packet;

use super::BodyLength;

/// The reply a client expects, given what it sent ([`Reply::to`]); hand it to
/// [`ClientExchange::expect`](super::ClientExchange::expect) before reading the reply.
///
/// ```
/// use uwsgi_wire::exchange::Reply;
/// use uwsgi_wire::{Limits, Modifier1, Packet, Status};
///
/// // A GET captured from nginx 1.22 is answered with raw HTTP.
/// let wire = include_bytes!("../../tests/vectors/nginx-get.bin");
/// let Status::Complete((get, _)) = Packet::parse(wire, &Limits::new())? else { unreachable!() };
/// assert_eq!(Reply::to(&get), Reply::Response { head_request: false });
///
/// // `uwsgi --ping` is answered with a pong packet.
/// let Status::Complete((ping, _)) = Packet::parse(&[0x64, 0, 0, 0], &Limits::new())? else { unreachable!() };
/// assert_eq!(Reply::to(&ping), Reply::Packet(Modifier1::PING));
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reply {
    /// A raw HTTP/1.x response, the reply to every request type: a status line or CGI
    /// `Status:` head, then the body by Content-Length, or to the end of the stream
    /// (also a chunked body, passed through as bytes). `head_request`: the request was
    /// a `HEAD`, so no body follows whatever the head says.
    Response {
        /// The request's method was `HEAD`.
        head_request: bool,
    },
    /// One uwsgi packet with this modifier1, then the bytes its kind says follow it: a
    /// pong (100), an RPC result (173, also the large form with its result after it), a
    /// cache reply (111, with its value after it), a generic response (255, the reply to
    /// a signal or a spooler request).
    Packet(Modifier1),
    /// Bytes with no framing at all: an echo reply (exactly the payload sent), a raw RPC
    /// reply (modifier2 1, to the end of the stream).
    Raw(BodyLength),
}

impl Reply {
    /// The reply uWSGI 2.0 sends to `sent` (docs/PROTOCOL.md section 4.2):
    ///
    /// | sent | reply |
    /// |---|---|
    /// | a request type ([`Modifier1::is_request`]) | [`Reply::Response`] |
    /// | ping (100, modifier2 0) | pong: `Packet(PING)` |
    /// | signal (110), spooler (17) | `Packet(RESPONSE)` (255) |
    /// | RPC (173) with modifier2 0 | `Packet(RPC)` |
    /// | RPC with any other modifier2 | `Raw(ToEof)` |
    /// | magic cache (111, modifier2 17) | `Packet(CACHE)` (a miss is a close with no reply) |
    /// | echo (101) | `Raw(Exact(payload length))` |
    /// | anything else | `Raw(ToEof)` |
    ///
    /// ```
    /// use uwsgi_wire::exchange::{BodyLength, Reply};
    /// use uwsgi_wire::{Modifier1, Packet, Payload};
    /// let echo = Packet::new(Modifier1::ECHO, 0, Payload::Raw(b"hello"))?;
    /// assert_eq!(Reply::to(&echo), Reply::Raw(BodyLength::Exact(5)));
    /// let signal = Packet::new(Modifier1::SIGNAL, 17, Payload::Raw(b""))?;
    /// assert_eq!(Reply::to(&signal), Reply::Packet(Modifier1::RESPONSE));
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn to(sent: &Packet<'_>) -> Reply {
        let m1 = sent.modifier1();
        if m1.is_request() {
            let method = sent.vars().and_then(|vars| vars.get(b"REQUEST_METHOD"));
            return Reply::Response {
                head_request: method == Some(&b"HEAD"[..]),
            };
        }
        match (m1, sent.modifier2()) {
            (Modifier1::PING, 0) => Reply::Packet(Modifier1::PING),
            (Modifier1::SIGNAL, _) | (Modifier1::SPOOLER, _) => Reply::Packet(Modifier1::RESPONSE),
            (Modifier1::RPC, RpcCall::UWSGI_REPLY) => Reply::Packet(Modifier1::RPC),
            (Modifier1::CACHE, CACHE_MAGIC) => Reply::Packet(Modifier1::CACHE),
            (Modifier1::ECHO, _) => Reply::Raw(BodyLength::Exact(crate::wire::convert::to_u64(
                sent.payload().as_bytes().len(),
            ))),
            _ => Reply::Raw(BodyLength::ToEof),
        }
    }
}
