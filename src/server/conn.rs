//! One connection: read a request, call the service, write its response.

use std::future::poll_fn;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use std::task::Poll;

use futures_util::{FutureExt, StreamExt};
use http::{Request, Response};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, watch};
use tokio::time::{timeout, timeout_at};
use tokio_util::codec::FramedRead;
use tower_service::Service;

use crate::codec::{Frame, ServerCodec};
use crate::http::request_from_owned;
use crate::io::StreamError;
use crate::owned::OwnedPacket;
use crate::wire::header::Modifier1;
use crate::wire::limits::Limits;

use super::body::{BodyError, RequestBody};
use super::response::{write_response, write_status, write_text};

/// A boxed error, what services return (`tower::BoxError`).
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why serving a connection stopped early. Every one is also logged through `tracing`.
///
/// ```
/// let err = uwsgi_wire::server::ConnectionError::Timeout("reading the request packet");
/// assert_eq!(err.to_string(), "timed out reading the request packet");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The request did not frame (answered with its status when one fits: 400, 413, 431).
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// A wait took longer than its timeout (answered with 408 while reading the packet).
    #[error("timed out {0}")]
    Timeout(&'static str),
    /// The vars do not make an HTTP request (answered with 400).
    #[error("the vars do not make an HTTP request: {0}")]
    Request(#[from] crate::http::HttpError),
    /// The service failed (answered with 500 when nothing was written yet).
    #[error("the service failed: {0}")]
    Service(BoxError),
    /// The response body failed after its head was written; the connection is closed.
    #[error("the response body failed: {0}")]
    ResponseBody(BoxError),
    /// Writing to the front end failed.
    #[error("writing the response failed: {0}")]
    Io(#[from] io::Error),
}

/// Configures how connections are served, after hyper's `server::conn::http1::Builder`.
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
    limits: Limits,
    body_chunk: usize,
    head_timeout: Duration,
    body_timeout: Duration,
    write_timeout: Duration,
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
    /// client cannot hold the connection longer); answered 408.
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
    /// [`BodyError::Timeout`].
    ///
    /// ```
    /// let builder = uwsgi_wire::server::Builder::new().body_timeout(std::time::Duration::from_secs(5));
    /// # let _ = builder;
    /// ```
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// The longest wait for one write of the response to be taken by the front end.
    ///
    /// ```
    /// let builder = uwsgi_wire::server::Builder::new().write_timeout(std::time::Duration::from_secs(5));
    /// # let _ = builder;
    /// ```
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Serves one connection: see [`serve_connection`](super::serve_connection).
    ///
    /// ```no_run
    /// # #[allow(dead_code)]
    /// # async fn run(stream: tokio::net::TcpStream) {
    /// use std::time::Duration;
    /// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
    /// let builder = uwsgi_wire::server::Builder::new().head_timeout(Duration::from_secs(5));
    /// if let Err(err) = builder.serve_connection(stream, app).await {
    ///     eprintln!("{err}");
    /// }
    /// # }
    /// ```
    pub async fn serve_connection<IO, S, B>(
        &self,
        io: IO,
        service: S,
    ) -> Result<(), ConnectionError>
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
        S: Service<Request<RequestBody>, Response = Response<B>>,
        S::Error: Into<BoxError>,
        B: http_body::Body,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        self.serve_until(io, service, None).await
    }

    /// [`serve_connection`](Builder::serve_connection), closed as soon as `stop`'s
    /// sender is dropped (the server shuts down) if no byte of a request arrived yet:
    /// an idle connection must not hold a graceful shutdown for the whole head timeout.
    /// A request already arriving gets the rest of its head timeout; one in flight
    /// finishes.
    pub(super) async fn serve_until<IO, S, B>(
        &self,
        io: IO,
        mut service: S,
        mut stop: Option<watch::Receiver<()>>,
    ) -> Result<(), ConnectionError>
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
        S: Service<Request<RequestBody>, Response = Response<B>>,
        S::Error: Into<BoxError>,
        B: http_body::Body,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let (read, mut write) = tokio::io::split(io);
        let codec = ServerCodec::new(self.limits).body_chunk(self.body_chunk);
        let mut frames = FramedRead::new(read, codec);
        let mut first = true;
        loop {
            let next = if first {
                let deadline = crate::deadline::after(self.head_timeout);
                let waited = match stop.as_mut() {
                    Some(stop) => tokio::select! {
                        next = timeout_at(deadline, first_packet(&mut frames)) => Some(next),
                        // Only ever dropped: `changed` fails when the server shuts down.
                        _ = stop.changed() => None,
                    },
                    None => Some(timeout_at(deadline, first_packet(&mut frames)).await),
                };
                let waited = match waited {
                    Some(next) => next,
                    None if frames.read_buffer().is_empty() => return Ok(()),
                    None => timeout_at(deadline, first_packet(&mut frames)).await,
                };
                match waited {
                    Ok(First::Frame(next)) => Ok(next),
                    Ok(First::Foreign { http, diagnosis }) => {
                        tracing::warn!("{diagnosis}");
                        if http {
                            // The client waits for an answer and reads HTTP: say why.
                            let _ =
                                write_text(&mut write, 400, &diagnosis, self.write_timeout).await;
                        }
                        return Ok(());
                    }
                    Err(elapsed) => Err(elapsed),
                }
            } else {
                // After an answer, as uWSGI, the connection ends unless the front end
                // already sent more (pipelining): never wait idle for a next request.
                // One poll and no timer: a zero timeout registers a timer that wakes
                // the time driver on every request (benches/e2e/RESULTS.md).
                match frames.next().now_or_never() {
                    None if frames.read_buffer().is_empty() => return Ok(()),
                    None => timeout(self.head_timeout, frames.next()).await,
                    Some(ready) => Ok(ready),
                }
            };
            first = false;
            let head = match next {
                Err(_) => {
                    log_diagnosis(frames.read_buffer(), &self.limits);
                    let _ = write_status(&mut write, 408, self.write_timeout).await;
                    return Err(ConnectionError::Timeout("reading the request packet"));
                }
                Ok(None) => return Ok(()),
                Ok(Some(Err(err))) => {
                    log_diagnosis(frames.read_buffer(), &self.limits);
                    if let Some(code) = err.status_code() {
                        let _ = write_status(&mut write, code, self.write_timeout).await;
                    }
                    return Err(err.into());
                }
                Ok(Some(Ok(Frame::Head(head)))) => head,
                // A server-side codec starts every exchange with a head.
                Ok(Some(Ok(_))) => return Ok(()),
            };
            match self
                .exchange(&mut frames, &mut write, &mut service, head)
                .await?
            {
                Next::Continue => {}
                Next::Close => return Ok(()),
            }
        }
    }

    /// Answers one packet; says whether the connection can carry another.
    async fn exchange<IO, S, B>(
        &self,
        frames: &mut FramedRead<ReadHalf<IO>, ServerCodec>,
        write: &mut WriteHalf<IO>,
        service: &mut S,
        head: OwnedPacket,
    ) -> Result<Next, ConnectionError>
    where
        IO: AsyncRead + AsyncWrite,
        S: Service<Request<RequestBody>, Response = Response<B>>,
        S::Error: Into<BoxError>,
        B: http_body::Body,
        B::Error: Into<BoxError>,
    {
        if head.modifier1() == Modifier1::PING && head.modifier2() == 0 {
            skip_to_end(frames).await?;
            let pong = [Modifier1::PING.0, 0, 0, 1];
            write_all(write, &pong, self.write_timeout).await?;
            return Ok(Next::Continue);
        }
        let Some(vars) = head.owned_vars().filter(|_| head.modifier1().is_request()) else {
            tracing::debug!(
                modifier1 = head.modifier1().0,
                "closing: not a request this server answers"
            );
            return Ok(Next::Close);
        };
        let request = match request_from_owned(&vars) {
            Ok(request) => request,
            Err(err) => {
                let _ = write_status(write, 400, self.write_timeout).await;
                return Err(err.into());
            }
        };
        let body_len = head.body_len();
        let (tx, body) = RequestBody::channel(body_len);
        let mut request = request.map(|()| body);
        // The packet itself (modifier1, modifier2, every var) for services that want it.
        request.extensions_mut().insert(head);

        poll_fn(|cx| service.poll_ready(cx))
            .await
            .map_err(|err| ConnectionError::Service(err.into()))?;
        // The body is fed while the service runs *and* while its response is written (a
        // response may stream the request body back), raced against both so neither
        // waits on a body read; its end is read from the connection once all of its bytes
        // were, whether or not the service read them, so a pipelined packet is found.
        let mut feed = Feed {
            tx: Some(tx),
            left: body_len,
            ended: false,
            stopped: false,
        };
        let call = service.call(request);
        let response = match self.feeding(frames, &mut feed, call).await {
            Ok(response) => response,
            Err(err) => {
                let _ = write_status(write, 500, self.write_timeout).await;
                return Err(ConnectionError::Service(err.into()));
            }
        };
        let written = write_response(write, response, self.write_timeout);
        let delimited = self.feeding(frames, &mut feed, written).await?;
        write.flush().await?;
        // The service is done with the body: if all its bytes were read, so is its end.
        drop(feed.tx.take());
        if !feed.ended && !feed.stopped && feed.left == 0 {
            feed.step(frames, self.body_timeout).await;
        }
        // Another request can follow only when this one's body was read to its end and
        // the response's end was announced.
        Ok(if feed.ended && delimited {
            Next::Continue
        } else {
            Next::Close
        })
    }

    /// Runs `task` (the service's call, then the writing of its response) while
    /// feeding it the request body, one chunk at a time as it makes room for them.
    async fn feeding<R, F>(
        &self,
        frames: &mut FramedRead<R, ServerCodec>,
        feed: &mut Feed,
        task: F,
    ) -> F::Output
    where
        R: AsyncRead + Unpin,
        F: std::future::Future,
    {
        let mut task = std::pin::pin!(task);
        loop {
            tokio::select! {
                output = &mut task => return output,
                () = feed.step(frames, self.body_timeout) => {}
            }
        }
    }
}

/// The request body on its way from the connection to the service.
struct Feed {
    /// The service's end of the body; `None` once it is done with it.
    tx: Option<mpsc::Sender<Result<Bytes, BodyError>>>,
    /// Body bytes not read from the connection yet.
    left: u64,
    /// The end of the exchange was read: the next bytes are the next packet.
    ended: bool,
    /// Reading stopped before the end (the body failed, or the service dropped it
    /// unread): the connection cannot carry another packet.
    stopped: bool,
}

impl Feed {
    /// Moves the body one step: reads the next chunk once the service has room for it
    /// (or the end, once every byte was read). Pending forever when there is nothing
    /// left to do. Cancel-safe: its state changes only after its last await.
    async fn step<R: AsyncRead + Unpin>(
        &mut self,
        frames: &mut FramedRead<R, ServerCodec>,
        limit: Duration,
    ) {
        if self.ended || self.stopped {
            return std::future::pending().await;
        }
        if self.left == 0 {
            // Every body byte was read (or there were none): the end needs no bytes.
            self.tx = None;
            match frames.next().await {
                Some(Ok(Frame::End)) => self.ended = true,
                _ => self.stopped = true,
            }
            return;
        }
        let Some(tx) = self.tx.clone() else {
            return std::future::pending().await;
        };
        let Ok(permit) = tx.reserve_owned().await else {
            // The service dropped its body: stop reading it.
            self.tx = None;
            self.stopped = true;
            return;
        };
        let failed = match timeout(limit, frames.next()).await {
            Ok(Some(Ok(Frame::Body(chunk)))) => {
                self.left = self.left.saturating_sub(crate::to_u64(chunk.len()));
                permit.send(Ok(chunk));
                return;
            }
            Ok(Some(Ok(Frame::End))) => {
                self.ended = true;
                return;
            }
            Ok(Some(Ok(_))) => BodyError::Incomplete("a frame inside the body".to_string()),
            Ok(Some(Err(err))) => BodyError::Incomplete(err.to_string()),
            Ok(None) => BodyError::Incomplete("the front end closed the connection".to_string()),
            Err(_) => BodyError::Timeout,
        };
        permit.send(Err(failed));
        self.tx = None;
        self.stopped = true;
    }
}

/// What the connection does after an exchange.
enum Next {
    Continue,
    Close,
}

/// Reads the frames of a packet with no body up to its end.
async fn skip_to_end<R: AsyncRead + Unpin>(
    frames: &mut FramedRead<R, ServerCodec>,
) -> Result<(), ConnectionError> {
    while let Some(frame) = frames.next().await {
        if let Frame::End = frame? {
            break;
        }
    }
    Ok(())
}

/// Writes all of `bytes` within `limit`.
pub(super) async fn write_all<W: AsyncWrite + Unpin>(
    write: &mut W,
    bytes: &[u8],
    limit: Duration,
) -> Result<(), ConnectionError> {
    match timeout(limit, write.write_all(bytes)).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(ConnectionError::Timeout("writing the response")),
    }
}

/// What the first read of a connection gave: a frame (or the end, or an error), or bytes
/// that are not uwsgi at all.
enum First {
    Frame(Option<Result<Frame<OwnedPacket>, StreamError>>),
    /// HTTP or TLS sent to the socket ([`Diagnosis`](crate::diagnose::Diagnosis)): such a client
    /// waits for an answer and never sends the 21573 bytes its `GET ` announces as a
    /// datasize, so it is told at once instead of at the head timeout.
    Foreign {
        http: bool,
        diagnosis: String,
    },
}

/// The first frame of a connection, or, while its first packet is still incomplete,
/// the diagnosis of bytes that are an HTTP request line or a TLS record.
fn first_packet<R: AsyncRead + Unpin>(
    frames: &mut FramedRead<R, ServerCodec>,
) -> impl std::future::Future<Output = First> + '_ {
    poll_fn(move |cx| match frames.poll_next_unpin(cx) {
        Poll::Ready(next) => Poll::Ready(First::Frame(next)),
        Poll::Pending => match crate::diagnose::Diagnosis::find(frames.read_buffer(), u16::MAX) {
            Some(found @ crate::diagnose::Diagnosis::Http { .. }) => Poll::Ready(First::Foreign {
                http: true,
                diagnosis: found.to_string(),
            }),
            Some(found @ crate::diagnose::Diagnosis::Tls { .. }) => Poll::Ready(First::Foreign {
                http: false,
                diagnosis: found.to_string(),
            }),
            _ => Poll::Pending,
        },
    })
}

/// Logs what an operator should change when the bytes that did not make a request packet
/// have a known cause: HTTP or TLS sent to the socket, a big-endian datasize, a block
/// over the buffer ([`Diagnosis`](crate::diagnose::Diagnosis), docs/PROTOCOL.md "Diagnostics").
fn log_diagnosis(received: &[u8], limits: &Limits) {
    if let Some(found) = crate::diagnose::Diagnosis::find(received, limits.max_datasize) {
        tracing::warn!("{found}");
    }
}

/// Serves one connection with the [`Builder::new`] defaults: reads a request packet and
/// its body, calls `service` with an `http::Request` (the front end's vars stay in its
/// extensions as an [`OwnedVars`](crate::owned::OwnedVars): `REMOTE_ADDR`, `HTTPS`,
/// `SCRIPT_NAME` and the rest; the whole packet, modifiers included, as an
/// [`OwnedPacket`](crate::owned::OwnedPacket)), and writes the raw HTTP/1.1 response nginx expects from
/// a uwsgi backend, its body streamed as the service yields it. A ping is answered with
/// a pong. Packets pipelined on one connection are answered in turn; nginx sends one.
///
/// The body is an [`http_body::Body`] read in bounded chunks as the service polls it;
/// the response body is written as it comes, so memory stays bounded whatever the
/// sizes. Errors answer with their status while a response can still be written (400,
/// 408, 413, 431, 500) and are logged through `tracing`.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// // An axum Router, one connection at a time (`serve` runs a whole listener).
/// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3031").await?;
/// let (stream, _) = listener.accept().await?;
/// uwsgi_wire::server::serve_connection(stream, app).await.ok();
/// # Ok(())
/// # }
/// ```
pub async fn serve_connection<IO, S, B>(io: IO, service: S) -> Result<(), ConnectionError>
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
    S: Service<Request<RequestBody>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: http_body::Body,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    Builder::new().serve_connection(io, service).await
}
