//! The server driver (feature `server`): any tower or hyper service, an axum `Router`
//! among them, served over uwsgi behind nginx's `uwsgi_pass` (or Apache's
//! `mod_proxy_uwsgi`, lighttpd, the uWSGI router).
//!
//! - [`Builder::serve_connection`] drives one connection, in the shape of hyper's
//!   `server::conn::http1::Builder::serve_connection` (the [`Builder`] sets limits and
//!   timeouts) for any [`HttpService`]: the request packet becomes an
//!   `http::Request<`[`RequestBody`]`>` whose one extension is the packet the front
//!   end sent, an [`OwnedPacket`](crate::owned::OwnedPacket) (modifier1, modifier2,
//!   every var); its [`owned_vars`](crate::owned::OwnedPacket::owned_vars) have typed
//!   accessors (the client's [`remote_addr`](crate::owned::OwnedVars::remote_addr),
//!   the [`scheme`](crate::owned::OwnedVars::scheme), `SCRIPT_NAME`, any var by
//!   name), and
//!   with the `axum` feature axum's `ConnectInfo<SocketAddr>` (absent when the vars name
//!   no client: the extractor then rejects with 500); the body streams from the
//!   connection as the service reads it; the response is written as the raw HTTP/1.1
//!   head a uwsgi backend answers with, its body streamed as the service yields it. The
//!   [`Connection`] it returns can be shut down gracefully.
//!
//!   ```
//!   # #[tokio::main(flavor = "current_thread")]
//!   # async fn main() {
//!   use axum::{extract::Request, routing::get, Router};
//!   use uwsgi_wire::owned::OwnedPacket;
//!
//!   let app: Router = Router::new().route("/", get(|request: Request| async move {
//!       let packet = request.extensions().get::<OwnedPacket>();
//!       let Some(vars) = packet.and_then(OwnedPacket::owned_vars) else {
//!           return "hello\n".to_string();
//!       };
//!       let scheme = String::from_utf8_lossy(vars.scheme());
//!       match vars.remote_addr() {
//!           Some(client) => format!("hello {client} over {scheme}\n"),
//!           None => format!("hello over {scheme}\n"),
//!       }
//!   }));
//!   # drop(app);
//!   # }
//!   ```
//! - [`serve`] runs a TCP or Unix listener, in the shape of `axum::serve`: a task per
//!   connection, a cap on connections, loopback-only TCP peers unless allowed, graceful
//!   shutdown.
//!
//! Every failure is an [`Error`], the driver's one error type (a request body's too).
//! Errors answer with their [`status_code`](Error::status_code) while a response can
//! still be written (400 for a malformed packet, 413 for a body over the limit, 431 for
//! too many or too large vars, 408 for a packet that does not arrive in time, 500 for a
//! failed service) and are logged through `tracing`, never printed: a DEBUG
//! `connection` span (its `peer`) holds a DEBUG `request` span per request (`method`,
//! `path`, then `status` and `latency`), after tower-http's `TraceLayer`; at INFO
//! neither is created.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let app = Router::new().route("/", get(|| async { "hello from axum over uwsgi\n" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3031").await?;
//! // nginx: location / { include uwsgi_params; uwsgi_pass 127.0.0.1:3031; }
//! uwsgi_wire::server::serve(listener, app).await
//! # }
//! ```

mod body;
mod builder;
mod conn;
mod error;
mod half;
mod lazy;
mod response;
mod serve;
mod service;

pub use body::RequestBody;
pub use builder::{Builder, Connection};
pub use error::Error;
pub use serve::{serve, Listener, Serve};
pub use service::HttpService;
