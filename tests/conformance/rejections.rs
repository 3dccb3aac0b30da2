//! Part 4, rejections agree: each malformed vector of `tests/errors.rs` goes to the real
//! uWSGI 2.0 app server, and the test asserts both what uWSGI does with it (answers the
//! app, or closes without a byte and logs why) and our verdict (error kind and offset).
//! Where we are deliberately stricter than uWSGI the test name starts with
//! `stricter_than_uwsgi_`; where our default is more lenient, `more_lenient_than_uwsgi_`.
//! The table of results is in `tests/conformance/README.md`.

use uwsgi_wire::{
    message::Message, message::Request, message::RpcCall, ArrayBuilder, Limits, Modifier1, Packet,
    ParseError, ParseErrorKind, Payload, Status, VarsBuilder,
};

use crate::harness::{require, TempDir, UWSGI_APP};
use crate::uwsgi_app::{app_echo, AppEcho, UwsgiApp};

/// Sends `bytes` to a fresh uWSGI app server; asserts it closes without a reply and logs
/// `reason`.
#[track_caller]
fn uwsgi_closes(name: &str, bytes: &[u8], reason: &str) {
    let dir = TempDir::new(name);
    let mut app = UwsgiApp::start(&dir);
    let reply = app.exchange(bytes);
    assert!(
        reply.is_silent_close(),
        "uWSGI answered {:?}",
        String::from_utf8_lossy(&reply.bytes)
    );
    app.wait_log(reason);
}

/// Sends `bytes` to a fresh uWSGI app server; asserts the app answered, and returns what
/// it saw.
#[track_caller]
fn uwsgi_answers(name: &str, bytes: &[u8]) -> AppEcho {
    let dir = TempDir::new(name);
    let app = UwsgiApp::start(&dir);
    let reply = app.exchange(bytes);
    assert!(
        !reply.is_silent_close(),
        "uWSGI closed without a reply; log:\n{}",
        app.peer.log()
    );
    app_echo(&reply)
}

/// Our verdict on a whole packet with `limits`.
#[track_caller]
fn our_error(bytes: &[u8], limits: &Limits) -> (ParseErrorKind, usize) {
    match Packet::parse(bytes, limits) {
        Err(err) => (err.kind(), err.offset()),
        Ok(status) => panic!("we accepted {bytes:02x?}: {status:?}"),
    }
}

/// Our verdict on a request: the packet parses, `Request::try_from` refuses it.
#[track_caller]
fn our_request_error(bytes: &[u8]) -> (ParseErrorKind, usize) {
    let (packet, _) = Packet::parse(bytes, &Limits::new())
        .expect("the packet itself is well formed")
        .complete()
        .expect("whole");
    let err: ParseError = Request::try_from(&packet).expect_err("we refuse the request");
    (err.kind(), err.offset())
}

// --------------------------------------------------- the vectors of tests/errors.rs

#[test]
fn empty_key_both_reject() {
    require!(UWSGI_APP);
    // tests/errors.rs `empty_key`.
    let bytes = b"\x00\x05\x00\x00\x00\x00\x01\x00x";
    uwsgi_closes(
        "rej-empty-key",
        bytes,
        "uwsgi key cannot be null. skip this var.",
    );
    assert_eq!(
        our_error(bytes, &Limits::new()),
        (ParseErrorKind::EmptyKey, 4)
    );
}

#[test]
fn key_past_end_both_reject() {
    require!(UWSGI_APP);
    // tests/errors.rs `key_past_end`. uWSGI resyncs past the length (see the resync
    // quirk below) and then fails on "ab" read as a length: 0x6261 = 25185.
    let bytes = b"\x00\x05\x00\x00\x10\x00abc";
    uwsgi_closes(
        "rej-key-past-end",
        bytes,
        "invalid uwsgi request (current strsize: 25185). skip.",
    );
    assert_eq!(
        our_error(bytes, &Limits::new()),
        (ParseErrorKind::KeyPastEnd { len: 16 }, 4)
    );
}

#[test]
fn missing_value_length_both_reject() {
    require!(UWSGI_APP);
    // tests/errors.rs `missing_value_length`.
    let bytes = b"\x00\x06\x00\x00\x03\x00abc\x00";
    uwsgi_closes(
        "rej-missing-vlen",
        bytes,
        "invalid uwsgi request (current strsize: 3). skip.",
    );
    assert_eq!(
        our_error(bytes, &Limits::new()),
        (ParseErrorKind::MissingValueLength, 9)
    );
}

#[test]
fn value_past_end_both_reject() {
    require!(UWSGI_APP);
    // tests/errors.rs `value_past_end`.
    let bytes = b"\x00\x0e\x00\x00\x01\x00a\x02\x00bc\x01\x00d\x09\x00ef";
    uwsgi_closes(
        "rej-value-past-end",
        bytes,
        "invalid uwsgi request (current strsize: 9). skip.",
    );
    assert_eq!(
        our_error(bytes, &Limits::new()),
        (ParseErrorKind::ValuePastEnd { len: 9 }, 14)
    );
}

#[test]
fn one_trailing_byte_both_reject() {
    require!(UWSGI_APP);
    // tests/errors.rs `one_and_two_trailing_bytes`, first vector.
    let bytes = b"\x00\x08\x00\x00\x01\x00a\x02\x00bc\x00";
    uwsgi_closes(
        "rej-trailing-1",
        bytes,
        "invalid uwsgi request (current strsize: 2). skip.",
    );
    assert_eq!(
        our_error(bytes, &Limits::new()),
        (ParseErrorKind::TrailingBytes { count: 1 }, 11)
    );
}

#[test]
fn two_trailing_bytes_both_reject() {
    require!(UWSGI_APP);
    // tests/errors.rs `one_and_two_trailing_bytes`, second and third vectors: `00 00`
    // and `05 00` (which would read as key lengths 0 and 5).
    for (i, bytes) in [
        &b"\x00\x09\x00\x00\x01\x00a\x02\x00bc\x00\x00"[..],
        b"\x00\x09\x00\x00\x01\x00a\x02\x00bc\x05\x00",
    ]
    .into_iter()
    .enumerate()
    {
        uwsgi_closes(
            &format!("rej-trailing-2-{i}"),
            bytes,
            "invalid uwsgi request (current strsize: 2). skip.",
        );
        assert_eq!(
            our_error(bytes, &Limits::new()),
            (ParseErrorKind::TrailingBytes { count: 2 }, 11)
        );
    }
}

#[test]
fn stricter_than_uwsgi_resync_quirk_block() {
    require!(UWSGI_APP);
    // tests/errors.rs `the_resync_quirk_vector_is_rejected`: the block `ff 00 01 00 41 00
    // 00` as a modifier1 0 request. uWSGI skips the 2 bytes of the oversized key length
    // and reads the rest as the pair A="": it runs the app.
    let bytes = b"\x00\x07\x00\x00\xff\x00\x01\x00A\x00\x00";
    let echo = uwsgi_answers("rej-resync", bytes);
    // No SERVER_PROTOCOL: uWSGI answers HTTP/1.0.
    assert_eq!(echo.status_line, "HTTP/1.0 200 OK");
    assert_eq!(
        echo.environ.into_iter().collect::<Vec<_>>(),
        [
            (b"A".to_vec(), b"".to_vec()),
            (b"wsgi.url_scheme".to_vec(), b"http".to_vec())
        ]
    );
    // We refuse the key length that runs past the block.
    assert_eq!(
        our_error(bytes, &Limits::new()),
        (ParseErrorKind::KeyPastEnd { len: 255 }, 4)
    );
}

/// A request block of `count` pairs `X000=""`, `X001=""`, ... (hand-made from uWSGI's
/// default `--max-vars` 64, which allows 2 x 64 = 128 pairs: docs/PROTOCOL.md section 5).
fn many_vars(count: usize) -> Vec<u8> {
    let mut vars = VarsBuilder::default();
    for i in 0..count {
        vars.push(format!("X{i:03}"), "").expect("fits");
    }
    let mut out = Vec::new();
    Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))
        .expect("fits")
        .encode_to(&mut out)
        .expect("encodes");
    out
}

#[test]
fn more_lenient_than_uwsgi_by_default_var_count_over_128() {
    require!(UWSGI_APP);
    // 128 pairs: uWSGI runs the app.
    let ok = many_vars(128);
    assert_eq!(ok.len(), 4 + 1024);
    let echo = uwsgi_answers("rej-128-vars", &ok);
    assert_eq!(echo.environ.len(), 128 + 1, "128 vars + wsgi.url_scheme");
    assert!(Packet::parse(&ok, &Limits::new().max_vars(128)).is_ok());

    // 129 pairs: uWSGI closes. Our default takes up to 13107 (the most a block holds);
    // `Limits::max_vars(128)` agrees with uWSGI, refusing pair 129 (at 4 + 128 x 8).
    let over = many_vars(129);
    assert_eq!(over.len(), 4 + 1032);
    uwsgi_closes(
        "rej-129-vars",
        &over,
        "max vec size reached. skip this var.",
    );
    assert!(
        Packet::parse(&over, &Limits::new()).is_ok(),
        "the default limit accepts it"
    );
    assert_eq!(
        our_error(&over, &Limits::new().max_vars(128)),
        (ParseErrorKind::TooManyVars { limit: 128 }, 4 + 128 * 8)
    );
}

#[test]
fn more_lenient_than_uwsgi_by_default_datasize_over_buffer_size() {
    require!(UWSGI_APP);
    // tests/errors.rs `datasize_over_limit_is_refused_from_the_header_alone`: the header
    // `00 88 13 00` announces 5000 bytes; uWSGI's buffer-size is 4096.
    let header = b"\x00\x88\x13\x00";
    uwsgi_closes(
        "rej-datasize",
        header,
        "invalid request block size: 5000 (max 4096)...skip",
    );
    // Refused from the header alone with uWSGI's limit; the default (65535) waits.
    assert_eq!(
        our_error(header, &Limits::new().max_datasize(4096)),
        (
            ParseErrorKind::DatasizeOverLimit {
                datasize: 5000,
                limit: 4096
            },
            1
        )
    );
    assert_eq!(
        Packet::parse(header, &Limits::new()).map(|s| s.map(|_| ())),
        Ok(Status::Partial { needed: 5000 })
    );

    // A block of exactly 4096 bytes goes through both: one var padded to fit.
    let mut vars = VarsBuilder::default();
    vars.push("PAD", vec![b'p'; 4096 - 2 - 3 - 2])
        .expect("fits");
    let mut at_limit = Vec::new();
    Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))
        .expect("fits")
        .encode_to(&mut at_limit)
        .expect("encodes");
    assert_eq!(&at_limit[..4], [0x00, 0x00, 0x10, 0x00]);
    let echo = uwsgi_answers("rej-datasize-4096", &at_limit);
    assert_eq!(echo.environ[&b"PAD"[..]].len(), 4089);
    assert!(Packet::parse(&at_limit, &Limits::new().max_datasize(4096)).is_ok());
}

/// A modifier1 0 request of `pairs`, then `body`.
fn request(pairs: &[(&[u8], &[u8])], body: &[u8]) -> Vec<u8> {
    let mut vars = VarsBuilder::default();
    for (key, value) in pairs {
        vars.push(key, value).expect("fits");
    }
    let mut out = Vec::new();
    Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))
        .expect("fits")
        .encode_to(&mut out)
        .expect("encodes");
    out.extend_from_slice(body);
    out
}

#[test]
fn stricter_than_uwsgi_content_length_plus_5() {
    require!(UWSGI_APP);
    // tests/errors.rs `content_length_forms`: `PATH_INFO=/`, `CONTENT_LENGTH=+5`.
    let bytes = request(
        &[(b"PATH_INFO", b"/"), (b"CONTENT_LENGTH", b"+5")],
        b"hello",
    );
    // uWSGI reads the leading digits: none, so no body; the app runs.
    let echo = uwsgi_answers("rej-cl-plus5", &bytes);
    assert_eq!(echo.environ[&b"CONTENT_LENGTH"[..]], b"+5");
    assert_eq!(echo.body, b"");
    // We refuse it (the value starts at 4 + 32).
    assert_eq!(
        our_request_error(&bytes),
        (ParseErrorKind::InvalidContentLength, 36)
    );
}

#[test]
fn stricter_than_uwsgi_content_length_5abc() {
    require!(UWSGI_APP);
    // tests/errors.rs `content_length_forms`: `PATH_INFO=/`, `CONTENT_LENGTH=5abc`.
    let bytes = request(
        &[(b"PATH_INFO", b"/"), (b"CONTENT_LENGTH", b"5abc")],
        b"hello",
    );
    // uWSGI reads the leading digits: 5, and the app gets a 5-byte body.
    let echo = uwsgi_answers("rej-cl-5abc", &bytes);
    assert_eq!(echo.environ[&b"CONTENT_LENGTH"[..]], b"5abc");
    assert_eq!(echo.body, b"hello");
    assert_eq!(
        our_request_error(&bytes),
        (ParseErrorKind::InvalidContentLength, 36)
    );
}

#[test]
fn stricter_than_uwsgi_conflicting_content_lengths() {
    require!(UWSGI_APP);
    // tests/errors.rs `content_length_conflicts`: 5 then 6. uWSGI takes the last one.
    let bytes = request(
        &[(b"CONTENT_LENGTH", b"5"), (b"CONTENT_LENGTH", b"6")],
        b"hello!",
    );
    let echo = uwsgi_answers("rej-cl-conflict", &bytes);
    assert_eq!(echo.environ[&b"CONTENT_LENGTH"[..]], b"6");
    assert_eq!(echo.body, b"hello!");
    // We refuse the second value (at 4 + 19 + 18).
    assert_eq!(
        our_request_error(&bytes),
        (ParseErrorKind::ConflictingContentLength, 41)
    );
}

// ------------------------------------------------------- framing differences, not errors

/// An RPC call packet, modifier2 0.
fn rpc(items: &[&[u8]]) -> Vec<u8> {
    let mut array = ArrayBuilder::default();
    for item in items {
        array.push(item).expect("fits");
    }
    let mut out = Vec::new();
    Packet::try_from(&RpcCall::new(array.array(), RpcCall::UWSGI_REPLY).expect("valid"))
        .expect("fits")
        .encode_to(&mut out)
        .expect("encodes");
    out
}

#[test]
fn more_lenient_than_uwsgi_empty_last_rpc_item() {
    require!(UWSGI_APP);
    // `uwsgi_parse_array` needs 3 bytes to start an item, so an empty last item fails
    // (tests/vectors/README.md findings). We keep empty items wherever they are.
    let bytes = rpc(&[b"join", b"a", b"b", b""]);
    assert_eq!(&bytes[..4], [0xad, 0x0e, 0x00, 0x00]);
    uwsgi_closes(
        "rej-rpc-empty-last",
        &bytes,
        "invalid uwsgi array. skip this request.",
    );
    let (packet, _) = Packet::parse(&bytes, &Limits::new())
        .expect("parses")
        .complete()
        .expect("whole");
    let Ok(Message::RpcCall(call)) = Message::try_from(&packet) else {
        panic!("an RPC call")
    };
    assert_eq!(call.args().collect::<Vec<_>>(), [&b"a"[..], b"b", b""]);
}

#[test]
fn uwsgi_drops_an_empty_middle_rpc_item_we_keep_it() {
    require!(UWSGI_APP);
    // uWSGI silently skips the empty item: join gets 2 arguments, not 3.
    let bytes = rpc(&[b"join", b"a", b"", b"b"]);
    assert_eq!(&bytes[..4], [0xad, 0x0e, 0x00, 0x00]);
    let dir = TempDir::new("rej-rpc-empty-middle");
    let app = UwsgiApp::start(&dir);
    let reply = app.exchange(&bytes);
    assert_eq!(reply.bytes, b"\xad\x05\x00\x00a|b#2");
    let (packet, _) = Packet::parse(&bytes, &Limits::new())
        .expect("parses")
        .complete()
        .expect("whole");
    let call = RpcCall::try_from(&packet).expect("an RPC call");
    assert_eq!(call.args().collect::<Vec<_>>(), [&b"a"[..], b"", b"b"]);
}

#[test]
fn empty_request_block_uwsgi_closes_we_parse_an_empty_request() {
    require!(UWSGI_APP);
    // datasize 0 (docs/PROTOCOL.md section 5): framing is fine; uWSGI's Python handler
    // refuses an empty request. For us it is a request with no vars and no body.
    let bytes = b"\x00\x00\x00\x00";
    uwsgi_closes("rej-empty-block", bytes, "Empty python request. skip.");
    let (packet, _) = Packet::parse(bytes, &Limits::new())
        .expect("parses")
        .complete()
        .expect("whole");
    let request = Request::try_from(&packet).expect("a request");
    assert!(request.vars().is_empty());
    assert_eq!(request.content_length(), 0);
}
