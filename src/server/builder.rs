//! The server driver's [`Builder`]: its settings, and serving one connection.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::wire::limits::Limits;

use super::conn::Spare;
use super::error::Error;
use super::service::HttpService;

/// Configures how connections are served, after hyper's `server::conn::http1::Builder`:
/// by-value setters, then [`serve_connection`](Builder::serve_connection) for one
/// connection, or [`Serve::connection`](super::Serve::connection) for every connection of
/// a listener.
///
/// ```
/// use std::time::Duration;
/// use uwsgi_wire::server::Builder;
/// use uwsgi_wire::Limits;
///
/// let builder = Builder::new()
///     .limits(Limits::new().max_datasize(4096).max_body(1 << 20)) // uWSGI's buffer, nginx's body limit
///     .head_timeout(Duration::from_secs(5));
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Builder {
    pub(super) limits: Limits,
    pub(super) body_chunk: usize,
    pub(super) head_timeout: Duration,
    pub(super) body_timeout: Duration,
    pub(super) write_timeout: Duration,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// The defaults: [`Limits::new`] (every packet the front ends send; no body limit,
    /// bodies stream), 64 KiB body chunks, 30 s to read a request packet, 60 s between
    /// two reads of a body and for each write (nginx's `client_body_timeout` and
    /// `send_timeout`).
    ///
    /// ```
    /// let builder = uwsgi_wire::server::Builder::new();
    /// # let _ = builder;
    /// ```
    pub fn new() -> Self {
        Builder {
            limits: Limits::new(),
            body_chunk: crate::codec::DEFAULT_BODY_CHUNK,
            head_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(60),
        }
    }

    /// The limits on requests: a packet over `max_datasize` is answered 431, a body over
    /// `max_body` 413, before the service is called.
    ///
    /// ```
    /// let builder = uwsgi_wire::server::Builder::new().limits(uwsgi_wire::Limits::new().max_body(10));
    /// # let _ = builder;
    /// ```
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The longest wait for a whole request packet, from the first read (a slow-drip
    /// client cannot hold the connection longer); answered 408
    /// ([`Error::HeadTimeout`]).
    ///
    /// ```
    /// let builder = uwsgi_wire::server::Builder::new().head_timeout(std::time::Duration::from_secs(5));
    /// # let _ = builder;
    /// ```
    pub fn head_timeout(mut self, timeout: Duration) -> Self {
        self.head_timeout = timeout;
        self
    }

    /// The longest wait for the next body bytes; after it the service's body ends with
    /// [`Error::BodyTimeout`].
    ///
    /// ```
    /// let builder = uwsgi_wire::server::Builder::new().body_timeout(std::time::Duration::from_secs(5));
    /// # let _ = builder;
    /// ```
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// The longest wait for one write of the response to be taken by the front end
    /// ([`Error::WriteTimeout`]).
    ///
    /// ```
    /// let builder = uwsgi_wire::server::Builder::new().write_timeout(std::time::Duration::from_secs(5));
    /// # let _ = builder;
    /// ```
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Serves one connection: reads a request packet and its body, calls `service` with
    /// an `http::Request` (its one extension is the packet, an
    /// [`OwnedPacket`](crate::owned::OwnedPacket): modifier1, modifier2, and the vars,
    /// whose [`OwnedVars`](crate::owned::OwnedVars) accessors read the client's
    /// address, the scheme, `SCRIPT_NAME` and any var; with the `axum` feature, also
    /// axum's `ConnectInfo<SocketAddr>`), and writes the raw HTTP/1.1 response nginx
    /// expects from a uwsgi backend, its body streamed as the service yields it. A ping
    /// is answered with a pong. Packets pipelined on one connection are answered in
    /// turn; nginx sends one.
    ///
    /// The body is a [`RequestBody`](super::RequestBody) read in bounded chunks as the
    /// service polls it; the response body is written as it comes, so memory stays
    /// bounded whatever the sizes. Errors answer with their
    /// [`status_code`](Error::status_code) while a response can still be written (400,
    /// 408, 413, 431, 500) and are returned.
    ///
    /// The returned [`Connection`] is a future, in the shape of hyper's
    /// `server::conn::http1::Connection`: await it (or spawn it) to serve, call
    /// [`graceful_shutdown`](Connection::graceful_shutdown) to close it once the
    /// request in flight, if any, is answered.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// // An axum Router, one connection at a time (`serve` runs a whole listener).
    /// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3031").await?;
    /// let (stream, _) = listener.accept().await?;
    /// let builder = uwsgi_wire::server::Builder::new().head_timeout(Duration::from_secs(5));
    /// if let Err(err) = builder.serve_connection(stream, app).await {
    ///     eprintln!("{err}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn serve_connection<IO, S>(
        &self,
        io: IO,
        service: S,
    ) -> Connection<impl Future<Output = Result<(), Error>>>
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
        S: HttpService,
    {
        // The same stop as `serve`'s shutdown (`Builder::serve_until`), for this
        // connection alone: `graceful_shutdown` drops the sender.
        let (stop, stopped) = watch::channel(());
        let builder = *self;
        Connection {
            // The driver borrows the connection's halves, which needs it `Unpin`: any
            // stream is, once boxed.
            future: Box::pin(async move {
                let mut spare = Spare::from_thread();
                let served = builder
                    .serve_until(Box::pin(io), service, Some(stopped), None, &mut spare)
                    .await;
                spare.leave_to_thread();
                served
            }),
            stop: Some(stop),
        }
    }
}

/// One connection being served: a future made by [`Builder::serve_connection`], in the
/// shape of hyper's `server::conn::http1::Connection`. It resolves when the connection
/// is done (the front end closed it, or the last answer was written), with the error
/// that stopped it early, if any.
///
/// `F` is the driver's own future; a `Connection` is `Send` when the service and its
/// futures are, so it can be spawned.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (_front_end, io) = tokio::io::duplex(4096);
/// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
/// let mut connection = std::pin::pin!(uwsgi_wire::server::Builder::new().serve_connection(io, app));
/// // Nothing was sent yet: an idle connection closes at once.
/// connection.as_mut().graceful_shutdown();
/// assert!(connection.await.is_ok());
/// # }
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Connection<F> {
    future: Pin<Box<F>>,
    stop: Option<watch::Sender<()>>,
}

impl<F> Connection<F> {
    /// Starts a graceful shutdown of this connection: if no byte of a request arrived
    /// yet, it closes at once; a request being read or answered is finished, and then
    /// the connection closes instead of reading a next, pipelined one. Keep polling the
    /// connection until it resolves. Calling it again does nothing.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let (_front_end, io) = tokio::io::duplex(4096);
    /// # let app = axum::Router::<()>::new();
    /// let connection = uwsgi_wire::server::Builder::new().serve_connection(io, app);
    /// let mut connection = std::pin::pin!(connection);
    /// connection.as_mut().graceful_shutdown();
    /// # assert!(connection.await.is_ok());
    /// # }
    /// ```
    pub fn graceful_shutdown(self: Pin<&mut Self>) {
        self.get_mut().stop = None;
    }
}

impl<F> Future for Connection<F>
where
    F: Future<Output = Result<(), Error>>,
{
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.future.as_mut().poll(cx)
    }
}

impl<F> fmt::Debug for Connection<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("shutting_down", &self.stop.is_none())
            .finish_non_exhaustive()
    }
}
