//! Echo (modifier1 101): the server writes the payload back, raw, with no header.

use crate::message::request::expect_kind;
use crate::wire::error::{EncodeError, ParseError};
use crate::wire::header::Modifier1;
use crate::wire::packet::{Packet, Payload};

/// An echo request. The reply is the payload itself, raw: no uwsgi header, so read
/// exactly `payload().len()` bytes back.
///
/// ```
/// use uwsgi_wire::{message::Echo, Packet};
/// use uwsgi_wire::Limits;
/// let (packet, _) = Packet::parse(b"\x65\x05\x00\x00hello", &Limits::new())?.complete().unwrap();
/// let echo = Echo::try_from(&packet)?;
/// assert_eq!(echo.payload(), b"hello");
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Echo<'a> {
    payload: &'a [u8],
}

impl<'a> Echo<'a> {
    /// An echo of `payload` (at most 65535 bytes).
    ///
    /// ```
    /// use uwsgi_wire::{message::Echo, Packet};
    /// let packet = Packet::from(&Echo::new(b"ping me back")?);
    /// assert_eq!(packet.header().datasize, 12);
    /// assert!(Echo::new(&vec![0u8; 65536]).is_err());
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn new(payload: &'a [u8]) -> Result<Self, EncodeError> {
        Packet::new(Modifier1::ECHO, 0, Payload::Raw(payload))?;
        Ok(Echo { payload })
    }

    /// The bytes to echo, which are also the exact reply.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::message::Echo::new(b"x")?.payload(), b"x");
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub const fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// The echo request in a packet (modifier1 101, modifier2 0).
///
/// ```
/// use uwsgi_wire::{message::Echo, Packet};
/// use uwsgi_wire::Limits;
/// let (packet, _) = Packet::parse(b"\x65\x00\x00\x00", &Limits::new())?.complete().unwrap();
/// assert_eq!(Echo::try_from(&packet)?.payload(), b"");
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
impl<'a> TryFrom<&Packet<'a>> for Echo<'a> {
    type Error = ParseError;

    fn try_from(packet: &Packet<'a>) -> Result<Self, ParseError> {
        expect_kind(packet, Modifier1::ECHO, Some(0))?;
        Ok(Echo {
            payload: packet.payload().as_bytes(),
        })
    }
}

/// The packet to send (it always fits: [`Echo::new`] checked the payload's length).
///
/// ```
/// use uwsgi_wire::{message::Echo, Packet};
/// let mut buf = [0u8; 6];
/// Packet::from(&Echo::new(b"hi")?).encode(&mut buf)?;
/// assert_eq!(&buf, b"\x65\x02\x00\x00hi");
/// # Ok::<(), uwsgi_wire::EncodeError>(())
/// ```
impl<'a> From<&Echo<'a>> for Packet<'a> {
    fn from(echo: &Echo<'a>) -> Self {
        Packet::from_parts(Modifier1::ECHO, 0, Payload::Raw(echo.payload))
    }
}
