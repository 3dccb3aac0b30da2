//! The server driver's one error type.

use std::io;

use crate::cgi::{self, BoxError};
use crate::io::StreamError;

/// Why serving a connection stopped early, or why a [`RequestBody`](super::RequestBody)
/// could not be read to its end: the driver's one error type. Every one is also logged
/// through `tracing`.
///
/// ```
/// let err = uwsgi_wire::server::Error::HeadTimeout;
/// assert_eq!(err.to_string(), "timed out reading the request packet");
/// assert_eq!(err.status_code(), Some(408));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request packet did not frame: malformed, over a limit (its body's announced
    /// length included), or cut short (answered with its status when one fits: 400,
    /// 413, 431).
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// The request packet did not arrive within the
    /// [`head_timeout`](super::Builder::head_timeout) (answered with 408).
    #[error("timed out reading the request packet")]
    HeadTimeout,
    /// No request body bytes arrived within the
    /// [`body_timeout`](super::Builder::body_timeout): the last frame of the service's
    /// [`RequestBody`](super::RequestBody).
    #[error("no body bytes arrived within the body timeout")]
    BodyTimeout,
    /// The front end did not take a write of the response within the
    /// [`write_timeout`](super::Builder::write_timeout).
    #[error("timed out writing the response")]
    WriteTimeout,
    /// The connection ended (or failed) before the last byte of the request body: the
    /// last frame of the service's [`RequestBody`](super::RequestBody). With the
    /// framing error that says why (the front end closed, a read failed) as its
    /// source; `None` when the connection task stopped without one.
    #[error("the connection ended before the end of the body{}", cause(.0))]
    BodyIncomplete(#[source] Option<StreamError>),
    /// The vars do not make an HTTP request (answered with 400).
    #[error("the vars do not make an HTTP request: {0}")]
    Request(#[from] cgi::Error),
    /// The service failed (answered with 500 when nothing was written yet).
    #[error("the service failed: {0}")]
    Service(#[source] BoxError),
    /// The response failed after its head was written (its body, or a head that cannot
    /// be encoded); the connection is closed.
    #[error("the response body failed: {0}")]
    ResponseBody(#[source] BoxError),
    /// Writing to the front end failed.
    #[error("writing the response failed: {0}")]
    Io(#[from] io::Error),
}

impl Error {
    /// The HTTP status the driver answers the front end with for this error while a
    /// response can still be written: the framing error's (400, 413, 431), 408 for
    /// [`HeadTimeout`](Error::HeadTimeout), 400 for [`Request`](Error::Request), 500 for
    /// [`Service`](Error::Service); `None` when nothing is answered (the response was
    /// already under way, or the connection failed).
    ///
    /// ```
    /// use uwsgi_wire::server::Error;
    /// assert_eq!(Error::Service("down".into()).status_code(), Some(500));
    /// assert_eq!(Error::BodyTimeout.status_code(), None);
    /// ```
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Error::Stream(err) => err.status_code(),
            Error::HeadTimeout => Some(408),
            Error::Request(_) => Some(400),
            Error::Service(_) => Some(500),
            Error::BodyTimeout
            | Error::WriteTimeout
            | Error::BodyIncomplete(_)
            | Error::ResponseBody(_)
            | Error::Io(_) => None,
        }
    }
}

/// `: {err}`, or nothing.
fn cause(err: &Option<StreamError>) -> String {
    err.as_ref()
        .map(|err| format!(": {err}"))
        .unwrap_or_default()
}
