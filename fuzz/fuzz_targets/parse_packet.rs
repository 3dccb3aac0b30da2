//! `parse_packet`: arbitrary bytes through every packet parser.
//!
//! For `Packet::parse` (the block read by modifier1) and `Packet::parse_as` with each
//! `BlockKind`, with the default limits and with uWSGI-like strict ones:
//!
//! - nothing panics (the harness catches that);
//! - `Complete((packet, consumed))`: `consumed == 4 + datasize <= input.len()`; the packet
//!   re-encodes (`encode`, `encode_to`, and for vars/arrays the block encoders and builders
//!   from the parsed pairs/items) to exactly `input[..consumed]`; the payload borrows
//!   the input (zero-copy); every shorter prefix is `Partial` with the exact `needed`;
//!   bytes after the packet change nothing;
//! - `Partial { needed }`: `needed > 0`, it is exactly `4 - len` before the header is
//!   complete and `4 + datasize - len` after; `needed - 1` more bytes are still
//!   `Partial { needed: 1 }`; `needed` more bytes complete the frame: never `Partial`
//!   again once the header was complete, and only `Partial { needed: datasize }` when it
//!   was not;
//! - `Err`: `DatasizeOverLimit` only at offset 1 from the header alone; any other error
//!   only once the whole block is there, at an offset inside it, and the same error (shifted
//!   by 4) as `Vars::parse` / `Array::parse` on the block;
//! - stricter limits never accept what the defaults refuse, and agree when both accept.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uwsgi_wire::{
    encode_array, encode_vars, is_magic_var, Array, ArrayBuilder, BlockKind, EncodeError, Limits,
    Packet, ParseError, ParseErrorKind, Payload, Status, Vars, VarsBuilder, HEADER_LEN,
    MAX_ITEMS_IN_BLOCK, MAX_PAIRS_IN_BLOCK,
};

/// Output buffers start filled with this byte, to see whether anything was written
/// (compared with one `memcmp`: a per-byte loop costs a coverage callback per byte).
const SENTINEL: u8 = 0x5a;
static SENTINELS: [u8; HEADER_LEN + 65_535] = [SENTINEL; HEADER_LEN + 65_535];

type Parsed<'a> = Result<Status<(Packet<'a>, usize)>, ParseError>;

fn parse<'a>(data: &'a [u8], limits: &Limits, kind: Option<BlockKind>) -> Parsed<'a> {
    match kind {
        None => Packet::parse(data, limits),
        Some(kind) => Packet::parse_as(data, kind, limits),
    }
}

/// The datasize field, when the header is complete.
fn datasize(data: &[u8]) -> Option<usize> {
    let bytes = data.get(1..3)?;
    data.get(3)?;
    Some(usize::from(u16::from_le_bytes([bytes[0], bytes[1]])))
}

/// The limits a run checks against, with the values they were built from (`Limits`
/// does not give them back).
struct Config {
    limits: Limits,
    max_datasize: u16,
    max_vars: usize,
    max_items: usize,
}

impl Config {
    fn new(max_datasize: u16, max_vars: usize, max_items: usize) -> Self {
        let limits = Limits::new()
            .max_datasize(max_datasize)
            .max_vars(max_vars)
            .max_items(max_items);
        Config {
            limits,
            max_datasize,
            max_vars,
            max_items,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The defaults `Limits::new` documents.
    let default = Config::new(u16::MAX, MAX_PAIRS_IN_BLOCK, MAX_ITEMS_IN_BLOCK);
    // uWSGI's own defaults: buffer-size 4096, 128 vars; an RPC call has at most 255 items.
    let strict = Config::new(4096, 128, 255);
    for kind in [
        None,
        Some(BlockKind::Vars),
        Some(BlockKind::Array),
        Some(BlockKind::Raw),
    ] {
        let loose = check(data, &default, kind);
        let tight = check(data, &strict, kind);
        match (&loose, &tight) {
            (_, Ok(Status::Complete(t))) => {
                assert_eq!(loose, Ok(Status::Complete(*t)), "strict accepted more");
            }
            (Err(_), tight) => assert!(tight.is_err(), "strict accepted what default refused"),
            (Ok(Status::Partial { needed }), Ok(Status::Partial { needed: n })) => {
                assert_eq!(needed, n);
            }
            _ => {}
        }
    }
});

fn check<'a>(data: &'a [u8], config: &Config, kind: Option<BlockKind>) -> Parsed<'a> {
    let result = parse(data, &config.limits, kind);
    match result {
        Ok(Status::Complete((packet, consumed))) => complete(data, packet, consumed, config, kind),
        Ok(Status::Partial { needed }) => partial(data, needed, config, kind),
        Err(err) => error(data, err, config, kind),
    }
    result
}

fn complete(
    data: &[u8],
    packet: Packet<'_>,
    consumed: usize,
    config: &Config,
    kind: Option<BlockKind>,
) {
    let limits = &config.limits;
    let datasize = datasize(data).expect("complete means the header is there");
    assert_eq!(consumed, HEADER_LEN + datasize);
    assert!(consumed <= data.len());
    assert!(datasize <= usize::from(config.max_datasize));
    let wire = &data[..consumed];

    // The header and the block are exactly the input's, and the block borrows it.
    assert_eq!(packet.header().to_bytes(), wire[..HEADER_LEN]);
    let block = packet.payload().as_bytes();
    assert_eq!(block, &wire[HEADER_LEN..]);
    assert_eq!(
        block.as_ptr(),
        wire[HEADER_LEN..].as_ptr(),
        "payload is not zero-copy"
    );
    let expected_kind = kind.unwrap_or(packet.modifier1().block_kind());
    assert_eq!(packet.payload().kind(), expected_kind);

    // Re-encoding gives the same bytes, through every encoder.
    assert_eq!(packet.encoded_len(), consumed);
    let mut out = vec![0u8; consumed];
    assert_eq!(packet.encode(&mut out), Ok(consumed));
    assert_eq!(out, wire);
    let mut grown = Vec::new();
    assert_eq!(packet.encode_to(&mut grown), Ok(consumed));
    assert_eq!(grown, wire);
    let mut short = vec![SENTINEL; consumed - 1];
    assert_eq!(
        packet.encode(&mut short),
        Err(EncodeError::BufferTooSmall {
            needed: consumed,
            available: consumed - 1
        })
    );
    assert!(
        SENTINELS.get(..short.len()) == Some(&short[..]),
        "a failed encode wrote bytes"
    );
    match packet.payload() {
        Payload::Vars(vars) => vars_reencode(vars, block, config),
        Payload::Array(array) => array_reencode(array, block, config),
        Payload::Raw(_) => {}
    }
    assert_eq!(
        Packet::new(packet.modifier1(), packet.modifier2(), packet.payload()),
        Ok(packet)
    );

    // Bytes after the packet change nothing; every prefix is Partial with the exact need.
    assert_eq!(
        parse(wire, limits, kind),
        Ok(Status::Complete((packet, consumed)))
    );
    let mut prefixes = vec![0, 1, 2, 3, HEADER_LEN, consumed / 2, consumed - 1];
    prefixes.retain(|&k| k < consumed);
    for k in prefixes {
        let needed = if k < HEADER_LEN {
            HEADER_LEN - k
        } else {
            consumed - k
        };
        assert_eq!(
            parse(&wire[..k], limits, kind),
            Ok(Status::Partial { needed }),
            "prefix {k}"
        );
    }
}

fn vars_reencode(vars: Vars<'_>, block: &[u8], config: &Config) {
    let limits = &config.limits;
    let pairs: Vec<(&[u8], &[u8])> = vars.iter().collect();
    assert_eq!(pairs.len(), vars.len());
    assert!(pairs.len() <= config.max_vars);
    let mut out = vec![0u8; block.len()];
    assert_eq!(encode_vars(&pairs, &mut out), Ok(block.len()));
    assert_eq!(out, block);
    let mut builder = VarsBuilder::new(*limits);
    for (k, v) in &pairs {
        builder.push(k, v).expect("a parsed pair always re-encodes");
    }
    assert_eq!(builder.as_bytes(), block);
    assert_eq!(Vars::parse(block, limits), Ok(vars));
    if let Some((key, _)) = pairs.first() {
        let last = pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v);
        assert_eq!(vars.get(key), last);
        assert_eq!(vars.get_first(key), Some(pairs[0].1));
    }
    let _ = vars.content_length();
    let stripped = vars
        .without_magic_vars()
        .expect("a packet's vars always fit a block");
    assert!(!stripped.vars().has_magic_vars());
    assert_eq!(
        stripped.vars().len(),
        vars.len() - vars.iter().filter(|(k, _)| is_magic_var(k)).count()
    );
}

fn array_reencode(array: Array<'_>, block: &[u8], config: &Config) {
    let limits = &config.limits;
    let items: Vec<&[u8]> = array.iter().collect();
    assert_eq!(items.len(), array.len());
    assert!(items.len() <= config.max_items);
    let mut out = vec![0u8; block.len()];
    assert_eq!(encode_array(&items, &mut out), Ok(block.len()));
    assert_eq!(out, block);
    let mut builder = ArrayBuilder::new(*limits);
    for item in &items {
        builder.push(item).expect("a parsed item always re-encodes");
    }
    assert_eq!(builder.as_bytes(), block);
    assert_eq!(Array::parse(block, limits), Ok(array));
    if let Some(last) = items.last() {
        assert_eq!(array.get(items.len() - 1), Some(*last));
    }
    assert_eq!(array.get(items.len()), None);
}

fn partial(data: &[u8], needed: usize, config: &Config, kind: Option<BlockKind>) {
    let limits = &config.limits;
    assert!(needed > 0, "Partial {{ needed: 0 }}");
    match datasize(data) {
        None => assert_eq!(needed, HEADER_LEN - data.len()),
        Some(datasize) => {
            assert!(datasize <= usize::from(config.max_datasize));
            assert_eq!(needed, HEADER_LEN + datasize - data.len());
        }
    }
    // One byte short of `needed` is still short by exactly one byte.
    let mut more = data.to_vec();
    more.resize(data.len() + needed - 1, 0);
    assert_eq!(
        parse(&more, limits, kind),
        Ok(Status::Partial { needed: 1 })
    );
    // `needed` more bytes finish what was missing: the frame if the header was there,
    // else the header (and then the block, all zeros, is what is still missing).
    more.push(0);
    match (datasize(data), parse(&more, limits, kind)) {
        (_, Ok(Status::Complete(_))) | (_, Err(_)) => {}
        (None, Ok(Status::Partial { needed })) => {
            assert_eq!(Some(needed), datasize(&more), "header done, block missing");
        }
        (Some(_), Ok(Status::Partial { needed })) => {
            panic!("still Partial {{ needed: {needed} }} after the announced bytes arrived")
        }
    }
}

fn error(data: &[u8], err: ParseError, config: &Config, kind: Option<BlockKind>) {
    let limits = &config.limits;
    let _ = err.to_string();
    let datasize = datasize(data).expect("no error before the header is complete");
    if let ParseErrorKind::DatasizeOverLimit { datasize: d, limit } = err.kind() {
        assert_eq!(err.offset(), 1);
        assert_eq!(usize::from(d), datasize);
        assert_eq!(limit, config.max_datasize);
        assert!(d > limit);
        return;
    }
    let end = HEADER_LEN + datasize;
    assert!(
        data.len() >= end,
        "an error in a block that has not fully arrived"
    );
    assert!(
        err.offset() >= HEADER_LEN && err.offset() <= end,
        "offset outside the block"
    );
    let block = &data[HEADER_LEN..end];
    let kind = kind.unwrap_or(uwsgi_wire::Modifier1(data[0]).block_kind());
    let direct = match kind {
        BlockKind::Vars => Vars::parse(block, limits).err(),
        BlockKind::Array => Array::parse(block, limits).err(),
        BlockKind::Raw => panic!("a raw block cannot be malformed: {err}"),
    }
    .expect("the block parser refuses it too");
    assert_eq!(err.kind(), direct.kind());
    assert_eq!(err.offset(), direct.offset() + HEADER_LEN);
}
