//! Why a request through the client driver failed, and what a gateway answers for it.

use std::fmt;
use std::io;

use crate::exchange::{ExchangeErrorKind, HeadErrorKind};
use crate::io::StreamError;

/// Why [`send_request`](super::send_request), [`connect`](super::Builder::connect) or a
/// [`ResponseBody`](super::ResponseBody) failed: a [`kind`](Error::kind) to match on, a
/// one-line [`Display`](fmt::Display) naming what failed and why, and the
/// [`status_code`](Error::status_code) a gateway answers its own client with.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use uwsgi_wire::client::{Builder, ErrorKind};
///
/// // Nothing listens on port 1.
/// let err = Builder::new().connect("127.0.0.1:1").await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Connect);
/// assert_eq!(err.status_code(), 502);
/// assert!(err.to_string().starts_with("connecting to 127.0.0.1:1: "), "{err}");
/// # }
/// ```
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    status: u16,
    message: String,
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
    /// No end of the response head within [`Limits::max_head`](crate::Limits) bytes
    /// (nginx: "upstream sent too big header", 502).
    HeadTooLarge,
    /// A wait took longer than its timeout: connecting, the server reading the request,
    /// the response head, the next body bytes (504).
    Timeout,
    /// The connection ended before the last byte of a body of known length (after
    /// the head was returned: the last frame of the [`ResponseBody`](super::ResponseBody)).
    BodyCutShort,
    /// The request body failed, did not match its length, or (a body of unknown length)
    /// was over the limit to buffer it (400; 413 for that limit).
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
        }
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
                let kind = match err.kind() {
                    ExchangeErrorKind::Head(head) => match head.kind() {
                        HeadErrorKind::TooLarge { .. } => ErrorKind::HeadTooLarge,
                        _ => ErrorKind::MalformedHead,
                    },
                    _ if err.is_eof() => ErrorKind::Closed,
                    _ => ErrorKind::MalformedHead,
                };
                let what = if kind == ErrorKind::Closed {
                    "the server closed the connection before the response head"
                } else {
                    "invalid response head"
                };
                Error::new(kind, format!("{what}: {err}"))
            }
            StreamError::Io(err) if is_cut(&err) => Error::new(
                ErrorKind::Closed,
                format!("the server closed the connection before the response head: {err}"),
            ),
            err => Error::new(ErrorKind::Io, format!("reading the response head: {err}")),
        }
    }

    /// A failure reading the response body from the connection.
    pub(crate) fn body(err: StreamError) -> Self {
        match err {
            StreamError::Exchange(err) if err.is_eof() => Error::new(
                ErrorKind::BodyCutShort,
                format!("response body cut short: {err}"),
            ),
            StreamError::Io(err) if is_cut(&err) => Error::new(
                ErrorKind::BodyCutShort,
                format!("response body cut short: {err}"),
            ),
            err => Error::new(ErrorKind::Io, format!("reading the response body: {err}")),
        }
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

    /// The HTTP status a gateway answers its client with: 504 for a
    /// [`Timeout`](ErrorKind::Timeout), 400 for a failed request body (413 for one over
    /// the limit to buffer it), 400 or 500 for a request that cannot be encoded (a bad
    /// path; vars over 65535 bytes), 502 for everything else (nginx's "Bad Gateway").
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = uwsgi_wire::client::Builder::new().connect("127.0.0.1:1").await.unwrap_err();
    /// assert_eq!(err.status_code(), 502);
    /// # }
    /// ```
    pub fn status_code(&self) -> u16 {
        self.status
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The cause is part of the one-line message; `source` is `None`.
impl std::error::Error for Error {}

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
