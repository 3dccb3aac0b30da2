//! The async codec's decode against the core parse (issue 7: at most 1.25x for the 16-var
//! packet; BENCHMARKS.md, target 1), on nginx captures from tests/vectors/ (nginx 1.22, see
//! its README).
//!
//! Both sides start the same way, copying the packet into their reused read buffer, as a
//! socket read would; then `a` runs `ServerCodec::decode` until `Frame::End` (the head as
//! an `OwnedPacket` over shared `Bytes`, no body for a GET) and `b` runs `Packet::parse`.
//! The ratio therefore isolates what the codec adds: splitting and freezing the buffer,
//! the owned packet, the state machine. More rows say what the shared buffer costs by
//! itself (`bytes_split` against `vec_copy`), the least a decode into shared `Bytes` can
//! cost (`parse_then_split`), and what copying the head out instead costs
//! (`parse_then_copy`).
//!
//! ```sh
//! cargo bench --bench codec --all-features                    # same-run ratios (default)
//! cargo bench --bench codec --all-features -- --criterion     # criterion groups
//! cargo bench --bench codec --all-features -- --test          # each case once (CI)
//! CODEC_BENCH_CALLGRIND=10000 CODEC_BENCH_INPUT=get16 valgrind --tool=callgrind \
//!     --toggle-collect='codec::case_*' target/bench/release/deps/codec-HASH
//! ```

use std::hint::black_box;
use std::time::Instant;

use bytes::BytesMut;
use criterion::Criterion;
use tokio_util::codec::Decoder;
use uwsgi_wire::codec::{Frame, ServerCodec};
use uwsgi_wire::{Limits, Packet, Status};

/// Captured from nginx 1.22 (tests/vectors/README.md): a GET with 16 vars, and one with
/// 56 vars.
const INPUTS: [(&str, &[u8]); 2] = [
    ("get16", include_bytes!("../tests/vectors/nginx-get.bin")),
    (
        "vars56",
        include_bytes!("../tests/vectors/nginx-56vars.bin"),
    ),
];

struct Side {
    buf: BytesMut,
    codec: ServerCodec,
    vec: Vec<u8>,
}

impl Side {
    fn new() -> Self {
        Side {
            buf: BytesMut::with_capacity(64 * 1024),
            codec: ServerCodec::default(),
            vec: Vec::with_capacity(64 * 1024),
        }
    }
}

/// The codec: the packet arrives in the read buffer, then head and end are decoded.
#[inline(never)]
fn codec_decode(packet: &[u8], side: &mut Side) -> usize {
    side.buf.extend_from_slice(packet);
    let mut vars = 0;
    loop {
        match side.codec.decode(&mut side.buf) {
            Ok(Some(Frame::Head(head))) => vars = head.packet().vars().map_or(0, |v| v.len()),
            Ok(Some(Frame::End)) => return vars,
            Ok(Some(Frame::Body(_))) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The core: the same copy into a reused buffer, then `Packet::parse`.
#[inline(never)]
fn core_parse(packet: &[u8], side: &mut Side) -> usize {
    side.vec.clear();
    side.vec.extend_from_slice(packet);
    parse_counting_vars(&side.vec)
}

/// `Packet::parse`, then the number of vars: what every parsing case returns.
#[inline(always)]
fn parse_counting_vars(buf: &[u8]) -> usize {
    match Packet::parse(buf, &Limits::new()) {
        Ok(Status::Complete((packet, _))) => packet.vars().map_or(0, |v| v.len()),
        other => panic!("unexpected {other:?}"),
    }
}

/// What the shared buffer alone costs, for the profile: the same copy into the read
/// buffer, then the head split off and frozen (`BytesMut::split_to`, `freeze`: one
/// atomic increment of the buffer's reference count) and dropped (one atomic decrement),
/// as the codec and its caller do; no parse.
#[inline(never)]
fn bytes_split(packet: &[u8], side: &mut Side) -> usize {
    side.buf.extend_from_slice(packet);
    let head = side.buf.split_to(packet.len()).freeze();
    black_box(&head).len()
}

/// The floor for any decode into shared `Bytes`: the same copy, `Packet::parse` in
/// place, then [`bytes_split`]'s split, freeze and drop (the order the codec uses).
#[inline(never)]
fn parse_then_split(packet: &[u8], side: &mut Side) -> usize {
    side.buf.extend_from_slice(packet);
    let vars = parse_counting_vars(&side.buf);
    let head = side.buf.split_to(packet.len()).freeze();
    black_box(&head);
    vars
}

/// The alternative to sharing the buffer: parse in place, then copy the head into new
/// `Bytes` of its own (an allocation and a free per request, no atomic operation) and
/// advance the read buffer past it.
#[inline(never)]
fn parse_then_copy(packet: &[u8], side: &mut Side) -> usize {
    side.buf.extend_from_slice(packet);
    let vars = parse_counting_vars(&side.buf);
    let head = bytes::Bytes::copy_from_slice(&side.buf[..packet.len()]);
    bytes::Buf::advance(&mut side.buf, packet.len());
    black_box(&head);
    vars
}

/// The copy alone, as `core_parse` makes it: the baseline for [`bytes_split`].
#[inline(never)]
fn vec_copy(packet: &[u8], side: &mut Side) -> usize {
    side.vec.clear();
    side.vec.extend_from_slice(packet);
    black_box(&side.vec).len()
}

type Case = fn(&[u8], &mut Side) -> usize;

/// The callgrind entry points (`--toggle-collect='codec::case_*'`).
#[inline(never)]
fn case_codec_decode(packet: &[u8], side: &mut Side) -> usize {
    codec_decode(packet, side)
}

#[inline(never)]
fn case_core_parse(packet: &[u8], side: &mut Side) -> usize {
    core_parse(packet, side)
}

#[inline(never)]
fn case_bytes_split(packet: &[u8], side: &mut Side) -> usize {
    bytes_split(packet, side)
}

#[inline(never)]
fn case_vec_copy(packet: &[u8], side: &mut Side) -> usize {
    vec_copy(packet, side)
}

#[inline(never)]
fn case_parse_then_split(packet: &[u8], side: &mut Side) -> usize {
    parse_then_split(packet, side)
}

#[inline(never)]
fn case_parse_then_copy(packet: &[u8], side: &mut Side) -> usize {
    parse_then_copy(packet, side)
}

fn batch(run: Case, packet: &[u8], side: &mut Side, iters: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(run(black_box(packet), side));
    }
    start.elapsed().as_secs_f64() * 1e9 / f64::from(iters)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Alternating batches of about 50 us (A B, B A, ...): load from other processes falls
/// on both sides alike. Returns the median times and the median per-round ratio.
fn compare(a: Case, b: Case, packet: &[u8], rounds: usize) -> (f64, f64, f64) {
    let (mut sa, mut sb) = (Side::new(), Side::new());
    let calibrate = |run: Case, side: &mut Side| {
        let one = batch(run, packet, side, 1000).max(0.1);
        ((50_000.0 / one) as u32).max(1)
    };
    let (ia, ib) = (calibrate(a, &mut sa), calibrate(b, &mut sb));
    let (mut ta, mut tb, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (x, y) = if round % 2 == 0 {
            let x = batch(a, packet, &mut sa, ia);
            (x, batch(b, packet, &mut sb, ib))
        } else {
            let y = batch(b, packet, &mut sb, ib);
            (batch(a, packet, &mut sa, ia), y)
        };
        ta.push(x);
        tb.push(y);
        r.push(x / y);
    }
    (median(&mut ta), median(&mut tb), median(&mut r))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--test") {
        for (name, packet) in INPUTS {
            let expect = core_parse(packet, &mut Side::new());
            assert_eq!(codec_decode(packet, &mut Side::new()), expect, "{name}");
        }
        println!("codec bench: every case ran once");
        return;
    }
    if let Some(n) = std::env::var("CODEC_BENCH_CALLGRIND")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        // Fixed counts for `valgrind --tool=callgrind --toggle-collect='codec::case_*'`.
        let input = std::env::var("CODEC_BENCH_INPUT").unwrap_or_else(|_| "get16".into());
        for (name, packet) in INPUTS.into_iter().filter(|(name, _)| *name == input) {
            let cases: [Case; 6] = [
                case_codec_decode,
                case_core_parse,
                case_bytes_split,
                case_vec_copy,
                case_parse_then_split,
                case_parse_then_copy,
            ];
            for case in cases {
                let mut side = Side::new();
                for _ in 0..n {
                    black_box(case(black_box(packet), &mut side));
                }
            }
            println!("{name}: {n} calls of each case");
        }
        return;
    }
    if has("--criterion") {
        let mut c = Criterion::default().configure_from_args();
        let mut group = c.benchmark_group("codec");
        for (name, packet) in INPUTS {
            let mut side = Side::new();
            group.bench_function(format!("decode/{name}"), |b| {
                b.iter(|| codec_decode(black_box(packet), &mut side))
            });
            let mut side = Side::new();
            group.bench_function(format!("core_parse/{name}"), |b| {
                b.iter(|| core_parse(black_box(packet), &mut side))
            });
        }
        group.finish();
        c.final_summary();
        return;
    }
    let rounds = std::env::var("CODEC_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1001);
    println!("| a / b | input | a (median ns) | b (median ns) | ratio | goal | met |");
    println!("|---|---|---|---|---|---|---|");
    for (label, a, b, name, goal) in ROWS {
        let packet = INPUTS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
            .expect("input");
        let (ta, tb, r) = compare(a, b, packet, rounds);
        let (goal, met) = match goal {
            Some(x) => (format!("<= {x}"), if r <= x { "yes" } else { "NO" }),
            None => ("-".to_owned(), "-"),
        };
        println!("| {label} | {name} | {ta:.1} | {tb:.1} | {r:.3} | {goal} | {met} |");
    }
}

/// The ratios mode 1 prints: (label, a, b, input, goal for a / b).
const ROWS: [(&str, Case, Case, &str, Option<f64>); 6] = [
    (
        "codec decode / core parse",
        codec_decode,
        core_parse,
        "get16",
        Some(1.25),
    ),
    (
        "codec decode / core parse",
        codec_decode,
        core_parse,
        "vars56",
        None,
    ),
    (
        "(split + freeze + drop / Vec copy)",
        bytes_split,
        vec_copy,
        "get16",
        None,
    ),
    (
        "(floor: core parse + split + freeze + drop / core parse)",
        parse_then_split,
        core_parse,
        "get16",
        None,
    ),
    (
        "(copied head: core parse + copy into new Bytes / core parse)",
        parse_then_copy,
        core_parse,
        "get16",
        None,
    ),
    (
        "(codec decode / floor)",
        codec_decode,
        parse_then_split,
        "get16",
        None,
    ),
];
