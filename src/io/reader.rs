//! The blocking readers, one per side: [`ServerReader`] reads what a server receives,
//! [`ClientReader`] the replies to what a client sent.

use std::fmt;
use std::io::{self, Read};

use super::body::{read_full, Body, ExchangeRef};
use super::Shape;
use super::StreamError;
use crate::exchange::machine::Machine;
use crate::exchange::{Event, Head, Reply};
use crate::wire::convert::to_usize;
use crate::wire::limits::Limits;
use crate::wire::packet::Packet;
use crate::wire::status::Status;

/// The buffer a reader ([`ServerReader`], [`ClientReader`]) starts with: 8 KiB. It grows, once, to the largest
/// head it has to hold (at most 4 + [`Limits::max_datasize`] bytes for a packet,
/// [`ClientReader::max_head`] for a response head).
///
/// ```
/// use uwsgi_wire::io::{ServerReader, DEFAULT_BUFFER_SIZE};
/// use uwsgi_wire::Limits;
///
/// // Captured from nginx 1.22: its largest block, 65535 bytes.
/// let wire = include_bytes!("../../tests/vectors/nginx-large-header.bin");
/// let mut reader = ServerReader::new(&wire[..], Limits::new());
/// assert_eq!(reader.buffer_capacity(), DEFAULT_BUFFER_SIZE);
/// assert!(reader.read_packet()?.is_some());
/// assert_eq!(reader.buffer_capacity(), 4 + 65535); // grown once, to exactly the packet
/// # Ok::<(), uwsgi_wire::io::StreamError>(())
/// ```
pub const DEFAULT_BUFFER_SIZE: usize = 8192;

/// What both readers share: the buffer, the reader and the exchange.
struct Reader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    exchange: Machine,
}

impl<R> fmt::Debug for Reader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("buffered", &(self.end - self.start))
            .field("capacity", &self.buf.len())
            .field("exchange", &self.exchange)
            .finish_non_exhaustive()
    }
}

impl<R> Reader<R> {
    fn buffered(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }
}

impl<R: Read> Reader<R> {
    fn over(inner: R, exchange: Machine) -> Self {
        Reader {
            inner,
            buf: vec![0; DEFAULT_BUFFER_SIZE],
            start: 0,
            end: 0,
            exchange,
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
        let head = shape.head(wire);
        let body = Body {
            buffered,
            pending,
            exchange: ExchangeRef::Shared(&mut self.exchange),
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

/// A packet read by [`ServerReader::read_packet`] and the body that follows it.
///
/// Both borrow the reader: read the body (or drop it, and the next `read_packet` skips
/// it) before reading the next packet.
///
/// ```
/// use std::io::Read;
/// use uwsgi_wire::io::{Incoming, ServerReader};
/// use uwsgi_wire::Limits;
///
/// // Captured from nginx 1.22: a POST, then its 11 body bytes; a ping pipelined after it.
/// let post = include_bytes!("../../tests/vectors/nginx-post.bin");
/// let wire = [&post[..], &[0x64, 0, 0, 0][..]].concat();
/// let mut reader = ServerReader::new(&wire[..], Limits::new());
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

/// A reply read by [`ClientReader::read_reply`]: its head and the body that follows it.
///
/// ```
/// use uwsgi_wire::exchange::{Head, Reply};
/// use uwsgi_wire::io::{ClientReader, IncomingReply};
/// use uwsgi_wire::{Limits, Modifier1};
///
/// // uWSGI 2.0.21's pong to `uwsgi --ping`.
/// let wire = std::fs::read("tests/vectors/uwsgi-pong.bin")?;
/// let mut reader = ClientReader::new(&wire[..], Limits::new());
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
/// use uwsgi_wire::io::ServerReader;
/// use uwsgi_wire::Limits;
///
/// let wire = std::fs::read("tests/vectors/nginx-post.bin")?; // captured from nginx 1.22
/// let mut reader = ServerReader::new(&wire[..], Limits::new().max_body(1 << 20));
/// while let Some(mut request) = reader.read_packet()? {
///     let vars = request.packet.vars().expect("a request");
///     let mut body = Vec::new();
///     request.body.read_to_end(&mut body)?;
///     assert_eq!(vars.content_length()?, Some(body.len() as u64));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ServerReader<R>(Reader<R>);

impl<R> fmt::Debug for ServerReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ServerReader").field(&self.0).finish()
    }
}

impl<R: Read> ServerReader<R> {
    /// A server-side reader over `inner`, within `limits` ([`Limits::new`] accepts all the
    /// real peers send).
    pub fn new(inner: R, limits: Limits) -> Self {
        ServerReader(Reader::over(inner, Machine::server(limits)))
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
    /// use uwsgi_wire::{io::ServerReader, Limits};
    /// let wire = [0x64, 0x00, 0x00, 0x00]; // a ping, as `uwsgi --ping` sends it
    /// let mut reader = ServerReader::new(&wire[..], Limits::new());
    /// let ping = reader.read_packet()?.expect("one packet");
    /// assert_eq!(ping.packet.modifier1(), uwsgi_wire::Modifier1::PING);
    /// assert!(reader.read_packet()?.is_none());
    /// # Ok::<(), uwsgi_wire::io::StreamError>(())
    /// ```
    pub fn read_packet(&mut self) -> Result<Option<Incoming<'_, R>>, StreamError> {
        match self.0.read_head()? {
            Some((Head::Packet(packet), body)) => Ok(Some(Incoming { packet, body })),
            // The server side of the exchange starts every exchange with a packet.
            Some(_) => Err(io::Error::other("exchange out of step").into()),
            None => Ok(None),
        }
    }
}

impl<R> ServerReader<R> {
    /// The size of the internal buffer (what the reader holds in memory).
    ///
    /// ```
    /// let reader = uwsgi_wire::io::ServerReader::new(std::io::empty(), uwsgi_wire::Limits::new());
    /// assert_eq!(reader.buffer_capacity(), 8192);
    /// ```
    pub fn buffer_capacity(&self) -> usize {
        self.0.buf.len()
    }

    /// The bytes read from the stream but not yet handed out (the start of a next
    /// packet, when the peer pipelines).
    ///
    /// ```
    /// let reader = uwsgi_wire::io::ServerReader::new(std::io::empty(), uwsgi_wire::Limits::new());
    /// assert!(reader.buffered().is_empty());
    /// ```
    pub fn buffered(&self) -> &[u8] {
        self.0.buffered()
    }

    /// The underlying reader.
    ///
    /// ```
    /// let reader = uwsgi_wire::io::ServerReader::new(std::io::empty(), uwsgi_wire::Limits::new());
    /// let _inner: &std::io::Empty = reader.get_ref();
    /// ```
    pub fn get_ref(&self) -> &R {
        &self.0.inner
    }

    /// The underlying reader, mutably (reading from it directly skips the buffer).
    ///
    /// ```
    /// let mut reader = uwsgi_wire::io::ServerReader::new(std::io::empty(), uwsgi_wire::Limits::new());
    /// let _inner: &mut std::io::Empty = reader.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.0.inner
    }

    /// The underlying reader; the [`buffered`](ServerReader::buffered) bytes are lost.
    ///
    /// ```
    /// let reader = uwsgi_wire::io::ServerReader::new(std::io::empty(), uwsgi_wire::Limits::new());
    /// let _inner: std::io::Empty = reader.into_inner();
    /// ```
    pub fn into_inner(self) -> R {
        self.0.inner
    }
}

/// Reads the replies to what a client sent over a blocking [`Read`]: for each request,
/// announced with [`read_reply`](ClientReader::read_reply), the reply's head (an HTTP
/// response head, a uwsgi-framed reply, or nothing for raw bytes) and a [`Body`] of
/// exactly the bytes that follow it. One reusable buffer, as [`ServerReader`]'s.
///
/// ```
/// use uwsgi_wire::exchange::{Head, Reply};
/// use uwsgi_wire::{io::ClientReader, Limits, Modifier1};
/// // The pong uWSGI 2.0.21 answers to `uwsgi --ping`.
/// let wire = std::fs::read("tests/vectors/uwsgi-pong.bin")?;
/// let mut reader = ClientReader::new(&wire[..], Limits::new());
/// let pong = reader.read_reply(Reply::Packet(Modifier1::PING))?;
/// assert!(matches!(pong.head, Head::Packet(p) if p.modifier2() == 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ClientReader<R>(Reader<R>);

impl<R> fmt::Debug for ClientReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientReader").field(&self.0).finish()
    }
}

impl<R: Read> ClientReader<R> {
    /// A client-side reader over `inner`, within `limits` ([`Limits::new`] accepts all the
    /// real peers send).
    pub fn new(inner: R, limits: Limits) -> Self {
        ClientReader(Reader::over(inner, Machine::client(limits)))
    }

    /// The longest HTTP response head read (and so the most its buffer grows to).
    /// Default [`DEFAULT_MAX_HEAD`](crate::exchange::DEFAULT_MAX_HEAD).
    #[must_use]
    pub fn max_head(mut self, max: usize) -> Self {
        self.0.exchange = self.0.exchange.with_max_head(max);
        self
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
    /// use uwsgi_wire::{io::ClientReader, Limits};
    /// // The reply uWSGI 2.0.21 sent to the GET captured from nginx 1.22.
    /// let wire = std::fs::read("tests/vectors/uwsgi-http-reply.bin")?;
    /// let mut reader = ClientReader::new(&wire[..], Limits::new());
    /// let mut reply = reader.read_reply(Reply::Response { head_request: false })?;
    /// assert!(matches!(reply.head, Head::Response(h) if h.status() == 200));
    /// let mut body = String::new();
    /// reply.body.read_to_string(&mut body)?; // no Content-Length: to the end
    /// assert_eq!(body, "ok");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_reply(&mut self, reply: Reply) -> Result<IncomingReply<'_, R>, StreamError> {
        self.0.skip_body()?;
        if !self.0.exchange.expect(reply) {
            // Idle once the body is skipped: the exchange takes the next reply.
            return Err(io::Error::other("exchange out of step").into());
        }
        match self.0.read_head()? {
            Some((head, body)) => Ok(IncomingReply { head, body }),
            // The exchange reports a close before a reply it expects as an error.
            None => Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
        }
    }
}

impl<R> ClientReader<R> {
    /// The size of the internal buffer (what the reader holds in memory).
    ///
    /// ```
    /// let reader = uwsgi_wire::io::ClientReader::new(std::io::empty(), uwsgi_wire::Limits::new());
    /// assert_eq!(reader.buffer_capacity(), 8192);
    /// ```
    pub fn buffer_capacity(&self) -> usize {
        self.0.buf.len()
    }

    /// The bytes read from the stream but not yet handed out (the start of a next
    /// packet, when the peer pipelines).
    ///
    /// ```
    /// let reader = uwsgi_wire::io::ClientReader::new(std::io::empty(), uwsgi_wire::Limits::new());
    /// assert!(reader.buffered().is_empty());
    /// ```
    pub fn buffered(&self) -> &[u8] {
        self.0.buffered()
    }

    /// The underlying reader.
    ///
    /// ```
    /// let reader = uwsgi_wire::io::ClientReader::new(std::io::empty(), uwsgi_wire::Limits::new());
    /// let _inner: &std::io::Empty = reader.get_ref();
    /// ```
    pub fn get_ref(&self) -> &R {
        &self.0.inner
    }

    /// The underlying reader, mutably (reading from it directly skips the buffer).
    ///
    /// ```
    /// let mut reader = uwsgi_wire::io::ClientReader::new(std::io::empty(), uwsgi_wire::Limits::new());
    /// let _inner: &mut std::io::Empty = reader.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.0.inner
    }

    /// The underlying reader; the [`buffered`](ClientReader::buffered) bytes are lost.
    ///
    /// ```
    /// let reader = uwsgi_wire::io::ClientReader::new(std::io::empty(), uwsgi_wire::Limits::new());
    /// let _inner: std::io::Empty = reader.into_inner();
    /// ```
    pub fn into_inner(self) -> R {
        self.0.inner
    }
}

/// Reads exactly one packet into `buf` and nothing more: the header, then the block.
///
/// - `Ok(Some(packet))`: the packet, borrowed from `buf`. The bytes that follow it
///   ([`request_body_len`](crate::exchange::request_body_len)) are still in `reader`: read them with [`Body::new`].
/// - `Ok(None)`: the stream ended cleanly before the first header byte.
/// - [`StreamError::BufferTooSmall`] when `buf` cannot hold the packet (4 + datasize
///   bytes; 65539 hold any packet), [`StreamError::Exchange`] for a datasize over
///   `limits` (from the header alone, before the block is read), a malformed block, or
///   a peer that closes mid-packet.
///
/// It reads exactly the bytes the exchange core says are missing, so it never consumes
/// a body byte; [`ServerReader`] makes fewer system calls.
///
/// ```
/// use std::io::Read;
/// use uwsgi_wire::exchange::request_body_len;
/// use uwsgi_wire::io::{read_packet, Body};
/// use uwsgi_wire::Limits;
///
/// let wire = std::fs::read("tests/vectors/nginx-post.bin")?; // captured from nginx 1.22
/// let mut stream = &wire[..];
/// let mut buf = [0u8; 4096];
/// let packet = read_packet(&mut stream, &mut buf, &Limits::new())?.expect("a packet");
/// let mut body = Vec::new();
/// Body::new(&mut stream, request_body_len(&packet)?).read_to_end(&mut body)?;
/// assert_eq!(body, b"hello=world");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_packet<'b, R: Read + ?Sized>(
    reader: &mut R,
    buf: &'b mut [u8],
    limits: &Limits,
) -> Result<Option<Packet<'b>>, StreamError> {
    let mut exchange = Machine::server(*limits);
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
    match shape.head(wire) {
        Head::Packet(packet) => Ok(Some(packet)),
        _ => Err(io::Error::other("exchange out of step").into()),
    }
}
