//! `uwsgi-wire-wsgi` behind real nginx 1.22 `uwsgi_pass` (Debian's `uwsgi_params`),
//! serving the applications of `tests/apps/`: a plain WSGI application (also wrapped in
//! `wsgiref.validate`), the five-line one and a Flask one (from a venv the tests make
//! with `pip install flask`).
//!
//! The peers are started by the conformance tests' harness (`tests/conformance/`):
//! with `CI` set, a missing nginx (or a venv that cannot be made) fails the test;
//! without it the test prints `skipped: ...` and returns.

#[allow(dead_code)]
#[path = "../../tests/support/examples.rs"]
mod examples;
#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../../tests/conformance/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../../tests/conformance/peers.rs"]
mod peers;
mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use harness::{alive, ci, kill, poll, require, start_listening, Need, Peer, TempDir, NGINX};
use sha2::{Digest, Sha256};
use support::*;

/// uWSGI 2.0 (python3 plugin, 1 process, 2 threads) serving the same application
/// (`app.py`), nginx in front: the reference the environ is compared with.
struct UwsgiStack {
    _uwsgi: Peer,
    nginx: peers::FrontEnd,
    _dir: TempDir,
}

fn uwsgi_stack() -> UwsgiStack {
    let dir = TempDir::new("uwsgi-ref");
    std::fs::copy(Path::new(APPS).join("app.py"), dir.path().join("app.py")).expect("copy the app");
    let chdir = dir.path().display().to_string();
    let (uwsgi, backend) = start_listening(|port| {
        let socket = format!("127.0.0.1:{port}");
        let args = [
            "--plugin",
            "python3",
            "--socket",
            &socket,
            "--chdir",
            &chdir,
            "--module",
            "app",
            "--processes",
            "1",
            "--threads",
            "2",
        ];
        Peer::start(
            "uwsgi",
            dir.path(),
            "INT",
            Duration::from_secs(300),
            "uwsgi",
            args,
        )
    });
    let nginx = peers::nginx(&dir, backend);
    UwsgiStack {
        _uwsgi: uwsgi,
        nginx,
        _dir: dir,
    }
}

/// The venv with Flask and Django (made once per `target/`, by `pip install` from
/// PyPI), with the Python that PyO3 embeds (`PYO3_PYTHON`, else `python3`); `None`
/// (skip) when it cannot be made, a failure under `CI`.
fn venv() -> Option<PathBuf> {
    static MADE: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut made = MADE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(path) = &*made {
        return Some(path.clone());
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wsgi-venv-flask-django");
    let python = std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "python3".into());
    let ready = venv.join("ready");
    if !ready.exists() {
        let _ = std::fs::remove_dir_all(&venv);
        let ok = Command::new(&python)
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "flask", "Django>=5.2,<6"])
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            let why = format!("cannot make a venv ({python} -m venv; pip install flask django)");
            assert!(!ci(), "{why}; CI is set, so this is a failure: .ci/run installs python3-venv and needs PyPI");
            eprintln!("skipped: {why} (set CI=1 to make this a failure)");
            return None;
        }
        std::fs::write(&ready, "").unwrap();
    }
    *made = Some(venv.clone());
    Some(venv)
}

#[test]
fn the_five_line_app() {
    require!(NGINX);
    let s = stack("hello", &["--module", "hello"]);
    let r = http(s.port, "GET", "/", &[], b"");
    assert_eq!((r.status, r.text().as_str()), (200, "Hello, World!"));
    assert_eq!(r.header("content-type"), Some("text/plain"));
}

#[test]
fn get_with_query_and_cookies_gives_the_cgi_environ_and_the_options_apply() {
    require!(NGINX);
    let lib = std::env::temp_dir().join(format!("uwsgi-wire-wsgi-lib-{}", std::process::id()));
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(lib.join("extra_mod.py"), "VALUE = 'from --pythonpath'\n").unwrap();
    let lib_arg = format!("--pythonpath={}", lib.display());
    let s = stack(
        "env",
        &[
            "--module",
            "app:application",
            "--threads",
            "2",
            "--env",
            "APP_FLAVOUR=mint",
            &lib_arg,
        ],
    );
    let r = http(s.port, "GET", "/config", &[], b"");
    let _ = std::fs::remove_dir_all(&lib);
    assert_eq!(
        r.json(),
        serde_json::json!({"flavour": "mint", "extra": "from --pythonpath", "cwd": s.dir.path()})
    );
    let env = query_and_cookies(&s);
    assert_eq!(env["wsgi.multithread"], true);
    assert_eq!(env["wsgi.multiprocess"], false);
    assert_eq!(env["wsgi.run_once"], false);
    assert_eq!(env["input.type"], "Input");
}

/// The environ var by var against uWSGI's, for the same requests through the same nginx
/// configuration: equal but for the documented differences.
#[test]
fn the_environ_matches_uwsgis() {
    require!(NGINX);
    require!(&[
        Need::Program("uwsgi", "uwsgi-core"),
        Need::UwsgiPlugin("python3")
    ]);
    let ours = stack("environ", &["--module", "app", "--threads", "2"]);
    let theirs = uwsgi_stack();
    let form = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Cookie", "a=1; b=2"),
        ("X-Custom", "caf\u{e9}"),
    ];
    for (method, target, body) in [
        ("GET", "/env?a=1&b=%C3%A9&c", &b""[..]),
        // A body the application never reads: the response still ends cleanly (the
        // host reads the rest before it closes).
        ("POST", "/env?x", &b"a=1&b=2"[..]),
        ("GET", "/env/x%20y/..;z", &b""[..]),
    ] {
        let get = |port| {
            let mut env = http(port, method, target, &form, body).json();
            let env = env.as_object_mut().unwrap();
            // Per connection or per front end; the wsgi.input type is each host's own.
            for key in ["REMOTE_PORT", "SERVER_PORT", "DOCUMENT_ROOT", "input.type"] {
                env.remove(key).unwrap_or_else(|| panic!("no {key}"));
            }
            env.clone()
        };
        let (ours, mut theirs) = (get(ours.port), get(theirs.nginx.port));
        // The two documented differences (cgi::environ): uWSGI passes nginx's
        // HTTP_CONTENT_TYPE and HTTP_CONTENT_LENGTH on, and has no SCRIPT_NAME.
        assert_eq!(ours["SCRIPT_NAME"], "");
        assert_eq!(theirs.remove("SCRIPT_NAME"), None);
        theirs.insert("SCRIPT_NAME".into(), "".into());
        for key in ["HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"] {
            assert!(!ours.contains_key(key));
            theirs.remove(key);
        }
        // And uWSGI's own keys (`uwsgi.core`; `uwsgi.version` and `uwsgi.node` are
        // bytes, which /env leaves out).
        theirs.retain(|key, _| !key.starts_with("uwsgi."));
        assert_eq!(ours, theirs, "{method} {target}");
    }
}

#[test]
fn form_post_and_the_input_stream() {
    require!(NGINX);
    let s = stack("form", &["--module", "app"]);
    form_and_input_stream(&s);
}

#[test]
fn a_10_mib_upload_is_hashed_by_the_app() {
    require!(NGINX);
    let s = stack("upload", &["--module", "app"]);
    upload_10_mib(&s);
}

#[test]
fn a_100_mib_download_streams_with_the_hosts_memory_bounded() {
    require!(NGINX);
    let s = stack("download", &["--module", "app"]);
    download_100_mib(&s);
}

#[test]
fn statuses_repeated_headers_file_wrapper_write_and_exc_info() {
    require!(NGINX);
    let s = stack("statuses", &["--module", "app"]);
    let r = http(s.port, "GET", "/cookies", &[], b"");
    assert_eq!(
        (r.status, r.reason.as_str(), r.text().as_str()),
        (201, "Created", "created")
    );
    let cookies: Vec<_> = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2; Path=/"]);
    assert_eq!(r.header("x-reason"), Some("custom"));
    let r = http(s.port, "GET", "/teapot", &[], b"");
    assert_eq!((r.status, r.reason.as_str()), (418, "I'm a teapot"));
    let r = http(s.port, "GET", "/nowhere", &[], b"");
    assert_eq!(r.status, 404);
    let r = http(s.port, "GET", "/wrapped", &[], b"");
    let expected: Vec<u8> = (0..256_000).map(|i| (i % 256) as u8).collect();
    assert_eq!((r.status, r.body == expected), (200, true));
    let r = http(s.port, "GET", "/write", &[], b"");
    assert_eq!(r.text(), "from write(), then from the iterable");
    // start_response again with exc_info before the head left: the new head wins.
    // A header with CR LF never reaches the wire: a 500.
    let r = http(s.port, "GET", "/inject", &[], b"");
    assert_eq!((r.status, r.header("set-cookie")), (500, None));
    assert!(
        s.host.log().contains("a header value holds the byte 0x0d"),
        "{}",
        s.host.log()
    );
    // exc_info after the head left: re-raised, the response cut short.
    let r = http(s.port, "GET", "/late", &[], b"");
    assert_eq!(r.status, 200);
    assert!(!r.text().contains("never sent"), "{}", r.text());
    assert!(
        s.host.log().contains("ValueError: after the head"),
        "{}",
        s.host.log()
    );
    let r = http(s.port, "GET", "/replaced", &[], b"");
    assert_eq!(
        (r.status, r.reason.as_str(), r.text().as_str()),
        (503, "Replaced", "replaced head")
    );
}

/// `wsgi.file_wrapper` over a real file goes out with `sendfile(2)` (the file object's
/// `read()` raises), from the file's position, stopped at the Content-Length, and the
/// file is closed; over a `BytesIO` (no descriptor) the iteration's chunks.
#[test]
fn file_wrapper_uses_sendfile_for_a_real_file() {
    require!(NGINX);
    let s = stack("sendfile", &["--module", "app"]);
    let file: Vec<u8> = (0..1_024_000).map(|i| (i % 256) as u8).collect();
    let r = http(s.port, "GET", "/sendfile?mode=offset", &[], b"");
    assert_eq!(r.status, 200, "{}", s.host.log());
    assert!(r.body == file[1000..], "{} bytes", r.body.len());
    let r = http(s.port, "GET", "/sendfile?mode=length", &[], b"");
    assert_eq!((r.status, r.body == file[..5000]), (200, true));
    let r = http(s.port, "GET", "/sendfile?mode=bytesio", &[], b"");
    assert_eq!((r.status, r.body == file), (200, true));
    let r = http(s.port, "HEAD", "/sendfile?mode=length", &[], b"");
    assert_eq!((r.status, r.body.len()), (200, 0));
    // (nginx answers a HEAD once it has the head: the host may still be closing.)
    let closed = poll(TIMEOUT, || {
        std::fs::read_to_string(s.dir.path().join("sendfile-closed.txt"))
            .ok()
            .filter(|text| *text == "closed\n".repeat(3))
    });
    assert!(closed.is_some(), "{}", s.host.log());
    let log = s.host.log();
    assert!(!log.contains("Traceback"), "{log}");
}

/// A request whose body is slow to come blocks one thread in `wsgi.input.read()`
/// without the GIL: the other thread serves meanwhile.
#[test]
fn the_gil_is_released_while_a_thread_waits_for_the_body() {
    require!(NGINX);
    let s = stack(
        "gil",
        &[
            "--module",
            "app",
            "--threads",
            "2",
            "--socket-timeout",
            "20",
        ],
    );
    let packet = wsgi_packet(&[
        ("REQUEST_METHOD", "POST"),
        ("REQUEST_URI", "/echo"),
        ("PATH_INFO", "/echo"),
        ("QUERY_STRING", ""),
        ("SERVER_NAME", "localhost"),
        ("SERVER_PORT", "80"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("CONTENT_LENGTH", "5"),
    ]);
    let mut direct = TcpStream::connect(&s.socket).unwrap();
    direct.set_read_timeout(Some(TIMEOUT)).unwrap();
    direct.write_all(&packet).unwrap();
    direct.write_all(b"he").unwrap();
    // The application is now blocked reading the last 3 bytes.
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(http(s.port, "GET", "/cookies", &[], b"").status, 201);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    direct.write_all(b"llo").unwrap();
    let mut raw = Vec::new();
    direct.read_to_end(&mut raw).unwrap();
    let r = parse(&raw);
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
}

/// `--socket-timeout` bounds every read on a TCP connection (set once on the listener,
/// which Linux copies to each connection): a packet cut short, then a body cut short,
/// are given up after it, and the host serves on; an idle listener is no error.
#[test]
fn socket_timeout_bounds_a_stalled_connection() {
    require!(NGINX);
    let s = stack("stall", &["--module", "app", "--socket-timeout", "1"]);
    let packet = wsgi_packet(&[
        ("REQUEST_METHOD", "POST"),
        ("REQUEST_URI", "/echo"),
        ("PATH_INFO", "/echo"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("CONTENT_LENGTH", "5"),
    ]);
    for sent in [&packet[..10], &[&packet[..], b"he"].concat()[..]] {
        let mut direct = TcpStream::connect(&s.socket).unwrap();
        direct.set_read_timeout(Some(TIMEOUT)).unwrap();
        direct.write_all(sent).unwrap();
        let started = Instant::now();
        let mut raw = Vec::new();
        let _ = direct.read_to_end(&mut raw);
        let waited = started.elapsed();
        assert!(
            waited > Duration::from_millis(800) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        assert!(!String::from_utf8_lossy(&raw).contains("200 OK"), "{raw:?}");
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(http(s.port, "GET", "/cookies", &[], b"").status, 201);
    assert!(!s.host.log().contains("accept failed"), "{}", s.host.log());
}

/// One thread, one Python thread state for its whole life (Django keeps its database
/// connections in `threading.local`).
#[test]
fn thread_locals_live_from_request_to_request() {
    require!(NGINX);
    let s = stack("local", &["--module", "app"]);
    for n in 1..=3 {
        assert_eq!(
            http(s.port, "GET", "/local", &[], b"").text(),
            n.to_string()
        );
    }
}

#[test]
fn head_drops_the_body() {
    require!(NGINX);
    let s = stack("head", &["--module", "app"]);
    let r = http(s.port, "HEAD", "/download?mib=1", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("1048576"));
    assert!(r.body.is_empty());
    assert!(!s.host.log().contains("Traceback"), "{}", s.host.log());
}

#[test]
fn a_view_that_raises_is_a_500_and_the_host_serves_on() {
    require!(NGINX);
    let s = stack("raise", &["--module", "app"]);
    view_raises(&s);
}

#[test]
fn a_client_that_leaves_mid_response_gets_close_called() {
    require!(NGINX);
    let s = stack("leave", &["--module", "app"]);
    let mut stream = connect(s.port);
    stream
        .write_all(b"GET /leave HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut got = 0;
    while got < 1 << 20 {
        got += stream.read(&mut buf).unwrap();
    }
    stream.shutdown(Shutdown::Both).unwrap();
    drop(stream);
    let closed = s.dir.path().join("closed.txt");
    let text = poll(TIMEOUT, || std::fs::read_to_string(&closed).ok());
    let text = text.unwrap_or_else(|| panic!("close() not called; log:\n{}", s.host.log()));
    assert!(text.starts_with("closed after "), "{text}");
    // And the host serves the next request.
    assert_eq!(http(s.port, "GET", "/cookies", &[], b"").status, 201);
}

#[test]
fn wsgiref_validate_passes() {
    require!(NGINX);
    let s = stack("validate", &["--module", "app:validated"]);
    let r = get(s.port, "/env?x=1", &[("Cookie", "a=b")]);
    assert_eq!(r.status, 200, "{}", s.host.log());
    let r = post_form(s.port, b"a=1");
    assert_eq!(r.status, 200, "{}", s.host.log());
    let r = http(s.port, "POST", "/lines", &[], LINES);
    assert_eq!(r.status, 200, "{}", s.host.log());
    let r = http(s.port, "GET", "/download?mib=1", &[], b"");
    assert_eq!((r.status, r.body.len()), (200, 1 << 20), "{}", s.host.log());
    let r = http(s.port, "HEAD", "/cookies", &[], b"");
    assert_eq!(r.status, 201, "{}", s.host.log());
    let log = s.host.log();
    assert!(!log.contains("AssertionError"), "{log}");
    assert!(!log.contains("Traceback"), "{log}");
}

#[test]
fn a_flask_app_from_a_venv() {
    require!(NGINX);
    let Some(venv) = venv() else { return };
    let venv = venv.display().to_string();
    let s = stack(
        "flask",
        &[
            "--module",
            "flask_app:app",
            "--home",
            &venv,
            "--threads",
            "4",
        ],
    );
    let r = get(
        s.port,
        "/hello?name=w%C3%B6rld",
        &[("Cookie", "session=s1")],
    );
    assert_eq!(r.status, 200, "{}", s.host.log());
    assert_eq!(
        r.json(),
        serde_json::json!({"name": "w\u{f6}rld", "cookie": "s1", "scheme": "http", "host": "localhost"})
    );
    let r = post_form(s.port, b"a=1&a=2&b=x+y");
    assert_eq!(r.json(), serde_json::json!({"a": ["1", "2"], "b": "x y"}));
    let body: Vec<u8> = (0..10u32 << 20).map(|i| (i ^ (i >> 9)) as u8).collect();
    let r = http(s.port, "POST", "/upload", &[], &body);
    assert_eq!(
        r.text(),
        format!("{} {:x}", body.len(), Sha256::digest(&body))
    );
    let r = http(s.port, "GET", "/stream", &[], b"");
    let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
    assert_eq!(r.text(), expected);
    let r = http(s.port, "GET", "/cookies", &[], b"");
    assert_eq!(r.status, 202);
    let cookies = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .count();
    assert_eq!(cookies, 2);
    let r = http(s.port, "GET", "/boom", &[], b"");
    assert_eq!(r.status, 500);
    assert!(
        s.host.log().contains("RuntimeError: boom from flask"),
        "{}",
        s.host.log()
    );
    assert_eq!(http(s.port, "GET", "/hello", &[], b"").status, 200);
}

/// The Django project of `tests/peers/django/` with the NGINX guide's app options, in
/// the foreground (`process.rs` runs the guide's whole command, daemonized with its
/// processes and ids).
#[test]
fn django_with_the_guides_options() {
    require!(NGINX);
    let Some(venv) = venv() else { return };
    let home = format!("--home={}", venv.display());
    let dir = TempDir::new("django-pid");
    let pidfile = format!(
        "--pidfile={}",
        dir.path().join("project-master.pid").display()
    );
    let args = [
        "--module=uwtest.wsgi:application",
        "--env",
        "DJANGO_SETTINGS_MODULE=uwtest.settings",
        &pidfile,
        "--vacuum",
        &home,
        "--threads=2",
    ];
    let s = stack("django", &args);
    let r = get(s.port, "/echo?a=1&a=2", &[("Cookie", "c=3; d=4")]);
    assert_eq!(r.status, 200, "{}", s.host.log());
    let echo = r.json();
    assert_eq!(echo["query"], serde_json::json!({"a": ["1", "2"]}));
    assert_eq!(echo["cookies"], serde_json::json!({"c": "3", "d": "4"}));
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let r = http(s.port, "POST", "/echo", &form, b"x=1&x=2&y=%C3%A9");
    assert_eq!(
        r.json()["form"],
        serde_json::json!({"x": ["1", "2"], "y": ["\u{e9}"]})
    );
    let body: Vec<u8> = (0..10u32 << 20).map(|i| (i % 253) as u8).collect();
    let r = http(s.port, "POST", "/sha256", &[], &body);
    let expected = format!("{:x}", Sha256::digest(&body));
    assert_eq!(
        r.json(),
        serde_json::json!({"sha256": expected, "length": 10 << 20})
    );
    let r = http(s.port, "GET", "/download?n=1000000", &[], b"");
    assert_eq!(r.body.len(), 1_000_000);
    assert!(r
        .body
        .iter()
        .enumerate()
        .all(|(k, &b)| b as usize == k % 251));
    let r = http(s.port, "GET", "/status/201?h=X-One:1", &[], b"");
    let cookies = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"));
    assert_eq!(
        (r.status, r.header("x-one"), cookies.count()),
        (201, Some("1"), 2)
    );
    assert_eq!(http(s.port, "GET", "/nowhere", &[], b"").status, 404);
}

#[test]
fn sigterm_shuts_down_and_vacuum_cleans_up() {
    let dir = TempDir::new("sigterm");
    std::fs::copy(
        Path::new(APPS).join("hello.py"),
        dir.path().join("hello.py"),
    )
    .unwrap();
    let sock = dir.path().join("app.sock").display().to_string();
    let pidfile = dir.path().join("app.pid").display().to_string();
    let chdir = dir.path().display().to_string();
    let tcp = format!("127.0.0.1:{}", harness::free_port());
    let mut host = Peer::start(
        "sigterm",
        dir.path(),
        "TERM",
        Duration::from_secs(60),
        HOST,
        [
            "--socket",
            &sock,
            "--socket",
            &tcp,
            "--chdir",
            &chdir,
            "--wsgi-file",
            "hello.py",
            "--pidfile",
            &pidfile,
            "--vacuum",
            "--chmod-socket=660",
        ],
    );
    host.wait_log("uwsgi-wire-wsgi serving", TIMEOUT);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert!(pid.trim().parse::<u32>().is_ok(), "{pid}");
    // A request straight on the Unix socket, as `uwsgi_pass unix:...` sends it.
    let mut unix = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    unix.set_read_timeout(Some(TIMEOUT)).unwrap();
    unix.write_all(&wsgi_packet(&[
        ("REQUEST_METHOD", "GET"),
        ("PATH_INFO", "/"),
    ]))
    .unwrap();
    let mut raw = Vec::new();
    unix.read_to_end(&mut raw).unwrap();
    assert_eq!(parse(&raw).text(), "Hello, World!");
    // And on the second socket, TCP.
    let mut direct = TcpStream::connect(&tcp).unwrap();
    direct.set_read_timeout(Some(TIMEOUT)).unwrap();
    direct
        .write_all(&wsgi_packet(&[
            ("REQUEST_METHOD", "GET"),
            ("PATH_INFO", "/"),
        ]))
        .unwrap();
    let mut raw = Vec::new();
    direct.read_to_end(&mut raw).unwrap();
    assert_eq!(parse(&raw).text(), "Hello, World!");
    let started = Instant::now();
    let status = host.stop();
    assert!(status.success(), "{status}: {}", host.log());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!Path::new(&sock).exists() && !Path::new(&pidfile).exists());
}

#[test]
fn unsupported_options_are_refused_by_name() {
    for (args, message) in [
        (&["--processes=5"][..], "--processes 5 needs --master"),
        (&["--max-requests=5"], "--max-requests needs --master"),
        (&["--harakiri", "20"], "--harakiri needs --master"),
        (&["--lazy-apps"], "--lazy-apps"),
    ] {
        let out = Command::new(HOST)
            .args(["--socket", "127.0.0.1:0", "--module", "hello"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

/// The processes whose parent is `ppid` (from /proc).
fn children(ppid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: the fields after the last `)`.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
        if fields.first() != Some(&"Z") && fields.get(1) == Some(&ppid.to_string().as_str()) {
            found.push(pid);
        }
    }
    found.sort_unstable();
    found
}

fn get_pid(port: u16) -> u32 {
    let response = get(port, "/pid", &[]);
    assert_eq!(response.status, 200, "{}", response.text());
    response.text().parse().unwrap()
}

#[test]
fn master_workers_are_replaced_and_sigterm_leaves_no_process() {
    require!(NGINX);
    let mut stack = stack(
        "master",
        &[
            "--wsgi-file",
            "app.py",
            "--master",
            "--workers",
            "2",
            "--threads",
            "2",
            "--pidfile",
            "master.pid",
        ],
    );
    let master: u32 = std::fs::read_to_string(stack.dir.path().join("master.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let workers = poll(TIMEOUT, || Some(children(master)).filter(|c| c.len() == 2))
        .unwrap_or_else(|| panic!("two workers: {}", stack.host.log()));
    // Both workers serve (each loads the app itself).
    let served: std::collections::BTreeSet<u32> = (0..40).map(|_| get_pid(stack.port)).collect();
    assert!(
        served.iter().all(|pid| workers.contains(pid)),
        "{served:?} {workers:?}"
    );
    // A worker killed outright is replaced; requests keep succeeding meanwhile.
    kill("KILL", workers[0]);
    for _ in 0..20 {
        assert!(get_pid(stack.port) != workers[0]);
    }
    let replaced = poll(TIMEOUT, || {
        Some(children(master)).filter(|c| c.len() == 2 && !c.contains(&workers[0]))
    })
    .unwrap_or_else(|| panic!("a new worker: {}", stack.host.log()));
    assert!(
        stack.host.log().contains("killed by SIGKILL"),
        "{}",
        stack.host.log()
    );
    poll(TIMEOUT, || {
        (0..20)
            .map(|_| get_pid(stack.port))
            .find(|pid| !workers.contains(pid))
    })
    .unwrap_or_else(|| panic!("the new worker serves: {}", stack.host.log()));
    // SIGTERM to the master alone: the workers finish the request in flight and go
    // with it, exit status 0.
    let port = stack.port;
    let in_flight = std::thread::spawn(move || get(port, "/slow?s=1.5", &[]));
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    kill("TERM", master);
    let finished = in_flight.join().unwrap();
    assert_eq!((finished.status, finished.text().as_str()), (200, "slept"));
    let gone = poll(Duration::from_secs(15), || {
        Some(()).filter(|()| !alive(master) && replaced.iter().all(|pid| !alive(*pid)))
    });
    assert!(gone.is_some(), "still running: {}", stack.host.log());
    assert!(started.elapsed() < Duration::from_secs(10));
    let status = stack.host.stop();
    assert!(status.success(), "{status}: {}", stack.host.log());
}

#[test]
fn max_requests_replaces_workers_without_losing_a_request() {
    require!(NGINX);
    let stack = stack(
        "max-requests",
        &[
            "--wsgi-file",
            "app.py",
            "--master",
            "--processes",
            "2",
            "--max-requests",
            "5",
        ],
    );
    let mut pids = std::collections::BTreeSet::new();
    for n in 0..40 {
        let response = get(stack.port, "/pid", &[]);
        assert_eq!(
            response.status,
            200,
            "request {n}: {}\n{}",
            response.text(),
            stack.host.log()
        );
        pids.insert(response.text().parse::<u32>().unwrap());
    }
    // 40 requests, at most 5 each: at least 8 workers served them.
    assert!(pids.len() >= 8, "{pids:?}");
    assert!(
        stack.host.log().contains("--max-requests reached"),
        "{}",
        stack.host.log()
    );
}

#[test]
fn harakiri_kills_the_worker_of_a_request_over_time_and_replaces_it() {
    require!(NGINX);
    let stack = stack(
        "harakiri",
        &[
            "--wsgi-file",
            "app.py",
            "--master",
            "--processes",
            "1",
            "--harakiri",
            "2",
        ],
    );
    let before = get_pid(stack.port);
    // A request within the time is served.
    let quick = get(stack.port, "/slow?s=0.2", &[]);
    assert_eq!((quick.status, quick.text().as_str()), (200, "slept"));
    let started = Instant::now();
    let slow = get(stack.port, "/slow?s=20", &[]);
    // nginx sees the connection close before a response: 502.
    assert_eq!(slow.status, 502, "{}", slow.text());
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(8),
        "{took:?}"
    );
    // A new worker serves.
    let after = poll(TIMEOUT, || {
        let r = get(stack.port, "/pid", &[]);
        (r.status == 200).then(|| r.text().parse::<u32>().unwrap())
    })
    .unwrap_or_else(|| panic!("no new worker: {}", stack.host.log()));
    assert_ne!(before, after);
    let log = stack.host.log();
    assert!(
        log.contains("HARAKIRI") && log.contains("killed by SIGKILL"),
        "{log}"
    );
}

#[test]
fn a_master_whose_workers_cannot_load_the_app_exits_2() {
    let dir = TempDir::new("no-app");
    let started = Instant::now();
    let out = Command::new("timeout")
        .arg("30")
        .arg(HOST)
        .args(["--socket", "127.0.0.1:0", "--master", "--processes", "2"])
        .args(["--module", "no_such_module", "--chdir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("could not start"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(15));
}
