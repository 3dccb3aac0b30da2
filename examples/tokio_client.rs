//! A tokio uwsgi client: sends one HTTP-style request the way nginx would (Debian's
//! `uwsgi_params`), then prints the raw HTTP response the application server answers.
//!
//! ```sh
//! cargo run --example tokio_client --all-features                              # GET / from 127.0.0.1:3031
//! cargo run --example tokio_client --all-features -- 127.0.0.1:3031 /path?q=1
//! cargo run --example tokio_client --all-features -- unix:/tmp/app.sock /upload 'some body'
//! ```
//!
//! With a third argument the request is a POST with that body.

use std::io;

use bytes::{Bytes, BytesMut};
use futures_util::SinkExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio_util::codec::FramedWrite;
use uwsgi_wire::codec::{Frame, UwsgiCodec};
use uwsgi_wire::http::{parse_response_head, NginxParams};
use uwsgi_wire::{Modifier1, Packet, Payload, Status};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3031".to_string());
    let path = args.next().unwrap_or_else(|| "/".to_string());
    let body = args.next();
    if let Some(socket) = addr.strip_prefix("unix:") {
        exchange(UnixStream::connect(socket).await?, "localhost", &path, body).await
    } else {
        let stream = TcpStream::connect(&addr).await?;
        exchange(stream, &addr, &path, body).await
    }
}

async fn exchange(
    stream: impl AsyncRead + AsyncWrite + Unpin,
    host: &str,
    path: &str,
    body: Option<String>,
) -> Result<(), Error> {
    let mut request = http::Request::builder()
        .uri(path)
        .header("host", host)
        .header("user-agent", "uwsgi-wire-tokio-client");
    if let Some(body) = &body {
        request = request
            .method("POST")
            .header("content-type", "text/plain")
            .header("content-length", body.len());
    }
    let request = request.body(())?;
    let mut params = NginxParams::new();
    if let Some((_, port)) = host.rsplit_once(':') {
        params = params.server_port(port); // nginx's SERVER_PORT: the port it listens on
    }
    let vars = params.encode(&request)?;

    let (mut read, write) = tokio::io::split(stream);
    let mut out = FramedWrite::new(write, UwsgiCodec::new());
    out.send(Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))?)
        .await?;
    if let Some(body) = body.filter(|b| !b.is_empty()) {
        out.send(Frame::Body(Bytes::from(body))).await?;
    }
    out.send(Frame::End).await?;

    // The answer is raw HTTP/1.x: read until the head is complete...
    let mut buf = BytesMut::with_capacity(8192);
    let (response, head_len) = loop {
        if let Status::Complete(parsed) = parse_response_head(&buf)? {
            break parsed;
        }
        if read.read_buf(&mut buf).await? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no response head").into());
        }
    };
    let _ = buf.split_to(head_len);
    // ...then the body: Content-Length bytes, or up to the end of the stream.
    let length = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    loop {
        if length.is_some_and(|n| buf.len() >= n) {
            break;
        }
        if read.read_buf(&mut buf).await? == 0 {
            break;
        }
    }
    out.get_mut().shutdown().await?;

    println!("{:?} {}", response.version(), response.status());
    for (name, value) in response.headers() {
        println!("{name}: {}", String::from_utf8_lossy(value.as_bytes()));
    }
    println!();
    println!("{}", String::from_utf8_lossy(&buf));
    Ok(())
}
