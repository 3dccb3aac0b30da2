//! `exchange::HeadParser` and `exchange::ResponseHead`: resumable parsing (every prefix,
//! every split, linear time), the verdicts and error offsets of nginx 1.22's uwsgi
//! module, the limit.
//!
//! Where a vector comes from is said beside it: "nginx" means the case is also in
//! `tests/conformance/response_heads.rs`, which sends it through Debian's nginx 1.22.1
//! and checks that nginx gives the same verdict (table in tests/conformance/README.md);
//! "rule" names the nginx source rule (src/http/ngx_http_parse.c,
//! src/http/modules/ngx_http_uwsgi_module.c, src/http/ngx_http_upstream.c) it derives
//! from.

use std::time::{Duration, Instant};

use uwsgi_wire::exchange::{
    ExchangeError, ExchangeErrorKind, HeadErrorKind, HeadParser, ResponseHead,
};
use uwsgi_wire::Status;

const MAX: usize = 4096;

/// What a head parsed to, owned, to compare results of different calls.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parsed {
    len: usize,
    status: u16,
    reason: Vec<u8>,
    version: Option<u8>,
    cgi: bool,
    content_length: Option<u64>,
    chunked: bool,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    bytes: Vec<u8>,
}

impl Parsed {
    fn of(head: &ResponseHead<'_>, len: usize) -> Parsed {
        assert_eq!(head.len(), len);
        Parsed {
            len,
            status: head.status(),
            reason: head.reason().to_vec(),
            version: head.version(),
            cgi: head.is_cgi(),
            content_length: head.content_length(),
            chunked: head.is_chunked(),
            headers: head
                .headers()
                .map(|(n, v)| (n.to_vec(), v.to_vec()))
                .collect(),
            bytes: head.as_bytes().to_vec(),
        }
    }
}

type Verdict = Result<Parsed, ExchangeError>;

/// The verdict on `wire` as a whole, with a fresh parser.
fn whole(wire: &[u8], max: usize) -> Result<Status<Parsed>, ExchangeError> {
    HeadParser::new(max)
        .parse(wire)
        .map(|s| s.map(|(head, len)| Parsed::of(&head, len)))
}

/// The final verdict on `wire`, fed to one parser in pieces of `step` bytes.
fn fed(wire: &[u8], max: usize, step: usize) -> Verdict {
    let mut parser = HeadParser::new(max);
    let mut end = 0;
    loop {
        end = (end + step).min(wire.len());
        match parser.parse(&wire[..end]) {
            Ok(Status::Complete((head, len))) => return Ok(Parsed::of(&head, len)),
            Ok(Status::Partial { needed }) => {
                assert!(needed >= 1);
                assert!(end < wire.len(), "still partial at the end of {wire:?}");
            }
            Err(err) => return Err(err),
        }
    }
}

fn complete(wire: &[u8]) -> Parsed {
    match whole(wire, MAX) {
        Ok(Status::Complete(parsed)) => parsed,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(wire)),
    }
}

fn refused(wire: &[u8]) -> (HeadErrorKind, usize) {
    match whole(wire, MAX) {
        Err(err) => (head_kind(&err), usize::try_from(err.offset()).unwrap()),
        other => panic!("{:?} accepted: {other:?}", String::from_utf8_lossy(wire)),
    }
}

/// The head error's kind (every error of a `HeadParser` is one).
fn head_kind(err: &ExchangeError) -> HeadErrorKind {
    match err.kind() {
        ExchangeErrorKind::Head(kind) => kind,
        other => panic!("not a head error: {other:?}"),
    }
}

/// Heads that nginx accepts (every one is a case of tests/conformance/response_heads.rs,
/// or, marked "rule", derived), each with a body after it.
const ACCEPTED: &[&[u8]] = &[
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok", // nginx
    b"HTTP/1.1 204\r\n\r\n",                                                       // nginx
    b"HTTP/1.0 201 Created\r\nX-A: 1\r\n\r\nbody",                                 // nginx
    b"HTTP/2.0 201 Created\r\n\r\n",                                               // nginx
    b"HTTP/1.1 4 0 4 X\r\n\r\n",                                                   // nginx
    b"HTTP/1.1 403.1 Forbidden\r\n\r\n",                                           // nginx
    b"HTTP/1.1 404 X\x00Y\r\n\r\n",                                                // nginx
    b"HTTP/1.1 404 X\nA: b\n\nbody",                                               // nginx
    b"HTTP/1.1 404 X\rY\r\n\r\n",                                                  // nginx
    b"HTTP/1 404 Nope\r\n\r\n",                                                    // nginx
    b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnot found",         // nginx
    b"status: 404 X\r\n\r\n",                                                      // nginx
    b"Location: /x\r\n\r\n",                                                       // nginx
    b"\r\nHTTP/1.1 404 X\r\n\r\n",                                                 // nginx
    b"\nbody",                                                                     // nginx
    b"HTTP/1.1 200 OK\r\nFoo\r\nX_Under: 1\r\nX(Y): 1\r\n\r\n",                    // nginx
    b"HTTP/1.1 200 OK\r\nX-A: a\x01b\x7fc\r\nX-B: caf\xe9\r\n\r\n",                // nginx
    b"HTTP/1.1 200 OK\r\nX-A:\ta\tb\t\r\nX-B: a b  \r\n\r\n",                      // nginx
    b"HTTP/1.1 200 OK\r\nX-A: a\r\r\nX-B: 2\r\n\r\n",                              // nginx
    b"HTTP/1.1 404 X\r\nHTTP/\x00\rjunk\r\n\r\n",                                  // nginx
    b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\nbody", // nginx
    b"HTTP/1.1 000 X\r\nStatus: 404 N\r\n\r\n",                                    // nginx
];

/// Heads that nginx refuses (502), with the kind and offset we report.
const REFUSED: &[(&[u8], HeadErrorKind, usize)] = &[
    // nginx: "upstream sent invalid header: "http/1.1\x20..."": read as a header.
    (
        b"http/1.1 404 X\r\n\r\n",
        HeadErrorKind::InvalidHeaderName,
        8,
    ),
    (b" HTTP/1.1 404 X\r\n\r\n", HeadErrorKind::FoldedLine, 0), // nginx
    (b"Status: abc\r\n\r\n", HeadErrorKind::InvalidStatus, 8),  // nginx
    (b"Status: 40\r\n\r\n", HeadErrorKind::InvalidStatus, 10),  // nginx
    (b"Status:\t404\r\n\r\n", HeadErrorKind::InvalidStatus, 7), // nginx
    (b"Status:\r\n\r\n", HeadErrorKind::InvalidStatus, 7),      // nginx
    (
        b"HTTP/1.1 200 OK\r\nX\x7fY: 1\r\n\r\n",
        HeadErrorKind::InvalidHeaderName,
        18,
    ), // nginx
    (
        b"HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n",
        HeadErrorKind::InvalidHeaderName,
        20,
    ), // nginx
    (
        b"HTTP/1.1 200 OK\r\n: 1\r\n\r\n",
        HeadErrorKind::InvalidHeaderName,
        17,
    ), // nginx
    (
        b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\t2\r\n\r\n",
        HeadErrorKind::FoldedLine,
        25,
    ), // nginx
    (
        b"HTTP/1.1 200 OK\r\nX\x00A: 1\r\n\r\n",
        HeadErrorKind::InvalidHeaderName,
        18,
    ), // nginx
    (
        b"HTTP/1.1 200 OK\r\nX-A: 1\x002\r\n\r\n",
        HeadErrorKind::InvalidHeaderValue,
        23,
    ), // nginx
    (
        b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n",
        HeadErrorKind::BareCr,
        23,
    ), // nginx
    (
        b"HTTP/1.1 200 OK\r\nX\rY: 1\r\n\r\n",
        HeadErrorKind::BareCr,
        18,
    ), // nginx
    (
        b"HTTP/1.1 200 OK\r\nX-A: a\r\n\rX\r\n\r\n",
        HeadErrorKind::BareCr,
        25,
    ), // nginx
    (
        b"HTTP/1.1 200 OK\r\nX-A: a\r\n\r\r\n",
        HeadErrorKind::BareCr,
        25,
    ), // nginx
    // Rule: ngx_http_uwsgi_process_header checks the Status header only once the head
    // is complete, so an invalid line after it is what nginx reports.
    (
        b"Status: abc\r\nBad Line\r\n\r\n",
        HeadErrorKind::InvalidHeaderName,
        16,
    ),
];

#[test]
fn every_prefix_is_partial_then_the_same_complete() {
    for &wire in ACCEPTED {
        let whole_head = complete(wire);
        let mut parser = HeadParser::new(MAX);
        for end in 0..whole_head.len {
            // A fresh parser and the resumed one agree on every prefix.
            assert!(
                matches!(whole(&wire[..end], MAX), Ok(Status::Partial { .. })),
                "{:?}",
                &wire[..end]
            );
            assert!(parser.parse(&wire[..end]).unwrap().is_partial());
        }
        for end in whole_head.len..=wire.len() {
            let Status::Complete((head, len)) = parser.parse(&wire[..end]).unwrap() else {
                panic!("{wire:?} not complete at {end}")
            };
            assert_eq!(Parsed::of(&head, len), whole_head, "{wire:?}");
        }
    }
}

#[test]
fn any_split_gives_the_verdict_of_the_whole() {
    let all = ACCEPTED
        .iter()
        .copied()
        .chain(REFUSED.iter().map(|(wire, _, _)| *wire));
    for wire in all {
        let want = match whole(wire, MAX) {
            Ok(Status::Complete(parsed)) => Ok(parsed),
            Ok(Status::Partial { .. }) => panic!("{wire:?} is incomplete"),
            Err(err) => Err(err),
        };
        for step in 1..=8 {
            assert_eq!(fed(wire, MAX, step), want, "{wire:?} in steps of {step}");
        }
    }
}

#[test]
fn verdicts_and_offsets() {
    for &(wire, kind, offset) in REFUSED {
        assert_eq!(
            refused(wire),
            (kind, offset),
            "{:?}",
            String::from_utf8_lossy(wire)
        );
    }
}

/// `(wire, status, reason, version, cgi)`.
type StatusCase = (&'static [u8], u16, &'static [u8], Option<u8>, bool);

#[test]
fn status_lines() {
    // All nginx unless marked.
    let cases: &[StatusCase] = &[
        (b"HTTP/1.1 200 OK\r\n\r\n", 200, b"OK", Some(1), false),
        (b"HTTP/1.1 204\r\n\r\n", 204, b"", Some(1), false),
        (b"HTTP/1.1 201 \r\n\r\n", 201, b"", Some(1), false),
        (
            b"HTTP/1.0 201 Created\r\n\r\n",
            201,
            b"Created",
            Some(0),
            false,
        ),
        (
            b"HTTP/2.0 201 Created\r\n\r\n",
            201,
            b"Created",
            None,
            false,
        ),
        (b"HTTP/999.1 201 X\r\n\r\n", 201, b"X", None, false),
        (b"HTTP/1.999 201 X\r\n\r\n", 201, b"X", None, false),
        // Rule: sw_minor_digit checks `> 99` before each digit, leading zeros are free.
        (b"HTTP/1.0001 201 X\r\n\r\n", 201, b"X", Some(1), false),
        (b"HTTP/1.1 099 X\r\n\r\n", 99, b"X", Some(1), false),
        (b"HTTP/1.1 600 X\r\n\r\n", 600, b"X", Some(1), false),
        (b"HTTP/1.1 999 X\r\n\r\n", 999, b"X", Some(1), false),
        (
            b"HTTP/1.1 100 Continue\r\n\r\n",
            100,
            b"Continue",
            Some(1),
            false,
        ),
        (b"HTTP/1.1    404 X\r\n\r\n", 404, b"X", Some(1), false),
        (b"HTTP/1.1 4 0 4 X\r\n\r\n", 404, b"X", Some(1), false),
        (
            b"HTTP/1.1 403.1 Forbidden\r\n\r\n",
            403,
            b".1 Forbidden",
            Some(1),
            false,
        ),
        (
            b"HTTP/1.1 404 X\x00Y\r\n\r\n",
            404,
            b"X\x00Y",
            Some(1),
            false,
        ),
        (
            b"HTTP/1.1 404 X\x01Y\r\n\r\n",
            404,
            b"X\x01Y",
            Some(1),
            false,
        ),
        (
            b"HTTP/1.1 404 caf\xe9\r\n\r\n",
            404,
            b"caf\xe9",
            Some(1),
            false,
        ),
        (b"HTTP/1.1 404 X\nA: b\n\n", 404, b"X", Some(1), false),
        // Not status lines to nginx: skipped, so the status is nginx's default.
        (b"HTTP/2 201 Created\r\n\r\n", 200, b"OK", None, true),
        (b"HTTP/1 404 Nope\r\n\r\n", 200, b"OK", None, true),
        (b"HTTP/1.1000 201 X\r\n\r\n", 200, b"OK", None, true),
        (b"HTTP/0.9 201 X\r\n\r\n", 200, b"OK", None, true),
        (b"HTTP/01.1 404 X\r\n\r\n", 200, b"OK", None, true),
        (b"HTTP/1.1 40 X\r\n\r\n", 200, b"OK", None, true),
        (b"HTTP/1.1 4040 X\r\n\r\n", 200, b"OK", None, true),
        (b"HTTP/1.1 404OK\r\n\r\n", 200, b"OK", None, true),
        (b"HTTP/1.1\t404 X\r\n\r\n", 200, b"OK", None, true),
        (b"HTTP/1.1 \r\n\r\n", 200, b"OK", None, true),
        (b"HTTP/1.1 404 X\rY\r\n\r\n", 200, b"OK", None, true),
        (b"HTTP/1.1 404 X\r\r\nA: b\r\n\r\n", 200, b"OK", None, true),
        (b"\r\nHTTP/1.1 404 X\r\n\r\n", 200, b"OK", None, true),
        // Code 000: nginx's status_n stays 0, the CGI rules pick the status.
        (b"HTTP/1.1 000 X\r\n\r\n", 200, b"OK", Some(1), true),
        (
            b"HTTP/1.1 000 X\r\nStatus: 404 N\r\n\r\n",
            404,
            b"N",
            Some(1),
            true,
        ),
        // A second status line is skipped (nginx; ngx_http_parse_header_line's IIS rule).
        (
            b"HTTP/1.1 404 X\r\nHTTP/1.1 200 OK\r\n\r\n",
            404,
            b"X",
            Some(1),
            false,
        ),
    ];
    for &(wire, status, reason, version, cgi) in cases {
        let head = complete(wire);
        let name = String::from_utf8_lossy(wire);
        assert_eq!(head.status, status, "{name:?}");
        assert_eq!(head.reason, reason, "{name:?}");
        assert_eq!(head.version, version, "{name:?}");
        assert_eq!(head.cgi, cgi, "{name:?}");
    }
}

#[test]
fn cgi_status() {
    // (wire, status, reason); all nginx unless marked.
    let cases: &[(&[u8], u16, &[u8])] = &[
        (b"Status: 404\r\n\r\n", 404, b""),
        (b"Status: 404 Not Found\r\n\r\n", 404, b"Not Found"),
        (b"Status: 4041\r\n\r\n", 404, b"1"),
        (b"Status: 404abc\r\n\r\n", 404, b"abc"),
        (b"Status:    404\r\n\r\n", 404, b""),
        (b"Status: 404 \r\n\r\n", 404, b""),
        (b"Status: 099 X\r\n\r\n", 99, b"X"),
        (b"Status: 000 X\r\n\r\n", 0, b"X"),
        (b"Status: 600 X\r\n\r\n", 600, b"X"),
        (b"status: 404 X\r\n\r\n", 404, b"X"),
        (b"STATUS: 404 X\r\n\r\n", 404, b"X"),
        // The first Status header counts; a later invalid one does not matter.
        (b"Status: 404 X\r\nStatus: 500 Y\r\n\r\n", 404, b"X"),
        (b"Status: 404\r\nStatus: abc\r\n\r\n", 404, b""),
        (b"Location: /x\r\nStatus: 301 M\r\n\r\n", 301, b"M"),
        (b"Location: /x\r\n\r\n", 302, b"Moved Temporarily"),
        (b"Location:\r\n\r\n", 302, b"Moved Temporarily"),
        // Rule: a line with no colon is a header, so `Location` alone is one.
        (b"Location\r\n\r\n", 302, b"Moved Temporarily"),
        (b"Content-Type: text/plain\r\n\r\n", 200, b"OK"),
        (b"\r\n", 200, b"OK"),
        (b"Foo\r\nStatus: 404\r\n\r\n", 404, b""),
        // With a status line, the Status header is only a header.
        (b"HTTP/1.1 200 OK\r\nStatus: 404 X\r\n\r\n", 200, b"OK"),
        (b"HTTP/1.1 200 OK\r\nStatus: abc\r\n\r\n", 200, b"OK"),
    ];
    for &(wire, status, reason) in cases {
        let head = complete(wire);
        let name = String::from_utf8_lossy(wire);
        assert_eq!(
            (head.status, &head.reason[..]),
            (status, reason),
            "{name:?}"
        );
    }
    // Rule: a Status header alone (no colon) has an empty value: refused.
    assert_eq!(
        refused(b"Status\r\n\r\n"),
        (HeadErrorKind::InvalidStatus, 6)
    );
    // nginx: the first Status header is invalid, a later valid one does not help.
    assert_eq!(
        refused(b"Status: abc\r\nStatus: 500 Y\r\n\r\n"),
        (HeadErrorKind::InvalidStatus, 8)
    );
    // nginx: "Status: -40" and "Status: 40 " (the value loses its trailing space).
    assert_eq!(
        refused(b"Status: -40\r\n\r\n"),
        (HeadErrorKind::InvalidStatus, 8)
    );
    assert_eq!(
        refused(b"Status: 40 \r\n\r\n"),
        (HeadErrorKind::InvalidStatus, 10)
    );
}

#[test]
fn headers_as_nginx_passes_them_on() {
    // nginx: the header lines it passed on to the client (tests/conformance).
    let head = complete(
        b"HTTP/1.1 200 OK\r\nFoo\r\nX_Under: 1\r\n_x: 1\r\nX(Y): 1\r\nX\xe9: 1\r\n\
          X-A:\ta\tb\t\r\nX-B: a b  \r\nX-C:   \r\nX-D: a\r\r\nHTTP/1.1 200 OK\r\nX-A: 2\r\n\r\n",
    );
    let headers: Vec<(&[u8], &[u8])> = head.headers.iter().map(|(n, v)| (&n[..], &v[..])).collect();
    assert_eq!(
        headers,
        [
            (&b"Foo"[..], &b""[..]),
            (b"X_Under", b"1"),
            (b"_x", b"1"),
            (b"X(Y)", b"1"),
            (b"X\xe9", b"1"),
            (b"X-A", b"\ta\tb\t"),
            (b"X-B", b"a b"),
            (b"X-C", b""),
            (b"X-D", b"a"),
            (b"X-A", b"2"),
        ]
    );
    // A CGI head's Status header is a header too (nginx passes it on).
    let head = complete(b"Status: 404 Not Found\r\nX: 1\r\n\r\n");
    assert_eq!(
        head.headers[0],
        (b"Status".to_vec(), b"404 Not Found".to_vec())
    );
    // The blank line alone: no headers.
    assert!(complete(b"\r\n").headers.is_empty());
}

#[test]
fn content_length_and_chunked_as_nginx_reads_them() {
    let cl = |extra: &[u8]| {
        let wire = [&b"HTTP/1.1 200 OK\r\n"[..], extra, b"\r\n"].concat();
        let head = complete(&wire);
        (head.content_length, head.chunked)
    };
    // nginx: what it framed the body by (its Content-Length to the client, or none).
    assert_eq!(cl(b"Content-Length: 4\r\n"), (Some(4), false));
    assert_eq!(
        cl(b"Content-Length: 4\r\nContent-Length: 4\r\n"),
        (Some(4), false)
    );
    assert_eq!(
        cl(b"Content-Length: 4\r\nContent-Length: 2\r\n"),
        (Some(2), false)
    );
    assert_eq!(
        cl(b"Content-Length: 2\r\nContent-Length: 4\r\n"),
        (Some(4), false)
    );
    assert_eq!(
        cl(b"Content-Length: 4\r\nContent-Length: abc\r\n"),
        (None, false)
    );
    assert_eq!(cl(b"Content-Length: abc\r\n"), (None, false));
    assert_eq!(cl(b"Content-Length: +4\r\n"), (None, false));
    assert_eq!(cl(b"Content-Length:\r\n"), (None, false));
    assert_eq!(cl(b"Content-Length:\t4\r\n"), (None, false));
    assert_eq!(cl(b"Content-Length: 2 \r\n"), (Some(2), false));
    assert_eq!(
        cl(b"Content-Length: 9223372036854775807\r\n"),
        (Some(9_223_372_036_854_775_807), false)
    );
    assert_eq!(
        cl(b"Content-Length: 9223372036854775808\r\n"),
        (None, false)
    );
    assert_eq!(
        cl(b"Content-Length: 99999999999999999999\r\n"),
        (None, false)
    );
    assert_eq!(
        cl(b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n"),
        (Some(4), true)
    );
    assert_eq!(cl(b"Transfer-Encoding: chunked\r\n"), (None, true));
    assert_eq!(cl(b"Transfer-Encoding: gzip, CHUNKED\r\n"), (None, true));
    assert_eq!(cl(b"Transfer-Encoding: gzip\r\n"), (None, false));
    // Rule: ngx_strlcasestrn finds `chunked` anywhere in the value.
    assert_eq!(cl(b"Transfer-Encoding: notchunkedreally\r\n"), (None, true));
    // Rule: the header hash matches the whole name, case aside.
    assert_eq!(cl(b"X-Transfer-Encoding: chunked\r\n"), (None, false));
}

#[test]
fn the_limit() {
    // nginx (uwsgi_buffer_size 4k): a head of 4096 bytes passes, one of 4097 is "too big".
    let sized = |n: usize| {
        let mut wire = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
        wire.resize(n - 4, b'a');
        wire.extend_from_slice(b"\r\n\r\n");
        wire
    };
    assert_eq!(complete(&sized(4095)).len, 4095);
    assert_eq!(complete(&sized(4096)).len, 4096);
    let mut body_after = sized(4096);
    body_after.extend_from_slice(b"body");
    assert_eq!(complete(&body_after).len, 4096);
    let big = sized(4097);
    assert_eq!(
        refused(&big),
        (HeadErrorKind::TooLarge { limit: 4096 }, 4096)
    );
    // At once: with 4096 bytes there, no more is waited for.
    assert_eq!(
        refused(&big[..4096]),
        (HeadErrorKind::TooLarge { limit: 4096 }, 4096)
    );
    assert!(whole(&big[..4095], MAX).unwrap().is_partial());
    // Byte by byte, the same.
    assert_eq!(
        head_kind(&fed(&big, MAX, 1).unwrap_err()),
        HeadErrorKind::TooLarge { limit: 4096 }
    );
    // Rule: a bad byte nginx has read before its buffer is full is what it reports,
    // even in the line that never ends.
    let mut bad = b"HTTP/1.1 200 OK\r\nX-A: a\0".to_vec();
    bad.resize(5000, b'a');
    assert_eq!(refused(&bad), (HeadErrorKind::InvalidHeaderValue, 23));
    // A status line (or one nginx skips) never holds a bad byte: too large.
    let mut long = b"HTTP/1.1 200 \0\r".to_vec();
    long.resize(5000, b'a');
    assert_eq!(
        refused(&long),
        (HeadErrorKind::TooLarge { limit: 4096 }, 4096)
    );
    // Other limits; 0 refuses everything.
    let small = b"HTTP/1.1 200 OK\r\n\r\n";
    assert!(whole(small, 19).unwrap().is_complete());
    assert_eq!(
        head_kind(&whole(small, 18).unwrap_err()),
        HeadErrorKind::TooLarge { limit: 18 }
    );
    assert_eq!(
        head_kind(&whole(b"", 0).unwrap_err()),
        HeadErrorKind::TooLarge { limit: 0 }
    );
    // The default is nginx's default on 4 KiB pages.
    assert!(HeadParser::default()
        .parse(&sized(4096))
        .unwrap()
        .is_complete());
    assert!(HeadParser::default().parse(&big).is_err());
}

#[test]
fn partial_says_how_many_bytes_are_needed_at_least() {
    // Derived from the grammar: the current line still needs its LF, then the blank
    // line needs one (LF); at a line start only the blank line's LF is missing.
    let mut parser = HeadParser::new(MAX);
    for (buf, needed) in [
        (&b""[..], 1),
        (b"H", 2),
        (b"HTTP/1.1 200 OK\r", 2),
        (b"HTTP/1.1 200 OK\r\n", 1),
        (b"HTTP/1.1 200 OK\r\n\r", 1),
    ] {
        assert_eq!(
            parser.parse(buf).unwrap(),
            Status::Partial { needed },
            "{buf:?}"
        );
    }
    assert!(parser
        .parse(b"HTTP/1.1 200 OK\r\n\r\n")
        .unwrap()
        .is_complete());
}

#[test]
fn results_are_final_and_a_shorter_buffer_starts_over() {
    // Derived from HeadParser::parse's contract.
    let mut parser = HeadParser::new(MAX);
    let wire = b"HTTP/1.1 200 OK\r\nX: 1\r\n\r\nbody";
    let first = parser
        .parse(wire)
        .unwrap()
        .complete()
        .map(|(h, n)| Parsed::of(&h, n));
    // Called again, with more bytes after the head: the same head.
    let mut longer = wire.to_vec();
    longer.extend_from_slice(b"more");
    let again = parser
        .parse(&longer)
        .unwrap()
        .complete()
        .map(|(h, n)| Parsed::of(&h, n));
    assert_eq!(first, again);
    // Shorter than the head: a new head.
    let other = b"Status: 404\r\n\r\n";
    let third = parser.parse(other).unwrap().complete().unwrap();
    assert_eq!(third.0.status(), 404);
    // An error is final.
    let mut parser = HeadParser::new(MAX);
    let err = parser.parse(b"X : 1\r\n").unwrap_err();
    assert_eq!(parser.parse(b"X : 1\r\n\r\n").unwrap_err(), err);
    assert_eq!(
        err.to_string(),
        "malformed response head: invalid byte in a header name at byte 1"
    );
}

/// Feeds `wire` one byte per call; returns the time it took.
fn feed_bytewise(wire: &[u8]) -> Duration {
    let started = Instant::now();
    let mut parser = HeadParser::new(wire.len());
    for end in 0..wire.len() {
        assert!(parser.parse(&wire[..end]).unwrap().is_partial());
    }
    let (head, len) = parser.parse(wire).unwrap().complete().unwrap();
    assert_eq!(len, wire.len());
    assert_eq!(head.status(), 200);
    started.elapsed()
}

#[test]
fn feeding_a_60_kib_head_byte_by_byte_is_linear() {
    // Derived: a parser that rescanned from byte 0 (or from the start of the current
    // line) on every call would examine ~1.8e9 bytes here; debug builds would take
    // tens of seconds. Resuming examines each byte a bounded number of times.
    let mut many_lines = b"HTTP/1.1 200 OK\r\n".to_vec();
    while many_lines.len() < 60 * 1024 {
        many_lines.extend_from_slice(b"X-Header: some value here\r\n");
    }
    many_lines.extend_from_slice(b"\r\n");
    let mut one_line = b"HTTP/1.1 200 OK\r\nX-Long: ".to_vec();
    one_line.resize(60 * 1024, b'v');
    one_line.extend_from_slice(b"\r\n\r\n");
    for wire in [many_lines, one_line] {
        let took = feed_bytewise(&wire);
        assert!(
            took < Duration::from_secs(1),
            "{} bytes fed one at a time took {took:?}",
            wire.len()
        );
    }
}

#[test]
fn many_headers_fed_whole_and_bytewise_agree() {
    // Derived: 1000 header lines, nginx keeps them all (no count limit on upstream
    // headers).
    let mut wire = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..1000 {
        wire.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
    }
    wire.extend_from_slice(b"\r\n");
    let max = wire.len();
    let head = match whole(&wire, max) {
        Ok(Status::Complete(head)) => head,
        other => panic!("{other:?}"),
    };
    assert_eq!(head.headers.len(), 1000);
    assert_eq!(head.headers[999], (b"X-999".to_vec(), b"999".to_vec()));
    assert_eq!(fed(&wire, max, 1), Ok(head));
}
