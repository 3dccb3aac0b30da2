//! The built `uwsgi-wire` binary as a client, offline: `request`, `ping`, `rpc` and
//! `signal` against a one-connection server in this file that reads the request and
//! answers with a canned reply. The canned replies are the captures of
//! tests/vectors/ (what uWSGI 2.0.21 sent; origins in tests/vectors/README.md) unless a
//! test says it derived one from the spec (docs/PROTOCOL.md section 4.2). Each exit
//! status of the command is checked here; tests/live.rs checks the same commands
//! against a real uWSGI.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
#[cfg(unix)]
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use uwsgi_wire::io::ServerReader;
use uwsgi_wire::Limits;

const BIN: &str = env!("CARGO_BIN_EXE_uwsgi-wire");

const NO_REPLY: &str = "no reply: the peer closed the connection (uWSGI does this on a cache \
    miss, an unknown RPC function or an unknown modifier1)";

fn cli(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run uwsgi-wire")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A capture from tests/vectors/.
fn vector(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Asserts the exit status, and that stderr is exactly `stderr` (one line).
#[track_caller]
fn assert_exit(out: &Output, code: i32, stderr: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(text(&out.stderr), stderr);
}

/// What the server read: the request packet and its body.
#[derive(Debug)]
struct Received {
    modifier1: u8,
    modifier2: u8,
    vars: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn var(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Serves one connection on `stream`: reads the request packet (and its body), then
/// hands the stream to `respond`.
fn answer<S: Read + Write>(mut stream: S, respond: impl FnOnce(&mut S)) -> Received {
    let received = {
        let mut reader = ServerReader::new(&mut stream, Limits::new());
        let mut incoming = reader
            .read_packet()
            .expect("a valid request")
            .expect("a request");
        let vars = incoming
            .packet
            .vars()
            .map(|vars| vars.iter().map(|(k, v)| (text(k), text(v))).collect())
            .unwrap_or_default();
        let mut body = Vec::new();
        incoming.body.read_to_end(&mut body).expect("the body");
        Received {
            modifier1: incoming.packet.modifier1().0,
            modifier2: incoming.packet.modifier2(),
            vars,
            body,
        }
    };
    respond(&mut stream);
    received
}

/// A TCP server on 127.0.0.1 for one connection; `addr` is `127.0.0.1:PORT`.
struct Server {
    addr: String,
    port: u16,
    handle: JoinHandle<Received>,
}

impl Server {
    fn tcp(respond: impl FnOnce(&mut TcpStream) + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            answer(stream, respond)
        });
        Server {
            addr: format!("127.0.0.1:{port}"),
            port,
            handle,
        }
    }

    /// Answers with `reply`, then closes.
    fn replying(reply: Vec<u8>) -> Server {
        Server::tcp(move |stream| {
            let _ = stream.write_all(&reply);
        })
    }

    /// Reads the request, then keeps the connection open, silent, until `release` is
    /// dropped (or 20 s).
    fn silent() -> (Server, mpsc::Sender<()>) {
        let (release, wait) = mpsc::channel::<()>();
        let server = Server::tcp(move |_| {
            let _ = wait.recv_timeout(Duration::from_secs(20));
        });
        (server, release)
    }

    fn received(self) -> Received {
        self.handle.join().expect("the server thread")
    }
}

/// A Unix socket server for one connection, at a fresh path in the temp directory.
#[cfg(unix)]
fn unix_server(reply: Vec<u8>) -> (PathBuf, JoinHandle<Received>) {
    let path = temp_path("sock");
    let listener = UnixListener::bind(&path).expect("bind");
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        answer(stream, |stream| {
            let _ = stream.write_all(&reply);
        })
    });
    (path, handle)
}

/// A path in the temp directory no other test (or run) uses.
fn temp_path(ext: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path =
        std::env::temp_dir().join(format!("uwsgi-wire-cli-{}-{n}.{ext}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// An address nothing listens on.
fn closed_port() -> String {
    // Port 1 (tcpmux): never an ephemeral port, so no other test's server, bound to
    // 127.0.0.1:0 at the same time, can be given it (a port freed here could be: CI
    // once saw another test's server answer on the "closed" port).
    let addr = "127.0.0.1:1";
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "something listens on {addr}"
    );
    addr.to_owned()
}

// Exit 0.

#[test]
fn ping_exits_0_on_a_clean_pong() {
    // Captured from uWSGI 2.0.21: its pong to `uwsgi --ping`, `64 00 00 01`.
    let server = Server::replying(vector("uwsgi-pong.bin"));
    let addr = server.addr.clone();
    let out = cli(&["ping", &addr]);
    assert_exit(&out, 0, "");
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!("pong from {addr}: time=")) && stdout.ends_with(" ms\n"),
        "{stdout}"
    );
    let ping = server.received();
    assert_eq!((ping.modifier1, ping.modifier2), (100, 0));
}

#[test]
fn signal_exits_0_when_queued() {
    // Captured from uWSGI 2.0.21: its answer to `uwsgi --signal ADDR,17`, `ff 00 00 01`.
    let server = Server::replying(vector("uwsgi-signal-reply.bin"));
    let addr = server.addr.clone();
    let out = cli(&["signal", &addr, "17"]);
    assert_exit(&out, 0, "");
    assert_eq!(text(&out.stdout), format!("signal 17 queued by {addr}\n"));
    let signal = server.received();
    assert_eq!((signal.modifier1, signal.modifier2), (110, 17));
}

#[test]
fn rpc_prints_the_small_and_the_large_result() {
    // Captured from uWSGI 2.0.21: `HI:x` in one packet.
    let server = Server::replying(vector("uwsgi-rpc-reply.bin"));
    let out = cli(&["rpc", &server.addr.clone(), "hello", "x"]);
    assert_exit(&out, 0, "");
    assert_eq!(out.stdout, b"HI:x");
    let call = server.received();
    assert_eq!((call.modifier1, call.modifier2), (173, 0));

    // Captured from uWSGI 2.0.21: the large form, `CONTENT_LENGTH: 70000`, then 70000
    // bytes after the packet.
    let server = Server::replying(vector("uwsgi-rpc-reply-big.bin"));
    let out = cli(&["rpc", &server.addr.clone(), "big"]);
    assert_exit(&out, 0, "");
    assert_eq!(out.stdout, vec![b'B'; 70000]);
}

#[test]
fn request_streams_the_body_and_with_i_the_head() {
    // Captured from uWSGI 2.0.21: `HTTP/1.1 200 OK`, `Content-Length: 12`, `hello world\n`.
    let reply = vector("uwsgi-http-reply-content-length.bin");
    let server = Server::replying(reply.clone());
    let (addr, port) = (server.addr.clone(), server.port);
    let out = cli(&["request", &addr, "/content-length?x=1"]);
    assert_exit(&out, 0, "");
    assert_eq!(out.stdout, b"hello world\n");
    let request = server.received();
    assert_eq!((request.modifier1, request.modifier2), (0, 0));
    assert_eq!(request.var("REQUEST_METHOD"), Some("GET"));
    assert_eq!(request.var("REQUEST_URI"), Some("/content-length?x=1"));
    assert_eq!(request.var("QUERY_STRING"), Some("x=1"));
    assert_eq!(request.var("REMOTE_ADDR"), Some("127.0.0.1"));
    assert!(request.var("REMOTE_PORT").is_some());
    assert_eq!(request.var("SERVER_PORT"), Some(port.to_string().as_str()));
    assert_eq!(request.var("HTTP_HOST"), Some("127.0.0.1"));

    let server = Server::replying(reply.clone());
    let out = cli(&["request", &server.addr.clone(), "/content-length", "-i"]);
    assert_exit(&out, 0, "");
    assert_eq!(
        out.stdout, reply,
        "-i prints the head and the body as received"
    );

    // A body goes after the packet, counted by CONTENT_LENGTH.
    let server = Server::replying(reply);
    let out = cli(&[
        "request",
        &server.addr.clone(),
        "/post",
        "-d",
        "hello=world",
    ]);
    assert_exit(&out, 0, "");
    let request = server.received();
    assert_eq!(request.var("REQUEST_METHOD"), Some("POST"));
    assert_eq!(request.var("CONTENT_LENGTH"), Some("11"));
    assert_eq!(request.body, b"hello=world");
}

#[test]
fn request_passes_a_1_mib_body_through() {
    // Captured from uWSGI 2.0.21: a 70-byte head, then 1048576 body bytes.
    let reply = vector("uwsgi-http-reply-1mib.bin");
    let server = Server::replying(reply.clone());
    let out = cli(&["request", &server.addr.clone(), "/1mib"]);
    assert_exit(&out, 0, "");
    assert_eq!(out.stdout.len(), 1_048_576);
    assert_eq!(out.stdout, reply[70..]);
}

#[test]
fn request_writes_the_body_as_it_arrives() {
    // Derived: a head without Content-Length (the body runs to the close, as in
    // uwsgi-http-reply.bin), one part of the body, then the rest only once the test has
    // seen the first part on the command's stdout. A command that buffered the body
    // would print nothing before the server's 10 s fallback.
    let (seen, wait) = mpsc::channel::<()>();
    let (fallback, fell_back) = mpsc::channel::<bool>();
    let server = Server::tcp(move |stream| {
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst\n")
            .unwrap();
        let timed_out = wait.recv_timeout(Duration::from_secs(10)).is_err();
        let _ = fallback.send(timed_out);
        let _ = stream.write_all(b"second\n");
    });
    let mut child = Command::new(BIN)
        .args(["request", &server.addr, "/stream"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 6];
    stdout.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"first\n");
    seen.send(()).unwrap();
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"second\n");
    assert!(child.wait().unwrap().success());
    assert!(!fell_back.recv().unwrap(), "the body was held back");
    server.received();
}

#[test]
fn a_head_request_reads_no_body_whatever_content_length_says() {
    // The captured head with Content-Length 12, but no body bytes after it.
    let reply = vector("uwsgi-http-reply-content-length.bin");
    let head = reply[..reply.len() - 12].to_vec();
    let server = Server::tcp(move |stream| {
        stream.write_all(&head).unwrap();
        // Keep the connection open: a client waiting for 12 body bytes would time out.
        std::thread::sleep(Duration::from_secs(3));
    });
    let out = cli(&[
        "request",
        &server.addr.clone(),
        "/",
        "-X",
        "HEAD",
        "-i",
        "--timeout",
        "2",
    ]);
    assert_exit(&out, 0, "");
    assert_eq!(out.stdout, reply[..reply.len() - 12]);
}

// Exit 1.

#[test]
fn a_closed_port_exits_1_naming_the_address() {
    let addr = closed_port();
    for args in [
        vec!["ping", &addr],
        vec!["request", &addr, "/"],
        vec!["rpc", &addr, "f"],
        vec!["signal", &addr, "1"],
    ] {
        let out = cli(&args);
        assert_exit(
            &out,
            1,
            &format!("uwsgi-wire: {addr}: connection refused\n"),
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn no_reply_exits_1() {
    // uWSGI's answer to a cache miss, an unknown RPC function or an unknown modifier1:
    // the close, with nothing sent (docs/PROTOCOL.md section 4.2).
    let commands: [&[&str]; 4] = [
        &["ping"],
        &["request", "/"],
        &["rpc", "f"],
        &["signal", "1"],
    ];
    for command in commands {
        let server = Server::replying(Vec::new());
        let addr = server.addr.clone();
        let mut args = vec![command[0], &addr];
        args.extend(&command[1..]);
        let out = cli(&args);
        assert_exit(&out, 1, &format!("uwsgi-wire: {addr}: {NO_REPLY}\n"));
        server.received();
    }
}

#[test]
fn a_silent_server_times_out_with_exit_1() {
    for (command, timeout) in [
        ("ping", "0.3"),
        ("request", "0.3"),
        ("rpc", "0.3"),
        ("signal", "0.3"),
    ] {
        let (server, release) = Server::silent();
        let addr = server.addr.clone();
        let mut args = vec![command, &addr];
        args.push(match command {
            "rpc" => "f",
            "signal" => "1",
            _ => "/",
        });
        if command == "ping" {
            args.pop();
        }
        args.extend(["--timeout", timeout]);
        let started = Instant::now();
        let out = cli(&args);
        assert!(started.elapsed() < Duration::from_secs(10), "{command}");
        assert_exit(
            &out,
            1,
            &format!("uwsgi-wire: {addr}: reading the reply: timed out after 0.3 s\n"),
        );
        drop(release);
        server.received();
    }
}

#[test]
fn request_has_a_default_timeout_of_30_s() {
    let out = cli(&["request", "--help"]);
    assert!(
        text(&out.stdout).contains("[default: 30]"),
        "{}",
        text(&out.stdout)
    );
    let out = cli(&["ping", "--help"]);
    assert!(text(&out.stdout).contains("[default: 3]"));
}

#[test]
fn a_cut_or_wrong_reply_exits_1() {
    // The captured large RPC reply, cut 30000 bytes before the end of its result: nothing
    // is printed.
    let big = vector("uwsgi-rpc-reply-big.bin");
    let server = Server::replying(big[..big.len() - 30000].to_vec());
    let addr = server.addr.clone();
    let out = cli(&["rpc", &addr, "big"]);
    assert_exit(
        &out,
        1,
        &format!(
            "uwsgi-wire: {addr}: truncated reply: the peer closed the stream 30000 bytes \
             before the end of the body\n"
        ),
    );
    assert!(out.stdout.is_empty());

    // The captured pong where a signal's answer is due.
    let server = Server::replying(vector("uwsgi-pong.bin"));
    let addr = server.addr.clone();
    let out = cli(&["signal", &addr, "17"]);
    assert_exit(
        &out,
        1,
        &format!(
            "uwsgi-wire: {addr}: unexpected reply: a reply with modifier1 100 and modifier2 1 \
             where modifier1 255 was expected\n"
        ),
    );

    // The captured HTTP response where a pong is due.
    let server = Server::replying(vector("uwsgi-http-reply-content-length.bin"));
    let addr = server.addr.clone();
    let out = cli(&["ping", &addr]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("unexpected reply"));

    // The captured response cut 5 bytes into its head.
    let reply = vector("uwsgi-http-reply-content-length.bin");
    let server = Server::replying(reply[..5].to_vec());
    let addr = server.addr.clone();
    let out = cli(&["request", &addr, "/"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with(&format!("uwsgi-wire: {addr}: truncated reply: ")),
        "{}",
        text(&out.stderr)
    );

    // The captured response cut 4 bytes before the end of its 12-byte body: the 8 that
    // came are printed (streamed), then the error.
    let server = Server::replying(reply[..reply.len() - 4].to_vec());
    let addr = server.addr.clone();
    let out = cli(&["request", &addr, "/"]);
    assert_exit(
        &out,
        1,
        &format!(
            "uwsgi-wire: {addr}: truncated reply: the peer closed the stream 4 bytes before \
             the end of the body\n"
        ),
    );
    assert_eq!(out.stdout, b"hello wo");
}

#[test]
fn rpc_refuses_a_result_over_max_body_before_reading_it() {
    // The captured large RPC reply announces 70000 bytes.
    let server = Server::replying(vector("uwsgi-rpc-reply-big.bin"));
    let addr = server.addr.clone();
    let out = cli(&["rpc", &addr, "big", "--max-body", "64K"]);
    assert_exit(
        &out,
        1,
        &format!(
            "uwsgi-wire: {addr}: reply too large: body of 70000 bytes is over the limit of \
             65536 (raise it with --max-body)\n"
        ),
    );
    assert!(out.stdout.is_empty());

    // The small form is bounded too: the captured 4-byte result against a 3-byte limit.
    let server = Server::replying(vector("uwsgi-rpc-reply.bin"));
    let addr = server.addr.clone();
    let out = cli(&["rpc", &addr, "hello", "x", "--max-body", "3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("reply too large"));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_response_head_over_64_kib_exits_1() {
    // Derived: a status line, then header lines past the 64 KiB head limit.
    let mut reply = b"HTTP/1.1 200 OK\r\n".to_vec();
    while reply.len() < 70 * 1024 {
        reply.extend_from_slice(b"X-Filler: 0123456789012345678901234567890123456789\r\n");
    }
    reply.extend_from_slice(b"\r\nbody");
    let server = Server::replying(reply);
    let addr = server.addr.clone();
    let out = cli(&["request", &addr, "/"]);
    assert_exit(
        &out,
        1,
        &format!(
            "uwsgi-wire: {addr}: invalid reply: malformed response head: head longer than \
             65536 bytes at byte 65536\n"
        ),
    );
    assert!(out.stdout.is_empty());
}

// Exit 2.

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["ping", "localhost"],       // no port
        vec!["ping", "uwsgi.sock"],      // neither host:port nor a path
        vec!["ping", "unix:"],           // no path
        vec!["ping", "127.0.0.1:70000"], // no such port
        vec!["ping", "127.0.0.1:1", "--timeout", "0"],
        vec!["ping", "127.0.0.1:1", "--timeout", "soon"],
        vec!["request", "127.0.0.1:1", "/", "-H", "no colon"],
        vec!["request", "127.0.0.1:1", "/", "--param", "NOEQUALS"],
        vec!["rpc", "127.0.0.1:1", "f", "--max-body", "lots"],
        vec!["signal", "127.0.0.1:1", "256"],
        vec!["serve", "nowhere"],
        vec!["no-such-command"],
    ] {
        let out = cli(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stderr).starts_with("error: "), "{args:?}");
    }
    let out = cli(&["ping", "uwsgi.sock"]);
    assert!(text(&out.stderr).contains("write ./uwsgi.sock or unix:uwsgi.sock"));
    // A request that cannot be built is a usage error too.
    let out = cli(&["request", "127.0.0.1:1", "no spaces in a URI"]);
    assert_exit(
        &out,
        2,
        "uwsgi-wire: invalid request: invalid uri character\n",
    );
}

// Exit 3.

#[test]
fn ping_exits_3_when_the_pong_carries_a_warning() {
    // Derived from the spec: a pong (m1 100, m2 1) whose block is a warning.
    let server = Server::replying(b"\x64\x09\x00\x01disk full".to_vec());
    let addr = server.addr.clone();
    let out = cli(&["ping", &addr]);
    assert_exit(
        &out,
        3,
        &format!("uwsgi-wire: {addr}: the pong carried a warning\n"),
    );
    assert!(text(&out.stdout).ends_with(" ms warning: disk full\n"));
}

// Exit 4.

#[test]
fn signal_exits_4_when_rejected() {
    // Derived from the spec: the generic response with modifier2 0, "failed".
    let server = Server::replying(vec![0xff, 0x00, 0x00, 0x00]);
    let addr = server.addr.clone();
    let out = cli(&["signal", &addr, "17"]);
    assert_exit(
        &out,
        4,
        &format!("uwsgi-wire: {addr}: signal 17 rejected (reply modifier2 0)\n"),
    );
    assert!(out.stdout.is_empty());
}

// Exit 22.

/// Derived: a response with `status` and a 5-byte body.
fn response(status: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\noops\n")
        .into_bytes()
}

#[test]
fn request_exits_22_on_a_5xx_after_printing_the_body() {
    let server = Server::replying(response("502 Bad Gateway"));
    let addr = server.addr.clone();
    let out = cli(&["request", &addr, "/"]);
    assert_exit(
        &out,
        22,
        &format!("uwsgi-wire: {addr}: the server answered 502 Bad Gateway\n"),
    );
    assert_eq!(out.stdout, b"oops\n");
}

#[test]
fn request_with_fail_exits_22_on_a_4xx_without_the_body() {
    // Without --fail a 404 is a success: its body is the output.
    let server = Server::replying(response("404 Not Found"));
    let out = cli(&["request", &server.addr.clone(), "/missing"]);
    assert_exit(&out, 0, "");
    assert_eq!(out.stdout, b"oops\n");

    for fail in ["--fail", "-f"] {
        let server = Server::replying(response("404 Not Found"));
        let addr = server.addr.clone();
        let out = cli(&["request", &addr, "/missing", fail]);
        assert_exit(
            &out,
            22,
            &format!("uwsgi-wire: {addr}: the server answered 404 Not Found\n"),
        );
        assert!(out.stdout.is_empty());
    }

    // -i still prints the head.
    let server = Server::replying(response("503 Service Unavailable"));
    let addr = server.addr.clone();
    let out = cli(&["request", &addr, "/", "-f", "-i"]);
    assert_exit(
        &out,
        22,
        &format!("uwsgi-wire: {addr}: the server answered 503 Service Unavailable\n"),
    );
    let reply = response("503 Service Unavailable");
    assert_eq!(out.stdout, reply[..reply.len() - 5]);

    // A 2xx or 3xx passes --fail.
    let server = Server::replying(vector("uwsgi-http-reply-content-length.bin"));
    let out = cli(&["request", &server.addr.clone(), "/", "--fail"]);
    assert_exit(&out, 0, "");
    assert_eq!(out.stdout, b"hello world\n");
}

// Addresses.

#[test]
fn a_name_is_tried_at_each_address_it_resolves_to() {
    // The server listens on 127.0.0.1 only; `localhost` may resolve to ::1 first.
    let server = Server::replying(vector("uwsgi-pong.bin"));
    let addr = format!("localhost:{}", server.port);
    let out = cli(&["ping", &addr]);
    assert_exit(&out, 0, "");
    assert!(text(&out.stdout).starts_with(&format!("pong from {addr}: ")));
    server.received();

    let server = Server::replying(vector("uwsgi-http-reply-content-length.bin"));
    let addr = format!("localhost:{}", server.port);
    let out = cli(&["request", &addr, "/"]);
    assert_exit(&out, 0, "");
    assert_eq!(server.received().var("HTTP_HOST"), Some("localhost"));
}

#[cfg(unix)]
#[test]
fn unix_sockets_as_unix_path_and_as_a_path() {
    for prefix in ["unix:", ""] {
        let (path, handle) = unix_server(vector("uwsgi-pong.bin"));
        let addr = format!("{prefix}{}", path.display());
        let out = cli(&["ping", &addr]);
        assert_exit(&out, 0, "");
        assert!(
            text(&out.stdout).starts_with(&format!("pong from unix:{}: ", path.display())),
            "{}",
            text(&out.stdout)
        );
        handle.join().unwrap();
        let _ = std::fs::remove_file(&path);
    }

    // Over a Unix socket there is no client address to send, and the Host is localhost.
    let (path, handle) = unix_server(vector("uwsgi-http-reply-content-length.bin"));
    let out = cli(&["request", &format!("unix:{}", path.display()), "/x"]);
    assert_exit(&out, 0, "");
    assert_eq!(out.stdout, b"hello world\n");
    let request = handle.join().unwrap();
    assert_eq!(request.var("HTTP_HOST"), Some("localhost"));
    assert_eq!(request.var("REMOTE_ADDR"), None);
    assert_eq!(request.var("REQUEST_URI"), Some("/x"));
    let _ = std::fs::remove_file(&path);

    // A socket that is not there.
    let path = temp_path("missing");
    let out = cli(&["ping", path.to_str().unwrap()]);
    assert_exit(
        &out,
        1,
        &format!(
            "uwsgi-wire: unix:{}: no such file or directory\n",
            path.display()
        ),
    );
}

#[cfg(unix)]
#[test]
fn serve_listens_on_unix_path() {
    let path = temp_path("serve.sock");
    let addr = format!("unix:{}", path.display());
    let mut server = Command::new(BIN)
        .args(["serve", &addr])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = Vec::new();
    let mut stdout = server.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\n") && stdout.read(&mut byte).unwrap() == 1 {
        line.push(byte[0]);
    }
    let result = std::panic::catch_unwind(|| {
        assert_eq!(text(&line), format!("listening on {addr}\n"));
        let out = cli(&["request", &addr, "/hello"]);
        assert_exit(&out, 0, "");
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let vars = answer["vars"].as_array().unwrap();
        assert!(vars.contains(&serde_json::json!(["REQUEST_URI", "/hello"])));
        let out = cli(&["ping", &addr]);
        assert_exit(&out, 0, "");
        // The path is taken while the server runs.
        let out = cli(&["serve", &addr]);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).starts_with(&format!("uwsgi-wire: {addr}: ")));
    });
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_file(&path);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn help_documents_every_exit_status() {
    let out = cli(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for line in [
        "0   success",
        "1   an error: I/O, a malformed or unexpected reply, a timeout, no reply",
        "2   a usage error",
        "3   ping: a pong carrying a warning",
        "4   signal: the server rejected the signal",
        "22  request: an HTTP status of 500 or more (with --fail, of 400 or more)",
    ] {
        assert!(help.contains(line), "{line:?} missing from:\n{help}");
    }
    let out = cli(&["request", "--help"]);
    let help = text(&out.stdout);
    assert!(help.contains("-f, --fail"), "{help}");
    assert!(help.contains("--timeout <SECONDS>"), "{help}");
    assert!(help.contains("22  request"), "{help}");
}

#[test]
fn the_readme_walkthrough_prints_what_the_readme_shows() {
    // README "The `uwsgi-wire` command": `serve` in one terminal, `request
    // 127.0.0.1:3031 /hello` in another. Here `serve` gets a free port; the values that
    // depend on the ports (both of them, and so the datasize) are masked.
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let at = readme
        .find("-- request 127.0.0.1:3031 /hello")
        .expect("the walkthrough in the README");
    let start = at + readme[at..].find("```json\n").expect("its output") + "```json\n".len();
    let shown = &readme[start..start + readme[start..].find("```").unwrap()];
    assert!(readme[at..start].contains("GET /hello vars=15 body=0"));

    let mut server = Command::new(BIN)
        .args(["serve", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = server.stdout.take().unwrap();
    let (mut line, mut byte) = (Vec::new(), [0u8; 1]);
    while !line.ends_with(b"\n") && stdout.read(&mut byte).unwrap() == 1 {
        line.push(byte[0]);
    }
    let result = std::panic::catch_unwind(|| {
        let addr = text(&line)
            .strip_prefix("listening on ")
            .expect("the listening line")
            .trim_end()
            .to_owned();
        let out = cli(&["request", &addr, "/hello"]);
        assert_exit(&out, 0, "");
        let mask = |json: &str| {
            let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
            value["datasize"] = 0.into();
            for pair in value["vars"].as_array_mut().unwrap() {
                if pair[0] == "REMOTE_PORT" || pair[0] == "SERVER_PORT" {
                    pair[1] = "-".into();
                }
            }
            value
        };
        assert_eq!(mask(&text(&out.stdout)), mask(shown));
        // The README shows the output verbatim (serve prints it pretty, with a newline).
        assert_eq!(
            format!(
                "{:#}\n",
                serde_json::from_str::<serde_json::Value>(shown).unwrap()
            ),
            shown
        );
    });
    server.kill().unwrap();
    let output = server.wait_with_output().unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    let log = text(&output.stderr);
    assert!(
        log.contains(" modifier1=0 modifier2=0 GET /hello vars=15 body=0\n"),
        "{log}"
    );
}
