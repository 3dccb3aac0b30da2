//! The resumable parser: nginx's verdict on a response head, line by line or, for a
//! whole head httparse accepts, in one pass.

use core::mem::MaybeUninit;

use super::grammar::{
    atoof, cgi_status, check_line, contains_chunked, split_header, status_line, strict_status_line,
    trim_crs, Span, StatusLine,
};
use super::{HeadFacts, Reason, ResponseHead};
use crate::exchange::error::{ExchangeError, ExchangeErrorKind, HeadErrorKind};
use crate::wire::convert::to_u64;
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

/// A head error at `offset` from the head's first byte.
fn head_error(kind: HeadErrorKind, offset: usize) -> ExchangeError {
    ExchangeError::new(ExchangeErrorKind::Head(kind), to_u64(offset))
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
/// # Ok::<(), uwsgi_wire::exchange::ExchangeError>(())
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
    outcome: Option<Result<Done, ExchangeError>>,
}

/// What [`HeadParser::parse`] returns.
type Parsed<'a> = Result<Status<(ResponseHead<'a>, usize)>, ExchangeError>;

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
    /// use uwsgi_wire::exchange::{ExchangeErrorKind, HeadErrorKind, HeadParser};
    /// let head = [&b"HTTP/1.1 200 OK\r\nX-Pad: "[..], &[b'a'; 8], b"\r\n\r\n"].concat(); // 36 bytes
    /// assert!(HeadParser::new(36).parse(&head)?.is_complete());
    /// let err = HeadParser::new(35).parse(&head).unwrap_err();
    /// assert_eq!(err.kind(), ExchangeErrorKind::Head(HeadErrorKind::TooLarge { limit: 35 }));
    /// # Ok::<(), uwsgi_wire::exchange::ExchangeError>(())
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
    /// use uwsgi_wire::exchange::{ExchangeErrorKind, HeadErrorKind, HeadParser};
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
    /// assert_eq!((err.kind(), err.offset()), (ExchangeErrorKind::Head(HeadErrorKind::FoldedLine), 17));
    /// # Ok::<(), uwsgi_wire::exchange::ExchangeError>(())
    /// ```
    pub fn parse<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(ResponseHead<'a>, usize)>, ExchangeError> {
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
        outcome: Result<Status<Done>, ExchangeError>,
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
        let facts = HeadFacts {
            status: done.status,
            reason: done.reason,
            version: done.version,
            cgi: done.cgi,
            content_length: (self.facts.content_length != NO_LENGTH)
                .then_some(self.facts.content_length),
            chunked: self.facts.chunked,
        };
        let head = ResponseHead {
            bytes: buf.get(..done.len).unwrap_or_default(),
            facts,
        };
        (head, done.len)
    }

    /// Checks every line completed since the last call: the line-by-line path, for
    /// every head the one-pass path ([`whole`](HeadParser::whole)) does not read.
    fn advance(&mut self, buf: &[u8]) -> Result<Status<Done>, ExchangeError> {
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
            check_line(partial).map_err(|(kind, at)| head_error(kind, self.line_start + at))?;
            return Err(head_error(
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
    fn line(&mut self, line: &[u8], start: usize) -> Result<(), ExchangeError> {
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
            check_line(body).map_err(|(kind, at)| head_error(kind, start + at))?;
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
    fn finish(&self, len: usize) -> Result<Done, ExchangeError> {
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
            Some(Err(at)) => return Err(head_error(HeadErrorKind::InvalidStatus, at)),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The verdict when the head arrives whole (the one-pass path, where it applies) and
    /// when its first byte arrives alone first (the line-by-line path, always).
    fn both(
        wire: &[u8],
        max: usize,
    ) -> [Result<Status<(ResponseHead<'_>, usize)>, ExchangeError>; 2] {
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
            assert_eq!(whole, split, "{:?}", crate::wire::convert::ByteStr(head));
            assert!(
                matches!(whole, Ok(Status::Complete(_))),
                "{:?}",
                crate::wire::convert::ByteStr(head)
            );
            for at in 0..head.len() {
                for byte in [b'\t', b' ', b'\r', b'\n', 0, 0x7f, 0x80, b':', b'0', b'a'] {
                    wire.clear();
                    wire.extend_from_slice(head);
                    wire[at] = byte;
                    let [whole, split] = both(&wire, 4096);
                    assert_eq!(whole, split, "{:?}", crate::wire::convert::ByteStr(&wire));
                }
            }
            // The limit: the head fits exactly, or by one byte too few.
            let len = whole.map_or(0, |s| s.complete().map_or(0, |(_, n)| n));
            for max in [len, len - 1] {
                let [whole, split] = both(head, max);
                assert_eq!(
                    whole,
                    split,
                    "max {max}: {:?}",
                    crate::wire::convert::ByteStr(head)
                );
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
            assert_eq!(
                atoof(value),
                reference(value),
                "{:?}",
                crate::wire::convert::ByteStr(value)
            );
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
