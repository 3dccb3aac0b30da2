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

mod grammar;
mod parser;

pub use parser::HeadParser;

use grammar::{split_header, trim_crs};

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
/// # Ok::<(), uwsgi_wire::exchange::ExchangeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) facts: HeadFacts,
}

/// What a parse found out about a head, apart from its bytes: an owned head keeps these
/// beside its buffer and rebuilds the view without parsing again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeadFacts {
    pub(super) status: u16,
    pub(super) reason: Reason,
    pub(super) version: Option<u8>,
    pub(super) cgi: bool,
    pub(super) content_length: Option<u64>,
    pub(super) chunked: bool,
}

/// Where the reason phrase is: in the head, or one of nginx's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reason {
    Range(usize, usize),
    Static(&'static [u8]),
}

impl<'a> ResponseHead<'a> {
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
        self.facts.status
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
    pub fn reason(&self) -> &'a [u8] {
        match self.facts.reason {
            Reason::Range(start, end) => self.bytes.get(start..end).unwrap_or_default(),
            Reason::Static(text) => text,
        }
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
        self.facts.version
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
        self.facts.cgi
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
        self.facts.content_length
    }

    /// True when a `Transfer-Encoding` header names `chunked` (nginx's test: the value
    /// holds `chunked` in any case). nginx 1.22's uwsgi module does not de-chunk: it
    /// passes such a body on as it came, up to the end of the stream (or Content-Length).
    ///
    /// ```
    /// use uwsgi_wire::exchange::HeadParser;
    /// let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n";
    /// assert!(HeadParser::new(4096).parse(wire)?.complete().unwrap().0.is_chunked());
    /// # Ok::<(), uwsgi_wire::exchange::ExchangeError>(())
    /// ```
    pub const fn is_chunked(&self) -> bool {
        self.facts.chunked
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
    /// # Ok::<(), uwsgi_wire::exchange::ExchangeError>(())
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
    /// # Ok::<(), uwsgi_wire::exchange::ExchangeError>(())
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
    /// # Ok::<(), uwsgi_wire::exchange::ExchangeError>(())
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
