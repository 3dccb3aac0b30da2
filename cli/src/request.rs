//! `uwsgi-wire request ADDR [PATH]`: an HTTP-style request sent as nginx sends it, its
//! response body streamed to stdout.

use std::io::{self, Read, Write};
use std::time::Duration;

use clap::Args;
use uwsgi_wire::cgi::NginxParams;
use uwsgi_wire::exchange::{Head, Reply};
use uwsgi_wire::io::{write_request, Body, ClientReader, IncomingReply};
use uwsgi_wire::{Limits, Modifier1, Packet, Payload};

use crate::args::{parse_header, parse_param, Target};
use crate::failure::{
    fail, io_error, reply_error, send_error, stdout_error, usage, Failure, EXIT_HTTP_ERROR,
};
use crate::net::{self, Addr};

#[derive(Debug, Args)]
pub struct RequestArgs {
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

/// Builds the request as nginx's default `uwsgi_params` would, sends it, streams the reply.
pub fn run(args: &RequestArgs) -> Result<(), Failure> {
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
    if let Some(local) = stream.local() {
        params = params.remote_addr(local);
    }
    if let Some(port) = addr.port() {
        params = params.server_port(port.to_string());
    }
    for (key, value) in &args.params {
        params = params.param(key, value);
    }
    let vars = params
        .to_vars(&req)
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
