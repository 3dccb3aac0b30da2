//! One invalid vector per error kind, with the exact kind and byte offset expected.
//!
//! Origin: every vector here is derived by hand from the wire format in docs/PROTOCOL.md
//! sections 1-2 and uWSGI 2.0's `uwsgi_parse_vars` (core/protocol.c), which is what
//! real encoders never produce; `tests/conformance/rejections.rs` checks what real uWSGI
//! does with each of them.

use uwsgi_wire::{Array, Limits, Packet, ParseError, ParseErrorKind, Vars};

/// Parses `wire` as a whole packet and returns the error it must give.
fn packet_err(wire: &[u8], limits: &Limits) -> ParseError {
    match Packet::parse(wire, limits) {
        Err(err) => err,
        Ok(status) => panic!("expected an error for {wire:02x?}, got {status:?}"),
    }
}

#[track_caller]
fn assert_packet_err(wire: &[u8], kind: ParseErrorKind, offset: usize) {
    let err = packet_err(wire, &Limits::new());
    assert_eq!((err.kind(), err.offset()), (kind, offset), "{wire:02x?}");
}

#[test]
fn datasize_over_limit_is_refused_from_the_header_alone() {
    // uWSGI's default buffer-size is 4096: a 5000-byte block never gets read.
    let limits = Limits::new().max_datasize(4096);
    let err = packet_err(&[0x00, 0x88, 0x13, 0x00], &limits);
    assert_eq!(
        (err.kind(), err.offset()),
        (
            ParseErrorKind::DatasizeOverLimit {
                datasize: 5000,
                limit: 4096
            },
            1
        )
    );
    // At the limit exactly it is only partial.
    let mut at_limit = vec![0x00, 0x00, 0x10, 0x00];
    at_limit.resize(100, 0);
    assert!(Packet::parse(&at_limit, &limits).unwrap().is_partial());
}

#[test]
fn empty_key() {
    // modifier1 0, datasize 5: klen 0 at block offset 0 (packet offset 4).
    assert_packet_err(
        b"\x00\x05\x00\x00\x00\x00\x01\x00x",
        ParseErrorKind::EmptyKey,
        4,
    );
}

#[test]
fn key_past_end() {
    // klen 0x10 but only 3 bytes follow inside the 5-byte block.
    assert_packet_err(
        b"\x00\x05\x00\x00\x10\x00abc",
        ParseErrorKind::KeyPastEnd { len: 16 },
        4,
    );
}

#[test]
fn missing_value_length() {
    // A 3-byte key and then one byte where the 2-byte value length should be.
    assert_packet_err(
        b"\x00\x06\x00\x00\x03\x00abc\x00",
        ParseErrorKind::MissingValueLength,
        9,
    );
}

#[test]
fn value_past_end() {
    // Second pair: value length 9 with 2 bytes left. Pair 1 is 7 bytes at offset 4.
    assert_packet_err(
        b"\x00\x0e\x00\x00\x01\x00a\x02\x00bc\x01\x00d\x09\x00ef",
        ParseErrorKind::ValuePastEnd { len: 9 },
        14,
    );
}

#[test]
fn one_and_two_trailing_bytes() {
    // A good 7-byte pair then 1 stray byte, then 2 stray bytes (which would read as a
    // key length of 0 or 5: still stray, as uWSGI needs 3 bytes to start a pair).
    assert_packet_err(
        b"\x00\x08\x00\x00\x01\x00a\x02\x00bc\x00",
        ParseErrorKind::TrailingBytes { count: 1 },
        11,
    );
    assert_packet_err(
        b"\x00\x09\x00\x00\x01\x00a\x02\x00bc\x00\x00",
        ParseErrorKind::TrailingBytes { count: 2 },
        11,
    );
    assert_packet_err(
        b"\x00\x09\x00\x00\x01\x00a\x02\x00bc\x05\x00",
        ParseErrorKind::TrailingBytes { count: 2 },
        11,
    );
}

#[test]
fn the_resync_quirk_vector_is_rejected() {
    // Deliberately stricter than uWSGI. docs/PROTOCOL.md sections 5 and 8, and uWSGI 2.0's
    // `uwsgi_parse_vars` (core/protocol.c): a key length that runs past the block has no
    // `else` branch there, so uWSGI skips the 2 length bytes and resynchronises; this
    // 7-byte block (`ff 00` then a valid pair `A=""`) is accepted by uWSGI as one var.
    let block = b"\xff\x00\x01\x00A\x00\x00";
    let err = Vars::parse(block, &Limits::new()).unwrap_err();
    assert_eq!(
        (err.kind(), err.offset()),
        (ParseErrorKind::KeyPastEnd { len: 255 }, 0)
    );
}

#[test]
fn too_many_vars() {
    // Three 5-byte pairs, limit 2: the third pair (packet offset 14) is refused.
    let wire = b"\x00\x0f\x00\x00\x01\x00a\x00\x00\x01\x00b\x00\x00\x01\x00c\x00\x00";
    let err = packet_err(wire, &Limits::new().max_vars(2));
    assert_eq!(
        (err.kind(), err.offset()),
        (ParseErrorKind::TooManyVars { limit: 2 }, 14)
    );
    assert!(Packet::parse(wire, &Limits::new().max_vars(3)).is_ok());
}

#[test]
fn item_past_end() {
    // RPC array: "f", then an item of length 4 with 1 byte left.
    assert_packet_err(
        b"\xad\x06\x00\x00\x01\x00f\x04\x00x",
        ParseErrorKind::ItemPastEnd { len: 4 },
        7,
    );
}

#[test]
fn array_trailing_byte() {
    assert_packet_err(
        b"\xad\x04\x00\x00\x01\x00f\x00",
        ParseErrorKind::TrailingBytes { count: 1 },
        7,
    );
}

#[test]
fn too_many_items() {
    let err = Array::parse(b"\x00\x00\x00\x00\x00\x00", &Limits::new().max_items(2)).unwrap_err();
    assert_eq!(
        (err.kind(), err.offset()),
        (ParseErrorKind::TooManyItems { limit: 2 }, 4)
    );
}

/// Builds a vars block from pairs without going through the crate's encoder.
fn block(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        out.extend_from_slice(&(k.len() as u16).to_le_bytes());
        out.extend_from_slice(k);
        out.extend_from_slice(&(v.len() as u16).to_le_bytes());
        out.extend_from_slice(v);
    }
    out
}

#[test]
fn content_length_forms() {
    type Expected = Result<Option<u64>, ParseErrorKind>;
    let cases: &[(&[u8], Expected)] = &[
        (b"", Ok(None)),
        (b"0", Ok(Some(0))),
        (b"5", Ok(Some(5))),
        (b"05", Ok(Some(5))),
        (b"18446744073709551615", Ok(Some(u64::MAX))),
        (
            b"18446744073709551616",
            Err(ParseErrorKind::InvalidContentLength),
        ),
        (
            b"123456789012345678901234567890",
            Err(ParseErrorKind::InvalidContentLength),
        ),
        (b"+5", Err(ParseErrorKind::InvalidContentLength)),
        (b"-5", Err(ParseErrorKind::InvalidContentLength)),
        (b" 5", Err(ParseErrorKind::InvalidContentLength)),
        (b"5 ", Err(ParseErrorKind::InvalidContentLength)),
        (b"5abc", Err(ParseErrorKind::InvalidContentLength)),
        (b"1e3", Err(ParseErrorKind::InvalidContentLength)),
        (b"0x10", Err(ParseErrorKind::InvalidContentLength)),
    ];
    for (value, expected) in cases {
        let bytes = block(&[(b"PATH_INFO", b"/"), (b"CONTENT_LENGTH", value)]);
        let vars = Vars::parse(&bytes, &Limits::new()).unwrap();
        let got = vars.content_length();
        match expected {
            Ok(n) => assert_eq!(got, Ok(*n), "{value:?}"),
            Err(kind) => {
                let err = got.unwrap_err();
                // The value starts after pair 1 (2+9+2+1) and the key (2+14+2).
                assert_eq!((err.kind(), err.offset()), (*kind, 32), "{value:?}");
            }
        }
    }
}

#[test]
fn content_length_conflicts() {
    let same = block(&[(b"CONTENT_LENGTH", b"5"), (b"CONTENT_LENGTH", b"5")]);
    assert_eq!(
        Vars::parse(&same, &Limits::new()).unwrap().content_length(),
        Ok(Some(5))
    );
    let leading_zero = block(&[(b"CONTENT_LENGTH", b"5"), (b"CONTENT_LENGTH", b"005")]);
    assert_eq!(
        Vars::parse(&leading_zero, &Limits::new())
            .unwrap()
            .content_length(),
        Ok(Some(5))
    );

    for second in [&b"6"[..], b"", b"0"] {
        let two = block(&[(b"CONTENT_LENGTH", b"5"), (b"CONTENT_LENGTH", second)]);
        let err = Vars::parse(&two, &Limits::new())
            .unwrap()
            .content_length()
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.offset()),
            (ParseErrorKind::ConflictingContentLength, 19 + 18),
            "5 then {second:?}"
        );
    }
    // An empty one first counts as 0: a later 5 disagrees.
    let empty_first = block(&[(b"CONTENT_LENGTH", b""), (b"CONTENT_LENGTH", b"5")]);
    let err = Vars::parse(&empty_first, &Limits::new())
        .unwrap()
        .content_length()
        .unwrap_err();
    assert_eq!(err.kind(), ParseErrorKind::ConflictingContentLength);
    let empty_twice = block(&[(b"CONTENT_LENGTH", b""), (b"CONTENT_LENGTH", b"")]);
    assert_eq!(
        Vars::parse(&empty_twice, &Limits::new())
            .unwrap()
            .content_length(),
        Ok(None)
    );
}

#[test]
fn content_length_offsets_count_from_the_packet_start() {
    let mut wire = vec![0x00, 0, 0, 0];
    let b = block(&[(b"CONTENT_LENGTH", b"x")]);
    wire[1..3].copy_from_slice(&(b.len() as u16).to_le_bytes());
    wire.extend_from_slice(&b);
    let (packet, _) = Packet::parse(&wire, &Limits::new())
        .unwrap()
        .complete()
        .unwrap();
    let err = packet.vars().unwrap().content_length().unwrap_err();
    assert_eq!(err.offset(), 4 + 18);
}

#[test]
fn errors_display_kind_and_offset() {
    let err = Vars::parse(b"\x01\x00a\x05\x00ab", &Limits::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "value length 5 runs past the end of the block at byte 3"
    );
}
