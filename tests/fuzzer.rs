//! Features `server` + `arbitrary`: `uwsgi_wire::arbitrary::Fuzzer` passes what nginx
//! reads and fails (panics, as libFuzzer needs) on a panicking service, a service that
//! never answers, and answers nginx does not read.
//!
//! Origin: derived (the harness's contract in src/arbitrary/fuzzer.rs); the raw inputs are
//! the nginx captures of tests/vectors.
#![cfg(all(feature = "server", feature = "arbitrary"))]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use uwsgi_wire::arbitrary::Fuzzer;

#[path = "../examples/support/axum_app.rs"]
mod axum_app;

const GET: &[u8] = include_bytes!("vectors/nginx-get.bin");
const POST: &[u8] = include_bytes!("vectors/nginx-post.bin");

/// A `Fuzzer` input of raw bytes: flags (raw; `close`: shut down after them; a 64-byte
/// pipe, so both sides write in pieces), then the bytes.
fn raw(bytes: &[u8], close: bool) -> Vec<u8> {
    let mut input = vec![0x01 | if close { 0x02 } else { 0 }];
    input.extend_from_slice(bytes);
    input
}

/// The panic message of `run`ning `input`, or `None` when it passed.
fn failure<S>(fuzzer: &Fuzzer<S>, input: &[u8]) -> Option<String>
where
    S: uwsgi_wire::server::HttpService + Clone,
{
    let err = catch_unwind(AssertUnwindSafe(|| fuzzer.run(input))).err()?;
    Some(
        err.downcast_ref::<String>()
            .cloned()
            .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    )
}

fn hello() -> Router {
    Router::new().fallback(|| async { "hello" })
}

#[test]
fn what_nginx_reads_passes() {
    let fuzzer = Fuzzer::new(axum_app::app());
    let mut inputs: Vec<Vec<u8>> = vec![
        // Valid requests made from these bytes, with every pipe size.
        Vec::new(),
        b"\x00any bytes at all".to_vec(),
        b"\x3c\xff\xff\xff\x00\x01\x02".to_vec(),
    ];
    inputs.extend((0..=10u8).map(|size| [size << 2, 7, 7, 7, 7].to_vec()));
    for close in [false, true] {
        inputs.extend([
            raw(GET, close),
            raw(POST, close),
            raw(&[GET, POST, GET].concat(), close), // pipelined
            raw(&POST[..POST.len() - 3], close),    // the body cut short
            raw(&GET[..10], close),                 // the packet cut short: 408 or 400
            raw(b"\x64\x00\x00\x00", close),        // a ping: a pong
            raw(b"\x00\x05\x00\x00\x01", close),    // a malformed block: 400
            raw(b"GET / HTTP/1.1\r\n\r\n", close),  // HTTP to the socket: 400
            raw(b"\x16\x03\x01\x02\x00\x01", close), // TLS: the close
            raw(b"", close),
        ]);
    }
    for input in &inputs {
        assert_eq!(
            failure(&fuzzer, input),
            None,
            "input {:?}",
            input.escape_ascii().to_string()
        );
    }
}

#[test]
fn a_panicking_service_fails() {
    let app = Router::new().fallback(|| async {
        panic!("the service panicked");
        #[allow(unreachable_code)]
        "unreachable"
    });
    let fuzzer = Fuzzer::new(app);
    let message = failure(&fuzzer, b"").expect("a panic");
    assert!(message.contains("the service panicked"), "{message}");
    // Raw bytes that reach the service too.
    let message = failure(&fuzzer, &raw(GET, false)).expect("a panic");
    assert!(message.contains("the service panicked"), "{message}");
}

#[test]
fn a_service_that_never_answers_is_a_hang_found_at_once() {
    let app = Router::new().fallback(std::future::pending::<&'static str>);
    let fuzzer = Fuzzer::new(app);
    let started = Instant::now();
    let message = failure(&fuzzer, b"").expect("a hang");
    assert!(
        message.starts_with("hang: no answer within 60 s"),
        "{message}"
    );
    // Raw bytes: nginx gives up after 60 s and closes, and the connection still does
    // not end: the driver waits for the service whether or not the front end is still
    // there (it does not cancel the service on the close, as hyper does; should it ever,
    // this input passes and this assertion must change).
    let message = failure(&fuzzer, &raw(GET, false)).expect("a hang");
    assert!(
        message.starts_with("hang: the connection did not end within 60 s after nginx closed it"),
        "{message}"
    );
    // Virtual time: minutes of timeouts in no time.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_stalled_body_is_a_hang() {
    let app = Router::new().route(
        "/",
        get(|| async {
            let first = futures_util::stream::iter([Ok::<_, std::io::Error>("first")]);
            Body::from_stream(futures_util::StreamExt::chain(
                first,
                futures_util::stream::pending(),
            ))
        }),
    );
    let message = failure(&Fuzzer::new(app), b"").expect("a hang");
    assert!(
        message.starts_with("hang: nothing more of the answer within 60 s"),
        "{message}"
    );
}

#[test]
fn a_body_that_stalls_after_its_content_length_holds_the_connection() {
    // nginx has the whole reply at its Content-Length and closes; the driver still waits
    // for the body's end (its write would fail, but nothing comes to write).
    let app = Router::new().route(
        "/",
        get(|| async {
            let first = futures_util::stream::iter([Ok::<_, std::io::Error>("first")]);
            let body = futures_util::StreamExt::chain(first, futures_util::stream::pending());
            (
                [(http::header::CONTENT_LENGTH, "5")],
                Body::from_stream(body),
            )
        }),
    );
    let message = failure(&Fuzzer::new(app), b"").expect("a hang");
    assert!(
        message.starts_with("hang: the connection did not end within 60 s after nginx closed it"),
        "{message}"
    );
}

#[test]
fn a_body_short_of_or_past_its_content_length_fails() {
    for (length, why) in [
        ("10", "the peer closed the stream"),
        ("1", "bytes after the end of reply 1"),
    ] {
        let app =
            Router::new().route(
                "/",
                get(move || async move {
                    ([(http::header::CONTENT_LENGTH, length)], Body::from("abc"))
                }),
            );
        let message = failure(&Fuzzer::new(app), b"").expect("a bad answer");
        assert!(message.contains(why), "Content-Length {length}: {message}");
    }
}

#[test]
fn a_slow_answer_within_nginx_timeout_passes() {
    let app = Router::new().route(
        "/",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(59)).await;
            "late"
        }),
    );
    assert_eq!(failure(&Fuzzer::new(app), b""), None);
    assert_eq!(failure(&Fuzzer::new(hello()), b""), None);
}
