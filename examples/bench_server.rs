//! The uwsgi backend of the end-to-end load test (`benches/e2e/`): a tokio server on this
//! crate's codec that answers every request with the same fixed bytes as the uWSGI and
//! hyper backends of that test:
//!
//! ```text
//! HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!
//! ```
//!
//! Each request is really decoded: the head through [`ServerCodec`] (header, every var
//! validated, `CONTENT_LENGTH` checked), then turned into an
//! `http::Request` (method, URI, `HeaderMap`: what hyper hands its service), then the
//! body is drained chunk by chunk. Like uWSGI it answers one request per connection and
//! closes it (nginx's uwsgi upstream never reuses a connection anyway).
//!
//! ```sh
//! cargo run --release --example bench_server --features tokio,http -- 127.0.0.1:3031
//! ```
//!
//! Options (after the address), for the profiling notes in `benches/e2e/README.md`:
//!
//! - `--threads N`: worker threads of the multi-thread runtime (default: the number of
//!   CPUs, as hyper's backend);
//! - `--current-thread`: one current-thread runtime (one core, like `uwsgi --processes 1`);
//! - `--shards N`: N threads, each with its own current-thread runtime and its own
//!   `SO_REUSEPORT` listener on the same address (no work stealing, like uWSGI's
//!   pre-forked workers);
//! - `--vars-only`: stop after the codec (validated vars and two lookups), do not build
//!   the `http::Request`;
//! - `--nodelay`: set `TCP_NODELAY` on accepted sockets;
//! - `--inline`: serve a connection whose whole request has already arrived right in
//!   the accept loop (`accept`, `read`, the codec's `Decoder`, `write`, `close`), without
//!   registering the socket with epoll or spawning a task; anything slower falls back to
//!   the task-per-connection path. The accept loop is one task: pair it with
//!   `--current-thread` or `--shards N`, not a multi-thread runtime;
//! - `--defer-accept`: set `TCP_DEFER_ACCEPT` on the listener (as uWSGI does), so a
//!   connection is only accepted once its request has arrived.
//!
//! It prints `listening on ADDR` once ready.

use std::borrow::Cow;
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::net::SocketAddr;

use bytes::BytesMut;
use futures_util::StreamExt;
use tokio::io::unix::AsyncFd;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::codec::{Decoder, FramedRead};
use uwsgi_wire::cgi::request_from_vars;
use uwsgi_wire::codec::{Frame, ServerCodec};
use uwsgi_wire::io::StreamError;
use uwsgi_wire::{owned::OwnedPacket, Limits};

#[path = "support/defer_accept.rs"]
mod defer_accept;
use defer_accept::defer_accept;

/// The response every backend of the end-to-end test sends, byte for byte.
const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!";

#[derive(Debug, Clone, Copy)]
struct Options {
    vars_only: bool,
    nodelay: bool,
    inline: bool,
    defer_accept: bool,
}

#[derive(Debug, Clone, Copy)]
enum Flavor {
    MultiThread(usize),
    CurrentThread,
    Shards(usize),
}

fn usage(message: &str) -> ! {
    eprintln!("bench_server: {message}");
    eprintln!(
        "usage: bench_server [ADDR] [--threads N | --current-thread | --shards N] \
         [--inline] [--defer-accept] [--vars-only] [--nodelay]"
    );
    std::process::exit(2)
}

fn main() -> io::Result<()> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut addr: SocketAddr = "127.0.0.1:3031".parse().expect("valid address");
    let mut flavor = Flavor::MultiThread(cpus);
    let mut options = Options {
        vars_only: false,
        nodelay: false,
        inline: false,
        defer_accept: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut count = |name: &str| -> usize {
            match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => n,
                _ => usage(&format!("{name} needs a positive number")),
            }
        };
        match arg.as_str() {
            "--threads" => flavor = Flavor::MultiThread(count("--threads")),
            "--shards" => flavor = Flavor::Shards(count("--shards")),
            "--current-thread" => flavor = Flavor::CurrentThread,
            "--vars-only" => options.vars_only = true,
            "--nodelay" => options.nodelay = true,
            "--inline" => options.inline = true,
            "--defer-accept" => options.defer_accept = true,
            other if !other.starts_with('-') => {
                addr = other
                    .parse()
                    .unwrap_or_else(|_| usage(&format!("not an address: {other}")))
            }
            other => usage(&format!("unknown option {other}")),
        }
    }

    match flavor {
        Flavor::MultiThread(threads) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_io()
            .build()?
            .block_on(async {
                let listener = bind(addr, false, options)?;
                println!("listening on {}", listener.local_addr()?);
                accept_loop(listener, options).await
            }),
        Flavor::CurrentThread => current_thread()?.block_on(async {
            let listener = bind(addr, false, options)?;
            println!("listening on {}", listener.local_addr()?);
            accept_loop(listener, options).await
        }),
        Flavor::Shards(shards) => {
            // Each shard binds its own listener inside its own runtime and reports the
            // address it got: the first fixes the port (so `127.0.0.1:0` works), the
            // others join it with SO_REUSEPORT.
            let (tx, rx) = std::sync::mpsc::channel();
            let mut threads = Vec::new();
            let mut bound = addr;
            for shard in 0..shards {
                let tx = tx.clone();
                threads.push(std::thread::spawn(move || -> io::Result<()> {
                    current_thread()?.block_on(async {
                        let listener = match bind(bound, true, options) {
                            Ok(listener) => listener,
                            Err(err) => {
                                let _ = tx.send(Err(err));
                                return Ok(());
                            }
                        };
                        let _ = tx.send(listener.local_addr());
                        accept_loop(listener, options).await
                    })
                }));
                match rx.recv().expect("the shard reports") {
                    Ok(local) if shard == 0 => bound = local,
                    Ok(_) => {}
                    Err(err) => return Err(err),
                }
            }
            println!("listening on {bound}");
            for thread in threads {
                thread.join().expect("shard thread panicked")?;
            }
            Ok(())
        }
    }
}

fn current_thread() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
}

/// The listener, in the current runtime: `SO_REUSEADDR` and a backlog of 128 as tokio's
/// `TcpListener::bind`, plus `SO_REUSEPORT` for the shards and `TCP_DEFER_ACCEPT` with
/// `--defer-accept`.
fn bind(addr: SocketAddr, reuseport: bool, options: Options) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    if reuseport {
        socket.set_reuseport(true)?;
    }
    if options.defer_accept {
        defer_accept(&socket)?;
    }
    socket.bind(addr)?;
    socket.listen(128)
}

async fn accept_loop(listener: TcpListener, options: Options) -> io::Result<()> {
    if options.inline {
        return inline_accept_loop(listener, options).await;
    }
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of fds, a connection reset before accept: keep serving.
            Err(err) => {
                eprintln!("accept: {err}");
                continue;
            }
        };
        if options.nodelay {
            let _ = stream.set_nodelay(true);
        }
        tokio::spawn(serve(FramedRead::new(stream, codec()), false, options));
    }
}

/// uWSGI's defaults (4096-byte buffer, 128 vars) and nginx's 1 MiB body limit.
fn codec() -> ServerCodec {
    ServerCodec::new(
        Limits::new()
            .max_datasize(4096)
            .max_vars(128)
            .max_body(1 << 20),
    )
}

/// Serves one connection: reads the rest of the request through `frames` (whose codec
/// and buffer may already hold part of it), answers, closes.
async fn serve(
    mut frames: FramedRead<TcpStream, ServerCodec>,
    mut is_request: bool,
    options: Options,
) {
    let result = async {
        while let Some(frame) = frames.next().await {
            match frame? {
                Frame::Head(head) => {
                    if !take_head(&head, options)? {
                        return Ok(false);
                    }
                    is_request = true;
                }
                Frame::Body(chunk) => {
                    black_box(chunk);
                }
                Frame::End => return Ok(is_request),
            }
        }
        Ok(false)
    }
    .await;
    let mut stream = frames.into_inner();
    if let Some(answer) = answer(result) {
        let _ = stream.write_all(&answer).await;
    }
    // Dropping the stream closes the connection, as uWSGI does after its answer.
}

/// What a request's head is used for: validated vars (the codec), then the
/// `http::Request` they make, or with `--vars-only` two lookups. `Ok(false)` for a packet
/// that carries no vars (ping, RPC, ...): no answer, close.
fn take_head(head: &OwnedPacket, options: Options) -> Result<bool, StreamError> {
    let Some(vars) = head.packet().vars() else {
        return Ok(false);
    };
    if options.vars_only {
        black_box((vars.get(b"REQUEST_METHOD"), vars.get(b"PATH_INFO")));
    } else {
        let owned = head.owned_vars().expect("vars, checked above");
        let request =
            request_from_vars(&owned).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        black_box(request);
    }
    Ok(true)
}

/// The bytes to answer with: the fixed response for a request, an error status for a
/// malformed or oversize one, nothing when the peer closed or sent no request.
fn answer(result: Result<bool, StreamError>) -> Option<Cow<'static, [u8]>> {
    match result {
        Ok(true) => Some(Cow::Borrowed(RESPONSE)),
        Ok(false) => None,
        Err(err) => {
            let code = err.status_code()?;
            let body = format!("{err}\n");
            let head = format!(
                "HTTP/1.1 {code} Error\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            Some(Cow::Owned((head + &body).into_bytes()))
        }
    }
}

/// `--inline`: accept with plain `accept(2)` on a listener the reactor only watches for
/// readiness, and serve each connection right there when its whole request is already
/// in the socket (the usual case behind nginx, which writes the request as soon as it
/// connects): one `read`, the codec's `Decoder` on that buffer, one `write`, `close`.
/// The socket is never registered with epoll, and no task is spawned. A connection
/// whose request is not complete yet (or whose answer does not fit the socket buffer)
/// goes to the task-per-connection path with what was read so far.
async fn inline_accept_loop(listener: TcpListener, options: Options) -> io::Result<()> {
    let listener = listener.into_std()?;
    // SAFETY: the AsyncFd owns the listener, so its fd stays open and the same for the
    // AsyncFd's whole life (tokio's condition for registering a raw fd).
    let listener = unsafe { AsyncFd::register(listener) }?;
    // One read buffer for every inline request of this runtime thread: a head is at
    // most 4 + 4096 bytes (the codec's limit), plus a body that came with it.
    let mut scratch = vec![0u8; 16 * 1024];
    loop {
        let mut ready = listener.readable().await?;
        // A burst of connections is served inline, but other tasks get their turn.
        for _ in 0..64 {
            match ready.get_inner().accept() {
                Ok((stream, _)) => serve_inline(stream, &mut scratch, options),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    ready.clear_ready();
                    break;
                }
                Err(err) => {
                    eprintln!("accept: {err}");
                    break;
                }
            }
        }
        drop(ready);
        tokio::task::yield_now().await;
    }
}

fn serve_inline(stream: std::net::TcpStream, scratch: &mut [u8], options: Options) {
    // accept(2) through std does not inherit O_NONBLOCK: set it, or a read could block
    // the runtime thread.
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    if options.nodelay {
        let _ = stream.set_nodelay(true);
    }
    let mut codec = codec();
    let mut buf = match (&stream).read(scratch) {
        Ok(0) => return, // closed before sending anything
        Ok(n) => BytesMut::from(&scratch[..n]),
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => BytesMut::new(),
        Err(_) => return,
    };
    let mut is_request = false;
    let result = loop {
        match codec.decode(&mut buf) {
            Ok(Some(Frame::Head(head))) => match take_head(&head, options) {
                Ok(true) => is_request = true,
                other => break other,
            },
            Ok(Some(Frame::Body(chunk))) => {
                black_box(chunk);
            }
            Ok(Some(Frame::End)) => break Ok(is_request),
            Ok(None) => {
                // Not all there yet: finish on the async path, same codec, same bytes.
                let Ok(stream) = TcpStream::from_std(stream) else {
                    return;
                };
                let mut frames = FramedRead::new(stream, codec);
                frames.read_buffer_mut().unsplit(buf);
                tokio::spawn(serve(frames, is_request, options));
                return;
            }
            Err(err) => break Err(err),
        }
    };
    let Some(answer) = answer(result) else {
        return;
    };
    match (&stream).write(&answer) {
        Ok(n) if n == answer.len() => {} // the usual case; dropping the stream closes it
        Ok(n) => finish_write(stream, answer[n..].to_vec()),
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
            finish_write(stream, answer.to_vec())
        }
        Err(_) => {}
    }
}

/// The rest of an answer the socket buffer did not take at once.
fn finish_write(stream: std::net::TcpStream, rest: Vec<u8>) {
    if let Ok(mut stream) = TcpStream::from_std(stream) {
        tokio::spawn(async move {
            let _ = stream.write_all(&rest).await;
        });
    }
}
