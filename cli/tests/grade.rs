//! `uwsgi-wire serve --check` behind the real front ends: nginx 1.22 (`uwsgi_pass`,
//! Debian's `uwsgi_params`), Apache 2.4 (`mod_proxy_uwsgi`) and lighttpd 1.4 (`mod_scgi`
//! in uwsgi mode), started by the conformance harness (tests/conformance/peers.rs). The
//! same five requests go through each, and through `uwsgi-wire gateway` (no peer needed);
//! the findings are the differences between them documented in docs/PROTOCOL.md section
//! 6 (its subsection 6.9 is this test's verdict). A last test makes error findings with
//! `uwsgi-wire request --param` and checks the `error` grade and exit status 1.
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

use std::time::Duration;

use harness::{poll, require, start_listening, Peer, TempDir, APACHE, LIGHTTPD, NGINX};

const BIN: &str = env!("CARGO_BIN_EXE_uwsgi-wire");

/// A finding as the JSON answer carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Finding {
    id: String,
    level: String,
    message: String,
}

/// What `serve --check` answered to one request (`None`: the front end answered itself
/// and nothing reached the backend).
#[derive(Debug)]
struct Graded {
    status: u16,
    grade: Option<String>,
    findings: Vec<Finding>,
    /// The vars as the backend saw them (last value of each key wins).
    vars: Vec<(String, String)>,
}

impl Graded {
    fn ids(&self) -> Vec<(&str, &str)> {
        self.findings
            .iter()
            .map(|f| (f.id.as_str(), f.level.as_str()))
            .collect()
    }

    fn has(&self, id: &str, level: &str, needle: &str) -> bool {
        self.findings
            .iter()
            .any(|f| f.id == id && f.level == level && f.message.contains(needle))
    }

    fn var(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn graded(response: &client::HttpResponse) -> Graded {
    if response.status != 200 || !response.body.starts_with(b"{") {
        return Graded {
            status: response.status,
            grade: None,
            findings: Vec::new(),
            vars: Vec::new(),
        };
    }
    let json = response.json();
    let findings = json["findings"]
        .as_array()
        .expect("serve --check answers with a findings array")
        .iter()
        .map(|f| Finding {
            id: f["id"].as_str().expect("id").to_owned(),
            level: f["level"].as_str().expect("level").to_owned(),
            message: f["message"].as_str().expect("message").to_owned(),
        })
        .collect();
    let vars = json["vars"]
        .as_array()
        .expect("vars")
        .iter()
        .map(|p| {
            let s = |v: &serde_json::Value| v.as_str().unwrap_or("<hex>").to_owned();
            (s(&p[0]), s(&p[1]))
        })
        .collect();
    Graded {
        status: 200,
        grade: json["grade"].as_str().map(str::to_owned),
        findings,
        vars,
    }
}

/// The five requests of every front end, and what the server logged.
struct Run {
    get: Graded,
    post: Graded,
    chunked: Graded,
    long: Graded,
    dup: Graded,
    /// `serve --check`'s stderr after its shutdown.
    log: String,
    /// Its exit status (1 when a finding was an error).
    exit: Option<i32>,
}

const CHUNKED_BODY: &[u8] = b"chunk-one;chunk-two;chunk-three\n";

/// A front end started in a temp folder in front of a backend port: what keeps it
/// running (dropped to stop it) and its HTTP port.
type Front = (Box<dyn std::any::Any>, u16);

fn nginx(dir: &TempDir, backend: u16) -> Front {
    let front = peers::nginx(dir, backend);
    let port = front.port;
    (Box::new(front), port)
}

fn apache(dir: &TempDir, backend: u16) -> Front {
    let front = peers::apache(dir, backend);
    let port = front.port;
    (Box::new(front), port)
}

fn lighttpd(dir: &TempDir, backend: u16) -> Front {
    let front = peers::lighttpd(dir, backend);
    let port = front.port;
    (Box::new(front), port)
}

/// `uwsgi-wire gateway`, the Rust front end of this workspace.
fn gateway(dir: &TempDir, backend: u16) -> Front {
    let (peer, port) = start_listening(|port| {
        Peer::start(
            "uwsgi-wire-gateway",
            dir.path(),
            "TERM",
            Duration::from_secs(300),
            BIN,
            [
                "gateway".to_owned(),
                format!("127.0.0.1:{port}"),
                format!("127.0.0.1:{backend}"),
            ],
        )
    });
    (Box::new(peer), port)
}

fn run(name: &str, start_front: fn(&TempDir, u16) -> Front) -> Run {
    let dir = TempDir::new(&format!("cli-grade-{name}"));
    let (mut server, port) = start_listening(|port| {
        Peer::start(
            "uwsgi-wire-serve",
            dir.path(),
            "INT",
            Duration::from_secs(300),
            BIN,
            [
                "serve".to_owned(),
                format!("127.0.0.1:{port}"),
                "--check".to_owned(),
            ],
        )
    });
    let (front, p) = start_front(&dir, port);

    let send = |req: client::HttpRequest, body: &[u8]| graded(&req.send(p, body).1);
    let get = send(
        client::HttpRequest::new("GET", "/inspect/caf%C3%A9?a=1&b=2", p),
        b"",
    );
    let post = send(
        client::HttpRequest::new("POST", "/upload", p)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Content-Length", "11"),
        b"hello=world",
    );
    let chunked = send(
        client::HttpRequest::new("POST", "/chunked", p)
            .header("Content-Type", "text/plain")
            .header("Transfer-Encoding", "chunked"),
        &client::chunked(CHUNKED_BODY, 10),
    );
    let long = send(
        client::HttpRequest::new("GET", "/long", p).header("X-Long", "x".repeat(5000)),
        b"",
    );
    let dup = send(
        client::HttpRequest::new("GET", "/dup", p)
            .header("Cookie", "a=1")
            .header("X-Dup", "one")
            .header("Cookie", "b=2")
            .header("X-Dup", "two"),
        b"",
    );
    drop(front);
    // Ctrl-C: the summary, then the exit status.
    let exit = server.stop().code();
    let log = server.log();
    for (what, g) in [
        ("GET", &get),
        ("POST", &post),
        ("chunked", &chunked),
        ("long", &long),
        ("dup", &dup),
    ] {
        eprintln!("{name} {what}: status {} grade {:?}", g.status, g.grade);
        for f in &g.findings {
            eprintln!("    {} {}: {}", f.level, f.id, f.message);
        }
    }
    eprintln!("{name}: serve --check logged:\n{log}");
    let run = Run {
        get,
        post,
        chunked,
        long,
        dup,
        log,
        exit,
    };
    run.common();
    run
}

impl Run {
    /// What every front end shares: the GET, the POST and the long header reach the
    /// backend, no finding is an error, the long header makes the block too big for
    /// uWSGI's default buffer-size, and every finding is logged with its request line.
    fn common(&self) {
        assert_eq!(
            self.exit,
            Some(0),
            "no error findings: exit 0; {}",
            self.log
        );
        for g in [&self.get, &self.post, &self.long] {
            assert_eq!(g.status, 200);
            assert!(!g.findings.iter().any(|f| f.level == "error"), "{g:#?}");
        }
        assert!(
            self.long.has(
                "block/buffer-size",
                "warn",
                "the largest vars: HTTP_X_LONG (5015 bytes); "
            ),
            "{:#?}",
            self.long
        );
        assert!(self
            .long
            .has("block/buffer-size", "warn", "--buffer-size 8192"));
        assert_eq!(self.post.var("CONTENT_LENGTH"), Some("11"));
        assert_eq!(self.get.var("QUERY_STRING"), Some("a=1&b=2"));
        assert!(
            self.log.starts_with("listening on 127.0.0.1:"),
            "{}",
            self.log
        );
        assert!(
            self.log
                .contains("check GET /long HTTP/1.1: warn block/buffer-size: block of "),
            "{}",
            self.log
        );
        assert!(self.log.contains(" 0 errors, "), "{}", self.log);
    }

    fn summary(&self) -> Vec<&str> {
        self.log
            .lines()
            .filter(|l| l.starts_with("check summary: "))
            .collect()
    }
}

#[test]
fn nginx_defaults_give_no_errors() {
    require!(NGINX);
    let r = run("nginx", nginx);
    // Debian's uwsgi_params: every param, PATH_INFO decoded, no SCRIPT_NAME.
    assert_eq!(r.get.grade.as_deref(), Some("ok"), "{:#?}", r.get);
    assert_eq!(r.get.var("PATH_INFO"), Some("/inspect/caf\u{e9}"));
    assert_eq!(r.get.var("SCRIPT_NAME"), None);
    assert_eq!(r.post.grade.as_deref(), Some("ok"), "{:#?}", r.post);
    assert!(r
        .log
        .contains("check GET /inspect/caf%C3%A9?a=1&b=2 HTTP/1.1: ok\n"));
    // Chunked: de-chunked, CONTENT_LENGTH set, Transfer-Encoding still forwarded.
    assert_eq!(r.chunked.ids(), [("body/transfer-encoding", "warn")]);
    assert!(r.chunked.has(
        "body/transfer-encoding",
        "warn",
        "HTTP_TRANSFER_ENCODING=chunked forwarded beside CONTENT_LENGTH=32"
    ));
    assert_eq!(r.long.ids(), [("block/buffer-size", "warn")]);
    // One var per header line: both repeated headers are duplicates.
    assert_eq!(
        r.dup.ids(),
        [("vars/duplicate", "warn"), ("vars/duplicate", "warn")]
    );
    assert!(r.dup.has(
        "vars/duplicate",
        "warn",
        "HTTP_COOKIE sent 2 times (a=1 | b=2)"
    ));
    assert!(r.dup.has(
        "vars/duplicate",
        "warn",
        "HTTP_X_DUP sent 2 times (one | two)"
    ));
    assert_eq!(
        r.summary(),
        [
            "check summary: 5 requests, 2 without findings, 0 errors, 4 warnings, 0 info",
            "check summary: warn vars/duplicate x2",
            "check summary: warn body/transfer-encoding x1",
            "check summary: warn block/buffer-size x1",
        ]
    );
}

#[test]
fn apache_refuses_chunked_and_merges_cookies_with_a_comma() {
    require!(APACHE);
    let r = run("apache", apache);
    assert_eq!(r.get.grade.as_deref(), Some("ok"), "{:#?}", r.get);
    assert_eq!(r.get.var("PATH_INFO"), Some("/inspect/caf\u{e9}"));
    assert_eq!(r.get.var("SCRIPT_NAME"), Some(""));
    assert_eq!(r.get.var("CONTENT_LENGTH"), None, "absent on a GET");
    assert_eq!(r.post.grade.as_deref(), Some("ok"), "{:#?}", r.post);
    // Chunked: 411 from Apache itself; nothing reaches the backend to grade.
    assert_eq!(r.chunked.status, 411);
    assert!(!r.log.contains("POST /chunked"), "{}", r.log);
    assert_eq!(r.long.ids(), [("block/buffer-size", "warn")]);
    // Repeated headers merged with ", ", Cookie too.
    assert_eq!(r.dup.ids(), [("vars/cookie-comma", "warn")]);
    assert!(r.dup.has(
        "vars/cookie-comma",
        "warn",
        "HTTP_COOKIE=a=1, b=2 holds a ','"
    ));
    assert_eq!(r.dup.var("HTTP_X_DUP"), Some("one, two"));
    assert_eq!(
        r.summary(),
        [
            "check summary: 4 requests, 2 without findings, 0 errors, 2 warnings, 0 info",
            "check summary: warn vars/cookie-comma x1",
            "check summary: warn block/buffer-size x1",
        ]
    );
}

#[test]
fn lighttpd_splits_script_name_from_path_info() {
    require!(LIGHTTPD);
    let r = run("lighttpd", lighttpd);
    // Mounted at "/": the first segment becomes SCRIPT_NAME.
    assert_eq!(r.get.ids(), [("path/script-name", "warn")], "{:#?}", r.get);
    assert_eq!(r.get.var("SCRIPT_NAME"), Some("/inspect"));
    assert_eq!(r.get.var("PATH_INFO"), Some("/caf\u{e9}"));
    // One segment: no PATH_INFO at all.
    let one_segment = [("params/recommended", "warn"), ("path/script-name", "warn")];
    assert_eq!(r.post.ids(), one_segment);
    assert!(r.post.has("params/recommended", "warn", "PATH_INFO absent"));
    // Chunked: de-chunked, Transfer-Encoding dropped: nothing to say about the body.
    assert_eq!(r.chunked.ids(), one_segment, "{:#?}", r.chunked);
    assert_eq!(r.chunked.var("CONTENT_LENGTH"), Some("32"));
    assert_eq!(r.chunked.var("HTTP_TRANSFER_ENCODING"), None);
    // Cookie joined with "; ", others with ", ": no duplicate, no comma.
    assert_eq!(r.dup.ids(), one_segment);
    assert_eq!(r.dup.var("HTTP_COOKIE"), Some("a=1; b=2"));
    assert_eq!(r.dup.var("HTTP_X_DUP"), Some("one, two"));
    assert_eq!(
        r.summary(),
        [
            "check summary: 5 requests, 0 without findings, 0 errors, 10 warnings, 0 info",
            "check summary: warn path/script-name x5",
            "check summary: warn params/recommended x4",
            "check summary: warn block/buffer-size x1",
        ]
    );
}

#[test]
fn the_gateway_grades_like_nginx() {
    // `uwsgi-wire gateway` needs no peer: it is this workspace's binary.
    let r = run("gateway", gateway);
    // nginx's uwsgi_params, PATH_INFO decoded.
    assert_eq!(r.get.grade.as_deref(), Some("ok"), "{:#?}", r.get);
    assert_eq!(r.get.var("PATH_INFO"), Some("/inspect/caf\u{e9}"));
    assert_eq!(r.post.grade.as_deref(), Some("ok"), "{:#?}", r.post);
    // Chunked: the body arrives with a CONTENT_LENGTH and no Transfer-Encoding.
    assert_eq!(r.chunked.grade.as_deref(), Some("ok"), "{:#?}", r.chunked);
    assert_eq!(r.chunked.var("CONTENT_LENGTH"), Some("32"));
    assert_eq!(r.chunked.var("HTTP_TRANSFER_ENCODING"), None);
    assert_eq!(r.long.ids(), [("block/buffer-size", "warn")]);
    // One var per header line, as nginx 1.22.
    assert_eq!(
        r.dup.ids(),
        [("vars/duplicate", "warn"), ("vars/duplicate", "warn")]
    );
    assert_eq!(
        r.summary(),
        [
            "check summary: 5 requests, 3 without findings, 0 errors, 3 warnings, 0 info",
            "check summary: warn vars/duplicate x2",
            "check summary: warn block/buffer-size x1",
        ]
    );
}

#[test]
fn error_findings_answer_grade_error_and_exit_1() {
    // No front end: `uwsgi-wire request` with a param emptied and a forwarded
    // Transfer-Encoding without CONTENT_LENGTH (the uWSGI router's chunked case).
    let dir = TempDir::new("cli-grade-errors");
    let (mut server, port) = start_listening(|port| {
        Peer::start(
            "uwsgi-wire-serve",
            dir.path(),
            "INT",
            Duration::from_secs(300),
            BIN,
            [
                "serve".to_owned(),
                format!("127.0.0.1:{port}"),
                "--check".to_owned(),
            ],
        )
    });
    let out = std::process::Command::new(BIN)
        .args(["request", &format!("127.0.0.1:{port}"), "/x"])
        .args(["--param", "SERVER_NAME=", "--param"])
        .arg("HTTP_TRANSFER_ENCODING=chunked")
        .output()
        .expect("run uwsgi-wire request");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["grade"], "error");
    let ids: Vec<(&str, &str)> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), f["level"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ids,
        [("params/required", "error"), ("body/unframed", "error")]
    );
    assert_eq!(json["findings"][0]["message"], "SERVER_NAME is empty");
    let exit = server.stop().code();
    let log = server.log();
    assert_eq!(exit, Some(1), "{log}");
    assert!(
        log.contains("check GET /x HTTP/1.1: error params/required: SERVER_NAME is empty\n"),
        "{log}"
    );
    assert!(
        log.contains(
            "check summary: 1 requests, 0 without findings, 2 errors, 0 warnings, 0 info\n\
         check summary: error params/required x1\n\
         check summary: error body/unframed x1\n\
         uwsgi-wire: check: 2 findings were errors\n"
        ),
        "{log}"
    );
}
