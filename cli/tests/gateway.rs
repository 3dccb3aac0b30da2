//! `uwsgi-wire gateway` with locations, static files and a root, the built binary
//! with `uwsgi-wire serve` as its upstream (no peer needed): which location serves
//! each path, that no request path reaches outside a static directory, and the usage
//! errors (exit 2). The same files beside real nginx: tests/conformance/gateway.rs.
#![cfg(unix)]
// The harness modules are shared with tests/conformance; this file uses part of them.
#![allow(dead_code, unused_imports, unused_macros)]

#[path = "../../tests/conformance/client.rs"]
mod client;
#[path = "../../tests/conformance/harness.rs"]
mod harness;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use harness::{start_listening, Peer, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_uwsgi-wire");

/// `uwsgi-wire serve` (answers every request with its vars as JSON) on a free port.
fn serve(dir: &TempDir) -> (Peer, u16) {
    start_listening(|port| {
        Peer::start(
            "uwsgi-wire-serve",
            dir.path(),
            "INT",
            Duration::from_secs(120),
            BIN,
            ["serve".to_owned(), format!("127.0.0.1:{port}")],
        )
    })
}

/// `uwsgi-wire gateway 127.0.0.1:PORT ARGS...` on a free port.
fn gateway(dir: &TempDir, args: &[String]) -> (Peer, u16) {
    harness::start_gateway(BIN, dir.path(), Duration::from_secs(120), args.to_vec())
}

/// The status, the head and the body of the answer to `GET target` sent as raw bytes
/// (no client normalizes the path on its way).
fn get(port: u16, target: &str) -> (u16, String, Vec<u8>) {
    get_with(port, target, "Host: localhost\r\n")
}

/// [`get`] with `headers` (each line ending in CRLF) instead of `Host: localhost`.
fn get_with(port: u16, target: &str, headers: &str) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect the gateway");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let request = format!("GET {target} HTTP/1.1\r\n{headers}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    let end = client::find(&out, b"\r\n\r\n").expect("a response head") + 4;
    // Lower case: the gateway writes names title-cased, as nginx does.
    let head = String::from_utf8_lossy(&out[..end]).to_ascii_lowercase();
    let status = head[9..12].parse().expect("a status");
    (status, head, out[end..].to_vec())
}

#[test]
fn the_longest_matching_location_serves_a_path_and_none_is_404() {
    let dir = TempDir::new("cli-gateway-locations");
    let (_backend, backend) = serve(&dir);
    let files = dir.mkdir("files");
    std::fs::write(files.join("app.css"), "body {}\n").expect("write");
    let (_gateway, port) = gateway(
        &dir,
        &[
            format!("--location=/main=127.0.0.1:{backend}"),
            // Nothing listens on port 1: what this location serves answers 502.
            "--location=/main/down/=127.0.0.1:1".to_owned(),
            format!("--static=/main/static/={}", files.display()),
        ],
    );
    let status = |target| get(port, target).0;
    assert_eq!(status("/main"), 200);
    assert_eq!(status("/main/x?y=1"), 200);
    // A prefix, not a path segment, as nginx's `location /main`.
    assert_eq!(status("/mainly"), 200);
    assert_eq!(status("/main/down"), 200);
    assert_eq!(status("/main/down/x"), 502);
    // Matched on the normalized path, as nginx matches.
    assert_eq!(status("/main/x/../down/x"), 502);
    assert_eq!(status("/main/%64own/x"), 502);
    assert_eq!(status("//main//down/x"), 502);
    let (code, _, body) = get(port, "/main/static/app.css");
    assert_eq!((code, &body[..]), (200, &b"body {}\n"[..]));
    // The app sees the request as sent.
    let (_, _, body) = get(port, "/main/a%20b?q=1");
    let vars: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    let request_uri = vars["vars"]
        .as_array()
        .and_then(|pairs| pairs.iter().find(|pair| pair[0] == "REQUEST_URI"))
        .map(|pair| pair[1].clone());
    assert_eq!(request_uri, Some("/main/a%20b?q=1".into()), "{vars}");
    // Nothing serves `/`: nginx's 404, not an upstream's answer.
    assert_eq!(status("/"), 404);
    assert_eq!(status("/other"), 404);
    assert_eq!(status("/mai"), 404);
    // nginx's 400 for a path above the root.
    assert_eq!(status("/main/../../x"), 400);
}

#[test]
fn no_request_path_reaches_outside_a_static_directory_or_the_root() {
    let dir = TempDir::new("cli-gateway-static");
    let public = dir.mkdir("www/public");
    let root = dir.mkdir("www/root");
    std::fs::write(public.join("ok.txt"), "public\n").expect("write");
    std::fs::write(root.join("index.html"), "<p>root</p>\n").expect("write");
    // Beside each directory, and above both.
    for secret in ["www/secret.txt", "www/public-secret.txt", "secret.txt"] {
        dir.write(secret, "SECRET\n");
    }
    let (_gateway, port) = gateway(
        &dir,
        &[
            format!("--static=/static/={}", public.display()),
            format!("--root={}", root.display()),
        ],
    );
    assert_eq!(get(port, "/static/ok.txt").2, b"public\n");
    assert_eq!(get(port, "/").2, b"<p>root</p>\n");
    let attempts = [
        "/static/../secret.txt",
        "/static/../../secret.txt",
        "/static/../../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/%2e%2e/secret.txt",
        "/static/.%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%2f..%2fsecret.txt",
        "/static/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/static%2f..%2fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/..%5c..%5csecret.txt",
        "/static/..\\secret.txt",
        "/static/..\\..\\secret.txt",
        "/static/%5c..%5csecret.txt",
        "/static/..%252fsecret.txt",
        "/static/....//secret.txt",
        "/static/%2fsecret.txt",
        "/static//secret.txt",
        "/static/%00/../secret.txt",
        "/static/ok.txt%00",
        "/static/../public-secret.txt",
        "/static/..%2fpublic-secret.txt",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "//secret.txt",
        "/%2fsecret.txt",
    ];
    for target in attempts {
        let (status, head, body) = get(port, target);
        assert!(
            !String::from_utf8_lossy(&body).contains("SECRET"),
            "{target}: the secret was served: {head}"
        );
        assert!(
            matches!(status, 400 | 404),
            "{target}: {status}, not nginx's 400 or 404: {head}"
        );
    }
}

#[test]
fn a_directory_redirects_to_its_slash_and_gets_its_index() {
    let dir = TempDir::new("cli-gateway-index");
    let public = dir.mkdir("public/docs");
    std::fs::write(public.join("index.html"), "<p>docs</p>\n").expect("write");
    let (_gateway, port) = gateway(
        &dir,
        &[format!(
            "--static=/s/={}",
            dir.path().join("public").display()
        )],
    );
    let (status, head, _) = get(port, "/s/docs?x=1");
    assert_eq!(status, 301, "{head}");
    assert!(head.contains("location: /s/docs/?x=1\r\n"), "{head}");
    let (status, head, body) = get(port, "/s/docs/");
    assert_eq!((status, &body[..]), (200, &b"<p>docs</p>\n"[..]), "{head}");
    assert!(head.contains("content-type: text/html\r\n"), "{head}");
    assert!(head.contains("etag: \""), "{head}");
}

#[test]
fn a_large_file_is_read_in_chunks_and_ranges_in_any_order() {
    let dir = TempDir::new("cli-gateway-large");
    let public = dir.mkdir("public");
    // Four chunks of 256 KiB and a bit: every read after the first goes on where the
    // last one stopped, a range elsewhere seeks.
    let data = client::pattern((1 << 20) + 100);
    std::fs::write(public.join("big.bin"), &data).expect("write");
    let (_gateway, port) = gateway(&dir, &[format!("--static=/s/={}", public.display())]);
    let (status, head, body) = get(port, "/s/big.bin");
    assert_eq!(status, 200, "{head}");
    assert!(body == data, "the whole file, byte for byte");
    let (status, head, body) = get_with(
        port,
        "/s/big.bin",
        "Host: localhost\r\nRange: bytes=600000-600009,10-19,300000-\r\n",
    );
    assert_eq!(status, 206, "{head}");
    assert!(
        head.contains("content-type: multipart/byteranges; boundary="),
        "{head}"
    );
    // Each part: its Content-Range, then exactly those bytes of the file.
    let mut parts = Vec::new();
    let mut rest = &body[..];
    while let Some(at) = client::find(rest, b"content-range: bytes ")
        .or_else(|| client::find(rest, b"Content-Range: bytes "))
    {
        let line_end = at + client::find(&rest[at..], b"\r\n").expect("a line");
        let range = String::from_utf8_lossy(&rest[at + 21..line_end]).into_owned();
        let (span, total) = range.split_once('/').expect("a total");
        assert_eq!(total, data.len().to_string());
        let (from, to) = span.split_once('-').expect("a span");
        let (from, to): (usize, usize) = (from.parse().unwrap(), to.parse().unwrap());
        let start = line_end + client::find(&rest[line_end..], b"\r\n\r\n").expect("a head") + 4;
        assert!(
            rest[start..start + to + 1 - from] == data[from..=to],
            "{range}"
        );
        parts.push((from, to));
        rest = &rest[start + to + 1 - from..];
    }
    assert_eq!(
        parts,
        [(600_000, 600_009), (10, 19), (300_000, data.len() - 1)]
    );
}

#[test]
fn what_serves_nothing_or_cannot_be_reached_is_a_usage_error() {
    let dir = TempDir::new("cli-gateway-usage");
    let missing = dir.path().join("missing").display().to_string();
    let here = dir.path().display().to_string();
    let not_pem = dir.write("not.pem", "not PEM\n").display().to_string();
    let cases: [(&[&str], &str); 12] = [
        (
            &["127.0.0.1:1", "--param", "X_USER=$remote_user"],
            "unknown variable $remote_user",
        ),
        (
            &["127.0.0.1:1", "--param", "X=${host"],
            "the variable ${ is not closed",
        ),
        (&[], "nothing to serve"),
        (
            &["127.0.0.1:1", "--root", &here],
            "none would reach the root",
        ),
        (&["--root", &missing], "not a directory"),
        (&["--static", &format!("/s/={missing}")], "not a directory"),
        (
            &[
                "--location",
                "/a=127.0.0.1:1",
                "--location",
                "/a=127.0.0.1:2",
            ],
            "the location /a is given twice",
        ),
        (&["--location", "a=127.0.0.1:1"], "must start with '/'"),
        (&["--static", "/s/"], "PREFIX=DIR"),
        (
            &["127.0.0.1:1", "--tls-cert", &not_pem],
            "--tls-cert and --tls-key go together",
        ),
        (
            &["127.0.0.1:1", "--tls-cert", &missing, "--tls-key", &missing],
            &missing,
        ),
        (
            &["127.0.0.1:1", "--tls-cert", &not_pem, "--tls-key", &not_pem],
            "no certificate",
        ),
    ];
    for (args, message) in cases {
        let out = Command::new(BIN)
            .args(["gateway", "127.0.0.1:0"])
            .args(args)
            .output()
            .expect("run uwsgi-wire");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: not listening");
    }
}

/// `GET /` through the gateway is answered 200 by the backend named `live`.
fn assert_answered_by_live(port: u16, gateway: &Peer) {
    let (status, _, body) = get(port, "/");
    let answer = (status, String::from_utf8_lossy(&body).into_owned());
    assert_eq!(answer, (200, "live".to_owned()), "{}", gateway.log());
}

#[test]
fn an_upstream_that_refuses_is_skipped_for_10_s_as_nginx_skips_it() {
    use std::sync::atomic::Ordering;
    let dir = TempDir::new("cli-gateway-failover");
    let (live, accepted) = harness::named_backend("live", Duration::ZERO);
    // Nothing listens there: every connect is refused.
    let dead = harness::free_port();
    let (mut gateway, port) = gateway(
        &dir,
        &[format!("127.0.0.1:{dead}"), format!("127.0.0.1:{live}")],
    );
    for _ in 0..6 {
        assert_answered_by_live(port, &gateway);
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 6);
    let refused = format!("connecting to 127.0.0.1:{dead}");
    let tries = |gateway: &Peer| gateway.log().matches(&refused).count();
    // Tried once (the first request, then the next upstream), then left out.
    assert_eq!(tries(&gateway), 1, "{}", gateway.log());
    assert!(gateway
        .log()
        .contains("upstream server temporarily disabled"));
    // After nginx's fail_timeout (10 s) it is tried again, once, at its turn: its
    // effective weight, zeroed by the failure, comes back one a request, so the third
    // request is its (nginx's order).
    std::thread::sleep(Duration::from_millis(10_500));
    for expected in [1, 1, 2, 2] {
        assert_eq!(get(port, "/").0, 200);
        assert_eq!(tries(&gateway), expected, "{}", gateway.log());
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 10);
    gateway.stop();
}

#[test]
fn weights_3_1_split_8_requests_in_nginx_smooth_order() {
    let dir = TempDir::new("cli-gateway-weights");
    let (a, _) = harness::named_backend("a", Duration::ZERO);
    let (b, _) = harness::named_backend("b", Duration::ZERO);
    let (_gateway, port) = gateway(
        &dir,
        &[format!("--location=/=127.0.0.1:{a} weight=3,127.0.0.1:{b}")],
    );
    let order: String = (0..8)
        .map(|_| String::from_utf8(get(port, "/").2).expect("UTF-8"))
        .collect();
    // nginx's smooth weighted round robin: never three a's in a row while b waits.
    assert_eq!(order, "aabaaaba");
}

#[test]
fn on_sigterm_the_request_in_flight_completes_and_new_connections_are_refused() {
    use std::sync::atomic::Ordering;
    let dir = TempDir::new("cli-gateway-sigterm");
    let (slow, accepted) = harness::named_backend("slow", Duration::from_secs(2));
    let (mut gateway, port) = start_listening(|port| {
        Peer::start(
            "uwsgi-wire-gateway",
            dir.path(),
            "TERM",
            Duration::from_secs(120),
            BIN,
            [
                "gateway".to_owned(),
                format!("127.0.0.1:{port}"),
                format!("127.0.0.1:{slow}"),
            ],
        )
    });
    let pid = harness::pid_running(BIN, &format!("127.0.0.1:{port}"));
    // An idle keep-alive connection: closed at the signal, as nginx closes its own.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let in_flight = std::thread::spawn(move || get(port, "/"));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while accepted.load(Ordering::SeqCst) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the request never reached the backend"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    harness::kill("TERM", pid);
    // The listener is closed at once; the request in flight still has about 2 s to go.
    std::thread::sleep(Duration::from_millis(500));
    let refused = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.kind());
    assert_eq!(
        refused.err(),
        Some(std::io::ErrorKind::ConnectionRefused),
        "{}",
        gateway.log()
    );
    idle.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut buf = [0u8; 16];
    assert_eq!(
        idle.read(&mut buf).ok(),
        Some(0),
        "the idle connection is closed"
    );
    let (status, _, body) = in_flight.join().expect("the request in flight");
    assert_eq!(
        (status, &body[..]),
        (200, &b"slow"[..]),
        "{}",
        gateway.log()
    );
    let exit = gateway.wait_exit(Duration::from_secs(10));
    assert!(exit.success(), "{exit:?}: {}", gateway.log());
    assert!(gateway.log().contains("stopping"), "{}", gateway.log());
}

#[test]
fn an_upstream_that_does_not_answer_the_connect_is_skipped_after_connect_timeout() {
    let dir = TempDir::new("cli-gateway-connect-timeout");
    let (live, accepted) = harness::named_backend("live", Duration::ZERO);
    // A listener that never accepts, its backlog full: a connect gets no answer.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    let _enter = runtime.enter();
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind");
    let full = socket.listen(0).expect("listen");
    let full_addr = full.local_addr().expect("addr");
    let mut held = Vec::new();
    let filled =
        (0..16).any(
            |_| match TcpStream::connect_timeout(&full_addr, Duration::from_millis(300)) {
                Ok(stream) => {
                    held.push(stream);
                    false
                }
                Err(_) => true,
            },
        );
    if !filled {
        assert!(
            !harness::ci(),
            "this kernel answers connects beyond the backlog"
        );
        eprintln!("skipped: this kernel answers connects beyond the backlog");
        return;
    }
    let (gateway, port) = gateway(
        &dir,
        &[
            "--connect-timeout=0.5".to_owned(),
            full_addr.to_string(),
            format!("127.0.0.1:{live}"),
        ],
    );
    let started = std::time::Instant::now();
    assert_answered_by_live(port, &gateway);
    // The first request waited for the connect timeout, then went to the next.
    assert!(started.elapsed() >= Duration::from_millis(500));
    let log = gateway.log();
    assert_eq!(log.matches("no connection within").count(), 1, "{log}");
    // The next ones go straight to the live one.
    let started = std::time::Instant::now();
    for _ in 0..3 {
        assert_eq!(get(port, "/").0, 200);
    }
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(gateway.log().matches("no connection within").count(), 1);
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 4);
    drop(full);
}

/// The value of `key` among the vars `uwsgi-wire serve` answered with as JSON.
fn served_var(body: &[u8], key: &str) -> Option<String> {
    let vars: serde_json::Value = serde_json::from_slice(body).expect("JSON");
    vars["vars"]
        .as_array()?
        .iter()
        .find(|pair| pair[0] == key)
        .and_then(|pair| pair[1].as_str().map(str::to_owned))
}

/// The `Threads:` of a process's /proc status.
fn threads(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("Threads:")
}

#[test]
fn the_guide_config_file_serves_the_root_static_files_and_main_with_its_params() {
    let dir = TempDir::new("cli-gateway-config");
    let (first, a) = serve(&dir);
    let (second, b) = serve(&dir);
    let root = dir.mkdir("html");
    let statics = dir.mkdir("static");
    std::fs::write(root.join("index.html"), "<p>myapp</p>\n").expect("write");
    std::fs::write(statics.join("app.css"), "body {}\n").expect("write");
    let log = dir.path().join("access.log");
    // The example as shipped, its paths and upstreams moved to this test's.
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/gateway.toml");
    let mut config = std::fs::read_to_string(example).expect("examples/gateway.toml");
    for (from, to) in [
        ("/var/www/myapp/html", root.display().to_string()),
        (
            "/var/django/projects/myapp/static/",
            format!("{}/", statics.display()),
        ),
        ("\"127.0.0.1:29000\"", format!("\"127.0.0.1:{a}\"")),
        ("\"127.0.0.1:29001\"", format!("\"127.0.0.1:{b}\"")),
        ("/var/log/uwsgi-wire/access.log", log.display().to_string()),
    ] {
        assert!(config.contains(from), "examples/gateway.toml has {from}");
        config = config.replace(from, &to);
    }
    let file = dir.write("gateway.toml", config);
    // LISTEN on the command line replaces the file's `listen`.
    let (gateway, port) = gateway(
        &dir,
        &[
            format!("--config={}", file.display()),
            "--workers=5".to_owned(),
        ],
    );
    // --workers 5: the main thread and 5 workers, before any file read starts the
    // blocking pool's threads.
    let pid = harness::pid_running(BIN, &format!("127.0.0.1:{port}"));
    assert_eq!(threads(pid), 6, "threads with --workers 5");

    assert_eq!(get(port, "/").2, b"<p>myapp</p>\n");
    assert_eq!(get(port, "/static/app.css").2, b"body {}\n");
    assert_eq!(get(port, "/elsewhere").0, 404);
    for _ in 0..2 {
        let (_, _, body) = get_with(
            port,
            "/main/page?x=1",
            "Host: MyApp.Example.com:8080\r\nX-Forwarded-For: 198.51.100.7\r\n\
             X-Forwarded-Proto: https\r\n",
        );
        let var = |key| served_var(&body, key);
        assert_eq!(var("Host").as_deref(), Some("myapp.example.com"));
        assert_eq!(var("X-Real-IP").as_deref(), Some("127.0.0.1"));
        assert_eq!(
            var("X-Forwarded-For").as_deref(),
            Some("198.51.100.7, 127.0.0.1")
        );
        // The guide's `$http_x_forwarded_proto`: what the client (a proxy) sent.
        assert_eq!(var("X-Forwarded-Proto").as_deref(), Some("https"));
        assert_eq!(var("SERVER_NAME").as_deref(), Some("myapp.example.com"));
        assert_eq!(var("REQUEST_URI").as_deref(), Some("/main/page?x=1"));
        assert_eq!(var("HTTPS"), None);
    }
    // The pair, round robin: each upstream had one of the two.
    assert!(first.log().contains("/main/page"), "{}", first.log());
    assert!(second.log().contains("/main/page"), "{}", second.log());
    let lines = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        lines.contains("\"GET /main/page?x=1 HTTP/1.1\" 200"),
        "{lines}"
    );
    drop(gateway);
}

#[test]
fn several_server_names_the_first_is_server_name_and_every_host_is_answered() {
    let dir = TempDir::new("cli-gateway-server-names");
    let (_backend, backend) = serve(&dir);
    let (_gateway, port) = gateway(
        &dir,
        &[
            format!("127.0.0.1:{backend}"),
            "--server-name".to_owned(),
            "a.example".to_owned(),
            "b.example".to_owned(),
            "--param=X_HOST=$host|$server_name".to_owned(),
        ],
    );
    for (head, host) in [
        ("Host: b.example\r\n", "b.example"),
        ("Host: other.example\r\n", "other.example"),
    ] {
        let (status, _, body) = get_with(port, "/", head);
        assert_eq!(status, 200, "{host}");
        let body = &body[..];
        assert_eq!(
            served_var(body, "SERVER_NAME").as_deref(),
            Some("a.example")
        );
        assert_eq!(
            served_var(body, "X_HOST"),
            Some(format!("{host}|a.example"))
        );
    }
}
