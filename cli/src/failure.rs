//! How a command fails: the exit statuses, [`Failure`], and the one-line texts of the
//! errors the commands share (a reply's framing, the socket's, stdout's).

use std::fmt::Display;
use std::io::{self, Write};
use std::time::Duration;

use uwsgi_wire::exchange::{ExchangeError, ExchangeErrorKind};
use uwsgi_wire::io::StreamError;

use crate::net::{self, Addr};

/// Exit status 0: success.
pub const EXIT_OK: u8 = 0;
/// Exit status 1: an error (I/O, a malformed or unexpected reply, a timeout, no reply).
pub const EXIT_ERROR: u8 = 1;
/// Exit status 2: a usage error (clap's code for its own errors too).
pub const EXIT_USAGE: u8 = 2;
/// Exit status 3: `ping` got a pong carrying a warning.
pub const EXIT_PONG_WARNING: u8 = 3;
/// Exit status 4: `signal` was rejected by the server.
pub const EXIT_SIGNAL_REJECTED: u8 = 4;
/// Exit status 22 (curl's, for the same case): `request` got a 5xx, or 4xx with `--fail`.
pub const EXIT_HTTP_ERROR: u8 = 22;

/// A failure: one line on stderr and an exit status.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

/// An error: exit 1.
pub fn fail(message: impl Display) -> Failure {
    Failure {
        message: message.to_string(),
        code: EXIT_ERROR,
    }
}

/// A usage error found after parsing the arguments (a request that cannot be built): exit 2.
pub fn usage(message: impl Display) -> Failure {
    Failure {
        message: message.to_string(),
        code: EXIT_USAGE,
    }
}

/// What uWSGI's silent close means, for the "no reply" error.
const NO_REPLY: &str = "no reply: the peer closed the connection (uWSGI does this on a cache \
    miss, an unknown RPC function or an unknown modifier1)";

/// A framing error of a reply, in a few words: the kind without the stream offset,
/// which only repeats the inner error's (or tells nothing, for the end of the stream).
fn exchange_text(err: &ExchangeError) -> String {
    match err.kind() {
        ExchangeErrorKind::NoReply => NO_REPLY.to_owned(),
        kind @ (ExchangeErrorKind::EofInHead { .. } | ExchangeErrorKind::EofInBody { .. }) => {
            format!("truncated reply: {kind}")
        }
        kind @ ExchangeErrorKind::BodyTooLarge { .. } => format!("reply too large: {kind}"),
        kind @ ExchangeErrorKind::UnexpectedReply { .. } => format!("unexpected reply: {kind}"),
        // The reply's head starts the stream read: its offset is the head's own.
        kind @ ExchangeErrorKind::Head(_) => {
            format!("invalid reply: {kind} at byte {}", err.offset())
        }
        // A packet error carries its own offset (from the packet's start).
        kind => format!("invalid reply: {kind}"),
    }
}

/// `read_reply` failed.
pub fn reply_error(addr: &Addr, err: StreamError, timeout: Duration) -> Failure {
    match err {
        StreamError::Exchange(err) => fail(format!("{addr}: {}", exchange_text(&err))),
        StreamError::Io(err) => io_error(addr, err, timeout),
        err => fail(format!("{addr}: reading the reply: {err}")),
    }
}

/// Reading a reply's body (or its head) failed: a framing error the `Body` wraps in an
/// `io::Error`, or the socket's own.
pub fn io_error(addr: &Addr, err: io::Error, timeout: Duration) -> Failure {
    let framing = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ExchangeError>());
    match framing {
        Some(err) => fail(format!("{addr}: {}", exchange_text(err))),
        None => fail(format!(
            "{addr}: reading the reply: {}",
            net::describe(&err, timeout)
        )),
    }
}

pub fn send_error(addr: &Addr, what: &str, err: &io::Error, timeout: Duration) -> Failure {
    fail(format!(
        "{addr}: sending the {what}: {}",
        net::describe(err, timeout)
    ))
}

pub fn stdout_error(err: &io::Error) -> Failure {
    fail(format!("stdout: {}", net::describe(err, Duration::ZERO)))
}

pub fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| fail(format!("stdout: {e}")))
}
