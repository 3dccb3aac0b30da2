//! The server side's codec: requests (and every other packet a server receives) in,
//! replies out.

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::{Decoded, Frame, Framer, ReplyHead};
use crate::exchange::follow::reply_body_len;
use crate::exchange::machine::Machine;
use crate::exchange::{BodyLength, ExchangeError, ExchangeErrorKind};
use crate::io::StreamError;
use crate::owned::OwnedPacket;
use crate::wire::limits::Limits;
use crate::wire::packet::Packet;

/// The codec of a server's connection: decodes every packet it receives as a
/// [`Frame::Head`] ([`OwnedPacket`]), the bytes its kind says follow it as
/// [`Frame::Body`] chunks, then [`Frame::End`]; encodes replies (a [`Packet`], raw
/// [`Bytes`] such as an HTTP response head and its body, or a relayed [`Frame`]).
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
/// use uwsgi_wire::codec::{Frame, ServerCodec};
/// use uwsgi_wire::Limits;
///
/// // uWSGI's default `buffer-size`, nginx's default `client_max_body_size`.
/// let mut codec = ServerCodec::new(Limits::new().max_datasize(4096).max_body(1 << 20));
/// let mut buf = BytesMut::from(&include_bytes!("../../tests/vectors/nginx-get.bin")[..]);
/// let Some(Frame::Head(request)) = codec.decode(&mut buf)? else { unreachable!() };
/// assert!(request.packet().vars().is_some());
/// assert_eq!(codec.body_remaining(), None); // no body follows
/// assert_eq!(codec.decode(&mut buf)?, Some(Frame::End));
/// # Ok::<(), uwsgi_wire::io::StreamError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ServerCodec {
    framer: Framer,
}

impl ServerCodec {
    /// A codec for one server connection. The limits: `max_datasize` bounds the buffer
    /// a packet needs (4 + it), `max_vars` and `max_items` the entries, `max_body` the
    /// request body (413 before its first byte; bodies are streamed, never buffered, so
    /// no limit costs no memory here).
    pub const fn new(limits: Limits) -> Self {
        ServerCodec {
            framer: Framer::new(Machine::server(limits)),
        }
    }

    /// The largest [`Frame::Body`] chunk (at least 1). Default: [`DEFAULT_BODY_CHUNK`](super::DEFAULT_BODY_CHUNK).
    /// A chunk holds what has arrived, up to this size: a chunk is never delayed to fill.
    #[must_use]
    #[inline]
    pub fn body_chunk(mut self, size: usize) -> Self {
        self.framer.body_chunk = size.max(1);
        self
    }

    /// The body bytes of the current request the decoder has not yielded yet, or
    /// `None` when it is not inside a body.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use tokio_util::codec::Decoder;
    /// let mut codec = uwsgi_wire::codec::ServerCodec::default();
    /// let mut buf = BytesMut::from(&b"\x00\x13\x00\x00\x0e\x00CONTENT_LENGTH\x01\x005he"[..]);
    /// codec.decode(&mut buf)?; // the head
    /// codec.decode(&mut buf)?; // "he"
    /// assert_eq!(codec.body_remaining(), Some(3));
    /// # Ok::<(), uwsgi_wire::io::StreamError>(())
    /// ```
    pub fn body_remaining(&self) -> Option<u64> {
        self.framer.exchange.body_remaining()
    }

    #[inline]
    fn next_frame(
        &mut self,
        src: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<Frame<OwnedPacket>>, StreamError> {
        if self.framer.take_end() {
            return Ok(Some(Frame::End));
        }
        if !eof && self.framer.exchange.awaits_request() {
            return Ok(self.framer.request(src)?.map(Frame::Head));
        }
        Ok(match self.framer.decode(src, eof)? {
            Some(Decoded::Packet(packet)) => Some(Frame::Head(packet)),
            Some(Decoded::Body(chunk)) => Some(Frame::Body(chunk)),
            Some(Decoded::End) => Some(Frame::End),
            None => None,
            // The server side of the exchange frames packets only; a response head is
            // a client's. Refused rather than assumed away.
            Some(Decoded::Response(_)) => {
                let at = self.framer.exchange.position();
                return Err(ExchangeError::new(ExchangeErrorKind::UnexpectedData, at).into());
            }
        })
    }
}

impl Default for ServerCodec {
    fn default() -> Self {
        ServerCodec::new(Limits::new())
    }
}

impl Decoder for ServerCodec {
    type Item = Frame<OwnedPacket>;
    type Error = StreamError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, StreamError> {
        self.next_frame(src, false)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, StreamError> {
        self.next_frame(src, true)
    }
}

/// A uwsgi-framed reply (a pong, an RPC result, a cache reply), with the bytes its kind
/// says follow it to be encoded next.
impl Encoder<Packet<'_>> for ServerCodec {
    type Error = StreamError;

    fn encode(&mut self, packet: Packet<'_>, dst: &mut BytesMut) -> Result<(), StreamError> {
        let body_len = reply_body_len(&packet)
            .map_err(|err| ExchangeError::new(ExchangeErrorKind::ReplyPacket(err), 0))?;
        self.framer.encode_packet(&packet, body_len, dst)
    }
}

/// A reply relayed from an upstream, frame by frame (a uwsgi router).
impl Encoder<Frame<ReplyHead>> for ServerCodec {
    type Error = StreamError;

    fn encode(&mut self, frame: Frame<ReplyHead>, dst: &mut BytesMut) -> Result<(), StreamError> {
        match frame {
            Frame::Head(ReplyHead::Packet(packet)) => {
                let body_len = reply_body_len(&packet.packet())
                    .map_err(|err| ExchangeError::new(ExchangeErrorKind::ReplyPacket(err), 0))?;
                self.framer
                    .encode_head(packet.as_bytes(), BodyLength::Exact(body_len), dst)
            }
            Frame::Head(ReplyHead::Response(head)) => {
                self.framer.encode_head(head.as_bytes(), head.body(), dst)
            }
            Frame::Body(chunk) => self.framer.encode_body(&chunk, dst),
            Frame::End => self.framer.encode_end(),
        }
    }
}

/// Raw bytes: an HTTP response head and its body, written as they are.
impl Encoder<Bytes> for ServerCodec {
    type Error = StreamError;

    fn encode(&mut self, raw: Bytes, dst: &mut BytesMut) -> Result<(), StreamError> {
        dst.extend_from_slice(&raw);
        Ok(())
    }
}
