//! The async codec's decode against the core parse (issue 7: at most 1.5x for the 16-var
//! packet), on nginx captures from tests/vectors/ (nginx 1.22, see its README).
//!
//! Both sides start the same way, copying the packet into their reused read buffer, as a
//! socket read would; then `a` runs `UwsgiCodec::decode` until `Frame::End` (the head as
//! an `OwnedPacket` over shared `Bytes`, no body for a GET) and `b` runs `Packet::parse`.
//! The ratio therefore isolates what the codec adds: splitting and freezing the buffer,
//! the owned packet, the state machine.
//!
//! ```sh
//! cargo bench --bench codec --all-features                    # same-run ratios (default)
//! cargo bench --bench codec --all-features -- --criterion     # criterion groups
//! cargo bench --bench codec --all-features -- --test          # each case once (CI)
//! ```

use std::hint::black_box;
use std::time::Instant;

use bytes::BytesMut;
use criterion::Criterion;
use tokio_util::codec::Decoder;
use uwsgi_wire::codec::{Frame, UwsgiCodec};
use uwsgi_wire::{Packet, Status};

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
    codec: UwsgiCodec,
    vec: Vec<u8>,
}

impl Side {
    fn new() -> Self {
        Side {
            buf: BytesMut::with_capacity(64 * 1024),
            codec: UwsgiCodec::new(),
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
            Ok(Some(Frame::Head(head))) => vars = head.vars().map_or(0, |v| v.len()),
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
    match Packet::parse(&side.vec) {
        Ok(Status::Complete((packet, _))) => packet.vars().map_or(0, |v| v.len()),
        other => panic!("unexpected {other:?}"),
    }
}

type Case = fn(&[u8], &mut Side) -> usize;

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
    println!("| input | codec decode (median ns) | core parse (median ns) | ratio | goal | met |");
    println!("|---|---|---|---|---|---|");
    for (name, packet) in INPUTS {
        let (ta, tb, r) = compare(codec_decode, core_parse, packet, rounds);
        let (goal, met) = if name == "get16" {
            ("<= 1.5", if r <= 1.5 { "yes" } else { "NO" })
        } else {
            ("-", "-")
        };
        println!("| {name} | {ta:.1} | {tb:.1} | {r:.3} | {goal} | {met} |");
    }
}
