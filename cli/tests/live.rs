//! The built `uwsgi-wire` binary against the real peers, through the conformance
//! harness of the library (tests/conformance/): `request`, `ping`, `rpc` and `signal`
//! against a real uWSGI 2.0 app server, and `serve` behind real nginx 1.22.
//!
//! Nothing is installed here (`.ci/run` does that). With `CI` set a missing peer fails
//! the test; without it the test prints `skipped: <reason>`.
#![cfg(unix)]
// The harness modules are shared with tests/conformance; this file uses part of them.
#![allow(dead_code, unused_imports, unused_macros)]

#[path = "../../tests/conformance/client.rs"]
mod client;
#[path = "../../tests/conformance/harness.rs"]
mod harness;
#[path = "../../tests/conformance/peers.rs"]
mod peers;
#[path = "../../tests/conformance/uwsgi_app.rs"]
mod uwsgi_app;

use std::process::{Command, Output};
use std::time::Duration;

use harness::{poll, require, start_listening, Peer, TempDir, NGINX, UWSGI_APP};
use uwsgi_app::{app_echo, Reply, UwsgiApp};

const BIN: &str = env!("CARGO_BIN_EXE_uwsgi-wire");

fn cli(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run uwsgi-wire")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn request_ping_rpc_signal_against_real_uwsgi() {
    require!(UWSGI_APP);
    let dir = TempDir::new("cli-uwsgi");
    let app = UwsgiApp::start(&dir);
    let addr = format!("127.0.0.1:{}", app.port);

    // request: nginx-style vars, a header, a param and a body reach the WSGI app, whose
    // answer (its environ as JSON) comes back with -i as raw HTTP.
    let out = cli(&[
        "request",
        &addr,
        "/path/x?q=1",
        "-H",
        "X-Test: yes",
        "-d",
        "hello=world",
        "--param",
        "UWSGI_APPID=",
        "--param",
        "DOCUMENT_ROOT=/srv",
        "-i",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let echo = app_echo(&Reply { bytes: out.stdout });
    assert_eq!(echo.status_line, "HTTP/1.1 200 OK");
    let env = |k: &str| echo.environ.get(k.as_bytes()).map(|v| text(v));
    assert_eq!(env("REQUEST_METHOD").as_deref(), Some("POST"));
    assert_eq!(env("REQUEST_URI").as_deref(), Some("/path/x?q=1"));
    assert_eq!(env("PATH_INFO").as_deref(), Some("/path/x"));
    assert_eq!(env("QUERY_STRING").as_deref(), Some("q=1"));
    assert_eq!(env("HTTP_X_TEST").as_deref(), Some("yes"));
    assert_eq!(env("CONTENT_LENGTH").as_deref(), Some("11"));
    assert_eq!(
        env("CONTENT_TYPE").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        env("DOCUMENT_ROOT").as_deref(),
        Some("/srv"),
        "--param replaces nginx's value"
    );
    assert_eq!(echo.body, b"hello=world");
    // Without -i only the body is printed.
    let out = cli(&["request", &addr, "/"]);
    assert!(out.status.success());
    assert!(
        out.stdout.starts_with(b"{\"environ\""),
        "{}",
        text(&out.stdout)
    );

    // ping: uWSGI's pong is `64 00 00 01`.
    let out = cli(&["ping", &addr, "--count", "2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).matches("pong from 127.0.0.1:").count(), 2);

    // rpc: the small form, the large form (70000 bytes), and an unknown function (uWSGI
    // closes with no reply).
    let out = cli(&["rpc", &addr, "hello", "x"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"HI:x");
    let out = cli(&["rpc", &addr, "big"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(out.stdout, vec![b'B'; 70000]);
    let out = cli(&["rpc", &addr, "no_such_function"]);
    assert_eq!(out.status.code(), Some(1));
    let no_reply = format!(
        "uwsgi-wire: {addr}: no reply: the peer closed the connection (uWSGI does this on a \
         cache miss, an unknown RPC function or an unknown modifier1)\n"
    );
    assert_eq!(text(&out.stderr), no_reply);
    // --max-body bounds the large form before its result is read.
    let out = cli(&["rpc", &addr, "big", "--max-body", "1K"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .contains("reply too large: body of 70000 bytes is over the limit of 1024"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());

    // request: an unknown modifier1 is answered with the close, a HEAD with the head
    // alone (the app's Content-Length notwithstanding), and a name is tried at each
    // address it resolves to.
    let out = cli(&["request", &addr, "/", "--modifier1", "42"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), no_reply);
    let out = cli(&["request", &addr, "/", "-X", "HEAD", "-i"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let head = text(&out.stdout);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "only the head: {head}");
    let out = cli(&["request", &format!("localhost:{}", app.port), "/", "--fail"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.starts_with(b"{\"environ\""));

    // signal 17: queued (`ff 00 00 01`), and the app's handler runs.
    let out = cli(&["signal", &addr, "17"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("signal 17 queued by {addr}\n"));
    let handled = poll(Duration::from_secs(5), || {
        app.out.join("signal-17").exists().then_some(())
    });
    assert!(handled.is_some(), "the app's signal handler did not run");

    // A closed port is a one-line error and exit 1.
    drop(app);
    let out = cli(&["ping", &addr, "--timeout", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!("uwsgi-wire: {addr}: connection refused\n")
    );
}

#[test]
fn serve_behind_real_nginx() {
    require!(NGINX);
    let dir = TempDir::new("cli-serve");
    let (server, port) = start_listening(|port| {
        Peer::start(
            "uwsgi-wire-serve",
            dir.path(),
            "TERM",
            Duration::from_secs(300),
            BIN,
            ["serve".to_owned(), format!("127.0.0.1:{port}")],
        )
    });
    let front = peers::nginx(&dir, port);

    let (_, response) = client::HttpRequest::new("GET", "/inspect?a=1", front.port)
        .header("X-Dup", "one")
        .header("X-Dup", "two")
        .send(front.port, b"");
    assert_eq!(response.status, 200, "{}", text(&response.body));
    let answer: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON");
    assert_eq!(answer["modifier1"], 0);
    assert_eq!(answer["kind"], "vars");
    let vars = answer["vars"].as_array().unwrap();
    let get = |k: &str| vars.iter().rev().find(|p| p[0] == k).map(|p| p[1].clone());
    assert_eq!(get("REQUEST_URI"), Some("/inspect?a=1".into()));
    let dups: Vec<_> = vars
        .iter()
        .filter(|p| p[0] == "HTTP_X_DUP")
        .map(|p| p[1].clone())
        .collect();
    assert_eq!(
        dups,
        ["one", "two"],
        "nginx 1.22 sends one var per header line"
    );
    assert_eq!(answer["body_len"], 0);

    let body = client::pattern(100_000);
    let (_, response) = client::HttpRequest::new("POST", "/upload", front.port)
        .header("Content-Length", body.len().to_string())
        .send(front.port, &body);
    assert_eq!(response.status, 200);
    let answer: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON");
    assert_eq!(answer["body_len"], 100_000);

    // One log line per request.
    let logged = poll(Duration::from_secs(5), || {
        let log = server.log();
        (log.contains("GET /inspect?a=1 vars=") && log.contains("POST /upload vars="))
            .then_some(log)
    });
    assert!(logged.is_some(), "log: {}", server.log());
    assert!(server
        .log()
        .starts_with(&format!("listening on 127.0.0.1:{port}")));
}
