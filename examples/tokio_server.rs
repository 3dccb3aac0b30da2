//! A tokio uwsgi application server, over TCP or a Unix socket: every request is
//! answered with its decoded vars, the `http::Request` they make, the client's address and
//! the scheme (the typed accessors of `OwnedVars`), and the body size, as JSON; a ping
//! gets a pong. The body is streamed through the codec in bounded chunks,
//! never held whole in memory.
//!
//! ```sh
//! cargo run --example tokio_server --all-features                       # 127.0.0.1:3031
//! cargo run --example tokio_server --all-features -- 127.0.0.1:0        # any free port
//! cargo run --example tokio_server --all-features -- unix:/tmp/app.sock # a Unix socket
//! ```
//!
//! It prints `listening on ADDR` (the real address, port included) once ready. Put nginx
//! in front of it with:
//!
//! ```nginx
//! location / {
//!     include uwsgi_params;
//!     uwsgi_pass 127.0.0.1:3031;        # or: uwsgi_pass unix:/tmp/app.sock;
//! }
//! ```
//!
//! Like uWSGI, it answers one request per connection and then closes it.
//!
//! **Only loopback TCP peers are served by default.** A uwsgi socket is a control
//! channel, not a public endpoint: whoever reaches it sets every var, including the
//! magic `UWSGI_*` vars a uWSGI server obeys (`UWSGI_FILE`, `UWSGI_SCRIPT`, `UWSGI_CHDIR`,
//! ...; docs/PROTOCOL.md section 7.1), and the front end's own vars (`REMOTE_ADDR`,
//! `HTTPS`) are trusted as they come. So a connection from any other address is closed at
//! once, before a byte is read, with one log line (`refused connection from ADDR`).
//! Widen it for a front end on another host with `--allow BLOCK` (repeatable;
//! `10.0.0.0/8`, `fd00::/8`, or one address) or, knowing why not, `--allow-any`:
//!
//! ```sh
//! cargo run --example tokio_server --all-features -- 0.0.0.0:3031 --allow 10.0.0.0/8
//! ```
//!
//! Unix sockets are always served: their file permissions decide who connects. The
//! server is `uwsgi_wire::server::serve` (the accept loop, the allow-list with `ipnet`,
//! timeouts, graceful shutdown) with an axum handler; this file is its arguments and the
//! JSON.

use std::io;
use std::net::IpAddr;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body_util::BodyExt;
use ipnet::IpNet;
use tokio::net::{TcpListener, UnixListener};
use uwsgi_wire::cgi::request_from_vars;
use uwsgi_wire::owned::{OwnedPacket, OwnedVars};
use uwsgi_wire::server::{serve, Builder, Listener};
use uwsgi_wire::Limits;

const USAGE: &str = "usage: tokio_server [ADDR] [--allow BLOCK].. [--allow-any]";

/// The TCP peers to serve besides loopback, from `--allow BLOCK` and `--allow-any`.
fn allowed(args: impl Iterator<Item = String>) -> Result<Vec<IpNet>, String> {
    let mut blocks = Vec::new();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--allow-any" => {
                blocks.extend(["0.0.0.0/0", "::/0"].map(|b| b.parse::<IpNet>().expect("valid")));
                continue;
            }
            "--allow" => args.next().ok_or("--allow needs a block")?,
            other => match other.strip_prefix("--allow=") {
                Some(value) => value.to_string(),
                None => return Err(format!("unexpected argument {other:?}")),
            },
        };
        // A block (`10.0.0.0/8`) or one address (`192.0.2.7`).
        let block = match value.parse::<IpNet>() {
            Ok(block) => block,
            Err(_) => value
                .parse::<IpAddr>()
                .map(IpNet::from)
                .map_err(|_| format!("--allow {value:?}: not an address or a CIDR block"))?,
        };
        blocks.push(block);
    }
    Ok(blocks)
}

/// Answers every request with its vars, the `http::Request` they make, and the size of
/// the body (read as it streams, never held).
async fn answer(request: Request) -> Response {
    let packet = request.extensions().get::<OwnedPacket>().cloned();
    let mut body = request.into_body();
    let mut body_size = 0u64;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => body_size += frame.data_ref().map_or(0, |d| d.len() as u64),
            Err(err) => return (http::StatusCode::BAD_REQUEST, format!("{err}\n")).into_response(),
        }
    }
    let Some(packet) = packet else {
        return http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let json = describe(&packet, body_size).to_string();
    ([(http::header::CONTENT_TYPE, "application/json")], json).into_response()
}

#[tokio::main]
async fn main() -> io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .init();
    let mut args = std::env::args().skip(1).peekable();
    let addr = match args.peek() {
        Some(first) if !first.starts_with("--") => args.next().unwrap_or_default(),
        _ => "127.0.0.1:3031".to_string(),
    };
    let allow = allowed(args).unwrap_or_else(|err| {
        eprintln!("tokio_server: {err}\n{USAGE}");
        std::process::exit(2);
    });
    let listener: Listener = if let Some(path) = addr.strip_prefix("unix:") {
        if !allow.is_empty() {
            eprintln!("note: --allow does not apply to a Unix socket (its permissions do)");
        }
        match std::fs::remove_file(path) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
        let listener = UnixListener::bind(path)?;
        println!("listening on unix:{path}");
        listener.into()
    } else {
        let listener = TcpListener::bind(&addr).await?;
        let blocks: Vec<String> = allow.iter().map(ToString::to_string).collect();
        eprintln!(
            "serving TCP peers: {}",
            ["loopback".to_string()]
                .into_iter()
                .chain(blocks)
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!("listening on {}", listener.local_addr()?);
        listener.into()
    };
    // uWSGI's defaults (4096-byte buffer, 128 vars) and nginx's 1 MiB body limit.
    let limits = Limits::new()
        .max_datasize(4096)
        .max_vars(128)
        .max_body(1 << 20);
    let app = Router::new().fallback(answer);
    allow
        .into_iter()
        .fold(serve(listener, app), |serve, block| serve.allow(block))
        .connection(Builder::new().limits(limits))
        .await
}

fn describe(packet: &OwnedPacket, body_size: u64) -> serde_json::Value {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let head = packet.packet();
    let vars: Vec<(String, String)> = head
        .vars()
        .into_iter()
        .flat_map(|vars| vars.iter())
        .map(|(k, v)| (text(k), text(v)))
        .collect();
    let owned_vars = packet.owned_vars();
    let request = match owned_vars.as_ref().map(request_from_vars) {
        Some(Ok(request)) => serde_json::json!({
            "method": request.method().as_str(),
            "uri": request.uri().to_string(),
            "version": format!("{:?}", request.version()),
            "headers": request
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), text(v.as_bytes())))
                .collect::<Vec<_>>(),
        }),
        Some(Err(err)) => serde_json::json!({ "error": err.to_string() }),
        None => serde_json::Value::Null,
    };
    serde_json::json!({
        "modifier1": head.modifier1().0,
        "modifier2": head.modifier2(),
        "remote_addr": owned_vars.as_ref().and_then(OwnedVars::remote_addr).map(|a| a.to_string()),
        "scheme": owned_vars.as_ref().map(|vars| text(vars.scheme())),
        "vars": vars,
        "request": request,
        "body_size": body_size,
    })
}
