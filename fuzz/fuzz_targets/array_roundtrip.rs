//! `array_roundtrip`: structured items (sizes up to and past the 16-bit boundary, many
//! empty items) through every array encoder, checked against a plain model of the
//! documented rules.
//!
//! - `encode_array`, into an empty buffer and into one with room, gives exactly the model's
//!   length or its error:
//!   per item, in order, `ItemTooLong`, then `BlockTooLarge` once the running total
//!   passes 65535 (never a wrapped length);
//! - a failed `encode_array` (any error, `BufferTooSmall` included) writes nothing;
//! - what encodes parses back (`Array::parse`, and as a whole RPC `Packet`) to the same
//!   items, empty ones included;
//! - `ArrayBuilder::new` accepts or refuses each push exactly as the model says
//!   (`TooManyEntries` after the length check, `BlockTooLarge` against `max_datasize`), a
//!   refused push leaves the builder unchanged, and its block is the accepted items.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use uwsgi_wire::{
    encode_array, Array, ArrayBuilder, EncodeError, Limits, Modifier1, Packet, Payload, Status,
    MAX_ITEMS_IN_BLOCK,
};

/// Caps on what one input may materialise: distinct bytes, and items (a few more than
/// the 32767 a block holds).
const MAX_TOTAL_BYTES: usize = 400_000;
const MAX_ITEMS: usize = 32_900;
const BLOCK_MAX: usize = u16::MAX as usize;

/// One item.
#[derive(Arbitrary, Debug)]
enum Item {
    /// Literal bytes.
    Bytes(Vec<u8>),
    /// `byte` repeated `len` times: any length a `u16` holds.
    Repeat { byte: u8, len: u16 },
    /// `byte` repeated `65535 + delta` times: right at the 16-bit boundary.
    Boundary { byte: u8, delta: i8 },
}

impl Item {
    fn len(&self) -> usize {
        match self {
            Item::Bytes(bytes) => bytes.len(),
            Item::Repeat { len, .. } => usize::from(*len),
            Item::Boundary { delta, .. } => BLOCK_MAX.saturating_add_signed(isize::from(*delta)),
        }
    }

    fn to_vec(&self) -> Vec<u8> {
        match self {
            Item::Bytes(bytes) => bytes.clone(),
            Item::Repeat { byte, .. } | Item::Boundary { byte, .. } => vec![*byte; self.len()],
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    items: Vec<Item>,
    /// Repeats the whole list: `1 + r * r / 4` copies in all (`r` = this, or 0), so small
    /// counts stay common and the block's most entries (13107 pairs, 32767 items) are
    /// reachable from a small input.
    repeat: Option<u8>,
    /// `ArrayBuilder` limits; `None` keeps the default.
    max_datasize: Option<u16>,
    max_items: Option<u16>,
}

fn model_encode(items: &[&[u8]]) -> Result<usize, EncodeError> {
    let mut total = 0usize;
    for (index, item) in items.iter().enumerate() {
        if item.len() > BLOCK_MAX {
            return Err(EncodeError::ItemTooLong {
                index,
                len: item.len(),
            });
        }
        total = total + 2 + item.len();
        if total > BLOCK_MAX {
            return Err(EncodeError::BlockTooLarge {
                len: total,
                limit: u16::MAX,
            });
        }
    }
    Ok(total)
}

/// Output buffers start filled with this byte, to see whether anything was written.
const SENTINEL: u8 = 0xa5;
static SENTINELS: [u8; BLOCK_MAX + 16] = [SENTINEL; BLOCK_MAX + 16];

/// True when `buf` still holds nothing but the sentinel (one `memcmp`: a per-byte loop
/// would cost a coverage callback per byte).
fn untouched(buf: &[u8]) -> bool {
    SENTINELS.get(..buf.len()) == Some(buf)
}

fuzz_target!(|input: Input| {
    // Each item is materialised once; repeats borrow it.
    let mut distinct: Vec<Vec<u8>> = Vec::new();
    let mut total = 0usize;
    for item in &input.items {
        total += item.len();
        if total > MAX_TOTAL_BYTES {
            break;
        }
        distinct.push(item.to_vec());
    }
    let r = usize::from(input.repeat.unwrap_or(0));
    let copies = 1 + r * r / 4;
    let items: Vec<&[u8]> = distinct
        .iter()
        .map(|i| &i[..])
        .cycle()
        .take(distinct.len().saturating_mul(copies).min(MAX_ITEMS))
        .collect();

    slice_encoder(&items);
    builder(&items, &input);
});

fn slice_encoder(items: &[&[u8]]) {
    let expected = model_encode(items);
    // An empty buffer reports the model's length (the way to size a buffer) or its error.
    let too_small = |needed| EncodeError::BufferTooSmall {
        needed,
        available: 0,
    };
    let sized = expected.and_then(|n| if n == 0 { Ok(0) } else { Err(too_small(n)) });
    assert_eq!(encode_array(items, &mut []), sized);

    let room = expected.unwrap_or(BLOCK_MAX + 8);
    let mut buf = vec![SENTINEL; room + 3];
    let got = encode_array(items, &mut buf);
    assert_eq!(got, expected);
    let Ok(len) = got else {
        assert!(untouched(&buf), "a failed encode_array wrote bytes");
        return;
    };
    assert!(untouched(&buf[len..]), "wrote past the block");
    let block = &buf[..len];

    if len > 0 {
        let mut short = vec![SENTINEL; len - 1];
        assert_eq!(
            encode_array(items, &mut short),
            Err(EncodeError::BufferTooSmall {
                needed: len,
                available: len - 1
            })
        );
        assert!(untouched(&short));
    }

    let array = Array::parse(block, &Limits::new()).expect("what encodes parses");
    assert_eq!(array.len(), items.len());
    assert!(array.iter().eq(items.iter().copied()));
    let packet = Packet::new(Modifier1::RPC, 0, Payload::Array(array)).expect("fits");
    let mut wire = vec![0u8; packet.encoded_len()];
    assert_eq!(packet.encode(&mut wire), Ok(len + 4));
    let Ok(Status::Complete((parsed, consumed))) = Packet::parse(&wire, &Limits::new()) else {
        panic!("an encoded RPC packet does not parse back");
    };
    assert_eq!((parsed, consumed), (packet, len + 4));
}

fn builder(items: &[&[u8]], input: &Input) {
    // The limits set (`None`: the default, which `Limits::new` documents).
    let max_datasize = input.max_datasize.unwrap_or(u16::MAX);
    let max_items = input.max_items.map_or(MAX_ITEMS_IN_BLOCK, usize::from);
    let limits = Limits::new()
        .max_datasize(max_datasize)
        .max_items(max_items);
    let datasize_limit = usize::from(max_datasize);
    let count_limit = max_items.min(MAX_ITEMS_IN_BLOCK);

    let mut builder = ArrayBuilder::new(limits);
    let mut accepted: Vec<&[u8]> = Vec::new();
    let mut expected_block = Vec::new();
    for &item in items {
        let index = accepted.len();
        let add = 2 + item.len();
        let expected = if item.len() > BLOCK_MAX {
            Err(EncodeError::ItemTooLong {
                index,
                len: item.len(),
            })
        } else if accepted.len() >= count_limit {
            Err(EncodeError::TooManyEntries { limit: max_items })
        } else if expected_block.len() + add > datasize_limit {
            Err(EncodeError::BlockTooLarge {
                len: expected_block.len() + add,
                limit: max_datasize,
            })
        } else {
            Ok(())
        };
        let before = builder.as_bytes().len();
        let got = builder.push(item).map(|_| ());
        assert_eq!(got, expected);
        match got {
            Ok(()) => {
                accepted.push(item);
                let len = u16::try_from(item.len()).expect("accepted, so at most 65535");
                expected_block.extend_from_slice(&len.to_le_bytes());
                expected_block.extend_from_slice(item);
            }
            Err(_) => assert_eq!(
                builder.as_bytes().len(),
                before,
                "a refused push wrote bytes"
            ),
        }
        assert_eq!(builder.array().len(), accepted.len());
    }
    assert_eq!(builder.as_bytes(), &expected_block[..]);
    let parsed = Array::parse(builder.as_bytes(), &limits).expect("the builder's block parses");
    assert_eq!(parsed, builder.array());
    assert!(parsed.iter().eq(accepted.iter().copied()));
}
