//! `uwsgi_wire::check` (feature `check`, issue 13), proved both ways:
//!
//! 1. Every case catches the defect it is meant for: small in-test servers, a
//!    reference one and one per defect (ignores CONTENT_LENGTH, accepts a zero-length
//!    key, reads an invalid CONTENT_LENGTH as 0, answers a smuggled packet, accepts
//!    stray bytes, never times out a missing body); each defect fails exactly the cases
//!    named for it and passes the others.
//! 2. The catalogue against the real servers: uWSGI 2.0.21 and gunicorn 27 serving the
//!    Django project of `client_driver.rs`, the crate's own server driver
//!    (`examples/axum`) and the CLI's `serve`. The crate's own two must pass every
//!    MUST case. The grid (server x case) is docs/CHECK.md: with
//!    `UWSGI_WIRE_WRITE_GRID=1` the test writes it, otherwise it checks the committed
//!    grid matches (`tests/peers/check-grid.sh` regenerates it).
#![cfg(feature = "check")]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use uwsgi_wire::check::{catalogue, Checker, Level, Outcome, Report};

use crate::harness::{start_listening, Peer, TempDir};

/// The per-wait timeout of every run here: short, the servers are local.
const TIMEOUT: Duration = Duration::from_millis(700);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    None,
    IgnoresContentLength,
    AcceptsEmptyKey,
    InvalidLengthIsZero,
    AnswersSmuggled,
    AcceptsStrayBytes,
    NeverTimesOutBody,
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const BAD: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";

/// A tiny uwsgi server that answers like uWSGI 2.0 with a 4096-byte buffer (one
/// request per connection, a close for what it refuses), but with `defect`.
async fn mini_server(defect: Defect) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handle(stream, defect));
        }
    });
    addr
}

/// The pairs of a block; `None` when it is malformed (as `defect` sees it).
fn parse(block: &[u8], defect: Defect) -> Option<Vec<(&[u8], &[u8])>> {
    let mut pairs = Vec::new();
    let mut at = 0;
    let len16 = |at: usize| usize::from(u16::from_le_bytes([block[at], block[at + 1]]));
    while at < block.len() {
        if block.len() - at < 2 {
            if defect == Defect::AcceptsStrayBytes {
                break;
            }
            return None;
        }
        let klen = len16(at);
        at += 2;
        if klen == 0 && defect != Defect::AcceptsEmptyKey {
            return None;
        }
        if block.len() - at < klen + 2 {
            return None;
        }
        let key = &block[at..at + klen];
        at += klen;
        let vlen = len16(at);
        at += 2;
        if block.len() - at < vlen {
            return None;
        }
        pairs.push((key, &block[at..at + vlen]));
        at += vlen;
    }
    Some(pairs)
}

async fn handle(mut stream: TcpStream, defect: Defect) {
    let wait = Duration::from_secs(2);
    let mut header = [0u8; 4];
    if !matches!(
        timeout(wait, stream.read_exact(&mut header)).await,
        Ok(Ok(_))
    ) {
        return;
    }
    let datasize = usize::from(u16::from_le_bytes([header[1], header[2]]));
    if header[0] != 0 || datasize == 0 || datasize > 4096 {
        return; // as uWSGI: an unknown kind, an empty request, over the buffer
    }
    let mut block = vec![0u8; datasize];
    if !matches!(
        timeout(wait, stream.read_exact(&mut block)).await,
        Ok(Ok(_))
    ) {
        return;
    }
    let Some(pairs) = parse(&block, defect) else {
        return;
    };
    let lengths: BTreeSet<&[u8]> = pairs
        .iter()
        .filter(|(k, _)| *k == b"CONTENT_LENGTH")
        .map(|(_, v)| *v)
        .collect();
    if lengths.len() > 1 {
        let _ = stream.write_all(BAD).await;
        return;
    }
    let value = lengths.first().copied().unwrap_or(b"");
    let length = if value.is_empty() {
        0
    } else if value.iter().all(u8::is_ascii_digit) {
        std::str::from_utf8(value)
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0)
    } else if defect == Defect::InvalidLengthIsZero {
        0
    } else {
        let _ = stream.write_all(BAD).await;
        return;
    };
    let mut body = vec![0u8; length];
    if defect == Defect::IgnoresContentLength && length > 0 {
        // Reads the body to the close, whatever CONTENT_LENGTH says.
        body.clear();
        let _ = timeout(Duration::from_secs(60), stream.read_to_end(&mut body)).await;
    } else {
        let body_wait = if defect == Defect::NeverTimesOutBody {
            Duration::from_secs(60)
        } else {
            Duration::from_millis(200)
        };
        if !matches!(
            timeout(body_wait, stream.read_exact(&mut body)).await,
            Ok(Ok(_))
        ) {
            return;
        }
    }
    let _ = stream.write_all(OK).await;
    if defect == Defect::AnswersSmuggled && body.first() == Some(&0) && body.len() >= 4 {
        let _ = stream.write_all(OK).await;
    }
}

fn checker() -> Checker {
    Checker::new().timeout(TIMEOUT).strict(true)
}

fn failed(report: &Report) -> BTreeSet<&'static str> {
    report
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .map(|r| r.case.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_defect_fails_the_cases_meant_for_it_and_no_other() {
    let table: [(Defect, &[&str]); 7] = [
        (Defect::None, &[]),
        (
            Defect::IgnoresContentLength,
            &["body/1", "body/2", "body/3", "security/1"],
        ),
        (Defect::AcceptsEmptyKey, &["malformed/1"]),
        (Defect::InvalidLengthIsZero, &["body/4", "body/5", "body/6"]),
        (Defect::AnswersSmuggled, &["security/1"]),
        (Defect::AcceptsStrayBytes, &["malformed/4"]),
        (Defect::NeverTimesOutBody, &["body/3"]),
    ];
    let runs = table.iter().map(|&(defect, want)| async move {
        let addr = mini_server(defect).await;
        let report = checker().run(&addr).await.expect("the GET / is answered");
        (defect, want, report)
    });
    for (defect, want, report) in futures_util::future::join_all(runs).await {
        assert_eq!(report.results.len(), catalogue().len(), "{defect:?}");
        let want: BTreeSet<&str> = want.iter().copied().collect();
        assert_eq!(failed(&report), want, "{defect:?}: {:#?}", report.results);
        assert_eq!(report.passed(), want.is_empty(), "{defect:?}");
    }
}

#[tokio::test]
async fn a_server_that_is_down_or_never_answers_is_an_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    // Accepts, never answers.
    let err = checker().run(&addr).await.unwrap_err();
    assert!(
        err.to_string().contains("neither answered nor closed"),
        "{err}"
    );
    drop(listener);
    let err = checker().run(&addr).await.unwrap_err();
    assert!(err.to_string().contains("could not be reached"), "{err}");
    let err = checker().only(["nope/9"]).run(&addr).await.unwrap_err();
    assert!(err.to_string().contains("nope/9"), "{err}");
}

/// The crate's own servers: (name, peer, port).
fn own_servers(dir: &TempDir) -> Vec<(&'static str, Peer, u16)> {
    let axum = crate::own_servers::examples::example("axum");
    let (axum_peer, axum_port) = start_listening(|port| {
        Peer::start(
            "check-axum",
            dir.path(),
            "TERM",
            Duration::from_secs(300),
            axum.to_str().expect("UTF-8 path"),
            [format!("127.0.0.1:{port}")],
        )
    });
    let cli = crate::own_servers::examples::cli_binary();
    let (serve_peer, serve_port) = start_listening(|port| {
        Peer::start(
            "check-serve",
            dir.path(),
            "INT",
            Duration::from_secs(300),
            cli.to_str().expect("UTF-8 path"),
            ["serve".to_owned(), format!("127.0.0.1:{port}")],
        )
    });
    vec![
        ("axum example", axum_peer, axum_port),
        ("`uwsgi-wire serve`", serve_peer, serve_port),
    ]
}

/// The top of docs/CHECK.md.
const HEAD: &str = "# `uwsgi-wire check`: the conformance catalogue and its results

Generated by `tests/conformance/check.rs` (`tests/peers/check-grid.sh` regenerates it;
the test fails when the committed grid differs). The catalogue is
`uwsgi_wire::check::catalogue()` (feature `check`); `uwsgi-wire check ADDR [CASE...]`
runs it, `--list` prints it. Every case opens its own connections, sends its bytes and
judges the answer; the only thing required of the server is that it answers a plain
`GET /` with any status. In a server's own tests, `Checker::run_with` runs it over any
connection, such as a `tokio::io::duplex` served in memory: no case needs a socket
(none half-closes; a silent peer is found by the same timeouts), and every case ends
as over TCP (`tests/check.rs`). MUST cases always run; `--strict` adds the SHOULD ones. A
failure exits 1; a warning does not.

How a case judges, in general:

- a valid request (framing, vars) must get the plain `GET /`'s status;
- an invalid one (body/4-7, malformed) must be refused: a close, or a 4xx other than the
  status of the same request made valid (so a server answering 404 to everything still
  shows whether it read the request), and the server must answer the next connection;
- nothing may be waited on past the timeout: a server that neither answers nor closes
  fails.
";

const GRID_START: &str = "<!-- grid: generated by tests/conformance/check.rs -->";
const GRID_END: &str = "<!-- /grid -->";

fn cell(outcome: Outcome) -> &'static str {
    outcome.as_str()
}

/// docs/CHECK.md, from the catalogue and the reports.
fn render(reports: &[(&str, Report)]) -> String {
    let mut out = String::new();
    out.push_str(HEAD);
    out.push_str("\n## The catalogue\n\n| id | title | level | reference | source |\n|---|---|---|---|---|\n");
    for case in catalogue() {
        let level = match case.level {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
        };
        out.push_str(&format!(
            "| `{}` | {} | {level} | {} | {} |\n",
            case.id,
            case.title,
            case.reference.replace('|', "\\|"),
            case.source
        ));
    }
    out.push_str("\n## The grid\n\n`uwsgi-wire check --strict --timeout 0.7` against each server (the test's timeout).\n\n");
    out.push_str(GRID_START);
    out.push_str("\n\n| case |");
    for (name, _) in reports {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|");
    for _ in reports {
        out.push_str("---|");
    }
    out.push('\n');
    for (i, case) in catalogue().iter().enumerate() {
        out.push_str(&format!("| `{}` {} |", case.id, case.title));
        for (_, report) in reports {
            out.push_str(&format!(" {} |", cell(report.results[i].outcome)));
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(GRID_END);
    out.push_str("\n\n## What each server did, where it did not pass\n");
    for (name, report) in reports {
        out.push_str(&format!("\n### {name}\n\n"));
        let mut any = false;
        for result in &report.results {
            if result.outcome != Outcome::Pass {
                any = true;
                out.push_str(&format!(
                    "- `{}` {}: {}\n",
                    result.case.id,
                    result.outcome.as_str(),
                    result.detail.replace('|', "\\|")
                ));
            }
        }
        if !any {
            out.push_str("Every case passed.\n");
        }
    }
    out
}

fn grid_of(text: &str) -> Option<&str> {
    let start = text.find(GRID_START)?;
    let end = text[start..].find(GRID_END)? + start;
    Some(&text[start..end])
}

#[test]
fn the_grid_of_the_real_servers_and_our_own() {
    let dir = TempDir::new("check-grid");
    let own = own_servers(&dir);
    let Some(django) = crate::client_driver::servers() else {
        return; // skipped (under CI, `servers` panicked)
    };
    let mut targets: Vec<(&str, String)> = vec![
        ("uWSGI 2.0.21 (Django)", django[0].addr()),
        ("gunicorn 27 (Django)", django[1].addr()),
    ];
    for (name, _, port) in &own {
        targets.push((name, format!("127.0.0.1:{port}")));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let reports: Vec<(&str, Report)> = runtime.block_on(async {
        // Django's first request builds its URL resolver and more: seconds on a loaded
        // machine, where the cases wait 700 ms. One request first, with time to spare,
        // so the grid measures the protocol, not the warm-up.
        for server in &django {
            let client = uwsgi_wire::client::Builder::new()
                .head_timeout(Duration::from_secs(30))
                .body_timeout(Duration::from_secs(30))
                .build(&server.addr());
            let request = http::Request::get("/")
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .expect("a request");
            let response = client.send(request).await.expect("Django's first answer");
            let _ = http_body_util::BodyExt::collect(response.into_body()).await;
        }
        let runs = targets.iter().map(|(name, addr)| async move {
            let report = checker()
                .run(addr)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            (*name, report)
        });
        futures_util::future::join_all(runs).await
    });
    for (name, report) in &reports[2..] {
        let failed: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.case.level == Level::Must && r.outcome == Outcome::Fail)
            .map(|r| (r.case.id, r.detail.clone()))
            .collect();
        assert!(failed.is_empty(), "{name} fails MUST cases: {failed:#?}");
    }
    let text = render(&reports);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/CHECK.md");
    if std::env::var_os("UWSGI_WIRE_WRITE_GRID").is_some_and(|v| v == "1") {
        std::fs::write(&path, &text).expect("write docs/CHECK.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        grid_of(&committed),
        grid_of(&text),
        "docs/CHECK.md's grid is out of date: run tests/peers/check-grid.sh. New file:\n{text}"
    );
}

#[tokio::test]
async fn an_http_port_is_told_apart_from_a_uwsgi_socket() {
    if !crate::harness::available(crate::harness::NGINX) {
        return;
    }
    // nginx's HTTP port (its upstream is down: a plain GET / gets 502 there).
    let dir = TempDir::new("check-http-port");
    let front = crate::peers::nginx(&dir, crate::harness::free_port());
    let addr = format!("127.0.0.1:{}", front.port);
    let err = checker().run(&addr).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("speaks HTTP, not uwsgi"), "{text}");
    assert!(text.contains("uwsgi_pass"), "{text}");
}

#[tokio::test]
async fn a_unix_socket_is_checked_like_tcp() {
    // The crate's own server driver on a Unix socket, as `uwsgi_pass unix:PATH` reaches it.
    let dir = TempDir::new("check-unix");
    let path = dir.path().join("app.sock");
    let listener = tokio::net::UnixListener::bind(&path).expect("bind the socket");
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    let server = tokio::spawn(async move { uwsgi_wire::server::serve(listener, app).await });
    let addr = format!("unix:{}", path.display());
    let report = checker()
        .only(["framing", "vars", "body/1"])
        .run(&addr)
        .await
        .expect("the check runs");
    assert_eq!(report.baseline_status, Some(200));
    assert!(report.passed(), "{report:?}");
    assert_eq!(report.count(Outcome::Pass), report.results.len());
    server.abort();
}
