//! The public API's shape: the crate root is the wire core and clashes with nothing of
//! the `http` crate's, and every error that wraps another gives it as its `source()`.

use std::error::Error as _;

#[test]
fn the_crate_root_glob_imports_beside_http() {
    // Both globs at once: a name both exported would be ambiguous here and fail to
    // compile as soon as it is used (`Request` and `Error` once were).
    use http::*;
    use uwsgi_wire::*;

    let request: Request<()> = Request::builder()
        .method(Method::GET)
        .uri("/x")
        .body(())
        .unwrap();
    let _: Result<StatusCode> = Ok(StatusCode::OK);
    let _: Option<Error> = None;
    let mut vars = VarsBuilder::default();
    vars.push("REQUEST_METHOD", request.method().as_str())
        .unwrap();
    let packet = Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars())).unwrap();
    let mut wire = [0u8; 64];
    let n = packet.encode(&mut wire).unwrap();
    let Status::Complete((parsed, _)) = Packet::parse(&wire[..n], &Limits::new()).unwrap() else {
        panic!("a whole packet")
    };
    assert_eq!(parsed, packet);
    let _: Option<(ParseError, ParseErrorKind, EncodeError, Header, BlockKind)> = None;
}

#[test]
fn errors_give_the_error_they_wrap_as_their_source() {
    use uwsgi_wire::exchange::{ExchangeErrorKind, ServerExchange};
    use uwsgi_wire::io::{ServerReader, StreamError};
    use uwsgi_wire::{Limits, ParseError};

    // A vars block with a zero-length key (the first key's length is 0), as a server
    // receives it: the exchange error wraps the packet's parse error...
    let wire = b"\x00\x04\x00\x00\x00\x00\x00\x00";
    let err = ServerExchange::new(Limits::new()).decode(wire).unwrap_err();
    let ExchangeErrorKind::Packet(parse) = err.kind() else {
        panic!("{err:?}")
    };
    let source = err.source().and_then(|s| s.downcast_ref::<ParseError>());
    assert_eq!(source, Some(&parse));
    // ...and the blocking adapter's error is the exchange error, whose source it gives.
    let err = ServerReader::new(&wire[..], Limits::new())
        .read_packet()
        .unwrap_err();
    assert!(matches!(err, StreamError::Exchange(_)), "{err:?}");
    let source = err.source().and_then(|s| s.downcast_ref::<ParseError>());
    assert_eq!(source, Some(&parse));
}

#[cfg(feature = "server")]
#[test]
fn a_service_is_called_as_ever_with_the_server_module_in_scope() {
    // `HttpService` is implemented for every servable tower service: with both traits
    // in scope, `call` must still mean the service's own (an ambiguity fails to compile).
    use tower_service::Service;
    use uwsgi_wire::server::*;

    fn servable<S: HttpService>(_: &S) {}
    let mut app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
    servable(&app);
    let response = app.call(http::Request::new(RequestBody::default()));
    drop(response);
}
