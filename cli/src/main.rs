//! `uwsgi-wire`: decode, encode and talk the uwsgi protocol.

mod args;
mod check;
mod decode;
mod encode;
mod failure;
mod gateway;
mod grade;
mod json;
mod net;
mod ping;
mod request;
mod rpc;
mod serve;
mod signal;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use failure::EXIT_OK;

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
    Decode(decode::DecodeArgs),
    /// Encode the JSON that `decode --json` prints back into packet bytes on stdout.
    Encode(encode::EncodeArgs),
    /// Send an HTTP-style request the way nginx would, and stream the response body to
    /// stdout. Exit 22 on a status of 500 or more (with --fail, of 400 or more).
    #[command(after_help = EXIT_STATUS_HELP)]
    Request(request::RequestArgs),
    /// Ping a uWSGI server and print the round-trip time. Exit 3 when a pong carries a
    /// warning.
    #[command(after_help = EXIT_STATUS_HELP)]
    Ping(ping::PingArgs),
    /// Call an RPC function and print its result.
    #[command(after_help = EXIT_STATUS_HELP)]
    Rpc(rpc::RpcArgs),
    /// Send a uWSGI signal and report the server's answer. Exit 4 when it is rejected.
    #[command(after_help = EXIT_STATUS_HELP)]
    Signal(signal::SignalArgs),
    /// Run an inspection server: every request is answered with its decoded vars as JSON
    /// and logged one line each.
    Serve(serve::ServeArgs),
    /// Run an HTTP/1.1 server (HTTP/2 too, over TLS) in nginx's place: each request
    /// goes to the location with the longest matching prefix, which forwards it to uwsgi
    /// upstreams as nginx's `uwsgi_pass` with `include uwsgi_params` does (502 when an
    /// upstream refuses or closes early, 504 when it is too slow, 413 for a body over
    /// --max-body) or serves static files (--static, --root); 404 when none matches.
    /// The settings may come from a TOML file (--config).
    Gateway(Box<gateway::GatewayArgs>),
    /// Run the conformance catalogue against a uwsgi server, as h2spec does for HTTP/2:
    /// one line per case, a summary; exit 1 when a required case fails.
    Check(check::CheckArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Decode(args) => decode::run(&args),
        Command::Encode(args) => encode::run(&args),
        Command::Request(args) => request::run(&args),
        Command::Ping(args) => ping::run(&args),
        Command::Rpc(args) => rpc::run(&args),
        Command::Signal(args) => signal::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Gateway(args) => gateway::run(*args),
        Command::Check(args) => check::run(&args),
    };
    match result {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(failure) => {
            eprintln!("uwsgi-wire: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
