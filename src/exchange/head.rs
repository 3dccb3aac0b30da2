//! Response heads: the raw HTTP/1.x head a uwsgi application server answers an
//! HTTP-style request (modifier1 0) with, read exactly as nginx 1.22's uwsgi module
//! reads it (`ngx_http_uwsgi_process_status_line` and `ngx_http_uwsgi_process_header`
//! over `ngx_http_parse_status_line` and `ngx_http_parse_header_line`).
//!
//! [`HeadParser`] is resumable: it keeps where the last call stopped, so a head fed one
//! byte per call costs linear time. [`ResponseHead`] is the validated, borrowed view of
//! one complete head. Every rule below was checked against Debian's nginx 1.22.1
//! (`tests/conformance/response_heads.rs`, table in `tests/conformance/README.md`):
//!
//! - **Status line**: `HTTP/<major>.<minor> <code>[ <reason>]`, major 1 to 999 (so
//!   `HTTP/2.0 200 OK` is accepted), minor 0 to 999, spaces before (and between) the
//!   three digits of the code, any code `000` to `999`, the reason any bytes up to the
//!   line end (NUL included), also after `.` (IIS's `403.1`).
//! - **No status line**: nginx reads the first line as a header instead (CGI style).
//!   The first `Status` header (any case) gives the status: its value must start with
//!   three digits (`Status: 4041` is 404, `Status: abc` and `Status: 40` are refused);
//!   without one, 302 when there is a `Location` header, else 200. A status line with
//!   code `000` counts as none.
//! - **Lines starting with `HTTP/`** that are not the status line are skipped, whatever
//!   they hold (nginx tolerates IIS's duplicate status lines): a malformed status line
//!   (`HTTP/1 404`, `HTTP/1.1 40 X`, `HTTP/1.1 4040 X`, a bare CR in it) gives a head
//!   with no status line, hence status 200.
//! - **Header lines**: a name of bytes other than controls, space, DEL and `:` (so
//!   `X(Y` and `X\xe9` pass, `X-A : 1` does not), then `:` and the value; a line with no
//!   colon is a header with an empty value. The value may hold any byte but NUL (0x80 to
//!   0xFF and controls included); spaces (not tabs) around it are not part of it. Lines
//!   end in LF after any number of CRs; a CR anywhere else is refused, and so is a line
//!   that starts with a space or a tab (obs-fold).
//! - **The blank line** is `CRLF` or `LF`; a first line that is blank makes an empty
//!   head (status 200).
//! - **Content-Length and Transfer-Encoding** never make nginx 1.22 refuse a head: two
//!   Content-Length headers (equal or not), a non-numeric one, one beside
//!   `Transfer-Encoding: chunked` all pass; the last one counts (see
//!   [`ResponseHead::content_length`]).
//! - **The limit**: nginx reads the head into `uwsgi_buffer_size` bytes (4 KiB here) and
//!   answers 502 when the blank line is not within it; [`HeadParser::new`] takes that
//!   size.
//!
//! `httparse` checks every line first (a strict HTTP/1.1 parser, and a fast one); what it
//! accepts nginx accepts too. Only a line it refuses goes through the hand-written rules
//! above, where nginx is more lenient; each is commented with the nginx behaviour it
//! follows. A head that arrives whole in the first call and that httparse accepts whole
//! (a status line, header lines, the blank line) is read in that one httparse pass; the
//! line-by-line rules decide everything else, with the same verdicts.

use core::fmt;
use core::mem::MaybeUninit;

use crate::wire::status::Status;

/// Header slots for the one-pass parse of a whole head ([`HeadParser::whole`]), on the
/// stack: enough for most heads, few enough to be cheap to initialise.
const WHOLE_HEAD_SLOTS: usize = 8;

/// Header slots, never initialised (httparse fills the ones it uses), for a whole head
/// with more header lines ([`HeadParser::whole_many`]); one with more still takes the
/// line-by-line path.
const MANY_SLOTS: usize = 100;

/// nginx's default `uwsgi_buffer_size` (one memory page, 4 KiB on x86-64): the limit
/// `HeadParser::default()` uses.
const DEFAULT_MAX_LEN: usize = 4096;

/// A validated, borrowed HTTP/1.x response head: the status line (or CGI `Status:`
/// header), the header lines and the blank line, as nginx 1.22's uwsgi module reads
/// them. Built by [`HeadParser::parse`].
///
/// ```
/// use uwsgi_wire::exchange::HeadParser;
/// use uwsgi_wire::Status;
///
/// let wire = b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nX-A: 1\r\n\r\nnot found";
/// let Status::Complete((head, len)) = HeadParser::new(4096).parse(wire)? else { unreachable!() };
/// assert_eq!((head.status(), head.reason()), (404, &b"Not Found"[..]));
/// assert_eq!(head.content_length(), Some(9));
/// assert_eq!(&wire[len..], b"not found");
/// # Ok::<(), uwsgi_wire::exchange::HeadError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead<'a> {
    bytes: &'a [u8],
    status: u16,
    reason: &'a [u8],
    version: Option<u8>,
    cgi: bool,
    content_length: Option<u64>,
    chunked: bool,
}

impl<'a> ResponseHead<'a> {
    /// The head of a blank line alone (`\r\n`): status 200, no headers; what
    /// [`HeadParser::parse`] gives for it.
    #[cfg(feature = "tokio")] // used by OwnedResponseHead
    pub(crate) const fn empty() -> ResponseHead<'static> {
        ResponseHead {
            bytes: b"\r\n",
            status: 200,
            reason: b"OK",
            version: None,
            cgi: true,
            content_length: None,
            chunked: false,
        }
    }

    /// The status nginx uses: the status line's code, else the first `Status` header's
    /// three digits, else 302 when there is a `Location` header, else 200. Any value from
    /// 0 to 999 (nginx passes `099` and `600` on).
    ///
    /// ```
    /// use uwsgi_wire::exchange::HeadParser;
    /// let head = |wire: &'static [u8]| HeadParser::new(4096).parse(wire).unwrap().complete().unwrap().0;
    /// assert_eq!(head(b"HTTP/1.1 201 Created\r\n\r\n").status(), 201);
    /// assert_eq!(head(b"Status: 404 Not Found\r\n\r\n").status(), 404);
    /// assert_eq!(head(b"Location: /x\r\n\r\n").status(), 302);
    /// assert_eq!(head(b"Content-Type: text/plain\r\n\r\n").status(), 200);
    /// ```
    pub const fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase nginx passes on: the status line's text after the code and the
    /// space after it (IIS's `403.1 Forbidden` keeps `.1 Forbidden`), or the `Status`
    /// value's after its code; `OK` or `Moved Temporarily` when nginx picked the status.
    /// Bytes as sent: any byte but CR and LF, NUL included.
    ///
    /// ```
    /// use uwsgi_wire::exchange::HeadParser;
    /// let head = |wire: &'static [u8]| HeadParser::new(4096).parse(wire).unwrap().complete().unwrap().0;
    /// assert_eq!(head(b"HTTP/1.1 418 I'm a teapot\r\n\r\n").reason(), b"I'm a teapot");
    /// assert_eq!(head(b"HTTP/1.1 204\r\n\r\n").reason(), b"");
    /// assert_eq!(head(b"Status: 503 Busy\r\n\r\n").reason(), b"Busy");
    /// assert_eq!(head(b"Location: /x\r\n\r\n").reason(), b"Moved Temporarily");
    /// ```
    pub const fn reason(&self) -> &'a [u8] {
        self.reason
    }

    /// The minor version of an `HTTP/1.x` status line (`Some(1)` for `HTTP/1.1`).
    /// `None` when the head has no status line (CGI style, see
    /// [`is_cgi`](ResponseHead::is_cgi)), and for a status line nginx accepts with
    /// another major version (`HTTP/2.0 200 OK`) or a minor over 255 (`HTTP/1.300`).
    ///
    /// ```
    /// use uwsgi_wire::exchange::HeadParser;
    /// let head = |wire: &'static [u8]| HeadParser::new(4096).parse(wire).unwrap().complete().unwrap().0;
    /// assert_eq!(head(b"HTTP/1.0 200 OK\r\n\r\n").version(), Some(0));
    /// assert_eq!(head(b"Status: 200 OK\r\n\r\n").version(), None);
    /// assert_eq!(head(b"HTTP/2.0 200 OK\r\n\r\n").version(), None);
    /// ```
    pub const fn version(&self) -> Option<u8> {
        self.version
    }

    /// True when the status did not come from a status line: a CGI-style head (a
    /// `Status` header, or nginx's 200/302 default), including a head whose first line
    /// starts with `HTTP/` but is not a status line nginx accepts (it skips that line),
    /// and a status line with code `000` (nginx treats it as none).
    ///
    /// ```
    /// use uwsgi_wire::exchange::HeadParser;
    /// let head = |wire: &'static [u8]| HeadParser::new(4096).parse(wire).unwrap().complete().unwrap().0;
    /// assert!(head(b"Status: 404\r\n\r\n").is_cgi());
    /// assert!(!head(b"HTTP/1.1 404 Not Found\r\n\r\n").is_cgi());
    /// // A 4-digit code is no status line to nginx: it skips the line, the status is 200.
    /// let odd = head(b"HTTP/1.1 4040 X\r\n\r\n");
    /// assert!(odd.is_cgi() && odd.status() == 200);
    /// ```
    pub const fn is_cgi(&self) -> bool {
        self.cgi
    }

    /// The body length as nginx 1.22 reads it: the **last** `Content-Length` header,
    /// when its value is a plain decimal number (digits only, at most `i64::MAX`);
    /// `None` when there is none or the last one is not such a number (nginx then reads
    /// the body up to the end of the stream). nginx 1.22 refuses none of these heads:
    /// two Content-Length headers that differ, or one beside `Transfer-Encoding:
    /// chunked`, pass (nginx 1.23 and later refuse both); walk
    /// [`headers`](ResponseHead::headers) to be stricter.
    ///
    /// ```
    /// use uwsgi_wire::exchange::HeadParser;
    /// let head = |wire: &'static [u8]| HeadParser::new(4096).parse(wire).unwrap().complete().unwrap().0;
    /// assert_eq!(head(b"HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n").content_length(), Some(42));
    /// assert_eq!(head(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 2\r\n\r\n").content_length(), Some(2));
    /// assert_eq!(head(b"HTTP/1.1 200 OK\r\nContent-Length: +4\r\n\r\n").content_length(), None);
    /// ```
    pub const fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// True when a `Transfer-Encoding` header names `chunked` (nginx's test: the value
    /// holds `chunked` in any case). nginx 1.22's uwsgi module does not de-chunk: it
    /// passes such a body on as it came, up to the end of the stream (or Content-Length).
    ///
    /// ```
    /// use uwsgi_wire::exchange::HeadParser;
    /// let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n";
    /// assert!(HeadParser::new(4096).parse(wire)?.complete().unwrap().0.is_chunked());
    /// # Ok::<(), uwsgi_wire::exchange::HeadError>(())
    /// ```
    pub const fn is_chunked(&self) -> bool {
        self.chunked
    }

    /// The header lines as `(name, value)`, in wire order, duplicates kept, as nginx
    /// reads them: the name as sent (any case), the value without the spaces around it
    /// (tabs stay), a line without a colon as an empty value. The status line, any other
    /// line starting with `HTTP/` (nginx skips them) and the blank line are not headers;
    /// a CGI `Status` header is. Walks the validated bytes again; never allocates.
    ///
    /// ```
    /// use uwsgi_wire::exchange::HeadParser;
    /// let wire = b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-Flag\r\nset-cookie:  b=2  \r\n\r\n";
    /// let head = HeadParser::new(4096).parse(wire)?.complete().unwrap().0;
    /// let headers: Vec<_> = head.headers().collect();
    /// assert_eq!(headers, [
    ///     (&b"Set-Cookie"[..], &b"a=1"[..]),
    ///     (b"X-Flag", b""),
    ///     (b"set-cookie", b"b=2"),
    /// ]);
    /// # Ok::<(), uwsgi_wire::exchange::HeadError>(())
    /// ```
    pub fn headers(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone + 'a {
        HeaderLines { rest: self.bytes }
    }

    /// The whole head, from its first byte to the end of the blank line.
    ///
    /// ```
    /// use uwsgi_wire::exchange::HeadParser;
    /// let wire = b"HTTP/1.1 200 OK\n\nbody";
    /// let head = HeadParser::new(4096).parse(wire)?.complete().unwrap().0;
    /// assert_eq!(head.as_bytes(), b"HTTP/1.1 200 OK\n\n");
    /// # Ok::<(), uwsgi_wire::exchange::HeadError>(())
    /// ```
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The length of the head in bytes, blank line included: where the body starts.
    ///
    /// ```
    /// use uwsgi_wire::exchange::HeadParser;
    /// let head = HeadParser::new(4096).parse(b"\r\nbody")?.complete().unwrap().0;
    /// assert_eq!(head.len(), 2); // an empty head: a blank line alone
    /// # Ok::<(), uwsgi_wire::exchange::HeadError>(())
    /// ```
    // A head is never empty (it holds at least its blank line): no `is_empty`.
    #[allow(clippy::len_without_is_empty)]
    pub const fn len(&self) -> usize {
        self.bytes.len()
    }
}

/// The header lines of a validated head (see [`ResponseHead::headers`]).
#[derive(Debug, Clone)]
struct HeaderLines<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for HeaderLines<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let lf = self.rest.iter().position(|&b| b == b'\n')?;
            let line = self.rest.get(..lf).unwrap_or_default();
            self.rest = self.rest.get(lf + 1..).unwrap_or_default();
            let content = trim_crs(line);
            if content.is_empty() {
                // The blank line: the end of the head.
                self.rest = &[];
                return None;
            }
            if content.starts_with(b"HTTP/") {
                continue;
            }
            let (name, value, _) = split_header(content);
            return Some((name, value));
        }
    }
}

/// Why a response head is refused, and where: the error nginx answers 502 for.
///
/// ```
/// use uwsgi_wire::exchange::{HeadErrorKind, HeadParser};
///
/// let err = HeadParser::new(4096).parse(b"HTTP/1.1 200 OK\r\nX-A: 1\0\r\n\r\n").unwrap_err();
/// assert_eq!(err.kind(), HeadErrorKind::InvalidHeaderValue);
/// assert_eq!(err.offset(), 23);
/// assert_eq!(err.to_string(), "NUL byte in a header value at byte 23");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct HeadError {
    kind: HeadErrorKind,
    offset: usize,
}

impl HeadError {
    const fn new(kind: HeadErrorKind, offset: usize) -> Self {
        HeadError { kind, offset }
    }

    /// What is wrong.
    ///
    /// ```
    /// use uwsgi_wire::exchange::{HeadErrorKind, HeadParser};
    /// let err = HeadParser::new(4096).parse(b"Status: abc\r\n\r\n").unwrap_err();
    /// assert_eq!(err.kind(), HeadErrorKind::InvalidStatus);
    /// ```
    pub const fn kind(&self) -> HeadErrorKind {
        self.kind
    }

    /// The byte offset, from the head's first byte, of the first bad byte (for
    /// [`TooLarge`](HeadErrorKind::TooLarge), the first byte past the limit).
    ///
    /// ```
    /// use uwsgi_wire::exchange::HeadParser;
    /// // The space before the colon, at byte 20.
    /// let err = HeadParser::new(4096).parse(b"HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n").unwrap_err();
    /// assert_eq!(err.offset(), 20);
    /// ```
    pub const fn offset(&self) -> usize {
        self.offset
    }
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
        /// The limit, [`HeadParser::new`]'s `max_len`.
        limit: usize,
    },
}

impl HeadErrorKind {
    /// A short description, also what `http::parse_response_head` reports.
    pub(crate) const fn as_str(self) -> &'static str {
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

impl fmt::Display for HeadErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            HeadErrorKind::TooLarge { limit } => write!(f, "head longer than {limit} bytes"),
            kind => f.write_str(kind.as_str()),
        }
    }
}

/// A resumable parser for one response head, as nginx 1.22's uwsgi module reads it.
///
/// Call [`parse`](HeadParser::parse) with the bytes received so far, always from the
/// head's first byte; append what arrives and call again. The parser remembers the lines
/// it has checked and where it stopped looking for the end of the current line, so every
/// byte is examined a bounded number of times however the head is split: feeding a
/// head one byte per call costs linear time, not quadratic.
///
/// `HeadParser::default()` has nginx's default limit on 4 KiB-page systems, 4096 bytes.
///
/// ```
/// use uwsgi_wire::exchange::HeadParser;
/// use uwsgi_wire::Status;
///
/// let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
/// let mut parser = HeadParser::new(4096);
/// for end in 0..38 {
///     assert!(parser.parse(&wire[..end])?.is_partial());
/// }
/// let Status::Complete((head, len)) = parser.parse(wire)? else { unreachable!() };
/// assert_eq!((head.status(), len), (200, 38));
/// # Ok::<(), uwsgi_wire::exchange::HeadError>(())
/// ```
#[derive(Debug, Clone)]
pub struct HeadParser {
    max_len: usize,
    /// The start of the first line not yet checked (every byte before it is).
    line_start: usize,
    /// How far the current line has been searched for its LF.
    searched: usize,
    /// What the checked lines said.
    facts: Facts,
    /// The result, once there is one: returned again by later calls.
    outcome: Option<Result<Done, HeadError>>,
}

/// What [`HeadParser::parse`] returns.
type Parsed<'a> = Result<Status<(ResponseHead<'a>, usize)>, HeadError>;

/// A range of the head: start and end offsets.
type Span = (usize, usize);

/// A status line's code, minor version (for `HTTP/1.x`) and reason.
type StatusLine = (u16, Option<u8>, Span);

/// What the checked lines of a head said so far.
#[derive(Debug, Clone, Copy)]
struct Facts {
    /// The first line has been read.
    first_line: bool,
    /// The status line's code, minor version and reason (a range of the head).
    status_line: Option<StatusLine>,
    /// The first `Status` header: its code and reason, or the offset of its first bad
    /// byte. Only used when the status line gives no status.
    cgi_status: Option<Result<(u16, Span), usize>>,
    location: bool,
    /// The last `Content-Length` as ngx_atoof reads it, [`NO_LENGTH`] for none (or one
    /// it refuses): a plain `u64` rather than an `Option`, which is written as two
    /// words and read back as one 16-byte load that the store buffer cannot forward.
    content_length: u64,
    chunked: bool,
}

/// [`Facts::content_length`] when there is no length: more than any ngx_atoof accepts
/// (at most `i64::MAX`).
const NO_LENGTH: u64 = u64::MAX;

impl Facts {
    /// Nothing read yet.
    const NONE: Facts = Facts {
        first_line: false,
        status_line: None,
        cgi_status: None,
        location: false,
        content_length: NO_LENGTH,
        chunked: false,
    };

    /// What the header lines httparse parsed (`headers`, in `head`) say, for
    /// [`HeadParser::whole`]; `None` when one cannot be placed in `head`.
    #[inline(always)]
    fn whole_headers(&mut self, head: &[u8], headers: &[httparse::Header<'_>]) -> Option<()> {
        let base = head.as_ptr() as usize;
        let at = |part: &[u8]| (part.as_ptr() as usize).wrapping_sub(base);
        for header in headers {
            let name = header.name.as_bytes();
            if !may_matter(name.len()) {
                continue;
            }
            // httparse's value is nginx's unless a tab borders it (httparse trims spaces
            // and tabs around it, nginx only spaces) or it is empty; then nginx's is
            // taken from the raw line (httparse allows nothing before the name).
            let start = at(name);
            let value_at = at(header.value);
            let colon = start + name.len();
            let value_end = value_at + header.value.len();
            // The usual line, `Name: value` and the line end, answers that in three
            // compares, without walking the borders below.
            let plain = value_at == colon + 2
                && head.get(colon + 1) == Some(&b' ')
                && matches!(head.get(value_end), Some(b'\r' | b'\n'));
            if !header.value.is_empty() && plain {
                self.named(name, header.value, value_at);
                continue;
            }
            let before = head.get(colon + 1..value_at)?;
            let after = head.get(value_end..)?;
            let tab_after = after
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .any(|&b| b == b'\t');
            if !header.value.is_empty() && !tab_after && before.iter().all(|&b| b == b' ') {
                self.named(name, header.value, value_at);
            } else {
                let line = head.get(start..)?;
                let end = line.iter().position(|&b| b == b'\n')?;
                self.header(trim_crs(line.get(..end)?), start);
            }
        }
        Some(())
    }

    /// What one valid header line (`content`: no CR or LF, not starting with `HTTP/`,
    /// at offset `start` of the head) says, for both paths of [`HeadParser`].
    fn header(&mut self, content: &[u8], start: usize) {
        let (name, value, value_at) = split_header(content);
        self.named(name, value, start + value_at);
    }

    /// What a header line with nginx's `name` and `value` (at offset `value_at` of the
    /// head, see [`split_header`]) says.
    #[inline(always)]
    fn named(&mut self, name: &[u8], value: &[u8], value_at: usize) {
        if is_name(name, b"status") {
            // ngx_http_upstream_process_header_line: the first Status header counts.
            if self.cgi_status.is_none() {
                self.cgi_status = Some(cgi_status(value, value_at));
            }
        } else if is_name(name, b"location") {
            self.location = true;
        } else if is_name(name, b"content-length") {
            // ngx_http_upstream_process_content_length: every one overwrites the last,
            // ngx_atoof's error (-1) means no length.
            self.content_length = atoof(value).unwrap_or(NO_LENGTH);
        } else if is_name(name, b"transfer-encoding") && contains_chunked(value) {
            // ngx_http_upstream_process_transfer_encoding: ngx_strlcasestrn "chunked".
            self.chunked = true;
        }
    }
}

/// `name.eq_ignore_ascii_case(lower)` for a `lower` of ASCII lowercase letters and `-`,
/// without an early exit: `lower` is a constant, so this unrolls into a few wide
/// compares (the byte-at-a-time compare was a tenth of a head's parse time).
#[inline(always)]
fn is_name<const N: usize>(name: &[u8], lower: &[u8; N]) -> bool {
    let Ok(name) = <&[u8; N]>::try_from(name) else {
        return false;
    };
    let mut diff = 0u8;
    for (&a, &b) in name.iter().zip(lower) {
        // A letter matches in either case (its 0x20 bit set), anything else exactly.
        let case = if b.is_ascii_lowercase() { 0x20 } else { 0 };
        diff |= (a | case) ^ b;
    }
    diff == 0
}

/// True when a header name of `len` bytes may be one [`Facts::header`] acts on
/// (`Status`, `Location`, `Content-Length`, `Transfer-Encoding`).
const fn may_matter(len: usize) -> bool {
    matches!(len, 6 | 8 | 14 | 17)
}

/// Why [`HeadParser::whole`] did not read a head.
#[derive(Debug, Clone, Copy)]
enum NotWhole {
    /// The line-by-line path decides.
    Lines,
    /// More header lines than its slots: [`HeadParser::whole_many`] reads it, given the
    /// status line's code and minor version.
    Many(u16, u8),
}

/// A complete head, to build the [`ResponseHead`] again on a later call.
#[derive(Debug, Clone, Copy)]
struct Done {
    len: usize,
    status: u16,
    reason: Reason,
    version: Option<u8>,
    cgi: bool,
}

/// Where the reason phrase is: in the head, or one of nginx's own.
#[derive(Debug, Clone, Copy)]
enum Reason {
    Range(usize, usize),
    Static(&'static [u8]),
}

impl Default for HeadParser {
    fn default() -> Self {
        HeadParser::new(DEFAULT_MAX_LEN)
    }
}

impl HeadParser {
    /// A parser that refuses a head whose blank line does not end within `max_len`
    /// bytes: nginx's `uwsgi_buffer_size` (default one memory page, 4096 bytes on
    /// x86-64), which must hold the whole head.
    ///
    /// ```
    /// use uwsgi_wire::exchange::{HeadErrorKind, HeadParser};
    /// let head = [&b"HTTP/1.1 200 OK\r\nX-Pad: "[..], &[b'a'; 8], b"\r\n\r\n"].concat(); // 36 bytes
    /// assert!(HeadParser::new(36).parse(&head)?.is_complete());
    /// let err = HeadParser::new(35).parse(&head).unwrap_err();
    /// assert_eq!(err.kind(), HeadErrorKind::TooLarge { limit: 35 });
    /// # Ok::<(), uwsgi_wire::exchange::HeadError>(())
    /// ```
    pub const fn new(max_len: usize) -> Self {
        HeadParser {
            max_len,
            line_start: 0,
            searched: 0,
            facts: Facts::NONE,
            outcome: None,
        }
    }

    /// Parses the head at the start of `buf`, resuming where the last call stopped.
    ///
    /// `buf` must hold the head from its first byte, the bytes of earlier calls
    /// unchanged (a `buf` shorter than what earlier calls examined makes the parser
    /// start over).
    /// Returns [`Status::Partial`] until the blank line has arrived, then the head and
    /// its length (the body starts there); every later call returns the same result.
    /// An error is final too: nginx answers 502 for it. A head with no blank line
    /// within `max_len` bytes is an error as soon as `max_len` bytes are there; an
    /// invalid byte is reported once the line holding it is complete (or at the limit).
    ///
    /// ```
    /// use uwsgi_wire::exchange::{HeadErrorKind, HeadParser};
    /// use uwsgi_wire::Status;
    ///
    /// let mut parser = HeadParser::new(4096);
    /// assert_eq!(parser.parse(b"Status: 404 Not Found\r\n")?, Status::Partial { needed: 1 });
    /// let Status::Complete((head, 25)) = parser.parse(b"Status: 404 Not Found\r\n\r\n")? else {
    ///     unreachable!()
    /// };
    /// assert_eq!(head.status(), 404);
    ///
    /// let err = HeadParser::new(4096).parse(b"HTTP/1.1 200 OK\r\n folded\r\n\r\n").unwrap_err();
    /// assert_eq!((err.kind(), err.offset()), (HeadErrorKind::FoldedLine, 17));
    /// # Ok::<(), uwsgi_wire::exchange::HeadError>(())
    /// ```
    pub fn parse<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(ResponseHead<'a>, usize)>, HeadError> {
        // A parser that has examined nothing (no outcome, nothing searched), the
        // common case, cannot have shrunk; and its one-pass verdict, built here apart
        // from the line-by-line path's, goes out without passing through that path's.
        if self.outcome.is_none() && self.searched == 0 {
            match self.whole(buf) {
                Ok(done) => return self.settle(buf, Ok(Status::Complete(done))),
                Err(NotWhole::Many(code, minor)) => {
                    if let Some(parsed) = self.whole_many(buf, code, minor) {
                        return parsed;
                    }
                }
                Err(NotWhole::Lines) => {}
            }
            let outcome = self.advance(buf);
            return self.settle(buf, outcome);
        }
        let shrunk = match self.outcome {
            Some(Ok(done)) => buf.len() < done.len,
            _ => buf.len() < self.searched,
        };
        if shrunk {
            // Fresh again: once more from the top, where a whole head takes one pass.
            *self = HeadParser::new(self.max_len);
            return self.parse(buf);
        }
        match self.outcome {
            Some(Ok(done)) => return Ok(Status::Complete(self.build(buf, done))),
            Some(Err(err)) => return Err(err),
            None => {}
        }
        let outcome = self.advance(buf);
        self.settle(buf, outcome)
    }

    /// Keeps a final outcome for later calls, and gives the caller its view.
    #[inline(always)]
    fn settle<'a>(
        &mut self,
        buf: &'a [u8],
        outcome: Result<Status<Done>, HeadError>,
    ) -> Parsed<'a> {
        match outcome {
            Ok(Status::Complete(done)) => {
                self.outcome = Some(Ok(done));
                Ok(Status::Complete(self.build(buf, done)))
            }
            Ok(Status::Partial { needed }) => Ok(Status::Partial { needed }),
            Err(err) => {
                self.outcome = Some(Err(err));
                Err(err)
            }
        }
    }

    fn build<'a>(&self, buf: &'a [u8], done: Done) -> (ResponseHead<'a>, usize) {
        let reason = match done.reason {
            Reason::Range(start, end) => buf.get(start..end).unwrap_or_default(),
            Reason::Static(text) => text,
        };
        let head = ResponseHead {
            bytes: buf.get(..done.len).unwrap_or_default(),
            status: done.status,
            reason,
            version: done.version,
            cgi: done.cgi,
            content_length: (self.facts.content_length != NO_LENGTH)
                .then_some(self.facts.content_length),
            chunked: self.facts.chunked,
        };
        (head, done.len)
    }

    /// Checks every line completed since the last call: the line-by-line path, for
    /// every head the one-pass path ([`whole`](HeadParser::whole)) does not read.
    fn advance(&mut self, buf: &[u8]) -> Result<Status<Done>, HeadError> {
        let limit = buf.len().min(self.max_len);
        loop {
            let new = buf.get(self.searched..limit).unwrap_or_default();
            let Some(lf) = new.iter().position(|&b| b == b'\n') else {
                self.searched = limit;
                break;
            };
            let end = self.searched + lf + 1;
            let start = self.line_start;
            let line = buf.get(start..end).unwrap_or_default();
            self.line_start = end;
            self.searched = end;
            if line == b"\n" || line == b"\r\n" {
                return self.facts.finish(end).map(Status::Complete);
            }
            self.line(line, start)?;
        }
        let partial = buf.get(self.line_start..limit).unwrap_or_default();
        if buf.len() >= self.max_len {
            // nginx's buffer is full and holds no whole head: "upstream sent too big
            // header", unless a byte it has already read was invalid.
            check_line(partial).map_err(|(kind, at)| HeadError::new(kind, self.line_start + at))?;
            return Err(HeadError::new(
                HeadErrorKind::TooLarge {
                    limit: self.max_len,
                },
                self.max_len,
            ));
        }
        // The blank line (1 byte) is still needed, after the end of the current line
        // (1 more) unless it is the blank line itself.
        let needed = if partial.is_empty() || partial == b"\r" {
            1
        } else {
            2
        };
        Ok(Status::Partial { needed })
    }

    /// Checks one complete line (its LF included) that is not the blank line, starting
    /// at offset `start` of the head.
    fn line(&mut self, line: &[u8], start: usize) -> Result<(), HeadError> {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let content = trim_crs(body);
        if content.starts_with(b"HTTP/") {
            if !self.facts.first_line {
                self.facts.first_line = true;
                self.facts.status_line = status_line(line, start);
            }
            // Not the status line: nginx skips every line that starts with `HTTP/`
            // ("IIS may send the duplicate "HTTP/1.1 ..." lines", its
            // ngx_http_parse_header_line says), whatever follows, NUL and bare CRs
            // included. A status line nginx does not accept as one ends here too: it
            // then reads the head from its first byte as headers, and skips this line.
            return Ok(());
        }
        self.facts.first_line = true;
        // httparse's strict grammar first: every line it accepts nginx accepts.
        let strict = matches!(
            httparse::parse_headers(line, &mut [httparse::EMPTY_HEADER; 1]),
            Ok(httparse::Status::Partial)
        );
        if !strict {
            check_line(body).map_err(|(kind, at)| HeadError::new(kind, start + at))?;
        }
        self.facts.header(content, start);
        Ok(())
    }

    /// The whole head in one pass, when the parser has seen nothing yet: `None` unless
    /// the head at the start of `buf` is a status line and header lines in httparse's
    /// strict grammar, blank line included, within the limit (the line-by-line path
    /// then decides, as for any head that arrives in parts). Every line of such a head
    /// is one the line-by-line path accepts without its own checks (the same grammar
    /// for the status line, [`strict_status_line`], and the same `httparse::parse_headers`
    /// for the headers), so the verdict is the same, and the facts come from the same
    /// code ([`Facts::named`], [`Facts::header`]). One call per head at most (the
    /// parser must be fresh), so feeding a head in parts stays linear. About 2x faster
    /// than the line-by-line path on uWSGI's replies (BENCHMARKS.md).
    fn whole(&mut self, buf: &[u8]) -> Result<Done, NotWhole> {
        // httparse's status line parser would skip blank lines before it (to nginx a
        // blank first line is an empty head) and costs as much as the header lines of a
        // small head: the status line is checked here, by the same grammar.
        let (code, minor, text_len, line_len) = strict_status_line(buf).ok_or(NotWhole::Lines)?;
        if code == 0 {
            // nginx picks the status of such a head from its headers (`finish`): left
            // to the line-by-line path, so this one has a single result to give.
            return Err(NotWhole::Lines);
        }
        let mut slots = [httparse::EMPTY_HEADER; WHOLE_HEAD_SLOTS];
        let rest = buf.get(line_len..).ok_or(NotWhole::Lines)?;
        let (len, headers) = match httparse::parse_headers(rest, &mut slots) {
            Ok(httparse::Status::Complete((n, headers))) => (line_len + n, headers),
            Err(httparse::Error::TooManyHeaders) => return Err(NotWhole::Many(code, minor)),
            _ => return Err(NotWhole::Lines),
        };
        self.whole_done(buf, len, (code, minor, text_len), headers)
            .ok_or(NotWhole::Lines)
    }

    /// [`whole`](HeadParser::whole) for a head with more than [`WHOLE_HEAD_SLOTS`]
    /// header lines: httparse's response parser over uninitialised slots, out of the
    /// common path's stack frame. Settles its own result, which then does not merge
    /// with the common path's.
    #[cold]
    #[inline(never)]
    fn whole_many<'a>(&mut self, buf: &'a [u8], code: u16, minor: u8) -> Option<Parsed<'a>> {
        let (_, _, text_len, _) = strict_status_line(buf)?;
        let mut slots = [MaybeUninit::<httparse::Header<'_>>::uninit(); MANY_SLOTS];
        let mut response = httparse::Response::new(&mut []);
        let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut response,
            buf,
            &mut slots,
        ) {
            Ok(httparse::Status::Complete(len)) => len,
            _ => return None,
        };
        let httparse::Response { headers, .. } = response;
        let done = self.whole_done(buf, len, (code, minor, text_len), headers)?;
        Some(self.settle(buf, Ok(Status::Complete(done))))
    }

    /// The facts of a head `whole` found: `len` bytes of `buf`, its status line's code,
    /// minor version and length without the line end, its header lines.
    #[inline(always)]
    fn whole_done(
        &mut self,
        buf: &[u8],
        len: usize,
        (code, minor, text_len): (u16, u8, usize),
        headers: &[httparse::Header<'_>],
    ) -> Option<Done> {
        if len > self.max_len {
            return None;
        }
        let head = buf.get(..len)?;
        // The status line as `status_line` reads one httparse accepts: the reason from
        // byte 13 (`HTTP/1.x NNN `) to the line end.
        let status = (code, Some(minor), (text_len.min(13), text_len));
        self.facts = Facts {
            first_line: true,
            status_line: Some(status),
            ..Facts::NONE
        };
        if self.facts.whole_headers(head, headers).is_none() {
            // Not read after all (an odd empty value): the line-by-line path starts
            // from nothing.
            self.facts = Facts::NONE;
            return None;
        }
        self.line_start = len;
        self.searched = len;
        // What `finish` gives for a status line with a code (`whole` takes no other):
        // one result, built from values at hand rather than from the facts just
        // stored, and not merged with `finish`'s other cases (a merge that went
        // through the stack in narrow stores read back wide).
        Some(Done {
            len,
            status: code,
            reason: Reason::Range(status.2 .0, status.2 .1),
            version: Some(minor),
            cgi: false,
        })
    }
}

impl Facts {
    /// The status, once the blank line (ending at `len`) has arrived, as
    /// ngx_http_uwsgi_process_header picks it.
    #[inline(always)]
    fn finish(&self, len: usize) -> Result<Done, HeadError> {
        let version = self.status_line.and_then(|(_, version, _)| version);
        // A status line's code of 0 (`HTTP/1.1 000`) leaves nginx's status_n at 0: it
        // picks the status as for a head without a status line.
        if let Some((status, _, (start, end))) = self.status_line {
            if status != 0 {
                return Ok(Done {
                    len,
                    status,
                    reason: Reason::Range(start, end),
                    version,
                    cgi: false,
                });
            }
        }
        let (status, reason) = match self.cgi_status {
            Some(Ok((status, (start, end)))) => (status, Reason::Range(start, end)),
            Some(Err(at)) => return Err(HeadError::new(HeadErrorKind::InvalidStatus, at)),
            None if self.location => (302, Reason::Static(b"Moved Temporarily")),
            None => (200, Reason::Static(b"OK")),
        };
        Ok(Done {
            len,
            status,
            reason,
            version,
            cgi: true,
        })
    }
}

/// `bytes` without the CRs at its end.
fn trim_crs(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&b| b != b'\r')
        .map_or(0, |last| last + 1);
    bytes.get(..end).unwrap_or_default()
}

/// nginx's name and value of a valid header line's `content` (no CR or LF), and the
/// offset of the value in it. The name runs to the first colon, or is the whole line
/// when there is none (nginx: a header with an empty value). The value skips the spaces
/// after the colon and loses those at its end; tabs are part of it (nginx's
/// sw_space_before_value and sw_space_after_value know only the space).
fn split_header(content: &[u8]) -> (&[u8], &[u8], usize) {
    let Some(colon) = content.iter().position(|&b| b == b':') else {
        return (content, &[], content.len());
    };
    let name = content.get(..colon).unwrap_or_default();
    let after = content.get(colon + 1..).unwrap_or_default();
    let start = after.iter().position(|&b| b != b' ').unwrap_or(after.len());
    let end = after
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(start, |i| i + 1);
    let value = after.get(start..end).unwrap_or_default();
    (name, value, colon + 1 + start)
}

/// nginx's verdict on the bytes of a header line that are there (`bytes`: without its
/// LF, or the part of a line that has arrived): the kind and offset of the first bad
/// byte. Run only where httparse refused the line, or at the limit; this is
/// ngx_http_parse_header_line with `allow_underscores` (upstream), which differs from
/// httparse in that it accepts:
///
/// - name bytes outside RFC 9110's token: anything above space but DEL and `:` (nginx
///   flags them `invalid_header`, which only its client side acts on);
/// - a line with no colon (a header with an empty value);
/// - control bytes other than NUL, CR and LF in a value, DEL and a leading tab
///   included;
/// - any number of CRs before the LF that ends a header line (sw_almost_done stays on
///   a CR); the blank line, though, must be CRLF or LF (sw_header_almost_done);
/// - lines starting with `HTTP/` (skipped before this is called).
fn check_line(bytes: &[u8]) -> Result<(), (HeadErrorKind, usize)> {
    let content = trim_crs(bytes);
    let Some(&first) = content.first() else {
        // A blank line so far: CRLF is fine, a second CR is not.
        return if bytes.len() > 1 {
            Err((HeadErrorKind::BareCr, 0))
        } else {
            Ok(())
        };
    };
    if content.starts_with(b"HTTP/") {
        return Ok(());
    }
    match first {
        b' ' | b'\t' => return Err((HeadErrorKind::FoldedLine, 0)),
        b'\r' => return Err((HeadErrorKind::BareCr, 0)),
        b':' => return Err((HeadErrorKind::InvalidHeaderName, 0)),
        _ => {}
    }
    let mut in_value = false;
    for (at, &b) in content.iter().enumerate() {
        match b {
            // A CR inside the line (the CRs at its end are trimmed) is followed by
            // something else than CR or LF.
            b'\r' => return Err((HeadErrorKind::BareCr, at)),
            b'\0' if in_value => return Err((HeadErrorKind::InvalidHeaderValue, at)),
            b':' if !in_value => in_value = true,
            0..=0x20 | 0x7f if !in_value => return Err((HeadErrorKind::InvalidHeaderName, at)),
            _ => {}
        }
    }
    Ok(())
}

/// The status line a first line starting with `HTTP/` (`line`, its LF included, at
/// offset `start`) holds, if nginx accepts it as one: code, minor version and reason.
fn status_line(line: &[u8], start: usize) -> Option<StatusLine> {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    // ngx_http_parse_status_line's sw_almost_done: one CR before the LF, no other.
    let text = body.strip_suffix(b"\r").unwrap_or(body);
    // httparse's strict grammar first (`HTTP/1.0` or `HTTP/1.1`, one space, three
    // digits, then a space and a printable reason, or the end of the line); every line
    // it accepts nginx accepts too, its reason starting at byte 13.
    let mut response = httparse::Response::new(&mut []);
    if let (Ok(httparse::Status::Partial), Some(code), Some(minor)) =
        (response.parse(line), response.code, response.version)
    {
        let reason = text.len().min(13);
        return Some((code, Some(minor), (start + reason, start + text.len())));
    }
    let (major, minor, code, reason) = nginx_status_line(text)?;
    let version = if major == 1 {
        u8::try_from(minor).ok()
    } else {
        None
    };
    Some((code, version, (start + reason, start + text.len())))
}

/// httparse's grammar for a status line (`httparse::Response::parse` with its default
/// configuration), on the first line of `buf`: `HTTP/1.0` or `HTTP/1.1`, one space,
/// three digits, then the line end, or a space and a reason of tabs, spaces, visible
/// bytes and bytes over 0x7f up to the line end; the line end is CRLF or LF. Returns the
/// code, the minor version, the length of the line without its line end and with it;
/// `None` when the line is not complete or not in that grammar. nginx accepts every
/// such line as a status line, as [`status_line`] reads it.
#[inline]
fn strict_status_line(buf: &[u8]) -> Option<(u16, u8, usize, usize)> {
    let (version, rest) = buf.split_first_chunk::<8>()?;
    // One 8-byte compare, as httparse makes it.
    let minor = match u64::from_le_bytes(*version) {
        v if v == u64::from_le_bytes(*b"HTTP/1.1") => 1,
        v if v == u64::from_le_bytes(*b"HTTP/1.0") => 0,
        _ => return None,
    };
    let (&[space, hundreds, tens, ones], rest) = rest.split_first_chunk::<4>()?;
    let digit = |b: u8| b.is_ascii_digit().then(|| u16::from(b - b'0'));
    if space != b' ' {
        return None;
    }
    let code = digit(hundreds)? * 100 + digit(tens)? * 10 + digit(ones)?;
    // The bytes after the code: a reason (after a space) runs to the first byte that
    // may not be in one.
    let (text_len, rest) = match rest.split_first()? {
        (b' ', reason) => {
            let end = reason
                .iter()
                .position(|&b| !(b == b'\t' || (b >= b' ' && b != 0x7f)))?;
            (13 + end, reason.get(end..)?)
        }
        _ => (12, rest),
    };
    let line_end = match rest {
        [b'\n', ..] => 1,
        [b'\r', b'\n', ..] => 2,
        _ => return None,
    };
    Some((code, minor, text_len, text_len + line_end))
}

/// ngx_http_parse_status_line on one line's `text` (without its LF and the CR before
/// it), where httparse refused it: `(major, minor, code, reason offset)`. Beyond
/// httparse, nginx accepts
///
/// - any version `HTTP/M.m` with M from 1 and each number at most 999 (it checks
///   `> 99` before adding a digit; leading zeros are fine in the minor version);
/// - spaces before the code and between its digits (sw_status skips every space);
/// - `.` after the code (IIS's `403.1`);
/// - any byte but CR and LF in the reason, NUL included.
fn nginx_status_line(text: &[u8]) -> Option<(u16, u16, u16, usize)> {
    let mut at = 5;
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(u16::from(b - b'0')),
        _ => None,
    };
    text.strip_prefix(b"HTTP/")?;
    // sw_first_major_digit: 1 to 9.
    let mut major = match text.get(at) {
        Some(&b @ b'1'..=b'9') => u16::from(b - b'0'),
        _ => return None,
    };
    at += 1;
    // sw_major_digit: digits until the dot.
    loop {
        let b = *text.get(at)?;
        at += 1;
        if b == b'.' {
            break;
        }
        if major > 99 {
            return None;
        }
        major = major * 10 + digit(b)?;
    }
    // sw_first_minor_digit, then sw_minor_digit: digits until the space.
    let mut minor = digit(*text.get(at)?)?;
    at += 1;
    loop {
        let b = *text.get(at)?;
        at += 1;
        if b == b' ' {
            break;
        }
        if minor > 99 {
            return None;
        }
        minor = minor * 10 + digit(b)?;
    }
    // sw_status: three digits, spaces skipped before and between them.
    let mut code = 0;
    let mut count = 0;
    while count < 3 {
        let b = *text.get(at)?;
        at += 1;
        if b != b' ' {
            code = code * 10 + digit(b)?;
            count += 1;
        }
    }
    // sw_space_after_status: the end of the line, a space or a dot.
    let reason = match text.get(at) {
        None => at,
        Some(b' ') => at + 1,
        Some(b'.') => at,
        Some(_) => return None,
    };
    // sw_status_text: anything but CR (LF is not in `text`).
    if text.get(reason..)?.contains(&b'\r') {
        return None;
    }
    Some((major, minor, code, reason))
}

/// The first Status header's verdict (`value` at offset `at`): ngx_atoi of its first
/// three bytes (the value must be at least that long: nginx reads the NUL after a
/// shorter one), and the reason after the code and one space; or the offset of the
/// first byte that is not a digit.
fn cgi_status(value: &[u8], at: usize) -> Result<(u16, Span), usize> {
    let mut code = 0;
    for i in 0..3 {
        match value.get(i) {
            Some(&b) if b.is_ascii_digit() => code = code * 10 + u16::from(b - b'0'),
            _ => return Err(at + i),
        }
    }
    let reason = if value.get(3) == Some(&b' ') { 4 } else { 3 };
    Ok((code, (at + reason, at + value.len())))
}

/// ngx_atoof: one or more digits, at most `i64::MAX` (NGX_MAX_OFF_T_VALUE).
#[inline(always)]
fn atoof(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    // 18 digits stay under 10^18, below `i64::MAX`: no overflow to check for, which
    // halves the work per digit of every real length.
    if value.len() <= 18 {
        let mut n: u64 = 0;
        for &b in value {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            n = n * 10 + u64::from(digit);
        }
        return Some(n);
    }
    atoof_long(value)
}

/// [`atoof`] for a value of 19 digits or more, where the limit may be passed.
#[cold]
#[inline(never)]
fn atoof_long(value: &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    (n <= i64::MAX.unsigned_abs()).then_some(n)
}

/// True when `value` holds `chunked`, in any case.
fn contains_chunked(value: &[u8]) -> bool {
    value
        .windows(7)
        .any(|window| window.eq_ignore_ascii_case(b"chunked"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::convert::ByteStr;

    /// The verdict when the head arrives whole (the one-pass path, where it applies) and
    /// when its first byte arrives alone first (the line-by-line path, always).
    fn both(wire: &[u8], max: usize) -> [Result<Status<(ResponseHead<'_>, usize)>, HeadError>; 2] {
        let whole = HeadParser::new(max).parse(wire);
        let mut parser = HeadParser::new(max);
        let first = parser.parse(wire.get(..1).unwrap_or_default());
        let split = if wire.len() > 1 && matches!(first, Ok(Status::Partial { .. })) {
            parser.parse(wire)
        } else {
            HeadParser::new(max).parse(wire)
        };
        [whole, split]
    }

    /// Heads the one-pass path reads (or nearly: each byte is also replaced with the
    /// bytes where httparse's and nginx's rules differ), compared with the line-by-line
    /// path: the same head, status, reason, version, Content-Length and chunked flag,
    /// or the same error at the same offset.
    #[test]
    fn the_one_pass_path_gives_the_line_by_line_verdict() {
        let heads: [&[u8]; 14] = [
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nbody",
            b"HTTP/1.0 404 Not Found\nContent-Length: 0\n\n",
            b"HTTP/1.1 204\r\n\r\n",
            b"HTTP/1.1 201 \r\nLocation: /x\r\n\r\n",
            b"HTTP/1.1 000 X\r\nStatus: 404 Gone\r\nLocation: /y\r\n\r\n",
            b"HTTP/1.1 000\r\nStatus:  503  Busy \r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length:\t4\r\nTransfer-Encoding: gzip,\tchunked\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\t\r\nContent-Length:  7  \r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length:\r\nStatus:\r\nLocation:\t\r\n\r\n",
            b"HTTP/1.1 200 \xe9t\xe9\r\nX: \x80\r\nCONTENT-length: 9\r\n\r\n",
            b"HTTP/1.1 302 Found\r\nStatus: 200\r\nlocation: /z\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\nContent-Length: 3\r\n\r\n",
            // Borders next to the plain `Name: value` line: no space, two, one after.
            b"HTTP/1.1 200 OK\r\nContent-Length:7\r\nLocation:  /a\r\nStatus: 201 \r\n\r\n",
            // Lengths of 19 digits and more (the overflow-checked path of `atoof`).
            b"HTTP/1.1 200 OK\nContent-Length: 9223372036854775807\nContent-Length: 0000000000000000000012\n\n",
        ];
        let mut wire = Vec::new();
        for head in heads {
            let [whole, split] = both(head, 4096);
            assert_eq!(whole, split, "{:?}", ByteStr(head));
            assert!(
                matches!(whole, Ok(Status::Complete(_))),
                "{:?}",
                ByteStr(head)
            );
            for at in 0..head.len() {
                for byte in [b'\t', b' ', b'\r', b'\n', 0, 0x7f, 0x80, b':', b'0', b'a'] {
                    wire.clear();
                    wire.extend_from_slice(head);
                    wire[at] = byte;
                    let [whole, split] = both(&wire, 4096);
                    assert_eq!(whole, split, "{:?}", ByteStr(&wire));
                }
            }
            // The limit: the head fits exactly, or by one byte too few.
            let len = whole.map_or(0, |s| s.complete().map_or(0, |(_, n)| n));
            for max in [len, len - 1] {
                let [whole, split] = both(head, max);
                assert_eq!(whole, split, "max {max}: {:?}", ByteStr(head));
            }
        }
    }

    /// `atoof` against ngx_atoof's definition, around the length where it stops
    /// checking for overflow.
    #[test]
    fn atoof_reads_what_ngx_atoof_reads() {
        let reference = |value: &[u8]| {
            let digits = !value.is_empty() && value.iter().all(u8::is_ascii_digit);
            let text = core::str::from_utf8(value).ok()?;
            let n = text.parse::<u64>().ok().filter(|_| digits)?;
            (n <= i64::MAX.unsigned_abs()).then_some(n)
        };
        let mut values: Vec<Vec<u8>> = [
            &b""[..],
            b"0",
            b"12",
            b"+1",
            b"1a",
            b" 1",
            b"9223372036854775807",
            b"9223372036854775808",
            b"18446744073709551615",
            b"18446744073709551616",
            b"00000000000000000000000042",
        ]
        .iter()
        .map(|v| v.to_vec())
        .collect();
        for len in 1..=21 {
            values.push(vec![b'9'; len]);
            let mut bad = vec![b'1'; len];
            bad[len - 1] = b'/';
            values.push(bad);
        }
        for value in &values {
            assert_eq!(atoof(value), reference(value), "{:?}", ByteStr(value));
        }
    }

    /// More header lines than the one-pass path's first slots, and more than all of
    /// them: the same verdicts.
    #[test]
    fn many_header_lines_give_the_same_verdict() {
        for count in [0, 7, 8, 9, 99, 100, 101, 150] {
            let mut wire = b"HTTP/1.1 200 OK\r\n".to_vec();
            for i in 0..count {
                wire.extend_from_slice(format!("X-H-{i}: {i}\r\n").as_bytes());
            }
            wire.extend_from_slice(b"Content-Length: 5\r\n\r\n");
            let [whole, split] = both(&wire, 64 * 1024);
            assert_eq!(whole, split, "{count} headers");
            let (head, _) = whole.unwrap().complete().unwrap();
            assert_eq!(head.content_length(), Some(5));
            assert_eq!(head.headers().count(), count + 1);
        }
    }
}
