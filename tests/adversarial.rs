//! Adversarial inputs (issue 6): every truncation of every real capture, length prefixes
//! pointing past the block at every position, the 16-bit extremes, the most pairs a block
//! holds, `CONTENT_LENGTH` forms and a body claimed at `u64::MAX`.
//!
//! Origins: `tests/vectors/*.bin` are real captures (nginx 1.22, Apache 2.4, lighttpd 1.4,
//! the uWSGI HTTP router and uWSGI 2.0.21, by `tests/peers/capture.sh`; see
//! `tests/vectors/README.md`); every vector built here starts from one of them or is
//! derived from the wire format (docs/PROTOCOL.md sections 1-2) and the documented rules
//! (README "Limits and strictness"), as each test's comment says. Forms already covered by
//! `tests/errors.rs` are not repeated here.

use uwsgi_wire::{
    encode_vars, Array, BlockKind, EncodeError, Limits, Packet, ParseError, ParseErrorKind, Status,
    Vars, VarsBuilder, HEADER_LEN,
};

// ---------------------------------------------------------------------------------------
// Helpers

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

fn vectors_dir() -> String {
    format!("{}/tests/vectors", env!("CARGO_MANIFEST_DIR"))
}

/// Every `*.bin` capture, sorted by name, read with `read_dir` so new captures are
/// covered without touching this file.
fn captures() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(vectors_dir())
        .expect("tests/vectors exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "bin"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, bytes)
        })
        .collect();
    out.sort();
    out
}

fn capture(name: &str) -> Vec<u8> {
    let path = format!("{}/{name}", vectors_dir());
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Replies with no uwsgi header at all (docs/PROTOCOL.md section 4.2): the echo reply is
/// the payload itself (modifier1 101), an HTTP-style request is answered with raw HTTP,
/// and an RPC call with modifier2 1 gets the raw result. Read as a header,
/// their first bytes announce more than the file holds.
const NOT_FRAMED: &[&str] = &[
    "uwsgi-echo-reply.bin",
    "uwsgi-http-reply.bin",
    "uwsgi-http-reply-content-length.bin",
    "uwsgi-rpc-reply-raw.bin",
];

/// Replies (the `*-reply*`, `*echo*`, `*http-reply*` captures) are read with
/// `BlockKind::Raw`: their block layout depends on the request, not on modifier1.
fn is_reply(name: &str) -> bool {
    name.contains("-reply") || name.contains("echo") || name.contains("http-reply")
}

type Parsed<'a> = Result<Status<(Packet<'a>, usize)>, ParseError>;

fn parse_capture<'a>(name: &str, buf: &'a [u8]) -> Parsed<'a> {
    if is_reply(name) {
        Packet::parse_as(buf, BlockKind::Raw, &Limits::new())
    } else {
        Packet::parse(buf, &Limits::new())
    }
}

fn datasize(wire: &[u8]) -> usize {
    usize::from(u16::from_le_bytes([wire[1], wire[2]]))
}

/// A packet (modifier1, modifier2 0) around `block`, built by hand.
fn packet(modifier1: u8, block: &[u8]) -> Vec<u8> {
    let datasize = u16::try_from(block.len()).expect("a block fits 16 bits");
    let mut wire = vec![modifier1];
    wire.extend_from_slice(&datasize.to_le_bytes());
    wire.push(0);
    wire.extend_from_slice(block);
    wire
}

#[track_caller]
fn assert_err(
    result: Result<impl std::fmt::Debug, ParseError>,
    kind: ParseErrorKind,
    offset: usize,
) {
    match result {
        Err(err) => assert_eq!((err.kind(), err.offset()), (kind, offset)),
        Ok(ok) => panic!("expected {kind:?} at {offset}, got {ok:?}"),
    }
}

/// The layout of a valid vars block, walked by hand: (pair start, key len, value len).
fn vars_layout(block: &[u8]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < block.len() {
        let klen = usize::from(u16::from_le_bytes([block[at], block[at + 1]]));
        let v = at + 2 + klen;
        let vlen = usize::from(u16::from_le_bytes([block[v], block[v + 1]]));
        out.push((at, klen, vlen));
        at = v + 2 + vlen;
    }
    assert_eq!(at, block.len(), "the capture's block is well formed");
    out
}

/// The layout of a valid array block: (item start, item len).
fn array_layout(block: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < block.len() {
        let len = usize::from(u16::from_le_bytes([block[at], block[at + 1]]));
        out.push((at, len));
        at += 2 + len;
    }
    assert_eq!(at, block.len(), "the capture's block is well formed");
    out
}

/// Length-prefix values that overrun when `remaining` bytes follow the prefix.
fn overruns(remaining: usize) -> Vec<u16> {
    let mut out: Vec<u16> = [
        remaining + 1,
        remaining + 2,
        remaining + 255,
        0x7fff,
        0x8000,
        0xfffe,
    ]
    .into_iter()
    .filter_map(|n| u16::try_from(n).ok())
    .filter(|&n| usize::from(n) > remaining)
    .collect();
    out.push(0xffff);
    out.sort_unstable();
    out.dedup();
    out
}

// ---------------------------------------------------------------------------------------
// Truncation

#[test]
fn every_truncation_of_every_capture_is_partial_with_the_exact_need() {
    let files = captures();
    assert!(
        files.len() >= 20,
        "only {} captures in tests/vectors: this test would prove little",
        files.len()
    );
    let mut framed = 0;
    for (name, wire) in &files {
        if NOT_FRAMED.contains(&name.as_str()) {
            continue;
        }
        let Ok(Status::Complete((whole, consumed))) = parse_capture(name, wire) else {
            panic!(
                "{name}: the whole capture does not parse: {:?}",
                parse_capture(name, wire)
            );
        };
        assert_eq!(consumed, HEADER_LEN + datasize(wire), "{name}");
        for len in 0..consumed {
            let needed = if len < HEADER_LEN {
                HEADER_LEN - len
            } else {
                consumed - len
            };
            assert_eq!(
                parse_capture(name, &wire[..len]),
                Ok(Status::Partial { needed }),
                "{name} cut at {len} of {consumed}"
            );
        }
        // From the packet's end on (through any body that follows): the same packet.
        for len in consumed..=wire.len() {
            assert_eq!(
                parse_capture(name, &wire[..len]),
                Ok(Status::Complete((whole, consumed))),
                "{name} with {len} bytes"
            );
        }
        framed += 1;
    }
    assert!(framed >= 20, "only {framed} framed captures");
}

#[test]
fn the_unframed_replies_are_named_and_really_unframed() {
    // Captured from uWSGI 2.0.21 (echo, HTTP and raw RPC replies). If one of them is
    // renamed or removed this list must follow; if a new unframed capture appears, the
    // truncation test above fails on it and it must be named here.
    for name in NOT_FRAMED {
        let wire = capture(name);
        assert!(is_reply(name), "{name}");
        let got = Packet::parse_as(&wire, BlockKind::Raw, &Limits::new());
        let Ok(Status::Partial { needed }) = got else {
            panic!("{name} reads as a whole packet: {got:?}");
        };
        assert_eq!(needed, HEADER_LEN + datasize(&wire) - wire.len(), "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// Lengths pointing past the block

/// Real vars captures whose every length prefix is rewritten below.
const VARS_CAPTURES: &[&str] = &[
    "nginx-get.bin",        // nginx 1.22
    "apache-post.bin",      // Apache 2.4 mod_proxy_uwsgi
    "lighttpd-get.bin",     // lighttpd 1.4
    "uwsgi-router-get.bin", // uWSGI 2.0.21 HTTP router
    "uwsgi-subscribe.bin",  // uWSGI 2.0.21 --subscribe-to (modifier1 224)
];

#[test]
fn every_key_and_value_length_of_real_captures_overrun() {
    for name in VARS_CAPTURES {
        let capture = capture(name);
        let wire = &capture[..HEADER_LEN + datasize(&capture)];
        let block_len = wire.len() - HEADER_LEN;
        let layout = vars_layout(&wire[HEADER_LEN..]);
        assert!(layout.len() >= 5, "{name}");
        for &(start, klen, _) in &layout {
            let at = HEADER_LEN + start;
            // Key length: everything after its prefix is `remaining`.
            let remaining = block_len - start - 2;
            for bad in overruns(remaining) {
                let mut w = wire.to_vec();
                w[at..at + 2].copy_from_slice(&bad.to_le_bytes());
                assert_err(
                    Packet::parse(&w, &Limits::new()),
                    ParseErrorKind::KeyPastEnd { len: bad },
                    at,
                );
                assert_err(
                    Vars::parse(&w[HEADER_LEN..], &Limits::new()),
                    ParseErrorKind::KeyPastEnd { len: bad },
                    start,
                );
            }
            // A key that fits but leaves 0 or 1 byte where the value length goes.
            for bad in [remaining, remaining - 1] {
                let mut w = wire.to_vec();
                w[at..at + 2].copy_from_slice(&u16::try_from(bad).unwrap().to_le_bytes());
                assert_err(
                    Packet::parse(&w, &Limits::new()),
                    ParseErrorKind::MissingValueLength,
                    at + 2 + bad,
                );
            }
            // Value length.
            let v = start + 2 + klen;
            let remaining = block_len - v - 2;
            for bad in overruns(remaining) {
                let mut w = wire.to_vec();
                w[HEADER_LEN + v..HEADER_LEN + v + 2].copy_from_slice(&bad.to_le_bytes());
                assert_err(
                    Packet::parse(&w, &Limits::new()),
                    ParseErrorKind::ValuePastEnd { len: bad },
                    HEADER_LEN + v,
                );
            }
        }
    }
}

#[test]
fn every_overrunning_value_of_every_length_prefix_of_one_capture() {
    // Captured from nginx 1.22 (tests/vectors/nginx-get.bin): not a sample of bad values
    // this time, but every value from "one byte too many" up to 0xFFFF, for each of its
    // key and value length prefixes.
    let capture = capture("nginx-get.bin");
    let mut w = capture[..HEADER_LEN + datasize(&capture)].to_vec();
    let block_len = w.len() - HEADER_LEN;
    let mut checked = 0usize;
    for (start, klen, _) in vars_layout(&w[HEADER_LEN..]) {
        for (prefix, is_key) in [(start, true), (start + 2 + klen, false)] {
            let at = HEADER_LEN + prefix;
            let original = [w[at], w[at + 1]];
            let first_bad = u16::try_from(block_len - prefix - 2 + 1).unwrap();
            for bad in first_bad..=u16::MAX {
                w[at..at + 2].copy_from_slice(&bad.to_le_bytes());
                let err = Packet::parse(&w, &Limits::new()).unwrap_err();
                let kind = if is_key {
                    ParseErrorKind::KeyPastEnd { len: bad }
                } else {
                    ParseErrorKind::ValuePastEnd { len: bad }
                };
                assert_eq!((err.kind(), err.offset()), (kind, at));
                checked += 1;
            }
            w[at..at + 2].copy_from_slice(&original);
        }
    }
    assert!(checked > 32 * 65_000, "{checked}");
}

#[test]
fn every_item_length_of_a_real_rpc_call_overruns() {
    // Captured from uWSGI 2.0.21: uwsgi.rpc() sending ["hello", "a", "", "b"]-style calls.
    let capture = capture("uwsgi-rpc-call.bin");
    let wire = &capture[..HEADER_LEN + datasize(&capture)];
    let block_len = wire.len() - HEADER_LEN;
    let layout = array_layout(&wire[HEADER_LEN..]);
    assert!(layout.len() >= 2);
    for &(start, _) in &layout {
        let at = HEADER_LEN + start;
        for bad in overruns(block_len - start - 2) {
            let mut w = wire.to_vec();
            w[at..at + 2].copy_from_slice(&bad.to_le_bytes());
            assert_err(
                Packet::parse(&w, &Limits::new()),
                ParseErrorKind::ItemPastEnd { len: bad },
                at,
            );
        }
    }
}

/// What a vars block cut to `cut` bytes must give, from the full block's layout
/// (derived from the documented rules, README "Limits and strictness").
fn expected_vars_cut(
    layout: &[(usize, usize, usize)],
    cut: usize,
) -> Result<usize, (ParseErrorKind, usize)> {
    for (index, &(start, klen, vlen)) in layout.iter().enumerate() {
        if cut == start {
            return Ok(index);
        }
        let have = cut - start;
        if have >= 4 + klen + vlen {
            continue;
        }
        let len = |n: usize| u16::try_from(n).unwrap();
        return Err(if have <= 2 {
            (
                ParseErrorKind::TrailingBytes {
                    count: u8::try_from(have).unwrap(),
                },
                start,
            )
        } else if have < 2 + klen {
            (ParseErrorKind::KeyPastEnd { len: len(klen) }, start)
        } else if have < 4 + klen {
            (ParseErrorKind::MissingValueLength, start + 2 + klen)
        } else {
            (
                ParseErrorKind::ValuePastEnd { len: len(vlen) },
                start + 2 + klen,
            )
        });
    }
    Ok(layout.len())
}

#[test]
fn a_datasize_cutting_a_real_block_anywhere_is_the_exact_error() {
    // Every real vars capture (request direction, block under 4 KiB) with its datasize
    // lowered to every value below the real one: the block now ends inside a pair, so
    // that pair's key or value length points past it.
    let mut checked = 0;
    for (name, wire) in captures() {
        if is_reply(&name) || NOT_FRAMED.contains(&name.as_str()) {
            continue;
        }
        let Ok(Status::Complete((packet, _))) = Packet::parse(&wire, &Limits::new()) else {
            panic!("{name}");
        };
        let Some(vars) = packet.vars() else { continue };
        let block = vars.as_bytes();
        if block.len() > 4096 {
            continue; // nginx-large-header.bin: 65535 cuts x 65535 bytes is too slow here
        }
        let layout = vars_layout(block);
        for cut in 0..block.len() {
            let mut w = packet_bytes(wire[0], &block[..cut]);
            w[3] = wire[3];
            match expected_vars_cut(&layout, cut) {
                Ok(pairs) => {
                    let Ok(Status::Complete((p, n))) = Packet::parse(&w, &Limits::new()) else {
                        panic!(
                            "{name} cut at {cut}: {:?}",
                            Packet::parse(&w, &Limits::new())
                        );
                    };
                    assert_eq!((p.vars().map(|v| v.len()), n), (Some(pairs), w.len()));
                }
                Err((kind, at)) => {
                    assert_err(Packet::parse(&w, &Limits::new()), kind, HEADER_LEN + at);
                    assert_err(Vars::parse(&block[..cut], &Limits::new()), kind, at);
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} vars captures");
}

fn packet_bytes(modifier1: u8, block: &[u8]) -> Vec<u8> {
    packet(modifier1, block)
}

#[test]
fn a_datasize_cutting_a_real_array_anywhere_is_the_exact_error() {
    // Captured from uWSGI 2.0.21 (tests/vectors/uwsgi-rpc-call.bin), datasize lowered.
    let capture = capture("uwsgi-rpc-call.bin");
    let block = &capture[HEADER_LEN..HEADER_LEN + datasize(&capture)];
    let layout = array_layout(block);
    for cut in 0..block.len() {
        let w = packet(173, &block[..cut]);
        let item = layout
            .iter()
            .position(|&(start, len)| cut > start && cut < start + 2 + len);
        match item {
            None => {
                let count = layout.iter().filter(|&&(start, _)| start < cut).count();
                let Ok(Status::Complete((p, _))) = Packet::parse(&w, &Limits::new()) else {
                    panic!("cut {cut}")
                };
                assert_eq!(p.array().map(|a| a.len()), Some(count));
            }
            Some(i) => {
                let (start, len) = layout[i];
                let kind = if cut - start == 1 {
                    ParseErrorKind::TrailingBytes { count: 1 }
                } else {
                    ParseErrorKind::ItemPastEnd {
                        len: u16::try_from(len).unwrap(),
                    }
                };
                assert_err(Packet::parse(&w, &Limits::new()), kind, HEADER_LEN + start);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 16-bit extremes

#[test]
fn ffff_lengths_with_a_small_datasize() {
    // Derived from the wire format: a 5-byte block whose key length says 65535.
    assert_err(
        Packet::parse(&packet(0, b"\xff\xffABC"), &Limits::new()),
        ParseErrorKind::KeyPastEnd { len: 0xffff },
        4,
    );
    // A 1-byte key, then a value length of 65535 with 2 bytes left.
    assert_err(
        Packet::parse(&packet(0, b"\x01\x00a\xff\xff\x00\x00"), &Limits::new()),
        ParseErrorKind::ValuePastEnd { len: 0xffff },
        7,
    );
    // An RPC item of 65535 bytes in a 4-byte block.
    assert_err(
        Packet::parse(&packet(173, b"\xff\xff\x00\x00"), &Limits::new()),
        ParseErrorKind::ItemPastEnd { len: 0xffff },
        4,
    );
    // Inside a 65535-byte block: still past the end (2 + 65535 > 65535).
    let mut block = vec![b'k'; 0xffff];
    block[..2].copy_from_slice(&[0xff, 0xff]);
    assert_err(
        Packet::parse(&packet(0, &block), &Limits::new()),
        ParseErrorKind::KeyPastEnd { len: 0xffff },
        4,
    );
}

#[test]
fn the_largest_key_that_fits_and_the_two_just_past_it() {
    // Derived from the wire format: in a 65535-byte block, a key of 65531 bytes leaves
    // exactly 2 bytes for an empty value's length.
    let block_with = |klen: u16| {
        let mut block = vec![b'k'; 0xffff];
        block[..2].copy_from_slice(&klen.to_le_bytes());
        block[0xffff - 2..].copy_from_slice(&[0, 0]);
        block
    };
    let fits = packet(0, &block_with(0xfffb));
    let Ok(Status::Complete((p, n))) = Packet::parse(&fits, &Limits::new()) else {
        panic!("65531-byte key")
    };
    let vars = p.vars().unwrap();
    assert_eq!((n, vars.len()), (fits.len(), 1));
    let (key, value) = vars.iter().next().unwrap();
    assert_eq!((key.len(), value), (0xfffb, &b""[..]));
    // One more key byte: 1 byte where the value length goes; two more: none.
    assert_err(
        Packet::parse(&packet(0, &block_with(0xfffc)), &Limits::new()),
        ParseErrorKind::MissingValueLength,
        4 + 0xfffe,
    );
    assert_err(
        Packet::parse(&packet(0, &block_with(0xfffd)), &Limits::new()),
        ParseErrorKind::MissingValueLength,
        4 + 0xffff,
    );
}

#[test]
fn a_ffff_datasize_with_a_few_bytes_waits_without_allocating() {
    // Derived from the wire format: the header announces the largest block; 10 bytes of
    // it have arrived. The parser asks for exactly the rest and touches nothing else.
    let mut wire = vec![0x00, 0xff, 0xff, 0x00];
    wire.extend_from_slice(b"\x01\x00a\x00\x00\xff\xff\xff\xff\xff");
    let (got, allocs) = allocations(|| Packet::parse(&wire, &Limits::new()));
    assert_eq!(
        got,
        Ok(Status::Partial {
            needed: 4 + 0xffff - wire.len()
        })
    );
    assert_eq!(allocs, 0);
}

// ---------------------------------------------------------------------------------------
// The most pairs and items a block holds

#[test]
fn thirteen_thousand_one_hundred_and_seven_minimal_pairs() {
    // Derived from the wire format: the smallest pair is 5 bytes (1-byte key, empty
    // value), so a 65535-byte block holds 13107 of them.
    let block = b"\x01\x00a\x00\x00".repeat(13_107);
    assert_eq!(block.len(), 0xffff);
    let wire = packet(0, &block);
    let Ok(Status::Complete((p, n))) = Packet::parse(&wire, &Limits::new()) else {
        panic!("13107 pairs")
    };
    let vars = p.vars().unwrap();
    assert_eq!(
        (n, vars.len(), vars.iter().count()),
        (wire.len(), 13_107, 13_107)
    );
    assert_eq!(vars.get_all(b"a").count(), 13_107);

    // uWSGI's limit (128): refused at the 129th pair, 128 * 5 bytes in.
    let uwsgi_like = Limits::new().max_vars(128);
    assert_err(
        Packet::parse(&wire, &uwsgi_like),
        ParseErrorKind::TooManyVars { limit: 128 },
        4 + 128 * 5,
    );
    assert_err(
        Vars::parse(&block, &uwsgi_like),
        ParseErrorKind::TooManyVars { limit: 128 },
        128 * 5,
    );
    // One under the count: refused at the last pair.
    assert_err(
        Packet::parse(&wire, &Limits::new().max_vars(13_106)),
        ParseErrorKind::TooManyVars { limit: 13_106 },
        4 + 13_106 * 5,
    );

    // The builder produces exactly this block, and refuses a 13108th pair unchanged.
    let mut builder = VarsBuilder::default();
    for _ in 0..13_107 {
        builder.push("a", "").unwrap();
    }
    assert_eq!(builder.as_bytes(), &block[..]);
    assert_eq!(
        builder.push("a", "").unwrap_err(),
        EncodeError::TooManyEntries { limit: 13_107 }
    );
    assert_eq!(
        (builder.vars().len(), builder.as_bytes().len()),
        (13_107, 0xffff)
    );
    // The slice encoder refuses 13108 pairs (65540 bytes) and writes nothing.
    let pairs = vec![("a", ""); 13_108];
    let mut buf = vec![0x5a; 70_000];
    assert_eq!(
        encode_vars(&pairs, &mut buf),
        Err(EncodeError::BlockTooLarge {
            len: 65_540,
            limit: 0xffff
        })
    );
    assert!(buf.iter().all(|&b| b == 0x5a));
}

#[test]
fn thirty_two_thousand_seven_hundred_and_sixty_seven_empty_items() {
    // Derived from the wire format: an empty item is 2 bytes, so a block holds 32767.
    let block = b"\x00\x00".repeat(32_767);
    let wire = packet(173, &block);
    let Ok(Status::Complete((p, _))) = Packet::parse(&wire, &Limits::new()) else {
        panic!("32767 items")
    };
    assert_eq!(p.array().map(|a| a.len()), Some(32_767));
    // One byte more fills the 16-bit datasize: a stray byte, not an item.
    let mut odd = block.clone();
    odd.push(0);
    assert_err(
        Packet::parse(&packet(173, &odd), &Limits::new()),
        ParseErrorKind::TrailingBytes { count: 1 },
        4 + 65_534,
    );
    // An RPC call has at most 255 items in uWSGI: refused at the 256th, 510 bytes in.
    assert_err(
        Array::parse(&block, &Limits::new().max_items(255)),
        ParseErrorKind::TooManyItems { limit: 255 },
        510,
    );
}

// ---------------------------------------------------------------------------------------
// CONTENT_LENGTH (forms not already in tests/errors.rs)

/// A vars block from pairs, written by hand (not by the crate's encoder).
fn block(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        out.extend_from_slice(&u16::try_from(k.len()).unwrap().to_le_bytes());
        out.extend_from_slice(k);
        out.extend_from_slice(&u16::try_from(v.len()).unwrap().to_le_bytes());
        out.extend_from_slice(v);
    }
    out
}

#[test]
fn more_content_length_forms() {
    // Derived from the documented rule (README: ASCII digits only, leading zeros allowed,
    // fits u64): the forms tests/errors.rs does not already cover.
    type Expected = Result<Option<u64>, ParseErrorKind>;
    let invalid = Err(ParseErrorKind::InvalidContentLength);
    let cases: &[(&[u8], Expected)] = &[
        // 30 digits that fit, thanks to leading zeros; and 30 zeros.
        (b"000000000000000000000000000005", Ok(Some(5))),
        (b"000000000000000000000000000000", Ok(Some(0))),
        (b"0000000018446744073709551615", Ok(Some(u64::MAX))),
        // u64::MAX * 10: overflows on the multiplication, not the addition.
        (b"184467440737095516150", invalid),
        (b"99999999999999999999", invalid),
        (b"-0", invalid),
        (b"+0", invalid),
        (b" ", invalid),
        (b"\t5", invalid),
        (b"5\r\n", invalid),
        (b"5\n", invalid),
        (b"5\0", invalid),
        (b"\x005", invalid),
        (b"5.0", invalid),
        (b"5,5", invalid),
        (b"5_000", invalid),
        // Non-ASCII digits: Arabic-Indic five (U+0665) and fullwidth five (U+FF15).
        ("\u{665}".as_bytes(), invalid),
        ("\u{ff15}".as_bytes(), invalid),
    ];
    for (value, expected) in cases {
        let bytes = block(&[(b"REQUEST_METHOD", b"POST"), (b"CONTENT_LENGTH", value)]);
        let vars = Vars::parse(&bytes, &Limits::new()).unwrap();
        match expected {
            Ok(n) => assert_eq!(vars.content_length(), Ok(*n), "{value:?}"),
            // The value starts after pair 1 (2+14+2+4) and the key (2+14+2).
            Err(kind) => assert_err(vars.content_length(), *kind, 22 + 18),
        }
    }
}

#[test]
fn more_content_length_disagreements() {
    // Derived from the documented smuggling rule (README; docs/PROTOCOL.md section 7.2).
    let cl: &[u8] = b"CONTENT_LENGTH";
    let pair_len = |v: &[u8]| 2 + cl.len() + 2 + v.len();
    let value_at =
        |before: &[&[u8]]| before.iter().map(|v| pair_len(v)).sum::<usize>() + 2 + cl.len() + 2;

    // Two agree, the third does not: reported at the third.
    let three = block(&[(cl, b"5"), (cl, b"5"), (cl, b"6")]);
    assert_err(
        Vars::parse(&three, &Limits::new())
            .unwrap()
            .content_length(),
        ParseErrorKind::ConflictingContentLength,
        value_at(&[b"5", b"5"]),
    );
    // A valid one then an invalid one: the invalid one is reported, where it is.
    let bad_second = block(&[(cl, b"5"), (cl, b"x")]);
    assert_err(
        Vars::parse(&bad_second, &Limits::new())
            .unwrap()
            .content_length(),
        ParseErrorKind::InvalidContentLength,
        value_at(&[b"5"]),
    );
    // An invalid one first is reported before any comparison.
    let bad_first = block(&[(cl, b"5x"), (cl, b"6")]);
    assert_err(
        Vars::parse(&bad_first, &Limits::new())
            .unwrap()
            .content_length(),
        ParseErrorKind::InvalidContentLength,
        value_at(&[]),
    );
    // u64::MAX written two ways agrees; "" and "0" agree (both mean no body bytes).
    let max_twice = block(&[
        (cl, b"18446744073709551615"),
        (cl, b"018446744073709551615"),
    ]);
    assert_eq!(
        Vars::parse(&max_twice, &Limits::new())
            .unwrap()
            .content_length(),
        Ok(Some(u64::MAX))
    );
    let empty_then_zero = block(&[(cl, b""), (cl, b"0")]);
    assert_eq!(
        Vars::parse(&empty_then_zero, &Limits::new())
            .unwrap()
            .content_length(),
        Ok(Some(0))
    );
    let zero_then_empty = block(&[(cl, b"0"), (cl, b"")]);
    assert_eq!(
        Vars::parse(&zero_then_empty, &Limits::new())
            .unwrap()
            .content_length(),
        Ok(Some(0))
    );
    // nginx sends HTTP_CONTENT_LENGTH beside CONTENT_LENGTH (docs/PROTOCOL.md section
    // 6.2): only CONTENT_LENGTH counts, so a client header that disagrees is not a
    // conflict here.
    let with_http = block(&[(cl, b"5"), (b"HTTP_CONTENT_LENGTH", b"6")]);
    assert_eq!(
        Vars::parse(&with_http, &Limits::new())
            .unwrap()
            .content_length(),
        Ok(Some(5))
    );
}

#[test]
fn a_body_claimed_at_u64_max_is_just_a_number() {
    // A real nginx 1.22 POST (tests/vectors/nginx-post.bin) whose CONTENT_LENGTH is
    // rewritten to u64::MAX, with its 11 real body bytes still after it. The packet ends
    // where the vars end: the parser neither waits for nor reserves the body, and the
    // length comes back as a number for the caller to bound.
    let capture = capture("nginx-post.bin");
    let end = HEADER_LEN + datasize(&capture);
    let Ok(Status::Complete((p, _))) = Packet::parse(&capture, &Limits::new()) else {
        panic!("nginx-post")
    };
    let pairs: Vec<(&[u8], &[u8])> = p
        .vars()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            if k == b"CONTENT_LENGTH" {
                (k, &b"18446744073709551615"[..])
            } else {
                (k, v)
            }
        })
        .collect();
    let mut wire = packet(capture[0], &block(&pairs));
    wire.extend_from_slice(&capture[end..]);

    let (result, allocs) = allocations(|| {
        let Ok(Status::Complete((p, consumed))) = Packet::parse(&wire, &Limits::new()) else {
            panic!("parse")
        };
        (consumed, p.vars().unwrap().content_length())
    });
    assert_eq!(allocs, 0, "parsing or reading CONTENT_LENGTH allocated");
    let (consumed, content_length) = result;
    assert_eq!(consumed, wire.len() - (capture.len() - end));
    assert_eq!(content_length, Ok(Some(u64::MAX)));
    // The body that is there is far short of it; a reader must stream, not allocate it.
    assert!((wire.len() - consumed) as u64 <= 11);
}
