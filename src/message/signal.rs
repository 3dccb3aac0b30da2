//! Signal (modifier1 110): the signal number rides in modifier2.

use crate::message::request::{expect_kind, expect_no_payload};
use crate::wire::error::ParseError;
use crate::wire::header::Modifier1;
use crate::wire::packet::{Packet, Payload};

/// A uWSGI signal: `6e 00 00 NN`, as `uwsgi --signal ADDR,NN` sends it. The server answers
/// with a [`GenericResponse`](crate::message::GenericResponse): modifier2 1 when the signal was
/// queued.
///
/// ```
/// use uwsgi_wire::{Packet, message::Signal};
/// use uwsgi_wire::Limits;
/// let (packet, _) = Packet::parse(&[0x6e, 0x00, 0x00, 0x11], &Limits::new())?.complete().unwrap();
/// assert_eq!(Signal::try_from(&packet)?, Signal::new(17));
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signal {
    number: u8,
}

impl Signal {
    /// Signal `number` (0-255).
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::message::Signal::new(30).number(), 30);
    /// ```
    pub const fn new(number: u8) -> Self {
        Signal { number }
    }

    /// The signal number.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::message::Signal::new(17).number(), 17);
    /// ```
    pub const fn number(&self) -> u8 {
        self.number
    }
}

/// The signal in a packet: modifier1 110, no payload.
///
/// ```
/// use uwsgi_wire::{ParseErrorKind, Packet, message::Signal};
/// use uwsgi_wire::Limits;
/// let (packet, _) = Packet::parse(b"\x6e\x01\x00\x11x", &Limits::new())?.complete().unwrap();
/// let err = Signal::try_from(&packet).unwrap_err();
/// assert_eq!((err.kind(), err.offset()), (ParseErrorKind::UnexpectedPayload, 4));
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
impl TryFrom<&Packet<'_>> for Signal {
    type Error = ParseError;

    fn try_from(packet: &Packet<'_>) -> Result<Self, ParseError> {
        expect_kind(packet, Modifier1::SIGNAL, None)?;
        expect_no_payload(packet)?;
        Ok(Signal::new(packet.modifier2()))
    }
}

/// The packet to send.
///
/// ```
/// use uwsgi_wire::{message::Signal, Packet};
/// let mut buf = [0u8; 4];
/// Packet::from(&Signal::new(17)).encode(&mut buf)?;
/// assert_eq!(buf, [0x6e, 0x00, 0x00, 0x11]);
/// # Ok::<(), uwsgi_wire::EncodeError>(())
/// ```
impl From<&Signal> for Packet<'_> {
    fn from(signal: &Signal) -> Self {
        Packet::from_parts(Modifier1::SIGNAL, signal.number, Payload::Raw(&[]))
    }
}
