//! The client driver's [`Client`]: the [`Builder`]'s settings and one server's address,
//! sending each request on a connection of its own; a tower `Service`.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};

use crate::cgi::BoxError;

use super::body::ResponseBody;
use super::builder::{Address, Builder};
use super::error::{Error, TrySendError};

/// A client of one uwsgi server: the settings of the [`Builder`] it was
/// [`built`](Builder::build) from and the server's [`Address`], parsed once. Each
/// [`send`](Client::send) connects, sends the request and returns the response as soon
/// as its head is parsed, as [`Builder::connect`] then [`Builder::send_request`] do: one
/// request per connection, as nginx's `uwsgi_pass` talks to uWSGI. What one request
/// sends differently (the client's address, an extra param) goes in its extensions as
/// a [`RequestParams`](crate::cgi::RequestParams).
///
/// Cheap to clone (the settings are shared), and a [`tower_service::Service`] that is
/// always ready, so `tower::ServiceBuilder` layers (timeouts, concurrency limits,
/// retries) wrap it. Several servers, round robin or failover, are one `Client` each.
///
/// ```
/// use std::time::Duration;
/// use http_body_util::BodyExt;
/// use uwsgi_wire::cgi::RequestParams;
/// use uwsgi_wire::client::Builder;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // A uwsgi server to talk to: the crate's own server driver with an axum app.
/// let app = axum::Router::new().route("/hello", axum::routing::get(|| async { "hello over uwsgi" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?.to_string();
/// tokio::spawn(async move { uwsgi_wire::server::serve(listener, app).await });
///
/// let client = Builder::new().head_timeout(Duration::from_secs(10)).build(&addr);
/// let mut request = http::Request::get("/hello").body(http_body_util::Empty::<bytes::Bytes>::new())?;
/// request.extensions_mut().insert(RequestParams::new().remote_addr("192.0.2.7:40000".parse()?));
/// let response = client.send(request).await?;
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.into_body().collect().await?.to_bytes(), "hello over uwsgi");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    builder: Builder,
    addr: Address,
    /// `addr` as an IP address and port, when it is written as one (the usual
    /// upstream): parsed once, not on every connect.
    socket: Option<SocketAddr>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("addr", &self.inner.addr)
            .field("builder", &self.inner.builder)
            .finish()
    }
}

impl Builder {
    /// A [`Client`] of the server at `addr`, with these settings: `addr` is written as
    /// for [`connect`](Builder::connect) (`host:port`, `unix:PATH` or a path), parsed
    /// once here; names are resolved on each connect, as `connect` resolves them.
    ///
    /// ```
    /// let client = uwsgi_wire::client::Builder::new().build("127.0.0.1:3031");
    /// # let _ = client;
    /// ```
    pub fn build(&self, addr: &str) -> Client {
        let addr: Address = addr
            .parse()
            .unwrap_or_else(|never: std::convert::Infallible| match never {});
        let socket = match &addr {
            Address::Tcp(host_port) => host_port.parse().ok(),
            Address::Unix(_) => None,
        };
        Client {
            inner: Arc::new(Inner {
                builder: self.clone(),
                addr,
                socket,
            }),
        }
    }
}

/// A request head (path and headers) up to this size is sent in one write: well under
/// the smallest TCP send buffer (Linux starts one at 16 KiB).
const ONE_WRITE: usize = 8 * 1024;

impl Client {
    /// Connects to the server, sends `request` and returns the response as soon as its
    /// head is parsed, its body streaming from the connection: [`Builder::connect`] then
    /// [`Builder::send_request`], whose docs say how the vars, the body and the
    /// response are handled. Every wait is bounded by the builder's timeouts; every
    /// failure is an [`Error`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // Nothing listens on port 1.
    /// let client = uwsgi_wire::client::Builder::new().build("127.0.0.1:1");
    /// let err = client.send(http::Request::new(http_body_util::Empty::<bytes::Bytes>::new())).await.unwrap_err();
    /// assert_eq!(err.kind(), uwsgi_wire::client::ErrorKind::Connect);
    /// # }
    /// ```
    pub async fn send<B>(&self, request: Request<B>) -> Result<Response<ResponseBody>, Error>
    where
        B: http_body::Body<Data: Send, Error: Into<BoxError>> + Send + 'static,
    {
        self.try_send(request)
            .await
            .map_err(TrySendError::into_error)
    }

    /// [`send`](Client::send), giving the request back when the connection could not
    /// be made, before any byte of it was sent
    /// ([`TrySendError::take_message`]): a caller with several servers sends it to the
    /// next, as nginx's `proxy_next_upstream error timeout` does. Once connected, a
    /// failure keeps the request, since the server may have acted on it.
    pub async fn try_send<B>(
        &self,
        request: Request<B>,
    ) -> Result<Response<ResponseBody>, TrySendError<Request<B>>>
    where
        B: http_body::Body<Data: Send, Error: Into<BoxError>> + Send + 'static,
    {
        let Inner {
            builder,
            addr,
            socket,
        } = &*self.inner;
        // A small request without a body is one write, which Nagle's algorithm never
        // holds back: no TCP_NODELAY, no system call for it (`connect_tcp`). A large
        // head may take several writes (a send buffer starts at 16 KiB): then set it.
        let head = request.uri().path().len()
            + request
                .headers()
                .iter()
                .map(|(name, value)| name.as_str().len() + value.len())
                .sum::<usize>();
        let nodelay = !request.body().is_end_stream() || head > ONE_WRITE;
        // One timer for the connect and the response head: registered once, moved on.
        let mut timer = pin!(None);
        let stream = match builder
            .connect_to(addr, *socket, nodelay, timer.as_mut())
            .await
        {
            Ok(stream) => stream,
            Err(error) => {
                return Err(TrySendError {
                    error,
                    message: Some(request),
                })
            }
        };
        builder
            .send_on(stream, request, timer)
            .await
            .map_err(|error| TrySendError {
                error,
                message: None,
            })
    }
}

/// [`Client::send`] as a tower service: always ready (each call has a connection of
/// its own), so a concurrency limit or a rate limit is a layer's job.
impl<B> tower_service::Service<Request<B>> for Client
where
    B: http_body::Body<Data: Send, Error: Into<BoxError>> + Send + 'static,
{
    type Response = Response<ResponseBody>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let client = self.clone();
        Box::pin(async move { client.send(request).await })
    }
}
