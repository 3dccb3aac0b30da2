//! HTTP-style requests: modifier1 0 (WSGI) and the other language modifiers.

use crate::wire::error::{EncodeError, ParseError, ParseErrorKind};
use crate::wire::header::Modifier1;
use crate::wire::packet::{Packet, Payload};
use crate::wire::vars::Vars;

/// A request (modifier1 0, 5, 6, 7, 8, 9, 14, 15 or 30): vars, then `content_length`
/// body bytes on the stream after the packet.
///
/// The body length is checked strictly when the request is built
/// ([`Vars::content_length`]), so a request in hand always has a trustworthy one.
/// The CGI accessors return raw bytes, exactly as the front end sent them.
///
/// ```
/// use uwsgi_wire::{Limits, Packet, message::Request};
///
/// // A POST captured from nginx 1.22 (tests/vectors/nginx-post.bin).
/// let wire = include_bytes!("../../tests/vectors/nginx-post.bin");
/// let (packet, consumed) = Packet::parse(wire, &Limits::new())?.complete().unwrap();
/// let req = Request::from_packet(&packet)?;
/// assert_eq!(req.method(), Some(&b"POST"[..]));
/// assert_eq!(req.path_info(), Some(&b"/post"[..]));
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

    /// The request in a parsed packet.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, ParseErrorKind, Packet, message::Request};
    /// let (ping, _) = Packet::parse(&[0x64, 0, 0, 0], &Limits::new())?.complete().unwrap();
    /// let err = Request::from_packet(&ping).unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::UnexpectedPacket { modifier1: 100, modifier2: 0 });
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn from_packet(packet: &Packet<'a>) -> Result<Self, ParseError> {
        match packet.vars() {
            Some(vars) => Request::new(packet.modifier1(), packet.modifier2(), vars),
            None => Err(unexpected(packet)),
        }
    }

    /// The packet to encode (the body is written after it, separately).
    ///
    /// ```
    /// use uwsgi_wire::{Modifier1, message::Request, Vars};
    /// let req = Request::new(Modifier1::PSGI, 0, Vars::default())?;
    /// assert_eq!(req.to_packet()?.header().to_bytes(), [5, 0, 0, 0]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_packet(&self) -> Result<Packet<'a>, EncodeError> {
        Packet::new(self.modifier1, self.modifier2, Payload::Vars(self.vars))
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

    /// `REQUEST_METHOD`.
    ///
    /// ```
    /// # use uwsgi_wire::{Modifier1, message::Request, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("REQUEST_METHOD", "GET")?;
    /// # let req = Request::new(Modifier1::WSGI, 0, v.vars())?;
    /// assert_eq!(req.method(), Some(&b"GET"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn method(&self) -> Option<&'a [u8]> {
        self.vars.get(b"REQUEST_METHOD")
    }

    /// `REQUEST_URI` (path and query as the client sent them).
    ///
    /// ```
    /// # use uwsgi_wire::{Modifier1, message::Request, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("REQUEST_URI", "/a?b=1")?;
    /// # let req = Request::new(Modifier1::WSGI, 0, v.vars())?;
    /// assert_eq!(req.request_uri(), Some(&b"/a?b=1"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request_uri(&self) -> Option<&'a [u8]> {
        self.vars.get(b"REQUEST_URI")
    }

    /// `PATH_INFO` (the decoded path).
    ///
    /// ```
    /// # use uwsgi_wire::{Modifier1, message::Request, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("PATH_INFO", "/a")?;
    /// # let req = Request::new(Modifier1::WSGI, 0, v.vars())?;
    /// assert_eq!(req.path_info(), Some(&b"/a"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path_info(&self) -> Option<&'a [u8]> {
        self.vars.get(b"PATH_INFO")
    }

    /// `QUERY_STRING`.
    ///
    /// ```
    /// # use uwsgi_wire::{Modifier1, message::Request, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("QUERY_STRING", "b=1")?;
    /// # let req = Request::new(Modifier1::WSGI, 0, v.vars())?;
    /// assert_eq!(req.query_string(), Some(&b"b=1"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn query_string(&self) -> Option<&'a [u8]> {
        self.vars.get(b"QUERY_STRING")
    }

    /// `SERVER_PROTOCOL` (`HTTP/1.1`, ...).
    ///
    /// ```
    /// # use uwsgi_wire::{Modifier1, message::Request, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("SERVER_PROTOCOL", "HTTP/1.1")?;
    /// # let req = Request::new(Modifier1::WSGI, 0, v.vars())?;
    /// assert_eq!(req.server_protocol(), Some(&b"HTTP/1.1"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn server_protocol(&self) -> Option<&'a [u8]> {
        self.vars.get(b"SERVER_PROTOCOL")
    }

    /// The URL scheme as uWSGI's WSGI layer derives it (`wsgi.url_scheme`), the same
    /// rule `cgi::request_from_vars` (feature `http`) follows: a non-empty
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

/// The URL scheme of a request's vars as uWSGI's language plugins derive it
/// (`wsgi.url_scheme`, `psgi.url_scheme`, `rack.url_scheme` in uWSGI 2.0), plus nginx's
/// `REQUEST_SCHEME` as a last resort: see [`Request::scheme`]. Also returns the var
/// (key and value) it was derived from, for a caller that validates it.
pub(crate) fn url_scheme<'a>(vars: &Vars<'a>) -> (&'a [u8], Option<(&'static str, &'a [u8])>) {
    let set = |key: &'static str| {
        vars.get(key.as_bytes())
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
