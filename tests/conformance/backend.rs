//! The test backend: a uwsgi listener built on the crate's core API only.
//!
//! For each connection it parses the packet with `Packet::parse` on a growing buffer,
//! types it with `Request::try_from`, reads exactly `content_length` body bytes,
//! answers `HTTP/1.1 200 OK` with a Content-Length body, then reads until the front end
//! closes, keeping any stray bytes. Every byte received is recorded.

use std::io::{ErrorKind as IoErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use uwsgi_wire::{message::Request, Limits, Packet, ParseError, Status};

/// The body of every answer.
pub const REPLY_BODY: &[u8] = b"ok";

/// How long the backend waits for bytes a front end owes it.
const READ_TIMEOUT: Duration = Duration::from_secs(20);
/// How long it waits, after answering, for the front end to close.
const LINGER: Duration = Duration::from_secs(2);

/// What happened on one connection.
#[derive(Debug)]
pub enum Event {
    /// A connection was accepted.
    Accepted,
    /// The packet (header + vars) arrived and decoded; the body may still be on its way.
    Head,
    /// The connection is over.
    Done(Outcome),
}

#[derive(Debug)]
pub enum Outcome {
    /// A whole request: packet, `content_length` body bytes, and what came after.
    Request(Capture),
    /// The front end closed before a whole packet (and body) arrived.
    Closed { raw: Vec<u8> },
    /// Our decoder refused the bytes.
    Refused { raw: Vec<u8>, error: ParseError },
    /// A socket error.
    Io(String),
}

impl Outcome {
    /// A one-line description for failure messages.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Request(capture) => format!(
                "a request of {} + {} bytes",
                capture.packet_len,
                capture.body().len()
            ),
            Outcome::Closed { raw } => format!("closed after {} bytes: {raw:02x?}", raw.len()),
            Outcome::Refused { raw, error } => format!(
                "our decoder refused it: {error} in {:?}",
                String::from_utf8_lossy(raw)
            ),
            Outcome::Io(why) => format!("socket error: {why}"),
        }
    }
}

/// The raw bytes of one request as received.
#[derive(Debug)]
pub struct Capture {
    /// Everything received before the answer was sent: packet then body.
    pub raw: Vec<u8>,
    /// Length of the packet (4 + datasize).
    pub packet_len: usize,
    /// Bytes received after the body (before the front end closed).
    pub extra: Vec<u8>,
    /// True when the front end closed its side within [`LINGER`] after the answer.
    pub closed: bool,
}

impl Capture {
    /// The packet, parsed again from the recorded bytes.
    pub fn packet(&self) -> Packet<'_> {
        match Packet::parse(&self.raw, &Limits::new()) {
            Ok(Status::Complete((packet, len))) if len == self.packet_len => packet,
            other => panic!("recorded packet no longer parses: {other:?}"),
        }
    }

    /// The request view of the packet.
    pub fn request(&self) -> Request<'_> {
        Request::try_from(&self.packet()).expect("was checked on receipt")
    }

    /// The packet bytes (header and block).
    pub fn packet_bytes(&self) -> &[u8] {
        &self.raw[..self.packet_len]
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.raw[self.packet_len..]
    }
}

/// A listener on 127.0.0.1 serving connections one after the other in a thread.
#[derive(Debug)]
pub struct Backend {
    port: u16,
    events: Receiver<Event>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Backend {
    pub fn start() -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind backend");
        let port = listener.local_addr().expect("backend addr").port();
        let (tx, events) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                if tx.send(Event::Accepted).is_err() {
                    break;
                }
                let outcome = serve(conn, &tx);
                if tx.send(Event::Done(outcome)).is_err() {
                    break;
                }
            }
        });
        Backend {
            port,
            events,
            stop,
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The next event, skipping none; panics after `timeout`.
    pub fn next_event(&self, timeout: Duration) -> Event {
        match self.events.recv_timeout(timeout) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => panic!("backend: nothing within {timeout:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("backend thread ended"),
        }
    }

    /// Waits until a packet head has been decoded (its body may still be arriving).
    pub fn expect_head(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_event(left) {
                Event::Accepted => {}
                Event::Head => return,
                Event::Done(outcome) => {
                    panic!("connection ended before a head: {}", outcome.describe())
                }
            }
        }
    }

    /// The next finished connection.
    pub fn expect_outcome(&self, timeout: Duration) -> Outcome {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Event::Done(outcome) = self.next_event(left) {
                return outcome;
            }
        }
    }

    /// The next whole request; panics on any other outcome.
    pub fn expect_request(&self) -> Capture {
        match self.expect_outcome(READ_TIMEOUT) {
            Outcome::Request(capture) => capture,
            other => panic!("expected a whole request, got {}", other.describe()),
        }
    }

    /// Panics if a connection arrives within `window`.
    pub fn expect_no_connection(&self, window: Duration) {
        if let Ok(event) = self.events.recv_timeout(window) {
            panic!("expected no backend connection, got {event:?}");
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads into `buf` (appending); returns the number of bytes read, 0 at EOF.
fn read_more(conn: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 64 * 1024];
    loop {
        match conn.read(&mut chunk) {
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Ok(n);
            }
            Err(e) if e.kind() == IoErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn serve(mut conn: TcpStream, events: &Sender<Event>) -> Outcome {
    if let Err(e) = conn.set_read_timeout(Some(READ_TIMEOUT)) {
        return Outcome::Io(e.to_string());
    }
    let mut buf = Vec::new();
    // The packet: parse the growing buffer until it is complete.
    let (packet_len, content_length) = loop {
        match Packet::parse(&buf, &Limits::new()) {
            Ok(Status::Complete((packet, packet_len))) => match Request::try_from(&packet) {
                Ok(request) => break (packet_len, request.content_length()),
                Err(error) => return Outcome::Refused { raw: buf, error },
            },
            Ok(Status::Partial { .. }) => match read_more(&mut conn, &mut buf) {
                Ok(0) => return Outcome::Closed { raw: buf },
                Ok(_) => {}
                Err(e) => return Outcome::Io(format!("{e} after {} bytes", buf.len())),
            },
            Err(error) => return Outcome::Refused { raw: buf, error },
        }
    };
    let _ = events.send(Event::Head);
    // The body: exactly content_length bytes.
    let Ok(body_len) = usize::try_from(content_length) else {
        return Outcome::Io(format!(
            "CONTENT_LENGTH {content_length} does not fit usize"
        ));
    };
    let end = packet_len + body_len;
    while buf.len() < end {
        match read_more(&mut conn, &mut buf) {
            Ok(0) => return Outcome::Closed { raw: buf },
            Ok(_) => {}
            Err(e) => return Outcome::Io(format!("{e} after {} of {end} bytes", buf.len())),
        }
    }
    let mut extra = buf.split_off(end);
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        REPLY_BODY.len()
    );
    if let Err(e) = conn
        .write_all(answer.as_bytes())
        .and_then(|()| conn.write_all(REPLY_BODY))
    {
        return Outcome::Io(format!("answer: {e}"));
    }
    let _ = conn.shutdown(Shutdown::Write);
    // Whatever the front end still sends before it closes.
    let _ = conn.set_read_timeout(Some(LINGER));
    let closed = loop {
        match read_more(&mut conn, &mut extra) {
            Ok(0) => break true,
            Ok(_) => {}
            Err(_) => break false,
        }
    };
    Outcome::Request(Capture {
        raw: buf,
        packet_len,
        extra,
        closed,
    })
}
