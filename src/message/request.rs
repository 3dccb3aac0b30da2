//! HTTP-style requests: modifier1 0 (WSGI) and the other language modifiers.

use crate::wire::error::{EncodeError, ParseError, ParseErrorKind};
use crate::wire::header::{Modifier1, HEADER_LEN};
use crate::wire::packet::{Packet, Payload};
use crate::wire::vars::Vars;

/// A request (modifier1 0, 5, 6, 7, 8, 9, 14, 15 or 30): vars, then `content_length`
/// body bytes on the stream after the packet.
///
/// The body length is checked strictly when the request is built
/// ([`Vars::content_length`]), so a request in hand always has a trustworthy one. The
/// CGI vars (`REQUEST_METHOD`, `REQUEST_URI`, `PATH_INFO`, `QUERY_STRING`,
/// `SERVER_PROTOCOL`, ...) are read with [`vars`](Request::vars)`().get(..)`: raw bytes,
/// exactly as the front end sent them, `None` when it did not.
///
/// ```
/// use uwsgi_wire::{Packet, message::Request};
/// use uwsgi_wire::Limits;
///
/// // A POST captured from nginx 1.22 (tests/vectors/nginx-post.bin).
/// let wire = include_bytes!("../../tests/vectors/nginx-post.bin");
/// let (packet, consumed) = Packet::parse(wire, &Limits::new())?.complete().unwrap();
/// let req = Request::try_from(&packet)?;
/// assert_eq!(req.vars().get(b"REQUEST_METHOD"), Some(&b"POST"[..]));
/// assert_eq!(req.vars().get(b"PATH_INFO"), Some(&b"/post"[..]));
/// assert_eq!(req.content_length(), 11);
/// assert_eq!(&wire[consumed..], b"hello=world");
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    modifier1: Modifier1,
    modifier2: u8,
    vars: Vars<'a>,
    content_length: u64,
}

impl<'a> Request<'a> {
    /// A request from vars; fails when `modifier1` is not a request type or the
    /// `CONTENT_LENGTH` is invalid or conflicting.
    ///
    /// ```
    /// use uwsgi_wire::{Modifier1, message::Request, VarsBuilder};
    /// let mut vars = VarsBuilder::default();
    /// vars.push("REQUEST_METHOD", "GET")?.push("PATH_INFO", "/")?;
    /// let req = Request::new(Modifier1::WSGI, 0, vars.vars())?;
    /// assert_eq!(req.content_length(), 0);
    /// assert!(Request::new(Modifier1::PING, 0, vars.vars()).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(modifier1: Modifier1, modifier2: u8, vars: Vars<'a>) -> Result<Self, ParseError> {
        if !modifier1.is_request() {
            return Err(ParseError::new(
                ParseErrorKind::UnexpectedPacket {
                    modifier1: modifier1.0,
                    modifier2,
                },
                0,
            ));
        }
        let content_length = vars.content_length()?.unwrap_or(0);
        Ok(Request {
            modifier1,
            modifier2,
            vars,
            content_length,
        })
    }

    /// The request type (0 WSGI, 5 PSGI, ...).
    ///
    /// ```
    /// use uwsgi_wire::{Modifier1, message::Request, Vars};
    /// assert_eq!(Request::new(Modifier1::RACK, 0, Vars::default())?.modifier1(), Modifier1::RACK);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn modifier1(&self) -> Modifier1 {
        self.modifier1
    }

    /// modifier2 (0, except JVM's 1 for Ring; nginx's `uwsgi_modifier2` sets any value).
    ///
    /// ```
    /// use uwsgi_wire::{Modifier1, message::Request, Vars};
    /// assert_eq!(Request::new(Modifier1::JVM, 1, Vars::default())?.modifier2(), 1);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn modifier2(&self) -> u8 {
        self.modifier2
    }

    /// All the vars, in wire order.
    ///
    /// ```
    /// use uwsgi_wire::{Modifier1, message::Request, Vars};
    /// assert!(Request::new(Modifier1::WSGI, 0, Vars::default())?.vars().is_empty());
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn vars(&self) -> Vars<'a> {
        self.vars
    }

    /// The number of body bytes that follow the packet (0 when `CONTENT_LENGTH` is absent
    /// or empty).
    ///
    /// ```
    /// use uwsgi_wire::{Modifier1, message::Request, VarsBuilder};
    /// let mut vars = VarsBuilder::default();
    /// vars.push("CONTENT_LENGTH", "42")?;
    /// assert_eq!(Request::new(Modifier1::WSGI, 0, vars.vars())?.content_length(), 42);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn content_length(&self) -> u64 {
        self.content_length
    }

    /// The URL scheme as uWSGI's WSGI layer derives it (`wsgi.url_scheme`): a non-empty
    /// `UWSGI_SCHEME` as it is; else, when `HTTPS` is not empty, `https` if it starts
    /// with `on` (any case) or `1` (as Apache and nginx set it) and `http` otherwise;
    /// else a non-empty `REQUEST_SCHEME` (nginx's `$scheme`, which uWSGI itself
    /// ignores); else `http`.
    ///
    /// ```
    /// # use uwsgi_wire::{Modifier1, message::Request, VarsBuilder, Vars};
    /// let mut v = VarsBuilder::default();
    /// v.push("HTTPS", "on")?;
    /// assert_eq!(Request::new(Modifier1::WSGI, 0, v.vars())?.scheme(), b"https");
    /// assert_eq!(Request::new(Modifier1::WSGI, 0, Vars::default())?.scheme(), b"http");
    ///
    /// // A non-empty HTTPS decides, as in uWSGI: REQUEST_SCHEME is not looked at.
    /// let mut v = VarsBuilder::default();
    /// v.push("HTTPS", "off")?.push("REQUEST_SCHEME", "https")?;
    /// assert_eq!(Request::new(Modifier1::WSGI, 0, v.vars())?.scheme(), b"http");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scheme(&self) -> &'a [u8] {
        url_scheme(&self.vars).0
    }
}

/// The request in a parsed packet: a request type (modifier1 0, 5, ...) with its vars.
///
/// ```
/// use uwsgi_wire::{ParseErrorKind, Packet, message::Request};
/// use uwsgi_wire::Limits;
/// let (ping, _) = Packet::parse(&[0x64, 0, 0, 0], &Limits::new())?.complete().unwrap();
/// let err = Request::try_from(&ping).unwrap_err();
/// assert_eq!(err.kind(), ParseErrorKind::UnexpectedPacket { modifier1: 100, modifier2: 0 });
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
impl<'a> TryFrom<&Packet<'a>> for Request<'a> {
    type Error = ParseError;

    fn try_from(packet: &Packet<'a>) -> Result<Self, ParseError> {
        Request::new(packet.modifier1(), packet.modifier2(), vars_of(packet)?)
    }
}

/// The packet to send (the body is written after it, separately); fails only for vars
/// over 65535 bytes.
///
/// ```
/// use uwsgi_wire::{Modifier1, message::Request, Packet, Vars};
/// let req = Request::new(Modifier1::PSGI, 0, Vars::default())?;
/// assert_eq!(Packet::try_from(&req)?.header().to_bytes(), [5, 0, 0, 0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<'a> TryFrom<&Request<'a>> for Packet<'a> {
    type Error = EncodeError;

    fn try_from(request: &Request<'a>) -> Result<Self, EncodeError> {
        Packet::new(
            request.modifier1,
            request.modifier2,
            Payload::Vars(request.vars),
        )
    }
}

/// The URL scheme of a request's vars as uWSGI's language plugins derive it
/// (`wsgi.url_scheme`, `psgi.url_scheme`, `rack.url_scheme` in uWSGI 2.0), plus nginx's
/// `REQUEST_SCHEME` as a last resort: see [`Request::scheme`]. Also returns the var
/// (key and value) it was derived from, for a caller that validates it.
pub(crate) fn url_scheme<'a>(vars: &Vars<'a>) -> (&'a [u8], Option<(&'static str, &'a [u8])>) {
    url_scheme_by(|key| vars.get(key.as_bytes()))
}

/// [`url_scheme`] over any lookup of the last value of a var (`UWSGI_SCHEME`, `HTTPS`,
/// `REQUEST_SCHEME`), for a caller that already found them.
pub(crate) fn url_scheme_by<'a>(
    get: impl Fn(&'static str) -> Option<&'a [u8]>,
) -> (&'a [u8], Option<(&'static str, &'a [u8])>) {
    let set = |key: &'static str| {
        get(key)
            .filter(|value| !value.is_empty())
            .map(|value| (key, value))
    };
    if let Some(from) = set("UWSGI_SCHEME") {
        return (from.1, Some(from));
    }
    if let Some(from @ (_, https)) = set("HTTPS") {
        let on = https
            .get(..2)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"on"))
            || https.first() == Some(&b'1');
        return (if on { b"https" } else { b"http" }, Some(from));
    }
    if let Some(from) = set("REQUEST_SCHEME") {
        return (from.1, Some(from));
    }
    (b"http", None)
}

/// Checks that a packet is of the message type asked for: its modifier1, then its
/// modifier2 when the type fixes one.
pub(crate) fn expect_kind(
    packet: &Packet<'_>,
    modifier1: Modifier1,
    modifier2: Option<u8>,
) -> Result<(), ParseError> {
    if packet.modifier1() != modifier1 {
        return Err(unexpected(packet));
    }
    match modifier2 {
        Some(m2) if packet.modifier2() != m2 => Err(unexpected_modifier2(packet)),
        _ => Ok(()),
    }
}

/// The vars of a packet whose message type has a vars block; a packet read another way
/// (with [`BlockKind::Raw`](crate::BlockKind::Raw)) is not that type.
pub(crate) fn vars_of<'a>(packet: &Packet<'a>) -> Result<Vars<'a>, ParseError> {
    packet.vars().ok_or_else(|| unexpected(packet))
}

/// Checks that a packet carries nothing (a ping, a signal): the error is at the first
/// block byte.
pub(crate) fn expect_no_payload(packet: &Packet<'_>) -> Result<(), ParseError> {
    if packet.payload().as_bytes().is_empty() {
        Ok(())
    } else {
        Err(ParseError::new(
            ParseErrorKind::UnexpectedPayload,
            HEADER_LEN,
        ))
    }
}

/// The error for a packet that is not the message type asked for: its modifier1 (or its
/// block's layout) is wrong, so at offset 0.
pub(crate) fn unexpected(packet: &Packet<'_>) -> ParseError {
    unexpected_at(packet, 0)
}

/// The error for a packet of the right modifier1 whose modifier2 is not one the message
/// type allows: at offset 3, where modifier2 is.
pub(crate) fn unexpected_modifier2(packet: &Packet<'_>) -> ParseError {
    unexpected_at(packet, 3)
}

fn unexpected_at(packet: &Packet<'_>, offset: usize) -> ParseError {
    ParseError::new(
        ParseErrorKind::UnexpectedPacket {
            modifier1: packet.modifier1().0,
            modifier2: packet.modifier2(),
        },
        offset,
    )
}
