//! `uwsgi-wire`: decode, encode and talk the uwsgi protocol.

mod check;
mod gateway;
mod grade;
mod json;
mod net;

use std::fmt::Display;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};
use uwsgi_wire::exchange::{ExchangeError, ExchangeErrorKind, Head, Reply};
use uwsgi_wire::http::NginxParams;
use uwsgi_wire::io::StreamError;
use uwsgi_wire::io::{write_packet, write_request, Body, ClientReader, IncomingReply};
use uwsgi_wire::server;
use uwsgi_wire::{
    message::GenericResponse, message::Ping, message::Pong, message::RpcCall, message::RpcReply,
    message::Signal, owned::OwnedPacket, ArrayBuilder, BlockKind, Limits, Modifier1, Packet,
    Payload, Status,
};

use net::{Addr, Stream};

/// Exit status 0: success.
const EXIT_OK: u8 = 0;
/// Exit status 1: an error (I/O, a malformed or unexpected reply, a timeout, no reply).
const EXIT_ERROR: u8 = 1;
/// Exit status 2: a usage error (clap's code for its own errors too).
const EXIT_USAGE: u8 = 2;
/// Exit status 3: `ping` got a pong carrying a warning.
const EXIT_PONG_WARNING: u8 = 3;
/// Exit status 4: `signal` was rejected by the server.
const EXIT_SIGNAL_REJECTED: u8 = 4;
/// Exit status 22 (curl's, for the same case): `request` got a 5xx, or 4xx with `--fail`.
const EXIT_HTTP_ERROR: u8 = 22;

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0   success
  1   an error: I/O, a malformed or unexpected reply, a timeout, no reply
  2   a usage error
  3   ping: a pong carrying a warning
  4   signal: the server rejected the signal
  22  request: an HTTP status of 500 or more (with --fail, of 400 or more)

ADDR is host:port (TCP; a name is tried at each address it resolves to, in order),
unix:PATH or a path containing '/' (a Unix socket).";

/// Decode, encode and talk the uwsgi protocol (nginx uwsgi_pass, Apache mod_proxy_uwsgi,
/// lighttpd, uWSGI).
#[derive(Debug, Parser)]
#[command(
    name = "uwsgi-wire",
    version,
    propagate_version = true,
    after_help = EXIT_STATUS_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode one packet (header, block, and everything after it as body) and print it.
    Decode(DecodeArgs),
    /// Encode the JSON that `decode --json` prints back into packet bytes on stdout.
    Encode(EncodeArgs),
    /// Send an HTTP-style request the way nginx would, and stream the response body to
    /// stdout. Exit 22 on a status of 500 or more (with --fail, of 400 or more).
    #[command(after_help = EXIT_STATUS_HELP)]
    Request(RequestArgs),
    /// Ping a uWSGI server and print the round-trip time. Exit 3 when a pong carries a
    /// warning.
    #[command(after_help = EXIT_STATUS_HELP)]
    Ping(PingArgs),
    /// Call an RPC function and print its result.
    #[command(after_help = EXIT_STATUS_HELP)]
    Rpc(RpcArgs),
    /// Send a uWSGI signal and report the server's answer. Exit 4 when it is rejected.
    #[command(after_help = EXIT_STATUS_HELP)]
    Signal(SignalArgs),
    /// Run an inspection server: every request is answered with its decoded vars as JSON
    /// and logged one line each.
    Serve(ServeArgs),
    /// Run an HTTP/1.1 server that forwards every request to uwsgi upstreams, as nginx's
    /// `uwsgi_pass` with `include uwsgi_params` does: 502 when an upstream refuses or
    /// closes early, 504 when it is too slow, 413 for a body over --max-body.
    Gateway(GatewayArgs),
    /// Run the conformance catalogue against a uwsgi server, as h2spec does for HTTP/2:
    /// one line per case, a summary; exit 1 when a required case fails.
    Check(check::CheckArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Kind {
    Vars,
    Array,
    Raw,
}

#[derive(Debug, Args)]
struct DecodeArgs {
    /// File holding the packet; `-` (the default) reads standard input.
    #[arg(default_value = "-")]
    file: PathBuf,
    /// Print one JSON object instead of a listing (the input of `encode`).
    #[arg(long)]
    json: bool,
    /// Read the block as this layout instead of the one its modifier1 implies (e.g. `raw`
    /// for replies such as RPC results).
    #[arg(long = "as", value_name = "KIND")]
    kind: Option<Kind>,
}

#[derive(Debug, Args)]
struct EncodeArgs {
    /// File holding the JSON; `-` (the default) reads standard input.
    #[arg(default_value = "-")]
    file: PathBuf,
}

#[derive(Debug, Args)]
struct Target {
    /// `host:port`, `unix:PATH`, or a Unix socket path (containing `/`).
    #[arg(value_parser = Addr::parse)]
    addr: Addr,
    /// Seconds to wait for the name lookup, the connection (to each address a name
    /// resolves to), and each read and write.
    #[arg(long, default_value = "30", value_parser = parse_seconds, value_name = "SECONDS")]
    timeout: Duration,
}

impl Target {
    fn connect(&self) -> Result<Stream, Failure> {
        connect(&self.addr, self.timeout)
    }
}

fn connect(addr: &Addr, timeout: Duration) -> Result<Stream, Failure> {
    Stream::connect(addr, timeout)
        .map_err(|e| fail(format!("{addr}: {}", net::describe(&e, timeout))))
}

#[derive(Debug, Args)]
struct RequestArgs {
    #[command(flatten)]
    target: Target,
    /// The request URI (path and query).
    #[arg(default_value = "/")]
    path: String,
    /// The method (default GET, or POST with a body).
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    method: Option<String>,
    /// A request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER", value_parser = parse_header)]
    headers: Vec<(String, String)>,
    /// A body, sent as application/x-www-form-urlencoded unless a Content-Type is given.
    #[arg(short = 'd', long = "data", conflicts_with = "data_binary")]
    data: Option<String>,
    /// A body read from a file (`@FILE`) or given literally.
    #[arg(long = "data-binary", value_name = "DATA")]
    data_binary: Option<String>,
    /// An extra uwsgi param, `KEY=VALUE`, added or replacing nginx's (repeatable). Over
    /// TCP, REMOTE_ADDR and REMOTE_PORT are the local end of the connection; over a Unix
    /// socket none is sent unless given here.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// The packet's modifier1 (0 WSGI, 5 PSGI, 7 Rack, ...); the reply is read as an
    /// HTTP response whatever it is.
    #[arg(long, default_value_t = 0)]
    modifier1: u8,
    /// The packet's modifier2.
    #[arg(long, default_value_t = 0)]
    modifier2: u8,
    /// Print the response head too.
    #[arg(short = 'i', long = "include")]
    include: bool,
    /// Fail (exit 22, body not printed) on any status of 400 or more; without it only a
    /// status of 500 or more exits 22, after the body is printed.
    #[arg(short = 'f', long = "fail")]
    fail: bool,
}

#[derive(Debug, Args)]
struct PingArgs {
    /// `host:port`, `unix:PATH`, or a Unix socket path (containing `/`).
    #[arg(value_parser = Addr::parse)]
    addr: Addr,
    /// How many pings to send, one connection each.
    #[arg(short = 'c', long, default_value_t = 1)]
    count: u32,
    /// Seconds to wait for the connection, the ping's write and each pong.
    #[arg(long, default_value = "3", value_parser = parse_seconds, value_name = "SECONDS")]
    timeout: Duration,
}

#[derive(Debug, Args)]
struct RpcArgs {
    #[command(flatten)]
    target: Target,
    /// The largest result accepted, in bytes (suffixes K, M, G: powers of 1024); a
    /// larger one is refused before any of it is read.
    #[arg(long, default_value = "64M", value_parser = parse_size, value_name = "BYTES")]
    max_body: u64,
    /// The function's name.
    function: String,
    /// Its arguments (at most 254).
    args: Vec<String>,
}

#[derive(Debug, Args)]
struct SignalArgs {
    #[command(flatten)]
    target: Target,
    /// The signal number, 0-255.
    number: u8,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// `host:port`, `unix:PATH`, or the path of a Unix socket to create (containing `/`).
    #[arg(default_value = "127.0.0.1:3031", value_parser = Addr::parse)]
    addr: Addr,
    /// Grade what the front end sends: every request is still answered, with a
    /// `findings` array (`id`, `level`, `message`) and a `grade` in its JSON, and each
    /// finding is logged (`check METHOD URI PROTOCOL: LEVEL ID: MESSAGE`); a summary is
    /// logged at shutdown (Ctrl-C), which exits 1 if any finding was an error.
    #[arg(long)]
    check: bool,
}

#[derive(Debug, Args)]
struct GatewayArgs {
    /// Where HTTP clients connect, `host:port`.
    #[arg(value_parser = Addr::parse)]
    listen: Addr,
    /// The uwsgi upstreams: `host:port`, `unix:PATH` or a socket path; several are used
    /// round robin.
    #[arg(required = true, value_parser = Addr::parse)]
    upstreams: Vec<Addr>,
    /// A uwsgi param, `KEY=VALUE`, replacing nginx's var of that name or added
    /// (repeatable), as nginx's `uwsgi_param`.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// The packet's modifier1 (0 WSGI, 5 PSGI, 7 Rack, ...), as nginx's `uwsgi_modifier1`.
    #[arg(long, default_value_t = 0)]
    modifier1: u8,
    /// SERVER_NAME, as nginx's `server_name`.
    #[arg(long, default_value = "localhost")]
    server_name: String,
    /// DOCUMENT_ROOT, as nginx's `root` (the default: Debian's default site).
    #[arg(long, default_value = "/var/www/html")]
    document_root: String,
    /// The largest request head, in bytes (K, M suffixes); a larger one is answered 431.
    #[arg(long, default_value = "32K", value_parser = parse_size, value_name = "BYTES")]
    max_head: u64,
    /// The largest request body (nginx's `client_max_body_size`); a larger one is
    /// answered 413.
    #[arg(long, default_value = "1M", value_parser = parse_size, value_name = "BYTES")]
    max_body: u64,
    /// Seconds to connect to an upstream (nginx's `uwsgi_connect_timeout`).
    #[arg(long, default_value = "60", value_parser = parse_seconds, value_name = "SECONDS")]
    connect_timeout: Duration,
    /// Seconds to wait for an upstream's response head, and between reads of its body
    /// (nginx's `uwsgi_read_timeout`); then 504, or the client connection is cut.
    #[arg(long, default_value = "60", value_parser = parse_seconds, value_name = "SECONDS")]
    timeout: Duration,
    /// Seconds a write to an HTTP client may wait for it to read (nginx's
    /// `send_timeout`); then its connection is closed.
    #[arg(long, default_value = "60", value_parser = parse_seconds, value_name = "SECONDS")]
    send_timeout: Duration,
    /// The most HTTP connections served at once; more wait to be accepted.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Log every request's vars and its response status on stderr.
    #[arg(long)]
    trace: bool,
}

/// A failure: one line on stderr and an exit status.
#[derive(Debug)]
struct Failure {
    message: String,
    code: u8,
}

/// An error: exit 1.
fn fail(message: impl Display) -> Failure {
    Failure {
        message: message.to_string(),
        code: EXIT_ERROR,
    }
}

/// A usage error found after parsing the arguments (a request that cannot be built): exit 2.
fn usage(message: impl Display) -> Failure {
    Failure {
        message: message.to_string(),
        code: EXIT_USAGE,
    }
}

/// `--timeout`: a positive number of seconds.
fn parse_seconds(value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("invalid timeout {value:?}: give a positive number of seconds"))
}

/// `--max-body`: bytes, with an optional K, M or G suffix (powers of 1024).
fn parse_size(value: &str) -> Result<u64, String> {
    let (digits, unit) = match value.char_indices().last() {
        Some((at, 'k' | 'K')) => (&value[..at], 1 << 10),
        Some((at, 'm' | 'M')) => (&value[..at], 1 << 20),
        Some((at, 'g' | 'G')) => (&value[..at], 1 << 30),
        _ => (value, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| format!("invalid size {value:?}: give bytes, e.g. 1048576 or 1M"))
}

/// `-H`: `Name: value`.
fn parse_header(value: &str) -> Result<(String, String), String> {
    let (name, rest) = value
        .split_once(':')
        .ok_or_else(|| format!("invalid header {value:?}: expected 'Name: value'"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("invalid header {value:?}: the name is empty"));
    }
    Ok((name.to_owned(), rest.trim_start().to_owned()))
}

/// `--param`: `KEY=VALUE`.
fn parse_param(value: &str) -> Result<(String, String), String> {
    let (key, rest) = value
        .split_once('=')
        .ok_or_else(|| format!("invalid param {value:?}: expected KEY=VALUE"))?;
    if key.is_empty() {
        return Err(format!("invalid param {value:?}: the key is empty"));
    }
    Ok((key.to_owned(), rest.to_owned()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => decode(&args),
        Command::Encode(args) => encode(&args),
        Command::Request(args) => request(&args),
        Command::Ping(args) => ping(&args),
        Command::Rpc(args) => rpc(&args),
        Command::Signal(args) => signal(&args),
        Command::Serve(args) => serve(&args),
        Command::Gateway(args) => gateway(args),
        Command::Check(args) => check::check(&args),
    };
    match result {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(failure) => {
            eprintln!("uwsgi-wire: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn read_input(file: &PathBuf) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    if file.as_os_str() == "-" {
        io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| fail(format!("stdin: {e}")))?;
    } else {
        bytes = std::fs::read(file).map_err(|e| fail(format!("{}: {e}", file.display())))?;
    }
    Ok(bytes)
}

fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| fail(format!("stdout: {e}")))
}

fn decode(args: &DecodeArgs) -> Result<(), Failure> {
    let bytes = read_input(&args.file)?;
    let parsed = match args.kind {
        None => Packet::parse(&bytes),
        Some(kind) => {
            let kind = match kind {
                Kind::Vars => BlockKind::Vars,
                Kind::Array => BlockKind::Array,
                Kind::Raw => BlockKind::Raw,
            };
            Packet::parse_as(&bytes, kind, &Limits::new())
        }
    };
    // What an operator should change (HTTP or TLS sent to a uwsgi socket, a big-endian
    // datasize, a block over uWSGI's default buffer-size): first on a failure, a note
    // on stderr otherwise.
    let diagnosis = uwsgi_wire::diagnose::Diagnosis::find(
        &bytes,
        uwsgi_wire::diagnose::Diagnosis::UWSGI_BUFFER_SIZE,
    );
    let failed = |what: String| match diagnosis {
        Some(found) => fail(format!("{found} (as a uwsgi packet: {what})")),
        None => fail(what),
    };
    let (packet, consumed) = match parsed {
        Ok(Status::Complete(done)) => done,
        Ok(Status::Partial { needed }) => {
            return Err(failed(format!(
                "truncated packet: {needed} more byte(s) needed ({} given)",
                bytes.len()
            )))
        }
        Err(err) => return Err(failed(format!("invalid packet: {err}"))),
    };
    if let Some(found) = diagnosis {
        eprintln!("uwsgi-wire: note: {found}");
    }
    let body_len = bytes.len() - consumed;
    if args.json {
        let text = json::packet_to_json(&packet, body_len).to_string();
        return write_stdout(format!("{text}\n").as_bytes());
    }
    write_stdout(listing(&packet, body_len).as_bytes())
}

/// The readable form of a packet.
fn listing(packet: &Packet<'_>, body_len: usize) -> String {
    let h = packet.header();
    let name = h.modifier1.name().unwrap_or("unknown");
    let mut out = format!(
        "modifier1 {} ({name})  datasize {}  modifier2 {}\n",
        h.modifier1, h.datasize, h.modifier2
    );
    match packet.payload() {
        Payload::Vars(vars) => {
            out += &format!("vars ({}):\n", vars.len());
            for (k, v) in vars {
                out += &format!("  {} = {}\n", k.escape_ascii(), v.escape_ascii());
            }
        }
        Payload::Array(array) => {
            out += &format!("array ({} items):\n", array.len());
            for (i, item) in array.iter().enumerate() {
                out += &format!("  [{i}] {}\n", item.escape_ascii());
            }
        }
        Payload::Raw(raw) => {
            out += &format!("payload ({} bytes): {}\n", raw.len(), raw.escape_ascii())
        }
    }
    out += &format!("body: {body_len} byte(s)\n");
    out
}

fn encode(args: &EncodeArgs) -> Result<(), Failure> {
    let text = read_input(&args.file)?;
    let value: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| fail(format!("invalid JSON: {e}")))?;
    let wire = json::json_to_wire(&value).map_err(|e| fail(format!("cannot encode: {e}")))?;
    write_stdout(&wire)
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
        // The inner errors carry their own offsets (from the head's or packet's start).
        kind => format!("invalid reply: {kind}"),
    }
}

/// `read_reply` failed.
fn reply_error(addr: &Addr, err: StreamError, timeout: Duration) -> Failure {
    match err {
        StreamError::Exchange(err) => fail(format!("{addr}: {}", exchange_text(&err))),
        StreamError::Io(err) => io_error(addr, err, timeout),
        err => fail(format!("{addr}: reading the reply: {err}")),
    }
}

/// Reading a reply's body (or its head) failed: a framing error the `Body` wraps in an
/// `io::Error`, or the socket's own.
fn io_error(addr: &Addr, err: io::Error, timeout: Duration) -> Failure {
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

fn send_error(addr: &Addr, what: &str, err: &io::Error, timeout: Duration) -> Failure {
    fail(format!(
        "{addr}: sending the {what}: {}",
        net::describe(err, timeout)
    ))
}

fn stdout_error(err: &io::Error) -> Failure {
    fail(format!("stdout: {}", net::describe(err, Duration::ZERO)))
}

/// Streams a reply body to stdout, never holding more than one buffer of it.
fn stream_body<R: Read>(
    body: &mut Body<'_, R>,
    addr: &Addr,
    timeout: Duration,
) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                let _ = out.flush();
                return Err(io_error(addr, err, timeout));
            }
        };
        out.write_all(&buf[..n]).map_err(|e| stdout_error(&e))?;
    }
    out.flush().map_err(|e| stdout_error(&e))
}

/// Builds the request as nginx's default `uwsgi_params` would, sends it, streams the reply.
fn request(args: &RequestArgs) -> Result<(), Failure> {
    let addr = &args.target.addr;
    let timeout = args.target.timeout;
    let body: Vec<u8> = match (&args.data, &args.data_binary) {
        (Some(data), _) => data.clone().into_bytes(),
        (None, Some(data)) => match data.strip_prefix('@') {
            Some(path) => std::fs::read(path)
                .map_err(|e| fail(format!("{path}: {}", net::describe(&e, timeout))))?,
            None => data.clone().into_bytes(),
        },
        (None, None) => Vec::new(),
    };
    let has_body = args.data.is_some() || args.data_binary.is_some();
    let method = args
        .method
        .clone()
        .unwrap_or_else(|| if has_body { "POST" } else { "GET" }.to_string());
    let mut builder = http::Request::builder()
        .method(method.as_str())
        .uri(args.path.as_str());
    let named = |name: &str| {
        args.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    if !named("host") {
        builder = builder.header("host", addr.host_header());
    }
    if !named("user-agent") {
        builder = builder.header(
            "user-agent",
            concat!("uwsgi-wire/", env!("CARGO_PKG_VERSION")),
        );
    }
    if has_body {
        builder = builder.header("content-length", body.len());
        if args.data.is_some() && !named("content-type") {
            builder = builder.header("content-type", "application/x-www-form-urlencoded");
        }
    }
    for (name, value) in &args.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let req = builder
        .body(())
        .map_err(|e| usage(format!("invalid request: {e}")))?;

    let mut stream = args.target.connect()?;
    let mut params = NginxParams::new();
    if let Some((ip, port)) = stream.local() {
        params = params.remote_addr(ip).remote_port(port.to_string());
    }
    if let Some(port) = addr.port() {
        params = params.server_port(port.to_string());
    }
    for (key, value) in &args.params {
        params = params.param(key, value);
    }
    let vars = params
        .encode(&req)
        .map_err(|e| usage(format!("cannot build the request: {e}")))?;
    let packet = Packet::new(
        Modifier1(args.modifier1),
        args.modifier2,
        Payload::Vars(vars.vars()),
    )
    .map_err(|e| usage(format!("cannot build the request: {e}")))?;
    write_request(&mut stream, &packet, &body)
        .map_err(|e| send_error(addr, "request", &e, timeout))?;

    // Every request type is answered with an HTTP response (`Reply::to`); so is a vars
    // request under another modifier1, as far as this command is concerned.
    let reply = match Reply::to(&packet) {
        reply @ Reply::Response { .. } => reply,
        _ => Reply::Response {
            head_request: method.eq_ignore_ascii_case("HEAD"),
        },
    };
    let limits = Limits::new(); // the head within max_head (64 KiB); the body is streamed
    let mut reader = ClientReader::new(stream, limits);
    let IncomingReply { head, mut body } = reader
        .read_reply(reply)
        .map_err(|e| reply_error(addr, e, timeout))?;
    let Head::Response(head) = head else {
        return Err(fail(format!("{addr}: invalid reply: not an HTTP response")));
    };
    let status = head.status();
    if args.include {
        let mut out = io::stdout().lock();
        out.write_all(head.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| stdout_error(&e))?;
    }
    let failed = Failure {
        message: format!(
            "{addr}: the server answered {status} {}",
            head.reason().escape_ascii()
        ),
        code: EXIT_HTTP_ERROR,
    };
    if args.fail && status >= 400 {
        return Err(failed);
    }
    stream_body(&mut body, addr, timeout)?;
    if status >= 500 {
        return Err(failed);
    }
    Ok(())
}

fn ping(args: &PingArgs) -> Result<(), Failure> {
    let addr = &args.addr;
    let timeout = args.timeout;
    let ping = Ping.to_packet();
    let mut warned = false;
    for _ in 0..args.count.max(1) {
        let started = Instant::now();
        let mut stream = connect(addr, timeout)?;
        write_packet(&mut stream, &ping).map_err(|e| send_error(addr, "ping", &e, timeout))?;
        // A pong is one packet (at most 4 + 65535 bytes) and nothing after it.
        let mut reader = ClientReader::new(stream, Limits::new().max_body(0));
        let reply = reader
            .read_reply(Reply::to(&ping))
            .map_err(|e| reply_error(addr, e, timeout))?;
        let Head::Packet(packet) = reply.head else {
            return Err(fail(format!("{addr}: invalid reply: not a packet")));
        };
        let pong = Pong::from_packet(&packet)
            .map_err(|e| fail(format!("{addr}: invalid reply: not a pong: {e}")))?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match pong.warning() {
            None => println!("pong from {addr}: time={ms:.3} ms"),
            Some(warning) => {
                warned = true;
                println!(
                    "pong from {addr}: time={ms:.3} ms warning: {}",
                    warning.escape_ascii()
                );
            }
        }
    }
    if warned {
        return Err(Failure {
            message: format!("{addr}: the pong carried a warning"),
            code: EXIT_PONG_WARNING,
        });
    }
    Ok(())
}

fn rpc(args: &RpcArgs) -> Result<(), Failure> {
    let addr = &args.target.addr;
    let timeout = args.target.timeout;
    let mut items = ArrayBuilder::new();
    for item in std::iter::once(&args.function).chain(&args.args) {
        items
            .push(item)
            .map_err(|e| usage(format!("cannot build the call: {e}")))?;
    }
    let call = RpcCall::new(items.array(), RpcCall::UWSGI_REPLY)
        .map_err(|e| usage(format!("cannot build the call: {e}")))?;
    let packet = call
        .to_packet()
        .map_err(|e| usage(format!("cannot build the call: {e}")))?;
    let mut stream = args.target.connect()?;
    write_packet(&mut stream, &packet).map_err(|e| send_error(addr, "call", &e, timeout))?;

    // The result: the block of one packet, or the large form's CONTENT_LENGTH bytes
    // after it; either way within --max-body, checked before a byte of it is read.
    let limits = Limits::new().max_body(args.max_body);
    let mut reader = ClientReader::new(stream, limits);
    let IncomingReply { head, mut body } = reader.read_reply(Reply::to(&packet)).map_err(|e| {
        let too_large = matches!(&e, StreamError::Exchange(err)
                if matches!(err.kind(), ExchangeErrorKind::BodyTooLarge { .. }));
        let mut failure = reply_error(addr, e, timeout);
        if too_large {
            failure.message += " (raise it with --max-body)";
        }
        failure
    })?;
    let Head::Packet(reply) = head else {
        return Err(fail(format!("{addr}: invalid reply: not a packet")));
    };
    let reply =
        RpcReply::from_packet(&reply).map_err(|e| fail(format!("{addr}: invalid reply: {e}")))?;
    match reply {
        RpcReply::Result(result) => {
            if u64::try_from(result.len()).unwrap_or(u64::MAX) > args.max_body {
                return Err(fail(format!(
                    "{addr}: reply too large: a result of {} bytes is over the limit of {} \
                     (raise it with --max-body)",
                    result.len(),
                    args.max_body
                )));
            }
            write_stdout(result)
        }
        RpcReply::Large { len } => {
            // Read whole before printing: a result cut short prints nothing.
            let mut result = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            body.read_to_end(&mut result)
                .map_err(|e| io_error(addr, e, timeout))?;
            write_stdout(&result)
        }
    }
}

fn signal(args: &SignalArgs) -> Result<(), Failure> {
    let addr = &args.target.addr;
    let timeout = args.target.timeout;
    let packet = Signal::new(args.number).to_packet();
    let mut stream = args.target.connect()?;
    write_packet(&mut stream, &packet).map_err(|e| send_error(addr, "signal", &e, timeout))?;
    // The answer is one generic response packet and nothing after it.
    let mut reader = ClientReader::new(stream, Limits::new().max_body(0));
    let reply = reader
        .read_reply(Reply::to(&packet))
        .map_err(|e| reply_error(addr, e, timeout))?;
    let Head::Packet(reply) = reply.head else {
        return Err(fail(format!("{addr}: invalid reply: not a packet")));
    };
    let response = GenericResponse::from_packet(&reply)
        .map_err(|e| fail(format!("{addr}: invalid reply: {e}")))?;
    if response.is_ok() {
        println!("signal {} queued by {addr}", args.number);
        Ok(())
    } else {
        Err(Failure {
            message: format!(
                "{addr}: signal {} rejected (reply modifier2 {})",
                args.number,
                response.code()
            ),
            code: EXIT_SIGNAL_REJECTED,
        })
    }
}

fn serve(args: &ServeArgs) -> Result<(), Failure> {
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .init();
    let addr = &args.addr;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| fail(format!("starting the runtime: {e}")))?;
    runtime.block_on(async {
        let bind = |e: io::Error| fail(format!("{addr}: {}", net::describe(&e, Duration::ZERO)));
        let (listener, local, _cleanup): (server::Listener, String, Option<RemoveOnDrop>) =
            match addr {
                Addr::Tcp { host, port } => {
                    let listener = tokio::net::TcpListener::bind((host.as_str(), *port))
                        .await
                        .map_err(bind)?;
                    let local = listener.local_addr().map_err(bind)?.to_string();
                    (listener.into(), local, None)
                }
                Addr::Unix(path) => {
                    let listener = tokio::net::UnixListener::bind(path).map_err(bind)?;
                    let cleanup = RemoveOnDrop(path.clone());
                    (
                        listener.into(),
                        format!("unix:{}", path.display()),
                        Some(cleanup),
                    )
                }
            };
        println!("listening on {local}");
        io::stdout().flush().ok();
        // Bounded: at most 256 connections at once, 30 s for a request packet and between
        // body reads, a 1 GiB body at most (read and counted, never held).
        let builder = server::Builder::new()
            .limits(Limits::new().max_body(1 << 30))
            .head_timeout(Duration::from_secs(30))
            .body_timeout(Duration::from_secs(30))
            .write_timeout(Duration::from_secs(30));
        let tally = args.check.then(Default::default);
        let inspector = Inspector {
            tally: tally.clone(),
        };
        server::serve(listener, inspector)
            .connection(builder)
            .max_connections(256)
            .shutdown_timeout(Duration::from_secs(5))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| fail(format!("{addr}: {e}")))?;
        check_summary(tally.as_deref())
    })
}

/// `serve --check` at shutdown: the summary on stderr; exit 1 if a finding was an error.
fn check_summary(tally: Option<&std::sync::Mutex<grade::Tally>>) -> Result<(), Failure> {
    let Some(tally) = tally else { return Ok(()) };
    let tally = tally
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for line in tally.summary() {
        eprintln!("{line}");
    }
    match tally.count(grade::Level::Error) {
        0 => Ok(()),
        n => Err(fail(format!("check: {n} findings were errors"))),
    }
}

fn gateway(args: GatewayArgs) -> Result<(), Failure> {
    let level = if args.trace { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into()),
        )
        .with_target(false)
        .with_ansi(false)
        .init();
    if args.max_head < 8192 {
        // hyper's smallest read buffer.
        return Err(usage(format!(
            "--max-head {}: at least 8K (8192 bytes)",
            args.max_head
        )));
    }
    let config = gateway::Config {
        listen: args.listen,
        upstreams: args.upstreams,
        params: args.params,
        modifier1: args.modifier1,
        server_name: args.server_name,
        document_root: args.document_root,
        max_head: usize::try_from(args.max_head).unwrap_or(usize::MAX),
        max_body: args.max_body,
        connect_timeout: args.connect_timeout,
        read_timeout: args.timeout,
        send_timeout: args.send_timeout,
        max_connections: args.max_connections.max(1),
        trace: args.trace,
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(format!("starting the runtime: {e}")))?
        .block_on(gateway::run(config))
}

/// Removes a Unix socket file when `serve` ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The inspection service: every request is answered with its decoded packet as JSON
/// (and its body's length), and logged one line each. The server driver answers pings.
/// With `serve --check` (`tally` set) every request is graded too (`grade.rs`).
#[derive(Debug, Clone)]
struct Inspector {
    tally: Option<std::sync::Arc<std::sync::Mutex<grade::Tally>>>,
}

type Answer = http::Response<http_body_util::Full<bytes::Bytes>>;

impl tower_service::Service<http::Request<server::RequestBody>> for Inspector {
    type Response = Answer;
    type Error = std::convert::Infallible;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Answer, Self::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<server::RequestBody>) -> Self::Future {
        Box::pin(inspect(request, self.tally.clone()))
    }
}

async fn inspect(
    request: http::Request<server::RequestBody>,
    tally: Option<std::sync::Arc<std::sync::Mutex<grade::Tally>>>,
) -> Result<Answer, std::convert::Infallible> {
    use http_body_util::BodyExt;
    let packet = request.extensions().get::<OwnedPacket>().cloned();
    let mut body = request.into_body();
    let mut body_len = 0u64;
    let mut failed = None;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => body_len += frame.data_ref().map_or(0, |d| d.len() as u64),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let Some(packet) = packet else {
        return Ok(text_answer(500, "no packet\n".into()));
    };
    let packet = packet.packet();
    let header = packet.header();
    let mut line = String::new();
    if let Some(vars) = packet.vars() {
        let get = |k: &[u8]| vars.get(k).unwrap_or(b"-").escape_ascii().to_string();
        line = format!(
            "{}:{} modifier1={} modifier2={} {} {} vars={} body={body_len}",
            get(b"REMOTE_ADDR"),
            get(b"REMOTE_PORT"),
            header.modifier1,
            header.modifier2,
            get(b"REQUEST_METHOD"),
            get(b"REQUEST_URI"),
            vars.len()
        );
    }
    if let Some(e) = failed {
        eprintln!("{line} body error: {e}");
        if let Some(tally) = &tally {
            check(&packet, tally);
        }
        return Ok(text_answer(400, format!("{e}\n")));
    }
    eprintln!("{line}");
    let findings = tally.map(|tally| check(&packet, &tally));
    let mut json = json::packet_to_json(&packet, 0);
    if let Some(object) = json.as_object_mut() {
        object.insert("body_len".into(), body_len.into());
        if let Some(findings) = findings {
            object.extend(grade::to_json(&findings));
        }
    }
    let mut answer = text_answer(200, format!("{json:#}\n"));
    answer.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(answer)
}

/// `serve --check`: grades a request packet, logs each finding (or `ok`) with the
/// request line, and counts them.
fn check(
    packet: &uwsgi_wire::Packet<'_>,
    tally: &std::sync::Mutex<grade::Tally>,
) -> Vec<grade::Finding> {
    let Some(vars) = packet.vars() else {
        return Vec::new();
    };
    let findings = grade::grade(&vars);
    let request = grade::request_line(&vars);
    if findings.is_empty() {
        eprintln!("check {request}: ok");
    }
    for f in &findings {
        eprintln!("check {request}: {} {}: {}", f.level, f.id, f.message);
    }
    tally
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .add(&findings);
    findings
}

fn text_answer(status: u16, text: String) -> Answer {
    let mut answer = http::Response::new(http_body_util::Full::new(bytes::Bytes::from(text)));
    *answer.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    answer.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    answer
}
