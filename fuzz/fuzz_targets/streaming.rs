//! `streaming`: one byte stream, delivered in fuzzer-chosen pieces, through both
//! streaming readers, checked against a plain model that parses the whole stream at
//! once (`Packet::parse`, the strict `CONTENT_LENGTH` or a cache set's `size`, the
//! body slice after it).
//!
//! The stream is either valid requests (a request modifier1, `arbitrary` pairs and a body
//! of fuzzer-chosen length with `CONTENT_LENGTH` set to it, sent one to three times:
//! pipelining) or arbitrary raw bytes, optionally cut short at a fuzzer-chosen point.
//!
//! - **The async codec** (`ServerCodec` through `Decoder::decode`, no runtime) is driven
//!   the way `tokio_util::codec::FramedRead` drives it: a `BytesMut` of 8 KiB to start
//!   with, `decode` until it asks for more, then one read of the next piece into the
//!   buffer's spare capacity (after `reserve(1)`, as `poll_read_buf` does), and
//!   `decode_eof` at the end of the stream. A head is kept until its `End` (as a server
//!   that answers after the body keeps it), body chunks are copied and dropped.
//! - **The blocking reader** (`io::ServerReader`) reads through a `Read` that returns at
//!   most the next piece per call and `Interrupted` for a zero piece; each body is read
//!   to its end with `read_to_end`.
//!
//! Both must give exactly the model's outcome: the same heads (header and block bytes,
//! the same vars), the same body bytes, in order, then the same end: a clean end, an
//! `UnexpectedEof` (mid-head or mid-body), the same protocol `ParseError` (kind and offset), or
//! the same `BodyTooLarge`. Nothing panics, nothing hangs, a short body is never a
//! success. Memory: after every `decode` and every read the codec's buffer capacity is
//! at most `max(8 KiB, 4 + max_datasize, body_chunk)`, what `codec` documents (this
//! found `BytesMut::reserve` doubling it past that: `tests/fuzz_regressions.rs`), and
//! the reader's buffer at most `max(8 KiB, 4 + max_datasize)`.
//!
//! To keep one input fast (a 1-byte drip through a 140 KB body is 140,000 decode calls),
//! only the first 2048 reads take the fuzzer's sizes (the rest take all they can), and
//! the stream is cut after 1024 body chunks' worth of bytes (8 KiB at least).
#![no_main]

use std::io::{self, Read};

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;
use uwsgi_wire::codec::{Frame, ServerCodec, DEFAULT_BODY_CHUNK};
use uwsgi_wire::exchange::{request_body_len, ExchangeErrorKind};
use uwsgi_wire::io::StreamError;
use uwsgi_wire::io::{ServerReader, DEFAULT_BUFFER_SIZE};
use uwsgi_wire::{
    message::CacheRequest, message::CACHE_MAGIC, owned::OwnedPacket, Limits, Modifier1, Packet,
    ParseError, Status, VarsBuilder,
};

/// The modifier1 values of requests (`Modifier1::is_request`): a body follows them.
const REQUEST_TYPES: [u8; 9] = [0, 5, 6, 7, 8, 9, 14, 15, 30];
/// `FramedRead`'s initial buffer (tokio-util 0.7's `INITIAL_CAPACITY`).
const INITIAL_CAPACITY: usize = 8 * 1024;
/// The largest body a valid input asks for: past two default 64 KiB chunks.
const MAX_BODY_LEN: u32 = 140_000;
/// After this many reads of the fuzzer's sizes, every read takes all it can: a drip
/// through a whole 140 KB body three times over would cost seconds per input.
const MAX_SIZED_READS: usize = 2048;
/// Per input, at most this many body chunks (plus 8 KiB of stream) are decoded: with a
/// 1-byte `body_chunk` every body byte is a frame.
const MAX_CHUNKS: usize = 1024;

#[derive(Arbitrary, Debug)]
struct Config {
    /// `None`: the default limits (65535, 13107 vars, 32767 items).
    max_datasize: Option<u16>,
    max_vars: Option<u16>,
    max_items: Option<u16>,
    /// `None`: the default 64 KiB chunk; 0 becomes 1 (the codec's minimum).
    body_chunk: Option<u16>,
    /// `None`: no body limit.
    max_body: Option<u32>,
}

impl Config {
    /// The codec's largest body chunk.
    fn chunk(&self) -> usize {
        self.body_chunk
            .map_or(DEFAULT_BODY_CHUNK, |c| usize::from(c).max(1))
    }
}

#[derive(Arbitrary, Debug)]
struct ValidRequest<'a> {
    /// Index into `REQUEST_TYPES`.
    modifier1: u8,
    modifier2: u8,
    /// Where `CONTENT_LENGTH` goes among the pairs, and how many leading zeros it has
    /// (`05` is valid).
    content_length_at: u8,
    leading_zeros: u8,
    /// The body length (modulo `MAX_BODY_LEN + 1`, or 512 body chunks when that is less)
    /// and its bytes (repeated; a counting pattern when empty).
    body_len: u32,
    body: &'a [u8],
    pairs: Vec<(&'a [u8], &'a [u8])>,
}

#[derive(Arbitrary, Debug)]
enum Stream<'a> {
    Valid(ValidRequest<'a>),
    /// The rest of the input, as it is (`fuzz/seed.sh` puts the captures here).
    Raw(&'a [u8]),
}

/// The layout is fixed up to the stream, so `fuzz/seed.sh` can write seeds: 5 `None`
/// config bytes, `copies`, a `None` cut, 16 bytes of pieces, `pieces_used`, the `Raw`
/// tag (`ff ff ff ff`), then the stream's bytes.
#[derive(Arbitrary, Debug)]
struct Input<'a> {
    config: Config,
    /// How many times the stream is sent back to back (1 to 3).
    copies: u8,
    /// Cut the stream after this many bytes (modulo its length + 1).
    cut: Option<u32>,
    /// The sizes of the reads: the first `pieces_used % 9` of these, cycled (none: the
    /// whole stream at once, as far as the buffer takes it). 0 is an `Interrupted` error
    /// for the blocking reader and a read that brings nothing for the codec.
    pieces: [u16; 8],
    pieces_used: u8,
    stream: Stream<'a>,
}

impl ValidRequest<'_> {
    /// Header, block and body; `None` when the pairs cannot be a block.
    fn wire(&self, chunk: usize) -> Option<Vec<u8>> {
        let modifier1 = REQUEST_TYPES[usize::from(self.modifier1) % REQUEST_TYPES.len()];
        let most = MAX_BODY_LEN.min(u32::try_from(512 * chunk).unwrap_or(u32::MAX));
        let body_len = self.body_len % (most + 1);
        let length = format!(
            "{}{body_len}",
            "0".repeat(usize::from(self.leading_zeros % 3))
        );
        let mut pairs: Vec<(&[u8], &[u8])> = self
            .pairs
            .iter()
            .filter(|(key, _)| *key != b"CONTENT_LENGTH")
            .map(|&(key, value)| {
                let key: &[u8] = if key.is_empty() { b"K" } else { key };
                (key, value)
            })
            .collect();
        let at = usize::from(self.content_length_at) % (pairs.len() + 1);
        pairs.insert(at, (b"CONTENT_LENGTH", length.as_bytes()));
        let mut vars = VarsBuilder::default();
        for (key, value) in pairs {
            vars.push(key, value).ok()?;
        }
        let packet = Packet::new(
            Modifier1(modifier1),
            self.modifier2,
            uwsgi_wire::Payload::Vars(vars.vars()),
        )
        .ok()?;
        let mut wire = Vec::new();
        packet.encode_to(&mut wire).ok()?;
        let len = body_len as usize;
        if self.body.is_empty() {
            wire.extend((0..len).map(|i| (i % 251) as u8));
        } else {
            wire.extend(self.body.iter().copied().cycle().take(len));
        }
        Some(wire)
    }
}

/// How a stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    /// Between two packets.
    Clean,
    /// `UnexpectedEof`: mid-head or mid-body.
    Eof,
    Protocol(ParseError),
    BodyTooLarge {
        length: u64,
        limit: u64,
    },
}

/// One packet as read: its wire bytes (header and block), its vars, its body so far.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Read1 {
    wire: Vec<u8>,
    vars: Option<Vec<(Vec<u8>, Vec<u8>)>>,
    body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    packets: Vec<Read1>,
    end: End,
}

fn read1(packet: &Packet<'_>) -> Read1 {
    let mut wire = packet.header().to_bytes().to_vec();
    wire.extend_from_slice(packet.payload().as_bytes());
    Read1 {
        wire,
        vars: packet
            .vars()
            .map(|vars| vars.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()),
        body: Vec::new(),
    }
}

/// The whole stream at once, with the plain parser.
fn model(stream: &[u8], limits: &Limits, max_body: u64) -> Outcome {
    let mut packets = Vec::new();
    let mut at = 0;
    let end = loop {
        let rest = &stream[at..];
        if rest.is_empty() {
            break End::Clean;
        }
        let (packet, consumed) = match Packet::parse(rest, limits) {
            Err(err) => break End::Protocol(err),
            Ok(Status::Partial { .. }) => break End::Eof,
            Ok(Status::Complete(done)) => done,
        };
        // What follows a packet (docs/PROTOCOL.md section 4.1): the strict CONTENT_LENGTH
        // for a request, `size` for a magic cache set/update (a magic cache packet that is
        // not a valid cache request cannot be framed: an error), nothing otherwise.
        let body_len = match packet.vars() {
            Some(vars) if packet.modifier1().is_request() => match vars.content_length() {
                Ok(len) => len.unwrap_or(0),
                Err(err) => break End::Protocol(err),
            },
            _ if packet.modifier1() == Modifier1::CACHE && packet.modifier2() == CACHE_MAGIC => {
                match CacheRequest::try_from(&packet) {
                    Ok(request) => request.value_len(),
                    Err(err) => break End::Protocol(err),
                }
            }
            _ => 0,
        };
        if body_len > max_body {
            break End::BodyTooLarge {
                length: body_len,
                limit: max_body,
            };
        }
        let mut read = read1(&packet);
        let body = &rest[consumed..];
        let have = body
            .len()
            .min(usize::try_from(body_len).unwrap_or(usize::MAX));
        read.body = body[..have].to_vec();
        packets.push(read);
        if have < body.len() || (have as u64) == body_len {
            at += consumed + have;
        } else {
            break End::Eof;
        }
    };
    Outcome { packets, end }
}

/// The read sizes, cycled.
struct Pieces<'a> {
    sizes: &'a [u16],
    next: usize,
    skipped: bool,
}

impl<'a> Pieces<'a> {
    fn new(sizes: &'a [u16]) -> Self {
        Pieces {
            sizes,
            next: 0,
            skipped: false,
        }
    }

    /// The next size, or `None` for a zero piece (a read that brings nothing). Never
    /// `None` twice in a row, so an all-zero list cannot spin.
    fn next(&mut self) -> Option<usize> {
        if self.sizes.is_empty() || self.next >= MAX_SIZED_READS {
            return Some(usize::MAX);
        }
        let size = self.sizes[self.next % self.sizes.len()];
        self.next += 1;
        let skipped = std::mem::replace(&mut self.skipped, size == 0);
        match size {
            0 if skipped => Some(1),
            0 => None,
            n => Some(usize::from(n)),
        }
    }
}

/// A `Read` that returns the stream in pieces, `Interrupted` for a zero piece.
struct Dripping<'a> {
    data: &'a [u8],
    pieces: Pieces<'a>,
}

impl Read for Dripping<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let Some(size) = self.pieces.next() else {
            return Err(io::ErrorKind::Interrupted.into());
        };
        let n = size.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn io_end(err: io::Error, what: &str) -> End {
    assert_eq!(
        err.kind(),
        io::ErrorKind::UnexpectedEof,
        "{what}: unexpected I/O error {err}"
    );
    End::Eof
}

/// `max_datasize`: the one `limits` was built with.
fn blocking(
    stream: &[u8],
    sizes: &[u16],
    limits: Limits,
    max_datasize: u16,
    max_body: u64,
) -> Outcome {
    let reader = Dripping {
        data: stream,
        pieces: Pieces::new(sizes),
    };
    let mut reader = ServerReader::new(reader, limits.max_body(max_body));
    let buffer_bound = DEFAULT_BUFFER_SIZE.max(4 + usize::from(max_datasize));
    let mut packets = Vec::new();
    let end = loop {
        let incoming = reader.read_packet();
        let end = match incoming {
            Ok(None) => Some(End::Clean),
            Ok(Some(mut incoming)) => {
                let mut read = read1(&incoming.packet);
                let result = incoming.body.read_to_end(&mut read.body);
                if result.is_ok() {
                    assert_eq!(incoming.body.remaining(), 0, "a body read to its end");
                }
                packets.push(read);
                result.err().map(|err| io_end(err, "blocking body"))
            }
            Err(err) => Some(stream_end(err, "blocking head")),
        };
        assert!(
            reader.buffer_capacity() <= buffer_bound,
            "ServerReader buffer grew to {} (bound {buffer_bound})",
            reader.buffer_capacity()
        );
        if let Some(end) = end {
            break end;
        }
    };
    Outcome { packets, end }
}

/// What the codec documents: the read buffer stays within the largest of its initial
/// capacity (`FramedRead`'s 8 KiB), the largest head (4 + `max_datasize`) and one body
/// chunk.
fn codec_bound(max_datasize: u16, chunk: usize) -> usize {
    let head = 4 + usize::from(max_datasize);
    INITIAL_CAPACITY.max(head).max(chunk)
}

/// How a stream ended, from either adapter's error (they share one type).
fn stream_end(err: StreamError, what: &str) -> End {
    match err {
        StreamError::Io(err) => io_end(err, what),
        StreamError::Exchange(err) if err.is_eof() => End::Eof,
        StreamError::Exchange(err) => match err.kind() {
            ExchangeErrorKind::Packet(err) => End::Protocol(err),
            ExchangeErrorKind::BodyTooLarge { length, limit } => {
                End::BodyTooLarge { length, limit }
            }
            other => panic!("{what}: unexpected error {other}"),
        },
        other => panic!("{what}: unexpected error {other}"),
    }
}

/// Feeds one frame into the outcome. A head is held until its `End`.
fn take(frame: Frame<OwnedPacket>, packets: &mut Vec<Read1>, head: &mut Option<u64>) {
    match frame {
        Frame::Head(packet) => {
            assert!(head.is_none(), "a head before the previous End");
            let read = Read1 {
                wire: packet.as_bytes().to_vec(),
                vars: packet
                    .packet()
                    .vars()
                    .map(|vars| vars.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()),
                body: Vec::new(),
            };
            packets.push(read);
            // What the packet announces follows it, by the one rule (the codec framed it).
            *head = Some(request_body_len(&packet.packet()).expect("a framed request"));
        }
        Frame::Body(chunk) => {
            assert!(!chunk.is_empty(), "an empty body chunk");
            let body_len = head.expect("a body chunk after a head");
            let read = packets.last_mut().expect("a head first");
            read.body.extend_from_slice(&chunk);
            assert!(
                read.body.len() as u64 <= body_len,
                "more body than announced"
            );
        }
        Frame::End => {
            let body_len = head.take().expect("an End after a head");
            let read = packets.last().expect("a head first");
            assert_eq!(read.body.len() as u64, body_len, "End before the body");
        }
    }
}

/// `max_datasize`: the one `limits` was built with.
fn codec(
    stream: &[u8],
    sizes: &[u16],
    config: &Config,
    limits: Limits,
    max_datasize: u16,
    max_body: u64,
) -> Outcome {
    let limits = limits.max_body(max_body);
    let mut codec = ServerCodec::new(limits);
    if let Some(chunk) = config.body_chunk {
        codec = codec.body_chunk(usize::from(chunk));
    }
    let chunk = config.chunk();
    let bound = codec_bound(max_datasize, chunk);
    let check = |buf: &BytesMut, when: &str| {
        assert!(
            buf.capacity() <= bound,
            "codec buffer capacity {} over {bound} {when} (len {})",
            buf.capacity(),
            buf.len()
        );
    };
    let mut buf = BytesMut::with_capacity(INITIAL_CAPACITY);
    let mut pieces = Pieces::new(sizes);
    let mut at = 0;
    let mut packets = Vec::new();
    let mut head = None;
    let end = 'stream: loop {
        // Decode until the codec asks for more.
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => {
                    if let Frame::Body(chunk_bytes) = &frame {
                        assert!(chunk_bytes.len() <= chunk, "a chunk over body_chunk");
                    }
                    take(frame, &mut packets, &mut head);
                    check(&buf, "after a frame");
                }
                Ok(None) => break,
                Err(err) => break 'stream stream_end(err, "codec"),
            }
        }
        check(&buf, "after decode asked for more");
        if at == stream.len() {
            // End of stream: what `FramedRead` does once a read returns 0.
            loop {
                match codec.decode_eof(&mut buf) {
                    Ok(Some(frame)) => take(frame, &mut packets, &mut head),
                    Ok(None) => break 'stream End::Clean,
                    Err(err) => break 'stream stream_end(err, "codec"),
                }
            }
        }
        // One read into the spare capacity, as `poll_read_buf` does.
        let Some(size) = pieces.next() else { continue };
        buf.reserve(1);
        let n = size.min(buf.capacity() - buf.len()).min(stream.len() - at);
        buf.extend_from_slice(&stream[at..at + n]);
        at += n;
        check(&buf, "after a read");
    };
    if end == End::Clean {
        assert!(
            buf.is_empty() && head.is_none(),
            "a clean end with bytes left"
        );
    }
    Outcome { packets, end }
}

fuzz_target!(|input: Input<'_>| {
    // `None`: the default `Limits::new` documents.
    let max_datasize = input.config.max_datasize.unwrap_or(u16::MAX);
    let mut limits = Limits::new().max_datasize(max_datasize);
    if let Some(n) = input.config.max_vars {
        limits = limits.max_vars(usize::from(n));
    }
    if let Some(n) = input.config.max_items {
        limits = limits.max_items(usize::from(n));
    }
    let max_body = input.config.max_body.map_or(u64::MAX, u64::from);

    let chunk = input.config.chunk();
    let one = match &input.stream {
        Stream::Valid(request) => match request.wire(chunk) {
            Some(wire) => wire,
            None => return,
        },
        Stream::Raw(bytes) => bytes.to_vec(),
    };
    let mut stream = one.repeat(usize::from(input.copies % 3) + 1);
    if let Some(cut) = input.cut {
        stream.truncate(cut as usize % (stream.len() + 1));
    }
    let cap = (MAX_CHUNKS * chunk).max(8192);
    let capped = stream.len() > cap;
    stream.truncate(cap);

    let expected = model(&stream, &limits, max_body);
    let unlimited = input.config.max_datasize.is_none()
        && input.config.max_vars.is_none()
        && input.config.max_body.is_none();
    if matches!(input.stream, Stream::Valid(_)) && input.cut.is_none() && !capped && unlimited {
        // The generator's own check: a valid request stream parses whole, every body
        // complete.
        assert_eq!(expected.end, End::Clean, "a valid stream parses whole");
        assert_eq!(expected.packets.len(), usize::from(input.copies % 3) + 1);
    }
    let pieces = &input.pieces[..usize::from(input.pieces_used % 9)];
    let through_codec = codec(
        &stream,
        pieces,
        &input.config,
        limits,
        max_datasize,
        max_body,
    );
    assert_eq!(
        through_codec, expected,
        "the codec disagrees with the whole parse"
    );
    let through_reader = blocking(&stream, pieces, limits, max_datasize, max_body);
    assert_eq!(
        through_reader, expected,
        "ServerReader disagrees with the whole parse"
    );
});
