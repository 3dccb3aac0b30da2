//! A blocking uwsgi application server: one thread per connection, answering every
//! request with its decoded vars and body size as JSON (and a ping with a pong).
//!
//! ```sh
//! cargo run --example blocking_server                 # listens on 127.0.0.1:3031
//! cargo run --example blocking_server -- 127.0.0.1:0  # any free port
//! ```
//!
//! It prints `listening on ADDR` once ready. Put nginx in front of it with:
//!
//! ```nginx
//! location / {
//!     include uwsgi_params;
//!     uwsgi_pass 127.0.0.1:3031;
//! }
//! ```
//!
//! Like uWSGI, it answers one request per connection and then closes it.

use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use uwsgi_wire::io::StreamError;
use uwsgi_wire::io::{write_packet, Incoming, ServerReader};
use uwsgi_wire::{Limits, Modifier1, Packet, Payload};

/// uWSGI's defaults: a 4096-byte buffer, 128 vars; and nginx's 1 MiB body limit.
fn reader(stream: TcpStream) -> ServerReader<TcpStream> {
    let limits = Limits::new()
        .max_datasize(4096)
        .max_vars(128)
        .max_body(1 << 20);
    ServerReader::new(stream, limits)
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3031".to_string());
    let listener = TcpListener::bind(&addr)?;
    println!("listening on {}", listener.local_addr()?);
    for stream in listener.incoming() {
        let stream = stream?;
        thread::spawn(move || {
            if let Err(err) = handle(stream) {
                eprintln!("connection: {err}");
            }
        });
    }
    Ok(())
}

fn handle(stream: TcpStream) -> Result<(), StreamError> {
    let mut out = stream.try_clone()?;
    let mut reader = reader(stream);
    let Incoming { packet, mut body } = match reader.read_packet() {
        Ok(Some(incoming)) => incoming,
        Ok(None) => return Ok(()),
        Err(err) => {
            // A malformed or oversize request: answer with the status that fits.
            if let Some(code) = err.status_code() {
                let text = format!("{err}\n");
                let head = format!(
                    "HTTP/1.1 {code} Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
                    text.len()
                );
                out.write_all(head.as_bytes())?;
                out.write_all(text.as_bytes())?;
            }
            return Err(err);
        }
    };
    if packet.modifier1() == Modifier1::PING {
        let pong = Packet::new(Modifier1::PING, 1, Payload::Raw(b""))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        write_packet(&mut out, &pong)?;
        return Ok(());
    }
    // Read the body (bounded by CONTENT_LENGTH) without keeping it.
    let body_size = io::copy(&mut body, &mut io::sink())?;

    let vars: Vec<(String, String)> = packet
        .vars()
        .into_iter()
        .flat_map(|vars| vars.iter())
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect();
    let json = serde_json::json!({
        "modifier1": packet.modifier1().0,
        "modifier2": packet.modifier2(),
        "vars": vars,
        "body_size": body_size,
    })
    .to_string();
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        json.len()
    );
    out.write_all(head.as_bytes())?;
    out.write_all(json.as_bytes())?;
    Ok(())
}
