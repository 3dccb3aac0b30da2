//! Response heads agree: every crafted HTTP/1.x response head goes through the real
//! nginx 1.22 (`uwsgi_pass` to a listener here that answers it), and the test asserts
//! that `exchange::HeadParser` gives nginx's verdict: refused where nginx answers 502
//! ("upstream sent invalid header", "... invalid status", "... too big header"),
//! otherwise the same status, the same header lines passed on and the same body length.
//!
//! Each case names the nginx rule it probes (src/http/ngx_http_parse.c
//! `ngx_http_parse_status_line` / `ngx_http_parse_header_line`,
//! src/http/modules/ngx_http_uwsgi_module.c `ngx_http_uwsgi_process_header`,
//! src/http/ngx_http_upstream.c). The table of results is in `tests/conformance/README.md`
//! ("Response heads"); run with `--nocapture` to print it.

use std::io::{ErrorKind as IoErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use uwsgi_wire::exchange::{ExchangeErrorKind, HeadErrorKind, HeadParser};
use uwsgi_wire::{Limits, Packet, Status};

use crate::harness::{poll, require, Peer, TempDir, NGINX};

/// nginx's `uwsgi_buffer_size`, set explicitly in the config (its default is one page).
const BUFFER_SIZE: usize = 4096;

const TIMEOUT: Duration = Duration::from_secs(20);

/// `(name, what it probes, head bytes and body)`.
fn cases() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    const SL: &[u8] = b"HTTP/1.1 200 OK\r\n";
    let with_sl = |rest: &[u8]| [SL, rest].concat();
    let sized = |n: usize| {
        let mut wire = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
        wire.resize(n - 4, b'a');
        wire.extend_from_slice(b"\r\n\r\n");
        wire
    };
    let c = |name, rule, wire: &[u8]| (name, rule, wire.to_vec());
    vec![
        // ---- status lines (ngx_http_parse_status_line)
        c(
            "plain",
            "status line",
            b"HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 4\r\n\r\nbody",
        ),
        c(
            "no reason",
            "sw_space_after_status: CR",
            b"HTTP/1.1 204\r\n\r\n",
        ),
        c(
            "empty reason",
            "sw_status_text",
            b"HTTP/1.1 201 \r\nX-A: 1\r\n\r\n",
        ),
        c(
            "HTTP/1.0",
            "sw_minor_digit",
            b"HTTP/1.0 201 Created\r\n\r\n",
        ),
        c(
            "HTTP/2.0",
            "sw_first_major_digit 1-9",
            b"HTTP/2.0 201 Created\r\n\r\n",
        ),
        c(
            "HTTP/2 without minor",
            "sw_major_digit needs '.'",
            b"HTTP/2 201 Created\r\n\r\n",
        ),
        c(
            "HTTP/1 without minor",
            "sw_major_digit needs '.'",
            b"HTTP/1 404 Nope\r\n\r\n",
        ),
        c(
            "HTTP/1.999",
            "minor > 99 before a digit",
            b"HTTP/1.999 201 X\r\n\r\n",
        ),
        c(
            "HTTP/1.1000",
            "minor > 99 before a digit",
            b"HTTP/1.1000 201 X\r\n\r\n",
        ),
        c(
            "HTTP/999.1",
            "major > 99 before a digit",
            b"HTTP/999.1 201 X\r\n\r\n",
        ),
        c(
            "HTTP/0.9",
            "sw_first_major_digit 1-9",
            b"HTTP/0.9 201 X\r\n\r\n",
        ),
        c(
            "HTTP/01.1",
            "sw_first_major_digit 1-9",
            b"HTTP/01.1 404 X\r\n\r\n",
        ),
        c(
            "2-digit status",
            "sw_status: 3 digits",
            b"HTTP/1.1 40 X\r\n\r\n",
        ),
        c(
            "4-digit status",
            "sw_space_after_status",
            b"HTTP/1.1 4040 X\r\n\r\n",
        ),
        c("status 099", "any 3 digits", b"HTTP/1.1 099 X\r\n\r\n"),
        c("status 600", "any 3 digits", b"HTTP/1.1 600 X\r\n\r\n"),
        c("status 999", "any 3 digits", b"HTTP/1.1 999 X\r\n\r\n"),
        c(
            "status 000",
            "status_n 0: CGI rules",
            b"HTTP/1.1 000 X\r\n\r\n",
        ),
        c(
            "status 000 + Status",
            "status_n 0: CGI rules",
            b"HTTP/1.1 000 X\r\nStatus: 404 N\r\n\r\n",
        ),
        c(
            "status 100",
            "1xx is final",
            b"HTTP/1.1 100 Continue\r\n\r\n",
        ),
        c(
            "spaces between digits",
            "sw_status skips spaces",
            b"HTTP/1.1 4 0 4 X\r\n\r\n",
        ),
        c(
            "spaces before code",
            "sw_status skips spaces",
            b"HTTP/1.1    404 X\r\n\r\n",
        ),
        c(
            "tab before code",
            "sw_minor_digit: space only",
            b"HTTP/1.1\t404 X\r\n\r\n",
        ),
        c(
            "no space after code",
            "sw_space_after_status",
            b"HTTP/1.1 404OK\r\n\r\n",
        ),
        c("no code", "sw_status", b"HTTP/1.1 \r\n\r\n"),
        c(
            "IIS 403.1",
            "sw_space_after_status '.'",
            b"HTTP/1.1 403.1 Forbidden\r\n\r\n",
        ),
        c(
            "lowercase http/",
            "sw_start 'H', then a header",
            b"http/1.1 404 X\r\n\r\n",
        ),
        c(
            "Http/",
            "IIS rule is case-sensitive",
            b"Http/1.1 200 OK\r\n\r\n",
        ),
        c(
            "leading space",
            "sw_start 'H', then a header",
            b" HTTP/1.1 404 X\r\n\r\n",
        ),
        c(
            "leading blank line",
            "empty head",
            b"\r\nHTTP/1.1 404 X\r\n\r\n",
        ),
        c(
            "LF line ends",
            "LF alone ends a line",
            b"HTTP/1.1 404 X\nA: b\n\nbody",
        ),
        c(
            "bare CR in reason",
            "sw_almost_done",
            b"HTTP/1.1 404 X\rY\r\n\r\n",
        ),
        c(
            "CR CR LF after reason",
            "sw_almost_done",
            b"HTTP/1.1 404 X\r\r\nA: b\r\n\r\n",
        ),
        c(
            "NUL in reason",
            "sw_status_text: any byte",
            b"HTTP/1.1 404 X\x00Y\r\n\r\n",
        ),
        c(
            "control in reason",
            "sw_status_text: any byte",
            b"HTTP/1.1 404 X\x01Y\r\n\r\n",
        ),
        c(
            "0xE9 in reason",
            "sw_status_text: any byte",
            b"HTTP/1.1 404 caf\xe9\r\n\r\n",
        ),
        c(
            "second status line",
            "IIS rule: HTTP/ lines skipped",
            b"HTTP/1.1 404 X\r\nHTTP/1.1 200 OK\r\nA: b\r\n\r\n",
        ),
        c(
            "junk HTTP/ line",
            "IIS rule: HTTP/ lines skipped",
            b"HTTP/1.1 404 X\r\nHTTP/\x00\rjunk\r\n\r\n",
        ),
        c(
            "HTTPX header",
            "IIS rule needs '/' at 4",
            b"HTTPX: 1\r\n\r\n",
        ),
        c("HTTP header", "IIS rule needs '/' at 4", b"HTTP: 1\r\n\r\n"),
        // ---- CGI Status (ngx_http_uwsgi_process_header)
        c("Status: 404", "ngx_atoi(value, 3)", b"Status: 404\r\n\r\n"),
        c(
            "Status: 404 Not Found",
            "ngx_atoi(value, 3)",
            b"Status: 404 Not Found\r\n\r\n",
        ),
        c(
            "Status: 4041",
            "ngx_atoi(value, 3)",
            b"Status: 4041\r\n\r\n",
        ),
        c(
            "Status: 404abc",
            "ngx_atoi(value, 3)",
            b"Status: 404abc\r\n\r\n",
        ),
        c("Status: abc", "ngx_atoi(value, 3)", b"Status: abc\r\n\r\n"),
        c("Status: 40", "ngx_atoi(value, 3)", b"Status: 40\r\n\r\n"),
        c(
            "Status: 40 + space",
            "value loses trailing spaces",
            b"Status: 40 \r\n\r\n",
        ),
        c("Status: empty", "ngx_atoi(value, 3)", b"Status:\r\n\r\n"),
        c("Status: -40", "ngx_atoi(value, 3)", b"Status: -40\r\n\r\n"),
        c(
            "Status: tab 404",
            "sw_space_before_value: space only",
            b"Status:\t404\r\n\r\n",
        ),
        c(
            "Status: spaces 404",
            "sw_space_before_value",
            b"Status:    404\r\n\r\n",
        ),
        c("Status: 099", "any 3 digits", b"Status: 099 X\r\n\r\n"),
        c("Status: 000", "any 3 digits", b"Status: 000 X\r\n\r\n"),
        c("Status: 600", "any 3 digits", b"Status: 600 X\r\n\r\n"),
        c(
            "status: lower case",
            "header hash is lower case",
            b"status: 404 X\r\n\r\n",
        ),
        c(
            "STATUS: upper case",
            "header hash is lower case",
            b"STATUS: 404 X\r\n\r\n",
        ),
        c(
            "two Status",
            "first one counts",
            b"Status: 404 X\r\nStatus: 500 Y\r\n\r\n",
        ),
        c(
            "two Status, first bad",
            "first one counts",
            b"Status: abc\r\nStatus: 500 Y\r\n\r\n",
        ),
        c(
            "two Status, second bad",
            "first one counts",
            b"Status: 404\r\nStatus: abc\r\n\r\n",
        ),
        c(
            "Status line + Status",
            "status line wins",
            &with_sl(b"Status: 404 X\r\n\r\n"),
        ),
        c(
            "Status line + bad Status",
            "status line wins",
            &with_sl(b"Status: abc\r\n\r\n"),
        ),
        c(
            "no Status",
            "default 200",
            b"Content-Type: text/plain\r\n\r\n",
        ),
        c(
            "Location",
            "default 302 with Location",
            b"Location: /x\r\n\r\n",
        ),
        c(
            "Location + Status",
            "Status wins",
            b"Location: /x\r\nStatus: 301 M\r\n\r\n",
        ),
        c(
            "empty Location",
            "default 302 with Location",
            b"Location:\r\n\r\n",
        ),
        c("empty head", "sw_start: CR LF", b"\r\n"),
        c("empty head, LF", "sw_start: LF", b"\nbody"),
        // ---- header lines (ngx_http_parse_header_line, allow_underscores)
        c(
            "no colon",
            "sw_name: CR ends the name",
            &with_sl(b"Foo\r\n\r\n"),
        ),
        c(
            "no colon, CGI",
            "sw_name: CR ends the name",
            b"Foo\r\nStatus: 404\r\n\r\n",
        ),
        c(
            "no colon, CR CR LF",
            "sw_almost_done: CR",
            &with_sl(b"Foo\r\r\n\r\n"),
        ),
        c(
            "underscore",
            "allow_underscores",
            &with_sl(b"X_Under: 1\r\n\r\n"),
        ),
        c(
            "leading underscore",
            "allow_underscores",
            &with_sl(b"_x: 1\r\n\r\n"),
        ),
        c(
            "parens in name",
            "invalid_header ignored",
            &with_sl(b"X(Y): 1\r\n\r\n"),
        ),
        c(
            "slash in name",
            "invalid_header ignored",
            &with_sl(b"X/Y: 1\r\n\r\n"),
        ),
        c(
            "leading slash in name",
            "invalid_header ignored",
            &with_sl(b"/x: 1\r\n\r\n"),
        ),
        c(
            "quote and braces in name",
            "invalid_header ignored",
            &with_sl(b"X\"Y{}: 1\r\n\r\n"),
        ),
        c(
            "0xE9 in name",
            "invalid_header ignored",
            &with_sl(b"X\xe9: 1\r\n\r\n"),
        ),
        c(
            "DEL in name",
            "sw_name: 0x7f",
            &with_sl(b"X\x7fY: 1\r\n\r\n"),
        ),
        c(
            "control in name",
            "sw_name: <= 0x20",
            &with_sl(b"X\x01Y: 1\r\n\r\n"),
        ),
        c(
            "space before colon",
            "sw_name: <= 0x20",
            &with_sl(b"X-A : 1\r\n\r\n"),
        ),
        c(
            "tab before colon",
            "sw_name: <= 0x20",
            &with_sl(b"X-A\t: 1\r\n\r\n"),
        ),
        c("empty name", "sw_start: ':'", &with_sl(b": 1\r\n\r\n")),
        c(
            "obs-fold space",
            "sw_start: <= 0x20",
            &with_sl(b"X-A: 1\r\n 2\r\n\r\n"),
        ),
        c(
            "obs-fold tab",
            "sw_start: <= 0x20",
            &with_sl(b"X-A: 1\r\n\t2\r\n\r\n"),
        ),
        c(
            "NUL in name",
            "sw_name: <= 0x20",
            &with_sl(b"X\x00A: 1\r\n\r\n"),
        ),
        c(
            "NUL in value",
            "sw_value: NUL",
            &with_sl(b"X-A: 1\x002\r\n\r\n"),
        ),
        c(
            "NUL starts value",
            "sw_space_before_value: NUL",
            &with_sl(b"X-A: \x002\r\n\r\n"),
        ),
        c(
            "0xE9 in value",
            "sw_value: any byte",
            &with_sl(b"X-A: caf\xe9\r\n\r\n"),
        ),
        c(
            "controls in value",
            "sw_value: any byte",
            &with_sl(b"X-A: a\x01b\x7fc\r\n\r\n"),
        ),
        c(
            "tabs in value",
            "spaces only are trimmed",
            &with_sl(b"X-A:\ta\tb\t\r\n\r\n"),
        ),
        c(
            "trailing spaces",
            "sw_space_after_value",
            &with_sl(b"X-A: a b  \r\n\r\n"),
        ),
        c(
            "spaces-only value",
            "sw_space_before_value",
            &with_sl(b"X-A:   \r\n\r\n"),
        ),
        c(
            "bare CR in value",
            "sw_almost_done",
            &with_sl(b"X-A: a\rb\r\n\r\n"),
        ),
        c(
            "bare CR in name",
            "sw_almost_done",
            &with_sl(b"X\rY: 1\r\n\r\n"),
        ),
        c(
            "CR CR LF after value",
            "sw_almost_done: CR",
            &with_sl(b"X-A: a\r\r\nX-B: 2\r\n\r\n"),
        ),
        c(
            "bare CR at line start",
            "sw_header_almost_done",
            &with_sl(b"X-A: a\r\n\rX\r\n\r\n"),
        ),
        c(
            "CR CR LF blank line",
            "sw_header_almost_done",
            &with_sl(b"X-A: a\r\n\r\r\n"),
        ),
        c(
            "LF line ends in headers",
            "LF alone ends a line",
            &with_sl(b"X-A: a\nX-B: b\n\n"),
        ),
        c(
            "duplicate headers",
            "headers kept in order",
            &with_sl(b"X-A: 1\r\nX-A: 2\r\n\r\n"),
        ),
        c(
            "HTTP/ line in CGI head",
            "IIS rule",
            b"X: 1\r\nHTTP/1.1 404 N\r\n\r\n",
        ),
        // ---- Content-Length and Transfer-Encoding (ngx_http_upstream.c)
        c(
            "two equal Content-Length",
            "last one counts",
            &with_sl(b"Content-Length: 4\r\nContent-Length: 4\r\n\r\nbody"),
        ),
        c(
            "two Content-Length, 4 then 2",
            "last one counts",
            &with_sl(b"Content-Length: 4\r\nContent-Length: 2\r\n\r\nbody"),
        ),
        c(
            "two Content-Length, 2 then 4",
            "last one counts",
            &with_sl(b"Content-Length: 2\r\nContent-Length: 4\r\n\r\nbody"),
        ),
        c(
            "Content-Length 4 then abc",
            "last one counts",
            &with_sl(b"Content-Length: 4\r\nContent-Length: abc\r\n\r\nbody"),
        ),
        c(
            "non-numeric Content-Length",
            "ngx_atoof",
            &with_sl(b"Content-Length: abc\r\n\r\nbody"),
        ),
        c(
            "Content-Length +4",
            "ngx_atoof",
            &with_sl(b"Content-Length: +4\r\n\r\nbody"),
        ),
        c(
            "empty Content-Length",
            "ngx_atoof",
            &with_sl(b"Content-Length:\r\n\r\nbody"),
        ),
        c(
            "Content-Length tab 4",
            "ngx_atoof",
            &with_sl(b"Content-Length:\t4\r\n\r\nbody"),
        ),
        c(
            "Content-Length trailing space",
            "ngx_atoof",
            &with_sl(b"Content-Length: 2 \r\n\r\nbody"),
        ),
        c(
            "Content-Length 2^63",
            "ngx_atoof overflow",
            &with_sl(b"Content-Length: 9223372036854775808\r\n\r\nbody"),
        ),
        c(
            "Content-Length + chunked",
            "not refused in 1.22",
            &with_sl(b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\nbody"),
        ),
        c(
            "chunked",
            "uwsgi does not de-chunk",
            &with_sl(b"Transfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n"),
        ),
        c(
            "gzip, CHUNKED",
            "ngx_strlcasestrn",
            &with_sl(b"Transfer-Encoding: gzip, CHUNKED\r\n\r\nbody"),
        ),
        // ---- the limit (uwsgi_buffer_size)
        (
            "head of 4095 bytes",
            "buffer holds the head",
            sized(BUFFER_SIZE - 1),
        ),
        (
            "head of 4096 bytes",
            "buffer holds the head",
            sized(BUFFER_SIZE),
        ),
        (
            "head of 4096 bytes + body",
            "buffer holds the head",
            [sized(BUFFER_SIZE), b"body".to_vec()].concat(),
        ),
        (
            "head of 4097 bytes",
            "too big header",
            sized(BUFFER_SIZE + 1),
        ),
        ("NUL, then no end", "invalid before full", {
            let mut wire = b"HTTP/1.1 200 OK\r\nX-A: a\0".to_vec();
            wire.resize(6000, b'a');
            wire
        }),
    ]
}

/// What nginx made of a head.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// 502: nginx's reason ("upstream sent invalid header", "... invalid status",
    /// "... too big header") and, for an invalid header, where in its line the bad byte
    /// is and its value (nginx logs the line up to it, then the byte in hex).
    Refused {
        why: &'static str,
        at: Option<(usize, u8)>,
        log: String,
    },
    /// The status (`$upstream_status`), the header lines passed on, the body length.
    Accepted {
        status: u16,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        content_length: Option<u64>,
    },
}

impl Verdict {
    /// The same verdict: for refusals, the same reason and bad byte.
    fn agrees(&self, other: &Verdict) -> bool {
        match (self, other) {
            (
                Verdict::Refused { why, at, .. },
                Verdict::Refused {
                    why: why2, at: at2, ..
                },
            ) => why == why2 && at == at2,
            (a, b) => a == b,
        }
    }
}

const INVALID_HEADER: &str = "upstream sent invalid header";
const INVALID_STATUS: &str = "upstream sent invalid status";
const TOO_BIG: &str = "upstream sent too big header";

/// Headers nginx makes itself, hides, or moves: not compared.
fn compared(name: &[u8]) -> bool {
    ![
        &b"server"[..],
        b"date",
        b"content-length",
        b"transfer-encoding",
        b"connection",
        b"keep-alive",
        b"content-type",
    ]
    .iter()
    .any(|n| name.eq_ignore_ascii_case(n))
}

/// Our verdict, in the same terms.
fn ours(wire: &[u8]) -> Verdict {
    match HeadParser::new(BUFFER_SIZE).parse(wire) {
        Ok(Status::Complete((head, _))) => Verdict::Accepted {
            status: head.status(),
            headers: head
                .headers()
                .filter(|(name, _)| compared(name))
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_vec()))
                .collect(),
            content_length: body_length(head.status(), head.content_length()),
        },
        Ok(Status::Partial { .. }) => panic!("incomplete: {wire:?}"),
        Err(err) => {
            let (why, at) = match err.kind() {
                ExchangeErrorKind::Head(HeadErrorKind::InvalidStatus) => (INVALID_STATUS, None),
                ExchangeErrorKind::Head(HeadErrorKind::TooLarge { .. }) => (TOO_BIG, None),
                _ => {
                    // Where the bad byte is in its line.
                    let offset = usize::try_from(err.offset()).unwrap();
                    let line_start = wire[..offset]
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |lf| lf + 1);
                    (INVALID_HEADER, Some((offset - line_start, wire[offset])))
                }
            };
            Verdict::Refused {
                why,
                at,
                log: err.to_string(),
            }
        }
    }
}

/// nginx sends no Content-Length (nor a body) for 1xx, 204 and 304.
fn body_length(status: u16, content_length: Option<u64>) -> Option<u64> {
    if status < 200 || status == 204 || status == 304 {
        None
    } else {
        content_length
    }
}

/// A listener answering request `/case/<n>` with `cases[n]`, then closing.
struct Backend {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Backend {
    fn start(cases: Arc<Vec<Vec<u8>>>) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind backend");
        let port = listener.local_addr().expect("backend addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    answer(conn, &cases);
                }
            }
        });
        Backend {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads the request packet, writes the case's bytes, closes.
fn answer(mut conn: TcpStream, cases: &[Vec<u8>]) {
    let _ = conn.set_read_timeout(Some(TIMEOUT));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let index = loop {
        if let Ok(Status::Complete((packet, _))) = Packet::parse(&buf, &Limits::new()) {
            let uri = packet
                .vars()
                .and_then(|vars| vars.get(b"REQUEST_URI"))
                .unwrap_or_default();
            break std::str::from_utf8(uri)
                .ok()
                .and_then(|uri| uri.strip_prefix("/case/"))
                .and_then(|n| n.parse::<usize>().ok());
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    if let Some(wire) = index.and_then(|i| cases.get(i)) {
        let _ = conn.write_all(wire);
    }
    let _ = conn.shutdown(Shutdown::Write);
    // Let nginx read everything before the socket goes (a close with unread request
    // bytes would reset the connection).
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    while matches!(conn.read(&mut chunk), Ok(n) if n > 0) {}
}

/// nginx with `uwsgi_pass` to `backend`, `uwsgi_buffer_size 4k`, and an access log of
/// `$request_uri $status $upstream_status` (`verdict.log`).
fn nginx(dir: &TempDir, backend: u16) -> (Peer, u16) {
    let d = dir.path().display().to_string();
    crate::peers::nginx_http(
        dir,
        &format!(
            "log_format verdict '$request_uri $status $upstream_status';
    access_log {d}/verdict.log verdict;"
        ),
        &format!(
            "location / {{
            include /etc/nginx/uwsgi_params;
            uwsgi_buffer_size {BUFFER_SIZE};
            uwsgi_pass 127.0.0.1:{backend};
        }}"
        ),
    )
}

/// Sends `GET /case/<n>` and reads the whole response (nginx closes after it).
fn fetch(port: u16, n: usize) -> Vec<u8> {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect to nginx");
    conn.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    write!(
        conn,
        "GET /case/{n} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("send request");
    let mut response = Vec::new();
    match conn.read_to_end(&mut response) {
        Ok(_) => {}
        Err(e) if e.kind() == IoErrorKind::ConnectionReset => {}
        Err(e) => panic!("reading nginx's response to case {n}: {e}"),
    }
    response
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// nginx's verdict on case `n`, from its response, its access log and its error log
/// (what it logged since `error_log_len`).
fn nginx_verdict(dir: &TempDir, port: u16, n: usize, error_log_len: usize) -> Verdict {
    let response = fetch(port, n);
    let head_end =
        find(&response, b"\r\n\r\n").unwrap_or_else(|| panic!("case {n}: no response head"));
    let head = &response[..head_end];
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = lines.next().unwrap_or_default();
    let headers: Vec<(Vec<u8>, Vec<u8>)> = lines
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let value = &line[colon + 1..];
            Some((
                line[..colon].to_ascii_lowercase(),
                value.strip_prefix(b" ").unwrap_or(value).to_vec(),
            ))
        })
        .collect();

    let uri = format!("/case/{n} ");
    let access = poll(TIMEOUT, || {
        let log = std::fs::read_to_string(dir.path().join("verdict.log")).unwrap_or_default();
        log.lines()
            .find(|line| line.starts_with(&uri))
            .map(str::to_owned)
    })
    .unwrap_or_else(|| panic!("case {n}: no access log line"));
    let fields: Vec<&str> = access.split(' ').collect();
    let errors = std::fs::read(dir.path().join("error.log")).unwrap_or_default();
    let refusal = errors[error_log_len.min(errors.len())..]
        .split(|&b| b == b'\n')
        .filter(|line| find(line, b"[error]").is_some())
        .find_map(refusal);
    if status_line.starts_with(b"HTTP/1.1 502 ") {
        if let Some(refused) = refusal {
            return refused;
        }
    }
    assert!(
        refusal.is_none(),
        "case {n}: nginx logged {refusal:?} but answered {:?}",
        String::from_utf8_lossy(status_line)
    );
    // `$upstream_status`: nginx's status_n; "-" when it is 0.
    let status = match fields.get(2) {
        Some(&"-") => 0,
        Some(status) => status
            .parse()
            .unwrap_or_else(|_| panic!("case {n}: bad access log line {access:?}")),
        None => panic!("case {n}: bad access log line {access:?}"),
    };
    let content_length = headers
        .iter()
        .find(|(name, _)| name == b"content-length")
        .map(|(_, value)| {
            std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse().ok())
                .expect("nginx's Content-Length is a number")
        });
    Verdict::Accepted {
        status,
        headers: headers
            .into_iter()
            .filter(|(name, _)| compared(name))
            .collect(),
        content_length: body_length(status, content_length),
    }
}

/// The refusal an error log line reports, if it is one.
fn refusal(line: &[u8]) -> Option<Verdict> {
    let start = find(line, b"upstream sent")?;
    let reason = &line[start..];
    let reason = &reason[..find(reason, b" while ").unwrap_or(reason.len())];
    let log = String::from_utf8_lossy(reason).into_owned();
    let (why, at) = if reason.starts_with(INVALID_HEADER.as_bytes()) {
        // `upstream sent invalid header: "<line up to the bad byte>\xHH..."`.
        let quoted = &reason[INVALID_HEADER.len() + 3..];
        let hex = quoted.len().checked_sub(8)?;
        let byte = std::str::from_utf8(&quoted[hex + 2..hex + 4]).ok()?;
        (
            INVALID_HEADER,
            Some((hex, u8::from_str_radix(byte, 16).ok()?)),
        )
    } else if reason.starts_with(INVALID_STATUS.as_bytes()) {
        (INVALID_STATUS, None)
    } else if reason.starts_with(TOO_BIG.as_bytes()) {
        (TOO_BIG, None)
    } else {
        return None;
    };
    Some(Verdict::Refused { why, at, log })
}

fn show(wire: &[u8]) -> String {
    let shown: String = wire
        .iter()
        .take(48)
        .map(|&b| std::ascii::escape_default(b).to_string())
        .collect();
    if wire.len() > 48 {
        format!("{shown}... ({} bytes)", wire.len())
    } else {
        shown
    }
}

fn short(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Refused { log, .. } => format!("502: {log}"),
        Verdict::Accepted {
            status,
            content_length,
            ..
        } => match content_length {
            Some(len) => format!("{status}, Content-Length {len}"),
            None => format!("{status}"),
        },
    }
}

#[test]
fn response_heads_as_nginx_reads_them() {
    require!(NGINX);
    let cases = cases();
    let wires: Arc<Vec<Vec<u8>>> = Arc::new(cases.iter().map(|(_, _, w)| w.clone()).collect());
    let backend = Backend::start(Arc::clone(&wires));
    let dir = TempDir::new("response-heads");
    let (_nginx, port) = nginx(&dir, backend.port);

    let mut mismatches = Vec::new();
    println!("| case | probes | bytes | nginx | ours |");
    println!("|---|---|---|---|---|");
    for (n, (name, rule, wire)) in cases.iter().enumerate() {
        let error_log_len = std::fs::metadata(dir.path().join("error.log"))
            .map(|m| usize::try_from(m.len()).unwrap_or(usize::MAX))
            .unwrap_or(0);
        let theirs = nginx_verdict(&dir, port, n, error_log_len);
        let ours = ours(wire);
        let agree = theirs.agrees(&ours);
        println!(
            "| {name} | {rule} | `{}` | {} | {}{} |",
            show(wire),
            short(&theirs),
            short(&ours),
            if agree { "" } else { " **DIFFERS**" }
        );
        if !agree {
            mismatches.push(format!("{name}: nginx {theirs:?}, ours {ours:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "HeadParser and nginx disagree:\n{}",
        mismatches.join("\n")
    );
}
