//! The async adapter (feature `tokio`): a [`tokio_util::codec`] [`Decoder`] and
//! [`Encoder`] for uwsgi streams.
//!
//! [`UwsgiCodec`] turns a byte stream into [`Frame`]s, a thin shell over the
//! [exchange core](crate::exchange) that frames it. On the server side
//! ([`UwsgiCodec::new`]): for every packet a [`Frame::Head`], then the bytes its kind says
//! follow it (a request's strict `CONTENT_LENGTH` body, a cache `set`'s value) as
//! [`Frame::Body`] chunks, then [`Frame::End`]; several packets on one connection decode
//! one after the other, in order. On the client side ([`Builder::new_client_codec`],
//! then [`UwsgiCodec::expect`] for each request sent): the reply, as a
//! [`Frame::Response`] (an HTTP response head) or a [`Frame::Head`] (a uwsgi-framed
//! reply), its body chunks, then [`Frame::End`].
//!
//! - **No copies.** A head is an [`OwnedPacket`] split off the read buffer
//!   (`BytesMut::split_to` then `freeze`): keys and values share that memory, and its
//!   views ([`OwnedPacket::vars`]) are O(1), validated once. Body chunks are split off
//!   the same way.
//! - **Bounded memory.** The decoder reserves exactly the bytes a packet still needs,
//!   never more than 4 + [`Limits::max_datasize`](crate::Limits) (an oversize datasize
//!   is an error as soon as the header is in, before the block is read); for a response
//!   head, whose end is unknown until it arrives, twice what it has, never more than
//!   [`Limits::max_head`](crate::Limits) (checked by the `exchange` fuzz target and
//!   `tests/fuzz_exchange_regressions.rs`). It never buffers a body: every body byte that arrives is handed out at once, in chunks of at most
//!   [`Builder::body_chunk`] bytes. With `FramedRead`, which only reads when the decoder
//!   asks for more, the read buffer stays within the largest of its initial capacity
//!   (8 KiB), the largest head and one body chunk (the decoder reserves room for one,
//!   so a read can fill it), whatever the body size and however the reads fall: the
//!   decoder never lets `BytesMut::reserve` double the allocation (checked by the
//!   `streaming` fuzz target).
//! - **Back-pressure.** Nothing is read from the socket until the previous frame has
//!   been taken: a consumer that is slow to poll the stream stops the reads, the
//!   kernel's socket buffer fills and the peer's writes wait. Frames are never queued.
//! - **Cancellation safety.** All decoding state lives in the codec and the `FramedRead`
//!   buffer, and a frame is only removed from the buffer when it is returned, so
//!   dropping a pending `next()` future (in `tokio::select!`, under a timeout) loses no
//!   byte: the next call picks up where the last one stopped.
//! - **Errors.** A malformed or oversize head is a [`StreamError`] whose
//!   [`status_code`](StreamError::status_code) gives the HTTP status to answer with
//!   (431, 413 or 400; 502 for a bad reply); a peer that closes mid-head or mid-body is
//!   one whose [`is_eof`](StreamError::is_eof) is true. After an error, close the
//!   connection.
//!
//! ```
//! use bytes::BytesMut;
//! use tokio_util::codec::Decoder;
//! use uwsgi_wire::codec::{Frame, UwsgiCodec};
//!
//! let mut codec = UwsgiCodec::new();
//! // Captured from nginx 1.22: a POST with an 11-byte body.
//! let mut buf = BytesMut::from(&std::fs::read("tests/vectors/nginx-post.bin")?[..]);
//!
//! let Some(Frame::Head(head)) = codec.decode(&mut buf)? else { unreachable!() };
//! assert_eq!(head.vars().unwrap().get(b"REQUEST_METHOD"), Some(&b"POST"[..]));
//! assert_eq!(head.body_len(), 11);
//! assert_eq!(codec.decode(&mut buf)?, Some(Frame::Body("hello=world".into())));
//! assert_eq!(codec.decode(&mut buf)?, Some(Frame::End));
//! assert_eq!(codec.decode(&mut buf)?, None); // needs more bytes: not an error
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::exchange::{BodyLength, Event, Exchange, ExchangeError, ExchangeErrorKind, Head, Reply};
use crate::limits::Limits;
use crate::owned::{Layout, OwnedPacket};
use crate::owned_head::OwnedResponseHead;
use crate::packet::{Packet, Status};
use crate::stream_error::StreamError;
use crate::{to_u64, to_usize};

/// The largest body chunk by default: 64 KiB.
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
/// use uwsgi_wire::codec::{Frame, UwsgiCodec, DEFAULT_BODY_CHUNK};
///
/// // A request announcing a 100000-byte body, all of which has arrived.
/// let mut buf = BytesMut::from(&b"\x00\x18\x00\x00\x0e\x00CONTENT_LENGTH\x06\x00100000"[..]);
/// buf.extend_from_slice(&vec![b'x'; 100_000]);
/// let mut codec = UwsgiCodec::new();
/// assert!(matches!(codec.decode(&mut buf)?, Some(Frame::Head(_))));
/// let mut chunks = Vec::new();
/// while let Some(Frame::Body(chunk)) = codec.decode(&mut buf)? {
///     chunks.push(chunk.len()); // the loop ends at Frame::End
/// }
/// assert_eq!(chunks, [DEFAULT_BODY_CHUNK, 100_000 - DEFAULT_BODY_CHUNK]);
/// # Ok::<(), uwsgi_wire::StreamError>(())
/// ```
pub const DEFAULT_BODY_CHUNK: usize = 64 * 1024;

/// One decoded unit of a uwsgi stream.
///
/// Every exchange decodes to one head (`Head` for a packet, `Response` for an HTTP
/// response head; none for a raw reply), zero or more `Body` chunks (exactly the bytes
/// the head says follow it) and one `End`.
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
/// use uwsgi_wire::codec::{Frame, UwsgiCodec};
///
/// // A ping, then a POST captured from nginx 1.22 with its 11-byte body.
/// let mut buf = BytesMut::from(&[0x64, 0, 0, 0][..]);
/// buf.extend_from_slice(include_bytes!("../tests/vectors/nginx-post.bin"));
/// let mut codec = UwsgiCodec::new();
/// let mut frames = Vec::new();
/// while let Some(frame) = codec.decode(&mut buf)? {
///     frames.push(frame);
/// }
/// let kinds: Vec<&str> = frames
///     .iter()
///     .map(|frame| match frame {
///         Frame::Head(_) | Frame::Response(_) => "head",
///         Frame::Body(_) => "body",
///         Frame::End => "end",
///     })
///     .collect();
/// assert_eq!(kinds, ["head", "end", "head", "body", "end"]);
/// assert_eq!(frames.get(3), Some(&Frame::Body("hello=world".into())));
/// # Ok::<(), uwsgi_wire::StreamError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A packet: header and validated block, sharing the read buffer. On the client
    /// side, a uwsgi-framed reply.
    Head(OwnedPacket),
    /// An HTTP response head (client side), sharing the read buffer.
    Response(OwnedResponseHead),
    /// The next body bytes (never empty).
    Body(Bytes),
    /// The exchange is complete; the next frame belongs to the next one.
    End,
}

/// Configures a [`UwsgiCodec`], after tokio-util's `length_delimited::Builder`.
///
/// ```
/// use uwsgi_wire::codec::UwsgiCodec;
/// use uwsgi_wire::Limits;
///
/// // Mirror a uWSGI server (buffer-size 4096, 128 vars) and nginx's 1 MiB body limit.
/// let codec = UwsgiCodec::builder()
///     .limits(Limits::new().max_datasize(4096).max_vars(128).max_body(1 << 20))
///     .body_chunk(16 * 1024)
///     .new_codec();
/// assert_eq!(codec.limits().max_body, 1 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builder {
    limits: Limits,
    body_chunk: usize,
}

impl Builder {
    /// The defaults: [`Limits::new`] (65535-byte blocks, 64 KiB response heads, no body
    /// limit), [`DEFAULT_BODY_CHUNK`] (64 KiB) chunks.
    ///
    /// ```
    /// let codec = uwsgi_wire::codec::Builder::new().new_codec();
    /// assert_eq!(codec.limits().max_body, u64::MAX);
    /// ```
    pub fn new() -> Self {
        Builder {
            limits: Limits::new(),
            body_chunk: DEFAULT_BODY_CHUNK,
        }
    }

    /// The limits: `max_datasize` bounds the buffer a packet needs (4 + it), `max_head`
    /// the buffer a response head needs, `max_vars` and `max_items` the entries,
    /// `max_body` the body (refused before its first byte when announced; bodies are
    /// streamed, never buffered, so no limit costs no memory here). Default:
    /// [`Limits::new`].
    ///
    /// ```
    /// use uwsgi_wire::{codec::UwsgiCodec, Limits};
    /// let codec = UwsgiCodec::builder().limits(Limits::new().max_datasize(4096)).new_codec();
    /// assert_eq!(codec.limits().max_datasize, 4096);
    /// ```
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The largest [`Frame::Body`] chunk (at least 1). Default: [`DEFAULT_BODY_CHUNK`].
    /// A chunk holds what has arrived, up to this size: a chunk is never delayed to fill.
    ///
    /// ```
    /// let codec = uwsgi_wire::codec::UwsgiCodec::builder().body_chunk(0).new_codec();
    /// assert_eq!(codec.body_chunk(), 1);
    /// ```
    pub fn body_chunk(mut self, size: usize) -> Self {
        self.body_chunk = size.max(1);
        self
    }

    /// A server-side codec: it decodes packets and what follows them.
    ///
    /// ```
    /// let codec = uwsgi_wire::codec::Builder::new().new_codec();
    /// # drop(codec);
    /// ```
    pub fn new_codec(&self) -> UwsgiCodec {
        self.codec(Exchange::server(self.limits))
    }

    /// A client-side codec: call [`UwsgiCodec::expect`] for each request sent, then it
    /// decodes the reply.
    ///
    /// ```
    /// use uwsgi_wire::exchange::Reply;
    /// let mut codec = uwsgi_wire::codec::Builder::new().new_client_codec();
    /// assert!(codec.expect(Reply::Response { head_request: false }));
    /// ```
    pub fn new_client_codec(&self) -> UwsgiCodec {
        self.codec(Exchange::client(self.limits))
    }

    fn codec(&self, exchange: Exchange) -> UwsgiCodec {
        UwsgiCodec {
            exchange,
            body_chunk: self.body_chunk,
            write_announced: 0,
            write_left: 0,
        }
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

/// A [`Decoder`] and [`Encoder`] for uwsgi streams: see the [module docs](self).
///
/// Use it with `tokio_util::codec::FramedRead` (decoding), `FramedWrite` (encoding) or
/// `Framed` (both). Decoding yields [`Frame`]s. Encoding takes a [`Packet`], a
/// [`Frame`] (so decoded frames can be forwarded as they are) or raw [`Bytes`] (a raw
/// HTTP response); as with tokio-util's `BytesCodec`, a `close` or `flush` that sends
/// nothing must then name the item type: `SinkExt::<Bytes>::close(&mut framed)`.
///
/// ```
/// use futures_util::{SinkExt, StreamExt};
/// use tokio_util::codec::{FramedRead, FramedWrite};
/// use uwsgi_wire::codec::{Frame, UwsgiCodec};
/// use uwsgi_wire::{Modifier1, Packet, Payload, VarsBuilder};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (client, server) = tokio::io::duplex(1024);
///
/// // The client side: a request packet, then its body.
/// let mut out = FramedWrite::new(client, UwsgiCodec::new());
/// let mut vars = VarsBuilder::new();
/// vars.push("REQUEST_METHOD", "PUT")?.push("CONTENT_LENGTH", "5")?;
/// out.send(Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))?).await?;
/// out.send(Frame::Body("hello".into())).await?;
/// out.send(Frame::End).await?;
/// drop(out);
///
/// // The server side.
/// let mut frames = FramedRead::new(server, UwsgiCodec::new());
/// let Some(Frame::Head(head)) = frames.next().await.transpose()? else { unreachable!() };
/// assert_eq!(head.vars().unwrap().get(b"REQUEST_METHOD"), Some(&b"PUT"[..]));
/// let mut body = Vec::new();
/// while let Some(Frame::Body(chunk)) = frames.next().await.transpose()? {
///     body.extend_from_slice(&chunk); // the loop stops at Frame::End
/// }
/// assert_eq!(body, b"hello");
/// assert!(frames.next().await.is_none()); // clean close
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct UwsgiCodec {
    exchange: Exchange,
    body_chunk: usize,
    /// Encoder side: the body length of the last head, and what is still owed.
    write_announced: u64,
    write_left: u64,
}

impl UwsgiCodec {
    /// A server-side codec with the [`Builder::new`] defaults.
    ///
    /// ```
    /// let codec = uwsgi_wire::codec::UwsgiCodec::new();
    /// assert_eq!(codec.body_chunk(), uwsgi_wire::codec::DEFAULT_BODY_CHUNK);
    /// ```
    pub fn new() -> Self {
        Builder::new().new_codec()
    }

    /// A [`Builder`] to set the limits.
    ///
    /// ```
    /// use uwsgi_wire::Limits;
    /// let codec = uwsgi_wire::codec::UwsgiCodec::builder().limits(Limits::new().max_body(10)).new_codec();
    /// assert_eq!(codec.limits().max_body, 10);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The limits.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::codec::UwsgiCodec::new().limits(), &uwsgi_wire::Limits::new());
    /// ```
    pub fn limits(&self) -> &Limits {
        self.exchange.limits()
    }

    /// The largest body chunk.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::codec::UwsgiCodec::new().body_chunk(), 65536);
    /// ```
    pub fn body_chunk(&self) -> usize {
        self.body_chunk
    }

    /// The next reply to decode is `reply` (a client-side codec;
    /// [`Reply::to`] gives it for any packet sent). False, changing nothing, while a
    /// reply is still being decoded, or on a server-side codec.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use tokio_util::codec::Decoder;
    /// use uwsgi_wire::codec::{Frame, UwsgiCodec};
    /// use uwsgi_wire::exchange::Reply;
    ///
    /// let mut codec = UwsgiCodec::builder().new_client_codec();
    /// codec.expect(Reply::Packet(uwsgi_wire::Modifier1::PING));
    /// // The pong uWSGI 2.0.21 answers to `uwsgi --ping`.
    /// let mut buf = BytesMut::from(&include_bytes!("../tests/vectors/uwsgi-pong.bin")[..]);
    /// assert!(matches!(codec.decode(&mut buf)?, Some(Frame::Head(p)) if p.modifier2() == 1));
    /// assert_eq!(codec.decode(&mut buf)?, Some(Frame::End));
    /// # Ok::<(), uwsgi_wire::StreamError>(())
    /// ```
    pub fn expect(&mut self, reply: Reply) -> bool {
        self.exchange.expect(reply)
    }

    /// The body bytes of the current exchange the decoder has not yielded yet, or
    /// `None` when it is not inside a body of known length.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use tokio_util::codec::Decoder;
    /// let mut codec = uwsgi_wire::codec::UwsgiCodec::new();
    /// let mut buf = BytesMut::from(&b"\x00\x13\x00\x00\x0e\x00CONTENT_LENGTH\x01\x005he"[..]);
    /// codec.decode(&mut buf)?; // the head
    /// codec.decode(&mut buf)?; // "he"
    /// assert_eq!(codec.body_remaining(), Some(3));
    /// # Ok::<(), uwsgi_wire::StreamError>(())
    /// ```
    pub fn body_remaining(&self) -> Option<u64> {
        self.exchange.body_remaining()
    }

    /// Decodes one frame from `src`; `eof` when no more bytes will come.
    #[inline]
    fn next_frame(&mut self, src: &mut BytesMut, eof: bool) -> Result<Option<Frame>, StreamError> {
        // The end of an exchange needs no bytes: answered here, without the full decode
        // (every request without a body ends with one; BENCHMARKS.md).
        if self.exchange.take_end() {
            return Ok(Some(Frame::End));
        }
        // A server's next head, likewise without the general decode's state dispatch and
        // event: the path every request takes.
        if !eof && self.exchange.awaits_request() {
            return self.request_frame(src);
        }
        self.decode_frame(src, eof)
    }

    /// [`decode_frame`](Self::decode_frame) when the exchange awaits a request head and
    /// more bytes may come: the same frame, the same errors, the same reservation when
    /// the head is partial. The packet is validated in place and split off only then:
    /// nothing to put back on an error, and the atomic operation on the buffer's
    /// reference count comes after the loads of the validation, not before them
    /// (BENCHMARKS.md, target 1).
    #[inline(always)]
    fn request_frame(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, StreamError> {
        let (packet, body_len, total) = match self.exchange.take_request(src)? {
            Status::Complete(done) => done,
            Status::Partial { needed } => {
                let room = self
                    .exchange
                    .head_room(src.len(), needed)
                    .saturating_sub(src.len());
                reserve_bounded(src, room);
                return Ok(None);
            }
        };
        let layout = Layout::of(&packet.payload());
        Ok(Some(Frame::Head(OwnedPacket::from_parts(
            src.split_to(total).freeze(),
            layout,
            body_len,
        ))))
    }

    /// Out of line, so that the two paths above stay small enough to inline whole.
    #[inline(never)]
    fn decode_frame(
        &mut self,
        src: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<Frame>, StreamError> {
        loop {
            let in_body = self.exchange.after_head();
            let view = if in_body {
                src.get(..src.len().min(self.body_chunk))
                    .unwrap_or_default()
            } else {
                &src[..]
            };
            let status = if eof {
                match self.exchange.decode_eof(view)? {
                    Some(done) => Status::Complete(done),
                    None => return Ok(None),
                }
            } else {
                self.exchange.decode(view)?
            };
            let (event, consumed) = match status {
                Status::Complete((event, consumed)) => (Item::of(event), consumed),
                Status::Partial { needed } => {
                    let room = match self.exchange.body_remaining() {
                        Some(left) => to_usize(left).min(self.body_chunk),
                        None if in_body => self.body_chunk,
                        // The exchange knows how much a partial head may still take.
                        None => self
                            .exchange
                            .head_room(src.len(), needed)
                            .saturating_sub(src.len()),
                    };
                    reserve_bounded(src, room);
                    return Ok(None);
                }
            };
            // Only the frames that carry bytes split them off: `split_to(0)` would still
            // take and drop a reference to the buffer (two atomic operations) for every
            // `End` (BENCHMARKS.md, the codec's decode).
            let mut take = || src.split_to(consumed).freeze();
            return Ok(Some(match event {
                Item::Packet(layout, body) => Frame::Head(OwnedPacket::from_parts(
                    take(),
                    layout,
                    body.exact().unwrap_or(0),
                )),
                Item::Response(body) => {
                    Frame::Response(OwnedResponseHead::from_parts(take(), body))
                }
                // A raw reply has no head (`consumed` is 0): its body frames come next.
                Item::NoHead => continue,
                Item::Body => Frame::Body(take()),
                // `consumed` is 0.
                Item::End => Frame::End,
            }));
        }
    }

    /// Checks a body chunk of `len` bytes against what the last head announced.
    fn owe_body(&mut self, len: usize) -> Result<(), StreamError> {
        let len = to_u64(len);
        if len > self.write_left {
            return Err(StreamError::BodyLength {
                announced: self.write_announced,
                sent: (self.write_announced - self.write_left).saturating_add(len),
            });
        }
        self.write_left -= len;
        Ok(())
    }

    /// Fails when the previous body is not complete.
    fn body_done(&self) -> Result<(), StreamError> {
        if self.write_left > 0 {
            return Err(StreamError::BodyLength {
                announced: self.write_announced,
                sent: self.write_announced - self.write_left,
            });
        }
        Ok(())
    }

    fn start_body(&mut self, len: u64) -> Result<(), StreamError> {
        self.body_done()?;
        self.write_announced = len;
        self.write_left = len;
        Ok(())
    }
}

/// An event with its borrow of the buffer dropped, so the bytes can be split off.
enum Item {
    Packet(Layout, BodyLength),
    Response(BodyLength),
    NoHead,
    Body,
    End,
}

impl Item {
    fn of(event: Event<'_>) -> Self {
        match event {
            Event::Head { head, body } => match head {
                Head::Packet(packet) => Item::Packet(Layout::of(&packet.payload()), body),
                Head::Response(_) => Item::Response(body),
                Head::Raw => Item::NoHead,
            },
            Event::Body(_) => Item::Body,
            Event::End => Item::End,
        }
    }
}

/// The smallest buffer [`reserve_bounded`] moves unread bytes into: `FramedRead`'s
/// initial 8 KiB, so a small head does not leave a buffer that takes tiny reads.
const MIN_BUFFER: usize = 8 * 1024;

/// Makes room for `additional` bytes after the unread ones, never by growing an
/// allocation: it reuses the current one when it can (`try_reclaim`), else moves the
/// unread bytes (at most a head) to a new one of `max(src.len() + additional,
/// MIN_BUFFER)` bytes. `BytesMut::reserve` doubles the allocation when it cannot reuse it
/// in place (bytes 1.x grows like a `Vec`), so heads of the largest size arriving at the
/// wrong offsets grew the buffer to more than twice a head (found by the `streaming`
/// fuzz target; `tests/fuzz_regressions.rs`).
fn reserve_bounded(src: &mut BytesMut, additional: usize) {
    if src.try_reclaim(additional) {
        return;
    }
    let mut fresh = BytesMut::with_capacity(src.len().saturating_add(additional).max(MIN_BUFFER));
    fresh.extend_from_slice(src);
    *src = fresh;
}

impl Default for UwsgiCodec {
    fn default() -> Self {
        UwsgiCodec::new()
    }
}

impl Decoder for UwsgiCodec {
    type Item = Frame;
    type Error = StreamError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, StreamError> {
        self.next_frame(src, false)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, StreamError> {
        self.next_frame(src, true)
    }
}

/// Encodes a packet (header and block). For a packet the exchange core says bytes
/// follow ([`Packet::body_len`]: a request's `CONTENT_LENGTH`, a cache `set`'s value),
/// the [`Frame::Body`] chunks that follow must add up to it, then [`Frame::End`].
impl Encoder<Packet<'_>> for UwsgiCodec {
    type Error = StreamError;

    fn encode(&mut self, packet: Packet<'_>, dst: &mut BytesMut) -> Result<(), StreamError> {
        let body_len = packet
            .body_len()
            .map_err(|err| ExchangeError::new(ExchangeErrorKind::Packet(err), 0))?;
        self.body_done()?;
        packet.encode_to(dst)?;
        self.start_body(body_len)
    }
}

/// Encodes a frame: a head's wire bytes, a body chunk (checked against the head's
/// announced length), or nothing for `End` (which checks the body is complete).
impl Encoder<Frame> for UwsgiCodec {
    type Error = StreamError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), StreamError> {
        match frame {
            Frame::Head(packet) => {
                self.start_body(packet.body_len())?;
                dst.extend_from_slice(packet.as_bytes());
            }
            Frame::Response(head) => {
                self.start_body(head.body().exact().unwrap_or(0))?;
                dst.extend_from_slice(head.as_bytes());
                if head.body() == BodyLength::ToEof {
                    // A body to the end of the stream: any length is right.
                    self.write_announced = u64::MAX;
                    self.write_left = u64::MAX;
                }
            }
            Frame::Body(chunk) => {
                self.owe_body(chunk.len())?;
                dst.extend_from_slice(&chunk);
            }
            Frame::End => {
                if self.write_announced == u64::MAX {
                    self.write_left = 0;
                }
                self.body_done()?;
            }
        }
        Ok(())
    }
}

/// Writes raw bytes with no framing and no check: the raw HTTP response an application
/// server sends back for a request, an echo reply.
impl Encoder<Bytes> for UwsgiCodec {
    type Error = StreamError;

    fn encode(&mut self, raw: Bytes, dst: &mut BytesMut) -> Result<(), StreamError> {
        dst.extend_from_slice(&raw);
        Ok(())
    }
}
