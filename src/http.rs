//! Interop with the [`http`] crate (feature `http`).
//!
//! - **Vars to a request**: [`request_from_vars`] and [`request_from_owned`] build an
//!   [`http::Request<()>`](::http::Request) the way uWSGI's WSGI layer reads a request
//!   (see [`request_from_vars`] for each field). Every key and value used is checked:
//!   CR, LF and NUL are rejected with [`HttpError::ForbiddenByte`], never passed on, so a
//!   var cannot inject a header or split a response when the request is written out as
//!   HTTP/1 text again.
//! - **A request to vars**: [`NginxParams`] encodes an `http::Request` as nginx 1.22 does
//!   with Debian's `/etc/nginx/uwsgi_params`: the same var names in the same order, then
//!   one `HTTP_*` var per header line; params can be added, overridden or removed.
//! - **Responses**: [`encode_response_head`] writes the raw HTTP/1.x head an application
//!   server answers with (a status line, or CGI style with `Status:`), and
//!   [`parse_response_head`] reads one on the client side the way nginx's uwsgi module
//!   does.
//!
//! ```
//! use uwsgi_wire::http::{request_from_vars, NginxParams};
//! use uwsgi_wire::{Packet, Status};
//!
//! let wire = std::fs::read("tests/vectors/nginx-get.bin")?; // captured from nginx 1.22
//! let Status::Complete((packet, _)) = Packet::parse(&wire)? else { unreachable!() };
//! let request = request_from_vars(&packet.vars().unwrap())?;
//! assert_eq!(request.method(), "GET");
//! assert_eq!(request.uri(), "http://127.0.0.1/path/x?a=1&b=2");
//! assert_eq!(request.headers()["user-agent"], "uwsgi-wire-capture");
//!
//! // And back: the vars nginx would send for it.
//! let vars = NginxParams::new().server_name("localhost").encode(&request)?;
//! assert_eq!(vars.vars().get(b"REQUEST_URI"), Some(&b"/path/x?a=1&b=2"[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::string::String;
use std::vec::Vec;

use ::http::header::{self, HeaderName, HeaderValue};
use ::http::uri::{Authority, PathAndQuery, Scheme};
use ::http::{HeaderMap, Method, Request, Response, StatusCode, Uri, Version};
use bytes::{BufMut, Bytes};

use crate::exchange::{HeadErrorKind, HeadParser};
use crate::message::url_scheme;
use crate::owned::OwnedVars;
use crate::wire::builder::VarsBuilder;
use crate::wire::encode::check_room;
use crate::wire::error::{EncodeError, ParseError};
use crate::wire::packet::Status;
use crate::wire::vars::Vars;

/// The longest response head [`parse_response_head`] accepts, blank line included: 64
/// KiB. nginx reads a head into `uwsgi_buffer_size` bytes (one memory page, 4 KiB, by
/// default) and answers 502 when it does not fit; this limit is more generous. A head
/// must end within it: once this many bytes have arrived without the blank line, the
/// head is refused at once, not buffered further.
///
/// ```
/// use uwsgi_wire::http::{parse_response_head, HttpError, MAX_RESPONSE_HEAD};
///
/// let endless = [&b"HTTP/1.1 200 OK\r\n"[..], &vec![b'x'; MAX_RESPONSE_HEAD][..]].concat();
/// assert!(matches!(parse_response_head(&endless), Err(HttpError::InvalidResponse(_))));
/// // Refused as soon as the limit is reached without a blank line...
/// assert!(parse_response_head(&endless[..MAX_RESPONSE_HEAD]).is_err());
/// // ...and only incomplete before.
/// assert!(parse_response_head(&endless[..MAX_RESPONSE_HEAD - 1])?.is_partial());
/// # Ok::<(), HttpError>(())
/// ```
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// Why a conversion failed.
///
/// ```
/// use uwsgi_wire::http::{request_from_vars, HttpError};
/// use uwsgi_wire::VarsBuilder;
///
/// let mut vars = VarsBuilder::new();
/// vars.push("REQUEST_METHOD", "GET")?.push("HTTP_X_EVIL", "a\r\nSet-Cookie: owned=1")?;
/// let err = request_from_vars(&vars.vars()).unwrap_err();
/// assert_eq!(err, HttpError::ForbiddenByte { var: "HTTP_X_EVIL".into(), byte: b'\r', index: 1 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// A var the conversion needs is absent (or empty).
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
    /// The request's path cannot be turned into nginx's `$document_uri`: a bad percent
    /// escape, or `..` above the root (nginx answers both with 400).
    #[error("path cannot be normalized: {0}")]
    InvalidPath(&'static str),
    /// A strict `CONTENT_LENGTH` error (invalid, or two that differ).
    #[error("bad CONTENT_LENGTH: {0}")]
    ContentLength(ParseError),
    /// The vars cannot be encoded (a value over 65535 bytes, a block over the limit).
    #[error("cannot encode: {0}")]
    Encode(#[from] EncodeError),
    /// The response head is not one nginx would accept, or one an `http::Response`
    /// cannot hold (the reason says why; see [`parse_response_head`]).
    #[error("invalid response head: {0}")]
    InvalidResponse(&'static str),
}

impl HttpError {
    /// The HTTP status a server could answer a request with when building it failed:
    /// 400 for every error of a request's vars, `None` for encoding and response errors
    /// (the local side's).
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::http::HttpError::MissingVar("REQUEST_METHOD").status_code(), Some(400));
    /// ```
    pub fn status_code(&self) -> Option<u16> {
        match self {
            HttpError::Encode(_) | HttpError::InvalidResponse(_) => None,
            _ => Some(400),
        }
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Fails on the first CR, LF or NUL in `value`.
fn check_bytes(var: &[u8], value: &[u8]) -> Result<(), HttpError> {
    match value
        .iter()
        .position(|b| matches!(b, b'\r' | b'\n' | b'\0'))
    {
        Some(index) => Err(HttpError::ForbiddenByte {
            var: lossy(var),
            byte: value.get(index).copied().unwrap_or_default(),
            index,
        }),
        None => Ok(()),
    }
}

fn invalid(var: &[u8], what: &'static str) -> HttpError {
    HttpError::InvalidVar {
        var: lossy(var),
        what,
    }
}

/// The value of `key`, checked for forbidden bytes; `None` when absent or empty.
fn var<'a>(vars: &Vars<'a>, key: &'static str) -> Result<Option<&'a [u8]>, HttpError> {
    match vars.get(key.as_bytes()) {
        Some(value) if !value.is_empty() => {
            check_bytes(key.as_bytes(), value)?;
            Ok(Some(value))
        }
        _ => Ok(None),
    }
}

/// Builds an [`http::Request<()>`](::http::Request) from request vars, as uWSGI's WSGI
/// layer (and a WSGI framework over it) reads them:
///
/// - **method**: `REQUEST_METHOD` (required);
/// - **scheme**: `UWSGI_SCHEME`, else `HTTPS` (`on` or `1` mean https, as uWSGI reads
///   it), else `REQUEST_SCHEME` (nginx's `$scheme`), else `http`;
/// - **URI**: `REQUEST_URI` as sent, else `SCRIPT_NAME` + `PATH_INFO` (percent-encoded
///   again) + `?QUERY_STRING`; absolute (scheme and authority) when a host is known:
///   `HTTP_HOST`, else `SERVER_NAME` with `SERVER_PORT` unless it is the scheme's
///   default port. With no host the URI is the path alone (origin form);
/// - **version**: `SERVER_PROTOCOL` (`HTTP/1.0`, `HTTP/1.1`, `HTTP/2`, `HTTP/2.0`,
///   `HTTP/3`, `HTTP/3.0`, `HTTP/0.9`); HTTP/1.0 when absent, as uWSGI answers then;
/// - **headers**, in wire order and with duplicates kept: every `HTTP_NAME` var as
///   `name` (lower case, `_` to `-`), plus `CONTENT_TYPE` and `CONTENT_LENGTH` when not
///   empty. nginx sends `HTTP_CONTENT_TYPE` and `HTTP_CONTENT_LENGTH` beside them: the
///   CGI vars are authoritative (`HTTP_CONTENT_TYPE` is used only when there is no
///   `CONTENT_TYPE` var, `HTTP_CONTENT_LENGTH` never), each header appears once, where
///   its `HTTP_` twin stood (after the other headers when there is none), and
///   `CONTENT_LENGTH` must pass the strict check ([`Vars::content_length`]).
///   `HTTP_TRANSFER_ENCODING` is dropped:
///   the front end has already de-chunked the body it sends, which is exactly
///   `CONTENT_LENGTH` bytes, and a request with both headers is a smuggling hazard.
///
/// Every key and value used is checked for CR, LF and NUL
/// ([`HttpError::ForbiddenByte`]); other bytes the `http` crate does not accept are
/// [`HttpError::InvalidVar`]. Header values are copied (one small allocation each);
/// [`request_from_owned`] shares the buffer instead and keeps the raw vars reachable.
///
/// ```
/// use uwsgi_wire::http::request_from_vars;
/// use uwsgi_wire::VarsBuilder;
///
/// let mut vars = VarsBuilder::new();
/// vars.push("REQUEST_METHOD", "POST")?
///     .push("PATH_INFO", "/a b")?
///     .push("QUERY_STRING", "x=1")?
///     .push("SERVER_PROTOCOL", "HTTP/1.1")?
///     .push("HTTPS", "on")?
///     .push("HTTP_HOST", "example.com")?
///     .push("CONTENT_TYPE", "text/plain")?
///     .push("CONTENT_LENGTH", "5")?
///     .push("HTTP_CONTENT_LENGTH", "5")?;
/// let request = request_from_vars(&vars.vars())?;
/// assert_eq!(request.uri(), "https://example.com/a%20b?x=1");
/// assert_eq!(request.version(), http::Version::HTTP_11);
/// assert_eq!(request.headers()["content-length"], "5");
/// assert_eq!(request.headers().get_all("content-length").iter().count(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn request_from_vars(vars: &Vars<'_>) -> Result<Request<()>, HttpError> {
    build_request(vars, Bytes::copy_from_slice)
}

/// [`request_from_vars`] over an [`OwnedVars`]: header values are slices of the vars'
/// buffer (no copy), and the vars themselves are stored in the request's extensions,
/// so every raw var stays reachable (`request.extensions().get::<OwnedVars>()`).
///
/// ```
/// use uwsgi_wire::http::request_from_owned;
/// use uwsgi_wire::owned::OwnedVars;
///
/// let block = bytes::Bytes::from_static(b"\x0e\x00REQUEST_METHOD\x03\x00GET\x0d\x00DOCUMENT_ROOT\x04\x00/srv");
/// let request = request_from_owned(&OwnedVars::parse(block)?)?;
/// let raw = request.extensions().get::<OwnedVars>().unwrap();
/// assert_eq!(raw.get(b"DOCUMENT_ROOT").unwrap(), "/srv");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn request_from_owned(vars: &OwnedVars) -> Result<Request<()>, HttpError> {
    let mut request = build_request(&vars.vars(), |value| vars.share(value))?;
    request.extensions_mut().insert(vars.clone());
    Ok(request)
}

fn build_request(
    vars: &Vars<'_>,
    share: impl Fn(&[u8]) -> Bytes,
) -> Result<Request<()>, HttpError> {
    let method = var(vars, "REQUEST_METHOD")?.ok_or(HttpError::MissingVar("REQUEST_METHOD"))?;
    let method = Method::from_bytes(method).map_err(|_| invalid(b"REQUEST_METHOD", "method"))?;

    let scheme = request_scheme(vars)?;
    let uri = request_uri(vars, scheme)?;
    let version = match var(vars, "SERVER_PROTOCOL")? {
        None => Version::HTTP_10,
        Some(b"HTTP/1.0") => Version::HTTP_10,
        Some(b"HTTP/1.1") => Version::HTTP_11,
        Some(b"HTTP/2" | b"HTTP/2.0") => Version::HTTP_2,
        Some(b"HTTP/3" | b"HTTP/3.0") => Version::HTTP_3,
        Some(b"HTTP/0.9") => Version::HTTP_09,
        Some(_) => return Err(invalid(b"SERVER_PROTOCOL", "protocol version")),
    };

    // The strict check: an invalid or conflicting CONTENT_LENGTH is an error here too.
    vars.content_length().map_err(HttpError::ContentLength)?;
    // The CGI vars are authoritative (the last one, as in a WSGI environ; the
    // CONTENT_LENGTH values agree). Each goes where nginx put its `HTTP_` twin, so the
    // header order is the client's, or after the other headers when there is none.
    let cgi = |key: &'static str| -> Result<Option<(HeaderName, HeaderValue)>, HttpError> {
        let Some(value) = var(vars, key)? else {
            return Ok(None);
        };
        let name = if key == "CONTENT_TYPE" {
            header::CONTENT_TYPE
        } else {
            header::CONTENT_LENGTH
        };
        let value = HeaderValue::from_maybe_shared(share(value))
            .map_err(|_| invalid(key.as_bytes(), "header value"))?;
        Ok(Some((name, value)))
    };
    let has_content_type = vars.get(b"CONTENT_TYPE").is_some();
    let mut content_type = cgi("CONTENT_TYPE")?;
    let mut content_length = cgi("CONTENT_LENGTH")?;
    let mut headers = HeaderMap::with_capacity(vars.len());
    for (key, value) in vars.iter() {
        let name = match key {
            b"HTTP_CONTENT_TYPE" if has_content_type => {
                if let Some((name, value)) = content_type.take() {
                    headers.append(name, value);
                }
                continue;
            }
            b"HTTP_CONTENT_LENGTH" => {
                if let Some((name, value)) = content_length.take() {
                    headers.append(name, value);
                }
                continue;
            }
            b"HTTP_TRANSFER_ENCODING" => continue,
            _ => match key.strip_prefix(b"HTTP_") {
                Some(name) if !name.is_empty() => name,
                _ => continue,
            },
        };
        check_bytes(key, key)?;
        check_bytes(key, value)?;
        let name: Vec<u8> = name
            .iter()
            .map(|&b| match b {
                b'_' => b'-',
                b => b.to_ascii_lowercase(),
            })
            .collect();
        let name = HeaderName::from_bytes(&name).map_err(|_| invalid(key, "header name"))?;
        let value = HeaderValue::from_maybe_shared(share(value))
            .map_err(|_| invalid(key, "header value"))?;
        headers.append(name, value);
    }
    for (name, value) in [content_type, content_length].into_iter().flatten() {
        headers.append(name, value);
    }

    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    Ok(request)
}

/// The scheme as uWSGI works it out, with nginx's `REQUEST_SCHEME` as a last resort:
/// the rule [`Request::scheme`](crate::message::Request::scheme) follows too.
fn request_scheme(vars: &Vars<'_>) -> Result<Scheme, HttpError> {
    let (scheme, from) = url_scheme(vars);
    let key = match from {
        Some((key, value)) => {
            check_bytes(key.as_bytes(), value)?;
            key
        }
        None => "",
    };
    match scheme {
        b"https" => Ok(Scheme::HTTPS),
        b"http" => Ok(Scheme::HTTP),
        other => Scheme::try_from(other).map_err(|_| invalid(key.as_bytes(), "scheme")),
    }
}

/// Bytes a path keeps as they are; everything else is percent-encoded.
fn path_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b)
}

fn request_uri(vars: &Vars<'_>, scheme: Scheme) -> Result<Uri, HttpError> {
    let path_and_query = match var(vars, "REQUEST_URI")? {
        Some(raw) => match PathAndQuery::try_from(raw) {
            Ok(pq) => pq,
            // An absolute-form request target: keep its path and query.
            Err(_) => Uri::try_from(raw)
                .ok()
                .and_then(|uri| uri.path_and_query().cloned())
                .ok_or_else(|| invalid(b"REQUEST_URI", "URI"))?,
        },
        None => {
            let mut target = Vec::new();
            for key in ["SCRIPT_NAME", "PATH_INFO"] {
                for &b in var(vars, key)?.unwrap_or_default() {
                    if path_safe(b) {
                        target.push(b);
                    } else {
                        target.extend_from_slice(format!("%{b:02X}").as_bytes());
                    }
                }
            }
            if target.first() != Some(&b'/') {
                target.insert(0, b'/');
            }
            if let Some(query) = var(vars, "QUERY_STRING")? {
                target.push(b'?');
                target.extend_from_slice(query);
            }
            PathAndQuery::try_from(target).map_err(|_| invalid(b"QUERY_STRING", "URI"))?
        }
    };

    let authority = match var(vars, "HTTP_HOST")? {
        Some(host) => Some(Authority::try_from(host).map_err(|_| invalid(b"HTTP_HOST", "host"))?),
        None => match var(vars, "SERVER_NAME")? {
            Some(name) => {
                let default = if scheme == Scheme::HTTPS { "443" } else { "80" };
                let host = match var(vars, "SERVER_PORT")? {
                    Some(port) if port != default.as_bytes() => [name, b":", port].concat(),
                    _ => name.to_vec(),
                };
                Some(Authority::try_from(host).map_err(|_| invalid(b"SERVER_NAME", "host"))?)
            }
            None => None,
        },
    };
    let mut parts = ::http::uri::Parts::default();
    if let Some(authority) = authority.filter(|_| path_and_query.as_str() != "*") {
        parts.scheme = Some(scheme);
        parts.authority = Some(authority);
    }
    parts.path_and_query = Some(path_and_query);
    Uri::from_parts(parts).map_err(|_| invalid(b"REQUEST_URI", "URI"))
}

/// Encodes an [`http::Request`] as the vars nginx sends for it with
/// Debian's default `/etc/nginx/uwsgi_params` (nginx 1.22):
///
/// | var | value |
/// |---|---|
/// | `QUERY_STRING` | the query, or empty |
/// | `REQUEST_METHOD` | the method |
/// | `CONTENT_TYPE`, `CONTENT_LENGTH` | those headers, or empty |
/// | `REQUEST_URI` | the path and query as sent |
/// | `PATH_INFO` | nginx's `$document_uri`: the path percent-decoded, `.` and `..` resolved, repeated `/` merged |
/// | `DOCUMENT_ROOT` | [`document_root`](NginxParams::document_root), default `/var/www/html` (Debian's default site) |
/// | `SERVER_PROTOCOL` | `HTTP/1.0`, `HTTP/1.1`, `HTTP/2.0`, ... |
/// | `REQUEST_SCHEME` | the URI's scheme, or [`https`](NginxParams::https), else `http` |
/// | `HTTPS` | `on`, only for https (nginx's `if_not_empty`) |
/// | `REMOTE_ADDR`, `REMOTE_PORT` | [`remote_addr`](NginxParams::remote_addr), [`remote_port`](NginxParams::remote_port): **only when set** |
/// | `SERVER_PORT` | [`server_port`](NginxParams::server_port), else the URI's port, else 80 or 443 |
/// | `SERVER_NAME` | [`server_name`](NginxParams::server_name), else the request's host, else `localhost` |
/// | `HTTP_HOST` | nginx's `$host`: the URI's host, else the `Host` header's, without the port, lower case; else the server name |
///
/// nginx always sends `REMOTE_ADDR` and `REMOTE_PORT`, from the client connection. This
/// type has no connection, so it never makes a client address up: without
/// [`remote_addr`](NginxParams::remote_addr) and [`remote_port`](NginxParams::remote_port)
/// the vars are left out (an application then sees no client address, rather than a
/// false `127.0.0.1` it might trust, log or rate-limit by). Every other default is the
/// front end's own configuration, not the client's.
///
/// Then one `HTTP_NAME` var per header line, in the header map's order (`NAME` is the
/// header name upper-cased with `-` turned into `_`), skipping, as nginx does, headers
/// whose `HTTP_` name a param already sets (so `Host` never appears twice) and names
/// holding `_` (nginx's `underscores_in_headers off`; [`NginxParams::underscores`]
/// keeps them).
///
/// [`param`](NginxParams::param) overrides a var (or adds it after the defaults, as
/// an extra `uwsgi_param` would), [`add_param`](NginxParams::add_param) always adds one,
/// and [`remove_param`](NginxParams::remove_param) drops one.
///
/// Note that [`http::HeaderMap`] groups repeated headers by name: two
/// `Cookie` lines with another header between them come out next to each other.
///
/// ```
/// use uwsgi_wire::http::NginxParams;
///
/// let request = http::Request::post("http://example.com/form")
///     .header("content-type", "application/x-www-form-urlencoded")
///     .header("content-length", "11")
///     .body(())?;
/// let vars = NginxParams::new()
///     .remote_addr("10.0.0.7")
///     .remote_port("40000")
///     .param("DOCUMENT_ROOT", "/srv/app")
///     .add_param("UWSGI_SCHEME", "https")
///     .encode(&request)?;
/// let keys: Vec<_> = vars.vars().iter().map(|(k, _)| String::from_utf8_lossy(k).into_owned()).collect();
/// assert_eq!(keys, [
///     "QUERY_STRING", "REQUEST_METHOD", "CONTENT_TYPE", "CONTENT_LENGTH", "REQUEST_URI",
///     "PATH_INFO", "DOCUMENT_ROOT", "SERVER_PROTOCOL", "REQUEST_SCHEME", "REMOTE_ADDR",
///     "REMOTE_PORT", "SERVER_PORT", "SERVER_NAME", "HTTP_HOST", "UWSGI_SCHEME",
///     "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH",
/// ]);
/// assert_eq!(vars.vars().get(b"DOCUMENT_ROOT"), Some(&b"/srv/app"[..]));
/// assert_eq!(vars.vars().get(b"HTTP_HOST"), Some(&b"example.com"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NginxParams {
    document_root: Vec<u8>,
    remote_addr: Option<Vec<u8>>,
    remote_port: Option<Vec<u8>>,
    server_port: Option<Vec<u8>>,
    server_name: Option<Vec<u8>>,
    https: Option<bool>,
    underscores: bool,
    /// In order: `(key, Some(value), replace)` sets or adds, `(key, None, _)` removes.
    edits: Vec<(Vec<u8>, Option<Vec<u8>>, bool)>,
}

impl Default for NginxParams {
    fn default() -> Self {
        NginxParams::new()
    }
}

impl NginxParams {
    /// The defaults in the table above: no client address.
    ///
    /// ```
    /// let vars = uwsgi_wire::http::NginxParams::new().encode(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get(b"SERVER_NAME"), Some(&b"localhost"[..]));
    /// assert_eq!(vars.vars().get(b"REMOTE_ADDR"), None);
    /// assert_eq!(vars.vars().get(b"REMOTE_PORT"), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new() -> Self {
        NginxParams {
            document_root: b"/var/www/html".to_vec(),
            remote_addr: None,
            remote_port: None,
            server_port: None,
            server_name: None,
            https: None,
            underscores: false,
            edits: Vec::new(),
        }
    }

    /// `DOCUMENT_ROOT` (nginx's `root`).
    ///
    /// ```
    /// let vars = uwsgi_wire::http::NginxParams::new().document_root("/srv").encode(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get(b"DOCUMENT_ROOT"), Some(&b"/srv"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn document_root(mut self, value: impl AsRef<[u8]>) -> Self {
        self.document_root = value.as_ref().to_vec();
        self
    }

    /// `REMOTE_ADDR`: the client's address (left out unless set).
    ///
    /// ```
    /// let vars = uwsgi_wire::http::NginxParams::new().remote_addr("::1").encode(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get(b"REMOTE_ADDR"), Some(&b"::1"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remote_addr(mut self, value: impl AsRef<[u8]>) -> Self {
        self.remote_addr = Some(value.as_ref().to_vec());
        self
    }

    /// `REMOTE_PORT`: the client's port (left out unless set).
    ///
    /// ```
    /// let vars = uwsgi_wire::http::NginxParams::new().remote_port("51234").encode(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get(b"REMOTE_PORT"), Some(&b"51234"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remote_port(mut self, value: impl AsRef<[u8]>) -> Self {
        self.remote_port = Some(value.as_ref().to_vec());
        self
    }

    /// `SERVER_PORT`: the port the front end listens on.
    ///
    /// ```
    /// let vars = uwsgi_wire::http::NginxParams::new().server_port("8080").encode(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get(b"SERVER_PORT"), Some(&b"8080"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn server_port(mut self, value: impl AsRef<[u8]>) -> Self {
        self.server_port = Some(value.as_ref().to_vec());
        self
    }

    /// `SERVER_NAME` (nginx's `$server_name`: the `server_name` of the server block).
    ///
    /// ```
    /// let vars = uwsgi_wire::http::NginxParams::new().server_name("_").encode(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get(b"SERVER_NAME"), Some(&b"_"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn server_name(mut self, value: impl AsRef<[u8]>) -> Self {
        self.server_name = Some(value.as_ref().to_vec());
        self
    }

    /// Whether the front end's connection is TLS (`REQUEST_SCHEME` and `HTTPS`), when
    /// the request's URI has no scheme to say so.
    ///
    /// ```
    /// let vars = uwsgi_wire::http::NginxParams::new().https(true).encode(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get(b"HTTPS"), Some(&b"on"[..]));
    /// assert_eq!(vars.vars().get(b"SERVER_PORT"), Some(&b"443"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn https(mut self, on: bool) -> Self {
        self.https = Some(on);
        self
    }

    /// Keeps headers whose names hold `_` (nginx's `underscores_in_headers on`). Off by
    /// default: `X_Forwarded_For` and `X-Forwarded-For` would both become
    /// `HTTP_X_FORWARDED_FOR`, so one could impersonate the other.
    ///
    /// ```
    /// let request = http::Request::get("/").header("x_under", "kept").body(())?;
    /// let vars = uwsgi_wire::http::NginxParams::new().encode(&request)?;
    /// assert_eq!(vars.vars().get(b"HTTP_X_UNDER"), None);
    /// let vars = uwsgi_wire::http::NginxParams::new().underscores(true).encode(&request)?;
    /// assert_eq!(vars.vars().get(b"HTTP_X_UNDER"), Some(&b"kept"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn underscores(mut self, on: bool) -> Self {
        self.underscores = on;
        self
    }

    /// Sets `key` to `value`: replaces the default var of that name where it stands
    /// (all of them, if repeated, become one), or adds it after the defaults. An
    /// `HTTP_*` key hides the header of that name, as in nginx.
    ///
    /// ```
    /// let vars = uwsgi_wire::http::NginxParams::new()
    ///     .param("SCRIPT_NAME", "/app")
    ///     .param("QUERY_STRING", "forced=1")
    ///     .encode(&http::Request::get("/?a=1").body(())?)?;
    /// assert_eq!(vars.vars().get_first(b"QUERY_STRING"), Some(&b"forced=1"[..]));
    /// assert_eq!(vars.vars().get(b"SCRIPT_NAME"), Some(&b"/app"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn param(mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.edits
            .push((key.as_ref().to_vec(), Some(value.as_ref().to_vec()), true));
        self
    }

    /// Adds `key` = `value` after the defaults, even when a var of that name exists
    /// (nginx sends every repeated `uwsgi_param`).
    ///
    /// ```
    /// let vars = uwsgi_wire::http::NginxParams::new()
    ///     .add_param("X_DUP", "a")
    ///     .add_param("X_DUP", "b")
    ///     .encode(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get_all(b"X_DUP").collect::<Vec<_>>(), [&b"a"[..], b"b"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_param(mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.edits
            .push((key.as_ref().to_vec(), Some(value.as_ref().to_vec()), false));
        self
    }

    /// Drops every var named `key` (a default, or one added before).
    ///
    /// ```
    /// let vars = uwsgi_wire::http::NginxParams::new()
    ///     .remove_param("DOCUMENT_ROOT")
    ///     .encode(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get(b"DOCUMENT_ROOT"), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove_param(mut self, key: impl AsRef<[u8]>) -> Self {
        self.edits.push((key.as_ref().to_vec(), None, false));
        self
    }

    /// The vars for `request`, in nginx's order (see the type's docs). The body is not
    /// looked at: send `CONTENT_LENGTH` body bytes after the packet.
    ///
    /// ```
    /// use uwsgi_wire::{http::NginxParams, Modifier1, Packet, Payload};
    /// let request = http::Request::get("/hello").body(())?;
    /// let vars = NginxParams::new().encode(&request)?;
    /// let packet = Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))?;
    /// assert_eq!(packet.vars().unwrap().get(b"PATH_INFO"), Some(&b"/hello"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encode<B>(&self, request: &Request<B>) -> Result<VarsBuilder, HttpError> {
        let uri = request.uri();
        let headers = request.headers();
        let header_bytes = |name: HeaderName| {
            headers
                .get(name)
                .map(HeaderValue::as_bytes)
                .unwrap_or_default()
        };
        let https = match (self.https, uri.scheme()) {
            (Some(on), _) => on,
            (None, Some(scheme)) => *scheme == Scheme::HTTPS,
            (None, None) => false,
        };
        let host_header = headers
            .get(header::HOST)
            .map(HeaderValue::as_bytes)
            .map(strip_port)
            .filter(|host| !host.is_empty());
        let request_host: Option<Vec<u8>> = match uri.host() {
            Some(host) => Some(host.as_bytes().to_ascii_lowercase()),
            None => host_header.map(<[u8]>::to_ascii_lowercase),
        };
        let server_name: Cow<'_, [u8]> = match (&self.server_name, &request_host) {
            (Some(name), _) => Cow::Borrowed(name),
            (None, Some(host)) => Cow::Borrowed(host),
            (None, None) => Cow::Borrowed(b"localhost"),
        };
        let server_port: Cow<'_, [u8]> = match (&self.server_port, uri.port_u16()) {
            (Some(port), _) => Cow::Borrowed(port),
            (None, Some(port)) => Cow::Owned(port.to_string().into_bytes()),
            (None, None) if https => Cow::Borrowed(b"443"),
            (None, None) => Cow::Borrowed(b"80"),
        };
        let version: &[u8] = match request.version() {
            Version::HTTP_09 => b"HTTP/0.9",
            Version::HTTP_10 => b"HTTP/1.0",
            Version::HTTP_2 => b"HTTP/2.0",
            Version::HTTP_3 => b"HTTP/3.0",
            _ => b"HTTP/1.1",
        };
        let request_uri = uri.path_and_query().map_or("/", PathAndQuery::as_str);
        let document_uri = document_uri(uri.path())?;
        let host = request_host.as_deref().unwrap_or(&server_name);

        let mut params: Vec<Param<'_>> = vec![
            (
                b"QUERY_STRING"[..].into(),
                uri.query().unwrap_or("").as_bytes().into(),
            ),
            (
                b"REQUEST_METHOD"[..].into(),
                request.method().as_str().as_bytes().into(),
            ),
            (
                b"CONTENT_TYPE"[..].into(),
                header_bytes(header::CONTENT_TYPE).into(),
            ),
            (
                b"CONTENT_LENGTH"[..].into(),
                header_bytes(header::CONTENT_LENGTH).into(),
            ),
            (b"REQUEST_URI"[..].into(), request_uri.as_bytes().into()),
            (b"PATH_INFO"[..].into(), document_uri.into()),
            (b"DOCUMENT_ROOT"[..].into(), self.document_root[..].into()),
            (b"SERVER_PROTOCOL"[..].into(), version.into()),
            (
                b"REQUEST_SCHEME"[..].into(),
                if https { &b"https"[..] } else { b"http" }.into(),
            ),
        ];
        if https {
            params.push((b"HTTPS"[..].into(), b"on"[..].into()));
        }
        // Where nginx puts them, and only when known: never a made-up client.
        if let Some(addr) = &self.remote_addr {
            params.push((b"REMOTE_ADDR"[..].into(), addr[..].into()));
        }
        if let Some(port) = &self.remote_port {
            params.push((b"REMOTE_PORT"[..].into(), port[..].into()));
        }
        params.extend([
            (b"SERVER_PORT"[..].into(), server_port),
            (b"SERVER_NAME"[..].into(), Cow::Borrowed(&*server_name)),
            (b"HTTP_HOST"[..].into(), Cow::Owned(host.to_vec())),
        ]);
        for (key, value, replace) in &self.edits {
            match value {
                None => params.retain(|(k, _)| **k != **key),
                Some(value) => {
                    let first = params.iter().position(|(k, _)| **k == **key);
                    match first.filter(|_| *replace) {
                        Some(at) => {
                            if let Some(slot) = params.get_mut(at) {
                                slot.1 = Cow::Borrowed(value);
                            }
                            let mut index = 0;
                            params.retain(|(k, _)| {
                                index += 1;
                                index - 1 == at || **k != **key
                            });
                        }
                        None => params.push((Cow::Borrowed(key), Cow::Borrowed(value))),
                    }
                }
            }
        }

        let mut out = VarsBuilder::new();
        for (key, value) in &params {
            out.push(key, value)?;
        }
        let mut key = Vec::with_capacity(64);
        for (name, value) in headers {
            let name = name.as_str().as_bytes();
            if !self.underscores && name.contains(&b'_') {
                continue;
            }
            key.clear();
            key.extend_from_slice(b"HTTP_");
            key.extend(name.iter().map(|&b| match b {
                b'-' => b'_',
                b => b.to_ascii_uppercase(),
            }));
            if params.iter().any(|(k, _)| **k == *key) {
                continue;
            }
            check_bytes(&key, value.as_bytes())?;
            out.push(&key, value.as_bytes())?;
        }
        Ok(out)
    }
}

/// One var of the params list: key and value, borrowed or built.
type Param<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// A `Host` header's host: `[v6]` or the part before `:`.
fn strip_port(host: &[u8]) -> &[u8] {
    if host.first() == Some(&b'[') {
        let end = host
            .iter()
            .position(|&b| b == b']')
            .map_or(host.len(), |i| i + 1);
        return host.get(..end).unwrap_or(host);
    }
    let end = host.iter().position(|&b| b == b':').unwrap_or(host.len());
    host.get(..end).unwrap_or(host)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// nginx's `$document_uri` for a path: percent-decoded, `.` and `..` segments
/// resolved, repeated slashes merged. A path that does not start with `/` (`*`) is
/// kept as it is.
fn document_uri(path: &str) -> Result<Vec<u8>, HttpError> {
    let path = path.as_bytes();
    if path.first() != Some(&b'/') {
        return Ok(path.to_vec());
    }
    let mut decoded = Vec::with_capacity(path.len());
    let mut bytes = path.iter();
    while let Some(&b) = bytes.next() {
        if b == b'%' {
            let hi = bytes.next().copied().and_then(hex);
            let lo = bytes.next().copied().and_then(hex);
            match (hi, lo) {
                (Some(hi), Some(lo)) => decoded.push(hi << 4 | lo),
                _ => return Err(HttpError::InvalidPath("bad percent escape")),
            }
        } else {
            decoded.push(b);
        }
    }
    let mut segments: Vec<&[u8]> = Vec::new();
    let mut trailing_slash = false;
    for segment in decoded.split(|&b| b == b'/').skip(1) {
        trailing_slash = true;
        match segment {
            b"" | b"." => {}
            b".." => {
                if segments.pop().is_none() {
                    return Err(HttpError::InvalidPath("`..` above the root"));
                }
            }
            _ => {
                segments.push(segment);
                trailing_slash = false;
            }
        }
    }
    let mut out = Vec::with_capacity(decoded.len());
    for segment in &segments {
        out.push(b'/');
        out.extend_from_slice(segment);
    }
    if trailing_slash || out.is_empty() {
        out.push(b'/');
    }
    Ok(out)
}

/// How a response head starts.
///
/// ```
/// assert_eq!(uwsgi_wire::http::HeadStyle::default(), uwsgi_wire::http::HeadStyle::StatusLine);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeadStyle {
    /// `HTTP/1.1 200 OK`: what uWSGI sends, and what every front end accepts (Apache
    /// requires it).
    #[default]
    StatusLine,
    /// CGI style, a `Status: 200 OK` header (uWSGI's `cgi-mode`): nginx and lighttpd
    /// accept it, Apache answers 502.
    Cgi,
}

/// The bytes a response head encodes to, or a forbidden byte.
fn response_head_parts<B>(
    response: &Response<B>,
    style: HeadStyle,
) -> Result<(usize, &'static str, &'static str), HttpError> {
    let version = match response.version() {
        Version::HTTP_09 | Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    let reason = response.status().canonical_reason().unwrap_or("");
    let mut len = match style {
        // "HTTP/1.1 200 OK\r\n"; the space before an empty reason is required.
        HeadStyle::StatusLine => version.len() + 1 + 3 + 1 + reason.len() + 2,
        // "Status: 200 OK\r\n"
        HeadStyle::Cgi => {
            8 + 3
                + if reason.is_empty() {
                    0
                } else {
                    1 + reason.len()
                }
                + 2
        }
    };
    for (name, value) in response.headers() {
        check_bytes(name.as_str().as_bytes(), value.as_bytes())?;
        len = len.saturating_add(name.as_str().len() + 2 + value.len() + 2);
    }
    Ok((len.saturating_add(2), version, reason))
}

/// Writes the raw HTTP/1.x response head an application server answers a request with:
/// the status line (or a CGI `Status:` header), the headers, the blank line. The body
/// follows as raw bytes. Returns the number of bytes written.
///
/// The version is `HTTP/1.0` for an HTTP/1.0 (or 0.9) response and `HTTP/1.1`
/// otherwise (front ends talk HTTP/1.x to the backend). The exact length is computed
/// first: with a buffer that cannot take it all, nothing is written
/// ([`EncodeError::BufferTooSmall`]). A header value holding CR, LF or NUL (the `http`
/// crate never builds one) is [`HttpError::ForbiddenByte`].
///
/// ```
/// use uwsgi_wire::http::{encode_response_head, HeadStyle};
///
/// let response = http::Response::builder()
///     .status(404)
///     .header("content-type", "text/plain")
///     .header("content-length", "9")
///     .body(())?;
/// let mut out = Vec::new();
/// encode_response_head(&response, HeadStyle::StatusLine, &mut out)?;
/// assert_eq!(out, b"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n\r\n");
///
/// out.clear();
/// encode_response_head(&response, HeadStyle::Cgi, &mut out)?;
/// assert!(out.starts_with(b"Status: 404 Not Found\r\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_response_head<B, O: BufMut>(
    response: &Response<B>,
    style: HeadStyle,
    out: &mut O,
) -> Result<usize, HttpError> {
    let (len, version, reason) = response_head_parts(response, style)?;
    check_room(out, len)?;
    let status = response.status();
    let code = status.as_str();
    match style {
        HeadStyle::StatusLine => {
            out.put_slice(version.as_bytes());
            out.put_u8(b' ');
            out.put_slice(code.as_bytes());
            out.put_u8(b' ');
            out.put_slice(reason.as_bytes());
        }
        HeadStyle::Cgi => {
            out.put_slice(b"Status: ");
            out.put_slice(code.as_bytes());
            if !reason.is_empty() {
                out.put_u8(b' ');
                out.put_slice(reason.as_bytes());
            }
        }
    }
    out.put_slice(b"\r\n");
    for (name, value) in response.headers() {
        out.put_slice(name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
    Ok(len)
}

/// Parses the raw HTTP/1.x response head an application server sent back, exactly as
/// nginx 1.22's uwsgi module reads it ([`HeadParser`], whose verdicts are checked
/// against nginx), into an [`http::Response<()>`](::http::Response):
///
/// - **status**: nginx's: the status line's code; else (CGI style) the first `Status`
///   header's first three digits, and every `Status` header is removed from the
///   headers; else 302 when there is a `Location` header, else 200. A first line
///   starting with `HTTP/` that nginx does not accept as a status line (`HTTP/1.1 4040
///   X`, `HTTP/1 404`) is skipped, as nginx skips it;
/// - **version**: HTTP/1.0 for an `HTTP/1.0` status line, else HTTP/1.1;
/// - **headers**: in wire order, duplicates kept, values without the spaces around
///   them; a line without a colon is a header with an empty value, as in nginx.
///
/// Returns [`Status::Partial`] until the blank line that ends the head has arrived, then
/// the response and the length of the head (the body starts there). Errors are
/// [`HttpError::InvalidResponse`]: every head nginx answers 502 for (a folded line, a
/// name with a space or a control byte, a NUL, a bare CR, an invalid `Status`), a head
/// whose blank line is not within [`MAX_RESPONSE_HEAD`] bytes, and a head nginx accepts
/// but an `http::Response` cannot hold: a status under 100, a name outside RFC 9110's
/// token characters (`X(Y`), a value with a control byte other than tab.
///
/// Each call parses `buf` from its first byte. To read a head arriving in small pieces,
/// keep one [`HeadParser`], which resumes where it stopped.
///
/// ```
/// use uwsgi_wire::http::parse_response_head;
/// use uwsgi_wire::Status;
///
/// let raw = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
/// let Status::Complete((response, head_len)) = parse_response_head(raw)? else { unreachable!() };
/// assert_eq!(response.status(), 201);
/// assert_eq!(&raw[head_len..], b"ok");
///
/// let cgi = b"Status: 404 Not Found\nContent-Type: text/plain\n\n";
/// let Status::Complete((response, _)) = parse_response_head(cgi)? else { unreachable!() };
/// assert_eq!(response.status(), 404);
/// assert!(response.headers().get("status").is_none());
///
/// assert!(parse_response_head(b"HTTP/1.1 200 OK\r\n")?.is_partial());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_response_head(buf: &[u8]) -> Result<Status<(Response<()>, usize)>, HttpError> {
    let (head, len) = match HeadParser::new(MAX_RESPONSE_HEAD).parse(buf) {
        Ok(Status::Complete(done)) => done,
        Ok(Status::Partial { needed }) => return Ok(Status::Partial { needed }),
        Err(err) => {
            return Err(HttpError::InvalidResponse(match err.kind() {
                HeadErrorKind::TooLarge { .. } => "head longer than 65536 bytes",
                kind => kind.as_str(),
            }))
        }
    };
    let status = StatusCode::from_u16(head.status())
        .map_err(|_| HttpError::InvalidResponse("status code under 100"))?;
    let version = match head.version() {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let mut headers = HeaderMap::new();
    for (name, value) in head.headers() {
        if head.is_cgi() && name.eq_ignore_ascii_case(b"status") {
            continue;
        }
        let name = HeaderName::from_bytes(name)
            .map_err(|_| HttpError::InvalidResponse("invalid header name"))?;
        let value = HeaderValue::from_bytes(value)
            .map_err(|_| HttpError::InvalidResponse("invalid header value"))?;
        headers.append(name, value);
    }
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = version;
    *response.headers_mut() = headers;
    Ok(Status::Complete((response, len)))
}
