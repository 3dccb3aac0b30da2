//! Response heads: `exchange::HeadParser` (nginx 1.22's rules, see src/exchange/head.rs)
//! against `httparse::Response::parse` of the same bytes (issue 7: at most 1.2x), on the
//! replies uWSGI 2.0.21 sent and tests/vectors/ keeps (see its README):
//!
//! - `reply-cl`: `uwsgi-http-reply-content-length.bin`, its 65-byte head only (status
//!   line, `Content-Type`, `Content-Length`, blank line; the 12 body bytes cut off);
//! - `reply`: `uwsgi-http-reply.bin` as captured, 47 bytes: a 45-byte head (status line,
//!   `Content-Type`, blank line) and the 2 body bytes.
//!
//! Each call starts from nothing, as a client does for each reply: a new `HeadParser`
//! with the exchange core's default limit (`exchange::DEFAULT_MAX_HEAD`), or a new
//! `httparse::Response` over 16 header slots made once outside the timed loop. Both
//! return the head's length and status; httparse also its header count, the head parser
//! its `Content-Length` (which it works out as it goes, as the exchange core needs it).
//!
//! ```sh
//! cargo bench --bench head                                # same-run ratios (default)
//! cargo bench --bench head -- --test                      # each case once (CI)
//! cargo bench --bench head --no-run                       # then, for instruction counts:
//! HEAD_BENCH_CALLGRIND=10000 valgrind --tool=callgrind --toggle-collect='head::case_*' \
//!     target/bench/release/deps/head-HASH
//! ```

use std::hint::black_box;
use std::time::Instant;

use uwsgi_wire::exchange::{HeadParser, DEFAULT_MAX_HEAD};
use uwsgi_wire::Status;

const REPLY_CL: &[u8] = include_bytes!("../tests/vectors/uwsgi-http-reply-content-length.bin");
const REPLY: &[u8] = include_bytes!("../tests/vectors/uwsgi-http-reply.bin");

/// Header slots for httparse, more than any input needs.
const SLOTS: usize = 16;

/// The inputs: name, bytes, and the head's length in them (checked before timing).
fn inputs() -> [(&'static str, &'static [u8], usize); 2] {
    let head_len = |bytes: &[u8]| {
        bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a blank line")
            + 4
    };
    let cl = head_len(REPLY_CL);
    [
        ("reply-cl", placed(&REPLY_CL[..cl]), cl),
        ("reply", placed(REPLY), head_len(REPLY)),
    ]
}

/// A copy of `bytes` that starts `HEAD_BENCH_OFFSET` bytes (default 0) after a 4096-byte
/// boundary: where `include_bytes!` data lands moves with the code around it, and the
/// time of both parsers moves with it (BENCHMARKS.md).
fn placed(bytes: &[u8]) -> &'static [u8] {
    let offset = std::env::var("HEAD_BENCH_OFFSET")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0)
        % 4096;
    let buf: &'static mut [u8] = Vec::leak(vec![0u8; bytes.len() + 2 * 4096]);
    let start = (4096 - buf.as_ptr() as usize % 4096) % 4096 + offset;
    let copy = &mut buf[start..start + bytes.len()];
    copy.copy_from_slice(bytes);
    copy
}

struct Scratch {
    headers: [httparse::Header<'static>; SLOTS],
}

/// `HeadParser::parse` on a new parser: (head length, status, Content-Length).
#[inline(never)]
fn head_parser(bytes: &'static [u8], _: &mut Scratch) -> (usize, u16, u64) {
    let mut parser = HeadParser::new(DEFAULT_MAX_HEAD);
    match parser.parse(bytes) {
        Ok(Status::Complete((head, len))) => {
            (len, head.status(), head.content_length().unwrap_or(0))
        }
        _ => (0, 0, 0),
    }
}

/// `httparse::Response::parse` into the 16 slots: (head length, status, header count).
#[inline(never)]
fn httparse_response(bytes: &'static [u8], scratch: &mut Scratch) -> (usize, u16, u64) {
    let mut response = httparse::Response::new(&mut scratch.headers);
    match response.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => (
            len,
            response.code.unwrap_or(0),
            u64::try_from(response.headers.len()).unwrap_or(0),
        ),
        _ => (0, 0, 0),
    }
}

type Case = fn(&'static [u8], &mut Scratch) -> (usize, u16, u64);

/// The callgrind entry points (`--toggle-collect='head::case_*'`).
#[inline(never)]
fn case_head_parser(bytes: &'static [u8], scratch: &mut Scratch) -> (usize, u16, u64) {
    head_parser(bytes, scratch)
}

#[inline(never)]
fn case_httparse(bytes: &'static [u8], scratch: &mut Scratch) -> (usize, u16, u64) {
    httparse_response(bytes, scratch)
}

fn new_scratch() -> Scratch {
    Scratch {
        headers: [httparse::EMPTY_HEADER; SLOTS],
    }
}

fn batch(run: Case, bytes: &'static [u8], scratch: &mut Scratch, iters: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(run(black_box(bytes), scratch));
    }
    start.elapsed().as_secs_f64() * 1e9 / f64::from(iters)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Alternating batches of about 50 us (A B, B A, ...): load from other processes falls
/// on both sides alike. Returns the median times and the median per-round ratio.
fn compare(a: Case, b: Case, bytes: &'static [u8], rounds: usize) -> (f64, f64, f64) {
    let (mut sa, mut sb) = (new_scratch(), new_scratch());
    let calibrate = |run: Case, scratch: &mut Scratch| {
        let one = batch(run, bytes, scratch, 1000).max(0.1);
        ((50_000.0 / one) as u32).max(1)
    };
    let (ia, ib) = (calibrate(a, &mut sa), calibrate(b, &mut sb));
    let (mut ta, mut tb, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (x, y) = if round % 2 == 0 {
            let x = batch(a, bytes, &mut sa, ia);
            (x, batch(b, bytes, &mut sb, ib))
        } else {
            let y = batch(b, bytes, &mut sb, ib);
            (batch(a, bytes, &mut sa, ia), y)
        };
        ta.push(x);
        tb.push(y);
        r.push(x / y);
    }
    (median(&mut ta), median(&mut tb), median(&mut r))
}

/// Both parsers agree on every input: the head's length and status (and the
/// Content-Length the head parser found is the one in the bytes).
fn check() {
    for (name, bytes, len) in inputs() {
        let mut scratch = new_scratch();
        let (hl, hs, cl) = head_parser(bytes, &mut scratch);
        let (pl, ps, count) = httparse_response(bytes, &mut scratch);
        assert_eq!((hl, hs), (len, 200), "{name}: head parser");
        assert_eq!((pl, ps), (len, 200), "{name}: httparse");
        let expected_cl = if name == "reply-cl" { 12 } else { 0 };
        assert_eq!(cl, expected_cl, "{name}: Content-Length");
        let expected_count = if name == "reply-cl" { 2 } else { 1 };
        assert_eq!(count, expected_count, "{name}: headers");
    }
}

fn main() {
    check();
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--test") {
        println!("head bench: every case ran once");
        return;
    }
    if let Some(n) = std::env::var("HEAD_BENCH_CALLGRIND")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        // Fixed counts, one input (`HEAD_BENCH_INPUT`, default reply-cl).
        let input = std::env::var("HEAD_BENCH_INPUT").unwrap_or_else(|_| "reply-cl".into());
        for (name, bytes, _) in inputs().into_iter().filter(|(name, ..)| *name == input) {
            for case in [case_head_parser as Case, case_httparse] {
                let mut scratch = new_scratch();
                for _ in 0..n {
                    black_box(case(black_box(bytes), &mut scratch));
                }
            }
            println!("{name}: {n} calls of each case");
        }
        return;
    }
    let rounds = std::env::var("HEAD_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1001);
    println!("| input | HeadParser (median ns) | httparse (median ns) | ratio | goal | met |");
    println!("|---|---|---|---|---|---|");
    for (name, bytes, _) in inputs() {
        let (ta, tb, r) = compare(head_parser, httparse_response, bytes, rounds);
        let met = if r <= 1.2 { "yes" } else { "NO" };
        println!("| {name} | {ta:.1} | {tb:.1} | {r:.3} | <= 1.2 | {met} |");
    }
}
