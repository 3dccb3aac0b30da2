//! `arbitrary_requests`: the feature `arbitrary` generators, as a downstream server's fuzz
//! target would use them (`uwsgi_wire::arbitrary`).
//!
//! - every `ArbitraryRequest` parses (`Packet::parse`, `Request::try_from`,
//!   `Message::try_from`) to its own vars, with a `CONTENT_LENGTH` of its body's length;
//! - it frames through the exchange core server side (`ServerExchange`), whole and in
//!   two pieces split where the input says: one head of the packet's length, its body
//!   exactly, the end;
//! - its vars round-trip (`VarsBuilder::from_vars` re-encodes the same block), and they
//!   make an `http::Request`;
//! - every request-direction `ArbitraryPacket` parses, types and frames with what follows
//!   it; every packet re-encodes to its own bytes.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use uwsgi_wire::arbitrary::{ArbitraryPacket, ArbitraryRequest};
use uwsgi_wire::exchange::{Event, ServerExchange};
use uwsgi_wire::{message::Message, message::Request, Limits, Packet, Status, VarsBuilder};

/// Frames `stream` server side, fed in two pieces cut at `cut`; returns the head's
/// length and the body.
fn frame(stream: &[u8], cut: usize) -> (usize, Vec<u8>) {
    let mut server = ServerExchange::new(Limits::new());
    let (mut head, mut body, mut ends) = (None, Vec::new(), 0);
    let mut at = 0;
    let cut = cut.min(stream.len());
    loop {
        let end = if at < cut { cut } else { stream.len() };
        let step = if end == stream.len() {
            server.decode_eof(&stream[at..end]).expect("frames")
        } else {
            match server.decode(&stream[at..end]).expect("frames") {
                Status::Complete(done) => Some(done),
                // Not enough before the cut: go on with the whole stream.
                Status::Partial { .. } => server.decode_eof(&stream[at..]).expect("frames"),
            }
        };
        let Some((event, consumed)) = step else { break };
        match event {
            Event::Head { head: packet, .. } => {
                assert!(head.is_none(), "one head");
                head = Some(packet.encoded_len());
            }
            Event::Body(bytes) => body.extend_from_slice(bytes),
            Event::End => ends += 1,
        }
        at += consumed;
    }
    assert_eq!((ends, at), (1, stream.len()));
    (head.expect("a head"), body)
}

#[derive(Debug, Arbitrary)]
struct Input {
    request: ArbitraryRequest,
    packet: ArbitraryPacket,
    cut: u16,
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = Input::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    let request = &input.request;
    let wire = request.to_bytes();
    let Ok(Status::Complete((packet, consumed))) = Packet::parse(&wire, &Limits::new()) else {
        panic!("a generated request does not parse: {request:?}");
    };
    assert_eq!(&wire[consumed..], request.body());
    let parsed = Request::try_from(&packet).expect("a request");
    assert_eq!(parsed.vars(), request.vars());
    assert_eq!(parsed.content_length(), request.body().len() as u64);
    assert!(matches!(
        Message::try_from(&packet),
        Ok(Message::Request(_))
    ));
    let (head, body) = frame(&wire, usize::from(input.cut));
    assert_eq!((head, &body[..]), (consumed, request.body()));
    let again = VarsBuilder::from_vars(&parsed.vars(), Limits::new()).expect("re-encodes");
    assert_eq!(again.as_bytes(), request.vars().as_bytes());
    uwsgi_wire::cgi::request_from_vars(&uwsgi_wire::owned::OwnedVars::from_vars(&parsed.vars()))
        .expect("an http::Request");

    let any = &input.packet;
    let wire = any.to_bytes();
    let packet = any.packet();
    let len = packet.encoded_len();
    let mut encoded = vec![0u8; len];
    assert_eq!(packet.encode(&mut encoded), Ok(len));
    assert_eq!(encoded, wire[..len]);
    assert_eq!(&wire[len..], any.follows());
    if !any.is_reply() {
        let Ok(Status::Complete((parsed, consumed))) = Packet::parse(&wire, &Limits::new()) else {
            panic!("a generated packet does not parse: {any:?}");
        };
        assert_eq!((parsed, consumed), (packet, len));
        Message::try_from(&parsed).expect("types");
        let (head, body) = frame(&wire, usize::from(input.cut));
        assert_eq!((head, &body[..]), (len, any.follows()));
    }
});
