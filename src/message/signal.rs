//! Signal (modifier1 110): the signal number rides in modifier2.

use crate::message::request::unexpected;
use crate::wire::error::{ParseError, ParseErrorKind};
use crate::wire::header::{Modifier1, HEADER_LEN};
use crate::wire::packet::{Packet, Payload};

/// A uWSGI signal: `6e 00 00 NN`, as `uwsgi --signal ADDR,NN` sends it. The server answers
/// with a [`GenericResponse`](crate::message::GenericResponse): modifier2 1 when the signal was
/// queued.
///
/// ```
/// use uwsgi_wire::{Limits, Packet, message::Signal};
/// let (packet, _) = Packet::parse(&[0x6e, 0x00, 0x00, 0x11], &Limits::new())?.complete().unwrap();
/// assert_eq!(Signal::from_packet(&packet)?, Signal::new(17));
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

    /// The signal in a packet: modifier1 110, no payload.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, ParseErrorKind, Packet, message::Signal};
    /// let (packet, _) = Packet::parse(b"\x6e\x01\x00\x11x", &Limits::new())?.complete().unwrap();
    /// let err = Signal::from_packet(&packet).unwrap_err();
    /// assert_eq!((err.kind(), err.offset()), (ParseErrorKind::UnexpectedPayload, 4));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn from_packet(packet: &Packet<'_>) -> Result<Self, ParseError> {
        if packet.modifier1() != Modifier1::SIGNAL {
            return Err(unexpected(packet));
        }
        if !packet.payload().as_bytes().is_empty() {
            return Err(ParseError::new(
                ParseErrorKind::UnexpectedPayload,
                HEADER_LEN,
            ));
        }
        Ok(Signal {
            number: packet.modifier2(),
        })
    }

    /// The signal number.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::message::Signal::new(17).number(), 17);
    /// ```
    pub const fn number(&self) -> u8 {
        self.number
    }

    /// The packet to send.
    ///
    /// ```
    /// let mut buf = [0u8; 4];
    /// uwsgi_wire::message::Signal::new(17).to_packet().encode(&mut buf)?;
    /// assert_eq!(buf, [0x6e, 0x00, 0x00, 0x11]);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub const fn to_packet(&self) -> Packet<'static> {
        Packet::from_parts(Modifier1::SIGNAL, self.number, Payload::Raw(&[]))
    }
}
