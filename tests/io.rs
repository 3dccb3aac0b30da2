//! The blocking adapter (`uwsgi_wire::io`): real captured packets split at every byte,
//! short reads and writes, `Interrupted`, limits, early closes, real TCP and Unix sockets.
#![cfg(feature = "std")]

use std::io::{self, Cursor, IoSlice, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;

use uwsgi_wire::exchange::ExchangeErrorKind;
use uwsgi_wire::io::StreamError;
use uwsgi_wire::io::{
    read_packet, write_all_vectored, write_packet, write_request, Body, Incoming, ServerReader,
};
use uwsgi_wire::{Limits, Modifier1, Packet, ParseErrorKind, Payload, Status, VarsBuilder};

#[path = "support/captures.rs"]
mod captures;
use captures::{packet_error, vector, Expected};

/// Captured from nginx 1.22 (POST with an 11-byte body), then a GET, then a request
/// with duplicate headers, then a ping from `uwsgi --ping`, then Apache 2.4's POST: one
/// pipelined stream.
fn pipelined() -> (Vec<u8>, Expected) {
    captures::pipelined(&[
        "nginx-post.bin",
        "nginx-get.bin",
        "nginx-dup-headers.bin",
        "uwsgi-ping.bin",
        "apache-post.bin",
    ])
}

/// Returns the given chunks one `read` at a time (never more than asked for), with an
/// `Interrupted` error before each when `interrupt` is set.
struct Chunked {
    chunks: Vec<Vec<u8>>,
    next: usize,
    pos: usize,
    interrupt: bool,
    interrupted: bool,
}

impl Chunked {
    fn new(chunks: Vec<Vec<u8>>) -> Self {
        Chunked {
            chunks,
            next: 0,
            pos: 0,
            interrupt: false,
            interrupted: false,
        }
    }

    fn bytewise(wire: &[u8]) -> Self {
        Self::new(wire.iter().map(|&b| vec![b]).collect())
    }

    fn split(wire: &[u8], at: usize) -> Self {
        Self::new(vec![wire[..at].to_vec(), wire[at..].to_vec()])
    }
}

impl Read for Chunked {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.interrupt && !self.interrupted {
            self.interrupted = true;
            return Err(io::Error::new(io::ErrorKind::Interrupted, "signal"));
        }
        self.interrupted = false;
        while let Some(chunk) = self.chunks.get(self.next) {
            let rest = &chunk[self.pos..];
            if rest.is_empty() {
                self.next += 1;
                self.pos = 0;
                continue;
            }
            let n = rest.len().min(out.len());
            out[..n].copy_from_slice(&rest[..n]);
            self.pos += n;
            return Ok(n);
        }
        Ok(0)
    }
}

/// Reads every packet and body with a `ServerReader` and checks them against `expected`.
fn check_reader(reader: impl Read, expected: &[(Vec<u8>, Vec<u8>)], what: &str) {
    let mut reader = ServerReader::new(reader, Limits::new());
    for (i, (head, body)) in expected.iter().enumerate() {
        let Some(Incoming {
            packet,
            body: mut got_body,
        }) = reader
            .read_packet()
            .unwrap_or_else(|e| panic!("{what}: packet {i}: {e}"))
        else {
            panic!("{what}: stream ended before packet {i}")
        };
        let mut encoded = vec![0u8; packet.encoded_len()];
        packet.encode(&mut encoded).unwrap();
        assert_eq!(&encoded, head, "{what}: packet {i}");
        assert_eq!(
            got_body.remaining(),
            body.len() as u64,
            "{what}: packet {i}"
        );
        let mut read = Vec::new();
        got_body.read_to_end(&mut read).unwrap();
        assert_eq!(&read, body, "{what}: body {i}");
    }
    assert!(reader.read_packet().unwrap().is_none(), "{what}: clean end");
}

#[test]
fn every_split_of_a_pipelined_capture() {
    let (wire, expected) = pipelined();
    for at in 0..=wire.len() {
        check_reader(
            Chunked::split(&wire, at),
            &expected,
            &format!("split at {at}"),
        );
    }
}

#[test]
fn byte_by_byte_and_interrupted() {
    let (wire, expected) = pipelined();
    check_reader(Chunked::bytewise(&wire), &expected, "byte by byte");
    let mut reader = Chunked::bytewise(&wire);
    reader.interrupt = true;
    check_reader(
        reader,
        &expected,
        "byte by byte, Interrupted before every read",
    );
}

#[test]
fn read_packet_into_a_caller_buffer_never_reads_past_the_packet() {
    let (wire, expected) = pipelined();
    let mut stream = Cursor::new(&wire[..]);
    let mut buf = [0u8; 1024];
    for (head, body) in &expected {
        let before = stream.position();
        let packet = read_packet(&mut stream, &mut buf, &Limits::new())
            .unwrap()
            .unwrap();
        assert_eq!(packet.encoded_len(), head.len());
        // Exactly the packet was consumed: the body is still in the stream.
        assert_eq!(stream.position() - before, head.len() as u64);
        let len = packet
            .vars()
            .filter(|_| packet.modifier1().is_request())
            .map_or(0, |v| v.content_length().unwrap().unwrap_or(0));
        let mut got = Vec::new();
        Body::new(&mut stream, len).read_to_end(&mut got).unwrap();
        assert_eq!(&got, body);
    }
    assert!(read_packet(&mut stream, &mut buf, &Limits::new())
        .unwrap()
        .is_none());

    // Byte by byte with Interrupted in between, the same.
    let mut reader = Chunked::bytewise(&wire);
    reader.interrupt = true;
    let packet = read_packet(&mut reader, &mut buf, &Limits::new())
        .unwrap()
        .unwrap();
    assert_eq!(packet.encoded_len(), expected[0].0.len());
    let mut got = Vec::new();
    Body::new(&mut reader, 11).read_to_end(&mut got).unwrap();
    assert_eq!(got, b"hello=world");
}

#[test]
fn caller_buffer_too_small() {
    let wire = vector("nginx-get.bin"); // captured from nginx 1.22, 376 bytes
    let mut buf = [0u8; 100];
    let err = read_packet(&mut &wire[..], &mut buf, &Limits::new()).unwrap_err();
    assert!(matches!(
        err,
        StreamError::BufferTooSmall {
            needed: 376,
            available: 100
        }
    ));
    assert_eq!(err.status_code(), Some(431));
}

/// Gives the header, then fails if anything more is read.
struct HeaderThenFail(Vec<u8>, bool);

impl Read for HeaderThenFail {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.1 {
            return Err(io::Error::other("the block was read"));
        }
        self.1 = true;
        out[..4].copy_from_slice(&self.0[..4]);
        Ok(4)
    }
}

#[test]
fn oversize_datasize_is_refused_from_the_header_before_reading_the_block() {
    // nginx's largest packet: a 65535-byte block (captured from nginx 1.22).
    let wire = vector("nginx-large-header.bin");
    let limits = Limits::new().max_datasize(4096);
    let want = ParseErrorKind::DatasizeOverLimit {
        datasize: 65535,
        limit: 4096,
    };

    let mut reader = ServerReader::new(HeaderThenFail(wire.clone(), false), limits);
    match reader.read_packet() {
        Err(err) => {
            let e = packet_error(&err).unwrap();
            assert_eq!((e.kind(), e.offset()), (want, 1));
        }
        other => panic!("{other:?}"),
    }
    // The buffer did not grow for it.
    assert_eq!(
        reader.buffer_capacity(),
        uwsgi_wire::io::DEFAULT_BUFFER_SIZE
    );

    let mut buf = vec![0u8; 70_000];
    match read_packet(&mut HeaderThenFail(wire, false), &mut buf, &limits) {
        Err(err) => assert_eq!(packet_error(&err).map(|e| e.kind()), Some(want)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_largest_packet_grows_the_buffer_once() {
    let wire = vector("nginx-large-header.bin"); // captured from nginx 1.22
    let mut reader = ServerReader::new(Chunked::split(&wire, 1000), Limits::new());
    let incoming = reader.read_packet().unwrap().unwrap();
    assert_eq!(incoming.packet.encoded_len(), 65539);
    assert_eq!(reader.buffer_capacity(), 65539);
}

#[test]
fn body_and_var_limits() {
    let wire = vector("nginx-post.bin"); // captured from nginx 1.22, body of 11 bytes
    let err = ServerReader::new(&wire[..], Limits::new().max_body(10))
        .read_packet()
        .unwrap_err();
    assert!(matches!(
        &err,
        StreamError::Exchange(e) if e.kind() == ExchangeErrorKind::BodyTooLarge {
            length: 11,
            limit: 10
        }
    ));
    assert_eq!(err.status_code(), Some(413));
    assert!(ServerReader::new(&wire[..], Limits::new().max_body(11))
        .read_packet()
        .is_ok());

    let err = ServerReader::new(&wire[..], Limits::new().max_vars(10))
        .read_packet()
        .unwrap_err();
    assert_eq!(
        packet_error(&err).map(|e| e.kind()),
        Some(ParseErrorKind::TooManyVars { limit: 10 })
    );
}

#[test]
fn an_invalid_content_length_is_a_protocol_error() -> Result<(), Box<dyn std::error::Error>> {
    // Derived from the spec: a request whose two CONTENT_LENGTH vars differ.
    let mut vars = VarsBuilder::default();
    vars.push("CONTENT_LENGTH", "5")?
        .push("CONTENT_LENGTH", "6")?;
    let mut wire = Vec::new();
    write_packet(
        &mut wire,
        &Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))?,
    )?;
    match ServerReader::new(&wire[..], Limits::new())
        .read_packet()
        .map_err(|e| packet_error(&e))
    {
        Err(Some(e)) => {
            assert_eq!(e.kind(), ParseErrorKind::ConflictingContentLength);
            assert_eq!(
                e.offset(),
                4 + 19 + 18,
                "offset of the second value in the packet"
            );
        }
        other => panic!("{other:?}"),
    }
    Ok(())
}

#[test]
fn an_unread_body_is_skipped() {
    let (wire, expected) = pipelined();
    let mut reader = ServerReader::new(Chunked::bytewise(&wire), Limits::new());
    // Read 3 bytes of the POST body, then move on.
    let mut first = reader.read_packet().unwrap().unwrap();
    first.body.read_exact(&mut [0u8; 3]).unwrap();
    let second = reader.read_packet().unwrap().unwrap();
    assert_eq!(second.packet.encoded_len(), expected[1].0.len());
}

#[test]
fn a_peer_that_closes_early() {
    let wire = vector("nginx-post.bin"); // captured from nginx 1.22: a 472-byte packet + 11
                                         // Mid-header, mid-block, mid-body.
    for (cut, what) in [
        (2, "after 2 bytes of a head, at least 2 short"),
        (100, "after 100 bytes of a head, at least 372 short"),
        (wire.len() - 4, "body"),
    ] {
        let mut reader = ServerReader::new(Chunked::bytewise(&wire[..cut]), Limits::new());
        let err = match reader.read_packet() {
            Ok(Some(mut incoming)) => {
                let err = incoming.body.read_to_end(&mut Vec::new()).unwrap_err();
                assert!(err
                    .to_string()
                    .contains("4 bytes before the end of the body"));
                err
            }
            Ok(None) => panic!("cut at {cut}: clean end"),
            Err(err) => {
                assert!(err.is_eof(), "cut at {cut}: {err}");
                assert!(err.to_string().contains(what), "{err}");
                io::Error::new(io::ErrorKind::UnexpectedEof, err)
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "cut at {cut}");
    }
    // Nothing at all is a clean end, not an error.
    assert!(ServerReader::new(&b""[..], Limits::new())
        .read_packet()
        .unwrap()
        .is_none());
    // Skipping an unread body that the peer cut short is an error too.
    let mut reader = ServerReader::new(Chunked::split(&wire[..wire.len() - 4], 474), Limits::new());
    assert!(reader.read_packet().unwrap().is_some());
    let err = reader.read_packet().unwrap_err();
    assert!(err.is_eof(), "{err}");
}

/// Accepts at most one byte per call, and fails with `Interrupted` every other call.
struct Trickle {
    out: Vec<u8>,
    calls: usize,
}

impl Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls % 2 == 0 {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "signal"));
        }
        match buf.first() {
            Some(&b) => {
                self.out.push(b);
                Ok(1)
            }
            None => Ok(0),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn writes_survive_one_byte_writes_and_interrupts() {
    let wire = vector("nginx-post.bin"); // captured from nginx 1.22
    let Ok(Status::Complete((packet, consumed))) = Packet::parse(&wire, &Limits::new()) else {
        panic!()
    };
    let mut trickle = Trickle {
        out: Vec::new(),
        calls: 0,
    };
    write_request(&mut trickle, &packet, &wire[consumed..]).unwrap();
    assert_eq!(trickle.out, wire);
    assert!(trickle.calls >= 2 * wire.len() - 1);

    let mut trickle = Trickle {
        out: Vec::new(),
        calls: 0,
    };
    write_packet(&mut trickle, &packet).unwrap();
    assert_eq!(trickle.out, &wire[..consumed]);

    // A body that does not match CONTENT_LENGTH is refused and nothing is written.
    let mut out = Vec::new();
    let err = write_request(&mut out, &packet, b"short").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(out.is_empty());
}

/// A vectored writer that takes 5 bytes per call across slices.
struct Vectored(Vec<u8>, usize);

impl Write for Vectored {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.1 += 1;
        let mut budget = 5;
        for buf in bufs {
            let n = buf.len().min(budget);
            self.0.extend_from_slice(&buf[..n]);
            budget -= n;
            if budget == 0 {
                break;
            }
        }
        Ok(5 - budget)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn vectored_writes_cross_slice_boundaries() {
    let mut writer = Vectored(Vec::new(), 0);
    let mut bufs = [
        IoSlice::new(b"abc"),
        IoSlice::new(b""),
        IoSlice::new(b"defgh"),
        IoSlice::new(b"ij"),
    ];
    write_all_vectored(&mut writer, &mut bufs).unwrap();
    assert_eq!(writer.0, b"abcdefghij");
    assert_eq!(writer.1, 2, "two calls of 5 bytes");
}

/// Claims to have written more than it was given.
struct Liar;

impl Write for Liar {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len() + 1)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn broken_writers_are_errors_not_panics() {
    let err = write_all_vectored(&mut Liar, &mut [IoSlice::new(b"abc")]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    let err = write_all_vectored(&mut &mut [0u8; 2][..], &mut [IoSlice::new(b"abc")]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WriteZero);
}

/// Serves one connection: reads every packet, answers each request with its body
/// length, and returns what it saw.
fn serve(stream: impl Read + Write) -> Expected {
    let mut reader = ServerReader::new(stream, Limits::new());
    let mut seen = Vec::new();
    while let Some(Incoming { packet, mut body }) = reader.read_packet().unwrap() {
        let mut encoded = vec![0u8; packet.encoded_len()];
        packet.encode(&mut encoded).unwrap();
        let mut content = Vec::new();
        body.read_to_end(&mut content).unwrap();
        seen.push((encoded, content));
    }
    seen
}

#[test]
fn over_a_real_tcp_socket() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || serve(listener.accept().unwrap().0));
    let (wire, expected) = pipelined();
    let mut client = TcpStream::connect(addr).unwrap();
    client.set_nodelay(true).unwrap();
    // In pieces, to make the server see short reads.
    for piece in wire.chunks(97) {
        client.write_all(piece).unwrap();
        thread::sleep(std::time::Duration::from_millis(1));
    }
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(server.join().unwrap(), expected);
}

#[cfg(unix)]
#[test]
fn over_a_real_unix_socket() {
    use std::os::unix::net::{UnixListener, UnixStream};
    let dir = std::env::temp_dir().join(format!("uwsgi-wire-io-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sock");
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).unwrap();
    let server = thread::spawn(move || serve(listener.accept().unwrap().0));
    let (wire, expected) = pipelined();
    let mut client = UnixStream::connect(&path).unwrap();
    for piece in wire.chunks(61) {
        client.write_all(piece).unwrap();
    }
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(server.join().unwrap(), expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_tcp_peer_that_disconnects_mid_head_and_mid_body() {
    let wire = vector("nginx-post.bin"); // captured from nginx 1.22
    for cut in [10, wire.len() - 5] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let mut reader = ServerReader::new(listener.accept().unwrap().0, Limits::new());
            match reader.read_packet() {
                Ok(Some(mut incoming)) => incoming.body.read_to_end(&mut Vec::new()).map(drop),
                Ok(None) => Ok(()),
                Err(e) if e.is_eof() => Err(io::Error::new(io::ErrorKind::UnexpectedEof, e)),
                Err(e) => panic!("{e}"),
            }
        });
        let mut client = TcpStream::connect(addr).unwrap();
        client.write_all(&wire[..cut]).unwrap();
        drop(client);
        let err = server.join().unwrap().unwrap_err();
        assert_eq!(
            err.kind(),
            io::ErrorKind::UnexpectedEof,
            "cut at {cut}: {err}"
        );
    }
}
