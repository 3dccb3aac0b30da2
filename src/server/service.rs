//! [`HttpService`]: the services the driver serves, named once.

use std::future::Future;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use crate::cgi::BoxError;

use super::body::RequestBody;

/// A service the server driver can serve: any [`tower_service::Service`] (an axum
/// `Router`, a hyper `service_fn`, a tower stack) that takes an
/// `http::Request<`[`RequestBody`]`>` and returns an `http::Response` whose body is an
/// [`http_body::Body`], with errors that box (`Into<BoxError>`). In the manner of
/// hyper's `hyper::service::HttpService`: implemented for every such service, and
/// sealed, so it is only ever a name for those bounds.
///
/// ```
/// fn servable<S: uwsgi_wire::server::HttpService>(_: &S) {}
/// servable(&axum::Router::new().route("/", axum::routing::get(|| async { "hello" })));
/// ```
pub trait HttpService: sealed::Sealed {
    /// The response body.
    type ResBody: http_body::Body<Data: Send, Error: Into<BoxError>>;
    /// The service's error.
    type Error: Into<BoxError>;
    /// The future of a response.
    type Future: Future<Output = Result<Response<Self::ResBody>, Self::Error>>;

    // The driver's way to call the service. Named apart from `tower_service::Service`'s
    // `poll_ready` and `call`, so that a user with both traits in scope calls a service
    // as before, without an ambiguity.
    #[doc(hidden)]
    fn __poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>>;

    #[doc(hidden)]
    fn __call(&mut self, request: Request<RequestBody>) -> Self::Future;
}

impl<S, B> HttpService for S
where
    S: Service<Request<RequestBody>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data: Send, Error: Into<BoxError>>,
{
    type ResBody = B;
    type Error = S::Error;
    type Future = S::Future;

    fn __poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::poll_ready(self, cx)
    }

    fn __call(&mut self, request: Request<RequestBody>) -> Self::Future {
        Service::call(self, request)
    }
}

mod sealed {
    use super::*;

    pub trait Sealed {}

    impl<S, B> Sealed for S where S: Service<Request<RequestBody>, Response = Response<B>> {}
}
