//! Why an exchange failed, where on the stream, and what to answer.

use crate::wire::error::{ParseError, ParseErrorKind};
use crate::wire::header::Modifier1;

/// Why framing an exchange failed, and where.
///
/// [`offset`](ExchangeError::offset) counts bytes from the start of the stream (every byte
/// the exchange ([`ServerExchange`](super::ServerExchange), [`ClientExchange`](super::ClientExchange)) has consumed, plus the position in the buffer of the
/// call that failed): the first bad byte, or where the stream ended.
///
/// ```
/// use uwsgi_wire::exchange::{ExchangeErrorKind, ServerExchange};
/// use uwsgi_wire::{ParseErrorKind, Limits};
///
/// // A header announcing a 5000-byte block, against uWSGI's 4096-byte buffer-size.
/// let mut server = ServerExchange::new(Limits::new().max_datasize(4096));
/// let err = server.decode(&[0x00, 0x88, 0x13, 0x00]).unwrap_err();
/// assert!(matches!(
///     err.kind(),
///     ExchangeErrorKind::Packet(e) if e.kind() == ParseErrorKind::DatasizeOverLimit { datasize: 5000, limit: 4096 }
/// ));
/// assert_eq!(err.offset(), 1); // the datasize field
/// assert_eq!(err.status_code(), Some(431));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExchangeError {
    kind: ExchangeErrorKind,
    offset: u64,
}

/// The kind, and the stream offset where it adds something: not for the end of the
/// stream, and for the kinds whose inner error names its own offset only when the two
/// differ (a packet after the first).
impl core::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let inner = match self.kind {
            ExchangeErrorKind::Packet(err) | ExchangeErrorKind::ReplyPacket(err) => {
                Some(err.offset())
            }
            ExchangeErrorKind::Head(_) => {
                return write!(f, "{} at byte {}", self.kind, self.offset)
            }
            _ if self.is_eof() => return write!(f, "{}", self.kind),
            _ => None,
        };
        match inner {
            Some(at) if crate::wire::convert::to_u64(at) == self.offset => {
                write!(f, "{}", self.kind)
            }
            Some(_) => write!(f, "{} (stream byte {})", self.kind, self.offset),
            None => write!(f, "{} at stream byte {}", self.kind, self.offset),
        }
    }
}

impl core::error::Error for ExchangeError {
    /// The packet's own error, for a malformed packet or reply.
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match &self.kind {
            ExchangeErrorKind::Packet(err) | ExchangeErrorKind::ReplyPacket(err) => Some(err),
            _ => None,
        }
    }
}

impl ExchangeError {
    pub(crate) const fn new(kind: ExchangeErrorKind, offset: u64) -> Self {
        ExchangeError { kind, offset }
    }

    /// What went wrong.
    ///
    /// ```
    /// use uwsgi_wire::exchange::{ExchangeErrorKind, ServerExchange};
    /// // A peer that closes after 2 of a header's 4 bytes.
    /// let err = ServerExchange::new(uwsgi_wire::Limits::new()).decode_eof(&[0x00, 0x05]).unwrap_err();
    /// assert_eq!(err.kind(), ExchangeErrorKind::EofInHead { received: 2, missing: 2 });
    /// ```
    pub const fn kind(&self) -> ExchangeErrorKind {
        self.kind
    }

    /// The stream offset of the first bad byte, or of the end of the stream for the
    /// end-of-stream kinds.
    ///
    /// ```
    /// use uwsgi_wire::exchange::ServerExchange;
    /// // A ping, then a header whose block holds a zero-length key (at stream byte 8).
    /// let wire = b"\x64\x00\x00\x00\x00\x05\x00\x00\x00\x00\x01\x00x";
    /// let mut server = ServerExchange::new(uwsgi_wire::Limits::new());
    /// let mut at = 0;
    /// let err = loop {
    ///     match server.decode(&wire[at..]) {
    ///         Ok(status) => at += status.complete().expect("all here").1,
    ///         Err(err) => break err,
    ///     }
    /// };
    /// assert_eq!(err.offset(), 8);
    /// ```
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// True when the peer closed the stream in the middle of an exchange (or before a
    /// reply it owed): the [`NoReply`](ExchangeErrorKind::NoReply),
    /// [`EofInHead`](ExchangeErrorKind::EofInHead) and
    /// [`EofInBody`](ExchangeErrorKind::EofInBody) kinds.
    ///
    /// ```
    /// use uwsgi_wire::exchange::ServerExchange;
    /// let err = ServerExchange::new(uwsgi_wire::Limits::new()).decode_eof(b"\x00").unwrap_err();
    /// assert!(err.is_eof());
    /// ```
    pub const fn is_eof(&self) -> bool {
        matches!(
            self.kind,
            ExchangeErrorKind::NoReply
                | ExchangeErrorKind::EofInHead { .. }
                | ExchangeErrorKind::EofInBody { .. }
        )
    }

    /// The HTTP status that fits the error, or `None` when nothing can be answered:
    ///
    /// - 431 (Request Header Fields Too Large): a datasize over the limit, too many vars
    ///   or items;
    /// - 413 (Content Too Large): a body over [`Limits::max_body`](crate::Limits);
    /// - 400 (Bad Request): any other malformed request packet;
    /// - 502 (Bad Gateway): a malformed or unexpected reply, what a gateway answers its
    ///   own client (nginx answers 502 for "upstream sent invalid header");
    /// - `None` when the peer closed the stream (nobody is left to answer; a gateway
    ///   answers 502 for a reply cut short).
    ///
    /// ```
    /// use uwsgi_wire::exchange::{ClientExchange, Reply};
    /// use uwsgi_wire::Limits;
    /// // A pong where a signal reply (modifier1 255) was expected.
    /// let mut client = ClientExchange::new(Limits::new());
    /// client.expect(Reply::Packet(uwsgi_wire::Modifier1::RESPONSE));
    /// let err = client.decode(&[0x64, 0, 0, 1]).unwrap_err();
    /// assert_eq!(err.status_code(), Some(502));
    /// ```
    pub fn status_code(&self) -> Option<u16> {
        match self.kind {
            ExchangeErrorKind::Packet(err) => Some(status_for(err.kind())),
            ExchangeErrorKind::BodyTooLarge { .. } => Some(413),
            ExchangeErrorKind::Head(_)
            | ExchangeErrorKind::ReplyPacket(_)
            | ExchangeErrorKind::UnexpectedReply { .. }
            | ExchangeErrorKind::UnexpectedData => Some(502),
            ExchangeErrorKind::NoReply
            | ExchangeErrorKind::EofInHead { .. }
            | ExchangeErrorKind::EofInBody { .. } => None,
        }
    }
}

/// The HTTP status that fits a malformed request packet (see
/// [`ExchangeError::status_code`]).
pub(crate) fn status_for(kind: ParseErrorKind) -> u16 {
    match kind {
        ParseErrorKind::DatasizeOverLimit { .. }
        | ParseErrorKind::TooManyVars { .. }
        | ParseErrorKind::TooManyItems { .. } => 431,
        _ => 400,
    }
}

/// The precise reason an exchange failed. New reasons may be added in minor releases.
///
/// ```
/// use uwsgi_wire::exchange::ExchangeErrorKind;
/// let kind = ExchangeErrorKind::EofInBody { remaining: 3 };
/// assert_eq!(kind.to_string(), "the peer closed the stream 3 bytes before the end of the body");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeErrorKind {
    /// A malformed packet (the request a server reads), or one over the
    /// [`Limits`](crate::Limits); its offset counts from the packet's first byte.
    #[error("malformed packet: {0}")]
    Packet(ParseError),
    /// A malformed uwsgi-framed reply (a cache reply without `status`, a large RPC reply
    /// without `CONTENT_LENGTH`, ...); its offset counts from the packet's first byte.
    #[error("malformed reply: {0}")]
    ReplyPacket(ParseError),
    /// A malformed or oversize HTTP response head. The error's offset counts from the
    /// first byte given: the head's for [`HeadParser`](super::HeadParser), the stream's
    /// for an exchange, as every offset of its errors does.
    #[error("malformed response head: {0}")]
    Head(HeadErrorKind),
    /// A body (announced, or counted as it arrived) longer than
    /// [`Limits::max_body`](crate::Limits).
    #[error("body of {length} bytes is over the limit of {limit}")]
    BodyTooLarge {
        /// The announced length, or the bytes that had arrived.
        length: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A reply packet of another kind than the one expected (a pong where a signal
    /// reply was due).
    #[error("a reply with modifier1 {modifier1} and modifier2 {modifier2} where modifier1 {expected} was expected")]
    UnexpectedReply {
        /// The modifier1 the request's reply has.
        expected: Modifier1,
        /// The reply's modifier1.
        modifier1: Modifier1,
        /// The reply's modifier2.
        modifier2: u8,
    },
    /// Bytes arrived on a client stream while no reply was expected (more than a
    /// Content-Length announced, or a reply nobody asked for).
    #[error("bytes arrived where no reply was expected")]
    UnexpectedData,
    /// The peer closed the stream before the first byte of the reply it owed. uWSGI
    /// answers this way to a cache miss, an unknown RPC function and an unknown
    /// modifier1.
    #[error("the peer closed the stream without a reply")]
    NoReply,
    /// The peer closed the stream in the middle of a packet or a response head.
    #[error(
        "the peer closed the stream after {received} bytes of a head, at least {missing} short"
    )]
    EofInHead {
        /// The bytes of the head that had arrived.
        received: usize,
        /// The least number of bytes still missing (exact for a packet).
        missing: usize,
    },
    /// The peer closed the stream before the end of a body of known length.
    #[error("the peer closed the stream {remaining} bytes before the end of the body")]
    EofInBody {
        /// The body bytes still missing.
        remaining: u64,
    },
}

/// The precise reason a response head is refused; each is a case nginx 1.22 answers 502
/// for. New reasons may be added in minor releases.
///
/// nginx never refuses a status line as such: a first line that is not one is read as a
/// header (`http/1.1 200 OK` is then a name holding a space, offset 8) or, when it starts
/// with `HTTP/`, skipped.
///
/// ```
/// use uwsgi_wire::exchange::HeadErrorKind;
/// assert_eq!(HeadErrorKind::TooLarge { limit: 4096 }.to_string(), "head longer than 4096 bytes");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeadErrorKind {
    /// A header name holding a byte nginx refuses there: a control byte, a space (also
    /// before the colon), DEL; or an empty name (a line starting with `:`). Offset of
    /// the byte.
    InvalidHeaderName,
    /// A line starting with a space or a tab: an obs-fold continuation line. Offset of
    /// the line.
    FoldedLine,
    /// A NUL byte in a header value, the one byte nginx refuses in a value. Offset of
    /// the NUL.
    InvalidHeaderValue,
    /// A CR that is not followed by CRs and then LF (a blank line must be exactly CRLF
    /// or LF). Offset of the CR.
    BareCr,
    /// A head without a status line whose first `Status` header does not start with
    /// three digits (`Status: abc`, `Status: 40`, `Status:\t404`). Offset of the first
    /// byte that is not one of them.
    InvalidStatus,
    /// No blank line within the limit (nginx: "upstream sent too big header"). Offset
    /// of the first byte past the limit.
    TooLarge {
        /// The limit, [`HeadParser::new`](super::HeadParser::new)'s `max_len`.
        limit: usize,
    },
}

impl HeadErrorKind {
    /// A short description.
    const fn as_str(self) -> &'static str {
        match self {
            HeadErrorKind::InvalidHeaderName => "invalid byte in a header name",
            HeadErrorKind::FoldedLine => "line starting with a space or tab (obs-fold)",
            HeadErrorKind::InvalidHeaderValue => "NUL byte in a header value",
            HeadErrorKind::BareCr => "CR not followed by LF",
            HeadErrorKind::InvalidStatus => "Status header without a 3-digit code",
            HeadErrorKind::TooLarge { .. } => "head longer than the limit",
        }
    }
}

impl core::fmt::Display for HeadErrorKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            HeadErrorKind::TooLarge { limit } => write!(f, "head longer than {limit} bytes"),
            kind => f.write_str(kind.as_str()),
        }
    }
}
