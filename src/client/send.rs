//! One exchange of the client driver: the request packet and its body out, the response
//! head in, its body handed over as a [`ResponseBody`].

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::time::Duration;

use bytes::{Buf, Bytes};
use futures_util::{Stream, StreamExt};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{Extensions, HeaderMap, Method, Request, Response};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::time::{timeout, Sleep};
use tokio_util::codec::FramedRead;

use crate::cgi::{self, response_from_head, BoxError};
use crate::codec::{ClientCodec, Frame, ReplyHead, DEFAULT_BODY_CHUNK};
use crate::deadline::within;
use crate::exchange::Reply;
use crate::io::StreamError;
use crate::wire::convert::to_u64;
use crate::wire::packet::{Packet, Payload};

use super::body::ResponseBody;
use super::builder::Builder;
use super::error::{is_cut, Error, ErrorKind};

impl Builder {
    /// Sends `request` on `io` and returns the response as soon as its head is parsed,
    /// its body streaming from the connection ([`ResponseBody`]). One request per
    /// connection, as uWSGI and gunicorn answer one and close.
    ///
    /// - **Vars**: as nginx's `uwsgi_params` (see [`params`](Builder::params)).
    ///   `CONTENT_LENGTH` is the request's `Content-Length` header, else the body's
    ///   exact [`size_hint`](http_body::Body::size_hint); a body of unknown length is
    ///   read first, up to [`max_request_body`](Builder::max_request_body), to learn it
    ///   (nginx de-chunks a request the same way). A `Transfer-Encoding` header is not
    ///   sent: the body sent is exactly `CONTENT_LENGTH` bytes.
    /// - **Body**: streamed after the packet, one chunk at a time as the server takes
    ///   them (back-pressure both ways), while the response is read. The response is
    ///   returned as soon as its head is in, and the rest of the body goes on being
    ///   sent in a task of its own (a server that answers as it reads, an echo, needs
    ///   it; one that answered early, a 413, and closed makes the next write fail,
    ///   which ends it; every write is bounded by the body timeout). A body that fails,
    ///   or yields more or fewer bytes than `CONTENT_LENGTH`, is
    ///   [`ErrorKind::RequestBody`]; vars whose `CONTENT_LENGTH` (a param set by hand)
    ///   is not the body's length are [`ErrorKind::Request`].
    /// - **Response**: the status, version and headers as sent (repeated ones kept),
    ///   read by the same conversion as [`cgi::parse_response_head`] (a CGI head's first
    ///   `Status` line gives the status and is not a header); the head's raw bytes
    ///   (reason phrase included) are in the response's extensions as an
    ///   [`OwnedResponseHead`](crate::owned::OwnedResponseHead). Its body is read up to
    ///   [`Limits::max_body`](crate::Limits) ([`limits`](Builder::limits)).
    ///
    /// ```
    /// use http_body_util::{BodyExt, Full};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (client, mut server) = tokio::io::duplex(64 * 1024);
    /// // A tiny uwsgi server: read the packet and its 5 body bytes, answer.
    /// tokio::spawn(async move {
    ///     let mut header = [0u8; 4];
    ///     server.read_exact(&mut header).await?;
    ///     let mut block = vec![0u8; usize::from(u16::from_le_bytes([header[1], header[2]])) + 5];
    ///     server.read_exact(&mut block).await?;
    ///     assert!(block.ends_with(b"hello"));
    ///     server.write_all(b"HTTP/1.1 201 Created\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\nok").await
    /// });
    ///
    /// let request = http::Request::post("/upload").body(Full::new(bytes::Bytes::from("hello")))?;
    /// let response = uwsgi_wire::client::Builder::new().send_request(client, request).await?;
    /// assert_eq!(response.status(), 201);
    /// assert_eq!(response.headers().get_all("set-cookie").iter().count(), 2);
    /// let body = response.into_body().collect().await?.to_bytes();
    /// assert_eq!(&body[..], b"ok");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_request<IO, B>(
        &self,
        io: IO,
        request: Request<B>,
    ) -> Result<Response<ResponseBody>, Error>
    where
        IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
        B: http_body::Body<Data: Send, Error: Into<BoxError>> + Send + 'static,
    {
        self.send_on(io, request, pin!(None)).await
    }

    /// [`send_request`](Builder::send_request) with `timer` for its waits (see
    /// `within`): the one [`Client`](super::Client) connected with.
    pub(super) async fn send_on<IO, B>(
        &self,
        io: IO,
        request: Request<B>,
        timer: Pin<&mut Option<Sleep>>,
    ) -> Result<Response<ResponseBody>, Error>
    where
        IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
        B: http_body::Body<Data: Send, Error: Into<BoxError>> + Send + 'static,
    {
        let (mut parts, body) = request.into_parts();
        let (announced, transfer_encoding) = content_length(&parts.headers)?;
        let ended = body.is_end_stream();
        let hint = if ended {
            Some(0)
        } else {
            body.size_hint().exact()
        };
        let (length, source) = match (announced, hint) {
            (Some(len), Some(exact)) if len != exact => {
                return Err(Error::new(
                    ErrorKind::RequestBody,
                    format!("the request's Content-Length is {len} but its body is {exact} bytes"),
                ))
            }
            // Nothing to send (a GET): no body to keep, nor to box to poll it.
            _ if ended => (0, Source::Buffered(VecDeque::new())),
            (Some(len), _) | (None, Some(len)) => (len, Source::Stream(Box::pin(body))),
            (None, None) => {
                let mut body = Box::pin(body);
                let chunks = buffer(&mut body, self.max_request_body, self.body_timeout).await?;
                let len = chunks.iter().map(|c| to_u64(c.len())).sum();
                (len, Source::Buffered(chunks))
            }
        };
        if transfer_encoding {
            parts.headers.remove(TRANSFER_ENCODING);
        }
        let head_request = parts.method == Method::HEAD;
        let mut request = Request::from_parts(parts, ());
        let wire = self.encode(&request, announced.is_none(), length)?;
        // The request's extensions, emptied, become the response's: the map the
        // request's `RequestParams` allocated holds the response's head, where a new
        // one would be allocated for it (and the old one freed).
        let mut extensions = std::mem::take(request.extensions_mut());
        extensions.clear();
        // And its header map, emptied, the response's (its room kept).
        let mut headers = std::mem::take(request.headers_mut());
        headers.clear();
        let reused = Reused {
            head_request,
            extensions,
            headers,
        };
        tracing::debug!(
            method = %request.method(),
            uri = %request.uri(),
            content_length = length,
            "sending a uwsgi request"
        );
        let response = self.exchange(io, wire, source, length, timer, reused).await;
        match &response {
            Ok(response) => {
                tracing::debug!(status = response.status().as_u16(), "uwsgi response head")
            }
            Err(err) => tracing::debug!(error = %err, "uwsgi request failed"),
        }
        response
    }

    /// The request packet: the vars, `CONTENT_LENGTH` set to `length` when no header
    /// said it.
    fn encode(
        &self,
        request: &Request<()>,
        set_length: bool,
        length: u64,
    ) -> Result<Vec<u8>, Error> {
        let set = (set_length && length > 0).then(|| length.to_string());
        let vars = self
            .params
            .vars_with(request, set.as_deref().map(str::as_bytes))
            .map_err(|err| {
                let status = match &err {
                    cgi::Error::Encode(_) => 500,
                    _ => 400,
                };
                Error::new(
                    ErrorKind::Request,
                    format!("cannot encode the request: {err}"),
                )
                .with_status(status)
                .with_source(err)
            })?;
        // The bytes sent after the packet are `length`: vars that say otherwise (a
        // `CONTENT_LENGTH` param set or removed by hand) would make the server read the
        // body as the next packet. Unset by hand, it is the Content-Length header (checked
        // to be `length`), `set`, or empty for no body: nothing to read back.
        let said = if self.params.edits(request, b"CONTENT_LENGTH") {
            vars.vars().content_length().ok().flatten().unwrap_or(0)
        } else {
            length
        };
        if said != length {
            return Err(Error::new(
                ErrorKind::Request,
                format!(
                    "cannot encode the request: its vars say CONTENT_LENGTH {said} but its body is {length} bytes"
                ),
            ));
        }
        let max = usize::from(self.limits.max_datasize);
        if vars.as_bytes().len() > max {
            return Err(Error::new(
                ErrorKind::Request,
                format!(
                    "cannot encode the request: vars of {} bytes are over the limit of {max}",
                    vars.as_bytes().len()
                ),
            ));
        }
        let too_large = |err: crate::EncodeError| {
            Error::new(
                ErrorKind::Request,
                format!("cannot encode the request: {err}"),
            )
            .with_source(err)
        };
        let header = Packet::new(self.modifier1, 0, Payload::Vars(vars.vars()))
            .map_err(too_large)?
            .header()
            .to_bytes();
        // The header in front of the block, in the room `vars_with` left: no copy of
        // the vars into a buffer of the packet's own.
        let mut wire = vars.into_block();
        let len = wire.len();
        wire.extend_from_slice(&header);
        wire.copy_within(..len, header.len());
        wire[..header.len()].copy_from_slice(&header);
        Ok(wire)
    }

    /// Writes the request while reading the response head; returns the response.
    async fn exchange<IO, B>(
        &self,
        io: IO,
        wire: Vec<u8>,
        mut source: Source<B>,
        length: u64,
        mut timer: Pin<&mut Option<Sleep>>,
        reused: Reused,
    ) -> Result<Response<ResponseBody>, Error>
    where
        IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
        B: http_body::Body<Data: Send, Error: Into<BoxError>> + Send + 'static,
    {
        let mut codec = ClientCodec::new(self.limits).max_head(self.max_head);
        codec.expect(Reply::Response {
            head_request: reused.head_request,
        });
        let idle = self.body_timeout;
        if length == 0 && source.is_end() {
            // No body, the usual GET: the packet is all there is to send, so it is
            // written before the head is read, on the connection itself: no halves
            // sharing it behind a lock, no task, no second future to poll.
            let mut frames = FramedRead::new(io, codec);
            let sent = send_all(frames.get_mut(), wire, &mut source, 0, idle, timer.as_mut());
            let write_failed = match sent.await {
                Ok(()) => None,
                Err(sent) => Some(self.sent_failed(sent)?),
            };
            let next = self.head(frames.next(), timer).await?;
            return self.respond(next, write_failed, frames, reused);
        }

        let (read, write) = tokio::io::split(io);
        let mut frames = FramedRead::new(read, codec);
        // Owned, so that it can go on in a task of its own when the head comes first.
        let mut send = Box::pin(async move {
            let mut write = write;
            send_all(&mut write, wire, &mut source, length, idle, pin!(None)).await
        });
        let mut write_failed = None;
        let next = tokio::select! {
            next = frames.next() => Some(next),
            sent = &mut send => {
                if let Err(sent) = sent {
                    write_failed = Some(self.sent_failed(sent)?);
                }
                None
            }
        };
        let next = match next {
            Some(next) => {
                // The head came before the whole body went out: a server that
                // answers as it reads (an echo, a streaming app) still needs the
                // rest, or both sides wait. Every write stays bounded by the idle
                // timeout; a server that answered early and closed makes the next
                // one fail, which ends the task.
                tokio::spawn(async move {
                    match send.await {
                        Ok(()) => {}
                        Err(Sent::Body(err)) => {
                            tracing::debug!(error = %err, "the rest of the request body was not sent")
                        }
                        Err(Sent::Write(err)) => {
                            tracing::debug!(error = %err, "the rest of the request body was not sent")
                        }
                        Err(Sent::Timeout) => tracing::debug!(
                            "the rest of the request body was not sent: the server took no bytes"
                        ),
                    }
                });
                next
            }
            None => self.head(frames.next(), timer).await?,
        };
        self.respond(next, write_failed, frames, reused)
    }

    /// What a failure to send the whole request means: the request body's fault or a
    /// stalled server ends the exchange; a failed write (the server may have answered
    /// and closed) leaves the answer to be read, and is returned.
    fn sent_failed(&self, sent: Sent) -> Result<io::Error, Error> {
        match sent {
            Sent::Body(err) => Err(err),
            Sent::Write(err) => Ok(err),
            Sent::Timeout => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "the server took no request bytes within the body timeout of {:?}",
                    self.body_timeout
                ),
            )),
        }
    }

    /// The response head's frame, within the head timeout from now (the whole request
    /// written).
    async fn head<F: Future>(
        &self,
        next: F,
        timer: Pin<&mut Option<Sleep>>,
    ) -> Result<F::Output, Error> {
        within(timer, self.head_timeout, next).await.ok_or_else(|| {
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "no response head within the head timeout of {:?}",
                    self.head_timeout
                ),
            )
        })
    }

    /// The response from the first frame read, its body streaming from `frames`.
    fn respond<S>(
        &self,
        next: Option<Result<Frame<ReplyHead>, StreamError>>,
        write_failed: Option<io::Error>,
        frames: S,
        reused: Reused,
    ) -> Result<Response<ResponseBody>, Error>
    where
        S: Stream<Item = Result<Frame<ReplyHead>, StreamError>> + Send + Unpin + 'static,
    {
        let head = match next {
            Some(Ok(Frame::Head(ReplyHead::Response(head)))) => head,
            Some(Ok(_)) => {
                return Err(Error::new(
                    ErrorKind::MalformedHead,
                    "invalid response head: not an HTTP response",
                ))
            }
            Some(Err(err)) => {
                let err = Error::head(err);
                return Err(match write_failed {
                    Some(write) if err.kind() == ErrorKind::Closed => Error::new(
                        ErrorKind::Closed,
                        format!("{err} (writing the request failed: {write})"),
                    )
                    .with_source(err),
                    _ => err,
                });
            }
            None => {
                return Err(Error::new(
                    ErrorKind::Closed,
                    "the server closed the connection before the response head",
                ))
            }
        };
        let Reused {
            mut extensions,
            headers,
            ..
        } = reused;
        let mut response =
            response_from_head(&head.head(), Some(&head.wire), headers).map_err(|err| {
                Error::new(ErrorKind::MalformedHead, err.to_string()).with_source(err)
            })?;
        let remaining = head.body().exact();
        extensions.insert(head);
        *response.extensions_mut() = extensions;
        let body = ResponseBody::streaming(frames, remaining, self.body_timeout);
        Ok(response.map(|()| body))
    }
}

/// What the response takes over from its request: whether it answers a HEAD, and the
/// request's extension and header maps, emptied, for their allocations.
struct Reused {
    head_request: bool,
    extensions: Extensions,
    headers: HeaderMap,
}

/// The request's `Content-Length` (digits only; repeated, every one the same), and
/// whether it has a `Transfer-Encoding` header: one walk of the few headers.
fn content_length(headers: &HeaderMap) -> Result<(Option<u64>, bool), Error> {
    let mut length = None;
    let mut transfer_encoding = false;
    for (name, value) in headers {
        if *name == TRANSFER_ENCODING {
            transfer_encoding = true;
        }
        if *name != CONTENT_LENGTH {
            continue;
        }
        let bytes = value.as_bytes();
        let parsed = (!bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit))
            .then(|| std::str::from_utf8(bytes).ok()?.parse::<u64>().ok())
            .flatten();
        let invalid = || {
            Error::new(
                ErrorKind::RequestBody,
                format!(
                    "invalid request Content-Length {:?}",
                    String::from_utf8_lossy(bytes)
                ),
            )
        };
        let parsed = parsed.ok_or_else(invalid)?;
        if length.is_some_and(|len| len != parsed) {
            return Err(invalid());
        }
        length = Some(parsed);
    }
    Ok((length, transfer_encoding))
}

/// Where the request body's bytes come from.
enum Source<B> {
    /// The body itself, of known length.
    Stream(Pin<Box<B>>),
    /// A body of unknown length, read ahead to learn it.
    Buffered(VecDeque<Bytes>),
}

impl<B: http_body::Body<Error: Into<BoxError>>> Source<B> {
    async fn next(&mut self) -> Option<Result<Bytes, BoxError>> {
        match self {
            Source::Stream(body) => next_data(body).await,
            Source::Buffered(chunks) => chunks.pop_front().map(Ok),
        }
    }

    fn is_end(&self) -> bool {
        match self {
            Source::Stream(body) => body.is_end_stream(),
            Source::Buffered(chunks) => chunks.is_empty(),
        }
    }
}

/// The body's next non-empty data chunk (trailers are skipped: uwsgi has none).
async fn next_data<B>(body: &mut Pin<Box<B>>) -> Option<Result<Bytes, BoxError>>
where
    B: http_body::Body<Error: Into<BoxError>>,
{
    loop {
        match poll_fn(|cx| body.as_mut().poll_frame(cx)).await? {
            Err(err) => return Some(Err(err.into())),
            Ok(frame) => {
                if let Ok(mut data) = frame.into_data() {
                    if data.has_remaining() {
                        return Some(Ok(data.copy_to_bytes(data.remaining())));
                    }
                }
            }
        }
    }
}

/// Reads a body of unknown length whole, up to `limit` bytes.
async fn buffer<B>(
    body: &mut Pin<Box<B>>,
    limit: u64,
    idle: Duration,
) -> Result<VecDeque<Bytes>, Error>
where
    B: http_body::Body<Error: Into<BoxError>>,
{
    let mut chunks = VecDeque::new();
    let mut total = 0u64;
    while !body.is_end_stream() {
        match timeout(idle, next_data(body)).await {
            Err(_) => return Err(body_stalled(idle)),
            Ok(None) => break,
            Ok(Some(Err(err))) => return Err(body_failed(err)),
            Ok(Some(Ok(chunk))) => {
                total = total.saturating_add(to_u64(chunk.len()));
                if total > limit {
                    return Err(Error::new(
                        ErrorKind::RequestBody,
                        format!("the request body of unknown length is over the {limit}-byte limit to buffer it"),
                    )
                    .with_status(413));
                }
                chunks.push_back(chunk);
            }
        }
    }
    Ok(chunks)
}

fn body_stalled(idle: Duration) -> Error {
    Error::new(
        ErrorKind::RequestBody,
        format!("the request body yielded no bytes within the body timeout of {idle:?}"),
    )
    .with_status(408)
}

fn body_failed(err: BoxError) -> Error {
    Error::new(
        ErrorKind::RequestBody,
        format!("the request body failed: {err}"),
    )
    .with_source(err)
}

/// Why sending the request stopped.
enum Sent {
    /// The request body is at fault: give up.
    Body(Error),
    /// The connection failed: the server may have answered before closing it.
    Write(io::Error),
    /// The server took no bytes within the body timeout.
    Timeout,
}

/// Writes the packet, then exactly `length` body bytes from `source`, each wait on
/// `timer` (see `within`).
async fn send_all<W, B>(
    write: &mut W,
    wire: Vec<u8>,
    source: &mut Source<B>,
    length: u64,
    idle: Duration,
    mut timer: Pin<&mut Option<Sleep>>,
) -> Result<(), Sent>
where
    W: AsyncWrite + Unpin,
    B: http_body::Body<Error: Into<BoxError>>,
{
    write_bounded(write, &wire, idle, timer.as_mut()).await?;
    let mut left = length;
    while left > 0 {
        let chunk = match within(timer.as_mut(), idle, source.next()).await {
            None => return Err(Sent::Body(body_stalled(idle))),
            Some(None) => {
                return Err(Sent::Body(Error::new(
                    ErrorKind::RequestBody,
                    format!("the request body ended {left} bytes short of its length of {length}"),
                )))
            }
            Some(Some(Err(err))) => return Err(Sent::Body(body_failed(err))),
            Some(Some(Ok(chunk))) => chunk,
        };
        let len = to_u64(chunk.len());
        if len > left {
            return Err(Sent::Body(longer(length)));
        }
        left -= len;
        write_bounded(write, &chunk, idle, timer.as_mut()).await?;
    }
    if !source.is_end() {
        // A body that still yields bytes is longer than it said.
        if let Some(Some(Ok(_))) = within(timer.as_mut(), idle, source.next()).await {
            return Err(Sent::Body(longer(length)));
        }
    }
    match within(timer, idle, write.flush()).await {
        Some(Ok(())) => Ok(()),
        Some(Err(err)) => Err(Sent::Write(err)),
        None => Err(Sent::Timeout),
    }
}

fn longer(length: u64) -> Error {
    Error::new(
        ErrorKind::RequestBody,
        format!("the request body is longer than its length of {length}"),
    )
}

/// Writes `bytes` in slices of at most one body chunk, each within `idle`.
async fn write_bounded<W: AsyncWrite + Unpin>(
    write: &mut W,
    bytes: &[u8],
    idle: Duration,
    mut timer: Pin<&mut Option<Sleep>>,
) -> Result<(), Sent> {
    for slice in bytes.chunks(DEFAULT_BODY_CHUNK) {
        match within(timer.as_mut(), idle, write.write_all(slice)).await {
            Some(Ok(())) => {}
            Some(Err(err)) => {
                if !is_cut(&err) {
                    tracing::debug!(error = %err, "writing the uwsgi request failed");
                }
                return Err(Sent::Write(err));
            }
            None => return Err(Sent::Timeout),
        }
    }
    Ok(())
}
