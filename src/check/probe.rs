//! One attempt of a case: connect, write the bytes (in the writes and pauses given),
//! read the reply through the exchange core's client side, every wait bounded.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{sleep, timeout, timeout_at};

use crate::client::{self, ErrorKind};
use crate::exchange::{ClientExchange, Event, ExchangeError, Head, Reply};
use crate::wire::limits::Limits;
use crate::wire::status::Status;

/// The most bytes read from one connection; past it the reply is taken as it is.
const MAX_READ: usize = 1 << 20;

/// One write of an attempt, after a pause.
#[derive(Debug, Clone)]
pub(super) struct Write {
    pub(super) pause: Duration,
    pub(super) bytes: Vec<u8>,
}

impl Write {
    pub(super) fn now(bytes: impl Into<Vec<u8>>) -> Write {
        Write {
            pause: Duration::ZERO,
            bytes: bytes.into(),
        }
    }

    pub(super) fn after(pause: Duration, bytes: impl Into<Vec<u8>>) -> Write {
        Write {
            pause,
            bytes: bytes.into(),
        }
    }
}

/// `bytes` as writes of `size` bytes each, `pause` between them.
pub(super) fn dribble(bytes: &[u8], size: usize, pause: Duration) -> Vec<Write> {
    bytes
        .chunks(size.max(1))
        .enumerate()
        .map(|(i, chunk)| Write {
            pause: if i == 0 { Duration::ZERO } else { pause },
            bytes: chunk.to_vec(),
        })
        .collect()
}

/// What came back.
#[derive(Debug)]
pub(super) enum Answer {
    /// An HTTP/1.x response head (status line or CGI), and whether its body was read to
    /// its end.
    Response {
        status: u16,
        /// `Some(minor)` for a status line, `None` for a CGI head.
        version: Option<u8>,
        /// The head has a `Status` header (meaningful for a CGI head).
        status_header: bool,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        complete: bool,
    },
    /// A uwsgi packet (a pong, a signal's generic response).
    Packet { modifier1: u8, modifier2: u8 },
    /// Raw bytes (an echo reply), in `Attempt::body`.
    Raw,
    /// The peer closed (or reset) the connection without sending a byte.
    Closed,
    /// Nothing complete arrived, and the connection stayed open, for the whole timeout.
    Timeout,
    /// Bytes that are not the reply expected.
    Invalid(String),
    /// No connection.
    Unreachable(client::Error),
}

/// One attempt: what was sent, what came back.
#[derive(Debug)]
pub(super) struct Attempt {
    pub(super) sent: Vec<u8>,
    pub(super) received: Vec<u8>,
    pub(super) answer: Answer,
    /// The reply's body bytes (bounded by [`MAX_READ`]).
    pub(super) body: Vec<u8>,
    /// Bytes that came after the reply's end, while lingering.
    pub(super) extra: Vec<u8>,
    /// A write that failed (the server closed early): its error.
    pub(super) write_error: Option<String>,
}

impl Attempt {
    pub(super) fn status(&self) -> Option<u16> {
        match self.answer {
            Answer::Response { status, .. } => Some(status),
            _ => None,
        }
    }

    /// The answer in a few words, for a failure's detail.
    pub(super) fn describe(&self, limit: Duration) -> String {
        let mut out = match &self.answer {
            Answer::Response {
                status, complete, ..
            } => {
                if *complete {
                    format!("answered {status}")
                } else {
                    format!("answered {status} (body not read to its end)")
                }
            }
            Answer::Packet {
                modifier1,
                modifier2,
            } => format!("answered a uwsgi packet, modifier1 {modifier1}, modifier2 {modifier2}"),
            Answer::Raw => format!("answered {} raw bytes", self.body.len()),
            Answer::Closed => "closed the connection without answering".to_owned(),
            Answer::Timeout => format!(
                "neither answered nor closed within {limit:?} ({} bytes received)",
                self.received.len()
            ),
            Answer::Invalid(why) => format!("sent an invalid reply: {why}"),
            Answer::Unreachable(why) => format!("could not be reached: {why}"),
        };
        if let Some(err) = &self.write_error {
            out.push_str(&format!(" (a write failed: {err})"));
        }
        out
    }
}

/// A connection of any kind: a socket, one half of a `tokio::io::duplex`, ...
pub(super) trait Io: AsyncRead + AsyncWrite + Send {}

impl<T: AsyncRead + AsyncWrite + Send> Io for T {}

/// A connection, pinned: any `Io`, `Unpin` or not.
pub(super) type Conn = Pin<Box<dyn Io>>;

/// A connection being opened.
pub(super) type Connecting = Pin<Box<dyn Future<Output = Result<Conn, client::Error>> + Send>>;

/// Opens a connection per call. Boxed, so that the cases are compiled once whatever
/// the connector; behind a mutex, so that an `FnMut` serves cases that share `&Probe`
/// (a case opens one connection at a time: the lock is never held across an await).
pub(super) type Connect = Mutex<Box<dyn FnMut() -> Connecting + Send>>;

/// What and how long: every connection of a run.
pub(super) struct Probe {
    /// The address, or `connector`: for logs and the report.
    pub(super) addr: String,
    pub(super) connect: Connect,
    pub(super) timeout: Duration,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe")
            .field("addr", &self.addr)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Probe {
    /// Connects, writes `writes`, reads the reply expected (`reply`), then lingers up
    /// to `linger` for bytes after it.
    pub(super) async fn attempt(
        &self,
        writes: &[Write],
        reply: Reply,
        linger: Duration,
    ) -> Attempt {
        let sent: Vec<u8> = writes
            .iter()
            .flat_map(|w| w.bytes.iter().copied())
            .collect();
        let mut attempt = Attempt {
            sent,
            received: Vec::new(),
            answer: Answer::Timeout,
            body: Vec::new(),
            extra: Vec::new(),
            write_error: None,
        };
        let connecting = {
            let mut connect = self.connect.lock().unwrap_or_else(PoisonError::into_inner);
            (*connect)()
        };
        let mut stream = match timeout(self.timeout, connecting).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(err)) => {
                attempt.answer = Answer::Unreachable(err);
                return attempt;
            }
            Err(_) => {
                attempt.answer = Answer::Unreachable(client::Error::new(
                    ErrorKind::Timeout,
                    format!("no connection within {:?}", self.timeout),
                ));
                return attempt;
            }
        };
        for write in writes {
            if !write.pause.is_zero() {
                sleep(write.pause).await;
            }
            match timeout(self.timeout, stream.write_all(&write.bytes)).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    attempt.write_error = Some(err.to_string());
                    break;
                }
                Err(_) => {
                    attempt.write_error =
                        Some(format!("the server took no bytes for {:?}", self.timeout));
                    break;
                }
            }
        }
        let _ = stream.flush().await;
        self.read(&mut stream, reply, linger, &mut attempt).await;
        tracing::debug!(addr = %self.addr, answer = ?attempt.answer, "check attempt");
        attempt
    }

    async fn read(&self, stream: &mut Conn, reply: Reply, linger: Duration, out: &mut Attempt) {
        let deadline = crate::deadline::after(self.timeout);
        let mut machine = ClientExchange::new(Limits::new());
        machine.expect(reply);
        let mut buf: Vec<u8> = Vec::new();
        let mut start = 0usize;
        let mut eof = false;
        let mut answer: Option<Answer> = None;
        loop {
            match step(&mut machine, &buf[start..], eof) {
                Err(err) => {
                    out.answer = if out.received.is_empty() && err.is_eof() {
                        Answer::Closed
                    } else {
                        Answer::Invalid(err.to_string())
                    };
                    return;
                }
                Ok(Step::Event(event, used)) => {
                    start += used;
                    match event {
                        Owned::Head(head) => answer = Some(head),
                        Owned::Body(bytes) => out.body.extend_from_slice(&bytes),
                        Owned::End => {
                            if let Some(Answer::Response { complete, .. }) = answer.as_mut() {
                                *complete = true;
                            }
                            break;
                        }
                    }
                    continue;
                }
                Ok(Step::Done) => break,
                Ok(Step::More) => {}
            }
            if out.received.len() >= MAX_READ {
                break;
            }
            // Drop what the machine consumed before reading more.
            buf.drain(..start);
            start = 0;
            let mut chunk = [0u8; 16 * 1024];
            match timeout_at(deadline, stream.read(&mut chunk)).await {
                Err(_) => break,
                Ok(Ok(0)) => eof = true,
                Ok(Ok(n)) => {
                    let n = n.min(chunk.len());
                    buf.extend_from_slice(&chunk[..n]);
                    out.received.extend_from_slice(&chunk[..n]);
                }
                Ok(Err(err)) => {
                    tracing::debug!(error = %err, "read failed: taken as the close");
                    eof = true;
                }
            }
        }
        out.answer = match answer {
            Some(answer) => answer,
            None if eof && out.received.is_empty() => Answer::Closed,
            None => Answer::Timeout,
        };
        // What follows the reply's end: lingering bytes (a second answer).
        out.extra.extend_from_slice(&buf[start..]);
        if eof || linger.is_zero() || matches!(out.answer, Answer::Timeout) {
            return;
        }
        let until = crate::deadline::after(linger);
        while out.extra.len() < 64 * 1024 {
            let mut chunk = [0u8; 16 * 1024];
            match timeout_at(until, stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => {
                    let n = n.min(chunk.len());
                    out.extra.extend_from_slice(&chunk[..n]);
                    out.received.extend_from_slice(&chunk[..n]);
                }
                _ => break,
            }
        }
    }
}

/// An event, copied out of the read buffer.
enum Owned {
    Head(Answer),
    Body(Vec<u8>),
    End,
}

enum Step {
    Event(Owned, usize),
    More,
    Done,
}

fn step(machine: &mut ClientExchange, buf: &[u8], eof: bool) -> Result<Step, ExchangeError> {
    let event = if eof {
        match machine.decode_eof(buf)? {
            Some(done) => done,
            None => return Ok(Step::Done),
        }
    } else {
        match machine.decode(buf)? {
            Status::Complete(done) => done,
            Status::Partial { .. } => return Ok(Step::More),
        }
    };
    let (event, used) = event;
    let owned = match event {
        Event::Head { head, .. } => Owned::Head(match head {
            Head::Response(head) => Answer::Response {
                status: head.status(),
                version: head.version(),
                status_header: head
                    .headers()
                    .any(|(name, _)| name.eq_ignore_ascii_case(b"status")),
                headers: head
                    .headers()
                    .map(|(name, value)| (name.to_vec(), value.to_vec()))
                    .collect(),
                complete: false,
            },
            Head::Packet(packet) => Answer::Packet {
                modifier1: packet.modifier1().0,
                modifier2: packet.modifier2(),
            },
            Head::Raw => Answer::Raw,
        }),
        Event::Body(bytes) => Owned::Body(bytes.to_vec()),
        Event::End => Owned::End,
    };
    Ok(Step::Event(owned, used))
}
