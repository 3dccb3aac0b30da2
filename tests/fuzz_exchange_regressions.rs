//! What the `exchange` fuzz target (fuzz/fuzz_targets/exchange.rs) found in the exchange
//! adapters, as minimal deterministic reproducers, kept as regression tests: each states
//! the behaviour the fix gives (src/io.rs `room`, src/codec.rs `head_bound`, and the
//! pending body error of `ClientReader::read_reply`).
#![cfg(all(feature = "tokio", feature = "std"))]

use std::io::{self, Read};

use bytes::BytesMut;
use tokio_util::codec::Decoder;
use uwsgi_wire::codec::{ClientCodec, ServerCodec};
use uwsgi_wire::exchange::{ExchangeErrorKind, Reply};
use uwsgi_wire::io::{ClientReader, DEFAULT_BUFFER_SIZE};
use uwsgi_wire::{io::StreamError, Limits};

/// `FramedRead`'s initial buffer (tokio-util 0.7).
const INITIAL_CAPACITY: usize = 8 * 1024;

const HTTP: Reply = Reply::Response {
    head_request: false,
};

/// Drives either side's codec over `wire` as `FramedRead` does (a read only when
/// `decode` asks for more, into the spare capacity after `reserve(1)`), until the first
/// frame or error. Returns the number of reads and the largest buffer capacity seen.
fn framed_read<D: Decoder<Error = StreamError>>(
    codec: &mut D,
    wire: &[u8],
) -> (usize, usize, Result<(), StreamError>) {
    let mut buf = BytesMut::with_capacity(INITIAL_CAPACITY);
    let (mut at, mut reads, mut peak) = (0, 0, buf.capacity());
    loop {
        match codec.decode(&mut buf) {
            Ok(Some(_)) => return (reads, peak, Ok(())),
            Ok(None) => {}
            Err(err) => return (reads, peak, Err(err)),
        }
        peak = peak.max(buf.capacity());
        assert!(at < wire.len(), "the stream ended first");
        buf.reserve(1);
        let n = (buf.capacity() - buf.len()).min(wire.len() - at);
        buf.extend_from_slice(&wire[at..at + n]);
        at += n;
        reads += 1;
        peak = peak.max(buf.capacity());
    }
}

/// A `Read` that hands out at most the next of `sizes` per call (then all it can), and
/// counts its calls.
struct Pieces<'a> {
    data: &'a [u8],
    sizes: &'a [usize],
    reads: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes.get(self.reads).copied().unwrap_or(usize::MAX);
        self.reads += 1;
        let n = size.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Found writing `exchange`'s buffer bound (item 4), 2025-12, from `HeadParser`'s
/// `needed`, then checked here (the target needs an odd `max_head` and a small
/// `body_chunk` to see it past the default 64 KiB chunk): a response head with no blank
/// line, one byte short of an odd `max_head` over 8 KiB, makes the codec reserve the
/// 2 bytes `HeadParser` says are still needed, so the buffer reaches `max_head + 1`
/// bytes before the head is refused as `TooLarge`. `codec.rs` bounds the buffer by "the
/// largest head"; a response head is at most `max_head` bytes (`Builder::max_head`:
/// "The longest response head read"). `ClientReader` grows to the same
/// `max_head + 1`, over `DEFAULT_BUFFER_SIZE`'s "the largest head it has to hold".
/// Input: `HTTP/1.1 200 OK\r\nX-Pad: ` then `a` up to 9101 bytes, `max_head` 9001.
#[test]
fn a_response_head_never_grows_a_buffer_past_max_head() {
    let max_head = 9001;
    let mut wire = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
    wire.resize(max_head + 100, b'a');
    let limits = Limits::new();

    let mut codec = ClientCodec::new(limits).max_head(max_head);
    assert!(codec.expect(HTTP));
    let (_, peak, end) = framed_read(&mut codec, &wire);
    assert!(matches!(
        end,
        Err(StreamError::Exchange(e)) if matches!(e.kind(), ExchangeErrorKind::Head(_))
    ));
    assert!(
        peak <= INITIAL_CAPACITY.max(max_head),
        "codec buffer {peak} over max_head {max_head}"
    );

    let mut reader = ClientReader::new(
        Pieces {
            data: &wire,
            sizes: &[],
            reads: 0,
        },
        limits,
    )
    .max_head(max_head);
    assert!(reader.read_reply(HTTP).is_err());
    assert!(
        reader.buffer_capacity() <= DEFAULT_BUFFER_SIZE.max(max_head),
        "ClientReader buffer {} over max_head {max_head}",
        reader.buffer_capacity()
    );
}

/// Found by `exchange`'s first runs, 2025-12: one input (a 60 KB response head) took
/// 1.1 s and 1.1 GB of RSS under AddressSanitizer, and the fuzzer's RSS stayed at
/// 1.7 GB. Past 8 KiB a response head arrives 2 bytes per read, whatever the peer
/// sent. Both adapters make room for exactly the `needed` `HeadParser` returns, 1 or
/// 2 bytes (a lower bound: "the blank line is still needed"), where a packet's
/// `needed` is the whole rest of its block. A 60,047-byte head (well within the
/// default 64 KiB `max_head`) takes 25,930 reads through either adapter, against 2 for
/// a 65,539-byte packet; in the codec each read moves the whole buffer into a fresh
/// allocation (`reserve_bounded`: `try_reclaim` cannot make room in a full buffer), so
/// the head costs 25,931 allocations and about 843 MB of copying: quadratic in the head,
/// which the peer controls. Input: `HTTP/1.1 200 OK\r\nX-Pad: `, 60,000 `a`,
/// `\r\nContent-Length: 0\r\n\r\n`, all available at once.
#[test]
fn a_large_response_head_takes_a_few_reads_not_one_per_two_bytes() {
    let mut wire = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
    wire.extend_from_slice(&[b'a'; 60_000]);
    wire.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");

    // The same budget a packet head of the largest size gets, with room to spare.
    let packet = std::fs::read("tests/vectors/nginx-large-header.bin").unwrap();
    let (packet_reads, _, end) = framed_read(&mut ServerCodec::default(), &packet);
    assert!(end.is_ok() && packet_reads <= 2);

    let mut codec = ClientCodec::default();
    assert!(codec.expect(HTTP));
    let (reads, _, end) = framed_read(&mut codec, &wire);
    assert!(end.is_ok());
    assert!(
        reads <= 16,
        "the codec read a {}-byte head in {reads} reads",
        wire.len()
    );

    let mut reader = ClientReader::new(
        Pieces {
            data: &wire,
            sizes: &[],
            reads: 0,
        },
        Limits::new(),
    );
    assert!(reader.read_reply(HTTP).is_ok());
    let reads = reader.get_ref().reads;
    assert!(
        reads <= 16,
        "ClientReader read a {}-byte head in {reads} reads",
        wire.len()
    );
}

/// Found writing `exchange`'s adapter comparison (the same heads however the stream
/// arrives, item 2), 2025-12, which had to tolerate it until the fix:
/// for a body that runs to the end of the stream, whether `read_reply` returns the
/// head depends on how many bytes came with it. The core and the codec always give the
/// head, then refuse the body once it passes `max_body`; `ClientReader::read_reply`
/// refuses the reply instead of returning its head when the bytes read along with the
/// head already pass `max_body` (it counts them against the body before returning),
/// and returns the head (the body's `read` failing) when they do not. `Body`'s docs
/// say the body read fails. Input: tests/vectors/uwsgi-http-reply.bin (a 45-byte head
/// without Content-Length, then `ok`), `max_body` 1, in one read or as 45 + 2 bytes;
/// also `abc` as a raw reply to the end of the stream.
#[test]
fn read_reply_gives_the_head_of_a_body_to_the_end_over_max_body_however_it_arrives() {
    let wire = std::fs::read("tests/vectors/uwsgi-http-reply.bin").unwrap();
    let limits = Limits::new().max_body(1);
    for sizes in [&[45][..], &[]] {
        let mut reader = ClientReader::new(
            Pieces {
                data: &wire,
                sizes,
                reads: 0,
            },
            limits,
        );
        let mut reply = match reader.read_reply(HTTP) {
            Ok(reply) => reply,
            Err(err) => panic!("reads of {sizes:?}: no head, but {err}"),
        };
        let err = reply.body.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "reads of {sizes:?}");
    }
    let mut reader = ClientReader::new(
        Pieces {
            data: b"abc",
            sizes: &[],
            reads: 0,
        },
        limits,
    );
    let raw = reader.read_reply(Reply::Raw(uwsgi_wire::exchange::BodyLength::ToEof));
    assert!(raw.is_ok(), "a raw reply: no head, but {:?}", raw.err());
}
