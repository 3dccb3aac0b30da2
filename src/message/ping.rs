//! Ping (modifier1 100, modifier2 0) and pong (modifier2 1).

use crate::message::request::{expect_kind, expect_no_payload};
use crate::wire::error::{EncodeError, ParseError};
use crate::wire::header::Modifier1;
use crate::wire::packet::{Packet, Payload};

/// A ping: `64 00 00 00`, as `uwsgi --ping ADDR` sends it. It carries nothing.
///
/// ```
/// use uwsgi_wire::{Packet, message::Ping};
/// use uwsgi_wire::Limits;
/// let (packet, _) = Packet::parse(&[0x64, 0x00, 0x00, 0x00], &Limits::new())?.complete().unwrap();
/// assert_eq!(Ping::try_from(&packet)?, Ping);
/// assert_eq!(Packet::from(&Ping).header().to_bytes(), [0x64, 0, 0, 0]);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ping;

/// The ping in a packet: modifier1 100, modifier2 0, no payload.
///
/// ```
/// use uwsgi_wire::{ParseErrorKind, Packet, message::Ping};
/// use uwsgi_wire::Limits;
/// let (pong, _) = Packet::parse(&[0x64, 0x00, 0x00, 0x01], &Limits::new())?.complete().unwrap();
/// let err = Ping::try_from(&pong).unwrap_err();
/// assert!(matches!(err.kind(), ParseErrorKind::UnexpectedPacket { modifier1: 100, modifier2: 1 }));
/// assert_eq!(err.offset(), 3); // modifier2 is what is wrong
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
impl TryFrom<&Packet<'_>> for Ping {
    type Error = ParseError;

    fn try_from(packet: &Packet<'_>) -> Result<Self, ParseError> {
        expect_kind(packet, Modifier1::PING, Some(0))?;
        expect_no_payload(packet)?;
        Ok(Ping)
    }
}

/// The packet to send.
///
/// ```
/// use uwsgi_wire::{message::Ping, Packet};
/// let mut buf = [0u8; 4];
/// Packet::from(&Ping).encode(&mut buf)?;
/// assert_eq!(buf, [0x64, 0, 0, 0]);
/// # Ok::<(), uwsgi_wire::EncodeError>(())
/// ```
impl From<&Ping> for Packet<'_> {
    fn from(_: &Ping) -> Self {
        Packet::from_parts(Modifier1::PING, 0, Payload::Raw(&[]))
    }
}

/// A pong, the answer to a ping: modifier2 1; a non-empty payload is a warning message
/// from the server. `Pong::default()` is a clean pong.
///
/// ```
/// use uwsgi_wire::{Packet, message::Pong};
/// use uwsgi_wire::Limits;
/// let (packet, _) = Packet::parse(&[0x64, 0x00, 0x00, 0x01], &Limits::new())?.complete().unwrap();
/// let pong = Pong::try_from(&packet)?;
/// assert_eq!(pong.warning(), None);
/// assert_eq!(pong, Pong::default());
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pong<'a> {
    warning: &'a [u8],
}

impl<'a> Pong<'a> {
    /// A pong carrying a warning message (an empty one is a clean pong).
    ///
    /// ```
    /// let pong = uwsgi_wire::message::Pong::with_warning(b"disk almost full");
    /// assert_eq!(pong.warning(), Some(&b"disk almost full"[..]));
    /// ```
    pub const fn with_warning(warning: &'a [u8]) -> Self {
        Pong { warning }
    }

    /// The warning message, if the server sent one.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::message::Pong::default().warning(), None);
    /// ```
    pub const fn warning(&self) -> Option<&'a [u8]> {
        if self.warning.is_empty() {
            None
        } else {
            Some(self.warning)
        }
    }
}

/// The pong in a packet: modifier1 100, modifier2 1.
///
/// ```
/// use uwsgi_wire::{Packet, message::Pong};
/// use uwsgi_wire::Limits;
/// let (packet, _) = Packet::parse(b"\x64\x02\x00\x01hi", &Limits::new())?.complete().unwrap();
/// assert_eq!(Pong::try_from(&packet)?.warning(), Some(&b"hi"[..]));
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
impl<'a> TryFrom<&Packet<'a>> for Pong<'a> {
    type Error = ParseError;

    fn try_from(packet: &Packet<'a>) -> Result<Self, ParseError> {
        expect_kind(packet, Modifier1::PING, Some(1))?;
        Ok(Pong::with_warning(packet.payload().as_bytes()))
    }
}

/// The packet to send; fails only for a warning over 65535 bytes.
///
/// ```
/// use uwsgi_wire::{message::Pong, Packet};
/// assert_eq!(Packet::try_from(&Pong::default())?.header().to_bytes(), [0x64, 0, 0, 1]);
/// assert_eq!(Packet::try_from(&Pong::with_warning(b"hi"))?.encoded_len(), 6);
/// # Ok::<(), uwsgi_wire::EncodeError>(())
/// ```
impl<'a> TryFrom<&Pong<'a>> for Packet<'a> {
    type Error = EncodeError;

    fn try_from(pong: &Pong<'a>) -> Result<Self, EncodeError> {
        Packet::new(Modifier1::PING, 1, Payload::Raw(pong.warning))
    }
}
