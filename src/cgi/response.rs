//! Response heads both ways: an [`http::Response`] to the raw HTTP/1.x head an
//! application server answers with ([`encode_response_head`]), and such a head to an
//! `http::Response` as nginx reads it ([`parse_response_head`]).

use bytes::{BufMut, Bytes};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, Version};

use crate::exchange::{HeadParser, ResponseHead};
use crate::wire::encode::check_room;
use crate::wire::status::Status;

use super::{check_bytes, lossy, Error};

/// How a response head starts.
///
/// ```
/// assert_eq!(uwsgi_wire::cgi::HeadStyle::default(), uwsgi_wire::cgi::HeadStyle::StatusLine);
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
) -> Result<(usize, &'static str, &'static str), Error> {
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
/// ([`EncodeError::BufferTooSmall`](crate::EncodeError::BufferTooSmall)). A header value holding CR, LF or NUL (the `http`
/// crate never builds one) is [`Error::ForbiddenByte`].
///
/// ```
/// use uwsgi_wire::cgi::{encode_response_head, HeadStyle};
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
) -> Result<usize, Error> {
    let (len, version, reason) = response_head_parts(response, style)?;
    check_room(out, len)?;
    let status = response.status();
    let code = status.as_str();
    match style {
        // The usual line as one constant (hyper's fast path), not five pieces.
        HeadStyle::StatusLine if status == StatusCode::OK && version == "HTTP/1.1" => {
            out.put_slice(b"HTTP/1.1 200 OK");
        }
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
/// nginx 1.22's uwsgi module reads it ([`HeadParser`](crate::exchange::HeadParser),
/// whose verdicts are checked against nginx), into an
/// [`http::Response<()>`](http::Response):
///
/// - **status**: nginx's: the status line's code; else (CGI style) the first `Status`
///   header's first three digits; else 302 when there is a `Location` header, else 200.
///   A first line starting with `HTTP/` that nginx does not accept as a status line
///   (`HTTP/1.1 4040 X`, `HTTP/1 404`) is skipped, as nginx skips it;
/// - **version**: HTTP/1.0 for an `HTTP/1.0` status line, else HTTP/1.1;
/// - **headers**: in wire order, duplicates kept, values without the spaces around
///   them; a line without a colon is a header with an empty value, as in nginx. The
///   `Status` header that gave a CGI head its status is the response's status, not a
///   header; nginx 1.22 passes every `Status` line on to its client, so any other one
///   stays a header (`Status: 404 X`, `Status: 500 Y` is a 404 with the header
///   `status: 500 Y`).
///
/// Returns [`Status::Partial`] until the blank line that ends the head has arrived, then
/// the response and the length of the head (the body starts there). A head nginx
/// answers 502 for (a folded line, a name with a space or a control byte, a NUL, a bare
/// CR, an invalid `Status`), or whose blank line is not within `max_head` bytes, is
/// [`Error::InvalidResponse`] with the [`ExchangeError`](crate::exchange::ExchangeError) as its
/// source; a head nginx accepts but an `http::Response` cannot hold is
/// [`Error::ResponseStatus`] (a status under 100) or [`Error::ResponseHeader`] (a name
/// outside RFC 9110's token characters, `X(Y`; a value with a control byte other than
/// tab). nginx reads a head into `uwsgi_buffer_size` bytes (one memory page, 4 KiB, by
/// default); the client driver's default is 64 KiB. Once `max_head` bytes have arrived
/// without the blank line, the head is refused at once, not buffered further.
///
/// Each call parses `buf` from its first byte. To read a head arriving in small pieces,
/// keep one `HeadParser`, which resumes where it stopped. The client driver reads its
/// response heads through this same conversion.
///
/// ```
/// use uwsgi_wire::cgi::{parse_response_head, Error};
/// use uwsgi_wire::exchange::{ExchangeErrorKind, HeadErrorKind};
/// use uwsgi_wire::Status;
///
/// let raw = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
/// let Status::Complete((response, head_len)) = parse_response_head(raw, 4096)? else { unreachable!() };
/// assert_eq!(response.status(), 201);
/// assert_eq!(&raw[head_len..], b"ok");
///
/// let cgi = b"Status: 404 Not Found\nContent-Type: text/plain\n\n";
/// let Status::Complete((response, _)) = parse_response_head(cgi, 4096)? else { unreachable!() };
/// assert_eq!(response.status(), 404);
/// assert!(response.headers().get("status").is_none());
///
/// assert!(parse_response_head(b"HTTP/1.1 200 OK\r\n", 4096)?.is_partial());
/// // No blank line within the limit: refused as soon as the limit is reached.
/// let endless = [&b"HTTP/1.1 200 OK\r\nX: "[..], &[b'x'; 100]].concat();
/// assert!(parse_response_head(&endless[..63], 64)?.is_partial());
/// let Err(Error::InvalidResponse(err)) = parse_response_head(&endless, 64) else { unreachable!() };
/// assert_eq!(err.kind(), ExchangeErrorKind::Head(HeadErrorKind::TooLarge { limit: 64 }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_response_head(
    buf: &[u8],
    max_head: usize,
) -> Result<Status<(Response<()>, usize)>, Error> {
    match HeadParser::new(max_head).parse(buf) {
        Ok(Status::Complete((head, len))) => Ok(Status::Complete((
            response_from_head(&head, None, HeaderMap::new())?,
            len,
        ))),
        Ok(Status::Partial { needed }) => Ok(Status::Partial { needed }),
        Err(err) => Err(Error::InvalidResponse(err)),
    }
}

/// The `http::Response` of a parsed head (its body is set by the caller): the one
/// conversion of [`parse_response_head`] and the client driver. With `wire`, the
/// buffer `head` views (the client driver's), each header value is a slice of it: no
/// allocation, no copy per value. The headers go into `headers`, an empty map (the
/// client driver's is the request's, emptied, its room kept).
pub(crate) fn response_from_head(
    head: &ResponseHead<'_>,
    wire: Option<&Bytes>,
    mut headers: HeaderMap,
) -> Result<Response<()>, Error> {
    let status =
        StatusCode::from_u16(head.status()).map_err(|_| Error::ResponseStatus(head.status()))?;
    let version = match head.version() {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    debug_assert!(headers.is_empty());
    // nginx takes a CGI head's status from its first `Status` line; the response holds
    // it as its status, not again as a header. nginx passes the other lines on.
    let mut status_line = head.is_cgi();
    for (name, value) in head.headers() {
        if status_line && name.eq_ignore_ascii_case(b"status") {
            status_line = false;
            continue;
        }
        let invalid = |what| Error::ResponseHeader {
            name: lossy(name),
            what,
        };
        let name = HeaderName::from_bytes(name).map_err(|_| invalid("header name"))?;
        let value = match wire.and_then(|wire| shared(wire, value)) {
            Some(value) => HeaderValue::from_maybe_shared(value),
            None => HeaderValue::from_bytes(value),
        }
        .map_err(|_| invalid("header value"))?;
        headers.append(name, value);
    }
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = version;
    *response.headers_mut() = headers;
    Ok(response)
}

/// `part` (a slice of `wire`'s bytes) as a slice of `wire` itself; `None` when it is
/// not inside it.
fn shared(wire: &Bytes, part: &[u8]) -> Option<Bytes> {
    let start = (part.as_ptr() as usize).checked_sub(wire.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= wire.len()).then(|| wire.slice(start..end))
}
