//! Typed messages against packets captured from the real peers (tests/vectors/, origins
//! in tests/vectors/README.md) and bytes observed from uWSGI 2.0.21.

use std::fs;
use std::path::Path;

use uwsgi_wire::exchange::{ClientExchange, Event, Head, Reply};
use uwsgi_wire::{
    message::CacheCommand, message::CacheReply, message::CacheRequest, message::GenericResponse,
    message::Message, message::Ping, message::Pong, message::Request, message::RpcCall,
    message::RpcReply, message::Signal, message::Subscription, message::SubscriptionBuilder,
    ArrayBuilder, BlockKind, Limits, Modifier1, Packet, Payload, Status,
};

fn vector(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses a whole packet in the request direction; returns it and the bytes after it.
fn packet(wire: &[u8]) -> (Packet<'_>, &[u8]) {
    let Status::Complete((packet, consumed)) = Packet::parse(wire, &Limits::new()).expect("valid")
    else {
        panic!("incomplete")
    };
    (packet, &wire[consumed..])
}

/// Reads an RPC reply from the start of `wire` as a client does: the packet with its
/// block raw, then typed; `consumed` covers the packet only.
fn rpc_reply(wire: &[u8]) -> Result<Status<(RpcReply<'_>, usize)>, uwsgi_wire::ParseError> {
    Ok(
        match Packet::parse_as(wire, BlockKind::Raw, &Limits::new())? {
            Status::Complete((packet, consumed)) => {
                Status::Complete((RpcReply::try_from(&packet)?, consumed))
            }
            Status::Partial { needed } => Status::Partial { needed },
        },
    )
}

/// Encodes a packet with the builder-made block and compares it with the capture.
fn encode(packet: &Packet<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    packet.encode_to(&mut out).unwrap();
    out
}

#[test]
fn every_front_end_request_is_a_request() {
    // curl 'http://127.0.0.1:P/path/x?a=1&b=2' through each front end.
    for name in [
        "nginx-get.bin",
        "apache-get.bin",
        "lighttpd-get.bin",
        "uwsgi-router-get.bin",
    ] {
        let wire = vector(name);
        let (p, body) = packet(&wire);
        let Message::Request(req) = Message::try_from(&p).unwrap() else {
            panic!("{name} is not a request")
        };
        // The CGI vars, raw, as the front end sent them.
        let var = |key: &[u8]| req.vars().get(key);
        assert_eq!(var(b"REQUEST_METHOD"), Some(&b"GET"[..]), "{name}");
        assert_eq!(var(b"REQUEST_URI"), Some(&b"/path/x?a=1&b=2"[..]), "{name}");
        // lighttpd (mod_scgi mounted at "/") splits the path at the first segment:
        // SCRIPT_NAME=/path, PATH_INFO=/x. The others send PATH_INFO=/path/x.
        let script_name = var(b"SCRIPT_NAME").unwrap_or(b"");
        let full_path = [script_name, var(b"PATH_INFO").unwrap()].concat();
        assert_eq!(full_path, b"/path/x", "{name}");
        assert_eq!(var(b"QUERY_STRING"), Some(&b"a=1&b=2"[..]), "{name}");
        assert_eq!(var(b"SERVER_PROTOCOL"), Some(&b"HTTP/1.1"[..]), "{name}");
        assert_eq!(req.scheme(), b"http", "{name}");
        assert_eq!(req.content_length(), 0, "{name}");
        assert!(body.is_empty(), "{name}");
        assert_eq!(
            req.vars().get(b"HTTP_USER_AGENT"),
            Some(&b"uwsgi-wire-capture"[..])
        );
        assert_eq!(
            encode(&Packet::try_from(&req).unwrap()),
            wire,
            "{name} re-encodes"
        );
    }
}

#[test]
fn posts_carry_their_body_after_the_packet() {
    // curl -d 'hello=world' .../post through each front end.
    for name in [
        "nginx-post.bin",
        "apache-post.bin",
        "lighttpd-post.bin",
        "uwsgi-router-post.bin",
    ] {
        let wire = vector(name);
        let (p, body) = packet(&wire);
        let req = Request::try_from(&p).unwrap();
        assert_eq!(
            req.vars().get(b"REQUEST_METHOD"),
            Some(&b"POST"[..]),
            "{name}"
        );
        assert_eq!(req.content_length(), 11, "{name}");
        assert_eq!(body, b"hello=world", "{name}");
        assert_eq!(
            req.vars().get(b"CONTENT_TYPE"),
            Some(&b"application/x-www-form-urlencoded"[..]),
            "{name}"
        );
    }
}

#[test]
fn nginx_modifiers_and_empty_last_value() {
    // nginx with `uwsgi_modifier1 5; uwsgi_modifier2 9;` and `uwsgi_param EMPTY_LAST "";`
    // last, with request headers off: the block ends on an empty value.
    let wire = vector("nginx-modifiers.bin");
    let (p, _) = packet(&wire);
    let req = Request::try_from(&p).unwrap();
    assert_eq!((req.modifier1(), req.modifier2()), (Modifier1::PSGI, 9));
    assert_eq!(
        req.vars().iter().last(),
        Some((&b"EMPTY_LAST"[..], &b""[..]))
    );
    assert_eq!(
        req.vars().get_all(b"X_DUP").collect::<Vec<_>>(),
        [&b"a"[..], b"b"]
    );
}

#[test]
fn duplicate_headers_per_front_end() {
    // Cookie: a=1, X-Dup: one, Cookie: b=2, X-Dup: two, X_Under: kept.
    let cookies = |name: &str| {
        let wire = vector(name);
        let (p, _) = packet(&wire);
        let vars = p.vars().unwrap();
        vars.get_all(b"HTTP_COOKIE")
            .map(<[u8]>::to_vec)
            .collect::<Vec<_>>()
    };
    // nginx 1.22: one var per header line; the last wins in `get`.
    assert_eq!(
        cookies("nginx-dup-headers.bin"),
        [b"a=1".to_vec(), b"b=2".to_vec()]
    );
    // Apache and the router merge with ", ", lighttpd joins Cookie with "; ".
    assert_eq!(cookies("apache-dup-headers.bin"), [b"a=1, b=2".to_vec()]);
    assert_eq!(
        cookies("uwsgi-router-dup-headers.bin"),
        [b"a=1, b=2".to_vec()]
    );
    assert_eq!(cookies("lighttpd-dup-headers.bin"), [b"a=1; b=2".to_vec()]);
}

#[test]
fn chunked_bodies() {
    // nginx de-chunks, sets CONTENT_LENGTH=32 and still forwards the header.
    let wire = vector("nginx-chunked.bin");
    let (p, body) = packet(&wire);
    let req = Request::try_from(&p).unwrap();
    assert_eq!(req.content_length(), 32);
    assert_eq!(body, b"chunk-one;chunk-two;chunk-three\n");
    assert_eq!(
        req.vars().get(b"HTTP_TRANSFER_ENCODING"),
        Some(&b"chunked"[..])
    );
    // The uWSGI router with --http-chunked-input sends no CONTENT_LENGTH and the raw
    // chunked stream after the block: the request says 0, and the stream is the caller's.
    let wire = vector("uwsgi-router-chunked-input.bin");
    let (p, rest) = packet(&wire);
    let req = Request::try_from(&p).unwrap();
    assert_eq!(req.content_length(), 0);
    assert!(rest.ends_with(b"0\r\n\r\n"), "raw chunked stream follows");
}

#[test]
fn the_largest_nginx_block() {
    let wire = vector("nginx-large-header.bin");
    let (p, _) = packet(&wire);
    assert_eq!(p.header().datasize, 65535);
    let req = Request::try_from(&p).unwrap();
    assert_eq!(req.vars().get(b"HTTP_X_BIG").map(<[u8]>::len), Some(65166));
    // uWSGI's default buffer-size would refuse it from the header alone.
    let err = Packet::parse(&wire, &Limits::new().max_datasize(4096)).unwrap_err();
    assert_eq!(err.offset(), 1);
}

#[test]
fn ping_pong_and_signal() {
    // uwsgi --ping and uwsgi --signal ADDR,17 (uWSGI 2.0.21), and uWSGI's answers.
    let ping = vector("uwsgi-ping.bin");
    assert!(matches!(
        Message::try_from(&packet(&ping).0),
        Ok(Message::Ping(_))
    ));
    let pong = vector("uwsgi-pong.bin");
    assert_eq!(Pong::try_from(&packet(&pong).0).unwrap(), Pong::default());
    assert_eq!(encode(&Packet::try_from(&Pong::default()).unwrap()), pong);

    let signal = vector("uwsgi-signal.bin");
    assert_eq!(
        Signal::try_from(&packet(&signal).0).unwrap(),
        Signal::new(17)
    );
    assert_eq!(encode(&Packet::from(&Signal::new(17))), signal);
    for reply in [
        "uwsgi-signal-reply.bin",
        "uwsgi-signal-reply-unregistered.bin",
    ] {
        let wire = vector(reply);
        let r = GenericResponse::try_from(&packet(&wire).0).unwrap();
        assert!(
            r.is_ok(),
            "uWSGI answers `ff 00 00 01` even without a handler"
        );
        assert_eq!(
            encode(&Packet::try_from(&GenericResponse::OK).unwrap()),
            wire
        );
    }
}

#[test]
fn rpc_call_and_replies() {
    // uwsgi.rpc(b'ADDR', b'hello', b'a', b'', b'b') from uWSGI 2.0.21.
    let wire = vector("uwsgi-rpc-call.bin");
    let (p, _) = packet(&wire);
    let call = RpcCall::try_from(&p).unwrap();
    assert_eq!(call.function(), b"hello");
    assert_eq!(call.args().collect::<Vec<_>>(), [&b"a"[..], b"", b"b"]);
    let mut items = ArrayBuilder::default();
    items
        .push("hello")
        .unwrap()
        .push("a")
        .unwrap()
        .push("")
        .unwrap()
        .push("b")
        .unwrap();
    let built = RpcCall::new(items.array(), RpcCall::UWSGI_REPLY).unwrap();
    assert_eq!(encode(&Packet::try_from(&built).unwrap()), wire);

    // Replies from a uWSGI server whose hello(arg) returns b'HI:' + arg.
    let reply = vector("uwsgi-rpc-reply.bin");
    assert_eq!(
        rpc_reply(&reply).unwrap(),
        Status::Complete((RpcReply::Result(b"HI:x"), reply.len()))
    );
    // modifier2 1 asks for the raw result: no header at all.
    assert_eq!(vector("uwsgi-rpc-reply-raw.bin"), b"HI:x");
    // A 70000-byte result comes in the large form.
    let big = vector("uwsgi-rpc-reply-big.bin");
    let Status::Complete((RpcReply::Large { len }, consumed)) = rpc_reply(&big).unwrap() else {
        panic!("large form expected")
    };
    assert_eq!((len, big.len() - consumed), (70000, 70000));
    assert!(big[consumed..].iter().all(|&b| b == b'B'));
    // Every split of the reply is Partial until the packet is whole.
    for end in 0..consumed {
        assert!(rpc_reply(&big[..end]).unwrap().is_partial());
    }
}

#[test]
fn subscriptions_encode_byte_for_byte() {
    // uwsgi --socket 127.0.0.1:Q --subscribe-to 127.0.0.1:U:example.com (uWSGI 2.0.21):
    // the subscribe datagram at start-up and the unsubscribe one at SIGINT.
    for (name, subscribe) in [
        ("uwsgi-subscribe.bin", true),
        ("uwsgi-unsubscribe.bin", false),
    ] {
        let wire = vector(name);
        let (p, _) = packet(&wire);
        let sub = Subscription::try_from(&p).unwrap();
        assert_eq!(sub.is_subscribe(), subscribe);
        assert_eq!(sub.key(), b"example.com");
        assert!(sub.address().starts_with(b"127.0.0.1:"));
        assert_eq!(
            (
                sub.modifier1(),
                sub.modifier2(),
                sub.cores(),
                sub.load(),
                sub.weight()
            ),
            (0, 0, 1, 0, 0)
        );
        assert_eq!(sub.vars().get(b"sign"), None);
        assert_eq!(sub.signed_bytes(), p.payload().as_bytes());
        let vars = SubscriptionBuilder::new(b"example.com", sub.address())
            .cores(1)
            .build()
            .unwrap();
        let rebuilt = Packet::new(
            Modifier1::SUBSCRIPTION,
            u8::from(!subscribe),
            Payload::Vars(vars.vars()),
        )
        .unwrap();
        assert_eq!(encode(&rebuilt), wire, "{name}");
    }
}

#[test]
fn subscription_sign_must_be_last() {
    // uWSGI's server computes the signed prefix as everything before a final `sign`.
    let vars = SubscriptionBuilder::new(b"k", b"127.0.0.1:1")
        .unix(1_700_000_000)
        .build()
        .unwrap();
    let mut signed = vars.clone();
    signed.push("sign", [1, 2, 3]).unwrap();
    let sub = Subscription::new(signed.vars(), 0).unwrap();
    assert_eq!(sub.signed_bytes(), vars.as_bytes());
    assert_eq!(sub.unix(), Some(1_700_000_000));
    let mut misplaced = signed.clone();
    misplaced.push("notify", "x").unwrap();
    let err = Subscription::new(misplaced.vars(), 0).unwrap_err();
    assert_eq!(
        err.kind(),
        uwsgi_wire::ParseErrorKind::InvalidVar { key: "sign" }
    );
}

#[test]
fn cache_magic_matches_uwsgi_bytes() {
    // Observed from uWSGI 2.0.21: uwsgi.cache_set('k', 'vv', 30, '@127.0.0.1:4000').
    let observed =
        b"\x6f\x3a\x00\x11\x03\x00cmd\x03\x00set\x03\x00key\x01\x00k\x04\x00size\x01\x002\
\x07\x00expires\x02\x0030\x04\x00size\x01\x002\x05\x00cache\x00\x00vv";
    let vars = CacheRequest::build(CacheCommand::Set, b"k", 2, 30, Some(b"")).unwrap();
    let req = CacheRequest::new(vars.vars()).unwrap();
    let mut wire = encode(&Packet::try_from(&req).unwrap());
    wire.extend_from_slice(b"vv");
    assert_eq!(wire, observed);
    let (p, rest) = packet(observed);
    let parsed = CacheRequest::try_from(&p).unwrap();
    assert_eq!(
        (parsed.command(), parsed.key(), parsed.value_len()),
        (CacheCommand::Set, &b"k"[..], 2)
    );
    assert_eq!(rest, b"vv");

    // Observed: cmd=clear, cache=c.
    let clear = CacheRequest::build(CacheCommand::Clear, b"", 0, 0, Some(b"c")).unwrap();
    let wire = encode(&Packet::try_from(&CacheRequest::new(clear.vars()).unwrap()).unwrap());
    assert_eq!(&wire[..4], &[0x6f, 0x16, 0x00, 0x11]);

    // Observed get hit: status=ok, size=5, expires=1795392550, then the value.
    let hit = b"\x6f\x2a\x00\x11\x06\x00status\x02\x00ok\x04\x00size\x01\x005\
\x07\x00expires\x0a\x001795392550hello";
    let built = CacheReply::build(Some((5, 1795392550))).unwrap();
    let mut wire = encode(&Packet::try_from(&CacheReply::new(built.vars()).unwrap()).unwrap());
    wire.extend_from_slice(b"hello");
    assert_eq!(wire, hit);
    // Observed set/del/exists success: status=ok only.
    let ok = encode(
        &Packet::try_from(&CacheReply::new(CacheReply::build(None).unwrap().vars()).unwrap())
            .unwrap(),
    );
    assert_eq!(ok, b"\x6f\x0c\x00\x11\x06\x00status\x02\x00ok");
}

#[test]
fn cache_requests_are_checked() {
    use uwsgi_wire::ParseErrorKind;
    let check = |pairs: &[(&str, &str)]| {
        let mut v = uwsgi_wire::VarsBuilder::default();
        for (k, val) in pairs {
            v.push(k, val).unwrap();
        }
        CacheRequest::new(v.vars())
            .map(|r| r.value_len())
            .map_err(|e| e.kind())
    };
    assert_eq!(
        check(&[("key", "k")]),
        Err(ParseErrorKind::MissingVar { key: "cmd" })
    );
    assert_eq!(
        check(&[("cmd", "GET"), ("key", "k")]),
        Err(ParseErrorKind::InvalidVar { key: "cmd" })
    );
    assert_eq!(
        check(&[("cmd", "get")]),
        Err(ParseErrorKind::MissingVar { key: "key" })
    );
    assert_eq!(
        check(&[("cmd", "set"), ("key", "k"), ("size", "2"), ("size", "3")]),
        Err(ParseErrorKind::InvalidVar { key: "size" })
    );
    assert_eq!(
        check(&[("cmd", "set"), ("key", "k"), ("size", "-1")]),
        Err(ParseErrorKind::InvalidVar { key: "size" })
    );
    assert_eq!(check(&[("cmd", "clear")]), Ok(0));
    assert_eq!(check(&[("cmd", "get"), ("key", "k"), ("size", "9")]), Ok(0));
}

#[test]
fn reply_framing_on_real_replies() {
    // The WSGI app's answer through uWSGI is raw HTTP; ping's is a uwsgi packet. A client
    // knows which from what it sent (`Reply::to`), and the exchange reads each so.
    let get = vector("nginx-get.bin");
    let http = vector("uwsgi-http-reply.bin");
    let mut client = ClientExchange::new(Limits::new());
    assert!(client.expect(Reply::to(&packet(&get).0)));
    assert!(matches!(
        client.decode(&http).unwrap(),
        Status::Complete((
            Event::Head {
                head: Head::Response(_),
                ..
            },
            _
        ))
    ));
    // Read as a uwsgi header it would be modifier1 72 announcing 0x5454 bytes: a parser
    // that does not check the format first would wait for bytes that never come.
    let Status::Complete(h) = uwsgi_wire::Header::parse(&http) else {
        panic!("a whole header")
    };
    assert_eq!((h.modifier1, h.datasize), (Modifier1::RAW_HTTP, 0x5454));
    assert_eq!(
        Packet::parse_as(&http, BlockKind::Raw, &Limits::new()).unwrap(),
        Status::Partial {
            needed: 4 + 0x5454 - http.len()
        }
    );
    let pong = vector("uwsgi-pong.bin");
    let mut client = ClientExchange::new(Limits::new());
    assert!(client.expect(Reply::to(&Packet::from(&Ping))));
    assert!(matches!(
        client.decode(&pong).unwrap(),
        Status::Complete((
            Event::Head {
                head: Head::Packet(p),
                ..
            },
            4
        )) if p.modifier1() == Modifier1::PING
    ));
}

#[test]
fn rpc_replies_encode_like_uwsgi() {
    // Captured from uWSGI 2.0.21: the result "HI:x" and a 70000-byte result.
    let reply = vector("uwsgi-rpc-reply.bin");
    let mut buf = vec![0u8; 64];
    let n = RpcReply::for_result(b"HI:x").encode(&mut buf).unwrap();
    assert_eq!(&buf[..n], reply);

    let big = vector("uwsgi-rpc-reply-big.bin");
    let result = vec![b'B'; 70000];
    let large = RpcReply::for_result(&result);
    assert_eq!(large, RpcReply::Large { len: 70000 });
    let n = large.encode(&mut buf).unwrap();
    assert_eq!(n, large.encoded_len());
    assert_eq!([&buf[..n], &result[..]].concat(), big);

    // A result over 65535 bytes never goes out in the small form.
    assert_eq!(
        RpcReply::Result(&result).encode(&mut buf),
        Err(uwsgi_wire::EncodeError::BlockTooLarge {
            len: 70000,
            limit: 65535
        })
    );
    assert!(matches!(
        RpcReply::Large { len: 70000 }.encode(&mut [0u8; 10]),
        Err(uwsgi_wire::EncodeError::BufferTooSmall {
            needed: 27,
            available: 10
        })
    ));
}

#[test]
fn subscription_address_must_be_1_to_255_bytes() {
    // uWSGI 2.0's subscription server drops a node whose address is empty or over 255
    // bytes (`address_len > 0xff || address_len == 0`, core/subscription.c).
    use uwsgi_wire::{ParseErrorKind, VarsBuilder};
    for (address, ok) in [
        (&b""[..], false),
        (&[b'a'; 255][..], true),
        (&[b'a'; 256][..], false),
    ] {
        let mut v = VarsBuilder::default();
        v.push("key", "example.com")
            .unwrap()
            .push("address", address)
            .unwrap();
        let got = Subscription::new(v.vars(), 0).map(|s| s.address().len());
        match ok {
            true => assert_eq!(got, Ok(address.len())),
            false => {
                let err = got.unwrap_err();
                assert_eq!(err.kind(), ParseErrorKind::InvalidVar { key: "address" });
                assert_eq!(err.offset(), 2 + 3 + 2 + 11 + 2 + 7 + 2);
            }
        }
    }
}
