//! Blocking I/O (feature `std`): read packets and request bodies from any [`Read`],
//! write them to any [`Write`].
//!
//! - [`PacketReader`] owns a reusable buffer: it reads a packet in as few `read` calls as
//!   the peer allows, hands the bytes it read past the block to the request's [`Body`],
//!   keeps whatever follows the body for the next packet, and allocates nothing once its
//!   buffer has grown to the largest packet seen.
//! - [`read_packet`] reads exactly one packet into a caller-provided buffer and nothing
//!   more: the body is still in the reader, for [`Body::new`].
//! - [`write_packet`], [`write_request`] and [`write_all_vectored`] write with vectored
//!   writes (header, block and body in one system call when the writer allows) and
//!   survive short writes and [`io::ErrorKind::Interrupted`].
//!
//! Short reads are never errors: every function here keeps reading until it has what it
//! needs. "Need more bytes" is not an error; a peer that closes too early is an
//! [`io::ErrorKind::UnexpectedEof`] error that says where it happened.
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

use std::fmt;
use std::io::{self, IoSlice, Read, Write};

use crate::error::{Error, ErrorKind};
use crate::header::{Header, HEADER_LEN};
use crate::limits::Limits;
use crate::packet::{Packet, Status};
use crate::{to_u64, to_usize};

/// The buffer a [`PacketReader`] starts with: 8 KiB. It grows, once, to the largest
/// packet it has to hold (at most 4 + [`Limits::max_datasize`](crate::Limits) bytes).
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
/// # Ok::<(), uwsgi_wire::io::ReadError>(())
/// ```
pub const DEFAULT_BUFFER_SIZE: usize = 8192;

/// Why reading a packet failed.
///
/// "Need more bytes" is never an error: the reader waits for them. A peer that closes
/// mid-packet is an [`Io`](ReadError::Io) error of kind
/// [`io::ErrorKind::UnexpectedEof`].
///
/// ```
/// use uwsgi_wire::io::{PacketReader, ReadError};
/// use uwsgi_wire::ErrorKind;
///
/// // A header announcing a 5000-byte block, against a 4096-byte limit.
/// let wire = [0x00, 0x88, 0x13, 0x00];
/// let mut reader = PacketReader::with_limits(&wire[..], uwsgi_wire::Limits::new().max_datasize(4096));
/// let err = reader.read_packet().unwrap_err();
/// assert!(matches!(
///     err,
///     ReadError::Protocol(e) if e.kind() == ErrorKind::DatasizeOverLimit { datasize: 5000, limit: 4096 }
/// ));
/// assert_eq!(err.status_code(), Some(431));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The reader failed, or the peer closed mid-packet
    /// ([`io::ErrorKind::UnexpectedEof`]).
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The packet is malformed or over a [`Limits`] bound; offsets count
    /// from the packet's first header byte.
    #[error("malformed packet: {0}")]
    Protocol(#[from] Error),
    /// The request announced a body longer than [`PacketReader::max_body`] allows.
    #[error("body of {length} bytes is over the limit of {limit}")]
    BodyTooLarge {
        /// The `CONTENT_LENGTH` the request announced.
        length: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The caller's buffer is too small for the packet ([`read_packet`]).
    #[error("packet of {needed} bytes does not fit a buffer of {available}")]
    BufferTooSmall {
        /// Header and block length.
        needed: usize,
        /// The buffer's length.
        available: usize,
    },
}

impl ReadError {
    /// The HTTP status a server could answer with before closing, or `None` when the
    /// connection itself failed (nothing can be sent):
    ///
    /// - 431 (Request Header Fields Too Large): a datasize over the limit, too many vars
    ///   or items, a packet larger than the buffer;
    /// - 413 (Content Too Large): a body over the limit;
    /// - 400 (Bad Request): any other malformed packet (a bad `CONTENT_LENGTH`, a length
    ///   running past the block, ...);
    /// - `None` for I/O errors.
    ///
    /// ```
    /// use uwsgi_wire::io::ReadError;
    /// assert_eq!(ReadError::BodyTooLarge { length: 10, limit: 5 }.status_code(), Some(413));
    /// ```
    pub fn status_code(&self) -> Option<u16> {
        match self {
            ReadError::Io(_) => None,
            ReadError::Protocol(err) => Some(status_for(err.kind())),
            ReadError::BodyTooLarge { .. } => Some(413),
            ReadError::BufferTooSmall { .. } => Some(431),
        }
    }
}

/// The HTTP status that fits a malformed packet (see [`ReadError::status_code`]).
pub(crate) fn status_for(kind: ErrorKind) -> u16 {
    match kind {
        ErrorKind::DatasizeOverLimit { .. }
        | ErrorKind::TooManyVars { .. }
        | ErrorKind::TooManyItems { .. } => 431,
        _ => 400,
    }
}

/// An `UnexpectedEof` error with a message saying where the stream ended.
pub(crate) fn unexpected_eof(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, message)
}

/// Reads packets, and the bodies of request packets, from a blocking [`Read`].
///
/// The reader owns one buffer, [`DEFAULT_BUFFER_SIZE`] to start with, grown once to
/// the largest packet it must hold (never past 4 + `max_datasize`): once warm, reading
/// a packet and its body allocates nothing. It reads as much as the peer sends at once;
/// bytes read past the block go to the [`Body`] first, and bytes past the body stay
/// buffered for the next packet, so pipelined packets are read in order.
///
/// Limits are checked as early as possible: an oversize datasize from the header alone,
/// before the block is read; an oversize `CONTENT_LENGTH` before the body is read.
///
/// After an error the stream position is undefined: answer (see
/// [`ReadError::status_code`]) and close the connection.
///
/// ```
/// use std::io::Read;
/// use uwsgi_wire::io::PacketReader;
///
/// let wire = std::fs::read("tests/vectors/nginx-post.bin")?; // captured from nginx 1.22
/// let mut reader = PacketReader::new(&wire[..]).max_body(1 << 20);
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
    limits: Limits,
    max_body: u64,
    /// Body bytes of the last request that are still in `inner` (not yet read).
    body_left: u64,
}

impl<R> fmt::Debug for PacketReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketReader")
            .field("buffered", &(self.end - self.start))
            .field("capacity", &self.buf.len())
            .field("limits", &self.limits)
            .field("max_body", &self.max_body)
            .field("body_left", &self.body_left)
            .finish_non_exhaustive()
    }
}

impl<R: Read> PacketReader<R> {
    /// A reader with the default [`Limits`] and no body limit.
    ///
    /// ```
    /// let reader = uwsgi_wire::io::PacketReader::new(std::io::empty());
    /// assert_eq!(reader.buffer_capacity(), uwsgi_wire::io::DEFAULT_BUFFER_SIZE);
    /// ```
    pub fn new(inner: R) -> Self {
        Self::with_limits(inner, Limits::new())
    }

    /// A reader enforcing `limits` (`max_datasize`, `max_vars`, `max_items`). Mirror a
    /// uWSGI server with `Limits::new().max_datasize(4096).max_vars(128)`.
    ///
    /// ```
    /// use uwsgi_wire::{io::PacketReader, Limits};
    /// let reader = PacketReader::with_limits(std::io::empty(), Limits::new().max_datasize(4096));
    /// # drop(reader);
    /// ```
    pub fn with_limits(inner: R, limits: Limits) -> Self {
        PacketReader {
            inner,
            buf: vec![0; DEFAULT_BUFFER_SIZE],
            start: 0,
            end: 0,
            limits,
            max_body: u64::MAX,
            body_left: 0,
        }
    }

    /// Refuses requests whose `CONTENT_LENGTH` is over `limit` bytes
    /// ([`ReadError::BodyTooLarge`], checked before any body byte is read). Default: no
    /// limit (the body is streamed, so its size costs no memory here).
    ///
    /// ```
    /// use uwsgi_wire::io::{PacketReader, ReadError};
    /// let wire = std::fs::read("tests/vectors/nginx-post.bin")?; // 11-byte body
    /// let err = PacketReader::new(&wire[..]).max_body(10).read_packet().unwrap_err();
    /// assert!(matches!(err, ReadError::BodyTooLarge { length: 11, limit: 10 }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_body(mut self, limit: u64) -> Self {
        self.max_body = limit;
        self
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

    /// Reads the next packet.
    ///
    /// - `Ok(Some(incoming))`: the packet, and for request types
    ///   ([`Modifier1::is_request`](crate::Modifier1::is_request)) its body, bounded by
    ///   the strict `CONTENT_LENGTH` (an empty body for other types).
    /// - `Ok(None)`: the peer closed the stream cleanly, between two packets.
    /// - `Err(_)`: see [`ReadError`]; a close in the middle of a packet is an
    ///   [`io::ErrorKind::UnexpectedEof`] error.
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
    /// # Ok::<(), uwsgi_wire::io::ReadError>(())
    /// ```
    pub fn read_packet(&mut self) -> Result<Option<Incoming<'_, R>>, ReadError> {
        self.skip_body()?;
        let total = loop {
            let avail = self.end - self.start;
            if let Some(head) = self.buf.get(self.start..self.start + HEADER_LEN.min(avail)) {
                if let Ok(bytes) = <[u8; HEADER_LEN]>::try_from(head) {
                    let header = Header::from_bytes(bytes);
                    self.limits.check_header(&header)?;
                    let total = HEADER_LEN + usize::from(header.datasize);
                    if avail >= total {
                        break total;
                    }
                    if self.fill(total)? == 0 {
                        return Err(unexpected_eof(format!(
                            "peer closed the stream after {avail} of the packet's {total} bytes"
                        ))
                        .into());
                    }
                    continue;
                }
            }
            if self.fill(HEADER_LEN)? == 0 {
                if avail == 0 {
                    return Ok(None);
                }
                return Err(unexpected_eof(format!(
                    "peer closed the stream after {avail} of the header's {HEADER_LEN} bytes"
                ))
                .into());
            }
        };

        let packet_end = self.start + total;
        let wire = self.buf.get(self.start..packet_end).unwrap_or_default();
        let packet = match Packet::parse_with(wire, &self.limits)? {
            Status::Complete((packet, _)) => packet,
            // `wire` holds the whole packet; this arm only keeps the code panic-free.
            Status::Partial { needed } => {
                return Err(unexpected_eof(format!("packet short by {needed} bytes")).into())
            }
        };
        let body_len = packet.body_len()?;
        if body_len > self.max_body {
            return Err(ReadError::BodyTooLarge {
                length: body_len,
                limit: self.max_body,
            });
        }
        // Body bytes already read come from the buffer; the rest from the stream.
        let in_buf = to_usize(body_len).min(self.end - packet_end);
        let body_end = packet_end + in_buf;
        self.body_left = body_len - to_u64(in_buf);
        if body_end == self.end {
            // Nothing after the body is buffered: start the next packet at 0.
            (self.start, self.end) = (0, 0);
        } else {
            self.start = body_end;
        }
        let buffered = self.buf.get(packet_end..body_end).unwrap_or_default();
        Ok(Some(Incoming {
            packet,
            body: Body {
                buffered,
                left: Left::Shared(&mut self.body_left),
                inner: &mut self.inner,
            },
        }))
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

    /// Reads and drops what is left of the previous request's body.
    fn skip_body(&mut self) -> io::Result<()> {
        while self.body_left > 0 {
            // All buffered bytes went to the body, so the buffer is free scratch space.
            let max = to_usize(self.body_left).min(self.buf.len());
            let scratch = self.buf.get_mut(..max).unwrap_or_default();
            match self.inner.read(scratch) {
                Ok(0) => {
                    return Err(unexpected_eof(format!(
                        "peer closed the stream {} bytes before the end of the body",
                        self.body_left
                    )))
                }
                Ok(n) => self.body_left = self.body_left.saturating_sub(to_u64(n)),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
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
    /// The request body: `CONTENT_LENGTH` bytes for request types, else empty.
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

/// How many body bytes are still to be read from the stream.
enum Left<'a> {
    Owned(u64),
    /// Kept by the [`PacketReader`], which skips what the caller does not read.
    Shared(&'a mut u64),
}

impl Left<'_> {
    fn get(&self) -> u64 {
        match self {
            Left::Owned(n) => *n,
            Left::Shared(n) => **n,
        }
    }

    fn set(&mut self, value: u64) {
        match self {
            Left::Owned(n) => *n = value,
            Left::Shared(n) => **n = value,
        }
    }
}

/// A request body: exactly `CONTENT_LENGTH` bytes, then end of file.
///
/// It never reads past the body, so whatever follows on the stream (a next packet) is
/// left alone. A peer that closes before the last body byte makes `read` fail with
/// [`io::ErrorKind::UnexpectedEof`], never a silent short body. Like any [`Read`], a
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
    /// Body bytes the packet reader had already read.
    buffered: &'a [u8],
    left: Left<'a>,
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
            left: Left::Owned(len),
            inner,
        }
    }
}

impl<R: ?Sized> Body<'_, R> {
    /// The number of body bytes not read yet.
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
        to_u64(self.buffered.len()).saturating_add(self.left.get())
    }
}

impl<R: Read + ?Sized> Read for Body<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
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
        let left = self.left.get();
        if left == 0 {
            return Ok(0);
        }
        let max = to_usize(left).min(out.len());
        let dst = out.get_mut(..max).unwrap_or_default();
        let n = self.inner.read(dst)?.min(max);
        if n == 0 {
            return Err(unexpected_eof(format!(
                "peer closed the stream {left} bytes before the end of the body"
            )));
        }
        self.left.set(left - to_u64(n));
        Ok(n)
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
/// - `Ok(Some(packet))`: the packet, borrowed from `buf`. For request types its body
///   follows in `reader`: read it with [`Body::new`] and the `CONTENT_LENGTH`.
/// - `Ok(None)`: the stream ended cleanly before the first header byte.
/// - [`ReadError::BufferTooSmall`] when `buf` cannot hold the packet (4 + datasize
///   bytes; 65539 hold any packet), [`ReadError::Protocol`] for a datasize over
///   `limits` (from the header alone, before the block is read) or a malformed block,
///   [`ReadError::Io`] with [`io::ErrorKind::UnexpectedEof`] when the peer closes
///   mid-packet.
///
/// It reads the header and the block with exact-size reads, so it never consumes a
/// body byte; [`PacketReader`] makes fewer system calls.
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
/// let len = packet.vars().unwrap().content_length()?.unwrap_or(0);
/// let mut body = Vec::new();
/// Body::new(&mut stream, len).read_to_end(&mut body)?;
/// assert_eq!(body, b"hello=world");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_packet<'b, R: Read + ?Sized>(
    reader: &mut R,
    buf: &'b mut [u8],
    limits: &Limits,
) -> Result<Option<Packet<'b>>, ReadError> {
    let available = buf.len();
    let Some(head) = buf.get_mut(..HEADER_LEN) else {
        return Err(ReadError::BufferTooSmall {
            needed: HEADER_LEN,
            available,
        });
    };
    match read_full(reader, head)? {
        0 => return Ok(None),
        HEADER_LEN => {}
        n => {
            return Err(unexpected_eof(format!(
                "peer closed the stream after {n} of the header's {HEADER_LEN} bytes"
            ))
            .into())
        }
    }
    let mut bytes = [0u8; HEADER_LEN];
    bytes.copy_from_slice(head);
    let header = Header::from_bytes(bytes);
    limits.check_header(&header)?;
    let total = HEADER_LEN + usize::from(header.datasize);
    let Some(block) = buf.get_mut(HEADER_LEN..total) else {
        return Err(ReadError::BufferTooSmall {
            needed: total,
            available,
        });
    };
    let got = read_full(reader, block)?;
    if got < block.len() {
        return Err(unexpected_eof(format!(
            "peer closed the stream after {} of the packet's {total} bytes",
            HEADER_LEN + got
        ))
        .into());
    }
    let buf: &'b [u8] = buf;
    match Packet::parse_with(buf.get(..total).unwrap_or_default(), limits)? {
        Status::Complete((packet, _)) => Ok(Some(packet)),
        Status::Partial { needed } => {
            Err(unexpected_eof(format!("packet short by {needed} bytes")).into())
        }
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
/// For request types ([`Modifier1::is_request`](crate::Modifier1::is_request)) the body
/// must be exactly `CONTENT_LENGTH` bytes (none when it is absent or empty): anything
/// else is an [`io::ErrorKind::InvalidInput`] error and nothing is written, since the
/// peer would read a wrong body or the next request from it. For other types `body` is
/// written as given (the value after a cache "set", say).
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
    // Other types carry what follows them by their own rules (a cache value's `size`).
    if packet.modifier1().is_request() {
        let announced = packet
            .body_len()
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
        if announced != to_u64(body.len()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "body is {} bytes but CONTENT_LENGTH says {announced}",
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
