//! `uwsgi-wire gateway LISTEN [UPSTREAM...]`: an HTTP/1.1 server (hyper; HTTP/2 too
//! over TLS, `tls.rs`) in nginx's place: each request goes to its location (`location.rs`, the longest prefix of its
//! normalized path), which forwards it to a uwsgi upstream (`upstream.rs`, chosen as
//! nginx's `upstream` block chooses one), as nginx does with
//! `uwsgi_pass` and `include uwsgi_params` (the vars of [`NginxParams`] with the
//! client's real address, the bodies streamed both ways, 502 or 504 with one log line
//! when the upstream fails), or serves a file (`files.rs`, nginx's `alias` and `root`).

mod access_log;
mod config;
mod files;
mod location;
mod timer;
mod tls;
mod upstream;
mod vars;

use std::borrow::Cow;
use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use uwsgi_wire::cgi::{document_uri, NginxParams, RequestParams};
use uwsgi_wire::client::{self, ErrorKind};
use uwsgi_wire::Modifier1;

use crate::args::{parse_param, parse_seconds, parse_size};
use crate::failure::{fail, usage, Failure};
use crate::net::Addr;
use config::Settings;

#[derive(Debug, Args)]
pub struct GatewayArgs {
    /// Where HTTP clients connect, `host:port` (or `listen` in --config).
    #[arg(value_parser = Addr::parse)]
    listen: Option<Addr>,
    /// The uwsgi upstreams of the location `/`: `host:port`, `unix:PATH` or a socket
    /// path; several are used round robin, as nginx's upstream block with its defaults
    /// (`ADDR weight=N`, one argument, weighs one; one that cannot be connected to is
    /// skipped for 10 s and the request goes to the next). Optional with --location,
    /// --static or --root.
    #[arg(value_parser = upstream::parse_server, value_name = "UPSTREAM")]
    upstreams: Vec<upstream::Server>,
    /// Read the settings from FILE (TOML): each key a flag's name (`max-body = "16M"`),
    /// `listen` and `upstreams` for the arguments, `[location]`, `[static]` and
    /// `[param]` tables for the repeatable flags; an unknown key is refused. A flag on
    /// the command line replaces the file's value; the repeatable ones add to the
    /// file's. See docs/GATEWAY.md.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Requests whose path starts with PREFIX go to these upstreams, round robin
    /// (repeatable), as nginx's `location PREFIX { uwsgi_pass ...; }`. The longest
    /// matching prefix of the normalized path wins; a path no location matches is 404.
    #[arg(long = "location", value_name = "PREFIX=UPSTREAM[,UPSTREAM...]", value_parser = location::parse_location)]
    locations: Vec<(String, Vec<upstream::Server>)>,
    /// Requests whose path starts with PREFIX are answered with the file at DIR and the
    /// rest of the path (repeatable), as nginx's `location PREFIX { alias DIR; }`.
    #[arg(long = "static", value_name = "PREFIX=DIR", value_parser = location::parse_static)]
    statics: Vec<(String, PathBuf)>,
    /// Requests no location matches are answered with the file at DIR and their path
    /// (`index.html` for a directory), as nginx's `root`.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// A uwsgi param, `KEY=VALUE`, replacing nginx's var of that name or added
    /// (repeatable), as nginx's `uwsgi_param`. VALUE may hold nginx's variables,
    /// `$name` or `${name}`: $host, $remote_addr, $remote_port,
    /// $proxy_add_x_forwarded_for, $http_NAME, $scheme, $https, $request_uri,
    /// $server_name, $server_port.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// The packet's modifier1 (0 WSGI, 5 PSGI, 7 Rack, ...), as nginx's
    /// `uwsgi_modifier1` [default: 0].
    #[arg(long)]
    modifier1: Option<u8>,
    /// The server's names, as nginx's `server_name`: the first is $server_name and
    /// SERVER_NAME; every Host is answered, as nginx's only server block answers
    /// every Host [default: localhost].
    #[arg(long = "server-name", value_name = "NAME", num_args = 1..)]
    server_names: Vec<String>,
    /// DOCUMENT_ROOT, as nginx's `root` [default: --root, else /var/www/html,
    /// Debian's default site].
    #[arg(long)]
    document_root: Option<String>,
    /// The largest request head, in bytes (K, M suffixes); a larger one is answered 431
    /// [default: 32K].
    #[arg(long, value_parser = parse_size, value_name = "BYTES")]
    max_head: Option<u64>,
    /// The largest request body (nginx's `client_max_body_size`); a larger one is
    /// answered 413 [default: 1M].
    #[arg(long, value_parser = parse_size, value_name = "BYTES")]
    max_body: Option<u64>,
    /// Seconds to connect to an upstream (nginx's `uwsgi_connect_timeout`)
    /// [default: 60].
    #[arg(long, value_parser = parse_seconds, value_name = "SECONDS")]
    connect_timeout: Option<Duration>,
    /// Seconds to wait for an upstream's response head, and between reads of its body
    /// (nginx's `uwsgi_read_timeout`); then 504, or the client connection is cut
    /// [default: 60].
    #[arg(long, value_parser = parse_seconds, value_name = "SECONDS")]
    timeout: Option<Duration>,
    /// Seconds a write to an HTTP client may wait for it to read (nginx's
    /// `send_timeout`); then its connection is closed [default: 60].
    #[arg(long, value_parser = parse_seconds, value_name = "SECONDS")]
    send_timeout: Option<Duration>,
    /// The most HTTP connections served at once; more wait to be accepted
    /// [default: 1024].
    #[arg(long)]
    max_connections: Option<usize>,
    /// The runtime's worker threads, as nginx's `worker_processes` [default: one per
    /// core, as `worker_processes auto`].
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Log every request in nginx's `combined` format to FILE (appended) or to stdout
    /// (`-`), as nginx's `access_log FILE combined;`.
    #[arg(long, value_name = "FILE|-")]
    access_log: Option<PathBuf>,
    /// Serve HTTPS with the certificate chain in FILE (PEM, the server's certificate
    /// first), as nginx's `listen ... ssl http2` with `ssl_certificate`: HTTP/2 or
    /// HTTP/1.1 as the client's ALPN chooses; the app gets `HTTPS=on` and
    /// `REQUEST_SCHEME=https`, $scheme is `https`. Needs --tls-key.
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1), as nginx's
    /// `ssl_certificate_key`.
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Log every request's vars and its response status on stderr.
    #[arg(long)]
    trace: bool,
}

/// The body of every answer: the upstream's or a file's, streamed, or one the gateway
/// makes.
type Body = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// What every connection shares.
struct Gateway {
    config: Settings,
    /// Each location's upstreams (clients with the settings and the vars nginx would
    /// send for every request, the client's address aside) or files.
    routes: location::Routes,
    /// The vars every request shares, for `--trace`.
    params: NginxParams,
    /// The params whose values hold variables, computed per request (each also in
    /// `params`, empty, where it stands among the others).
    templates: Vec<(String, vars::Template)>,
    /// The port HTTP clients connect to (nginx's `$server_port`).
    port: u16,
    /// `--access-log`.
    access_log: Option<Arc<access_log::AccessLog>>,
    /// `--tls-cert`: every connection is TLS.
    tls: Option<TlsAcceptor>,
    /// How HTTP/1.1 connections are served.
    http1: http1::Builder,
    /// How HTTP/2 connections (TLS, ALPN `h2`) are served.
    http2: auto::Builder<TokioExecutor>,
}

/// Runs the gateway until SIGTERM or SIGINT (Ctrl-C): prints `listening on ADDR` once
/// bound, then serves each HTTP connection (keep-alive) in a task of its own; on the
/// signal stops accepting, lets the requests in flight finish (at most 30 s) and
/// returns.
pub fn run(args: GatewayArgs) -> Result<(), Failure> {
    let args = Settings::new(args).map_err(usage)?;
    let level = if args.trace { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into()),
        )
        .with_target(false)
        .with_ansi(false)
        .init();
    if args.upstreams.is_empty()
        && args.locations.is_empty()
        && args.statics.is_empty()
        && args.root.is_none()
    {
        return Err(usage(
            "nothing to serve: give UPSTREAM..., --location, --static or --root".to_owned(),
        ));
    }
    let mut templates = Vec::new();
    for (key, value) in &args.params {
        let template =
            vars::Template::parse(value).map_err(|e| usage(format!("--param {key}: {e}")))?;
        templates.push((key.clone(), template));
    }
    if args.max_head < 8192 {
        // hyper's smallest read buffer.
        return Err(usage(format!(
            "--max-head {}: at least 8K (8192 bytes)",
            args.max_head
        )));
    }
    // nginx's model: each worker thread runs its own event loop (a current-thread
    // runtime) and accepts from the one listening socket; a connection stays on the
    // thread that accepted it, so no request pays for a hand-off between threads.
    // The main thread binds, waits for the signal and tells the workers.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(format!("starting the runtime: {e}")))?
        .block_on(serve(args, templates))
}

async fn serve(config: Settings, templates: Vec<(String, vars::Template)>) -> Result<(), Failure> {
    let Addr::Tcp { host, port } = &config.listen else {
        return Err(fail(format!(
            "{}: the gateway listens on TCP (host:port)",
            config.listen
        )));
    };
    // Before binding: a certificate that cannot be used is a usage error, as nginx's
    // `nginx -t` refuses it.
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key).map_err(usage)?),
        (None, None) => None,
        _ => return Err(usage("--tls-cert and --tls-key go together".to_owned())),
    };
    let listen = config.listen.to_string();
    let bind = |e: std::io::Error| fail(format!("{listen}: {e}"));
    let listener = TcpListener::bind((host.as_str(), *port))
        .await
        .map_err(bind)?;
    let local = listener.local_addr().map_err(bind)?;

    // The vars nginx would send for every request to this gateway; each request adds
    // its client's address and the params with variables (`forward`), each in the
    // place its empty stand-in keeps here, as nginx keeps the order of its params.
    let mut params = NginxParams::new()
        .https(tls.is_some())
        .server_name(&config.server_name)
        .document_root(&config.document_root)
        .server_port(local.port().to_string());
    for (key, template) in &templates {
        params = params.param(key, template.literal().unwrap_or_default());
    }
    let templates: Vec<_> = templates
        .into_iter()
        .filter(|(_, template)| template.literal().is_none())
        .collect();
    // A body of unknown length (chunked) is buffered up to --max-body to learn its
    // CONTENT_LENGTH, as nginx spools one; over it the driver's error says 413.
    let builder = client::Builder::new()
        .params(params.clone())
        .max_request_body(config.max_body)
        .modifier1(Modifier1(config.modifier1))
        .connect_timeout(config.connect_timeout)
        .head_timeout(config.timeout)
        .body_timeout(config.timeout);
    let routes = routes(&config, &builder).map_err(usage)?;
    let (http1, http2) = (http1_builder(&config), http2_builder(&config));
    let access_log = match &config.access_log {
        Some(path) => Some(Arc::new(
            access_log::AccessLog::open(path)
                .map_err(|e| fail(format!("--access-log {}: {e}", path.display())))?,
        )),
        None => None,
    };
    let gateway = Arc::new(Gateway {
        routes,
        params,
        templates,
        port: local.port(),
        access_log,
        tls,
        http1,
        http2,
        config,
    });
    // Installed before the address is printed: a signal sent as soon as the gateway
    // says it listens is never missed.
    let shutdown = stop_signal()?;
    let workers = match gateway.config.workers {
        Some(n) => n.max(1),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    // This thread accepts and hands each connection to the next worker in turn, as
    // actix-server does: a burst of connections spreads over every worker (workers
    // accepting from the shared socket themselves left all of a burst to whichever
    // woke first), and a connection then stays on its worker, so its requests pay no
    // hand-off.
    let mut handoffs = Vec::with_capacity(workers);
    let mut threads = Vec::with_capacity(workers);
    for i in 0..workers {
        // Made here, so that a failure is the gateway's before it says it listens.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| fail(format!("starting the runtime: {e}")))?;
        let (handoff, accepted) = mpsc::unbounded_channel();
        let gateway = gateway.clone();
        let thread = std::thread::Builder::new()
            .name(format!("gateway-{i}"))
            .spawn(move || worker(gateway, runtime, accepted))
            .map_err(|e| fail(format!("starting worker thread {i}: {e}")))?;
        handoffs.push(handoff);
        threads.push(thread);
    }
    println!("listening on {local}");
    std::io::stdout().flush().ok();
    let slots = Arc::new(Semaphore::new(gateway.config.max_connections.max(1)));
    tokio::pin!(shutdown);
    let mut next = 0;
    let result = loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break Ok(()), // never closed
            },
            signal = &mut shutdown => break signal,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %err, "accept");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            signal = &mut shutdown => break signal,
        };
        // The worker registers it with its own runtime.
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        // A worker is gone only if it panicked: the next one takes the connection.
        let mut connection = (stream, peer, permit);
        for _ in 0..workers {
            let handoff = &handoffs[next];
            next = (next + 1) % workers;
            match handoff.send(connection) {
                Ok(()) => break,
                Err(mpsc::error::SendError(back)) => connection = back,
            }
        }
    };
    // No new connection from here: the listener is closed, a connect is refused.
    drop(listener);
    tracing::warn!("stopping: finishing the requests in flight (at most {SHUTDOWN_TIMEOUT:?})");
    // Every worker lets its connections finish, then returns.
    drop(handoffs);
    let joined = tokio::task::spawn_blocking(move || {
        threads
            .into_iter()
            .map(|thread| thread.join())
            .collect::<Vec<_>>()
    });
    for outcome in joined.await.map_err(|e| fail(format!("stopping: {e}")))? {
        if outcome.is_err() {
            return Err(fail("a worker thread panicked".to_owned()));
        }
    }
    result
}

/// A connection accepted for a worker, holding its slot until it closes.
type Accepted = (std::net::TcpStream, SocketAddr, OwnedSemaphorePermit);

/// One worker thread: its own runtime, serving the connections handed to it until the
/// gateway stops, then finishing the requests in flight (at most `SHUTDOWN_TIMEOUT`).
fn worker(
    gateway: Arc<Gateway>,
    runtime: tokio::runtime::Runtime,
    mut accepted: mpsc::UnboundedReceiver<Accepted>,
) {
    runtime.block_on(async move {
        // Every connection is watched: on SIGTERM or SIGINT hyper finishes the request
        // in flight on each (and closes the idle ones), then the thread returns.
        let graceful = GracefulShutdown::new();
        while let Some((stream, peer, permit)) = accepted.recv().await {
            match TcpStream::from_std(stream) {
                Ok(stream) => {
                    tokio::spawn(gateway.clone().accepted(
                        stream,
                        peer,
                        permit,
                        graceful.watcher(),
                    ));
                }
                Err(err) => tracing::warn!(%peer, error = %err, "registering a connection"),
            }
        }
        let open = graceful.count();
        if tokio::time::timeout(SHUTDOWN_TIMEOUT, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                connections = open,
                "stopping: requests still in flight after {SHUTDOWN_TIMEOUT:?}, cut"
            );
        }
    })
}

impl Gateway {
    /// Serves one accepted connection, holding its slot until it closes: plain HTTP,
    /// or TLS after its handshake.
    async fn accepted(
        self: Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        _slot: OwnedSemaphorePermit,
        watcher: Watcher,
    ) {
        let _ = stream.set_nodelay(true);
        // Every write to the client is bounded, as nginx's send_timeout bounds it: a
        // client that stops reading its answer gives its slot (and its upstream) back.
        // Reads are bounded by hyper's header timeout and the request body's idle
        // timeout in the client driver.
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_write_timeout(Some(self.config.send_timeout));
        let stream = Box::pin(stream);
        let Some(acceptor) = &self.tls else {
            return self
                .serve_connection(stream, peer, Http::One, watcher)
                .await;
        };
        // A TLS connection starts with a handshake record (22); anything else is plain
        // HTTP, answered 400 as nginx answers it.
        let mut first = [0u8; 1];
        let peek = stream.get_ref().peek(&mut first);
        match tokio::time::timeout(HEADER_TIMEOUT, peek).await {
            Ok(Ok(1)) if first[0] != 22 => {
                return self
                    .serve_connection(stream, peer, Http::PlainOnTls, watcher)
                    .await;
            }
            Ok(Ok(1)) => {}
            _ => return,
        }
        // nginx bounds the handshake by client_header_timeout.
        let handshake = tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await;
        match handshake {
            Ok(Ok(stream)) => {
                let http = if stream.get_ref().1.alpn_protocol() == Some(tls::H2) {
                    Http::Two
                } else {
                    Http::One
                };
                self.serve_connection(stream, peer, http, watcher).await;
            }
            Ok(Err(err)) => tracing::info!(%peer, error = %err, "TLS handshake"),
            Err(_) => tracing::info!(%peer, "TLS handshake: timed out"),
        }
    }
}

/// How a client connection is served.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Http {
    /// HTTP/1.1 (plain, or TLS without ALPN `h2`).
    One,
    /// HTTP/2 (TLS, ALPN `h2`).
    Two,
    /// Plain HTTP sent to the TLS port: every request answered 400, as nginx does.
    PlainOnTls,
}

/// The upstream's response headers that describe its connection, not the client's.
static HOP_BY_HOP: [HeaderName; 3] = [
    CONNECTION,
    TRANSFER_ENCODING,
    HeaderName::from_static("keep-alive"),
];

/// How long a client has to send a request head or finish its TLS handshake (nginx's
/// `client_header_timeout`).
const HEADER_TIMEOUT: Duration = Duration::from_secs(60);

/// HTTP/1.1 with nginx's limits: hyper's own connection, no version detection.
fn http1_builder(config: &Settings) -> http1::Builder {
    let mut http = http1::Builder::new();
    // An idle or slow client does not hold a connection slot for ever; each
    // connection gets its own timer for it (`timer::ConnTimer`).
    http.header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(usize::try_from(config.max_head).unwrap_or(usize::MAX))
        .title_case_headers(true);
    http
}

/// HTTP/2 (over TLS, when ALPN chose it) with nginx's `http2_max_concurrent_streams`
/// and the head bounded as HTTP/1.1's.
fn http2_builder(config: &Settings) -> auto::Builder<TokioExecutor> {
    let mut http = auto::Builder::new(TokioExecutor::new()).http2_only();
    http.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(128)
        .max_header_list_size(u32::try_from(config.max_head).unwrap_or(u32::MAX))
        // A peer gone without a word is found and its connection closed.
        .keep_alive_interval(Duration::from_secs(60))
        .keep_alive_timeout(Duration::from_secs(20));
    http
}

/// How long the requests in flight have to finish once SIGTERM or SIGINT arrived.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Installs the handlers of SIGTERM and SIGINT (Ctrl-C); the future resolves on the
/// first of them.
fn stop_signal() -> Result<impl std::future::Future<Output = Result<(), Failure>>, Failure> {
    let handler = |e: std::io::Error| fail(format!("installing the signal handlers: {e}"));
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(handler)?;
        let mut int = signal(SignalKind::interrupt()).map_err(handler)?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            Ok(())
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async move { tokio::signal::ctrl_c().await.map_err(handler) })
    }
}

/// The locations of the command line: the positional upstreams as `/`, each
/// `--location` and `--static`, and `--root`.
fn routes(config: &Settings, builder: &client::Builder) -> Result<location::Routes, String> {
    let mut locations = Vec::new();
    if !config.upstreams.is_empty() {
        let upstreams = upstream::Upstreams::new(&config.upstreams, builder);
        locations.push(("/".to_owned(), location::Target::Upstreams(upstreams)));
    }
    for (prefix, addrs) in &config.locations {
        let upstreams = upstream::Upstreams::new(addrs, builder);
        locations.push((prefix.clone(), location::Target::Upstreams(upstreams)));
    }
    for (prefix, dir) in &config.statics {
        let files = files::Files::new(prefix, dir)?;
        locations.push((prefix.clone(), location::Target::Files(files)));
    }
    let root = match &config.root {
        Some(dir) => Some(files::Files::new("", dir).map_err(|e| format!("--root {e}"))?),
        None => None,
    };
    location::Routes::new(locations, root)
}

impl Gateway {
    /// Serves one client connection until it closes: HTTP/2 when ALPN chose it, else
    /// HTTP/1.1, as nginx serves a `listen ... http2` (no HTTP/2 without ALPN).
    async fn serve_connection<I>(
        self: Arc<Self>,
        io: I,
        peer: SocketAddr,
        http: Http,
        watcher: Watcher,
    ) where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let gateway = self.clone();
        let service = hyper::service::service_fn(move |request| {
            let gateway = gateway.clone();
            async move {
                let entry = gateway
                    .access_log
                    .as_ref()
                    .map(|log| log.entry(&request, peer));
                let response = match http {
                    Http::PlainOnTls => plain_on_tls(),
                    _ => gateway.handle(request, peer).await,
                };
                Ok::<_, Infallible>(match entry {
                    Some(entry) => entry.wrap(response),
                    None => response,
                })
            }
        });
        let io = TokioIo::new(io);
        let served = match http {
            Http::Two => {
                watcher
                    .watch(self.http2.serve_connection(io, service))
                    .await
            }
            _ => {
                // The connection's own timer for hyper's header-read timeout.
                let mut http1 = self.http1.clone();
                http1.timer(timer::ConnTimer::default());
                watcher
                    .watch(http1.serve_connection(io, service))
                    .await
                    .map_err(Into::into)
            }
        };
        if let Err(err) = served {
            tracing::debug!(%peer, error = %err, "client connection");
        }
    }

    /// Answers one request: from its location, or 404 (nginx's answer for a path no
    /// location or root serves); 400 for a path nginx cannot normalize.
    async fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let path = match document_uri(request.uri().path()) {
            // A NUL byte is no file name and nginx's URI parser refuses it. Only a
            // decoded path can hold one (`%00`): http's URI parser refuses the byte.
            Ok(path) if matches!(path, Cow::Borrowed(_)) || !path.contains(&0) => path,
            _ => {
                tracing::warn!(%peer, uri = %request.uri(), "invalid path");
                return answer(StatusCode::BAD_REQUEST);
            }
        };
        let max_body = self.config.max_body;
        let announced = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|len| len > max_body) {
            tracing::warn!(%peer, uri = %request.uri(), len = announced, max_body, "request body too large");
            return answer(StatusCode::PAYLOAD_TOO_LARGE);
        }
        let response = match self.routes.find(&path) {
            Some(location::Target::Upstreams(upstreams)) => {
                return self.forward(upstreams, request, peer).await
            }
            Some(location::Target::Files(files)) => files.serve(&request, &path),
            None => answer(StatusCode::NOT_FOUND),
        };
        if self.config.trace {
            tracing::info!(%peer, method = %request.method(), uri = %request.uri(), status = response.status().as_u16(), "response");
        }
        response
    }

    /// Forwards one request and answers with the upstream's response, or with the
    /// status nginx would answer when that fails.
    async fn forward(
        &self,
        upstreams: &upstream::Upstreams,
        mut request: Request<Incoming>,
        peer: SocketAddr,
    ) -> Response<Body> {
        let max_body = self.config.max_body;
        // The client's address, as nginx's $remote_addr and $remote_port, and the
        // params whose variables depend on the request.
        let mut own = RequestParams::new().remote_addr(peer);
        let context = vars::Context {
            peer,
            https: self.tls.is_some(),
            server_name: &self.config.server_name,
            server_port: self.port,
        };
        for (key, template) in &self.templates {
            own = own.param(key, template.render(&context, &request));
        }
        request.extensions_mut().insert(own);
        if self.config.trace {
            trace_vars(&self.params, &request, peer);
        }
        let method = request.method().clone();
        let uri = request.uri().clone();
        match upstreams.send(request).await {
            Ok((upstream, response)) => {
                if self.config.trace {
                    tracing::info!(%peer, %method, %uri, upstream = &*upstream, status = response.status().as_u16(), "response");
                }
                let (mut parts, body) = response.into_parts();
                // Hop-by-hop: the connection to the client is hyper's to frame. Seldom
                // sent by an upstream: one look at the few names before any removal.
                if parts.headers.keys().any(|name| HOP_BY_HOP.contains(name)) {
                    for name in &HOP_BY_HOP {
                        parts.headers.remove(name);
                    }
                }
                // A body that fails (cut short, too slow) cuts the client's connection,
                // as nginx does; the log says why, once.
                let body = body.map_err(move |err| {
                    tracing::error!(%peer, %method, %uri, upstream = &*upstream, "upstream body: {err}");
                    err.into()
                });
                Response::from_parts(parts, body.boxed_unsync())
            }
            Err(upstream::Failed::NoLive) => {
                tracing::error!(%peer, %method, %uri, "no live upstreams");
                answer(StatusCode::BAD_GATEWAY)
            }
            Err(upstream::Failed::Upstream(_, err))
                if err.kind() == ErrorKind::RequestBody && err.status_code() == Some(413) =>
            {
                tracing::warn!(%peer, %method, %uri, max_body, "request body too large");
                answer(StatusCode::PAYLOAD_TOO_LARGE)
            }
            Err(upstream::Failed::Upstream(upstream, err)) => {
                let status = err
                    .status_code()
                    .and_then(|code| StatusCode::from_u16(code).ok())
                    .unwrap_or(StatusCode::BAD_GATEWAY);
                // One line saying why, as nginx's error log does.
                tracing::error!(%peer, %method, %uri, upstream, status = status.as_u16(), "upstream: {err}");
                answer(status)
            }
        }
    }
}

/// `--trace`: the vars sent for a request, one line.
fn trace_vars<B>(params: &NginxParams, request: &Request<B>, peer: SocketAddr) {
    match params.to_vars(request) {
        Ok(vars) => {
            let pairs: Vec<String> = vars
                .vars()
                .iter()
                // Lossy, not `escape_ascii` as elsewhere: the trace shows UTF-8 vars as text.
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        String::from_utf8_lossy(k),
                        String::from_utf8_lossy(v)
                    )
                })
                .collect();
            tracing::info!(%peer, vars = %pairs.join(" "), "request");
        }
        Err(err) => tracing::info!(%peer, error = %err, "request: its vars cannot be encoded"),
    }
}

/// nginx's answer to a plain HTTP request on a TLS port: 400 with its reason, and
/// the connection closed.
fn plain_on_tls() -> Response<Body> {
    let mut response = answer(StatusCode::BAD_REQUEST);
    *response.body_mut() = Full::new(Bytes::from_static(
        b"400 Bad Request: the plain HTTP request was sent to HTTPS port\n",
    ))
    .map_err(|never: Infallible| match never {})
    .boxed_unsync();
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// An answer the gateway makes itself: the status line as a short text body.
fn answer(status: StatusCode) -> Response<Body> {
    let text = format!(
        "{} {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let mut response = Response::new(
        Full::new(Bytes::from(text))
            .map_err(|never: Infallible| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// No body.
fn empty() -> Body {
    http_body_util::Empty::new()
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}
