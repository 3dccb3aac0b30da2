//! A whole listener: accept, check the peer, serve each connection in its own task.

use std::future::{Future, IntoFuture};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::time::Duration;

use futures_util::FutureExt;
use ipnet::IpNet;
use tokio::io::Interest;
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::runtime::RuntimeFlavor;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::builder::Builder;
use super::conn::Spare;
use super::lazy::LazyTcp;
use super::service::HttpService;

/// A listening socket [`serve`] accepts connections from: a TCP listener (its peers are
/// checked against the allow-list) or a Unix socket listener (its file permissions decide
/// who connects). Made from either with `into()`.
///
/// ```no_run
/// # #[allow(dead_code)]
/// # async fn run() -> std::io::Result<()> {
/// use uwsgi_wire::server::Listener;
/// let tcp: Listener = tokio::net::TcpListener::bind("127.0.0.1:3031").await?.into();
/// let unix: Listener = tokio::net::UnixListener::bind("/tmp/app.sock")?.into();
/// # drop((tcp, unix));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Listener(Socket);

/// The socket of a [`Listener`].
#[derive(Debug)]
enum Socket {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl From<TcpListener> for Listener {
    fn from(listener: TcpListener) -> Self {
        Listener(Socket::Tcp(listener))
    }
}

impl From<UnixListener> for Listener {
    fn from(listener: UnixListener) -> Self {
        Listener(Socket::Unix(listener))
    }
}

/// An accepted connection.
enum Stream {
    Tcp(LazyTcp),
    Unix(UnixStream),
}

/// The listening socket while [`serve`] runs. A TCP listener accepts with its own
/// system call ([`accept_nonblocking`]), so that a connection reaches the reactor only
/// when it would wait ([`LazyTcp`]): tokio's own listener registers every connection it
/// accepts.
enum Acceptor {
    Tcp {
        /// The listening socket, accepted from.
        listener: std::net::TcpListener,
        /// The same socket (a duplicate descriptor) as a registered tokio stream, used
        /// only for its readiness: tokio's safe API registers a socket for readiness
        /// only as one of its own types, and a listening socket is readable when a
        /// connection waits. Never read from or written to.
        readiness: TcpStream,
    },
    Unix(UnixListener),
}

impl Acceptor {
    fn new(listener: Listener) -> io::Result<Self> {
        Ok(match listener.0 {
            Socket::Tcp(listener) => {
                // `into_std` keeps the socket non-blocking; the duplicate shares that.
                let listener = listener.into_std()?;
                let readiness: OwnedFd = listener.try_clone()?.into();
                let readiness = TcpStream::from_std(std::net::TcpStream::from(readiness))?;
                // Requests are written at once by front ends: no Nagle delay on answers
                // (a streamed response's small writes). Set on the listening socket, as
                // Linux copies it to every connection accepted from it (no system call
                // per connection); elsewhere, on each connection too.
                readiness.set_nodelay(true)?;
                Acceptor::Tcp {
                    listener,
                    readiness,
                }
            }
            Socket::Unix(listener) => Acceptor::Unix(listener),
        })
    }

    async fn accept(&self) -> io::Result<(Stream, Option<SocketAddr>)> {
        match self {
            Acceptor::Tcp {
                listener,
                readiness,
            } => loop {
                match readiness.try_io(Interest::READABLE, || accept_nonblocking(listener)) {
                    Ok((stream, peer)) => {
                        return Ok((Stream::Tcp(LazyTcp::new(stream)), Some(peer)));
                    }
                    // Readiness cleared (or not seen yet): wait for the next connection.
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                        readiness.readable().await?;
                    }
                    Err(err) => return Err(err),
                }
            },
            Acceptor::Unix(listener) => Ok((Stream::Unix(listener.accept().await?.0), None)),
        }
    }
}

/// Accepts a connection from `listener`, in non-blocking mode and with `TCP_NODELAY`.
///
/// On Linux, in one system call: `accept4(2)` with `SOCK_NONBLOCK` (std's `accept`
/// passes only `SOCK_CLOEXEC`, and `set_nonblocking` would cost an `ioctl` per
/// connection), and `TCP_NODELAY` inherited from the listening socket.
#[cfg(target_os = "linux")]
fn accept_nonblocking(
    listener: &std::net::TcpListener,
) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    let (stream, peer) =
        socket2::SockRef::from(listener).accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)?;
    let peer = peer
        .as_socket()
        .ok_or_else(|| io::Error::other("a TCP peer without an IP address"))?;
    Ok((stream.into(), peer))
}

/// Accepts a connection from `listener`, in non-blocking mode and with `TCP_NODELAY`.
#[cfg(not(target_os = "linux"))]
fn accept_nonblocking(
    listener: &std::net::TcpListener,
) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    let (stream, peer) = listener.accept()?;
    stream.set_nonblocking(true)?;
    stream.set_nodelay(true)?;
    Ok((stream, peer))
}

/// Serves every connection accepted from `listener` with a clone of `service`, in the
/// shape of `axum::serve`: await it to run until the process ends, or call
/// [`with_graceful_shutdown`](Serve::with_graceful_shutdown).
///
/// By default it serves only loopback TCP peers (a uwsgi socket is a control channel:
/// whoever reaches it sets every var a request carries, `REMOTE_ADDR` included); a
/// connection from another address is closed before a byte is read and logged. Widen
/// it with [`allow`](Serve::allow). Unix sockets are left to their file permissions.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3031").await?;
/// uwsgi_wire::server::serve(listener, app)
///     .max_connections(1024)
///     .with_graceful_shutdown(async { tokio::signal::ctrl_c().await.ok(); })
///     .await
/// # }
/// ```
pub fn serve<S>(listener: impl Into<Listener>, service: S) -> Serve<S> {
    Serve {
        listener: listener.into(),
        service,
        builder: Builder::new(),
        max_connections: 4096,
        allow: Vec::new(),
        shutdown_timeout: Duration::from_secs(30),
    }
}

/// A server being set up by [`serve`]; await it to run it.
///
/// ```no_run
/// # #[allow(dead_code)]
/// # async fn run(listener: tokio::net::TcpListener) -> std::io::Result<()> {
/// use std::time::Duration;
/// let app = axum::Router::<()>::new();
/// uwsgi_wire::server::serve(listener, app)
///     .connection(uwsgi_wire::server::Builder::new().head_timeout(Duration::from_secs(5)))
///     .allow("10.0.0.0/8".parse().unwrap())
///     .await
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a server does nothing until it is awaited"]
pub struct Serve<S> {
    listener: Listener,
    service: S,
    builder: Builder,
    max_connections: usize,
    allow: Vec<IpNet>,
    shutdown_timeout: Duration,
}

impl<S> Serve<S> {
    /// How each connection is served (limits, timeouts). Default: [`Builder::new`].
    ///
    /// ```no_run
    /// # #[allow(dead_code)]
    /// # async fn run(listener: tokio::net::TcpListener) {
    /// let limits = uwsgi_wire::Limits::new().max_body(1 << 20);
    /// let serve = uwsgi_wire::server::serve(listener, axum::Router::<()>::new())
    ///     .connection(uwsgi_wire::server::Builder::new().limits(limits));
    /// # drop(serve);
    /// # }
    /// ```
    pub fn connection(mut self, builder: Builder) -> Self {
        self.builder = builder;
        self
    }

    /// The most connections served at once (at least 1); more wait in the listen
    /// backlog until one ends. Default 4096.
    ///
    /// ```no_run
    /// # #[allow(dead_code)]
    /// # async fn run(listener: tokio::net::TcpListener) {
    /// let serve = uwsgi_wire::server::serve(listener, axum::Router::<()>::new()).max_connections(64);
    /// # drop(serve);
    /// # }
    /// ```
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Also serves TCP peers in `block` (`10.0.0.0/8`, `fd00::/8`, or one address as a
    /// `/32` or `/128`); `0.0.0.0/0` and `::/0` together serve everyone. Repeatable.
    ///
    /// ```no_run
    /// # #[allow(dead_code)]
    /// # async fn run(listener: tokio::net::TcpListener) -> Result<(), ipnet::AddrParseError> {
    /// let serve = uwsgi_wire::server::serve(listener, axum::Router::<()>::new()).allow("10.0.0.0/8".parse()?);
    /// # drop(serve);
    /// # Ok(())
    /// # }
    /// ```
    pub fn allow(mut self, block: IpNet) -> Self {
        self.allow.push(block);
        self
    }

    /// How long in-flight connections may run on after the shutdown signal before they
    /// are dropped. Default 30 s.
    ///
    /// ```no_run
    /// # #[allow(dead_code)]
    /// # async fn run(listener: tokio::net::TcpListener) {
    /// let serve = uwsgi_wire::server::serve(listener, axum::Router::<()>::new())
    ///     .shutdown_timeout(std::time::Duration::from_secs(5));
    /// # drop(serve);
    /// # }
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }
}

impl<S> Serve<S>
where
    S: HttpService<Future: Send, Error: Send, ResBody: Send + 'static> + Clone + Send + 'static,
    <S::ResBody as http_body::Body>::Error: Send,
{
    /// Runs until `signal` completes, then stops accepting and lets the connections in
    /// flight finish, for at most the [`shutdown_timeout`](Serve::shutdown_timeout).
    ///
    /// ```no_run
    /// # #[allow(dead_code)]
    /// # async fn run(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    /// uwsgi_wire::server::serve(listener, axum::Router::<()>::new())
    ///     .with_graceful_shutdown(async { tokio::signal::ctrl_c().await.ok(); })
    ///     .await
    /// # }
    /// ```
    pub async fn with_graceful_shutdown<F>(self, signal: F) -> io::Result<()>
    where
        F: Future<Output = ()> + Send,
    {
        // The accept loop runs in a task of its own, so that a multi-thread runtime runs
        // it on a worker beside the connections it spawns, not on the thread awaiting
        // it (with `#[tokio::main]`, the main thread: a cross-thread hand-off of every
        // connection, about 19 µs of CPU per request, benches/e2e/RESULTS.md). In a
        // `JoinSet`, so that dropping this future still stops the server. The signal
        // stays here (it need not be `'static`) and is passed on through a oneshot.
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mut accept = JoinSet::new();
        accept.spawn(self.run(async move {
            let _ = stopped.await;
        }));
        let mut signal = std::pin::pin!(signal);
        let mut stop = Some(stop);
        loop {
            tokio::select! {
                done = accept.join_next() => return match done {
                    Some(Ok(result)) => result,
                    Some(Err(err)) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                    _ => Err(io::Error::other("the accept loop was cancelled")),
                },
                () = &mut signal, if stop.is_some() => {
                    if let Some(stop) = stop.take() {
                        let _ = stop.send(());
                    }
                }
            }
        }
    }

    async fn run<F>(self, signal: F) -> io::Result<()>
    where
        F: Future<Output = ()> + Send,
    {
        let Serve {
            listener,
            service,
            builder,
            max_connections,
            allow,
            shutdown_timeout,
        } = self;
        let listener = Acceptor::new(listener)?;
        // On a current-thread runtime every connection runs on this thread anyway: one
        // whose request is whole and whose service answers at once is served right here,
        // with no task of its own (as the `tokio-tuned` row of benches/e2e does); one
        // that would wait becomes a task. On a multi-thread runtime, a task each, so
        // that the other workers take them.
        let inline =
            tokio::runtime::Handle::current().runtime_flavor() == RuntimeFlavor::CurrentThread;
        // Dropped at shutdown: connections still waiting for a first byte close then
        // (`Builder::serve_until`).
        let (stop, stopped) = watch::channel(());
        let mut tasks = JoinSet::new();
        let mut signal = std::pin::pin!(signal);
        let mut room = None;
        let mut spare: Option<Spare> = None;
        loop {
            // The connections in flight are the tasks (a connection served inline ends
            // before the next accept): the set's length bounds them, no semaphore and
            // no permit per connection. Reaped without the set's lock when no
            // connection became a task (inline, the usual case).
            if !tasks.is_empty() {
                while let Some(done) = tasks.try_join_next() {
                    log_panic(done);
                }
            }
            if tasks.len() >= max_connections {
                // At the limit: more connections wait in the listen backlog until one
                // ends. `biased`, the signal first: no random number per turn, and
                // ready events cannot hold a shutdown back.
                tokio::select! {
                    biased;
                    () = &mut signal => break,
                    Some(done) = tasks.join_next() => log_panic(done),
                }
                continue;
            }
            if inline {
                // Connections served inline never yield: let the other tasks run.
                tokio::task::consume_budget().await;
            }
            let accepted = tokio::select! {
                biased;
                () = &mut signal => break,
                accepted = listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait, then accept again.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if let Some(peer) = peer {
                if !allowed(&allow, peer.ip()) {
                    tracing::warn!("refused connection from {peer}: not loopback, not allowed");
                    continue;
                }
            }
            let service = service.clone();
            let stopped = Some(stopped.clone());
            // The buffers the last connection served inline ended with (`Spare`): the
            // connection's output, so this loop gets them back with no thread-local; one
            // run as a task leaves them to its thread.
            let handed = spare.take();
            // Boxed, so that a connection that must wait can move into a task; the box
            // of one served inline is kept for the next connection (its future is a few
            // KiB: a `malloc` and `free` per connection otherwise). Built in the call
            // that puts it in the box: one copy of it, not two.
            let mut boxed: Pin<Box<Option<_>>> = room.take().unwrap_or_else(|| Box::pin(None));
            boxed.as_mut().set(Some(async move {
                let mut buffers = handed.unwrap_or_else(Spare::from_thread);
                let served = match stream {
                    Stream::Tcp(stream) => {
                        builder
                            .serve_until(stream, service, stopped, peer, &mut buffers)
                            .await
                    }
                    Stream::Unix(stream) => {
                        builder
                            .serve_until(stream, service, stopped, None, &mut buffers)
                            .await
                    }
                };
                if let Err(err) = served {
                    let peer = peer.map(tracing::field::display);
                    tracing::warn!(peer, error = %err, "connection failed");
                }
                buffers
            }));
            if inline {
                // Polled once with a no-op waker: if it must wait, its task polls it
                // again at once, and every wait registers that task's waker then.
                let done = match boxed.as_mut().as_pin_mut() {
                    Some(connection) => connection.now_or_never().map(Some),
                    None => Some(None),
                };
                if let Some(buffers) = done {
                    spare = buffers;
                    room = Some(boxed);
                    continue;
                }
            }
            tasks.spawn(async move {
                if let Some(connection) = boxed.as_mut().as_pin_mut() {
                    connection.await.leave_to_thread();
                }
            });
        }
        drop(listener);
        drop(stop);
        tracing::info!(in_flight = tasks.len(), "shutting down");
        let drained = tokio::time::timeout(shutdown_timeout, async {
            while let Some(done) = tasks.join_next().await {
                log_panic(done);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                dropped = tasks.len(),
                "shutdown timeout: dropping connections"
            );
            tasks.shutdown().await;
        }
        Ok(())
    }
}

/// True when a TCP peer at `ip` is served: loopback, or inside one of `allow`.
fn allowed(allow: &[IpNet], ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    ip.is_loopback() || allow.iter().any(|block| block.contains(&ip))
}

/// A connection task that panicked (a handler's panic) is logged, not lost.
fn log_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(err) = done {
        if err.is_panic() {
            tracing::error!(error = %err, "a connection task panicked");
        }
    }
}

impl<S> IntoFuture for Serve<S>
where
    S: HttpService<Future: Send, Error: Send, ResBody: Send + 'static> + Clone + Send + 'static,
    <S::ResBody as http_body::Body>::Error: Send,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.with_graceful_shutdown(std::future::pending()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_allowing(blocks: &[&str]) -> Serve<()> {
        let std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std.set_nonblocking(true).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = runtime.enter();
        let listener = TcpListener::from_std(std).unwrap();
        blocks.iter().fold(serve(listener, ()), |serve, block| {
            serve.allow(block.parse().unwrap())
        })
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn loopback_only_by_default() {
        let serve = serve_allowing(&[]);
        for peer in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            assert!(allowed(&serve.allow, ip(peer)), "{peer} is loopback");
        }
        for peer in [
            "192.0.2.2",
            "10.0.0.1",
            "0.0.0.0",
            "::",
            "fe80::1",
            "::ffff:10.0.0.1",
            // Not loopback: ::1 inside another prefix.
            "::2",
            "::ffff:0:1",
        ] {
            assert!(!allowed(&serve.allow, ip(peer)), "{peer} is not loopback");
        }
    }

    #[test]
    fn allowed_blocks_also_match_ipv4_mapped_peers() {
        let serve = serve_allowing(&["10.0.0.0/8", "192.0.2.7/32", "fd00::/8"]);
        for peer in [
            "10.0.0.1",
            "10.255.255.255",
            "192.0.2.7",
            "::ffff:10.1.2.3",
            "fd12::1",
            "::1",
        ] {
            assert!(allowed(&serve.allow, ip(peer)), "{peer} is allowed");
        }
        for peer in ["11.0.0.0", "192.0.2.8", "fe00::1", "2001:db8::1"] {
            assert!(!allowed(&serve.allow, ip(peer)), "{peer} is not allowed");
        }
        let everyone = serve_allowing(&["0.0.0.0/0", "::/0"]);
        assert!(
            allowed(&everyone.allow, ip("203.0.113.9"))
                && allowed(&everyone.allow, ip("2001:db8::1"))
        );
    }
}
