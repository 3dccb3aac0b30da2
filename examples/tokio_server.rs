//! A tokio uwsgi application server, over TCP or a Unix socket: every request is
//! answered with its decoded vars, the `http::Request` they make, and the body size, as
//! JSON; a ping gets a pong. The body is streamed through the codec in bounded chunks,
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
//! `HTTPS`) are trusted as they come. So a connection from any other address is closed at once,
//! before a byte is read, with one line on stderr (`refused connection from ADDR`).
//! Widen it for a front end on another host with `--allow BLOCK` (repeatable;
//! `10.0.0.0/8`, `fd00::/8`, or one address) or, knowing why not, `--allow-any`:
//!
//! ```sh
//! cargo run --example tokio_server --all-features -- 0.0.0.0:3031 --allow 10.0.0.0/8
//! ```
//!
//! Unix sockets are always served: their file permissions decide who connects. The
//! decision is `AllowList::allows` in `examples/support/allow.rs`, tested by
//! `tests/allow_list.rs`.

use std::io;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio_util::codec::Framed;
use uwsgi_wire::codec::{Frame, UwsgiCodec};
use uwsgi_wire::http::{encode_response_head, request_from_owned, HeadStyle};
use uwsgi_wire::StreamError;
use uwsgi_wire::{Limits, Modifier1, OwnedPacket, Packet, Payload};

#[path = "support/allow.rs"]
mod allow;

use allow::AllowList;

/// uWSGI's defaults (4096-byte buffer, 128 vars) and nginx's 1 MiB body limit.
fn codec() -> UwsgiCodec {
    UwsgiCodec::builder()
        .limits(
            Limits::new()
                .max_datasize(4096)
                .max_vars(128)
                .max_body(1 << 20),
        )
        .new_codec()
}

#[tokio::main]
async fn main() -> io::Result<()> {
    // `tokio_server [ADDR] [--allow BLOCK].. [--allow-any]`
    let mut args = std::env::args().skip(1).peekable();
    let addr = match args.peek() {
        Some(first) if !first.starts_with("--") => args.next().unwrap_or_default(),
        _ => "127.0.0.1:3031".to_string(),
    };
    let allow = AllowList::from_args(args).unwrap_or_else(|err| {
        eprintln!(
            "tokio_server: {err}\nusage: tokio_server [ADDR] [--allow BLOCK].. [--allow-any]"
        );
        std::process::exit(2);
    });
    if let Some(path) = addr.strip_prefix("unix:") {
        if allow != AllowList::default() {
            eprintln!("note: --allow does not apply to a Unix socket (its permissions do)");
        }
        // A socket file left by an earlier run would make bind fail.
        match std::fs::remove_file(path) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
        let listener = UnixListener::bind(path)?;
        println!("listening on unix:{path}");
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::spawn(serve(stream));
        }
    } else {
        let listener = TcpListener::bind(&addr).await?;
        eprintln!("serving TCP peers: {}", allow.describe());
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (stream, peer) = listener.accept().await?;
            if !allow.allows(peer.ip()) {
                // Closed before anything is read: no var of it is ever parsed.
                eprintln!("refused connection from {peer}: not loopback, not in --allow");
                drop(stream);
                continue;
            }
            tokio::spawn(serve(stream));
        }
    }
}

async fn serve(stream: impl AsyncRead + AsyncWrite + Unpin) {
    let mut framed = Framed::new(stream, codec());
    if let Err(err) = answer(&mut framed).await {
        eprintln!("connection: {err}");
        // A malformed or oversize request: answer with the status that fits.
        if let Some(code) = err.status_code() {
            let body = format!("{err}\n");
            let response = http::Response::builder()
                .status(code)
                .header("content-type", "text/plain")
                .header("content-length", body.len())
                .body(());
            if let Ok(response) = response {
                let _ = send(&mut framed, &response, body.as_bytes()).await;
            }
        }
    }
    // The codec encodes several item types: say which one `close` is about.
    let _ = SinkExt::<Bytes>::close(&mut framed).await;
}

/// Reads one packet and its body, and answers it.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
    framed: &mut Framed<S, UwsgiCodec>,
) -> Result<(), StreamError> {
    let mut head: Option<OwnedPacket> = None;
    let mut body_size = 0u64;
    while let Some(frame) = framed.next().await {
        match frame? {
            Frame::Head(packet) => head = Some(packet),
            Frame::Body(chunk) => body_size += chunk.len() as u64,
            Frame::End => break,
            // Only a client-side codec yields response heads.
            Frame::Response(_) => {}
        }
    }
    let Some(packet) = head else {
        return Ok(()); // the peer closed without sending anything
    };
    if packet.modifier1() == Modifier1::PING {
        return framed
            .send(Packet::new(Modifier1::PING, 1, Payload::Raw(b""))?)
            .await;
    }
    let json = describe(&packet, body_size).to_string();
    let response = http::Response::builder()
        .header("content-type", "application/json")
        .header("content-length", json.len())
        .body(())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    send(framed, &response, json.as_bytes()).await
}

/// The packet as JSON: its vars in wire order (duplicates kept), the `http::Request`
/// they make, and the body size.
fn describe(packet: &OwnedPacket, body_size: u64) -> serde_json::Value {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let vars: Vec<(String, String)> = packet
        .vars()
        .into_iter()
        .flat_map(|vars| vars.iter())
        .map(|(k, v)| (text(k), text(v)))
        .collect();
    let request = match packet.owned_vars().map(|vars| request_from_owned(&vars)) {
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
        "modifier1": packet.modifier1().0,
        "modifier2": packet.modifier2(),
        "vars": vars,
        "request": request,
        "body_size": body_size,
    })
}

/// Sends a raw HTTP/1.1 response: the head, then the body.
async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    framed: &mut Framed<S, UwsgiCodec>,
    response: &http::Response<()>,
    body: &[u8],
) -> Result<(), StreamError> {
    let mut out = BytesMut::new();
    encode_response_head(response, HeadStyle::StatusLine, &mut out)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    out.extend_from_slice(body);
    framed.send(Bytes::from(out)).await
}
