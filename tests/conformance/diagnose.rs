//! Issue 13, operator diagnostics: what `Diagnosis` says uWSGI logs is what the real
//! uWSGI 2.0 app server logs. HTTP (every method `Diagnosis` recognises, and the HTTP/2
//! preface), a TLS ClientHello, a big-endian datasize and a block over its buffer-size
//! (4096) each go to uWSGI on a fresh connection; uWSGI closes without a byte and logs
//! the line our message quotes.

use uwsgi_wire::{diagnose::Diagnosis, Modifier1, Packet, Payload, VarsBuilder};

use crate::harness::{require, TempDir, UWSGI_APP};
use crate::uwsgi_app::UwsgiApp;

/// Sends `bytes`, asserts uWSGI closes without a reply and logs the line `Diagnosis`
/// quotes for them (between `logs "` and the next `"`), which must be `expected`.
#[track_caller]
fn logs_what_we_quote(app: &mut UwsgiApp, bytes: &[u8], expected: &str) {
    let found = Diagnosis::find(bytes, Diagnosis::UWSGI_BUFFER_SIZE)
        .unwrap_or_else(|| panic!("no diagnosis for {:?}", &bytes[..4]));
    let message = found.to_string();
    let quoted = message
        .split_once("uWSGI logs \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(line, _)| line)
        .unwrap_or_else(|| panic!("no uWSGI log line in {message}"));
    assert_eq!(quoted, expected, "{message}");
    let reply = app.exchange(bytes);
    assert!(
        reply.is_silent_close(),
        "uWSGI answered {:?}",
        String::from_utf8_lossy(&reply.bytes)
    );
    app.wait_log(expected);
}

#[test]
fn uwsgi_logs_the_datasize_we_name_for_http_tls_big_endian_and_big_blocks() {
    require!(UWSGI_APP);
    let dir = TempDir::new("diagnose");
    let mut app = UwsgiApp::start(&dir);

    for (line, datasize) in [
        ("GET / HTTP/1.1", 21573),
        ("POST / HTTP/1.1", 21327),
        ("HEAD / HTTP/1.1", 16709),
        ("PUT / HTTP/1.1", 21589),
        ("DELETE / HTTP/1.1", 19525),
        ("OPTIONS / HTTP/1.1", 21584),
        ("PATCH / HTTP/1.1", 21569),
        ("CONNECT / HTTP/1.1", 20047),
    ] {
        let request = format!("{line}\r\nHost: example.com\r\n\r\n");
        logs_what_we_quote(
            &mut app,
            request.as_bytes(),
            &format!("invalid request block size: {datasize} (max 4096)...skip"),
        );
    }
    logs_what_we_quote(
        &mut app,
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "invalid request block size: 18770 (max 4096)...skip",
    );

    // A TLS record header (16 03 01, length 512) and its 512 bytes: uWSGI reads the 259
    // bytes of "datasize", then refuses modifier1 22.
    let mut hello = b"\x16\x03\x01\x02\x00".to_vec();
    hello.resize(5 + 512, 0x01);
    logs_what_we_quote(&mut app, &hello, "-- unavailable modifier requested: 22 --");

    // A 61-byte request block whose datasize was written big-endian (00 3d = 15616).
    let mut vars = VarsBuilder::default();
    vars.push("REQUEST_METHOD", "POST")
        .unwrap()
        .push("PATH_INFO", "/upload")
        .unwrap()
        .push("CONTENT_LENGTH", "5")
        .unwrap();
    let mut wire = Vec::new();
    Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))
        .unwrap()
        .encode_to(&mut wire)
        .unwrap();
    wire.extend_from_slice(b"hello");
    wire.swap(1, 2);
    logs_what_we_quote(
        &mut app,
        &wire,
        "invalid request block size: 15616 (max 4096)...skip",
    );

    // A 5000-byte cookie: a 5036-byte block.
    let mut vars = VarsBuilder::default();
    vars.push("REQUEST_METHOD", "GET")
        .unwrap()
        .push("HTTP_COOKIE", "c".repeat(5000))
        .unwrap();
    let mut wire = Vec::new();
    Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))
        .unwrap()
        .encode_to(&mut wire)
        .unwrap();
    logs_what_we_quote(
        &mut app,
        &wire,
        "invalid request block size: 5036 (max 4096)...skip",
    );
}
