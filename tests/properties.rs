//! Property tests: round trips both ways, no panic on arbitrary input, split feeding,
//! and oversize encoder input refused.
//!
//! Every property draws inputs that reach the code it is about: the packets are valid by
//! construction (a header whose datasize is the length of a generated vars block, array
//! or raw block), and the "arbitrary input" ones take such a packet or block and damage
//! it (truncate it, change, insert or drop a byte, append a few), so that each case
//! parses, needs more bytes or fails at some depth, rather than failing at the first
//! length prefix as random bytes do.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use uwsgi_wire::exchange::request_body_len;
use uwsgi_wire::owned::OwnedPacket;
use uwsgi_wire::{
    encode_array, encode_vars, owned::OwnedVars, ArrayBuilder, BlockKind, EncodeError, Header,
    Limits, Modifier1, Packet, ParseErrorKind, Payload, Status, Var, Vars, VarsBuilder, HEADER_LEN,
};

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// The exact length an encoder needs, from an encode into an empty buffer
/// (`BufferTooSmall { needed }`), or why it cannot encode.
fn needed(encoded: Result<usize, EncodeError>) -> Result<usize, EncodeError> {
    match encoded {
        Err(EncodeError::BufferTooSmall { needed, .. }) => Ok(needed),
        other => other,
    }
}

/// Keys: non-empty raw bytes. A third from a small alphabet so duplicates are common, a
/// third the names the library itself reads, a third anything.
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(select(vec![b'A', b'B', b'_']), 1..3),
        select(vec![
            &b"CONTENT_LENGTH"[..],
            b"HTTP_COOKIE",
            b"REQUEST_METHOD"
        ])
        .prop_map(<[u8]>::to_vec),
        vec(any::<u8>(), 1..40),
    ]
}

/// Values: raw bytes, often empty, and decimal numbers (some over `u64::MAX`) so that
/// `CONTENT_LENGTH` is sometimes valid.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        "[0-9]{1,21}".prop_map(String::into_bytes),
        vec(any::<u8>(), 0..60),
    ]
}

fn pairs() -> impl Strategy<Value = Pairs> {
    vec((key(), value()), 0..40)
}

fn items() -> impl Strategy<Value = Vec<Vec<u8>>> {
    vec(vec(any::<u8>(), 0..50), 0..40)
}

/// A block of one of the three layouts.
#[derive(Debug, Clone)]
enum Block {
    Vars(Pairs),
    Array(Vec<Vec<u8>>),
    Raw(Vec<u8>),
}

impl Block {
    fn kind(&self) -> BlockKind {
        match self {
            Block::Vars(_) => BlockKind::Vars,
            Block::Array(_) => BlockKind::Array,
            Block::Raw(_) => BlockKind::Raw,
        }
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            Block::Vars(pairs) => {
                let mut out = vec![0u8; needed(encode_vars(pairs, &mut [])).unwrap()];
                encode_vars(pairs, &mut out).unwrap();
                out
            }
            Block::Array(items) => {
                let mut out = vec![0u8; needed(encode_array(items, &mut [])).unwrap()];
                encode_array(items, &mut out).unwrap();
                out
            }
            Block::Raw(bytes) => bytes.clone(),
        }
    }
}

fn block() -> impl Strategy<Value = Block> {
    prop_oneof![
        2 => pairs().prop_map(Block::Vars),
        1 => items().prop_map(Block::Array),
        1 => vec(any::<u8>(), 0..300).prop_map(Block::Raw),
    ]
}

/// The modifier1 values whose block (as a server reads it) is `kind`.
fn modifier1s(kind: BlockKind) -> Vec<u8> {
    (0..=u8::MAX)
        .filter(|&m| Modifier1(m).block_kind() == kind)
        .collect()
}

/// A valid packet: a block, a modifier1 that says how to read it, any modifier2, and
/// the header's datasize set to the block's length. Returns the block too.
fn packet() -> impl Strategy<Value = (Block, Vec<u8>)> {
    block().prop_flat_map(|block| {
        let m1 = select(modifier1s(block.kind()));
        (Just(block), m1, any::<u8>()).prop_map(|(block, m1, m2)| {
            let bytes = block.encode();
            let datasize = u16::try_from(bytes.len()).unwrap();
            let mut wire = Header::new(Modifier1(m1), datasize, m2).to_bytes().to_vec();
            wire.extend_from_slice(&bytes);
            (block, wire)
        })
    })
}

/// What is done to a valid input before it is parsed.
#[derive(Debug, Clone)]
enum Damage {
    None,
    Truncate(Index),
    Set(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    Append(Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        2 => Just(Damage::None),
        2 => any::<Index>().prop_map(Damage::Truncate),
        3 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Damage::Set(i, b)),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Damage::Insert(i, b)),
        1 => any::<Index>().prop_map(Damage::Remove),
        1 => vec(any::<u8>(), 1..4).prop_map(Damage::Append),
    ]
}

impl Damage {
    fn apply(&self, bytes: &mut Vec<u8>) {
        let len = bytes.len();
        match self {
            Damage::None => {}
            Damage::Truncate(at) => bytes.truncate(at.index(len + 1)),
            Damage::Set(at, b) if len > 0 => bytes[at.index(len)] = *b,
            Damage::Insert(at, b) => bytes.insert(at.index(len + 1), *b),
            Damage::Remove(at) if len > 0 => {
                bytes.remove(at.index(len));
            }
            Damage::Append(more) => bytes.extend_from_slice(more),
            Damage::Set(..) | Damage::Remove(_) => {}
        }
    }
}

/// A valid vars block, array or raw bytes, damaged.
fn damaged_block() -> impl Strategy<Value = Vec<u8>> {
    (block(), damage()).prop_map(|(block, damage)| {
        let mut bytes = block.encode();
        damage.apply(&mut bytes);
        bytes
    })
}

/// A valid packet followed by a few bytes (a body, a next packet), damaged.
fn damaged_packet() -> impl Strategy<Value = Vec<u8>> {
    (packet(), vec(any::<u8>(), 0..8), damage()).prop_map(|((_, mut wire), body, damage)| {
        wire.extend_from_slice(&body);
        damage.apply(&mut wire);
        wire
    })
}

/// `CONTENT_LENGTH` as the docs of `Vars::content_length` state it, over the values in
/// wire order: digits only, and every number (an empty value counts as 0) the same.
/// A request whose `CONTENT_LENGTH` is valid, empty, signed, spaced, not a number or
/// duplicated with another value: the rule the borrowed and owned packets share.
fn content_length_request() -> impl Strategy<Value = Vec<u8>> {
    let value = select(vec![
        &b"5"[..],
        b"",
        b"+5",
        b" 5",
        b"5abc",
        b"18446744073709551616",
        b"007",
    ]);
    (value.clone(), proptest::option::of(value)).prop_map(|(first, second)| {
        let mut pairs = vec![(b"REQUEST_METHOD".to_vec(), b"POST".to_vec())];
        pairs.push((b"CONTENT_LENGTH".to_vec(), first.to_vec()));
        if let Some(second) = second {
            pairs.push((b"CONTENT_LENGTH".to_vec(), second.to_vec()));
        }
        request(0, 0, &pairs)
    })
}

fn content_length_model(values: &[&[u8]]) -> Result<Option<u64>, ParseErrorKind> {
    let mut first = None;
    let mut result = None;
    for value in values {
        let number = if value.is_empty() {
            None
        } else if value.iter().all(u8::is_ascii_digit) {
            let text = std::str::from_utf8(value).unwrap();
            Some(
                text.parse::<u64>()
                    .map_err(|_| ParseErrorKind::InvalidContentLength)?,
            )
        } else {
            return Err(ParseErrorKind::InvalidContentLength);
        };
        match first {
            None => {
                first = Some(number.unwrap_or(0));
                result = number;
            }
            Some(n) if n != number.unwrap_or(0) => {
                return Err(ParseErrorKind::ConflictingContentLength)
            }
            Some(_) => result = result.or(number),
        }
    }
    Ok(result)
}

/// Encodes a request packet from `pairs` with the builder.
fn request(modifier1: u8, modifier2: u8, pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut vars = VarsBuilder::default();
    for (k, v) in pairs {
        vars.push(k, v).unwrap();
    }
    let mut out = Vec::new();
    Packet::new(Modifier1(modifier1), modifier2, Payload::Vars(vars.vars()))
        .unwrap()
        .encode_to(&mut out)
        .unwrap();
    out
}

proptest! {
    #[test]
    fn vars_round_trip(pairs in pairs(), m2 in any::<u8>()) {
        let wire = request(0, m2, &pairs);
        let Status::Complete((packet, consumed)) = Packet::parse(&wire, &Limits::new()).unwrap() else {
            panic!("complete");
        };
        prop_assert_eq!(consumed, wire.len());
        let vars = packet.vars().unwrap();
        prop_assert_eq!(vars.len(), pairs.len());
        let parsed: Pairs = vars.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        prop_assert_eq!(&parsed, &pairs);
        // Lookups agree with a linear scan (the last duplicate wins for `get`), on the
        // walking view, the indexed one and the owned one; a missing key included.
        let mut slots = [Var::default(); 40];
        let index = Vars::parse(vars.as_bytes(), &Limits::new()).unwrap().index(&mut slots).unwrap();
        let owned = OwnedVars::from_vars(&vars);
        for key in pairs.iter().map(|(k, _)| &k[..]).chain([&b"MISSING"[..]]) {
            let all: Vec<&[u8]> =
                pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| &v[..]).collect();
            let (first, last) = (all.first().copied(), all.last().copied());
            prop_assert_eq!(vars.get(key), last);
            prop_assert_eq!(vars.get_first(key), first);
            prop_assert_eq!(&vars.get_all(key).collect::<Vec<_>>(), &all);
            prop_assert_eq!(index.get(key), last);
            prop_assert_eq!(index.get_first(key), first);
            prop_assert_eq!(&index.get_all(key).collect::<Vec<_>>(), &all);
            prop_assert_eq!(owned.get(key), last.map(Bytes::copy_from_slice));
            prop_assert_eq!(owned.get_first(key), first.map(Bytes::copy_from_slice));
            prop_assert!(owned.get_all(key).eq(all.iter().copied()));
        }
        // The slice encoder agrees with the builder and with the computed length.
        let len = needed(encode_vars(&pairs, &mut [])).unwrap();
        prop_assert_eq!(len + 4, wire.len());
        let mut block = vec![0u8; len];
        prop_assert_eq!(encode_vars(&pairs, &mut block), Ok(len));
        prop_assert_eq!(&block[..], &wire[4..]);
    }

    #[test]
    fn content_length_follows_the_documented_rules(
        pairs in vec(
            (
                prop_oneof![3 => Just(b"CONTENT_LENGTH".to_vec()), 1 => key()],
                prop_oneof![
                    Just(Vec::new()),
                    select(vec![&b"0"[..], b"5", b"05", b"18446744073709551615"])
                        .prop_map(<[u8]>::to_vec),
                    value(),
                ],
            ),
            0..5,
        )
    ) {
        let mut block = vec![0u8; needed(encode_vars(&pairs, &mut [])).unwrap()];
        encode_vars(&pairs, &mut block).unwrap();
        let values: Vec<&[u8]> = pairs
            .iter()
            .filter(|(k, _)| k == b"CONTENT_LENGTH")
            .map(|(_, v)| &v[..])
            .collect();
        let expected = content_length_model(&values);
        // Validation notes the values as it walks; a trusted view walks again.
        let parsed = Vars::parse(&block, &Limits::new()).unwrap();
        prop_assert_eq!(parsed.content_length().map_err(|e| e.kind()), expected);
        let built = VarsBuilder::from_vars(&parsed, Limits::new()).unwrap();
        prop_assert_eq!(built.vars().content_length().map_err(|e| e.kind()), expected);
    }

    #[test]
    fn array_round_trip(items in items()) {
        let mut builder = ArrayBuilder::default();
        for item in &items {
            builder.push(item).unwrap();
        }
        let array = uwsgi_wire::Array::parse(builder.as_bytes(), &Limits::new()).unwrap();
        let parsed: Vec<Vec<u8>> = array.iter().map(<[u8]>::to_vec).collect();
        prop_assert_eq!(&parsed, &items);
        let len = needed(encode_array(&items, &mut [])).unwrap();
        let mut block = vec![0u8; len];
        prop_assert_eq!(encode_array(&items, &mut block), Ok(len));
        prop_assert_eq!(&block[..], builder.as_bytes());
    }

    #[test]
    fn parse_then_encode_gives_the_same_bytes(
        (block, wire) in packet(),
        body in vec(any::<u8>(), 0..8),
    ) {
        // Whatever parses, with any block layout, re-encodes to exactly its input. A
        // packet always parses as its own layout and as raw bytes (a vars block parses
        // as an array too, and some arrays as vars).
        let mut input = wire.clone();
        input.extend_from_slice(&body);
        for kind in [BlockKind::Vars, BlockKind::Array, BlockKind::Raw] {
            match Packet::parse_as(&input, kind, &Limits::new()) {
                Ok(Status::Complete((packet, consumed))) => {
                    prop_assert_eq!(consumed, wire.len());
                    let mut out = vec![0u8; packet.encoded_len()];
                    prop_assert_eq!(packet.encode(&mut out), Ok(consumed));
                    prop_assert_eq!(&out[..], &input[..consumed]);
                }
                other => {
                    prop_assert!(
                        kind != block.kind() && kind != BlockKind::Raw,
                        "{:?} as {:?}: {:?}", block, kind, other
                    );
                }
            }
        }
    }

    #[test]
    fn arbitrary_blocks_never_panic(block in damaged_block()) {
        // Whatever validates iterates to its length and re-encodes to exactly its
        // input; whatever does not points inside it (or just past its end).
        match Vars::parse(&block, &Limits::new()) {
            Ok(vars) => {
                prop_assert_eq!(vars.iter().count(), vars.len());
                let _ = vars.content_length();
                let mut out = vec![0u8; block.len()];
                prop_assert_eq!(encode_vars(vars.iter(), &mut out), Ok(block.len()));
                prop_assert_eq!(&out, &block);
            }
            Err(err) => prop_assert!(err.offset() <= block.len(), "{:?}", err),
        }
        match uwsgi_wire::Array::parse(&block, &Limits::new()) {
            Ok(array) => {
                prop_assert_eq!(array.iter().count(), array.len());
                let mut out = vec![0u8; block.len()];
                prop_assert_eq!(encode_array(array.iter(), &mut out), Ok(block.len()));
                prop_assert_eq!(&out, &block);
            }
            Err(err) => prop_assert!(err.offset() <= block.len(), "{:?}", err),
        }
    }

    #[test]
    fn borrowed_and_owned_packets_accept_and_refuse_the_same_bytes(
        bytes in prop_oneof![damaged_packet(), content_length_request()],
    ) {
        // One parse and one body-length rule for both: the same verdict on any bytes
        // (complete, partial with the same need, or the same error at the same offset),
        // the same packet, and the same length of what follows it.
        let borrowed = Packet::parse(&bytes, &Limits::new());
        let owned = OwnedPacket::parse(Bytes::from(bytes.clone()), &Limits::new());
        match (&borrowed, &owned) {
            (Ok(Status::Complete((packet, n))), Ok(Status::Complete((own, m)))) => {
                prop_assert_eq!(n, m);
                prop_assert_eq!(own.packet(), *packet);
                prop_assert_eq!(request_body_len(&own.packet()), request_body_len(packet));
            }
            (Ok(Status::Partial { needed: a }), Ok(Status::Partial { needed: b })) => {
                prop_assert_eq!(a, b);
            }
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            _ => prop_assert!(false, "{borrowed:?} but {owned:?}"),
        }
    }

    #[test]
    fn arbitrary_packets_never_panic(bytes in damaged_packet()) {
        match Packet::parse(&bytes, &Limits::new()) {
            Ok(Status::Complete((packet, consumed))) => {
                let datasize = usize::from(u16::from_le_bytes([bytes[1], bytes[2]]));
                prop_assert_eq!(consumed, HEADER_LEN + datasize);
                prop_assert_eq!(packet.payload().as_bytes().len(), datasize);
                prop_assert_eq!(&packet.header().to_bytes()[..], &bytes[..HEADER_LEN]);
            }
            Ok(Status::Partial { needed }) => {
                let total = match bytes.get(1..3) {
                    Some(&[lo, hi]) if bytes.len() >= HEADER_LEN => {
                        HEADER_LEN + usize::from(u16::from_le_bytes([lo, hi]))
                    }
                    _ => HEADER_LEN,
                };
                prop_assert_eq!(needed, total - bytes.len());
            }
            // An error points inside the packet, or just past its end (a missing value
            // length in the last bytes of the block).
            Err(err) => prop_assert!(err.offset() <= bytes.len(), "{:?}", err),
        }
    }

    #[test]
    fn split_feeding_gives_the_same_result(
        (_, wire) in packet(),
        cuts in vec(any::<Index>(), 1..6),
    ) {
        // A reader that appends input in arbitrary pieces and re-parses from the start
        // sees `Partial` with an exact `needed` until the last piece, then the same packet.
        let mut wire = wire;
        wire.extend_from_slice(b"BODY");
        let whole = Packet::parse(&wire, &Limits::new()).unwrap();
        let Status::Complete((_, total)) = whole else { panic!() };
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        points.sort_unstable();
        let mut seen_complete = false;
        for end in points.into_iter().chain([wire.len()]) {
            match Packet::parse(&wire[..end], &Limits::new()).unwrap() {
                Status::Partial { needed } => {
                    prop_assert!(!seen_complete);
                    let expect = if end < 4 { 4 - end } else { total - end };
                    prop_assert_eq!(needed, expect);
                }
                complete => {
                    seen_complete = true;
                    prop_assert!(end >= total);
                    prop_assert_eq!(complete, whole);
                }
            }
        }
        prop_assert!(seen_complete);
    }
}

#[test]
fn sizes_at_the_16_bit_edge() {
    // A key of 65535 bytes is the longest there is; one byte more is an error.
    let max = vec![b'k'; 65535];
    let mut vars = VarsBuilder::default();
    assert_eq!(
        vars.push(&max, "").unwrap_err(),
        EncodeError::BlockTooLarge {
            len: 65539,
            limit: 65535
        },
        "the key fits 16 bits but the block cannot"
    );
    let over = vec![b'k'; 65536];
    assert_eq!(
        vars.push(&over, "").unwrap_err(),
        EncodeError::KeyTooLong {
            index: 0,
            len: 65536
        }
    );
    assert_eq!(
        vars.push("K", &over).unwrap_err(),
        EncodeError::ValueTooLong {
            index: 0,
            len: 65536
        }
    );
    assert!(
        vars.vars().is_empty(),
        "a refused pair leaves nothing behind"
    );

    // The largest block: 65535 bytes exactly, one key and a 65530-byte value.
    let value = vec![0xAB; 65535 - 5];
    vars.push("K", &value).unwrap();
    assert_eq!(vars.as_bytes().len(), 65535);
    assert_eq!(
        vars.push("K", "").unwrap_err(),
        EncodeError::BlockTooLarge {
            len: 65540,
            limit: 65535
        }
    );
    let mut wire = Vec::new();
    Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))
        .unwrap()
        .encode_to(&mut wire)
        .unwrap();
    assert_eq!(&wire[..4], &[0x00, 0xff, 0xff, 0x00]);
    let (packet, consumed) = Packet::parse(&wire, &Limits::new())
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(consumed, 65539);
    assert_eq!(packet.vars().unwrap().get(b"K"), Some(&value[..]));

    // The free functions refuse the same inputs, and write nothing.
    let mut buf = vec![0u8; 70_000];
    assert_eq!(
        encode_vars([("K", &value[..]), ("L", b"")], &mut buf),
        Err(EncodeError::BlockTooLarge {
            len: 65540,
            limit: 65535
        })
    );
    assert!(buf.iter().all(|&b| b == 0));
    assert_eq!(
        encode_array([&over[..]], &mut buf),
        Err(EncodeError::ItemTooLong {
            index: 0,
            len: 65536
        })
    );
    assert_eq!(
        encode_vars([("", "x")], &mut buf),
        Err(EncodeError::EmptyKey { index: 0 })
    );
    let mut items = ArrayBuilder::default();
    items.push(&max[..65533]).unwrap();
    assert_eq!(items.as_bytes().len(), 65535);
    assert_eq!(
        items.push("").unwrap_err(),
        EncodeError::BlockTooLarge {
            len: 65537,
            limit: 65535
        }
    );
}

#[test]
fn configured_limits_bound_the_encoder() {
    let limits = Limits::new().max_datasize(4096).max_vars(2);
    let mut vars = VarsBuilder::new(limits);
    vars.push("A", "1").unwrap().push("B", "2").unwrap();
    assert_eq!(
        vars.push("C", "3").unwrap_err(),
        EncodeError::TooManyEntries { limit: 2 }
    );
    let mut big = VarsBuilder::new(limits);
    assert_eq!(
        big.push("A", vec![0u8; 4092]).unwrap_err(),
        EncodeError::BlockTooLarge {
            len: 4097,
            limit: 4096
        }
    );
    big.push("A", vec![0u8; 4091]).unwrap();
}

#[test]
fn thirteen_thousand_minimal_pairs() {
    // The most pairs a block can hold: 13107 x (1-byte key, empty value) = 65535 bytes.
    let mut vars = VarsBuilder::default();
    let letters = b"abcdefghijklmnopqrstuvwxyz";
    for i in 0..13107 {
        vars.push([letters[i % letters.len()]], "").unwrap();
    }
    assert_eq!(vars.as_bytes().len(), 65535);
    let parsed = Vars::parse(vars.as_bytes(), &Limits::new()).unwrap();
    assert_eq!(parsed.len(), 13107);
    let err = Vars::parse(vars.as_bytes(), &Limits::new().max_vars(128)).unwrap_err();
    assert_eq!(err.offset(), 128 * 5);
}

#[test]
fn an_error_can_point_just_past_the_input() {
    // Why the properties above allow `offset == len`: a block that ends right after a
    // key is missing its value length where the input ends.
    let err = Packet::parse(b"\x00\x03\x00\x00\x01\x00k", &Limits::new()).unwrap_err();
    assert_eq!(
        (err.kind(), err.offset()),
        (ParseErrorKind::MissingValueLength, 7)
    );
}
