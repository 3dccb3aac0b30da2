//! What the tests of the host share: the host with a front end before it (nginx or
//! `uwsgi-wire gateway`), an HTTP/1.1 client, and the cases run behind both fronts.
//!
//! Included by each test binary as `mod support;`; they declare `harness`, `peers` and
//! `examples` (the conformance tests' files) at their root.
#![allow(dead_code)] // each test binary uses its own part

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::harness::{pid_running, start_gateway, start_listening, status_kib, Peer, TempDir};
use crate::{examples, peers};

pub const HOST: &str = env!("CARGO_BIN_EXE_uwsgi-wire-wsgi");
pub const APPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/apps");
/// The body `/lines` reads line by line.
pub const LINES: &[u8] = b"one\ntwo\nthree\nfour\nfive";
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The front end a test puts before the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// nginx 1.22, `uwsgi_pass` and Debian's `uwsgi_params` (`peers::nginx`).
    Nginx,
    /// `uwsgi-wire gateway` (the CLI beside the test binary), which sends the vars
    /// nginx's `uwsgi_params` would.
    Gateway,
}

/// What keeps the front end running (stopped on drop).
#[allow(dead_code)] // held for its Drop only
enum FrontEnd {
    Nginx(peers::FrontEnd),
    Gateway(Peer),
}

/// The host and a front end before it, stopped on drop.
pub struct Stack {
    pub host: Peer,
    _front: FrontEnd,
    /// The front end's HTTP port.
    pub port: u16,
    /// The host's `--socket`, unique to it (to find its pid).
    pub socket: String,
    pub dir: TempDir,
}

/// Starts the host with `args` (after `--socket` and `--chdir`), in a temp folder with
/// the applications, and nginx in front of it.
pub fn stack(name: &str, args: &[&str]) -> Stack {
    stack_behind(Front::Nginx, name, args)
}

/// [`stack`] behind `front`.
pub fn stack_behind(front: Front, name: &str, args: &[&str]) -> Stack {
    let dir = TempDir::new(name);
    for app in ["app.py", "hello.py", "flask_app.py"] {
        std::fs::copy(Path::new(APPS).join(app), dir.path().join(app)).expect("copy the app");
    }
    // The Django project the conformance tests share.
    let django = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/peers/django/uwtest");
    let project = dir.mkdir("uwtest");
    for file in std::fs::read_dir(&django).expect("tests/peers/django/uwtest") {
        let file = file.expect("read tests/peers/django/uwtest").path();
        if file.extension().is_some_and(|ext| ext == "py") {
            let to = project.join(file.file_name().unwrap());
            std::fs::copy(&file, to).expect("copy the Django project");
        }
    }
    let chdir = dir.path().display().to_string();
    let (host, backend) = start_listening(|port| {
        let socket = format!("127.0.0.1:{port}");
        let mut all = vec!["--socket", &socket, "--chdir", &chdir];
        all.extend_from_slice(args);
        Peer::start(name, dir.path(), "INT", Duration::from_secs(300), HOST, all)
    });
    let (front, port) = match front {
        Front::Nginx => {
            let nginx = peers::nginx(&dir, backend);
            let port = nginx.port;
            (FrontEnd::Nginx(nginx), port)
        }
        Front::Gateway => {
            let (gateway, port) = gateway(&dir, backend);
            (FrontEnd::Gateway(gateway), port)
        }
    };
    Stack {
        port,
        socket: format!("127.0.0.1:{backend}"),
        host,
        _front: front,
        dir,
    }
}

/// The CLI (`uwsgi-wire`, which `cargo test --workspace` builds beside this test) as
/// the gateway before `backend`, bodies up to 64 MiB (nginx's are unbounded here).
fn gateway(dir: &TempDir, backend: u16) -> (Peer, u16) {
    let bin = examples::cli_binary().display().to_string();
    let args = [
        format!("127.0.0.1:{backend}"),
        "--max-body".to_owned(),
        "64M".to_owned(),
    ];
    start_gateway(&bin, dir.path(), Duration::from_secs(300), args)
}

/// A response as the test client read it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {} {}", self.status, self.text()))
    }
}

pub fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to nginx");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// One HTTP/1.1 request (`Connection: close`), the whole response read.
pub fn http(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = connect(port);
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    parse(&raw)
}

pub fn parse(raw: &[u8]) -> Response {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    let _version = parts.next();
    let status = parts.next().unwrap().parse().unwrap();
    let reason = parts.next().unwrap_or_default().to_owned();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_owned(), v.trim().to_owned())
        })
        .collect();
    let mut response = Response {
        status,
        reason,
        headers,
        body: raw[end + 4..].to_vec(),
    };
    if response.header("transfer-encoding") == Some("chunked") {
        response.body = dechunk(&response.body)
            .unwrap_or_else(|| panic!("a cut chunked body: {:?}", String::from_utf8_lossy(raw)));
    }
    response
}

/// A WSGI request packet (modifier1 0) with these vars, as a front end sends it.
pub fn wsgi_packet(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut vars = uwsgi_wire::VarsBuilder::default();
    for (key, value) in pairs {
        vars.push(key, value).unwrap();
    }
    let payload = uwsgi_wire::Payload::Vars(vars.vars());
    let packet = uwsgi_wire::Packet::new(uwsgi_wire::Modifier1::WSGI, 0, payload).unwrap();
    let mut out = Vec::new();
    uwsgi_wire::io::write_packet(&mut out, &packet).unwrap();
    out
}

/// A GET with these headers.
pub fn get(port: u16, target: &str, headers: &[(&str, &str)]) -> Response {
    http(port, "GET", target, headers, b"")
}

/// A urlencoded form POSTed to `/form`.
pub fn post_form(port: u16, body: &[u8]) -> Response {
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    http(port, "POST", "/form", &form, body)
}

/// The body of a chunked response (nginx chunks what has no Content-Length).
pub fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&raw[..line_end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size + 2..)?;
    }
}

pub fn check_pattern(offset: u64, data: &[u8], pattern: &[u8]) {
    for (i, b) in data.iter().enumerate() {
        let at = (offset + i as u64) % 256;
        assert_eq!(*b, pattern[at as usize], "byte {}", offset + i as u64);
    }
}

// The cases run behind both front ends (nginx.rs, gateway.rs), on a stack serving
// `app.py`.

/// `GET /env` with a query and cookies: the CGI environ the app sees (returned for the
/// caller's own checks).
pub fn query_and_cookies(s: &Stack) -> serde_json::Value {
    let r = http(
        s.port,
        "GET",
        "/env?a=1&b=%C3%A9",
        &[
            ("Cookie", "session=abc; theme=dark"),
            ("X-Forwarded-Proto", "https"),
        ],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let env = r.json();
    assert_eq!(env["REQUEST_METHOD"], "GET");
    assert_eq!(env["QUERY_STRING"], "a=1&b=%C3%A9");
    assert_eq!(env["PATH_INFO"], "/env");
    assert_eq!(env["REQUEST_URI"], "/env?a=1&b=%C3%A9");
    assert_eq!(env["HTTP_COOKIE"], "session=abc; theme=dark");
    assert_eq!(env["HTTP_X_FORWARDED_PROTO"], "https");
    assert_eq!(env["SERVER_PROTOCOL"], "HTTP/1.1");
    assert_eq!(env["SERVER_NAME"], "localhost");
    assert_eq!(env["CONTENT_LENGTH"], "");
    assert_eq!(env["wsgi.url_scheme"], "http");
    assert_eq!(env["wsgi.version"], serde_json::json!([1, 0]));
    env
}

/// A urlencoded form, then `wsgi.input`'s `read()`, `readline()`, `readlines()` and
/// iteration.
pub fn form_and_input_stream(s: &Stack) {
    let r = post_form(s.port, b"a=1&a=2&b=caf%C3%A9");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({"fields": {"a": ["1", "2"], "b": ["caf\u{e9}"]}, "extra": ""})
    );
    let r = http(s.port, "POST", "/readall", &[], b"abcdefgh");
    assert_eq!(r.json(), serde_json::json!(["abc", "defgh", ""]));
    // readline(), readline(size), readlines(hint) and iteration, in that order.
    let r = http(s.port, "POST", "/lines", &[], LINES);
    assert_eq!(
        r.json(),
        serde_json::json!(["one\n", "two", "\n", "three\n", "four\n", "five"])
    );
}

/// 10 MiB POSTed, hashed by the app as it reads them.
pub fn upload_10_mib(s: &Stack) {
    let body: Vec<u8> = (0..10u32 << 20).map(|i| (i * 7 + i / 4099) as u8).collect();
    let r = http(s.port, "POST", "/upload", &[], &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let expected = format!("{} {:x}", body.len(), Sha256::digest(&body));
    assert_eq!(r.text(), expected);
}

/// 100 MiB streamed by the app: all of it arrives, the host's memory stays bounded.
pub fn download_100_mib(s: &Stack) {
    let pid = pid_running(HOST, &s.socket);
    let before = status_kib(pid, "VmRSS");
    let mut stream = connect(s.port);
    stream
        .write_all(
            b"GET /download?mib=100 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    let (mut total, mut buf, mut raw_head) = (0u64, vec![0u8; 1 << 16], Vec::new());
    let expected: Vec<u8> = (0..=255u8).collect();
    let mut head_done = false;
    loop {
        let n = stream.read(&mut buf).expect("read the download");
        if n == 0 {
            break;
        }
        let mut data = &buf[..n];
        if !head_done {
            raw_head.extend_from_slice(data);
            let Some(end) = raw_head.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = parse(&raw_head[..end + 4]);
            assert_eq!(head.status, 200);
            assert_eq!(head.header("content-length"), Some("104857600"));
            data = &raw_head[end + 4..];
            head_done = true;
            let rest = data.to_vec();
            check_pattern(total, &rest, &expected);
            total += rest.len() as u64;
            continue;
        }
        check_pattern(total, data, &expected);
        total += data.len() as u64;
    }
    assert_eq!(total, 100 << 20);
    let peak = status_kib(pid, "VmHWM");
    eprintln!("host RSS before the download: {before} KiB, peak: {peak} KiB");
    // One 64 KiB chunk at a time: the peak stays within a few MiB of the start.
    assert!(
        peak < before + 16 * 1024,
        "peak {peak} KiB, before {before} KiB"
    );
}

/// A view that raises: a 500 with the traceback in the log, and the host serves on.
pub fn view_raises(s: &Stack) {
    for _ in 0..3 {
        let r = http(s.port, "GET", "/boom", &[], b"");
        assert_eq!(
            (r.status, r.text().as_str()),
            (500, "Internal Server Error")
        );
        let r = http(s.port, "GET", "/cookies", &[], b"");
        assert_eq!(r.status, 201);
    }
    let log = s.host.log();
    assert!(log.contains("Traceback (most recent call last)"), "{log}");
    assert!(log.contains("RuntimeError: boom from the view"), "{log}");
}
