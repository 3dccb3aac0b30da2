//! `uwsgi-wire gateway LISTEN UPSTREAM...`: an HTTP/1.1 server (hyper) that forwards
//! every request to a uwsgi upstream, as nginx does with `uwsgi_pass` and `include
//! uwsgi_params`: the vars of [`NginxParams`] with the client's real address, the bodies
//! streamed both ways, 502 or 504 with one log line when the upstream fails.

use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use uwsgi_wire::client::{self, ErrorKind};
use uwsgi_wire::http::NginxParams;
use uwsgi_wire::{Limits, Modifier1};

use crate::net::Addr;
use crate::{fail, Failure};

/// What `gateway` was asked to do.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where HTTP clients connect (`host:port`).
    pub listen: Addr,
    /// The uwsgi upstreams, used round robin.
    pub upstreams: Vec<Addr>,
    /// `--param K=V`, in order: replaces nginx's var of that name, or adds one.
    pub params: Vec<(String, String)>,
    /// The packet's modifier1.
    pub modifier1: u8,
    /// `SERVER_NAME` (nginx's `server_name`).
    pub server_name: String,
    /// `DOCUMENT_ROOT` (nginx's `root`).
    pub document_root: String,
    /// The largest request head, in bytes (hyper's read buffer).
    pub max_head: usize,
    /// The largest request body (nginx's `client_max_body_size`): 413 above it.
    pub max_body: u64,
    /// Connecting to an upstream (nginx's `uwsgi_connect_timeout`).
    pub connect_timeout: Duration,
    /// Waiting for the upstream's head, and between reads of its body (nginx's
    /// `uwsgi_read_timeout`).
    pub read_timeout: Duration,
    /// Writing to an HTTP client that does not read (nginx's `send_timeout`).
    pub send_timeout: Duration,
    /// At most this many HTTP connections at once.
    pub max_connections: usize,
    /// Log every request's vars and its response status.
    pub trace: bool,
}

/// The body of every answer: the upstream's, streamed, or one the gateway makes.
type Body = UnsyncBoxBody<Bytes, client::Error>;

/// What every connection shares.
struct Gateway {
    config: Config,
    /// The upstreams as the client driver's `connect` takes them.
    upstreams: Vec<String>,
    next: AtomicUsize,
    client: client::Builder,
    local_port: u16,
}

/// Runs the gateway until Ctrl-C: prints `listening on ADDR` once bound, then serves
/// each HTTP connection (keep-alive) in a task of its own.
pub async fn run(config: Config) -> Result<(), Failure> {
    let Addr::Tcp { host, port } = &config.listen else {
        return Err(fail(format!(
            "{}: the gateway listens on TCP (host:port)",
            config.listen
        )));
    };
    let bind = |e: std::io::Error| fail(format!("{}: {e}", config.listen));
    let listener = TcpListener::bind((host.as_str(), *port))
        .await
        .map_err(bind)?;
    let local = listener.local_addr().map_err(bind)?;
    println!("listening on {local}");
    std::io::stdout().flush().ok();

    // A body of unknown length (chunked) is buffered up to --max-body to learn its
    // CONTENT_LENGTH, as nginx spools one; over it the driver's error says 413.
    let client = client::Builder::new()
        .limits(Limits::new().max_body(config.max_body))
        .modifier1(Modifier1(config.modifier1))
        .connect_timeout(config.connect_timeout)
        .head_timeout(config.read_timeout)
        .body_timeout(config.read_timeout);
    let gateway = Arc::new(Gateway {
        upstreams: config.upstreams.iter().map(Addr::to_string).collect(),
        next: AtomicUsize::new(0),
        client,
        local_port: local.port(),
        config,
    });
    let slots = Arc::new(Semaphore::new(gateway.config.max_connections));
    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return Ok(()), // never closed
            },
            _ = &mut shutdown => return Ok(()),
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
            _ = &mut shutdown => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        // Every write to the client is bounded, as nginx's send_timeout bounds it: a
        // client that stops reading its answer gives its slot (and its upstream) back.
        // Reads are bounded by hyper's header timeout and the request body's idle
        // timeout in the client driver.
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_write_timeout(Some(gateway.config.send_timeout));
        let stream = Box::pin(stream);
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let _slot = permit;
            let max_head = gateway.config.max_head;
            let service = hyper::service::service_fn(move |request| {
                let gateway = gateway.clone();
                async move { Ok::<_, Infallible>(gateway.forward(request, peer).await) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                // An idle or slow client does not hold a connection slot for ever.
                .header_read_timeout(Duration::from_secs(60))
                .max_buf_size(max_head)
                .title_case_headers(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(err) = served {
                tracing::debug!(%peer, error = %err, "client connection");
            }
        });
    }
}

impl Gateway {
    /// The next upstream, round robin.
    fn pick(&self) -> &str {
        let at = self.next.fetch_add(1, Ordering::Relaxed) % self.upstreams.len();
        &self.upstreams[at]
    }

    /// The vars nginx would send for a request from `peer` to this gateway.
    fn params(&self, peer: SocketAddr) -> NginxParams {
        let mut params = NginxParams::new()
            .server_name(&self.config.server_name)
            .document_root(&self.config.document_root)
            .server_port(self.local_port.to_string())
            .remote_addr(peer.ip().to_string())
            .remote_port(peer.port().to_string());
        for (key, value) in &self.config.params {
            params = params.param(key, value);
        }
        params
    }

    /// Forwards one request and answers with the upstream's response, or with the
    /// status nginx would answer when that fails.
    async fn forward(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
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
        let params = self.params(peer);
        if self.config.trace {
            trace_vars(&params, &request, peer);
        }
        let upstream = self.pick();
        let method = request.method().clone();
        let uri = request.uri().clone();
        let client = self.client.clone().params(params);
        let result = match client.connect(upstream).await {
            Ok(stream) => client.send_request(stream, request).await,
            Err(err) => Err(err),
        };
        match result {
            Ok(response) => {
                if self.config.trace {
                    tracing::info!(%peer, %method, %uri, upstream, status = response.status().as_u16(), "response");
                }
                let (mut parts, body) = response.into_parts();
                // Hop-by-hop: the connection to the client is hyper's to frame.
                for name in [
                    CONNECTION,
                    TRANSFER_ENCODING,
                    HeaderName::from_static("keep-alive"),
                ] {
                    parts.headers.remove(name);
                }
                // A body that fails (cut short, too slow) cuts the client's connection,
                // as nginx does; the log says why, once.
                let upstream = upstream.to_owned();
                let body = body.map_err(move |err| {
                    tracing::error!(%peer, %method, %uri, upstream, "upstream body: {err}");
                    err
                });
                Response::from_parts(parts, body.boxed_unsync())
            }
            Err(err) if err.kind() == ErrorKind::RequestBody && err.status_code() == 413 => {
                tracing::warn!(%peer, %method, %uri, max_body, "request body too large");
                answer(StatusCode::PAYLOAD_TOO_LARGE)
            }
            Err(err) => {
                let status =
                    StatusCode::from_u16(err.status_code()).unwrap_or(StatusCode::BAD_GATEWAY);
                // One line saying why, as nginx's error log does.
                tracing::error!(%peer, %method, %uri, upstream, status = status.as_u16(), "upstream: {err}");
                answer(status)
            }
        }
    }
}

/// `--trace`: the vars sent for a request, one line.
fn trace_vars<B>(params: &NginxParams, request: &Request<B>, peer: SocketAddr) {
    match params.encode(request) {
        Ok(vars) => {
            let pairs: Vec<String> = vars
                .vars()
                .iter()
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
