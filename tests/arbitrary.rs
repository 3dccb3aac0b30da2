//! Feature `arbitrary`: every value generated from any input bytes is valid, by this
//! crate's own parsers, and round-trips.
//!
//! Origin: derived (the generators' contract in src/arbitrary.rs); proptest supplies the
//! input bytes, as a fuzzer would.
#![cfg(feature = "arbitrary")]

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;
use uwsgi_wire::arbitrary::{ArbitraryPacket, ArbitraryRequest};
use uwsgi_wire::exchange::{request_body_len, BodyLength, Event, ServerExchange};
use uwsgi_wire::{
    message::CacheReply, message::GenericResponse, message::Message, message::Pong,
    message::Request, message::RpcReply, BlockKind, Limits, Modifier1, Packet, Status, VarsBuilder,
};

/// Frames `stream` through the exchange core, server side: one head, its body, the end.
/// Returns the head's length and the body.
fn frame_server(stream: &[u8]) -> (usize, Vec<u8>) {
    let mut server = ServerExchange::new(Limits::new());
    let mut at = 0;
    let mut heads = Vec::new();
    let mut body = Vec::new();
    let mut ends = 0;
    while let Some((event, consumed)) = server.decode_eof(&stream[at..]).expect("frames") {
        match event {
            Event::Head {
                head: packet,
                body: length,
            } => {
                heads.push(packet.encoded_len());
                assert!(matches!(length, BodyLength::Exact(_)), "{length:?}");
            }
            Event::Body(bytes) => body.extend_from_slice(bytes),
            Event::End => ends += 1,
        }
        at += consumed;
    }
    assert_eq!((heads.len(), ends, at), (1, 1, stream.len()));
    (heads[0], body)
}

fn check_request(request: &ArbitraryRequest) {
    let wire = request.to_bytes();
    let Status::Complete((packet, consumed)) =
        Packet::parse(&wire, &Limits::new()).expect("parses")
    else {
        panic!("partial")
    };
    assert_eq!(packet.modifier1(), request.modifier1());
    assert_eq!(packet.modifier2(), request.modifier2());
    assert_eq!(&wire[consumed..], request.body());
    let parsed = Request::try_from(&packet).expect("a request");
    assert_eq!(parsed.vars(), request.vars());
    assert_eq!(parsed.content_length(), request.body().len() as u64);
    assert!(
        parsed.vars().get(b"REQUEST_METHOD").is_some()
            && parsed.vars().get(b"REQUEST_URI").is_some()
    );
    assert!(matches!(
        Message::try_from(&packet),
        Ok(Message::Request(_))
    ));
    // Framed server side with its body.
    let (head, body) = frame_server(&wire);
    assert_eq!(head, consumed);
    assert_eq!(body, request.body());
    // Round trip: the parsed vars re-encode to the same bytes.
    let again = VarsBuilder::from_vars(&parsed.vars(), Limits::new()).expect("re-encodes");
    assert_eq!(again.as_bytes(), request.vars().as_bytes());
    // The vars make an HTTP request.
    #[cfg(feature = "http")]
    {
        let vars = uwsgi_wire::owned::OwnedVars::from_vars(&parsed.vars());
        let http = uwsgi_wire::cgi::request_from_vars(&vars).expect("an http::Request");
        assert_eq!(
            http.method().as_str().as_bytes(),
            parsed.vars().get(b"REQUEST_METHOD").unwrap_or_default()
        );
    }
}

fn check_packet(any: &ArbitraryPacket) {
    let wire = any.to_bytes();
    let packet = any.packet();
    let head_len = packet.encoded_len();
    assert_eq!(&wire[head_len..], any.follows());
    let mut encoded = vec![0u8; head_len];
    assert_eq!(packet.encode(&mut encoded), Ok(head_len));
    assert_eq!(encoded, wire[..head_len], "round trip");
    if !any.is_reply() {
        let Status::Complete((parsed, consumed)) =
            Packet::parse(&wire, &Limits::new()).expect("parses")
        else {
            panic!("partial")
        };
        assert_eq!((parsed, consumed), (packet, head_len));
        Message::try_from(&parsed).expect("types");
        assert_eq!(request_body_len(&parsed), Ok(any.follows().len() as u64));
        let (head, body) = frame_server(&wire);
        assert_eq!((head, &body[..]), (head_len, any.follows()));
        return;
    }
    match packet.modifier1() {
        Modifier1::PING => {
            Pong::try_from(&packet).expect("a pong");
            assert!(any.follows().is_empty());
        }
        Modifier1::RPC => {
            // A reply's block is read raw; the large form's vars are read from it.
            let Status::Complete((raw, consumed)) =
                Packet::parse_as(&wire, BlockKind::Raw, &Limits::new()).expect("a reply")
            else {
                panic!("partial")
            };
            assert_eq!(consumed, head_len);
            match RpcReply::try_from(&raw).expect("a reply") {
                RpcReply::Large { len } => assert_eq!(len, any.follows().len() as u64),
                RpcReply::Result(_) => assert!(any.follows().is_empty()),
            }
        }
        Modifier1::CACHE => {
            let reply = CacheReply::try_from(&packet).expect("a cache reply");
            assert!(reply.is_ok());
            assert_eq!(reply.value_len(), any.follows().len() as u64);
        }
        Modifier1::RESPONSE => {
            GenericResponse::try_from(&packet).expect("a generic response");
        }
        other => panic!("unexpected reply kind {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_generated_request_is_valid(seed in prop::collection::vec(any::<u8>(), 0..20_000)) {
        let request = ArbitraryRequest::arbitrary(&mut Unstructured::new(&seed))
            .expect("generates from any bytes");
        check_request(&request);
    }

    #[test]
    fn every_generated_packet_is_valid(seed in prop::collection::vec(any::<u8>(), 0..20_000)) {
        let any = ArbitraryPacket::arbitrary(&mut Unstructured::new(&seed))
            .expect("generates from any bytes");
        check_packet(&any);
    }
}

#[test]
fn every_kind_is_generated() {
    // Plain loops over pseudo-random bytes: each kind comes out of some input.
    let mut seen = std::collections::BTreeSet::new();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut seed = vec![0u8; 4096];
    let mut with_body = false;
    for _ in 0..3000 {
        for b in &mut seed {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = state as u8;
        }
        let any = ArbitraryPacket::arbitrary(&mut Unstructured::new(&seed)).unwrap();
        check_packet(&any);
        let p = any.packet();
        seen.insert((p.modifier1().0, any.is_reply()));
        let request = ArbitraryRequest::arbitrary(&mut Unstructured::new(&seed)).unwrap();
        check_request(&request);
        with_body |= !request.body().is_empty();
    }
    assert!(with_body);
    for (m1, reply) in [
        (100, false),
        (101, false),
        (110, false),
        (173, false),
        (17, false),
        (111, false),
        (224, false),
        (100, true),
        (173, true),
        (111, true),
        (255, true),
    ] {
        assert!(seen.contains(&(m1, reply)), "{m1} {reply}: {seen:?}");
    }
    assert!(seen
        .iter()
        .any(|&(m1, reply)| !reply && Modifier1(m1).is_request()));
}

#[test]
fn empty_input_gives_the_smallest_values() {
    let request = ArbitraryRequest::arbitrary(&mut Unstructured::new(&[])).unwrap();
    check_request(&request);
    assert_eq!(request.vars().get(b"REQUEST_URI"), Some(&b"/"[..]));
    let any = ArbitraryPacket::arbitrary(&mut Unstructured::new(&[])).unwrap();
    check_packet(&any);
}
