//! The client driver's [`Builder`]: its settings, and connecting to a server.

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::{pin, Pin};
use std::str::FromStr;
use std::time::Duration;

use tokio::net::{TcpStream, UnixStream};
use tokio::time::Sleep;

use crate::cgi::NginxParams;
use crate::deadline::within;
use crate::exchange::DEFAULT_MAX_HEAD;
use crate::wire::header::Modifier1;
use crate::wire::limits::Limits;

use super::error::{Error, ErrorKind};
use super::stream::Stream;

/// nginx's default `uwsgi_connect_timeout`, `uwsgi_read_timeout` and
/// `uwsgi_send_timeout`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The default [`Builder::max_request_body`]: nginx's default `client_max_body_size`,
/// 1 MiB.
const DEFAULT_MAX_REQUEST_BODY: u64 = 1 << 20;

/// A uwsgi server's address as nginx's `uwsgi_pass` writes it, told apart without any
/// I/O: `unix:PATH`, or any address holding a `/`, is a Unix socket; anything else is
/// TCP `host:port`, resolved only on [`connect`](Builder::connect), which tries each
/// address the name resolves to, in order.
///
/// ```
/// use uwsgi_wire::client::Address;
///
/// let tcp: Address = "localhost:3031".parse()?;
/// assert_eq!(tcp, Address::Tcp("localhost:3031".to_owned()));
/// let unix: Address = "/run/app.sock".parse()?;
/// assert_eq!(unix, Address::Unix("/run/app.sock".into()));
/// assert_eq!(unix.to_string(), "unix:/run/app.sock");
/// # Ok::<(), std::convert::Infallible>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// `host:port` as written: a name, an IPv4 address or a bracketed IPv6 address.
    Tcp(String),
    /// The path of a Unix stream socket (after `unix:`, when it was written).
    Unix(PathBuf),
}

impl FromStr for Address {
    /// Every string is one or the other; whether it connects,
    /// [`connect`](Builder::connect) finds out.
    type Err = Infallible;

    fn from_str(addr: &str) -> Result<Self, Infallible> {
        let unix = addr
            .strip_prefix("unix:")
            .or(addr.contains('/').then_some(addr));
        Ok(match unix {
            Some(path) => Address::Unix(PathBuf::from(path)),
            None => Address::Tcp(addr.to_owned()),
        })
    }
}

impl fmt::Display for Address {
    /// The form that parses back to the same address: `host:port` or `unix:PATH`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(host_port) => f.write_str(host_port),
            Address::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Configures the client driver, after hyper's `client::conn::http1::Builder`: limits,
/// the vars sent, timeouts, by-value setters from [`new`](Builder::new). Then
/// [`build`](Builder::build) a [`Client`](super::Client) of one server, or
/// [`connect`](Builder::connect) and [`send_request`](Builder::send_request) on a
/// connection of your own.
///
/// ```
/// use std::time::Duration;
/// use uwsgi_wire::client::Builder;
/// use uwsgi_wire::cgi::NginxParams;
///
/// let builder = Builder::new()
///     .params(NginxParams::new().server_name("example.com").server_port("443").https(true))
///     .connect_timeout(Duration::from_secs(5))
///     .head_timeout(Duration::from_secs(30))
///     .body_timeout(Duration::from_secs(30));
/// # let _ = builder;
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    pub(super) limits: Limits,
    pub(super) max_head: usize,
    pub(super) max_request_body: u64,
    pub(super) params: NginxParams,
    pub(super) modifier1: Modifier1,
    pub(super) connect_timeout: Duration,
    pub(super) head_timeout: Duration,
    pub(super) body_timeout: Duration,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// The defaults: [`Limits::new`] (response bodies of any length), response heads up
    /// to 64 KiB, request bodies of unknown length buffered up to 1 MiB,
    /// [`NginxParams::new`] (Debian's `uwsgi_params`, no client address), modifier1 0
    /// (WSGI), and 60 s for each timeout (nginx's `uwsgi_connect_timeout`,
    /// `uwsgi_send_timeout` and `uwsgi_read_timeout`).
    ///
    /// ```
    /// let builder = uwsgi_wire::client::Builder::new();
    /// # let _ = builder;
    /// ```
    pub fn new() -> Self {
        Builder {
            limits: Limits::new(),
            max_head: DEFAULT_MAX_HEAD,
            max_request_body: DEFAULT_MAX_REQUEST_BODY,
            params: NginxParams::new(),
            modifier1: Modifier1::WSGI,
            connect_timeout: DEFAULT_TIMEOUT,
            head_timeout: DEFAULT_TIMEOUT,
            body_timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The limits on what is read and sent, as everywhere in the crate: `max_body` bounds
    /// the response body ([`BodyTooLarge`](ErrorKind::BodyTooLarge) past it; the body
    /// still streams, never buffered), `max_datasize` the vars sent and a uwsgi-framed
    /// reply. Default: [`Limits::new`] (any body). The response head and the request
    /// body's buffer have settings of their own, [`max_head`](Builder::max_head) and
    /// [`max_request_body`](Builder::max_request_body).
    ///
    /// ```
    /// let builder = uwsgi_wire::client::Builder::new().limits(uwsgi_wire::Limits::new().max_body(1 << 30));
    /// # let _ = builder;
    /// ```
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The longest response head read, blank line included
    /// ([`HeadTooLarge`](ErrorKind::HeadTooLarge) past it, a gateway's 502). Default
    /// [`DEFAULT_MAX_HEAD`] (64 KiB).
    pub fn max_head(mut self, max: usize) -> Self {
        self.max_head = max;
        self
    }

    /// The most bytes of a request body of unknown length (no `Content-Length` header,
    /// no exact size hint) that are read ahead to learn its `CONTENT_LENGTH`, as nginx
    /// de-chunks a request before `uwsgi_pass`. Past it the request fails with
    /// [`RequestBody`](ErrorKind::RequestBody) and status 413. A body of known length
    /// streams and is not bounded here. Default 1 MiB, nginx's default
    /// `client_max_body_size`; `u64::MAX` buffers any length.
    ///
    /// ```
    /// let builder = uwsgi_wire::client::Builder::new().max_request_body(8 << 20);
    /// # let _ = builder;
    /// ```
    pub fn max_request_body(mut self, max: u64) -> Self {
        self.max_request_body = max;
        self
    }

    /// How the vars are built from each request, the same for every request: a
    /// gateway's `SERVER_NAME`, `SERVER_PORT`, `HTTPS` and extra `uwsgi_param`s. What
    /// one request sends differently, the client's `REMOTE_ADDR` and `REMOTE_PORT` above
    /// all, goes in its extensions as a [`RequestParams`](crate::cgi::RequestParams),
    /// applied over these. Default: [`NginxParams::new`].
    ///
    /// ```
    /// use uwsgi_wire::cgi::NginxParams;
    /// let builder = uwsgi_wire::client::Builder::new().params(NginxParams::new().server_name("example.com").server_port("8080"));
    /// # let _ = builder;
    /// ```
    pub fn params(mut self, params: NginxParams) -> Self {
        self.params = params;
        self
    }

    /// The request packet's modifier1 (nginx's `uwsgi_modifier1`). Default
    /// [`Modifier1::WSGI`] (0).
    ///
    /// ```
    /// let builder = uwsgi_wire::client::Builder::new().modifier1(uwsgi_wire::Modifier1::WSGI_SCRIPT_NAME);
    /// # let _ = builder;
    /// ```
    pub fn modifier1(mut self, modifier1: Modifier1) -> Self {
        self.modifier1 = modifier1;
        self
    }

    /// The longest wait in [`connect`](Builder::connect): for the name lookup, then for
    /// each address tried. Default 60 s.
    ///
    /// ```
    /// let builder = uwsgi_wire::client::Builder::new().connect_timeout(std::time::Duration::from_secs(3));
    /// # let _ = builder;
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The longest wait for the response head, from the moment the whole request (the
    /// packet and its body) was written until the head is parsed. Default 60 s.
    ///
    /// ```
    /// let builder = uwsgi_wire::client::Builder::new().head_timeout(std::time::Duration::from_secs(10));
    /// # let _ = builder;
    /// ```
    pub fn head_timeout(mut self, timeout: Duration) -> Self {
        self.head_timeout = timeout;
        self
    }

    /// The longest idle wait while bytes stream: for the server to take the next
    /// request bytes, for the request body to yield its next bytes, and between two
    /// reads of the response body. Default 60 s.
    ///
    /// ```
    /// let builder = uwsgi_wire::client::Builder::new().body_timeout(std::time::Duration::from_secs(10));
    /// # let _ = builder;
    /// ```
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Connects to `addr`, written as nginx's `uwsgi_pass` writes it (an [`Address`]):
    /// `unix:PATH`, or any path holding a `/`, is a Unix socket; `host:port` is TCP, and
    /// a name is tried at every address it resolves to, in order, until one connects.
    /// The lookup and each connect are bounded by
    /// [`connect_timeout`](Builder::connect_timeout).
    /// Refused, missing or unresolvable is [`ErrorKind::Connect`]; too slow is
    /// [`ErrorKind::Timeout`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let port = listener.local_addr()?.port();
    /// let builder = uwsgi_wire::client::Builder::new();
    /// let stream = builder.connect(&format!("localhost:{port}")).await?;
    /// # drop(stream);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(&self, addr: &str) -> Result<Stream, Error> {
        let addr = addr
            .parse()
            .unwrap_or_else(|never: Infallible| match never {});
        self.connect_to(&addr, None, true, pin!(None)).await
    }

    /// [`connect`](Builder::connect) to an address parsed before (`socket`: the TCP
    /// one, when it is written as an IP address and was parsed too); `nodelay`: set
    /// `TCP_NODELAY` on a TCP connection (see `connect_tcp`); `timer`: the timer for
    /// the connect timeout, left for the exchange's next wait (see `within`).
    pub(super) async fn connect_to(
        &self,
        addr: &Address,
        socket: Option<SocketAddr>,
        nodelay: bool,
        mut timer: Pin<&mut Option<Sleep>>,
    ) -> Result<Stream, Error> {
        let limit = self.connect_timeout;
        let addr = match addr {
            Address::Tcp(host_port) => host_port.as_str(),
            Address::Unix(path) => {
                return match within(timer, limit, UnixStream::connect(path)).await {
                    Some(Ok(stream)) => Ok(Stream::Unix(stream)),
                    Some(Err(err)) => Err(Error::new(
                        ErrorKind::Connect,
                        format!("connecting to {addr}: {err}"),
                    )
                    .with_source(err)),
                    None => Err(Error::new(
                        ErrorKind::Timeout,
                        format!("connecting to {addr}: no connection within {limit:?}"),
                    )),
                };
            }
        };
        // An address written as one (the usual upstream) needs no lookup: no timer, no
        // iterator, no formatting per request.
        if let Some(socket) = socket.or_else(|| addr.parse().ok()) {
            return connect_tcp(addr, socket, limit, nodelay, timer).await;
        }
        let lookup = tokio::net::lookup_host(addr);
        let addrs = match within(timer.as_mut(), limit, lookup).await {
            Some(Ok(addrs)) => addrs,
            Some(Err(err)) => {
                return Err(
                    Error::new(ErrorKind::Connect, format!("connecting to {addr}: {err}"))
                        .with_source(err),
                )
            }
            None => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("connecting to {addr}: no name lookup answer within {limit:?}"),
                ))
            }
        };
        let mut last = None;
        for socket in addrs {
            match connect_tcp(addr, socket, limit, nodelay, timer.as_mut()).await {
                Ok(stream) => return Ok(stream),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| {
            Error::new(
                ErrorKind::Connect,
                format!("connecting to {addr}: the name resolves to no address"),
            )
        }))
    }
}

/// Connects to `socket`, one address of `addr` (as written), within `limit`; with
/// `nodelay`, sets `TCP_NODELAY`: a request with a body goes out in several writes, and
/// Nagle's algorithm would hold a small later one until the first is acknowledged. A
/// request without one is a single write, which Nagle never delays: no system call.
async fn connect_tcp(
    addr: &str,
    socket: SocketAddr,
    limit: Duration,
    nodelay: bool,
    timer: Pin<&mut Option<Sleep>>,
) -> Result<Stream, Error> {
    // The address in a message: as written, and what it resolved to when that differs.
    let at = || {
        if addr.parse() == Ok(socket) {
            addr.to_owned()
        } else {
            format!("{addr} ({socket})")
        }
    };
    match within(timer, limit, TcpStream::connect(socket)).await {
        Some(Ok(stream)) => {
            if nodelay {
                let _ = stream.set_nodelay(true);
            }
            tracing::debug!(%addr, %socket, "connected to the uwsgi server");
            Ok(Stream::Tcp(stream))
        }
        Some(Err(err)) => {
            tracing::debug!(%addr, %socket, error = %err, "connect failed");
            Err(
                Error::new(ErrorKind::Connect, format!("connecting to {}: {err}", at()))
                    .with_source(err),
            )
        }
        None => {
            tracing::debug!(%addr, %socket, "connect timed out");
            Err(Error::new(
                ErrorKind::Timeout,
                format!("connecting to {}: no connection within {limit:?}", at()),
            ))
        }
    }
}
