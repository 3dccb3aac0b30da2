//! The async adapter (feature `tokio`): [`tokio_util::codec`]
//! [`Decoder`](tokio_util::codec::Decoder)s and [`Encoder`](tokio_util::codec::Encoder)s for uwsgi streams.
//!
//! Two codecs, one per side, each a thin shell over the [exchange core](crate::exchange)
//! that frames the stream. [`ServerCodec`] decodes what a server receives: for every
//! packet a [`Frame::Head`] ([`OwnedPacket`]), then the bytes its kind says follow it (a
//! request's strict `CONTENT_LENGTH` body, a cache `set`'s value) as [`Frame::Body`]
//! chunks, then [`Frame::End`]; several packets on one connection decode one after the
//! other, in order. [`ClientCodec`] decodes the reply to each request sent (announced
//! with [`ClientCodec::expect`]): a [`Frame::Head`] ([`ReplyHead`]: an HTTP response head
//! or a uwsgi-framed reply), its body chunks, then [`Frame::End`].
//!
//! - **No copies.** A head is an [`OwnedPacket`] split off the read buffer
//!   (`BytesMut::split_to` then `freeze`): keys and values share that memory, and its
//!   views ([`OwnedPacket::packet`](crate::owned::OwnedPacket::packet)) are O(1), validated once. Body chunks are split off
//!   the same way.
//! - **Bounded memory.** The decoder reserves exactly the bytes a packet still needs,
//!   never more than 4 + [`Limits::max_datasize`](crate::Limits) (an oversize datasize
//!   is an error as soon as the header is in, before the block is read); for a response
//!   head, whose end is unknown until it arrives, twice what it has, never more than
//!   [`ClientCodec::max_head`] (checked by the `exchange` fuzz target and
//!   `tests/fuzz_exchange_regressions.rs`). It never buffers a body: every body byte that arrives is handed out at once, in chunks of at most
//!   [`ServerCodec::body_chunk`] bytes. With `FramedRead`, which only reads when the decoder
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
//! use uwsgi_wire::codec::{Frame, ServerCodec};
//!
//! let mut codec = ServerCodec::default();
//! // Captured from nginx 1.22: a POST with an 11-byte body.
//! let mut buf = BytesMut::from(&std::fs::read("tests/vectors/nginx-post.bin")?[..]);
//!
//! let Some(Frame::Head(head)) = codec.decode(&mut buf)? else { unreachable!() };
//! assert_eq!(head.packet().vars().unwrap().get(b"REQUEST_METHOD"), Some(&b"POST"[..]));
//! assert_eq!(codec.body_remaining(), Some(11)); // the body the head announced
//! assert_eq!(codec.decode(&mut buf)?, Some(Frame::Body("hello=world".into())));
//! assert_eq!(codec.decode(&mut buf)?, Some(Frame::End));
//! assert_eq!(codec.decode(&mut buf)?, None); // needs more bytes: not an error
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use bytes::{Bytes, BytesMut};

use crate::exchange::machine::Machine;
use crate::exchange::{BodyLength, Event, Head};
use crate::io::Shape;
use crate::io::StreamError;
use crate::owned::packet::Layout;
use crate::owned::{OwnedPacket, OwnedResponseHead};
use crate::wire::convert::{to_u64, to_usize};
use crate::wire::packet::Packet;
use crate::wire::status::Status;

mod client;
mod server;

pub use client::{ClientCodec, ReplyHead};
pub use server::ServerCodec;

/// The largest body chunk by default: 64 KiB.
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
/// use uwsgi_wire::codec::{Frame, ServerCodec, DEFAULT_BODY_CHUNK};
///
/// // A request announcing a 100000-byte body, all of which has arrived.
/// let mut buf = BytesMut::from(&b"\x00\x18\x00\x00\x0e\x00CONTENT_LENGTH\x06\x00100000"[..]);
/// buf.extend_from_slice(&vec![b'x'; 100_000]);
/// let mut codec = ServerCodec::default();
/// assert!(matches!(codec.decode(&mut buf)?, Some(Frame::Head(_))));
/// let mut chunks = Vec::new();
/// while let Some(Frame::Body(chunk)) = codec.decode(&mut buf)? {
///     chunks.push(chunk.len()); // the loop ends at Frame::End
/// }
/// assert_eq!(chunks, [DEFAULT_BODY_CHUNK, 100_000 - DEFAULT_BODY_CHUNK]);
/// # Ok::<(), uwsgi_wire::io::StreamError>(())
/// ```
pub const DEFAULT_BODY_CHUNK: usize = 64 * 1024;

/// One decoded unit of a uwsgi stream: `H` is the head of the side's exchanges
/// ([`OwnedPacket`] for [`ServerCodec`], [`ReplyHead`] for [`ClientCodec`]).
///
/// Every exchange decodes to one `Head` (none for a raw reply), zero or more `Body`
/// chunks (exactly the bytes the head says follow it) and one `End`.
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
/// use uwsgi_wire::codec::{Frame, ServerCodec};
///
/// // A ping, then a POST captured from nginx 1.22 with its 11-byte body.
/// let mut buf = BytesMut::from(&[0x64, 0, 0, 0][..]);
/// buf.extend_from_slice(include_bytes!("../../tests/vectors/nginx-post.bin"));
/// let mut codec = ServerCodec::default();
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
/// # Ok::<(), uwsgi_wire::io::StreamError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<H> {
    /// The head of an exchange, sharing the read buffer.
    Head(H),
    /// The next body bytes (never empty), sharing the read buffer.
    Body(Bytes),
    /// The exchange is complete: the next frame belongs to the next exchange.
    End,
}

/// What both codecs share: the exchange that frames the stream, the body chunk size, and
/// the count of body bytes still owed by what was encoded.
#[derive(Debug, Clone)]
struct Framer {
    exchange: Machine,
    body_chunk: usize,
    write_announced: u64,
    write_left: u64,
}

/// A decoded step, before it becomes a side's [`Frame`].
enum Decoded {
    Packet(OwnedPacket),
    Response(OwnedResponseHead),
    Body(Bytes),
    End,
}

/// What a decoded event carries, so the buffer can be split after the borrow ends.
enum Item {
    Head(Shape, BodyLength),
    Body,
    End,
}

impl Item {
    fn of(event: Event<'_, Head<'_>>) -> Self {
        match event {
            Event::Head { head, body } => Item::Head(Shape::of(&head), body),
            Event::Body(_) => Item::Body,
            Event::End => Item::End,
        }
    }
}

impl Framer {
    const fn new(exchange: Machine) -> Self {
        Framer {
            exchange,
            body_chunk: DEFAULT_BODY_CHUNK,
            write_announced: 0,
            write_left: 0,
        }
    }

    /// The end of an exchange needs no bytes: answered without the full decode (every
    /// request without a body ends with one; BENCHMARKS.md).
    #[inline]
    fn take_end(&mut self) -> bool {
        self.exchange.take_end()
    }

    /// A server's next head, without the general decode's state dispatch and event: the
    /// path every request takes.
    #[inline(always)]
    fn request(&mut self, src: &mut BytesMut) -> Result<Option<OwnedPacket>, StreamError> {
        let (packet, _, total) = match self.exchange.take_request(src)? {
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
        Ok(Some(OwnedPacket::from_parts(
            src.split_to(total).freeze(),
            layout,
        )))
    }

    #[inline(never)]
    fn decode(&mut self, src: &mut BytesMut, eof: bool) -> Result<Option<Decoded>, StreamError> {
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
                Item::Head(Shape::Packet(layout), _) => {
                    Decoded::Packet(OwnedPacket::from_parts(take(), layout))
                }
                Item::Head(Shape::Response(facts), body) => Decoded::Response(OwnedResponseHead {
                    wire: take(),
                    body,
                    facts,
                }),
                // A raw reply has no head (`consumed` is 0): its body frames come next.
                Item::Head(Shape::Raw, _) => continue,
                Item::Body => Decoded::Body(take()),
                // `consumed` is 0.
                Item::End => Decoded::End,
            }));
        }
    }

    fn encode_packet(
        &mut self,
        packet: &Packet<'_>,
        body_len: u64,
        dst: &mut BytesMut,
    ) -> Result<(), StreamError> {
        self.body_done()?;
        packet.encode_to(dst)?;
        self.start_body(body_len)
    }

    /// A head already framed (an owned packet or response head), relayed as it is.
    fn encode_head(
        &mut self,
        wire: &[u8],
        body: BodyLength,
        dst: &mut BytesMut,
    ) -> Result<(), StreamError> {
        self.start_body(body.exact().unwrap_or(0))?;
        dst.extend_from_slice(wire);
        if body == BodyLength::ToEof {
            // A body to the end of the stream: any length is right.
            self.write_announced = u64::MAX;
            self.write_left = u64::MAX;
        }
        Ok(())
    }

    fn encode_body(&mut self, chunk: &[u8], dst: &mut BytesMut) -> Result<(), StreamError> {
        self.owe_body(chunk.len())?;
        dst.extend_from_slice(chunk);
        Ok(())
    }

    fn encode_end(&mut self) -> Result<(), StreamError> {
        if self.write_announced == u64::MAX {
            self.write_left = 0;
        }
        self.body_done()
    }

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
