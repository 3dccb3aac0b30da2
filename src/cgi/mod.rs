//! CGI/1.1 meta-variables (the uwsgi vars) to and from the [`http`] crate's types
//! (feature `http`). One job per file:
//!
//! - **Vars to a request** ([`request_from_vars`]): an [`http::Request<()>`] built the way
//!   uWSGI's WSGI layer reads the vars. Every key and value used is checked: CR, LF and
//!   NUL are rejected with [`Error::ForbiddenByte`], never passed on, so a var cannot
//!   inject a header or split a response when the request is written out as HTTP/1 text
//!   again.
//! - **A request to vars** ([`NginxParams`]): an `http::Request` as nginx 1.22 encodes it
//!   with Debian's `/etc/nginx/uwsgi_params`: the same var names in the same order, then
//!   one `HTTP_*` var per header line; params can be added, overridden or removed.
//! - **A CGI environ** ([`environ`]): the pairs a WSGI host hands an application, as
//!   uWSGI builds them from the vars.
//! - **Response heads**, both ways: [`encode_response_head`] writes the raw HTTP/1.x head
//!   an application server answers with (a status line, or CGI style with `Status:`), and
//!   [`parse_response_head`] reads one into an `http::Response` the way nginx's uwsgi
//!   module does (the client driver reads its heads with the same conversion).
//!
//! ```
//! use uwsgi_wire::cgi::{request_from_vars, NginxParams};
//! use uwsgi_wire::{owned::OwnedPacket, Limits, Status};
//!
//! let wire = std::fs::read("tests/vectors/nginx-get.bin")?; // captured from nginx 1.22
//! let Status::Complete((packet, _)) = OwnedPacket::parse(wire.into(), &Limits::new())? else { unreachable!() };
//! let request = request_from_vars(&packet.owned_vars().unwrap())?;
//! assert_eq!(request.method(), "GET");
//! assert_eq!(request.uri(), "http://127.0.0.1/path/x?a=1&b=2");
//! assert_eq!(request.headers()["user-agent"], "uwsgi-wire-capture");
//!
//! // And back: the vars nginx would send for it.
//! let vars = NginxParams::new().server_name("localhost").to_vars(&request)?;
//! assert_eq!(vars.vars().get(b"REQUEST_URI"), Some(&b"/path/x?a=1&b=2"[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::string::String;

use crate::exchange::ExchangeError;
use crate::wire::error::EncodeError;

mod environ;
mod params;
mod request;
mod response;

pub use environ::environ;
pub use params::{document_uri, request_host, NginxParams, RequestParams};
pub use request::request_from_vars;
#[cfg(feature = "server")]
pub(crate) use request::request_without_vars;
#[cfg(feature = "client")]
pub(crate) use response::response_from_head;
pub use response::{encode_response_head, parse_response_head, HeadStyle};

/// A boxed error, what services and bodies fail with (`tower::BoxError`): the one
/// definition the drivers over this module share.
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a conversion failed.
///
/// ```
/// use uwsgi_wire::cgi::{request_from_vars, Error};
/// use uwsgi_wire::{owned::OwnedVars, VarsBuilder};
///
/// let mut vars = VarsBuilder::default();
/// vars.push("REQUEST_METHOD", "GET")?.push("HTTP_X_EVIL", "a\r\nSet-Cookie: owned=1")?;
/// let err = request_from_vars(&OwnedVars::from_vars(&vars.vars())).unwrap_err();
/// assert_eq!(err, Error::ForbiddenByte { var: "HTTP_X_EVIL".into(), byte: b'\r', index: 1 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A var the conversion needs is absent (or empty): its key.
    #[error("missing var {0}")]
    MissingVar(&'static str),
    /// A key or value (or a response header) holds CR, LF or NUL: rejected, since
    /// passing it on would let it inject headers or split the message.
    #[error("{var} holds the forbidden byte {byte:#04x} at index {index}")]
    ForbiddenByte {
        /// The var's key (or the header's name), lossily decoded.
        var: String,
        /// The byte: `\r`, `\n` or `\0`.
        byte: u8,
        /// Its index in the value (or in the key, for a forbidden byte in a key).
        index: usize,
    },
    /// A var whose value the `http` crate does not accept as `what`.
    #[error("{var} is not a valid {what}")]
    InvalidVar {
        /// The var's key, lossily decoded.
        var: String,
        /// What it should have been: `"method"`, `"URI"`, `"header name"`, ...
        what: &'static str,
    },
    /// The request's path goes above the root with `..`, so it has no nginx
    /// `$document_uri` (nginx answers 400).
    #[error("path cannot be normalized: `..` above the root")]
    PathAboveRoot,
    /// The request's path holds a `%` not followed by two hex digits, so it has no
    /// nginx `$document_uri` (nginx answers 400).
    #[error("path cannot be normalized: bad percent escape at byte {index}")]
    PercentEscape {
        /// The index of the `%` in the path.
        index: usize,
    },
    /// A strict `CONTENT_LENGTH` error (invalid, or two that differ).
    #[error("bad CONTENT_LENGTH: {0}")]
    ContentLength(#[source] crate::ParseError),
    /// The vars cannot be encoded (a value over 65535 bytes, a block over the limit).
    #[error("cannot encode: {0}")]
    Encode(#[from] EncodeError),
    /// The response head is one nginx refuses (it answers 502), or has no end within
    /// the limit ([`parse_response_head`]).
    #[error("invalid response head: {0}")]
    InvalidResponse(#[source] ExchangeError),
    /// The response head's status, one nginx accepts, is under 100: an `http::Response`
    /// cannot hold it.
    #[error("invalid response head: status code {0} is under 100")]
    ResponseStatus(u16),
    /// A response header nginx accepts that an `http::Response` cannot hold: a name
    /// outside RFC 9110's token characters (`X(Y`), a value with a control byte other
    /// than tab.
    #[error("invalid response head: {name} is not a valid {what}")]
    ResponseHeader {
        /// The header's name, lossily decoded.
        name: String,
        /// `"header name"` or `"header value"`.
        what: &'static str,
    },
}

impl Error {
    /// The HTTP status a server could answer a request with when building it failed:
    /// 400 for every error of a request's vars or path, `None` for encoding and response
    /// errors (the local side's, or the upstream's).
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::cgi::Error::MissingVar("REQUEST_METHOD").status_code(), Some(400));
    /// ```
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Error::Encode(_)
            | Error::InvalidResponse(_)
            | Error::ResponseStatus(_)
            | Error::ResponseHeader { .. } => None,
            _ => Some(400),
        }
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Fails on the first CR, LF or NUL in `value`.
fn check_bytes(var: &[u8], value: &[u8]) -> Result<(), Error> {
    match value
        .iter()
        .position(|b| matches!(b, b'\r' | b'\n' | b'\0'))
    {
        Some(index) => Err(Error::ForbiddenByte {
            var: lossy(var),
            byte: value.get(index).copied().unwrap_or_default(),
            index,
        }),
        None => Ok(()),
    }
}
