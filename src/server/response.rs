//! Writing the response: the raw HTTP/1.1 head nginx expects from a uwsgi backend, then
//! the body as the service yields it: gathered while frames are ready, written as soon
//! as the body has to wait.

use std::time::Duration;

use bytes::{Buf, BytesMut};
use futures_util::FutureExt;
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderValue, Response};
use http_body_util::BodyExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;

use crate::cgi::{encode_response_head, BoxError, HeadStyle};

use super::error::Error;
use super::half::Half;

/// Bytes gathered before a write: a small response goes out in one system call.
const WRITE_BUFFER: usize = 64 * 1024;

/// The writing half of a connection, with the buffer its responses are gathered in:
/// kept from one response to the next (and by `serve` from one connection to the next).
pub(super) struct Writer<'a, IO> {
    pub(super) io: Half<'a, IO>,
    pub(super) buf: &'a mut BytesMut,
}

/// Writes `response`; returns true when its end was announced (a Content-Length, or no
/// body), so that another response may follow on the connection.
pub(super) async fn write_response<IO, B>(
    write: &mut Writer<'_, IO>,
    response: Response<B>,
    limit: Duration,
) -> Result<bool, Error>
where
    IO: AsyncWrite + Unpin,
    B: http_body::Body<Error: Into<BoxError>>,
{
    let Writer {
        io: write,
        buf: out,
    } = write;
    let (mut parts, body) = response.into_parts();
    let exact = http_body::Body::size_hint(&body).exact();
    // The body is written as the raw bytes the service yields, never chunk-encoded: a
    // `Transfer-Encoding` it set would announce a framing the bytes do not have, so it
    // is dropped, and the body ends with its Content-Length or the connection (nginx
    // reads an upstream body either way).
    // Both names found in one walk of the (few) names, not a hashed lookup each.
    let (mut delimited, chunked) = parts.headers.keys().fold((false, false), |seen, name| {
        (
            seen.0 || name == CONTENT_LENGTH,
            seen.1 || name == TRANSFER_ENCODING,
        )
    });
    if chunked {
        parts.headers.remove(TRANSFER_ENCODING);
    }
    // A body of known size gets its Content-Length, so the front end can tell a cut
    // body from a whole one.
    if let (Some(len), false) = (exact, delimited) {
        parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        delimited = true;
    }
    let head = Response::from_parts(parts, ());
    // Emptied here: a write that failed may have left bytes in it.
    out.clear();
    out.reserve(512);
    encode_response_head(&head, HeadStyle::StatusLine, out)
        .map_err(|err| Error::ResponseBody(Box::new(err)))?;
    let mut body = std::pin::pin!(body);
    loop {
        let next = match body.frame().now_or_never() {
            Some(next) => next,
            None => {
                // The body has nothing ready: what has gathered goes out now, not when
                // the body ends (hyper's rule), so an event stream or a progress report
                // reaches the front end as the service yields it. A body that is ready
                // at once (most responses) still goes out in one write.
                if !out.is_empty() {
                    write_all(write, out, limit).await?;
                    out.clear();
                }
                body.frame().await
            }
        };
        let Some(frame) = next else {
            break;
        };
        let frame = frame.map_err(|err| Error::ResponseBody(err.into()))?;
        let Ok(mut data) = frame.into_data() else {
            continue; // trailers: HTTP/1.x without chunking has nowhere to put them
        };
        while data.has_remaining() {
            let chunk = data.chunk();
            let n = chunk.len();
            if out.len() + n <= WRITE_BUFFER {
                out.extend_from_slice(chunk);
            } else {
                // A large chunk goes out as it is, after what was gathered: the buffer
                // never holds more than WRITE_BUFFER bytes.
                if !out.is_empty() {
                    write_all(write, out, limit).await?;
                    out.clear();
                }
                write_all(write, chunk, limit).await?;
            }
            data.advance(n);
        }
    }
    if !out.is_empty() {
        write_all(write, out, limit).await?;
    }
    Ok(delimited)
}

/// Answers with a bare status (an error met before the service could answer).
pub(super) async fn write_status<W: AsyncWrite + Unpin>(
    write: &mut W,
    code: u16,
    limit: Duration,
) -> Result<(), Error> {
    write_text(write, code, &format!("{code} {}", reason(code)), limit).await
}

/// Answers with a status and a line of text as its body.
pub(super) async fn write_text<W: AsyncWrite + Unpin>(
    write: &mut W,
    code: u16,
    text: &str,
    limit: Duration,
) -> Result<(), Error> {
    let reason = reason(code);
    let body = format!("{text}\n");
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    write_all(write, head.as_bytes(), limit).await
}

/// The reason phrase of a status line: the canonical one, or `Error`.
fn reason(code: u16) -> &'static str {
    http::StatusCode::from_u16(code)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("Error")
}

/// Writes all of `bytes` within `limit`.
pub(super) async fn write_all<W: AsyncWrite + Unpin>(
    write: &mut W,
    bytes: &[u8],
    limit: Duration,
) -> Result<(), Error> {
    let mut written = std::pin::pin!(write.write_all(bytes));
    // Most writes are done at once (the socket has room): no clock read for a timer
    // they do not need. The limit starts when a write has to wait.
    if let Some(result) = (&mut written).now_or_never() {
        return Ok(result?);
    }
    match timeout(limit, written).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(Error::WriteTimeout),
    }
}
