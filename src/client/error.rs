//! Why a request through the client driver failed, and what a gateway answers for it.

use std::fmt;
use std::io;

use crate::cgi::BoxError;
use crate::exchange::{ExchangeErrorKind, HeadErrorKind};
use crate::io::StreamError;

/// Why [`Client::send`](super::Client::send), [`send_request`](super::Builder::send_request),
/// [`connect`](super::Builder::connect) or a [`ResponseBody`](super::ResponseBody)
/// failed: a [`kind`](Error::kind) to match on, a one-line [`Display`](fmt::Display)
/// naming what failed and why, the [`status_code`](Error::status_code) a gateway
/// answers its own client with, and the error it wraps as its
/// [`source`](std::error::Error::source): the [`io::Error`] of a connect, the
/// [`StreamError`](crate::io::StreamError) of a read, the [`cgi::Error`](crate::cgi::Error)
/// of a request that cannot be encoded or a head an `http::Response` cannot hold, the
/// request body's own error.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use uwsgi_wire::client::{Builder, ErrorKind};
///
/// // Nothing listens on port 1.
/// let err = Builder::new().connect("127.0.0.1:1").await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Connect);
/// assert_eq!(err.status_code(), Some(502));
/// assert!(err.to_string().starts_with("connecting to 127.0.0.1:1: "), "{err}");
/// let source = std::error::Error::source(&err).unwrap();
/// assert!(source.downcast_ref::<std::io::Error>().is_some());
/// # }
/// ```
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    status: u16,
    /// The whole one-line message, the cause's text included.
    message: String,
    source: Option<BoxError>,
}

/// What kind of failure an [`Error`] is. New kinds may be added in minor releases.
///
/// ```
/// use uwsgi_wire::client::ErrorKind;
/// assert_ne!(ErrorKind::Closed, ErrorKind::BodyCutShort);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The connection could not be made: refused, no such socket file, a name that
    /// does not resolve (502).
    Connect,
    /// The server closed the connection (or reset it) before the whole response head
    /// arrived, as uWSGI does for a request it refuses (502).
    Closed,
    /// The response head is not one nginx's uwsgi module accepts, or one an
    /// `http::Response` cannot hold (502).
    MalformedHead,
    /// No end of the response head within [`Builder::max_head`](super::Builder::max_head) bytes
    /// (nginx: "upstream sent too big header", 502).
    HeadTooLarge,
    /// The response body is longer than [`Limits::max_body`](crate::Limits): refused
    /// at the head when its `Content-Length` says so, else as soon as it passes the
    /// limit (502).
    BodyTooLarge,
    /// A wait took longer than its timeout: connecting, the server reading the request,
    /// the response head, the next body bytes (504).
    Timeout,
    /// The connection ended before the last byte of a body of known length (after
    /// the head was returned: the last frame of the [`ResponseBody`](super::ResponseBody)).
    BodyCutShort,
    /// The request body failed, did not match its length, or (a body of unknown length)
    /// was over [`max_request_body`](super::Builder::max_request_body), the limit to
    /// buffer it (400; 413 for that limit, 408 when it stalled).
    RequestBody,
    /// The request cannot be encoded as uwsgi vars: a path nginx refuses (400), vars
    /// over the 65535-byte block (500, as nginx answers).
    Request,
    /// Any other I/O failure of the connection (502).
    Io,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let status = match kind {
            ErrorKind::Timeout => 504,
            ErrorKind::RequestBody => 400,
            ErrorKind::Request => 500,
            _ => 502,
        };
        Error {
            kind,
            status,
            message: message.into(),
            source: None,
        }
    }

    /// The same error, caused by `source`.
    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The same error, answered with `status` instead of its kind's.
    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// A failure reading the response head from the connection.
    pub(crate) fn head(err: StreamError) -> Self {
        match err {
            StreamError::Exchange(err) => {
                let (kind, what) = match err.kind() {
                    ExchangeErrorKind::Head(HeadErrorKind::TooLarge { .. }) => {
                        (ErrorKind::HeadTooLarge, "invalid response head")
                    }
                    ExchangeErrorKind::Head(_) => {
                        (ErrorKind::MalformedHead, "invalid response head")
                    }
                    ExchangeErrorKind::BodyTooLarge { .. } => {
                        (ErrorKind::BodyTooLarge, "response body too large")
                    }
                    _ if err.is_eof() => (
                        ErrorKind::Closed,
                        "the server closed the connection before the response head",
                    ),
                    _ => (ErrorKind::MalformedHead, "invalid response head"),
                };
                Error::new(kind, format!("{what}: {err}")).with_source(StreamError::Exchange(err))
            }
            StreamError::Io(err) if is_cut(&err) => Error::new(
                ErrorKind::Closed,
                format!("the server closed the connection before the response head: {err}"),
            )
            .with_source(StreamError::Io(err)),
            err => Error::new(ErrorKind::Io, format!("reading the response head: {err}"))
                .with_source(err),
        }
    }

    /// A failure reading the response body from the connection.
    pub(crate) fn body(err: StreamError) -> Self {
        let (kind, what) = match &err {
            StreamError::Exchange(e) if e.is_eof() => {
                (ErrorKind::BodyCutShort, "response body cut short")
            }
            StreamError::Io(e) if is_cut(e) => (ErrorKind::BodyCutShort, "response body cut short"),
            StreamError::Exchange(e)
                if matches!(e.kind(), ExchangeErrorKind::BodyTooLarge { .. }) =>
            {
                (ErrorKind::BodyTooLarge, "response body too large")
            }
            _ => (ErrorKind::Io, "reading the response body"),
        };
        Error::new(kind, format!("{what}: {err}")).with_source(err)
    }

    /// What kind of failure this is.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = uwsgi_wire::client::Builder::new().connect("unix:/nonexistent/app.sock").await.unwrap_err();
    /// assert_eq!(err.kind(), uwsgi_wire::client::ErrorKind::Connect);
    /// # }
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status a gateway answers its client with, always `Some`: 504 for a
    /// [`Timeout`](ErrorKind::Timeout), 400 for a failed request body (413 for one over
    /// the limit to buffer it, 408 for one that stalled), 400 or 500 for a request that
    /// cannot be encoded (a bad path; vars over 65535 bytes), 502 for everything else
    /// (nginx's "Bad Gateway").
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = uwsgi_wire::client::Builder::new().connect("127.0.0.1:1").await.unwrap_err();
    /// assert_eq!(err.status_code(), Some(502));
    /// # }
    /// ```
    pub fn status_code(&self) -> Option<u16> {
        Some(self.status)
    }
}

/// Why [`Client::try_send`](super::Client::try_send) failed: the [`Error`], and the
/// request itself when none of it was sent (the connection could not be made), so that
/// it can go to another server, as hyper's `TrySendError` gives it back.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // Nothing listens on port 1: the request comes back, to send elsewhere.
/// let client = uwsgi_wire::client::Builder::new().build("127.0.0.1:1");
/// let request = http::Request::get("/").body(http_body_util::Empty::<bytes::Bytes>::new()).unwrap();
/// let mut err = client.try_send(request).await.unwrap_err();
/// assert_eq!(err.error().kind(), uwsgi_wire::client::ErrorKind::Connect);
/// assert_eq!(err.take_message().unwrap().uri(), "/");
/// # }
/// ```
#[derive(Debug)]
pub struct TrySendError<T> {
    pub(super) error: Error,
    pub(super) message: Option<T>,
}

impl<T> TrySendError<T> {
    /// Why it failed.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// Why it failed, the request dropped.
    pub fn into_error(self) -> Error {
        self.error
    }

    /// The request, when none of it was sent; `None` once taken, or when some of it
    /// may have reached the server (retrying it elsewhere could run it twice).
    pub fn take_message(&mut self) -> Option<T> {
        self.message.take()
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl<T: fmt::Debug> std::error::Error for TrySendError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The one-line message names the cause too; `source` is the cause itself.
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|err| err as &(dyn std::error::Error + 'static))
    }
}

/// True for the I/O errors of a peer that went away.
pub(crate) fn is_cut(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}
