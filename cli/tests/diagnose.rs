//! The operator diagnostics in the built `uwsgi-wire` binary: `decode` on HTTP, TLS and a
//! big-endian datasize, and `serve`'s log line for HTTP sent to its socket
//! (`uwsgi_wire::diagnose::Diagnosis`; docs/PROTOCOL.md, "Diagnostics").

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_uwsgi-wire"))
}

fn decode(stdin: &[u8]) -> Output {
    let mut child = bin()
        .arg("decode")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run uwsgi-wire");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn decode_says_http_was_sent_to_a_uwsgi_socket() {
    let out = decode(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        "uwsgi-wire: HTTP sent to a uwsgi socket: the bytes start with the request line \
         \"GET / HTTP/1.1\", not a uwsgi header (they read as modifier1 71, datasize 21573; \
         uWSGI logs \"invalid request block size: 21573 (max 4096)...skip\" and closes the \
         connection). Change the sender: in nginx use uwsgi_pass (with include \
         uwsgi_params;), not proxy_pass; or, to take HTTP itself, start uWSGI with \
         --http-socket instead of --socket (as a uwsgi packet: truncated packet: 21540 more \
         byte(s) needed (37 given))\n"
    );
}

#[test]
fn decode_notes_tls_but_still_lists_the_packet() {
    // A ClientHello's record header and enough bytes for the 259 its 2nd and 3rd bytes
    // announce.
    let mut hello = b"\x16\x03\x01\x02\x00".to_vec();
    hello.resize(4 + 259, 0);
    let out = decode(&hello);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("modifier1 22 (unknown)  datasize 259  modifier2 2\n"));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("uwsgi-wire: note: TLS sent to a uwsgi socket"),
        "{err}"
    );
    assert!(err.contains("--https-socket"), "{err}");
}

#[test]
fn decode_says_a_datasize_looks_big_endian() {
    // `00 00 0a 00` + a 10-byte vars block: datasize 10 written big-endian.
    let out = decode(b"\x00\x00\x0a\x00\x03\x00KEY\x03\x00val");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(
            "uwsgi-wire: datasize looks big-endian: its bytes 00 0a read as 2560 little-endian"
        ),
        "{err}"
    );
    assert!(
        err.ends_with(
            "(as a uwsgi packet: truncated packet: 2550 more byte(s) needed (14 given))\n"
        ),
        "{err}"
    );
}

#[test]
fn decode_of_a_good_packet_says_nothing_more() {
    let out = decode(include_bytes!("../../tests/vectors/nginx-get.bin"));
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn decode_names_the_vars_of_a_block_over_uwsgis_buffer() {
    // nginx's 65535-byte block: decoded, with a note naming its large header.
    let out = decode(include_bytes!("../../tests/vectors/nginx-large-header.bin"));
    assert!(out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.starts_with(
            "uwsgi-wire: note: the vars block is 65535 bytes, over the 4096-byte buffer"
        ),
        "{err}"
    );
    assert!(err.contains("The largest vars: HTTP_X_BIG ("), "{err}");
    assert!(err.contains("--buffer-size 65535"), "{err}");
}

#[test]
fn serve_logs_http_sent_to_its_socket() {
    let mut child = bin()
        .args(["serve", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run uwsgi-wire serve");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();

    // curl (or nginx's proxy_pass) at the uwsgi socket, its connection kept open as
    // curl keeps it: answered at once, in HTTP, with the diagnosis (not after the 30 s
    // head timeout, waiting for the 21573 bytes `GET ` announces).
    let mut conn = TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = std::time::Instant::now();
    conn.write_all(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let answer = text(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(answer.contains("use uwsgi_pass"), "{answer}");

    // The log line comes before the connection's error; wait for it, then stop.
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut log = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut chunk) {
            if n == 0 {
                break;
            }
            log.extend_from_slice(&chunk[..n]);
            if String::from_utf8_lossy(&log).contains("--http-socket") {
                break;
            }
        }
        log
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !reader.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let log = text(&reader.join().unwrap());
    assert!(
        log.contains(
            "WARN HTTP sent to a uwsgi socket: the bytes start with the request line \
             \"GET / HTTP/1.1\", not a uwsgi header (they read as modifier1 71, datasize \
             21573; uWSGI logs \"invalid request block size: 21573 (max 4096)...skip\""
        ),
        "{log}"
    );
    assert!(log.contains("not proxy_pass"), "{log}");
}
