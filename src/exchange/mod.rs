//! The exchange core: one sans-I/O state machine that frames whole exchanges on a
//! stream, one type per side ([`ServerExchange`], [`ClientExchange`]), in the spirit of quinn-proto: bytes in,
//! events out, no socket, no clock, no allocation, `no_std`.
//!
//! Every exchange decodes to one [`Event::Head`], zero or more [`Event::Body`] ranges
//! (borrowed from the caller's buffer) and one [`Event::End`]:
//!
//! - **Server side** ([`ServerExchange`]): a packet, then exactly the bytes its kind
//!   says follow it: the strict `CONTENT_LENGTH` for request types, `size` for a magic
//!   cache `set`/`update`, nothing for ping, signal, RPC calls and the rest. Several
//!   exchanges follow one another on a stream.
//! - **Client side** ([`ClientExchange`], told by [`ClientExchange::expect`] what was
//!   sent, [`Reply::to`]): a raw HTTP/1.x response head ([`ResponseHead`]: a status line
//!   or nginx's CGI `Status:` fallback) and its body, by Content-Length or to the end of
//!   the stream; or a uwsgi-framed reply (pong, RPC result including the large form,
//!   signal reply, cache reply with its value, generic 255) and what follows it; or raw
//!   bytes (an echo).
//!
//! One [`Limits`](crate::Limits) bounds everything that could grow, the same on both
//! sides: the datasize, the vars and items, the body; a client's response head has its
//! own bound ([`ClientExchange::max_head`]). Errors are typed, at the first bad
//! byte's stream offset ([`ExchangeError`]); the end of the stream in the middle of an
//! exchange is an error of its own kind. The blocking adapter [`io`](crate::io) and the
//! tokio codec `codec` are thin shells over this machine; any other runtime drives it
//! the same way through these two types (their `head_room` sizes a read buffer,
//! [`ServerExchange::decode_request`] is the codec's fast path between requests). The wire rules it follows are in docs/PROTOCOL.md section 4.
//!
//! The server side, driven over a buffer as any adapter would:
//!
//! ```
//! use uwsgi_wire::exchange::{Event, ServerExchange};
//! use uwsgi_wire::Limits;
//!
//! // A POST captured from nginx 1.22 (11 body bytes), then a GET, on one stream.
//! let stream = [
//!     &include_bytes!("../../tests/vectors/nginx-post.bin")[..],
//!     &include_bytes!("../../tests/vectors/nginx-get.bin")[..],
//! ]
//! .concat();
//! let mut server = ServerExchange::new(Limits::new());
//! let (mut at, mut uris, mut body) = (0, Vec::new(), Vec::new());
//! while let Some((event, consumed)) = server.decode_eof(&stream[at..])? {
//!     match event {
//!         Event::Head { head, .. } => uris.push(head.vars().unwrap().get(b"REQUEST_URI")),
//!         Event::Body(bytes) => body.extend_from_slice(bytes),
//!         _ => {}
//!     }
//!     at += consumed;
//! }
//! assert_eq!(uris, [Some(&b"/post"[..]), Some(&b"/path/x?a=1&b=2"[..])]);
//! assert_eq!(body, b"hello=world");
//! # Ok::<(), uwsgi_wire::exchange::ExchangeError>(())
//! ```
//!
//! The client side, reading the reply uWSGI 2.0.21 sent to that GET:
//!
//! ```
//! use uwsgi_wire::exchange::{BodyLength, ClientExchange, Event, Head, Reply};
//! use uwsgi_wire::{Limits, Packet, Status};
//!
//! let get = include_bytes!("../../tests/vectors/nginx-get.bin");
//! let Status::Complete((sent, _)) = Packet::parse(get, &Limits::new())? else { unreachable!() };
//! let reply = include_bytes!("../../tests/vectors/uwsgi-http-reply.bin");
//!
//! let mut client = ClientExchange::new(Limits::new());
//! client.expect(Reply::to(&sent));
//! let Some((Event::Head { head: Head::Response(head), body }, n)) = client.decode_eof(reply)? else {
//!     unreachable!()
//! };
//! assert_eq!((head.status(), body), (200, BodyLength::ToEof)); // no Content-Length
//! assert_eq!(client.decode_eof(&reply[n..])?, Some((Event::Body(b"ok"), 2)));
//! assert_eq!(client.decode_eof(&[])?, Some((Event::End, 0)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod client;
mod error;
pub(crate) mod follow;
pub(crate) mod head;
pub(crate) mod machine;
mod reply;
mod server;

pub use client::{ClientExchange, DEFAULT_MAX_HEAD};
pub use error::{ExchangeError, ExchangeErrorKind, HeadErrorKind};
pub use follow::request_body_len;
pub use head::{HeadParser, ResponseHead};
pub use reply::Reply;
pub use server::ServerExchange;

use crate::wire::packet::Packet;

/// One step of an exchange, as [`ServerExchange::decode`] and [`ClientExchange::decode`]
/// return it: `H` is the side's head ([`Packet`] on a server, [`Head`] on a client).
///
/// ```
/// use uwsgi_wire::exchange::{BodyLength, Event, ServerExchange};
/// use uwsgi_wire::{Limits, Status};
/// let mut server = ServerExchange::new(Limits::new());
/// let Status::Complete((Event::Head { head: _, body: BodyLength::Exact(0) }, _)) =
///     server.decode(&[0x6e, 0, 0, 17])? // a signal: nothing follows it
/// else {
///     unreachable!()
/// };
/// # Ok::<(), uwsgi_wire::exchange::ExchangeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a, H> {
    /// The head of an exchange, and how its body is delimited.
    Head {
        /// The packet (server side); the packet, response head or nothing (client side).
        head: H,
        /// What follows the head.
        body: BodyLength,
    },
    /// The next body bytes (never empty), borrowed from the buffer given to `decode`.
    Body(&'a [u8]),
    /// The exchange is complete: the next event belongs to the next exchange.
    End,
}

/// A server's event seen as a client's, whose head may be any [`Head`]: for code that
/// drives both sides alike.
///
/// ```
/// use uwsgi_wire::exchange::{Event, Head, ServerExchange};
/// use uwsgi_wire::{Limits, Status};
/// let mut server = ServerExchange::new(Limits::new());
/// let Status::Complete((event, _)) = server.decode(&[0x64, 0, 0, 0])? else { unreachable!() };
/// let event: Event<'_, Head<'_>> = event.into();
/// assert!(matches!(event, Event::Head { head: Head::Packet(_), .. }));
/// # Ok::<(), uwsgi_wire::exchange::ExchangeError>(())
/// ```
impl<'a> From<Event<'a, Packet<'a>>> for Event<'a, Head<'a>> {
    fn from(event: Event<'a, Packet<'a>>) -> Self {
        match event {
            Event::Head { head, body } => Event::Head {
                head: Head::Packet(head),
                body,
            },
            Event::Body(bytes) => Event::Body(bytes),
            Event::End => Event::End,
        }
    }
}

/// What starts an exchange on the client side: the head of a reply.
///
/// ```
/// use uwsgi_wire::exchange::Head;
/// use uwsgi_wire::{Limits, Packet, Status};
/// let Status::Complete((ping, _)) = Packet::parse(&[0x64, 0, 0, 0], &Limits::new())? else { unreachable!() };
/// assert!(matches!(Head::Packet(ping), Head::Packet(p) if p.modifier2() == 0));
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head<'a> {
    /// A uwsgi-framed reply (a pong, an RPC result, a cache reply, a generic response).
    Packet(Packet<'a>),
    /// An HTTP/1.x response head (client side, the reply to a request).
    Response(ResponseHead<'a>),
    /// No head: a reply of raw bytes ([`Reply::Raw`]).
    Raw,
}

/// How the body after a head is delimited.
///
/// ```
/// use uwsgi_wire::exchange::BodyLength;
/// assert_eq!(BodyLength::Exact(3).exact(), Some(3));
/// assert_eq!(BodyLength::ToEof.exact(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyLength {
    /// Exactly this many bytes (0: no body).
    Exact(u64),
    /// Every byte until the peer closes the stream.
    ToEof,
}

impl BodyLength {
    /// The length, when it is known.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::exchange::BodyLength::Exact(0).exact(), Some(0));
    /// ```
    pub const fn exact(self) -> Option<u64> {
        match self {
            BodyLength::Exact(len) => Some(len),
            BodyLength::ToEof => None,
        }
    }
}
