//! Byte-exact vectors: each says where it came from. Every one is checked three ways:
//! parsing gives the expected decoded value, re-encoding the parsed packet gives the same
//! bytes, and encoding the expected value with the crate's builders gives the same bytes.

use uwsgi_wire::{
    encode_array, encode_vars, ArrayBuilder, BlockKind, Header, Limits, Modifier1, Packet, Payload,
    Status, VarsBuilder, HEADER_LEN,
};

/// Parses a whole packet (no trailing body) and checks it re-encodes to the same bytes.
fn parse_exact(wire: &[u8]) -> Packet<'_> {
    let Status::Complete((packet, consumed)) =
        Packet::parse(wire, &Limits::new()).expect("valid vector")
    else {
        panic!("vector is incomplete");
    };
    assert_eq!(consumed, wire.len(), "the vector is one whole packet");
    let mut out = vec![0u8; packet.encoded_len()];
    assert_eq!(packet.encode(&mut out), Ok(wire.len()));
    assert_eq!(out, wire, "encode(parse(bytes)) == bytes");
    packet
}

/// Encodes `pairs` as a modifier1/modifier2 request with the builder.
fn encode_request(modifier1: Modifier1, modifier2: u8, pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut vars = VarsBuilder::default();
    for (k, v) in pairs {
        vars.push(k, v).unwrap();
    }
    let mut out = Vec::new();
    Packet::new(modifier1, modifier2, Payload::Vars(vars.vars()))
        .unwrap()
        .encode_to(&mut out)
        .unwrap();
    // The allocation-free path gives the same bytes.
    let mut slice = vec![0u8; out.len()];
    let n = encode_vars(pairs, &mut slice[4..]).unwrap();
    slice[..HEADER_LEN].copy_from_slice(&Header::new(modifier1, n as u16, modifier2).to_bytes());
    assert_eq!(slice, out);
    out
}

fn pairs<'a>(packet: &Packet<'a>) -> Vec<(&'a [u8], &'a [u8])> {
    packet.vars().expect("a vars packet").iter().collect()
}

#[test]
fn minimal_request() {
    // Derived from the spec (docs/PROTOCOL.md section 2.1): modifier1 0, one pair
    // PATH_INFO=/ -> block 2+9+2+1 = 14 bytes.
    let wire = b"\x00\x0e\x00\x00\x09\x00PATH_INFO\x01\x00/";
    let packet = parse_exact(wire);
    assert_eq!(packet.header(), Header::new(Modifier1::WSGI, 14, 0));
    let expected: &[(&[u8], &[u8])] = &[(b"PATH_INFO", b"/")];
    assert_eq!(pairs(&packet), expected);
    assert_eq!(encode_request(Modifier1::WSGI, 0, expected), wire);
}

#[test]
fn empty_request_block() {
    // Derived from the spec: datasize 0 frames fine (uWSGI's HTTP handlers then close).
    let packet = parse_exact(b"\x00\x00\x00\x00");
    assert!(packet.vars().unwrap().is_empty());
}

#[test]
fn ping_and_pong() {
    // The ping `uwsgi --ping` sends and the pong uWSGI answers (docs/PROTOCOL.md
    // section 3).
    let ping = parse_exact(&[0x64, 0x00, 0x00, 0x00]);
    assert_eq!((ping.modifier1(), ping.modifier2()), (Modifier1::PING, 0));
    assert_eq!(ping.payload(), Payload::Raw(b""));
    let pong = parse_exact(&[0x64, 0x00, 0x00, 0x01]);
    assert_eq!((pong.modifier1(), pong.modifier2()), (Modifier1::PING, 1));
}

#[test]
fn signal() {
    // `uwsgi --signal ADDR,17` (docs/PROTOCOL.md section 3): the number rides in modifier2.
    let packet = parse_exact(&[0x6e, 0x00, 0x00, 0x11]);
    assert_eq!(packet.header(), Header::new(Modifier1::SIGNAL, 0, 17));
    assert_eq!(packet.payload(), Payload::Raw(b""));
}

#[test]
fn rpc_array() {
    // Derived from uWSGI's RPC format (docs/PROTOCOL.md section 2.2, uwsgi-docs RPC.rst):
    // `uwsgi.rpc(node, "hello", "a", "", "bc")` -> array [hello, a, "", bc], 16 bytes.
    let wire = b"\xad\x10\x00\x00\x05\x00hello\x01\x00a\x00\x00\x02\x00bc";
    let packet = parse_exact(wire);
    let items: Vec<&[u8]> = packet.array().unwrap().iter().collect();
    assert_eq!(items, [&b"hello"[..], b"a", b"", b"bc"]);
    let mut call = ArrayBuilder::default();
    for item in &items {
        call.push(item).unwrap();
    }
    let mut out = [0u8; 20];
    let n = Packet::new(Modifier1::RPC, 0, Payload::Array(call.array()))
        .unwrap()
        .encode(&mut out)
        .unwrap();
    assert_eq!(&out[..n], wire);
    let mut raw = [0u8; 16];
    assert_eq!(encode_array(&items, &mut raw), Ok(16));
    assert_eq!(&raw, &wire[4..]);
}

#[test]
fn empty_value_last() {
    // Derived from nginx's default uwsgi_params: CONTENT_TYPE is "" for a GET and an empty
    // value may be the last thing in the block (docs/PROTOCOL.md section 2.1).
    let wire = b"\x00\x25\x00\x00\x0e\x00REQUEST_METHOD\x03\x00GET\x0c\x00CONTENT_TYPE\x00\x00";
    let packet = parse_exact(wire);
    let expected: &[(&[u8], &[u8])] = &[(b"REQUEST_METHOD", b"GET"), (b"CONTENT_TYPE", b"")];
    assert_eq!(pairs(&packet), expected);
    assert_eq!(packet.vars().unwrap().get(b"CONTENT_TYPE"), Some(&b""[..]));
    assert_eq!(encode_request(Modifier1::WSGI, 0, expected), wire);
}

#[test]
fn duplicate_keys_are_kept_in_order() {
    // nginx < 1.23 sends one HTTP_COOKIE per Cookie header line (docs/PROTOCOL.md
    // section 6.3).
    let wire = b"\x00\x24\x00\x00\x0b\x00HTTP_COOKIE\x03\x00a=1\x0b\x00HTTP_COOKIE\x03\x00b=2";
    let packet = parse_exact(wire);
    let vars = packet.vars().unwrap();
    assert_eq!(vars.len(), 2);
    assert_eq!(
        vars.get(b"HTTP_COOKIE"),
        Some(&b"b=2"[..]),
        "the last wins, as in environ"
    );
    assert_eq!(vars.get_first(b"HTTP_COOKIE"), Some(&b"a=1"[..]));
    assert_eq!(
        vars.get_all(b"HTTP_COOKIE").collect::<Vec<_>>(),
        [&b"a=1"[..], b"b=2"]
    );
}

#[test]
fn raw_bytes_are_not_utf8_checked() {
    // nginx copies header bytes 0x80-0xFF verbatim (docs/PROTOCOL.md section 2.1).
    let expected: &[(&[u8], &[u8])] = &[(b"HTTP_X_BIN", b"\xff\xfe\x00\x80")];
    let wire = encode_request(Modifier1::WSGI, 0, expected);
    assert_eq!(pairs(&parse_exact(&wire)), expected);
}

#[test]
fn every_modifier1_round_trips() {
    for m1 in 0..=255u8 {
        let wire = [m1, 0, 0, 0x2a];
        let packet = parse_exact(&wire);
        assert_eq!(u8::from(packet.modifier1()), m1);
        assert_eq!(packet.modifier2(), 0x2a);
        let Status::Complete((raw, _)) =
            Packet::parse_as(&wire, BlockKind::Raw, &Limits::new()).unwrap()
        else {
            panic!()
        };
        assert_eq!(raw.header().to_bytes(), wire);
    }
}

#[test]
fn the_body_is_not_part_of_the_packet() {
    // A POST as nginx frames it: vars, then exactly CONTENT_LENGTH body bytes, then
    // (on a pipelining peer) whatever comes next.
    let expected: &[(&[u8], &[u8])] = &[(b"REQUEST_METHOD", b"POST"), (b"CONTENT_LENGTH", b"5")];
    let mut wire = encode_request(Modifier1::WSGI, 0, expected);
    let head_len = wire.len();
    wire.extend_from_slice(b"hellonext");
    let Status::Complete((packet, consumed)) = Packet::parse(&wire, &Limits::new()).unwrap() else {
        panic!()
    };
    assert_eq!(consumed, head_len);
    let body_len = packet.vars().unwrap().content_length().unwrap().unwrap() as usize;
    assert_eq!(&wire[consumed..consumed + body_len], b"hello");
}
