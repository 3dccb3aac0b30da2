//! The client driver (feature `client`): an `http::Request` sent to a uwsgi server
//! (uWSGI, gunicorn's `--protocol uwsgi`) the way nginx's `uwsgi_pass` sends it, and its
//! `http::Response` back with a streaming body. The other side of
//! [`server`](crate::server), in the shape of hyper's `client::conn::http1`.
//!
//! - [`Client`] keeps the settings of a [`Builder`] and one server's [`Address`],
//!   written as `uwsgi_pass` writes it (`127.0.0.1:3031`, `localhost:3031`,
//!   `unix:/run/app.sock`): [`Client::send`] connects (at every address a name resolves
//!   to, in order), sends the request and returns the response. It is cheap to clone
//!   and a tower `Service`, so `tower::ServiceBuilder` layers wrap it. What one request
//!   sends differently, the client's address above all, goes in its extensions as a
//!   [`RequestParams`](crate::cgi::RequestParams).
//! - On a connection of your own: [`Builder::connect`] opens one, TCP or Unix, and
//!   [`Builder::send_request`] sends a request on it.
//! - The vars are those nginx's `uwsgi_params` would send
//!   ([`NginxParams`](crate::cgi::NginxParams), [`Builder::params`]); the request body
//!   streams from any [`http_body::Body`] with back-pressure, and the response is
//!   returned as soon as its head is parsed (the exchange core's client side: a status
//!   line, or nginx's CGI `Status:` fallback). The [`ResponseBody`] is read from the
//!   connection as it is polled, to the `Content-Length` or to the close, in chunks of at
//!   most 64 KiB: memory stays bounded whatever the sizes.
//! - One request per connection: uWSGI and gunicorn close after each answer.
//! - Every wait has a timeout ([`Builder::connect_timeout`], [`Builder::head_timeout`],
//!   [`Builder::body_timeout`]); every failure is an [`Error`] with an [`ErrorKind`]
//!   (connection refused, closed before the head, malformed head, head too large,
//!   timeout, body cut short, ...), the [`status_code`](Error::status_code) a gateway
//!   answers with (502, 504), and the error it wraps as its source. Logs go through
//!   `tracing`, at debug level.
//!
//! ```
//! use std::time::Duration;
//! use http_body_util::BodyExt;
//! use tower::{ServiceBuilder, ServiceExt};
//! use uwsgi_wire::cgi::{NginxParams, RequestParams};
//! use uwsgi_wire::client::Builder;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // A uwsgi server to talk to: the crate's own server driver with an axum app.
//! let app = axum::Router::new().route("/hello", axum::routing::get(|| async { "hello over uwsgi" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?.to_string();
//! tokio::spawn(async move { uwsgi_wire::server::serve(listener, app).await });
//!
//! let client = Builder::new().params(NginxParams::new().server_port("80")).build(&addr);
//! let service = ServiceBuilder::new()
//!     .timeout(Duration::from_secs(10))
//!     .concurrency_limit(64)
//!     .service(client);
//! let mut request = http::Request::get("/hello").body(http_body_util::Empty::<bytes::Bytes>::new())?;
//! request.extensions_mut().insert(RequestParams::new().remote_addr("192.0.2.7:40000".parse()?));
//! // One call; clone `service` to share it (the layers and the `Client` clone cheaply).
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.status(), 200);
//! let mut body = response.into_body();
//! let mut got = Vec::new();
//! while let Some(frame) = body.frame().await {
//!     got.extend_from_slice(&frame?.into_data().unwrap_or_default()); // at most 64 KiB each
//! }
//! assert_eq!(got, b"hello over uwsgi");
//! # Ok(())
//! # }
//! ```

mod body;
mod builder;
mod error;
mod send;
mod service;
mod stream;

pub use body::ResponseBody;
pub use builder::{Address, Builder};
pub use error::{Error, ErrorKind, TrySendError};
pub use service::Client;
pub use stream::Stream;
