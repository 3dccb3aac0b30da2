//! `uwsgi-wire gateway` (the CLI's HTTP -> uwsgi gateway, on the client driver) in front
//! of the same real servers as `client_driver.rs` (uWSGI 2.0 and gunicorn 27 serving the
//! Django project of `tests/peers/django/`), and beside nginx 1.22's `uwsgi_pass`: the
//! app must see the same environ through both, port-derived values aside.
//!
//! The gateway is the CLI binary that `cargo test --workspace` builds beside this test
//! binary (`target/<profile>/uwsgi-wire`).
#![cfg(feature = "client")]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::client::{Conn, HttpRequest, HttpResponse};
use crate::client_driver::{servers, Server};
use crate::harness::{self, require, Peer, TempDir, NGINX};
use crate::peers::nginx;

/// A running gateway in front of `upstreams`.
pub(crate) struct Gateway {
    pub(crate) port: u16,
    pid: u32,
    pub(crate) peer: Peer,
    _dir: TempDir,
}

impl Gateway {
    pub(crate) fn start(upstreams: &[String], extra: &[&str]) -> Gateway {
        let dir = TempDir::new("gateway");
        let bin = crate::own_servers::examples::cli_binary()
            .display()
            .to_string();
        let mut args: Vec<String> = upstreams.to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push("--trace".to_owned());
        let (peer, port) = harness::start_gateway(&bin, dir.path(), Duration::from_secs(300), args);
        let pid = harness::pid_running(&bin, &format!("127.0.0.1:{port}"));
        Gateway {
            port,
            pid,
            peer,
            _dir: dir,
        }
    }

    fn peak_rss_kib(&self) -> u64 {
        harness::status_kib(self.pid, "VmHWM")
    }
}

fn get(port: u16, target: &str) -> HttpResponse {
    HttpRequest::new("GET", target, port).send(port, b"").1
}

/// The raw response to `request` on a new connection: head and body bytes as read
/// until the server closes (or the read times out).
fn raw(port: u16, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect the gateway");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream.write_all(request).expect("write the request");
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    out
}

/// Both Django servers, each behind a gateway of its own.
fn stacks(extra: &[&str]) -> Option<Vec<(Server, Gateway)>> {
    let servers = servers()?;
    Some(
        servers
            .into_iter()
            .map(|server| {
                let gateway = Gateway::start(&[server.addr()], extra);
                (server, gateway)
            })
            .collect(),
    )
}

#[test]
fn get_with_a_query_and_cookies() {
    let Some(stacks) = stacks(&[]) else { return };
    for (server, gateway) in &stacks {
        let (local_port, response) =
            HttpRequest::new("GET", "/echo?a=1&a=2&q=caf%C3%A9", gateway.port)
                .header("Cookie", "session=abc; theme=dark")
                .send(gateway.port, b"");
        let echo = response.json();
        assert_eq!(echo["method"], "GET", "{:?}", server.kind);
        assert_eq!(echo["query"]["a"], serde_json::json!(["1", "2"]));
        assert_eq!(echo["query"]["q"], serde_json::json!(["café"]));
        assert_eq!(echo["cookies"]["session"], "abc");
        assert_eq!(echo["cookies"]["theme"], "dark");
        // The real client's address, as nginx sends it (gunicorn reports its own
        // socket peer: the gateway, also 127.0.0.1).
        assert_eq!(echo["remote_addr"], "127.0.0.1");
        let log = gateway.peer.log();
        assert!(
            log.contains(&format!("REMOTE_PORT={local_port}")),
            "the vars sent carry the client's port {local_port}: {log}"
        );
        assert!(log.contains("status=200"), "{log}");
    }
}

#[test]
fn a_form_post_and_a_10_mib_body() {
    let Some(stacks) = stacks(&["--max-body", "16M"]) else {
        return;
    };
    for (server, gateway) in &stacks {
        let form = b"name=J%C3%B6rg&tag=a&tag=b&empty=";
        let (_, response) = HttpRequest::new("POST", "/echo", gateway.port)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Content-Length", form.len().to_string())
            .send(gateway.port, form);
        let echo = response.json();
        assert_eq!(
            echo["form"]["name"],
            serde_json::json!(["Jörg"]),
            "{:?}",
            server.kind
        );
        assert_eq!(echo["form"]["tag"], serde_json::json!(["a", "b"]));
        assert_eq!(echo["form"]["empty"], serde_json::json!([""]));

        let body: Vec<u8> = (0..10u32 << 20).map(|i| (i * 7 % 253) as u8).collect();
        let (_, response) = HttpRequest::new("POST", "/sha256", gateway.port)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", body.len().to_string())
            .send(gateway.port, &body);
        let got = response.json();
        assert_eq!(got["length"], body.len());
        let want: String = Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got["sha256"], want.as_str(), "{:?}", server.kind);

        // Over --max-body: 413 from the gateway, the upstream never asked.
        let (_, response) = HttpRequest::new("POST", "/sha256", gateway.port)
            .header("Content-Length", (17u64 << 20).to_string())
            .send(gateway.port, b"");
        assert_eq!(response.status, 413);
    }
}

#[test]
fn a_100_mib_download_streams_with_the_gateway_memory_bounded() {
    let Some(stacks) = stacks(&[]) else { return };
    for (server, gateway) in &stacks {
        // Warm up (the runtime's threads, the first connection), then measure the peak.
        get(gateway.port, "/echo").json();
        let before = gateway.peak_rss_kib();
        let n: usize = 100 << 20;
        let mut stream = TcpStream::connect(("127.0.0.1", gateway.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let request =
            format!("GET /download?n={n} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).expect("write");
        let head = read_head(&mut stream).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains(&format!("content-length: {n}")), "{head}");
        let mut got = 0usize;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let read = stream.read(&mut buf).expect("read the body");
            if read == 0 {
                break;
            }
            for (i, &b) in buf[..read].iter().enumerate() {
                assert_eq!(b as usize, (got + i) % 251, "byte {}", got + i);
            }
            got += read;
        }
        assert_eq!(got, n, "{:?}", server.kind);
        let after = gateway.peak_rss_kib();
        eprintln!(
            "measured: {:?} 100 MiB through the gateway, its peak RSS {before} -> {after} KiB",
            server.kind
        );
        assert!(
            after.saturating_sub(before) < 16 * 1024,
            "the gateway's peak RSS grew {before} -> {after} KiB over a 100 MiB download"
        );
    }
}

#[test]
fn non_200_statuses_keep_their_headers() {
    let Some(stacks) = stacks(&[]) else { return };
    for (server, gateway) in &stacks {
        for code in [404u16, 418, 503, 301] {
            let target = format!("/status/{code}?h=X-Test:yes&h=Location:/elsewhere");
            let answer = raw(
                gateway.port,
                format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
            let text = String::from_utf8_lossy(&answer);
            let status_line = text.lines().next().unwrap_or_default();
            assert!(
                status_line.starts_with(&format!("HTTP/1.1 {code} ")),
                "{:?}: {text}",
                server.kind
            );
            let lower = text.to_ascii_lowercase();
            assert!(lower.contains("\r\nx-test: yes\r\n"), "{text}");
            assert!(lower.contains("\r\nlocation: /elsewhere\r\n"), "{text}");
            assert_eq!(lower.matches("\r\nset-cookie: ").count(), 2, "{text}");
            assert!(text.ends_with(&format!("status {code}")), "{text}");
        }
    }
}

#[test]
fn an_upstream_that_dies_mid_response_cuts_the_client_connection() {
    let Some(stacks) = stacks(&[]) else { return };
    for (server, gateway) in &stacks {
        let n = 100_000;
        let answer = raw(
            gateway.port,
            format!("GET /die?n={n} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        let at = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a head");
        let head = String::from_utf8_lossy(&answer[..at]).to_ascii_lowercase();
        assert!(
            head.contains(&format!("content-length: {}", 2 * n)),
            "{head}"
        );
        let body = answer.len() - at - 4;
        // Cut as the upstream's was, never padded nor presented as complete.
        assert!(body < 2 * n, "{:?}: {body} body bytes", server.kind);
        let log = gateway.peer.log();
        assert!(
            log.contains("upstream body: "),
            "one log line says why: {log}"
        );
    }
}

#[test]
fn an_upstream_that_is_down_is_502_and_one_too_slow_is_504() {
    let Some(mut stacks) = stacks(&["--timeout", "1"]) else {
        return;
    };
    for (server, gateway) in &stacks {
        let started = Instant::now();
        let response = get(gateway.port, "/slow?s=4");
        assert_eq!(response.status, 504, "{:?}", server.kind);
        assert!(started.elapsed() < Duration::from_secs(3));
    }
    for (server, gateway) in &mut stacks {
        server.peer.stop();
        let response = get(gateway.port, "/echo");
        assert_eq!(response.status, 502, "{:?}", server.kind);
        let log = gateway.peer.log();
        assert!(log.contains("status=502"), "{log}");
        assert!(
            log.contains(&server.addr()),
            "the log line names the upstream: {log}"
        );
    }
}

#[test]
fn several_upstreams_are_used_round_robin() {
    let Some(servers) = servers() else { return };
    let upstreams: Vec<String> = servers.iter().map(Server::addr).collect();
    let gateway = Gateway::start(&upstreams, &[]);
    for _ in 0..4 {
        get(gateway.port, "/echo").json();
    }
    let log = gateway.peer.log();
    for upstream in &upstreams {
        let used = log.matches(&format!("upstream=\"{upstream}\"")).count();
        assert_eq!(used, 2, "{upstream}: {log}");
    }
}

/// The environ a request gives the app, minus what depends on ports (the client's,
/// the front end's) and on the server's own connection.
fn environ(port: u16, request: &HttpRequest, body: &[u8]) -> BTreeMap<String, Value> {
    let mut conn = Conn::open(port);
    conn.write(&request.bytes());
    conn.write(body);
    let response = conn.response();
    let Value::Object(map) = response.json() else {
        panic!("not an object")
    };
    map.into_iter()
        .filter(|(key, _)| !matches!(key.as_str(), "REMOTE_PORT" | "SERVER_PORT"))
        .collect()
}

#[test]
fn the_app_sees_the_same_environ_through_nginx_and_through_the_gateway() {
    require!(NGINX);
    let Some(servers) = servers() else { return };
    for server in &servers {
        let dir = TempDir::new("gateway-vs-nginx");
        let front = nginx(&dir, server.port);
        let gateway = Gateway::start(&[server.addr()], &["--document-root", &front.docroot]);
        let requests: Vec<(HttpRequest, Vec<u8>)> = vec![
            (
                HttpRequest::new("GET", "/environ?x=1&y=%20z", 0)
                    .header("User-Agent", "uwsgi-wire-test/1")
                    .header("Accept", "*/*")
                    .header("Cookie", "a=1; b=2")
                    .header("X-Forwarded-For", "198.51.100.7"),
                Vec::new(),
            ),
            (
                HttpRequest::new("POST", "/environ", 0)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .header("Content-Length", "7")
                    .header("X-Custom", "one"),
                b"a=1&b=2".to_vec(),
            ),
        ];
        for (request, body) in &requests {
            let through_nginx = environ(front.port, request, body);
            let through_gateway = environ(gateway.port, request, body);
            assert_eq!(
                through_nginx,
                through_gateway,
                "{:?}: the environ through nginx (left) and the gateway (right) for {}",
                server.kind,
                String::from_utf8_lossy(&request.bytes())
            );
        }
    }
}

/// Reads a response head from `stream`, byte by byte (nothing of the body).
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).expect("read the head"),
            1,
            "head cut"
        );
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Reads one response with a Content-Length body from `stream`; its head and body.
fn read_one(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let head = read_head(stream);
    let len: usize = head
        .to_ascii_lowercase()
        .lines()
        .find_map(|line| line.strip_prefix("content-length: ")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Content-Length: {head}"));
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).expect("read the body");
    (head, body)
}

#[test]
fn clients_keep_their_connection_alive_and_heads_are_bounded() {
    let Some(servers) = servers() else { return };
    let gateway = Gateway::start(&[servers[0].addr()], &["--max-head", "8K"]);
    let mut stream = TcpStream::connect(("127.0.0.1", gateway.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    for i in 0..3 {
        let request = format!("GET /echo?i={i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        stream.write_all(request.as_bytes()).expect("write");
        let (head, body) = read_one(&mut stream);
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        let echo: Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(echo["query"]["i"], serde_json::json!([i.to_string()]));
    }

    // A head over --max-head: 431 from the gateway (hyper's verdict), nothing sent on.
    let big = "a".repeat(16 * 1024);
    let answer = raw(
        gateway.port,
        format!("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {big}\r\n\r\n").as_bytes(),
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 431 "), "{text}");
}

/// The bytes of a chunked response body, as an app may send them.
const CHUNKED: &[u8] = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";

#[test]
fn a_chunked_upstream_body_is_passed_on_as_bytes_as_nginx_does() {
    require!(NGINX);
    // A uwsgi backend whose answer is chunked: every connection gets the same reply.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let backend = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 65536];
            let _ = stream.read(&mut request);
            let mut reply =
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .to_vec();
            reply.extend_from_slice(CHUNKED);
            let _ = stream.write_all(&reply);
        }
    });
    let dir = TempDir::new("gateway-chunked");
    let front = nginx(&dir, backend);
    let gateway = Gateway::start(&[format!("127.0.0.1:{backend}")], &[]);
    for (who, port) in [("nginx", front.port), ("gateway", gateway.port)] {
        // HTTP/1.0: the front end cannot chunk its answer, so the body is what it
        // makes of the upstream's, byte for byte.
        let answer = raw(port, b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
        let at = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("{who}: no head: {answer:?}"));
        let head = String::from_utf8_lossy(&answer[..at]).to_ascii_lowercase();
        // nginx answers HTTP/1.1, hyper the client's HTTP/1.0.
        assert!(
            head.starts_with("http/1.") && head[8..].starts_with(" 200"),
            "{who}: {head}"
        );
        assert!(!head.contains("transfer-encoding"), "{who}: {head}");
        assert_eq!(
            String::from_utf8_lossy(&answer[at + 4..]),
            String::from_utf8_lossy(CHUNKED),
            "{who}: the chunked body, undecoded"
        );
    }
}

#[test]
fn a_chunked_body_is_buffered_up_to_max_body_then_413() {
    let Some(servers) = servers() else { return };
    let gateway = Gateway::start(&[servers[0].addr()], &["--max-body", "4M"]);
    let chunked = |len: usize| -> (Vec<u8>, String) {
        let body: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let mut wire = Vec::new();
        for piece in body.chunks(64 * 1024) {
            wire.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            wire.extend_from_slice(piece);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"0\r\n\r\n");
        let sha: String = Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        (wire, sha)
    };
    // 2 MiB with no length: buffered, sent with its CONTENT_LENGTH.
    let (wire, sha) = chunked(2 << 20);
    let (_, response) = HttpRequest::new("POST", "/sha256", gateway.port)
        .header("Transfer-Encoding", "chunked")
        .send(gateway.port, &wire);
    let got = response.json();
    assert_eq!(got["length"], 2 << 20);
    assert_eq!(got["sha256"], sha.as_str());
    // 6 MiB with no length: over --max-body, 413 (nginx's answer), one log line.
    let (wire, _) = chunked(6 << 20);
    let (_, response) = HttpRequest::new("POST", "/sha256", gateway.port)
        .header("Transfer-Encoding", "chunked")
        .send(gateway.port, &wire);
    assert_eq!(response.status, 413);
    assert!(
        gateway.peer.log().contains("request body too large"),
        "{}",
        gateway.peer.log()
    );
}

#[test]
fn a_client_that_stops_reading_is_closed_after_the_timeout() {
    let Some(servers) = servers() else { return };
    let gateway = Gateway::start(&[servers[0].addr()], &["--send-timeout", "1"]);
    let n: usize = 100 << 20;
    let mut stream = TcpStream::connect(("127.0.0.1", gateway.port)).expect("connect");
    let request =
        format!("GET /download?n={n} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    // Read nothing for longer than the timeout: the gateway's writes stall, and it
    // gives the connection up instead of holding it (and its upstream) for ever.
    std::thread::sleep(Duration::from_secs(4));
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut got = 0usize;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(read) => got += read,
        }
    }
    assert!(
        got < n,
        "the whole {n} bytes came: the stalled connection was kept"
    );
}

/// The answer to a raw request: status, headers (names lower case, in order) and
/// body, read until the server closes (`Connection: close`).
pub(crate) fn exchange(port: u16, request: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let out = raw(port, request.as_bytes());
    let end = crate::client::find(&out, b"\r\n\r\n").expect("a response head") + 4;
    let head = String::from_utf8_lossy(&out[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, headers, out[end..].to_vec())
}

#[test]
fn static_files_are_served_as_nginx_serves_them_through_alias_and_root() {
    require!(NGINX);
    let dir = TempDir::new("gateway-static");
    let public = dir.mkdir("public");
    let root = dir.mkdir("root");
    std::fs::create_dir_all(public.join("css")).expect("mkdir");
    std::fs::create_dir_all(public.join("docs")).expect("mkdir");
    std::fs::write(public.join("css/app.css"), "body { color: red }\n").expect("write");
    std::fs::write(public.join("notes.txt"), "line one\nline two\n").expect("write");
    std::fs::write(public.join("logo.png"), crate::client::pattern(3000)).expect("write");
    std::fs::write(public.join("data.json"), "{\"a\": 1}\n").expect("write");
    std::fs::write(public.join("docs/index.html"), "<p>docs</p>\n").expect("write");
    std::fs::write(public.join("a b.txt"), "spaced\n").expect("write");
    std::fs::write(public.join("empty.txt"), "").expect("write");
    // From before 1970: nginx's `Last-Modified` is 1970's first second, its ETag's time
    // negative (http-serve's date formatting would panic on it).
    std::fs::write(public.join("old.txt"), "from 1960\n").expect("write");
    let sixties = std::time::UNIX_EPOCH - std::time::Duration::from_secs(315_619_200);
    std::fs::File::options()
        .write(true)
        .open(public.join("old.txt"))
        .and_then(|file| file.set_modified(sixties))
        .expect("set_modified");
    std::fs::create_dir_all(public.join("no-index")).expect("mkdir");
    std::fs::write(root.join("index.html"), "<p>root</p>\n").expect("write");
    std::fs::write(root.join("robots.txt"), "User-agent: *\n").expect("write");
    dir.write("secret.txt", "SECRET\n");

    let server = format!(
        "root {root};\n        location / {{ index index.html; }}\n        \
         location /static/ {{ alias {public}/; }}\n        \
         include /etc/nginx/mime.types;\n        default_type application/octet-stream;",
        root = root.display(),
        public = public.display(),
    );
    let nginx_dir = TempDir::new("gateway-static-nginx");
    let (_nginx, nginx_port) = crate::peers::nginx_server(&nginx_dir, &server);
    let gateway = Gateway::start(
        &[],
        &[
            "--static",
            &format!("/static/={}/", public.display()),
            "--root",
            &root.display().to_string(),
        ],
    );

    let request = |target: &str, extra: &str| {
        format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n")
    };
    let header = |headers: &[(String, String)], name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    // The same request to both: the same status, body and these headers.
    let same = |request: String| {
        let (n_status, n_headers, n_body) = exchange(nginx_port, &request);
        let (g_status, g_headers, g_body) = exchange(gateway.port, &request);
        assert_eq!(
            n_status, g_status,
            "status, nginx (left) and the gateway: {request}"
        );
        // An error's page is nginx's HTML, the gateway's one text line: not compared.
        let answered = n_status < 300 || n_status == 304;
        if answered {
            assert_eq!(
                n_body, g_body,
                "body, nginx (left) and the gateway: {request}"
            );
        }
        for name in [
            "content-type",
            "content-length",
            "content-range",
            "last-modified",
            "etag",
            "accept-ranges",
        ] {
            // nginx sends no Accept-Ranges on a 206, a 304 or an error; http-serve
            // sends it on every file (harmless: the client may use ranges).
            if name == "accept-ranges" && n_status != 200 {
                continue;
            }
            if !answered && name != "content-range" {
                continue;
            }
            assert_eq!(
                header(&n_headers, name),
                header(&g_headers, name),
                "{name}, nginx (left) and the gateway: {request}"
            );
        }
        (n_status, n_headers)
    };

    for target in [
        "/static/css/app.css",
        "/static/notes.txt",
        "/static/logo.png",
        "/static/data.json",
        "/static/docs/",
        "/static/a%20b.txt",
        "/static//css/./app.css",
        "/static/docs/../notes.txt",
        "/static/old.txt",
        "/",
        "/robots.txt",
    ] {
        let (status, headers) = same(request(target, ""));
        assert_eq!(status, 200, "{target}");
        assert!(header(&headers, "etag").is_some(), "{target}");
    }
    for target in [
        "/static/missing.css",
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/missing",
    ] {
        let (n_status, _, n_body) = exchange(nginx_port, &request(target, ""));
        let (g_status, _, g_body) = exchange(gateway.port, &request(target, ""));
        assert_eq!(n_status, g_status, "{target}");
        assert!(
            !String::from_utf8_lossy(&n_body).contains("SECRET"),
            "{target}"
        );
        assert!(
            !String::from_utf8_lossy(&g_body).contains("SECRET"),
            "{target}"
        );
    }

    let (_, headers) = same(request("/static/notes.txt", ""));
    let etag = header(&headers, "etag").expect("an ETag");
    let modified = header(&headers, "last-modified").expect("a Last-Modified");
    let later = "Fri, 01 Jan 2100 00:00:00 GMT";
    let cases = [
        (format!("If-None-Match: {etag}\r\n"), 304),
        (format!("If-None-Match: \"other\", W/{etag}\r\n"), 304),
        ("If-None-Match: \"other\"\r\n".to_owned(), 200),
        (format!("If-Modified-Since: {modified}\r\n"), 304),
        // nginx's `if_modified_since exact`: a later date is not the file's date.
        (format!("If-Modified-Since: {later}\r\n"), 200),
        (
            format!("If-Modified-Since: {modified}\r\nIf-None-Match: \"other\"\r\n"),
            200,
        ),
        ("Range: bytes=5-12\r\n".to_owned(), 206),
        ("Range: bytes=-4\r\n".to_owned(), 206),
        ("Range: bytes=9-\r\n".to_owned(), 206),
        ("Range: bytes=100-200\r\n".to_owned(), 416),
        // nginx's range parser: a syntax error or no byte of the file is 416, ranges
        // longer together than the file are the whole file.
        ("Range: bytes=abc\r\n".to_owned(), 416),
        ("Range: bytes=-0\r\n".to_owned(), 416),
        ("Range: bytes=18-\r\n".to_owned(), 416),
        ("Range: bytes=0-100,1-2\r\n".to_owned(), 200),
        ("Range: items=0-3\r\n".to_owned(), 200),
        (
            "Range: bytes=abc\r\nIf-Range: \"stale\"\r\n".to_owned(),
            200,
        ),
        (format!("Range: bytes=0-3\r\nIf-Range: {etag}\r\n"), 206),
        (
            "Range: bytes=0-3\r\nIf-Range: \"stale\"\r\n".to_owned(),
            200,
        ),
        (format!("Range: bytes=0-3\r\nIf-Range: {modified}\r\n"), 206),
        (
            format!("Range: bytes=0-3\r\nIf-None-Match: {etag}\r\n"),
            304,
        ),
    ];
    for (extra, status) in &cases {
        let (got, _) = same(request("/static/notes.txt", extra));
        assert_eq!(got, *status, "{extra}");
    }
    // The file from before 1970: its ETag matches, 1970's first second is not its date.
    let (_, headers) = same(request("/static/old.txt", ""));
    let etag = header(&headers, "etag").expect("an ETag");
    let extra = format!("If-None-Match: {etag}\r\n");
    assert_eq!(same(request("/static/old.txt", &extra)).0, 304);
    let epoch = "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n";
    assert_eq!(same(request("/static/old.txt", epoch)).0, 200);
    // A Range on an empty file: the (empty) file; a directory without its index: 403.
    let (status, _) = same(request("/static/empty.txt", "Range: bytes=0-1\r\n"));
    assert_eq!(status, 200);
    let (status, _) = same(request("/static/no-index/", ""));
    assert_eq!(status, 403);
    // HEAD: the GET's head, no body.
    let head = "HEAD /static/css/app.css HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let (status, _) = same(head.to_owned());
    assert_eq!(status, 200);
}

/// The vars of one request, in order, as text; `REMOTE_PORT` and `SERVER_PORT` checked
/// against the client's and the front end's port and then named, not numbered, as
/// are those ports inside the values.
fn recorded_vars(
    capture: &crate::backend::Capture,
    client_port: u16,
    front_port: u16,
) -> Vec<(String, String)> {
    let request = capture.request();
    let ports = |value: String| {
        value
            .replace(&client_port.to_string(), "<client-port>")
            .replace(&front_port.to_string(), "<front-port>")
    };
    request
        .vars()
        .iter()
        .map(|(key, value)| {
            (
                String::from_utf8_lossy(key).into_owned(),
                ports(String::from_utf8_lossy(value).into_owned()),
            )
        })
        .collect()
}

/// The value of `key` among recorded vars.
fn var<'a>(vars: &'a [(String, String)], key: &str) -> Option<&'a str> {
    vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `head` (its lines, each ending in CRLF), `Connection: close` and `body` on a new
/// connection: the client's port and the response.
fn send_closing(port: u16, head: &str, body: &[u8]) -> (u16, HttpResponse) {
    let mut conn = Conn::open(port);
    conn.write(format!("{head}Connection: close\r\n\r\n").as_bytes());
    conn.write(body);
    let client = conn.local_port;
    (client, conn.response())
}

#[test]
fn params_with_nginx_variables_reach_the_app_as_nginx_sends_them() {
    require!(NGINX);
    let backend = crate::backend::Backend::start();
    let dir = TempDir::new("gateway-vars");
    let docroot = dir.mkdir("docroot").display().to_string();
    // The guide's four params, and every other variable the gateway knows.
    let params = [
        ("X-Real-IP", "$remote_addr"),
        ("X-Forwarded-For", "$proxy_add_x_forwarded_for"),
        ("Host", "$host"),
        ("X-Forwarded-Proto", "$http_x_forwarded_proto"),
        (
            "X_ALL",
            "${scheme}://$host$request_uri|$server_name|$http_cookie|$http_accept",
        ),
        ("X_PORTS", "$remote_addr:$remote_port -> $server_port"),
        ("X_LITERAL", "no variable"),
    ];
    let uwsgi_params: String = params
        .iter()
        .map(|(key, value)| format!("uwsgi_param {key} \"{value}\";\n            "))
        .collect();
    let server = format!(
        "root {docroot};\n        location / {{\n            include /etc/nginx/uwsgi_params;\n            \
         {uwsgi_params}uwsgi_pass 127.0.0.1:{port};\n        }}",
        port = backend.port()
    );
    let (_nginx, nginx_port) = crate::peers::nginx_server(&dir, &server);
    let mut args = vec!["--document-root".to_owned(), docroot.clone()];
    for (key, value) in params {
        args.push(format!("--param={key}={value}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let gateway = Gateway::start(&[format!("127.0.0.1:{}", backend.port())], &args);

    // Raw heads: each sets its own Host (HttpRequest adds one).
    let requests: [(&str, &[u8]); 4] = [
        (
            "GET /main/a%20b/../c?x=1&y=%2F HTTP/1.1\r\nHost: MyApp.Example.COM.:8000\r\n\
             X-Forwarded-For: 198.51.100.7\r\nX-Forwarded-For: 203.0.113.9, 192.0.2.1\r\n\
             X-Forwarded-Proto: https\r\nCookie: a=1\r\nCookie: b=2\r\n\
             Accept: text/html\r\nAccept: */*\r\nX_Forwarded_Proto: spoofed\r\n",
            b"",
        ),
        // No forwarding headers: the client alone, an empty proto.
        ("GET / HTTP/1.1\r\nHost: localhost\r\n", b""),
        // Absolute form: nginx's $host is the request line's.
        (
            "GET http://Abs.Example/x?q HTTP/1.1\r\nHost: ignored.example\r\n",
            b"",
        ),
        (
            "POST /form HTTP/1.1\r\nHost: [::1]:8080\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n",
            b"a=1",
        ),
    ];
    let send = send_closing;
    for (head, body) in requests {
        let (client, response) = send(nginx_port, head, body);
        assert_eq!(
            response.status, 200,
            "nginx: {}: {head}",
            response.status_line
        );
        let through_nginx = recorded_vars(&backend.expect_request(), client, nginx_port);
        let (client, response) = send(gateway.port, head, body);
        assert_eq!(
            response.status, 200,
            "gateway: {}: {head}",
            response.status_line
        );
        let through_gateway = recorded_vars(&backend.expect_request(), client, gateway.port);
        assert_eq!(
            through_nginx, through_gateway,
            "the vars through nginx (left) and the gateway (right) for {head}"
        );
        let get = |key: &str| var(&through_gateway, key);
        assert_eq!(
            get("X_PORTS"),
            Some("127.0.0.1:<client-port> -> <front-port>")
        );
        assert_eq!(get("X-Real-IP"), Some("127.0.0.1"));
    }
}

#[test]
fn weights_and_a_refusing_upstream_as_nginx_upstream_block_does() {
    require!(NGINX);
    let (a, _) = harness::named_backend("a", Duration::ZERO);
    let (b, _) = harness::named_backend("b", Duration::ZERO);
    // Nothing listens there: every connect is refused.
    let dead = harness::free_port();
    let dir = TempDir::new("gateway-upstreams-nginx");
    let (nginx, nginx_port) = crate::peers::nginx_http(
        &dir,
        &format!(
            "upstream weighted {{ server 127.0.0.1:{a} weight=3; server 127.0.0.1:{b}; }}
    upstream failover {{ server 127.0.0.1:{dead}; server 127.0.0.1:{a}; }}"
        ),
        "location /w { include /etc/nginx/uwsgi_params; uwsgi_pass weighted; }
        location /f { include /etc/nginx/uwsgi_params; uwsgi_pass failover; }",
    );
    let gateway = Gateway::start(
        &[],
        &[
            &format!("--location=/w=127.0.0.1:{a} weight=3,127.0.0.1:{b}"),
            &format!("--location=/f=127.0.0.1:{dead},127.0.0.1:{a}"),
        ],
    );
    let answers = |port: u16, target: &str| -> Vec<(u16, String)> {
        (0..8)
            .map(|_| {
                let response = get(port, target);
                let body = String::from_utf8_lossy(&response.body).into_owned();
                (response.status, body)
            })
            .collect()
    };
    for target in ["/w", "/f"] {
        let through_nginx = answers(nginx_port, target);
        assert_eq!(
            answers(gateway.port, target),
            through_nginx,
            "{target}: nginx (left) and the gateway"
        );
    }
    // nginx's order for weights 3 and 1, and no request lost to the refusing one.
    let order: String = answers(gateway.port, "/w")
        .into_iter()
        .map(|(_, body)| body)
        .collect();
    assert_eq!(order, "aabaaaba");
    // Each tried the refusing upstream once, then left it out for its fail timeout.
    let nginx_errors = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
    assert_eq!(
        nginx_errors.matches("connect() failed").count(),
        1,
        "{nginx_errors}"
    );
    let log = gateway.peer.log();
    let refused = format!("connecting to 127.0.0.1:{dead}");
    assert_eq!(log.matches(&refused).count(), 1, "{log}");
    drop(nginx);
}

/// The lines of an access log once it has `n`, each with its time masked.
fn access_lines(path: &std::path::Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<String> = text
            .lines()
            .map(|line| match (line.find('['), line.find(']')) {
                (Some(open), Some(close)) if open < close => {
                    format!("{}[TIME]{}", &line[..open], &line[close + 1..])
                }
                _ => line.to_owned(),
            })
            .collect();
        if lines.len() >= n || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_access_log_has_nginx_combined_lines() {
    require!(NGINX);
    let (a, _) = harness::named_backend("a", Duration::ZERO);
    let dir = TempDir::new("gateway-access-log-nginx");
    let (nginx, nginx_port) = crate::peers::nginx_server(
        &dir,
        &format!("location / {{ include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:{a}; }}"),
    );
    let log_dir = TempDir::new("gateway-access-log");
    let log_path = log_dir.path().join("access.log");
    let gateway = Gateway::start(
        &[format!("127.0.0.1:{a}")],
        &["--access-log", &log_path.display().to_string()],
    );
    let requests: [&[u8]; 4] = [
        b"GET /x?y=1&z=%22 HTTP/1.1\r\nHost: localhost\r\nReferer: http://example.com/p?q=1\r\nUser-Agent: Mozilla/5.0 \"quoted\" \\ caf\xc3\xa9\r\nConnection: close\r\n\r\n",
        b"HEAD /head HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8.5.0\r\nConnection: close\r\n\r\n",
        b"GET /a%20b HTTP/1.0\r\n\r\n",
        b"GET /empty HTTP/1.1\r\nHost: localhost\r\nReferer: \r\nConnection: close\r\n\r\n",
    ];
    for request in requests {
        raw(nginx_port, request);
        raw(gateway.port, request);
    }
    let through_nginx = access_lines(&dir.path().join("access.log"), requests.len());
    let through_gateway = access_lines(&log_path, requests.len());
    assert_eq!(through_nginx.len(), requests.len(), "{through_nginx:#?}");
    eprintln!("measured: the access log lines through nginx: {through_nginx:#?}");
    assert_eq!(
        through_gateway, through_nginx,
        "the gateway (left) and nginx"
    );
    // The time as nginx writes it: 07/Dec/2026:17:30:00 +0000.
    let line = std::fs::read_to_string(&log_path).expect("the access log");
    let time = &line[line.find('[').expect("[") + 1..line.find(']').expect("]")];
    assert_eq!(time.len(), "07/Dec/2026:17:30:00 +0000".len(), "{time}");
    assert_eq!(&time[2..3], "/", "{time}");
    assert_eq!(&time[11..12], ":", "{time}");
    drop(nginx);
}

/// `curl` for HTTPS and HTTP/2, `openssl` for a self-signed certificate.
pub(crate) const TLS: &[harness::Need] = &[
    harness::Need::Program("curl", "curl"),
    harness::Need::Program("openssl", "openssl"),
];

/// A self-signed certificate for `myapp.example.com` and its key, in `dir`.
pub(crate) fn self_signed(dir: &TempDir) -> (String, String) {
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=myapp.example.com"])
        .args(["-addext", "subjectAltName=DNS:myapp.example.com"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl req: {status}");
    (cert.display().to_string(), key.display().to_string())
}

/// `curl -k` with `version` (`--http2`, `--http1.1`) to `https://myapp.example.com:PORT
/// TARGET` (resolved to 127.0.0.1): the HTTP version curl reports and its local port.
fn curl_https(port: u16, version: &str, target: &str) -> (String, u16) {
    let output = std::process::Command::new("curl")
        .args([
            "-sSk",
            "--path-as-is",
            "--max-time",
            "20",
            version,
            "-o",
            "/dev/null",
        ])
        .args(["-w", "%{http_code} %{http_version} %{local_port}"])
        .arg("--resolve")
        .arg(format!("myapp.example.com:{port}:127.0.0.1"))
        .args(["-H", "X-Forwarded-For: 198.51.100.7"])
        .arg(format!("https://myapp.example.com:{port}{target}"))
        .output()
        .expect("run curl");
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    let words: Vec<&str> = out.split(' ').collect();
    assert!(
        output.status.success() && words.len() == 3 && words[0] == "200",
        "curl {version} to {port}: {out} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (words[1].to_owned(), words[2].parse().expect("a port"))
}

#[test]
fn tls_with_http2_by_alpn_sends_the_vars_nginx_sends() {
    require!(NGINX);
    require!(TLS);
    let backend = crate::backend::Backend::start();
    let dir = TempDir::new("gateway-tls");
    let (cert, key) = self_signed(&dir);
    let docroot = dir.mkdir("docroot").display().to_string();
    let params = [
        ("X-Forwarded-Proto", "$scheme"),
        ("X-Forwarded-For", "$proxy_add_x_forwarded_for"),
        ("Host", "$host"),
        ("X_TLS", "$https|${scheme}://$host:$server_port$request_uri"),
    ];
    let uwsgi_params: String = params
        .iter()
        .map(|(key, value)| format!("uwsgi_param {key} \"{value}\";\n            "))
        .collect();
    // nginx's own TLS port beside the plain one the harness waits on.
    let nginx_tls = harness::free_port();
    let server = format!(
        "listen 127.0.0.1:{nginx_tls} ssl http2;\n        ssl_certificate {cert};\n        \
         ssl_certificate_key {key};\n        root {docroot};\n        location / {{\n            \
         include /etc/nginx/uwsgi_params;\n            {uwsgi_params}uwsgi_pass 127.0.0.1:{port};\n        }}",
        port = backend.port()
    );
    let (_nginx, _) = crate::peers::nginx_server(&dir, &server);
    let mut args = vec![
        "--document-root".to_owned(),
        docroot,
        "--tls-cert".to_owned(),
        cert,
        "--tls-key".to_owned(),
        key,
    ];
    for (key, value) in params {
        args.push(format!("--param={key}={value}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let gateway = Gateway::start(&[format!("127.0.0.1:{}", backend.port())], &args);

    for (flag, version) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let target = "/main/a%20b/../c?x=1";
        let (through, client) = curl_https(nginx_tls, flag, target);
        assert_eq!(through, version, "nginx {flag}");
        let through_nginx = recorded_vars(&backend.expect_request(), client, nginx_tls);
        let (through, client) = curl_https(gateway.port, flag, target);
        assert_eq!(
            through, version,
            "the gateway negotiated HTTP/{through} for {flag}"
        );
        let through_gateway = recorded_vars(&backend.expect_request(), client, gateway.port);
        eprintln!("measured: {flag} through the gateway: {through_gateway:?}");
        assert_eq!(
            through_nginx, through_gateway,
            "the vars through nginx (left) and the gateway (right), {flag}"
        );
        let get = |key: &str| var(&through_gateway, key);
        assert_eq!(get("HTTPS"), Some("on"));
        assert_eq!(get("REQUEST_SCHEME"), Some("https"));
        assert_eq!(get("X-Forwarded-Proto"), Some("https"));
        let protocol = if version == "2" {
            "HTTP/2.0"
        } else {
            "HTTP/1.1"
        };
        assert_eq!(get("SERVER_PROTOCOL"), Some(protocol));
        assert_eq!(
            get("X_TLS"),
            Some("on|https://myapp.example.com:<front-port>/main/a%20b/../c?x=1")
        );
    }
    // Plain HTTP on the TLS port: nginx's 400, from both, the connection closed.
    for port in [nginx_tls, gateway.port] {
        let head = "GET / HTTP/1.1\r\nHost: myapp.example.com\r\n";
        let (_, response) = send_closing(port, head, b"");
        assert_eq!(response.status, 400, "plain HTTP to the TLS port {port}");
    }
    backend.expect_no_connection(Duration::from_millis(200));
}
