//! The floor of an HTTP front end on hyper and tokio, for the end-to-end load test
//! (`benches/e2e/`): the least a front end built on them does per request, to weigh
//! `uwsgi-wire gateway` and nginx against, and the price of each thing a gateway adds.
//! Not a gateway: no params from the request, no timeouts unless asked, 502 for any
//! failure.
//!
//! ```sh
//! cargo run --release --example bench_front --features client -- 127.0.0.1:8080 proxy 127.0.0.1:3031
//! cargo run --release --example bench_front --features client -- 127.0.0.1:8080 client 127.0.0.1:3031
//! cargo run --release --example bench_front --features client -- 127.0.0.1:8080 static /var/www
//! ```
//!
//! - `proxy UPSTREAM`: every request opens a TCP connection to `UPSTREAM`, writes one
//!   uwsgi packet made once at start (the vars nginx's `uwsgi_params` sends for
//!   `curl http://127.0.0.1:8080/`), reads the answer to its end (at most 64 KiB), parses
//!   its head with `httparse` and answers it, as nginx's `uwsgi_pass` does without
//!   keep-alive.
//! - `client UPSTREAM`: the same through [`uwsgi_wire::client::Client`], the vars made
//!   from the request (`NginxParams`, the client address in `RequestParams`), the body
//!   streamed back.
//! - `static DIR`: every request opens the file under `DIR` named by its path, reads its
//!   metadata and whole content on the runtime's thread (no blocking pool: the page
//!   cache answers at once, as nginx assumes) and answers it.
//!
//! By default one current-thread runtime and hyper's `http1` connection with
//! keep-alive, what `uwsgi-wire gateway --workers 1` and nginx's one worker process
//! compare with. Each flag adds what the gateway had on top of that when this was
//! written, to price it alone:
//!
//! - `--multi-thread`: tokio's multi-thread runtime with one worker thread, the accept
//!   loop in `block_on`;
//! - `--auto`: hyper-util's `auto::Builder` (HTTP/1.1 only) instead of `http1`, with
//!   title-cased header names;
//! - `--header-timeout`: hyper's `header_read_timeout` (60 s) and its tokio timer.
//!
//! It prints `listening on ADDR` once ready.

use std::convert::Infallible;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use uwsgi_wire::cgi::{NginxParams, RequestParams};
use uwsgi_wire::client::{self, Client};
use uwsgi_wire::{Modifier1, Packet, Payload, VarsBuilder};

/// nginx's `uwsgi_params` for `curl http://127.0.0.1:8080/`, in nginx's order.
const VARS: &[(&str, &str)] = &[
    ("QUERY_STRING", ""),
    ("REQUEST_METHOD", "GET"),
    ("CONTENT_TYPE", ""),
    ("CONTENT_LENGTH", ""),
    ("REQUEST_URI", "/"),
    ("PATH_INFO", "/"),
    ("DOCUMENT_ROOT", "/usr/share/nginx/html"),
    ("SERVER_PROTOCOL", "HTTP/1.1"),
    ("REQUEST_SCHEME", "http"),
    ("REMOTE_ADDR", "127.0.0.1"),
    ("REMOTE_PORT", "41234"),
    ("SERVER_PORT", "8080"),
    ("SERVER_NAME", ""),
    ("HTTP_HOST", "127.0.0.1:8080"),
    ("HTTP_USER_AGENT", "curl/7.88.1"),
    ("HTTP_ACCEPT", "*/*"),
];

/// The most bytes of an answer read.
const LIMIT: usize = 64 * 1024;

type Body = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

enum Mode {
    Proxy { upstream: SocketAddr, packet: Bytes },
    Client(Client),
    Static { dir: PathBuf },
}

fn usage(message: &str) -> ! {
    eprintln!("bench_front: {message}");
    eprintln!(
        "usage: bench_front ADDR (proxy UPSTREAM | client UPSTREAM | static DIR) \
         [--multi-thread] [--auto] [--header-timeout]"
    );
    std::process::exit(2)
}

fn packet() -> Bytes {
    let mut vars = VarsBuilder::default();
    for (name, value) in VARS {
        vars.push(name, value).expect("short vars");
    }
    let packet =
        Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars())).expect("a short block");
    let mut bytes = Vec::new();
    packet.encode_to(&mut bytes).expect("room in a Vec");
    Bytes::from(bytes)
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(mode), Some(target)) = (args.next(), args.next(), args.next()) else {
        usage("ADDR, a mode and its argument expected");
    };
    let (mut multi_thread, mut auto, mut header_timeout) = (false, false, false);
    for flag in args {
        match flag.as_str() {
            "--multi-thread" => multi_thread = true,
            "--auto" => auto = true,
            "--header-timeout" => header_timeout = true,
            _ => usage(&format!("{flag}: unknown flag")),
        }
    }
    let addr: SocketAddr = addr
        .parse()
        .unwrap_or_else(|_| usage("ADDR: not an address"));
    let upstream = || {
        target
            .parse()
            .unwrap_or_else(|_| usage("UPSTREAM: not an address"))
    };
    let mode = Arc::new(match mode.as_str() {
        "proxy" => Mode::Proxy {
            upstream: upstream(),
            packet: packet(),
        },
        "client" => Mode::Client(
            client::Builder::new()
                .params(NginxParams::new())
                .build(&target),
        ),
        "static" => Mode::Static {
            dir: PathBuf::from(&target),
        },
        _ => usage("the mode is proxy, client or static"),
    });
    let runtime = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    };
    let mut http1 = http1::Builder::new();
    if header_timeout {
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(60));
    }
    let mut http_auto = auto::Builder::new(TokioExecutor::new()).http1_only();
    http_auto.http1().title_case_headers(true);
    if header_timeout {
        http_auto
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(60));
    }
    let http = Arc::new((http1, http_auto));
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (stream, peer) = listener.accept().await?;
            let mode = Arc::clone(&mode);
            let http = Arc::clone(&http);
            tokio::spawn(async move {
                let service = service_fn(move |request| answer(Arc::clone(&mode), peer, request));
                let stream = TokioIo::new(stream);
                let _ = if auto {
                    http.1.serve_connection(stream, service).await
                } else {
                    http.0
                        .serve_connection(stream, service)
                        .await
                        .map_err(Into::into)
                };
            });
        }
    })
}

async fn answer(
    mode: Arc<Mode>,
    peer: SocketAddr,
    mut request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let answer = match &*mode {
        Mode::Proxy { upstream, packet } => proxy(*upstream, packet).await,
        Mode::Static { dir } => file(dir, request.uri().path()),
        Mode::Client(client) => {
            request
                .extensions_mut()
                .insert(RequestParams::new().remote_addr(peer));
            client
                .send(request)
                .await
                .map(|response| response.map(|body| body.map_err(Into::into).boxed_unsync()))
                .map_err(io::Error::other)
        }
    };
    Ok(answer.unwrap_or_else(|_| {
        let mut response = Response::new(full(Bytes::new()));
        *response.status_mut() = StatusCode::BAD_GATEWAY;
        response
    }))
}

fn full(bytes: Bytes) -> Body {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

async fn proxy(upstream: SocketAddr, packet: &Bytes) -> io::Result<Response<Body>> {
    let mut stream = TcpStream::connect(upstream).await?;
    stream.write_all(packet).await?;
    let mut answer = Vec::with_capacity(4096);
    while answer.len() < LIMIT {
        let room = u64::try_from(LIMIT - answer.len()).unwrap_or(0);
        if (&mut stream).take(room).read_buf(&mut answer).await? == 0 {
            break;
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut head = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(end) = head.parse(&answer).map_err(io::Error::other)? else {
        return Err(io::ErrorKind::UnexpectedEof.into());
    };
    let mut response = Response::builder().status(head.code.unwrap_or(502));
    for header in head.headers.iter() {
        response = response.header(header.name, header.value);
    }
    let body = Bytes::from(answer).slice(end..);
    response.body(full(body)).map_err(io::Error::other)
}

fn file(dir: &Path, path: &str) -> io::Result<Response<Body>> {
    if path.split('/').any(|segment| segment == "..") {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    let mut file = std::fs::File::open(dir.join(path.trim_start_matches('/')))?;
    let len = file.metadata()?.len();
    let mut content = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.read_to_end(&mut content)?;
    Response::builder()
        .header(hyper::header::CONTENT_TYPE, "text/plain")
        .body(full(Bytes::from(content)))
        .map_err(io::Error::other)
}
