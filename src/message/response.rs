//! Generic responses (modifier1 255), the answer to a signal or a spooler request.

use crate::message::request::expect_kind;
use crate::wire::error::{EncodeError, ParseError};
use crate::wire::header::Modifier1;
use crate::wire::packet::{Packet, Payload};

/// A generic response (modifier1 255), the answer to a signal or a spooler request:
/// modifier2 1 means done (`ff 00 00 01`), 0 means failed (`ff 00 00 00`).
///
/// ```
/// use uwsgi_wire::{message::GenericResponse, Packet};
/// use uwsgi_wire::Limits;
/// let (packet, _) = Packet::parse(&[0xff, 0x00, 0x00, 0x01], &Limits::new())?.complete().unwrap();
/// let response = GenericResponse::try_from(&packet)?;
/// assert!(response.is_ok());
/// assert_eq!(response, GenericResponse::OK);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GenericResponse<'a> {
    code: u8,
    payload: &'a [u8],
}

impl<'a> GenericResponse<'a> {
    /// `ff 00 00 01`: the request was accepted (signal queued, spool file written).
    ///
    /// ```
    /// use uwsgi_wire::{message::GenericResponse, Packet};
    /// use uwsgi_wire::Limits;
    /// // uWSGI 2.0.21's answer to `uwsgi --signal ADDR,17`.
    /// let wire = include_bytes!("../../tests/vectors/uwsgi-signal-reply.bin");
    /// let (packet, _) = Packet::parse(wire, &Limits::new())?.complete().ok_or("short")?;
    /// assert_eq!(GenericResponse::try_from(&packet)?, GenericResponse::OK);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const OK: GenericResponse<'static> = GenericResponse::new(1);
    /// `ff 00 00 00`: the request failed.
    ///
    /// ```
    /// use uwsgi_wire::{message::GenericResponse, Packet};
    /// let mut buf = [0u8; 4];
    /// Packet::try_from(&GenericResponse::FAILED)?.encode(&mut buf)?;
    /// assert_eq!(buf, [0xff, 0x00, 0x00, 0x00]);
    /// assert!(!GenericResponse::FAILED.is_ok());
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub const FAILED: GenericResponse<'static> = GenericResponse::new(0);

    /// A response with modifier2 `code` and no payload.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::message::GenericResponse::new(1), uwsgi_wire::message::GenericResponse::OK);
    /// ```
    pub const fn new(code: u8) -> GenericResponse<'static> {
        GenericResponse { code, payload: &[] }
    }

    /// modifier2: 1 ok, 0 failed; other values are request dependent.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::message::GenericResponse::FAILED.code(), 0);
    /// ```
    pub const fn code(&self) -> u8 {
        self.code
    }

    /// True when modifier2 is 1.
    ///
    /// ```
    /// assert!(uwsgi_wire::message::GenericResponse::OK.is_ok());
    /// ```
    pub const fn is_ok(&self) -> bool {
        self.code == 1
    }

    /// The payload (empty in every response uWSGI sends).
    ///
    /// ```
    /// assert!(uwsgi_wire::message::GenericResponse::OK.payload().is_empty());
    /// ```
    pub const fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// The response in a packet (modifier1 255); any payload is kept.
///
/// ```
/// use uwsgi_wire::{message::GenericResponse, Packet};
/// use uwsgi_wire::Limits;
/// let (packet, _) = Packet::parse(&[0xff, 0x00, 0x00, 0x00], &Limits::new())?.complete().unwrap();
/// assert!(!GenericResponse::try_from(&packet)?.is_ok());
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
impl<'a> TryFrom<&Packet<'a>> for GenericResponse<'a> {
    type Error = ParseError;

    fn try_from(packet: &Packet<'a>) -> Result<Self, ParseError> {
        expect_kind(packet, Modifier1::RESPONSE, None)?;
        Ok(GenericResponse {
            code: packet.modifier2(),
            payload: packet.payload().as_bytes(),
        })
    }
}

/// The packet to send; fails only for a payload over 65535 bytes.
///
/// ```
/// use uwsgi_wire::{message::GenericResponse, Packet};
/// let p = Packet::try_from(&GenericResponse::OK)?;
/// assert_eq!(p.header().to_bytes(), [0xff, 0, 0, 1]);
/// # Ok::<(), uwsgi_wire::EncodeError>(())
/// ```
impl<'a> TryFrom<&GenericResponse<'a>> for Packet<'a> {
    type Error = EncodeError;

    fn try_from(response: &GenericResponse<'a>) -> Result<Self, EncodeError> {
        Packet::new(
            Modifier1::RESPONSE,
            response.code,
            Payload::Raw(response.payload),
        )
    }
}
