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
//! - `/ip`: the client as nginx saw it, `IP:PORT` as plain text (axum's
//!   `ConnectInfo<SocketAddr>`, from `REMOTE_ADDR` and `REMOTE_PORT`; needs the library's
//!   `axum` feature, else 500).
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

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, UnixListener};
use uwsgi_wire::server::{serve, Builder, Listener};

#[path = "support/defer_accept.rs"]
mod defer_accept;
use defer_accept::defer_accept;

#[path = "support/axum_app.rs"]
mod axum_app;
use axum_app::app;

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
