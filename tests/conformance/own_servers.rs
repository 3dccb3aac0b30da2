//! The crate's own example server behind real nginx 1.22 (issue 4):
//! `examples/tokio_server.rs`, built by `cargo test --all-features`, answers every
//! request nginx forwards with its decoded vars and body size as JSON.

use std::time::Duration;

use serde_json::Value;

use crate::client::{pattern, HttpRequest};
use crate::harness::{require, start_listening, Peer, TempDir, NGINX};
use crate::peers;

// Shared with `server_driver.rs` (one copy of a module per crate).
#[path = "../support/examples.rs"]
pub(crate) mod examples;
use examples::example;

/// Starts examples/tokio_server on a free port.
fn tokio_server(dir: &TempDir) -> (Peer, u16) {
    let bin = example("tokio_server");
    start_listening(|port| {
        Peer::start(
            "tokio-server",
            dir.path(),
            "TERM",
            Duration::from_secs(300),
            bin.to_str().expect("UTF-8 path"),
            [format!("127.0.0.1:{port}")],
        )
    })
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

/// The value of the last var named `key` in the server's JSON.
fn var<'v>(answer: &'v Value, key: &str) -> Option<&'v str> {
    answer["vars"]
        .as_array()?
        .iter()
        .rev()
        .find(|pair| pair[0] == key)
        .and_then(|pair| pair[1].as_str())
}

#[test]
fn tokio_example_server_behind_nginx() {
    require!(NGINX);
    let dir = TempDir::new("tokio-server");
    let (_server, port) = tokio_server(&dir);
    let front = peers::nginx(&dir, port);

    // A GET with a query and repeated headers.
    let (_, response) = HttpRequest::new("GET", "/path/x?a=1&b=2", front.port)
        .header("Cookie", "a=1")
        .header("Cookie", "b=2")
        .send(front.port, b"");
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let answer = json(&response.body);
    assert_eq!(answer["modifier1"], 0);
    // The typed accessors of the packet's `OwnedVars`: nginx's client and scheme.
    let remote = answer["remote_addr"].as_str().unwrap_or_default();
    assert!(remote.starts_with("127.0.0.1:"), "{remote}");
    assert_eq!(answer["scheme"], "http");
    assert_eq!(var(&answer, "REQUEST_METHOD"), Some("GET"));
    assert_eq!(var(&answer, "REQUEST_URI"), Some("/path/x?a=1&b=2"));
    assert_eq!(var(&answer, "QUERY_STRING"), Some("a=1&b=2"));
    assert_eq!(var(&answer, "HTTP_COOKIE"), Some("b=2"));
    let cookies = answer["vars"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p[0] == "HTTP_COOKIE")
        .count();
    assert_eq!(
        cookies, 2,
        "nginx 1.22 sends one var per Cookie line; both reach the app"
    );
    assert_eq!(answer["request"]["method"], "GET");
    // The http layer makes an absolute URI from the scheme and HTTP_HOST (nginx's $host).
    assert_eq!(answer["request"]["uri"], "http://127.0.0.1/path/x?a=1&b=2");
    assert_eq!(answer["body_size"], 0);

    // A 512 KiB POST, streamed through the codec in chunks.
    let body = pattern(512 * 1024);
    let (_, response) = HttpRequest::new("POST", "/upload", front.port)
        .header("Content-Type", "application/octet-stream")
        .header("Content-Length", body.len().to_string())
        .send(front.port, &body);
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let answer = json(&response.body);
    assert_eq!(var(&answer, "REQUEST_METHOD"), Some("POST"));
    assert_eq!(var(&answer, "CONTENT_LENGTH"), Some("524288"));
    assert_eq!(answer["body_size"], 524288);
}
