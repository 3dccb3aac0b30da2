//! Part 2, our encoder -> real uWSGI: packets built with the crate's encoders against the
//! uWSGI 2.0 app server of [`UwsgiApp`], replies decoded with the crate's typed messages.

use std::collections::BTreeSet;
use std::fs;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use uwsgi_wire::exchange::{ClientExchange, Event, Head, Reply as Expected};
use uwsgi_wire::{
    message::CacheCommand, message::CacheReply, message::CacheRequest, message::Echo,
    message::GenericResponse, message::Message, message::Ping, message::Pong, message::Request,
    message::RpcCall, message::RpcReply, message::Signal, message::SpoolerRequest, ArrayBuilder,
    BlockKind, Limits, Modifier1, Packet, Payload, Status, VarsBuilder,
};

use crate::client::pattern;
use crate::harness::{poll, require, TempDir, UWSGI_APP};
use crate::uwsgi_app::{app_echo, Reply, UwsgiApp};

/// Encodes a packet into a `Vec`.
fn wire(packet: &Packet<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    packet.encode_to(&mut out).expect("encodes");
    out
}

/// Parses a uwsgi reply packet (block read raw) that must be the whole reply.
#[track_caller]
fn reply_packet(reply: &Reply) -> Packet<'_> {
    match Packet::parse_as(&reply.bytes, BlockKind::Raw, &Limits::new()) {
        Ok(Status::Complete((packet, len))) => {
            assert_eq!(len, reply.bytes.len(), "bytes after the reply packet");
            packet
        }
        other => panic!("not one whole packet: {other:?} in {:02x?}", reply.bytes),
    }
}

#[test]
fn request_with_duplicates_empty_values_non_utf8_bytes_and_a_body() {
    require!(UWSGI_APP);
    let dir = TempDir::new("app-request");
    let app = UwsgiApp::start(&dir);
    let body = pattern(3000);
    let mut vars = VarsBuilder::default();
    vars.push("REQUEST_METHOD", "POST")
        .and_then(|v| v.push("REQUEST_URI", "/echo?q=1"))
        .and_then(|v| v.push("PATH_INFO", "/echo"))
        .and_then(|v| v.push("QUERY_STRING", "q=1"))
        .and_then(|v| v.push("SERVER_PROTOCOL", "HTTP/1.1"))
        .and_then(|v| v.push("SERVER_NAME", "conformance"))
        .and_then(|v| v.push("SERVER_PORT", "80"))
        .and_then(|v| v.push("CONTENT_TYPE", ""))
        .and_then(|v| v.push("CONTENT_LENGTH", body.len().to_string()))
        .and_then(|v| v.push("HTTP_X_DUP", "first"))
        .and_then(|v| v.push("HTTP_X_LATIN", b"caf\xe9 \xff"))
        .and_then(|v| v.push(b"X_KEY_\xe9\x80", "non-UTF-8 key"))
        .and_then(|v| v.push("X_NUL", b"a\x00b\r\nc"))
        .and_then(|v| v.push("HTTP_X_DUP", "second"))
        .and_then(|v| v.push("EMPTY_LAST", ""))
        .expect("vars fit");
    let request = Request::new(Modifier1::WSGI, 0, vars.vars()).expect("valid request");
    let packet = Packet::try_from(&request).expect("fits");
    let mut bytes = wire(&packet);
    bytes.extend_from_slice(&body);

    let reply = app.exchange(&bytes);
    let mut client = ClientExchange::new(Limits::new());
    assert!(client.expect(Expected::to(&packet)));
    assert!(
        matches!(
            client.decode(&reply.bytes),
            Ok(Status::Complete((
                Event::Head {
                    head: Head::Response(_),
                    ..
                },
                _
            )))
        ),
        "a request is answered with raw HTTP"
    );
    let echo = app_echo(&reply);
    // uWSGI copies SERVER_PROTOCOL into the status line.
    assert_eq!(echo.status_line, "HTTP/1.1 200 OK");
    // Every var arrives byte for byte; for the duplicate, Python keeps the last.
    for (key, _) in vars.vars().iter() {
        assert_eq!(
            echo.environ.get(key).map(Vec::as_slice),
            vars.vars().get(key),
            "{}",
            String::from_utf8_lossy(key)
        );
    }
    assert_eq!(echo.environ[&b"HTTP_X_DUP"[..]], b"second");
    assert_eq!(echo.environ[&b"EMPTY_LAST"[..]], b"");
    // Nothing else but wsgi.url_scheme (from the absent HTTPS/UWSGI_SCHEME: "http", as
    // `Request::scheme` says).
    let mut keys: BTreeSet<&[u8]> = vars.vars().iter().map(|(k, _)| k).collect();
    keys.insert(b"wsgi.url_scheme");
    assert_eq!(
        echo.environ
            .keys()
            .map(Vec::as_slice)
            .collect::<BTreeSet<_>>(),
        keys
    );
    assert_eq!(echo.environ[&b"wsgi.url_scheme"[..]], request.scheme());
    assert!(echo.body == body, "the app read a different body");
}

#[test]
fn request_types_other_than_wsgi_reach_no_python_handler() {
    require!(UWSGI_APP);
    let dir = TempDir::new("app-psgi");
    let mut app = UwsgiApp::start(&dir);
    // modifier1 5 (PSGI) is a request type for us, but this server has no PSGI plugin.
    let mut vars = VarsBuilder::default();
    vars.push("REQUEST_METHOD", "GET").expect("fits");
    let request = Request::new(Modifier1::PSGI, 0, vars.vars()).expect("valid");
    let reply = app.exchange(&wire(&Packet::try_from(&request).expect("fits")));
    assert!(reply.is_silent_close(), "{:?}", reply);
    app.wait_log("-- unavailable modifier requested: 5 --");
}

#[test]
fn ping_gets_a_clean_pong() {
    require!(UWSGI_APP);
    let dir = TempDir::new("app-ping");
    let app = UwsgiApp::start(&dir);
    let reply = app.exchange(&wire(&Packet::from(&Ping)));
    assert_eq!(reply.bytes, [0x64, 0x00, 0x00, 0x01]);
    let (packet, _) = Packet::parse(&reply.bytes, &Limits::new())
        .expect("parses")
        .complete()
        .expect("whole");
    assert_eq!(Pong::try_from(&packet).expect("a pong").warning(), None);
    assert_eq!(
        Message::try_from(&packet),
        Ok(Message::Pong(Pong::default()))
    );
}

#[test]
fn echo_returns_the_payload_raw() {
    require!(UWSGI_APP);
    let dir = TempDir::new("app-echo");
    let app = UwsgiApp::start(&dir);
    // The largest block uWSGI's default buffer-size (4096) takes, every byte value in it.
    let payload = pattern(4096);
    let echo = Echo::new(&payload).expect("fits");
    let reply = app.exchange(&wire(&Packet::from(&echo)));
    assert!(reply.bytes == payload, "{} bytes back", reply.bytes.len());
}

#[test]
fn signal_is_queued_and_runs_the_handler() {
    require!(UWSGI_APP);
    let dir = TempDir::new("app-signal");
    let app = UwsgiApp::start(&dir);
    let reply = app.exchange(&wire(&Packet::from(&Signal::new(17))));
    assert_eq!(reply.bytes, [0xff, 0x00, 0x00, 0x01]);
    assert_eq!(
        GenericResponse::try_from(&reply_packet(&reply)),
        Ok(GenericResponse::OK)
    );
    // The handler creates the file, then writes to it: an empty read is not the answer yet.
    let handled = poll(Duration::from_secs(5), || {
        fs::read_to_string(app.out.join("signal-17"))
            .ok()
            .filter(|text| !text.is_empty())
    });
    assert_eq!(handled.as_deref(), Some("handled"));
}

/// An RPC call packet.
fn rpc(items: &[&[u8]], modifier2: u8) -> Vec<u8> {
    let mut array = ArrayBuilder::default();
    for item in items {
        array.push(item).expect("fits");
    }
    let call = RpcCall::new(array.array(), modifier2).expect("valid call");
    wire(&Packet::try_from(&call).expect("fits"))
}

#[test]
fn rpc_modifier2_0_result_in_a_uwsgi_packet() {
    require!(UWSGI_APP);
    let dir = TempDir::new("app-rpc0");
    let app = UwsgiApp::start(&dir);
    let reply = app.exchange(&rpc(&[b"hello", b"x\xff\x00"], RpcCall::UWSGI_REPLY));
    assert_eq!(reply.bytes, b"\xad\x06\x00\x00HI:x\xff\x00");
    let Status::Complete((packet, consumed)) =
        Packet::parse_as(&reply.bytes, BlockKind::Raw, &Limits::new()).expect("parses")
    else {
        panic!("incomplete")
    };
    let result = RpcReply::try_from(&packet).expect("an RPC reply");
    assert_eq!(
        (result, consumed),
        (RpcReply::Result(b"HI:x\xff\x00"), reply.bytes.len())
    );
}

#[test]
fn rpc_modifier2_1_result_raw() {
    require!(UWSGI_APP);
    let dir = TempDir::new("app-rpc1");
    let app = UwsgiApp::start(&dir);
    let reply = app.exchange(&rpc(&[b"hello", b"x"], RpcCall::RAW_REPLY));
    // No header at all: the result, then the close.
    assert_eq!(reply.bytes, b"HI:x");
}

#[test]
fn rpc_result_over_64k_uses_the_large_form() {
    require!(UWSGI_APP);
    let dir = TempDir::new("app-rpc-big");
    let app = UwsgiApp::start(&dir);
    let reply = app.exchange(&rpc(&[b"big"], RpcCall::UWSGI_REPLY));
    let Status::Complete((packet, consumed)) =
        Packet::parse_as(&reply.bytes, BlockKind::Raw, &Limits::new()).expect("parses")
    else {
        panic!("incomplete")
    };
    let result = RpcReply::try_from(&packet).expect("an RPC reply");
    assert_eq!(result, RpcReply::Large { len: 70000 });
    // [173, 23, 5] + {CONTENT_LENGTH: "70000"}, then exactly 70000 raw bytes.
    assert_eq!(&reply.bytes[..4], [0xad, 23, 0, 5]);
    assert_eq!(reply.bytes.len(), consumed + 70000);
    assert!(reply.bytes[consumed..].iter().all(|&b| b == b'B'));
}

#[test]
fn spooler_request_is_written_as_our_packet() {
    require!(UWSGI_APP);
    let dir = TempDir::new("app-spooler");
    let app = UwsgiApp::start(&dir);
    let mut vars = VarsBuilder::default();
    vars.push("task", "send-mail")
        .and_then(|v| v.push("to", "ops@example.com"))
        .and_then(|v| v.push("blob", b"\x00\xff\xe9"))
        .and_then(|v| v.push("empty", ""))
        .expect("fits");
    let job = SpoolerRequest::new(vars.vars());
    let sent = wire(&Packet::try_from(&job).expect("fits"));
    let reply = app.exchange(&sent);
    assert_eq!(
        GenericResponse::try_from(&reply_packet(&reply)),
        Ok(GenericResponse::OK)
    );
    // The spool file is the packet we sent, byte for byte (header 17 included).
    let spooled = poll(Duration::from_secs(5), || {
        fs::read(app.out.join("spooled.bin")).ok()
    })
    .expect("the spooler ran the job");
    assert_eq!(spooled, sent);
    let (packet, _) = Packet::parse(&spooled, &Limits::new())
        .expect("parses")
        .complete()
        .expect("whole");
    assert_eq!(
        SpoolerRequest::try_from(&packet).expect("a spooler request"),
        job
    );
}

/// A magic cache request (value bytes appended for set/update).
fn cache(command: CacheCommand, key: &[u8], value: &[u8], expires: u64) -> Vec<u8> {
    let vars = CacheRequest::build(command, key, value.len() as u64, expires, None).expect("fits");
    let request = CacheRequest::new(vars.vars()).expect("valid");
    assert_eq!(request.command(), command);
    let mut out = wire(&Packet::try_from(&request).expect("fits"));
    if command.carries_value() {
        out.extend_from_slice(value);
    }
    out
}

/// The `status=ok` reply with no value, as `CacheReply::build(None)` encodes it.
fn cache_ok() -> Vec<u8> {
    let vars = CacheReply::build(None).expect("fits");
    wire(&Packet::try_from(&CacheReply::new(vars.vars()).expect("valid")).expect("fits"))
}

#[test]
fn cache_magic_set_get_exists_del_and_silent_misses() {
    require!(UWSGI_APP);
    let dir = TempDir::new("app-cache");
    let app = UwsgiApp::start(&dir);
    let key = b"conformance-\xe9";
    let value = pattern(1000);
    let silent = |bytes: &[u8], what: &str| {
        let reply = app.exchange(bytes);
        assert!(
            reply.is_silent_close(),
            "{what}: uWSGI answers only on success, got {:02x?}",
            reply.bytes
        );
    };

    silent(&cache(CacheCommand::Get, key, b"", 0), "get before set");
    silent(
        &cache(CacheCommand::Exists, key, b"", 0),
        "exists before set",
    );

    let reply = app.exchange(&cache(CacheCommand::Set, key, &value, 30));
    assert_eq!(reply.bytes, cache_ok(), "set");
    let set_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();

    let reply = app.exchange(&cache(CacheCommand::Get, key, b"", 0));
    let (packet, consumed) = Packet::parse(&reply.bytes, &Limits::new())
        .expect("parses")
        .complete()
        .expect("whole");
    let hit = CacheReply::try_from(&packet).expect("a cache reply");
    assert!(hit.is_ok());
    assert_eq!(hit.value_len(), value.len() as u64);
    let expires = hit.expires().expect("an expiring item");
    assert!(
        (set_at + 28..=set_at + 31).contains(&expires),
        "expires {expires}, set at {set_at} for 30 s"
    );
    // The whole reply is what CacheReply::build writes, then the value bytes.
    let built = CacheReply::build(Some((value.len() as u64, expires))).expect("fits");
    let mut expected =
        wire(&Packet::try_from(&CacheReply::new(built.vars()).expect("valid")).expect("fits"));
    assert_eq!(consumed, expected.len());
    expected.extend_from_slice(&value);
    assert!(
        reply.bytes == expected,
        "get reply {:02x?}",
        &reply.bytes[..consumed]
    );

    let reply = app.exchange(&cache(CacheCommand::Exists, key, b"", 0));
    assert_eq!(reply.bytes, cache_ok(), "exists");

    // set on an existing key fails (silently); update replaces.
    silent(
        &cache(CacheCommand::Set, key, b"other", 0),
        "set over an existing key",
    );
    let reply = app.exchange(&cache(CacheCommand::Update, key, b"other", 0));
    assert_eq!(reply.bytes, cache_ok(), "update");
    let reply = app.exchange(&cache(CacheCommand::Get, key, b"", 0));
    let (packet, consumed) = Packet::parse(&reply.bytes, &Limits::new())
        .expect("parses")
        .complete()
        .expect("whole");
    let hit = CacheReply::try_from(&packet).expect("a cache reply");
    assert_eq!(
        (hit.value_len(), hit.expires()),
        (5, None),
        "no expiry: no expires var"
    );
    assert_eq!(&reply.bytes[consumed..], b"other");

    let reply = app.exchange(&cache(CacheCommand::Del, key, b"", 0));
    assert_eq!(reply.bytes, cache_ok(), "del");
    silent(
        &cache(CacheCommand::Exists, key, b"", 0),
        "exists after del",
    );
    silent(&cache(CacheCommand::Del, key, b"", 0), "del after del");
    silent(&cache(CacheCommand::Get, key, b"", 0), "get after del");
}

#[test]
fn unknown_modifier1_is_carried_by_us_and_dropped_by_uwsgi() {
    require!(UWSGI_APP);
    let dir = TempDir::new("app-unknown");
    let mut app = UwsgiApp::start(&dir);
    let packet = Packet::new(Modifier1(250), 0, Payload::Raw(b"")).expect("fits");
    let bytes = wire(&packet);
    assert_eq!(bytes, [0xfa, 0, 0, 0]);
    assert_eq!(Message::try_from(&packet), Ok(Message::Other(packet)));
    let reply = app.exchange(&bytes);
    assert!(reply.is_silent_close(), "{reply:?}");
    app.wait_log("-- unavailable modifier requested: 250 --");
}
