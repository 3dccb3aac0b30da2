//! The HTTP backend of the end-to-end load test (`benches/e2e/`): a hyper 1.x HTTP/1.1
//! server that answers every request with the same bytes as the uwsgi backends of that
//! test (nginx reaches it with `proxy_pass` over kept-alive upstream connections):
//!
//! ```text
//! HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!
//! ```
//!
//! hyper's automatic `Date` header is off and header names are title-cased, so the bytes
//! on the wire are exactly those. It parses each request head into an `http::Request`
//! (hyper's own parser) and drains the body before answering. Connections are kept
//! alive.
//!
//! ```sh
//! cargo run --release --example hyper_backend -- 127.0.0.1:3032
//! cargo run --release --example hyper_backend -- 127.0.0.1:3032 --threads 1
//! cargo run --release --example hyper_backend -- 127.0.0.1:3032 --current-thread
//! ```
//!
//! `--threads N` sets the worker threads of the multi-thread runtime (default: the
//! number of CPUs, as `bench_server`). It prints `listening on ADDR` once ready.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const BODY: &[u8] = b"Hello, world!";

fn usage(message: &str) -> ! {
    eprintln!("hyper_backend: {message}");
    eprintln!("usage: hyper_backend [ADDR] [--threads N | --current-thread]");
    std::process::exit(2)
}

fn main() -> io::Result<()> {
    let mut addr: SocketAddr = "127.0.0.1:3032".parse().expect("valid address");
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut current_thread = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => {
                threads = match args.next().and_then(|n| n.parse().ok()) {
                    Some(n) if n > 0 => n,
                    _ => usage("--threads needs a positive number"),
                }
            }
            "--current-thread" => current_thread = true,
            other if !other.starts_with('-') => {
                addr = other
                    .parse()
                    .unwrap_or_else(|_| usage(&format!("not an address: {other}")))
            }
            other => usage(&format!("unknown option {other}")),
        }
    }
    let runtime = if current_thread {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_io()
            .build()?
    };
    runtime.block_on(serve(addr))
}

async fn serve(addr: SocketAddr) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                eprintln!("accept: {err}");
                continue;
            }
        };
        tokio::spawn(async move {
            let mut builder = http1::Builder::new();
            builder.auto_date_header(false).title_case_headers(true);
            let connection = builder.serve_connection(TokioIo::new(stream), service_fn(answer));
            if let Err(err) = connection.await {
                if !err.is_incomplete_message() {
                    eprintln!("connection: {err}");
                }
            }
        });
    }
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Drain the body (nginx sends none for a GET, but a backend must read what comes).
    let _ = request.into_body().collect().await;
    let response = Response::builder()
        .header(CONTENT_TYPE, "text/plain")
        .header(CONTENT_LENGTH, "13")
        .body(Full::new(Bytes::from_static(BODY)))
        .expect("a valid response");
    Ok(response)
}
