//! The async adapter (feature `tokio`): a [`tokio_util::codec`] [`Decoder`] and
//! [`Encoder`] for uwsgi streams.
//!
//! [`UwsgiCodec`] turns a byte stream into [`Frame`]s: for every packet a
//! [`Frame::Head`], then for request types its body as [`Frame::Body`] chunks bounded
//! by the strict `CONTENT_LENGTH`, then [`Frame::End`]. Several packets on one
//! connection decode one after the other, in order.
//!
//! - **No copies.** A head is an [`OwnedPacket`] split off the read buffer
//!   (`BytesMut::split_to` then `freeze`): keys and values share that memory, and its
//!   views ([`OwnedPacket::vars`]) are O(1), validated once. Body chunks are split off
//!   the same way.
//! - **Bounded memory.** The decoder reserves exactly the bytes a head still needs, never
//!   more than 4 + [`Limits::max_datasize`](crate::Limits) (an oversize datasize is an
//!   error as soon as the header is in, before the block is read), and never buffers a
//!   body: every body byte that arrives is handed out at once, in chunks of at most
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
//! - **Errors.** A malformed or oversize head is a [`CodecError`] whose
//!   [`status_code`](CodecError::status_code) gives the HTTP status to answer with
//!   (431, 413 or 400); a peer that closes mid-head or mid-body is a [`CodecError::Io`]
//!   of kind [`std::io::ErrorKind::UnexpectedEof`]. After an error, close the
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

use std::io;

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::error::{EncodeError, Error};
use crate::io::{status_for, unexpected_eof};
use crate::limits::Limits;
use crate::owned::OwnedPacket;
use crate::packet::{Packet, Status};
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
/// # Ok::<(), uwsgi_wire::codec::CodecError>(())
/// ```
pub const DEFAULT_BODY_CHUNK: usize = 64 * 1024;

/// One decoded unit of a uwsgi stream.
///
/// Every packet decodes to one `Head`, zero or more `Body` chunks (request types with a
/// `CONTENT_LENGTH`, exactly that many bytes in all) and one `End`.
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
///         Frame::Head(_) => "head",
///         Frame::Body(_) => "body",
///         Frame::End => "end",
///     })
///     .collect();
/// assert_eq!(kinds, ["head", "end", "head", "body", "end"]);
/// assert_eq!(frames.get(3), Some(&Frame::Body("hello=world".into())));
/// # Ok::<(), uwsgi_wire::codec::CodecError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A packet: header and validated block, sharing the read buffer.
    Head(OwnedPacket),
    /// The next bytes of the request body (never empty).
    Body(Bytes),
    /// The packet and its body are complete; the next frame is the next packet's head.
    End,
}

/// Why decoding or encoding failed.
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
/// use uwsgi_wire::codec::{CodecError, UwsgiCodec};
/// use uwsgi_wire::Limits;
///
/// let mut codec = UwsgiCodec::builder().limits(Limits::new().max_datasize(4096)).new_codec();
/// // A header announcing 5000 bytes: refused before the block arrives.
/// let err = codec.decode(&mut BytesMut::from(&[0x00, 0x88, 0x13, 0x00][..])).unwrap_err();
/// assert!(matches!(err, CodecError::Protocol(_)));
/// assert_eq!(err.status_code(), Some(431));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The stream failed, or the peer closed mid-head or mid-body
    /// ([`io::ErrorKind::UnexpectedEof`]).
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// A malformed head, or one over the [`Limits`]; offsets count from the packet's
    /// first header byte.
    #[error("malformed packet: {0}")]
    Protocol(#[from] Error),
    /// A request announced a body longer than [`Builder::max_body`].
    #[error("body of {length} bytes is over the limit of {limit}")]
    BodyTooLarge {
        /// The `CONTENT_LENGTH` the request announced.
        length: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A packet given to the encoder cannot be encoded.
    #[error("cannot encode: {0}")]
    Encode(#[from] EncodeError),
    /// The body given to the encoder does not match the `CONTENT_LENGTH` its head
    /// announced: more body bytes than announced, or a new head or `End` before all of
    /// them. Nothing of the offending frame is written.
    #[error("body of {sent} bytes does not match the announced CONTENT_LENGTH of {announced}")]
    BodyLength {
        /// The `CONTENT_LENGTH` of the head.
        announced: u64,
        /// The body bytes sent (counting the rejected chunk).
        sent: u64,
    },
}

impl CodecError {
    /// The HTTP status a server could answer with before closing, or `None` when the
    /// connection failed or the error is the local side's:
    ///
    /// - 431 (Request Header Fields Too Large): a datasize over the limit, too many vars
    ///   or items;
    /// - 413 (Content Too Large): a body over [`Builder::max_body`];
    /// - 400 (Bad Request): any other malformed head (a bad `CONTENT_LENGTH`, a length
    ///   running past the block, ...);
    /// - `None` for I/O errors (including a peer that closed early) and encoder errors.
    ///
    /// ```
    /// use uwsgi_wire::codec::CodecError;
    /// assert_eq!(CodecError::BodyTooLarge { length: 2, limit: 1 }.status_code(), Some(413));
    /// ```
    pub fn status_code(&self) -> Option<u16> {
        match self {
            CodecError::Protocol(err) => Some(status_for(err.kind())),
            CodecError::BodyTooLarge { .. } => Some(413),
            CodecError::Io(_) | CodecError::Encode(_) | CodecError::BodyLength { .. } => None,
        }
    }
}

/// Configures a [`UwsgiCodec`], after tokio-util's `length_delimited::Builder`.
///
/// ```
/// use uwsgi_wire::codec::UwsgiCodec;
/// use uwsgi_wire::Limits;
///
/// // Mirror a uWSGI server (buffer-size 4096, 128 vars) and nginx's 1 MiB body limit.
/// let codec = UwsgiCodec::builder()
///     .limits(Limits::new().max_datasize(4096).max_vars(128))
///     .max_body(1 << 20)
///     .body_chunk(16 * 1024)
///     .new_codec();
/// assert_eq!(codec.get_max_body(), 1 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builder {
    limits: Limits,
    max_body: u64,
    body_chunk: usize,
}

impl Builder {
    /// The defaults: [`Limits::new`] (65535-byte blocks), no body limit,
    /// [`DEFAULT_BODY_CHUNK`] (64 KiB) chunks.
    ///
    /// ```
    /// let codec = uwsgi_wire::codec::Builder::new().new_codec();
    /// assert_eq!(codec.get_max_body(), u64::MAX);
    /// ```
    pub fn new() -> Self {
        Builder {
            limits: Limits::new(),
            max_body: u64::MAX,
            body_chunk: DEFAULT_BODY_CHUNK,
        }
    }

    /// The limits on heads: `max_datasize` bounds the buffer a head needs (4 + it),
    /// `max_vars` and `max_items` the entries. Default: [`Limits::new`].
    ///
    /// ```
    /// use uwsgi_wire::{codec::UwsgiCodec, Limits};
    /// let codec = UwsgiCodec::builder().limits(Limits::new().max_datasize(4096)).new_codec();
    /// assert_eq!(codec.get_limits().get_max_datasize(), 4096);
    /// ```
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The largest `CONTENT_LENGTH` accepted ([`CodecError::BodyTooLarge`] otherwise,
    /// before any body byte is read). Default: no limit: a body is streamed, never
    /// buffered, so its size costs no memory here; set this to mirror nginx's
    /// `client_max_body_size` (1 MiB by default).
    ///
    /// ```
    /// let codec = uwsgi_wire::codec::UwsgiCodec::builder().max_body(1 << 20).new_codec();
    /// assert_eq!(codec.get_max_body(), 1 << 20);
    /// ```
    pub fn max_body(mut self, limit: u64) -> Self {
        self.max_body = limit;
        self
    }

    /// The largest [`Frame::Body`] chunk (at least 1). Default: [`DEFAULT_BODY_CHUNK`].
    /// A chunk holds what has arrived, up to this size: a chunk is never delayed to fill.
    ///
    /// ```
    /// let codec = uwsgi_wire::codec::UwsgiCodec::builder().body_chunk(0).new_codec();
    /// assert_eq!(codec.get_body_chunk(), 1);
    /// ```
    pub fn body_chunk(mut self, size: usize) -> Self {
        self.body_chunk = size.max(1);
        self
    }

    /// The codec.
    ///
    /// ```
    /// let codec = uwsgi_wire::codec::Builder::new().new_codec();
    /// # drop(codec);
    /// ```
    pub fn new_codec(&self) -> UwsgiCodec {
        UwsgiCodec {
            limits: self.limits,
            max_body: self.max_body,
            body_chunk: self.body_chunk,
            read: ReadState::Head,
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

/// Where the decoder is in the Head -> Body* -> End sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadState {
    Head,
    Body { remaining: u64 },
    End,
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
    limits: Limits,
    max_body: u64,
    body_chunk: usize,
    read: ReadState,
    /// Encoder side: the `CONTENT_LENGTH` of the last head, and what is still owed.
    write_announced: u64,
    write_left: u64,
}

impl UwsgiCodec {
    /// A codec with the [`Builder::new`] defaults.
    ///
    /// ```
    /// let codec = uwsgi_wire::codec::UwsgiCodec::new();
    /// assert_eq!(codec.get_body_chunk(), uwsgi_wire::codec::DEFAULT_BODY_CHUNK);
    /// ```
    pub fn new() -> Self {
        Builder::new().new_codec()
    }

    /// A [`Builder`] to set the limits.
    ///
    /// ```
    /// let codec = uwsgi_wire::codec::UwsgiCodec::builder().max_body(10).new_codec();
    /// assert_eq!(codec.get_max_body(), 10);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The head limits.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::codec::UwsgiCodec::new().get_limits(), uwsgi_wire::Limits::new());
    /// ```
    pub fn get_limits(&self) -> Limits {
        self.limits
    }

    /// The body limit.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::codec::UwsgiCodec::new().get_max_body(), u64::MAX);
    /// ```
    pub fn get_max_body(&self) -> u64 {
        self.max_body
    }

    /// The largest body chunk.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::codec::UwsgiCodec::new().get_body_chunk(), 65536);
    /// ```
    pub fn get_body_chunk(&self) -> usize {
        self.body_chunk
    }

    /// The body bytes of the current request the decoder has not yielded yet, or `None`
    /// when it is not inside a body.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use tokio_util::codec::Decoder;
    /// let mut codec = uwsgi_wire::codec::UwsgiCodec::new();
    /// let mut buf = BytesMut::from(&b"\x00\x13\x00\x00\x0e\x00CONTENT_LENGTH\x01\x005he"[..]);
    /// codec.decode(&mut buf)?; // the head
    /// codec.decode(&mut buf)?; // "he"
    /// assert_eq!(codec.body_remaining(), Some(3));
    /// # Ok::<(), uwsgi_wire::codec::CodecError>(())
    /// ```
    pub fn body_remaining(&self) -> Option<u64> {
        match self.read {
            ReadState::Body { remaining } => Some(remaining),
            _ => None,
        }
    }

    fn decode_head(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        let (layout, body_len, consumed) = match Packet::parse_with(src, &self.limits)? {
            Status::Complete((packet, consumed)) => {
                let (layout, body_len) = OwnedPacket::describe(&packet)?;
                (layout, body_len, consumed)
            }
            Status::Partial { needed } => {
                // Exactly the missing bytes; `needed` is at most 4 + max_datasize.
                reserve_bounded(src, needed);
                return Ok(None);
            }
        };
        if body_len > self.max_body {
            return Err(CodecError::BodyTooLarge {
                length: body_len,
                limit: self.max_body,
            });
        }
        let wire = src.split_to(consumed).freeze();
        self.read = if body_len > 0 {
            ReadState::Body {
                remaining: body_len,
            }
        } else {
            ReadState::End
        };
        Ok(Some(Frame::Head(OwnedPacket::from_parts(
            wire, layout, body_len,
        ))))
    }

    /// Checks a body chunk of `len` bytes against what the last head announced.
    fn owe_body(&mut self, len: usize) -> Result<(), CodecError> {
        let len = to_u64(len);
        if len > self.write_left {
            return Err(CodecError::BodyLength {
                announced: self.write_announced,
                sent: (self.write_announced - self.write_left).saturating_add(len),
            });
        }
        self.write_left -= len;
        Ok(())
    }

    /// Fails when the previous body is not complete.
    fn body_done(&self) -> Result<(), CodecError> {
        if self.write_left > 0 {
            return Err(CodecError::BodyLength {
                announced: self.write_announced,
                sent: self.write_announced - self.write_left,
            });
        }
        Ok(())
    }

    fn start_body(&mut self, len: u64) -> Result<(), CodecError> {
        self.body_done()?;
        self.write_announced = len;
        self.write_left = len;
        Ok(())
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
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        match self.read {
            ReadState::Head => self.decode_head(src),
            ReadState::Body { remaining } => {
                let cap = to_usize(remaining).min(self.body_chunk);
                if src.is_empty() {
                    reserve_bounded(src, cap);
                    return Ok(None);
                }
                let n = cap.min(src.len());
                let chunk = src.split_to(n).freeze();
                let remaining = remaining.saturating_sub(to_u64(n));
                self.read = if remaining == 0 {
                    ReadState::End
                } else {
                    ReadState::Body { remaining }
                };
                Ok(Some(Frame::Body(chunk)))
            }
            ReadState::End => {
                self.read = ReadState::Head;
                Ok(Some(Frame::End))
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        match self.read {
            ReadState::Head if src.is_empty() => Ok(None),
            ReadState::Head => {
                let have = src.len();
                let message = match Packet::parse_with(src, &self.limits) {
                    Ok(Status::Partial { needed }) => format!(
                        "peer closed the stream after {have} of the packet's {} bytes",
                        have.saturating_add(needed)
                    ),
                    _ => format!("peer closed the stream after {have} bytes of a packet"),
                };
                Err(unexpected_eof(message).into())
            }
            ReadState::Body { remaining } => Err(unexpected_eof(format!(
                "peer closed the stream {remaining} bytes before the end of the body"
            ))
            .into()),
            ReadState::End => Ok(None),
        }
    }
}

/// Encodes a packet (header and block). For a request with a `CONTENT_LENGTH`, the
/// [`Frame::Body`] chunks that follow must add up to it, then [`Frame::End`].
impl Encoder<Packet<'_>> for UwsgiCodec {
    type Error = CodecError;

    fn encode(&mut self, packet: Packet<'_>, dst: &mut BytesMut) -> Result<(), CodecError> {
        let (_, body_len) = OwnedPacket::describe(&packet)?;
        self.body_done()?;
        packet.encode_to(dst)?;
        self.start_body(body_len)
    }
}

/// Encodes a frame: a head's wire bytes, a body chunk (checked against the head's
/// `CONTENT_LENGTH`), or nothing for `End` (which checks the body is complete).
impl Encoder<Frame> for UwsgiCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        match frame {
            Frame::Head(packet) => {
                self.start_body(packet.body_len())?;
                dst.extend_from_slice(packet.as_bytes());
            }
            Frame::Body(chunk) => {
                self.owe_body(chunk.len())?;
                dst.extend_from_slice(&chunk);
            }
            Frame::End => self.body_done()?,
        }
        Ok(())
    }
}

/// Writes raw bytes with no framing and no check: the raw HTTP response an application
/// server sends back for a request, an echo reply.
impl Encoder<Bytes> for UwsgiCodec {
    type Error = CodecError;

    fn encode(&mut self, raw: Bytes, dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.extend_from_slice(&raw);
        Ok(())
    }
}
