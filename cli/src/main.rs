//! `uwsgi-wire`: decode, encode and talk the uwsgi protocol.

mod json;
mod net;

use std::fmt::Display;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};
use uwsgi_wire::http::NginxParams;
use uwsgi_wire::io::{write_packet, write_request, Incoming, PacketReader};
use uwsgi_wire::StreamError;
use uwsgi_wire::{
    ArrayBuilder, BlockKind, GenericResponse, Limits, Modifier1, Packet, Payload, Ping, Pong,
    RpcCall, RpcReply, Signal, Status,
};

use net::{Listener, Stream};

/// Decode, encode and talk the uwsgi protocol (nginx uwsgi_pass, Apache mod_proxy_uwsgi,
/// lighttpd, uWSGI).
///
/// Exit status: 0 success; 1 an error (invalid or truncated input, a failed connection,
/// no reply); 2 a usage error, a pong carrying a warning, or a signal the server
/// rejected.
#[derive(Debug, Parser)]
#[command(name = "uwsgi-wire", version, propagate_version = true)]
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
    /// Send an HTTP-style request the way nginx would, and print the response.
    Request(RequestArgs),
    /// Ping a uWSGI server and print the round-trip time.
    Ping(PingArgs),
    /// Call an RPC function and print its result.
    Rpc(RpcArgs),
    /// Send a uWSGI signal and report the server's answer.
    Signal(SignalArgs),
    /// Run an inspection server: every request is answered with its decoded vars as JSON
    /// and logged one line each.
    Serve(ServeArgs),
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
    /// `host:port`, or the path of a Unix socket.
    addr: String,
    /// Seconds to wait for the connection and for each read and write.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    timeout: f64,
}

impl Target {
    fn connect(&self) -> Result<Stream, Failure> {
        Stream::connect(&self.addr, seconds(self.timeout)?)
            .map_err(|e| fail(format!("{}: {e}", self.addr)))
    }
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
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// A body, sent as application/x-www-form-urlencoded unless a Content-Type is given.
    #[arg(short = 'd', long = "data", conflicts_with = "data_binary")]
    data: Option<String>,
    /// A body read from a file (`@FILE`) or given literally.
    #[arg(long = "data-binary", value_name = "DATA")]
    data_binary: Option<String>,
    /// An extra uwsgi param, `KEY=VALUE`, added or replacing nginx's (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// The packet's modifier1 (0 WSGI, 5 PSGI, 7 Rack, ...).
    #[arg(long, default_value_t = 0)]
    modifier1: u8,
    /// The packet's modifier2.
    #[arg(long, default_value_t = 0)]
    modifier2: u8,
    /// Print the response head too.
    #[arg(short = 'i', long = "include")]
    include: bool,
}

#[derive(Debug, Args)]
struct PingArgs {
    /// `host:port`, or the path of a Unix socket.
    addr: String,
    /// How many pings to send, one connection each.
    #[arg(short = 'c', long, default_value_t = 1)]
    count: u32,
    /// Seconds to wait for each pong.
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS")]
    timeout: f64,
}

#[derive(Debug, Args)]
struct RpcArgs {
    #[command(flatten)]
    target: Target,
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
    /// `host:port`, or the path of a Unix socket to create.
    #[arg(default_value = "127.0.0.1:3031")]
    addr: String,
}

/// A failure: one line on stderr and an exit status.
#[derive(Debug)]
struct Failure {
    message: String,
    code: u8,
}

fn fail(message: impl Display) -> Failure {
    Failure {
        message: message.to_string(),
        code: 1,
    }
}

fn seconds(value: f64) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            fail(format!(
                "invalid timeout {value}: give a positive number of seconds"
            ))
        })
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
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
    let (packet, consumed) = match parsed {
        Ok(Status::Complete(done)) => done,
        Ok(Status::Partial { needed }) => {
            return Err(fail(format!(
                "truncated packet: {needed} more byte(s) needed ({} given)",
                bytes.len()
            )))
        }
        Err(err) => return Err(fail(format!("invalid packet: {err}"))),
    };
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

/// Builds the request as nginx's default `uwsgi_params` would, sends it, prints the reply.
fn request(args: &RequestArgs) -> Result<(), Failure> {
    let body: Vec<u8> = match (&args.data, &args.data_binary) {
        (Some(data), _) => data.clone().into_bytes(),
        (None, Some(data)) => match data.strip_prefix('@') {
            Some(path) => std::fs::read(path).map_err(|e| fail(format!("{path}: {e}")))?,
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
        args.headers.iter().any(|h| {
            h.split(':')
                .next()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case(name))
        })
    };
    if !named("host") {
        let host = if net::is_unix(&args.target.addr) {
            "localhost"
        } else {
            args.target.addr.as_str()
        };
        builder = builder.header("host", host);
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
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| fail(format!("invalid header {header:?}: expected 'Name: value'")))?;
        builder = builder.header(name.trim(), value.trim_start());
    }
    let req = builder
        .body(())
        .map_err(|e| fail(format!("invalid request: {e}")))?;

    let mut stream = args.target.connect()?;
    let mut params = NginxParams::new();
    if let Some((ip, port)) = stream.local() {
        params = params.remote_addr(ip).remote_port(port.to_string());
    }
    if let Some((_, port)) = args
        .target
        .addr
        .rsplit_once(':')
        .filter(|_| !net::is_unix(&args.target.addr))
    {
        params = params.server_port(port);
    }
    for param in &args.params {
        let (key, value) = param
            .split_once('=')
            .ok_or_else(|| fail(format!("invalid param {param:?}: expected KEY=VALUE")))?;
        params = params.param(key, value);
    }
    let vars = params
        .encode(&req)
        .map_err(|e| fail(format!("cannot build the request: {e}")))?;
    let packet = Packet::new(
        Modifier1(args.modifier1),
        args.modifier2,
        Payload::Vars(vars.vars()),
    )
    .map_err(|e| fail(format!("cannot build the request: {e}")))?;
    write_request(&mut stream, &packet, &body)
        .map_err(|e| fail(format!("{}: {e}", args.target.addr)))?;

    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| fail(format!("{}: reading the response: {e}", args.target.addr)))?;
    if response.is_empty() {
        return Err(fail(format!(
            "{}: the server closed the connection without a response",
            args.target.addr
        )));
    }
    if args.include {
        return write_stdout(&response);
    }
    match uwsgi_wire::http::parse_response_head(&response) {
        Ok(Status::Complete((_, head_len))) => write_stdout(&response[head_len..]),
        Ok(Status::Partial { .. }) => Err(fail("the response ended inside its head")),
        Err(e) => Err(fail(format!("invalid response: {e}"))),
    }
}

fn ping(args: &PingArgs) -> Result<(), Failure> {
    let timeout = seconds(args.timeout)?;
    let mut warned = false;
    for _ in 0..args.count.max(1) {
        let started = Instant::now();
        let mut stream = Stream::connect(&args.addr, timeout)
            .map_err(|e| fail(format!("{}: {e}", args.addr)))?;
        write_packet(&mut stream, &Ping.to_packet())
            .map_err(|e| fail(format!("{}: {e}", args.addr)))?;
        let reply = read_reply(&mut stream, &args.addr)?;
        let (packet, _) = parse_reply(&reply, BlockKind::Raw)?;
        let pong = Pong::from_packet(&packet)
            .map_err(|e| fail(format!("{}: not a pong: {e}", args.addr)))?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match pong.warning() {
            None => println!("pong from {}: time={ms:.3} ms", args.addr),
            Some(warning) => {
                warned = true;
                println!(
                    "pong from {}: time={ms:.3} ms warning: {}",
                    args.addr,
                    warning.escape_ascii()
                );
            }
        }
    }
    if warned {
        return Err(Failure {
            message: "the server sent a warning".into(),
            code: 2,
        });
    }
    Ok(())
}

/// Reads a whole reply: uWSGI answers once and closes the connection.
fn read_reply(stream: &mut Stream, addr: &str) -> Result<Vec<u8>, Failure> {
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .map_err(|e| fail(format!("{addr}: reading the reply: {e}")))?;
    if reply.is_empty() {
        return Err(fail(format!(
            "{addr}: no reply (the server closed the connection)"
        )));
    }
    Ok(reply)
}

fn parse_reply(reply: &[u8], kind: BlockKind) -> Result<(Packet<'_>, usize), Failure> {
    match Packet::parse_as(reply, kind, &Limits::new()) {
        Ok(Status::Complete(done)) => Ok(done),
        Ok(Status::Partial { needed }) => Err(fail(format!(
            "truncated reply: {needed} more byte(s) needed"
        ))),
        Err(e) => Err(fail(format!("invalid reply: {e}"))),
    }
}

fn rpc(args: &RpcArgs) -> Result<(), Failure> {
    let mut items = ArrayBuilder::new();
    for item in std::iter::once(&args.function).chain(&args.args) {
        items
            .push(item)
            .map_err(|e| fail(format!("cannot build the call: {e}")))?;
    }
    let call = RpcCall::new(items.array(), RpcCall::UWSGI_REPLY)
        .map_err(|e| fail(format!("cannot build the call: {e}")))?;
    let packet = call
        .to_packet()
        .map_err(|e| fail(format!("cannot build the call: {e}")))?;
    let mut stream = args.target.connect()?;
    write_packet(&mut stream, &packet).map_err(|e| fail(format!("{}: {e}", args.target.addr)))?;
    let reply = read_reply(&mut stream, &args.target.addr).map_err(|f| {
        fail(format!(
            "{} (unknown function, or one that returned nothing)",
            f.message
        ))
    })?;
    let (reply_kind, consumed) = match RpcReply::parse(&reply) {
        Ok(Status::Complete(done)) => done,
        Ok(Status::Partial { needed }) => {
            return Err(fail(format!(
                "truncated reply: {needed} more byte(s) needed"
            )))
        }
        Err(e) => return Err(fail(format!("invalid reply: {e}"))),
    };
    match reply_kind {
        RpcReply::Result(result) => write_stdout(result),
        RpcReply::Large { len } => {
            let rest = &reply[consumed..];
            if u64::try_from(rest.len()) != Ok(len) {
                return Err(fail(format!(
                    "large reply announced {len} bytes, got {}",
                    rest.len()
                )));
            }
            write_stdout(rest)
        }
    }
}

fn signal(args: &SignalArgs) -> Result<(), Failure> {
    let mut stream = args.target.connect()?;
    write_packet(&mut stream, &Signal::new(args.number).to_packet())
        .map_err(|e| fail(format!("{}: {e}", args.target.addr)))?;
    let reply = read_reply(&mut stream, &args.target.addr)?;
    let (packet, _) = parse_reply(&reply, BlockKind::Raw)?;
    let response = GenericResponse::from_packet(&packet)
        .map_err(|e| fail(format!("unexpected reply: {e}")))?;
    if response.is_ok() {
        println!("signal {} queued by {}", args.number, args.target.addr);
        Ok(())
    } else {
        Err(Failure {
            message: format!("signal {} rejected by {}", args.number, args.target.addr),
            code: 2,
        })
    }
}

fn serve(args: &ServeArgs) -> Result<(), Failure> {
    let listener = Listener::bind(&args.addr).map_err(|e| fail(format!("{}: {e}", args.addr)))?;
    println!("listening on {}", listener.local());
    io::stdout().flush().ok();
    loop {
        let stream = match listener.accept() {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("uwsgi-wire: accept: {e}");
                continue;
            }
        };
        std::thread::spawn(move || {
            let peer = stream.peer();
            if let Err(e) = inspect(stream) {
                eprintln!("{peer} error: {e}");
            }
        });
    }
}

/// Answers one connection: each request with its decoded vars as JSON, a ping with a pong.
fn inspect(stream: Stream) -> Result<(), StreamError> {
    let peer = stream.peer();
    stream.set_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = PacketReader::new(stream);
    let Some(Incoming { packet, mut body }) = reader.read_packet()? else {
        return Ok(());
    };
    let header = packet.header();
    let mut reply: Vec<u8> = Vec::new();
    let mut line = format!(
        "{peer} modifier1={} modifier2={}",
        header.modifier1, header.modifier2
    );
    if packet.modifier1() == Modifier1::PING {
        Pong::new()
            .to_packet()
            .map_err(io::Error::other)?
            .encode_to(&mut reply)
            .map_err(io::Error::other)?;
        line += " ping";
    } else {
        let body_len = io::copy(&mut body, &mut io::sink())?;
        let mut json = json::packet_to_json(&packet, 0);
        if let Some(object) = json.as_object_mut() {
            object.insert("body_len".into(), body_len.into());
        }
        if let Some(vars) = packet.vars() {
            let get = |k: &[u8]| vars.get(k).unwrap_or(b"-").escape_ascii().to_string();
            line += &format!(
                " {} {} vars={} body={body_len}",
                get(b"REQUEST_METHOD"),
                get(b"REQUEST_URI"),
                vars.len()
            );
        }
        let text = format!("{json:#}\n");
        reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        )
        .into_bytes();
    }
    let stream = reader.get_mut();
    stream.write_all(&reply)?;
    stream.flush()?;
    eprintln!("{line}");
    Ok(())
}
