//! A tokio uwsgi client on the library's client driver (`uwsgi_wire::client`): sends one
//! HTTP-style request the way nginx would (Debian's `uwsgi_params`), prints the status
//! and headers to stderr, and streams the response body to stdout as it arrives, one
//! chunk of at most 64 KiB at a time (memory stays bounded whatever the size).
//!
//! ```sh
//! cargo run --example tokio_client --features client                              # GET / from 127.0.0.1:3031
//! cargo run --example tokio_client --features client -- 127.0.0.1:3031 /path?q=1
//! cargo run --example tokio_client --features client -- unix:/tmp/app.sock /upload 'some body'
//! ```
//!
//! With a third argument the request is a POST with that body. A body cut short by the
//! server is an error (exit 1), never a silently short output.

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use uwsgi_wire::cgi::NginxParams;
use uwsgi_wire::client::Builder;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() {
    if let Err(err) = run().await {
        eprintln!("tokio_client: {err}"); // one line: what failed and why
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3031".to_string());
    let path = args.next().unwrap_or_else(|| "/".to_string());
    let body = args.next();

    let mut request = http::Request::builder()
        .uri(&path)
        .header("user-agent", "uwsgi-wire-tokio-client");
    if let Some((host, _)) = addr.rsplit_once(':').filter(|_| !addr.contains('/')) {
        request = request.header("host", host);
    }
    if body.is_some() {
        request = request.method("POST").header("content-type", "text/plain");
    }
    // The body's exact size is its CONTENT_LENGTH.
    let request = request.body(Full::new(Bytes::from(body.unwrap_or_default())))?;

    let mut params = NginxParams::new();
    if let Some((_, port)) = addr.rsplit_once(':').filter(|_| !addr.contains('/')) {
        params = params.server_port(port); // nginx's SERVER_PORT: the port it listens on
    }
    let client = Builder::new()
        .params(params)
        .connect_timeout(Duration::from_secs(5))
        .head_timeout(Duration::from_secs(30))
        .body_timeout(Duration::from_secs(30))
        .build(&addr);

    let response = client.send(request).await?;
    eprintln!("{:?} {}", response.version(), response.status());
    for (name, value) in response.headers() {
        eprintln!("{name}: {}", String::from_utf8_lossy(value.as_bytes()));
    }
    eprintln!();

    let mut body = response.into_body();
    let mut stdout = std::io::stdout().lock();
    while let Some(frame) = body.frame().await {
        if let Ok(chunk) = frame?.into_data() {
            stdout.write_all(&chunk)?;
        }
    }
    stdout.flush()?;
    Ok(())
}
