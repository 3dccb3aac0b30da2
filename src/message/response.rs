//! The response side: generic responses (modifier1 255) and telling a raw HTTP response
//! from a uwsgi-framed one.

use crate::message::request::unexpected;
use crate::wire::error::{EncodeError, ParseError};
use crate::wire::header::{Modifier1, HEADER_LEN};
use crate::wire::packet::{Packet, Payload};
use crate::wire::status::Status;

/// A generic response (modifier1 255), the answer to a signal or a spooler request:
/// modifier2 1 means done (`ff 00 00 01`), 0 means failed (`ff 00 00 00`).
///
/// ```
/// use uwsgi_wire::{Limits, message::GenericResponse, Packet};
/// let (packet, _) = Packet::parse(&[0xff, 0x00, 0x00, 0x01], &Limits::new())?.complete().unwrap();
/// let response = GenericResponse::from_packet(&packet)?;
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
    /// use uwsgi_wire::{Limits, message::GenericResponse, Packet};
    /// // uWSGI 2.0.21's answer to `uwsgi --signal ADDR,17`.
    /// let wire = include_bytes!("../../tests/vectors/uwsgi-signal-reply.bin");
    /// let (packet, _) = Packet::parse(wire, &Limits::new())?.complete().ok_or("short")?;
    /// assert_eq!(GenericResponse::from_packet(&packet)?, GenericResponse::OK);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const OK: GenericResponse<'static> = GenericResponse::new(1);
    /// `ff 00 00 00`: the request failed.
    ///
    /// ```
    /// use uwsgi_wire::message::GenericResponse;
    /// let mut buf = [0u8; 4];
    /// GenericResponse::FAILED.to_packet()?.encode(&mut buf)?;
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

    /// The response in a packet (modifier1 255); any payload is kept.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, message::GenericResponse, Packet};
    /// let (packet, _) = Packet::parse(&[0xff, 0x00, 0x00, 0x00], &Limits::new())?.complete().unwrap();
    /// assert!(!GenericResponse::from_packet(&packet)?.is_ok());
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn from_packet(packet: &Packet<'a>) -> Result<Self, ParseError> {
        if packet.modifier1() != Modifier1::RESPONSE {
            return Err(unexpected(packet));
        }
        Ok(GenericResponse {
            code: packet.modifier2(),
            payload: packet.payload().as_bytes(),
        })
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

    /// The packet to send; fails only for a payload over 65535 bytes.
    ///
    /// ```
    /// let p = uwsgi_wire::message::GenericResponse::OK.to_packet()?;
    /// assert_eq!(p.header().to_bytes(), [0xff, 0, 0, 1]);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn to_packet(&self) -> Result<Packet<'a>, EncodeError> {
        Packet::new(Modifier1::RESPONSE, self.code, Payload::Raw(self.payload))
    }
}

/// How a reply is framed, judged from its first bytes.
///
/// A request (modifier1 0 and the other HTTP-style types) is answered with raw HTTP, not a
/// uwsgi packet: its first four bytes `HTTP` would read as modifier1 72 with a datasize of
/// 0x5454. uWSGI in cgi-mode starts with a CGI `Status:` header instead. Everything else
/// (pong, RPC results, generic responses) is a uwsgi packet.
///
/// ```
/// use uwsgi_wire::{message::ResponseFormat, Status};
/// assert_eq!(ResponseFormat::detect(b"HTTP/1.1 200 OK\r\n"), Status::Complete(ResponseFormat::RawHttp));
/// assert_eq!(ResponseFormat::detect(b"Status: 404\r\n"), Status::Complete(ResponseFormat::CgiHeaders));
/// assert_eq!(ResponseFormat::detect(&[0x64, 0, 0, 1]), Status::Complete(ResponseFormat::Uwsgi));
/// assert_eq!(ResponseFormat::detect(b"HT"), Status::Partial { needed: 2 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseFormat {
    /// An HTTP/1.x status line follows (`HTTP/1.1 200 OK`).
    RawHttp,
    /// CGI headers with a `Status:` line (uWSGI's cgi-mode), as nginx accepts.
    CgiHeaders,
    /// A uwsgi header and block.
    Uwsgi,
}

impl ResponseFormat {
    /// Judges the framing from the first bytes of a reply; `Partial` until there are
    /// enough bytes to tell (4, or 7 for something starting `Stat`).
    ///
    /// ```
    /// use uwsgi_wire::{message::ResponseFormat, Status};
    /// assert_eq!(ResponseFormat::detect(b"Stat"), Status::Partial { needed: 3 });
    /// assert_eq!(ResponseFormat::detect(b"Stats!!"), Status::Complete(ResponseFormat::Uwsgi));
    /// ```
    pub fn detect(buf: &[u8]) -> Status<ResponseFormat> {
        const HTTP: &[u8] = b"HTTP";
        const STATUS: &[u8] = b"Status:";
        if buf.len() < HEADER_LEN {
            return Status::Partial {
                needed: HEADER_LEN - buf.len(),
            };
        }
        if buf.starts_with(HTTP) {
            return Status::Complete(ResponseFormat::RawHttp);
        }
        if buf.starts_with(&STATUS[..HEADER_LEN]) {
            if buf.len() < STATUS.len() {
                return Status::Partial {
                    needed: STATUS.len() - buf.len(),
                };
            }
            if buf.starts_with(STATUS) {
                return Status::Complete(ResponseFormat::CgiHeaders);
            }
        }
        Status::Complete(ResponseFormat::Uwsgi)
    }
}
