//! The exchange core (`uwsgi_wire::exchange`) and the two adapters over it, on the
//! replies uWSGI 2.0.21 really sends and the requests real peers really send (captured by
//! tests/peers/capture.sh; origins in tests/vectors/README.md): whole, split at every
//! byte, fed byte by byte, with the same events each way. docs/PROTOCOL.md section 4
//! states the rules checked here.
#![cfg(all(feature = "tokio", feature = "std"))]

use std::io::{self, Read};

use bytes::BytesMut;
use tokio_util::codec::Decoder;
use uwsgi_wire::codec::{ClientCodec, Frame, ReplyHead, ServerCodec};
use uwsgi_wire::exchange::{
    BodyLength, ClientExchange, Event, ExchangeError, ExchangeErrorKind, Head, Reply,
    ServerExchange,
};
use uwsgi_wire::io::{ClientReader, IncomingReply, ServerReader, StreamError};
use uwsgi_wire::owned::OwnedPacket;
use uwsgi_wire::{Limits, Modifier1, Packet, Status};

#[path = "support/captures.rs"]
#[allow(dead_code)] // shared with the adapter tests, which use all of it
mod captures;
use captures::vector;

/// One exchange as seen by a reader: what its head was, and its whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    head: String,
    length: Option<BodyLength>,
    body: Vec<u8>,
}

/// A head, described the same way whichever adapter produced it.
fn describe(head: &Head<'_>) -> String {
    match head {
        Head::Packet(p) => format!(
            "packet {} {} {:?}",
            p.modifier1().0,
            p.modifier2(),
            p.payload().as_bytes()
        ),
        Head::Response(h) => format!("response {} {:?}", h.status(), h.as_bytes()),
        Head::Raw => "raw".to_string(),
    }
}

/// How a run ended: cleanly, or with this error kind at this stream offset.
type Ending = Result<(), (ExchangeErrorKind, u64)>;

fn ending(err: &ExchangeError) -> Ending {
    Err((err.kind(), err.offset()))
}

/// Either side of the core, its events seen as a client's (a server's heads are packets).
trait Core {
    fn decode<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(Event<'a, Head<'a>>, usize)>, ExchangeError>;
    fn decode_eof<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Option<(Event<'a, Head<'a>>, usize)>, ExchangeError>;
    /// The client side, which expects replies (`None`: a server).
    fn client(&mut self) -> Option<&mut ClientExchange>;
}

impl Core for ServerExchange {
    fn decode<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(Event<'a, Head<'a>>, usize)>, ExchangeError> {
        Ok(ServerExchange::decode(self, buf)?.map(|(event, n)| (event.into(), n)))
    }

    fn decode_eof<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Option<(Event<'a, Head<'a>>, usize)>, ExchangeError> {
        Ok(ServerExchange::decode_eof(self, buf)?.map(|(event, n)| (event.into(), n)))
    }

    fn client(&mut self) -> Option<&mut ClientExchange> {
        None
    }
}

impl Core for ClientExchange {
    fn decode<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(Event<'a, Head<'a>>, usize)>, ExchangeError> {
        ClientExchange::decode(self, buf)
    }

    fn decode_eof<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Option<(Event<'a, Head<'a>>, usize)>, ExchangeError> {
        ClientExchange::decode_eof(self, buf)
    }

    fn client(&mut self) -> Option<&mut ClientExchange> {
        Some(self)
    }
}

/// Drives the core over `wire` arriving in pieces that end at `cuts` (then the rest),
/// without copying: the unconsumed bytes are always a slice of `wire`. `replies` are
/// expected one after another (client side); empty means the server side.
fn core(wire: &[u8], cuts: &[usize], replies: &[Reply]) -> (Vec<Seen>, Ending) {
    if replies.is_empty() {
        core_side(ServerExchange::new(Limits::new()), wire, cuts, replies)
    } else {
        core_side(ClientExchange::new(Limits::new()), wire, cuts, replies)
    }
}

fn core_side(
    mut exchange: impl Core,
    wire: &[u8],
    cuts: &[usize],
    replies: &[Reply],
) -> (Vec<Seen>, Ending) {
    let mut replies = replies.iter().copied();
    if let Some(reply) = replies.next() {
        assert!(exchange.client().is_some_and(|c| c.expect(reply)));
    }
    let mut arrivals = cuts.iter().copied().chain([wire.len()]);
    let (mut at, mut avail) = (0, arrivals.next().unwrap_or(wire.len()));
    let mut seen: Vec<Seen> = Vec::new();
    loop {
        let buf = &wire[at..avail];
        let step = if avail == wire.len() {
            exchange
                .decode_eof(buf)
                .map(|event| event.map(Status::Complete))
        } else {
            exchange.decode(buf).map(Some)
        };
        let (event, consumed) = match step {
            Err(err) => return (seen, ending(&err)),
            Ok(None) => return (seen, Ok(())),
            Ok(Some(Status::Partial { .. })) => {
                avail = arrivals.next().unwrap_or(wire.len()).max(avail);
                continue;
            }
            Ok(Some(Status::Complete(done))) => done,
        };
        match event {
            Event::Head { head, body } => seen.push(Seen {
                head: describe(&head),
                length: Some(body),
                body: Vec::new(),
            }),
            Event::Body(bytes) => {
                assert!(!bytes.is_empty(), "an empty body event");
                seen.last_mut()
                    .expect("a head first")
                    .body
                    .extend_from_slice(bytes);
            }
            Event::End => {
                if let Some(reply) = replies.next() {
                    assert!(exchange.client().is_some_and(|c| c.expect(reply)));
                }
            }
        }
        at += consumed;
    }
}

/// A reader that hands out `wire` in pieces ending at `cuts`.
struct Pieces<'a> {
    wire: &'a [u8],
    ends: Vec<usize>,
    at: usize,
}

impl<'a> Pieces<'a> {
    fn new(wire: &'a [u8], cuts: &[usize]) -> Self {
        let mut ends: Vec<usize> = cuts.iter().copied().chain([wire.len()]).collect();
        ends.reverse();
        Pieces { wire, ends, at: 0 }
    }
}

impl Read for Pieces<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.ends.last().is_some_and(|&end| end <= self.at) && self.ends.len() > 1 {
            self.ends.pop();
        }
        let end = self.ends.last().copied().unwrap_or(self.wire.len());
        let n = (end - self.at).min(out.len());
        out[..n].copy_from_slice(&self.wire[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The exchange error inside a stream error.
fn exchange_error(err: &uwsgi_wire::io::StreamError) -> ExchangeError {
    match err {
        uwsgi_wire::io::StreamError::Exchange(e) => *e,
        other => panic!("not a framing error: {other:?}"),
    }
}

/// The same through the blocking adapter (client side only).
fn blocking(wire: &[u8], cuts: &[usize], replies: &[Reply]) -> (Vec<Seen>, Ending) {
    let mut reader = ClientReader::new(Pieces::new(wire, cuts), Limits::new());
    let mut seen = Vec::new();
    for &reply in replies {
        let IncomingReply { head, mut body } = match reader.read_reply(reply) {
            Ok(incoming) => incoming,
            Err(err) => return (seen, ending(&exchange_error(&err))),
        };
        let mut one = Seen {
            head: describe(&head),
            length: None,
            body: Vec::new(),
        };
        let read = body.read_to_end(&mut one.body);
        seen.push(one);
        if let Err(err) = read {
            let inner = err.into_inner().expect("a framing error inside");
            let err = inner.downcast::<ExchangeError>().expect("an ExchangeError");
            return (seen, ending(&err));
        }
    }
    (seen, Ok(()))
}

/// Either side's tokio codec, its frames seen as a client's (a server's heads are
/// packets).
trait Side: Decoder<Error = StreamError> {
    fn frame(item: Self::Item) -> Frame<ReplyHead>;
    /// The client codec, to tell the reply it expects; a server's has none.
    fn client(&mut self) -> Option<&mut ClientCodec>;
}

impl Side for ServerCodec {
    fn frame(item: Frame<OwnedPacket>) -> Frame<ReplyHead> {
        match item {
            Frame::Head(packet) => Frame::Head(ReplyHead::Packet(packet)),
            Frame::Body(bytes) => Frame::Body(bytes),
            Frame::End => Frame::End,
        }
    }

    fn client(&mut self) -> Option<&mut ClientCodec> {
        None
    }
}

impl Side for ClientCodec {
    fn frame(item: Frame<ReplyHead>) -> Frame<ReplyHead> {
        item
    }

    fn client(&mut self) -> Option<&mut ClientCodec> {
        Some(self)
    }
}

/// The same through the tokio codec, fed the pieces as reads would bring them.
fn codec(wire: &[u8], cuts: &[usize], replies: &[Reply]) -> (Vec<Seen>, Ending) {
    if replies.is_empty() {
        drive(ServerCodec::default(), wire, cuts, replies)
    } else {
        drive(ClientCodec::default(), wire, cuts, replies)
    }
}

fn drive<C: Side>(
    mut codec: C,
    wire: &[u8],
    cuts: &[usize],
    replies: &[Reply],
) -> (Vec<Seen>, Ending) {
    let mut replies = replies.iter().copied();
    // A raw reply has no head frame: its first body frame starts it.
    let mut raw_next = false;
    if let Some(reply) = replies.next() {
        raw_next = matches!(reply, Reply::Raw(_));
        assert!(codec.client().is_some_and(|c| c.expect(reply)));
    }
    let mut arrivals = cuts.iter().copied().chain([wire.len()]);
    let mut fed = 0;
    let mut buf = BytesMut::new();
    let mut seen: Vec<Seen> = Vec::new();
    loop {
        let eof = fed == wire.len();
        let frame = if eof {
            codec.decode_eof(&mut buf)
        } else {
            codec.decode(&mut buf)
        };
        let frame = match frame {
            Err(err) => return (seen, ending(&exchange_error(&err))),
            Ok(None) if eof => return (seen, Ok(())),
            Ok(None) => {
                let next = arrivals.next().unwrap_or(wire.len()).max(fed);
                buf.extend_from_slice(&wire[fed..next]);
                fed = next;
                continue;
            }
            Ok(Some(frame)) => C::frame(frame),
        };
        match frame {
            Frame::Head(ReplyHead::Packet(packet)) => seen.push(Seen {
                head: describe(&Head::Packet(packet.packet())),
                length: None,
                body: Vec::new(),
            }),
            Frame::Head(ReplyHead::Response(head)) => seen.push(Seen {
                head: describe(&Head::Response(head.head())),
                length: None,
                body: Vec::new(),
            }),
            Frame::Body(bytes) => {
                if raw_next {
                    seen.push(Seen {
                        head: "raw".into(),
                        length: None,
                        body: Vec::new(),
                    });
                    raw_next = false;
                }
                seen.last_mut()
                    .expect("a head first")
                    .body
                    .extend_from_slice(&bytes);
            }
            Frame::End => {
                if let Some(reply) = replies.next() {
                    raw_next = matches!(reply, Reply::Raw(_));
                    assert!(codec.client().is_some_and(|c| c.expect(reply)));
                }
            }
        }
    }
}

/// Drops the body lengths (only the core reports them) for comparing adapters.
fn without_lengths(seen: &[Seen]) -> Vec<Seen> {
    seen.iter()
        .cloned()
        .map(|mut s| {
            s.length = None;
            s
        })
        .collect()
}

/// Every split point (or every `stride`-th beyond the first 512 bytes, for the large
/// captures), and byte by byte, through the core and both adapters: always the same as
/// the whole input through the core.
fn same_everywhere(
    name: &str,
    wire: &[u8],
    replies: &[Reply],
    stride: usize,
) -> (Vec<Seen>, Ending) {
    let whole = core(wire, &[], replies);
    let plain = without_lengths(&whole.0);
    let splits = (1..wire.len()).filter(|&k| k < 512 || k % stride == 0);
    for k in splits {
        assert_eq!(
            core(wire, &[k], replies),
            whole,
            "{name}: core split at {k}"
        );
        if !replies.is_empty() {
            let (seen, end) = blocking(wire, &[k], replies);
            assert_eq!(
                (without_lengths(&seen), end),
                (plain.clone(), whole.1),
                "{name}: io split at {k}"
            );
        }
        let (seen, end) = codec(wire, &[k], replies);
        assert_eq!(
            (without_lengths(&seen), end),
            (plain.clone(), whole.1),
            "{name}: codec split at {k}"
        );
    }
    let bytewise: Vec<usize> = (1..wire.len()).collect();
    assert_eq!(
        core(wire, &bytewise, replies),
        whole,
        "{name}: core byte by byte"
    );
    if !replies.is_empty() {
        let (seen, end) = blocking(wire, &bytewise, replies);
        assert_eq!(
            (without_lengths(&seen), end),
            (plain.clone(), whole.1),
            "{name}: io byte by byte"
        );
    }
    let (seen, end) = codec(wire, &bytewise, replies);
    assert_eq!(
        (without_lengths(&seen), end),
        (plain, whole.1),
        "{name}: codec byte by byte"
    );
    whole
}

/// The packet a capture holds (a request sent by a real peer).
fn sent(name: &str) -> Vec<u8> {
    let wire = vector(name);
    let Ok(Status::Complete((_, n))) = Packet::parse(&wire, &Limits::new()) else {
        panic!("{name} is a packet")
    };
    wire[..n].to_vec()
}

#[test]
fn every_reply_uwsgi_sends_decodes_the_same_however_it_arrives() {
    let get = sent("nginx-get.bin");
    let (get, _) = Packet::parse(&get, &Limits::new())
        .unwrap()
        .complete()
        .unwrap();
    let http = Reply::to(&get);
    let pong = Reply::to(
        &Packet::parse(&vector("uwsgi-ping.bin"), &Limits::new())
            .unwrap()
            .complete()
            .unwrap()
            .0,
    );
    let signal = Reply::to(
        &Packet::parse(&vector("uwsgi-signal.bin"), &Limits::new())
            .unwrap()
            .complete()
            .unwrap()
            .0,
    );
    type Case = (
        &'static str,
        Reply,
        usize,
        &'static str,
        Option<BodyLength>,
        usize,
    );
    let cases: [Case; 8] = [
        // (capture, reply expected, split stride, head starts, announced body, body length)
        (
            "uwsgi-pong.bin",
            pong,
            1,
            "packet 100 1",
            Some(BodyLength::Exact(0)),
            0,
        ),
        (
            "uwsgi-signal-reply.bin",
            signal,
            1,
            "packet 255 1",
            Some(BodyLength::Exact(0)),
            0,
        ),
        (
            "uwsgi-rpc-reply.bin",
            Reply::Packet(Modifier1::RPC),
            1,
            "packet 173 0",
            Some(BodyLength::Exact(0)),
            0,
        ),
        (
            "uwsgi-rpc-reply-big.bin",
            Reply::Packet(Modifier1::RPC),
            97,
            "packet 173 5",
            Some(BodyLength::Exact(70000)),
            70000,
        ),
        (
            "uwsgi-cache-get-reply.bin",
            Reply::Packet(Modifier1::CACHE),
            1,
            "packet 111 17",
            Some(BodyLength::Exact(40)),
            40,
        ),
        (
            "uwsgi-http-reply.bin",
            http,
            1,
            "response 200",
            Some(BodyLength::ToEof),
            2,
        ),
        (
            "uwsgi-http-reply-content-length.bin",
            http,
            1,
            "response 200",
            Some(BodyLength::Exact(12)),
            12,
        ),
        (
            "uwsgi-http-reply-1mib.bin",
            http,
            4099,
            "response 200",
            Some(BodyLength::Exact(1 << 20)),
            1 << 20,
        ),
    ];
    for (name, reply, stride, head, length, body_len) in cases {
        let wire = vector(name);
        let (seen, end) = same_everywhere(name, &wire, &[reply], stride);
        assert_eq!(end, Ok(()), "{name}");
        assert_eq!(seen.len(), 1, "{name}: one reply");
        assert!(seen[0].head.starts_with(head), "{name}: {}", seen[0].head);
        assert_eq!(seen[0].length, length, "{name}");
        assert_eq!(seen[0].body.len(), body_len, "{name}");
        assert_eq!(
            seen[0].body,
            wire[wire.len() - body_len..],
            "{name}: the body is the last bytes"
        );
    }
}

#[test]
fn the_cache_get_value_and_the_large_rpc_result_are_bodies() {
    // Captured from uWSGI 2.0.21: `status=ok size=40 expires=...`, then the 40 value bytes.
    let (seen, end) = core(
        &vector("uwsgi-cache-get-reply.bin"),
        &[],
        &[Reply::Packet(Modifier1::CACHE)],
    );
    assert_eq!(end, Ok(()));
    assert_eq!(seen[0].body, b"uwsgi-wire cache value: 0123456789abcdef");
    // A raw RPC reply (modifier2 1) has no header at all: raw bytes to the end.
    let (seen, end) = same_everywhere(
        "uwsgi-rpc-reply-raw.bin",
        &vector("uwsgi-rpc-reply-raw.bin"),
        &[Reply::Raw(BodyLength::ToEof)],
        1,
    );
    assert_eq!(end, Ok(()));
    assert_eq!(
        (seen[0].head.as_str(), &seen[0].body[..]),
        ("raw", &b"HI:x"[..])
    );
    // The echo reply is the payload sent, raw.
    let (seen, _) = same_everywhere(
        "uwsgi-echo-reply.bin",
        &vector("uwsgi-echo-reply.bin"),
        &[Reply::Raw(BodyLength::Exact(12))],
        1,
    );
    assert_eq!(seen[0].body, b"echo-payload");
}

#[test]
fn a_cache_set_carries_its_value_as_the_body_on_the_server_side() {
    // uWSGI 2.0.21's own client: `cmd=set ... size=40 ... size=40`, then the 40 value
    // bytes; a ping from `uwsgi --ping` pipelined after it must parse as the next packet.
    let set = vector("uwsgi-cache-set.bin");
    let wire = [&set[..], &vector("uwsgi-ping.bin")[..]].concat();
    let (seen, end) = same_everywhere("cache set + ping", &wire, &[], 1);
    assert_eq!(end, Ok(()));
    assert_eq!(seen.len(), 2);
    assert!(seen[0].head.starts_with("packet 111 17"));
    assert_eq!(seen[0].length, Some(BodyLength::Exact(40)));
    assert_eq!(seen[0].body, &set[set.len() - 40..]);
    assert!(seen[1].head.starts_with("packet 100 0"), "{}", seen[1].head);

    // The blocking adapter hands out the same value as the body.
    let mut reader = ServerReader::new(&wire[..], Limits::new());
    let mut incoming = reader.read_packet().unwrap().unwrap();
    let mut value = Vec::new();
    incoming.body.read_to_end(&mut value).unwrap();
    assert_eq!(value, b"uwsgi-wire cache value: 0123456789abcdef");
    let ping = reader.read_packet().unwrap().unwrap();
    assert_eq!(ping.packet.modifier1(), Modifier1::PING);
    assert!(reader.read_packet().unwrap().is_none());
}

#[test]
fn replies_of_the_wrong_kind_or_cut_short_are_typed_errors() {
    // A pong where a signal reply was expected: refused at its first byte.
    let (_, end) = core(
        &vector("uwsgi-pong.bin"),
        &[],
        &[Reply::Packet(Modifier1::RESPONSE)],
    );
    assert!(
        matches!(end, Err((ExchangeErrorKind::UnexpectedReply { .. }, 0))),
        "{end:?}"
    );
    // uWSGI closes without a reply on a cache miss (tests/vectors/README.md findings).
    let (_, end) = core(b"", &[], &[Reply::Packet(Modifier1::CACHE)]);
    assert_eq!(end, Err((ExchangeErrorKind::NoReply, 0)));
    // A 1 MiB response cut 10 bytes short: the body error names what is missing.
    let wire = vector("uwsgi-http-reply-1mib.bin");
    let cut = &wire[..wire.len() - 10];
    let http = Reply::Response {
        head_request: false,
    };
    let (_, end) = core(cut, &[], &[http]);
    assert_eq!(
        end,
        Err((
            ExchangeErrorKind::EofInBody { remaining: 10 },
            cut.len() as u64
        ))
    );
    let (_, io_end) = blocking(cut, &[], &[http]);
    assert_eq!(io_end, end);
    let (_, codec_end) = codec(cut, &[], &[http]);
    assert_eq!(codec_end, end);
    // More bytes than Content-Length announced: refused where the extra bytes start.
    let wire = [&vector("uwsgi-http-reply-content-length.bin")[..], b"extra"].concat();
    let (_, end) = core(&wire, &[], &[http]);
    assert_eq!(end, Err((ExchangeErrorKind::UnexpectedData, 77)));
    // A body to the end of the stream over max_body is refused at the first byte over.
    let mut client = ClientExchange::new(Limits::new().max_body(1));
    client.expect(http);
    let reply = vector("uwsgi-http-reply.bin");
    let Some((Event::Head { .. }, n)) = client.decode_eof(&reply).unwrap() else {
        panic!()
    };
    let err = client.decode_eof(&reply[n..]).unwrap_err();
    assert_eq!(
        err.kind(),
        ExchangeErrorKind::BodyTooLarge {
            length: 2,
            limit: 1
        }
    );
    assert_eq!(err.offset(), n as u64 + 1);
}

#[test]
fn a_head_request_gets_no_body_whatever_the_head_says() {
    // uWSGI's reply with Content-Length: 12 (captured), but to a HEAD request.
    let wire = vector("uwsgi-http-reply-content-length.bin");
    let head_len = wire.len() - 12;
    let (seen, end) = core(
        &wire[..head_len],
        &[],
        &[Reply::Response { head_request: true }],
    );
    assert_eq!(end, Ok(()));
    assert_eq!(seen[0].length, Some(BodyLength::Exact(0)));
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use uwsgi_wire::{Payload, VarsBuilder};

    /// One exchange a server can receive, encoded, with the body its kind frames.
    fn server_exchange() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            // A request with a CONTENT_LENGTH body (derived from nginx's framing).
            (
                proptest::collection::vec(any::<u8>(), 0..300),
                any::<bool>()
            )
                .prop_map(|(body, empty_cl)| {
                    let mut vars = VarsBuilder::default();
                    vars.push("REQUEST_METHOD", "POST").unwrap();
                    let len = body.len().to_string();
                    vars.push(
                        "CONTENT_LENGTH",
                        if body.is_empty() && empty_cl {
                            ""
                        } else {
                            &len
                        },
                    )
                    .unwrap();
                    let packet =
                        Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars())).unwrap();
                    let mut out = Vec::new();
                    uwsgi_wire::io::write_request(&mut out, &packet, &body).unwrap();
                    out
                }),
            // A magic cache set with its value (uWSGI's client framing, tests/vectors).
            proptest::collection::vec(any::<u8>(), 0..200).prop_map(|value| {
                let mut vars = VarsBuilder::default();
                let size = value.len().to_string();
                vars.push("cmd", "set")
                    .unwrap()
                    .push("key", "k")
                    .unwrap()
                    .push("size", &size)
                    .unwrap();
                let packet = Packet::new(Modifier1::CACHE, 17, Payload::Vars(vars.vars())).unwrap();
                let mut out = Vec::new();
                uwsgi_wire::io::write_request(&mut out, &packet, &value).unwrap();
                out
            }),
            // Packets with nothing after them: ping, signal, echo with a payload.
            Just(vec![0x64, 0, 0, 0]),
            any::<u8>().prop_map(|n| vec![0x6e, 0, 0, n]),
            proptest::collection::vec(any::<u8>(), 0..50).prop_map(|payload| {
                let mut out = vec![0x65, payload.len() as u8, 0, 0];
                out.extend_from_slice(&payload);
                out
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// For any sequence of exchanges, the events are the same whatever the split of
        /// the stream (and a stream cut anywhere fails the same way too).
        #[test]
        fn server_events_do_not_depend_on_the_split(
            exchanges in proptest::collection::vec(server_exchange(), 1..6),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
            truncate in any::<Option<prop::sample::Index>>(),
        ) {
            let mut wire = exchanges.concat();
            if let Some(at) = truncate {
                wire.truncate(at.index(wire.len()));
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(wire.len().max(1))).collect();
            cuts.sort_unstable();
            let whole = core(&wire, &[], &[]);
            if truncate.is_none() {
                prop_assert_eq!(&whole.1, &Ok(()));
                prop_assert_eq!(whole.0.len(), exchanges.len());
            }
            prop_assert_eq!(&core(&wire, &cuts, &[]), &whole);
            let (seen, end) = codec(&wire, &cuts, &[]);
            prop_assert_eq!((without_lengths(&seen), end), (without_lengths(&whole.0), whole.1));
        }

        /// The same for a client reading a sequence of uwsgi-framed replies and
        /// Content-Length responses, optionally ending with one that runs to the end.
        #[test]
        fn client_events_do_not_depend_on_the_split(
            bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..5),
            to_eof in any::<bool>(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let mut wire = Vec::new();
            let mut replies = Vec::new();
            for (i, body) in bodies.iter().enumerate() {
                let last = i + 1 == bodies.len();
                if i % 2 == 0 {
                    let length = if last && to_eof { String::new() } else { format!("Content-Length: {}\r\n", body.len()) };
                    wire.extend_from_slice(format!("HTTP/1.1 200 OK\r\n{length}\r\n").as_bytes());
                    wire.extend_from_slice(body);
                    replies.push(Reply::Response { head_request: false });
                } else {
                    // A cache get hit as uWSGI frames it: status, size, then the value.
                    let mut vars = VarsBuilder::default();
                    let size = body.len().to_string();
                    vars.push("status", "ok").unwrap().push("size", &size).unwrap();
                    let packet = Packet::new(Modifier1::CACHE, 17, Payload::Vars(vars.vars())).unwrap();
                    uwsgi_wire::io::write_packet(&mut wire, &packet).unwrap();
                    wire.extend_from_slice(body);
                    replies.push(Reply::Packet(Modifier1::CACHE));
                }
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(wire.len())).collect();
            cuts.sort_unstable();
            let whole = core(&wire, &[], &replies);
            prop_assert_eq!(&whole.1, &Ok(()));
            prop_assert_eq!(whole.0.len(), bodies.len());
            for (seen, body) in whole.0.iter().zip(&bodies) {
                prop_assert_eq!(&seen.body, body);
            }
            prop_assert_eq!(&core(&wire, &cuts, &replies), &whole);
            let plain = (without_lengths(&whole.0), whole.1);
            prop_assert_eq!(&{ let (s, e) = blocking(&wire, &cuts, &replies); (without_lengths(&s), e) }, &plain);
            prop_assert_eq!(&{ let (s, e) = codec(&wire, &cuts, &replies); (without_lengths(&s), e) }, &plain);
        }
    }
}
