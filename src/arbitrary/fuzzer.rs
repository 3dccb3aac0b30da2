//! [`Fuzzer`]: a service fuzzed through the server driver, in memory, as nginx talks to it.

use std::fmt;
use std::pin::pin;
use std::time::Duration;

use ::arbitrary::{Arbitrary, Unstructured};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::runtime::Runtime;
use tokio::time::timeout;

use crate::exchange::{ClientExchange, Event, Head, Reply, ServerExchange};
use crate::server::{Builder, HttpService};
use crate::wire::header::Modifier1;
use crate::wire::limits::Limits;
use crate::wire::status::Status;

use super::ArbitraryRequest;

/// nginx's default `uwsgi_read_timeout` and `uwsgi_send_timeout`: the longest wait for
/// one read of the answer, or one write of the request, before nginx gives up (504).
const NGINX_TIMEOUT: Duration = Duration::from_secs(60);

/// The answer bytes read per input: enough for any head and the start of its body;
/// what comes after is not read (nginx would stream it on to its client).
const MAX_ANSWER: usize = 1 << 20;

/// The most bytes of the input and of the answer a failure quotes.
const QUOTE: usize = 512;

/// Fuzzes a service through the server driver, in memory: each input becomes what nginx
/// sends on a connection, the driver
/// ([`Builder::serve_connection`](crate::server::Builder::serve_connection)) serves it on
/// one end of a [`tokio::io::duplex`] pipe, and the answer read from the other end must
/// be what nginx reads as a response. A fuzz target of a server built on this crate is
/// then a few lines (`fuzz/README.md`; `ignore`d here: it needs cargo-fuzz's
/// `libfuzzer-sys`):
///
/// ```ignore
/// // fuzz/fuzz_targets/app.rs
/// #![no_main]
/// use std::sync::LazyLock;
/// use uwsgi_wire::arbitrary::Fuzzer;
///
/// static FUZZER: LazyLock<Fuzzer<axum::Router>> = LazyLock::new(|| Fuzzer::new(my_app::router()));
///
/// libfuzzer_sys::fuzz_target!(|data: &[u8]| FUZZER.run(data));
/// ```
///
/// [`run`](Fuzzer::run) panics, so libFuzzer records a crash, when:
///
/// - the service or the driver panics;
/// - the answer hangs, in virtual time (tokio's paused clock, so waits cost nothing and
///   every run is the same): after a whole valid request, nothing arrives for 60 s
///   (nginx's `uwsgi_read_timeout`) before the reply's end; or the connection does not
///   end within 60 s after nginx closes it (done, or giving up);
/// - the answer is not one nginx reads: the head does not parse as nginx reads heads
///   (the exchange core's [`ClientExchange`], which the client driver and the
///   `uwsgi-wire gateway` read replies with), the body is cut short of its
///   Content-Length or runs past it, bytes follow the reply, or a valid request got no
///   answer at all (nginx answers 502 for each).
///
/// A CPU-bound loop in the service never lets the virtual clock move; libFuzzer's own
/// `-timeout` catches it (`fuzz/run.sh` sets 10 s). The input's first byte chooses:
///
/// - bit 0 clear: an [`ArbitraryRequest`] made from the rest, a valid request and body
///   as nginx sends them. It must be answered with exactly one HTTP response (any
///   status: a 400 or a 500 is an answer). To a `HEAD`, only the head is read: nginx
///   drops whatever follows it.
/// - bit 0 set: the rest as raw bytes, possibly malformed, pipelined or cut short (bit 1
///   set: the write side is shut down after them). The driver may close at any point
///   between two replies (it refuses a malformed packet with a 400, 408, 413 or 431, or
///   closes without a word, as uWSGI does), but each reply it writes must be the one its
///   packet asks for ([`Reply::to`]: a response to a request, a pong to a ping) or, last,
///   an HTTP error status; a response body may end early, as the request's did.
/// - bits 2-5: the pipe's buffer, 64 bytes to 64 KiB, so writes on both sides come in
///   pieces.
///
/// The runtime is a current-thread one, built once: `run` must not be called from
/// inside another tokio runtime.
///
/// ```
/// use axum::{routing::get, Router};
/// use uwsgi_wire::arbitrary::Fuzzer;
///
/// let fuzzer = Fuzzer::new(Router::new().route("/", get(|| async { "hello" })));
/// fuzzer.run(b"");                           // GET / as nginx sends it: 200
/// fuzzer.run(b"\x01\x64\x00\x00\x00");       // raw bytes: a ping, answered with a pong
/// fuzzer.run(b"\x01\x00\x05\x00\x00\x00\x00\x01\x00x"); // a zero-length key: 400
/// fuzzer.run(b"\x03\x00\x05\x00\x00\x01");   // a packet cut short by the close: closed
///
/// // A service that never answers: a hang, in no time.
/// let stuck = Router::new().route("/", get(|| std::future::pending::<&'static str>()));
/// let hang = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Fuzzer::new(stuck).run(b"")));
/// assert!(hang.is_err());
/// ```
pub struct Fuzzer<S> {
    service: S,
    builder: Builder,
    runtime: Runtime,
}

impl<S> fmt::Debug for Fuzzer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fuzzer")
            .field("builder", &self.builder)
            .finish_non_exhaustive()
    }
}

impl<S: HttpService + Clone> Fuzzer<S> {
    /// A fuzzer of `service`, served with [`Builder::new`]'s settings; each input gets a
    /// clone of it.
    ///
    /// # Panics
    ///
    /// If the tokio runtime cannot be built (it needs no I/O driver, only a timer).
    ///
    /// ```
    /// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    /// let fuzzer = uwsgi_wire::arbitrary::Fuzzer::new(app);
    /// # let _ = fuzzer;
    /// ```
    pub fn new(service: S) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a current-thread runtime with a paused clock");
        Fuzzer {
            service,
            builder: Builder::new(),
            runtime,
        }
    }

    /// Serves with `builder`'s limits and timeouts instead, the ones the server runs with.
    ///
    /// ```
    /// use uwsgi_wire::{arbitrary::Fuzzer, server::Builder, Limits};
    /// let app = axum::Router::new();
    /// let fuzzer = Fuzzer::new(app).builder(Builder::new().limits(Limits::new().max_body(4096)));
    /// fuzzer.run(b"");
    /// ```
    #[must_use]
    pub fn builder(mut self, builder: Builder) -> Self {
        self.builder = builder;
        self
    }

    /// Runs one input (see [`Fuzzer`] for how it is read); panics with what went wrong,
    /// the input and the answer quoted, when the service or the driver fails.
    ///
    /// ```
    /// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    /// uwsgi_wire::arbitrary::Fuzzer::new(app).run(b"any bytes at all");
    /// ```
    pub fn run(&self, data: &[u8]) {
        let input = Input::new(data);
        if let Err(failure) = self.runtime.block_on(self.exchange(&input)) {
            panic!("{failure}");
        }
    }

    /// One connection: nginx's side and the driver's, until both are done.
    async fn exchange(&self, input: &Input) -> Result<(), String> {
        let (client, server) = tokio::io::duplex(input.buffer);
        let builder = self.builder;
        let service = self.service.clone();
        // Only awaited, so that this holds whatever `serve_connection` returns.
        let mut conn = pin!(async move { builder.serve_connection(server, service).await });
        let mut nginx = pin!(nginx(client, &input.wire, input.close));
        let (answer, served) = tokio::select! {
            answer = &mut nginx => (Some(answer), None),
            served = &mut conn => (None, Some(served.err())),
        };
        let answer = match answer {
            Some(answer) => answer,
            // The driver is done and its end of the pipe dropped: the rest of the answer
            // is in the pipe.
            None => nginx.await,
        };
        if let Err(why) = check(input, &answer) {
            return Err(failure(input, &answer, &why, served.flatten()));
        }
        // nginx is done and its end of the pipe dropped: the driver must notice.
        if served.is_none() && timeout(NGINX_TIMEOUT, &mut conn).await.is_err() {
            let why = "hang: the connection did not end within 60 s after nginx closed it";
            return Err(failure(input, &answer, why, None));
        }
        Ok(())
    }
}

/// One input, as [`Fuzzer`] reads it.
struct Input {
    /// The bytes nginx writes.
    wire: Vec<u8>,
    /// The request that made them, when they are one valid request.
    request: bool,
    /// Shut down the write side after them.
    close: bool,
    /// The pipe's buffer.
    buffer: usize,
}

impl Input {
    fn new(data: &[u8]) -> Self {
        let (&flags, rest) = data.split_first().unwrap_or((&0, &[]));
        let buffer = 64 << ((flags >> 2) & 0x0f).min(10);
        let raw = Input {
            wire: rest.to_vec(),
            request: false,
            close: flags & 2 != 0,
            buffer,
        };
        if flags & 1 != 0 {
            return raw;
        }
        match ArbitraryRequest::arbitrary_take_rest(Unstructured::new(rest)) {
            Ok(request) => Input {
                wire: request.to_bytes(),
                request: true,
                close: false,
                buffer,
            },
            Err(_) => raw,
        }
    }
}

/// How nginx's reading of the answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The driver closed the connection.
    Closed,
    /// Nothing arrived for [`NGINX_TIMEOUT`]: nginx gives up.
    Silent,
    /// [`MAX_ANSWER`] bytes arrived; the rest is not read.
    Capped,
}

/// What nginx read.
struct Answer {
    bytes: Vec<u8>,
    end: End,
}

/// nginx's side of the connection: writes `wire` (each write within nginx's send
/// timeout; the write side shut down after it when `close`) while reading the answer
/// (each read within its read timeout), and closes the connection when done.
async fn nginx(io: DuplexStream, wire: &[u8], close: bool) -> Answer {
    let (mut read, mut write) = tokio::io::split(io);
    let mut send = pin!(async move {
        let mut at = 0;
        while at < wire.len() {
            match timeout(NGINX_TIMEOUT, write.write(&wire[at..])).await {
                Ok(Ok(n)) if n > 0 => at += n,
                // The driver closed, or stopped reading: nginx stops writing.
                _ => return std::future::pending().await,
            }
        }
        if close {
            let _ = write.shutdown().await;
        }
        std::future::pending::<()>().await
    });
    let mut receive = pin!(async move {
        let mut bytes = Vec::new();
        let end = loop {
            if bytes.len() >= MAX_ANSWER {
                break End::Capped;
            }
            // Room to read into (`read_buf` reads into the spare capacity only); `Vec`
            // grows by doubling, so a long answer costs few copies.
            bytes.reserve(8 * 1024);
            match timeout(NGINX_TIMEOUT, read.read_buf(&mut bytes)).await {
                Ok(Ok(0) | Err(_)) => break End::Closed,
                Ok(Ok(_)) => {}
                Err(_) => break End::Silent,
            }
        };
        Answer { bytes, end }
    });
    // The write side waits (pending) once done: the reading decides when nginx is done.
    tokio::select! {
        answer = &mut receive => answer,
        () = &mut send => receive.await,
    }
}

/// Whether nginx reads `answer` as the answer to `input`; why not.
fn check(input: &Input, answer: &Answer) -> Result<(), String> {
    let bytes = &answer.bytes[..];
    if input.request && answer.end == End::Closed && bytes.is_empty() {
        return Err(
            "no answer to a valid request: the connection closed (nginx answers 502)".into(),
        );
    }
    let whole = read_replies(input, answer)?;
    // A reply read to its end is all nginx waits for, even if the connection stays open.
    if input.request && answer.end == End::Silent && !whole {
        return Err(if bytes.is_empty() {
            "hang: no answer within 60 s (nginx's uwsgi_read_timeout; nginx answers 504)".into()
        } else {
            "hang: nothing more of the answer within 60 s (nginx's uwsgi_read_timeout)".into()
        });
    }
    Ok(())
}

/// Reads `answer` as nginx does, reply after reply; true when the last reply was read
/// to its end (or, to a `HEAD`, its head), false when more of it was still due.
fn read_replies(input: &Input, answer: &Answer) -> Result<bool, String> {
    let bytes = &answer.bytes[..];
    let expected = expected_replies(input);
    let mut client = ClientExchange::new(Limits::new());
    let (mut at, mut replies) = (0, 0);
    loop {
        let rest = &bytes[at..];
        if client.is_idle() {
            if rest.is_empty() {
                return Ok(replies > 0);
            }
            let reply = match expected.get(replies) {
                // The driver's error answer (its status line) where a pong was due.
                Some(Reply::Packet(_)) if rest.starts_with(b"HTTP/") => error_answer(),
                Some(&reply) => reply,
                None if !input.request && replies == expected.len() => error_answer(),
                None => return Err(format!("bytes after the end of reply {replies}")),
            };
            client.expect(reply);
            replies += 1;
        }
        let step = if answer.end == End::Closed {
            client.decode_eof(rest)
        } else {
            match client.decode(rest) {
                Ok(Status::Complete(step)) => Ok(Some(step)),
                // The rest was not read, or has not come.
                Ok(Status::Partial { .. }) => return Ok(false),
                Err(err) => Err(err),
            }
        };
        match step {
            Ok(Some((event, consumed))) => {
                at += consumed;
                let head_request =
                    expected.get(replies - 1) == Some(&Reply::Response { head_request: true });
                if let (
                    Event::Head {
                        head: Head::Response(_),
                        ..
                    },
                    true,
                ) = (event, head_request)
                {
                    // nginx takes only the head of a HEAD's answer and drops the rest.
                    return Ok(true);
                }
            }
            Ok(None) => return Ok(true),
            // A reply cut in its body, after a request that was malformed or cut short
            // itself: the service's body may have failed with it.
            Err(err) if !input.request && err.is_eof() && client.in_body() => return Ok(false),
            Err(err) => {
                return Err(format!(
                    "reply {replies} does not read as nginx reads it: {err}"
                ))
            }
        }
    }
}

/// The driver's answer to what it refuses: an HTTP status.
fn error_answer() -> Reply {
    Reply::Response {
        head_request: false,
    }
}

/// The replies the driver owes, in order: one per packet framed from the input, as long
/// as the packets are ones it answers (requests, pings).
fn expected_replies(input: &Input) -> Vec<Reply> {
    let mut server = ServerExchange::new(Limits::new());
    let mut replies = Vec::new();
    let mut at = 0;
    loop {
        let rest = &input.wire[at..];
        let step = if input.close {
            server.decode_eof(rest)
        } else {
            match server.decode(rest) {
                Ok(Status::Complete(step)) => Ok(Some(step)),
                Ok(Status::Partial { .. }) => Ok(None),
                Err(err) => Err(err),
            }
        };
        let Ok(Some((event, consumed))) = step else {
            return replies;
        };
        at += consumed;
        if let Event::Head { head, .. } = event {
            let packet = &head;
            let answered = packet.modifier1().is_request()
                || (packet.modifier1() == Modifier1::PING && packet.modifier2() == 0);
            if !answered {
                return replies;
            }
            replies.push(Reply::to(packet));
        }
    }
}

/// Why [`Fuzzer::run`] failed, with the input and the answer quoted.
fn failure(
    input: &Input,
    answer: &Answer,
    why: &str,
    served: Option<crate::server::Error>,
) -> String {
    let kind = if input.request {
        "a valid request as nginx sends it"
    } else if input.close {
        "raw bytes, then the close"
    } else {
        "raw bytes"
    };
    let driver = served.map_or_else(String::new, |err| format!("\ndriver: {err}"));
    format!(
        "{why}\ninput: {kind}, {} bytes, pipe buffer {}: {}\nanswer ({:?}, {} bytes): {}{driver}",
        input.wire.len(),
        input.buffer,
        quote(&input.wire),
        answer.end,
        answer.bytes.len(),
        quote(&answer.bytes),
    )
}

/// The first [`QUOTE`] bytes, escaped.
fn quote(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(QUOTE)];
    let more = if bytes.len() > QUOTE { "..." } else { "" };
    format!("\"{}\"{more}", shown.escape_ascii())
}
