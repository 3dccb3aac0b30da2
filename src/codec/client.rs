//! The client side's codec: requests out, the reply to each in.

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::{Decoded, Frame, Framer};
use crate::exchange::machine::Machine;
use crate::exchange::{request_body_len, BodyLength, ExchangeError, ExchangeErrorKind, Reply};
use crate::io::StreamError;
use crate::owned::{OwnedPacket, OwnedResponseHead};
use crate::wire::limits::Limits;
use crate::wire::packet::Packet;

/// The head of a reply, as [`ClientCodec`] decodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyHead {
    /// An HTTP response head (the reply to a request), sharing the read buffer.
    Response(OwnedResponseHead),
    /// A uwsgi-framed reply (a pong, an RPC result, a cache reply), sharing the read
    /// buffer; the [`Frame::Body`] chunks after it (a large RPC result, a cached value)
    /// add up to [`ClientCodec::body_remaining`] as it stands right after the head.
    Packet(OwnedPacket),
}

/// The codec of a client's connection: encodes requests (a [`Packet`] and the body its
/// `CONTENT_LENGTH` announces, relayed [`Frame`]s, or raw [`Bytes`]) and decodes the
/// reply to each, announced with [`expect`](ClientCodec::expect): a [`Frame::Head`]
/// ([`ReplyHead`]; none for a raw reply), its [`Frame::Body`] chunks, then
/// [`Frame::End`].
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
/// use uwsgi_wire::codec::{ClientCodec, Frame, ReplyHead};
/// use uwsgi_wire::exchange::Reply;
///
/// let mut codec = ClientCodec::default();
/// codec.expect(Reply::Packet(uwsgi_wire::Modifier1::PING));
/// // The pong uWSGI 2.0.21 answers to `uwsgi --ping`.
/// let mut buf = BytesMut::from(&include_bytes!("../../tests/vectors/uwsgi-pong.bin")[..]);
/// let Some(Frame::Head(ReplyHead::Packet(pong))) = codec.decode(&mut buf)? else { unreachable!() };
/// assert_eq!(pong.packet().modifier2(), 1);
/// assert_eq!(codec.decode(&mut buf)?, Some(Frame::End));
/// # Ok::<(), uwsgi_wire::io::StreamError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientCodec {
    framer: Framer,
}

impl ClientCodec {
    /// A codec for one client connection. The limits: `max_datasize` bounds the buffer
    /// a uwsgi-framed reply needs (4 + it), `max_vars` and `max_items` the entries,
    /// `max_body` the reply body (refused
    /// before its first byte when announced, as soon as it passes the limit when it
    /// runs to the end of the stream; bodies are streamed, never buffered).
    pub const fn new(limits: Limits) -> Self {
        ClientCodec {
            framer: Framer::new(Machine::client(limits)),
        }
    }

    /// The largest [`Frame::Body`] chunk (at least 1). Default: [`DEFAULT_BODY_CHUNK`](super::DEFAULT_BODY_CHUNK).
    /// A chunk holds what has arrived, up to this size: a chunk is never delayed to fill.
    #[must_use]
    pub fn body_chunk(mut self, size: usize) -> Self {
        self.framer.body_chunk = size.max(1);
        self
    }

    /// The longest HTTP response head, and so the most a head's buffer holds. Default
    /// [`DEFAULT_MAX_HEAD`](crate::exchange::DEFAULT_MAX_HEAD).
    #[must_use]
    pub const fn max_head(mut self, max: usize) -> Self {
        self.framer.exchange = self.framer.exchange.with_max_head(max);
        self
    }

    /// The next reply to decode is `reply` ([`Reply::to`] gives it for any packet sent).
    /// False, changing nothing, while a reply is still being decoded.
    pub fn expect(&mut self, reply: Reply) -> bool {
        self.framer.exchange.expect(reply)
    }

    /// The body bytes of the current reply the decoder has not yielded yet, or `None`
    /// when it is not inside a body of known length.
    pub fn body_remaining(&self) -> Option<u64> {
        self.framer.exchange.body_remaining()
    }

    fn next_frame(
        &mut self,
        src: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<Frame<ReplyHead>>, StreamError> {
        if self.framer.take_end() {
            return Ok(Some(Frame::End));
        }
        Ok(self.framer.decode(src, eof)?.map(|decoded| match decoded {
            Decoded::Packet(packet) => Frame::Head(ReplyHead::Packet(packet)),
            Decoded::Response(head) => Frame::Head(ReplyHead::Response(head)),
            Decoded::Body(chunk) => Frame::Body(chunk),
            Decoded::End => Frame::End,
        }))
    }
}

impl Default for ClientCodec {
    fn default() -> Self {
        ClientCodec::new(Limits::new())
    }
}

impl Decoder for ClientCodec {
    type Item = Frame<ReplyHead>;
    type Error = StreamError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, StreamError> {
        self.next_frame(src, false)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, StreamError> {
        self.next_frame(src, true)
    }
}

/// A request, with the body its `CONTENT_LENGTH` announces to be encoded next (or a
/// cache `set`'s value; nothing for the other kinds).
impl Encoder<Packet<'_>> for ClientCodec {
    type Error = StreamError;

    fn encode(&mut self, packet: Packet<'_>, dst: &mut BytesMut) -> Result<(), StreamError> {
        let body_len = request_body_len(&packet)
            .map_err(|err| ExchangeError::new(ExchangeErrorKind::Packet(err), 0))?;
        self.framer.encode_packet(&packet, body_len, dst)
    }
}

/// A request relayed frame by frame, as a [`ServerCodec`](super::ServerCodec) decoded it.
impl Encoder<Frame<OwnedPacket>> for ClientCodec {
    type Error = StreamError;

    fn encode(&mut self, frame: Frame<OwnedPacket>, dst: &mut BytesMut) -> Result<(), StreamError> {
        match frame {
            Frame::Head(packet) => {
                let body_len = request_body_len(&packet.packet())
                    .map_err(|err| ExchangeError::new(ExchangeErrorKind::Packet(err), 0))?;
                self.framer
                    .encode_head(packet.as_bytes(), BodyLength::Exact(body_len), dst)
            }
            Frame::Body(chunk) => self.framer.encode_body(&chunk, dst),
            Frame::End => self.framer.encode_end(),
        }
    }
}

/// Raw bytes, written as they are.
impl Encoder<Bytes> for ClientCodec {
    type Error = StreamError;

    fn encode(&mut self, raw: Bytes, dst: &mut BytesMut) -> Result<(), StreamError> {
        dst.extend_from_slice(&raw);
        Ok(())
    }
}
