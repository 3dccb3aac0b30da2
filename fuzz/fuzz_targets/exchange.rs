//! `exchange`: the exchange core (`uwsgi_wire::exchange`: `ServerExchange` and
//! `ClientExchange`) on both sides of a stream, fed whole and in fuzzer-chosen pieces,
//! and the two adapters over it
//! (the readers `io::ServerReader` and `io::ClientReader`, and the codecs, `codec::ServerCodec` and `codec::ClientCodec`),
//! all checked against the core fed the whole stream at once (the model).
//!
//! The input picks `Limits` and the client side's `max_head` (a small `max_datasize`,
//! `max_vars`, `max_items`, `max_head` or `max_body` sometimes, to reach every limit;
//! `ClientExchange`, `ClientCodec` and `ClientReader` all get the same `max_head`), a
//! body chunk, up to 8 read
//! sizes, a cut, and a stream: valid requests for the server side (a request with a
//! `CONTENT_LENGTH` body, a magic cache `set`/`update` with its `size` value, a ping,
//! signal or echo packet), valid replies for the client side, each with the `Reply` a
//! client expects for it (an HTTP head, status line or CGI `Status:`, with a
//! Content-Length matching its body, a decoy Content-Length before it, chunked (also
//! beside a Content-Length) or no length: to the end of the stream, a `HEAD` request, a 1xx/204/304; a cache reply with
//! `size` and that many bytes; a large RPC reply with `CONTENT_LENGTH` and its result; a
//! pong, RPC result or generic 255 packet; an echo; raw bytes to the end), or raw bytes,
//! read by the server or by a client expecting 1-4 fuzzer-chosen `Reply` values
//! (`Response { head_request }`, `Packet(any Modifier1)`, `Raw(Exact(n))`,
//! `Raw(ToEof)`).
//!
//! What must hold:
//!
//! 1. **The core, whole and in pieces.** Fed in the fuzzer's pieces (a zero piece: the
//!    same buffer again, which must give the same `Partial`), the core gives the model's
//!    events: the same heads (packet modifiers, block bytes and entries; response head
//!    bytes, status, reason, version, CGI flag, Content-Length, chunked, headers; or raw),
//!    the same `BodyLength`s, the same bodies, and the same end: clean, or the same
//!    `ExchangeErrorKind` at the same stream offset. One documented exception: a body
//!    that runs to the end of the stream and passes `max_body` is refused as soon as the
//!    bytes that have arrived pass it, so the pieces may hand out up to `max_body` of it
//!    first and `BodyTooLarge::length` counts the bytes that had arrived; the offset
//!    (the first byte over) and the limit are the same.
//! 2. **The adapters.** The readers (`ServerReader::read_packet` per packet on the server side,
//!    `read_reply` per reply on the client side, each body read to its end, through a
//!    `Read` returning the pieces, `Interrupted` for a zero piece) and the codecs
//!    (driven as `FramedRead` drives them, as in `streaming`: 8 KiB to start, a read
//!    into the spare capacity only when `decode` asks for more, `decode_eof` at the end,
//!    `expect` after each `Frame::End`) give the model's heads (and, from the codec, its
//!    body lengths), bodies and end, offsets included (inner `ExchangeError`s of a body's
//!    `io::Error`). A raw reply has no codec frame: it starts at its first body chunk or
//!    `End`. `read_reply` cannot see bytes after the last reply; they must be left in the
//!    reader (buffered or unread) exactly from the model's `UnexpectedData` offset.
//! 3. **Invariants, at every step of the core.** `Partial { needed }` is never 0 and is
//!    a lower bound (fewer new bytes give no event); `consumed` never exceeds the
//!    buffer and is the head's length (0 for a raw head and `End`); a body event is
//!    never empty, is the buffer's first bytes (borrowed, not copied), and a body never
//!    grows past its `Exact` length or, to the end of the stream, past `max_body`; an
//!    announced length is never over `max_body`; `End` follows a head and closes its
//!    body exactly; `expect` is refused inside an exchange; `position` is the bytes
//!    consumed; an error's offset is within the bytes seen, and the error agrees with
//!    the driver's own count (an end-of-stream kind only at the end, at its offset;
//!    `NoReply` with no byte; `EofInHead::received` the bytes left, `missing` > 0;
//!    `EofInBody::remaining` what the body still owed; `BodyTooLarge` over the limit;
//!    `UnexpectedData` where the last exchange ended); a clean end comes only between
//!    exchanges with every reply read. Nothing is decoded after an error.
//! 4. **Memory.** After every `decode` and every read the codec's buffer capacity is at
//!    most `max(8 KiB, head bound, body_chunk)`, the head bound being `4 + max_datasize`
//!    for packets and `max_head` for response heads (only the kinds this stream can
//!    meet: packets on the server side and for `Reply::Packet`, response heads for
//!    `Reply::Response`), and the reader's buffer at most `max(8 KiB, head bound)`.
//!
//! A valid stream with the default limits, neither cut nor capped, must also parse
//! whole with every head and body as generated (the generator's own check, which pins
//! the rules: last Content-Length wins, chunked and no length run to the end, `HEAD`,
//! 1xx, 204 and 304 have no body, a cache value is `size` bytes, a large RPC result
//! `CONTENT_LENGTH` bytes).
//!
//! To keep one input fast, as in `streaming`, only the first 2048 reads take the
//! fuzzer's sizes, the stream is cut after 1024 body chunks' worth (16 KiB at least),
//! generated bodies are at most 512 chunks, and at most 4 exchanges are generated.
#![no_main]

use std::io::{self, Read};

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;
use uwsgi_wire::codec::{ClientCodec, Frame, ReplyHead, ServerCodec, DEFAULT_BODY_CHUNK};
use uwsgi_wire::exchange::{
    BodyLength, ClientExchange, Event, ExchangeError, ExchangeErrorKind, Head, Reply, ResponseHead,
    ServerExchange, DEFAULT_MAX_HEAD,
};
use uwsgi_wire::io::{ClientReader, ServerReader, DEFAULT_BUFFER_SIZE};
use uwsgi_wire::{
    io::StreamError, message::CacheCommand, message::CacheReply, message::CacheRequest,
    message::RpcReply, Limits, Modifier1, Packet, Payload, Status, VarsBuilder,
};

/// `FramedRead`'s initial buffer (tokio-util 0.7's `INITIAL_CAPACITY`).
const INITIAL_CAPACITY: usize = 8 * 1024;
/// The largest body a valid input asks for: past two default 64 KiB chunks.
const MAX_BODY_LEN: u32 = 140_000;
/// After this many reads of the fuzzer's sizes, every read takes all it can.
const MAX_SIZED_READS: usize = 2048;
/// Per input, at most this many body chunks' worth of stream (16 KiB at least).
const MAX_CHUNKS: usize = 1024;
/// At most this many exchanges are generated, and replies expected.
const MAX_EXCHANGES: usize = 4;
/// The modifier1 values of requests (`Modifier1::is_request`): a body follows them.
const REQUEST_TYPES: [u8; 9] = [0, 5, 6, 7, 8, 9, 14, 15, 30];
/// Raw-block packets a server reads with nothing after them.
const BARE_TYPES: [u8; 8] = [100, 101, 110, 18, 72, 109, 200, 255];

#[derive(Arbitrary, Debug)]
struct Config {
    /// `None`: the default limits (65535, 13107 vars, 32767 items, 64 KiB heads).
    max_datasize: Option<u16>,
    max_vars: Option<u16>,
    max_items: Option<u16>,
    max_head: Option<u16>,
    /// `None`: no body limit.
    max_body: Option<u32>,
    /// `None`: the default 64 KiB chunk; 0 becomes 1 (the codec's minimum).
    body_chunk: Option<u16>,
}

/// What a `Config` sets: the `Limits` both sides take, the `max_head` the client side
/// takes (`ClientExchange`, `ClientCodec` and `ClientReader` alike), and the limits the
/// checks read back (a `Limits` does not give its values back).
#[derive(Clone, Copy, Debug)]
struct Settings {
    limits: Limits,
    max_datasize: u16,
    max_head: usize,
    max_body: u64,
}

impl Settings {
    fn new(config: &Config) -> Self {
        // `None`: the defaults (`Limits::new`, `DEFAULT_MAX_HEAD`).
        let max_datasize = config.max_datasize.unwrap_or(u16::MAX);
        let max_head = config.max_head.map_or(DEFAULT_MAX_HEAD, usize::from);
        let max_body = config.max_body.map_or(u64::MAX, u64::from);
        let mut limits = Limits::new().max_datasize(max_datasize).max_body(max_body);
        if let Some(n) = config.max_vars {
            limits = limits.max_vars(usize::from(n));
        }
        if let Some(n) = config.max_items {
            limits = limits.max_items(usize::from(n));
        }
        Settings {
            limits,
            max_datasize,
            max_head,
            max_body,
        }
    }
}

/// The codec's largest body chunk for `Config::body_chunk`.
fn chunk_size(chunk: Option<u16>) -> usize {
    chunk.map_or(DEFAULT_BODY_CHUNK, |c| usize::from(c).max(1))
}

/// One `Reply` a client expects, in a fixed 6-byte layout: `kind % 5` picks
/// `Response { head_request: false }`, `Response { head_request: true }`,
/// `Packet(Modifier1(modifier1))`, `Raw(Exact(len))`, `Raw(ToEof)`.
#[derive(Arbitrary, Debug, Clone, Copy)]
struct ReplySpec {
    kind: u8,
    modifier1: u8,
    len: u32,
}

impl ReplySpec {
    fn reply(self) -> Reply {
        match self.kind % 5 {
            0 => Reply::Response {
                head_request: false,
            },
            1 => Reply::Response { head_request: true },
            2 => Reply::Packet(Modifier1(self.modifier1)),
            3 => Reply::Raw(BodyLength::Exact(u64::from(self.len))),
            _ => Reply::Raw(BodyLength::ToEof),
        }
    }
}

/// A body: its length (modulo the bound of the input) and its bytes, repeated (a
/// counting pattern when empty).
#[derive(Arbitrary, Debug)]
struct BodySpec<'a> {
    len: u32,
    bytes: &'a [u8],
}

impl BodySpec<'_> {
    fn make(&self, most: u32) -> Vec<u8> {
        let len = (self.len % (most + 1)) as usize;
        if self.bytes.is_empty() {
            (0..len).map(|i| (i % 251) as u8).collect()
        } else {
            self.bytes.iter().copied().cycle().take(len).collect()
        }
    }
}

/// A valid exchange a server reads.
#[derive(Arbitrary, Debug)]
enum Request<'a> {
    /// A request type with `CONTENT_LENGTH` set to its body's length.
    Http {
        modifier1: u8,
        modifier2: u8,
        content_length_at: u8,
        leading_zeros: u8,
        pairs: Vec<(&'a [u8], &'a [u8])>,
        body: BodySpec<'a>,
    },
    /// A magic cache `set` or `update` (uWSGI's own framing, `size` twice) and its value.
    CacheSet {
        update: bool,
        key: &'a [u8],
        expires: u32,
        value: BodySpec<'a>,
    },
    /// A raw-block packet nothing follows.
    Bare {
        modifier1: u8,
        modifier2: u8,
        payload: &'a [u8],
    },
}

/// How an HTTP reply delimits its body.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Length {
    /// `Content-Length` (with leading zeros), optionally after a wrong one.
    Announced { leading_zeros: u8, decoy: bool },
    /// `Transfer-Encoding: chunked` (passed through, to the end of the stream), also
    /// with a Content-Length, which it overrides.
    Chunked { with_length: bool },
    /// No length: to the end of the stream.
    None,
}

/// A valid reply a client reads, and what it expects for it.
#[derive(Arbitrary, Debug)]
enum ValidReply<'a> {
    Http {
        status: u16,
        reason: &'a [u8],
        /// A CGI head (`Status: NNN reason`) instead of a status line.
        cgi: bool,
        /// LF line ends instead of CRLF.
        lf: bool,
        head_request: bool,
        length: Length,
        headers: Vec<(&'a [u8], &'a [u8])>,
        body: BodySpec<'a>,
    },
    /// A cache `get` hit as uWSGI frames it: `status=ok size=N [expires]`, N bytes.
    Cache { expires: u32, value: BodySpec<'a> },
    /// The large RPC form: `{CONTENT_LENGTH: N}`, then the N result bytes.
    RpcLarge { result: BodySpec<'a> },
    /// A pong (100), an RPC result (173, modifier2 0) or a generic response (255).
    Packet {
        which: u8,
        modifier2: u8,
        payload: &'a [u8],
    },
    /// An echo: exactly the payload, raw.
    Echo { payload: &'a [u8] },
    /// Raw bytes to the end of the stream (a raw RPC reply; `HI:x` when empty, as no
    /// byte at all is no reply); ends the stream.
    ToEof { bytes: &'a [u8] },
}

#[derive(Arbitrary, Debug)]
enum Stream<'a> {
    /// Valid exchanges for the server side.
    Requests(Vec<Request<'a>>),
    /// Valid replies for the client side, each with its `Reply`.
    Replies(Vec<ValidReply<'a>>),
    /// The rest of the input as it is, read by the server (tag `00 00 00 80`).
    Server(&'a [u8]),
    /// The rest of the input as it is, read by a client expecting the input's replies
    /// (tag `ff ff ff ff`).
    Client(&'a [u8]),
}

/// The layout is fixed up to the stream, so `fuzz/seed.sh` can write seeds: 6 config
/// `Option`s (1 byte each when `None`), the cut (`00`: none), 16 bytes of pieces,
/// `pieces_used`, 4 x 6 bytes of replies, `replies_used`, the `Stream` tag, the bytes.
#[derive(Arbitrary, Debug)]
struct Input<'a> {
    config: Config,
    /// Cut the stream after this many bytes (modulo its length + 1).
    cut: Option<u32>,
    /// The read sizes: the first `pieces_used % 9` of these, cycled (none: all at once).
    /// 0 is a read that brings nothing (`Interrupted` for the blocking reader, the same
    /// buffer again for the core).
    pieces: [u16; 8],
    pieces_used: u8,
    /// For a raw client stream: the first `1 + replies_used % 4` are expected in turn.
    replies: [ReplySpec; 4],
    replies_used: u8,
    stream: Stream<'a>,
}

/// A head, described the same way whichever reader produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HeadSeen {
    Packet {
        modifier1: u8,
        modifier2: u8,
        /// `v` (pairs, flattened), `a` (items) or `r` (raw).
        kind: char,
        block: Vec<u8>,
        entries: Vec<Vec<u8>>,
    },
    Response {
        bytes: Vec<u8>,
        status: u16,
        reason: Vec<u8>,
        version: Option<u8>,
        cgi: bool,
        content_length: Option<u64>,
        chunked: bool,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
    },
    Raw,
}

fn packet_seen(modifier1: Modifier1, modifier2: u8, payload: Payload<'_>) -> HeadSeen {
    let (kind, entries) = match payload {
        Payload::Vars(vars) => (
            'v',
            vars.iter()
                .flat_map(|(k, v)| [k.to_vec(), v.to_vec()])
                .collect(),
        ),
        Payload::Array(array) => ('a', array.iter().map(<[u8]>::to_vec).collect()),
        Payload::Raw(_) => ('r', Vec::new()),
    };
    HeadSeen::Packet {
        modifier1: modifier1.0,
        modifier2,
        kind,
        block: payload.as_bytes().to_vec(),
        entries,
    }
}

fn response_seen(head: &ResponseHead<'_>) -> HeadSeen {
    HeadSeen::Response {
        bytes: head.as_bytes().to_vec(),
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
    }
}

fn head_seen(head: &Head<'_>) -> HeadSeen {
    match head {
        Head::Packet(p) => packet_seen(p.modifier1(), p.modifier2(), p.payload()),
        Head::Response(h) => response_seen(h),
        Head::Raw => HeadSeen::Raw,
    }
}

/// One exchange as read: its head, its body length (when the reader reports it), its
/// body so far.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    head: HeadSeen,
    length: Option<BodyLength>,
    body: Vec<u8>,
}

impl Seen {
    fn new(head: HeadSeen, length: Option<BodyLength>) -> Self {
        Seen {
            head,
            length,
            body: Vec::new(),
        }
    }
}

/// How a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Clean,
    Error(ExchangeErrorKind, u64),
}

impl End {
    fn of(err: &ExchangeError) -> Self {
        End::Error(err.kind(), err.offset())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    seen: Vec<Seen>,
    end: End,
}

/// The read sizes, cycled (as in `streaming`).
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

    /// The next size, or `None` for a zero piece. Never `None` twice in a row.
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

/// What one side reads: the server, or a client expecting these replies in turn.
#[derive(Debug, Clone, Copy)]
struct Side<'a> {
    replies: Option<&'a [Reply]>,
}

/// Either side of the core, its events seen as a client's (a server's heads are packets).
trait Core {
    fn decode<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(Event<'a, Head<'a>>, usize)>, ExchangeError>;
    fn decode_eof<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Option<(Event<'a, Head<'a>>, usize)>, ExchangeError>;
    fn position(&self) -> u64;
    fn is_idle(&self) -> bool;
    /// The client side, which expects replies (`None`: a server).
    fn client(&mut self) -> Option<&mut ClientExchange>;
}

impl Core for ServerExchange {
    fn decode<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(Event<'a, Head<'a>>, usize)>, ExchangeError> {
        Ok(ServerExchange::decode(self, buf)?.map(|(event, n)| (event.into(), n)))
    }

    fn decode_eof<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Option<(Event<'a, Head<'a>>, usize)>, ExchangeError> {
        Ok(ServerExchange::decode_eof(self, buf)?.map(|(event, n)| (event.into(), n)))
    }

    fn position(&self) -> u64 {
        ServerExchange::position(self)
    }

    fn is_idle(&self) -> bool {
        ServerExchange::is_idle(self)
    }

    fn client(&mut self) -> Option<&mut ClientExchange> {
        None
    }
}

impl Core for ClientExchange {
    fn decode<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(Event<'a, Head<'a>>, usize)>, ExchangeError> {
        ClientExchange::decode(self, buf)
    }

    fn decode_eof<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Option<(Event<'a, Head<'a>>, usize)>, ExchangeError> {
        ClientExchange::decode_eof(self, buf)
    }

    fn position(&self) -> u64 {
        ClientExchange::position(self)
    }

    fn is_idle(&self) -> bool {
        ClientExchange::is_idle(self)
    }

    fn client(&mut self) -> Option<&mut ClientExchange> {
        Some(self)
    }
}

/// The core over `stream`: whole (`sizes` `None`: every call is `decode_eof` on all
/// that is left, the model) or arriving in pieces, with every invariant of item 3.
fn core(stream: &[u8], sizes: Option<&[u16]>, side: Side<'_>, settings: Settings) -> Outcome {
    let limits = settings.limits;
    match side.replies {
        None => core_side(ServerExchange::new(limits), stream, sizes, side, settings),
        Some(_) => {
            let client = ClientExchange::new(limits).max_head(settings.max_head);
            core_side(client, stream, sizes, side, settings)
        }
    }
}

fn core_side(
    mut exchange: impl Core,
    stream: &[u8],
    sizes: Option<&[u16]>,
    side: Side<'_>,
    settings: Settings,
) -> Outcome {
    let mut replies = side.replies.unwrap_or_default().iter().copied();
    if let Some(reply) = replies.next() {
        let accepted = exchange.client().is_some_and(|c| c.expect(reply));
        assert!(accepted, "expect before the first reply");
    }
    let mut pieces = Pieces::new(sizes.unwrap_or_default());
    let mut at = 0;
    let mut avail = if sizes.is_none() { stream.len() } else { 0 };
    // The last `Partial`: its `needed` and the buffer length it was given for.
    let mut partial: Option<(usize, usize)> = None;
    let mut seen: Vec<Seen> = Vec::new();
    // The open exchange's body length and the body bytes so far.
    let mut open: Option<(BodyLength, u64)> = None;
    let end = loop {
        let buf = &stream[at..avail];
        let last = avail == stream.len();
        let step = if last {
            exchange.decode_eof(buf).map(|e| e.map(Status::Complete))
        } else {
            exchange.decode(buf).map(Some)
        };
        let (event, consumed) = match step {
            Err(err) => {
                let limit = exchange.position() + buf.len() as u64;
                assert!(
                    err.offset() <= limit,
                    "error offset {} past the bytes seen ({limit}): {err}",
                    err.offset()
                );
                // What an error says agrees with what the driver knows.
                if err.is_eof() {
                    assert!(last, "an end-of-stream error before the end: {err}");
                    assert_eq!(err.offset(), stream.len() as u64, "{err}: its offset");
                }
                match err.kind() {
                    ExchangeErrorKind::NoReply => {
                        assert!(buf.is_empty() && open.is_none(), "{err} after bytes")
                    }
                    ExchangeErrorKind::EofInHead { received, missing } => {
                        assert_eq!(received, buf.len(), "{err}: received");
                        assert!(missing > 0 && open.is_none(), "{err}");
                    }
                    ExchangeErrorKind::EofInBody { remaining } => {
                        let Some((BodyLength::Exact(len), got)) = open else {
                            panic!("{err} outside a body of known length");
                        };
                        assert_eq!(remaining, len - got, "{err}: remaining");
                    }
                    ExchangeErrorKind::BodyTooLarge { length, limit } => {
                        assert_eq!(limit, settings.max_body, "{err}: the limit");
                        assert!(length > limit, "{err}: not over the limit");
                    }
                    ExchangeErrorKind::UnexpectedData => {
                        assert!(open.is_none() && !buf.is_empty(), "{err}");
                        assert_eq!(err.offset(), at as u64, "{err}: its offset");
                    }
                    _ => {}
                }
                break End::of(&err);
            }
            Ok(None) => {
                assert!(open.is_none(), "a clean end inside an exchange");
                assert!(buf.is_empty(), "a clean end with bytes left");
                assert!(exchange.is_idle(), "a clean end, not idle");
                assert!(replies.next().is_none(), "a clean end before every reply");
                break End::Clean;
            }
            Ok(Some(Status::Partial { needed })) => {
                assert!(needed > 0, "Partial {{ needed: 0 }}");
                if let Some((before, len)) = partial {
                    if buf.len() == len {
                        assert_eq!(needed, before, "the same buffer, another Partial");
                    }
                }
                partial = Some((needed, buf.len()));
                // The next piece (a zero piece: the same buffer again).
                if let Some(size) = pieces.next() {
                    avail += size.min(stream.len() - avail);
                }
                continue;
            }
            Ok(Some(Status::Complete(done))) => done,
        };
        // (An `End` needs no new byte: a body to the end of the stream ends at EOF.)
        if let Some((needed, len)) = partial.take() {
            if !matches!(event, Event::End) {
                assert!(
                    buf.len() >= len + needed,
                    "an event with {} new bytes after Partial {{ needed: {needed} }}",
                    buf.len() - len
                );
            }
        }
        assert!(
            consumed <= buf.len(),
            "consumed {consumed} of {}",
            buf.len()
        );
        match event {
            Event::Head { head, body } => {
                assert!(open.is_none(), "a head before the previous End");
                let expected_consumed = match &head {
                    Head::Packet(p) => 4 + p.payload().as_bytes().len(),
                    Head::Response(h) => h.len(),
                    Head::Raw => 0,
                };
                assert_eq!(consumed, expected_consumed, "a head's consumed");
                if let BodyLength::Exact(len) = body {
                    assert!(
                        len <= settings.max_body,
                        "an announced length over max_body"
                    );
                }
                if let Some(client) = exchange.client() {
                    let again = Reply::Raw(BodyLength::ToEof);
                    assert!(!client.expect(again), "expect inside an exchange");
                }
                seen.push(Seen::new(head_seen(&head), Some(body)));
                open = Some((body, 0));
            }
            Event::Body(bytes) => {
                assert!(!bytes.is_empty(), "an empty body event");
                assert_eq!(consumed, bytes.len(), "a body event's consumed");
                assert_eq!(bytes.as_ptr(), buf.as_ptr(), "a body not borrowed from buf");
                let (length, got) = open.as_mut().expect("a body before a head");
                *got += bytes.len() as u64;
                match *length {
                    BodyLength::Exact(len) => assert!(*got <= len, "a body past its length"),
                    BodyLength::ToEof => assert!(*got <= settings.max_body, "past max_body"),
                }
                seen.last_mut()
                    .expect("a head first")
                    .body
                    .extend_from_slice(bytes);
            }
            Event::End => {
                assert_eq!(consumed, 0, "End consumed bytes");
                let (length, got) = open.take().expect("an End without a head");
                if let BodyLength::Exact(len) = length {
                    assert_eq!(got, len, "End before the body's last byte");
                }
                assert!(exchange.is_idle(), "not idle after End");
                if let Some(reply) = replies.next() {
                    let accepted = exchange.client().is_some_and(|c| c.expect(reply));
                    assert!(accepted, "expect after End");
                }
            }
        }
        at += consumed;
        assert_eq!(exchange.position(), at as u64, "position");
    };
    Outcome { seen, end }
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

/// The framing error inside an adapter's error (any other error is a failure).
fn stream_end(err: StreamError, what: &str) -> End {
    match err {
        StreamError::Exchange(err) => End::of(&err),
        other => panic!("{what}: not a framing error: {other:?}"),
    }
}

/// The framing error inside a body's `io::Error`, whose kind must match it.
fn body_end(err: io::Error, what: &str) -> End {
    let kind = err.kind();
    let inner = err
        .into_inner()
        .unwrap_or_else(|| panic!("{what}: a bare I/O error of kind {kind:?}"));
    let err = inner
        .downcast::<ExchangeError>()
        .unwrap_or_else(|other| panic!("{what}: not an ExchangeError: {other}"));
    let want = if err.is_eof() {
        io::ErrorKind::UnexpectedEof
    } else {
        io::ErrorKind::InvalidData
    };
    assert_eq!(kind, want, "{what}: the io::Error kind of {err}");
    End::of(&err)
}

/// The buffer bounds of item 4: the head bound of what this side can meet.
fn head_bound(side: Side<'_>, settings: &Settings) -> usize {
    let packet = 4 + usize::from(settings.max_datasize);
    match side.replies {
        None => packet,
        Some(replies) => replies
            .iter()
            .map(|reply| match reply {
                Reply::Packet(_) => packet,
                Reply::Response { .. } => settings.max_head,
                _ => 0,
            })
            .max()
            .unwrap_or(0),
    }
}

fn blocking(stream: &[u8], sizes: &[u16], side: Side<'_>, settings: Settings) -> Outcome {
    let reader = Dripping {
        data: stream,
        pieces: Pieces::new(sizes),
    };
    let bound = DEFAULT_BUFFER_SIZE.max(head_bound(side, &settings));
    let check = |capacity: usize, when: &str| {
        assert!(
            capacity <= bound,
            "reader buffer {capacity} over {bound} {when}"
        );
    };
    let mut seen = Vec::new();
    let (end, capacity) = match side.replies {
        None => {
            let mut reader = ServerReader::new(reader, settings.limits);
            let end = loop {
                let (one, read) = match reader.read_packet() {
                    Ok(None) => break End::Clean,
                    Ok(Some(mut incoming)) => {
                        let head = head_seen(&Head::Packet(incoming.packet));
                        let mut one = Seen::new(head, None);
                        let read = incoming.body.read_to_end(&mut one.body);
                        if read.is_ok() {
                            assert_eq!(incoming.body.remaining(), 0, "a body read to its end");
                        }
                        (one, read)
                    }
                    Err(err) => break stream_end(err, "read_packet"),
                };
                check(reader.buffer_capacity(), "after a body");
                seen.push(one);
                if let Err(err) = read {
                    break body_end(err, "read_packet body");
                }
            };
            (end, reader.buffer_capacity())
        }
        Some(replies) => {
            let mut reader = ClientReader::new(reader, settings.limits).max_head(settings.max_head);
            let end = 'replies: {
                for &reply in replies {
                    let (one, read) = match reader.read_reply(reply) {
                        Ok(mut incoming) => {
                            let mut one = Seen::new(head_seen(&incoming.head), None);
                            let read = incoming.body.read_to_end(&mut one.body);
                            if read.is_ok() {
                                assert_eq!(
                                    incoming.body.remaining(),
                                    0,
                                    "a reply body read to its end"
                                );
                            }
                            (one, read)
                        }
                        Err(err) => break 'replies stream_end(err, "read_reply"),
                    };
                    check(reader.buffer_capacity(), "after a reply body");
                    seen.push(one);
                    if let Err(err) = read {
                        break 'replies body_end(err, "read_reply body");
                    }
                }
                // Nothing may follow the last reply: what does was left in the reader.
                let left = reader.buffered().len() + reader.get_ref().data.len();
                if left == 0 {
                    End::Clean
                } else {
                    let at = (stream.len() - left) as u64;
                    End::Error(ExchangeErrorKind::UnexpectedData, at)
                }
            };
            (end, reader.buffer_capacity())
        }
    };
    check(capacity, "at the end");
    Outcome { seen, end }
}

/// Either side's codec, its frames seen as a client's (a server's heads are packets).
trait SideCodec: Decoder<Error = StreamError> {
    /// The codec with these settings and, when given, this body chunk.
    fn with(settings: &Settings, chunk: Option<u16>) -> Self;
    fn frame(item: Self::Item) -> Frame<ReplyHead>;
    /// The client codec, to tell the reply it expects; a server's has none.
    fn client(&mut self) -> Option<&mut ClientCodec>;
    /// The body bytes the codec has yet to hand out.
    fn body_remaining(&self) -> Option<u64>;
}

impl SideCodec for ServerCodec {
    fn with(settings: &Settings, chunk: Option<u16>) -> Self {
        let codec = ServerCodec::new(settings.limits);
        match chunk {
            Some(chunk) => codec.body_chunk(usize::from(chunk)),
            None => codec,
        }
    }

    fn frame(item: Self::Item) -> Frame<ReplyHead> {
        match item {
            Frame::Head(packet) => Frame::Head(ReplyHead::Packet(packet)),
            Frame::Body(bytes) => Frame::Body(bytes),
            Frame::End => Frame::End,
        }
    }

    fn client(&mut self) -> Option<&mut ClientCodec> {
        None
    }

    fn body_remaining(&self) -> Option<u64> {
        ServerCodec::body_remaining(self)
    }
}

impl SideCodec for ClientCodec {
    fn with(settings: &Settings, chunk: Option<u16>) -> Self {
        let codec = ClientCodec::new(settings.limits).max_head(settings.max_head);
        match chunk {
            Some(chunk) => codec.body_chunk(usize::from(chunk)),
            None => codec,
        }
    }

    fn frame(item: Self::Item) -> Frame<ReplyHead> {
        item
    }

    fn client(&mut self) -> Option<&mut ClientCodec> {
        Some(self)
    }

    fn body_remaining(&self) -> Option<u64> {
        ClientCodec::body_remaining(self)
    }
}

/// Through the side's codec `C` (`ServerCodec` without replies, else `ClientCodec`).
fn codec<C: SideCodec>(
    stream: &[u8],
    sizes: &[u16],
    side: Side<'_>,
    settings: Settings,
    chunk: Option<u16>,
) -> Outcome {
    let mut codec = C::with(&settings, chunk);
    let chunk = chunk_size(chunk);
    let bound = INITIAL_CAPACITY.max(head_bound(side, &settings)).max(chunk);
    let check = |buf: &BytesMut, when: &str| {
        assert!(
            buf.capacity() <= bound,
            "codec buffer capacity {} over {bound} {when} (len {})",
            buf.capacity(),
            buf.len()
        );
    };
    let mut replies = side.replies.unwrap_or_default().iter().copied();
    // The reply being read, until its End.
    let mut current = replies.next();
    if let Some(reply) = current {
        assert!(codec.client().is_some_and(|c| c.expect(reply)));
    }
    // A raw reply has no head frame: its first body chunk or End starts it.
    let mut raw_pending = matches!(current, Some(Reply::Raw(_)));
    let mut open = false;
    let mut buf = BytesMut::with_capacity(INITIAL_CAPACITY);
    let mut pieces = Pieces::new(sizes);
    let mut at = 0;
    let mut seen: Vec<Seen> = Vec::new();
    let mut take = |frame: Frame<ReplyHead>, seen: &mut Vec<Seen>, codec: &mut C| {
        if raw_pending && matches!(frame, Frame::Body(_) | Frame::End) {
            seen.push(Seen::new(HeadSeen::Raw, None));
            raw_pending = false;
            open = true;
        }
        match frame {
            Frame::Head(ReplyHead::Packet(packet)) => {
                assert!(!open, "a head before the previous End");
                let packet = packet.packet();
                let head = packet_seen(packet.modifier1(), packet.modifier2(), packet.payload());
                // Right after its head, the codec holds exactly the body it announced.
                let length = BodyLength::Exact(codec.body_remaining().unwrap_or(0));
                seen.push(Seen::new(head, Some(length)));
                open = true;
            }
            Frame::Head(ReplyHead::Response(head)) => {
                assert!(side.replies.is_some(), "a response head on the server side");
                assert!(!open, "a response head before the previous End");
                seen.push(Seen::new(response_seen(&head.head()), Some(head.body())));
                open = true;
            }
            Frame::Body(bytes) => {
                assert!(!bytes.is_empty(), "an empty body chunk");
                assert!(bytes.len() <= chunk, "a chunk over body_chunk");
                assert!(open, "a body chunk before a head");
                seen.last_mut()
                    .expect("a head")
                    .body
                    .extend_from_slice(&bytes);
            }
            Frame::End => {
                assert!(open, "an End without a head");
                open = false;
                current = replies.next();
                if let Some(reply) = current {
                    assert!(
                        codec.client().is_some_and(|c| c.expect(reply)),
                        "expect after End"
                    );
                    raw_pending = matches!(reply, Reply::Raw(_));
                }
            }
        }
    };
    let end = 'stream: loop {
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => {
                    take(C::frame(frame), &mut seen, &mut codec);
                    check(&buf, "after a frame");
                }
                Ok(None) => break,
                Err(err) => break 'stream stream_end(err, "codec"),
            }
        }
        check(&buf, "after decode asked for more");
        if at == stream.len() {
            loop {
                match codec.decode_eof(&mut buf) {
                    Ok(Some(frame)) => take(C::frame(frame), &mut seen, &mut codec),
                    Ok(None) => break 'stream End::Clean,
                    Err(err) => break 'stream stream_end(err, "codec at the end"),
                }
            }
        }
        let Some(size) = pieces.next() else { continue };
        buf.reserve(1);
        let n = size.min(buf.capacity() - buf.len()).min(stream.len() - at);
        buf.extend_from_slice(&stream[at..at + n]);
        at += n;
        check(&buf, "after a read");
    };
    // A raw reply to the end of the stream over max_body fails before its first frame.
    if let End::Error(ExchangeErrorKind::BodyTooLarge { .. }, _) = end {
        if raw_pending && current == Some(Reply::Raw(BodyLength::ToEof)) {
            seen.push(Seen::new(HeadSeen::Raw, None));
        }
    }
    if end == End::Clean {
        assert!(buf.is_empty() && !open, "a clean end with bytes left");
    }
    Outcome { seen, end }
}

/// `got` against the model (items 1 and 2): the same heads, body lengths where `got`
/// reports them, bodies and end, but for a body to the end of the stream over
/// `max_body` (see the module docs).
fn agree(what: &str, got: &Outcome, model: &Outcome, stream: &[u8]) {
    let plain = |seen: &[Seen]| -> Vec<(HeadSeen, Vec<u8>)> {
        seen.iter()
            .map(|s| (s.head.clone(), s.body.clone()))
            .collect()
    };
    for (g, m) in got.seen.iter().zip(&model.seen) {
        if let (Some(g), Some(m)) = (g.length, m.length) {
            assert_eq!(g, m, "{what}: a body length");
        }
    }
    // A body to the end of the stream over max_body: the model (all bytes at once) is
    // refused at once; a reader fed in pieces hands out up to max_body bytes first.
    let over = match (model.end, model.seen.last()) {
        (End::Error(ExchangeErrorKind::BodyTooLarge { limit, .. }, offset), Some(last))
            if last.length == Some(BodyLength::ToEof) && last.body.is_empty() =>
        {
            Some((limit, offset))
        }
        _ => None,
    };
    let Some((limit, offset)) = over else {
        assert_eq!(
            (plain(&got.seen), got.end),
            (plain(&model.seen), model.end),
            "{what} disagrees with the model"
        );
        return;
    };
    let n = model.seen.len();
    assert_eq!(got.seen.len(), n, "{what}: the exchanges");
    assert_eq!(
        plain(&got.seen[..n - 1]),
        plain(&model.seen[..n - 1]),
        "{what}: the exchanges before the body over max_body"
    );
    let body_start = offset - limit;
    let last = &got.seen[n - 1];
    assert_eq!(last.head, model.seen[n - 1].head, "{what}: the last head");
    assert!(
        last.body.len() as u64 <= limit,
        "{what}: a body over max_body"
    );
    let start = body_start as usize;
    assert_eq!(
        last.body,
        stream[start..start + last.body.len()],
        "{what}: the body handed out before max_body"
    );
    let End::Error(ExchangeErrorKind::BodyTooLarge { length, limit: l }, o) = got.end else {
        panic!("{what}: {:?}, not the model's BodyTooLarge", got.end);
    };
    assert_eq!((l, o), (limit, offset), "{what}: the limit and offset");
    assert!(
        length > limit && length <= stream.len() as u64 - body_start,
        "{what}: BodyTooLarge length {length}"
    );
}

/// The codes whose bodies are special or at the edges.
const STATUSES: [u16; 16] = [
    100, 101, 103, 199, 200, 201, 204, 205, 206, 299, 302, 304, 305, 404, 500, 999,
];

/// An HTTP status from fuzzer bytes: one of the edge cases for an even value, any of
/// 100 to 999 for an odd one.
fn http_status(raw: u16) -> u16 {
    let pick = raw / 2;
    if raw & 1 == 0 {
        STATUSES[usize::from(pick) % STATUSES.len()]
    } else {
        100 + pick % 900
    }
}

/// An HTTP header name from fuzzer bytes: `X-` and token characters, so it is none of
/// Content-Length, Transfer-Encoding, Status or Location.
fn header_name(bytes: &[u8]) -> Vec<u8> {
    const TOKEN: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut name = b"X-".to_vec();
    name.extend(bytes.iter().map(|&b| TOKEN[usize::from(b) % TOKEN.len()]));
    name
}

/// A header value or reason from fuzzer bytes: anything but NUL, CR and LF.
fn text(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|&b| {
            if matches!(b, 0 | b'\r' | b'\n') {
                b'v'
            } else {
                b
            }
        })
        .collect()
}

/// What the generator says one exchange is: its head kind (a packet's modifiers, a
/// response status) and body length, and its body.
#[derive(Debug)]
struct Made {
    head: MadeHead,
    length: BodyLength,
    body: Vec<u8>,
    /// False for a response head over the default `max_head`.
    fits: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum MadeHead {
    Packet(u8, u8),
    Response(u16),
    Raw,
}

fn encode(packet: Packet<'_>, wire: &mut Vec<u8>) -> Option<()> {
    packet.encode_to(wire).ok().map(drop)
}

impl Request<'_> {
    fn wire(&self, wire: &mut Vec<u8>, most: u32) -> Option<Made> {
        match self {
            Request::Http {
                modifier1,
                modifier2,
                content_length_at,
                leading_zeros,
                pairs,
                body,
            } => {
                let modifier1 = REQUEST_TYPES[usize::from(*modifier1) % REQUEST_TYPES.len()];
                let body = body.make(most);
                let length = format!(
                    "{}{}",
                    "0".repeat(usize::from(leading_zeros % 3)),
                    body.len()
                );
                let mut pairs: Vec<(&[u8], &[u8])> = pairs
                    .iter()
                    .filter(|(key, _)| *key != b"CONTENT_LENGTH")
                    .map(|&(key, value)| (if key.is_empty() { &b"K"[..] } else { key }, value))
                    .collect();
                let at = usize::from(*content_length_at) % (pairs.len() + 1);
                pairs.insert(at, (b"CONTENT_LENGTH", length.as_bytes()));
                let mut vars = VarsBuilder::default();
                for (key, value) in pairs {
                    vars.push(key, value).ok()?;
                }
                let payload = Payload::Vars(vars.vars());
                encode(
                    Packet::new(Modifier1(modifier1), *modifier2, payload).ok()?,
                    wire,
                )?;
                wire.extend_from_slice(&body);
                Some(Made {
                    head: MadeHead::Packet(modifier1, *modifier2),
                    length: BodyLength::Exact(body.len() as u64),
                    body,
                    fits: true,
                })
            }
            Request::CacheSet {
                update,
                key,
                expires,
                value,
            } => {
                let value = value.make(most);
                let command = if *update {
                    CacheCommand::Update
                } else {
                    CacheCommand::Set
                };
                let key: &[u8] = if key.is_empty() { b"k" } else { key };
                let vars = CacheRequest::build(
                    command,
                    key,
                    value.len() as u64,
                    u64::from(*expires),
                    None,
                )
                .ok()?;
                let payload = Payload::Vars(vars.vars());
                encode(Packet::new(Modifier1::CACHE, 17, payload).ok()?, wire)?;
                wire.extend_from_slice(&value);
                Some(Made {
                    head: MadeHead::Packet(111, 17),
                    length: BodyLength::Exact(value.len() as u64),
                    body: value,
                    fits: true,
                })
            }
            Request::Bare {
                modifier1,
                modifier2,
                payload,
            } => {
                let modifier1 = BARE_TYPES[usize::from(*modifier1) % BARE_TYPES.len()];
                let payload = Payload::Raw(payload);
                encode(
                    Packet::new(Modifier1(modifier1), *modifier2, payload).ok()?,
                    wire,
                )?;
                Some(Made {
                    head: MadeHead::Packet(modifier1, *modifier2),
                    length: BodyLength::Exact(0),
                    body: Vec::new(),
                    fits: true,
                })
            }
        }
    }
}

impl ValidReply<'_> {
    /// Appends the reply to `wire`; returns the `Reply` expected and what it is.
    fn wire(&self, wire: &mut Vec<u8>, most: u32) -> Option<(Reply, Made)> {
        match self {
            ValidReply::Http {
                status,
                reason,
                cgi,
                lf,
                head_request,
                length,
                headers,
                body,
            } => {
                let eol: &[u8] = if *lf { b"\n" } else { b"\r\n" };
                let status = http_status(*status);
                let no_body =
                    *head_request || (100..200).contains(&status) || matches!(status, 204 | 304);
                let body = if no_body { Vec::new() } else { body.make(most) };
                let line = |wire: &mut Vec<u8>, parts: &[&[u8]]| {
                    for part in parts {
                        wire.extend_from_slice(part);
                    }
                    wire.extend_from_slice(eol);
                };
                let start = wire.len();
                let code = status.to_string();
                let reason = text(reason);
                if *cgi {
                    line(wire, &[b"Status: ", code.as_bytes(), b" ", &reason]);
                } else {
                    line(wire, &[b"HTTP/1.1 ", code.as_bytes(), b" ", &reason]);
                }
                let headers: Vec<(Vec<u8>, Vec<u8>)> = headers
                    .iter()
                    .map(|(name, value)| (header_name(name), text(value)))
                    .collect();
                let (mid, rest) = headers.split_at(headers.len() / 2);
                for (name, value) in mid {
                    line(wire, &[name, b": ", value]);
                }
                let announced = match *length {
                    Length::Announced {
                        leading_zeros,
                        decoy,
                    } => {
                        if decoy {
                            let wrong = (body.len() + 1).to_string();
                            line(wire, &[b"Content-Length: ", wrong.as_bytes()]);
                        }
                        let zeros = "0".repeat(usize::from(leading_zeros % 3));
                        let len = format!("{zeros}{}", body.len());
                        line(wire, &[b"content-length: ", len.as_bytes()]);
                        BodyLength::Exact(body.len() as u64)
                    }
                    Length::Chunked { with_length } => {
                        line(wire, &[b"Transfer-Encoding: chunked"]);
                        if with_length {
                            let wrong = (body.len() / 2).to_string();
                            line(wire, &[b"Content-Length: ", wrong.as_bytes()]);
                        }
                        BodyLength::ToEof
                    }
                    Length::None => BodyLength::ToEof,
                };
                for (name, value) in rest {
                    line(wire, &[name, b": ", value]);
                }
                wire.extend_from_slice(eol);
                let fits = wire.len() - start <= DEFAULT_MAX_HEAD;
                wire.extend_from_slice(&body);
                let length = if no_body {
                    BodyLength::Exact(0)
                } else {
                    announced
                };
                let reply = Reply::Response {
                    head_request: *head_request,
                };
                let head = MadeHead::Response(status);
                let made = Made {
                    head,
                    length,
                    body,
                    fits,
                };
                Some((reply, made))
            }
            ValidReply::Cache { expires, value } => {
                let value = value.make(most);
                let hit = Some((value.len() as u64, u64::from(*expires)));
                let vars = CacheReply::build(hit).ok()?;
                let payload = Payload::Vars(vars.vars());
                encode(Packet::new(Modifier1::CACHE, 17, payload).ok()?, wire)?;
                wire.extend_from_slice(&value);
                let made = Made {
                    head: MadeHead::Packet(111, 17),
                    length: BodyLength::Exact(value.len() as u64),
                    body: value,
                    fits: true,
                };
                Some((Reply::Packet(Modifier1::CACHE), made))
            }
            ValidReply::RpcLarge { result } => {
                let result = result.make(most);
                let reply = RpcReply::Large {
                    len: result.len() as u64,
                };
                let mut packet = vec![0; reply.encoded_len()];
                let n = reply.encode(&mut packet).ok()?;
                wire.extend_from_slice(&packet[..n]);
                wire.extend_from_slice(&result);
                let made = Made {
                    head: MadeHead::Packet(173, 5),
                    length: BodyLength::Exact(result.len() as u64),
                    body: result,
                    fits: true,
                };
                Some((Reply::Packet(Modifier1::RPC), made))
            }
            ValidReply::Packet {
                which,
                modifier2,
                payload,
            } => {
                let (modifier1, modifier2) = match which % 3 {
                    0 => (100, *modifier2),
                    1 => (173, 0),
                    _ => (255, *modifier2),
                };
                let packet = Packet::new(Modifier1(modifier1), modifier2, Payload::Raw(payload));
                encode(packet.ok()?, wire)?;
                let made = Made {
                    head: MadeHead::Packet(modifier1, modifier2),
                    length: BodyLength::Exact(0),
                    body: Vec::new(),
                    fits: true,
                };
                Some((Reply::Packet(Modifier1(modifier1)), made))
            }
            ValidReply::Echo { payload } => {
                wire.extend_from_slice(payload);
                let length = BodyLength::Exact(payload.len() as u64);
                let made = Made {
                    head: MadeHead::Raw,
                    length,
                    body: payload.to_vec(),
                    fits: true,
                };
                Some((Reply::Raw(length), made))
            }
            ValidReply::ToEof { bytes } => {
                // No byte at all is no reply (`NoReply`): uWSGI's cache miss.
                let bytes: &[u8] = if bytes.is_empty() { b"HI:x" } else { bytes };
                wire.extend_from_slice(bytes);
                let made = Made {
                    head: MadeHead::Raw,
                    length: BodyLength::ToEof,
                    body: bytes.to_vec(),
                    fits: true,
                };
                Some((Reply::Raw(BodyLength::ToEof), made))
            }
        }
    }

    /// True when the body runs to the end of the stream: nothing can follow it.
    fn to_eof(&self) -> bool {
        match self {
            ValidReply::Http {
                status,
                head_request,
                length,
                ..
            } => {
                let status = http_status(*status);
                let no_body =
                    *head_request || (100..200).contains(&status) || matches!(status, 204 | 304);
                !no_body && !matches!(length, Length::Announced { .. })
            }
            ValidReply::ToEof { .. } => true,
            _ => false,
        }
    }
}

/// The generator's own check: the model read every exchange as it was made.
fn check_made(model: &Outcome, made: &[Made]) {
    assert_eq!(model.end, End::Clean, "a valid stream parses whole");
    assert_eq!(model.seen.len(), made.len(), "every exchange made is read");
    for (seen, made) in model.seen.iter().zip(made) {
        let head = match &seen.head {
            HeadSeen::Packet {
                modifier1,
                modifier2,
                ..
            } => MadeHead::Packet(*modifier1, *modifier2),
            HeadSeen::Response { status, .. } => MadeHead::Response(*status),
            HeadSeen::Raw => MadeHead::Raw,
        };
        assert_eq!(head, made.head, "the head made");
        assert_eq!(seen.length, Some(made.length), "the body length made");
        assert_eq!(seen.body, made.body, "the body made");
    }
}

fuzz_target!(|input: Input<'_>| {
    let config = &input.config;
    let settings = Settings::new(config);
    let chunk = chunk_size(config.body_chunk);
    let most = MAX_BODY_LEN.min(u32::try_from(512 * chunk).unwrap_or(u32::MAX));

    let mut stream = Vec::new();
    let mut replies = Vec::new();
    let mut made = Vec::new();
    let server = match &input.stream {
        Stream::Requests(requests) => {
            for request in requests.iter().take(MAX_EXCHANGES) {
                match request.wire(&mut stream, most) {
                    Some(one) => made.push(one),
                    None => return,
                }
            }
            true
        }
        Stream::Replies(valid) => {
            for reply in valid.iter().take(MAX_EXCHANGES) {
                let Some((expected, one)) = reply.wire(&mut stream, most) else {
                    return;
                };
                replies.push(expected);
                made.push(one);
                if reply.to_eof() {
                    break; // the rest would be its body
                }
            }
            if replies.is_empty() {
                return;
            }
            false
        }
        Stream::Server(bytes) => {
            stream.extend_from_slice(bytes);
            true
        }
        Stream::Client(bytes) => {
            stream.extend_from_slice(bytes);
            let used = 1 + usize::from(input.replies_used) % MAX_EXCHANGES;
            replies.extend(input.replies[..used].iter().map(|spec| spec.reply()));
            false
        }
    };
    if let Some(cut) = input.cut {
        stream.truncate(cut as usize % (stream.len() + 1));
    }
    let cap = (MAX_CHUNKS * chunk).max(16 * 1024);
    let capped = stream.len() > cap;
    stream.truncate(cap);

    let side = Side {
        replies: (!server).then_some(&replies[..]),
    };
    let model = core(&stream, None, side, settings);
    let defaults = config.max_datasize.is_none()
        && config.max_vars.is_none()
        && config.max_items.is_none()
        && config.max_head.is_none()
        && config.max_body.is_none();
    let generated = matches!(input.stream, Stream::Requests(_) | Stream::Replies(_));
    if generated && defaults && input.cut.is_none() && !capped && made.iter().all(|m| m.fits) {
        check_made(&model, &made);
    }

    let pieces = &input.pieces[..usize::from(input.pieces_used % 9)];
    let split = core(&stream, Some(pieces), side, settings);
    agree("the core in pieces", &split, &model, &stream);
    let through_reader = blocking(&stream, pieces, side, settings);
    agree("the readers", &through_reader, &model, &stream);
    let through_codec = match side.replies {
        None => codec::<ServerCodec>(&stream, pieces, side, settings, config.body_chunk),
        Some(_) => codec::<ClientCodec>(&stream, pieces, side, settings, config.body_chunk),
    };
    agree("the codec", &through_codec, &model, &stream);
});
