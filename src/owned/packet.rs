//! A validated packet that owns its bytes.

use core::fmt;

use bytes::Bytes;

use super::OwnedVars;
use crate::wire::array::Array;
use crate::wire::error::ParseError;
use crate::wire::header::{Modifier1, HEADER_LEN};
use crate::wire::limits::Limits;
use crate::wire::packet::{Packet, Payload};
use crate::wire::status::Status;
use crate::wire::vars::Vars;

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

    /// The payload again over `block`, a packet's block validated with this layout
    /// (O(1)); offsets count from the packet's first byte, as a parse's do.
    #[inline]
    pub(crate) fn payload(self, block: &[u8]) -> Payload<'_> {
        match self {
            Layout::Vars(len) => Payload::Vars(Vars::trusted(block, len, HEADER_LEN)),
            Layout::Array(len) => Payload::Array(Array::trusted(block, len)),
            Layout::Raw => Payload::Raw(block),
        }
    }
}

/// One validated packet (header and block) that owns its bytes: a borrowed
/// [`Packet`] with a [`Bytes`] behind it.
///
/// Built by the async codec straight from its read buffer (no copy), by
/// [`OwnedPacket::parse`] from a [`Bytes`], or with `From` from a borrowed [`Packet`]
/// (one copy). [`packet`](OwnedPacket::packet) gives the borrowed view back in O(1),
/// with every accessor of [`Packet`]; [`owned_vars`](OwnedPacket::owned_vars) the vars
/// as owned `Bytes` slices of the same buffer.
///
/// ```
/// use bytes::Bytes;
/// use uwsgi_wire::exchange::request_body_len;
/// use uwsgi_wire::{owned::OwnedPacket, Limits, Status};
///
/// let wire = Bytes::from_static(b"\x00\x13\x00\x00\x0e\x00CONTENT_LENGTH\x01\x005hello");
/// let Status::Complete((owned, consumed)) = OwnedPacket::parse(wire.clone(), &Limits::new())? else {
///     unreachable!()
/// };
/// assert_eq!(consumed, 23);
/// let packet = owned.packet();
/// assert_eq!(packet.vars().unwrap().get(b"CONTENT_LENGTH"), Some(&b"5"[..]));
/// assert_eq!(request_body_len(&packet)?, 5);
/// assert_eq!(&wire[consumed..], b"hello");
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct OwnedPacket {
    /// Header and block, exactly as on the wire.
    wire: Bytes,
    layout: Layout,
}

impl OwnedPacket {
    /// Parses one packet from the start of `buf`, exactly as [`Packet::parse`] does
    /// (the same bytes accepted, the same errors); the packet shares `buf`. Returns the
    /// number of bytes it took; what follows (a body, a next packet) is left alone.
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
        let (layout, consumed) = match Packet::parse(&buf, limits)? {
            Status::Complete((packet, consumed)) => (Layout::of(&packet.payload()), consumed),
            Status::Partial { needed } => return Ok(Status::Partial { needed }),
        };
        let packet = Self::from_parts(buf.slice(..consumed), layout);
        Ok(Status::Complete((packet, consumed)))
    }

    /// A packet over `wire`, exactly the bytes of a packet validated with `layout`.
    pub(crate) fn from_parts(wire: Bytes, layout: Layout) -> Self {
        OwnedPacket { wire, layout }
    }

    /// The borrowed view, O(1): header fields, payload, vars or array, all without
    /// validating again.
    ///
    /// ```
    /// use uwsgi_wire::{message::Message, message::Signal, owned::OwnedPacket, Limits, Status};
    /// let Status::Complete((p, _)) = OwnedPacket::parse(bytes::Bytes::from_static(&[0x6e, 0, 0, 9]), &Limits::new())? else { unreachable!() };
    /// assert_eq!(Message::try_from(&p.packet())?, Message::Signal(Signal::new(9)));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    #[inline]
    pub fn packet(&self) -> Packet<'_> {
        // The modifiers are the header's first and last bytes; its datasize is the
        // block's length (`wire` holds exactly one validated packet).
        let (modifier1, modifier2) = match self.wire.get(..HEADER_LEN) {
            Some(&[modifier1, _, _, modifier2]) => (modifier1, modifier2),
            _ => (0, 0),
        };
        let block = self.wire.get(HEADER_LEN..).unwrap_or_default();
        Packet::from_parts(Modifier1(modifier1), modifier2, self.layout.payload(block))
    }

    /// The vars as an [`OwnedVars`] sharing this packet's buffer, when the block is a vars
    /// block (O(1), no copy).
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedPacket, Limits, Status};
    /// let wire = bytes::Bytes::from(std::fs::read("tests/vectors/nginx-get.bin")?); // nginx 1.22
    /// let Status::Complete((p, _)) = OwnedPacket::parse(wire.clone(), &Limits::new())? else { unreachable!() };
    /// let uri = p.owned_vars().unwrap().get(b"REQUEST_URI").unwrap();
    /// assert_eq!(uri, "/path/x?a=1&b=2");
    /// assert!(wire.as_ptr_range().contains(&uri.as_ptr())); // a slice of the same buffer
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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

    /// The packet's bytes, header and block, exactly as on the wire.
    pub fn as_bytes(&self) -> &Bytes {
        &self.wire
    }

    /// The packet's bytes, header and block, without a reference count of its own.
    pub fn into_bytes(self) -> Bytes {
        self.wire
    }
}

/// Copies a borrowed packet into a buffer of its own (one allocation).
///
/// ```
/// use uwsgi_wire::{owned::OwnedPacket, Modifier1, Packet, Payload, VarsBuilder};
/// let mut vars = VarsBuilder::default();
/// vars.push("CONTENT_LENGTH", "3")?;
/// let packet = Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))?;
/// let owned = OwnedPacket::from(&packet);
/// assert_eq!(owned.packet(), packet);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl From<&Packet<'_>> for OwnedPacket {
    fn from(packet: &Packet<'_>) -> Self {
        let mut wire = alloc::vec::Vec::with_capacity(packet.encoded_len());
        wire.extend_from_slice(&packet.header().to_bytes());
        wire.extend_from_slice(packet.payload().as_bytes());
        OwnedPacket::from_parts(Bytes::from(wire), Layout::of(&packet.payload()))
    }
}

impl fmt::Debug for OwnedPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.packet(), f)
    }
}
