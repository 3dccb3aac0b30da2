//! Vars to an [`http::Request`]: [`request_from_vars`], as uWSGI's WSGI layer reads
//! them.

use std::vec::Vec;

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Method, Request, Uri, Version};

use crate::message::request::url_scheme_by;
use crate::owned::OwnedVars;
use crate::wire::vars::{Vars, VarsIter};

use super::{check_bytes, lossy, Error};

fn invalid(var: &[u8], what: &'static str) -> Error {
    Error::InvalidVar {
        var: lossy(var),
        what,
    }
}

/// The vars a request is built from, each the last of its name (as [`Vars::get`]),
/// found in one walk of the block instead of one walk per name.
#[derive(Default)]
struct Known<'a> {
    method: Option<&'a [u8]>,
    protocol: Option<&'a [u8]>,
    uwsgi_scheme: Option<&'a [u8]>,
    https: Option<&'a [u8]>,
    request_scheme: Option<&'a [u8]>,
    request_uri: Option<&'a [u8]>,
    script_name: Option<&'a [u8]>,
    path_info: Option<&'a [u8]>,
    query_string: Option<&'a [u8]>,
    host: Option<&'a [u8]>,
    server_name: Option<&'a [u8]>,
    server_port: Option<&'a [u8]>,
    content_type: Option<&'a [u8]>,
    content_length: Option<&'a [u8]>,
    remote_addr: Option<&'a [u8]>,
    remote_port: Option<&'a [u8]>,
    /// How many `HTTP_` vars the block has: the header map is sized to them, not to
    /// every var (a map of nginx's 15 vars is 2.5 KiB, of one header 0.3 KiB).
    headers: usize,
    /// The vars from the first `HTTP_` one on: the headers' walk starts there, not at
    /// the CGI vars nginx sends before them.
    from_headers: Option<VarsIter<'a>>,
}

impl<'a> Known<'a> {
    fn of(vars: &Vars<'a>) -> Self {
        let mut known = Known::default();
        let mut vars = vars.iter();
        loop {
            let at = vars.clone();
            let Some((key, value)) = vars.next() else {
                break;
            };
            let slot = match key {
                b"REQUEST_METHOD" => &mut known.method,
                b"SERVER_PROTOCOL" => &mut known.protocol,
                b"UWSGI_SCHEME" => &mut known.uwsgi_scheme,
                b"HTTPS" => &mut known.https,
                b"REQUEST_SCHEME" => &mut known.request_scheme,
                b"REQUEST_URI" => &mut known.request_uri,
                b"SCRIPT_NAME" => &mut known.script_name,
                b"PATH_INFO" => &mut known.path_info,
                b"QUERY_STRING" => &mut known.query_string,
                b"HTTP_HOST" => {
                    known.headers += 1;
                    known.from_headers.get_or_insert(at);
                    &mut known.host
                }
                b"SERVER_NAME" => &mut known.server_name,
                b"SERVER_PORT" => &mut known.server_port,
                b"CONTENT_TYPE" => &mut known.content_type,
                b"CONTENT_LENGTH" => &mut known.content_length,
                b"REMOTE_ADDR" => &mut known.remote_addr,
                b"REMOTE_PORT" => &mut known.remote_port,
                _ => {
                    if key.starts_with(b"HTTP_") {
                        known.headers += 1;
                        known.from_headers.get_or_insert(at);
                    }
                    continue;
                }
            };
            *slot = Some(value);
        }
        known
    }
}

/// `value` of the var `key`, checked for forbidden bytes; `None` when absent or empty.
fn var<'a>(key: &'static str, value: Option<&'a [u8]>) -> Result<Option<&'a [u8]>, Error> {
    match value {
        Some(value) if !value.is_empty() => {
            check_bytes(key.as_bytes(), value)?;
            Ok(Some(value))
        }
        _ => Ok(None),
    }
}

/// `value` when present and not empty, unchecked: for a var the `http` crate parses,
/// which refuses CR, LF and NUL as it refuses other control bytes ([`refused`] names
/// the error then).
fn present(value: Option<&[u8]>) -> Option<&[u8]> {
    value.filter(|value| !value.is_empty())
}

/// The error for `value` of the var `key`, which the `http` crate refused: its first
/// CR, LF or NUL when it has one (the check runs only to name the error), else that it
/// is not a valid `what`.
fn refused(key: &[u8], value: &[u8], what: &'static str) -> Error {
    check_bytes(key, value)
        .err()
        .unwrap_or_else(|| invalid(key, what))
}

/// Builds an [`http::Request<()>`](http::Request) from request vars, as uWSGI's WSGI
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
///   `CONTENT_LENGTH` bytes, and a request with both headers is a smuggling hazard;
/// - **extensions**: the vars themselves, so every raw var stays reachable
///   (`request.extensions().get::<OwnedVars>()`: `DOCUMENT_ROOT` by [`OwnedVars::get`],
///   the client by [`OwnedVars::remote_addr`], ...). (The server driver's requests
///   carry the whole packet instead, as their one extension.)
///
/// Header values are slices of the vars' buffer, never copied. Vars borrowed from a
/// [`Packet`](crate::Packet) become an [`OwnedVars`] with one copy of their block,
/// [`OwnedVars::from_vars`]. Every key and value used is checked for CR, LF and NUL
/// ([`Error::ForbiddenByte`]); other bytes the `http` crate does not accept are
/// [`Error::InvalidVar`].
///
/// ```
/// use uwsgi_wire::cgi::request_from_vars;
/// use uwsgi_wire::{owned::OwnedVars, VarsBuilder};
///
/// let mut vars = VarsBuilder::default();
/// vars.push("REQUEST_METHOD", "POST")?
///     .push("PATH_INFO", "/a b")?
///     .push("QUERY_STRING", "x=1")?
///     .push("SERVER_PROTOCOL", "HTTP/1.1")?
///     .push("HTTPS", "on")?
///     .push("HTTP_HOST", "example.com")?
///     .push("CONTENT_TYPE", "text/plain")?
///     .push("CONTENT_LENGTH", "5")?
///     .push("HTTP_CONTENT_LENGTH", "5")?
///     .push("DOCUMENT_ROOT", "/srv")?;
/// let request = request_from_vars(&OwnedVars::from_vars(&vars.vars()))?;
/// assert_eq!(request.uri(), "https://example.com/a%20b?x=1");
/// assert_eq!(request.version(), http::Version::HTTP_11);
/// assert_eq!(request.headers()["content-length"], "5");
/// assert_eq!(request.headers().get_all("content-length").iter().count(), 1);
/// let raw = request.extensions().get::<OwnedVars>().unwrap();
/// assert_eq!(raw.get(b"DOCUMENT_ROOT").unwrap(), "/srv");
/// assert_eq!(raw.scheme(), b"https");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn request_from_vars(vars: &OwnedVars) -> Result<Request<()>, Error> {
    let (mut request, _) = convert(vars, true, false)?;
    request.extensions_mut().insert(vars.clone());
    Ok(request)
}

/// [`request_from_vars`] without the vars in the extensions: the server driver puts
/// the whole packet there instead, its one extension.
///
/// With the `axum` feature, also gives the client's address as the vars name it
/// (`REMOTE_ADDR`, `REMOTE_PORT`, [`OwnedVars::remote_addr`]'s rule), found in the same
/// walk, for axum's `ConnectInfo`; without it, `None` (nothing would read it).
#[cfg(feature = "server")]
pub(crate) fn request_without_vars(
    vars: &OwnedVars,
) -> Result<(Request<()>, Option<std::net::SocketAddr>), Error> {
    // The server's codec checked `CONTENT_LENGTH` when it framed the packet (its body
    // length, `exchange::request_body_len`): no second walk for it.
    convert(vars, false, cfg!(feature = "axum"))
}

fn convert(
    vars: &OwnedVars,
    check_content_length: bool,
    with_client: bool,
) -> Result<(Request<()>, Option<std::net::SocketAddr>), Error> {
    let view = vars.vars();
    let known = Known::of(&view);
    let client = with_client
        .then(|| crate::owned::socket_addr(known.remote_addr, known.remote_port))
        .flatten();
    let request = build_request(&view, &known, check_content_length, |value| {
        vars.share(value)
    })?;
    Ok((request, client))
}

fn build_request(
    vars: &Vars<'_>,
    known: &Known<'_>,
    check_content_length: bool,
    share: impl Fn(&[u8]) -> Bytes,
) -> Result<Request<()>, Error> {
    let method = present(known.method).ok_or(Error::MissingVar("REQUEST_METHOD"))?;
    let method =
        Method::from_bytes(method).map_err(|_| refused(b"REQUEST_METHOD", method, "method"))?;

    let scheme = request_scheme(known)?;
    let uri = request_uri(known, scheme, &share)?;
    let version = match present(known.protocol) {
        None => Version::HTTP_10,
        Some(b"HTTP/1.0") => Version::HTTP_10,
        Some(b"HTTP/1.1") => Version::HTTP_11,
        Some(b"HTTP/2" | b"HTTP/2.0") => Version::HTTP_2,
        Some(b"HTTP/3" | b"HTTP/3.0") => Version::HTTP_3,
        Some(b"HTTP/0.9") => Version::HTTP_09,
        Some(other) => return Err(refused(b"SERVER_PROTOCOL", other, "protocol version")),
    };

    if check_content_length {
        // The strict check: an invalid or conflicting CONTENT_LENGTH is an error here too.
        vars.content_length().map_err(Error::ContentLength)?;
    }
    // The CGI vars are authoritative (the last one, as in a WSGI environ; the
    // CONTENT_LENGTH values agree). Each goes where nginx put its `HTTP_` twin, so the
    // header order is the client's, or after the other headers when there is none.
    // Called only for a value there is (nginx sends both, empty on a GET).
    let cgi = |key: &'static str,
               name: HeaderName,
               value: &[u8]|
     -> Result<(HeaderName, HeaderValue), Error> {
        let value = HeaderValue::from_maybe_shared(share(value))
            .map_err(|_| refused(key.as_bytes(), value, "header value"))?;
        Ok((name, value))
    };
    let has_content_type = known.content_type.is_some();
    let mut content_type = present(known.content_type)
        .map(|value| cgi("CONTENT_TYPE", header::CONTENT_TYPE, value))
        .transpose()?;
    let mut content_length = present(known.content_length)
        .map(|value| cgi("CONTENT_LENGTH", header::CONTENT_LENGTH, value))
        .transpose()?;
    // Every `HTTP_` var, plus `CONTENT_TYPE` and `CONTENT_LENGTH` when they have no twin.
    // Filled in place: no empty map built by `Request::new` to drop, no move of the map.
    let mut request = Request::new(());
    let headers = request.headers_mut();
    headers.reserve(known.headers + 2);
    let from_headers = known.from_headers.clone();
    for (key, value) in from_headers.unwrap_or_else(|| Vars::default().iter()) {
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
        // `http` refuses CR, LF and NUL in names and values as it refuses other control
        // bytes: the forbidden-byte check runs only to name the error.
        let name = header_name(name).map_err(|_| {
            check_bytes(key, key)
                .and(check_bytes(key, value))
                .err()
                .unwrap_or_else(|| invalid(key, "header name"))
        })?;
        let value = HeaderValue::from_maybe_shared(share(value))
            .map_err(|_| refused(key, value, "header value"))?;
        headers.append(name, value);
    }
    if let Some((name, value)) = content_type {
        headers.append(name, value);
    }
    if let Some((name, value)) = content_length {
        headers.append(name, value);
    }
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    Ok(request)
}

/// A header name from the part of an `HTTP_` var's name after the prefix: `_` is `-`,
/// lower case, as nginx wrote it from the client's header. On the stack up to 64 bytes.
fn header_name(name: &[u8]) -> Result<HeaderName, http::header::InvalidHeaderName> {
    // The headers nearly every request has, named without rewriting the name first.
    let common = match name {
        b"HOST" => Some(header::HOST),
        b"USER_AGENT" => Some(header::USER_AGENT),
        b"ACCEPT" => Some(header::ACCEPT),
        b"ACCEPT_ENCODING" => Some(header::ACCEPT_ENCODING),
        b"ACCEPT_LANGUAGE" => Some(header::ACCEPT_LANGUAGE),
        b"CONNECTION" => Some(header::CONNECTION),
        b"COOKIE" => Some(header::COOKIE),
        b"REFERER" => Some(header::REFERER),
        _ => None,
    };
    if let Some(name) = common {
        return Ok(name);
    }
    let dashed = |b: &u8| match b {
        b'_' => b'-',
        b => b.to_ascii_lowercase(),
    };
    let mut short = [0u8; 64];
    match short.get_mut(..name.len()) {
        Some(buf) => {
            for (to, from) in buf.iter_mut().zip(name) {
                *to = dashed(from);
            }
            HeaderName::from_bytes(buf)
        }
        None => HeaderName::from_bytes(&name.iter().map(dashed).collect::<Vec<u8>>()),
    }
}

/// The scheme as uWSGI works it out, with nginx's `REQUEST_SCHEME` as a last resort:
/// the rule [`Request::scheme`](crate::message::Request::scheme) follows too.
fn request_scheme(known: &Known<'_>) -> Result<Scheme, Error> {
    let (scheme, from) = url_scheme_by(|key| match key {
        "UWSGI_SCHEME" => known.uwsgi_scheme,
        "HTTPS" => known.https,
        "REQUEST_SCHEME" => known.request_scheme,
        _ => None,
    });
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

fn request_uri(
    known: &Known<'_>,
    scheme: Scheme,
    share: &impl Fn(&[u8]) -> Bytes,
) -> Result<Uri, Error> {
    let path_and_query = match var("REQUEST_URI", known.request_uri)? {
        // A slice of the vars' buffer, not a copy.
        Some(raw) => match PathAndQuery::from_maybe_shared(share(raw)) {
            Ok(pq) => pq,
            // An absolute-form request target: keep its path and query.
            Err(_) => Uri::try_from(raw)
                .ok()
                .and_then(|uri| uri.path_and_query().cloned())
                .ok_or_else(|| invalid(b"REQUEST_URI", "URI"))?,
        },
        None => {
            let mut target = Vec::new();
            for (key, value) in [
                ("SCRIPT_NAME", known.script_name),
                ("PATH_INFO", known.path_info),
            ] {
                for &b in var(key, value)?.unwrap_or_default() {
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
            if let Some(query) = var("QUERY_STRING", known.query_string)? {
                target.push(b'?');
                target.extend_from_slice(query);
            }
            PathAndQuery::try_from(target).map_err(|_| invalid(b"QUERY_STRING", "URI"))?
        }
    };

    let authority = match present(known.host) {
        Some(host) => Some(
            Authority::from_maybe_shared(share(host))
                .map_err(|_| refused(b"HTTP_HOST", host, "host"))?,
        ),
        None => match var("SERVER_NAME", known.server_name)? {
            Some(name) => {
                let default = if scheme == Scheme::HTTPS { "443" } else { "80" };
                let host = match var("SERVER_PORT", known.server_port)? {
                    Some(port) if port != default.as_bytes() => [name, b":", port].concat(),
                    _ => name.to_vec(),
                };
                Some(Authority::try_from(host).map_err(|_| invalid(b"SERVER_NAME", "host"))?)
            }
            None => None,
        },
    };
    let mut parts = http::uri::Parts::default();
    if let Some(authority) = authority.filter(|_| path_and_query.as_str() != "*") {
        parts.scheme = Some(scheme);
        parts.authority = Some(authority);
    }
    parts.path_and_query = Some(path_and_query);
    Uri::from_parts(parts).map_err(|_| invalid(b"REQUEST_URI", "URI"))
}
