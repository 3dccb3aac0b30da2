//! Ping (modifier1 100, modifier2 0) and pong (modifier2 1).

use crate::message::request::{unexpected, unexpected_modifier2};
use crate::wire::error::{EncodeError, ParseError, ParseErrorKind};
use crate::wire::header::{Modifier1, HEADER_LEN};
use crate::wire::packet::{Packet, Payload};

/// A ping: `64 00 00 00`, as `uwsgi --ping ADDR` sends it. It carries nothing.
///
/// ```
/// use uwsgi_wire::{Limits, Packet, message::Ping};
/// let (packet, _) = Packet::parse(&[0x64, 0x00, 0x00, 0x00], &Limits::new())?.complete().unwrap();
/// assert_eq!(Ping::from_packet(&packet)?, Ping);
/// assert_eq!(Ping.to_packet().header().to_bytes(), [0x64, 0, 0, 0]);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ping;

impl Ping {
    /// The ping in a packet: modifier1 100, modifier2 0, no payload.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, ParseErrorKind, Packet, message::Ping};
    /// let (pong, _) = Packet::parse(&[0x64, 0x00, 0x00, 0x01], &Limits::new())?.complete().unwrap();
    /// let err = Ping::from_packet(&pong).unwrap_err();
    /// assert!(matches!(err.kind(), ParseErrorKind::UnexpectedPacket { modifier1: 100, modifier2: 1 }));
    /// assert_eq!(err.offset(), 3); // modifier2 is what is wrong
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn from_packet(packet: &Packet<'_>) -> Result<Self, ParseError> {
        if packet.modifier1() != Modifier1::PING {
            return Err(unexpected(packet));
        }
        if packet.modifier2() != 0 {
            return Err(unexpected_modifier2(packet));
        }
        if !packet.payload().as_bytes().is_empty() {
            return Err(ParseError::new(
                ParseErrorKind::UnexpectedPayload,
                HEADER_LEN,
            ));
        }
        Ok(Ping)
    }

    /// The packet to send.
    ///
    /// ```
    /// let mut buf = [0u8; 4];
    /// uwsgi_wire::message::Ping.to_packet().encode(&mut buf)?;
    /// assert_eq!(buf, [0x64, 0, 0, 0]);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub const fn to_packet(self) -> Packet<'static> {
        Packet::from_parts(Modifier1::PING, 0, Payload::Raw(&[]))
    }
}

/// A pong, the answer to a ping: modifier2 1; a non-empty payload is a warning message
/// from the server.
///
/// ```
/// use uwsgi_wire::{Limits, Packet, message::Pong};
/// let (packet, _) = Packet::parse(&[0x64, 0x00, 0x00, 0x01], &Limits::new())?.complete().unwrap();
/// assert_eq!(Pong::from_packet(&packet)?.warning(), None);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pong<'a> {
    warning: &'a [u8],
}

impl<'a> Pong<'a> {
    /// A clean pong.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::message::Pong::new().to_packet()?.header().to_bytes(), [0x64, 0, 0, 1]);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub const fn new() -> Self {
        Pong { warning: &[] }
    }

    /// A pong carrying a warning message.
    ///
    /// ```
    /// let pong = uwsgi_wire::message::Pong::with_warning(b"disk almost full");
    /// assert_eq!(pong.warning(), Some(&b"disk almost full"[..]));
    /// ```
    pub const fn with_warning(warning: &'a [u8]) -> Self {
        Pong { warning }
    }

    /// The pong in a packet: modifier1 100, modifier2 1.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Packet, message::Pong};
    /// let (packet, _) = Packet::parse(b"\x64\x02\x00\x01hi", &Limits::new())?.complete().unwrap();
    /// assert_eq!(Pong::from_packet(&packet)?.warning(), Some(&b"hi"[..]));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn from_packet(packet: &Packet<'a>) -> Result<Self, ParseError> {
        if packet.modifier1() != Modifier1::PING {
            return Err(unexpected(packet));
        }
        if packet.modifier2() != 1 {
            return Err(unexpected_modifier2(packet));
        }
        Ok(Pong {
            warning: packet.payload().as_bytes(),
        })
    }

    /// The warning message, if the server sent one.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::message::Pong::new().warning(), None);
    /// ```
    pub const fn warning(&self) -> Option<&'a [u8]> {
        if self.warning.is_empty() {
            None
        } else {
            Some(self.warning)
        }
    }

    /// The packet to send; fails only for a warning over 65535 bytes.
    ///
    /// ```
    /// let pong = uwsgi_wire::message::Pong::with_warning(b"hi").to_packet()?;
    /// assert_eq!(pong.encoded_len(), 6);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn to_packet(&self) -> Result<Packet<'a>, EncodeError> {
        Packet::new(Modifier1::PING, 1, Payload::Raw(self.warning))
    }
}
