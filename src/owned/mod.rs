//! Owned packets and vars that share one reference-counted buffer (`alloc`).
//!
//! [`OwnedPacket`] and [`OwnedVars`] hold a [`Bytes`] and the counts found when the
//! block was validated, so getting a borrowed [`Vars`] or [`Array`] view back is O(1)
//! and never re-validates. Keys and values handed out as [`Bytes`] are
//! [`Bytes::slice_ref`]s of the same buffer: nothing is copied. The async codec
//! ([`codec`](crate::codec), feature `tokio`) decodes into these types straight from
//! its read buffer.

mod head;

pub use head::OwnedResponseHead;

use core::fmt;

use bytes::Bytes;

use crate::exchange::request_body_len;
use crate::wire::array::Array;
use crate::wire::error::ParseError;
use crate::wire::header::{BlockKind, Header, Modifier1, HEADER_LEN};
use crate::wire::limits::Limits;
use crate::wire::packet::{Packet, Payload};
use crate::wire::status::Status;
use crate::wire::vars::Vars;

/// A validated vars block that owns its bytes (a cheap-to-clone [`Bytes`]).
///
/// ```
/// use bytes::Bytes;
/// use uwsgi_wire::{Limits, owned::OwnedVars};
///
/// let block = Bytes::from_static(b"\x0e\x00REQUEST_METHOD\x03\x00GET\x09\x00PATH_INFO\x01\x00/");
/// let vars = OwnedVars::parse(block.clone(), &Limits::new())?;
/// // A value is a slice of the same buffer, not a copy.
/// let method = vars.get(b"REQUEST_METHOD").unwrap();
/// assert_eq!(method, "GET");
/// assert_eq!(method.as_ptr(), block[18..].as_ptr());
/// // The borrowed view costs nothing to get back.
/// assert_eq!(vars.vars().len(), 2);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
/// # use uwsgi_wire::Limits;
#[derive(Clone, PartialEq, Eq)]
pub struct OwnedVars {
    block: Bytes,
    len: usize,
}

impl OwnedVars {
    /// Validates `block` as a vars block with the given limits (`max_vars`;
    /// [`Limits::new`] for the defaults).
    ///
    /// ```
    /// use uwsgi_wire::{Limits, ParseErrorKind, owned::OwnedVars};
    /// let err = OwnedVars::parse(bytes::Bytes::from_static(b"\x00\x00\x00\x00"), &Limits::new()).unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::EmptyKey);
    ///
    /// let block = bytes::Bytes::from_static(b"\x01\x00a\x00\x00\x01\x00b\x00\x00");
    /// let err = OwnedVars::parse(block, &Limits::new().max_vars(1)).unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::TooManyVars { limit: 1 });
    /// ```
    pub fn parse(block: Bytes, limits: &Limits) -> Result<Self, ParseError> {
        let len = Vars::parse(&block, limits)?.len();
        Ok(OwnedVars { block, len })
    }

    /// Copies a borrowed view into a new buffer (one allocation, one copy).
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Vars};
    /// let vars = Vars::parse(b"\x01\x00a\x01\x00b", &Limits::new())?;
    /// let owned = uwsgi_wire::owned::OwnedVars::from_vars(&vars);
    /// assert_eq!(owned.vars(), vars);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn from_vars(vars: &Vars<'_>) -> Self {
        OwnedVars {
            block: Bytes::copy_from_slice(vars.as_bytes()),
            len: vars.len(),
        }
    }

    /// The borrowed view: O(1), no re-validation.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Limits};
    /// let owned = OwnedVars::parse(bytes::Bytes::from_static(b"\x01\x00k\x01\x00v"), &Limits::new())?;
    /// assert_eq!(owned.vars().get(b"k"), Some(&b"v"[..]));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn vars(&self) -> Vars<'_> {
        Vars::trusted(&self.block, self.len)
    }

    /// The number of pairs, duplicates included.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Limits};
    /// let owned = OwnedVars::parse(bytes::Bytes::from_static(b"\x01\x00k\x01\x00v"), &Limits::new())?;
    /// assert_eq!(owned.len(), 1);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the block holds no pairs.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Limits};
    /// assert!(OwnedVars::parse(bytes::Bytes::new(), &Limits::new())?.is_empty());
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value of the last pair named `key` (as [`Vars::get`]), sharing the buffer.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Limits};
    /// let owned = OwnedVars::parse(bytes::Bytes::from_static(b"\x01\x00k\x01\x001\x01\x00k\x01\x002"), &Limits::new())?;
    /// assert_eq!(owned.get(b"k").unwrap(), "2");
    /// assert!(owned.get(b"nope").is_none());
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get(&self, key: &[u8]) -> Option<Bytes> {
        self.vars().get(key).map(|v| self.share(v))
    }

    /// The value of the first pair named `key` (as [`Vars::get_first`]), sharing the
    /// buffer.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Limits};
    /// let owned = OwnedVars::parse(bytes::Bytes::from_static(b"\x01\x00k\x01\x001\x01\x00k\x01\x002"), &Limits::new())?;
    /// assert_eq!(owned.get_first(b"k").unwrap(), "1");
    /// assert!(owned.get_first(b"nope").is_none());
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get_first(&self, key: &[u8]) -> Option<Bytes> {
        self.vars().get_first(key).map(|v| self.share(v))
    }

    /// Every value named `key` in wire order (as [`Vars::get_all`]), each sharing the
    /// buffer.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Limits};
    /// use bytes::Bytes;
    /// let owned = OwnedVars::parse(Bytes::from_static(b"\x01\x00k\x01\x001\x01\x00j\x00\x00\x01\x00k\x01\x002"), &Limits::new())?;
    /// assert_eq!(owned.get_all(b"k").collect::<Vec<_>>(), [Bytes::from("1"), Bytes::from("2")]);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get_all<'k>(&'k self, key: &'k [u8]) -> impl Iterator<Item = Bytes> + 'k {
        self.vars().get_all(key).map(move |v| self.share(v))
    }

    /// Every pair in wire order as owned `(key, value)` slices of the same buffer.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Limits};
    /// let owned = OwnedVars::parse(bytes::Bytes::from_static(b"\x01\x00a\x01\x00b"), &Limits::new())?;
    /// let pairs: Vec<_> = owned.iter().collect();
    /// assert_eq!(pairs, [(bytes::Bytes::from("a"), bytes::Bytes::from("b"))]);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (Bytes, Bytes)> + '_ {
        self.vars()
            .iter()
            .map(move |(k, v)| (self.share(k), self.share(v)))
    }

    /// The block's wire bytes.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Limits};
    /// let block = bytes::Bytes::from_static(b"\x01\x00a\x01\x00b");
    /// assert_eq!(OwnedVars::parse(block.clone(), &Limits::new())?.as_bytes(), &block);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn as_bytes(&self) -> &Bytes {
        &self.block
    }

    /// The strict `CONTENT_LENGTH` ([`Vars::content_length`]). ParseError offsets count
    /// from the first byte of the block.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Limits};
    /// let owned = OwnedVars::parse(bytes::Bytes::from_static(b"\x0e\x00CONTENT_LENGTH\x01\x007"), &Limits::new())?;
    /// assert_eq!(owned.content_length(), Ok(Some(7)));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn content_length(&self) -> Result<Option<u64>, ParseError> {
        self.vars().content_length()
    }

    /// A sub-slice of the block as a [`Bytes`] sharing the buffer.
    pub(crate) fn share(&self, inner: &[u8]) -> Bytes {
        // Every slice handed in comes from `self.vars()`, so it lies inside the block;
        // an empty slice is handled by `slice_ref` itself.
        self.block.slice_ref(inner)
    }
}

impl fmt::Debug for OwnedVars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.vars(), f)
    }
}

/// How an [`OwnedPacket`]'s block was validated, with its entry count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    Vars(usize),
    Array(usize),
    Raw,
}

impl Layout {
    /// The layout of a validated payload.
    pub(crate) fn of(payload: &Payload<'_>) -> Self {
        match payload {
            Payload::Vars(vars) => Layout::Vars(vars.len()),
            Payload::Array(array) => Layout::Array(array.len()),
            Payload::Raw(_) => Layout::Raw,
        }
    }

    /// The payload again over `block`, the bytes validated with this layout (O(1)).
    pub(crate) fn payload(self, block: &[u8]) -> Payload<'_> {
        match self {
            Layout::Vars(len) => Payload::Vars(Vars::trusted(block, len)),
            Layout::Array(len) => Payload::Array(Array::trusted(block, len)),
            Layout::Raw => Payload::Raw(block),
        }
    }
}

/// One validated packet (header and block) that owns its bytes.
///
/// Built by the async codec straight from its read buffer (no copy), by
/// [`OwnedPacket::parse`] from a [`Bytes`], or by [`OwnedPacket::from_packet`] from a
/// borrowed [`Packet`]. The borrowed views ([`vars`](OwnedPacket::vars),
/// [`array`](OwnedPacket::array), [`payload`](OwnedPacket::payload)) are O(1).
///
/// For request types ([`Modifier1::is_request`]) it also knows the body length that
/// follows it on the wire ([`body_len`](OwnedPacket::body_len), from the strict
/// `CONTENT_LENGTH`).
///
/// ```
/// use bytes::Bytes;
/// use uwsgi_wire::{Limits, owned::OwnedPacket, Status};
///
/// let wire = Bytes::from_static(b"\x00\x13\x00\x00\x0e\x00CONTENT_LENGTH\x01\x005hello");
/// let Status::Complete((packet, consumed)) = OwnedPacket::parse(wire.clone(), &Limits::new())? else { unreachable!() };
/// assert_eq!(consumed, 23);
/// assert_eq!(packet.body_len(), 5);
/// assert_eq!(&wire[consumed..], b"hello");
/// assert_eq!(packet.vars().unwrap().get(b"CONTENT_LENGTH"), Some(&b"5"[..]));
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
/// # use uwsgi_wire::Limits;
#[derive(Clone, PartialEq, Eq)]
pub struct OwnedPacket {
    /// Header and block, exactly as on the wire.
    wire: Bytes,
    layout: Layout,
    body_len: u64,
}

impl OwnedPacket {
    /// Parses one packet from the start of `buf` with the given limits ([`Limits::new`]
    /// for the defaults; block read by [`Modifier1::block_kind`]); the packet shares
    /// `buf`. Returns the number of bytes it took; what follows (a body, a next packet) is
    /// left alone.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, owned::OwnedPacket, ParseErrorKind, Status};
    /// let ping = bytes::Bytes::from_static(&[0x64, 0, 0]);
    /// assert_eq!(OwnedPacket::parse(ping, &Limits::new())?, Status::Partial { needed: 1 });
    ///
    /// let wire = bytes::Bytes::from_static(b"\x00\x05\x00\x00");
    /// let err = OwnedPacket::parse(wire, &Limits::new().max_datasize(4)).unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::DatasizeOverLimit { datasize: 5, limit: 4 });
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn parse(buf: Bytes, limits: &Limits) -> Result<Status<(Self, usize)>, ParseError> {
        let (layout, body_len, consumed) = match Packet::parse(&buf, limits)? {
            Status::Complete((packet, consumed)) => {
                let (layout, body_len) = Self::describe(&packet)?;
                (layout, body_len, consumed)
            }
            Status::Partial { needed } => return Ok(Status::Partial { needed }),
        };
        let packet = Self::from_parts(buf.slice(..consumed), layout, body_len);
        Ok(Status::Complete((packet, consumed)))
    }

    /// An owned packet from the exact wire bytes of a packet that was just parsed and
    /// the description [`describe`](Self::describe) gave of it.
    pub(crate) fn from_parts(wire: Bytes, layout: Layout, body_len: u64) -> Self {
        OwnedPacket {
            wire,
            layout,
            body_len,
        }
    }

    /// Copies a borrowed packet into a new buffer (one allocation). Fails only when the
    /// packet is a request whose `CONTENT_LENGTH` is invalid.
    ///
    /// ```
    /// use uwsgi_wire::{Modifier1, owned::OwnedPacket, Packet, Payload, VarsBuilder};
    /// let mut vars = VarsBuilder::default();
    /// vars.push("CONTENT_LENGTH", "3")?;
    /// let packet = Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))?;
    /// let owned = OwnedPacket::from_packet(&packet)?;
    /// assert_eq!(owned.body_len(), 3);
    /// assert_eq!(owned.payload(), packet.payload());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_packet(packet: &Packet<'_>) -> Result<Self, ParseError> {
        let (layout, body_len) = Self::describe(packet)?;
        let mut wire = alloc::vec::Vec::with_capacity(packet.encoded_len());
        wire.extend_from_slice(&packet.header().to_bytes());
        wire.extend_from_slice(packet.payload().as_bytes());
        Ok(OwnedPacket {
            wire: Bytes::from(wire),
            layout,
            body_len,
        })
    }

    /// The block layout with its count, and the body length (strict `CONTENT_LENGTH` for
    /// request types, else 0).
    pub(crate) fn describe(packet: &Packet<'_>) -> Result<(Layout, u64), ParseError> {
        Ok((Layout::of(&packet.payload()), request_body_len(packet)?))
    }

    /// The header (datasize is the block's length).
    ///
    /// ```
    /// use uwsgi_wire::{Header, Limits, Modifier1, owned::OwnedPacket, Status};
    /// let Status::Complete((p, _)) = OwnedPacket::parse(bytes::Bytes::from_static(&[0x6e, 0, 0, 17]), &Limits::new())? else { unreachable!() };
    /// assert_eq!(p.header(), Header::new(Modifier1::SIGNAL, 0, 17));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn header(&self) -> Header {
        let mut bytes = [0u8; HEADER_LEN];
        if let Some(head) = self.wire.get(..HEADER_LEN) {
            bytes.copy_from_slice(head);
        }
        Header::from_bytes(bytes)
    }

    /// The packet type.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Modifier1, owned::OwnedPacket, Status};
    /// let Status::Complete((p, _)) = OwnedPacket::parse(bytes::Bytes::from_static(&[0x64, 0, 0, 1]), &Limits::new())? else { unreachable!() };
    /// assert_eq!((p.modifier1(), p.modifier2()), (Modifier1::PING, 1));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn modifier1(&self) -> Modifier1 {
        self.header().modifier1
    }

    /// The sub-type.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, owned::OwnedPacket, Status};
    /// let Status::Complete((p, _)) = OwnedPacket::parse(bytes::Bytes::from_static(&[0x6e, 0, 0, 17]), &Limits::new())? else { unreachable!() };
    /// assert_eq!(p.modifier2(), 17);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn modifier2(&self) -> u8 {
        self.header().modifier2
    }

    /// The block's bytes.
    fn block(&self) -> &[u8] {
        self.wire.get(HEADER_LEN..).unwrap_or_default()
    }

    /// The borrowed [`Packet`] view (O(1)), for everything that takes one.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, message::Message, owned::OwnedPacket, message::Signal, Status};
    /// let Status::Complete((p, _)) = OwnedPacket::parse(bytes::Bytes::from_static(&[0x6e, 0, 0, 9]), &Limits::new())? else { unreachable!() };
    /// assert_eq!(Message::try_from(&p.packet())?, Message::Signal(Signal::new(9)));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn packet(&self) -> Packet<'_> {
        let header = self.header();
        Packet::from_parts(header.modifier1, header.modifier2, self.payload())
    }

    /// The block, interpreted (O(1): the counts were kept when it was validated).
    ///
    /// ```
    /// use uwsgi_wire::{Limits, owned::OwnedPacket, Payload, Status};
    /// let Status::Complete((p, _)) = OwnedPacket::parse(bytes::Bytes::from_static(b"\x65\x02\x00\x00hi"), &Limits::new())? else { unreachable!() };
    /// assert_eq!(p.payload(), Payload::Raw(b"hi"));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn payload(&self) -> Payload<'_> {
        self.layout.payload(self.block())
    }

    /// How the block was read.
    ///
    /// ```
    /// use uwsgi_wire::{BlockKind, Limits, owned::OwnedPacket, Status};
    /// let Status::Complete((p, _)) = OwnedPacket::parse(bytes::Bytes::from_static(&[0x64, 0, 0, 0]), &Limits::new())? else { unreachable!() };
    /// assert_eq!(p.block_kind(), BlockKind::Raw);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn block_kind(&self) -> BlockKind {
        match self.layout {
            Layout::Vars(_) => BlockKind::Vars,
            Layout::Array(_) => BlockKind::Array,
            Layout::Raw => BlockKind::Raw,
        }
    }

    /// The vars, when the block is a vars block (O(1)).
    ///
    /// ```
    /// use uwsgi_wire::{Limits, owned::OwnedPacket, Status};
    /// let wire = bytes::Bytes::from_static(b"\x00\x05\x00\x00\x01\x00k\x00\x00");
    /// let Status::Complete((p, _)) = OwnedPacket::parse(wire, &Limits::new())? else { unreachable!() };
    /// assert_eq!(p.vars().unwrap().get(b"k"), Some(&b""[..]));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn vars(&self) -> Option<Vars<'_>> {
        match self.layout {
            Layout::Vars(len) => Some(Vars::trusted(self.block(), len)),
            _ => None,
        }
    }

    /// The vars as an [`OwnedVars`] sharing this packet's buffer (O(1)).
    ///
    /// ```
    /// use uwsgi_wire::{Limits, owned::OwnedPacket, Status};
    /// let wire = bytes::Bytes::from_static(b"\x00\x05\x00\x00\x01\x00k\x00\x00");
    /// let Status::Complete((p, _)) = OwnedPacket::parse(wire, &Limits::new())? else { unreachable!() };
    /// assert_eq!(p.owned_vars().unwrap().len(), 1);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn owned_vars(&self) -> Option<OwnedVars> {
        match self.layout {
            Layout::Vars(len) => Some(OwnedVars {
                block: self.wire.slice(HEADER_LEN..),
                len,
            }),
            _ => None,
        }
    }

    /// The array, when the block is an array (O(1)).
    ///
    /// ```
    /// use uwsgi_wire::{Limits, owned::OwnedPacket, Status};
    /// let wire = bytes::Bytes::from_static(b"\xad\x03\x00\x00\x01\x00f");
    /// let Status::Complete((p, _)) = OwnedPacket::parse(wire, &Limits::new())? else { unreachable!() };
    /// assert_eq!(p.array().unwrap().get(0), Some(&b"f"[..]));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn array(&self) -> Option<Array<'_>> {
        match self.layout {
            Layout::Array(len) => Some(Array::trusted(self.block(), len)),
            _ => None,
        }
    }

    /// The number of body bytes that follow this packet on the wire: the strict
    /// `CONTENT_LENGTH` for request types ([`Modifier1::is_request`]), else 0.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, owned::OwnedPacket, Status};
    /// let Status::Complete((p, _)) = OwnedPacket::parse(bytes::Bytes::from_static(&[0x64, 0, 0, 0]), &Limits::new())? else { unreachable!() };
    /// assert_eq!(p.body_len(), 0);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn body_len(&self) -> u64 {
        self.body_len
    }

    /// The wire bytes: header and block (not the body).
    ///
    /// ```
    /// use uwsgi_wire::{Limits, owned::OwnedPacket, Status};
    /// let wire = bytes::Bytes::from_static(&[0x64, 0, 0, 0]);
    /// let Status::Complete((p, _)) = OwnedPacket::parse(wire.clone(), &Limits::new())? else { unreachable!() };
    /// assert_eq!(p.as_bytes(), &wire);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn as_bytes(&self) -> &Bytes {
        &self.wire
    }

    /// The wire bytes, consuming the packet.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, owned::OwnedPacket, Status};
    /// let Status::Complete((p, _)) = OwnedPacket::parse(bytes::Bytes::from_static(&[0x64, 0, 0, 0]), &Limits::new())? else { unreachable!() };
    /// assert_eq!(p.into_bytes().len(), 4);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn into_bytes(self) -> Bytes {
        self.wire
    }
}

impl fmt::Debug for OwnedPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPacket")
            .field("modifier1", &self.modifier1())
            .field("modifier2", &self.modifier2())
            .field("payload", &self.payload())
            .field("body_len", &self.body_len)
            .finish()
    }
}
