//! Whole packets: a header and its block, parsed from and encoded to bytes.

use crate::wire::array::Array;
use crate::wire::error::{EncodeError, ParseError};
use crate::wire::header::{BlockKind, Header, Modifier1, HEADER_LEN};
use crate::wire::limits::Limits;
use crate::wire::status::Status;
use crate::wire::vars::Vars;

/// A packet's block, interpreted by [`BlockKind`].
///
/// ```
/// use uwsgi_wire::{Array, Limits, Payload};
/// let payload = Payload::Array(Array::parse(b"\x01\x00x", &Limits::new())?);
/// assert_eq!(payload.as_bytes(), b"\x01\x00x");
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// A validated vars block.
    Vars(Vars<'a>),
    /// A validated array block.
    Array(Array<'a>),
    /// Bytes with no inner framing (ping, echo, signal, replies, unknown types).
    Raw(&'a [u8]),
}

impl<'a> Payload<'a> {
    /// The block's wire bytes.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::Payload::Raw(b"hi").as_bytes(), b"hi");
    /// ```
    pub const fn as_bytes(&self) -> &'a [u8] {
        match self {
            Payload::Vars(vars) => vars.as_bytes(),
            Payload::Array(array) => array.as_bytes(),
            Payload::Raw(raw) => raw,
        }
    }

    /// The layout of this payload.
    ///
    /// ```
    /// use uwsgi_wire::{BlockKind, Payload};
    /// assert_eq!(Payload::Raw(b"").kind(), BlockKind::Raw);
    /// ```
    pub const fn kind(&self) -> BlockKind {
        match self {
            Payload::Vars(_) => BlockKind::Vars,
            Payload::Array(_) => BlockKind::Array,
            Payload::Raw(_) => BlockKind::Raw,
        }
    }
}

/// One uwsgi packet: modifier1, modifier2 and a block of at most 65535 bytes.
///
/// For request types the body that follows the vars is **not** part of the packet: after
/// parsing, the next `CONTENT_LENGTH` bytes of the stream
/// ([`Vars::content_length`]) are the body.
///
/// ```
/// use uwsgi_wire::{Limits, Modifier1, Packet, Payload, Status, VarsBuilder};
///
/// // Encode a request...
/// let mut vars = VarsBuilder::default();
/// vars.push("REQUEST_METHOD", "GET")?.push("PATH_INFO", "/")?;
/// let packet = Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))?;
/// let mut buf = [0u8; 64];
/// let n = packet.encode(&mut buf)?;
///
/// // ...and parse it back.
/// let Status::Complete((parsed, consumed)) = Packet::parse(&buf[..n], &Limits::new())? else { unreachable!() };
/// assert_eq!((parsed, consumed), (packet, n));
/// assert_eq!(parsed.vars().unwrap().get(b"PATH_INFO"), Some(&b"/"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    modifier1: Modifier1,
    modifier2: u8,
    payload: Payload<'a>,
}

impl<'a> Packet<'a> {
    /// A packet from its parts; fails when the payload is longer than 65535 bytes.
    ///
    /// ```
    /// use uwsgi_wire::{EncodeError, Modifier1, Packet, Payload};
    /// let ping = Packet::new(Modifier1::PING, 0, Payload::Raw(b""))?;
    /// assert_eq!(ping.header().to_bytes(), [0x64, 0, 0, 0]);
    ///
    /// let big = vec![0u8; 70_000];
    /// assert_eq!(
    ///     Packet::new(Modifier1::ECHO, 0, Payload::Raw(&big)),
    ///     Err(EncodeError::BlockTooLarge { len: 70_000, limit: 65535 })
    /// );
    /// # Ok::<(), EncodeError>(())
    /// ```
    pub fn new(
        modifier1: Modifier1,
        modifier2: u8,
        payload: Payload<'a>,
    ) -> Result<Self, EncodeError> {
        let len = payload.as_bytes().len();
        if len > usize::from(u16::MAX) {
            return Err(EncodeError::BlockTooLarge {
                len,
                limit: u16::MAX,
            });
        }
        Ok(Packet {
            modifier1,
            modifier2,
            payload,
        })
    }

    /// A packet whose payload is known to fit in 16 bits (a constant, or checked earlier).
    pub(crate) const fn from_parts(
        modifier1: Modifier1,
        modifier2: u8,
        payload: Payload<'a>,
    ) -> Self {
        Packet {
            modifier1,
            modifier2,
            payload,
        }
    }

    /// Parses one packet from the start of `buf` with the given limits ([`Limits::new`]
    /// for the defaults, which accept every packet a real peer sends), reading the block
    /// as a server receives it ([`Modifier1::block_kind`]).
    ///
    /// Returns the packet and the number of bytes it took (`4 + datasize`); bytes after
    /// it (a request body, a next packet) are left alone. Error offsets count from the
    /// start of `buf`.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Modifier1, Packet, ParseErrorKind, Status};
    /// // A signal, as `uwsgi --signal ADDR,17` sends it.
    /// let Status::Complete((p, n)) = Packet::parse(&[0x6e, 0x00, 0x00, 0x11], &Limits::new())? else { unreachable!() };
    /// assert_eq!((p.modifier1(), p.modifier2(), n), (Modifier1::SIGNAL, 17, 4));
    ///
    /// let err = Packet::parse(b"\x00\x05\x00\x00\x01\x00k\x00\x00", &Limits::new().max_datasize(4))
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::DatasizeOverLimit { datasize: 5, limit: 4 });
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    #[inline]
    pub fn parse(buf: &'a [u8], limits: &Limits) -> Result<Status<(Self, usize)>, ParseError> {
        Self::parse_frame(buf, limits, |header| header.modifier1.block_kind())
    }

    /// Parses one packet, reading the block as `kind` whatever modifier1 says: use
    /// [`BlockKind::Raw`] for replies (an RPC result, a pong's warning) and to take any
    /// packet apart without looking inside.
    ///
    /// ```
    /// use uwsgi_wire::{BlockKind, Limits, Packet, Payload, Status};
    /// // An RPC reply (modifier2 0): the result, raw.
    /// let reply = b"\xad\x05\x00\x00HI:ab";
    /// let Status::Complete((p, _)) = Packet::parse_as(reply, BlockKind::Raw, &Limits::new())? else { unreachable!() };
    /// assert_eq!(p.payload(), Payload::Raw(b"HI:ab"));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn parse_as(
        buf: &'a [u8],
        kind: BlockKind,
        limits: &Limits,
    ) -> Result<Status<(Self, usize)>, ParseError> {
        Self::parse_frame(buf, limits, |_| kind)
    }

    #[inline]
    fn parse_frame(
        buf: &'a [u8],
        limits: &Limits,
        kind: impl FnOnce(&Header) -> BlockKind,
    ) -> Result<Status<(Self, usize)>, ParseError> {
        let (header, total) = match Self::frame_len(buf, limits)? {
            Status::Complete(done) => done,
            Status::Partial { needed } => return Ok(Status::Partial { needed }),
        };
        // `frame_len` saw all `total` bytes.
        let block = buf.get(HEADER_LEN..total).unwrap_or_default();
        let packet = Self::from_block(&header, block, kind(&header), limits)?;
        Ok(Status::Complete((packet, total)))
    }

    /// The framing half of a parse: the header, checked against the limits, and the
    /// packet's length (4 + datasize) once all of it is in `buf`. The exchange core's
    /// adapters split the packet off their buffer between the two halves (BENCHMARKS.md,
    /// target 1).
    #[inline(always)]
    pub(crate) fn frame_len(
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Status<(Header, usize)>, ParseError> {
        let header = match Header::parse(buf) {
            Status::Complete(header) => header,
            Status::Partial { needed } => return Ok(Status::Partial { needed }),
        };
        // Refuse an oversize block from the header alone, before waiting for it.
        limits.check_header(&header)?;
        let total = HEADER_LEN + usize::from(header.datasize);
        if buf.len() < total {
            return Ok(Status::Partial {
                needed: total - buf.len(),
            });
        }
        Ok(Status::Complete((header, total)))
    }

    /// The validating half: the packet of `header` (which [`frame_len`](Self::frame_len)
    /// accepted) and its whole `block`, read as `kind`. Error offsets count from the
    /// header's first byte.
    #[inline(always)]
    pub(crate) fn from_block(
        header: &Header,
        block: &'a [u8],
        kind: BlockKind,
        limits: &Limits,
    ) -> Result<Self, ParseError> {
        let payload = match kind {
            BlockKind::Vars => Payload::Vars(Vars::parse_at(block, HEADER_LEN, limits)?),
            BlockKind::Array => {
                Payload::Array(Array::parse(block, limits).map_err(|e| e.shifted(HEADER_LEN))?)
            }
            BlockKind::Raw => Payload::Raw(block),
        };
        Ok(Packet {
            modifier1: header.modifier1,
            modifier2: header.modifier2,
            payload,
        })
    }

    /// The header this packet encodes with (datasize is the payload's length).
    ///
    /// ```
    /// use uwsgi_wire::{Header, Modifier1, Packet, Payload};
    /// let p = Packet::new(Modifier1::ECHO, 0, Payload::Raw(b"abc"))?;
    /// assert_eq!(p.header(), Header::new(Modifier1::ECHO, 3, 0));
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn header(&self) -> Header {
        // `new` and `parse` both guarantee the block fits in 16 bits.
        let datasize = u16::try_from(self.payload.as_bytes().len()).unwrap_or(u16::MAX);
        Header::new(self.modifier1, datasize, self.modifier2)
    }

    /// The packet type.
    ///
    /// ```
    /// use uwsgi_wire::{Modifier1, Packet, Payload};
    /// assert_eq!(Packet::new(Modifier1(42), 0, Payload::Raw(b""))?.modifier1(), Modifier1(42));
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub const fn modifier1(&self) -> Modifier1 {
        self.modifier1
    }

    /// The sub-type.
    ///
    /// ```
    /// use uwsgi_wire::{Modifier1, Packet, Payload};
    /// assert_eq!(Packet::new(Modifier1::PING, 1, Payload::Raw(b""))?.modifier2(), 1);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub const fn modifier2(&self) -> u8 {
        self.modifier2
    }

    /// The block, interpreted.
    ///
    /// ```
    /// use uwsgi_wire::{Modifier1, Packet, Payload};
    /// let p = Packet::new(Modifier1::ECHO, 0, Payload::Raw(b"x"))?;
    /// assert_eq!(p.payload(), Payload::Raw(b"x"));
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub const fn payload(&self) -> Payload<'a> {
        self.payload
    }

    /// The vars, when the payload is a vars block.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Packet, Status};
    /// let Status::Complete((p, _)) = Packet::parse(b"\x00\x05\x00\x00\x01\x00k\x00\x00", &Limits::new())? else { unreachable!() };
    /// assert_eq!(p.vars().map(|v| v.len()), Some(1));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn vars(&self) -> Option<Vars<'a>> {
        match self.payload {
            Payload::Vars(vars) => Some(vars),
            _ => None,
        }
    }

    /// The array, when the payload is an array block.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Packet, Status};
    /// let Status::Complete((p, _)) = Packet::parse(b"\xad\x03\x00\x00\x01\x00f", &Limits::new())? else { unreachable!() };
    /// assert_eq!(p.array().and_then(|a| a.get(0)), Some(&b"f"[..]));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn array(&self) -> Option<Array<'a>> {
        match self.payload {
            Payload::Array(array) => Some(array),
            _ => None,
        }
    }

    /// The exact number of bytes [`encode`](Packet::encode) writes: 4 + the block.
    ///
    /// ```
    /// use uwsgi_wire::{Modifier1, Packet, Payload};
    /// assert_eq!(Packet::new(Modifier1::ECHO, 0, Payload::Raw(b"abc"))?.encoded_len(), 7);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub const fn encoded_len(&self) -> usize {
        HEADER_LEN + self.payload.as_bytes().len()
    }

    /// Writes the packet at the start of `buf`; returns the number of bytes written.
    /// Writes nothing when `buf` is too small.
    ///
    /// ```
    /// use uwsgi_wire::{EncodeError, Modifier1, Packet, Payload};
    /// let p = Packet::new(Modifier1::SIGNAL, 17, Payload::Raw(b""))?;
    /// let mut buf = [0u8; 4];
    /// assert_eq!(p.encode(&mut buf), Ok(4));
    /// assert_eq!(buf, [0x6e, 0x00, 0x00, 0x11]);
    /// assert_eq!(p.encode(&mut [0u8; 2]), Err(EncodeError::BufferTooSmall { needed: 4, available: 2 }));
    /// # Ok::<(), EncodeError>(())
    /// ```
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let needed = self.encoded_len();
        let available = buf.len();
        let Some(out) = buf.get_mut(..needed) else {
            return Err(EncodeError::BufferTooSmall { needed, available });
        };
        let (head, block) = out.split_at_mut(HEADER_LEN);
        head.copy_from_slice(&self.header().to_bytes());
        block.copy_from_slice(self.payload.as_bytes());
        Ok(needed)
    }

    /// Appends the packet to any [`bytes::BufMut`]; returns the number of bytes written.
    /// Fails, writing nothing, when the buffer cannot take them all (a `&mut [u8]` that
    /// is too short; a `BytesMut` or `Vec` grows).
    ///
    /// ```
    /// use uwsgi_wire::{Modifier1, Packet, Payload};
    /// let mut out = bytes::BytesMut::new();
    /// Packet::new(Modifier1::PING, 0, Payload::Raw(b""))?.encode_to(&mut out)?;
    /// assert_eq!(&out[..], [0x64, 0, 0, 0]);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    #[cfg(feature = "alloc")]
    pub fn encode_to<B: bytes::BufMut>(&self, buf: &mut B) -> Result<usize, EncodeError> {
        let needed = self.encoded_len();
        crate::wire::encode::check_room(buf, needed)?;
        buf.put_slice(&self.header().to_bytes());
        buf.put_slice(self.payload.as_bytes());
        Ok(needed)
    }
}
