//! `vars_roundtrip`: structured pairs (sizes up to and past the 16-bit boundary, empty
//! keys, many pairs) through every vars encoder, checked against a plain model of the
//! documented rules.
//!
//! - `encode_vars`, into an empty buffer and into one with room, gives exactly the model's
//!   length or its error:
//!   per pair, in order, `EmptyKey`, `KeyTooLong`, `ValueTooLong`, then `BlockTooLarge`
//!   once the running total passes 65535 (never a wrapped length);
//! - a failed `encode_vars` (any error, `BufferTooSmall` included) writes nothing;
//! - what encodes parses back (`Vars::parse`, and as a whole `Packet`) to the same pairs;
//! - `VarsBuilder::new` accepts or refuses each push exactly as the model says
//!   (`TooManyEntries` after the pair checks, `BlockTooLarge` against `max_datasize`), a
//!   refused push leaves the builder unchanged, and its block is the accepted pairs.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use uwsgi_wire::{
    encode_vars, EncodeError, Limits, Modifier1, Packet, Payload, Status, Vars, VarsBuilder,
    MAX_PAIRS_IN_BLOCK,
};

/// Caps on what one input may materialise, so a small input cannot ask for gigabytes:
/// distinct bytes, and pairs (a few more than the 13107 a block holds).
const MAX_TOTAL_BYTES: usize = 400_000;
const MAX_PAIRS: usize = 13_200;
const BLOCK_MAX: usize = u16::MAX as usize;

/// A key or a value.
#[derive(Arbitrary, Debug)]
enum Field {
    /// Literal bytes.
    Bytes(Vec<u8>),
    /// `byte` repeated `len` times: any length a `u16` holds.
    Repeat { byte: u8, len: u16 },
    /// `byte` repeated `65535 + delta` times: right at the 16-bit boundary.
    Boundary { byte: u8, delta: i8 },
}

impl Field {
    fn len(&self) -> usize {
        match self {
            Field::Bytes(bytes) => bytes.len(),
            Field::Repeat { len, .. } => usize::from(*len),
            Field::Boundary { delta, .. } => BLOCK_MAX.saturating_add_signed(isize::from(*delta)),
        }
    }

    fn to_vec(&self) -> Vec<u8> {
        match self {
            Field::Bytes(bytes) => bytes.clone(),
            Field::Repeat { byte, .. } | Field::Boundary { byte, .. } => vec![*byte; self.len()],
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    pairs: Vec<(Field, Field)>,
    /// Repeats the whole list: `1 + r * r / 4` copies in all (`r` = this, or 0), so small
    /// counts stay common and the block's most entries (13107 pairs, 32767 items) are
    /// reachable from a small input.
    repeat: Option<u8>,
    /// `VarsBuilder` limits; `None` keeps the default.
    max_datasize: Option<u16>,
    max_vars: Option<u16>,
}

/// The documented encoder rules, for a whole list (the `encode_vars` path).
fn model_encode(pairs: &[Pair<'_>]) -> Result<usize, EncodeError> {
    let mut total = 0usize;
    for (index, (key, value)) in pairs.iter().enumerate() {
        if key.is_empty() {
            return Err(EncodeError::EmptyKey { index });
        }
        if key.len() > BLOCK_MAX {
            return Err(EncodeError::KeyTooLong {
                index,
                len: key.len(),
            });
        }
        if value.len() > BLOCK_MAX {
            return Err(EncodeError::ValueTooLong {
                index,
                len: value.len(),
            });
        }
        total = total + 4 + key.len() + value.len();
        if total > BLOCK_MAX {
            return Err(EncodeError::BlockTooLarge {
                len: total,
                limit: u16::MAX,
            });
        }
    }
    Ok(total)
}

/// One pair, encoded by hand.
fn put_pair(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let len = |field: &[u8]| u16::try_from(field.len()).expect("accepted, so at most 65535");
    out.extend_from_slice(&len(key).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&len(value).to_le_bytes());
    out.extend_from_slice(value);
}

type Pair<'a> = (&'a [u8], &'a [u8]);

/// Output buffers start filled with this byte, to see whether anything was written.
const SENTINEL: u8 = 0xa5;
static SENTINELS: [u8; BLOCK_MAX + 16] = [SENTINEL; BLOCK_MAX + 16];

/// True when `buf` still holds nothing but the sentinel (one `memcmp`: a per-byte loop
/// would cost a coverage callback per byte).
fn untouched(buf: &[u8]) -> bool {
    SENTINELS.get(..buf.len()) == Some(buf)
}

fuzz_target!(|input: Input| {
    // Each field is materialised once; repeats borrow it.
    let mut fields: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut total = 0usize;
    for (key, value) in &input.pairs {
        total += key.len() + value.len();
        if total > MAX_TOTAL_BYTES {
            break;
        }
        fields.push((key.to_vec(), value.to_vec()));
    }
    let r = usize::from(input.repeat.unwrap_or(0));
    let copies = 1 + r * r / 4;
    let pairs: Vec<Pair<'_>> = fields
        .iter()
        .map(|(k, v)| (&k[..], &v[..]))
        .cycle()
        .take(fields.len().saturating_mul(copies).min(MAX_PAIRS))
        .collect();

    slice_encoder(&pairs);
    builder(&pairs, &input);
});

fn slice_encoder(pairs: &[Pair<'_>]) {
    let expected = model_encode(pairs);
    // An empty buffer reports the model's length (the way to size a buffer) or its error.
    let too_small = |needed| EncodeError::BufferTooSmall {
        needed,
        available: 0,
    };
    let sized = expected.and_then(|n| if n == 0 { Ok(0) } else { Err(too_small(n)) });
    assert_eq!(encode_vars(pairs, &mut []), sized);

    let room = expected.unwrap_or(BLOCK_MAX + 8);
    let mut buf = vec![SENTINEL; room + 3];
    let got = encode_vars(pairs, &mut buf);
    assert_eq!(got, expected);
    let Ok(len) = got else {
        assert!(untouched(&buf), "a failed encode_vars wrote bytes");
        return;
    };
    assert!(untouched(&buf[len..]), "wrote past the block");
    let block = &buf[..len];

    // One byte short: refused, nothing written.
    if len > 0 {
        let mut short = vec![SENTINEL; len - 1];
        assert_eq!(
            encode_vars(pairs, &mut short),
            Err(EncodeError::BufferTooSmall {
                needed: len,
                available: len - 1
            })
        );
        assert!(untouched(&short));
    }

    // Parses back to the same pairs, as a block and as a packet.
    let vars = Vars::parse(block, &Limits::new()).expect("what encodes parses");
    assert_eq!(vars.len(), pairs.len());
    assert!(vars.iter().eq(pairs.iter().copied()));
    let packet = Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars)).expect("fits");
    let mut wire = vec![0u8; packet.encoded_len()];
    assert_eq!(packet.encode(&mut wire), Ok(len + 4));
    let Ok(Status::Complete((parsed, consumed))) = Packet::parse(&wire, &Limits::new()) else {
        panic!("an encoded packet does not parse back");
    };
    assert_eq!((parsed, consumed), (packet, len + 4));
}

fn builder(pairs: &[Pair<'_>], input: &Input) {
    // The limits set (`None`: the default, which `Limits::new` documents).
    let max_datasize = input.max_datasize.unwrap_or(u16::MAX);
    let max_vars = input.max_vars.map_or(MAX_PAIRS_IN_BLOCK, usize::from);
    let limits = Limits::new().max_datasize(max_datasize).max_vars(max_vars);
    let datasize_limit = usize::from(max_datasize);
    let count_limit = max_vars.min(MAX_PAIRS_IN_BLOCK);

    let mut builder = VarsBuilder::new(limits);
    let mut accepted: Vec<Pair<'_>> = Vec::new();
    let mut expected_block = Vec::new();
    for &(key, value) in pairs {
        // The error index is the number of pairs already in the builder.
        let index = accepted.len();
        let add = 4 + key.len() + value.len();
        let expected = if key.is_empty() {
            Err(EncodeError::EmptyKey { index })
        } else if key.len() > BLOCK_MAX {
            Err(EncodeError::KeyTooLong {
                index,
                len: key.len(),
            })
        } else if value.len() > BLOCK_MAX {
            Err(EncodeError::ValueTooLong {
                index,
                len: value.len(),
            })
        } else if accepted.len() >= count_limit {
            Err(EncodeError::TooManyEntries { limit: max_vars })
        } else if expected_block.len() + add > datasize_limit {
            Err(EncodeError::BlockTooLarge {
                len: expected_block.len() + add,
                limit: max_datasize,
            })
        } else {
            Ok(())
        };
        let before = builder.as_bytes().len();
        let got = builder.push(key, value).map(|_| ());
        assert_eq!(got, expected);
        match got {
            Ok(()) => {
                accepted.push((key, value));
                put_pair(&mut expected_block, key, value);
            }
            Err(_) => assert_eq!(
                builder.as_bytes().len(),
                before,
                "a refused push wrote bytes"
            ),
        }
        assert_eq!(builder.vars().len(), accepted.len());
    }
    assert_eq!(builder.as_bytes(), &expected_block[..]);
    let parsed = Vars::parse(builder.as_bytes(), &limits).expect("the builder's block parses");
    assert_eq!(parsed, builder.vars());
    assert!(parsed.iter().eq(accepted.iter().copied()));
}
