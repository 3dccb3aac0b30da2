//! `--access-log FILE|-`: one line a request in nginx's `combined` format, written as
//! nginx's `ngx_http_log_module` writes it, when the response's last byte is handed
//! on (or the response is dropped, a client gone).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use http::header::{CONTENT_LENGTH, REFERER, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Version};
use http_body_util::BodyExt;
use hyper::body::Body as _;

use super::Body;

/// Where the lines go.
pub struct AccessLog {
    out: Mutex<Box<dyn Write + Send>>,
}

impl AccessLog {
    /// `-` is stdout; a file is opened to append, created if missing, as nginx opens it.
    pub fn open(path: &Path) -> io::Result<AccessLog> {
        let out: Box<dyn Write + Send> = if path.as_os_str() == "-" {
            Box::new(io::stdout())
        } else {
            let file: File = OpenOptions::new().create(true).append(true).open(path)?;
            Box::new(file)
        };
        Ok(AccessLog {
            out: Mutex::new(out),
        })
    }

    /// What the line of `request` says of the request, taken before it is forwarded.
    pub fn entry<B>(self: &Arc<Self>, request: &Request<B>, peer: SocketAddr) -> Entry {
        let version = match request.version() {
            Version::HTTP_09 => "HTTP/0.9",
            Version::HTTP_10 => "HTTP/1.0",
            Version::HTTP_2 => "HTTP/2.0",
            _ => "HTTP/1.1",
        };
        // HTTP/2 has no request line: nginx writes the :path (hyper's URI holds the
        // :scheme and :authority too); HTTP/1's is the target as sent.
        let target = match request.version() {
            Version::HTTP_2 => request.uri().path_and_query().map_or("/", |pq| pq.as_str()),
            _ => &request.uri().to_string(),
        };
        let line = format!("{} {target} {version}", request.method());
        Entry {
            log: self.clone(),
            remote_addr: peer.ip().to_string(),
            request: escape(line.as_bytes()),
            referer: header(request.headers(), REFERER),
            user_agent: header(request.headers(), USER_AGENT),
            status: 0,
            bytes: 0,
        }
    }

    fn write(&self, line: &str) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        // One write a line, as nginx writes it; a full disk loses the line, not the
        // request.
        if let Err(err) = out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
            tracing::warn!(error = %err, "access log");
        }
    }
}

/// One request's line, written when dropped.
pub struct Entry {
    log: Arc<AccessLog>,
    remote_addr: String,
    request: String,
    referer: String,
    user_agent: String,
    status: u16,
    /// nginx's `$body_bytes_sent`: the body bytes handed to the client connection.
    bytes: u64,
}

impl Entry {
    /// `response` with its body counted; the line is written when the body is done.
    pub fn wrap(mut self, mut response: Response<Body>) -> Response<Body> {
        self.status = response.status().as_u16();
        // The counting body hides the length from hyper: say it in the head, or a body
        // of known length would go out chunked (never on a status that has no body).
        let status = response.status();
        let bodiless = status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED;
        if let Some(len) = response.body().size_hint().exact() {
            if !bodiless && !response.headers().contains_key(CONTENT_LENGTH) {
                response
                    .headers_mut()
                    .insert(CONTENT_LENGTH, HeaderValue::from(len));
            }
        }
        let mut entry = self;
        response.map(|body| {
            body.map_frame(move |frame| {
                // The whole entry moves into the closure (not its field alone): its drop,
                // with the body's, writes the line.
                let entry = &mut entry;
                if let Some(data) = frame.data_ref() {
                    entry.bytes += u64::try_from(data.len()).unwrap_or(u64::MAX);
                }
                frame
            })
            .boxed_unsync()
        })
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        // nginx's $time_local; the gateway's clock is read in UTC.
        let time = chrono::Utc::now().format("%d/%b/%Y:%H:%M:%S %z");
        let line = format!(
            "{} - - [{time}] \"{}\" {} {} \"{}\" \"{}\"\n",
            self.remote_addr, self.request, self.status, self.bytes, self.referer, self.user_agent
        );
        self.log.write(&line);
    }
}

/// A header's first line, escaped; `-` when absent, as nginx logs a variable not found.
fn header(headers: &HeaderMap, name: HeaderName) -> String {
    headers
        .get(name)
        .map_or_else(|| "-".to_owned(), |value| escape(value.as_bytes()))
}

/// nginx's `ngx_http_log_escape` (`escape=default`): `"`, `\`, control bytes and bytes
/// from 0x7f as `\xXX`.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if !(0x20..0x7f).contains(&b) || b == b'"' || b == b'\\' {
            out.push_str(&format!("\\x{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_of_known_length_keeps_its_content_length() {
        let log = Arc::new(AccessLog {
            out: Mutex::new(Box::new(io::sink())),
        });
        let request = Request::get("/").body(()).unwrap();
        let peer = "127.0.0.1:1".parse().unwrap();
        let response = log
            .entry(&request, peer)
            .wrap(super::super::answer(http::StatusCode::NOT_FOUND));
        assert_eq!(response.headers()[CONTENT_LENGTH], "14");
        // A body of unknown length is left to hyper's framing.
        let unknown = super::super::answer(http::StatusCode::NOT_FOUND)
            .map(|body| body.map_frame(|frame| frame).boxed_unsync());
        let response = log.entry(&request, peer).wrap(unknown);
        assert!(!response.headers().contains_key(CONTENT_LENGTH));
        let not_modified = log
            .entry(&request, peer)
            .wrap(super::super::answer(http::StatusCode::NOT_MODIFIED));
        assert!(!not_modified.headers().contains_key(CONTENT_LENGTH));
    }

    #[test]
    fn values_are_escaped_as_nginx_escapes_them() {
        assert_eq!(escape(b"Mozilla/5.0 (X11)"), "Mozilla/5.0 (X11)");
        assert_eq!(escape(b"a\"b\\c\td\x7f"), "a\\x22b\\x5Cc\\x09d\\x7F");
        assert_eq!(escape("é".as_bytes()), "\\xC3\\xA9");
    }
}
