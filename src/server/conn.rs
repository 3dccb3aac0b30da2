//! One connection: read a request, call the service, write its response.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use std::task::Poll;

use futures_util::{FutureExt, StreamExt};
use http::Request;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::time::{timeout, timeout_at};
use tokio_util::codec::FramedRead;
use tracing::Instrument;

use crate::cgi::request_without_vars;
use crate::codec::{Frame, ServerCodec};
use crate::io::StreamError;
use crate::owned::OwnedPacket;
use crate::wire::convert::to_u64;
use crate::wire::header::Modifier1;
use crate::wire::limits::Limits;

use super::body::RequestBody;
use super::builder::Builder;
use super::error::Error;
use super::half::Half;
use super::response::{write_all, write_response, write_status, write_text, Writer};
use super::service::HttpService;

impl Builder {
    /// Serves one connection, [`serve_connection`](Builder::serve_connection)'s and
    /// [`serve`](super::serve)'s one code path, in a `connection` span naming `peer`
    /// (the listener's peer; `None` for a Unix socket or a connection handed in).
    ///
    /// Stops gracefully once `stop`'s sender is dropped ([`Connection::graceful_shutdown`](super::Connection::graceful_shutdown),
    /// or the server shutting down): closed at once if no byte of a request arrived yet,
    /// since an idle connection must not hold a shutdown for the whole head timeout; a
    /// request already arriving gets the rest of its head timeout, one in flight
    /// finishes, and no pipelined one is read after it.
    pub(super) async fn serve_until<IO, S>(
        &self,
        io: IO,
        service: S,
        stop: Option<watch::Receiver<()>>,
        peer: Option<SocketAddr>,
        spare: &mut Spare,
    ) -> Result<(), Error>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService,
    {
        // A disabled level (the default `info`) makes this `Span::none()`: a check of
        // the callsite's cached interest, nothing more.
        let span = tracing::debug_span!("connection", peer = peer.map(tracing::field::display));
        // Not wrapped when disabled: the wrapper would be one more move of the
        // connection's future, and one more layer to poll.
        if span.is_disabled() {
            return self.serve_io(io, service, stop, spare).await;
        }
        self.serve_io(io, service, stop, spare)
            .instrument(span)
            .await
    }

    async fn serve_io<IO, S>(
        &self,
        io: IO,
        mut service: S,
        mut stop: Option<watch::Receiver<()>>,
        spare: &mut Spare,
    ) -> Result<(), Error>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService,
    {
        // The body is read while the response is written: two halves of one
        // connection, borrowed from it (`tokio::io::split` would allocate them an `Arc`).
        let io = std::sync::Mutex::new(io);
        let codec = ServerCodec::new(self.limits).body_chunk(self.body_chunk);
        // No buffer of its own (capacity 0 allocates nothing): the one the last
        // connection ended with, when the packets split off it are gone (`reserve` takes
        // its memory back then, and allocates a new one while one is alive).
        let mut frames = FramedRead::with_capacity(Half::new(&io), codec, 0);
        std::mem::swap(frames.read_buffer_mut(), &mut spare.read);
        frames.read_buffer_mut().reserve(READ_BUFFER);
        let mut write = Writer {
            io: Half::new(&io),
            buf: &mut spare.write,
        };
        let served = self
            .serve_frames(&mut frames, &mut write, &mut service, &mut stop)
            .await;
        keep(write.buf, WRITE_SPARE_LIMIT);
        std::mem::swap(frames.read_buffer_mut(), &mut spare.read);
        keep(&mut spare.read, READ_SPARE_LIMIT);
        served
    }

    /// Reads request packets off `frames` and answers them, until the connection ends.
    async fn serve_frames<IO, S>(
        &self,
        frames: &mut FramedRead<Half<'_, IO>, ServerCodec>,
        write: &mut Writer<'_, IO>,
        service: &mut S,
        stop: &mut Option<watch::Receiver<()>>,
    ) -> Result<(), Error>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
        S: HttpService,
    {
        let mut first = true;
        loop {
            let next = if first {
                // A request already in (behind nginx, with `TCP_DEFER_ACCEPT`) is read at
                // once, with no deadline: reading the clock for one would cost more than
                // the read (benches/e2e/RESULTS.md).
                let waited = match first_packet(frames).now_or_never() {
                    Some(first) => Ok(first),
                    None => {
                        let deadline = crate::deadline::after(self.head_timeout);
                        let waited = match stop.as_mut() {
                            Some(stop) => tokio::select! {
                                // Bytes already there are read first: they are a request.
                                biased;
                                next = timeout_at(deadline, first_packet(frames)) => Some(next),
                                // Only ever dropped: `changed` fails when the server shuts down.
                                _ = stop.changed() => None,
                            },
                            None => Some(timeout_at(deadline, first_packet(frames)).await),
                        };
                        match waited {
                            Some(next) => next,
                            None if frames.read_buffer().is_empty() => return Ok(()),
                            None => timeout_at(deadline, first_packet(frames)).await,
                        }
                    }
                };
                match waited {
                    Ok(First::Frame(next)) => Ok(next),
                    Ok(First::Foreign { http, diagnosis }) => {
                        tracing::warn!("{diagnosis}");
                        if http {
                            // The client waits for an answer and reads HTTP: say why.
                            let _ = write_text(&mut write.io, 400, &diagnosis, self.write_timeout)
                                .await;
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
                    return Err(self.answer(&mut write.io, Error::HeadTimeout).await);
                }
                Ok(None) => return Ok(()),
                Ok(Some(Err(err))) => {
                    log_diagnosis(frames.read_buffer(), &self.limits);
                    return Err(self.answer(&mut write.io, err.into()).await);
                }
                Ok(Some(Ok(Frame::Head(head)))) => head,
                // A server-side codec starts every exchange with a head.
                Ok(Some(Ok(_))) => return Ok(()),
            };
            match self.exchange(frames, write, service, head).await? {
                // A graceful shutdown: the request in flight was answered, no next one
                // is read.
                Next::Continue
                    if stop
                        .as_ref()
                        .is_some_and(|stop| stop.has_changed().is_err()) =>
                {
                    return Ok(())
                }
                Next::Continue => {}
                Next::Close => return Ok(()),
            }
        }
    }

    /// Answers one packet; says whether the connection can carry another.
    async fn exchange<IO, S>(
        &self,
        frames: &mut FramedRead<Half<'_, IO>, ServerCodec>,
        write: &mut Writer<'_, IO>,
        service: &mut S,
        head: OwnedPacket,
    ) -> Result<Next, Error>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
        S: HttpService,
    {
        let packet = head.packet();
        if packet.modifier1() == Modifier1::PING && packet.modifier2() == 0 {
            skip_to_end(frames).await?;
            let pong = [Modifier1::PING.0, 0, 0, 1];
            write_all(&mut write.io, &pong, self.write_timeout).await?;
            return Ok(Next::Continue);
        }
        let Some(vars) = head
            .owned_vars()
            .filter(|_| packet.modifier1().is_request())
        else {
            tracing::debug!(
                modifier1 = packet.modifier1().0,
                "closing: not a request this server answers"
            );
            return Ok(Next::Close);
        };
        let (request, _client) = match request_without_vars(&vars) {
            Ok(request) => request,
            Err(err) => return Err(self.answer(&mut write.io, err.into()).await),
        };
        // Right after the head, the codec is at the start of the body it announced.
        let body_len = frames.decoder().body_remaining().unwrap_or(0);
        let (tx, body) = RequestBody::channel(body_len);
        let mut request = request.map(|()| body);
        // The one extension: the packet (modifier1, modifier2, and the vars, whose
        // accessors read the client, the scheme, ...: `OwnedPacket::owned_vars`).
        request.extensions_mut().insert(head);
        // axum's `ConnectInfo` extractor reads this extension; absent when the vars name
        // no client (it then rejects with 500, as under `axum::serve` without
        // `into_make_service_with_connect_info`).
        #[cfg(feature = "axum")]
        if let Some(client) = _client {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(client));
        }

        // After tower-http's `TraceLayer`: a `request` span, its status and latency
        // recorded when the response is written. The clock is read only when the span
        // is enabled.
        let span = tracing::debug_span!(
            "request",
            method = %request.method(),
            path = request.uri().path(),
            status = tracing::field::Empty,
            latency = tracing::field::Empty,
        );
        let start = (!span.is_disabled()).then(Instant::now);
        // The body is fed while the service runs *and* while its response is written (a
        // response may stream the request body back), raced against both so neither
        // waits on a body read; its end is read from the connection once all of its bytes
        // were, whether or not the service read them, so a pipelined packet is found.
        let feed = Feed {
            tx,
            left: body_len,
            ended: false,
            stopped: false,
        };
        // As the connection's span (`serve_until`): not wrapped when disabled.
        if span.is_disabled() {
            return self
                .respond(frames, write, service, request, feed, start)
                .await;
        }
        self.respond(frames, write, service, request, feed, start)
            .instrument(span)
            .await
    }

    /// Calls the service with `request`, feeding it its body, and writes its response.
    async fn respond<IO, S>(
        &self,
        frames: &mut FramedRead<Half<'_, IO>, ServerCodec>,
        write: &mut Writer<'_, IO>,
        service: &mut S,
        request: Request<RequestBody>,
        mut feed: Feed,
        start: Option<Instant>,
    ) -> Result<Next, Error>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
        S: HttpService,
    {
        if let Err(err) = poll_fn(|cx| service.__poll_ready(cx)).await {
            return Err(self.answer(&mut write.io, Error::Service(err.into())).await);
        }
        // Pinned here and lent to `feeding`: an async fn that took the future by value
        // would hold it twice in its state (the argument, then its pinned copy). In a
        // block of its own, so that its storage ends before the response writer's
        // begins: they share their bytes in this future's state.
        let called = {
            let call = std::pin::pin!(service.__call(request));
            self.feeding(frames, &mut feed, call).await
        };
        let response = match called {
            Ok(response) => response,
            Err(err) => return Err(self.answer(&mut write.io, Error::Service(err.into())).await),
        };
        let status = response.status().as_u16();
        let delimited = {
            let written = std::pin::pin!(write_response(write, response, self.write_timeout));
            self.feeding(frames, &mut feed, written).await?
        };
        write.io.flush().await?;
        if let Some(start) = start {
            let latency = start.elapsed();
            let span = tracing::Span::current();
            span.record("status", status);
            span.record("latency", tracing::field::debug(latency));
            tracing::debug!(status, ?latency, "finished processing request");
        }
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

    /// Answers `err` with its status, when it has one (nothing was written yet), and
    /// gives it back.
    async fn answer<W: AsyncWrite + Unpin>(&self, write: &mut W, err: Error) -> Error {
        if let Some(code) = err.status_code() {
            // Inside a `request` span (a failed service), its status.
            tracing::Span::current().record("status", code);
            let _ = write_status(write, code, self.write_timeout).await;
        }
        err
    }

    /// Runs `task` (the service's call, then the writing of its response) while
    /// feeding it the request body, one chunk at a time as it makes room for them.
    async fn feeding<R, F>(
        &self,
        frames: &mut FramedRead<R, ServerCodec>,
        feed: &mut Feed,
        mut task: std::pin::Pin<&mut F>,
    ) -> F::Output
    where
        R: AsyncRead + Unpin,
        F: std::future::Future,
    {
        loop {
            tokio::select! {
                // In this order, not a random one: no random number per poll, and the
                // task cannot starve (it is polled first on every turn).
                biased;
                output = task.as_mut() => return output,
                () = feed.step(frames, self.body_timeout) => {}
            }
        }
    }
}

/// The request body on its way from the connection to the service.
struct Feed {
    /// The service's end of the body; `None` once it is done with it.
    tx: Option<mpsc::Sender<Result<Bytes, Error>>>,
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
                self.left = self.left.saturating_sub(to_u64(chunk.len()));
                permit.send(Ok(chunk));
                return;
            }
            Ok(Some(Ok(Frame::End))) => {
                self.ended = true;
                return;
            }
            Ok(Some(Err(err))) => Error::BodyIncomplete(Some(err)),
            // A head inside the body, or the end of the frames: not a whole body.
            Ok(Some(Ok(_)) | None) => Error::BodyIncomplete(None),
            Err(_) => Error::BodyTimeout,
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
) -> Result<(), Error> {
    while let Some(frame) = frames.next().await {
        if let Frame::End = frame? {
            break;
        }
    }
    Ok(())
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

/// The read buffer a connection starts with: tokio-util's default 8 KiB.
const READ_BUFFER: usize = 8 * 1024;

/// A read buffer kept for the next connection only up to this size (a connection that
/// streamed a large body may have grown its own).
const READ_SPARE_LIMIT: usize = 16 * 1024;

/// A write buffer kept up to this size: one that gathered a whole `WRITE_BUFFER`.
const WRITE_SPARE_LIMIT: usize = 128 * 1024;

/// The buffers a connection ended with, for the next one: [`serve`](super::serve) hands
/// those of a connection served inline straight to the next; one run as a task (or by
/// `serve_connection`) leaves them to its thread ([`Spare::leave_to_thread`]). So a
/// connection allocates neither (a `malloc` and a `free` each per request otherwise).
/// A connection's packets are slices of its read buffer ([`OwnedPacket`]): the next
/// connection reads into the same memory only once the last of them is dropped.
#[derive(Default)]
pub(super) struct Spare {
    read: BytesMut,
    write: BytesMut,
}

thread_local! {
    /// The buffers the last connection that ended on this thread as a task left.
    static SPARE: std::cell::Cell<Option<Spare>> = const { std::cell::Cell::new(None) };
}

impl Spare {
    /// The buffers the last task on this thread left, or new (empty) ones.
    pub(super) fn from_thread() -> Self {
        SPARE
            .try_with(std::cell::Cell::take)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Leaves these buffers to the next connection on this thread.
    pub(super) fn leave_to_thread(self) {
        let _ = SPARE.try_with(|spare| spare.set(Some(self)));
    }
}

/// Empties `buf` for the next connection; frees it when it grew past `limit`.
fn keep(buf: &mut BytesMut, limit: usize) {
    if buf.capacity() > limit {
        *buf = BytesMut::new();
    } else {
        buf.clear();
    }
}
