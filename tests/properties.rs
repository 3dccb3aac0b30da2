//! Property tests: round trips both ways, no panic on arbitrary input, split feeding,
//! and oversize encoder input refused.

use proptest::collection::vec;
use proptest::prelude::*;
use uwsgi_wire::{
    array_encoded_len, encode_array, encode_vars, vars_encoded_len, ArrayBuilder, BlockKind,
    EncodeError, Limits, Modifier1, Packet, Payload, Status, Vars, VarsBuilder,
};

/// Keys: non-empty raw bytes, drawn from a small alphabet half the time so duplicates
/// are common; values: raw bytes, often empty.
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(prop::sample::select(vec![b'A', b'B', b'_']), 1..3),
        vec(any::<u8>(), 1..40),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![Just(Vec::new()), vec(any::<u8>(), 0..60)]
}

fn pairs() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    vec((key(), value()), 0..40)
}

/// Encodes a request packet from `pairs` with the builder.
fn request(modifier1: u8, modifier2: u8, pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut vars = VarsBuilder::new();
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
        let Status::Complete((packet, consumed)) = Packet::parse(&wire).unwrap() else {
            panic!("complete");
        };
        prop_assert_eq!(consumed, wire.len());
        let vars = packet.vars().unwrap();
        prop_assert_eq!(vars.len(), pairs.len());
        let parsed: Vec<(Vec<u8>, Vec<u8>)> =
            vars.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        prop_assert_eq!(&parsed, &pairs);
        // Lookups agree with a linear scan: the last duplicate wins.
        for (k, _) in &pairs {
            let last = pairs.iter().rev().find(|(k2, _)| k2 == k).map(|(_, v)| v.as_slice());
            prop_assert_eq!(vars.get(k), last);
        }
        // The slice encoder agrees with the builder and with the computed length.
        let len = vars_encoded_len(&pairs).unwrap();
        prop_assert_eq!(len + 4, wire.len());
        let mut block = vec![0u8; len];
        prop_assert_eq!(encode_vars(&pairs, &mut block), Ok(len));
        prop_assert_eq!(&block[..], &wire[4..]);
    }

    #[test]
    fn array_round_trip(items in vec(vec(any::<u8>(), 0..50), 0..40)) {
        let mut builder = ArrayBuilder::new();
        for item in &items {
            builder.push(item).unwrap();
        }
        let array = uwsgi_wire::Array::parse(builder.as_bytes()).unwrap();
        let parsed: Vec<Vec<u8>> = array.iter().map(<[u8]>::to_vec).collect();
        prop_assert_eq!(&parsed, &items);
        let len = array_encoded_len(&items).unwrap();
        let mut block = vec![0u8; len];
        prop_assert_eq!(encode_array(&items, &mut block), Ok(len));
        prop_assert_eq!(&block[..], builder.as_bytes());
    }

    #[test]
    fn parse_then_encode_gives_the_same_bytes(bytes in vec(any::<u8>(), 0..300)) {
        // Whatever parses, with any block layout, re-encodes to exactly its input.
        for kind in [BlockKind::Vars, BlockKind::Array, BlockKind::Raw] {
            if let Ok(Status::Complete((packet, consumed))) =
                Packet::parse_as(&bytes, kind, &Limits::new())
            {
                prop_assert!(consumed <= bytes.len());
                let mut out = vec![0u8; packet.encoded_len()];
                prop_assert_eq!(packet.encode(&mut out), Ok(consumed));
                prop_assert_eq!(&out[..], &bytes[..consumed]);
            }
        }
    }

    #[test]
    fn arbitrary_blocks_never_panic(block in vec(any::<u8>(), 0..300)) {
        if let Ok(vars) = Vars::parse(&block) {
            prop_assert_eq!(vars.iter().count(), vars.len());
            let _ = vars.content_length();
        }
        if let Ok(array) = uwsgi_wire::Array::parse(&block) {
            prop_assert_eq!(array.iter().count(), array.len());
        }
    }

    #[test]
    fn arbitrary_packets_never_panic(mut bytes in vec(any::<u8>(), 4..300), m1 in any::<u8>()) {
        // Put a datasize that fits the input most of the time, so blocks get parsed.
        bytes[0] = m1;
        let size = ((bytes.len() - 4) as u16).min(u16::from_le_bytes([bytes[1], bytes[2]]) % 300);
        bytes[1..3].copy_from_slice(&size.to_le_bytes());
        match Packet::parse(&bytes) {
            Ok(Status::Complete((packet, consumed))) => {
                prop_assert_eq!(consumed, 4 + usize::from(size));
                prop_assert_eq!(packet.payload().as_bytes().len(), usize::from(size));
            }
            Ok(Status::Partial { needed }) => prop_assert!(needed > 0),
            Err(err) => prop_assert!(err.offset() < bytes.len()),
        }
    }

    #[test]
    fn split_feeding_gives_the_same_result(pairs in pairs(), cuts in vec(any::<prop::sample::Index>(), 0..6)) {
        // A reader that appends input in arbitrary pieces and re-parses from the start
        // sees `Partial` with an exact `needed` until the last piece, then the same packet.
        let mut wire = request(0, 0, &pairs);
        wire.extend_from_slice(b"BODY");
        let whole = Packet::parse(&wire).unwrap();
        let Status::Complete((_, total)) = whole else { panic!() };
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        points.sort_unstable();
        let mut seen_complete = false;
        for end in points.into_iter().chain([wire.len()]) {
            match Packet::parse(&wire[..end]).unwrap() {
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
    let mut vars = VarsBuilder::new();
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
    assert!(vars.is_empty(), "a refused pair leaves nothing behind");

    // The largest block: 65535 bytes exactly, one key and a 65530-byte value.
    let value = vec![0xAB; 65535 - 5];
    vars.push("K", &value).unwrap();
    assert_eq!(vars.encoded_len(), 65535);
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
    let (packet, consumed) = Packet::parse(&wire).unwrap().complete().unwrap();
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
    let mut items = ArrayBuilder::new();
    items.push(&max[..65533]).unwrap();
    assert_eq!(items.encoded_len(), 65535);
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
    let mut vars = VarsBuilder::with_limits(limits);
    vars.push("A", "1").unwrap().push("B", "2").unwrap();
    assert_eq!(
        vars.push("C", "3").unwrap_err(),
        EncodeError::TooManyEntries { limit: 2 }
    );
    let mut big = VarsBuilder::with_limits(limits);
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
    let mut vars = VarsBuilder::new();
    for i in 0..13107u32 {
        vars.push([b'a' + (i % 26) as u8], "").unwrap();
    }
    assert_eq!(vars.encoded_len(), 65535);
    let parsed = Vars::parse(vars.as_bytes()).unwrap();
    assert_eq!(parsed.len(), 13107);
    let err = Vars::parse_with(vars.as_bytes(), &Limits::new().max_vars(128)).unwrap_err();
    assert_eq!(err.offset(), 128 * 5);
}
