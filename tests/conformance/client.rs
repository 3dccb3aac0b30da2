//! A small HTTP/1.1 client over `std::net::TcpStream`: it writes the exact header bytes a
//! test wants (duplicates, non-UTF-8 values, huge lines), knows its local port (which the
//! front ends report as `REMOTE_PORT`), and can send a body in pieces.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(30);

/// An HTTP/1.1 request head, written byte for byte as built.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    head: Vec<u8>,
}

impl HttpRequest {
    /// `METHOD TARGET HTTP/1.1` with `Host: 127.0.0.1:<port>` first.
    pub fn new(method: &str, target: &str, port: u16) -> HttpRequest {
        let mut head = format!("{method} {target} HTTP/1.1\r\n").into_bytes();
        head.extend_from_slice(format!("Host: 127.0.0.1:{port}\r\n").as_bytes());
        HttpRequest { head }
    }

    /// Adds one header line `name: value` (raw bytes, no checks).
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> HttpRequest {
        self.head.extend_from_slice(name.as_bytes());
        self.head.extend_from_slice(b": ");
        self.head.extend_from_slice(value.as_ref());
        self.head.extend_from_slice(b"\r\n");
        self
    }

    /// The head with its final blank line (`Connection: close` is added first).
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = self.head.clone();
        out.extend_from_slice(b"Connection: close\r\n\r\n");
        out
    }

    /// Sends the head and `body` (as given: add `Content-Length` or chunk it yourself)
    /// and reads the response. A front end may answer before the body is all sent (an
    /// error status) and close: a failed body write is ignored, the response decides.
    pub fn send(&self, port: u16, body: &[u8]) -> (u16, HttpResponse) {
        let mut conn = Conn::open(port);
        conn.write(&self.bytes());
        let _ = conn.stream.write_all(body);
        let local_port = conn.local_port;
        (local_port, conn.response())
    }
}

/// One open connection to a front end.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    pub local_port: u16,
}

impl Conn {
    pub fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connect 127.0.0.1:{port}: {e}"));
        stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        stream.set_write_timeout(Some(TIMEOUT)).expect("timeout");
        let local_port = stream.local_addr().expect("local addr").port();
        Conn { stream, local_port }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("write {} bytes: {e}", bytes.len()));
    }

    /// Reads the response: status line, headers, then a Content-Length body, a chunked
    /// body, or everything up to the close.
    pub fn response(mut self) -> HttpResponse {
        let mut buf = Vec::new();
        let head_end = loop {
            if let Some(at) = find(&buf, b"\r\n\r\n") {
                break at + 4;
            }
            if !self.read_more(&mut buf) {
                panic!(
                    "connection closed inside the response head: {:?}",
                    String::from_utf8_lossy(&buf)
                );
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default().to_owned();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let mut body = buf.split_off(head_end);
        if let Some(len) = header("content-length") {
            let len: usize = len.parse().expect("numeric Content-Length");
            while body.len() < len && self.read_more(&mut body) {}
            body.truncate(len);
        } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            while find(&body, b"0\r\n\r\n").is_none() && self.read_more(&mut body) {}
            body = dechunk(&body);
        } else {
            while self.read_more(&mut body) {}
        }
        HttpResponse {
            status,
            status_line,
            body,
        }
    }

    fn read_more(&mut self, buf: &mut Vec<u8>) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => false,
            Err(e) => panic!("read response: {e}"),
        }
    }
}

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub status_line: String,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as JSON, after checking the status is 200 (the body is in the message
    /// otherwise).
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.body));
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a chunked body (no trailers, no extensions: what the front ends send).
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = find(data, b"\r\n") {
        let size = std::str::from_utf8(&data[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    out
}

/// `body` in HTTP/1.1 chunked encoding, `size` bytes per chunk.
pub fn chunked(body: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in body.chunks(size) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// A deterministic body of `len` bytes covering every byte value.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3])
        .collect()
}
