//! Proves the core parse path (and the slice encoders) never touch the heap, with a
//! global allocator that counts every allocation made on this thread.

use uwsgi_wire::exchange::{ClientExchange, Event, ExchangeError, Head, ServerExchange};
use uwsgi_wire::{encode_array, encode_vars, Limits, Packet, Status, Vars};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

/// An nginx-like request built before counting starts.
fn request() -> Vec<u8> {
    let pairs: Vec<(String, String)> = (0..40)
        .map(|i| (format!("HTTP_X_HEADER_{i}"), format!("value number {i}")))
        .chain([
            ("CONTENT_LENGTH".to_string(), "11".to_string()),
            ("HTTP_COOKIE".to_string(), "a=1".to_string()),
            ("HTTP_COOKIE".to_string(), "b=2".to_string()),
        ])
        .collect();
    let mut block = vec![0u8; 4096];
    let n = encode_vars(&pairs, &mut block).unwrap();
    let mut wire = vec![0, 0, 0, 0];
    wire[1..3].copy_from_slice(&u16::try_from(n).unwrap().to_le_bytes());
    wire.extend_from_slice(&block[..n]);
    wire.extend_from_slice(b"hello world");
    wire
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the proof below: if counting were broken, zero would mean nothing.
    let (_, n) = allocations(|| drop(std::hint::black_box(vec![1u8; 10])));
    assert_eq!(n, 1);
}

#[test]
fn parsing_never_allocates() {
    let wire = request();
    let (_, n) = allocations(|| {
        // Partial results on every prefix, then the whole packet and everything a
        // server does with it: iterate, look up (last, first and every duplicate),
        // content length.
        for end in 0..wire.len() {
            let _ = std::hint::black_box(Packet::parse(&wire[..end], &Limits::new()));
        }
        let Ok(Status::Complete((packet, consumed))) = Packet::parse(&wire, &Limits::new()) else {
            panic!("valid packet")
        };
        let vars = packet.vars().unwrap();
        let mut total = 0;
        for (k, v) in vars.iter() {
            total += k.len() + v.len();
        }
        std::hint::black_box(total);
        assert_eq!(vars.get(b"HTTP_X_HEADER_7"), Some(&b"value number 7"[..]));
        assert_eq!(vars.get(b"HTTP_COOKIE"), Some(&b"b=2"[..]));
        assert_eq!(vars.get_first(b"HTTP_COOKIE"), Some(&b"a=1"[..]));
        assert_eq!(vars.get_all(b"HTTP_COOKIE").count(), 2);
        assert_eq!(vars.get(b"MISSING"), None);
        assert_eq!(vars.content_length(), Ok(Some(11)));
        assert_eq!(&wire[consumed..], b"hello world");
        // Indexing a parsed view fills caller-provided slots; nothing else. The index's
        // lookups scan the slots.
        let mut slots = [uwsgi_wire::Var::default(); 64];
        let block = Vars::parse(&wire[4..consumed], &Limits::new()).unwrap();
        let index = block.index(&mut slots).unwrap();
        assert_eq!(
            index.get(b"HTTP_X_HEADER_39"),
            Some(&b"value number 39"[..])
        );
        assert_eq!(index.get(b"HTTP_COOKIE"), Some(&b"b=2"[..]));
        assert_eq!(index.get_first(b"HTTP_COOKIE"), Some(&b"a=1"[..]));
        assert_eq!(index.get_all(b"HTTP_COOKIE").count(), 2);
        assert_eq!(index.get(b"MISSING"), None);
        assert_eq!(index.vars().content_length(), Ok(Some(11)));
        let mut again = [uwsgi_wire::Var::default(); 64];
        let index = vars.index(&mut again).unwrap();
        assert_eq!(index.get_first(b"CONTENT_LENGTH"), Some(&b"11"[..]));
        // Errors are Copy values too.
        let err = Vars::parse(b"\x00\x00\x00", &Limits::new()).unwrap_err();
        std::hint::black_box(err);
    });
    assert_eq!(n, 0, "the parse path allocated");
}

#[test]
fn slice_encoding_never_allocates() {
    let mut buf = [0u8; 256];
    let (_, n) = allocations(|| {
        let len = encode_vars([("REQUEST_METHOD", "GET"), ("PATH_INFO", "/")], &mut buf).unwrap();
        std::hint::black_box(len);
        let len = encode_array(["hello", "a", ""], &mut buf).unwrap();
        std::hint::black_box(len);
    });
    assert_eq!(n, 0, "the slice encoders allocated");
}

/// Either side of the exchange core, its events seen as a client's (a server's heads are
/// packets).
trait Core {
    fn decode<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(Event<'a, Head<'a>>, usize)>, ExchangeError>;
    fn decode_eof<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Option<(Event<'a, Head<'a>>, usize)>, ExchangeError>;
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
}

/// Drives `exchange` (either side) over `wire` in pieces of `step` bytes (no copies: the
/// unconsumed bytes are a slice of `wire`), counting events and body bytes.
fn drive(exchange: &mut impl Core, wire: &[u8], step: usize) -> (usize, usize) {
    let (mut at, mut avail, mut events, mut body) = (0, step.min(wire.len()), 0, 0);
    loop {
        let buf = &wire[at..avail];
        let next = if avail == wire.len() {
            exchange.decode_eof(buf).unwrap().map(Status::Complete)
        } else {
            Some(exchange.decode(buf).unwrap())
        };
        match next {
            None => return (events, body),
            Some(Status::Partial { .. }) => avail = (avail + step).min(wire.len()),
            Some(Status::Complete((event, consumed))) => {
                events += 1;
                if let Event::Body(bytes) = event {
                    body += bytes.len();
                }
                at += consumed;
            }
        }
    }
}

#[test]
fn framing_exchanges_never_allocates() {
    use uwsgi_wire::exchange::Reply;
    use uwsgi_wire::{Limits, Modifier1};
    let read = |name: &str| {
        std::fs::read(format!(
            "{}/tests/vectors/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    // Captured from nginx 1.22 (a POST with its body) and uWSGI 2.0.21 (a cache set with
    // its value, a 70000-byte RPC result, an HTTP response), in every piece size.
    let requests = [
        request(),
        read("nginx-post.bin"),
        read("uwsgi-cache-set.bin"),
    ]
    .concat();
    let rpc = read("uwsgi-rpc-reply-big.bin");
    let http = read("uwsgi-http-reply-content-length.bin");
    for step in [1, 3, 64, usize::MAX] {
        let (seen, n) = allocations(|| {
            let mut server = ServerExchange::new(Limits::new());
            let server_side = drive(&mut server, &requests, step);
            let mut client = ClientExchange::new(Limits::new());
            client.expect(Reply::Packet(Modifier1::RPC));
            let rpc_reply = drive(&mut client, &rpc, step);
            let mut client = ClientExchange::new(Limits::new());
            client.expect(Reply::Response {
                head_request: false,
            });
            let http_reply = drive(&mut client, &http, step);
            (server_side, rpc_reply, http_reply)
        });
        assert_eq!(n, 0, "piece size {step}");
        // The work was done: 3 requests with bodies of 11, 11 and 40 bytes; the replies'
        // bodies of 70000 and 12 bytes.
        assert_eq!(seen.0 .1, 11 + 11 + 40, "piece size {step}");
        assert_eq!((seen.1 .1, seen.2 .1), (70000, 12), "piece size {step}");
    }
}
