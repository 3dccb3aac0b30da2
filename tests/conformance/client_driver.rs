//! The client driver (`uwsgi_wire::client`, feature `client`) against real uwsgi
//! servers serving a small Django project (`tests/peers/django/`): Debian's uWSGI 2.0
//! (`--plugins python3 --home VENV`) and gunicorn 27 (`--protocol uwsgi`), VENV made by
//! the test (`/usr/bin/python3 -m venv`, `pip install 'Django>=5.2,<6' 'gunicorn==27.*'`,
//! once per target dir). Every test runs against both servers: a GET with a query and
//! cookies, a form POST, a 10 MiB streamed binary body (the app checks its sha256), a
//! 100 MiB streamed download with memory bounded, non-200 statuses with their headers,
//! a server that dies mid-response (a body-cut-short error), one that is down and one
//! that is too slow (timeouts).
#![cfg(feature = "client")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full, StreamBody};
use sha2::{Digest, Sha256};
use uwsgi_wire::cgi::NginxParams;
use uwsgi_wire::client::{Builder, ErrorKind, ResponseBody};
use uwsgi_wire::{owned::OwnedResponseHead, Modifier1};

use crate::harness::{self, ci, start_listening, Need, Peer, TempDir, CLEAN_PATH};

const DJANGO: &str = "Django>=5.2,<6";
const GUNICORN: &str = "gunicorn==27.*";

/// What the uWSGI server needs; gunicorn and Django come from the venv.
const NEEDS: &[Need] = &[
    Need::Program("uwsgi", "uwsgi-core"),
    Need::UwsgiPlugin("python3"),
    Need::File("/usr/bin/python3", "python3"),
];

/// The venv with Django and gunicorn, built once per target dir (`None`: skipped).
fn venv() -> Option<PathBuf> {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = VENV.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("peer-venv");
        let stamp = dir.join("uwsgi-wire-ok");
        let wanted = format!("{DJANGO} {GUNICORN}\n");
        if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
            return Ok(dir);
        }
        // Built aside, then renamed into place: another test process racing this one
        // either wins the rename or finds the venv there (the venv's python finds its
        // site-packages from its own path, so a renamed venv works; the servers are
        // started through `VENV/bin/python`, never through a script's shebang).
        let tmp = dir.with_extension(format!("tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let run = |program: &Path, args: &[&str]| -> Result<(), String> {
            let out = Command::new(program)
                .args(args)
                .env("PATH", CLEAN_PATH)
                .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
                .output()
                .map_err(|e| format!("{}: {e}", program.display()))?;
            if out.status.success() {
                return Ok(());
            }
            Err(format!(
                "{} {args:?} failed ({}): {}{}",
                program.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        };
        let tmp_str = tmp.display().to_string();
        run(Path::new("/usr/bin/python3"), &["-m", "venv", &tmp_str]).map_err(|e| {
            format!("{e} (the Debian package `python3-venv` provides venv's ensurepip)")
        })?;
        run(
            &tmp.join("bin/python"),
            &["-m", "pip", "install", "--quiet", DJANGO, GUNICORN],
        )
        .map_err(|e| format!("pip install from PyPI: {e}"))?;
        std::fs::write(tmp.join("uwsgi-wire-ok"), &wanted).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_dir_all(&dir);
        if std::fs::rename(&tmp, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
            Ok(dir)
        } else {
            Err(format!("the venv at {} is not complete", dir.display()))
        }
    });
    match built {
        Ok(dir) => Some(dir.clone()),
        Err(why) if ci() => {
            panic!("building the Django venv failed: {why}. CI is set, so this is a failure")
        }
        Err(why) => {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: {why} (set CI=1 to make this a failure)"
            );
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Uwsgi,
    Gunicorn,
}

/// A running server with the Django project, from its own temp folder.
pub(crate) struct Server {
    pub(crate) kind: Kind,
    pub(crate) port: u16,
    pub(crate) peer: Peer,
    _dir: TempDir,
}

impl Server {
    fn start(kind: Kind, venv: &Path) -> Server {
        let dir = TempDir::new(match kind {
            Kind::Uwsgi => "django-uwsgi",
            Kind::Gunicorn => "django-gunicorn",
        });
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/django/uwtest");
        let app = dir.mkdir("uwtest");
        for file in [
            "__init__.py",
            "settings.py",
            "urls.py",
            "views.py",
            "wsgi.py",
        ] {
            std::fs::copy(src.join(file), app.join(file))
                .unwrap_or_else(|e| panic!("copy {file}: {e}"));
        }
        let chdir = dir.path().display().to_string();
        let (mut peer, port) = start_listening(|port| match kind {
            Kind::Uwsgi => Peer::start(
                "uwsgi-django",
                dir.path(),
                "INT",
                Duration::from_secs(120),
                "uwsgi",
                [
                    "--plugins".to_owned(),
                    "python3".to_owned(),
                    "--socket".to_owned(),
                    format!("127.0.0.1:{port}"),
                    "--home".to_owned(),
                    venv.display().to_string(),
                    "--chdir".to_owned(),
                    chdir.clone(),
                    "--module".to_owned(),
                    "uwtest.wsgi:application".to_owned(),
                    "--master".to_owned(),
                    "--processes".to_owned(),
                    "2".to_owned(),
                ],
            ),
            Kind::Gunicorn => Peer::start(
                "gunicorn-django",
                dir.path(),
                "INT",
                Duration::from_secs(120),
                &venv.join("bin/python").display().to_string(),
                [
                    "-m".to_owned(),
                    "gunicorn".to_owned(),
                    "--protocol".to_owned(),
                    "uwsgi".to_owned(),
                    "--no-control-socket".to_owned(),
                    "--bind".to_owned(),
                    format!("127.0.0.1:{port}"),
                    "--workers".to_owned(),
                    "2".to_owned(),
                    "--chdir".to_owned(),
                    chdir.clone(),
                    "uwtest.wsgi:application".to_owned(),
                ],
            ),
        });
        match kind {
            // The socket is bound before the app loads: wait for the workers.
            Kind::Uwsgi => peer.wait_log("spawned uWSGI worker 2", Duration::from_secs(15)),
            Kind::Gunicorn => peer.wait_log("Booting worker", Duration::from_secs(15)),
        }
        Server {
            kind,
            port,
            peer,
            _dir: dir,
        }
    }

    pub(crate) fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Two uWSGI servers with the Django project, an upstream pair (the NGINX guide's
/// deployment, `guide.rs`), or `None` when the test is skipped.
pub(crate) fn uwsgi_pair() -> Option<[Server; 2]> {
    start_both([Kind::Uwsgi, Kind::Uwsgi])
}

/// Both servers, or `None` when the test is skipped.
pub(crate) fn servers() -> Option<[Server; 2]> {
    start_both([Kind::Uwsgi, Kind::Gunicorn])
}

fn start_both(kinds: [Kind; 2]) -> Option<[Server; 2]> {
    if !harness::available(NEEDS) {
        return None;
    }
    let venv = venv()?;
    Some(kinds.map(|kind| Server::start(kind, &venv)))
}

/// A client whose every wait is short enough for a test.
fn client() -> Builder {
    Builder::new()
        .params(NginxParams::new().remote_addr("192.0.2.7:40000".parse().unwrap()))
        .connect_timeout(Duration::from_secs(5))
        .head_timeout(Duration::from_secs(20))
        .body_timeout(Duration::from_secs(20))
}

type Empty = http_body_util::Empty<Bytes>;

async fn send<B>(
    builder: &Builder,
    server: &Server,
    request: http::Request<B>,
) -> Result<http::Response<ResponseBody>, uwsgi_wire::client::Error>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    builder.build(&server.addr()).send(request).await
}

async fn json(response: http::Response<ResponseBody>) -> serde_json::Value {
    let body = response
        .into_body()
        .collect()
        .await
        .expect("the whole body")
        .to_bytes();
    serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&body)))
}

#[tokio::test]
async fn get_with_a_query_and_cookies() {
    let Some(servers) = servers() else { return };
    for server in &servers {
        let request = http::Request::get("/echo?a=1&b=two%20words&a=3")
            .header("host", "app.example")
            .header("cookie", "sid=abc123; theme=dark")
            .body(Empty::new())
            .unwrap();
        let response = send(&client(), server, request).await.expect("a response");
        assert_eq!(response.status(), 200, "{:?}", server.kind);
        assert_eq!(response.headers()["content-type"], "application/json");
        let echo = json(response).await;
        assert_eq!(echo["method"], "GET", "{:?}: {echo}", server.kind);
        assert_eq!(echo["path"], "/echo");
        assert_eq!(echo["query"]["a"], serde_json::json!(["1", "3"]));
        assert_eq!(echo["query"]["b"], serde_json::json!(["two words"]));
        assert_eq!(echo["cookies"]["sid"], "abc123");
        assert_eq!(echo["cookies"]["theme"], "dark");
        assert_eq!(echo["server_protocol"], "HTTP/1.1");
        match server.kind {
            // uWSGI passes every var on; gunicorn sets REMOTE_ADDR from its socket's
            // peer and leaves REQUEST_URI out of the environ.
            Kind::Uwsgi => {
                assert_eq!(echo["remote_addr"], "192.0.2.7");
                assert_eq!(echo["request_uri"], "/echo?a=1&b=two%20words&a=3");
            }
            Kind::Gunicorn => assert_eq!(echo["remote_addr"], "127.0.0.1"),
        }
    }
}

#[tokio::test]
async fn a_form_post() {
    let Some(servers) = servers() else { return };
    for server in &servers {
        let form = "name=J%C3%BCrgen&tags=x&tags=y+z&empty=";
        let request = http::Request::post("/echo")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(form)))
            .unwrap();
        let response = send(&client(), server, request).await.expect("a response");
        assert_eq!(response.status(), 200);
        let echo = json(response).await;
        assert_eq!(echo["method"], "POST", "{:?}: {echo}", server.kind);
        assert_eq!(echo["content_length"], form.len().to_string());
        assert_eq!(echo["form"]["name"], serde_json::json!(["Jürgen"]));
        assert_eq!(echo["form"]["tags"], serde_json::json!(["x", "y z"]));
        assert_eq!(echo["form"]["empty"], serde_json::json!([""]));
    }
}

/// 64 KiB chunk `i` of a deterministic pseudo-random body.
fn chunk(i: u64, len: usize) -> Bytes {
    let mut state = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out.into()
}

#[tokio::test]
async fn a_10_mib_binary_body_streamed() {
    let Some(servers) = servers() else { return };
    const LEN: usize = 10 << 20;
    const CHUNK: usize = 64 * 1024;
    let mut digest = Sha256::new();
    for i in 0..LEN / CHUNK {
        digest.update(chunk(i as u64, CHUNK));
    }
    let expected = format!("{:x}", digest.finalize());
    for server in &servers {
        // Made chunk by chunk as the driver asks for them: never 10 MiB in memory.
        let chunks = futures_util::stream::iter(0..(LEN / CHUNK) as u64)
            .map(|i| Ok::<_, std::io::Error>(http_body::Frame::data(chunk(i, CHUNK))));
        let request = http::Request::post("/sha256")
            .header("content-type", "application/octet-stream")
            .header("content-length", LEN)
            .body(StreamBody::new(chunks))
            .unwrap();
        let response = send(&client(), server, request).await.expect("a response");
        assert_eq!(response.status(), 200);
        let answer = json(response).await;
        assert_eq!(answer["length"], LEN, "{:?}", server.kind);
        assert_eq!(answer["sha256"], expected, "{:?}", server.kind);

        // A body of unknown length (no Content-Length, no exact size): buffered up to
        // the limit to learn its CONTENT_LENGTH, as nginx de-chunks.
        let chunks = futures_util::stream::iter(0..3u64)
            .map(|i| Ok::<_, std::io::Error>(http_body::Frame::data(chunk(i, 1000))));
        let request = http::Request::post("/sha256")
            .body(StreamBody::new(chunks))
            .unwrap();
        let response = send(&client(), server, request).await.expect("a response");
        let answer = json(response).await;
        let mut digest = Sha256::new();
        (0..3).for_each(|i| digest.update(chunk(i, 1000)));
        assert_eq!(answer["length"], 3000);
        assert_eq!(answer["sha256"], format!("{:x}", digest.finalize()));
    }
}

/// The process's resident set, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_100_mib_download_streams_with_memory_bounded() {
    let Some(servers) = servers() else { return };
    const LEN: u64 = 100 << 20;
    let pattern: Vec<u8> = (0..64 * 1024 + 251).map(|i| (i % 251) as u8).collect();
    for server in &servers {
        let request = http::Request::get(format!("/download?n={LEN}"))
            .body(Empty::new())
            .unwrap();
        let response = send(&client(), server, request).await.expect("a response");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-length"], LEN.to_string());
        let before = rss_kib();
        let mut peak = before;
        let (mut total, mut max_chunk, mut chunks) = (0u64, 0usize, 0u64);
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            let data = frame.expect("no error").into_data().expect("data");
            let at = (total % 251) as usize;
            assert!(data.len() <= 64 * 1024, "a chunk of {} bytes", data.len());
            assert!(
                data[..] == pattern[at..at + data.len()],
                "wrong bytes at {total}"
            );
            total += data.len() as u64;
            max_chunk = max_chunk.max(data.len());
            chunks += 1;
            if chunks % 128 == 0 {
                peak = peak.max(rss_kib());
            }
        }
        peak = peak.max(rss_kib());
        assert_eq!(total, LEN, "{:?}", server.kind);
        let growth_mib = peak.saturating_sub(before) / 1024;
        eprintln!(
            "{:?}: {LEN} bytes in {chunks} chunks of at most {max_chunk}; RSS {} -> {} KiB",
            server.kind, before, peak
        );
        assert!(
            growth_mib < 24,
            "RSS grew by {growth_mib} MiB for a 100 MiB download"
        );
    }
}

#[tokio::test]
async fn non_200_statuses_keep_their_headers() {
    let Some(servers) = servers() else { return };
    for server in &servers {
        for (code, reason) in [
            (404, "Not Found"),
            (418, "I'm a Teapot"),
            (503, "Service Unavailable"),
            (301, "Moved Permanently"),
        ] {
            let uri = format!("/status/{code}?h=X-Custom:yes&h=Location:/elsewhere");
            let request = http::Request::get(uri).body(Empty::new()).unwrap();
            let response = send(&client(), server, request).await.expect("a response");
            assert_eq!(response.status(), code, "{:?}", server.kind);
            let head = response
                .extensions()
                .get::<OwnedResponseHead>()
                .expect("the raw head");
            // Django's phrase for 418 is Python's `I'm a Teapot`.
            let got = String::from_utf8_lossy(head.head().reason()).into_owned();
            assert!(
                got.eq_ignore_ascii_case(reason),
                "{:?}: {got:?}",
                server.kind
            );
            let headers = response.headers();
            assert_eq!(headers["x-custom"], "yes");
            assert_eq!(headers["location"], "/elsewhere");
            let cookies: Vec<_> = headers.get_all("set-cookie").iter().collect();
            assert_eq!(cookies, ["a=1; Path=/", "b=2; Path=/"], "{:?}", server.kind);
            let body = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            assert_eq!(body, format!("status {code}"));
        }
    }
}

#[tokio::test]
async fn an_upstream_that_dies_mid_response_is_a_body_cut_short() {
    let Some(servers) = servers() else { return };
    for server in &servers {
        let request = http::Request::get("/die?n=100000")
            .body(Empty::new())
            .unwrap();
        let response = send(&client(), server, request)
            .await
            .expect("the head arrives");
        assert_eq!(response.headers()["content-length"], "200000");
        let mut body = response.into_body();
        let mut got = 0;
        let err = loop {
            match body.frame().await {
                Some(Ok(frame)) => got += frame.into_data().map_or(0, |d| d.len()),
                Some(Err(err)) => break err,
                None => panic!(
                    "{:?}: the body ended after {got} bytes, no error",
                    server.kind
                ),
            }
        };
        assert_eq!(
            err.kind(),
            ErrorKind::BodyCutShort,
            "{:?}: {err}",
            server.kind
        );
        assert_eq!(err.status_code(), Some(502));
        assert!(got <= 100_000, "{got}");
        assert!(body.frame().await.is_none(), "nothing after the error");
    }
}

#[tokio::test]
async fn an_upstream_that_is_down_or_closes_without_an_answer() {
    let Some(mut servers) = servers() else { return };
    // uWSGI closes without a byte on a modifier1 it has no plugin for.
    let builder = client().modifier1(Modifier1(250));
    let request = http::Request::get("/echo").body(Empty::new()).unwrap();
    let err = send(&builder, &servers[0], request).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
    assert_eq!(err.status_code(), Some(502));

    for server in &mut servers {
        server.peer.stop();
        let started = Instant::now();
        let err = client().connect(&server.addr()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect, "{:?}: {err}", server.kind);
        assert_eq!(err.status_code(), Some(502));
        assert!(err.to_string().contains(&server.addr()), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    let err = client()
        .connect("unix:/nonexistent/uwsgi-wire.sock")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
}

#[tokio::test]
async fn an_upstream_that_is_too_slow_times_out() {
    let Some(servers) = servers() else { return };
    for server in &servers {
        let builder = client().head_timeout(Duration::from_secs(1));
        let request = http::Request::get("/slow?s=4").body(Empty::new()).unwrap();
        let started = Instant::now();
        let err = send(&builder, server, request).await.unwrap_err();
        let waited = started.elapsed();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{:?}: {err}", server.kind);
        assert_eq!(err.status_code(), Some(504));
        assert!(
            waited >= Duration::from_secs(1) && waited < Duration::from_secs(3),
            "{waited:?}"
        );

        let builder = client().body_timeout(Duration::from_secs(1));
        let request = http::Request::get("/slow-body?s=4")
            .body(Empty::new())
            .unwrap();
        let response = send(&builder, server, request)
            .await
            .expect("the head arrives");
        let mut body = response.into_body();
        let first = body
            .frame()
            .await
            .expect("a frame")
            .expect("the first bytes");
        assert_eq!(first.into_data().unwrap(), "part");
        let started = Instant::now();
        let err = body.frame().await.expect("a frame").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{:?}: {err}", server.kind);
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}

/// No peer needed: a server that answers before reading the request body (an early
/// 413) gets no more of it, and its answer is returned, with no deadlock.
#[tokio::test]
async fn an_early_answer_stops_the_request_body() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (client_io, mut server) = tokio::io::duplex(16 * 1024);
    let answered = tokio::spawn(async move {
        let mut header = [0u8; 4];
        server.read_exact(&mut header).await?;
        let mut block = vec![0u8; usize::from(u16::from_le_bytes([header[1], header[2]]))];
        server.read_exact(&mut block).await?;
        server
            .write_all(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 9\r\n\r\ntoo large")
            .await?;
        // Never reads the body; holds the connection open.
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok::<_, std::io::Error>(())
    });
    let body = Full::new(Bytes::from(vec![7u8; 10 << 20]));
    let request = http::Request::put("/upload").body(body).unwrap();
    let started = Instant::now();
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        client().send_request(client_io, request),
    )
    .await
    .expect("no deadlock")
    .expect("the early answer");
    assert_eq!(response.status(), 413);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("its body")
        .to_bytes();
    assert_eq!(body, "too large");
    assert!(started.elapsed() < Duration::from_secs(5));
    answered.abort();
}

/// A server that reads one request packet (header and block, no body) and answers
/// `answer`, then closes.
fn answering(answer: &'static [u8]) -> tokio::io::DuplexStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (client_io, mut server) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let mut header = [0u8; 4];
        server.read_exact(&mut header).await?;
        let mut block = vec![0u8; usize::from(u16::from_le_bytes([header[1], header[2]]))];
        server.read_exact(&mut block).await?;
        server.write_all(answer).await
    });
    client_io
}

/// No peer needed: each setting means one thing. `Limits::max_body` bounds what the
/// client reads, the response body (refused at the head when its Content-Length says
/// so, else as soon as it passes the limit); `max_request_body` bounds the request body
/// of unknown length it buffers (413).
#[tokio::test]
async fn max_body_bounds_the_response_and_max_request_body_the_buffered_request() {
    let small = || client().limits(uwsgi_wire::Limits::new().max_body(4));
    let get = || http::Request::get("/").body(Empty::new()).unwrap();

    let io = answering(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
    let err = small().send_request(io, get()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BodyTooLarge, "{err}");
    assert_eq!(err.status_code(), Some(502));

    let io = answering(b"HTTP/1.1 200 OK\r\n\r\n0123456789");
    let response = small().send_request(io, get()).await.expect("the head");
    let err = response.into_body().collect().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BodyTooLarge, "{err}");

    // The default reads any response body; the request's buffer limit is its own.
    let io = answering(b"HTTP/1.1 200 OK\r\n\r\n0123456789");
    let response = client().send_request(io, get()).await.expect("the head");
    let body = response.into_body().collect().await.expect("the body");
    assert_eq!(body.to_bytes(), "0123456789");

    let unknown = || {
        let chunks = futures_util::stream::iter(0..3u64)
            .map(|i| Ok::<_, std::io::Error>(http_body::Frame::data(chunk(i, 1000))));
        http::Request::post("/")
            .body(StreamBody::new(chunks))
            .unwrap()
    };
    let io = answering(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let err = client()
        .max_request_body(2999)
        .send_request(io, unknown())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RequestBody, "{err}");
    assert_eq!(err.status_code(), Some(413));
    let io = answering(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let response = client()
        .max_request_body(3000)
        .limits(uwsgi_wire::Limits::new().max_body(0))
        .send_request(io, unknown())
        .await
        .expect("a body of exactly the limit is sent");
    assert_eq!(response.status(), 200);
}

/// No peer needed: `unix:PATH` and a bare path reach a Unix socket (the crate's own
/// server driver listening on it).
#[cfg(feature = "server")]
#[tokio::test]
async fn unix_sockets() {
    let dir = TempDir::new("client-unix");
    let path = dir.path().join("app.sock");
    let listener = tokio::net::UnixListener::bind(&path).expect("bind");
    let app = axum::Router::new().route("/hi", axum::routing::get(|| async { "hi over unix" }));
    let served = tokio::spawn(async move { uwsgi_wire::server::serve(listener, app).await });
    for addr in [
        format!("unix:{}", path.display()),
        path.display().to_string(),
    ] {
        let builder = client();
        let stream = builder.connect(&addr).await.expect("connect");
        assert!(matches!(stream, uwsgi_wire::client::Stream::Unix(_)));
        let request = http::Request::get("/hi").body(Empty::new()).unwrap();
        // The request future and the body are Send: a gateway runs them in tasks.
        let task = tokio::spawn(async move {
            let response = builder
                .send_request(stream, request)
                .await
                .expect("a response");
            assert_eq!(response.status(), 200);
            response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes()
        });
        assert_eq!(task.await.expect("no panic"), "hi over unix");
    }
    served.abort();
}

/// A server that answers as it reads (an echo: its head goes out before the body is in)
/// gets the whole request body: the client goes on sending after the head, or both
/// sides would wait for each other until the body timeout. No peer: the crate's own
/// server driver with an axum echo route.
#[cfg(feature = "server")]
#[tokio::test]
async fn a_server_that_answers_as_it_reads_gets_the_whole_body() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let app = axum::Router::new().route(
        "/echo",
        axum::routing::post(|request: axum::extract::Request| async move {
            axum::body::Body::new(request.into_body())
        }),
    );
    let served = tokio::spawn(async move { uwsgi_wire::server::serve(listener, app).await });
    let body: Vec<u8> = (0..8u32 << 20).map(|i| (i % 251) as u8).collect();
    let builder = client().body_timeout(Duration::from_secs(5));
    let stream = builder.connect(&addr).await.expect("connect");
    let request = http::Request::post("/echo")
        .body(Full::new(Bytes::from(body.clone())))
        .unwrap();
    let started = Instant::now();
    let response = builder
        .send_request(stream, request)
        .await
        .expect("a response");
    assert_eq!(response.status(), 200);
    let echoed = response
        .into_body()
        .collect()
        .await
        .expect("the whole echo")
        .to_bytes();
    assert_eq!(echoed.len(), body.len());
    assert!(echoed == body, "the echo differs");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    served.abort();
}
