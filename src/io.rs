//! Blocking I/O (feature `std`): read exchanges from any [`Read`], write packets to any
//! [`Write`]. A thin shell over the [exchange core](crate::exchange): the framing rules
//! live there, this module only moves bytes.
//!
//! - [`PacketReader`] owns a reusable buffer. On the server side
//!   ([`read_packet`](PacketReader::read_packet)) it reads each packet and hands the
//!   bytes that follow it (a request's `CONTENT_LENGTH` body, a cache `set`'s value) to a
//!   [`Body`]; on the client side ([`PacketReader::client`],
//!   [`read_reply`](PacketReader::read_reply)) it reads the reply of a request: an HTTP
//!   response head, a uwsgi-framed reply or raw bytes, and its body. Whatever follows
//!   stays buffered for the next exchange; once the buffer has grown to the largest head
//!   seen, nothing is allocated.
//! - [`read_packet`] reads exactly one packet into a caller-provided buffer and nothing
//!   more: the body is still in the reader, for [`Body::new`].
//! - [`write_packet`], [`write_request`] and [`write_all_vectored`] write with vectored
//!   writes (header, block and body in one system call when the writer allows) and
//!   survive short writes and [`io::ErrorKind::Interrupted`].
//!
//! Short reads are never errors: every function here keeps reading until it has what it
//! needs. A peer that closes in the middle of an exchange is a [`StreamError`] whose
//! [`is_eof`](StreamError::is_eof) is true (inside a [`Body`]'s `read`, an
//! [`io::ErrorKind::UnexpectedEof`] error).
//!
//! ```
//! use std::io::Read;
//! use uwsgi_wire::io::{Incoming, PacketReader};
//!
//! // Two requests on one connection, as a front end could pipeline them.
//! let wire = [
//!     &std::fs::read("tests/vectors/nginx-post.bin")?[..], // captured from nginx 1.22
//!     &std::fs::read("tests/vectors/nginx-get.bin")?[..],  // likewise
//! ]
//! .concat();
//! let mut reader = PacketReader::new(&wire[..]);
//!
//! let Some(Incoming { packet, mut body }) = reader.read_packet()? else { unreachable!() };
//! assert_eq!(packet.vars().unwrap().get(b"REQUEST_METHOD"), Some(&b"POST"[..]));
//! let mut text = String::new();
//! body.read_to_string(&mut text)?;
//! assert_eq!(text, "hello=world");
//!
//! let Some(Incoming { packet, body }) = reader.read_packet()? else { unreachable!() };
//! assert_eq!(packet.vars().unwrap().get(b"REQUEST_URI"), Some(&b"/path/x?a=1&b=2"[..]));
//! assert_eq!(body.remaining(), 0);
//! assert!(reader.read_packet()?.is_none()); // clean end of stream
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The client side: the reply uWSGI 2.0.21 sent to an RPC call for a 70000-byte result
//! (the large form: a packet, then the result after it).
//!
//! ```
//! use std::io::Read;
//! use uwsgi_wire::exchange::{Head, Reply};
//! use uwsgi_wire::io::{IncomingReply, PacketReader};
//! use uwsgi_wire::{Limits, Modifier1};
//!
//! let wire = std::fs::read("tests/vectors/uwsgi-rpc-reply-big.bin")?;
//! let mut reader = PacketReader::client(&wire[..], Limits::new());
//! let IncomingReply { head, mut body } = reader.read_reply(Reply::Packet(Modifier1::RPC))?;
//! assert!(matches!(head, Head::Packet(p) if p.modifier2() == 5));
//! let mut result = Vec::new();
//! body.read_to_end(&mut result)?;
//! assert_eq!(result, vec![b'B'; 70000]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::io::{self, IoSlice, Read, Write};

use crate::exchange::{Event, Exchange, Head, HeadParser, Reply};
use crate::header::{Header, HEADER_LEN};
use crate::limits::Limits;
use crate::owned::Layout;
use crate::packet::{Packet, Status};
use crate::stream_error::StreamError;
use crate::{to_u64, to_usize};

/// The buffer a [`PacketReader`] starts with: 8 KiB. It grows, once, to the largest
/// head it has to hold (at most 4 + [`Limits::max_datasize`] bytes for a packet,
/// [`Limits::max_head`] for a response head).
///
/// ```
/// use uwsgi_wire::io::{PacketReader, DEFAULT_BUFFER_SIZE};
///
/// // Captured from nginx 1.22: its largest block, 65535 bytes.
/// let wire = include_bytes!("../tests/vectors/nginx-large-header.bin");
/// let mut reader = PacketReader::new(&wire[..]);
/// assert_eq!(reader.buffer_capacity(), DEFAULT_BUFFER_SIZE);
/// assert!(reader.read_packet()?.is_some());
/// assert_eq!(reader.buffer_capacity(), 4 + 65535); // grown once, to exactly the packet
/// # Ok::<(), uwsgi_wire::StreamError>(())
/// ```
pub const DEFAULT_BUFFER_SIZE: usize = 8192;

/// What a complete head looked like, without borrowing the buffer (so the reader can
/// keep filling it until a head is complete, then borrow it once).
#[derive(Debug, Clone, Copy)]
enum Shape {
    Packet(Layout),
    Response,
    NoHead,
}

impl Shape {
    fn of(head: &Head<'_>) -> Self {
        match head {
            Head::Packet(packet) => Shape::Packet(Layout::of(&packet.payload())),
            Head::Response(_) => Shape::Response,
            Head::Raw => Shape::NoHead,
        }
    }

    /// The head again, over `wire` (exactly the bytes the exchange consumed for it): O(1)
    /// for packets, whose blocks were validated already.
    fn head<'a>(self, wire: &'a [u8], limits: &Limits) -> Head<'a> {
        match self {
            Shape::Packet(layout) => match Header::parse(wire) {
                Status::Complete(header) => {
                    let block = wire.get(HEADER_LEN..).unwrap_or_default();
                    let payload = layout.payload(block);
                    Head::Packet(Packet::from_parts(
                        header.modifier1,
                        header.modifier2,
                        payload,
                    ))
                }
                // `wire` holds the whole packet; this arm only keeps the code panic-free.
                Status::Partial { .. } => Head::Raw,
            },
            // Validated when the exchange consumed it; parsing it again cannot fail.
            Shape::Response => match HeadParser::new(limits.max_head).parse(wire) {
                Ok(Status::Complete((head, _))) => Head::Response(head),
                _ => Head::Raw,
            },
            Shape::NoHead => Head::Raw,
        }
    }
}

/// Reads exchanges from a blocking [`Read`]: request packets and the bodies that follow
/// them (server side), or the replies to requests sent (client side).
///
/// The reader owns one buffer, [`DEFAULT_BUFFER_SIZE`] to start with, grown once to the
/// largest head it must hold: once warm, reading an exchange allocates nothing. It reads
/// as much as the peer sends at once; bytes read past a head go to its [`Body`] first,
/// and bytes past the body stay buffered for the next exchange, so pipelined packets are
/// read in order.
///
/// Limits ([`Limits`], checked by the exchange core) are checked as early as possible:
/// an oversize datasize from the header alone, before the block is read; an oversize
/// body length before the body is read.
///
/// After an error the stream position is undefined: answer (see
/// [`StreamError::status_code`]) and close the connection.
///
/// ```
/// use std::io::Read;
/// use uwsgi_wire::io::PacketReader;
/// use uwsgi_wire::Limits;
///
/// let wire = std::fs::read("tests/vectors/nginx-post.bin")?; // captured from nginx 1.22
/// let mut reader = PacketReader::with_limits(&wire[..], Limits::new().max_body(1 << 20));
/// while let Some(mut request) = reader.read_packet()? {
///     let vars = request.packet.vars().expect("a request");
///     let mut body = Vec::new();
///     request.body.read_to_end(&mut body)?;
///     assert_eq!(vars.content_length()?, Some(body.len() as u64));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PacketReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    exchange: Exchange,
}

impl<R> fmt::Debug for PacketReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketReader")
            .field("buffered", &(self.end - self.start))
            .field("capacity", &self.buf.len())
            .field("exchange", &self.exchange)
            .finish_non_exhaustive()
    }
}

impl<R: Read> PacketReader<R> {
    /// A server-side reader with the default [`Limits`] (no body limit).
    ///
    /// ```
    /// let reader = uwsgi_wire::io::PacketReader::new(std::io::empty());
    /// assert_eq!(reader.buffer_capacity(), uwsgi_wire::io::DEFAULT_BUFFER_SIZE);
    /// ```
    pub fn new(inner: R) -> Self {
        Self::with_limits(inner, Limits::new())
    }

    /// A server-side reader enforcing `limits`. Mirror a uWSGI server with
    /// `Limits::new().max_datasize(4096).max_vars(128)`, nginx's default body limit with
    /// `.max_body(1 << 20)`.
    ///
    /// ```
    /// use uwsgi_wire::{io::PacketReader, Limits};
    /// let wire = std::fs::read("tests/vectors/nginx-post.bin")?; // 11-byte body
    /// let err = PacketReader::with_limits(&wire[..], Limits::new().max_body(10))
    ///     .read_packet()
    ///     .unwrap_err();
    /// assert_eq!(err.status_code(), Some(413));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_limits(inner: R, limits: Limits) -> Self {
        Self::over(inner, Exchange::server(limits))
    }

    /// A client-side reader: read each reply with [`read_reply`](PacketReader::read_reply).
    ///
    /// ```
    /// use uwsgi_wire::exchange::{Head, Reply};
    /// use uwsgi_wire::{io::PacketReader, Limits, Modifier1};
    /// // The reply uWSGI 2.0.21 sends to `uwsgi --signal ADDR,17`.
    /// let wire = std::fs::read("tests/vectors/uwsgi-signal-reply.bin")?;
    /// let mut reader = PacketReader::client(&wire[..], Limits::new());
    /// let reply = reader.read_reply(Reply::Packet(Modifier1::RESPONSE))?;
    /// assert!(matches!(reply.head, Head::Packet(p) if p.modifier2() == 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn client(inner: R, limits: Limits) -> Self {
        Self::over(inner, Exchange::client(limits))
    }

    fn over(inner: R, exchange: Exchange) -> Self {
        PacketReader {
            inner,
            buf: vec![0; DEFAULT_BUFFER_SIZE],
            start: 0,
            end: 0,
            exchange,
        }
    }

    /// The size of the internal buffer (what the reader holds in memory).
    ///
    /// ```
    /// let reader = uwsgi_wire::io::PacketReader::new(std::io::empty());
    /// assert_eq!(reader.buffer_capacity(), 8192);
    /// ```
    pub fn buffer_capacity(&self) -> usize {
        self.buf.len()
    }

    /// The bytes read from the stream but not yet handed out (the start of a next
    /// packet, when the peer pipelines).
    ///
    /// ```
    /// let reader = uwsgi_wire::io::PacketReader::new(std::io::empty());
    /// assert!(reader.buffered().is_empty());
    /// ```
    pub fn buffered(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// The underlying reader.
    ///
    /// ```
    /// let reader = uwsgi_wire::io::PacketReader::new(std::io::empty());
    /// let _inner: &std::io::Empty = reader.get_ref();
    /// ```
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The underlying reader, mutably (reading from it directly skips the buffer).
    ///
    /// ```
    /// let mut reader = uwsgi_wire::io::PacketReader::new(std::io::empty());
    /// let _inner: &mut std::io::Empty = reader.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The underlying reader; the [`buffered`](PacketReader::buffered) bytes are lost.
    ///
    /// ```
    /// let reader = uwsgi_wire::io::PacketReader::new(std::io::empty());
    /// let _inner: std::io::Empty = reader.into_inner();
    /// ```
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Reads the next packet (server side).
    ///
    /// - `Ok(Some(incoming))`: the packet, and the bytes that follow it as its body: the
    ///   strict `CONTENT_LENGTH` for request types, `size` for a magic cache `set` or
    ///   `update`, an empty body for the rest.
    /// - `Ok(None)`: the peer closed the stream cleanly, between two packets.
    /// - `Err(_)`: see [`StreamError`]; a close in the middle of a packet is an error
    ///   whose [`is_eof`](StreamError::is_eof) is true.
    ///
    /// A body left unread (or partly read) is skipped first: its bytes are read and
    /// dropped, so the next packet is found where it starts.
    ///
    /// ```
    /// use uwsgi_wire::io::PacketReader;
    /// let wire = [0x64, 0x00, 0x00, 0x00]; // a ping, as `uwsgi --ping` sends it
    /// let mut reader = PacketReader::new(&wire[..]);
    /// let ping = reader.read_packet()?.expect("one packet");
    /// assert_eq!(ping.packet.modifier1(), uwsgi_wire::Modifier1::PING);
    /// assert!(reader.read_packet()?.is_none());
    /// # Ok::<(), uwsgi_wire::StreamError>(())
    /// ```
    pub fn read_packet(&mut self) -> Result<Option<Incoming<'_, R>>, StreamError> {
        match self.read_head()? {
            Some((Head::Packet(packet), body)) => Ok(Some(Incoming { packet, body })),
            // A server-side exchange starts with a packet, always.
            Some(_) => Err(io::Error::other("read_packet called on a client-side reader").into()),
            None => Ok(None),
        }
    }

    /// Reads the reply to a request (client side; [`Reply::to`] gives `reply` for any
    /// packet sent): its head and its body. A peer that closes before the first byte of
    /// the reply is an error of kind
    /// [`NoReply`](crate::exchange::ExchangeErrorKind::NoReply) (uWSGI's answer to a
    /// cache miss).
    ///
    /// ```
    /// use std::io::Read;
    /// use uwsgi_wire::exchange::{Head, Reply};
    /// use uwsgi_wire::{io::PacketReader, Limits};
    /// // The reply uWSGI 2.0.21 sent to the GET captured from nginx 1.22.
    /// let wire = std::fs::read("tests/vectors/uwsgi-http-reply.bin")?;
    /// let mut reader = PacketReader::client(&wire[..], Limits::new());
    /// let mut reply = reader.read_reply(Reply::Response { head_request: false })?;
    /// assert!(matches!(reply.head, Head::Response(h) if h.status() == 200));
    /// let mut body = String::new();
    /// reply.body.read_to_string(&mut body)?; // no Content-Length: to the end
    /// assert_eq!(body, "ok");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_reply(&mut self, reply: Reply) -> Result<IncomingReply<'_, R>, StreamError> {
        self.skip_body()?;
        if !self.exchange.expect(reply) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "read_reply called on a server-side reader",
            )
            .into());
        }
        match self.read_head()? {
            Some((head, body)) => Ok(IncomingReply { head, body }),
            // The exchange reports a close before a reply it expects as an error.
            None => Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
        }
    }

    /// Reads until the exchange yields a head, then hands out the head and its body.
    fn read_head(&mut self) -> Result<Option<(Head<'_>, Body<'_, R>)>, StreamError> {
        self.skip_body()?;
        let (consumed, shape) = loop {
            let buffered = self.buf.get(self.start..self.end).unwrap_or_default();
            let needed = match self.exchange.decode(buffered)? {
                Status::Complete((Event::Head { head, .. }, consumed)) => {
                    break (consumed, Shape::of(&head))
                }
                Status::Complete(_) => {
                    return Err(io::Error::other("exchange out of step").into());
                }
                Status::Partial { needed } => needed,
            };
            let have = self.end - self.start;
            if self.fill(self.exchange.head_room(have, needed))? == 0 {
                let buffered = self.buf.get(self.start..self.end).unwrap_or_default();
                match self.exchange.decode_eof(buffered)? {
                    None => return Ok(None),
                    Some((Event::Head { head, .. }, consumed)) => {
                        break (consumed, Shape::of(&head))
                    }
                    Some(_) => return Err(io::Error::other("exchange out of step").into()),
                }
            }
        };
        let head_end = self.start + consumed;
        // Body bytes already read go to the body now; what follows stays buffered.
        let after = self.buf.get(head_end..self.end).unwrap_or_default();
        // A body over `max_body` fails when it is read, as when its bytes come later:
        // the head is still handed out.
        let (in_buf, pending) = match self.exchange.decode(after) {
            Ok(Status::Complete((Event::Body(bytes), _))) => (bytes.len(), None),
            Ok(_) => (0, None),
            Err(err) => (0, Some(err)),
        };
        let body_end = head_end + in_buf;
        let wire = self.buf.get(self.start..head_end).unwrap_or_default();
        let buffered = self.buf.get(head_end..body_end).unwrap_or_default();
        if body_end == self.end {
            // Nothing after the body is buffered: start the next head at 0.
            (self.start, self.end) = (0, 0);
        } else {
            self.start = body_end;
        }
        let head = shape.head(wire, self.exchange.limits());
        let body = Body {
            buffered,
            pending,
            exchange: Machine::Shared(&mut self.exchange),
            inner: &mut self.inner,
        };
        Ok(Some((head, body)))
    }

    /// Reads once into the free part of the buffer, after making room for `want` bytes
    /// counted from the start of the unread data. Returns the number of bytes read (0 at
    /// the end of the stream); retries on `Interrupted`.
    fn fill(&mut self, want: usize) -> io::Result<usize> {
        if self.start + want > self.buf.len() {
            // Move the unread bytes to the front, then grow if still too small.
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
            if want > self.buf.len() {
                self.buf.resize(want, 0);
            }
        }
        loop {
            let free = self.buf.get_mut(self.end..).unwrap_or_default();
            match self.inner.read(free) {
                Ok(n) => {
                    // A reader that claims more than it was given is broken; never
                    // index past the buffer because of it.
                    let n = n.min(self.buf.len() - self.end);
                    self.end += n;
                    return Ok(n);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// Reads and drops what is left of the previous exchange's body.
    fn skip_body(&mut self) -> Result<(), StreamError> {
        // Every buffered body byte went to the body, so while the exchange is inside a
        // body nothing is buffered and the buffer is free scratch space.
        while self.exchange.after_head() {
            if let Status::Complete(_) = self.exchange.decode(&[])? {
                continue; // the end of the body
            }
            let max = self
                .exchange
                .body_remaining()
                .map_or(self.buf.len(), |left| to_usize(left).min(self.buf.len()));
            let scratch = self.buf.get_mut(..max).unwrap_or_default();
            let n = match self.inner.read(scratch) {
                Ok(n) => n.min(max),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err.into()),
            };
            let read = self.buf.get(..n).unwrap_or_default();
            if n == 0 {
                self.exchange.decode_eof(read)?;
            } else {
                // The event is the body bytes just dropped; only the count matters.
                let _ = self.exchange.decode(read)?;
            }
        }
        Ok(())
    }
}

/// A packet read by [`PacketReader::read_packet`] and the body that follows it.
///
/// Both borrow the reader: read the body (or drop it, and the next `read_packet` skips
/// it) before reading the next packet.
///
/// ```
/// use std::io::Read;
/// use uwsgi_wire::io::{Incoming, PacketReader};
///
/// // Captured from nginx 1.22: a POST, then its 11 body bytes; a ping pipelined after it.
/// let post = include_bytes!("../tests/vectors/nginx-post.bin");
/// let wire = [&post[..], &[0x64, 0, 0, 0][..]].concat();
/// let mut reader = PacketReader::new(&wire[..]);
///
/// let Incoming { packet, mut body } = reader.read_packet()?.ok_or("no request")?;
/// let uri = packet.vars().and_then(|vars| vars.get(b"REQUEST_URI"));
/// assert_eq!(uri, Some(&b"/post"[..]));
/// assert_eq!(body.remaining(), 11);
/// let mut text = String::new();
/// body.read_to_string(&mut text)?;
/// assert_eq!(text, "hello=world");
///
/// // A ping has no body; dropping an unread body would have been fine too.
/// let Incoming { packet, body } = reader.read_packet()?.ok_or("no ping")?;
/// assert_eq!((packet.modifier1(), body.remaining()), (uwsgi_wire::Modifier1::PING, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Incoming<'a, R> {
    /// The packet, borrowed from the reader's buffer.
    pub packet: Packet<'a>,
    /// The bytes that follow it: `CONTENT_LENGTH` bytes for request types, a cache
    /// `set`'s value, else empty.
    pub body: Body<'a, R>,
}

impl<R> fmt::Debug for Incoming<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("packet", &self.packet)
            .field("body", &self.body)
            .finish()
    }
}

/// A reply read by [`PacketReader::read_reply`]: its head and the body that follows it.
///
/// ```
/// use uwsgi_wire::exchange::{Head, Reply};
/// use uwsgi_wire::io::{IncomingReply, PacketReader};
/// use uwsgi_wire::{Limits, Modifier1};
///
/// // uWSGI 2.0.21's pong to `uwsgi --ping`.
/// let wire = std::fs::read("tests/vectors/uwsgi-pong.bin")?;
/// let mut reader = PacketReader::client(&wire[..], Limits::new());
/// let IncomingReply { head, body } = reader.read_reply(Reply::Packet(Modifier1::PING))?;
/// assert!(matches!(head, Head::Packet(p) if p.modifier2() == 1));
/// assert_eq!(body.remaining(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct IncomingReply<'a, R> {
    /// The reply's head, borrowed from the reader's buffer.
    pub head: Head<'a>,
    /// The bytes that follow it: by Content-Length or to the end of the stream for an
    /// HTTP response, a large RPC result, a cache value, an echo.
    pub body: Body<'a, R>,
}

impl<R> fmt::Debug for IncomingReply<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingReply")
            .field("head", &self.head)
            .field("body", &self.body)
            .finish()
    }
}

/// The exchange a [`Body`] counts its bytes against.
enum Machine<'a> {
    Owned(Exchange),
    /// The [`PacketReader`]'s, which skips what the caller does not read.
    Shared(&'a mut Exchange),
}

impl Machine<'_> {
    fn get(&self) -> &Exchange {
        match self {
            Machine::Owned(exchange) => exchange,
            Machine::Shared(exchange) => exchange,
        }
    }

    fn get_mut(&mut self) -> &mut Exchange {
        match self {
            Machine::Owned(exchange) => exchange,
            Machine::Shared(exchange) => exchange,
        }
    }
}

/// The body of an exchange: exactly the announced bytes (a request's `CONTENT_LENGTH`),
/// or every byte to the end of the stream (a reply without a length), then end of file.
///
/// It never reads past the body, so whatever follows on the stream (a next packet) is
/// left alone. A peer that closes before the last byte of a body of known length makes
/// `read` fail with [`io::ErrorKind::UnexpectedEof`], never a silent short body; a body
/// over [`Limits::max_body`] fails with [`io::ErrorKind::InvalidData`] (the inner error
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
    buffered: &'a [u8],
    /// An error the bytes read along with the head met (a body over `max_body`).
    pending: Option<crate::exchange::ExchangeError>,
    exchange: Machine<'a>,
    inner: &'a mut R,
}

impl<'a, R: Read + ?Sized> Body<'a, R> {
    /// A body of `len` bytes read from `inner` (after [`read_packet`]).
    ///
    /// ```
    /// let mut stream: &[u8] = b"abc";
    /// assert_eq!(uwsgi_wire::io::Body::new(&mut stream, 2).remaining(), 2);
    /// ```
    pub fn new(inner: &'a mut R, len: u64) -> Self {
        Body {
            buffered: &[],
            pending: None,
            exchange: Machine::Owned(Exchange::within_body(len)),
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
fn read_full<R: Read + ?Sized>(reader: &mut R, out: &mut [u8]) -> io::Result<usize> {
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

/// Reads exactly one packet into `buf` and nothing more: the header, then the block.
///
/// - `Ok(Some(packet))`: the packet, borrowed from `buf`. The bytes that follow it
///   ([`Packet::body_len`]) are still in `reader`: read them with [`Body::new`].
/// - `Ok(None)`: the stream ended cleanly before the first header byte.
/// - [`StreamError::BufferTooSmall`] when `buf` cannot hold the packet (4 + datasize
///   bytes; 65539 hold any packet), [`StreamError::Exchange`] for a datasize over
///   `limits` (from the header alone, before the block is read), a malformed block, or
///   a peer that closes mid-packet.
///
/// It reads exactly the bytes the exchange core says are missing, so it never consumes
/// a body byte; [`PacketReader`] makes fewer system calls.
///
/// ```
/// use std::io::Read;
/// use uwsgi_wire::io::{read_packet, Body};
/// use uwsgi_wire::Limits;
///
/// let wire = std::fs::read("tests/vectors/nginx-post.bin")?; // captured from nginx 1.22
/// let mut stream = &wire[..];
/// let mut buf = [0u8; 4096];
/// let packet = read_packet(&mut stream, &mut buf, &Limits::new())?.expect("a packet");
/// let mut body = Vec::new();
/// Body::new(&mut stream, packet.body_len()?).read_to_end(&mut body)?;
/// assert_eq!(body, b"hello=world");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_packet<'b, R: Read + ?Sized>(
    reader: &mut R,
    buf: &'b mut [u8],
    limits: &Limits,
) -> Result<Option<Packet<'b>>, StreamError> {
    let mut exchange = Exchange::server(*limits);
    let available = buf.len();
    let mut filled = 0;
    let (consumed, shape) = loop {
        let have = buf.get(..filled).unwrap_or_default();
        let needed = match exchange.decode(have)? {
            Status::Complete((Event::Head { head, .. }, consumed)) => {
                break (consumed, Shape::of(&head))
            }
            Status::Complete(_) => return Err(io::Error::other("exchange out of step").into()),
            Status::Partial { needed } => needed,
        };
        let want = filled.saturating_add(needed);
        let Some(missing) = buf.get_mut(filled..want) else {
            return Err(StreamError::BufferTooSmall {
                needed: want,
                available,
            });
        };
        let got = read_full(reader, missing)?;
        filled += got;
        if got < needed {
            let have = buf.get(..filled).unwrap_or_default();
            return match exchange.decode_eof(have)? {
                None => Ok(None),
                Some(_) => Err(io::Error::other("exchange out of step").into()),
            };
        }
    };
    let buf: &'b [u8] = buf;
    let wire = buf.get(..consumed).unwrap_or_default();
    match shape.head(wire, limits) {
        Head::Packet(packet) => Ok(Some(packet)),
        _ => Err(io::Error::other("exchange out of step").into()),
    }
}

/// Writes every byte of `bufs`, in order, with vectored writes: the stable equivalent
/// of the unstable `Write::write_all_vectored`.
///
/// Retries on [`io::ErrorKind::Interrupted`], carries on after short writes (a writer
/// may take a single byte per call), and fails with [`io::ErrorKind::WriteZero`] when
/// the writer accepts nothing. `bufs` is advanced as bytes are written, so its contents
/// are unspecified afterwards.
///
/// ```
/// use std::io::IoSlice;
/// let mut out = Vec::new();
/// let mut bufs = [IoSlice::new(b"head"), IoSlice::new(b""), IoSlice::new(b"-body")];
/// uwsgi_wire::io::write_all_vectored(&mut out, &mut bufs)?;
/// assert_eq!(out, b"head-body");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_all_vectored<W: Write + ?Sized>(
    writer: &mut W,
    mut bufs: &mut [IoSlice<'_>],
) -> io::Result<()> {
    // Drop leading empty slices, so an empty write is not mistaken for WriteZero.
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match writer.write_vectored(bufs) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "failed to write the whole packet",
                ))
            }
            Ok(n) => {
                let total: usize = bufs.iter().map(|b| b.len()).sum();
                if n > total {
                    // `advance_slices` would panic; a writer must never claim this.
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "writer reported more bytes written than it was given",
                    ));
                }
                IoSlice::advance_slices(&mut bufs, n);
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Writes a packet (header and block) with one vectored write when the writer allows.
///
/// ```
/// use uwsgi_wire::{Modifier1, Packet, Payload};
/// let mut out = Vec::new();
/// uwsgi_wire::io::write_packet(&mut out, &Packet::new(Modifier1::PING, 0, Payload::Raw(b""))?)?;
/// assert_eq!(out, [0x64, 0, 0, 0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_packet<W: Write + ?Sized>(writer: &mut W, packet: &Packet<'_>) -> io::Result<()> {
    let header = packet.header().to_bytes();
    let mut bufs = [
        IoSlice::new(&header),
        IoSlice::new(packet.payload().as_bytes()),
    ];
    write_all_vectored(writer, &mut bufs)
}

/// Writes a packet followed by its body, together (one vectored write when the writer
/// allows).
///
/// For request types ([`Modifier1::is_request`](crate::Modifier1::is_request)) and a
/// magic cache `set`/`update`, the body must be exactly what the packet announces
/// ([`Packet::body_len`]: `CONTENT_LENGTH`, none when it is absent or empty; the cache
/// `size`): anything else is an [`io::ErrorKind::InvalidInput`] error and nothing is
/// written, since the peer would read a wrong body or the next request from it. For
/// other types `body` is written as given.
///
/// ```
/// use uwsgi_wire::{Modifier1, Packet, Payload, VarsBuilder};
/// let mut vars = VarsBuilder::new();
/// vars.push("REQUEST_METHOD", "POST")?.push("CONTENT_LENGTH", "5")?;
/// let packet = Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))?;
///
/// let mut out = Vec::new();
/// uwsgi_wire::io::write_request(&mut out, &packet, b"hello")?;
/// assert!(out.ends_with(b"5hello"));
///
/// let err = uwsgi_wire::io::write_request(&mut Vec::new(), &packet, b"hi").unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_request<W: Write + ?Sized>(
    writer: &mut W,
    packet: &Packet<'_>,
    body: &[u8],
) -> io::Result<()> {
    // The kinds whose following bytes the exchange core frames must get exactly those.
    if packet.modifier1().is_request() || packet.body_len().is_ok_and(|len| len > 0) {
        let announced = packet
            .body_len()
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
        if announced != to_u64(body.len()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "body is {} bytes but the packet announces {announced}",
                    body.len()
                ),
            ));
        }
    }
    let header = packet.header().to_bytes();
    let mut bufs = [
        IoSlice::new(&header),
        IoSlice::new(packet.payload().as_bytes()),
        IoSlice::new(body),
    ];
    write_all_vectored(writer, &mut bufs)
}
