//! An axum `Router` served over uwsgi with `uwsgi_wire::server::serve`, for nginx's
//! `uwsgi_pass` (the driver's tests and the end-to-end benchmark run it).
//!
//! ```sh
//! cargo run --release --example axum --all-features -- 127.0.0.1:3031
//! cargo run --release --example axum --all-features -- 127.0.0.1:0         # any free port
//! cargo run --release --example axum --all-features -- unix:/tmp/app.sock  # a Unix socket
//! ```
//!
//! It prints `listening on ADDR` (the real address) once ready and shuts down gracefully
//! on SIGTERM or Ctrl-C: it stops accepting and lets requests in flight finish. Routes:
//!
//! - `/echo` (any method): JSON with `method`, `path`, `query`, `headers` (every header
//!   line as `[name, value]`, repeated names kept), `body_len` and `body_sha256` (hex),
//!   the body read as it streams, never held whole;
//! - `/big/N`: N bytes (`0123456789` repeated), streamed in 64 KiB chunks;
//! - `/slow?ms=N`: 200 after N ms.
//! - `/events?n=N&ms=M`: N server-sent events (`data: i`), one every M ms, each written
//!   as it is yielded (behind nginx with `uwsgi_buffering off`, each arrives on time).
//! - `/bench`: `Hello, world!` as `text/plain`, the end-to-end benchmark's answer.
//!
//! Logs go to stderr through `tracing` (`RUST_LOG=debug` for more). It runs on one
//! thread (a current-thread runtime), and its TCP listener has `TCP_DEFER_ACCEPT`, as
//! uWSGI's has: the kernel hands over a connection once its first bytes are in
//! (`UWSGI_DEFER_ACCEPT=0` turns that off, so that a connection that never sends a byte
//! is accepted too).
//!
//! `UWSGI_HEAD_TIMEOUT_MS=N` sets the connections' head timeout
//! ([`Builder::head_timeout`](uwsgi_wire::server::Builder::head_timeout), default 30 s):
//! how long a connection may take to send a whole request packet before it is answered
//! 408 and closed (the driver's slow-drip test sets it short).
//!
//! ```nginx
//! location / {
//!     include uwsgi_params;
//!     uwsgi_pass 127.0.0.1:3031;    # or: uwsgi_pass unix:/tmp/app.sock;
//! }
//! ```

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use bytes::Bytes;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpSocket, UnixListener};
use uwsgi_wire::server::{serve, Builder, Listener};

#[path = "support/defer_accept.rs"]
mod defer_accept;
use defer_accept::defer_accept;

fn app() -> Router {
    Router::new()
        .route("/echo", any(echo))
        .route("/big/{n}", get(big))
        .route("/slow", get(slow))
        .route("/events", get(events))
        .route("/bench", get(bench))
}

/// Describes the request; the body is hashed chunk by chunk as it arrives.
async fn echo(request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_string(), value)
        })
        .collect();
    let mut hash = Sha256::new();
    let mut body_len = 0u64;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    body_len += data.len() as u64;
                    hash.update(data);
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, body_len, "request body failed");
                return (http::StatusCode::BAD_REQUEST, format!("body: {err}\n")).into_response();
            }
        }
    }
    let digest: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Json(serde_json::json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body_len": body_len,
        "body_sha256": digest,
    }))
    .into_response()
}

/// `n` bytes, produced 64 KiB at a time as the connection takes them.
async fn big(Path(n): Path<u64>) -> Response {
    const CHUNK: u64 = 64 * 1024;
    // A chunk starts at any offset 0..=9 of the pattern and takes CHUNK bytes: the
    // pattern needs CHUNK + 9 of them.
    let pattern: Bytes = b"0123456789"
        .repeat(usize::try_from(CHUNK / 10 + 2).unwrap_or(0))
        .into();
    let chunks = futures_util::stream::unfold(0u64, move |sent| {
        let pattern = pattern.clone();
        async move {
            if sent >= n {
                return None;
            }
            let len = (n - sent).min(CHUNK);
            let start = usize::try_from(sent % 10).unwrap_or(0);
            let end = start + usize::try_from(len).unwrap_or(0);
            Some((Ok::<_, io::Error>(pattern.slice(start..end)), sent + len))
        }
    });
    let mut response = Body::from_stream(chunks).into_response();
    response
        .headers_mut()
        .insert(http::header::CONTENT_LENGTH, n.into());
    response
}

async fn slow(Query(query): Query<HashMap<String, u64>>) -> &'static str {
    let ms = query.get("ms").copied().unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "slow\n"
}

/// `n` server-sent events (`data: 0`, `data: 1`, ...), one every `ms` milliseconds, the
/// first at once (`GET /events?n=5&ms=300`; defaults 5 and 300): each reaches the front
/// end as it is yielded, not when the stream ends.
async fn events(Query(query): Query<HashMap<String, u64>>) -> Response {
    let n = query.get("n").copied().unwrap_or(5);
    let ms = query.get("ms").copied().unwrap_or(300);
    let events = futures_util::stream::unfold(0u64, move |i| async move {
        if i >= n {
            return None;
        }
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        Some((
            Ok::<_, io::Error>(Bytes::from(format!("data: {i}\n\n"))),
            i + 1,
        ))
    });
    (
        [(http::header::CONTENT_TYPE, "text/event-stream")],
        Body::from_stream(events),
    )
        .into_response()
}

/// The end-to-end benchmark's answer (benches/e2e/): the same 78 bytes every backend
/// there writes, `HTTP/1.1 200 OK`, `Content-Type: text/plain`, `Content-Length: 13`,
/// `Hello, world!` (header names in lower case, as `http::HeaderName` holds them).
async fn bench() -> impl IntoResponse {
    (
        [(http::header::CONTENT_TYPE, "text/plain")],
        "Hello, world!",
    )
}

/// A TCP listener on the first address `addr` resolves to, with `TCP_DEFER_ACCEPT` as
/// uWSGI sets it (unless `UWSGI_DEFER_ACCEPT=0`): a connection is accepted once its
/// request is in, so its first read finds it instead of waking the task twice (about
/// 6 µs of CPU per request, benches/e2e/RESULTS.md).
async fn bind(addr: &str) -> io::Result<TcpListener> {
    let Some(addr) = tokio::net::lookup_host(addr).await?.next() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{addr}: no address"),
        ));
    };
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    if std::env::var("UWSGI_DEFER_ACCEPT").as_deref() != Ok("0") {
        defer_accept(&socket)?;
    }
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(err) => {
            tracing::warn!(error = %err, "no SIGTERM handler");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutdown signal: finishing the requests in flight");
}

/// A current-thread runtime: the one worker of the end-to-end comparison, and the
/// cheapest way to run `serve` (with `#[tokio::main]`'s multi-thread runtime the accept
/// loop runs on the main thread and hands every connection to a worker: 7 to 20 µs of
/// CPU per request more, benches/e2e/RESULTS.md). Spread the load over cores with one
/// such process per core, as uWSGI does with its workers.
#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(io::stderr)
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        .init();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3031".to_string());
    let listener: Listener = if let Some(path) = addr.strip_prefix("unix:") {
        match std::fs::remove_file(path) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
        let listener = UnixListener::bind(path)?;
        println!("listening on unix:{path}");
        listener.into()
    } else {
        let listener = bind(&addr).await?;
        println!("listening on {}", listener.local_addr()?);
        listener.into()
    };
    let mut builder = Builder::new();
    if let Ok(ms) = std::env::var("UWSGI_HEAD_TIMEOUT_MS") {
        let ms: u64 = ms.parse().map_err(|err| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("UWSGI_HEAD_TIMEOUT_MS={ms}: {err}"),
            )
        })?;
        builder = builder.head_timeout(Duration::from_millis(ms));
    }
    serve(listener, app())
        .connection(builder)
        .with_graceful_shutdown(shutdown_signal())
        .await
}
